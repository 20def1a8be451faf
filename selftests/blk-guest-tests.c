// SPDX-License-Identifier: GPL-2.0
/*
 * blkfront-lite through xenbus against whatever block backend the
 * environment gives the guest (xt_blk_disk_get()): hv's in-process blkback
 * over RAM, or, with the test kernel as a PVH domU, Linux dom0's
 * xen-blkback over a loop device (tools/xen-domu --disk).  Only the
 * guest's side is used, so the same table runs on both and the fidelity
 * check compares them.  Hostile backends are hv's alone: blk-tests.c.
 *
 * Data is a pattern of (sector, byte offset, seed), so a read finds out
 * which sector it really got; buffers carry guard bytes around the
 * sectors a request covers, which must come back untouched.
 */
#include <string.h>

#include <xenlite/blkfront.h>
#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>
#include <xenlite/idle.h>
#include <xenlite/xenstore.h>
#include <xen/io/xenbus.h>

#include "blk-guest.h"
#include "xt-util.h"

#define DISK_SECTORS 65536ULL /* 32 MiB on hv; real Xen's disk is bigger */
#define SPP XL_BLK_SECTORS_PER_PAGE
#define SEC XL_BLK_SECTOR_SIZE
#define GUARD 0x5a
#define MAX_PAGES XT_BLK_PAGES
#define ATTACH_NS 20000000000ULL /* the handshake under QEMU TCG */

static uint8_t pattern(uint64_t sector, unsigned int byte, uint32_t seed)
{
	uint64_t x = (sector * 512 + byte) * 0x9e3779b97f4a7c15ULL + seed;

	x ^= x >> 29;
	return (uint8_t)(x * 0xbf58476d1ce4e5b9ULL >> 56);
}

void xt_blk_env_fini(struct xt_blk_env *e)
{
	unsigned int i;

	if (e->dev && xl_blkfront_connected(e->dev))
		xl_blkfront_detach(e->dev, ATTACH_NS);
	xt_on_hang(NULL, NULL);
	xl_blkfront_free(e->dev);
	e->dev = NULL;
	if (e->disk)
		xt_blk_disk_put();
	e->disk = false;
	for (i = 0; i < MAX_PAGES; i++) {
		xl_os_free_page(e->pages[i]);
		e->pages[i] = NULL;
	}
	if (xl_gnttab_ready()) {
		xl_gnttab_retry_deferred();
		xl_gnttab_fini();
	}
}

/*
 * A hung blk test: where the ring stands (requests the backend never
 * answered, or answers we never consumed) and what the frontend counted.
 */
static void blk_env_hang(void *arg)
{
	struct xt_blk_env *e = arg;
	struct xl_blkfront_ring_state rs;
	struct xl_blkfront_stats st;

	if (!e->dev)
		return;
	xl_blkfront_get_ring(e->dev, &rs);
	xl_blkfront_get_stats(e->dev, &st);
	xt_log("blk hang: xenbus state %u, port %u%s%s; %u in flight, %u "
	       "queued; req_prod_pvt %u req_prod %u req_event %u; rsp_cons "
	       "%u rsp_prod %u rsp_event %u",
	       xl_blkfront_xenbus_state(e->dev), rs.port,
	       rs.port && xl_evtchn_is_pending(rs.port) ? " pending" : "",
	       rs.port && xl_evtchn_is_masked(rs.port) ? " masked" : "",
	       rs.inflight, rs.queued, rs.req_prod_pvt, rs.req_prod,
	       rs.req_event, rs.rsp_cons, rs.rsp_prod, rs.rsp_event);
	xt_log("blk hang: submitted %llu completed %llu notifies %llu irqs "
	       "%llu queued %llu deferred grants %llu",
	       (unsigned long long)st.submitted,
	       (unsigned long long)st.completed,
	       (unsigned long long)st.notifies, (unsigned long long)st.irqs,
	       (unsigned long long)st.queued,
	       (unsigned long long)st.deferred_grants);
}

enum xt_result xt_blk_env_init(struct xt_blk_env *e)
{
	unsigned int i;
	int rc;

