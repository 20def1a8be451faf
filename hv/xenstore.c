// SPDX-License-Identifier: GPL-2.0
/*
 * hv xenstore: an in-process xenstored for every hv domain created with
 * cfg.xenstore, and the hv_xs_* API for hv services acting as domain 0
 * (hv/include/hv-xs.h).  Semantics follow C xenstored of Xen 4.17
 * (tools/xenstore/xenstored_core.c, xenstored_watch.c,
 * xenstored_transaction.c); the wire protocol is <xen/io/xs_wire.h>.
 *
 * Threads and locks:
 *   xs.lock        the store: nodes, watches, transactions, connections
 *                  and their output queues.  Never held across a call into
 *                  the event channel code or a watch callback.
 *   xs.wake_lock   the service thread's wake-up flag and condition; the
 *                  guest's EVTCHNOP_send runs xs_kick() (a Xen-consumer
 *                  channel, hv/evtchn.c) which only takes this lock.
 * One service thread ("xenstored") reads requests from the rings, answers
 * them, writes replies and watch events and runs domain 0's watch
 * callbacks, all in passes; hv_xs_release() waits for the pass in
 * progress before the connection goes.
 *
 * Ring rules (xs_wire.h; Linux drivers/xen/xenbus/xenbus_comms.c is the
 * client side of the same rules): the server owns req_cons and rsp_prod,
 * the guest req_prod and rsp_cons.  The server reads req_prod, then (rmb)
 * the bytes before it, then (mb) publishes req_cons; it writes reply bytes,
 * then (wmb) publishes rsp_prod.  hv does it as the rest of hv does:
 * acquire loads of the guest's indexes and release stores of its own
 * give exactly those orderings.  Indexes are free-running; a producer
 * more than XENSTORE_RING_SIZE ahead of its consumer is a protocol error
 * (XENSTORE_ERROR_RINGIDX), after which hv stops serving the ring, as
 * xenstored ignores a connection it marked bad.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv-internal.h"
#include "hv-xs.h"

#include <xen/hvm/params.h>
#include <xen/io/xs_wire.h>

#define XS_MAX_PERMS 16
#define XS_MAX_TX_PER_CONN 10 /* xenstored's quota_max_transaction */
#define XS_REQS_PER_PASS 64   /* fairness between rings */
/*
 * What a guest that does not read its ring can make hv hold: xenstored's
 * quota_req_outstanding (20) replies not yet in the ring (requests are
 * not read meanwhile), and at most XS_MAX_QUEUED_EVENTS watch events
 * (xenstored drops events a domain leaves unread past the watch-event
 * timeout; hv drops those over the bound, counted in events_dropped).
 */
#define XS_MAX_OUTSTANDING 20
#define XS_MAX_QUEUED_EVENTS 1024
#define XS_EV_SPECIAL_INTRO "@introduceDomain"
#define XS_EV_SPECIAL_RELEASE "@releaseDomain"

struct xs_node {
	char *name; /* one path component ("" for the root) */
	struct xs_node *parent, *child, *next;
	char *value;
	unsigned int len;
	struct hv_xs_perm perms[XS_MAX_PERMS];
	unsigned int nperms;
	uint64_t gen;	   /* xs.gen at the last change of this node */
	uint64_t orig_gen; /* transaction copies: gen of the original */
};

/* One outgoing message (reply or event), header then body. */
struct xs_msg {
	struct xs_msg *next;
	struct xsd_sockmsg hdr;
	unsigned int off; /* bytes of hdr + body already in the ring */
	char body[];
};

struct xs_conn;

struct xs_watch {
	struct xs_watch *next;
	struct xs_conn *conn; /* NULL: domain 0 in-process */
	char *path;	      /* absolute */
	char *token;
	bool relative; /* registered relative: events are relative */
	hv_xs_watch_fn fn;
	void *arg;
	bool dead;	   /* unwatched; freed once no callback runs */
	unsigned int busy; /* callbacks running or queued */
};

/* A domain-0 event waiting for its callback. */
struct xs_d0_event {
	struct xs_d0_event *next;
	struct xs_watch *w;
	char path[];
};

/* A transaction: a private copy of the tree plus what it touched. */
struct xs_access {
	struct xs_access *next;
	uint64_t gen; /* 0: absent when the transaction started */
	char path[];
};

struct xs_op {
	struct xs_op *next;
	uint32_t type; /* XS_WRITE, XS_MKDIR, XS_RM, XS_SET_PERMS */
	unsigned int len;
	struct hv_xs_perm perms[XS_MAX_PERMS];
	unsigned int nperms;
	char *path;
	char data[];
};

struct xs_tx {
	struct xs_tx *next;
	uint32_t id;
	struct xs_conn *conn; /* NULL: domain 0 */
	struct xs_node *root; /* the copy */
	struct xs_access *accessed;
	struct xs_op *ops, **ops_tail;
};

struct xs_conn {
	struct xs_conn *next;
	struct hv_domain *d;
	domid_t domid;
	int port;
	uint64_t gfn;
	struct xenstore_domain_interface *intf;
	char prefix[32]; /* "/local/domain/<id>/" */
	/* Request being assembled (header, then up to PAYLOAD_MAX + NUL). */
	struct xsd_sockmsg in_hdr;
	char in_body[XENSTORE_PAYLOAD_MAX + 1];
	unsigned int in_have;
	struct xs_msg *out, **out_tail;
	unsigned int out_replies, out_events; /* queued, by kind */
	XENSTORE_RING_IDX rsp_prod; /* ours: never re-read from the ring */
	unsigned int ntx;
	uint32_t next_tx; /* this connection's next transaction id, from 1 */
	bool broken;	  /* protocol error: no longer served */
	bool paused;
	bool need_notify;
	int kick; /* atomic: xs_kick() ran */
	/* atomic: hv_xs_stats.notifies, counted by xs_kick() unlocked, so
	 * apart from st (which hv_xs_get_stats copies under xs.lock) */
	uint64_t notifies;
	struct hv_xs_hostile hostile;
	struct xs_msg *held;	 /* hostile.reorder: the reply held back */
	unsigned int held_after; /* ... until this many more are queued */
	unsigned int reads_seen; /* hostile.read_path READs since set */
	bool hook_due;		 /* hostile.read_hook: run after this pass */
	pthread_t flood_thread;	 /* hostile.flood; started and stopped by */
	bool flood_running;	 /* hv_xs_set_hostile() */
	int flood_stop;		 /* atomic */
	struct hv_xs_stats st;
};

static struct {
	pthread_mutex_t lock;
	struct xs_node *root;
	uint64_t gen;
	struct xs_conn *conns;
	struct xs_watch *watches;
	struct xs_tx *txs;
	uint32_t next_tx; /* domain 0's (no connection) */
	struct xs_d0_event *d0_events, **d0_tail;

	pthread_mutex_t wake_lock;
	pthread_cond_t wake_cond; /* the service thread waits */
	pthread_cond_t pass_cond; /* a pass ended, or a callback did */
	bool work;		  /* under wake_lock */
	bool started;		  /* under lock */
	pthread_t thread;
	uint64_t pass;	     /* under wake_lock: passes started */
	bool in_pass;	     /* under wake_lock */
	uint64_t cb_running; /* atomic: domain-0 callbacks running */
} xs = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake_lock = PTHREAD_MUTEX_INITIALIZER,
	.wake_cond = PTHREAD_COND_INITIALIZER,
	.pass_cond = PTHREAD_COND_INITIALIZER,
	.next_tx = 1,
};

/*
 * The API entry points.  Called from a guest vCPU thread (a test body, a
 * driver's fake backend) they count as inside hv, as a hypercall does: no
 * upcall may interrupt them there, since its handler may come back into
 * hv (an EVTCHNOP_send to the store port takes xs.wake_lock) while this
 * thread holds xs.lock or xs.wake_lock.
 */
static struct hv_vcpu *xs_enter(void)
{
	struct hv_vcpu *v = hv_vcpu_current();

	if (v)
		hv_enter(v);
	return v;
}

static void xs_leave(struct hv_vcpu *v)
{
	if (v)
		hv_leave(v);
}

/* --- nodes --------------------------------------------------------------- */

static struct xs_node *xs_node_new(const char *name, size_t nlen)
{
	struct xs_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, nlen);
	if (!n->name) {
		free(n);
		return NULL;
	}
	return n;
}

static void xs_node_free(struct xs_node *n)
{
	struct xs_node *c, *next;

	if (!n)
		return;
	for (c = n->child; c; c = next) {
		next = c->next;
		xs_node_free(c);
	}
	free(n->name);
	free(n->value);
	free(n);
}

static void xs_touch(struct xs_node *n)
{
	n->gen = ++xs.gen;
}

/* The root: "/" owned by domain 0, no access for others ("n0"). */
static struct xs_node *xs_root_locked(void)
{
	if (!xs.root) {
		xs.root = xs_node_new("", 0);
		if (!xs.root)
			return NULL;
		xs.root->perms[0] = (struct hv_xs_perm){ 0, 'n' };
		xs.root->nperms = 1;
		xs_touch(xs.root);
	}
	return xs.root;
}

static struct xs_node *xs_child(struct xs_node *n, const char *name,
				size_t nlen)
{
	struct xs_node *c;

	for (c = n->child; c; c = c->next)
		if (strlen(c->name) == nlen && !memcmp(c->name, name, nlen))
			return c;
	return NULL;
}

/*
 * Walk an absolute, valid path.  Returns the node, or NULL with *deepest
 * the deepest existing ancestor (for errno_from_parents()).
 */
static struct xs_node *xs_walk(struct xs_node *root, const char *path,
			       struct xs_node **deepest)
{
	struct xs_node *n = root;
	const char *p = path + 1;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		struct xs_node *c = xs_child(n, p, l);

		if (!c) {
			if (deepest)
				*deepest = n;
			return NULL;
		}
		n = c;
		p += l;
		if (*p == '/')
			p++;
	}
	return n;
}

/* perm_for_conn(): domain 0 and the owner may do anything. */
static char xs_perm_for(const struct xs_node *n, domid_t domid)
{
	unsigned int i;

	if (domid == 0 || n->perms[0].domid == domid)
		return 'b';
	for (i = 1; i < n->nperms; i++)
		if (n->perms[i].domid == domid)
			return n->perms[i].perm;
	return n->perms[0].perm;
}

