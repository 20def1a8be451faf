// SPDX-License-Identifier: GPL-2.0
/*
 * hv-only cases: fault injection through hv's own API (hv_domain_*), so
 * they cannot run on real Xen.
 */
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <hv.h>
#include <hv-explore.h>
#include <hv-guest.h>

#include <xenlite/clockevent.h>
#include <xenlite/evtchn-ops.h>
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
 * BOOST (credit1, selected as Xen's sched=credit): an event for a blocked
 * vCPU while the only pCPU is busy wakes it BOOSTed, and it preempts the
 * busy vCPU instead of waiting for the end of its 30 ms slice (credit.c
 * csched_unit_wake, __runq_tickle).
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

	XT_ASSERT_EQ(hv_domain_sched(hv_guest_domain()), HV_SCHED_CREDIT);
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

/* --- credit2 (Xen 4.17's default scheduler: hv/sched.c) --------------- */

#define C2_RATELIMIT_NS (1000 * 1000ULL) /* sched_ratelimit_us = 1000 */
#define C2_TOLERANCE_NS (50 * 1000ULL)	 /* ..._RATELIMIT_TICKLE_TOLERANCE */

/*
 * credit2's wake tickle: vCPU 1, blocked, has credit to spare; vCPU 0
 * has held the only pCPU for 5 ms (past the ratelimit) burning its own.
 * An event for vCPU 1 preempts vCPU 0 (runq_tickle: the woken vCPU has
 * more credit), without BOOST.  A wake may miss the tickle only if a
 * loaded host kept vCPU 1 on the pCPU long enough to burn its lead, or
 * a spurious wake of vCPU 1 just before put vCPU 0 inside the ratelimit.
 */
static enum xt_result pcpu_c2_tickle(void)
{
	struct hv_domain_stats s0, s1;
	uint64_t woke = 0, sent, lat[20];
	evtchn_port_t p;
	unsigned int i;

	XT_ASSERT_EQ(hv_domain_sched(hv_guest_domain()), HV_SCHED_CREDIT2);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, stamp_handler, &woke, &p), 0);
	hv_domain_get_stats(hv_guest_domain(), &s0);
	for (i = 0; i < 20; i++) {
		xt_sleep_ns(5 * MS); /* holding the pCPU; vCPU 1 blocked */
		XT_STORE(&woke, 0);
		sent = xl_clock_now();
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
		while (!XT_LOAD(&woke) && xl_clock_now() - sent < 1000 * MS)
			xt_sleep_ns(100000);
		XT_ASSERT(XT_LOAD(&woke));
		lat[i] = XT_LOAD(&woke) - sent;
	}
	hv_domain_get_stats(hv_guest_domain(), &s1);
	xt_log("credit2 wake latency p50 %llu us max %llu us; %llu tickles, "
	       "%llu ratelimited, %llu boosted, %llu resets",
	       (unsigned long long)xt_percentile(lat, 20, 50) / 1000,
	       (unsigned long long)xt_percentile(lat, 20, 100) / 1000,
	       (unsigned long long)(s1.wake_preempts - s0.wake_preempts),
	       (unsigned long long)(s1.ratelimited_wakes -
				    s0.ratelimited_wakes),
	       (unsigned long long)(s1.boosted_wakes - s0.boosted_wakes),
	       (unsigned long long)(s1.credit_resets - s0.credit_resets));
	XT_ASSERT(s1.wake_preempts - s0.wake_preempts >= 15);
	XT_ASSERT(s1.wake_preempts - s0.wake_preempts <= 20);
	/* Only a spurious wake of vCPU 1 just before a send is limited. */
	XT_ASSERT(s1.ratelimited_wakes - s0.ratelimited_wakes <= 5);
	XT_ASSERT_EQ(s1.boosted_wakes - s0.boosted_wakes, 0);
	/* vCPU 0 burnt >= 100 ms: ten 10 ms epochs at least. */
	XT_ASSERT(s1.credit_resets - s0.credit_resets >= 5);
	return XT_PASS;
}

struct c2_once {
	struct xl_timer t;
	uint32_t fired;
};

static void c2_once_fn(struct xl_timer *t)
{
	struct c2_once *o =
		(struct c2_once *)((char *)t - offsetof(struct c2_once, t));

	XT_STORE(&o->fired, 1);
}

static bool c2_once_done(void *arg)
{
	return XT_LOAD(&((struct c2_once *)arg)->fired) != 0;
}

/*
 * Block on the calling vCPU until a core timer ns ahead fires; its
 * deadline, 0 if it could not be armed.  *blocks: the blocks it took
 * (more than one: the vCPU was woken by something else first).
 */
static uint64_t c2_idle_blocks(uint64_t ns, unsigned long *blocks)
{
	struct c2_once o = { .fired = 0 };

	xl_timer_setup(&o.t, c2_once_fn, &o);
	if (xl_timer_arm(&o.t, xl_clock_now() + ns))
		return 0;
	*blocks = xl_idle_until(c2_once_done, &o);
	return o.t.deadline;
}

static uint64_t c2_idle_ns(uint64_t ns)
{
	unsigned long blocks;

	return c2_idle_blocks(ns, &blocks);
}

/*
 * credit2's ratelimit: vCPU 0 wakes from its timer onto the free pCPU
 * (at or after the deadline) and at once sends to vCPU 1, which has more
 * credit.  vCPU 0 has run less than sched_ratelimit_us - tolerance, so
 * the wake tickles no one (is_preemptable) and vCPU 1 waits for vCPU 0's
 * slice, which csched2_runtime() makes at least the ratelimit: vCPU 1
 * runs no sooner than deadline + 950 us, every time.  A loaded host only
 * makes it later.
 */
static enum xt_result pcpu_c2_ratelimit(void)
{
	const struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	struct hv_domain_stats s0, s1;
	uint64_t woke = 0, dl, lat[20], min = UINT64_MAX;
	evtchn_port_t p;
	unsigned int i;

	XT_ASSERT_EQ(hv_domain_sched(hv_guest_domain()), HV_SCHED_CREDIT2);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, stamp_handler, &woke, &p), 0);
	hv_domain_get_stats(hv_guest_domain(), &s0);
	for (i = 0; i < 20; i++) {
		XT_STORE(&woke, 0);
		dl = c2_idle_ns(2 * MS); /* both blocked: the pCPU is free */
		XT_ASSERT(dl);
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
		while (!XT_LOAD(&woke) && xl_clock_now() - dl < 1000 * MS)
			xt_sleep_ns(50000);
		XT_ASSERT(XT_LOAD(&woke));
		lat[i] = XT_LOAD(&woke) - dl;
		if (lat[i] < min)
			min = lat[i];
	}
	hv_domain_get_stats(hv_guest_domain(), &s1);
	xt_log("credit2 ratelimit: vCPU 1 ran %llu us min, %llu us p50 after "
	       "vCPU 0's wake deadline; %llu ratelimited wakes, %llu tickles",
	       (unsigned long long)min / 1000,
	       (unsigned long long)xt_percentile(lat, 20, 50) / 1000,
	       (unsigned long long)(s1.ratelimited_wakes -
				    s0.ratelimited_wakes),
	       (unsigned long long)(s1.wake_preempts - s0.wake_preempts));
	XT_ASSERT_MSG(min >= C2_RATELIMIT_NS - C2_TOLERANCE_NS,
		      "vCPU 1 ran %llu ns after vCPU 0 woke: inside the "
		      "ratelimit",
		      (unsigned long long)min);
	XT_ASSERT(min < 1000 * MS);
	return XT_PASS;
}

/* vCPU 1's part of a pcpu_c2_credit round. */
#define C2_ROUNDS 17
struct c2_spend {
	int rc;
	uint32_t back; /* vCPU 0 had the pCPU again */
	unsigned long blocks;
	bool reset; /* a credit reset while it burnt */
	uint64_t idling_at, deadline, ran;
};

static void c2_spender(void *arg)
{
	const struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	struct c2_spend *sp = arg;
	struct hv_domain_stats st;
	uint64_t t, resets;

	sp->rc = xl_clock_init(&cc);
	if (sp->rc == -XEN_EEXIST) /* from an earlier round */
		sp->rc = 0;
	if (sp->rc)
		return;
	/* Burn 8 ms of credit: running time, not time waited for the pCPU. */
	hv_domain_get_stats(hv_guest_domain(), &st);
	resets = st.credit_resets;
	t = run_time(1, RUNSTATE_running);
	while (run_time(1, RUNSTATE_running) - t < 8 * MS)
		xt_sleep_ns(100000);
	hv_domain_get_stats(hv_guest_domain(), &st);
	sp->reset = st.credit_resets != resets;
	XT_STORE(&sp->idling_at, xl_clock_now());
	sp->deadline = c2_idle_blocks(4 * MS, &sp->blocks);
	XT_STORE(&sp->ran, xl_clock_now());
	/*
	 * Hold the pCPU until vCPU 0 takes it back: when vCPU 0 has more
	 * credit again, so a round ends with the two about level whatever
	 * vCPU 0's slice overshot.
	 */
	while (!XT_LOAD(&sp->back) && xl_clock_now() - sp->ran < 1000 * MS)
		xt_sleep_ns(50000);
}

/*
 * credit2's credit comparison: a wake with LESS credit than the running
 * vCPU does not preempt it (tickle_score() <= 0), even past the
 * ratelimit.  Each round vCPU 1 burns 8 ms on the pCPU while vCPU 0 is
 * blocked, then blocks 4 ms; vCPU 0 wakes 10 ms after it blocked, runs,
 * and when vCPU 1 wakes (vCPU 0 past the ratelimit) vCPU 0 has about
 * 6 ms more credit: vCPU 1 waits until vCPU 0 has burnt that lead (and
 * to the end of vCPU 0's slice, made with the run queue empty: up to its
 * credit).  vCPU 1 then holds the pCPU until vCPU 0 takes it back, which
 * levels the two for the next round.  A round counts if vCPU 1 was
 * blocked before vCPU 0 woke, woke more than the ratelimit but at most
 * 4 ms after it (so vCPU 0 burnt at most 4 ms of its lead), and only by
 * its timer (a loaded host shifts them, and hv resends a kick left
 * unanswered 10 ms), and if no credit reset came while vCPU 1 burnt
 * (vCPU 1 out of credit with vCPU 0 blocked: reset_credit clips vCPU 0
 * to 10.5 ms and the lead with it); round 0, after the test's setup,
 * does not.  In the rounds that count vCPU 1 runs no sooner than 1 ms
 * after its deadline (about 6 ms without load; a wake that preempted
 * would run within 0.2 ms), all but one at most: a rare round under a
 * loaded host (and ThreadSanitizer) has come in at 0.3 ms.
 */
static enum xt_result pcpu_c2_credit(void)
{
	const struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	uint64_t w0, lat[C2_ROUNDS] = { 0 }, max = 0;
	unsigned int r, valid = 0, fast = 0;
	char line[C2_ROUNDS * 9 + 1];
	bool ok;
	int n = 0;

	XT_ASSERT_EQ(hv_domain_sched(hv_guest_domain()), HV_SCHED_CREDIT2);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	for (r = 0; r < C2_ROUNDS; r++) {
		struct c2_spend sp = { .rc = 0 };

		xt_start_on(1, c2_spender, &sp);
		XT_ASSERT(c2_idle_ns(10 * MS)); /* vCPU 0 blocked */
		w0 = xl_clock_now();
		while (!XT_LOAD(&sp.ran) && xl_clock_now() - w0 < 1000 * MS)
			xt_sleep_ns(100000); /* vCPU 0 runs */
		XT_STORE(&sp.back, 1);
		xt_wait_on(1);
		XT_ASSERT_EQ(sp.rc, 0);
		XT_ASSERT(sp.ran && sp.deadline);
		lat[r] = sp.ran - sp.deadline;
		/* Round 0 levels what the test's setup left; then validity. */
		ok = r && !sp.reset && sp.blocks == 1 && sp.idling_at < w0 &&
		     sp.deadline > w0 + C2_RATELIMIT_NS &&
		     sp.deadline <= w0 + 4 * MS;
		n += snprintf(line + n, sizeof(line) - (size_t)n, " %llu%s",
			      (unsigned long long)(lat[r] / 1000),
			      ok ? "" : "x");
		if (!ok)
			continue;
		valid++;
		if (lat[r] < 1 * MS)
			fast++;
		if (lat[r] > max)
			max = lat[r];
	}
	xt_log("credit2: %u of %u rounds valid; the wakes with less credit "
	       "ran after their deadlines (us; x: not counted):%s",
	       valid, C2_ROUNDS - 1, line);
	XT_ASSERT(valid >= 3);
	XT_ASSERT_MSG(fast <= 1,
		      "%u of %u wakes with less credit ran within "
		      "1 ms of their deadlines",
		      fast, valid);
	XT_ASSERT(max < 1000 * MS);
	return XT_PASS;
}

/* Shares of running time (runstate) over one window. */
struct c2_share {
	uint32_t stop;
	int rc; /* vCPU 1's clock init or timer */
	uint64_t run[2];
	uint64_t wakes;
};

static void c2_share_begin(struct c2_share *sh)
{
	sh->run[0] = run_time(0, RUNSTATE_running);
	sh->run[1] = run_time(1, RUNSTATE_running);
}

/* Per mille of the two vCPUs' running time that vCPU 0 had. */
static unsigned int c2_share_end(struct c2_share *sh)
{
	uint64_t r0 = run_time(0, RUNSTATE_running) - sh->run[0];
	uint64_t r1 = run_time(1, RUNSTATE_running) - sh->run[1];

	sh->run[0] = r0;
	sh->run[1] = r1;
	return r0 + r1 ? (unsigned int)(r0 * 1000 / (r0 + r1)) : 0;
}

/* vCPU 1: run 2 ms, block 200 us, again: it wakes 450 times a second. */
static void c2_waker(void *arg)
{
	const struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	struct c2_share *sh = arg;

	sh->rc = xl_clock_init(&cc); /* the core's timers are per vCPU */
	while (!sh->rc && !XT_LOAD(&sh->stop)) {
		xt_sleep_ns(2 * MS);
		if (!c2_idle_ns(200000))
			sh->rc = -1;
		else
			XT_ADD(&sh->wakes, 1);
	}
}

/*
 * No BOOST under credit2: a vCPU that keeps blocking and waking (credit1
 * would BOOST every wake and preempt) does not starve a CPU-bound vCPU
 * on the same pCPU.  What credit2 gives instead: the CPU-bound vCPU takes
 * the pCPU whenever the waker blocks, with the run queue empty, so its
 * slice is its whole credit (csched2_runtime, up to 10 ms); the waker's
 * wake 200 us later falls inside the ratelimit and waits for that slice;
 * then it runs its 2 ms, and the reset clips what it saved to
 * CREDIT_INIT + CARRYOVER_MAX.  About 10 ms to 2 ms: 833/1000 to the
 * CPU-bound one.  Two-sided: 500 to 950 (credit1's BOOST leaves it about
 * 200; a waker that never preempted would leave it all).
 */
static enum xt_result pcpu_c2_nostarve(void)
{
	const struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	struct c2_share sh = { .stop = 0 };
	unsigned int pm;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	c2_share_begin(&sh);
	xt_start_on(1, c2_waker, &sh);
	xt_sleep_ns(600 * MS); /* vCPU 0: CPU-bound, never blocks */
	pm = c2_share_end(&sh);
	XT_STORE(&sh.stop, 1);
	xt_wait_on(1);
	xt_log("%s, 600 ms: CPU-bound vCPU ran %llu ms, waking vCPU %llu ms "
	       "(%llu wakes): %u/1000 to the CPU-bound one",
	       hv_sched_name(hv_domain_sched(hv_guest_domain())),
	       (unsigned long long)(sh.run[0] / MS),
	       (unsigned long long)(sh.run[1] / MS),
	       (unsigned long long)XT_LOAD(&sh.wakes), pm);
	XT_ASSERT_EQ(sh.rc, 0);
	XT_ASSERT(XT_LOAD(&sh.wakes) >= 10);
	XT_ASSERT_MSG(pm >= 500 && pm <= 950,
		      "CPU-bound vCPU had %u/1000 of the pCPU", pm);
	return XT_PASS;
}

static void c2_hog(void *arg)
{
	xt_sleep_ns(*(uint64_t *)arg);
}

/*
 * credit2 fairness: two CPU-bound vCPUs on one pCPU run alternately (a
 * slice lasts until the runner's credit is down to the waiter's, at least
 * the ratelimit) and each gets half of it, over a second.  hv's running
 * time includes the host's delays in acting on a preemption (a loaded
 * host deschedules a vCPU thread for tens of ms), hence 30% to 70%; one
 * vCPU that kept the pCPU would have all of it.
 */
static enum xt_result pcpu_c2_fair(void)
{
	struct c2_share sh = { .stop = 0 };
	struct hv_domain_stats s0, s1;
	uint64_t len = 1000 * MS;
	unsigned int pm;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	hv_domain_get_stats(hv_guest_domain(), &s0);
	c2_share_begin(&sh);
	xt_start_on(1, c2_hog, &len);
	c2_hog(&len);
	pm = c2_share_end(&sh);
	xt_wait_on(1);
	hv_domain_get_stats(hv_guest_domain(), &s1);
	xt_log("%s, 2 CPU-bound vCPUs: ran %llu and %llu ms (%u/1000 to vCPU "
	       "0), %llu preemptions, %llu credit resets",
	       hv_sched_name(hv_domain_sched(hv_guest_domain())),
	       (unsigned long long)(sh.run[0] / MS),
	       (unsigned long long)(sh.run[1] / MS), pm,
	       (unsigned long long)(s1.preemptions - s0.preemptions),
	       (unsigned long long)(s1.credit_resets - s0.credit_resets));
	XT_ASSERT_MSG(pm >= 300 && pm <= 700, "vCPU 0 had %u/1000 of the pCPU",
		      pm);
	XT_ASSERT(s1.credit_resets - s0.credit_resets >= 5);
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
 * xl_wait_until() on a host with a scheduler (os.h, xl_os_wait(): it
 * sleeps the caller until done(arg) is true and returns 0): the core
 * returns 0 at once, with no look of its own at done and no idle.  hv's
 * vCPUs answer -XEN_ENOSYS (they idle instead); the hook stands in for a
 * host that sleeps, looking at done as a host does after each upcall.
 * The condition turns true on its third look, so every look is counted.
 */
struct slept_arg {
	unsigned int looks;	 /* done() calls, the host's and the core's */
	unsigned int host_looks; /* the host's */
	unsigned long ret;	 /* xl_wait_until() */
	struct xl_idle_stats s0, s1;
};

static bool slept_done(void *arg)
{
	struct slept_arg *a = arg;

	return ++a->looks >= 3;
}

static long slept_os_wait(bool (*done)(void *), void *arg)
{
	struct slept_arg *a = arg;

	do
		a->host_looks++;
	while (!done(arg));
	return 0;
}

static void slept_wait(void *arg)
{
	struct slept_arg *a = arg;

	xl_idle_get_stats(1, &a->s0);
	hv_guest_set_os_wait(slept_os_wait);
	a->ret = xl_wait_until(slept_done, a);
	hv_guest_set_os_wait(NULL);
	xl_idle_get_stats(1, &a->s1);
}

static enum xt_result wait_until_slept(void)
{
	struct slept_arg a = { 0 };

	xt_run_on(1, slept_wait, &a);
	XT_ASSERT_EQ(a.ret, 0);
	XT_ASSERT_EQ(a.host_looks, 3);
	XT_ASSERT_EQ(a.looks, 3); /* none by the core after the host's 0 */
	XT_ASSERT_EQ(a.s1.blocks, a.s0.blocks);
	XT_ASSERT_EQ(a.s1.skipped, a.s0.skipped);
	XT_ASSERT_EQ(a.s1.polls, a.s0.polls);
	return XT_PASS;
}

/*
 * xl_clock_now() hands out the highest reading so far: a reading that
 * another vCPU published while this one was between its load of the
 * maximum and its compare-exchange is not undercut.  The explore hook
 * stalls vCPU 0 at that compare-exchange (the first read-modify-write of
 * the call) until vCPU 1 has made and returned its own, later, reading;
 * vCPU 0's then returns at least that, and so does every reading after.
 */
static struct {
	uint32_t armed, stalled, other_done; /* atomic */
	uint64_t other;			     /* vCPU 1's reading */
} cnr;

static void cnr_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();
	uint64_t end;