	memset(e, 0, sizeof(*e));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	rc = xl_xs_init();
	if (rc == -XEN_ENODEV && xt_backend() == XT_XEN_DOM0) {
		xt_skip_reason("dom0 has no xenstore, so no xenbus devices");
		return XT_SKIP;
	}
	XT_ASSERT_EQ(rc, 0);
	rc = xt_blk_disk_get(XT_BLK_DEVID, DISK_SECTORS);
	if (rc == -XEN_ENODEV) {
		xt_skip_reason("no disk device/vbd/%u for this guest",
			       XT_BLK_DEVID);
		return XT_SKIP;
	}
	XT_ASSERT_EQ(rc, 0);
	e->disk = true;
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	XT_ASSERT_EQ(xl_gnttab_init(), 0);
	for (i = 0; i < MAX_PAGES; i++) {
		e->pages[i] = xl_os_alloc_page();
		XT_ASSERT(e->pages[i]);
	}
	e->dev = xl_blkfront_alloc(XT_BLK_DEVID);
	XT_ASSERT(e->dev);
	xt_on_hang(blk_env_hang, e);
	XT_ASSERT_EQ(xl_blkfront_attach(e->dev, ATTACH_NS), 0);
	xl_blkfront_get_features(e->dev, &e->f);
	XT_ASSERT_MSG(e->f.sectors >= 4096, "disk of %llu sectors",
		      (unsigned long long)e->f.sectors);
	XT_ASSERT_EQ(e->f.sector_size, SEC);
	return XT_PASS;
}

typedef enum xt_result (*gbody_fn)(struct xt_blk_env *e);

static enum xt_result with_genv(gbody_fn body)
{
	struct xt_blk_env e;
	enum xt_result r;

	r = xt_blk_env_init(&e);
	if (r == XT_PASS)
		r = body(&e);
	xt_blk_env_fini(&e);
	return r;
}

/* Fill the pages: guard bytes, and the pattern over [off, off + len). */
static void fill(struct xt_blk_env *e, uint64_t sector, unsigned int off,
		 unsigned int len, uint32_t seed, bool data)
{
	unsigned int i, b;

	for (i = 0; i < MAX_PAGES; i++)
		memset(e->pages[i], GUARD, XL_PAGE_SIZE);
	if (!data)
		return;
	for (b = 0; b < len; b++) {
		unsigned int at = off + b;

		((uint8_t *)e->pages[at / XL_PAGE_SIZE])[at % XL_PAGE_SIZE] =
			pattern(sector + b / SEC, b % SEC, seed);
	}
}

/* The pattern inside [off, off + len), guard bytes outside it. */
static bool check(struct xt_blk_env *e, uint64_t sector, unsigned int off,
		  unsigned int len, uint32_t seed, unsigned int *bad)
{
	unsigned int at;

	for (at = 0; at < MAX_PAGES * XL_PAGE_SIZE; at++) {
		uint8_t v =
			((uint8_t *)e
				 ->pages[at / XL_PAGE_SIZE])[at % XL_PAGE_SIZE];
		uint8_t want = GUARD;

		if (at >= off && at < off + len)
			want = pattern(sector + (at - off) / SEC,
				       (at - off) % SEC, seed);
		if (v != want) {
			*bad = at;
			return false;
		}
	}
	return true;
}

static int io(struct xt_blk_env *e, enum xl_blk_op op, uint64_t sector,
	      unsigned int off, unsigned int len)
{
	struct xl_blk_req req;
	int rc;

	memset(&req, 0, sizeof(req));
	rc = xl_blk_req_set_buf(&req, op, sector, e->pages, MAX_PAGES, off,
				len);
	if (rc)
		return rc;
	return xl_blkfront_io_sync(e->dev, &req);
}

/*
 * Sizes from one sector to all 11 segments, at page offsets and sector
 * offsets inside a page (first_sect / last_sect), at several places.
 */
static const struct {
	uint64_t sector;
	unsigned int off_sect, nr_sect;
} rw_cases[] = {
	{ 0, 0, 1 },	 { 1, 1, 7 },	  { 8, 0, 8 },	  { 17, 3, 29 },
	{ 100, 0, 88 },	 { 1000, 5, 80 }, { 2047, 7, 1 }, { 3000, 0, 16 },
	{ 3100, 2, 14 }, { 4000, 1, 86 },
};

