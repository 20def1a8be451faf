// SPDX-License-Identifier: GPL-2.0
/*
 * pvclock time and the VIRQ_TIMER clockevent (seed 000: a timer ->
 * send_timer_event -> VIRQ_TIMER -> evtchn_set_pending ->
 * vcpu_mark_events_pending -> vcpu_kick -> vcpu_unblock -> vcpu_wake).
 *
 * Xen rules followed here (public vcpu.h and xen.h; xen/common/domain.c
 * do_vcpu_op; xen/common/sched/core.c):
 *  - both the periodic and the singleshot timer of a vCPU raise VIRQ_TIMER
 *    on that vCPU; a handler cannot tell which fired;
 *  - VCPUOP_set_singleshot_timer takes an absolute system-time deadline
 *    and acts on the calling vCPU only; a deadline in the past fires at
 *    once.  VCPU_SSHOTTMR_future (fail with -ETIME instead) is not used,
 *    and Xen ignores it since commit 19c6cbd909 (2023);
 *  - VCPUOP_set_periodic_timer rejects periods under 1 ms (-EINVAL);
 *  - Xen stops a vCPU's periodic timer while the vCPU is not running
 *    (sched/core.c, vcpu_periodic_timer_work on switch-in only), so a
 *    blocked vCPU is never woken by it: idle arms the singleshot timer.
 */
#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>

#define NS_PER_SEC 1000000000ULL
#define DEFAULT_MIN_DELTA_NS 100000ULL /* Linux arch/x86/xen/time.c */
#define XL_TIMERS_PER_CPU 256

/*
 * clk.state: the mode's state (CFG_*, bits 0-1) and the number of vCPUs
 * counted in with it (bits 2-31, ST_ONE each), in one word, so that "the
 * last vCPU leaves" and "the mode is free again" are one atomic step.  As
 * two words (a count, then a cmpxchg of the state) they had an ABA
 * window: between the last vCPU's decrement and its SET -> NONE, another
 * vCPU could count itself in under the old mode, and the NONE written
 * after it let a third vCPU overwrite the mode under it.
 */
#define CFG_NONE 0    /* no vCPU runs a clockevent */
#define CFG_WRITING 1 /* the first vCPU is setting the mode */
#define CFG_SET 2     /* clk.cfg is the mode for every vCPU */
#define ST_CFG(s) ((s)&3U)
#define ST_ONE 4U

struct clock_cpu {
	struct xl_timer *heap[XL_TIMERS_PER_CPU];
	uint32_t nr;
	evtchn_port_t port;
	uint64_t armed;	    /* singleshot deadline in Xen, 0 = none */
	uint64_t next_tick; /* periodic: next tick boundary */
	uint32_t idle;	    /* inside a block */
	uint32_t up;	    /* this vCPU's clockevent is running */
	uint32_t in_run;    /* run_expired(): timer_virq() reprograms after */
	struct xl_clock_stats stats;
};

static struct {
	struct xl_clock_config cfg;
	uint32_t state; /* CFG_* | vCPUs counted in * ST_ONE */
	uint64_t last;	/* highest time handed out */
	struct clock_cpu cpu[XL_MAX_VCPUS];
} clk;

static void stat_add(uint64_t *s, uint64_t v)
{
	/* Single writer (the owning vCPU), readers anywhere. */
	xl_write64(s, xl_read64(s) + v);
}

/* --- pvclock ------------------------------------------------------------- */

/*
 * system time = system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32,
 * with a negative shift meaning a right shift (xen.h, vcpu_time_info).
 */
