// SPDX-License-Identifier: GPL-2.0
/*
 * xl-bench: event-channel benchmarks on hv/, and the demo.
 *
 *   xl-bench                 consume cost and wake latency, markdown tables
 *   xl-bench --consume-only  consume cost only
 *   xl-bench --callgrind-case fifo|2l PORTS
 *                            one consume case for callgrind (tools/bench
 *                            runs it with --toggle-collect=xl_evtchn_upcall
 *                            and divides Ir by the "events" line)
 *   xl-bench --time-only     timer lateness and idle CPU only
 *   xl-bench --demo          a short human-readable demo
 *
 * (a) Consume cost: N IPI ports bound to vCPU 0; per round, K = 64 of them
 *     (spread over all N) are raised with vCPU 0's delivery masked, then
 *     delivery is unmasked and the upcall drains them; ns per event is the
 *     drain time over K.  FIFO at 64 .. 131,071 ports, 2-level at 64 ..
 *     4,096 (4,095 usable: port 0 is reserved).
 * (b) Wake latency: a peer vCPU sends to a guest vCPU blocked in
 *     SCHEDOP_block; clock_gettime just before the send and in the
 *     handler.  Beside it, the same measurement for a futex wake of a
 *     plain thread.
 * (c) Timer lateness: a software timer (xl_timer_arm, tickless singleshot
 *     clockevent) 1-5 ms ahead on vCPU 0 idling in xl_idle_until();
 *     lateness = fired_at - deadline in pvclock ns.  Beside it, in the
 *     same run and with the same deadlines, clock_nanosleep(CLOCK_MONOTONIC,
 *     TIMER_ABSTIME) on a plain thread.
 * (d) Idle CPU: vCPU 0 idles for a window with one timer every 50 ms, in
 *     tickless mode and with a 1000 Hz periodic tick; the runstate running
 *     time accrued over the window (VCPUOP_get_runstate_info) is what the
 *     idle vCPU cost.
 *
 * (e) blkfront-lite: 4 KiB random read/write IOPS at queue depth 1 and 32
 *     and 1 MiB sequential throughput over hv's RAM blkback, beside a
 *     one-thread memcpy of the same 4 KiB pieces (xl-bench --blk-only).
 *
 * --trials K runs each ratio's two sides as K alternating trials in this
 * one process (A, B, A, B, ...: drift and neighbours hit both sides) and
 * prints one "trial NAME I A B" line per trial; tools/bench feeds them to
 * tools/ratio (median per-trial ratio A/B, bootstrap interval).  The
 * tables give medians over the trials, latency percentiles over all the
 * trials' samples pooled.  --callgrind-trials runs the consume trials
 * under callgrind, one stats dump per case run (CALLGRIND_DUMP_STATS_AT
 * "abi/ports/trial"), with a "cgrun ABI PORTS TRIAL EVENTS" line each.
 *
 * Benchmarks print figures; nothing here asserts on a timing.
 */
#include <linux/futex.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <hv.h>
#include <hv-guest.h>

#include <hv-blk.h>
#include <xenlite/blkfront.h>
#include <xenlite/clockevent.h>
#include <xenlite/gnttab.h>
#include <xenlite/idle.h>

#include "xt-util.h"

/*
 * Per-run stats dumps for --callgrind-trials (no-ops off valgrind, and
 * without valgrind's header; cppcheck cannot evaluate __has_include).
 */
#if defined(__has_include) && !defined(__CPPCHECK__)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND_H 1
#endif
#endif
#ifndef HAVE_CALLGRIND_H
#define CALLGRIND_ZERO_STATS ((void)0)
#define CALLGRIND_DUMP_STATS_AT(s) ((void)(s))
#endif

#define K_EVENTS 64U
#define MAX_TRIALS 64U
#define WAKE_GAP_NS 50000U

struct ccase {
	bool fifo;
	unsigned int nports; /* nominal */
	unsigned int bound;
	unsigned int rounds;
	uint64_t events;	 /* timed events */
	uint64_t handled;	 /* all handler runs, warm-up included */
	double ns_per_event;	 /* median over the trials */
	double tns[MAX_TRIALS];	 /* ns/event of each run */
	uint64_t th[MAX_TRIALS]; /* handler runs of each run */
	unsigned int nt;	 /* runs done */
	bool done;
};

static struct ccase cases[] = {
	{ .fifo = true, .nports = 64 },	    { .fifo = true, .nports = 1024 },
	{ .fifo = true, .nports = 4096 },   { .fifo = true, .nports = 16384 },
	{ .fifo = true, .nports = 131071 }, { .fifo = false, .nports = 64 },
	{ .fifo = false, .nports = 1024 },  { .fifo = false, .nports = 4096 },
};

#define NR_CASES (sizeof(cases) / sizeof(cases[0]))

static struct ccase *case_queue[NR_CASES * MAX_TRIALS];
static unsigned int nr_queued, next_case;
static unsigned int opt_rounds = 2000, opt_samples = 20000;
static unsigned int opt_trials = 1;
static bool opt_cg_dump;

/* The two sides of each consume ratio, run in this order every trial. */
static const struct {
	bool fifo;
	unsigned int nports;
} ratio_cases[] = { { true, 64 },
		    { true, 131071 },
		    { true, 4096 },
		    { false, 4096 } };

#define NR_RATIO_CASES (sizeof(ratio_cases) / sizeof(ratio_cases[0]))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median_d(const double *v, unsigned int n)
{
	double s[MAX_TRIALS];

	if (!n || n > MAX_TRIALS)
		return 0;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

static uint64_t median_u64(const uint64_t *v, unsigned int n)
{
	double d[MAX_TRIALS];
	unsigned int i;

	if (!n)
		return 0;
	for (i = 0; i < n && i < MAX_TRIALS; i++)
		d[i] = (double)v[i];
	return (uint64_t)(median_d(d, i) + 0.5);
}

static uint64_t handled;

static void bench_handler(evtchn_port_t port, void *data)
{
	XT_STORE(&handled, XT_LOAD(&handled) + 1);
}

static enum xt_result consume_case(void)
{
	struct ccase *c = case_queue[next_case++];
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = !c->fifo };
	unsigned int n = 0, k, stride, r, j;
	evtchn_port_t *ports, p;
	uint64_t total = 0, t0, want;
	unsigned long flags;
	int rc;

	XT_ASSERT_EQ(xt_set_max_evtchns(131071), 0);
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(),
		     c->fifo ? XL_EVTCHN_ABI_FIFO : XL_EVTCHN_ABI_2L);
	ports = calloc(c->nports, sizeof(*ports));
	XT_ASSERT(ports);
	while (n < c->nports) {
		rc = xl_evtchn_bind_ipi(0, bench_handler, NULL, &p);
		if (rc == -XEN_ENOSPC)
			break;
		XT_ASSERT_EQ(rc, 0);
		ports[n++] = p;
	}
	c->bound = n;
	k = n < K_EVENTS ? n : K_EVENTS;
	stride = n / k;
	XT_STORE(&handled, 0);
	want = 0;
	/*
	 * The event path as a production host runs it: its tracing off (a
	 * Linux tracepoint not enabled costs a static key's nop), so the
	 * core's hooks cost the test in xl_trace(), not hv's ring, which
	 * the tests read.
	 */
	hv_guest_trace_set(false);
	if (opt_cg_dump)
		CALLGRIND_ZERO_STATS;
	/* Round 0 warms up (page faults, caches) and is not counted. */
	for (r = 0; r <= c->rounds; r++) {
		flags = xl_os_irq_save();
		for (j = 0; j < k; j++)
			xl_evtchn_send(ports[j * stride]);
		want += k;
		t0 = xt_now_ns();
		xl_os_irq_restore(flags);
		while (XT_LOAD(&handled) < want)
			__builtin_ia32_pause();
		if (r)
			total += xt_now_ns() - t0;
	}
	if (opt_cg_dump) {
		char desc[48];

		snprintf(desc, sizeof(desc), "%s/%u/%u",
			 c->fifo ? "fifo" : "2l", c->nports, c->nt);
		CALLGRIND_DUMP_STATS_AT(desc);
	}
	hv_guest_trace_set(true);
	c->events = (uint64_t)k * c->rounds;
	c->handled = XT_LOAD(&handled);
	if (c->nt < MAX_TRIALS) {
		c->tns[c->nt] = (double)total / c->events;
		c->th[c->nt] = c->handled;
		c->nt++;
	}
	c->ns_per_event = median_d(c->tns, c->nt);
	c->done = true;
	free(ports);
	return XT_PASS;
}

