// SPDX-License-Identifier: GPL-2.0
/*
 * blkfront-lite against hv's blkback.  XT_HV only: the backend is hv's
 * in-process blkback (hv-blk.h), with hostile modes; the real-Xen part
 * (the test kernel as a PVH domU with Linux dom0's xen-blkback) is not
 * written yet.  "direct" cases wire ring-ref and event channel straight
 * into blkback; the others go through xenstore and xenbus.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv.h>
#include <hv-blk.h>
#include <hv-explore.h>
#include <hv-guest.h>
#include <hv-xs.h>

#include <xenlite/blkfront.h>
#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>
#include <xenlite/idle.h>
#include <xenlite/xenbus.h>
#include <xenlite/xenstore.h>
#include <xen/io/xenbus.h>

#include "xt-util.h"

#define DEVID 51712U /* xvda */
#define DISK_SECTORS 16384ULL
#define SPP XL_BLK_SECTORS_PER_PAGE
#define GUARD 0xa5

struct env {
	struct hv_blkback *bb;
	struct xl_blkfront *dev;
	bool xs;
	unsigned int order;
	evtchn_port_t port; /* direct: the frontend's event channel */
	grant_ref_t refs[XL_BLK_MAX_RING_PAGES]; /* direct: the ring's */
};

/*
 * How the next with_env() sets up (reset after it): a trusted backend (no
 * bounce buffers), or a direct ring that no backend connects to (requests
 * stay on the ring unanswered).
 */
static struct {
	bool trusted, no_backend;
	unsigned int tx_conflicts; /* xenstore commits answered EAGAIN */
} env_opts;

/* --- setup -------------------------------------------------------------- */

static int env_init(struct env *e, const struct hv_blkback_config *over,
		    unsigned int order, bool xs)
{
	struct hv_blkback_config c;
	struct xl_blkfront_features f;
	grant_ref_t refs[XL_BLK_MAX_RING_PAGES];
	evtchn_port_t port;
	int rc, err = 0;

	if (over)
		c = *over;
	else
		memset(&c, 0, sizeof(c));
	c.d = hv_guest_domain();
	c.devid = DEVID;
	if (!c.sectors)
		c.sectors = DISK_SECTORS;
	if (!over)
		c.max_ring_order = 4;
	c.xenstore = xs;
	e->xs = xs;
	rc = xt_core_init(NULL);
	if (rc)
		return rc;
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	rc = xl_gnttab_init();
	if (!rc && xs)
		rc = xl_xs_init();
	if (rc)
		return rc;
	if (xs && env_opts.tx_conflicts) {
		struct hv_xs_hostile h = { .tx_conflict =
						   env_opts.tx_conflicts };

		hv_xs_set_hostile(hv_guest_domain(), &h);
	}
	e->bb = hv_blkback_create(&c, &err);
	if (!e->bb)
		return err;
	e->dev = xl_blkfront_alloc(DEVID);
	if (!e->dev)
		return -XEN_ENOMEM;
	if (env_opts.trusted)
		xl_blkfront_set_trusted(e->dev, true);
	if (xs)
		return xl_blkfront_attach(e->dev, 0);
	rc = xl_blkfront_setup_ring(e->dev, 0, order, refs, &port);
	if (rc < 0)
		return rc;
	e->order = (unsigned int)rc;
	e->port = port;
	memcpy(e->refs, refs, sizeof(refs));
	rc = env_opts.no_backend ?
		     0 :
		     hv_blkback_connect_direct(e->bb, refs, e->order, port);
	if (rc)
		return rc;
	memset(&f, 0, sizeof(f));
	f.sectors = c.sectors;
	f.sector_size = 512;
	f.flush = !c.no_flush;
	f.barrier = c.barrier;
	return xl_blkfront_connect_direct(e->dev, &f);
}

static void env_fini(struct env *e)
{
	if (e->dev && e->xs && xl_blkfront_connected(e->dev))
		xl_blkfront_detach(e->dev, 0);
	if (e->bb && !e->xs)
		hv_blkback_disconnect(e->bb);
	xl_blkfront_free(e->dev);
	hv_blkback_destroy(e->bb);
	/* The backend unmapped everything: deferred ring pages go now. */
	if (xl_gnttab_ready() && xl_gnttab_retry_deferred())
		xt_log("grants still deferred after the backend went");
	if (e->xs)
		xl_xs_fini();
	xl_gnttab_fini();
}

typedef enum xt_result (*body_fn)(struct env *e, void *arg);

static enum xt_result with_env(body_fn body, void *arg,
			       const struct hv_blkback_config *c,
			       unsigned int order, bool xs)
{
	struct env e = { 0 };
	enum xt_result r = XT_FAIL;
	int rc = env_init(&e, c, order, xs);

	if (rc)
		xt_fail_msg(__FILE__, __LINE__, "env_init: %d", rc);
	else
		r = body(&e, arg);
	env_fini(&e);
	env_opts.trusted = false;
	env_opts.no_backend = false;
	env_opts.tx_conflicts = 0;
	return r;
}

/* --- data ------------------------------------------------------------------ */

static uint8_t pat(uint64_t seed, uint64_t byte)
{
	uint64_t x =
		seed * 0x9e3779b97f4a7c15ULL + byte * 0xbf58476d1ce4e5b9ULL;

	x ^= x >> 31;
	return (uint8_t)(x * 0x94d049bb133111ebULL >> 56);
}

/* Pattern of disk byte b in generation seed: data identify their place. */
static void fill_disk_pattern(uint8_t *p, uint64_t disk_byte, size_t n,
			      uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = pat(seed, disk_byte + i);
}

static size_t check_disk_pattern(const uint8_t *p, uint64_t disk_byte, size_t n,
				 uint64_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != pat(seed, disk_byte + i))
			return i + 1;
	return 0;
}

static uint64_t fnv(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/* n consecutive guest pages. */
static bool alloc_pages(void **pg, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		pg[i] = xl_os_alloc_page();
		if (!pg[i])
			return false;
	}
	return true;
}

static void free_pages(void **pg, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		xl_os_free_page(pg[i]);
}

static int sync_io(struct env *e, enum xl_blk_op op, uint64_t sector,
		   void **pages, unsigned int nr, unsigned int off,
		   unsigned int len)
{
	struct xl_blk_req req;
	int rc;

	memset(&req, 0, sizeof(req));
	rc = xl_blk_req_set_buf(&req, op, sector, pages, nr, off, len);
	return rc ? rc : xl_blkfront_io_sync(e->dev, &req);
}

/* --- connection -------------------------------------------------------------- */

static enum xt_result b_connect(struct env *e, void *arg)
{
	unsigned int want = (unsigned int)(uintptr_t)arg;
	struct xl_blkfront_features f;
	struct hv_blkback_stats bs;
	void *pg[2];
	uint8_t *ram = hv_blkback_ram(e->bb);

	XT_ASSERT(alloc_pages(pg, 2));
	xl_blkfront_get_features(e->dev, &f);
	XT_ASSERT_EQ(f.sectors, DISK_SECTORS);
	XT_ASSERT_EQ(f.sector_size, 512);
	XT_ASSERT_EQ(f.ring_order, want);
	XT_ASSERT(f.flush);
	XT_ASSERT(!f.barrier);
	XT_ASSERT(xl_blkfront_connected(e->dev));
	fill_disk_pattern(pg[0], 4096, 4096, 1);
	XT_ASSERT_EQ(sync_io(e, XL_BLK_WRITE, 8, pg, 1, 0, 4096), 0);
	XT_ASSERT_EQ(check_disk_pattern(ram + 4096, 4096, 4096, 1), 0);
	XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 8, pg + 1, 1, 0, 4096), 0);
	XT_ASSERT_EQ(check_disk_pattern(pg[1], 4096, 4096, 1), 0);
	hv_blkback_get_stats(e->bb, &bs);
	XT_ASSERT_EQ(bs.writes, 1);
	XT_ASSERT_EQ(bs.reads, 1);
	XT_ASSERT_EQ(bs.connects, 1);
	free_pages(pg, 2);
	return XT_PASS;
}

static enum xt_result blk_direct_order0(void)
{
	return with_env(b_connect, (void *)0, NULL, 0, false);
}

static enum xt_result blk_direct_order4(void)
{
	return with_env(b_connect, (void *)4, NULL, 4, false);
}

/* xenbus: max-ring-page-order 2 offered, so a 4-page ring. */
static enum xt_result blk_xenbus_connect(void)
{
	struct hv_blkback_config c = { .max_ring_order = 2 };

	return with_env(b_connect, (void *)2, &c, 0, true);
}

/*
 * What the frontend published for the backend (public/io/blkif.h): with a
 * 2^order-page ring exactly ring-ref0..ring-ref(2^order - 1) and
 * ring-page-order, or for order 0 ring-ref alone; each a distinct ref the
 * backend has mapped; event-channel and protocol.  The first key past the
 * last (ring-ref(2^order)) must not exist, nor the other form's keys.
 */
static enum xt_result b_xenbus_keys(struct env *e, void *arg)
{
	unsigned int order = (unsigned int)(uintptr_t)arg, n = 1U << order;
	unsigned long v, refs[XL_BLK_MAX_RING_PAGES], o;
	struct xl_blkfront_features f;
	char path[64], buf[32];
	unsigned int i, j;

	xl_blkfront_get_features(e->dev, &f);
	XT_ASSERT_EQ(f.ring_order, order);
	for (i = 0; i <= n; i++) {
		if (order)
			snprintf(path, sizeof(path), "device/vbd/%u/ring-ref%u",
				 DEVID, i);
		else
			snprintf(path, sizeof(path), "device/vbd/%u/ring-ref",
				 DEVID);
		if (i == n) {
			if (order)
				XT_ASSERT_EQ(xl_xs_read_uint(0, path, &v),
					     -XEN_ENOENT);
			break;
		}
		XT_ASSERT_EQ(xl_xs_read_uint(0, path, &v), 0);
		XT_ASSERT_MSG(xl_gnttab_is_mapped((grant_ref_t)v),
			      "%s = %lu: not a ref the backend mapped", path,
			      v);
		for (j = 0; j < i; j++)
			XT_ASSERT(refs[j] != v);
		refs[i] = v;
	}
	snprintf(path, sizeof(path), "device/vbd/%u/ring-page-order", DEVID);
	XT_ASSERT_EQ(xl_xs_read_uint(0, path, &o), order ? 0 : -XEN_ENOENT);
	if (order)
		XT_ASSERT_EQ(o, order);
	snprintf(path, sizeof(path), "device/vbd/%u/%s", DEVID,
		 order ? "ring-ref" : "ring-ref0");
	XT_ASSERT_EQ(xl_xs_read_uint(0, path, &v), -XEN_ENOENT);
	snprintf(path, sizeof(path), "device/vbd/%u/event-channel", DEVID);
	XT_ASSERT_EQ(xl_xs_read_uint(0, path, &v), 0);
	XT_ASSERT(v != 0);
	snprintf(path, sizeof(path), "device/vbd/%u/protocol", DEVID);
	XT_ASSERT_EQ(xl_xs_read(0, path, buf, sizeof(buf), NULL), 0);
	XT_ASSERT_EQ(strcmp(buf, "x86_64-abi"), 0);
	return XT_PASS;
}

/* The keys of a 4-page ring (max-ring-page-order 2 offered). */
static enum xt_result blk_xenbus_keys(void)
{
	struct hv_blkback_config c = { .max_ring_order = 2 };

	return with_env(b_xenbus_keys, (void *)2, &c, 0, true);
}

/* The keys of a 1-page ring (max-ring-page-order 0 offered). */
static enum xt_result blk_xenbus_keys_order0(void)
{
	struct hv_blkback_config c = { .max_ring_order = 0 };

	return with_env(b_xenbus_keys, (void *)0, &c, 0, true);
}

/*
 * A backend that writes no max-ring-page-order (one from before multi-page
 * rings, public/io/blkif.h: absent means a single page) gets a one-page
 * ring, though it would accept four.
 */
static enum xt_result blk_xenbus_keys_no_order(void)
{
	static const char *const omit[] = { "max-ring-page-order", NULL };
	struct hv_blkback_config c = { .max_ring_order = 2, .omit = omit };

	return with_env(b_xenbus_keys, (void *)0, &c, 0, true);
}

/*
 * The transaction that publishes the ring conflicts twice (hv answers its
 * first two commits EAGAIN): it runs again until it commits, as Linux's
 * talk_to_blkback() does, and the keys are there as without conflicts.
 */
static enum xt_result b_publish_retried(struct env *e, void *arg)
{
	struct hv_xs_stats st;

	hv_xs_get_stats(hv_guest_domain(), &st);
	XT_ASSERT_EQ(st.tx_conflicts, 2);
	return b_xenbus_keys(e, arg);
}

static enum xt_result blk_publish_tx_conflict(void)
{
	struct hv_blkback_config c = { .max_ring_order = 2 };

	env_opts.tx_conflicts = 2;
	return with_env(b_publish_retried, (void *)2, &c, 0, true);
}

/*
 * A backend that writes only sectors (every other key of its connect step
 * left out): the frontend takes blkif.h's defaults, 512-byte sectors, info
 * 0, no flush, no barrier, no indirect segments, and still does I/O.
 */
static enum xt_result b_xenbus_defaults(struct env *e, void *arg)
{
	struct xl_blkfront_features f;

	(void)arg;
	xl_blkfront_get_features(e->dev, &f);
	XT_ASSERT_EQ(f.sectors, DISK_SECTORS);
	XT_ASSERT_EQ(f.sector_size, 512);
	XT_ASSERT_EQ(f.info, 0);
	XT_ASSERT_EQ(f.flush, false);
	XT_ASSERT_EQ(f.barrier, false);
	XT_ASSERT_EQ(f.max_indirect, 0);
	XT_ASSERT_EQ(f.ring_order, 0);
	return b_xenbus_keys(e, (void *)0);
}

static enum xt_result blk_xenbus_defaults(void)
{
	static const char *const omit[] = {
		"max-ring-page-order",
		"sector-size",
		"info",
		"feature-flush-cache",
		"feature-barrier",
		"feature-max-indirect-segments",
		NULL,
	};
	struct hv_blkback_config c = { .max_ring_order = 2, .omit = omit };

	return with_env(b_xenbus_defaults, NULL, &c, 0, true);
}

/*
 * attach and detach out of order: attach with no toolstack nodes fails
 * with xenstore's -XEN_ENOENT and leaves no xenbus device (detach then
 * says -XEN_ENODEV), an attach whose allocation fails says -XEN_ENOMEM,
 * a second attach -XEN_EEXIST, a second detach -XEN_ENODEV; restarts is
 * 0 throughout, with a device or without.
 */
static enum xt_result blk_attach_errors(void)
{
	struct hv_blkback_config c = { .max_ring_order = 0 };
	struct hv_blkback *bb = NULL;
	struct xl_blkfront *dev = NULL;
	enum xt_result r = XT_FAIL;
	long live;
	int err = 0, rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	dev = xl_blkfront_alloc(DEVID);
	if (!dev) {
		xt_fail_msg(__FILE__, __LINE__, "alloc");
		goto out;
	}
#define CHECK(cond)                                                   \
	do {                                                          \
		if (!(cond)) {                                        \
			xt_fail_msg(__FILE__, __LINE__, "%s", #cond); \
			goto out;                                     \
		}                                                     \
	} while (0)
	CHECK(xl_blkfront_restarts(dev) == 0);
	CHECK(xl_blkfront_detach(dev, 0) == -XEN_ENODEV);
	live = hv_guest_zalloc_live();
	rc = xl_blkfront_attach(dev, 1000000000ULL);
	CHECK(rc == -XEN_ENOENT);
	CHECK(hv_guest_zalloc_live() == live);
	CHECK(xl_blkfront_restarts(dev) == 0);
	CHECK(xl_blkfront_detach(dev, 0) == -XEN_ENODEV);
	c.d = hv_guest_domain();
	c.devid = DEVID;
	c.sectors = DISK_SECTORS;
	c.xenstore = true;
	bb = hv_blkback_create(&c, &err);
	CHECK(bb);
	hv_guest_fail_zalloc(0);
	rc = xl_blkfront_attach(dev, 1000000000ULL);
	hv_guest_fail_zalloc(-1);
	CHECK(rc == -XEN_ENOMEM);
	CHECK(xl_blkfront_detach(dev, 0) == -XEN_ENODEV);
	CHECK(xl_blkfront_attach(dev, 5000000000ULL) == 0);
	CHECK(xl_blkfront_connected(dev));
	CHECK(xl_blkfront_attach(dev, 5000000000ULL) == -XEN_EEXIST);
	CHECK(xl_blkfront_connected(dev));
	CHECK(xl_blkfront_restarts(dev) == 0);
	CHECK(xl_blkfront_detach(dev, 5000000000ULL) == 0);
	CHECK(!xl_blkfront_connected(dev));
	CHECK(xl_blkfront_detach(dev, 0) == -XEN_ENODEV);
	CHECK(xl_blkfront_restarts(dev) == 0);
#undef CHECK
	r = XT_PASS;
out:
	hv_guest_fail_zalloc(-1);
	if (dev && xl_blkfront_connected(dev))
		xl_blkfront_detach(dev, 0);
	xl_blkfront_free(dev);
	hv_blkback_destroy(bb);
	xl_xs_fini();
	if (xl_gnttab_ready() && xl_gnttab_retry_deferred())
		xt_log("grants still deferred after the backend went");
	xl_gnttab_fini();
	return r;
}

/*
 * The backend's features are hostile input (blk_check_features): no
 * sectors, more than 2^48, a sector size below 512, above a page, or not
 * a power of two, are refused with -XEN_EINVAL and leave the ring ready
 * for a good set; the edges themselves (2^48 sectors of 4096 bytes, then
 * one sector of 512) connect.  No backend: nothing is submitted.
 */
static enum xt_result blk_features_bounds(void)
{
	static const struct {
		uint64_t sectors;
		unsigned int ss;
	} bad[] = {
		{ 0, 512 },  { (1ULL << 48) + 1, 512 },
		{ 8, 511 },  { 8, 256 },
		{ 8, 0 },    { 8, 4097 },
		{ 8, 8192 }, { 8, 1536 },
		{ 8, 768 },
	};
	struct xl_blkfront_features f, got;
	grant_ref_t refs[XL_BLK_MAX_RING_PAGES];
	struct xl_blkfront *dev;
	enum xt_result r = XT_FAIL;
	evtchn_port_t port;
	unsigned int i, round;
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	dev = xl_blkfront_alloc(DEVID);
	XT_ASSERT(dev);
	for (round = 0; round < 2; round++) {
		rc = xl_blkfront_setup_ring(dev, 0, 0, refs, &port);
		if (rc != 0) {
			xt_fail_msg(__FILE__, __LINE__, "setup_ring: %d", rc);
			goto out;
		}
		memset(&f, 0, sizeof(f));
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			f.sectors = bad[i].sectors;
			f.sector_size = bad[i].ss;
			rc = xl_blkfront_connect_direct(dev, &f);
			if (rc != -XEN_EINVAL || xl_blkfront_connected(dev)) {
				xt_fail_msg(__FILE__, __LINE__,
					    "sectors %llu size %u: %d",
					    (unsigned long long)f.sectors,
					    f.sector_size, rc);
				goto out;
			}
		}
		f.sectors = round ? 1 : 1ULL << 48;
		f.sector_size = round ? 512 : 4096;
		rc = xl_blkfront_connect_direct(dev, &f);
		xl_blkfront_get_features(dev, &got);
		if (rc || !xl_blkfront_connected(dev) ||
		    got.sectors != f.sectors ||
		    got.sector_size != f.sector_size) {
			xt_fail_msg(__FILE__, __LINE__,
				    "sectors %llu size %u: %d, got %llu %u",
				    (unsigned long long)f.sectors,
				    f.sector_size, rc,
				    (unsigned long long)got.sectors,
				    got.sector_size);
			goto out;
		}
		xl_blkfront_disconnect(dev, true);
	}
	r = XT_PASS;
out:
	xl_blkfront_free(dev);
	xl_gnttab_fini();
	return r;
}

