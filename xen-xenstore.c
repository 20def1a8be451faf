// SPDX-License-Identifier: GPL-2.0
/*
 * xenlite xenstore client: requests and replies on the xenstore ring of
 * <xen/io/xs_wire.h>, watches, transactions (include/xenlite/xenstore.h).
 *
 * All ring work happens in xs_pump(), under xs.lock with event delivery
 * masked, called by a request's sender and by the store port's handler
 * (upcall context, vCPU 0).  The pump never blocks: it writes as much of
 * the queued requests as the ring takes, reads the replies there are up
 * to a budget (XL_XS_PUMP_BUDGET; a xenstored that never stops producing
 * must not hold the vCPU: the rest goes to a later run through the
 * vCPU's wake-up IPI), completes requests and queues watch events.  A sender then
 * idles (xl_idle_until) until its request is done; a reply taken in by
 * another vCPU's upcall wakes the sender's vCPU with an IPI, so the check
 * "done?" and the block cannot lose that wake-up.
 *
 * Ring rules (xs_wire.h; the same as Linux's drivers/xen/xenbus/
 * xenbus_comms.c xb_write()/xb_read()): the guest owns req_prod and
 * rsp_cons, xenstored req_cons and rsp_prod.  Indexes are free-running
 * 32-bit counters, MASK_XENSTORE_IDX() picks the byte; a producer more
 * than XENSTORE_RING_SIZE ahead of its consumer is corrupt.
 */

#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/idle.h>
#include <xenlite/xenstore.h>

#define XS_HDR ((uint32_t)sizeof(struct xsd_sockmsg))
#define XS_EVQ_SIZE 16384U /* watch event queue, bytes */
#define XS_ABANDONED 64U   /* ids of requests failed before their reply */
#define XS_TX_DEFAULT_TRIES 16U
/*
 * Open transactions, each a slot.  xenstored allows 10 a connection by
 * default (Xen 4.17 tools/xenstore xenstored_core.c quota_max_transaction),
 * Linux's xenbus no fixed number; 32 here.
 */
#define XS_TX_SLOTS 32U
#define XS_TX_SLOT_BITS 5U

struct xs_req {
	struct xs_req *next;
	char *msg; /* header + body */
	uint32_t msg_len, msg_off;
	uint32_t type, req_id;
	char *reply; /* XENSTORE_PAYLOAD_MAX + 1 */
	uint32_t reply_len;
	int err;
	uint32_t done; /* atomic */
	bool orphan;   /* the sender timed out: completion frees it */
	unsigned int cpu;
	xl_xs_tx_t tx;	   /* the caller's handle, XL_XS_NO_TX for none */
	uint32_t conn_gen; /* the connection that answered (xs.conn_gen) */
};

/*
 * An open transaction.  The caller's xl_xs_tx_t is a handle of ours, not
 * xenstored's id: xenstored numbers each connection's transactions from
 * 1 (Xen 4.17 xenstored_transaction.c do_transaction_start(),
 * conn->next_transaction_id, 1 in new_connection(); oxenstored's
 * initial_next_tid = 1), so after a restore the new connection hands out
 * the ids the old one did, and an old id sent again would land in
 * someone else's new transaction.  handle 0: the slot is free; wire 0:
 * the start is not answered yet.
 */
struct xs_tx_slot {
	xl_xs_tx_t handle; /* seq << XS_TX_SLOT_BITS | slot */
	uint32_t wire;	   /* xenstored's id on connection conn_gen */
	uint32_t conn_gen;
};

struct xs_iov {
	const void *p;
	uint32_t len;
};

static struct {
	uint32_t ready;	     /* atomic */
	uint32_t pump_again; /* atomic: a pump run stopped on its budget */
	struct xenstore_domain_interface *intf;
	evtchn_port_t port;
	evtchn_port_t ipi[XL_MAX_VCPUS];
	unsigned int nr_cpus;
	xl_spinlock_t lock; /* everything below; taken with delivery masked */
	XENSTORE_RING_IDX req_prod, rsp_cons; /* ours */
	struct xs_req *sendq, **sendq_tail;
	struct xs_req *inflight, **inflight_tail; /* sent, in send order */
	uint32_t next_req_id;
	union {
		struct xsd_sockmsg hdr;
		char b[XS_HDR + XENSTORE_PAYLOAD_MAX + 1];
	} rx;
	uint32_t rx_have;
	uint32_t abandoned[XS_ABANDONED];
	unsigned int ab_next;
	bool bad_req_idx_logged;
	struct xl_xs_watch *watches;
	uint32_t next_token;
	char evq[XS_EVQ_SIZE];
	uint32_t evq_head, evq_tail; /* free-running */
	uint32_t overflow_pending;   /* atomic */
	unsigned long watch_waiters; /* atomic: vCPUs in xl_xs_idle_until */
	/* xl_xs_run_watches(): one dispatcher at a time. */
	uint32_t dispatching;	  /* atomic */
	uint32_t dispatch_cpu;	  /* atomic */
	unsigned long dispatch_w; /* atomic: the watch whose callback runs */
	char ev_token[sizeof(((struct xl_xs_watch *)0)->token)];
	char ev_path[XENSTORE_PAYLOAD_MAX + 1];
	/*
	 * Save/restore (xl_xs_suspend .. xl_xs_resume): no new message goes
	 * into the ring while suspended; quiesce_cpu (atomic) is the vCPU
	 * waiting for the requests in flight to be answered, woken at each
	 * completion.  rewatch_gen: the resume's pass over the watches.
	 */
	bool suspended;
	uint32_t quiesce_cpu;
	uint32_t rewatch_gen;
	/*
	 * conn_gen: the connection, one more at each restore.  A transaction
	 * of an older one is dead: its requests fail with -XEN_ENOENT in the
	 * client, never sent (Linux instead makes xs_suspend() wait for every
	 * transaction to end, xs_suspend_enter(); one held across a save
	 * blocks the save).
	 */
	uint32_t conn_gen;
	/*
	 * Time suspended (xs_wait() does not count it): susp_at, when the
	 * suspension under way began; susp_ns, the total of those ended.
	 */
	uint64_t susp_at, susp_ns;
	uint32_t tx_seq;
	struct xs_tx_slot tx[XS_TX_SLOTS];
	struct xl_xs_stats st;
} xs;

/* --- freestanding helpers -------------------------------------------------- */

static size_t xs_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static size_t xs_strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

static void xs_memcpy(void *d, const void *s, size_t n)
{
	char *dp = d;
	const char *sp = s;

	while (n--)
		*dp++ = *sp++;
}

static bool xs_streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

/* The host formats (xl_os_vsnprintf(), include/xenlite/os.h). */
static int xs_snprintf(char *buf, size_t size, const char *fmt, ...)
	XL_PRINTF(3, 4);

static int xs_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = xl_os_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* --- the reply parser (pure) --------------------------------------------------- */

static const struct {
	const char *name;
	int err;
} xs_errors[] = {
	/* xsd_errors[] of xs_wire.h, in its order, as Xen errnos. */
	{ "EINVAL", -XEN_EINVAL },	 { "EACCES", -XEN_EACCES },
	{ "EEXIST", -XEN_EEXIST },	 { "EISDIR", -XEN_EISDIR },
	{ "ENOENT", -XEN_ENOENT },	 { "ENOMEM", -XEN_ENOMEM },
	{ "ENOSPC", -XEN_ENOSPC },	 { "EIO", -XEN_EIO },
	{ "ENOTEMPTY", -XEN_ENOTEMPTY }, { "ENOSYS", -XEN_ENOSYS },
	{ "EROFS", -XEN_EROFS },	 { "EBUSY", -XEN_EBUSY },
	{ "EAGAIN", -XEN_EAGAIN },	 { "EISCONN", -XEN_EISCONN },
	{ "E2BIG", -XEN_E2BIG },	 { "EPERM", -XEN_EPERM },
};

