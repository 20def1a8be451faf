// SPDX-License-Identifier: GPL-2.0
/*
 * hv domains: lifecycle, the guest arena (gfn = page index), the
 * shared_info page and accessors.  Follows xen/common/domain.c where a
 * rule applies (domain_shutdown() keeps the first reason).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hv-internal.h"
#include "hv-xs.h"

static pthread_mutex_t hv_registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hv_domain *hv_domains[HV_MAX_DOMAINS];

void hv_domain_ref(struct hv_domain *d)
{
	__atomic_fetch_add(&d->refcnt, 1, __ATOMIC_ACQ_REL);
}

void hv_domain_put(struct hv_domain *d)
{
	__atomic_fetch_sub(&d->refcnt, 1, __ATOMIC_ACQ_REL);
}

/*
 * rcu_lock_domain_by_any_id(): DOMID_SELF is the caller's domain; any
 * other id must name a live domain, else NULL (callers return -ESRCH).
 * The reference stands in for Xen's RCU read lock; drop it with
 * hv_domain_put().
 */
struct hv_domain *hv_domain_get_by_id(domid_t domid, struct hv_domain *cur)
{
	struct hv_domain *d = NULL;

	if (domid == DOMID_SELF) {
		if (cur)
			hv_domain_ref(cur);
		return cur;
	}
	if (domid == 0 || domid > HV_MAX_DOMAINS)
		return NULL;
	pthread_mutex_lock(&hv_registry_lock);
	d = hv_domains[domid - 1];
	if (d)
		hv_domain_ref(d);
	pthread_mutex_unlock(&hv_registry_lock);
	return d;
}

static void *hv_alloc_pages(size_t n)
{
	void *p = mmap(NULL, n * HV_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void hv_domain_free(struct hv_domain *d)
{
	unsigned int i;

	for (i = 0; i < HV_MAX_VCPUS; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		pthread_mutex_destroy(&v->lock);
		pthread_rwlock_destroy(&v->virq_lock);
	}
	hv_time_domain_destroy(d);
	hv_sched_domain_destroy(d);
	hv_evtchn_free_buckets(d);
	hv_gnttab_destroy(d);
	pthread_rwlock_destroy(&d->event_lock);
	if (d->arena)
		munmap(d->arena, (size_t)d->nr_pages * HV_PAGE_SIZE);
	if (d->shared_info)
		munmap(d->shared_info, HV_PAGE_SIZE);
	free(d);
}

static void hv_vcpu_setup(struct hv_domain *d, unsigned int id)
{
	struct hv_vcpu *v = &d->vcpus[id];

	v->domain = d;
	v->id = id;
	pthread_mutex_init(&v->lock, NULL);
	pthread_rwlock_init(&v->virq_lock, NULL);
	v->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t)d->domid << 32) ^ id;
	if (id < XEN_LEGACY_MAX_VCPUS)
		v->vcpu_info = &d->shared_info->vcpu_info[id];
	/*
	 * PVH: vcpu_info starts zeroed (evtchn_upcall_mask = 0): Xen hands
	 * out a cleared shared_info page (arch_domain_create ->
	 * share_xen_page_with_guest of a zeroed page); delivery is gated by
	 * the guest's own masking (IF) from then on.  PV: the domain builder
	 * masks every vCPU's upcall before the kernel starts
	 * (tools/libs/guest/xg_dom_x86.c shared_info_x86_64, and
	 * xen/arch/x86/pv/dom0_build.c for dom0: "evtchn_upcall_mask = 1"),
	 * and the kernel unmasks once its event callback is registered.
	 */
	if (v->vcpu_info && d->cfg.flavour == HV_FLAVOUR_PV)
		v->vcpu_info->evtchn_upcall_mask = 1;
}

struct hv_domain *hv_domain_create(const struct hv_domain_config *cfg, int *err)
{
	struct hv_domain *d;
	unsigned int i, slot;
	int rc = -XEN_EINVAL;

	if (!cfg || !cfg->vcpu_main || cfg->nr_vcpus < 1 ||
	    cfg->nr_vcpus > HV_MAX_VCPUS || cfg->flavour > HV_FLAVOUR_PV ||
	    cfg->max_evtchns > HV_MAX_EVTCHN_LIMIT)
		goto fail;

	hv_vcpu_install_signal();