static bool xs_may(const struct xs_node *n, domid_t domid, char want)
{
	char p = xs_perm_for(n, domid);

	return p == 'b' || p == want;
}

/* Create the missing nodes of path, each inheriting its parent's perms. */
static struct xs_node *xs_create(struct xs_node *root, const char *path,
				 domid_t domid, bool touch_parents)
{
	struct xs_node *n = root;
	const char *p = path + 1;

	while (*p) {
		const char *e = strchr(p, '/');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		struct xs_node *c = xs_child(n, p, l), **tail;

		if (!c) {
			c = xs_node_new(p, l);
			if (!c)
				return NULL;
			memcpy(c->perms, n->perms, sizeof(c->perms));
			c->nperms = n->nperms;
			/* "Inherit permissions, unpriv domains own what they
			 * create" (construct_node()). */
			if (domid)
				c->perms[0].domid = domid;
			c->parent = n;
			for (tail = &n->child; *tail; tail = &(*tail)->next)
				;
			*tail = c;
			xs_touch(c);
			if (touch_parents)
				xs_touch(n);
		}
		n = c;
		p += l;
		if (*p == '/')
			p++;
	}
	return n;
}

static void xs_unlink(struct xs_node *n)
{
	struct xs_node **pp;

	for (pp = &n->parent->child; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			break;
		}
	}
	xs_touch(n->parent);
}

static int xs_path_of(const struct xs_node *n, char *buf, size_t size)
{
	const struct xs_node *chain[XENSTORE_ABS_PATH_MAX / 2];
	unsigned int depth = 0, i;
	size_t o = 0;

	for (; n && n->parent; n = n->parent)
		if (depth < sizeof(chain) / sizeof(chain[0]))
			chain[depth++] = n;
	if (!depth)
		return snprintf(buf, size, "/");
	for (i = depth; i-- > 0;) {
		int w = snprintf(buf + o, size - o, "/%s", chain[i]->name);

		if (w < 0 || (size_t)w >= size - o)
			return -1;
		o += (size_t)w;
	}
	return (int)o;
}

static struct xs_node *xs_clone(const struct xs_node *n, struct xs_node *parent)
{
	struct xs_node *c = xs_node_new(n->name, strlen(n->name)), **tail;
	const struct xs_node *k;

	if (!c)
		return NULL;
	c->parent = parent;
	c->len = n->len;
	c->nperms = n->nperms;
	memcpy(c->perms, n->perms, sizeof(c->perms));
	c->gen = c->orig_gen = n->gen;
	if (n->value) {
		c->value = malloc(n->len + 1);
		if (!c->value)
			goto fail;
		memcpy(c->value, n->value, n->len + 1);
	}
	tail = &c->child;
	for (k = n->child; k; k = k->next) {
		*tail = xs_clone(k, c);
		if (!*tail)
			goto fail;
		tail = &(*tail)->next;
	}
	return c;
fail:
	xs_node_free(c);
	return NULL;
}

/* --- paths ----------------------------------------------------------------- */

/* is_valid_nodename() + valid_chars(), after making path absolute. */
static int xs_canon(const struct xs_conn *c, const char *in, char *out,
		    size_t size)
{
	size_t len = strlen(in);
	const char *p;

	if (in[0] != '/') {
		if (!c || len > XENSTORE_REL_PATH_MAX)
			return -XEN_EINVAL;
		if (snprintf(out, size, "%s%s", c->prefix, in) >= (int)size)
			return -XEN_EINVAL;
	} else {
		if (len > XENSTORE_ABS_PATH_MAX)
			return -XEN_EINVAL;
		if (snprintf(out, size, "%s", in) >= (int)size)
			return -XEN_EINVAL;
	}
	len = strlen(out);
	if ((len > 1 && out[len - 1] == '/') || strstr(out, "//"))
		return -XEN_EINVAL;
	for (p = out; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("-/_@", *p)))
			return -XEN_EINVAL;
	return 0;
}

/* a is b or below it. */
static bool xs_is_child(const char *a, const char *b)
{
	size_t l = strlen(b);

	if (!strcmp(b, "/"))
		return a[0] == '/';
	return !strncmp(a, b, l) && (a[l] == '\0' || a[l] == '/');
}

/* --- watches and events ------------------------------------------------------ */

static struct xs_msg *xs_msg_new(uint32_t type, uint32_t req_id, uint32_t tx_id,
				 const void *body, unsigned int len)
{
	struct xs_msg *m = calloc(1, sizeof(*m) + len + 1);

	if (!m)
		return NULL;
	m->hdr.type = type;
	m->hdr.req_id = req_id;
	m->hdr.tx_id = tx_id;
	m->hdr.len = len;
	if (len)
		memcpy(m->body, body, len);
	return m;
}

static void xs_queue(struct xs_conn *c, struct xs_msg *m)
{
	if (!m)
		return;
	if (m->hdr.type == XS_WATCH_EVENT)
		c->out_events++;
	else
		c->out_replies++;
	*c->out_tail = m;
	c->out_tail = &m->next;
}

static void xs_dequeue(struct xs_conn *c, struct xs_msg *m)
{
	if (m->hdr.type == XS_WATCH_EVENT)
		c->out_events--;
	else
		c->out_replies--;
	c->out = m->next;
	if (!c->out)
		c->out_tail = &c->out;
}

static void xs_wake(void)
{
	pthread_mutex_lock(&xs.wake_lock);
	xs.work = true;
	pthread_cond_signal(&xs.wake_cond);
	pthread_mutex_unlock(&xs.wake_lock);
}

static void xs_send_event(struct xs_watch *w, const char *abspath)
{
	const char *path = abspath;

	if (w->relative && w->conn &&
	    !strncmp(abspath, w->conn->prefix, strlen(w->conn->prefix)))
		path = abspath + strlen(w->conn->prefix);
	if (w->conn) {
		size_t pl = strlen(path), tl = strlen(w->token);
		unsigned int len;
		char *b;

		if (w->conn->out_events >= XS_MAX_QUEUED_EVENTS) {
			w->conn->st.events_dropped++;
			return;
		}
		b = malloc(pl + tl + 2);
		if (!b)
			return;
		memcpy(b, path, pl + 1);
		memcpy(b + pl + 1, w->token, tl + 1);
		len = (unsigned int)(pl + tl + 2);
		if (w->conn->hostile.event_no_token) {
			/* hv_xs_hostile.event_no_token: "path\0" only. */
			w->conn->hostile.event_no_token--;
			w->conn->st.hostile++;
			len = (unsigned int)pl + 1;
		}
		xs_queue(w->conn, xs_msg_new(XS_WATCH_EVENT, 0, 0, b, len));
		free(b);
		w->conn->st.events++;
	} else {
		struct xs_d0_event *e = malloc(sizeof(*e) + strlen(path) + 1);

		if (!e)
			return;
		e->next = NULL;
		e->w = w;
		strcpy(e->path, path);
		w->busy++;
		*xs.d0_tail = e;
		xs.d0_tail = &e->next;
	}
}

static bool xs_special(const char *path)
{
	return path[0] == '@';
}

/*
 * fire_watches(): exact fires watches on path itself, else every watch at
 * or above it; a guest watcher needs read access to the node (perms of
 * the node as it was, for a removal).  Special paths go to everyone.
 */
static void xs_fire(const char *path, const struct xs_node *perm_node,
		    bool exact)
{
	struct xs_watch *w;

	for (w = xs.watches; w; w = w->next) {
		if (w->dead)
			continue;
		if (exact ? strcmp(path, w->path) : !xs_is_child(path, w->path))
			continue;
		if (!xs_special(path) && w->conn && perm_node &&
		    !xs_may(perm_node, w->conn->domid, 'r'))
			continue;
		xs_send_event(w, path);
	}
	xs_wake();
}

/* --- operations on a tree (main or a transaction's copy) -------------------- */

/* The context of one operation. */
struct xs_ctx {
	struct xs_conn *conn; /* NULL: domain 0 in-process */
	domid_t domid;
	struct xs_tx *tx; /* NULL: the main tree */
};

static struct xs_node *xs_ctx_root(struct xs_ctx *x)
{
	return x->tx ? x->tx->root : xs_root_locked();
}

/* A transaction records the state at start of every node it touches. */
static void xs_tx_access(struct xs_ctx *x, const char *path,
			 const struct xs_node *n)
{
	struct xs_access *a;

	if (!x->tx)
		return;
	for (a = x->tx->accessed; a; a = a->next)
		if (!strcmp(a->path, path))
			return;
	a = malloc(sizeof(*a) + strlen(path) + 1);
	if (!a)
		return;
	strcpy(a->path, path);
	a->gen = n ? n->orig_gen : 0;
	a->next = x->tx->accessed;
	x->tx->accessed = a;
}

static void xs_tx_access_node(struct xs_ctx *x, const struct xs_node *n)
{
	char p[XENSTORE_ABS_PATH_MAX + 64];

	if (x->tx && xs_path_of(n, p, sizeof(p)) > 0)
		xs_tx_access(x, p, n);
}

static void xs_tx_log(struct xs_ctx *x, uint32_t type, const char *path,
		      const void *data, unsigned int len,
		      const struct hv_xs_perm *perms, unsigned int nperms)
{
	struct xs_op *op;

	if (!x->tx)
		return;
	op = calloc(1, sizeof(*op) + len + 1);
	if (!op)
		return;
	op->type = type;
	op->len = len;
	op->path = strdup(path);
	if (len)
		memcpy(op->data, data, len);
	if (nperms)
		memcpy(op->perms, perms, nperms * sizeof(*perms));
	op->nperms = nperms;
	*x->tx->ops_tail = op;
	x->tx->ops_tail = &op->next;
}

/* get_node() + errno_from_parents(): ENOENT, or EACCES from an ancestor. */
static struct xs_node *xs_get(struct xs_ctx *x, const char *path, char want,
			      int *err)
{
	struct xs_node *deepest = NULL;
	struct xs_node *n = xs_walk(xs_ctx_root(x), path, &deepest);

	xs_tx_access(x, path, n);
	if (!n) {
		*err = deepest && !xs_may(deepest, x->domid, want) ?
			       -XEN_EACCES :
			       -XEN_ENOENT;
		return NULL;
	}
	if (!xs_may(n, x->domid, want)) {
		*err = -XEN_EACCES;
		return NULL;
	}
	return n;
}

static void xs_fire_main(struct xs_ctx *x, const char *path,
			 const struct xs_node *n, bool exact)
{
	if (!x->tx)
		xs_fire(path, n, exact);
}

