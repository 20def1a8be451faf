// SPDX-License-Identifier: GPL-2.0
/*
 * explore/...: the port lifecycle raced on 2-4 vCPUs, with exact
 * accounting, meant to run under hv's adversarial schedules
 * (hv/guest/hv-explore.h; tools/explore runs them under many seeds, the
 * run-checks part explore under a bounded number).  They also run, and
 * must pass, without a seed.
 *
 * Each test states the invariants it checks.  They hold for any correct
 * implementation, whatever it serialises and however it routes events:
 *
 *   - a port the test holds masked keeps its MASKED bit, and its handler
 *     never runs with the bit clear while the test holds the mask;
 *   - no event is lost: each send is handled (the sender waits for each
 *     before the next, so coalescing never hides a loss), and so is the
 *     event Xen raises when an interdomain port is bound;
 *   - no event is handled more often than the ABI allows: exactly once
 *     where no unmask goes through Xen (close_bind); elsewhere at most
 *     once more per EVTCHNOP_unmask the test caused, since Xen's
 *     evtchn_fifo_unmask tests PENDING and then sets it again in
 *     evtchn_fifo_set_pending, so a consumer that took the event in
 *     between gets it a second time (hv models this; Linux's handlers
 *     take such a spurious run as any other);
 *   - a binding stays the caller's until the caller closes it: another
 *     vCPU's close of a port that had the same number never touches it,
 *     and the caller's own close then succeeds;
 *   - after the test closed every port, hv (the hypervisor's own view)
 *     has no port of the domain open: nothing leaked in Xen;
 *   - the core's notify vCPU of a port is Xen's (EVTCHNOP_status).
 *
 * hv-only: they read hv's port table and FIFO queues (<hv.h>).
 */
#include <string.h>

#include <hv.h>
#include <hv-guest.h>

#include "xt-util.h"

#define XP_TIMEOUT_NS XT_EVENT_TIMEOUT_NS

/* A test-level spinlock between guest vCPUs (their handlers never take
 * it, so an upcall on a holder cannot deadlock). */
