/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The drift lab on hv: a 2-vCPU HVM-like domain whose vCPU 1 keeps a
 * tick-counting clock (drift.h) on hv's emulated platform timer (vpt.c)
 * beside its pvclock, run through one scenario under one policy, with
 * every tick recorded.  Used by the drift/ tests (drift-tests.c) and by
 * xl-drift (drift-lab.c, tools/drift-lab).
 *
 * Virtual time (all scenarios but DRIFT_CONTENTION): hv's vpt clock and
 * the tick vCPU's pvclock move only as the lab advances them, one timer
 * expiry at a time, so tick counts and times are exact.  DRIFT_CONTENTION
 * runs in real time on one pCPU shared with a busy vCPU 0 (hv's run queue).
 */
#ifndef XT_DRIFT_HV_H
#define XT_DRIFT_HV_H

#include <stdbool.h>
#include <stdint.h>

#include <hv.h>

enum drift_scenario {
	DRIFT_NONE,	       /* no event: the reference */
	DRIFT_DESCHED,	       /* vCPU 1 off its pCPU event_ns (vcpu_pause) */
	DRIFT_PAUSE,	       /* the domain paused event_ns (xl pause) */
	DRIFT_MASK,	       /* the guest masks interrupts event_ns */
	DRIFT_PERIODIC_PAUSES, /* repeats x (pause event_ns, run gap_ns) */
	DRIFT_CONTENTION,      /* real time: vCPU 0 busy event_ns, 1 pCPU */
	DRIFT_NR_SCENARIOS
};

struct drift_cfg {
	enum hv_vpt_policy policy;
	enum drift_scenario scenario;
	uint64_t period_ns; /* the guest's tick; 0 = 10 ms */
	uint64_t warmup_ns; /* before the event */
	uint64_t event_ns;
	uint64_t tail_ns; /* after the event */
	unsigned int repeats;
	uint64_t gap_ns;
	uint64_t sample_ns; /* the lab's sampling step; 0 = period / 2 */
	bool blocked_guest; /* vCPU 1 idles in SCHEDOP_block, not busy */
};

/* One handler run, as the guest saw it. */
struct drift_tick {
	uint64_t sys;	 /* hv's (vpt) system time */
	uint64_t tclock; /* the tick clock after counting it */
	uint64_t pv;	 /* the vCPU's own pvclock */
	uint64_t gtime;	 /* hvm_get_guest_time(): the PIT/HPET's time */
};

/* The lab's sample, every sample_ns: times relative to the start. */
struct drift_sample {
	uint64_t t;	       /* system time - start */
	int64_t tick_minus_pv; /* tick clock - pvclock */
	int64_t gtime_minus_sys;
};

struct drift_result {
	uint64_t start;	   /* system time the guest programmed its timer */
	uint64_t ev_start; /* first event's start, system time */
	uint64_t ev_end;   /* last event's end */
	uint64_t end;
	struct drift_tick *ticks;
	unsigned int nr_ticks;
	struct drift_sample *samples;
	unsigned int nr_samples;
	struct hv_vpt_stats st;
};

const char *drift_scenario_name(enum drift_scenario s);
/* Run cfg; 0 or a negative Xen errno.  From any thread. */
int drift_run(const struct drift_cfg *cfg, struct drift_result *r);
void drift_result_free(struct drift_result *r);
/* Ticks with sys in [from, to). */
unsigned int drift_ticks_between(const struct drift_result *r, uint64_t from,
				 uint64_t to);

/*
 * A run in figures.  drift: tick clock - pvclock (negative: the tick
 * clock is behind).  catchup_ns: from the end of the last event until the
 * drift stays within 1.5 periods for good (-1: it never does).
 */
struct drift_summary {
	uint64_t duration_ns;	/* start .. end */
	unsigned int delivered; /* ticks the guest counted */
	unsigned int expected;	/* whole periods in the run */
	int64_t final_ns;	/* drift at the end */
	int64_t worst_ns;	/* the largest |drift|, with its sign */
	int64_t catchup_ns;
};
void drift_summarize(const struct drift_cfg *cfg, const struct drift_result *r,
		     struct drift_summary *s);

#endif /* XT_DRIFT_HV_H */
