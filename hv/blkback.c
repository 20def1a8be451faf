// SPDX-License-Identifier: GPL-2.0
/*
 * hv blkback: an in-process blkif backend acting as domain 0, over RAM or
 * a file.  Modelled on Linux's xen-blkback (drivers/block/xen-blkback/
 * xenbus.c: frontend_changed(), connect_ring(), connect(); blkback.c:
 * do_block_io_op(), dispatch_rw_block_io(), make_response()) for the
 * protocol of public io/blkif.h, with hv's grant mapping (hv/gnttab.c)
 * and Xen-consumer event channels (hv_evtchn_bind_xen).
 *
 * Threads: workers only.  The guest's kick wakes one, which reads the
 * requests off the ring (copied out once and checked, as blkback's
 * RING_COPY_REQUEST) into the queue and wakes others if there is more
 * than it takes; a worker takes a share of the queue, maps the data
 * grants, copies, unmaps, pushes each response, and notifies once for the
 * share.  Requests finish out
 * of order (a random per-request delay); a flush (or barrier) waits until
 * every request dispatched before it has been answered, then completes
 * (Linux blkback drains in-flight I/O before a flush: drain_io()).
 *
 * Shared ring indexes and slots are accessed with __atomic loads/stores
 * (slots as 64-bit words), as hv accesses all guest-shared memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv-internal.h"
#include "hv-blk.h"
#include "hv-xs.h"

#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/xenbus.h>

#define BB_SECTOR 512
#define BB_MAX_ORDER 4
#define BB_MAX_WORKERS 16
#define BB_RAM_BLOCK 4096
#define BB_RAM_STRIPES 64
#define BB_MAX_KEPT (4 * BLKIF_MAX_SEGMENTS_PER_REQUEST)

struct bb_item {
	struct blkif_request req; /* the private copy */
	uint64_t seq;
	struct bb_item *qnext;	       /* work queue */
	struct bb_item *onext, *oprev; /* dispatch order, until answered */
	int16_t status;		       /* preset error, or to be done */
	bool ready;		       /* validated, to be done */
};

struct hv_blkback {
	struct hv_blkback_config cfg;
	struct hv_domain *d;
	pthread_mutex_t lock;
	pthread_cond_t qcond; /* workers: queued work or a kick */
	pthread_cond_t wcond; /* answers: flushes' order, disconnect */

	/* The disk. */
	uint8_t *ram;
	/*
	 * A RAM disk's 4 KiB blocks, each under one of these (block number
	 * modulo BB_RAM_STRIPES): a guest may have two writes, or a read and
	 * a write, to one block in flight at once, and the workers would
	 * then copy into the same bytes together -- undefined behaviour in
	 * C, a data race to ThreadSanitizer (seen in blk/guest_bench's
	 * randwrite at QD 32).  A real disk makes each sector atomic; this
	 * makes each block so, and leaves the order of two such requests
	 * open, as blkif.h does (it promises no order between requests in
	 * flight).  A file disk has the kernel's page lock for this.
	 */
	pthread_mutex_t ram_lock[BB_RAM_STRIPES];
	int fd;

	/* The connection (under lock). */
	bool connected, serving;
	unsigned int ring_order;
	struct hv_grant_map ring_map[1U << BB_MAX_ORDER];
	blkif_back_ring_t ring;
	uint32_t port;
	uint64_t seq;
	uint64_t last_rsp_id;
	RING_IDX prod_skew; /* bad_rsp_prod: sticks once set */
	struct bb_item *q_head, *q_tail;
	unsigned int q_len;
	struct bb_item *o_head, *o_tail;
	unsigned int in_progress;
	struct hv_blk_hostile hostile;
	struct hv_blkback_stats st;
	/* Counted outside lock (atomic), folded into st by get_stats. */
	uint64_t a_kicks, a_notifies, a_bad_requests, a_map_errors;

	/*
	 * A kick from the guest (the consumer callback takes lock: it is
	 * never held across an event channel call, see bb_connect()).
	 */
	bool kick, stop;
	bool polling; /* a worker watches req_prod (cfg.poll_us) */

	pthread_t workers[BB_MAX_WORKERS];
	unsigned int nr_workers;
	uint64_t rng;

	/* xenstore */
	char bpath[96], fpath[96], fstate[112], token[32];
	int xb_state; /* ours, atomic */
	bool watching;
	bool restarting;   /* atomic: hostile restart, InitWait after Closed */
	bool dying;	   /* atomic: hostile init_closed, Closed for good */
	bool unregistered; /* atomic: Closed while not online: gone */

	/* cfg.watch_delay_us: the backend's own xenwatch thread. */
	pthread_mutex_t xw_lock;
	pthread_cond_t xw_cond;
	unsigned int xw_pending; /* under xw_lock: events not handled yet */
	bool xw_stop;		 /* under xw_lock */
	bool xw_running;
	pthread_t xw_thread;
	bool stalled, stall_released; /* under xw_lock: stall_connect */

	/* Hostile keep_mapping and whole_page (under lock). */
	struct hv_grant_map kept[BB_MAX_KEPT];
	unsigned int nr_kept;
	uint8_t snoop[HV_PAGE_SIZE];
};

/* --- shared-ring helpers ------------------------------------------------ */

