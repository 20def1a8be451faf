// SPDX-License-Identifier: GPL-2.0
/*
 * Suspend and resume of the PVH test kernel as a domU, as Xen 4.17's
 * toolstack drives it for `xl save`, `xl save -c` (a checkpoint) and
 * `xl migrate` (docs/save-restore.md gives the order and its sources).
 *
 * The request: libxl writes "suspend" to control/shutdown
 * (libxl_dom_suspend.c, domain_suspend_callback_common ->
 * libxl__domain_pvcontrol; a PVH domain always takes this path,
 * libxl__domain_pvcontrol_available) and waits up to 60 s for the guest
 * to take it: any value other than "suspend" is the acknowledgement
 * (domain_suspend_pvcontrol_acked).  Linux clears the node in a
 * transaction (drivers/xen/manage.c, shutdown_handler), so a request the
 * toolstack cancelled meanwhile (it writes "" itself in a transaction on
 * its timeout) is not taken twice.  Then libxl waits another 60 s for
 * the domain to be shut down with reason suspend (@releaseDomain,
 * suspend_common_wait_guest_check).
 *
 * The suspend: tk_suspend() below, docs/save-restore.md's steps 0-9 with
 * the host steps of a PVH kernel between them (Linux's do_suspend() and
 * xen_suspend() under stop_machine(); arch/x86/xen/suspend_hvm.c
 * xen_hvm_post_suspend()): shared_info added to the physmap again at the
 * same gfn, the upcall registered again (HVM_PARAM_CALLBACK_IRQ is not
 * in the stream, xg_sr_save_x86_hvm.c; a per-vCPU vector is vCPU state
 * that the new domain's vCPUs do not have either), and what the test
 * kernel itself noted from the toolstack's set-up: our domid, the
 * console and xenstore rings' ports.  The pvclock needs no step: the
 * core reads vcpu_time_info on every xl_clock_now().
 */
#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>
#include <xenlite/xenstore.h>

#include "tk.h"
#include "xt.h"

#ifndef TK_PV

/* How long xl_xs_suspend() waits for requests in flight (step 0). */
#define TK_XS_QUIESCE_NS 1000000000ULL
/* How long the other vCPUs get to park (step 1). */
#define TK_HOLD_NS 5000000000ULL

/* --- step 1: the other vCPUs held, delivery masked -------------------------- */

static struct {
	uint32_t parked;
	uint32_t go;
} hold;

/*
 * On each other vCPU: masked until released, outside the core's API
 * (Linux: stop_machine's multi_cpu_stop with interrupts off).  The
 * counter and flag are the only shared state: seq_cst atomics, so the
 * releasing vCPU's resume is visible before go is.
 */
static void hold_fn(void *arg)
{
	unsigned long flags = tk_irq_save();

	(void)arg;
	__atomic_fetch_add(&hold.parked, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&hold.go, __ATOMIC_SEQ_CST))
		__asm__ __volatile__("pause");
	tk_irq_restore(flags);
}

static bool all_parked(void *arg)
{
	(void)arg;
	return __atomic_load_n(&hold.parked, __ATOMIC_SEQ_CST) ==
	       tk_nr_cpus - 1;
}

static int hold_others(void)
{
	unsigned int cpu;

	__atomic_store_n(&hold.parked, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&hold.go, 0, __ATOMIC_SEQ_CST);
	for (cpu = 1; cpu < tk_nr_cpus; cpu++)
		xt_start_on(cpu, hold_fn, NULL);
	return xt_wait_until(all_parked, NULL, TK_HOLD_NS) ? 0 : -XEN_ETIMEDOUT;
}

static void release_others(void)
{
	unsigned int cpu;

	__atomic_store_n(&hold.go, 1, __ATOMIC_SEQ_CST);
	for (cpu = 1; cpu < tk_nr_cpus; cpu++)
		xt_wait_on(cpu);
}

/* --- step 4: the host's part in the new domain ------------------------------ */

static long hvm_set_param(uint32_t index, uint64_t value)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF,
				   .index = index,
				   .value = value };

	return tk_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param,
			    (unsigned long)&p, 0, 0, 0);
}

/*
 * The upcall as tk_upcall_setup() registered it at boot.  A per-vCPU
 * vector names its vCPU in the argument, so vCPU 0 registers them all
 * (Xen 4.17 hvm.c hvmop_set_evtchn_upcall_vector: domain_vcpu(d,
 * op.vcpu)); Linux does it on each CPU as it comes back
 * (xen_setup_callback_vector / xen_init_setup_upcall_vector).
 */
