// SPDX-License-Identifier: GPL-2.0
/*
 * Time and idle tests: pvclock, the singleshot and periodic clockevent on
 * VIRQ_TIMER, idle without lost wakeups, SCHEDOP_poll and runstate.
 *
 * Expected hypervisor behaviour is Xen 4.17's: xen/common/domain.c
 * (do_vcpu_op timer commands), xen/common/sched/core.c (periodic timer
 * stopped while descheduled, do_poll, vcpu_runstate_get).  Bounds on
 * counts over a time window are wide on purpose: they catch "never" and
 * "far too many", not jitter.  Portable guest code only.
 */
#include <xenlite/clockevent.h>
#include <xenlite/idle.h>

#include "xt-util.h"

#define MS 1000000ULL
#define NS_PER_S 1000000000ULL
/* The core's per-vCPU timer heap size (xen-clockevent.c). */
#define TIMER_HEAP_SIZE 256

/* --- helpers ----------------------------------------------------------- */

struct clock_arg {
	struct xl_clock_config cfg;
	int rc[XL_MAX_VCPUS];
};

static void clock_init_on(void *arg)
{
	struct clock_arg *a = arg;

	a->rc[xl_os_vcpu_id()] = xl_clock_init(&a->cfg);
}

/* The clockevent on each vCPU (it is per vCPU); core already up. */
static enum xt_result clock_start_cfg(const struct xl_clock_config *cfg)
{
	struct clock_arg a = { .cfg = *cfg };
	unsigned int cpu;

	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++) {
		xt_run_on(cpu, clock_init_on, &a);
		XT_ASSERT_EQ(a.rc[cpu], 0);
	}
	return XT_PASS;
}

static enum xt_result clock_start(enum xl_clock_mode mode, unsigned int hz)
{
	const struct xl_clock_config cfg = { .mode = mode, .hz = hz };

	return clock_start_cfg(&cfg);
}

static enum xt_result clock_up(enum xl_clock_mode mode, unsigned int hz)
{
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	return clock_start(mode, hz);
}

#define CLOCK_UP(mode, hz)                               \
	do {                                             \
		enum xt_result cr_ = clock_up(mode, hz); \
		if (cr_ != XT_PASS)                      \
			return cr_;                      \
	} while (0)

struct tmr {
	struct xl_timer t;
	uint32_t fired;
	uint64_t now_in_fn; /* pvclock read inside the callback */
};

static void tmr_fn(struct xl_timer *t)
{
	struct tmr *m = t->data;

	m->now_in_fn = xl_clock_now();
	XT_ADD(&m->fired, 1);
}

static bool tmr_fired(void *arg)
{
	return XT_LOAD(&((struct tmr *)arg)->fired) != 0;
}

static uint64_t virq_count(unsigned int cpu)
{
	struct xl_clock_stats st;

	xl_clock_get_stats(cpu, &st);
	return st.virq;
}

static uint64_t runstate_sum(const struct vcpu_runstate_info *r)
{
	return r->time[0] + r->time[1] + r->time[2] + r->time[3];
}

/* --- pvclock ----------------------------------------------------------- */

struct mono_arg {
	uint64_t gmax; /* highest reading any vCPU published */
	uint32_t back_local, back_global, go;
	unsigned int reads;
};

static void mono_reader(void *arg)
{
	struct mono_arg *a = arg;
	uint64_t prev = 0, now, g, seen;
	unsigned int i;

	while (!XT_LOAD(&a->go))
		;
	for (i = 0; i < a->reads; i++) {
		g = XT_LOAD(&a->gmax);
		now = xl_clock_now();
		if (now < prev)
			XT_ADD(&a->back_local, 1);
		/* g was published before we read: time must not be behind. */
		if (now < g)
			XT_ADD(&a->back_global, 1);
		prev = now;
		seen = g;
		while (now > seen &&
		       !__atomic_compare_exchange_n(&a->gmax, &seen, now, false,
						    __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST))
			;
	}
}

/* Never backwards on a vCPU, nor behind what another vCPU already read. */
static enum xt_result time_pvclock_monotonic(void)
{
	struct mono_arg a = { .reads = 200000 };
	unsigned int cpu, nr = xt_nr_vcpus();

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	for (cpu = 1; cpu < nr; cpu++)
		xt_start_on(cpu, mono_reader, &a);
	XT_STORE(&a.go, 1);
	mono_reader(&a);
	for (cpu = 1; cpu < nr; cpu++)
		xt_wait_on(cpu);
	XT_ASSERT_EQ(a.back_local, 0);
	XT_ASSERT_EQ(a.back_global, 0);
	XT_ASSERT(a.gmax != 0);
	return XT_PASS;
}

/* pvclock runs at the rate of the host's monotonic clock (1 ns = 1 ns). */
static enum xt_result time_pvclock_rate(void)
{
	uint64_t p0, m0, p1, m1, dp, dm;
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	p0 = xl_clock_now();
	m0 = xt_now_ns();
	xt_sleep_ns(50 * MS);
	p1 = xl_clock_now();
	m1 = xt_now_ns();
	dp = p1 - p0;
	dm = m1 - m0;
	xt_log("pvclock %llu ns over %llu ns", (unsigned long long)dp,
	       (unsigned long long)dm);
	/*
	 * A figure, not a check: what one read costs here.  Xen emulates
	 * rdtsc (an exit per read) when the host TSC is not reliable, as
	 * under QEMU TCG, unless the domain's tsc_mode is native.
	 */
	p0 = xl_clock_now();
	for (i = 0; i < 1000; i++)
		p1 = xl_clock_now();
	xt_log("xl_clock_now: %llu ns a read",
	       (unsigned long long)((p1 - p0) / 1000));
	XT_ASSERT_MSG(dp > dm - dm / 20 && dp < dm + dm / 20,
		      "pvclock advanced %llu ns in %llu ns",
		      (unsigned long long)dp, (unsigned long long)dm);
	return XT_PASS;
}

/*
 * A reader on vCPU 1 and this vCPU editing vCPU 1's vcpu_time_info the way
 * Xen does (update_vcpu_system_time: version odd, fields, version even).
 * hv rewrites a vCPU's record only when the vCPU starts or is switched in
 * after a block (hv/time.c), and the reader spins: the record is this
 * test's while the reader runs.  hv only: on Xen the record is Xen's.
 */
struct rec_arg {
	uint32_t ready, go, done;
	uint64_t now;
};

static void rec_reader(void *arg)
{
	struct rec_arg *a = arg;

	XT_STORE(&a->ready, 1);
	while (!XT_LOAD(&a->go))
		;
	XT_STORE(&a->now, xl_clock_now());
	XT_STORE(&a->done, 1);
}

static bool rec_ready(void *arg)
{
	return XT_LOAD(&((struct rec_arg *)arg)->ready) != 0;
}

static bool rec_done(void *arg)
{
	return XT_LOAD(&((struct rec_arg *)arg)->done) != 0;
}

static void rec_bump(struct vcpu_time_info *t)
{
	__atomic_fetch_add(&t->version, 1, __ATOMIC_SEQ_CST);
}

/*
 * A record caught mid-update (version odd) is not used: the reader waits
 * for the version to turn even, and then reads the finished record.  Here
 * the update is held open with a system_time 1000 s ahead in it.
 */
static enum xt_result time_pvclock_torn_read(void)
{
	struct vcpu_time_info *t = &xl_os_vcpu_info(1)->time;
	struct rec_arg a = { 0 };
	uint64_t sys, before, after, m0;
	bool early;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_start_on(1, rec_reader, &a);
	XT_ASSERT(xt_wait_until(rec_ready, &a, XT_EVENT_TIMEOUT_NS));
	before = xl_clock_now();
	m0 = xt_now_ns();
	rec_bump(t);
	sys = XT_LOAD(&t->system_time);
	XT_STORE(&t->system_time, sys + 1000 * 1000 * MS);
	XT_STORE(&a.go, 1);
	xt_sleep_ns(20 * MS);
	early = rec_done(&a);
	XT_STORE(&t->system_time, sys);
	rec_bump(t);
	xt_wait_on(1);
	/*
	 * The bound is the host's clock, not xl_clock_now(): that hands out
	 * the highest reading so far, the reader's too.
	 */
	after = before + (xt_now_ns() - m0) + 10 * MS;
	XT_ASSERT_MSG(!early, "read a record whose version was odd");
	XT_ASSERT_MSG(a.now >= before && a.now <= after,
		      "read %llu, not in [%llu, %llu]",
		      (unsigned long long)a.now, (unsigned long long)before,
		      (unsigned long long)after);
	return XT_PASS;
}

/*
 * A TSC behind the record's tsc_timestamp (a record stamped by another
 * CPU, TSCs a few cycles apart) counts as no time since the stamp, not as
 * a wrapped delta centuries ahead.  Here the stamp is put 2^40 cycles
 * ahead of the TSC, and the scale is 1/2 ns a cycle: hv's own (1 ns a
 * cycle) would turn the wrapped delta back into a negative one.
 */
static enum xt_result time_pvclock_tsc_behind(void)
{
	struct vcpu_time_info *t = &xl_os_vcpu_info(1)->time;
	struct rec_arg a = { 0 };
	uint64_t stamp, before, after, m0;
	uint32_t mul;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_start_on(1, rec_reader, &a);
	XT_ASSERT(xt_wait_until(rec_ready, &a, XT_EVENT_TIMEOUT_NS));
	before = xl_clock_now();
	m0 = xt_now_ns();
	rec_bump(t);
	stamp = XT_LOAD(&t->tsc_timestamp);
	mul = XT_LOAD(&t->tsc_to_system_mul);
	XT_STORE(&t->tsc_timestamp, stamp + (1ULL << 40));
	XT_STORE(&t->tsc_to_system_mul, 1U << 31);
	rec_bump(t);
	XT_STORE(&a.go, 1);
	xt_wait_on(1);
	rec_bump(t);
	XT_STORE(&t->tsc_timestamp, stamp);
	XT_STORE(&t->tsc_to_system_mul, mul);
	rec_bump(t);
	/*
	 * The bound is the host's clock, not xl_clock_now(): that hands out
	 * the highest reading so far, the reader's too.
	 */
	after = before + (xt_now_ns() - m0) + 10 * MS;
	XT_ASSERT_MSG(a.now >= before && a.now <= after,
		      "read %llu, not in [%llu, %llu]",
		      (unsigned long long)a.now, (unsigned long long)before,
		      (unsigned long long)after);
	return XT_PASS;
}

/* --- singleshot --------------------------------------------------------- */

