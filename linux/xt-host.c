// SPDX-License-Identifier: GPL-2.0
/*
 * The Linux host of the xt selftests (selftests/xt.h): the portable
 * tables run inside xenlite.ko, beside the live guest, and print the same
 * TAP as on hv and in the test kernel (Kbuild: XENLITE_XT=y, the default).
 *
 *   /sys/kernel/debug/xenlite/xt
 *     write "run [ARGS]"   start a run in the background; ARGS are
 *                          xl-selftest's: -v, -t SECONDS, -x NAME, name
 *                          substrings (-EBUSY while a run is under way)
 *     read                 the TAP so far; the run has ended when its
 *                          last line is "N passed, N failed, N skipped"
 *
 * tools/guest/hvm-xt writes and reads it in the hvm domU (tools/xen-hvm).
 *
 * Unlike the other two hosts, the core is not the test's to bring up: the
 * module did, and the guest's tick, idle, IPIs and disk run on it.  So
 *   - a test runs here only when its entry has XT_LINUX (xt.h); the others
 *     are reported "ok N name # SKIP <why>" (why_not() below);
 *   - xt_core_init() does not initialise: it checks that the live core is
 *     what the test asks for (core_init_live());
 *   - between tests there is no domain reset: the ports a test left
 *     bound are closed as soon as its body returns, and only those: the
 *     guest binds and closes its own meanwhile (a disk attached, a
 *     loopback from debugfs).  A test's ports are the ones bound by its
 *     threads' event channel hypercalls (xlk_xt_evtchn_done(), called by
 *     xl_os_hypercall(); core or raw) and not closed since, and any port
 *     the core has bound to xt_rec_handler or to data on those threads'
 *     stacks (a bind from a test handler on another CPU).  A close of a
 *     port the test did not bind, by its threads, fails the test: that
 *     port was the guest's.
 *
 * Threads: the runner ("xlxt/N", bound to the CPU of vCPU 0) runs the test
 * bodies, as the other hosts run them on vCPU 0; one worker per other
 * vCPU, bound to its CPU, runs what xt_run_on()/xt_start_on() post to
 * that vCPU's mailbox (selftests/xt-runner.c).  A worker sleeps until
 * poked instead of halting the vCPU: Linux owns its idle.
 *
 * The per-test watchdog (xtr.timeout_s, -t) is a delayed work: when it
 * bites, the test is reported "not ok ... # timeout", the totals follow
 * and the output is closed.  A test stuck in the kernel cannot be
 * stopped; the tests after it are not run, and the runner thread is
 * waited for at unload.
 */
#define pr_fmt(fmt) "xenlite: xt: " fmt

#include <linux/bitmap.h>
#include <linux/cpu.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/task_stack.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>

#include "xl-linux.h"
#include "xt-runner.h"
#include "xt-util.h"

#define XT_OUT_MAX (512 * 1024)
#define XT_ARGS_MAX 16
/*
 * Ports whose binds and closes are tracked (FIFO allows 2^17): the tests
 * run here bind a few dozen at most; a bind above is counted and fails.
 */
#define XT_PORT_TRACK 4096

/* The test kernel's tables (testkernel/Makefile's TEST_SRCS), its order. */
static struct xt_suite suites[5];

static void suites_fill(void)
{
	suites[0] = (struct xt_suite){ xt_evtchn_tests, xt_evtchn_nr_tests };
	suites[1] =
		(struct xt_suite){ xt_hypercall_tests, xt_hypercall_nr_tests };
	suites[2] = (struct xt_suite){ xt_time_tests, xt_time_nr_tests };
	suites[3] =
		(struct xt_suite){ xt_xs_guest_tests, xt_xs_guest_nr_tests };
	suites[4] =
		(struct xt_suite){ xt_blk_guest_tests, xt_blk_guest_nr_tests };
}

