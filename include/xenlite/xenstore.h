/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenlite xenstore client: the guest end of the xenstore ring of
 * <xen/io/xs_wire.h> (struct xenstore_domain_interface), found with
 * xl_os_xenstore_ring() (HVM_PARAM_STORE_PFN / HVM_PARAM_STORE_EVTCHN).
 *
 * Thread (vCPU) context only unless said otherwise: a request writes its
 * message into the ring and idles (xl_idle_until) until its reply is in;
 * requests from several vCPUs may be in flight at once.  Replies are
 * matched by req_id; xenstored answers the requests of one connection in
 * order, so a reply that names no request in flight is taken as the
 * answer to the oldest one, which fails with -XEN_EIO.
 *
 * Every reply is hostile input (xl_xs_parse_reply()): a bad length, a
 * missing NUL, a wrong type or req_id, or ring indexes that do not add up
 * fail the request with -XEN_EIO and never touch memory outside the
 * client's buffers.  A framing error (length > XENSTORE_PAYLOAD_MAX,
 * rsp_prod more than a ring ahead of rsp_cons) drops whatever the ring
 * holds and fails every request that was completely sent with -XEN_EIO;
 * a reply that arrives later for one of them is dropped, so later
 * requests get their own replies.
 *
 * Errors: 0 / a count, or a negative Xen errno: an ERROR reply's xsd_errors
 * string as -XEN_E<name> (-XEN_ENOENT, -XEN_EACCES, -XEN_EAGAIN, ...),
 * -XEN_EIO for a bad reply, -XEN_E2BIG for a request over
 * XENSTORE_PAYLOAD_MAX, -XEN_ENOSPC when a caller's buffer is too small,
 * -XEN_ENODEV before xl_xs_init() or when the host has no xenstore,
 * -XEN_ETIMEDOUT when no reply came within xl_xs_set_timeout()'s time.
 */
#ifndef XENLITE_XENSTORE_H
#define XENLITE_XENSTORE_H

#include <xenlite/xen.h>
#include <xen/io/xs_wire.h>

/*
 * A transaction, 0 for none: the client's handle, mapped to xenstored's
 * id on the connection that opened it (xen-xenstore.c, struct
 * xs_tx_slot).
 */
typedef uint32_t xl_xs_tx_t;
#define XL_XS_NO_TX ((xl_xs_tx_t)0)

/*
 * Connect to the ring: xl_os_xenstore_ring(), then bind the event port
 * with the core's event channels (xl_evtchn_init() must have run), and an
 * IPI per vCPU to wake a vCPU whose reply another vCPU's upcall received.
 */
int xl_xs_init(void);
/*
 * How long a request waits for its reply before it fails with
 * -XEN_ETIMEDOUT (0: for good, as Linux's xenbus does).  The time
 * suspended (xl_xs_suspend() .. xl_xs_resume()) is not counted.  A
 * request none of which is in the ring yet is taken back: never sent.
 * One begun still goes out whole and its late reply is dropped (counted
 * in stale): such a timed-out write or transaction may still take
 * effect.  Any context; takes effect for the next request.
 */
#define XL_XS_TIMEOUT_DEFAULT_NS 30000000000ULL /* 30 s */
void xl_xs_set_timeout(uint64_t timeout_ns);
uint64_t xl_xs_get_timeout(void);
/* Fails requests still in flight with -XEN_ENODEV, closes the ports. */
void xl_xs_fini(void);
bool xl_xs_ready(void);

/*
 * Read path's value into buf (size bytes, NUL-terminated; values may
 * hold any bytes, *len is the length without the NUL).  -XEN_ENOSPC if it
 * does not fit (*len still says how long it is).  len may be NULL.
 */
int xl_xs_read(xl_xs_tx_t tx, const char *path, char *buf, size_t size,
	       size_t *len);
/* The same into xl_os_zalloc() memory; NULL on any error (*err says). */
char *xl_xs_read_alloc(xl_xs_tx_t tx, const char *path, int *err);
/* Read an unsigned decimal (as xenbus_scanf "%u"); -XEN_EINVAL if not. */
int xl_xs_read_uint(xl_xs_tx_t tx, const char *path, unsigned long *val);
int xl_xs_write(xl_xs_tx_t tx, const char *path, const char *value);
/* A value of len bytes (may hold NULs). */
int xl_xs_write_bytes(xl_xs_tx_t tx, const char *path, const void *value,
		      size_t len);
/*
 * A value formatted by the host's xl_os_vsnprintf() (os.h; the core keeps
 * to %s %c %d %i %u %x with l, ll, z), under 256 bytes: else -XEN_E2BIG.
 */
