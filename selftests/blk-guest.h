/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The guest's disk for the portable blkfront-lite tests and the block
 * benchmark: xt_blk_disk_get() (hv's RAM blkback, or Linux dom0's
 * xen-blkback on real Xen), the grant table and an attached frontend.
 */
#ifndef XT_BLK_GUEST_H
#define XT_BLK_GUEST_H

#include <xenlite/blkfront.h>

#include "xt.h"

#define XT_BLK_DEVID 51712 /* xvda */
#define XT_BLK_PAGES (XL_BLK_MAX_SEGS + 1)

struct xt_blk_env {
	struct xl_blkfront *dev;
	struct xl_blkfront_features f;
	void *pages[XT_BLK_PAGES];
	bool disk;
};

/* Attach xvda (XT_SKIP without a disk); xt_blk_env_fini() in any case. */
enum xt_result xt_blk_env_init(struct xt_blk_env *e);
void xt_blk_env_fini(struct xt_blk_env *e);

/* --- the block benchmark (blk-bench.c) ----------------------------------- */

struct xt_blk_bench_run {
	const char *name;
	enum xl_blk_op op;
	bool seq;	 /* 1 MiB transfers, one at a time; else 4 KiB random */
	unsigned int qd; /* 4 KiB random: requests kept in flight */
	/* out */
	unsigned int bs;   /* bytes per operation */
	uint64_t ops;	   /* operations completed */
	uint64_t ns;	   /* from the first submit to the last completion */
	uint64_t requests; /* blkif requests those took */
	uint64_t upcalls;  /* the frontend's event upcalls meanwhile */
	uint64_t errors;   /* completions with a nonzero status */
};

#define XT_BLK_BENCH_NR_RUNS 6

/* The runs, in order, with their outputs cleared. */
void xt_blk_bench_runs_init(struct xt_blk_bench_run *runs);
/*
 * Run runs[0 .. n) on e's disk, each for about run_ns (issuing stops
 * then; what is in flight completes).  0, or -1 when a submit failed or
 * a completion had an error (the run's errors say which).
 */
int xt_blk_bench(struct xt_blk_env *e, struct xt_blk_bench_run *runs,
		 unsigned int n, uint64_t run_ns);

#endif /* XT_BLK_GUEST_H */
