/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The FIFO event-channel protocol between Xen's producer and xenlite's
 * consumer: 2 vCPUs, 3 ports, one priority queue per vCPU, every
 * interleaving of
 *
 *   Xen  evtchn_fifo_set_pending (xen/common/event_fifo.c, Xen 4.17):
 *        PENDING, the MASKED test, LINKED, lastq and the old queue's
 *        tail, evtchn_fifo_set_link / try_set_link with BUSY, the queue
 *        head and tail, READY, vcpu_mark_events_pending;
 *        evtchn_fifo_unmask (EVTCHNOP_unmask), evtchn_bind_vcpu,
 *        evtchn_close (evtchn_fifo_clear_pending), EVTCHNOP_status;
 *   the guest  xl_evtchn_upcall, fifo_handle_events, consume_one,
 *        unlink_head, take_pending, forward, fifo_unmask, fifo_mask
 *        (xen-evtchn-fifo.c); xl_evtchn_dispatch, xl_evtchn_bind_vcpu,
 *        xl_evtchn_close, xl_evtchn_bind_existing, xl_evtchn_mask,
 *        xl_evtchn_unmask (xen-evtchn.c).
 *
 * An event word is one byte: the bits below and a 2-bit LINK (ports 1..3,
 * 0 = none).  A guest compare-exchange loop is one atomic step (a failed
 * exchange changes nothing); Xen's try_set_link keeps its read and its
 * compare-exchange apart, since its failure sets BUSY.
 *
 * The scenarios: both vCPUs' consumers, one driver, and senders:
 *   1  port 1 is a toolstack port a previous instance moved to vCPU 1
 *      (Xen notifies vCPU 1); we bind_existing it (issue 12, 1); ports
 *      1 and 3 are sent;
 *   2  port 2, bound on vCPU 0: bind_vcpu(2, 1), then xl_evtchn_mask,
 *      then xl_evtchn_unmask (issue 12, 3); ports 2 and 3 are sent;
 *   3  port 3, bound on vCPU 1, is closed; ports 2 and 3 are sent.
 * Port 3 starts bound on vCPU 1, port 2 on vCPU 0.  Each port is sent
 * SENDS times by the remote end at any moment.
 *
 * Build switches (spin -D...):
 *   BUG_FORWARD       the consumer before the fix: an event unlinked on a
 *                     vCPU that is not the port's recorded owner is handed
 *                     back to Xen with EVTCHNOP_unmask (forward())
 *   BUG_NOTIFY_VCPU0  bind_existing records vCPU 0 instead of asking Xen
 *   BUG_UNLINK_KEEPS_LINK    unlink_head clears LINKED but leaves LINK
 *   BUG_XEN_KEEP_OLD_TAIL    Xen without "old_q->tail = 0" when a port
 *                     moves queues (these two show the queue checks fail)
 *   LIVE              the LTL property (no lost event) for pan -a; no
 *                     safety monitors
 *   NOMON             no safety monitors (for pan -l)
 *   SCENARIO=n        1, 2 or 3 below alone (0, the default: all three)
 *   SENDS=n           sends per port (default 1)
 *
 * Properties:
 *   safety    assert: no handler on a port the guest masked (take_pending);
 *             queue well-formed (a port on at most one queue, each queue a
 *             LINK chain from its head, the consumer's cursor at the head,
 *             a new head only on an empty queue, set_link never gives up);
 *             no lost event when the system is quiescent
 *   live      LTL <>[] no event unhandled (pan -a -f)
 *   progress  no cycle at all: every loop of the consumer ends (pan -l -f)
 */

#ifndef SENDS
#define SENDS 1
#endif
#ifndef SCENARIO
#define SCENARIO 0
#endif

#define NCPU 2
#define NPORT 4		/* ports 1..3; 0 is the null LINK */
#define NONE 255	/* no vCPU / no queue */

/* event_word_t, public/event_channel.h (positions compressed) */
#define WP 1		/* EVTCHN_FIFO_PENDING */
#define WM 2		/* EVTCHN_FIFO_MASKED */
#define WL 4		/* EVTCHN_FIFO_LINKED */
#define WB 8		/* EVTCHN_FIFO_BUSY */
#define LINKSH 16	/* EVTCHN_FIFO_LINK: bits 4..5 */
#define LINKMASK 48
#define LNK(x) (((x) & LINKMASK) / LINKSH)