/* Touch-record the nodes xs_create() will add or change. */
static void xs_tx_access_create(struct xs_ctx *x, const char *path)
{
	char p[XENSTORE_ABS_PATH_MAX + 64];
	size_t i, l = strlen(path);

	if (!x->tx)
		return;
	for (i = 1; i <= l; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		memcpy(p, path, i);
		p[i] = '\0';
		xs_tx_access(x, p, xs_walk(x->tx->root, p, NULL));
	}
	xs_tx_access(x, "/", x->tx->root);
}

static struct xs_node *xs_get_or_create(struct xs_ctx *x, const char *path,
					int *err, bool *created)
{
	struct xs_node *n = xs_get(x, path, 'w', err);

	*created = false;
	if (n)
		return n;
	if (*err != -XEN_ENOENT)
		return NULL;
	xs_tx_access_create(x, path);
	n = xs_create(xs_ctx_root(x), path, x->domid, true);
	if (!n) {
		*err = -XEN_ENOMEM;
		return NULL;
	}
	*created = true;
	*err = 0;
	return n;
}

static int xs_op_write(struct xs_ctx *x, const char *path, const void *val,
		       unsigned int len)
{
	bool created;
	int err;
	struct xs_node *n = xs_get_or_create(x, path, &err, &created);
	char *v;

	if (!n)
		return err;
	v = malloc(len + 1);
	if (!v)
		return -XEN_ENOMEM;
	memcpy(v, val, len);
	v[len] = '\0';
	free(n->value);
	n->value = v;
	n->len = len;
	xs_touch(n);
	xs_tx_log(x, XS_WRITE, path, val, len, NULL, 0);
	xs_fire_main(x, path, n, false);
	return 0;
}

/* do_mkdir(): an existing node is fine. */
static int xs_op_mkdir(struct xs_ctx *x, const char *path)
{
	bool created;
	int err;
	struct xs_node *n = xs_get_or_create(x, path, &err, &created);

	if (!n)
		return err;
	if (created) {
		xs_tx_log(x, XS_MKDIR, path, NULL, 0, NULL, 0);
		xs_fire_main(x, path, n, false);
	}
	return 0;
}

/* rm_node(): the node fires non-exact, each descendant exact. */
static void xs_fire_subtree(struct xs_ctx *x, struct xs_node *n)
{
	char p[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_node *c;

	for (c = n->child; c; c = c->next) {
		xs_tx_access_node(x, c);
		if (!x->tx && xs_path_of(c, p, sizeof(p)) > 0)
			xs_fire(p, c, true);
		xs_fire_subtree(x, c);
	}
}

static int xs_op_rm(struct xs_ctx *x, const char *path)
{
	struct xs_node *n, *parent;
	char pp[XENSTORE_ABS_PATH_MAX + 64];
	char *slash;
	int err = 0;

	n = xs_get(x, path, 'w', &err);
	if (!n) {
		/* "Didn't exist already?  Fine, if parent exists." */
		if (err != -XEN_ENOENT)
			return err;
		snprintf(pp, sizeof(pp), "%s", path);
		slash = strrchr(pp, '/');
		if (slash == pp)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		parent = xs_walk(xs_ctx_root(x), pp, NULL);
		xs_tx_access(x, pp, parent);
		return parent ? 0 : -XEN_ENOENT;
	}
	if (!n->parent)
		return -XEN_EINVAL;
	xs_tx_access_node(x, n->parent);
	xs_fire_main(x, path, n, false);
	xs_fire_subtree(x, n);
	xs_unlink(n);
	xs_node_free(n);
	xs_tx_log(x, XS_RM, path, NULL, 0, NULL, 0);
	return 0;
}

static int xs_op_set_perms(struct xs_ctx *x, const char *path,
			   const struct hv_xs_perm *perms, unsigned int nperms)
{
	struct xs_node *n;
	int err = 0;

	if (!nperms || nperms > XS_MAX_PERMS)
		return -XEN_EINVAL;
	n = xs_get(x, path, 'w', &err);
	if (!n)
		return err;
	/* do_set_perms(): only the owner (or domain 0) may change them. */
	if (x->domid && n->perms[0].domid != x->domid)
		return -XEN_EACCES;
	memset(n->perms, 0, sizeof(n->perms));
	memcpy(n->perms, perms, nperms * sizeof(*perms));
	n->nperms = nperms;
	xs_touch(n);
	xs_tx_log(x, XS_SET_PERMS, path, NULL, 0, perms, nperms);
	xs_fire_main(x, path, n, false);
	return 0;
}

static int xs_perms_to_wire(const struct xs_node *n, char *buf, size_t size)
{
	size_t o = 0;
	unsigned int i;

	for (i = 0; i < n->nperms; i++) {
		int w = snprintf(buf + o, size - o, "%c%u", n->perms[i].perm,
				 n->perms[i].domid);

		if (w < 0 || (size_t)w + 1 > size - o)
			return -XEN_ENOSPC;
		o += (size_t)w + 1; /* keep the NUL */
	}
	return (int)o;
}

static int xs_perms_from_wire(const char *b, unsigned int len,
			      struct hv_xs_perm *perms, unsigned int *n)
{
	unsigned int o = 0;

	*n = 0;
	while (o < len) {
		const char *s = b + o;
		size_t l = strnlen(s, len - o);
		char *end;
		unsigned long id;

		if (l == len - o || l < 2 || *n == XS_MAX_PERMS ||
		    !strchr("nrwb", s[0]))
			return -XEN_EINVAL;
		id = strtoul(s + 1, &end, 10);
		if (*end || id > 0xffff)
			return -XEN_EINVAL;
		perms[*n].perm = s[0];
		perms[*n].domid = (uint16_t)id;
		(*n)++;
		o += (unsigned int)l + 1;
	}
	return *n ? 0 : -XEN_EINVAL;
}

/* --- transactions ------------------------------------------------------------ */

static struct xs_tx *xs_tx_find(struct xs_conn *c, uint32_t id)
{
	struct xs_tx *t;

	for (t = xs.txs; t; t = t->next)
		if (t->id == id && t->conn == c)
			return t;
	return NULL;
}

static void xs_tx_free(struct xs_tx *t)
{
	struct xs_access *a, *an;
	struct xs_op *o, *on;

	for (a = t->accessed; a; a = an) {
		an = a->next;
		free(a);
	}
	for (o = t->ops; o; o = on) {
		on = o->next;
		free(o->path);
		free(o);
	}
	xs_node_free(t->root);
	free(t);
}

static void xs_tx_unlink(struct xs_tx *t)
{
	struct xs_tx **pp;

	for (pp = &xs.txs; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			*pp = t->next;
			break;
		}
	}
	if (t->conn)
		t->conn->ntx--;
}

static int xs_tx_start(struct xs_conn *c, uint32_t *id)
{
	struct xs_tx *t;
	uint32_t *nxt;

	if (c && c->ntx >= (c->hostile.max_transactions ?
				    c->hostile.max_transactions :
				    XS_MAX_TX_PER_CONN))
		return -XEN_ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -XEN_ENOMEM;
	t->root = xs_clone(xs_root_locked(), NULL);
	if (!t->root) {
		free(t);
		return -XEN_ENOMEM;
	}
	/*
	 * Per connection, from 1, skipping ids in use: Xen 4.17's C
	 * xenstored, do_transaction_start() ("Pick an unused transaction
	 * identifier": conn->next_transaction_id++ until
	 * transaction_lookup() finds none), the counter set to 1 in
	 * new_connection(); oxenstored's connection next_tid starts at
	 * initial_next_tid = 1.  So a restored domain's new connection
	 * hands out the ids its old one did (resume/xs/tx_collide).
	 */
	nxt = c ? &c->next_tx : &xs.next_tx;
	do
		t->id = (*nxt)++;
	while (!t->id || xs_tx_find(c, t->id));
	t->conn = c;
	t->ops_tail = &t->ops;
	t->next = xs.txs;
	xs.txs = t;
	if (c)
		c->ntx++;
	*id = t->id;
	return 0;
}

/*
 * do_transaction_end() / finalize_transaction(): commit fails with EAGAIN
 * when a node the transaction touched changed since it started (its
 * generation differs, or it appeared or vanished); else the logged
 * operations are applied to the main tree, firing watches.
 */
static int xs_tx_end(struct xs_conn *c, uint32_t id, bool commit)
{
	struct xs_tx *t = xs_tx_find(c, id);
	struct xs_ctx x = { .conn = c, .domid = c ? c->domid : 0 };
	struct xs_access *a;
	struct xs_op *o;
	int rc = 0;

	if (!t)
		return -XEN_ENOENT;
	xs_tx_unlink(t);
	/* Hostile tx_conflict: this commit conflicts whatever it touched. */
	if (commit && c && c->hostile.tx_conflict) {
		c->hostile.tx_conflict--;
		rc = -XEN_EAGAIN;
	}
	if (commit) {
		for (a = t->accessed; a && !rc; a = a->next) {
			struct xs_node *n =
				xs_walk(xs_root_locked(), a->path, NULL);

			if ((n ? n->gen : 0) != a->gen)
				rc = -XEN_EAGAIN;
		}
		if (rc && c)
			c->st.tx_conflicts++;
		for (o = t->ops; o && !rc; o = o->next) {
			switch (o->type) {
			case XS_WRITE:
				xs_op_write(&x, o->path, o->data, o->len);
				break;
			case XS_MKDIR:
				xs_op_mkdir(&x, o->path);
				break;
			case XS_RM:
				xs_op_rm(&x, o->path);
				break;
			case XS_SET_PERMS:
				xs_op_set_perms(&x, o->path, o->perms,
						o->nperms);
				break;
			}
		}
	}
	xs_tx_free(t);
	return rc;
}

/* --- requests from a ring ------------------------------------------------------ */

static const char *xs_errname(int err)
{
	switch (-err) {
	case XEN_EINVAL:
		return "EINVAL";
	case XEN_EACCES:
		return "EACCES";
	case XEN_EEXIST:
		return "EEXIST";
	case XEN_EISDIR:
		return "EISDIR";
	case XEN_ENOENT:
		return "ENOENT";
	case XEN_ENOMEM:
		return "ENOMEM";
	case XEN_ENOSPC:
		return "ENOSPC";
	case XEN_ENOTEMPTY:
		return "ENOTEMPTY";
	case XEN_ENOSYS:
		return "ENOSYS";
	case XEN_EROFS:
		return "EROFS";
	case XEN_EBUSY:
		return "EBUSY";
	case XEN_EAGAIN:
		return "EAGAIN";
	case XEN_EISCONN:
		return "EISCONN";
	case XEN_E2BIG:
		return "E2BIG";
	case XEN_EPERM:
		return "EPERM";
	default:
		return "EIO";
	}
}

