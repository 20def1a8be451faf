// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: blkfront-lite's grants, responses and restarts
 * against a hostile backend.  The input plays the backend and Xen's grant
 * side, op after op: it maps and unmaps the frontend's grants (setting
 * GTF_reading / GTF_writing in the shared entries as Xen's
 * _set_status_v1() does), writes whole mapped pages, answers requests
 * (well or with any bytes), moves rsp_prod anywhere, restarts the backend
 * (disconnect(false), then a new ring, or a re-probe that fails), closes
 * it (disconnect(true)) and lets the grant table retry its deferred refs.
 *
 * The grant table is the real one (xen-gnttab.c) over one frame of this
 * file's memory, set up once (every input must leave it as it found it); guest pages come from an arena whose page numbers are
 * the gfns (freed pages are ASan-poisoned).  Checked besides ASan/UBSan:
 *  - every submitted request's done runs exactly once (by the final close
 *    at the latest), with a status in the defined set; a request one of
 *    whose pages the backend still maps at completion fails with EIO;
 *  - no page is freed while the backend maps it, no mapped grant is
 *    ended or rewritten, and no bounce page goes back to the pool while
 *    mapped (XSA-396);
 *  - an untrusted backend is never granted a caller's page, and a read
 *    changes no byte of the caller's page outside its sectors (XSA-403);
 *  - after the backend unmapped everything, the grant table's retry
 *    releases every ref and every page (no leak).
 *
 * Input: byte 0: ring order (bits 0-1, 0..2), trusted (bit 2); then ops,
 * one byte each and their operands, until the input ends (see fz_op()).
 *
 * fuzz-link: none (blkfront.c and xen-gnttab.c are included below; the
 * event channel and idle calls are this file's stubs).
 */
#include <sanitizer/asan_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLK_BOUNCE_PAGES 12 /* one request's worth and one more */

/* The code under test, built into this harness (fuzz/Makefile's rule). */
#include "../xen-gnttab.c"
#include "../blkfront-lite/blkfront.c"

#define PAGE 4096
#define ARENA_PAGES 96
#define NREQ 64
#define MAXMAP 32
#define GUARD 0x5a
#define FZ_PORT 7

/* --- guest memory: an arena, gfn = page index + 1 ---------------------- */

static uint8_t arena[ARENA_PAGES][PAGE] __attribute__((aligned(PAGE)));
static uint8_t used[ARENA_PAGES];
static grant_entry_v1_t gframe[PAGE / sizeof(grant_entry_v1_t)]
	__attribute__((aligned(PAGE)));

static uint64_t page_gfn(const void *va)
{
	return (uint64_t)(((const uint8_t *)va - &arena[0][0]) / PAGE) + 1;
}

static void *gfn_page(uint64_t gfn)
{
	return gfn >= 1 && gfn <= ARENA_PAGES ? arena[gfn - 1] : NULL;
}

/* --- the backend's mappings ------------------------------------------------ */

struct fz_map {
	grant_ref_t ref;
	uint32_t frame;
	bool writable;
	uint64_t id; /* the request the ref was granted for, 0: none */
};

static struct xl_blkfront *fz_dev;

static struct fz_map maps[MAXMAP];
static unsigned int nr_maps;

static bool page_mapped(uint64_t gfn)
{
	unsigned int i;

	for (i = 0; i < nr_maps; i++)
		if (maps[i].frame == gfn)
			return true;
	return false;
}

void *xl_os_alloc_page(void)
{
	unsigned int i;

	for (i = 0; i < ARENA_PAGES; i++) {
		if (used[i])
			continue;
		used[i] = 1;
		ASAN_UNPOISON_MEMORY_REGION(arena[i], PAGE);
		memset(arena[i], 0, PAGE);
		return arena[i];
	}
	return NULL;
}

void xl_os_free_page(void *page)
{
	uint64_t gfn = page_gfn(page);

	if (!gfn_page(gfn) || !used[gfn - 1])
		abort(); /* not an arena page, or freed twice */
	if (page_mapped(gfn))
		abort(); /* freed while the backend maps it */
	used[gfn - 1] = 0;
	ASAN_POISON_MEMORY_REGION(page, PAGE);
}

uint64_t xl_os_virt_to_gfn(const void *va)
{
	return page_gfn(va);
}

int xl_os_grant_frames(unsigned int nr, uint64_t *gfns, void **va)
{
	if (nr != 1)
		abort();
	gfns[0] = 0x100000; /* outside the arena */
	va[0] = gframe;
	return 0;
}

/* Xen's side of grant table setup: one frame. */
long xl_os_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		     unsigned long a3, unsigned long a4, unsigned long a5)
{
	if (op == __HYPERVISOR_memory_op && a1 == XENMEM_add_to_physmap)
		return 0;
	if (op != __HYPERVISOR_grant_table_op)
		return -XEN_ENOSYS;
	if (a1 == GNTTABOP_query_size) {
		struct gnttab_query_size *q = (void *)a2;

		q->nr_frames = 1;
		q->max_nr_frames = 1;
		q->status = GNTST_okay;
		return 0;
	}
	if (a1 == GNTTABOP_setup_table) {
		struct gnttab_setup_table *st = (void *)a2;

		st->frame_list.p[0] = 0x100000;
		st->status = GNTST_okay;
		return 0;
	}
	return -XEN_ENOSYS;
}

