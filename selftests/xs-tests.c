// SPDX-License-Identifier: GPL-2.0
/*
 * xenstore, xenbus and Xen-consumer event channel cases.  XT_HV only for
 * now: they drive hv's xenstored through its own API (hv-xs.h: hostile
 * modes, the fake backends, the domain-0 side) and the test kernel has no
 * xenstore connection yet, so on real Xen they are skipped.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include <hv.h>
#include <hv-guest.h>
#include <hv-xs.h>

#include <xenlite/clockevent.h>
#include <xenlite/idle.h>
#include <xenlite/xenbus.h>
#include <xenlite/xenstore.h>

#include "xt-util.h"

#define MS 1000000ULL
#define XS_F (XT_F_XENSTORE)

static enum xt_result xs_up(void)
{
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	return XT_PASS;
}

#define XS_UP()                               \
	do {                                  \
		enum xt_result up_ = xs_up(); \
		if (up_ != XT_PASS)           \
			return up_;           \
	} while (0)

/* /local/domain/<id>/<rel> */
static void dom_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "/local/domain/%u/%s", xt_domid(), rel);
}

/* --- Xen-consumer event channels ------------------------------------------ */

struct xc_count {
	uint64_t calls; /* atomic */
	uint32_t last_port;
	struct hv_domain *last_d;
};

static void xc_fn(struct hv_domain *d, uint32_t port, void *arg)
{
	struct xc_count *c = arg;

	__atomic_store_n(&c->last_port, port, __ATOMIC_RELAXED);
	__atomic_store_n(&c->last_d, d, __ATOMIC_RELAXED);
	__atomic_fetch_add(&c->calls, 1, __ATOMIC_SEQ_CST);
}

static uint64_t xc_calls(struct xc_count *c)
{
	return __atomic_load_n(&c->calls, __ATOMIC_SEQ_CST);
}

/*
 * bind_xen follows evtchn_bind_interdomain() from dom0: only a port
 * unbound to domain 0; the binder's side is raised once (fn called).
 */
static enum xt_result xen_bind_states(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xc_count c = { 0 };
	struct xt_rec r = { 0 };
	struct evtchn_status st;
	evtchn_port_t p0, pself, pipi;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(0, xt_rec_handler, &r, &p0), 0);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(xt_domid(), NULL, NULL, &pself),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, NULL, NULL, &pipi), 0);
	/* Not unbound to domain 0 / not unbound / not a port: -EINVAL. */
	XT_ASSERT_EQ(hv_evtchn_bind_xen(d, pself, xc_fn, &c), -XEN_EINVAL);
	XT_ASSERT_EQ(hv_evtchn_bind_xen(d, pipi, xc_fn, &c), -XEN_EINVAL);
	XT_ASSERT_EQ(hv_evtchn_bind_xen(d, 4000, xc_fn, &c), -XEN_EINVAL);
	XT_ASSERT_EQ(hv_evtchn_bind_xen(d, p0, NULL, &c), -XEN_EINVAL);
	XT_ASSERT_EQ(xc_calls(&c), 0);
	XT_ASSERT_EQ(hv_evtchn_bind_xen(d, p0, xc_fn, &c), 0);
	XT_ASSERT_EQ(xc_calls(&c), 1); /* the binder's port is raised */
	XT_ASSERT_EQ(c.last_port, p0);
	XT_ASSERT(c.last_d == d);
	/* Bound now: a second bind is refused. */
	XT_ASSERT_EQ(hv_evtchn_bind_xen(d, p0, xc_fn, &c), -XEN_EINVAL);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, p0, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.u.interdomain.dom, 0);
	XT_ASSERT(st.u.interdomain.port != 0);
	/* The service's close: back to unbound with remote domain 0. */
	hv_evtchn_unbind_xen(d, p0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, p0, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, 0);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(d, p0), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_send(p0), 0); /* unbound: dropped */
	XT_ASSERT_EQ(xc_calls(&c), 1);
	return XT_PASS;
}

/* Guest sends reach fn; hv_evtchn_notify_guest raises the guest port. */
static enum xt_result xen_send_notify(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xc_count c = { 0 };
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	unsigned int i;
	int port;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	/* The toolstack's way: the port exists before the guest binds it. */
	port = hv_evtchn_alloc_xen_unbound(d, xc_fn, &c);
	XT_ASSERT(port > 0);
	p = (evtchn_port_t)port;
	XT_ASSERT_EQ(xl_evtchn_bind_existing(p, xt_rec_handler, &r), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_existing(p, xt_rec_handler, &r),
		     -XEN_EBUSY);
	for (i = 0; i < 50; i++)
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xc_calls(&c), 50);
	XT_ASSERT_EQ(c.last_port, p);
	for (i = 0; i < 20; i++) {
		XT_ASSERT_EQ(hv_evtchn_notify_guest(d, p), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 1), i + 1);
	}
	XT_ASSERT_EQ(r.last_port, p);
	/* The guest's close: notify sees -EINVAL, fn is not called. */
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(d, p), -XEN_EINVAL);
	XT_ASSERT_EQ(xt_rec_settle(&r), 20);
	XT_ASSERT_EQ(xc_calls(&c), 50);
	return XT_PASS;
}

struct xc_storm {
	struct hv_domain *d;
	uint32_t port;
	int stop;	     /* atomic */
	uint64_t ok, inval;  /* notify results */
	uint64_t inval_seen; /* -EINVALs before the final close */
};

static bool storm_started(void *arg)
{
	struct xc_storm *s = arg;

	return __atomic_load_n(&s->ok, __ATOMIC_SEQ_CST) +
		       __atomic_load_n(&s->inval, __ATOMIC_SEQ_CST) >
	       0;
}

static bool storm_inval_more(void *arg)
{
	struct xc_storm *s = arg;

	return __atomic_load_n(&s->inval, __ATOMIC_SEQ_CST) > s->inval_seen;
}

static void *xc_storm_fn(void *arg)
{
	struct xc_storm *s = arg;

	while (!__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST)) {
		int rc = hv_evtchn_notify_guest(s->d, s->port);

		if (rc == 0)
			__atomic_fetch_add(&s->ok, 1, __ATOMIC_RELAXED);
		else if (rc == -XEN_EINVAL)
			__atomic_fetch_add(&s->inval, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/*
 * Notifies from a host thread race the guest's close and re-bind of the
 * port, 200 times: no crash or sanitizer report, every notify answered 0
 * or -EINVAL, and once the port is closed for good notify fails.
 */
static enum xt_result xen_close_race(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct xc_count c = { 0 };
	struct xc_storm s = { .d = d };
	struct xt_rec r = { 0 };
	uint64_t inval0;
	pthread_t t;
	unsigned int i;
	int port;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	port = hv_evtchn_alloc_xen_unbound(d, xc_fn, &c);
	XT_ASSERT(port > 0);
	s.port = (uint32_t)port;
	XT_ASSERT_EQ(pthread_create(&t, NULL, xc_storm_fn, &s), 0);
	/* The storm must be running before the race, whatever the load. */
	XT_ASSERT(xt_wait_until(storm_started, &s, XT_EVENT_TIMEOUT_NS));
	for (i = 0; i < 200; i++) {
		XT_ASSERT_EQ(
			xl_evtchn_bind_existing(s.port, xt_rec_handler, &r), 0);
		XT_ASSERT_EQ(xl_evtchn_send(s.port), 0);
		XT_ASSERT_EQ(xl_evtchn_close(s.port), 0);
		/* The same port again, reconnected by the "toolstack". */
		port = hv_evtchn_alloc_xen_unbound(d, xc_fn, &c);
		XT_ASSERT_EQ(port, (int)s.port);
	}
	XT_ASSERT_EQ(xl_evtchn_bind_existing(s.port, xt_rec_handler, &r), 0);
	XT_ASSERT_EQ(xl_evtchn_close(s.port), 0);
	/* Closed for good: the storm's notifies now fail (a fixed 2 ms
	 * saw none at all on a loaded CI machine: 0 ok, 0 -EINVAL). */
	inval0 = __atomic_load_n(&s.inval, __ATOMIC_SEQ_CST);
	s.inval_seen = inval0;
	xt_wait_until(storm_inval_more, &s, XT_EVENT_TIMEOUT_NS);
	__atomic_store_n(&s.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	xt_log("notify: %llu ok, %llu -EINVAL; %llu events",
	       (unsigned long long)s.ok, (unsigned long long)s.inval,
	       (unsigned long long)xt_rec_settle(&r));
	XT_ASSERT(s.inval > inval0);
	XT_ASSERT_EQ(hv_evtchn_notify_guest(d, s.port), -XEN_EINVAL);
	XT_ASSERT_EQ(xc_calls(&c), 200);
	return XT_PASS;
}

/* --- HVMOP_get_param ---------------------------------------------------------- */

static long get_param(domid_t dom, uint32_t index, uint64_t *val)
{
	struct xen_hvm_param p = { .domid = dom, .index = index };
	long rc = xl_hc_hvm_op(HVMOP_get_param, &p);

	*val = p.value;
	return rc;
}

/* hvmop_get_param() / hvm_allow_get_param() error codes, and the ring
 * page kept out of the guest's page allocator. */
static enum xt_result hvm_get_param(void)
{
	struct hv_domain *d = hv_guest_domain();
	uint64_t v;
	void **pages;
	unsigned int n = 0, i;
	bool hit = false;

	XT_ASSERT_EQ(get_param(DOMID_SELF, HVM_PARAM_STORE_PFN, &v), 0);
	XT_ASSERT_EQ((int64_t)v, hv_xs_domain_gfn(d));
	XT_ASSERT_EQ(v, HV_XS_RING_GFN(hv_domain_nr_pages(d)));
	XT_ASSERT_EQ(get_param(DOMID_SELF, HVM_PARAM_STORE_EVTCHN, &v), 0);
	XT_ASSERT_EQ((int)v, hv_xs_domain_port(d));
	XT_ASSERT(v > 0);
	XT_ASSERT_EQ(get_param(xt_domid(), HVM_PARAM_STORE_PFN, &v), 0);
	XT_ASSERT_EQ(get_param(DOMID_SELF, HVM_NR_PARAMS, &v), -XEN_EINVAL);
	/* params[CALLBACK_IRQ]: the vector the hv host registered. */
	XT_ASSERT_EQ(get_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &v), 0);
	XT_ASSERT_EQ(v >> 56, HVM_PARAM_CALLBACK_TYPE_VECTOR);
	XT_ASSERT(v > 0);
	XT_ASSERT(v < ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) + 256);
	XT_ASSERT_EQ(get_param(DOMID_SELF, HVM_PARAM_IDENT_PT, &v), -XEN_EPERM);
	XT_ASSERT_EQ(get_param(xt_peer_domid(), HVM_PARAM_STORE_PFN, &v),
		     -XEN_EPERM);
	XT_ASSERT_EQ(get_param(DOMID_FIRST_RESERVED - 1, HVM_PARAM_STORE_PFN,
			       &v),
		     -XEN_ESRCH);
	/* do_hvm_op(): "Bad HVM op" (no op 99 in 4.17). */
	XT_ASSERT_EQ(xl_hc_hvm_op(99, NULL), -XEN_ENOSYS);
	/* Every page the allocator has: the ring's gfn is never among them. */
	pages = calloc(hv_domain_nr_pages(d), sizeof(*pages));
	XT_ASSERT(pages);
	while ((pages[n] = xl_os_alloc_page()))
		if ((int64_t)xl_os_virt_to_gfn(pages[n++]) ==
		    hv_xs_domain_gfn(d))
			hit = true;
	for (i = 0; i < n; i++)
		xl_os_free_page(pages[i]);
	free(pages);
	xt_log("%u pages allocated", n);
	XT_ASSERT(!hit);
	XT_ASSERT(n > 100);
	return XT_PASS;
}

/* A domain without cfg.xenstore: store params read 0, no client. */
static enum xt_result hvm_no_xenstore(void)
{
	uint64_t v = 1;

	XT_ASSERT_EQ(get_param(DOMID_SELF, HVM_PARAM_STORE_PFN, &v), 0);
	XT_ASSERT_EQ(v, 0);
	XT_ASSERT_EQ(hv_xs_domain_port(hv_guest_domain()), -1);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_xs_init(), -XEN_ENODEV);
	XT_ASSERT_EQ(xl_xs_write(0, "x", "1"), -XEN_ENODEV);
	return XT_PASS;
}

/* --- basic operations ------------------------------------------------------------ */

static enum xt_result xs_basic(void)
{
	char buf[256], abs[128];
	size_t len;
	unsigned long u;
	int n;

	XS_UP();
	/* The node hv made at introduction. */
	XT_ASSERT_EQ(xl_xs_read(0, "domid", buf, sizeof(buf), &len), 0);
	XT_ASSERT_EQ(strtoul(buf, NULL, 10), xt_domid());
	XT_ASSERT_EQ(xl_xs_read_uint(0, "domid", &u), 0);
	XT_ASSERT_EQ(u, xt_domid());
	/* Relative and absolute names reach the same node. */
	XT_ASSERT_EQ(xl_xs_write(0, "data/a", "hello"), 0);
	dom_path(abs, sizeof(abs), "data/a");
	XT_ASSERT_EQ(xl_xs_read(0, abs, buf, sizeof(buf), &len), 0);
	XT_ASSERT_EQ(len, 5);
	XT_ASSERT(!strcmp(buf, "hello"));
	XT_ASSERT_EQ(xl_xs_read(0, "data/a", buf, 5, &len), -XEN_ENOSPC);
	XT_ASSERT_EQ(len, 5);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "data/a", &u), -XEN_EINVAL);
	/* Overwrite, empty value, bytes with NULs. */
	XT_ASSERT_EQ(xl_xs_write(0, "data/a", ""), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "data/a", buf, sizeof(buf), &len), 0);
	XT_ASSERT_EQ(len, 0);
	XT_ASSERT_EQ(xl_xs_write_bytes(0, "data/b", "x\0y", 3), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "data/b", buf, sizeof(buf), &len), 0);
	XT_ASSERT_EQ(len, 3);
	XT_ASSERT(!memcmp(buf, "x\0y", 3));
	XT_ASSERT_EQ(xl_xs_printf(0, "data/c", "%u-%s-%x", 42u, "z", 255u), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "data/c", buf, sizeof(buf), &len), 0);
	XT_ASSERT(!strcmp(buf, "42-z-ff"));
	/* mkdir: a node with no value; existing is fine. */
	XT_ASSERT_EQ(xl_xs_mkdir(0, "data/d/e"), 0);
	XT_ASSERT_EQ(xl_xs_mkdir(0, "data/d/e"), 0);
	n = xl_xs_directory(0, "data", buf, sizeof(buf));
	XT_ASSERT_EQ(n, 4);
	XT_ASSERT(!memcmp(buf, "a\0b\0c\0d\0", 8));
	XT_ASSERT_EQ(xl_xs_directory(0, "data/d/e", buf, sizeof(buf)), 0);
	/* rm: a subtree; of a missing node whose parent exists: fine. */
	XT_ASSERT_EQ(xl_xs_rm(0, "data/d"), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "data/d/e", buf, sizeof(buf), NULL),
		     -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_rm(0, "data/d"), 0);
	XT_ASSERT_EQ(xl_xs_rm(0, "data/nope/x"), -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_directory(0, "data", buf, sizeof(buf)), 3);
	/* What the guest wrote, hv (domain 0) sees. */
	{
		char *v = hv_xs_read(abs, NULL, NULL);

		XT_ASSERT(v && !strcmp(v, ""));
		free(v);
	}
	/* Names xenstored refuses; nodes it may not touch. */
	XT_ASSERT_EQ(xl_xs_write(0, "bad//name", "1"), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_write(0, "trailing/", "1"), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_write(0, "sp ace", "1"), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_write(0, "/local/domain/0/evil", "1"), -XEN_EACCES);
	XT_ASSERT_EQ(xl_xs_read(0, "/local/domain/0", buf, sizeof(buf), NULL),
		     -XEN_EACCES);
	XT_ASSERT_EQ(xl_xs_rm(0, "/"), -XEN_EACCES);
	/* GET_PERMS: owned by us, nothing for others. */
	n = xl_xs_get_perms(0, "data/a", buf, sizeof(buf));
	snprintf(abs, sizeof(abs), "n%u", xt_domid());
	XT_ASSERT_EQ(n, (int)strlen(abs) + 1);
	XT_ASSERT(!strcmp(buf, abs));
	return XT_PASS;
}

/* Permissions hv sets for us (what a backend does for its frontend). */
static enum xt_result xs_perms(void)
{
	struct hv_xs_perm p[2] = { { 0, 'n' }, { xt_domid(), 'r' } };
	char path[96], buf[64];

	XS_UP();
	snprintf(path, sizeof(path), "/local/domain/0/backend/test/%u/0/x",
		 xt_domid());
	XT_ASSERT_EQ(hv_xs_write(path, "v"), 0);
	XT_ASSERT_EQ(xl_xs_read(0, path, buf, sizeof(buf), NULL), -XEN_EACCES);
	XT_ASSERT_EQ(hv_xs_set_perms(path, p, 2), 0);
	XT_ASSERT_EQ(xl_xs_read(0, path, buf, sizeof(buf), NULL), 0);
	XT_ASSERT(!strcmp(buf, "v"));
	XT_ASSERT_EQ(xl_xs_write(0, path, "w"), -XEN_EACCES);
	XT_ASSERT_EQ(xl_xs_get_perms(0, path, buf, sizeof(buf)), 6);
	XT_ASSERT(!memcmp(buf, "n0\0r", 4));
	/* The backends of a domain go with it (hv_xs_release); ours is
	 * removed here by hand to leave nothing behind either way. */
	snprintf(path, sizeof(path), "/local/domain/0/backend/test/%u",
		 xt_domid());
	XT_ASSERT_EQ(hv_xs_rm(path), 0);
	return XT_PASS;
}

/* Values up to what fits in XENSTORE_PAYLOAD_MAX with the path. */
static enum xt_result xs_big_values(void)
{
	static const unsigned int extra[] = { 0, 1, 2, 100, 1023, 1024, 1025 };
	const char *path = "big";
	size_t max = XENSTORE_PAYLOAD_MAX - strlen(path) - 1, len;
	char *v = malloc(XENSTORE_PAYLOAD_MAX + 2);
	char *r = malloc(XENSTORE_PAYLOAD_MAX + 2);
	char abs[96];
	unsigned int i, k;
	int rc;

	XS_UP();
	XT_ASSERT(v && r);
	for (i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
		size_t n = max - extra[i];

		for (k = 0; k < n; k++)
			v[k] = (char)('a' + (k * 7 + i) % 26);
		rc = xl_xs_write_bytes(0, path, v, n);
		XT_ASSERT_MSG(rc == 0, "write %zu: %d", n, rc);
		memset(r, 0, XENSTORE_PAYLOAD_MAX + 2);
		rc = xl_xs_read(0, path, r, XENSTORE_PAYLOAD_MAX + 1, &len);
		XT_ASSERT_MSG(rc == 0 && len == n && !memcmp(r, v, n),
			      "read %zu: %d, %zu bytes", n, rc, len);
	}
	/* One byte more than fits: refused before it reaches the ring. */
	XT_ASSERT_EQ(xl_xs_write_bytes(0, path, v, max + 1), -XEN_E2BIG);
	/* A reply of the full XENSTORE_PAYLOAD_MAX (four ring-fulls). */
	for (k = 0; k < XENSTORE_PAYLOAD_MAX; k++)
		v[k] = (char)('A' + k % 23);
	dom_path(abs, sizeof(abs), "big");
	XT_ASSERT_EQ(hv_xs_write_bytes(abs, v, XENSTORE_PAYLOAD_MAX), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "big", r, XENSTORE_PAYLOAD_MAX + 1, &len),
		     0);
	XT_ASSERT_EQ(len, XENSTORE_PAYLOAD_MAX);
	XT_ASSERT(!memcmp(r, v, XENSTORE_PAYLOAD_MAX));
	free(v);
	free(r);
	return XT_PASS;
}

/* --- transactions ------------------------------------------------------------------ */

struct tx_inc {
	char path[96];		/* absolute, for the interfering writer */
	unsigned int runs;	/* body runs */
	unsigned int interfere; /* runs in which hv writes meanwhile */
};

/* counter += 1 inside the transaction; hv writes it meanwhile at first. */
static int tx_inc_body(xl_xs_tx_t tx, void *arg)
{
	struct tx_inc *t = arg;
	unsigned long v;
	int rc = xl_xs_read_uint(tx, "counter", &v);

	if (rc)
		return rc;
	if (t->runs++ < t->interfere) {
		char val[16];

		snprintf(val, sizeof(val), "%lu", v + 100);
		if (hv_xs_write(t->path, val))
			return -XEN_EIO;
	}
	return xl_xs_printf(tx, "counter", "%lu", v + 1);
}

static enum xt_result xs_transactions(void)
{
	struct tx_inc t = { .interfere = 2 };
	xl_xs_tx_t tx, tx2;
	unsigned long v;
	unsigned int tries;
	char buf[32];

