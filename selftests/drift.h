/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A tick-counting guest clock, as guests kept time before pvclock: each
 * timer interrupt adds one period, so time = base + ticks x period, and a
 * tick the hypervisor never delivers is time the guest never sees.  It
 * runs beside the vCPU's own pvclock reading in the same guest: their
 * difference is the drift docs/time-drift.md measures.
 *
 * Portable guest code (os.h only): a timer interrupt handler calls
 * xt_tickclock_tick() before its EOI.
 */
#ifndef XT_DRIFT_H
#define XT_DRIFT_H

#include <xenlite/os.h>
#include <xenlite/xen.h>

struct xt_tickclock {
	uint64_t period_ns;
	uint64_t base_ns; /* pvclock when counting began */
	uint64_t ticks;	  /* interrupts counted (atomic) */
};

/* Begin counting now (pvclock of the calling vCPU) with this period. */
void xt_tickclock_start(struct xt_tickclock *c, uint64_t period_ns);
/* One timer interrupt: from its handler, on the vCPU that owns c. */
void xt_tickclock_tick(struct xt_tickclock *c);
/* base + ticks x period: the tick clock's time.  Any thread. */
uint64_t xt_tickclock_now(const struct xt_tickclock *c);
uint64_t xt_tickclock_ticks(const struct xt_tickclock *c);

/*
 * The calling vCPU's own pvclock (its vcpu_time_info, version protocol),
 * without xl_clock_now()'s maximum over vCPUs: the time this vCPU's
 * record gives, which is what a per-vCPU comparison needs.
 */
uint64_t xt_pvclock_own(void);

#endif /* XT_DRIFT_H */
