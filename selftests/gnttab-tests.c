// SPDX-License-Identifier: GPL-2.0
/*
 * Grant table v1 (xen-gnttab.c over hv/gnttab.c).  XT_HV only: the
 * backend side is hv's in-process domain-0 mapping (hv-blk.h), and the
 * test kernel does not build the grant table yet (the real-Xen part of
 * issue 5 is not written).  Expected values follow Xen 4.17's
 * xen/common/grant_table.c, cited per case.
 */
#include <pthread.h>
#include <sched.h>
#include <string.h>

#include <hv.h>
#include <hv-blk.h>
#include <hv-explore.h>
#include <hv-guest.h>

#include <xenlite/gnttab.h>
#include <xenlite/hypercall.h>

#include "xt-util.h"

#define BUSY (GTF_reading | GTF_writing)

/* A stale table from a test that failed midway goes first. */
static int gt_init(void)
{
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	return xl_gnttab_init();
}

static long gt_op(unsigned int cmd, void *arg, unsigned int count)
{
	return xl_os_hypercall(__HYPERVISOR_grant_table_op, cmd,
			       (unsigned long)arg, count, 0, 0);
}

/* The shared entry of ref, where Xen (hv) sees it. */
static grant_entry_v1_t *entry_of(grant_ref_t ref)
{
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1 };
	xen_pfn_t f[XL_GNTTAB_MAX_FRAMES];
	grant_entry_v1_t *e;

	st.nr_frames = ref / XL_GNTTAB_PER_FRAME + 1;
	set_xen_guest_handle(st.frame_list, f);
	if (gt_op(GNTTABOP_setup_table, &st, 1) || st.status)
		return NULL;
	e = hv_gfn_to_virt(hv_guest_domain(), f[st.nr_frames - 1]);
	return &e[ref % XL_GNTTAB_PER_FRAME];
}

static uint16_t entry_flags(grant_ref_t ref)
{
	grant_entry_v1_t *e = entry_of(ref);

	return e ? __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST) : 0xffff;
}

/* query_size, the frames mapped and reported by setup_table. */
static enum xt_result gnttab_init(void)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	struct gnttab_setup_table st = { .dom = DOMID_SELF };
	xen_pfn_t f[XL_GNTTAB_MAX_FRAMES + 1];
	unsigned int i;

	/* grant_table_init(): one frame at first, opt_max_grant_frames 64. */
	XT_ASSERT_EQ(gt_op(GNTTABOP_query_size, &q, 1), 0);
	XT_ASSERT_EQ(q.status, GNTST_okay);
	XT_ASSERT_EQ(q.nr_frames, 1);
	XT_ASSERT_EQ(q.max_nr_frames, 64);
	/* Unmapped frame: mfn_to_gfn() of a frame in no p2m. */
	st.nr_frames = 1;
	set_xen_guest_handle(st.frame_list, f);
	XT_ASSERT_EQ(gt_op(GNTTABOP_setup_table, &st, 1), 0);
	XT_ASSERT_EQ(st.status, GNTST_okay);
	XT_ASSERT(f[0] == ~(xen_pfn_t)0);

	XT_ASSERT_EQ(gt_init(), 0);
	XT_ASSERT_EQ(xl_gnttab_init(), -XEN_EEXIST);
	XT_ASSERT_EQ(xl_gnttab_nr_refs(),
		     XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME -
			     GNTTAB_NR_RESERVED_ENTRIES);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), xl_gnttab_nr_refs());
	/* add_to_physmap of idx 3 grew the table to 4 frames. */
	XT_ASSERT_EQ(gt_op(GNTTABOP_query_size, &q, 1), 0);
	XT_ASSERT_EQ(q.nr_frames, XL_GNTTAB_MAX_FRAMES);
	st.nr_frames = XL_GNTTAB_MAX_FRAMES + 1;
	XT_ASSERT_EQ(gt_op(GNTTABOP_setup_table, &st, 1), 0);
	XT_ASSERT_EQ(st.status, GNTST_okay);
	for (i = 0; i < XL_GNTTAB_MAX_FRAMES; i++)
		XT_ASSERT(f[i] < hv_domain_nr_pages(hv_guest_domain()));
	XT_ASSERT(f[XL_GNTTAB_MAX_FRAMES] == ~(xen_pfn_t)0);
	xl_gnttab_fini();
	/* Same frames again (xl_os_grant_frames keeps them). */
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	xl_gnttab_fini();
	return XT_PASS;
}

