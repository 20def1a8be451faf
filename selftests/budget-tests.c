// SPDX-License-Identifier: GPL-2.0
/*
 * Every loop that runs in upcall context (event delivery masked) is
 * bounded: a hostile peer or a slow emulator must never keep a vCPU in its
 * upcall for good (XSA-332 / XSA-391 class; Linux: lateeoi and the event
 * loop's timeout in drivers/xen/events/events_base.c).
 *
 * hv only: the hostile peers are hv services (hv_evtchn_notify_guest())
 * and the corrupt hypervisor writes through hv_fifo_control_block().
 *
 * A pass: the vCPU under attack still returns from its upcalls (its own
 * code runs: a job posted to it completes), its timers fire, other ports
 * get each of their events exactly once, and no upcall handles more than
 * its budget.  A fail before the fixes: the job never runs (the test hangs
 * until the runner's watchdog, -t), or the wrong event is taken.
 */
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <hv-explore.h>
#include <hv-guest.h>
#include <hv-xs.h>
#include <hv.h>

#include <xenlite/clockevent.h>
#include <xenlite/evtchn-ops.h>
#include <xenlite/xen.h>
#include <xenlite/xenstore.h>

#include "xt-util.h"

#define VICTIM 1U
#define GOOD_EVENTS 100U
#define TIMERS 5U
#define MS 1000000ULL

/* --- helpers ---------------------------------------------------------------- */

static void clock_init_on(void *arg)
{
	const struct xl_clock_config cfg = { .mode = XL_CLOCK_SINGLESHOT };

	*(int *)arg = xl_clock_init(&cfg);
}

static void xc_ignore(struct hv_domain *d, uint32_t port, void *arg)
{
	(void)d;
	(void)port;
	(void)arg;
}

/* A port of domain 0's services in hv, taken over by the core. */
static int xen_port(xl_evtchn_handler_t fn, void *data, evtchn_port_t *p)
{
	int port =
		hv_evtchn_alloc_xen_unbound(hv_guest_domain(), xc_ignore, NULL);

	if (port <= 0)
		return port ? port : -1;
	*p = (evtchn_port_t)port;
	return xl_evtchn_bind_existing(*p, fn, data);
}

struct wait_arg {
	const uint64_t *v;
	uint64_t n;
};

static bool reached(void *arg)
{
	struct wait_arg *w = arg;

	return XT_LOAD(w->v) >= w->n;
}

static bool wait_count(const uint64_t *v, uint64_t n, uint64_t timeout_ns)
{
	struct wait_arg w = { .v = v, .n = n };

	return xt_wait_until(reached, &w, timeout_ns);
}

/*
 * From vCPU cpu's trace ring (the last HV_GUEST_TRACE_ENTRIES hooks): the
 * most runs of port, and the most events, in one whole upcall.
 */
static void trace_max_per_upcall(unsigned int cpu, evtchn_port_t port,
				 unsigned int *port_max, unsigned int *ev_max,
				 unsigned int *upcalls)
{
	static struct hv_guest_trace_entry e[HV_GUEST_TRACE_ENTRIES];
	struct hv_domain *d = hv_guest_domain();
	uint64_t since = 0, total = hv_guest_trace_count(d, cpu);
	unsigned int n, i, runs = 0;
	bool in = false;

	if (total > HV_GUEST_TRACE_ENTRIES)
		since = total - HV_GUEST_TRACE_ENTRIES;
	n = hv_guest_trace_read(d, cpu, &since, e, HV_GUEST_TRACE_ENTRIES);
	*port_max = *ev_max = *upcalls = 0;
	for (i = 0; i < n; i++) {
		switch (e[i].what) {
		case XL_TRACE_UPCALL_ENTER:
			in = true;
			runs = 0;
			break;
		case XL_TRACE_EVENT_HANDLED:
			runs += e[i].port == port;
			break;
		case XL_TRACE_UPCALL_EXIT:
			if (!in)
				break;
			in = false;
			(*upcalls)++;
			if (runs > *port_max)
				*port_max = runs;
			if (e[i].val > *ev_max)
				*ev_max = (unsigned int)e[i].val;
			break;
		}
	}
}

/* --- the send storm ------------------------------------------------------------ */

/*
 * A hostile peer that sends again each time our handler runs: the worst
 * case of a peer reacting to every notification, with no gap in which the
 * port is not pending.  Modelled by the handler raising its own port
 * through hv as domain 0 would (hv_evtchn_notify_guest()), while on.
 */
struct storm {
	struct hv_domain *d;
	evtchn_port_t port;
	uint32_t on; /* atomic */
	uint64_t runs;
};

static void storm_handler(evtchn_port_t port, void *data)
{
	struct storm *s = data;

	XT_ADD(&s->runs, 1);
	if (XT_LOAD(&s->on))
		hv_evtchn_notify_guest(s->d, port);
}

struct victim_timers {
	struct xl_timer t[TIMERS];
	uint64_t fired[TIMERS];
	uint64_t armed_upcalls, upcalls_max; /* upcalls from arm to fire */
	int rc;
};

static uint64_t upcalls_here(void)
{
	struct xl_evtchn_stats st;

	xl_evtchn_get_stats(xl_os_vcpu_id(), &st);
	return st.upcalls;
}

static void vt_fn(struct xl_timer *t)
{
	struct victim_timers *v = t->data;
	unsigned int i = (unsigned int)(t - v->t);
	uint64_t n = upcalls_here() - v->armed_upcalls;

	if (n > v->upcalls_max)
		v->upcalls_max = n;
	XT_ADD(&v->fired[i], 1);
}

/*
 * On the vCPU under attack: five 1 ms core timers one after the other,
 * each waited for.  That this runs at all shows its upcall returns.
 */
