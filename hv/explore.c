// SPDX-License-Identifier: GPL-2.0
/*
 * Adversarial schedules (hv/guest/hv-explore.h): seeded perturbations at
 * hypercall entry and exit, upcall delivery and the core's atomics and
 * barriers, so the selftests see interleavings a quiet machine never
 * produces.  The decisions come from per-thread PRNG streams: a vCPU's
 * stream is seeded from (seed, domain id, vCPU id), so one seed gives each
 * vCPU the same plan in every run, whatever the other threads do.
 *
 * Each thread also draws a profile from its stream: how often each kind
 * of point is perturbed (never, now and then, often) and which delays it
 * favours (yield, spin or sleep).  A seed thus sets some vCPUs fast and
 * others slow at hypercalls, at atomics or in their upcalls, which is
 * what widens one side's window against another's (a close's window
 * between EVTCHNOP_close and its local unbind, a consumer's between
 * unlinking a word and forwarding it).
 *
 * Perturbations run on the vCPU's own thread, possibly in its upcall, a
 * signal handler here: sched_yield(), nanosleep() and a clock_gettime()
 * spin are async-signal-safe.  A nested point (an upcall taken inside a
 * perturbation) draws from the same stream; such nesting depends on
 * timing, so it is where two runs of one seed may part.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>

#include "hv-explore.h"
#include "hv.h"

int hv_explore_on;
static uint64_t hv_explore_seed;
static unsigned int hv_explore_epoch; /* bumped by every hv_explore_set */
static struct hv_explore_stats hv_xp_stats;
static bool hv_explore_seeded;
static hv_explore_hook_fn hv_xp_hook; /* atomic */

/* What one thread does at its points; drawn from its stream once. */
struct hv_xp_thread {
	uint64_t s;		 /* xorshift64* state */
	unsigned int epoch;	 /* hv_explore_epoch it was seeded for, +1 */
	uint32_t rate[HV_XP_NR]; /* perturb with probability rate / 2^16 */
	uint32_t yield, spin; /* action thresholds out of 256 (rest: sleep) */
	uint32_t spin_max_ns, sleep_max_ns;
};

