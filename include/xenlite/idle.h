/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenlite idle: block the calling vCPU in Xen until an event arrives,
 * without a lost wakeup.
 */
#ifndef XENLITE_IDLE_H
#define XENLITE_IDLE_H

#include <xenlite/xen.h>

struct xl_idle_stats {
	uint64_t blocks;	/* times the vCPU blocked */
	uint64_t skipped;	/* idle entries that found an event pending */
};

/*
 * Block once: returns after an upcall ran (or a host wakeup).  Returns
 * false without blocking when an event was already pending.
 */
bool xl_idle_block(void);
void xl_idle_get_stats(unsigned int cpu, struct xl_idle_stats *st);

#endif /* XENLITE_IDLE_H */