static void victim_timers_fn(void *arg)
{
	struct victim_timers *v = arg;
	unsigned int i;

	for (i = 0; i < TIMERS; i++) {
		xl_timer_setup(&v->t[i], vt_fn, v);
		v->armed_upcalls = upcalls_here();
		v->rc = xl_timer_arm(&v->t[i], xl_clock_now() + MS);
		if (v->rc)
			return;
		if (!wait_count(&v->fired[i], 1, XT_EVENT_TIMEOUT_NS)) {
			v->rc = -1;
			return;
		}
	}
}

static enum xt_result send_storm(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct storm s = { .d = hv_guest_domain() };
	struct victim_timers vt = { .rc = 0 };
	struct xt_rec ipi = { 0 }, peer = { 0 };
	struct xl_evtchn_stats st;
	evtchn_port_t p_ipi, p_peer;
	unsigned int i, port_max, ev_max, upcalls;
	enum xt_result res = XT_FAIL;
	int rc = -1;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	xt_run_on(VICTIM, clock_init_on, &rc);
	XT_ASSERT_EQ(rc, 0);
	/* The storm port and two well-behaved ones, all on the victim. */
	XT_ASSERT_EQ(xen_port(storm_handler, &s, &s.port), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(s.port, VICTIM), 0);
	XT_ASSERT_EQ(xen_port(xt_rec_handler, &peer, &p_peer), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(p_peer, VICTIM), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(VICTIM, xt_rec_handler, &ipi, &p_ipi),
		     0);

	XT_STORE(&s.on, 1);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(s.d, s.port), 0);
	if (!wait_count(&s.runs, 1000, XT_EVENT_TIMEOUT_NS)) {
		xt_fail_msg(__FILE__, __LINE__, "the storm did not start");
		goto out;
	}
	/* Other ports on the victim: every event handled exactly once. */
	for (i = 1; i <= GOOD_EVENTS; i++) {
		if (xl_evtchn_send(p_ipi) ||
		    !wait_count(&ipi.count, i, XT_EVENT_TIMEOUT_NS) ||
		    hv_evtchn_notify_guest(s.d, p_peer) ||
		    !wait_count(&peer.count, i, XT_EVENT_TIMEOUT_NS)) {
			xt_fail_msg(__FILE__, __LINE__,
				    "event %u: ipi %llu peer %llu", i,
				    (unsigned long long)ipi.count,
				    (unsigned long long)peer.count);
			goto out;
		}
	}
	/* The victim's own code and its timers, under the storm. */
	xt_run_on(VICTIM, victim_timers_fn, &vt);
	res = XT_PASS;
out:
	XT_STORE(&s.on, 0);
	xt_rec_settle(&ipi);
	xt_rec_settle(&peer);
	trace_max_per_upcall(VICTIM, s.port, &port_max, &ev_max, &upcalls);
	xl_evtchn_get_stats(VICTIM, &st);
	xt_log("storm runs %llu; victim: upcalls %llu deferred %llu; last %u "
	       "whole upcalls: at most %u storm runs, %u events each; a 1 ms "
	       "timer fired within %llu upcalls of its arming",
	       (unsigned long long)XT_LOAD(&s.runs),
	       (unsigned long long)st.upcalls, (unsigned long long)st.deferred,
	       upcalls, port_max, ev_max, (unsigned long long)vt.upcalls_max);
	if (res != XT_PASS)
		return res;
	XT_ASSERT_EQ(vt.rc, 0);
	for (i = 0; i < TIMERS; i++)
		XT_ASSERT_EQ(vt.fired[i], 1);
	XT_ASSERT_EQ(ipi.count, GOOD_EVENTS);
	XT_ASSERT_EQ(peer.count, GOOD_EVENTS);
	XT_ASSERT_EQ(ipi.concurrent + peer.concurrent, 0);
	XT_ASSERT_EQ(ipi.last_cpu, VICTIM);
	XT_ASSERT_EQ(peer.last_cpu, VICTIM);
	/*
	 * The storm was cut into upcalls of one port's share: the storm
	 * port is pending again as soon as its handler returns, so an
	 * upcall that the other ports leave alone runs it exactly
	 * XL_UPCALL_PORT_SHARE times (budget_charge: the share's count
	 * starts at 0 each upcall), and the ring holds many such upcalls.
	 */
	XT_ASSERT(st.deferred > 0 && st.deferred <= st.upcalls);
	XT_ASSERT(upcalls > 0);
	XT_ASSERT_EQ(port_max, XL_UPCALL_PORT_SHARE);
	XT_ASSERT(ev_max >= 1 && ev_max <= XL_UPCALL_BUDGET);
	return XT_PASS;
}

static enum xt_result fifo_send_storm(void)
{
	return send_storm(false);
}

static enum xt_result l2_send_storm(void)
{
	return send_storm(true);
}

/* --- a send storm on a port moved away from the vCPU running it ---------- */

/*
 * The storm port runs on the victim, and its handler moves it to another
 * vCPU (bind_vcpu) from inside a run.  From then on each send reaches the
 * other vCPU, whose dispatch finds the handler running on the victim and
 * only asks it for one more run (XL_RUN_AGAIN): the victim re-runs the
 * handler, which sends again, and so on.  Those re-runs were not charged
 * to the victim's upcall budget (xl_evtchn_dispatch re-ran while
 * port_release() said AGAIN), so the victim never left its upcall.  Each
 * re-run is charged now; past the port's share the victim keeps the run
 * it owes (and the claim), ends the upcall, re-raises it, and runs what
 * it owes in the next one (one run first, more after the other ports).
 *
 * The handler waits (bounded) after each send until the other vCPU has
 * taken the event, so that vCPU's AGAIN lands while the victim still runs
 * it (yielding: two vCPU threads may share a host CPU): the hostile peer
 * at its best timing.  A pass: five 1 ms timers fire
 * on the victim one after the other while the storm goes on (its code
 * runs, so its upcalls return), at most one port's share of storm runs
 * in any whole upcall of the victim, and every send is handled exactly
 * once: runs == sends + 1 (the test's first notify), the last run
 * started after the last send.  No unmask goes through Xen here
 * (bind_vcpu finds the port not pending), so no extra run is allowed.
 * Before the fix the timers never get to run; the test stops the storm
 * after a bounded wait, which lets the victim out, and fails.
 */