	if (pt != HV_XP_ATOMIC || !v || hv_vcpu_id(v) != 0 ||
	    !XT_LOAD(&cnr.armed))
		return;
	XT_STORE(&cnr.armed, 0);
	XT_STORE(&cnr.stalled, 1);
	end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	while (!XT_LOAD(&cnr.other_done) && xt_now_ns() < end)
		sched_yield();
}

static void cnr_other(void *arg)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	while (!XT_LOAD(&cnr.stalled) && xt_now_ns() < end)
		sched_yield();
	cnr.other = xl_clock_now();
	XT_STORE(&cnr.other_done, 1);
}

static enum xt_result clock_now_race(void)
{
	uint64_t mine, after;

	memset(&cnr, 0, sizeof(cnr));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	(void)xl_clock_now();
	xt_start_on(1, cnr_other, NULL);
	XT_STORE(&cnr.armed, 1);
	hv_explore_set_hook(cnr_hook);
	mine = xl_clock_now();
	hv_explore_set_hook(NULL);
	XT_STORE(&cnr.armed, 0);
	XT_STORE(&cnr.stalled, 1); /* vCPU 1 goes on if the hook never ran */
	xt_wait_on(1);
	after = xl_clock_now();
	XT_ASSERT_EQ(XT_LOAD(&cnr.other_done), 1);
	xt_log("vCPU 0 %llu, vCPU 1 %llu, after %llu", (unsigned long long)mine,
	       (unsigned long long)cnr.other, (unsigned long long)after);
	XT_ASSERT(mine >= cnr.other);
	XT_ASSERT(after >= cnr.other);
	return XT_PASS;
}

/*
 * The clockevent's mode word (clk.state) changes in one compare-exchange
 * per step, so two vCPUs bringing their clockevent up at once cannot
 * both set the mode, nor lose a vCPU from the count.  The explore hook
 * stalls vCPU 0's xl_clock_init() at its first read-modify-write (in
 * cfg_get) while another vCPU's init runs whole:
 *  - vCPU 0 asks singleshot with the mode free, vCPU 1 sets periodic
 *    meanwhile: vCPU 0 gets -EBUSY, the mode is periodic;
 *  - vCPU 1 holds the mode, vCPU 0 counts itself in while vCPU 2 does:
 *    three counted, so after vCPUs 1 and 2 stop, vCPU 0 still holds the
 *    mode: vCPU 3 asking another one gets -EBUSY;
 *  - vCPU 0, refused the mode, counts itself out (its 2nd RMW) while
 *    vCPU 1 counts itself in: once the holders stop, the mode is free.
 */
static struct {
	uint32_t armed, stalled, go; /* atomic */
	uint32_t at, seen;	     /* act at vCPU 0's at-th point */
	struct xl_clock_config cfg[4];
	int rc[4];
} ccr;

static void ccr_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();
	uint64_t end;

	if (pt != HV_XP_ATOMIC || !v || hv_vcpu_id(v) != 0 ||
	    !XT_LOAD(&ccr.armed) || ++ccr.seen != ccr.at)
		return;
	XT_STORE(&ccr.armed, 0);
	XT_STORE(&ccr.stalled, 1);
	end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	while (!XT_LOAD(&ccr.go) && xt_now_ns() < end)
		sched_yield();
}

static void ccr_init(void *arg)
{
	unsigned int cpu = xl_os_vcpu_id();

	ccr.rc[cpu] = xl_clock_init(&ccr.cfg[cpu]);
}

static void ccr_init_when_stalled(void *arg)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	while (!XT_LOAD(&ccr.stalled) && xt_now_ns() < end)
		sched_yield();
	ccr_init(arg);
	XT_STORE(&ccr.go, 1);
}

static void ccr_fini(void *arg)
{
	xl_clock_fini();
}

/* vCPU 0's init stalled at its at-th RMW while vCPU other's runs whole. */
static void ccr_race(unsigned int other, uint32_t at)
{
	XT_STORE(&ccr.stalled, 0);
	XT_STORE(&ccr.go, 0);
	ccr.at = at;
	ccr.seen = 0;
	xt_start_on(other, ccr_init_when_stalled, NULL);
	XT_STORE(&ccr.armed, 1);
	hv_explore_set_hook(ccr_hook);
	ccr_init(NULL);
	hv_explore_set_hook(NULL);
	XT_STORE(&ccr.armed, 0);
	XT_STORE(&ccr.stalled, 1);
	xt_wait_on(other);
}

static enum xt_result clock_cfg_race(void)
{
	const struct xl_clock_config ss = { .mode = XL_CLOCK_SINGLESHOT };
	const struct xl_clock_config per = { .mode = XL_CLOCK_PERIODIC,
					     .hz = 100 };
	unsigned int cpu;

	XT_ASSERT(xt_nr_vcpus() >= 4);
	memset(&ccr, 0, sizeof(ccr));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);

	ccr.cfg[0] = ss;
	ccr.cfg[1] = per;
	ccr_race(1, 1);
	XT_ASSERT_EQ(XT_LOAD(&ccr.go), 1);
	XT_ASSERT_EQ(ccr.rc[1], 0);
	XT_ASSERT_EQ(ccr.rc[0], -XEN_EBUSY);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_PERIODIC);
	xt_run_on(1, ccr_fini, NULL);

	for (cpu = 0; cpu < 4; cpu++)
		ccr.cfg[cpu] = ss;
	ccr.cfg[3] = per;
	xt_run_on(1, ccr_init, NULL);
	XT_ASSERT_EQ(ccr.rc[1], 0);
	ccr_race(2, 1);
	XT_ASSERT_EQ(XT_LOAD(&ccr.go), 1);
	XT_ASSERT_EQ(ccr.rc[2], 0);
	XT_ASSERT_EQ(ccr.rc[0], 0);
	xt_run_on(1, ccr_fini, NULL);
	xt_run_on(2, ccr_fini, NULL);
	xt_run_on(3, ccr_init, NULL);
	XT_ASSERT_EQ(ccr.rc[3], -XEN_EBUSY);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_SINGLESHOT);
	xl_clock_fini();
	xt_run_on(3, ccr_init, NULL);
	XT_ASSERT_EQ(ccr.rc[3], 0);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_PERIODIC);

	/* vCPU 0 asks singleshot while vCPU 3 holds periodic: counted in,
	 * then out again (cfg_put, its 2nd RMW), while vCPU 1 counts itself
	 * in.  Once 3 and 1 are down the mode is free. */
	ccr.cfg[0] = ss;
	ccr.cfg[1] = per;
	ccr.cfg[2] = ss;
	ccr_race(1, 2);
	XT_ASSERT_EQ(XT_LOAD(&ccr.go), 1);
	XT_ASSERT_EQ(ccr.rc[1], 0);
	XT_ASSERT_EQ(ccr.rc[0], -XEN_EBUSY);
	xt_run_on(3, ccr_fini, NULL);
	xt_run_on(1, ccr_fini, NULL);
	xt_run_on(2, ccr_init, NULL);
	XT_ASSERT_EQ(ccr.rc[2], 0);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_SINGLESHOT);
	return XT_PASS;
}

struct cir_arg {
	struct xl_clock_config cfg;
	int rc;
};

/*
 * xl_clock_init() failing after its VIRQ_TIMER bind (Xen refusing the
 * periodic timer: hv_guest_fail_hypercall): the error comes back, the
 * port is closed again and the vCPU counted out, so the next init on that
 * vCPU binds VIRQ_TIMER anew (Xen refuses a second binding of a bound
 * VIRQ, -EEXIST) and succeeds, in another mode too.
 */
static void cir_init(void *arg)
{
	struct cir_arg *a = arg;

	a->rc = xl_clock_init(&a->cfg);
}

static void refused_init(void *arg)
{
	struct cir_arg *a = arg;

	hv_guest_fail_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer,
				-XEN_EINVAL);
	a->rc = xl_clock_init(&a->cfg);
	hv_guest_fail_hypercall(0, 0, 0);
}

static enum xt_result clock_init_refused(void)
{
	struct cir_arg per = { .cfg = { .mode = XL_CLOCK_PERIODIC,
					.hz = 100 } };
	struct cir_arg ss = { .cfg = { .mode = XL_CLOCK_SINGLESHOT } };
	struct xl_clock_state st;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_run_on(1, refused_init, &per);
	XT_ASSERT_EQ(per.rc, -XEN_EINVAL);
	xl_clock_get_state(1, &st);
	XT_ASSERT_EQ(st.port, 0);
	xt_run_on(1, cir_init, &ss);
	XT_ASSERT_EQ(ss.rc, 0);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_SINGLESHOT);
	xl_clock_get_state(1, &st);
	XT_ASSERT(st.port != 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(st.port), XL_PORT_VIRQ);
	return XT_PASS;
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

/* --- forced interleavings of bind, close and the consumer ---------------- */

#define HOOK_WAIT_NS 500000000ULL /* how long a side is given to get ahead */

static bool flag_set(void *arg)
{
	return XT_LOAD((uint32_t *)arg) != 0;
}

/*
 * close racing a bind: vCPU 1 closes port p and is held just after Xen
 * freed it (EVTCHNOP_close returned in hv, not yet in the guest); vCPU 2
 * binds meanwhile and Xen hands it p again (get_free_port: the lowest
 * free port).  The close's local half must not wipe the new binding: the
 * bind waits for the close (one lock across hypercall and port table, as
 * Linux's irq_mapping_update_lock).
 */
struct crr {
	evtchn_port_t port;
	uint32_t stalled, release, bound;
	long close_rc, bind_rc;
	evtchn_port_t new_port;
	struct xt_rec r;
};

static long crr_hook(struct hv_vcpu *v, int cmd, void *arg, bool after, long rc,
		     void *data)
{
	struct crr *c = data;

	if (after && cmd == EVTCHNOP_close && !rc &&
	    ((struct evtchn_close *)arg)->port == c->port &&
	    !XT_LOAD(&c->stalled)) {
		XT_STORE(&c->stalled, 1);
		while (!XT_LOAD(&c->release))
			sched_yield();
	}
	return 0;
}

static void crr_close(void *arg)
{
	struct crr *c = arg;

	c->close_rc = xl_evtchn_close(c->port);
}

static void crr_bind(void *arg)
{
	struct crr *c = arg;

	c->bind_rc = xl_evtchn_bind_ipi(2, xt_rec_handler, &c->r, &c->new_port);
	XT_STORE(&c->bound, 1);
}

static enum xt_result close_rebind_race(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	static struct crr c;
	struct xt_rec r0 = { 0 };
	struct evtchn_status st;
	bool bound_early;

	c = (struct crr){ 0 };
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r0, &c.port), 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), crr_hook, &c);
	xt_start_on(1, crr_close, &c);
	XT_ASSERT(xt_wait_until(flag_set, &c.stalled, XT_EVENT_TIMEOUT_NS));
	xt_start_on(2, crr_bind, &c);
	bound_early = xt_wait_until(flag_set, &c.bound, HOOK_WAIT_NS);
	XT_STORE(&c.release, 1);
	xt_wait_on(1);
	xt_wait_on(2);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	xt_log("bind %s the stalled close",
	       bound_early ? "overtook" : "waited for");
	XT_ASSERT_EQ(c.close_rc, 0);
	XT_ASSERT_EQ(c.bind_rc, 0);
	/* The race is real: Xen gave the closed number to the bind. */
	XT_ASSERT_EQ(c.new_port, c.port);
	XT_ASSERT_EQ(xl_evtchn_port_type(c.new_port), XL_PORT_IPI);
	XT_ASSERT_EQ(xl_evtchn_port_cpu(c.new_port), 2);
	XT_ASSERT_EQ(xl_evtchn_send(c.new_port), 0);
	XT_ASSERT_EQ(xt_rec_wait(&c.r, 1), 1);
	XT_ASSERT_EQ(c.r.last_cpu, 2);
	XT_ASSERT_EQ(c.r.last_port, c.new_port);
	XT_ASSERT_EQ(xt_rec_settle(&r0), 0);
	XT_ASSERT_EQ(xl_evtchn_close(c.new_port), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, c.new_port, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	return XT_PASS;
}

static enum xt_result fifo_close_rebind_race(void)
{
	return close_rebind_race(false);
}

static enum xt_result l2_close_rebind_race(void)
{
	return close_rebind_race(true);
}

/*
 * A mask landing while the consumer holds an event it unlinked: port b
 * was moved to vCPU 1 while linked on vCPU 0's queue.  If the consumer
 * hands it to Xen with EVTCHNOP_unmask (the forward design), Xen clears
 * MASKED unconditionally (evtchn_fifo_unmask) and undoes a mask made just
 * before: the hook makes that mask (as another vCPU's xl_evtchn_mask) the
 * moment vCPU 0 issues such an unmask.  A masked port must stay masked
 * and run no handler; the pending event runs once when unmasked.
 */
struct mvf {
	evtchn_port_t b;
	uint32_t armed, fired;
};

static long mvf_hook(struct hv_vcpu *v, int cmd, void *arg, bool after, long rc,
		     void *data)
{
	struct mvf *m = data;

	if (!after && cmd == EVTCHNOP_unmask && XT_LOAD(&m->armed) &&
	    ((struct evtchn_unmask *)arg)->port == m->b) {
		xl_evtchn_mask(m->b);
		XT_STORE(&m->fired, 1);
	}
	return 0;
}

static enum xt_result fifo_mask_vs_forward(void)
{
	static struct mvf m;
	struct xt_rec rb = { 0 };
	unsigned long flags;
	evtchn_port_t a, b;
	uint64_t n;
	long rc;

	m = (struct mvf){ 0 };
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xt_loopback(NULL, &rb, &a, &b), 0);
	m.b = b;
	hv_domain_set_evtchn_hook(hv_guest_domain(), mvf_hook, &m);
	/* b LINKED on vCPU 0's queue, then moved to vCPU 1. */
	flags = xl_os_irq_save();
	rc = xl_evtchn_send(a);
	if (!rc)
		rc = xl_evtchn_bind_vcpu(b, 1);
	XT_STORE(&m.armed, 1);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	n = xt_rec_settle(&rb);
	XT_STORE(&m.armed, 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	xt_log("forward unmask %s", m.fired ? "seen" : "never issued");
	if (!m.fired) {
		/* No forward: vCPU 0 took the event it unlinked. */
		XT_ASSERT_EQ(n, 2);
		XT_ASSERT_EQ(rb.last_cpu, 0);
		xl_evtchn_mask(b);
	}
	XT_ASSERT(xl_evtchn_is_masked(b));
	n = xt_rec_settle(&rb);
	XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	XT_ASSERT_EQ(xt_rec_settle(&rb), n);
	XT_ASSERT(xl_evtchn_is_masked(b));
	XT_ASSERT_EQ(xl_evtchn_unmask(b), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rb, n + 1), n + 1);
	XT_ASSERT_EQ(rb.last_cpu, 1);
	XT_ASSERT_EQ(rb.concurrent, 0);
	XT_ASSERT_EQ(n, 2);
	return XT_PASS;
}

/*
 * EVTCHNOP_reset fails at fini (the hook answers -EAGAIN, as Xen does
 * when a port is bound meanwhile): the domain stays on FIFO with our
 * control blocks and event array registered, so Xen keeps writing them.
 * Those pages must not go back to the allocator: here the next pages
 * handed out are watched while Xen links an event.
 */
static long fail_reset_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			    long rc, void *data)
{
	return !after && cmd == EVTCHNOP_reset ? -XEN_EAGAIN : 0;
}

#define FRF_PAGES 16

static enum xt_result fifo_fini_reset_fails(void)
{
	struct evtchn_bind_ipi bi = { .vcpu = 0 };
	struct evtchn_send sd;
	struct xt_rec r = { 0 };
	void *pg[FRF_PAGES];
	unsigned int i, dirty = 0, j;
	evtchn_port_t p;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	hv_domain_set_evtchn_hook(hv_guest_domain(), fail_reset_hook, NULL);
	xl_evtchn_fini();
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
	for (i = 0; i < FRF_PAGES; i++)
		pg[i] = xl_os_alloc_page();
	/* Xen, still on FIFO: a new port, raised, is linked on vCPU 0. */
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_ipi, &bi), 0);
	sd.port = bi.port;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_send, &sd), 0);
	xt_sleep_ns(XT_SETTLE_NS);
	for (i = 0; i < FRF_PAGES; i++) {
		const uint64_t *w = pg[i];

		for (j = 0; w && j < XL_PAGE_SIZE / 8; j++)
			if (w[j]) {
				xt_log("page %u word %u: %#llx", i, j,
				       (unsigned long long)w[j]);
				dirty++;
				break;
			}
		if (pg[i])
			xl_os_free_page(pg[i]);
	}
	XT_ASSERT_EQ(dirty, 0);
	/*
	 * The reset works now: the kept pages go back to this domain's
	 * allocator, not to the next test's (the core's state is static).
	 */
	XT_ASSERT_EQ(xl_evtchn_fifo_reclaim(), 0);
	XT_ASSERT(!xl_evtchn_fifo_stuck());
	return XT_PASS;
}

/*
 * init after an instance that left the domain on FIFO (its reset
 * failed): EVTCHNOP_init_control answers -EINVAL for a vCPU that has a
 * control block (event_fifo.c, map_control_block), which is not "no
 * FIFO": taking 2-level then would read shared_info bits Xen no longer
 * sets.  init must reset the domain and come up on FIFO.
 */
static enum xt_result fifo_reinit_after_fifo(void)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), fail_reset_hook, NULL);
	xl_evtchn_fini();
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(xl_evtchn_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	for (i = 0; i < xt_nr_vcpus(); i++) {
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(i, xt_rec_handler, &r, &p), 0);
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 1), i + 1);
		XT_ASSERT_EQ(r.last_cpu, i);
	}
	return XT_PASS;
}

/*
 * init while the domain is on FIFO through no instance of ours (a kernel
 * before a kexec registered vCPU 0's control block): init_control answers
 * -EINVAL (map_control_block: the vCPU has one), which must be told from
 * "no FIFO": reset, then FIFO.
 */
static enum xt_result fifo_init_after_other_fifo(void)
{
	struct evtchn_init_control ic = { .vcpu = 0 };
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	unsigned int i, pages;
	evtchn_port_t p;
	void *cb = xl_os_alloc_page();

	XT_ASSERT(cb != NULL);
	ic.control_gfn = xl_os_virt_to_gfn(cb);
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_init_control, &ic), 0);
	pages = hv_guest_pages_in_use(d);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	/*
	 * After the reset and the second try: each vCPU its own control
	 * block, none of them the earlier one, and the pages init took are
	 * exactly those (one per vCPU) and the array's.
	 */
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages + xt_nr_vcpus() + 1);
	for (i = 0; i < xt_nr_vcpus(); i++) {
		void *ci = hv_fifo_control_block(hv_domain_vcpu(d, i));

		XT_ASSERT(ci != NULL && ci != cb);
		if (i)
			XT_ASSERT(ci != hv_fifo_control_block(
						hv_domain_vcpu(d, i - 1)));
	}
	for (i = 0; i < xt_nr_vcpus(); i++) {
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(i, xt_rec_handler, &r, &p), 0);
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 1), i + 1);
		XT_ASSERT_EQ(r.last_cpu, i);
	}
	/* The reset released cb: Xen no longer writes it. */
	xl_os_free_page(cb);
	return XT_PASS;
}

/*
 * FIFO set up part-way (Xen refuses vCPU 1's control block): the way back
 * to 2-level is EVTCHNOP_reset, which closes every port.  A port the
 * toolstack bound before we ran (here: ours to the peer's unbound port)
 * must come back at its number, connected, and carry events.
 */
