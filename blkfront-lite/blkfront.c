// SPDX-License-Identifier: GPL-2.0
/*
 * blkfront-lite: the blkif ring, the request table, submission and the
 * hardened response handler (see include/xenlite/blkfront.h for the rules
 * a hostile backend meets).
 *
 * Ring indexes.  The layout, sizes and slot addressing are io/ring.h's
 * (DEFINE_RING_TYPES in io/blkif.h, FRONT_RING_INIT, RING_SIZE,
 * RING_GET_REQUEST/RESPONSE, RING_FULL).  The producer/consumer updates
 * follow RING_PUSH_REQUESTS_AND_CHECK_NOTIFY and
 * RING_FINAL_CHECK_FOR_RESPONSES step by step, barriers included, but are
 * spelled out here because those macros touch the shared indexes with
 * plain C accesses, and os.h requires every field another party writes
 * concurrently to go through the xl_read and xl_write accessors (a plain
 * access there is a data race the compiler may tear, and one that
 * ThreadSanitizer reports).
 * Slots are copied in and out as 64-bit words with xl_write64/xl_read64,
 * once: the response is checked on the private copy, never re-read
 * (io/ring.h RING_COPY_RESPONSE's rule, Linux blkfront's XSA-376 fix).
 */
#include "blkfront.h"

#include <xenlite/idle.h>

/*
 * io/ring.h's SHARED_RING_INIT clears the padding with memset(); a host
 * may have its own memset macro (Linux's string_64.h), which this one
 * replaces for this file only.
 */
#undef memset
#define memset __builtin_memset

_Static_assert(sizeof(struct blkif_request) % 8 == 0 &&
		       sizeof(struct blkif_response) % 8 == 0,
	       "ring slots are copied as 64-bit words");

/* --- lock -------------------------------------------------------------- */

static unsigned long blk_lock(struct xl_blkfront *dev) XL_ACQUIRES(&dev->lock)
{
	return xl_spin_lock_irqsave(&dev->lock);
}

static void blk_unlock(struct xl_blkfront *dev, unsigned long flags)
	XL_RELEASES(&dev->lock)
{
	xl_spin_unlock_irqrestore(&dev->lock, flags);
}

/* --- slot copies --------------------------------------------------------- */

static void blk_copy_out(void *dst, const void *ring_slot, size_t n)
{
	const uint64_t *s = ring_slot;
	uint64_t *d = dst;
	size_t i;

	for (i = 0; i < n / 8; i++)
		d[i] = xl_read64((uint64_t *)&s[i]);
}

static void blk_copy_in(void *ring_slot, const void *src, size_t n)
{
	const uint64_t *s = src;
	uint64_t *d = ring_slot;
	size_t i;

	for (i = 0; i < n / 8; i++)
		xl_write64(&d[i], s[i]);
}

/* --- completion lists ---------------------------------------------------- */

struct blk_done {
	struct xl_blk_req *head, *tail;
};

static void blk_done_add(struct blk_done *dl, struct xl_blk_req *req)
{
	req->next = NULL;
	if (dl->tail)
		dl->tail->next = req;
	else
		dl->head = req;
	dl->tail = req;
}

/* Callbacks run without the lock (they may submit again). */
static void blk_done_run(struct blk_done *dl)
{
	struct xl_blk_req *req = dl->head, *next;

	while (req) {
		next = req->next;
		req->next = NULL;
		req->done(req);
		req = next;
	}
}

static void blk_account(struct xl_blkfront *dev, int status)
{
	dev->st.completed++;
	if (!status)
		dev->st.ok++;
	else if (status == -XEN_EOPNOTSUPP)
		dev->st.eopnotsupp++;
	else
		dev->st.eio++;
}

/* --- the request table ----------------------------------------------------- */

/* The sectors a segment covers, between a caller's page and a bounce page. */
static void blk_copy_sectors(void *dst, const void *src,
			     const struct xl_blk_seg *seg)
{
	unsigned int off = seg->first_sect * XL_BLK_SECTOR_SIZE;
	unsigned int len =
		(seg->last_sect - seg->first_sect + 1U) * XL_BLK_SECTOR_SIZE;

	__builtin_memcpy((char *)dst + off, (const char *)src + off, len);
}

static void blk_bounce_put(struct xl_blkfront *dev, void *page)
{
	dev->bounce_pool[dev->bounce_nr++] = page;
}

/*
 * End a request's grants; returns how many the backend still maps.  Such
 * a grant stays valid (XSA-396: ending it would let a page the backend can
 * still write go back to its owner): a bounce page becomes the grant
 * table's, freed once unmapped (Linux: gnttab_end_foreign_access() with
 * the page); a caller's page (trusted backend) is counted in
 * req->deferred_grants and must not be reused until the grant is
 * released.  A bounce page ended cleanly stays in sh->bounce[].
 */
static unsigned int blk_end_grants(struct xl_blkfront *dev,
				   struct blk_shadow *sh,
				   struct xl_blk_req *req)
{
	unsigned int i, mapped = 0;

	for (i = 0; i < sh->nr_gref; i++) {
		if (sh->bounce[i]) {
			if (xl_gnttab_end_access_defer_page(sh->gref[i],
							    sh->bounce[i]) != 1)
				continue;
			sh->bounce[i] = NULL; /* the grant table's now */
		} else if (xl_gnttab_end_access_deferred(sh->gref[i]) == 1) {
			req->deferred_grants++;
		} else {
			continue;
		}
		mapped++;
	}
	dev->st.deferred_grants += mapped;
	sh->nr_gref = 0;
	return mapped;
}

/* Give a request's bounce pages back, copying a good read's data out. */
static void blk_bounce_finish(struct xl_blkfront *dev, struct blk_shadow *sh,
			      struct xl_blk_req *req, bool copy)
{
	unsigned int i;