#define RS_OTHER 2U
#define RS_MOVE_AT 50U
#define RS_TIMERS_NS (10 * 1000 * MS)

struct rstorm {
	struct hv_domain *d;
	evtchn_port_t port;
	uint32_t on;	    /* atomic */
	uint32_t move_rc;   /* atomic: bind_vcpu's result + 1 */
	uint64_t runs;	    /* atomic */
	uint64_t sends;	    /* atomic: notifies that returned 0 */
	uint64_t last_seen; /* atomic: sends when the last run started */
	uint64_t victim_runs, other_runs;
};

static void rstorm_handler(evtchn_port_t port, void *data)
{
	struct rstorm *s = data;
	uint64_t n = XT_ADD(&s->runs, 1), end;

	XT_STORE(&s->last_seen, XT_LOAD(&s->sends));
	XT_ADD(xl_os_vcpu_id() == VICTIM ? &s->victim_runs : &s->other_runs, 1);
	if (n == RS_MOVE_AT)
		XT_STORE(&s->move_rc,
			 (uint32_t)(xl_evtchn_bind_vcpu(port, RS_OTHER) + 1));
	if (!XT_LOAD(&s->on))
		return;
	if (hv_evtchn_notify_guest(s->d, port))
		return;
	XT_ADD(&s->sends, 1);
	if (xl_evtchn_port_cpu(port) == xl_os_vcpu_id())
		return; /* our own queue: it waits for this upcall */
	/*
	 * Until the other vCPU took the event, then until the upcall that
	 * took it ended (its trace ring's last upcall entry or exit is
	 * an exit): it called port_claim() in between, so by then it has asked
	 * us for one more run.
	 */
	end = xt_now_ns() + 1000 * MS;
	while (xl_evtchn_is_pending(port) && xt_now_ns() < end)
		sched_yield();
	while (!hv_guest_trace_upcall_ended(s->d, RS_OTHER) &&
	       xt_now_ns() < end)
		sched_yield();
}

struct vt_run {
	struct victim_timers *vt;
	uint32_t done; /* atomic */
};

static void vt_run_fn(void *arg)
{
	struct vt_run *r = arg;

	victim_timers_fn(r->vt);
	XT_STORE(&r->done, 1);
}

static bool flag_up(void *arg)
{
	return XT_LOAD((uint32_t *)arg) != 0;
}

/* Every send handled (a run owed by the victim may come later). */
static bool rstorm_caught_up(void *arg)
{
	struct rstorm *s = arg;

	return XT_LOAD(&s->runs) >= XT_LOAD(&s->sends) + 1 &&
	       !xl_evtchn_is_pending(s->port);
}