	rc = -XEN_ENOMEM;
	d = calloc(1, sizeof(*d));
	if (!d)
		goto fail;
	d->cfg = *cfg;
	d->nr_vcpus = cfg->nr_vcpus;
	d->nr_pages = cfg->nr_pages ? cfg->nr_pages : HV_DEFAULT_PAGES;
	d->max_evtchn_port = cfg->max_evtchns ? cfg->max_evtchns :
						HV_DEFAULT_MAX_EVTCHNS;
	d->shinfo_gfn = -1;
	d->shutdown_code = -1;
	d->refcnt = 1;
	pthread_rwlock_init(&d->event_lock, NULL);
	if (hv_time_domain_init(d) || hv_sched_domain_init(d) ||
	    hv_gnttab_init(d)) {
		hv_domain_free(d);
		goto fail;
	}
	d->arena = hv_alloc_pages(d->nr_pages);
	d->shared_info = hv_alloc_pages(1);
	if (!d->arena || !d->shared_info) {
		hv_domain_free(d);
		goto fail;
	}

	pthread_mutex_lock(&hv_registry_lock);
	for (slot = 0; slot < HV_MAX_DOMAINS; slot++)
		if (!hv_domains[slot])
			break;
	if (slot == HV_MAX_DOMAINS) {
		pthread_mutex_unlock(&hv_registry_lock);
		hv_domain_free(d);
		rc = -XEN_ENOSPC;
		goto fail;
	}
	d->domid = slot + 1;
	for (i = 0; i < HV_MAX_VCPUS; i++)
		hv_vcpu_setup(d, i);
	rc = hv_evtchn_init(d);
	if (rc) {
		pthread_mutex_unlock(&hv_registry_lock);
		hv_domain_free(d);
		goto fail;
	}
	hv_domains[slot] = d;
	pthread_mutex_unlock(&hv_registry_lock);
	/* The toolstack's introduction to xenstored (hv/xenstore.c). */
	if (cfg->xenstore) {
		rc = hv_xs_introduce(d);
		if (rc) {
			hv_domain_destroy(d);
			goto fail;
		}
	}
	if (err)
		*err = 0;
	return d;

fail:
	if (err)
		*err = rc;
	return NULL;
}

/*
 * A restore builds a new domain, with a new domid (libxl picks a free
 * one): d takes the lowest free id other than its own.  -XEN_ENOSPC when
 * there is none.  The old id is free again afterwards.
 */
int hv_domain_renumber(struct hv_domain *d)
{
	unsigned int slot, old = d->domid - 1U;

	pthread_mutex_lock(&hv_registry_lock);
	for (slot = 0; slot < HV_MAX_DOMAINS; slot++)
		if (slot != old && !hv_domains[slot])
			break;
	if (slot == HV_MAX_DOMAINS) {
		pthread_mutex_unlock(&hv_registry_lock);
		return -XEN_ENOSPC;
	}
	hv_domains[slot] = d;
	hv_domains[old] = NULL;
	__atomic_store_n(&d->domid, (domid_t)(slot + 1), __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&hv_registry_lock);
	return 0;
}

void hv_domain_destroy(struct hv_domain *d)
{
	if (!d)
		return;
	pthread_mutex_lock(&hv_registry_lock);
	hv_domains[d->domid - 1] = NULL;
	pthread_mutex_unlock(&hv_registry_lock);

	/* kill_timer() of every vCPU timer (sched_destroy_vcpu). */
	hv_time_domain_stop(d);
	hv_sched_domain_stop(d);
	hv_vpt_domain_destroy(d); /* destroy_periodic_time() */

	/*
	 * evtchn_destroy(): close every port, so remote interdomain ends go
	 * back to unbound, then drop the FIFO state.
	 */
	hv_xs_release(d); /* before its store port goes */
	hv_evtchn_destroy(d);

	/* Wait for lookups that still hold a reference (RCU grace period). */
	while (__atomic_load_n(&d->refcnt, __ATOMIC_ACQUIRE) > 1)
		sched_yield();
	hv_domain_free(d);
}

uint16_t hv_domain_id(const struct hv_domain *d)
{
	/* Atomic: a restore renumbers the domain (hv_domain_renumber). */
	return __atomic_load_n(&d->domid, __ATOMIC_SEQ_CST);
}

unsigned int hv_domain_nr_vcpus(const struct hv_domain *d)
{
	return d->nr_vcpus;
}

/*
 * The toolstack's max_event_channels: Xen's d->max_evtchn_port
 * (domain_create() -> evtchn_init(d, config->max_evtchn_port)), the highest
 * port get_free_port() may hand out.  Ports are further limited by the ABI
 * (max_evtchns(): 4096 for 2-level, 2^17 for FIFO).
 */