static struct {
	/* The TAP text: appended under lock, len published with release. */
	char *out;
	size_t len;
	bool closed;
	spinlock_t lock;
	/* The run. */
	struct task_struct *runner;
	struct task_struct *self[XL_MAX_VCPUS]; /* each thread, as it runs */
	bool finished; /* xtr_main() returned: no test body is running */
	struct task_struct *worker[XL_MAX_VCPUS];
	unsigned int cpu_of[XL_MAX_VCPUS]; /* vCPU -> Linux CPU */
	unsigned int nr;		   /* vCPUs 0..nr-1 with upcalls */
	bool kick[XL_MAX_VCPUS];
	wait_queue_head_t wq[XL_MAX_VCPUS];
	domid_t domid;
	bool done; /* the run printed its totals */
	bool stop; /* the watchdog bit: run no more tests */
	char args[256];
	char *argv[XT_ARGS_MAX + 2];
	int argc;
	unsigned int timeout_s; /* xtr.timeout_s at load: each run's default */
	/* The test running now, for the watchdog. */
	struct delayed_work watchdog;
	const struct xt_test *test;
	unsigned int idx;
	/* Ports the test's threads bound and nobody closed since. */
	DECLARE_BITMAP(bound, XT_PORT_TRACK);
	atomic_t untracked; /* binds by the test's threads above the bitmap */
	atomic_t lost;	    /* closes by them of ports not theirs */
	evtchn_port_t lost_port;
	bool cleaning; /* the runner closes the test's ports: not the test */
} xx;

static DEFINE_MUTEX(xt_lock); /* starts and ends of runs */

/* --- output: the hooks of selftests/xt-runner.h ------------------------- */

static void out_append(const char *s, size_t n)
{
	unsigned long flags;

	spin_lock_irqsave(&xx.lock, flags);
	if (xx.out && !xx.closed) {
		n = min(n, XT_OUT_MAX - 1 - xx.len);
		memcpy(xx.out + xx.len, s, n);
		/* Pairs with xt_read()'s acquire: the bytes before len. */
		smp_store_release(&xx.len, xx.len + n);
	}
	spin_unlock_irqrestore(&xx.lock, flags);
}

int xtr_host_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

void xtr_host_vprintf(const char *fmt, va_list ap)
{
	char buf[320];
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);

	out_append(buf, min_t(size_t, n, sizeof(buf) - 1));
}

void xtr_host_vcomment(const char *file, int line, const char *fmt, va_list ap)
{
	char prefix[96] = "# ", msg[320], *p = msg, *nl;

	if (file)
		snprintf(prefix, sizeof(prefix), "# %s:%d: ", kbasename(file),
			 line);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	do {
		char line[sizeof(prefix) + sizeof(msg) + 1];
		int n;

		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		/* One append, one lock hold: another thread's line cannot split it. */
		n = snprintf(line, sizeof(line), "%s%s\n", prefix, p);
		out_append(line, min_t(size_t, n, sizeof(line) - 1));
		p = nl ? nl + 1 : NULL;
	} while (p && *p);
}

/*
 * A mailbox misused (a test bug): say so and end the output; the tests
 * after it are not run (xx.stop).  It returns, and so do its callers.
 */
void xtr_host_panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("%s\n", msg);
	out_append("Bail out! ", 10);
	out_append(msg, strlen(msg));
	out_append("\n", 1);
	WRITE_ONCE(xx.stop, true);
	WRITE_ONCE(xx.closed, true);
}

/* --- environment -------------------------------------------------------- */

unsigned int xt_backend(void)
{
	return XT_LINUX;
}

const char *xt_backend_name(void)
{
	return "linux";
}

unsigned int xt_nr_vcpus(void)
{
	return xx.nr;
}

domid_t xt_domid(void)
{
	return xx.domid;
}

uint64_t xt_now_ns(void)
{
	return ktime_get_ns();
}

/* A caller that may not sleep: interrupts off, or in an atomic section. */
static bool xt_atomic(void)
{
	return irqs_disabled() || in_atomic();
}

/*
 * Sleep: upcalls keep running (on this CPU too, in its idle).  With
 * interrupts off (a test holding delivery masked) it spins instead.
 */
void xt_sleep_ns(uint64_t ns)
{
	u64 end = ktime_get_ns() + ns;

	if (xt_atomic() || ns < 20000) {
		while (ktime_get_ns() < end)
			cpu_relax();
		return;
	}
	usleep_range(ns / 1000, ns / 1000 + ns / 10000 + 10);
}

void xtr_host_relax(unsigned int *n)
{
	if (xt_atomic() || ++*n < 64) {
		cpu_relax();
		return;
	}
	usleep_range(50, 100);
}

/* No peer domain in the hvm domU: needs_peer tests are skipped. */
bool xt_have_peer(void)
{
	return false;
}

