// SPDX-License-Identifier: GPL-2.0
/*
 * hv save/restore: what SCHEDOP_shutdown(SHUTDOWN_suspend) leads to when
 * the toolstack saves the domain and then either cancels (the same domain
 * runs on) or restores it into a new domain.  Xen 4.17 (RELEASE-4.17.7):
 *
 *  - xen/common/sched/core.c do_sched_op(SCHEDOP_shutdown) ->
 *    xen/common/domain.c domain_shutdown(): records the reason, pauses
 *    every vCPU (vcpu_pause_nosync, paused_for_shutdown) and returns 0,
 *    which is the hypercall's return value saved in the vCPU's rax;
 *  - cancel: tools/libs/guest/xg_resume.c xc_domain_resume(fast=1) ->
 *    xc_domain_resume_cooperative(): modify_returncode() sets vCPU 0's
 *    rax to 1 (PV always; HVM/PVH only when HVM_PARAM_CALLBACK_IRQ is
 *    set), then XEN_DOMCTL_resumedomain -> domain_resume() clears the
 *    shutdown code and unpauses.  So the guest sees 1: "cancelled, the
 *    same domain" (Linux drivers/xen/manage.c xen_suspend():
 *    si->cancelled = HYPERVISOR_suspend(...));
 *  - restore: a new domain (new domid) is built from the saved stream,
 *    and the vCPU resumes with the saved rax, 0.  Nothing of the old
 *    domain's hypervisor state comes along but what the stream carries:
 *    no event channel is bound (evtchn_init() of the new domain is
 *    2-level with nothing open; the old domain's evtchn_destroy() closed
 *    every port, so its peers' ends are unbound for the old domid), no
 *    FIFO control block, no singleshot or periodic timer but a PV
 *    vCPU's default 100 Hz one (pv/domain.c), and the system time is the
 *    new host's.  shared_info: PV's toolstack copies the old page's
 *    vcpu_info[] into the new one, then clears evtchn_pending and each
 *    evtchn_pending_sel and sets every evtchn_mask bit
 *    (tools/libs/guest/xg_sr_restore_x86_pv.c handle_shared_info());
 *    an HVM/PVH guest gets the new domain's zeroed page, not mapped at
 *    any gfn until it asks again (XENMEM_add_to_physmap; Linux
 *    arch/x86/xen/suspend_hvm.c xen_hvm_post_suspend() ->
 *    xen_hvm_init_shared_info()), and HVM_PARAM_CALLBACK_IRQ is not in
 *    the HVM params the stream carries (xg_sr_save_x86_hvm.c params[]),
 *    so the guest registers its callback again (xen_callback_vector()).
 *    The grant table is a new one (hv/gnttab.c hv_gnttab_restore_reset
 *    cites Xen): one cleared frame mapped nowhere, no entry carried.
 *
 * hv does the whole cycle inside the hypercall on the calling vCPU: the
 * domain struct, its vCPU threads and its arena stay (the guest's memory
 * is the same memory after a restore), everything above is reset, and
 * the domain gets a new domid.  Other vCPUs are not paused: the guest
 * has them quiesced (Linux: stop_machine() in do_suspend).  hv's model of
 * the PVH guest's IF is vcpu_info->evtchn_upcall_mask (README, "Upcall
 * registration and flavours"): it is CPU state, saved with the vCPU, so
 * it survives the zeroed page.  Not modelled: VCPUOP_register_vcpu_info
 * (hv has vcpu_info only in shared_info), the per-vCPU upcall vector
 * (kept), and blkback (not tied to the domain's life: a test replaces
 * the old one itself).  hv's xenstored: the old connection released, the
 * new domain introduced on the same ring (hv/xenstore.c hv_xs_restore).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "hv-internal.h"
#include "hv-xs.h"

void hv_domain_set_suspend_plan(struct hv_domain *d,
				const struct hv_suspend_plan *p)
{
	pthread_mutex_lock(&d->timer_lock);
	if (p)
		d->suspend_plan = *p;
	/* Atomic: the hypercall checks it before taking the lock. */
	__atomic_store_n(&d->suspend_plan_set, p != NULL, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->timer_lock);
}

