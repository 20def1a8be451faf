// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_block idle without lost wakeups (seed 001: vcpu_block ->
 * vcpu_unblock -> vcpu_wake).
 *
 * The window to close: an event that arrives after we decided to idle but
 * before the vCPU blocks.  Delivery is masked first, then
 * evtchn_upcall_pending is checked, then the host blocks with a primitive
 * that unmasks and blocks as one step: SCHEDOP_block (Xen enables event
 * delivery, marks the vCPU blocked, and only then re-checks for pending
 * events: "avoids wakeup waiting race", xen/common/sched/core.c,
 * vcpu_block_enable_events) or, on PVH/HVM, sti;hlt (the STI shadow keeps
 * the interrupt from landing before hlt).  An event that lands anywhere in
 * the window leaves evtchn_upcall_pending set, and Xen will not block a
 * vCPU with it set.
 */
#include <xenlite/idle.h>

static struct xl_idle_stats idle_stats[XL_MAX_VCPUS];

static void stat_inc(uint64_t *s)
{
	xl_write64(s, xl_read64(s) + 1);
}

bool xl_idle_block(void)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct vcpu_info *vi = xl_os_vcpu_info(cpu);
	unsigned long flags = xl_os_irq_save();
	bool blocked = false;

	/* The mask above is a fully ordered exchange on PV-style hosts (and
	 * cli on HVM): the pending read below cannot move before it. */
	if (xl_read8(&vi->evtchn_upcall_pending)) {
		stat_inc(&idle_stats[cpu].skipped);
	} else {
		stat_inc(&idle_stats[cpu].blocks);
		xl_os_trace(XL_TRACE_BLOCK_ENTER, 0, cpu, 0);
		xl_os_safe_halt();
		xl_os_trace(XL_TRACE_BLOCK_LEAVE, 0, cpu, 0);
		blocked = true;
	}
	/* Unmasking runs any upcall that is pending now. */
	xl_os_irq_restore(flags);
	return blocked;
}

void xl_idle_get_stats(unsigned int cpu, struct xl_idle_stats *st)
{
	st->blocks = xl_read64(&idle_stats[cpu].blocks);
	st->skipped = xl_read64(&idle_stats[cpu].skipped);
}
