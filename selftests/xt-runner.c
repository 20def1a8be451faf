// SPDX-License-Identifier: GPL-2.0
/*
 * The shared half of the xt runners (selftests/xt-runner.h): what the hv
 * runner (selftests/hv-runner.c) and the test kernel's
 * (testkernel/runner.c) do alike.  No libc beyond <string.h> and
 * <stdlib.h>: output, formatting and waiting go through the host hooks.
 */
#include <stdlib.h>
#include <string.h>

#include <xenlite/evtchn.h>
#include <xenlite/idle.h>
#include <xenlite/os.h>

#include "xt-runner.h"
#include "xt-util.h"

/* A guest vCPU's work slot: xt_start_on() posts, the vCPU runs it. */
struct gmbox {
	void (*fn)(void *);
	void *arg;
	int state; /* XTR_MB_* */
};

struct xtr_opts xtr = {
	.timeout_s = 60,
};

static const struct xtr_host *host; /* of the xtr_main() running */
static struct gmbox mbox[XL_MAX_VCPUS];
static char skip_reason[160];
static unsigned int passed, failed, skipped;

/* --- output -------------------------------------------------------------- */

/* Always written: the test list, the usage line, the totals. */
static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xtr_host_vprintf(fmt, ap);
	va_end(ap);
}

/* TAP lines: none in a quiet run. */
static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;

	if (xtr.quiet)
		return;
	va_start(ap, fmt);
	xtr_host_vprintf(fmt, ap);
	va_end(ap);
}

void xt_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xtr_host_vcomment(NULL, 0, fmt, ap);
	va_end(ap);
}

void xt_fail_msg(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xtr_host_vcomment(file, line, fmt, ap);
	va_end(ap);
}

void xt_skip_reason(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xtr_host_vsnprintf(skip_reason, sizeof(skip_reason), fmt, ap);
	va_end(ap);
}

/*
 * Quiet runs report for themselves; on hv a quiet run that failed still
 * ends with the totals (the test kernel's tick mode follows the suite in
 * one TAP stream, which has one totals line).
 */
