// SPDX-License-Identifier: GPL-2.0
/*
 * hv-only cases: fault injection through hv's own API (hv_domain_*), so
 * they cannot run on real Xen.
 */
#include <pthread.h>

#include <hv.h>
#include <hv-guest.h>

#include <xenlite/clockevent.h>
#include <xenlite/idle.h>

#include "xt-util.h"

/* Spurious upcalls (half of all hypercall returns): harmless, counted. */
static enum xt_result spurious(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct hv_faults f = { .spurious_upcall_permille = 500 };
	struct xl_evtchn_stats s;
	struct xt_rec r[4] = { 0 };
	evtchn_port_t p[4];
	unsigned int i, k, nr = xt_nr_vcpus();

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	for (i = 0; i < 4; i++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(i % nr, xt_rec_handler, &r[i],
						&p[i]),
			     0);
	hv_domain_set_faults(hv_guest_domain(), &f);
	for (k = 0; k < 100; k++) {
		for (i = 0; i < 4; i++)
			XT_ASSERT_EQ(xl_evtchn_send(p[i]), 0);
		for (i = 0; i < 4; i++)
			XT_ASSERT_EQ(xt_rec_wait(&r[i], k + 1), k + 1);
	}
	f.spurious_upcall_permille = 0;
	hv_domain_set_faults(hv_guest_domain(), &f);
	for (i = 0; i < 4; i++) {
		XT_ASSERT_EQ(r[i].last_port, p[i]);
		XT_ASSERT_EQ(r[i].concurrent, 0);
	}
	xt_stats_sum(&s);
	xt_log("upcalls %llu spurious %llu events %llu",
	       (unsigned long long)s.upcalls, (unsigned long long)s.spurious,
	       (unsigned long long)s.events);
	XT_ASSERT_EQ(s.events, 400);
	XT_ASSERT_EQ(s.stray, 0);
	XT_ASSERT(s.spurious > 0);
	XT_ASSERT(s.upcalls >= s.spurious);
	return XT_PASS;
}

static enum xt_result fifo_spurious(void)
{
	return spurious(false);
}

static enum xt_result l2_spurious(void)
{
	return spurious(true);
}

/* --- fewer pCPUs than vCPUs (hv's credit-style run queue) ------------ */

#define MS 1000000ULL

static void busy_200ms(void *arg)
{
	(void)arg;
	xt_sleep_ns(200 * MS); /* guest code, holding the pCPU */
}

static uint64_t run_time(unsigned int cpu, int state)
{
	struct vcpu_runstate_info r;

	xl_hc_vcpu_op(VCPUOP_get_runstate_info, cpu, &r);
	return r.time[state];
}

/*
 * Two busy vCPUs on one pCPU: together they run no longer than the time
 * that passed, each waits (runnable) part of it, and slices expire.
 */
static enum xt_result pcpu_share(void)
{
	uint64_t run0, run1, wait0, wait1, t0, t1, ran, waited;
	struct hv_domain_stats st;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	run0 = run_time(0, RUNSTATE_running) + run_time(1, RUNSTATE_running);
	wait0 = run_time(0, RUNSTATE_runnable) + run_time(1, RUNSTATE_runnable);
	t0 = xl_clock_now();
	xt_start_on(1, busy_200ms, NULL);
	busy_200ms(NULL);
	xt_wait_on(1);
	t1 = xl_clock_now();
	run1 = run_time(0, RUNSTATE_running) + run_time(1, RUNSTATE_running);
	wait1 = run_time(0, RUNSTATE_runnable) + run_time(1, RUNSTATE_runnable);
	ran = run1 - run0;
	waited = wait1 - wait0;
	hv_domain_get_stats(hv_guest_domain(), &st);
	xt_log("1 pCPU, 2 busy vCPUs for %llu ms: ran %llu ms, waited %llu "
	       "ms, %llu preemptions",
	       (unsigned long long)((t1 - t0) / MS),
	       (unsigned long long)(ran / MS),
	       (unsigned long long)(waited / MS),
	       (unsigned long long)st.preemptions);
	XT_ASSERT_MSG(ran <= t1 - t0 + 2 * MS, "2 vCPUs ran %llu ns in %llu",
		      (unsigned long long)ran, (unsigned long long)(t1 - t0));
	XT_ASSERT(waited >= (t1 - t0) / 2);
	XT_ASSERT(st.preemptions >= 2);
	return XT_PASS;
}

