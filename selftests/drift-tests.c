// SPDX-License-Identifier: GPL-2.0
/*
 * drift/: the emulated platform timer's policies on hv (hv/vpt.c), each
 * after a known loss of ticks, in virtual time so every count is exact.
 *
 * The guest (drift-hv.c) ticks at 10 ms from time S, keeps a tick clock
 * (drift.h) and runs for 500 ms: ticks at S+10 .. S+100, then from S+105
 * to S+305 an event, then ticks up to S+500.  The event covers the 20
 * tick boundaries S+110 .. S+300.  Each test asserts, per scenario:
 *
 *  - 10 ticks before the event, each exactly at its boundary;
 *  - none during it;
 *  - how many at the resume instant S+305 (the policy's rule);
 *  - 20 after it, at S+310 .. S+500;
 *  - the tick clock's error against the vCPU's pvclock at the end:
 *    -(ticks never delivered) x 10 ms;
 *  - pvclock = system time at every tick (Xen 4.17 moves guest time with
 *    stime_offset, which the pvclock record does not carry);
 *  - guest time (what the emulated PIT/HPET counter reads) at each tick:
 *    frozen across a deschedule and stepped one period per late tick
 *    under delay_for_missed_ticks, system time otherwise.
 *
 * Scenarios: "desched" takes the running vCPU off its pCPU (vcpu_pause:
 * the context switch out that contention makes, with an exact length);
 * "pause" pauses the domain (xl pause); "mask" has the guest mask
 * interrupts; "blocked" pauses a domain whose vCPU idles in SCHEDOP_block
 * (Xen's pt_save_timer leaves a blocked vCPU's timer running).
 * Expected figures come from xen/arch/x86/hvm/vpt.c (RELEASE-4.17.7) and
 * arch/x86/kvm/i8254.c, as docs/time-drift.md derives them.
 */
#include <hv.h>

#include "drift-hv.h"
#include "xt.h"

#define MS 1000000ULL
#define P (10 * MS)

struct drift_expect {
	enum drift_scenario scn;
	bool blocked;
	unsigned int at_resume; /* ticks delivered at S+305 */
	bool frozen;		/* guest time frozen, stepped per late tick */
};

static enum xt_result drift_check(enum hv_vpt_policy pol,
				  const struct drift_expect *e)
{
	struct drift_cfg cfg = { .policy = pol,
				 .scenario = e->scn,
				 .period_ns = P,
				 .warmup_ns = 105 * MS,
				 .event_ns = 200 * MS,
				 .tail_ns = 195 * MS,
				 .repeats = 1,
				 .blocked_guest = e->blocked };
	unsigned int lost = 20 - e->at_resume, i, k;
	struct drift_result r;
	struct drift_summary s;
	uint64_t S, ev1;
	int rc = drift_run(&cfg, &r);

	if (rc) {
		drift_result_free(&r);
		XT_ASSERT_EQ(rc, 0);
	}
	drift_summarize(&cfg, &r, &s);
	S = r.start;
	ev1 = S + 305 * MS;
	xt_log("%s %s%s: %u ticks, %u at resume, tick clock - pvclock %lld ms",
	       hv_vpt_policy_name(pol), drift_scenario_name(e->scn),
	       e->blocked ? " (blocked vCPU)" : "", r.nr_ticks,
	       drift_ticks_between(&r, ev1, ev1 + 1),
	       (long long)s.final_ns / (long long)MS);
#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond)) {                                           \
			xt_fail_msg(__FILE__, __LINE__, "%s: %s",        \
				    drift_scenario_name(e->scn), #cond); \
			goto fail;                                       \
		}                                                        \
	} while (0)