static void xp_lock(uint32_t *l)
{
	uint32_t z;

	for (;;) {
		z = 0;
		if (__atomic_compare_exchange_n(l, &z, 1, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return;
		__builtin_ia32_pause();
	}
}

static void xp_unlock(uint32_t *l)
{
	XT_STORE(l, 0);
}

/* Busy-wait about n pause instructions (a few microseconds). */
static void xp_pause(unsigned int n)
{
	while (n--)
		__builtin_ia32_pause();
}

/* A cheap per-vCPU PRNG for the tests' own choices. */
static uint32_t xp_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return (uint32_t)(x >> 16);
}

struct xp_wait {
	struct xt_rec *r;
	uint64_t n;
	evtchn_port_t port; /* 0: do not watch the binding */
};

/* The handler ran n times, or (port set) the binding was wiped. */
static bool xp_reached(void *arg)
{
	struct xp_wait *w = arg;

	if (XT_LOAD(&w->r->count) >= w->n)
		return true;
	return w->port && xl_evtchn_port_type(w->port) == XL_PORT_FREE;
}

static uint64_t xp_wait_count(struct xt_rec *r, uint64_t n)
{
	struct xp_wait w = { r, n, 0 };

	xt_wait_until(xp_reached, &w, XP_TIMEOUT_NS);
	return XT_LOAD(&r->count);
}

static uint64_t xp_stray(void)
{
	struct xl_evtchn_stats s;

	xt_stats_sum(&s);
	return s.stray;
}

/* hv's own view: the ports of the guest domain open now. */
static int xp_open_ports(uint32_t *first)
{
	uint32_t p[4] = { 0 };
	int n = hv_evtchn_open_ports(hv_guest_domain(), p, 4);

	*first = p[0];
	return n;
}

/* hv's count of events Xen itself drops ("too many queue changes"). */
static unsigned long long xp_hv_lost(void)
{
	struct hv_domain_stats st;

	hv_domain_get_stats(hv_guest_domain(), &st);
	return (unsigned long long)st.fifo_lost_queue_change;
}

static enum xt_result xp_no_leak(void)
{
	uint32_t first;
	int n = xp_open_ports(&first);

	XT_ASSERT_MSG(
		n == 0,
		"hv has %d port(s) of the domain open after the test closed all it bound (port %u first): leaked in Xen",
		n, first);
	return XT_PASS;
}

static bool xp_fifo_settled(void *arg)
{
	return !hv_fifo_check(hv_guest_domain(), arg, 256);
}

/*
 * hv's FIFO invariants hold once the consumers are done: a consumer
 * clears READY when it starts on a queue, so a queue it is still walking
 * (slowly, under a seed) has events and READY clear for a while.  Wait
 * for the check to pass; a queue really left behind fails it for good.
 */
static enum xt_result xp_fifo_ok(void)
{
	struct hv_domain_stats st;
	char why[256] = "";

	if (xt_wait_until(xp_fifo_settled, why, XP_TIMEOUT_NS))
		return XT_PASS;
	hv_domain_get_stats(hv_guest_domain(), &st);
	XT_ASSERT_MSG(
		xp_fifo_settled(why),
		"FIFO queues, %llu s after the test: %s (hv: %llu link retries, %llu events dropped for queue changes, %llu new heads)",
		XP_TIMEOUT_NS / 1000000000ULL, why,
		(unsigned long long)st.fifo_link_retries,
		(unsigned long long)st.fifo_lost_queue_change,
		(unsigned long long)st.fifo_new_heads);
	return XT_PASS;
}

/* --- explore/close_bind: close racing a bind of the same number ---------- */

/*
 * Every vCPU binds an IPI to itself, sends it, waits for it, closes it;
 * over and over, all at once.  Xen hands out the lowest free port, so a
 * port one vCPU closes is soon the port another binds: a close whose
 * local half runs after the hypercall wipes the other vCPU's new binding
 * (issue 12, defect 2).  Checked per iteration: the event arrives once,
 * the binding is still there, our close succeeds; at the end: each
 * handler ran exactly once with its own port, nothing stray, nothing
 * open in hv.
 */
#define CB_ITERS 120

static struct {
	uint32_t fails;
	uint32_t done[XL_MAX_VCPUS];
	evtchn_port_t port[4][CB_ITERS];
	struct xt_rec rec[4][CB_ITERS];
} cb;

static void cb_fail(const char *what, unsigned int cpu, unsigned int i,
		    evtchn_port_t p, long rc)
{
	if (XT_ADD(&cb.fails, 1) != 1)
		return;
	xt_fail_msg(
		__FILE__, __LINE__,
		"vCPU %u, iteration %u, port %u: %s (rc %ld, count %llu, port type now %u)",
		cpu, i, p, what, rc,
		(unsigned long long)XT_LOAD(&cb.rec[cpu][i].count),
		(unsigned int)xl_evtchn_port_type(p));
}

static void cb_worker(void *arg)
{
	unsigned int cpu = xl_os_vcpu_id(), i;
	struct xp_wait w;
	evtchn_port_t p;
	long rc;

	(void)arg;
	for (i = 0; i < CB_ITERS && !XT_LOAD(&cb.fails); i++) {
		struct xt_rec *r = &cb.rec[cpu][i];

		rc = xl_evtchn_bind_ipi(cpu, xt_rec_handler, r, &p);
		if (rc) {
			cb_fail("bind_ipi failed", cpu, i, 0, rc);
			break;
		}
		XT_STORE(&cb.port[cpu][i], p);
		rc = xl_evtchn_send(p);
		if (rc) {
			cb_fail("send failed", cpu, i, p, rc);
			break;
		}
		w = (struct xp_wait){ r, 1, p };
		xt_wait_until(xp_reached, &w, XP_TIMEOUT_NS);
		if (XT_LOAD(&r->count) != 1) {
			cb_fail(xl_evtchn_port_type(p) == XL_PORT_FREE ?
					"our binding was wiped before its event ran (a close of the same number elsewhere)" :
					"its event never ran",
				cpu, i, p, 0);
			break;
		}
		rc = xl_evtchn_close(p);
		if (rc) {
			cb_fail("our close failed: the binding was wiped by a close of the same number elsewhere",
				cpu, i, p, rc);
			break;
		}
		XT_STORE(&cb.done[cpu], i + 1);
	}
}

static enum xt_result close_bind(void)
{
	unsigned int nr = xt_nr_vcpus() < 4 ? xt_nr_vcpus() : 4, cpu, i;
	uint64_t total = 0;

	memset(&cb, 0, sizeof(cb));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	for (cpu = 1; cpu < nr; cpu++)
		xt_start_on(cpu, cb_worker, NULL);
	cb_worker(NULL);
	for (cpu = 1; cpu < nr; cpu++)
		xt_wait_on(cpu);
	XT_ASSERT_EQ(XT_LOAD(&cb.fails), 0);
	xt_sleep_ns(XT_SETTLE_NS);
	for (cpu = 0; cpu < nr; cpu++) {
		XT_ASSERT_EQ(XT_LOAD(&cb.done[cpu]), CB_ITERS);
		for (i = 0; i < CB_ITERS; i++) {
			struct xt_rec *r = &cb.rec[cpu][i];
			uint64_t n = XT_LOAD(&r->count);
			uint32_t lp = XT_LOAD(&r->last_port);
			uint32_t lc = XT_LOAD(&r->last_cpu);

			XT_ASSERT_MSG(
				n == 1 && lp == XT_LOAD(&cb.port[cpu][i]) &&
					lc == cpu && !XT_LOAD(&r->concurrent),
				"vCPU %u iteration %u: port %u ran %llu times (last on port %u, vCPU %u)",
				cpu, i, XT_LOAD(&cb.port[cpu][i]),
				(unsigned long long)n, lp, lc);
			total += n;
		}
	}
	XT_ASSERT_EQ(total, (uint64_t)nr * CB_ITERS);
	XT_ASSERT_EQ(xp_stray(), 0);
	if (xp_no_leak() != XT_PASS)
		return XT_FAIL;
	return xp_fifo_ok();
}

/* --- explore/mask_forward: a mask racing the consumer's forward ---------- */

/*
 * A loopback pair a -> b.  vCPU 0 sends on a, then at once moves b to
 * another vCPU, so the event is often still linked on the old vCPU's
 * queue when b has moved (the consumer there must then get it to the
 * new one).  Meanwhile vCPU nr-1 masks b, holds the mask a few
 * microseconds, checks the MASKED bit is still set, and unmasks; a lock
 * of the test keeps the rebind out of those two steps (bind_vcpu may
 * restore the mask state it saw, which is not what is tested).  Nothing
 * else may clear MASKED while the masker holds it: a forward through
 * EVTCHNOP_unmask does (issue 12, defect 3), and b's handler then runs
 * on a port the test holds masked.  No event is lost; the handler runs
 * at most once more per unmask (the masker's, bind_vcpu's, the bind's)
 * than there are events.
 */
#define MF_SENDS 200

static struct {
	uint32_t lock, stop, gen; /* gen odd: the masker holds b masked */
	uint32_t cleared;	  /* MASKED found clear while held */
	uint32_t unmasks;	  /* the masker's unmasks */
	uint32_t ran_held;	  /* handler ran on b, held and unmasked */
	uint64_t masks;
	evtchn_port_t b;
	uint32_t sent;	 /* sends so far */
	uint32_t log_n;	 /* handler runs logged */
	uint32_t log[8]; /* sent << 8 | vCPU of the last runs */
	struct xt_rec rec;
} mf;

static void mf_handler(evtchn_port_t port, void *data)
{
	uint32_t g1 = XT_LOAD(&mf.gen);
	bool masked = xl_evtchn_is_masked(port);

	if ((g1 & 1) && !masked && XT_LOAD(&mf.gen) == g1)
		XT_ADD(&mf.ran_held, 1);
	XT_STORE(&mf.log[(XT_ADD(&mf.log_n, 1) - 1) % 8],
		 XT_LOAD(&mf.sent) << 8 | xl_os_vcpu_id());
	xt_rec_handler(port, data);
}

static void mf_masker(void *arg)
{
	uint64_t s = 0x6a09e667f3bcc909ULL;

	(void)arg;
	while (!XT_LOAD(&mf.stop)) {
		xp_lock(&mf.lock);
		xl_evtchn_mask(mf.b);
		XT_ADD(&mf.gen, 1);
		xp_unlock(&mf.lock);
		XT_ADD(&mf.masks, 1);
		xp_pause(50 + xp_rand(&s) % 2000);
		xp_lock(&mf.lock);
		if (!xl_evtchn_is_masked(mf.b))
			XT_ADD(&mf.cleared, 1);
		XT_ADD(&mf.gen, 1);
		xl_evtchn_unmask(mf.b);
		XT_ADD(&mf.unmasks, 1);
		xp_unlock(&mf.lock);
		xp_pause(50 + xp_rand(&s) % 2000);
	}
}

static enum xt_result mask_forward(void)
{
	unsigned int nr = xt_nr_vcpus(), m = nr - 1, k, to;
	evtchn_port_t a;
	uint64_t got = 0;

	memset(&mf, 0, sizeof(mf));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(DOMID_SELF, NULL, NULL, &a), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(DOMID_SELF, a, mf_handler,
						&mf.rec, &mf.b),
		     0);
	XT_ASSERT(xp_wait_count(&mf.rec, 1) >= 1); /* the bind-time event */
	xt_start_on(m, mf_masker, NULL);
	for (k = 1; k <= MF_SENDS; k++) {
		XT_STORE(&mf.sent, k);
		XT_ASSERT_EQ(xl_evtchn_send(a), 0);
		to = 1 + k % (nr - 1);
		xp_lock(&mf.lock);
		XT_ASSERT_EQ(xl_evtchn_bind_vcpu(mf.b, to), 0);
		xp_unlock(&mf.lock);
		got = xp_wait_count(&mf.rec, k + 1);
		if (got < k + 1 || XT_LOAD(&mf.cleared))
			break;
	}
	XT_STORE(&mf.stop, 1);
	xt_wait_on(m);
	if (k <= MF_SENDS && got < k + 1) {
		unsigned int j, n = XT_LOAD(&mf.log_n);

		for (j = n > 8 ? n - 8 : 0; j < n; j++)
			xt_log("handler run %u: after send %u, on vCPU %u", j,
			       mf.log[j % 8] >> 8, mf.log[j % 8] & 0xff);
	}
	XT_ASSERT_MSG(
		!XT_LOAD(&mf.cleared),
		"the MASKED bit of port %u was cleared %u time(s) while the test held it masked (%llu masks)",
		mf.b, XT_LOAD(&mf.cleared),
		(unsigned long long)XT_LOAD(&mf.masks));
	XT_ASSERT_MSG(
		!XT_LOAD(&mf.ran_held),
		"port %u's handler ran %u time(s) while the test held it masked",
		mf.b, XT_LOAD(&mf.ran_held));
	XT_ASSERT_MSG(
		k > MF_SENDS,
		"send %u of port %u: handler runs %llu after a wait for %u (%llu later); hv dropped %llu for queue changes",
		k, mf.b, (unsigned long long)got, k + 1,
		(unsigned long long)XT_LOAD(&mf.rec.count), xp_hv_lost());
	XT_ASSERT_EQ(xl_evtchn_is_masked(mf.b), false);
	xt_sleep_ns(XT_SETTLE_NS);
	got = XT_LOAD(&mf.rec.count);
	XT_ASSERT_MSG(
		got >= MF_SENDS + 1 && got <= MF_SENDS + 1 + MF_SENDS + 1 +
						       XT_LOAD(&mf.unmasks),
		"port %u: %llu handler runs for %u events, %u unmasks and %u rebinds",
		mf.b, (unsigned long long)got, MF_SENDS + 1,
		XT_LOAD(&mf.unmasks), MF_SENDS);
	XT_ASSERT_EQ(XT_LOAD(&mf.rec.concurrent), 0);
	XT_ASSERT_EQ(xp_stray(), 0);
	XT_ASSERT_EQ(xl_evtchn_close(mf.b), 0);
	XT_ASSERT_EQ(xl_evtchn_close(a), 0);
	if (xp_no_leak() != XT_PASS)
		return XT_FAIL;
	return xp_fifo_ok();
}

