// SPDX-License-Identifier: GPL-2.0
/*
 * The FIFO event-channel ABI, guest (consumer) side.
 *
 * ABI (Xen public event_channel.h, "FIFO-based event channel ABI" design
 * by D. Vrabel): each port has a 32-bit event word in a guest-allocated
 * event array (PENDING 31, MASKED 30, LINKED 29, BUSY 28, LINK 0..16).
 * Each vCPU registers a control block with a READY bit and a head port per
 * priority queue (0 highest .. 15 lowest).  Xen is the producer: it links
 * pending, unmasked events at a queue's tail and sets READY (and raises
 * the upcall) only when an event becomes a queue's new head
 * (xen/common/event_fifo.c, evtchn_fifo_set_pending; Xen commit
 * 70ccddb14a).  The guest is the only consumer of its queues.
 */
#include <xenlite/evtchn-ops.h>
#include <xenlite/hypercall.h>

#define WORDS_PER_PAGE (XL_PAGE_SIZE / sizeof(event_word_t))
/* Enough pages for every port a LINK field can name (2^17 / 1024). */
#define MAX_PAGES (EVTCHN_FIFO_NR_CHANNELS / WORDS_PER_PAGE)

#define W_PENDING (1U << EVTCHN_FIFO_PENDING)
#define W_MASKED (1U << EVTCHN_FIFO_MASKED)
#define W_LINKED (1U << EVTCHN_FIFO_LINKED)
#define W_BUSY (1U << EVTCHN_FIFO_BUSY)
/*
 * The READY bits that name a queue: one per priority, 0 ..
 * EVTCHN_FIFO_PRIORITY_MIN (public event_channel.h).  Xen sets no other
 * (evtchn_fifo_set_pending sets 1 << q->priority); a bit above them from
 * a corrupt control block must not index past head[].
 */
#define READY_QUEUES ((1U << EVTCHN_FIFO_MAX_QUEUES) - 1)

struct fifo_cpu {
	evtchn_fifo_control_block_t *cb;
	/* Our cursor in each queue: the next port to consume, 0 = reload
	 * from the control block.  Only this vCPU touches it. */
	uint32_t head[EVTCHN_FIFO_MAX_QUEUES];
};

static struct {
	unsigned long pages[MAX_PAGES]; /* event_word_t *, published */
	uint32_t nr_pages;
	xl_spinlock_t expand_lock;
	unsigned int nr_vcpus;
	struct fifo_cpu cpu[XL_MAX_VCPUS];
	/*
	 * Pages Xen may still write: an instance whose EVTCHNOP_reset failed
	 * left them registered (control blocks, event array).  Never freed
	 * before a reset succeeds (xl_evtchn_fifo_reclaim).
	 */
	void *held[MAX_PAGES + XL_MAX_VCPUS];
	unsigned int nr_held;
	/* Xen is on FIFO and a reset failed: 2-level would not work. */
	bool stuck;
} fifo;

static event_word_t *word_of(evtchn_port_t port)
{
	unsigned int page = port / WORDS_PER_PAGE;
	event_word_t *base;

	if (page >= MAX_PAGES)
		return NULL;
	/* Acquire: pairs with expand_one's release of the slot, so the
	 * page's MASKED words are seen before the page. */
	base = (event_word_t *)xl_load_acquire_ulong(&fifo.pages[page]);
	return base ? base + port % WORDS_PER_PAGE : NULL;
}

static unsigned int fifo_max_channels(void)
{
	return EVTCHN_FIFO_NR_CHANNELS;
}

/* Add one event-array page; called with expand_lock held. */
static int expand_one(void *page)
{
	struct evtchn_expand_array op;
	event_word_t *w = page;
	unsigned int i;
	int rc;

	/*
	 * New words start MASKED (as Linux's init_array_page does): a port
	 * Xen allocates later stays quiet until bind installed its handler
	 * and unmasked it.  Xen may already hold a pending state for ports
	 * in this page and sets PENDING when the page arrives (Xen commit
	 * 917c123029); the unmask at bind then goes through Xen.
	 */
	for (i = 0; i < WORDS_PER_PAGE; i++)
		xl_write32(&w[i], W_MASKED);
	op.array_gfn = xl_os_virt_to_gfn(page);
	rc = xl_hc_event_channel_op(EVTCHNOP_expand_array, &op);
	if (rc)
		return rc;
	/*
	 * Publish the slot, then the count, each with a release store:
	 * covered() reads nr_pages with an acquire load, so a vCPU that
	 * sees the new count also sees the slot and the words written
	 * above (xl_write orders nothing by the os.h contract).  Xen's own
	 * add_page_to_event_array has the same smp_wmb() before
	 * num_evtchns.
	 */
	xl_store_release_ulong(&fifo.pages[fifo.nr_pages], (unsigned long)page);
	xl_store_release32(&fifo.nr_pages, fifo.nr_pages + 1);
	return 0;
}