	XS_UP();
	dom_path(t.path, sizeof(t.path), "counter");
	XT_ASSERT_EQ(xl_xs_write(0, "counter", "5"), 0);
	/* Isolation: not visible outside before the commit. */
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
	XT_ASSERT(tx != 0);
	XT_ASSERT_EQ(xl_xs_write(tx, "counter", "6"), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(tx, "counter", &v), 0);
	XT_ASSERT_EQ(v, 6);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "counter", &v), 0);
	XT_ASSERT_EQ(v, 5);
	XT_ASSERT_EQ(xl_xs_write(tx, "txonly", "1"), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "txonly", buf, sizeof(buf), NULL),
		     -XEN_ENOENT);
	/* Abort drops it all. */
	XT_ASSERT_EQ(xl_xs_transaction_end(tx, true), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "counter", &v), 0);
	XT_ASSERT_EQ(v, 5);
	XT_ASSERT_EQ(xl_xs_read(0, "txonly", buf, sizeof(buf), NULL),
		     -XEN_ENOENT);
	/* A finished transaction id is unknown. */
	XT_ASSERT_EQ(xl_xs_transaction_end(tx, false), -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_write(tx, "counter", "1"), -XEN_ENOENT);
	/* Conflict: a node the transaction read changed -> EAGAIN, and
	 * the other writer's value stays. */
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(tx, "counter", &v), 0);
	XT_ASSERT_EQ(hv_xs_write(t.path, "77"), 0);
	XT_ASSERT_EQ(xl_xs_write(tx, "counter", "6"), 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx, false), -XEN_EAGAIN);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "counter", &v), 0);
	XT_ASSERT_EQ(v, 77);
	/* Two transactions on one node: the first commit wins. */
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx2), 0);
	XT_ASSERT(tx != tx2);
	XT_ASSERT_EQ(xl_xs_write(tx, "counter", "1"), 0);
	XT_ASSERT_EQ(xl_xs_write(tx2, "counter", "2"), 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx2, false), 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx, false), -XEN_EAGAIN);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "counter", &v), 0);
	XT_ASSERT_EQ(v, 2);
	/* The retry helper: two interfered attempts, the third commits:
	 * 2 -> (hv 102) -> (hv 202) -> 203. */
	XT_ASSERT_EQ(xl_xs_transaction_run(tx_inc_body, &t, 0, &tries), 0);
	XT_ASSERT_EQ(tries, 3);
	XT_ASSERT_EQ(t.runs, 3);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "counter", &v), 0);
	XT_ASSERT_EQ(v, 203);
	/* Out of tries: EAGAIN, and the last interfering value stays. */
	t.runs = 0;
	t.interfere = 5;
	XT_ASSERT_EQ(xl_xs_transaction_run(tx_inc_body, &t, 3, &tries),
		     -XEN_EAGAIN);
	XT_ASSERT_EQ(tries, 3);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "counter", &v), 0);
	XT_ASSERT_EQ(v, 503);
	return XT_PASS;
}

/* Both vCPUs increment one counter in transactions: no update is lost. */
#define TXC_N 100

struct txc {
	unsigned int tries; /* attempts over all increments */
	int err;
};

static int txc_body(xl_xs_tx_t tx, void *arg)
{
	unsigned long v;
	int rc = xl_xs_read_uint(tx, "txc", &v);

	(void)arg;
	if (rc)
		return rc;
	return xl_xs_printf(tx, "txc", "%lu", v + 1);
}

static void txc_fn(void *p)
{
	struct txc *t = p;
	unsigned int i, n;

	for (i = 0; i < TXC_N && !t->err; i++) {
		t->err = xl_xs_transaction_run(txc_body, NULL, 10000, &n);
		t->tries += n;
	}
}

static enum xt_result xs_tx_concurrent(void)
{
	struct txc t[2] = { { 0 }, { 0 } };
	struct hv_xs_stats hs;
	unsigned long v;

	XS_UP();
	XT_ASSERT_EQ(xl_xs_write(0, "txc", "0"), 0);
	xt_start_on(1, txc_fn, &t[1]);
	txc_fn(&t[0]);
	xt_wait_on(1);
	XT_ASSERT_EQ(t[0].err, 0);
	XT_ASSERT_EQ(t[1].err, 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "txc", &v), 0);
	XT_ASSERT_EQ(v, 2 * TXC_N);
	hv_xs_get_stats(hv_guest_domain(), &hs);
	xt_log("%u attempts for %u increments, %llu conflicts",
	       t[0].tries + t[1].tries, 2 * TXC_N,
	       (unsigned long long)hs.tx_conflicts);
	/* Every attempt beyond the first of an increment was a conflict. */
	XT_ASSERT_EQ(t[0].tries + t[1].tries - 2 * TXC_N, hs.tx_conflicts);
	return XT_PASS;
}

/* --- watches ------------------------------------------------------------------------- */

struct wrec {
	unsigned int n;
	char last[128];
	char all[16][128];
};

static void wrec_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	struct wrec *r = arg;

	(void)w;
	snprintf(r->last, sizeof(r->last), "%s", path);
	if (r->n < 16)
		snprintf(r->all[r->n], sizeof(r->all[0]), "%s", path);
	r->n++;
}

struct wait_n {
	struct wrec *r;
	unsigned int n;
};

static bool wrec_reached(void *arg)
{
	struct wait_n *w = arg;

	xl_xs_run_watches();
	return w->r->n >= w->n;
}

/* Run callbacks until r->n >= n or 2 s pass; returns r->n. */
static unsigned int wrec_wait(struct wrec *r, unsigned int n)
{
	struct wait_n w = { r, n };

	xt_wait_until(wrec_reached, &w, 2000 * MS);
	xt_sleep_ns(5 * MS);
	xl_xs_run_watches();
	return r->n;
}

static enum xt_result xs_watches(void)
{
	struct xl_xs_watch w, w2;
	struct wrec r = { 0 }, r2 = { 0 };
	char abs[96];

	XS_UP();
	XT_ASSERT_EQ(xl_xs_watch(&w, "wdir", wrec_fn, &r), 0);
	/* Fired once on registration, with the path as registered. */
	XT_ASSERT_EQ(wrec_wait(&r, 1), 1);
	XT_ASSERT(!strcmp(r.last, "wdir"));
	/* A change at the path and below it. */
	XT_ASSERT_EQ(xl_xs_write(0, "wdir", "1"), 0);
	XT_ASSERT_EQ(wrec_wait(&r, 2), 2);
	XT_ASSERT(!strcmp(r.last, "wdir"));
	XT_ASSERT_EQ(xl_xs_write(0, "wdir/sub/x", "1"), 0);
	XT_ASSERT_EQ(wrec_wait(&r, 3), 3);
	XT_ASSERT(!strcmp(r.last, "wdir/sub/x"));
	/* Not for a sibling with a common prefix. */
	XT_ASSERT_EQ(xl_xs_write(0, "wdirx", "1"), 0);
	XT_ASSERT_EQ(wrec_wait(&r, 4), 3);
	/* Domain 0 changing it counts too; absolute watch paths stay
	 * absolute. */
	dom_path(abs, sizeof(abs), "wdir/sub/x");
	XT_ASSERT_EQ(xl_xs_watch(&w2, abs, wrec_fn, &r2), 0);
	XT_ASSERT_EQ(wrec_wait(&r2, 1), 1);
	XT_ASSERT_EQ(hv_xs_write(abs, "2"), 0);
	XT_ASSERT_EQ(wrec_wait(&r, 4), 4);
	XT_ASSERT(!strcmp(r.last, "wdir/sub/x"));
	XT_ASSERT_EQ(wrec_wait(&r2, 2), 2);
	XT_ASSERT(!strcmp(r2.last, abs));
	/* rm of the parent: the watch on the removed child fires. */
	XT_ASSERT_EQ(xl_xs_rm(0, "wdir/sub"), 0);
	XT_ASSERT_EQ(wrec_wait(&r2, 3), 3);
	XT_ASSERT_EQ(wrec_wait(&r, 5), 5);
	XT_ASSERT(!strcmp(r.last, "wdir/sub"));
	/* unwatch: no more events. */
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "wdir", "3"), 0);
	XT_ASSERT_EQ(hv_xs_write(abs, "4"), 0);
	XT_ASSERT_EQ(wrec_wait(&r2, 4), 4);
	XT_ASSERT_EQ(r.n, 5);
	XT_ASSERT_EQ(xl_xs_unwatch(&w2), 0);
	XT_ASSERT_EQ(xl_xs_unwatch(&w2), -XEN_EINVAL);
	return XT_PASS;
}

/* Many watches firing at once: more events than the queue holds are
 * coalesced per watch, never lost. */
static enum xt_result xs_watch_flood(void)
{
	enum { NW = 8, NWRITES = 300 };
	struct xl_xs_watch w[NW];
	struct wrec r[NW];
	struct xl_xs_stats st;
	char path[160];
	unsigned int i, k;

	XS_UP();
	memset(r, 0, sizeof(r));
	for (i = 0; i < NW; i++) {
		snprintf(path, sizeof(path), "flood/%u", i);
		XT_ASSERT_EQ(xl_xs_watch(&w[i], path, wrec_fn, &r[i]), 0);
	}
	xl_xs_run_watches();
	for (i = 0; i < NW; i++)
		r[i].n = 0;
	/* hv writes while the guest runs no callbacks. */
	for (k = 0; k < NWRITES; k++) {
		for (i = 0; i < NW; i++) {
			char a[256], v[16];

			snprintf(path, sizeof(path), "flood/%u/%060u", i, k);
			dom_path(a, sizeof(a), path);
			snprintf(v, sizeof(v), "%u", k);
			XT_ASSERT_EQ(hv_xs_write(a, v), 0);
		}
	}
	/* A write of ours behind them all: once it is done, every event
	 * before it has reached the queue. */
	XT_ASSERT_EQ(xl_xs_write(0, "flood-end", "1"), 0);
	xl_xs_get_stats(&st);
	xl_xs_run_watches();
	xt_log("events %llu, lost to a full queue %llu",
	       (unsigned long long)st.events,
	       (unsigned long long)st.events_lost);
	XT_ASSERT(st.events_lost > 0);
	for (i = 0; i < NW; i++) {
		XT_ASSERT_MSG(r[i].n >= 1 && r[i].n <= NWRITES,
			      "watch %u ran %u times", i, r[i].n);
		XT_ASSERT_EQ(xl_xs_unwatch(&w[i]), 0);
	}
	return XT_PASS;
}

/*
 * The watch event queue (16 KiB of records: u16, u16, token, path) at
 * its bound: events whose records fill it to the last byte are all
 * kept, each run with its own path; the same with one byte more loses
 * the last one, and that watch's callback runs once for its own path
 * instead.  No callback runs while it fills (hv writes, the guest only
 * takes the events in).  Then an event for a token no watch has: taken
 * in and dropped, nothing left pending.
 */
#define EVQ_BYTES 16384U

struct evq_rec {
	unsigned int n, bad;
	char path[EVQ_BYTES / 8][128];
	unsigned int want;
};

static void evq_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	struct evq_rec *r = arg;

	(void)w;
	if (r->n < r->want && strcmp(path, r->path[r->n]))
		r->bad++;
	r->n++;
}

static enum xt_result evq_fill(unsigned int extra)
{
	static struct evq_rec r;
	struct xl_xs_watch w = { 0 };
	struct xl_xs_stats s0, s1;
	struct hv_xs_hostile h = { 0 };
	char dir[64], node[128];
	unsigned int fixed, left, i = 0, k, n;
	uint64_t ran;

	memset(&r, 0, sizeof(r));
	dom_path(dir, sizeof(dir), "evq");
	XT_ASSERT_EQ(xl_xs_mkdir(0, "evq"), 0);
	XT_ASSERT_EQ(xl_xs_watch(&w, dir, evq_fn, &r), 0);
	/* The registration's event: the watch's own path. */
	fixed = 4 + (unsigned int)strlen(w.token);
	snprintf(r.path[i++], sizeof(r.path[0]), "%s", dir);
	left = EVQ_BYTES + extra - (fixed + (unsigned int)strlen(dir));
	/* dir/NAME, NAME of 1 .. 30 characters, until left is used up. */
	while (left) {
		unsigned int base = fixed + (unsigned int)strlen(dir) + 1;

		k = left - base > 30 ? 30 : left - base;
		if (left - base > 30 && left - base - 30 < base + 1)
			k = left - base - (base + 1);
		XT_ASSERT(k >= 1 && k <= 60);
		n = (unsigned int)strlen(dir);
		memcpy(node, dir, n);
		node[n] = '/';
		memset(node + n + 1, 'a' + i % 26, k);
		node[n + 1 + k] = '\0';
		memcpy(r.path[i++], node, n + 2 + k);
		left -= fixed + (unsigned int)strlen(node);
		XT_ASSERT(i < EVQ_BYTES / 8);
	}
	r.want = i;
	xl_xs_get_stats(&s0);
	for (k = 1; k < i; k++)
		XT_ASSERT_EQ(hv_xs_write(r.path[k], "v"), 0);
	/* Behind them all in the ring: every event before it is in. */
	XT_ASSERT_EQ(xl_xs_write(0, "evq-end", "1"), 0);
	xl_xs_get_stats(&s1);
	XT_ASSERT_EQ(r.n, 0);
	XT_ASSERT_EQ(s1.events - s0.events, i - 1);
	XT_ASSERT_EQ(s1.events_lost - s0.events_lost, extra ? 1 : 0);
	ran = xl_xs_run_watches();
	xt_log("%u records, %u bytes more than the queue: %llu callbacks", i,
	       extra, (unsigned long long)ran);
	if (!extra) {
		XT_ASSERT_EQ(ran, i);
		XT_ASSERT_EQ(r.n, i);
		XT_ASSERT_EQ(r.bad, 0);
	} else {
		/* All but the last in order, then the overflow's own path. */
		XT_ASSERT_EQ(ran, i);
		XT_ASSERT_EQ(r.bad, 1);
		XT_ASSERT_EQ(w.overflow, 0);
	}
	XT_ASSERT(!xl_xs_watches_pending());
	XT_ASSERT_EQ(xl_xs_run_watches(), 0);

	/* An event without its token: dropped as bad, the next one kept. */
	xl_xs_get_stats(&s0);
	h.event_no_token = 1;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(hv_xs_write(r.path[1], "w"), 0);
	XT_ASSERT_EQ(hv_xs_write(r.path[2], "w"), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "evq-end", "3"), 0);
	xl_xs_get_stats(&s1);
	XT_ASSERT_EQ(s1.bad_replies - s0.bad_replies, 1);
	XT_ASSERT_EQ(s1.events - s0.events, 1);
	r.n = 0;
	r.want = 1;
	memcpy(r.path[0], r.path[2], sizeof(r.path[0]));
	XT_ASSERT_EQ(xl_xs_run_watches(), 1);
	XT_ASSERT_EQ(r.bad, extra ? 1 : 0);
	h.event_no_token = 0;

	/* Events for a token nobody has: dropped, nothing pending. */
	xl_xs_get_stats(&s0);
	strcpy(h.flood_path, "evq/nobody");
	strcpy(h.flood_token, "xlffff");
	h.flood = true;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	xt_sleep_ns(20 * MS);
	h.flood = false;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(xl_xs_write(0, "evq-end", "2"), 0);
	xl_xs_get_stats(&s1);
	xt_log("%llu events for no watch",
	       (unsigned long long)(s1.events - s0.events));
	XT_ASSERT(s1.events - s0.events > 0);
	XT_ASSERT_EQ(s1.events_lost, s0.events_lost);
	XT_ASSERT(!xl_xs_watches_pending());
	XT_ASSERT_EQ(xl_xs_run_watches(), 0);
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	return XT_PASS;
}

/*
 * Two watches losing events to a full queue: each one's callback runs
 * once for its own path when the queue is run, the second one too (the
 * overflow flag is set again after the first), and with that path whole
 * (it is shorter than the event paths before it).
 */
struct ov_rec {
	unsigned int n, own;
	char want[64];
	char last[160];
};

static void ov_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	struct ov_rec *r = arg;

	(void)w;
	r->n++;
	r->own += !strcmp(path, r->want);
	snprintf(r->last, sizeof(r->last), "%s", path);
}

static enum xt_result xs_evq_two_over(void)
{
	static struct ov_rec a, b;
	struct xl_xs_watch wa = { 0 }, wb = { 0 };
	struct xl_xs_stats s0, s1;
	char node[160];
	unsigned int i;

	XS_UP();
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	dom_path(a.want, sizeof(a.want), "ova");
	dom_path(b.want, sizeof(b.want), "ovb");
	XT_ASSERT_EQ(xl_xs_mkdir(0, "ova"), 0);
	XT_ASSERT_EQ(xl_xs_mkdir(0, "ovb"), 0);
	XT_ASSERT_EQ(xl_xs_watch(&wa, a.want, ov_fn, &a), 0);
	XT_ASSERT_EQ(xl_xs_watch(&wb, b.want, ov_fn, &b), 0);
	XT_ASSERT_EQ(xl_xs_run_watches(), 2);
	a.n = a.own = b.n = b.own = 0;
	xl_xs_get_stats(&s0);
	/* 300 records of about 100 bytes: the 16 KiB queue overflows. */
	for (i = 0; i < 300; i++) {
		snprintf(node, sizeof(node), "%s/%070u", a.want, i);
		XT_ASSERT_EQ(hv_xs_write(node, "v"), 0);
	}
	/* Longer than any of a's: it does not fit where a's last did not. */
	snprintf(node, sizeof(node), "%s/%090u", b.want, 0U);
	XT_ASSERT_EQ(hv_xs_write(node, "v"), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "ov-end", "1"), 0);
	xl_xs_get_stats(&s1);
	xt_log("%llu events, %llu lost",
	       (unsigned long long)(s1.events - s0.events),
	       (unsigned long long)(s1.events_lost - s0.events_lost));
	XT_ASSERT_EQ(s1.events - s0.events, 301);
	XT_ASSERT(s1.events_lost - s0.events_lost >= 2);
	xl_xs_run_watches();
	/* a: the events kept, then one run for its own path; b: only that. */
	XT_ASSERT_EQ(a.own, 1);
	XT_ASSERT_EQ(a.n, 300 - (s1.events_lost - s0.events_lost - 1) + 1);
	XT_ASSERT_EQ(b.n, 1);
	XT_ASSERT_MSG(b.own == 1, "watch b ran for '%s'", b.last);
	XT_ASSERT(!xl_xs_watches_pending());
	XT_ASSERT_EQ(xl_xs_unwatch(&wa), 0);
	XT_ASSERT_EQ(xl_xs_unwatch(&wb), 0);
	return XT_PASS;
}

static enum xt_result xs_evq_exact(void)
{
	XS_UP();
	return evq_fill(0);
}

static enum xt_result xs_evq_one_over(void)
{
	XS_UP();
	return evq_fill(1);
}

/* An idle vCPU wakes for a watch event another vCPU's upcall queued. */
struct idle_watch {
	struct wrec r;
	struct xl_xs_watch w;
	unsigned int woke;
	int rc;
};

static void idle_watch_fn(void *arg)
{
	struct idle_watch *iw = arg;

	while (iw->r.n < 2) {
		xl_xs_idle_until(NULL, NULL);
		iw->woke++;
		xl_xs_run_watches();
	}
}

static enum xt_result xs_idle_wakeup(void)
{
	struct idle_watch iw = { 0 };
	char abs[96];

	XS_UP();
	XT_ASSERT_EQ(xl_xs_watch(&iw.w, "idle", wrec_fn, &iw.r), 0);
	xt_start_on(1, idle_watch_fn, &iw);
	xt_sleep_ns(20 * MS);
	dom_path(abs, sizeof(abs), "idle");
	XT_ASSERT_EQ(hv_xs_write(abs, "go"), 0);
	xt_wait_on(1);
	XT_ASSERT_EQ(iw.r.n, 2);
	XT_ASSERT(iw.woke >= 1);
	XT_ASSERT_EQ(xl_xs_unwatch(&iw.w), 0);
	return XT_PASS;
}

/* --- concurrency --------------------------------------------------------------------- */

#define CC_N 300

struct cc_arg {
	unsigned int cpu;
	unsigned int ok;
	int err;
};

static void cc_fn(void *p)
{
	struct cc_arg *a = p;
	char path[64], val[64], buf[64];
	unsigned int i;
	size_t len;

	for (i = 0; i < CC_N; i++) {
		int rc;

		snprintf(path, sizeof(path), "cc/%u/%u", a->cpu, i);
		snprintf(val, sizeof(val), "v%u-%u-%u", a->cpu, i, i * 31);
		rc = xl_xs_write(0, path, val);
		if (!rc)
			rc = xl_xs_read(0, path, buf, sizeof(buf), &len);
		if (!rc && (len != strlen(val) || strcmp(buf, val)))
			rc = -1000;
		if (rc) {
			a->err = rc;
			return;
		}
		a->ok++;
	}
}

static enum xt_result xs_concurrent(void)
{
	struct cc_arg a[2] = { { .cpu = 0 }, { .cpu = 1 } };
	struct xl_xs_stats st;
	struct hv_xs_stats hs;
	char *buf = malloc(16384);
	unsigned int c;

	XS_UP();
	XT_ASSERT(buf);
	xt_start_on(1, cc_fn, &a[1]);
	cc_fn(&a[0]);
	xt_wait_on(1);
	for (c = 0; c < 2; c++) {
		XT_ASSERT_MSG(a[c].err == 0, "vCPU %u: %d", c, a[c].err);
		XT_ASSERT_EQ(a[c].ok, CC_N);
	}
	XT_ASSERT_EQ(xl_xs_directory(0, "cc/0", buf, 16384), CC_N);
	XT_ASSERT_EQ(xl_xs_directory(0, "cc/1", buf, 16384), CC_N);
	xl_xs_get_stats(&st);
	hv_xs_get_stats(hv_guest_domain(), &hs);
	/* Exact accounting: init's none, 2 x 2 x CC_N, the 2 directories. */
	XT_ASSERT_EQ(st.requests, 4 * CC_N + 2);
	XT_ASSERT_EQ(st.replies, 4 * CC_N + 2);
	XT_ASSERT_EQ(st.bad_replies, 0);
	XT_ASSERT_EQ(hs.requests, 4 * CC_N + 2);
	XT_ASSERT_EQ(hs.replies, 4 * CC_N + 2);
	free(buf);
	return XT_PASS;
}