int xl_xs_errno(const char *name, size_t len)
{
	unsigned int i;

	for (i = 0; i < sizeof(xs_errors) / sizeof(xs_errors[0]); i++) {
		const char *e = xs_errors[i].name;
		size_t el = xs_strlen(e), k;

		if (el != len)
			continue;
		for (k = 0; k < len && name[k] == e[k]; k++)
			;
		if (k == len)
			return xs_errors[i].err;
	}
	return -XEN_EIO;
}

const char *xl_xs_parse_rc_name(enum xl_xs_parse_rc rc)
{
	switch (rc) {
	case XL_XS_PARSE_OK:
		return "ok";
	case XL_XS_PARSE_SHORT:
		return "incomplete";
	case XL_XS_PARSE_BAD_LEN:
		return "length over XENSTORE_PAYLOAD_MAX";
	case XL_XS_PARSE_BAD_TYPE:
		return "bad message type";
	case XL_XS_PARSE_BAD_REQ_ID:
		return "req_id of another request";
	case XL_XS_PARSE_UNTERMINATED:
		return "string without its NUL";
	case XL_XS_PARSE_BAD_BODY:
		return "malformed body";
	}
	return "?";
}

/* A body that must be NUL-terminated strings (empty allowed or not). */
static bool xs_terminated(const char *b, uint32_t len, bool empty_ok)
{
	return len ? b[len - 1] == '\0' : empty_ok;
}

static enum xl_xs_parse_rc xs_parse_event(struct xl_xs_reply *out)
{
	const char *b = out->body;
	uint32_t len = out->len;
	size_t pl;

	/* path\0token\0 (xs_wire.h XS_WATCH_PATH, XS_WATCH_TOKEN). */
	if (!xs_terminated(b, len, false))
		return XL_XS_PARSE_UNTERMINATED;
	pl = xs_strnlen(b, len);
	if (pl + 1 >= len)
		return XL_XS_PARSE_BAD_BODY; /* no token */
	out->ev_path = b;
	out->ev_token = b + pl + 1;
	return XL_XS_PARSE_OK;
}

static enum xl_xs_parse_rc xs_parse_body(struct xl_xs_reply *out)
{
	const char *b = out->body;
	uint32_t len = out->len, i;

	switch (out->hdr.type) {
	case XS_ERROR:
		/* One string: the xsd_errors name. */
		if (!xs_terminated(b, len, false))
			return XL_XS_PARSE_UNTERMINATED;
		if (xs_strnlen(b, len) != len - 1)
			return XL_XS_PARSE_BAD_BODY;
		out->err = xl_xs_errno(b, len - 1);
		return XL_XS_PARSE_OK;
	case XS_READ:
		return XL_XS_PARSE_OK; /* the value: any bytes */
	case XS_DIRECTORY:
	case XS_DIRECTORY_PART:
	case XS_GET_PERMS:
		return xs_terminated(b, len, true) ? XL_XS_PARSE_OK :
						     XL_XS_PARSE_UNTERMINATED;
	case XS_TRANSACTION_START:
		if (!xs_terminated(b, len, false))
			return XL_XS_PARSE_UNTERMINATED;
		if (len < 2 || len > 11)
			return XL_XS_PARSE_BAD_BODY;
		for (i = 0; i + 1 < len; i++)
			if (b[i] < '0' || b[i] > '9')
				return XL_XS_PARSE_BAD_BODY;
		return XL_XS_PARSE_OK;
	default:
		/* "OK" and the like: one terminated string. */
		return xs_terminated(b, len, false) ? XL_XS_PARSE_OK :
						      XL_XS_PARSE_UNTERMINATED;
	}
}

/* Types a daemon may send: the defined ones but the removed XS_RESTRICT. */
static bool xs_type_known(uint32_t t)
{
	return t < XS_TYPE_COUNT && t != XS_SET_TARGET + 1;
}

enum xl_xs_parse_rc xl_xs_parse_reply(const void *buf, size_t avail,
				      uint32_t expect_type,
				      uint32_t expect_req_id,
				      struct xl_xs_reply *out, size_t *consumed)
{
	const char *b = buf;

	*consumed = XS_HDR;
	if (avail < XS_HDR)
		return XL_XS_PARSE_SHORT;
	xs_memcpy(&out->hdr, b, XS_HDR);
	/* "Violating this is very bad" (xs_wire.h): the framing is lost. */
	if (out->hdr.len > XENSTORE_PAYLOAD_MAX)
		return XL_XS_PARSE_BAD_LEN;
	*consumed = XS_HDR + out->hdr.len;
	if (avail < *consumed)
		return XL_XS_PARSE_SHORT;
	out->body = b + XS_HDR;
	out->len = out->hdr.len;
	out->err = 0;
	out->ev_path = NULL;
	out->ev_token = NULL;
	if (out->hdr.type == XS_WATCH_EVENT)
		return xs_parse_event(out);
	if (!xs_type_known(out->hdr.type))
		return XL_XS_PARSE_BAD_TYPE;
	if (expect_type != XS_INVALID) {
		if (out->hdr.type != expect_type && out->hdr.type != XS_ERROR)
			return XL_XS_PARSE_BAD_TYPE;
		if (out->hdr.req_id != expect_req_id)
			return XL_XS_PARSE_BAD_REQ_ID;
	}
	return xs_parse_body(out);
}

/* --- lock, requests ------------------------------------------------------------- */

static unsigned long xs_lock(void) XL_ACQUIRES(&xs.lock)
{
	return xl_spin_lock_irqsave(&xs.lock);
}

static void xs_unlock(unsigned long flags) XL_RELEASES(&xs.lock)
{
	xl_spin_unlock_irqrestore(&xs.lock, flags);
}

static void xs_req_free(struct xs_req *r)
{
	if (!r)
		return;
	xl_os_free(r->msg);
	xl_os_free(r->reply);
	xl_os_free(r);
}

static void xs_abandon_locked(uint32_t id)
{
	xs.abandoned[xs.ab_next++ % XS_ABANDONED] = id;
}

static bool xs_was_abandoned(uint32_t id)
{
	unsigned int i,
		n = xs.ab_next < XS_ABANDONED ? xs.ab_next : XS_ABANDONED;

	for (i = 0; i < n; i++)
		if (xs.abandoned[i] == id)
			return true;
	return false;
}