/* The hypercalls' error cases. */
static enum xt_result gnttab_hc_errors(void)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 65 };
	struct xen_add_to_physmap x = { .domid = DOMID_SELF,
					.space = XENMAPSPACE_grant_table };
	xen_pfn_t f[65];

	set_xen_guest_handle(st.frame_list, f);
	/* "if ( count != 1 ) return -EINVAL;" */
	XT_ASSERT_EQ(gt_op(GNTTABOP_query_size, &q, 2), -XEN_EINVAL);
	XT_ASSERT_EQ(gt_op(GNTTABOP_setup_table, &st, 0), -XEN_EINVAL);
	XT_ASSERT_EQ(gt_op(GNTTABOP_query_size, NULL, 1), -XEN_EFAULT);
	/* Unmodelled ops: do_grant_table_op's default, -ENOSYS. */
	XT_ASSERT_EQ(gt_op(GNTTABOP_copy, &q, 1), -XEN_ENOSYS);
	/* rcu_lock_domain_by_any_id() fails: GNTST_bad_domain. */
	q.dom = 77;
	XT_ASSERT_EQ(gt_op(GNTTABOP_query_size, &q, 1), 0);
	XT_ASSERT_EQ(q.status, GNTST_bad_domain);
	/* xsm_grant_query_size(XSM_TARGET): not our domain. */
	q.dom = xt_peer_domid();
	XT_ASSERT_EQ(gt_op(GNTTABOP_query_size, &q, 1), 0);
	XT_ASSERT_EQ(q.status, GNTST_permission_denied);
	/* "d%d is limited to %u grant-table frames": general error. */
	XT_ASSERT_EQ(gt_op(GNTTABOP_setup_table, &st, 1), 0);
	XT_ASSERT_EQ(st.status, GNTST_general_error);
	/* gnttab_get_shared_frame_mfn(): idx >= max -> -EINVAL. */
	x.idx = 64;
	x.gpfn = 100;
	XT_ASSERT_EQ(xl_hc_memory_op(XENMEM_add_to_physmap, &x), -XEN_EINVAL);
	/* v1 has no status frames. */
	x.idx = XENMAPIDX_grant_table_status;
	XT_ASSERT_EQ(xl_hc_memory_op(XENMEM_add_to_physmap, &x), -XEN_EINVAL);
	/* A frame index within the limit grows the table. */
	x.idx = 7;
	x.gpfn = xl_os_virt_to_gfn(xl_os_alloc_page());
	XT_ASSERT_EQ(xl_hc_memory_op(XENMEM_add_to_physmap, &x), 0);
	q.dom = DOMID_SELF;
	XT_ASSERT_EQ(gt_op(GNTTABOP_query_size, &q, 1), 0);
	XT_ASSERT_EQ(q.nr_frames, 8);
	return XT_PASS;
}

/* Grant, map from domain 0, refuse to end while mapped, end after unmap. */
static enum xt_result gnttab_end_refused(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct hv_grant_map m, m2;
	struct xl_gnttab_stats s;
	uint8_t *page = xl_os_alloc_page();
	grant_ref_t ref;
	unsigned int nfree;

	XT_ASSERT(page);
	XT_ASSERT_EQ(gt_init(), 0);
	nfree = xl_gnttab_nr_free();
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), true,
					    &ref),
		     0);
	XT_ASSERT(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	XT_ASSERT_EQ(entry_flags(ref), GTF_permit_access | GTF_readonly);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree - 1);
	/* _set_status_v1: "Attempt to write-pin a r/o grant entry". */
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, false, &m), GNTST_general_error);
	XT_ASSERT_EQ(entry_flags(ref), GTF_permit_access | GTF_readonly);
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, true, &m), GNTST_okay);
	XT_ASSERT(m.va == page);
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, GTF_reading);
	XT_ASSERT(xl_gnttab_is_mapped(ref));
	/* A second read-only pin: one unmap leaves GTF_reading set. */
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, true, &m2), GNTST_okay);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), -XEN_EBUSY);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree - 1); /* not freed */
	hv_gnttab_unmap(&m);
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, GTF_reading);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), -XEN_EBUSY);
	hv_gnttab_unmap(&m2);
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), 0);
	XT_ASSERT_EQ(entry_flags(ref), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree);
	/* Ended: no longer GTF_permit_access ("Bad flags"). */
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, true, &m), GNTST_general_error);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), -XEN_EINVAL);
	xl_gnttab_get_stats(&s);
	XT_ASSERT_EQ(s.granted, 1);
	XT_ASSERT_EQ(s.busy, 2);
	XT_ASSERT_EQ(s.ended, 1);
	xl_gnttab_fini();
	return XT_PASS;
}

/* What the map checks: domid, ref range, writable pins and their flags. */
static enum xt_result gnttab_map_checks(void)
{
	struct hv_domain *d = hv_guest_domain();
	uint8_t *page = xl_os_alloc_page();
	struct hv_grant_map rw, ro;
	struct hv_gnttab_stats hs;
	grant_ref_t r5, ref;

	XT_ASSERT(page);
	XT_ASSERT_EQ(gt_init(), 0);
	/* Granted to domain 5, mapped by 0: "Bad flags or dom". */
	XT_ASSERT_EQ(xl_gnttab_grant_access(5, xl_os_virt_to_gfn(page), false,
					    &r5),
		     0);
	XT_ASSERT_EQ(hv_gnttab_map(d, r5, true, &ro), GNTST_general_error);
	XT_ASSERT_EQ(xl_gnttab_end_access(r5), 0);
	/* map_grant_ref(): "Bad ref" past nr_grant_entries. */
	XT_ASSERT_EQ(hv_gnttab_map(d,
				   XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME,
				   true, &ro),
		     GNTST_bad_gntref);
	/* A frame outside the granter's memory: "Could not pin". */
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 0x7fffffff, false, &ref), 0);
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, false, &rw), GNTST_general_error);
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, 0); /* status undone */
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), 0);
	/* gfn beyond v1's 32-bit frame. */
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1ULL << 32, false, &ref),
		     -XEN_EINVAL);

	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &ref),
		     0);
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, false, &rw), GNTST_okay);
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, BUSY);
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, true, &ro), GNTST_okay);
	/* The backend's write lands in our page. */
	((uint8_t *)rw.va)[100] = 0xa5;
	XT_ASSERT_EQ(page[100], 0xa5);
	/* reduce_status_for_pin(): no writable pin left, reading stays. */
	hv_gnttab_unmap(&rw);
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, GTF_reading);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), -XEN_EBUSY);
	hv_gnttab_unmap(&ro);
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), 0);
	hv_gnttab_get_stats(d, &hs);
	XT_ASSERT_EQ(hs.mapped, 0);
	XT_ASSERT_EQ(hs.maps, 2);
	XT_ASSERT_EQ(hs.map_errors, 3);
	xl_gnttab_fini();
	return XT_PASS;
}

