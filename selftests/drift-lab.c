// SPDX-License-Identifier: GPL-2.0
/*
 * xl-drift: the drift lab's hv program (tools/drift-lab drives it).  Runs
 * one scenario under each chosen policy and prints, per run, one line
 *
 *   run SCENARIO POLICY delivered=N expected=N final_ns=N worst_ns=N
 *       catchup_ns=N ev_start_ns=N ev_end_ns=N fired=N missed=N
 *
 * (times relative to the guest's start; catchup_ns -1: never), and with
 * --csv DIR the samples to DIR/drift-SCENARIO-POLICY.csv
 * (t_ns,tick_minus_pv_ns,gtime_minus_sys_ns).
 *
 *   xl-drift --scenario desched|pause|mask|periodic_pauses|contention|none
 *            [--policy N|all] [--period-ms N] [--warmup-ms N]
 *            [--event-ms N] [--tail-ms N] [--repeats N] [--gap-ms N]
 *            [--sample-ms N] [--blocked] [--csv DIR]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drift-hv.h"

#define MS 1000000ULL

static void usage(void)
{
	fprintf(stderr,
		"usage: xl-drift --scenario NAME [--policy N|all] "
		"[--period-ms N] [--warmup-ms N] [--event-ms N] [--tail-ms N] "
		"[--repeats N] [--gap-ms N] [--sample-ms N] [--blocked] "
		"[--csv DIR]\n");
	exit(2);
}

static int write_csv(const char *dir, const struct drift_cfg *cfg,
		     const struct drift_result *r)
{
	char path[512];
	unsigned int i;
	FILE *f;

	snprintf(path, sizeof(path), "%s/drift-%s-%s.csv", dir,
		 drift_scenario_name(cfg->scenario),
		 hv_vpt_policy_name(cfg->policy));
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "t_ns,tick_minus_pv_ns,gtime_minus_sys_ns\n");
	for (i = 0; i < r->nr_samples; i++)
		fprintf(f, "%llu,%lld,%lld\n",
			(unsigned long long)r->samples[i].t,
			(long long)r->samples[i].tick_minus_pv,
			(long long)r->samples[i].gtime_minus_sys);
	return fclose(f);
}

static int run_one(struct drift_cfg *cfg, const char *csv)
{
	struct drift_result r;
	struct drift_summary s;
	int rc = drift_run(cfg, &r);

	if (rc) {
		printf("run %s %s error=%d\n",
		       drift_scenario_name(cfg->scenario),
		       hv_vpt_policy_name(cfg->policy), rc);
		drift_result_free(&r);
		return 1;
	}
	drift_summarize(cfg, &r, &s);
	printf("run %s %s delivered=%u expected=%u final_ns=%lld "
	       "worst_ns=%lld catchup_ns=%lld ev_start_ns=%llu ev_end_ns=%llu "
	       "fired=%llu missed=%llu\n",
	       drift_scenario_name(cfg->scenario),
	       hv_vpt_policy_name(cfg->policy), s.delivered, s.expected,
	       (long long)s.final_ns, (long long)s.worst_ns,
	       (long long)s.catchup_ns,
	       (unsigned long long)(r.ev_start - r.start),
	       (unsigned long long)(r.ev_end - r.start),
	       (unsigned long long)r.st.fired, (unsigned long long)r.st.missed);
	fflush(stdout);
	if (csv && write_csv(csv, cfg, &r))
		rc = 1;
	drift_result_free(&r);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct drift_cfg cfg = { .period_ns = 10 * MS,
				 .warmup_ns = 100 * MS,
				 .event_ns = 200 * MS,
				 .tail_ns = 300 * MS,
				 .repeats = 1 };
	const char *csv = NULL;
	int policy = -1, i, p, rc = 0;
	bool have_scn = false;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--blocked")) {
			cfg.blocked_guest = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--scenario")) {
			for (p = 0; p < DRIFT_NR_SCENARIOS; p++)
				if (!strcmp(v, drift_scenario_name(p)))
					break;
			if (p == DRIFT_NR_SCENARIOS)
				usage();
			cfg.scenario = p;
			have_scn = true;
		} else if (!strcmp(a, "--policy")) {
			policy = strcmp(v, "all") ? atoi(v) : -1;
		} else if (!strcmp(a, "--period-ms")) {
			cfg.period_ns = strtoull(v, NULL, 0) * MS;
		} else if (!strcmp(a, "--warmup-ms")) {
			cfg.warmup_ns = strtoull(v, NULL, 0) * MS;
		} else if (!strcmp(a, "--event-ms")) {
			cfg.event_ns = strtoull(v, NULL, 0) * MS;
		} else if (!strcmp(a, "--tail-ms")) {
			cfg.tail_ns = strtoull(v, NULL, 0) * MS;
		} else if (!strcmp(a, "--repeats")) {
			cfg.repeats = (unsigned int)atoi(v);
		} else if (!strcmp(a, "--sample-ms")) {
			cfg.sample_ns = strtoull(v, NULL, 0) * MS;
		} else if (!strcmp(a, "--gap-ms")) {
			cfg.gap_ns = strtoull(v, NULL, 0) * MS;
		} else if (!strcmp(a, "--csv")) {
			csv = v;
		} else {
			usage();
		}
	}
	if (!have_scn || !cfg.period_ns)
		usage();
	for (p = 0; p < HV_VPT_NR_POLICIES; p++) {
		if (policy >= 0 && p != policy)
			continue;
		cfg.policy = p;
		rc |= run_one(&cfg, csv);
	}
	return rc;
}