static __thread struct hv_xp_thread hv_xp;

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t hv_xp_next(struct hv_xp_thread *t)
{
	uint64_t x = t->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * Rates: hypercalls and upcalls are rare enough to be perturbed up to
 * every time; atomics and barriers are on every fast path (the port
 * table's lock, the consumer's unlink), so at most one in 16.
 */
static const uint32_t hv_xp_rare_rates[] = { 0, 4096, 16384, 32768, 65536 };
static const uint32_t hv_xp_hot_rates[] = { 0, 0, 256, 1024, 4096 };

/* Yield, spin thresholds out of 256: yield-, spin-, sleep-heavy, even. */
static const uint32_t hv_xp_mix[][2] = { { 180, 230 },
					 { 25, 205 },
					 { 25, 75 },
					 { 85, 170 } };

#define HV_XP_PICK(t, a) ((a)[hv_xp_next(t) % (sizeof(a) / sizeof((a)[0]))])

static void hv_xp_seed_thread(struct hv_xp_thread *t)
{
	struct hv_vcpu *v = hv_current();
	uint64_t key;
	unsigned int i, mix;

	/* Threads that are no vCPU (none reaches here today) share a key. */
	key = v ? ((uint64_t)hv_domain_id(hv_vcpu_domain(v)) << 16) |
			      hv_vcpu_id(v) :
		  0xffffffffULL;
	t->s = splitmix64(splitmix64(hv_explore_seed) ^ key) | 1;
	for (i = 0; i < HV_XP_NR; i++)
		t->rate[i] = i == HV_XP_ATOMIC || i == HV_XP_BARRIER ||
					     i == HV_XP_PUBLISH ?
				     HV_XP_PICK(t, hv_xp_hot_rates) :
				     HV_XP_PICK(t, hv_xp_rare_rates);
	/* One thread in four runs unperturbed: fast against slow. */
	if (hv_xp_next(t) % 4 == 0)
		for (i = 0; i < HV_XP_NR; i++)
			t->rate[i] = 0;
	mix = hv_xp_next(t) % (sizeof(hv_xp_mix) / sizeof(hv_xp_mix[0]));
	t->yield = hv_xp_mix[mix][0];
	t->spin = hv_xp_mix[mix][1];
	t->spin_max_ns = 2000 + hv_xp_next(t) % 30000;
	t->sleep_max_ns = 10000 + hv_xp_next(t) % 90000;
	t->epoch = __atomic_load_n(&hv_explore_epoch, __ATOMIC_RELAXED) + 1;
	/* Sleeps of tens of microseconds, not the default 50 us slack. */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
}

static uint64_t hv_xp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void hv_explore_point(enum hv_explore_point pt)
{
	struct hv_xp_thread *t = &hv_xp;
	uint64_t r, end;
	uint32_t act;
	struct timespec ts;
	hv_explore_hook_fn fn = __atomic_load_n(&hv_xp_hook, __ATOMIC_ACQUIRE);

	if (fn) {
		fn(pt);
		return;
	}
	if (!__atomic_load_n(&hv_explore_seeded, __ATOMIC_RELAXED))
		return;
	if (t->epoch !=
	    __atomic_load_n(&hv_explore_epoch, __ATOMIC_RELAXED) + 1)
		hv_xp_seed_thread(t);
	__atomic_fetch_add(&hv_xp_stats.points, 1, __ATOMIC_RELAXED);
	r = hv_xp_next(t);
	if ((uint32_t)(r & 0xffff) >= t->rate[pt])
		return;
	act = (uint32_t)(r >> 16) & 0xff;
	if (act < t->yield) {
		__atomic_fetch_add(&hv_xp_stats.yields, 1, __ATOMIC_RELAXED);
		sched_yield();
	} else if (act < t->spin) {
		__atomic_fetch_add(&hv_xp_stats.spins, 1, __ATOMIC_RELAXED);
		end = hv_xp_now() + 500 + (r >> 24) % t->spin_max_ns;
		while (hv_xp_now() < end)
			__builtin_ia32_pause();
	} else {
		__atomic_fetch_add(&hv_xp_stats.sleeps, 1, __ATOMIC_RELAXED);
		ts.tv_sec = 0;
		ts.tv_nsec = 5000 + (long)((r >> 24) % t->sleep_max_ns);
		nanosleep(&ts, NULL); /* an upcall may cut it short: fine */
	}
}

void hv_explore_set(bool on, uint64_t seed)
{
	hv_explore_seed = seed;
	__atomic_fetch_add(&hv_explore_epoch, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&hv_explore_seeded, on, __ATOMIC_RELAXED);
	__atomic_store_n(&hv_explore_on,
			 on || __atomic_load_n(&hv_xp_hook, __ATOMIC_RELAXED),
			 __ATOMIC_RELAXED);
}

void hv_explore_set_hook(hv_explore_hook_fn fn)
{
	__atomic_store_n(&hv_xp_hook, fn, __ATOMIC_RELEASE);
	__atomic_store_n(&hv_explore_on,
			 fn || __atomic_load_n(&hv_explore_seeded,
					       __ATOMIC_RELAXED),
			 __ATOMIC_SEQ_CST);
}

bool hv_explore_get(uint64_t *seed)
{
	if (!__atomic_load_n(&hv_explore_seeded, __ATOMIC_RELAXED))
		return false;
	*seed = hv_explore_seed;
	return true;
}

void hv_explore_get_stats(struct hv_explore_stats *st)
{
	st->points = __atomic_load_n(&hv_xp_stats.points, __ATOMIC_RELAXED);
	st->yields = __atomic_load_n(&hv_xp_stats.yields, __ATOMIC_RELAXED);
	st->spins = __atomic_load_n(&hv_xp_stats.spins, __ATOMIC_RELAXED);
	st->sleeps = __atomic_load_n(&hv_xp_stats.sleeps, __ATOMIC_RELAXED);
}

/* XL_EXPLORE_SEED=N (decimal or 0x hex) turns the mode on at start-up. */
__attribute__((constructor)) static void hv_explore_from_env(void)
{
	const char *s = getenv("XL_EXPLORE_SEED");
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return;
	v = strtoull(s, &end, 0);
	if (*end) {
		fprintf(stderr, "XL_EXPLORE_SEED=%s: not a number, ignored\n",
			s);
		return;
	}
	hv_explore_set(true, v);
}