/* --- explore/close_reuse: a closed port's number bound again ------------ */

/*
 * Each round: a loopback pair a -> b (Xen raises b once at bind), b moved
 * to vCPU x, a send, b moved on to vCPU y while that event may still be
 * linked on x's queue, then b and a closed at once, racing the consumer
 * on x.  The next round binds the same numbers again (Xen hands out the
 * lowest free ones), and its bind-time event must be handled exactly
 * once: a close that leaves the word unmasked (a forward's EVTCHNOP_unmask
 * between close's mask and its hypercall, issue 12 defect 3) makes Xen
 * deliver it before the new handler is installed, as a stray event, and
 * it is lost.  A round's handler runs at least once (the bind-time
 * event) and at most five times: that event and the send, each maybe
 * once more after the unmask of the bind and of the two bind_vcpu calls
 * (see the top of the file); the send of a closed round may be dropped.
 */
#define CR_ROUNDS 500

static struct xt_rec cr_rec[CR_ROUNDS];

static enum xt_result close_reuse(void)
{
	unsigned int nr = xt_nr_vcpus(), i, x, y;
	evtchn_port_t a, b = 0;
	uint64_t stray0;

	memset(cr_rec, 0, sizeof(cr_rec));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	for (i = 0; i < CR_ROUNDS; i++) {
		x = 1 + i % (nr - 1);
		y = 1 + (i + 1) % (nr - 1);
		XT_ASSERT_EQ(
			xl_evtchn_alloc_unbound(DOMID_SELF, NULL, NULL, &a), 0);
		stray0 = xp_stray();
		XT_ASSERT_EQ(xl_evtchn_bind_interdomain(DOMID_SELF, a,
							xt_rec_handler,
							&cr_rec[i], &b),
			     0);
		XT_ASSERT_MSG(
			xp_wait_count(&cr_rec[i], 1) >= 1,
			"round %u: the bind-time event of port %u (a %u) never ran; stray events meanwhile: %llu",
			i, b, a, (unsigned long long)(xp_stray() - stray0));
		XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, x), 0);
		XT_ASSERT_EQ(xl_evtchn_send(a), 0);
		XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, y), 0);
		XT_ASSERT_EQ(xl_evtchn_close(b), 0);
		XT_ASSERT_EQ(xl_evtchn_close(a), 0);
	}
	xt_sleep_ns(XT_SETTLE_NS);
	for (i = 0; i < CR_ROUNDS; i++) {
		uint64_t n = XT_LOAD(&cr_rec[i].count);

		XT_ASSERT_MSG(n >= 1 && n <= 5 &&
				      !XT_LOAD(&cr_rec[i].concurrent),
			      "round %u: handler ran %llu times", i,
			      (unsigned long long)n);
	}
	if (xp_no_leak() != XT_PASS)
		return XT_FAIL;
	return xp_fifo_ok();
}