/* --- wake latency ----------------------------------------------------------- */

struct lat {
	uint64_t *v;	    /* all trials' samples, n per trial */
	uint64_t *cur;	    /* this trial's n */
	unsigned int n;	    /* samples wanted per trial */
	unsigned int trial; /* trials done */
	uint64_t tp50[MAX_TRIALS];
	uint32_t seen0; /* futex word before the trial */
	uint64_t stamp; /* sender's clock before the send */
	uint32_t got;	/* handler runs */
	uint32_t lost;
	evtchn_port_t pport;
	uint64_t p50, p99;
};

static struct lat wake, fut;

static void lat_handler(evtchn_port_t port, void *data)
{
	struct lat *l = data;
	uint64_t now = xt_now_ns();
	uint32_t i = XT_LOAD(&l->got);

	if (i < l->n)
		l->cur[i] = now - XT_LOAD(&l->stamp);
	XT_STORE(&l->got, i + 1);
}

static void wake_sender(void *arg)
{
	struct lat *l = arg;
	struct evtchn_send op = { .port = l->pport };
	unsigned int i;
	uint64_t end;

	for (i = 0; i < l->n; i++) {
		xt_sleep_ns(WAKE_GAP_NS); /* let the receiver block */
		XT_STORE(&l->stamp, xt_now_ns());
		xt_peer_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_send,
			   (unsigned long)&op, 0);
		end = xt_now_ns() + 100000000;
		while (XT_LOAD(&l->got) < i + 1 && xt_now_ns() < end)
			sched_yield();
		if (XT_LOAD(&l->got) < i + 1) {
			l->lost++;
			break;
		}
	}
}

static enum xt_result wake_case(void)
{
	evtchn_port_t gp;
	unsigned int cpu = 1;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT(wake.trial < opt_trials && wake.trial < MAX_TRIALS);
	if (!wake.v)
		wake.v = calloc((size_t)wake.n * opt_trials, sizeof(*wake.v));
	XT_ASSERT(wake.v);
	wake.cur = wake.v + (size_t)wake.trial * wake.n;
	XT_STORE(&wake.got, 0);
	wake.lost = 0;
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &wake.pport), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), wake.pport,
						lat_handler, &wake, &gp),
		     0);
	/* Xen raises the new port at bind: let that one go by. */
	while (XT_LOAD(&wake.got) < 1)
		xt_sleep_ns(100000);
	XT_STORE(&wake.got, 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(gp, cpu), 0);
	xt_peer_start(0, wake_sender, &wake);
	xt_peer_wait(0);
	XT_ASSERT_EQ(wake.lost, 0);
	wake.tp50[wake.trial++] = xt_percentile(wake.cur, wake.n, 50);
	wake.p50 = xt_percentile(wake.v, wake.n * wake.trial, 50);
	wake.p99 = xt_percentile(wake.v, wake.n * wake.trial, 99);
	return XT_PASS;
}

static uint32_t fword;
static uint32_t fgot;