/* The strings of a request body: each NUL-terminated. */
static int xs_args(char *body, unsigned int len, const char **v,
		   unsigned int max)
{
	unsigned int n = 0, o = 0;

	while (o < len && n < max) {
		size_t l = strnlen(body + o, len - o);

		if (l == len - o)
			break;
		v[n++] = body + o;
		o += (unsigned int)l + 1;
	}
	return (int)n;
}

/* A hostile reply, if one is armed; returns true when it replaced m. */
static bool xs_hostile(struct xs_conn *c, struct xs_msg *m)
{
	struct hv_xs_hostile *h = &c->hostile;

	if (h->wrong_req_id) {
		h->wrong_req_id--;
		m->hdr.req_id += 0x5a5a;
	} else if (h->bad_type) {
		h->bad_type--;
		m->hdr.type = 0x7777;
	} else if (h->unterminated && m->hdr.len &&
		   m->body[m->hdr.len - 1] == '\0') {
		h->unterminated--;
		m->hdr.len--;
	} else if (h->len_too_big) {
		/* Only the header goes out (xs_write_ring() writes no body
		 * for a length over XENSTORE_PAYLOAD_MAX). */
		h->len_too_big--;
		m->hdr.len = XENSTORE_PAYLOAD_MAX + 1;
	} else if (h->rsp_prod_overflow) {
		h->rsp_prod_overflow--;
		c->st.hostile++;
		return true;
	} else {
		return false;
	}
	c->st.hostile++;
	return false;
}

static void xs_reply(struct xs_conn *c, uint32_t type, const void *body,
		     unsigned int len)
{
	struct xs_msg *m =
		xs_msg_new(type, c->in_hdr.req_id, c->in_hdr.tx_id, body, len);

	if (!m)
		return;
	c->st.replies++;
	if (type == XS_ERROR)
		c->st.errors++;
	if (c->hostile.stray_reply) {
		/* hv_xs_hostile.stray_reply: a copy for no request first. */
		struct xs_msg *s = xs_msg_new(type, c->hostile.stray_req_id,
					      c->in_hdr.tx_id, body, len);

		if (s) {
			c->hostile.stray_reply--;
			c->st.hostile++;
			xs_queue(c, s);
		}
	}
	if (xs_hostile(c, m)) {
		/* rsp_prod jumps a ring and a bit past what the guest read. */
		XENSTORE_RING_IDX cons =
			__atomic_load_n(&c->intf->rsp_cons, __ATOMIC_ACQUIRE);

		c->rsp_prod = cons + XENSTORE_RING_SIZE + 8;
		/* Publish it as any producer index (the bad value is the
		 * point); the guest must not read past its ring. */
		__atomic_store_n(&c->intf->rsp_prod, c->rsp_prod,
				 __ATOMIC_RELEASE);
		c->need_notify = true;
		free(m);
		return;
	}
	if (c->held) {
		/* hostile.reorder: the held reply after held_after others. */
		xs_queue(c, m);
		if (!--c->held_after) {
			xs_queue(c, c->held);
			c->held = NULL;
		}
		return;
	}
	if (c->hostile.reorder) {
		c->held = m;
		c->held_after = c->hostile.reorder;
		c->hostile.reorder = 0;
		c->st.hostile++;
		return;
	}
	xs_queue(c, m);
}

static void xs_reply_err(struct xs_conn *c, int err)
{
	const char *s = xs_errname(err);

	xs_reply(c, XS_ERROR, s, (unsigned int)strlen(s) + 1);
}

static void xs_ok(struct xs_conn *c)
{
	xs_reply(c, c->in_hdr.type, "OK", 3);
}

static int xs_do_watch(struct xs_conn *c, const char *path, const char *token)
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_watch *w;
	int rc = 0;

	if (xs_special(path)) {
		if (strcmp(path, XS_EV_SPECIAL_INTRO) &&
		    strcmp(path, XS_EV_SPECIAL_RELEASE))
			return -XEN_EINVAL;
		snprintf(abs, sizeof(abs), "%s", path);
	} else {
		rc = xs_canon(c, path, abs, sizeof(abs));
		if (rc)
			return rc;
	}
	for (w = xs.watches; w; w = w->next)
		if (!w->dead && w->conn == c && !strcmp(w->path, abs) &&
		    !strcmp(w->token, token))
			return -XEN_EEXIST;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -XEN_ENOMEM;
	w->conn = c;
	w->path = strdup(abs);
	w->token = strdup(token);
	w->relative = path[0] != '/' && path[0] != '@';
	w->next = xs.watches;
	xs.watches = w;
	return 0;
}

static void xs_watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

/* Unlink dead watches no callback still uses. */
static void xs_reap_watches(void)
{
	struct xs_watch **pp = &xs.watches, *w;

	while ((w = *pp)) {
		if (w->dead && !w->busy) {
			*pp = w->next;
			xs_watch_free(w);
		} else {
			pp = &w->next;
		}
	}
}

static int xs_do_unwatch(struct xs_conn *c, const char *path, const char *token)
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_watch *w;
	int rc = 0;

	if (xs_special(path))
		snprintf(abs, sizeof(abs), "%s", path);
	else
		rc = xs_canon(c, path, abs, sizeof(abs));
	if (rc)
		return rc;
	for (w = xs.watches; w; w = w->next) {
		if (!w->dead && w->conn == c && !strcmp(w->path, abs) &&
		    !strcmp(w->token, token)) {
			w->dead = true;
			xs_reap_watches();
			return 0;
		}
	}
	return -XEN_ENOENT;
}

/*
 * One request being answered: the connection, its context (transaction),
 * the body with its first two nul-terminated arguments, and for the path
 * operations the first argument made absolute.
 */
struct xs_req {
	struct xs_conn *c;
	struct xs_ctx x;
	char *b; /* the body, nul-terminated at hdr.len */
	unsigned int len;
	const char *v[2];
	int nargs;
	char abs[XENSTORE_ABS_PATH_MAX + 64];
};

/* Each returns 0 after its reply, or a negative Xen errno for
 * xs_process() to send as XS_ERROR. */
/*
 * hv_xs_hostile's read_path: count the READ; fail it (a nonzero return to
 * send as XS_ERROR) or arm the hook.  Under xs.lock.
 */
static int xs_read_hostile(struct xs_req *r)
{
	struct xs_conn *c = r->c;
	struct hv_xs_hostile *h = &c->hostile;

	if (!h->read_path[0] || r->x.tx || strcmp(h->read_path, r->abs))
		return 0;
	c->reads_seen++;
	if (h->read_hook && c->reads_seen == h->read_hook_nth)
		c->hook_due = true;
	if (!h->read_fail)
		return 0;
	h->read_fail--;
	c->st.hostile++;
	return h->read_fail_err ? h->read_fail_err : -XEN_EIO;
}

static int xs_req_read(struct xs_req *r)
{
	struct xs_node *n;
	int rc = xs_read_hostile(r);

	if (rc)
		return rc;
	n = xs_get(&r->x, r->abs, 'r', &rc);
	if (n)
		xs_reply(r->c, XS_READ, n->value ? n->value : "", n->len);
	return rc;
}

static int xs_req_write(struct xs_req *r)
{
	unsigned int off = (unsigned int)strlen(r->v[0]) + 1;
	int rc;

	if (off > r->len)
		return -XEN_EINVAL;
	rc = xs_op_write(&r->x, r->abs, r->b + off, r->len - off);
	if (!rc)
		xs_ok(r->c);
	return rc;
}

static int xs_req_mkdir(struct xs_req *r)
{
	int rc = xs_op_mkdir(&r->x, r->abs);

	if (!rc)
		xs_ok(r->c);
	return rc;
}

static int xs_req_rm(struct xs_req *r)
{
	int rc = xs_op_rm(&r->x, r->abs);

	if (!rc)
		xs_ok(r->c);
	return rc;
}

static int xs_req_directory(struct xs_req *r)
{
	char out[XENSTORE_PAYLOAD_MAX];
	struct xs_node *n, *k;
	unsigned int o = 0;
	int rc = 0;

	n = xs_get(&r->x, r->abs, 'r', &rc);
	if (!n)
		return rc;
	for (k = n->child; k; k = k->next) {
		size_t l = strlen(k->name) + 1;

		if (o + l > sizeof(out))
			return -XEN_E2BIG;
		memcpy(out + o, k->name, l);
		o += (unsigned int)l;
	}
	xs_reply(r->c, XS_DIRECTORY, out, o);
	return 0;
}

static int xs_req_get_perms(struct xs_req *r)
{
	char out[XENSTORE_PAYLOAD_MAX];
	struct xs_node *n;
	int rc = 0, len;

	n = xs_get(&r->x, r->abs, 'r', &rc);
	if (!n)
		return rc;
	len = xs_perms_to_wire(n, out, sizeof(out));
	if (len < 0)
		return len;
	xs_reply(r->c, XS_GET_PERMS, out, (unsigned int)len);
	return 0;
}

static int xs_req_set_perms(struct xs_req *r)
{
	struct hv_xs_perm p[XS_MAX_PERMS];
	unsigned int np, off = (unsigned int)strlen(r->v[0]) + 1;
	int rc;

	rc = xs_perms_from_wire(r->b + off, r->len - off, p, &np);
	if (!rc)
		rc = xs_op_set_perms(&r->x, r->abs, p, np);
	if (!rc)
		xs_ok(r->c);
	return rc;
}

static int xs_req_watch(struct xs_req *r)
{
	int rc;

	if (r->nargs < 2)
		return -XEN_EINVAL;
	rc = xs_do_watch(r->c, r->v[0], r->v[1]);
	if (!rc) {
		/* do_watch(): the ack, then the first firing. */
		xs_ok(r->c);
		xs_send_event(xs.watches, xs.watches->path);
	}
	return rc;
}

static int xs_req_unwatch(struct xs_req *r)
{
	int rc;

	if (r->nargs < 2)
		return -XEN_EINVAL;
	rc = xs_do_unwatch(r->c, r->v[0], r->v[1]);
	if (!rc)
		xs_ok(r->c);
	return rc;
}