domid_t xt_peer_domid(void)
{
	return DOMID_INVALID;
}

unsigned int xt_peer_nr_vcpus(void)
{
	return 0;
}

long xt_peer_hypercall(unsigned int pcpu, unsigned int op, unsigned long a1,
		       unsigned long a2, unsigned long a3)
{
	return -XEN_ENOSYS;
}

void xt_peer_start(unsigned int pcpu, void (*fn)(void *), void *arg)
{
	xtr_host_panic("xt_peer_start: no peer domain here");
}

void xt_peer_wait(unsigned int pcpu)
{
}

long xt_peer_hc(unsigned int op, unsigned long a1, unsigned long a2,
		unsigned long a3)
{
	return -XEN_ENOSYS;
}

long xt_peer_ctl(const char *op, unsigned long a, unsigned long b,
		 unsigned long *val)
{
	return -XEN_ENOSYS;
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

void xt_set_vcpus(unsigned int guest, unsigned int peer)
{
}

/* The guest's vbds are the module's own (linux/blk.c), not the tests'. */
int xt_blk_disk_get(unsigned int devid, uint64_t sectors)
{
	return -XEN_ENODEV;
}

void xt_blk_disk_put(void)
{
}

/*
 * xt_core_init() here: the core is up already, with every vCPU and the
 * ABI chosen at load.  A test may run on it when it asks for no more
 * vCPUs than the core has and for the ABI it runs.
 */
static int core_init_live(const struct xl_evtchn_config *cfg)
{
	enum xl_evtchn_abi abi = xl_evtchn_abi();

	if (abi == XL_EVTCHN_ABI_NONE)
		return -XEN_ENODEV;
	if (cfg->nr_vcpus > xl_os_nr_vcpus() ||
	    (cfg->force_2level && abi != XL_EVTCHN_ABI_2L)) {
		xt_log("runner: the live core runs %s on %u vCPUs; the test asks for %u vCPUs%s",
		       xl_evtchn_abi_name(), xl_os_nr_vcpus(), cfg->nr_vcpus,
		       cfg->force_2level ? ", 2-level" : "");
		return -XEN_EEXIST;
	}
	return 0;
}

/* Why a test without XT_LINUX does not run beside the live guest. */
static const struct {
	const char *name; /* a name, or a prefix ending in '/' or '_' */
	const char *why;
} not_here[] = {
	{ "2l/", "the module's core keeps the ABI it chose at load (FIFO)" },
	{ "nofifo/", "hv only: a hypervisor that refuses FIFO" },
	{ "time/",
	  "the module's clockevent owns VIRQ_TIMER and each vCPU's Xen timers" },
	{ "xs/", "the module's xenstore client belongs to its disk thread" },
	{ "blk/", "the guest's vbds are the module's block devices" },
	{ "fifo/virq_timer",
	  "binds VIRQ_TIMER, which the module's clockevent holds" },
	{ "fifo/exact_counts",
	  "counts the core's statistics, which the guest's tick also moves" },
	{ "fifo/close_pending",
	  "counts the core's statistics, which the guest's tick also moves" },
	{ "fifo/foreign_masked",
	  "counts vCPU 0's upcalls, which the guest's tick also raises" },
	{ "fifo/no_instance", "tears the live core down (xl_evtchn_fini)" },
	{ "fifo/reinit", "tears the live core down (xl_evtchn_fini)" },
	{ "fifo/fini_while_upcall",
	  "tears the live core down (xl_evtchn_fini)" },
	{ "hc/init_control_errors",
	  "EVTCHNOP_init_control and EVTCHNOP_reset on the live domain" },
	{ "hc/expand_array_errors",
	  "EVTCHNOP_expand_array on the live domain" },
	{ "hc/lowest_free_port", "assumes no port is bound (the guest's are)" },
	{ "hc/exhaust_", "would take every free port from the live guest" },
	{ "hc/set_priority_2l", "needs the 2-level ABI; the module runs FIFO" },
	{ "hc/singleshot_other_vcpu",
	  "stops vCPU 0's singleshot timer, the module's clockevent" },
};

static const char *why_not(const struct xt_test *t)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(not_here); i++) {
		const char *n = not_here[i].name;
		size_t l = strlen(n);

		if (n[l - 1] == '/' || n[l - 1] == '_' ?
			    !strncmp(t->name, n, l) :
			    !strcmp(t->name, n))
			return not_here[i].why;
	}
	if (t->needs_peer)
		return "needs a peer domain (none beside the hvm domU)";
	if (t->backends == XT_HV)
		return "hv only";
	return "not marked XT_LINUX: not yet run beside a live guest";
}