/* end_access_deferred: kept out of the free list until the unmap. */
static enum xt_result gnttab_deferred(void)
{
	struct hv_domain *d = hv_guest_domain();
	uint8_t *page = xl_os_alloc_page();
	struct xl_gnttab_stats s;
	struct hv_grant_map m;
	grant_ref_t ref, other;
	unsigned int nfree;

	XT_ASSERT(page);
	XT_ASSERT_EQ(gt_init(), 0);
	nfree = xl_gnttab_nr_free();
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &ref),
		     0);
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, false, &m), GNTST_okay);
	XT_ASSERT_EQ(xl_gnttab_end_access_deferred(ref), 1);
	XT_ASSERT(xl_gnttab_is_deferred(ref));
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), 1);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree - 1);
	/* Never handed out again while deferred. */
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, true, &other), 0);
	XT_ASSERT(other != ref);
	XT_ASSERT_EQ(xl_gnttab_end_access(other), 0);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 1);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), -XEN_EINVAL); /* given up */
	/* The backend still writes the page: it is still granted. */
	((uint8_t *)m.va)[7] = 0x5a;
	XT_ASSERT_EQ(page[7], 0x5a);
	hv_gnttab_unmap(&m);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	XT_ASSERT(!xl_gnttab_is_deferred(ref));
	XT_ASSERT_EQ(entry_flags(ref), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree);
	xl_gnttab_get_stats(&s);
	XT_ASSERT_EQ(s.deferred, 1);
	XT_ASSERT_EQ(s.deferred_released, 1);
	xl_gnttab_fini();
	return XT_PASS;
}

/* Exhaustion: ENOSPC, then a deferred ref released by grant_access. */
static enum xt_result gnttab_exhaust(void)
{
	struct hv_domain *d = hv_guest_domain();
	unsigned int n = 0, total;
	static grant_ref_t refs[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	struct xl_gnttab_stats s;
	struct hv_grant_map m;
	grant_ref_t extra;
	unsigned int i;

	XT_ASSERT_EQ(gt_init(), 0);
	total = xl_gnttab_nr_refs();
	while (n < total && xl_gnttab_grant_access(0, 1, false, &refs[n]) == 0)
		n++;
	XT_ASSERT_EQ(n, total);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra), -XEN_ENOSPC);
	XT_ASSERT_EQ(hv_gnttab_map(d, refs[0], false, &m), GNTST_okay);
	XT_ASSERT_EQ(xl_gnttab_end_access_deferred(refs[0]), 1);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra), -XEN_ENOSPC);
	hv_gnttab_unmap(&m);
	/* The empty free list retries the deferred one. */
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra), 0);
	XT_ASSERT_EQ(extra, refs[0]);
	refs[0] = extra;
	for (i = 0; i < n; i++)
		XT_ASSERT_EQ(xl_gnttab_end_access(refs[i]), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), total);
	xl_gnttab_get_stats(&s);
	XT_ASSERT_EQ(s.exhausted, 2);
	XT_ASSERT_EQ(s.granted, total + 1);
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * Stress: two vCPUs grant and end refs while a host thread (the backend)
 * maps and unmaps whatever is granted.  Exact accounting: every grant is
 * ended once (directly or through the deferred list), every map that
 * succeeded is unmapped, and at the end every ref is free again.
 */
#define ST_SLOTS 64
#define ST_ROUNDS 20000

struct st_shared {
	uint32_t ref[2][ST_SLOTS]; /* atomic; 0 = empty */
	int stop, started;
	uint64_t maps, map_fail;
	int busy_seen, mapped_seen;
	uint64_t ended[2], deferred[2], granted[2];
	struct hv_domain *d;
	uint8_t *page;
};

static void *st_backend(void *arg)
{
	struct st_shared *s = arg;
	uint64_t x = 88172645463325252ULL;
	struct hv_grant_map m;

	XT_STORE(&s->started, 1);
	while (!XT_LOAD(&s->stop)) {
		uint32_t ref;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		ref = XT_LOAD(&s->ref[x & 1][(x >> 1) % ST_SLOTS]);
		if (!ref)
			continue;
		if (hv_gnttab_map(s->d, ref, (x >> 9) & 1, &m) == GNTST_okay) {
			unsigned int k;

			s->maps++;
			XT_STORE(&s->mapped_seen, 1);
			/* Hold it a while: the guest's end_access must meet
			 * mapped refs. */
			for (k = 0; k < 300; k++)
				__builtin_ia32_pause();
			hv_gnttab_unmap(&m);
		} else {
			s->map_fail++;
		}
	}
	return NULL;
}

