// SPDX-License-Identifier: GPL-2.0
/*
 * Ordering and atomicity windows of the core that no hypercall brackets,
 * forced with the explore point hook (hv-explore.h) on hv:
 *
 *   order/fifo_expand_publish   a vCPU that finds the FIFO event array
 *                               already grown by another one uses the new
 *                               page with no lock between them: only
 *                               expand_one's release stores and
 *                               covered()/word_of()'s acquire loads order
 *                               the page's initialisation before that use.
 *                               Under the TSan build (xl_read / xl_write
 *                               relaxed, XL_WEAK_PLAIN) a plain publication
 *                               is a reported race.
 *   order/{fifo,2l}_bind_vcpu_unmask
 *                               bind_vcpu's "was it masked" and "mask it"
 *                               must be one test-and-set: an unmask by
 *                               another vCPU between the two was lost.
 *   order/clock_last_out        the last vCPU leaving the clockevent and
 *                               the mode becoming free are one step: a
 *                               vCPU counted in between them kept a mode a
 *                               third vCPU could then replace.
 *
 * hv only: they need the point hook and hv's hypercall hook.
 */
#include <sched.h>

#include <hv.h>
#include <hv-explore.h>
#include <hv-guest.h>

#include <xenlite/clockevent.h>
#include <xenlite/evtchn-ops.h>

#include "xt-util.h"

/* Flags between the hooks of two vCPUs that must create no
 * happens-before edge (TSan): relaxed on both sides. */
#define RLX_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define RLX_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* Spin (yielding) until *flag is nonzero or the event timeout passes. */
static bool rlx_wait(const uint32_t *flag)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	while (!RLX_LOAD(flag)) {
		if (xt_now_ns() > end)
			return false;
		sched_yield();
	}
	return true;
}

/* --- the FIFO event array published to a vCPU that did not grow it ----- */

/*
 * vCPU 1 binds port 1024 (the first of event-array page 1) and is held
 * just after its bind hypercall, before its fifo_setup; vCPU 0 then binds
 * 1025, allocates page 1 (xl_os_alloc_page zeroes it: plain stores),
 * writes MASKED into each word, EVTCHNOP_expand_array, publishes the slot
 * and the count, and is held before it drops expand_lock.  vCPU 1 now
 * finds the port covered without taking expand_lock (no lock orders it
 * after vCPU 0), and its unmask reads and writes the new page's word.
 * What orders vCPU 0's initialisation of the page before that is only
 * the release/acquire pair on nr_pages and pages[] (os.h: xl_write and
 * xl_read order nothing).  The hooks signal each other with relaxed
 * atomics, which ThreadSanitizer sees as no edge at all.
 */
static struct xp {
	uint32_t b_bound;   /* vCPU 1: its EVTCHNOP_bind_ipi returned */
	uint32_t b_held;    /* vCPU 1 was held (once) */
	uint32_t a_grown;   /* vCPU 0: its EVTCHNOP_expand_array returned */
	uint32_t a_held;    /* vCPU 0 was held (once) */
	uint32_t published; /* vCPU 0 published page 1 */
	uint32_t b_done;    /* vCPU 1's bind returned */
	uint32_t b_first;   /* vCPU 0 saw b_done before going on */
	uint32_t b_waited;  /* vCPU 1 saw published before going on */
	int b_rc;
	evtchn_port_t pb;
	struct xt_rec rb;
} xp;

static long xp_hc_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
		       long rc, void *data)
{
	unsigned int cpu = xl_os_vcpu_id();

	if (!after || rc)
		return 0;
	if (cmd == EVTCHNOP_bind_ipi && cpu == 1)
		RLX_STORE(&xp.b_bound, 1);
	if (cmd == EVTCHNOP_expand_array && cpu == 0)
		RLX_STORE(&xp.a_grown, 1);
	return 0;
}