static void summary(void)
{
	if (xtr.quiet && !(host->quiet_totals && failed))
		return;
	/* kselftest's totals line (tools/testing/selftests/kselftest.h,
	 * ksft_print_cnts), then the project's own. */
	out("# Totals: pass:%u fail:%u xfail:0 xpass:0 skip:%u error:0\n",
	    passed, failed, skipped);
	out("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
}

static struct {
	void (*fn)(void *);
	void *arg;
} hang;

void xt_on_hang(void (*fn)(void *), void *arg)
{
	hang.arg = arg;
	hang.fn = fn;
}

void xtr_timeout(unsigned int idx, const struct xt_test *t)
{
	if (hang.fn)
		hang.fn(hang.arg);
	failed++;
	emit("not ok %u %s # timeout after %u s\n", idx, t->name,
	     xtr.timeout_s);
	summary();
}

/* --- environment ---------------------------------------------------------- */

int xt_core_init(const struct xl_evtchn_config *cfg)
{
	struct xl_evtchn_config def = { .nr_vcpus = xt_nr_vcpus() };

	if (host && host->core_init)
		return host->core_init(cfg ? cfg : &def);
	return xl_evtchn_init(cfg ? cfg : &def);
}

bool xt_wait_until(bool (*cond)(void *), void *arg, uint64_t timeout_ns)
{
	uint64_t end = xt_now_ns() + timeout_ns;
	unsigned int n = 0;

	for (;;) {
		if (cond(arg))
			return true;
		if (xt_now_ns() > end)
			return cond(arg);
		xtr_host_relax(&n);
	}
}

void xt_set_timeout(unsigned int seconds)
{
	xtr.timeout_s = seconds;
}

void xt_set_quiet(bool quiet)
{
	xtr.quiet = quiet;
}

/* --- guest vCPU work ------------------------------------------------------ */

void xt_start_on(unsigned int cpu, void (*fn)(void *), void *arg)
{
	struct gmbox *m = &mbox[cpu];

	if (cpu == xtr_host_self() || cpu >= xt_nr_vcpus()) {
		xtr_host_panic("xt_start_on: bad vCPU %u (caller %u)", cpu,
			       xtr_host_self());
		return;
	}
	if (XT_LOAD(&m->state) == XTR_MB_DONE)
		XT_STORE(&m->state, XTR_MB_IDLE);
	if (XT_LOAD(&m->state) != XTR_MB_IDLE) {
		xtr_host_panic("xt_start_on: vCPU %u busy", cpu);
		return;
	}
	m->fn = fn;
	m->arg = arg;
	XT_STORE(&m->state, XTR_MB_POSTED);
	xtr_host_poke(cpu);
}

void xt_wait_on(unsigned int cpu)
{
	struct gmbox *m = &mbox[cpu];
	uint64_t repoke = xt_now_ns() + 1000000;
	unsigned int n = 0;

	while (XT_LOAD(&m->state) != XTR_MB_DONE) {
		if (XT_LOAD(&m->state) == XTR_MB_IDLE)
			return;
		/* A poke may land before the vCPU blocks: poke again while
		 * the work is not picked up (cheap insurance). */
		if (XT_LOAD(&m->state) == XTR_MB_POSTED &&
		    xt_now_ns() > repoke) {
			xtr_host_poke(cpu);
			repoke = xt_now_ns() + 1000000;
		}
		xtr_host_relax(&n);
	}
	XT_STORE(&m->state, XTR_MB_IDLE);
}

void xt_run_on(unsigned int cpu, void (*fn)(void *), void *arg)
{
	if (cpu == xtr_host_self()) {
		fn(arg);
		return;
	}
	xt_start_on(cpu, fn, arg);
	xt_wait_on(cpu);
}

void xtr_mbox_reset(void)
{
	memset(mbox, 0, sizeof(mbox));
}

void xtr_drain(unsigned int nr)
{
	unsigned int cpu;

	for (cpu = 1; cpu < nr; cpu++) {
		int st = XT_LOAD(&mbox[cpu].state);

		if (st == XTR_MB_POSTED || st == XTR_MB_RUNNING) {
			xt_log("test left work running on vCPU %u", cpu);
			xt_wait_on(cpu);
		}
		XT_STORE(&mbox[cpu].state, XTR_MB_IDLE);
	}
}

void xtr_secondary_step(unsigned int cpu, const int *quit)
{
	struct gmbox *m = &mbox[cpu];
	unsigned long flags;

	flags = xl_os_irq_save();
	/* Checked with delivery masked: a post (and its poke) after this
	 * point ends the halt. */
	if (XT_LOAD(&m->state) != XTR_MB_POSTED && !(quit && XT_LOAD(quit)))
		xl_idle_halt();
	xl_os_irq_restore(flags);
	if (XT_LOAD(&m->state) == XTR_MB_POSTED) {
		XT_STORE(&m->state, XTR_MB_RUNNING);
		m->fn(m->arg);
		XT_STORE(&m->state, XTR_MB_DONE);
	}
}

const char *xtr_mbox_name(unsigned int cpu)
{
	static const char *const names[] = { "idle", "posted", "running",
					     "done" };
	unsigned int st = XT_LOAD(&mbox[cpu].state);

	return st < sizeof(names) / sizeof(names[0]) ? names[st] : "?";
}

/* --- the run ---------------------------------------------------------------- */

static bool selected(const struct xt_test *t, int nsel, char **sel)
{
	int i;

	if (!nsel)
		return true;
	for (i = 0; i < nsel; i++)
		if (strstr(t->name, sel[i]))
			return true;
	return false;
}

/* The digits at the start of s (no libc atoi in the test kernel). */
unsigned int xtr_close_stale_ports(const char *name, uintptr_t lo, uintptr_t hi,
				   xl_evtchn_handler_t also, bool quiet)
{
	unsigned int max = xl_evtchn_max_ports(), virqs = 0;
	xl_evtchn_handler_t fn;
	evtchn_port_t port;
	void *data;
	bool virq;

	for (port = 1; port < max; port++) {
		if (!xl_evtchn_port_owner(port, &fn, &data))
			continue;
		if (!(also && fn == also) &&
		    ((uintptr_t)data < lo || (uintptr_t)data >= hi))
			continue;
		virq = xl_evtchn_port_type(port) == XL_PORT_VIRQ;
		virqs += virq;
		if (virq || !quiet)
			xt_log("runner: %s: %s port %u left bound to a test handler or to data on the test's stack",
			       name, virq ? "VIRQ" : "a", port);
		/* xl_evtchn_close() waits out a running handler: none after. */
		xl_evtchn_close(port);
	}
	return virqs;
}

unsigned int xtr_to_uint(const char *s)
{
	unsigned int v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (*s++ - '0');
	return v;
}

/* Test idx of the run: skip it, or run it and count its result. */
static void run_test(unsigned int idx, const struct xt_test *t, bool excluded)
{
	enum xt_result r;

	if (excluded) {
		skipped++;
		emit("ok %u %s # SKIP excluded (-x)\n", idx, t->name);
		return;
	}
	if (!(t->backends & xt_backend())) {
		const char *why = host->why_not ? host->why_not(t) : NULL;

		skipped++;
		if (why)
			emit("ok %u %s # SKIP %s\n", idx, t->name, why);
		else
			emit("ok %u %s # SKIP not on %s\n", idx, t->name,
			     xt_backend_name());
		return;
	}
	if (t->min_vcpus > host->nr_vcpus) {
		skipped++;
		emit("ok %u %s # SKIP needs %u vCPUs\n", idx, t->name,
		     t->min_vcpus);
		return;
	}
	if (t->needs_peer && !host->peer) {
		skipped++;
		emit("ok %u %s # SKIP needs a peer domain\n", idx, t->name);
		return;
	}
	skip_reason[0] = 0;
	r = host->run(idx, t);
	xt_on_hang(NULL, NULL);
	if (r == XT_PASS) {
		passed++;
		emit("ok %u %s\n", idx, t->name);
	} else if (r == XT_SKIP) {
		skipped++;
		emit("ok %u %s # SKIP %s\n", idx, t->name,
		     skip_reason[0] ? skip_reason : "skipped");
	} else {
		failed++;
		emit("not ok %u %s\n", idx, t->name);
		if (xtr.quiet)
			xt_log("%s failed", t->name);
	}
}

int xtr_main(const struct xtr_host *h, int argc, char **argv,
	     const struct xt_suite *suites, unsigned int nr_suites)
{
	unsigned int s, i, n = 0, idx = 0, rep, repeat = 1;
	int a, nsel = 0, nexcl = 0;
	bool list = false;
	char **sel, **excl;

	/* The name substrings to run, then those of -x. */
	sel = calloc(2 * (argc + 1), sizeof(*sel));
	if (!sel) {
		xt_log("xt_main: out of memory");
		return 1;
	}
	excl = sel + argc + 1;
	host = h;
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-l")) {
			list = true;
		} else if (!strcmp(argv[a], "-v")) {
			xtr.verbose = true;
		} else if (!strcmp(argv[a], "-t") && a + 1 < argc) {
			xtr.timeout_s = xtr_to_uint(argv[++a]);
		} else if ((h->opts & XTR_OPT_REPEAT) &&
			   !strcmp(argv[a], "-r") && a + 1 < argc) {
			repeat = xtr_to_uint(argv[++a]);
		} else if ((h->opts & XTR_OPT_EXCLUDE) &&
			   !strcmp(argv[a], "-x") && a + 1 < argc) {
			excl[nexcl++] = argv[++a];
		} else if ((h->opts & XTR_OPT_HELP) &&
			   (!strcmp(argv[a], "-h") ||
			    !strcmp(argv[a], "--help"))) {
			out("usage: %s [-l] [-v] [-t seconds]%s%s "
			    "[name-substring...]\n",
			    argv[0], h->opts & XTR_OPT_REPEAT ? " [-r N]" : "",
			    h->opts & XTR_OPT_EXCLUDE ?
				    " [-x name-substring]..." :
				    "");
			free(sel);
			return 0;
		} else {
			sel[nsel++] = argv[a];
		}
	}
	if (!repeat)
		repeat = 1;
	for (s = 0; s < nr_suites; s++)
		for (i = 0; i < suites[s].nr; i++)
			if (selected(&suites[s].tests[i], nsel, sel))
				n++;
	if (list) {
		for (s = 0; s < nr_suites; s++)
			for (i = 0; i < suites[s].nr; i++)
				if (selected(&suites[s].tests[i], nsel, sel))
					out("%s\n", suites[s].tests[i].name);
		free(sel);
		return 0;
	}
	passed = failed = skipped = 0;
	/* -r N: the selection N times over (a soak for rare failures). */
	emit("TAP version 13\n1..%u\n", n * repeat);
	for (rep = 0; rep < repeat; rep++) {
		for (s = 0; s < nr_suites; s++) {
			for (i = 0; i < suites[s].nr; i++) {
				const struct xt_test *t = &suites[s].tests[i];

				if (!selected(t, nsel, sel))
					continue;
				run_test(++idx, t,
					 nexcl && selected(t, nexcl, excl));
			}
		}
	}
	free(sel);
	summary();
	return failed ? 1 : 0;
}