/*
 * BOOST: an event for a blocked vCPU while the only pCPU is busy wakes it
 * BOOSTed, and it preempts the busy vCPU instead of waiting for the end
 * of its 30 ms slice (credit.c csched_unit_wake, __runq_tickle).
 */
static void stamp_handler(evtchn_port_t port, void *data)
{
	XT_STORE((uint64_t *)data, xl_clock_now());
}

static enum xt_result pcpu_boost(void)
{
	struct hv_domain_stats s0, s1;
	uint64_t woke = 0, sent, lat[20];
	evtchn_port_t p;
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, stamp_handler, &woke, &p), 0);
	hv_domain_get_stats(hv_guest_domain(), &s0);
	for (i = 0; i < 20; i++) {
		xt_sleep_ns(5 * MS); /* vCPU 1 is blocked again */
		XT_STORE(&woke, 0);
		sent = xl_clock_now();
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
		/* Stay busy on the one pCPU until vCPU 1 ran. */
		while (!XT_LOAD(&woke) && xl_clock_now() - sent < 1000 * MS)
			xt_sleep_ns(100000);
		XT_ASSERT(XT_LOAD(&woke));
		lat[i] = XT_LOAD(&woke) - sent;
	}
	hv_domain_get_stats(hv_guest_domain(), &s1);
	xt_log("BOOST wake latency p50 %llu us max %llu us; %llu boosted "
	       "wakes, %llu preemptions",
	       (unsigned long long)xt_percentile(lat, 20, 50) / 1000,
	       (unsigned long long)xt_percentile(lat, 20, 100) / 1000,
	       (unsigned long long)(s1.boosted_wakes - s0.boosted_wakes),
	       (unsigned long long)(s1.preemptions - s0.preemptions));
	XT_ASSERT(s1.boosted_wakes - s0.boosted_wakes >= 10);
	XT_ASSERT(s1.preemptions - s0.preemptions >= 10);
	return XT_PASS;
}

/*
 * The vcpu_time_info version protocol under fire: a host thread rewrites
 * every vCPU's record as fast as it can while the vCPUs read pvclock.  A
 * torn read (a new tsc_timestamp with an old system_time, or the reverse)
 * is off by the time between two updates: no reading may run ahead of
 * hv's own clock, nor go backwards on a vCPU.
 */
struct tstorm {
	struct hv_domain *d;
	uint32_t stop, ahead, back;
	uint64_t updates;
};

static void *tstorm_writer(void *arg)
{
	struct tstorm *ts = arg;
	struct hv_domain *d = ts->d; /* not a vCPU thread: no "current" */
	unsigned int i;

	while (!XT_LOAD(&ts->stop)) {
		for (i = 0; i < hv_domain_nr_vcpus(d); i++)
			hv_vcpu_update_time(hv_domain_vcpu(d, i));
		XT_ADD(&ts->updates, 1);
	}
	return NULL;
}

static void tstorm_reader(void *arg)
{
	struct tstorm *ts = arg;
	uint64_t prev = 0, now, ref;
	unsigned int i;

	for (i = 0; i < 200000; i++) {
		now = xl_clock_now();
		ref = hv_system_time();
		if (now > ref + 1000)
			XT_ADD(&ts->ahead, 1);
		if (now < prev)
			XT_ADD(&ts->back, 1);
		prev = now;
	}
}

