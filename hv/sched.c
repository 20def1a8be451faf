// SPDX-License-Identifier: GPL-2.0
/*
 * hv pCPUs: an optional run queue for domains with fewer pCPUs than vCPUs.
 * Which Xen 4.17 scheduler it models is chosen per domain (hv.h
 * enum hv_sched_kind), as Xen's `sched=` option picks one per host:
 *
 * credit2 (xen/common/sched/credit2.c; Xen 4.17's default):
 *  - each vCPU has credit, CSCHED2_CREDIT_INIT (10 ms) to start with
 *    (csched2_alloc_udata), burnt 1 ns per ns it runs (burn_credits,
 *    t2c_update: every vCPU of one domain has the same weight), never
 *    below CSCHED2_CREDIT_MIN (-10 ms);
 *  - the run queue is sorted by credit, most first (runq_insert);
 *  - a wake queues the vCPU and tickles (runq_tickle) the pCPU whose
 *    running vCPU gives the best tickle_score(): the woken vCPU's credit
 *    minus the running one's, less CSCHED2_MIGRATE_RESIST (500 us) when
 *    the pCPU is not the one the woken vCPU last ran on; a score <= 0
 *    tickles no one.  A vCPU that has run less than the ratelimit
 *    (sched_ratelimit_us = 1000 us, less CSCHED2_RATELIMIT_TICKLE_
 *    TOLERANCE = 50 us) is not a candidate (is_preemptable);
 *  - a running vCPU's time slice is csched2_runtime(): until its credit
 *    reaches the queue head's (or 0), no shorter than CSCHED2_MIN_TIMER
 *    (500 us) or what is left of the ratelimit, no longer than
 *    CSCHED2_MAX_TIMER (10 ms).  At its end it keeps the pCPU unless the
 *    head has more credit (runq_candidate);
 *  - when the vCPU picked to run and the queue head both have credit
 *    <= CSCHED2_CREDIT_RESET (0), every vCPU gets CSCHED2_CREDIT_INIT
 *    more (twice that if the picked one is at CREDIT_MIN), clipped to
 *    CREDIT_INIT + CSCHED2_CARRYOVER_MAX (reset_credit, csched2_schedule);
 *  - left out: weights and caps (one domain per run queue, every vCPU
 *    the same weight), soft affinity and load balancing between run
 *    queues (one run queue per domain here), CSCHED2_MIGRATE_COMPENSATION
 *    (50 us), and runq_candidate looking past a head that resists
 *    migration (hv hands the pCPU to the head).  None of these changes
 *    who waits for whom among one domain's vCPUs on one run queue.
 *
 * credit1 (xen/common/sched/credit.c; `sched=credit`):
 *  - a vCPU woken from blocked is BOOSTed (csched_unit_wake: "We
 *    temporarily boost the priority of awaking UNITs!"): it queues ahead
 *    of the others and preempts a running vCPU that is not boosted
 *    (__runq_tickle); the boost ends once it has run a tick
 *    (CSCHED_TICKS_PER_TSLICE = 3 ticks per 30 ms slice);
 *  - otherwise a vCPU runs for its time slice (CSCHED_DEFAULT_TSLICE_MS =
 *    30) while others wait, then goes to the back of the queue;
 *  - left out: credit accounting (a vCPU in OVER is not boosted in Xen;
 *    here every wake from blocked is) and the ratelimit.
 *
 * Both: a vCPU runs guest code only while it holds one of the domain's
 * nr_pcpus pCPUs; blocking (SCHEDOP_block/poll) gives the pCPU up;
 * descheduling stops the periodic timer and switch-in restarts it, and
 * runstate shows runnable while waiting for a pCPU (time.c).
 *
 * Preemption is cooperative at the boundaries Xen would preempt at: the
 * vCPU's kick signal (guest code running) or its return from hv (a
 * hypercall in progress).  nr_pcpus = 0 means one pCPU per vCPU: none of
 * this runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv-internal.h"

/* credit1 (credit.c) */
#define HV_TICK_NS 10000000ULL /* 30 ms slice / 3 ticks */
#define HV_TSLICE_NS 30000000ULL