/* The ring full (xenstored paused) with requests from 2 vCPUs queued. */
static void ring_full_fn(void *p)
{
	struct cc_arg *a = p;
	char *v = malloc(3000);

	memset(v, 'q', 2999);
	v[2999] = '\0';
	a->err = xl_xs_write(0, "rf/1", v);
	free(v);
}

static enum xt_result xs_ring_full(void)
{
	struct cc_arg a = { .cpu = 1 };
	struct xl_xs_stats st;
	char *v = malloc(3000), *r = malloc(3001);
	size_t len;

	XS_UP();
	XT_ASSERT(v && r);
	hv_xs_pause(hv_guest_domain(), true);
	xt_start_on(1, ring_full_fn, &a);
	xt_sleep_ns(20 * MS);
	hv_xs_pause(hv_guest_domain(), false);
	memset(v, 'p', 2999);
	v[2999] = '\0';
	XT_ASSERT_EQ(xl_xs_write(0, "rf/0", v), 0);
	xt_wait_on(1);
	XT_ASSERT_EQ(a.err, 0);
	XT_ASSERT_EQ(xl_xs_read(0, "rf/1", r, 3001, &len), 0);
	XT_ASSERT_EQ(len, 2999);
	XT_ASSERT(r[0] == 'q' && r[2998] == 'q');
	XT_ASSERT_EQ(xl_xs_read(0, "rf/0", r, 3001, &len), 0);
	XT_ASSERT(r[0] == 'p' && r[2998] == 'p');
	xl_xs_get_stats(&st);
	XT_ASSERT(st.ring_waits > 0);
	free(v);
	free(r);
	return XT_PASS;
}

/*
 * A xenstored that stops answering: with a 50 ms timeout the read fails
 * with -XEN_ETIMEDOUT in about that time, not for good; once xenstored
 * answers again, the late reply is dropped (stale) and the next requests
 * get their own replies, the timed-out write having taken effect.
 */
static enum xt_result xs_timeout(void)
{
	uint64_t old = xl_xs_get_timeout(), t0, took;
	struct xl_xs_stats s0, s1;
	char buf[64];
	size_t len;
	int rc;

	XS_UP();
	XT_ASSERT_EQ(xl_xs_write(0, "to/a", "one"), 0);
	xl_xs_get_stats(&s0);
	xl_xs_set_timeout(50 * MS);
	hv_xs_pause(hv_guest_domain(), true);
	t0 = xt_now_ns();
	rc = xl_xs_write(0, "to/a", "two");
	took = xt_now_ns() - t0;
	XT_ASSERT_EQ(rc, -XEN_ETIMEDOUT);
	rc = xl_xs_read(0, "to/a", buf, sizeof(buf), &len);
	xl_xs_set_timeout(old);
	hv_xs_pause(hv_guest_domain(), false);
	XT_ASSERT_EQ(rc, -XEN_ETIMEDOUT);
	xt_log("write timed out after %llu us",
	       (unsigned long long)(took / 1000));
	XT_ASSERT(took >= 50 * MS && took < 5000 * MS);
	/* The write went out and is done; the two late replies dropped. */
	XT_ASSERT_EQ(xl_xs_read(0, "to/a", buf, sizeof(buf), &len), 0);
	XT_ASSERT_EQ(len, 3);
	XT_ASSERT(memcmp(buf, "two", 4) == 0);
	XT_ASSERT_EQ(xl_xs_write(0, "to/b", "three"), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "to/b", buf, sizeof(buf), &len), 0);
	XT_ASSERT(memcmp(buf, "three", 6) == 0);
	xl_xs_get_stats(&s1);
	XT_ASSERT_EQ(s1.timeouts - s0.timeouts, 2);
	XT_ASSERT_EQ(s1.stale - s0.stale, 2);
	XT_ASSERT_EQ(s1.bad_replies, s0.bad_replies);
	return XT_PASS;
}

/*
 * Timeouts with the ring full (xenstored paused): a 3000-byte write, a
 * ring-full of it in the ring, times out and is still finished once
 * xenstored reads again (the framing holds; its late reply is dropped);
 * a write queued behind it, none of it in the ring, times out and is
 * never sent (xenstored must not do what the caller was told failed);
 * a third one, from vCPU 1 and queued behind the first, goes out after
 * it.
 */
static int tp_rc;

static void tp_fn(void *p)
{
	(void)p;
	tp_rc = xl_xs_write(0, "tp/c", "c");
}

static bool tp_queued(void *arg)
{
	const struct xl_xs_stats *s0 = arg;
	struct xl_xs_stats st;

	xl_xs_get_stats(&st);
	return st.requests - s0->requests == 3;
}

static struct hv_domain *tp_dom;

static void *tp_unpause(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	hv_xs_pause(tp_dom, false);
	return NULL;
}

static enum xt_result xs_timeout_partial(void)
{
	uint64_t old = xl_xs_get_timeout();
	struct xl_xs_stats s0, s1;
	char *v = malloc(3001), *r = malloc(3001);
	pthread_t th;
	size_t len;
	int ra, rb, rr;

	XS_UP();
	XT_ASSERT(v && r);
	memset(v, 'p', 3000);
	v[3000] = '\0';
	xl_xs_get_stats(&s0);
	xl_xs_set_timeout(50 * MS);
	hv_xs_pause(hv_guest_domain(), true);
	ra = xl_xs_write(0, "tp/a", v);
	rb = xl_xs_write(0, "tp/b", "x");
	/* c, from vCPU 1, waits (10 s) behind the rest of a: queued at the
	 * tail the removal of b (the tail then) left. */
	xl_xs_set_timeout(10000 * MS);
	tp_rc = 1;
	xt_start_on(1, tp_fn, NULL);
	XT_ASSERT(xt_wait_until(tp_queued, &s0, 10000 * MS));
	/* xenstored reads again 50 ms on, with vCPU 0 blocked in the read
	 * below: the upcall that takes in a's late reply (and frees the
	 * orphan) runs at the end of that block, not in a signal. */
	tp_dom = hv_guest_domain();
	XT_ASSERT_EQ(pthread_create(&th, NULL, tp_unpause, NULL), 0);
	rr = xl_xs_read(0, "tp/b", r, 3001, &len);
	pthread_join(th, NULL);
	xt_wait_on(1);
	xl_xs_set_timeout(old);
	XT_ASSERT_EQ(ra, -XEN_ETIMEDOUT);
	XT_ASSERT_EQ(rb, -XEN_ETIMEDOUT);
	XT_ASSERT_EQ(tp_rc, 0);
	XT_ASSERT_EQ(rr, -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_read(0, "tp/c", r, 3001, &len), 0);
	XT_ASSERT(len == 1 && r[0] == 'c');
	XT_ASSERT_EQ(xl_xs_read(0, "tp/a", r, 3001, &len), 0);
	XT_ASSERT_EQ(len, 3000);
	XT_ASSERT(!memcmp(r, v, 3000));
	xl_xs_get_stats(&s1);
	XT_ASSERT_EQ(s1.timeouts - s0.timeouts, 2);
	XT_ASSERT_EQ(s1.stale - s0.stale, 1);
	XT_ASSERT_EQ(s1.bad_replies, s0.bad_replies);
	/* a's late reply (taken in, then dropped), c's, the three reads. */
	XT_ASSERT_EQ(s1.replies - s0.replies, 5);
	free(v);
	free(r);
	return XT_PASS;
}

/* --- hostile xenstored ------------------------------------------------------------- */

enum hmode { H_REQ_ID, H_LEN, H_UNTERM, H_PROD, H_TYPE };

static enum xt_result hostile(enum hmode m)
{
	struct hv_xs_hostile h = { 0 };
	struct xl_xs_stats before, after;
	struct hv_xs_stats hs;
	char buf[64];
	unsigned int i;

	XS_UP();
	XT_ASSERT_EQ(xl_xs_write(0, "h", "before"), 0);
	for (i = 0; i < 3; i++) {
		switch (m) {
		case H_REQ_ID:
			h.wrong_req_id = 1;
			break;
		case H_LEN:
			h.len_too_big = 1;
			break;
		case H_UNTERM:
			h.unterminated = 1;
			break;
		case H_PROD:
			h.rsp_prod_overflow = 1;
			break;
		case H_TYPE:
			h.bad_type = 1;
			break;
		}
		xl_xs_get_stats(&before);
		hv_xs_set_hostile(hv_guest_domain(), &h);
		/* The write reaches xenstored; only its reply is bad. */
		XT_ASSERT_EQ(xl_xs_write(0, "h", "during"), -XEN_EIO);
		xl_xs_get_stats(&after);
		XT_ASSERT_EQ(after.bad_replies, before.bad_replies + 1);
		if (m == H_LEN || m == H_PROD)
			XT_ASSERT_EQ(after.resyncs, before.resyncs + 1);
		else
			XT_ASSERT_EQ(after.resyncs, before.resyncs);
		/* The next requests get their own replies. */
		XT_ASSERT_EQ(xl_xs_read(0, "h", buf, sizeof(buf), NULL), 0);
		XT_ASSERT(!strcmp(buf, "during"));
		XT_ASSERT_EQ(xl_xs_write(0, "h", "after"), 0);
		XT_ASSERT_EQ(xl_xs_read(0, "h", buf, sizeof(buf), NULL), 0);
		XT_ASSERT(!strcmp(buf, "after"));
	}
	hv_xs_get_stats(hv_guest_domain(), &hs);
	XT_ASSERT_EQ(hs.hostile, 3);
	return XT_PASS;
}

/*
 * A reply to no request ahead of the real one: xenstored answers in
 * order, so the client fails its oldest request with EIO and remembers
 * its id; the real reply that follows is then dropped as stale, not
 * taken as another bad reply.  Twice: a stray id never used, then id 0
 * (no request has it; the abandoned ids list has one entry).
 */
static enum xt_result xs_stray_reply(void)
{
	static const uint32_t ids[] = { 0x5a5a0000U, 0 };
	struct hv_xs_hostile h = { 0 };
	struct xl_xs_stats s0, s1;
	struct hv_xs_stats hs;
	char buf[64];
	unsigned int i;

	XS_UP();
	XT_ASSERT_EQ(xl_xs_write(0, "st", "0"), 0);
	for (i = 0; i < 2; i++) {
		xl_xs_get_stats(&s0);
		h.stray_reply = 1;
		h.stray_req_id = ids[i];
		hv_xs_set_hostile(hv_guest_domain(), &h);
		XT_ASSERT_EQ(xl_xs_write(0, "st", i ? "2" : "1"), -XEN_EIO);
		/* Both replies were in the ring before the write failed. */
		xl_xs_get_stats(&s1);
		XT_ASSERT_EQ(s1.bad_replies - s0.bad_replies, 1);
		XT_ASSERT_EQ(s1.stale - s0.stale, 1);
		XT_ASSERT_EQ(s1.replies - s0.replies, 0);
		XT_ASSERT_EQ(xl_xs_read(0, "st", buf, sizeof(buf), NULL), 0);
		XT_ASSERT(!strcmp(buf, i ? "2" : "1"));
		xl_xs_get_stats(&s1);
		XT_ASSERT_EQ(s1.bad_replies - s0.bad_replies, 1);
		XT_ASSERT_EQ(s1.replies - s0.replies, 1);
	}
	hv_xs_get_stats(hv_guest_domain(), &hs);
	XT_ASSERT_EQ(hs.hostile, 2);
	return XT_PASS;
}

/*
 * Replies out of order while a second request is in flight: A (vCPU 1)
 * is answered after B and C (vCPU 0), so B leaves the list of requests
 * in flight from its tail with A still in it, and C goes in behind A.
 * Each gets its own reply; none is taken as bad.
 */
struct oo_arg {
	int rc;
};

static void oo_fn(void *p)
{
	struct oo_arg *a = p;

	a->rc = xl_xs_write(0, "oo/a", "A");
}

static bool oo_held(void *arg)
{
	struct hv_xs_stats hs;

	(void)arg;
	hv_xs_get_stats(hv_guest_domain(), &hs);
	return hs.hostile == 1;
}

static enum xt_result xs_out_of_order(void)
{
	struct hv_xs_hostile h = { .reorder = 2 };
	struct oo_arg a = { .rc = 1 };
	struct xl_xs_stats s0, s1;
	uint64_t old = xl_xs_get_timeout();
	char buf[16];
	int rb, rc;

	XS_UP();
	xl_xs_set_timeout(20000 * MS);
	xl_xs_get_stats(&s0);
	hv_xs_set_hostile(hv_guest_domain(), &h);
	xt_start_on(1, oo_fn, &a);
	XT_ASSERT(xt_wait_until(oo_held, NULL, 10000 * MS));
	rb = xl_xs_write(0, "oo/b", "B");
	rc = xl_xs_write(0, "oo/c", "C");
	xt_wait_on(1);
	xl_xs_set_timeout(old);
	XT_ASSERT_EQ(rb, 0);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(a.rc, 0);
	xl_xs_get_stats(&s1);
	XT_ASSERT_EQ(s1.replies - s0.replies, 3);
	XT_ASSERT_EQ(s1.bad_replies, s0.bad_replies);
	XT_ASSERT_EQ(s1.stale, s0.stale);
	/* The list is whole again: a request after them all. */
	XT_ASSERT_EQ(xl_xs_read(0, "oo/a", buf, sizeof(buf), NULL), 0);
	XT_ASSERT(!strcmp(buf, "A"));
	XT_ASSERT_EQ(xl_xs_read(0, "oo/c", buf, sizeof(buf), NULL), 0);
	XT_ASSERT(!strcmp(buf, "C"));
	return XT_PASS;
}

/*
 * xl_xs_suspend() on vCPU 1 waiting for a request of vCPU 0: xenstored
 * (paused) answers 50 ms into the wait, the reply is taken in by the
 * store port's upcall on vCPU 0, and that completion wakes vCPU 1, which
 * returns then with nothing busy, not at its 20 s bound (asserted: under
 * 10 s, whatever the load).  With the core's clock: the wait blocks
 * until its timer or an event, rather than polling the store port itself.
 */
static struct {
	struct hv_domain *dom;
	int suspending; /* atomic */
	int done;	/* atomic */
	int busy;
	uint64_t took;
} sq;

static void *sq_unpause(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)arg;
	while (!XT_LOAD(&sq.suspending))
		sched_yield();
	nanosleep(&ts, NULL);
	hv_xs_pause(sq.dom, false);
	return NULL;
}

static bool sq_sent(void *arg)
{
	struct xl_xs_stats st;

	(void)arg;
	xl_xs_get_stats(&st);
	return st.requests == 1;
}

static void sq_fn(void *p)
{
	uint64_t t0;

	(void)p;
	if (!xt_wait_until(sq_sent, NULL, 10000 * MS)) {
		sq.busy = -1;
		__atomic_store_n(&sq.suspending, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&sq.done, 1, __ATOMIC_RELEASE);
		return;
	}
	__atomic_store_n(&sq.suspending, 1, __ATOMIC_RELEASE);
	t0 = xt_now_ns();
	sq.busy = xl_xs_suspend(20000 * MS);
	sq.took = xt_now_ns() - t0;
	__atomic_store_n(&sq.done, 1, __ATOMIC_RELEASE);
}

static bool sq_done(void *arg)
{
	(void)arg;
	return XT_LOAD(&sq.done) != 0;
}

static enum xt_result xs_suspend_wakes(void)
{
	pthread_t th;
	char buf[8];
	int rc;

	struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };

	XS_UP();
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	memset(&sq, 0, sizeof(sq));
	sq.dom = hv_guest_domain();
	hv_xs_pause(sq.dom, true);
	XT_ASSERT_EQ(pthread_create(&th, NULL, sq_unpause, NULL), 0);
	xt_start_on(1, sq_fn, NULL);
	rc = xl_xs_write(0, "sq", "1");
	/* Not xt_wait_on(): its pokes would wake vCPU 1 too. */
	XT_ASSERT(xt_wait_until(sq_done, NULL, 30000 * MS));
	xt_wait_on(1);
	pthread_join(th, NULL);
	XT_ASSERT_EQ(xl_xs_resume(true), 0);
	xt_log("suspend waited %llu ms", (unsigned long long)(sq.took / MS));
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(sq.busy, 0);
	XT_ASSERT(sq.took < 10000 * MS);
	XT_ASSERT_EQ(xl_xs_read(0, "sq", buf, sizeof(buf), NULL), 0);
	XT_ASSERT(!strcmp(buf, "1"));
	return XT_PASS;
}

static enum xt_result xs_hostile_req_id(void)
{
	return hostile(H_REQ_ID);
}

static enum xt_result xs_hostile_len(void)
{
	return hostile(H_LEN);
}

static enum xt_result xs_hostile_unterminated(void)
{
	return hostile(H_UNTERM);
}

static enum xt_result xs_hostile_rsp_prod(void)
{
	return hostile(H_PROD);
}

static enum xt_result xs_hostile_type(void)
{
	return hostile(H_TYPE);
}

/*
 * A guest that breaks the protocol: a request longer than
 * XENSTORE_PAYLOAD_MAX (XENSTORE_ERROR_PROTO), or req_prod more than a
 * ring ahead (XENSTORE_ERROR_RINGIDX).  hv stops serving the ring, as
 * xenstored ignores a connection it marked bad; other domains go on.
 */
struct raw_ring {
	struct xenstore_domain_interface *in;
};

static bool ring_error_set(void *arg)
{
	struct raw_ring *r = arg;

	return __atomic_load_n(&r->in->error, __ATOMIC_ACQUIRE) != 0;
}

static enum xt_result bad_request(bool ringidx)
{
	struct xsd_sockmsg h = { .type = XS_READ,
				 .req_id = 1,
				 .len = XENSTORE_PAYLOAD_MAX + 1 };
	struct evtchn_send send;
	struct hv_xs_stats st;
	struct raw_ring r;
	void *intf;
	uint32_t port, prod;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_os_xenstore_ring(&intf, &port), 0);
	r.in = intf;
	prod = __atomic_load_n(&r.in->req_prod, __ATOMIC_ACQUIRE);
	if (ringidx) {
		prod += XENSTORE_RING_SIZE + 1;
	} else {
		memcpy(r.in->req + MASK_XENSTORE_IDX(prod), &h, sizeof(h));
		prod += sizeof(h);
	}
	__atomic_store_n(&r.in->req_prod, prod, __ATOMIC_RELEASE);
	send.port = port;
	XT_ASSERT_EQ(xl_hc_event_channel_op(EVTCHNOP_send, &send), 0);
	XT_ASSERT(xt_wait_until(ring_error_set, &r, 2000 * MS));
	XT_ASSERT_EQ(r.in->error,
		     ringidx ? XENSTORE_ERROR_RINGIDX : XENSTORE_ERROR_PROTO);
	hv_xs_get_stats(hv_guest_domain(), &st);
	XT_ASSERT_EQ(st.bad_requests, 1);
	XT_ASSERT_EQ(st.requests, 0);
	XT_ASSERT_EQ(st.replies, 0);
	return XT_PASS;
}

static enum xt_result xs_bad_request_len(void)
{
	return bad_request(false);
}

static enum xt_result xs_bad_request_ringidx(void)
{
	return bad_request(true);
}

/*
 * A guest that sends requests and never reads the replies: hv answers
 * what fits in the ring plus XS_MAX_OUTSTANDING (20) more, then reads no
 * more requests (xenstored's quota_req_outstanding); reading the ring
 * lets it go on, and every request gets its reply, in order.
 */
#define OQ_N 200
#define OQ_REQ (16 + 5) /* READ "nope\0" */
#define OQ_RSP (16 + 7) /* ERROR "ENOENT\0" */

struct oq {
	struct xenstore_domain_interface *in;
	uint32_t port;
	unsigned int sent;
	uint64_t rsp_bytes;
};

static void oq_kick(struct oq *q)
{
	struct evtchn_send send = { .port = q->port };

	xl_hc_event_channel_op(EVTCHNOP_send, &send);
}

/* Write requests while they fit; true if any went. */
static bool oq_send(struct oq *q)
{
	struct xsd_sockmsg h = { .type = XS_READ, .len = 5 };
	char msg[OQ_REQ];
	bool any = false;

	while (q->sent < OQ_N) {
		uint32_t prod =
			__atomic_load_n(&q->in->req_prod, __ATOMIC_RELAXED);
		uint32_t cons =
			__atomic_load_n(&q->in->req_cons, __ATOMIC_ACQUIRE);
		unsigned int i;

		if (XENSTORE_RING_SIZE - (prod - cons) < OQ_REQ)
			break;
		h.req_id = q->sent + 1;
		memcpy(msg, &h, sizeof(h));
		memcpy(msg + sizeof(h), "nope", 5);
		for (i = 0; i < OQ_REQ; i++)
			q->in->req[MASK_XENSTORE_IDX(prod + i)] = msg[i];
		__atomic_store_n(&q->in->req_prod, prod + OQ_REQ,
				 __ATOMIC_RELEASE);
		q->sent++;
		any = true;
	}
	if (any)
		oq_kick(q);
	return any;
}

static uint64_t oq_served(void)
{
	struct hv_xs_stats st;

	hv_xs_get_stats(hv_guest_domain(), &st);
	return st.requests;
}

static bool oq_quiet(void *arg)
{
	uint64_t *last = arg, now = oq_served();
	bool same = now == *last;

	*last = now;
	return same && now;
}