/* --- explore/existing_rebind: a toolstack port moved and bound again ----- */

/*
 * A port bound before the core took it (as the toolstack binds the
 * xenstore port): the peer offers an unbound port, we bind it with a raw
 * hypercall, then the core takes it with bind_existing.  Each round
 * moves it to a vCPU n != 0 (bind_vcpu), gives it up (unbind_existing:
 * still open in Xen, still notifying n) and takes it again; then the
 * peer sends.  The core must know Xen's notify vCPU (or move the port
 * back to 0): if it records 0 while Xen notifies n, n's consumer hands
 * the event back to Xen, which links it on n again, for ever (issue 12,
 * defect 1).  No send is lost (each is waited for; at most one more run
 * per unmask, see the top of the file); the core's notify vCPU is Xen's
 * (EVTCHNOP_status).  On a lost event the port is moved to
 * vCPU 0 by a raw hypercall, so that a looping consumer stops and the
 * test can end.
 */
#define ER_ROUNDS 30

static enum xt_result existing_rebind(void)
{
	unsigned int nr = xt_nr_vcpus(), i, n;
	struct evtchn_bind_interdomain bi = { 0 };
	struct evtchn_bind_vcpu bv = { 0 };
	struct evtchn_status st;
	struct xt_rec r = { 0 };
	evtchn_port_t rp, p;
	uint64_t want = 1, got;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &rp), 0);
	bi.remote_dom = xt_peer_domid();
	bi.remote_port = rp;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_interdomain, &bi), 0);
	p = bi.local_port;
	XT_ASSERT_EQ(xl_evtchn_bind_existing(p, xt_rec_handler, &r), 0);
	XT_ASSERT(xp_wait_count(&r, want) >= want); /* bind-time event */
	for (i = 0; i < ER_ROUNDS; i++) {
		n = 1 + i % (nr - 1);
		XT_ASSERT_EQ(xl_evtchn_bind_vcpu(p, n), 0);
		XT_ASSERT_EQ(xt_peer_send(i % xt_peer_nr_vcpus(), rp), 0);
		want++;
		XT_ASSERT(xp_wait_count(&r, want) >= want);
		XT_ASSERT_EQ(xl_evtchn_unbind_existing(p), 0);
		XT_ASSERT_EQ(xl_evtchn_bind_existing(p, xt_rec_handler, &r), 0);
		XT_ASSERT_EQ(xt_status(DOMID_SELF, p, &st), 0);
		XT_ASSERT_EQ(xt_peer_send(i % xt_peer_nr_vcpus(), rp), 0);
		want++;
		if (xp_wait_count(&r, want) < want) {
			got = XT_LOAD(&r.count);

			bv.port = p;
			bv.vcpu = 0;
			xt_evop(EVTCHNOP_bind_vcpu, &bv);
			xt_fail_msg(
				__FILE__, __LINE__,
				"round %u: port %u taken again after a move to vCPU %u: the send was not handled (count %llu, want %llu); Xen notifies vCPU %u, the core says vCPU %u",
				i, p, n, (unsigned long long)got,
				(unsigned long long)want, st.vcpu,
				xl_evtchn_port_cpu(p));
			xt_rec_wait(&r, want);
			return XT_FAIL;
		}
		XT_ASSERT_MSG(
			xl_evtchn_port_cpu(p) == st.vcpu,
			"round %u: port %u: the core says vCPU %u, Xen notifies vCPU %u",
			i, p, xl_evtchn_port_cpu(p), st.vcpu);
	}
	xt_sleep_ns(XT_SETTLE_NS);
	/* Unmasks through Xen: the first bind, then a bind_vcpu and a
	 * bind_existing per round. */
	got = XT_LOAD(&r.count);
	XT_ASSERT_MSG(got >= want && got <= want + 1 + 2 * ER_ROUNDS,
		      "port %u: %llu handler runs for %llu events", p,
		      (unsigned long long)got, (unsigned long long)want);
	XT_ASSERT_EQ(XT_LOAD(&r.concurrent), 0);
	XT_ASSERT_EQ(xp_stray(), 0);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	XT_ASSERT_EQ(xt_peer_close(0, rp), 0);
	if (xp_no_leak() != XT_PASS)
		return XT_FAIL;
	return xp_fifo_ok();
}

