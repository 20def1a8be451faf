// SPDX-License-Identifier: GPL-2.0
/*
 * hv grant tables, v1: GNTTABOP_query_size, GNTTABOP_setup_table, the
 * XENMAPSPACE_grant_table case of XENMEM_add_to_physmap, and the mapping
 * side for hv's in-process backends, which act as domain 0.  Follows
 * xen/common/grant_table.c of RELEASE-4.17.0: gnttab_query_size(),
 * gnttab_setup_table(), gnttab_grow_table(), gnttab_map_frame() /
 * gnttab_get_shared_frame_mfn(), map_grant_ref() with _set_status_v1(),
 * unmap_common_complete() with reduce_status_for_pin().
 *
 * Where hv differs: Xen's frames are Xen heap pages that exist from
 * gnttab_grow_table() on and appear at whatever gfn the guest maps them.
 * hv has no memory outside the guest's arena, so a frame's storage is the
 * arena page at the gfn the guest mapped it at (hv records the gfn): the
 * page is cleared at the first mapping (a new Xen frame is cleared) and its
 * contents follow the frame when the guest maps it elsewhere.  A ref in a
 * frame the guest never mapped cannot be read by hv: mapping it fails with
 * GNTST_bad_gntref (Xen would read the untouched, all-zero entry and fail
 * with GNTST_general_error, "Bad flags").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv-internal.h"
#include "hv-blk.h"

#include <xen/grant_table.h>

/* opt_max_grant_frames = 64; INITIAL_NR_GRANT_FRAMES = 1 (asm/grant_table.h). */
#define HV_GNT_MAX_FRAMES 64U
#define HV_GNT_INITIAL_FRAMES 1U
#define HV_GNT_PER_FRAME (HV_PAGE_SIZE / sizeof(grant_entry_v1_t))
#define HV_GNT_MAX_REFS (HV_GNT_MAX_FRAMES * HV_GNT_PER_FRAME)
/* mfn_to_gfn() of a frame that is in no p2m: INVALID_M2P_ENTRY. */
#define HV_INVALID_GFN (~(xen_pfn_t)0)
/*
 * hv's machine frame numbers of a PV domain's grant frames: outside any
 * arena (gfn = page index), a new number for each table (epoch), as a
 * restored domain's frames are other machine pages.
 */
#define HV_PV_MFN_BASE 0x40000000ULL

/* Xen's struct active_grant_entry, the part v1 needs. */
struct hv_gnt_active {
	uint32_t pin_ro; /* GNTPIN_hstr: read-only host mappings */
	uint32_t pin_rw; /* GNTPIN_hstw: writable host mappings */
	uint64_t gfn;	 /* act->frame, read at the first pin */
};

struct hv_gnttab {
	/* grant_write_lock and every active entry's lock in one. */
	pthread_mutex_t lock;
	unsigned int nr_frames;		/* nr_grant_frames() */
	int64_t gfn[HV_GNT_MAX_FRAMES]; /* where the guest mapped each, -1 */
	/*
	 * A classic PV domain (hv_is_pv): no p2m to map a frame into
	 * (add_to_physmap is refused, memory.c), so each frame has storage
	 * of its own, Xen's shared page (gnttab_create_shared_page), that
	 * the guest maps by machine frame (hv_gnttab_pv_frame).  Allocated
	 * at the first growth to it, kept for the domain's life.
	 */
	void *pv_frame[HV_GNT_MAX_FRAMES];
	struct hv_gnt_active *active;		   /* HV_GNT_MAX_REFS entries */
	uint64_t maps, unmaps, map_errors, mapped; /* under lock */
	/*
	 * A restore makes a new domain (hv_gnttab_restore_reset): its
	 * table is a new one, and a mapping a backend still holds of the
	 * old domain's grant pins nothing in it.  epoch counts the tables,
	 * each mapping records the one it pinned; stale counts the old
	 * tables' mappings not yet unmapped.  Under lock.
	 */
	uint32_t epoch;
	uint64_t stale;
	hv_gnttab_hook_fn hook; /* atomic */
	void *hook_data;	/* atomic */
};

