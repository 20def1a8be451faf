// SPDX-License-Identifier: GPL-2.0
/*
 * xenlite grant table v1, the granting side (public/grant_table.h).
 *
 * Setup for an auto-translated (PVH/HVM) guest: GNTTABOP_query_size for the
 * limit, then one XENMEM_add_to_physmap(XENMAPSPACE_grant_table, idx = i)
 * per frame at a gfn the host gives (xl_os_grant_frames), then
 * GNTTABOP_setup_table, which for a translated guest reports the gfn each
 * frame is mapped at (Xen 4.17 gnttab_setup_table() -> gnttab_shared_gfn()
 * = mfn_to_gfn()): a check that the mappings took.  A classic PV guest has
 * no p2m in Xen (mfn_to_gfn() is the mfn): its host maps the machine
 * frames setup_table reports with its own page-table updates and says so
 * (XL_OS_GRANT_FRAMES_MAPPED, os.h), and the check is then that Xen still
 * reports those frames.
 *
 * Entry protocol, from the comment at the top of public/grant_table.h:
 *  - "Introducing a valid entry": write frame and domid, a write barrier,
 *    then flags with the valid type (GTF_permit_access);
 *  - "Invalidating an unused GTF_permit_access entry": observe that neither
 *    GTF_reading nor GTF_writing is set, and compare-exchange the flags to 0;
 *    no barrier is needed after it, reuse is control-dependent on the
 *    exchange's success.  Xen sets GTF_reading/GTF_writing while the peer
 *    maps the entry (_set_status_v1() in xen/common/grant_table.c, with a
 *    compare-exchange on the 32-bit flags+domid word) and clears them at the
 *    last unmap (reduce_status_for_pin()).
 * Linux's gnttab_end_foreign_access_ref_v1() (drivers/xen/grant-table.c)
 * has the same rule: refuse while mapped, never free a mapped ref.
 *
 * A ref that cannot be ended (mapped, or an entry that is not what we
 * granted) is never reused and its page never handed back: it waits on
 * the deferred list.  The core reclaims that list itself, as Linux's
 * gnttab_add_deferred() / gnttab_handle_deferred() do on a timer: every
 * time the free list runs dry (grant_access, any context: the oldest
 * XL_GNTTAB_RETRY_BATCH only, as it holds the lock with delivery masked)
 * and at every thread-context call that may free pages
 * (xl_gnttab_retry_deferred, all of them a batch per hold of the lock;
 * xl_gnttab_end_access_page).  A released ref is free at once; its page,
 * if it had one, goes to a list freed in thread context (xl_os_free_page
 * may sleep, os.h).
 *
 * Init and fini scrub the table: an entry a previous user left granted
 * (a leaked ref, a previous instance of the driver) is invalidated, and
 * one still mapped is kept off the free list (deferred) until the peer
 * unmaps it, so no ref is handed out while a peer can still map it.
 *
 * The header word: flags (u16) and domid (u16) are adjacent, flags first
 * (offset 0), so on little-endian x86 the 32-bit word Xen compare-exchanges
 * holds flags in bits 0-15 and domid in bits 16-31.
 */
#include <xenlite/gnttab.h>
#include <xenlite/hypercall.h>

_Static_assert(__builtin_offsetof(grant_entry_v1_t, flags) == 0 &&
		       __builtin_offsetof(grant_entry_v1_t, domid) == 2 &&
		       sizeof(grant_entry_v1_t) == 8,
	       "grant_entry_v1 layout: flags, domid, frame");

#define GT_NR_MAX (XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME)
#define GT_NONE 0xffffffffU
#define GT_BUSY_FLAGS (GTF_reading | GTF_writing)

enum { GT_RESERVED, GT_FREE, GT_USED, GT_DEFERRED };