static uint64_t scale_delta(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

static uint64_t pvclock_read(const struct vcpu_time_info *t)
{
	uint32_t v;
	uint64_t stamp, sys, tsc;
	uint32_t mul;
	int8_t shift;

	/*
	 * Version protocol (xen.h): Xen bumps version to odd, writes, bumps
	 * to even.  Retry while odd or changed; the read barriers keep the
	 * field reads between the two version reads.
	 */
	do {
		v = xl_read32(&t->version);
		xl_rmb();
		stamp = xl_read64(&t->tsc_timestamp);
		sys = xl_read64(&t->system_time);
		mul = xl_read32(&t->tsc_to_system_mul);
		shift = (int8_t)xl_read8((uint8_t *)&t->tsc_shift);
		tsc = xl_os_rdtsc();
		xl_rmb();
	} while ((v & 1) || v != xl_read32(&t->version));
	/*
	 * A TSC behind tsc_timestamp (another CPU's record, a TSC a few
	 * cycles apart) would wrap to a huge delta, and the maximum kept in
	 * xl_clock_now() would then hold time far ahead: count it as 0.
	 */
	if ((int64_t)(tsc - stamp) < 0)
		return sys;
	return sys + scale_delta(tsc - stamp, mul, shift);
}

/*
 * Each vCPU has its own vcpu_time_info; small differences between them
 * could make time step back when a reader moves between vCPUs or compares
 * with another's reading.  Hand out the maximum seen so far (what Linux's
 * pvclock_clocksource_read does without PVCLOCK_TSC_STABLE_BIT).
 */
uint64_t xl_clock_now(void)
{
	const struct vcpu_info *vi = xl_os_vcpu_info(xl_os_vcpu_id());
	uint64_t now = pvclock_read(&vi->time), last, seen;

	last = xl_read64(&clk.last);
	while (now > last) {
		seen = xl_cmpxchg64(&clk.last, last, now);
		if (seen == last)
			return now;
		last = seen;
	}
	return last;
}

/* --- the per-vCPU timer heap --------------------------------------------- */

static bool before(const struct xl_timer *a, const struct xl_timer *b)
{
	return a->deadline < b->deadline;
}

static void heap_set(struct clock_cpu *c, unsigned int i, struct xl_timer *t)
{
	c->heap[i] = t;
	t->slot = (int32_t)i;
}

static void sift_up(struct clock_cpu *c, unsigned int i)
{
	struct xl_timer *t = c->heap[i];
	unsigned int parent;

	while (i) {
		parent = (i - 1) / 2;
		if (!before(t, c->heap[parent]))
			break;
		heap_set(c, i, c->heap[parent]);
		i = parent;
	}
	heap_set(c, i, t);
}

static void sift_down(struct clock_cpu *c, unsigned int i)
{
	struct xl_timer *t = c->heap[i];
	unsigned int k;

	for (;;) {
		k = 2 * i + 1;
		if (k >= c->nr)
			break;
		if (k + 1 < c->nr && before(c->heap[k + 1], c->heap[k]))
			k++;
		if (!before(c->heap[k], t))
			break;
		heap_set(c, i, c->heap[k]);
		i = k;
	}
	heap_set(c, i, t);
}

static void heap_remove(struct clock_cpu *c, struct xl_timer *t)
{
	unsigned int i = (unsigned int)t->slot;
	struct xl_timer *last = c->heap[--c->nr];

	t->slot = -1;
	if (last == t)
		return;
	heap_set(c, i, last);
	sift_down(c, i);
	sift_up(c, (unsigned int)last->slot);
}

/* --- programming Xen ----------------------------------------------------- */

static long sshot(unsigned int cpu, uint64_t deadline)
{
	struct vcpu_set_singleshot_timer st = { .timeout_abs_ns = deadline,
						.flags = 0 };
	struct clock_cpu *c = &clk.cpu[cpu];

	stat_add(&c->stats.programs, 1);
	xl_trace(XL_TRACE_TIMER_ARMED, 0, cpu, deadline);
	c->armed = deadline;
	return xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, cpu, &st);
}

static void sshot_stop(unsigned int cpu)
{
	struct clock_cpu *c = &clk.cpu[cpu];

	if (!c->armed)
		return;
	c->armed = 0;
	stat_add(&c->stats.stops, 1);
	xl_hc_vcpu_op(VCPUOP_stop_singleshot_timer, cpu, NULL);
}

/*
 * Arm Xen's singleshot timer for deadline, no nearer than min_delta.  The
 * clamp does not lose the event: the VIRQ arrives at most min_delta late
 * and the handler runs every timer that is due by then.
 */