static bool covered(evtchn_port_t port)
{
	return port / WORDS_PER_PAGE < xl_load_acquire32(&fifo.nr_pages);
}

/*
 * Grow the event array until it covers port, using page first (NULL:
 * allocate).  Pages are allocated with no lock held (a host may sleep in
 * its allocator); the lock only serialises EVTCHNOP_expand_array, which
 * must add pages in order.
 */
static int fifo_setup_page(evtchn_port_t port, void *page)
{
	unsigned long flags;
	int rc = 0;

	while (port < EVTCHN_FIFO_NR_CHANNELS && !covered(port)) {
		if (!page)
			page = xl_os_alloc_page();
		if (!page)
			return -XEN_ENOMEM;
		flags = xl_spin_lock_irqsave(&fifo.expand_lock);
		if (!covered(port)) {
			rc = expand_one(page);
			if (!rc)
				page = NULL;
		}
		xl_spin_unlock_irqrestore(&fifo.expand_lock, flags);
		if (rc) {
			xl_err("fifo: expand_array for port %u: %d\n", port,
			       rc);
			break;
		}
	}
	if (page)
		xl_os_free_page(page);
	if (port >= EVTCHN_FIFO_NR_CHANNELS)
		return -XEN_EINVAL;
	return rc;
}

/*
 * From upcall context a port beyond the array is refused, not set up:
 * growing it allocates a page, which may sleep and must not be done with
 * delivery masked (os.h).  We refuse rather than allocate masked (and
 * expand_lock stays a thread-context lock).  Linux makes the same choice
 * by construction: its
 * evtchn_fifo_setup (drivers/xen/events/events_fifo.c) allocates with
 * GFP_KERNEL under irq_mapping_update_lock, a mutex (events_base.c), so
 * a bind may sleep and is never made from interrupt context.  A port in
 * a page we have needs neither, so that bind is fine anywhere.
 */
static int fifo_setup(evtchn_port_t port, bool may_alloc)
{
	if (!may_alloc && port < EVTCHN_FIFO_NR_CHANNELS && !covered(port))
		return -XEN_EWOULDBLOCK;
	return fifo_setup_page(port, NULL);
}

static void fifo_bind_to_cpu(evtchn_port_t port, unsigned int cpu,
			     unsigned int old_cpu)
{
	/* Xen tracks the queue a port was last linked on (lastq). */
}

static void fifo_clear_pending(evtchn_port_t port)
{
	xl_fetch_and32(word_of(port), ~W_PENDING);
}

static bool fifo_is_pending(evtchn_port_t port)
{
	return xl_read32(word_of(port)) & W_PENDING;
}

static bool fifo_is_masked(evtchn_port_t port)
{
	return xl_read32(word_of(port)) & W_MASKED;
}

static void fifo_mark_pending(evtchn_port_t port)
{
	xl_fetch_or32(word_of(port), W_PENDING);
}

static bool fifo_mask(evtchn_port_t port)
{
	return xl_fetch_or32(word_of(port), W_MASKED) & W_MASKED;
}

/*
 * Unmask.  The local fast path clears MASKED only when the word is neither
 * PENDING nor BUSY, in one compare-exchange: a pending event needs Xen to
 * link it (EVTCHNOP_unmask relinks, evtchn_fifo_unmask), and BUSY means Xen
 * is rewriting this word's LINK as a queue tail (evtchn_fifo_set_link),
 * whose own compare-exchange our write would upset.  Everything else goes
 * through Xen (Linux "xen/events: fix race in evtchn_fifo_unmask()",
 * XSA-332 series, Nov 2020).
 */
static int fifo_unmask(evtchn_port_t port)
{
	struct evtchn_unmask op = { .port = port };
	event_word_t *word = word_of(port);
	uint32_t w = xl_read32(word), seen;

	while (w & W_MASKED) {
		if (w & (W_PENDING | W_BUSY))
			return xl_hc_event_channel_op(EVTCHNOP_unmask, &op);
		seen = xl_cmpxchg32(word, w, w & ~W_MASKED);
		if (seen == w)
			return 0;
		w = seen;
	}
	return 0;
}

