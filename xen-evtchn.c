// SPDX-License-Identifier: GPL-2.0
/*
 * xenlite event channels: the port table, binding and unbinding of
 * unbound, interdomain, VIRQ and IPI ports, handler dispatch, the upcall
 * handler, and the 2-level ABI (the fallback when FIFO is refused).
 *
 * Sources for the ABI rules cited below: Xen's public event_channel.h and
 * xen.h, xen/common/event_channel.c and event_2l.c (Xen 4.17), and Linux's
 * drivers/xen/events/ as the reference consumer.
 */
#include <xenlite/evtchn-ops.h>
#include <xenlite/hypercall.h>

/*
 * Lifecycle and lock order (docs/lifecycle.md has the long form).
 *
 * One lock, xl_ev.lock (Linux: irq_mapping_update_lock in
 * drivers/xen/events/events_base.c), taken with local event delivery
 * masked (xl_os_irq_save) because handlers may bind and close, and never
 * held across a wait for a handler:
 *   - held across every hypercall that makes Xen allocate or free a port
 *     number (the EVTCHNOP_bind_* / alloc_unbound, EVTCHNOP_close): Xen
 *     hands a closed number out again at once (get_free_port takes the
 *     lowest free port), so a close's hypercall and its local forget are
 *     one hold, and a bind's hypercall cannot get the number before it;
 *   - held across EVTCHNOP_bind_vcpu and the entry's cpu update;
 *   - held for a bind's install (a second hold, after the allocation it
 *     needs) and for the publication of a port-table chunk.
 * Handlers run under port_claim()/port_release() (a per-port run word,
 * not a lock); close and unbind_existing wait for a running handler
 * (port_quiesce) before they take the lock, so from upcall context they
 * take only the running handler's own port (-XEN_EDEADLK for any other).
 * The upcall itself takes xl_ev.lock in one place: the 2-level scan's
 * give-back of a bit taken from a port a close masked meanwhile
 * (l2_give_back), so that it cannot land after the close freed the port.
 * A handler's re-runs are charged to the upcall budget; past it the
 * claim is kept and the run owed to the next upcall (xl_cpu.owed_head),
 * which makes one run of each owed port before its scan
 * (run_owed_first), so a port storming in the scan cannot starve it.
 * fini runs alone (no other call of this API concurrently) and waits for
 * every vCPU's upcall to end (xl_cpu.depth) before it frees anything.
 *
 * Lock order: xl_ev.lock and fifo.expand_lock are never held together
 * (fifo_setup runs before the install takes xl_ev.lock); should they
 * nest, xl_ev.lock first.  No lock is held while waiting for a handler.
 * fifo.expand_lock is taken in thread context only, so never in upcall
 * context: a bind from a handler that needs memory is refused
 * (-XEN_EWOULDBLOCK; fifo_setup, port_entry).
 */

/* --- the port table ------------------------------------------------------ */

/*
 * One entry per port, in chunks allocated on first bind, so 131,071 ports
 * cost memory only when they are used.  fn and data are read by the upcall
 * on any vCPU while bind/close write them: they go through xl_read_ulong /
 * xl_write_ulong, and bind publishes them before the port is unmasked
 * (the unmask is a fully ordered atomic, or a hypercall).
 */
struct xl_port {
	unsigned long fn; /* xl_evtchn_handler_t, 0 when free/closing */
	unsigned long data;
	uint32_t type; /* enum xl_port_type */
	uint32_t cpu;  /* notify vCPU */
	uint32_t run;  /* XL_RUN_* handler state */
	uint32_t virq;
	uint32_t share_runs; /* runs in the upcall share_tag names */
	uint32_t owed_next;  /* next port owed a run on the same vCPU, or 0 */
	uint32_t gen;	     /* bindings forgotten (port_forget), under lock */
	uint32_t prio;	     /* FIFO priority + 1 as set, 0 = Xen's default */
	uint32_t susp;	     /* XL_SUSP_*: noted by xl_evtchn_suspend() */
	uint64_t share_tag;  /* (upcall generation << 32) | vCPU */
	uint64_t count;	     /* handler runs */
};

#define XL_RUN_ACTIVE 1U /* a vCPU is running the handler */
#define XL_RUN_AGAIN 2U	 /* an event arrived meanwhile: run once more */

#define XL_SUSP_NOTED 1U   /* bound at xl_evtchn_suspend() */
#define XL_SUSP_PENDING 2U /* an event was owed to the handler */
#define XL_SUSP_MASKED 4U  /* masked */
#define XL_SUSP_LOST 8U	   /* resume: not bound again */

#define XL_PORT_CHUNK 512U
#define XL_PORT_CHUNKS (EVTCHN_FIFO_NR_CHANNELS / XL_PORT_CHUNK)

struct xl_cpu {
	uint32_t depth;	       /* upcall nesting on this vCPU */
	uint32_t rerun;	       /* a nested upcall asked for another pass */
	uint32_t running_port; /* port whose handler runs here, or 0 */
	/* Ports this vCPU owes a handler run (claim kept), oldest first. */
	uint32_t owed_head, owed_tail;
	struct xl_budget budget;
	struct xl_evtchn_stats stats;
};

static struct {
	const struct xl_evtchn_ops *ops;
	unsigned int nr_vcpus;
	xl_spinlock_t lock;		      /* see "Lock order" above */
	unsigned long chunks[XL_PORT_CHUNKS]; /* struct xl_port * */
	struct xl_cpu cpu[XL_MAX_VCPUS];
} xl_ev;

static void xl_stat_inc(uint64_t *s)
{
	/* Single writer (the owning vCPU); readers on other vCPUs. */
	xl_write64(s, xl_read64(s) + 1);
}

static struct xl_port *port_lookup(evtchn_port_t port)
{
	struct xl_port *chunk;

	if (port >= EVTCHN_FIFO_NR_CHANNELS)
		return NULL;
	chunk = (struct xl_port *)xl_read_ulong(
		&xl_ev.chunks[port / XL_PORT_CHUNK]);
	return chunk ? &chunk[port % XL_PORT_CHUNK] : NULL;
}

/* xl_ev.lock with local delivery masked: a handler may bind or close. */
static unsigned long ev_lock(void) XL_ACQUIRES(&xl_ev.lock)
{
	return xl_spin_lock_irqsave(&xl_ev.lock);
}

static void ev_unlock(unsigned long flags) XL_RELEASES(&xl_ev.lock)
{
	xl_spin_unlock_irqrestore(&xl_ev.lock, flags);
}

/*
 * This vCPU is inside xl_evtchn_upcall() (a handler, or a callback run
 * from one): event delivery is masked, and the code the upcall
 * interrupted may hold a lock of ours that it took with delivery enabled.
 */
static bool in_upcall(void)
{
	return xl_read32(&xl_ev.cpu[xl_os_vcpu_id()].depth) != 0;
}

/*
 * Make sure port has a table entry; allocation happens outside the lock,
 * and never in upcall context (os.h: the allocator may sleep), where a
 * port without a chunk yet is -XEN_EWOULDBLOCK.
 */
static struct xl_port *port_entry(evtchn_port_t port, int *rc)
{
	struct xl_port *p = port_lookup(port), *chunk;
	unsigned long *slot, flags;

	*rc = -XEN_ENOMEM;
	if (p || port >= EVTCHN_FIFO_NR_CHANNELS)
		return p;
	if (in_upcall()) {
		*rc = -XEN_EWOULDBLOCK;
		return NULL;
	}
	chunk = xl_os_zalloc(XL_PORT_CHUNK * sizeof(*chunk));
	if (!chunk)
		return NULL;
	slot = &xl_ev.chunks[port / XL_PORT_CHUNK];
	flags = ev_lock();
	if (!xl_read_ulong(slot)) {
		xl_write_ulong(slot, (unsigned long)chunk);
		chunk = NULL;
	}
	ev_unlock(flags);
	if (chunk)
		xl_os_free(chunk);
	return port_lookup(port);
}

/* --- upcall and dispatch ------------------------------------------------- */

void xl_evtchn_note_stray(evtchn_port_t port, unsigned int cpu)
{
	xl_stat_inc(&xl_ev.cpu[cpu].stats.stray);
	xl_trace(XL_TRACE_EVENT_STRAY, port, cpu, 0);
}

void xl_evtchn_note_masked(unsigned int cpu)
{
	xl_stat_inc(&xl_ev.cpu[cpu].stats.masked_seen);
}

unsigned int xl_evtchn_port_cpu_raw(evtchn_port_t port)
{
	struct xl_port *p = port_lookup(port);

	if (!p || xl_read32(&p->type) == XL_PORT_FREE)
		return XL_MAX_VCPUS;
	return xl_read32(&p->cpu);
}

/*
 * Claim the handler: returns true when this vCPU must run it, false when
 * another vCPU runs it and was told to run it once more.  Edge semantics:
 * the event is never dropped, and the handler never runs concurrently
 * with itself (possible after a rebind moved the port between vCPUs).
 */
static bool port_claim(struct xl_port *p)
{
	/*
	 * The first exchange guesses the usual case, idle to running, so no
	 * read comes before it; a wrong guess returns the word, as a read
	 * would, and the next exchange is computed from that.
	 */
	uint32_t old = 0, want = XL_RUN_ACTIVE, seen;

	for (;;) {
		seen = xl_cmpxchg32(&p->run, old, want);
		if (seen == old)
			return !(old & XL_RUN_ACTIVE);
		old = seen;
		want = (old & XL_RUN_ACTIVE) ? old | XL_RUN_AGAIN :
					       XL_RUN_ACTIVE;
	}
}