static long fail_cb1_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			  long rc, void *data)
{
	if (!after && cmd == EVTCHNOP_init_control &&
	    ((struct evtchn_init_control *)arg)->vcpu == 1)
		return -XEN_ENOMEM;
	return 0;
}

static enum xt_result fifo_partial_init_keeps_ports(void)
{
	struct evtchn_bind_interdomain bi = { 0 };
	struct evtchn_status st;
	struct xt_rec r = { 0 };
	evtchn_port_t pp;
	long rc;

	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp), 0);
	bi.remote_dom = xt_peer_domid();
	bi.remote_port = pp;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_interdomain, &bi), 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), fail_cb1_hook, NULL);
	rc = xt_core_init(NULL);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_2L);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, bi.local_port, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.u.interdomain.dom, xt_peer_domid());
	XT_ASSERT_EQ(st.u.interdomain.port, pp);
	XT_ASSERT_EQ(xl_evtchn_bind_existing(bi.local_port, xt_rec_handler, &r),
		     0);
	/* The re-bind raised the port (evtchn_bind_interdomain). */
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_peer_send(0, pp), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	XT_ASSERT_EQ(r.last_port, bi.local_port);
	return XT_PASS;
}

/*
 * Ports the core must refuse by itself, without asking Xen: port 0 (never
 * a channel, Xen's port_is_valid()), the first invalid index of the ABI
 * (max_channels(): EVTCHN_FIFO_NR_CHANNELS, or 2-level's 64 x 64 = 4096)
 * and beyond, the first index past the core's port table
 * (EVTCHN_FIFO_NR_CHANNELS, whatever the ABI), and a port it closed.
 * Every call answers exactly as a port the core does not have (-EINVAL,
 * false, XL_PORT_FREE, XL_MAX_VCPUS), and none of them makes an EVTCHNOP
 * (counted by the hook): a checked-late port would still get Xen's
 * -EINVAL, but would reach Xen (and, for bind_existing, the port table)
 * first.  The same calls are made again from a handler on vCPU 0: the
 * table's look-up must stop at its last chunk there too, where the words
 * that follow the chunk array (vCPU 0's upcall state, xen-evtchn.c
 * struct xl_ev) are nonzero, so an index one past the end reads a
 * pointer that is none (found by tools/mutate, port_lookup's >= as >).
 */
struct bad_ports {
	unsigned int ops; /* EVTCHNOPs issued while counting */
};

static long count_ops_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			   long rc, void *data)
{
	struct bad_ports *b = data;

	if (!after)
		__atomic_fetch_add(&b->ops, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static enum xt_result bad_port_calls(evtchn_port_t port, struct bad_ports *b)
{
	__atomic_store_n(&b->ops, 0, __ATOMIC_SEQ_CST);
	hv_domain_set_evtchn_hook(hv_guest_domain(), count_ops_hook, b);
	XT_ASSERT_EQ(xl_evtchn_close(port), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_unbind_existing(port), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_unmask(port), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(port, 0), -XEN_EINVAL);
	XT_ASSERT(!xl_evtchn_is_pending(port));
	XT_ASSERT(!xl_evtchn_is_masked(port));
	xl_evtchn_mask(port);
	xl_evtchn_clear_pending(port);
	XT_ASSERT_EQ(xl_evtchn_port_type(port), XL_PORT_FREE);
	XT_ASSERT_EQ(xl_evtchn_port_cpu(port), XL_MAX_VCPUS);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(__atomic_load_n(&b->ops, __ATOMIC_SEQ_CST), 0);
	return XT_PASS;
}

#define NR_BAD_PORTS 5

static void bad_ports_list(evtchn_port_t *bad)
{
	unsigned int max = xl_evtchn_max_ports();

	bad[0] = 0;
	bad[1] = max;
	bad[2] = max + 1;
	bad[3] = EVTCHN_FIFO_NR_CHANNELS;
	bad[4] = 0xffffffffu;
}

/* The calls of bad_port_calls() from a handler (upcall context). */
static struct {
	struct bad_ports b;
	uint32_t done;	  /* atomic */
	uint32_t cpu;	  /* the vCPU the handler ran on */
	evtchn_port_t at; /* the first port whose calls failed, or 0 */
	enum xt_result res;
} bph;

static void bad_ports_handler(evtchn_port_t port, void *data)
{
	evtchn_port_t bad[NR_BAD_PORTS];
	unsigned int i;

	if (XT_LOAD(&bph.done))
		return;
	bph.cpu = xl_os_vcpu_id();
	bph.res = XT_PASS;
	bad_ports_list(bad);
	for (i = 0; i < NR_BAD_PORTS && bph.res == XT_PASS; i++) {
		bph.res = bad_port_calls(bad[i], &bph.b);
		bph.at = bad[i];
	}
	XT_STORE(&bph.done, 1);
}

static enum xt_result bad_ports(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	evtchn_port_t p, h, bad[NR_BAD_PORTS];
	struct bad_ports b = { 0 };
	struct xt_rec r = { 0 };
	unsigned int max, i;
	long rc;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	max = xl_evtchn_max_ports();
	XT_ASSERT_EQ(max, force_2level ? 64 * 64 : EVTCHN_FIFO_NR_CHANNELS);
	bad_ports_list(bad);
	for (i = 0; i < NR_BAD_PORTS; i++) {
		p = bad[i];
		if (bad_port_calls(p, &b) != XT_PASS) {
			xt_log("port %u", p);
			return XT_FAIL;
		}
		b.ops = 0;
		hv_domain_set_evtchn_hook(hv_guest_domain(), count_ops_hook,
					  &b);
		rc = xl_evtchn_bind_existing(p, xt_rec_handler, &r);
		hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
		XT_ASSERT_EQ(rc, -XEN_EINVAL);
		XT_ASSERT_EQ(b.ops, 0);
		XT_ASSERT_EQ(xl_evtchn_port_type(p), XL_PORT_FREE);
		/* No entry (or port 0's, never bound): no handler runs. */
		XT_ASSERT_EQ(xl_evtchn_port_count(p), 0);
	}
	/* From a handler on vCPU 0. */
	memset(&bph, 0, sizeof(bph));
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, bad_ports_handler, NULL, &h), 0);
	XT_ASSERT_EQ(xl_evtchn_send(h), 0);
	XT_ASSERT(xt_wait_until(flag_set, &bph.done, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(xl_evtchn_close(h), 0);
	XT_ASSERT_EQ(bph.cpu, 0);
	if (bph.res != XT_PASS) {
		xt_log("port %u, from a handler", bph.at);
		return XT_FAIL;
	}
	/* A port the core had and closed: its table entry is there, free. */
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	if (bad_port_calls(p, &b) != XT_PASS) {
		xt_log("closed port %u", p);
		return XT_FAIL;
	}
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	return XT_PASS;
}

static enum xt_result fifo_bad_ports(void)
{
	return bad_ports(false);
}

static enum xt_result l2_bad_ports(void)
{
	return bad_ports(true);
}

/*
 * A bind whose port-table chunk cannot be allocated: -ENOMEM, the port
 * given back to Xen (bind_undo: closed, so the next bind gets the same
 * lowest free number, Xen's get_free_port()) and nothing left half bound.
 * The core's table grows in chunks of 512 ports (xen-evtchn.c,
 * XL_PORT_CHUNK): the bind after port 511 is the first to allocate one.
 */
#define CORE_PORT_CHUNK 512u

static enum xt_result bind_enomem(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct xt_rec r = { 0 }, r2 = { 0 };
	struct evtchn_status st;
	evtchn_port_t p = 0, q = 0;
	unsigned int n = 0;
	int rc;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	while (p < CORE_PORT_CHUNK - 1 && n++ < CORE_PORT_CHUNK)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(p, CORE_PORT_CHUNK - 1);
	hv_guest_fail_zalloc(0);
	rc = xl_evtchn_bind_ipi(0, xt_rec_handler, &r2, &q);
	hv_guest_fail_zalloc(-1);
	XT_ASSERT_EQ(rc, -XEN_ENOMEM);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, CORE_PORT_CHUNK, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	XT_ASSERT_EQ(xl_evtchn_port_type(CORE_PORT_CHUNK), XL_PORT_FREE);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r2, &q), 0);
	XT_ASSERT_EQ(q, CORE_PORT_CHUNK);
	XT_ASSERT_EQ(xl_evtchn_send(q), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r2, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r2), 1);
	XT_ASSERT_EQ(r2.last_port, q);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	return XT_PASS;
}

static enum xt_result fifo_bind_enomem(void)
{
	return bind_enomem(false);
}

static enum xt_result l2_bind_enomem(void)
{
	return bind_enomem(true);
}

/*
 * Two binds whose ports share a port-table chunk that neither finds
 * (xen-evtchn.c port_entry: allocated with no lock held, published under
 * xl_ev.lock only if the slot is still empty).  vCPU 1's bind (port 512,
 * the first of chunk 1) is held, by the explore point hook, at its first
 * read-modify-write after its chunk was allocated (the one that takes
 * xl_ev.lock), until vCPU 0 has bound port 513, which allocated and
 * published a chunk of its own.  vCPU 1 then finds the slot taken: it
 * must free its chunk and use the published one.  Both ports work and
 * the guest holds exactly one block more than before the two binds (a
 * loser that kept its chunk leaks a block; one that published it over
 * the winner's loses port 513's entry).
 */
static struct pcr {
	long live0;	 /* zalloc blocks before the two binds */
	uint32_t armed;	 /* atomic: the hook may hold vCPU 1 */
	uint32_t held;	 /* atomic: vCPU 1 was held */
	uint32_t a_done; /* atomic: vCPU 0's bind returned */
	int rc_b;
	evtchn_port_t pb;
	struct xt_rec rb;
} pcr;

static void pcr_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();
	uint64_t end;

	if (pt != HV_XP_ATOMIC || !v || hv_vcpu_id(v) != 1 ||
	    !XT_LOAD(&pcr.armed) || hv_guest_zalloc_live() <= pcr.live0)
		return;
	XT_STORE(&pcr.armed, 0);
	XT_STORE(&pcr.held, 1);
	end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	while (!XT_LOAD(&pcr.a_done) && xt_now_ns() < end)
		sched_yield();
}

static void pcr_bind_b(void *arg)
{
	pcr.rc_b = xl_evtchn_bind_ipi(1, xt_rec_handler, &pcr.rb, &pcr.pb);
}

static enum xt_result port_chunk_race(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct xt_rec r = { 0 }, ra = { 0 };
	evtchn_port_t p = 0, pa = 0;
	unsigned int n = 0;
	bool held;
	int rc = -1;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	memset(&pcr, 0, sizeof(pcr));
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	while (p < CORE_PORT_CHUNK - 1 && n++ < CORE_PORT_CHUNK)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(p, CORE_PORT_CHUNK - 1);
	pcr.live0 = hv_guest_zalloc_live();
	XT_STORE(&pcr.armed, 1);
	hv_explore_set_hook(pcr_hook);
	xt_start_on(1, pcr_bind_b, NULL);
	held = xt_wait_until(flag_set, &pcr.held, XT_EVENT_TIMEOUT_NS);
	if (held)
		rc = xl_evtchn_bind_ipi(0, xt_rec_handler, &ra, &pa);
	XT_STORE(&pcr.a_done, 1);
	xt_wait_on(1);
	hv_explore_set_hook(NULL);
	XT_ASSERT(held);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(pcr.rc_b, 0);
	XT_ASSERT_EQ(pcr.pb, CORE_PORT_CHUNK);
	XT_ASSERT_EQ(pa, CORE_PORT_CHUNK + 1);
	XT_ASSERT_EQ(hv_guest_zalloc_live(), pcr.live0 + 1);
	XT_ASSERT_EQ(xl_evtchn_port_type(pcr.pb), XL_PORT_IPI);
	XT_ASSERT_EQ(xl_evtchn_port_type(pa), XL_PORT_IPI);
	XT_ASSERT_EQ(xl_evtchn_send(pcr.pb), 0);
	XT_ASSERT_EQ(xl_evtchn_send(pa), 0);
	XT_ASSERT_EQ(xt_rec_wait(&pcr.rb, 1), 1);
	XT_ASSERT_EQ(xt_rec_wait(&ra, 1), 1);
	XT_ASSERT_EQ(pcr.rb.last_port, pcr.pb);
	XT_ASSERT_EQ(pcr.rb.last_cpu, 1);
	XT_ASSERT_EQ(ra.last_port, pa);
	XT_ASSERT_EQ(ra.last_cpu, 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	return XT_PASS;
}

static enum xt_result fifo_port_chunk_race(void)
{
	return port_chunk_race(false);
}

static enum xt_result l2_port_chunk_race(void)
{
	return port_chunk_race(true);
}

/*
 * FIFO's pages come back: init, ports on two event-array pages (1024
 * words a page, EVTCHN_FIFO_EVENT_WORDS_PER_PAGE), fini whose reset
 * succeeds (Xen released them: fifo_fini(true)), twice; the guest holds
 * exactly the pages and blocks it held before.  Then reclaim has nothing
 * to do (no page held, not stuck): 0 and no EVTCHNOP_reset.  When the
 * reset fails, the pages are kept (fini_reset_fails) and xl_evtchn_fifo_
 * stuck() says so; reclaim then resets the domain, frees them and
 * clears it.
 */
static long count_reset_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			     long rc, void *data)
{
	if (!after && cmd == EVTCHNOP_reset)
		__atomic_fetch_add((unsigned int *)data, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static enum xt_result fifo_fini_pages(void)
{
	struct hv_domain *d = hv_guest_domain();
	unsigned int pages0 = hv_guest_pages_in_use(d), resets = 0, round;
	long live0 = hv_guest_zalloc_live();
	struct xt_rec r = { 0 };
	evtchn_port_t p = 0;

	/* Past HV_DEFAULT_MAX_EVTCHNS (1023, libxl's default): page 2. */
	XT_ASSERT_EQ(xt_set_max_evtchns(2047), 0);
	for (round = 0; round < 2; round++) {
		XT_ASSERT_EQ(xt_core_init(NULL), 0);
		XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
		XT_ASSERT(hv_guest_pages_in_use(d) > pages0);
		do
			XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r,
							&p),
				     0);
		while (p < 1024);
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, round + 1), round + 1);
		XT_ASSERT_EQ(r.last_port, p);
		xl_evtchn_fini();
		XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
		XT_ASSERT(!xl_evtchn_fifo_stuck());
		XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages0);
		XT_ASSERT_EQ(hv_guest_zalloc_live(), live0);
	}
	hv_domain_set_evtchn_hook(d, count_reset_hook, &resets);
	XT_ASSERT_EQ(xl_evtchn_fifo_reclaim(), 0);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(resets, 0);
	/* A reset that fails: pages kept, stuck; reclaim frees them. */
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	hv_domain_set_evtchn_hook(d, fail_reset_hook, NULL);
	xl_evtchn_fini();
	XT_ASSERT(xl_evtchn_fifo_stuck());
	XT_ASSERT(hv_guest_pages_in_use(d) > pages0);
	XT_ASSERT_EQ(xl_evtchn_fifo_reclaim(), -XEN_EAGAIN);
	XT_ASSERT(xl_evtchn_fifo_stuck());
	XT_ASSERT(hv_guest_pages_in_use(d) > pages0);
	hv_domain_set_evtchn_hook(d, count_reset_hook, &resets);
	XT_ASSERT_EQ(xl_evtchn_fifo_reclaim(), 0);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(resets, 1);
	XT_ASSERT(!xl_evtchn_fifo_stuck());
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages0);
	XT_ASSERT_EQ(xl_evtchn_fifo_reclaim(), 0);
	XT_ASSERT_EQ(resets, 1);
	return XT_PASS;
}

/*
 * A READY bit whose queue is empty (a hostile or corrupt hypervisor; Xen
 * sets READY only with a head, evtchn_fifo_set_pending): the consumer's
 * cursor and the control block's head are both 0, and port 0 is reserved
 * (ECS_RESERVED), never a queue entry.  The queue must be dropped without
 * touching port 0's word, even one that looks pending and unmasked: no
 * stray or masked event, the word as it was, the real event handled once.
 */
static enum xt_result fifo_ready_empty_queue(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xl_evtchn_stats st;
	evtchn_fifo_control_block_t *cb;
	struct xt_rec r = { 0 };
	uint32_t *w0, saved;
	evtchn_port_t p;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	cb = hv_fifo_control_block(hv_domain_vcpu(d, 0));
	w0 = hv_fifo_event_word(d, 0);
	XT_ASSERT(cb != NULL && w0 != NULL);
	saved = __atomic_load_n(w0, __ATOMIC_SEQ_CST);
	__atomic_store_n(w0, 1U << EVTCHN_FIFO_PENDING, __ATOMIC_SEQ_CST);
	XT_ASSERT_EQ(__atomic_load_n(&cb->head[3], __ATOMIC_SEQ_CST), 0);
	__atomic_fetch_or(&cb->ready, 1U << 3, __ATOMIC_SEQ_CST);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(r.last_port, p);
	XT_ASSERT_EQ(__atomic_load_n(w0, __ATOMIC_SEQ_CST),
		     1U << EVTCHN_FIFO_PENDING);
	__atomic_store_n(w0, saved, __ATOMIC_SEQ_CST);
	xl_evtchn_get_stats(0, &st);
	XT_ASSERT_EQ(st.stray, 0);
	XT_ASSERT_EQ(st.masked_seen, 0);
	XT_ASSERT_EQ(st.events, 1);
	XT_ASSERT_EQ(__atomic_load_n(&cb->ready, __ATOMIC_SEQ_CST) & (1U << 3),
		     0);
	return XT_PASS;
}

/*
 * A new event-array page is set MASKED word by word, its 1024 words and
 * not one more: the page after it in guest memory is someone else's.  The
 * test places its own page right after the one the core will take (hv's
 * allocator hands out the lowest free frame), with a marker in its first
 * word, and makes the core grow the array into the frame before it.
 */
static void ebp_noop(evtchn_port_t port, void *data)
{
}

static enum xt_result fifo_expand_page_bounds(void)
{
	struct hv_domain *d = hv_guest_domain();
	uint32_t *a, *b, *w;
	evtchn_port_t p = 0;
	unsigned int i;

	XT_ASSERT_EQ(xt_set_max_evtchns(4096), 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	while (p < 1023)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, ebp_noop, NULL, &p), 0);
	XT_ASSERT_EQ(p, 1023);
	a = xl_os_alloc_page();
	b = xl_os_alloc_page();
	XT_ASSERT(a != NULL && b != NULL);
	XT_ASSERT_EQ(hv_virt_to_gfn(d, b), hv_virt_to_gfn(d, a) + 1);
	XT_ASSERT_EQ((char *)b - (char *)a, XL_PAGE_SIZE);
	__atomic_store_n(&b[0], 0x5a5a5a5aU, __ATOMIC_SEQ_CST);
	xl_os_free_page(a);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, ebp_noop, NULL, &p), 0);
	XT_ASSERT_EQ(p, 1024);
	w = hv_fifo_event_word(d, 1024);
	XT_ASSERT(w == a); /* the core took the frame before b */
	XT_ASSERT_EQ(__atomic_load_n(&b[0], __ATOMIC_SEQ_CST), 0x5a5a5a5aU);
	/* Every word of the page but the bound port's: MASKED alone. */
	for (i = 1; i < 1024; i++)
		XT_ASSERT_EQ(__atomic_load_n(&w[i], __ATOMIC_SEQ_CST),
			     1U << EVTCHN_FIFO_MASKED);
	xl_evtchn_fini();
	xl_os_free_page(b);
	return XT_PASS;
}

/*
 * A bind whose new event-array page cannot be allocated: -ENOMEM, the
 * port given back to Xen (closed, so the next bind gets the same number),
 * the array as it was (no expand_array made, no page kept), and the same
 * bind works once memory is there.
 */