/* credit2 (credit2.c of Xen 4.17, "Basic constants") */
#define C2_US 1000LL
#define C2_MIN_TIMER (500 * C2_US)	    /* CSCHED2_MIN_TIMER */
#define C2_CREDIT_INIT (10000 * C2_US)	    /* CSCHED2_CREDIT_INIT */
#define C2_CREDIT_MIN (-C2_CREDIT_INIT)	    /* CSCHED2_CREDIT_MIN */
#define C2_CARRYOVER_MAX C2_MIN_TIMER	    /* CSCHED2_CARRYOVER_MAX */
#define C2_MIGRATE_RESIST (500 * C2_US)	    /* opt_migrate_resist */
#define C2_RATELIMIT_TOLERANCE (50 * C2_US) /* ..._TICKLE_TOLERANCE */
#define C2_CREDIT_RESET 0		    /* CSCHED2_CREDIT_RESET */
#define C2_MAX_TIMER C2_CREDIT_INIT	    /* CSCHED2_MAX_TIMER */
#define C2_RATELIMIT (1000 * C2_US) /* sched_ratelimit_us (core.c, private.h) */

static bool hv_sched_on(const struct hv_domain *d)
{
	return d->sched.nr_pcpus != 0;
}

static bool hv_is_credit2(const struct hv_domain *d)
{
	return d->sched.kind == HV_SCHED_CREDIT2;
}

const char *hv_sched_name(enum hv_sched_kind kind)
{
	switch (kind) {
	case HV_SCHED_CREDIT2:
		return "credit2";
	case HV_SCHED_CREDIT:
		return "credit";
	default:
		return NULL;
	}
}

enum hv_sched_kind hv_domain_sched(const struct hv_domain *d)
{
	return d->sched.kind;
}

/* HV_SCHED_DEFAULT: the instance's HV_SCHED, else credit2 (core.c). */
static enum hv_sched_kind hv_sched_pick(enum hv_sched_kind kind)
{
	const char *env = getenv("HV_SCHED");

	if (kind != HV_SCHED_DEFAULT)
		return kind;
	if (env && !strcmp(env, "credit"))
		return HV_SCHED_CREDIT;
	return HV_SCHED_CREDIT2;
}

/* --- the run queue ---------------------------------------------------- */

/*
 * Queue v (under lock).  credit1: boosted vCPUs ahead of the rest, FIFO
 * within.  credit2: by credit, most first, after equals (runq_insert).
 */
static void hv_runq_insert(struct hv_domain *d, struct hv_vcpu *v)
{
	struct hv_sched *s = &d->sched;
	unsigned int i = s->runq_len;

	if (hv_is_credit2(d))
		while (i && s->runq[i - 1]->sc.credit < v->sc.credit) {
			s->runq[i] = s->runq[i - 1];
			i--;
		}
	else if (v->sc.boost)
		while (i && !s->runq[i - 1]->sc.boost) {
			s->runq[i] = s->runq[i - 1];
			i--;
		}
	s->runq[i] = v;
	s->runq_len++;
}

static struct hv_vcpu *hv_runq_pop(struct hv_sched *s)
{
	struct hv_vcpu *v = s->runq[0];
	unsigned int i;

	for (i = 1; i < s->runq_len; i++)
		s->runq[i - 1] = s->runq[i];
	s->runq_len--;
	return v;
}

/* Ask a running vCPU to give up its pCPU at its next boundary. */
static void hv_preempt(struct hv_vcpu *v)
{
	__atomic_store_n(&v->sc.want_preempt, 1, __ATOMIC_SEQ_CST);
	hv_stat_inc(v->domain, preempt_requests);
	hv_vcpu_signal(v);
}

