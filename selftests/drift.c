// SPDX-License-Identifier: GPL-2.0
/*
 * The tick-counting guest clock (drift.h).  Portable guest code.
 */
#include "drift.h"

void xt_tickclock_start(struct xt_tickclock *c, uint64_t period_ns)
{
	c->period_ns = period_ns;
	c->base_ns = xt_pvclock_own();
	xl_write64(&c->ticks, 0);
}

void xt_tickclock_tick(struct xt_tickclock *c)
{
	/* One writer (the owning vCPU's handler); readers anywhere. */
	xl_write64(&c->ticks, xl_read64(&c->ticks) + 1);
}

uint64_t xt_tickclock_ticks(const struct xt_tickclock *c)
{
	return xl_read64(&c->ticks);
}

uint64_t xt_tickclock_now(const struct xt_tickclock *c)
{
	return c->base_ns + xt_tickclock_ticks(c) * c->period_ns;
}

static uint64_t drift_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

uint64_t xt_pvclock_own(void)
{
	const struct vcpu_info *vi = xl_os_vcpu_info(xl_os_vcpu_id());
	const struct vcpu_time_info *t = &vi->time;
	uint64_t stamp, sys, tsc;
	uint32_t ver, mul;
	int8_t shift;

	/*
	 * Version protocol (public xen.h, struct vcpu_time_info): odd while
	 * Xen writes; the read barriers keep the field reads between the two
	 * version reads (as xen-clockevent.c pvclock_read).
	 */
	do {
		ver = xl_read32(&t->version);
		xl_rmb();
		stamp = xl_read64(&t->tsc_timestamp);
		sys = xl_read64(&t->system_time);
		mul = xl_read32(&t->tsc_to_system_mul);
		shift = (int8_t)xl_read8((const uint8_t *)&t->tsc_shift);
		tsc = xl_os_rdtsc();
		xl_rmb();
	} while ((ver & 1) || ver != xl_read32(&t->version));
	if ((int64_t)(tsc - stamp) < 0)
		return sys;
	return sys + drift_scale(tsc - stamp, mul, shift);
}