static enum xt_result rw_body(struct xt_blk_env *e)
{
	unsigned int i, bad = 0;
	uint32_t seed = 0x1234;

	for (i = 0; i < sizeof(rw_cases) / sizeof(rw_cases[0]); i++) {
		unsigned int off = rw_cases[i].off_sect * SEC;
		unsigned int len = rw_cases[i].nr_sect * SEC;
		uint64_t s = rw_cases[i].sector;

		fill(e, s, off, len, seed + i, true);
		XT_ASSERT_MSG(io(e, XL_BLK_WRITE, s, off, len) == 0,
			      "write %u sectors at %llu", rw_cases[i].nr_sect,
			      (unsigned long long)s);
	}
	/* Read back after all the writes (the cases do not overlap). */
	for (i = 0; i < sizeof(rw_cases) / sizeof(rw_cases[0]); i++) {
		unsigned int off = rw_cases[i].off_sect * SEC;
		unsigned int len = rw_cases[i].nr_sect * SEC;
		uint64_t s = rw_cases[i].sector;

		fill(e, s, off, len, 0, false);
		XT_ASSERT_EQ(io(e, XL_BLK_READ, s, off, len), 0);
		XT_ASSERT_MSG(check(e, s, off, len, seed + i, &bad),
			      "case %u: byte %u of the buffer is wrong", i,
			      bad);
	}
	/* Beyond the end of the disk: refused, nothing sent. */
	XT_ASSERT_EQ(io(e, XL_BLK_READ, e->f.sectors, 0, SEC), -XEN_EINVAL);
	return XT_PASS;
}

static enum xt_result gblk_rw(void)
{
	return with_genv(rw_body);
}

/*
 * 32 requests in flight at once (writes, then reads of the same sectors),
 * each on its own page; all complete with status 0 and the data checks.
 */
#define QD 32

struct qd {
	struct xl_blk_req req[QD];
	void *page[QD];
	uint32_t done; /* atomic */
	uint32_t errs;
};

static void qd_done(struct xl_blk_req *req)
{
	struct qd *q = req->priv;

	if (req->status)
		__atomic_fetch_add(&q->errs, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&q->done, 1, __ATOMIC_RELEASE);
}

static bool qd_all(void *arg)
{
	struct qd *q = arg;

	return __atomic_load_n(&q->done, __ATOMIC_ACQUIRE) == QD;
}

/* Sectors 8192 + 64 i .. + 7 for request i: apart, page-sized. */
static uint64_t qd_apart(unsigned int i)
{
	return 8192 + 64 * (uint64_t)i;
}

static enum xt_result qd_round(struct xt_blk_env *e, struct qd *q,
			       enum xl_blk_op op, uint64_t (*at)(unsigned int))
{
	unsigned int i;

	q->done = 0;
	q->errs = 0;
	for (i = 0; i < QD; i++) {
		struct xl_blk_req *r = &q->req[i];

		memset(r, 0, sizeof(*r));
		XT_ASSERT_EQ(xl_blk_req_set_buf(r, op, at(i), &q->page[i], 1, 0,
						XL_PAGE_SIZE),
			     0);
		r->done = qd_done;
		r->priv = q;
		XT_ASSERT_EQ(xl_blkfront_submit(e->dev, r), 0);
	}
	xl_idle_until(qd_all, q);
	XT_ASSERT_EQ(q->errs, 0);
	return XT_PASS;
}

static void qd_free(struct qd *q)
{
	unsigned int i;

	for (i = 0; i < QD; i++)
		xl_os_free_page(q->page[i]);
	xl_os_free(q);
}

/* QD pages, request i's holding the pattern for at(i) with seed(i). */
static struct qd *qd_new(uint64_t (*at)(unsigned int),
			 uint32_t (*seed)(unsigned int))
{
	struct qd *q = xl_os_zalloc(sizeof(*q));
	unsigned int i, b;

	if (!q)
		return NULL;
	for (i = 0; i < QD; i++) {
		q->page[i] = xl_os_alloc_page();
		if (!q->page[i]) {
			qd_free(q);
			return NULL;
		}
		for (b = 0; b < XL_PAGE_SIZE; b++)
			((uint8_t *)q->page[i])[b] =
				pattern(at(i) + b / SEC, b % SEC, seed(i));
	}
	return q;
}