int xl_xs_printf(xl_xs_tx_t tx, const char *path, const char *fmt, ...)
	XL_PRINTF(3, 4);
int xl_xs_vprintf(xl_xs_tx_t tx, const char *path, const char *fmt, va_list ap)
	XL_PRINTF(3, 0);
int xl_xs_mkdir(xl_xs_tx_t tx, const char *path);
int xl_xs_rm(xl_xs_tx_t tx, const char *path);
/*
 * The children of path: buf receives the names, each NUL-terminated, one
 * after the other (the wire's format); returns how many, or an error.
 */
int xl_xs_directory(xl_xs_tx_t tx, const char *path, char *buf, size_t size);
/* The wire's GET_PERMS answer ("n0\0r5\0" ...) into buf; returns its length. */
int xl_xs_get_perms(xl_xs_tx_t tx, const char *path, char *buf, size_t size);

/*
 * Transactions (optimistic, as xenstored): end with commit fails with
 * -XEN_EAGAIN when a node the transaction read or wrote changed meanwhile.
 */
int xl_xs_transaction_start(xl_xs_tx_t *tx);
int xl_xs_transaction_end(xl_xs_tx_t tx, bool abort);
/*
 * start; body(tx, arg); commit; again on -XEN_EAGAIN from the commit (or
 * from body), at most max_tries times (0: 16).  A body error aborts the
 * transaction and is returned.  *tries (may be NULL) counts the attempts.
 */
int xl_xs_transaction_run(int (*body)(xl_xs_tx_t tx, void *arg), void *arg,
			  unsigned int max_tries, unsigned int *tries);

/*
 * Watches.  xenstored fires a watch once when it is registered, then on
 * every change at or below its path.  Events are queued in upcall context
 * and their callbacks run in thread context, only from xl_xs_run_watches()
 * (whoever owns the guest's main loop calls it; xenbus does from
 * xl_xenbus_poll()), one at a time per watch, with path the node that
 * changed.  If the event queue overflows, the watch's callback runs once
 * with its own path ("something at or below it changed"): a watch is
 * never silently lost.  The struct is the caller's and must stay valid
 * until xl_xs_unwatch() returns; after that its callback never runs again.
 */
struct xl_xs_watch;
typedef void (*xl_xs_watch_fn)(struct xl_xs_watch *w, const char *path,
			       void *arg);

struct xl_xs_watch {
	/* The client's; zero-initialise, do not touch. */
	struct xl_xs_watch *next;
	char *path;
	char token[16];
	xl_xs_watch_fn fn;
	void *arg;
	uint32_t overflow;   /* atomic: events lost to a full queue */
	uint32_t running;    /* atomic: callback in progress */
	uint64_t fired;	     /* callbacks run */
	uint32_t resume_gen; /* xl_xs_resume's pass (under the lock) */
};

int xl_xs_watch(struct xl_xs_watch *w, const char *path, xl_xs_watch_fn fn,
		void *arg);
int xl_xs_unwatch(struct xl_xs_watch *w);
/* Run the callbacks of queued events; returns how many ran. */
unsigned int xl_xs_run_watches(void);
/* Events queued and not yet run (cheap; callable with delivery masked). */
bool xl_xs_watches_pending(void);
/*
 * Idle (xl_idle_until) until done(arg) is true (done may be NULL) or a
 * watch event is queued, whichever vCPU's upcall queues it: the caller's
 * main loop then runs xl_xs_run_watches().  Returns the number of blocks.
 */
unsigned long xl_xs_idle_until(bool (*done)(void *), void *arg);

struct xl_xs_stats {
	uint64_t requests;	 /* requests sent */
	uint64_t replies;	 /* replies matched to a request */
	uint64_t events;	 /* WATCH_EVENT messages received */
	uint64_t events_lost;	 /* ... that found the queue full */
	uint64_t bad_replies;	 /* replies rejected by the parser */
	uint64_t resyncs;	 /* framing errors: ring contents dropped */
	uint64_t stale;		 /* replies for requests failed earlier */
	uint64_t ring_waits;	 /* times a sender found the ring full */
	uint64_t timeouts;	 /* requests given up (xl_xs_set_timeout) */
	uint64_t pump_deferred;	 /* pump runs that stopped on their budget */
	uint64_t pump_max;	 /* most ring bytes one pump run took in */
	uint64_t restores;	 /* resumes into a new domain */
	uint64_t restore_failed; /* requests in flight failed by them */
	uint64_t rewatched;	 /* watches registered again by them */
	uint64_t rewatch_errors; /* ... that xenstored refused */
	uint64_t tx_dead;	 /* requests refused, unsent: their
				    transaction was opened before a restore */
};

