/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The half of the xt runner (selftests/xt.h) that both backends share,
 * selftests/xt-runner.c: the options and the test selection, the TAP 13
 * lines and the closing "N passed, N failed, N skipped" line, the result
 * counts, xt_log()/xt_fail_msg()/xt_skip_reason(), and the guest vCPU
 * mailboxes behind xt_run_on()/xt_start_on()/xt_wait_on().
 *
 * It is built into the hv programs (with selftests/hv-runner.c) and into
 * the test kernel (with testkernel/runner.c, freestanding: no libc), so it
 * uses only the core's headers, <string.h> and <stdlib.h> (the test kernel
 * has its own) and the hooks below.  Each backend runner keeps what is its
 * own: how a test gets its guest (a fresh hv domain, or the test kernel's
 * one domain put back between tests), the watchdog, the peer domain, time
 * and sleep; it implements the hooks and its xt_main() calls xtr_main().
 */
#ifndef XT_RUNNER_H
#define XT_RUNNER_H

#include <stdarg.h>
#include <stddef.h>

#include "xt.h"

/* --- hooks: each backend runner provides these -------------------------- */

/* The host's vsnprintf (libc's on hv, tk_vsnprintf in the test kernel). */
int xtr_host_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Write the formatted text to the TAP stream as it is (whole lines). */
void xtr_host_vprintf(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
/*
 * Write each line of the formatted text as a TAP comment: "# file:line:
 * text" for xt_fail_msg(), "# text" when file is NULL (xt_log()).
 */
void xtr_host_vcomment(const char *file, int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/*
 * A mailbox misused (bad or busy vCPU): say so and end the whole run.  hv
 * and the test kernel stop there; the Linux module cannot stop the kernel,
 * so its panic ends the run's output and returns, and callers return
 * after it (not noreturn: objtool would see a call that falls through).
 */
void xtr_host_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The calling guest vCPU's id (~0U off the guest's vCPUs). */
unsigned int xtr_host_self(void);
/* Wake guest vCPU cpu out of its halt in xtr_secondary_step(). */
void xtr_host_poke(unsigned int cpu);
/* One round of a polling wait; *n counts them (hv backs off, Xen spins). */
void xtr_host_relax(unsigned int *n);

/* --- the run ------------------------------------------------------------ */

/*
 * Options a runner takes besides -l, -v, -t SECONDS and name substrings;
 * without its bit an option word is a name substring like any other.
 */
#define XTR_OPT_HELP (1U << 0)	  /* -h, --help: the usage line */
#define XTR_OPT_REPEAT (1U << 1)  /* -r N: the selection N times over */
#define XTR_OPT_EXCLUDE (1U << 2) /* -x NAME: "ok N name # SKIP excluded" */

struct xtr_host {
	unsigned int opts;     /* XTR_OPT_* */
	unsigned int nr_vcpus; /* a test's guest vCPUs (min_vcpus) */
	bool peer;	       /* a test gets a peer domain (needs_peer) */
	bool quiet_totals;     /* a quiet run that failed prints its totals */
	/* Run test t (TAP number idx) in a fresh guest: its result. */
	enum xt_result (*run)(unsigned int idx, const struct xt_test *t);
	/*
	 * xt_core_init() of a host whose core is already up (the Linux
	 * module's): 0 when the live core is what cfg asks for.  NULL: the
	 * core is brought up, xl_evtchn_init(cfg).
	 */
	int (*core_init)(const struct xl_evtchn_config *cfg);
	/*
	 * The reason after "# SKIP" for a test whose backends lack this
	 * one.  NULL, or NULL returned: "not on <backend name>".
	 */
	const char *(*why_not)(const struct xt_test *t);
};

/* xt_main() of the backend: parse argv, run the tables, print the TAP. */
int xtr_main(const struct xtr_host *host, int argc, char **argv,
	     const struct xt_suite *suites, unsigned int nr_suites);

/* The knobs the backend's half reads. */
struct xtr_opts {
	unsigned int timeout_s; /* per-test watchdog: xt_set_timeout(), -t */
	bool quiet;		/* xt_set_quiet(): no TAP lines */
	bool verbose;		/* -v: each test's time */
};
extern struct xtr_opts xtr;

/*
 * The watchdog bit during test idx: count it failed, print its "not ok
 * ... # timeout" line and the totals.  The backend then ends the run.
 */
void xtr_timeout(unsigned int idx, const struct xt_test *t);

/* --- guest vCPU mailboxes ----------------------------------------------- */

enum { XTR_MB_IDLE, XTR_MB_POSTED, XTR_MB_RUNNING, XTR_MB_DONE };

/* Every mailbox idle (before a test in a new guest). */
void xtr_mbox_reset(void);
/* After a test body: wait for work it left on vCPUs 1..nr-1, all idle. */
void xtr_drain(unsigned int nr);
/*
 * One round of a secondary vCPU's loop: halt unless work is posted (or
 * *quit is set, if quit is given), then run the work if it was posted.
 */
void xtr_secondary_step(unsigned int cpu, const int *quit);
/* The state of vCPU cpu's mailbox as a word, for a dump (racy). */
const char *xtr_mbox_name(unsigned int cpu);

/*
 * After a test body returned: close every port the core has bound to a
 * handler whose data lies in [lo, hi) (the test's stack: its frames are
 * gone, and an event would make the handler write a dead frame), or whose
 * handler is also (when not NULL: a handler only the tests use).  Returns
 * how many of them were VIRQ ports, which Xen or the toolstack may raise
 * at any time (VIRQ_DEBUG by `xl debug-keys`): a test must close those
 * itself, and a host fails it.  The others get events only from the test
 * itself; they are logged unless quiet.
 */
unsigned int xtr_close_stale_ports(const char *name, uintptr_t lo, uintptr_t hi,
				   xl_evtchn_handler_t also, bool quiet);

/* The decimal digits at the start of s (no libc atoi in the test kernel). */
unsigned int xtr_to_uint(const char *s);

#endif /* XT_RUNNER_H */