static void xp_point_hook(enum hv_explore_point pt)
{
	unsigned int cpu = xl_os_vcpu_id();

	/* vCPU 1: the exchange that drops xl_ev.lock after its bind. */
	if (cpu == 1 && pt == HV_XP_PUBLISH && RLX_LOAD(&xp.b_bound) &&
	    !RLX_LOAD(&xp.b_held)) {
		RLX_STORE(&xp.b_held, 1);
		RLX_STORE(&xp.b_waited, rlx_wait(&xp.published));
	}
	/* vCPU 0: the exchange that drops expand_lock, after publishing. */
	if (cpu == 0 && pt == HV_XP_ATOMIC && RLX_LOAD(&xp.a_grown) &&
	    !RLX_LOAD(&xp.a_held)) {
		RLX_STORE(&xp.a_held, 1);
		RLX_STORE(&xp.published, 1);
		RLX_STORE(&xp.b_first, rlx_wait(&xp.b_done));
	}
}

static void xp_bind_b(void *arg)
{
	evtchn_port_t pb = 0;
	int rc;

	rc = xl_evtchn_bind_ipi(1, xt_rec_handler, &xp.rb, &pb);
	xp.b_rc = rc;
	xp.pb = pb;
	RLX_STORE(&xp.b_done, 1);
}

static enum xt_result fifo_expand_publish(void)
{
	struct hv_domain *d = hv_guest_domain();
	struct evtchn_alloc_unbound au;
	struct xt_rec ra = { 0 };
	evtchn_port_t pa = 0;
	unsigned int n = 0;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	XT_ASSERT_EQ(xt_set_max_evtchns(2047), 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	/* Take every free port of page 0 behind the core's back. */
	do {
		au = (struct evtchn_alloc_unbound){ .dom = DOMID_SELF,
						    .remote_dom = DOMID_SELF };
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
		XT_ASSERT(++n < 1024);
	} while (au.port < 1023);
	XT_ASSERT_EQ(au.port, 1023);
	xp = (struct xp){ 0 };
	hv_domain_set_evtchn_hook(d, xp_hc_hook, NULL);
	hv_explore_set_hook(xp_point_hook);
	xt_start_on(1, xp_bind_b, NULL);
	/* vCPU 1 has its port and is held before its fifo_setup. */
	XT_ASSERT(rlx_wait(&xp.b_held));
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &ra, &pa), 0);
	xt_wait_on(1);
	hv_explore_set_hook(NULL);
	hv_domain_set_evtchn_hook(d, NULL, NULL);
	XT_ASSERT_EQ(xp.b_rc, 0);
	XT_ASSERT_EQ(xp.pb, 1024);
	XT_ASSERT_EQ(pa, 1025);
	/* The interleaving happened: each side waited for the other. */
	XT_ASSERT_EQ(xp.a_held, 1);
	XT_ASSERT_EQ(xp.b_waited, 1);
	XT_ASSERT_EQ(xp.b_first, 1);
	/* Both ports work, on their own vCPUs, once each. */
	XT_ASSERT_EQ(xl_evtchn_send(xp.pb), 0);
	XT_ASSERT_EQ(xl_evtchn_send(pa), 0);
	XT_ASSERT_EQ(xt_rec_wait(&xp.rb, 1), 1);
	XT_ASSERT_EQ(xt_rec_wait(&ra, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&xp.rb), 1);
	XT_ASSERT_EQ(xt_rec_settle(&ra), 1);
	XT_ASSERT_EQ(xp.rb.last_cpu, 1);
	XT_ASSERT_EQ(ra.last_cpu, 0);
	return XT_PASS;
}

/* --- bind_vcpu: "was it masked" and "mask it" in one step --------------- */

/*
 * A port masked by its driver is moved while another vCPU unmasks it.
 * bind_vcpu masks the port around the move and unmasks it after only if
 * it was unmasked before.  Done as a read of MASKED and then a mask, an
 * unmask landing between the two was overwritten by the mask and never
 * undone: the port stayed masked and its events waited for ever.  As one
 * test-and-set (Xen's evtchn_fifo_set_mask returns nothing, but Linux's
 * test_and_set_mask in drivers/xen/events/events_fifo.c and
 * sync_test_and_set_bit in events_2l.c do), the unmask is either before
 * it (seen: unmasked again after the move) or after it (it wins).  The
 * point hook makes the other vCPU's unmask at bind_vcpu's first
 * read-modify-write: exactly what xl_evtchn_unmask does to a port with
 * nothing pending (fifo_unmask's local clear of MASKED, l2_unmask's
 * clear_bit).
 */
static struct bvu {
	unsigned int cpu;
	bool l2;
	evtchn_port_t port;
	uint32_t *word;	       /* FIFO: the port's event word in hv */
	uint32_t armed, fired; /* atomic */
} bvu;

