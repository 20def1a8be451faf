// SPDX-License-Identifier: GPL-2.0
/*
 * The runner's own clock (xt_now_ns): the TSC scaled with the
 * tsc_to_system_mul/tsc_shift Xen published for vCPU 0 at boot, frozen
 * there.  It is deliberately not the pvclock the core computes (so
 * time/pvclock_rate compares two clocks, as on hv where xt_now_ns is the
 * host's CLOCK_MONOTONIC).  Xen keeps the TSC of all vCPUs of a domain in
 * step (hvm/domain.c syncs an AP's TSC offset with the BSP's).
 */
#include "tk.h"

static uint64_t tk_tsc0;
static uint32_t tk_mul;
static int8_t tk_shift;

/*
 * Xen writes every vCPU's time into shared_info from domain creation on,
 * so it is valid as soon as the page is mapped.  Should it not be yet
 * (version 0), registering a secondary time area forces an update
 * (x86 domain.c, VCPUOP_register_vcpu_time_memory_area).
 */
static struct vcpu_time_info tk_time_area;

void tk_time_init(void)
{
	const struct vcpu_time_info *t = &tk_shinfo->vcpu_info[0].time;
	struct vcpu_register_time_memory_area ra;
	uint32_t v;

	if (!xl_read32(&t->version)) {
		ra.addr.v = &tk_time_area;
		tk_hypercall(__HYPERVISOR_vcpu_op,
			     VCPUOP_register_vcpu_time_memory_area, 0,
			     (unsigned long)&ra, 0, 0);
	}
	do {
		v = xl_read32(&t->version);
		xl_rmb();
		tk_mul = xl_read32(&t->tsc_to_system_mul);
		tk_shift = (int8_t)xl_read8((const uint8_t *)&t->tsc_shift);
		xl_rmb();
	} while ((v & 1) || v != xl_read32(&t->version));
	tk_tsc0 = tk_rdtsc();
}

uint64_t tk_now_ns(void)
{
	uint64_t d = tk_rdtsc() - tk_tsc0;

	if (tk_shift < 0)
		d >>= -tk_shift;
	else
		d <<= tk_shift;
	return (uint64_t)(((unsigned __int128)d * tk_mul) >> 32);
}