static void xs_unlink_inflight_locked(struct xs_req *r)
{
	struct xs_req **pp;

	for (pp = &xs.inflight; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (!xs.inflight)
		xs.inflight_tail = &xs.inflight;
	else if (xs.inflight_tail == &r->next)
		for (xs.inflight_tail = &xs.inflight; *xs.inflight_tail;
		     xs.inflight_tail = &(*xs.inflight_tail)->next)
			;
	r->next = NULL;
}

/*
 * Done: the reply fields are written before done (xchg is a full
 * barrier), and the sender's vCPU is woken if it is not us.
 */
static void xs_complete_locked(struct xs_req *r, int err)
{
	unsigned int cpu = r->cpu;

	xs_unlink_inflight_locked(r);
	if (r->orphan) {
		/* Its sender gave up (xs_wait): nobody to wake. */
		xs.st.stale++;
		xs_req_free(r);
		return;
	}
	r->err = err;
	r->conn_gen = xs.conn_gen;
	xl_xchg32(&r->done, 1);
	/* r may be freed from here on. */
	if (cpu != xl_os_vcpu_id() && cpu < xs.nr_cpus && xs.ipi[cpu])
		xl_evtchn_send(xs.ipi[cpu]);
	/* xl_xs_suspend() waits for the last one (xs_quiet). */
	cpu = xl_read32(&xs.quiesce_cpu);
	if (xs.suspended && cpu != xl_os_vcpu_id() && cpu < xs.nr_cpus &&
	    xs.ipi[cpu])
		xl_evtchn_send(xs.ipi[cpu]);
}

/* Fail every sent request (their replies, if any come, are dropped). */
static void xs_fail_inflight_locked(int err)
{
	while (xs.inflight) {
		struct xs_req *r = xs.inflight;

		xs_abandon_locked(r->req_id);
		xs_complete_locked(r, err);
	}
}

/*
 * Framing lost (a length over the maximum, rsp_prod too far ahead): drop
 * what the ring holds and fail the requests whose replies it may have
 * held.  rsp_cons = rsp_prod also makes the ring consistent again.
 */
static void xs_resync_locked(const char *why, uint32_t val)
{
	XENSTORE_RING_IDX prod = xl_read32(&xs.intf->rsp_prod);

	xl_err("xenstore: %s (%u): dropping %u ring bytes, failing %s "
	       "requests in flight with EIO\n",
	       why, val, prod - xs.rsp_cons, xs.inflight ? "the" : "no");
	xs.st.resyncs++;
	xs.st.bad_replies++;
	xs.rx_have = 0;
	/* Nothing of the dropped bytes is read: no barrier needed for them;
	 * the full barrier orders our earlier reads before the new cons. */
	xl_mb();
	xs.rsp_cons = prod;
	xl_write32(&xs.intf->rsp_cons, prod);
	xs_fail_inflight_locked(-XEN_EIO);
}

/* Write queued requests into the ring; true if req_prod moved. */
static bool xs_write_locked(void)
{
	struct xenstore_domain_interface *in = xs.intf;
	bool moved = false;
	struct xs_req *r;

	while ((r = xs.sendq)) {
		XENSTORE_RING_IDX cons = xl_read32(&in->req_cons);
		uint32_t used = xs.req_prod - cons, n, off;

		/* Suspended: only the rest of a message already begun. */
		if (xs.suspended && !r->msg_off)
			break;

		if (used > XENSTORE_RING_SIZE) {
			if (!xs.bad_req_idx_logged)
				xl_err("xenstore: req_cons %u is not within a "
				       "ring of req_prod %u\n",
				       cons, xs.req_prod);
			xs.bad_req_idx_logged = true;
			break;
		}
		if (used == XENSTORE_RING_SIZE) {
			xs.st.ring_waits++;
			break;
		}
		/* Write the space only after reading req_cons freed it
		 * (xb_write(): "Must write data /after/ reading the consumer
		 * index", virt_mb()). */
		xl_mb();
		off = MASK_XENSTORE_IDX(xs.req_prod);
		n = XENSTORE_RING_SIZE - used;
		if (n > XENSTORE_RING_SIZE - off)
			n = XENSTORE_RING_SIZE - off;
		if (n > r->msg_len - r->msg_off)
			n = r->msg_len - r->msg_off;
		xs_memcpy(in->req + off, r->msg + r->msg_off, n);
		r->msg_off += n;
		/* The bytes before the index that publishes them (xb_write():
		 * "Other side must not see new producer until data is
		 * there", virt_wmb()). */
		xl_wmb();
		xs.req_prod += n;
		xl_write32(&in->req_prod, xs.req_prod);
		moved = true;
		if (r->msg_off == r->msg_len) {
			xs.sendq = r->next;
			if (!xs.sendq)
				xs.sendq_tail = &xs.sendq;
			r->next = NULL;
			*xs.inflight_tail = r;
			xs.inflight_tail = &r->next;
		}
	}
	return moved;
}

/* --- watch event queue ---------------------------------------------------------- */

static struct xl_xs_watch *xs_watch_by_token(const char *token)
{
	struct xl_xs_watch *w;

	for (w = xs.watches; w; w = w->next)
		if (xs_streq(w->token, token))
			return w;
	return NULL;
}

/* Under xs.lock; the indexes are also read unlocked (pending checks). */
static void xs_evq_put(const void *p, uint32_t n)
{
	const char *s = p;
	uint32_t t = xs.evq_tail;

	while (n--)
		xs.evq[t++ % XS_EVQ_SIZE] = *s++;
	xl_write32(&xs.evq_tail, t);
}

static void xs_evq_get(void *p, uint32_t n)
{
	char *d = p;
	uint32_t h = xs.evq_head;

	while (n--)
		*d++ = xs.evq[h++ % XS_EVQ_SIZE];
	xl_write32(&xs.evq_head, h);
}

/*
 * Wake the vCPUs idling in xl_xs_idle_until() (but us: our own idle loop
 * re-checks after this upcall).  The full barrier orders the queue update
 * before reading the waiters, against their RMW then queue check.
 */
static void xs_wake_watch_waiters_locked(void)
{
	unsigned long mask;
	unsigned int cpu, self = xl_os_vcpu_id();

	xl_mb();
	mask = xl_read_ulong(&xs.watch_waiters);
	while (mask) {
		cpu = (unsigned int)__builtin_ctzl(mask);
		mask &= mask - 1;
		if (cpu != self && cpu < xs.nr_cpus && xs.ipi[cpu])
			xl_evtchn_send(xs.ipi[cpu]);
	}
}

/* Record: u16 token length, u16 path length, token, path (no NULs). */
static void xs_queue_event_locked(const char *path, const char *token)
{
	struct xl_xs_watch *w = xs_watch_by_token(token);
	uint16_t tl, pl;
	size_t pls;

	xs.st.events++;
	if (!w)
		return; /* unwatched meanwhile: dropped */
	tl = (uint16_t)xs_strlen(token);
	pls = xs_strlen(path);
	pl = (uint16_t)pls;
	if (tl >= sizeof(w->token) || pls > XENSTORE_PAYLOAD_MAX ||
	    XS_EVQ_SIZE - (xs.evq_tail - xs.evq_head) < 4U + tl + pl) {
		/* Never silently lost: the callback runs for its own path. */
		xl_fetch_or32(&w->overflow, 1);
		xl_xchg32(&xs.overflow_pending, 1);
		xs.st.events_lost++;
	} else {
		xs_evq_put(&tl, sizeof(tl));
		xs_evq_put(&pl, sizeof(pl));
		xs_evq_put(token, tl);
		xs_evq_put(path, pl);
	}
	xs_wake_watch_waiters_locked();
}

/* One complete message in xs.rx. */
static void xs_dispatch_locked(void)
{
	struct xl_xs_reply rep;
	struct xs_req *r;
	enum xl_xs_parse_rc rc;
	size_t used;
	uint32_t id = xs.rx.hdr.req_id, type = xs.rx.hdr.type;

	if (type == XS_WATCH_EVENT) {
		rc = xl_xs_parse_reply(xs.rx.b, xs.rx_have, XS_INVALID, 0, &rep,
				       &used);
		if (rc != XL_XS_PARSE_OK) {
			xs.st.bad_replies++;
			xl_err("xenstore: bad watch event dropped: %s\n",
			       xl_xs_parse_rc_name(rc));
			return;
		}
		xs_queue_event_locked(rep.ev_path, rep.ev_token);
		return;
	}
	for (r = xs.inflight; r && r->req_id != id; r = r->next)
		;
	if (!r) {
		if (xs_was_abandoned(id)) {
			xs.st.stale++;
			return;
		}
		/* xenstored answers in order: this was the oldest's reply. */
		xs.st.bad_replies++;
		r = xs.inflight;
		xl_err("xenstore: reply (type %u) with req_id %u that no "
		       "request has: %s\n",
		       type, id,
		       r ? "failing the oldest request with EIO" : "dropped");
		if (r) {
			xs_abandon_locked(r->req_id);
			xs_complete_locked(r, -XEN_EIO);
		}
		return;
	}
	rc = xl_xs_parse_reply(xs.rx.b, xs.rx_have, r->type, r->req_id, &rep,
			       &used);
	if (rc != XL_XS_PARSE_OK) {
		xs.st.bad_replies++;
		xl_err("xenstore: bad reply to request %u (type %u): %s\n", id,
		       r->type, xl_xs_parse_rc_name(rc));
		xs_complete_locked(r, -XEN_EIO);
		return;
	}
	xs_memcpy(r->reply, rep.body, rep.len);
	r->reply[rep.len] = '\0';
	r->reply_len = rep.len;
	xs.st.replies++;
	xs_complete_locked(r, rep.err);
}

/*
 * Read replies and events; true if rsp_cons moved.  At most
 * XL_XS_PUMP_BUDGET bytes (and as many steps, resyncs included; a message
 * may be taken in over several runs, xs.rx keeps the part): *more says
 * the ring still had some (xs_pump_later()).
 */
static bool xs_read_locked(bool *more)
{
	struct xenstore_domain_interface *in = xs.intf;
	uint32_t taken = 0, steps = 0;
	bool moved = false;

	for (;;) {
		XENSTORE_RING_IDX prod = xl_read32(&in->rsp_prod);
		uint32_t avail = prod - xs.rsp_cons, need, n, off;

		if (avail && (taken >= XL_XS_PUMP_BUDGET ||
			      steps++ >= XL_XS_PUMP_BUDGET)) {
			*more = true;
			break;
		}
		if (avail > XENSTORE_RING_SIZE) {
			xs_resync_locked("rsp_prod more than a ring ahead",
					 avail);
			moved = true;
			continue;
		}
		if (!avail)
			break;
		/* The bytes only after the index that covers them (xb_read():
		 * virt_rmb()). */
		xl_rmb();
		need = xs.rx_have < XS_HDR ?
			       XS_HDR - xs.rx_have :
			       XS_HDR + xs.rx.hdr.len - xs.rx_have;
		off = MASK_XENSTORE_IDX(xs.rsp_cons);
		n = avail < need ? avail : need;
		if (n > XENSTORE_RING_SIZE - off)
			n = XENSTORE_RING_SIZE - off;
		if (n > XL_XS_PUMP_BUDGET - taken)
			n = XL_XS_PUMP_BUDGET - taken;
		xs_memcpy(xs.rx.b + xs.rx_have, in->rsp + off, n);
		xs.rx_have += n;
		taken += n;
		/* Done reading before the space is given back (xb_read():
		 * "Must read data before updating the consumer index",
		 * virt_mb()). */
		xl_mb();
		xs.rsp_cons += n;
		xl_write32(&in->rsp_cons, xs.rsp_cons);
		moved = true;
		if (xs.rx_have == XS_HDR &&
		    xs.rx.hdr.len > XENSTORE_PAYLOAD_MAX) {
			xs_resync_locked(
				"reply length over XENSTORE_PAYLOAD_MAX",
				xs.rx.hdr.len);
			continue;
		}
		if (xs.rx_have >= XS_HDR &&
		    xs.rx_have == XS_HDR + xs.rx.hdr.len) {
			xs_dispatch_locked();
			xs.rx_have = 0;
		}
	}
	if (taken > xs.st.pump_max)
		xs.st.pump_max = taken;
	if (*more)
		xs.st.pump_deferred++;
	return moved;
}

/*
 * Move what can move; true if the daemon should be told.  *more: the read
 * side stopped on its budget (the write side is bounded by our own queue).
 */
static bool xs_pump_locked(bool *more)
{
	bool notify = xs_write_locked();

	notify |= xs_read_locked(more);
	return notify;
}

/*
 * The pump stopped on its budget with replies or events still in the ring:
 * xenstored will not notify again for bytes it already announced, so ask
 * for another run through this vCPU's wake-up IPI (xs_ipi_handler).  The
 * upcall takes it behind the events already pending, and the upcall's
 * own budget (xl_evtchn_upcall) bounds how many such runs one upcall
 * makes.  Called with xs.lock dropped: the send is a hypercall.
 */
static void xs_pump_later(void)
{
	unsigned int cpu = xl_os_vcpu_id();

	/* Fully ordered: the handler that sees it runs a whole pump. */
	xl_xchg32(&xs.pump_again, 1);
	if (cpu < xs.nr_cpus && xs.ipi[cpu])
		xl_evtchn_send(xs.ipi[cpu]);
}

static void xs_pump(void)
{
	unsigned long flags = xs_lock();
	bool more = false;
	bool notify = xl_read32(&xs.ready) && xs_pump_locked(&more);

	xs_unlock(flags);
	if (notify)
		xl_evtchn_send(xs.port);
	if (more)
		xs_pump_later();
}

static void xs_port_handler(evtchn_port_t port, void *data)
{
	(void)port;
	(void)data;
	xs_pump();
}

/*
 * The wake-up IPI: its upcall is the point (a waiter re-checks its
 * request), and it carries the rest of a pump run that hit its budget.
 */
static void xs_ipi_handler(evtchn_port_t port, void *data)
{
	(void)port;
	(void)data;
	if (xl_read32(&xs.pump_again) && xl_xchg32(&xs.pump_again, 0))
		xs_pump();
}

static bool xs_req_done(void *arg)
{
	struct xs_req *r = arg;

	return xl_read32(&r->done) != 0;
}

/* xl_xs_set_timeout(); 0: wait for good.  Outside xs: init clears xs. */
static uint64_t xs_timeout_ns = XL_XS_TIMEOUT_DEFAULT_NS;

void xl_xs_set_timeout(uint64_t timeout_ns)
{
	xl_write64(&xs_timeout_ns, timeout_ns);
}

uint64_t xl_xs_get_timeout(void)
{
	return xl_read64(&xs_timeout_ns);
}

struct xs_wait {
	bool (*cond)(void *);
	void *arg;
	uint64_t deadline;
};

static bool xs_wait_done(void *arg)
{
	struct xs_wait *w = arg;

	return w->cond(w->arg) || xl_clock_now() >= w->deadline;
}

static void xs_wait_timer_fn(struct xl_timer *t)
{
	(void)t; /* the upcall that ran this ends the block */
}

/*
 * Without the core's clock (no xl_clock_init(), so no timer to end a
 * block at the deadline): SCHEDOP_poll on the store port and this vCPU's
 * wake-up IPI, with the deadline as its timeout.  Delivery is masked
 * around the check and the poll, so an event raised after the check
 * stays pending and ends the poll (Xen's do_poll checks the ports after
 * it marks the vCPU polling, xen/common/sched/core.c); the upcall then
 * runs when delivery is unmasked.
 */
static void xs_poll_until(struct xs_wait *w)
{
	unsigned int cpu = xl_os_vcpu_id(), n = 0;
	evtchn_port_t ports[2];
	unsigned long flags;

	ports[n++] = xs.port;
	if (cpu < xs.nr_cpus && xs.ipi[cpu])
		ports[n++] = xs.ipi[cpu];
	for (;;) {
		flags = xl_os_irq_save();
		if (xs_wait_done(w)) {
			xl_os_irq_restore(flags);
			return;
		}
		/* Refused (never seen): wait for any upcall, as without a
		 * timeout, rather than spin to the deadline. */
		if (xl_idle_poll(ports, n, w->deadline) < 0)
			xl_idle_halt();
		xl_os_irq_restore(flags);
	}
}

/*
 * Idle until r is done, or the timeout passes: then r is left to the
 * pump as an orphan (its message, perhaps half in the ring, still goes
 * out whole, so the framing holds; its reply, if one ever comes, is
 * matched and dropped, so later requests still get their own) and the
 * sender gets -XEN_ETIMEDOUT.  Without a clock timer (xl_clock_init() not
 * run) the wait is xs_poll_until()'s.
 */
/* Idle until cond(arg), or until deadline passed. */
static void xs_idle_deadline(bool (*cond)(void *), void *arg, uint64_t deadline)
{
	struct xs_wait w = { cond, arg, deadline };
	struct xl_timer t;

	xl_timer_setup(&t, xs_wait_timer_fn, NULL);
	if (xl_timer_arm(&t, deadline) == 0) {
		xl_wait_until(xs_wait_done, &w);
		xl_timer_cancel(&t);
	} else {
		xs_poll_until(&w);
	}
}

/* Take r off the send queue if none of it is in the ring.  Under xs.lock. */
static bool xs_unqueue_unsent_locked(struct xs_req *r)
{
	struct xs_req **pp;

	if (r->msg_off)
		return false;
	for (pp = &xs.sendq; *pp; pp = &(*pp)->next) {
		if (*pp != r)
			continue;
		*pp = r->next;
		if (xs.sendq_tail == &r->next)
			xs.sendq_tail = pp;
		r->next = NULL;
		return true;
	}
	return false;
}

/*
 * The time r has waited, not counting the time suspended (xl_xs_suspend()
 * .. xl_xs_resume(): nothing is answered then, and a restore jumps the
 * clock to the new host's).  susp0: xs.susp_ns when r began waiting, plus
 * the part of a suspension under way then that was before it (not r's).
 * Under xs.lock.
 */
static uint64_t xs_waited_locked(uint64_t start, uint64_t susp0)
{
	uint64_t now = xl_clock_now(), susp = xs.susp_ns - susp0;

	if (xs.suspended)
		susp += now - xs.susp_at;
	return now - start - susp;
}

static int xs_wait(struct xs_req *r)
{
	uint64_t timeout = xl_read64(&xs_timeout_ns), start, susp0, waited;
	unsigned long flags;
	uint32_t id = 0, type = 0;
	bool orphaned = false, unsent = false;

	if (!timeout) {
		xl_wait_until(xs_req_done, r);
		return 0;
	}
	flags = xs_lock();
	start = xl_clock_now();
	susp0 = xs.susp_ns;
	if (xs.suspended) /* the part before start is not r's */
		susp0 += start - xs.susp_at;
	xs_unlock(flags);
	for (;;) {
		flags = xs_lock();
		waited = xs_waited_locked(start, susp0);
		xs_unlock(flags);
		if (waited < timeout)
			xs_idle_deadline(xs_req_done, r,
					 xl_clock_now() + timeout - waited);
		if (xs_req_done(r))
			return 0;
		flags = xs_lock();
		if (xs_req_done(r) ||
		    xs_waited_locked(start, susp0) < timeout) {
			xs_unlock(flags);
			continue; /* done, or woken early / suspended meanwhile */
		}
		/* Read under the lock: once unlocked the pump may free r. */
		id = r->req_id;
		type = r->type;
		xs.st.timeouts++;
		orphaned = true;
		/*
		 * Given up: if none of it is in the ring, it is never sent
		 * (xenstored must not do what the caller was told failed);
		 * a message begun is finished and its reply dropped.
		 */
		unsent = xs_unqueue_unsent_locked(r);
		if (!unsent)
			r->orphan = true;
		xs_unlock(flags);
		break;
	}
	if (unsent)
		xs_req_free(r);
	if (!orphaned)
		return 0;
	xl_err("xenstore: request %u (type %u) unanswered after %llu ms: "
	       "giving up (-ETIMEDOUT)\n",
	       id, type, (unsigned long long)(timeout / 1000000));
	return -XEN_ETIMEDOUT;
}

/*
 * The slot of handle tx, or NULL.  Under xs.lock.
 */
static struct xs_tx_slot *xs_tx_slot_locked(xl_xs_tx_t tx)
{
	struct xs_tx_slot *t = &xs.tx[tx & (XS_TX_SLOTS - 1)];

	return tx != XL_XS_NO_TX && t->handle == tx ? t : NULL;
}

/*
 * xenstored's id for handle tx on the current connection; -XEN_ENOENT
 * (what xenstored answers for an id it does not know) for a handle not
 * open, or open on a connection before a restore: that id is not sent.
 */
static int xs_tx_wire_locked(xl_xs_tx_t tx, uint32_t *wire)
{
	struct xs_tx_slot *t = xs_tx_slot_locked(tx);

	if (!t || !t->wire)
		return -XEN_ENOENT;
	if (t->conn_gen != xs.conn_gen) {
		xs.st.tx_dead++;
		return -XEN_ENOENT;
	}
	*wire = t->wire;
	return 0;
}

/* Send a request and wait for its reply; *out owns the reply. */
static int xs_talk(xl_xs_tx_t tx, uint32_t type, const struct xs_iov *iov,
		   unsigned int niov, struct xs_req **out)
{
	struct xsd_sockmsg h = { .type = type, .tx_id = tx };
	struct xs_req *r;
	unsigned long flags;
	unsigned int i;
	uint32_t len = 0, o;
	bool notify, more = false;
	int rc;

	*out = NULL;
	if (!xl_read32(&xs.ready))
		return -XEN_ENODEV;
	for (i = 0; i < niov; i++)
		len += iov[i].len;
	if (len > XENSTORE_PAYLOAD_MAX)
		return -XEN_E2BIG;
	r = xl_os_zalloc(sizeof(*r));
	if (!r)
		return -XEN_ENOMEM;
	r->msg = xl_os_zalloc(XS_HDR + len);
	r->reply = xl_os_zalloc(XENSTORE_PAYLOAD_MAX + 1);
	if (!r->msg || !r->reply) {
		xs_req_free(r);
		return -XEN_ENOMEM;
	}
	h.len = len;
	for (o = XS_HDR, i = 0; i < niov; o += iov[i].len, i++)
		xs_memcpy(r->msg + o, iov[i].p, iov[i].len);
	r->msg_len = XS_HDR + len;
	r->type = type;

	flags = xs_lock();
	rc = xl_read32(&xs.ready) ? 0 : -XEN_ENODEV;
	if (!rc && tx != XL_XS_NO_TX)
		rc = xs_tx_wire_locked(tx, &h.tx_id);
	if (rc) {
		xs_unlock(flags);
		xs_req_free(r);
		return rc;
	}
	r->tx = tx;
	r->cpu = xl_os_vcpu_id();
	r->req_id = h.req_id = xs.next_req_id++;
	xs_memcpy(r->msg, &h, XS_HDR);
	*xs.sendq_tail = r;
	xs.sendq_tail = &r->next;
	xs.st.requests++;
	notify = xs_pump_locked(&more);
	xs_unlock(flags);
	if (notify)
		xl_evtchn_send(xs.port);
	if (more)
		xs_pump_later();

	if (xs_wait(r))
		return -XEN_ETIMEDOUT; /* r is the pump's now */
	/* done was read before the reply fields (xs_complete_locked()). */
	xl_rmb();
	rc = r->err;
	if (rc)
		xs_req_free(r);
	else
		*out = r;
	return rc;
}

/* A path argument: the string and its NUL. */
static struct xs_iov xs_str(const char *s)
{
	return (struct xs_iov){ s, (uint32_t)xs_strlen(s) + 1 };
}

static int xs_simple(xl_xs_tx_t tx, uint32_t type, const struct xs_iov *iov,
		     unsigned int niov)
{
	struct xs_req *r;
	int rc = xs_talk(tx, type, iov, niov, &r);

	xs_req_free(r);
	return rc;
}

/* --- the API ----------------------------------------------------------------------- */

int xl_xs_init(void)
{
	void *intf;
	uint32_t port;
	unsigned int cpu;
	int rc;

	if (xl_read32(&xs.ready))
		return -XEN_EBUSY;
	rc = xl_os_xenstore_ring(&intf, &port);
	if (rc)
		return rc;
	__builtin_memset(&xs, 0, sizeof(xs));
	xl_spin_init(&xs.lock, "xs.lock");
	xs.intf = intf;
	xs.port = port;
	xs.sendq_tail = &xs.sendq;
	xs.inflight_tail = &xs.inflight;
	xs.next_req_id = 1;
	xs.req_prod = xl_read32(&xs.intf->req_prod);
	/* Replies an earlier client left are not ours: skip them. */
	xs.rsp_cons = xl_read32(&xs.intf->rsp_prod);
	xl_mb();
	xl_write32(&xs.intf->rsp_cons, xs.rsp_cons);
	xs.nr_cpus = xl_os_nr_vcpus();
	if (xs.nr_cpus > XL_MAX_VCPUS)
		xs.nr_cpus = XL_MAX_VCPUS;
	for (cpu = 0; cpu < xs.nr_cpus; cpu++) {
		rc = xl_evtchn_bind_ipi(cpu, xs_ipi_handler, NULL,
					&xs.ipi[cpu]);
		if (rc)
			goto fail;
	}
	xl_xchg32(&xs.ready, 1);
	rc = xl_evtchn_bind_existing(port, xs_port_handler, NULL);
	if (rc)
		goto fail;
	xs_pump();
	return 0;
fail:
	xl_err("xenstore: init failed: %d\n", rc);
	xl_xchg32(&xs.ready, 0);
	for (cpu = 0; cpu < xs.nr_cpus; cpu++)
		if (xs.ipi[cpu])
			xl_evtchn_close(xs.ipi[cpu]);
	return rc;
}

void xl_xs_fini(void)
{
	unsigned long flags;
	unsigned int cpu;

	if (!xl_read32(&xs.ready))
		return;
	xl_evtchn_unbind_existing(xs.port);
	flags = xs_lock();
	xl_xchg32(&xs.ready, 0);
	while (xs.sendq) {
		/* Unsent ones are failed too; the ring may hold a part. */
		struct xs_req *r = xs.sendq;

		xs.sendq = r->next;
		*xs.inflight_tail = r;
		xs.inflight_tail = &r->next;
		r->next = NULL;
	}
	xs_fail_inflight_locked(-XEN_ENODEV);
	xs.watches = NULL;
	xs_unlock(flags);
	for (cpu = 0; cpu < xs.nr_cpus; cpu++)
		if (xs.ipi[cpu])
			xl_evtchn_close(xs.ipi[cpu]);
}

/* --- save / restore (docs/save-restore.md) --------------------------------- */

/* Requests sent and unanswered, or a message begun and not finished. */
static unsigned int xs_busy_locked(void)
{
	unsigned int n = 0;
	struct xs_req *r;

	for (r = xs.inflight; r; r = r->next)
		n++;
	if (xs.sendq && xs.sendq->msg_off)
		n++;
	return n;
}

static bool xs_quiet(void *arg)
{
	unsigned long flags = xs_lock();
	bool quiet = !xs_busy_locked();

	(void)arg;
	xs_unlock(flags);
	return quiet;
}

int xl_xs_suspend(uint64_t timeout_ns)
{
	unsigned long flags;
	unsigned int busy;

	if (!xl_read32(&xs.ready))
		return 0;
	flags = xs_lock();
	if (!xs.suspended)
		xs.susp_at = xl_clock_now();
	xs.suspended = true;
	xl_write32(&xs.quiesce_cpu, xl_os_vcpu_id());
	xs_unlock(flags);
	/* Linux's xs_suspend(): xs_suspend_enter() waits for the requests
	 * and transactions in progress; here only the requests, bounded. */
	if (timeout_ns && !xs_quiet(NULL))
		xs_idle_deadline(xs_quiet, NULL, xl_clock_now() + timeout_ns);
	flags = xs_lock();
	xl_write32(&xs.quiesce_cpu, ~0U);
	busy = xs_busy_locked();
	xs_unlock(flags);
	return (int)busy;
}

/* Send what queued up while suspended. */
static void xs_thaw(void)
{
	unsigned long flags = xs_lock();

	/* After a restore, now is the new host's: the jump is not counted. */
	if (xs.suspended)
		xs.susp_ns += xl_clock_now() - xs.susp_at;
	xs.suspended = false;
	xs_unlock(flags);
	xs_pump();
}

/*
 * Queued while suspended, unsent, in a transaction of the old connection:
 * fail with -XEN_ENOENT rather than send the old id to the new one.  A
 * message begun (msg_off) is not among them: the quiesce finished it.
 */
static void xs_fail_queued_tx_locked(void)
{
	struct xs_req **pp = &xs.sendq, *r;

	xs.sendq_tail = &xs.sendq;
	while ((r = *pp)) {
		if (r->tx == XL_XS_NO_TX || r->msg_off) {
			pp = &r->next;
			xs.sendq_tail = pp;
			continue;
		}
		*pp = r->next;
		r->next = NULL;
		xs.st.tx_dead++;
		/* Completed as if in flight: link it there first. */
		*xs.inflight_tail = r;
		xs.inflight_tail = &r->next;
		xs_complete_locked(r, -XEN_ENOENT);
	}
}

/*
 * The watches again on the new connection, with their tokens (Linux's
 * xs_resume(): xs_watch() for each, after xb_init_comms()).  Each is
 * picked and marked under the lock, its path and token copied, and the
 * request sent unlocked, so an unwatch meanwhile is safe: a watch gone
 * before its turn is not registered, one gone after is unregistered by
 * its own unwatch.  xenstored fires each once when it registers it.
 */
static char xs_rewatch_path[XENSTORE_PAYLOAD_MAX + 1];

static void xs_rewatch_all(void)
{
	char token[sizeof(((struct xl_xs_watch *)0)->token)];
	struct xs_iov iov[2];
	struct xl_xs_watch *w;
	unsigned long flags;
	uint32_t gen;
	size_t pl;
	int rc;

	flags = xs_lock();
	gen = ++xs.rewatch_gen;
	xs_unlock(flags);
	for (;;) {
		flags = xs_lock();
		for (w = xs.watches; w && w->resume_gen == gen; w = w->next)
			;
		if (w) {
			w->resume_gen = gen;
			pl = xs_strnlen(w->path, XENSTORE_PAYLOAD_MAX);
			xs_memcpy(xs_rewatch_path, w->path, pl);
			xs_rewatch_path[pl] = '\0';
			xs_memcpy(token, w->token, sizeof(token));
		}
		xs_unlock(flags);
		if (!w)
			return;
		iov[0] = xs_str(xs_rewatch_path);
		iov[1] = xs_str(token);
		rc = xs_simple(XL_XS_NO_TX, XS_WATCH, iov, 2);
		flags = xs_lock();
		if (rc) {
			xs.st.rewatch_errors++;
			xs_unlock(flags);
			xl_err("xenstore: resume: watch %s (%s) not registered "
			       "again: %d\n",
			       xs_rewatch_path, token, rc);
			continue;
		}
		xs.st.rewatched++;
		xs_unlock(flags);
	}
}

/*
 * The new domain's connection: its ring and store port as the host has
 * them now (HVM_PARAM_STORE_PFN / _EVTCHN, start_info: the toolstack set
 * them for the new domain), the requests in flight failed, what the ring
 * holds for us dropped (Linux's xb_init_comms(): "response ring is not
 * quiescent" -> rsp_cons = rsp_prod), our wake-up IPIs bound again where
 * the event-channel resume lost them.
 */
static int xs_reconnect(void)
{
	void *intf;
	uint32_t port;
	unsigned int cpu;
	unsigned long flags;
	struct xs_req *r;
	int rc;

	rc = xl_os_xenstore_ring(&intf, &port);
	if (rc)
		return rc;
	for (cpu = 0; cpu < xs.nr_cpus; cpu++) {
		if (xs.ipi[cpu] &&
		    xl_evtchn_port_is(xs.ipi[cpu], xs_ipi_handler, NULL))
			continue;
		xs.ipi[cpu] = 0;
		rc = xl_evtchn_bind_ipi(cpu, xs_ipi_handler, NULL,
					&xs.ipi[cpu]);
		if (rc) {
			xs.ipi[cpu] = 0;
			return rc;
		}
	}
	flags = xs_lock();
	/*
	 * Sent, unanswered: xenstored may or may not have done them (the
	 * old connection may have read them, and the new one reads on from
	 * the ring's req_cons), so they fail with -XEN_ENOTCONN and a reply
	 * that still comes is dropped (abandoned ids).
	 */
	for (r = xs.inflight; r; r = r->next)
		xs.st.restore_failed++;
	xs_fail_inflight_locked(-XEN_ENOTCONN);
	/* Every open transaction is the old connection's from now on. */
	xs.conn_gen++;
	xs_fail_queued_tx_locked();
	xs.intf = intf;
	xs.port = port;
	xs.rx_have = 0;
	xs.req_prod = xl_read32(&xs.intf->req_prod);
	xs.rsp_cons = xl_read32(&xs.intf->rsp_prod);
	/* Our reads of the old replies (none) before the new cons. */
	xl_mb();
	xl_write32(&xs.intf->rsp_cons, xs.rsp_cons);
	xs.st.restores++;
	xs_unlock(flags);
	return xl_evtchn_bind_existing(port, xs_port_handler, NULL);
}

int xl_xs_resume(bool cancelled)
{
	int rc;

	if (!xl_read32(&xs.ready))
		return 0;
	/*
	 * The same domain (a cancel, also one that returned 0) still has the
	 * store port we bound; the event-channel resume of a new domain lost
	 * it (an interdomain port): the number is free, or someone else's.
	 */
	if (cancelled || xl_evtchn_port_is(xs.port, xs_port_handler, NULL)) {
		xs_thaw();
		return 0;
	}
	rc = xs_reconnect();
	if (rc) {
		xl_err("xenstore: resume: no connection to the new domain's "
		       "xenstore: %d\n",
		       rc);
		return rc;
	}
	xs_thaw();
	xs_rewatch_all();
	return 1;
}

bool xl_xs_ready(void)
{
	return xl_read32(&xs.ready) != 0;
}

int xl_xs_read(xl_xs_tx_t tx, const char *path, char *buf, size_t size,
	       size_t *len)
{
	struct xs_iov iov = xs_str(path);
	struct xs_req *r;
	int rc = xs_talk(tx, XS_READ, &iov, 1, &r);

	if (rc)
		return rc;
	if (len)
		*len = r->reply_len;
	if ((size_t)r->reply_len + 1 > size) {
		rc = -XEN_ENOSPC;
	} else {
		xs_memcpy(buf, r->reply, r->reply_len);
		buf[r->reply_len] = '\0';
	}
	xs_req_free(r);
	return rc;
}

char *xl_xs_read_alloc(xl_xs_tx_t tx, const char *path, int *err)
{
	struct xs_iov iov = xs_str(path);
	struct xs_req *r;
	char *v = NULL;
	int rc = xs_talk(tx, XS_READ, &iov, 1, &r);

	if (!rc) {
		v = xl_os_zalloc(r->reply_len + 1);
		if (v)
			xs_memcpy(v, r->reply, r->reply_len);
		else
			rc = -XEN_ENOMEM;
		xs_req_free(r);
	}
	if (err)
		*err = rc;
	return v;
}

int xl_xs_read_uint(xl_xs_tx_t tx, const char *path, unsigned long *val)
{
	char buf[24];
	size_t len, i;
	unsigned long v = 0;
	int rc = xl_xs_read(tx, path, buf, sizeof(buf), &len);

	if (rc)
		return rc == -XEN_ENOSPC ? -XEN_EINVAL : rc;
	if (!len)
		return -XEN_EINVAL;
	for (i = 0; i < len; i++) {
		unsigned long d = (unsigned long)(buf[i] - '0');

		if (buf[i] < '0' || buf[i] > '9' || v > (~0UL - d) / 10)
			return -XEN_EINVAL;
		v = v * 10 + d;
	}
	*val = v;
	return 0;
}

int xl_xs_write_bytes(xl_xs_tx_t tx, const char *path, const void *value,
		      size_t len)
{
	struct xs_iov iov[2] = { xs_str(path), { value, (uint32_t)len } };

	if (len > XENSTORE_PAYLOAD_MAX)
		return -XEN_E2BIG;
	return xs_simple(tx, XS_WRITE, iov, 2);
}

int xl_xs_write(xl_xs_tx_t tx, const char *path, const char *value)
{
	return xl_xs_write_bytes(tx, path, value, xs_strlen(value));
}

int xl_xs_printf(xl_xs_tx_t tx, const char *path, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = xl_xs_vprintf(tx, path, fmt, ap);
	va_end(ap);
	return rc;
}

int xl_xs_vprintf(xl_xs_tx_t tx, const char *path, const char *fmt, va_list ap)
{
	char buf[256];
	int n = xl_os_vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n < 0)
		return -XEN_EINVAL;
	if ((size_t)n >= sizeof(buf))
		return -XEN_E2BIG;
	return xl_xs_write_bytes(tx, path, buf, (size_t)n);
}