/* Release the handler; returns true if it must run again. */
static bool port_release(struct xl_port *p)
{
	/* Guesses a lone run, running to idle, as port_claim guesses. */
	uint32_t old = XL_RUN_ACTIVE, want = 0, seen;

	for (;;) {
		seen = xl_cmpxchg32(&p->run, old, want);
		if (seen == old)
			return old & XL_RUN_AGAIN;
		old = seen;
		want = (old & XL_RUN_AGAIN) ? XL_RUN_ACTIVE : 0;
	}
}

/* --- the upcall budget --------------------------------------------------- */

static void budget_reset(struct xl_budget *b)
{
	b->steps = XL_UPCALL_BUDGET;
	b->over = 0;
	b->gen++;
}

struct xl_budget *xl_evtchn_budget(unsigned int cpu)
{
	return &xl_ev.cpu[cpu].budget;
}

/*
 * One more handler run of port in this upcall.  A port past its share
 * ends the upcall (re-raised, so nothing is lost): one port that a peer
 * keeps pending cannot hold the vCPU for the whole budget.  (Linux,
 * drivers/xen/events/events_base.c handle_irq_for_port(), watches the
 * loop's time instead and past a timeout defers the EOI of lateeoi ports,
 * which keeps them masked until a worker unmasks them; the XSA-332 and
 * XSA-391 fixes.)  Other ports
 * on the same queue are not starved meanwhile either way: Xen links a
 * re-sent port behind them (FIFO), and the 2-level scan moves on after
 * each port.
 *
 * The count lives in the port's entry, tagged with this vCPU and its
 * upcall generation, so charging is O(1) whatever the number of ports.
 * Called only after port_claim() succeeded: the claimer is the only
 * writer until port_release(), whose fully ordered exchange publishes the
 * count to the next claimer (plain accesses suffice).
 */
static void budget_charge(struct xl_budget *b, struct xl_port *p,
			  unsigned int cpu)
{
	uint64_t tag = (uint64_t)b->gen << 32 | cpu;

	if (p->share_tag != tag) {
		p->share_tag = tag;
		p->share_runs = 0;
	}
	if (++p->share_runs >= XL_UPCALL_PORT_SHARE) {
		/* Both: over stops port_run and the upcall, no steps left
		 * stops the scan (xl_budget_step tests only steps). */
		b->over = 1;
		b->steps = 0;
	}
}

/*
 * A run owed past the budget: the claim is kept (XL_RUN_ACTIVE), so an
 * event on another vCPU only sets XL_RUN_AGAIN as before, and the port
 * goes on this vCPU's owed list, run by its next upcall (run_owed_first,
 * then run_owed).  The list is threaded through the entries; only this
 * vCPU touches it, with delivery masked, and a port is on one list at
 * most (its claimer's).
 */
static void owe_run(struct xl_cpu *c, struct xl_port *p, evtchn_port_t port)
{
	p->owed_next = 0;
	if (c->owed_tail)
		port_lookup(c->owed_tail)->owed_next = port;
	else
		c->owed_head = port;
	c->owed_tail = port;
}

/*
 * Run p's handler, claimed by this vCPU, until no run is asked for, each
 * run charged to the upcall's budget: a re-run for XL_RUN_AGAIN (an event
 * taken by another vCPU meanwhile, e.g. after a bind_vcpu moved the port
 * while a peer keeps sending) costs what a run from the queue costs, or
 * the old vCPU could re-run for ever inside one upcall.  Out of budget
 * with a run asked for, that run is owed (owe_run), not dropped; so is
 * every run after the first when once is set (run_owed_first).
 */
static void port_run(struct xl_cpu *c, struct xl_port *p, evtchn_port_t port,
		     unsigned int cpu, bool once)
{
	uint32_t prev = xl_read32(&c->running_port);
	xl_evtchn_handler_t fn;

	xl_write32(&c->running_port, port);
	for (;;) {
		budget_charge(&c->budget, p, cpu);
		fn = (xl_evtchn_handler_t)xl_read_ulong(&p->fn);
		if (fn) { /* else closed while we ran: drain AGAIN */
			fn(port, (void *)xl_read_ulong(&p->data));
			xl_stat_inc(&c->stats.events);
			xl_write64(&p->count, xl_read64(&p->count) + 1);
			xl_trace(XL_TRACE_EVENT_HANDLED, port, cpu, 0);
		}
		if (!port_release(p))
			break;
		if (c->budget.over || once) {
			owe_run(c, p, port);
			break;
		}
	}
	xl_write32(&c->running_port, prev);
}

/* Dispatch port, whose entry p (NULL: none) the caller looked up. */
static inline void dispatch_entry(struct xl_port *p, evtchn_port_t port,
				  unsigned int cpu)
{
	if (!p || !xl_read_ulong(&p->fn)) {
		xl_evtchn_note_stray(port, cpu);
		return;
	}
	if (port_claim(p))
		port_run(&xl_ev.cpu[cpu], p, port, cpu, false);
}

void xl_evtchn_dispatch(evtchn_port_t port, unsigned int cpu)
{
	dispatch_entry(port_lookup(port), port, cpu);
}

/*
 * First thing in an upcall: one run of each port owed from earlier
 * upcalls, oldest first.  The runs owed were made only after the scan,
 * and only while the budget lasted: a peer re-sending another port on
 * every run of its handler had the scan use up that port's share in every
 * upcall, so the owed run never came (its claim kept, the port's events
 * on other vCPUs only asked us again).  One run each, each taking a queue
 * step, at most XL_UPCALL_OWED_FIRST ports: it cannot use up a port's
 * share (one run) nor the budget (a quarter of it), so the scan that
 * follows still reaches the queues, a timer's among them, in this upcall.
 * A port that asks for more goes back on the list (port_run with once)
 * for run_owed after the scan, or the next upcall; ports not reached keep
 * their place at its head.
 */
static unsigned int run_owed_first(struct xl_cpu *c, unsigned int cpu)
{
	evtchn_port_t port = c->owed_head, tail = c->owed_tail, next;
	unsigned int n = 0;
	struct xl_port *p;

	c->owed_head = c->owed_tail = 0;
	for (; port; port = next) {
		p = port_lookup(port);
		if (n == XL_UPCALL_OWED_FIRST || !xl_budget_step(&c->budget)) {
			/* The rest, in order, ahead of the ones just run. */
			port_lookup(tail)->owed_next = c->owed_head;
			if (!c->owed_head)
				c->owed_tail = tail;
			c->owed_head = port;
			break;
		}
		next = p->owed_next;
		port_run(c, p, port, cpu, true);
		n++;
	}
	return n;
}

/*
 * More of the runs owed, after this upcall's scan (so the ports on the
 * queues, a timer's among them, are served first), while the budget
 * lasts; one that runs out of budget again goes to the tail.
 */
static unsigned int run_owed(struct xl_cpu *c, unsigned int cpu)
{
	unsigned int n = 0;
	evtchn_port_t port;
	struct xl_port *p;

	while (!c->budget.over && (port = c->owed_head)) {
		p = port_lookup(port);
		c->owed_head = p->owed_next;
		if (!c->owed_head)
			c->owed_tail = 0;
		port_run(c, p, port, cpu, false);
		n++;
	}
	return n;
}

/*
 * Out of budget with work left: the ABI put back what it took and did not
 * scan; leave evtchn_upcall_pending set (the next upcall's scan, and a
 * SCHEDOP_block that must not sleep on deferred work, look at it) and
 * have the host run the upcall again once this one returned, since Xen
 * raises the upcall again only on a 0 -> 1 edge of evtchn_upcall_pending
 * (vcpu_mark_events_pending).  xl_xchg8 is fully ordered: the READY or
 * selector bits put back are visible before the flag.
 */
static void upcall_defer(struct xl_cpu *c, struct vcpu_info *vi)
{
	xl_xchg8(&vi->evtchn_upcall_pending, 1);
	xl_stat_inc(&c->stats.deferred);
	xl_os_upcall_reraise();
}

/*
 * The upcall: Xen set vcpu_info->evtchn_upcall_pending and the host took
 * the callback (IDT vector, PCI interrupt, PV callback, or hv's signal).
 *
 * Rules (xen.h, struct vcpu_info comment): the guest clears
 * evtchn_upcall_pending before scanning, and rescans while Xen set it
 * again.  The clear must be ordered before the scan's reads, or an event
 * Xen marks between our scan and our clear is lost: xl_xchg8 is a full
 * barrier (a locked xchg on x86), like the xchg Linux's consumers start
 * with.  Re-entry (a handler that unmasks delivery, or a spurious nested
 * callback) only asks the running instance for another pass.
 *
 * Bounded (evtchn.h, XL_UPCALL_BUDGET): with delivery masked nothing else
 * runs on this vCPU, and one pass can take longer than the gap to the
 * next event (a peer that re-sends on every handler run; a tick whose
 * handler is slower than its period under nested emulation), so "rescan
 * while pending" alone may never end.
 */