/* Event channels: one port, notifications go nowhere. */
int xl_evtchn_send(evtchn_port_t port)
{
	return 0;
}

int xl_evtchn_close(evtchn_port_t port)
{
	return 0;
}

int xl_evtchn_bind_ipi(unsigned int cpu, xl_evtchn_handler_t fn, void *data,
		       evtchn_port_t *port)
{
	return -XEN_ENOSYS;
}

int xl_evtchn_alloc_unbound(domid_t remote, xl_evtchn_handler_t fn, void *data,
			    evtchn_port_t *port)
{
	*port = FZ_PORT;
	return 0;
}

/* The resume's check that a port is still ours (not driven here). */
bool xl_evtchn_port_is(evtchn_port_t port, xl_evtchn_handler_t fn, void *data)
{
	return port == FZ_PORT;
}

unsigned long xl_idle_until(bool (*done)(void *), void *arg)
{
	abort(); /* no synchronous waits here */
}

/* The request in flight that ref was granted for (blkfront's table). */
static uint64_t ref_owner(grant_ref_t ref)
{
	struct xl_blkfront *dev = fz_dev;
	unsigned int slot, i;

	for (slot = 0; dev && dev->shadow && slot < dev->nr_slots; slot++) {
		const struct blk_shadow *sh = &dev->shadow[slot];

		for (i = 0; sh->req && i < sh->nr_gref; i++)
			if (sh->gref[i] == ref)
				return sh->req->id;
	}
	return 0;
}

/*
 * map_grant_ref()'s _set_status_v1() for domain 0: the entry must be
 * GTF_permit_access for us, writable unless GTF_readonly.
 */