/*
 * The device lock excludes: vCPU 0 is held inside xl_blkfront_inflight()'s
 * locked section (an explore point hook stalls it at its last
 * read-modify-write, the unlock's exchange) while vCPU 1 calls
 * xl_blkfront_get_stats(); vCPU 1 must not get through before vCPU 0 lets
 * go.  The stall ends when vCPU 1 finishes or after BLX_HOLD_NS; a working
 * lock always takes the timeout.  (gnttab/lock_excludes does the same for
 * the grant table's lock.)
 */
#define BLX_HOLD_NS 300000000ULL

static struct {
	uint32_t counting, armed, points, stall_at; /* atomic */
	uint32_t held, done, done_while_held;	    /* atomic */
	struct xl_blkfront *dev;
} blx;

static void blx_hook(enum hv_explore_point pt)
{
	uint64_t end;

	if (pt != HV_XP_ATOMIC || xl_os_vcpu_id() != 0)
		return;
	if (XT_LOAD(&blx.counting)) {
		XT_ADD(&blx.points, 1);
		return;
	}
	if (!XT_LOAD(&blx.armed) ||
	    XT_ADD(&blx.points, 1) != XT_LOAD(&blx.stall_at))
		return;
	XT_STORE(&blx.held, 1);
	end = xt_now_ns() + BLX_HOLD_NS;
	while (!XT_LOAD(&blx.done) && xt_now_ns() < end)
		sched_yield();
	XT_STORE(&blx.done_while_held, XT_LOAD(&blx.done));
	XT_STORE(&blx.armed, 0);
}

static void blx_stats(void *arg)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	struct xl_blkfront_stats st;

	(void)arg;
	while (!XT_LOAD(&blx.held) && xt_now_ns() < end)
		sched_yield();
	xl_blkfront_get_stats(blx.dev, &st);
	XT_STORE(&blx.done, 1);
}

static enum xt_result blk_lock_excludes(void)
{
	memset(&blx, 0, sizeof(blx));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	blx.dev = xl_blkfront_alloc(DEVID);
	XT_ASSERT(blx.dev);
	XT_STORE(&blx.counting, 1);
	hv_explore_set_hook(blx_hook);
	XT_ASSERT_EQ(xl_blkfront_inflight(blx.dev), 0);
	XT_STORE(&blx.counting, 0);
	XT_STORE(&blx.stall_at, XT_LOAD(&blx.points));
	XT_STORE(&blx.points, 0);
	if (XT_LOAD(&blx.stall_at)) {
		XT_STORE(&blx.armed, 1);
		xt_start_on(1, blx_stats, NULL);
		xl_blkfront_inflight(blx.dev);
		xt_wait_on(1);
	}
	hv_explore_set_hook(NULL);
	xl_blkfront_free(blx.dev);
	XT_SKIP_IF(!blx.stall_at,
		   "no explore points (built without HV_EXPLORE)");
	XT_ASSERT_EQ(XT_LOAD(&blx.held), 1);
	XT_ASSERT_MSG(!XT_LOAD(&blx.done_while_held),
		      "vCPU 1 took the device lock while vCPU 0 held it");
	XT_ASSERT_EQ(XT_LOAD(&blx.done), 1);
	return XT_PASS;
}

/*
 * The bounce pool's edge (an untrusted backend gets a private bounce page
 * per segment; blkfront-lite/blkfront.h's BLK_BOUNCE_PAGES, 128): with no
 * backend answering, eleven 11-segment reads take 121 pages, a 7-segment
 * read takes exactly the 7 left and is placed, a 1-segment read then
 * waits in the queue.  A closing disconnect fails all 13 once.
 */
#define BOUNCE_PAGES 128

static uint32_t bounce_edge_done; /* atomic */

static void bounce_edge_cb(struct xl_blk_req *req)
{
	(void)req;
	XT_ADD(&bounce_edge_done, 1);
}

static enum xt_result b_bounce_edge(struct env *e, void *arg)
{
	static struct xl_blk_req r[13];
	struct xl_blkfront_stats st;
	void *pg[XL_BLK_MAX_SEGS];
	unsigned int i, segs;

	(void)arg;
	XT_ASSERT(alloc_pages(pg, XL_BLK_MAX_SEGS));
	XT_STORE(&bounce_edge_done, 0);
	for (i = 0; i < 13; i++) {
		segs = i < 11 ? XL_BLK_MAX_SEGS : i == 11 ? 7 : 1;
		memset(&r[i], 0, sizeof(r[i]));
		XT_ASSERT_EQ(xl_blk_req_set_buf(&r[i], XL_BLK_READ, 16ULL * i,
						pg, segs, 0, segs * 4096),
			     0);
		XT_ASSERT_EQ(r[i].nr_segs, segs);
		r[i].done = bounce_edge_cb;
		XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r[i]), 0);
	}
	XT_ASSERT_EQ(11 * XL_BLK_MAX_SEGS + 7, BOUNCE_PAGES);
	xl_blkfront_get_stats(e->dev, &st);
	XT_ASSERT_EQ(xl_blkfront_inflight(e->dev), 12);
	XT_ASSERT_EQ(st.submitted, 12);
	XT_ASSERT_EQ(st.queued, 1);
	XT_ASSERT_EQ(XT_LOAD(&bounce_edge_done), 0);
	xl_blkfront_disconnect(e->dev, true);
	XT_ASSERT_EQ(XT_LOAD(&bounce_edge_done), 13);
	for (i = 0; i < 13; i++)
		XT_ASSERT_EQ(r[i].status, -XEN_EIO);
	free_pages(pg, XL_BLK_MAX_SEGS);
	return XT_PASS;
}

static enum xt_result blk_bounce_edge(void)
{
	struct hv_blkback_config c = { .max_ring_order = 4 };

	env_opts.no_backend = true;
	return with_env(b_bounce_edge, NULL, &c, 4, false);
}

/*
 * The notification after a push (io/ring.h RING_PUSH_REQUESTS_AND_CHECK_
 * NOTIFY): an event exactly when the backend's req_event lies in (old,
 * new], the requests just pushed.  No backend: the test plays it,
 * mapping the ring and writing req_event itself, one request per push.
 */
static uint32_t push_sends; /* atomic: EVTCHNOP_send while pushing */

static long push_send_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			   long rc, void *data)
{
	(void)v;
	(void)arg;
	(void)rc;
	(void)data;
	if (!after && cmd == EVTCHNOP_send)
		XT_ADD(&push_sends, 1);
	return 0;
}

static enum xt_result b_push_notify(struct env *e, void *arg)
{
	static const struct {
		RING_IDX req_event;
		unsigned int notifies; /* after the push */
	} step[] = {
		{ 1, 1 }, /* 0 -> 1: req_event 1 is the new request */
		{ 1, 1 }, /* 1 -> 2: req_event == old, already passed */
		{ 3, 2 }, /* 2 -> 3 */
		{ 5, 2 }, /* 3 -> 4: not yet */
		{ 4, 2 }, /* 4 -> 5: req_event == old again */
		{ 6, 3 }, /* 5 -> 6 */
	};
	static struct xl_blk_req r[6];
	struct hv_grant_map m;
	struct xl_blkfront_stats st;
	blkif_sring_t *s;
	void *pg[1];
	unsigned int i;

	(void)arg;
	XT_ASSERT(alloc_pages(pg, 1));
	XT_ASSERT_EQ(hv_gnttab_map(hv_guest_domain(), e->refs[0], false, &m),
		     GNTST_okay);
	s = m.va;
	XT_STORE(&bounce_edge_done, 0);
	XT_STORE(&push_sends, 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), push_send_hook, NULL);
	for (i = 0; i < 6; i++) {
		XT_ASSERT_EQ(XT_LOAD(&s->req_prod), i);
		XT_STORE(&s->req_event, step[i].req_event);
		memset(&r[i], 0, sizeof(r[i]));
		XT_ASSERT_EQ(xl_blk_req_set_buf(&r[i], XL_BLK_READ, 8ULL * i,
						pg, 1, 0, 4096),
			     0);
		r[i].done = bounce_edge_cb;
		XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r[i]), 0);
		xl_blkfront_get_stats(e->dev, &st);
		XT_ASSERT_MSG(st.notifies == step[i].notifies,
			      "push %u with req_event %u: %llu notifies", i,
			      step[i].req_event,
			      (unsigned long long)st.notifies);
		/* One EVTCHNOP_send per notification, none otherwise. */
		if (XT_LOAD(&push_sends) != step[i].notifies) {
			hv_domain_set_evtchn_hook(hv_guest_domain(), NULL,
						  NULL);
			XT_ASSERT_MSG(false, "push %u: %u sends", i,
				      XT_LOAD(&push_sends));
		}
	}
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	hv_gnttab_unmap(&m);
	xl_blkfront_disconnect(e->dev, true);
	XT_ASSERT_EQ(XT_LOAD(&bounce_edge_done), 6);
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_push_notify(void)
{
	struct hv_blkback_config c = { .max_ring_order = 0 };

	env_opts.no_backend = true;
	return with_env(b_push_notify, NULL, &c, 0, false);
}

/*
 * xl_blkfront_wake(dev, cpu): one EVTCHNOP_send to another vCPU's wake
 * port; none for our own vCPU, and none for a vCPU number at or past
 * XL_MAX_VCPUS (no such port: the table ends there).
 */
static enum xt_result b_wake_bounds(struct env *e, void *arg)
{
	(void)arg;
	XT_STORE(&push_sends, 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), push_send_hook, NULL);
	xl_blkfront_wake(e->dev, XL_MAX_VCPUS);
	xl_blkfront_wake(e->dev, XL_MAX_VCPUS + 1);
	xl_blkfront_wake(e->dev, ~0U);
	xl_blkfront_wake(e->dev, xl_os_vcpu_id());
	XT_ASSERT_EQ(XT_LOAD(&push_sends), 0);
	xl_blkfront_wake(e->dev, 1);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	XT_ASSERT_EQ(XT_LOAD(&push_sends), 1);
	return XT_PASS;
}

static enum xt_result blk_wake_bounds(void)
{
	return with_env(b_wake_bounds, NULL, NULL, 0, false);
}

/*
 * A response whose pages the backend still maps breaks the device
 * (XSA-396): every request fails with EIO and nothing more is read from
 * the ring, not even responses already there.  The test plays the
 * backend on a direct ring: two reads, the first one's page mapped, both
 * answered OKAY in one push; after processing, one grant_mapped, two EIO
 * completions, and no response counted as a duplicate or stray.
 */
static enum xt_result b_break_stops_reading(struct env *e, void *arg)
{
	static struct xl_blk_req r[2];
	struct hv_grant_map ring, data;
	struct xl_blkfront_stats st;
	blkif_sring_t *s;
	void *pg[2];
	unsigned int i;

	(void)arg;
	XT_ASSERT(alloc_pages(pg, 2));
	XT_ASSERT_EQ(hv_gnttab_map(hv_guest_domain(), e->refs[0], false, &ring),
		     GNTST_okay);
	s = ring.va;
	XT_STORE(&bounce_edge_done, 0);
	for (i = 0; i < 2; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		XT_ASSERT_EQ(xl_blk_req_set_buf(&r[i], XL_BLK_READ, 8ULL * i,
						&pg[i], 1, 0, 4096),
			     0);
		r[i].done = bounce_edge_cb;
		XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r[i]), 0);
	}
	XT_ASSERT_EQ(XT_LOAD(&s->req_prod), 2);
	XT_ASSERT_EQ(hv_gnttab_map(hv_guest_domain(),
				   s->ring[0].req.seg[0].gref, false, &data),
		     GNTST_okay);
	for (i = 0; i < 2; i++) {
		struct blkif_response rsp = { .id = r[i].id,
					      .operation = BLKIF_OP_READ,
					      .status = BLKIF_RSP_OKAY };

		memcpy(&s->ring[i].rsp, &rsp, sizeof(rsp));
	}
	XT_STORE(&s->rsp_prod, 2);
	xl_blkfront_process(e->dev);
	xl_blkfront_get_stats(e->dev, &st);
	hv_gnttab_unmap(&data);
	hv_gnttab_unmap(&ring);
	XT_ASSERT(xl_blkfront_broken(e->dev));
	XT_ASSERT_EQ(XT_LOAD(&bounce_edge_done), 2);
	XT_ASSERT_EQ(r[0].status, -XEN_EIO);
	XT_ASSERT_EQ(r[1].status, -XEN_EIO);
	XT_ASSERT_EQ(st.grant_mapped, 1);
	XT_ASSERT_EQ(st.broken_failed, 1);
	XT_ASSERT_EQ(st.rsp_dup, 0);
	XT_ASSERT_EQ(st.rsp_not_inflight, 0);
	XT_ASSERT_EQ(st.rsp_bad_id, 0);
	XT_ASSERT_EQ(st.eio, 2);
	XT_ASSERT_EQ(st.completed, 2);
	free_pages(pg, 2);
	return XT_PASS;
}

static enum xt_result blk_break_stops_reading(void)
{
	struct hv_blkback_config c = { .max_ring_order = 0 };

	env_opts.no_backend = true;
	return with_env(b_break_stops_reading, NULL, &c, 0, false);
}

/*
 * The wake ports (one IPI per vCPU, bound at the first ring setup): a
 * bind that fails leaves that vCPU without one (a wake to it sends
 * nothing), the others get theirs (a wake sends once); a second ring
 * setup binds none again; one whose request table cannot be allocated
 * gives back every page and block it took; free closes every wake port.
 * Processing a device that is not connected
 * sends nothing and counts no interrupt.  No backend.
 */
static uint32_t wp_binds;	 /* atomic: EVTCHNOP_bind_ipi calls */
static uint32_t wp_closes;	 /* atomic: EVTCHNOP_close calls */
static uint32_t wp_fail_unbound; /* atomic: fail the next alloc_unbound */

static long wp_hook(struct hv_vcpu *v, int cmd, void *arg, bool after, long rc,
		    void *data)
{
	(void)v;
	(void)rc;
	(void)data;
	if (after)
		return 0;
	if (cmd == EVTCHNOP_send)
		XT_ADD(&push_sends, 1);
	if (cmd == EVTCHNOP_close)
		XT_ADD(&wp_closes, 1);
	if (cmd == EVTCHNOP_alloc_unbound &&
	    __atomic_exchange_n(&wp_fail_unbound, 0, __ATOMIC_SEQ_CST))
		return -XEN_ENOSPC;
	if (cmd == EVTCHNOP_bind_ipi) {
		XT_ADD(&wp_binds, 1);
		if (((struct evtchn_bind_ipi *)arg)->vcpu == 1)
			return -XEN_ENOMEM;
	}
	return 0;
}