/* --- guest vCPU work ---------------------------------------------------- */

unsigned int xtr_host_self(void)
{
	return this_cpu_read(xlk_vcpu_id);
}

void xtr_host_poke(unsigned int cpu)
{
	if (cpu >= XL_MAX_VCPUS)
		return;
	/* xchg: the mailbox's POSTED store is ordered before the kick. */
	xchg(&xx.kick[cpu], true);
	wake_up(&xx.wq[cpu]);
}

static const int xt_never_halt = 1;

/*
 * vCPU v's worker: sleep until poked, then run what is posted.  The kick
 * is cleared with xchg (a full barrier) before the mailbox is read, so a
 * post after that read sets the kick again and is not missed.
 */
static int worker_fn(void *arg)
{
	unsigned int v = (unsigned int)(unsigned long)arg;

	WRITE_ONCE(xx.self[v], current);
	while (!kthread_should_stop()) {
		wait_event_idle(xx.wq[v],
				READ_ONCE(xx.kick[v]) || kthread_should_stop());
		if (!xchg(&xx.kick[v], false))
			continue;
		xtr_secondary_step(v, &xt_never_halt);
	}
	return 0;
}

/* --- around each test --------------------------------------------------- */

static bool port_open(evtchn_port_t port)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = port };

	return !xl_hc_event_channel_op(EVTCHNOP_status, &st) &&
	       st.status != EVTCHNSTAT_closed;
}

/* current is one of this run's threads (in a task, or an upcall on it). */
static bool xt_thread(void)
{
	unsigned int v;

	for (v = 0; v < XL_MAX_VCPUS; v++)
		if (READ_ONCE(xx.self[v]) == current)
			return true;
	return false;
}

/*
 * xl_os_hypercall(): an event channel op cmd(arg) succeeded.  Binds by the
 * test's threads are recorded, binds by anyone else and every close clear
 * the record: so a number the guest got after the test closed it is not
 * the test's.  Xen hands a port to one binder at a time (evtchn_close
 * frees it before get_free_port can return it), so the record of a port
 * follows its last bind.  A close by the test's threads of a port it did
 * not bind is counted (xx.lost): the port was the guest's.  Called in any
 * context, the upcall's too: atomic bit operations, no lock.
 */
void xlk_xt_evtchn_done(int cmd, void *arg)
{
	evtchn_port_t port;
	bool mine;

	/* Binds and closes only: not the sends of the guest's disk path. */
	switch (cmd) {
	case EVTCHNOP_alloc_unbound:
		port = ((struct evtchn_alloc_unbound *)arg)->port;
		break;
	case EVTCHNOP_bind_interdomain:
		port = ((struct evtchn_bind_interdomain *)arg)->local_port;
		break;
	case EVTCHNOP_bind_virq:
		port = ((struct evtchn_bind_virq *)arg)->port;
		break;
	case EVTCHNOP_bind_ipi:
		port = ((struct evtchn_bind_ipi *)arg)->port;
		break;
	case EVTCHNOP_close:
		port = ((struct evtchn_close *)arg)->port;
		if ((port >= XT_PORT_TRACK ||
		     !test_and_clear_bit(port, xx.bound)) &&
		    xt_thread() && !READ_ONCE(xx.cleaning)) {
			WRITE_ONCE(xx.lost_port, port);
			atomic_inc(&xx.lost);
		}
		return;
	default:
		return;
	}
	/*
	 * Also a bind from an upcall during a test: the guest's handlers
	 * (clockevent, xenstore, blkfront, the debugfs checks') never bind,
	 * a test's may (a handler binding on another vCPU's CPU).
	 */
	mine = xt_thread() || (!in_task() && READ_ONCE(xx.test));
	if (port >= XT_PORT_TRACK) {
		if (mine)
			atomic_inc(&xx.untracked);
		return;
	}
	if (mine)
		set_bit(port, xx.bound);
	else
		clear_bit(port, xx.bound);
}

