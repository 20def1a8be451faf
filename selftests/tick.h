/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xt tick: the measuring core of tools/tick-compare.  Portable guest code
 * (selftests/tick.c uses only <xenlite/...> and the xt environment), so
 * the same load runs on hv/ now and inside the test kernel on real Xen
 * later; the host part (selftests/tick-hv.c on hv) only creates the guest,
 * counts hypercalls and formats the results.
 *
 * The load, on each of nr_vcpus vCPUs: alternate busy phases (spin doing
 * work while the clockevent and the software timers keep running from
 * upcalls) and idle phases (block in xl_idle_halt() until a phase timer
 * ends the phase; the software timers do the waking), with `timers`
 * software timers per vCPU that re-arm themselves from their callback at
 * a random offset in [tmin_ns, tmax_ns].  Measured over one window that
 * starts at the same pvclock instant on every vCPU.
 */
#ifndef XT_TICK_H
#define XT_TICK_H

#include <xenlite/clockevent.h>

#include "xt.h"

#define XT_TICK_MAX_VCPUS 8
#define XT_TICK_MAX_TIMERS 32

struct xt_tick_load {
	struct xl_clock_config clock; /* the mode under test */
	unsigned int nr_vcpus;	      /* vCPUs 0 .. nr_vcpus-1 run the load */
	uint64_t run_ns;	      /* the measured window */
	uint64_t busy_ns;	      /* one busy phase */
	uint64_t idle_ns;	      /* one idle phase */
	unsigned int timers;	      /* software timers per vCPU */
	uint64_t tmin_ns, tmax_ns;    /* re-arm offset range */
	uint64_t seed;		      /* PRNG seed (offsets) */
	/* Lateness samples kept per vCPU; 0 = enough for the window. */
	unsigned int max_samples;
	/* The host's domain-wide hypercall counter, or NULL (none). */
	uint64_t (*hypercalls)(void);
};

struct xt_tick_result {
	uint64_t window_ns; /* the measured window (per vCPU) */
	unsigned int nr_vcpus;
	/* Sums over the vCPUs, over the window. */
	uint64_t virq;		   /* VIRQ_TIMER events handled */
	uint64_t ticks;		   /* periodic: tick boundaries counted */
	uint64_t expected;	   /* periodic: hz * window * vCPUs */
	uint64_t fired;		   /* software timers run */
	uint64_t programs;	   /* set_singleshot_timer calls */
	uint64_t busy_ns, idle_ns; /* wall time in each kind of phase */
	uint64_t idle_phases;
	uint64_t idle_running_ns;   /* runstate running during idle */
	uint64_t idle_blocks;	    /* idle returns that had blocked */
	uint64_t idle_skipped;	    /* idle entries with an event pending */
	uint64_t idle_virq_wakeups; /* xl_clock_stats.idle_wakeups */
	/* Host counter over the window, the harness's own calls removed. */
	bool have_hypercalls;
	uint64_t hypercalls;
	uint64_t harness_hypercalls; /* runstate reads by the harness */
	/* Lateness fired_at - deadline (ns) of the load's timers, sorted. */
	uint64_t *lat;
	unsigned int nr_lat;
	uint64_t lat_dropped; /* samples past max_samples */
	uint64_t lat_p50, lat_p99, lat_max;
};

/*
 * Run the load once as the body of an xt test: on vCPU 0 of a fresh guest
 * (core not initialised) with at least l->nr_vcpus vCPUs.  Brings up the
 * core and the clockevent in l->clock's mode on the load vCPUs (the
 * runner stops them after the test).  r->lat is allocated with
 * xl_os_zalloc(); release it with xt_tick_free().
 */
enum xt_result xt_tick_run(const struct xt_tick_load *l,
			   struct xt_tick_result *r);
void xt_tick_free(struct xt_tick_result *r);

/* --- the report, shared by the hosts (hv's xl-tick, the test kernel) --- */

#define XT_TICK_NR_MODES 3

struct xt_tick_mode {
	const char *name;  /* "periodic 100 Hz", for the table */
	const char *label; /* "100 Hz", for the plots */
	struct xl_clock_config clock;
	struct xt_tick_result r;
	bool done; /* r holds a passed run */
};

/* The modes compared, in table order: periodic 100 Hz, 1000 Hz, tickless. */
void xt_tick_modes_init(struct xt_tick_mode modes[XT_TICK_NR_MODES]);

/* printf-like sink of the table's text (printf, the console...). */
typedef void (*xt_tick_out_fn)(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

struct xt_tick_report {
	const char *host;     /* the heading's "(hv, ...)" */
	const char *hc_count; /* who counted the hypercalls */
	const struct xt_tick_load *load;
	const struct xt_tick_mode *modes;
	unsigned int nr_modes;
};

/*
 * The markdown tables of tools/tick-compare: heading, load, one row per
 * mode, the detail table and the notes.  Decimal figures are formatted
 * here with integer arithmetic (the test kernel's printf has no %f), so
 * out needs only %s, %u and %llu.
 */
void xt_tick_print_table(xt_tick_out_fn out, const struct xt_tick_report *rep);

/* Lateness CDF point k of points (0 .. points-1): the sample index. */
unsigned int xt_tick_cdf_index(unsigned int k, unsigned int points,
			       unsigned int n);

#endif /* XT_TICK_H */
