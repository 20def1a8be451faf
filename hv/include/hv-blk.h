/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hv block backend and the grant mapping it uses.
 *
 * Grant mapping: hv's in-process backends act as domain 0 and map a
 * guest's grants directly (hv/gnttab.c, Xen's map_grant_ref() /
 * unmap_grant_ref() with the v1 status protocol): the map sets
 * GTF_reading (and GTF_writing) in the guest's entry, the last unmap
 * clears them, and the mapping is a pointer into the granter's arena.
 *
 * blkback (hv/blkback.c): an in-process blkif backend over RAM (or a
 * file) for one guest disk.  With xenstore it plays the toolstack and the
 * backend driver: it creates backend/vbd/<domid>/<devid> and the guest's
 * device/vbd/<devid>, writes its features, watches the frontend's state,
 * maps the ring(s) when the frontend is Initialised and serves requests
 * from worker threads (several in flight, completed out of order, flushes
 * ordered after the requests before them).  Without xenstore the test
 * connects the ring itself (hv_blkback_connect_direct).
 */
#ifndef HV_BLK_H
#define HV_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "hv.h"

/* --- grant mapping (domain 0) -------------------------------------------- */

struct hv_grant_map {
	void *va; /* the granted page; NULL when not mapped */
	struct hv_domain *d;
	uint32_t ref;
	bool readonly;
	uint32_t epoch; /* the table it pinned (a restore makes a new one) */
};

/*
 * Map domain d's grant ref for domain 0: GNTST_okay (0) and m->va, or a
 * GNTST_* error (GNTST_bad_gntref: ref past the table or in a frame the
 * guest never mapped; GNTST_general_error: not GTF_permit_access for
 * domain 0, a writable map of a GTF_readonly entry, a frame outside the
 * guest's memory, an unstable entry).
 */
int hv_gnttab_map(struct hv_domain *d, uint32_t ref, bool readonly,
		  struct hv_grant_map *m);
void hv_gnttab_unmap(struct hv_grant_map *m);

struct hv_gnttab_stats {
	uint64_t maps, unmaps, map_errors;
	uint64_t mapped; /* mappings now */
	uint64_t nr_frames;
	/* mappings of an old domain's grants (before a restore) held now */
	uint64_t stale;
};
void hv_gnttab_get_stats(struct hv_domain *d, struct hv_gnttab_stats *st);

/*
 * Grant-table hypercall hook, as hv_domain_set_evtchn_hook() for
 * EVTCHNOP: fn runs on the calling vCPU's thread for every
 * GNTTABOP of d, before the operation (after false, rc 0: a nonzero
 * return fails it with that value, not run) and after it (after true,
 * rc its result: it may rewrite what the operation wrote back, playing
 * a Xen that reports a bad status or frame).  NULL removes it.  Testing
 * only: Xen has no such thing.
 */
typedef long (*hv_gnttab_hook_fn)(unsigned int cmd, void *arg, bool after,
				  long rc, void *data);
void hv_gnttab_set_hook(struct hv_domain *d, hv_gnttab_hook_fn fn, void *data);

/* --- blkback ---------------------------------------------------------------- */

struct hv_blkback;

