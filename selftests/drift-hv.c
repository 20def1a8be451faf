// SPDX-License-Identifier: GPL-2.0
/*
 * The drift lab on hv (drift-hv.h): one domain, one policy, one scenario.
 *
 * vCPU 1 is the guest under test: it programs hv's emulated periodic
 * timer (hv_vpt_program, the PIT's register writes), starts its tick
 * clock (drift.h), then either stays busy in guest code (the default: a
 * runnable vCPU, whose context switch out stops Xen's timer) or idles in
 * SCHEDOP_block.  Its handler counts the tick, records what the guest
 * sees, and writes the EOI.  vCPU 0 idles, or in DRIFT_CONTENTION burns
 * its pCPU for event_ns.  The script runs on a host thread: it plays the
 * toolstack (pause, unpause) and, in virtual time, the clock.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hv.h>
#include <xenlite/xen.h>
#include <xen/errno.h>
#include <xen/sched.h>
#include <xen/version.h>

#include "drift.h"
#include "drift-hv.h"

#define DRIFT_READY_NS (10ULL * 1000000000ULL)

static const char *const drift_names[DRIFT_NR_SCENARIOS] = {
	[DRIFT_NONE] = "none",
	[DRIFT_DESCHED] = "desched",
	[DRIFT_PAUSE] = "pause",
	[DRIFT_MASK] = "mask",
	[DRIFT_PERIODIC_PAUSES] = "periodic_pauses",
	[DRIFT_CONTENTION] = "contention",
};

const char *drift_scenario_name(enum drift_scenario s)
{
	return (unsigned int)s < DRIFT_NR_SCENARIOS ? drift_names[s] : "?";
}

struct drift_ctx {
	const struct drift_cfg *cfg;
	struct drift_result *r;
	struct hv_domain *d;
	uint64_t period;
	struct xt_tickclock clk;
	int ready, stop;       /* atomic */
	int want_mask, masked; /* atomic */
	int hog;	       /* atomic: vCPU 0 to burn hog_ns */
	uint64_t hog_ns;
	unsigned int max_ticks, max_samples;
	int rc;
};

static uint64_t drift_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void drift_nap(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ULL),
			       .tv_nsec = (long)(ns % 1000000000ULL) };

	nanosleep(&ts, NULL);
}

/* --- guest side ----------------------------------------------------------- */

/* The timer interrupt handler: count, record, EOI. */
static void drift_handler(void *arg)
{
	struct drift_ctx *c = arg;
	struct drift_result *r = c->r;
	unsigned int n = r->nr_ticks;

	xt_tickclock_tick(&c->clk);
	if (n < c->max_ticks) {
		struct drift_tick *t = &r->ticks[n];

		t->sys = hv_vpt_now(c->d);
		t->tclock = xt_tickclock_now(&c->clk);
		t->pv = xt_pvclock_own();
		t->gtime = hv_vpt_guest_time(hv_current());
		__atomic_store_n(&r->nr_ticks, n + 1, __ATOMIC_RELEASE);
	}
	hv_vpt_eoi();
}

static void drift_block(void)
{
	hv_hypercall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0, 0, 0);
}

/* vCPU 1: the tick-keeping guest. */
static void drift_guest(struct drift_ctx *c)
{
	struct vcpu_info *vi = &hv_domain_shared_info(c->d)->vcpu_info[1];
	int masked = 0, want;

	if (hv_vpt_program(c->period, drift_handler, c)) {
		__atomic_store_n(&c->rc, -XEN_EINVAL, __ATOMIC_SEQ_CST);
		__atomic_store_n(&c->ready, 1, __ATOMIC_SEQ_CST);
		return;
	}
	xt_tickclock_start(&c->clk, c->period);
	__atomic_store_n(&c->ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		want = __atomic_load_n(&c->want_mask, __ATOMIC_SEQ_CST);
		if (want != masked) {
			/* local_irq_disable() / local_irq_enable() */
			__atomic_store_n(&vi->evtchn_upcall_mask, want,
					 __ATOMIC_SEQ_CST);
			/* An unmask takes what waited at once (sti). */
			if (!want)
				hv_hypercall(__HYPERVISOR_xen_version,
					     XENVER_version, 0, 0, 0, 0);
			masked = want;
			__atomic_store_n(&c->masked, masked, __ATOMIC_SEQ_CST);
		}
		if (c->cfg->blocked_guest && !masked)
			drift_block();
		else
			drift_nap(50000); /* busy, as far as hv can tell */
	}
	hv_vpt_program(0, NULL, NULL);
}

/* vCPU 0: idle, or a CPU hog on request (contention). */
static void drift_other(struct drift_ctx *c)
{
	while (!__atomic_load_n(&c->stop, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&c->hog, __ATOMIC_SEQ_CST)) {
			uint64_t end = drift_mono_ns() + c->hog_ns;

			while (drift_mono_ns() < end)
				__builtin_ia32_pause();
			__atomic_store_n(&c->hog, 0, __ATOMIC_SEQ_CST);
		}
		drift_block();
	}
}