static uint32_t qd_seed77(unsigned int i)
{
	(void)i;
	return 77;
}

static enum xt_result qd_body(struct xt_blk_env *e)
{
	struct xl_blkfront_stats s0, s1;
	struct qd *q = qd_new(qd_apart, qd_seed77);
	enum xt_result r;
	unsigned int i, b;

	XT_ASSERT(q);
	xl_blkfront_get_stats(e->dev, &s0);
	r = qd_round(e, q, XL_BLK_WRITE, qd_apart);
	if (r != XT_PASS)
		goto out;
	for (i = 0; i < QD; i++)
		memset(q->page[i], GUARD, XL_PAGE_SIZE);
	r = qd_round(e, q, XL_BLK_READ, qd_apart);
	if (r != XT_PASS)
		goto out;
	xl_blkfront_get_stats(e->dev, &s1);
	r = XT_FAIL;
	for (i = 0; i < QD; i++)
		for (b = 0; b < XL_PAGE_SIZE; b++)
			if (((uint8_t *)q->page[i])[b] !=
			    pattern(qd_apart(i) + b / SEC, b % SEC, 77)) {
				xt_log("request %u: byte %u is wrong", i, b);
				goto out;
			}
	xt_log("%llu requests completed, %llu queued for ring space, %llu "
	       "notifies, %llu event upcalls",
	       (unsigned long long)(s1.completed - s0.completed),
	       (unsigned long long)(s1.queued - s0.queued),
	       (unsigned long long)(s1.notifies - s0.notifies),
	       (unsigned long long)(s1.irqs - s0.irqs));
	if (s1.completed - s0.completed == 2 * QD && s1.eio == s0.eio)
		r = XT_PASS;
	else
		xt_log("completed %llu, eio %llu",
		       (unsigned long long)(s1.completed - s0.completed),
		       (unsigned long long)(s1.eio - s0.eio));
out:
	qd_free(q);
	return r;
}

static enum xt_result gblk_qd32(void)
{
	return with_genv(qd_body);
}

/*
 * 32 writes in flight at once to one and the same 4 KiB, each from its
 * own page and pattern: blkif.h promises no order between requests in
 * flight, so any of them may win, but each sector must come back whole
 * from one of them (a disk writes a sector atomically), and every write
 * completes with status 0.  A backend copying two such writes into its
 * disk together tears sectors (and is a data race: hv's RAM disk did so
 * before its block locks, ThreadSanitizer saw it in blk/guest_bench).
 */
#define OVERLAP_AT 12288

static uint64_t qd_same(unsigned int i)
{
	(void)i;
	return OVERLAP_AT;
}

static uint32_t overlap_seed(unsigned int i)
{
	return 1000 + i;
}

/* Which write's pattern sector s of page p carries, or -1 (torn). */
static int overlap_winner(const uint8_t *p, unsigned int s)
{
	unsigned int w, b;

	for (w = 0; w < QD; w++) {
		for (b = 0; b < SEC; b++)
			if (p[s * SEC + b] !=
			    pattern(OVERLAP_AT + s, b, overlap_seed(w)))
				break;
		if (b == SEC)
			return (int)w;
	}
	return -1;
}

static int io_page(struct xt_blk_env *e, void *page, uint64_t sector)
{
	struct xl_blk_req req;
	int rc;

	memset(&req, 0, sizeof(req));
	rc = xl_blk_req_set_buf(&req, XL_BLK_READ, sector, &page, 1, 0,
				XL_PAGE_SIZE);
	return rc ? rc : xl_blkfront_io_sync(e->dev, &req);
}

static enum xt_result overlap_body(struct xt_blk_env *e)
{
	struct qd *q = qd_new(qd_same, overlap_seed);
	enum xt_result r = XT_FAIL;
	unsigned int i;
	int w, won[SPP];

