// SPDX-License-Identifier: GPL-2.0
/*
 * The block benchmark over whatever disk the guest has (xt_blk_env): hv's
 * RAM blkback, or Linux dom0's xen-blkback on real Xen, where the test
 * kernel's "blkbench" mode runs it beside tools/linux-blkbench in a Linux
 * PVH domU on the same backend (tools/xen-run blkbench).  The two run the
 * same six loads, so their lines compare one to one:
 *
 *   randread4k_qd1  randwrite4k_qd1    4 KiB at random 4 KiB-aligned
 *   randread4k_qd32 randwrite4k_qd32   places over the whole disk
 *                                      (xorshift64, fixed seed), 1 or 32
 *                                      requests kept in flight
 *   seqread1m seqwrite1m               1 MiB transfers one after another
 *                                      at sequential places (wrapping at
 *                                      the disk's end), each 1 MiB sent
 *                                      as requests of up to 11 segments,
 *                                      all in flight together
 *
 * Each run issues for about run_ns, then lets what is in flight complete.
 * Figures only: nothing asserts on a timing.
 */
#include <string.h>

#include <xenlite/blkfront.h>
#include <xenlite/idle.h>

#include "blk-guest.h"
#include "xt-util.h"

#define QD_MAX 32
#define SEQ_BYTES (1024 * 1024)
#define SEQ_PAGES (SEQ_BYTES / XL_PAGE_SIZE)
#define SEQ_REQ_PAGES XL_BLK_MAX_SEGS
#define SEQ_REQS ((SEQ_PAGES + SEQ_REQ_PAGES - 1) / SEQ_REQ_PAGES)
#define SECTORS_PER_PAGE XL_BLK_SECTORS_PER_PAGE

_Static_assert(SEQ_REQS <= QD_MAX, "a 1 MiB transfer fits the slots");

#define RUN(n, o, s, q)                                       \
	{                                                     \
		.name = (n), .op = (o), .seq = (s), .qd = (q) \
	}

static const struct xt_blk_bench_run run_table[XT_BLK_BENCH_NR_RUNS] = {
	RUN("randread4k_qd1", XL_BLK_READ, false, 1),
	RUN("randwrite4k_qd1", XL_BLK_WRITE, false, 1),
	RUN("randread4k_qd32", XL_BLK_READ, false, 32),
	RUN("randwrite4k_qd32", XL_BLK_WRITE, false, 32),
	RUN("seqread1m", XL_BLK_READ, true, SEQ_REQS),
	RUN("seqwrite1m", XL_BLK_WRITE, true, SEQ_REQS),
};

struct bench {
	struct xl_blk_req req[QD_MAX];
	void *pages[SEQ_PAGES]; /* slot i's 4 KiB page is pages[i] */
	uint32_t free_mask;	/* slots not in flight; atomic */
	uint64_t errors;	/* atomic */
	uint64_t rng;
};

static void bench_done(struct xl_blk_req *req)
{
	struct bench *b = req->priv;
	unsigned int slot = (unsigned int)(req - b->req);

	if (req->status)
		__atomic_fetch_add(&b->errors, 1, __ATOMIC_RELAXED);
	/* Release: the slot's request is finished with before it is reused. */
	__atomic_fetch_or(&b->free_mask, 1U << slot, __ATOMIC_RELEASE);
}

static bool have_free(void *arg)
{
	struct bench *b = arg;

	return __atomic_load_n(&b->free_mask, __ATOMIC_ACQUIRE) != 0;
}

struct all_free {
	struct bench *b;
	uint32_t mask;
};

static bool all_free(void *arg)
{
	const struct all_free *a = arg;

	return (__atomic_load_n(&a->b->free_mask, __ATOMIC_ACQUIRE) &
		a->mask) == a->mask;
}

static uint32_t slots_mask(unsigned int n)
{
	return n >= 32 ? ~0U : (1U << n) - 1;
}

