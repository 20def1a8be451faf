// SPDX-License-Identifier: GPL-2.0
/*
 * The hv/ backend of the xt selftest framework (selftests/xt.h).
 *
 * For each test: a fresh guest domain (xenlite runs there; vCPU 0 runs the
 * test body, the other vCPUs idle in SCHEDOP_block and take work posted by
 * xt_run_on()/xt_start_on()) and a peer domain (no xenlite; its vCPUs run
 * a command loop executing raw hypercalls and functions for the test).
 * The main thread is the watchdog: a test that does not finish in time is
 * reported "not ok ... # timeout" and the run ends with exit status 1.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <hv.h>
#include <hv-guest.h>
#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>
#include <xenlite/idle.h>
#include <xenlite/xenstore.h>

#include "xt.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

enum { MB_IDLE, MB_POSTED, MB_RUNNING, MB_DONE };
enum { PC_NONE, PC_HC, PC_FN };

/* A guest vCPU's work slot. */
struct gmbox {
	void (*fn)(void *);
	void *arg;
	int state;
};

/* A peer vCPU's command slot. */
struct pmbox {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state;
	int cmd;
	unsigned int op;
	unsigned long a1, a2, a3;
	long ret;
	void (*fn)(void *);
	void *arg;
};

static struct {
	/* options */
	unsigned int timeout_s;
	unsigned int guest_vcpus, peer_vcpus;
	bool quiet, verbose;

	/* the test running now */
	const struct xt_test *test;
	struct hv_domain *guest, *peer;
	int attached, quit, exited, done;
	enum xt_result result;
	char skip_reason[160];
	struct gmbox g[HV_MAX_VCPUS];
	struct pmbox p[HV_MAX_VCPUS];

	pthread_mutex_t lock; /* done, output */
	pthread_cond_t cond;
} xr = {
	.timeout_s = 60,
	.guest_vcpus = 4,
	.peer_vcpus = 8,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

/* --- output ----------------------------------------------------------- */

static void vcomment(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024], *line, *save = NULL;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	pthread_mutex_lock(&out_lock);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# %s%s\n", prefix, line);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

void xt_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcomment("", fmt, ap);
	va_end(ap);
}

void xt_fail_msg(const char *file, int line, const char *fmt, ...)
{
	char prefix[128];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	va_start(ap, fmt);
	vcomment(prefix, fmt, ap);
	va_end(ap);
}

void xt_skip_reason(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(xr.skip_reason, sizeof(xr.skip_reason), fmt, ap);
	va_end(ap);
}

/* --- environment ------------------------------------------------------ */

unsigned int xt_backend(void)
{
	return XT_HV;
}

const char *xt_backend_name(void)
{
	return "hv";
}

unsigned int xt_nr_vcpus(void)
{
	return hv_domain_nr_vcpus(xr.guest);
}

domid_t xt_domid(void)
{
	return hv_domain_id(xr.guest);
}

int xt_core_init(const struct xl_evtchn_config *cfg)
{
	struct xl_evtchn_config def = { .nr_vcpus = xt_nr_vcpus() };

	return xl_evtchn_init(cfg ? cfg : &def);
}

uint64_t xt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

void xt_sleep_ns(uint64_t ns)
{
	uint64_t end = xt_now_ns() + ns, now;
	struct timespec ts;

	/* nanosleep returns early (EINTR) when an upcall signal lands. */
	while ((now = xt_now_ns()) < end) {
		ts.tv_sec = (end - now) / 1000000000ULL;
		ts.tv_nsec = (end - now) % 1000000000ULL;
		nanosleep(&ts, NULL);
	}
}

/* Spin a little, then yield, then sleep in short steps. */
static void backoff(unsigned int *n)
{
	if (*n < 64) {
		__builtin_ia32_pause();
	} else if (*n < 256) {
		sched_yield();
	} else {
		struct timespec ts = { 0, *n < 2048 ? 20000 : 200000 };

		nanosleep(&ts, NULL);
	}
	(*n)++;
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
		backoff(&n);
	}
}

int xt_set_max_evtchns(unsigned int max)
{
	return hv_domain_set_max_evtchns(xr.guest, max) ? -1 : 0;
}