static enum xt_result fifo_expand_enomem(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	struct evtchn_status st;
	evtchn_port_t p = 0;
	unsigned int pages;
	int rc;

	XT_ASSERT_EQ(xt_set_max_evtchns(4096), 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	while (p < 1023)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, ebp_noop, NULL, &p), 0);
	pages = hv_guest_pages_in_use(d);
	hv_guest_fail_page(0);
	rc = xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p);
	hv_guest_fail_page(-1);
	XT_ASSERT_EQ(rc, -XEN_ENOMEM);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, 1024, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	XT_ASSERT_EQ(xl_evtchn_port_type(1024), XL_PORT_FREE);
	XT_ASSERT(hv_fifo_event_word(d, 1024) == NULL);
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(p, 1024);
	XT_ASSERT(hv_fifo_event_word(d, 1024) != NULL);
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages + 1);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(r.last_port, 1024);
	return XT_PASS;
}

/*
 * Xen refusing EVTCHNOP_expand_array once (its -ENOMEM, -EINVAL for a
 * page it cannot map): the bind fails with Xen's error, the page the core
 * allocated goes back (none kept, the array as it was), the port goes
 * back to Xen, and the next bind grows the array.
 */
static long refuse_expand_hook(struct hv_vcpu *v, int cmd, void *arg,
			       bool after, long rc, void *data)
{
	unsigned int *refused = data;

	if (after || cmd != EVTCHNOP_expand_array || *refused)
		return 0;
	*refused = 1;
	return -XEN_EINVAL;
}

static enum xt_result fifo_expand_refused(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	struct evtchn_status st;
	unsigned int pages, refused = 0;
	evtchn_port_t p = 0;
	int rc;

	XT_ASSERT_EQ(xt_set_max_evtchns(4096), 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	while (p < 1023)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, ebp_noop, NULL, &p), 0);
	pages = hv_guest_pages_in_use(d);
	hv_domain_set_evtchn_hook(d, refuse_expand_hook, &refused);
	rc = xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(refused, 1);
	XT_ASSERT_EQ(rc, -XEN_EINVAL);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, 1024, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	XT_ASSERT(hv_fifo_event_word(d, 1024) == NULL);
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(p, 1024);
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages + 1);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	return XT_PASS;
}

/*
 * A port two pages past the event array's end (a toolstack port, taken
 * over with bind_existing while the guest has one page): the setup adds
 * both pages, in order, and the port works.
 */
static void e2p_consumer(struct hv_domain *d, uint32_t port, void *arg)
{
}

static enum xt_result fifo_expand_two_pages(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	int port = 0;

	XT_ASSERT_EQ(xt_set_max_evtchns(4096), 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	while (port >= 0 && port < 2048)
		port = hv_evtchn_alloc_xen_unbound(d, e2p_consumer, NULL);
	XT_ASSERT_EQ(port, 2048);
	XT_ASSERT(hv_fifo_event_word(d, 1024) == NULL);
	XT_ASSERT_EQ(xl_evtchn_bind_existing(2048, xt_rec_handler, &r), 0);
	XT_ASSERT(hv_fifo_event_word(d, 1024) != NULL);
	XT_ASSERT(hv_fifo_event_word(d, 2048) != NULL);
	XT_ASSERT(hv_fifo_event_word(d, 3072) == NULL);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(d, 2048), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(r.last_port, 2048);
	return XT_PASS;
}

/*
 * Xen answering a bind with a port past the FIFO ABI (131072 =
 * EVTCHN_FIFO_NR_CHANNELS, the first number a LINK cannot name: a
 * corrupt or hostile hypervisor, the hook rewriting EVTCHNOP_bind_ipi's
 * output): the core refuses it as invalid, -EINVAL, both from thread
 * context and from a handler (where a port it would have to grow the
 * array for is -EWOULDBLOCK instead: this one is not a matter of memory),
 * and installs nothing.
 */
struct hostile_port {
	uint32_t rewrites; /* atomic */
	int rc_handler;
	uint32_t done; /* atomic */
};

static long hostile_port_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			      long rc, void *data)
{
	struct hostile_port *h = data;

	if (!after || cmd != EVTCHNOP_bind_ipi || rc)
		return 0;
	((struct evtchn_bind_ipi *)arg)->port = EVTCHN_FIFO_NR_CHANNELS;
	__atomic_fetch_add(&h->rewrites, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static struct hostile_port hostile_port;

static void hostile_port_handler(evtchn_port_t port, void *data)
{
	evtchn_port_t q = 0;

	if (XT_LOAD(&hostile_port.done))
		return;
	hostile_port.rc_handler = xl_evtchn_bind_ipi(0, ebp_noop, NULL, &q);
	XT_STORE(&hostile_port.done, 1);
}

static enum xt_result fifo_hostile_port_past_abi(void)
{
	struct hv_domain *d = hv_guest_domain();
	evtchn_port_t h, q = 0;
	int rc;

	memset(&hostile_port, 0, sizeof(hostile_port));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, hostile_port_handler, NULL, &h), 0);
	hv_domain_set_evtchn_hook(d, hostile_port_hook, &hostile_port);
	rc = xl_evtchn_bind_ipi(0, ebp_noop, NULL, &q);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(hostile_port.rewrites, 1);
	XT_ASSERT_EQ(rc, -XEN_EINVAL);
	XT_ASSERT_EQ(q, 0);
	hv_domain_set_evtchn_hook(d, hostile_port_hook, &hostile_port);
	rc = xl_evtchn_send(h);
	if (!rc)
		xt_wait_until(flag_set, &hostile_port.done,
			      XT_EVENT_TIMEOUT_NS);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&hostile_port.done), 1);
	XT_ASSERT_EQ(hostile_port.rewrites, 2);
	XT_ASSERT_EQ(hostile_port.rc_handler, -XEN_EINVAL);
	return XT_PASS;
}

/*
 * The same on 2-level: Xen answering a bind with port 4096 (64 x 64, the
 * first number past shared_info's bitmaps; the hook rewrites
 * EVTCHNOP_bind_ipi's output): the core refuses it, -ENOSPC (l2_setup),
 * and installs nothing; the next bind works.
 */
static long hostile_l2_port_hook(struct hv_vcpu *v, int cmd, void *arg,
				 bool after, long rc, void *data)
{
	if (!after || cmd != EVTCHNOP_bind_ipi || rc)
		return 0;
	((struct evtchn_bind_ipi *)arg)->port = 64 * 64;
	__atomic_fetch_add((unsigned int *)data, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static enum xt_result l2_hostile_port_past_abi(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = true };
	struct hv_domain *d = hv_guest_domain();
	unsigned int rewrites = 0;
	struct xt_rec r = { 0 };
	evtchn_port_t q = 0;
	int rc;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	hv_domain_set_evtchn_hook(d, hostile_l2_port_hook, &rewrites);
	rc = xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &q);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(rewrites, 1);
	XT_ASSERT_EQ(rc, -XEN_ENOSPC);
	XT_ASSERT_EQ(q, 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(64 * 64), XL_PORT_FREE);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &q), 0);
	XT_ASSERT_EQ(xl_evtchn_send(q), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_port, q);
	XT_ASSERT_EQ(xl_evtchn_close(q), 0);
	return XT_PASS;
}

/*
 * 2-level scans a port only on the vCPU it is bound to (l2_cpu_bits):
 * after bind_vcpu moved port b from vCPU 0 to vCPU 1, vCPU 0's scan does
 * not take it even when it scans b's word for another port.  Forced:
 * vCPU 1 holds delivery masked while b is raised (pending for vCPU 1),
 * then a, an IPI of vCPU 0 in the same word, is raised: vCPU 0 runs a
 * only, and b runs on vCPU 1 once it unmasks.
 */
static uint32_t l2m_go; /* atomic */

static void l2m_hold(void *arg)
{
	unsigned long flags = xl_os_irq_save();

	xt_wait_until(flag_set, &l2m_go, XT_EVENT_TIMEOUT_NS);
	xl_os_irq_restore(flags);
}

static enum xt_result l2_moved_port_scan(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = true };
	struct xt_rec ra = { 0 }, rb = { 0 };
	evtchn_port_t a, x, b;
	uint64_t before;

	XT_STORE(&l2m_go, 0);
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xt_loopback(NULL, &rb, &x, &b), 0); /* b raised once */
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &ra, &a), 0);
	XT_ASSERT_EQ(a / 64, b / 64);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, 1), 0);
	xt_start_on(1, l2m_hold, NULL);
	xt_sleep_ns(XT_SETTLE_NS);
	XT_ASSERT_EQ(xl_evtchn_send(x), 0); /* b: pending for vCPU 1 */
	XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	XT_ASSERT_EQ(xt_rec_wait(&ra, 1), 1);
	before = xt_rec_settle(&rb);
	XT_STORE(&l2m_go, 1);
	xt_wait_on(1);
	XT_ASSERT_EQ(before, 1);
	XT_ASSERT_EQ(xt_rec_wait(&rb, 2), 2);
	XT_ASSERT_EQ(rb.last_cpu, 1);
	XT_ASSERT_EQ(ra.last_cpu, 0);
	XT_ASSERT_EQ(xt_rec_settle(&ra), 1);
	XT_ASSERT_EQ(xl_evtchn_close(a), 0);
	XT_ASSERT_EQ(xl_evtchn_close(b), 0);
	XT_ASSERT_EQ(xl_evtchn_close(x), 0);
	return XT_PASS;
}

/*
 * xl_evtchn_clear_pending on 2-level clears one bit of a shared_info word
 * that Xen writes too: a PENDING bit Xen sets for another port of the
 * word meanwhile must survive.  Forced with the explore point hook on the
 * test's vCPU: at the clear's read-modify-write, "Xen" (the hook) sets
 * masked port q's bit in the same word; afterwards p is not pending and
 * q still is, and q's unmask delivers it once.
 */
static struct cpw {
	unsigned long *word, q_bit;
	uint32_t armed, fired; /* atomic */
} cpw;

static void cpw_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();

	if (pt != HV_XP_ATOMIC || !v || hv_vcpu_id(v) != 0 ||
	    !XT_LOAD(&cpw.armed))
		return;
	XT_STORE(&cpw.armed, 0);
	__atomic_fetch_or(cpw.word, cpw.q_bit, __ATOMIC_SEQ_CST);
	XT_STORE(&cpw.fired, 1);
}

static enum xt_result l2_clear_pending_window(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = true };
	struct xt_rec rp = { 0 }, rq = { 0 };
	evtchn_port_t p, q;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	memset(&cpw, 0, sizeof(cpw));
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rp, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rq, &q), 0);
	XT_ASSERT_EQ(p / 64, q / 64);
	xl_evtchn_mask(p);
	xl_evtchn_mask(q);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT(xl_evtchn_is_pending(p));
	XT_ASSERT(!xl_evtchn_is_pending(q));
	cpw.word =
		(unsigned long *)xl_os_shared_info()->evtchn_pending + q / 64;
	cpw.q_bit = 1UL << (q % 64);
	XT_STORE(&cpw.armed, 1);
	hv_explore_set_hook(cpw_hook);
	xl_evtchn_clear_pending(p);
	hv_explore_set_hook(NULL);
	XT_STORE(&cpw.armed, 0);
	XT_ASSERT_EQ(XT_LOAD(&cpw.fired), 1);
	XT_ASSERT(!xl_evtchn_is_pending(p));
	XT_ASSERT(xl_evtchn_is_pending(q));
	XT_ASSERT_EQ(xl_evtchn_unmask(q), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rq, 1), 1);
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xt_rec_settle(&rp), 0);
	XT_ASSERT_EQ(xt_rec_settle(&rq), 1);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	XT_ASSERT_EQ(xl_evtchn_close(q), 0);
	return XT_PASS;
}

/*
 * fifo_unmask's local exchange against a word that changes around it,
 * forced with the explore hook on the test's own vCPU (0), whose call
 * makes no other read-modify-write of the core:
 *  - Xen sets PENDING between the unmask's read and its exchange (a send
 *    to the masked port landing then): the exchange fails, and the retry
 *    sees PENDING and hands the unmask to Xen, which links the event: it
 *    is handled once, the port unmasked.
 *  - a mask made just after the unmask's exchange (another vCPU's
 *    xl_evtchn_mask, whose RMW would come next): it stands, as the later
 *    of the two; the unmask makes no second exchange that would undo it.
 */
static struct {
	uint32_t *word;
	uint32_t armed; /* atomic: the point (1st, 2nd) to act at */
	uint32_t seen;	/* atomic: vCPU 0's atomic points while armed */
	uint32_t bits;	/* what to set in the word there */
	uint32_t acted; /* atomic */
} uxr;

static void uxr_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();

	if (pt != HV_XP_ATOMIC || !v || hv_vcpu_id(v) != 0 ||
	    !XT_LOAD(&uxr.armed))
		return;
	if (XT_ADD(&uxr.seen, 1) != XT_LOAD(&uxr.armed))
		return;
	__atomic_fetch_or(uxr.word, uxr.bits, __ATOMIC_SEQ_CST);
	XT_STORE(&uxr.acted, 1);
}

static enum xt_result uxr_unmask(uint32_t at, uint32_t bits, evtchn_port_t p)
{
	int rc;

	XT_STORE(&uxr.seen, 0);
	XT_STORE(&uxr.acted, 0);
	uxr.bits = bits;
	XT_STORE(&uxr.armed, at);
	hv_explore_set_hook(uxr_hook);
	rc = xl_evtchn_unmask(p);
	hv_explore_set_hook(NULL);
	XT_STORE(&uxr.armed, 0);
	XT_ASSERT_EQ(rc, 0);
	return XT_PASS;
}

static enum xt_result fifo_unmask_exchange_races(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	evtchn_port_t p;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	uxr.word = hv_fifo_event_word(d, p);
	XT_ASSERT(uxr.word != NULL);
	/* Xen's PENDING lands between the read and the exchange. */
	xl_evtchn_mask(p);
	XT_ASSERT_EQ(__atomic_load_n(uxr.word, __ATOMIC_SEQ_CST),
		     1U << EVTCHN_FIFO_MASKED);
	XT_ASSERT_EQ(uxr_unmask(1, 1U << EVTCHN_FIFO_PENDING, p), XT_PASS);
	XT_ASSERT_EQ(XT_LOAD(&uxr.acted), 1);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT(!xl_evtchn_is_masked(p));
	XT_ASSERT(!xl_evtchn_is_pending(p));
	/* A mask right after the exchange stands. */
	xl_evtchn_mask(p);
	XT_ASSERT_EQ(uxr_unmask(2, 1U << EVTCHN_FIFO_MASKED, p), XT_PASS);
	XT_ASSERT_EQ(XT_LOAD(&uxr.seen), 1); /* one exchange, no second */
	XT_ASSERT_EQ(XT_LOAD(&uxr.acted), 0);
	XT_ASSERT(!xl_evtchn_is_masked(p));
	/* Both halves: the port still works, once per send. */
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	XT_ASSERT_EQ(xt_rec_settle(&r), 2);
	return XT_PASS;
}

/*
 * The mask and the clear of PENDING are one read-modify-write each, so a
 * bit another party sets in the same instant stays: forced with the
 * explore hook at vCPU 0's first atomic point of the call (uxr_hook):
 *  - Xen's send sets PENDING while the guest masks (Xen sets PENDING
 *    first and tests MASKED after, evtchn_fifo_set_pending: seeing the
 *    mask, it links nothing): the word is MASKED and PENDING, and the
 *    unmask hands the event to Xen, which delivers it once;
 *  - another vCPU masks the port while this one clears its PENDING: the
 *    mask stands.
 */
static enum xt_result fifo_rmw_window(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	evtchn_port_t p;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	uxr.word = hv_fifo_event_word(d, p);
	XT_ASSERT(uxr.word != NULL);
	XT_ASSERT_EQ(__atomic_load_n(uxr.word, __ATOMIC_SEQ_CST), 0);

	XT_STORE(&uxr.seen, 0);
	XT_STORE(&uxr.acted, 0);
	uxr.bits = 1U << EVTCHN_FIFO_PENDING;
	XT_STORE(&uxr.armed, 1);
	hv_explore_set_hook(uxr_hook);
	xl_evtchn_mask(p);
	hv_explore_set_hook(NULL);
	XT_STORE(&uxr.armed, 0);
	XT_ASSERT_EQ(XT_LOAD(&uxr.acted), 1);
	XT_ASSERT_EQ(__atomic_load_n(uxr.word, __ATOMIC_SEQ_CST),
		     (1U << EVTCHN_FIFO_MASKED) | (1U << EVTCHN_FIFO_PENDING));
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);

	XT_ASSERT_EQ(__atomic_load_n(uxr.word, __ATOMIC_SEQ_CST), 0);
	XT_STORE(&uxr.seen, 0);
	XT_STORE(&uxr.acted, 0);
	uxr.bits = 1U << EVTCHN_FIFO_MASKED;
	XT_STORE(&uxr.armed, 1);
	hv_explore_set_hook(uxr_hook);
	xl_evtchn_clear_pending(p);
	hv_explore_set_hook(NULL);
	XT_STORE(&uxr.armed, 0);
	XT_ASSERT_EQ(XT_LOAD(&uxr.acted), 1);
	XT_ASSERT_EQ(__atomic_load_n(uxr.word, __ATOMIC_SEQ_CST),
		     1U << EVTCHN_FIFO_MASKED);
	XT_ASSERT(xl_evtchn_is_masked(p));
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	XT_ASSERT_EQ(xt_rec_settle(&r), 2);
	return XT_PASS;
}

/*
 * What an upcall counts as handled (its trace's UPCALL_EXIT value, and
 * "spurious" when 0): each event dispatched, and nothing else.  One
 * upcall each, on vCPU 0: a real event (1); a READY queue that is empty
 * (0); a queue head beyond the array, dropped (0); an event linked and
 * then masked before the upcall ran (0, a masked event seen); an event
 * linked and its PENDING then cleared (0).  Then the masked one's unmask
 * delivers it (1).
 */
static bool uhc_last_exit(uint64_t *val)
{
	struct hv_domain *d = hv_guest_domain();
	struct hv_guest_trace_entry e[16];
	uint64_t since = hv_guest_trace_count(d, 0);
	unsigned int n;

	since = since > 16 ? since - 16 : 0;
	n = hv_guest_trace_read(d, 0, &since, e, 16);
	while (n--)
		if (e[n].what == XL_TRACE_UPCALL_EXIT) {
			*val = e[n].val;
			return true;
		}
	return false;
}

/* Raise an upcall on vCPU 0 with no event behind it. */
static void uhc_raise(void)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = 1 };

	__atomic_store_n(&xl_os_vcpu_info(0)->evtchn_upcall_pending, 1,
			 __ATOMIC_SEQ_CST);
	(void)xt_evop(EVTCHNOP_status, &st); /* delivered on its return */
}

#define UHC_CHECK(ups, spur, handled)                             \
	do {                                                      \
		uint64_t v_ = ~0ULL;                              \
		xl_evtchn_get_stats(0, &st);                      \
		XT_ASSERT_EQ(st.upcalls - st0.upcalls, (ups));    \
		XT_ASSERT_EQ(st.spurious - st0.spurious, (spur)); \
		XT_ASSERT(uhc_last_exit(&v_));                    \
		XT_ASSERT_EQ(v_, (handled));                      \
	} while (0)

static enum xt_result fifo_upcall_handled_counts(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xl_evtchn_stats st0, st;
	evtchn_fifo_control_block_t *cb;
	struct xt_rec r = { 0 };
	unsigned long flags;
	evtchn_port_t p;

	hv_guest_trace_set(true);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	cb = hv_fifo_control_block(hv_domain_vcpu(d, 0));
	XT_ASSERT(cb != NULL);
	xl_evtchn_get_stats(0, &st0);

	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	UHC_CHECK(1, 0, 1);

	__atomic_fetch_or(&cb->ready, 1U << 3, __ATOMIC_SEQ_CST);
	uhc_raise();
	UHC_CHECK(2, 1, 0);

	__atomic_store_n(&cb->head[3], 131072, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&cb->ready, 1U << 3, __ATOMIC_SEQ_CST);
	uhc_raise();
	__atomic_store_n(&cb->head[3], 0, __ATOMIC_SEQ_CST);
	UHC_CHECK(3, 2, 0);

	flags = xl_os_irq_save();
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	xl_evtchn_mask(p);
	xl_os_irq_restore(flags);
	UHC_CHECK(4, 3, 0);
	XT_ASSERT_EQ(st.masked_seen - st0.masked_seen, 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);

	flags = xl_os_irq_save();
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	UHC_CHECK(5, 3, 1);

	flags = xl_os_irq_save();
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	xl_evtchn_clear_pending(p);
	xl_os_irq_restore(flags);
	UHC_CHECK(6, 4, 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 2);
	XT_ASSERT_EQ(st.events - st0.events, 2);
	XT_ASSERT_EQ(st.masked_seen - st0.masked_seen, 1);
	XT_ASSERT_EQ(st.stray, st0.stray);
	return XT_PASS;
}