static uint64_t xorshift64(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Take a free slot (the caller saw one): only this context takes. */
static unsigned int take_slot(struct bench *b)
{
	uint32_t m = __atomic_load_n(&b->free_mask, __ATOMIC_ACQUIRE);
	unsigned int slot = (unsigned int)__builtin_ctz(m);

	__atomic_fetch_and(&b->free_mask, ~(1U << slot), __ATOMIC_RELAXED);
	return slot;
}

static int submit(struct xt_blk_env *e, struct bench *b, unsigned int slot,
		  enum xl_blk_op op, uint64_t sector, void *const *pages,
		  unsigned int nr_pages)
{
	struct xl_blk_req *r = &b->req[slot];
	int rc;

	memset(r, 0, sizeof(*r));
	rc = xl_blk_req_set_buf(r, op, sector, pages, nr_pages, 0,
				nr_pages * XL_PAGE_SIZE);
	if (rc) {
		__atomic_fetch_or(&b->free_mask, 1U << slot, __ATOMIC_RELEASE);
		return rc;
	}
	r->done = bench_done;
	r->priv = b;
	rc = xl_blkfront_submit(e->dev, r);
	/* Refused: done will not run, so the slot is free again. */
	if (rc)
		__atomic_fetch_or(&b->free_mask, 1U << slot, __ATOMIC_RELEASE);
	return rc;
}

/* 4 KiB at random places, run->qd in flight. */
static int run_random(struct xt_blk_env *e, struct bench *b,
		      struct xt_blk_bench_run *run, uint64_t until)
{
	uint64_t pages = e->f.sectors / SECTORS_PER_PAGE;
	unsigned int slot;
	int rc;

	while (xt_now_ns() < until) {
		xl_idle_until(have_free, b);
		slot = take_slot(b);
		rc = submit(e, b, slot, run->op,
			    xorshift64(&b->rng) % pages * SECTORS_PER_PAGE,
			    &b->pages[slot], 1);
		if (rc)
			return rc;
		run->ops++;
		run->requests++;
	}
	return 0;
}

/* 1 MiB transfers, each as SEQ_REQS requests in flight together. */
static int run_seq(struct xt_blk_env *e, struct bench *b,
		   struct xt_blk_bench_run *run, uint64_t until)
{
	uint64_t sector = 0, span = SEQ_BYTES / XL_BLK_SECTOR_SIZE;
	struct all_free done = { b, slots_mask(SEQ_REQS) };
	unsigned int i, n;
	int rc;

	while (xt_now_ns() < until) {
		if (sector + span > e->f.sectors)
			sector = 0;
		for (i = 0; i < SEQ_REQS; i++) {
			n = SEQ_PAGES - i * SEQ_REQ_PAGES;
			if (n > SEQ_REQ_PAGES)
				n = SEQ_REQ_PAGES;
			__atomic_fetch_and(&b->free_mask, ~(1U << i),
					   __ATOMIC_RELAXED);
			rc = submit(e, b, i, run->op,
				    sector + (uint64_t)i * SEQ_REQ_PAGES *
						     SECTORS_PER_PAGE,
				    &b->pages[i * SEQ_REQ_PAGES], n);
			if (rc)
				return rc;
			run->requests++;
		}
		xl_idle_until(all_free, &done);
		run->ops++;
		sector += span;
	}
	return 0;
}

static int one_run(struct xt_blk_env *e, struct bench *b,
		   struct xt_blk_bench_run *run, uint64_t run_ns)
{
	struct all_free idle = { b, slots_mask(run->qd) };
	struct xl_blkfront_stats s0, s1;
	uint64_t t0;
	int rc;

	b->free_mask = slots_mask(run->qd);
	b->errors = 0;
	run->bs = run->seq ? SEQ_BYTES : XL_PAGE_SIZE;
	xl_blkfront_get_stats(e->dev, &s0);
	t0 = xt_now_ns();
	rc = run->seq ? run_seq(e, b, run, t0 + run_ns) :
			run_random(e, b, run, t0 + run_ns);
	/* What was sent completes before the next run (or the error). */
	xl_idle_until(all_free, &idle);
	run->ns = xt_now_ns() - t0;
	xl_blkfront_get_stats(e->dev, &s1);
	run->upcalls = s1.irqs - s0.irqs;
	run->errors = __atomic_load_n(&b->errors, __ATOMIC_RELAXED);
	if (rc) {
		xt_log("%s: submit failed: %d", run->name, rc);
		return -1;
	}
	return run->errors ? -1 : 0;
}

void xt_blk_bench_runs_init(struct xt_blk_bench_run *runs)
{
	memcpy(runs, run_table, sizeof(run_table));
}

int xt_blk_bench(struct xt_blk_env *e, struct xt_blk_bench_run *runs,
		 unsigned int n, uint64_t run_ns)
{
	struct bench *b = xl_os_zalloc(sizeof(*b));
	unsigned int i;
	int rc = -1;

	if (!b)
		return -1;
	b->rng = 0x853c49e6748fea9bULL;
	for (i = 0; i < SEQ_PAGES; i++) {
		b->pages[i] = xl_os_alloc_page();
		if (!b->pages[i])
			goto out;
		memset(b->pages[i], (int)(i & 0xff), XL_PAGE_SIZE);
	}
	for (i = 0; i < n; i++) {
		if (runs[i].qd < 1 || runs[i].qd > QD_MAX)
			goto out;
		if (one_run(e, b, &runs[i], run_ns))
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < SEQ_PAGES; i++)
		xl_os_free_page(b->pages[i]);
	xl_os_free(b);
	return rc;
}