static int xs_req_transaction_start(struct xs_req *r)
{
	char out[16];
	uint32_t id;
	int rc, len;

	if (r->c->in_hdr.tx_id)
		return -XEN_EBUSY; /* "if (conn->transaction) EBUSY" */
	rc = xs_tx_start(r->c, &id);
	if (rc)
		return rc;
	len = snprintf(out, sizeof(out), "%u", id);
	if (r->c->hostile.tx_id[0]) {
		/* hv_xs_hostile.tx_id: another id than the one opened. */
		len = snprintf(out, sizeof(out), "%s", r->c->hostile.tx_id);
		r->c->hostile.tx_id[0] = '\0';
		r->c->st.hostile++;
	}
	xs_reply(r->c, XS_TRANSACTION_START, out, (unsigned int)len + 1);
	return 0;
}

static int xs_req_transaction_end(struct xs_req *r)
{
	const char *v = r->v[0];
	int rc;

	/* onearg(): one string, the whole body ("F\0" or "T\0"). */
	if (r->nargs < 1 || strlen(v) + 1 != r->c->in_hdr.len ||
	    (strcmp(v, "T") && strcmp(v, "F")))
		return -XEN_EINVAL;
	if (!r->x.tx)
		return -XEN_ENOENT;
	rc = xs_tx_end(r->c, r->c->in_hdr.tx_id, v[0] == 'T');
	if (!rc)
		xs_ok(r->c);
	return rc;
}

static int xs_req_get_domain_path(struct xs_req *r)
{
	char out[32];
	unsigned long id;
	char *end;
	int len;

	if (r->nargs < 1)
		return -XEN_EINVAL;
	id = strtoul(r->v[0], &end, 10);
	if (*end || end == r->v[0] || id > 0xffff)
		return -XEN_EINVAL;
	len = snprintf(out, sizeof(out), "/local/domain/%lu", id);
	xs_reply(r->c, XS_GET_DOMAIN_PATH, out, (unsigned int)len + 1);
	return 0;
}

/*
 * do_reset_watches() (4.17's tools/xenstore/xenstored_domain.c): every
 * watch of the connection goes (conn_delete_all_watches), and every
 * transaction (conn_delete_all_transactions), the one the request names
 * included; then OK.  Events already queued stay queued, as in
 * xenstored's output list.
 */
static int xs_req_reset_watches(struct xs_req *r)
{
	struct xs_tx *t, *next;
	struct xs_watch *w;

	for (w = xs.watches; w; w = w->next)
		if (w->conn == r->c)
			w->dead = true;
	xs_reap_watches();
	for (t = xs.txs; t; t = next) {
		next = t->next;
		if (t->conn == r->c) {
			xs_tx_unlink(t);
			xs_tx_free(t);
		}
	}
	r->x.tx = NULL;
	xs_ok(r->c);
	return 0;
}

/*
 * send_directory_part() (4.17's tools/xenstore/xenstored_core.c): exactly
 * two strings, the path and a byte offset into the child list (atoi, so
 * "x" is 0 and "-1" past the end), else EINVAL; the node read as
 * DIRECTORY does.  The reply: the node's generation as a decimal string,
 * then from the offset as many names as the loop below takes (each whole
 * while the payload stays within XENSTORE_PAYLOAD_MAX), and an empty
 * string once the list is complete.  An offset at or past the end gives
 * the generation and the empty string.  Linux's xenbus_directory() reads
 * the parts and starts again when the generation changed meanwhile.
 */
static int xs_req_directory_part(struct xs_req *r)
{
	unsigned int off, len = 0, maxlen, genlen, childlen = 0, nuls = 0, i;
	char gen[24], out[XENSTORE_PAYLOAD_MAX], *list, *child;
	struct xs_node *n, *k;
	int rc = 0;

	for (i = 0; i < r->len; i++)
		nuls += !r->b[i];
	if (nuls != 2)
		return -XEN_EINVAL;
	n = xs_get(&r->x, r->abs, 'r', &rc);
	if (!n)
		return rc;
	off = (unsigned int)atoi(r->v[1]);
	genlen = (unsigned int)snprintf(gen, sizeof(gen), "%" PRIu64, n->gen) +
		 1;
	for (k = n->child; k; k = k->next)
		childlen += (unsigned int)strlen(k->name) + 1;
	if (off >= childlen) {
		gen[genlen] = '\0';
		xs_reply(r->c, XS_DIRECTORY_PART, gen, genlen + 1);
		return 0;
	}
	list = malloc(childlen);
	if (!list)
		return -XEN_ENOMEM;
	for (i = 0, k = n->child; k; k = k->next) {
		size_t l = strlen(k->name) + 1;

		memcpy(list + i, k->name, l);
		i += (unsigned int)l;
	}
	maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
	child = list + off;
	while (len + strlen(child) < maxlen) {
		len += (unsigned int)strlen(child) + 1;
		child += strlen(child) + 1;
		if (off + len == childlen)
			break;
	}
	memcpy(out, gen, genlen);
	memcpy(out + genlen, list + off, len);
	free(list);
	if (off + len == childlen)
		out[genlen + len++] = '\0';
	xs_reply(r->c, XS_DIRECTORY_PART, out, genlen + len);
	return 0;
}

#define XS_OP_PATH (1U << 0)  /* first argument a path, made absolute first */
#define XS_OP_PRIV (1U << 1)  /* domain 0's: refused with EACCES */
#define XS_OP_NOTID (1U << 2) /* tx_id ignored (xenstored's XS_FLAG_NOTID) */

/*
 * The operations by wire type, as C xenstored's wire_funcs[] in
 * tools/xenstore/xenstored_core.c (4.17; its process_message()).  A type
 * with no entry or no function is refused with ENOSYS ("Client unknown
 * operation").  The privileged ones come from an unprivileged guest here:
 * EACCES, as xenstored's XS_FLAG_PRIV check gives them.  WATCH_EVENT and
 * ERROR are replies only.
 */
static const struct xs_wire_op {
	const char *name;
	int (*fn)(struct xs_req *r);
	unsigned int flags;
} xs_wire_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { "CONTROL", NULL, XS_OP_PRIV },
	[XS_DIRECTORY] = { "DIRECTORY", xs_req_directory, XS_OP_PATH },
	[XS_READ] = { "READ", xs_req_read, XS_OP_PATH },
	[XS_GET_PERMS] = { "GET_PERMS", xs_req_get_perms, XS_OP_PATH },
	[XS_WATCH] = { "WATCH", xs_req_watch, XS_OP_NOTID },
	[XS_UNWATCH] = { "UNWATCH", xs_req_unwatch, XS_OP_NOTID },
	[XS_TRANSACTION_START] = { "TRANSACTION_START",
				   xs_req_transaction_start, 0 },
	[XS_TRANSACTION_END] = { "TRANSACTION_END", xs_req_transaction_end, 0 },
	[XS_INTRODUCE] = { "INTRODUCE", NULL, XS_OP_PRIV },
	[XS_RELEASE] = { "RELEASE", NULL, XS_OP_PRIV },
	[XS_GET_DOMAIN_PATH] = { "GET_DOMAIN_PATH", xs_req_get_domain_path, 0 },
	[XS_WRITE] = { "WRITE", xs_req_write, XS_OP_PATH },
	[XS_MKDIR] = { "MKDIR", xs_req_mkdir, XS_OP_PATH },
	[XS_RM] = { "RM", xs_req_rm, XS_OP_PATH },
	[XS_SET_PERMS] = { "SET_PERMS", xs_req_set_perms, XS_OP_PATH },
	[XS_WATCH_EVENT] = { "WATCH_EVENT", NULL, 0 },
	[XS_ERROR] = { "ERROR", NULL, 0 },
	[XS_IS_DOMAIN_INTRODUCED] = { "IS_DOMAIN_INTRODUCED", NULL,
				      XS_OP_PRIV },
	[XS_RESUME] = { "RESUME", NULL, XS_OP_PRIV },
	[XS_SET_TARGET] = { "SET_TARGET", NULL, XS_OP_PRIV },
	[XS_RESET_WATCHES] = { "RESET_WATCHES", xs_req_reset_watches, 0 },
	[XS_DIRECTORY_PART] = { "DIRECTORY_PART", xs_req_directory_part,
				XS_OP_PATH },
};

/* One complete request from the ring (process_message()). */
static void xs_process(struct xs_conn *c)
{
	struct xsd_sockmsg *h = &c->in_hdr;
	const struct xs_wire_op *op = NULL;
	struct xs_req r = {
		.c = c,
		.x = { .conn = c, .domid = c->domid },
		.b = c->in_body,
		.len = h->len,
	};
	int rc;

	r.b[h->len] = '\0';
	c->st.requests++;
	/*
	 * process_message()'s order: an unknown operation is ENOSYS and a
	 * privileged one EACCES whatever its tx_id; then the transaction
	 * (transaction_lookup: an unknown nonzero id is ENOENT, for
	 * TRANSACTION_START too), except for WATCH and UNWATCH, which ignore
	 * it.
	 */
	if (h->type < XS_TYPE_COUNT)
		op = &xs_wire_ops[h->type];
	if (!op || (!op->fn && !(op->flags & XS_OP_PRIV))) {
		xs_reply_err(c, -XEN_ENOSYS);
		return;
	}
	if (op->flags & XS_OP_PRIV) {
		xs_reply_err(c, -XEN_EACCES);
		return;
	}
	if (h->tx_id && !(op->flags & XS_OP_NOTID)) {
		r.x.tx = xs_tx_find(c, h->tx_id);
		if (!r.x.tx) {
			xs_reply_err(c, -XEN_ENOENT);
			return;
		}
	}
	r.nargs = xs_args(r.b, h->len, r.v, 2);
	if (op->flags & XS_OP_PATH) {
		if (r.nargs < 1)
			rc = -XEN_EINVAL;
		else
			rc = xs_canon(c, r.v[0], r.abs, sizeof(r.abs));
		if (rc) {
			xs_reply_err(c, rc);
			return;
		}
	}
	rc = op->fn(&r);
	if (rc)
		xs_reply_err(c, rc);
}

static void xs_set_broken(struct xs_conn *c, uint32_t error)
{
	c->broken = true;
	c->st.bad_requests++;
	__atomic_store_n(&c->intf->error, error, __ATOMIC_RELEASE);
}