struct hv_blkback_config {
	struct hv_domain *d;	     /* the frontend's domain */
	unsigned int devid;	     /* vbd id, e.g. 51712 (xvda) */
	uint64_t sectors;	     /* capacity, 512-byte sectors */
	const char *file;	     /* backing file, NULL: RAM */
	unsigned int nr_workers;     /* 0: 4 */
	unsigned int max_ring_order; /* max-ring-page-order offered (<= 4) */
	/*
	 * Keys of the backend's directory not to write (NULL-terminated, or
	 * NULL): an older or sparser backend, e.g. one from before multi-page
	 * rings without max-ring-page-order (max_ring_order still bounds what
	 * it accepts), or without sector-size.  The frontend's defaults apply.
	 */
	const char *const *omit;
	bool no_flush; /* do not offer feature-flush-cache */
	bool barrier;  /* offer feature-barrier */
	bool xenstore; /* handshake through hv xenstore */
	/* Each request waits a random 0 .. delay_max_us before it is done
	 * (flushes excepted), so completions come out of order. */
	unsigned int delay_max_us;
	/*
	 * A worker out of work watches req_prod this long before it re-arms
	 * req_event and sleeps (one worker at a time): a poll-mode backend,
	 * as vhost-user or SPDK run theirs.  Meanwhile the frontend sees no
	 * req_event to pass, so it sends no kick.  0: never polls (Linux
	 * xen-blkback's way).
	 */
	unsigned int poll_us;
	/*
	 * With xenstore: 0 handles each change of the frontend's state on
	 * the xenstore service thread as it comes, before the guest's next
	 * request is read, so the guest never sees the backend lag.  N: on
	 * a thread of the backend's own, as Linux's xenwatch kthread does
	 * (drivers/xen/xenbus/xenbus_xs.c, xenwatch_thread(): one thread,
	 * events in order), each event a random 0 .. N us after the one
	 * before it, reading the frontend's state when it gets to it
	 * (xenbus_otherend_changed()): two quick writes may both be handled
	 * as the second, and the guest may write again before the backend
	 * answered.
	 */
	unsigned int watch_delay_us;
};

/*
 * Hostile modes.  Each counter is how many responses from now the fault
 * hits (1: the next one, 0: off); it fires once, then is off again.
 *   id_out_of_range   the response's id becomes one no request can have
 *   id_ring_size      ... its slot becomes the ring's size, the first
 *                     slot past the last (generation kept)
 *   id_not_in_flight  ... an id in range that the frontend never issued
 *   dup_response      ... the id of the previous response (a duplicate of
 *                     a completed id)
 *   bad_status        the response's status becomes 0x7e (not OKAY,
 *                     ERROR or EOPNOTSUPP)
 *   bad_op            the response's operation is not the request's (a
 *                     read answered as a write and the other way round)
 *   bad_rsp_prod      with this response rsp_prod is published a ring
 *                     and 3 entries past what was produced
 *   closing           instead of this response the backend switches to
 *                     Closing and answers nothing more (xenstore only)
 *   restart           instead of this response the backend closes and
 *                     reconnects: Closing, Closed, InitWait (xenstore only)
 *   init_closed       instead of this response the backend restarts
 *                     (Initialising) and, once the frontend follows, goes
 *                     Closed for good with the frontend's I/O still queued
 *                     (xenstore only)
 *   keep_mapping      this request's data grants stay mapped after its
 *                     response is pushed (XSA-396: a backend that keeps
 *                     access to a page the frontend got back), until
 *                     hv_blkback_release_kept() or destroy
 * Sticky modes (on while set):
 *   whole_page        every data segment is used as the whole page it
 *                     maps: a read writes HV_BLK_SCRIBBLE into every byte
 *                     outside its sectors, a write copies the whole page
 *                     (what the backend could read) for hv_blkback_snoop()
 *                     (XSA-403: a frontend that grants a whole page for a
 *                     sub-page request shows the backend the rest of it)
 *   ignore_frontend   the frontend's state changes go unanswered (a
 *                     silent backend, for the frontend's close bound)
 * A response whose id is replaced is the "victim": its request never gets
 * its own answer (recorded in stats.victims).
 */
struct hv_blk_hostile {
	unsigned int id_out_of_range;
	unsigned int id_ring_size;
	unsigned int id_not_in_flight;
	unsigned int dup_response;
	unsigned int bad_status;
	unsigned int bad_op;
	unsigned int bad_rsp_prod;
	unsigned int closing;
	unsigned int restart;
	unsigned int init_closed;
	unsigned int keep_mapping;
	bool whole_page;
	bool ignore_frontend;
	/*
	 * watch_delay_us only: the next connect_ring() reads the frontend's
	 * ring references, then waits for hv_blkback_release_stall() before
	 * it maps them and goes Connected; the frontend's later state
	 * changes queue behind it (xenwatch handles one event at a time).
	 * A backend descheduled between its reads and its Connected.
	 */
	bool stall_connect;
};