	for (i = 0; i < XL_BLK_MAX_SEGS; i++) {
		if (!sh->bounce[i])
			continue;
		if (copy)
			blk_copy_sectors(req->seg[i].page, sh->bounce[i],
					 &req->seg[i]);
		blk_bounce_put(dev, sh->bounce[i]);
		sh->bounce[i] = NULL;
	}
}

/*
 * Complete the request in slot with status; returns how many of its
 * grants the backend still maps (the request then fails with EIO).
 */
static unsigned int blk_complete(struct xl_blkfront *dev, uint32_t slot,
				 int status, struct blk_done *dl)
{
	struct blk_shadow *sh = &dev->shadow[slot];
	struct xl_blk_req *req = sh->req;
	unsigned int mapped = blk_end_grants(dev, sh, req);

	if (mapped)
		status = -XEN_EIO;
	blk_bounce_finish(dev, sh, req, !status && req->op == XL_BLK_READ);
	sh->last_id = req->id;
	sh->req = NULL;
	sh->next_free = dev->free_head;
	dev->free_head = slot;
	dev->inflight--;
	req->status = status;
	blk_account(dev, status);
	blk_done_add(dl, req);
	return mapped;
}

static void blk_fail_all(struct xl_blkfront *dev, bool queued, uint64_t *ctr,
			 struct blk_done *dl)
{
	struct xl_blk_req *req;
	uint32_t slot;

	for (slot = 0; dev->shadow && slot < dev->nr_slots; slot++) {
		if (!dev->shadow[slot].req)
			continue;
		blk_complete(dev, slot, -XEN_EIO, dl);
		(*ctr)++;
	}
	while (queued && (req = dev->q_head)) {
		dev->q_head = req->next;
		req->status = -XEN_EIO;
		blk_account(dev, -XEN_EIO);
		(*ctr)++;
		blk_done_add(dl, req);
	}
	if (queued)
		dev->q_tail = NULL;
}

static unsigned int blk_queued(const struct xl_blkfront *dev)
{
	const struct xl_blk_req *req;
	unsigned int n = 0;

	for (req = dev->q_head; req; req = req->next)
		n++;
	return n;
}

/* Requests on the ring not yet answered. */
static unsigned int blk_outstanding(struct xl_blkfront *dev)
{
	return dev->ring.req_prod_pvt - dev->ring.rsp_cons;
}

/*
 * In flight but not outstanding: requests whose response a bad one took
 * the place of.  They can only be named once the ring is drained.
 */
static unsigned int blk_orphans(struct xl_blkfront *dev)
{
	return dev->inflight - blk_outstanding(dev);
}

/* --- submission ----------------------------------------------------------------- */

static uint8_t blk_wire_op(struct xl_blkfront *dev, enum xl_blk_op op)
{
	switch (op) {
	case XL_BLK_READ:
		return BLKIF_OP_READ;
	case XL_BLK_WRITE:
		return BLKIF_OP_WRITE;
	default:
		/* blkif.h: FLUSH_DISKCACHE if offered, else WRITE_BARRIER. */
		return dev->feat.flush ? BLKIF_OP_FLUSH_DISKCACHE :
					 BLKIF_OP_WRITE_BARRIER;
	}
}

/* An untrusted backend sees bounce pages only (XSA-403). */
static bool blk_bouncing(const struct xl_blkfront *dev)
{
	return !dev->mem_mode && !dev->trusted;
}

static bool blk_bounce_ok(const struct xl_blkfront *dev,
			  const struct xl_blk_req *req)
{
	return !blk_bouncing(dev) || dev->bounce_nr >= req->nr_segs;
}

/*
 * Grant the segments and write the request into the next ring slot.  An
 * untrusted backend gets a private bounce page per segment, holding only
 * the request's sectors (a write's copied in, a read's copied out at
 * completion): the rest of the caller's page is never shared (Linux
 * xen-blkfront's bounce buffers for untrusted backends, XSA-403).
 */
static int blk_place(struct xl_blkfront *dev, struct xl_blk_req *req)
{
	uint32_t slot = dev->free_head;
	struct blk_shadow *sh = &dev->shadow[slot];
	struct blkif_request r;
	unsigned int i;
	int rc;

	__builtin_memset(&r, 0, sizeof(r));
	r.operation = blk_wire_op(dev, req->op);
	r.nr_segments = (uint8_t)req->nr_segs;
	r.handle = (blkif_vdev_t)dev->devid;
	r.sector_number = req->sector;
	sh->nr_gref = 0;
	for (i = 0; i < req->nr_segs; i++) {
		void *page = req->seg[i].page;
		grant_ref_t ref = 0;

		if (!dev->mem_mode) {
			if (blk_bouncing(dev)) {
				page = dev->bounce_pool[--dev->bounce_nr];
				sh->bounce[i] = page;
				if (req->op == XL_BLK_WRITE)
					blk_copy_sectors(page, req->seg[i].page,
							 &req->seg[i]);
			}
			/* The backend reads what we write: read-only. */
			rc = xl_gnttab_grant_access(dev->backend_id,
						    xl_os_virt_to_gfn(page),
						    req->op == XL_BLK_WRITE,
						    &ref);
			if (rc) {
				/* Not published: nobody maps them. */
				blk_end_grants(dev, sh, req);
				blk_bounce_finish(dev, sh, req, false);
				return rc;
			}
			sh->gref[sh->nr_gref++] = ref;
		}
		r.seg[i].gref = ref;
		r.seg[i].first_sect = req->seg[i].first_sect;
		r.seg[i].last_sect = req->seg[i].last_sect;
	}
	dev->free_head = sh->next_free;
	sh->gen++;
	sh->seq = dev->next_seq++;
	sh->op = r.operation;
	sh->req = req;
	req->id = slot | ((uint64_t)sh->gen << 32);
	r.id = req->id;
	blk_copy_in(RING_GET_REQUEST(&dev->ring, dev->ring.req_prod_pvt), &r,
		    sizeof(r));
	dev->ring.req_prod_pvt++;
	dev->inflight++;
	dev->st.submitted++;
	return 0;
}