int xl_xs_mkdir(xl_xs_tx_t tx, const char *path)
{
	struct xs_iov iov = xs_str(path);

	return xs_simple(tx, XS_MKDIR, &iov, 1);
}

int xl_xs_rm(xl_xs_tx_t tx, const char *path)
{
	struct xs_iov iov = xs_str(path);

	return xs_simple(tx, XS_RM, &iov, 1);
}

/* A request on path whose reply is copied whole into buf: its length. */
static int xs_reply_into(xl_xs_tx_t tx, uint32_t type, const char *path,
			 char *buf, size_t size)
{
	struct xs_iov iov = xs_str(path);
	struct xs_req *r;
	int rc = xs_talk(tx, type, &iov, 1, &r);

	if (rc)
		return rc;
	if (r->reply_len > size) {
		rc = -XEN_ENOSPC;
	} else {
		xs_memcpy(buf, r->reply, r->reply_len);
		rc = (int)r->reply_len;
	}
	xs_req_free(r);
	return rc;
}

int xl_xs_directory(xl_xs_tx_t tx, const char *path, char *buf, size_t size)
{
	int i, n = 0, len = xs_reply_into(tx, XS_DIRECTORY, path, buf, size);

	if (len < 0)
		return len;
	for (i = 0; i < len; i++)
		n += buf[i] == '\0';
	return n;
}