/* modify_returncode(): what a cancelled suspend returns. */
static long hv_cancel_returncode(struct hv_domain *d)
{
	if (hv_is_pv(d))
		return 1;
	return __atomic_load_n(&d->callback_irq_param, __ATOMIC_SEQ_CST) ? 1 :
									   0;
}

/* The new domain's shared_info page (see the top of this file). */
static void hv_restore_shared_info(struct hv_domain *d)
{
	struct shared_info *s = d->shared_info;
	uint8_t mask[HV_MAX_VCPUS];
	unsigned int i, w;

	if (hv_is_pv(d)) {
		/* handle_shared_info(): vcpu_info[] copied (kept here). */
		for (w = 0; w < sizeof(s->evtchn_pending) / sizeof(xen_ulong_t);
		     w++) {
			__atomic_store_n(&s->evtchn_pending[w], 0,
					 __ATOMIC_SEQ_CST);
			__atomic_store_n(&s->evtchn_mask[w], ~(xen_ulong_t)0,
					 __ATOMIC_SEQ_CST);
		}
		for (i = 0; i < XEN_LEGACY_MAX_VCPUS; i++)
			__atomic_store_n(&s->vcpu_info[i].evtchn_pending_sel, 0,
					 __ATOMIC_SEQ_CST);
		return;
	}
	/* PVH: a zeroed page, unmapped; the model's IF survives. */
	for (i = 0; i < HV_MAX_VCPUS; i++)
		mask[i] = __atomic_load_n(&s->vcpu_info[i].evtchn_upcall_mask,
					  __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->shinfo_gfn, -1, __ATOMIC_RELEASE);
	for (w = 0; w < HV_PAGE_SIZE / sizeof(uint64_t); w++)
		__atomic_store_n((uint64_t *)s + w, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < HV_MAX_VCPUS; i++)
		__atomic_store_n(&s->vcpu_info[i].evtchn_upcall_mask, mask[i],
				 __ATOMIC_SEQ_CST);
	/* HVM_PARAM_CALLBACK_IRQ is not carried by the stream. */
	__atomic_store_n(&d->callback_irq_param, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->callback_via_type, HV_VIA_NONE, __ATOMIC_SEQ_CST);
}

static long hv_domain_restore(struct hv_domain *d, uint64_t jump)
{
	unsigned int i;
	int rc;

	/* The old domain's evtchn_destroy(), the new one's evtchn_init(). */
	hv_evtchn_restore_reset(d);
	/* The new domain's grant table: one cleared frame, mapped nowhere. */
	hv_gnttab_restore_reset(d);
	rc = hv_domain_renumber(d);
	if (rc)
		return rc;
	/* xenstored: the old connection released, the new domain's made. */
	rc = hv_xs_restore(d);
	if (rc)
		return rc;
	hv_time_jump(jump);
	hv_restore_shared_info(d);
	for (i = 0; i < d->nr_vcpus; i++)
		hv_vcpu_time_restore(&d->vcpus[i]);
	hv_stat_inc(d, restores);
	return 0;
}

/* The toolstack's time (plan.toolstack_ns), whole even if a signal cuts in. */
static void hv_toolstack_wait(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * SCHEDOP_shutdown(SHUTDOWN_suspend) with a plan: the toolstack's save,
 * then its cancel or restore, as seen from the calling vCPU.
 */
long hv_domain_suspend(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;
	struct hv_suspend_plan plan;

	pthread_mutex_lock(&d->timer_lock);
	plan = d->suspend_plan;
	pthread_mutex_unlock(&d->timer_lock);
	hv_stat_inc(d, suspends);
	if (plan.toolstack_ns)
		hv_toolstack_wait(plan.toolstack_ns);
	if (plan.cancel) {
		hv_stat_inc(d, suspend_cancels);
		return hv_cancel_returncode(d);
	}
	return hv_domain_restore(d, plan.time_jump_ns);
}