/*
 * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY (io/ring.h), with os.h accessors:
 * the backend must see the requests before the new req_prod (wmb), and the
 * new req_prod before we read req_event (mb), else a backend going to
 * sleep in between misses the notification.
 */
static bool blk_push_requests(struct xl_blkfront *dev)
{
	blkif_sring_t *s = dev->ring.sring;
	RING_IDX old = xl_read32(&s->req_prod), new = dev->ring.req_prod_pvt;

	if (old == new)
		return false;
	xl_wmb(); /* back sees requests before the updated producer index */
	xl_write32(&s->req_prod, new);
	xl_mb(); /* back sees new requests before we check req_event */
	if ((RING_IDX)(new - xl_read32(&s->req_event)) >= (RING_IDX)(new - old))
		return false;
	dev->st.notifies++; /* under the lock, sent after it */
	return true;
}

/*
 * Move queued requests onto the ring while it has room and no request is
 * orphaned; the port to notify after unlocking, or 0.
 */
static evtchn_port_t blk_kick_queue(struct xl_blkfront *dev,
				    struct blk_done *dl)
{
	struct xl_blk_req *req;
	int rc;

	if (dev->state != BLK_CONNECTED)
		return 0;
	while ((req = dev->q_head) && !blk_orphans(dev) &&
	       dev->free_head != BLK_NO_SLOT && !RING_FULL(&dev->ring) &&
	       (blk_bounce_ok(dev, req) || !dev->inflight)) {
		dev->q_head = req->next;
		if (!dev->q_head)
			dev->q_tail = NULL;
		/*
		 * Nothing in flight to give bounce pages back: the pool lost
		 * them to grants a backend kept mapped.  Fail, not wait.
		 */
		rc = blk_bounce_ok(dev, req) ? blk_place(dev, req) :
					       -XEN_ENOMEM;
		if (rc == -XEN_EAGAIN) {
			/*
			 * The grant table is frozen (xl_gnttab_suspend(): a
			 * save under way, docs/save-restore.md).  Nothing was
			 * granted; the request waits at the head of the queue
			 * for the next kick after the thaw (a completion, a
			 * submit, xl_blkfront_process()).
			 */
			req->next = dev->q_head;
			dev->q_head = req;
			if (!dev->q_tail)
				dev->q_tail = req;
			dev->st.frozen_waits++;
			break;
		}
		if (rc) {
			req->status = rc;
			blk_account(dev, rc);
			blk_done_add(dl, req);
		}
	}
	return blk_push_requests(dev) ? dev->port : 0;
}

static void blk_notify(evtchn_port_t port)
{
	if (port)
		xl_evtchn_send(port);
}

static int blk_check_req(struct xl_blkfront *dev, const struct xl_blk_req *req)
{
	uint64_t total = 0;
	unsigned int i;

	if (!req->done)
		return -XEN_EINVAL;
	if (req->op == XL_BLK_FLUSH) {
		if (!dev->feat.flush && !dev->feat.barrier)
			return -XEN_EOPNOTSUPP;
		return req->nr_segs ? -XEN_EINVAL : 0;
	}
	if (req->op != XL_BLK_READ && req->op != XL_BLK_WRITE)
		return -XEN_EINVAL;
	if (!req->nr_segs || req->nr_segs > XL_BLK_MAX_SEGS)
		return -XEN_EINVAL;
	for (i = 0; i < req->nr_segs; i++) {
		const struct xl_blk_seg *s = &req->seg[i];

		if (!s->page || ((uintptr_t)s->page & (XL_PAGE_SIZE - 1)) ||
		    s->first_sect > s->last_sect ||
		    s->last_sect >= XL_BLK_SECTORS_PER_PAGE)
			return -XEN_EINVAL;
		total += s->last_sect - s->first_sect + 1U;
	}
	if (req->sector >= dev->feat.sectors ||
	    total > dev->feat.sectors - req->sector)
		return -XEN_EINVAL;
	return 0;
}

int xl_blkfront_submit(struct xl_blkfront *dev, struct xl_blk_req *req)
{
	struct blk_done dl = { NULL, NULL };
	unsigned long flags;
	evtchn_port_t notify;
	int rc;

	flags = blk_lock(dev);
	if (dev->state != BLK_CONNECTED) {
		rc = dev->state == BLK_BROKEN ? -XEN_EIO : -XEN_ENODEV;
		blk_unlock(dev, flags);
		return rc;
	}
	rc = blk_check_req(dev, req);
	if (rc) {
		blk_unlock(dev, flags);
		return rc;
	}
	req->status = 0;
	req->id = 0;
	req->deferred_grants = 0;
	req->next = NULL;
	if (dev->q_tail)
		dev->q_tail->next = req;
	else
		dev->q_head = req;
	dev->q_tail = req;
	notify = blk_kick_queue(dev, &dl);
	if (dev->q_head == req)
		dev->st.queued++;
	blk_unlock(dev, flags);
	blk_notify(notify);
	blk_done_run(&dl);
	return 0;
}