/* --- explore/rebind_send: bind_vcpu racing sends ------------------------- */

/*
 * A loopback pair a -> b; vCPU 1 moves b from vCPU to vCPU without pause
 * while vCPU 0 sends on a, one event at a time.  No event is lost, none
 * is handled more often than one more per move (bind_vcpu's unmask, see
 * the top of the file), never by two vCPUs at once, nothing is stray,
 * and the queues are consistent at the end.
 */
#define RS_SENDS 400

static struct {
	uint32_t stop, fails;
	uint64_t moves;
	evtchn_port_t b;
} rs;

static void rs_mover(void *arg)
{
	unsigned int nr = xt_nr_vcpus();
	uint64_t s = 0xbb67ae8584caa73bULL;
	long rc;

	(void)arg;
	while (!XT_LOAD(&rs.stop)) {
		rc = xl_evtchn_bind_vcpu(rs.b, xp_rand(&s) % nr);
		if (rc) {
			XT_ADD(&rs.fails, 1);
			xt_log("bind_vcpu(%u): %ld", rs.b, rc);
			break;
		}
		XT_ADD(&rs.moves, 1);
		xp_pause(xp_rand(&s) % 1000);
	}
}

static enum xt_result rebind_send(void)
{
	struct xt_rec ra = { 0 }, rb = { 0 };
	uint64_t n, moves;
	evtchn_port_t a;
	unsigned int k;