static enum xt_result blk_wake_ports(void)
{
	struct xl_blkfront_features f = { .sectors = 8, .sector_size = 512 };
	grant_ref_t refs[XL_BLK_MAX_RING_PAGES];
	struct xl_blkfront_stats st;
	struct xl_blkfront *dev;
	enum xt_result r = XT_FAIL;
	evtchn_port_t port;
	unsigned int binds;
	long live, pages, live0, pages0;
	int rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	dev = xl_blkfront_alloc(DEVID);
	XT_ASSERT(dev);
	XT_STORE(&wp_binds, 0);
	XT_STORE(&push_sends, 0);
	hv_domain_set_evtchn_hook(hv_guest_domain(), wp_hook, NULL);
	/* Trust is set while disconnected only. */
	if (xl_blkfront_set_trusted(dev, false) != 0) {
		xt_fail_msg(__FILE__, __LINE__,
			    "set_trusted while disconnected");
		goto out;
	}
#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			xt_fail_msg(__FILE__, __LINE__,                        \
				    "%s (binds %u sends %u)", #cond,           \
				    XT_LOAD(&wp_binds), XT_LOAD(&push_sends)); \
			goto out;                                              \
		}                                                              \
	} while (0)
	CHECK(xl_blkfront_setup_ring(dev, 0, 0, refs, &port) == 0);
	live = hv_guest_zalloc_live();
	pages = hv_guest_pages_in_use(hv_guest_domain());
	binds = XT_LOAD(&wp_binds);
	CHECK(binds == xt_nr_vcpus());
	xl_blkfront_wake(dev, 1); /* its bind failed: no port */
	CHECK(XT_LOAD(&push_sends) == 0);
	xl_blkfront_wake(dev, 2);
	CHECK(XT_LOAD(&push_sends) == 1);
	CHECK(xl_blkfront_connect_direct(dev, &f) == 0);
	/* A ring over a connected one: refused; so is a change of trust. */
	CHECK(xl_blkfront_setup_ring(dev, 0, 0, refs, &port) == -XEN_EBUSY);
	CHECK(xl_blkfront_set_trusted(dev, true) == -XEN_EBUSY);
	CHECK(xl_blkfront_connected(dev));
	XT_STORE(&wp_closes, 0);
	xl_blkfront_disconnect(dev, true);
	CHECK(XT_LOAD(&wp_closes) == 1); /* the ring's event channel */
	/* No ring: nothing to connect. */
	CHECK(xl_blkfront_connect_direct(dev, &f) == -XEN_EINVAL);
	CHECK(!xl_blkfront_connected(dev));
	/* Not connected: nothing to process, nothing sent, no irq. */
	xl_blkfront_process(dev);
	xl_blkfront_get_stats(dev, &st);
	CHECK(XT_LOAD(&push_sends) == 1);
	CHECK(st.irqs == 0);
	/*
	 * A setup whose request table cannot be allocated (the second
	 * allocation from here: the bounce pool's table, then the shadow
	 * table) fails with -XEN_ENOMEM and gives back every page it took.
	 */
	live0 = hv_guest_zalloc_live();
	pages0 = hv_guest_pages_in_use(hv_guest_domain());
	hv_guest_fail_zalloc(1);
	rc = xl_blkfront_setup_ring(dev, 0, 0, refs, &port);
	hv_guest_fail_zalloc(-1);
	CHECK(rc == -XEN_ENOMEM);
	CHECK(hv_guest_zalloc_live() == live0);
	CHECK(hv_guest_pages_in_use(hv_guest_domain()) == pages0);
	/* The same at the first allocation, the bounce pool's table. */
	hv_guest_fail_zalloc(0);
	rc = xl_blkfront_setup_ring(dev, 0, 0, refs, &port);
	hv_guest_fail_zalloc(-1);
	CHECK(rc == -XEN_ENOMEM);
	CHECK(hv_guest_zalloc_live() == live0);
	CHECK(hv_guest_pages_in_use(hv_guest_domain()) == pages0);
	/* No event channel for the ring: everything back, no port kept. */
	XT_STORE(&wp_fail_unbound, 1);
	rc = xl_blkfront_setup_ring(dev, 0, 0, refs, &port);
	CHECK(rc == -XEN_ENOSPC);
	CHECK(hv_guest_zalloc_live() == live0);
	CHECK(hv_guest_pages_in_use(hv_guest_domain()) == pages0);
	XT_STORE(&wp_closes, 0);
	xl_blkfront_disconnect(dev, true);
	CHECK(XT_LOAD(&wp_closes) == 0);
	/* One ring page: refs[0] is written, refs[1] is not. */
	refs[1] = 0xdead;
	CHECK(xl_blkfront_setup_ring(dev, 0, 0, refs, &port) == 0);
	CHECK(refs[1] == 0xdead);
	CHECK(XT_LOAD(&wp_binds) == binds);
	/* The same blocks and pages as the first setup. */
	CHECK(hv_guest_zalloc_live() == live);
	CHECK(hv_guest_pages_in_use(hv_guest_domain()) == pages);
	CHECK(xl_blkfront_connect_direct(dev, &f) == 0);
	/* Connected, nothing on the ring: a poll is no interrupt. */
	xl_blkfront_process(dev);
	xl_blkfront_get_stats(dev, &st);
	CHECK(st.irqs == 0);
	CHECK(XT_LOAD(&push_sends) == 1);
	xl_blkfront_disconnect(dev, true);
	/* free closes the wake ports: every vCPU's but the failed one's. */
	XT_STORE(&wp_closes, 0);
	xl_blkfront_free(dev);
	dev = NULL;
	CHECK(XT_LOAD(&wp_closes) == xt_nr_vcpus() - 1);
#undef CHECK
	r = XT_PASS;
out:
	hv_guest_fail_zalloc(-1);
	hv_domain_set_evtchn_hook(hv_guest_domain(), NULL, NULL);
	xl_blkfront_free(dev);
	xl_gnttab_fini();
	return r;
}

/*
 * The ring cannot be set up at probe (every grant ref is taken): the
 * handshake stops there.  attach fails with the setup's -XEN_ENOSPC, the
 * frontend ends Closed and publishes no ring-ref or event-channel.
 */
static enum xt_result blk_probe_ring_error(void)
{
	static grant_ref_t refs[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	struct hv_blkback_config c = { .max_ring_order = 0 };
	struct hv_blkback *bb = NULL;
	struct xl_blkfront *dev = NULL;
	enum xt_result r = XT_FAIL;
	unsigned int n = 0, total, i;
	unsigned long v;
	char path[64];
	int err = 0, rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	total = xl_gnttab_nr_refs();
	while (n < total && xl_gnttab_grant_access(0, 1, true, &refs[n]) == 0)
		n++;
	c.d = hv_guest_domain();
	c.devid = DEVID;
	c.sectors = DISK_SECTORS;
	c.xenstore = true;
	bb = hv_blkback_create(&c, &err);
	dev = xl_blkfront_alloc(DEVID);
	if (n != total || !bb || !dev) {
		xt_fail_msg(__FILE__, __LINE__, "setup: %u of %u refs, %d", n,
			    total, err);
		goto out;
	}
	rc = xl_blkfront_attach(dev, 5000000000ULL);
	if (rc != -XEN_ENOSPC) {
		xt_fail_msg(__FILE__, __LINE__, "attach: %d, not -ENOSPC", rc);
		goto out;
	}
	snprintf(path, sizeof(path), "device/vbd/%u/state", DEVID);
	if (xl_xs_read_uint(0, path, &v) || v != XenbusStateClosed) {
		xt_fail_msg(__FILE__, __LINE__, "frontend state %lu", v);
		goto out;
	}
	snprintf(path, sizeof(path), "device/vbd/%u/ring-ref", DEVID);
	rc = xl_xs_read_uint(0, path, &v);
	if (rc != -XEN_ENOENT) {
		xt_fail_msg(__FILE__, __LINE__, "ring-ref: %d (%lu)", rc, v);
		goto out;
	}
	snprintf(path, sizeof(path), "device/vbd/%u/event-channel", DEVID);
	rc = xl_xs_read_uint(0, path, &v);
	if (rc != -XEN_ENOENT) {
		xt_fail_msg(__FILE__, __LINE__, "event-channel: %d (%lu)", rc,
			    v);
		goto out;
	}
	XT_ASSERT(!xl_blkfront_connected(dev));
	r = XT_PASS;
out:
	if (dev && xl_blkfront_connected(dev))
		xl_blkfront_detach(dev, 0);
	xl_blkfront_free(dev);
	hv_blkback_destroy(bb);
	for (i = 0; i < n; i++)
		xl_gnttab_end_access(refs[i]);
	xl_xs_fini();
	xl_gnttab_fini();
	return r;
}

/* --- read after write ---------------------------------------------------------- */

static const unsigned int rw_lens[] = {
	1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 80, 81, 87, 88
};
static const unsigned int rw_offs[] = { 0, 1, 3, 7 };

/*
 * Every length (sectors) at every offset into the first page (first_sect),
 * at an odd disk sector: written, then read back into a buffer full of a
 * guard byte; checksums compared, the RAM disk checked, and every byte of
 * the read buffer outside the data must still hold the guard.
 */
static enum xt_result b_rw_patterns(struct env *e, void *arg)
{
	uint8_t *ram = hv_blkback_ram(e->bb);
	void *wp[XL_BLK_MAX_SEGS], *rp[XL_BLK_MAX_SEGS + 2];
	unsigned int li, oi, n = 0, i;
	uint64_t sector = 3;

	(void)arg;
	XT_ASSERT(alloc_pages(wp, XL_BLK_MAX_SEGS));
	XT_ASSERT(alloc_pages(rp, XL_BLK_MAX_SEGS + 2));
	for (li = 0; li < sizeof(rw_lens) / sizeof(rw_lens[0]); li++) {
		for (oi = 0; oi < sizeof(rw_offs) / sizeof(rw_offs[0]); oi++) {
			unsigned int len = rw_lens[li] * 512;
			unsigned int off = rw_offs[oi] * 512;
			uint64_t seed = 100 + n;
			uint8_t *w = wp[0], *r;

			if (rw_offs[oi] + rw_lens[li] > XL_BLK_MAX_SEGS * SPP)
				continue;
			/* pages are consecutive: write one flat buffer */
			for (i = 1; i < XL_BLK_MAX_SEGS; i++)
				XT_ASSERT((uint8_t *)wp[i] ==
					  w + i * XL_PAGE_SIZE);
			fill_disk_pattern(w + off, sector * 512, len, seed);
			XT_ASSERT_EQ(sync_io(e, XL_BLK_WRITE, sector, wp,
					     XL_BLK_MAX_SEGS, off, len),
				     0);
			XT_ASSERT_MSG(
				!check_disk_pattern(ram + sector * 512,
						    sector * 512, len, seed),
				"RAM disk wrong: len %u off %u", len, off);
			r = (uint8_t *)rp[1];
			memset(rp[0], GUARD,
			       (XL_BLK_MAX_SEGS + 2) * XL_PAGE_SIZE);
			XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, sector, rp + 1,
					     XL_BLK_MAX_SEGS, off, len),
				     0);
			XT_ASSERT_EQ(fnv(r + off, len), fnv(w + off, len));
			for (i = 0; i < (XL_BLK_MAX_SEGS + 2) * XL_PAGE_SIZE;
			     i++) {
				size_t at = i - XL_PAGE_SIZE;

				if (i >= XL_PAGE_SIZE && at >= off &&
				    at < off + len)
					continue;
				XT_ASSERT_MSG(
					((uint8_t *)rp[0])[i] == GUARD,
					"guard byte %u changed (len %u off %u)",
					i, len, off);
			}
			n++;
			sector = (sector + 97 + len / 512) %
				 (DISK_SECTORS - 100);
		}
	}
	xt_log("%u sizes/offsets", n);
	XT_ASSERT(n > 60);
	free_pages(wp, XL_BLK_MAX_SEGS);
	free_pages(rp, XL_BLK_MAX_SEGS + 2);
	return XT_PASS;
}

static enum xt_result blk_rw_patterns(void)
{
	return with_env(b_rw_patterns, NULL, NULL, 0, false);
}

/* --- bad requests ------------------------------------------------------------------ */

static void never_done(struct xl_blk_req *req)
{
	(void)req;
	abort();
}

static enum xt_result b_bad_requests(struct env *e, void *arg)
{
	struct xl_blk_req r;
	struct xl_blkfront_stats st;
	void *pg[1];

	(void)arg;
	XT_ASSERT(alloc_pages(pg, 1));
	memset(&r, 0, sizeof(r));
	r.done = never_done;
	r.op = XL_BLK_READ;
	r.nr_segs = 0;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.nr_segs = XL_BLK_MAX_SEGS + 1;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.nr_segs = 1;
	r.seg[0].page = pg[0];
	r.seg[0].first_sect = 3;
	r.seg[0].last_sect = 2;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.seg[0].first_sect = 0;
	r.seg[0].last_sect = SPP;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.seg[0].last_sect = SPP - 1;
	r.seg[0].page = (uint8_t *)pg[0] + 512; /* not page-aligned */
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.seg[0].page = pg[0];
	r.sector = DISK_SECTORS - 7; /* 8 sectors, one past the end */
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.op = XL_BLK_FLUSH;
	r.nr_segs = 0;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EOPNOTSUPP);
	r.done = NULL;
	r.op = XL_BLK_READ;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	xl_blkfront_get_stats(e->dev, &st);
	XT_ASSERT_EQ(st.submitted, 0);
	/* The last sector of the disk is fine. */
	XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, DISK_SECTORS - 1, pg, 1, 0, 512),
		     0);
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_bad_requests(void)
{
	struct hv_blkback_config c = { .no_flush = true, .max_ring_order = 0 };

	return with_env(b_bad_requests, NULL, &c, 0, false);
}

/*
 * blk_check_req's edges on a backend with flush: no done callback, an
 * operation that is none of ours, a flush carrying segments, a segment
 * with no page, a request starting at the disk's end are -XEN_EINVAL and
 * never submitted, and so is a page address one byte off; the last sector
 * of a page alone, and 8 sectors ending
 * exactly at the disk's end, go through.
 */
static void check_done(struct xl_blk_req *req)
{
	(void)req;
}

static enum xt_result b_check_req_edges(struct env *e, void *arg)
{
	struct xl_blkfront_stats st;
	struct xl_blk_req r;
	void *pg[1];

	(void)arg;
	XT_ASSERT(alloc_pages(pg, 1));
	memset(&r, 0, sizeof(r));
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 1, 0, 512), 0);
	r.done = NULL;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.done = check_done;
	r.op = (enum xl_blk_op)7;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.op = XL_BLK_FLUSH;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL); /* 1 seg */
	r.op = XL_BLK_READ;
	r.seg[0].page = NULL;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.seg[0].page = (uint8_t *)pg[0] + 1; /* one byte off a page */
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	r.seg[0].page = pg[0];
	r.sector = DISK_SECTORS;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &r), -XEN_EINVAL);
	xl_blkfront_get_stats(e->dev, &st);
	XT_ASSERT_EQ(st.submitted, 0);
	XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 0, pg, 1, 7 * 512, 512), 0);
	XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, DISK_SECTORS - 8, pg, 1, 0, 4096),
		     0);
	xl_blkfront_get_stats(e->dev, &st);
	XT_ASSERT_EQ(st.submitted, 2);
	XT_ASSERT_EQ(st.ok, 2);
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_check_req_edges(void)
{
	struct hv_blkback_config c = { .max_ring_order = 0 };

	return with_env(b_check_req_edges, NULL, &c, 0, false);
}

/*
 * xl_blk_req_set_buf(): offset and length in whole sectors, not empty
 * (an offset or a length off by one byte, or both, or a length of 0, are
 * -XEN_EINVAL); the segments cut at page ends; more pages than given, or
 * more than XL_BLK_MAX_SEGS segments, are -XEN_EINVAL.
 */
static enum xt_result blk_set_buf_edges(void)
{
	static uint8_t buf[13 * 4096] __attribute__((aligned(4096)));
	void *pg[13];
	struct xl_blk_req r;
	unsigned int i;

	for (i = 0; i < 13; i++)
		pg[i] = buf + i * 4096;
	memset(&r, 0, sizeof(r));
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 1, 1, 512),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 1, 0, 511),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 1, 512, 513),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 1, 513, 1024),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 1, 0, 0),
		     -XEN_EINVAL);
	/* Three sectors from the page's last: two segments. */
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_WRITE, 9, pg, 2, 7 * 512,
					3 * 512),
		     0);
	XT_ASSERT_EQ(r.op, XL_BLK_WRITE);
	XT_ASSERT_EQ(r.sector, 9);
	XT_ASSERT_EQ(r.nr_segs, 2);
	XT_ASSERT(r.seg[0].page == pg[0] && r.seg[1].page == pg[1]);
	XT_ASSERT_EQ(r.seg[0].first_sect, 7);
	XT_ASSERT_EQ(r.seg[0].last_sect, 7);
	XT_ASSERT_EQ(r.seg[1].first_sect, 0);
	XT_ASSERT_EQ(r.seg[1].last_sect, 1);
	/* Past the pages given. */
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 2, 7 * 512,
					10 * 512),
		     -XEN_EINVAL);
	/* Exactly XL_BLK_MAX_SEGS pages, then one sector more. */
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 13, 0,
					XL_BLK_MAX_SEGS * 4096),
		     0);
	XT_ASSERT_EQ(r.nr_segs, XL_BLK_MAX_SEGS);
	XT_ASSERT_EQ(r.seg[XL_BLK_MAX_SEGS - 1].last_sect, 7);
	XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0, pg, 13, 0,
					XL_BLK_MAX_SEGS * 4096 + 512),
		     -XEN_EINVAL);
	return XT_PASS;
}

/* --- async helpers ------------------------------------------------------------------- */

#define MAXREQ 64

struct batch {
	struct xl_blk_req req[MAXREQ];
	void *pg[2 * MAXREQ + 1]; /* guard, data, guard, data, ..., guard */
	unsigned int n;
	uint32_t done;		/* atomic */
	uint32_t order[MAXREQ]; /* completion order */
	uint32_t calls[MAXREQ]; /* atomic: done calls per request */
	unsigned int cpu;
	struct xl_blkfront *dev;
};

static void batch_done(struct xl_blk_req *req)
{
	struct batch *b = req->priv;
	uint32_t k = XT_ADD(&b->done, 1) - 1;

	XT_ADD(&b->calls[req - b->req], 1);
	if (k < MAXREQ)
		b->order[k] = (uint32_t)(req - b->req);
	xl_blkfront_wake(b->dev, b->cpu);
}

static bool batch_all_done(void *arg)
{
	struct batch *b = arg;

	return XT_LOAD(&b->done) >= b->n || xl_xs_watches_pending();
}