void xl_evtchn_upcall(void)
{
	unsigned int cpu = xl_os_vcpu_id(), handled = 0, passes = 0;
	struct vcpu_info *vi = xl_os_vcpu_info(cpu);
	struct xl_cpu *c = &xl_ev.cpu[cpu];
	unsigned long flags = xl_os_irq_save();
	const struct xl_evtchn_ops *ops;
	bool more;

	xl_stat_inc(&c->stats.upcalls);
	if (xl_read32(&c->depth)) {
		xl_write32(&c->rerun, 1);
		xl_stat_inc(&c->stats.nested);
		goto out;
	}
	/*
	 * Announce the upcall, then read ops: the exchange is a full barrier
	 * pairing with fini's exchange of ops before it reads every depth
	 * (store-buffer pattern).  Either fini sees depth 1 and waits for
	 * us, or we see ops NULL and touch nothing fini frees.
	 */
	xl_xchg32(&c->depth, 1);
	ops = (const struct xl_evtchn_ops *)xl_load_acquire_ulong(&xl_ev.ops);
	if (!ops) {
		/*
		 * Nothing of ours is set up (before init, after fini): drop
		 * the flag, then read ops again.  Init may have published
		 * ops, a port been bound and its event raised between our
		 * read and our clear: Xen found the flag set and raised
		 * nothing (vcpu_mark_events_pending acts on its 0 -> 1
		 * edge), so returning now would leave that event queued
		 * until an unrelated upcall, for ever where the callback
		 * is level-style with no re-raise (INTx).  The exchange is
		 * fully ordered: an event raised before our clear was bound
		 * after ops was published, so the read below sees ops; one
		 * raised after it sets the flag again and raises an upcall.
		 */
		xl_xchg8(&vi->evtchn_upcall_pending, 0);
		ops = (const struct xl_evtchn_ops *)xl_load_acquire_ulong(
			&xl_ev.ops);
		if (!ops) {
			xl_xchg32(&c->depth, 0);
			goto out;
		}
	}
	xl_trace(XL_TRACE_UPCALL_ENTER, 0, cpu, 0);
	budget_reset(&c->budget);
	handled += run_owed_first(c, cpu);
	for (;;) {
		xl_write32(&c->rerun, 0);
		xl_xchg8(&vi->evtchn_upcall_pending, 0);
		xl_stat_inc(&c->stats.upcall_loops);
		handled += ops->handle_events(cpu);
		handled += run_owed(c, cpu);
		/* Read evtchn_upcall_pending only after the scan (Linux's
		 * virt_rmb() in __xen_evtchn_do_upcall). */
		xl_rmb();
		more = xl_read8(&vi->evtchn_upcall_pending) ||
		       xl_read32(&c->rerun);
		/* Runs still owed (c->owed_head) only with the budget over. */
		if (c->budget.over || (more && ++passes >= XL_UPCALL_PASSES)) {
			upcall_defer(c, vi);
			break;
		}
		if (!more)
			break;
	}
	if (!handled)
		xl_stat_inc(&c->stats.spurious);
	xl_trace(XL_TRACE_UPCALL_EXIT, 0, cpu, handled);
	/* Last: once fini reads 0 here it may free what we used. */
	xl_xchg32(&c->depth, 0);
out:
	xl_os_irq_restore(flags);
}

/* --- binding ------------------------------------------------------------- */

/*
 * Install a port Xen gave us: allocation first with no lock held (the
 * FIFO event array, the table chunk: a host may sleep there), then the
 * entry under xl_ev.lock, then the unmask.  The lock need not be held
 * from the bind hypercall to here: a close frees a number in Xen and
 * forgets it locally under one hold of the lock, so by the time Xen could
 * hand the number to our bind, nobody else has business with its entry.
 */
static int port_install(evtchn_port_t port, enum xl_port_type type,
			unsigned int cpu, uint32_t virq, xl_evtchn_handler_t fn,
			void *data)
{
	unsigned long flags;
	struct xl_port *p;
	int rc;

	/* From upcall context only a bind that needs no memory: see
	 * fifo_setup() and port_entry(). */
	rc = xl_ev.ops->setup(port, !in_upcall());
	if (rc)
		return rc;
	p = port_entry(port, &rc);
	if (!p)
		return rc;
	flags = ev_lock();
	if (xl_read32(&p->type) != XL_PORT_FREE) {
		/* bind_existing of a port bound meanwhile. */
		ev_unlock(flags);
		return -XEN_EBUSY;
	}
	xl_write32(&p->cpu, cpu);
	xl_write32(&p->virq, virq);
	xl_write32(&p->prio, 0);
	xl_write32(&p->susp, 0);
	xl_write64(&p->count, 0);
	xl_write_ulong(&p->data, (unsigned long)data);
	xl_write_ulong(&p->fn, (unsigned long)fn);
	xl_write32(&p->type, type);
	xl_ev.ops->bind_to_cpu(port, cpu, XL_MAX_VCPUS);
	ev_unlock(flags);
	/* Fully ordered: fn/data are visible before any dispatch. */
	return xl_ev.ops->unmask(port);
}

/*
 * A bind hypercall under xl_ev.lock (see the top of this file): a close
 * that freed the number Xen gives us has finished its local forget.
 */
static int bind_hypercall(unsigned int cmd, void *op)
{
	unsigned long flags = ev_lock();
	int rc = xl_hc_event_channel_op(cmd, op);

	ev_unlock(flags);
	return rc;
}

/* Undo a bind in Xen when the guest side could not take the port. */
static void bind_undo(evtchn_port_t port)
{
	struct evtchn_close cl = { .port = port };

	bind_hypercall(EVTCHNOP_close, &cl);
}

static int bind_finish(int rc, evtchn_port_t port, enum xl_port_type type,
		       unsigned int cpu, uint32_t virq, xl_evtchn_handler_t fn,
		       void *data, evtchn_port_t *out)
{
	if (rc)
		return rc;
	rc = port_install(port, type, cpu, virq, fn, data);
	if (rc) {
		if (rc != -XEN_EWOULDBLOCK)
			xl_err("evtchn: port %u bound but not set up: %d\n",
			       port, rc);
		bind_undo(port);
		return rc;
	}
	*out = port;
	return 0;
}

static bool ready(void)
{
	/* Acquire: pairs with init's release of ops (the ABI's state). */
	return xl_load_acquire_ulong(&xl_ev.ops) != 0;
}

int xl_evtchn_alloc_unbound(domid_t remote, xl_evtchn_handler_t fn, void *data,
			    evtchn_port_t *port)
{
	struct evtchn_alloc_unbound op = { .dom = DOMID_SELF,
					   .remote_dom = remote };
	int rc;

	if (!ready())
		return -XEN_ENODEV;
	rc = bind_hypercall(EVTCHNOP_alloc_unbound, &op);
	/* Unbound ports notify vCPU 0 (event_channel.c alloc_unbound). */
	return bind_finish(rc, op.port, XL_PORT_UNBOUND, 0, 0, fn, data, port);
}

int xl_evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port,
			       xl_evtchn_handler_t fn, void *data,
			       evtchn_port_t *port)
{
	struct evtchn_bind_interdomain op = { .remote_dom = remote,
					      .remote_port = remote_port };
	int rc;

	if (!ready())
		return -XEN_ENODEV;
	/*
	 * Xen marks the new local port pending (event_channel.c,
	 * evtchn_bind_interdomain) so neither side misses a notification
	 * sent before the bind; port_install() unmasks only after the
	 * handler is in place, so that event is delivered.
	 */
	rc = bind_hypercall(EVTCHNOP_bind_interdomain, &op);
	return bind_finish(rc, op.local_port, XL_PORT_INTERDOMAIN, 0, 0, fn,
			   data, port);
}

int xl_evtchn_bind_virq(uint32_t virq, unsigned int cpu, xl_evtchn_handler_t fn,
			void *data, evtchn_port_t *port)
{
	struct evtchn_bind_virq op = { .virq = virq, .vcpu = cpu };
	int rc;

	if (!ready())
		return -XEN_ENODEV;
	rc = bind_hypercall(EVTCHNOP_bind_virq, &op);
	return bind_finish(rc, op.port, XL_PORT_VIRQ, cpu, virq, fn, data,
			   port);
}

int xl_evtchn_bind_ipi(unsigned int cpu, xl_evtchn_handler_t fn, void *data,
		       evtchn_port_t *port)
{
	struct evtchn_bind_ipi op = { .vcpu = cpu };
	int rc;

	if (!ready())
		return -XEN_ENODEV;
	rc = bind_hypercall(EVTCHNOP_bind_ipi, &op);
	return bind_finish(rc, op.port, XL_PORT_IPI, cpu, 0, fn, data, port);
}

static struct xl_port *bound_port(evtchn_port_t port)
{
	struct xl_port *p = ready() ? port_lookup(port) : NULL;

	if (!p || xl_read32(&p->type) == XL_PORT_FREE)
		return NULL;
	return p;
}

/* Wait until no vCPU runs p's handler, unless we are that handler. */
static void port_quiesce(struct xl_port *p, evtchn_port_t port)
{
	unsigned int cpu = xl_os_vcpu_id();

	if (xl_read32(&xl_ev.cpu[cpu].running_port) == port)
		return;
	while (xl_read32(&p->run))
		xl_cpu_relax();
}

/*
 * In upcall context (a handler, or a callback run from one) a close may
 * take only the running handler's own port, which needs no wait.  Any
 * other port's close would wait for that port's handler (port_quiesce),
 * which may be waiting for ours (two handlers closing each other's
 * port), or be a run this vCPU owes and makes only in a later upcall;
 * and returning without the wait would let the caller free what the
 * handler still uses.  So it is refused, nothing changed: the caller
 * closes from thread context.  Linux has the same rule: unbind goes
 * through free_irq(), which waits for running handlers
 * (synchronize_irq) and must not be called from interrupt context
 * (drivers/xen/events/events_base.c unbind_from_irqhandler).
 */