int xl_blk_req_set_buf(struct xl_blk_req *req, enum xl_blk_op op,
		       uint64_t sector, void *const *pages,
		       unsigned int nr_pages, unsigned int offset,
		       unsigned int len)
{
	unsigned int sect = offset / XL_BLK_SECTOR_SIZE;
	unsigned int left = len / XL_BLK_SECTOR_SIZE, n = 0;

	if ((offset | len) % XL_BLK_SECTOR_SIZE || !len)
		return -XEN_EINVAL;
	req->op = op;
	req->sector = sector;
	while (left) {
		unsigned int pg = sect / XL_BLK_SECTORS_PER_PAGE;
		unsigned int first = sect % XL_BLK_SECTORS_PER_PAGE;
		unsigned int cnt = XL_BLK_SECTORS_PER_PAGE - first;

		if (n == XL_BLK_MAX_SEGS || pg >= nr_pages)
			return -XEN_EINVAL;
		if (cnt > left)
			cnt = left;
		req->seg[n].page = pages[pg];
		req->seg[n].first_sect = (uint8_t)first;
		req->seg[n].last_sect = (uint8_t)(first + cnt - 1);
		n++;
		sect += cnt;
		left -= cnt;
	}
	req->nr_segs = n;
	return 0;
}

/* --- responses ------------------------------------------------------------------- */

static int blk_status(struct xl_blkfront *dev, const struct blkif_response *r)
{
	switch (r->status) {
	case BLKIF_RSP_OKAY:
		return 0;
	case BLKIF_RSP_ERROR:
		return -XEN_EIO;
	case BLKIF_RSP_EOPNOTSUPP:
		return -XEN_EOPNOTSUPP;
	default:
		dev->st.rsp_bad_status++;
		xl_err("blkfront %u: response %#llx with status %d outside OKAY/ERROR/EOPNOTSUPP: request fails with EIO",
		       dev->devid, (unsigned long long)r->id, r->status);
		return -XEN_EIO;
	}
}

/* One response, already copied out of the ring. */
static void blk_one_response(struct xl_blkfront *dev,
			     const struct blkif_response *r,
			     struct blk_done *dl)
{
	uint32_t slot = (uint32_t)r->id;
	struct blk_shadow *sh;
	int status;

	if (slot >= dev->nr_slots) {
		dev->st.rsp_bad_id++;
		xl_err("blkfront %u: response id %#llx out of range (%u slots): dropped",
		       dev->devid, (unsigned long long)r->id, dev->nr_slots);
		return;
	}
	sh = &dev->shadow[slot];
	if (!sh->req || sh->req->id != r->id) {
		if (r->id == sh->last_id) {
			dev->st.rsp_dup++;
			xl_err("blkfront %u: duplicate response for completed id %#llx: dropped",
			       dev->devid, (unsigned long long)r->id);
		} else {
			dev->st.rsp_not_inflight++;
			xl_err("blkfront %u: response id %#llx not in flight: dropped",
			       dev->devid, (unsigned long long)r->id);
		}
		return;
	}
	status = blk_status(dev, r);
	if (r->operation != sh->op) {
		dev->st.rsp_bad_op++;
		xl_err("blkfront %u: response %#llx for operation %u, sent %u: request fails with EIO",
		       dev->devid, (unsigned long long)r->id, r->operation,
		       sh->op);
		status = -XEN_EIO;
	}
	if (!blk_complete(dev, slot, status, dl))
		return;
	/*
	 * XSA-396 (Linux CVE-2022-23036, blkif_completion(): "backend has
	 * not unmapped grant", BLKIF_STATE_ERROR): a backend that answers
	 * while it still maps the request's pages is broken.
	 */
	dev->st.grant_mapped++;
	xl_err("blkfront %u: response %#llx while the backend still maps the request's pages: request fails with EIO, device broken, %u more requests fail",
	       dev->devid, (unsigned long long)r->id, dev->inflight);
	dev->state = BLK_BROKEN;
	blk_fail_all(dev, true, &dev->st.broken_failed, dl);
}

/* Fatal: fail everything, refuse everything from now on. */
static void blk_break(struct xl_blkfront *dev, RING_IDX rp, struct blk_done *dl)
{
	dev->st.rsp_bad_prod++;
	xl_err("blkfront %u: backend rsp_prod %u with rsp_cons %u and %u requests produced: ring corrupt, device broken, %u requests fail with EIO",
	       dev->devid, rp, dev->ring.rsp_cons, dev->ring.req_prod_pvt,
	       dev->inflight);
	dev->state = BLK_BROKEN;
	blk_fail_all(dev, true, &dev->st.broken_failed, dl);
}

/*
 * Consume responses, then RING_FINAL_CHECK_FOR_RESPONSES (io/ring.h):
 * set rsp_event to the next index, a full barrier, and look again, so a
 * response pushed while we were finishing is not left without an event.
 */
static void blk_process_locked(struct xl_blkfront *dev, struct blk_done *dl)
{
	blkif_sring_t *s = dev->ring.sring;
	struct blkif_response r;
	RING_IDX rp, cons;

	for (;;) {
		rp = xl_read32(&s->rsp_prod);
		xl_rmb(); /* see the responses up to rp after reading rp */
		cons = dev->ring.rsp_cons;
		/* At most what we produced and did not consume yet. */
		if ((RING_IDX)(rp - cons) > blk_outstanding(dev)) {
			blk_break(dev, rp, dl);
			return;
		}
		for (; cons != rp; cons++) {
			blk_copy_out(&r, RING_GET_RESPONSE(&dev->ring, cons),
				     sizeof(r));
			dev->ring.rsp_cons = cons + 1;
			blk_one_response(dev, &r, dl);
			if (dev->state != BLK_CONNECTED)
				return; /* broken: nothing more is read */
		}
		xl_write32(&s->rsp_event, cons + 1);
		xl_mb(); /* rsp_event set before we re-read rsp_prod */
		if (xl_read32(&s->rsp_prod) == cons)
			break;
	}
	if (blk_orphans(dev) && !blk_outstanding(dev)) {
		/* Drained: what is still in flight lost its response. */
		xl_err("blkfront %u: %u requests lost their responses to bad ones: fail with EIO",
		       dev->devid, dev->inflight);
		blk_fail_all(dev, false, &dev->st.orphans, dl);
	}
}

