// SPDX-License-Identifier: GPL-2.0
/*
 * The tick mode (command line word "tick"): the tick comparison of
 * tools/tick-compare on real Xen, and a timer wake-latency loop to set
 * beside cyclictest in a Linux guest.
 *
 * The comparison is selftests/tick.c's load, once per clockevent mode
 * (periodic 100 Hz, periodic 1000 Hz, tickless), each run as an xt test so
 * the runner gives it a clean domain; the table is the one hv's xl-tick
 * prints (xt_tick_print_table).  Hypercalls/s counts the test kernel's own
 * hypercalls (tk_hypercall), Xen has no per-domain counter to read.
 *
 * The wake latency: on vCPU 0 with the tickless clockevent, a software
 * timer armed for absolute deadlines 1 ms apart while the vCPU idles in
 * xl_idle_until(); latency = fired_at - deadline (the timer callback's
 * pvclock time, in the VIRQ_TIMER upcall).  Like cyclictest's loop, a
 * deadline already passed when the vCPU resumes is skipped, not fired late
 * in a burst.  The time the idle loop resumed is kept too (the closer
 * analogue of cyclictest's measurement, taken after clock_nanosleep()
 * returns to the thread).
 *
 * Output, besides the test kernel's usual lines, for tools/xen-tick-report:
 *   tick-md: LINE                 the markdown tables, line by line
 *   tick-cdf MODE N P K US...     lateness CDF of mode MODE (0..2), points
 *                                 K, K+1, ... of P over N samples
 *                                 (print_cdf)
 *   latency xenlite-GUEST p50 US p99 US max US n N
 *   latency-resume xenlite-GUEST p50 US p99 US max US n N
 *                                 GUEST: dom0, domu (PVH), pvdom0, pvdomu
 *   latency-skipped S deadlines of D in T ms
 *   latency-cdf N P K US...       wake-latency CDF, as tick-cdf
 *   latency-resume-cdf N P K US...  the same for the idle loop's resumption
 */
#include <string.h>

#include <xenlite/clockevent.h>
#include <xenlite/idle.h>

#include "tick.h"
#include "tk.h"
#include "xt-util.h"

#define NS_PER_MS 1000000ULL
#define CDF_POINTS 100
#define CDF_PER_LINE 20
#define LAT_INTERVAL_NS NS_PER_MS
#define LAT_START_NS (20 * NS_PER_MS)

static struct xt_tick_mode modes[XT_TICK_NR_MODES];
static unsigned int next_mode;

/* tools/tick-compare's load (selftests/tick-hv.c), a shorter window. */
static struct xt_tick_load load = {
	.busy_ns = 20 * NS_PER_MS,
	.idle_ns = 80 * NS_PER_MS,
	.timers = 2,
	.tmin_ns = NS_PER_MS / 2,
	.tmax_ns = 20 * NS_PER_MS,
	.seed = 1,
};

static enum xt_result mode_case(void)
{
	struct xt_tick_mode *m = &modes[next_mode++];
	struct xt_tick_load l = load;
	enum xt_result r;

	l.clock = m->clock;
	l.hypercalls = tk_hypercall_count;
	r = xt_tick_run(&l, &m->r);
	m->done = r == XT_PASS;
	return r;
}

/* --- wake latency ------------------------------------------------------------ */

static struct {
	struct xl_timer t;
	uint32_t fired;
	unsigned int want, n;
	uint64_t *fire, *resume; /* ns late, per sample */
	uint64_t skipped;	 /* deadlines passed before the re-arm */
	uint64_t t0, t1;	 /* the loop, pvclock ns */
	bool done;
} lat;

static void lat_fn(struct xl_timer *t)
{
	XT_STORE(&lat.fired, 1);
}

static bool lat_fired(void *arg)
{
	return XT_LOAD(&lat.fired);
}

static enum xt_result latency_case(void)
{
	const struct xl_clock_config cfg = { .mode = XL_CLOCK_SINGLESHOT };
	unsigned long flags;
	uint64_t next, now;
	unsigned int k;
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(&cfg), 0);
	lat.fire = xl_os_zalloc(lat.want * sizeof(*lat.fire));
	lat.resume = xl_os_zalloc(lat.want * sizeof(*lat.resume));
	XT_ASSERT(lat.fire && lat.resume);
	xl_timer_setup(&lat.t, lat_fn, NULL);
	next = xl_clock_now() + LAT_START_NS;
	lat.t0 = next;
	for (k = 0; k < lat.want; k++) {
		XT_STORE(&lat.fired, 0);
		flags = xl_os_irq_save();
		rc = xl_timer_arm(&lat.t, next);
		xl_os_irq_restore(flags);
		XT_ASSERT_EQ(rc, 0);
		xl_idle_until(lat_fired, NULL);
		now = xl_clock_now();
		lat.fire[k] = lat.t.fired_at - lat.t.deadline;
		lat.resume[k] = now - next;
		next += LAT_INTERVAL_NS;
		while (next <= now) {
			next += LAT_INTERVAL_NS;
			lat.skipped++;
		}
	}
	lat.t1 = xl_clock_now();
	lat.n = k;
	lat.done = true;
	return XT_PASS;
}

/* --- output -------------------------------------------------------------------- */

/* The table's text, each line whole with its prefix (one console write). */
static char md_line[2048];
static size_t md_len;

static void md_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void md_out(const char *fmt, ...)
{
	static const char prefix[] = "tick-md: ";
	char buf[2048], line[sizeof(prefix) + sizeof(md_line) + 1];
	const char *p;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = tk_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	for (p = buf; p < buf + n; p++) {
		if (*p != '\n') {
			if (md_len < sizeof(md_line))
				md_line[md_len++] = *p;
			continue;
		}
		memcpy(line, prefix, sizeof(prefix) - 1);
		memcpy(line + sizeof(prefix) - 1, md_line, md_len);
		line[sizeof(prefix) - 1 + md_len] = '\n';
		tk_write(line, sizeof(prefix) + md_len);
		md_len = 0;
	}
}