int xl_xs_get_perms(xl_xs_tx_t tx, const char *path, char *buf, size_t size)
{
	return xs_reply_into(tx, XS_GET_PERMS, path, buf, size);
}

/* A free slot taken for a start; its handle, or XL_XS_NO_TX if none. */
static xl_xs_tx_t xs_tx_reserve(void)
{
	unsigned long flags = xs_lock();
	xl_xs_tx_t h = XL_XS_NO_TX;
	uint32_t i, seq;

	for (i = 0; i < XS_TX_SLOTS; i++) {
		if (xs.tx[i].handle)
			continue;
		seq = ++xs.tx_seq & (0xffffffffU >> XS_TX_SLOT_BITS);
		if (!seq)
			seq = xs.tx_seq = 1;
		h = seq << XS_TX_SLOT_BITS | i;
		xs.tx[i] = (struct xs_tx_slot){ .handle = h };
		break;
	}
	xs_unlock(flags);
	return h;
}

/* The slot of handle tx free again (if it is still tx's). */
static void xs_tx_release(xl_xs_tx_t tx)
{
	unsigned long flags = xs_lock();
	struct xs_tx_slot *t = xs_tx_slot_locked(tx);

	if (t)
		t->handle = XL_XS_NO_TX;
	xs_unlock(flags);
}