static void blk_process(struct xl_blkfront *dev, bool irq)
{
	struct blk_done dl = { NULL, NULL };
	unsigned long flags;
	evtchn_port_t notify = 0;

	flags = blk_lock(dev);
	if (irq)
		dev->st.irqs++;
	if (dev->state == BLK_CONNECTED) {
		blk_process_locked(dev, &dl);
		notify = blk_kick_queue(dev, &dl);
	}
	blk_unlock(dev, flags);
	blk_notify(notify);
	blk_done_run(&dl);
}

void xl_blkfront_process(struct xl_blkfront *dev)
{
	blk_process(dev, false);
}

static void blk_irq(evtchn_port_t port, void *data)
{
	(void)port;
	blk_process(data, true);
}

/* --- ring setup and teardown ---------------------------------------------------- */

static void blk_noop(evtchn_port_t port, void *data)
{
	(void)port;
	(void)data;
}

static void blk_wake_ports(struct xl_blkfront *dev)
{
	unsigned int cpu, nr = xl_os_nr_vcpus();

	if (dev->wake_ports || dev->mem_mode)
		return;
	for (cpu = 0; cpu < nr && cpu < XL_MAX_VCPUS; cpu++)
		if (xl_evtchn_bind_ipi(cpu, blk_noop, NULL,
				       &dev->wake_port[cpu]))
			dev->wake_port[cpu] = 0;
	dev->wake_ports = true;
}

void xl_blkfront_wake(struct xl_blkfront *dev, unsigned int cpu)
{
	if (cpu < XL_MAX_VCPUS && cpu != xl_os_vcpu_id() && dev->wake_port[cpu])
		xl_evtchn_send(dev->wake_port[cpu]);
}

/* Thread context: the pool's pages (none is shared: none in flight). */
static void blk_bounce_free(struct xl_blkfront *dev)
{
	while (dev->bounce_nr)
		xl_os_free_page(dev->bounce_pool[--dev->bounce_nr]);
	xl_os_free(dev->bounce_pool);
	dev->bounce_pool = NULL;
}

/* Thread context: BLK_BOUNCE_PAGES, or at least one request's worth. */
static int blk_bounce_alloc(struct xl_blkfront *dev)
{
	void *page;

	if (dev->trusted || dev->bounce_pool)
		return 0;
	dev->bounce_pool =
		xl_os_zalloc(BLK_BOUNCE_PAGES * sizeof(*dev->bounce_pool));
	if (!dev->bounce_pool)
		return -XEN_ENOMEM;
	dev->bounce_nr = 0;
	while (dev->bounce_nr < BLK_BOUNCE_PAGES && (page = xl_os_alloc_page()))
		blk_bounce_put(dev, page);
	if (dev->bounce_nr >= XL_BLK_MAX_SEGS)
		return 0;
	blk_bounce_free(dev);
	return -XEN_ENOMEM;
}

/*
 * A ring page the backend still maps is not reused: the grant table frees
 * it once the backend unmaps (xl_gnttab_end_access_page).
 */
static void blk_free_ring(struct xl_blkfront *dev)
{
	unsigned int i, n = 1U << dev->ring_order, mapped = 0;

	for (i = 0; i < n && !dev->mem_mode; i++) {
		if (!dev->ring_pages[i])
			continue;
		if (xl_gnttab_end_access_page(dev->ring_ref[i],
					      dev->ring_pages[i]) == 1)
			mapped++;
		dev->ring_pages[i] = NULL;
	}
	if (mapped)
		xl_info("blkfront %u: backend still maps %u ring pages: freed once it unmaps",
			dev->devid, mapped);
	blk_bounce_free(dev);
	xl_os_free(dev->shadow);
	dev->shadow = NULL;
	dev->nr_slots = 0;
	dev->ring.sring = NULL;
}

static void blk_free_ring_pages_ungranted(struct xl_blkfront *dev,
					  unsigned int order)
{
	unsigned int i;

	for (i = 0; i < (1U << order); i++) {
		xl_os_free_page(dev->ring_pages[i]);
		dev->ring_pages[i] = NULL;
	}
}

/* 1 << order contiguous pages (hv's allocator gives them in a row). */
static int blk_alloc_ring_pages(struct xl_blkfront *dev, unsigned int order)
{
	unsigned int i, n = 1U << order;

	for (i = 0; i < n; i++) {
		dev->ring_pages[i] = xl_os_alloc_page();
		if (!dev->ring_pages[i] ||
		    (char *)dev->ring_pages[i] !=
			    (char *)dev->ring_pages[0] + i * XL_PAGE_SIZE) {
			n = i + 1;
			for (i = 0; i < n; i++) {
				if (dev->ring_pages[i])
					xl_os_free_page(dev->ring_pages[i]);
				dev->ring_pages[i] = NULL;
			}
			return -XEN_ENOMEM;
		}
	}
	return 0;
}