static bool hv_preempt_asked(const struct hv_vcpu *v)
{
	return __atomic_load_n(&v->sc.want_preempt, __ATOMIC_SEQ_CST);
}

/* --- credit2 (under d->sched.lock) ------------------------------------ */

/* burn_credits()/t2c_update(): equal weights, so 1 ns of credit per ns. */
static void c2_burn(struct hv_vcpu *v, uint64_t now)
{
	int64_t delta = (int64_t)(now - v->sc.start_time);

	if (delta <= 0)
		return;
	v->sc.credit -= delta;
	if (v->sc.credit < C2_CREDIT_MIN)
		v->sc.credit = C2_CREDIT_MIN;
	v->sc.start_time = now;
}

/* reset_credit(): a new epoch for every vCPU, blocked ones too. */
static void c2_reset_credit(struct hv_domain *d, const struct hv_vcpu *snext,
			    uint64_t now)
{
	int64_t reset = C2_CREDIT_INIT;
	unsigned int i;

	/* snext at CREDIT_MIN needs two epochs to be in the black again. */
	if (snext->sc.credit == C2_CREDIT_MIN)
		reset += C2_CREDIT_INIT;
	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		if (v->sc.on_pcpu)
			c2_burn(v, now);
		v->sc.credit += reset;
		if (v->sc.credit > C2_CREDIT_INIT + C2_CARRYOVER_MAX)
			v->sc.credit = C2_CREDIT_INIT + C2_CARRYOVER_MAX;
		v->sc.start_time = now;
	}
	hv_stat_inc(d, credit_resets);
}

/*
 * csched2_schedule() picked snext: the epoch ends when it and the queue
 * head both have no credit left ("top_credit <= CSCHED2_CREDIT_RESET").
 */
static void c2_picked(struct hv_domain *d, const struct hv_vcpu *snext,
		      uint64_t now)
{
	struct hv_sched *s = &d->sched;
	int64_t top = snext->sc.credit;

	if (s->runq_len && s->runq[0]->sc.credit > top)
		top = s->runq[0]->sc.credit;
	if (top <= C2_CREDIT_RESET)
		c2_reset_credit(d, snext, now);
}

/* csched2_runtime(): how long v, running since run_start, may run on. */
static int64_t c2_runtime(const struct hv_domain *d, const struct hv_vcpu *v,
			  uint64_t now)
{
	const struct hv_sched *s = &d->sched;
	int64_t min_time = C2_MIN_TIMER;
	int64_t rl = (int64_t)(v->sc.run_start + s->ratelimit_ns - now);
	int64_t rt = v->sc.credit;

	if (rl > min_time)
		min_time = rl;
	/* Someone waits with credit: run until ours is down to theirs. */
	if (s->runq_len && s->runq[0]->sc.credit > 0)
		rt = v->sc.credit - s->runq[0]->sc.credit;
	if (rt < min_time)
		return min_time;
	return rt > C2_MAX_TIMER ? C2_MAX_TIMER : rt;
}

/* is_preemptable(): it ran longer than the ratelimit, less tolerance. */
static bool c2_preemptable(const struct hv_domain *d, const struct hv_vcpu *cur,
			   uint64_t now)
{
	int64_t rl = d->sched.ratelimit_ns;

	if (rl <= C2_RATELIMIT_TOLERANCE)
		return true;
	return (int64_t)(now - cur->sc.run_start) > rl - C2_RATELIMIT_TOLERANCE;
}

/* tickle_score(): > 0 if new may preempt cur. */
static int64_t c2_tickle_score(struct hv_vcpu *new, struct hv_vcpu *cur,
			       uint64_t now)
{
	int64_t score;

	c2_burn(cur, now);
	score = new->sc.credit - cur->sc.credit;
	if (new->sc.pcpu != cur->sc.pcpu)
		score -= C2_MIGRATE_RESIST;
	return score;
}