/*
 * An upcall on a vCPU the FIFO instance has no control block for (init
 * for fewer vCPUs than the domain has; a stray or spurious upcall there):
 * nothing to read, handled nothing, counted spurious.
 */
static void uncb_raise(void *arg)
{
	struct xl_evtchn_stats *st = arg;

	xl_evtchn_get_stats(1, &st[0]);
	__atomic_store_n(&xl_os_vcpu_info(1)->evtchn_upcall_pending, 1,
			 __ATOMIC_SEQ_CST);
	(void)xl_hc_xen_version(XENVER_version, NULL);
	xl_evtchn_get_stats(1, &st[1]);
}

static enum xt_result fifo_upcall_no_control_block(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = 1 };
	struct hv_domain *d = hv_guest_domain();
	struct xl_evtchn_stats st[2];
	struct hv_guest_trace_entry e[8];
	uint64_t since;
	unsigned int n;

	XT_ASSERT(xt_nr_vcpus() >= 2);
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(d, 1)) == NULL);
	xt_run_on(1, uncb_raise, st);
	XT_ASSERT_EQ(st[1].upcalls - st[0].upcalls, 1);
	XT_ASSERT_EQ(st[1].spurious - st[0].spurious, 1);
	XT_ASSERT_EQ(st[1].events, st[0].events);
	since = hv_guest_trace_count(d, 1);
	since = since > 8 ? since - 8 : 0;
	n = hv_guest_trace_read(d, 1, &since, e, 8);
	while (n && e[n - 1].what != XL_TRACE_UPCALL_EXIT)
		n--;
	XT_ASSERT(n > 0);
	XT_ASSERT_EQ(e[n - 1].val, 0);
	return XT_PASS;
}

/*
 * The consumer takes READY with one exchange, so a queue Xen makes ready
 * in the same instant is served: forced with the explore hook at the
 * upcall's first read-modify-write after it cleared evtchn_upcall_pending
 * (the READY exchange of fifo_handle_events), where the hook sets the
 * READY bit of queue 3, on which Xen linked port q (its bit withheld until
 * then).  Both events are handled, q's first (the higher priority).
 */
static struct {
	evtchn_fifo_control_block_t *cb;
	struct vcpu_info *vi;
	uint32_t armed, acted; /* atomic */
} rxw;

static void rxw_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();

	if (pt != HV_XP_ATOMIC || !v || hv_vcpu_id(v) != 0 ||
	    !XT_LOAD(&rxw.armed) ||
	    __atomic_load_n(&rxw.vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
		return;
	XT_STORE(&rxw.armed, 0);
	__atomic_fetch_or(&rxw.cb->ready, 1U << 3, __ATOMIC_SEQ_CST);
	XT_STORE(&rxw.acted, 1);
}

static enum xt_result fifo_ready_exchange_window(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	unsigned long flags;
	evtchn_port_t p, q;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &q), 0);
	XT_ASSERT_EQ(xl_evtchn_set_priority(q, 3), 0);
	rxw.cb = hv_fifo_control_block(hv_domain_vcpu(d, 0));
	rxw.vi = xl_os_vcpu_info(0);
	XT_ASSERT(rxw.cb != NULL && rxw.vi != NULL);
	XT_STORE(&rxw.acted, 0);

	flags = xl_os_irq_save();
	XT_ASSERT_EQ(xl_evtchn_send(q), 0);
	XT_ASSERT_EQ(__atomic_load_n(&rxw.cb->head[3], __ATOMIC_SEQ_CST), q);
	__atomic_fetch_and(&rxw.cb->ready, ~(1U << 3), __ATOMIC_SEQ_CST);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(__atomic_load_n(&rxw.cb->ready, __ATOMIC_SEQ_CST),
		     1U << EVTCHN_FIFO_PRIORITY_DEFAULT);
	XT_STORE(&rxw.armed, 1);
	hv_explore_set_hook(rxw_hook);
	xl_os_irq_restore(flags);
	hv_explore_set_hook(NULL);
	XT_STORE(&rxw.armed, 0);
	XT_ASSERT_EQ(XT_LOAD(&rxw.acted), 1);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	XT_ASSERT_EQ(xt_rec_settle(&r), 2);
	XT_ASSERT_EQ(r.last_port, p);
	return XT_PASS;
}

/*
 * A bind from a handler whose port would need a new event-array page:
 * refused, -EWOULDBLOCK, before anything is allocated (no page taken with
 * delivery masked, os.h; the array not grown), and nothing left bound in
 * Xen.  From thread context the same bind grows the array.
 */
static struct {
	uint32_t done; /* atomic */
	int rc;
	evtchn_port_t q;
} bnp;

static void bnp_handler(evtchn_port_t port, void *data)
{
	if (XT_LOAD(&bnp.done))
		return;
	bnp.rc = xl_evtchn_bind_ipi(0, ebp_noop, NULL, &bnp.q);
	XT_STORE(&bnp.done, 1);
}

static enum xt_result fifo_bind_in_handler_no_page(void)
{
	struct hv_domain *d = hv_guest_domain();
	uint64_t masked0 = hv_guest_masked_allocs();
	unsigned int pages;
	evtchn_port_t h, p = 0;
	uint32_t first;
	int open0;

	memset(&bnp, 0, sizeof(bnp));
	XT_ASSERT_EQ(xt_set_max_evtchns(4096), 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, bnp_handler, NULL, &h), 0);
	while (p < 1023)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, ebp_noop, NULL, &p), 0);
	pages = hv_guest_pages_in_use(d);
	open0 = hv_evtchn_open_ports(d, &first, 1);
	XT_ASSERT_EQ(xl_evtchn_send(h), 0);
	XT_ASSERT(xt_wait_until(flag_set, &bnp.done, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(bnp.rc, -XEN_EWOULDBLOCK);
	XT_ASSERT_EQ(hv_guest_masked_allocs(), masked0);
	XT_ASSERT(hv_fifo_event_word(d, 1024) == NULL);
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages);
	XT_ASSERT_EQ(hv_evtchn_open_ports(d, &first, 1), open0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, ebp_noop, NULL, &p), 0);
	XT_ASSERT_EQ(p, 1024);
	XT_ASSERT(hv_fifo_event_word(d, 1024) != NULL);
	return XT_PASS;
}

/*
 * FIFO's pages cannot all be had at init (the event array's, then each
 * vCPU's control block): every page is allocated before the first
 * EVTCHNOP_init_control, so a failure leaves Xen on 2-level, which init
 * then takes, with every page it did get given back.  Then a full init
 * is FIFO.
 */
static long count_init_control_hook(struct hv_vcpu *v, int cmd, void *arg,
				    bool after, long rc, void *data)
{
	if (!after && cmd == EVTCHNOP_init_control)
		__atomic_fetch_add((unsigned int *)data, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static enum xt_result fifo_init_enomem(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = 2 };
	struct hv_domain *d = hv_guest_domain();
	unsigned int pages0 = hv_guest_pages_in_use(d), calls = 0;
	long after;
	int rc;

	XT_ASSERT(xt_nr_vcpus() >= 2);
	for (after = 0; after <= 2; after++) {
		hv_domain_set_evtchn_hook(d, count_init_control_hook, &calls);
		hv_guest_fail_page(after);
		rc = xl_evtchn_init(&cfg);
		hv_guest_fail_page(-1);
		hv_domain_set_evtchn_hook(d, NULL, NULL);
		XT_ASSERT_EQ(rc, 0);
		XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_2L);
		XT_ASSERT_EQ(calls, 0);
		XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages0);
		XT_ASSERT(!xl_evtchn_fifo_stuck());
		xl_evtchn_fini();
		XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages0);
	}
	XT_ASSERT_EQ(xl_evtchn_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	/* The array page and one control block per vCPU. */
	XT_ASSERT_EQ(hv_guest_pages_in_use(d), pages0 + 3);
	return XT_PASS;
}

/*
 * A control block head naming a port the event array does not hold (a
 * corrupt or hostile hypervisor: Xen links only ports below its
 * num_evtchns, and a LINK is 17 bits, but head[] is a 32-bit word the
 * guest must not trust): 131072, the first port past the 128 pages a LINK
 * can name (the page index equal to the pages table's size), the largest
 * 32-bit value, and 1024, a port in range on a page not yet added.  Each
 * time the queue is dropped (its READY bit gone) without a word read or
 * written, and the real event on another queue is handled once.
 */
static enum xt_result fifo_head_beyond_array(void)
{
	static const uint32_t bogus[] = { 131072, 0xffffffffU, 1024 };
	const uint32_t MP = (1U << EVTCHN_FIFO_MASKED) |
			    (1U << EVTCHN_FIFO_PENDING);
	struct hv_domain *d = hv_guest_domain();
	struct xl_evtchn_stats st;
	evtchn_fifo_control_block_t *cb;
	struct xt_rec r = { 0 }, ra = { 0 };
	evtchn_port_t p, a;
	unsigned int i;
	uint32_t *wa;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	/*
	 * Port a, masked and pending (on no queue): a consumer that took a
	 * stale cursor for the dropped queue would find it there (a masked
	 * event seen, the word touched).
	 */
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &ra, &a), 0);
	xl_evtchn_mask(a);
	XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	wa = hv_fifo_event_word(d, a);
	XT_ASSERT(wa != NULL);
	XT_ASSERT_EQ(__atomic_load_n(wa, __ATOMIC_SEQ_CST), MP);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT(p < 1024); /* one page of the array, port 1024 not in it */
	XT_ASSERT(hv_fifo_event_word(d, 1024) == NULL);
	cb = hv_fifo_control_block(hv_domain_vcpu(d, 0));
	XT_ASSERT(cb != NULL);
	for (i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		__atomic_store_n(&cb->head[3], bogus[i], __ATOMIC_SEQ_CST);
		__atomic_fetch_or(&cb->ready, 1U << 3, __ATOMIC_SEQ_CST);
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 1), i + 1);
		XT_ASSERT_EQ(xt_rec_settle(&r), i + 1);
		XT_ASSERT_EQ(r.last_port, p);
		XT_ASSERT_EQ(__atomic_load_n(&cb->ready, __ATOMIC_SEQ_CST) &
				     (1U << 3),
			     0);
		XT_ASSERT_EQ(__atomic_load_n(&cb->head[3], __ATOMIC_SEQ_CST),
			     bogus[i]);
	}
	__atomic_store_n(&cb->head[3], 0, __ATOMIC_SEQ_CST);
	xl_evtchn_get_stats(0, &st);
	XT_ASSERT_EQ(st.stray, 0);
	XT_ASSERT_EQ(st.masked_seen, 0);
	XT_ASSERT_EQ(st.events, i);
	XT_ASSERT_EQ(__atomic_load_n(wa, __ATOMIC_SEQ_CST), MP);
	XT_ASSERT_EQ(xt_rec_settle(&ra), 0);
	return XT_PASS;
}

/*
 * The window inside the FIFO consumer between unlinking the head
 * (unlink_head: LINKED cleared, the word's PENDING seen) and taking its
 * PENDING bit (take_pending): another vCPU may clear PENDING
 * (xl_evtchn_clear_pending) or set MASKED (xl_evtchn_mask, a close) right
 * there.  take_pending re-tests both in the compare-exchange loop, so a
 * cleared event is not run and a masked one stays pending for its unmask
 * (Linux's consume_one_event tests both after the unlink too).  No
 * hypercall lies in the window: the explore point hook stalls the
 * consumer's vCPU at the compare-exchange of take_pending (the first
 * read-modify-write after the unlink, when the word is exactly PENDING)
 * and does the other vCPU's clear or mask there, once.
 */
enum tpw_act { TPW_CLEAR, TPW_MASK };

static struct tpw {
	uint32_t *word;
	unsigned int cpu;
	enum tpw_act act;
	uint32_t armed; /* atomic */
	uint32_t fired; /* atomic */
} tpw;

static void tpw_hook(enum hv_explore_point pt)
{
	uint32_t want = 1U << EVTCHN_FIFO_PENDING;

	if (pt != HV_XP_ATOMIC || xl_os_vcpu_id() != tpw.cpu ||
	    !__atomic_load_n(&tpw.armed, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(tpw.word, __ATOMIC_SEQ_CST) != want)
		return;
	if (tpw.act == TPW_CLEAR)
		__atomic_fetch_and(tpw.word, ~want, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or(tpw.word, 1U << EVTCHN_FIFO_MASKED,
				  __ATOMIC_SEQ_CST);
	__atomic_store_n(&tpw.armed, 0, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&tpw.fired, 1, __ATOMIC_SEQ_CST);
}

static bool tpw_fired(void *arg)
{
	return __atomic_load_n(&tpw.fired, __ATOMIC_SEQ_CST) != 0;
}

static enum xt_result take_pending_window(enum tpw_act act)
{
	struct hv_domain *d = hv_guest_domain();
	struct xl_evtchn_stats st0, st;
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	bool fired;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &p), 0);
	tpw = (struct tpw){ .word = hv_fifo_event_word(d, p),
			    .cpu = 1,
			    .act = act };
	XT_ASSERT(tpw.word != NULL);
	xl_evtchn_get_stats(1, &st0);
	__atomic_store_n(&tpw.armed, 1, __ATOMIC_SEQ_CST);
	hv_explore_set_hook(tpw_hook);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	fired = xt_wait_until(tpw_fired, NULL, XT_EVENT_TIMEOUT_NS);
	hv_explore_set_hook(NULL);
	XT_ASSERT(fired);
	XT_ASSERT_EQ(__atomic_load_n(&tpw.fired, __ATOMIC_SEQ_CST), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	/* That upcall handled nothing: counted spurious, no masked seen
	 * (the word was unmasked when unlinked). */
	xl_evtchn_get_stats(1, &st);
	XT_ASSERT_EQ(st.upcalls - st0.upcalls, 1);
	XT_ASSERT_EQ(st.spurious - st0.spurious, 1);
	XT_ASSERT_EQ(st.events - st0.events, 0);
	XT_ASSERT_EQ(st.masked_seen - st0.masked_seen, 0);
	if (act == TPW_CLEAR) {
		XT_ASSERT(!xl_evtchn_is_pending(p));
		XT_ASSERT(!xl_evtchn_is_masked(p));
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	} else {
		XT_ASSERT(xl_evtchn_is_pending(p));
		XT_ASSERT(xl_evtchn_is_masked(p));
		XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	}
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(r.last_port, p);
	XT_ASSERT_EQ(r.last_cpu, 1);
	return XT_PASS;
}

static enum xt_result fifo_take_pending_cleared(void)
{
	return take_pending_window(TPW_CLEAR);
}

static enum xt_result fifo_take_pending_masked(void)
{
	return take_pending_window(TPW_MASK);
}

/*
 * Two bind_existing of the same port at once (two drivers claiming the
 * console's port): vCPU 1's is held by the hook after its EVTCHNOP_status,
 * before it installs the entry; vCPU 0's runs whole meanwhile.  The first
 * to install wins; the late one must answer -EBUSY under xl_ev.lock
 * (port_install's re-check), not overwrite the winner's handler.  Then the
 * port's events go to the winner's handler only, and unbind works once.
 */
struct ber {
	evtchn_port_t port;
	uint32_t stalled, release; /* atomic */
	int rc1;
	struct xt_rec r1;
};

static long ber_hook(struct hv_vcpu *v, int cmd, void *arg, bool after, long rc,
		     void *data)
{
	struct ber *b = data;

	if (after && cmd == EVTCHNOP_status && xl_os_vcpu_id() == 1 &&
	    ((struct evtchn_status *)arg)->port == b->port &&
	    !XT_LOAD(&b->stalled)) {
		uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

		XT_STORE(&b->stalled, 1);
		while (!XT_LOAD(&b->release) && xt_now_ns() < end)
			sched_yield();
	}
	return 0;
}

static void ber_bind(void *arg)
{
	struct ber *b = arg;

	b->rc1 = xl_evtchn_bind_existing(b->port, xt_rec_handler, &b->r1);
}

static enum xt_result bind_existing_race(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct evtchn_bind_ipi bi = { .vcpu = 0 };
	static struct ber b;
	struct xt_rec r0 = { 0 };
	int rc0;

	b = (struct ber){ 0 };
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_ipi, &bi), 0);
	b.port = bi.port;
	hv_domain_set_evtchn_hook(hv_guest_domain(), ber_hook, &b);
	xt_start_on(1, ber_bind, &b);
	XT_ASSERT(xt_wait_until(flag_set, &b.stalled, XT_EVENT_TIMEOUT_NS));
	rc0 = xl_evtchn_bind_existing(b.port, xt_rec_handler, &r0);
	XT_STORE(&b.release, 1);
	xt_wait_on(1);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(rc0, 0);
	XT_ASSERT_EQ(b.rc1, -XEN_EBUSY);
	XT_ASSERT_EQ(xl_evtchn_port_type(b.port), XL_PORT_IPI);
	XT_ASSERT_EQ(xl_evtchn_send(b.port), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r0, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r0), 1);
	XT_ASSERT_EQ(r0.last_port, b.port);
	XT_ASSERT_EQ(xt_rec_settle(&b.r1), 0);
	XT_ASSERT_EQ(xl_evtchn_unbind_existing(b.port), 0);
	XT_ASSERT_EQ(xl_evtchn_unbind_existing(b.port), -XEN_EINVAL);
	return XT_PASS;
}

static enum xt_result fifo_bind_existing_race(void)
{
	return bind_existing_race(false);
}

static enum xt_result l2_bind_existing_race(void)
{
	return bind_existing_race(true);
}

/*
 * Unmask goes to Xen only when it must: a masked port with nothing
 * pending is unmasked in guest memory (2-level: Linux's unmask_evtchn
 * clears the bit and re-tests pending; FIFO: the MASKED bit cleared by
 * compare-exchange, evtchn_fifo_unmask), and one pending calls
 * EVTCHNOP_unmask once, for Xen to raise it (evtchn_2l_unmask,
 * evtchn_fifo_unmask).  Counted by the hook, exactly, both ways.
 */
struct unmask_ops {
	unsigned int unmasks, others; /* atomic */
};

static long unmask_ops_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			    long rc, void *data)
{
	struct unmask_ops *u = data;

	if (!after)
		__atomic_fetch_add(cmd == EVTCHNOP_unmask ? &u->unmasks :
							    &u->others,
				   1, __ATOMIC_SEQ_CST);
	return 0;
}