static enum xt_result xs_outstanding_quota(void)
{
	struct oq q = { 0 };
	uint64_t last = 0, t0;
	void *intf;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_os_xenstore_ring(&intf, &q.port), 0);
	q.in = intf;
	/* Phase 1: send what the request ring takes, repeatedly, for a
	 * while; read nothing. */
	t0 = xt_now_ns();
	while (xt_now_ns() - t0 < 200 * MS) {
		oq_send(&q);
		xt_sleep_ns(MS);
	}
	XT_ASSERT(xt_wait_until(oq_quiet, &last, 2000 * MS));
	/* 44 replies fit in the ring (the 45th in part), 20 are held. */
	XT_ASSERT_EQ(oq_served(), XENSTORE_RING_SIZE / OQ_RSP + 20);
	XT_ASSERT(q.sent > oq_served());
	/* Phase 2: read the replies; everything gets answered. */
	t0 = xt_now_ns();
	while (q.rsp_bytes < (uint64_t)OQ_N * OQ_RSP &&
	       xt_now_ns() - t0 < 5000 * MS) {
		uint32_t prod =
			__atomic_load_n(&q.in->rsp_prod, __ATOMIC_ACQUIRE);
		uint32_t cons =
			__atomic_load_n(&q.in->rsp_cons, __ATOMIC_RELAXED);

		XT_ASSERT(prod - cons <= XENSTORE_RING_SIZE);
		if (prod != cons) {
			q.rsp_bytes += prod - cons;
			__atomic_store_n(&q.in->rsp_cons, prod,
					 __ATOMIC_RELEASE);
			oq_kick(&q);
		}
		oq_send(&q);
		xt_sleep_ns(100000);
	}
	XT_ASSERT_EQ(q.sent, OQ_N);
	XT_ASSERT_EQ(oq_served(), OQ_N);
	XT_ASSERT_EQ(q.rsp_bytes, (uint64_t)OQ_N * OQ_RSP);
	return XT_PASS;
}

static bool oq_served_one(void *arg)
{
	(void)arg;
	return oq_served() == 1;
}

/* Watch events nobody reads are bounded: the rest are dropped, counted. */
static enum xt_result xs_event_bound(void)
{
	struct xsd_sockmsg h = { .type = XS_WATCH, .req_id = 1, .len = 6 };
	struct evtchn_send send;
	struct hv_xs_stats st;
	struct xenstore_domain_interface *in;
	char abs[96], msg[22];
	void *intf;
	uint32_t port, prod;
	unsigned int i, n = 3000;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_os_xenstore_ring(&intf, &port), 0);
	in = intf;
	/* WATCH "ev" token "t", written raw; no reply is ever read. */
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), "ev\0t\0", 5);
	msg[sizeof(h) + 5] = 0;
	h.len = 5;
	memcpy(msg, &h, sizeof(h));
	prod = __atomic_load_n(&in->req_prod, __ATOMIC_RELAXED);
	for (i = 0; i < sizeof(h) + 5; i++)
		in->req[MASK_XENSTORE_IDX(prod + i)] = msg[i];
	__atomic_store_n(&in->req_prod, prod + (uint32_t)sizeof(h) + 5,
			 __ATOMIC_RELEASE);
	send.port = port;
	XT_ASSERT_EQ(xl_hc_event_channel_op(EVTCHNOP_send, &send), 0);
	XT_ASSERT(xt_wait_until(oq_served_one, NULL, 2000 * MS));
	dom_path(abs, sizeof(abs), "ev");
	for (i = 0; i < n; i++)
		XT_ASSERT_EQ(hv_xs_write(abs, "x"), 0);
	hv_xs_get_stats(hv_guest_domain(), &st);
	xt_log("%llu events queued or in the ring, %llu dropped",
	       (unsigned long long)st.events,
	       (unsigned long long)st.events_dropped);
	XT_ASSERT_EQ(st.requests, 1);
	/* The first firing and one per write, each either kept or dropped. */
	XT_ASSERT_EQ(st.events + st.events_dropped, n + 1);
	XT_ASSERT(st.events_dropped > 0);
	/* Kept: the bound plus what the ring took besides the reply. */
	XT_ASSERT(st.events <= 1024 + XENSTORE_RING_SIZE / (16 + 5));
	return XT_PASS;
}

/*
 * One raw request on the ring; the reply with its req_id (watch events
 * skipped) goes to out as "TYPE:body" with NULs as '|', "" on a timeout.
 */
/*
 * One request on the ring, bypassing the client: its reply's header in
 * *rh and body in rb (up to size bytes).  The reply's length, or -1 when
 * none came within 3 s.  Watch events on the way are skipped.
 */
static int xs_raw_msg(uint32_t type, uint32_t tx, const char *body,
		      uint32_t len, struct xsd_sockmsg *rh, char *rb,
		      size_t size)
{
	static uint32_t req_id = 100;
	static char msg[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
	static char rsp[2 * (sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX)];
	struct xsd_sockmsg h = {
		.type = type, .req_id = req_id + 1, .tx_id = tx, .len = len
	};
	struct xenstore_domain_interface *in;
	struct evtchn_send send;
	uint32_t prod, cons, port, i, got = 0, sent = 0;
	uint64_t t0 = xt_now_ns();
	void *intf;

	req_id = h.req_id;
	if (xl_os_xenstore_ring(&intf, &port) || len > XENSTORE_PAYLOAD_MAX)
		return -1;
	in = intf;
	send.port = port;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), body, len);
	while (xt_now_ns() - t0 < 3000 * MS) {
		/* The request, as much as the ring takes. */
		prod = __atomic_load_n(&in->req_prod, __ATOMIC_RELAXED);
		cons = __atomic_load_n(&in->req_cons, __ATOMIC_ACQUIRE);
		for (i = 0; sent < sizeof(h) + len &&
			    prod + i - cons < XENSTORE_RING_SIZE;
		     i++)
			in->req[MASK_XENSTORE_IDX(prod + i)] = msg[sent++];
		__atomic_store_n(&in->req_prod, prod + i, __ATOMIC_RELEASE);
		prod = __atomic_load_n(&in->rsp_prod, __ATOMIC_ACQUIRE);
		for (cons = in->rsp_cons; cons != prod && got < sizeof(rsp);
		     cons++)
			rsp[got++] = in->rsp[MASK_XENSTORE_IDX(cons)];
		__atomic_store_n(&in->rsp_cons, cons, __ATOMIC_RELEASE);
		while (got >= sizeof(*rh)) {
			memcpy(rh, rsp, sizeof(*rh));
			if (got < sizeof(*rh) + rh->len)
				break;
			if (rh->req_id == h.req_id &&
			    rh->type != XS_WATCH_EVENT) {
				if (rh->len > size)
					return -1;
				memcpy(rb, rsp + sizeof(*rh), rh->len);
				return (int)rh->len;
			}
			got -= (uint32_t)sizeof(*rh) + rh->len;
			memmove(rsp, rsp + sizeof(*rh) + rh->len, got);
		}
		xl_hc_event_channel_op(EVTCHNOP_send, &send);
		xt_sleep_ns(MS);
	}
	return -1;
}

/* xs_raw_msg's reply as "OK:body" or "ERROR:body", each nul as '|'. */
static void xs_raw(uint32_t type, uint32_t tx, const char *body, uint32_t len,
		   char *out, size_t size)
{
	static char rb[XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg rh;
	int n = xs_raw_msg(type, tx, body, len, &rh, rb, sizeof(rb));
	size_t k, o;

	out[0] = '\0';
	if (n < 0)
		return;
	o = (size_t)snprintf(out, size,
			     "%s:", rh.type == XS_ERROR ? "ERROR" : "OK");
	for (k = 0; k < (size_t)n && o + 1 < size; k++)
		out[o++] = rb[k] ?: '|';
	out[o] = '\0';
}

/*
 * The order of xenstored's checks (process_message() in 4.17's
 * tools/xenstore/xenstored_core.c): an unknown operation is ENOSYS, a
 * privileged one EACCES, whatever the tx_id; then transaction_lookup
 * (ENOENT for an unknown id), skipped by WATCH and UNWATCH
 * (XS_FLAG_NOTID).  Transaction 77 is never started.
 */
static enum xt_result xs_wire_errors(void)
{
	static const struct {
		uint32_t type, tx;
		const char *body;
		uint32_t len;
		const char *want;
	} c[] = {
		{ 0xffff, 0, "", 0, "ERROR:ENOSYS|" },
		{ 0xffff, 77, "", 0, "ERROR:ENOSYS|" },
		{ XS_WATCH_EVENT, 0, "a\0t", 4, "ERROR:ENOSYS|" },
		{ XS_RESUME, 77, "1", 2, "ERROR:EACCES|" },
		{ XS_INTRODUCE, 0, "", 0, "ERROR:EACCES|" },
		{ XS_READ, 77, "data", 5, "ERROR:ENOENT|" },
		{ XS_TRANSACTION_START, 77, "", 1, "ERROR:ENOENT|" },
		{ XS_WATCH, 77, "data\0w1", 8, "OK:OK|" },
		{ XS_UNWATCH, 77, "data\0w1", 8, "OK:OK|" },
	};
	char got[64];
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		xs_raw(c[i].type, c[i].tx, c[i].body, c[i].len, got,
		       sizeof(got));
		XT_ASSERT_MSG(!strcmp(got, c[i].want),
			      "case %u (type %u tx %u): '%s', want '%s'", i,
			      c[i].type, c[i].tx, got, c[i].want);
	}
	return XT_PASS;
}

/* The raw reply got must be want. */
#define XS_GOT(got, want) \
	XT_ASSERT_MSG(!strcmp(got, want), "reply '%s', want '%s'", got, want)

/*
 * XS_RESET_WATCHES (4.17's do_reset_watches, tools/xenstore/
 * xenstored_domain.c): every watch and every transaction of the
 * connection is dropped (conn_delete_all_watches,
 * conn_delete_all_transactions) and the answer is OK.  It has no
 * XS_FLAG_NOTID, so process_message()'s transaction_lookup runs first: an
 * unknown tx_id is ENOENT and drops nothing.  Linux sends it at boot
 * (xs_reset_watches()) to clear what a previous kernel left.
 */
static enum xt_result xs_reset_watches(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct hv_xs_stats s0, s1;
	uint32_t tx, tx2;
	char got[64];

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xs_raw(XS_WATCH, 0, "rw\0w1", 6, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	xs_raw(XS_TRANSACTION_START, 0, "", 1, got, sizeof(got));
	XT_ASSERT_MSG(!strncmp(got, "OK:", 3), "start: '%s'", got);
	tx = (uint32_t)strtoul(got + 3, NULL, 10);
	XT_ASSERT(tx != 0);
	/* The watch fires once per write before the reset. */
	hv_xs_get_stats(d, &s0);
	xs_raw(XS_WRITE, 0, "rw\0v", 4, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	hv_xs_get_stats(d, &s1);
	XT_ASSERT_EQ(s1.events - s0.events, 1);
	/* An unknown transaction: ENOENT, nothing dropped. */
	xs_raw(XS_RESET_WATCHES, 77, "", 1, got, sizeof(got));
	XS_GOT(got, "ERROR:ENOENT|");
	xs_raw(XS_WRITE, tx, "rw/x\0v", 6, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	xs_raw(XS_RESET_WATCHES, 0, "", 1, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	/* The transaction is gone, and the watch. */
	xs_raw(XS_WRITE, tx, "rw/y\0v", 6, got, sizeof(got));
	XS_GOT(got, "ERROR:ENOENT|");
	xs_raw(XS_TRANSACTION_END, tx, "T", 2, got, sizeof(got));
	XS_GOT(got, "ERROR:ENOENT|");
	hv_xs_get_stats(d, &s0);
	xs_raw(XS_WRITE, 0, "rw\0w", 4, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	hv_xs_get_stats(d, &s1);
	XT_ASSERT_EQ(s1.events - s0.events, 0);
	xs_raw(XS_UNWATCH, 0, "rw\0w1", 6, got, sizeof(got));
	XS_GOT(got, "ERROR:ENOENT|");
	/* Sent inside a live transaction: that one goes too. */
	xs_raw(XS_TRANSACTION_START, 0, "", 1, got, sizeof(got));
	tx2 = (uint32_t)strtoul(got + 3, NULL, 10);
	XT_ASSERT(tx2 != 0);
	xs_raw(XS_RESET_WATCHES, tx2, "", 1, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	xs_raw(XS_TRANSACTION_END, tx2, "F", 2, got, sizeof(got));
	XS_GOT(got, "ERROR:ENOENT|");
	return XT_PASS;
}

/* DIRECTORY_PART of path at offset off: the reply's length, -1 if none. */
static int dpart(uint32_t tx, const char *path, const char *off,
		 struct xsd_sockmsg *rh, char *rb, size_t size)
{
	char body[128];
	size_t lp = strlen(path) + 1, lo = strlen(off) + 1;

	if (lp + lo > sizeof(body))
		return -1;
	memcpy(body, path, lp);
	memcpy(body + lp, off, lo);
	return xs_raw_msg(XS_DIRECTORY_PART, tx, body, (uint32_t)(lp + lo), rh,
			  rb, size);
}

/*
 * One DIRECTORY_PART reply: its generation (a decimal string, nul
 * terminated) must be gen (unless gen is NULL, then it is stored in
 * want_gen), the rest must be exactly the want_len bytes of want.
 */
static bool dpart_is(uint32_t tx, const char *path, const char *off,
		     const char *gen, char *gen_out, const char *want,
		     size_t want_len)
{
	static char rb[XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg rh;
	int n = dpart(tx, path, off, &rh, rb, sizeof(rb));
	size_t gl;

	if (n < 0 || rh.type != XS_DIRECTORY_PART)
		return false;
	gl = strnlen(rb, (size_t)n);
	if (gl == 0 || gl >= (size_t)n || strspn(rb, "0123456789") != gl)
		return false;
	if (gen && strcmp(rb, gen))
		return false;
	if (gen_out)
		memcpy(gen_out, rb, gl + 1);
	return (size_t)n - gl - 1 == want_len &&
	       !memcmp(rb + gl + 1, want, want_len);
}

/*
 * XS_DIRECTORY_PART (4.17's send_directory_part, tools/xenstore/
 * xenstored_core.c): arguments a path and a decimal byte offset into the
 * node's child list (nul-separated names, the order DIRECTORY gives);
 * exactly two strings or EINVAL; the node read as DIRECTORY does
 * (ENOENT, EACCES, in the transaction).  The reply is the node's
 * generation as a decimal string, then the names from the offset, as
 * many whole ones as keep the payload within XENSTORE_PAYLOAD_MAX, and
 * an empty string once the list is complete; an offset at or past the
 * end gives the generation and the empty string only.  The generation
 * changes when the child list does (a child made or removed), not when a
 * child's value does.
 */
static enum xt_result xs_directory_part(void)
{
	static char list[XENSTORE_PAYLOAD_MAX + 1], name[128], body[160];
	char gen[24], gen2[24], got[64], off[16];
	struct xsd_sockmsg rh;
	unsigned int i, k, len, maxlen, genlen, ll, first;
	int n;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	xs_raw(XS_MKDIR, 0, "dp/a", 5, got, sizeof(got));
	xs_raw(XS_MKDIR, 0, "dp/bb", 6, got, sizeof(got));
	xs_raw(XS_MKDIR, 0, "dp/ccc", 7, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	n = xs_raw_msg(XS_DIRECTORY, 0, "dp", 3, &rh, list, sizeof(list) - 1);
	XT_ASSERT_EQ(n, 9);
	ll = (unsigned int)n;
	list[ll] = '\0'; /* the terminating empty string */
	first = (unsigned int)strlen(list) + 1;
	/* Offsets are bytes into the list, terminator added at the end. */
	XT_ASSERT(dpart_is(0, "dp", "0", NULL, gen, list, ll + 1));
	XT_ASSERT(dpart_is(0, "dp", "x", gen, NULL, list, ll + 1));
	snprintf(off, sizeof(off), "%u", first);
	XT_ASSERT(dpart_is(0, "dp", off, gen, NULL, list + first,
			   ll + 1 - first));
	XT_ASSERT(dpart_is(0, "dp", "1", gen, NULL, list + 1, ll));
	XT_ASSERT(dpart_is(0, "dp", "9", gen, NULL, "", 1));
	XT_ASSERT(dpart_is(0, "dp", "1000", gen, NULL, "", 1));
	XT_ASSERT(dpart_is(0, "dp", "-1", gen, NULL, "", 1));
	/* A node with no children: the empty string only. */
	XT_ASSERT(dpart_is(0, "dp/a", "0", NULL, NULL, "", 1));
	/* A child's value changes: same generation; the list: another. */
	xs_raw(XS_WRITE, 0, "dp/a\0x", 6, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	XT_ASSERT(dpart_is(0, "dp", "0", gen, NULL, list, ll + 1));
	xs_raw(XS_MKDIR, 0, "dp/dddd", 8, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	/* A new child goes at the end (xenstored's add_child). */
	XT_ASSERT(dpart_is(0, "dp", "9", NULL, gen2, "dddd\0", 6));
	XT_ASSERT(strcmp(gen, gen2));
	xs_raw(XS_RM, 0, "dp/dddd", 8, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	XT_ASSERT(dpart_is(0, "dp", "0", NULL, gen, list, ll + 1));
	XT_ASSERT(strcmp(gen, gen2));
	/* Errors: the argument count first, then the node. */
	xs_raw(XS_DIRECTORY_PART, 0, "dp", 3, got, sizeof(got));
	XS_GOT(got, "ERROR:EINVAL|");
	xs_raw(XS_DIRECTORY_PART, 0, "dp\0000", 4, got, sizeof(got));
	XS_GOT(got, "ERROR:EINVAL|");
	xs_raw(XS_DIRECTORY_PART, 0, "dp\0000\0000", 7, got, sizeof(got));
	XS_GOT(got, "ERROR:EINVAL|");
	xs_raw(XS_DIRECTORY_PART, 0, "nope\0000", 7, got, sizeof(got));
	XS_GOT(got, "ERROR:ENOENT|");
	xs_raw(XS_DIRECTORY_PART, 0, "/\0000", 4, got, sizeof(got));
	XS_GOT(got, "ERROR:EACCES|");
	xs_raw(XS_DIRECTORY_PART, 77, "dp\0000", 5, got, sizeof(got));
	XS_GOT(got, "ERROR:ENOENT|");
	/*
	 * A list longer than a payload: 45 names of 99 bytes (4500 bytes
	 * with their nuls).  Each part holds the whole names that fit
	 * send_directory_part's loop (len + strlen(name) < PAYLOAD_MAX -
	 * genlen - 1), the last one the terminator too.
	 */
	for (i = 0; i < 45; i++) {
		memset(name, 'a' + (char)(i % 26), 99);
		name[0] = (char)('0' + i / 10);
		name[1] = (char)('0' + i % 10);
		name[99] = '\0';
		n = snprintf(body, sizeof(body), "big/%s", name);
		xs_raw(XS_MKDIR, 0, body, (uint32_t)n + 1, got, sizeof(got));
		XS_GOT(got, "OK:OK|");
	}
	n = dpart(0, "big", "0", &rh, list, sizeof(list));
	XT_ASSERT(n > 0 && rh.type == XS_DIRECTORY_PART);
	genlen = (unsigned int)strlen(list) + 1;
	maxlen = XENSTORE_PAYLOAD_MAX - genlen - 1;
	for (len = 0; len + 99 < maxlen && len < 4500;)
		len += 100;
	XT_ASSERT_EQ(n, genlen + len);
	memcpy(gen, list, genlen);
	for (k = 0; k < len; k += 100)
		XT_ASSERT_EQ(strlen(list + genlen + k), 99);
	snprintf(off, sizeof(off), "%u", len);
	n = dpart(0, "big", off, &rh, list, sizeof(list));
	XT_ASSERT_EQ(n, genlen + (4500 - len) + 1);
	XT_ASSERT_EQ(strcmp(list, gen), 0);
	XT_ASSERT_EQ(list[n - 1], '\0');
	XT_ASSERT_EQ(list[n - 2], '\0');
	/* In a transaction: its own copy. */
	xs_raw(XS_TRANSACTION_START, 0, "", 1, got, sizeof(got));
	k = (unsigned int)strtoul(got + 3, NULL, 10);
	XT_ASSERT(k != 0);
	xs_raw(XS_MKDIR, k, "dp/e", 5, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	XT_ASSERT(dpart_is(k, "dp", "9", NULL, NULL, "e\0", 3));
	XT_ASSERT(dpart_is(0, "dp", "9", NULL, NULL, "", 1));
	/* TRANSACTION_END's one argument is the whole body (4.17's
	 * onearg()): a byte after "F\0" is EINVAL, the transaction stays. */
	xs_raw(XS_TRANSACTION_END, k, "F\0F", 3, got, sizeof(got));
	XS_GOT(got, "ERROR:EINVAL|");
	xs_raw(XS_TRANSACTION_END, k, "F", 2, got, sizeof(got));
	XS_GOT(got, "OK:OK|");
	return XT_PASS;
}

/* The pure parser on hand-made messages (the fuzzer's invariants). */
static size_t mk(char *b, uint32_t type, uint32_t id, const void *body,
		 uint32_t len)
{
	struct xsd_sockmsg h = { .type = type, .req_id = id, .len = len };

	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), body, len);
	return sizeof(h) + len;
}

static enum xt_result xs_parser(void)
{
	char b[64 + XENSTORE_PAYLOAD_MAX];
	struct xl_xs_reply rep;
	size_t n, used;

	n = mk(b, XS_WRITE, 7, "OK", 3);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(used, n);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n - 1, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_SHORT);
	XT_ASSERT_EQ(used, n);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, 10, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_SHORT);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 8, &rep, &used),
		     XL_XS_PARSE_BAD_REQ_ID);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_READ, 7, &rep, &used),
		     XL_XS_PARSE_BAD_TYPE);
	n = mk(b, XS_WRITE, 7, "OK", 2);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_UNTERMINATED);
	n = mk(b, XS_ERROR, 7, "ENOENT", 7);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.err, -XEN_ENOENT);
	n = mk(b, XS_ERROR, 7, "EWHAT", 6);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.err, -XEN_EIO);
	n = mk(b, XS_ERROR, 7, "E\0X", 4);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_BAD_BODY);
	n = mk(b, XS_READ, 7, "raw", 3); /* READ: no NUL needed */
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_READ, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.len, 3);
	n = mk(b, XS_DIRECTORY, 7, "", 0);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_DIRECTORY, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	n = mk(b, XS_DIRECTORY, 7, "a\0b", 3);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_DIRECTORY, 7, &rep, &used),
		     XL_XS_PARSE_UNTERMINATED);
	n = mk(b, XS_TRANSACTION_START, 7, "12x", 4);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_TRANSACTION_START, 7, &rep,
				       &used),
		     XL_XS_PARSE_BAD_BODY);
	n = mk(b, XS_WATCH_EVENT, 0, "p\0t", 4);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT(!strcmp(rep.ev_path, "p") && !strcmp(rep.ev_token, "t"));
	n = mk(b, XS_WATCH_EVENT, 0, "p", 2);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_INVALID, 0, &rep, &used),
		     XL_XS_PARSE_BAD_BODY);
	n = mk(b, 0x7777, 7, "OK", 3);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_INVALID, 0, &rep, &used),
		     XL_XS_PARSE_BAD_TYPE);
	mk(b, XS_READ, 7, "", 0);
	((struct xsd_sockmsg *)b)->len = XENSTORE_PAYLOAD_MAX + 1;
	XT_ASSERT_EQ(xl_xs_parse_reply(b, sizeof(b), XS_READ, 7, &rep, &used),
		     XL_XS_PARSE_BAD_LEN);
	return XT_PASS;
}