static enum xt_result rebind_storm(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	static struct rstorm s;
	struct victim_timers vt = { .rc = 0 };
	struct vt_run vr = { .vt = &vt };
	struct xl_evtchn_stats st;
	unsigned int i, port_max, ev_max, upcalls;
	bool done;
	int rc = -1;

	s = (struct rstorm){ .d = hv_guest_domain() };
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	xt_run_on(VICTIM, clock_init_on, &rc);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(xen_port(rstorm_handler, &s, &s.port), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(s.port, VICTIM), 0);
	XT_STORE(&s.on, 1);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(s.d, s.port), 0);
	XT_ASSERT(
		wait_count(&s.runs, RS_MOVE_AT + 100, 4 * XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(XT_LOAD(&s.move_rc), 1);
	/* The victim's own code and its timers, under the storm. */
	xt_start_on(VICTIM, vt_run_fn, &vr);
	done = xt_wait_until(flag_up, &vr.done, RS_TIMERS_NS);
	XT_STORE(&s.on, 0);
	xt_wait_on(VICTIM);
	xt_wait_until(rstorm_caught_up, &s, XT_EVENT_TIMEOUT_NS);
	xt_sleep_ns(XT_SETTLE_NS);
	trace_max_per_upcall(VICTIM, s.port, &port_max, &ev_max, &upcalls);
	xl_evtchn_get_stats(VICTIM, &st);
	xt_log("storm runs %llu (victim %llu, vCPU %u %llu), sends %llu; "
	       "victim: upcalls %llu deferred %llu; last %u whole upcalls: at "
	       "most %u storm runs each",
	       (unsigned long long)s.runs, (unsigned long long)s.victim_runs,
	       RS_OTHER, (unsigned long long)s.other_runs,
	       (unsigned long long)s.sends, (unsigned long long)st.upcalls,
	       (unsigned long long)st.deferred, upcalls, port_max);
	XT_ASSERT_MSG(done,
		      "the victim's timers did not run within %llu s of the "
		      "storm's move to vCPU %u: its upcall did not return",
		      RS_TIMERS_NS / 1000000000ULL, RS_OTHER);
	XT_ASSERT_EQ(vt.rc, 0);
	for (i = 0; i < TIMERS; i++)
		XT_ASSERT_EQ(vt.fired[i], 1);
	/* Exact accounting: every send handled once, none lost. */
	XT_ASSERT_EQ(XT_LOAD(&s.runs), XT_LOAD(&s.sends) + 1);
	XT_ASSERT_EQ(XT_LOAD(&s.last_seen), XT_LOAD(&s.sends));
	XT_ASSERT(st.deferred > 0 && st.deferred <= st.upcalls);
	XT_ASSERT(port_max <= XL_UPCALL_PORT_SHARE);
	return XT_PASS;
}

static enum xt_result fifo_rebind_storm(void)
{
	return rebind_storm(false);
}

static enum xt_result l2_rebind_storm(void)
{
	return rebind_storm(true);
}

/* --- a run owed while another port storms -------------------------------- */

/*
 * Port Q's re-run is owed on the victim (its claim kept, so Q's events,
 * now delivered to vCPU OS_OTHER, only ask the victim for one more run),
 * while a hostile peer re-sends port P, also on the victim, on every run
 * of P's handler.  The owed runs were made only after the scan and only
 * while the budget lasted: every upcall's scan reached P's share, ended
 * the upcall and re-raised it, and Q's owed run never came for as long
 * as P stormed.  Now each owed port gets one run at the start of every
 * upcall, before the scan.
 *
 * Q's handler moves Q to OS_OTHER on its first run and then sends Q
 * OS_SENDS times, one send per run, each waited for until OS_OTHER has
 * taken it (so the victim runs Q again for it): OS_SENDS + 1 runs in a
 * chain longer than a port's share, so part of it is owed.  A pass: all
 * OS_SENDS + 1 runs of Q happen while P still storms, exactly that many,
 * the last after the last send; P's runs in any whole upcall of the
 * victim stay within its share and the upcall within its budget.  Before
 * the fix Q is stuck at its share until the storm stops.
 */
#define OS_OTHER 2U
#define OS_SENDS (2 * XL_UPCALL_PORT_SHARE)

struct owed_q {
	struct hv_domain *d;
	evtchn_port_t port;
	uint32_t move_rc;   /* atomic: bind_vcpu's result + 1 */
	uint64_t runs;	    /* atomic */
	uint64_t sends;	    /* atomic */
	uint64_t last_seen; /* atomic: sends when the last run started */
	uint64_t other_runs;
};

static void owed_q_handler(evtchn_port_t port, void *data)
{
	struct owed_q *q = data;
	uint64_t n = XT_ADD(&q->runs, 1), end;

	XT_STORE(&q->last_seen, XT_LOAD(&q->sends));
	if (xl_os_vcpu_id() != VICTIM)
		XT_ADD(&q->other_runs, 1);
	if (n == 1)
		XT_STORE(&q->move_rc,
			 (uint32_t)(xl_evtchn_bind_vcpu(port, OS_OTHER) + 1));
	if (XT_LOAD(&q->sends) >= OS_SENDS ||
	    hv_evtchn_notify_guest(q->d, port))
		return;
	XT_ADD(&q->sends, 1);
	/* As rstorm_handler: until OS_OTHER took it and asked us again. */
	end = xt_now_ns() + 1000 * MS;
	while (xl_evtchn_is_pending(port) && xt_now_ns() < end)
		sched_yield();
	while (!hv_guest_trace_upcall_ended(q->d, RS_OTHER) &&
	       xt_now_ns() < end)
		sched_yield();
}

static bool owed_q_done(void *arg)
{
	struct owed_q *q = arg;

	return XT_LOAD(&q->runs) >= OS_SENDS + 1;
}

static enum xt_result owed_vs_storm(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	/*
	 * Static, as q: the storm port stays bound when an assertion returns
	 * early, and a handler still running on the victim then reads s (a
	 * dead stack frame would be the runner's next one: TSan saw that).
	 */
	static struct storm s;
	static struct owed_q q;
	struct xl_evtchn_stats st;
	unsigned int port_max, ev_max, upcalls;
	uint64_t storm_at_done, q_at_done;
	bool done;

	s = (struct storm){ .d = hv_guest_domain() };
	q = (struct owed_q){ .d = hv_guest_domain() };
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xen_port(storm_handler, &s, &s.port), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(s.port, VICTIM), 0);
	XT_ASSERT_EQ(xen_port(owed_q_handler, &q, &q.port), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(q.port, VICTIM), 0);
	XT_STORE(&s.on, 1);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(s.d, s.port), 0);
	XT_ASSERT(wait_count(&s.runs, 1000, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(hv_evtchn_notify_guest(q.d, q.port), 0);
	done = xt_wait_until(owed_q_done, &q, 2 * XT_EVENT_TIMEOUT_NS);
	storm_at_done = XT_LOAD(&s.runs);
	q_at_done = XT_LOAD(&q.runs);
	trace_max_per_upcall(VICTIM, s.port, &port_max, &ev_max, &upcalls);
	XT_STORE(&s.on, 0);
	xt_wait_until(owed_q_done, &q, XT_EVENT_TIMEOUT_NS);
	xt_sleep_ns(XT_SETTLE_NS);
	/* Waits out a storm handler still running on the victim. */
	XT_ASSERT_EQ(xl_evtchn_close(s.port), 0);
	xl_evtchn_get_stats(VICTIM, &st);
	xt_log("Q runs %llu of %u while P stormed, %llu at the end (vCPU "
	       "%u: %llu); storm runs %llu then, %llu at the end; victim: "
	       "upcalls %llu deferred %llu; last %u whole upcalls: at most %u "
	       "storm runs, %u events each",
	       (unsigned long long)q_at_done, OS_SENDS + 1,
	       (unsigned long long)XT_LOAD(&q.runs), OS_OTHER,
	       (unsigned long long)q.other_runs,
	       (unsigned long long)storm_at_done,
	       (unsigned long long)XT_LOAD(&s.runs),
	       (unsigned long long)st.upcalls, (unsigned long long)st.deferred,
	       upcalls, port_max, ev_max);
	XT_ASSERT_EQ(XT_LOAD(&q.move_rc), 1);
	XT_ASSERT_MSG(done,
		      "port %u's owed run was not made within %llu s while "
		      "port %u stormed (%llu of %u runs)",
		      q.port, 2 * XT_EVENT_TIMEOUT_NS / 1000000000ULL, s.port,
		      (unsigned long long)q_at_done, OS_SENDS + 1);
	/* Exact: every send of Q handled once, on the victim only. */
	XT_ASSERT_EQ(XT_LOAD(&q.sends), OS_SENDS);
	XT_ASSERT_EQ(XT_LOAD(&q.runs), OS_SENDS + 1);
	XT_ASSERT_EQ(XT_LOAD(&q.last_seen), OS_SENDS);
	XT_ASSERT_EQ(q.other_runs, 0);
	/* The storm went on and stayed cut into bounded upcalls. */
	XT_ASSERT(storm_at_done > 1000);
	XT_ASSERT(st.deferred > 0 && st.deferred <= st.upcalls);
	XT_ASSERT(upcalls > 0);
	XT_ASSERT(port_max >= 1 && port_max <= XL_UPCALL_PORT_SHARE);
	XT_ASSERT(ev_max >= 1 && ev_max <= XL_UPCALL_BUDGET);
	return XT_PASS;
}

static enum xt_result fifo_owed_vs_storm(void)
{
	return owed_vs_storm(false);
}

static enum xt_result l2_owed_vs_storm(void)
{
	return owed_vs_storm(true);
}

/* --- READY bits beyond the 16 queues --------------------------------------------- */

/*
 * A control block whose READY word has bit 20 set (a corrupt or hostile
 * hypervisor; Xen sets only 1 << priority, priority <= 15).  The consumer
 * used __builtin_ctz(ready) as the queue index: head[20] lies past the 16
 * heads, in the next vCPU's cursors and the control block's tail.  Here
 * the slot cb->head[20] would be names a real port, pending and masked,
 * so taking the bogus queue shows as a masked event seen.  The bit must
 * be ignored: nothing taken from it, the port stays pending until its
 * unmask, which delivers it exactly once.
 */
static enum xt_result fifo_ready_beyond_queues(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus() };
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec rp = { 0 }, rq = { 0 };
	struct xl_evtchn_stats st;
	evtchn_fifo_control_block_t *cb;
	evtchn_port_t p, q;
	uint32_t *slot;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rp, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rq, &q), 0);
	xl_evtchn_mask(p);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT(xl_evtchn_is_pending(p));
	cb = hv_fifo_control_block(hv_domain_vcpu(d, 0));
	XT_ASSERT(cb != NULL);
	/* head[] is 16 words; the 21st word from its start is in the page. */
	slot = &cb->head[0] + 20;
	__atomic_store_n(slot, p, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&cb->ready, 1U << 20, __ATOMIC_SEQ_CST);
	/* Any upcall on vCPU 0 now sees the bogus bit. */
	XT_ASSERT_EQ(xl_evtchn_send(q), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rq, 1), 1);
	xl_evtchn_get_stats(0, &st);
	XT_ASSERT_EQ(st.masked_seen, 0);
	XT_ASSERT_EQ(xt_rec_settle(&rp), 0);
	XT_ASSERT(xl_evtchn_is_pending(p));
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rp, 1), 1);
	XT_ASSERT_EQ(rp.last_port, p);
	__atomic_store_n(slot, 0, __ATOMIC_SEQ_CST);
	return XT_PASS;
}