static enum xt_result pvclock_update_storm(void)
{
	struct tstorm ts = { .d = hv_guest_domain() };
	pthread_t w;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(pthread_create(&w, NULL, tstorm_writer, &ts), 0);
	xt_start_on(1, tstorm_reader, &ts);
	tstorm_reader(&ts);
	xt_wait_on(1);
	XT_STORE(&ts.stop, 1);
	pthread_join(w, NULL);
	xt_log("%llu rounds of vcpu_time_info updates during 400000 reads",
	       (unsigned long long)XT_LOAD(&ts.updates));
	XT_ASSERT(XT_LOAD(&ts.updates) > 100);
	XT_ASSERT_EQ(ts.ahead, 0);
	XT_ASSERT_EQ(ts.back, 0);
	return XT_PASS;
}

/* --- a VIRQ_TIMER that comes early by the guest's clock ------------------ */

#define EARLY_NS (2 * MS)
#define EARLY_ROUNDS 40

struct early {
	struct xl_timer t;
	uint32_t fired;
	uint64_t give_up; /* pvclock ns: stop waiting for the timer */
	uint32_t stop;	  /* the poker thread's end */
	struct hv_vcpu *v;
};

static void early_fn(struct xl_timer *t)
{
	struct early *e = t->data;

	XT_STORE(&e->fired, 1);
}

static bool early_done(void *arg)
{
	struct early *e = arg;

	return XT_LOAD(&e->fired) || xl_clock_now() > e->give_up;
}

/*
 * A blocked vCPU whose timer was lost sleeps for good: poke it every 10 ms
 * (no event, SCHEDOP_block just returns) so early_done() can give up and
 * the test fail instead of hanging.
 */
static void *early_poker(void *arg)
{
	struct early *e = arg;

	while (!__atomic_load_n(&e->stop, __ATOMIC_ACQUIRE)) {
		hv_vcpu_poke(e->v);
		xt_sleep_ns(10 * MS);
	}
	return NULL;
}

/*
 * Xen fires a vCPU timer when NOW() of the pCPU holding it passes the
 * deadline (timer_softirq_action, xen/common/timer.c); the guest reads its
 * own vcpu_time_info extrapolation, which can be behind.  Then VIRQ_TIMER
 * arrives while the guest's clock says its deadline has not come: the
 * singleshot timer is spent all the same, and the guest must arm it again
 * (a clockevent that thought it still armed slept for good).  hv fires
 * singleshot timers EARLY_NS early; each software timer must still run, at
 * or after its deadline by the guest's clock.
 */
static enum xt_result timer_early(const struct xl_clock_config *cfg)
{
	struct hv_faults f = { .timer_early_ns = EARLY_NS };
	struct xl_clock_stats cs;
	struct early e = { .v = hv_domain_vcpu(hv_guest_domain(), 0) };
	unsigned long flags;
	unsigned int i, fired = 0, late_calls = 0;
	pthread_t poker;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(cfg), 0);
	xl_timer_setup(&e.t, early_fn, &e);
	XT_ASSERT_EQ(pthread_create(&poker, NULL, early_poker, &e), 0);
	hv_domain_set_faults(hv_guest_domain(), &f);
	for (i = 0; i < EARLY_ROUNDS; i++) {
		uint64_t deadline = xl_clock_now() + 3 * MS;

		XT_STORE(&e.fired, 0);
		e.give_up = deadline + 300 * MS;
		flags = xl_os_irq_save();
		if (xl_timer_arm(&e.t, deadline))
			late_calls++;
		xl_os_irq_restore(flags);
		xl_idle_until(early_done, &e);
		if (XT_LOAD(&e.fired)) {
			fired++;
			if (e.t.fired_at < deadline)
				late_calls++;
		} else {
			flags = xl_os_irq_save();
			xl_timer_cancel(&e.t);
			xl_os_irq_restore(flags);
		}
	}
	hv_domain_set_faults(hv_guest_domain(), NULL);
	__atomic_store_n(&e.stop, 1, __ATOMIC_RELEASE);
	pthread_join(poker, NULL);
	xl_clock_get_stats(0, &cs);
	xt_log("%u of %u timers fired; %llu VIRQs, %llu singleshot programs",
	       fired, EARLY_ROUNDS, (unsigned long long)cs.virq,
	       (unsigned long long)cs.programs);
	XT_ASSERT_EQ(late_calls, 0);
	XT_ASSERT_EQ(fired, EARLY_ROUNDS);
	return XT_PASS;
}

