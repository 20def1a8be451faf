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
 * The options, the TAP output and the guest vCPU mailboxes are shared with
 * the test kernel's runner (selftests/xt-runner.c); this file has the hooks.
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
#include <hv-explore.h>
#include <hv-guest.h>
#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>
#include <xenlite/idle.h>
#include <xenlite/xenstore.h>

#include "xt-runner.h"

#define LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

enum { PC_NONE, PC_HC, PC_FN };

/* A peer vCPU's command slot. */
struct pmbox {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int state; /* XTR_MB_* */
	int cmd;
	unsigned int op;
	unsigned long a1, a2, a3;
	long ret;
	void (*fn)(void *);
	void *arg;
};

static struct {
	/* options */
	unsigned int guest_vcpus, peer_vcpus;

	const char *argv0; /* for the rerun command of a failed seed */

	/* the test running now */
	const struct xt_test *test;
	struct hv_domain *guest, *peer;
	int attached, quit, exited, done;
	int registered, reg_failed; /* secondaries' hv_guest_vcpu_attach() */
	enum xt_result result;
	struct pmbox p[HV_MAX_VCPUS];

	pthread_mutex_t lock; /* done, output */
	pthread_cond_t cond;
} xr = {
	.guest_vcpus = 4,
	.peer_vcpus = 8,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xt_suite *flavoured; /* xt_main()'s tables, with variants */

/* --- output: the hooks of selftests/xt-runner.h ------------------------- */

int xtr_host_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

void xtr_host_vprintf(const char *fmt, va_list ap)
{
	pthread_mutex_lock(&out_lock);
	vprintf(fmt, ap);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

void xtr_host_vcomment(const char *file, int line, const char *fmt, va_list ap)
{
	char buf[1024], prefix[128] = "", *l, *save = NULL;

	if (file)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", file, line);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	pthread_mutex_lock(&out_lock);
	for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		printf("# %s%s\n", prefix, l);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

void xtr_host_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	xtr_host_vcomment(NULL, 0, fmt, ap);
	va_end(ap);
	abort();
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

void xtr_host_relax(unsigned int *n)
{
	backoff(n);
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

unsigned int xtr_host_self(void)
{
	struct hv_vcpu *v = hv_current();

	return v ? hv_vcpu_id(v) : ~0U;
}

void xtr_host_poke(unsigned int cpu)
{
	hv_vcpu_poke(hv_domain_vcpu(xr.guest, cpu));
}

static unsigned int attach_flags(const struct xt_test *t)
{
	return (t->flags & XT_F_NO_UPCALL ? HV_GUEST_NO_UPCALL : 0) |
	       (t->flags & XT_F_VCPU_VECTOR ? HV_GUEST_VCPU_VECTOR : 0);
}

/*
 * Secondary guest vCPUs: register their upcall (PV: per vCPU), then idle
 * in SCHEDOP_block until work or quit.
 */
static void guest_secondary(unsigned int cpu)
{
	int rc = xr.test->flags & XT_F_NO_UPCALL ?
			 0 :
			 hv_guest_vcpu_attach_flags(attach_flags(xr.test));

	if (rc) {
		xt_log("hv_guest_vcpu_attach(vCPU %u): %d", cpu, rc);
		STORE(&xr.reg_failed, 1);
	}
	ADD(&xr.registered, 1);
	while (!LOAD(&xr.attached) && !LOAD(&xr.quit))
		usleep(100);
	while (LOAD(&xr.attached) && !LOAD(&xr.quit))
		xtr_secondary_step(cpu, &xr.quit);
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

/* How far below guest_vcpu0()'s frame a test's frames may reach. */
#define STALE_SPAN (1024 * 1024)

static void guest_vcpu0(void)
{
	struct sched_shutdown sd = { .reason = SHUTDOWN_poweroff };
	unsigned int cpu, n = 0, nr = xt_nr_vcpus();
	enum xt_result r;
	uint64_t repoke = 0, masked0 = hv_guest_masked_allocs();
	uint64_t bad0 = hv_guest_bad_frees();
	int rc;

	rc = hv_guest_attach_flags(attach_flags(xr.test));
	/* Every vCPU has its upcall before the test runs. */
	while (!rc && (unsigned int)LOAD(&xr.registered) < nr - 1)
		backoff(&n);
	if (!rc && LOAD(&xr.reg_failed))
		rc = -XEN_EINVAL;
	if (rc) {
		xt_log("hv_guest_attach: %d", rc);
		r = XT_FAIL;
	} else {
		STORE(&xr.attached, 1);
		r = xr.test->fn();
		/* Work a test started and never waited for. */
		xtr_drain(nr);
		/*
		 * The test's frames were below this one: a VIRQ port
		 * still bound to data there is a test bug (on a live
		 * guest an event from outside would make its handler
		 * write a dead stack, linux/xt-host.c).
		 */
		if (xtr_close_stale_ports(xr.test->name,
					  (uintptr_t)&sd - STALE_SPAN,
					  (uintptr_t)&sd, NULL, !xtr.verbose) &&
		    r == XT_PASS) {
			xt_fail_msg(__FILE__, __LINE__,
				    "%s left a VIRQ port bound to its stack",
				    xr.test->name);
			r = XT_FAIL;
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
				xtr_host_poke(cpu);
			repoke = xt_now_ns() + 1000000;
		}
		backoff(&n);
	}
	if (!rc) {
		xl_evtchn_fini();
		hv_guest_detach();
	}
	/*
	 * os.h: no allocation with events masked (a host's may sleep).  Not
	 * for a guest that registered no upcall: a PV vCPU then keeps the
	 * domain builder's mask, which is not the core's.
	 */
	if (!(xr.test->flags & XT_F_NO_UPCALL) &&
	    hv_guest_masked_allocs() != masked0) {
		xt_log("%llu allocation(s) made with events masked",
		       (unsigned long long)(hv_guest_masked_allocs() -
					    masked0));
		r = XT_FAIL;
	}
	/* Every page given back was one the guest had (no double free). */
	if (hv_guest_bad_frees() != bad0) {
		xt_log("%llu xl_os_free_page() call(s) on no page in use",
		       (unsigned long long)(hv_guest_bad_frees() - bad0));
		r = XT_FAIL;
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

long xt_peer_ctl(const char *op, unsigned long a, unsigned long b,
		 unsigned long *val)
{
	/* hv's peer runs raw hypercalls only: what a test asks of it. */
	*val = 0;
	return -XEN_ENOSYS;
}

static void peer_post(unsigned int pcpu, struct pmbox *cmd)
{
	struct pmbox *m = &xr.p[pcpu];

	if (!xr.peer || pcpu >= xt_peer_nr_vcpus()) {
		xtr_host_panic("peer vCPU %u does not exist", pcpu);
		return;
	}
	pthread_mutex_lock(&m->lock);
	if (m->state == XTR_MB_POSTED || m->state == XTR_MB_RUNNING) {
		pthread_mutex_unlock(&m->lock);
		xtr_host_panic("peer vCPU %u busy", pcpu);
		return;
	}
	m->cmd = cmd->cmd;
	m->op = cmd->op;
	m->a1 = cmd->a1;
	m->a2 = cmd->a2;
	m->a3 = cmd->a3;
	m->fn = cmd->fn;
	m->arg = cmd->arg;
	m->state = XTR_MB_POSTED;
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
		if (m->state != XTR_MB_POSTED && m->state != XTR_MB_RUNNING)
			break;
		pthread_mutex_unlock(&m->lock);
		backoff(&n);
	}
	ret = m->ret;
	m->state = XTR_MB_IDLE;
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
		while (m->state != XTR_MB_POSTED && !LOAD(&xr.done))
			pthread_cond_wait(&m->cond, &m->lock);
		if (m->state != XTR_MB_POSTED)
			break;
		m->state = XTR_MB_RUNNING;
		pthread_mutex_unlock(&m->lock);
		if (m->cmd == PC_HC)
			m->ret = hv_hypercall(m->op, m->a1, m->a2, m->a3, 0, 0);
		else
			m->fn(m->arg);
		pthread_mutex_lock(&m->lock);
		m->state = XTR_MB_DONE;
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

void xt_set_vcpus(unsigned int guest, unsigned int peer)
{
	if (guest)
		xr.guest_vcpus = guest;
	xr.peer_vcpus = peer;
}

static void reset_run_state(const struct xt_test *t)
{
	unsigned int i;

	xr.test = t;
	xr.guest = xr.peer = NULL;
	xr.attached = xr.quit = xr.exited = xr.done = 0;
	xr.registered = xr.reg_failed = 0;
	xr.result = XT_FAIL;
	xtr_mbox_reset();
	for (i = 0; i < HV_MAX_VCPUS; i++) {
		struct pmbox *m = &xr.p[i];

		m->state = XTR_MB_IDLE;
		m->cmd = PC_NONE;
		m->fn = NULL;
		m->arg = NULL;
		m->ret = 0;
	}
}

/*
 * A test failed (or timed out) in explore mode: the seed and the command
 * that runs the same perturbation plan again (hv-explore.h).
 */
static void explore_report(const struct xt_test *t, const char *how)
{
	uint64_t seed;

	if (!hv_explore_get(&seed))
		return;
	xt_log("explore: %s %s under seed %llu; rerun: XL_EXPLORE_SEED=%llu %s %s",
	       t->name, how, (unsigned long long)seed, (unsigned long long)seed,
	       xr.argv0 ? xr.argv0 : "xl-selftest", t->name);
}

/* Run one test in fresh domains; returns its result. */
static enum xt_result run_one(unsigned int idx, const struct xt_test *t)
{
	struct hv_domain_config gc = {
		.nr_vcpus = xr.guest_vcpus,
		.nr_pages = 8192,
		.no_fifo = !!(t->flags & XT_F_NO_FIFO),
		.flavour = (t->flags & XT_F_PV) ? HV_FLAVOUR_PV :
						  HV_FLAVOUR_PVH,
		.nr_pcpus = (t->flags & XT_F_1PCPU) ? 1 : 0,
		.sched = (t->flags & XT_F_CREDIT1) ? HV_SCHED_CREDIT :
			 (t->flags & XT_F_CREDIT2) ? HV_SCHED_CREDIT2 :
						     HV_SCHED_DEFAULT,
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
	dl.tv_sec += xtr.timeout_s;
	pthread_mutex_lock(&xr.lock);
	while (!LOAD(&xr.done)) {
		if (pthread_cond_timedwait(&xr.cond, &xr.lock, &dl) ==
			    ETIMEDOUT &&
		    !LOAD(&xr.done)) {
			pthread_mutex_unlock(&xr.lock);
			explore_report(t, "timed out");
			xtr_timeout(idx, t);
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
	if (xtr.verbose)
		xt_log("%s: %.3f s", t->name, (xt_now_ns() - t0) / 1e9);
	if (xr.result == XT_FAIL)
		explore_report(t, "failed");
	return xr.result;
}

/*
 * The variants a test asks hv to run it as, besides its own run (the name
 * real Xen's logs carry, so tools/fidelity matches it): the PV flavour
 * as "NAME@pv", and a PVH guest with per-vCPU vectors as "NAME@vec".
 */
static const struct {
	unsigned int ask;  /* the test's flag */
	const char *tail;  /* appended to its name */
	unsigned int sets; /* the copy's flags instead of ask */
} variants[] = {
	{ XT_F_FLAVOURS, "@pv", XT_F_PV },
	{ XT_F_VECTORS, "@vec", XT_F_VCPU_VECTOR },
};

#define NR_VARIANTS (sizeof(variants) / sizeof(variants[0]))
#define ALL_VARIANTS (XT_F_FLAVOURS | XT_F_VECTORS)

static unsigned int nr_copies(const struct xt_test *t)
{
	unsigned int v, n = 0;

	for (v = 0; v < NR_VARIANTS; v++)
		n += !!(t->flags & variants[v].ask);
	return n;
}

/* What variant_suites() allocated (NULL entries and names are fine). */
static void variant_suites_free(struct xt_suite *out,
				const struct xt_suite *suites,
				unsigned int nr_suites)
{
	unsigned int s, i, k, c;

	for (s = 0; out && s < nr_suites; s++) {
		const struct xt_test *t = out[s].tests;

		for (i = 0, k = 0; t && i < suites[s].nr; i++) {
			k++; /* the test's own run */
			for (c = nr_copies(&suites[s].tests[i]); c; c--)
				free((char *)t[k++].name);
		}
		free((void *)t);
	}
	free(out);
}

/* The copy of o that runs as variant v, at t (its name allocated). */
static int variant_copy(struct xt_test *t, const struct xt_test *o,
			unsigned int v)
{
	char *name = malloc(strlen(o->name) + strlen(variants[v].tail) + 1);

	if (!name)
		return -1;
	strcpy(name, o->name);
	strcat(name, variants[v].tail);
	*t = *o;
	t->flags = (o->flags & ~ALL_VARIANTS) | variants[v].sets;
	t->name = name;
	return 0;
}

/*
 * The tables with every test followed by the variants it asks for.  NULL
 * on allocation failure.
 */
static struct xt_suite *variant_suites(const struct xt_suite *suites,
				       unsigned int nr_suites)
{
	struct xt_suite *out = calloc(nr_suites, sizeof(*out));
	unsigned int s, i, n, v;

	if (!out)
		return NULL;
	for (s = 0; s < nr_suites; s++) {
		struct xt_test *t;

		for (i = 0, n = 0; i < suites[s].nr; i++)
			n += 1 + nr_copies(&suites[s].tests[i]);
		/* Zeroed: a failed copy leaves NULL names behind it. */
		t = calloc(n ? n : 1, sizeof(*t));
		if (!t)
			goto fail;
		out[s].tests = t;
		out[s].nr = n;
		for (i = 0; i < suites[s].nr; i++) {
			const struct xt_test *o = &suites[s].tests[i];

			*t = *o;
			t->flags &= ~ALL_VARIANTS;
			t++;
			for (v = 0; v < NR_VARIANTS; v++) {
				if (!(o->flags & variants[v].ask))
					continue;
				if (variant_copy(t, o, v))
					goto fail;
				t++;
			}
		}
	}
	return out;
fail:
	variant_suites_free(out, suites, nr_suites);
	return NULL;
}

int xt_main(int argc, char **argv, const struct xt_suite *suites,
	    unsigned int nr_suites)
{
	const struct xtr_host host = {
		.opts = XTR_OPT_HELP,
		.nr_vcpus = xr.guest_vcpus,
		.peer = xr.peer_vcpus != 0,
		.quiet_totals = true,
		.run = run_one,
	};
	struct hv_explore_stats xs;
	unsigned int i;
	uint64_t seed;
	int rc;

	for (i = 0; i < HV_MAX_VCPUS; i++) {
		pthread_mutex_init(&xr.p[i].lock, NULL);
		pthread_cond_init(&xr.p[i].cond, NULL);
	}
	xr.argv0 = argc > 0 ? argv[0] : NULL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Freed at the end (names are in the TAP output until then). */
	flavoured = variant_suites(suites, nr_suites);
	if (!flavoured) {
		xt_log("xt_main: out of memory");
		return 1;
	}
	rc = xtr_main(&host, argc, argv, flavoured, nr_suites);
	if (hv_explore_get(&seed)) {
		hv_explore_get_stats(&xs);
		xt_log("explore: seed %llu: %llu points, %llu yields, %llu spins, %llu sleeps",
		       (unsigned long long)seed, (unsigned long long)xs.points,
		       (unsigned long long)xs.yields,
		       (unsigned long long)xs.spins,
		       (unsigned long long)xs.sleeps);
	}
	variant_suites_free(flavoured, suites, nr_suites);
	flavoured = NULL;
	return rc;
}