/* shared with the guest: the event array and the control blocks */
byte word[NPORT];
byte cb_head[NCPU];		/* control_block->head[0] */
bit ready[NCPU];		/* control_block->ready, bit 0 */
bit upcall_pending[NCPU];	/* vcpu_info->evtchn_upcall_pending */

/* Xen's own state */
byte q_tail[NCPU];		/* struct evtchn_fifo_queue.tail */
byte notify[NPORT];		/* evtchn->notify_vcpu_id */
byte lastq[NPORT];		/* evtchn->fifo_lastq.last_vcpu_id */
bit open[NPORT];		/* evtchn->state != ECS_FREE */
/*
 * The queue locks that evtchn_fifo_set_pending takes, with the channel
 * lock its callers hold (evtchn_send, evtchn_unmask, evtchn_close), as
 * one lock.  EVTCHNOP_bind_vcpu takes d->event_lock only, so it writes
 * notify_vcpu_id without this lock, as in Xen.
 */
bit xenlock;

/* the guest's own state */
byte cursor[NCPU];		/* struct fifo_cpu.head[0] */
byte owner[NPORT];		/* struct xl_port.cpu (xl_evtchn_port_cpu_raw) */
bit bound[NPORT];		/* struct xl_port.fn != NULL */

/* ghosts: what the checks compare against */
bit want_masked[NPORT];		/* the guest asked for the port masked */
bit unhandled[NPORT];		/* sent, and no handler run taken since */
typedef gqueue {
	byte e[4];
	byte n
};
gqueue gq[NCPU];		/* each vCPU's queue, as Xen built it */
byte inq[NPORT];		/* the queue a port is on, or NONE */

/* ---- ghost queue bookkeeping --------------------------------------------- */

inline ghost_new_head(v, p)
{
	/* A new head only on an empty queue, a port on one queue at most. */
	assert(gq[v].n == 0 && inq[p] == NONE);
	gq[v].e[0] = p;
	gq[v].n = 1;
	inq[p] = v
}

inline ghost_link_after(v, t, p)
{
	/* The tail Xen links to is the last port on that very queue. */
	assert(gq[v].n > 0 && gq[v].e[gq[v].n - 1] == t && inq[p] == NONE);
	gq[v].e[gq[v].n] = p;
	gq[v].n++;
	inq[p] = v
}

inline ghost_pop(c, p)
{
	/* The consumer unlinks the head of its own queue. */
	assert(gq[c].n > 0 && gq[c].e[0] == p);
	gq[c].e[0] = gq[c].e[1];
	gq[c].e[1] = gq[c].e[2];
	gq[c].e[2] = 0;
	gq[c].n--;
	inq[p] = NONE
}

/* Each queue is a LINK chain of LINKED words from its head. */
#define ELT_OK(c, i) (gq[c].n <= i || ((word[gq[c].e[i]] & WL) && \
	LNK(word[gq[c].e[i]]) == (gq[c].n > i + 1 -> gq[c].e[i + 1] : 0)))
#define Q_OK(c) (ELT_OK(c, 0) && ELT_OK(c, 1) && ELT_OK(c, 2) && \
	(cursor[c] == 0 || (gq[c].n > 0 && gq[c].e[0] == cursor[c])))
#define WELL_FORMED (Q_OK(0) && Q_OK(1))

#define ALL_HANDLED (!unhandled[1] && !unhandled[2] && !unhandled[3])

/* ---- Xen ------------------------------------------------------------------ */

/* Xen's locals, in every process that enters Xen. */
#define XEN_LOCALS byte xv, xw, xt, xtry; bit xlinked, xdolink, xkick

inline xen_lock()
{
	atomic { xenlock == 0 -> xenlock = 1 }
}

inline xen_unlock()
{
	xenlock = 0
}

/*
 * evtchn_fifo_set_link(d, word of t, p): link p behind tail t iff t is
 * still LINKED; sets xlinked.  try_set_link first without BUSY; when the
 * guest changed the word meanwhile, BUSY blocks the guest's unmask and up
 * to 4 more tries follow.
 */