#define CHECK_EQ(a, b)                                                       \
	do {                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);          \
		if (a_ != b_) {                                              \
			xt_fail_msg(__FILE__, __LINE__,                      \
				    "%s: %s == %s: %lld != %lld",            \
				    drift_scenario_name(e->scn), #a, #b, a_, \
				    b_);                                     \
			goto fail;                                           \
		}                                                            \
	} while (0)
	CHECK_EQ(r.ev_start - S, 105 * MS);
	CHECK_EQ(r.ev_end - S, 305 * MS);
	CHECK_EQ(r.end - S, 500 * MS);
	CHECK(r.nr_ticks >= 10);
	for (k = 0; k < 10; k++)
		CHECK_EQ(r.ticks[k].sys - S, (k + 1) * P);
	CHECK_EQ(drift_ticks_between(&r, S + 105 * MS, ev1), 0);
	CHECK_EQ(drift_ticks_between(&r, ev1, ev1 + 1), e->at_resume);
	CHECK_EQ(drift_ticks_between(&r, ev1 + 1, r.end + 1), 20);
	CHECK_EQ(r.nr_ticks, 50 - lost);
	for (k = 0; k < 20; k++)
		CHECK_EQ(r.ticks[10 + e->at_resume + k].sys - S,
			 310 * MS + k * P);
	CHECK_EQ(s.final_ns, -(long long)(lost * P));
	for (i = 0; i < r.nr_ticks; i++) {
		CHECK_EQ(r.ticks[i].pv, r.ticks[i].sys);
		CHECK_EQ(r.ticks[i].tclock - S, (i + 1) * P);
	}
	for (i = 0; i < r.nr_ticks; i++) {
		uint64_t want = r.ticks[i].sys;

		/* The k-th late tick: last_plt_gtime = S + 100 + k x 10 ms. */
		if (e->frozen && i >= 10 && i < 10 + e->at_resume)
			want = S + 100 * MS + (i - 9) * P;
		CHECK_EQ(r.ticks[i].gtime, want);
	}
	drift_result_free(&r);
	return XT_PASS;
fail:
	drift_result_free(&r);
	return XT_FAIL;
#undef CHECK
#undef CHECK_EQ
}

static enum xt_result drift_policy(enum hv_vpt_policy pol,
				   const struct drift_expect *e, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (drift_check(pol, &e[i]) != XT_PASS)
			return XT_FAIL;
	return XT_PASS;
}

#define DRIFT_POLICY(fn, pol, ...)                                      \
	static enum xt_result fn(void)                                  \
	{                                                               \
		static const struct drift_expect e[] = { __VA_ARGS__ }; \
		return drift_policy(pol, e, sizeof(e) / sizeof(e[0]));  \
	}

/*
 * delay_for_missed_ticks: pt_save_timer stops the timer and
 * pt_freeze_time saves guest time; pt_restore_timer counts all 20 missed
 * ticks pending, pt_thaw_time puts guest time back; each late tick steps
 * guest time one period (pt_irq_fired).  A masked or blocked vCPU is not
 * switched out, so its guest time runs on; its ticks still all arrive.
 */
DRIFT_POLICY(drift_delay, HV_VPT_DELAY_FOR_MISSED_TICKS,
	     { DRIFT_DESCHED, false, 20, true },
	     { DRIFT_PAUSE, false, 20, true }, { DRIFT_MASK, false, 20, false },
	     { DRIFT_PAUSE, true, 20, false })

/* no_delay_for_missed_ticks: the same 20, guest time never moved. */
DRIFT_POLICY(drift_no_delay, HV_VPT_NO_DELAY_FOR_MISSED_TICKS,
	     { DRIFT_DESCHED, false, 20, false },
	     { DRIFT_PAUSE, false, 20, false },
	     { DRIFT_MASK, false, 20, false }, { DRIFT_PAUSE, true, 20, false })

/*
 * no_missed_ticks_pending: pt_restore_timer's pt_process_missed_ticks
 * drops the 20 (nothing was pending): none at resume, the clock 200 ms
 * behind for good.  Masked, or blocked (its timer ran and fired once),
 * the one pending tick is delivered and the other 19 collapse.
 */
DRIFT_POLICY(drift_no_missed_pending, HV_VPT_NO_MISSED_TICKS_PENDING,
	     { DRIFT_DESCHED, false, 0, false },
	     { DRIFT_PAUSE, false, 0, false }, { DRIFT_MASK, false, 1, false },
	     { DRIFT_PAUSE, true, 1, false })

/* one_missed_tick_pending: the 20 are counted, delivered as one. */
DRIFT_POLICY(drift_one_missed, HV_VPT_ONE_MISSED_TICK_PENDING,
	     { DRIFT_DESCHED, false, 1, false },
	     { DRIFT_PAUSE, false, 1, false }, { DRIFT_MASK, false, 1, false },
	     { DRIFT_PAUSE, true, 1, false })

/* KVM PIT, reinject: the hrtimer counts all 20 in ps->pending. */
DRIFT_POLICY(drift_kvm_reinject, HV_VPT_KVM_PIT_REINJECT,
	     { DRIFT_DESCHED, false, 20, false },
	     { DRIFT_PAUSE, false, 20, false },
	     { DRIFT_MASK, false, 20, false }, { DRIFT_PAUSE, true, 20, false })

/* KVM PIT without reinject: 20 edges coalesce in the IRR: one tick. */
DRIFT_POLICY(drift_kvm_no_reinject, HV_VPT_KVM_PIT_NO_REINJECT,
	     { DRIFT_DESCHED, false, 1, false },
	     { DRIFT_PAUSE, false, 1, false }, { DRIFT_MASK, false, 1, false },
	     { DRIFT_PAUSE, true, 1, false })