/* Wait for every request of b, running xenbus watches meanwhile. */
static void batch_wait(struct env *e, struct batch *b)
{
	while (XT_LOAD(&b->done) < b->n) {
		xl_idle_until(batch_all_done, b);
		if (e->xs)
			xl_blkfront_poll(e->dev);
	}
}

static bool batch_alloc(struct batch *b, struct env *e, unsigned int n)
{
	unsigned int i;

	memset(b, 0, sizeof(*b));
	b->n = n;
	b->dev = e->dev;
	b->cpu = xl_os_vcpu_id();
	if (!alloc_pages(b->pg, 2 * n + 1))
		return false;
	for (i = 0; i < 2 * n + 1; i++)
		memset(b->pg[i], GUARD, XL_PAGE_SIZE);
	return true;
}

static void *batch_page(struct batch *b, unsigned int i)
{
	return b->pg[2 * i + 1];
}

static bool batch_guards_ok(struct batch *b)
{
	unsigned int i, k;

	for (i = 0; i < 2 * b->n + 1; i += 2)
		for (k = 0; k < XL_PAGE_SIZE; k++)
			if (((uint8_t *)b->pg[i])[k] != GUARD)
				return false;
	return true;
}

/* --- flush ordering -------------------------------------------------------------------- */

/*
 * 32 writes (each delayed up to 2 ms by blkback), then a flush: the flush
 * must complete after every write before it.  Without blkback's drain the
 * flush (not delayed) would overtake them.
 */
static enum xt_result b_flush_order(struct env *e, void *arg)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct hv_blkback_stats bs;
	unsigned int i, nw = 32;

	(void)arg;
	XT_ASSERT(b && batch_alloc(b, e, nw + 1));
	for (i = 0; i < nw; i++) {
		memset(&b->req[i], 0, sizeof(b->req[i]));
		fill_disk_pattern(batch_page(b, i), (uint64_t)i * 4096, 4096,
				  7);
		xl_blk_req_set_buf(&b->req[i], XL_BLK_WRITE, i * SPP,
				   &b->pg[2 * i + 1], 1, 0, 4096);
		b->req[i].done = batch_done;
		b->req[i].priv = b;
		XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &b->req[i]), 0);
	}
	b->req[nw].op = XL_BLK_FLUSH;
	b->req[nw].done = batch_done;
	b->req[nw].priv = b;
	XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &b->req[nw]), 0);
	batch_wait(e, b);
	XT_ASSERT_EQ(b->order[nw], nw); /* the flush completed last */
	for (i = 0; i <= nw; i++)
		XT_ASSERT_EQ(b->req[i].status, 0);
	XT_ASSERT_EQ(check_disk_pattern(hv_blkback_ram(e->bb), 0, nw * 4096, 7),
		     0);
	hv_blkback_get_stats(e->bb, &bs);
	XT_ASSERT_EQ(bs.flushes + bs.barriers, 1);
	XT_ASSERT_EQ(bs.flush_waits, 1);
	XT_ASSERT(batch_guards_ok(b));
	free_pages(b->pg, 2 * b->n + 1);
	free(b);
	return XT_PASS;
}

static enum xt_result blk_flush_order(void)
{
	struct hv_blkback_config c = { .delay_max_us = 2000,
				       .max_ring_order = 2 };

	return with_env(b_flush_order, NULL, &c, 2, false);
}

/* No feature-flush-cache: the flush goes out as a WRITE_BARRIER. */
static enum xt_result blk_barrier_order(void)
{
	struct hv_blkback_config c = { .delay_max_us = 2000,
				       .max_ring_order = 2,
				       .no_flush = true,
				       .barrier = true };

	return with_env(b_flush_order, NULL, &c, 2, false);
}

/* --- queue depth 32 from two vCPUs ------------------------------------------------------ */

#define QD_PER_CPU 16
#define QD_ROUNDS 40

struct qd_ctx {
	struct env *e;
	unsigned int cpu;
	uint64_t base; /* first sector of this vCPU's region */
	struct xl_blk_req req[QD_PER_CPU];
	void *pg[QD_PER_CPU];
	uint32_t pending; /* atomic */
	uint64_t bad;
	int err;
};

static void qd_done(struct xl_blk_req *req)
{
	struct qd_ctx *c = req->priv;

	XT_ADD(&c->pending, -1);
	xl_blkfront_wake(c->e->dev, c->cpu);
}

static bool qd_idle(void *arg)
{
	struct qd_ctx *c = arg;

	return !XT_LOAD(&c->pending);
}

static void qd_round(struct qd_ctx *c, enum xl_blk_op op, unsigned int round)
{
	unsigned int i;

	XT_STORE(&c->pending, QD_PER_CPU);
	for (i = 0; i < QD_PER_CPU; i++) {
		uint64_t sector = c->base + (uint64_t)i * 2 * SPP;

		memset(&c->req[i], 0, sizeof(c->req[i]));
		if (op == XL_BLK_WRITE)
			fill_disk_pattern(c->pg[i], sector * 512, 4096,
					  round * 2 + c->cpu);
		else
			memset(c->pg[i], 0, 4096);
		xl_blk_req_set_buf(&c->req[i], op, sector, &c->pg[i], 1, 0,
				   4096);
		c->req[i].done = qd_done;
		c->req[i].priv = c;
		if (xl_blkfront_submit(c->e->dev, &c->req[i])) {
			c->err++;
			XT_ADD(&c->pending, -1);
		}
	}
	xl_idle_until(qd_idle, c);
	for (i = 0; i < QD_PER_CPU; i++) {
		uint64_t sector = c->base + (uint64_t)i * 2 * SPP;

		if (c->req[i].status)
			c->err++;
		if (op == XL_BLK_READ &&
		    check_disk_pattern(c->pg[i], sector * 512, 4096,
				       round * 2 + c->cpu))
			c->bad++;
	}
}

static void qd_run(void *arg)
{
	struct qd_ctx *c = arg;
	unsigned int r;

	c->cpu = xl_os_vcpu_id();
	for (r = 0; r < QD_ROUNDS; r++) {
		qd_round(c, XL_BLK_WRITE, r);
		qd_round(c, XL_BLK_READ, r);
	}
}

static enum xt_result b_qd32(struct env *e, void *arg)
{
	static struct qd_ctx c[2];
	struct xl_blkfront_stats st;
	struct hv_blkback_stats bs;
	unsigned int i;

	(void)arg;
	memset(c, 0, sizeof(c));
	for (i = 0; i < 2; i++) {
		c[i].e = e;
		c[i].base = 1 + i * 4096; /* odd: not page-aligned on disk */
		XT_ASSERT(alloc_pages(c[i].pg, QD_PER_CPU));
	}
	xt_start_on(1, qd_run, &c[1]);
	qd_run(&c[0]);
	xt_wait_on(1);
	xl_blkfront_get_stats(e->dev, &st);
	hv_blkback_get_stats(e->bb, &bs);
	xt_log("submitted %llu ok %llu queued %llu backend max in flight %llu out of order %llu irqs %llu notifies %llu",
	       (unsigned long long)st.submitted, (unsigned long long)st.ok,
	       (unsigned long long)st.queued,
	       (unsigned long long)bs.max_inflight,
	       (unsigned long long)bs.out_of_order, (unsigned long long)st.irqs,
	       (unsigned long long)st.notifies);
	for (i = 0; i < 2; i++) {
		XT_ASSERT_EQ(c[i].err, 0);
		XT_ASSERT_EQ(c[i].bad, 0);
	}
	XT_ASSERT_EQ(st.submitted, 2 * 2 * QD_ROUNDS * QD_PER_CPU);
	XT_ASSERT_EQ(st.completed, st.submitted);
	XT_ASSERT_EQ(st.ok, st.submitted);
	XT_ASSERT_EQ(bs.responses, st.submitted);
	XT_ASSERT(bs.max_inflight > QD_PER_CPU); /* both vCPUs at once */
	XT_ASSERT(bs.out_of_order > 0);
	XT_ASSERT_EQ(xl_blkfront_inflight(e->dev), 0);
	for (i = 0; i < 2; i++)
		free_pages(c[i].pg, QD_PER_CPU);
	return XT_PASS;
}

/* A 16-page ring: all 32 in flight on the ring. */
static enum xt_result blk_qd32_2vcpu(void)
{
	struct hv_blkback_config c = { .delay_max_us = 200,
				       .max_ring_order = 4,
				       .nr_workers = 8 };

	return with_env(b_qd32, NULL, &c, 4, false);
}

/* A one-page ring (32 slots) shared by 32 requests: the queue is used. */
static enum xt_result blk_qd32_ring1(void)
{
	struct hv_blkback_config c = { .delay_max_us = 200,
				       .max_ring_order = 0,
				       .nr_workers = 8 };

	return with_env(b_qd32, NULL, &c, 0, false);
}

/*
 * A poll-mode backend (poll_us): a worker out of work watches the ring, so
 * requests are found without kicks; the same accounting as above holds.
 */
static enum xt_result b_qd32_poll(struct env *e, void *arg)
{
	struct hv_blkback_stats bs;
	enum xt_result r = b_qd32(e, arg);

	if (r != XT_PASS)
		return r;
	hv_blkback_get_stats(e->bb, &bs);
	xt_log("%llu watches found requests, %llu kicks for %llu requests",
	       (unsigned long long)bs.poll_hits, (unsigned long long)bs.kicks,
	       (unsigned long long)bs.requests);
	XT_ASSERT(bs.poll_hits > 0);
	return XT_PASS;
}

static enum xt_result blk_qd32_poll(void)
{
	struct hv_blkback_config c = { .delay_max_us = 200,
				       .max_ring_order = 4,
				       .nr_workers = 4,
				       .poll_us = 500 };

	return with_env(b_qd32_poll, NULL, &c, 4, false);
}

/* --- hostile backend ----------------------------------------------------------------------- */

enum hmode {
	H_BAD_ID,
	H_BAD_ID_EDGE,
	H_NOT_INFLIGHT,
	H_DUP,
	H_BAD_STATUS,
	H_BAD_OP,
	H_BAD_PROD,
	H_CLOSING,
	H_RESTART
};

#define HK 24	   /* requests */
#define HNTH 5	   /* the fault hits the 5th response */
#define HSTRIDE 16 /* sectors between requests */

static bool is_victim(const struct hv_blkback_stats *bs, uint64_t id)
{
	unsigned int i;

	for (i = 0; i < bs->nr_victims; i++)
		if (bs->victims[i] == id)
			return true;
	return false;
}

static bool wait_connected(void *arg)
{
	return xl_blkfront_connected(arg) || xl_xs_watches_pending();
}

/*
 * HK requests, writes (even) and reads (odd) of one page each over a disk
 * filled with pattern 1, with the fault set to hit response HNTH.  Then:
 * the mode's counter is 1, exactly the expected requests failed with EIO,
 * every other one completed with the right data (reads: pattern 1; writes:
 * pattern 2 on the RAM disk), no guard page changed, and the device still
 * works (or is broken, for rsp_prod).
 */
static enum xt_result b_hostile(struct env *e, void *arg)
{
	enum hmode m = (enum hmode)(uintptr_t)arg;
	struct hv_blk_hostile h = { 0 };
	struct batch *b = calloc(1, sizeof(*b));
	uint8_t *ram = hv_blkback_ram(e->bb);
	struct xl_blkfront_stats st;
	struct hv_blkback_stats bs;
	int rc;
	unsigned int i, ok = 0, eio = 0, refused = 0;
	bool sent[HK];
	void *pg[1];

	XT_ASSERT(b && batch_alloc(b, e, HK));
	fill_disk_pattern(ram, 0, HK * HSTRIDE * 512, 1);
	switch (m) {
	case H_BAD_ID:
		h.id_out_of_range = HNTH;
		break;
	case H_BAD_ID_EDGE:
		h.id_ring_size = HNTH;
		break;
	case H_NOT_INFLIGHT:
		h.id_not_in_flight = HNTH;
		break;
	case H_DUP:
		h.dup_response = HNTH;
		break;
	case H_BAD_STATUS:
		h.bad_status = HNTH;
		break;
	case H_BAD_OP:
		h.bad_op = HNTH;
		break;
	case H_BAD_PROD:
		h.bad_rsp_prod = HNTH;
		break;
	case H_CLOSING:
		h.closing = HNTH;
		break;
	case H_RESTART:
		h.restart = HNTH;
		break;
	}
	hv_blkback_set_hostile(e->bb, &h);
	for (i = 0; i < HK; i++) {
		uint64_t sector = (uint64_t)i * HSTRIDE;
		bool w = !(i & 1);

		memset(&b->req[i], 0, sizeof(b->req[i]));
		if (w)
			fill_disk_pattern(batch_page(b, i), sector * 512, 4096,
					  2);
		xl_blk_req_set_buf(&b->req[i], w ? XL_BLK_WRITE : XL_BLK_READ,
				   sector, &b->pg[2 * i + 1], 1, 0, 4096);
		b->req[i].done = batch_done;
		b->req[i].priv = b;
		rc = xl_blkfront_submit(e->dev, &b->req[i]);
		sent[i] = !rc;
		/* Once broken, a new request is refused at once. */
		if (rc && m == H_BAD_PROD && xl_blkfront_broken(e->dev)) {
			XT_ASSERT_EQ(rc, -XEN_EIO);
			refused++;
			continue;
		}
		XT_ASSERT_EQ(rc, 0);
	}
	b->n = HK - refused;
	batch_wait(e, b);
	xl_blkfront_get_stats(e->dev, &st);
	hv_blkback_get_stats(e->bb, &bs);
	XT_ASSERT_EQ(bs.nr_victims, 1);
	for (i = 0; i < HK; i++) {
		struct xl_blk_req *r = &b->req[i];
		uint64_t sector = (uint64_t)i * HSTRIDE;
		bool victim = is_victim(&bs, r->id);

		if (!sent[i])
			continue;
		if (r->status == 0) {
			ok++;
			XT_ASSERT_MSG(!victim, "victim %u completed", i);
			if (i & 1)
				XT_ASSERT_MSG(!check_disk_pattern(
						      batch_page(b, i),
						      sector * 512, 4096, 1),
					      "read %u: wrong data", i);
			else
				XT_ASSERT_MSG(!check_disk_pattern(
						      ram + sector * 512,
						      sector * 512, 4096, 2),
					      "completed write %u lost", i);
		} else {
			XT_ASSERT_EQ(r->status, -XEN_EIO);
			eio++;
			if (m <= H_BAD_OP)
				XT_ASSERT_MSG(
					victim,
					"request %u failed, not the victim", i);
		}
	}
	b->n = HK; /* every guard page */
	XT_ASSERT(batch_guards_ok(b));
	XT_ASSERT_EQ(ok + eio + refused, HK);
	/* Completions by status: every failure here is an EIO. */
	XT_ASSERT_EQ(st.ok, ok);
	XT_ASSERT_EQ(st.eio, eio);
	XT_ASSERT_EQ(st.eopnotsupp, 0);
	XT_ASSERT_EQ(st.completed, ok + eio);
	xt_log("ok %u eio %u refused %u; bad_id %llu not_inflight %llu dup %llu status %llu prod %llu orphans %llu disconnect %llu broken %llu",
	       ok, eio, refused, (unsigned long long)st.rsp_bad_id,
	       (unsigned long long)st.rsp_not_inflight,
	       (unsigned long long)st.rsp_dup,
	       (unsigned long long)st.rsp_bad_status,
	       (unsigned long long)st.rsp_bad_prod,
	       (unsigned long long)st.orphans,
	       (unsigned long long)st.disconnect_failed,
	       (unsigned long long)st.broken_failed);
	switch (m) {
	case H_BAD_ID:
	case H_BAD_ID_EDGE:
		XT_ASSERT_EQ(st.rsp_bad_id, 1);
		break;
	case H_NOT_INFLIGHT:
		XT_ASSERT_EQ(st.rsp_not_inflight, 1);
		break;
	case H_DUP:
		XT_ASSERT_EQ(st.rsp_dup, 1);
		break;
	case H_BAD_STATUS:
		XT_ASSERT_EQ(st.rsp_bad_status, 1);
		break;
	case H_BAD_OP:
		XT_ASSERT_EQ(st.rsp_bad_op, 1);
		break;
	case H_BAD_PROD:
		XT_ASSERT_EQ(st.rsp_bad_prod, 1);
		XT_ASSERT(ok < HNTH);
		XT_ASSERT_EQ(st.broken_failed, eio);
		XT_ASSERT(xl_blkfront_broken(e->dev));
		break;
	case H_CLOSING:
	case H_RESTART:
		/* HNTH - 1 responses went out, then nothing. */
		XT_ASSERT_EQ(ok, HNTH - 1);
		XT_ASSERT_EQ(st.disconnect_failed, eio);
		break;
	}
	if (m <= H_BAD_OP) {
		XT_ASSERT_EQ(eio, 1);
		XT_ASSERT_EQ(st.orphans, m >= H_BAD_STATUS ? 0 : 1);
		XT_ASSERT_EQ(st.rsp_bad_id + st.rsp_not_inflight + st.rsp_dup +
				     st.rsp_bad_status + st.rsp_bad_op,
			     1);
	}
	XT_ASSERT(alloc_pages(pg, 1));
	if (m == H_BAD_PROD) {
		XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 0, pg, 1, 0, 4096),
			     -XEN_EIO);
	} else if (m == H_CLOSING) {
		XT_ASSERT(!xl_blkfront_connected(e->dev));
		XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 0, pg, 1, 0, 4096),
			     -XEN_ENODEV);
	} else {
		if (m == H_RESTART) {
			while (!xl_blkfront_connected(e->dev)) {
				xl_idle_until(wait_connected, e->dev);
				xl_blkfront_poll(e->dev);
			}
			xl_blkfront_get_stats(e->dev, &st);
			XT_ASSERT_EQ(st.connects, 2);
		}
		/* Still usable; what completed before is intact. */
		for (i = 0; i < HK; i++) {
			uint64_t sector = (uint64_t)i * HSTRIDE;

			if (b->req[i].status || (i & 1))
				continue;
			XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, sector, pg, 1, 0,
					     4096),
				     0);
			XT_ASSERT_MSG(!check_disk_pattern(pg[0], sector * 512,
							  4096, 2),
				      "write %u not intact", i);
		}
		fill_disk_pattern(pg[0], 512 * 9000, 4096, 3);
		XT_ASSERT_EQ(sync_io(e, XL_BLK_WRITE, 9000, pg, 1, 0, 4096), 0);
		memset(pg[0], 0, 4096);
		XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 9000, pg, 1, 0, 4096), 0);
		XT_ASSERT_EQ(check_disk_pattern(pg[0], 512 * 9000, 4096, 3), 0);
	}
	free_pages(pg, 1);
	free_pages(b->pg, 2 * b->n + 1);
	free(b);
	return XT_PASS;
}