/* Close port, through the core if it has it bound. */
static void port_close(evtchn_port_t port)
{
	struct evtchn_close cl = { .port = port };

	if (xl_evtchn_port_type(port) != XL_PORT_FREE)
		xl_evtchn_close(port);
	else
		xl_hc_event_channel_op(EVTCHNOP_close, &cl);
}

/*
 * Close the ports the test left bound (above), and only those.  Returns
 * how many of them were VIRQ ports bound to data on a stack of the test's
 * (xtr_close_stale_ports()): a test bug, as it fails on hv.
 */
static unsigned int ports_cleanup(const char *name)
{
	unsigned int v, n = 0, virqs = 0;
	evtchn_port_t p;

	WRITE_ONCE(xx.cleaning, true);
	for (v = 0; v < XL_MAX_VCPUS; v++) {
		struct task_struct *k = READ_ONCE(xx.self[v]);
		uintptr_t lo;

		if (!k)
			continue;
		lo = (uintptr_t)task_stack_page(k);
		virqs += xtr_close_stale_ports(name, lo, lo + THREAD_SIZE,
					       v ? NULL : xt_rec_handler,
					       !xtr.verbose);
	}
	for_each_set_bit(p, xx.bound, XT_PORT_TRACK)
	{
		if (port_open(p))
			port_close(p);
		clear_bit(p, xx.bound);
		n++;
	}
	WRITE_ONCE(xx.cleaning, false);
	if (n && xtr.verbose)
		xt_log("runner: %s: closed %u port(s) it left bound", name, n);
	return virqs;
}

static void watchdog_fn(struct work_struct *w)
{
	const struct xt_test *t = READ_ONCE(xx.test);

	if (!t)
		return;
	xt_log("runner: %s: timeout; the test is still running and the tests after it are not run",
	       t->name);
	WRITE_ONCE(xx.stop, true);
	xtr_timeout(xx.idx, t);
	WRITE_ONCE(xx.closed, true);
	WRITE_ONCE(xx.done, true);
}

static enum xt_result run_one(unsigned int idx, const struct xt_test *t)
{
	unsigned int virqs;
	enum xt_result r;
	u64 t0;

	if (READ_ONCE(xx.stop)) {
		xt_skip_reason("an earlier test timed out or bailed out");
		return XT_SKIP;
	}
	atomic_set(&xx.lost, 0);
	atomic_set(&xx.untracked, 0);
	xx.idx = idx;
	WRITE_ONCE(xx.test, t);
	schedule_delayed_work(&xx.watchdog, (unsigned long)xtr.timeout_s * HZ);
	t0 = ktime_get_ns();
	r = t->fn();
	/*
	 * First, before this thread's next frames reuse the test's: close
	 * its ports, so that no event (VIRQ_DEBUG from `xl debug-keys`, a
	 * late loopback notification) runs a handler on its dead frames.
	 */
	virqs = ports_cleanup(t->name);
	/* Work a test started and never waited for, and what it bound. */
	xtr_drain(xx.nr);
	virqs += ports_cleanup(t->name);
	cancel_delayed_work_sync(&xx.watchdog);
	WRITE_ONCE(xx.test, NULL);
	if (r != XT_FAIL && virqs) {
		xt_fail_msg(__FILE__, __LINE__,
			    "%s left a VIRQ port bound to its stack", t->name);
		r = XT_FAIL;
	}
	if (r != XT_FAIL && atomic_read(&xx.lost)) {
		xt_fail_msg(
			__FILE__, __LINE__,
			"%s closed %d port(s) it did not bind (the guest's), the last %u",
			t->name, atomic_read(&xx.lost),
			READ_ONCE(xx.lost_port));
		r = XT_FAIL;
	}
	if (r != XT_FAIL && atomic_read(&xx.untracked)) {
		xt_fail_msg(
			__FILE__, __LINE__,
			"%s bound %d port(s) above %u, which the runner does not track",
			t->name, atomic_read(&xx.untracked), XT_PORT_TRACK);
		r = XT_FAIL;
	}
	if (xtr.verbose) {
		u64 us = (ktime_get_ns() - t0) / 1000;

		xt_log("%s: %llu.%03llu s", t->name, us / 1000000,
		       us / 1000 % 1000);
	}
	return r;
}