/* A software timer fires once, not before its deadline. */
static enum xt_result time_sshot_fires(void)
{
	struct tmr m = { 0 };
	struct xl_clock_stats st;
	unsigned long flags;
	bool armed;
	uint64_t dl;

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	xl_timer_setup(&m.t, tmr_fn, &m);
	/*
	 * Delivery masked: under nested TCG 2 ms can pass before the next
	 * line, and the timer must still be armed when it is looked at.
	 */
	flags = xl_os_irq_save();
	dl = xl_clock_now() + 2 * MS;
	XT_ASSERT_EQ(xl_timer_arm(&m.t, dl), 0);
	armed = xl_timer_armed(&m.t);
	xl_os_irq_restore(flags);
	XT_ASSERT(armed);
	XT_ASSERT(xt_wait_until(tmr_fired, &m, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(XT_SETTLE_NS);
	XT_ASSERT_EQ(XT_LOAD(&m.fired), 1);
	XT_ASSERT(!xl_timer_armed(&m.t));
	XT_ASSERT_MSG(m.t.fired_at >= dl && m.now_in_fn >= dl,
		      "fired at %llu, deadline %llu",
		      (unsigned long long)m.t.fired_at, (unsigned long long)dl);
	xl_clock_get_stats(0, &st);
	/*
	 * One set_singleshot_timer per VIRQ_TIMER: the arm, then a re-arm
	 * for each VIRQ that came before the deadline by this vCPU's clock
	 * (Xen's NOW() ahead of the pvclock, docs/time-and-idle.md): a
	 * handful, not one every min_delta while the timer waits.  Nothing
	 * is stopped: the last VIRQ spent the singleshot.
	 */
	XT_ASSERT_MSG(st.virq >= 1 && st.virq <= 3 && st.programs == st.virq,
		      "%llu VIRQs, %llu programs for one timer",
		      (unsigned long long)st.virq,
		      (unsigned long long)st.programs);
	XT_ASSERT_EQ(st.stops, 0);
	XT_ASSERT_EQ(st.fired, 1);
	/* One timer: its lateness is the sum and the maximum. */
	XT_ASSERT_EQ(st.late_ns_sum, m.t.fired_at - dl);
	XT_ASSERT_EQ(st.late_ns_max, m.t.fired_at - dl);
	return XT_PASS;
}

/* A deadline already past fires at once (Xen: "just inject the event"). */
static enum xt_result time_sshot_past(void)
{
	struct tmr m = { 0 };

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	xl_timer_setup(&m.t, tmr_fn, &m);
	XT_ASSERT_EQ(xl_timer_arm(&m.t, xl_clock_now() - MS), 0);
	XT_ASSERT(xt_wait_until(tmr_fired, &m, XT_EVENT_TIMEOUT_NS));
	/* Deadline 1 ns: the oldest past there is. */
	XT_STORE(&m.fired, 0);
	XT_ASSERT_EQ(xl_timer_arm(&m.t, 1), 0);
	XT_ASSERT(xt_wait_until(tmr_fired, &m, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(XT_LOAD(&m.fired), 1);
	return XT_PASS;
}

/* Cancel stops Xen's timer too: no VIRQ_TIMER afterwards. */
static enum xt_result time_sshot_stop(void)
{
	struct tmr m = { 0 };
	struct xl_clock_stats st;
	uint64_t v0;

	unsigned int tries;

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	xl_timer_setup(&m.t, tmr_fn, &m);
	/*
	 * Cancel before the deadline.  On a starved host (QEMU TCG on shared
	 * cores) even 100 ms can pass between two lines: then the timer has
	 * fired, which must be consistent, and the round is tried again.
	 */
	for (tries = 0; tries < 5; tries++) {
		uint64_t deadline = xl_clock_now() + 100 * MS;

		XT_STORE(&m.fired, 0);
		XT_ASSERT_EQ(xl_timer_arm(&m.t, deadline), 0);
		v0 = virq_count(0);
		if (xl_timer_cancel(&m.t))
			break;
		XT_ASSERT_EQ(XT_LOAD(&m.fired), 1);
		XT_ASSERT(xl_clock_now() >= deadline);
	}
	XT_ASSERT(tries < 5);
	XT_ASSERT(!xl_timer_cancel(&m.t));
	xt_sleep_ns(200 * MS);
	XT_ASSERT_EQ(XT_LOAD(&m.fired), 0);
	XT_ASSERT_EQ(virq_count(0), v0);
	xl_clock_get_stats(0, &st);
	/*
	 * One stop, by the cancel that worked; a round whose timer fired
	 * first had its singleshot spent by the VIRQ.  One program per
	 * round, plus one per VIRQ that came before the deadline.
	 */
	XT_ASSERT_EQ(st.stops, 1);
	XT_ASSERT_EQ(st.programs, st.virq + 1);
	XT_ASSERT_EQ(st.fired, tries);
	return XT_PASS;
}

/* Several timers share the one clockevent and run in deadline order. */
static uint32_t order_log[8], order_len;

static void order_fn(struct xl_timer *t)
{
	/* A timer run twice must not write past the log. */
	if (order_len < 8)
		order_log[order_len] = (uint32_t)(uintptr_t)t->data;
	order_len++;
}

static bool order_done(void *arg)
{
	return XT_LOAD(&order_len) >= 8;
}

static enum xt_result time_sshot_heap_order(void)
{
	static const unsigned int at[8] = { 7, 3, 5, 1, 8, 2, 6, 4 };
	struct xl_timer t[8];
	unsigned long flags;
	uint64_t base;
	unsigned int i;
	int rc = 0;

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	order_len = 0;
	/*
	 * All armed with delivery masked: under nested TCG arming eight
	 * timers took longer than 2 ms, and the first ones ran before the
	 * rest were armed (measured: "first tags 3 7 5").
	 */
	flags = xl_os_irq_save();
	base = xl_clock_now() + 2 * MS;
	for (i = 0; i < 8; i++) {
		xl_timer_setup(&t[i], order_fn, (void *)(uintptr_t)at[i]);
		rc |= xl_timer_arm(&t[i], base + at[i] * MS);
	}
	/* Re-arming moves a timer: the one at 8 ms goes first, as tag 0. */
	t[4].data = (void *)(uintptr_t)0;
	rc |= xl_timer_arm(&t[4], base);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	if (!xt_wait_until(order_done, NULL, XT_EVENT_TIMEOUT_NS)) {
		struct xl_clock_state cs;

		xl_clock_get_state(xl_os_vcpu_id(), &cs);
		xt_log("%u of 8 ran (first tags %u %u %u); %u still armed, "
		       "the first %lld ns from now; Xen's singleshot %lld ns",
		       XT_LOAD(&order_len), order_log[0], order_log[1],
		       order_log[2], cs.nr_timers,
		       cs.first_deadline ?
			       (long long)(cs.first_deadline - xl_clock_now()) :
			       0,
		       cs.armed ? (long long)(cs.armed - xl_clock_now()) : 0);
		/* The stack's timers must not stay in the clock's heap. */
		for (i = 0; i < 8; i++)
			xl_timer_cancel(&t[i]);
		return XT_FAIL;
	}
	xt_sleep_ns(XT_SETTLE_NS);
	XT_ASSERT_EQ(XT_LOAD(&order_len), 8);
	for (i = 0; i < 8; i++)
		XT_ASSERT_EQ(order_log[i], i);
	return XT_PASS;
}

/*
 * The timer heap under a random load: 96 timers at pseudo-random
 * deadlines (ties included), a third cancelled and some re-armed from
 * inside the heap, then all run.  Each runs once, in deadline order: a
 * heap whose parent or child arithmetic is off hands them out of order or
 * loses some.
 */
#define HEAP_N 96

struct heap_run {
	uint64_t last, ran;
	uint32_t out_of_order;
};

static struct heap_run heap_run;

static void heap_fn(struct xl_timer *t)
{
	if (t->deadline < heap_run.last)
		heap_run.out_of_order++;
	heap_run.last = t->deadline;
	XT_ADD(&heap_run.ran, 1);
}

static bool heap_all_ran(void *arg)
{
	return XT_LOAD(&heap_run.ran) >= *(uint64_t *)arg;
}

static enum xt_result time_sshot_heap_random(void)
{
	static struct xl_timer t[HEAP_N];
	uint64_t rng = 0x9e3779b97f4a7c15ULL, base, want = 0;
	unsigned long flags;
	unsigned int i;
	int rc = 0;

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	heap_run = (struct heap_run){ 0 };
	flags = xl_os_irq_save();
	base = xl_clock_now() + 5 * MS;
	for (i = 0; i < HEAP_N; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		xl_timer_setup(&t[i], heap_fn, NULL);
		/* 64 distinct instants over 20 ms: ties happen. */
		rc |= xl_timer_arm(&t[i], base + (rng % 64) * 312500);
	}
	for (i = 0; i < HEAP_N; i += 3)
		rc |= !xl_timer_cancel(&t[i]);
	for (i = 1; i < HEAP_N; i += 9)
		rc |= xl_timer_arm(&t[i], base + (HEAP_N - i) * 100000);
	for (i = 0; i < HEAP_N; i++)
		want += xl_timer_armed(&t[i]);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT(xt_wait_until(heap_all_ran, &want, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(XT_SETTLE_NS);
	XT_ASSERT_EQ(XT_LOAD(&heap_run.ran), want);
	XT_ASSERT_EQ(heap_run.out_of_order, 0);
	for (i = 0; i < HEAP_N; i++)
		XT_ASSERT(!xl_timer_armed(&t[i]));
	return XT_PASS;
}

/*
 * What the clockevent asks of Xen, counted: a deadline nearer than
 * min_delta (100 us by default, Linux's) is pushed out to it, a later one
 * is given as is; only a new earliest timer re-programs Xen's timer, and
 * the last cancel stops it.  Delivery masked throughout: no VIRQ runs a
 * timer in between.
 */
static enum xt_result time_sshot_programs(void)
{
	struct xl_timer t[3];
	struct xl_clock_state cs;
	struct xl_clock_stats st;
	uint64_t t0, t1, far;
	unsigned long flags;
	unsigned int i;
	int rc = 0;

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	for (i = 0; i < 3; i++)
		xl_timer_setup(&t[i], tmr_fn, NULL);
	flags = xl_os_irq_save();
	t0 = xl_clock_now();
	far = t0 + 1000 * MS;
	rc |= xl_timer_arm(&t[0], far);
	xl_clock_get_state(0, &cs);
	xl_clock_get_stats(0, &st);
	rc |= cs.armed != far || st.programs != 1;
	rc <<= 1;
	/* Later than the first: Xen's timer stays. */
	rc |= xl_timer_arm(&t[1], far + MS);
	xl_clock_get_stats(0, &st);
	rc |= st.programs != 1;
	rc <<= 1;
	/* Earlier than min_delta from now: armed at now + 100 us. */
	t0 = xl_clock_now();
	rc |= xl_timer_arm(&t[2], t0 + 1000);
	t1 = xl_clock_now();
	xl_clock_get_state(0, &cs);
	xl_clock_get_stats(0, &st);
	rc |= cs.armed < t0 + 100000 || cs.armed > t1 + 100000 ||
	      cs.first_deadline != t0 + 1000 || st.programs != 2;
	rc <<= 1;
	/* Cancel the earliest: back to the first; then none: stopped. */
	rc |= !xl_timer_cancel(&t[2]);
	xl_clock_get_state(0, &cs);
	xl_clock_get_stats(0, &st);
	rc |= cs.armed != far || st.programs != 3 || st.stops != 0;
	rc <<= 1;
	rc |= !xl_timer_cancel(&t[0]) || !xl_timer_cancel(&t[1]);
	xl_clock_get_state(0, &cs);
	xl_clock_get_stats(0, &st);
	rc |= cs.armed != 0 || cs.nr_timers != 0 || cs.first_deadline != 0 ||
	      st.programs != 4 || st.stops != 1;
	rc <<= 1;
	/*
	 * Armed for a deadline that is now nearer than min_delta: a
	 * reprogram for the same deadline leaves it (Xen fires it on time),
	 * not pushed out to now + min_delta.
	 */
	t0 = xl_clock_now();
	rc |= xl_timer_arm(&t[0], t0 + 150000);
	rc |= xl_timer_arm(&t[1], far);
	while (xl_clock_now() < t0 + 60000)
		;
	rc |= !xl_timer_cancel(&t[1]); /* reprograms for t[0] */
	xl_clock_get_state(0, &cs);
	xl_clock_get_stats(0, &st);
	/*
	 * Only if the cancel ran before the deadline: on real Xen under
	 * nested TCG the 60 us spin and the cancel's hypercall can take
	 * longer than 150 us, and a deadline already past is another case.
	 */
	if (xl_clock_now() < t0 + 150000)
		rc |= cs.armed != t0 + 150000 || st.programs != 5;
	else
		xt_log("the cancel ran after the deadline: last step not checked");
	xl_timer_cancel(&t[0]);
	xl_os_irq_restore(flags);
	/* Each step's failure is one bit, the first step's the highest. */
	XT_ASSERT_EQ(rc, 0);
	return XT_PASS;
}

/* Re-arming the earliest timer (heap slot 0) moves it; nothing is left. */
static void arm_on_1(void *arg)
{
	struct tmr *m = arg;

	m->now_in_fn =
		(uint64_t)xl_timer_arm(&m->t, xl_clock_now() + 10000 * MS);
}

static void cancel_on_1(void *arg)
{
	struct tmr *m = arg;

	m->now_in_fn = xl_timer_cancel(&m->t);
}

static enum xt_result time_sshot_rearm(void)
{
	static struct xl_timer many[TIMER_HEAP_SIZE + 1];
	const struct xl_clock_config cfg = { .mode = XL_CLOCK_PERIODIC,
					     .hz = 100 };
	struct tmr m = { 0 }, r = { 0 };
	struct xl_clock_state cs;
	unsigned long flags;
	unsigned int i, j;
	uint64_t dl;
	int rc = 0;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	/* No clockevent on this vCPU yet: nothing to arm a timer on. */
	xl_timer_setup(&m.t, tmr_fn, &m);
	XT_ASSERT_EQ(xl_timer_arm(&m.t, xl_clock_now() + MS), -XEN_ENODEV);
	XT_ASSERT(!xl_timer_armed(&m.t));
	/*
	 * vCPU 0 alone picks singleshot: it again gets -EEXIST, vCPU 1 asking
	 * for periodic gets -EBUSY, then singleshot like vCPU 0.
	 */
	XT_ASSERT_EQ(xl_clock_init(&(struct xl_clock_config){
			     .mode = XL_CLOCK_SINGLESHOT }),
		     0);
	XT_ASSERT_EQ(xl_clock_init(&(struct xl_clock_config){
			     .mode = XL_CLOCK_SINGLESHOT }),
		     -XEN_EEXIST);
	{
		struct clock_arg ca = { .cfg = cfg };

		xt_run_on(1, clock_init_on, &ca);
		XT_ASSERT_EQ(ca.rc[1], -XEN_EBUSY);
		ca.cfg =
			(struct xl_clock_config){ .mode = XL_CLOCK_SINGLESHOT };
		xt_run_on(1, clock_init_on, &ca);
		XT_ASSERT_EQ(ca.rc[1], 0);
	}

	flags = xl_os_irq_save();
	dl = xl_clock_now() + 10000 * MS;
	rc |= xl_timer_arm(&m.t, dl);
	rc |= xl_timer_arm(&m.t, dl + MS); /* the root, re-armed */
	xl_clock_get_state(0, &cs);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(cs.nr_timers, 1);
	XT_ASSERT_EQ(cs.first_deadline, dl + MS);
	XT_ASSERT_EQ(cs.armed, dl + MS);
	XT_ASSERT(xl_timer_cancel(&m.t));
	XT_ASSERT(!xl_timer_cancel(&m.t));
	xl_clock_get_state(0, &cs);
	XT_ASSERT_EQ(cs.nr_timers, 0);
	XT_ASSERT_EQ(cs.armed, 0);

	/* Armed on vCPU 1 (its heap's root): vCPU 0 may not move it. */
	xl_timer_setup(&r.t, tmr_fn, &r);
	xt_run_on(1, arm_on_1, &r);
	XT_ASSERT_EQ(r.now_in_fn, 0);
	XT_ASSERT_EQ(xl_timer_arm(&r.t, xl_clock_now() + MS), -XEN_EBUSY);
	XT_ASSERT(!xl_timer_cancel(&r.t));
	XT_ASSERT(xl_timer_armed(&r.t));
	xt_run_on(1, cancel_on_1, &r);
	XT_ASSERT_EQ(r.now_in_fn, 1);

	/* The heap holds XL_TIMERS_PER_CPU timers: one more is -ENOSPC. */
	flags = xl_os_irq_save();
	for (i = 0; i <= TIMER_HEAP_SIZE; i++)
		xl_timer_setup(&many[i], tmr_fn, NULL);
	for (i = 0; i < TIMER_HEAP_SIZE; i++)
		rc |= xl_timer_arm(&many[i], dl + i);
	i = (unsigned int)-xl_timer_arm(&many[TIMER_HEAP_SIZE], dl);
	xl_clock_get_state(0, &cs);
	for (j = 0; j < TIMER_HEAP_SIZE; j++)
		xl_timer_cancel(&many[j]);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(i, XEN_ENOSPC);
	XT_ASSERT_EQ(cs.nr_timers, TIMER_HEAP_SIZE);
	XT_ASSERT_EQ(cs.first_deadline, dl);
	XT_ASSERT(!xl_timer_armed(&many[TIMER_HEAP_SIZE]));
	return XT_PASS;
}

/*
 * xl_clock_init() on a vCPU whose VIRQ_TIMER is taken fails with Xen's
 * error and leaves no clockevent behind (no port, timers refused); the
 * mode chosen by the first vCPU holds while any vCPU still runs it, and
 * is free again once none does.
 */
static void clock_fini_on(void *arg)
{
	xl_clock_fini();
}

static enum xt_result time_clock_init_rules(void)
{
	const struct xl_clock_config ss = { .mode = XL_CLOCK_SINGLESHOT };
	const struct xl_clock_config pe = { .mode = XL_CLOCK_PERIODIC,
					    .hz = 100 };
	struct clock_arg ca = { .cfg = pe };
	struct xl_clock_state cs;
	struct xl_timer t;
	unsigned int cpu;
	evtchn_port_t p;
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, NULL,
					 &p),
		     0);
	rc = xl_clock_init(&ss);
	XT_ASSERT_MSG(rc < 0, "init with VIRQ_TIMER taken: %d", rc);
	xl_clock_get_state(0, &cs);
	XT_ASSERT_EQ(cs.port, 0);
	xl_timer_setup(&t, tmr_fn, NULL);
	XT_ASSERT_EQ(xl_timer_arm(&t, xl_clock_now() + MS), -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);

	/* All vCPUs singleshot; vCPU 0 leaves and comes back. */
	XT_ASSERT_EQ(clock_start_cfg(&ss), XT_PASS);
	xl_clock_get_state(0, &cs);
	XT_ASSERT(cs.port != 0);
	xl_clock_fini();
	XT_ASSERT_EQ(xl_clock_init(&pe), -XEN_EBUSY); /* the others run ss */
	XT_ASSERT_EQ(xl_clock_init(&ss), 0);
	/* All leave: the next init picks the mode. */
	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++)
		xt_run_on(cpu, clock_fini_on, NULL);
	xt_run_on(1, clock_init_on, &ca);
	XT_ASSERT_EQ(ca.rc[1], 0);
	XT_ASSERT_EQ(xl_clock_init(&pe), 0);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_PERIODIC);
	return XT_PASS;
}

/*
 * xl_clock_fini() leaves nothing running: the timers still armed are out
 * of the heap (not armed), and Xen's periodic timer is stopped, so a
 * VIRQ_TIMER bound afterwards sees no tick.
 */
static enum xt_result time_clock_fini_clears(void)
{
	struct xl_timer t[3];
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	unsigned int i, cpu;
	int rc = 0;

	CLOCK_UP(XL_CLOCK_PERIODIC, 1000);
	for (i = 0; i < 3; i++) {
		xl_timer_setup(&t[i], tmr_fn, NULL);
		rc |= xl_timer_arm(&t[i],
				   xl_clock_now() + (10 + i) * 1000 * MS);
	}
	XT_ASSERT_EQ(rc, 0);
	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++)
		xt_run_on(cpu, clock_fini_on, NULL);
	for (i = 0; i < 3; i++)
		XT_ASSERT(!xl_timer_armed(&t[i]));
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, &r, &p),
		     0);
	xt_sleep_ns(50 * MS);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 0);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