/*
 * Unlink the head event: clear LINKED and LINK in one compare-exchange and
 * return the next port.  Xen may be linking a new event behind this one
 * (setting LINK with BUSY held); the exchange either sees Xen's LINK, or
 * makes Xen see the word unlinked and start a new queue instead
 * (try_set_link fails on a word without LINKED).
 */
static evtchn_port_t unlink_head(event_word_t *word, uint32_t *wv)
{
	uint32_t w = xl_read32(word), seen;

	for (;;) {
		seen = xl_cmpxchg32(word, w,
				    w & ~(W_LINKED | EVTCHN_FIFO_LINK_MASK));
		if (seen == w)
			break;
		w = seen;
	}
	*wv = w;
	return w & EVTCHN_FIFO_LINK_MASK;
}

/*
 * Take the pending bit of an unmasked event, atomically with the MASKED
 * test, so a port masked before this point is never dispatched.  The
 * event stays pending if masked; unmask hands it back to Xen.  w is the
 * word as unlink_head left it, the first exchange's guess (no read
 * first); a word changed since fails that exchange, which returns it.
 */
static bool take_pending(event_word_t *word, uint32_t w)
{
	uint32_t seen;

	while ((w & W_PENDING) && !(w & W_MASKED)) {
		seen = xl_cmpxchg32(word, w, w & ~W_PENDING);
		if (seen == w)
			return true;
		w = seen;
	}
	return false;
}

/* Consume one event from queue q; clears q in *ready when it drains. */
static unsigned int consume_one(unsigned int cpu, unsigned int q,
				uint32_t *ready)
{
	struct fifo_cpu *fc = &fifo.cpu[cpu];
	evtchn_port_t port = fc->head[q], next;
	event_word_t *word;
	uint32_t w;

	if (!port) {
		/*
		 * Our cursor ran out: the queue restarted, and Xen wrote the
		 * new head before setting READY (write_atomic(q->head) then
		 * guest_test_and_set_bit(ready) in evtchn_fifo_set_pending).
		 * We saw READY, so read head after it (Linux: virt_rmb()).
		 */
		xl_rmb();
		port = xl_read32(&fc->cb->head[q]);
		if (!port) {
			*ready &= ~(1U << q);
			return 0;
		}
	}
	word = word_of(port);
	if (!word) {
		/* Xen links only ports in the array; never trust a LINK
		 * blindly: drop the queue rather than follow it. */
		xl_err("fifo: vCPU %u queue %u names port %u beyond the array\n",
		       cpu, q, port);
		fc->head[q] = 0;
		*ready &= ~(1U << q);
		return 0;
	}
	next = unlink_head(word, &w);
	if (!next)
		*ready &= ~(1U << q);
	fc->head[q] = next;

	if (!(w & W_PENDING))
		return 0;
	if (w & W_MASKED) {
		xl_evtchn_note_masked(cpu);
		return 0;
	}
	/*
	 * The vCPU that unlinked the event handles it, even when the port
	 * was moved to another vCPU meanwhile (bind_vcpu): Linux's design
	 * (events_fifo.c, consume_one_event).  port_claim() keeps its
	 * handler from running on two vCPUs at once.  Handing it to the new
	 * vCPU with EVTCHNOP_unmask instead ("forward") is wrong twice: Xen
	 * clears MASKED unconditionally (event_fifo.c, evtchn_fifo_unmask),
	 * undoing a mask another vCPU set after our unlink (xl_evtchn_mask,
	 * close), and if Xen's notify vCPU is this one, it links the event
	 * back on our own queue and we forward it for ever.
	 */
	if (!take_pending(word, w & ~(W_LINKED | EVTCHN_FIFO_LINK_MASK)))
		return 0;
	xl_evtchn_dispatch(port, cpu);
	return 1;
}

/*
 * Serve the highest-priority ready queue (lowest bit) one event at a time,
 * folding in a fresh READY after each, so an event that arrives on a
 * higher-priority queue meanwhile (even one raised by a handler) goes
 * next.  READY is taken with an exchange: Xen sets a bit only for a new
 * head, so a cleared bit is re-set if the queue restarts.
 */
