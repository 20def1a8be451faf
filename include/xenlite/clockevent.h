/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenlite time: pvclock system time, a clockevent per vCPU on VIRQ_TIMER
 * (singleshot/tickless or periodic), and per-vCPU software timers that
 * share it.
 */
#ifndef XENLITE_CLOCKEVENT_H
#define XENLITE_CLOCKEVENT_H

#include <xenlite/xen.h>

enum xl_clock_mode {
	XL_CLOCK_SINGLESHOT, /* tickless: one VCPUOP singleshot deadline */
	XL_CLOCK_PERIODIC,   /* VCPUOP_set_periodic_timer at hz */
};

struct xl_clock_config {
	enum xl_clock_mode mode;
	unsigned int hz;       /* periodic: 1 .. 1000 (Xen: period >= 1 ms) */
	uint64_t min_delta_ns; /* singleshot: nearest deadline; 0 = 100 us */
};

struct xl_timer;
typedef void (*xl_timer_fn)(struct xl_timer *t);

/*
 * The most timer callbacks one VIRQ_TIMER runs (the VIRQ handler runs in
 * the upcall with delivery masked).  A timer that became due only while
 * callbacks ran, or whose run took longer than the gap to the deadline it
 * re-armed for, runs once per VIRQ; the rest wait for the next VIRQ (Xen
 * is armed for them min_delta ahead).  xen-clockevent.c, run_expired().
 */
#define XL_TIMER_RUNS_PER_VIRQ 16

/* A software timer; owned by the vCPU that arms it. */
struct xl_timer {
	uint64_t deadline; /* pvclock ns */
	uint64_t fired_at; /* pvclock ns when fn was called */
	xl_timer_fn fn;
	void *data;
	int32_t slot; /* heap index, -1 when not armed */
	uint32_t cpu;
};

struct xl_clock_stats {
	uint64_t virq;	      /* VIRQ_TIMER events handled */
	uint64_t ticks;	      /* periodic: tick boundaries passed */
	uint64_t fired;	      /* software timers run */
	uint64_t programs;    /* singleshot hypercalls */
	uint64_t stops;	      /* stop_singleshot hypercalls */
	uint64_t late_ns_sum; /* sum of fired_at - deadline */
	uint64_t late_ns_max;
	uint64_t idle_wakeups; /* VIRQ_TIMER events that ended a block */
};

/* pvclock: Xen system time in ns, monotonic across vCPUs. */
uint64_t xl_clock_now(void);

/* Bind VIRQ_TIMER on every vCPU and start the mode; after evtchn init. */
int xl_clock_init(const struct xl_clock_config *cfg);
void xl_clock_fini(void);
enum xl_clock_mode xl_clock_mode(void);

void xl_timer_setup(struct xl_timer *t, xl_timer_fn fn, void *data);
/* Arm on the calling vCPU (re-arming moves it); 0 or -XEN_ENOSPC. */
int xl_timer_arm(struct xl_timer *t, uint64_t deadline_ns);
/* Cancel on the owning vCPU; true if it was armed. */
bool xl_timer_cancel(struct xl_timer *t);
bool xl_timer_armed(const struct xl_timer *t);

void xl_clock_get_stats(unsigned int cpu, struct xl_clock_stats *st);

/*
 * After a restore (docs/save-restore.md), on every vCPU, once
 * xl_evtchn_resume() bound VIRQ_TIMER again: Xen forgot the timers, so
 * the periodic timer is set again (the tick count restarts one period
 * from now: the time suspended is not ticks) or, tickless, the new
 * vCPU's default PV ticker is stopped (Linux xen_timer_resume) and the
 * earliest software timer armed again; a deadline that passed while
 * suspended is armed min_delta ahead, so it fires once, promptly.
 * Software timers keep their deadlines (pvclock ns: the restore's jump
 * of system time counts as time passed).  0, -XEN_ENODEV (no clockevent
 * here, or its VIRQ_TIMER port was lost), or the hypercall's error.
 * Not after a cancel: Xen kept the timers.
 */
int xl_clock_resume(void);

/* A vCPU's clockevent as it stands, for post-mortems (racy snapshot). */
struct xl_clock_state {
	evtchn_port_t port;	 /* its VIRQ_TIMER port, 0 = none */
	uint32_t nr_timers;	 /* software timers armed */
	uint32_t idle;		 /* inside a block */
	uint64_t armed;		 /* singleshot deadline we gave Xen, 0 = none */
	uint64_t first_deadline; /* earliest software timer, 0 = none */
	uint64_t next_tick;	 /* periodic: next tick boundary */
};
void xl_clock_get_state(unsigned int cpu, struct xl_clock_state *st);

/* Called by xen-idle.c around a block on this vCPU. */
void xl_clock_idle_enter(unsigned int cpu);
void xl_clock_idle_exit(unsigned int cpu);

#endif /* XENLITE_CLOCKEVENT_H */
