/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Typed hypercall wrappers over xl_os_hypercall().  Argument order and
 * meaning follow the Xen public headers: xen.h (__HYPERVISOR_* numbers),
 * event_channel.h, sched.h, vcpu.h, version.h, memory.h, hvm/hvm_op.h.
 */
#ifndef XENLITE_HYPERCALL_H
#define XENLITE_HYPERCALL_H

#include <xenlite/xen.h>

static inline long xl_hc_event_channel_op(int cmd, void *arg)
{
	return xl_os_hypercall(__HYPERVISOR_event_channel_op,
			       (unsigned long)cmd, (unsigned long)arg, 0, 0, 0);
}

static inline long xl_hc_sched_op(int cmd, void *arg)
{
	return xl_os_hypercall(__HYPERVISOR_sched_op, (unsigned long)cmd,
			       (unsigned long)arg, 0, 0, 0);
}

static inline long xl_hc_vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
	return xl_os_hypercall(__HYPERVISOR_vcpu_op, (unsigned long)cmd,
			       (unsigned long)vcpu, (unsigned long)arg, 0, 0);
}

static inline long xl_hc_xen_version(int cmd, void *arg)
{
	return xl_os_hypercall(__HYPERVISOR_xen_version, (unsigned long)cmd,
			       (unsigned long)arg, 0, 0, 0);
}

static inline long xl_hc_memory_op(unsigned int cmd, void *arg)
{
	return xl_os_hypercall(__HYPERVISOR_memory_op, (unsigned long)cmd,
			       (unsigned long)arg, 0, 0, 0);
}

static inline long xl_hc_hvm_op(unsigned int cmd, void *arg)
{
	return xl_os_hypercall(__HYPERVISOR_hvm_op, (unsigned long)cmd,
			       (unsigned long)arg, 0, 0, 0);
}

#endif /* XENLITE_HYPERCALL_H */