/*
 * The pump runs with delivery masked and xs.lock held (in the store port's
 * upcall on vCPU 0): one run takes in at most this many ring bytes, so a
 * xenstored that never stops producing cannot hold the vCPU; the rest is
 * taken by a pump run from this vCPU's wake-up IPI, queued behind the
 * events already pending.  Half a ring: a full ring already takes two
 * runs, so the bound is exercised without a racing producer.
 */
#define XL_XS_PUMP_BUDGET (XENSTORE_RING_SIZE / 2)
void xl_xs_get_stats(struct xl_xs_stats *st);

/*
 * Save/restore (docs/save-restore.md).  Thread context.
 *
 * xl_xs_suspend(timeout_ns), first, before the other vCPUs are held and
 * with delivery enabled: no new message goes into the ring from now on
 * (requests made meanwhile queue and go out after the resume); waits up
 * to timeout_ns (0: not at all) for the requests in flight to be
 * answered (Linux's xs_suspend() waits for them).  Returns how many are
 * still in flight (0: quiet).
 *
 * xl_xs_resume(cancelled), after xl_gnttab_resume():
 *  - the same domain (cancelled, or our store port still bound: the
 *    event-channel resume of a new domain loses it): the queued requests
 *    go out; nothing else is done (the watches are xenstored's still);
 *  - a new domain: the ring and store port the host reports now
 *    (xl_os_xenstore_ring), the store port bound; requests in flight
 *    fail with -XEN_ENOTCONN (xenstored may or may not have done them);
 *    what the ring held for us is dropped; wake-up IPIs the event resume
 *    lost bound again; the queued requests go out; every watch is
 *    registered again with its token, so xenstored fires each once and
 *    then on every change (Linux's xs_resume()).  A transaction open
 *    across a restore is the old connection's: its requests and its end
 *    fail with -XEN_ENOENT in the client, never sent (the new
 *    connection numbers its transactions from 1 again: an old id would
 *    be a new transaction's); start it again.
 * 1 after a restore (the xenbus devices are then resumed:
 * xl_xenbus_resume()), 0 in the same domain, or -XEN_Exxx (no connection
 * to the new xenstore).
 */
int xl_xs_suspend(uint64_t timeout_ns);
int xl_xs_resume(bool cancelled);

/* --- the reply parser, a pure function (fuzzed by fuzz/xs-reply-fuzz.c) --- */

/* What a request expects back: the wire type it sent. */
enum xl_xs_parse_rc {
	XL_XS_PARSE_OK = 0,
	XL_XS_PARSE_SHORT,	/* header or body not complete yet */
	XL_XS_PARSE_BAD_LEN,	/* len > XENSTORE_PAYLOAD_MAX: framing lost */
	XL_XS_PARSE_BAD_TYPE,	/* not a reply type, or not the one expected */
	XL_XS_PARSE_BAD_REQ_ID, /* req_id is not the expected one */
	XL_XS_PARSE_UNTERMINATED, /* a string field lacks its NUL */
	XL_XS_PARSE_BAD_BODY,	  /* malformed (event with one string, ...) */
};

struct xl_xs_reply {
	struct xsd_sockmsg hdr; /* as received (copied) */
	const char *body;	/* points into the caller's buffer */
	uint32_t len;		/* == hdr.len */
	int err;		/* XS_ERROR: the -XEN_E* value, else 0 */
	/* XS_WATCH_EVENT: the two strings inside body. */
	const char *ev_path;
	const char *ev_token;
};

/*
 * Parse one message from buf[0 .. avail): a struct xsd_sockmsg then len
 * bytes.  expect_type/expect_req_id describe the request the reply is for
 * (expect_type XS_INVALID: any request type; events are always accepted).
 * Checks: len <= XENSTORE_PAYLOAD_MAX, header and body within avail,
 * type among the defined reply types (XS_ERROR and XS_WATCH_EVENT
 * included) and, for a reply, expect_type or XS_ERROR, req_id, and the
 * NUL-terminated strings each type carries (READ's value is raw bytes).
 * On OK *consumed is the message's size; on SHORT the bytes it needs in all.
 * Never reads outside buf[0 .. avail).
 */
enum xl_xs_parse_rc xl_xs_parse_reply(const void *buf, size_t avail,
				      uint32_t expect_type,
				      uint32_t expect_req_id,
				      struct xl_xs_reply *out,
				      size_t *consumed);
/* The -XEN_E* value of an xsd_errors name ("ENOENT"), -XEN_EIO if unknown. */
int xl_xs_errno(const char *name, size_t len);
const char *xl_xs_parse_rc_name(enum xl_xs_parse_rc rc);

#endif /* XENLITE_XENSTORE_H */