static long futex(uint32_t *uaddr, int op, uint32_t val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

static void *futex_waiter(void *arg)
{
	struct lat *l = arg;
	uint32_t seen = l->seen0;
	unsigned int i;

	for (i = 0; i < l->n; i++) {
		while (XT_LOAD(&fword) == seen)
			futex(&fword, FUTEX_WAIT_PRIVATE, seen);
		l->cur[i] = xt_now_ns() - XT_LOAD(&l->stamp);
		seen = XT_LOAD(&fword);
		XT_STORE(&fgot, i + 1);
	}
	return NULL;
}

/*
 * An xt test only to take its turn between the wake trials: it runs on
 * vCPU 0's thread but uses no hv, a plain waker and a plain waiter.
 */
static enum xt_result futex_case(void)
{
	pthread_t t;
	unsigned int i;

	XT_ASSERT(fut.trial < opt_trials && fut.trial < MAX_TRIALS);
	if (!fut.v)
		fut.v = calloc((size_t)fut.n * opt_trials, sizeof(*fut.v));
	XT_ASSERT(fut.v);
	fut.cur = fut.v + (size_t)fut.trial * fut.n;
	XT_STORE(&fgot, 0);
	fut.seen0 = XT_LOAD(&fword);
	XT_ASSERT_EQ(pthread_create(&t, NULL, futex_waiter, &fut), 0);
	for (i = 0; i < fut.n; i++) {
		xt_sleep_ns(WAKE_GAP_NS);
		XT_STORE(&fut.stamp, xt_now_ns());
		XT_ADD(&fword, 1);
		futex(&fword, FUTEX_WAKE_PRIVATE, 1);
		while (XT_LOAD(&fgot) < i + 1)
			sched_yield();
	}
	pthread_join(t, NULL);
	fut.tp50[fut.trial++] = xt_percentile(fut.cur, fut.n, 50);
	fut.p50 = xt_percentile(fut.v, fut.n * fut.trial, 50);
	fut.p99 = xt_percentile(fut.v, fut.n * fut.trial, 99);
	return XT_PASS;
}

/* --- timer lateness: singleshot vs clock_nanosleep ---------------------------- */

#define TLAT_MIN_NS 1000000ULL /* deadlines 1 .. 5 ms ahead */
#define TLAT_MAX_NS 5000000ULL
#define TLAT_WARMUP 10 /* first samples of each path not kept */
#define TLAT_SEED 0x5eed7157ULL

static unsigned int opt_time_samples = 1000;
static uint64_t opt_idle_ns = 1000000000ULL;
static uint64_t opt_idle_timer_ns = 50000000ULL; /* one timer / 50 ms */

struct tlat {
	uint64_t *v;	/* all trials' samples, n per trial */
	uint64_t *cur;	/* this trial's n */
	unsigned int n; /* samples per trial */
	unsigned int trial;
	uint64_t seed; /* this trial's deadlines: TLAT_SEED + trial */
	uint64_t tp99[MAX_TRIALS];
	uint64_t p50, p99, max; /* all samples pooled */
};

static struct tlat sshot_lat, nsleep_lat;

/* The same deadline offsets for both paths: xorshift64 from one seed. */
static uint64_t tlat_offset(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return TLAT_MIN_NS + x % (TLAT_MAX_NS - TLAT_MIN_NS + 1);
}

/* Start a trial: its slice of v, and the seed both paths share. */
static int tlat_begin(struct tlat *l)
{
	if (l->trial >= opt_trials || l->trial >= MAX_TRIALS)
		return -1;
	if (!l->v)
		l->v = calloc((size_t)l->n * opt_trials, sizeof(*l->v));
	if (!l->v)
		return -1;
	l->cur = l->v + (size_t)l->trial * l->n;
	l->seed = TLAT_SEED + l->trial;
	return 0;
}

static void tlat_end(struct tlat *l)
{
	unsigned int all;

	l->tp99[l->trial++] = xt_percentile(l->cur, l->n, 99);
	all = l->n * l->trial;
	l->p50 = xt_percentile(l->v, all, 50);
	l->p99 = xt_percentile(l->v, all, 99);
	l->max = all ? l->v[all - 1] : 0;
}

struct once_tmr {
	struct xl_timer t;
	uint32_t fired;
};

static void once_fn(struct xl_timer *t)
{
	struct once_tmr *m = t->data;

	XT_STORE(&m->fired, 1);
}

static bool once_fired(void *arg)
{
	return XT_LOAD(&((struct once_tmr *)arg)->fired) != 0;
}

static enum xt_result sshot_case(void)
{
	struct xl_clock_config cfg = { .mode = XL_CLOCK_SINGLESHOT };
	struct tlat *l = &sshot_lat;
	struct once_tmr m;
	uint64_t seed;
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(&cfg), 0);
	XT_ASSERT_EQ(tlat_begin(l), 0);
	seed = l->seed;
	for (i = 0; i < l->n + TLAT_WARMUP; i++) {
		xl_timer_setup(&m.t, once_fn, &m);
		m.fired = 0;
		XT_ASSERT_EQ(xl_timer_arm(&m.t,
					  xl_clock_now() + tlat_offset(&seed)),
			     0);
		xl_idle_until(once_fired, &m);
		if (i >= TLAT_WARMUP)
			l->cur[i - TLAT_WARMUP] = m.t.fired_at - m.t.deadline;
	}
	tlat_end(l);
	return XT_PASS;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void *nsleep_thread(void *arg)
{
	struct tlat *l = arg;
	uint64_t seed = l->seed, dl;
	struct timespec ts;
	unsigned int i;

	for (i = 0; i < l->n + TLAT_WARMUP; i++) {
		dl = mono_ns() + tlat_offset(&seed);
		ts.tv_sec = (time_t)(dl / 1000000000ULL);
		ts.tv_nsec = (long)(dl % 1000000000ULL);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts,
				       NULL) == EINTR)
			;
		if (i >= TLAT_WARMUP)
			l->cur[i - TLAT_WARMUP] = mono_ns() - dl;
	}
	return NULL;
}

/* An xt test only to take its turn between the singleshot trials. */
static enum xt_result nsleep_case(void)
{
	struct tlat *l = &nsleep_lat;
	pthread_t t;

	XT_ASSERT_EQ(tlat_begin(l), 0);
	XT_ASSERT_EQ(pthread_create(&t, NULL, nsleep_thread, l), 0);
	pthread_join(t, NULL);
	tlat_end(l);
	return XT_PASS;
}

/* --- idle CPU: tickless vs 1000 Hz ---------------------------------------------- */

struct icase {
	const char *name, *tag;
	struct xl_clock_config cfg;
	uint64_t window_ns;  /* pvclock time the vCPU idled */
	uint64_t running_ns; /* runstate running accrued meanwhile */
	uint64_t blocks, virq, fired;
	/* Each trial's figures; the fields above are their medians. */
	uint64_t t_window[MAX_TRIALS], t_running[MAX_TRIALS];
	uint64_t t_blocks[MAX_TRIALS], t_virq[MAX_TRIALS], t_fired[MAX_TRIALS];
	unsigned int nt;
	bool done;
};

static struct icase icases[] = {
	{ .name = "tickless singleshot",
	  .tag = "tickless",
	  .cfg = { .mode = XL_CLOCK_SINGLESHOT } },
	{ .name = "periodic 1000 Hz",
	  .tag = "periodic1000",
	  .cfg = { .mode = XL_CLOCK_PERIODIC, .hz = 1000 } },
};

#define NR_ICASES (sizeof(icases) / sizeof(icases[0]))

static unsigned int next_icase;

struct sparse {
	struct xl_timer t, end;
	uint32_t done;
};

static void sparse_fn(struct xl_timer *t)
{
	xl_timer_arm(t, t->deadline + opt_idle_timer_ns);
}

static void sparse_end_fn(struct xl_timer *t)
{
	struct sparse *sp = t->data;

	XT_STORE(&sp->done, 1);
}

static bool sparse_done(void *arg)
{
	return XT_LOAD(&((struct sparse *)arg)->done) != 0;
}

static uint64_t runstate_running(void)
{
	struct vcpu_runstate_info ri;

	if (xl_hc_vcpu_op(VCPUOP_get_runstate_info, xl_os_vcpu_id(), &ri))
		return 0;
	return ri.time[RUNSTATE_running];
}

static enum xt_result idle_cpu_case(void)
{
	struct icase *ic = &icases[next_icase++ % NR_ICASES];
	struct xl_clock_stats s0, s1;
	struct sparse sp = { .done = 0 };
	uint64_t t0, t1, r0, r1;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_clock_init(&ic->cfg), 0);
	xl_timer_setup(&sp.t, sparse_fn, &sp);
	xl_timer_setup(&sp.end, sparse_end_fn, &sp);
	/* Let the clockevent settle for one timer period first. */
	xt_sleep_ns(opt_idle_timer_ns / 5);
	xl_clock_get_stats(0, &s0);
	r0 = runstate_running();
	t0 = xl_clock_now();
	XT_ASSERT_EQ(xl_timer_arm(&sp.t, t0 + opt_idle_timer_ns), 0);
	XT_ASSERT_EQ(xl_timer_arm(&sp.end, t0 + opt_idle_ns), 0);
	ic->blocks = xl_idle_until(sparse_done, &sp);
	t1 = xl_clock_now();
	r1 = runstate_running();
	xl_clock_get_stats(0, &s1);
	xl_timer_cancel(&sp.t);
	XT_ASSERT(r0 && r1 >= r0);
	XT_ASSERT(ic->nt < MAX_TRIALS);
	ic->t_window[ic->nt] = t1 - t0;
	ic->t_running[ic->nt] = r1 - r0;
	ic->t_blocks[ic->nt] = ic->blocks;
	ic->t_virq[ic->nt] = s1.virq - s0.virq;
	ic->t_fired[ic->nt] = s1.fired - s0.fired;
	ic->nt++;
	ic->window_ns = median_u64(ic->t_window, ic->nt);
	ic->running_ns = median_u64(ic->t_running, ic->nt);
	ic->blocks = median_u64(ic->t_blocks, ic->nt);
	ic->virq = median_u64(ic->t_virq, ic->nt);
	ic->fired = median_u64(ic->t_fired, ic->nt);
	ic->done = true;
	return XT_PASS;
}