static void program_at(unsigned int cpu, uint64_t deadline)
{
	struct clock_cpu *c = &clk.cpu[cpu];
	uint64_t earliest;
	long rc;

	/*
	 * Already armed for it: no clock read (a read is an rdtsc, which Xen
	 * traps and emulates when the host TSC is not reliable: tsc_mode
	 * "default", xen/arch/x86/time.c tsc_set_info()).
	 */
	if (c->armed && c->armed == deadline)
		return;
	earliest = xl_clock_now() + clk.cfg.min_delta_ns;
	if (deadline < earliest)
		deadline = earliest;
	if (c->armed == deadline)
		return;
	rc = sshot(cpu, deadline);
	if (rc)
		xl_err("clock: vCPU %u set_singleshot_timer(%llu): %ld\n", cpu,
		       (unsigned long long)deadline, rc);
}

/* Tickless: Xen's timer follows the earliest software timer, or stops. */
static void reprogram(unsigned int cpu)
{
	struct clock_cpu *c = &clk.cpu[cpu];

	if (clk.cfg.mode != XL_CLOCK_SINGLESHOT)
		return;
	if (c->nr)
		program_at(cpu, c->heap[0]->deadline);
	else
		sshot_stop(cpu);
}

/* --- VIRQ_TIMER ----------------------------------------------------------- */

/*
 * Run the timers due by now (the caller's clock read at the VIRQ), and
 * those that became due while callbacks ran (the clock is read again after
 * each), but bounded, since this runs in the upcall with delivery masked:
 *  - at most XL_TIMER_RUNS_PER_VIRQ callbacks in all;
 *  - a timer its callback re-armed for a deadline that passed only while
 *    callbacks ran runs once per VIRQ;
 *  - a timer whose run took at least the gap to the deadline it re-armed
 *    for (a periodic tick slower than its period, as one pass is under
 *    nested emulation) cannot catch up here: it runs once per VIRQ too.
 * A periodic timer that fell behind and runs faster than its period still
 * catches up several boundaries in one VIRQ (the Linux module's tick at HZ
 * on a slower Xen periodic timer).  The rest stays in the heap:
 * reprogram() arms Xen for it no nearer than min_delta (program_at()), so
 * the upcall returns and a later VIRQ runs it.  Before, "while the
 * earliest is due" re-ran the slow tick for good and the vCPU never left
 * its upcall (budget/timer_slower_than_period).
 */
static void run_expired(unsigned int cpu, uint64_t now)
{
	struct clock_cpu *c = &clk.cpu[cpu];
	struct xl_timer *t, *slow = NULL;
	uint64_t start = now, late, prev;
	unsigned int runs = 0;

	while (c->nr && c->heap[0]->deadline <= now) {
		t = c->heap[0];
		if (runs == XL_TIMER_RUNS_PER_VIRQ || t == slow)
			break;
		/* Due only since the VIRQ came, and ran in it already. */
		if (t->deadline > start && t->fired_at >= start)
			break;
		runs++;
		heap_remove(c, t);
		prev = t->deadline;
		late = now - prev;
		t->fired_at = now;
		stat_add(&c->stats.fired, 1);
		stat_add(&c->stats.late_ns_sum, late);
		if (late > xl_read64(&c->stats.late_ns_max))
			xl_write64(&c->stats.late_ns_max, late);
		xl_trace(XL_TRACE_TIMER_FIRED, 0, cpu, late);
		t->fn(t);
		if (!c->nr)
			break;
		now = xl_clock_now(); /* the callback took time */
		if (t->slot >= 0 && t->deadline > prev &&
		    now - t->fired_at >= t->deadline - prev)
			slow = t;
	}
}

/* Periodic: count the tick boundaries passed since the last event. */
static void count_ticks(struct clock_cpu *c, uint64_t now)
{
	uint64_t period = NS_PER_SEC / clk.cfg.hz, n;

	if (now < c->next_tick)
		return;
	n = (now - c->next_tick) / period + 1;
	stat_add(&c->stats.ticks, n);
	c->next_tick += n * period;
}

