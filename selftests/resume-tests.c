// SPDX-License-Identifier: GPL-2.0
/*
 * Save, restore and live migration (docs/save-restore.md).
 *
 * The guest suspends itself with SCHEDOP_shutdown(SHUTDOWN_suspend); hv
 * plays the toolstack (hv_domain_set_suspend_plan()): a cancel (the same
 * domain runs on, the hypercall returns 1) or a restore into a new domain
 * (returns 0: a new domid, no port bound, FIFO gone, shared_info and the
 * callback to register again, timers gone, system time jumped).
 *
 *  - resume/hv_*: hv's model of that cycle, checked against what Xen
 *    4.17 and its toolstack do (hv/suspend.c cites them);
 *  - resume/{fifo,2l}/...: the core's resume path, xl_evtchn_suspend() /
 *    xl_evtchn_resume() and xl_clock_resume(): every VIRQ and IPI port
 *    bound again at its number, on its vCPU, with its handler, priority
 *    and mask; interdomain and unbound ports reported lost; an event
 *    pending at suspend delivered once; timers re-armed, a deadline that
 *    passed while suspended fired once, promptly; a cancel changes
 *    nothing.  Exact accounting: events sent = handled, each timer once.
 *
 * hv-only (XT_HV): the toolstack's part is hv's API.  A pass is every
 * count exact; a fail names the count and the port.
 */
#include <stdint.h>
#include <string.h>

#include <hv.h>
#include <hv-guest.h>

#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>

#include "xt-util.h"

#define MS 1000000ULL
#define JUMP_NS (2000ULL * MS) /* system time moves 2 s at a restore */

static struct hv_domain *dom(void)
{
	return hv_guest_domain();
}

static uint64_t hv_stat(size_t off)
{
	struct hv_domain_stats st;

	hv_domain_get_stats(dom(), &st);
	return *(uint64_t *)((char *)&st + off);
}

#define HV_STAT(field) hv_stat(offsetof(struct hv_domain_stats, field))

static long raw_suspend(void)
{
	struct sched_shutdown sd = { .reason = SHUTDOWN_suspend };

	return xl_hc_sched_op(SCHEDOP_shutdown, &sd);
}

static void plan(bool cancel, uint64_t jump)
{
	struct hv_suspend_plan p = { .cancel = cancel, .time_jump_ns = jump };

	hv_domain_set_suspend_plan(dom(), &p);
}

/* --- hv's model ----------------------------------------------------------- */

struct wait_stat {
	size_t off;
	uint64_t want;
};

static bool stat_reached(void *arg)
{
	const struct wait_stat *w = arg;

	return hv_stat(w->off) >= w->want;
}

static bool is_pv(void)
{
	return hv_domain_flavour(dom()) == HV_FLAVOUR_PV;
}

/*
 * Restore into a new domain: SCHEDOP_shutdown returns 0, the domid
 * changes, nothing is bound (the peer's end of an interdomain channel is
 * unbound again, naming the old domid: evtchn_close()), FIFO is gone,
 * the singleshot timer is gone, system time moved on by the jump, and
 * shared_info is the new domain's (PV: masked, nothing pending, still
 * mapped; PVH: zeroed and unmapped, the callback unregistered).
 */
static enum xt_result hv_restore(void)
{
	struct vcpu_set_singleshot_timer ss = { 0 };
	struct shared_info *s = hv_domain_shared_info(dom());
	struct evtchn_bind_ipi bi = { .vcpu = 0 };
	struct evtchn_status st;
	evtchn_port_t ipi, peer_port, local;
	struct xt_rec r = { 0 };
	domid_t old = xt_domid();
	uint64_t t0, t1, timers, sys;
	int64_t gfn = hv_domain_shared_info_gfn(dom());
	struct wait_stat w;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, old, &peer_port), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), peer_port,
						xt_rec_handler, &r, &local),
		     0);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(dom(), 0)) != NULL);
	/* A singleshot timer 50 ms ahead: it must not fire after. */
	ss.timeout_abs_ns = hv_system_time() + 50 * MS;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss), 0);
	timers = HV_STAT(timer_events);

	plan(false, JUMP_NS);
	t0 = hv_system_time();
	XT_ASSERT_EQ(raw_suspend(), 0);
	t1 = hv_system_time();
	hv_domain_set_suspend_plan(dom(), NULL);

	XT_ASSERT(xt_domid() != old);
	XT_ASSERT_EQ(HV_STAT(restores), 1);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 0);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(dom(), 0)) == NULL);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = ipi };
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_status, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = peer_port };
	XT_ASSERT_EQ(xt_peer_evop(0, EVTCHNOP_status, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, old);
	/* Two-sided: the jump, plus what the hypercall took (< 5 s). */
	XT_ASSERT_MSG(t1 - t0 >= JUMP_NS && t1 - t0 < JUMP_NS + 5000 * MS,
		      "system time moved %llu ns",
		      (unsigned long long)(t1 - t0));
	/* The new record carries the new system time. */
	sys = __atomic_load_n(&s->vcpu_info[0].time.system_time,
			      __ATOMIC_SEQ_CST);
	XT_ASSERT(sys >= t0 + JUMP_NS && sys <= t1);
	XT_ASSERT_EQ(__atomic_load_n(&s->evtchn_pending[0], __ATOMIC_SEQ_CST),
		     0);
	if (is_pv()) {
		XT_ASSERT_EQ(hv_domain_shared_info_gfn(dom()), gfn);
		XT_ASSERT_EQ(~__atomic_load_n(&s->evtchn_mask[0],
					      __ATOMIC_SEQ_CST),
			     0);
		/* The new vCPU's default 100 Hz ticker (pv_vcpu_initialise). */
		w = (struct wait_stat){ offsetof(struct hv_domain_stats,
						 timer_events),
					timers + 1 };
		XT_ASSERT(xt_wait_until(stat_reached, &w, 5000 * MS));
	} else {
		XT_ASSERT_EQ(hv_domain_shared_info_gfn(dom()), -1);
		XT_ASSERT_EQ(__atomic_load_n(&s->evtchn_mask[0],
					     __ATOMIC_SEQ_CST),
			     0);
		/* The singleshot timer is gone: nothing in 100 ms past it. */
		xt_sleep_ns(150 * MS);
		XT_ASSERT_EQ(HV_STAT(timer_events), timers);
	}
	/* Mapped again where the guest asks (hv_guest_resume). */
	XT_ASSERT_EQ(hv_guest_resume(), 0);
	XT_ASSERT_EQ(hv_domain_shared_info_gfn(dom()),
		     (int64_t)hv_domain_nr_pages(dom()) - 1);
	/* The new domain hands out ports from 1 again. */
	XT_ASSERT_EQ(xl_hc_event_channel_op(EVTCHNOP_bind_ipi, &bi), 0);
	XT_ASSERT_EQ(bi.port, 1);
	return XT_PASS;
}