static struct {
	xl_spinlock_t lock; /* lists, states, stats */
	bool ready;	    /* atomic */
	unsigned int nr_frames;
	unsigned int nr_refs; /* nr_frames * XL_GNTTAB_PER_FRAME */
	grant_entry_v1_t *frame[XL_GNTTAB_MAX_FRAMES];
	uint64_t gfn[XL_GNTTAB_MAX_FRAMES];
	uint32_t next[GT_NR_MAX];  /* free or deferred list link */
	uint32_t combo[GT_NR_MAX]; /* header word as granted */
	uint8_t state[GT_NR_MAX];
	void *page[GT_NR_MAX]; /* freed once a deferred ref is released */
	void *to_free;	       /* released pages, linked through word 0 */
	uint32_t free_head, nr_free;
	uint32_t def_head, def_tail, nr_deferred; /* oldest first */
	bool frozen;	/* xl_gnttab_suspend() .. xl_gnttab_resume() */
	bool host_maps; /* XL_OS_GRANT_FRAMES_MAPPED at init: a PV host */
	struct xl_gnttab_stats stats;
} gt;

static unsigned long gt_lock(void) XL_ACQUIRES(&gt.lock)
{
	return xl_spin_lock_irqsave(&gt.lock);
}

static void gt_unlock(unsigned long flags) XL_RELEASES(&gt.lock)
{
	xl_spin_unlock_irqrestore(&gt.lock, flags);
}

static long gt_op(unsigned int cmd, void *arg, unsigned int count)
{
	return xl_os_hypercall(__HYPERVISOR_grant_table_op, cmd,
			       (unsigned long)arg, count, 0, 0);
}

static grant_entry_v1_t *gt_entry(grant_ref_t ref)
{
	return &gt.frame[ref / XL_GNTTAB_PER_FRAME][ref % XL_GNTTAB_PER_FRAME];
}

/* The flags+domid word Xen compare-exchanges (see the head comment). */
static uint32_t *gt_hdr(grant_ref_t ref)
{
	return (uint32_t *)(void *)&gt_entry(ref)->flags;
}

static uint32_t gt_make_combo(uint16_t flags, domid_t domid)
{
	return (uint32_t)flags | ((uint32_t)domid << 16);
}

static bool gt_valid_ref(grant_ref_t ref)
{
	return ref >= GNTTAB_NR_RESERVED_ENTRIES && ref < gt.nr_refs;
}

static void gt_free_pages(void *pages);
static void gt_free_released(void);

/* --- setup ------------------------------------------------------------- */

static int gt_query(uint32_t *max_frames)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	long rc = gt_op(GNTTABOP_query_size, &q, 1);

	if (rc)
		return (int)rc;
	if (q.status != GNTST_okay) {
		xl_err("gnttab: query_size status %d", q.status);
		return -XEN_EINVAL;
	}
	*max_frames = q.max_nr_frames;
	return 0;
}

static int gt_map_frames(unsigned int nr)
{
	struct xen_add_to_physmap xatp;
	unsigned int i;
	long rc;

	for (i = 0; i < nr; i++) {
		xatp.domid = DOMID_SELF;
		xatp.size = 0;
		xatp.space = XENMAPSPACE_grant_table;
		xatp.idx = i;
		xatp.gpfn = gt.gfn[i];
		rc = xl_hc_memory_op(XENMEM_add_to_physmap, &xatp);
		if (rc) {
			xl_err("gnttab: add_to_physmap frame %u at gfn %#llx: %ld",
			       i, (unsigned long long)gt.gfn[i], rc);
			return (int)rc;
		}
	}
	return 0;
}

/*
 * GNTTABOP_setup_table reports where each frame is mapped: 0 if each is
 * at our gfn, -XEN_EIO if one is not (logged unless quiet: the resume's
 * probe expects that after a restore), else the hypercall's error.
 */
static int gt_frames_at(unsigned int nr, bool quiet)
{
	xen_pfn_t frames[XL_GNTTAB_MAX_FRAMES];
	struct gnttab_setup_table st;
	unsigned int i;
	long rc;

	st.dom = DOMID_SELF;
	st.nr_frames = nr;
	st.status = 0;
	set_xen_guest_handle(st.frame_list, frames);
	rc = gt_op(GNTTABOP_setup_table, &st, 1);
	if (rc)
		return (int)rc;
	if (st.status != GNTST_okay) {
		xl_err("gnttab: setup_table status %d", st.status);
		return -XEN_EINVAL;
	}
	for (i = 0; i < nr; i++) {
		if (frames[i] != gt.gfn[i]) {
			if (quiet)
				return -XEN_EIO;
			xl_err("gnttab: frame %u at gfn %#llx, Xen says %#llx",
			       i, (unsigned long long)gt.gfn[i],
			       (unsigned long long)frames[i]);
			return -XEN_EIO;
		}
	}
	return 0;
}

