/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Core-internal: the per-ABI operations xen-evtchn.c drives.  Two
 * implementations: the 2-level ABI (xen-evtchn.c) and FIFO
 * (xen-evtchn-fifo.c).  Hosts and tests use <xenlite/evtchn.h> instead.
 */
#ifndef XENLITE_EVTCHN_OPS_H
#define XENLITE_EVTCHN_OPS_H

#include <xenlite/evtchn.h>

struct xl_evtchn_ops {
	const char *name;
	enum xl_evtchn_abi abi;
	/* Highest port + 1 this ABI can name. */
	unsigned int (*max_channels)(void);
	/*
	 * Make port addressable (FIFO: grow the event array); 0 or -errno.
	 * !may_alloc (upcall context): -XEN_EWOULDBLOCK if that would need
	 * a new page, which is neither allocated nor locked for.
	 */
	int (*setup)(evtchn_port_t port, bool may_alloc);
	/* The port's notify vCPU changed from old_cpu to cpu. */
	void (*bind_to_cpu)(evtchn_port_t port, unsigned int cpu,
			    unsigned int old_cpu);
	void (*clear_pending)(evtchn_port_t port);
	bool (*is_pending)(evtchn_port_t port);
	bool (*is_masked)(evtchn_port_t port);
	/* Set MASKED; returns whether it was set already (test-and-set). */
	bool (*mask)(evtchn_port_t port);
	int (*unmask)(evtchn_port_t port);
	/*
	 * Drain this vCPU's pending events, calling xl_evtchn_dispatch() for
	 * each; returns how many it dispatched.
	 */
	unsigned int (*handle_events)(unsigned int cpu);
	/*
	 * Set PENDING on a masked port by hand (a resume giving back an
	 * event pending at suspend); the unmask that follows goes through
	 * Xen, which raises it (event_2l.c evtchn_2l_unmask, event_fifo.c
	 * evtchn_fifo_unmask: "if PENDING, set_pending").
	 */
	void (*mark_pending)(evtchn_port_t port);
	/*
	 * Release what init allocated.  xen_released: EVTCHNOP_reset
	 * succeeded, so Xen no longer maps our pages; otherwise Xen may
	 * still write them and they must be kept (leaked) until a later
	 * reset succeeds.
	 */
	void (*fini)(bool xen_released);
};

extern const struct xl_evtchn_ops xl_evtchn_2l_ops;
extern const struct xl_evtchn_ops xl_evtchn_fifo_ops;

/*
 * EVTCHNOP_reset of our own domain, keeping the ports the toolstack bound:
 * every open interdomain or unbound port Xen reports (EVTCHNOP_status) is
 * bound again at the same number after the reset (see xen-evtchn.c),
 * with every 2-level port masked first, so their bind-time events stay
 * pending and raise no upcall.  Only while no port is bound in the core.
 * 0 or the reset's error.
 */
int xl_evtchn_reset_domain(void);

/*
 * Before any init: if an earlier instance's reset failed, Xen may still
 * be on FIFO with our old pages; reset the domain (keeping the
 * toolstack's ports) and free them.  0, or the reset's error.
 */
int xl_evtchn_fifo_reclaim(void);
/* Xen is on FIFO and we could not reset it: no 2-level fallback. */
bool xl_evtchn_fifo_stuck(void);

/* FIFO bring-up: init_control on every vCPU; 0 or the hypercall's error. */
int xl_evtchn_fifo_init(unsigned int nr_vcpus);
/*
 * After a restore into a new domain (docs/save-restore.md): every
 * control block zeroed and registered again (EVTCHNOP_init_control per
 * vCPU), the event array's pages set MASKED and expanded again in their
 * order (EVTCHNOP_expand_array), as Linux's evtchn_fifo_resume()
 * (drivers/xen/events/events_fifo.c).  0, or the first error: vCPU 0's
 * (nothing registered with Xen: the caller may fall back to 2-level) is
 * returned as is, a later one as -XEN_EIO; -XEN_EEXIST when vCPU 0 still
 * has its control block (Xen's -EINVAL): no restore happened, and
 * nothing was changed.
 */