static enum xt_result unmask_hypercalls(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct unmask_ops u = { 0 };
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	int rc;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	xl_evtchn_mask(p);
	hv_domain_set_evtchn_hook(hv_guest_domain(), unmask_ops_hook, &u);
	rc = xl_evtchn_unmask(p);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(u.unmasks, 0);
	XT_ASSERT_EQ(u.others, 0);
	XT_ASSERT(!xl_evtchn_is_masked(p));
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	xl_evtchn_mask(p);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT(xl_evtchn_is_pending(p));
	hv_domain_set_evtchn_hook(hv_guest_domain(), unmask_ops_hook, &u);
	rc = xl_evtchn_unmask(p);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(u.unmasks, 1);
	XT_ASSERT_EQ(u.others, 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(r.last_port, p);
	return XT_PASS;
}

static enum xt_result fifo_unmask_hypercalls(void)
{
	return unmask_hypercalls(false);
}

static enum xt_result l2_unmask_hypercalls(void)
{
	return unmask_hypercalls(true);
}

/*
 * Two handlers that close each other's port: A runs on vCPU 1, B on
 * vCPU 2, each waits (bounded) until the other runs too, then closes the
 * other's port.  A close waits for the port's running handler to finish
 * (port_quiesce), so each waited for the other for ever.  From upcall
 * context a close of any port but the running handler's own is refused
 * now, -XEN_EDEADLK, nothing changed (Linux: free_irq() is not allowed in
 * interrupt context either).  Checked: both handlers return, both closes
 * are refused, both ports still work (one more event each, handled
 * exactly once) and close from thread context; and a handler closing its
 * own port (C) still may.  Before the fix the handlers never return: the
 * test fails after its own bounded wait and the runner's watchdog ends
 * the run (the teardown waits for them too).
 */
#define CEO_WAIT_NS (10 * 1000000000ULL)

struct ceo {
	evtchn_port_t port[3]; /* A, B, C */
	uint32_t in[3];	       /* atomic: first run started */
	uint32_t out[3];       /* atomic: first run returned */
	uint64_t runs[3];      /* atomic */
	int rc[3];
};

static struct ceo ceo;

static void ceo_handler(evtchn_port_t port, void *data)
{
	unsigned int i = (unsigned int)(uintptr_t)data, o = 1 - i;
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	if (XT_ADD(&ceo.runs[i], 1) != 1)
		return;
	XT_STORE(&ceo.in[i], 1);
	if (i == 2) {
		ceo.rc[i] = xl_evtchn_close(port);
	} else {
		while (!XT_LOAD(&ceo.in[o]) && xt_now_ns() < end)
			sched_yield();
		ceo.rc[i] = xl_evtchn_close(ceo.port[o]);
	}
	XT_STORE(&ceo.out[i], 1);
}

static bool ceo_out(void *arg)
{
	return XT_LOAD(&ceo.out[0]) && XT_LOAD(&ceo.out[1]);
}

static bool ceo_twice(void *arg)
{
	return XT_LOAD(&ceo.runs[0]) >= 2 && XT_LOAD(&ceo.runs[1]) >= 2;
}

static enum xt_result close_each_other(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	unsigned int i;
	bool out;

	memset(&ceo, 0, sizeof(ceo));
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	for (i = 0; i < 3; i++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(1 + i % 2, ceo_handler,
						(void *)(uintptr_t)i,
						&ceo.port[i]),
			     0);
	XT_ASSERT_EQ(xl_evtchn_send(ceo.port[0]), 0);
	XT_ASSERT_EQ(xl_evtchn_send(ceo.port[1]), 0);
	out = xt_wait_until(ceo_out, NULL, CEO_WAIT_NS);
	XT_ASSERT_MSG(out,
		      "the handlers of ports %u (vCPU 1) and %u (vCPU 2) did "
		      "not return within %llu s of closing each other's port "
		      "(runs %llu and %llu): each waits for the other",
		      ceo.port[0], ceo.port[1], CEO_WAIT_NS / 1000000000ULL,
		      (unsigned long long)XT_LOAD(&ceo.runs[0]),
		      (unsigned long long)XT_LOAD(&ceo.runs[1]));
	XT_ASSERT_EQ(ceo.rc[0], -XEN_EDEADLK);
	XT_ASSERT_EQ(ceo.rc[1], -XEN_EDEADLK);
	for (i = 0; i < 2; i++) {
		XT_ASSERT_EQ(xl_evtchn_port_type(ceo.port[i]), XL_PORT_IPI);
		XT_ASSERT(!xl_evtchn_is_masked(ceo.port[i]));
		XT_ASSERT_EQ(xl_evtchn_send(ceo.port[i]), 0);
	}
	XT_ASSERT(xt_wait_until(ceo_twice, NULL, XT_EVENT_TIMEOUT_NS));
	/* A handler may close its own port. */
	XT_ASSERT_EQ(xl_evtchn_send(ceo.port[2]), 0);
	XT_ASSERT(xt_wait_until(flag_set, &ceo.out[2], XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(ceo.rc[2], 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(ceo.port[2]), XL_PORT_FREE);
	xt_sleep_ns(XT_SETTLE_NS);
	XT_ASSERT_EQ(XT_LOAD(&ceo.runs[0]), 2);
	XT_ASSERT_EQ(XT_LOAD(&ceo.runs[1]), 2);
	XT_ASSERT_EQ(XT_LOAD(&ceo.runs[2]), 1);
	XT_ASSERT_EQ(xl_evtchn_close(ceo.port[0]), 0);
	XT_ASSERT_EQ(xl_evtchn_close(ceo.port[1]), 0);
	return XT_PASS;
}

static enum xt_result fifo_close_each_other(void)
{
	return close_each_other(false);
}

static enum xt_result l2_close_each_other(void)
{
	return close_each_other(true);
}

/*
 * A handler that binds while the code it interrupted grows the FIFO event
 * array.  vCPU 1 binds the port that needs the second event-array page
 * (1024); the hook holds it inside EVTCHNOP_expand_array (fifo.expand_lock
 * held, the page not yet published) until an event for vCPU 1 is
 * pending, so the upcall runs on that hypercall's return, and the
 * handler binds port 1025, on the same page.  It used to allocate a page
 * with delivery masked (os.h: the allocator may sleep) and then spin on
 * fifo.expand_lock, held by the code it interrupted on the same vCPU:
 * for ever.  A bind from upcall context that needs memory (an event-array
 * page, a port-table chunk) is refused now, -XEN_EWOULDBLOCK, and leaves
 * nothing bound in Xen; once the page is there the same bind from the
 * handler works.  Before the fix the handler never returns: the test
 * fails after its own bounded wait and the runner's watchdog ends the
 * run.
 */
#define BIH_WAIT_NS (10 * 1000000000ULL)

static struct bih {
	uint32_t hooked, sent, outer_done; /* atomic */
	uint32_t done;			   /* atomic: handler runs finished */
	int rc[2], outer_rc;
	evtchn_port_t q[2], outer;
} bih;

static void bih_noop(evtchn_port_t port, void *data)
{
}

static void bih_handler(evtchn_port_t port, void *data)
{
	unsigned int n = XT_LOAD(&bih.done);

	if (n >= 2)
		return;
	bih.rc[n] = xl_evtchn_bind_ipi(1, bih_noop, NULL, &bih.q[n]);
	XT_STORE(&bih.done, n + 1);
}

static long bih_hook(struct hv_vcpu *v, int cmd, void *arg, bool after, long rc,
		     void *data)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	if (after || cmd != EVTCHNOP_expand_array || hv_vcpu_id(v) != 1 ||
	    XT_LOAD(&bih.hooked))
		return 0;
	XT_STORE(&bih.hooked, 1);
	while (!XT_LOAD(&bih.sent) && xt_now_ns() < end)
		sched_yield();
	return 0;
}

static void bih_outer(void *arg)
{
	bih.outer_rc = xl_evtchn_bind_ipi(1, bih_noop, NULL, &bih.outer);
	XT_STORE(&bih.outer_done, 1);
}

static bool bih_one(void *arg)
{
	return XT_LOAD(&bih.done) >= 1;
}

static bool bih_two(void *arg)
{
	return XT_LOAD(&bih.done) >= 2;
}

static enum xt_result fifo_bind_in_handler_expand(void)
{
	struct hv_domain *d = hv_guest_domain();
	evtchn_port_t h, p = 0;
	uint32_t first;
	int open0;
	bool done;

	memset(&bih, 0, sizeof(bih));
	XT_ASSERT_EQ(xt_set_max_evtchns(4096), 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, bih_handler, NULL, &h), 0);
	/* Fill the first event-array page (ports 1 .. 1023). */
	while (p < 1023) {
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, bih_noop, NULL, &p), 0);
		XT_ASSERT(p <= 1023);
	}
	open0 = hv_evtchn_open_ports(d, &first, 1);
	hv_domain_set_evtchn_hook(d, bih_hook, NULL);
	xt_start_on(1, bih_outer, NULL);
	done = xt_wait_until(flag_set, &bih.hooked, XT_EVENT_TIMEOUT_NS);
	if (done)
		XT_ASSERT_EQ(xl_evtchn_send(h), 0);
	XT_STORE(&bih.sent, 1);
	XT_ASSERT(done);
	done = xt_wait_until(bih_one, NULL, BIH_WAIT_NS);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_MSG(done,
		      "the handler of port %u on vCPU 1, binding while vCPU 1 "
		      "grows the event array, did not return within %llu s",
		      h, BIH_WAIT_NS / 1000000000ULL);
	xt_wait_on(1);
	XT_ASSERT_EQ(bih.outer_rc, 0);
	XT_ASSERT_EQ(bih.outer, 1024);
	XT_ASSERT_EQ(bih.rc[0], -XEN_EWOULDBLOCK);
	/* Nothing left bound in Xen by the refused bind: only the outer. */
	XT_ASSERT_EQ(hv_evtchn_open_ports(d, &first, 1), open0 + 1);
	/* With the page there, the handler may bind. */
	XT_ASSERT_EQ(xl_evtchn_send(h), 0);
	XT_ASSERT(xt_wait_until(flag_set, &bih.done, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT(xt_wait_until(bih_two, NULL, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(bih.rc[1], 0);
	XT_ASSERT_EQ(bih.q[1], 1025);
	XT_ASSERT_EQ(xl_evtchn_port_type(bih.q[1]), XL_PORT_IPI);
	return XT_PASS;
}

/*
 * An upcall that starts before init published ops (a late one, or one
 * raised by a port the toolstack bound) and clears
 * evtchn_upcall_pending only after init: between its read of ops (NULL)
 * and its clear, init finishes, a port of vCPU 1 is bound and an event
 * sent to it.  Xen set READY (or the selector bit) and found
 * evtchn_upcall_pending already set, so it raised nothing more
 * (vcpu_mark_events_pending acts on the 0 -> 1 edge); the late upcall
 * then cleared the flag and returned, and the event waited for an
 * unrelated upcall: with a level-style callback that has no re-raise
 * (INTx), for ever.  The upcall reads ops again after its clear now, and
 * serves the event.  The point: the explore hook counts vCPU 1's
 * read-modify-writes from the upcall's delivery (HV_XP_UPCALL): the first
 * is xl_os_irq_save's exchange, the second the depth exchange, the third
 * the clear of evtchn_upcall_pending; it holds vCPU 1 there while vCPU 0
 * does the init, the bind and the send.
 */
static struct lui {
	uint32_t armed;	  /* atomic: count vCPU 1's points */
	int32_t atomics;  /* atomic: RMWs since the upcall, -1 none yet */
	uint32_t stalled; /* atomic */
	uint32_t go;	  /* atomic */
} lui;

static void lui_hook(enum hv_explore_point pt)
{
	uint64_t end;

	if (xl_os_vcpu_id() != 1 || !XT_LOAD(&lui.armed))
		return;
	if (pt == HV_XP_UPCALL) {
		XT_STORE(&lui.atomics, 0);
		return;
	}
	if (pt != HV_XP_ATOMIC || XT_LOAD(&lui.atomics) < 0 ||
	    XT_ADD(&lui.atomics, 1) != 3)
		return;
	XT_STORE(&lui.armed, 0);
	XT_STORE(&lui.stalled, 1);
	end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	while (!XT_LOAD(&lui.go) && xt_now_ns() < end)
		sched_yield();
}

static enum xt_result late_upcall_init(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct evtchn_bind_ipi bi = { .vcpu = 1 };
	struct evtchn_send sd;
	struct evtchn_close cl;
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	bool stalled;
	int rc;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	lui = (struct lui){ .armed = 1, .atomics = -1 };
	hv_explore_set_hook(lui_hook);
	/* An upcall on vCPU 1 with no core: a raw IPI, sent. */
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_ipi, &bi), 0);
	sd.port = bi.port;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_send, &sd), 0);
	stalled = xt_wait_until(flag_set, &lui.stalled, XT_EVENT_TIMEOUT_NS);
	cl.port = bi.port;
	rc = stalled ? (int)xt_evop(EVTCHNOP_close, &cl) : -1;
	if (!rc)
		rc = xt_core_init(&cfg);
	if (!rc)
		rc = xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &p);
	if (!rc)
		rc = xl_evtchn_send(p);
	XT_STORE(&lui.go, 1);
	hv_explore_set_hook(NULL);
	XT_ASSERT(stalled);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(xl_evtchn_abi(),
		     force_2level ? XL_EVTCHN_ABI_2L : XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_MSG(xt_rec_wait(&r, 1) == 1,
		      "the event sent to port %u of vCPU 1 while a late "
		      "upcall was between its read of ops and its clear of "
		      "evtchn_upcall_pending was never handled",
		      p);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(r.last_port, p);
	XT_ASSERT_EQ(r.last_cpu, 1);
	return XT_PASS;
}

static enum xt_result fifo_late_upcall_init(void)
{
	return late_upcall_init(false);
}

static enum xt_result l2_late_upcall_init(void)
{
	return late_upcall_init(true);
}

/*
 * The 2-level scan tests a port's MASKED bit and then takes its PENDING
 * bit: two words, so not one atomic step as FIFO's take_pending.  A close
 * of the port that fails lands in between: it masks and clears the
 * handler (port_stop), EVTCHNOP_close fails, it puts the handler back and
 * unmasks.  The scan, resumed while the handler was cleared, took
 * PENDING and dispatched to no handler (a stray event), and the unmask
 * found nothing pending: the event was lost.  The scan now tests MASKED
 * again after taking PENDING and gives a masked port's bit back, so the
 * unmask finds it pending and has Xen raise it (evtchn_2l_unmask).
 * Forced: the explore hook holds vCPU 1's scan at the read-modify-write
 * that takes the bit (the first with the selector word already taken and
 * the port pending and unmasked); vCPU 0's close, failed by the
 * hypercall hook, lets the scan go on from inside EVTCHNOP_close, waits
 * until it is past its take (its upcall ended, or it reached its next
 * atomic: the give-back, which waits for the lock this close holds), and
 * then fails.  Checked: the handler runs
 * exactly once, on vCPU 1, and nothing is stray.
 */
static struct cfm {
	struct vcpu_info *vi;
	evtchn_port_t port;
	uint32_t armed, stalled, go, closes, after; /* atomic */
} cfm;

static bool cfm_bit(const unsigned long *map, evtchn_port_t port)
{
	return (__atomic_load_n(&map[port / (8 * sizeof(long))],
				__ATOMIC_SEQ_CST) >>
		(port % (8 * sizeof(long)))) &
	       1;
}

static void cfm_hook(enum hv_explore_point pt)
{
	struct shared_info *si = xl_os_shared_info();
	uint64_t end;

	if (pt == HV_XP_ATOMIC && xl_os_vcpu_id() == 1 && XT_LOAD(&cfm.go))
		XT_STORE(&cfm.after, 1); /* past the take */
	if (pt != HV_XP_ATOMIC || xl_os_vcpu_id() != 1 ||
	    !XT_LOAD(&cfm.armed) ||
	    __atomic_load_n(&cfm.vi->evtchn_pending_sel, __ATOMIC_SEQ_CST) ||
	    !cfm_bit((unsigned long *)si->evtchn_pending, cfm.port) ||
	    cfm_bit((unsigned long *)si->evtchn_mask, cfm.port))
		return;
	XT_STORE(&cfm.armed, 0);
	XT_STORE(&cfm.stalled, 1);
	end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	while (!XT_LOAD(&cfm.go) && xt_now_ns() < end)
		sched_yield();
}

static long cfm_evtchn_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			    long rc, void *data)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	if (after || cmd != EVTCHNOP_close ||
	    ((struct evtchn_close *)arg)->port != cfm.port ||
	    XT_ADD(&cfm.closes, 1) != 1)
		return 0;
	XT_STORE(&cfm.go, 1);
	/*
	 * Until the scan is past its take: its upcall ended, or it is at
	 * its next atomic (the give-back, which waits for xl_ev.lock, held
	 * by this close: l2_give_back).
	 */
	while (!hv_guest_trace_upcall_ended(hv_guest_domain(), 1) &&
	       !XT_LOAD(&cfm.after) && xt_now_ns() < end)
		sched_yield();
	return -XEN_EIO;
}

static enum xt_result l2_close_fails_mid_scan(void)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = true };
	struct xl_evtchn_stats st;
	struct xt_rec r = { 0 };
	bool stalled;
	int rc = -1;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &cfm.port), 0);
	cfm.vi = xl_os_vcpu_info(1);
	cfm.armed = 1;
	cfm.stalled = cfm.go = cfm.closes = cfm.after = 0;
	hv_explore_set_hook(cfm_hook);
	XT_ASSERT_EQ(xl_evtchn_send(cfm.port), 0);
	stalled = xt_wait_until(flag_set, &cfm.stalled, XT_EVENT_TIMEOUT_NS);
	if (stalled) {
		hv_domain_set_evtchn_hook(hv_guest_domain(), cfm_evtchn_hook,
					  NULL);
		rc = xl_evtchn_close(cfm.port);
		hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	}
	XT_STORE(&cfm.go, 1);
	hv_explore_set_hook(NULL);
	XT_ASSERT(stalled);
	XT_ASSERT_EQ(rc, -XEN_EIO);
	XT_ASSERT_EQ(XT_LOAD(&cfm.closes), 1);
	XT_ASSERT_EQ(xl_evtchn_port_type(cfm.port), XL_PORT_IPI);
	XT_ASSERT(!xl_evtchn_is_masked(cfm.port));
	xt_stats_sum(&st);
	XT_ASSERT_MSG(xt_rec_wait(&r, 1) == 1,
		      "port %u's event, taken by vCPU 1's scan while a "
		      "failing close held the port masked, was never handled "
		      "(%llu stray)",
		      cfm.port, (unsigned long long)st.stray);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(r.last_cpu, 1);
	xt_stats_sum(&st);
	XT_ASSERT_EQ(st.stray, 0);
	XT_ASSERT_EQ(xl_evtchn_close(cfm.port), 0);
	return XT_PASS;
}

/*
 * The 2-level scan's give-back must not outlive the binding it took the
 * bit from.  The scan takes PENDING; a close masks the port and runs
 * EVTCHNOP_close (Xen's evtchn_free clears pending) and forgets it; the
 * scan, resuming, finds the port masked and sets the bit back.  The next
 * bind of that number (Xen hands out the lowest free port) unmasks it,
 * finds it pending and has Xen raise it: one spurious event for the new
 * owner.  Forced: the explore hook holds vCPU 1's scan at its take, as in
 * 2l/close_fails_mid_scan; vCPU 0's close, from inside EVTCHNOP_close,
 * lets the scan take the bit and holds it again at its next atomic (the
 * give-back, or what guards it), lets the close finish, and then lets the
 * scan go on.  Checked: the number is bound again by a new IPI, which
 * gets exactly 0 events, the old handler none, nothing stray, and the
 * port is not pending.  close_rebind_held binds the number again before
 * the scan goes on: the give-back then finds the entry bound (a new
 * binding), and only the binding's generation (port_forget's gen) tells
 * it is not the one the bit was taken from; the new IPI still gets no
 * event before its first send.
 */
static struct crg {
	struct vcpu_info *vi;
	evtchn_port_t port;
	uint32_t armed, stalled, go, held, go2, closes; /* atomic */
} crg;

static void crg_hook(enum hv_explore_point pt)
{
	struct shared_info *si = xl_os_shared_info();
	uint64_t end;

	if (pt != HV_XP_ATOMIC || xl_os_vcpu_id() != 1)
		return;
	if (XT_LOAD(&crg.armed) == 2) {
		/* The first atomic after the take. */
		XT_STORE(&crg.armed, 0);
		XT_STORE(&crg.held, 1);
		end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
		while (!XT_LOAD(&crg.go2) && xt_now_ns() < end)
			sched_yield();
		return;
	}
	if (XT_LOAD(&crg.armed) != 1 ||
	    __atomic_load_n(&crg.vi->evtchn_pending_sel, __ATOMIC_SEQ_CST) ||
	    !cfm_bit((unsigned long *)si->evtchn_pending, crg.port) ||
	    cfm_bit((unsigned long *)si->evtchn_mask, crg.port))
		return;
	XT_STORE(&crg.armed, 2);
	XT_STORE(&crg.stalled, 1);
	end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	while (!XT_LOAD(&crg.go) && xt_now_ns() < end)
		sched_yield();
}