static int gt_check_setup(unsigned int nr)
{
	return gt_frames_at(nr, false);
}

/*
 * The deferred list is a queue, oldest first: a bounded retry looks at
 * the head and puts a ref still mapped back at the tail, so the next
 * retry looks at the next ones.  Under gt.lock.
 */
static void gt_def_append(uint32_t ref)
{
	gt.next[ref] = GT_NONE;
	if (gt.def_head == GT_NONE)
		gt.def_head = ref;
	else
		gt.next[gt.def_tail] = ref;
	gt.def_tail = ref;
	gt.nr_deferred++;
}

static uint32_t gt_def_pop(void)
{
	uint32_t ref = gt.def_head;

	gt.def_head = gt.next[ref];
	gt.nr_deferred--;
	return ref;
}

/*
 * Invalidate what a previous user left in the shared entries (public/
 * grant_table.h's invalidation rule: compare-exchange the header to
 * flags 0 while neither GTF_reading nor GTF_writing is set).  A ref still
 * mapped is kept off the free list: deferred, its header recorded as the
 * word to invalidate once Xen clears the busy flags.
 */
static void gt_scrub_entry(uint32_t ref)
{
	uint32_t *hdr = gt_hdr(ref), cur = xl_read32(hdr);

	while ((cur & 0xffff) && !(cur & GT_BUSY_FLAGS)) {
		uint32_t prev = xl_cmpxchg32(hdr, cur, cur & 0xffff0000U);

		/* Invalidated (cur has no busy flag): free, as below. */
		if (prev == cur)
			break;
		cur = prev;
	}
	if (!(cur & GT_BUSY_FLAGS)) {
		gt.state[ref] = GT_FREE;
		gt.next[ref] = gt.free_head;
		gt.free_head = ref;
		gt.nr_free++;
		return;
	}
	xl_warn("gnttab: ref %u still mapped by domain %u from before init: kept until unmapped",
		ref, cur >> 16);
	gt.combo[ref] = cur & ~(uint32_t)GT_BUSY_FLAGS;
	gt.page[ref] = NULL;
	gt.state[ref] = GT_DEFERRED;
	gt_def_append(ref);
}

static void gt_build_free_list(void)
{
	uint32_t ref;

	gt.free_head = GT_NONE;
	gt.nr_free = 0;
	gt.def_head = GT_NONE;
	gt.def_tail = GT_NONE;
	gt.nr_deferred = 0;
	gt.to_free = NULL;
	for (ref = 0; ref < gt.nr_refs; ref++)
		gt.state[ref] = GT_RESERVED;
	/* Highest first, so the lowest refs are handed out first. */
	for (ref = gt.nr_refs; ref-- > GNTTAB_NR_RESERVED_ENTRIES;)
		gt_scrub_entry(ref);
}

int xl_gnttab_init(void)
{
	void *va[XL_GNTTAB_MAX_FRAMES];
	uint32_t max_frames = 0;
	unsigned int nr, i;
	int rc;

	if (xl_read8((uint8_t *)&gt.ready))
		return -XEN_EEXIST;
	xl_spin_init(&gt.lock, "gt.lock");
	rc = gt_query(&max_frames);
	if (rc)
		return rc;
	nr = max_frames < XL_GNTTAB_MAX_FRAMES ? max_frames :
						 XL_GNTTAB_MAX_FRAMES;
	if (!nr) {
		xl_err("gnttab: Xen allows no grant frames");
		return -XEN_ENOSPC;
	}
	rc = xl_os_grant_frames(nr, gt.gfn, va);
	gt.host_maps = rc == XL_OS_GRANT_FRAMES_MAPPED;
	if (rc == 0)
		rc = gt_map_frames(nr);
	else if (gt.host_maps)
		rc = 0; /* a PV host mapped what setup_table gave it (os.h) */
	if (!rc)
		rc = gt_check_setup(nr);
	if (rc)
		return rc;
	for (i = 0; i < nr; i++)
		gt.frame[i] = va[i];
	gt.nr_frames = nr;
	gt.nr_refs = nr * XL_GNTTAB_PER_FRAME;
	__builtin_memset(&gt.stats, 0, sizeof(gt.stats));
	gt.frozen = false;
	gt_build_free_list();
	xl_info("gnttab: %u frames, %u refs", nr, gt.nr_refs);
	xl_write8((uint8_t *)&gt.ready, 1);
	return 0;
}