inline xen_set_link(v, t, p)
{
	xw = word[t];					/* read_atomic(word) */
	if
	:: !(xw & WL) -> xlinked = 0			/* try_set_link: 0 */
	:: else ->
		if
		:: atomic { word[t] == xw ->		/* try_set_link: cmpxchg */
			word[t] = (xw & ~(WB | LINKMASK)) | (p * LINKSH);
			ghost_link_after(v, t, p) };
			xlinked = 1
		:: atomic { word[t] != xw -> xw = word[t] };	/* -EAGAIN */
			word[t] = word[t] | WB;		/* guest_set_bit(BUSY) */
			xw = word[t];			/* read_atomic(word) */
			xtry = 0;
			do
			:: xtry < 4 && !(xw & WL) ->	/* try_set_link: 0 */
				word[t] = word[t] & ~WB;	/* guest_clear_bit(BUSY) */
				xlinked = 0;
				break
			:: xtry < 4 && (xw & WL) ->
				if
				:: atomic { word[t] == xw ->	/* try_set_link: cmpxchg */
					word[t] = (xw & ~(WB | LINKMASK)) | (p * LINKSH);
					ghost_link_after(v, t, p) };
					xlinked = 1;
					break
				:: atomic { word[t] != xw -> xw = word[t]; xtry++ }
				fi
			:: xtry == 4 ->
				/* "port %d not linked": the guest broke the word rules */
				assert(false)
			od
		fi
	fi;
	xw = 0;
	xtry = 0
}

/*
 * evtchn_fifo_set_pending(v, evtchn), the part under the queue locks;
 * the caller holds xenlock and calls xen_ready(v) after unlocking.
 */
inline xen_set_pending(v, p)
{
	/* guest_test_and_set_bit(PENDING) */
	atomic { word[p] = word[p] | WP; unhandled[p] = 1; xlinked = 1 };
	if
	:: (word[p] & WM) -> skip		/* guest_test_bit(MASKED): not linked */
	:: else ->
		/*
		 * guest_test_and_set_bit(LINKED); Xen's private steps under
		 * the queue lock (lastq, the tails) go with it: the guest
		 * never reads them, and other Xen paths wait for the lock.
		 */
		atomic {
			if
			:: (word[p] & WL) -> xdolink = 0
			:: else -> word[p] = word[p] | WL; xdolink = 1;
				/* old_q->tail == port: that queue is empty now */
#ifndef BUG_XEN_KEEP_OLD_TAIL
				if
				:: q_tail[lastq[p]] == p -> q_tail[lastq[p]] = 0
				:: else -> skip
				fi;
#endif
				lastq[p] = v;		/* write_atomic(fifo_lastq) */
				xlinked = 0;
				xt = q_tail[v]		/* if (q->tail) */
			fi
		};
		if
		:: xdolink ->
			if
			:: xt != 0 ->
				xen_set_link(v, xt, p)
			:: else -> skip
			fi;
			if
			:: !xlinked ->
				atomic { cb_head[v] = p;	/* write_atomic(q->head) */
					ghost_new_head(v, p) }
			:: else -> skip
			fi;
			atomic { q_tail[v] = p;		/* q->tail = port */
				xdolink = 0; xt = 0 }
		:: else -> skip
		fi
	fi
}

/* evtchn_fifo_set_pending, after the unlock (label done:). */
inline xen_ready(v)
{
	if
	:: !xlinked ->
		/* guest_test_and_set_bit(q->priority, &control_block->ready) */
		atomic {
			if
			:: !ready[v] -> ready[v] = 1; xkick = 1
			:: else -> xkick = 0
			fi
		};
		if
		:: xkick -> upcall_pending[v] = 1;	/* vcpu_mark_events_pending */
			xkick = 0
		:: else -> skip
		fi
	:: else -> skip
	fi;
	xlinked = 0
}

/* EVTCHNOP_unmask: evtchn_unmask -> evtchn_fifo_unmask. */
inline evtchnop_unmask(p)
{
	xen_lock();
	xv = notify[p];				/* d->vcpu[notify_vcpu_id] */
	word[p] = word[p] & ~WM;		/* guest_clear_bit(MASKED) */
	xlinked = 1;
	if
	:: (word[p] & WP) -> xen_set_pending(xv, p)	/* relink if pending */
	:: else -> skip
	fi;
	xen_unlock();
	xen_ready(xv);
	xv = 0
}

/* ---- the guest ------------------------------------------------------------- */

/* fifo_mask */
inline fifo_mask(p)
{
	word[p] = word[p] | WM			/* xl_fetch_or32 */
}