/* Fill the reserved slot with xenstored's id and the answering connection. */
static void xs_tx_open(xl_xs_tx_t tx, uint32_t wire, uint32_t conn_gen)
{
	unsigned long flags = xs_lock();
	struct xs_tx_slot *t = xs_tx_slot_locked(tx);

	if (t) {
		t->wire = wire;
		t->conn_gen = conn_gen;
	}
	xs_unlock(flags);
}

int xl_xs_transaction_start(xl_xs_tx_t *tx)
{
	struct xs_iov iov = { "", 1 };
	struct xs_req *r;
	uint32_t i, v = 0;
	xl_xs_tx_t h = xs_tx_reserve();
	int rc;

	if (h == XL_XS_NO_TX)
		return -XEN_ENOSPC;
	rc = xs_talk(XL_XS_NO_TX, XS_TRANSACTION_START, &iov, 1, &r);
	if (rc) {
		xs_tx_release(h);
		return rc;
	}
	/* The parser checked: 1 .. 10 digits and a NUL. */
	for (i = 0; i + 1 < r->reply_len; i++) {
		uint32_t d = (uint32_t)(r->reply[i] - '0');

		if (v > (0xffffffffU - d) / 10) {
			rc = -XEN_EIO;
			break;
		}
		v = v * 10 + d;
	}
	if (!rc && !v)
		rc = -XEN_EIO; /* 0 means "no transaction" */
	if (!rc) {
		xs_tx_open(h, v, r->conn_gen);
		*tx = h;
	} else {
		xs_tx_release(h);
	}
	xs_req_free(r);
	return rc;
}