void xl_gnttab_fini(void)
{
	unsigned long flags;
	unsigned int used;
	void *pages;
	uint32_t ref;

	if (!xl_read8((uint8_t *)&gt.ready))
		return;
	flags = gt_lock();
	used = gt.nr_refs - GNTTAB_NR_RESERVED_ENTRIES - gt.nr_free;
	xl_write8((uint8_t *)&gt.ready, 0);
	pages = gt.to_free;
	gt.to_free = NULL;
	gt_unlock(flags);
	gt_free_pages(pages);
	if (!used)
		return;
	/* Leaked refs: invalidate what is not mapped (init does the rest). */
	for (ref = GNTTAB_NR_RESERVED_ENTRIES; ref < gt.nr_refs; ref++)
		if (gt.state[ref] == GT_USED || gt.state[ref] == GT_DEFERRED)
			xl_cmpxchg32(gt_hdr(ref), gt.combo[ref],
				     gt.combo[ref] & 0xffff0000U);
	xl_warn("gnttab: fini with %u refs not ended (%u deferred): invalidated unless mapped",
		used, gt.nr_deferred);
}

bool xl_gnttab_ready(void)
{
	return xl_read8((uint8_t *)&gt.ready);
}

/* --- save / restore (docs/save-restore.md) ------------------------------- */

/*
 * The freeze covers only the masked section around the hypercall, as
 * Linux's gnttab_suspend() / gnttab_resume() run inside xen_suspend()
 * under stop_machine() with interrupts off (drivers/xen/manage.c): no
 * handler and no other vCPU can grant or end while the table is frozen.
 * Frozen earlier, with delivery on, a completion's end answered
 * -XEN_EAGAIN and blkfront took the grant for one the backend still
 * mapped: the device broken (resume/blk/cancel_slow).
 */
int xl_gnttab_suspend(void)
{
	unsigned long flags;

	if (!xl_gnttab_ready())
		return 0;
	flags = gt_lock();
	gt.frozen = true;
	gt_unlock(flags);
	return 0;
}

/*
 * The entries as the new domain's table has them, under gt.lock.  What a
 * restore carries (Xen 4.17): nothing of the old table.  The new domain's
 * frames are cleared pages (xen/common/grant_table.c gnttab_grow_table():
 * clear_page()), in which the toolstack seeds only the reserved entries 0
 * and 1 (tools/libs/guest/xg_dom_boot.c xc_dom_gnttab_seed(), from
 * xg_sr_restore_x86_{hvm,pv}.c); a guest's own entries are not in the
 * saved stream.  Linux's gnttab_resume() (drivers/xen/grant-table.c)
 * only maps the frames again, and its frontends end their old refs and
 * grant again (blkfront_resume(), netfront's xennet_disconnect_backend()).
 *  - a used ref stays its owner's, but its entry is invalid now: the
 *    word to expect at its end becomes that (0), so the owner's
 *    xl_gnttab_end_access() succeeds; it is not granted again for it,
 *    as the domid it named may be another domain on the new host;
 *  - a deferred ref was mapped by a backend of the old domain: that
 *    mapping is the old domain's, the ref and its page are free;
 *  - every other entry is scrubbed as at init (a table that is not new
 *    is still handled: a mapped entry would be kept deferred).
 */
static void gt_reconcile_restored(void)
{
	uint32_t ref, cur;
	void *page;

	gt.free_head = GT_NONE;
	gt.nr_free = 0;
	gt.def_head = GT_NONE;
	gt.def_tail = GT_NONE;
	gt.nr_deferred = 0;
	for (ref = gt.nr_refs; ref-- > GNTTAB_NR_RESERVED_ENTRIES;) {
		switch (gt.state[ref]) {
		case GT_USED:
			cur = xl_read32(gt_hdr(ref));
			if (cur != gt.combo[ref] && !(cur & GT_BUSY_FLAGS) &&
			    !(cur & 0xffff)) {
				gt.combo[ref] = cur;
				gt.stats.restore_voided++;
			}
			continue;
		case GT_DEFERRED:
			page = gt.page[ref];
			gt_scrub_entry(ref);
			if (gt.state[ref] != GT_FREE) {
				gt.page[ref] = page; /* still mapped: kept */
				continue;
			}
			gt.stats.restore_released++;
			gt.page[ref] = NULL;
			if (page) {
				*(void **)page = gt.to_free;
				gt.to_free = page;
			}
			continue;
		default:
			gt_scrub_entry(ref);
			continue;
		}
	}
}