/* --- a timer callback slower than its period ---------------------------------------- */

/*
 * A periodic tick as the Linux module's xlk_tick re-arms it (deadline +
 * period, from its own callback), whose callback takes longer than the
 * period: what one pass of the tick is under nested TCG.  Each run finds
 * its next deadline already past.  The clockevent ran expired timers
 * "while the earliest is due", so it re-ran this one for good, in the
 * upcall, and the vCPU never ran anything else (in a Linux guest: IF=0
 * for good, so an IPI another CPU waits for is never taken).  Now it runs
 * once per VIRQ_TIMER, Xen is re-armed min_delta ahead, and the vCPU's
 * own code runs in between.
 */
#define SLOW_PERIOD_NS (1 * MS)
#define SLOW_BURN_NS (3 * MS)
#define SLOW_RUNS 6U

struct slow_tick {
	struct xl_timer t;
	uint64_t runs;	   /* atomic */
	uint32_t stop;	   /* atomic */
	uint64_t progress; /* atomic: the vCPU's own code ran */
	int rc;
};

static void slow_tick_fn(struct xl_timer *t)
{
	struct slow_tick *s = t->data;
	uint64_t end = xt_now_ns() + SLOW_BURN_NS;

	XT_ADD(&s->runs, 1);
	while (xt_now_ns() < end)
		;
	if (!XT_LOAD(&s->stop))
		xl_timer_arm(t, t->deadline + SLOW_PERIOD_NS);
}

static void slow_tick_body(void *arg)
{
	struct slow_tick *s = arg;
	uint64_t end;

	xl_timer_setup(&s->t, slow_tick_fn, s);
	s->rc = xl_timer_arm(&s->t, xl_clock_now() + SLOW_PERIOD_NS);
	if (s->rc)
		return;
	end = xt_now_ns() + 10 * XT_EVENT_TIMEOUT_NS;
	while (XT_LOAD(&s->runs) < SLOW_RUNS && xt_now_ns() < end)
		XT_ADD(&s->progress, 1);
	XT_STORE(&s->stop, 1);
	xl_timer_cancel(&s->t);
}