static void print_time(void)
{
	unsigned int i;

	printf("## Timer lateness (hv, %u trials of %u samples each, "
	       "deadlines %llu-%llu ms ahead)\n\n"
	       "| path | p50 ns | p99 ns | max ns |\n"
	       "|------|-------:|-------:|-------:|\n",
	       opt_trials, opt_time_samples, TLAT_MIN_NS / 1000000,
	       TLAT_MAX_NS / 1000000);
	printf("| singleshot: xl_timer_arm, tickless, vCPU in xl_idle_until | "
	       "%llu | %llu | %llu |\n",
	       (unsigned long long)sshot_lat.p50,
	       (unsigned long long)sshot_lat.p99,
	       (unsigned long long)sshot_lat.max);
	printf("| clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME), plain "
	       "thread | %llu | %llu | %llu |\n\n",
	       (unsigned long long)nsleep_lat.p50,
	       (unsigned long long)nsleep_lat.p99,
	       (unsigned long long)nsleep_lat.max);
	printf("## Idle CPU (hv, vCPU 0 idle with one timer every %llu ms)\n\n"
	       "| clock mode | window ms | runstate running us | %% of window "
	       "| blocks | timer VIRQs | timers fired |\n"
	       "|------------|----------:|--------------------:|-----------:"
	       "|-------:|------------:|-------------:|\n",
	       (unsigned long long)(opt_idle_timer_ns / 1000000));
	for (i = 0; i < NR_ICASES; i++) {
		const struct icase *ic = &icases[i];

		if (!ic->done)
			continue;
		printf("| %s | %.1f | %.1f | %.4f | %llu | %llu | %llu |\n",
		       ic->name, ic->window_ns / 1e6, ic->running_ns / 1e3,
		       100.0 * ic->running_ns / ic->window_ns,
		       (unsigned long long)ic->blocks,
		       (unsigned long long)ic->virq,
		       (unsigned long long)ic->fired);
	}
	printf("\n");
	/* Machine-readable, for tools/bench. */
	printf("time sshot %u %llu %llu %llu\n", sshot_lat.n,
	       (unsigned long long)sshot_lat.p50,
	       (unsigned long long)sshot_lat.p99,
	       (unsigned long long)sshot_lat.max);
	printf("time nanosleep %u %llu %llu %llu\n", nsleep_lat.n,
	       (unsigned long long)nsleep_lat.p50,
	       (unsigned long long)nsleep_lat.p99,
	       (unsigned long long)nsleep_lat.max);
	for (i = 0; i < NR_ICASES; i++) {
		const struct icase *ic = &icases[i];

		if (ic->done)
			printf("time idle %s %llu %llu %llu %llu %llu\n",
			       ic->tag, (unsigned long long)ic->window_ns,
			       (unsigned long long)ic->running_ns,
			       (unsigned long long)ic->blocks,
			       (unsigned long long)ic->virq,
			       (unsigned long long)ic->fired);
	}
}

/* --- the demo ----------------------------------------------------------------- */

struct demo_port {
	const char *type;
	struct xt_rec r;
	evtchn_port_t port;
	unsigned int sends;
};

static enum xt_result demo(void)
{
	struct demo_port dp[5] = {
		{ .type = "interdomain (peer)" }, { .type = "loopback" },
		{ .type = "IPI self" },		  { .type = "IPI vCPU 1" },
		{ .type = "VIRQ_DEBUG (bound)" },
	};
	evtchn_port_t pp, a;
	struct xl_evtchn_stats s;
	struct hv_domain_stats hs;
	unsigned int i, k;
	const unsigned int n = 1000;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	printf("xenlite demo on hv: guest domain %u with %u vCPUs, peer "
	       "domain %u with %u vCPUs, %s event-channel ABI (max %u ports)\n",
	       xt_domid(), xt_nr_vcpus(), xt_peer_domid(), xt_peer_nr_vcpus(),
	       xl_evtchn_abi_name(), xl_evtchn_max_ports());
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), pp,
						xt_rec_handler, &dp[0].r,
						&dp[0].port),
		     0);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(DOMID_SELF, NULL, NULL, &a), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(DOMID_SELF, a, xt_rec_handler,
						&dp[1].r, &dp[1].port),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &dp[2].r,
					&dp[2].port),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &dp[3].r,
					&dp[3].port),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, 0, xt_rec_handler,
					 &dp[4].r, &dp[4].port),
		     0);
	xt_rec_wait(&dp[0].r, 1);
	xt_rec_wait(&dp[1].r, 1);
	for (k = 0; k < n; k++) {
		xt_peer_send(k % xt_peer_nr_vcpus(), pp);
		xl_evtchn_send(a);
		xl_evtchn_send(dp[2].port);
		xl_evtchn_send(dp[3].port);
		for (i = 0; i < 4; i++)
			while (XT_LOAD(&dp[i].r.count) < k + 1 + (i < 2))
				sched_yield();
	}
	printf("\n| port | type | vCPU | sends | handled |\n"
	       "|-----:|------|-----:|------:|--------:|\n");
	for (i = 0; i < 5; i++)
		printf("| %u | %s | %u | %u | %llu |\n", dp[i].port, dp[i].type,
		       xl_evtchn_port_cpu(dp[i].port), i < 4 ? n : 0,
		       (unsigned long long)XT_LOAD(&dp[i].r.count));
	printf("(interdomain ports also get one event at bind time: Xen "
	       "raises the new local port)\n");
	xt_stats_sum(&s);
	hv_domain_get_stats(hv_guest_domain(), &hs);
	printf("\ncore: %llu upcalls, %llu events handled, %llu spurious, "
	       "%llu stray\n",
	       (unsigned long long)s.upcalls, (unsigned long long)s.events,
	       (unsigned long long)s.spurious, (unsigned long long)s.stray);
	printf("hv:   %llu hypercalls, %llu sends, %llu upcalls delivered, "
	       "%llu blocks, %llu wakes\n",
	       (unsigned long long)hs.hypercalls, (unsigned long long)hs.sends,
	       (unsigned long long)hs.upcalls_delivered,
	       (unsigned long long)hs.blocks,
	       (unsigned long long)hs.kicks_wake);
	return XT_PASS;
}

/* --- output ------------------------------------------------------------------- */