static const struct hv_blkback_config hostile_cfg = { .delay_max_us = 300,
						      .max_ring_order = 0 };
/* The same with a worker watching the ring while the backend restarts. */
static const struct hv_blkback_config hostile_poll_cfg = { .delay_max_us = 300,
							   .max_ring_order = 0,
							   .poll_us = 2000 };

#define HOSTILE(name, mode, xs)                                       \
	static enum xt_result blk_hostile_##name(void)                \
	{                                                             \
		return with_env(b_hostile, (void *)(uintptr_t)(mode), \
				&hostile_cfg, 0, xs);                 \
	}

HOSTILE(id_out_of_range, H_BAD_ID, false)
HOSTILE(id_ring_size, H_BAD_ID_EDGE, false)
HOSTILE(id_not_in_flight, H_NOT_INFLIGHT, false)
HOSTILE(dup_response, H_DUP, false)
HOSTILE(bad_status, H_BAD_STATUS, false)
HOSTILE(bad_op, H_BAD_OP, false)
HOSTILE(bad_rsp_prod, H_BAD_PROD, false)
HOSTILE(closing, H_CLOSING, true)
HOSTILE(restart, H_RESTART, true)

static enum xt_result blk_hostile_restart_poll(void)
{
	return with_env(b_hostile, (void *)(uintptr_t)H_RESTART,
			&hostile_poll_cfg, 0, true);
}

/* --- lifecycle: every request completes once, pages never shared late ---- */

/*
 * Wait up to ns for every request of b, running xenbus watches meanwhile;
 * sleeping (not idling) so a request that never completes fails the test
 * instead of hanging it.
 */
static bool batch_wait_bounded(struct env *e, struct batch *b, uint64_t ns)
{
	uint64_t end = xt_now_ns() + ns;

	while (XT_LOAD(&b->done) < b->n) {
		if (xt_now_ns() >= end)
			return false;
		if (e->xs)
			xl_blkfront_poll(e->dev);
		xt_sleep_ns(1000000);
	}
	return true;
}

/* Submit n one-page reads (request i at sector 8 i). */
static enum xt_result batch_reads(struct env *e, struct batch *b,
				  unsigned int n)
{
	unsigned int i;

	XT_ASSERT(batch_alloc(b, e, n));
	for (i = 0; i < n; i++) {
		memset(&b->req[i], 0, sizeof(b->req[i]));
		xl_blk_req_set_buf(&b->req[i], XL_BLK_READ, (uint64_t)i * SPP,
				   &b->pg[2 * i + 1], 1, 0, 4096);
		b->req[i].done = batch_done;
		b->req[i].priv = b;
		XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &b->req[i]), 0);
	}
	return XT_PASS;
}

#define RQ 40 /* requests: 32 on an order-0 ring, 8 queued */

/*
 * The reproduction of the review: 40 requests on an order-0 ring that no
 * backend answers, a restart (disconnect(false): the 32 in flight fail,
 * the 8 queued wait for the next connection), then the backend closes
 * (arg 0: disconnect(true)) or the device is freed (arg 1).  Every
 * request completes exactly once, with EIO.
 */
static enum xt_result b_restart_then_close(struct env *e, void *arg)
{
	bool use_free = (uintptr_t)arg != 0;
	struct batch *b = calloc(1, sizeof(*b));
	unsigned int i, done;

	XT_ASSERT(b);
	if (batch_reads(e, b, RQ) != XT_PASS)
		return XT_FAIL;
	XT_ASSERT_EQ(xl_blkfront_inflight(e->dev), 32);
	XT_ASSERT_EQ(XT_LOAD(&b->done), 0);
	xl_blkfront_disconnect(e->dev, false);
	XT_ASSERT_EQ(XT_LOAD(&b->done), 32);
	if (use_free) {
		xl_blkfront_free(e->dev);
		e->dev = NULL;
	} else {
		xl_blkfront_disconnect(e->dev, true);
	}
	done = XT_LOAD(&b->done);
	XT_ASSERT_MSG(done == RQ, "%u of %u requests never completed",
		      RQ - done, RQ);
	for (i = 0; i < RQ; i++) {
		XT_ASSERT_EQ(XT_LOAD(&b->calls[i]), 1);
		XT_ASSERT_EQ(b->req[i].status, -XEN_EIO);
	}
	XT_ASSERT(batch_guards_ok(b));
	free_pages(b->pg, 2 * b->n + 1);
	free(b);
	return XT_PASS;
}

static enum xt_result blk_restart_then_close_completes_all(void)
{
	struct hv_blkback_config c = { .max_ring_order = 0 };

	env_opts.no_backend = true;
	return with_env(b_restart_then_close, (void *)0, &c, 0, false);
}

static enum xt_result blk_restart_then_free_completes_all(void)
{
	struct hv_blkback_config c = { .max_ring_order = 0 };

	env_opts.no_backend = true;
	return with_env(b_restart_then_close, (void *)1, &c, 0, false);
}

/*
 * A backend that restarts (Initialising) with 40 requests on an order-0
 * ring and then goes Closed for good: the 4 answered complete, the other
 * 36 (in flight or queued over the restart) fail with EIO, each once.
 */
static enum xt_result b_init_closed(struct env *e, void *arg)
{
	struct hv_blk_hostile h = { .init_closed = HNTH };
	struct batch *b = calloc(1, sizeof(*b));
	unsigned int i, ok = 0, eio = 0, done;
	void *pg[1];

	(void)arg;
	XT_ASSERT(b);
	hv_blkback_set_hostile(e->bb, &h);
	if (batch_reads(e, b, RQ) != XT_PASS)
		return XT_FAIL;
	batch_wait_bounded(e, b, 30000000000ULL);
	done = XT_LOAD(&b->done);
	XT_ASSERT_MSG(done == RQ, "%u of %u requests never completed",
		      RQ - done, RQ);
	for (i = 0; i < RQ; i++) {
		XT_ASSERT_EQ(XT_LOAD(&b->calls[i]), 1);
		if (!b->req[i].status)
			ok++;
		else if (b->req[i].status == -XEN_EIO)
			eio++;
	}
	XT_ASSERT_EQ(ok, HNTH - 1);
	XT_ASSERT_EQ(eio, RQ - (HNTH - 1));
	XT_ASSERT_EQ(hv_blkback_state(e->bb), XenbusStateClosed);
	XT_ASSERT(!xl_blkfront_connected(e->dev));
	XT_ASSERT(alloc_pages(pg, 1));
	XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 0, pg, 1, 0, 4096), -XEN_ENODEV);
	XT_ASSERT(batch_guards_ok(b));
	free_pages(pg, 1);
	free_pages(b->pg, 2 * b->n + 1);
	free(b);
	return XT_PASS;
}

static enum xt_result blk_hostile_init_closed(void)
{
	return with_env(b_init_closed, NULL, &hostile_cfg, 0, true);
}

/*
 * XSA-396: the backend answers a read and keeps its data grant mapped.
 * The request fails with EIO, the device breaks (every later request
 * fails), and the page stays out of the frontend's hands while mapped:
 * untrusted (arg 0), it is the bounce page and the caller's page was
 * never shared; trusted (arg 1), the caller's page, counted in
 * req.deferred_grants.  Released by the grant table once unmapped.
 */
static enum xt_result b_grant_mapped(struct env *e, void *arg)
{
	bool trusted = (uintptr_t)arg != 0;
	struct hv_blk_hostile h = { .keep_mapping = 1 };
	uint8_t *ram = hv_blkback_ram(e->bb);
	struct xl_blkfront_stats st;
	struct xl_blk_req req;
	unsigned int def0 = xl_gnttab_nr_deferred(), i;
	void *pg[1];
	int rc;

	XT_ASSERT(alloc_pages(pg, 1));
	memset(pg[0], GUARD, XL_PAGE_SIZE);
	fill_disk_pattern(ram, 0, 4096, 5);
	hv_blkback_set_hostile(e->bb, &h);
	memset(&req, 0, sizeof(req));
	XT_ASSERT_EQ(xl_blk_req_set_buf(&req, XL_BLK_READ, 0, pg, 1, 0, 4096),
		     0);
	rc = xl_blkfront_io_sync(e->dev, &req);
	XT_ASSERT_EQ(rc, -XEN_EIO);
	XT_ASSERT(xl_blkfront_broken(e->dev));
	xl_blkfront_get_stats(e->dev, &st);
	XT_ASSERT_EQ(st.grant_mapped, 1);
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), def0 + 1);
	XT_ASSERT_EQ(req.deferred_grants, trusted ? 1 : 0);
	if (!trusted)
		for (i = 0; i < XL_PAGE_SIZE; i++)
			XT_ASSERT_MSG(((uint8_t *)pg[0])[i] == GUARD,
				      "byte %u of the caller's page changed",
				      i);
	XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 8, pg, 1, 0, 4096), -XEN_EIO);
	XT_ASSERT_EQ(hv_blkback_release_kept(e->bb), 1);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), def0);
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_grant_mapped_at_completion(void)
{
	return with_env(b_grant_mapped, (void *)0, &hostile_cfg, 0, false);
}

static enum xt_result blk_grant_mapped_at_completion_trusted(void)
{
	env_opts.trusted = true;
	return with_env(b_grant_mapped, (void *)1, &hostile_cfg, 0, false);
}

/*
 * XSA-403: a backend that uses the whole page it maps.  A read of sectors
 * 2-3 of a page: the rest of the caller's page keeps its bytes.  A write
 * of sectors 2-3: none of the page's other sectors reaches the backend.
 */
static enum xt_result b_bounce(struct env *e, void *arg)
{
	bool write = (uintptr_t)arg != 0;
	struct hv_blk_hostile h = { .whole_page = true };
	uint8_t *ram = hv_blkback_ram(e->bb), *p, *seen;
	void *pg[1];
	unsigned int i, sect;

	XT_ASSERT(alloc_pages(pg, 1));
	p = pg[0];
	seen = malloc(XL_PAGE_SIZE);
	XT_ASSERT(seen);
	hv_blkback_set_hostile(e->bb, &h);
	if (!write) {
		fill_disk_pattern(ram, 0, 16 * 512, 9);
		memset(p, GUARD, XL_PAGE_SIZE);
		XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 10, pg, 1, 1024, 1024), 0);
		XT_ASSERT_EQ(check_disk_pattern(p + 1024, 10 * 512, 1024, 9),
			     0);
		for (i = 0; i < XL_PAGE_SIZE; i++)
			XT_ASSERT_MSG(
				i >= 1024 && i < 2048 ? true : p[i] == GUARD,
				"byte %u of the page, outside the read, is %#x",
				i, p[i]);
	} else {
		/* The page's other sectors: what the caller keeps private. */
		fill_disk_pattern(p, 0, XL_PAGE_SIZE, 77);
		fill_disk_pattern(p + 1024, 20 * 512, 1024, 11);
		XT_ASSERT_EQ(sync_io(e, XL_BLK_WRITE, 20, pg, 1, 1024, 1024),
			     0);
		XT_ASSERT_EQ(check_disk_pattern(ram + 20 * 512, 20 * 512, 1024,
						11),
			     0);
		hv_blkback_snoop(e->bb, seen);
		XT_ASSERT(!memcmp(seen + 1024, p + 1024, 1024));
		for (sect = 0; sect < SPP; sect++)
			XT_ASSERT_MSG(
				sect == 2 || sect == 3 ||
					memcmp(seen + sect * 512,
					       p + sect * 512, 512),
				"sector %u of the page, outside the write, reached the backend",
				sect);
	}
	free(seen);
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_bounce_subpage_read(void)
{
	return with_env(b_bounce, (void *)0, &hostile_cfg, 0, false);
}

static enum xt_result blk_bounce_subpage_write(void)
{
	return with_env(b_bounce, (void *)1, &hostile_cfg, 0, false);
}

/*
 * 200 detach/attach cycles through xenbus with I/O in each: our close
 * writes Closing and Closed and ends the ring grants only once the
 * backend unmapped them (Closed), so nothing is deferred, and every ref
 * is free after each close.
 */
#define CYCLES 200

static enum xt_result b_close_reconnect(struct env *e, void *arg)
{
	unsigned int i, free0 = 0;
	void *pg[1];
	int rc;

	(void)arg;
	XT_ASSERT(alloc_pages(pg, 1));
	for (i = 0; i <= CYCLES; i++) {
		if (i) {
			rc = xl_blkfront_attach(e->dev, 0);
			XT_ASSERT_MSG(
				!rc,
				"cycle %u: attach %d (%u refs free, %u deferred)",
				i, rc, xl_gnttab_nr_free(),
				xl_gnttab_nr_deferred());
		}
		/* The backend never restarted: we must not have seen one. */
		XT_ASSERT_MSG(xl_blkfront_restarts(e->dev) == 0,
			      "cycle %u: %u restarts seen", i,
			      xl_blkfront_restarts(e->dev));
		fill_disk_pattern(pg[0], (uint64_t)i * 4096, 4096, i);
		XT_ASSERT_EQ(sync_io(e, XL_BLK_WRITE, i * SPP, pg, 1, 0, 4096),
			     0);
		memset(pg[0], 0, 4096);
		XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, i * SPP, pg, 1, 0, 4096),
			     0);
		XT_ASSERT_EQ(check_disk_pattern(pg[0], (uint64_t)i * 4096, 4096,
						i),
			     0);
		rc = xl_blkfront_detach(e->dev, 0);
		XT_ASSERT_MSG(!rc, "cycle %u: detach %d", i, rc);
		if (!i)
			free0 = xl_gnttab_nr_free();
		XT_ASSERT_MSG(
			xl_gnttab_nr_deferred() == 0 &&
				xl_gnttab_nr_free() == free0,
			"cycle %u: after our close %u refs deferred, %u free (%u after the first)",
			i, xl_gnttab_nr_deferred(), xl_gnttab_nr_free(), free0);
	}
	XT_ASSERT_EQ(free0, xl_gnttab_nr_refs());
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_close_reconnect_200(void)
{
	return with_env(b_close_reconnect, NULL, NULL, 0, true);
}

/*
 * The backend's frontend-state handling on a thread of its own, up to
 * 2 ms after each event, reading the state when it gets there (Linux's
 * xenwatch): our close and the next attach must not outrun it.
 */
static const struct hv_blkback_config async_backend = {
	.max_ring_order = 4,
	.watch_delay_us = 2000,
};

static enum xt_result blk_close_reconnect_200_async(void)
{
	return with_env(b_close_reconnect, NULL, &async_backend, 0, true);
}

/*
 * 200 cycles of a close the backend starts (hostile closing: Closing
 * instead of a response) and our reconnect.  As in Linux's
 * blkfront_closing(), the ring grants are ended while the backend still
 * maps them (it unmaps on our Closed), so each close defers the ring's 16
 * refs: the grant table must reclaim them itself, or the table runs out
 * after about 127 cycles.
 */
static enum xt_result b_backend_close_reconnect(struct env *e, void *arg)
{
	struct hv_blk_hostile h = { .closing = 1 };
	unsigned int i, most = 0;
	void *pg[1];
	int rc;

	(void)arg;
	XT_ASSERT(alloc_pages(pg, 1));
	for (i = 0; i < CYCLES; i++) {
		if (i) {
			rc = xl_blkfront_attach(e->dev, 0);
			XT_ASSERT_MSG(
				!rc,
				"cycle %u: attach %d (%u refs free, %u deferred)",
				i, rc, xl_gnttab_nr_free(),
				xl_gnttab_nr_deferred());
		}
		XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 0, pg, 1, 0, 4096), 0);
		hv_blkback_set_hostile(e->bb, &h);
		XT_ASSERT_EQ(sync_io(e, XL_BLK_READ, 8, pg, 1, 0, 4096),
			     -XEN_EIO);
		XT_ASSERT(!xl_blkfront_connected(e->dev));
		if (xl_gnttab_nr_deferred() > most)
			most = xl_gnttab_nr_deferred();
		rc = xl_blkfront_detach(e->dev, 0);
		XT_ASSERT_MSG(!rc, "cycle %u: detach %d", i, rc);
	}
	xt_log("%u backend closes, at most %u refs deferred at once", CYCLES,
	       most);
	XT_ASSERT(most <= 2 * XL_BLK_MAX_RING_PAGES + XL_BLK_MAX_SEGS);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), xl_gnttab_nr_refs());
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_backend_close_reconnect_200(void)
{
	return with_env(b_backend_close_reconnect, NULL, NULL, 0, true);
}

/*
 * A backend that never answers our Closing: xl_blkfront_detach(dev, 0)
 * gives up after 5 s (Linux's xenbus_dev_shutdown bound) and still ends
 * Closed; the ring grants it maps are deferred and released by the grant
 * table once it is gone.
 */
static enum xt_result b_close_silent(struct env *e, void *arg)
{
	struct hv_blk_hostile h = { .ignore_frontend = true };
	uint64_t t0, dt;
	int rc;