int xt_set_no_fifo(bool no_fifo)
{
	bool have = xr.test && (xr.test->flags & XT_F_NO_FIFO);

	return have == no_fifo ? 0 : -1;
}

/* --- guest vCPU work ---------------------------------------------------- */

static unsigned int self_vcpu(void)
{
	struct hv_vcpu *v = hv_current();

	return v ? hv_vcpu_id(v) : ~0U;
}

static void poke_guest(unsigned int cpu)
{
	hv_vcpu_poke(hv_domain_vcpu(xr.guest, cpu));
}

void xt_start_on(unsigned int cpu, void (*fn)(void *), void *arg)
{
	struct gmbox *m = &xr.g[cpu];

	if (cpu == self_vcpu() || cpu >= xt_nr_vcpus()) {
		xt_log("xt_start_on: bad vCPU %u (caller %u)", cpu,
		       self_vcpu());
		abort();
	}
	if (LOAD(&m->state) == MB_DONE)
		STORE(&m->state, MB_IDLE);
	if (LOAD(&m->state) != MB_IDLE) {
		xt_log("xt_start_on: vCPU %u busy", cpu);
		abort();
	}
	m->fn = fn;
	m->arg = arg;
	STORE(&m->state, MB_POSTED);
	poke_guest(cpu);
}

void xt_wait_on(unsigned int cpu)
{
	struct gmbox *m = &xr.g[cpu];
	unsigned int n = 0;
	uint64_t repoke = xt_now_ns() + 1000000;

	while (LOAD(&m->state) != MB_DONE) {
		if (LOAD(&m->state) == MB_IDLE)
			return;
		/* A poke may land before the vCPU blocks: poke again while
		 * the work is not picked up (cheap insurance). */
		if (LOAD(&m->state) == MB_POSTED && xt_now_ns() > repoke) {
			poke_guest(cpu);
			repoke = xt_now_ns() + 1000000;
		}
		backoff(&n);
	}
	STORE(&m->state, MB_IDLE);
}

void xt_run_on(unsigned int cpu, void (*fn)(void *), void *arg)
{
	if (cpu == self_vcpu()) {
		fn(arg);
		return;
	}
	xt_start_on(cpu, fn, arg);
	xt_wait_on(cpu);
}

/* Secondary guest vCPUs: idle in SCHEDOP_block until work or quit. */
static void guest_secondary(unsigned int cpu)
{
	struct gmbox *m = &xr.g[cpu];
	unsigned long flags;

	while (!LOAD(&xr.attached) && !LOAD(&xr.quit))
		usleep(100);
	while (LOAD(&xr.attached) && !LOAD(&xr.quit)) {
		flags = xl_os_irq_save();
		/* Checked with delivery masked: a post after this point
		 * pokes us out of the block. */
		if (LOAD(&m->state) != MB_POSTED && !LOAD(&xr.quit))
			xl_idle_halt();
		xl_os_irq_restore(flags);
		if (LOAD(&m->state) == MB_POSTED) {
			STORE(&m->state, MB_RUNNING);
			m->fn(m->arg);
			STORE(&m->state, MB_DONE);
		}
	}
	ADD(&xr.exited, 1);
}

static void finish(enum xt_result r)
{
	pthread_mutex_lock(&xr.lock);
	xr.result = r;
	STORE(&xr.done, 1); /* peer vCPUs read it without the lock */
	pthread_cond_broadcast(&xr.cond);
	pthread_mutex_unlock(&xr.lock);
}

static void clock_fini_on(void *arg)
{
	(void)arg;
	xl_clock_fini();
}