/*
 * A cancelled suspend: 1 (modify_returncode), the same domain, every
 * port, FIFO control block and timer as before; the singleshot timer
 * armed before fires once.
 */
static enum xt_result hv_cancel(void)
{
	struct vcpu_set_singleshot_timer ss = { 0 };
	void *cb = NULL;
	evtchn_port_t ipi;
	struct xt_rec r = { 0 };
	domid_t old = xt_domid();
	uint64_t timers;
	struct wait_stat w;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	cb = hv_fifo_control_block(hv_domain_vcpu(dom(), 0));
	XT_ASSERT(cb != NULL);
	if (is_pv()) /* its 100 Hz ticker would count as well */
		XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL),
			     0);
	xt_sleep_ns(20 * MS);
	timers = HV_STAT(timer_events);
	ss.timeout_abs_ns = hv_system_time() + 50 * MS;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss), 0);

	plan(true, JUMP_NS);
	XT_ASSERT_EQ(raw_suspend(), 1);
	hv_domain_set_suspend_plan(dom(), NULL);

	XT_ASSERT_EQ(xt_domid(), old);
	XT_ASSERT_EQ(HV_STAT(suspend_cancels), 1);
	XT_ASSERT_EQ(HV_STAT(restores), 0);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 1);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(dom(), 0)) == cb);
	XT_ASSERT_EQ(hv_domain_shutdown_reason(dom()), -1);
	w = (struct wait_stat){ offsetof(struct hv_domain_stats, timer_events),
				timers + 1 };
	XT_ASSERT(xt_wait_until(stat_reached, &w, 5000 * MS));
	xt_sleep_ns(100 * MS);
	XT_ASSERT_EQ(HV_STAT(timer_events), timers + 1);
	XT_ASSERT_EQ(xl_evtchn_send(ipi), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	return XT_PASS;
}

/*
 * An HVM/PVH guest with no HVM_PARAM_CALLBACK_IRQ: modify_returncode()
 * leaves rax alone, so a cancelled suspend returns 0 although nothing
 * was reset ("HVM guests without PV drivers have no return code to
 * modify").  A guest that then resumes must cope with ports still bound.
 */
static enum xt_result hv_cancel_no_callback(void)
{
	evtchn_port_t ipi;
	struct xt_rec r = { 0 };
	domid_t old = xt_domid();

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	plan(true, 0);
	XT_ASSERT_EQ(raw_suspend(), 0);
	hv_domain_set_suspend_plan(dom(), NULL);
	XT_ASSERT_EQ(xt_domid(), old);
	XT_ASSERT_EQ(HV_STAT(suspend_cancels), 1);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 1);
	return XT_PASS;
}

#define RT(n, fn_, vcpus, peer, fl)                                         \
	{                                                                   \
		.name = "resume/" n, .backends = XT_HV, .min_vcpus = vcpus, \
		.needs_peer = peer, .fn = fn_, .flags = fl,                 \
	}

const struct xt_test xt_resume_tests[] = {
	RT("hv_restore", hv_restore, 1, true, XT_F_FLAVOURS),
	RT("hv_cancel", hv_cancel, 1, false, XT_F_FLAVOURS),
	RT("hv_cancel_no_callback", hv_cancel_no_callback, 1, false,
	   XT_F_NO_UPCALL),
};

const unsigned int xt_resume_nr_tests =
	sizeof(xt_resume_tests) / sizeof(xt_resume_tests[0]);