static struct ccase *find_case(bool fifo, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < NR_CASES; i++)
		if (cases[i].fifo == fifo && cases[i].nports == n &&
		    cases[i].done)
			return &cases[i];
	return NULL;
}

/* The case of that ABI and nominal size, run or not. */
static struct ccase *find_any_case(bool fifo, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < NR_CASES; i++)
		if (cases[i].fifo == fifo && cases[i].nports == n)
			return &cases[i];
	return NULL;
}

static bool is_ratio_case(const struct ccase *c)
{
	unsigned int i;

	for (i = 0; i < NR_RATIO_CASES; i++)
		if (ratio_cases[i].fifo == c->fifo &&
		    ratio_cases[i].nports == c->nports)
			return true;
	return false;
}

static void print_consume(void)
{
	unsigned int i;

	printf("| ABI | bound ports | events | ns/event |\n"
	       "|-----|------------:|-------:|---------:|\n");
	for (i = 0; i < NR_CASES; i++) {
		struct ccase *c = &cases[i];

		if (!c->done)
			continue;
		printf("| %s | %u | %llu | %.1f |\n",
		       c->fifo ? "FIFO" : "2-level", c->bound,
		       (unsigned long long)c->events, c->ns_per_event);
	}
	printf("\n");
	/* Machine-readable, for tools/bench. */
	for (i = 0; i < NR_CASES; i++) {
		struct ccase *c = &cases[i];

		if (!c->done)
			continue;
		printf("consume %s %u %u %llu %.2f\n", c->fifo ? "fifo" : "2l",
		       c->nports, c->bound, (unsigned long long)c->events,
		       c->ns_per_event);
	}
}

/* One "trial NAME I A B" line per trial: the ratio is A / B. */
static void print_trials(const char *name, const double *a, const double *b,
			 unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		printf("trial %s %u %.6g %.6g\n", name, i, a[i], b[i]);
}

static void print_trials_u64(const char *name, const uint64_t *a,
			     const uint64_t *b, unsigned int n)
{
	double da[MAX_TRIALS], db[MAX_TRIALS];
	unsigned int i;

	for (i = 0; i < n && i < MAX_TRIALS; i++) {
		da[i] = (double)a[i];
		db[i] = (double)b[i];
	}
	print_trials(name, da, db, i);
}

/* --- (e) blkfront-lite on hv's RAM blkback -------------------------------- */

/*
 * 4 KiB random reads and writes at queue depth 1 and 32, and 1 MiB
 * sequential reads and writes (32 KiB requests, 32 in flight), over a
 * direct blkfront-lite <-> hv blkback connection (16-page ring, RAM disk,
 * one worker thread per CPU).  Beside them, in the same run, the memcpy bound:
 * one thread copying the same number of 4 KiB pieces between random
 * places of a buffer the disk's size and a page.
 */
#define BLK_SECTORS (64ULL << 11) /* 64 MiB */
#define BLK_QD_MAX 32
#define BLK_SEQ_PAGES 8

struct blk_run {
	const char *name;
	enum xl_blk_op op;
	unsigned int qd;
	bool seq;
	uint64_t ops, bytes, ns;
	uint64_t irqs, kicks; /* guest upcalls for the ring, backend kicks */
};

static struct blk_run blk_runs[] = {
	{ "randread", XL_BLK_READ, 1, false, 0, 0, 0, 0, 0 },
	{ "randwrite", XL_BLK_WRITE, 1, false, 0, 0, 0, 0, 0 },
	{ "randread", XL_BLK_READ, 32, false, 0, 0, 0, 0, 0 },
	{ "randwrite", XL_BLK_WRITE, 32, false, 0, 0, 0, 0, 0 },
	{ "seqread", XL_BLK_READ, 32, true, 0, 0, 0, 0, 0 },
	{ "seqwrite", XL_BLK_WRITE, 32, true, 0, 0, 0, 0, 0 },
};

#define NR_BLK_RUNS (sizeof(blk_runs) / sizeof(blk_runs[0]))

static unsigned int opt_blk_ops = 40000;
/*
 * A poll-mode backend with one worker, and a halt-polling frontend vCPU:
 * two busy threads for this machine's two CPUs.  --blk-poll-us 0
 * --blk-halt-poll-us 0 --blk-workers 0 is the interrupt-driven setup
 * (one worker per CPU): ratio 0.18-0.51 against 0.57-0.67 here, three
 * runs each on an idle 2-CPU host.
 */
static unsigned int opt_blk_poll_us = 50;
static unsigned int opt_blk_workers = 1;
static unsigned int opt_blk_halt_poll_us = 50;
static double blk_memcpy_ns_per_op; /* median of the trials */
/* ns/op, trusted backend (whole pages granted) and untrusted (bounced) */
static double blk_t_memcpy[MAX_TRIALS], blk_t_qd32[MAX_TRIALS];
static double blk_tb_memcpy[MAX_TRIALS], blk_tb_qd32[MAX_TRIALS];
static unsigned int blk_nt, blk_nt_bounced;
static double blk_qd32_bounced_ns_per_op; /* median of the trials */
static bool blk_done_ok;

struct blk_slot {
	struct xl_blk_req req;
	void *pg[BLK_SEQ_PAGES];
	unsigned int idx;
};

struct blk_q {
	uint32_t free[BLK_QD_MAX]; /* stack of free slots, atomic top */
	uint32_t top;
	uint64_t errors;
};

static struct blk_q bq;
static struct blk_slot bslots[BLK_QD_MAX];

static void blk_bench_done(struct xl_blk_req *req)
{
	struct blk_slot *s = req->priv;

	if (req->status)
		bq.errors++;
	/* Completions run in the upcall on this vCPU: no other pusher. */
	bq.free[XT_LOAD(&bq.top)] = s->idx;
	XT_ADD(&bq.top, 1);
}

static bool blk_have_free(void *arg)
{
	(void)arg;
	return XT_LOAD(&bq.top) > 0;
}

static bool blk_all_free(void *arg)
{
	return XT_LOAD(&bq.top) == (uint32_t)(uintptr_t)arg;
}

static uint64_t blk_rng = 0x853c49e6748fea9bULL;

static uint64_t blk_rand(void)
{
	blk_rng ^= blk_rng << 13;
	blk_rng ^= blk_rng >> 7;
	blk_rng ^= blk_rng << 17;
	return blk_rng;
}

static int blk_one_run(struct xl_blkfront *dev, struct hv_blkback *bb,
		       struct blk_run *r)
{
	struct xl_blkfront_stats f0, f1;
	struct hv_blkback_stats b0, b1;
	unsigned int pages = r->seq ? BLK_SEQ_PAGES : 1, i;
	uint64_t n = r->seq ? opt_blk_ops / 4 : opt_blk_ops, t0, seq = 0;
	unsigned long flags;