static int blk_table_init(struct xl_blkfront *dev, void *sring,
			  unsigned int order)
{
	unsigned int i;

	dev->ring_order = order;
	/* SHARED_RING_INIT / FRONT_RING_INIT before the backend sees it. */
	SHARED_RING_INIT((blkif_sring_t *)sring);
	FRONT_RING_INIT(&dev->ring, (blkif_sring_t *)sring,
			XL_PAGE_SIZE << order);
	dev->nr_slots = RING_SIZE(&dev->ring);
	dev->shadow = xl_os_zalloc(dev->nr_slots * sizeof(*dev->shadow));
	if (!dev->shadow)
		return -XEN_ENOMEM;
	for (i = 0; i < dev->nr_slots; i++) {
		dev->shadow[i].next_free = i + 1 < dev->nr_slots ? i + 1 :
								   BLK_NO_SLOT;
		/* Never a real id: slot | gen << 32 with gen >= 1. */
		dev->shadow[i].last_id = ~0ULL;
	}
	dev->free_head = 0;
	dev->inflight = 0;
	return 0;
}

/*
 * Grant the ring pages.  On failure the pages granted so far are ended
 * through the grant table, which keeps any the backend maps until it
 * unmaps (Linux's xenbus_setup_ring(): "don't let xenbus_grant_ring()
 * remove grants in error case"); only the pages never granted are freed
 * here.
 */
static int blk_grant_ring(struct xl_blkfront *dev, domid_t backend)
{
	unsigned int i, n = 1U << dev->ring_order, granted = 0;
	int rc = 0;

	while (granted < n) {
		rc = xl_gnttab_grant_access(
			backend, xl_os_virt_to_gfn(dev->ring_pages[granted]),
			false, &dev->ring_ref[granted]);
		if (rc)
			break;
		granted++;
	}
	if (!rc)
		return 0;
	for (i = 0; i < n; i++) {
		if (i < granted)
			xl_gnttab_end_access_page(dev->ring_ref[i],
						  dev->ring_pages[i]);
		else
			xl_os_free_page(dev->ring_pages[i]);
		dev->ring_pages[i] = NULL;
	}
	return rc;
}

int xl_blkfront_ring_prepare(struct xl_blkfront *dev, domid_t backend,
			     unsigned int order)
{
	int rc;

	if (dev->state != BLK_DISCONNECTED)
		return -XEN_EBUSY;
	if (order > XL_BLK_MAX_RING_ORDER)
		order = XL_BLK_MAX_RING_ORDER;
	/* Deferred grants of an earlier connection may be free by now. */
	xl_gnttab_retry_deferred();
	blk_wake_ports(dev);
	rc = blk_bounce_alloc(dev);
	if (rc)
		return rc;
	rc = blk_alloc_ring_pages(dev, order);
	if (rc && order) {
		xl_warn("blkfront %u: no %u contiguous pages, single-page ring",
			dev->devid, 1U << order);
		order = 0;
		rc = blk_alloc_ring_pages(dev, 0);
	}
	if (rc) {
		blk_bounce_free(dev);
		return rc;
	}
	dev->backend_id = backend;
	rc = blk_table_init(dev, dev->ring_pages[0], order);
	if (!rc) {
		rc = blk_grant_ring(dev, backend);
		if (rc) {
			blk_bounce_free(dev);
			xl_os_free(dev->shadow);
			dev->shadow = NULL;
			return rc;
		}
	} else {
		blk_free_ring_pages_ungranted(dev, order);
		blk_bounce_free(dev);
		return rc;
	}
	rc = xl_evtchn_alloc_unbound(backend, blk_irq, dev, &dev->port);
	if (rc) {
		dev->port = 0;
		blk_free_ring(dev);
		return rc;
	}
	dev->state = BLK_RING_READY;
	return 0;
}

int xl_blkfront_setup_ring(struct xl_blkfront *dev, domid_t backend,
			   unsigned int order, grant_ref_t *refs,
			   evtchn_port_t *port)
{
	unsigned int i;
	int rc = xl_blkfront_ring_prepare(dev, backend, order);

	if (rc)
		return rc;
	for (i = 0; i < (1U << dev->ring_order); i++)
		refs[i] = dev->ring_ref[i];
	*port = dev->port;
	return (int)dev->ring_order;
}

/* The backend's features are hostile input too. */
static int blk_check_features(struct xl_blkfront *dev,
			      const struct xl_blkfront_features *f)
{
	unsigned int ss = f->sector_size;

	if (!f->sectors || f->sectors > (1ULL << 48) || ss < 512 ||
	    ss > XL_PAGE_SIZE || (ss & (ss - 1))) {
		xl_err("blkfront %u: backend features unusable: sectors %llu sector-size %u",
		       dev->devid, (unsigned long long)f->sectors, ss);
		return -XEN_EINVAL;
	}
	return 0;
}

/*
 * Requests queued under an earlier connection, checked against this one's
 * features as a submit would be (a flush without flush or barrier, a
 * sector past a smaller disk): those fail now with the submit's error,
 * the others keep their order.  Under the lock.
 */
static void blk_recheck_queue(struct xl_blkfront *dev, struct blk_done *dl)
{
	struct xl_blk_req *req = dev->q_head, *next, *keep = NULL, *tail = NULL;
	int rc;

	for (; req; req = next) {
		next = req->next;
		req->next = NULL;
		rc = blk_check_req(dev, req);
		if (rc) {
			xl_warn("blkfront %u: a request kept for the new backend does not suit it: %d",
				dev->devid, rc);
			dev->st.recheck_failed++;
			req->status = rc;
			blk_account(dev, rc);
			blk_done_add(dl, req);
			continue;
		}
		if (tail)
			tail->next = req;
		else
			keep = req;
		tail = req;
	}
	dev->q_head = keep;
	dev->q_tail = tail;
}