/* ns as microseconds with one decimal. */
struct us {
	char s[32];
};

static const char *us(struct us *u, uint64_t ns)
{
	uint64_t tenths = (ns + 50) / 100;

	tk_snprintf(u->s, sizeof(u->s), "%llu.%llu",
		    (unsigned long long)(tenths / 10),
		    (unsigned long long)(tenths % 10));
	return u->s;
}

/*
 * CDF points k = 0 .. P-1 (P = min(N, CDF_POINTS)) of the sorted samples
 * v, CDF_PER_LINE to a line: "TAG [MODE] N P K0 US..." where point k is
 * sample xt_tick_cdf_index(k, P, N), so k of them are <= it: (idx + 1) / N.
 * Few bytes: a domU's console crosses dom0's console again under TCG.
 */
static void print_cdf(const char *tag, int mode, const uint64_t *v,
		      unsigned int n)
{
	unsigned int k, j, points = n < CDF_POINTS ? n : CDF_POINTS;
	char line[512], m[16] = "";
	struct us u;
	size_t o;

	if (mode >= 0)
		tk_snprintf(m, sizeof(m), " %d", mode);
	for (k = 0; k < points; k += CDF_PER_LINE) {
		o = tk_snprintf(line, sizeof(line), "%s%s %u %u %u", tag, m, n,
				points, k);
		for (j = k; j < points && j < k + CDF_PER_LINE; j++)
			o += tk_snprintf(
				line + o, sizeof(line) - o, " %s",
				us(&u, v[xt_tick_cdf_index(j, points, n)]));
		tk_printf("%s\n", line);
	}
}

/* The guest in the latency lines: dom0, domu, pvdom0 or pvdomu. */
static const char *guest_tag(void)
{
	bool pv = !strcmp(tk_flavour, "PV");

	if (tk_is_dom0)
		return pv ? "pvdom0" : "dom0";
	return pv ? "pvdomu" : "domu";
}

static void print_latency(const char *what, uint64_t *v, unsigned int n)
{
	struct us a, b, c;
	uint64_t p50 = xt_percentile(v, n, 50), p99 = xt_percentile(v, n, 99);

	tk_printf("%s xenlite-%s p50 %s p99 %s max %s n %u\n", what,
		  guest_tag(), us(&a, p50), us(&b, p99), us(&c, v[n - 1]), n);
}

int tk_tick_main(const struct tk_tick_opts *o)
{
	struct xt_test tests[XT_TICK_NR_MODES + 1];
	const struct xt_suite suite = { tests, XT_TICK_NR_MODES + 1 };
	char *argv[] = { "tick", NULL };
	char host[64];
	unsigned int i, window_ms = o->window_ms ? o->window_ms : 1500;
	long ver = tk_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0,
				0, 0);
	struct xt_tick_report rep = {
		.host = host,
		.hc_count = "the test kernel's count of its own hypercalls",
		.load = &load,
		.modes = modes,
		.nr_modes = XT_TICK_NR_MODES,
	};
	int rc;

	xt_tick_modes_init(modes);
	next_mode = 0;
	load.nr_vcpus = tk_nr_cpus < 2 ? tk_nr_cpus : 2;
	load.run_ns = (uint64_t)window_ms * NS_PER_MS;
	lat = (typeof(lat)){ .want = o->lat_samples ? o->lat_samples : 2000 };
	for (i = 0; i < XT_TICK_NR_MODES; i++)
		tests[i] = (struct xt_test){ "tick", XT_ALL,	1,
					     false,  mode_case, 0 };
	tests[i] = (struct xt_test){ "latency", XT_ALL,	      1,
				     false,	latency_case, 0 };
	tk_printf("tick: %u modes, %u ms each, %u vCPUs; then %u wake-latency "
		  "samples at 1 ms\n",
		  XT_TICK_NR_MODES, window_ms, load.nr_vcpus, lat.want);
	xt_set_quiet(true);
	xt_set_timeout(window_ms / 1000 + lat.want / 100 + 60);
	rc = xt_main(1, argv, &suite, 1);
	xt_set_quiet(false);
	if (rc)
		tk_printf("tick: a measurement failed (see above)\n");

	tk_snprintf(host, sizeof(host), "Xen %ld.%ld %s %s", ver >> 16,
		    ver & 0xffff, tk_flavour, tk_is_dom0 ? "dom0" : "domU");
	xt_tick_print_table(md_out, &rep);
	for (i = 0; i < XT_TICK_NR_MODES; i++) {
		const struct xt_tick_result *r = &modes[i].r;

		if (modes[i].done && r->nr_lat)
			print_cdf("tick-cdf", (int)i, r->lat, r->nr_lat);
		xt_tick_free(&modes[i].r);
	}
	if (lat.done && lat.n) {
		print_latency("latency", lat.fire, lat.n);
		print_latency("latency-resume", lat.resume, lat.n);
		tk_printf("latency-skipped %llu deadlines of %llu in %llu ms\n",
			  (unsigned long long)lat.skipped,
			  (unsigned long long)(lat.skipped + lat.n),
			  (unsigned long long)((lat.t1 - lat.t0) / NS_PER_MS));
		print_cdf("latency-cdf", -1, lat.fire, lat.n);
		print_cdf("latency-resume-cdf", -1, lat.resume, lat.n);
	} else {
		tk_printf("latency xenlite-%s failed\n", guest_tag());
		rc = 1;
	}
	xl_os_free(lat.fire);
	xl_os_free(lat.resume);
	return rc;
}