	if (r->qd == 1)
		n /= 4;
	bq.top = 0;
	for (i = 0; i < r->qd; i++)
		bq.free[bq.top++] = i;
	xl_blkfront_get_stats(dev, &f0);
	hv_blkback_get_stats(bb, &b0);
	t0 = xt_now_ns();
	for (r->ops = 0; r->ops < n; r->ops++) {
		struct blk_slot *s;
		uint64_t sector;

		xl_idle_until(blk_have_free, NULL);
		/*
		 * Delivery masked: a completion's push (free[top] = idx,
		 * top++) landing between this decrement and the read below
		 * would hand out its slot and lose ours (xl-bench hung with
		 * every response pushed once the backend polled).
		 */
		flags = xl_os_irq_save();
		s = &bslots[bq.free[XT_ADD(&bq.top, -1)]];
		xl_os_irq_restore(flags);
		if (r->seq) {
			sector = seq;
			seq = (seq + pages * 8) % BLK_SECTORS;
		} else {
			sector = blk_rand() % (BLK_SECTORS / 8) * 8;
		}
		memset(&s->req, 0, sizeof(s->req));
		xl_blk_req_set_buf(&s->req, r->op, sector, s->pg, pages, 0,
				   pages * 4096);
		s->req.done = blk_bench_done;
		s->req.priv = s;
		if (xl_blkfront_submit(dev, &s->req))
			return -1;
	}
	xl_idle_until(blk_all_free, (void *)(uintptr_t)r->qd);
	r->ns = xt_now_ns() - t0;
	r->bytes = r->ops * pages * 4096;
	xl_blkfront_get_stats(dev, &f1);
	hv_blkback_get_stats(bb, &b1);
	r->irqs = f1.irqs - f0.irqs;
	r->kicks = b1.kicks - b0.kicks;
	return bq.errors ? -1 : 0;
}

/*
 * The memcpy bound: same 4 KiB pieces, one thread, random places; one
 * run per trial, alternating with a QD 32 random-read run; returns ns per
 * 4 KiB copy.
 */
static double blk_memcpy_bound(uint8_t *disk, uint8_t *page, uint64_t n)
{
	uint64_t t0, i, sum = 0;
	double ns;

	t0 = xt_now_ns();
	for (i = 0; i < n; i++) {
		uint64_t off = blk_rand() % (BLK_SECTORS / 8) * 4096;

		if (i & 1)
			memcpy(disk + off, page, 4096);
		else
			memcpy(page, disk + off, 4096);
		sum += page[i & 4095];
	}
	ns = (double)(xt_now_ns() - t0) / (double)n;
	if (sum == 0xffffffffffffULL) /* keep the copies */
		printf("#\n");
	return ns;
}

/*
 * One connection: the backend trusted with whole pages
 * (xl_blkfront_set_trusted) or not (every segment bounced through the
 * frontend's own pages, the default).  table: the six runs once, for the
 * table.  Then the alternating trials, memcpy then QD 32 reads, into
 * t_memcpy / t_qd32; their count in *nt.
 */
static enum xt_result blk_session(bool trusted, bool table, double *t_memcpy,
				  double *t_qd32, unsigned int *nt)
{
	struct hv_blkback_config c = { .d = hv_guest_domain(),
				       .devid = 51712,
				       .sectors = BLK_SECTORS,
				       .max_ring_order = 4 };
	struct xl_blkfront_features f = { .sectors = BLK_SECTORS,
					  .sector_size = 512,
					  .flush = true };
	grant_ref_t refs[XL_BLK_MAX_RING_PAGES];
	struct xl_blkfront *dev = NULL;
	struct hv_blkback *bb = NULL;
	enum xt_result res = XT_FAIL;
	evtchn_port_t port;
	unsigned int i, k;
	int rc, err;

	if (xl_gnttab_init())
		return XT_FAIL;
	/* One worker per CPU: more only take turns on a 2-CPU machine. */
	c.nr_workers = (unsigned int)sysconf(_SC_NPROCESSORS_ONLN);
	if (c.nr_workers < 2 || c.nr_workers > 8)
		c.nr_workers = c.nr_workers < 2 ? 2 : 8;
	if (opt_blk_workers)
		c.nr_workers = opt_blk_workers;
	c.poll_us = opt_blk_poll_us;
	hv_domain_set_halt_poll_ns(hv_guest_domain(),
				   opt_blk_halt_poll_us * 1000ULL);
	bb = hv_blkback_create(&c, &err);
	dev = xl_blkfront_alloc(51712);
	if (!bb || !dev || xl_blkfront_set_trusted(dev, trusted))
		goto out;
	rc = xl_blkfront_setup_ring(dev, 0, 4, refs, &port);
	if (rc < 0 ||
	    hv_blkback_connect_direct(bb, refs, (unsigned int)rc, port) ||
	    xl_blkfront_connect_direct(dev, &f))
		goto out;
	for (i = 0; i < BLK_QD_MAX; i++) {
		bslots[i].idx = i;
		for (k = 0; k < BLK_SEQ_PAGES; k++) {
			/* Kept from the first session for the second. */
			if (!bslots[i].pg[k])
				bslots[i].pg[k] = xl_os_alloc_page();
			if (!bslots[i].pg[k])
				goto out;
		}
	}
	/* Fault the RAM disk in first: neither side should pay for that. */
	memset(hv_blkback_ram(bb), 0x5a, BLK_SECTORS * 512);
	/* The six runs once, for the table (the QD 32 read row is replaced
	 * by the trials' median below). */
	for (i = 0; table && i < NR_BLK_RUNS; i++)
		if (blk_one_run(dev, bb, &blk_runs[i]))
			goto out;
	/* The ratio's alternating trials, memcpy then QD 32 reads. */
	for (*nt = 0; *nt < opt_trials && *nt < MAX_TRIALS; (*nt)++) {
		struct blk_run r = blk_runs[2];

		t_memcpy[*nt] = blk_memcpy_bound(hv_blkback_ram(bb),
						 bslots[0].pg[0], opt_blk_ops);
		if (blk_one_run(dev, bb, &r))
			goto out;
		t_qd32[*nt] = (double)r.ns / (double)r.ops;
	}
	res = XT_PASS;
out:
	hv_domain_set_halt_poll_ns(hv_guest_domain(), 0);
	if (bb)
		hv_blkback_disconnect(bb);
	xl_blkfront_free(dev);
	hv_blkback_destroy(bb);
	xl_gnttab_retry_deferred();
	xl_gnttab_fini();
	return res;
}

/*
 * The table and blk_qd32_vs_memcpy with the backend trusted (whole pages
 * granted, as Linux's blkfront does for a trusted backend), then
 * blk_qd32_bounced_vs_memcpy on a second connection with the default:
 * untrusted, every segment bounced (XSA-403 class hardening).
 */
static enum xt_result blk_case(void)
{
	if (xt_core_init(NULL))
		return XT_FAIL;
	if (blk_session(true, true, blk_t_memcpy, blk_t_qd32, &blk_nt) !=
	    XT_PASS)
		return XT_FAIL;
	blk_memcpy_ns_per_op = median_d(blk_t_memcpy, blk_nt);
	blk_runs[2].ops = opt_blk_ops;
	blk_runs[2].ns =
		(uint64_t)(median_d(blk_t_qd32, blk_nt) * opt_blk_ops + 0.5);
	blk_runs[2].bytes = blk_runs[2].ops * 4096;
	if (blk_session(false, false, blk_tb_memcpy, blk_tb_qd32,
			&blk_nt_bounced) != XT_PASS)
		return XT_FAIL;
	blk_qd32_bounced_ns_per_op = median_d(blk_tb_qd32, blk_nt_bounced);
	blk_done_ok = true;
	return XT_PASS;
}