/*
 * xenstored ends the transaction whatever the answer (xenstored_
 * transaction.c do_transaction_end(): the transaction is freed before a
 * commit is tried); one of a connection before a restore is not sent.
 * Either way the handle is closed.
 */
int xl_xs_transaction_end(xl_xs_tx_t tx, bool abort)
{
	struct xs_iov iov = { abort ? "F" : "T", 2 };
	int rc = xs_simple(tx, XS_TRANSACTION_END, &iov, 1);

	xs_tx_release(tx);
	return rc;
}

int xl_xs_transaction_run(int (*body)(xl_xs_tx_t tx, void *arg), void *arg,
			  unsigned int max_tries, unsigned int *tries)
{
	unsigned int n = 0;
	int rc;

	if (!max_tries)
		max_tries = XS_TX_DEFAULT_TRIES;
	do {
		xl_xs_tx_t tx;

		n++;
		rc = xl_xs_transaction_start(&tx);
		if (rc)
			break;
		rc = body(tx, arg);
		if (rc) {
			xl_xs_transaction_end(tx, true);
			continue;
		}
		rc = xl_xs_transaction_end(tx, false);
	} while (rc == -XEN_EAGAIN && n < max_tries);
	if (tries)
		*tries = n;
	return rc;
}

/* --- watches ------------------------------------------------------------------- */

