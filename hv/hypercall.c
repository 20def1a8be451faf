// SPDX-License-Identifier: GPL-2.0
/*
 * hv hypercall entry and the small hypercalls: sched_op, xen_version,
 * vcpu_op.  Pointer arguments are host pointers of the calling vCPU
 * (guest and hv share one address space); NULL stands for a failed
 * copy_from_guest() and gives -EFAULT.
 */
#include <sched.h>
#include <string.h>

#include "hv-explore.h"
#include "hv-internal.h"
#include "hv-xs.h"

#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

/* Xen's xorshift is not specified; any cheap per-vCPU PRNG will do. */
static uint32_t hv_rand_permille(struct hv_vcpu *v)
{
	uint64_t x = v->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	v->rng = x;
	return (uint32_t)(x % 1000);
}

/* hv_faults.spurious_upcall_permille: an upcall with no event behind it. */
static void hv_inject_spurious(struct hv_vcpu *v)
{
	unsigned int pm = __atomic_load_n(
		&v->domain->faults.spurious_upcall_permille, __ATOMIC_RELAXED);

	if (pm && v->vcpu_info && hv_rand_permille(v) < pm)
		__atomic_store_n(&v->vcpu_info->evtchn_upcall_pending, 1,
				 __ATOMIC_SEQ_CST);
}

/*
 * do_sched_op() (xen/common/sched/core.c).  SCHEDOP_shutdown records the
 * first reason (domain_shutdown(): "if ( d->shutdown_code ==
 * SHUTDOWN_CODE_INVALID ) d->shutdown_code = reason") and returns 0; the
 * guest's vcpu_main decides when to return.
 */
static long hv_do_sched_op(struct hv_vcpu *v, int cmd, void *arg)
{
	struct hv_domain *d = v->domain;
	int none = -1;

	switch (cmd) {
	case SCHEDOP_yield:
		hv_sched_yield(v);
		return 0;
	case SCHEDOP_block:
		return hv_sched_block(v);
	case SCHEDOP_shutdown:
	case SCHEDOP_shutdown_code: {
		struct sched_shutdown ss;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&ss, arg, sizeof(ss));
		if (cmd == SCHEDOP_shutdown && ss.reason == SHUTDOWN_suspend &&
		    __atomic_load_n(&d->suspend_plan_set, __ATOMIC_ACQUIRE))
			return hv_domain_suspend(v); /* suspend.c */
		__atomic_compare_exchange_n(&d->shutdown_code, &none,
					    (int)(uint8_t)ss.reason, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
		return 0;
	}
	case SCHEDOP_poll: {
		struct sched_poll sp;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&sp, arg, sizeof(sp));
		return hv_sched_poll(v, &sp);
	}
	default:
		return -XEN_ENOSYS;
	}
}

/* do_xen_version() (xen/common/kernel.c). */
static long hv_do_xen_version(int cmd, void *arg)
{
	switch (cmd) {
	case XENVER_version:
		return (HV_XEN_MAJOR << 16) | HV_XEN_MINOR;
	case XENVER_extraversion: {
		xen_extraversion_t ev = { 0 };

		if (!arg)
			return -XEN_EFAULT;
		strncpy(ev, HV_XEN_EXTRAVERSION, sizeof(ev) - 1);
		memcpy(arg, ev, sizeof(ev));
		return 0;
	}
	case XENVER_get_features: {
		xen_feature_info_t fi;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&fi, arg, sizeof(fi));
		/* No submap is modelled: report no optional features. */
		fi.submap = 0;
		if (fi.submap_idx != 0)
			return -XEN_EINVAL;
		memcpy(arg, &fi, sizeof(fi));
		return 0;
	}
	default:
		return -XEN_ENOSYS;
	}
}

/*
 * do_vcpu_op() (xen/common/domain.c): "if ( (v = domain_vcpu(d, vcpuid))
 * == NULL ) return -ENOENT;" then the command; the timer and runstate
 * commands are in time.c.
 */
static long hv_do_vcpu_op(struct hv_vcpu *cur, int cmd, unsigned long vcpuid,
			  void *arg)
{
	struct hv_vcpu *v;

	if (vcpuid >= cur->domain->nr_vcpus)
		return -XEN_ENOENT;
	v = &cur->domain->vcpus[vcpuid];
	switch (cmd) {
	case VCPUOP_is_up:
		return hv_vcpu_is_up(v) ? 1 : 0;
	default:
		return hv_vcpu_time_op(cur, v, cmd, arg);
	}
}