static void print_blk(void)
{
	unsigned int i;

	printf("## blkfront-lite on hv's RAM blkback (backend trusted with "
	       "whole pages; %u ops per 4 KiB run; "
	       "backend poll %u us, %u worker(s); vCPU halt poll %u us; "
	       "QD 32 randread IOPS and memcpy: medians of %u alternating "
	       "trials)\n\n"
	       "| run | queue depth | ops | IOPS | MB/s | upcalls/op | kicks/op |\n"
	       "|-----|------------:|----:|-----:|-----:|-----:|-----:|\n",
	       opt_blk_ops, opt_blk_poll_us, opt_blk_workers,
	       opt_blk_halt_poll_us, blk_nt);
	for (i = 0; i < NR_BLK_RUNS; i++) {
		struct blk_run *r = &blk_runs[i];
		double s = r->ns / 1e9;

		printf("| %s %s | %u | %llu | %.0f | %.1f | %.3f | %.3f |\n",
		       r->name, r->seq ? "1 MiB (32 KiB requests)" : "4 KiB",
		       r->qd, (unsigned long long)r->ops, r->ops / s,
		       r->bytes / s / 1e6, (double)r->irqs / r->ops,
		       (double)r->kicks / r->ops);
	}
	printf("| memcpy 4 KiB, one thread (median of %u) | - | %u | %.0f | %.1f | - | - |\n",
	       blk_nt, opt_blk_ops, 1e9 / blk_memcpy_ns_per_op,
	       4096e3 / blk_memcpy_ns_per_op);
	printf("| randread 4 KiB, untrusted backend: bounced (median of %u) | 32 | %u | %.0f | %.1f | - | - |\n\n",
	       blk_nt_bounced, opt_blk_ops, 1e9 / blk_qd32_bounced_ns_per_op,
	       4096e3 / blk_qd32_bounced_ns_per_op);
	for (i = 0; i < NR_BLK_RUNS; i++) {
		struct blk_run *r = &blk_runs[i];

		printf("blk %s qd%u %llu %llu %llu\n", r->name, r->qd,
		       (unsigned long long)r->ops, (unsigned long long)r->bytes,
		       (unsigned long long)r->ns);
	}
	printf("blk memcpy %.1f\n", blk_memcpy_ns_per_op);
	printf("blk randread-bounced qd32 %.1f\n", blk_qd32_bounced_ns_per_op);
}

static int usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [--demo | --consume-only | --latency-only |\n"
		"          --time-only | --callgrind-case fifo|2l PORTS]\n"
		"          [--rounds N] [--samples N] [--time-samples N] "
		"[--idle-ms MS]\n"
		"          [--idle-timer-ms MS] [--blk-only] [--blk-ops N]\n"
		"          [--blk-poll-us US] [--blk-halt-poll-us US]\n"
		"          [--blk-workers N] [--trials K] "
		"[--callgrind-trials]\n",
		prog);
	return 2;
}