	XT_ASSERT(q);
	for (i = 0; i < 4; i++) {
		r = qd_round(e, q, XL_BLK_WRITE, qd_same);
		if (r != XT_PASS)
			goto out;
	}
	r = XT_FAIL;
	memset(q->page[0], GUARD, XL_PAGE_SIZE);
	if (io_page(e, q->page[0], OVERLAP_AT))
		goto out;
	for (i = 0; i < SPP; i++) {
		w = overlap_winner(q->page[0], i);
		if (w < 0) {
			xt_log("sector %u: torn, from no single write", i);
			goto out;
		}
		won[i] = w;
	}
	xt_log("4 rounds of %u writes to one page: its sectors from writes "
	       "%d %d %d %d %d %d %d %d",
	       QD, won[0], won[1], won[2], won[3], won[4], won[5], won[6],
	       won[7]);
	r = XT_PASS;
out:
	qd_free(q);
	return r;
}

static enum xt_result gblk_overlap(void)
{
	return with_genv(overlap_body);
}

/* A new frontend on the same vbd reads back what seed wrote before. */
static enum xt_result reattach_reads_back(struct xt_blk_env *e,
					  unsigned int seed)
{
	unsigned int bad = 0;

	xl_blkfront_free(e->dev);
	e->dev = xl_blkfront_alloc(XT_BLK_DEVID);
	XT_ASSERT(e->dev);
	XT_ASSERT_EQ(xl_blkfront_attach(e->dev, ATTACH_NS), 0);
	fill(e, 300, 0, 8 * SEC, 0, false);
	XT_ASSERT_EQ(io(e, XL_BLK_READ, 300, 0, 8 * SEC), 0);
	XT_ASSERT(check(e, 300, 0, 8 * SEC, seed, &bad));
	return XT_PASS;
}

/*
 * A frontend that goes away without closing (a crash, a kexec, a driver
 * freed while attached: xl_blkfront_free() unwatches and ends the ring's
 * grants but writes no state) leaves the backend Connected to its ring.
 * Linux's blkback then ignores a new frontend's Initialised and Connected
 * ("if (dev->state == XenbusStateConnected) break;", frontend_changed()),
 * so the next frontend must take the backend through Closing and Closed
 * first, as Linux's xenbus_reset_state() does at boot.  Its I/O then
 * completes on the new ring; without the reset it waits for ever.
 */
static enum xt_result reattach_body(struct xt_blk_env *e)
{
	fill(e, 300, 0, 8 * SEC, 5, true);
	XT_ASSERT_EQ(io(e, XL_BLK_WRITE, 300, 0, 8 * SEC), 0);
	return reattach_reads_back(e, 5);
}

static enum xt_result gblk_reattach(void)
{
	return with_genv(reattach_body);
}

struct be_state_wait {
	char path[160];
	unsigned long want;
};

static bool be_state_is(void *arg)
{
	struct be_state_wait *w = arg;
	unsigned long v;

	return !xl_xs_read_uint(XL_XS_NO_TX, w->path, &v) && v == w->want;
}

/*
 * A frontend that wrote Closing and died: the backend answered Closing
 * (Linux's blkback at once, keeping the ring mapped) and waits for a
 * Closed that never comes.  The next frontend must finish that close
 * before its Initialising, as Linux's xenbus_reset_frontend() does for a
 * Closing backend; it used to fail the attach with -ENODEV.
 */
static enum xt_result reattach_closing_body(struct xt_blk_env *e)
{
	struct be_state_wait w = { .want = XenbusStateClosing };
	char be[128];
	size_t len;

	fill(e, 300, 0, 8 * SEC, 6, true);
	XT_ASSERT_EQ(io(e, XL_BLK_WRITE, 300, 0, 8 * SEC), 0);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, "device/vbd/51712/backend", be,
				sizeof(be), &len),
		     0);
	XT_ASSERT(len + sizeof("/state") <= sizeof(w.path));
	memcpy(w.path, be, len);
	memcpy(w.path + len, "/state", sizeof("/state"));
	XT_ASSERT_EQ(xl_xs_printf(XL_XS_NO_TX, "device/vbd/51712/state", "%u",
				  (unsigned int)XenbusStateClosing),
		     0);
	XT_ASSERT_MSG(xt_wait_until(be_state_is, &w, ATTACH_NS),
		      "backend never answered Closing");
	return reattach_reads_back(e, 6);
}

