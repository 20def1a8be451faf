// SPDX-License-Identifier: GPL-2.0
/*
 * The test kernel backend of the xt selftest framework (selftests/xt.h),
 * after selftests/hv-runner.c.
 *
 * On hv each test gets a fresh domain.  Here the domain is this one, for
 * the whole run, so between tests the runner puts it back into the state
 * of a fresh one: the clockevent stopped on every vCPU (each stops its
 * own), the core torn down (xl_evtchn_fini), then what a test may have
 * left behind with raw hypercalls: both timers of every vCPU stopped, and
 * EVTCHNOP_reset, which closes every port and returns the domain to the
 * 2-level ABI (event_channel.c, evtchn_reset), and the 2-level bitmaps and
 * selectors cleared as in a new shared_info page.
 *
 * vCPU 0 runs the test bodies.  The other vCPUs idle in xl_idle_halt()
 * (sti; hlt) and take work posted by xt_run_on()/xt_start_on(); a LAPIC
 * IPI wakes them (not an event channel: tests count ports).  The per-test
 * watchdog is vCPU 0's LAPIC timer.  There is no second domain (dom0
 * without a toolstack; a domU has no peer of its own), so tests needing a
 * peer are skipped.  As a domU the console port is closed while a test
 * runs and bound again after the reset (console.c).
 *
 * The options, the TAP output and the vCPU mailboxes are shared with hv's
 * runner (selftests/xt-runner.c); this file has the hooks.
 */
#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>
#include <xenlite/idle.h>
#include <xenlite/xenstore.h>

#include "tk.h"
#include "xt-runner.h"

static struct {
	const struct xt_test *test;
	unsigned int idx;
	uint64_t deadline; /* tk_now_ns() when the watchdog bites */
} xr;

/* --- output: the hooks of selftests/xt-runner.h ----------------------------------- */

int xtr_host_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return tk_vsnprintf(buf, size, fmt, ap);
}

void xtr_host_vprintf(const char *fmt, va_list ap)
{
	tk_vprintf(fmt, ap);
}

void xtr_host_vcomment(const char *file, int line, const char *fmt, va_list ap)
{
	char prefix[128] = "# ";

	if (file)
		tk_snprintf(prefix, sizeof(prefix), "# %s:%d: ", file, line);
	tk_vprint_lines(prefix, fmt, ap);
}

void xtr_host_panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	tk_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tk_panic("%s", msg);
}

/* --- environment ------------------------------------------------------------------- */

unsigned int xt_backend(void)
{
	return tk_is_dom0 ? XT_XEN_DOM0 : XT_XEN_DOMU;
}

const char *xt_backend_name(void)
{
	return tk_is_dom0 ? "xen-dom0" : "xen-domu";
}

unsigned int xt_nr_vcpus(void)
{
	return tk_nr_cpus;
}

/* The hardware domain is domain 0; a domU's id is found at boot. */
domid_t xt_domid(void)
{
	return tk_domid;
}

uint64_t xt_now_ns(void)
{
	return tk_now_ns();
}

/*
 * Sleeping and waiting spin with upcalls enabled: the vCPU stays running,
 * as an hv vCPU thread in nanosleep() is running to hv (Xen keeps a
 * running vCPU's periodic timer going, and tests rely on that).
 */
void xt_sleep_ns(uint64_t ns)
{
	uint64_t end = tk_now_ns() + ns;

	while (tk_now_ns() < end)
		xl_cpu_relax();
}

void xtr_host_relax(unsigned int *n)
{
	xl_cpu_relax();
}

/* hv-only knobs: a real Xen domain's limits are fixed at creation. */
int xt_set_max_evtchns(unsigned int max)
{
	return -1;
}

int xt_set_no_fifo(bool no_fifo)
{
	return no_fifo ? -1 : 0;
}

/* --- guest vCPU work ---------------------------------------------------------------- */

unsigned int xtr_host_self(void)
{
	return tk_cpu_id();
}

void xtr_host_poke(unsigned int cpu)
{
	tk_wake_cpu(cpu);
}

/* Secondary vCPUs: idle until work is posted (xtr_secondary_step). */
void tk_secondary_loop(unsigned int cpu)
{
	for (;;)
		xtr_secondary_step(cpu, NULL);
}

/* --- between tests ------------------------------------------------------------------ */

static void vcpu_reset_on(void *arg)
{
	unsigned int cpu = tk_cpu_id();

	xl_clock_fini();
	/* Raw timers a test may have left (singleshot: own vCPU only). */
	xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, cpu, NULL);
	xl_hc_vcpu_op(VCPUOP_stop_singleshot_timer, cpu, NULL);
}

static void domain_reset(void)
{
	struct evtchn_reset rs = { .dom = DOMID_SELF };
	unsigned int cpu;
	long rc;

	/* The xenstore client goes before the ports it uses. */
	xl_xs_fini();
	/* The peer closes its ends of this test's ports at its next request. */
	tk_peer_reset();
	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++)
		xt_run_on(cpu, vcpu_reset_on, NULL);
	xl_evtchn_fini();
	rc = xl_hc_event_channel_op(EVTCHNOP_reset, &rs);
	/* Every port is closed now: clear what a new shared_info has clear. */
	tk_shinfo_clear_events();
	/* A domU's console port again (it was closed for the test). */
	tk_console_attach();
	if (rc)
		xt_log("runner: EVTCHNOP_reset: %ld", rc);
}

/*
 * For a timeout report: the lowest port p with p..max all closed, found
 * by bisection over EVTCHNOP_status (exact when the open ports are the
 * contiguous 1..p-1 that lowest-free allocation makes).
 */