static void drift_vcpu(unsigned int id, void *arg)
{
	struct drift_ctx *c = arg;

	if (id == 1)
		drift_guest(c);
	else
		drift_other(c);
}

/* --- the script (host thread) -------------------------------------------- */

static bool drift_virtual(const struct drift_cfg *cfg)
{
	return cfg->scenario != DRIFT_CONTENTION;
}

static void drift_sample(struct drift_ctx *c)
{
	struct drift_result *r = c->r;
	struct drift_sample *s;
	uint64_t now = hv_vpt_now(c->d);

	if (r->nr_samples >= c->max_samples)
		return;
	s = &r->samples[r->nr_samples++];
	s->t = now - r->start;
	/* vCPU 1's pvclock reads the vpt's system time (vpt.c). */
	s->tick_minus_pv = (int64_t)(xt_tickclock_now(&c->clk) - now);
	s->gtime_minus_sys =
		(int64_t)(hv_vpt_guest_time(hv_domain_vcpu(c->d, 1)) - now);
}

/* Let ns of (virtual or real) time pass, sampling. */
static int drift_pass(struct drift_ctx *c, uint64_t ns)
{
	uint64_t step = c->cfg->sample_ns ? c->cfg->sample_ns : c->period / 2;
	int rc;

	while (ns) {
		uint64_t s = ns < step ? ns : step;

		if (drift_virtual(c->cfg)) {
			rc = hv_vpt_advance(c->d, s);
			if (rc)
				return rc;
		} else {
			drift_nap(s);
		}
		ns -= s;
		drift_sample(c);
	}
	return 0;
}

static int drift_wait_flag(int *flag, int val)
{
	uint64_t end = drift_mono_ns() + DRIFT_READY_NS;

	while (__atomic_load_n(flag, __ATOMIC_SEQ_CST) != val) {
		if (drift_mono_ns() > end)
			return -XEN_ETIMEDOUT;
		drift_nap(20000);
	}
	return 0;
}

static int drift_settle(struct drift_ctx *c)
{
	if (!drift_virtual(c->cfg))
		return 0;
	return hv_vpt_wait_settled(c->d, DRIFT_READY_NS) ? 0 : -XEN_ETIMEDOUT;
}

/* One pause of the domain (xl pause; xl unpause) for ns. */
static int drift_pause_once(struct drift_ctx *c, uint64_t ns)
{
	int rc = hv_domain_pause(c->d);

	if (rc)
		return rc;
	rc = drift_pass(c, ns);
	hv_domain_unpause(c->d);
	return rc ? rc : drift_settle(c);
}

static int drift_event(struct drift_ctx *c)
{
	const struct drift_cfg *cfg = c->cfg;
	struct hv_vcpu *v1 = hv_domain_vcpu(c->d, 1);
	unsigned int i;
	int rc = 0;

	switch (cfg->scenario) {
	case DRIFT_NONE:
		return drift_pass(c, cfg->event_ns);
	case DRIFT_DESCHED:
		rc = hv_vcpu_pause(v1);
		if (!rc)
			rc = drift_pass(c, cfg->event_ns);
		hv_vcpu_unpause(v1);
		return rc ? rc : drift_settle(c);
	case DRIFT_PAUSE:
		return drift_pause_once(c, cfg->event_ns);
	case DRIFT_MASK:
		__atomic_store_n(&c->want_mask, 1, __ATOMIC_SEQ_CST);
		rc = drift_wait_flag(&c->masked, 1);
		if (!rc)
			rc = drift_pass(c, cfg->event_ns);
		__atomic_store_n(&c->want_mask, 0, __ATOMIC_SEQ_CST);
		hv_vcpu_poke(v1);
		if (!rc)
			rc = drift_wait_flag(&c->masked, 0);
		return rc ? rc : drift_settle(c);
	case DRIFT_PERIODIC_PAUSES:
		for (i = 0; i < cfg->repeats && !rc; i++) {
			rc = drift_pause_once(c, cfg->event_ns);
			if (!rc && i + 1 < cfg->repeats)
				rc = drift_pass(c, cfg->gap_ns);
		}
		return rc;
	case DRIFT_CONTENTION:
		c->hog_ns = cfg->event_ns;
		__atomic_store_n(&c->hog, 1, __ATOMIC_SEQ_CST);
		hv_vcpu_poke(hv_domain_vcpu(c->d, 0));
		while (__atomic_load_n(&c->hog, __ATOMIC_SEQ_CST) && !rc)
			rc = drift_pass(c, cfg->sample_ns ? cfg->sample_ns :
							    c->period / 2);
		return rc;
	default:
		return -XEN_EINVAL;
	}
}