static long upcall_again(void)
{
	unsigned int cpu;
	long rc;

	if (!tk_upcall_percpu)
		return hvm_set_param(HVM_PARAM_CALLBACK_IRQ,
				     ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR
				      << 56) |
					     TK_VEC_UPCALL);
	for (cpu = 0; cpu < tk_nr_cpus; cpu++) {
		rc = tk_upcall_percpu_setup(cpu);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * Restored into a new domain, on vCPU 0, the others held, masked, before
 * the core's resume (hv's hv_guest_resume() for hv).  Nothing here binds
 * or closes a port, except tk_find_domid()'s probe, closed again before
 * xl_evtchn_resume() places its ports.
 */
static long host_resume(struct tk_suspend_info *si)
{
	long rc = tk_shinfo_remap();

	if (rc) {
		si->step = "shared_info";
		return rc;
	}
	rc = upcall_again();
	if (rc) {
		si->step = "upcall";
		return rc;
	}
	si->old_domid = tk_domid;
	tk_domid = tk_find_domid();
	si->new_domid = tk_domid;
	tk_console_restored();
	tk_xenstore_restored();
	return 0;
}

/* --- the whole cycle ----------------------------------------------------------- */

static long suspend_hypercall(void)
{
	struct sched_shutdown sd = { .reason = SHUTDOWN_suspend };

	return tk_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown,
			    (unsigned long)&sd, 0, 0, 0);
}

static void clock_resume_on(void *arg)
{
	int *rc = arg;

	rc[tk_cpu_id()] = xl_clock_resume();
}

/*
 * Steps 1-8 of docs/save-restore.md, on vCPU 0; the caller did step 0
 * (xl_xs_suspend) and does 9 and 10.  1 cancelled, 0 a new domain, or a
 * negative error with si->step naming where.
 */
static long cycle(struct tk_suspend_info *si, xl_evtchn_lost_fn lost)
{
	unsigned long flags;
	long rc, hc = 0;
	int r;

	if (hold_others()) {
		release_others();
		si->step = "hold";
		return -XEN_ETIMEDOUT;
	}
	flags = tk_irq_save();
	r = xl_evtchn_suspend();
	if (r) {
		si->step = "xl_evtchn_suspend";
		goto out;
	}
	r = xl_gnttab_suspend();
	if (r) {
		si->step = "xl_gnttab_suspend";
		goto out;
	}
	si->before_ns = xl_clock_now();
	si->before_tsc_ns = tk_now_ns();
	hc = suspend_hypercall();
	si->after_tsc_ns = tk_now_ns();
	si->hypercall_rc = hc;
	if (hc < 0) {
		r = (int)hc;
		si->step = "SCHEDOP_shutdown";
		goto out;
	}
	si->cancelled = hc == 1;
	if (!si->cancelled) {
		rc = host_resume(si);
		if (rc) {
			r = (int)rc;
			goto out;
		}
	}
	/*
	 * Only now: before host_resume() the page at shared_info's gfn is a
	 * RAM copy of the old domain's, whose vcpu_time_info is the old
	 * host's record (new TSC, old system time).
	 */
	si->after_ns = xl_clock_now();
	/* Thawed before any handler can run (Linux: gnttab_resume()). */
	r = xl_gnttab_resume(si->cancelled);
	if (r) {
		si->step = "xl_gnttab_resume";
		goto out;
	}
	r = xl_evtchn_resume(si->cancelled, lost);
	if (r)
		si->step = "xl_evtchn_resume";
out:
	/* Events owed to vCPU 0 run here, once. */
	tk_irq_restore(flags);
	release_others();
	return r ? r : hc;
}

long tk_suspend(struct tk_suspend_info *si, xl_evtchn_lost_fn lost)
{
	int crc[XL_MAX_VCPUS] = { 0 };
	unsigned int cpu;
	long rc;
	int r;

	*si = (struct tk_suspend_info){ .step = "" };
	si->xs_busy = xl_xs_suspend(TK_XS_QUIESCE_NS);
	rc = cycle(si, lost);
	if (rc < 0) {
		/* The requests held back by xl_xs_suspend() go out all the
		 * same (the same domain: nothing was done). */
		xl_xs_resume(true);
		return rc;
	}
	if (!si->cancelled) {
		for (cpu = 0; cpu < tk_nr_cpus; cpu++) {
			xt_run_on(cpu, clock_resume_on, crc);
			if (crc[cpu]) {
				si->step = "xl_clock_resume";
				return crc[cpu];
			}
		}
	}
	r = xl_xs_resume(si->cancelled);
	if (r < 0) {
		si->step = "xl_xs_resume";
		return r;
	}
	si->xs_restored = r == 1;
	si->resumed_ns = xl_clock_now();
	return si->cancelled ? 1 : 0;
}

#endif /* !TK_PV */
