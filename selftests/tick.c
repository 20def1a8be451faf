// SPDX-License-Identifier: GPL-2.0
/*
 * The tick comparison's measuring core (selftests/tick.h): a mixed busy /
 * idle load with self re-arming software timers, run on the clockevent in
 * one mode, measured from the core's own counters, the timers' (deadline,
 * fired_at) pairs and the hypervisor's runstate.  Portable guest code: the
 * core API, raw hypercalls and the xt environment only.
 *
 * Xen semantics this load exposes (see xen-clockevent.c): a blocked
 * vCPU's periodic timer is stopped (xen/common/sched/core.c), so a
 * periodic-mode guest's idle arms the singleshot timer at the next tick
 * boundary and wakes hz times a second; a tickless guest wakes only for
 * its timers.  In periodic mode software timers run only at ticks, so
 * their lateness is up to one period.
 */
#include <xenlite/clockevent.h>
#include <xenlite/hypercall.h>
#include <xenlite/idle.h>

#include "tick.h"
#include "xt-util.h"

#define NS_PER_SEC 1000000000ULL
#define START_DELAY_NS 20000000ULL /* time for every vCPU to get going */
#define BUSY_SPINS 256		   /* work between two clock reads */

struct tick_cpu {
	const struct xt_tick_load *l;
	unsigned int cpu;
	uint64_t rng;
	uint64_t start, end; /* the window, pvclock ns */
	struct xl_timer t[XT_TICK_MAX_TIMERS];
	struct xl_timer phase; /* ends an idle phase */
	uint32_t phase_done;
	/* Written by the timer callbacks (upcalls on this vCPU). */
	uint64_t *lat;
	uint32_t nr_lat, max_lat;
	uint64_t dropped;
	int arm_err;
	/* Measured by the vCPU itself. */
	struct xl_clock_stats cs0, cs1;
	struct xl_idle_stats is0, is1;
	uint64_t busy_ns, idle_ns, idle_phases, idle_running_ns;
	uint64_t blocks, harness_hc;
	uint64_t hc0, hc1; /* host counter (vCPU 0 only) */
	uint64_t sink;	   /* the busy phases' work */
	int err;
};

static struct tick_cpu tick_cpus[XT_TICK_MAX_VCPUS];

/* xorshift64*: cheap, portable, reproducible offsets. */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 2685821657736338717ULL;
}

static uint64_t rng_range(uint64_t *s, uint64_t lo, uint64_t hi)
{
	return lo + rng_next(s) % (hi - lo + 1);
}

/* --- the load's timers (run in the VIRQ_TIMER upcall) ------------------- */

static void load_timer_fn(struct xl_timer *t)
{
	struct tick_cpu *c = t->data;
	uint32_t n;

	if (t->fired_at >= c->start && t->fired_at < c->end) {
		n = XT_LOAD(&c->nr_lat);
		if (n < c->max_lat) {
			c->lat[n] = t->fired_at - t->deadline;
			XT_STORE(&c->nr_lat, n + 1);
		} else {
			XT_STORE(&c->dropped, XT_LOAD(&c->dropped) + 1);
		}
	}
	if (xl_timer_arm(t, xl_clock_now() + rng_range(&c->rng, c->l->tmin_ns,
						       c->l->tmax_ns)))
		XT_STORE(&c->arm_err, 1);
}

static void phase_fn(struct xl_timer *t)
{
	struct tick_cpu *c = t->data;

	XT_STORE(&c->phase_done, 1);
}

/* --- phases ---------------------------------------------------------------- */

/* Runstate running time of this vCPU (VCPUOP_get_runstate_info). */
static uint64_t running_ns(struct tick_cpu *c)
{
	struct vcpu_runstate_info ri;
	long rc;

	c->harness_hc++;
	rc = xl_hc_vcpu_op(VCPUOP_get_runstate_info, c->cpu, &ri);
	if (rc) {
		c->err = (int)rc;
		return 0;
	}
	return ri.time[RUNSTATE_running];
}