static void st_guest(void *arg)
{
	struct st_shared *s = arg;
	unsigned int me = xl_os_vcpu_id() ? 1 : 0, i, slot;
	uint64_t gfn = xl_os_virt_to_gfn(s->page);
	grant_ref_t ref;
	int rc;

	uint64_t end = xt_now_ns() + 5000000000ULL;

	while (!XT_LOAD(&s->started))
		xt_sleep_ns(100000);
	/* At least ST_ROUNDS; more until the backend met busy refs. */
	for (i = 0; i < ST_ROUNDS ||
		    ((!XT_LOAD(&s->busy_seen) || !XT_LOAD(&s->mapped_seen)) &&
		     xt_now_ns() < end);
	     i++) {
		slot = i % ST_SLOTS;
		ref = XT_LOAD(&s->ref[me][slot]);
		if (ref) {
			XT_STORE(&s->ref[me][slot], 0);
			rc = xl_gnttab_end_access_deferred(ref);
			if (rc == 1) {
				s->deferred[me]++;
				XT_STORE(&s->busy_seen, 1);
			} else if (rc == 0) {
				s->ended[me]++;
			}
		}
		if (xl_gnttab_grant_access(0, gfn, i & 1, &ref) == 0) {
			s->granted[me]++;
			XT_STORE(&s->ref[me][slot], ref);
		}
	}
	for (slot = 0; slot < ST_SLOTS; slot++) {
		ref = XT_LOAD(&s->ref[me][slot]);
		if (!ref)
			continue;
		XT_STORE(&s->ref[me][slot], 0);
		rc = xl_gnttab_end_access_deferred(ref);
		if (rc == 1)
			s->deferred[me]++;
		else if (rc == 0)
			s->ended[me]++;
	}
}

static enum xt_result gnttab_stress(void)
{
	static struct st_shared s;
	struct xl_gnttab_stats gs;
	struct hv_gnttab_stats hs;
	pthread_t bt;
	uint64_t granted, ended, deferred;

	XT_ASSERT_EQ(gt_init(), 0);
	__builtin_memset(&s, 0, sizeof(s));
	s.d = hv_guest_domain();
	s.page = xl_os_alloc_page();
	XT_ASSERT(s.page);
	XT_ASSERT_EQ(pthread_create(&bt, NULL, st_backend, &s), 0);
	xt_start_on(1, st_guest, &s);
	st_guest(&s);
	xt_wait_on(1);
	XT_STORE(&s.stop, 1);
	pthread_join(bt, NULL);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	granted = s.granted[0] + s.granted[1];
	ended = s.ended[0] + s.ended[1];
	deferred = s.deferred[0] + s.deferred[1];
	xl_gnttab_get_stats(&gs);
	hv_gnttab_get_stats(s.d, &hs);
	xt_log("granted %llu ended %llu deferred %llu busy %llu maps %llu failed %llu",
	       (unsigned long long)granted, (unsigned long long)ended,
	       (unsigned long long)deferred, (unsigned long long)gs.busy,
	       (unsigned long long)s.maps, (unsigned long long)s.map_fail);
	XT_ASSERT(granted >= 2 * ST_ROUNDS);
	XT_ASSERT_EQ(ended + deferred, granted);
	XT_ASSERT_EQ(gs.granted, granted);
	XT_ASSERT_EQ(gs.deferred, deferred);
	XT_ASSERT_EQ(gs.deferred_released, deferred);
	XT_ASSERT_EQ(gs.ended, granted);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), xl_gnttab_nr_refs());
	XT_ASSERT_EQ(hs.mapped, 0);
	XT_ASSERT_EQ(hs.maps, s.maps);
	XT_ASSERT(s.maps > 0);
	XT_ASSERT(deferred > 0);
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * fini then init: a ref granted before (never ended) must not stay
 * mappable, and one the peer still maps must not be handed out again
 * until it is unmapped.
 */
static enum xt_result gnttab_reinit_clears_entries(void)
{
	struct hv_domain *d = hv_guest_domain();
	uint8_t *page = xl_os_alloc_page();
	static grant_ref_t refs[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	struct hv_grant_map m, m2;
	grant_ref_t leaked, mapped;
	unsigned int n = 0, i, total;

	XT_ASSERT(page);
	XT_ASSERT_EQ(gt_init(), 0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &leaked),
		     0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &mapped),
		     0);
	XT_ASSERT_EQ(hv_gnttab_map(d, mapped, false, &m), GNTST_okay);
	xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	/* The leaked ref is no longer GTF_permit_access. */
	XT_ASSERT_EQ(entry_flags(leaked), 0);
	XT_ASSERT_EQ(hv_gnttab_map(d, leaked, false, &m2), GNTST_general_error);
	/* The mapped one is kept back: every other ref, not it. */
	total = xl_gnttab_nr_refs();
	XT_ASSERT_EQ(xl_gnttab_nr_free(), total - 1);
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), 1);
	while (n < total && xl_gnttab_grant_access(0, 1, true, &refs[n]) == 0)
		n++;
	XT_ASSERT_EQ(n, total - 1);
	for (i = 0; i < n; i++) {
		XT_ASSERT(refs[i] != mapped);
		XT_ASSERT_EQ(xl_gnttab_end_access(refs[i]), 0);
	}
	hv_gnttab_unmap(&m);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	XT_ASSERT_EQ(entry_flags(mapped), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), total);
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * Init scrubs what an earlier user (another kernel, a crashed driver: no
 * fini of ours ran) left granted in the shared entries: every ref from
 * the first unreserved to the last, whatever the domid, read-only or not,
 * gets flags 0 with its domid and frame as they were; an entry already
 * invalid is left as it is, and so are the reserved refs (0 .. 7, the
 * toolstack's: GNTTAB_RESERVED_XENSTORE and the console).
 */
static void put_entry(grant_ref_t ref, uint16_t flags, domid_t domid,
		      uint32_t frame)
{
	grant_entry_v1_t *e = entry_of(ref);

	if (!e)
		return;
	__atomic_store_n(&e->frame, frame, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->domid, domid, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->flags, flags, __ATOMIC_SEQ_CST);
}

static enum xt_result gnttab_init_scrubs(void)
{
	const grant_ref_t first = GNTTAB_NR_RESERVED_ENTRIES,
			  last = XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME - 1;
	static const struct {
		grant_ref_t ref; /* from first; last + 1: the last */
		uint16_t flags;
		domid_t domid;
		uint32_t frame;
	} left[] = {
		{ 0, GTF_permit_access, 2, 5 },
		{ 1, GTF_permit_access | GTF_readonly, 3, 6 },
		{ 2, 0, 7, 9 },
		{ 3, GTF_permit_access, 0x7ff1, 0xfffff },
		{ 0xffff, GTF_permit_access, 0, 1 },
	};
	grant_ref_t ref;
	unsigned int i;

	XT_ASSERT_EQ(gt_init(), 0);
	xl_gnttab_fini();
	for (i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		ref = left[i].ref == 0xffff ? last : first + left[i].ref;
		put_entry(ref, left[i].flags, left[i].domid, left[i].frame);
	}
	put_entry(first - 1, GTF_permit_access, 0, 3);
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	for (i = 0; i < sizeof(left) / sizeof(left[0]); i++) {
		grant_entry_v1_t *e;

		ref = left[i].ref == 0xffff ? last : first + left[i].ref;
		e = entry_of(ref);
		XT_ASSERT(e);
		XT_ASSERT_MSG(entry_flags(ref) == 0, "ref %u flags %#x", ref,
			      entry_flags(ref));
		XT_ASSERT_EQ(e->domid, left[i].domid);
		XT_ASSERT_EQ(e->frame, left[i].frame);
	}
	/* The reserved ref is not ours to touch. */
	XT_ASSERT_EQ(entry_flags(first - 1), GTF_permit_access);
	put_entry(first - 1, 0, 0, 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), xl_gnttab_nr_refs());
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), 0);
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * An entry whose header is not what we granted (not GTF_reading/writing:
 * "the entry changed under us") cannot be invalidated: the ref must not
 * count as ended (nor its page be freed); it stays deferred.
 */