static void guest_vcpu0(void)
{
	struct sched_shutdown sd = { .reason = SHUTDOWN_poweroff };
	unsigned int cpu, n = 0, nr = xt_nr_vcpus();
	enum xt_result r;
	uint64_t repoke = 0;
	int rc;

	rc = hv_guest_attach();
	if (rc) {
		xt_log("hv_guest_attach: %d", rc);
		r = XT_FAIL;
	} else {
		STORE(&xr.attached, 1);
		r = xr.test->fn();
		/* Work a test started and never waited for. */
		for (cpu = 1; cpu < nr; cpu++) {
			int st = LOAD(&xr.g[cpu].state);

			if (st == MB_POSTED || st == MB_RUNNING) {
				xt_log("test left work running on vCPU %u",
				       cpu);
				xt_wait_on(cpu);
			}
		}
	}
	/* The xenstore client goes before the ports it uses. */
	if (!rc)
		xl_xs_fini();
	/* The clockevent is per vCPU: each vCPU stops its own. */
	if (!rc)
		for (cpu = 0; cpu < nr; cpu++)
			xt_run_on(cpu, clock_fini_on, NULL);
	STORE(&xr.quit, 1);
	while ((unsigned int)LOAD(&xr.exited) < nr - 1) {
		if (xt_now_ns() > repoke) {
			for (cpu = 1; cpu < nr; cpu++)
				poke_guest(cpu);
			repoke = xt_now_ns() + 1000000;
		}
		backoff(&n);
	}
	if (!rc) {
		xl_evtchn_fini();
		hv_guest_detach();
	}
	finish(r);
	hv_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown,
		     (unsigned long)&sd, 0, 0, 0);
}

static void guest_main(unsigned int vcpu, void *arg)
{
	if (vcpu == 0)
		guest_vcpu0();
	else
		guest_secondary(vcpu);
}

/* --- the peer domain ---------------------------------------------------- */

bool xt_have_peer(void)
{
	return xr.peer != NULL;
}

domid_t xt_peer_domid(void)
{
	return xr.peer ? hv_domain_id(xr.peer) : DOMID_INVALID;
}

unsigned int xt_peer_nr_vcpus(void)
{
	return xr.peer ? hv_domain_nr_vcpus(xr.peer) : 0;
}

long xt_peer_hc(unsigned int op, unsigned long a1, unsigned long a2,
		unsigned long a3)
{
	return hv_hypercall(op, a1, a2, a3, 0, 0);
}

