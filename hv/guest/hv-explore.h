/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Adversarial schedules for hv (hv/explore.c): a seeded perturbation mode
 * that injects nothing, a sched_yield(), a short spin or a sleep of tens
 * of microseconds at the points where a vCPU races another one:
 *
 *   HV_XP_HC_ENTRY   before a hypercall enters hv (hv/hypercall.c)
 *   HV_XP_HC_EXIT    after it returned to guest code, upcalls delivered
 *   HV_XP_UPCALL     before hv runs the guest's upcall (hv/vcpu.c)
 *   HV_XP_ATOMIC     before each read-modify-write of the core
 *                    (xl_cmpxchg*, xl_xchg*, xl_fetch_*: xenlite_host.h)
 *   HV_XP_BARRIER    before each xl_mb()/xl_rmb()/xl_wmb() of the core
 *   HV_XP_PUBLISH    after each exchange of the core (xl_xchg*): an
 *                    exchange often publishes to a waiter ("done"), which
 *                    may then reuse what the publisher still reads
 *
 * One seed (XL_EXPLORE_SEED=N in the environment, or hv_explore_set())
 * fixes the plan: each thread draws its decisions from its own PRNG
 * stream, seeded from the seed, its domain id and its vCPU id, so a vCPU
 * takes the same sequence of decisions whatever the other threads do.
 * The OS still schedules the threads, so a seed makes a failure likely
 * again, not certain.
 *
 * Off (no seed), each point costs one load of hv_explore_on and a branch
 * predicted not taken.  This header is included by the freestanding core
 * through <xenlite_host.h>: it uses only <stdint.h> and <stdbool.h>.
 */
#ifndef HV_EXPLORE_H
#define HV_EXPLORE_H

#include <stdbool.h>
#include <stdint.h>

enum hv_explore_point {
	HV_XP_HC_ENTRY,
	HV_XP_HC_EXIT,
	HV_XP_UPCALL,
	HV_XP_ATOMIC,
	HV_XP_BARRIER,
	HV_XP_PUBLISH,
	HV_XP_NR
};

/* Nonzero while a seed or a hook is set (hv_explore_set, _set_hook). */
extern int hv_explore_on;

/* The slow path of hv_explore(): decide and perturb. */
void hv_explore_point(enum hv_explore_point pt);

static inline void hv_explore(enum hv_explore_point pt)
{
	if (__builtin_expect(__atomic_load_n(&hv_explore_on, __ATOMIC_RELAXED),
			     0))
		hv_explore_point(pt);
}

/*
 * Set (on) or clear the seed; call only while no vCPU thread runs (between
 * tests).  The environment's XL_EXPLORE_SEED is read once at start-up.
 */
void hv_explore_set(bool on, uint64_t seed);
/* True and *seed when a seed is set. */
bool hv_explore_get(uint64_t *seed);

/*
 * A test's own point hook, to force one interleaving inside the core
 * (where hv_domain_set_evtchn_hook cannot reach: no hypercall in the
 * window): while set, every point of every thread calls fn instead of
 * the seeded perturbation.  fn runs on the thread at the point, inside
 * core code: it may read and write guest memory and hv state, and must
 * not call the core.  NULL removes it (the seed, if any, applies again).
 * May be set while vCPUs run.  Testing only, built with HV_EXPLORE.
 */
typedef void (*hv_explore_hook_fn)(enum hv_explore_point pt);
void hv_explore_set_hook(hv_explore_hook_fn fn);

/* Perturbations injected since start-up (all threads). */
struct hv_explore_stats {
	uint64_t points; /* points reached with a seed set */
	uint64_t yields;
	uint64_t spins;
	uint64_t sleeps;
};
void hv_explore_get_stats(struct hv_explore_stats *st);

#endif /* HV_EXPLORE_H */