static enum xt_result gnttab_invalid_header_deferred(void)
{
	uint8_t *page = xl_os_alloc_page();
	struct xl_gnttab_stats s;
	grant_entry_v1_t *e;
	unsigned int nfree;
	grant_ref_t ref;
	uint16_t domid;

	XT_ASSERT(page);
	XT_ASSERT_EQ(gt_init(), 0);
	nfree = xl_gnttab_nr_free();
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &ref),
		     0);
	e = entry_of(ref);
	XT_ASSERT(e);
	domid = __atomic_load_n(&e->domid, __ATOMIC_SEQ_CST);
	__atomic_store_n(&e->domid, (uint16_t)(domid + 7), __ATOMIC_SEQ_CST);
	/* Changed, not mapped: -XEN_EIO (not -XEN_EBUSY), still granted. */
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), -XEN_EIO);
	xl_gnttab_get_stats(&s);
	XT_ASSERT_EQ(s.busy, 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree - 1);
	XT_ASSERT_EQ(xl_gnttab_end_access_page(ref, page), 1);
	XT_ASSERT(xl_gnttab_is_deferred(ref));
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree - 1);
	XT_ASSERT_EQ(entry_flags(ref), GTF_permit_access); /* still valid */
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 1);
	/* Restored: released at the next retry, its page freed. */
	__atomic_store_n(&e->domid, domid, __ATOMIC_SEQ_CST);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	XT_ASSERT_EQ(entry_flags(ref), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree);
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * The core reclaims deferred refs that carry a page (ring pages) when the
 * free list runs dry, in any context: the ref is reusable at once, the
 * page is freed later in thread context.
 */
static enum xt_result gnttab_deferred_page_reclaimed(void)
{
	struct hv_domain *d = hv_guest_domain();
	static grant_ref_t refs[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	uint8_t *page = xl_os_alloc_page();
	struct hv_grant_map m;
	unsigned int n = 0, total, i;
	grant_ref_t extra;

	XT_ASSERT(page);
	XT_ASSERT_EQ(gt_init(), 0);
	total = xl_gnttab_nr_refs();
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &refs[0]),
		     0);
	n = 1;
	while (n < total && xl_gnttab_grant_access(0, 1, false, &refs[n]) == 0)
		n++;
	XT_ASSERT_EQ(n, total);
	XT_ASSERT_EQ(hv_gnttab_map(d, refs[0], false, &m), GNTST_okay);
	XT_ASSERT_EQ(xl_gnttab_end_access_page(refs[0], page), 1);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra), -XEN_ENOSPC);
	hv_gnttab_unmap(&m);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra), 0);
	XT_ASSERT_EQ(extra, refs[0]);
	refs[0] = extra;
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	for (i = 0; i < n; i++)
		XT_ASSERT_EQ(xl_gnttab_end_access(refs[i]), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), total);
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * What a faulty Xen answers at init, one fault per attempt (a grant-table
 * hook in hv): the hypercall's error is returned as it is; a bad status
 * is -XEN_EINVAL; no frames allowed, -XEN_ENOSPC; a frame that
 * setup_table reports elsewhere than where it was mapped (the first or
 * the last), -XEN_EIO.  A failed init leaves the table not ready.  A
 * max_nr_frames of 2 gives a two-frame table, one above the core's
 * maximum gives the maximum.
 */