int xl_blkfront_connect(struct xl_blkfront *dev,
			const struct xl_blkfront_features *f)
{
	struct blk_done dl = { NULL, NULL };
	unsigned long flags;
	evtchn_port_t notify;
	int rc = blk_check_features(dev, f);

	if (rc)
		return rc;
	flags = blk_lock(dev);
	if (dev->state != BLK_RING_READY) {
		blk_unlock(dev, flags);
		return -XEN_EINVAL;
	}
	dev->feat = *f;
	dev->feat.ring_order = dev->ring_order;
	dev->state = BLK_CONNECTED;
	dev->st.connects++;
	/* Kept over a restart or a restore: this backend may offer less. */
	blk_recheck_queue(dev, &dl);
	/* Requests kept queued over a restart go out now. */
	notify = blk_kick_queue(dev, &dl);
	blk_unlock(dev, flags);
	blk_notify(notify);
	blk_done_run(&dl);
	return 0;
}

int xl_blkfront_connect_direct(struct xl_blkfront *dev,
			       const struct xl_blkfront_features *f)
{
	return xl_blkfront_connect(dev, f);
}

/*
 * The backend is gone (closing) or restarting.  The port closes first, so
 * no handler runs any more; then what the ring holds is consumed (a
 * completed write is reported), then what is still in flight fails with
 * EIO.  Queued requests fail too when closing; over a restart they wait
 * for the next connection, and fail at the next closing disconnect if it
 * comes first (the backend closes, the re-probe fails, the device is
 * freed): every request completes exactly once.
 */
void xl_blkfront_disconnect(struct xl_blkfront *dev, bool closing)
{
	struct blk_done dl = { NULL, NULL };
	unsigned long flags;
	evtchn_port_t port;

	flags = blk_lock(dev);
	port = dev->port;
	dev->port = 0;
	blk_unlock(dev, flags);
	if (port)
		xl_evtchn_close(port);
	flags = blk_lock(dev);
	if (dev->state == BLK_DISCONNECTED) {
		/* Requests kept over a restart that will not come back. */
		if (closing && dev->q_head) {
			xl_warn("blkfront %u: backend gone with %u requests kept over its restart: they fail with EIO",
				dev->devid, blk_queued(dev));
			blk_fail_all(dev, true, &dev->st.disconnect_failed,
				     &dl);
		}
		blk_unlock(dev, flags);
		blk_done_run(&dl);
		return;
	}
	if (dev->state == BLK_CONNECTED)
		blk_process_locked(dev, &dl);
	if (dev->inflight)
		xl_warn("blkfront %u: backend %s with %u requests in flight: they fail with EIO",
			dev->devid, closing ? "closing" : "restarting",
			dev->inflight);
	blk_fail_all(dev, closing, &dev->st.disconnect_failed, &dl);
	dev->state = BLK_DISCONNECTED;
	dev->st.disconnects++;
	blk_unlock(dev, flags);
	blk_done_run(&dl);
	if (!dev->mem_mode)
		blk_free_ring(dev);
	else
		dev->ring.sring = NULL;
}

/*
 * Linux's blkfront_resume() + blkif_recover(): the shadow's requests are
 * issued again to the new backend, not the responses the old ring may
 * hold (what the old backend did after the save is not in the saved
 * memory; a write done twice writes the same data, and they keep their
 * order).  The grants are invalid in the new domain's table
 * (xl_gnttab_resume() ran before, as Linux's gnttab_resume() runs
 * before the devices), so ending them succeeds; the port was lost by the
 * event-channel resume (unbound, or interdomain: its number may be
 * another owner's now), so it is forgotten, not closed.
 */
unsigned int xl_blkfront_requeue_for_resume(struct xl_blkfront *dev)
{
	struct xl_blk_req *head = NULL, *tail = NULL;
	unsigned long flags;
	unsigned int n = 0, cpu;
	uint32_t slot, best;
	struct blk_shadow *sh;

	for (cpu = 0; dev->wake_ports && cpu < XL_MAX_VCPUS; cpu++)
		if (dev->wake_port[cpu] &&
		    !xl_evtchn_port_is(dev->wake_port[cpu], blk_noop, NULL) &&
		    xl_evtchn_bind_ipi(cpu, blk_noop, NULL,
				       &dev->wake_port[cpu]))
			dev->wake_port[cpu] = 0;
	flags = blk_lock(dev);
	if (dev->port && !xl_evtchn_port_is(dev->port, blk_irq, dev))
		dev->port = 0;
	for (;;) {
		/* The oldest in flight next: ring order (n <= 512). */
		best = BLK_NO_SLOT;
		for (slot = 0; dev->shadow && slot < dev->nr_slots; slot++)
			if (dev->shadow[slot].req &&
			    (best == BLK_NO_SLOT ||
			     dev->shadow[slot].seq < dev->shadow[best].seq))
				best = slot;
		if (best == BLK_NO_SLOT)
			break;
		sh = &dev->shadow[best];
		blk_end_grants(dev, sh, sh->req);
		blk_bounce_finish(dev, sh, sh->req, false);
		sh->req->id = 0;
		sh->req->next = NULL;
		if (tail)
			tail->next = sh->req;
		else
			head = sh->req;
		tail = sh->req;
		sh->last_id = ~0ULL;
		sh->req = NULL;
		dev->inflight--;
		n++;
	}
	if (tail) {
		tail->next = dev->q_head;
		if (!dev->q_head)
			dev->q_tail = tail;
		dev->q_head = head;
	}
	dev->st.resumes++;
	dev->st.reissued += n;
	if (dev->state != BLK_BROKEN)
		dev->state = BLK_DISCONNECTED;
	blk_unlock(dev, flags);
	if (dev->port) {
		/* Still ours (the same domain): close it as a disconnect does. */
		xl_evtchn_close(dev->port);
		dev->port = 0;
	}
	if (!dev->mem_mode && dev->shadow)
		blk_free_ring(dev);
	return n;
}

