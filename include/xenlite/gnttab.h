/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenlite grant table, v1 (public/grant_table.h): the guest side that
 * grants a peer access to its pages.
 *
 * xl_gnttab_init() asks Xen for the table size (GNTTABOP_query_size), maps
 * the frames into the guest physmap (XENMEM_add_to_physmap with
 * XENMAPSPACE_grant_table, at gfns the host hands out through
 * xl_os_grant_frames()) and checks them with GNTTABOP_setup_table.
 *
 * A reference is granted from a free list; ending access refuses while the
 * peer still maps the page (GTF_reading / GTF_writing set by Xen): the ref
 * then stays out of the free list, and xl_gnttab_end_access_deferred() keeps
 * it on a deferred list that the core releases once the peer unmaps: when
 * grant_access finds the free list empty (any context) and at
 * xl_gnttab_retry_deferred() / xl_gnttab_end_access_page() (thread
 * context, where the pages of released refs are freed).  Init and fini
 * invalidate entries left granted; one still mapped at init stays
 * deferred until unmapped.
 *
 * Every function may be called from any vCPU and from upcall context.
 */
#ifndef XENLITE_GNTTAB_H
#define XENLITE_GNTTAB_H

#include <xenlite/xen.h>
#include <xen/grant_table.h>

/* Frames xl_gnttab_init() maps at most (512 v1 entries each). */
#define XL_GNTTAB_MAX_FRAMES 4
#define XL_GNTTAB_PER_FRAME (XL_PAGE_SIZE / sizeof(grant_entry_v1_t))
/*
 * Deferred refs one retry looks at while holding the table's lock (with
 * event delivery masked): grant_access on an empty free list retries one
 * batch per call; xl_gnttab_retry_deferred() walks the list a batch per
 * hold.  Linux's gnttab_handle_deferred() takes 10 per timer run.
 */
#define XL_GNTTAB_RETRY_BATCH 10

struct xl_gnttab_stats {
	uint64_t granted;	    /* grant_access successes */
	uint64_t ended;		    /* refs back on the free list */
	uint64_t busy;		    /* end_access refused: still mapped */
	uint64_t deferred;	    /* refs put on the deferred list */
	uint64_t deferred_released; /* ... released from it later */
	uint64_t exhausted;	    /* grant_access found no free ref */
	uint64_t deferred_visited;  /* deferred refs looked at by retries */
	uint64_t restores;	    /* resumes into a new domain */
	uint64_t restore_voided;    /* used refs found invalid after one */
	uint64_t restore_released;  /* deferred refs freed by one */
};

/* 0, or -XEN_Exxx (what Xen or the host returned). */
int xl_gnttab_init(void);
/* Needs every ref ended (deferred ones are dropped with a warning). */
void xl_gnttab_fini(void);
bool xl_gnttab_ready(void);

/* Usable refs (GNTTAB_NR_RESERVED_ENTRIES and up). */
unsigned int xl_gnttab_nr_refs(void);
unsigned int xl_gnttab_nr_free(void);
unsigned int xl_gnttab_nr_deferred(void);

/*
 * Grant domid access to page gfn, read-only or writable.  0 and *ref, or
 * -XEN_ENOSPC (no free ref), -XEN_EINVAL (gfn does not fit v1's 32-bit
 * frame), -XEN_ENODEV (not initialised).
 */
int xl_gnttab_grant_access(domid_t domid, uint64_t gfn, bool readonly,
			   grant_ref_t *ref);
/*
 * End access: 0 when the entry went back to invalid and the ref to the
 * free list; -XEN_EBUSY while the peer maps it, -XEN_EIO if the entry is
 * not as granted (nothing changed: the caller still owns the ref and the
 * page stays shared); -XEN_EINVAL for a ref that is not granted;
 * -XEN_EAGAIN while suspended (xl_gnttab_suspend).
 */
int xl_gnttab_end_access(grant_ref_t ref);
/*
 * End access now if possible, else put the ref on the deferred list: the
 * caller gives the ref up either way, and must not reuse the page (it stays
 * the peer's to read or write) until xl_gnttab_is_deferred() says false.
 * Returns 0 if ended now, 1 if deferred (mapped, or the entry not as
 * granted), -XEN_EINVAL for a bad ref.
 */
int xl_gnttab_end_access_deferred(grant_ref_t ref);
/*
 * The same for a page of ours, in any context: 0, ended, the page is still
 * the caller's; 1, deferred, the page is the grant table's from now on and
 * freed (xl_os_free_page, thread context) once the peer unmapped it.
 */
int xl_gnttab_end_access_defer_page(grant_ref_t ref, void *page);
/*
 * The same for a page of ours granted with ref (a ring page): the page is
 * freed with xl_os_free_page() once the peer no longer maps it, now (0) or
 * by a later xl_gnttab_retry_deferred() (1): Linux's
 * gnttab_end_foreign_access(ref, page).  Thread context only.
 */
int xl_gnttab_end_access_page(grant_ref_t ref, void *page);
/*
 * Retry the deferred list and free the pages of released refs (thread
 * context); returns how many refs are still deferred.  grant_access
 * retries too when it finds the free list empty (the pages are then freed
 * at the next thread-context call).
 */
unsigned int xl_gnttab_retry_deferred(void);
bool xl_gnttab_is_deferred(grant_ref_t ref);
/* The peer maps ref now (GTF_reading or GTF_writing set). */
bool xl_gnttab_is_mapped(grant_ref_t ref);

void xl_gnttab_get_stats(struct xl_gnttab_stats *st);

/*
 * Save/restore (docs/save-restore.md).  Both run in the held, masked
 * section around SCHEDOP_shutdown(SHUTDOWN_suspend) (every other vCPU
 * held outside the API, delivery masked on this one; Linux calls
 * gnttab_suspend() / gnttab_resume() inside xen_suspend(), under
 * stop_machine()): xl_gnttab_suspend() after xl_evtchn_suspend(), right
 * before the hypercall; xl_gnttab_resume(cancelled) right after it (and
 * the host's shared_info / callback step), before xl_evtchn_resume().
 * In between grant_access and end_access answer -XEN_EAGAIN (the
 * end_access_* variants defer) and deferred refs are not retried: which
 * table the entries are in is not known until the resume.  No handler
 * runs in between, so no completion sees the frozen table.
 *
 * xl_gnttab_resume(cancelled) allocates and frees nothing (delivery is
 * masked): pages of released refs are freed by the next
 * xl_gnttab_retry_deferred() in thread context.
 *  - the same domain (cancelled, or the frames still reported at our
 *    gfns by GNTTABOP_setup_table): nothing but the thaw;
 *  - a new domain: its frames mapped again at the same gfns
 *    (XENMAPSPACE_grant_table, checked with setup_table, as at init);
 *    its table is empty (no entry of the old one is carried), so every
 *    ref still held is invalid and its end_access succeeds (the owner
 *    grants again for the new backend: Linux's frontends do); every
 *    deferred ref is free (its mapper was the old domain's backend),
 *    its page freed later.  A failed mapping leaves the table not ready.
 * 0 or -XEN_Exxx.
 */
int xl_gnttab_suspend(void);
int xl_gnttab_resume(bool cancelled);

#endif /* XENLITE_GNTTAB_H */