/* --- set_timer_op and VCPUOP_set_singleshot_timer ---------------------------------- */

static long raw_set_timer_op(uint64_t abs_ns)
{
	return xl_os_hypercall(__HYPERVISOR_set_timer_op, abs_ns, 0, 0, 0, 0);
}

static long raw_sshot(uint64_t abs_ns, uint32_t flags)
{
	struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = abs_ns,
					       .flags = flags };

	return xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, xl_os_vcpu_id(), &t);
}

/*
 * Both arm the one singleshot timer of the vCPU (do_set_timer_op,
 * common/sched/core.c; VCPUOP_set_singleshot_timer, common/domain.c):
 * each replaces what the other armed, and 0 / VCPUOP_stop_singleshot_timer
 * cancels either; a deadline in the past fires at once through both.
 */
static enum xt_result time_set_timer_op(void)
{
	static struct xt_rec tmr;
	evtchn_port_t tp;
	uint64_t now, fired;

	tmr = (struct xt_rec){ 0 };
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, &tmr,
					 &tp),
		     0);
	xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);

	/*
	 * set_timer_op fires once, not before its deadline by Xen's clock,
	 * which may be ahead of this vCPU's by XT_CLOCK_SKEW_NS.
	 */
	now = xl_clock_now();
	XT_ASSERT_EQ(raw_set_timer_op(now + 50 * MS), 0);
	XT_ASSERT_EQ(xt_rec_wait(&tmr, 1), 1);
	fired = xl_clock_now();
	if (fired < now + 50 * MS)
		xt_log("VIRQ_TIMER %llu ns early by this vCPU's clock",
		       (unsigned long long)(now + 50 * MS - fired));
	XT_ASSERT_MSG(fired + XT_CLOCK_SKEW_NS >= now + 50 * MS,
		      "VIRQ_TIMER %llu ns before the deadline",
		      (unsigned long long)(now + 50 * MS - fired));
	xt_sleep_ns(50 * MS);
	XT_ASSERT_EQ(XT_LOAD(&tmr.count), 1);

	/*
	 * set_timer_op(0) cancels.  Deadlines 500 ms out: a vCPU descheduled
	 * between the two calls for less than that cannot see it fire.
	 */
	XT_ASSERT_EQ(raw_set_timer_op(xl_clock_now() + 500 * MS), 0);
	XT_ASSERT_EQ(raw_set_timer_op(0), 0);
	xt_sleep_ns(600 * MS);
	XT_ASSERT_EQ(XT_LOAD(&tmr.count), 1);

	/* The singleshot op replaces a set_timer_op deadline (one timer). */
	now = xl_clock_now();
	XT_ASSERT_EQ(raw_set_timer_op(now + 500 * MS), 0);
	XT_ASSERT_EQ(raw_sshot(now + 1000 * MS, 0), 0);
	xt_sleep_ns(600 * MS);
	XT_ASSERT_EQ(XT_LOAD(&tmr.count), 1);
	XT_ASSERT_EQ(xt_rec_wait(&tmr, 2), 2);
	XT_ASSERT(xl_clock_now() >= now + 1000 * MS);

	/* VCPUOP_stop_singleshot_timer cancels a set_timer_op deadline. */
	XT_ASSERT_EQ(raw_set_timer_op(xl_clock_now() + 500 * MS), 0);
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL), 0);
	xt_sleep_ns(600 * MS);
	XT_ASSERT_EQ(XT_LOAD(&tmr.count), 2);

	/*
	 * A past deadline fires at once through either op: Xen 4.17.7
	 * ignores VCPU_SSHOTTMR_future (commit 7b5155a79e, "xen/vcpu:
	 * ignore VCPU_SSHOTTMR_future"; 4.17.0 returned -ETIME).
	 */
	now = xl_clock_now();
	XT_ASSERT_EQ(raw_sshot(now - 1 * MS, VCPU_SSHOTTMR_future), 0);
	XT_ASSERT_EQ(xt_rec_wait(&tmr, 3), 3);
	XT_ASSERT_EQ(raw_set_timer_op(xl_clock_now() - 1 * MS), 0);
	XT_ASSERT_EQ(xt_rec_wait(&tmr, 4), 4);
	XT_ASSERT_MSG(xl_clock_now() - now < 1000 * MS,
		      "past deadlines took %llu ms to fire",
		      (unsigned long long)((xl_clock_now() - now) / MS));
	return XT_PASS;
}