static void hv_gnttab_grow(struct hv_domain *d, unsigned int req);

int hv_gnttab_init(struct hv_domain *d)
{
	struct hv_gnttab *gt = calloc(1, sizeof(*gt));
	unsigned int i;

	if (!gt)
		return -XEN_ENOMEM;
	gt->active = calloc(HV_GNT_MAX_REFS, sizeof(*gt->active));
	if (!gt->active) {
		free(gt);
		return -XEN_ENOMEM;
	}
	pthread_mutex_init(&gt->lock, NULL);
	for (i = 0; i < HV_GNT_MAX_FRAMES; i++)
		gt->gfn[i] = -1;
	d->gnttab = gt;
	/* grant_table_init() -> gnttab_grow_table(d, 0): one frame. */
	hv_gnttab_grow(d, HV_GNT_INITIAL_FRAMES);
	if (!gt->nr_frames) {
		hv_gnttab_destroy(d);
		return -XEN_ENOMEM;
	}
	return 0;
}

void hv_gnttab_destroy(struct hv_domain *d)
{
	struct hv_gnttab *gt = d->gnttab;
	unsigned int i;

	if (!gt)
		return;
	if (gt->mapped)
		fprintf(stderr, "# hv: d%u destroyed with %llu grants mapped\n",
			d->domid, (unsigned long long)gt->mapped);
	pthread_mutex_destroy(&gt->lock);
	for (i = 0; i < HV_GNT_MAX_FRAMES; i++)
		free(gt->pv_frame[i]);
	free(gt->active);
	free(gt);
	d->gnttab = NULL;
}

/*
 * gnttab_grow_table(): under gt->lock.  A translated domain's frames are
 * storage-less here (the arena page they are mapped at); a PV domain's
 * get cleared pages (clear_page() in gnttab_grow_table()), or the growth
 * stops short, as Xen's does when an allocation fails.
 */
static void hv_gnttab_grow(struct hv_domain *d, unsigned int req)
{
	struct hv_gnttab *gt = d->gnttab;

	if (req < HV_GNT_INITIAL_FRAMES)
		req = HV_GNT_INITIAL_FRAMES;
	if (req > HV_GNT_MAX_FRAMES)
		return;
	if (hv_is_pv(d)) {
		for (; gt->nr_frames < req; gt->nr_frames++) {
			void **f = &gt->pv_frame[gt->nr_frames];

			if (!*f)
				*f = aligned_alloc(HV_PAGE_SIZE, HV_PAGE_SIZE);
			if (!*f)
				return;
			memset(*f, 0, HV_PAGE_SIZE);
		}
		return;
	}
	if (req > gt->nr_frames)
		gt->nr_frames = req;
}

/* Under gt->lock: the machine frame of a PV domain's frame idx. */
static xen_pfn_t hv_gnttab_pv_mfn(const struct hv_gnttab *gt, unsigned int idx)
{
	return (xen_pfn_t)(HV_PV_MFN_BASE +
			   (uint64_t)gt->epoch * HV_GNT_MAX_FRAMES + idx);
}

/*
 * A PV guest's page-table update that maps machine frame mfn, as far as
 * a grant frame goes: Xen allows it for a frame shared with the domain
 * (get_page_from_l1e(): share_xen_page_with_guest() made the domain its
 * owner).  hv has no page tables: the frame's storage, or NULL if mfn is
 * not one of d's current grant frames.
 */
void *hv_gnttab_pv_frame(struct hv_domain *d, uint64_t mfn)
{
	struct hv_gnttab *gt = d->gnttab;
	void *va = NULL;
	unsigned int i;

	if (!hv_is_pv(d))
		return NULL;
	pthread_mutex_lock(&gt->lock);
	for (i = 0; i < gt->nr_frames; i++)
		if (hv_gnttab_pv_mfn(gt, i) == mfn)
			va = gt->pv_frame[i];
	pthread_mutex_unlock(&gt->lock);
	return va;
}