static enum xt_result timer_early_sshot(void)
{
	const struct xl_clock_config cfg = { .mode = XL_CLOCK_SINGLESHOT };

	return timer_early(&cfg);
}

static enum xt_result timer_early_periodic(void)
{
	const struct xl_clock_config cfg = { .mode = XL_CLOCK_PERIODIC,
					     .hz = 100 };

	return timer_early(&cfg);
}

/*
 * A kick signal that never arrives (hv_faults.drop_kicks): what TSan's
 * runtime did to 1 run in ~200 of time/sshot_past.  vCPU 0 spins in guest
 * code while vCPU 1 sends it an IPI whose kick is dropped; hv must send
 * the signal again, and the event arrives.
 */
struct kick_send {
	evtchn_port_t port;
	uint32_t go; /* vCPU 0 is back in guest code: send */
};

static bool kick_go(void *arg)
{
	return XT_LOAD(&((struct kick_send *)arg)->go) != 0;
}

static void kick_send(void *arg)
{
	struct kick_send *k = arg;

	xt_wait_until(kick_go, k, XT_EVENT_TIMEOUT_NS);
	xl_evtchn_send(k->port);
}

static bool rec_seen(void *arg)
{
	return XT_LOAD(&((struct xt_rec *)arg)->count) >= 1;
}

static enum xt_result kick_lost(void)
{
	struct hv_faults f = { .drop_kicks = 1 };
	struct hv_domain_stats st;
	struct xt_rec r = { 0 };
	struct kick_send k = { 0 };

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &k.port), 0);
	hv_domain_set_faults(hv_guest_domain(), &f);
	/*
	 * vCPU 0 must be in guest code, and stay there, from the send on:
	 * xt_start_on() pokes vCPU 1 through hv (a send while vCPU 0 is
	 * inside hv kicks nobody, and hv's return delivers), so vCPU 1
	 * sends only on "go"; and not xt_run_on(), whose wait may poke
	 * again.  Spinning on the handler's count never enters hv.
	 */
	xt_start_on(1, kick_send, &k);
	XT_STORE(&k.go, 1);
	XT_ASSERT(xt_wait_until(rec_seen, &r, XT_EVENT_TIMEOUT_NS));
	xt_wait_on(1);
	hv_domain_set_faults(hv_guest_domain(), NULL);
	hv_domain_get_stats(hv_guest_domain(), &st);
	xt_log("kick signals %llu, dropped %llu, sent again %llu",
	       (unsigned long long)st.kicks_signal,
	       (unsigned long long)st.kicks_dropped,
	       (unsigned long long)st.kicks_resent);
	XT_ASSERT_EQ(st.kicks_dropped, 1);
	XT_ASSERT(st.kicks_resent >= 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	return XT_PASS;
}

const struct xt_test xt_hv_tests[] = {
	{ "hv/pvclock_update_storm", XT_HV, 2, false, pvclock_update_storm, 0 },
	{ "fifo/spurious", XT_HV, 1, false, fifo_spurious, 0 },
	{ "2l/spurious", XT_HV, 1, false, l2_spurious, 0 },
	{ "hv/pcpu_share", XT_HV, 2, false, pcpu_share, XT_F_1PCPU },
	{ "hv/pcpu_boost", XT_HV, 2, false, pcpu_boost, XT_F_1PCPU },
	{ "hv/timer_early_sshot", XT_HV, 1, false, timer_early_sshot, 0 },
	{ "hv/timer_early_periodic", XT_HV, 1, false, timer_early_periodic, 0 },
	{ "hv/kick_lost", XT_HV, 2, false, kick_lost, 0 },
};

const unsigned int xt_hv_nr_tests =
	sizeof(xt_hv_tests) / sizeof(xt_hv_tests[0]);
