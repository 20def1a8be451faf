// SPDX-License-Identifier: GPL-2.0
/*
 * SCHED_block idle without lost wakeups (seed 001: vcpu_block ->
 * vcpu_unblock -> vcpu_wake), and SCHEDOP_poll.
 *
 * The window to close: an event that arrives after we decided to idle but
 * before the vCPU blocks.  Delivery is masked first, then
 * evtchn_upcall_pending is checked, then the host blocks with a primitive
 * that unmasks and blocks as one step: SCHEDOP_block (Xen enables event
 * delivery, marks the vCPU blocked, and only then re-checks for pending
 * events: "avoids wakeup waiting race", xen/common/sched/core.c,
 * vcpu_block_enable_events) or, on PVH/HVM, sti;hlt (the STI shadow keeps
 * the interrupt from landing before hlt).  An event that lands anywhere in
 * the window leaves evtchn_upcall_pending set, and Xen will not block a
 * vCPU with it set.  Unikraft's idle unmasked first and blocked second:
 * an event in between was lost until the next one (unikraft #1010).
 */
#include <xenlite/clockevent.h>
#include <xenlite/hypercall.h>
#include <xenlite/idle.h>

static struct xl_idle_stats idle_stats[XL_MAX_VCPUS];

static void stat_inc(uint64_t *s)
{
	/* Single writer (the owning vCPU), readers anywhere. */
	xl_write64(s, xl_read64(s) + 1);
}

bool xl_idle_halt(void)
{
	unsigned int cpu = xl_os_vcpu_id();
	struct vcpu_info *vi = xl_os_vcpu_info(cpu);
	bool blocked = false;

	/*
	 * Tickless: Xen already holds the next deadline.  Periodic: Xen stops
	 * the periodic timer of a blocked vCPU, so the clockevent arms the
	 * singleshot timer for the next tick.  A deadline already past leaves
	 * VIRQ_TIMER pending, which the check below sees.
	 */
	xl_clock_idle_enter(cpu);
	/*
	 * The caller's mask is a fully ordered exchange on PV-style hosts
	 * (cli on HVM): this read of the pending flag cannot move before it.
	 */
	if (xl_read8(&vi->evtchn_upcall_pending)) {
		stat_inc(&idle_stats[cpu].skipped);
	} else {
		stat_inc(&idle_stats[cpu].blocks);
		xl_trace(XL_TRACE_BLOCK_ENTER, 0, cpu, 0);
		xl_os_safe_halt();
		xl_trace(XL_TRACE_BLOCK_LEAVE, 0, cpu, 0);
		blocked = true;
	}
	xl_clock_idle_exit(cpu);
	return blocked;
}

bool xl_idle_block(void)
{
	unsigned long flags = xl_os_irq_save();
	bool blocked = xl_idle_halt();

	/* Unmasking runs any upcall that is pending now. */
	xl_os_irq_restore(flags);
	return blocked;
}

unsigned long xl_idle_until(bool (*done)(void *), void *arg)
{
	unsigned long flags, blocks = 0;

	for (;;) {
		flags = xl_os_irq_save();
		if (done(arg)) {
			xl_os_irq_restore(flags);
			return blocks;
		}
		blocks += xl_idle_halt();
		xl_os_irq_restore(flags);
	}
}

unsigned long xl_wait_until(bool (*done)(void *), void *arg)
{
	if (xl_os_wait(done, arg) == 0)
		return 0;
	return xl_idle_until(done, arg);
}

/*
 * SCHEDOP_poll (public sched.h): Xen checks the 128-port limit and each
 * port itself; the core passes the request through unchanged so a caller
 * sees Xen's own error.  The timeout is absolute system time, as the
 * pvclock reads it.
 */
int xl_idle_poll(const evtchn_port_t *ports, unsigned int nr,
		 uint64_t timeout_ns)
{
	struct sched_poll sp = { .nr_ports = nr, .timeout = timeout_ns };
	unsigned int cpu = xl_os_vcpu_id();
	long rc;

	set_xen_guest_handle(sp.ports, (evtchn_port_t *)ports);
	stat_inc(&idle_stats[cpu].polls);
	xl_trace(XL_TRACE_BLOCK_ENTER, 0, cpu, 1);
	rc = xl_hc_sched_op(SCHEDOP_poll, &sp);
	xl_trace(XL_TRACE_BLOCK_LEAVE, 0, cpu, 1);
	return (int)rc;
}

void xl_idle_get_stats(unsigned int cpu, struct xl_idle_stats *st)
{
	st->blocks = xl_read64(&idle_stats[cpu].blocks);
	st->skipped = xl_read64(&idle_stats[cpu].skipped);
	st->polls = xl_read64(&idle_stats[cpu].polls);
}