static unsigned int fifo_handle_events(unsigned int cpu)
{
	struct xl_budget *b = xl_evtchn_budget(cpu);
	struct fifo_cpu *fc = &fifo.cpu[cpu];
	uint32_t ready;
	unsigned int n = 0;

	if (!fc->cb)
		return 0;
	ready = xl_xchg32(&fc->cb->ready, 0) & READY_QUEUES;
	while (ready) {
		if (!xl_budget_step(b)) {
			/*
			 * Out of budget: the READY bits of queues not drained
			 * go back (our head[] cursors keep our place), so the
			 * re-raised upcall continues where we stopped.  Xen
			 * may set more meanwhile: an OR, fully ordered.
			 */
			xl_fetch_or32(&fc->cb->ready, ready);
			break;
		}
		n += consume_one(cpu, __builtin_ctz(ready), &ready);
		ready |= xl_xchg32(&fc->cb->ready, 0) & READY_QUEUES;
	}
	return n;
}

/* Free a page, or keep it while Xen may still write it. */
static void fifo_drop_page(void *page, bool xen_released)
{
	if (!page)
		return;
	if (xen_released)
		xl_os_free_page(page);
	else if (fifo.nr_held < sizeof(fifo.held) / sizeof(fifo.held[0]))
		fifo.held[fifo.nr_held++] = page;
	/* else: leaked for good, never handed back to the allocator */
}

static void fifo_free_held(void)
{
	while (fifo.nr_held)
		xl_os_free_page(fifo.held[--fifo.nr_held]);
}

/* Called with no upcall running (xl_evtchn_fini quiesced them). */
static void fifo_fini(bool xen_released)
{
	unsigned int i;

	for (i = 0; i < MAX_PAGES; i++) {
		fifo_drop_page((void *)xl_read_ulong(&fifo.pages[i]),
			       xen_released);
		xl_write_ulong(&fifo.pages[i], 0);
	}
	xl_write32(&fifo.nr_pages, 0);
	for (i = 0; i < XL_MAX_VCPUS; i++) {
		fifo_drop_page(fifo.cpu[i].cb, xen_released);
		fifo.cpu[i] = (struct fifo_cpu){ 0 };
	}
	if (xen_released)
		fifo_free_held();
	else
		fifo.stuck = true;
}

int xl_evtchn_fifo_reclaim(void)
{
	int rc;

	if (!fifo.nr_held && !fifo.stuck)
		return 0;
	rc = xl_evtchn_reset_domain();
	if (!rc) {
		fifo_free_held();
		fifo.stuck = false;
	}
	return rc;
}

bool xl_evtchn_fifo_stuck(void)
{
	return fifo.stuck || fifo.nr_held;
}

static int init_vcpu(unsigned int cpu, void *page)
{
	struct evtchn_init_control op = {
		.control_gfn = xl_os_virt_to_gfn(page), .offset = 0, .vcpu = cpu
	};
	int rc;

	rc = xl_hc_event_channel_op(EVTCHNOP_init_control, &op);
	if (!rc)
		fifo.cpu[cpu].cb = page;
	return rc;
}

/*
 * EVTCHNOP_init_control on every vCPU, then the first event-array page.
 *
 * Every page is allocated before the first init_control: Xen switches
 * the whole domain to FIFO at the first one (event_fifo.c,
 * evtchn_fifo_init_control -> setup_event_array), and the only way back
 * is EVTCHNOP_reset, which closes every port (so our allocator failing
 * part-way must not be what sends us there).
 *
 * A refusal on vCPU 0 leaves the domain on 2-level: -ENOSYS from a Xen
 * without FIFO, or a policy refusal.  But -EINVAL there also means "this
 * vCPU has a control block already" (map_control_block), i.e. an earlier
 * instance left the domain on FIFO: the domain is reset (keeping the
 * toolstack's ports, xl_evtchn_reset_domain) and vCPU 0 asked again; a
 * second -EINVAL is a real refusal.  After a partial success (Xen
 * refused a later vCPU or the array page), the domain is reset back to
 * 2-level the same way.
 */