int xl_xs_watch(struct xl_xs_watch *w, const char *path, xl_xs_watch_fn fn,
		void *arg)
{
	struct xs_iov iov[2];
	unsigned long flags;
	size_t pl;
	int rc;

	if (!fn || !path)
		return -XEN_EINVAL;
	if (!xl_read32(&xs.ready))
		return -XEN_ENODEV;
	pl = xs_strlen(path);
	__builtin_memset(w, 0, sizeof(*w));
	w->path = xl_os_zalloc(pl + 1);
	if (!w->path)
		return -XEN_ENOMEM;
	xs_memcpy(w->path, path, pl);
	w->fn = fn;
	w->arg = arg;
	/* On the list before WATCH goes: its first firing may beat the
	 * reply here. */
	flags = xs_lock();
	xs_snprintf(w->token, sizeof(w->token), "xl%x", xs.next_token++);
	w->next = xs.watches;
	xs.watches = w;
	xs_unlock(flags);
	iov[0] = xs_str(path);
	iov[1] = xs_str(w->token);
	rc = xs_simple(XL_XS_NO_TX, XS_WATCH, iov, 2);
	if (rc)
		xl_xs_unwatch(w);
	return rc;
}

static bool xs_unlink_watch(struct xl_xs_watch *w)
{
	struct xl_xs_watch **pp;
	unsigned long flags = xs_lock();
	bool found = false;

	for (pp = &xs.watches; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			found = true;
			break;
		}
	}
	xs_unlock(flags);
	return found;
}

int xl_xs_unwatch(struct xl_xs_watch *w)
{
	struct xs_iov iov[2];
	bool found = xs_unlink_watch(w);
	int rc = 0;

	if (!w->path)
		return -XEN_EINVAL;
	if (found && xl_read32(&xs.ready)) {
		iov[0] = xs_str(w->path);
		iov[1] = xs_str(w->token);
		rc = xs_simple(XL_XS_NO_TX, XS_UNWATCH, iov, 2);
	}
	/* A callback of w running on another vCPU finishes first. */
	if (!(xl_read32(&xs.dispatching) &&
	      xl_read_ulong(&xs.dispatch_w) == (unsigned long)w &&
	      xl_read32(&xs.dispatch_cpu) == xl_os_vcpu_id()))
		while (xl_read32(&w->running))
			xl_cpu_relax();
	xl_os_free(w->path);
	w->path = NULL;
	return found ? rc : -XEN_ENOENT;
}

static void xs_run_one(struct xl_xs_watch *w, const char *path)
{
	xl_write_ulong(&xs.dispatch_w, (unsigned long)w);
	w->fn(w, path, w->arg);
	w->fired++;
	xl_write_ulong(&xs.dispatch_w, 0);
	xl_xchg32(&w->running, 0);
}

/* Pop one queued event whose watch still exists; w is marked running. */
static struct xl_xs_watch *xs_next_event(void)
{
	struct xl_xs_watch *w = NULL;
	unsigned long flags = xs_lock();

	while (!w && xs.evq_head != xs.evq_tail) {
		uint16_t tl, pl;

		xs_evq_get(&tl, sizeof(tl));
		xs_evq_get(&pl, sizeof(pl));
		xs_evq_get(xs.ev_token, tl);
		xs.ev_token[tl] = '\0';
		xs_evq_get(xs.ev_path, pl);
		xs.ev_path[pl] = '\0';
		w = xs_watch_by_token(xs.ev_token);
	}
	if (!w && xl_xchg32(&xs.overflow_pending, 0)) {
		for (w = xs.watches; w; w = w->next)
			if (xl_read32(&w->overflow))
				break;
		if (w) {
			xl_xchg32(&w->overflow, 0);
			xl_xchg32(&xs.overflow_pending, 1); /* maybe more */
			xs_memcpy(xs.ev_path, w->path, xs_strlen(w->path) + 1);
		}
	}
	if (w)
		xl_xchg32(&w->running, 1);
	xs_unlock(flags);
	return w;
}

unsigned int xl_xs_run_watches(void)
{
	struct xl_xs_watch *w;
	unsigned int ran = 0;

	if (xl_cmpxchg32(&xs.dispatching, 0, 1) != 0)
		return 0; /* another vCPU dispatches */
	xl_write32(&xs.dispatch_cpu, xl_os_vcpu_id());
	while ((w = xs_next_event())) {
		xs_run_one(w, xs.ev_path);
		ran++;
	}
	xl_xchg32(&xs.dispatching, 0);
	return ran;
}

bool xl_xs_watches_pending(void)
{
	return xl_read32(&xs.evq_head) != xl_read32(&xs.evq_tail) ||
	       xl_read32(&xs.overflow_pending);
}

void xl_xs_get_stats(struct xl_xs_stats *st)
{
	unsigned long flags = xs_lock();

	*st = xs.st;
	xs_unlock(flags);
}

struct xs_idle_arg {
	bool (*done)(void *);
	void *arg;
};

static bool xs_idle_cond(void *p)
{
	struct xs_idle_arg *a = p;

	return xl_xs_watches_pending() || (a->done && a->done(a->arg));
}

unsigned long xl_xs_idle_until(bool (*done)(void *), void *arg)
{
	struct xs_idle_arg a = { done, arg };
	unsigned long bit = 1UL << xl_os_vcpu_id(), n;

	/* Announced (a full barrier) before the first check of the queue. */
	xl_fetch_or_ulong(&xs.watch_waiters, bit);
	n = xl_wait_until(xs_idle_cond, &a);
	xl_fetch_and_ulong(&xs.watch_waiters, ~bit);
	return n;
}