/*
 * A restored domain's frames are other frames (Xen 4.17: the new domain's
 * grant_table_init()), mapped again as at init.  A translated guest puts
 * them at its gfns again with add_to_physmap.  A PV host maps them itself
 * (os.h): add_to_physmap is refused to a PV domain (-EACCES from
 * xatp_permission_check(), xen/common/memory.c), so the host is asked
 * again and maps the machine frames setup_table reports now, as Linux's
 * gnttab_resume() -> gnttab_map() -> arch_gnttab_map_shared() does
 * (drivers/xen/grant-table.c, arch/x86/xen/grant-table.c).  The new
 * frame numbers and addresses are taken under gt.lock (frozen anyway).
 */
static int gt_remap_frames(void)
{
	void *va[XL_GNTTAB_MAX_FRAMES];
	uint64_t mfn[XL_GNTTAB_MAX_FRAMES];
	unsigned long flags;
	unsigned int i;
	int rc;

	if (!gt.host_maps)
		return gt_map_frames(gt.nr_frames);
	rc = xl_os_grant_frames(gt.nr_frames, mfn, va);
	if (rc != XL_OS_GRANT_FRAMES_MAPPED) {
		xl_err("gnttab: host did not map the restored frames: %d", rc);
		return rc < 0 ? rc : -XEN_EINVAL;
	}
	flags = gt_lock();
	for (i = 0; i < gt.nr_frames; i++) {
		gt.gfn[i] = mfn[i];
		gt.frame[i] = va[i];
	}
	gt_unlock(flags);
	return 0;
}

int xl_gnttab_resume(bool cancelled)
{
	unsigned long flags;
	int rc;

	if (!xl_gnttab_ready())
		return 0;
	/*
	 * The same domain (a cancel, also one that returned 0: an HVM/PVH
	 * guest without HVM_PARAM_CALLBACK_IRQ, docs/save-restore.md) still
	 * has its frames where we mapped them; a new domain's are mapped at
	 * no gfn (GNTTABOP_setup_table reports INVALID_M2P_ENTRY,
	 * gnttab_shared_gfn() -> mfn_to_gfn()): nothing to do then.
	 */
	if (!cancelled) {
		rc = gt_frames_at(gt.nr_frames, true);
		if (rc && rc != -XEN_EIO)
			return rc;
		cancelled = !rc;
	}
	if (!cancelled) {
		/* As at init (gt_remap_frames()), checked. */
		rc = gt_remap_frames();
		if (!rc)
			rc = gt_check_setup(gt.nr_frames);
		if (rc) {
			/* No table to write into: refuse every grant. */
			xl_write8((uint8_t *)&gt.ready, 0);
			return rc;
		}
	}
	flags = gt_lock();
	if (!cancelled) {
		gt_reconcile_restored();
		gt.stats.restores++;
	}
	gt.frozen = false;
	gt_unlock(flags);
	/*
	 * Delivery is masked here (see xl_gnttab_suspend()): the pages of
	 * released refs wait on gt.to_free for the next thread-context call
	 * (xl_gnttab_retry_deferred(), an end_access_page).
	 */
	return 0;
}

/* --- grant / end ------------------------------------------------------- */

/*
 * One attempt to invalidate ref (public/grant_table.h, "Invalidating an
 * unused GTF_permit_access entry").  The exchange expects exactly the word
 * we granted: it fails if Xen set GTF_reading/GTF_writing meanwhile.
 * 0, -XEN_EBUSY (mapped), -XEN_EIO (the entry changed under us: not
 * invalidated, so still valid for whoever it names; the caller must treat
 * it as mapped, never as ended).
 */