/* --- periodic ------------------------------------------------------------ */

/* This vCPU's runstate time in state (VCPUOP_get_runstate_info). */
static uint64_t runstate_ns(int state)
{
	struct vcpu_runstate_info ri;

	if (xl_hc_vcpu_op(VCPUOP_get_runstate_info, xl_os_vcpu_id(), &ri))
		return 0;
	return ri.time[state];
}

/*
 * Xen runs a vCPU's periodic timer while the vCPU runs, stops it while
 * the vCPU is descheduled, and on switch-in sends one event if a period
 * passed (sched_context_switch, vcpu_periodic_timer_work).  So at most
 * one VIRQ per period of wall time, and about one per period of the
 * vCPU's running time: the lower bound is taken from the runstate, not
 * from wall time, which a loaded host (another guest, QEMU TCG on shared
 * cores) can take away.
 */
static enum xt_result periodic_rate(unsigned int hz)
{
	uint64_t v0, v1, p0, p1, r0, r1, expect, expect_ran, ticks, now;
	uint64_t period = NS_PER_S / hz;
	struct xl_clock_stats s0, s1;
	struct xl_clock_state cs0, cs1;
	unsigned int i, far_ahead = 0;
	unsigned long flags;

	CLOCK_UP(XL_CLOCK_PERIODIC, hz);
	/*
	 * Stats, state and clock in one masked section: no VIRQ is counted
	 * between them, so the window [p0, p1] holds every tick the stats
	 * count (a vCPU descheduled between two unmasked reads once made
	 * the count look 5 boundaries too high for the window).
	 */
	flags = xl_os_irq_save();
	xl_clock_get_stats(0, &s0);
	xl_clock_get_state(0, &cs0);
	p0 = xl_clock_now();
	xl_os_irq_restore(flags);
	v0 = s0.virq;
	r0 = runstate_ns(RUNSTATE_running);
	/*
	 * Running (not blocked): Xen keeps the periodic timer going.  The
	 * next tick boundary the clockevent expects is never more than a
	 * period ahead (a tick counted twice pushes it further).
	 */
	for (i = 0; i < 30; i++) {
		struct xl_clock_state cs;

		flags = xl_os_irq_save();
		xl_clock_get_state(0, &cs);
		now = xl_clock_now();
		xl_os_irq_restore(flags);
		if (cs.next_tick > now + period)
			far_ahead++;
		xt_sleep_ns(10 * MS);
	}
	r1 = runstate_ns(RUNSTATE_running);
	flags = xl_os_irq_save();
	xl_clock_get_stats(0, &s1);
	xl_clock_get_state(0, &cs1);
	p1 = xl_clock_now();
	xl_os_irq_restore(flags);
	v1 = s1.virq;
	expect = (p1 - p0) * hz / 1000000000ULL;
	expect_ran = (r1 - r0) * hz / 1000000000ULL;
	xt_log("%u Hz: %llu VIRQ_TIMER in %llu ms (expected %llu; ran %llu "
	       "ms: %llu)",
	       hz, (unsigned long long)(v1 - v0),
	       (unsigned long long)((p1 - p0) / MS), (unsigned long long)expect,
	       (unsigned long long)((r1 - r0) / MS),
	       (unsigned long long)expect_ran);
	XT_ASSERT_MSG(v1 - v0 >= 1 && v1 - v0 >= expect_ran / 4 &&
			      v1 - v0 <= expect + 3,
		      "%llu ticks, expected about %llu (%llu for the time "
		      "it ran)",
		      (unsigned long long)(v1 - v0), (unsigned long long)expect,
		      (unsigned long long)expect_ran);
	/*
	 * The tick boundaries counted: each moved the next boundary on by
	 * exactly one period; none had yet to pass (the next boundary is
	 * ahead of the clock, by at most a period); and at least one per two
	 * VIRQs (a VIRQ a little early by this vCPU's clock counts none; the
	 * next counts both).  Boundaries that passed before p0 while a VIRQ
	 * was late are counted in the window: the bound is the next
	 * boundary's, not the window's length.
	 */
	ticks = s1.ticks - s0.ticks;
	XT_ASSERT_MSG(ticks * period == cs1.next_tick - cs0.next_tick,
		      "%llu ticks counted, the next boundary moved %llu ns",
		      (unsigned long long)ticks,
		      (unsigned long long)(cs1.next_tick - cs0.next_tick));
	XT_ASSERT_MSG(ticks >= (v1 - v0) / 2 && cs1.next_tick <= p1 + period,
		      "%llu ticks counted for %llu VIRQs (%llu boundaries in "
		      "the window); next boundary %lld ns after the clock",
		      (unsigned long long)ticks, (unsigned long long)(v1 - v0),
		      (unsigned long long)expect,
		      (long long)(cs1.next_tick - p1));
	XT_ASSERT_MSG(far_ahead == 0,
		      "next tick more than a period ahead in %u of 30 looks",
		      far_ahead);
	/* Running, not idle: Xen's periodic timer alone, no singleshot. */
	XT_ASSERT_EQ(s1.programs, s0.programs);
	XT_ASSERT_EQ(s1.stops, s0.stops);
	XT_ASSERT_EQ(s1.idle_wakeups, s0.idle_wakeups);
	return XT_PASS;
}

static enum xt_result time_periodic_100hz(void)
{
	return periodic_rate(100);
}

static enum xt_result time_periodic_1000hz(void)
{
	return periodic_rate(1000);
}

/* VCPUOP_set_periodic_timer: 1 ms .. STIME_DELTA_MAX (domain.c). */
static enum xt_result time_periodic_bounds(void)
{
	struct vcpu_set_periodic_timer pt;
	struct xl_clock_config cfg = { .mode = XL_CLOCK_PERIODIC };

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	pt.period_ns = MS - 1;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt),
		     -XEN_EINVAL);
	pt.period_ns = 0;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt),
		     -XEN_EINVAL);
	pt.period_ns = (~0ULL >> 2) + 1;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt),
		     -XEN_EINVAL);
	pt.period_ns = MS;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt), 0);
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
	/* The periodic timer of another vCPU may be set; not singleshot. */
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_stop_periodic_timer,
				   xt_nr_vcpus() - 1, NULL),
		     0);
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, xt_nr_vcpus(),
				   NULL),
		     -XEN_ENOENT);
	/* The core refuses what Xen would. */
	cfg.hz = 1001;
	XT_ASSERT_EQ(xl_clock_init(&cfg), -XEN_EINVAL);
	cfg.hz = 0;
	XT_ASSERT_EQ(xl_clock_init(&cfg), -XEN_EINVAL);
	return XT_PASS;
}

/*
 * A blocked vCPU with only a periodic timer is NOT woken by it: Xen stops
 * the periodic timer when the vCPU is descheduled (sched/core.c,
 * sched_context_switch).  Seed 000 says otherwise; this is the check.  On
 * switch-in, one coalesced overdue tick arrives.
 */
struct blk_arg {
	struct xt_rec timer, ipi;
	uint32_t returns, in_loop;
};

static bool ipi_seen(struct blk_arg *a)
{
	return XT_LOAD(&a->ipi.count) != 0;
}