/*
 * EVTCHNOP_alloc_unbound with remote DOMID_SELF records the caller's real
 * id (event_channel.c, evtchn_alloc_unbound), which EVTCHNOP_status shows;
 * as the test kernel finds its own (testkernel/main.c).
 */
static domid_t find_domid(void)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct evtchn_status st;
	struct evtchn_close cl;
	domid_t id = DOMID_INVALID;

	if (xl_hc_event_channel_op(EVTCHNOP_alloc_unbound, &au))
		return id;
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = au.port };
	if (!xl_hc_event_channel_op(EVTCHNOP_status, &st) &&
	    st.status == EVTCHNSTAT_unbound)
		id = st.u.unbound.dom;
	cl.port = au.port;
	xl_hc_event_channel_op(EVTCHNOP_close, &cl);
	return id;
}

/* --- the run ------------------------------------------------------------- */

static void workers_stop(void)
{
	unsigned int v;

	for (v = 0; v < XL_MAX_VCPUS; v++) {
		/* Before the task can go: xt_thread() compares pointers. */
		WRITE_ONCE(xx.self[v], NULL);
		if (!xx.worker[v])
			continue;
		kthread_stop(xx.worker[v]);
		put_task_struct(xx.worker[v]);
		xx.worker[v] = NULL;
	}
}

/*
 * A run that printed no totals (-l, a "Bail out!") gets an end line all
 * the same, so that a reader waiting for its end (tools/guest/hvm-xt)
 * does not wait for its timeout.  Written even to a closed output.
 */
static void run_ended(void)
{
	static const char end[] = "# xt: the run ended without totals\n";
	unsigned int a, b, c;
	unsigned long flags;
	size_t i;
	char tail[64];

	spin_lock_irqsave(&xx.lock, flags);
	i = xx.len > 0 ? xx.len - 1 : 0;
	while (i > 0 && xx.out[i - 1] != '\n')
		i--;
	strscpy(tail, xx.out + i, min_t(size_t, sizeof(tail), xx.len - i + 1));
	if (sscanf(tail, "%u passed, %u failed, %u skipped", &a, &b, &c) != 3 &&
	    xx.len + sizeof(end) < XT_OUT_MAX) {
		memcpy(xx.out + xx.len, end, sizeof(end) - 1);
		/* Pairs with xt_read()'s acquire, as in out_append(). */
		smp_store_release(&xx.len, xx.len + sizeof(end) - 1);
	}
	spin_unlock_irqrestore(&xx.lock, flags);
}