int main(int argc, char **argv)
{
	bool do_demo = false, consume = true, latency = true, cg = false;
	bool timing = true, blk = true;
	struct xt_test tests[NR_CASES * MAX_TRIALS + 2 * MAX_TRIALS +
			     2 * MAX_TRIALS + NR_ICASES * MAX_TRIALS + 2];
	struct xt_suite suite = { tests, 0 };
	char *xargv[] = { argv[0], NULL };
	unsigned int i, t;
	int a, rc;

	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--demo")) {
			do_demo = true;
		} else if (!strcmp(argv[a], "--consume-only")) {
			latency = false;
			timing = false;
			blk = false;
		} else if (!strcmp(argv[a], "--blk-only")) {
			consume = false;
			latency = false;
			timing = false;
		} else if (!strcmp(argv[a], "--blk-ops") && a + 1 < argc) {
			opt_blk_ops = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--blk-poll-us") && a + 1 < argc) {
			opt_blk_poll_us = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--blk-halt-poll-us") &&
			   a + 1 < argc) {
			opt_blk_halt_poll_us = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--blk-workers") && a + 1 < argc) {
			opt_blk_workers = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--latency-only")) {
			consume = false;
			timing = false;
			blk = false;
		} else if (!strcmp(argv[a], "--time-only")) {
			consume = false;
			latency = false;
			blk = false;
		} else if (!strcmp(argv[a], "--callgrind-case") &&
			   a + 2 < argc) {
			bool fifo = !strcmp(argv[a + 1], "fifo");
			unsigned int n = strtoul(argv[a + 2], NULL, 0);

			for (i = 0; i < NR_CASES; i++)
				if (cases[i].fifo == fifo &&
				    cases[i].nports == n)
					break;
			if (i == NR_CASES)
				return usage(argv[0]);
			cg = true;
			latency = false;
			timing = false;
			blk = false;
			case_queue[nr_queued++] = &cases[i];
			a += 2;
		} else if (!strcmp(argv[a], "--callgrind-trials")) {
			cg = true;
			opt_cg_dump = true;
			latency = false;
			timing = false;
			blk = false;
		} else if (!strcmp(argv[a], "--trials") && a + 1 < argc) {
			opt_trials = strtoul(argv[++a], NULL, 0);
			if (!opt_trials || opt_trials > MAX_TRIALS)
				return usage(argv[0]);
		} else if (!strcmp(argv[a], "--rounds") && a + 1 < argc) {
			opt_rounds = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--samples") && a + 1 < argc) {
			opt_samples = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--time-samples") && a + 1 < argc) {
			opt_time_samples = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--idle-ms") && a + 1 < argc) {
			opt_idle_ns = strtoull(argv[++a], NULL, 0) * 1000000ULL;
		} else if (!strcmp(argv[a], "--idle-timer-ms") &&
			   a + 1 < argc) {
			opt_idle_timer_ns =
				strtoull(argv[++a], NULL, 0) * 1000000ULL;
		} else {
			return usage(argv[0]);
		}
	}
	xt_set_quiet(true);
	xt_set_timeout(900);
	if (do_demo) {
		tests[0] = (struct xt_test){ "demo", XT_HV, 2, true, demo, 0 };
		tests[1] = (struct xt_test){ "wake", XT_HV,	2,
					     true,   wake_case, 0 };
		suite.nr = 2;
		wake.n = 2000;
		rc = xt_main(1, xargv, &suite, 1);
		if (!rc)
			printf("wake latency, peer send -> handler on a vCPU "
			       "blocked in SCHEDOP_block: p50 %.1f us, p99 "
			       "%.1f us (%u samples)\n",
			       wake.p50 / 1e3, wake.p99 / 1e3, wake.n);
		return rc;
	}
	if (consume && (!cg || opt_cg_dump)) {
		/* The ratios' sides alternating, K times; the rest once. */
		for (t = 0; t < opt_trials; t++)
			for (i = 0; i < NR_RATIO_CASES; i++) {
				struct ccase *c =
					find_any_case(ratio_cases[i].fifo,
						      ratio_cases[i].nports);

				case_queue[nr_queued++] = c;
			}
		for (i = 0; i < NR_CASES; i++)
			if (!is_ratio_case(&cases[i]))
				case_queue[nr_queued++] = &cases[i];
	}
	for (i = 0; consume && i < nr_queued; i++) {
		case_queue[i]->rounds = cg ? opt_rounds / 10 + 1 : opt_rounds;
		tests[suite.nr++] =
			(struct xt_test){ "consume", XT_HV,	   1,
					  false,     consume_case, 0 };
	}
	if (latency) {
		/* The samples split over the trials: wake, futex, wake, ... */
		wake.n = opt_samples / opt_trials;
		fut.n = wake.n;
		if (!wake.n)
			return usage(argv[0]);
		for (t = 0; t < opt_trials; t++) {
			tests[suite.nr++] = (struct xt_test){ "wake",	 XT_HV,
							      2,	 true,
							      wake_case, 0 };
			tests[suite.nr++] = (struct xt_test){ "futex",	  XT_HV,
							      1,	  false,
							      futex_case, 0 };
		}
	}
	if (timing) {
		if (!opt_time_samples || !opt_idle_timer_ns ||
		    opt_idle_ns < opt_idle_timer_ns)
			return usage(argv[0]);
		sshot_lat.n = opt_time_samples;
		nsleep_lat.n = opt_time_samples;
		for (t = 0; t < opt_trials; t++) {
			tests[suite.nr++] = (struct xt_test){ "sshot",	  XT_HV,
							      1,	  false,
							      sshot_case, 0 };
			tests[suite.nr++] =
				(struct xt_test){ "nanosleep", XT_HV,	    1,
						  false,       nsleep_case, 0 };
		}
		for (t = 0; t < opt_trials; t++)
			for (i = 0; i < NR_ICASES; i++)
				tests[suite.nr++] = (struct xt_test){
					"idle-cpu", XT_HV,	   1,
					false,	    idle_cpu_case, 0
				};
	}
	if (blk)
		tests[suite.nr++] =
			(struct xt_test){ "blk", XT_HV, 1, false, blk_case, 0 };
	rc = xt_main(1, xargv, &suite, 1);
	if (opt_cg_dump) {
		/* One stats dump per run, in this order (consume_case). */
		for (i = 0; i < NR_CASES; i++)
			for (t = 0; t < cases[i].nt; t++)
				printf("cgrun %s %u %u %llu\n",
				       cases[i].fifo ? "fifo" : "2l",
				       cases[i].nports, t,
				       (unsigned long long)cases[i].th[t]);
		return rc;
	}
	if (cg) {
		/* Every upcall's Ir is collected, warm-up included. */
		printf("events %llu\n",
		       (unsigned long long)case_queue[0]->handled);
		return rc;
	}
	if (consume) {
		printf("## FIFO and 2-level consume cost (hv, %u rounds of %u "
		       "events raised while masked; medians of %u trials for "
		       "the ratios' cases)\n\n",
		       opt_rounds, K_EVENTS, opt_trials);
		print_consume();
		printf("\n");
	}
	if (latency) {
		printf("## Wake latency (%u samples, %u us apart)\n\n"
		       "| path | p50 ns | p99 ns |\n|------|-------:|-------:|\n"
		       "| evtchn send -> handler, vCPU in SCHEDOP_block | %llu | "
		       "%llu |\n| futex wake -> waiter thread | %llu | %llu |\n\n",
		       wake.n * wake.trial, WAKE_GAP_NS / 1000,
		       (unsigned long long)wake.p50,
		       (unsigned long long)wake.p99,
		       (unsigned long long)fut.p50,
		       (unsigned long long)fut.p99);
		printf("latency evtchn %u %llu %llu\nlatency futex %u %llu "
		       "%llu\n",
		       wake.n * wake.trial, (unsigned long long)wake.p50,
		       (unsigned long long)wake.p99, fut.n * fut.trial,
		       (unsigned long long)fut.p50,
		       (unsigned long long)fut.p99);
	}
	/*
	 * The ratios: "target NAME LIMIT", then one "trial NAME I A B" line
	 * per trial (ratio A / B); tools/bench hands them to tools/ratio.
	 */
	if (consume) {
		struct ccase *f64 = find_case(true, 64),
			     *fmax = find_case(true, 131071),
			     *f4k = find_case(true, 4096),
			     *l4k = find_case(false, 4096);

		printf("target fifo_131071_vs_64 <=1.10\n");
		if (f64 && fmax)
			print_trials("fifo_131071_vs_64", fmax->tns, f64->tns,
				     fmax->nt < f64->nt ? fmax->nt : f64->nt);
		printf("target fifo_vs_2l_4096 <=1.50\n");
		if (f4k && l4k)
			print_trials("fifo_vs_2l_4096", f4k->tns, l4k->tns,
				     f4k->nt < l4k->nt ? f4k->nt : l4k->nt);
	}
	if (latency) {
		printf("target wake_p50_vs_futex <=1.50\n");
		print_trials_u64("wake_p50_vs_futex", wake.tp50, fut.tp50,
				 wake.trial < fut.trial ? wake.trial :
							  fut.trial);
	}
	if (timing) {
		printf("\n");
		print_time();
		printf("target sshot_late_p99_vs_nanosleep <=1.50\n");
		print_trials_u64("sshot_late_p99_vs_nanosleep", sshot_lat.tp99,
				 nsleep_lat.tp99,
				 sshot_lat.trial < nsleep_lat.trial ?
					 sshot_lat.trial :
					 nsleep_lat.trial);
		printf("target idle_cpu_tickless_vs_1000hz <=0.01\n");
		print_trials_u64("idle_cpu_tickless_vs_1000hz",
				 icases[0].t_running, icases[1].t_running,
				 icases[0].nt < icases[1].nt ? icases[0].nt :
							       icases[1].nt);
	}
	if (blk) {
		printf("\n");
		if (blk_done_ok)
			print_blk();
		/*
		 * ops/s at QD 32 (4 KiB random reads) over memcpy's ops/s:
		 * memcpy's ns/op over the QD 32 run's, trial by trial;
		 * trusted backend, then untrusted (bounced).
		 */
		printf("target blk_qd32_vs_memcpy >=0.50\n");
		if (blk_done_ok)
			print_trials("blk_qd32_vs_memcpy", blk_t_memcpy,
				     blk_t_qd32, blk_nt);
		printf("target blk_qd32_bounced_vs_memcpy >=0.40\n");
		if (blk_done_ok)
			print_trials("blk_qd32_bounced_vs_memcpy",
				     blk_tb_memcpy, blk_tb_qd32,
				     blk_nt_bounced);
	}
	return rc;
}