/*
 * runq_tickle() with no idle pCPU (hv has one only while nobody waits):
 * the pCPU new last ran on if new may preempt its vCPU, else the one
 * with the best score > 0; pCPUs already tickled are left alone.
 */
static struct hv_vcpu *c2_tickle_victim(struct hv_domain *d,
					struct hv_vcpu *new, uint64_t now)
{
	struct hv_vcpu *best = NULL;
	int64_t max = 0;
	bool limited = false;
	unsigned int i;

	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *cur = &d->vcpus[i];
		int64_t score;

		if (!cur->sc.on_pcpu || hv_preempt_asked(cur))
			continue;
		if (!c2_preemptable(d, cur, now)) {
			limited = true;
			continue;
		}
		score = c2_tickle_score(new, cur, now);
		if (score > 0 && cur->sc.pcpu == new->sc.pcpu)
			return cur;
		if (score > max) {
			max = score;
			best = cur;
		}
	}
	if (!best && limited)
		hv_stat_inc(d, ratelimited_wakes);
	return best;
}

/*
 * csched2_schedule() at the end of cur's slice: it keeps the pCPU unless
 * it has run past the ratelimit and the queue head has more credit (by
 * CSCHED2_MIGRATE_RESIST if it last ran elsewhere: runq_candidate).
 * True if cur must go; otherwise it starts a new slice.
 */
static bool c2_slice_end(struct hv_domain *d, struct hv_vcpu *cur, uint64_t now)
{
	struct hv_sched *s = &d->sched;

	c2_burn(cur, now);
	if (s->runq_len &&
	    (int64_t)(now - cur->sc.run_start) >= s->ratelimit_ns) {
		const struct hv_vcpu *h = s->runq[0];
		int64_t need = cur->sc.credit;

		if (h->sc.pcpu != cur->sc.pcpu)
			need += C2_MIGRATE_RESIST;
		if (h->sc.credit > need)
			return true;
	}
	c2_picked(d, cur, now);
	cur->sc.slice_end = now + (uint64_t)c2_runtime(d, cur, now);
	return false;
}

/* --- credit1 ---------------------------------------------------------- */

/* __runq_tickle(): the running non-boosted vCPU that ran longest. */
static struct hv_vcpu *hv_tickle_victim(struct hv_domain *d)
{
	struct hv_vcpu *best = NULL;
	unsigned int i;

	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		if (!v->sc.on_pcpu || v->sc.boost || hv_preempt_asked(v))
			continue;
		if (!best || v->sc.run_start < best->sc.run_start)
			best = v;
	}
	return best;
}

/* --- both ------------------------------------------------------------- */

/* A free pCPU for v (runq empty): the one it last ran on if free. */
static void hv_take_free(struct hv_sched *s, struct hv_vcpu *v)
{
	if (!(s->free & (1U << v->sc.pcpu)))
		v->sc.pcpu = (unsigned int)__builtin_ctz(s->free);
	s->free &= ~(1U << v->sc.pcpu);
}

/*
 * Take a pCPU for v, waiting in the run queue if none is free; wake: v
 * was blocked (credit1: BOOSTed; both: it tickles).
 */
static void hv_pcpu_acquire(struct hv_vcpu *v, bool wake)
{
	struct hv_domain *d = v->domain;
	struct hv_sched *s = &d->sched;
	struct hv_vcpu *victim = NULL;
	bool c2 = hv_is_credit2(d);
	bool wait = false;
	uint64_t now;

	pthread_mutex_lock(&s->lock);
	now = hv_now_ns();
	v->sc.boost = wake && !c2;
	if (s->free && !s->runq_len) {
		hv_take_free(s, v);
		if (c2)
			c2_picked(d, v, now);
	} else {
		wait = true;
		hv_runq_insert(d, v);
		if (wake)
			victim = c2 ? c2_tickle_victim(d, v, now) :
				      hv_tickle_victim(d);
	}
	pthread_mutex_unlock(&s->lock);
	if (victim) {
		hv_stat_inc(d, wake_preempts);
		hv_preempt(victim);
	}
	if (wait) {
		hv_stat_inc(d, runq_waits);
		if (v->sc.boost)
			hv_stat_inc(d, boosted_wakes);
		/* hv_pcpu_release() hands the pCPU over with a post. */
		while (sem_wait(&v->sc.go) && errno == EINTR)
			;
	}
	pthread_mutex_lock(&s->lock);
	now = hv_now_ns();
	v->sc.on_pcpu = true;
	v->sc.run_start = now;
	v->sc.start_time = now;
	if (c2)
		v->sc.slice_end = now + (uint64_t)c2_runtime(d, v, now);
	pthread_mutex_unlock(&s->lock);
}