/* Read what the guest produced; process complete requests. */
static void xs_read_ring(struct xs_conn *c)
{
	struct xenstore_domain_interface *in = c->intf;
	unsigned int done = 0;

	while (!c->broken && !c->paused && done < XS_REQS_PER_PASS &&
	       c->out_replies < XS_MAX_OUTSTANDING) {
		XENSTORE_RING_IDX cons =
			__atomic_load_n(&in->req_cons, __ATOMIC_RELAXED);
		XENSTORE_RING_IDX prod =
			__atomic_load_n(&in->req_prod, __ATOMIC_ACQUIRE);
		unsigned int avail = prod - cons, want, n, off;
		char *dst;

		if (avail > XENSTORE_RING_SIZE) {
			xs_set_broken(c, XENSTORE_ERROR_RINGIDX);
			return;
		}
		if (!avail)
			return;
		/* Read req_prod before the bytes it covers (xs_wire.h;
		 * the acquire load above is that rmb). */
		if (c->in_have < sizeof(c->in_hdr)) {
			want = sizeof(c->in_hdr) - c->in_have;
			dst = (char *)&c->in_hdr + c->in_have;
		} else {
			want = sizeof(c->in_hdr) + c->in_hdr.len - c->in_have;
			dst = c->in_body + (c->in_have - sizeof(c->in_hdr));
		}
		n = avail < want ? avail : want;
		off = MASK_XENSTORE_IDX(cons);
		if (n > XENSTORE_RING_SIZE - off)
			n = XENSTORE_RING_SIZE - off;
		memcpy(dst, in->req + off, n);
		c->in_have += n;
		/* The bytes are copied before req_cons frees them (xenstored
		 * has xen_mb() there): a release store orders the loads
		 * before it too. */
		__atomic_store_n(&in->req_cons, cons + n, __ATOMIC_RELEASE);
		c->need_notify = true;
		if (c->in_have == sizeof(c->in_hdr) &&
		    c->in_hdr.len > XENSTORE_PAYLOAD_MAX) {
			/* "Violating this is very bad." */
			xs_set_broken(c, XENSTORE_ERROR_PROTO);
			return;
		}
		if (c->in_have >= sizeof(c->in_hdr) &&
		    c->in_have == sizeof(c->in_hdr) + c->in_hdr.len) {
			xs_process(c);
			c->in_have = 0;
			done++;
			/* The read hook runs before the next request. */
			if (c->hook_due)
				return;
		}
	}
}

/* Write queued messages while the ring has space. */
static void xs_write_ring(struct xs_conn *c)
{
	struct xenstore_domain_interface *in = c->intf;
	struct xs_msg *m;

	while (!c->broken && !c->paused && (m = c->out)) {
		XENSTORE_RING_IDX cons =
			__atomic_load_n(&in->rsp_cons, __ATOMIC_ACQUIRE);
		unsigned int used = c->rsp_prod - cons, space, total, n, off;
		unsigned int body_len =
			m->hdr.len > XENSTORE_PAYLOAD_MAX ? 0 : m->hdr.len;
		const char *src;

		if (used >= XENSTORE_RING_SIZE)
			return; /* full, or the guest has not resynced yet */
		space = XENSTORE_RING_SIZE - used;
		total = sizeof(m->hdr) + body_len;
		if (m->off < sizeof(m->hdr)) {
			src = (const char *)&m->hdr + m->off;
			n = sizeof(m->hdr) - m->off;
		} else {
			src = m->body + (m->off - sizeof(m->hdr));
			n = total - m->off;
		}
		if (n > space)
			n = space;
		off = MASK_XENSTORE_IDX(c->rsp_prod);
		if (n > XENSTORE_RING_SIZE - off)
			n = XENSTORE_RING_SIZE - off;
		memcpy(in->rsp + off, src, n);
		m->off += n;
		c->rsp_prod += n;
		/* The bytes before rsp_prod (xenstored's xen_wmb()): the
		 * release store.  The acquire load of rsp_cons above keeps
		 * these writes after the guest freed the space. */
		__atomic_store_n(&in->rsp_prod, c->rsp_prod, __ATOMIC_RELEASE);
		c->need_notify = true;
		if (m->off == total) {
			xs_dequeue(c, m);
			free(m);
		}
	}
}

/*
 * Hostile flood (hv_xs_hostile.flood): whole WATCH_EVENT messages straight
 * into the ring while it has room for one, and only between queued
 * messages (never inside a half-written reply).  Returns true if it wrote.
 */
static bool xs_flood_ring(struct xs_conn *c)
{
	struct xenstore_domain_interface *in = c->intf;
	const struct hv_xs_hostile *h = &c->hostile;
	size_t pl = strnlen(h->flood_path, sizeof(h->flood_path) - 1);
	size_t tl = strnlen(h->flood_token, sizeof(h->flood_token) - 1);
	struct xsd_sockmsg hdr = { .type = XS_WATCH_EVENT,
				   .len = (uint32_t)(pl + tl + 2) };
	char msg[sizeof(hdr) + sizeof(h->flood_path) + sizeof(h->flood_token)];
	unsigned int total = (unsigned int)(sizeof(hdr) + hdr.len), i;
	bool wrote = false;

	if (c->broken || (c->out && c->out->off))
		return false;
	memcpy(msg, &hdr, sizeof(hdr));
	memcpy(msg + sizeof(hdr), h->flood_path, pl);
	msg[sizeof(hdr) + pl] = '\0';
	memcpy(msg + sizeof(hdr) + pl + 1, h->flood_token, tl);
	msg[sizeof(hdr) + pl + 1 + tl] = '\0';
	for (;;) {
		XENSTORE_RING_IDX cons =
			__atomic_load_n(&in->rsp_cons, __ATOMIC_ACQUIRE);

		if (c->rsp_prod - cons + total > XENSTORE_RING_SIZE)
			break;
		for (i = 0; i < total; i++)
			in->rsp[MASK_XENSTORE_IDX(c->rsp_prod + i)] = msg[i];
		c->rsp_prod += total;
		/* The bytes before rsp_prod: the release store. */
		__atomic_store_n(&in->rsp_prod, c->rsp_prod, __ATOMIC_RELEASE);
		c->need_notify = true;
		c->st.events++;
		c->st.hostile++;
		wrote = true;
	}
	return wrote;
}

/*
 * The flood's own thread: a xenstored on another pCPU that is never
 * slower than the guest, refilling the ring as soon as there is room for
 * a message (xs.lock orders it with the service thread's replies).
 */
static void *xs_flood_thread(void *arg)
{
	struct xs_conn *c = arg;
	unsigned int idle = 0;

	while (!__atomic_load_n(&c->flood_stop, __ATOMIC_SEQ_CST)) {
		bool wrote;

		pthread_mutex_lock(&xs.lock);
		wrote = xs_flood_ring(c);
		c->need_notify = false;
		pthread_mutex_unlock(&xs.lock);
		if (wrote) {
			idle = 0;
			hv_evtchn_notify_guest(c->d, (uint32_t)c->port);
		} else if (++idle < 1000) {
			__builtin_ia32_pause();
		} else {
			idle = 0;
			sched_yield();
		}
	}
	return NULL;
}

/* Start or stop c's flood thread; called with xs.lock not held. */
static void xs_flood_set(struct xs_conn *c, bool on)
{
	if (on && !c->flood_running) {
		__atomic_store_n(&c->flood_stop, 0, __ATOMIC_SEQ_CST);
		c->flood_running = !pthread_create(&c->flood_thread, NULL,
						   xs_flood_thread, c);
	} else if (!on && c->flood_running) {
		__atomic_store_n(&c->flood_stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(c->flood_thread, NULL);
		c->flood_running = false;
	}
}

/* --- the service thread ---------------------------------------------------------- */

#define XS_MAX_NOTIFY HV_MAX_DOMAINS

static void xs_run_d0_callbacks(void)
{
	for (;;) {
		struct xs_d0_event *e;
		struct xs_watch *w;

		pthread_mutex_lock(&xs.lock);
		e = xs.d0_events;
		if (e) {
			xs.d0_events = e->next;
			if (!xs.d0_events)
				xs.d0_tail = &xs.d0_events;
			/* Under xs.lock, so hv_xs_unwatch() that marks the
			 * watch dead after this sees it running. */
			__atomic_fetch_add(&xs.cb_running, 1, __ATOMIC_SEQ_CST);
		}
		pthread_mutex_unlock(&xs.lock);
		if (!e)
			return;
		w = e->w;
		/* w stays allocated while busy > 0 (xs_reap_watches). */
		if (!__atomic_load_n(&w->dead, __ATOMIC_ACQUIRE))
			w->fn(e->path, w->token, w->arg);
		pthread_mutex_lock(&xs.lock);
		w->busy--;
		xs_reap_watches();
		pthread_mutex_unlock(&xs.lock);
		__atomic_fetch_sub(&xs.cb_running, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&xs.wake_lock);
		pthread_cond_broadcast(&xs.pass_cond);
		pthread_mutex_unlock(&xs.wake_lock);
		free(e);
	}
}

/*
 * hv_xs_hostile.read_hook, armed by a READ of this pass: after the pass's
 * replies and domain-0 callbacks, before the next pass reads the domain's
 * ring (xs_read_ring() stopped after that READ).  The hook's writes fire
 * domain-0 watches: those run here too.
 */
static void xs_run_read_hooks(void)
{
	void (*fn)(void *) = NULL;
	void *arg = NULL;
	struct xs_conn *c;

	pthread_mutex_lock(&xs.lock);
	for (c = xs.conns; c && !fn; c = c->next) {
		if (!c->hook_due)
			continue;
		c->hook_due = false;
		fn = c->hostile.read_hook;
		arg = c->hostile.read_hook_arg;
		c->hostile.read_hook = NULL;
	}
	pthread_mutex_unlock(&xs.lock);
	if (!fn)
		return;
	fn(arg);
	xs_run_d0_callbacks();
}

static void xs_pass(void)
{
	struct {
		struct hv_domain *d;
		int port;
	} notify[XS_MAX_NOTIFY];
	unsigned int nn = 0, i;
	struct xs_conn *c;

	pthread_mutex_lock(&xs.lock);
	for (c = xs.conns; c; c = c->next) {
		__atomic_store_n(&c->kick, 0, __ATOMIC_SEQ_CST);
		xs_read_ring(c);
		xs_write_ring(c);
		if (c->need_notify && nn < XS_MAX_NOTIFY) {
			c->need_notify = false;
			notify[nn].d = c->d;
			notify[nn].port = c->port;
			nn++;
		}
	}
	pthread_mutex_unlock(&xs.lock);
	/* Outside xs.lock: the event channel code takes its own locks. */
	for (i = 0; i < nn; i++)
		hv_evtchn_notify_guest(notify[i].d, (uint32_t)notify[i].port);
	xs_run_d0_callbacks();
	xs_run_read_hooks();
}

static bool xs_more_work(void)
{
	struct xs_conn *c;
	bool more = false;

	pthread_mutex_lock(&xs.lock);
	for (c = xs.conns; c && !more; c = c->next) {
		XENSTORE_RING_IDX cons, prod;

		if (c->broken || c->paused)
			continue;
		cons = __atomic_load_n(&c->intf->req_cons, __ATOMIC_RELAXED);
		prod = __atomic_load_n(&c->intf->req_prod, __ATOMIC_ACQUIRE);
		more = (prod != cons && c->out_replies < XS_MAX_OUTSTANDING) ||
		       __atomic_load_n(&c->kick, __ATOMIC_SEQ_CST);
		if (!more && c->out) {
			XENSTORE_RING_IDX rc = __atomic_load_n(
				&c->intf->rsp_cons, __ATOMIC_ACQUIRE);

			more = c->rsp_prod - rc < XENSTORE_RING_SIZE;
		}
	}
	more = more || xs.d0_events;
	pthread_mutex_unlock(&xs.lock);
	return more;
}

static void *xs_thread(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&xs.wake_lock);
		while (!xs.work)
			pthread_cond_wait(&xs.wake_cond, &xs.wake_lock);
		xs.work = false;
		xs.pass++;
		xs.in_pass = true;
		pthread_mutex_unlock(&xs.wake_lock);

		do
			xs_pass();
		while (xs_more_work());

		pthread_mutex_lock(&xs.wake_lock);
		xs.in_pass = false;
		pthread_cond_broadcast(&xs.pass_cond);
		pthread_mutex_unlock(&xs.wake_lock);
	}
	return NULL;
}