static long crg_evtchn_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			    long rc, void *data)
{
	if (after || cmd != EVTCHNOP_close ||
	    ((struct evtchn_close *)arg)->port != crg.port ||
	    XT_ADD(&crg.closes, 1) != 1)
		return 0;
	XT_STORE(&crg.go, 1);
	xt_wait_until(flag_set, &crg.held, XT_EVENT_TIMEOUT_NS);
	return 0; /* the close goes on: Xen clears pending, frees the port */
}

static bool vcpu1_upcall_ended(void *arg)
{
	(void)arg;
	return hv_guest_trace_upcall_ended(hv_guest_domain(), 1);
}

static enum xt_result close_rebind(bool rebind_held)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = true };
	struct xl_evtchn_stats st;
	struct xt_rec r = { 0 }, r2 = { 0 };
	evtchn_port_t again = 0;
	bool stalled, held = false, pending;
	int rc = -1, rc2 = -1;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &crg.port), 0);
	crg.vi = xl_os_vcpu_info(1);
	crg.armed = 1;
	crg.stalled = crg.go = crg.held = crg.go2 = crg.closes = 0;
	hv_explore_set_hook(crg_hook);
	XT_ASSERT_EQ(xl_evtchn_send(crg.port), 0);
	stalled = xt_wait_until(flag_set, &crg.stalled, XT_EVENT_TIMEOUT_NS);
	if (stalled) {
		hv_domain_set_evtchn_hook(hv_guest_domain(), crg_evtchn_hook,
					  NULL);
		rc = xl_evtchn_close(crg.port);
		hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
		held = XT_LOAD(&crg.held) != 0;
		/* The number bound again while the scan is still held. */
		if (rebind_held && held)
			rc2 = xl_evtchn_bind_ipi(1, xt_rec_handler, &r2,
						 &again);
	}
	XT_STORE(&crg.go, 1);
	XT_STORE(&crg.go2, 1);
	hv_explore_set_hook(NULL);
	XT_ASSERT(stalled);
	XT_ASSERT(held);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&crg.closes), 1);
	XT_ASSERT(xt_wait_until(vcpu1_upcall_ended, NULL, XT_EVENT_TIMEOUT_NS));
	/* Xen's bit itself: the port is not bound, so not through the API. */
	pending = cfm_bit((unsigned long *)xl_os_shared_info()->evtchn_pending,
			  crg.port);
	/* The lowest free port: the number just closed. */
	if (!rebind_held)
		rc2 = xl_evtchn_bind_ipi(1, xt_rec_handler, &r2, &again);
	XT_ASSERT_EQ(rc2, 0);
	XT_ASSERT_EQ(again, crg.port);
	xt_stats_sum(&st);
	xt_log("port %u: pending after the close %d; new owner's events %llu, "
	       "old owner's %llu, stray %llu",
	       crg.port, pending, (unsigned long long)xt_rec_settle(&r2),
	       (unsigned long long)xt_rec_settle(&r),
	       (unsigned long long)st.stray);
	XT_ASSERT_MSG(xt_rec_settle(&r2) == 0,
		      "port %u, closed and bound again, got %llu event(s) "
		      "from the scan's give-back to its old binding",
		      crg.port, (unsigned long long)r2.count);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT(!pending);
	XT_ASSERT_EQ(st.stray, 0);
	/* The new binding works: one send, one event. */
	XT_ASSERT_EQ(xl_evtchn_send(again), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r2, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r2), 1);
	XT_ASSERT_EQ(xl_evtchn_close(again), 0);
	return XT_PASS;
}

static enum xt_result l2_close_rebind_no_stale(void)
{
	return close_rebind(false);
}

static enum xt_result l2_close_rebind_held(void)
{
	return close_rebind(true);
}

/*
 * Events on ports the core never bound (bound and unmasked behind its
 * back with raw EVTCHNOPs: Xen's FIFO links them, and the consumer takes
 * them): each is counted stray on the vCPU that took it, and no handler
 * runs.  One port has a free entry in a chunk of the core's port table
 * (a number the core bound and closed: its entry keeps no handler), one
 * is past every chunk the
 * core allocated (port 512 and up: no entry at all, xen-evtchn.c
 * dispatch_entry's !p).  Exactly two stray events, no handled one.
 */
struct stray_wait {
	uint64_t want;
};

static bool stray_reached(void *arg)
{
	struct xl_evtchn_stats st;

	xl_evtchn_get_stats(0, &st);
	return st.stray >= ((struct stray_wait *)arg)->want;
}

static long raw_loopback(evtchn_port_t *a, evtchn_port_t *b)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	long rc = xt_evop(EVTCHNOP_alloc_unbound, &au);

	if (rc)
		return rc;
	bi.remote_port = au.port;
	rc = xt_evop(EVTCHNOP_bind_interdomain, &bi);
	*a = au.port;
	*b = bi.local_port;
	return rc;
}

static enum xt_result fifo_stray_events(void)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct xl_evtchn_stats st0, st;
	struct stray_wait w;
	struct xt_rec r = { 0 };
	evtchn_port_t lp, c1, c2, a1, b1, a2, b2, fill = 0, first_fill;
	struct evtchn_unmask um;
	struct evtchn_close cl;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &lp), 0);
	XT_ASSERT(lp < CORE_PORT_CHUNK);
	/* Two ports the core binds and closes: their numbers come back
	 * (the lowest free) as the raw pair's. */
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &c1), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &c2), 0);
	XT_ASSERT_EQ(xl_evtchn_close(c1), 0);
	XT_ASSERT_EQ(xl_evtchn_close(c2), 0);
	/* b1: chunk 0, bound in Xen only (raised at bind, masked). */
	XT_ASSERT_EQ(raw_loopback(&a1, &b1), 0);
	XT_ASSERT_EQ(a1, c1);
	XT_ASSERT_EQ(b1, c2);
	/* Unbound placeholders up to 511, then b2 past the core's table. */
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
	first_fill = au.port;
	while (au.port < CORE_PORT_CHUNK - 1) {
		fill = au.port;
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
	}
	fill = au.port;
	XT_ASSERT_EQ(raw_loopback(&a2, &b2), 0);
	XT_ASSERT_EQ(a2, CORE_PORT_CHUNK);
	XT_ASSERT_EQ(b2, CORE_PORT_CHUNK + 1);
	XT_ASSERT_EQ(xl_evtchn_port_type(b2), XL_PORT_FREE);
	xl_evtchn_get_stats(0, &st0);
	/* Xen clears MASKED and links the pending events (vCPU 0). */
	um.port = b1;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_unmask, &um), 0);
	um.port = b2;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_unmask, &um), 0);
	w.want = st0.stray + 2;
	XT_ASSERT(xt_wait_until(stray_reached, &w, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	xl_evtchn_get_stats(0, &st);
	XT_ASSERT_EQ(st.stray - st0.stray, 2);
	XT_ASSERT_EQ(st.events - st0.events, 0);
	XT_ASSERT_EQ(xl_evtchn_port_count(b1), 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(b1), XL_PORT_FREE);
	XT_ASSERT_EQ(xl_evtchn_port_type(b2), XL_PORT_FREE);
	XT_ASSERT_EQ(xl_evtchn_port_count(b2), 0);
	for (cl.port = first_fill; cl.port <= fill; cl.port++)
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	cl.port = a1;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	cl.port = b1;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	cl.port = a2;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	cl.port = b2;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	XT_ASSERT_EQ(xl_evtchn_close(lp), 0);
	return XT_PASS;
}

/*
 * bind_existing of a port notifying a vCPU the core does not serve, whose
 * move to vCPU 0 (EVTCHNOP_bind_vcpu) fails: the error comes back and
 * nothing is installed (the port would be recorded on vCPU 0 while Xen
 * notifies vCPU 2); a second try, the move allowed, takes it.
 */
static long fail_bind_vcpu_hook(struct hv_vcpu *v, int cmd, void *arg,
				bool after, long rc, void *data)
{
	if (after || cmd != EVTCHNOP_bind_vcpu)
		return 0;
	__atomic_fetch_add((unsigned int *)data, 1, __ATOMIC_SEQ_CST);
	return -XEN_EIO;
}

static enum xt_result bind_existing_move_fails(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = 2,
					.force_2level = force_2level };
	struct evtchn_bind_vcpu bv = { .vcpu = 2 };
	struct evtchn_close cl = { 0 };
	struct evtchn_status st;
	struct xt_rec r = { 0 };
	unsigned int fails = 0;
	evtchn_port_t a, b;
	int rc;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(raw_loopback(&a, &b), 0);
	bv.port = b;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_vcpu, &bv), 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), fail_bind_vcpu_hook,
				  &fails);
	rc = xl_evtchn_bind_existing(b, xt_rec_handler, &r);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(fails, 1);
	XT_ASSERT_EQ(rc, -XEN_EIO);
	XT_ASSERT_EQ(xl_evtchn_port_type(b), XL_PORT_FREE);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, b, &st), 0);
	XT_ASSERT_EQ(st.vcpu, 2);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_existing(b, xt_rec_handler, &r), 0);
	XT_ASSERT_EQ(xl_evtchn_port_cpu(b), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1); /* raised at bind */
	XT_ASSERT_EQ(r.last_cpu, 0);
	XT_ASSERT_EQ(xl_evtchn_close(b), 0);
	cl.port = a;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	return XT_PASS;
}

static enum xt_result fifo_bind_existing_move_fails(void)
{
	return bind_existing_move_fails(false);
}

static enum xt_result l2_bind_existing_move_fails(void)
{
	return bind_existing_move_fails(true);
}

/*
 * init for more vCPUs than the guest has, or than the core's tables
 * (XL_MAX_VCPUS): -EINVAL, and nothing set up (no ABI, ports refused with
 * -ENODEV); then init for the guest's vCPUs works.
 */
static enum xt_result init_bad_vcpus(bool force_2level)
{
	struct xl_evtchn_config cfg = { .force_2level = force_2level };
	const unsigned int bad[] = { xt_nr_vcpus() + 1, XL_MAX_VCPUS + 1 };
	struct xt_rec r = { 0 };
	unsigned int i;
	evtchn_port_t p;

	for (i = 0; i < 2; i++) {
		cfg.nr_vcpus = bad[i];
		XT_ASSERT_EQ(xt_core_init(&cfg), -XEN_EINVAL);
		XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p),
			     -XEN_ENODEV);
	}
	cfg.nr_vcpus = xt_nr_vcpus();
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(),
		     force_2level ? XL_EVTCHN_ABI_2L : XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(xt_nr_vcpus() - 1, xt_rec_handler, &r,
					&p),
		     0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_cpu, xt_nr_vcpus() - 1);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

static enum xt_result fifo_init_bad_vcpus(void)
{
	return init_bad_vcpus(false);
}

static enum xt_result l2_init_bad_vcpus(void)
{
	return init_bad_vcpus(true);
}

/*
 * init when the domain cannot be brought back to 2-level (EVTCHNOP_reset
 * refused, -EAGAIN, by the hook):
 *  - FIFO set up part-way (Xen refuses vCPU 1's control block, -EIO)
 *    and the reset that undoes it fails: the domain is still on FIFO
 *    (xl_evtchn_fifo_stuck), so init fails with -EIO rather than fall
 *    back to 2-level behind Xen's back;
 *  - init again while stuck: the reclaim's reset fails, and init returns
 *    its -EAGAIN;
 * each leaving no ABI.  With the reset allowed, init takes FIFO again.
 */
struct init_stuck {
	bool fail_init_control; /* vCPU 1's EVTCHNOP_init_control: -EIO */
	unsigned int resets, init_controls; /* atomic: refused */
};

static long init_stuck_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			    long rc, void *data)
{
	struct init_stuck *is = data;

	if (after)
		return 0;
	if (cmd == EVTCHNOP_reset) {
		__atomic_fetch_add(&is->resets, 1, __ATOMIC_SEQ_CST);
		return -XEN_EAGAIN;
	}
	if (cmd == EVTCHNOP_init_control && is->fail_init_control &&
	    ((struct evtchn_init_control *)arg)->vcpu == 1) {
		__atomic_fetch_add(&is->init_controls, 1, __ATOMIC_SEQ_CST);
		return -XEN_EIO;
	}
	return 0;
}

static enum xt_result fifo_init_stuck(void)
{
	struct init_stuck is = { .fail_init_control = true };
	struct hv_domain *d = hv_guest_domain();
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	int rc;

	hv_domain_set_evtchn_hook(d, init_stuck_hook, &is);
	rc = xt_core_init(NULL);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(is.init_controls, 1);
	XT_ASSERT_EQ(is.resets, 1);
	XT_ASSERT_EQ(rc, -XEN_EIO);
	XT_ASSERT(xl_evtchn_fifo_stuck());
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
	is.fail_init_control = false;
	is.resets = 0;
	hv_domain_set_evtchn_hook(d, init_stuck_hook, &is);
	rc = xt_core_init(NULL);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(is.resets, 1);
	XT_ASSERT_EQ(rc, -XEN_EAGAIN);
	XT_ASSERT(xl_evtchn_fifo_stuck());
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT(!xl_evtchn_fifo_stuck());
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_cpu, 1);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

/*
 * fini closes every port the core bound, port 1 and the highest alike:
 * an unbound port (1, the first bind), an interdomain loopback pair and
 * an IPI.  Those it left open would look like the toolstack's to the
 * reset (note_open_ports) and be bound again; after fini no port is open.
 */
static enum xt_result fini_closes_own(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct xt_rec r = { 0 }, rb = { 0 };
	evtchn_port_t u, a, b, i;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(
		xl_evtchn_alloc_unbound(DOMID_SELF, xt_rec_handler, &r, &u), 0);
	XT_ASSERT_EQ(u, 1);
	XT_ASSERT_EQ(xt_loopback(&r, &rb, &a, &b), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &i), 0);
	XT_ASSERT_EQ(hv_evtchn_open_ports(hv_guest_domain(), NULL, 0), 4);
	xl_evtchn_fini();
	XT_ASSERT_EQ(hv_evtchn_open_ports(hv_guest_domain(), NULL, 0), 0);
	return XT_PASS;
}

/*
 * fini's walk skips a chunk the core never allocated, and only that: the
 * core's only port is at 1024, the first of chunk 2, with chunks 0 and 1
 * never allocated (ports 1 .. 1023 were bound raw, and closed again, to
 * push the core's bind there).  fini closes it: no port open after.
 */
static enum xt_result fini_after_gap(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct evtchn_close cl;
	struct xt_rec r = { 0 };
	evtchn_port_t u;

	XT_ASSERT_EQ(xt_set_max_evtchns(2047), 0);
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	for (cl.port = 1; cl.port < 2 * CORE_PORT_CHUNK; cl.port++) {
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
		XT_ASSERT_EQ(au.port, cl.port);
	}
	XT_ASSERT_EQ(
		xl_evtchn_alloc_unbound(DOMID_SELF, xt_rec_handler, &r, &u), 0);
	XT_ASSERT_EQ(u, 2 * CORE_PORT_CHUNK);
	for (cl.port = 1; cl.port < 2 * CORE_PORT_CHUNK; cl.port++)
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	XT_ASSERT_EQ(hv_evtchn_open_ports(hv_guest_domain(), NULL, 0), 1);
	xl_evtchn_fini();
	XT_ASSERT_EQ(hv_evtchn_open_ports(hv_guest_domain(), NULL, 0), 0);
	return XT_PASS;
}

static enum xt_result fifo_fini_after_gap(void)
{
	return fini_after_gap(false);
}

static enum xt_result l2_fini_after_gap(void)
{
	return fini_after_gap(true);
}

static enum xt_result fifo_fini_closes_own(void)
{
	return fini_closes_own(false);
}

static enum xt_result l2_fini_closes_own(void)
{
	return fini_closes_own(true);
}

/*
 * fini's EVTCHNOP_reset closes every port of the domain; the toolstack's
 * (bound before the core ran: an interdomain port to the peer at 1, and
 * an unbound one offered to it at 66, above 64 free numbers, which the
 * rebind fills with as many placeholders, its most: xen-evtchn.c
 * FILL_MAX) are bound again at their numbers (xl_evtchn_reset_domain),
 * and nothing else is left open: exactly those two ports, in the same
 * states, after fini.
 */
#define FKP_UNBOUND 65 /* the last placeholder: 2 .. 65 are 64 numbers */

static enum xt_result fini_keeps_ports(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct evtchn_bind_interdomain bi = { .remote_dom = xt_peer_domid() };
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = xt_peer_domid() };
	struct evtchn_close cl = { 0 }, ph;
	struct evtchn_status st;
	struct xt_rec r = { 0 };
	evtchn_port_t pp, p;
	uint32_t open[4];

	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp), 0);
	bi.remote_port = pp;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_interdomain, &bi), 0);
	XT_ASSERT_EQ(bi.local_port, 1);
	/* The unbound one at 66: 64 numbers free below it, as many
	 * placeholders as the reset's rebind may take (FILL_MAX). */
	for (ph.port = 2; ph.port <= FKP_UNBOUND; ph.port++) {
		struct evtchn_alloc_unbound fill = { .dom = DOMID_SELF,
						     .remote_dom = DOMID_SELF };

		XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &fill), 0);
		XT_ASSERT_EQ(fill.port, ph.port);
	}
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
	XT_ASSERT_EQ(au.port, FKP_UNBOUND + 1);
	for (ph.port = 2; ph.port <= FKP_UNBOUND; ph.port++)
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &ph), 0);
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	xl_evtchn_fini();
	XT_ASSERT_EQ(hv_evtchn_open_ports(hv_guest_domain(), open, 4), 2);
	XT_ASSERT_EQ(open[0], bi.local_port);
	XT_ASSERT_EQ(open[1], au.port);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, bi.local_port, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.u.interdomain.dom, xt_peer_domid());
	XT_ASSERT_EQ(st.u.interdomain.port, pp);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, au.port, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, xt_peer_domid());
	cl.port = bi.local_port;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	cl.port = au.port;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	XT_ASSERT_EQ(xt_peer_close(0, pp), 0);
	return XT_PASS;
}

static enum xt_result fifo_fini_keeps_ports(void)
{
	return fini_keeps_ports(false);
}

static enum xt_result l2_fini_keeps_ports(void)
{
	return fini_keeps_ports(true);
}

/*
 * A handler that enables event delivery (xl_os_irq_restore(0)) while an
 * event for its vCPU is pending: hv runs the upcall nested in the handler
 * (the hypercall that xl_os_irq_restore makes to force delivery, as
 * Linux's xen_force_evtchn_callback).  With a per-vCPU vector (an edge,
 * XT_F_VCPU_VECTOR), once: the domain's level-style callback would be
 * taken again for as long as the handler leaves delivery enabled with
 * evtchn_upcall_pending set (hv/vcpu.c hv_deliver re-checks the level
 * after each upcall).  The nested instance only counts
 * itself and asks the running one for another pass (xen-evtchn.c
 * xl_evtchn_upcall, depth): port q's handler runs once, after h's
 * returned, never inside it; exactly one nested upcall on vCPU 0.
 */
static struct nu {
	evtchn_port_t q;
	long send_rc;
	uint32_t h_in;			   /* atomic: h's handler is running */
	uint32_t h_runs, q_runs, q_inside; /* atomic */
} nu;

static void nu_h(evtchn_port_t port, void *data)
{
	XT_STORE(&nu.h_in, 1);
	if (XT_ADD(&nu.h_runs, 1) == 1) {
		nu.send_rc = xl_evtchn_send(nu.q);
		xl_os_irq_restore(0);
		(void)xl_os_irq_save();
	}
	XT_STORE(&nu.h_in, 0);
}