enum gie_fault {
	GIE_NONE,
	GIE_QUERY_FAULT,
	GIE_QUERY_STATUS,
	GIE_QUERY_NO_FRAMES,
	GIE_QUERY_TWO,
	GIE_QUERY_MORE,
	GIE_SETUP_FAULT,
	GIE_SETUP_STATUS,
	GIE_SETUP_FIRST,
	GIE_SETUP_LAST,
};

static long gie_hook(unsigned int cmd, void *arg, bool after, long rc,
		     void *data)
{
	enum gie_fault f = *(enum gie_fault *)data;

	(void)rc;
	if (cmd == GNTTABOP_query_size) {
		struct gnttab_query_size *q = arg;

		if (!after)
			return f == GIE_QUERY_FAULT ? -XEN_EFAULT : 0;
		if (f == GIE_QUERY_STATUS)
			q->status = GNTST_general_error;
		else if (f == GIE_QUERY_NO_FRAMES)
			q->max_nr_frames = 0;
		else if (f == GIE_QUERY_TWO)
			q->max_nr_frames = 2;
		else if (f == GIE_QUERY_MORE)
			q->max_nr_frames = XL_GNTTAB_MAX_FRAMES + 1;
	} else if (cmd == GNTTABOP_setup_table) {
		struct gnttab_setup_table *st = arg;

		if (!after)
			return f == GIE_SETUP_FAULT ? -XEN_EFAULT : 0;
		if (f == GIE_SETUP_STATUS)
			st->status = GNTST_general_error;
		else if (f == GIE_SETUP_FIRST)
			st->frame_list.p[0]++;
		else if (f == GIE_SETUP_LAST)
			st->frame_list.p[st->nr_frames - 1]++;
	}
	return 0;
}

static enum xt_result gnttab_init_errors(void)
{
	static const struct {
		enum gie_fault f;
		int rc;
		unsigned int frames;
	} cases[] = {
		{ GIE_QUERY_FAULT, -XEN_EFAULT, 0 },
		{ GIE_QUERY_STATUS, -XEN_EINVAL, 0 },
		{ GIE_QUERY_NO_FRAMES, -XEN_ENOSPC, 0 },
		{ GIE_SETUP_FAULT, -XEN_EFAULT, 0 },
		{ GIE_SETUP_STATUS, -XEN_EINVAL, 0 },
		{ GIE_SETUP_FIRST, -XEN_EIO, 0 },
		{ GIE_SETUP_LAST, -XEN_EIO, 0 },
		{ GIE_QUERY_TWO, 0, 2 },
		{ GIE_QUERY_MORE, 0, XL_GNTTAB_MAX_FRAMES },
		{ GIE_NONE, 0, XL_GNTTAB_MAX_FRAMES },
	};
	static enum gie_fault f;
	struct hv_domain *d = hv_guest_domain();
	unsigned int i;
	int rc;

	if (xl_gnttab_ready())
		xl_gnttab_fini();
	hv_gnttab_set_hook(d, gie_hook, &f);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = cases[i].f;
		rc = xl_gnttab_init();
		if (rc != cases[i].rc || xl_gnttab_ready() != !rc ||
		    xl_gnttab_nr_refs() !=
			    (rc ? 0 :
				  cases[i].frames * XL_GNTTAB_PER_FRAME -
					     GNTTAB_NR_RESERVED_ENTRIES)) {
			hv_gnttab_set_hook(d, NULL, NULL);
			XT_ASSERT_MSG(false,
				      "case %u: init %d (want %d), %u refs", i,
				      rc, cases[i].rc, xl_gnttab_nr_refs());
		}
		if (!rc)
			xl_gnttab_fini();
	}
	hv_gnttab_set_hook(d, NULL, NULL);
	return XT_PASS;
}

/*
 * fini with a ref deferred (the peer still maps it): after it, the table
 * answers as not there, whatever its old lists hold: retry_deferred 0 and
 * no retry, is_deferred and is_mapped false.  The next init finds the
 * entry unmapped and frees it.
 */
static enum xt_result gnttab_fini_with_deferred(void)
{
	struct hv_domain *d = hv_guest_domain();
	uint8_t *page = xl_os_alloc_page();
	struct hv_grant_map m;
	grant_ref_t ref;

	XT_ASSERT(page);
	XT_ASSERT_EQ(gt_init(), 0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &ref),
		     0);
	XT_ASSERT_EQ(hv_gnttab_map(d, ref, false, &m), GNTST_okay);
	XT_ASSERT_EQ(xl_gnttab_end_access_deferred(ref), 1);
	XT_ASSERT(xl_gnttab_is_deferred(ref));
	XT_ASSERT(xl_gnttab_is_mapped(ref));
	xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	XT_ASSERT(!xl_gnttab_is_deferred(ref));
	XT_ASSERT(!xl_gnttab_is_mapped(ref));
	XT_ASSERT_EQ(entry_flags(ref) & BUSY, BUSY); /* still mapped */
	hv_gnttab_unmap(&m);
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	XT_ASSERT(!xl_gnttab_is_deferred(ref));
	XT_ASSERT_EQ(entry_flags(ref), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), xl_gnttab_nr_refs());
	xl_gnttab_fini();
	xl_os_free_page(page);
	return XT_PASS;
}

/*
 * The edges of the ref range: the reserved refs (0 .. 7) and the first
 * past the table are refused by every call that takes a ref; the first
 * and the last ref of the table work.  Before init nothing is granted.
 */
static enum xt_result gnttab_ref_bounds(void)
{
	const grant_ref_t first = GNTTAB_NR_RESERVED_ENTRIES,
			  end = XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME;
	struct xl_gnttab_stats s;
	grant_ref_t ref, last = 0;
	unsigned int n = 0;