static void timer_virq(evtchn_port_t port, void *data)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct clock_cpu *c = &clk.cpu[cpu];
	uint64_t now = xl_clock_now();

	stat_add(&c->stats.virq, 1);
	if (xl_read32(&c->idle))
		stat_add(&c->stats.idle_wakeups, 1);
	/*
	 * Any VIRQ_TIMER may be the singleshot firing, and a fired singleshot
	 * is spent even when our clock says its deadline is still ahead: Xen
	 * fires it when NOW() of the pCPU holding it passes the deadline
	 * (timer_softirq_action, xen/common/timer.c), and the pvclock
	 * extrapolation this vCPU reads can be behind that.  Keeping c->armed
	 * then made program_at() skip the re-arm as "already armed" and the
	 * vCPU slept for good (hv/timer_early_sshot).  Forgetting it costs at
	 * most one redundant set_singleshot_timer.
	 */
	c->armed = 0;
	if (clk.cfg.mode == XL_CLOCK_PERIODIC) {
		count_ticks(c, now);
		/*
		 * Taken inside the idle window (after xl_clock_idle_enter()
		 * armed the tick, before or during the block): the vCPU is
		 * about to block or back in it, where Xen runs no periodic
		 * timer, so the next tick must be armed here.  On hardware
		 * the STI shadow keeps the VIRQ out of sti..hlt, but QEMU's
		 * nested SVM delivers there, and both vCPUs of a periodic
		 * HVM guest then halted for good (docs/linux-module.md;
		 * time/idle_periodic_virq_in_window).
		 */
		if (xl_read32(&c->idle))
			program_at(cpu, c->next_tick);
	}
	/*
	 * Callbacks that re-arm leave Xen alone meanwhile (xl_timer_arm());
	 * one reprogram() after them: re-arming Xen at min_delta from inside
	 * a slow callback only raised the next VIRQ before this one was done.
	 */
	c->in_run = 1;
	run_expired(cpu, now);
	c->in_run = 0;
	reprogram(cpu);
}

/* --- software timers ------------------------------------------------------ */

void xl_timer_setup(struct xl_timer *t, xl_timer_fn fn, void *data)
{
	*t = (struct xl_timer){ .fn = fn, .data = data, .slot = -1 };
}

bool xl_timer_armed(const struct xl_timer *t)
{
	return t->slot >= 0;
}

int xl_timer_arm(struct xl_timer *t, uint64_t deadline_ns)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct clock_cpu *c = &clk.cpu[cpu];
	unsigned long flags;

	if (!xl_read32(&c->up))
		return -XEN_ENODEV;
	if (t->slot >= 0 && t->cpu != cpu)
		return -XEN_EBUSY;
	/* Masked: the VIRQ handler on this vCPU edits the same heap. */
	flags = xl_os_irq_save();
	if (t->slot >= 0)
		heap_remove(c, t);
	if (c->nr == XL_TIMERS_PER_CPU) {
		xl_os_irq_restore(flags);
		return -XEN_ENOSPC;
	}
	t->deadline = deadline_ns;
	t->cpu = cpu;
	heap_set(c, c->nr++, t);
	sift_up(c, (unsigned int)t->slot);
	if (c->heap[0] == t && !c->in_run)
		reprogram(cpu);
	xl_os_irq_restore(flags);
	return 0;
}

bool xl_timer_cancel(struct xl_timer *t)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct clock_cpu *c = &clk.cpu[cpu];
	unsigned long flags;
	bool was = false;

	flags = xl_os_irq_save();
	if (t->slot >= 0 && t->cpu == cpu) {
		heap_remove(c, t);
		if (!c->in_run)
			reprogram(cpu);
		was = true;
	}
	xl_os_irq_restore(flags);
	return was;
}

/* --- idle hooks ------------------------------------------------------------ */

/*
 * Before a block.  Tickless: Xen already holds the next deadline.  Periodic:
 * Xen stops the periodic timer of a blocked vCPU, so a periodic-tick guest
 * keeps its tick through idle by arming the singleshot timer at the next
 * tick boundary (what a non-NOHZ kernel's idle costs: hz wakeups a second).
 */