static unsigned int open_port_bound(void)
{
	unsigned int lo = 1, hi = EVTCHN_FIFO_NR_CHANNELS, mid;
	struct evtchn_status st;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		st = (struct evtchn_status){ .dom = DOMID_SELF, .port = mid };
		if (!xl_hc_event_channel_op(EVTCHNOP_status, &st) &&
		    st.status != EVTCHNSTAT_closed)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * What a hung test leaves behind, for the log: where vCPU 0 was when the
 * watchdog bit, and per vCPU its mailbox, its upcall flags and its
 * clockevent (a vCPU blocked with no timer in Xen and nothing pending is
 * a lost wakeup).  Racy snapshots: the other vCPUs are not stopped.
 */
static void vcpus_dump(void)
{
	uint64_t now = xl_clock_now();
	unsigned int cpu;

	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++) {
		struct vcpu_info *vi = xl_os_vcpu_info(cpu);
		struct xl_clock_state cs;

		xl_clock_get_state(cpu, &cs);
		xt_log("runner: vCPU %u: mailbox %s; upcall pending %u mask %u; "
		       "timer port %u%s%s, %u armed, first %lld ns from now, "
		       "Xen singleshot %lld ns from now%s",
		       cpu, xtr_mbox_name(cpu),
		       xl_read8(&vi->evtchn_upcall_pending),
		       xl_read8(&vi->evtchn_upcall_mask), cs.port,
		       cs.port && xl_evtchn_is_pending(cs.port) ? " pending" :
								  "",
		       cs.port && xl_evtchn_is_masked(cs.port) ? " masked" : "",
		       cs.nr_timers,
		       cs.first_deadline ?
			       (long long)(cs.first_deadline - now) :
			       0,
		       cs.armed ? (long long)(cs.armed - now) : 0,
		       cs.idle ? "; in idle" : "");
	}
}

static void timeout_dump(const struct tk_regs *r)
{
	xt_log("runner: vCPU 0 at rip %llx rflags %llx; now %llu ns; %llu "
	       "interrupts between sti and hlt",
	       (unsigned long long)r->rip, (unsigned long long)r->rflags,
	       (unsigned long long)xl_clock_now(),
	       (unsigned long long)tk_idle_shadow_misses());
	vcpus_dump();
}

void tk_watchdog_fired(const struct tk_regs *r)
{
	uint64_t now = tk_now_ns();

	if (!xr.test || !xr.deadline)
		return;
	if (now < xr.deadline) {
		tk_lapic_timer(xr.deadline - now);
		return;
	}
	xt_log("runner: %s: timeout; ports 1..%u look open", xr.test->name,
	       open_port_bound() - 1);
	timeout_dump(r);
	xtr_timeout(xr.idx, xr.test);
	tk_shutdown(SHUTDOWN_crash);
}

static enum xt_result run_one(unsigned int idx, const struct xt_test *t)
{
	unsigned int pages = tk_pages_in_use();
	enum xt_result r;
	uint64_t t0;

	/* Out with what is there, and a domU's console port closed. */
	tk_console_detach();
	t0 = tk_now_ns();
	xr.test = t;
	xr.idx = idx;
	xr.deadline = t0 + (uint64_t)xtr.timeout_s * 1000000000ULL;
	tk_lapic_timer((uint64_t)xtr.timeout_s * 1000000000ULL);

	r = t->fn();
	/* A failure on real Xen is seldom seen twice: keep what it left. */
	if (r == XT_FAIL && !xtr.quiet) {
		xt_log("runner: %s failed; the vCPUs now:", t->name);
		vcpus_dump();
	}

	/* Work a test started and never waited for. */
	xtr_drain(xt_nr_vcpus());
	domain_reset();
	tk_lapic_timer(0);
	xr.deadline = 0;
	xr.test = NULL;
	if (xtr.verbose) {
		uint64_t us = (tk_now_ns() - t0) / 1000;

		xt_log("%s: %llu.%03llu s", t->name,
		       (unsigned long long)(us / 1000000),
		       (unsigned long long)(us / 1000 % 1000));
	}
	/* Quiet runs (the tick mode) keep results past the test. */
	if (tk_pages_in_use() != pages && !xtr.quiet)
		xt_log("runner: %s: %d arena pages not freed", t->name,
		       (int)(tk_pages_in_use() - pages));
	return r;
}

/* --- the entry point ----------------------------------------------------------------- */

void xt_set_vcpus(unsigned int guest, unsigned int peer)
{
	/* The vCPU count is what Xen gave the domain. */
}

/*
 * argv: [-l] [-v] [-t seconds] [-r N] [-x name-substring]...
 * [name-substring...] as for xl-selftest, plus -r: the selection N times
 * over, and -x: a matching test is not run but reported "ok N name # SKIP
 * excluded (-x)" (for a test known not to finish here).
 */
int xt_main(int argc, char **argv, const struct xt_suite *suites,
	    unsigned int nr_suites)
{
	struct xtr_host host = {
		.opts = XTR_OPT_REPEAT | XTR_OPT_EXCLUDE,
		.nr_vcpus = xt_nr_vcpus(),
		.run = run_one,
	};

	/* A peer in dom0 (tools/evtchn-peer), found through xenstore with
	 * the core up as a test has it, then the domain put back. */
	tk_console_detach();
	tk_peer_probe(tk_peer_wait);
	domain_reset();
	host.peer = xt_have_peer();
	return xtr_main(&host, argc, argv, suites, nr_suites);
}
