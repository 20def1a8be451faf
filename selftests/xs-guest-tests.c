// SPDX-License-Identifier: GPL-2.0
/*
 * xenstore cases that use only the guest's side (the core's client on the
 * ring), so the same table runs on hv's xenstored and on real Xen's
 * (cxenstored in a Linux dom0, the test kernel as a PVH domU): what the
 * fidelity check compares.  hv's own backend-side and hostile cases are in
 * xs-tests.c.  dom0 has no xenstore ring (no xenstored runs when the test
 * kernel is dom0), so these skip there.
 *
 * Paths are relative, i.e. below /local/domain/<domid>/ (xenstored's
 * rule, xs_wire.h "relative paths"); the tests keep to data/, the subtree
 * libxl gives a domU write access to.
 */
#include <string.h>

#include <xenlite/xenstore.h>

#include "xt-util.h"

#define BASE "data/xlt"

static enum xt_result up(void)
{
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	rc = xl_xs_init();
	if (rc == -XEN_ENODEV && xt_backend() == XT_XEN_DOM0) {
		xt_skip_reason("dom0 has no xenstore ring (no xenstored runs)");
		return XT_SKIP;
	}
	XT_ASSERT_EQ(rc, 0);
	/* Whatever an earlier run left. */
	rc = xl_xs_rm(XL_XS_NO_TX, BASE);
	XT_ASSERT_MSG(rc == 0 || rc == -XEN_ENOENT, "rm %s: %d", BASE, rc);
	return XT_PASS;
}

#define UP()                               \
	do {                               \
		enum xt_result up_ = up(); \
		if (up_ != XT_PASS)        \
			return up_;        \
	} while (0)

static bool has_child(const char *names, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++, names += strlen(names) + 1)
		if (!strcmp(names, name))
			return true;
	return false;
}

/* write, read back, directory, rm, and the errors of a missing node. */
static enum xt_result gxs_round_trip(void)
{
	char buf[64], names[256];
	size_t len;
	int n;

	UP();
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/a", "hello"), 0);
	XT_ASSERT_EQ(xl_xs_printf(XL_XS_NO_TX, BASE "/b", "%u-%x", 42U, 255U),
		     0);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, BASE "/a", buf, sizeof(buf), &len),
		     0);
	XT_ASSERT_EQ(len, 5);
	XT_ASSERT(!strcmp(buf, "hello"));
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, BASE "/b", buf, sizeof(buf), &len),
		     0);
	XT_ASSERT(!strcmp(buf, "42-ff"));
	n = xl_xs_directory(XL_XS_NO_TX, BASE, names, sizeof(names));
	XT_ASSERT_EQ(n, 2);
	XT_ASSERT(has_child(names, n, "a") && has_child(names, n, "b"));
	/* A buffer too small says so, and how long the value is. */
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, BASE "/a", buf, 3, &len),
		     -XEN_ENOSPC);
	XT_ASSERT_EQ(len, 5);
	XT_ASSERT_EQ(xl_xs_rm(XL_XS_NO_TX, BASE), 0);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, BASE "/a", buf, sizeof(buf), NULL),
		     -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_directory(XL_XS_NO_TX, BASE, names, sizeof(names)),
		     -XEN_ENOENT);
	return XT_PASS;
}

/* A domU may not write dom0's nodes (xenstored's permission check). */
static enum xt_result gxs_no_access(void)
{
	UP();
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "/local/domain/0/xlt", "x"),
		     -XEN_EACCES);
	return XT_PASS;
}

/*
 * Optimistic transactions: a node the transaction read changes outside
 * it, so its commit fails with EAGAIN and nothing it wrote lands; the
 * retry helper then succeeds and counts its attempts.
 */
static int incr_body(xl_xs_tx_t tx, void *arg)
{
	unsigned long v;
	int rc = xl_xs_read_uint(tx, BASE "/n", &v);

	if (rc)
		return rc;
	if (arg && !*(int *)arg) {
		/* First attempt only: a writer outside the transaction. */
		*(int *)arg = 1;
		rc = xl_xs_write(XL_XS_NO_TX, BASE "/n", "10");
		if (rc)
			return rc;
	}
	return xl_xs_printf(tx, BASE "/n", "%lu", v + 1);
}

static enum xt_result gxs_transactions(void)
{
	unsigned long v;
	unsigned int tries = 0;
	int raced = 0;
	xl_xs_tx_t tx;