int hv_domain_set_max_evtchns(struct hv_domain *d, unsigned int max)
{
	if (max > HV_MAX_EVTCHN_LIMIT)
		return -XEN_EINVAL;
	__atomic_store_n(&d->max_evtchn_port, max, __ATOMIC_RELEASE);
	return 0;
}

void hv_domain_set_faults(struct hv_domain *d, const struct hv_faults *f)
{
	__atomic_store_n(&d->faults.spurious_upcall_permille,
			 f ? f->spurious_upcall_permille : 0, __ATOMIC_RELAXED);
	__atomic_store_n(&d->faults.timer_early_ns, f ? f->timer_early_ns : 0,
			 __ATOMIC_RELAXED);
	__atomic_store_n(&d->faults.drop_kicks, f ? f->drop_kicks : 0,
			 __ATOMIC_RELAXED);
}

void hv_domain_set_evtchn_hook(struct hv_domain *d, hv_evtchn_hook_fn fn,
			       void *data)
{
	/* Data first: a caller that sees fn also sees its data. */
	__atomic_store_n(&d->evtchn_hook_data, data, __ATOMIC_RELEASE);
	__atomic_store_n(&d->evtchn_hook, fn, __ATOMIC_RELEASE);
}

void hv_domain_set_halt_poll_ns(struct hv_domain *d, uint64_t ns)
{
	__atomic_store_n(&d->halt_poll_ns, ns, __ATOMIC_RELAXED);
}

/* Every counter is a uint64_t: copy them all, each with a relaxed load. */
void hv_domain_get_stats(struct hv_domain *d, struct hv_domain_stats *st)
{
	const uint64_t *src = (const uint64_t *)&d->stats;
	uint64_t *dst = (uint64_t *)st;
	size_t i;

	_Static_assert(sizeof(*st) % sizeof(uint64_t) == 0,
		       "hv_domain_stats holds uint64_t counters only");
	for (i = 0; i < sizeof(*st) / sizeof(uint64_t); i++)
		dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

int hv_domain_shutdown_reason(const struct hv_domain *d)
{
	return __atomic_load_n(&d->shutdown_code, __ATOMIC_ACQUIRE);
}

void *hv_domain_arena(const struct hv_domain *d)
{
	return d->arena;
}

unsigned int hv_domain_nr_pages(const struct hv_domain *d)
{
	return d->nr_pages;
}

/*
 * gfn -> page.  The shared_info gfn (XENMEM_add_to_physmap) overrides the
 * arena page at that gfn, as the p2m entry is replaced in Xen.
 */
void *hv_gfn_to_virt(struct hv_domain *d, uint64_t gfn)
{
	int64_t sgfn = __atomic_load_n(&d->shinfo_gfn, __ATOMIC_ACQUIRE);

	if (sgfn >= 0 && (uint64_t)sgfn == gfn)
		return d->shared_info;
	if (gfn >= d->nr_pages)
		return NULL;
	return (char *)d->arena + gfn * HV_PAGE_SIZE;
}

int64_t hv_virt_to_gfn(const struct hv_domain *d, const void *va)
{
	uintptr_t p = (uintptr_t)va, a = (uintptr_t)d->arena;
	uintptr_t s = (uintptr_t)d->shared_info;

	if (p >= s && p < s + HV_PAGE_SIZE)
		return __atomic_load_n(&d->shinfo_gfn, __ATOMIC_ACQUIRE);
	if (p < a || p >= a + (uintptr_t)d->nr_pages * HV_PAGE_SIZE)
		return -1;
	return (int64_t)((p - a) >> HV_PAGE_SHIFT);
}

void hv_domain_set_guest(struct hv_domain *d, void *guest)
{
	__atomic_store_n(&d->guest, guest, __ATOMIC_RELEASE);
}

void *hv_domain_guest(const struct hv_domain *d)
{
	return __atomic_load_n(&d->guest, __ATOMIC_ACQUIRE);
}

struct hv_domain *hv_vcpu_domain(const struct hv_vcpu *v)
{
	return v->domain;
}

unsigned int hv_vcpu_id(const struct hv_vcpu *v)
{
	return v->id;
}

struct hv_vcpu *hv_domain_vcpu(struct hv_domain *d, unsigned int id)
{
	return id < d->nr_vcpus ? &d->vcpus[id] : NULL;
}

struct shared_info *hv_domain_shared_info(struct hv_domain *d)
{
	return d->shared_info;
}

int64_t hv_domain_shared_info_gfn(const struct hv_domain *d)
{
	return __atomic_load_n(&d->shinfo_gfn, __ATOMIC_ACQUIRE);
}