/*
 * The parser at each bound, one byte either side: a body of exactly
 * XENSTORE_PAYLOAD_MAX and one more, a message of exactly a header, the
 * transaction id's 1 and 10 digits and the digits' range, the type
 * numbers around the removed XS_RESTRICT and XS_TYPE_COUNT, an event
 * with an empty path or an empty token, an error name with its NUL.
 * A byte past the body is never part of the message: it is set to
 * something else than a NUL.
 */
static enum xt_result parse_is(const char *b, size_t n, uint32_t type,
			       uint32_t id, enum xl_xs_parse_rc want)
{
	struct xl_xs_reply rep;
	size_t used;

	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, type, id, &rep, &used), want);
	return XT_PASS;
}

#define PARSE_IS(b, n, type, id, want)                           \
	do {                                                     \
		if (parse_is(b, n, type, id, want) != XT_PASS) { \
			xt_log("parse_is at line %d", __LINE__); \
			return XT_FAIL;                          \
		}                                                \
	} while (0)

static size_t mk_poison(char *b, uint32_t type, uint32_t id, const void *body,
			uint32_t len)
{
	size_t n = mk(b, type, id, body, len);

	memset(b + n, 'Z', 8);
	return n;
}

static const struct {
	const char *name;
	int err;
} xs_err_names[] = {
	/* xsd_errors[] of xs_wire.h. */
	{ "EINVAL", -XEN_EINVAL },	 { "EACCES", -XEN_EACCES },
	{ "EEXIST", -XEN_EEXIST },	 { "EISDIR", -XEN_EISDIR },
	{ "ENOENT", -XEN_ENOENT },	 { "ENOMEM", -XEN_ENOMEM },
	{ "ENOSPC", -XEN_ENOSPC },	 { "EIO", -XEN_EIO },
	{ "ENOTEMPTY", -XEN_ENOTEMPTY }, { "ENOSYS", -XEN_ENOSYS },
	{ "EROFS", -XEN_EROFS },	 { "EBUSY", -XEN_EBUSY },
	{ "EAGAIN", -XEN_EAGAIN },	 { "EISCONN", -XEN_EISCONN },
	{ "E2BIG", -XEN_E2BIG },	 { "EPERM", -XEN_EPERM },
};

static enum xt_result xs_parser_bounds(void)
{
	static char b[64 + XENSTORE_PAYLOAD_MAX];
	struct xl_xs_reply rep;
	size_t n, used;
	uint32_t t;

	/* Exactly XENSTORE_PAYLOAD_MAX is a message; one more is not. */
	memset(b, 'v', sizeof(b));
	mk(b, XS_READ, 7, "", 0);
	((struct xsd_sockmsg *)b)->len = XENSTORE_PAYLOAD_MAX;
	n = sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX;
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_READ, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(used, n);
	XT_ASSERT_EQ(rep.len, XENSTORE_PAYLOAD_MAX);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n - 1, XS_READ, 7, &rep, &used),
		     XL_XS_PARSE_SHORT);
	XT_ASSERT_EQ(used, n);
	((struct xsd_sockmsg *)b)->len = XENSTORE_PAYLOAD_MAX + 1;
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n + 1, XS_READ, 7, &rep, &used),
		     XL_XS_PARSE_BAD_LEN);

	/* A header and no body: exactly XS_HDR bytes, one less is short. */
	n = mk_poison(b, XS_DIRECTORY, 7, "", 0);
	XT_ASSERT_EQ(n, sizeof(struct xsd_sockmsg));
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_DIRECTORY, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(used, n);
	XT_ASSERT_EQ(rep.len, 0);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n - 1, XS_DIRECTORY, 7, &rep, &used),
		     XL_XS_PARSE_SHORT);
	XT_ASSERT_EQ(used, n);
	/* Less than a header: it needs a header, whatever its len says. */
	n = mk_poison(b, XS_WRITE, 7, "OK", 3);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, sizeof(struct xsd_sockmsg) - 1,
				       XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_SHORT);
	XT_ASSERT_EQ(used, sizeof(struct xsd_sockmsg));
	/* ... but a string reply may not be empty. */
	n = mk_poison(b, XS_WRITE, 7, "", 0);
	PARSE_IS(b, n, XS_WRITE, 7, XL_XS_PARSE_UNTERMINATED);

	/* The terminator is the body's last byte, not the one after it. */
	n = mk_poison(b, XS_WRITE, 7, "OK", 2);
	b[n] = '\0';
	PARSE_IS(b, n, XS_WRITE, 7, XL_XS_PARSE_UNTERMINATED);
	n = mk_poison(b, XS_WRITE, 7, "O\0", 3);
	PARSE_IS(b, n, XS_WRITE, 7, XL_XS_PARSE_OK);

	/* An OK reply after an error reply: err is 0 again. */
	n = mk_poison(b, XS_ERROR, 7, "EACCES", 7);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.err, -XEN_EACCES);
	n = mk_poison(b, XS_WRITE, 7, "OK", 3);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.err, 0);
	XT_ASSERT(rep.ev_path == NULL && rep.ev_token == NULL);
	/* An error name is the whole string: "EPERM" is not "EPER". */
	n = mk_poison(b, XS_ERROR, 7, "EPERM", 6);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.err, -XEN_EPERM);
	n = mk_poison(b, XS_ERROR, 7, "EPER", 5);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.err, -XEN_EIO);
	n = mk_poison(b, XS_ERROR, 7, "\0", 1);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_WRITE, 7, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT_EQ(rep.err, -XEN_EIO);
	/* Every name of xsd_errors[], whole: one letter changed, first or
	 * last, or one fewer, is not that name. */
	for (t = 0; t < sizeof(xs_err_names) / sizeof(xs_err_names[0]); t++) {
		const char *e = xs_err_names[t].name;
		size_t el = strlen(e);
		char x[16];

		XT_ASSERT_EQ(xl_xs_errno(e, el), xs_err_names[t].err);
		memcpy(x, e, el + 1);
		x[0] = 'X';
		XT_ASSERT_EQ(xl_xs_errno(x, el), -XEN_EIO);
		memcpy(x, e, el + 1);
		x[el - 1] = 'X';
		XT_ASSERT_EQ(xl_xs_errno(x, el), -XEN_EIO);
		XT_ASSERT_EQ(xl_xs_errno(e, el - 1), -XEN_EIO);
	}
	n = mk_poison(b, XS_ERROR, 7, "EIO\0\0", 5);
	PARSE_IS(b, n, XS_WRITE, 7, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_ERROR, 7, "", 0);
	PARSE_IS(b, n, XS_WRITE, 7, XL_XS_PARSE_UNTERMINATED);
	n = mk_poison(b, XS_ERROR, 7, "EIO", 3);
	PARSE_IS(b, n, XS_WRITE, 7, XL_XS_PARSE_UNTERMINATED);

	/* Transaction ids: 1 to 10 digits, each of '0'..'9'. */
	n = mk_poison(b, XS_TRANSACTION_START, 7, "1", 2);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_OK);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "", 1);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "", 0);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_UNTERMINATED);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "4294967295", 11);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_OK);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "1234567890", 11);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_OK);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "12345678901", 12);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "0", 2);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_OK);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "9", 2);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_OK);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "/", 2); /* '0' - 1 */
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_TRANSACTION_START, 7, ":", 2); /* '9' + 1 */
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "x5", 3);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "5\0", 3);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_TRANSACTION_START, 7, "12", 2);
	PARSE_IS(b, n, XS_TRANSACTION_START, 7, XL_XS_PARSE_UNTERMINATED);

	/* Events: an empty path and an empty token are still two strings. */
	n = mk_poison(b, XS_WATCH_EVENT, 0, "\0tok", 5);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_INVALID, 0, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT(!strcmp(rep.ev_path, "") && !strcmp(rep.ev_token, "tok"));
	XT_ASSERT(rep.ev_token == b + sizeof(struct xsd_sockmsg) + 1);
	n = mk_poison(b, XS_WATCH_EVENT, 0, "pa\0", 4);
	XT_ASSERT_EQ(xl_xs_parse_reply(b, n, XS_INVALID, 0, &rep, &used),
		     XL_XS_PARSE_OK);
	XT_ASSERT(!strcmp(rep.ev_path, "pa") && !strcmp(rep.ev_token, ""));
	n = mk_poison(b, XS_WATCH_EVENT, 0, "pa", 3);
	PARSE_IS(b, n, XS_INVALID, 0, XL_XS_PARSE_BAD_BODY);
	n = mk_poison(b, XS_WATCH_EVENT, 0, "pa\0t", 4);
	PARSE_IS(b, n, XS_INVALID, 0, XL_XS_PARSE_UNTERMINATED);
	/* An event is taken whatever the request waited for. */
	n = mk_poison(b, XS_WATCH_EVENT, 0, "p\0t", 4);
	PARSE_IS(b, n, XS_READ, 9, XL_XS_PARSE_OK);

	/* Types: XS_RESTRICT (XS_SET_TARGET + 1) and XS_TYPE_COUNT are
	 * not ones, their neighbours are. */
	for (t = XS_SET_TARGET; t <= XS_TYPE_COUNT; t++) {
		enum xl_xs_parse_rc want = t == XS_SET_TARGET + 1 ||
							   t == XS_TYPE_COUNT ?
						   XL_XS_PARSE_BAD_TYPE :
						   XL_XS_PARSE_OK;

		n = mk_poison(b, t, 7, "OK", 3);
		PARSE_IS(b, n, XS_INVALID, 0, want);
	}
	/* Any type with no expected one, and the expected one's req_id
	 * only when one is expected. */
	n = mk_poison(b, XS_WRITE, 7, "OK", 3);
	PARSE_IS(b, n, XS_INVALID, 0, XL_XS_PARSE_OK);
	PARSE_IS(b, n, XS_WRITE, 7, XL_XS_PARSE_OK);
	PARSE_IS(b, n, XS_MKDIR, 7, XL_XS_PARSE_BAD_TYPE);
	PARSE_IS(b, n, XS_WRITE, 6, XL_XS_PARSE_BAD_REQ_ID);
	n = mk_poison(b, XS_ERROR, 7, "EAGAIN", 7);
	PARSE_IS(b, n, XS_MKDIR, 7, XL_XS_PARSE_OK);
	PARSE_IS(b, n, XS_MKDIR, 8, XL_XS_PARSE_BAD_REQ_ID);
	return XT_PASS;
}

/*
 * The API's size checks at their bounds: a buffer of exactly the value
 * and its NUL and one byte less, a directory or permission list of
 * exactly the buffer and one more, xl_xs_vprintf()'s 255 and 256
 * characters, read_uint's largest value and one more, a length that
 * does not fit 32 bits, every transaction slot taken.
 */
static enum xt_result xs_api_bounds(void)
{
	static char big[300];
	struct hv_xs_hostile h = { 0 };
	struct hv_xs_stats hs;
	xl_xs_tx_t tx[33];
	char buf[64], *v;
	unsigned long u;
	size_t len;
	int err, n;
	unsigned int i;

	XS_UP();
	XT_ASSERT_EQ(xl_xs_write(0, "ab/v", "12345"), 0);
	memset(buf, 'q', sizeof(buf));
	XT_ASSERT_EQ(xl_xs_read(0, "ab/v", buf, 6, &len), 0);
	XT_ASSERT_EQ(len, 5);
	XT_ASSERT(!memcmp(buf, "12345", 6));
	XT_ASSERT_EQ(xl_xs_read(0, "ab/v", buf, 5, &len), -XEN_ENOSPC);
	XT_ASSERT_EQ(len, 5);
	XT_ASSERT_EQ(xl_xs_read(0, "ab/v", buf, 6, NULL), 0);
	v = xl_xs_read_alloc(0, "ab/v", &err);
	XT_ASSERT(v != NULL);
	XT_ASSERT_EQ(err, 0);
	XT_ASSERT(!strcmp(v, "12345"));
	xl_os_free(v);
	v = xl_xs_read_alloc(0, "ab/none", &err);
	XT_ASSERT(v == NULL);
	XT_ASSERT_EQ(err, -XEN_ENOENT);

	/* read_uint: 0, the largest unsigned long, one more, no digits,
	 * the characters either side of '0'..'9', too long for its buffer. */
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", "0"), 0);
	u = 7;
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), 0);
	XT_ASSERT_EQ(u, 0);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", "9"), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), 0);
	XT_ASSERT_EQ(u, 9);
	snprintf(buf, sizeof(buf), "%lu", ~0UL);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", buf), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), 0);
	XT_ASSERT_EQ(u, ~0UL);
	snprintf(buf, sizeof(buf), "%lu", ~0UL - 9);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", buf), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), 0);
	XT_ASSERT_EQ(u, ~0UL - 9);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", "18446744073709551616"), 0);
	u = 7;
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), -XEN_EINVAL);
	XT_ASSERT_EQ(u, 7);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", "18446744073709551620"), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", ""), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", "1/"), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", ":1"), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", "00000000000000000000001"), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), 0); /* 23: fits */
	XT_ASSERT_EQ(u, 1);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/u", "000000000000000000000001"), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/u", &u), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_read_uint(0, "ab/none", &u), -XEN_ENOENT);

	/* directory: "a\0b\0" is 4 bytes: a 4-byte buffer holds it. */
	XT_ASSERT_EQ(xl_xs_write(0, "ab/d/a", ""), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "ab/d/b", ""), 0);
	memset(buf, 'q', sizeof(buf));
	XT_ASSERT_EQ(xl_xs_directory(0, "ab/d", buf, 4), 2);
	XT_ASSERT(!memcmp(buf, "a\0b\0q", 5));
	XT_ASSERT_EQ(xl_xs_directory(0, "ab/d", buf, 3), -XEN_ENOSPC);
	XT_ASSERT_EQ(xl_xs_directory(0, "ab/none", buf, 3), -XEN_ENOENT);
	snprintf(big, sizeof(big), "n%u", xt_domid());
	n = (int)strlen(big) + 1;
	XT_ASSERT_EQ(xl_xs_get_perms(0, "ab/v", buf, (size_t)n), n);
	XT_ASSERT(!memcmp(buf, big, (size_t)n));
	XT_ASSERT_EQ(xl_xs_get_perms(0, "ab/v", buf, (size_t)n - 1),
		     -XEN_ENOSPC);

	/* vprintf's buffer: 255 characters and the NUL fit, 256 do not. */
	memset(big, 'p', 255);
	big[255] = '\0';
	XT_ASSERT_EQ(xl_xs_printf(0, "ab/p", "%s", big), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "ab/p", big, sizeof(big), &len), 0);
	XT_ASSERT_EQ(len, 255);
	memset(big, 'p', 256);
	big[256] = '\0';
	XT_ASSERT_EQ(xl_xs_printf(0, "ab/p", "%s", big), -XEN_E2BIG);
	XT_ASSERT_EQ(xl_xs_read(0, "ab/p", big, sizeof(big), &len), 0);
	XT_ASSERT_EQ(len, 255);

	/* An empty result is a value; a format the host cannot format (a
	 * wide character the C locale has no byte for: vsnprintf -1,
	 * EILSEQ) is -XEN_EINVAL, and nothing is written. */
	XT_ASSERT_EQ(xl_xs_printf(0, "ab/p", "%s", ""), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "ab/p", big, sizeof(big), &len), 0);
	XT_ASSERT_EQ(len, 0);
	XT_ASSERT_EQ(xl_xs_printf(0, "ab/p", "%lc", (wint_t)0xd800),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_read(0, "ab/p", big, sizeof(big), &len), 0);
	XT_ASSERT_EQ(len, 0);

	/* A length over 32 bits is not cut to its low bits. */
	XT_ASSERT_EQ(xl_xs_write_bytes(0, "ab/v", "x", ((size_t)1 << 32) + 1),
		     -XEN_E2BIG);
	XT_ASSERT_EQ(xl_xs_read(0, "ab/v", buf, sizeof(buf), &len), 0);
	XT_ASSERT_EQ(len, 5);

	/* xenstored refusing a start (its quota, here 1): the error, and
	 * the client's slot is free again. */
	h.max_transactions = 1;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[0]), 0);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[1]), -XEN_ENOSPC);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx[0], true), 0);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[1]), 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx[1], true), 0);
	h.max_transactions = 0;

	/* Transaction ids: the largest, one more, 0 (no transaction). */
	strcpy(h.tx_id, "4294967295");
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[0]), 0);
	XT_ASSERT(tx[0] != XL_XS_NO_TX);
	/* hv opened another id: this one it does not know. */
	XT_ASSERT_EQ(xl_xs_write(tx[0], "ab/v", "1"), -XEN_ENOENT);
	xl_xs_transaction_end(tx[0], true);
	strcpy(h.tx_id, "4294967296");
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[0]), -XEN_EIO);
	strcpy(h.tx_id, "4294967300");
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[0]), -XEN_EIO);
	strcpy(h.tx_id, "0");
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[0]), -XEN_EIO);
	hv_xs_get_stats(hv_guest_domain(), &hs);
	XT_ASSERT_EQ(hs.hostile, 4);
	/* The three refused ones took no slot; the hv ends of all four
	 * go with the domain. */

	/* 32 transactions at once (a xenstored allowing 40), the 33rd
	 * refused before it is sent; a slot freed is taken again, under a
	 * new handle. */
	h.tx_id[0] = '\0';
	h.max_transactions = 40;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	for (i = 0; i < 32; i++)
		XT_ASSERT_MSG(xl_xs_transaction_start(&tx[i]) == 0, "tx %u", i);
	for (i = 1; i < 32; i++)
		XT_ASSERT(tx[i] != tx[0] && tx[i] != XL_XS_NO_TX);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[32]), -XEN_ENOSPC);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx[31], true), 0);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx[32]), 0);
	XT_ASSERT(tx[32] != tx[31]);
	XT_ASSERT_EQ(xl_xs_write(tx[31], "ab/v", "1"), -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_write(tx[32], "ab/v", "x"), 0);
	for (i = 0; i < 31; i++)
		XT_ASSERT_EQ(xl_xs_transaction_end(tx[i], true), 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx[32], false), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "ab/v", buf, sizeof(buf), &len), 0);
	XT_ASSERT(len == 1 && buf[0] == 'x');
	XT_ASSERT_EQ(xl_xs_rm(0, "ab"), 0);
	return XT_PASS;
}

/*
 * The pump's byte accounting: one request whose reply is 19 bytes (a
 * header and "OK\0") reads 19 bytes in its largest run and defers
 * nothing; a reply of XENSTORE_PAYLOAD_MAX (four ring-fulls) is read in
 * runs of at most XL_XS_PUMP_BUDGET bytes, the budget reached.
 */
static enum xt_result xs_pump_bytes(void)
{
	char *v = malloc(XENSTORE_PAYLOAD_MAX + 1), abs[96];
	struct xl_xs_stats st;
	size_t len;

	XS_UP();
	XT_ASSERT(v);
	XT_ASSERT_EQ(xl_xs_write(0, "pb", "1"), 0);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.requests, 1);
	XT_ASSERT_EQ(st.replies, 1);
	XT_ASSERT_EQ(st.pump_max, sizeof(struct xsd_sockmsg) + 3);
	XT_ASSERT_EQ(st.pump_deferred, 0);
	memset(v, 'b', XENSTORE_PAYLOAD_MAX);
	dom_path(abs, sizeof(abs), "pb");
	XT_ASSERT_EQ(hv_xs_write_bytes(abs, v, XENSTORE_PAYLOAD_MAX), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "pb", v, XENSTORE_PAYLOAD_MAX + 1, &len), 0);
	XT_ASSERT_EQ(len, XENSTORE_PAYLOAD_MAX);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.pump_max, XL_XS_PUMP_BUDGET);
	free(v);
	return XT_PASS;
}

/*
 * A second xl_xs_init() on a live client is refused with -XEN_EBUSY and
 * changes nothing: the ring indexes, the watches and the statistics stay,
 * and the next requests and events work.
 */
static enum xt_result xs_init_twice(void)
{
	struct xl_xs_watch w = { 0 };
	struct xl_xs_stats st;
	struct wrec r;
	char buf[16];