static int drift_script(struct drift_ctx *c)
{
	const struct drift_cfg *cfg = c->cfg;
	struct drift_result *r = c->r;
	struct hv_domain_config dc = {
		.nr_vcpus = 2,
		.nr_pcpus = cfg->scenario == DRIFT_CONTENTION ? 1 : 0,
		.vcpu_main = drift_vcpu,
		.arg = c,
	};
	int rc, err = 0;

	c->d = hv_domain_create(&dc, &err);
	if (!c->d)
		return err ? err : -XEN_ENOMEM;
	rc = hv_domain_set_timer_policy(c->d, cfg->policy);
	if (!rc && drift_virtual(cfg))
		hv_domain_set_virtual_time(c->d);
	if (!rc)
		rc = hv_domain_start(c->d);
	if (!rc)
		rc = drift_wait_flag(&c->ready, 1);
	if (!rc)
		rc = __atomic_load_n(&c->rc, __ATOMIC_SEQ_CST);
	if (!rc) {
		r->start = c->clk.base_ns;
		rc = drift_pass(c, cfg->warmup_ns);
	}
	if (!rc) {
		r->ev_start = hv_vpt_now(c->d);
		rc = drift_event(c);
		r->ev_end = hv_vpt_now(c->d);
		drift_sample(c); /* what the guest has once it took its ticks */
	}
	if (!rc)
		rc = drift_pass(c, cfg->tail_ns);
	if (!rc)
		rc = drift_settle(c);
	r->end = hv_vpt_now(c->d);
	hv_vpt_get_stats(hv_domain_vcpu(c->d, 1), &r->st);

	__atomic_store_n(&c->stop, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&c->want_mask, 0, __ATOMIC_SEQ_CST);
	hv_vcpu_poke(hv_domain_vcpu(c->d, 0));
	hv_vcpu_poke(hv_domain_vcpu(c->d, 1));
	hv_domain_join(c->d);
	hv_domain_destroy(c->d);
	return rc;
}

static void *drift_thread(void *arg)
{
	struct drift_ctx *c = arg;

	c->rc = drift_script(c);
	return NULL;
}

int drift_run(const struct drift_cfg *cfg, struct drift_result *r)
{
	struct drift_ctx c = { .cfg = cfg, .r = r };
	uint64_t total, step;
	pthread_t t;

	memset(r, 0, sizeof(*r));
	c.period = cfg->period_ns ? cfg->period_ns : 10000000ULL;
	step = cfg->sample_ns ? cfg->sample_ns : c.period / 2;
	total = cfg->warmup_ns + cfg->tail_ns +
		(cfg->repeats ? cfg->repeats : 1) *
			(cfg->event_ns + cfg->gap_ns);
	c.max_ticks = (unsigned int)(total / c.period) * 2 + 1024;
	c.max_samples = (unsigned int)(total / step) * 2 + 1024;
	r->ticks = calloc(c.max_ticks, sizeof(*r->ticks));
	r->samples = calloc(c.max_samples, sizeof(*r->samples));
	if (!r->ticks || !r->samples) {
		drift_result_free(r);
		return -XEN_ENOMEM;
	}
	/* The toolstack is not a vCPU: run the script on its own thread. */
	if (pthread_create(&t, NULL, drift_thread, &c)) {
		drift_result_free(r);
		return -XEN_ENOMEM;
	}
	pthread_join(t, NULL);
	return c.rc;
}

void drift_result_free(struct drift_result *r)
{
	free(r->ticks);
	free(r->samples);
	r->ticks = NULL;
	r->samples = NULL;
}

unsigned int drift_ticks_between(const struct drift_result *r, uint64_t from,
				 uint64_t to)
{
	unsigned int i, n = 0;

	for (i = 0; i < r->nr_ticks; i++)
		if (r->ticks[i].sys >= from && r->ticks[i].sys < to)
			n++;
	return n;
}

void drift_summarize(const struct drift_cfg *cfg, const struct drift_result *r,
		     struct drift_summary *s)
{
	uint64_t period = cfg->period_ns ? cfg->period_ns : 10000000ULL;
	/* Caught up: within 1.5 periods (a real-time tick may be a bit late). */
	int64_t lim = (int64_t)(period + period / 2);
	unsigned int i, last_out = 0;
	bool out = false;

	memset(s, 0, sizeof(*s));
	s->duration_ns = r->end - r->start;
	s->delivered = r->nr_ticks;
	s->expected = (unsigned int)(s->duration_ns / period);
	for (i = 0; i < r->nr_samples; i++) {
		int64_t dr = r->samples[i].tick_minus_pv;
		int64_t a = dr < 0 ? -dr : dr;

		if (a > (s->worst_ns < 0 ? -s->worst_ns : s->worst_ns))
			s->worst_ns = dr;
		if (a > lim) {
			out = true;
			last_out = i;
		}
	}
	if (r->nr_samples)
		s->final_ns = r->samples[r->nr_samples - 1].tick_minus_pv;
	if (!out) {
		s->catchup_ns = 0;
	} else if (last_out + 1 >= r->nr_samples) {
		s->catchup_ns = -1;
	} else {
		uint64_t back = r->start + r->samples[last_out + 1].t;

		s->catchup_ns = back > r->ev_end ? (int64_t)(back - r->ev_end) :
						   0;
	}
}