/* fifo_unmask: local clear unless PENDING or BUSY, else EVTCHNOP_unmask. */
/*
 * The compare-exchange loop is one atomic step here: a failed exchange
 * changes nothing and the loop decides on the value it finally sees.
 */
inline fifo_unmask(p)
{
	atomic {
		w = word[p];
		if
		:: (w & WM) && !(w & (WP | WB)) ->
			word[p] = w & ~WM;		/* xl_cmpxchg32 */
			w = 0
		:: else -> skip
		fi
	};
	if
	:: (w & WM) -> evtchnop_unmask(p)	/* PENDING or BUSY: to Xen */
	:: else -> skip
	fi;
	w = 0
}

/* xl_evtchn_mask */
inline xl_mask(p)
{
	atomic { want_masked[p] = 1; fifo_mask(p) }
}

/* xl_evtchn_unmask */
inline xl_unmask(p)
{
	want_masked[p] = 0;
	fifo_unmask(p)
}

/*
 * take_pending + xl_evtchn_dispatch: PENDING taken atomically with the
 * MASKED test; the handler runs after it (no handler for a closed port:
 * xl_evtchn_note_stray).
 */
inline take_and_dispatch(c, port)
{
	/* take_pending: its compare-exchange loop as one step */
	atomic {
		if
		:: (word[port] & WP) && !(word[port] & WM) ->
			word[port] = word[port] & ~WP;
			/* no handler on a port the guest masked */
			assert(!want_masked[port]);
			unhandled[port] = 0
			/* xl_evtchn_dispatch: the handler runs, or a stray */
		:: else -> skip			/* take_pending: false */
		fi
	}
}

/* consume_one(cpu, q = 0, &rdy) */
inline consume_one(c)
{
	atomic {
		port = cursor[c];		/* fc->head[q] */
		if
		:: port == 0 -> port = cb_head[c]	/* xl_rmb(); fc->cb->head[q] */
		:: else -> skip
		fi
	};
	if
	:: port == 0 -> rdy = 0			/* empty: clear q in *ready */
	:: else ->
		/*
		 * unlink_head: clear LINKED and LINK, keep the old word.  The
		 * cursor (fc->head[q] = next, private to this vCPU) moves in
		 * the same step, so the check below sees it at the new head.
		 */
		atomic {
			w = word[port];			/* the loop as one step */
#ifdef BUG_UNLINK_KEEPS_LINK
			word[port] = w & ~WL;
#else
			word[port] = w & ~(WL | LINKMASK);
#endif
			ghost_pop(c, port);
			cursor[c] = LNK(w);		/* fc->head[q] = next */
			if
			:: LNK(w) == 0 -> rdy = 0	/* !next: clear q in *ready */
			:: else -> skip
			fi
		};
		if
		:: !(w & WP) -> skip			/* not pending */
		:: (w & WP) && (w & WM) -> skip		/* xl_evtchn_note_masked */
		:: (w & WP) && !(w & WM) ->
#ifdef BUG_FORWARD
			if
			:: owner[port] != c && owner[port] != NONE ->
				evtchnop_unmask(port)	/* forward() */
			:: else ->
				take_and_dispatch(c, port)
			fi
#else
			take_and_dispatch(c, port)
#endif
		fi
	fi;
	w = 0;
	port = 0
}

/* A vCPU taking upcalls: xl_evtchn_upcall -> fifo_handle_events. */
proctype vcpu(byte c)
{
	XEN_LOCALS;
	byte port, w;
	bit rdy;

end_idle:
	do
	:: upcall_pending[c] ->		/* the upcall: xl_evtchn_upcall */
		do
		:: upcall_pending[c] = 0;	/* xl_xchg8(evtchn_upcall_pending, 0) */
			/* fifo_handle_events: ready = xchg(&cb->ready, 0) */
			atomic { rdy = ready[c]; ready[c] = 0 };
			do
			:: rdy ->		/* while (ready) */
				consume_one(c);	/* consume_one(cpu, ctz(ready), &ready) */
				/* ready |= xchg(&cb->ready, 0) */
				atomic { rdy = rdy | ready[c]; ready[c] = 0 }
			:: else -> break
			od;
			/* while (evtchn_upcall_pending) */
			if
			:: upcall_pending[c] -> skip
			:: else -> break
			fi
		od
	od
}