	XS_UP();
	memset(&r, 0, sizeof(r));
	XT_ASSERT_EQ(xl_xs_write(0, "it", "1"), 0);
	XT_ASSERT_EQ(xl_xs_watch(&w, "it", wrec_fn, &r), 0);
	XT_ASSERT_EQ(xl_xs_init(), -XEN_EBUSY);
	XT_ASSERT(xl_xs_ready());
	XT_ASSERT_EQ(xl_xs_write(0, "it", "2"), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "it", buf, sizeof(buf), NULL), 0);
	XT_ASSERT(!strcmp(buf, "2"));
	XT_ASSERT_EQ(wrec_wait(&r, 2), 2);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.requests, 4);
	XT_ASSERT_EQ(st.replies, 4);
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	return XT_PASS;
}

/* --- xenbus through a fake backend ------------------------------------------------- */

/*
 * The fake backend: domain 0 code on hv's xenstored, the part of blkback
 * that talks xenbus.  It watches the frontend's state and answers:
 * frontend Initialised -> backend Connected; frontend Closing -> backend
 * Closing then Closed.  Nodes as libxl makes them.
 */
struct fake_be {
	char fe[96], be[96], fe_state[112], be_state[112], token[32];
	unsigned int fe_changes; /* atomic */
	int auto_connect;
};

static void be_write_state(struct fake_be *b, enum xenbus_state s)
{
	char v[4];

	snprintf(v, sizeof(v), "%u", (unsigned int)s);
	hv_xs_write(b->be_state, v);
}

static void be_fe_changed(const char *path, const char *token, void *arg)
{
	struct fake_be *b = arg;
	char *v = hv_xs_read(b->fe_state, NULL, NULL);
	unsigned long s = v ? strtoul(v, NULL, 10) : 0;

	(void)path;
	(void)token;
	free(v);
	__atomic_fetch_add(&b->fe_changes, 1, __ATOMIC_SEQ_CST);
	if (s == XenbusStateInitialised &&
	    __atomic_load_n(&b->auto_connect, __ATOMIC_SEQ_CST))
		be_write_state(b, XenbusStateConnected);
	if (s == XenbusStateClosing) {
		be_write_state(b, XenbusStateClosing);
		be_write_state(b, XenbusStateClosed);
	}
}

static int fake_be_setup(struct fake_be *b, const char *cls, unsigned int id)
{
	struct hv_xs_perm p[2] = { { 0, 'n' }, { xt_domid(), 'r' } };
	char path[160], v[96];
	int rc;

	memset(b, 0, sizeof(*b));
	b->auto_connect = 1;
	snprintf(b->fe, sizeof(b->fe), "/local/domain/%u/device/%s/%u",
		 xt_domid(), cls, id);
	snprintf(b->be, sizeof(b->be), "/local/domain/0/backend/%s/%u/%u", cls,
		 xt_domid(), id);
	snprintf(b->fe_state, sizeof(b->fe_state), "%s/state", b->fe);
	snprintf(b->be_state, sizeof(b->be_state), "%s/state", b->be);
	snprintf(b->token, sizeof(b->token), "fake-%s-%u", cls, id);
	rc = hv_xs_mkdir(b->be);
	if (!rc)
		rc = hv_xs_set_perms(b->be, p, 2);
	snprintf(path, sizeof(path), "%s/frontend", b->be);
	if (!rc)
		rc = hv_xs_write(path, b->fe);
	snprintf(path, sizeof(path), "%s/feature-x", b->be);
	if (!rc)
		rc = hv_xs_write(path, "1");
	snprintf(path, sizeof(path), "%s/backend", b->fe);
	if (!rc)
		rc = hv_xs_write(path, b->be);
	snprintf(path, sizeof(path), "%s/backend-id", b->fe);
	if (!rc)
		rc = hv_xs_write(path, "0");
	if (!rc) {
		snprintf(v, sizeof(v), "%u", XenbusStateInitialising);
		rc = hv_xs_write(b->fe_state, v);
	}
	if (!rc)
		be_write_state(b, XenbusStateInitWait);
	if (!rc)
		rc = hv_xs_watch(b->fe_state, b->token, be_fe_changed, b);
	return rc;
}

static void fake_be_stop(struct fake_be *b)
{
	hv_xs_unwatch(b->fe_state, b->token);
	hv_xs_rm(b->be);
}

struct drv {
	unsigned int probes, connects, disconnects, closing_disconnects;
	unsigned long feature;
	int fail_probe;
};

static int drv_probe(struct xl_xenbus_device *dev)
{
	struct drv *d = dev->priv;

	d->probes++;
	if (d->fail_probe)
		return d->fail_probe;
	return xl_xenbus_printf(dev, 0, "ring-ref", "%u", 8u + d->probes);
}

static int drv_connect(struct xl_xenbus_device *dev)
{
	struct drv *d = dev->priv;

	d->connects++;
	return xl_xenbus_read_otherend_uint(dev, "feature-x", &d->feature);
}

static void drv_disconnect(struct xl_xenbus_device *dev, bool closing)
{
	struct drv *d = dev->priv;

	d->disconnects++;
	if (closing)
		d->closing_disconnects++;
}

static const struct xl_xenbus_ops drv_ops = {
	.probe = drv_probe,
	.connect = drv_connect,
	.disconnect = drv_disconnect,
};

#define XB_TIMEOUT (5000 * MS)

static unsigned long fe_state_now(struct fake_be *b)
{
	char *v = hv_xs_read(b->fe_state, NULL, NULL);
	unsigned long s = v ? strtoul(v, NULL, 10) : 99;

	free(v);
	return s;
}

static enum xt_result xb_up(struct fake_be *b, struct xl_xenbus_device *dev,
			    struct drv *d)
{
	struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };

	XS_UP();
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	XT_ASSERT_EQ(fake_be_setup(b, "vbd", 768), 0);
	XT_ASSERT_EQ(xl_xenbus_device_init(dev, "device/vbd/768", &drv_ops, d),
		     0);
	XT_ASSERT(!strcmp(dev->otherend, b->be));
	XT_ASSERT_EQ(dev->otherend_id, 0);
	return XT_PASS;
}

#define XB_UP(b, dev, d)                               \
	do {                                           \
		enum xt_result up_ = xb_up(b, dev, d); \
		if (up_ != XT_PASS)                    \
			return up_;                    \
	} while (0)

static enum xt_result xb_connect_close(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };
	char path[128], buf[16];

	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(dev.state, XenbusStateConnected);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateConnected);
	XT_ASSERT_EQ(d.probes, 1);
	XT_ASSERT_EQ(d.connects, 1);
	XT_ASSERT_EQ(d.feature, 1);
	XT_ASSERT_EQ(d.disconnects, 0);
	XT_ASSERT_EQ(xl_xs_read(0, "device/vbd/768/ring-ref", buf, sizeof(buf),
				NULL),
		     0);
	XT_ASSERT(!strcmp(buf, "9"));
	/* Our close: backend answers Closing/Closed, we end Closed. */
	XT_ASSERT_EQ(xl_xenbus_close(&dev, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(dev.state, XenbusStateClosed);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateClosed);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	snprintf(path, sizeof(path), "%s", b.be);
	XT_ASSERT(!hv_xs_read(path, NULL, NULL));
	return XT_PASS;
}

/* The backend restarts while we are connected: disconnect, handshake
 * again, connected again. */
static enum xt_result xb_backend_restart(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };
	unsigned int i;

	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	for (i = 1; i <= 3; i++) {
		be_write_state(&b, XenbusStateInitialising);
		be_write_state(&b, XenbusStateInitWait);
		/* Connected again, through Initialised. */
		while (d.connects < i + 1) {
			int rc = xl_xenbus_wait(&dev, XenbusStateConnected,
						XB_TIMEOUT);

			XT_ASSERT_EQ(rc, 0);
		}
		XT_ASSERT_EQ(dev.state, XenbusStateConnected);
		XT_ASSERT_EQ(d.probes, i + 1);
		XT_ASSERT_EQ(d.connects, i + 1);
		XT_ASSERT_EQ(d.disconnects, i);
		XT_ASSERT_EQ(d.closing_disconnects, 0);
		XT_ASSERT_EQ(dev.restarts, i);
	}
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateConnected);
	xl_xenbus_device_fini(&dev);
	XT_ASSERT_EQ(d.disconnects, 4);
	fake_be_stop(&b);
	return XT_PASS;
}

/* The backend closes while we are connected: we end Closed and a wait
 * for Connected fails with ENODEV; then it comes back. */
static enum xt_result xb_backend_closing(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };

	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	be_write_state(&b, XenbusStateClosing);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateClosed, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateClosed);
	/* Waiting from Closed: for the backend to come back. */
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateConnected, 30 * MS),
		     -XEN_ETIMEDOUT);
	/* Back: Closed -> InitWait -> we probe and connect again. */
	be_write_state(&b, XenbusStateClosed);
	be_write_state(&b, XenbusStateInitWait);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateConnected, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(d.probes, 2);
	XT_ASSERT_EQ(d.connects, 2);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	return XT_PASS;
}

/* A backend that never connects: the wait times out; a failing probe
 * closes the device with the driver's error. */
static enum xt_result xb_timeout_and_probe_error(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };
	uint64_t t0;

	XB_UP(&b, &dev, &d);
	__atomic_store_n(&b.auto_connect, 0, __ATOMIC_SEQ_CST);
	t0 = xt_now_ns();
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, 50 * MS), -XEN_ETIMEDOUT);
	XT_ASSERT(xt_now_ns() - t0 >= 50 * MS);
	XT_ASSERT_EQ(dev.state, XenbusStateInitialised);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);

	memset(&d, 0, sizeof(d));
	d.fail_probe = -XEN_ENOMEM;
	XT_ASSERT_EQ(fake_be_setup(&b, "vbd", 769), 0);
	XT_ASSERT_EQ(
		xl_xenbus_device_init(&dev, "device/vbd/769", &drv_ops, &d), 0);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), -XEN_ENOMEM);
	XT_ASSERT_EQ(dev.state, XenbusStateClosed);
	XT_ASSERT_EQ(d.connects, 0);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	/* No such device: the toolstack made no nodes. */
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev, "device/vbd/1", &drv_ops, &d),
		     -XEN_ENOENT);
	return XT_PASS;
}

/* Poll the device's watch until it has seen backend state s. */
static bool xb_saw_backend(struct xl_xenbus_device *dev, enum xenbus_state s)
{
	uint64_t t0 = xt_now_ns();

	while (xt_now_ns() - t0 < XB_TIMEOUT) {
		xl_xenbus_poll(dev);
		if (dev->backend_state == s)
			return true;
		xt_sleep_ns(MS);
	}
	return false;
}

/*
 * Backend states a block frontend has no use for, while connected:
 * Reconfiguring (7) and Reconfigured (8), the last valid state, change
 * nothing; 9, past the last, reads as Unknown, a restart: disconnect (not
 * closing), back to Initialising; then InitWait connects again.
 */
static enum xt_result xb_backend_odd_states(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };

	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(dev.changed, 0); /* nothing polled yet */
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(dev.changed, 1); /* a flag: fired, not a count */
	be_write_state(&b, XenbusStateReconfiguring);
	XT_ASSERT(xb_saw_backend(&dev, XenbusStateReconfiguring));
	be_write_state(&b, XenbusStateReconfigured);
	XT_ASSERT(xb_saw_backend(&dev, XenbusStateReconfigured));
	XT_ASSERT_EQ(dev.state, XenbusStateConnected);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateConnected);
	XT_ASSERT_EQ(dev.restarts, 0);
	XT_ASSERT_EQ(d.disconnects, 0);
	be_write_state(&b, (enum xenbus_state)9);
	XT_ASSERT(xb_saw_backend(&dev, XenbusStateUnknown));
	XT_ASSERT_EQ(dev.state, XenbusStateInitialising);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateInitialising);
	XT_ASSERT_EQ(dev.restarts, 1);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 0);
	be_write_state(&b, XenbusStateInitWait);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateConnected, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(d.probes, 2);
	XT_ASSERT_EQ(d.connects, 2);
	XT_ASSERT_EQ(dev.connects, 2);
	xl_xenbus_device_fini(&dev);
	XT_ASSERT_EQ(d.disconnects, 2);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	fake_be_stop(&b);
	return XT_PASS;
}

/*
 * The backend is Closed when the frontend starts (one that served an
 * earlier frontend and waits for our Initialising): we stay Initialising,
 * probe nothing and close nothing, and connect once it offers InitWait.
 */
static enum xt_result xb_backend_closed_at_start(void)
{
	struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };

	XS_UP();
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	XT_ASSERT_EQ(fake_be_setup(&b, "vbd", 768), 0);
	be_write_state(&b, XenbusStateClosed);
	XT_ASSERT_EQ(
		xl_xenbus_device_init(&dev, "device/vbd/768", &drv_ops, &d), 0);
	XT_ASSERT(xb_saw_backend(&dev, XenbusStateClosed));
	XT_ASSERT_EQ(dev.state, XenbusStateInitialising);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateInitialising);
	XT_ASSERT_EQ(d.probes, 0);
	XT_ASSERT_EQ(d.disconnects, 0);
	/* A wait from Initialising is not ended by the Closed backend. */
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateConnected, 20 * MS),
		     -XEN_ETIMEDOUT);
	be_write_state(&b, XenbusStateInitWait);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateConnected, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(d.probes, 1);
	XT_ASSERT_EQ(d.connects, 1);
	XT_ASSERT_EQ(d.disconnects, 0);
	XT_ASSERT_EQ(dev.restarts, 0);
	XT_ASSERT_EQ(xl_xenbus_close(&dev, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	xl_xenbus_device_fini(&dev);
	XT_ASSERT_EQ(d.disconnects, 1);
	fake_be_stop(&b);
	return XT_PASS;
}

/*
 * The paths xenbus builds, "<base>/<key>", at the edge of their buffers
 * (XL_XENBUS_PATH_MAX * 2 bytes with the NUL): the longest key that fits
 * reaches xenstore (a read of the backend's node finds nothing, a write of
 * ours makes the node, named by the whole key), one more byte is
 * -XEN_E2BIG and reaches nothing.  Node names: empty, or as long as the
 * name buffer (no room for the NUL), are -XEN_EINVAL; one shorter passes
 * to the toolstack's nodes (none: -XEN_ENOENT).
 */
static enum xt_result xb_path_bounds(void)
{
	static char key[2 * XL_XENBUS_PATH_MAX + 2],
		path[3 * XL_XENBUS_PATH_MAX], name[XL_XENBUS_PATH_MAX + 1];
	struct fake_be b;
	struct xl_xenbus_device dev, dev2;
	struct drv d = { 0 };
	size_t kl;
	unsigned long v = 99;

	XB_UP(&b, &dev, &d);
	kl = 2 * XL_XENBUS_PATH_MAX - strlen(dev.otherend) - 2;
	memset(key, 'k', kl);
	key[kl] = '\0';
	XT_ASSERT_EQ(xl_xenbus_read_otherend_uint(&dev, key, &v), -XEN_ENOENT);
	key[kl] = 'k';
	key[kl + 1] = '\0';
	XT_ASSERT_EQ(xl_xenbus_read_otherend_uint(&dev, key, &v), -XEN_E2BIG);
	XT_ASSERT_EQ(v, 99);

	kl = 2 * XL_XENBUS_PATH_MAX - strlen(dev.nodename) - 2;
	memset(key, 'w', kl);
	key[kl] = '\0';
	XT_ASSERT_EQ(xl_xenbus_printf(&dev, 0, key, "%u", 7u), 0);
	snprintf(path, sizeof(path), "%s/%s", dev.nodename, key);
	XT_ASSERT_EQ(xl_xs_read_uint(0, path, &v), 0);
	XT_ASSERT_EQ(v, 7);
	XT_ASSERT_EQ(xl_xs_rm(0, path), 0);
	key[kl] = 'w';
	key[kl + 1] = '\0';
	XT_ASSERT_EQ(xl_xenbus_printf(&dev, 0, key, "%u", 8u), -XEN_E2BIG);
	snprintf(path, sizeof(path), "%s/%s", dev.nodename, key);
	path[strlen(dev.nodename) + 1 + kl] = '\0';
	XT_ASSERT_EQ(xl_xs_read_uint(0, path, &v), -XEN_ENOENT);

	XT_ASSERT_EQ(xl_xenbus_device_init(&dev2, "", &drv_ops, &d),
		     -XEN_EINVAL);
	memset(name, 'n', XL_XENBUS_PATH_MAX);
	name[XL_XENBUS_PATH_MAX] = '\0';
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev2, name, &drv_ops, &d),
		     -XEN_EINVAL);
	name[XL_XENBUS_PATH_MAX - 1] = '\0';
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev2, name, &drv_ops, &d),
		     -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev2, "device/vbd/768", NULL, &d),
		     -XEN_EINVAL);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	return XT_PASS;
}

/*
 * A driver with no probe and no connect step (both optional): each step
 * succeeds, Initialised then Connected, error 0.  A wait for a state we
 * never reach ends when the backend closes us, with -XEN_ENODEV (no
 * driver error to report).
 */
static const struct xl_xenbus_ops drv_ops_bare = {
	.disconnect = drv_disconnect,
};

static enum xt_result xb_bare_driver(void)
{
	struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };

	XS_UP();
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	XT_ASSERT_EQ(fake_be_setup(&b, "vbd", 768), 0);
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev, "device/vbd/768",
					   &drv_ops_bare, &d),
		     0);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(dev.state, XenbusStateConnected);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateConnected);
	XT_ASSERT_EQ(dev.error, 0);
	XT_ASSERT_EQ(dev.connects, 1);
	be_write_state(&b, XenbusStateClosing);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateInitialising, XB_TIMEOUT),
		     -XEN_ENODEV);
	XT_ASSERT_EQ(dev.state, XenbusStateClosed);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	return XT_PASS;
}

/*
 * The backend goes Closed without Closing first (a backend killed by its
 * toolstack) while we are connected: we close too (disconnect, closing)
 * and end Closed; Closed again changes nothing; InitWait brings us back.
 */
static enum xt_result xb_backend_closed_direct(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };

	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	be_write_state(&b, XenbusStateClosed);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateClosed, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateClosed);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	XT_ASSERT_EQ(dev.restarts, 0);
	be_write_state(&b, XenbusStateClosed);
	XT_ASSERT(xb_saw_backend(&dev, XenbusStateClosed));
	xt_sleep_ns(10 * MS);
	xl_xenbus_poll(&dev);
	XT_ASSERT_EQ(dev.state, XenbusStateClosed);
	XT_ASSERT_EQ(d.disconnects, 1);
	be_write_state(&b, XenbusStateInitWait);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateConnected, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(d.probes, 2);
	XT_ASSERT_EQ(d.connects, 2);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	return XT_PASS;
}

/*
 * The toolstack's links are input too: <node>/backend empty or not an
 * absolute path, and a backend-id in the reserved range (DOMID_FIRST_
 * RESERVED and up), are -XEN_EINVAL; the last ordinary domid passes.
 */
static enum xt_result xb_bad_links(void)
{
	struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };
	char path[160], id[16];
	struct hv_xs_perm ro[2] = { { 0, 'n' }, { 0, 'r' } }, rw[1];

	XS_UP();
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	XT_ASSERT_EQ(fake_be_setup(&b, "vbd", 768), 0);
	ro[1].domid = xt_domid();
	rw[0].domid = xt_domid();
	rw[0].perm = 'n';
	snprintf(path, sizeof(path), "%s/backend", b.fe);
	XT_ASSERT_EQ(hv_xs_write(path, ""), 0);
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev, "device/vbd/768", &drv_ops,
					   &d),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(hv_xs_write(path, "local/domain/0/backend/vbd"), 0);
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev, "device/vbd/768", &drv_ops,
					   &d),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(hv_xs_write(path, b.be), 0);
	snprintf(path, sizeof(path), "%s/backend-id", b.fe);
	XT_ASSERT_EQ(hv_xs_rm(path), 0);
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev, "device/vbd/768", &drv_ops,
					   &d),
		     -XEN_ENOENT);
	/* Our state node not writable by us: the Initialising write fails. */
	XT_ASSERT_EQ(hv_xs_write(path, "0"), 0);
	XT_ASSERT_EQ(hv_xs_set_perms(b.fe_state, ro, 2), 0);
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev, "device/vbd/768", &drv_ops,
					   &d),
		     -XEN_EACCES);
	XT_ASSERT_EQ(hv_xs_set_perms(b.fe_state, rw, 1), 0);
	snprintf(id, sizeof(id), "%u", DOMID_FIRST_RESERVED);
	XT_ASSERT_EQ(hv_xs_write(path, id), 0);
	XT_ASSERT_EQ(xl_xenbus_device_init(&dev, "device/vbd/768", &drv_ops,
					   &d),
		     -XEN_EINVAL);
	snprintf(id, sizeof(id), "%u", DOMID_FIRST_RESERVED - 1);
	XT_ASSERT_EQ(hv_xs_write(path, id), 0);
	XT_ASSERT_EQ(
		xl_xenbus_device_init(&dev, "device/vbd/768", &drv_ops, &d), 0);
	XT_ASSERT_EQ(dev.otherend_id, DOMID_FIRST_RESERVED - 1);
	XT_ASSERT(!strcmp(dev.otherend, b.be));
	XT_ASSERT(!strcmp(dev.nodename, "device/vbd/768"));
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	return XT_PASS;
}

/* Nanoseconds this vCPU spent blocked so far (VCPUOP_get_runstate_info). */
static uint64_t blocked_ns(void)
{
	struct vcpu_runstate_info r;

	if (xl_hc_vcpu_op(VCPUOP_get_runstate_info, xl_os_vcpu_id(), &r))
		return 0;
	return r.time[RUNSTATE_blocked];
}

/*
 * The waits idle: a connect to a backend that never answers and a close
 * that it never answers block the vCPU (SCHEDOP_block through
 * xl_xs_idle_until) until their deadline, not spin on it.  At least half
 * of each 60 ms wait must be blocked time (a vCPU that spins has none).
 */