int xl_evtchn_fifo_init(unsigned int nr_vcpus)
{
	void *cb[XL_MAX_VCPUS] = { NULL }, *array;
	bool released = true;
	unsigned int cpu;
	int rc = 0;

	fifo_fini(true);
	xl_spin_init(&fifo.expand_lock, "fifo.expand_lock");
	fifo.nr_vcpus = nr_vcpus;
	array = xl_os_alloc_page();
	for (cpu = 0; cpu < nr_vcpus && array; cpu++) {
		cb[cpu] = xl_os_alloc_page();
		if (!cb[cpu])
			break;
	}
	if (!array || cpu < nr_vcpus) {
		rc = -XEN_ENOMEM;
		goto free;
	}
	rc = init_vcpu(0, cb[0]);
	if (rc == -XEN_EINVAL) {
		xl_warn("fifo: vCPU 0 has a control block: resetting the "
			"domain left on FIFO\n");
		if (!xl_evtchn_reset_domain()) {
			fifo_free_held();
			rc = init_vcpu(0, cb[0]);
		} else {
			fifo.stuck = true;
		}
	}
	for (cpu = 1; cpu < nr_vcpus && !rc; cpu++)
		rc = init_vcpu(cpu, cb[cpu]);
	if (!rc) {
		rc = fifo_setup_page(0, array);
		array = NULL;
	}
	if (rc && fifo.cpu[0].cb) {
		xl_err("fifo: set up part-way (%d): back to 2-level\n", rc);
		/* Still FIFO if the reset fails: keep what Xen took. */
		released = !xl_evtchn_reset_domain();
		fifo.stuck = !released;
	}
free:
	for (cpu = 0; cpu < nr_vcpus; cpu++)
		if (cb[cpu] && fifo.cpu[cpu].cb != cb[cpu])
			xl_os_free_page(cb[cpu]);
	if (array)
		xl_os_free_page(array);
	if (rc)
		fifo_fini(released);
	return rc;
}

/*
 * A restored domain has no control block and no event array (its
 * evtchn_init() is 2-level): the pages we keep are ours again, and we
 * hand the same ones to Xen.  A control block is zeroed once Xen took
 * it: Xen maps it as it is (event_fifo.c map_control_block(), its new
 * queues empty with no tail), and a stale READY bit or HEAD would send
 * our consumer down a queue of the old domain.  Our own cursors go too.
 * Registering first is also the probe for "still the same domain":
 * map_control_block() answers -EINVAL to a vCPU that has a block.  Event-array words are set MASKED (expand_one), so
 * every port stays quiet until its rebind unmasks it; a stale LINKED
 * bit would make Xen's get_free_port() skip the number as busy
 * (evtchn_fifo_is_busy() tests LINKED), which the rebind at the same
 * number needs free.  Runs with no upcall running (xl_evtchn_resume()'s contract).
 */
static void fifo_zero_page(void *page)
{
	uint32_t *w = page;
	unsigned int i;

	for (i = 0; i < XL_PAGE_SIZE / sizeof(*w); i++)
		xl_write32(&w[i], 0);
}

int xl_evtchn_fifo_resume(unsigned int nr_vcpus)
{
	unsigned int cpu, i, nr = xl_read32(&fifo.nr_pages);
	unsigned long flags;
	int rc = 0;

	for (cpu = 0; cpu < nr_vcpus; cpu++) {
		struct fifo_cpu *fc = &fifo.cpu[cpu];

		rc = init_vcpu(cpu, fc->cb);
		/*
		 * vCPU 0's block still registered: the same domain (a cancel
		 * that returned 0).  Nothing was touched: map_control_block()
		 * refuses before it maps anything.
		 */
		if (rc == -XEN_EINVAL && !cpu)
			return -XEN_EEXIST;
		if (rc) {
			xl_err("fifo: resume: init_control vCPU %u: %d\n", cpu,
			       rc);
			return cpu ? -XEN_EIO : rc;
		}
		/* No port is bound yet, so Xen writes nothing here before
		 * the zeroing: no READY, no HEAD. */
		fifo_zero_page(fc->cb);
		for (i = 0; i < EVTCHN_FIFO_MAX_QUEUES; i++)
			fc->head[i] = 0;
	}
	flags = xl_spin_lock_irqsave(&fifo.expand_lock);
	xl_store_release32(&fifo.nr_pages, 0);
	for (i = 0; i < nr && !rc; i++)
		rc = expand_one((void *)xl_read_ulong(&fifo.pages[i]));
	xl_spin_unlock_irqrestore(&fifo.expand_lock, flags);
	if (rc) {
		xl_err("fifo: resume: expand_array page %u: %d\n", i - 1, rc);
		return -XEN_EIO;
	}
	return 0;
}

const struct xl_evtchn_ops xl_evtchn_fifo_ops = {
	.name = "FIFO",
	.abi = XL_EVTCHN_ABI_FIFO,
	.max_channels = fifo_max_channels,
	.setup = fifo_setup,
	.bind_to_cpu = fifo_bind_to_cpu,
	.clear_pending = fifo_clear_pending,
	.is_pending = fifo_is_pending,
	.is_masked = fifo_is_masked,
	.mask = fifo_mask,
	.mark_pending = fifo_mark_pending,
	.unmask = fifo_unmask,
	.handle_events = fifo_handle_events,
	.fini = fifo_fini,
};
