/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blkfront-lite: a blkif frontend (public io/blkif.h, io/ring.h) hardened
 * against a hostile backend.
 *
 * Connection: through xenbus (xl_blkfront_attach(): device/vbd/<devid>,
 * feature negotiation, multi-page ring if offered) or, for tests, directly
 * (xl_blkfront_setup_ring() + xl_blkfront_connect_direct()).
 *
 * I/O: xl_blkfront_submit() is asynchronous: req->done(req) runs once per
 * request, in upcall context (the event channel handler) or in the
 * submitter's context, with req->status 0 or a negative Xen errno.
 * Requests beyond the ring's free slots wait in a queue.
 * xl_blkfront_io_sync() submits and idles (xl_idle_until) until done.
 *
 * Hostile backend: every response is copied out of the ring once and then
 * checked.  Its id encodes a request-table slot (low 32 bits) and that
 * slot's generation (high 32 bits), so a response is
 *   - "out of range" when the slot is past the table,
 *   - "duplicate" when it repeats the id of the slot's last completion,
 *   - "not in flight" when it names no request now in flight;
 * each is logged, counted and dropped.  The request whose response was
 * replaced by such a one can never complete: the frontend knows how many
 * there are (in flight minus outstanding on the ring), holds new requests
 * back until the ring drains, then fails exactly the requests still in
 * flight (they lost their responses) with -XEN_EIO.  A status outside
 * OKAY/ERROR/EOPNOTSUPP fails only its request with -XEN_EIO.  rsp_prod
 * beyond what was produced is fatal: the device is broken, every request
 * in flight or queued fails with -XEN_EIO, and so does every later one.
 * A backend going to Closing (or restarting) mid-I/O: the responses on
 * the ring are consumed first (a completed write is reported completed),
 * then what is still in flight fails with -XEN_EIO.
 * Grants are ended at completion; one the backend still maps goes to the
 * grant table's deferred list (req->deferred_grants counts them: the page
 * is still the backend's and must not be reused until the list drains).
 */
#ifndef XENLITE_BLKFRONT_H
#define XENLITE_BLKFRONT_H

#include <xenlite/gnttab.h>
#include <xen/io/blkif.h>

#define XL_BLK_SECTOR_SIZE 512
#define XL_BLK_SECTORS_PER_PAGE (XL_PAGE_SIZE / XL_BLK_SECTOR_SIZE)
#define XL_BLK_MAX_SEGS BLKIF_MAX_SEGMENTS_PER_REQUEST
#define XL_BLK_MAX_RING_ORDER 4 /* 16 pages, 512 requests */
#define XL_BLK_MAX_RING_PAGES (1U << XL_BLK_MAX_RING_ORDER)

enum xl_blk_op { XL_BLK_READ, XL_BLK_WRITE, XL_BLK_FLUSH };

/* One page of a request: sectors first_sect .. last_sect (0 .. 7). */
struct xl_blk_seg {
	void *page; /* page-aligned, from xl_os_alloc_page() */
	uint8_t first_sect, last_sect;
};

struct xl_blk_req {
	/* in */
	enum xl_blk_op op;
	uint64_t sector; /* 512-byte units, as blkif counts */
	unsigned int nr_segs;
	struct xl_blk_seg seg[XL_BLK_MAX_SEGS];
	void (*done)(struct xl_blk_req *req);
	void *priv;
	/* out */
	/* 0, -XEN_EIO, -XEN_EOPNOTSUPP, -XEN_ENOSPC (no grant ref left),
	 * -XEN_ENOMEM (no bounce page left) */
	int status;
	uint64_t id;		      /* the blkif id it was sent with */
	unsigned int deferred_grants; /* grants still mapped at completion */
	/* the frontend's */
	struct xl_blk_req *next;
};

struct xl_blkfront_features {
	uint64_t sectors;	   /* capacity in 512-byte sectors */
	unsigned int sector_size;  /* logical sector size (bytes) */
	unsigned int info;	   /* VDISK_* */
	bool flush;		   /* feature-flush-cache */
	bool barrier;		   /* feature-barrier */
	unsigned int max_indirect; /* feature-max-indirect-segments (unused) */
	unsigned int ring_order;   /* the ring we use */
};

struct xl_blkfront_stats {
	uint64_t submitted, completed; /* requests */
	uint64_t ok, eio, eopnotsupp;  /* completions by status */
	uint64_t queued;	       /* waited for ring space */
	uint64_t notifies, irqs;
	uint64_t rsp_bad_id;	    /* id out of range */
	uint64_t rsp_dup;	    /* duplicate of a completed id */
	uint64_t rsp_not_inflight;  /* id of no request in flight */
	uint64_t rsp_bad_status;    /* status outside the defined set */
	uint64_t rsp_bad_op;	    /* operation not the request's */
	uint64_t rsp_bad_prod;	    /* rsp_prod beyond what was produced */
	uint64_t orphans;	    /* requests failed: response lost */
	uint64_t disconnect_failed; /* requests failed at Closing/restart */
	uint64_t broken_failed;	    /* requests failed once broken */
	uint64_t deferred_grants;   /* grants still mapped at completion */
	uint64_t grant_mapped;	    /* responses with a grant still mapped */
	uint64_t connects, disconnects;
	uint64_t resumes;	 /* xl_blkfront_resume() after a restore */
	uint64_t reissued;	 /* requests in flight taken back by them */
	uint64_t recheck_failed; /* kept requests the new backend can't do */
	uint64_t frozen_waits;	 /* kicks that found the grant table frozen */
};

struct xl_blkfront;

/* A device in xl_os_zalloc() memory; NULL on ENOMEM. */
struct xl_blkfront *xl_blkfront_alloc(unsigned int devid);
/* Disconnects first if needed. */
void xl_blkfront_free(struct xl_blkfront *dev);

