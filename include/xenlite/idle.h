/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenlite idle: block the calling vCPU in Xen until an event arrives,
 * without a lost wakeup; SCHEDOP_poll on a set of ports.
 */
#ifndef XENLITE_IDLE_H
#define XENLITE_IDLE_H

#include <xenlite/xen.h>

/* SCHEDOP_poll takes at most this many ports (xen/common/sched/core.c). */
#define XL_POLL_MAX_PORTS 128

struct xl_idle_stats {
	uint64_t blocks;  /* times the vCPU blocked */
	uint64_t skipped; /* idle entries that found an event pending */
	uint64_t polls;	  /* SCHEDOP_poll calls */
};

/*
 * Block once, called with delivery masked (xl_os_irq_save()): arms the
 * clockevent for idle (xen-clockevent.c), re-checks evtchn_upcall_pending,
 * then blocks through the host (SCHEDOP_block or sti;hlt).  Returns with
 * delivery still masked; false when an event was already pending.  A
 * caller with its own wake condition checks it masked, then calls this.
 */
bool xl_idle_halt(void);

/*
 * xl_idle_halt() bracketed by mask and unmask: pending upcalls run.  A
 * loop "while (!cond) xl_idle_block();" has a lost-wakeup window: the
 * upcall that makes cond true can run after the check and before the
 * mask, and the block then waits for the next event.  Use xl_idle_until().
 */
bool xl_idle_block(void);

/*
 * Idle until done(arg) is true, checking it with delivery masked each
 * time before blocking, so the event that makes it true cannot slip in
 * between the check and the block.  Returns the number of blocks.
 */
unsigned long xl_idle_until(bool (*done)(void *), void *arg);

/*
 * Wait until done(arg) is true, as a caller that may sleep does: the
 * host's scheduler sleeps the thread (xl_os_wait()), else the vCPU idles
 * (xl_idle_until()).  For the core's own waits (a xenstore reply, a
 * synchronous block request, a backend's state), never in an upcall.
 * Returns the number of blocks when the vCPU idled, 0 when it slept.
 */
unsigned long xl_wait_until(bool (*done)(void *), void *arg);

/*
 * SCHEDOP_poll: sleep until one of ports is pending, an event needs
 * delivery, or the absolute pvclock deadline timeout_ns passes (0: none).
 * Returns what Xen returns (0, -XEN_EINVAL for more than 128 ports or a
 * bad port, ...).
 */
int xl_idle_poll(const evtchn_port_t *ports, unsigned int nr,
		 uint64_t timeout_ns);

void xl_idle_get_stats(unsigned int cpu, struct xl_idle_stats *st);

#endif /* XENLITE_IDLE_H */