static void peer_post(unsigned int pcpu, struct pmbox *cmd)
{
	struct pmbox *m = &xr.p[pcpu];

	if (!xr.peer || pcpu >= xt_peer_nr_vcpus()) {
		xt_log("peer vCPU %u does not exist", pcpu);
		abort();
	}
	pthread_mutex_lock(&m->lock);
	if (m->state == MB_POSTED || m->state == MB_RUNNING) {
		pthread_mutex_unlock(&m->lock);
		xt_log("peer vCPU %u busy", pcpu);
		abort();
	}
	m->cmd = cmd->cmd;
	m->op = cmd->op;
	m->a1 = cmd->a1;
	m->a2 = cmd->a2;
	m->a3 = cmd->a3;
	m->fn = cmd->fn;
	m->arg = cmd->arg;
	m->state = MB_POSTED;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

static long peer_wait(unsigned int pcpu)
{
	struct pmbox *m = &xr.p[pcpu];
	unsigned int n = 0;
	long ret;

	/* Poll: the waiter is a guest vCPU that must keep taking upcalls. */
	for (;;) {
		pthread_mutex_lock(&m->lock);
		if (m->state != MB_POSTED && m->state != MB_RUNNING)
			break;
		pthread_mutex_unlock(&m->lock);
		backoff(&n);
	}
	ret = m->ret;
	m->state = MB_IDLE;
	pthread_mutex_unlock(&m->lock);
	return ret;
}

long xt_peer_hypercall(unsigned int pcpu, unsigned int op, unsigned long a1,
		       unsigned long a2, unsigned long a3)
{
	struct pmbox c = {
		.cmd = PC_HC, .op = op, .a1 = a1, .a2 = a2, .a3 = a3
	};

	peer_post(pcpu, &c);
	return peer_wait(pcpu);
}

void xt_peer_start(unsigned int pcpu, void (*fn)(void *), void *arg)
{
	struct pmbox c = { .cmd = PC_FN, .fn = fn, .arg = arg };

	peer_post(pcpu, &c);
}

void xt_peer_wait(unsigned int pcpu)
{
	peer_wait(pcpu);
}

static void peer_main(unsigned int vcpu, void *arg)
{
	struct pmbox *m = &xr.p[vcpu];

	pthread_mutex_lock(&m->lock);
	for (;;) {
		while (m->state != MB_POSTED && !LOAD(&xr.done))
			pthread_cond_wait(&m->cond, &m->lock);
		if (m->state != MB_POSTED)
			break;
		m->state = MB_RUNNING;
		pthread_mutex_unlock(&m->lock);
		if (m->cmd == PC_HC)
			m->ret = hv_hypercall(m->op, m->a1, m->a2, m->a3, 0, 0);
		else
			m->fn(m->arg);
		pthread_mutex_lock(&m->lock);
		m->state = MB_DONE;
	}
	pthread_mutex_unlock(&m->lock);
}

static void peer_stop(void)
{
	unsigned int i;

	for (i = 0; i < HV_MAX_VCPUS; i++) {
		pthread_mutex_lock(&xr.p[i].lock);
		pthread_cond_broadcast(&xr.p[i].cond);
		pthread_mutex_unlock(&xr.p[i].lock);
	}
}

/* --- running tests -------------------------------------------------------- */

void xt_set_timeout(unsigned int seconds)
{
	xr.timeout_s = seconds;
}

void xt_set_vcpus(unsigned int guest, unsigned int peer)
{
	if (guest)
		xr.guest_vcpus = guest;
	xr.peer_vcpus = peer;
}

void xt_set_quiet(bool quiet)
{
	xr.quiet = quiet;
}

static void reset_run_state(const struct xt_test *t)
{
	unsigned int i;

	xr.test = t;
	xr.guest = xr.peer = NULL;
	xr.attached = xr.quit = xr.exited = xr.done = 0;
	xr.result = XT_FAIL;
	xr.skip_reason[0] = 0;
	memset(xr.g, 0, sizeof(xr.g));
	for (i = 0; i < HV_MAX_VCPUS; i++) {
		struct pmbox *m = &xr.p[i];

		m->state = MB_IDLE;
		m->cmd = PC_NONE;
		m->fn = NULL;
		m->arg = NULL;
		m->ret = 0;
	}
}

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	va_list ap;

	if (xr.quiet)
		return;
	pthread_mutex_lock(&out_lock);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

static unsigned int passed, failed, skipped;

static void summary(void)
{
	if (xr.quiet && !failed)
		return;
	pthread_mutex_lock(&out_lock);
	printf("%u passed, %u failed, %u skipped\n", passed, failed, skipped);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* Run one test in fresh domains; returns its result. */
static enum xt_result run_one(unsigned int idx, const struct xt_test *t)
{
	struct hv_domain_config gc = {
		.nr_vcpus = xr.guest_vcpus,
		.nr_pages = 8192,
		.no_fifo = !!(t->flags & XT_F_NO_FIFO),
		.pv_periodic_default = !!(t->flags & XT_F_PV_TICK),
		.nr_pcpus = (t->flags & XT_F_1PCPU) ? 1 : 0,
		.xenstore = !!(t->flags & XT_F_XENSTORE),
		.upcall = xl_evtchn_upcall,
		.vcpu_main = guest_main,
	};
	struct hv_domain_config pc = {
		.nr_vcpus = xr.peer_vcpus,
		.vcpu_main = peer_main,
	};
	struct timespec dl;
	uint64_t t0 = xt_now_ns();
	int err = 0, rc = 0;

	reset_run_state(t);
	if (xr.peer_vcpus) {
		xr.peer = hv_domain_create(&pc, &err);
		if (!xr.peer) {
			xt_log("hv_domain_create(peer): %d", err);
			return XT_FAIL;
		}
	}
	xr.guest = hv_domain_create(&gc, &err);
	if (!xr.guest) {
		xt_log("hv_domain_create(guest): %d", err);
		if (xr.peer)
			hv_domain_destroy(xr.peer);
		return XT_FAIL;
	}
	if (xr.peer && hv_domain_start(xr.peer)) {
		xt_log("hv_domain_start(peer) failed");
		return XT_FAIL;
	}
	rc = hv_domain_start(xr.guest);
	if (rc) {
		xt_log("hv_domain_start(guest): %d", rc);
		return XT_FAIL;
	}

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += xr.timeout_s;
	pthread_mutex_lock(&xr.lock);
	while (!LOAD(&xr.done)) {
		if (pthread_cond_timedwait(&xr.cond, &xr.lock, &dl) ==
			    ETIMEDOUT &&
		    !LOAD(&xr.done)) {
			pthread_mutex_unlock(&xr.lock);
			failed++;
			emit("not ok %u %s # timeout after %u s\n", idx,
			     t->name, xr.timeout_s);
			summary();
			_exit(1);
		}
	}
	pthread_mutex_unlock(&xr.lock);

	hv_domain_join(xr.guest);
	if (xr.peer) {
		peer_stop();
		hv_domain_join(xr.peer);
	}
	hv_domain_destroy(xr.guest);
	if (xr.peer)
		hv_domain_destroy(xr.peer);
	xr.guest = xr.peer = NULL;
	if (xr.verbose)
		xt_log("%s: %.3f s", t->name, (xt_now_ns() - t0) / 1e9);
	return xr.result;
}

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

int xt_main(int argc, char **argv, const struct xt_suite *suites,
	    unsigned int nr_suites)
{
	char **sel = calloc(argc + 1, sizeof(*sel));
	bool list = false;
	unsigned int s, i, n = 0, idx = 0;
	int a, nsel = 0;

	for (i = 0; i < HV_MAX_VCPUS; i++) {
		pthread_mutex_init(&xr.p[i].lock, NULL);
		pthread_cond_init(&xr.p[i].cond, NULL);
	}
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "-l"))
			list = true;
		else if (!strcmp(argv[a], "-v"))
			xr.verbose = true;
		else if (!strcmp(argv[a], "-t") && a + 1 < argc)
			xr.timeout_s = atoi(argv[++a]);
		else if (!strcmp(argv[a], "-h") || !strcmp(argv[a], "--help")) {
			printf("usage: %s [-l] [-v] [-t seconds] [name-substring...]\n",
			       argv[0]);
			free(sel);
			return 0;
		} else {
			sel[nsel++] = argv[a];
		}
	}
	for (s = 0; s < nr_suites; s++)
		for (i = 0; i < suites[s].nr; i++)
			if (selected(&suites[s].tests[i], nsel, sel))
				n++;
	if (list) {
		for (s = 0; s < nr_suites; s++)
			for (i = 0; i < suites[s].nr; i++)
				if (selected(&suites[s].tests[i], nsel, sel))
					printf("%s\n", suites[s].tests[i].name);
		free(sel);
		return 0;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	emit("TAP version 13\n1..%u\n", n);
	for (s = 0; s < nr_suites; s++) {
		for (i = 0; i < suites[s].nr; i++) {
			const struct xt_test *t = &suites[s].tests[i];
			enum xt_result r;

			if (!selected(t, nsel, sel))
				continue;
			idx++;
			if (!(t->backends & XT_HV)) {
				skipped++;
				emit("ok %u %s # SKIP not on hv\n", idx,
				     t->name);
				continue;
			}
			if (t->min_vcpus > xr.guest_vcpus) {
				skipped++;
				emit("ok %u %s # SKIP needs %u vCPUs\n", idx,
				     t->name, t->min_vcpus);
				continue;
			}
			if (t->needs_peer && !xr.peer_vcpus) {
				skipped++;
				emit("ok %u %s # SKIP needs a peer domain\n",
				     idx, t->name);
				continue;
			}
			r = run_one(idx, t);
			if (r == XT_PASS) {
				passed++;
				emit("ok %u %s\n", idx, t->name);
			} else if (r == XT_SKIP) {
				skipped++;
				emit("ok %u %s # SKIP %s\n", idx, t->name,
				     xr.skip_reason[0] ? xr.skip_reason :
							 "skipped");
			} else {
				failed++;
				emit("not ok %u %s\n", idx, t->name);
				if (xr.quiet)
					xt_log("%s failed", t->name);
			}
		}
	}
	free(sel);
	summary();
	return failed ? 1 : 0;
}