int xl_evtchn_fifo_resume(unsigned int nr_vcpus);
/* 2-level bring-up: mask every port (all start masked, as in FIFO). */
int xl_evtchn_2l_init(unsigned int nr_vcpus);

/*
 * Called by handle_events for each port it took the pending bit of while
 * unmasked; runs the handler (or counts a stray event).
 */
void xl_evtchn_dispatch(evtchn_port_t port, unsigned int cpu);
/* The vCPU the port table has the port bound to (XL_MAX_VCPUS: none). */
unsigned int xl_evtchn_port_cpu_raw(evtchn_port_t port);
/*
 * The upcall budget (xl_evtchn_upcall()): handle_events looks up its
 * vCPU's budget once (xl_evtchn_budget()) and calls xl_budget_step()
 * before each step of its scan (one queue head consumed, one port
 * visited); false means stop now, put back what was taken but not
 * scanned, and return: the upcall re-raises itself.
 * xl_evtchn_dispatch() also ends the budget when one port used up its
 * share.  Only the vCPU itself, with delivery masked, touches its budget,
 * so plain accesses.  Inline, and a test of steps alone (whoever sets
 * over also zeroes steps: budget_charge, and the step itself): the step
 * is taken once per event.
 */
struct xl_budget {
	uint32_t steps; /* scan steps left; 0 whenever over is set */
	uint32_t over;	/* out of budget: stop and re-raise */
	uint32_t gen;	/* upcalls begun: tags each port's share count */
};

struct xl_budget *xl_evtchn_budget(unsigned int cpu);

static inline bool xl_budget_step(struct xl_budget *b)
{
	if (!b->steps) {
		b->over = 1;
		return false;
	}
	b->steps--;
	return true;
}
/* Count a stray or masked-seen event for cpu. */
void xl_evtchn_note_stray(evtchn_port_t port, unsigned int cpu);
void xl_evtchn_note_masked(unsigned int cpu);

/* Atomic bit helpers on guest-shared words (built on os.h atomics). */
static inline bool xl_test_and_set_bit32(unsigned int nr, uint32_t *w)
{
	return (xl_fetch_or32(w, 1U << nr) >> nr) & 1;
}

static inline bool xl_test_and_clear_bit32(unsigned int nr, uint32_t *w)
{
	return (xl_fetch_and32(w, ~(1U << nr)) >> nr) & 1;
}

static inline bool xl_test_bit32(unsigned int nr, uint32_t *w)
{
	return (xl_read32(w) >> nr) & 1;
}

#define XL_BITS_PER_LONG (8 * sizeof(unsigned long))

static inline void xl_set_bit_ulong(unsigned int nr, unsigned long *map)
{
	xl_fetch_or_ulong(&map[nr / XL_BITS_PER_LONG],
			  1UL << (nr % XL_BITS_PER_LONG));
}

static inline bool xl_test_and_clear_bit_ulong(unsigned int nr,
					       unsigned long *map)
{
	unsigned long m = 1UL << (nr % XL_BITS_PER_LONG);

	return xl_fetch_and_ulong(&map[nr / XL_BITS_PER_LONG], ~m) & m;
}

static inline bool xl_test_and_set_bit_ulong(unsigned int nr,
					     unsigned long *map)
{
	unsigned long m = 1UL << (nr % XL_BITS_PER_LONG);

	return xl_fetch_or_ulong(&map[nr / XL_BITS_PER_LONG], m) & m;
}

static inline void xl_clear_bit_ulong(unsigned int nr, unsigned long *map)
{
	xl_fetch_and_ulong(&map[nr / XL_BITS_PER_LONG],
			   ~(1UL << (nr % XL_BITS_PER_LONG)));
}

static inline bool xl_test_bit_ulong(unsigned int nr, unsigned long *map)
{
	return (xl_read_ulong(&map[nr / XL_BITS_PER_LONG]) >>
		(nr % XL_BITS_PER_LONG)) &
	       1;
}

#endif /* XENLITE_EVTCHN_OPS_H */