/*
 * The checks get_param and set_param share, in Xen's order: index >=
 * HVM_NR_PARAMS -> -EINVAL; unknown domain -> -ESRCH; a PV domain ->
 * -EINVAL; another domain -> -EPERM.  On 0, *out holds a reference.
 */
static long hvm_param_target(struct hv_vcpu *v, const struct xen_hvm_param *a,
			     struct hv_domain **out)
{
	struct hv_domain *d;
	long rc = 0;

	if (a->index >= HVM_NR_PARAMS)
		return -XEN_EINVAL;
	d = hv_domain_get_by_id(a->domid, v->domain);
	if (!d)
		return -XEN_ESRCH;
	if (hv_is_pv(d))
		rc = -XEN_EINVAL;
	else if (d != v->domain)
		rc = -XEN_EPERM;
	if (rc) {
		hv_domain_put(d);
		return rc;
	}
	*out = d;
	return 0;
}

/*
 * hvmop_get_param() (xen/arch/x86/hvm/hvm.c): index >= HVM_NR_PARAMS ->
 * -EINVAL; unknown domain -> -ESRCH; another domain -> -EPERM
 * (xsm_hvm_param, XSM_TARGET), a PV one -EINVAL (!is_hvm_domain);
 * hvm_allow_get_param(): the guest-readable params pass, the deprecated
 * ones are -EINVAL, the rest -EPERM for the domain itself.  hv models
 * HVM_PARAM_STORE_PFN and _EVTCHN (hv/xenstore.c) and CALLBACK_IRQ
 * (callback.c); the other guest-readable ones are -EINVAL here.
 */
static long hv_hvmop_get_param(struct hv_vcpu *v, struct xen_hvm_param *a)
{
	struct hv_domain *d;
	uint64_t val = 0;
	long rc;

	rc = hvm_param_target(v, a, &d);
	if (rc)
		return rc;
	switch (a->index) {
	case HVM_PARAM_STORE_PFN:
	case HVM_PARAM_STORE_EVTCHN:
		rc = hv_xs_get_param(d, a->index, &val);
		break;
	case HVM_PARAM_CALLBACK_IRQ:
		/* params[index], as hvm_set_param() stored it. */
		val = __atomic_load_n(&d->callback_irq_param, __ATOMIC_SEQ_CST);
		rc = 0;
		break;
	case HVM_PARAM_VM86_TSS:
	case HVM_PARAM_VM86_TSS_SIZED:
	case HVM_PARAM_ACPI_IOPORTS_LOCATION:
	case HVM_PARAM_VM_GENERATION_ID_ADDR:
	case HVM_PARAM_CONSOLE_PFN:
	case HVM_PARAM_CONSOLE_EVTCHN:
	case HVM_PARAM_ALTP2M:
	case HVM_PARAM_X87_FIP_WIDTH:
	/* The deprecated ones, PAE_ENABLED .. MEMORY_EVENT_MSR: numbers
	 * params.h defines for __XEN__ / __XEN_TOOLS__ builds only. */
	case 4:
	case 13:
	case 20 ... 26:
	case 30:
		rc = -XEN_EINVAL;
		break;
	default:
		rc = -XEN_EPERM;
		break;
	}
	if (!rc)
		a->value = val;
	hv_domain_put(d);
	return rc;
}

/*
 * hvmop_set_param() / hvm_allow_set_param() / hvm_set_param(): index >=
 * HVM_NR_PARAMS -> -EINVAL; unknown domain -> -ESRCH; a PV domain ->
 * -EINVAL (!is_hvm_domain); another domain -> -EPERM (xsm_hvm_param,
 * XSM_TARGET); the deprecated params -EINVAL; the ones a guest may not
 * set -EPERM.  Of the guest-settable ones hv models HVM_PARAM_CALLBACK_IRQ
 * (callback.c); the others (VM86 TSS, ACPI ports, console and store
 * ports, ...) have no state in hv: -ENOSYS, which Xen never returns here.
 */