static enum xt_result xb_waits_block(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };
	uint64_t t0, b0, dt, db;

	XB_UP(&b, &dev, &d);
	__atomic_store_n(&b.auto_connect, 0, __ATOMIC_SEQ_CST);
	b0 = blocked_ns();
	t0 = xt_now_ns();
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, 60 * MS), -XEN_ETIMEDOUT);
	dt = xt_now_ns() - t0;
	db = blocked_ns() - b0;
	XT_ASSERT_MSG(db >= 30 * MS && dt >= 60 * MS,
		      "connect wait: %llu ns blocked of %llu",
		      (unsigned long long)db, (unsigned long long)dt);
	/* A backend that answers our Closing with nothing (still InitWait). */
	hv_xs_unwatch(b.fe_state, b.token);
	b0 = blocked_ns();
	t0 = xt_now_ns();
	XT_ASSERT_EQ(xl_xenbus_close(&dev, 60 * MS), -XEN_ETIMEDOUT);
	dt = xt_now_ns() - t0;
	db = blocked_ns() - b0;
	XT_ASSERT_MSG(db >= 30 * MS && dt >= 60 * MS,
		      "close wait: %llu ns blocked of %llu",
		      (unsigned long long)db, (unsigned long long)dt);
	xl_xenbus_device_fini(&dev);
	hv_xs_rm(b.be);
	return XT_PASS;
}

/*
 * A request xenstored answers 100 ms late (paused, then unpaused by a
 * host thread) blocks its vCPU meanwhile, with the default timeout and
 * with none (0: wait for good), and then succeeds: at least half the
 * wait is blocked time (a vCPU that spins has none), and with no
 * timeout it does not give up.
 */
static struct hv_domain *wb_dom;

static void *wb_unpause(void *arg)
{
	struct timespec ts = { 0, 100 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	hv_xs_pause(wb_dom, false);
	return NULL;
}

static enum xt_result xs_waits_block(void)
{
	struct xl_clock_config cc = { .mode = XL_CLOCK_SINGLESHOT };
	uint64_t old = xl_xs_get_timeout(), t0, b0, dt, db;
	unsigned int i;
	pthread_t th;
	int rc;

	XS_UP();
	XT_ASSERT_EQ(xl_clock_init(&cc), 0);
	wb_dom = hv_guest_domain();
	for (i = 0; i < 2; i++) {
		xl_xs_set_timeout(i ? 0 : old);
		hv_xs_pause(wb_dom, true);
		XT_ASSERT_EQ(pthread_create(&th, NULL, wb_unpause, NULL), 0);
		b0 = blocked_ns();
		t0 = xt_now_ns();
		rc = xl_xs_write(0, "wb", i ? "1" : "0");
		dt = xt_now_ns() - t0;
		db = blocked_ns() - b0;
		pthread_join(th, NULL);
		xl_xs_set_timeout(old);
		XT_ASSERT_EQ(rc, 0);
		XT_ASSERT_MSG(db >= 50 * MS && dt >= 90 * MS,
			      "timeout %s: %llu ns blocked of %llu",
			      i ? "0" : "default", (unsigned long long)db,
			      (unsigned long long)dt);
	}
	return XT_PASS;
}

/*
 * A probe that fails closes the device with its error; a later wait from
 * Closed forgets that error and waits for the backend to come back (times
 * out, not the old error at once); the backend's Closed then InitWait
 * probes again, now successfully, and connects with error 0.
 */
static enum xt_result xb_probe_error_recover(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };

	d.fail_probe = -XEN_ENOMEM;
	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), -XEN_ENOMEM);
	XT_ASSERT_EQ(dev.state, XenbusStateClosed);
	XT_ASSERT_EQ(dev.error, -XEN_ENOMEM);
	d.fail_probe = 0;
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, 30 * MS), -XEN_ETIMEDOUT);
	XT_ASSERT_EQ(dev.error, 0);
	be_write_state(&b, XenbusStateClosed);
	be_write_state(&b, XenbusStateInitWait);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(dev.error, 0);
	XT_ASSERT_EQ(d.probes, 2);
	XT_ASSERT_EQ(d.connects, 1);
	xl_xenbus_device_fini(&dev);
	fake_be_stop(&b);
	return XT_PASS;
}

/*
 * Our close waits for the backend's answer to our Closing before it goes
 * Closed (<xen/io/xenbus.h>; blkback keeps the ring mapped until then):
 * with the backend still Connected we stay Closing; its Closing lets us
 * go Closed, and only its Closed lets the driver disconnect (end the
 * ring's grants) and ends the close with 0.  The close runs on vCPU 1;
 * vCPU 0 plays the backend by hand.
 */
static struct {
	struct xl_xenbus_device *dev;
	int rc;
} xcw;

static void xcw_close(void *arg)
{
	(void)arg;
	xcw.rc = xl_xenbus_close(xcw.dev, XB_TIMEOUT);
}

static bool fe_state_leaves(struct fake_be *b, unsigned long from)
{
	uint64_t t0 = xt_now_ns();

	while (xt_now_ns() - t0 < XB_TIMEOUT) {
		if (fe_state_now(b) != from)
			return true;
		xt_sleep_ns(MS);
	}
	return false;
}

static enum xt_result xb_close_waits_backend(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };

	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	hv_xs_unwatch(b.fe_state, b.token); /* no automatic answers */
	xcw.dev = &dev;
	xcw.rc = 1;
	xt_start_on(1, xcw_close, NULL);
	XT_ASSERT(fe_state_leaves(&b, XenbusStateConnected));
	xt_sleep_ns(20 * MS);
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateClosing);
	XT_ASSERT_EQ(d.disconnects, 0); /* the ring stays until Closed */
	be_write_state(&b, XenbusStateClosing);
	XT_ASSERT(fe_state_leaves(&b, XenbusStateClosing));
	XT_ASSERT_EQ(fe_state_now(&b), XenbusStateClosed);
	/* Closed, but the backend still maps the ring until its Closed. */
	xt_sleep_ns(20 * MS);
	XT_ASSERT_EQ(d.disconnects, 0);
	be_write_state(&b, XenbusStateClosed);
	xt_wait_on(1);
	XT_ASSERT_EQ(xcw.rc, 0);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	xl_xenbus_device_fini(&dev);
	hv_xs_rm(b.be);
	return XT_PASS;
}

/* Counts the watch events on the frontend's own state node. */
static void fe_state_ev(struct xl_xs_watch *w, const char *path, void *arg)
{
	(void)w;
	(void)path;
	__atomic_fetch_add((unsigned int *)arg, 1, __ATOMIC_SEQ_CST);
}

/* Poll until n events were counted; false after XB_TIMEOUT. */
static bool fe_events_reach(unsigned int *ev, unsigned int n)
{
	uint64_t t0 = xt_now_ns();

	while (xt_now_ns() - t0 < XB_TIMEOUT) {
		xl_xs_run_watches();
		if (XT_LOAD(ev) >= n)
			return true;
		xt_sleep_ns(MS);
	}
	return false;
}

/*
 * A close from Connected writes our state twice, Closing then Closed
 * (<xen/io/xenbus.h>: the frontend passes through Closing), whether the
 * backend closes first or we do; once Closed, the backend's own Closing
 * and Closed write nothing more.  Counted as the watch events of our
 * state node: one at registration, one per write.
 */
static enum xt_result xb_close_writes(void)
{
	struct fake_be b;
	struct xl_xenbus_device dev;
	struct drv d = { 0 };
	struct xl_xs_watch w = { 0 };
	static unsigned int ev;

	ev = 0;
	XB_UP(&b, &dev, &d);
	XT_ASSERT_EQ(xl_xenbus_connect(&dev, XB_TIMEOUT), 0);
	XT_ASSERT_EQ(xl_xs_watch(&w, "device/vbd/768/state", fe_state_ev, &ev),
		     0);
	XT_ASSERT(fe_events_reach(&ev, 1));
	be_write_state(&b, XenbusStateClosing);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateClosed, XB_TIMEOUT), 0);
	XT_ASSERT_MSG(fe_events_reach(&ev, 3), "%u writes of our state",
		      XT_LOAD(&ev) - 1);
	be_write_state(&b, XenbusStateClosed);
	XT_ASSERT(xb_saw_backend(&dev, XenbusStateClosed));
	xt_sleep_ns(20 * MS);
	xl_xs_run_watches();
	XT_ASSERT_EQ(XT_LOAD(&ev), 3);
	XT_ASSERT_EQ(d.disconnects, 1);
	XT_ASSERT_EQ(d.closing_disconnects, 1);
	/* Back, connected; then our own close. */
	be_write_state(&b, XenbusStateInitWait);
	XT_ASSERT_EQ(xl_xenbus_wait(&dev, XenbusStateConnected, XB_TIMEOUT), 0);
	XT_ASSERT(fe_events_reach(&ev, 5)); /* Initialised, Connected */
	XT_ASSERT_EQ(xl_xenbus_close(&dev, XB_TIMEOUT), 0);
	XT_ASSERT(fe_events_reach(&ev, 7));
	xt_sleep_ns(20 * MS);
	xl_xs_run_watches();
	XT_ASSERT_EQ(XT_LOAD(&ev), 7);
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	xl_xenbus_device_fini(&dev);
	XT_ASSERT_EQ(d.disconnects, 2);
	fake_be_stop(&b);
	return XT_PASS;
}

/*
 * xl_xenbus_state_name(): each state of <xen/io/xenbus.h> by its name, the
 * last one (Reconfigured, 8) included, and "Invalid" from the first value
 * past it and for a negative one.
 */
static enum xt_result xb_state_names(void)
{
	static const char *const want[] = {
		"Unknown",     "Initialising",	"InitWait",
		"Initialised", "Connected",	"Closing",
		"Closed",      "Reconfiguring", "Reconfigured",
	};
	unsigned int i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		XT_ASSERT_MSG(
			!strcmp(xl_xenbus_state_name((enum xenbus_state)i),
				want[i]),
			"state %u: %s", i,
			xl_xenbus_state_name((enum xenbus_state)i));
	XT_ASSERT_EQ(XenbusStateReconfigured, 8);
	XT_ASSERT(
		!strcmp(xl_xenbus_state_name((enum xenbus_state)9), "Invalid"));
	XT_ASSERT(!strcmp(xl_xenbus_state_name((enum xenbus_state) - 1),
			  "Invalid"));
	return XT_PASS;
}

/* The domain's xenstore nodes go when it goes: checked on the next
 * domain, which gets the same id (hv reuses the slot). */
static char leftover_path[96];

static enum xt_result xs_release_1(void)
{
	char be[96];

	XS_UP();
	XT_ASSERT_EQ(xl_xs_write(0, "leftover", "1"), 0);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u/5/state",
		 xt_domid());
	XT_ASSERT_EQ(hv_xs_write(be, "1"), 0);
	dom_path(leftover_path, sizeof(leftover_path), "leftover");
	return XT_PASS;
}

static enum xt_result xs_release_2(void)
{
	char be[96];
	int err = 0;

	XS_UP();
	XT_SKIP_IF(!leftover_path[0], "needs xs/release_1 first");
	XT_ASSERT(!hv_xs_read(leftover_path, NULL, &err));
	XT_ASSERT_EQ(err, -XEN_ENOENT);
	snprintf(be, sizeof(be), "/local/domain/0/backend/vbd/%u", xt_domid());
	XT_ASSERT(!hv_xs_read(be, NULL, &err));
	XT_ASSERT_EQ(err, -XEN_ENOENT);
	return XT_PASS;
}

/*
 * xl_xs_init failing after its per-vCPU IPIs are bound (the store port's
 * EVTCHNOP_status refused by the hook, so bind_existing fails): -EIO back,
 * not ready, and every IPI it bound closed, in Xen and in the core (none
 * left for vCPU 0 or any other); a second init then works.
 */
struct xs_initfail {
	evtchn_port_t ipi[XL_MAX_VCPUS];
	unsigned int nr_ipi; /* under the calling vCPU: init runs on one */
};

static long xs_initfail_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			     long rc, void *data)
{
	struct xs_initfail *f = data;

	if (!after && cmd == EVTCHNOP_status)
		return -XEN_EIO;
	if (after && !rc && cmd == EVTCHNOP_bind_ipi &&
	    f->nr_ipi < XL_MAX_VCPUS)
		f->ipi[f->nr_ipi++] = ((struct evtchn_bind_ipi *)arg)->port;
	return 0;
}

static enum xt_result xs_init_fails(void)
{
	struct xs_initfail f = { .nr_ipi = 0 };
	struct evtchn_status st;
	char buf[16];
	unsigned int i;
	size_t len;
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), xs_initfail_hook, &f);
	rc = xl_xs_init();
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(rc, -XEN_EIO);
	XT_ASSERT(!xl_xs_ready());
	XT_ASSERT_EQ(f.nr_ipi, xt_nr_vcpus());
	for (i = 0; i < f.nr_ipi; i++) {
		XT_ASSERT_EQ(xl_evtchn_port_type(f.ipi[i]), XL_PORT_FREE);
		XT_ASSERT_EQ(xt_status(DOMID_SELF, f.ipi[i], &st), 0);
		XT_ASSERT_MSG(st.status == EVTCHNSTAT_closed,
			      "vCPU %u's IPI port %u left with status %u", i,
			      f.ipi[i], st.status);
	}
	XT_ASSERT_EQ(xl_xs_init(), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "data/init", "2"), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "data/init", buf, sizeof(buf), &len), 0);
	XT_ASSERT_EQ(len, 1);
	XT_ASSERT_EQ(buf[0], '2');
	return XT_PASS;
}

/*
 * xl_xs_init failing at the second vCPU's IPI (EVTCHNOP_bind_ipi refused
 * with -XEN_ENOSPC): the error is returned, the client is not ready, the
 * first vCPU's IPI is closed again, and a later init works.
 */
static long xs_ipifail_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			    long rc, void *data)
{
	struct xs_initfail *f = data;

	(void)v;
	if (cmd != EVTCHNOP_bind_ipi)
		return 0;
	if (!after && f->nr_ipi == 1)
		return -XEN_ENOSPC;
	if (after && !rc && f->nr_ipi < XL_MAX_VCPUS)
		f->ipi[f->nr_ipi++] = ((struct evtchn_bind_ipi *)arg)->port;
	return 0;
}

static enum xt_result xs_init_ipi_fails(void)
{
	struct xs_initfail f = { .nr_ipi = 0 };
	struct evtchn_status st;
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), xs_ipifail_hook, &f);
	rc = xl_xs_init();
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(rc, -XEN_ENOSPC);
	XT_ASSERT(!xl_xs_ready());
	XT_ASSERT_EQ(f.nr_ipi, 1);
	XT_ASSERT_EQ(xl_evtchn_port_type(f.ipi[0]), XL_PORT_FREE);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, f.ipi[0], &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	XT_ASSERT_EQ(xl_xs_write(0, "data/ipi", "1"), -XEN_ENODEV);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "data/ipi", "2"), 0);
	return XT_PASS;
}

/*
 * xl_xs_fini() closes every vCPU's IPI (2 vCPUs), and twice: the second
 * does nothing.  Between them the ports
 * the first closed are taken by IPIs of someone else (the lowest free
 * ports, the IPIs' and the store port's numbers again): the second fini
 * leaves them bound.  Then xl_xs_init() connects again.
 */
static void fini2_fn(evtchn_port_t port, void *data)
{
	(void)port;
	(void)data;
}

static enum xt_result xs_fini_twice(void)
{
	struct xs_initfail f = { .nr_ipi = 0 };
	struct evtchn_status st;
	evtchn_port_t p[4];
	unsigned int i;
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), xs_ipifail_hook, &f);
	f.nr_ipi = 2; /* no failure: only record the IPIs bound */
	rc = xl_xs_init();
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(f.nr_ipi, 2 + xt_nr_vcpus());
	XT_ASSERT_EQ(xl_xs_write(0, "f2", "1"), 0);
	xl_xs_fini();
	XT_ASSERT(!xl_xs_ready());
	/* Every vCPU's IPI closed, in the core and in Xen. */
	for (i = 2; i < f.nr_ipi; i++) {
		XT_ASSERT_EQ(xl_evtchn_port_type(f.ipi[i]), XL_PORT_FREE);
		XT_ASSERT_EQ(xt_status(DOMID_SELF, f.ipi[i], &st), 0);
		XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	}
	for (i = 0; i < 4; i++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, fini2_fn, NULL, &p[i]), 0);
	xl_xs_fini();
	for (i = 0; i < 4; i++)
		XT_ASSERT_MSG(xl_evtchn_port_type(p[i]) == XL_PORT_IPI,
			      "port %u closed by a second fini", p[i]);
	XT_ASSERT_EQ(xl_xs_write(0, "f2", "2"), -XEN_ENODEV);
	for (i = 0; i < 4; i++)
		xl_evtchn_close(p[i]);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "f2", "3"), 0);
	return XT_PASS;
}

/*
 * Suspend and resume of a client that is not connected (never
 * initialised, or finished): nothing in flight, nothing to do.
 */
static enum xt_result xs_suspend_not_ready(void)
{
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_xs_suspend(0), 0);
	XT_ASSERT_EQ(xl_xs_resume(true), 0);
	XT_ASSERT_EQ(xl_xs_resume(false), 0);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "snr", "1"), 0);
	xl_xs_fini();
	XT_ASSERT_EQ(xl_xs_suspend(0), 0);
	XT_ASSERT_EQ(xl_xs_resume(false), 0);
	XT_ASSERT(!xl_xs_ready());
	return XT_PASS;
}

/*
 * Every request gives back what it allocated (the request, its message
 * and reply buffers: xs_req_free), on success, on a Xen error reply, in a
 * transaction, around a watch, and when one of its three allocations
 * fails (-ENOMEM, hv_guest_fail_zalloc): the count of live xl_os_zalloc()
 * blocks is the same before and after, exactly.
 */
static void noleak_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	__atomic_fetch_add((unsigned int *)arg, 1, __ATOMIC_SEQ_CST);
}

static enum xt_result xs_no_leak(void)
{
	struct xl_xs_watch w = { 0 };
	unsigned int fired = 0, i;
	char buf[64];
	long live0;
	xl_xs_tx_t tx;
	size_t len;
	char *v;
	int err;

	XS_UP();
	XT_ASSERT_EQ(xl_xs_write(0, "data/leak", "x"), 0);
	live0 = hv_guest_zalloc_live();
	for (i = 0; i < 8; i++) {
		XT_ASSERT_EQ(xl_xs_write(0, "data/leak", "abc"), 0);
		XT_ASSERT_EQ(xl_xs_read(0, "data/leak", buf, sizeof(buf), &len),
			     0);
		XT_ASSERT_EQ(len, 3);
		XT_ASSERT_EQ(xl_xs_read(0, "data/none", buf, sizeof(buf), &len),
			     -XEN_ENOENT);
		v = xl_xs_read_alloc(0, "data/leak", &err);
		XT_ASSERT(v);
		XT_ASSERT_EQ(err, 0);
		XT_ASSERT(!strcmp(v, "abc"));
		xl_os_free(v);
		XT_ASSERT_EQ(xl_xs_mkdir(0, "data/leakdir"), 0);
		XT_ASSERT(xl_xs_directory(0, "data", buf, sizeof(buf)) > 0);
		XT_ASSERT_EQ(xl_xs_rm(0, "data/leakdir"), 0);
		XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
		XT_ASSERT_EQ(xl_xs_write(tx, "data/leak", "t"), 0);
		XT_ASSERT_EQ(xl_xs_transaction_end(tx, i & 1), 0);
	}
	XT_ASSERT_EQ(hv_guest_zalloc_live(), live0);
	XT_ASSERT_EQ(xl_xs_watch(&w, "data/leak", noleak_fn, &fired), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "data/leak", "w"), 0);
	for (i = 0; i < 1000 && __atomic_load_n(&fired, __ATOMIC_SEQ_CST) < 2;
	     i++) {
		xl_xs_run_watches();
		xt_sleep_ns(MS);
	}
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	XT_ASSERT_EQ(__atomic_load_n(&fired, __ATOMIC_SEQ_CST), 2);
	XT_ASSERT_EQ(hv_guest_zalloc_live(), live0);
	/* The request, its message, its reply buffer: each one failing. */
	for (i = 0; i < 3; i++) {
		int rc;

		hv_guest_fail_zalloc(i);
		rc = xl_xs_write(0, "data/leak", "e");
		hv_guest_fail_zalloc(-1);
		XT_ASSERT_MSG(rc == -XEN_ENOMEM, "allocation %u failing: %d", i,
			      rc);
		XT_ASSERT_EQ(hv_guest_zalloc_live(), live0);
	}
	XT_ASSERT_EQ(xl_xs_read(0, "data/leak", buf, sizeof(buf), &len), 0);
	XT_ASSERT(!strcmp(buf, "w"));
	XT_ASSERT_EQ(hv_guest_zalloc_live(), live0);
	return XT_PASS;
}

/*
 * xl_xs_watch()'s refusals, each before anything is sent or kept: no
 * path or no callback (-XEN_EINVAL), the path's copy not allocated
 * (-XEN_ENOMEM): xenstored saw no request, no allocation is left, and
 * a watch made afterwards works; once unwatched, xenstored sends nothing
 * for it.
 */
static enum xt_result xs_watch_refused(void)
{
	struct xl_xs_watch w;
	struct hv_xs_stats h0, h1;
	struct wrec r;
	long live0;
	int rc;