static enum xt_result timer_slower_than_period(void)
{
	struct slow_tick s = { .rc = 0 };
	struct xl_clock_stats cs;
	uint64_t runs;
	int rc = -1;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_run_on(VICTIM, clock_init_on, &rc);
	XT_ASSERT_EQ(rc, 0);
	xt_run_on(VICTIM, slow_tick_body, &s);
	XT_ASSERT_EQ(s.rc, 0);
	xt_sleep_ns(SLOW_BURN_NS + 2 * MS);
	runs = XT_LOAD(&s.runs);
	xl_clock_get_stats(VICTIM, &cs);
	xt_log("runs %llu, body progress %llu; VIRQs %llu, fired %llu",
	       (unsigned long long)runs,
	       (unsigned long long)XT_LOAD(&s.progress),
	       (unsigned long long)cs.virq, (unsigned long long)cs.fired);
	/*
	 * The body stopped the tick once it saw SLOW_RUNS runs.  How many
	 * more ran before it looked depends on the host's scheduling of the
	 * vCPU thread (a kick pending when it resumes runs the next upcall
	 * first), so no upper bound on runs; the bound is per VIRQ below.
	 */
	XT_ASSERT(runs >= SLOW_RUNS);
	XT_ASSERT(XT_LOAD(&s.progress) > 0);
	/* One run of the slow tick per VIRQ_TIMER. */
	XT_ASSERT_EQ(cs.fired, runs);
	XT_ASSERT(cs.fired <= cs.virq);
	return XT_PASS;
}

/*
 * The bound must not stop a fast periodic tick from catching up: the Linux
 * module keeps the kernel's tick at HZ on a slower Xen periodic timer by
 * running its 1 ms core timer several times per VIRQ_TIMER.  Xen's timer
 * at 100 Hz, the core timer re-armed every 1 ms: a VIRQ finds about ten
 * boundaries due and runs them all (at most XL_TIMER_RUNS_PER_VIRQ).
 */
#define CATCHUP_RUNS 60U

struct catchup {
	struct xl_timer t;
	uint64_t runs;	    /* atomic */
	uint64_t last_virq; /* VIRQ count at the previous run */
	uint32_t in_virq, max_in_virq;
	int rc;
};

static void catchup_fn(struct xl_timer *t)
{
	struct catchup *c = t->data;
	struct xl_clock_stats cs;

	xl_clock_get_stats(xl_os_vcpu_id(), &cs);
	c->in_virq = cs.virq == c->last_virq ? c->in_virq + 1 : 1;
	c->last_virq = cs.virq;
	if (c->in_virq > c->max_in_virq)
		c->max_in_virq = c->in_virq;
	if (XT_ADD(&c->runs, 1) < CATCHUP_RUNS)
		xl_timer_arm(t, t->deadline + MS);
}

static void catchup_body(void *arg)
{
	const struct xl_clock_config cfg = { .mode = XL_CLOCK_PERIODIC,
					     .hz = 100 };
	struct catchup *c = arg;

	c->rc = xl_clock_init(&cfg);
	if (c->rc)
		return;
	xl_timer_setup(&c->t, catchup_fn, c);
	c->rc = xl_timer_arm(&c->t, xl_clock_now() + MS);
	if (!c->rc && !wait_count(&c->runs, CATCHUP_RUNS, XT_EVENT_TIMEOUT_NS))
		c->rc = -1;
}

static enum xt_result periodic_tick_catches_up(void)
{
	struct catchup c = { .rc = 0 };

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_run_on(VICTIM, catchup_body, &c);
	xt_log("%llu runs, at most %u in one VIRQ_TIMER",
	       (unsigned long long)c.runs, c.max_in_virq);
	XT_ASSERT_EQ(c.rc, 0);
	XT_ASSERT_EQ(c.runs, CATCHUP_RUNS);
	XT_ASSERT(c.max_in_virq >= 5 &&
		  c.max_in_virq <= XL_TIMER_RUNS_PER_VIRQ);
	return XT_PASS;
}

/* --- a xenstored that floods watch events --------------------------------------- */

/*
 * hv's xenstored in flood mode keeps the store ring full of WATCH_EVENT
 * messages, refilling as soon as the guest frees space.  The client's
 * pump ran in the store port's upcall on vCPU 0, with xs.lock held and
 * delivery masked, "while the ring has bytes": under the flood it never
 * returned, so vCPU 0 ran nothing else (its timers, its other ports, its
 * own code).  Now a pump run takes at most XL_XS_PUMP_BUDGET bytes and
 * the rest goes to the next run.  During the flood: vCPU 0's own code
 * arms and waits for five 1 ms timers, an IPI from vCPU 1 gets each of
 * its 100 events exactly once; after it, a request completes.
 */
#define FLOOD_PATH "budget/flood"

struct ipi_sender {
	evtchn_port_t port;
	struct xt_rec *rec;
	int rc;
};

static void ipi_sender_fn(void *arg)
{
	struct ipi_sender *s = arg;
	unsigned int i;

	for (i = 1; i <= GOOD_EVENTS; i++) {
		if (xl_evtchn_send(s->port) ||
		    !wait_count(&s->rec->count, i, XT_EVENT_TIMEOUT_NS)) {
			s->rc = (int)i;
			return;
		}
	}
}

static void flood_watch_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	(void)w;
	(void)path;
	(void)arg;
}

static bool hv_events_over(void *arg)
{
	struct hv_xs_stats st;

	hv_xs_get_stats(hv_guest_domain(), &st);
	return st.events > *(uint64_t *)arg;
}