	(void)arg;
	hv_blkback_set_hostile(e->bb, &h);
	t0 = xt_now_ns();
	rc = xl_blkfront_detach(e->dev, 0);
	dt = xt_now_ns() - t0;
	xt_log("detach: %d after %llu ms", rc,
	       (unsigned long long)dt / 1000000);
	XT_ASSERT_EQ(rc, -XEN_ETIMEDOUT);
	XT_ASSERT(dt >= 4900000000ULL && dt < 40000000000ULL);
	XT_ASSERT(!xl_blkfront_connected(e->dev));
	XT_ASSERT_EQ(hv_blkback_state(e->bb), XenbusStateConnected);
	return XT_PASS;
}

static enum xt_result blk_close_silent_backend_bounded(void)
{
	return with_env(b_close_silent, NULL, NULL, 0, true);
}

/*
 * blk_sync_done runs on the vCPU the device's port is bound to (1) while
 * the waiter idles on vCPU 0; vCPU 2 floods vCPU 0 with IPIs, so the
 * waiter often sees done without the completion's wakeup.  The waiter's
 * frame (blk_sync_done's struct blk_sync) is reused at once by a function
 * that writes over it: a completion that reads it after setting done is a
 * use after return, which ThreadSanitizer reports as a race between that
 * read and the reuse (run it in build/tsan; in other builds it checks the
 * requests' results only).
 */
#define SR_ROUNDS 2000

struct sync_remote {
	evtchn_port_t ipi; /* vCPU 2 -> vCPU 0 */
	uint32_t stop;	   /* atomic */
	uint64_t sends;
};

static uint64_t sr_sink;

static void sr_noop(evtchn_port_t port, void *data)
{
	(void)port;
	(void)data;
}

static void sr_flood(void *arg)
{
	struct sync_remote *sr = arg;

	while (!XT_LOAD(&sr->stop)) {
		xl_evtchn_send(sr->ipi);
		sr->sends++;
	}
}

/*
 * Write over the stack the last io_sync used.  Zeros: a completion that
 * reads the waiter's frame after setting done then finds vCPU 0 and a
 * NULL device, and crashes in the wake (a pattern such as 0x6b names a
 * vCPU out of range, which the wake ignores silently).
 */
static __attribute__((noinline)) void sr_scribble(void)
{
	uint8_t buf[4096];

	memset(buf, 0, sizeof(buf));
	XT_STORE(&sr_sink, fnv(buf, sizeof(buf)));
}

static enum xt_result b_sync_remote(struct env *e, void *arg)
{
	static struct sync_remote sr;
	unsigned int i, bad = 0;
	void *pg[1];

	(void)arg;
	memset(&sr, 0, sizeof(sr));
	XT_ASSERT(alloc_pages(pg, 1));
	fill_disk_pattern(hv_blkback_ram(e->bb), 0, 64 * 4096, 3);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(e->port, 1), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, sr_noop, NULL, &sr.ipi), 0);
	xt_start_on(2, sr_flood, &sr);
	for (i = 0; i < SR_ROUNDS; i++) {
		if (sync_io(e, XL_BLK_READ, (i % 64) * SPP, pg, 1, 0, 4096) ||
		    check_disk_pattern(pg[0], (uint64_t)(i % 64) * 4096, 4096,
				       3))
			bad++;
		sr_scribble();
	}
	XT_STORE(&sr.stop, 1);
	xt_wait_on(2);
	xl_evtchn_close(sr.ipi);
	xt_log("%u synchronous reads completed on vCPU 1, %llu IPIs to vCPU 0",
	       SR_ROUNDS, (unsigned long long)sr.sends);
	XT_ASSERT_EQ(bad, 0);
	free_pages(pg, 1);
	return XT_PASS;
}

static enum xt_result blk_sync_done_remote_cpu(void)
{
	return with_env(b_sync_remote, NULL, NULL, 0, false);
}

struct rs_mapper {
	struct hv_domain *d;
	uint32_t ref;	 /* atomic: the ref to map, 0: none */
	uint32_t mapped; /* atomic: holds a mapping of ref */
	uint32_t stop;	 /* atomic */
	uint32_t epoch;	 /* atomic: bumped by the test ... */
	uint32_t seen;	 /* atomic: ... and echoed after a whole pass */
	struct hv_grant_map m;
};

static void *rs_map_thread(void *arg)
{
	struct rs_mapper *mp = arg;

	while (!XT_LOAD(&mp->stop)) {
		uint32_t epoch = XT_LOAD(&mp->epoch);
		uint32_t ref = XT_LOAD(&mp->ref);

		if (ref && !XT_LOAD(&mp->mapped) &&
		    hv_gnttab_map(mp->d, ref, false, &mp->m) == GNTST_okay)
			XT_STORE(&mp->mapped, 1);
		XT_STORE(&mp->seen, epoch);
	}
	return NULL;
}

/* Stop the mapper's attempts and wait until none is under way. */
static void rs_quiesce(struct rs_mapper *mp)
{
	uint32_t epoch;

	XT_STORE(&mp->ref, 0);
	epoch = XT_ADD(&mp->epoch, 1);
	while (XT_LOAD(&mp->seen) != epoch)
		xt_sleep_ns(10000);
}

#define RS_HITS 3

static enum xt_result rs_loop(struct xl_blkfront *dev, struct rs_mapper *mp,
			      grant_ref_t *refs, unsigned int n,
			      unsigned int *hits, unsigned int *tries)
{
	uint64_t end = xt_now_ns() + 20000000000ULL;
	grant_ref_t rr[XL_BLK_MAX_RING_PAGES];
	evtchn_port_t port;
	int rc;

	while (*hits < RS_HITS && xt_now_ns() < end) {
		/* Two refs free: a, then b (handed out first). */
		grant_ref_t a = refs[n - 2], b = refs[n - 1];

		XT_ASSERT_EQ(xl_gnttab_end_access(a), 0);
		XT_ASSERT_EQ(xl_gnttab_end_access(b), 0);
		XT_STORE(&mp->ref, b);
		rc = xl_blkfront_setup_ring(dev, 0, 2, rr, &port);
		rs_quiesce(mp);
		XT_ASSERT_EQ(rc, -XEN_ENOSPC);
		++*tries;
		if (XT_LOAD(&mp->mapped)) {
			++*hits;
			XT_ASSERT_MSG(
				xl_gnttab_is_deferred(b),
				"try %u: ring ref %u mapped by the backend, not deferred: its page was freed",
				*tries, b);
			hv_gnttab_unmap(&mp->m);
			XT_STORE(&mp->mapped, 0);
		}
		XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
		XT_ASSERT_EQ(xl_gnttab_nr_free(), 2);
		XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, true, &refs[n - 1]),
			     0);
		XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, true, &refs[n - 2]),
			     0);
	}
	return XT_PASS;
}

/*
 * Ring setup fails at its third grant (the table has two refs left) while
 * a backend maps the first ring ref as soon as it is granted (a host
 * thread, as a hostile backend guessing refs would).  When the map won
 * the race, the ref must stay deferred with its page (not ended, not
 * freed); then it is released once unmapped.  The race is a matter of
 * timing: the test repeats until the mapper won a few times (or skips).
 */
static enum xt_result blk_ring_setup_error_keeps_mapped(void)
{
	static grant_ref_t refs[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	static struct rs_mapper mp;
	unsigned int n = 0, total, i, hits = 0, tries = 0;
	struct xl_blkfront *dev;
	enum xt_result r;
	pthread_t th;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	total = xl_gnttab_nr_refs();
	while (n < total && xl_gnttab_grant_access(0, 1, true, &refs[n]) == 0)
		n++;
	XT_ASSERT_EQ(n, total);
	dev = xl_blkfront_alloc(DEVID);
	XT_ASSERT(dev);
	memset(&mp, 0, sizeof(mp));
	mp.d = hv_guest_domain();
	XT_ASSERT_EQ(pthread_create(&th, NULL, rs_map_thread, &mp), 0);
	r = rs_loop(dev, &mp, refs, n, &hits, &tries);
	rs_quiesce(&mp);
	XT_STORE(&mp.stop, 1);
	pthread_join(th, NULL);
	if (XT_LOAD(&mp.mapped))
		hv_gnttab_unmap(&mp.m);
	xl_blkfront_free(dev);
	if (r != XT_PASS)
		return r;
	xt_log("%u ring setups, the backend mapped the first ring ref in %u",
	       tries, hits);
	for (i = 0; i < n; i++)
		XT_ASSERT_EQ(xl_gnttab_end_access(refs[i]), 0);
	xl_gnttab_fini();
	XT_SKIP_IF(!hits, "the mapper never won the race in %u tries", tries);
	return XT_PASS;
}

/* --- an earlier frontend's leftovers at attach ------------------------------ */

/*
 * A frontend that went away mid-handshake or without closing (a crash, a
 * kexec, a driver freed while attached) leaves its state, and maybe a
 * ring the backend maps or is about to map, behind.  A new frontend must
 * bring the backend to Closed and then InitWait before it publishes its
 * own ring (Linux's xenbus_reset_frontend() does at boot): a blkback
 * Connected to another ring ignores our Initialised and Connected
 * (frontend_changed(): "if (dev->state == XenbusStateConnected) break;")
 * and never serves our requests.  Each test below attaches a new
 * frontend, then reads back on the new ring what was written before,
 * with its own bound on the I/O: a hang is a failure, not a timeout of
 * the runner.
 */
#define STALE_ATTACH_NS 10000000000ULL
#define STALE_IO_NS 3000000000ULL

struct bounded_io {
	struct xl_blk_req req;
	struct xl_blkfront *dev;
	uint32_t done; /* atomic */
};

static void bounded_io_done(struct xl_blk_req *req)
{
	struct bounded_io *b = req->priv;

	XT_STORE(&b->done, 1);
}

static bool bounded_io_ready(void *arg)
{
	struct bounded_io *b = arg;

	if (!XT_LOAD(&b->done))
		xl_blkfront_poll(b->dev);
	return XT_LOAD(&b->done) != 0;
}

/*
 * One request, waited for at most STALE_IO_NS.  A request still in flight
 * then is failed by a detach (the backend never answers it), so req stays
 * ours; -XEN_ETIMEDOUT.
 */
static int bounded_io(struct env *e, enum xl_blk_op op, uint64_t sector,
		      void **pages, unsigned int nr)
{
	struct bounded_io b;
	struct xl_blkfront_ring_state rs;
	struct hv_blkback_stats bs;
	int rc;

	memset(&b, 0, sizeof(b));
	b.dev = e->dev;
	rc = xl_blk_req_set_buf(&b.req, op, sector, pages, nr, 0,
				nr * XL_PAGE_SIZE);
	if (rc)
		return rc;
	b.req.done = bounded_io_done;
	b.req.priv = &b;
	rc = xl_blkfront_submit(e->dev, &b.req);
	if (rc)
		return rc;
	if (xt_wait_until(bounded_io_ready, &b, STALE_IO_NS))
		return b.req.status;
	xl_blkfront_get_ring(e->dev, &rs);
	hv_blkback_get_stats(e->bb, &bs);
	xt_log("no answer in %llu ms: xenbus state %u, req_prod %u "
	       "req_event %u rsp_prod %u; backend %d, %llu requests read",
	       (unsigned long long)STALE_IO_NS / 1000000,
	       xl_blkfront_xenbus_state(e->dev), rs.req_prod, rs.req_event,
	       rs.rsp_prod, hv_blkback_state(e->bb),
	       (unsigned long long)bs.requests);
	xl_blkfront_detach(e->dev, 0);
	return XT_LOAD(&b.done) ? -XEN_ETIMEDOUT : -XEN_EIO;
}

/* Write a pattern the new frontend must read back. */
static enum xt_result stale_write(struct env *e, void **pg)
{
	fill_disk_pattern(pg[0], 40 * 512, 4096, 77);
	XT_ASSERT_EQ(sync_io(e, XL_BLK_WRITE, 40, pg, 1, 0, 4096), 0);
	return XT_PASS;
}

/* A new frontend: attach, and the pattern read back in bounded time. */
static enum xt_result stale_reattach(struct env *e, void **pg)
{
	int rc;

	xl_blkfront_free(e->dev);
	e->dev = xl_blkfront_alloc(DEVID);
	XT_ASSERT(e->dev);
	rc = xl_blkfront_attach(e->dev, STALE_ATTACH_NS);
	XT_ASSERT_MSG(rc == 0, "attach: %d, backend %d", rc,
		      hv_blkback_state(e->bb));
	memset(pg[0], 0, 4096);
	XT_ASSERT_EQ(bounded_io(e, XL_BLK_READ, 40, pg, 1), 0);
	XT_ASSERT_EQ(check_disk_pattern(pg[0], 40 * 512, 4096, 77), 0);
	/* One reset: at init, or (stale) when the watch reports it. */
	XT_ASSERT_EQ(xl_blkfront_resets(e->dev), 1);
	return XT_PASS;
}

static int fe_state_write(unsigned int state)
{
	char path[48];

	snprintf(path, sizeof(path), "device/vbd/%u/state", DEVID);
	return xl_xs_printf(XL_XS_NO_TX, path, "%u", state);
}

struct backend_wait {
	struct hv_blkback *bb;
	int want;
};

static bool backend_in(void *arg)
{
	struct backend_wait *w = arg;

	return hv_blkback_state(w->bb) == w->want;
}

static bool wait_backend(struct hv_blkback *bb, int want)
{
	struct backend_wait w = { bb, want };

	return xt_wait_until(backend_in, &w, 5000000000ULL);
}

/*
 * The frontend's state as written, each value (hv's watches run on the
 * xenstore service thread before the guest's next request is read).
 */
#define FE_STATES_MAX 32

struct fe_states {
	char path[128];
	uint32_t n; /* atomic */
	int v[FE_STATES_MAX];
};

static void fe_state_seen(const char *path, const char *token, void *arg)
{
	struct fe_states *f = arg;
	char *s = hv_xs_read(f->path, NULL, NULL);
	uint32_t i = XT_LOAD(&f->n);

	(void)path;
	(void)token;
	if (i < FE_STATES_MAX) {
		f->v[i] = s ? atoi(s) : -1;
		XT_STORE(&f->n, i + 1);
	}
	free(s);
}

static bool fe_states_any(void *arg)
{
	return XT_LOAD(&((struct fe_states *)arg)->n) > 0;
}

/*
 * An earlier frontend wrote Closing and died: the backend answered
 * Closing and waits for our Closed.  The new frontend must finish that
 * close (our Closed, its Closed) before Initialising; it used to take
 * the backend's Closing for a close of its own and fail the attach with
 * -ENODEV.  Our first write is Closed, as Linux's xenbus_reset_frontend()
 * does for a Closing backend (a Closing of ours would only be answered
 * with Closing again).
 */
static enum xt_result b_reattach_closing(struct env *e, void *arg)
{
	static const char token[] = "fe-states";
	struct fe_states f;
	void *pg[1];
	enum xt_result r;
	uint32_t i, n;

	(void)arg;
	memset(&f, 0, sizeof(f));
	snprintf(f.path, sizeof(f.path), "/local/domain/%u/device/vbd/%u/state",
		 hv_domain_id(hv_guest_domain()), DEVID);
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r == XT_PASS) {
		XT_ASSERT_EQ(fe_state_write(XenbusStateClosing), 0);
		XT_ASSERT_MSG(wait_backend(e->bb, XenbusStateClosing),
			      "backend %d", hv_blkback_state(e->bb));
		XT_ASSERT_EQ(hv_xs_watch(f.path, token, fe_state_seen, &f), 0);
		/* Its firing at registration, then only our writes. */
		XT_ASSERT(xt_wait_until(fe_states_any, &f, 5000000000ULL));
		XT_STORE(&f.n, 0);
		r = stale_reattach(e, pg);
		hv_xs_unwatch(f.path, token);
		n = XT_LOAD(&f.n);
		for (i = 0; i < n && i < 6; i++)
			xt_log("frontend state %u: %d", i, f.v[i]);
		if (r == XT_PASS) {
			XT_ASSERT(n >= 4);
			XT_ASSERT_EQ(f.v[0], XenbusStateClosed);
			XT_ASSERT_EQ(f.v[1], XenbusStateInitialising);
		}
	}
	free_pages(pg, 1);
	return r;
}

static enum xt_result blk_reattach_closing(void)
{
	return with_env(b_reattach_closing, NULL, NULL, 0, true);
}

static enum xt_result blk_reattach_closing_async(void)
{
	return with_env(b_reattach_closing, NULL, &async_backend, 0, true);
}

/*
 * An earlier frontend's ring, published and still granted (a kernel
 * before a kexec: its grant table entries survive it): ring-ref,
 * event-channel and Initialised in device/vbd/<id>, which the backend
 * has not acted on yet (its watch event comes late).
 */
struct stale_fe {
	void *page;
	grant_ref_t ref;
	evtchn_port_t port;
	struct hv_blkback *bb;
	uint32_t hooked;   /* atomic: the read hook ran */
	int backend_after; /* the backend's state after the hook */
};

static void stale_irq(evtchn_port_t port, void *data)
{
	(void)port;
	(void)data;
}

static enum xt_result stale_publish(struct env *e, struct stale_fe *s)
{
	struct hv_blk_hostile silent = { .ignore_frontend = true };
	char path[64];

	/* The backend in InitWait, as for any frontend's Initialising. */
	XT_ASSERT_EQ(xl_blkfront_detach(e->dev, 0), 0);
	XT_ASSERT_EQ(fe_state_write(XenbusStateInitialising), 0);
	XT_ASSERT_MSG(wait_backend(e->bb, XenbusStateInitWait), "backend %d",
		      hv_blkback_state(e->bb));
	hv_blkback_set_hostile(e->bb, &silent);
	s->bb = e->bb;
	s->page = xl_os_alloc_page();
	XT_ASSERT(s->page);
	memset(s->page, 0, XL_PAGE_SIZE);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(s->page),
					    false, &s->ref),
		     0);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(0, stale_irq, NULL, &s->port), 0);
	/* One page: no ring-page-order (ours published 16). */
	snprintf(path, sizeof(path), "device/vbd/%u/ring-page-order", DEVID);
	XT_ASSERT_EQ(xl_xs_rm(XL_XS_NO_TX, path), 0);
	snprintf(path, sizeof(path), "device/vbd/%u/ring-ref", DEVID);
	XT_ASSERT_EQ(xl_xs_printf(XL_XS_NO_TX, path, "%u", s->ref), 0);
	snprintf(path, sizeof(path), "device/vbd/%u/event-channel", DEVID);
	XT_ASSERT_EQ(xl_xs_printf(XL_XS_NO_TX, path, "%u", s->port), 0);
	XT_ASSERT_EQ(fe_state_write(XenbusStateInitialised), 0);
	return XT_PASS;
}