static bool close_must_wait_here(evtchn_port_t port)
{
	const struct xl_cpu *c = &xl_ev.cpu[xl_os_vcpu_id()];

	return in_upcall() && xl_read32(&c->running_port) != port;
}

/*
 * The first local half of a close, with no lock held: masked (so no new
 * dispatch starts), handler cleared (a dispatch that got past the mask
 * re-reads fn once it has claimed the port and finds none), then a
 * running handler waited out.  Returns the old fn for a failed close.
 */
static unsigned long port_stop(struct xl_port *p, evtchn_port_t port,
			       bool *was_masked)
{
	unsigned long fn;

	*was_masked = xl_ev.ops->mask(port);
	fn = xl_xchg_ulong(&p->fn, 0);
	port_quiesce(p, port);
	return fn;
}

/* The second local half, under xl_ev.lock: the entry is free. */
static void port_forget(struct xl_port *p, evtchn_port_t port)
{
	xl_ev.ops->bind_to_cpu(port, XL_MAX_VCPUS, xl_read32(&p->cpu));
	xl_write32(&p->type, XL_PORT_FREE);
	xl_write_ulong(&p->data, 0);
	/* After EVTCHNOP_close, in the same hold: l2_give_back. */
	xl_write32(&p->gen, xl_read32(&p->gen) + 1);
}

int xl_evtchn_close(evtchn_port_t port)
{
	struct evtchn_close op = { .port = port };
	struct xl_port *p = bound_port(port);
	unsigned long fn, flags;
	bool masked;
	int rc;

	if (!p)
		return -XEN_EINVAL;
	if (close_must_wait_here(port))
		return -XEN_EDEADLK;
	/*
	 * Masked first, so no new dispatch starts.  The word may still be
	 * LINKED in a FIFO queue: Xen does not hand the port out again until
	 * the consumer unlinks it (Xen commit 78e24c269b, evtchn_is_busy),
	 * and the consumer skips it because it is masked or not pending
	 * (Xen clears PENDING when it frees the port, evtchn_free()).
	 */
	fn = port_stop(p, port, &masked);
	flags = ev_lock();
	rc = xl_hc_event_channel_op(EVTCHNOP_close, &op);
	if (!rc)
		port_forget(p, port);
	ev_unlock(flags);
	if (rc) {
		xl_write_ulong(&p->fn, fn);
		if (!masked)
			xl_ev.ops->unmask(port);
	}
	return rc;
}

/* EVTCHNSTAT_* to the port-table type bind_existing records. */
static enum xl_port_type status_type(uint32_t status)
{
	switch (status) {
	case EVTCHNSTAT_unbound:
		return XL_PORT_UNBOUND;
	case EVTCHNSTAT_interdomain:
		return XL_PORT_INTERDOMAIN;
	case EVTCHNSTAT_virq:
		return XL_PORT_VIRQ;
	case EVTCHNSTAT_ipi:
		return XL_PORT_IPI;
	default:
		return XL_PORT_FREE;
	}
}

/*
 * A port the toolstack bound before we ran (HVM_PARAM_STORE_EVTCHN, the
 * console's): Linux's bind_evtchn_to_irqhandler() on a known port.  Its
 * notify vCPU is whatever Xen has: 0 for a port nobody moved, but an
 * earlier owner (or an earlier bind_existing and bind_vcpu) may have moved
 * it, and Xen keeps that until the port is closed (evtchn_bind_vcpu,
 * evtchn_free).  EVTCHNOP_status tells us (evtchn_status: "status->vcpu =
 * chn->notify_vcpu_id"); 2-level scans a port only on the vCPU recorded
 * here, and FIFO's consumer must never see a port it thinks is elsewhere.
 */
int xl_evtchn_bind_existing(evtchn_port_t port, xl_evtchn_handler_t fn,
			    void *data)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = port };
	enum xl_port_type type;
	struct xl_port *p;
	int rc;

	if (!ready())
		return -XEN_ENODEV;
	if (!port || port >= xl_ev.ops->max_channels())
		return -XEN_EINVAL;
	p = port_lookup(port);
	if (p && xl_read32(&p->type) != XL_PORT_FREE)
		return -XEN_EBUSY;
	rc = xl_hc_event_channel_op(EVTCHNOP_status, &st);
	if (rc)
		return rc;
	type = status_type(st.status);
	if (type == XL_PORT_FREE)
		return -XEN_EINVAL;
	if (st.vcpu >= xl_ev.nr_vcpus) {
		/* A vCPU the core does not serve: move it to 0 in Xen. */
		struct evtchn_bind_vcpu bv = { .port = port, .vcpu = 0 };

		rc = bind_hypercall(EVTCHNOP_bind_vcpu, &bv);
		if (rc)
			return rc;
		st.vcpu = 0;
	}
	return port_install(port, type, st.vcpu,
			    type == XL_PORT_VIRQ ? st.u.virq : 0, fn, data);
}

/* Undo xl_evtchn_bind_existing(): masked, handler gone, open in Xen. */
int xl_evtchn_unbind_existing(evtchn_port_t port)
{
	struct xl_port *p = bound_port(port);
	unsigned long flags;
	bool masked;

	if (!p)
		return -XEN_EINVAL;
	if (close_must_wait_here(port))
		return -XEN_EDEADLK;
	port_stop(p, port, &masked);
	flags = ev_lock();
	port_forget(p, port);
	ev_unlock(flags);
	return 0;
}

int xl_evtchn_send(evtchn_port_t port)
{
	struct evtchn_send op = { .port = port };

	xl_trace(XL_TRACE_EVENT_SENT, port, 0, 0);
	return xl_hc_event_channel_op(EVTCHNOP_send, &op);
}

void xl_evtchn_mask(evtchn_port_t port)
{
	if (bound_port(port))
		xl_ev.ops->mask(port);
}

int xl_evtchn_unmask(evtchn_port_t port)
{
	if (!bound_port(port))
		return -XEN_EINVAL;
	return xl_ev.ops->unmask(port);
}

bool xl_evtchn_is_pending(evtchn_port_t port)
{
	return bound_port(port) && xl_ev.ops->is_pending(port);
}

bool xl_evtchn_is_masked(evtchn_port_t port)
{
	return bound_port(port) && xl_ev.ops->is_masked(port);
}

void xl_evtchn_clear_pending(evtchn_port_t port)
{
	if (bound_port(port))
		xl_ev.ops->clear_pending(port);
}

int xl_evtchn_set_priority(evtchn_port_t port, unsigned int priority)
{
	struct evtchn_set_priority op = { .port = port, .priority = priority };
	struct xl_port *p;
	int rc;

	if (!ready())
		return -XEN_ENODEV;
	/* Xen checks the priority and answers -ENOSYS on 2-level. */
	rc = xl_hc_event_channel_op(EVTCHNOP_set_priority, &op);
	/* Kept for a resume, which sets it again (a new domain's ports
	 * start at EVTCHN_FIFO_PRIORITY_DEFAULT, event_fifo.c). */
	p = bound_port(port);
	if (!rc && p)
		xl_write32(&p->prio, priority + 1);
	return rc;
}

/*
 * Move a port to another vCPU.  Masked around the move and unmasked after
 * it (if it was unmasked), so an event pending across the move is raised
 * again on the new vCPU: 2-level unmask goes through Xen, which sets the
 * selector bit of the new notify vCPU (event_2l.c, evtchn_2l_unmask); FIFO
 * unmask relinks a pending event onto the new vCPU's queue
 * (event_fifo.c, evtchn_fifo_unmask), and an event still linked on the
 * old vCPU's queue is handled there by the vCPU that unlinks it (as
 * Linux's consume_one_event; port_claim keeps the handler from running on
 * both vCPUs at once).  The mask is one test-and-set, so "was it masked"
 * and "mask it" cannot be split by another vCPU's mask or unmask.
 */
int xl_evtchn_bind_vcpu(evtchn_port_t port, unsigned int cpu)
{
	struct evtchn_bind_vcpu op = { .port = port, .vcpu = cpu };
	struct xl_port *p = bound_port(port);
	unsigned long flags;
	unsigned int old;
	bool masked;
	int rc;

	if (!p)
		return -XEN_EINVAL;
	masked = xl_ev.ops->mask(port);
	/* Under the lock: two rebinds leave cpu as Xen has it. */
	flags = ev_lock();
	rc = xl_hc_event_channel_op(EVTCHNOP_bind_vcpu, &op);
	if (!rc) {
		old = xl_read32(&p->cpu);
		xl_write32(&p->cpu, cpu);
		xl_ev.ops->bind_to_cpu(port, cpu, old);
	}
	ev_unlock(flags);
	if (!masked)
		xl_ev.ops->unmask(port);
	return rc;
}

enum xl_port_type xl_evtchn_port_type(evtchn_port_t port)
{
	struct xl_port *p = bound_port(port);

	return p ? (enum xl_port_type)xl_read32(&p->type) : XL_PORT_FREE;
}

bool xl_evtchn_port_is(evtchn_port_t port, xl_evtchn_handler_t fn, void *data)
{
	struct xl_port *p = bound_port(port);

	return p && xl_read_ulong(&p->fn) == (unsigned long)fn &&
	       xl_read_ulong(&p->data) == (unsigned long)data;
}