static enum xt_result xs_watch_flood(void)
{
	const struct xl_clock_config ccfg = { .mode = XL_CLOCK_SINGLESHOT };
	struct hv_domain *d = hv_guest_domain();
	struct hv_xs_hostile h = { .flood = true };
	struct victim_timers vt = { .rc = 0 };
	struct xt_rec r = { 0 };
	struct ipi_sender snd = { .rec = &r };
	struct xl_xs_watch w = { 0 };
	struct xl_xs_stats xst;
	struct hv_xs_stats hst;
	uint64_t enough = 20000;
	char buf[16];
	size_t len = 0;
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(&ccfg), 0);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	XT_ASSERT_EQ(xl_xs_watch(&w, FLOOD_PATH, flood_watch_fn, NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &snd.port), 0);
	snprintf(h.flood_path, sizeof(h.flood_path), "%s", FLOOD_PATH);
	snprintf(h.flood_token, sizeof(h.flood_token), "%s", w.token);
	hv_xs_set_hostile(d, &h);
	/* The flood is on: the events counted pass 20,000. */
	XT_ASSERT(xt_wait_until(hv_events_over, &enough, XT_EVENT_TIMEOUT_NS));
	xt_start_on(1, ipi_sender_fn, &snd);
	victim_timers_fn(&vt);
	xt_wait_on(1);
	hv_xs_set_hostile(d, NULL);
	xt_rec_settle(&r);
	/* After the flood the client still works. */
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "budget/after", "ok"), 0);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, "budget/after", buf, sizeof(buf),
				&len),
		     0);
	XT_ASSERT_EQ(len, 2);
	XT_ASSERT(!strcmp(buf, "ok"));
	xl_xs_get_stats(&xst);
	hv_xs_get_stats(d, &hst);
	xt_log("flood: %llu events written, %llu received; pump runs deferred "
	       "%llu, most bytes in one run %llu; a 1 ms timer fired within "
	       "%llu upcalls of its arming",
	       (unsigned long long)hst.events, (unsigned long long)xst.events,
	       (unsigned long long)xst.pump_deferred,
	       (unsigned long long)xst.pump_max,
	       (unsigned long long)vt.upcalls_max);
	XT_ASSERT_EQ(snd.rc, 0);
	XT_ASSERT_EQ(r.count, GOOD_EVENTS);
	XT_ASSERT_EQ(r.concurrent, 0);
	XT_ASSERT_EQ(vt.rc, 0);
	for (i = 0; i < TIMERS; i++)
		XT_ASSERT_EQ(vt.fired[i], 1);
	XT_ASSERT(xst.events > enough / 2 && xst.events <= hst.events);
	XT_ASSERT(xst.pump_deferred > 0);
	/* A full ring was there to take, and no run took more. */
	XT_ASSERT_EQ(xst.pump_max, XL_XS_PUMP_BUDGET);
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	return XT_PASS;
}

/* --- more ports pending than the upcall has steps ----------------------------- */

/*
 * MANY_PORTS IPIs, each raised once while delivery is masked: more
 * events than an upcall has queue steps (XL_UPCALL_BUDGET), none near a
 * port's share (XL_UPCALL_PORT_SHARE).  The share tests end their
 * upcalls through one port's share; this one pins the step count: the
 * first upcall takes exactly XL_UPCALL_BUDGET steps and defers, the
 * re-raised one takes the rest.  FIFO: one event per step, so the first
 * upcall handles XL_UPCALL_BUDGET events exactly.  2-level: a step may
 * also go to clearing a drained selector word, at most one per word.  A
 * fail: a step not counted (every event in one upcall, nothing
 * deferred), or counted twice (fewer events in the first upcall).
 */
#define MANY_PORTS (XL_UPCALL_BUDGET + 64U)
#define MANY_WORDS (MANY_PORTS / 64U + 2U) /* 2-level words they span */

static uint64_t many_runs[MANY_PORTS]; /* atomic, per port */
static uint64_t many_total;	       /* atomic */

static void many_handler(evtchn_port_t port, void *data)
{
	(void)port;
	XT_ADD((uint64_t *)data, 1);
	XT_ADD(&many_total, 1);
}

static enum xt_result many_ports(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	static evtchn_port_t ports[MANY_PORTS];
	unsigned int i, cpu = xl_os_vcpu_id(), port_max, ev_max, upcalls;
	struct xl_evtchn_stats st0, st;
	unsigned long flags;
	int rc = 0;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_STORE(&many_total, 0);
	for (i = 0; i < MANY_PORTS; i++) {
		XT_STORE(&many_runs[i], 0);
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(cpu, many_handler,
						&many_runs[i], &ports[i]),
			     0);
	}
	xl_evtchn_get_stats(cpu, &st0);
	flags = xl_os_irq_save();
	for (i = 0; i < MANY_PORTS && !rc; i++)
		rc = xl_evtchn_send(ports[i]);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	if (!wait_count(&many_total, MANY_PORTS, XT_EVENT_TIMEOUT_NS))
		xt_fail_msg(__FILE__, __LINE__, "%llu of %u events handled",
			    (unsigned long long)XT_LOAD(&many_total),
			    MANY_PORTS);
	xl_evtchn_get_stats(cpu, &st);
	trace_max_per_upcall(cpu, ports[0], &port_max, &ev_max, &upcalls);
	xt_log("%llu events in %llu upcalls (%llu deferred); at most %u "
	       "events in one of the last %u whole upcalls",
	       (unsigned long long)XT_LOAD(&many_total),
	       (unsigned long long)(st.upcalls - st0.upcalls),
	       (unsigned long long)(st.deferred - st0.deferred), ev_max,
	       upcalls);
	XT_ASSERT_EQ(XT_LOAD(&many_total), MANY_PORTS);
	for (i = 0; i < MANY_PORTS; i++)
		XT_ASSERT_EQ(XT_LOAD(&many_runs[i]), 1);
	/* One budget's worth, then the rest in the re-raised upcall. */
	XT_ASSERT_EQ(st.deferred - st0.deferred, 1);
	if (force_2level)
		XT_ASSERT(ev_max >= XL_UPCALL_BUDGET - MANY_WORDS &&
			  ev_max <= XL_UPCALL_BUDGET);
	else
		XT_ASSERT_EQ(ev_max, XL_UPCALL_BUDGET);
	return XT_PASS;
}

static enum xt_result fifo_many_ports(void)
{
	return many_ports(false);
}