/*
 * no_missed_ticks_pending's do_not_freeze: after a resume that found
 * missed ticks, "the internal tick alarm is not disabled if the VCPU is
 * preempted during the next tick period" (public/hvm/params.h).  Two
 * pauses, S+105..205 and S+207..307: the first drops the 10 ticks at
 * S+110..200; in the second the timer runs on, fires at S+210, and that
 * tick is delivered at S+307; the 9 after it (S+220..300) are dropped.
 * one_missed_tick_pending stops its timer both times: one late tick per
 * pause.  Without do_not_freeze the first would also give 2 ticks.
 */
static enum xt_result drift_twice(enum hv_vpt_policy pol, unsigned int late1,
				  unsigned int late2)
{
	struct drift_cfg cfg = { .policy = pol,
				 .scenario = DRIFT_PERIODIC_PAUSES,
				 .period_ns = P,
				 .warmup_ns = 105 * MS,
				 .event_ns = 100 * MS,
				 .repeats = 2,
				 .gap_ns = 2 * MS,
				 .tail_ns = 93 * MS };
	struct drift_result r;
	struct drift_summary s;
	unsigned int at1, at2, total;
	uint64_t S;
	int rc = drift_run(&cfg, &r);

	if (rc) {
		drift_result_free(&r);
		XT_ASSERT_EQ(rc, 0);
	}
	drift_summarize(&cfg, &r, &s);
	S = r.start;
	at1 = drift_ticks_between(&r, S + 205 * MS, S + 205 * MS + 1);
	at2 = drift_ticks_between(&r, S + 307 * MS, S + 307 * MS + 1);
	total = r.nr_ticks;
	xt_log("%s: %u at the first resume, %u at the second, %u ticks, "
	       "tick clock - pvclock %lld ms",
	       hv_vpt_policy_name(pol), at1, at2, total,
	       (long long)s.final_ns / (long long)MS);
	XT_ASSERT_EQ(r.end - S, 400 * MS);
	drift_result_free(&r);
	XT_ASSERT_EQ(at1, late1);
	XT_ASSERT_EQ(at2, late2);
	/* 10 before, the late ones, 10 at S+310 .. S+400. */
	XT_ASSERT_EQ(total, 20 + late1 + late2);
	XT_ASSERT_EQ(s.final_ns, -(long long)((20 - late1 - late2) * P));
	return XT_PASS;
}

static enum xt_result drift_nmtp_do_not_freeze(void)
{
	return drift_twice(HV_VPT_NO_MISSED_TICKS_PENDING, 0, 1);
}

static enum xt_result drift_one_missed_twice(void)
{
	return drift_twice(HV_VPT_ONE_MISSED_TICK_PENDING, 1, 1);
}

/* HVM_PARAM_TIMER_MODE > HVMPTM_one_missed_tick_pending: -EINVAL. */
static enum xt_result drift_bad_policy(void)
{
	struct drift_cfg cfg = { .policy = HV_VPT_NR_POLICIES,
				 .scenario = DRIFT_NONE,
				 .period_ns = P };
	struct drift_result r;
	int rc = drift_run(&cfg, &r);

	drift_result_free(&r);
	XT_ASSERT_EQ(rc, -XEN_EINVAL);
	return XT_PASS;
}

/* hv-only: hv's emulated timer, pause and virtual time (hv.h). */
const struct xt_test xt_drift_tests[] = {
	{ "drift/delay_for_missed_ticks", XT_HV, 1, false, drift_delay, 0 },
	{ "drift/no_delay_for_missed_ticks", XT_HV, 1, false, drift_no_delay,
	  0 },
	{ "drift/no_missed_ticks_pending", XT_HV, 1, false,
	  drift_no_missed_pending, 0 },
	{ "drift/one_missed_tick_pending", XT_HV, 1, false, drift_one_missed,
	  0 },
	{ "drift/kvm_pit_reinject", XT_HV, 1, false, drift_kvm_reinject, 0 },
	{ "drift/kvm_pit_no_reinject", XT_HV, 1, false, drift_kvm_no_reinject,
	  0 },
	{ "drift/no_missed_ticks_pending_do_not_freeze", XT_HV, 1, false,
	  drift_nmtp_do_not_freeze, 0 },
	{ "drift/one_missed_tick_pending_twice", XT_HV, 1, false,
	  drift_one_missed_twice, 0 },
	{ "drift/bad_policy", XT_HV, 1, false, drift_bad_policy, 0 },
};

const unsigned int xt_drift_nr_tests =
	sizeof(xt_drift_tests) / sizeof(xt_drift_tests[0]);