	memset(&rs, 0, sizeof(rs));
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xt_loopback(&ra, &rb, &a, &rs.b), 0);
	xt_start_on(1, rs_mover, NULL);
	for (k = 1; k <= RS_SENDS; k++) {
		XT_ASSERT_EQ(xl_evtchn_send(a), 0);
		if (xp_wait_count(&rb, k + 1) < k + 1)
			break;
	}
	XT_STORE(&rs.stop, 1);
	xt_wait_on(1);
	XT_ASSERT_MSG(k > RS_SENDS,
		      "send %u on port %u never handled (%llu moves)", k, a,
		      (unsigned long long)XT_LOAD(&rs.moves));
	XT_ASSERT_EQ(XT_LOAD(&rs.fails), 0);
	xt_sleep_ns(XT_SETTLE_NS);
	n = XT_LOAD(&rb.count);
	moves = XT_LOAD(&rs.moves);
	XT_ASSERT_MSG(n >= RS_SENDS + 1 && n <= RS_SENDS + 1 + moves + 1,
		      "port %u: %llu handler runs for %u events and %llu moves",
		      rs.b, (unsigned long long)n, RS_SENDS + 1,
		      (unsigned long long)moves);
	XT_ASSERT_EQ(XT_LOAD(&ra.count), 0);
	XT_ASSERT_EQ(XT_LOAD(&rb.concurrent), 0);
	XT_ASSERT_EQ(xp_stray(), 0);
	XT_ASSERT_EQ(xl_evtchn_close(rs.b), 0);
	XT_ASSERT_EQ(xl_evtchn_close(a), 0);
	if (xp_no_leak() != XT_PASS)
		return XT_FAIL;
	return xp_fifo_ok();
}

const struct xt_test xt_explore_tests[] = {
	{ "explore/close_bind", XT_HV, 2, false, close_bind, 0 },
	{ "explore/mask_forward", XT_HV, 3, false, mask_forward, 0 },
	{ "explore/close_reuse", XT_HV, 3, false, close_reuse, 0 },
	{ "explore/existing_rebind", XT_HV, 2, true, existing_rebind, 0 },
	{ "explore/rebind_send", XT_HV, 2, false, rebind_send, 0 },
};

const unsigned int xt_explore_nr_tests =
	sizeof(xt_explore_tests) / sizeof(xt_explore_tests[0]);
