/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Check-then-block against an event: a vCPU waits in xl_idle_until for a
 * handler to run (xen-idle.c), while the other end sends events (Xen:
 * evtchn_set_pending -> vcpu_mark_events_pending -> vcpu_kick ->
 * vcpu_unblock).  Idle masks delivery (xl_os_irq_save), checks its
 * condition and evtchn_upcall_pending (xl_idle_halt), and blocks with
 * SCHEDOP_block, which enables delivery, marks the vCPU blocked and only
 * then re-checks for pending events (xen/common/sched/core.c,
 * vcpu_block_enable_events -> vcpu_block -> local_events_need_delivery;
 * Xen 4.17).
 *
 * Build switches (spin -D...):
 *   BUG_UNMASK_BEFORE_BLOCK  the guest checks, unmasks, then blocks
 *                            (unikraft #1010): an upcall in the window
 *                            runs the handler and the vCPU blocks anyway
 *   BUG_XEN_CHECK_FIRST      a hypervisor that checks for events before
 *                            marking the vCPU blocked (the "wakeup waiting
 *                            race" vcpu_block's comment names)
 *   LIVE                     the LTL property for pan -a
 *   SENDS=n                  events sent (default 2)
 *
 * Properties:
 *   safety  no invalid end state: the vCPU never stays blocked once the
 *           sender is done (a lost wakeup is a deadlock here)
 *   live    LTL <> the wait returned (pan -a -f)
 */

#ifndef SENDS
#define SENDS 2
#endif

/* struct vcpu_info */
bit upcall_pending;		/* evtchn_upcall_pending */
bit upcall_mask;		/* evtchn_upcall_mask */
/* Xen */
bit blocked;			/* _VPF_blocked in v->pause_flags */
bit in_xen;			/* the vCPU is inside a hypercall */
/* the guest */
byte handled;			/* handler runs: what the wait waits for */
bit returned;			/* xl_idle_until returned */
byte sent;			/* ghost: events sent */

/* evtchn_set_pending -> vcpu_mark_events_pending -> vcpu_kick */
active proctype sender()
{
	bit kick;

	do
	:: sent < SENDS ->
		/* the port's pending bit, then test_and_set_bit(evtchn_upcall_pending) */
		atomic {
			sent++;
			if
			:: !upcall_pending -> upcall_pending = 1; kick = 1
			:: else -> kick = 0
			fi
		};
		if
		:: kick ->
			/* vcpu_kick -> vcpu_unblock: test_and_clear_bit(_VPF_blocked) */
			atomic { blocked = 0; kick = 0 }	/* vcpu_wake */
		:: else -> skip
		fi
	:: else -> break
	od
}

/*
 * The upcall: delivered when the vCPU runs guest code (not blocked, not in
 * a hypercall) with delivery enabled and evtchn_upcall_pending set; an
 * interrupt, so one atomic step against the code it interrupts.
 * xl_evtchn_upcall: xchg(evtchn_upcall_pending, 0), the handlers run.
 */
active proctype upcall()
{
end:
	do
	:: atomic { upcall_pending && !upcall_mask && !blocked && !in_xen ->
		upcall_pending = 0;
		handled = sent }		/* every event sent so far is handled */
	od
}

/*
 * xl_os_irq_restore: unmask, then run the upcall if one is pending (as
 * Linux's xen_restore_fl does after its barrier).
 */
inline irq_restore()
{
	atomic {
		upcall_mask = 0;
		if
		:: upcall_pending -> upcall_pending = 0; handled = sent
		:: else -> skip
		fi
	}
}

/*
 * SCHEDOP_block: do_sched_op -> vcpu_block_enable_events.  Returns to the
 * guest once the vCPU is not blocked.
 */
inline schedop_block()
{
	in_xen = 1;
#ifdef BUG_XEN_CHECK_FIRST
	upcall_mask = 0;			/* local_event_delivery_enable */
	if
	:: upcall_pending && !upcall_mask -> skip	/* local_events_need_delivery */
	:: else -> blocked = 1			/* set_bit(_VPF_blocked) */
	fi;
#else
	upcall_mask = 0;			/* local_event_delivery_enable */
	blocked = 1;				/* vcpu_block: set_bit(_VPF_blocked) */
	/* smp_mb__after_atomic(); "Check for events /after/ blocking" */
	if
	:: upcall_pending && !upcall_mask ->	/* local_events_need_delivery */
		blocked = 0			/* clear_bit(_VPF_blocked) */
	:: else -> skip				/* raise_softirq(SCHEDULE_SOFTIRQ) */
	fi;
#endif
	blocked == 0;				/* descheduled until vcpu_wake */
	in_xen = 0
}

/* xl_idle_until(done = "a handler ran for every event sent") */
active proctype guest()
{
	do
	:: upcall_mask = 1;			/* xl_os_irq_save */
		if
		:: handled == SENDS ->		/* done(arg) */
			irq_restore();		/* xl_os_irq_restore */
			returned = 1;
			break
		:: else -> skip
		fi;
#ifdef BUG_UNMASK_BEFORE_BLOCK
		irq_restore();			/* unmasked before the block */
		schedop_block();
#else
		/* xl_idle_halt: xl_clock_idle_enter, then */
		if
		:: upcall_pending -> skip	/* idle_stats.skipped */
		:: else -> schedop_block()	/* xl_os_safe_halt */
		fi;
		irq_restore()			/* xl_os_irq_restore */
#endif
	od
}

#ifdef LIVE
ltl wait_returns { <> returned }
#endif