bool xl_evtchn_port_owner(evtchn_port_t port, xl_evtchn_handler_t *fn,
			  void **data)
{
	struct xl_port *p = bound_port(port);

	*fn = p ? (xl_evtchn_handler_t)xl_read_ulong(&p->fn) : NULL;
	*data = p ? (void *)xl_read_ulong(&p->data) : NULL;
	return p && *fn;
}

unsigned int xl_evtchn_port_cpu(evtchn_port_t port)
{
	return xl_evtchn_port_cpu_raw(port);
}

uint64_t xl_evtchn_port_count(evtchn_port_t port)
{
	struct xl_port *p = port_lookup(port);

	return p ? xl_read64(&p->count) : 0;
}

void xl_evtchn_get_stats(unsigned int cpu, struct xl_evtchn_stats *st)
{
	const struct xl_evtchn_stats *s = &xl_ev.cpu[cpu].stats;

	st->upcalls = xl_read64(&s->upcalls);
	st->upcall_loops = xl_read64(&s->upcall_loops);
	st->nested = xl_read64(&s->nested);
	st->spurious = xl_read64(&s->spurious);
	st->events = xl_read64(&s->events);
	st->stray = xl_read64(&s->stray);
	st->masked_seen = xl_read64(&s->masked_seen);
	st->deferred = xl_read64(&s->deferred);
}

/* --- bring-up and teardown ------------------------------------------------ */

enum xl_evtchn_abi xl_evtchn_abi(void)
{
	return xl_ev.ops ? xl_ev.ops->abi : XL_EVTCHN_ABI_NONE;
}

const char *xl_evtchn_abi_name(void)
{
	return xl_ev.ops ? xl_ev.ops->name : "none";
}

unsigned int xl_evtchn_max_ports(void)
{
	return xl_ev.ops ? xl_ev.ops->max_channels() : 0;
}

/*
 * Another vCPU's upcall bumps its counters (xl_stat_inc, before it looks
 * at ops, so also while init runs) and xl_evtchn_get_stats reads them
 * anywhere: zeroed a word at a time with xl_write64, never a plain store
 * (docs/os-contract.md; a plain struct store here was a race in the weak
 * TSan build, hv-tests 2l/spurious).
 */
static void stats_zero(struct xl_evtchn_stats *s)
{
	uint64_t *w = (uint64_t *)s;
	unsigned int i;

	for (i = 0; i < sizeof(*s) / sizeof(*w); i++)
		xl_write64(&w[i], 0);
}

static void reset_state(void)
{
	unsigned int i;
	unsigned long chunk;

	for (i = 0; i < XL_PORT_CHUNKS; i++) {
		chunk = xl_read_ulong(&xl_ev.chunks[i]);
		if (chunk)
			xl_os_free((void *)chunk);
		xl_write_ulong(&xl_ev.chunks[i], 0);
	}
	for (i = 0; i < XL_MAX_VCPUS; i++) {
		struct xl_cpu *c = &xl_ev.cpu[i];

		/* depth is left alone: fini saw it 0 on every vCPU, and a
		 * late upcall (ops NULL) sets and clears it itself. */
		xl_write32(&c->rerun, 0);
		xl_write32(&c->running_port, 0);
		c->owed_head = c->owed_tail = 0;
		budget_reset(&c->budget);
		stats_zero(&c->stats);
	}
}

/*
 * ops is published with a release store once the ABI's state (control
 * blocks, event array, masks) is set up; the upcall and ready() read it
 * with an acquire load, so they see that state.
 */
int xl_evtchn_init(const struct xl_evtchn_config *cfg)
{
	unsigned int n = cfg && cfg->nr_vcpus ? cfg->nr_vcpus :
						xl_os_nr_vcpus();
	int rc = -XEN_ENOSYS;

	if (xl_ev.ops)
		return -XEN_EEXIST;
	if (n > XL_MAX_VCPUS || n > xl_os_nr_vcpus())
		return -XEN_EINVAL;
	/* An earlier instance whose reset failed left Xen on FIFO. */
	rc = xl_evtchn_fifo_reclaim();
	if (rc)
		return rc;
	xl_spin_init(&xl_ev.lock, "xl_ev.lock");
	reset_state();
	xl_ev.nr_vcpus = n;
	if (!cfg || !cfg->force_2level) {
		rc = xl_evtchn_fifo_init(n);
		if (!rc) {
			xl_store_release_ulong(
				(unsigned long *)&xl_ev.ops,
				(unsigned long)&xl_evtchn_fifo_ops);
			xl_info("evtchn: using the FIFO ABI on %u vCPUs\n", n);
			return 0;
		}
		if (xl_evtchn_fifo_stuck())
			return rc;
		xl_info("evtchn: FIFO refused (%d), using 2-level\n", rc);
	}
	rc = xl_evtchn_2l_init(n);
	if (rc)
		return rc;
	xl_store_release_ulong((unsigned long *)&xl_ev.ops,
			       (unsigned long)&xl_evtchn_2l_ops);
	return 0;
}

/*
 * EVTCHNOP_reset closes every port of the domain (event_channel.c,
 * evtchn_reset -> evtchn_close), the toolstack's xenstore and console
 * ports too; Linux avoids it at run time and leaves it to the toolstack's
 * soft reset (SHUTDOWN_soft_reset at kexec).  We need it where there is
 * no other way back to 2-level (FIFO set up part-way, or left by an
 * earlier instance), so the ports somebody else bound are noted first
 * (EVTCHNOP_status) and bound again afterwards.  After the reset their
 * peers' ends are unbound for us (evtchn_close: "the remote end goes
 * back to unbound"), so EVTCHNOP_bind_interdomain reconnects them, and
 * Xen raises the new local port, so no notification is lost.  Xen hands
 * out the lowest free port, so the holes below a noted port are filled
 * with placeholder ports first to get the same number back, which the
 * toolstack's HVM_PARAM_STORE_EVTCHN and friends still name.
 */
static void l2_mask_all(void);

#define KEEP_MAX 32U
#define FILL_MAX 64U

struct kept_port {
	evtchn_port_t port, rport;
	uint32_t status;
	domid_t dom;
};

static unsigned int note_open_ports(struct kept_port *k)
{
	unsigned int n = 0;
	evtchn_port_t port;

	for (port = 1; port < EVTCHN_FIFO_NR_CHANNELS && n < KEEP_MAX; port++) {
		struct evtchn_status st = { .dom = DOMID_SELF, .port = port };
		int rc = xl_hc_event_channel_op(EVTCHNOP_status, &st);

		if (rc == -XEN_EINVAL)
			break; /* past the allocated ports (port_is_valid) */
		if (rc)
			continue; /* -EACCES: Xen's own, the reset keeps it */
		if (st.status == EVTCHNSTAT_interdomain)
			k[n++] = (struct kept_port){
				.port = port,
				.status = st.status,
				.dom = st.u.interdomain.dom,
				.rport = st.u.interdomain.port,
			};
		else if (st.status == EVTCHNSTAT_unbound)
			k[n++] = (struct kept_port){ .port = port,
						     .status = st.status,
						     .dom = st.u.unbound.dom };
	}
	return n;
}

static void close_raw(evtchn_port_t port)
{
	struct evtchn_close cl = { .port = port };

	xl_hc_event_channel_op(EVTCHNOP_close, &cl);
}

static void rebind_port(const struct kept_port *k)
{
	evtchn_port_t fill[FILL_MAX], got = 0;
	unsigned int nf = 0, i;
	int rc;

	while (nf < FILL_MAX) {
		struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
						   .remote_dom = DOMID_SELF };

		if (xl_hc_event_channel_op(EVTCHNOP_alloc_unbound, &au))
			break;
		if (au.port >= k->port) {
			close_raw(au.port);
			break;
		}
		fill[nf++] = au.port;
	}
	if (k->status == EVTCHNSTAT_interdomain) {
		struct evtchn_bind_interdomain bi = { .remote_dom = k->dom,
						      .remote_port = k->rport };

		rc = xl_hc_event_channel_op(EVTCHNOP_bind_interdomain, &bi);
		got = bi.local_port;
	} else {
		struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
						   .remote_dom = k->dom };

		rc = xl_hc_event_channel_op(EVTCHNOP_alloc_unbound, &au);
		got = au.port;
	}
	for (i = 0; i < nf; i++)
		close_raw(fill[i]);
	if (rc)
		xl_err("evtchn: reset closed port %u (dom %u port %u) and it "
		       "could not be bound again: %d\n",
		       k->port, k->dom, k->rport, rc);
	else if (got != k->port)
		xl_err("evtchn: port %u (dom %u) came back as port %u\n",
		       k->port, k->dom, got);
}

int xl_evtchn_reset_domain(void)
{
	struct evtchn_reset rs = { .dom = DOMID_SELF };
	struct kept_port k[KEEP_MAX];
	unsigned int n = note_open_ports(k), i;
	int rc;

	rc = xl_hc_event_channel_op(EVTCHNOP_reset, &rs);
	if (rc) {
		xl_err("evtchn: EVTCHNOP_reset failed: %d\n", rc);
		return rc;
	}
	/*
	 * The domain is on 2-level now, whatever it was.  Every port is
	 * masked before the re-binds, each of which raises its new port
	 * (evtchn_bind_interdomain): nothing of ours may be there to take
	 * that upcall (after fini, a host may free its upcall vector next).
	 * The event stays pending: a 2-level instance's bind_existing
	 * unmasks through Xen, and FIFO's EVTCHNOP_init_control carries
	 * the 2-level pending bits over (event_fifo.c, setup_ports).
	 */
	l2_mask_all();
	for (i = 0; i < n; i++)
		rebind_port(&k[i]);
	return 0;
}

