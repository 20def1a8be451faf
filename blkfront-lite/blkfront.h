/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blkfront-lite internals shared by blkfront.c (ring, requests, the
 * response checks) and blkfront-xenbus.c (the xenbus glue).
 */
#ifndef BLKFRONT_LITE_H
#define BLKFRONT_LITE_H

#include <xenlite/blkfront.h>
#include <xenlite/evtchn.h>

/* One slot of the request table; id = slot | (gen << 32). */
struct blk_shadow {
	struct xl_blk_req *req; /* NULL: free */
	uint32_t gen;
	uint32_t next_free;
	uint64_t last_id; /* id of the slot's last completion */
	uint64_t seq;	  /* the order it went on the ring (a resume's) */
	uint8_t op;	  /* BLKIF_OP_* sent */
	uint8_t nr_gref;
	grant_ref_t gref[XL_BLK_MAX_SEGS];
	void *bounce[XL_BLK_MAX_SEGS]; /* segment i's bounce page, or NULL */
};

/*
 * Bounce pages per device (untrusted backend): allocated with the ring
 * (thread context), taken and given back under the lock in any context.
 * A request waits in the queue while the pool lacks pages for it; the
 * pool holds at least one request's worth whenever nothing is in flight.
 */
#ifndef BLK_BOUNCE_PAGES /* the fuzz harness uses fewer */
#define BLK_BOUNCE_PAGES 128
#endif

enum blk_state { BLK_DISCONNECTED, BLK_RING_READY, BLK_CONNECTED, BLK_BROKEN };

struct xl_blkfront {
	xl_spinlock_t lock; /* everything below but the xenbus part */
	enum blk_state state;
	unsigned int devid;
	domid_t backend_id;
	bool mem_mode;	    /* xl_blkfront_attach_mem: no grants, no port */
	bool trusted;	    /* xl_blkfront_set_trusted: no bounce buffers */
	void **bounce_pool; /* BLK_BOUNCE_PAGES slots, bounce_nr free pages */
	unsigned int bounce_nr;

	/* The ring. */
	blkif_front_ring_t ring;
	unsigned int ring_order;
	void *ring_pages[XL_BLK_MAX_RING_PAGES];
	grant_ref_t ring_ref[XL_BLK_MAX_RING_PAGES];
	evtchn_port_t port; /* 0: none */

	/* The request table and the wait queue. */
	struct blk_shadow *shadow;
	unsigned int nr_slots;
	uint32_t free_head;
	unsigned int inflight;
	struct xl_blk_req *q_head, *q_tail;
	uint64_t next_seq; /* blk_shadow.seq */

	struct xl_blkfront_features feat;
	struct xl_blkfront_stats st;
	evtchn_port_t wake_port[XL_MAX_VCPUS];
	bool wake_ports;

	/* xenbus (blkfront-xenbus.c): its state, and the hooks the
	 * synchronous helper uses to run watches while it waits. */
	struct blk_xenbus *xb;
	bool (*xb_pending)(struct xl_blkfront *dev);
	void (*xb_poll)(struct xl_blkfront *dev);
	void (*xb_fini)(struct xl_blkfront *dev);
};

#define BLK_NO_SLOT 0xffffffffU

/*
 * Shared by the direct connection (xl_blkfront_setup_ring(),
 * xl_blkfront_connect_direct()) and the xenbus glue; the undo of both is
 * the public xl_blkfront_disconnect().
 *
 * xl_blkfront_ring_prepare(): allocate and grant a ring of 1 << order
 * pages (one page if that many contiguous pages cannot be had) and the
 * bounce pages, and allocate an unbound port for backend.  Only from
 * BLK_DISCONNECTED (else -XEN_EBUSY); leaves the device BLK_RING_READY.
 * Thread context, the device lock not held.  0 or a -XEN_* error, with
 * nothing left allocated.
 */
int xl_blkfront_ring_prepare(struct xl_blkfront *dev, domid_t backend,
			     unsigned int order);
/*
 * xl_blkfront_connect(): BLK_RING_READY -> BLK_CONNECTED with the
 * backend's features f (checked first: -XEN_EINVAL if unusable, or if the
 * ring is not ready), then send the requests kept queued over a restart.
 * Takes the device lock; completions run after it is dropped.
 */
int xl_blkfront_connect(struct xl_blkfront *dev,
			const struct xl_blkfront_features *f);
/*
 * After a restore (the xenbus glue's resume): what is in flight goes back
 * to the head of the queue in ring order, its grants ended and bounce
 * pages given back, the old ring, port and table dropped without a
 * backend (the old one went with the old domain): BLK_DISCONNECTED,
 * ready for a new probe.  Thread context.  Returns how many requests
 * were taken back.
 */
unsigned int xl_blkfront_requeue_for_resume(struct xl_blkfront *dev);

#endif /* BLKFRONT_LITE_H */