/* v leaves its pCPU: to the queue's head (snext), else it is free. */
static void hv_pcpu_release(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;
	struct hv_sched *s = &d->sched;
	struct hv_vcpu *next = NULL;
	uint64_t now;

	pthread_mutex_lock(&s->lock);
	now = hv_now_ns();
	if (hv_is_credit2(d))
		c2_burn(v, now);
	v->sc.on_pcpu = false;
	v->sc.boost = false;
	if (s->runq_len) {
		next = hv_runq_pop(s);
		next->sc.pcpu = v->sc.pcpu;
		if (hv_is_credit2(d))
			c2_picked(d, next, now);
	} else {
		s->free |= 1U << v->sc.pcpu;
	}
	pthread_mutex_unlock(&s->lock);
	if (next)
		sem_post(&next->sc.go);
}

/* Off the pCPU: runstate state (blocked, runnable or offline). */
void hv_deschedule(struct hv_vcpu *v, int state)
{
	hv_vpt_save(v, state); /* context_switch(): pt_save_timer (vpt.c) */
	__atomic_store_n(&v->on_cpu, 0, __ATOMIC_SEQ_CST);
	hv_vcpu_stop_periodic(v);
	hv_runstate_change(v, state);
	if (hv_sched_on(v->domain))
		hv_pcpu_release(v);
}

/* Back on a pCPU: runnable until one is free, then running. */
void hv_schedule(struct hv_vcpu *v, bool wake)
{
	hv_pause_wait(v); /* paused (pause.c): offline until unpaused */
	hv_runstate_change(v, RUNSTATE_runnable);
	if (hv_sched_on(v->domain))
		hv_pcpu_acquire(v, wake);
	hv_runstate_change(v, RUNSTATE_running);
	hv_vpt_restore(v); /* hvm_do_resume(): pt_restore_timer (vpt.c) */
	hv_vcpu_resume_time(v);
	__atomic_store_n(&v->on_cpu, 1, __ATOMIC_SEQ_CST);
}

/*
 * A preemption point: the vCPU's signal handler (guest code running) or
 * its outermost return from hv.  Gives the pCPU to the queue's head.
 */
void hv_sched_preempt_point(struct hv_vcpu *v)
{
	if (!__atomic_exchange_n(&v->sc.want_preempt, 0, __ATOMIC_SEQ_CST))
		return;
	hv_stat_inc(v->domain, preemptions);
	hv_deschedule(v, RUNSTATE_runnable);
	hv_schedule(v, false);
}

/*
 * SCHEDOP_yield: to the queue's head if anyone waits (credit2's yield
 * flag makes runq_candidate take the head whatever its credit).
 */
void hv_sched_yield(struct hv_vcpu *v)
{
	struct hv_sched *s = &v->domain->sched;
	bool others;

	if (!hv_sched_on(v->domain)) {
		sched_yield();
		return;
	}
	pthread_mutex_lock(&s->lock);
	others = s->runq_len != 0;
	pthread_mutex_unlock(&s->lock);
	if (!others)
		return;
	hv_deschedule(v, RUNSTATE_runnable);
	hv_schedule(v, false);
}