/* Wait until no vCPU but the caller is inside xl_evtchn_upcall(). */
static void quiesce_upcalls(void)
{
	unsigned int i, self = xl_os_vcpu_id();

	/*
	 * Acquire: pairs with the upcall's closing exchange of depth, so
	 * the upcall's reads of what fini frees next (the control block,
	 * the port table, the budget) come before those frees.  A plain
	 * xl_read32 orders nothing (os.h); found by the weak TSan build.
	 */
	for (i = 0; i < XL_MAX_VCPUS; i++)
		while (i != self && xl_load_acquire32(&xl_ev.cpu[i].depth))
			xl_cpu_relax();
}

/*
 * Close every port we bound, then no upcall may run our code any more:
 * ops goes NULL (an upcall that starts now does nothing) and we wait for
 * those already running on other vCPUs (their handlers,
 * fifo_handle_events reading the control block).  Then EVTCHNOP_reset:
 * Xen closes what is left and, if the domain used FIFO, returns it to the
 * 2-level ABI and drops the control blocks and event array
 * (event_channel.c, evtchn_reset), and only then are the port table and
 * pages freed.  The reset goes through xl_evtchn_reset_domain(), which
 * binds the toolstack's ports (the xenstore and console ports, left open
 * by xl_evtchn_unbind_existing) again at the same numbers: a raw
 * EVTCHNOP_reset closed them, and the next instance found xenstore gone.
 * Their bind-time events stay pending for the next instance (its
 * bind_existing unmasks through Xen), since no upcall consumes them with
 * ops NULL.  If the reset failed, Xen keeps writing the control blocks
 * and event array: those pages are kept (leaked) until a later reset
 * succeeds (xl_evtchn_fifo_reclaim).  Must not run concurrently with any
 * other call of this API, nor inside a handler.
 */
void xl_evtchn_fini(void)
{
	const struct xl_evtchn_ops *ops = xl_ev.ops;
	evtchn_port_t port;
	int rc;

	if (!ops)
		return;
	for (port = 1; port < EVTCHN_FIFO_NR_CHANNELS; port++) {
		if (!(port % XL_PORT_CHUNK) &&
		    !xl_read_ulong(&xl_ev.chunks[port / XL_PORT_CHUNK])) {
			port += XL_PORT_CHUNK - 1;
			continue;
		}
		if (bound_port(port))
			xl_evtchn_close(port);
	}
	/* Full barrier, pairs with the upcall's exchange of its depth. */
	xl_xchg_ulong((unsigned long *)&xl_ev.ops, 0);
	quiesce_upcalls();
	rc = xl_evtchn_reset_domain();
	if (rc)
		xl_err("evtchn: the pages Xen may still write are kept\n");
	ops->fini(rc == 0);
	reset_state();
}

/* --- save / restore ---------------------------------------------------- */

/*
 * docs/save-restore.md has the whole order; Linux's is
 * drivers/xen/manage.c do_suspend() -> xen_suspend() under stop_machine(),
 * then drivers/xen/events/events_base.c xen_irq_resume().  Every entry
 * point here runs with the other vCPUs quiesced (delivery masked, outside
 * this API) and this vCPU in thread context, so no upcall and no other
 * call of this API runs meanwhile: the table is walked and rewritten
 * without racing a dispatch.
 */

/* Each port with a table entry bound in the core, in ascending order. */
#define for_each_bound(port, p)                                      \
	for ((port) = 1; (port) < EVTCHN_FIFO_NR_CHANNELS; (port)++) \
		if (!((p) = port_lookup(port)) ||                    \
		    xl_read32(&(p)->type) == XL_PORT_FREE)           \
			continue;                                    \
		else

/*
 * "Pending" across a restore: an event Xen marked and no handler has run
 * for yet.  That is Xen's PENDING (bit or word; the consumer takes it just
 * before it dispatches), or a run the upcall kept for later with the
 * port's claim (owe_run: with no upcall running, a claim held is such a
 * run).  Xen drops every event of the old domain (the PV toolstack
 * clears evtchn_pending, xg_sr_restore_x86_pv.c handle_shared_info; a
 * PVH guest's page is new; FIFO's words are ours and nobody links them
 * again), so the core notes them here and gives them back at resume.
 */
int xl_evtchn_suspend(void)
{
	struct xl_port *p;
	evtchn_port_t port;
	uint32_t s;

	if (!ready())
		return -XEN_ENODEV;
	if (in_upcall())
		return -XEN_EDEADLK;
	for_each_bound(port, p)
	{
		s = XL_SUSP_NOTED;
		if (xl_ev.ops->is_pending(port) || xl_read32(&p->run))
			s |= XL_SUSP_PENDING;
		if (xl_ev.ops->is_masked(port))
			s |= XL_SUSP_MASKED;
		xl_write32(&p->susp, s);
	}
	return 0;
}

/*
 * A cancel that returned 0 (modify_returncode leaves rax alone for an
 * HVM guest without HVM_PARAM_CALLBACK_IRQ): Xen still has our ports.
 * The first bound VIRQ or IPI port tells (EVTCHNOP_status: still of its
 * type, the same VIRQ; a new domain has it closed, or not even valid):
 * only the guest binds those, so a new domain cannot have one before it
 * runs.  An interdomain or unbound port can fool the probe: the new
 * domain's toolstack binds its xenstore and console ports before the
 * guest runs, at the lowest free numbers (get_free_port()), which are
 * the numbers the old domain's had (resume/xs/restore went through a
 * restore as a cancel when the store port, bound first, was the probe).
 * So such a port decides only when no VIRQ or IPI is bound; with no port
 * at all, FIFO's init_control tells (xl_evtchn_fifo_resume():
 * -XEN_EEXIST), and a 2-level resume with no port changes nothing that
 * matters.
 */
static bool port_still_bound(evtchn_port_t port, struct xl_port *p)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = port };
	uint32_t type = xl_read32(&p->type);

	if (xl_hc_event_channel_op(EVTCHNOP_status, &st))
		return false;
	if (status_type(st.status) != type)
		return false;
	return type != XL_PORT_VIRQ || st.u.virq == xl_read32(&p->virq);
}

static bool ports_still_bound(void)
{
	struct xl_port *p, *other = NULL;
	evtchn_port_t port, other_port = 0;

	for_each_bound(port, p)
	{
		uint32_t type = xl_read32(&p->type);

		if (type == XL_PORT_VIRQ || type == XL_PORT_IPI)
			return port_still_bound(port, p);
		if (!other) {
			other = p;
			other_port = port;
		}
	}
	return other && port_still_bound(other_port, other);
}

/*
 * The ABI of a new domain: FIFO again with the same pages; if vCPU 0's
 * init_control is refused (a new host without FIFO), 2-level, as init
 * falls back (nothing was registered with Xen, the pages are free).
 */
static int resume_abi(void)
{
	int rc;

	if (xl_ev.ops == &xl_evtchn_fifo_ops) {
		rc = xl_evtchn_fifo_resume(xl_ev.nr_vcpus);
		if (rc != -XEN_ENOSYS && rc != -XEN_EINVAL)
			return rc; /* 0, -XEN_EEXIST (no restore), -XEN_EIO */
		xl_warn("evtchn: resume: FIFO refused (%d), using 2-level\n",
			rc);
		xl_evtchn_fifo_ops.fini(true);
		xl_store_release_ulong((unsigned long *)&xl_ev.ops,
				       (unsigned long)&xl_evtchn_2l_ops);
	}
	return xl_evtchn_2l_init(xl_ev.nr_vcpus);
}

/*
 * Bind p (a VIRQ or IPI) at port again: Xen hands out the lowest free
 * port (event_channel.c get_free_port()), so the numbers below it that
 * are free are filled with placeholders (unbound ports, closed by the
 * caller afterwards; fill marks them), then the number itself must be
 * the next.  A number already held by a port the core does not own
 * (the toolstack's, bound first in the new domain) is -XEN_EBUSY.  A
 * global VIRQ moved off vCPU 0 (bind_vcpu) is bound on 0 and moved, as
 * Xen refuses to bind it elsewhere (evtchn_bind_virq).
 */
static int rebind_at(evtchn_port_t port, struct xl_port *p, unsigned long *fill)
{
	unsigned int cpu = xl_read32(&p->cpu);
	evtchn_port_t got;
	int rc;

	for (;;) {
		struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
						   .remote_dom = DOMID_SELF };

		rc = xl_hc_event_channel_op(EVTCHNOP_alloc_unbound, &au);
		if (rc)
			return rc;
		if (au.port >= port) {
			close_raw(au.port);
			if (au.port > port)
				return -XEN_EBUSY;
			break;
		}
		xl_set_bit_ulong(au.port, fill);
	}
	if (xl_read32(&p->type) == XL_PORT_IPI) {
		struct evtchn_bind_ipi bi = { .vcpu = cpu };

		rc = xl_hc_event_channel_op(EVTCHNOP_bind_ipi, &bi);
		got = bi.port;
	} else {
		struct evtchn_bind_virq bv = { .virq = xl_read32(&p->virq),
					       .vcpu = cpu };

		rc = xl_hc_event_channel_op(EVTCHNOP_bind_virq, &bv);
		if (rc == -XEN_EINVAL && cpu) {
			struct evtchn_bind_vcpu mv = { .vcpu = cpu };

			bv.vcpu = 0;
			rc = xl_hc_event_channel_op(EVTCHNOP_bind_virq, &bv);
			mv.port = bv.port;
			if (!rc && bv.port == port)
				rc = xl_hc_event_channel_op(EVTCHNOP_bind_vcpu,
							    &mv);
		}
		got = bv.port;
	}
	if (!rc && got != port) {
		close_raw(got);
		rc = -XEN_EBUSY;
	}
	return rc;
}