static void bvu_hook(enum hv_explore_point pt)
{
	if (pt != HV_XP_ATOMIC || xl_os_vcpu_id() != bvu.cpu ||
	    !__atomic_exchange_n(&bvu.armed, 0, __ATOMIC_SEQ_CST))
		return;
	if (bvu.l2) {
		unsigned long *m =
			(unsigned long *)xl_os_shared_info()->evtchn_mask;
		unsigned int bits = 8 * sizeof(*m);

		__atomic_fetch_and(&m[bvu.port / bits],
				   ~(1UL << (bvu.port % bits)),
				   __ATOMIC_SEQ_CST);
	} else {
		__atomic_fetch_and(bvu.word, ~(1U << EVTCHN_FIFO_MASKED),
				   __ATOMIC_SEQ_CST);
	}
	__atomic_fetch_add(&bvu.fired, 1, __ATOMIC_SEQ_CST);
}

static enum xt_result bind_vcpu_unmask(bool l2)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = l2 };
	struct xt_rec ra = { 0 }, rb = { 0 };
	evtchn_port_t a, b;
	int rc;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(),
		     l2 ? XL_EVTCHN_ABI_2L : XL_EVTCHN_ABI_FIFO);
	/* b is raised once at bind time (xt_loopback waits for it). */
	XT_ASSERT_EQ(xt_loopback(&ra, &rb, &a, &b), 0);
	xl_evtchn_mask(b);
	XT_ASSERT(xl_evtchn_is_masked(b));
	bvu = (struct bvu){ .cpu = xl_os_vcpu_id(), .l2 = l2, .port = b };
	if (!l2) {
		bvu.word = hv_fifo_event_word(hv_guest_domain(), b);
		XT_ASSERT(bvu.word != NULL);
	}
	__atomic_store_n(&bvu.armed, 1, __ATOMIC_SEQ_CST);
	hv_explore_set_hook(bvu_hook);
	rc = xl_evtchn_bind_vcpu(b, 1);
	hv_explore_set_hook(NULL);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(__atomic_load_n(&bvu.fired, __ATOMIC_SEQ_CST), 1);
	/* The unmask is not lost: the port is unmasked and on vCPU 1. */
	XT_ASSERT(!xl_evtchn_is_masked(b));
	XT_ASSERT_EQ(xl_evtchn_port_cpu(b), 1);
	XT_ASSERT_EQ(xl_evtchn_send(a), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rb, 2), 2);
	XT_ASSERT_EQ(xt_rec_settle(&rb), 2);
	XT_ASSERT_EQ(rb.last_cpu, 1);
	XT_ASSERT_EQ(xt_rec_settle(&ra), 0);
	return XT_PASS;
}

static enum xt_result fifo_bind_vcpu_unmask(void)
{
	return bind_vcpu_unmask(false);
}

static enum xt_result l2_bind_vcpu_unmask(void)
{
	return bind_vcpu_unmask(true);
}

/* --- the clockevent's last vCPU out and the mode ------------------------- */

/*
 * The clockevent's mode is set by the first vCPU in and free again when
 * the last one leaves.  "Count this vCPU out" and "the mode is free" must
 * be one atomic step: with a count and then a separate SET -> NONE, a
 * vCPU counting itself in between the two ran under a mode that was
 * already marked free, and a third vCPU could then set another mode (and
 * clk.cfg) under it.  vCPU 1 is the only vCPU in (singleshot) and leaves;
 * the point hook holds it at its k-th read-modify-write after its close
 * of VIRQ_TIMER's port (after the exchange that drops xl_ev.lock: no lock
 * is held there), for k = 1, 2, ... until fini has no k-th one, and at
 * each vCPU 2 joins with the same singleshot mode.  Then vCPU 0 asks for
 * periodic: it must get -EBUSY while vCPU 2 runs singleshot.
 */
static struct clo {
	unsigned int k, n;	/* hold at the k-th; n seen so far */
	uint32_t closed;	/* vCPU 1's EVTCHNOP_close returned */
	uint32_t unlocked;	/* and the exchange after it passed */
	uint32_t go, y_done;	/* atomic */
	uint32_t fired, x_done; /* atomic */
	int x_rc, y_rc;
} clo;