static void blocked_periodic(void *arg)
{
	struct blk_arg *a = arg;
	struct vcpu_set_periodic_timer pt = { .period_ns = MS };

	xl_hc_vcpu_op(VCPUOP_set_periodic_timer, xl_os_vcpu_id(), &pt);
	while (XT_LOAD(&a->timer.count) < 5)
		;
	XT_STORE(&a->in_loop, 1);
	while (!ipi_seen(a)) {
		unsigned long flags = xl_os_irq_save();

		if (!ipi_seen(a))
			xl_idle_halt();
		xl_os_irq_restore(flags);
		XT_ADD(&a->returns, 1);
	}
	xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, xl_os_vcpu_id(), NULL);
}

static bool blk_in_loop(void *arg)
{
	return XT_LOAD(&((struct blk_arg *)arg)->in_loop);
}

static enum xt_result time_periodic_no_wake_blocked(void)
{
	struct blk_arg a = { 0 };
	evtchn_port_t tp, ip;
	uint64_t c0, r0;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 1, xt_rec_handler,
					 &a.timer, &tp),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &a.ipi, &ip), 0);
	xt_start_on(1, blocked_periodic, &a);
	XT_ASSERT(xt_wait_until(blk_in_loop, &a, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(20 * MS);
	c0 = XT_LOAD(&a.timer.count);
	r0 = XT_LOAD(&a.returns);
	xt_sleep_ns(100 * MS);
	xt_log("blocked 100 ms: %llu ticks, %llu wakeups",
	       (unsigned long long)(XT_LOAD(&a.timer.count) - c0),
	       (unsigned long long)(XT_LOAD(&a.returns) - r0));
	XT_ASSERT_EQ(XT_LOAD(&a.timer.count), c0);
	XT_ASSERT_EQ(XT_LOAD(&a.returns), r0);
	XT_ASSERT_EQ(xl_evtchn_send(ip), 0);
	xt_wait_on(1);
	XT_ASSERT(XT_LOAD(&a.timer.count) > c0);
	/* a is this frame's: no VIRQ may reach its handler after we return. */
	XT_ASSERT_EQ(xl_evtchn_close(tp), 0);
	return XT_PASS;
}

/* An HVM/PVH vCPU starts with no periodic timer (only PV gets 100 Hz). */
static enum xt_result time_no_default_tick(void)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, &r, &p),
		     0);
	xt_sleep_ns(50 * MS);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 0);
	/* r is this frame's: no VIRQ may reach its handler after we return. */
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

/* PV: the default 100 Hz tick runs, and singleshot mode stops it. */
static enum xt_result time_pv_tick_stopped(void)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	uint64_t v0;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, &r, &p),
		     0);
	xt_sleep_ns(100 * MS);
	xt_log("PV default tick: %llu in 100 ms",
	       (unsigned long long)XT_LOAD(&r.count));
	XT_ASSERT(XT_LOAD(&r.count) >= 3);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	XT_ASSERT_EQ(clock_start(XL_CLOCK_SINGLESHOT, 0), XT_PASS);
	v0 = virq_count(0);
	xt_sleep_ns(100 * MS);
	XT_ASSERT_EQ(virq_count(0), v0);
	return XT_PASS;
}

/* --- idle -------------------------------------------------------------- */

struct idle_arg {
	struct tmr m;
	uint64_t deadline;
	struct xl_idle_stats i0, i1; /* the idling vCPU's, around the idle */
	struct xl_clock_stats c0, c1;
	struct xl_clock_state cs; /* after the idle */
	uint32_t blocks;
	uint32_t hz_ticks; /* periodic: ticks seen during idle */
	uint64_t wakeups;  /* VIRQ_TIMER wakeups during idle */
	uint64_t until;
	uint32_t early; /* idle_until_timer: timers that fired before idle */
};

/*
 * Tickless idle: the singleshot timer ends the block, on time.  A timer
 * that fired before the idle began (this vCPU descheduled past its
 * deadline by a loaded host: "0 blocks, 0 idle wakeups" once on real
 * Xen) proves nothing either way: tried again, further out, up to five
 * times (5..80 ms).  Only that case: an idle that returns without
 * blocking on a timer still ahead fails at once.
 */
static void idle_until_timer(void *arg)
{
	struct idle_arg *a = arg;
	unsigned int try;
	uint64_t idle_at;

	for (try = 0; try < 5; try++) {
		a->m = (struct tmr){ 0 };
		xl_timer_setup(&a->m.t, tmr_fn, &a->m);
		xl_idle_get_stats(1, &a->i0);
		xl_clock_get_stats(1, &a->c0);
		a->deadline = xl_clock_now() + (5 * MS << try);
		xl_timer_arm(&a->m.t, a->deadline);
		idle_at = xl_clock_now();
		a->blocks = (uint32_t)xl_idle_until(tmr_fired, &a->m);
		xl_idle_get_stats(1, &a->i1);
		xl_clock_get_stats(1, &a->c1);
		xl_clock_get_state(1, &a->cs);
		/* Again only if the timer had fired before the idle began. */
		if (!XT_LOAD(&a->m.fired) || a->m.t.fired_at >= idle_at)
			return;
		a->early++;
	}
}

static enum xt_result time_idle_sshot_wakes(void)
{
	struct idle_arg a = { 0 };
	struct xl_clock_stats st;

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	xt_run_on(1, idle_until_timer, &a);
	if (a.early)
		xt_log("%u timer(s) fired before the idle began", a.early);
	XT_ASSERT_EQ(a.m.fired, 1);
	XT_ASSERT(a.m.t.fired_at >= a.deadline);
	/*
	 * xl_idle_until() returns the blocks it made, which the idle stats
	 * count too; the timer's VIRQ ended one (a VIRQ early by this vCPU's
	 * clock may have ended another), and nothing else woke the vCPU.
	 */
	XT_ASSERT_EQ(a.blocks, a.i1.blocks - a.i0.blocks);
	XT_ASSERT_EQ(a.i1.polls, a.i0.polls);
	xl_clock_get_stats(1, &st);
	XT_ASSERT_MSG(
		a.blocks >= 1 && a.blocks <= 3 &&
			a.c1.idle_wakeups - a.c0.idle_wakeups >= 1 &&
			a.c1.idle_wakeups - a.c0.idle_wakeups <= a.blocks,
		"%u blocks, %llu idle wakeups", a.blocks,
		(unsigned long long)(a.c1.idle_wakeups - a.c0.idle_wakeups));
	XT_ASSERT_EQ(st.idle_wakeups, a.c1.idle_wakeups);
	XT_ASSERT_EQ(a.cs.idle, 0); /* out of the idle: not marked idle */
	return XT_PASS;
}

/*
 * Many short timers, each ended by an idle block: a wakeup that lands
 * after the idle's last look at its condition and before the vCPU really
 * blocks must not be lost.  On PVH the windows are sti..hlt (which the STI
 * shadow should close) and, with SCHEDOP_block, the hypercall itself (the
 * test kernel's idle=block skips a hypercall an upcall landed on).  A lost
 * wakeup leaves the vCPU blocked until the next timer: the rescue timer,
 * 2 s out, so the timer's wakeup was lost iff the rescue ran first.
 */
#define WINDOW_ROUNDS 600
#define RESCUE_NS (2000 * MS)

struct window {
	struct tmr m, rescue;
	uint32_t lost, rounds;
	uint64_t blocks;
	int arm_err;
};

static bool window_done(void *arg)
{
	struct window *w = arg;

	return XT_LOAD(&w->m.fired) || XT_LOAD(&w->rescue.fired);
}

static void window_loop(void *arg)
{
	struct window *w = arg;
	uint64_t rng = 0x2545f4914f6cdd1dULL, now;
	unsigned long flags;
	unsigned int i;

	xl_timer_setup(&w->m.t, tmr_fn, &w->m);
	xl_timer_setup(&w->rescue.t, tmr_fn, &w->rescue);
	for (i = 0; i < WINDOW_ROUNDS; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		XT_STORE(&w->m.fired, 0);
		XT_STORE(&w->rescue.fired, 0);
		flags = xl_os_irq_save();
		now = xl_clock_now();
		/*
		 * 3 us .. 1.8 ms out, swept: early ones fire before the vCPU
		 * idles, late ones after it blocked, and some in between,
		 * while it is on its way into the block, wherever that is on
		 * this machine (the clock's min_delta is 1 us here).
		 */
		w->arm_err |= xl_timer_arm(&w->m.t, now + (i % 600 + 1) * 3000 +
							    (rng & 2047));
		w->arm_err |= xl_timer_arm(&w->rescue.t, now + RESCUE_NS);
		xl_os_irq_restore(flags);
		w->blocks += xl_idle_until(window_done, w);
		if (XT_LOAD(&w->rescue.fired))
			w->lost++;
		flags = xl_os_irq_save();
		xl_timer_cancel(&w->m.t);
		xl_timer_cancel(&w->rescue.t);
		xl_os_irq_restore(flags);
		w->rounds++;
	}
}

static enum xt_result time_idle_wake_window(void)
{
	const struct xl_clock_config cfg = { .mode = XL_CLOCK_SINGLESHOT,
					     .min_delta_ns = 1000 };
	struct window w = { 0 };

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(clock_start_cfg(&cfg), XT_PASS);
	xt_run_on(1, window_loop, &w);
	xt_log("%u timers on vCPU 1, %llu blocks, %u wakeups lost", w.rounds,
	       (unsigned long long)w.blocks, w.lost);
	XT_ASSERT_EQ(w.arm_err, 0);
	XT_ASSERT_EQ(w.rounds, WINDOW_ROUNDS);
	XT_ASSERT_EQ(w.lost, 0);
	XT_ASSERT(w.blocks >= 1);
	return XT_PASS;
}

/* Periodic idle keeps the tick: the core arms the next tick boundary. */
static bool idle_over(void *arg)
{
	return xl_clock_now() >= ((struct idle_arg *)arg)->until;
}

static void idle_for(void *arg)
{
	struct idle_arg *a = arg;
	struct xl_clock_stats s0, s1;

	/* Counted here, on the idling vCPU: not the hand-over to it. */
	xl_clock_get_stats(1, &s0);
	xl_idle_get_stats(1, &a->i0);
	a->blocks = (uint32_t)xl_idle_until(idle_over, a);
	xl_idle_get_stats(1, &a->i1);
	xl_clock_get_stats(1, &s1);
	a->hz_ticks = (uint32_t)(s1.ticks - s0.ticks);
	a->wakeups = s1.idle_wakeups - s0.idle_wakeups;
	a->c0 = s0;
	a->c1 = s1;
}

static enum xt_result time_idle_periodic_tick(void)
{
	struct idle_arg a = { 0 };