/* csched_tick(): end boosts, expire time slices while others wait. */
static unsigned int c1_tick(struct hv_domain *d, uint64_t now,
			    struct hv_vcpu **victim)
{
	struct hv_sched *s = &d->sched;
	unsigned int i, n = 0;

	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		if (!v->sc.on_pcpu)
			continue;
		if (v->sc.boost && now - v->sc.run_start >= HV_TICK_NS)
			v->sc.boost = false;
		if (s->runq_len > n && !v->sc.boost &&
		    now - v->sc.run_start >= HV_TSLICE_NS)
			victim[n++] = v;
	}
	return n;
}

/* The s_timer of each pCPU: slices that ended (csched2_runtime()). */
static unsigned int c2_tick(struct hv_domain *d, uint64_t now,
			    struct hv_vcpu **victim)
{
	unsigned int i, n = 0;

	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		if (!v->sc.on_pcpu || hv_preempt_asked(v) ||
		    now < v->sc.slice_end)
			continue;
		if (c2_slice_end(d, v, now))
			victim[n++] = v;
	}
	return n;
}

static void *hv_sched_thread(void *arg)
{
	struct hv_domain *d = arg;
	struct hv_sched *s = &d->sched;
	bool c2 = hv_is_credit2(d);
	/* credit2's slices end to CSCHED2_MIN_TIMER precision. */
	struct timespec tick = { .tv_nsec = c2 ? (long)C2_MIN_TIMER :
						 (long)HV_TICK_NS };
	struct hv_vcpu *victim[HV_MAX_VCPUS];
	unsigned int i, n;

	while (!__atomic_load_n(&s->exit, __ATOMIC_SEQ_CST)) {
		uint64_t now;

		nanosleep(&tick, NULL);
		pthread_mutex_lock(&s->lock);
		now = hv_now_ns();
		n = c2 ? c2_tick(d, now, victim) : c1_tick(d, now, victim);
		pthread_mutex_unlock(&s->lock);
		for (i = 0; i < n; i++)
			hv_preempt(victim[i]);
	}
	return NULL;
}

int hv_sched_domain_init(struct hv_domain *d)
{
	struct hv_sched *s = &d->sched;
	unsigned int i;

	pthread_mutex_init(&s->lock, NULL);
	for (i = 0; i < HV_MAX_VCPUS; i++) {
		sem_init(&d->vcpus[i].sc.go, 0, 0);
		/* csched2_alloc_udata(): "svc->credit = CSCHED2_CREDIT_INIT" */
		d->vcpus[i].sc.credit = C2_CREDIT_INIT;
	}
	s->kind = hv_sched_pick(d->cfg.sched);
	s->ratelimit_ns = C2_RATELIMIT; /* prv->ratelimit_us (credit2.c) */
	s->nr_pcpus = d->cfg.nr_pcpus < d->cfg.nr_vcpus ? d->cfg.nr_pcpus : 0;
	s->free = s->nr_pcpus ? (uint32_t)((1ULL << s->nr_pcpus) - 1) : 0;
	if (!s->nr_pcpus)
		return 0;
	for (i = 0; i < d->cfg.nr_vcpus; i++)
		d->vcpus[i].sc.pcpu = i % s->nr_pcpus;
	if (pthread_create(&s->thread, NULL, hv_sched_thread, d))
		return -XEN_ENOMEM;
	s->started = true;
	return 0;
}

void hv_sched_domain_stop(struct hv_domain *d)
{
	struct hv_sched *s = &d->sched;

	if (!s->started)
		return;
	__atomic_store_n(&s->exit, true, __ATOMIC_SEQ_CST);
	pthread_join(s->thread, NULL);
	s->started = false;
}

void hv_sched_domain_destroy(struct hv_domain *d)
{
	unsigned int i;

	hv_sched_domain_stop(d);
	for (i = 0; i < HV_MAX_VCPUS; i++)
		sem_destroy(&d->vcpus[i].sc.go);
	pthread_mutex_destroy(&d->sched.lock);
}