	if (xl_gnttab_ready())
		xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &ref), -XEN_ENODEV);
	XT_ASSERT_EQ(xl_gnttab_end_access(first), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_gnttab_nr_refs(), 0);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	XT_ASSERT(!xl_gnttab_is_mapped(first));
	XT_ASSERT(!xl_gnttab_is_deferred(first));
	XT_ASSERT_EQ(gt_init(), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_refs(), end - first);
	/* Lowest first: the first ref handed out is the first unreserved. */
	XT_ASSERT_EQ(xl_gnttab_grant_access(3, 0xffffffffULL, false, &ref), 0);
	XT_ASSERT_EQ(ref, first);
	XT_ASSERT_EQ(entry_of(ref)->frame, 0xffffffffU);
	XT_ASSERT_EQ(entry_of(ref)->domid, 3);
	XT_ASSERT_EQ(entry_flags(ref), GTF_permit_access);
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), 0);
	XT_ASSERT_EQ(entry_flags(ref), 0);
	/* Every ref, in order: the last one is end - 1. */
	while (xl_gnttab_grant_access(0, 1, true, &ref) == 0) {
		XT_ASSERT_EQ(ref, first + n);
		last = ref;
		n++;
	}
	XT_ASSERT_EQ(n, end - first);
	XT_ASSERT_EQ(last, end - 1);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), 0);
	XT_ASSERT_EQ(entry_flags(last), GTF_permit_access | GTF_readonly);
	XT_ASSERT(!xl_gnttab_is_mapped(last));
	XT_ASSERT(!xl_gnttab_is_deferred(last));
	/* The first past the table and the last reserved one. */
	XT_ASSERT_EQ(xl_gnttab_end_access(end), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_gnttab_end_access(first - 1), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_gnttab_end_access_deferred(end), -XEN_EINVAL);
	XT_ASSERT(!xl_gnttab_is_mapped(end));
	XT_ASSERT(!xl_gnttab_is_deferred(end));
	XT_ASSERT(!xl_gnttab_is_mapped(first - 1));
	XT_ASSERT(!xl_gnttab_is_deferred(first - 1));
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(last), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), 1);
	for (ref = first; ref < last; ref++)
		XT_ASSERT_EQ(xl_gnttab_end_access(ref), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), end - first);
	xl_gnttab_get_stats(&s);
	XT_ASSERT_EQ(s.granted, end - first + 1);
	XT_ASSERT_EQ(s.ended, end - first + 1);
	XT_ASSERT_EQ(s.exhausted, 1);
	XT_ASSERT_EQ(s.busy, 0);
	XT_ASSERT_EQ(s.deferred, 0);
	/* A ref still granted at fini is no ref after it. */
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &ref), 0);
	xl_gnttab_fini();
	XT_ASSERT(!xl_gnttab_ready());
	XT_ASSERT_EQ(entry_flags(ref), 0); /* fini invalidated it */
	XT_ASSERT_EQ(xl_gnttab_end_access(ref), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_gnttab_end_access_deferred(ref), -XEN_EINVAL);
	XT_ASSERT(!xl_gnttab_is_deferred(ref));
	return XT_PASS;
}

/*
 * The table lock excludes: vCPU 0 is held inside xl_gnttab_nr_free()'s
 * locked section (an explore point hook stalls it at its last
 * read-modify-write, the unlock's exchange) while vCPU 1 calls
 * xl_gnttab_grant_access(); vCPU 1 must not get through its own locked
 * section before vCPU 0 lets go.  The stall ends when vCPU 1 finishes or
 * after GLX_HOLD_NS; a working lock always takes the timeout.
 */
#define GLX_HOLD_NS 300000000ULL

static struct {
	uint32_t counting, armed, points, stall_at; /* atomic */
	uint32_t held, done, done_while_held;	    /* atomic */
	grant_ref_t ref;
	int rc;
} glx;

static void glx_hook(enum hv_explore_point pt)
{
	uint64_t end;
	uint32_t n;

	if (pt != HV_XP_ATOMIC || xl_os_vcpu_id() != 0)
		return;
	if (XT_LOAD(&glx.counting)) {
		__atomic_fetch_add(&glx.points, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if (!XT_LOAD(&glx.armed))
		return;
	n = __atomic_add_fetch(&glx.points, 1, __ATOMIC_SEQ_CST);
	if (n != XT_LOAD(&glx.stall_at))
		return;
	XT_STORE(&glx.held, 1);
	end = xt_now_ns() + GLX_HOLD_NS;
	while (!XT_LOAD(&glx.done) && xt_now_ns() < end)
		sched_yield();
	XT_STORE(&glx.done_while_held, XT_LOAD(&glx.done));
	XT_STORE(&glx.armed, 0);
}

static void glx_grant(void *arg)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	(void)arg;
	while (!XT_LOAD(&glx.held) && xt_now_ns() < end)
		sched_yield();
	glx.rc = xl_gnttab_grant_access(0, 1, true, &glx.ref);
	XT_STORE(&glx.done, 1);
}

static enum xt_result gnttab_lock_excludes(void)
{
	unsigned int nfree;

	memset(&glx, 0, sizeof(glx));
	XT_ASSERT_EQ(gt_init(), 0);
	/* How many read-modify-writes one nr_free makes: the last unlocks. */
	XT_STORE(&glx.counting, 1);
	hv_explore_set_hook(glx_hook);
	nfree = xl_gnttab_nr_free();
	XT_STORE(&glx.counting, 0);
	XT_STORE(&glx.stall_at, XT_LOAD(&glx.points));
	XT_STORE(&glx.points, 0);
	if (!glx.stall_at) {
		hv_explore_set_hook(NULL);
		XT_SKIP_IF(true,
			   "no explore points (built without HV_EXPLORE)");
	}
	XT_STORE(&glx.armed, 1);
	xt_start_on(1, glx_grant, NULL);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree);
	xt_wait_on(1);
	hv_explore_set_hook(NULL);
	XT_ASSERT_EQ(XT_LOAD(&glx.held), 1);
	XT_ASSERT_MSG(!XT_LOAD(&glx.done_while_held),
		      "vCPU 1 granted a ref while vCPU 0 held the lock");
	XT_ASSERT_EQ(glx.rc, 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree - 1);
	XT_ASSERT_EQ(xl_gnttab_end_access(glx.ref), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), nfree);
	xl_gnttab_fini();
	return XT_PASS;
}