/*
 * XENMAPSPACE_grant_table (xenmem_add_to_physmap_one -> gnttab_map_frame
 * -> gnttab_get_shared_frame_mfn): an index past the current size grows
 * the table to idx + 1 if that is within the limit, else -EINVAL.  v1 has
 * no status frames: XENMAPIDX_grant_table_status makes idx huge, -EINVAL.
 */
int hv_gnttab_map_frame(struct hv_domain *d, unsigned long idx, uint64_t gpfn)
{
	struct hv_gnttab *gt = d->gnttab;
	void *newp, *oldp = NULL;
	unsigned int i;
	int rc = 0;

	newp = hv_gfn_to_virt(d, gpfn);
	/* hv: no page outside the arena; shared_info's gfn is not replaced. */
	if (!newp || gpfn >= d->nr_pages ||
	    (int64_t)gpfn == hv_domain_shared_info_gfn(d))
		return -XEN_EINVAL;
	pthread_mutex_lock(&gt->lock);
	if (idx >= gt->nr_frames && idx < HV_GNT_MAX_FRAMES)
		hv_gnttab_grow(d, (unsigned int)idx + 1);
	if (idx >= gt->nr_frames) {
		rc = -XEN_EINVAL;
		goto out;
	}
	if (gt->gfn[idx] == (int64_t)gpfn)
		goto out;
	if (gt->gfn[idx] >= 0)
		oldp = hv_gfn_to_virt(d, (uint64_t)gt->gfn[idx]);
	/* The p2m entry is replaced: another frame at gpfn is unmapped. */
	for (i = 0; i < HV_GNT_MAX_FRAMES; i++)
		if (gt->gfn[i] == (int64_t)gpfn)
			gt->gfn[i] = -1;
	if (oldp)
		memcpy(newp, oldp, HV_PAGE_SIZE); /* the same frame, moved */
	else
		memset(newp, 0, HV_PAGE_SIZE); /* a new frame is cleared */
	__atomic_store_n(&gt->gfn[idx], (int64_t)gpfn, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&gt->lock);
	return rc;
}

/* --- hypercalls -------------------------------------------------------- */

/* xsm_grant_query_size / xsm_grant_setup (XSM_TARGET): only oneself. */
static struct hv_domain *hv_gnttab_target(struct hv_vcpu *v, domid_t dom,
					  int16_t *status)
{
	struct hv_domain *d = hv_domain_get_by_id(dom, v->domain);

	if (!d) {
		*status = GNTST_bad_domain;
		return NULL;
	}
	if (d != v->domain) {
		hv_domain_put(d);
		*status = GNTST_permission_denied;
		return NULL;
	}
	return d;
}

static long hv_gnttab_query_size(struct hv_vcpu *v, void *arg,
				 unsigned int count)
{
	struct gnttab_query_size op;
	struct hv_domain *d;

	if (count != 1)
		return -XEN_EINVAL;
	if (!arg)
		return -XEN_EFAULT;
	memcpy(&op, arg, sizeof(op));
	d = hv_gnttab_target(v, op.dom, &op.status);
	if (d) {
		pthread_mutex_lock(&d->gnttab->lock);
		op.nr_frames = d->gnttab->nr_frames;
		op.max_nr_frames = HV_GNT_MAX_FRAMES;
		op.status = GNTST_okay;
		pthread_mutex_unlock(&d->gnttab->lock);
		hv_domain_put(d);
	}
	memcpy(arg, &op, sizeof(op));
	return 0;
}

/*
 * gnttab_setup_table(): too many frames -> GNTST_general_error; grow as
 * asked; each frame's gfn is gnttab_shared_gfn() = mfn_to_gfn(), for a
 * translated guest where it mapped the frame, INVALID_M2P_ENTRY if it did
 * not.  Only the status field is copied back besides the frame list.
 */