	CLOCK_UP(XL_CLOCK_PERIODIC, 100);
	a.until = xl_clock_now() + 200 * MS;
	xt_run_on(1, idle_for, &a);
	xt_log("100 Hz idle 200 ms: %u ticks, %u blocks, %llu VIRQ wakeups; "
	       "%llu VIRQs, %llu programs, %llu stops",
	       a.hz_ticks, a.blocks, (unsigned long long)a.wakeups,
	       (unsigned long long)(a.c1.virq - a.c0.virq),
	       (unsigned long long)(a.c1.programs - a.c0.programs),
	       (unsigned long long)(a.c1.stops - a.c0.stops));
	XT_ASSERT(a.hz_ticks >= 5 && a.hz_ticks <= 23);
	/*
	 * About one wakeup per tick, from both sides: a VIRQ early by this
	 * vCPU's clock counts no tick, so some slack above; ~50 times too
	 * many (a VIRQ every min_delta) or none fail.  One block per wakeup.
	 * A set_singleshot_timer follows a VIRQ or a stop, plus the first
	 * arm; a stop only a singleshot clamped to min_delta (a handler run
	 * within min_delta of the next boundary: rare), not the next
	 * boundary's, which xl_clock_idle_exit() keeps armed.
	 */
	XT_ASSERT_MSG(a.wakeups >= 5 &&
			      a.wakeups <= a.hz_ticks + a.hz_ticks / 2 + 3,
		      "%llu wakeups for %u ticks",
		      (unsigned long long)a.wakeups, a.hz_ticks);
	XT_ASSERT_EQ(a.blocks, a.i1.blocks - a.i0.blocks);
	XT_ASSERT_MSG(a.blocks >= a.wakeups / 2 && a.blocks <= a.wakeups + 3,
		      "%u blocks for %llu wakeups", a.blocks,
		      (unsigned long long)a.wakeups);
	XT_ASSERT_MSG(a.c1.programs - a.c0.programs <= a.c1.virq - a.c0.virq +
							       a.c1.stops -
							       a.c0.stops + 1,
		      "%llu programs for %llu VIRQs",
		      (unsigned long long)(a.c1.programs - a.c0.programs),
		      (unsigned long long)(a.c1.virq - a.c0.virq));
	XT_ASSERT_MSG(a.c1.stops - a.c0.stops <= a.wakeups / 4 + 2,
		      "%llu stops in %llu wakeups",
		      (unsigned long long)(a.c1.stops - a.c0.stops),
		      (unsigned long long)a.wakeups);
	return XT_PASS;
}

/*
 * Periodic idle with the timer VIRQ taken inside the idle window: after
 * xl_clock_idle_enter() armed the next tick boundary and before the vCPU
 * blocks.  On hardware the STI shadow keeps a VIRQ out of sti..hlt, but
 * QEMU's nested SVM delivers there (the test kernel's idle=stepover), and
 * a periodic HVM guest of xenlite.ko then halted on both vCPUs
 * (docs/linux-module.md).  Here the window is held open on purpose: the
 * vCPU waits with delivery on until the armed boundary has passed (so the
 * singleshot is spent and its VIRQ handled), then blocks.  Xen stops a
 * blocked vCPU's periodic timer, so only a tick the handler re-armed can
 * end the block; a rescue IPI 500 ms later tells a kept tick from a lost
 * one.
 */
#define RESCUE_WAIT_NS (500 * MS)

struct win_arg {
	struct xt_rec ipi;
	uint64_t armed_tick, virq_in_window, slept;
	uint32_t blocked, woke;
	bool rescued;
};

static void periodic_window(void *arg)
{
	struct win_arg *a = arg;
	unsigned int cpu = xl_os_vcpu_id();
	struct vcpu_info *vi = xl_os_vcpu_info(cpu);
	struct xl_clock_state st;
	unsigned long flags;
	uint64_t v0, t0;

	flags = xl_os_irq_save();
	xl_clock_idle_enter(cpu);
	xl_clock_get_state(cpu, &st);
	a->armed_tick = st.armed;
	v0 = virq_count(cpu);
	xl_os_irq_restore(flags);
	/* The window: delivery on, the tick armed, the block not yet made. */
	while (xl_clock_now() < a->armed_tick + MS || virq_count(cpu) == v0)
		;
	a->virq_in_window = virq_count(cpu) - v0;
	flags = xl_os_irq_save();
	t0 = xl_clock_now();
	XT_STORE(&a->blocked, 1);
	if (!xl_read8(&vi->evtchn_upcall_pending))
		xl_os_safe_halt();
	a->slept = xl_clock_now() - t0;
	a->rescued = XT_LOAD(&a->ipi.count) != 0;
	xl_clock_idle_exit(cpu);
	xl_os_irq_restore(flags);
	XT_STORE(&a->woke, 1);
}

static bool win_woke(void *arg)
{
	return XT_LOAD(&((struct win_arg *)arg)->woke) != 0;
}

static bool win_blocked(void *arg)
{
	return XT_LOAD(&((struct win_arg *)arg)->blocked) != 0;
}

static enum xt_result time_idle_periodic_virq_in_window(void)
{
	struct win_arg a = { 0 };
	evtchn_port_t ip;

	CLOCK_UP(XL_CLOCK_PERIODIC, 100);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &a.ipi, &ip), 0);
	xt_start_on(1, periodic_window, &a);
	XT_ASSERT(xt_wait_until(win_blocked, &a, XT_EVENT_TIMEOUT_NS));
	if (!xt_wait_until(win_woke, &a, RESCUE_WAIT_NS))
		XT_ASSERT_EQ(xl_evtchn_send(ip), 0);
	xt_wait_on(1);
	xt_log("%llu VIRQs in the window, then blocked %llu us%s",
	       (unsigned long long)a.virq_in_window,
	       (unsigned long long)(a.slept / 1000),
	       a.rescued ? " (rescued by the IPI)" : "");
	XT_ASSERT_MSG(!a.rescued,
		      "the tick was lost: only the rescue IPI ended the block");
	XT_ASSERT(a.virq_in_window >= 1);
	return XT_PASS;
}

/*
 * xl_idle_halt() with an event already pending does not block (it would
 * sleep with the event unhandled until something else came): it counts a
 * skip and returns false.  With nothing pending it blocks until the event
 * comes, counts a block and returns true.  Delivery is masked around each
 * call, as its callers do.
 */
struct halt_arg {
	evtchn_port_t self;
	struct xt_rec *r;
	struct tmr m;
	struct xl_idle_stats s0, s1, s2;
	uint64_t handled_in_halt;
	bool blocked_pending, blocked_idle;
	int send_rc, arm_rc;
};

static void halt_pending(void *arg)
{
	struct halt_arg *a = arg;
	unsigned int cpu = xl_os_vcpu_id();
	unsigned long flags;

	xl_idle_get_stats(cpu, &a->s0);
	flags = xl_os_irq_save();
	a->send_rc = xl_evtchn_send(a->self); /* pending, not delivered */
	a->blocked_pending = xl_idle_halt();
	a->handled_in_halt = XT_LOAD(&a->r->count);
	xl_os_irq_restore(flags); /* the handler runs now */
	xl_idle_get_stats(cpu, &a->s1);
	xl_timer_setup(&a->m.t, tmr_fn, &a->m);
	flags = xl_os_irq_save();
	a->arm_rc = xl_timer_arm(&a->m.t, xl_clock_now() + 2 * MS);
	a->blocked_idle = xl_idle_halt();
	xl_os_irq_restore(flags);
	xl_idle_get_stats(cpu, &a->s2);
}

static enum xt_result time_idle_halt_pending(void)
{
	struct xt_rec r = { 0 };
	struct halt_arg a = { .r = &r };

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &a.self), 0);
	xt_run_on(1, halt_pending, &a);
	XT_ASSERT_EQ(a.send_rc, 0);
	XT_ASSERT_EQ(a.arm_rc, 0);
	XT_ASSERT(!a.blocked_pending);
	XT_ASSERT_EQ(a.handled_in_halt, 0);
	XT_ASSERT_EQ(a.s1.skipped - a.s0.skipped, 1);
	XT_ASSERT_EQ(a.s1.blocks, a.s0.blocks);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 1);
	/* Nothing pending: a block, which the timer's VIRQ ended. */
	XT_ASSERT(a.blocked_idle);
	XT_ASSERT_EQ(XT_LOAD(&a.m.fired), 1);
	XT_ASSERT_EQ(a.s2.blocks - a.s1.blocks, 1);
	XT_ASSERT_EQ(a.s2.skipped, a.s1.skipped);
	XT_ASSERT_EQ(a.s2.polls, a.s0.polls);
	return XT_PASS;
}

/*
 * Idle on a vCPU with no clockevent: the clock's idle hooks leave it
 * alone (no idle mark left behind, no singleshot armed), whatever mode
 * the last clockevent ran.
 */
struct noclk_arg {
	evtchn_port_t self;
	bool blocked;
	struct xl_clock_state cs;
	struct xl_idle_stats s0, s1;
};

static void idle_no_clock(void *arg)
{
	struct noclk_arg *a = arg;
	unsigned long flags;

	xl_idle_get_stats(1, &a->s0);
	flags = xl_os_irq_save();
	xl_evtchn_send(a->self);
	a->blocked = xl_idle_halt();
	xl_clock_get_state(1, &a->cs);
	xl_os_irq_restore(flags);
	xl_idle_get_stats(1, &a->s1);
}

static enum xt_result time_idle_no_clock(void)
{
	struct xt_rec r = { 0 };
	struct noclk_arg a = { 0 };

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &a.self), 0);
	xt_run_on(1, idle_no_clock, &a);
	XT_ASSERT(!a.blocked);
	XT_ASSERT_EQ(a.s1.skipped - a.s0.skipped, 1);
	XT_ASSERT_EQ(a.cs.idle, 0);
	XT_ASSERT_EQ(a.cs.armed, 0);
	XT_ASSERT_EQ(a.cs.port, 0);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 1);
	return XT_PASS;
}

/* --- SCHEDOP_poll -------------------------------------------------------- */

struct poll_arg {
	evtchn_port_t port;
	uint64_t timeout;
	int rc;
	uint32_t started;
	bool upcall_pending; /* at return, before delivery was unmasked */
	uint64_t t0, t1;
};

static void poll_on(void *arg)
{
	struct poll_arg *a = arg;
	unsigned long flags = xl_os_irq_save();

	XT_STORE(&a->started, 1);
	a->t0 = xl_clock_now();
	a->rc = xl_idle_poll(&a->port, 1, a->timeout);
	a->t1 = xl_clock_now();
	a->upcall_pending = xl_read8(
		&xl_os_vcpu_info(xl_os_vcpu_id())->evtchn_upcall_pending);
	xl_os_irq_restore(flags);
}

/*
 * The poll is 50 ms and may end early by Xen's clock by at most
 * XT_CLOCK_SKEW_NS; a poll that ignored its timeout would come back the
 * whole 50 ms early.
 */