#define HV_BLK_SCRIBBLE 0xee

#define HV_BLK_MAX_VICTIMS 16

struct hv_blkback_stats {
	uint64_t requests;  /* requests read from the ring */
	uint64_t responses; /* responses pushed */
	uint64_t reads, writes, flushes, barriers;
	uint64_t bad_requests; /* answered BLKIF_RSP_ERROR */
	uint64_t notifies;     /* hv_evtchn_notify_guest calls */
	uint64_t kicks;	       /* guest notifications seen */
	uint64_t max_inflight; /* most requests in progress at once */
	uint64_t out_of_order; /* responses pushed before an older request's */
	uint64_t flush_waits;  /* flushes that waited for earlier requests */
	uint64_t hostile;      /* faults injected */
	uint64_t connects;     /* rings mapped */
	uint64_t disconnects;
	uint64_t map_errors; /* grant maps that failed */
	uint64_t poll_hits;  /* cfg.poll_us: watches that found requests */
	uint64_t kept;	     /* keep_mapping: mappings held now */
	unsigned int nr_victims;
	uint64_t victims[HV_BLK_MAX_VICTIMS]; /* ids of the victims */
	uint64_t victim_ops[HV_BLK_MAX_VICTIMS];
};

struct hv_blkback *hv_blkback_create(const struct hv_blkback_config *cfg,
				     int *err);
/* Disconnect, stop the threads, free; removes the xenstore nodes. */
void hv_blkback_destroy(struct hv_blkback *bb);

/*
 * Direct connection (no xenstore): map the ring of 1 << order pages from
 * the frontend's grants refs[] and connect to its event channel port
 * (unbound, remote domain 0).  0 or -XEN_Exxx.
 */
int hv_blkback_connect_direct(struct hv_blkback *bb, const uint32_t *refs,
			      unsigned int order, uint32_t port);
/* Stop serving, unmap everything, unbind (direct or xenstore). */
void hv_blkback_disconnect(struct hv_blkback *bb);

void hv_blkback_set_hostile(struct hv_blkback *bb,
			    const struct hv_blk_hostile *h);
/*
 * Handle the frontend's state now, as a watch event of the backend driver
 * that comes late does (Linux's xenwatch thread reads the frontend's state
 * when it gets to the event, not when it was written): with
 * ignore_frontend cleared first, a backend that acts on whatever the
 * frontend's directory holds at this moment.  On the xenstore service
 * thread (an hv_xs_hostile read hook) or a test's.
 */
void hv_blkback_frontend_changed(struct hv_blkback *bb);
/*
 * The toolstack's device removal (`xl block-detach`; libxl's
 * libxl__initiate_device_generic_remove()): "online" 0 and the backend's
 * state Closing written over the backend driver's (which does not see
 * it).  The backend, at the frontend's Closed, then goes Closed and,
 * not online, unregisters (answers nothing more), and the toolstack
 * removes both directories.
 */
void hv_blkback_toolstack_remove(struct hv_blkback *bb);
/* End a stall_connect: the connect goes on with what it read. */
void hv_blkback_release_stall(struct hv_blkback *bb);
/* A stall_connect is waiting (it read the references). */
bool hv_blkback_stalled(struct hv_blkback *bb);
void hv_blkback_get_stats(struct hv_blkback *bb, struct hv_blkback_stats *st);
/* keep_mapping: unmap what was kept; returns how many mappings. */
unsigned int hv_blkback_release_kept(struct hv_blkback *bb);
/* whole_page: the last whole page a write showed (HV_PAGE_SIZE bytes). */
void hv_blkback_snoop(struct hv_blkback *bb, void *buf);
/* The RAM disk (NULL with a file backend), for tests' checks. */
void *hv_blkback_ram(struct hv_blkback *bb);
/* The backend's xenbus state as last written. */
int hv_blkback_state(struct hv_blkback *bb);
/* The features it offers, as written to xenstore. */
unsigned int hv_blkback_max_ring_order(struct hv_blkback *bb);

#endif /* HV_BLK_H */