static void nu_q(evtchn_port_t port, void *data)
{
	if (XT_LOAD(&nu.h_in))
		XT_ADD(&nu.q_inside, 1);
	XT_ADD(&nu.q_runs, 1);
}

static bool nu_q_ran(void *arg)
{
	return XT_LOAD(&nu.q_runs) != 0;
}

static enum xt_result nested_upcall(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct xl_evtchn_stats st0, st;
	evtchn_port_t h;

	memset(&nu, 0, sizeof(nu));
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, nu_q, NULL, &nu.q), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, nu_h, NULL, &h), 0);
	xl_evtchn_get_stats(0, &st0);
	XT_ASSERT_EQ(xl_evtchn_send(h), 0);
	XT_ASSERT(xt_wait_until(nu_q_ran, NULL, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(XT_SETTLE_NS);
	xl_evtchn_get_stats(0, &st);
	XT_ASSERT_EQ(nu.send_rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&nu.h_runs), 1);
	XT_ASSERT_EQ(XT_LOAD(&nu.q_runs), 1);
	XT_ASSERT_EQ(XT_LOAD(&nu.q_inside), 0);
	XT_ASSERT_EQ(st.nested - st0.nested, 1);
	XT_ASSERT_EQ(st.events - st0.events, 2);
	XT_ASSERT_EQ(xl_evtchn_close(h), 0);
	XT_ASSERT_EQ(xl_evtchn_close(nu.q), 0);
	return XT_PASS;
}

static enum xt_result fifo_nested_upcall(void)
{
	return nested_upcall(false);
}

static enum xt_result l2_nested_upcall(void)
{
	return nested_upcall(true);
}

/*
 * The claim of a port's handler (xen-evtchn.c port_claim, port_release)
 * raced by a second vCPU, forced with the explore point hook on 2-level,
 * where the claim's compare-exchange is the first read-modify-write of
 * the core after the scan took the port's PENDING bit (l2_handle_port).
 * A loopback port b is raised on vCPU 1, whose claim is held at its
 * first compare-exchange; meanwhile b is moved to vCPU 2 and raised
 * again, and vCPU 2 claims it and enters the handler.  Then:
 *   claim_busy      vCPU 1 goes on while vCPU 2's handler runs: its
 *                   exchange finds the claim taken and asks vCPU 2 for
 *                   another run (XL_RUN_AGAIN), so the handler runs twice
 *                   on vCPU 2, never on vCPU 1, never concurrently.  A
 *                   claim that read the idle word before vCPU 2 took it
 *                   and wrote ACTIVE over it without an atomic compare
 *                   ran the handler on both at once.
 *   claim_released  vCPU 1's first exchange finds the claim taken, and
 *                   vCPU 1 is held again before its second one (asking
 *                   for a re-run) until vCPU 2's handler returned and
 *                   released the claim: the second exchange fails on the
 *                   idle word, and the third takes the claim afresh.  One
 *                   run each on vCPU 2 and vCPU 1, two events, two runs
 *                   (a retry that took the idle word as a busy one set
 *                   XL_RUN_AGAIN alone and ran the handler twice).
 *   claim_at_release  vCPU 2's handler returns and vCPU 2 is held at its
 *                   release's exchange until vCPU 1's claim has asked for
 *                   a re-run: the release finds XL_RUN_AGAIN and runs
 *                   the handler again on vCPU 2 (a release that read
 *                   ACTIVE before the claim and wrote idle over AGAIN
 *                   without an atomic compare lost the second event).
 * The hook reads b's PENDING bit in shared_info (hv guest memory) to find
 * vCPU 1's claim; the runs are counted per vCPU by the handler.
 */
enum cw_mode { CW_BUSY, CW_RELEASED, CW_AT_RELEASE };

static struct cw {
	unsigned long *pend_word; /* shared_info word holding b's PENDING */
	unsigned long pend_bit;
	enum cw_mode mode;
	uint32_t a_phase;      /* vCPU 1's points from its claim's first one */
	uint32_t a_seen;       /* vCPU 1 saw b pending at a point */
	uint32_t a_held;       /* atomic: vCPU 1 is held at its claim */
	uint32_t a_passed;     /* atomic: vCPU 1 made its first exchange */
	uint32_t a_claimed;    /* atomic: vCPU 1's claim returned */
	uint32_t b_in;	       /* atomic: vCPU 2's handler entered */
	uint32_t b_out;	       /* atomic: vCPU 2's first run returned */
	uint32_t b_points;     /* vCPU 2's points after b_out */
	uint32_t b_at_release; /* atomic: vCPU 2 is held at its release */
	uint32_t b_released;   /* atomic: vCPU 2 released the claim */
	uint32_t in, concurrent;
	uint32_t runs[4];
} cw;

static void cw_wait(const uint32_t *flag)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	while (!XT_LOAD(flag) && xt_now_ns() < end)
		sched_yield();
}

/* vCPU 2, after its first run returned. */
static void cw_hook_b(void)
{
	if (XT_LOAD(&cw.b_released))
		return;
	/* The first point is the release's exchange, the second one
	 * comes after it (the scan goes on). */
	if (++cw.b_points == 2) {
		XT_STORE(&cw.b_released, 1);
		return;
	}
	if (cw.mode == CW_AT_RELEASE) {
		XT_STORE(&cw.b_at_release, 1);
		cw_wait(&cw.a_claimed);
	}
}

/* vCPU 1. */
static void cw_hook_a(void)
{
	if (!cw.a_phase) {
		if (__atomic_load_n(cw.pend_word, __ATOMIC_SEQ_CST) &
		    cw.pend_bit) {
			cw.a_seen = 1;
			return;
		}
		if (!cw.a_seen)
			return;
	}
	switch (++cw.a_phase) {
	case 1:
		/* PENDING taken: the claim's first exchange. */
		XT_STORE(&cw.a_held, 1);
		cw_wait(cw.mode == CW_AT_RELEASE ? &cw.b_at_release : &cw.b_in);
		return;
	case 2:
		/* Its second exchange (the first one found it taken). */
		XT_STORE(&cw.a_passed, 1);
		if (cw.mode == CW_RELEASED)
			cw_wait(&cw.b_released);
		return;
	case 3:
		/* The scan goes on: the claim returned. */
		XT_STORE(&cw.a_claimed, 1);
		return;
	default:
		return;
	}
}

static void cw_hook(enum hv_explore_point pt)
{
	struct hv_vcpu *v = hv_current();
	unsigned int id;

	if (pt != HV_XP_ATOMIC || !v)
		return;
	id = hv_vcpu_id(v);
	if (id == 2 && XT_LOAD(&cw.b_out))
		cw_hook_b();
	else if (id == 1)
		cw_hook_a();
}

static void cw_handler(evtchn_port_t port, void *data)
{
	unsigned int cpu = xl_os_vcpu_id();

	if (XT_ADD(&cw.in, 1) != 1)
		XT_ADD(&cw.concurrent, 1);
	XT_ADD(&cw.runs[cpu % 4], 1);
	if (cpu == 2 && !XT_LOAD(&cw.b_in)) {
		XT_STORE(&cw.b_in, 1);
		if (cw.mode != CW_AT_RELEASE)
			cw_wait(&cw.a_passed);
		XT_ADD(&cw.in, -1);
		XT_STORE(&cw.b_out, 1);
		return;
	}
	XT_ADD(&cw.in, -1);
}

/* Runs on every vCPU reached *arg. */
static bool cw_runs(void *arg)
{
	return XT_LOAD(&cw.runs[0]) + XT_LOAD(&cw.runs[1]) +
		       XT_LOAD(&cw.runs[2]) + XT_LOAD(&cw.runs[3]) >=
	       *(uint32_t *)arg;
}

static enum xt_result claim_window(enum cw_mode mode)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = true };
	struct xt_rec ra = { 0 };
	uint32_t want;
	evtchn_port_t a, b;
	bool held;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	memset(&cw, 0, sizeof(cw));
	cw.mode = mode;
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(DOMID_SELF, xt_rec_handler, &ra,
					     &a),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(DOMID_SELF, a, cw_handler, NULL,
						&b),
		     0);
	/* The bind-time event (evtchn_bind_interdomain), on vCPU 0. */
	want = 1;
	XT_ASSERT(xt_wait_until(cw_runs, &want, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(XT_SETTLE_NS);
	XT_ASSERT_EQ(XT_LOAD(&cw.runs[0]), 1);
	XT_STORE(&cw.runs[0], 0);
	cw.pend_word = (unsigned long *)xl_os_shared_info()->evtchn_pending +
		       b / XL_BITS_PER_LONG;
	cw.pend_bit = 1UL << (b % XL_BITS_PER_LONG);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, 1), 0);
	hv_explore_set_hook(cw_hook);
	XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	held = xt_wait_until(flag_set, &cw.a_held, XT_EVENT_TIMEOUT_NS);
	if (held) {
		/* vCPU 1 holds the event it took; b goes to vCPU 2. */
		XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, 2), 0);
		XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	}
	want = 2;
	xt_wait_until(cw_runs, &want, XT_EVENT_TIMEOUT_NS);
	xt_rec_settle(&ra);
	want = 3; /* a third run would come now */
	xt_wait_until(cw_runs, &want, 2 * XT_SETTLE_NS);
	hv_explore_set_hook(NULL);
	XT_ASSERT(held);
	XT_ASSERT_EQ(XT_LOAD(&cw.b_in), 1);
	XT_ASSERT_EQ(XT_LOAD(&cw.a_passed), 1);
	XT_ASSERT_EQ(XT_LOAD(&cw.a_claimed), 1);
	XT_ASSERT_EQ(XT_LOAD(&cw.b_released), 1);
	XT_ASSERT_EQ(XT_LOAD(&cw.concurrent), 0);
	XT_ASSERT_EQ(XT_LOAD(&cw.runs[0]), 0);
	XT_ASSERT_EQ(XT_LOAD(&cw.runs[3]), 0);
	if (mode == CW_RELEASED) {
		XT_ASSERT_EQ(XT_LOAD(&cw.runs[2]), 1);
		XT_ASSERT_EQ(XT_LOAD(&cw.runs[1]), 1);
	} else {
		if (mode == CW_AT_RELEASE)
			XT_ASSERT_EQ(XT_LOAD(&cw.b_at_release), 1);
		XT_ASSERT_EQ(XT_LOAD(&cw.runs[2]), 2);
		XT_ASSERT_EQ(XT_LOAD(&cw.runs[1]), 0);
	}
	XT_ASSERT_EQ(xl_evtchn_close(b), 0);
	XT_ASSERT_EQ(xl_evtchn_close(a), 0);
	return XT_PASS;
}

static enum xt_result l2_claim_busy(void)
{
	return claim_window(CW_BUSY);
}

static enum xt_result l2_claim_released(void)
{
	return claim_window(CW_RELEASED);
}

static enum xt_result l2_claim_at_release(void)
{
	return claim_window(CW_AT_RELEASE);
}

const struct xt_test xt_hv_tests[] = {
	{ "hv/pvclock_update_storm", XT_HV, 2, false, pvclock_update_storm, 0 },
	{ "fifo/spurious", XT_HV, 1, false, fifo_spurious, 0 },
	{ "2l/spurious", XT_HV, 1, false, l2_spurious, 0 },
	{ "hv/pcpu_share", XT_HV, 2, false, pcpu_share, XT_F_1PCPU },
	{ "hv/pcpu_boost", XT_HV, 2, false, pcpu_boost,
	  XT_F_1PCPU | XT_F_CREDIT1 },
	{ "hv/pcpu_c2_tickle", XT_HV, 2, false, pcpu_c2_tickle,
	  XT_F_1PCPU | XT_F_CREDIT2 },
	{ "hv/pcpu_c2_ratelimit", XT_HV, 2, false, pcpu_c2_ratelimit,
	  XT_F_1PCPU | XT_F_CREDIT2 },
	{ "hv/pcpu_c2_credit", XT_HV, 2, false, pcpu_c2_credit,
	  XT_F_1PCPU | XT_F_CREDIT2 },
	{ "hv/pcpu_c2_nostarve", XT_HV, 2, false, pcpu_c2_nostarve,
	  XT_F_1PCPU | XT_F_CREDIT2 },
	{ "hv/pcpu_c2_fair", XT_HV, 2, false, pcpu_c2_fair,
	  XT_F_1PCPU | XT_F_CREDIT2 },
	{ "hv/timer_early_sshot", XT_HV, 1, false, timer_early_sshot, 0 },
	{ "hv/timer_early_periodic", XT_HV, 1, false, timer_early_periodic, 0 },
	{ "hv/kick_lost", XT_HV, 2, false, kick_lost, 0 },
	{ "hv/wait_until_slept", XT_HV, 2, false, wait_until_slept, 0 },
	{ "hv/clock_now_race", XT_HV, 2, false, clock_now_race, 0 },
	{ "hv/clock_cfg_race", XT_HV, 4, false, clock_cfg_race, 0 },
	{ "hv/clock_init_refused", XT_HV, 2, false, clock_init_refused, 0 },
	{ "fifo/close_rebind_race", XT_HV, 3, false, fifo_close_rebind_race,
	  0 },
	{ "2l/close_rebind_race", XT_HV, 3, false, l2_close_rebind_race, 0 },
	{ "fifo/mask_vs_forward", XT_HV, 2, false, fifo_mask_vs_forward, 0 },
	{ "fifo/fini_reset_fails", XT_HV, 1, false, fifo_fini_reset_fails, 0 },
	{ "fifo/reinit_after_fifo", XT_HV, 1, false, fifo_reinit_after_fifo,
	  0 },
	{ "fifo/init_after_other_fifo", XT_HV, 1, false,
	  fifo_init_after_other_fifo, 0 },
	{ "fifo/partial_init_keeps_ports", XT_HV, 2, true,
	  fifo_partial_init_keeps_ports, 0 },
	{ "fifo/ready_empty_queue", XT_HV, 1, false, fifo_ready_empty_queue,
	  0 },
	{ "fifo/head_beyond_array", XT_HV, 1, false, fifo_head_beyond_array,
	  0 },
	{ "fifo/expand_page_bounds", XT_HV, 1, false, fifo_expand_page_bounds,
	  0 },
	{ "fifo/expand_enomem", XT_HV, 1, false, fifo_expand_enomem, 0 },
	{ "fifo/expand_refused", XT_HV, 1, false, fifo_expand_refused, 0 },
	{ "fifo/expand_two_pages", XT_HV, 1, false, fifo_expand_two_pages, 0 },
	{ "fifo/hostile_port_past_abi", XT_HV, 1, false,
	  fifo_hostile_port_past_abi, 0 },
	{ "2l/hostile_port_past_abi", XT_HV, 1, false, l2_hostile_port_past_abi,
	  0 },
	{ "2l/moved_port_scan", XT_HV, 2, false, l2_moved_port_scan, 0 },
	{ "2l/clear_pending_window", XT_HV, 1, false, l2_clear_pending_window,
	  0 },
	{ "fifo/unmask_exchange_races", XT_HV, 1, false,
	  fifo_unmask_exchange_races, 0 },
	{ "fifo/rmw_window", XT_HV, 1, false, fifo_rmw_window, 0 },
	{ "fifo/upcall_handled_counts", XT_HV, 1, false,
	  fifo_upcall_handled_counts, 0 },
	{ "fifo/init_enomem", XT_HV, 2, false, fifo_init_enomem, 0 },
	{ "fifo/bind_in_handler_no_page", XT_HV, 1, false,
	  fifo_bind_in_handler_no_page, 0 },
	{ "fifo/ready_exchange_window", XT_HV, 1, false,
	  fifo_ready_exchange_window, 0 },
	{ "fifo/upcall_no_control_block", XT_HV, 2, false,
	  fifo_upcall_no_control_block, 0 },
	{ "fifo/take_pending_cleared", XT_HV, 2, false,
	  fifo_take_pending_cleared, 0 },
	{ "fifo/take_pending_masked", XT_HV, 2, false, fifo_take_pending_masked,
	  0 },
	{ "fifo/bind_existing_race", XT_HV, 2, false, fifo_bind_existing_race,
	  0 },
	{ "2l/bind_existing_race", XT_HV, 2, false, l2_bind_existing_race, 0 },
	{ "fifo/unmask_hypercalls", XT_HV, 1, false, fifo_unmask_hypercalls,
	  0 },
	{ "2l/unmask_hypercalls", XT_HV, 1, false, l2_unmask_hypercalls, 0 },
	{ "fifo/fini_pages", XT_HV, 1, false, fifo_fini_pages, 0 },
	{ "fifo/bad_ports", XT_HV, 1, false, fifo_bad_ports, 0 },
	{ "2l/bad_ports", XT_HV, 1, false, l2_bad_ports, 0 },
	{ "fifo/bind_enomem", XT_HV, 1, false, fifo_bind_enomem, 0 },
	{ "2l/bind_enomem", XT_HV, 1, false, l2_bind_enomem, 0 },
	{ "fifo/port_chunk_race", XT_HV, 2, false, fifo_port_chunk_race, 0 },
	{ "2l/port_chunk_race", XT_HV, 2, false, l2_port_chunk_race, 0 },
	{ "fifo/close_each_other", XT_HV, 3, false, fifo_close_each_other, 0 },
	{ "fifo/bind_in_handler_expand", XT_HV, 2, false,
	  fifo_bind_in_handler_expand, 0 },
	{ "2l/close_each_other", XT_HV, 3, false, l2_close_each_other, 0 },
	{ "fifo/late_upcall_init", XT_HV, 2, false, fifo_late_upcall_init, 0 },
	{ "2l/late_upcall_init", XT_HV, 2, false, l2_late_upcall_init, 0 },
	{ "2l/close_fails_mid_scan", XT_HV, 2, false, l2_close_fails_mid_scan,
	  0 },
	{ "2l/close_rebind_no_stale", XT_HV, 2, false, l2_close_rebind_no_stale,
	  0 },
	{ "2l/close_rebind_held", XT_HV, 2, false, l2_close_rebind_held, 0 },
	{ "fifo/stray_events", XT_HV, 1, false, fifo_stray_events, 0 },
	{ "fifo/fini_keeps_ports", XT_HV, 1, true, fifo_fini_keeps_ports, 0 },
	{ "fifo/fini_closes_own", XT_HV, 2, false, fifo_fini_closes_own, 0 },
	{ "fifo/fini_after_gap", XT_HV, 1, false, fifo_fini_after_gap, 0 },
	{ "2l/fini_after_gap", XT_HV, 1, false, l2_fini_after_gap, 0 },
	{ "2l/fini_closes_own", XT_HV, 2, false, l2_fini_closes_own, 0 },
	{ "2l/fini_keeps_ports", XT_HV, 1, true, l2_fini_keeps_ports, 0 },
	{ "fifo/init_stuck", XT_HV, 2, false, fifo_init_stuck, 0 },
	{ "fifo/init_bad_vcpus", XT_HV, 1, false, fifo_init_bad_vcpus, 0 },
	{ "2l/init_bad_vcpus", XT_HV, 1, false, l2_init_bad_vcpus, 0 },
	{ "fifo/bind_existing_move_fails", XT_HV, 3, false,
	  fifo_bind_existing_move_fails, 0 },
	{ "2l/bind_existing_move_fails", XT_HV, 3, false,
	  l2_bind_existing_move_fails, 0 },
	{ "fifo/nested_upcall", XT_HV, 1, false, fifo_nested_upcall,
	  XT_F_VCPU_VECTOR },
	{ "2l/nested_upcall", XT_HV, 1, false, l2_nested_upcall,
	  XT_F_VCPU_VECTOR },
	{ "2l/claim_busy", XT_HV, 3, false, l2_claim_busy, 0 },
	{ "2l/claim_released", XT_HV, 3, false, l2_claim_released, 0 },
	{ "2l/claim_at_release", XT_HV, 3, false, l2_claim_at_release, 0 },
};

const unsigned int xt_hv_nr_tests =
	sizeof(xt_hv_tests) / sizeof(xt_hv_tests[0]);