#define GT(n, v)                                             \
	{                                                    \
		"gnttab/" #n, XT_HV, v, false, gnttab_##n, 0 \
	}

/*
 * A long deferred list behind an empty free list.  grant_access retries
 * deferred refs when the free list is dry, under gt_lock with event
 * delivery masked (any context: a handler may grant), so it looks at no
 * more than XL_GNTTAB_RETRY_BATCH of them per call, the oldest first,
 * and puts those still mapped back at the tail: a later call looks at the
 * next ones (Linux's gnttab_handle_deferred, drivers/xen/grant-table.c,
 * also takes a few entries per timer run and re-queues the busy ones).
 * xl_gnttab_retry_deferred (thread context) looks at each once, a batch
 * per hold of the lock.  Exact counts of the refs looked at per call.
 */
#define WALK_NDEF 50

static enum xt_result gnttab_deferred_walk_bounded(void)
{
	static grant_ref_t refs[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	static struct hv_grant_map m[WALK_NDEF];
	struct hv_domain *d = hv_guest_domain();
	struct xl_gnttab_stats s0, s1;
	unsigned int n = 0, total, i, call;
	grant_ref_t extra;

	XT_ASSERT_EQ(gt_init(), 0);
	total = xl_gnttab_nr_refs();
	while (n < total && xl_gnttab_grant_access(0, 1, false, &refs[n]) == 0)
		n++;
	XT_ASSERT_EQ(n, total);
	for (i = 0; i < WALK_NDEF; i++) {
		XT_ASSERT_EQ(hv_gnttab_map(d, refs[i], false, &m[i]),
			     GNTST_okay);
		XT_ASSERT_EQ(xl_gnttab_end_access_deferred(refs[i]), 1);
	}
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), WALK_NDEF);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), 0);
	/* All mapped: each call looks at one batch and fails. */
	for (call = 0; call < 3; call++) {
		xl_gnttab_get_stats(&s0);
		XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra),
			     -XEN_ENOSPC);
		xl_gnttab_get_stats(&s1);
		XT_ASSERT_EQ(s1.deferred_visited - s0.deferred_visited,
			     XL_GNTTAB_RETRY_BATCH);
		XT_ASSERT_EQ(s1.deferred_released, s0.deferred_released);
	}
	/* Refs 0-29 went back to the tail; the next batch is 30-39. */
	hv_gnttab_unmap(&m[35]);
	xl_gnttab_get_stats(&s0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra), 0);
	xl_gnttab_get_stats(&s1);
	XT_ASSERT_EQ(extra, refs[35]);
	XT_ASSERT_EQ(s1.deferred_visited - s0.deferred_visited,
		     XL_GNTTAB_RETRY_BATCH);
	XT_ASSERT_EQ(s1.deferred_released - s0.deferred_released, 1);
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), WALK_NDEF - 1);
	/* Thread context: every one looked at once. */
	for (i = 0; i < WALK_NDEF; i++)
		if (i != 35)
			hv_gnttab_unmap(&m[i]);
	xl_gnttab_get_stats(&s0);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	xl_gnttab_get_stats(&s1);
	XT_ASSERT_EQ(s1.deferred_visited - s0.deferred_visited, WALK_NDEF - 1);
	XT_ASSERT_EQ(s1.deferred_released - s0.deferred_released,
		     WALK_NDEF - 1);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), WALK_NDEF - 1);
	/* The released refs are free again; end the rest and refs[35]. */
	for (i = 0; i < n; i++) {
		if (i < WALK_NDEF && i != 35)
			continue;
		XT_ASSERT_EQ(xl_gnttab_end_access(refs[i]), 0);
	}
	XT_ASSERT_EQ(xl_gnttab_nr_free(), total);
	xl_gnttab_fini();
	return XT_PASS;
}

const struct xt_test xt_gnttab_tests[] = {
	GT(init, 1),
	{ "gnttab/hc_errors", XT_HV, 1, true, gnttab_hc_errors, 0 },
	GT(end_refused, 1),
	GT(map_checks, 1),
	GT(deferred, 1),
	GT(exhaust, 1),
	GT(stress, 2),
	GT(reinit_clears_entries, 1),
	GT(invalid_header_deferred, 1),
	GT(deferred_page_reclaimed, 1),
	GT(deferred_walk_bounded, 1),
	GT(ref_bounds, 1),
	GT(fini_with_deferred, 1),
	GT(init_scrubs, 1),
	GT(init_errors, 1),
	GT(lock_excludes, 2),
};

const unsigned int xt_gnttab_nr_tests =
	sizeof(xt_gnttab_tests) / sizeof(xt_gnttab_tests[0]);