void xl_clock_idle_enter(unsigned int cpu)
{
	struct clock_cpu *c = &clk.cpu[cpu];

	if (!xl_read32(&c->up))
		return;
	xl_write32(&c->idle, 1);
	if (clk.cfg.mode == XL_CLOCK_PERIODIC)
		program_at(cpu, c->next_tick);
}

/*
 * After a block.  Periodic: a singleshot still armed for the next tick
 * boundary stays armed.  If the vCPU idles again before the boundary, the
 * next xl_clock_idle_enter() finds it armed and makes no hypercall; if it
 * stays busy, Xen's periodic timer and this singleshot both raise
 * VIRQ_TIMER near the boundary, and count_ticks() counts the boundary
 * once.  A singleshot armed elsewhere (clamped to min_delta) is stopped.
 * Cost per idle tick: one set_singleshot_timer, whether the VIRQ ended
 * the block or an event did.
 */
void xl_clock_idle_exit(unsigned int cpu)
{
	struct clock_cpu *c = &clk.cpu[cpu];

	if (!xl_read32(&c->up))
		return;
	xl_write32(&c->idle, 0);
	if (clk.cfg.mode == XL_CLOCK_PERIODIC && c->armed &&
	    c->armed != c->next_tick && c->armed > xl_clock_now())
		sshot_stop(cpu);
}

/* --- bring-up -------------------------------------------------------------- */

static int start_periodic(unsigned int cpu)
{
	struct vcpu_set_periodic_timer pt = {
		.period_ns = NS_PER_SEC / clk.cfg.hz,
	};

	clk.cpu[cpu].next_tick = xl_clock_now() + pt.period_ns;
	return (int)xl_hc_vcpu_op(VCPUOP_set_periodic_timer, cpu, &pt);
}

/* Runs on each vCPU: VIRQ_TIMER is per-vCPU, timers act on the caller. */
static int clock_init_cpu(unsigned int cpu)
{
	struct clock_cpu *c = &clk.cpu[cpu];
	int rc;

	rc = xl_evtchn_bind_virq(VIRQ_TIMER, cpu, timer_virq, NULL, &c->port);
	if (rc)
		return rc;
	if (clk.cfg.mode == XL_CLOCK_PERIODIC)
		return start_periodic(cpu);
	/*
	 * Singleshot: a PV vCPU starts with a 10 ms periodic timer
	 * (xen/arch/x86/pv/domain.c); stop it so only our deadlines fire.
	 */
	return (int)xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, cpu, NULL);
}

/* Count this vCPU out; the last one out lets the next init pick a mode. */
static void cfg_put(void)
{
	uint32_t s = xl_read32(&clk.state), seen, n;

	for (;;) {
		n = s - ST_ONE;
		if (n < ST_ONE)
			n = CFG_NONE;
		seen = xl_cmpxchg32(&clk.state, s, n);
		if (seen == s)
			return;
		s = seen;
	}
}

/*
 * Count this vCPU in with the mode, setting it if none is: the first
 * vCPU's config is the mode for all, another one gets -EBUSY.  While
 * counted in, clk.cfg does not change.
 */
static int cfg_get(const struct xl_clock_config *want)
{
	uint32_t s;

	for (;;) {
		s = xl_load_acquire32(&clk.state);
		if (ST_CFG(s) == CFG_WRITING) {
			xl_cpu_relax();
		} else if (ST_CFG(s) == CFG_NONE) {
			if (xl_cmpxchg32(&clk.state, s, CFG_WRITING) != s)
				continue;
			clk.cfg = *want;
			/* Release: cfg is written before SET can be seen;
			 * the acquire load or the (fully ordered) cmpxchg
			 * that sees SET reads cfg after it. */
			xl_store_release32(&clk.state, CFG_SET | ST_ONE);
			return 0;
		} else if (xl_cmpxchg32(&clk.state, s, s + ST_ONE) == s) {
			break;
		}
	}
	if (clk.cfg.mode != want->mode || clk.cfg.hz != want->hz) {
		cfg_put();
		return -XEN_EBUSY;
	}
	return 0;
}