int xl_blkfront_attach_mem(struct xl_blkfront *dev, void *sring,
			   unsigned int order,
			   const struct xl_blkfront_features *f)
{
	int rc;

	if (dev->state != BLK_DISCONNECTED || order > XL_BLK_MAX_RING_ORDER)
		return -XEN_EINVAL;
	dev->mem_mode = true;
	rc = blk_table_init(dev, sring, order);
	if (rc)
		return rc;
	dev->state = BLK_RING_READY;
	return xl_blkfront_connect(dev, f);
}

/* --- device ----------------------------------------------------------------- */

struct xl_blkfront *xl_blkfront_alloc(unsigned int devid)
{
	struct xl_blkfront *dev = xl_os_zalloc(sizeof(*dev));

	if (dev) {
		dev->devid = devid;
		xl_spin_init(&dev->lock, "xl_blkfront.lock");
	}
	return dev;
}

void xl_blkfront_free(struct xl_blkfront *dev)
{
	unsigned int cpu;

	if (!dev)
		return;
	if (dev->xb_fini)
		dev->xb_fini(dev);
	xl_blkfront_disconnect(dev, true);
	if (dev->mem_mode)
		xl_os_free(dev->shadow);
	for (cpu = 0; cpu < XL_MAX_VCPUS; cpu++)
		if (dev->wake_port[cpu])
			xl_evtchn_close(dev->wake_port[cpu]);
	xl_os_free(dev);
}

/* --- the synchronous helper ---------------------------------------------------- */

struct blk_sync {
	uint32_t done; /* atomic */
	unsigned int cpu;
	struct xl_blkfront *dev;
};

/*
 * s lives in the waiter's stack frame, which is gone as soon as the
 * waiter sees done: read everything first.  xl_xchg32 is fully ordered:
 * the reads above and req->status (written before this callback ran) are
 * done before done reads 1 (the waiter's xl_rmb pairs with it).
 */
static void blk_sync_done(struct xl_blk_req *req)
{
	struct blk_sync *s = req->priv;
	struct xl_blkfront *dev = s->dev;
	unsigned int cpu = s->cpu;

	xl_xchg32(&s->done, 1);
	xl_blkfront_wake(dev, cpu);
}

static bool blk_sync_ready(void *arg)
{
	struct blk_sync *s = arg;

	return xl_read32(&s->done) ||
	       (s->dev->xb_pending && s->dev->xb_pending(s->dev));
}

/*
 * xl_idle_until() checks the condition with delivery masked before each
 * block, so the completion upcall cannot slip in between (no lost
 * wakeup); xenbus watches (a backend closing) are run meanwhile, as they
 * may be what fails the request.
 */
int xl_blkfront_io_sync(struct xl_blkfront *dev, struct xl_blk_req *req)
{
	struct blk_sync s = { .done = 0, .cpu = xl_os_vcpu_id(), .dev = dev };
	int rc;

	req->done = blk_sync_done;
	/* Only until done: the request is ours again after that. */
	// cppcheck-suppress autoVariables
	req->priv = &s;
	rc = xl_blkfront_submit(dev, req);
	if (!rc) {
		while (!xl_read32(&s.done)) {
			xl_wait_until(blk_sync_ready, &s);
			if (dev->xb_poll && !xl_read32(&s.done))
				dev->xb_poll(dev);
		}
		xl_rmb(); /* done before req->status: blk_sync_done's xchg */
		rc = req->status;
	}
	req->priv = NULL;
	return rc;
}

/* --- queries -------------------------------------------------------------------- */

int xl_blkfront_set_trusted(struct xl_blkfront *dev, bool trusted)
{
	unsigned long flags = blk_lock(dev);
	int rc = 0;

	if (dev->state == BLK_DISCONNECTED)
		dev->trusted = trusted;
	else
		rc = -XEN_EBUSY;
	blk_unlock(dev, flags);
	return rc;
}

bool xl_blkfront_connected(struct xl_blkfront *dev)
{
	unsigned long flags = blk_lock(dev);
	bool c = dev->state == BLK_CONNECTED;

	blk_unlock(dev, flags);
	return c;
}

bool xl_blkfront_broken(struct xl_blkfront *dev)
{
	unsigned long flags = blk_lock(dev);
	bool b = dev->state == BLK_BROKEN;

	blk_unlock(dev, flags);
	return b;
}

unsigned int xl_blkfront_inflight(struct xl_blkfront *dev)
{
	unsigned long flags = blk_lock(dev);
	unsigned int n = dev->inflight;

	blk_unlock(dev, flags);
	return n;
}

void xl_blkfront_get_features(struct xl_blkfront *dev,
			      struct xl_blkfront_features *f)
{
	unsigned long flags = blk_lock(dev);

	*f = dev->feat;
	blk_unlock(dev, flags);
}

void xl_blkfront_get_stats(struct xl_blkfront *dev,
			   struct xl_blkfront_stats *st)
{
	unsigned long flags = blk_lock(dev);

	*st = dev->st;
	blk_unlock(dev, flags);
}

void xl_blkfront_get_ring(struct xl_blkfront *dev,
			  struct xl_blkfront_ring_state *rs)
{
	unsigned long flags = blk_lock(dev);
	blkif_sring_t *s = dev->ring.sring;

	memset(rs, 0, sizeof(*rs));
	rs->inflight = dev->inflight;
	rs->queued = blk_queued(dev);
	if (s) {
		rs->req_prod_pvt = dev->ring.req_prod_pvt;
		rs->rsp_cons = dev->ring.rsp_cons;
		/* The backend's fields move under us: a snapshot. */
		rs->req_prod = xl_read32(&s->req_prod);
		rs->req_event = xl_read32(&s->req_event);
		rs->rsp_prod = xl_read32(&s->rsp_prod);
		rs->rsp_event = xl_read32(&s->rsp_event);
		rs->port = dev->port;
	}
	blk_unlock(dev, flags);
}