static void stale_release(struct stale_fe *s)
{
	if (s->port)
		xl_evtchn_close(s->port);
	if (s->page && xl_gnttab_end_access_defer_page(s->ref, s->page) == 0)
		xl_os_free_page(s->page);
}

/* The read hook: the backend acts on the frontend's directory now. */
static void stale_late_event(void *arg)
{
	struct stale_fe *s = arg;

	hv_blkback_set_hostile(s->bb, NULL);
	hv_blkback_frontend_changed(s->bb);
	s->backend_after = hv_blkback_state(s->bb);
	XT_STORE(&s->hooked, 1);
}

static void backend_state_path(char *buf, size_t size)
{
	snprintf(buf, size, "/local/domain/0/backend/vbd/%u/%u",
		 hv_domain_id(hv_guest_domain()), DEVID);
	strncat(buf, "/state", size - strlen(buf) - 1);
}

/*
 * The backend acts on the stale Initialised (maps the old ring, goes
 * Connected) just after the new frontend's read of its state at init,
 * which still answers InitWait: so no reset there, and the frontend used
 * to take the Connected its watch then reported for the answer to a ring
 * it had not even published yet (it probed and connected at once).
 */
static enum xt_result b_stale_initialised(struct env *e, void *arg)
{
	struct hv_xs_hostile h;
	struct stale_fe s;
	void *pg[1];
	enum xt_result r;

	(void)arg;
	memset(&s, 0, sizeof(s));
	memset(&h, 0, sizeof(h));
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r == XT_PASS)
		r = stale_publish(e, &s);
	if (r == XT_PASS) {
		backend_state_path(h.read_path, sizeof(h.read_path));
		h.read_hook_nth = 1;
		h.read_hook = stale_late_event;
		h.read_hook_arg = &s;
		hv_xs_set_hostile(hv_guest_domain(), &h);
		r = stale_reattach(e, pg);
		hv_xs_set_hostile(hv_guest_domain(), NULL);
		xt_log("read hook ran: %u, backend %d after it",
		       XT_LOAD(&s.hooked), s.backend_after);
		if (r == XT_PASS)
			XT_ASSERT_EQ(XT_LOAD(&s.hooked), 1);
	}
	hv_blkback_set_hostile(e->bb, NULL);
	if (e->dev && xl_blkfront_connected(e->dev))
		xl_blkfront_detach(e->dev, 0);
	stale_release(&s);
	free_pages(pg, 1);
	return r;
}

static enum xt_result blk_reattach_stale_initialised_late(void)
{
	return with_env(b_stale_initialised, NULL, NULL, 0, true);
}

/*
 * The backend is Connected to a gone frontend's ring, the frontend node
 * says Initialising (a frontend in between wrote it and died before it
 * reset anything), and each of the new frontend's reads of the backend's
 * state at init fails (a transient xenstored error): it must not take the
 * Connected its watch then reports for an answer to a ring it never
 * published.
 */
static enum xt_result b_reattach_read_error(struct env *e, void *arg)
{
	struct hv_xs_hostile h;
	void *pg[1];
	enum xt_result r;

	(void)arg;
	memset(&h, 0, sizeof(h));
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r == XT_PASS) {
		XT_ASSERT_EQ(fe_state_write(XenbusStateInitialising), 0);
		XT_ASSERT_EQ(hv_blkback_state(e->bb), XenbusStateConnected);
		backend_state_path(h.read_path, sizeof(h.read_path));
		/* Each read at init: the watch's Connected tells (stale). */
		h.read_fail = XL_XENBUS_READ_TRIES;
		h.read_fail_err = -XEN_EAGAIN;
		hv_xs_set_hostile(hv_guest_domain(), &h);
		r = stale_reattach(e, pg);
		hv_xs_set_hostile(hv_guest_domain(), NULL);
	}
	free_pages(pg, 1);
	return r;
}

static enum xt_result blk_reattach_read_error(void)
{
	return with_env(b_reattach_read_error, NULL, NULL, 0, true);
}

static enum xt_result blk_reattach_read_error_async(void)
{
	return with_env(b_reattach_read_error, NULL, &async_backend, 0, true);
}

/*
 * Linux's blkback handles the frontend's state changes late, on its
 * xenwatch thread: after our Initialised it may still be InitWait when
 * our watch reports its state a second time (the watch's first firing and
 * the event of its InitWait both read InitWait when its InitWait came
 * after our watch was set).  That second InitWait is the backend not yet
 * caught up, not a restart: taking it for one ended the ring the backend
 * was about to map and published another, and the backend, Connected to
 * the first, ignored the second (frontend_changed(): "if (dev->state ==
 * XenbusStateConnected) break;").  Deterministic here: the backend is
 * silent from our first watch read of its state (it sees our Initialised
 * only later) and acts on our Initialised just after our second read
 * (hv_xs_hostile read hooks), as a late xenwatch would.
 */
struct initwait_twice {
	struct hv_blkback *bb;
	struct hv_domain *d; /* hv_guest_domain() is the guest's vCPUs' */
	char path[128];
	uint32_t hooks; /* atomic: hooks run */
	int backend_after;
};

static void initwait_late(void *arg)
{
	struct initwait_twice *t = arg;

	hv_blkback_set_hostile(t->bb, NULL);
	hv_blkback_frontend_changed(t->bb);
	t->backend_after = hv_blkback_state(t->bb);
	XT_ADD(&t->hooks, 1);
}

static void initwait_silence(void *arg)
{
	struct initwait_twice *t = arg;
	struct hv_blk_hostile silent = { .ignore_frontend = true };
	struct hv_xs_hostile h;

	memset(&h, 0, sizeof(h));
	hv_blkback_set_hostile(t->bb, &silent);
	memcpy(h.read_path, t->path, sizeof(h.read_path));
	h.read_hook_nth = 1;
	h.read_hook = initwait_late;
	h.read_hook_arg = t;
	hv_xs_set_hostile(t->d, &h);
	XT_ADD(&t->hooks, 1);
}

static enum xt_result b_initwait_twice(struct env *e, void *arg)
{
	struct initwait_twice t = { .bb = e->bb, .d = hv_guest_domain() };
	struct hv_xs_hostile h;
	void *pg[1];
	enum xt_result r;
	int rc;

	(void)arg;
	memset(&h, 0, sizeof(h));
	backend_state_path(t.path, sizeof(t.path));
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r != XT_PASS)
		goto out;
	XT_ASSERT_EQ(xl_blkfront_detach(e->dev, 0), 0);
	XT_ASSERT_EQ(hv_blkback_state(e->bb), XenbusStateClosed);
	/* Read 1 is at init (Closed); 2 the watch's first firing. */
	backend_state_path(h.read_path, sizeof(h.read_path));
	h.read_hook_nth = 2;
	h.read_hook = initwait_silence;
	h.read_hook_arg = &t;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	rc = xl_blkfront_attach(e->dev, STALE_ATTACH_NS);
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	hv_blkback_set_hostile(e->bb, NULL);
	xt_log("hooks run %u, backend %d after the late event; %u restarts",
	       XT_LOAD(&t.hooks), t.backend_after,
	       xl_blkfront_restarts(e->dev));
	XT_ASSERT_MSG(rc == 0, "attach: %d, backend %d", rc,
		      hv_blkback_state(e->bb));
	XT_ASSERT_EQ(XT_LOAD(&t.hooks), 2);
	memset(pg[0], 0, 4096);
	XT_ASSERT_EQ(bounded_io(e, XL_BLK_READ, 40, pg, 1), 0);
	XT_ASSERT_EQ(check_disk_pattern(pg[0], 40 * 512, 4096, 77), 0);
	XT_ASSERT_EQ(xl_blkfront_restarts(e->dev), 0);
out:
	free_pages(pg, 1);
	return r;
}

static enum xt_result blk_attach_initwait_twice(void)
{
	return with_env(b_initwait_twice, NULL, NULL, 0, true);
}

/*
 * A failed read of the backend's state in our watch (a transient
 * xenstored error) is no state: it used to read as Unknown, which a
 * connected frontend took for a backend gone or restarting (it
 * disconnected and went back to Initialising, which a Connected blkback
 * ignores).  The watch fires (the backend rewrites its Connected) while
 * every read of the state fails for a while; I/O afterwards must work,
 * with no restart seen.
 */
static struct hv_xs_stats st0;

static bool read_failed(void *arg)
{
	struct env *e = arg;
	struct hv_xs_stats st;

	xl_blkfront_poll(e->dev);
	hv_xs_get_stats(hv_guest_domain(), &st);
	return st.hostile > st0.hostile;
}

static enum xt_result b_watch_read_error(struct env *e, void *arg)
{
	struct hv_xs_hostile h;
	void *pg[1];
	enum xt_result r;
	char path[128];

	(void)arg;
	memset(&h, 0, sizeof(h));
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r != XT_PASS)
		goto out;
	backend_state_path(path, sizeof(path));
	memcpy(h.read_path, path, sizeof(h.read_path));
	h.read_fail = 3; /* each read of one event's, at least */
	h.read_fail_err = -XEN_EAGAIN;
	hv_xs_get_stats(hv_guest_domain(), &st0);
	hv_xs_set_hostile(hv_guest_domain(), &h);
	XT_ASSERT_EQ(hv_xs_write(path, "4"), 0);
	/* Our watch runs (and its read fails) before the I/O. */
	XT_ASSERT(xt_wait_until(read_failed, e, 2000000000ULL));
	memset(pg[0], 0, 4096);
	XT_ASSERT_EQ(bounded_io(e, XL_BLK_READ, 40, pg, 1), 0);
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	XT_ASSERT_EQ(check_disk_pattern(pg[0], 40 * 512, 4096, 77), 0);
	XT_ASSERT_EQ(xl_blkfront_restarts(e->dev), 0);
out:
	free_pages(pg, 1);
	return r;
}

static enum xt_result blk_watch_read_error(void)
{
	return with_env(b_watch_read_error, NULL, NULL, 0, true);
}

/*
 * A backend that read an earlier frontend's Initialised and ring
 * references before our Initialising, and maps them and writes Connected
 * only after we published our ring (its xenwatch thread descheduled in
 * between; our state changes queue behind it): the Connected it then
 * reports comes while we are Initialised, as if for our ring.  Only our
 * own node, Initialised at init (the earlier frontend's), tells: we must
 * reset then, whatever the backend's state.  The backend resumes just
 * after our second read of its state (the watch's first event before the
 * fix, the reset's wait after it).
 */
static void stall_release(void *arg)
{
	hv_blkback_release_stall(arg);
}

static bool backend_stalled(void *arg)
{
	return hv_blkback_stalled(arg);
}

/* The earlier frontend's ring: one page, granted, Initialised. */
static enum xt_result stale_ring(struct stale_fe *s)
{
	char path[64];

	s->page = xl_os_alloc_page();
	XT_ASSERT(s->page);
	memset(s->page, 0, XL_PAGE_SIZE);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(s->page),
					    false, &s->ref),
		     0);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(0, stale_irq, NULL, &s->port), 0);
	snprintf(path, sizeof(path), "device/vbd/%u/ring-page-order", DEVID);
	XT_ASSERT_EQ(xl_xs_rm(XL_XS_NO_TX, path), 0);
	snprintf(path, sizeof(path), "device/vbd/%u/ring-ref", DEVID);
	XT_ASSERT_EQ(xl_xs_printf(XL_XS_NO_TX, path, "%u", s->ref), 0);
	snprintf(path, sizeof(path), "device/vbd/%u/event-channel", DEVID);
	XT_ASSERT_EQ(xl_xs_printf(XL_XS_NO_TX, path, "%u", s->port), 0);
	XT_ASSERT_EQ(fe_state_write(XenbusStateInitialised), 0);
	return XT_PASS;
}

static enum xt_result b_stale_connect_late(struct env *e, void *arg)
{
	struct hv_blk_hostile stall = { .stall_connect = true };
	struct hv_xs_hostile h;
	struct stale_fe s;
	void *pg[1];
	enum xt_result r;

	(void)arg;
	memset(&s, 0, sizeof(s));
	memset(&h, 0, sizeof(h));
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r != XT_PASS)
		goto out;
	XT_ASSERT_EQ(xl_blkfront_detach(e->dev, 0), 0);
	XT_ASSERT_EQ(fe_state_write(XenbusStateInitialising), 0);
	XT_ASSERT_MSG(wait_backend(e->bb, XenbusStateInitWait), "backend %d",
		      hv_blkback_state(e->bb));
	hv_blkback_set_hostile(e->bb, &stall);
	r = stale_ring(&s);
	if (r != XT_PASS)
		goto out;
	XT_ASSERT_MSG(xt_wait_until(backend_stalled, e->bb, 5000000000ULL),
		      "the backend never read the earlier frontend's ring");
	backend_state_path(h.read_path, sizeof(h.read_path));
	h.read_hook_nth = 2;
	h.read_hook = stall_release;
	h.read_hook_arg = e->bb;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	r = stale_reattach(e, pg);
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	hv_blkback_release_stall(e->bb);
	if (e->dev && xl_blkfront_connected(e->dev))
		xl_blkfront_detach(e->dev, 0);
out:
	hv_blkback_set_hostile(e->bb, NULL);
	stale_release(&s);
	free_pages(pg, 1);
	return r;
}

static enum xt_result blk_reattach_stale_connect_late(void)
{
	return with_env(b_stale_connect_late, NULL, &async_backend, 0, true);
}

/*
 * The reset's waits and a failed read: a backend left Closing, lagging
 * as Linux's xenwatch, and every read of its state failing for a while
 * once the reset began (from just after our read at init).  A failed
 * read used to count as a closed backend: the reset wrote Closed and
 * Initialising at once, and a blkback still Closing (it handles our
 * Closed late, reading Initialising by then) never went Closed, so never
 * InitWait.  The waits must read again instead.
 */
struct reset_read_error {
	struct hv_domain *d;
	char path[128];
};

static void reset_reads_fail(void *arg)
{
	struct reset_read_error *t = arg;
	struct hv_xs_hostile h;

	memset(&h, 0, sizeof(h));
	memcpy(h.read_path, t->path, sizeof(h.read_path));
	h.read_fail = 200;
	h.read_fail_err = -XEN_EAGAIN;
	hv_xs_set_hostile(t->d, &h);
}

static enum xt_result b_reset_read_error(struct env *e, void *arg)
{
	const struct xl_clock_config ccfg = { .mode = XL_CLOCK_SINGLESHOT };
	struct reset_read_error t = { .d = hv_guest_domain() };
	struct hv_xs_hostile h;
	uint64_t errs;
	void *pg[1];
	enum xt_result r;

	(void)arg;
	/* The attach's own bound (STALE_ATTACH_NS) needs the clock. */
	XT_ASSERT_EQ(xl_clock_init(&ccfg), 0);
	memset(&h, 0, sizeof(h));
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r != XT_PASS)
		goto out;
	XT_ASSERT_EQ(fe_state_write(XenbusStateClosing), 0);
	XT_ASSERT_MSG(wait_backend(e->bb, XenbusStateClosing), "backend %d",
		      hv_blkback_state(e->bb));
	backend_state_path(t.path, sizeof(t.path));
	memcpy(h.read_path, t.path, sizeof(h.read_path));
	h.read_hook_nth = 1;
	h.read_hook = reset_reads_fail;
	h.read_hook_arg = &t;
	errs = hv_guest_log_count(XL_LOG_ERR);
	hv_xs_set_hostile(hv_guest_domain(), &h);
	r = stale_reattach(e, pg);
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	/*
	 * And the reset's waits did not give up (an error logged): a read
	 * that failed was read again, not waited on for an event that had
	 * come and gone.
	 */
	errs = hv_guest_log_count(XL_LOG_ERR) - errs;
	if (r == XT_PASS)
		XT_ASSERT_EQ(errs, 0);
out:
	free_pages(pg, 1);
	xl_clock_fini();
	return r;
}

static const struct hv_blkback_config lagging_backend = {
	.max_ring_order = 4,
	.watch_delay_us = 20000,
};

static enum xt_result blk_reset_read_error(void)
{
	return with_env(b_reset_read_error, NULL, &lagging_backend, 0, true);
}

/*
 * Our own node says Initialised (an earlier frontend's ring R0, read by a
 * lagging blkback that stalls before mapping it) and our read of that
 * node at init fails (a transient xenstored error): that read used to
 * count as "not left up", so no reset: we published R1 and connected on
 * the Connected the backend then wrote for R0, and the backend ignored
 * R1 (I/O never answered).  The read must be tried again (arg 1: one
 * failure) or, failing each time, count as left up (arg
 * XL_XENBUS_READ_TRIES).  The backend resumes just after the first read
 * of its state that follows our failed reads (never, if we read our node
 * fewer times: the attach then times out).
 */
struct node_read_error {
	struct hv_domain *d;
	struct hv_blkback *bb;
	char bpath[128];
};

static void node_read_failed(void *arg)
{
	struct node_read_error *c = arg;
	struct hv_xs_hostile h;

	memset(&h, 0, sizeof(h));
	memcpy(h.read_path, c->bpath, sizeof(h.read_path));
	h.read_hook_nth = 1;
	h.read_hook = stall_release;
	h.read_hook_arg = c->bb;
	hv_xs_set_hostile(c->d, &h);
}