static uint32_t bb_read_idx(const RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void bb_copy_out(void *dst, const void *slot, size_t n)
{
	const uint64_t *s = slot;
	uint64_t *d = dst;
	size_t i;

	for (i = 0; i < n / 8; i++)
		d[i] = __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

static void bb_copy_in(void *slot, const void *src, size_t n)
{
	const uint64_t *s = src;
	uint64_t *d = slot;
	size_t i;

	for (i = 0; i < n / 8; i++)
		__atomic_store_n(&d[i], s[i], __ATOMIC_RELAXED);
}

static uint64_t bb_rand(struct hv_blkback *bb)
{
	uint64_t x = bb->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	bb->rng = x;
	return x;
}

/*
 * Called from a guest vCPU thread (a test body), the API counts as inside
 * hv, as a hypercall does (hv/xenstore.c does the same): an upcall must not
 * interrupt it there, its handler may send to our port and take lock
 * while this thread holds it.
 */
static struct hv_vcpu *bb_enter(void)
{
	struct hv_vcpu *v = hv_vcpu_current();

	if (v)
		hv_enter(v);
	return v;
}

static void bb_leave(struct hv_vcpu *v)
{
	if (v)
		hv_leave(v);
}

/* --- responses ------------------------------------------------------------ */

static bool bb_tick(unsigned int *ctr)
{
	if (!*ctr)
		return false;
	return --*ctr == 0;
}

static void bb_victim(struct hv_blkback *bb, const struct bb_item *it)
{
	unsigned int n = bb->st.nr_victims;

	bb->st.hostile++;
	if (n < HV_BLK_MAX_VICTIMS) {
		bb->st.victims[n] = it->req.id;
		bb->st.victim_ops[n] = it->req.operation;
		bb->st.nr_victims = n + 1;
	}
}

static void bb_unlink(struct hv_blkback *bb, struct bb_item *it)
{
	if (it->oprev)
		it->oprev->onext = it->onext;
	else
		bb->o_head = it->onext;
	if (it->onext)
		it->onext->oprev = it->oprev;
	else
		bb->o_tail = it->oprev;
	bb->in_progress--;
}

/*
 * make_response(): under lock; the hostile modes rewrite what goes out.
 * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY (io/ring.h): the response before
 * rsp_prod (release), rsp_prod before reading rsp_event (full barrier).
 * Returns whether the guest must be notified.
 */
static bool bb_respond(struct hv_blkback *bb, struct bb_item *it)
{
	struct blkif_response r;
	blkif_sring_t *s = bb->ring.sring;
	RING_IDX old, new;
	bool bad_prod = false;

	memset(&r, 0, sizeof(r));
	r.id = it->req.id;
	r.operation = it->req.operation;
	r.status = it->status;
	if (bb->o_head != it)
		bb->st.out_of_order++;
	bb_unlink(bb, it);
	if (bb_tick(&bb->hostile.id_out_of_range)) {
		bb_victim(bb, it);
		r.id = 0x1ffffffffULL; /* slot 0xffffffff */
	} else if (bb_tick(&bb->hostile.id_ring_size)) {
		bb_victim(bb, it);
		r.id = (r.id & ~0xffffffffULL) | RING_SIZE(&bb->ring);
	} else if (bb_tick(&bb->hostile.id_not_in_flight)) {
		bb_victim(bb, it);
		r.id ^= 1ULL << 62; /* the slot's, a generation never used */
	} else if (bb_tick(&bb->hostile.dup_response)) {
		bb_victim(bb, it);
		r.id = bb->last_rsp_id;
	} else if (bb_tick(&bb->hostile.bad_status)) {
		bb_victim(bb, it);
		r.status = 0x7e;
	} else if (bb_tick(&bb->hostile.bad_op)) {
		bb_victim(bb, it);
		r.operation = r.operation == BLKIF_OP_READ ? BLKIF_OP_WRITE :
							     BLKIF_OP_READ;
	} else if (bb_tick(&bb->hostile.bad_rsp_prod)) {
		bb_victim(bb, it);
		bad_prod = true;
	}
	bb->last_rsp_id = it->req.id;
	bb_copy_in(RING_GET_RESPONSE(&bb->ring, bb->ring.rsp_prod_pvt), &r,
		   sizeof(r));
	bb->ring.rsp_prod_pvt++;
	bb->st.responses++;
	old = bb_read_idx(&s->rsp_prod);
	if (bad_prod)
		bb->prod_skew += RING_SIZE(&bb->ring) + 3;
	new = bb->ring.rsp_prod_pvt + bb->prod_skew;
	/*
	 * A SEQ_CST store (xchg on x86) then a SEQ_CST load: the response
	 * is visible before rsp_prod (the release half, ring.h's wmb), and
	 * rsp_prod before we read rsp_event (ring.h's mb).  No separate
	 * fences: ThreadSanitizer does not model them.
	 */
	__atomic_store_n(&s->rsp_prod, new, __ATOMIC_SEQ_CST);
	return (RING_IDX)(new -
			  __atomic_load_n(&s->rsp_event, __ATOMIC_SEQ_CST)) <
	       (RING_IDX)(new - old);
}

static void bb_notify(struct hv_blkback *bb, uint32_t port)
{
	__atomic_fetch_add(&bb->a_notifies, 1, __ATOMIC_RELAXED);
	hv_evtchn_notify_guest(bb->d, port);
}

/* --- the disk -------------------------------------------------------------- */

/*
 * One segment's copy to or from the RAM disk: at most a page, so at most
 * two blocks, their stripes locked in ascending order (no deadlock with a
 * worker locking the same two).
 */
static void bb_ram_io(struct hv_blkback *bb, bool write, uint64_t off,
		      void *buf, size_t len)
{
	unsigned int a = (unsigned int)(off / BB_RAM_BLOCK) % BB_RAM_STRIPES;
	unsigned int b =
		(unsigned int)((off + len - 1) / BB_RAM_BLOCK) % BB_RAM_STRIPES;
	unsigned int lo = a < b ? a : b, hi = a < b ? b : a;

	pthread_mutex_lock(&bb->ram_lock[lo]);
	if (hi != lo)
		pthread_mutex_lock(&bb->ram_lock[hi]);
	if (write)
		memcpy(bb->ram + off, buf, len);
	else
		memcpy(buf, bb->ram + off, len);
	if (hi != lo)
		pthread_mutex_unlock(&bb->ram_lock[hi]);
	pthread_mutex_unlock(&bb->ram_lock[lo]);
}

static int bb_disk_io(struct hv_blkback *bb, bool write, uint64_t off,
		      void *buf, size_t len)
{
	if (bb->ram) {
		bb_ram_io(bb, write, off, buf, len);
		return 0;
	}
	if (write)
		return pwrite(bb->fd, buf, len, (off_t)off) == (ssize_t)len ?
			       0 :
			       -1;
	return pread(bb->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -1;
}

/* Hostile whole_page: what a backend mapping the whole page can do. */
static void bb_whole_page(struct hv_blkback *bb, bool write,
			  const struct blkif_request_segment *sg, uint8_t *va)
{
	size_t lo = (size_t)sg->first_sect * BB_SECTOR;
	size_t hi = (size_t)(sg->last_sect + 1) * BB_SECTOR;

	if (write) {
		/* Read-only mapping: everything the frontend shows us. */
		pthread_mutex_lock(&bb->lock);
		memcpy(bb->snoop, va, HV_PAGE_SIZE);
		pthread_mutex_unlock(&bb->lock);
		return;
	}
	memset(va, HV_BLK_SCRIBBLE, lo);
	memset(va + hi, HV_BLK_SCRIBBLE, HV_PAGE_SIZE - hi);
}

/* Hostile keep_mapping: hold m after the response; false if no room. */
static bool bb_keep(struct hv_blkback *bb, const struct hv_grant_map *m)
{
	bool kept = false;

	pthread_mutex_lock(&bb->lock);
	if (bb->nr_kept < BB_MAX_KEPT) {
		bb->kept[bb->nr_kept++] = *m;
		kept = true;
	}
	pthread_mutex_unlock(&bb->lock);
	return kept;
}

/*
 * dispatch_rw_block_io(): map each segment, copy, unmap (keep: the
 * hostile keep_mapping, the mappings outlive the response).
 */
static int16_t bb_rw(struct hv_blkback *bb, const struct blkif_request *req,
		     bool keep, bool whole)
{
	bool write = req->operation != BLKIF_OP_READ;
	uint64_t off = req->sector_number * BB_SECTOR;
	unsigned int i;

	for (i = 0; i < req->nr_segments; i++) {
		const struct blkif_request_segment *sg = &req->seg[i];
		size_t n = (size_t)(sg->last_sect - sg->first_sect + 1) *
			   BB_SECTOR;
		struct hv_grant_map m;
		int rc;

		/* A write reads the guest's page: a read-only mapping. */
		if (hv_gnttab_map(bb->d, sg->gref, write, &m) != GNTST_okay) {
			__atomic_fetch_add(&bb->a_map_errors, 1,
					   __ATOMIC_RELAXED);
			return BLKIF_RSP_ERROR;
		}
		rc = bb_disk_io(bb, write, off,
				(uint8_t *)m.va + sg->first_sect * BB_SECTOR,
				n);
		if (whole)
			bb_whole_page(bb, write, sg, m.va);
		if (!keep || !bb_keep(bb, &m))
			hv_gnttab_unmap(&m);
		if (rc)
			return BLKIF_RSP_ERROR;
		off += n;
	}
	return BLKIF_RSP_OKAY;
}

/* --- requests --------------------------------------------------------------- */

static bool bb_is_ordered(uint8_t op)
{
	return op == BLKIF_OP_FLUSH_DISKCACHE || op == BLKIF_OP_WRITE_BARRIER;
}

/* Checks of do_block_io_op() / dispatch_rw_block_io(): a bad request is
 * answered BLKIF_RSP_ERROR (EOPNOTSUPP for an operation not offered). */
static int16_t bb_check(struct hv_blkback *bb, const struct blkif_request *r)
{
	uint64_t total = 0;
	unsigned int i;

	switch (r->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		return bb->cfg.no_flush ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_OKAY;
	case BLKIF_OP_WRITE_BARRIER:
		if (!bb->cfg.barrier)
			return BLKIF_RSP_EOPNOTSUPP;
		if (!r->nr_segments)
			return BLKIF_RSP_OKAY;
		break;
	default:
		return BLKIF_RSP_EOPNOTSUPP;
	}
	if (!r->nr_segments || r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return BLKIF_RSP_ERROR;
	for (i = 0; i < r->nr_segments; i++) {
		if (r->seg[i].first_sect > r->seg[i].last_sect ||
		    r->seg[i].last_sect >= HV_PAGE_SIZE / BB_SECTOR)
			return BLKIF_RSP_ERROR;
		total += r->seg[i].last_sect - r->seg[i].first_sect + 1U;
	}
	if (r->sector_number >= bb->cfg.sectors ||
	    total > bb->cfg.sectors - r->sector_number)
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

/*
 * Under lock: take what the frontend produced.  final: a worker about to
 * sleep, RING_FINAL_CHECK_FOR_REQUESTS (req_event, then look again);
 * otherwise a busy worker's look, which leaves req_event alone so the
 * frontend does not kick while someone will look anyway (Linux blkback
 * only re-arms req_event when it runs out of work).  Returns how many.
 */
static unsigned int bb_consume(struct hv_blkback *bb, bool final)
{
	blkif_sring_t *s = bb->ring.sring;
	unsigned int got = 0;
	RING_IDX rp, rc;

	if (!bb->connected || !bb->serving)
		return 0;
	for (;;) {
		rp = bb_read_idx(&s->req_prod);
		/* RING_REQUEST_PROD_OVERFLOW: a frontend claiming more than
		 * a ring's worth is ignored until it behaves. */
		if ((RING_IDX)(rp - bb->ring.rsp_prod_pvt) >
		    RING_SIZE(&bb->ring)) {
			fprintf(stderr,
				"# hv blkback: d%u req_prod %u overflows the ring\n",
				bb->d->domid, rp);
			return got;
		}
		for (rc = bb->ring.req_cons; rc != rp; rc++) {
			struct bb_item *it = calloc(1, sizeof(*it));

			if (!it)
				return got;
			got++;
			bb_copy_out(&it->req, RING_GET_REQUEST(&bb->ring, rc),
				    sizeof(it->req));
			bb->ring.req_cons = rc + 1;
			it->status = bb_check(bb, &it->req);
			it->seq = bb->seq++;
			bb->st.requests++;
			it->oprev = bb->o_tail;
			if (bb->o_tail)
				bb->o_tail->onext = it;
			else
				bb->o_head = it;
			bb->o_tail = it;
			bb->in_progress++;
			if (bb->in_progress > bb->st.max_inflight)
				bb->st.max_inflight = bb->in_progress;
			if (bb->q_tail)
				bb->q_tail->qnext = it;
			else
				bb->q_head = it;
			bb->q_tail = it;
			bb->q_len++;
		}
		if (!final)
			break;
		/* RING_FINAL_CHECK_FOR_REQUESTS: req_event, mb, look again
		 * (a SEQ_CST store and load make the full barrier). */
		__atomic_store_n(&s->req_event, bb->ring.req_cons + 1,
				 __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&s->req_prod, __ATOMIC_SEQ_CST) ==
		    bb->ring.req_cons)
			break;
	}
	return got;
}

/* The guest's EVTCHNOP_send: only signal (hv.h's rule for consumers). */
static void bb_kick(struct hv_domain *d, uint32_t port, void *arg)
{
	struct hv_blkback *bb = arg;

	(void)d;
	(void)port;
	__atomic_fetch_add(&bb->a_kicks, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&bb->lock);
	bb->kick = true;
	pthread_cond_signal(&bb->qcond);
	pthread_mutex_unlock(&bb->lock);
}

static void bb_delay(struct hv_blkback *bb, unsigned int us)
{
	struct timespec ts = { 0, (long)us * 1000 };

	if (us)
		nanosleep(&ts, NULL);
	(void)bb;
}

static void bb_switch_state(struct hv_blkback *bb, int state);

/*
 * One request, on a worker; *pending says the guest is owed a
 * notification for answers pushed so far (sent before a flush waits).
 */
static void bb_do(struct hv_blkback *bb, struct bb_item *it, bool *pending)
{
	uint8_t op = it->req.operation;
	unsigned int delay = 0;
	uint32_t port;
	bool notify = false, close = false, keep, whole;
	int close_state = XenbusStateClosing;

	pthread_mutex_lock(&bb->lock);
	keep = (op == BLKIF_OP_READ || op == BLKIF_OP_WRITE) &&
	       bb_tick(&bb->hostile.keep_mapping);
	if (keep)
		bb_victim(bb, it);
	whole = bb->hostile.whole_page;
	if (bb->cfg.delay_max_us && !bb_is_ordered(op))
		delay = (unsigned int)(bb_rand(bb) %
				       (bb->cfg.delay_max_us + 1));
	pthread_mutex_unlock(&bb->lock);
	bb_delay(bb, delay);
	if (it->status == BLKIF_RSP_OKAY && bb_is_ordered(op)) {
		/* drain_io(): everything dispatched before has been answered. */
		pthread_mutex_lock(&bb->lock);
		port = bb->port;
		if (bb->o_head != it && *pending) {
			pthread_mutex_unlock(&bb->lock);
			bb_notify(bb, port);
			*pending = false;
			pthread_mutex_lock(&bb->lock);
		}
		if (bb->o_head != it)
			bb->st.flush_waits++;
		while (bb->o_head != it && bb->connected)
			pthread_cond_wait(&bb->wcond, &bb->lock);
		if (op == BLKIF_OP_FLUSH_DISKCACHE)
			bb->st.flushes++;
		else
			bb->st.barriers++;
		pthread_mutex_unlock(&bb->lock);
		if (bb->fd >= 0)
			fdatasync(bb->fd);
	}
	if (it->status == BLKIF_RSP_OKAY &&
	    (op == BLKIF_OP_READ || op == BLKIF_OP_WRITE ||
	     (op == BLKIF_OP_WRITE_BARRIER && it->req.nr_segments)))
		it->status = bb_rw(bb, &it->req, keep, whole);
	else if (it->status != BLKIF_RSP_OKAY)
		__atomic_fetch_add(&bb->a_bad_requests, 1, __ATOMIC_RELAXED);

	pthread_mutex_lock(&bb->lock);
	if (op == BLKIF_OP_READ)
		bb->st.reads++;
	else if (op == BLKIF_OP_WRITE)
		bb->st.writes++;
	if (bb->connected && bb->serving && bb_tick(&bb->hostile.closing)) {
		bb_victim(bb, it);
		bb->serving = false;
		close = true;
	} else if (bb->connected && bb->serving &&
		   bb_tick(&bb->hostile.restart)) {
		bb_victim(bb, it);
		bb->serving = false;
		close = true;
		/* frontend_changed() finishes it: Closed, then InitWait. */
		__atomic_store_n(&bb->restarting, true, __ATOMIC_RELEASE);
	} else if (bb->connected && bb->serving &&
		   bb_tick(&bb->hostile.init_closed)) {
		bb_victim(bb, it);
		bb->serving = false;
		close = true;
		/* A restart (Initialising) that ends Closed, not InitWait. */
		close_state = XenbusStateInitialising;
		__atomic_store_n(&bb->dying, true, __ATOMIC_RELEASE);
	}
	if (bb->connected && bb->serving)
		notify = bb_respond(bb, it);
	else
		bb_unlink(bb, it);
	port = bb->port;
	pthread_cond_broadcast(&bb->wcond);
	pthread_mutex_unlock(&bb->lock);
	free(it);
	if (notify)
		*pending = true;
	if (close) { /* instead of this response: Closing, mid-I/O */
		if (*pending)
			bb_notify(bb, port);
		*pending = false;
		bb_switch_state(bb, close_state);
	}
}

#define BB_BATCH 8

/* Under lock: this worker's share of the queue (FIFO order kept). */
static unsigned int bb_take(struct hv_blkback *bb, struct bb_item **batch)
{
	unsigned int n = 0, share;

	share = (bb->q_len + bb->nr_workers - 1) / bb->nr_workers;
	if (share > BB_BATCH)
		share = BB_BATCH;
	while (n < share && bb->q_head) {
		batch[n++] = bb->q_head;
		bb->q_head = bb->q_head->qnext;
		bb->q_len--;
	}
	if (!bb->q_head)
		bb->q_tail = NULL;
	else
		pthread_cond_signal(&bb->qcond); /* more for another worker */
	return n;
}

static uint64_t bb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * cfg.poll_us: out of work, one worker watches req_prod (without lock)
 * before the final check arms req_event.  True when the frontend produced
 * past what had been consumed when the watch began.
 */
static bool bb_poll(struct hv_blkback *bb)
{
	const blkif_sring_t *s = bb->ring.sring;
	RING_IDX seen = bb->ring.req_cons;
	uint64_t until;
	bool got = false;

	if (!bb->cfg.poll_us || bb->polling || !bb->connected || !bb->serving ||
	    bb->stop)
		return false;
	bb->polling = true;
	pthread_mutex_unlock(&bb->lock);
	until = bb_now_ns() + bb->cfg.poll_us * 1000ULL;
	do {
		/* Acquire: the requests below req_prod are written. */
		if (bb_read_idx(&s->req_prod) != seen) {
			got = true;
			break;
		}
		__builtin_ia32_pause();
	} while (bb_now_ns() < until);
	pthread_mutex_lock(&bb->lock);
	bb->polling = false;
	if (got)
		bb->st.poll_hits++;
	/* The ring may be unmapped now (bb_wait_poller). */
	pthread_cond_broadcast(&bb->wcond);
	return got;
}

/* Under lock, not connected: no worker reads the ring's pages any more. */
static void bb_wait_poller(struct hv_blkback *bb)
{
	while (bb->polling)
		pthread_cond_wait(&bb->wcond, &bb->lock);
}

static void *bb_worker(void *arg)
{
	struct hv_blkback *bb = arg;
	struct bb_item *batch[BB_BATCH];
	unsigned int n, i;
	uint32_t port;
	bool pending;

	pthread_mutex_lock(&bb->lock);
	for (;;) {
		bb->kick = false;
		bb_consume(bb, false);
		n = bb_take(bb, batch);
		if (!n) {
			if (bb_poll(bb))
				continue;
			/* Out of work: re-arm req_event and look once more. */
			if (bb_consume(bb, true))
				continue;
			if (bb->stop)
				break;
			while (!bb->q_head && !bb->kick && !bb->stop)
				pthread_cond_wait(&bb->qcond, &bb->lock);
			continue;
		}
		pthread_mutex_unlock(&bb->lock);
		pending = false;
		for (i = 0; i < n; i++)
			bb_do(bb, batch[i], &pending);
		pthread_mutex_lock(&bb->lock);
		port = bb->port;
		if (pending) {
			pthread_mutex_unlock(&bb->lock);
			bb_notify(bb, port);
			pthread_mutex_lock(&bb->lock);
		}
	}
	pthread_mutex_unlock(&bb->lock);
	return NULL;
}

/* --- connect / disconnect -------------------------------------------------------- */

static void bb_unmap_ring(struct hv_blkback *bb)
{
	unsigned int i;

	for (i = 0; i < (1U << BB_MAX_ORDER); i++)
		hv_gnttab_unmap(&bb->ring_map[i]);
	bb->ring.sring = NULL;
}

/* connect_ring() + xen_blkif_map(): map the ring, bind the port. */
static int bb_connect(struct hv_blkback *bb, const uint32_t *refs,
		      unsigned int order, uint32_t port)
{
	unsigned int i;
	int rc;

	if (order > bb->cfg.max_ring_order)
		return -XEN_EINVAL;
	pthread_mutex_lock(&bb->lock);
	if (bb->connected) {
		pthread_mutex_unlock(&bb->lock);
		return -XEN_EBUSY;
	}
	for (i = 0; i < (1U << order); i++) {
		if (hv_gnttab_map(bb->d, refs[i], false, &bb->ring_map[i]) ||
		    (char *)bb->ring_map[i].va !=
			    (char *)bb->ring_map[0].va + i * HV_PAGE_SIZE) {
			/* hv cannot remap: the pages must be contiguous. */
			__atomic_fetch_add(&bb->a_map_errors, 1,
					   __ATOMIC_RELAXED);
			bb_unmap_ring(bb);
			pthread_mutex_unlock(&bb->lock);
			return -XEN_EINVAL;
		}
	}
	BACK_RING_INIT(&bb->ring, (blkif_sring_t *)bb->ring_map[0].va,
		       HV_PAGE_SIZE << order);
	bb->prod_skew = 0;
	bb->ring_order = order;
	bb->port = port;
	bb->connected = true;
	bb->serving = true;
	bb->st.connects++;
	pthread_mutex_unlock(&bb->lock);
	/*
	 * Not under lock: bb_kick() takes it under the channel's lock, and
	 * bind_xen calls it once (as Xen raises the new port).
	 */
	rc = hv_evtchn_bind_xen(bb->d, port, bb_kick, bb);
	if (rc) {
		pthread_mutex_lock(&bb->lock);
		bb->connected = false;
		bb_wait_poller(bb);
		bb_unmap_ring(bb);
		pthread_mutex_unlock(&bb->lock);
	}
	return rc;
}

int hv_blkback_connect_direct(struct hv_blkback *bb, const uint32_t *refs,
			      unsigned int order, uint32_t port)
{
	struct hv_vcpu *v = bb_enter();
	int rc = bb_connect(bb, refs, order, port);

	bb_leave(v);
	return rc;
}

/* xen_blkif_disconnect(): wait for I/O in progress, unmap, unbind. */
static void bb_disconnect(struct hv_blkback *bb)
{
	uint32_t port;
	bool was;

	pthread_mutex_lock(&bb->lock);
	was = bb->connected;
	bb->connected = false;
	pthread_cond_broadcast(&bb->wcond);
	while (bb->in_progress || bb->polling)
		pthread_cond_wait(&bb->wcond, &bb->lock);
	port = bb->port;
	pthread_mutex_unlock(&bb->lock);
	if (!was)
		return;
	hv_evtchn_unbind_xen(bb->d, port);
	pthread_mutex_lock(&bb->lock);
	bb_unmap_ring(bb);
	bb->port = 0;
	bb->st.disconnects++;
	pthread_mutex_unlock(&bb->lock);
}

void hv_blkback_disconnect(struct hv_blkback *bb)
{
	struct hv_vcpu *v = bb_enter();

	bb_disconnect(bb);
	bb_leave(v);
}

/* --- xenstore: the toolstack's nodes and the backend driver's states ------------ */

static void bb_xs_printf(struct hv_blkback *bb, const char *key,
			 const char *fmt, unsigned long long v)
{
	char path[160], val[32];
	const char *const *o;

	for (o = bb->cfg.omit; o && *o; o++)
		if (!strcmp(*o, key))
			return;
	snprintf(path, sizeof(path), "%s/%s", bb->bpath, key);
	snprintf(val, sizeof(val), fmt, v);
	hv_xs_write(path, val);
}

static void bb_switch_state(struct hv_blkback *bb, int state)
{
	__atomic_store_n(&bb->xb_state, state, __ATOMIC_RELEASE);
	if (bb->cfg.xenstore)
		bb_xs_printf(bb, "state", "%llu", (unsigned long long)state);
}

static int bb_fe_read_ulong(struct hv_blkback *bb, const char *key,
			    unsigned long *v)
{
	char path[160], *s, *end;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", bb->fpath, key);
	s = hv_xs_read(path, NULL, &err);
	if (!s)
		return err ? err : -XEN_ENOENT;
	errno = 0;
	*v = strtoul(s, &end, 10);
	err = (end == s || *end || errno) ? -XEN_EINVAL : 0;
	free(s);
	return err;
}

/* Hostile stall_connect, on the xenwatch thread only (watch_delay_us). */
static void bb_stall(struct hv_blkback *bb)
{
	bool stall;

	if (!bb->xw_running)
		return;
	pthread_mutex_lock(&bb->lock);
	stall = bb->hostile.stall_connect;
	bb->hostile.stall_connect = false;
	pthread_mutex_unlock(&bb->lock);
	if (!stall)
		return;
	pthread_mutex_lock(&bb->xw_lock);
	bb->stalled = true;
	while (!bb->stall_released && !bb->xw_stop)
		pthread_cond_wait(&bb->xw_cond, &bb->xw_lock);
	bb->stalled = false;
	bb->stall_released = false;
	pthread_mutex_unlock(&bb->xw_lock);
}

void hv_blkback_release_stall(struct hv_blkback *bb)
{
	pthread_mutex_lock(&bb->xw_lock);
	bb->stall_released = true;
	pthread_cond_broadcast(&bb->xw_cond);
	pthread_mutex_unlock(&bb->xw_lock);
}

bool hv_blkback_stalled(struct hv_blkback *bb)
{
	bool st;

	if (!bb->xw_running)
		return false;
	pthread_mutex_lock(&bb->xw_lock);
	st = bb->stalled;
	pthread_mutex_unlock(&bb->xw_lock);
	return st;
}

/* connect_ring(): ring-page-order + ring-ref%u or ring-ref, event-channel. */
static int bb_xs_connect(struct hv_blkback *bb)
{
	uint32_t refs[1U << BB_MAX_ORDER];
	unsigned long order = 0, v, port;
	char key[32];
	unsigned int i;
	int rc;

	if (bb_fe_read_ulong(bb, "ring-page-order", &order))
		order = 0;
	if (order > bb->cfg.max_ring_order)
		return -XEN_EINVAL;
	for (i = 0; i < (1U << order); i++) {
		if (order)
			snprintf(key, sizeof(key), "ring-ref%u", i);
		else
			snprintf(key, sizeof(key), "ring-ref");
		rc = bb_fe_read_ulong(bb, key, &v);
		if (rc)
			return rc;
		refs[i] = (uint32_t)v;
	}
	rc = bb_fe_read_ulong(bb, "event-channel", &port);
	if (rc)
		return rc;
	bb_stall(bb);
	return bb_connect(bb, refs, (unsigned int)order, (uint32_t)port);
}

/* connect(): what the frontend reads once we are Connected. */
static void bb_write_disk_info(struct hv_blkback *bb)
{
	bb_xs_printf(bb, "sectors", "%llu", bb->cfg.sectors);
	bb_xs_printf(bb, "sector-size", "%llu", BB_SECTOR);
	bb_xs_printf(bb, "info", "%llu", 0);
}

static void bb_write_features(struct hv_blkback *bb)
{
	bb_xs_printf(bb, "feature-flush-cache", "%llu", !bb->cfg.no_flush);
	bb_xs_printf(bb, "feature-barrier", "%llu", bb->cfg.barrier);
	bb_xs_printf(bb, "max-ring-page-order", "%llu", bb->cfg.max_ring_order);
}

/* The toolstack's "online" (Linux's xenbus_dev_is_online(): 0 if absent). */
static bool bb_offline(struct hv_blkback *bb)
{
	char path[160], *s;
	bool off;

	snprintf(path, sizeof(path), "%s/online", bb->bpath);
	s = hv_xs_read(path, NULL, NULL);
	off = !s || strcmp(s, "1") != 0;
	free(s);
	return off;
}

/* frontend_changed() of xen-blkback/xenbus.c. */
static void bb_frontend_changed(struct hv_blkback *bb)
{
	unsigned long fs;
	int me = __atomic_load_n(&bb->xb_state, __ATOMIC_ACQUIRE), rc;

	if (bb_fe_read_ulong(bb, "state", &fs))
		fs = XenbusStateUnknown;
	switch (fs) {
	case XenbusStateInitialising:
		/* Hostile init_closed: the restart ends Closed, I/O queued. */
		if (__atomic_exchange_n(&bb->dying, false, __ATOMIC_ACQ_REL)) {
			bb_disconnect(bb);
			bb_switch_state(bb, XenbusStateClosed);
			break;
		}
		if (me == XenbusStateClosed) {
			bb_write_features(bb);
			bb_switch_state(bb, XenbusStateInitWait);
		}
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (me == XenbusStateConnected || me == XenbusStateClosing)
			break;
		rc = bb_xs_connect(bb);
		if (rc) {
			fprintf(stderr,
				"# hv blkback: d%u vbd %u: connecting the ring failed: %d\n",
				bb->d->domid, bb->cfg.devid, rc);
			bb_switch_state(bb, XenbusStateClosing);
			break;
		}
		bb_write_disk_info(bb);
		bb_switch_state(bb, XenbusStateConnected);
		break;
	case XenbusStateClosing:
		/*
		 * Linux's blkback only answers Closing: the ring stays mapped
		 * and served until the frontend's Closed (frontend_changed()),
		 * so a frontend that ends its grants at our Closing finds
		 * them mapped.
		 */
		bb_switch_state(bb, XenbusStateClosing);
		break;
	case XenbusStateClosed:
	case XenbusStateUnknown:
		bb_disconnect(bb);
		if (me != XenbusStateClosed)
			bb_switch_state(bb, XenbusStateClosed);
		/*
		 * Not online (hv_blkback_toolstack_remove()): Linux's blkback
		 * unregisters the device (frontend_changed(): Closed, then
		 * device_unregister() unless xenbus_dev_is_online()), and
		 * libxl, which waited for this Closed, removes both
		 * directories (libxl__device_destroy()): at once here, the
		 * worst case for a frontend.
		 */
		if (bb_offline(bb)) {
			__atomic_store_n(&bb->unregistered, true,
					 __ATOMIC_RELEASE);
			hv_xs_rm(bb->bpath);
			hv_xs_rm(bb->fpath);
			break;
		}
		/* Our hostile restart: come back as a new backend would. */
		if (__atomic_exchange_n(&bb->restarting, false,
					__ATOMIC_ACQ_REL)) {
			bb_write_features(bb);
			bb_switch_state(bb, XenbusStateInitWait);
		}
		break;
	default:
		break;
	}
}

static void bb_watch_event(struct hv_blkback *bb)
{
	bool silent;

	pthread_mutex_lock(&bb->lock);
	silent = bb->hostile.ignore_frontend;
	pthread_mutex_unlock(&bb->lock);
	if (__atomic_load_n(&bb->unregistered, __ATOMIC_ACQUIRE))
		silent = true;
	if (!silent)
		bb_frontend_changed(bb);
}

static void bb_watch(const char *path, const char *token, void *arg)
{
	struct hv_blkback *bb = arg;

	(void)path;
	(void)token;
	if (!bb->cfg.watch_delay_us) {
		bb_watch_event(bb);
		return;
	}
	pthread_mutex_lock(&bb->xw_lock);
	bb->xw_pending++;
	pthread_cond_signal(&bb->xw_cond);
	pthread_mutex_unlock(&bb->xw_lock);
}

/* cfg.watch_delay_us: Linux's xenwatch thread, one event at a time. */
static void *bb_xenwatch(void *arg)
{
	struct hv_blkback *bb = arg;
	uint64_t rng = 0x9e3779b97f4a7c15ULL ^ bb->cfg.devid;

	pthread_mutex_lock(&bb->xw_lock);
	for (;;) {
		while (!bb->xw_pending && !bb->xw_stop)
			pthread_cond_wait(&bb->xw_cond, &bb->xw_lock);
		if (bb->xw_stop)
			break;
		bb->xw_pending--;
		pthread_mutex_unlock(&bb->xw_lock);
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		usleep((useconds_t)(rng % (bb->cfg.watch_delay_us + 1ULL)));
		bb_watch_event(bb);
		pthread_mutex_lock(&bb->xw_lock);
	}
	pthread_mutex_unlock(&bb->xw_lock);
	return NULL;
}

void hv_blkback_frontend_changed(struct hv_blkback *bb)
{
	bb_frontend_changed(bb);
}

void hv_blkback_toolstack_remove(struct hv_blkback *bb)
{
	struct hv_vcpu *v = bb_enter();

	/* online first: a reader of the state then sees online 0 too. */
	bb_xs_printf(bb, "online", "%llu", 0);
	bb_xs_printf(bb, "state", "%llu", XenbusStateClosing);
	bb_leave(v);
}

static int bb_xs_perm(const char *path, uint16_t owner, uint16_t reader)
{
	struct hv_xs_perm p[2] = { { owner, 'n' }, { reader, 'r' } };

	return hv_xs_set_perms(path, p, 2);
}

/* The toolstack's part (libxl's device_vbd_add): both directories. */
static int bb_xs_create(struct hv_blkback *bb)
{
	unsigned int dom = bb->d->domid;
	char path[160], val[112];
	int rc;

	snprintf(bb->bpath, sizeof(bb->bpath),
		 "/local/domain/0/backend/vbd/%u/%u", dom, bb->cfg.devid);
	snprintf(bb->fpath, sizeof(bb->fpath), "/local/domain/%u/device/vbd/%u",
		 dom, bb->cfg.devid);
	rc = hv_xs_mkdir(bb->bpath);
	if (!rc)
		rc = bb_xs_perm(bb->bpath, 0, dom);
	if (!rc)
		rc = hv_xs_mkdir(bb->fpath);
	if (!rc)
		rc = bb_xs_perm(bb->fpath, dom, 0);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "%s/frontend", bb->bpath);
	hv_xs_write(path, bb->fpath);
	bb_xs_printf(bb, "frontend-id", "%llu", dom);
	bb_xs_printf(bb, "online", "%llu", 1);
	snprintf(path, sizeof(path), "%s/backend", bb->fpath);
	hv_xs_write(path, bb->bpath);
	snprintf(path, sizeof(path), "%s/backend-id", bb->fpath);
	hv_xs_write(path, "0");
	snprintf(path, sizeof(path), "%s/virtual-device", bb->fpath);
	snprintf(val, sizeof(val), "%u", bb->cfg.devid);
	hv_xs_write(path, val);
	snprintf(path, sizeof(path), "%s/state", bb->fpath);
	hv_xs_write(path, "1");
	/* Initialising, then (hotplug done) InitWait with the features. */
	bb_switch_state(bb, XenbusStateInitialising);
	bb_write_features(bb);
	bb_switch_state(bb, XenbusStateInitWait);
	snprintf(bb->fstate, sizeof(bb->fstate), "%s/state", bb->fpath);
	snprintf(bb->token, sizeof(bb->token), "blkback-%u-%u", dom,
		 bb->cfg.devid);
	if (bb->cfg.watch_delay_us) {
		pthread_mutex_init(&bb->xw_lock, NULL);
		pthread_cond_init(&bb->xw_cond, NULL);
		bb->xw_running = pthread_create(&bb->xw_thread, NULL,
						bb_xenwatch, bb) == 0;
		if (!bb->xw_running)
			return -XEN_ENOMEM;
	}
	rc = hv_xs_watch(bb->fstate, bb->token, bb_watch, bb);
	bb->watching = !rc;
	return rc;
}

/* --- lifecycle --------------------------------------------------------------------- */

static int bb_open_disk(struct hv_blkback *bb)
{
	size_t bytes = (size_t)bb->cfg.sectors * BB_SECTOR;

	bb->fd = -1;
	if (!bb->cfg.file) {
		bb->ram = calloc(1, bytes);
		return bb->ram ? 0 : -XEN_ENOMEM;
	}
	bb->fd = open(bb->cfg.file, O_RDWR | O_CREAT, 0600);
	if (bb->fd < 0 || ftruncate(bb->fd, (off_t)bytes))
		return -XEN_EIO;
	return 0;
}

static void bb_free(struct hv_blkback *bb)
{
	unsigned int i;

	free(bb->ram);
	if (bb->fd >= 0)
		close(bb->fd);
	for (i = 0; i < BB_RAM_STRIPES; i++)
		pthread_mutex_destroy(&bb->ram_lock[i]);
	pthread_mutex_destroy(&bb->lock);
	pthread_cond_destroy(&bb->wcond);
	pthread_cond_destroy(&bb->qcond);
	free(bb);
}

static void bb_stop_threads(struct hv_blkback *bb)
{
	unsigned int i;

	pthread_mutex_lock(&bb->lock);
	bb->stop = true;
	pthread_cond_broadcast(&bb->qcond);
	pthread_cond_broadcast(&bb->wcond);
	pthread_mutex_unlock(&bb->lock);
	for (i = 0; i < bb->nr_workers; i++)
		pthread_join(bb->workers[i], NULL);
}

static void bb_destroy(struct hv_blkback *bb);

static struct hv_blkback *bb_create(const struct hv_blkback_config *cfg,
				    int *err)
{
	struct hv_blkback *bb;
	unsigned int i;
	int rc = -XEN_EINVAL;

	if (!cfg || !cfg->d || !cfg->sectors ||
	    cfg->max_ring_order > BB_MAX_ORDER)
		goto fail;
	rc = -XEN_ENOMEM;
	bb = calloc(1, sizeof(*bb));
	if (!bb)
		goto fail;
	bb->cfg = *cfg;
	bb->cfg.file = NULL; /* only used by bb_open_disk below */
	bb->d = cfg->d;
	bb->rng = 0x2545f4914f6cdd1dULL ^ cfg->devid;
	bb->nr_workers = cfg->nr_workers ? cfg->nr_workers : 4;
	if (bb->nr_workers > BB_MAX_WORKERS)
		bb->nr_workers = BB_MAX_WORKERS;
	pthread_mutex_init(&bb->lock, NULL);
	for (i = 0; i < BB_RAM_STRIPES; i++)
		pthread_mutex_init(&bb->ram_lock[i], NULL);
	pthread_cond_init(&bb->wcond, NULL);
	pthread_cond_init(&bb->qcond, NULL);
	bb->xb_state = XenbusStateClosed;
	bb->cfg.file = cfg->file;
	rc = bb_open_disk(bb);
	bb->cfg.file = NULL;
	if (rc) {
		bb_free(bb);
		goto fail;
	}
	for (i = 0; i < bb->nr_workers; i++)
		pthread_create(&bb->workers[i], NULL, bb_worker, bb);
	if (cfg->xenstore) {
		rc = bb_xs_create(bb);
		if (rc) {
			bb_destroy(bb);
			goto fail;
		}
	}
	if (err)
		*err = 0;
	return bb;
fail:
	if (err)
		*err = rc;
	return NULL;
}

static unsigned int bb_release_kept(struct hv_blkback *bb)
{
	unsigned int i, n;

	pthread_mutex_lock(&bb->lock);
	n = bb->nr_kept;
	for (i = 0; i < n; i++)
		hv_gnttab_unmap(&bb->kept[i]);
	bb->nr_kept = 0;
	pthread_mutex_unlock(&bb->lock);
	return n;
}

static void bb_destroy(struct hv_blkback *bb)
{
	if (bb->watching)
		hv_xs_unwatch(bb->fstate, bb->token);
	if (bb->xw_running) {
		pthread_mutex_lock(&bb->xw_lock);
		bb->xw_stop = true;
		pthread_cond_broadcast(&bb->xw_cond);
		pthread_mutex_unlock(&bb->xw_lock);
		pthread_join(bb->xw_thread, NULL);
		bb->xw_running = false;
		pthread_mutex_destroy(&bb->xw_lock);
		pthread_cond_destroy(&bb->xw_cond);
	}
	bb_disconnect(bb);
	bb_release_kept(bb);
	bb_stop_threads(bb);
	if (bb->cfg.xenstore && bb->bpath[0]) {
		hv_xs_rm(bb->bpath);
		hv_xs_rm(bb->fpath);
	}
	bb_free(bb);
}

struct hv_blkback *hv_blkback_create(const struct hv_blkback_config *cfg,
				     int *err)
{
	struct hv_vcpu *v = bb_enter();
	struct hv_blkback *bb = bb_create(cfg, err);

	bb_leave(v);
	return bb;
}

void hv_blkback_destroy(struct hv_blkback *bb)
{
	struct hv_vcpu *v;

	if (!bb)
		return;
	v = bb_enter();
	bb_destroy(bb);
	bb_leave(v);
}

void hv_blkback_set_hostile(struct hv_blkback *bb,
			    const struct hv_blk_hostile *h)
{
	struct hv_vcpu *v = bb_enter();

	pthread_mutex_lock(&bb->lock);
	if (h)
		bb->hostile = *h;
	else
		memset(&bb->hostile, 0, sizeof(bb->hostile));
	pthread_mutex_unlock(&bb->lock);
	bb_leave(v);
}

void hv_blkback_get_stats(struct hv_blkback *bb, struct hv_blkback_stats *st)
{
	struct hv_vcpu *v = bb_enter();

	pthread_mutex_lock(&bb->lock);
	*st = bb->st;
	st->kicks = __atomic_load_n(&bb->a_kicks, __ATOMIC_RELAXED);
	st->notifies = __atomic_load_n(&bb->a_notifies, __ATOMIC_RELAXED);
	st->bad_requests =
		__atomic_load_n(&bb->a_bad_requests, __ATOMIC_RELAXED);
	st->map_errors = __atomic_load_n(&bb->a_map_errors, __ATOMIC_RELAXED);
	st->kept = bb->nr_kept;
	pthread_mutex_unlock(&bb->lock);
	bb_leave(v);
}

unsigned int hv_blkback_release_kept(struct hv_blkback *bb)
{
	struct hv_vcpu *v = bb_enter();
	unsigned int n = bb_release_kept(bb);

	bb_leave(v);
	return n;
}

void hv_blkback_snoop(struct hv_blkback *bb, void *buf)
{
	struct hv_vcpu *v = bb_enter();

	pthread_mutex_lock(&bb->lock);
	memcpy(buf, bb->snoop, HV_PAGE_SIZE);
	pthread_mutex_unlock(&bb->lock);
	bb_leave(v);
}

void *hv_blkback_ram(struct hv_blkback *bb)
{
	return bb->ram;
}

int hv_blkback_state(struct hv_blkback *bb)
{
	return __atomic_load_n(&bb->xb_state, __ATOMIC_ACQUIRE);
}

unsigned int hv_blkback_max_ring_order(struct hv_blkback *bb)
{
	return bb->cfg.max_ring_order;
}