/* Called with xs.lock held. */
static void xs_start_locked(void)
{
	if (xs.started)
		return;
	if (!xs.d0_tail)
		xs.d0_tail = &xs.d0_events;
	if (pthread_create(&xs.thread, NULL, xs_thread, NULL) == 0) {
		xs.started = true;
		pthread_detach(xs.thread);
	}
}

/* Wait for the pass in progress (if any) to end. */
static void xs_wait_pass(void)
{
	pthread_mutex_lock(&xs.wake_lock);
	if (xs.in_pass && !pthread_equal(pthread_self(), xs.thread)) {
		uint64_t p = xs.pass;

		while (xs.in_pass && xs.pass == p)
			pthread_cond_wait(&xs.pass_cond, &xs.wake_lock);
	}
	pthread_mutex_unlock(&xs.wake_lock);
}

/*
 * The guest's EVTCHNOP_send on the store port (a Xen-consumer channel):
 * only signal, as hv_xen_consumer_fn must.
 */
static void xs_kick(struct hv_domain *d, uint32_t port, void *arg)
{
	struct xs_conn *c = arg;

	(void)d;
	(void)port;
	__atomic_store_n(&c->kick, 1, __ATOMIC_SEQ_CST);
	__atomic_fetch_add(&c->notifies, 1, __ATOMIC_RELAXED);
	xs_wake();
}

/* --- domains ------------------------------------------------------------------------ */

static struct xs_conn *xs_conn_of(struct hv_domain *d)
{
	return __atomic_load_n(&d->xs, __ATOMIC_ACQUIRE);
}

/*
 * XS_INTRODUCE (xenstored_domain.c introduce_domain() -> new_domain()):
 * a connection on the domain's ring, a store port bound.  restore: the
 * ring is the restored guest's page, left as it is (xenstored maps it and
 * reads on from the indexes there; the toolstack clears it only for a
 * new boot), and the event for it is not sent ("if ( !is_master_domain
 * && !restore )").
 */
static int xs_introduce(struct hv_domain *d, bool restore)
{
	struct xs_conn *c = calloc(1, sizeof(*c));
	struct xs_ctx x = { 0 };
	struct hv_xs_perm own;
	char path[64];
	int rc;

	if (!c)
		return -XEN_ENOMEM;
	c->d = d;
	c->domid = d->domid;
	c->gfn = HV_XS_RING_GFN(d->nr_pages);
	c->intf = hv_gfn_to_virt(d, c->gfn);
	c->out_tail = &c->out;
	c->next_tx = 1;
	snprintf(c->prefix, sizeof(c->prefix), "/local/domain/%u/", c->domid);
	if (!c->intf) {
		free(c);
		return -XEN_EINVAL;
	}
	if (restore)
		c->rsp_prod =
			__atomic_load_n(&c->intf->rsp_prod, __ATOMIC_ACQUIRE);
	else
		memset(c->intf, 0, sizeof(*c->intf));
	c->port = hv_evtchn_alloc_xen_unbound(d, xs_kick, c);
	if (c->port < 0) {
		rc = c->port;
		free(c);
		return rc;
	}

	pthread_mutex_lock(&xs.lock);
	xs_start_locked();
	/* The toolstack's part: /local/domain/<id> owned by the domain. */
	snprintf(path, sizeof(path), "/local/domain/%u", c->domid);
	xs_op_rm(&x, path); /* a leftover of an earlier domain */
	rc = xs_op_mkdir(&x, path);
	own = (struct hv_xs_perm){ c->domid, 'n' };
	if (!rc)
		rc = xs_op_set_perms(&x, path, &own, 1);
	snprintf(path, sizeof(path), "/local/domain/%u/domid", c->domid);
	if (!rc) {
		char id[8];

		snprintf(id, sizeof(id), "%u", c->domid);
		rc = xs_op_write(&x, path, id, (unsigned int)strlen(id));
	}
	if (!rc) {
		c->next = xs.conns;
		xs.conns = c;
		__atomic_store_n(&d->xs, c, __ATOMIC_RELEASE);
		if (!restore)
			xs_fire(XS_EV_SPECIAL_INTRO, NULL, true);
	}
	pthread_mutex_unlock(&xs.lock);
	if (rc) {
		hv_evtchn_unbind_xen(d, (uint32_t)c->port);
		free(c);
	}
	if (!rc && restore)
		xs_wake(); /* requests left in the ring are read on */
	return rc;
}

int hv_xs_introduce(struct hv_domain *d)
{
	return xs_introduce(d, false);
}

static void xs_rm_backends_locked(domid_t domid)
{
	struct xs_ctx x = { 0 };
	struct xs_node *be = xs_walk(xs_root_locked(),
				     "/local/domain/0/backend", NULL),
		       *cls;
	char path[128];

	if (!be)
		return;
	for (cls = be->child; cls;) {
		struct xs_node *next = cls->next;

		snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u",
			 cls->name, domid);
		xs_op_rm(&x, path);
		cls = next;
	}
}

void hv_xs_release(struct hv_domain *d)
{
	struct xs_conn *c = xs_conn_of(d), **pp;
	struct xs_watch *w;
	struct xs_tx *t, *tn;
	struct xs_msg *m, *mn;
	struct xs_ctx x = { 0 };
	char path[64];

	if (!c)
		return;
	/* A flood a test left on stops before the connection goes. */
	xs_flood_set(c, false);
	/* No xs_kick() from here on. */
	hv_evtchn_unbind_xen(d, (uint32_t)c->port);

	pthread_mutex_lock(&xs.lock);
	for (pp = &xs.conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	__atomic_store_n(&d->xs, NULL, __ATOMIC_RELEASE);
	for (w = xs.watches; w; w = w->next)
		if (w->conn == c)
			w->dead = true;
	xs_reap_watches();
	for (t = xs.txs; t; t = tn) {
		tn = t->next;
		if (t->conn == c) {
			xs_tx_unlink(t);
			xs_tx_free(t);
		}
	}
	/* The toolstack's part of domain destruction. */
	snprintf(path, sizeof(path), "/local/domain/%u", c->domid);
	xs_op_rm(&x, path);
	xs_rm_backends_locked(c->domid);
	xs_fire(XS_EV_SPECIAL_RELEASE, NULL, true);
	pthread_mutex_unlock(&xs.lock);

	/* The service thread may still be in a pass that found c. */
	xs_wait_pass();
	for (m = c->out; m; m = mn) {
		mn = m->next;
		free(m);
	}
	free(c->held);
	free(c);
}

/*
 * A restore (hv/suspend.c), once the domain has its new domid and its
 * ports are closed.  Xen 4.17: the old domain's destruction releases its
 * connection (xenstored's domain_cleanup(): its watches and
 * transactions go, the replies it had not written are lost; the
 * toolstack removes /local/domain/<old> and @releaseDomain fires); the
 * new domain gets a new store port (the toolstack's
 * xc_evtchn_alloc_unbound(), set as HVM_PARAM_STORE_EVTCHN in
 * xg_sr_restore_x86_hvm.c x86_hvm_stream_complete(), in start_info for
 * PV) and is introduced on the same ring gfn (HVM_PARAM_STORE_PFN is in
 * the stream, xg_sr_save_x86_hvm.c params[]), whose page came along with
 * the rest of the guest's memory, indexes and all.  The guest's own nodes
 * are not rebuilt (libxl writes only the toolstack's).  0 or -XEN_Exxx.
 */
int hv_xs_restore(struct hv_domain *d)
{
	if (!xs_conn_of(d))
		return 0;
	hv_xs_release(d);
	return xs_introduce(d, true);
}

/* HVMOP_get_param for the store params (hvm_get_param()). */
int hv_xs_get_param(struct hv_domain *d, uint32_t index, uint64_t *val)
{
	struct xs_conn *c = xs_conn_of(d);

	switch (index) {
	case HVM_PARAM_STORE_PFN:
		*val = c ? c->gfn : 0; /* an unset param reads as 0 */
		return 0;
	case HVM_PARAM_STORE_EVTCHN:
		*val = c ? (uint64_t)c->port : 0;
		return 0;
	default:
		return -XEN_EINVAL;
	}
}

int hv_xs_domain_port(struct hv_domain *d)
{
	struct xs_conn *c = xs_conn_of(d);

	return c ? c->port : -1;
}

int64_t hv_xs_domain_gfn(struct hv_domain *d)
{
	struct xs_conn *c = xs_conn_of(d);

	return c ? (int64_t)c->gfn : -1;
}

void hv_xs_set_hostile(struct hv_domain *d, const struct hv_xs_hostile *h)
{
	struct xs_conn *c = xs_conn_of(d);
	struct hv_vcpu *v;

	if (!c)
		return;
	v = xs_enter();
	pthread_mutex_lock(&xs.lock);
	if (h)
		c->hostile = *h;
	else
		memset(&c->hostile, 0, sizeof(c->hostile));
	c->reads_seen = 0;
	c->hook_due = false;
	pthread_mutex_unlock(&xs.lock);
	/* Not under xs.lock: the flood thread takes it. */
	xs_flood_set(c, h && h->flood);
	xs_leave(v);
}

void hv_xs_pause(struct hv_domain *d, bool paused)
{
	struct xs_conn *c = xs_conn_of(d);
	struct hv_vcpu *v;

	if (!c)
		return;
	v = xs_enter();
	pthread_mutex_lock(&xs.lock);
	c->paused = paused;
	pthread_mutex_unlock(&xs.lock);
	if (!paused)
		xs_wake();
	xs_leave(v);
}

void hv_xs_get_stats(struct hv_domain *d, struct hv_xs_stats *st)
{
	struct xs_conn *c = xs_conn_of(d);
	struct hv_vcpu *v;

	memset(st, 0, sizeof(*st));
	if (!c)
		return;
	v = xs_enter();
	pthread_mutex_lock(&xs.lock);
	*st = c->st;
	st->notifies = __atomic_load_n(&c->notifies, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&xs.lock);
	xs_leave(v);
}

/* --- the in-process API (domain 0) ------------------------------------------------ */

static int xs_d0_path(const char *in, char *out, size_t size)
{
	if (!in || in[0] != '/')
		return -XEN_EINVAL;
	return xs_canon(NULL, in, out, size);
}

static char *xs_api_read(const char *path, unsigned int *len, int *err)
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_ctx x = { 0 };
	struct xs_node *n;
	char *v = NULL;
	int rc = xs_d0_path(path, abs, sizeof(abs));

	if (!rc) {
		pthread_mutex_lock(&xs.lock);
		n = xs_get(&x, abs, 'r', &rc);
		if (n) {
			v = malloc(n->len + 1);
			if (v) {
				if (n->len)
					memcpy(v, n->value, n->len);
				v[n->len] = '\0';
				if (len)
					*len = n->len;
			} else {
				rc = -XEN_ENOMEM;
			}
		}
		pthread_mutex_unlock(&xs.lock);
	}
	if (err)
		*err = rc;
	return v;
}