static const struct xl_clock_config clo_ss = { .mode = XL_CLOCK_SINGLESHOT };
static const struct xl_clock_config clo_per = { .mode = XL_CLOCK_PERIODIC,
						.hz = 100 };

static long clo_hc_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			long rc, void *data)
{
	if (after && cmd == EVTCHNOP_close && xl_os_vcpu_id() == 1)
		XT_STORE(&clo.closed, 1);
	return 0;
}

static void clo_point_hook(enum hv_explore_point pt)
{
	if (xl_os_vcpu_id() != 1 || !XT_LOAD(&clo.closed) ||
	    XT_LOAD(&clo.x_done) || XT_LOAD(&clo.fired))
		return;
	if (pt == HV_XP_PUBLISH)
		XT_STORE(&clo.unlocked, 1);
	if (pt != HV_XP_ATOMIC || !XT_LOAD(&clo.unlocked) || ++clo.n != clo.k)
		return;
	XT_STORE(&clo.fired, 1);
	XT_STORE(&clo.go, 1);
	rlx_wait(&clo.y_done);
}

static void clo_x_init(void *arg)
{
	clo.x_rc = xl_clock_init(&clo_ss);
}

static void clo_x_fini(void *arg)
{
	xl_clock_fini();
	XT_STORE(&clo.x_done, 1);
}

static void clo_y(void *arg)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;

	while (!XT_LOAD(&clo.go) && !XT_LOAD(&clo.x_done) && xt_now_ns() < end)
		sched_yield();
	if (XT_LOAD(&clo.go)) {
		clo.y_rc = xl_clock_init(&clo_ss);
		XT_STORE(&clo.y_done, 1);
	}
}

static void clo_fini(void *arg)
{
	xl_clock_fini();
}

static enum xt_result clock_last_out(void)
{
	struct hv_domain *d = hv_guest_domain();
	unsigned int k;
	int rc;

#ifndef HV_EXPLORE
	XT_SKIP_IF(true, "hv built without HV_EXPLORE: no point hook");
#endif
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	for (k = 1; k <= 8; k++) {
		clo = (struct clo){ .k = k, .y_rc = 1 };
		xt_run_on(1, clo_x_init, NULL);
		XT_ASSERT_EQ(clo.x_rc, 0);
		hv_domain_set_evtchn_hook(d, clo_hc_hook, NULL);
		hv_explore_set_hook(clo_point_hook);
		xt_start_on(2, clo_y, NULL);
		xt_run_on(1, clo_x_fini, NULL);
		xt_wait_on(2);
		hv_explore_set_hook(NULL);
		hv_domain_set_evtchn_hook(d, NULL, NULL);
		if (!XT_LOAD(&clo.fired))
			break;
		XT_ASSERT_EQ(XT_LOAD(&clo.y_done), 1);
		XT_ASSERT_EQ(clo.y_rc, 0);
		/* vCPU 2 runs singleshot: nobody may change the mode. */
		rc = xl_clock_init(&clo_per);
		if (!rc)
			xl_clock_fini();
		XT_ASSERT_MSG(rc == -XEN_EBUSY,
			      "hold %u: periodic init beside a singleshot "
			      "vCPU returned %d",
			      k, rc);
		XT_ASSERT_EQ(xl_clock_mode(), XL_CLOCK_SINGLESHOT);
		xt_run_on(2, clo_fini, NULL);
	}
	/* Fini has at least the one read-modify-write that counts it out. */
	XT_ASSERT(k > 1 && k <= 8);
	xt_log("vCPU 2 joined at each of %u holds in vCPU 1's fini", k - 1);
	return XT_PASS;
}

const struct xt_test xt_order_tests[] = {
	{ "order/fifo_expand_publish", XT_HV, 2, false, fifo_expand_publish,
	  0 },
	{ "order/fifo_bind_vcpu_unmask", XT_HV, 2, false, fifo_bind_vcpu_unmask,
	  0 },
	{ "order/2l_bind_vcpu_unmask", XT_HV, 2, false, l2_bind_vcpu_unmask,
	  0 },
	{ "order/clock_last_out", XT_HV, 3, false, clock_last_out, 0 },
};

const unsigned int xt_order_nr_tests =
	sizeof(xt_order_tests) / sizeof(xt_order_tests[0]);