/*
 * Xenbus: device/vbd/<devid>, handshake until Connected (timeout_ns, 0 =
 * none).  Needs xl_evtchn_init(), xl_gnttab_init(), xl_xs_init().
 */
int xl_blkfront_attach(struct xl_blkfront *dev, uint64_t timeout_ns);
/* Our close (Closing, fail in-flight I/O, Closed). */
int xl_blkfront_detach(struct xl_blkfront *dev, uint64_t timeout_ns);
/* Run xenbus watches (backend state changes); thread context. */
void xl_blkfront_poll(struct xl_blkfront *dev);
/*
 * After a restore into a new domain (xl_xs_resume() returned 1; the
 * grant table resumed before): the requests in flight are taken back
 * from the request table and go to the new backend first, in the order
 * they were sent, each completing exactly once (Linux's blkfront_resume()
 * / blkif_recover()); the old ring, port and grants are dropped without
 * a handshake; the device goes through the xenbus handshake again with
 * the new backend (a new ring of its size, new grants and port, its
 * features read again; a kept request it cannot do fails with the
 * submit's error).  Returns at once: xl_blkfront_poll() or a wait drives
 * the handshake.  A device that broke stays broken.  0 or -XEN_Exxx.
 */
int xl_blkfront_resume(struct xl_blkfront *dev);

/*
 * Direct connection (tests without xenstore): allocate and grant a ring of
 * 1 << order pages to backend and an unbound event channel for it; then,
 * once the backend mapped it, xl_blkfront_connect_direct() with the
 * backend's features.  xl_blkfront_disconnect() undoes either way.
 */
int xl_blkfront_setup_ring(struct xl_blkfront *dev, domid_t backend,
			   unsigned int order, grant_ref_t *refs,
			   evtchn_port_t *port);
int xl_blkfront_connect_direct(struct xl_blkfront *dev,
			       const struct xl_blkfront_features *f);
/* The backend went away (closing) or restarts (!closing). */
void xl_blkfront_disconnect(struct xl_blkfront *dev, bool closing);

/*
 * Queue a request.  0: req->done will run once.  Else (req->done not
 * called): -XEN_EINVAL (bad segments, past the end of the disk),
 * -XEN_EOPNOTSUPP (flush without the feature), -XEN_ENODEV (not
 * connected), -XEN_EIO (broken).
 */
int xl_blkfront_submit(struct xl_blkfront *dev, struct xl_blk_req *req);
/* Submit and wait (req->done and req->priv are the helper's). */
int xl_blkfront_io_sync(struct xl_blkfront *dev, struct xl_blk_req *req);
/*
 * Fill req's segments for len bytes (a multiple of 512) starting offset
 * bytes (a multiple of 512) into pages[0], continuing into pages[1] ...
 * 0, or -XEN_EINVAL if it needs more than XL_BLK_MAX_SEGS pages.
 */
int xl_blk_req_set_buf(struct xl_blk_req *req, enum xl_blk_op op,
		       uint64_t sector, void *const *pages,
		       unsigned int nr_pages, unsigned int offset,
		       unsigned int len);
/*
 * Wake a vCPU idling in xl_idle_until() for a completion (done callbacks
 * run on the vCPU the event channel is bound to).
 */
void xl_blkfront_wake(struct xl_blkfront *dev, unsigned int cpu);

/*
 * Trust the backend with whole pages (no bounce buffers); only while not
 * connected.  Default: untrusted.  0 or -XEN_EBUSY.
 */
int xl_blkfront_set_trusted(struct xl_blkfront *dev, bool trusted);

bool xl_blkfront_connected(struct xl_blkfront *dev);
bool xl_blkfront_broken(struct xl_blkfront *dev);
unsigned int xl_blkfront_inflight(struct xl_blkfront *dev);
void xl_blkfront_get_features(struct xl_blkfront *dev,
			      struct xl_blkfront_features *f);
void xl_blkfront_get_stats(struct xl_blkfront *dev,
			   struct xl_blkfront_stats *st);

/*
 * The ring's indices as the frontend sees them, for a hang's report: our
 * private producer and consumer, and the shared page's four (public
 * io/ring.h).  All 0 without a ring.
 */
struct xl_blkfront_ring_state {
	uint32_t req_prod_pvt, rsp_cons;
	uint32_t req_prod, req_event, rsp_prod, rsp_event;
	evtchn_port_t port;
	unsigned int inflight, queued;
};

void xl_blkfront_get_ring(struct xl_blkfront *dev,
			  struct xl_blkfront_ring_state *rs);
/* The xenbus frontend state machine's counters (0 without xenbus). */
unsigned int xl_blkfront_restarts(struct xl_blkfront *dev);
/* Backends left to an earlier frontend that the attach reset (xenbus). */
unsigned int xl_blkfront_resets(struct xl_blkfront *dev);
/*
 * Our xenbus state (an enum xenbus_state of public io/xenbus.h), or
 * XenbusStateUnknown (0) without xenbus: Closing or Closed once the
 * backend or we closed the device; Initialising..Connected otherwise,
 * also while a backend restart is being followed.
 */
unsigned int xl_blkfront_xenbus_state(struct xl_blkfront *dev);

/*
 * The response handler on its own, for fuzzing: attach the ring to sring
 * (1 << order pages of caller memory), no grants, no event channel, as
 * if connected with f; xl_blkfront_submit() then only writes requests;
 * xl_blkfront_process() handles whatever the ring holds.
 */
int xl_blkfront_attach_mem(struct xl_blkfront *dev, void *sring,
			   unsigned int order,
			   const struct xl_blkfront_features *f);
void xl_blkfront_process(struct xl_blkfront *dev);

#endif /* XENLITE_BLKFRONT_H */