static int runner_fn(void *unused)
{
	struct xtr_host host = {
		.opts = XTR_OPT_EXCLUDE,
		.nr_vcpus = xx.nr,
		.run = run_one,
		.core_init = core_init_live,
		.why_not = why_not,
	};
	WRITE_ONCE(xx.self[0], current);
	suites_fill();
	xx.domid = find_domid();
	xtr_main(&host, xx.argc, xx.argv, suites, ARRAY_SIZE(suites));
	run_ended();
	WRITE_ONCE(xx.finished, true);
	WRITE_ONCE(xx.done, true);
	/* Until the next run or the unload stops this thread. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_IDLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/* The vCPUs 0..nr-1 that take upcalls, each on an online CPU. */
static unsigned int vcpus_map(void)
{
	unsigned int v, cpu, nr = 0;

	for (v = 0; v < xl_os_nr_vcpus() && v < XL_MAX_VCPUS; v++) {
		xx.cpu_of[v] = nr_cpu_ids;
		for_each_online_cpu(cpu) if (per_cpu(xlk_vcpu_id, cpu) == v)
			xx.cpu_of[v] = cpu;
		if (xx.cpu_of[v] >= nr_cpu_ids ||
		    !xlk_upcall_cpu_ok(xx.cpu_of[v]))
			break;
		nr = v + 1;
	}
	return nr;
}

/* The end of the last run: its threads stopped.  Under xt_lock. */
static void run_end(void)
{
	if (xx.runner) {
		WRITE_ONCE(xx.self[0], NULL);
		kthread_stop(xx.runner);
		put_task_struct(xx.runner);
		xx.runner = NULL;
	}
	workers_stop();
}

static struct task_struct *thread_on(int (*fn)(void *), void *arg,
				     unsigned int cpu)
{
	struct task_struct *k = kthread_create_on_cpu(fn, arg, cpu, "xlxt/%u");

	if (IS_ERR(k))
		return k;
	get_task_struct(k);
	wake_up_process(k);
	return k;
}

/* "run [ARGS]": start a run.  Under xt_lock. */
static int run_start(const char *args)
{
	struct task_struct *k;
	unsigned int v;
	const struct xt_test *t;
	char *p;

	/*
	 * A test body still running (the watchdog bit and it never
	 * returned): kthread_stop() would wait for it under xt_lock.
	 */
	if (xx.runner && !READ_ONCE(xx.finished)) {
		t = READ_ONCE(xx.test);
		if (READ_ONCE(xx.done) && t)
			pr_warn("a test is still stuck: %s\n", t->name);
		return -EBUSY;
	}
	run_end();
	if (!xx.out) {
		xx.out = vzalloc(XT_OUT_MAX);
		if (!xx.out)
			return -ENOMEM;
	}
	xx.len = 0;
	xx.closed = false;
	xx.done = false;
	xx.finished = false;
	/* -v and -t are this run's: the next starts from the defaults. */
	xtr.verbose = false;
	xtr.timeout_s = xx.timeout_s;
	xx.stop = false;
	xx.nr = vcpus_map();
	if (!xx.nr)
		return -ENODEV;
	strscpy(xx.args, args, sizeof(xx.args));
	xx.argc = 0;
	xx.argv[xx.argc++] = "xenlite-xt";
	p = xx.args;
	while (xx.argc <= XT_ARGS_MAX) {
		char *w = strsep(&p, " \t\n");

		if (!w)
			break;
		if (*w)
			xx.argv[xx.argc++] = w;
	}
	xx.argv[xx.argc] = NULL;
	for (v = 0; v < xx.nr; v++) {
		init_waitqueue_head(&xx.wq[v]);
		xx.kick[v] = false;
	}
	xtr_mbox_reset();
	for (v = 1; v < xx.nr; v++) {
		k = thread_on(worker_fn, (void *)(unsigned long)v,
			      xx.cpu_of[v]);
		if (IS_ERR(k)) {
			workers_stop();
			return PTR_ERR(k);
		}
		xx.worker[v] = k;
	}
	k = thread_on(runner_fn, NULL, xx.cpu_of[0]);
	if (IS_ERR(k)) {
		workers_stop();
		return PTR_ERR(k);
	}
	xx.runner = k;
	return 0;
}

static ssize_t xt_write(struct file *f, const char __user *ubuf, size_t len,
			loff_t *ppos)
{
	char buf[200];
	int rc;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	if (strncmp(buf, "run", 3) || (buf[3] && !isspace(buf[3])))
		return -EINVAL;
	mutex_lock(&xt_lock);
	rc = run_start(buf + 3);
	mutex_unlock(&xt_lock);
	return rc ? rc : (ssize_t)len;
}

static ssize_t xt_read(struct file *f, char __user *ubuf, size_t len,
		       loff_t *ppos)
{
	/* Pairs with out_append()'s release: the text before len is written. */
	size_t n = smp_load_acquire(&xx.len);

	if (!xx.out)
		return 0;
	return simple_read_from_buffer(ubuf, len, ppos, xx.out, n);
}

static const struct file_operations xt_fops = {
	.owner = THIS_MODULE,
	.write = xt_write,
	.read = xt_read,
	.llseek = default_llseek,
};

void xlk_xt_init(struct dentry *dir)
{
	unsigned int i;

	spin_lock_init(&xx.lock);
	xx.timeout_s = xtr.timeout_s;
	INIT_DELAYED_WORK(&xx.watchdog, watchdog_fn);
	for (i = 0; i < XL_MAX_VCPUS; i++)
		init_waitqueue_head(&xx.wq[i]);
	debugfs_create_file("xt", 0600, dir, NULL, &xt_fops);
}

/*
 * After the debugfs file is gone: no new run; stop the last one's threads.
 * A test that timed out and is still stuck in the kernel is waited for
 * here (kthread_stop): the unload blocks until it returns.
 */
void xlk_xt_fini(void)
{
	mutex_lock(&xt_lock);
	cancel_delayed_work_sync(&xx.watchdog);
	run_end();
	vfree(xx.out);
	xx.out = NULL;
	mutex_unlock(&xt_lock);
}