static int gt_try_invalidate(grant_ref_t ref)
{
	uint32_t want = gt.combo[ref], prev;

	prev = xl_cmpxchg32(gt_hdr(ref), want, want & 0xffff0000U);
	if (prev == want)
		return 0;
	if (prev & GT_BUSY_FLAGS)
		return -XEN_EBUSY;
	xl_err("gnttab: ref %u header %#x, granted as %#x: not ended", ref,
	       prev, want);
	return -XEN_EIO;
}

static void gt_push_free(grant_ref_t ref)
{
	gt.state[ref] = GT_FREE;
	gt.next[ref] = gt.free_head;
	gt.free_head = ref;
	gt.nr_free++;
	gt.stats.ended++;
}

/*
 * Release what the peer unmapped, looking at the max oldest deferred refs
 * (fewer if the list is shorter): a released ref goes back to the free
 * list at once (any context), its page, if any, to gt.to_free (linked
 * through its first word: it is ours again) for a thread-context caller
 * to free; one still mapped goes back at the tail.  Bounded because it
 * runs under gt.lock with event delivery masked, possibly from a
 * handler (grant_access).  Returns the refs still deferred.
 */
static unsigned int gt_retry_deferred_locked(unsigned int max)
{
	uint32_t ref;

	/* Suspended: the entries may be in no table now (resume decides). */
	if (gt.frozen)
		return gt.nr_deferred;
	if (max > gt.nr_deferred)
		max = gt.nr_deferred;
	while (max--) {
		ref = gt_def_pop();
		gt.stats.deferred_visited++;
		if (gt_try_invalidate(ref) != 0) {
			gt_def_append(ref);
			continue;
		}
		gt.stats.deferred_released++;
		if (gt.page[ref]) {
			*(void **)gt.page[ref] = gt.to_free;
			gt.to_free = gt.page[ref];
			gt.page[ref] = NULL;
		}
		gt_push_free(ref);
	}
	return gt.nr_deferred;
}

static void gt_free_pages(void *pages)
{
	while (pages) {
		void *next = *(void **)pages;

		xl_os_free_page(pages);
		pages = next;
	}
}

/* Thread context: free the pages released so far. */
static void gt_free_released(void)
{
	unsigned long flags;
	void *pages;

	flags = gt_lock();
	pages = gt.to_free;
	gt.to_free = NULL;
	gt_unlock(flags);
	gt_free_pages(pages);
}

int xl_gnttab_grant_access(domid_t domid, uint64_t gfn, bool readonly,
			   grant_ref_t *ref)
{
	uint16_t fl = GTF_permit_access | (readonly ? GTF_readonly : 0);
	grant_entry_v1_t *e;
	unsigned long flags;
	uint32_t r;

	if (!xl_gnttab_ready())
		return -XEN_ENODEV;
	if (gfn > 0xffffffffULL)
		return -XEN_EINVAL; /* v1 frame is 32 bits */
	flags = gt_lock();
	if (gt.frozen) {
		gt_unlock(flags);
		return -XEN_EAGAIN;
	}
	/* One batch at most: delivery is masked (see the function). */
	if (!gt.nr_free && gt.nr_deferred)
		gt_retry_deferred_locked(XL_GNTTAB_RETRY_BATCH);
	if (!gt.nr_free) {
		gt.stats.exhausted++;
		gt_unlock(flags);
		return -XEN_ENOSPC;
	}
	r = gt.free_head;
	gt.free_head = gt.next[r];
	gt.nr_free--;
	gt.state[r] = GT_USED;
	gt.combo[r] = gt_make_combo(fl, domid);
	gt.stats.granted++;
	gt_unlock(flags);

	e = gt_entry(r);
	xl_write32(&e->frame, (uint32_t)gfn);
	xl_write16(&e->domid, domid);
	/*
	 * public/grant_table.h: "Write ent->domid / ent->frame; Write memory
	 * barrier (WMB); Write ent->flags": Xen must never see a valid type
	 * with a stale frame or domid.
	 */
	xl_wmb();
	xl_write16(&e->flags, fl);
	*ref = r;
	return 0;
}

/*
 * One locked section: the state check, the invalidation attempt (a
 * compare-exchange on the shared entry, cheap) and the free-list push.
 */