/*
 * Each vCPU calls init and fini for itself: VIRQ_TIMER is per vCPU and the
 * singleshot timer acts on the calling vCPU only.  The first vCPU's config
 * is the mode for all; a later vCPU asking for another one gets -EBUSY.
 */
int xl_clock_init(const struct xl_clock_config *cfg)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct clock_cpu *c = &clk.cpu[cpu];
	struct xl_clock_config want = *cfg;
	int rc;

	if (want.mode == XL_CLOCK_PERIODIC && (want.hz == 0 || want.hz > 1000))
		return -XEN_EINVAL;
	if (!want.min_delta_ns)
		want.min_delta_ns = DEFAULT_MIN_DELTA_NS;
	if (xl_read32(&c->up))
		return -XEN_EEXIST;
	rc = cfg_get(&want);
	if (rc)
		return rc;
	*c = (struct clock_cpu){ 0 };
	rc = clock_init_cpu(cpu);
	if (rc) {
		if (c->port)
			xl_evtchn_close(c->port);
		c->port = 0;
		cfg_put();
		return rc;
	}
	xl_write32(&c->up, 1);
	return 0;
}

void xl_clock_fini(void)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct clock_cpu *c = &clk.cpu[cpu];
	unsigned long flags;

	if (!xl_read32(&c->up))
		return;
	flags = xl_os_irq_save();
	xl_write32(&c->up, 0);
	if (clk.cfg.mode == XL_CLOCK_PERIODIC)
		xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, cpu, NULL);
	sshot_stop(cpu);
	while (c->nr)
		heap_remove(c, c->heap[c->nr - 1]);
	xl_os_irq_restore(flags);
	xl_evtchn_close(c->port);
	c->port = 0;
	cfg_put();
}

/*
 * After a restore, on each vCPU (clockevent.h).  Linux's order is the
 * same: xen_timer_resume() (arch/x86/xen/time.c) stops every vCPU's
 * periodic timer, a new PV vCPU's default 100 Hz ticker
 * (xen/arch/x86/pv/domain.c), and the clockevents core programs the
 * next event again (tick_resume).  Masked: the VIRQ handler on this vCPU
 * edits the same state.  Xen forgot the singleshot deadline, so armed
 * is 0 and program_at() issues the hypercall even for the same value.
 */
int xl_clock_resume(void)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct clock_cpu *c = &clk.cpu[cpu];
	unsigned long flags;
	int rc;

	if (!xl_read32(&c->up) || xl_evtchn_port_type(c->port) != XL_PORT_VIRQ)
		return -XEN_ENODEV;
	flags = xl_os_irq_save();
	c->armed = 0;
	if (clk.cfg.mode == XL_CLOCK_PERIODIC) {
		rc = start_periodic(cpu);
	} else {
		rc = (int)xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, cpu, NULL);
		reprogram(cpu);
	}
	xl_os_irq_restore(flags);
	return rc;
}

enum xl_clock_mode xl_clock_mode(void)
{
	return clk.cfg.mode;
}

void xl_clock_get_stats(unsigned int cpu, struct xl_clock_stats *st)
{
	const struct xl_clock_stats *s = &clk.cpu[cpu].stats;

	st->virq = xl_read64(&s->virq);
	st->ticks = xl_read64(&s->ticks);
	st->fired = xl_read64(&s->fired);
	st->programs = xl_read64(&s->programs);
	st->stops = xl_read64(&s->stops);
	st->late_ns_sum = xl_read64(&s->late_ns_sum);
	st->late_ns_max = xl_read64(&s->late_ns_max);
	st->idle_wakeups = xl_read64(&s->idle_wakeups);
}

void xl_clock_get_state(unsigned int cpu, struct xl_clock_state *st)
{
	const struct clock_cpu *c = &clk.cpu[cpu];
	const struct xl_timer *first;

	st->port = c->port;
	st->nr_timers = xl_read32(&c->nr);
	st->idle = xl_read32(&c->idle);
	st->armed = xl_read64(&c->armed);
	first = st->nr_timers ? c->heap[0] : NULL;
	st->first_deadline = first ? xl_read64(&first->deadline) : 0;
	st->next_tick = xl_read64(&c->next_tick);
}