#define POLL_TIMEOUT_NS (50 * MS)
#define POLL_MAX_RETURNS 100000

/*
 * Poll a port that nothing sends on until the absolute timeout, as a
 * caller would, again after each early return: SCHEDOP_poll also returns
 * 0 early when an event is sent to the vCPU (on HVM/PVH,
 * vcpu_mark_events_pending -> vcpu_kick -> vcpu_unblock,
 * xen/arch/x86/hvm/irq.c) and when Xen's clock reaches the timeout before
 * the guest's does (then each poll again returns at once, Xen's timer
 * being in its past, until the guest's clock gets there too).  Each early
 * return needs one of those two reasons; one with neither fails.
 */
static enum xt_result poll_until_timeout(struct poll_arg *pa, uint64_t timeout)
{
	unsigned int i, upcalls = 0;
	uint64_t early, first_early = 0;

	for (i = 0; i < POLL_MAX_RETURNS; i++) {
		pa->timeout = timeout;
		poll_on(pa);
		XT_ASSERT_EQ(pa->rc, 0);
		if (pa->t1 >= timeout)
			break;
		early = timeout - pa->t1;
		if (!i)
			first_early = early;
		upcalls += pa->upcall_pending;
		XT_ASSERT_MSG(pa->upcall_pending || early <= XT_CLOCK_SKEW_NS,
			      "poll %u returned %llu ns before its timeout, "
			      "no upcall pending",
			      i, (unsigned long long)early);
	}
	XT_ASSERT_MSG(i < POLL_MAX_RETURNS, "%u early returns", i);
	if (i)
		xt_log("%u early returns (%u with an upcall pending), the first "
		       "%llu ns before the timeout",
		       i, upcalls, (unsigned long long)first_early);
	return XT_PASS;
}

static bool poll_started(void *arg)
{
	return XT_LOAD(&((struct poll_arg *)arg)->started);
}

static enum xt_result time_poll(void)
{
	static evtchn_port_t many[XL_POLL_MAX_PORTS + 1];
	struct xt_rec ra = { 0 }, rb = { 0 };
	struct poll_arg pa = { 0 };
	evtchn_port_t a, b;
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xt_loopback(&ra, &rb, &a, &b), 0);
	/* Masked ports keep PENDING: what a poller waits on. */
	xl_evtchn_mask(b);

	/* Not pending: returns 0 at the timeout, not before. */
	pa.port = b;
	if (poll_until_timeout(&pa, xl_clock_now() + POLL_TIMEOUT_NS) !=
	    XT_PASS)
		return XT_FAIL;

	/* Pending: returns at once (well before a 10 s timeout). */
	XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	XT_ASSERT(xl_evtchn_is_pending(b));
	pa.timeout = xl_clock_now() + 10000 * MS;
	poll_on(&pa);
	XT_ASSERT_EQ(pa.rc, 0);
	XT_ASSERT(pa.t1 < pa.timeout);
	xl_evtchn_clear_pending(b);

	/* Woken by a send to the polled port from another vCPU. */
	pa = (struct poll_arg){ .port = b };
	xt_start_on(1, poll_on, &pa);
	XT_ASSERT(xt_wait_until(poll_started, &pa, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(10 * MS);
	XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	xt_wait_on(1);
	XT_ASSERT_EQ(pa.rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&rb.count), 1); /* masked: no handler run */

	/* More than 128 ports, or a bad port: -EINVAL (do_poll). */
	for (i = 0; i <= XL_POLL_MAX_PORTS; i++)
		many[i] = b;
	XT_ASSERT_EQ(xl_idle_poll(many, XL_POLL_MAX_PORTS + 1, 0), -XEN_EINVAL);
	many[0] = xl_evtchn_max_ports() + 7;
	XT_ASSERT_EQ(xl_idle_poll(many, 1, 0), -XEN_EINVAL);
	return XT_PASS;
}

/* --- runstate ------------------------------------------------------------ */

static void read_own_area(void *arg)
{
	struct vcpu_runstate_info *area = arg;

	area[1] = area[0]; /* a copy taken while this vCPU runs */
}

/*
 * VCPUOP_get_runstate_info: the four times add up to the time elapsed
 * (vcpu_runstate_get adds the current state's time); an idle vCPU
 * accrues blocked time; a registered area follows the state.
 */
static enum xt_result time_runstate(void)
{
	struct vcpu_runstate_info r1, r2, self, area[2];
	struct vcpu_register_runstate_memory_area ra;
	uint64_t a, b, c, d, ds;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_sleep_ns(10 * MS); /* vCPU 1 idles in the runner */
	a = xl_clock_now();
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_get_runstate_info, 1, &r1), 0);
	b = xl_clock_now();
	xt_sleep_ns(50 * MS);
	c = xl_clock_now();
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_get_runstate_info, 1, &r2), 0);
	d = xl_clock_now();
	ds = runstate_sum(&r2) - runstate_sum(&r1);
	xt_log("runstate sum grew %llu ns in [%llu, %llu]",
	       (unsigned long long)ds, (unsigned long long)(c - b),
	       (unsigned long long)(d - a));
	XT_ASSERT(ds + 1000 >= c - b && ds <= d - a + 1000);
	XT_ASSERT_EQ(r2.state, RUNSTATE_blocked);
	XT_ASSERT(r2.time[RUNSTATE_blocked] - r1.time[RUNSTATE_blocked] >=
		  (c - b) / 2);
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_get_runstate_info, 0, &self), 0);
	XT_ASSERT_EQ(self.state, RUNSTATE_running);
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_get_runstate_info, xt_nr_vcpus(),
				   &self),
		     -XEN_ENOENT);

	set_xen_guest_handle(ra.addr.h, &area[0]);
	XT_ASSERT_EQ(
		xl_hc_vcpu_op(VCPUOP_register_runstate_memory_area, 1, &ra), 0);
	XT_ASSERT_EQ(area[0].state, RUNSTATE_blocked);
	xt_run_on(1, read_own_area, area);
	XT_ASSERT_EQ(area[1].state, RUNSTATE_running);
	set_xen_guest_handle(ra.addr.h, NULL);
	XT_ASSERT_EQ(
		xl_hc_vcpu_op(VCPUOP_register_runstate_memory_area, 1, &ra), 0);
	return XT_PASS;
}

/*
 * The cap on callbacks per VIRQ_TIMER is XL_TIMER_RUNS_PER_VIRQ exactly:
 * one more timer than that, all due at the same deadline (armed with
 * delivery masked, so all are in the heap before the VIRQ), run that many
 * in one VIRQ and the last in a later one.
 */
#define RPV_N (XL_TIMER_RUNS_PER_VIRQ + 1)

struct rpv {
	struct xl_timer t[RPV_N];
	uint64_t virq_at[RPV_N]; /* the VIRQ count seen by each callback */
	uint32_t runs;		 /* atomic */
	int rc;
};

static void rpv_fn(struct xl_timer *t)
{
	struct rpv *a = t->data;
	uint32_t i = (uint32_t)(t - a->t);

	a->virq_at[i] = virq_count(xl_os_vcpu_id());
	XT_ADD(&a->runs, 1);
}

static bool rpv_done(void *arg)
{
	return XT_LOAD(&((struct rpv *)arg)->runs) == RPV_N;
}

static void rpv_body(void *arg)
{
	struct rpv *a = arg;
	unsigned long flags;
	uint64_t d;
	unsigned int i;

	flags = xl_os_irq_save();
	d = xl_clock_now() + 2 * MS;
	for (i = 0; i < RPV_N && !a->rc; i++) {
		xl_timer_setup(&a->t[i], rpv_fn, a);
		a->rc = xl_timer_arm(&a->t[i], d);
	}
	xl_os_irq_restore(flags);
	if (!a->rc && !xt_wait_until(rpv_done, a, XT_EVENT_TIMEOUT_NS))
		a->rc = -1;
}

static enum xt_result time_sshot_runs_per_virq(void)
{
	static struct rpv a;
	unsigned int i, first = 0, in_first = 0;

	a = (struct rpv){ .rc = 0 };
	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	xt_run_on(1, rpv_body, &a);
	XT_ASSERT_EQ(a.rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&a.runs), RPV_N);
	for (i = 0; i < RPV_N; i++)
		if (!first || a.virq_at[i] < first)
			first = (unsigned int)a.virq_at[i];
	for (i = 0; i < RPV_N; i++)
		in_first += a.virq_at[i] == first;
	XT_ASSERT_EQ(in_first, XL_TIMER_RUNS_PER_VIRQ);
	return XT_PASS;
}

/*
 * A callback that re-arms its own timer, inside the VIRQ that ran it
 * (run_expired(): "due only since the VIRQ came, and ran in it already"
 * waits for the next VIRQ).  The first run's fired_at is the VIRQ's own
 * clock reading (start), and the timer was due 1 ms before it, far more
 * than a callback takes, so the slow-tick rule is not what decides:
 *  - re-armed for fired_at, a deadline the VIRQ's reading had reached: it
 *    runs again in the same VIRQ;
 *  - re-armed for fired_at + 1 ns, past that reading: the next VIRQ;
 *  - re-armed for its own deadline again (1 ms before the VIRQ): the same
 *    VIRQ (a deadline that did not move is no slow tick).
 */
struct rearm_in {
	struct xl_timer t;
	bool same;	     /* re-arm for its own deadline again */
	uint64_t add;	     /* else the re-arm's deadline: fired_at + add */
	uint64_t virq_at[2]; /* the VIRQ count at each run */
	uint32_t runs;	     /* atomic */
	int rc;
};

static void rearm_in_fn(struct xl_timer *t)
{
	struct rearm_in *a = t->data;
	uint32_t n = XT_LOAD(&a->runs);

	a->virq_at[n] = virq_count(xl_os_vcpu_id());
	if (!n)
		a->rc = xl_timer_arm(t, a->same ? t->deadline :
						  t->fired_at + a->add);
	XT_STORE(&a->runs, n + 1);
}

static bool rearm_in_done(void *arg)
{
	return XT_LOAD(&((struct rearm_in *)arg)->runs) == 2;
}

static void rearm_in_body(void *arg)
{
	struct rearm_in *a = arg;

	xl_timer_setup(&a->t, rearm_in_fn, a);
	a->rc = xl_timer_arm(&a->t, xl_clock_now() - MS);
	if (!a->rc && !xt_wait_until(rearm_in_done, a, XT_EVENT_TIMEOUT_NS))
		a->rc = -1;
	xl_timer_cancel(&a->t);
}