	XS_UP();
	memset(&r, 0, sizeof(r));
	hv_xs_get_stats(hv_guest_domain(), &h0);
	live0 = hv_guest_zalloc_live();
	XT_ASSERT_EQ(xl_xs_watch(&w, NULL, wrec_fn, &r), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_xs_watch(&w, "wr", NULL, &r), -XEN_EINVAL);
	hv_guest_fail_zalloc(0);
	rc = xl_xs_watch(&w, "wr", wrec_fn, &r);
	hv_guest_fail_zalloc(-1);
	XT_ASSERT_EQ(rc, -XEN_ENOMEM);
	XT_ASSERT_EQ(hv_guest_zalloc_live(), live0);
	hv_xs_get_stats(hv_guest_domain(), &h1);
	XT_ASSERT_EQ(h1.requests, h0.requests);
	XT_ASSERT(!xl_xs_watches_pending());
	XT_ASSERT_EQ(xl_xs_watch(&w, "wr", wrec_fn, &r), 0);
	XT_ASSERT_EQ(wrec_wait(&r, 1), 1);
	XT_ASSERT(!strcmp(r.all[0], "wr"));
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	/* Unwatched in xenstored too: a change there sends no event. */
	hv_xs_get_stats(hv_guest_domain(), &h0);
	XT_ASSERT_EQ(xl_xs_write(0, "wr", "1"), 0);
	hv_xs_get_stats(hv_guest_domain(), &h1);
	XT_ASSERT_EQ(h1.events, h0.events);
	XT_ASSERT_EQ(h1.requests - h0.requests, 1);
	/* Twice: not a watch any more, nothing sent. */
	XT_ASSERT_EQ(xl_xs_unwatch(&w), -XEN_EINVAL);
	hv_xs_get_stats(hv_guest_domain(), &h0);
	XT_ASSERT_EQ(h0.requests, h1.requests);
	return XT_PASS;
}

/*
 * A callback that unwatches its own watch: the unwatch does not wait for
 * the callback it is called from (that would never end) and returns 0;
 * the watch then never fires again, in the client or in xenstored.
 */
struct self_uw {
	unsigned int calls;
	int rc;
};

static void self_uw_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	struct self_uw *u = arg;

	(void)path;
	if (!u->calls++)
		u->rc = xl_xs_unwatch(w);
}

static enum xt_result xs_unwatch_in_callback(void)
{
	struct xl_xs_watch w = { 0 };
	struct self_uw u = { 0, 1 };
	struct hv_xs_stats h0, h1;

	XS_UP();
	XT_ASSERT_EQ(xl_xs_watch(&w, "su", self_uw_fn, &u), 0);
	/* The registration's event, taken in with the reply. */
	XT_ASSERT_EQ(xl_xs_run_watches(), 1);
	XT_ASSERT_EQ(u.calls, 1);
	XT_ASSERT_EQ(u.rc, 0);
	XT_ASSERT(w.path == NULL);
	hv_xs_get_stats(hv_guest_domain(), &h0);
	XT_ASSERT_EQ(xl_xs_write(0, "su", "1"), 0);
	hv_xs_get_stats(hv_guest_domain(), &h1);
	XT_ASSERT_EQ(h1.events, h0.events);
	XT_ASSERT_EQ(xl_xs_run_watches(), 0);
	XT_ASSERT_EQ(u.calls, 1);
	return XT_PASS;
}

/*
 * One dispatcher at a time, and an unwatch from another vCPU waits for
 * the callback: vCPU 0 runs the watches, whose first callback holds
 * until a host thread releases it (150 ms); meanwhile vCPU 1 runs the
 * watches too (0: vCPU 0 dispatches; the second event stays queued),
 * then unwatches the held watch, which returns only once the callback
 * is over.
 */
static struct {
	int in_cb, release, cb_done; /* atomic */
	unsigned int ran1;
	int uw_rc, done_at_return;
	struct xl_xs_watch w;
} de;

static void de_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	uint64_t t0 = xt_now_ns();

	(void)w;
	(void)path;
	(void)arg;
	if (XT_LOAD(&de.in_cb))
		return;
	__atomic_store_n(&de.in_cb, 1, __ATOMIC_SEQ_CST);
	while (!XT_LOAD(&de.release) && xt_now_ns() - t0 < 10000 * MS)
		sched_yield();
	__atomic_store_n(&de.cb_done, 1, __ATOMIC_SEQ_CST);
}

static void *de_release(void *arg)
{
	struct timespec ts = { 0, 150 * 1000 * 1000 };
	uint64_t t0 = xt_now_ns();

	(void)arg;
	while (!XT_LOAD(&de.in_cb) && xt_now_ns() - t0 < 10000 * MS)
		sched_yield();
	nanosleep(&ts, NULL);
	__atomic_store_n(&de.release, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static bool de_in_cb(void *arg)
{
	(void)arg;
	return XT_LOAD(&de.in_cb) != 0;
}

static void de_vcpu1(void *arg)
{
	(void)arg;
	if (!xt_wait_until(de_in_cb, NULL, 10000 * MS))
		return;
	de.ran1 = xl_xs_run_watches();
	de.uw_rc = xl_xs_unwatch(&de.w);
	de.done_at_return = XT_LOAD(&de.cb_done);
}

static enum xt_result xs_dispatch_exclusive(void)
{
	pthread_t th;
	unsigned int ran;

	XS_UP();
	memset(&de, 0, sizeof(de));
	de.uw_rc = 1;
	de.ran1 = 99;
	XT_ASSERT_EQ(xl_xs_watch(&de.w, "de", de_fn, NULL), 0);
	XT_ASSERT_EQ(xl_xs_write(0, "de", "1"), 0);
	/* Two events queued: the registration's and the write's. */
	XT_ASSERT(xl_xs_watches_pending());
	XT_ASSERT_EQ(pthread_create(&th, NULL, de_release, NULL), 0);
	xt_start_on(1, de_vcpu1, NULL);
	ran = xl_xs_run_watches();
	pthread_join(th, NULL);
	xt_wait_on(1);
	XT_ASSERT_EQ(de.ran1, 0);
	XT_ASSERT_EQ(de.uw_rc, 0);
	XT_ASSERT_EQ(de.done_at_return, 1);
	/* vCPU 0 ran the held callback, then found the watch gone. */
	XT_ASSERT_EQ(ran, 1);
	XT_ASSERT(!xl_xs_watches_pending());
	return XT_PASS;
}

/*
 * xl_xs_printf through the host's formatter (xl_os_vsnprintf(), os.h) at
 * the edges of the conversions the core uses: zero and the signs of %d
 * and %lld (no "-0"), the extremes of each length, %x, %c, %s and %%;
 * each value read back byte for byte.
 */
static enum xt_result xs_printf_edges(void)
{
	static const struct {
		const char *want;
	} t[] = { { "0" },
		  { "-1" },
		  { "1" },
		  { "-2147483648" },
		  { "-9223372036854775808" },
		  { "18446744073709551615" },
		  { "ffffffff" },
		  { "0|x|s|%" } };
	char buf[64];
	unsigned int i;
	size_t len;
	int rc;

	XS_UP();
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		switch (i) {
		case 0:
			rc = xl_xs_printf(0, "data/pf", "%d", 0);
			break;
		case 1:
			rc = xl_xs_printf(0, "data/pf", "%d", -1);
			break;
		case 2:
			rc = xl_xs_printf(0, "data/pf", "%ld", 1L);
			break;
		case 3:
			rc = xl_xs_printf(0, "data/pf", "%d", -2147483647 - 1);
			break;
		case 4:
			rc = xl_xs_printf(0, "data/pf", "%lld",
					  -9223372036854775807LL - 1);
			break;
		case 5:
			rc = xl_xs_printf(0, "data/pf", "%zu", (size_t)~0UL);
			break;
		case 6:
			rc = xl_xs_printf(0, "data/pf", "%x", 0xffffffffu);
			break;
		default:
			rc = xl_xs_printf(0, "data/pf", "%u|%c|%s|%%", 0u, 'x',
					  "s");
			break;
		}
		XT_ASSERT_EQ(rc, 0);
		XT_ASSERT_EQ(xl_xs_read(0, "data/pf", buf, sizeof(buf), &len),
			     0);
		XT_ASSERT_MSG(
			len == strlen(t[i].want) && !strcmp(buf, t[i].want),
			"case %u: \"%s\", want \"%s\"", i, buf, t[i].want);
	}
	return XT_PASS;
}

/* hv's own API: domain 0's watches fire once, then on change. */
struct d0w {
	unsigned int n; /* atomic */
	char last[96];	/* under the service thread */
};

static void d0w_fn(const char *path, const char *token, void *arg)
{
	struct d0w *w = arg;

	(void)token;
	snprintf(w->last, sizeof(w->last), "%s", path);
	__atomic_fetch_add(&w->n, 1, __ATOMIC_SEQ_CST);
}

static bool d0w_at(void *arg)
{
	struct d0w *w = arg;

	return __atomic_load_n(&w->n, __ATOMIC_SEQ_CST) >= 2;
}

static enum xt_result xs_hv_api(void)
{
	struct d0w w = { 0 };
	unsigned int num = 0;
	char **dir;
	char *v;
	int err = 0;

	XT_ASSERT_EQ(hv_xs_write("/test-hvapi/a", "1"), 0);
	XT_ASSERT_EQ(hv_xs_write("/test-hvapi/b", "2"), 0);
	dir = hv_xs_directory("/test-hvapi", &num, &err);
	XT_ASSERT(dir);
	XT_ASSERT_EQ(num, 2);
	XT_ASSERT(!strcmp(dir[0], "a") && !strcmp(dir[1], "b") && !dir[2]);
	free(dir);
	XT_ASSERT_EQ(hv_xs_watch("/test-hvapi", "t", d0w_fn, &w), 0);
	XT_ASSERT_EQ(hv_xs_watch("/test-hvapi", "t", d0w_fn, &w), -XEN_EEXIST);
	XT_ASSERT_EQ(hv_xs_write("/test-hvapi/b", "3"), 0);
	XT_ASSERT(xt_wait_until(d0w_at, &w, 2000 * MS));
	XT_ASSERT_EQ(hv_xs_unwatch("/test-hvapi", "t"), 0);
	XT_ASSERT_EQ(hv_xs_unwatch("/test-hvapi", "t"), -XEN_ENOENT);
	XT_ASSERT(!strcmp(w.last, "/test-hvapi/b"));
	XT_ASSERT_EQ(hv_xs_write("/test-hvapi/b", "4"), 0);
	xt_sleep_ns(10 * MS);
	XT_ASSERT_EQ(__atomic_load_n(&w.n, __ATOMIC_SEQ_CST), 2);
	v = hv_xs_read("/test-hvapi/b", NULL, &err);
	XT_ASSERT(v && !strcmp(v, "4"));
	free(v);
	XT_ASSERT_EQ(hv_xs_write("relative", "1"), -XEN_EINVAL);
	XT_ASSERT_EQ(hv_xs_rm("/test-hvapi"), 0);
	XT_ASSERT(!hv_xs_read("/test-hvapi/a", NULL, &err));
	XT_ASSERT_EQ(err, -XEN_ENOENT);
	return XT_PASS;
}

/*
 * A fini/init cycle of the core with xenstore in use.  xl_evtchn_fini
 * reset the domain with a raw EVTCHNOP_reset, which closes every port,
 * the toolstack's store port too (event_channel.c, evtchn_reset): the
 * next xl_xs_init found it closed (bind_existing: -EINVAL) and xenstore
 * was gone for good.  fini resets through xl_evtchn_reset_domain() now,
 * which binds the toolstack's ports again at the same numbers, with the
 * ports masked first: Xen raises a re-bound port, which must stay pending
 * after fini and raise no upcall.  Checked twice (FIFO and 2-level): after
 * fini the store port is masked and pending and no upcall came; after
 * init it is open and connected to xenstored's end as before, and
 * xenstore reads what was written before the cycle and takes a new
 * write.
 */
static bool l2_bit(const xen_ulong_t *map, uint32_t port)
{
	return (__atomic_load_n(&map[port / (8 * sizeof(xen_ulong_t))],
				__ATOMIC_SEQ_CST) >>
		(port % (8 * sizeof(xen_ulong_t)))) &
	       1;
}

static enum xt_result fini_init_keeps_store(bool force_2level)
{
	struct hv_domain_stats hs0, hs1;
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct evtchn_status st0, st1;
	char buf[64];
	size_t len;
	void *intf;
	uint32_t port;
	unsigned int i;

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	XT_ASSERT_EQ(xl_os_xenstore_ring(&intf, &port), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, port, &st0), 0);
	XT_ASSERT_EQ(st0.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(xl_xs_write(0, "data/cycle", "before"), 0);
	for (i = 0; i < 2; i++) {
		xl_xs_fini();
		hv_domain_get_stats(hv_guest_domain(), &hs0);
		xl_evtchn_fini();
		/*
		 * Xen raised the re-bound store port, with the ports masked
		 * (2-level after the reset): pending for the next instance,
		 * and no upcall meanwhile, which a host that frees its
		 * upcall vector after fini must not get.
		 */
		xt_sleep_ns(XT_SETTLE_NS);
		hv_domain_get_stats(hv_guest_domain(), &hs1);
		XT_ASSERT(l2_bit(xl_os_shared_info()->evtchn_mask, port));
		XT_ASSERT(l2_bit(xl_os_shared_info()->evtchn_pending, port));
		XT_ASSERT_EQ(hs1.upcalls_delivered, hs0.upcalls_delivered);
		XT_ASSERT_EQ(xt_core_init(&cfg), 0);
		XT_ASSERT_EQ(xt_status(DOMID_SELF, port, &st1), 0);
		XT_ASSERT_MSG(st1.status == EVTCHNSTAT_interdomain,
			      "cycle %u: store port %u is in state %u after "
			      "fini/init, not interdomain (%u)",
			      i, port, st1.status, EVTCHNSTAT_interdomain);
		XT_ASSERT_EQ(st1.u.interdomain.dom, st0.u.interdomain.dom);
		XT_ASSERT_EQ(st1.u.interdomain.port, st0.u.interdomain.port);
		XT_ASSERT_EQ(xl_xs_init(), 0);
		XT_ASSERT_EQ(
			xl_xs_read(0, "data/cycle", buf, sizeof(buf), &len), 0);
		XT_ASSERT(len == 6 && !strcmp(buf, "before"));
	}
	XT_ASSERT_EQ(xl_xs_write(0, "data/cycle", "after"), 0);
	XT_ASSERT_EQ(xl_xs_read(0, "data/cycle", buf, sizeof(buf), &len), 0);
	XT_ASSERT(len == 5 && !strcmp(buf, "after"));
	return XT_PASS;
}

static enum xt_result fifo_fini_init_keeps_store(void)
{
	return fini_init_keeps_store(false);
}

static enum xt_result l2_fini_init_keeps_store(void)
{
	return fini_init_keeps_store(true);
}

const struct xt_test xt_xs_tests[] = {
	{ "xen/bind_states", XT_HV, 1, false, xen_bind_states, 0 },
	{ "xen/send_notify", XT_HV, 1, false, xen_send_notify, 0 },
	{ "xen/close_race", XT_HV, 1, false, xen_close_race, 0 },
	{ "hvm/get_param", XT_HV, 1, true, hvm_get_param, XS_F },
	{ "hvm/no_xenstore", XT_HV, 1, false, hvm_no_xenstore, 0 },
	{ "xs/basic", XT_HV, 1, false, xs_basic, XS_F },
	{ "xs/fifo_fini_init_keeps_store", XT_HV, 1, false,
	  fifo_fini_init_keeps_store, XS_F },
	{ "xs/2l_fini_init_keeps_store", XT_HV, 1, false,
	  l2_fini_init_keeps_store, XS_F },
	{ "xs/perms", XT_HV, 1, false, xs_perms, XS_F },
	{ "xs/big_values", XT_HV, 1, false, xs_big_values, XS_F },
	{ "xs/transactions", XT_HV, 1, false, xs_transactions, XS_F },
	{ "xs/tx_concurrent", XT_HV, 2, false, xs_tx_concurrent, XS_F },
	{ "xs/watches", XT_HV, 1, false, xs_watches, XS_F },
	{ "xs/watch_flood", XT_HV, 1, false, xs_watch_flood, XS_F },
	{ "xs/evq_exact", XT_HV, 1, false, xs_evq_exact, XS_F },
	{ "xs/evq_one_over", XT_HV, 1, false, xs_evq_one_over, XS_F },
	{ "xs/evq_two_over", XT_HV, 1, false, xs_evq_two_over, XS_F },
	{ "xs/idle_wakeup", XT_HV, 2, false, xs_idle_wakeup, XS_F },
	{ "xs/concurrent", XT_HV, 2, false, xs_concurrent, XS_F },
	{ "xs/ring_full", XT_HV, 2, false, xs_ring_full, XS_F },
	{ "xs/timeout", XT_HV, 1, false, xs_timeout, XS_F },
	{ "xs/timeout_partial", XT_HV, 2, false, xs_timeout_partial, XS_F },
	{ "xs/waits_block", XT_HV, 1, false, xs_waits_block, XS_F },
	{ "xs/hostile_req_id", XT_HV, 1, false, xs_hostile_req_id, XS_F },
	{ "xs/hostile_len", XT_HV, 1, false, xs_hostile_len, XS_F },
	{ "xs/hostile_unterminated", XT_HV, 1, false, xs_hostile_unterminated,
	  XS_F },
	{ "xs/hostile_rsp_prod", XT_HV, 1, false, xs_hostile_rsp_prod, XS_F },
	{ "xs/hostile_type", XT_HV, 1, false, xs_hostile_type, XS_F },
	{ "xs/stray_reply", XT_HV, 1, false, xs_stray_reply, XS_F },
	{ "xs/out_of_order", XT_HV, 2, false, xs_out_of_order, XS_F },
	{ "xs/suspend_wakes", XT_HV, 2, false, xs_suspend_wakes, XS_F },
	{ "xs/bad_request_len", XT_HV, 1, false, xs_bad_request_len, XS_F },
	{ "xs/bad_request_ringidx", XT_HV, 1, false, xs_bad_request_ringidx,
	  XS_F },
	{ "xs/outstanding_quota", XT_HV, 1, false, xs_outstanding_quota, XS_F },
	{ "xs/event_bound", XT_HV, 1, false, xs_event_bound, XS_F },
	{ "xs/wire_errors", XT_HV, 1, false, xs_wire_errors, XS_F },
	{ "xs/reset_watches", XT_HV, 1, false, xs_reset_watches, XS_F },
	{ "xs/directory_part", XT_HV, 1, false, xs_directory_part, XS_F },
	{ "xs/parser", XT_HV, 1, false, xs_parser, 0 },
	{ "xs/parser_bounds", XT_HV, 1, false, xs_parser_bounds, 0 },
	{ "xs/api_bounds", XT_HV, 1, false, xs_api_bounds, XS_F },
	{ "xs/pump_bytes", XT_HV, 1, false, xs_pump_bytes, XS_F },
	{ "xs/init_twice", XT_HV, 1, false, xs_init_twice, XS_F },
	{ "xs/hv_api", XT_HV, 1, false, xs_hv_api, 0 },
	{ "xs/init_fails", XT_HV, 1, false, xs_init_fails, XS_F },
	{ "xs/init_ipi_fails", XT_HV, 2, false, xs_init_ipi_fails, XS_F },
	{ "xs/fini_twice", XT_HV, 2, false, xs_fini_twice, XS_F },
	{ "xs/suspend_not_ready", XT_HV, 1, false, xs_suspend_not_ready, XS_F },
	{ "xs/watch_refused", XT_HV, 1, false, xs_watch_refused, XS_F },
	{ "xs/unwatch_in_callback", XT_HV, 1, false, xs_unwatch_in_callback,
	  XS_F },
	{ "xs/dispatch_exclusive", XT_HV, 2, false, xs_dispatch_exclusive,
	  XS_F },
	{ "xs/printf_edges", XT_HV, 1, false, xs_printf_edges, XS_F },
	{ "xs/no_leak", XT_HV, 1, false, xs_no_leak, XS_F },
	{ "xs/release_1", XT_HV, 1, false, xs_release_1, XS_F },
	{ "xs/release_2", XT_HV, 1, false, xs_release_2, XS_F },
	{ "xenbus/connect_close", XT_HV, 1, false, xb_connect_close, XS_F },
	{ "xenbus/backend_restart", XT_HV, 1, false, xb_backend_restart, XS_F },
	{ "xenbus/backend_closing", XT_HV, 1, false, xb_backend_closing, XS_F },
	{ "xenbus/timeout_probe_error", XT_HV, 1, false,
	  xb_timeout_and_probe_error, XS_F },
	{ "xenbus/state_names", XT_HV, 1, false, xb_state_names, 0 },
	{ "xenbus/path_bounds", XT_HV, 1, false, xb_path_bounds, XS_F },
	{ "xenbus/close_writes", XT_HV, 1, false, xb_close_writes, XS_F },
	{ "xenbus/bare_driver", XT_HV, 1, false, xb_bare_driver, XS_F },
	{ "xenbus/bad_links", XT_HV, 1, false, xb_bad_links, XS_F },
	{ "xenbus/waits_block", XT_HV, 1, false, xb_waits_block, XS_F },
	{ "xenbus/close_waits_backend", XT_HV, 2, false, xb_close_waits_backend,
	  XS_F },
	{ "xenbus/probe_error_recover", XT_HV, 1, false, xb_probe_error_recover,
	  XS_F },
	{ "xenbus/backend_closed_direct", XT_HV, 1, false,
	  xb_backend_closed_direct, XS_F },
	{ "xenbus/backend_odd_states", XT_HV, 1, false, xb_backend_odd_states,
	  XS_F },
	{ "xenbus/backend_closed_at_start", XT_HV, 1, false,
	  xb_backend_closed_at_start, XS_F },
};

const unsigned int xt_xs_nr_tests =
	sizeof(xt_xs_tests) / sizeof(xt_xs_tests[0]);