static enum xt_result l2_many_ports(void)
{
	return many_ports(true);
}

/*
 * An upcall rescans while evtchn_upcall_pending was set again during its
 * scan, at most XL_UPCALL_PASSES times (xen-evtchn.c xl_evtchn_upcall),
 * then defers the rest to a re-raised upcall.  Forced with the explore
 * point hook: at the read barrier between the victim's scan and its
 * check of evtchn_upcall_pending (its upcall's only barrier on 2-level,
 * with no clock on the victim), hv raises port P again if it is not
 * pending, UP_RAISES times in all; each pass runs P once.  So the upcalls run P exactly
 * XL_UPCALL_PASSES times each, UP_RAISES / XL_UPCALL_PASSES of them
 * deferred, then one last run.
 */
#define UP_RAISES (3 * XL_UPCALL_PASSES)

static struct up {
	struct hv_domain *d;
	evtchn_port_t port;
	unsigned long *pend_word, pend_bit; /* P's PENDING in shared_info */
	uint32_t armed;			    /* atomic */
	uint32_t raises;		    /* the victim's hook only */
	uint64_t runs;			    /* atomic */
} up;

static void up_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();

	if (pt != HV_XP_BARRIER || !v || hv_vcpu_id(v) != VICTIM ||
	    !XT_LOAD(&up.armed) || up.raises >= UP_RAISES)
		return;
	/* Only where the raise makes a run: not at a barrier of the idle
	 * loop while the re-raised upcall has yet to take P. */
	if (__atomic_load_n(up.pend_word, __ATOMIC_SEQ_CST) & up.pend_bit)
		return;
	up.raises++;
	hv_evtchn_notify_guest(up.d, up.port);
}

static void up_handler(evtchn_port_t port, void *data)
{
	XT_ADD(&up.runs, 1);
}

static enum xt_result l2_upcall_passes(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = true };
	struct xl_evtchn_stats st0, st;
	unsigned int port_max, ev_max, upcalls;
	bool done;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	memset(&up, 0, sizeof(up));
	up.d = hv_guest_domain();
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xen_port(up_handler, NULL, &up.port), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(up.port, VICTIM), 0);
	up.pend_word = (unsigned long *)xl_os_shared_info()->evtchn_pending +
		       up.port / XL_BITS_PER_LONG;
	up.pend_bit = 1UL << (up.port % XL_BITS_PER_LONG);
	xt_sleep_ns(XT_SETTLE_NS);
	XT_STORE(&up.runs, 0);
	xl_evtchn_get_stats(VICTIM, &st0);
	XT_STORE(&up.armed, 1);
	hv_explore_set_hook(up_hook);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(up.d, up.port), 0);
	done = wait_count(&up.runs, UP_RAISES + 1, XT_EVENT_TIMEOUT_NS);
	xt_sleep_ns(XT_SETTLE_NS);
	hv_explore_set_hook(NULL);
	XT_STORE(&up.armed, 0);
	trace_max_per_upcall(VICTIM, up.port, &port_max, &ev_max, &upcalls);
	xl_evtchn_get_stats(VICTIM, &st);
	xt_log("runs %llu, raises %u; %u whole upcalls: at most %u runs of P "
	       "in one; deferred %llu",
	       (unsigned long long)XT_LOAD(&up.runs), up.raises, upcalls,
	       port_max, (unsigned long long)(st.deferred - st0.deferred));
	XT_ASSERT(done);
	XT_ASSERT_EQ(up.raises, UP_RAISES);
	XT_ASSERT_EQ(XT_LOAD(&up.runs), UP_RAISES + 1);
	XT_ASSERT_EQ(port_max, XL_UPCALL_PASSES);
	XT_ASSERT_EQ(st.deferred - st0.deferred, UP_RAISES / XL_UPCALL_PASSES);
	XT_ASSERT_EQ(xl_evtchn_close(up.port), 0);
	return XT_PASS;
}

/*
 * Every budget test also runs as NAME@vec: per-vCPU vectors, which Xen
 * raises only on evtchn_upcall_pending's 0 -> 1 edge, so work the budget
 * left behind waits for the core's self-IPI (xl_os_upcall_reraise()).
 */
#define V XT_F_VECTORS

const struct xt_test xt_budget_tests[] = {
	{ "budget/fifo_send_storm", XT_HV, 2, false, fifo_send_storm, V },
	{ "budget/2l_send_storm", XT_HV, 2, false, l2_send_storm, V },
	{ "budget/fifo_rebind_storm", XT_HV, 3, false, fifo_rebind_storm, V },
	{ "budget/2l_rebind_storm", XT_HV, 3, false, l2_rebind_storm, V },
	{ "budget/fifo_owed_vs_storm", XT_HV, 3, false, fifo_owed_vs_storm, V },
	{ "budget/2l_owed_vs_storm", XT_HV, 3, false, l2_owed_vs_storm, V },
	{ "budget/fifo_ready_beyond_queues", XT_HV, 2, false,
	  fifo_ready_beyond_queues, V },
	{ "budget/timer_slower_than_period", XT_HV, 2, false,
	  timer_slower_than_period, V },
	{ "budget/periodic_tick_catches_up", XT_HV, 2, false,
	  periodic_tick_catches_up, V },
	{ "budget/xs_watch_flood", XT_HV, 2, false, xs_watch_flood,
	  XT_F_XENSTORE | V },
	{ "budget/fifo_many_ports", XT_HV, 1, false, fifo_many_ports, V },
	{ "budget/2l_many_ports", XT_HV, 1, false, l2_many_ports, V },
	{ "budget/2l_upcall_passes", XT_HV, 2, false, l2_upcall_passes, V },
};

const unsigned int xt_budget_nr_tests =
	sizeof(xt_budget_tests) / sizeof(xt_budget_tests[0]);