static long hv_gnttab_setup_table(struct hv_vcpu *v, void *arg,
				  unsigned int count)
{
	struct gnttab_setup_table op;
	struct hv_gnttab *gt;
	struct hv_domain *d;
	xen_pfn_t *list;
	unsigned int i;

	if (count != 1)
		return -XEN_EINVAL;
	if (!arg)
		return -XEN_EFAULT;
	memcpy(&op, arg, sizeof(op));
	list = op.frame_list.p;
	if (op.nr_frames && !list)
		return -XEN_EFAULT; /* guest_handle_okay() */
	d = hv_gnttab_target(v, op.dom, &op.status);
	if (!d)
		goto out;
	gt = d->gnttab;
	pthread_mutex_lock(&gt->lock);
	hv_gnttab_grow(d, op.nr_frames);
	if (op.nr_frames > gt->nr_frames) {
		op.status = GNTST_general_error;
	} else {
		op.status = GNTST_okay;
		for (i = 0; i < op.nr_frames; i++)
			if (hv_is_pv(d)) /* mfn_to_gfn(): the mfn itself */
				list[i] = hv_gnttab_pv_mfn(gt, i);
			else
				list[i] = gt->gfn[i] >= 0 ?
						  (xen_pfn_t)gt->gfn[i] :
						  HV_INVALID_GFN;
	}
	pthread_mutex_unlock(&gt->lock);
	hv_domain_put(d);
out:
	((struct gnttab_setup_table *)arg)->status = op.status;
	return 0;
}

/*
 * do_grant_table_op(): the other commands (map/unmap by a guest, copy,
 * transfer, v2) are not modelled: no guest of hv is a backend.
 */
static long hv_gnttab_op(struct hv_vcpu *v, unsigned int cmd, void *arg,
			 unsigned int count)
{
	if ((int)count < 0)
		return -XEN_EINVAL;
	switch (cmd) {
	case GNTTABOP_query_size:
		return hv_gnttab_query_size(v, arg, count);
	case GNTTABOP_setup_table:
		return hv_gnttab_setup_table(v, arg, count);
	default:
		return -XEN_ENOSYS;
	}
}

void hv_gnttab_set_hook(struct hv_domain *d, hv_gnttab_hook_fn fn, void *data)
{
	__atomic_store_n(&d->gnttab->hook_data, data, __ATOMIC_RELEASE);
	__atomic_store_n(&d->gnttab->hook, fn, __ATOMIC_RELEASE);
}

/* The hypercall, with hv_gnttab_set_hook()'s hook around it. */
long hv_do_grant_table_op(struct hv_vcpu *v, unsigned int cmd, void *arg,
			  unsigned int count)
{
	struct hv_gnttab *gt = v->domain->gnttab;
	hv_gnttab_hook_fn fn = __atomic_load_n(&gt->hook, __ATOMIC_ACQUIRE);
	void *data;
	long rc;

	if (!fn)
		return hv_gnttab_op(v, cmd, arg, count);
	data = __atomic_load_n(&gt->hook_data, __ATOMIC_ACQUIRE);
	rc = fn(cmd, arg, false, 0, data);
	if (rc)
		return rc;
	rc = hv_gnttab_op(v, cmd, arg, count);
	fn(cmd, arg, true, rc, data);
	return rc;
}

/* --- mapping for hv's backends (domain 0) --------------------------------- */

/* Under gt->lock: the shared entry of ref, NULL if its frame is unmapped. */
static grant_entry_v1_t *hv_gnt_entry(struct hv_domain *d, grant_ref_t ref)
{
	int64_t gfn = d->gnttab->gfn[ref / HV_GNT_PER_FRAME];
	grant_entry_v1_t *f;

	if (hv_is_pv(d)) {
		if (ref / HV_GNT_PER_FRAME >= d->gnttab->nr_frames)
			return NULL;
		f = d->gnttab->pv_frame[ref / HV_GNT_PER_FRAME];
		return f ? &f[ref % HV_GNT_PER_FRAME] : NULL;
	}
	if (gfn < 0)
		return NULL;
	f = hv_gfn_to_virt(d, (uint64_t)gfn);
	return f ? &f[ref % HV_GNT_PER_FRAME] : NULL;
}