	UP();
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/n", "1"), 0);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
	XT_ASSERT(tx != XL_XS_NO_TX);
	XT_ASSERT_EQ(xl_xs_read_uint(tx, BASE "/n", &v), 0);
	XT_ASSERT_EQ(v, 1);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/n", "5"), 0);
	XT_ASSERT_EQ(xl_xs_write(tx, BASE "/n", "2"), 0);
	XT_ASSERT_EQ(xl_xs_write(tx, BASE "/other", "x"), 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx, false), -XEN_EAGAIN);
	XT_ASSERT_EQ(xl_xs_read_uint(XL_XS_NO_TX, BASE "/n", &v), 0);
	XT_ASSERT_EQ(v, 5);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, BASE "/other", NULL, 0, NULL),
		     -XEN_ENOENT);
	/* An aborted transaction leaves no trace either. */
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
	XT_ASSERT_EQ(xl_xs_write(tx, BASE "/n", "7"), 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx, true), 0);
	XT_ASSERT_EQ(xl_xs_read_uint(XL_XS_NO_TX, BASE "/n", &v), 0);
	XT_ASSERT_EQ(v, 5);
	/* The retry helper: raced once (n = 10 meanwhile), then 10 + 1. */
	XT_ASSERT_EQ(xl_xs_transaction_run(incr_body, &raced, 4, &tries), 0);
	XT_ASSERT_EQ(tries, 2);
	XT_ASSERT_EQ(xl_xs_read_uint(XL_XS_NO_TX, BASE "/n", &v), 0);
	XT_ASSERT_EQ(v, 11);
	XT_ASSERT_EQ(xl_xs_rm(XL_XS_NO_TX, BASE), 0);
	return XT_PASS;
}

/*
 * Watches: xenstored fires one when it is registered, then for every
 * change at or below its path, with the changed node's path; none after
 * unwatch.
 */
struct gwatch {
	struct xl_xs_watch w;
	unsigned int n;
	char last[128];
};

static void gwatch_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	struct gwatch *g = arg;

	size_t n = strlen(path);

	if (n >= sizeof(g->last))
		n = sizeof(g->last) - 1;
	memcpy(g->last, path, n);
	g->last[n] = 0;
	g->n++;
}

static bool gwatch_fired(void *arg)
{
	return false; /* xl_xs_idle_until also returns on a queued event */
}

/* Run queued watch events until g has seen want of them (5 s at most). */
static bool gwatch_wait(struct gwatch *g, unsigned int want)
{
	uint64_t end = xt_now_ns() + 5000000000ULL;

	while (g->n < want && xt_now_ns() < end) {
		if (!xl_xs_run_watches())
			xl_xs_idle_until(gwatch_fired, NULL);
	}
	return g->n >= want;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);

	return a >= b && !strcmp(s + a - b, tail);
}

static enum xt_result gxs_watches(void)
{
	struct gwatch g = { 0 };
	unsigned int n;

	UP();
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/w/x", "0"), 0);
	XT_ASSERT_EQ(xl_xs_watch(&g.w, BASE "/w", gwatch_fn, &g), 0);
	XT_ASSERT_MSG(gwatch_wait(&g, 1), "no initial watch event");
	XT_ASSERT(ends_with(g.last, BASE "/w"));
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/w/x/y", "1"), 0);
	XT_ASSERT_MSG(gwatch_wait(&g, 2), "no event for a change below");
	XT_ASSERT(ends_with(g.last, BASE "/w/x/y"));
	/* Outside the watched subtree: nothing. */
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/elsewhere", "1"), 0);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/w/z", "2"), 0);
	XT_ASSERT_MSG(gwatch_wait(&g, 3), "no event for a new child");
	XT_ASSERT(ends_with(g.last, BASE "/w/z"));
	XT_ASSERT_EQ(xl_xs_unwatch(&g.w), 0);
	n = g.n;
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, BASE "/w/z", "3"), 0);
	/* A read after the write: any event would be queued by its reply. */
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, BASE "/w/z", NULL, 0, NULL),
		     -XEN_ENOSPC);
	xl_xs_run_watches();
	XT_ASSERT_EQ(g.n, n);
	XT_ASSERT_EQ(xl_xs_rm(XL_XS_NO_TX, BASE), 0);
	return XT_PASS;
}

#define GXS (XT_HV | XT_XEN_DOM0 | XT_XEN_DOMU)

const struct xt_test xt_xs_guest_tests[] = {
	{ "xs/guest_round_trip", GXS, 1, false, gxs_round_trip, XT_F_XENSTORE },
	{ "xs/guest_no_access", GXS, 1, false, gxs_no_access, XT_F_XENSTORE },
	{ "xs/guest_transactions", GXS, 1, false, gxs_transactions,
	  XT_F_XENSTORE },
	{ "xs/guest_watches", GXS, 1, false, gxs_watches, XT_F_XENSTORE },
};

const unsigned int xt_xs_guest_nr_tests =
	sizeof(xt_xs_guest_tests) / sizeof(xt_xs_guest_tests[0]);