static long hv_hvmop_set_param(struct hv_vcpu *v, const struct xen_hvm_param *a)
{
	struct hv_domain *d;
	long rc;

	rc = hvm_param_target(v, a, &d);
	if (rc)
		return rc;
	switch (a->index) {
	case HVM_PARAM_CALLBACK_IRQ:
		rc = hv_hvm_set_callback_irq(d, a->value);
		break;
	case HVM_PARAM_VM86_TSS:
	case HVM_PARAM_VM86_TSS_SIZED:
	case HVM_PARAM_ACPI_IOPORTS_LOCATION:
	case HVM_PARAM_VM_GENERATION_ID_ADDR:
	case HVM_PARAM_STORE_EVTCHN:
	case HVM_PARAM_CONSOLE_EVTCHN:
	case HVM_PARAM_X87_FIP_WIDTH:
		rc = -XEN_ENOSYS;
		break;
	case 4: /* the deprecated ones, as in hv_hvmop_get_param() */
	case 13:
	case 20 ... 26:
	case 30:
		rc = -XEN_EINVAL;
		break;
	default:
		rc = -XEN_EPERM;
		break;
	}
	hv_domain_put(d);
	return rc;
}

/*
 * do_hvm_op(): HVMOP_set_param, HVMOP_get_param and
 * HVMOP_set_evtchn_upcall_vector; "Bad HVM op" -> -ENOSYS.  The op is in
 * the PV hypercall table too; the param ops fail with -EINVAL on a PV
 * domain (hvmop_get_param / hvmop_set_param: !is_hvm_domain(d)).
 */
static long hv_do_hvm_op(struct hv_vcpu *v, unsigned long op, void *arg)
{
	struct xen_hvm_param a;
	long rc;

	if (op == HVMOP_set_evtchn_upcall_vector)
		return hv_hvmop_set_evtchn_upcall_vector(v, arg);
	if (op != HVMOP_get_param && op != HVMOP_set_param)
		return -XEN_ENOSYS;
	if (!arg)
		return -XEN_EFAULT;
	memcpy(&a, arg, sizeof(a));
	if (op == HVMOP_set_param)
		return hv_hvmop_set_param(v, &a);
	rc = hv_hvmop_get_param(v, &a);
	if (!rc)
		memcpy(arg, &a, sizeof(a));
	return rc;
}

static long hv_dispatch(struct hv_vcpu *v, unsigned int op, unsigned long a1,
			unsigned long a2, unsigned long a3)
{
	switch (op) {
	case __HYPERVISOR_event_channel_op:
		return hv_do_event_channel_op(v, (int)a1, (void *)a2);
	case __HYPERVISOR_sched_op:
		return hv_do_sched_op(v, (int)a1, (void *)a2);
	case __HYPERVISOR_xen_version:
		return hv_do_xen_version((int)a1, (void *)a2);
	case __HYPERVISOR_memory_op:
		return hv_do_memory_op(v, a1, (void *)a2);
	case __HYPERVISOR_vcpu_op:
		return hv_do_vcpu_op(v, (int)a1, a2, (void *)a3);
	case __HYPERVISOR_hvm_op:
		return hv_do_hvm_op(v, a1, (void *)a2);
	case __HYPERVISOR_callback_op:
		return hv_do_callback_op(v, (int)a1, (void *)a2);
	case __HYPERVISOR_set_timer_op:
		return hv_do_set_timer_op(v, (int64_t)a1);
	case __HYPERVISOR_grant_table_op:
		return hv_do_grant_table_op(v, (unsigned int)a1, (void *)a2,
					    (unsigned int)a3);
	default:
		return -XEN_ENOSYS;
	}
}

/*
 * A hypercall from a thread that is no vCPU has no domain to act for:
 * -ESRCH ("no such domain"), the closest Xen errno.
 */
long hv_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		  unsigned long a3, unsigned long a4, unsigned long a5)
{
	struct hv_vcpu *v = hv_vcpu_current();
	long rc;

	(void)a4;
	(void)a5;
	if (!v)
		return -XEN_ESRCH;
	/* Explore mode: the guest may be slow to trap, and slow to act on
	 * the result once back in guest code (hv-explore.h). */
	hv_explore(HV_XP_HC_ENTRY);
	hv_enter(v);
	hv_stat_inc(v->domain, hypercalls);
	rc = hv_dispatch(v, op, a1, a2, a3);
	hv_inject_spurious(v);
	hv_leave(v);
	hv_explore(HV_XP_HC_EXIT);
	return rc;
}