/*
 * The port is bound again: its vCPU's scan bit (2-level), its priority,
 * then the event owed at suspend given back and the mask as it was.  The
 * port is masked until here (2-level: l2_mask_all; FIFO: expand_one),
 * so nothing is dispatched before its state is back.
 */
static void rebound(evtchn_port_t port, struct xl_port *p)
{
	uint32_t prio = xl_read32(&p->prio), s = xl_read32(&p->susp);
	int rc;

	xl_ev.ops->bind_to_cpu(port, xl_read32(&p->cpu), XL_MAX_VCPUS);
	if (prio && xl_ev.ops == &xl_evtchn_fifo_ops) {
		struct evtchn_set_priority sp = { .port = port,
						  .priority = prio - 1 };

		rc = xl_hc_event_channel_op(EVTCHNOP_set_priority, &sp);
		if (rc)
			xl_err("evtchn: resume: port %u priority %u: %d\n",
			       port, prio - 1, rc);
	}
	if (s & XL_SUSP_PENDING)
		xl_ev.ops->mark_pending(port);
	if (!(s & XL_SUSP_MASKED))
		xl_ev.ops->unmask(port);
}

struct lost_port {
	evtchn_port_t port;
	uint32_t type;
	unsigned long fn, data;
};

/*
 * The resume's working memory, static: it runs with delivery masked (and
 * a kernel host in stop_machine()), where nothing may be allocated.  The
 * owners of lost ports past RS_LOST_MAX are not told (logged).  Only the
 * resume touches it, with no other vCPU in the API.
 */
#define RS_FILL_WORDS (EVTCHN_FIFO_NR_CHANNELS / XL_BITS_PER_LONG)
#define RS_LOST_MAX 64U

static struct {
	unsigned long fill[RS_FILL_WORDS]; /* placeholder ports */
	struct lost_port lost[RS_LOST_MAX];
} xl_rs;

/*
 * Lost ports leave the table before any owner hears of it, so that an
 * owner's new bind may get one of their numbers.
 */
static void forget_lost(struct lost_port *l, unsigned int max, unsigned int *n)
{
	struct xl_port *p;
	evtchn_port_t port;

	*n = 0;
	for_each_bound(port, p)
	{
		if (!(xl_read32(&p->susp) & XL_SUSP_LOST))
			continue;
		if (*n < max)
			l[*n] = (struct lost_port){
				.port = port,
				.type = xl_read32(&p->type),
				.fn = xl_read_ulong(&p->fn),
				.data = xl_read_ulong(&p->data),
			};
		(*n)++;
		xl_write_ulong(&p->fn, 0);
		xl_write32(&p->susp, 0);
		port_forget(p, port);
	}
}

/*
 * Every port again, ascending (the placeholders only ever fill numbers
 * below the one being bound).  Returns how many were lost.
 */
static unsigned int rebind_all(unsigned long *fill)
{
	unsigned int lost = 0;
	struct xl_port *p;
	evtchn_port_t port;
	uint32_t type;
	int rc;

	for_each_bound(port, p)
	{
		type = xl_read32(&p->type);
		/* No run is owed any more: it became PENDING (suspend). */
		xl_write32(&p->run, 0);
		p->owed_next = 0;
		rc = -XEN_ENOENT; /* interdomain, unbound: the peer's end
				   * names the old domid (evtchn_close) */
		if (type == XL_PORT_VIRQ || type == XL_PORT_IPI)
			rc = rebind_at(port, p, fill);
		if (!rc) {
			rebound(port, p);
			xl_write32(&p->susp, 0);
			continue;
		}
		if (type == XL_PORT_VIRQ || type == XL_PORT_IPI)
			xl_err("evtchn: resume: port %u (type %u) lost: %d\n",
			       port, type, rc);
		xl_write32(&p->susp, XL_SUSP_LOST);
		lost++;
	}
	return lost;
}

static void close_fill(unsigned long *fill)
{
	evtchn_port_t port;

	for (port = 1; port < xl_ev.ops->max_channels(); port++)
		if (xl_test_bit_ulong(port, fill))
			close_raw(port);
}

int xl_evtchn_resume(bool cancelled, xl_evtchn_lost_fn lost)
{
	unsigned int i, n_lost = 0;
	unsigned long flags, irq;
	struct xl_port *p;
	evtchn_port_t port;
	int rc;

	if (!ready())
		return -XEN_ENODEV;
	if (in_upcall())
		return -XEN_EDEADLK;
	/*
	 * Masked throughout, as Linux's xen_suspend() runs with interrupts
	 * off: an upcall here would scan a control block or selector of
	 * the old domain while it is set up again.  So nothing below may
	 * sleep: no allocation (the placeholders' bitmap and the lost
	 * ports live in xl_rs).
	 */
	irq = xl_os_irq_save();
	rc = cancelled || ports_still_bound() ? -XEN_EEXIST : resume_abi();
	if (rc == -XEN_EEXIST) {
		for_each_bound(port, p)
		{
			xl_write32(&p->susp, 0);
		}
		xl_os_irq_restore(irq);
		return 0;
	}
	if (rc) {
		xl_os_irq_restore(irq);
		return rc;
	}
	/* The owed lists name ports whose runs became PENDING. */
	for (i = 0; i < XL_MAX_VCPUS; i++) {
		xl_ev.cpu[i].owed_head = xl_ev.cpu[i].owed_tail = 0;
		xl_write32(&xl_ev.cpu[i].rerun, 0);
	}
	for (i = 0; i < RS_FILL_WORDS; i++)
		xl_write_ulong(&xl_rs.fill[i], 0);
	flags = ev_lock();
	rebind_all(xl_rs.fill);
	close_fill(xl_rs.fill);
	forget_lost(xl_rs.lost, RS_LOST_MAX, &n_lost);
	ev_unlock(flags);
	xl_os_irq_restore(irq);
	if (n_lost > RS_LOST_MAX)
		xl_err("evtchn: resume: %u ports lost, the owners of %u not "
		       "told\n",
		       n_lost, n_lost - RS_LOST_MAX);
	for (i = 0; lost && i < n_lost && i < RS_LOST_MAX; i++)
		lost(xl_rs.lost[i].port, (enum xl_port_type)xl_rs.lost[i].type,
		     (xl_evtchn_handler_t)xl_rs.lost[i].fn,
		     (void *)xl_rs.lost[i].data);
	return 0;
}

/* --- the 2-level ABI ----------------------------------------------------- */

/*
 * shared_info has one pending and one mask bit per port, in xen_ulong_t
 * words; vcpu_info->evtchn_pending_sel has one bit per pending word for
 * that vCPU (xen.h, struct shared_info).  Xen sets a selector bit only on
 * the port's notify vCPU, but a word holds ports of many vCPUs, so each
 * vCPU scans only the ports bound to it (l2_cpu_bits).
 */
#define L2_PORTS (sizeof(xen_ulong_t) * 8 * sizeof(xen_ulong_t) * 8)
#define L2_WORDS (L2_PORTS / XL_BITS_PER_LONG)

static struct {
	unsigned long cpu_bits[XL_MAX_VCPUS][L2_WORDS];
	uint32_t word_idx[XL_MAX_VCPUS]; /* fairness cursor */
	uint32_t bit_idx[XL_MAX_VCPUS];
} l2;

/*
 * The scan looks shared_info up once (l2_handle_events) and passes it
 * down: it is mapped once, before the ABI is set up, and an
 * xl_os_shared_info() per bit tested was a host call each (on hv a
 * vCPU and domain look-up).
 */
static unsigned long *l2_pending_of(struct shared_info *s)
{
	return (unsigned long *)s->evtchn_pending;
}

static unsigned long *l2_mask_of(struct shared_info *s)
{
	return (unsigned long *)s->evtchn_mask;
}

static unsigned long *l2_pending(void)
{
	return l2_pending_of(xl_os_shared_info());
}

static unsigned long *l2_mask(void)
{
	return l2_mask_of(xl_os_shared_info());
}

static unsigned int l2_max_channels(void)
{
	return L2_PORTS;
}

static int l2_setup(evtchn_port_t port, bool may_alloc)
{
	return port < L2_PORTS ? 0 : -XEN_ENOSPC;
}

static void l2_bind_to_cpu(evtchn_port_t port, unsigned int cpu,
			   unsigned int old_cpu)
{
	if (old_cpu < XL_MAX_VCPUS)
		xl_clear_bit_ulong(port, l2.cpu_bits[old_cpu]);
	if (cpu < XL_MAX_VCPUS)
		xl_set_bit_ulong(port, l2.cpu_bits[cpu]);
}

static void l2_mark_pending(evtchn_port_t port)
{
	xl_set_bit_ulong(port, l2_pending());
}

static void l2_clear_pending(evtchn_port_t port)
{
	xl_clear_bit_ulong(port, l2_pending());
}

static bool l2_is_pending(evtchn_port_t port)
{
	return xl_test_bit_ulong(port, l2_pending());
}

static bool l2_is_masked(evtchn_port_t port)
{
	return xl_test_bit_ulong(port, l2_mask());
}