int xl_gnttab_end_access(grant_ref_t ref)
{
	unsigned long flags;
	int st, rc;

	if (!xl_gnttab_ready() || !gt_valid_ref(ref))
		return -XEN_EINVAL;
	flags = gt_lock();
	st = gt.state[ref];
	if (st != GT_USED) {
		gt_unlock(flags);
		xl_err("gnttab: end_access of ref %u not granted (state %d)",
		       ref, st);
		return -XEN_EINVAL;
	}
	if (gt.frozen) {
		/* Which table the entry is in is not known until resume. */
		gt_unlock(flags);
		return -XEN_EAGAIN;
	}
	rc = gt_try_invalidate(ref);
	if (!rc)
		gt_push_free(ref);
	else if (rc == -XEN_EBUSY)
		gt.stats.busy++;
	gt_unlock(flags);
	return rc;
}

/*
 * End now, or defer: anything but a bad ref (-XEN_EINVAL) that did not
 * end (mapped, -XEN_EBUSY, or an entry not as granted, -XEN_EIO) leaves
 * the ref valid in the shared table, so it must not be reused nor its
 * page handed back.
 */
static int gt_end_deferred(grant_ref_t ref, void *page)
{
	unsigned long flags;
	int rc = xl_gnttab_end_access(ref);

	if (rc == 0 || rc == -XEN_EINVAL)
		return rc;
	flags = gt_lock();
	gt.page[ref] = page;
	gt.state[ref] = GT_DEFERRED;
	gt_def_append(ref);
	gt.stats.deferred++;
	gt_unlock(flags);
	return 1;
}

int xl_gnttab_end_access_deferred(grant_ref_t ref)
{
	return gt_end_deferred(ref, NULL);
}

int xl_gnttab_end_access_defer_page(grant_ref_t ref, void *page)
{
	return gt_end_deferred(ref, page);
}

int xl_gnttab_end_access_page(grant_ref_t ref, void *page)
{
	int rc = gt_end_deferred(ref, page);

	if (rc == 0)
		xl_os_free_page(page);
	gt_free_released();
	return rc;
}

/*
 * Thread context: look at every ref deferred now once, a batch per hold
 * of the lock, so delivery is masked for one batch at a time.
 */
unsigned int xl_gnttab_retry_deferred(void)
{
	unsigned int left, batch, n;
	unsigned long flags;

	if (!xl_gnttab_ready())
		return 0;
	flags = gt_lock();
	left = gt.nr_deferred;
	n = left;
	gt_unlock(flags);
	while (left) {
		batch = left < XL_GNTTAB_RETRY_BATCH ? left :
						       XL_GNTTAB_RETRY_BATCH;
		left -= batch;
		flags = gt_lock();
		n = gt_retry_deferred_locked(batch);
		gt_unlock(flags);
	}
	gt_free_released();
	return n;
}

bool xl_gnttab_is_deferred(grant_ref_t ref)
{
	unsigned long flags;
	bool d;

	if (!xl_gnttab_ready() || !gt_valid_ref(ref))
		return false;
	flags = gt_lock();
	d = gt.state[ref] == GT_DEFERRED;
	gt_unlock(flags);
	return d;
}

bool xl_gnttab_is_mapped(grant_ref_t ref)
{
	if (!xl_gnttab_ready() || !gt_valid_ref(ref))
		return false;
	return xl_read32(gt_hdr(ref)) & GT_BUSY_FLAGS;
}

unsigned int xl_gnttab_nr_refs(void)
{
	return xl_gnttab_ready() ? gt.nr_refs - GNTTAB_NR_RESERVED_ENTRIES : 0;
}

unsigned int xl_gnttab_nr_free(void)
{
	unsigned long flags;
	unsigned int n;

	flags = gt_lock();
	n = gt.nr_free;
	gt_unlock(flags);
	return n;
}

unsigned int xl_gnttab_nr_deferred(void)
{
	unsigned long flags;
	unsigned int n;

	flags = gt_lock();
	n = gt.nr_deferred;
	gt_unlock(flags);
	return n;
}

void xl_gnttab_get_stats(struct xl_gnttab_stats *st)
{
	unsigned long flags = gt_lock();

	*st = gt.stats;
	gt_unlock(flags);
}