static void fz_map(grant_ref_t ref, bool writable)
{
	uint32_t *hdr, cur, nw;
	grant_entry_v1_t *e;

	if (nr_maps == MAXMAP || ref >= XL_GNTTAB_PER_FRAME)
		return;
	e = &gframe[ref];
	hdr = (uint32_t *)(void *)&e->flags;
	cur = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
	if ((cur & GTF_type_mask) != GTF_permit_access || (cur >> 16) != 0 ||
	    (cur & (GTF_reading | GTF_writing)))
		return; /* not ours to map, or mapped already */
	if (writable && (cur & GTF_readonly))
		return;
	nw = cur | GTF_reading | (writable ? GTF_writing : 0);
	if (!__atomic_compare_exchange_n(hdr, &cur, nw, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		return;
	maps[nr_maps].ref = ref;
	maps[nr_maps].frame = e->frame;
	maps[nr_maps].writable = writable;
	maps[nr_maps].id = ref_owner(ref);
	if (!gfn_page(e->frame) || !used[e->frame - 1])
		abort(); /* a grant of a page the guest does not own */
	nr_maps++;
}

static void fz_unmap(unsigned int i)
{
	uint32_t *hdr = (uint32_t *)(void *)&gframe[maps[i].ref].flags;

	__atomic_fetch_and(hdr, ~(uint32_t)(GTF_reading | GTF_writing),
			   __ATOMIC_SEQ_CST);
	maps[i] = maps[--nr_maps];
}

/* --- requests ------------------------------------------------------------- */

struct fz_req {
	struct xl_blk_req r;
	int calls;
	int submitted;
};

static struct fz_req reqs[NREQ];
static unsigned int next_req;
static void *cpage[2]; /* the caller's pages */
static unsigned int min_read_sect;
static bool trusted;

/*
 * The backend maps one of r's grants (bounce or caller's page).  The
 * mappings forget r then: ids repeat on the next connection's table.
 */
static bool req_grant_mapped(const struct xl_blk_req *r)
{
	bool mapped = false;
	unsigned int i;

	for (i = 0; i < nr_maps; i++) {
		if (maps[i].id && maps[i].id == r->id) {
			mapped = true;
			maps[i].id = 0;
		}
	}
	return mapped;
}

static void fz_done(struct xl_blk_req *r)
{
	struct fz_req *f = (struct fz_req *)r;

	if (++f->calls > 1)
		abort(); /* completed twice */
	if (r->status != 0 && r->status != -XEN_EIO &&
	    r->status != -XEN_EOPNOTSUPP && r->status != -XEN_ENOSPC &&
	    r->status != -XEN_ENOMEM)
		abort();
	/* Completed while the backend maps its page: it must fail (and,
	 * trusted, say the caller's page is still the backend's). */
	if (req_grant_mapped(r) &&
	    (r->status != -XEN_EIO || (trusted && !r->deferred_grants)))
		abort();
}

static void fz_submit(struct xl_blkfront *dev, uint8_t op)
{
	struct fz_req *f;

	if (next_req == NREQ)
		return;
	f = &reqs[next_req++];
	memset(f, 0, sizeof(*f));
	f->r.op = (op & 3) == 3 ? XL_BLK_FLUSH :
		  (op & 1)	? XL_BLK_WRITE :
				  XL_BLK_READ;
	if (f->r.op != XL_BLK_FLUSH) {
		f->r.nr_segs = 1 + (op >> 4) % 2;
		f->r.seg[0].page = cpage[0];
		f->r.seg[0].last_sect = 7;
		f->r.seg[1].page = cpage[1];
		f->r.seg[1].first_sect = (op >> 5 & 7) | 1;
		f->r.seg[1].last_sect = 7;
		if (f->r.op == XL_BLK_READ && f->r.nr_segs == 2 &&
		    f->r.seg[1].first_sect < min_read_sect)
			min_read_sect = f->r.seg[1].first_sect;
	}
	f->r.sector = op;
	f->r.done = fz_done;
	f->submitted = xl_blkfront_submit(dev, &f->r) == 0;
}

/* --- the backend's ring ---------------------------------------------------- */

struct fz_back {
	blkif_back_ring_t ring;
	bool up;
};

static struct fz_back bk;

/* Connect a fresh ring (the first probe or a re-probe). */
static void fz_connect(struct xl_blkfront *dev, unsigned int order)
{
	struct xl_blkfront_features f = { .sectors = 1 << 20,
					  .sector_size = 512,
					  .flush = true };
	grant_ref_t refs[XL_BLK_MAX_RING_PAGES];
	evtchn_port_t port;
	int rc = xl_blkfront_setup_ring(dev, 0, order, refs, &port);

	bk.up = false;
	if (rc < 0)
		return;
	/* hv and Xen map the ring's frames; one page is all we read. */
	if (gframe[refs[0]].frame == 0 || !gfn_page(gframe[refs[0]].frame))
		abort();
	BACK_RING_INIT(&bk.ring,
		       (blkif_sring_t *)gfn_page(gframe[refs[0]].frame),
		       PAGE << rc);
	if (xl_blkfront_connect_direct(dev, &f))
		abort();
	bk.up = true;
}

/* Answer the next request: its id and op, status from s. */
static void fz_answer(struct xl_blkfront *dev, uint8_t s)
{
	blkif_sring_t *sr = bk.ring.sring;
	struct blkif_request rq;
	struct blkif_response rsp;

	if (!bk.up || bk.ring.req_cons ==
			      __atomic_load_n(&sr->req_prod, __ATOMIC_ACQUIRE))
		return;
	memcpy(&rq, RING_GET_REQUEST(&bk.ring, bk.ring.req_cons), sizeof(rq));
	bk.ring.req_cons++;
	if (s & 0x40) /* keep the first segment mapped (XSA-396) */
		fz_map(rq.seg[0].gref, rq.operation == BLKIF_OP_READ);
	memset(&rsp, 0, sizeof(rsp));
	rsp.id = rq.id;
	rsp.operation = rq.operation;
	rsp.status = (s & 3) == 3 ? (int16_t)(s >> 2) : -(int16_t)(s & 3);
	memcpy(RING_GET_RESPONSE(&bk.ring, bk.ring.rsp_prod_pvt), &rsp,
	       sizeof(rsp));
	bk.ring.rsp_prod_pvt++;
	__atomic_store_n(&sr->rsp_prod, bk.ring.rsp_prod_pvt, __ATOMIC_RELEASE);
	xl_blkfront_process(dev);
}

struct in {
	const uint8_t *p;
	size_t n;
};

static int take(struct in *in, void *out, size_t len)
{
	if (in->n < len)
		return -1;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return 0;
}

/* Invariants that hold between any two ops. */
static void fz_check(struct xl_blkfront *dev)
{
	unsigned int i, k;

	for (i = 0; i < nr_maps; i++) {
		uint16_t fl = __atomic_load_n(&gframe[maps[i].ref].flags,
					      __ATOMIC_ACQUIRE);

		/* A mapped grant is never ended nor rewritten. */
		if (!(fl & GTF_permit_access) ||
		    gframe[maps[i].ref].frame != maps[i].frame)
			abort();
		/* Untrusted: the backend never sees a caller's page. */
		if (!trusted && (maps[i].frame == page_gfn(cpage[0]) ||
				 maps[i].frame == page_gfn(cpage[1])))
			abort();
		/* A mapped bounce page is not back in the pool. */
		for (k = 0; dev->bounce_pool && k < dev->bounce_nr; k++)
			if (page_gfn(dev->bounce_pool[k]) == maps[i].frame)
				abort();
	}
	if (xl_blkfront_inflight(dev) > NREQ)
		abort();
}

/*
 * One op: 0 submit, 1 answer, 2 raw response slot + rsp_prod, 3 map a ref,
 * 4 unmap, 5 scribble mapped pages, 6 restart, 7 close (and maybe
 * reconnect), 8 grant table retry.
 */
static void fz_op(struct xl_blkfront *dev, uint8_t op, struct in *in,
		  unsigned int order)
{
	uint8_t a = 0, b = 0;
	unsigned int i;

	take(in, &a, 1);
	switch (op % 9) {
	case 0:
		for (i = 0; i < 1U + (a & 7); i++)
			fz_submit(dev, (uint8_t)(a + i * 37));
		break;
	case 1:
		for (i = 0; i < 1U + (a >> 5); i++)
			fz_answer(dev, (uint8_t)(a + i));
		break;
	case 2: {
		struct blkif_response rsp;
		uint32_t delta = 0;
		blkif_sring_t *sr = bk.ring.sring;

		if (!bk.up || take(in, &rsp, sizeof(rsp)))
			break;
		take(in, &delta, sizeof(delta));
		memcpy(RING_GET_RESPONSE(&bk.ring, bk.ring.rsp_prod_pvt), &rsp,
		       sizeof(rsp));
		bk.ring.rsp_prod_pvt += a & 1;
		__atomic_store_n(
			&sr->rsp_prod,
			(a & 0x80) ? delta : bk.ring.rsp_prod_pvt + (delta & 3),
			__ATOMIC_RELEASE);
		xl_blkfront_process(dev);
		break;
	}
	case 3:
		take(in, &b, 1);
		fz_map(GNTTAB_NR_RESERVED_ENTRIES + a, b & 1);
		break;
	case 4:
		if (nr_maps)
			fz_unmap(a % nr_maps);
		break;
	case 5: /* what a whole-page backend does with its mappings */
		for (i = 0; i < nr_maps; i++)
			if (maps[i].writable)
				memset(gfn_page(maps[i].frame), a, PAGE);
		break;
	case 6:
		xl_blkfront_disconnect(dev, false);
		bk.up = false;
		if (a & 1)
			xl_blkfront_disconnect(dev, true); /* re-probe failed */
		else
			fz_connect(dev, order);
		break;
	case 7:
		xl_blkfront_disconnect(dev, true);
		bk.up = false;
		if (a & 1)
			fz_connect(dev, order);
		break;
	default:
		xl_gnttab_retry_deferred();
		break;
	}
	fz_check(dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct in in = { buf, len };
	struct xl_blkfront *dev;
	unsigned int order, i;
	uint8_t hdr, op;

	if (take(&in, &hdr, 1))
		return 0;
	order = (hdr & 3) % 3;
	trusted = hdr & 4;
	next_req = 0;
	nr_maps = 0;
	min_read_sect = 8;
	memset(&bk, 0, sizeof(bk));
	/* Once: each input leaves every ref free (checked at its end). */
	if (!xl_gnttab_ready() && xl_gnttab_init())
		abort();
	cpage[0] = xl_os_alloc_page();
	cpage[1] = xl_os_alloc_page();
	memset(cpage[0], GUARD, PAGE);
	memset(cpage[1], GUARD, PAGE);
	dev = xl_blkfront_alloc(51712);
	if (!dev || !cpage[0] || !cpage[1])
		abort();
	fz_dev = dev;
	xl_blkfront_set_trusted(dev, trusted);
	fz_connect(dev, order);
	while (!take(&in, &op, 1))
		fz_op(dev, op, &in, order);
	xl_blkfront_disconnect(dev, true);
	for (i = 0; i < next_req; i++)
		if (reqs[i].submitted != reqs[i].calls)
			abort(); /* lost or duplicated completion */
	/* Reads change only their sectors of a caller's page. */
	if (!trusted)
		for (i = 0; i < min_read_sect * 512; i++)
			if (((uint8_t *)cpage[1])[i] != GUARD)
				abort();
	while (nr_maps)
		fz_unmap(0);
	if (xl_gnttab_retry_deferred())
		abort(); /* a ref never released */
	xl_blkfront_free(dev);
	fz_dev = NULL;
	if (xl_gnttab_nr_free() != xl_gnttab_nr_refs())
		abort(); /* a ref leaked */
	xl_os_free_page(cpage[0]);
	xl_os_free_page(cpage[1]);
	for (i = 0; i < ARENA_PAGES; i++)
		if (used[i])
			abort(); /* a page leaked */
	return 0;
}