static bool l2_mask_port(evtchn_port_t port)
{
	return xl_test_and_set_bit_ulong(port, l2_mask());
}

/*
 * Unmask.  Xen's evtchn_2l_unmask raises a pending port only if it is the
 * one that clears the mask bit, on the port's notify vCPU.  So: a port
 * that is not pending is unmasked locally (the common case, no hypercall);
 * if it turns out pending after the clear (raised while masked, so Xen set
 * no selector bit), it is masked again and Xen does the unmask.
 */
static int l2_unmask(evtchn_port_t port)
{
	struct evtchn_unmask op = { .port = port };

	if (!l2_is_pending(port)) {
		/* Fully ordered: the pending read below follows the clear. */
		xl_clear_bit_ulong(port, l2_mask());
		if (!l2_is_pending(port))
			return 0;
		l2_mask_port(port);
	}
	return xl_hc_event_channel_op(EVTCHNOP_unmask, &op);
}

/*
 * Give back the pending bit taken from a port found masked after the
 * take, only to the binding it was taken from.  A close masks, then runs
 * EVTCHNOP_close, whose evtchn_free (Xen, event_channel.c) clears
 * pending, and forgets the entry (port_forget bumps gen), all of it
 * under xl_ev.lock; the next bind gets the same number (get_free_port
 * takes the lowest).  A bit set back after the close outlived the
 * binding: the new owner's unmask found it pending and had Xen raise a
 * spurious event.  So the set is made under xl_ev.lock, where a close's
 * hypercall and its forget are one step: either the close has not
 * begun (the binding is the one we took from; if it is closed later,
 * Xen clears our bit; if its close fails, the unmask that follows finds
 * the bit), or it is over (gen moved on: the event belonged to a port
 * that is gone and is dropped, as Xen dropped it).  Clearing pending at
 * install instead would be wrong: Xen sets pending at an interdomain
 * bind whose peer already sent.  gen is read before the take, so a
 * close and a bind of the number entirely between that read and the
 * take (the new binding's bit, taken and found masked) also drops the
 * bit; that needs a new binding masked by its user within the scan's few
 * instructions, and errs on the side of the closed one.  Rare (a mask
 * landed between our test and our take), so the lock is no cost; it is
 * taken with delivery masked like every other hold, and no holder waits
 * for an upcall.
 */
static void l2_give_back(struct xl_port *p, evtchn_port_t port, uint32_t gen)
{
	unsigned long flags;

	if (!p) /* no entry, no binding: nothing to give back to */
		return;
	flags = ev_lock();
	if (xl_read32(&p->gen) == gen && xl_read32(&p->type) != XL_PORT_FREE)
		xl_set_bit_ulong(port, l2_pending());
	ev_unlock(flags);
}

/*
 * Dispatch one port if it is ours, unmasked, and we take its pending bit.
 *
 * MASKED and PENDING are bits of two words, so the test of one and the
 * take of the other are two steps, and a mask can land in between (a
 * close, which clears the handler and, if EVTCHNOP_close fails, puts it
 * back and unmasks; xl_evtchn_mask): the event must then stay pending
 * for the unmask, not be run (a masked port, or no handler: lost).  So
 * MASKED is tested again after the take, and a masked port's bit given
 * back (l2_give_back, only to the same binding); then tested once more,
 * because an unmask that ran between our take and our give-back found
 * nothing pending and raised nothing: if the port is unmasked now, take
 * the bit again.  Every step is fully
 * ordered, as are l2_unmask's clear of MASKED and its read of PENDING:
 * either we see the unmask, or it sees our bit and goes through Xen
 * (evtchn_2l_unmask raises a pending port).  Linux takes the same care
 * one level up: the irq core keeps an event found on a disabled irq
 * pending for its enable (kernel/irq/chip.c handle_edge_irq).
 */
static unsigned int l2_handle_port(unsigned int cpu, evtchn_port_t port,
				   struct shared_info *s)
{
	struct xl_port *p = port_lookup(port);
	unsigned long *mask = l2_mask_of(s);
	uint32_t gen;

	if (!xl_test_bit_ulong(port, l2.cpu_bits[cpu]))
		return 0;
	while (!xl_test_bit_ulong(port, mask)) {
		/* The binding, read before the take (fully ordered). */
		gen = p ? xl_read32(&p->gen) : 0;
		if (!xl_test_and_clear_bit_ulong(port, l2_pending_of(s)))
			return 0;
		if (!xl_test_bit_ulong(port, mask)) {
			dispatch_entry(p, port, cpu); /* p: looked up above */
			return 1;
		}
		l2_give_back(p, port, gen);
	}
	return 0;
}

static unsigned long l2_active(unsigned int cpu, unsigned int w,
			       struct shared_info *s)
{
	return xl_read_ulong(&l2_pending_of(s)[w]) &
	       ~xl_read_ulong(&l2_mask_of(s)[w]) &
	       xl_read_ulong(&l2.cpu_bits[cpu][w]);
}

/*
 * Scan the words named by the selector, starting after the last port
 * served (per-vCPU cursor) and wrapping, so a busy low port cannot starve
 * higher ones: at most one port per word per pass, then the next word.
 */
static unsigned int l2_handle_events(unsigned int cpu)
{
	struct vcpu_info *vi = xl_os_vcpu_info(cpu);
	struct shared_info *s = xl_os_shared_info();
	unsigned long sel, bits;
	unsigned int w = xl_read32(&l2.word_idx[cpu]);
	unsigned int b = xl_read32(&l2.bit_idx[cpu]), n = 0, scanned;

	/* xchg: fully ordered, pairs with Xen's set of the selector bit
	 * after the pending bit (event_2l.c, evtchn_2l_set_pending). */
	sel = xl_xchg_ulong((unsigned long *)&vi->evtchn_pending_sel, 0);
	while (sel) {
		if (!xl_budget_step(&xl_ev.cpu[cpu].budget)) {
			/*
			 * Out of budget: give the selector bits we took and
			 * did not clear back, so the re-raised upcall scans
			 * those words (fully ordered, like Xen's own set).
			 */
			xl_fetch_or_ulong(
				(unsigned long *)&vi->evtchn_pending_sel, sel);
			break;
		}
		for (scanned = 0; scanned <= L2_WORDS; scanned++) {
			if (sel & (1UL << w))
				break;
			w = (w + 1) % L2_WORDS;
			b = 0;
		}
		bits = l2_active(cpu, w, s) & (~0UL << b);
		if (!bits) {
			/* Nothing (more) at or after b in this word. */
			if (!(l2_active(cpu, w, s) & ~(~0UL << b)))
				sel &= ~(1UL << w);
			w = (w + 1) % L2_WORDS;
			b = 0;
			continue;
		}
		b = __builtin_ctzl(bits);
		n += l2_handle_port(cpu, w * XL_BITS_PER_LONG + b, s);
		if (++b == XL_BITS_PER_LONG) {
			w = (w + 1) % L2_WORDS;
			b = 0;
		}
		sel |= xl_xchg_ulong((unsigned long *)&vi->evtchn_pending_sel,
				     0);
	}
	xl_write32(&l2.word_idx[cpu], w);
	xl_write32(&l2.bit_idx[cpu], b);
	return n;
}

static void l2_fini(bool xen_released)
{
}

static void l2_mask_all(void)
{
	unsigned int w;

	for (w = 0; w < L2_WORDS; w++)
		xl_fetch_or_ulong(&l2_mask()[w], ~0UL);
}

int xl_evtchn_2l_init(unsigned int nr_vcpus)
{
	unsigned int w, c;

	/* Every port starts masked; bind unmasks once the handler is set. */
	l2_mask_all();
	for (w = 0; w < L2_WORDS; w++)
		for (c = 0; c < XL_MAX_VCPUS; c++)
			xl_write_ulong(&l2.cpu_bits[c][w], 0);
	for (c = 0; c < XL_MAX_VCPUS; c++) {
		xl_write32(&l2.word_idx[c], 0);
		xl_write32(&l2.bit_idx[c], 0);
	}
	/*
	 * Selector bits left from before (an upcall that ran while no ABI
	 * was set up drops evtchn_upcall_pending but not the selector):
	 * with a word's bit already set, Xen's unmask of a pending port
	 * raises no upcall (evtchn_2l_unmask: "!guest_test_and_set_bit(...
	 * evtchn_pending_sel)"), so an event pending at bind time (a port
	 * raised by EVTCHNOP_bind_interdomain) would wait for an unrelated
	 * upcall.  Every port is masked now, so nothing can set a bit
	 * meanwhile that we would lose; the pending bits stay, and bind's
	 * unmask goes through Xen for them.
	 */
	for (c = 0; c < nr_vcpus; c++)
		xl_xchg_ulong(
			(unsigned long *)&xl_os_vcpu_info(c)->evtchn_pending_sel,
			0);
	return 0;
}

const struct xl_evtchn_ops xl_evtchn_2l_ops = {
	.name = "2-level",
	.abi = XL_EVTCHN_ABI_2L,
	.max_channels = l2_max_channels,
	.setup = l2_setup,
	.bind_to_cpu = l2_bind_to_cpu,
	.clear_pending = l2_clear_pending,
	.is_pending = l2_is_pending,
	.is_masked = l2_is_masked,
	.mask = l2_mask_port,
	.mark_pending = l2_mark_pending,
	.unmask = l2_unmask,
	.handle_events = l2_handle_events,
	.fini = l2_fini,
};
