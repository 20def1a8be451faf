// SPDX-License-Identifier: GPL-2.0
/*
 * The block benchmark mode (command line word "blkbench", blk_ms=N per
 * run, default 3000): selftests/blk-bench.c's six runs on xvda, served by
 * Linux dom0's xen-blkback, for tools/xen-run blkbench to set beside
 * tools/linux-blkbench in a Linux PVH domU on the same backend.  One
 * console line per run, then the end:
 *
 *   blkbench: xenlite run=NAME bs=BYTES qd=N ops=N ns=N iops=X mbps=X
 *   blkbench: xenlite done | blkbench: xenlite failed WHY
 *
 * The run goes through the runner as one quiet xt test, so it gets the
 * clean domain every test gets.
 */
#include <string.h>

#include "blk-guest.h"
#include "tk.h"
#include "xt-util.h"

static struct xt_blk_bench_run runs[XT_BLK_BENCH_NR_RUNS];
static uint64_t run_ns;
static const char *why;

static enum xt_result bench_case(void)
{
	struct xt_blk_env e;
	enum xt_result r = xt_blk_env_init(&e);

	if (r != XT_PASS)
		why = r == XT_SKIP ? "no disk (xvda)" : "cannot attach xvda";
	else if (xt_blk_bench(&e, runs, XT_BLK_BENCH_NR_RUNS, run_ns))
		why = "a run had an error (see above)";
	xt_blk_env_fini(&e);
	return why ? XT_FAIL : XT_PASS;
}

/* Operations (or MB) per second with one decimal, from ops over ns. */
static void per_s(char *buf, size_t len, uint64_t n, uint64_t ns,
		  uint64_t scale)
{
	uint64_t tenths = ns ? (n * 10000000000ULL / scale + ns / 2) / ns : 0;

	tk_snprintf(buf, len, "%llu.%llu", (unsigned long long)(tenths / 10),
		    (unsigned long long)(tenths % 10));
}

static void print_run(const struct xt_blk_bench_run *r)
{
	char iops[32], mbps[32];

	per_s(iops, sizeof(iops), r->ops, r->ns, 1);
	per_s(mbps, sizeof(mbps), r->ops * r->bs, r->ns, 1000000);
	tk_printf("blkbench: xenlite run=%s bs=%u qd=%u ops=%llu ns=%llu "
		  "iops=%s mbps=%s\n",
		  r->name, r->bs, r->qd, (unsigned long long)r->ops,
		  (unsigned long long)r->ns, iops, mbps);
	tk_printf("blkbench: xenlite detail run=%s requests=%llu upcalls=%llu "
		  "errors=%llu\n",
		  r->name, (unsigned long long)r->requests,
		  (unsigned long long)r->upcalls,
		  (unsigned long long)r->errors);
}

int tk_blkbench_main(unsigned int ms)
{
	struct xt_test test = { "blkbench", XT_ALL, 1, false, bench_case, 0 };
	const struct xt_suite suite = { &test, 1 };
	char *argv[] = { "blkbench", NULL };
	unsigned int i;
	int rc;

	xt_blk_bench_runs_init(runs);
	run_ns = (uint64_t)(ms ? ms : 3000) * 1000000ULL;
	why = NULL;
	tk_printf("blkbench: xenlite start runs=%u run_ms=%llu\n",
		  XT_BLK_BENCH_NR_RUNS, (unsigned long long)(run_ns / 1000000));
	xt_set_quiet(true);
	xt_set_timeout((unsigned int)(run_ns / 1000000000ULL + 1) *
			       XT_BLK_BENCH_NR_RUNS +
		       60);
	rc = xt_main(1, argv, &suite, 1);
	xt_set_quiet(false);
	for (i = 0; i < XT_BLK_BENCH_NR_RUNS; i++)
		if (runs[i].ops)
			print_run(&runs[i]);
	if (rc || why) {
		tk_printf("blkbench: xenlite failed %s\n",
			  why ? why : "(the runner's watchdog)");
		return 1;
	}
	tk_printf("blkbench: xenlite done\n");
	return 0;
}