static enum xt_result gblk_reattach_closing(void)
{
	return with_genv(reattach_closing_body);
}

/*
 * A flush after writes: with feature-flush-cache it completes with 0 and
 * the data reads back; without the feature the frontend refuses it.
 */
static enum xt_result flush_body(struct xt_blk_env *e)
{
	struct xl_blk_req req;
	unsigned int bad = 0;

	fill(e, 5000, 0, 8 * SEC, 99, true);
	XT_ASSERT_EQ(io(e, XL_BLK_WRITE, 5000, 0, 8 * SEC), 0);
	memset(&req, 0, sizeof(req));
	req.op = XL_BLK_FLUSH;
	if (!e->f.flush && !e->f.barrier) {
		XT_ASSERT_EQ(xl_blkfront_submit(e->dev, &req), -XEN_EOPNOTSUPP);
		return XT_PASS;
	}
	XT_ASSERT_EQ(xl_blkfront_io_sync(e->dev, &req), 0);
	fill(e, 5000, 0, 8 * SEC, 0, false);
	XT_ASSERT_EQ(io(e, XL_BLK_READ, 5000, 0, 8 * SEC), 0);
	XT_ASSERT(check(e, 5000, 0, 8 * SEC, 99, &bad));
	return XT_PASS;
}

static enum xt_result gblk_flush(void)
{
	return with_genv(flush_body);
}

/*
 * The block benchmark (blk-bench.c), 40 ms a run: every run completes
 * operations with no error, one request per 4 KiB operation and a whole
 * number of requests per 1 MiB one.  The figures are the blkbench mode's.
 */
static enum xt_result bench_body(struct xt_blk_env *e)
{
	struct xt_blk_bench_run runs[XT_BLK_BENCH_NR_RUNS];
	unsigned int i;

	xt_blk_bench_runs_init(runs);
	XT_ASSERT_EQ(xt_blk_bench(e, runs, XT_BLK_BENCH_NR_RUNS,
				  40 * 1000000ULL),
		     0);
	for (i = 0; i < XT_BLK_BENCH_NR_RUNS; i++) {
		struct xt_blk_bench_run *r = &runs[i];

		xt_log("%s: %llu ops of %u bytes in %llu us, %llu requests, "
		       "%llu upcalls",
		       r->name, (unsigned long long)r->ops, r->bs,
		       (unsigned long long)(r->ns / 1000),
		       (unsigned long long)r->requests,
		       (unsigned long long)r->upcalls);
		XT_ASSERT(r->ops > 0);
		XT_ASSERT_EQ(r->errors, 0);
		XT_ASSERT_EQ(r->requests % r->ops, 0);
		XT_ASSERT_EQ(r->requests / r->ops,
			     r->seq ? (r->bs / XL_PAGE_SIZE + XL_BLK_MAX_SEGS -
				       1) / XL_BLK_MAX_SEGS :
				      1);
	}
	XT_ASSERT_EQ(xl_blkfront_inflight(e->dev), 0);
	return XT_PASS;
}

static enum xt_result gblk_bench(void)
{
	return with_genv(bench_body);
}

#define GBLK (XT_HV | XT_XEN_DOM0 | XT_XEN_DOMU)

const struct xt_test xt_blk_guest_tests[] = {
	{ "blk/guest_rw", GBLK, 1, false, gblk_rw, XT_F_XENSTORE },
	{ "blk/guest_qd32", GBLK, 1, false, gblk_qd32, XT_F_XENSTORE },
	{ "blk/guest_overlap", GBLK, 1, false, gblk_overlap, XT_F_XENSTORE },
	{ "blk/guest_flush", GBLK, 1, false, gblk_flush, XT_F_XENSTORE },
	{ "blk/guest_reattach", GBLK, 1, false, gblk_reattach, XT_F_XENSTORE },
	{ "blk/guest_reattach_closing", GBLK, 1, false, gblk_reattach_closing,
	  XT_F_XENSTORE },
	{ "blk/guest_bench", GBLK, 1, false, gblk_bench, XT_F_XENSTORE },
};

const unsigned int xt_blk_guest_nr_tests =
	sizeof(xt_blk_guest_tests) / sizeof(xt_blk_guest_tests[0]);