static int xs_api_write_bytes(const char *path, const void *value,
			      unsigned int len)
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_ctx x = { 0 };
	int rc = xs_d0_path(path, abs, sizeof(abs));

	if (rc)
		return rc;
	if (len > XENSTORE_PAYLOAD_MAX)
		return -XEN_E2BIG;
	pthread_mutex_lock(&xs.lock);
	xs_start_locked();
	rc = xs_op_write(&x, abs, value, len);
	pthread_mutex_unlock(&xs.lock);
	return rc;
}

int hv_xs_write(const char *path, const char *value)
{
	return hv_xs_write_bytes(path, value, (unsigned int)strlen(value));
}

/* A domain-0 path operation of the API, under the store lock. */
static int xs_api_path_op(const char *path,
			  int (*op)(struct xs_ctx *x, const char *path))
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_ctx x = { 0 };
	int rc = xs_d0_path(path, abs, sizeof(abs));

	if (rc)
		return rc;
	pthread_mutex_lock(&xs.lock);
	xs_start_locked();
	rc = op(&x, abs);
	pthread_mutex_unlock(&xs.lock);
	return rc;
}

static int xs_api_mkdir(const char *path)
{
	return xs_api_path_op(path, xs_op_mkdir);
}

static int xs_api_rm(const char *path)
{
	return xs_api_path_op(path, xs_op_rm);
}

static char **xs_api_directory(const char *path, unsigned int *num, int *err)
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_ctx x = { 0 };
	struct xs_node *n, *k;
	char **v = NULL, *s;
	size_t bytes = 0;
	unsigned int cnt = 0, i = 0;
	int rc = xs_d0_path(path, abs, sizeof(abs));

	if (!rc) {
		pthread_mutex_lock(&xs.lock);
		n = xs_get(&x, abs, 'r', &rc);
		if (n) {
			for (k = n->child; k; k = k->next) {
				cnt++;
				bytes += strlen(k->name) + 1;
			}
			v = malloc((cnt + 1) * sizeof(char *) + bytes);
			if (v) {
				s = (char *)(v + cnt + 1);
				for (k = n->child; k; k = k->next) {
					v[i++] = s;
					strcpy(s, k->name);
					s += strlen(k->name) + 1;
				}
				v[cnt] = NULL;
				if (num)
					*num = cnt;
			} else {
				rc = -XEN_ENOMEM;
			}
		}
		pthread_mutex_unlock(&xs.lock);
	}
	if (err)
		*err = rc;
	return v;
}

static int xs_api_set_perms(const char *path, const struct hv_xs_perm *perms,
			    unsigned int n)
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_ctx x = { 0 };
	unsigned int i;
	int rc = xs_d0_path(path, abs, sizeof(abs));

	if (rc)
		return rc;
	for (i = 0; i < n; i++)
		if (!perms || !strchr("nrwb", perms[i].perm) || !perms[i].perm)
			return -XEN_EINVAL;
	pthread_mutex_lock(&xs.lock);
	xs_start_locked();
	rc = xs_op_set_perms(&x, abs, perms, n);
	pthread_mutex_unlock(&xs.lock);
	return rc;
}

static int xs_api_get_perms(const char *path, char *buf, unsigned int size)
{
	char abs[XENSTORE_ABS_PATH_MAX + 64];
	struct xs_ctx x = { 0 };
	struct xs_node *n;
	int rc = xs_d0_path(path, abs, sizeof(abs));

	if (rc)
		return rc;
	pthread_mutex_lock(&xs.lock);
	n = xs_get(&x, abs, 'r', &rc);
	if (n)
		rc = xs_perms_to_wire(n, buf, size);
	pthread_mutex_unlock(&xs.lock);
	return rc;
}

static int xs_api_watch(const char *path, const char *token, hv_xs_watch_fn fn,
			void *arg)
{
	struct xs_watch *w;
	int rc;

	if (!fn || !token || !path)
		return -XEN_EINVAL;
	if (path[0] != '/' && path[0] != '@')
		return -XEN_EINVAL;
	pthread_mutex_lock(&xs.lock);
	xs_start_locked();
	rc = xs_do_watch(NULL, path, token);
	if (!rc) {
		w = xs.watches;
		w->fn = fn;
		w->arg = arg;
		xs_send_event(w, w->path); /* the first firing */
	}
	pthread_mutex_unlock(&xs.lock);
	if (!rc)
		xs_wake();
	return rc;
}

/*
 * Mark dead, then wait until no callback of it runs (unless called from
 * the service thread, i.e. from a callback: that one finishes after us).
 */
static int xs_api_unwatch(const char *path, const char *token)
{
	struct xs_watch *w, *found = NULL;
	bool self = false;

	if (!path || !token)
		return -XEN_EINVAL;
	pthread_mutex_lock(&xs.lock);
	for (w = xs.watches; w; w = w->next) {
		if (!w->dead && !w->conn && !strcmp(w->path, path) &&
		    !strcmp(w->token, token)) {
			found = w;
			break;
		}
	}
	if (found) {
		__atomic_store_n(&found->dead, true, __ATOMIC_RELEASE);
		self = xs.started && pthread_equal(pthread_self(), xs.thread);
	}
	pthread_mutex_unlock(&xs.lock);
	if (!found)
		return -XEN_ENOENT;
	if (self)
		return 0;
	/* A callback that read dead == false before we set it may run on:
	 * wait until no domain-0 callback is running. */
	pthread_mutex_lock(&xs.wake_lock);
	while (__atomic_load_n(&xs.cb_running, __ATOMIC_SEQ_CST))
		pthread_cond_wait(&xs.pass_cond, &xs.wake_lock);
	pthread_mutex_unlock(&xs.wake_lock);
	pthread_mutex_lock(&xs.lock);
	xs_reap_watches();
	pthread_mutex_unlock(&xs.lock);
	return 0;
}

char *hv_xs_read(const char *path, unsigned int *len, int *err)
{
	struct hv_vcpu *v = xs_enter();
	char *r = xs_api_read(path, len, err);

	xs_leave(v);
	return r;
}

int hv_xs_write_bytes(const char *path, const void *value, unsigned int len)
{
	struct hv_vcpu *v = xs_enter();
	int r = xs_api_write_bytes(path, value, len);

	xs_leave(v);
	return r;
}

int hv_xs_mkdir(const char *path)
{
	struct hv_vcpu *v = xs_enter();
	int r = xs_api_mkdir(path);

	xs_leave(v);
	return r;
}

int hv_xs_rm(const char *path)
{
	struct hv_vcpu *v = xs_enter();
	int r = xs_api_rm(path);

	xs_leave(v);
	return r;
}

char **hv_xs_directory(const char *path, unsigned int *num, int *err)
{
	struct hv_vcpu *v = xs_enter();
	char **r = xs_api_directory(path, num, err);

	xs_leave(v);
	return r;
}

int hv_xs_set_perms(const char *path, const struct hv_xs_perm *perms,
		    unsigned int n)
{
	struct hv_vcpu *v = xs_enter();
	int r = xs_api_set_perms(path, perms, n);

	xs_leave(v);
	return r;
}

int hv_xs_get_perms(const char *path, char *buf, unsigned int size)
{
	struct hv_vcpu *v = xs_enter();
	int r = xs_api_get_perms(path, buf, size);

	xs_leave(v);
	return r;
}

int hv_xs_watch(const char *path, const char *token, hv_xs_watch_fn fn,
		void *arg)
{
	struct hv_vcpu *v = xs_enter();
	int r = xs_api_watch(path, token, fn, arg);

	xs_leave(v);
	return r;
}

int hv_xs_unwatch(const char *path, const char *token)
{
	struct hv_vcpu *v = xs_enter();
	int r = xs_api_unwatch(path, token);

	xs_leave(v);
	return r;
}