/* flags in bits 0-15, domid in 16-31 of the header word (little endian). */
static uint32_t *hv_gnt_hdr(grant_entry_v1_t *e)
{
	return (uint32_t *)(void *)&e->flags;
}

/*
 * _set_status_v1(): set GTF_reading (and GTF_writing for a writable
 * mapping) with a compare-exchange on the flags+domid word, checking, when
 * the entry is not pinned yet, that it is GTF_permit_access (without
 * GTF_sub_page: this is a mapping) for ldomid, and refusing a writable pin
 * of a GTF_readonly entry.  Five failed exchanges: "Shared grant entry is
 * unstable", GNTST_general_error.
 */
static int hv_gnt_set_status(grant_entry_v1_t *e,
			     const struct hv_gnt_active *act, bool readonly,
			     domid_t ldomid)
{
	uint16_t mask = GTF_type_mask | GTF_sub_page;
	uint32_t *raw = hv_gnt_hdr(e);
	uint32_t cur = __atomic_load_n(raw, __ATOMIC_ACQUIRE), nw;
	bool pinned = act->pin_ro || act->pin_rw;
	int retries = 0;

	for (;;) {
		uint16_t flags = cur & 0xffff, domid = cur >> 16;

		if (!pinned &&
		    ((flags & mask) != GTF_permit_access || domid != ldomid))
			return GNTST_general_error; /* "Bad flags or dom" */
		nw = cur | GTF_reading;
		if (!readonly) {
			nw |= GTF_writing;
			if (flags & GTF_readonly)
				return GNTST_general_error; /* write-pin r/o */
		}
		if (__atomic_compare_exchange_n(raw, &cur, nw, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return GNTST_okay;
		if (retries++ == 4)
			return GNTST_general_error; /* unstable */
	}
}

/* reduce_status_for_pin(): clear what no pin needs any more. */
static void hv_gnt_reduce_status(grant_entry_v1_t *e,
				 const struct hv_gnt_active *act, bool readonly)
{
	uint32_t clear = (act->pin_ro || act->pin_rw) ? 0 : GTF_reading;

	if (!readonly && !act->pin_rw)
		clear |= GTF_writing;
	if (clear && e)
		__atomic_fetch_and(hv_gnt_hdr(e), ~clear, __ATOMIC_SEQ_CST);
}

/*
 * map_grant_ref() for a host mapping by domain 0: "Bad ref" for a ref past
 * the table; _set_status_v1() when the entry is not pinned yet or a
 * writable pin is added to read-only ones; at the first pin the frame is
 * read (after the status is set, so the granter can no longer change it
 * unnoticed) and must be a page of the granter, else the status is undone
 * and the map fails (get_paged_frame()).
 */
int hv_gnttab_map(struct hv_domain *d, grant_ref_t ref, bool readonly,
		  struct hv_grant_map *m)
{
	struct hv_gnttab *gt = d->gnttab;
	struct hv_gnt_active *act;
	grant_entry_v1_t *e;
	bool first;
	void *page;
	int rc = GNTST_okay;

	memset(m, 0, sizeof(*m));
	pthread_mutex_lock(&gt->lock);
	if (ref >= gt->nr_frames * HV_GNT_PER_FRAME ||
	    !(e = hv_gnt_entry(d, ref))) {
		rc = GNTST_bad_gntref;
		goto out;
	}
	act = &gt->active[ref];
	first = !act->pin_ro && !act->pin_rw;
	if (first || (!readonly && !act->pin_rw)) {
		rc = hv_gnt_set_status(e, act, readonly, 0);
		if (rc)
			goto out;
	}
	if (first)
		act->gfn = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
	page = hv_gfn_to_virt(d, act->gfn);
	if (!page || act->gfn >= d->nr_pages) {
		hv_gnt_reduce_status(e, act, readonly);
		rc = GNTST_general_error; /* "Could not pin grant frame" */
		goto out;
	}
	if (readonly)
		act->pin_ro++;
	else
		act->pin_rw++;
	gt->maps++;
	gt->mapped++;
	m->d = d;
	m->ref = ref;
	m->readonly = readonly;
	m->epoch = gt->epoch;
	m->va = page;
out:
	if (rc)
		gt->map_errors++;
	pthread_mutex_unlock(&gt->lock);
	return rc;
}

/* unmap_common() + unmap_common_complete(): drop the pin, reduce status. */
void hv_gnttab_unmap(struct hv_grant_map *m)
{
	struct hv_gnttab *gt;
	struct hv_gnt_active *act;

	if (!m || !m->va)
		return;
	gt = m->d->gnttab;
	pthread_mutex_lock(&gt->lock);
	if (m->epoch != gt->epoch) {
		/* The old domain's grant: nothing of it in this table. */
		gt->stale--;
		gt->unmaps++;
		pthread_mutex_unlock(&gt->lock);
		m->va = NULL;
		return;
	}
	act = &gt->active[m->ref];
	if (m->readonly)
		act->pin_ro--;
	else
		act->pin_rw--;
	hv_gnt_reduce_status(hv_gnt_entry(m->d, m->ref), act, m->readonly);
	gt->unmaps++;
	gt->mapped--;
	pthread_mutex_unlock(&gt->lock);
	m->va = NULL;
}

void hv_gnttab_get_stats(struct hv_domain *d, struct hv_gnttab_stats *st)
{
	struct hv_gnttab *gt = d->gnttab;

	pthread_mutex_lock(&gt->lock);
	st->maps = gt->maps;
	st->unmaps = gt->unmaps;
	st->map_errors = gt->map_errors;
	st->mapped = gt->mapped;
	st->nr_frames = gt->nr_frames;
	st->stale = gt->stale;
	pthread_mutex_unlock(&gt->lock);
}

/*
 * The new domain's grant table at a restore (hv/suspend.c).  Xen 4.17:
 * the new domain's grant_table_init() -> gnttab_grow_table(d, 0) gives
 * one frame of cleared Xen heap pages (clear_page(gt->shared_raw[i])),
 * mapped at no gfn: the toolstack maps frame 0 at a scratch gfn only to
 * seed the reserved entries 0 and 1 (console, xenstore) and removes it
 * again (tools/libs/guest/xg_dom_boot.c compat_gnttab_hvm_seed(), called
 * from xg_sr_restore_x86_hvm.c x86_hvm_stream_complete() ->
 * xc_dom_gnttab_seed(); PV likewise from xg_sr_restore_x86_pv.c).  No
 * entry of the old table is carried: the guest maps the frames again
 * (Linux drivers/xen/grant-table.c gnttab_resume() -> gnttab_setup() ->
 * gnttab_map()) and its drivers grant again.  The old domain's grants
 * that a backend still maps stay the old domain's (its pages are kept
 * alive by the mapping, evtchn-style, until the backend unmaps), so here
 * they only count as stale until hv_gnttab_unmap().
 *
 * hv: the seeding of the reserved entries is not modelled (not at a
 * domain build either: no guest of hv uses them); the frames' storage is
 * the arena page where the guest maps them, cleared at that mapping as
 * for a new domain (hv_gnttab_map_frame with gfn[] reset).
 */
void hv_gnttab_restore_reset(struct hv_domain *d)
{
	struct hv_gnttab *gt = d->gnttab;
	unsigned int i;

	pthread_mutex_lock(&gt->lock);
	gt->epoch++;
	gt->stale += gt->mapped;
	gt->mapped = 0;
	gt->nr_frames = HV_GNT_INITIAL_FRAMES;
	for (i = 0; i < HV_GNT_MAX_FRAMES; i++) {
		__atomic_store_n(&gt->gfn[i], -1, __ATOMIC_RELEASE);
		/* PV: other machine frames (new mfns by epoch), cleared. */
		if (gt->pv_frame[i])
			memset(gt->pv_frame[i], 0, HV_PAGE_SIZE);
	}
	memset(gt->active, 0, HV_GNT_MAX_REFS * sizeof(*gt->active));
	pthread_mutex_unlock(&gt->lock);
}
