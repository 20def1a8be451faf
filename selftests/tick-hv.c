// SPDX-License-Identifier: GPL-2.0
/*
 * xl-tick: the tick comparison on hv/ (tools/tick-compare runs it).  The
 * thin host part around selftests/tick.c: one fresh 2-vCPU guest per mode
 * (periodic 100 Hz, periodic 1000 Hz, tickless singleshot), hv's
 * hypercall counter, a markdown table on stdout and, with --data DIR, the
 * plot data (DIR/tick-lateness.dat: lateness CDF per mode, one gnuplot
 * index per mode; DIR/tick-idle.dat: idle wakeups/s and idle CPU %).
 *
 *   xl-tick [--seconds S] [--busy-ms MS] [--idle-ms MS] [--timers N]
 *           [--seed N] [--data DIR]
 *
 * TICK_SECONDS in the environment sets the default of --seconds.  Figures
 * only: nothing here asserts on a timing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hv.h>
#include <hv-guest.h>

#include "tick.h"
#include "xt-util.h"

#define NS_PER_MS 1000000ULL
#define NS_PER_SEC 1000000000ULL
#define NR_VCPUS 2U
#define CDF_POINTS 1000

static struct xt_tick_mode modes[XT_TICK_NR_MODES];

#define NR_MODES XT_TICK_NR_MODES

static struct xt_tick_load load = {
	.nr_vcpus = NR_VCPUS,
	.busy_ns = 20 * NS_PER_MS,
	.idle_ns = 80 * NS_PER_MS,
	.timers = 2,
	.tmin_ns = NS_PER_MS / 2,
	.tmax_ns = 20 * NS_PER_MS,
	.seed = 1,
};

static unsigned int next_mode;

static uint64_t hv_hypercalls(void)
{
	struct hv_domain_stats st;

	hv_domain_get_stats(hv_guest_domain(), &st);
	return st.hypercalls;
}

static enum xt_result mode_case(void)
{
	struct xt_tick_mode *m = &modes[next_mode++];
	struct xt_tick_load l = load;
	enum xt_result r;

	l.clock = m->clock;
	l.hypercalls = hv_hypercalls;
	r = xt_tick_run(&l, &m->r);
	m->done = r == XT_PASS;
	return r;
}

/* --- output --------------------------------------------------------------- */

static double per_sec(uint64_t n, uint64_t ns)
{
	return ns ? (double)n * NS_PER_SEC / ns : 0;
}

static double idle_wakeups_per_s(const struct xt_tick_result *r)
{
	return per_sec(r->idle_blocks, r->idle_ns);
}

static double idle_cpu_pct(const struct xt_tick_result *r)
{
	return r->idle_ns ? 100.0 * r->idle_running_ns / r->idle_ns : 0;
}

static void out_stdout(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static void out_stdout(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

/* The table, as the test kernel prints it on real Xen (selftests/tick.c). */
static void print_table(void)
{
	const struct xt_tick_report rep = {
		.host = "hv",
		.hc_count = "hv's domain counter",
		.load = &load,
		.modes = modes,
		.nr_modes = NR_MODES,
	};

	xt_tick_print_table(out_stdout, &rep);
}

static FILE *open_data(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "xl-tick: %s: %s\n", path, strerror(errno));
	return f;
}

/* One gnuplot index per mode: lateness (us, >= 0.1 for log x) and CDF. */
static int write_data(const char *dir)
{
	FILE *f = open_data(dir, "tick-lateness.dat");
	unsigned int i, k, n, idx;
	double us;

	if (!f)
		return -1;
	for (i = 0; i < NR_MODES; i++) {
		const struct xt_tick_result *r = &modes[i].r;

		fprintf(f, "%s\"%s\" \"cdf\"\n", i ? "\n\n" : "",
			modes[i].name);
		n = modes[i].done ? r->nr_lat : 0;
		if (!n) {
			fprintf(f, "NaN NaN\n");
			continue;
		}
		for (k = 0; k < CDF_POINTS; k++) {
			idx = xt_tick_cdf_index(k, CDF_POINTS, n);
			us = r->lat[idx] / 1e3;
			fprintf(f, "%.3f %.6f\n", us < 0.1 ? 0.1 : us,
				(double)(idx + 1) / n);
		}
	}
	fclose(f);

	f = open_data(dir, "tick-idle.dat");
	if (!f)
		return -1;
	fprintf(f, "# mode, idle wakeups/s, idle CPU %%\n");
	for (i = 0; i < NR_MODES; i++) {
		const struct xt_tick_result *r = &modes[i].r;

		if (modes[i].done)
			fprintf(f, "\"%s\" %.2f %.4f\n", modes[i].label,
				idle_wakeups_per_s(r), idle_cpu_pct(r));
		else
			fprintf(f, "\"%s\" NaN NaN\n", modes[i].label);
	}
	fclose(f);
	return 0;
}

static int usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--seconds S] [--busy-ms MS] [--idle-ms MS] "
		"[--timers N] [--seed N] [--data DIR]\n",
		prog);
	return 2;
}

static bool parse_ms(const char *s, uint64_t *ns)
{
	char *end;
	double v = strtod(s, &end);

	if (*end || v <= 0)
		return false;
	*ns = (uint64_t)(v * NS_PER_MS);
	return true;
}

int main(int argc, char **argv)
{
	const char *data = NULL, *env = getenv("TICK_SECONDS");
	struct xt_test tests[NR_MODES];
	struct xt_suite suite = { tests, NR_MODES };
	char *xargv[] = { argv[0], NULL };
	double seconds = env && *env ? strtod(env, NULL) : 2.5;
	unsigned int i;
	int a, rc;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
			seconds = strtod(argv[++a], NULL);
		} else if (!strcmp(argv[a], "--busy-ms") && a + 1 < argc) {
			if (!parse_ms(argv[++a], &load.busy_ns))
				return usage(argv[0]);
		} else if (!strcmp(argv[a], "--idle-ms") && a + 1 < argc) {
			if (!parse_ms(argv[++a], &load.idle_ns))
				return usage(argv[0]);
		} else if (!strcmp(argv[a], "--timers") && a + 1 < argc) {
			load.timers = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--seed") && a + 1 < argc) {
			load.seed = strtoull(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--data") && a + 1 < argc) {
			data = argv[++a];
		} else {
			return usage(argv[0]);
		}
	}
	if (seconds <= 0 || seconds > 3600 || load.timers > XT_TICK_MAX_TIMERS)
		return usage(argv[0]);
	load.run_ns = (uint64_t)(seconds * NS_PER_SEC);
	xt_tick_modes_init(modes);

	for (i = 0; i < NR_MODES; i++)
		tests[i] = (struct xt_test){ "tick", XT_HV,	NR_VCPUS,
					     false,  mode_case, 0 };
	xt_set_vcpus(NR_VCPUS, 0);
	xt_set_quiet(true);
	xt_set_timeout((unsigned int)seconds + 60);
	fprintf(stderr, "# xl-tick: %u modes, %.1f s each, %u vCPUs\n",
		(unsigned int)NR_MODES, seconds, NR_VCPUS);
	rc = xt_main(1, xargv, &suite, 1);
	print_table();
	if (data && write_data(data))
		rc = 1;
	for (i = 0; i < NR_MODES; i++)
		xt_tick_free(&modes[i].r);
	return rc;
}