static enum xt_result time_sshot_rearm_in_virq(void)
{
	struct rearm_in same = { .add = 0 }, next = { .add = 1 };
	struct rearm_in again = { .same = true };

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	xt_run_on(1, rearm_in_body, &same);
	XT_ASSERT_EQ(same.rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&same.runs), 2);
	XT_ASSERT_EQ(same.virq_at[1], same.virq_at[0]);
	xt_run_on(1, rearm_in_body, &next);
	XT_ASSERT_EQ(next.rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&next.runs), 2);
	XT_ASSERT(next.virq_at[1] > next.virq_at[0]);
	/* Its own deadline again: due before the VIRQ, not a slow tick
	 * (the deadline did not move): the same VIRQ. */
	xt_run_on(1, rearm_in_body, &again);
	XT_ASSERT_EQ(again.rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&again.runs), 2);
	XT_ASSERT_EQ(again.virq_at[1], again.virq_at[0]);
	return XT_PASS;
}

/*
 * Callbacks that re-arm leave Xen alone until the VIRQ's timers are done,
 * then one set_singleshot_timer for the earliest (timer_virq(): in_run):
 * two timers due together, each re-arming itself later (5 ms and 3 ms
 * ahead: the second becomes the earliest), see the same count of
 * programs in their callbacks, before and after their re-arm.
 */
struct rpo {
	struct xl_timer t[2];
	uint64_t programs_in[2];  /* stats.programs at each run, in order */
	uint64_t programs_out[2]; /* ... after its re-arm */
	uint64_t p0;		  /* before the arms */
	uint32_t runs;		  /* atomic */
	int rc;
};

static uint64_t programs_of(unsigned int cpu)
{
	struct xl_clock_stats st;

	xl_clock_get_stats(cpu, &st);
	return st.programs;
}

static void rpo_fn(struct xl_timer *t)
{
	struct rpo *a = t->data;
	uint32_t i = (uint32_t)(t - a->t);

	uint32_t k = XT_LOAD(&a->runs);

	if (k < 2)
		a->programs_in[k] = programs_of(xl_os_vcpu_id());
	if (!a->rc)
		a->rc = xl_timer_arm(t, t->fired_at + (i ? 3 : 5) * MS);
	if (k < 2)
		a->programs_out[k] = programs_of(xl_os_vcpu_id());
	XT_ADD(&a->runs, 1);
}

static bool rpo_two(void *arg)
{
	return XT_LOAD(&((struct rpo *)arg)->runs) >= 2;
}

static void rpo_body(void *arg)
{
	struct rpo *a = arg;
	unsigned long flags;
	uint64_t d;

	flags = xl_os_irq_save();
	d = xl_clock_now() - MS;
	xl_timer_setup(&a->t[0], rpo_fn, a);
	xl_timer_setup(&a->t[1], rpo_fn, a);
	a->p0 = programs_of(1);
	a->rc = xl_timer_arm(&a->t[0], d) || xl_timer_arm(&a->t[1], d);
	xl_os_irq_restore(flags);
	if (!a->rc && !xt_wait_until(rpo_two, a, XT_EVENT_TIMEOUT_NS))
		a->rc = -1;
	xl_timer_cancel(&a->t[0]);
	xl_timer_cancel(&a->t[1]);
}

static enum xt_result time_sshot_rearm_programs_once(void)
{
	struct rpo a = { .rc = 0 };

	CLOCK_UP(XL_CLOCK_SINGLESHOT, 0);
	xt_run_on(1, rpo_body, &a);
	XT_ASSERT_EQ(a.rc, 0);
	XT_ASSERT_EQ(a.programs_in[0], a.programs_in[1]);
	/* The second re-arm makes its timer the earliest: still no
	 * program from inside the callback. */
	XT_ASSERT_EQ(a.programs_out[0], a.programs_in[0]);
	XT_ASSERT_EQ(a.programs_out[1], a.programs_in[1]);
	/* The arm of the first (past) deadline programmed Xen once. */
	XT_ASSERT_EQ(a.programs_in[0], a.p0 + 1);
	return XT_PASS;
}

/*
 * What the mode's holders do not give up: with vCPU 1 running periodic
 * at 100 Hz, vCPU 0 asking 1001 Hz is refused for the rate itself
 * (-EINVAL, before any look at the mode: not -EBUSY), and a fini on
 * vCPU 2, which never started a clockevent, does nothing (it must not
 * count vCPU 1 out): vCPU 3 asking singleshot is still -EBUSY.
 */
struct held_arg {
	struct xl_clock_config cfg;
	int rc;
};

static void held_init(void *arg)
{
	struct held_arg *a = arg;

	a->rc = xl_clock_init(&a->cfg);
}

static void held_fini(void *arg)
{
	xl_clock_fini();
}

static enum xt_result time_clock_mode_held(void)
{
	struct held_arg per = { .cfg = { .mode = XL_CLOCK_PERIODIC,
					 .hz = 100 } };
	struct held_arg fast = { .cfg = { .mode = XL_CLOCK_PERIODIC,
					  .hz = 1001 } };
	struct held_arg ss = { .cfg = { .mode = XL_CLOCK_SINGLESHOT } };

	XT_ASSERT(xt_nr_vcpus() >= 4);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_run_on(1, held_init, &per);
	XT_ASSERT_EQ(per.rc, 0);
	xt_run_on(0, held_init, &fast);
	XT_ASSERT_EQ(fast.rc, -XEN_EINVAL);
	xt_run_on(2, held_fini, NULL);
	xt_run_on(3, held_init, &ss);
	XT_ASSERT_EQ(ss.rc, -XEN_EBUSY);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_PERIODIC);
	xt_run_on(1, held_fini, NULL);
	xt_run_on(3, held_init, &ss);
	XT_ASSERT_EQ(ss.rc, 0);
	XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_SINGLESHOT);
	return XT_PASS;
}

/*
 * xl_clock_resume() as the restore path calls it, on a live domain (what
 * it does is the same): on a vCPU without a clockevent, -ENODEV; with no
 * timer, nothing for Xen (no program, no stop: nothing is armed after a
 * restore); with one, its deadline programmed again (Xen forgot it), and
 * the timer still fires once.
 */
struct cres_arg {
	struct tmr m;
	struct xl_clock_stats s0, s1, s2;
	int rc_none, rc_idle, rc_armed;
};

static void cres_none(void *arg)
{
	((struct cres_arg *)arg)->rc_none = xl_clock_resume();
}

static void cres_body(void *arg)
{
	struct cres_arg *a = arg;

	xl_clock_get_stats(1, &a->s0);
	a->rc_idle = xl_clock_resume();
	xl_clock_get_stats(1, &a->s1);
	xl_timer_setup(&a->m.t, tmr_fn, &a->m);
	xl_timer_arm(&a->m.t, xl_clock_now() + 500 * MS);
	a->rc_armed = xl_clock_resume();
	xl_clock_get_stats(1, &a->s2);
	xt_wait_until(tmr_fired, &a->m, XT_EVENT_TIMEOUT_NS);
}

static enum xt_result time_clock_resume_calls(void)
{
	struct cres_arg a = { .rc_none = 1 };

	XT_ASSERT(xt_nr_vcpus() >= 3);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xt_run_on(2, cres_none, &a);
	XT_ASSERT_EQ(a.rc_none, -XEN_ENODEV);
	XT_ASSERT_EQ(clock_start(XL_CLOCK_SINGLESHOT, 0), XT_PASS);
	xt_run_on(1, cres_body, &a);
	XT_ASSERT_EQ(a.rc_idle, 0);
	XT_ASSERT_EQ(a.s1.programs, a.s0.programs);
	XT_ASSERT_EQ(a.s1.stops, a.s0.stops);
	XT_ASSERT_EQ(a.rc_armed, 0);
	/* The arm programmed once, the resume once more: same deadline. */
	XT_ASSERT_EQ(a.s2.programs, a.s1.programs + 2);
	XT_ASSERT_EQ(a.s2.stops, a.s1.stops);
	XT_ASSERT_EQ(XT_LOAD(&a.m.fired), 1);
	xt_sleep_ns(XT_SETTLE_NS);
	XT_ASSERT_EQ(XT_LOAD(&a.m.fired), 1);
	return XT_PASS;
}

#define TT(name, back, vcpus, flags)                                  \
	{                                                             \
		"time/" #name, back, vcpus, false, time_##name, flags \
	}

const struct xt_test xt_time_tests[] = {
	TT(pvclock_monotonic, XT_ALL, 2, 0),
	TT(pvclock_rate, XT_ALL, 1, 0),
	TT(pvclock_torn_read, XT_HV, 2, 0),
	TT(pvclock_tsc_behind, XT_HV, 2, 0),
	TT(sshot_fires, XT_ALL, 1, 0),
	TT(sshot_past, XT_ALL, 1, 0),
	TT(sshot_stop, XT_ALL, 1, 0),
	TT(sshot_heap_order, XT_ALL, 1, 0),
	TT(sshot_heap_random, XT_ALL, 1, 0),
	TT(sshot_programs, XT_ALL, 1, 0),
	TT(sshot_runs_per_virq, XT_HV, 2, 0),
	TT(sshot_rearm_in_virq, XT_HV, 2, 0),
	TT(sshot_rearm_programs_once, XT_HV, 2, 0),
	TT(clock_mode_held, XT_HV, 4, 0),
	TT(clock_resume_calls, XT_HV, 3, 0),
	TT(sshot_rearm, XT_ALL, 2, 0),
	TT(set_timer_op, XT_ALL, 1, XT_F_FLAVOURS),
	TT(clock_init_rules, XT_ALL, 2, 0),
	TT(clock_fini_clears, XT_ALL, 1, 0),
	TT(periodic_100hz, XT_ALL, 1, 0),
	TT(periodic_1000hz, XT_ALL, 1, 0),
	TT(periodic_bounds, XT_ALL, 2, 0),
	TT(periodic_no_wake_blocked, XT_ALL, 2, 0),
	TT(no_default_tick, XT_ALL, 1, 0),
	TT(pv_tick_stopped, XT_HV, 1, XT_F_PV),
	TT(idle_sshot_wakes, XT_ALL, 2, XT_F_FLAVOURS),
	TT(idle_periodic_tick, XT_ALL, 2, 0),
	TT(idle_wake_window, XT_ALL, 2, XT_F_FLAVOURS),
	TT(idle_periodic_virq_in_window, XT_ALL, 2, XT_F_FLAVOURS),
	/* hv only: on real Xen (dom0, nested TCG) the second halt found an
	 * event pending in CI, so it did not block; the exact counts hold
	 * only where nothing else sends to vCPU 1. */
	TT(idle_halt_pending, XT_HV, 2, 0),
	TT(idle_no_clock, XT_ALL, 2, 0),
	TT(poll, XT_ALL, 2, XT_F_FLAVOURS),
	TT(runstate, XT_ALL, 2, 0),
};

const unsigned int xt_time_nr_tests =
	sizeof(xt_time_tests) / sizeof(xt_time_tests[0]);