/* Spin doing work until pvclock time until; returns the time read. */
static uint64_t busy_phase(struct tick_cpu *c, uint64_t until)
{
	uint64_t x = c->sink, now;
	unsigned int i;

	while ((now = xl_clock_now()) < until)
		for (i = 0; i < BUSY_SPINS; i++)
			x = x * 6364136223846793005ULL + 1442695040888963407ULL;
	XT_STORE(&c->sink, x);
	return now;
}

static bool phase_is_done(void *arg)
{
	struct tick_cpu *c = arg;

	return XT_LOAD(&c->phase_done);
}

/*
 * Block until the phase timer at until has run; the software timers wake
 * the vCPU meanwhile.  xl_idle_until() checks the phase flag with
 * delivery masked, so a timer that sets it just before the block is not
 * lost.
 */
static uint64_t idle_phase(struct tick_cpu *c, uint64_t until)
{
	uint64_t t0, t1, r0, r1;

	r0 = running_ns(c);
	XT_STORE(&c->phase_done, 0);
	if (xl_timer_arm(&c->phase, until)) {
		c->err = -XEN_ENOSPC;
		return xl_clock_now();
	}
	t0 = xl_clock_now();
	c->blocks += xl_idle_until(phase_is_done, c);
	t1 = xl_clock_now();
	r1 = running_ns(c);
	c->idle_ns += t1 - t0;
	c->idle_running_ns += r1 - r0;
	c->idle_phases++;
	return t1;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* The load on one vCPU: c->start and c->end are set by the caller. */
static void tick_load(void *arg)
{
	struct tick_cpu *c = arg;
	const struct xt_tick_load *l = c->l;
	unsigned long flags;
	bool busy = !(c->cpu & 1); /* odd vCPUs start idle */
	uint64_t now;
	unsigned int i;

	xl_timer_setup(&c->phase, phase_fn, c);
	flags = xl_os_irq_save();
	for (i = 0; i < l->timers; i++) {
		xl_timer_setup(&c->t[i], load_timer_fn, c);
		if (xl_timer_arm(&c->t[i],
				 c->start + rng_range(&c->rng, l->tmin_ns,
						      l->tmax_ns)))
			c->err = -XEN_ENOSPC;
	}
	xl_os_irq_restore(flags);

	while (xl_clock_now() < c->start)
		xl_cpu_relax();
	if (c->cpu == 0 && l->hypercalls)
		c->hc0 = l->hypercalls();
	xl_clock_get_stats(c->cpu, &c->cs0);
	xl_idle_get_stats(c->cpu, &c->is0);

	now = xl_clock_now();
	while (now < c->end && !c->err) {
		uint64_t t0 = now;

		if (busy) {
			now = busy_phase(c, min_u64(now + l->busy_ns, c->end));
			c->busy_ns += now - t0;
		} else {
			now = idle_phase(c, min_u64(now + l->idle_ns, c->end));
		}
		busy = !busy;
	}

	if (c->cpu == 0 && l->hypercalls)
		c->hc1 = l->hypercalls();
	xl_clock_get_stats(c->cpu, &c->cs1);
	xl_idle_get_stats(c->cpu, &c->is1);
	flags = xl_os_irq_save();
	for (i = 0; i < l->timers; i++)
		xl_timer_cancel(&c->t[i]);
	xl_timer_cancel(&c->phase);
	xl_os_irq_restore(flags);
}

/* --- bring-up and results -------------------------------------------------- */

static void clock_init_fn(void *arg)
{
	struct tick_cpu *c = &tick_cpus[xl_os_vcpu_id()];

	c->err = xl_clock_init(arg);
}

static void sum_cpu(struct xt_tick_result *r, const struct tick_cpu *c)
{
	r->virq += c->cs1.virq - c->cs0.virq;
	r->ticks += c->cs1.ticks - c->cs0.ticks;
	r->fired += c->cs1.fired - c->cs0.fired;
	r->programs += c->cs1.programs - c->cs0.programs;
	r->idle_virq_wakeups += c->cs1.idle_wakeups - c->cs0.idle_wakeups;
	r->busy_ns += c->busy_ns;
	r->idle_ns += c->idle_ns;
	r->idle_phases += c->idle_phases;
	r->idle_running_ns += c->idle_running_ns;
	r->idle_blocks += c->blocks;
	r->idle_skipped += c->is1.skipped - c->is0.skipped;
	r->harness_hypercalls += c->harness_hc;
	r->lat_dropped += c->dropped;
}

static void free_samples(unsigned int nr)
{
	unsigned int i;

	for (i = 0; i < nr; i++) {
		xl_os_free(tick_cpus[i].lat);
		tick_cpus[i].lat = NULL;
	}
}

static enum xt_result collect(const struct xt_tick_load *l,
			      struct xt_tick_result *r)
{
	unsigned int i, j, n = 0, total = 0;

	for (i = 0; i < l->nr_vcpus; i++) {
		struct tick_cpu *c = &tick_cpus[i];

		XT_ASSERT_MSG(!c->err, "vCPU %u: error %d", i, c->err);
		XT_ASSERT_MSG(!XT_LOAD(&c->arm_err),
			      "vCPU %u: a timer could not be re-armed", i);
		sum_cpu(r, c);
		total += XT_LOAD(&c->nr_lat);
	}
	r->window_ns = l->run_ns;
	r->nr_vcpus = l->nr_vcpus;
	if (l->clock.mode == XL_CLOCK_PERIODIC)
		r->expected =
			l->run_ns * l->clock.hz / NS_PER_SEC * l->nr_vcpus;
	if (l->hypercalls) {
		uint64_t hc = tick_cpus[0].hc1 - tick_cpus[0].hc0;

		r->have_hypercalls = true;
		r->hypercalls = hc > r->harness_hypercalls ?
					hc - r->harness_hypercalls :
					0;
	}
	r->lat = xl_os_zalloc((total ? total : 1) * sizeof(*r->lat));
	XT_ASSERT(r->lat);
	for (i = 0; i < l->nr_vcpus; i++)
		for (j = 0; j < tick_cpus[i].nr_lat; j++)
			r->lat[n++] = tick_cpus[i].lat[j];
	r->nr_lat = n;
	if (n) {
		r->lat_p50 = xt_percentile(r->lat, n, 50);
		r->lat_p99 = xt_percentile(r->lat, n, 99);
		r->lat_max = r->lat[n - 1];
	}
	return XT_PASS;
}

enum xt_result xt_tick_run(const struct xt_tick_load *l,
			   struct xt_tick_result *r)
{
	unsigned int i, per_cpu = l->max_samples;
	struct xl_clock_config cfg = l->clock;
	uint64_t start;
	enum xt_result res;

	*r = (struct xt_tick_result){ 0 };
	XT_ASSERT(l->nr_vcpus >= 1 && l->nr_vcpus <= XT_TICK_MAX_VCPUS);
	XT_ASSERT(l->nr_vcpus <= xt_nr_vcpus());
	XT_ASSERT(l->timers <= XT_TICK_MAX_TIMERS);
	XT_ASSERT(l->tmin_ns > 0 && l->tmin_ns <= l->tmax_ns);
	XT_ASSERT(l->busy_ns > 0 && l->idle_ns > 0 && l->run_ns > 0);
	/* A timer fires at most once per tmin_ns. */
	if (!per_cpu)
		per_cpu = l->timers * (l->run_ns / l->tmin_ns + 2) + 16;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	for (i = 0; i < l->nr_vcpus; i++) {
		struct tick_cpu *c = &tick_cpus[i];

		*c = (struct tick_cpu){ .l = l, .cpu = i, .max_lat = per_cpu };
		c->rng = l->seed * 0x9e3779b97f4a7c15ULL + i + 1;
		c->lat = xl_os_zalloc((uint64_t)per_cpu * sizeof(*c->lat));
		if (!c->lat) {
			free_samples(i);
			XT_ASSERT(c->lat);
		}
		xt_run_on(i, clock_init_fn, &cfg);
		if (c->err) {
			xt_log("xl_clock_init on vCPU %u: %d", i, c->err);
			free_samples(i + 1);
			return XT_FAIL;
		}
	}
	start = xl_clock_now() + START_DELAY_NS;
	for (i = 0; i < l->nr_vcpus; i++) {
		tick_cpus[i].start = start;
		tick_cpus[i].end = start + l->run_ns;
	}
	for (i = 1; i < l->nr_vcpus; i++)
		xt_start_on(i, tick_load, &tick_cpus[i]);
	tick_load(&tick_cpus[0]);
	for (i = 1; i < l->nr_vcpus; i++)
		xt_wait_on(i);
	res = collect(l, r);
	free_samples(l->nr_vcpus);
	if (res != XT_PASS)
		xt_tick_free(r);
	return res;
}

void xt_tick_free(struct xt_tick_result *r)
{
	xl_os_free(r->lat);
	r->lat = NULL;
	r->nr_lat = 0;
}

/* --- the report ------------------------------------------------------------ */

void xt_tick_modes_init(struct xt_tick_mode modes[XT_TICK_NR_MODES])
{
	modes[0] = (struct xt_tick_mode){
		.name = "periodic 100 Hz",
		.label = "100 Hz",
		.clock = { .mode = XL_CLOCK_PERIODIC, .hz = 100 },
	};
	modes[1] = (struct xt_tick_mode){
		.name = "periodic 1000 Hz",
		.label = "1000 Hz",
		.clock = { .mode = XL_CLOCK_PERIODIC, .hz = 1000 },
	};
	modes[2] = (struct xt_tick_mode){
		.name = "tickless singleshot",
		.label = "tickless",
		.clock = { .mode = XL_CLOCK_SINGLESHOT },
	};
}

unsigned int xt_tick_cdf_index(unsigned int k, unsigned int points,
			       unsigned int n)
{
	if (n <= 1 || points <= 1)
		return 0;
	return (unsigned int)((uint64_t)k * (n - 1) / (points - 1));
}

/* A decimal: num / den with decimals digits, rounded half up. */
struct fix {
	char s[32];
};

static const char *fix(struct fix *f, uint64_t num, uint64_t den,
		       unsigned int decimals)
{
	uint64_t scale = 1, q;
	char tmp[32];
	unsigned int n = 0, i, o = 0;

	for (i = 0; i < decimals; i++)
		scale *= 10;
	/* No 128-bit division in a freestanding build: keep num * scale * 2
	 * in 64 bits, dropping digits far below the ones printed. */
	while (den >= 10 && num > UINT64_MAX / 2 / scale) {
		num /= 10;
		den /= 10;
	}
	if (!den || num > UINT64_MAX / 2 / scale) {
		f->s[0] = '?';
		f->s[1] = 0;
		return f->s;
	}
	q = (num * scale * 2 + den) / (2 * den);
	/* Digits, least significant first; at least decimals + 1. */
	do {
		tmp[n++] = (char)('0' + (unsigned int)(q % 10));
		q /= 10;
	} while ((q || n <= decimals) && n < sizeof(tmp));
	while (n && o + 2 < sizeof(f->s)) {
		if (n == decimals && decimals)
			f->s[o++] = '.';
		f->s[o++] = tmp[--n];
	}
	f->s[o] = 0;
	return f->s;
}

static void print_mode_row(xt_tick_out_fn out, const struct xt_tick_mode *m)
{
	const struct xt_tick_result *r = &m->r;
	struct fix exp, ratio, hc, p50, p99, max, wake, cpu;
	const char *pct = "%";

	if (!m->done) {
		out("| %s | failed | | | | | | | | | |\n", m->name);
		return;
	}
	if (r->expected) {
		fix(&exp, r->expected, 1, 0);
		fix(&ratio, 100 * r->virq, r->expected, 1);
	} else {
		exp = (struct fix){ "none (tickless)" };
		ratio = (struct fix){ "n/a" };
		pct = "";
	}
	if (r->have_hypercalls)
		fix(&hc, r->hypercalls * NS_PER_SEC, r->window_ns, 0);
	else
		hc = (struct fix){ "n/a" };
	out("| %s | %llu | %s | %s%s | %llu | %s | %s | %s | %s | %s | %s |\n",
	    m->name, (unsigned long long)r->virq, exp.s, ratio.s, pct,
	    (unsigned long long)r->fired, fix(&p50, r->lat_p50, 1000, 1),
	    fix(&p99, r->lat_p99, 1000, 1), fix(&max, r->lat_max, 1000, 1),
	    fix(&wake, r->idle_blocks * NS_PER_SEC, r->idle_ns, 1), hc.s,
	    fix(&cpu, 100 * r->idle_running_ns, r->idle_ns, 3));
}

void xt_tick_print_table(xt_tick_out_fn out, const struct xt_tick_report *rep)
{
	const struct xt_tick_load *l = rep->load;
	struct fix a, b, c;
	unsigned int i;

	out("## Tick comparison (%s, %u vCPUs, %s s per mode)\n\n", rep->host,
	    l->nr_vcpus, fix(&a, l->run_ns, NS_PER_SEC, 1));
	out("Load on each vCPU: %llu ms busy / %llu ms idle phases; %u "
	    "software timers re-armed from their callback %s-%s ms "
	    "ahead.\n\n",
	    (unsigned long long)(l->busy_ns / 1000000),
	    (unsigned long long)(l->idle_ns / 1000000), l->timers,
	    fix(&b, l->tmin_ns, 1000000, 1), fix(&c, l->tmax_ns, 1000000, 1));
	out("| mode | timer VIRQs delivered | ticks expected | delivered "
	    "/ expected | timers fired | lateness p50 us | lateness p99 "
	    "us | lateness max us | idle wakeups/s | hypercalls/s | idle "
	    "CPU %% (runstate) |\n"
	    "|------|----:|----:|----:|----:|----:|----:|----:|----:|"
	    "----:|----:|\n");
	for (i = 0; i < rep->nr_modes; i++)
		print_mode_row(out, &rep->modes[i]);
	out("\n| mode | tick boundaries counted | busy s | idle s | idle "
	    "phases | idle blocks | idle skipped | VIRQ idle wakeups | "
	    "singleshot programs | lateness samples |\n"
	    "|------|----:|----:|----:|----:|----:|----:|----:|----:|"
	    "----:|\n");
	for (i = 0; i < rep->nr_modes; i++) {
		const struct xt_tick_mode *m = &rep->modes[i];
		const struct xt_tick_result *r = &m->r;

		if (!m->done)
			continue;
		out("| %s | %llu | %s | %s | %llu | %llu | %llu | %llu | %llu "
		    "| %u%s |\n",
		    m->name, (unsigned long long)r->ticks,
		    fix(&a, r->busy_ns, NS_PER_SEC, 3),
		    fix(&b, r->idle_ns, NS_PER_SEC, 3),
		    (unsigned long long)r->idle_phases,
		    (unsigned long long)r->idle_blocks,
		    (unsigned long long)r->idle_skipped,
		    (unsigned long long)r->idle_virq_wakeups,
		    (unsigned long long)r->programs, r->nr_lat,
		    r->lat_dropped ? " (some dropped)" : "");
	}
	out("\nTimer VIRQs, ticks and timers are summed over the vCPUs; "
	    "tick boundaries counted = periods the clockevent accounted "
	    "(periodic mode). "
	    "Lateness = fired_at - deadline of the load's software timers "
	    "(pvclock). Idle wakeups/s = blocks in xl_idle_halt() that "
	    "slept, per second of idle time of one vCPU. Hypercalls/s: "
	    "%s over the window, all load vCPUs, less the "
	    "harness's own runstate reads. Idle CPU %% = runstate running "
	    "time accrued in idle phases / idle wall time.\n",
	    rep->hc_count);
}