static enum xt_result b_node_read_error(struct env *e, void *arg)
{
	const struct xl_clock_config ccfg = { .mode = XL_CLOCK_SINGLESHOT };
	unsigned int fails = (unsigned int)(uintptr_t)arg;
	struct hv_blk_hostile stall = { .stall_connect = true };
	struct node_read_error c = { .d = hv_guest_domain(), .bb = e->bb };
	struct hv_xs_hostile h;
	struct stale_fe s;
	void *pg[1];
	enum xt_result r;

	memset(&s, 0, sizeof(s));
	memset(&h, 0, sizeof(h));
	/* The attach's own bound (STALE_ATTACH_NS) needs the clock. */
	XT_ASSERT_EQ(xl_clock_init(&ccfg), 0);
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r != XT_PASS)
		goto out;
	XT_ASSERT_EQ(xl_blkfront_detach(e->dev, 0), 0);
	XT_ASSERT_EQ(fe_state_write(XenbusStateInitialising), 0);
	XT_ASSERT_MSG(wait_backend(e->bb, XenbusStateInitWait), "backend %d",
		      hv_blkback_state(e->bb));
	hv_blkback_set_hostile(e->bb, &stall);
	r = stale_ring(&s);
	if (r != XT_PASS)
		goto out;
	XT_ASSERT_MSG(xt_wait_until(backend_stalled, e->bb, 5000000000ULL),
		      "the backend never read the earlier frontend's ring");
	backend_state_path(c.bpath, sizeof(c.bpath));
	snprintf(h.read_path, sizeof(h.read_path),
		 "/local/domain/%u/device/vbd/%u/state",
		 hv_domain_id(hv_guest_domain()), DEVID);
	h.read_fail = fails;
	h.read_fail_err = -XEN_EAGAIN;
	h.read_hook_nth = fails;
	h.read_hook = node_read_failed;
	h.read_hook_arg = &c;
	hv_xs_set_hostile(hv_guest_domain(), &h);
	r = stale_reattach(e, pg);
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	hv_blkback_release_stall(e->bb);
	if (e->dev && xl_blkfront_connected(e->dev))
		xl_blkfront_detach(e->dev, 0);
out:
	hv_blkback_set_hostile(e->bb, NULL);
	hv_blkback_release_stall(e->bb);
	stale_release(&s);
	free_pages(pg, 1);
	xl_clock_fini();
	return r;
}

static enum xt_result blk_reattach_node_read_error(void)
{
	return with_env(b_node_read_error, (void *)(uintptr_t)1, &async_backend,
			0, true);
}

static enum xt_result blk_reattach_node_reads_fail(void)
{
	return with_env(b_node_read_error,
			(void *)(uintptr_t)XL_XENBUS_READ_TRIES, &async_backend,
			0, true);
}

/*
 * An earlier frontend's Closing answered (the backend waits for its
 * Closed), and our read of the backend's state at init fails: once (it
 * is read again: arg 1), or each time (arg XL_XENBUS_READ_TRIES: the
 * Closing the watch then reports before our probe is reset as a stale
 * Connected is).  It used to read as Unknown: no reset, and the Closing
 * closed us: attach -ENODEV.
 */
static enum xt_result b_closing_read_error(struct env *e, void *arg)
{
	struct hv_xs_hostile h;
	void *pg[1];
	enum xt_result r;

	memset(&h, 0, sizeof(h));
	XT_ASSERT(alloc_pages(pg, 1));
	r = stale_write(e, pg);
	if (r == XT_PASS) {
		XT_ASSERT_EQ(fe_state_write(XenbusStateClosing), 0);
		XT_ASSERT_MSG(wait_backend(e->bb, XenbusStateClosing),
			      "backend %d", hv_blkback_state(e->bb));
		backend_state_path(h.read_path, sizeof(h.read_path));
		h.read_fail = (unsigned int)(uintptr_t)arg;
		h.read_fail_err = -XEN_EAGAIN;
		hv_xs_set_hostile(hv_guest_domain(), &h);
		r = stale_reattach(e, pg);
		hv_xs_set_hostile(hv_guest_domain(), NULL);
	}
	free_pages(pg, 1);
	return r;
}

static enum xt_result blk_reattach_closing_read_error(void)
{
	return with_env(b_closing_read_error, (void *)(uintptr_t)1,
			&async_backend, 0, true);
}

static enum xt_result blk_reattach_closing_reads_fail(void)
{
	return with_env(b_closing_read_error,
			(void *)(uintptr_t)XL_XENBUS_READ_TRIES, &async_backend,
			0, true);
}

/*
 * Every read of the backend's state fails with an error that persists
 * (EACCES: a permission changed).  The attach's wait used to read again
 * at once, for ever: 22,426 failed reads and about 7,400 warnings in a
 * 1 s attach, and without a timeout it would never idle.  Now it backs
 * off (1 ms doubled up to 10 ms between rounds of XL_XENBUS_READ_TRIES
 * reads: at most 300 reads a second, fewer under load), warns on the
 * 1st, 2nd, 4th ... round, and the bounded attach ends with the read's
 * error.
 */
#define BACKOFF_ATTACH_NS 1000000000ULL
#define BACKOFF_MAX_READS 600 /* twice 300 (a 1 s attach) */
#define BACKOFF_MAX_WARNS 12  /* log2(100 rounds) + 1, and margin */

static enum xt_result b_read_error_backoff(struct env *e, void *arg)
{
	const struct xl_clock_config ccfg = { .mode = XL_CLOCK_SINGLESHOT };
	struct hv_xs_hostile h;
	struct hv_xs_stats a, b;
	uint64_t warns, t0, ns, reads;
	enum xt_result r = XT_FAIL;
	int rc;

	(void)arg;
	XT_ASSERT_EQ(xl_clock_init(&ccfg), 0);
	memset(&h, 0, sizeof(h));
	XT_ASSERT_EQ(xl_blkfront_detach(e->dev, 0), 0);
	xl_blkfront_free(e->dev);
	e->dev = xl_blkfront_alloc(DEVID);
	backend_state_path(h.read_path, sizeof(h.read_path));
	h.read_fail = 100000000;
	h.read_fail_err = -XEN_EACCES;
	hv_xs_get_stats(hv_guest_domain(), &a);
	warns = hv_guest_log_count(XL_LOG_WARN);
	hv_xs_set_hostile(hv_guest_domain(), &h);
	t0 = xl_clock_now();
	rc = xl_blkfront_attach(e->dev, BACKOFF_ATTACH_NS);
	ns = xl_clock_now() - t0;
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	hv_xs_get_stats(hv_guest_domain(), &b);
	warns = hv_guest_log_count(XL_LOG_WARN) - warns;
	reads = b.hostile - a.hostile;
	xt_log("attach %d after %llu ms; %llu failed reads, %llu warnings", rc,
	       (unsigned long long)ns / 1000000, (unsigned long long)reads,
	       (unsigned long long)warns);
	XT_ASSERT_EQ(rc, -XEN_EACCES);
	/* Reads per second of attach: two-sided (the last round whole). */
	XT_ASSERT(reads >= 2 * XL_XENBUS_READ_TRIES);
	XT_ASSERT_MSG(reads * 1000000000ULL <= BACKOFF_MAX_READS * ns,
		      "%llu reads in %llu ms", (unsigned long long)reads,
		      (unsigned long long)ns / 1000000);
	XT_ASSERT(warns >= 1);
	XT_ASSERT_MSG(warns <= BACKOFF_MAX_WARNS, "%llu warnings",
		      (unsigned long long)warns);
	r = XT_PASS;
	xl_clock_fini();
	return r;
}

static enum xt_result blk_read_error_backoff(void)
{
	return with_env(b_read_error_backoff, NULL, NULL, 0, true);
}

/*
 * The reads of the backend's state by our watch fail each time, for both
 * its events (its first firing, the InitWait that answers our
 * Initialising), and the backend writes nothing more until we answer:
 * only the re-read from xl_xenbus_poll() sees its InitWait (without it
 * the attach waits out its timeout).
 */
struct first_event_fails {
	struct hv_domain *d;
	char path[128];
};

static void first_event_fails(void *arg)
{
	struct first_event_fails *t = arg;
	struct hv_xs_hostile h;

	memset(&h, 0, sizeof(h));
	memcpy(h.read_path, t->path, sizeof(h.read_path));
	h.read_fail = 2 * XL_XENBUS_READ_TRIES;
	h.read_fail_err = -XEN_EAGAIN;
	hv_xs_set_hostile(t->d, &h);
}

static enum xt_result b_attach_watch_read_error(struct env *e, void *arg)
{
	const struct xl_clock_config ccfg = { .mode = XL_CLOCK_SINGLESHOT };
	struct first_event_fails t = { .d = hv_guest_domain() };
	struct hv_xs_hostile h;
	struct hv_xs_stats a, b;
	int rc;

	(void)arg;
	memset(&h, 0, sizeof(h));
	/* The attach's own bound (STALE_ATTACH_NS) needs the clock. */
	XT_ASSERT_EQ(xl_clock_init(&ccfg), 0);
	XT_ASSERT_EQ(xl_blkfront_detach(e->dev, 0), 0);
	xl_blkfront_free(e->dev);
	e->dev = xl_blkfront_alloc(DEVID);
	XT_ASSERT(e->dev);
	/* Read 1 is at init (it succeeds: Closed); then the watch's. */
	backend_state_path(t.path, sizeof(t.path));
	memcpy(h.read_path, t.path, sizeof(h.read_path));
	h.read_hook_nth = 1;
	h.read_hook = first_event_fails;
	h.read_hook_arg = &t;
	hv_xs_get_stats(hv_guest_domain(), &a);
	hv_xs_set_hostile(hv_guest_domain(), &h);
	rc = xl_blkfront_attach(e->dev, STALE_ATTACH_NS);
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	hv_xs_get_stats(hv_guest_domain(), &b);
	xl_clock_fini();
	XT_ASSERT_MSG(rc == 0, "attach: %d, backend %d", rc,
		      hv_blkback_state(e->bb));
	XT_ASSERT_EQ(b.hostile - a.hostile, 2 * XL_XENBUS_READ_TRIES);
	XT_ASSERT_EQ(xl_blkfront_resets(e->dev), 0);
	XT_ASSERT_EQ(xl_blkfront_restarts(e->dev), 0);
	return XT_PASS;
}

static enum xt_result blk_attach_watch_read_error(void)
{
	return with_env(b_attach_watch_read_error, NULL, NULL, 0, true);
}

/*
 * `xl block-detach` of a dead frontend: the toolstack wrote online 0 and
 * the backend's Closing, and removes both directories once the backend is
 * Closed.  Resetting that backend took it to Closed (and, not online,
 * unregistered), the toolstack removed the directories, and we wrote
 * Initialising into the removed one (a stray node) and waited out the
 * attach's timeout.  Now: -ENODEV, and nothing written; arg true: the
 * removal starts just after our read of "online" (1): the reset runs,
 * the backend's directory goes, -ENODEV and no Initialising written.
 */
static void toolstack_removes(void *arg)
{
	hv_blkback_toolstack_remove(arg);
}

static enum xt_result b_toolstack_remove(struct env *e, void *arg)
{
	bool during = arg != NULL;
	struct hv_xs_hostile h;
	char path[160], *v;
	int rc, err = 0;

	memset(&h, 0, sizeof(h));
	/* The frontend dies Connected (no close). */
	xl_blkfront_free(e->dev);
	e->dev = xl_blkfront_alloc(DEVID);
	XT_ASSERT(e->dev);
	if (!during) {
		hv_blkback_toolstack_remove(e->bb);
		XT_ASSERT_EQ(hv_blkback_state(e->bb), XenbusStateConnected);
	} else {
		XT_ASSERT_EQ(fe_state_write(XenbusStateClosing), 0);
		XT_ASSERT(wait_backend(e->bb, XenbusStateClosing));
		snprintf(h.read_path, sizeof(h.read_path),
			 "/local/domain/0/backend/vbd/%u/%u/online",
			 hv_domain_id(hv_guest_domain()), DEVID);
		h.read_hook_nth = 1;
		h.read_hook = toolstack_removes;
		h.read_hook_arg = e->bb;
		hv_xs_set_hostile(hv_guest_domain(), &h);
	}
	rc = xl_blkfront_attach(e->dev, STALE_ATTACH_NS);
	hv_xs_set_hostile(hv_guest_domain(), NULL);
	XT_ASSERT_MSG(rc == -XEN_ENODEV, "attach: %d, backend %d", rc,
		      hv_blkback_state(e->bb));
	snprintf(path, sizeof(path), "/local/domain/%u/device/vbd/%u/state",
		 hv_domain_id(hv_guest_domain()), DEVID);
	v = hv_xs_read(path, NULL, &err);
	xt_log("frontend state node after: %s (%d)", v ? v : "none", err);
	if (during) {
		/* Removed, and not made again by a write of ours. */
		XT_ASSERT_MSG(!v, "stray node: %s", v);
	} else {
		/* Untouched: the dead frontend's Connected. */
		XT_ASSERT(v && !strcmp(v, "4"));
		XT_ASSERT_EQ(hv_blkback_state(e->bb), XenbusStateConnected);
	}
	free(v);
	return XT_PASS;
}

static enum xt_result blk_reattach_toolstack_remove(void)
{
	return with_env(b_toolstack_remove, NULL, NULL, 0, true);
}

static enum xt_result blk_reattach_removed_during_reset(void)
{
	return with_env(b_toolstack_remove, (void *)1, NULL, 0, true);
}

#define BT(n, v, f)                                    \
	{                                              \
		"blk/" #n, XT_HV, v, false, blk_##n, f \
	}

const struct xt_test xt_blk_tests[] = {
	BT(direct_order0, 1, 0),
	BT(direct_order4, 1, 0),
	BT(xenbus_connect, 1, XT_F_XENSTORE),
	BT(xenbus_keys, 1, XT_F_XENSTORE),
	BT(xenbus_keys_order0, 1, XT_F_XENSTORE),
	BT(xenbus_keys_no_order, 1, XT_F_XENSTORE),
	BT(xenbus_defaults, 1, XT_F_XENSTORE),
	BT(probe_ring_error, 1, XT_F_XENSTORE),
	BT(attach_errors, 1, XT_F_XENSTORE),
	BT(features_bounds, 1, 0),
	BT(lock_excludes, 2, 0),
	BT(bounce_edge, 1, 0),
	BT(push_notify, 1, 0),
	BT(wake_bounds, 2, 0),
	BT(break_stops_reading, 1, 0),
	BT(wake_ports, 3, 0),
	BT(publish_tx_conflict, 1, XT_F_XENSTORE),
	BT(rw_patterns, 1, 0),
	BT(bad_requests, 1, 0),
	BT(check_req_edges, 1, 0),
	BT(set_buf_edges, 1, 0),
	BT(flush_order, 1, 0),
	BT(barrier_order, 1, 0),
	BT(qd32_2vcpu, 2, 0),
	BT(qd32_ring1, 2, 0),
	BT(qd32_poll, 2, 0),
	BT(hostile_id_out_of_range, 1, 0),
	BT(hostile_id_ring_size, 1, 0),
	BT(hostile_id_not_in_flight, 1, 0),
	BT(hostile_dup_response, 1, 0),
	BT(hostile_bad_status, 1, 0),
	BT(hostile_bad_op, 1, 0),
	BT(hostile_bad_rsp_prod, 1, 0),
	BT(hostile_closing, 1, XT_F_XENSTORE),
	BT(hostile_restart, 1, XT_F_XENSTORE),
	BT(hostile_restart_poll, 1, XT_F_XENSTORE),
	BT(restart_then_close_completes_all, 1, 0),
	BT(restart_then_free_completes_all, 1, 0),
	BT(hostile_init_closed, 1, XT_F_XENSTORE),
	BT(grant_mapped_at_completion, 1, 0),
	BT(grant_mapped_at_completion_trusted, 1, 0),
	BT(bounce_subpage_read, 1, 0),
	BT(bounce_subpage_write, 1, 0),
	BT(close_reconnect_200, 1, XT_F_XENSTORE),
	BT(close_reconnect_200_async, 1, XT_F_XENSTORE),
	BT(reattach_closing, 1, XT_F_XENSTORE),
	BT(reattach_closing_async, 1, XT_F_XENSTORE),
	BT(reattach_stale_initialised_late, 1, XT_F_XENSTORE),
	BT(reattach_read_error, 1, XT_F_XENSTORE),
	BT(reattach_read_error_async, 1, XT_F_XENSTORE),
	BT(attach_initwait_twice, 1, XT_F_XENSTORE),
	BT(watch_read_error, 1, XT_F_XENSTORE),
	BT(reattach_stale_connect_late, 1, XT_F_XENSTORE),
	BT(reset_read_error, 1, XT_F_XENSTORE),
	BT(reattach_node_read_error, 1, XT_F_XENSTORE),
	BT(reattach_node_reads_fail, 1, XT_F_XENSTORE),
	BT(reattach_closing_read_error, 1, XT_F_XENSTORE),
	BT(reattach_closing_reads_fail, 1, XT_F_XENSTORE),
	BT(read_error_backoff, 1, XT_F_XENSTORE),
	BT(attach_watch_read_error, 1, XT_F_XENSTORE),
	BT(reattach_toolstack_remove, 1, XT_F_XENSTORE),
	BT(reattach_removed_during_reset, 1, XT_F_XENSTORE),
	BT(close_silent_backend_bounded, 1, XT_F_XENSTORE),
	BT(backend_close_reconnect_200, 1, XT_F_XENSTORE),
	BT(sync_done_remote_cpu, 3, 0),
	BT(ring_setup_error_keeps_mapped, 1, 0),
};

const unsigned int xt_blk_nr_tests =
	sizeof(xt_blk_tests) / sizeof(xt_blk_tests[0]);
