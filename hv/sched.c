// SPDX-License-Identifier: GPL-2.0
/*
 * hv pCPUs: an optional run queue for domains with fewer pCPUs than vCPUs,
 * after Xen 4.17's credit scheduler (xen/common/sched/credit.c):
 *
 *  - a vCPU runs guest code only while it holds one of the domain's
 *    nr_pcpus pCPUs; blocking (SCHEDOP_block/poll) gives the pCPU up;
 *  - a vCPU woken from blocked is BOOSTed (csched_unit_wake: "We
 *    temporarily boost the priority of awaking UNITs!"): it queues ahead
 *    of the others and preempts a running vCPU that is not boosted
 *    (__runq_tickle); the boost ends once it has run a tick
 *    (CSCHED_TICKS_PER_TSLICE = 3 ticks per 30 ms slice);
 *  - otherwise a vCPU runs for its time slice (CSCHED_DEFAULT_TSLICE_MS =
 *    30) while others wait, then goes to the back of the queue;
 *  - descheduling stops the periodic timer and switch-in restarts it,
 *    and runstate shows runnable while waiting for a pCPU (time.c).
 *
 * Preemption is cooperative at the boundaries Xen would preempt at: the
 * vCPU's kick signal (guest code running) or its return from hv (a
 * hypercall in progress).  nr_pcpus = 0 means one pCPU per vCPU: none of
 * this runs.
 */
#include <errno.h>
#include <time.h>

#include "hv-internal.h"

#define HV_TICK_NS 10000000ULL /* 30 ms slice / 3 ticks */
#define HV_TSLICE_NS 30000000ULL

static bool hv_sched_on(const struct hv_domain *d)
{
	return d->sched.nr_pcpus != 0;
}

/* Queue v (under lock): boosted vCPUs ahead of the rest, FIFO within. */
static void hv_runq_insert(struct hv_sched *s, struct hv_vcpu *v)
{
	unsigned int i = s->runq_len;

	if (v->sc.boost)
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

/* __runq_tickle(): the running non-boosted vCPU that ran longest. */
static struct hv_vcpu *hv_tickle_victim(struct hv_domain *d)
{
	struct hv_vcpu *best = NULL;
	unsigned int i;

	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		if (!v->sc.on_pcpu || v->sc.boost ||
		    __atomic_load_n(&v->sc.want_preempt, __ATOMIC_SEQ_CST))
			continue;
		if (!best || v->sc.run_start < best->sc.run_start)
			best = v;
	}
	return best;
}

/* Take a pCPU for v, waiting in the run queue if none is free. */
static void hv_pcpu_acquire(struct hv_vcpu *v, bool boost)
{
	struct hv_domain *d = v->domain;
	struct hv_sched *s = &d->sched;
	struct hv_vcpu *victim = NULL;
	bool wait = false;

	pthread_mutex_lock(&s->lock);
	v->sc.boost = boost;
	if (s->free && !s->runq_len) {
		s->free--;
	} else {
		wait = true;
		hv_runq_insert(s, v);
		if (boost)
			victim = hv_tickle_victim(d);
	}
	pthread_mutex_unlock(&s->lock);
	if (victim)
		hv_preempt(victim);
	if (wait) {
		hv_stat_inc(d, runq_waits);
		if (boost)
			hv_stat_inc(d, boosted_wakes);
		/* hv_pcpu_release() hands the pCPU over with a post. */
		while (sem_wait(&v->sc.go) && errno == EINTR)
			;
	}
	pthread_mutex_lock(&s->lock);
	v->sc.on_pcpu = true;
	v->sc.run_start = hv_now_ns();
	pthread_mutex_unlock(&s->lock);
}

static void hv_pcpu_release(struct hv_vcpu *v)
{
	struct hv_sched *s = &v->domain->sched;
	struct hv_vcpu *next = NULL;

	pthread_mutex_lock(&s->lock);
	v->sc.on_pcpu = false;
	v->sc.boost = false;
	if (s->runq_len)
		next = hv_runq_pop(s);
	else
		s->free++;
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
void hv_schedule(struct hv_vcpu *v, bool boost)
{
	hv_pause_wait(v); /* paused (pause.c): offline until unpaused */
	hv_runstate_change(v, RUNSTATE_runnable);
	if (hv_sched_on(v->domain))
		hv_pcpu_acquire(v, boost);
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

/* SCHEDOP_yield: to the back of the queue if anyone waits. */
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
static void *hv_sched_thread(void *arg)
{
	struct hv_domain *d = arg;
	struct hv_sched *s = &d->sched;
	struct timespec tick = { .tv_nsec = (long)HV_TICK_NS };
	struct hv_vcpu *victim[HV_MAX_VCPUS];
	unsigned int i, n;

	while (!__atomic_load_n(&s->exit, __ATOMIC_SEQ_CST)) {
		uint64_t now;

		nanosleep(&tick, NULL);
		now = hv_now_ns();
		n = 0;
		pthread_mutex_lock(&s->lock);
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
	for (i = 0; i < HV_MAX_VCPUS; i++)
		sem_init(&d->vcpus[i].sc.go, 0, 0);
	s->nr_pcpus = d->cfg.nr_pcpus < d->cfg.nr_vcpus ? d->cfg.nr_pcpus : 0;
	s->free = s->nr_pcpus;
	if (!s->nr_pcpus)
		return 0;
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