/* The remote end: EVTCHNOP_send -> evtchn_send -> evtchn_port_set_pending. */
proctype sender(byte p)
{
	XEN_LOCALS;
	byte n;

	do
	:: n < SENDS ->
		xen_lock();		/* evtchn_send: the channel and queue locks */
		if
		:: open[p] ->
			xv = notify[p];		/* rchn->notify_vcpu_id */
			xen_set_pending(xv, p)
		:: else -> xlinked = 1		/* -EINVAL: closed */
		fi;
		xen_unlock();		/* evtchn_fifo_set_pending: unlock: */
		xen_ready(xv);		/* ... done: READY, the upcall */
		xv = 0;
		n++
	:: else -> break
	od
}

/* Port 1: xl_evtchn_bind_existing on a port Xen notifies to vCPU 1. */
proctype drv_existing()
{
	XEN_LOCALS;
	byte w;

	/* port_install: the owner, the handler, then the unmask */
#ifdef BUG_NOTIFY_VCPU0
	owner[1] = 0;			/* "notifies vCPU 0, as every newly bound port" */
#else
	owner[1] = notify[1];		/* EVTCHNOP_status: status.vcpu */
#endif
	bound[1] = 1;
	fifo_unmask(1)
}

/* Port 2: xl_evtchn_bind_vcpu(2, 1), xl_evtchn_mask(2), xl_evtchn_unmask(2). */
proctype drv_rebind()
{
	XEN_LOCALS;
	byte w;
	bit masked;

	/* xl_evtchn_bind_vcpu */
	masked = ((word[2] & WM) != 0);	/* ops->is_masked */
	fifo_mask(2);			/* ops->mask */
	notify[2] = 1;			/* EVTCHNOP_bind_vcpu: evtchn_bind_vcpu */
	owner[2] = 1;			/* xl_write32(&p->cpu, cpu) */
	if
	:: !masked -> fifo_unmask(2)	/* ops->unmask */
	:: else -> skip
	fi;
	xl_mask(2);
	xl_unmask(2)
}

/* Port 3: xl_evtchn_close(3). */
proctype drv_close()
{
	/* ops->mask: no new dispatch */
	xl_mask(3);
	/* EVTCHNOP_close: evtchn_close -> evtchn_free ->
	 * evtchn_fifo_clear_pending; later sends fail */
	xen_lock();
	open[3] = 0;
	atomic { word[3] = word[3] & ~WP; unhandled[3] = 0 };
	xen_unlock();
	/* port_forget */
	bound[3] = 0;
	owner[3] = NONE
}

/*
 * The safety monitors; the cycle checks (LIVE, NOMON) leave them out:
 * fairness costs a copy of the state space per process.
 */
#if !defined(LIVE) && !defined(NOMON)
/* Queue well-formedness, in every reachable state. */
active proctype wellformed()
{
end:
	atomic { !WELL_FORMED -> assert(WELL_FORMED) }
}

/* No lost event: once nothing can move, no event is left unhandled. */
active proctype quiescent()
{
end:
	timeout -> assert(ALL_HANDLED)
}
#endif

init
{
	atomic {
		inq[1] = NONE; inq[2] = NONE; inq[3] = NONE;
		/* port 1: a previous instance moved it to vCPU 1 and left */
		word[1] = WM; notify[1] = 1; lastq[1] = 1; owner[1] = NONE;
		open[1] = 1;
		/* port 2: bound on vCPU 0, unmasked */
		notify[2] = 0; lastq[2] = 0; owner[2] = 0; open[2] = 1;
		bound[2] = 1;
		/* port 3: bound on vCPU 1, unmasked */
		notify[3] = 1; lastq[3] = 0; owner[3] = 1; open[3] = 1;
		bound[3] = 1;
		run vcpu(0); run vcpu(1);
#if SCENARIO == 0 || SCENARIO == 1
		run sender(1); run drv_existing();
#endif
#if SCENARIO != 1
		run sender(2);
#endif
#if SCENARIO == 0 || SCENARIO == 2
		run drv_rebind();
#endif
		run sender(3);
#if SCENARIO == 0 || SCENARIO == 3
		run drv_close();
#endif
	}
}

#ifdef LIVE
/* Every event sent is eventually handled (SENDS is finite). */
ltl no_lost_event { <>[] ALL_HANDLED }
#endif
