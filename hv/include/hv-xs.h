/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hv xenstore: one in-process xenstored for every hv domain that asks for
 * it (hv_domain_config.xenstore), speaking the wire protocol of
 * <xen/io/xs_wire.h> on the domain's ring, and an in-process API for hv
 * services acting as domain 0 (blkback, tests' fake backends).
 *
 * Semantics follow C xenstored (tools/xenstore/xenstored_core.c,
 * xenstored_watch.c, xenstored_transaction.c of Xen 4.17):
 *   - nodes have a value (bytes) and children; writing a path creates its
 *     missing parents; RM removes a subtree; an absent node is ENOENT;
 *   - permissions: the first entry is the owner and the default for
 *     everyone else, further entries per domain (n none, r read, w write,
 *     b both); domain 0 and a node's owner may do anything; a new node
 *     inherits its parent's list, and a node a guest creates is owned by
 *     the guest (xenstored's "unprivileged domains own what they create");
 *   - a watch fires once when registered, then for every change at or
 *     below its path (and for the parents of a removed subtree's nodes,
 *     as xenstored fires the removed node's own path); a guest only gets
 *     events for nodes it may read;
 *   - transactions are optimistic: TRANSACTION_END commit answers EAGAIN
 *     if a node the transaction read or wrote changed since it started
 *     (per-node generation counts, as xenstored's).
 * Guest paths not starting with '/' are relative to /local/domain/<id>.
 *
 * At introduction (hv_domain_create) hv creates /local/domain/<id> owned by
 * the domain (perms "n<id>"), and at destruction removes it and every
 * /local/domain/0/backend/<class>/<id> (what the toolstack does), the
 * domain's watches and transactions, then fires @releaseDomain.
 *
 * Every function is thread-safe and returns 0 / a count or -XEN_Exxx.
 * Watch callbacks run on the xenstored service thread, never with a store
 * lock held, so they may call any hv_xs_* function (including unwatch of
 * their own watch).
 */
#ifndef HV_XS_H
#define HV_XS_H

#include <stdbool.h>
#include <stdint.h>

#include "hv.h"

/* The gfn of the ring: the arena's second-to-last page (shared_info is
 * the last one hv/guest picks).  hv/guest keeps it out of its allocator. */
#define HV_XS_RING_GFN(nr_pages) ((uint64_t)(nr_pages)-2)

/* --- in-process access, as domain 0 --------------------------------------- */

/* The value (NUL-terminated, *len without it; len may be NULL) in malloc'd
 * memory, or NULL with *err (-XEN_ENOENT, ...). */
char *hv_xs_read(const char *path, unsigned int *len, int *err);
int hv_xs_write(const char *path, const char *value);
int hv_xs_write_bytes(const char *path, const void *value, unsigned int len);
int hv_xs_mkdir(const char *path);
int hv_xs_rm(const char *path);
/*
 * The children's names: one malloc'd block holding the pointer array and
 * the strings (free() it once), *num entries; NULL with *err on error.
 */
char **hv_xs_directory(const char *path, unsigned int *num, int *err);

struct hv_xs_perm {
	uint16_t domid;
	char perm; /* 'n', 'r', 'w', 'b' */
};
/* perms[0]: owner and default; at most 16 entries. */
int hv_xs_set_perms(const char *path, const struct hv_xs_perm *perms,
		    unsigned int n);
/* The wire form ("n0\0r5\0") into buf; returns its length. */
int hv_xs_get_perms(const char *path, char *buf, unsigned int size);

/*
 * Watches of domain 0.  fn(path, token, arg) runs on the service thread:
 * once at registration, then on every change at or below path (also for
 * the special paths @introduceDomain and @releaseDomain).  (path, token)
 * identifies the watch: registering the same pair twice is -XEN_EEXIST.
 * After hv_xs_unwatch() returns, fn is not running and never runs again
 * for it (called from fn itself: after fn returns).
 */
typedef void (*hv_xs_watch_fn)(const char *path, const char *token, void *arg);
int hv_xs_watch(const char *path, const char *token, hv_xs_watch_fn fn,
		void *arg);
int hv_xs_unwatch(const char *path, const char *token);

/* --- per domain ------------------------------------------------------------ */

/*
 * Hostile modes for tests: each field is how many of the next replies to
 * the domain (not watch events) get that fault; hv counts them down.
 */
struct hv_xs_hostile {
	unsigned int wrong_req_id;	/* req_id + 0x5a5a */
	unsigned int len_too_big;	/* a header with len PAYLOAD_MAX + 1,
					 * no body (the real reply dropped) */
	unsigned int unterminated;	/* a string reply without its NUL */
	unsigned int rsp_prod_overflow; /* rsp_prod set a ring and a bit past
					 * rsp_cons, nothing written */
	unsigned int bad_type;		/* type 0x7777 */
	unsigned int tx_conflict;	/* the next commits (TRANSACTION_END
					 * "T") answer EAGAIN, as if a node
					 * they touched had changed */
	/*
	 * A xenstored that floods watch events without end: while set, the
	 * service thread keeps the ring full of WATCH_EVENT messages
	 * (flood_path, flood_token), refilling as soon as the guest frees
	 * space, without waiting for its notification, and writes replies
	 * only when the ring has room between them.  Not counted down:
	 * clear it (hv_xs_set_hostile) to stop.  Events written count in
	 * hv_xs_stats.events.
	 */
	bool flood;
	char flood_path[64];
	char flood_token[64];
	/*
	 * Reads of one node (absolute path; both off while the path is
	 * empty), for the handshake tests' timing:
	 *   read_fail      the next read_fail READs of read_path (outside a
	 *                  transaction) answer read_fail_err (a negative Xen
	 *                  errno; 0: EIO) instead of the value: a transient
	 *                  error of xenstored (ENOMEM, EAGAIN, a quota);
	 *   read_hook_nth  after the read_hook_nth-th such READ (counting
	 *                  from 1, failed ones too) is answered, read_hook(
	 *                  read_hook_arg) runs once on the service thread
	 *                  before any later request of the domain is read,
	 *                  outside the store lock (it may call hv_xs_*): a
	 *                  backend that acts just after the guest's read.
	 * Counted down; hv_xs_set_hostile() restarts the count of reads.
	 */
	/*
	 * tx_id: the next TRANSACTION_START reply carries this string as
	 * the id (its NUL added) instead of the one the transaction got,
	 * which stays open in hv; cleared once used.  max_transactions:
	 * open transactions the connection may have, 0 for xenstored's
	 * default 10 (its --transaction option); not counted down.
	 */
	char tx_id[16];
	/*
	 * stray_reply: the next stray_reply replies are each preceded by a
	 * copy of themselves with req_id stray_req_id, a reply to no
	 * request (a confused daemon).
	 */
	unsigned int stray_reply;
	uint32_t stray_req_id;
	/*
	 * reorder: the next reply is held back and written after the
	 * reorder replies that follow it (xenstored answers in order; a
	 * daemon that does not).  Set once, used once.
	 */
	unsigned int reorder;
	/* The next event_no_token watch events carry the path only. */
	unsigned int event_no_token;
	unsigned int max_transactions;
	char read_path[128];
	unsigned int read_fail;
	int read_fail_err;
	unsigned int read_hook_nth;
	void (*read_hook)(void *arg);
	void *read_hook_arg;
};
void hv_xs_set_hostile(struct hv_domain *d, const struct hv_xs_hostile *h);

/* Stop (true) / resume answering the domain's requests (ring-full tests). */
void hv_xs_pause(struct hv_domain *d, bool paused);

struct hv_xs_stats {
	uint64_t requests;	 /* complete requests read from the ring */
	uint64_t replies;	 /* replies written */
	uint64_t errors;	 /* ... of them XS_ERROR */
	uint64_t events;	 /* watch events written */
	uint64_t hostile;	 /* hostile replies written */
	uint64_t notifies;	 /* guest event channel sends seen */
	uint64_t tx_conflicts;	 /* commits answered EAGAIN */
	uint64_t bad_requests;	 /* requests hv rejected (len, ring idx) */
	uint64_t events_dropped; /* over the queued-events bound (xenstore.c) */
};
void hv_xs_get_stats(struct hv_domain *d, struct hv_xs_stats *st);

/* The domain's store event port and ring gfn, -1 without xenstore. */
int hv_xs_domain_port(struct hv_domain *d);
int64_t hv_xs_domain_gfn(struct hv_domain *d);

/* --- hv-internal hooks (hv/domain.c, hv/hypercall.c) ----------------------- */

/* hv_domain_create() of a domain with cfg.xenstore: ring, port, node. */
int hv_xs_introduce(struct hv_domain *d);
/* hv_domain_destroy(), before its event channels go. */
void hv_xs_release(struct hv_domain *d);
/*
 * At a restore (hv/suspend.c does it): the old domain's connection
 * released, the new domain introduced on the same ring page, kept as it
 * is, with a new store port.
 */
int hv_xs_restore(struct hv_domain *d);
/* HVMOP_get_param of HVM_PARAM_STORE_PFN / _EVTCHN: 0 and *val, or
 * -XEN_EINVAL for another index. */
int hv_xs_get_param(struct hv_domain *d, uint32_t index, uint64_t *val);

#endif /* HV_XS_H */
