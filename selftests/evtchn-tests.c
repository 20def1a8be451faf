// SPDX-License-Identifier: GPL-2.0
/*
 * Event-channel functional tests through the core API.
 *
 * The functional cases run three times: "fifo/" (FIFO ABI), "2l/" (the
 * core forced to 2-level) and "nofifo/" (the hypervisor refuses
 * EVTCHNOP_init_control, the core falls back to 2-level; hv only).  Then
 * FIFO-only cases (priorities, LINKED ports, 131,071 ports).  Portable
 * guest code only; hv-only cases (fault injection) are in hv-tests.c.
 *
 * Expected hypervisor behaviour is Xen 4.17's (xen/common/event_channel.c,
 * event_fifo.c, event_2l.c); comments cite the function relied on.
 */
#include <stdlib.h>
#include <string.h>

#include "xt-util.h"

enum mode { M_FIFO, M_2L, M_NOFIFO };

/* The core on vCPUs 0 .. n - 1, in mode m. */
static enum xt_result mode_init_n(enum mode m, unsigned int n)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = n,
					.force_2level = m == M_2L };
	int rc;

	if (m == M_NOFIFO)
		XT_SKIP_IF(xt_set_no_fifo(true), "cannot refuse FIFO here");
	rc = xt_core_init(&cfg);
	XT_ASSERT_EQ(rc, 0);
	if (m == M_FIFO)
		XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	else
		XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_2L);
	return XT_PASS;
}

#define MODE_INIT_N(m, n)                                   \
	do {                                                \
		enum xt_result mr_ = mode_init_n((m), (n)); \
		if (mr_ != XT_PASS)                         \
			return mr_;                         \
	} while (0)
#define MODE_INIT(m) MODE_INIT_N(m, xt_nr_vcpus())

/* The record is healthy: right port, never concurrent with itself. */
#define REC_OK(r, port)                               \
	do {                                          \
		XT_ASSERT_EQ((r)->last_port, (port)); \
		XT_ASSERT_EQ((r)->concurrent, 0);     \
	} while (0)

static long send_port(evtchn_port_t port)
{
	return xl_evtchn_send(port);
}

/* --- bind, send, receive: each port type --------------------------------- */

/* Peer offers an unbound port, we bind to it (Xen raises our new port). */
static enum xt_result t_interdomain_peer(enum mode m)
{
	struct xt_rec r = { 0 };
	struct evtchn_status st;
	evtchn_port_t pp, lp;
	unsigned int i;

	MODE_INIT(m);
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), pp,
						xt_rec_handler, &r, &lp),
		     0);
	/* evtchn_bind_interdomain: "conservatively always setting a
	 * notification on the local port". */
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	REC_OK(&r, lp);
	XT_ASSERT_EQ(r.last_cpu, 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(lp), XL_PORT_INTERDOMAIN);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, lp, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.u.interdomain.dom, xt_peer_domid());
	XT_ASSERT_EQ(st.u.interdomain.port, pp);
	XT_ASSERT_EQ(st.vcpu, 0);
	for (i = 0; i < 20; i++) {
		XT_ASSERT_EQ(xt_peer_send(i % xt_peer_nr_vcpus(), pp), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 2), i + 2);
	}
	REC_OK(&r, lp);
	XT_ASSERT_EQ(xl_evtchn_port_count(lp), 21);
	XT_ASSERT_EQ(send_port(lp), 0);
	/* The peer closes: our end becomes unbound (evtchn_close). */
	XT_ASSERT_EQ(xt_peer_close(0, pp), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, lp, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, xt_peer_domid());
	/* evtchn_send on ECS_UNBOUND: "silently drop the notification". */
	XT_ASSERT_EQ(send_port(lp), 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 21);
	XT_ASSERT_EQ(xl_evtchn_close(lp), 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(lp), XL_PORT_FREE);
	return XT_PASS;
}

/* We offer an unbound port, the peer binds and sends. */
static enum xt_result t_unbound_peer_binds(enum mode m)
{
	struct xt_rec r = { 0 };
	struct evtchn_status st;
	evtchn_port_t pp, lp;
	unsigned int i;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(xt_peer_domid(), xt_rec_handler,
					     &r, &lp),
		     0);
	XT_ASSERT_EQ(xl_evtchn_port_type(lp), XL_PORT_UNBOUND);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, lp, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, xt_peer_domid());
	XT_ASSERT_EQ(xt_peer_bind_interdomain(1, xt_domid(), lp, &pp), 0);
	/* Only the binder's new port is raised at bind. */
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, lp, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.u.interdomain.port, pp);
	for (i = 0; i < 20; i++) {
		XT_ASSERT_EQ(xt_peer_send(i % xt_peer_nr_vcpus(), pp), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 1), i + 1);
	}
	REC_OK(&r, lp);
	XT_ASSERT_EQ(r.cpu_mask, 1);
	return XT_PASS;
}

/* The peer's count of port pp once it reaches want (or 5 s pass). */
static unsigned long peer_count(evtchn_port_t pp, unsigned long want)
{
	uint64_t end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
	unsigned long v = 0;

	while (!xt_peer_ctl("count", pp, 0, &v) && v < want &&
	       xt_now_ns() < end)
		xt_sleep_ns(XT_SETTLE_NS);
	return v;
}

/*
 * A peer that is a program of its own (tools/evtchn-peer in dom0, on
 * libxenevtchn) counts what it receives, echoes it back and sends in
 * bursts: each of our sends reaches it exactly once when we wait for it
 * before the next; an echo comes back exactly once; a burst of 10 arrives
 * as 1 to 10 events (sends to a port still pending merge: evtchn_set_pending
 * in Xen's event_2l.c / event_fifo.c).
 */
static enum xt_result t_peer_ctl(enum mode m)
{
	struct xt_rec r = { 0 };
	struct evtchn_status st;
	evtchn_port_t pp, lp;
	unsigned long v = 0;
	unsigned int i;
	long rc;

	MODE_INIT(m);
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp), 0);
	rc = xt_peer_ctl("count", pp, 0, &v);
	XT_SKIP_IF(rc == -XEN_ENOSYS, "the peer has no count, echo or burst");
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(v, 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), pp,
						xt_rec_handler, &r, &lp),
		     0);
	/* Xen raises the binder's port only. */
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(peer_count(pp, 0), 0);
	for (i = 1; i <= 5; i++) {
		XT_ASSERT_EQ(send_port(lp), 0);
		XT_ASSERT_EQ(peer_count(pp, i), i);
	}
	XT_ASSERT_EQ(xt_peer_ctl("echo", pp, 1, &v), 0);
	XT_ASSERT_EQ(send_port(lp), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	XT_ASSERT_EQ(peer_count(pp, 6), 6);
	XT_ASSERT_EQ(xt_peer_ctl("echo", pp, 0, &v), 0);
	XT_ASSERT_EQ(send_port(lp), 0);
	XT_ASSERT_EQ(peer_count(pp, 7), 7);
	XT_ASSERT_EQ(xt_rec_settle(&r), 2);
	XT_ASSERT_EQ(xt_peer_ctl("burst", pp, 10, &v), 0);
	XT_ASSERT_EQ(v, 10);
	XT_ASSERT(xt_rec_wait(&r, 3) >= 3);
	XT_ASSERT(xt_rec_settle(&r) <= 12);
	REC_OK(&r, lp);
	XT_ASSERT_EQ(peer_count(pp, 7), 7);
	XT_ASSERT_EQ(xt_peer_close(0, pp), 0);
	XT_ASSERT_EQ(xt_peer_ctl("count", pp, 0, &v), -XEN_EINVAL);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, lp, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	return XT_PASS;
}

static enum xt_result fifo_peer_ctl(void)
{
	return t_peer_ctl(M_FIFO);
}

static enum xt_result l2_peer_ctl(void)
{
	return t_peer_ctl(M_2L);
}

/* Loopback: alloc_unbound(DOMID_SELF) and bind_interdomain to it. */
static enum xt_result t_loopback(enum mode m)
{
	struct xt_rec ra = { 0 }, rb = { 0 };
	struct evtchn_status st;
	evtchn_port_t a, b;
	unsigned int i;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(DOMID_SELF, xt_rec_handler, &ra,
					     &a),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(DOMID_SELF, a, xt_rec_handler,
						&rb, &b),
		     0);
	XT_ASSERT(a != b);
	XT_ASSERT_EQ(xt_rec_wait(&rb, 1), 1); /* raised at bind */
	XT_ASSERT_EQ(xt_rec_settle(&ra), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, a, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.u.interdomain.dom, xt_domid());
	XT_ASSERT_EQ(st.u.interdomain.port, b);
	for (i = 0; i < 50; i++) {
		XT_ASSERT_EQ(send_port(a), 0);
		XT_ASSERT_EQ(xt_rec_wait(&rb, i + 2), i + 2);
		XT_ASSERT_EQ(send_port(b), 0);
		XT_ASSERT_EQ(xt_rec_wait(&ra, i + 1), i + 1);
	}
	REC_OK(&ra, a);
	REC_OK(&rb, b);
	XT_ASSERT_EQ(xl_evtchn_close(b), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, a, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, xt_domid());
	XT_ASSERT_EQ(send_port(a), 0);
	XT_ASSERT_EQ(xt_rec_settle(&ra), 50);
	XT_ASSERT_EQ(xt_rec_settle(&rb), 51);
	return XT_PASS;
}

static enum xt_result t_ipi_self(enum mode m)
{
	struct xt_rec r = { 0 };
	struct evtchn_status st;
	evtchn_port_t p;
	unsigned int i;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(p), XL_PORT_IPI);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, p, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_ipi);
	XT_ASSERT_EQ(st.vcpu, 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	for (i = 0; i < 100; i++) {
		XT_ASSERT_EQ(send_port(p), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 1), i + 1);
	}
	REC_OK(&r, p);
	XT_ASSERT_EQ(r.cpu_mask, 1);
	XT_ASSERT_EQ(xl_evtchn_port_count(p), 100);
	return XT_PASS;
}

struct send_arg {
	evtchn_port_t port;
	long rc;
};

static void send_fn(void *arg)
{
	struct send_arg *s = arg;

	s->rc = xl_evtchn_send(s->port);
}

/* IPIs to every other vCPU, sent from vCPU 0 and from a third vCPU. */
static enum xt_result t_ipi_cross(enum mode m)
{
	struct xt_rec r[XL_MAX_VCPUS] = { 0 };
	evtchn_port_t p[XL_MAX_VCPUS];
	unsigned int cpu, nr = xt_nr_vcpus(), i;

	MODE_INIT(m);
	for (cpu = 1; cpu < nr; cpu++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(cpu, xt_rec_handler, &r[cpu],
						&p[cpu]),
			     0);
	for (i = 0; i < 10; i++) {
		for (cpu = 1; cpu < nr; cpu++) {
			struct send_arg s = { .port = p[cpu] };
			unsigned int from = 1 + (cpu % (nr - 1));

			XT_ASSERT_EQ(send_port(p[cpu]), 0);
			XT_ASSERT_EQ(xt_rec_wait(&r[cpu], 2 * i + 1),
				     2 * i + 1);
			/* From another vCPU (or itself when nr == 2). */
			xt_run_on(from, send_fn, &s);
			XT_ASSERT_EQ(s.rc, 0);
			XT_ASSERT_EQ(xt_rec_wait(&r[cpu], 2 * i + 2),
				     2 * i + 2);
		}
	}
	for (cpu = 1; cpu < nr; cpu++) {
		REC_OK(&r[cpu], p[cpu]);
		XT_ASSERT_EQ(r[cpu].cpu_mask, 1U << cpu);
	}
	return XT_PASS;
}

struct timer_arg {
	long rc_stop, rc_set;
};

/* Stop the periodic timer, arm a singleshot already in the past: Xen
 * fires it at once (VCPU_SSHOTTMR_future ignored since 19c6cbd909). */
static void arm_past_timer(void *arg)
{
	struct timer_arg *t = arg;
	struct vcpu_set_singleshot_timer sst = { .timeout_abs_ns = 1 };
	unsigned int cpu = xl_os_vcpu_id();

	t->rc_stop = xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, cpu, NULL);
	t->rc_set = xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, cpu, &sst);
}

/* VIRQ_TIMER (per vCPU), raised by a singleshot timer on each vCPU. */
static enum xt_result t_virq_timer(enum mode m)
{
	struct xt_rec r[XL_MAX_VCPUS] = { 0 };
	evtchn_port_t p[XL_MAX_VCPUS], q;
	unsigned int cpu, nr = xt_nr_vcpus();
	struct evtchn_status st;

	MODE_INIT(m);
	for (cpu = 0; cpu < nr; cpu++) {
		struct timer_arg t;

		XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, cpu,
						 xt_rec_handler, &r[cpu],
						 &p[cpu]),
			     0);
		XT_ASSERT_EQ(xl_evtchn_port_type(p[cpu]), XL_PORT_VIRQ);
		XT_ASSERT_EQ(xt_status(DOMID_SELF, p[cpu], &st), 0);
		XT_ASSERT_EQ(st.status, EVTCHNSTAT_virq);
		XT_ASSERT_EQ(st.u.virq, VIRQ_TIMER);
		XT_ASSERT_EQ(st.vcpu, cpu);
		/* evtchn_bind_virq: one port per (vCPU, VIRQ). */
		XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, cpu,
						 xt_rec_handler, &r[cpu], &q),
			     -XEN_EEXIST);
		xt_run_on(cpu, arm_past_timer, &t);
		XT_ASSERT_EQ(t.rc_stop, 0);
		XT_ASSERT_EQ(t.rc_set, 0);
		XT_ASSERT_EQ(xt_rec_wait(&r[cpu], 1), 1);
		REC_OK(&r[cpu], p[cpu]);
		XT_ASSERT_EQ(r[cpu].last_cpu, cpu);
	}
	/* Close and bind again: works, and fires again. */
	XT_ASSERT_EQ(xl_evtchn_close(p[nr - 1]), 0);
	r[nr - 1] = (struct xt_rec){ 0 };
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, nr - 1, xt_rec_handler,
					 &r[nr - 1], &q),
		     0);
	{
		struct timer_arg t;

		xt_run_on(nr - 1, arm_past_timer, &t);
		XT_ASSERT_EQ(t.rc_set, 0);
	}
	XT_ASSERT_EQ(xt_rec_wait(&r[nr - 1], 1), 1);
	REC_OK(&r[nr - 1], q);
	/* r[] is this frame's: nothing may call its handlers after we return. */
	for (cpu = 0; cpu + 1 < nr; cpu++)
		XT_ASSERT_EQ(xl_evtchn_close(p[cpu]), 0);
	XT_ASSERT_EQ(xl_evtchn_close(q), 0);
	return XT_PASS;
}

/* VIRQ_DEBUG: per-vCPU binding and status (hv raises no VIRQ_DEBUG). */
static enum xt_result t_virq_bind(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p[XL_MAX_VCPUS], q;
	unsigned int cpu, nr = xt_nr_vcpus();
	struct evtchn_status st;

	MODE_INIT(m);
	for (cpu = 0; cpu < nr; cpu++) {
		XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, cpu,
						 xt_rec_handler, &r, &p[cpu]),
			     0);
		if (cpu)
			XT_ASSERT(p[cpu] != p[cpu - 1]);
		XT_ASSERT_EQ(xt_status(DOMID_SELF, p[cpu], &st), 0);
		XT_ASSERT_EQ(st.status, EVTCHNSTAT_virq);
		XT_ASSERT_EQ(st.u.virq, VIRQ_DEBUG);
		XT_ASSERT_EQ(st.vcpu, cpu);
		XT_ASSERT_EQ(xl_evtchn_port_cpu(p[cpu]), cpu);
	}
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, 0, xt_rec_handler, &r, &q),
		     -XEN_EEXIST);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, nr, xt_rec_handler, &r,
					 &q),
		     -XEN_ENOENT);
	/* A per-vCPU VIRQ cannot move (evtchn_bind_vcpu). */
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(p[0], 1 % nr), -XEN_EINVAL);
	/* VIRQ ports cannot be sent on (evtchn_send: default -EINVAL). */
	XT_ASSERT_EQ(send_port(p[0]), -XEN_EINVAL);
	for (cpu = 0; cpu < nr; cpu++)
		XT_ASSERT_EQ(xl_evtchn_close(p[cpu]), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, p[0], &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, 0, xt_rec_handler, &r, &q),
		     0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	/* r is this frame's: nothing may call its handler after we return. */
	XT_ASSERT_EQ(xl_evtchn_close(q), 0);
	return XT_PASS;
}

/* 64 IPI ports over all vCPUs, rounds of one send each: counts exact. */
static enum xt_result t_exact_counts(enum mode m)
{
	enum { N = 64, ROUNDS = 20 };
	struct xt_rec r[N] = { 0 };
	evtchn_port_t p[N];
	unsigned int i, k, nr = xt_nr_vcpus();
	struct xl_evtchn_stats s;

	MODE_INIT(m);
	for (i = 0; i < N; i++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(i % nr, xt_rec_handler, &r[i],
						&p[i]),
			     0);
	for (k = 0; k < ROUNDS; k++) {
		for (i = 0; i < N; i++)
			XT_ASSERT_EQ(send_port(p[i]), 0);
		for (i = 0; i < N; i++)
			XT_ASSERT_EQ(xt_rec_wait(&r[i], k + 1), k + 1);
	}
	for (i = 0; i < N; i++) {
		REC_OK(&r[i], p[i]);
		XT_ASSERT_EQ(r[i].cpu_mask, 1U << (i % nr));
		XT_ASSERT_EQ(xl_evtchn_port_count(p[i]), ROUNDS);
	}
	xt_stats_sum(&s);
	XT_ASSERT_EQ(s.events, N * ROUNDS);
	XT_ASSERT_EQ(s.stray, 0);
	return XT_PASS;
}

/* Masked port: sends coalesce; unmask delivers exactly once. */
static enum xt_result t_mask_coalesce(enum mode m)
{
	struct xt_rec r = { 0 };
	unsigned int i, cpu = 1 % xt_nr_vcpus();
	evtchn_port_t p;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(cpu, xt_rec_handler, &r, &p), 0);
	XT_ASSERT(!xl_evtchn_is_masked(p));
	xl_evtchn_mask(p);
	XT_ASSERT(xl_evtchn_is_masked(p));
	for (i = 0; i < 10; i++)
		XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT(xl_evtchn_is_pending(p));
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT(!xl_evtchn_is_pending(p));
	XT_ASSERT(!xl_evtchn_is_masked(p));
	REC_OK(&r, p);
	XT_ASSERT_EQ(r.last_cpu, cpu);
	/* And again, with the port masked twice and unmasked once. */
	xl_evtchn_mask(p);
	xl_evtchn_mask(p);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	return XT_PASS;
}

/* Unmasking a port with nothing pending delivers nothing. */
static enum xt_result t_unmask_idle(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	unsigned int i;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	for (i = 0; i < 10; i++) {
		xl_evtchn_mask(p);
		XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	}
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	/* Unmask of a port that is not masked at all. */
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	return XT_PASS;
}

/* Pending cleared while masked: unmask delivers nothing. */
static enum xt_result t_clear_pending(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	xl_evtchn_mask(p);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT(xl_evtchn_is_pending(p));
	xl_evtchn_clear_pending(p);
	XT_ASSERT(!xl_evtchn_is_pending(p));
	XT_ASSERT_EQ(xl_evtchn_unmask(p), 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	return XT_PASS;
}

/*
 * Pending cleared after Xen queued it: with local deliveries off, a send
 * links the unmasked port (FIFO: LINKED and PENDING, READY set; 2-level:
 * the pending and selector bits), then the guest clears PENDING.  The
 * upcall that follows finds the port (FIFO unlinks it) but must not run
 * the handler: only a pending, unmasked word is taken (take_pending,
 * Linux's consume_one_event: "if (evtchn_fifo_is_pending(port) &&
 * !evtchn_fifo_is_masked(port))").  Then a send runs it exactly once.
 */
static enum xt_result t_clear_linked(enum mode m)
{
	struct xt_rec r = { 0 };
	unsigned long flags;
	evtchn_port_t p;
	unsigned int i;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	for (i = 0; i < 3; i++) {
		long rc;
		bool pending;

		flags = xl_os_irq_save();
		rc = send_port(p);
		pending = xl_evtchn_is_pending(p);
		xl_evtchn_clear_pending(p);
		xl_os_irq_restore(flags);
		XT_ASSERT_EQ(rc, 0);
		XT_ASSERT(pending);
		XT_ASSERT(!xl_evtchn_is_pending(p));
		XT_ASSERT_EQ(xt_rec_settle(&r), i);
		XT_ASSERT_EQ(send_port(p), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 1), i + 1);
		XT_ASSERT_EQ(xt_rec_settle(&r), i + 1);
		REC_OK(&r, p);
	}
	return XT_PASS;
}

/*
 * The API with no instance up, before init and after fini: every bind
 * and set_priority -ENODEV without a hypercall that would bind a port
 * Xen then raises into nobody; the port calls -EINVAL (the core has no
 * such port); no ABI, no ports.  In between, one port works.
 */
static enum xt_result no_instance(evtchn_port_t port)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p = 0;

	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
	XT_ASSERT(!strcmp(xl_evtchn_abi_name(), "none"));
	XT_ASSERT_EQ(xl_evtchn_max_ports(), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p),
		     -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, &r, &p),
		     -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(DOMID_SELF, xt_rec_handler, &r,
					     &p),
		     -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(DOMID_SELF, port,
						xt_rec_handler, &r, &p),
		     -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_bind_existing(port, xt_rec_handler, &r),
		     -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_set_priority(port, 0), -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_close(port), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_unmask(port), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(port, 0), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_unbind_existing(port), -XEN_EINVAL);
	XT_ASSERT_EQ(xl_evtchn_suspend(), -XEN_ENODEV);
	XT_ASSERT_EQ(xl_evtchn_resume(false, NULL), -XEN_ENODEV);
	XT_ASSERT(!xl_evtchn_is_pending(port));
	XT_ASSERT(!xl_evtchn_is_masked(port));
	XT_ASSERT_EQ(xl_evtchn_port_type(port), XL_PORT_FREE);
	XT_ASSERT_EQ(p, 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	return XT_PASS;
}

static enum xt_result t_no_instance(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;

	if (no_instance(1) != XT_PASS)
		return XT_FAIL;
	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	xl_evtchn_fini();
	if (no_instance(p) != XT_PASS)
		return XT_FAIL;
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	return XT_PASS;
}

/*
 * A port bound in Xen behind the core's back (the toolstack's, before a
 * driver claims it) starts masked: init masks every port (2-level: all
 * of shared_info's mask words, word 0 included, xl_evtchn_2l_init; FIFO:
 * every word of an event-array page before Xen gets it, expand_one, as
 * Linux's init_array_page), so an event on it raises no upcall at all
 * until a driver binds it, and that bind's unmask delivers it once.
 */
static enum xt_result t_foreign_masked(enum mode m)
{
	struct evtchn_bind_ipi bi = { .vcpu = 0 };
	struct evtchn_send sd;
	struct xl_evtchn_stats st;
	struct xt_rec r = { 0 };

	MODE_INIT(m);
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_ipi, &bi), 0);
	XT_ASSERT(bi.port < 64);
	sd.port = bi.port;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_send, &sd), 0);
	xt_sleep_ns(XT_SETTLE_NS);
	xl_evtchn_get_stats(0, &st);
	XT_ASSERT_EQ(st.upcalls, 0);
	XT_ASSERT_EQ(st.events, 0);
	XT_ASSERT_EQ(xl_evtchn_bind_existing(bi.port, xt_rec_handler, &r), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 1);
	REC_OK(&r, bi.port);
	return XT_PASS;
}

struct irqmask_arg {
	evtchn_port_t port;
	struct xt_rec *r;
	uint64_t during;
	long rc;
};

/* On the port's vCPU: deliveries masked, 5 sends, nothing runs. */
static void irqmask_fn(void *arg)
{
	struct irqmask_arg *a = arg;
	unsigned long flags = xl_os_irq_save();
	unsigned int i;

	a->rc = 0;
	for (i = 0; i < 5; i++)
		a->rc |= xl_evtchn_send(a->port);
	xt_sleep_ns(XT_SETTLE_NS);
	a->during = XT_LOAD(&a->r->count);
	xl_os_irq_restore(flags);
}

/* Local delivery masked (xl_os_irq_save): events wait and coalesce. */
static enum xt_result t_local_mask(enum mode m)
{
	struct xt_rec r0 = { 0 }, r2 = { 0 };
	struct irqmask_arg a;
	evtchn_port_t p0, p2;
	unsigned int cpu2 = 2 % xt_nr_vcpus();

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r0, &p0), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(cpu2, xt_rec_handler, &r2, &p2), 0);
	a = (struct irqmask_arg){ .port = p0, .r = &r0 };
	irqmask_fn(&a);
	XT_ASSERT_EQ(a.rc, 0);
	XT_ASSERT_EQ(a.during, 0);
	XT_ASSERT_EQ(xt_rec_wait(&r0, 1), 1);
	a = (struct irqmask_arg){ .port = p2, .r = &r2 };
	xt_run_on(cpu2, irqmask_fn, &a);
	XT_ASSERT_EQ(a.rc, 0);
	XT_ASSERT_EQ(a.during, 0);
	XT_ASSERT_EQ(xt_rec_wait(&r2, 1), 1);
	XT_ASSERT_EQ(r2.last_cpu, cpu2);
	return XT_PASS;
}

/*
 * Close a port while its event waits (FIFO: LINKED on vCPU 0's queue),
 * then let delivery run: no handler call.  Xen clears PENDING when it
 * frees the port (evtchn_free), so the consumer finds nothing to report
 * either.  The port number is handed out again and works.
 */
static enum xt_result t_close_pending(enum mode m)
{
	struct xt_rec r = { 0 }, r2 = { 0 };
	struct xl_evtchn_stats s;
	unsigned long flags;
	evtchn_port_t p, q;
	unsigned int i;
	long rc, rc2;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	flags = xl_os_irq_save();
	rc = send_port(p);
	rc2 = xl_evtchn_close(p);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(rc2, 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	xt_stats_sum(&s);
	XT_ASSERT_EQ(s.events, 0);
	XT_ASSERT_EQ(s.stray, 0);
	XT_ASSERT_EQ(s.masked_seen, 0);
	/* get_free_port: the lowest free port, ours again now it is
	 * unlinked. */
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r2, &q), 0);
	XT_ASSERT_EQ(q, p);
	XT_ASSERT_EQ(xt_rec_settle(&r2), 0);
	for (i = 0; i < 3; i++) {
		XT_ASSERT_EQ(send_port(q), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r2, i + 1), i + 1);
	}
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	REC_OK(&r2, q);
	return XT_PASS;
}

/* Rebind with an event pending on a masked port: once, on the new vCPU. */
static enum xt_result t_rebind_masked(enum mode m)
{
	struct xt_rec ra = { 0 }, rb = { 0 };
	unsigned int to = 2 % xt_nr_vcpus();
	evtchn_port_t a, b;

	MODE_INIT(m);
	XT_ASSERT_EQ(xt_loopback(&ra, &rb, &a, &b), 0);
	XT_ASSERT_EQ(rb.last_cpu, 0);
	xl_evtchn_mask(b);
	XT_ASSERT_EQ(send_port(a), 0);
	XT_ASSERT_EQ(xt_rec_settle(&rb), 1);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, to), 0);
	XT_ASSERT_EQ(xl_evtchn_port_cpu(b), to);
	XT_ASSERT(xl_evtchn_is_masked(b)); /* stays as it was */
	XT_ASSERT_EQ(xt_rec_settle(&rb), 1);
	XT_ASSERT_EQ(xl_evtchn_unmask(b), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rb, 2), 2);
	XT_ASSERT_EQ(rb.last_cpu, to);
	REC_OK(&rb, b);
	XT_ASSERT_EQ(send_port(a), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rb, 3), 3);
	XT_ASSERT_EQ(rb.last_cpu, to);
	XT_ASSERT_EQ(xt_rec_settle(&ra), 0);
	return XT_PASS;
}

/*
 * Rebind while the event waits on the old vCPU (its delivery masked; FIFO:
 * LINKED on the old vCPU's queue): delivered exactly once.  2-level: on
 * the new vCPU (Xen's unmask raises it there).  FIFO: on the old one,
 * which unlinks it and handles it (Linux's consume_one_event; the
 * unmask at the move finds it LINKED and leaves it, evtchn_fifo_set_pending).
 * The next event lands on the new vCPU in both.
 */
static enum xt_result t_rebind_linked(enum mode m)
{
	struct xt_rec ra = { 0 }, rb = { 0 };
	unsigned int to = 3 % xt_nr_vcpus();
	unsigned long flags;
	evtchn_port_t a, b;
	int rc;

	MODE_INIT(m);
	XT_ASSERT_EQ(xt_loopback(&ra, &rb, &a, &b), 0);
	/* 2-level: Xen's unmask raises it on the new vCPU at once; FIFO:
	 * it stays linked on vCPU 0 until vCPU 0's consumer takes it. */
	flags = xl_os_irq_save();
	rc = send_port(a);
	if (!rc)
		rc = xl_evtchn_bind_vcpu(b, to);
	xt_sleep_ns(XT_SETTLE_NS);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(xt_rec_wait(&rb, 2), 2);
	XT_ASSERT_EQ(rb.last_cpu, m == M_FIFO ? 0 : to);
	XT_ASSERT_EQ(xt_rec_settle(&rb), 2);
	XT_ASSERT_EQ(send_port(a), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rb, 3), 3);
	XT_ASSERT_EQ(rb.last_cpu, to);
	REC_OK(&rb, b);
	return XT_PASS;
}

/* Move a port around all vCPUs; each event lands where the port is. */
static enum xt_result t_rebind_tour(enum mode m)
{
	struct xt_rec r = { 0 };
	unsigned int i, nr = xt_nr_vcpus();
	evtchn_port_t a, b;

	MODE_INIT(m);
	XT_ASSERT_EQ(xt_loopback(NULL, &r, &a, &b), 0);
	for (i = 0; i < 4 * nr; i++) {
		unsigned int cpu = (i + 1) % nr;

		XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, cpu), 0);
		XT_ASSERT_EQ(send_port(a), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 2), i + 2);
		XT_ASSERT_EQ(r.last_cpu, cpu);
	}
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, nr), -XEN_ENOENT);
	REC_OK(&r, b);
	return XT_PASS;
}

/* fini then init again: a clean second life. */
static enum xt_result t_reinit(enum mode m)
{
	struct xl_evtchn_stats st;
	struct xt_rec r = { 0 };
	evtchn_port_t p, q;
	unsigned int cpu;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	xl_evtchn_fini();
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
	MODE_INIT(m);
	/* A new instance counts from zero, on every vCPU (vCPU 0 too). */
	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++) {
		xl_evtchn_get_stats(cpu, &st);
		XT_ASSERT_MSG(!st.upcalls && !st.events && !st.spurious &&
				      !st.stray && !st.deferred,
			      "vCPU %u after re-init: %llu upcalls %llu events",
			      cpu, (unsigned long long)st.upcalls,
			      (unsigned long long)st.events);
	}
	r = (struct xt_rec){ 0 };
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1 % xt_nr_vcpus(), xt_rec_handler, &r,
					&q),
		     0);
	XT_ASSERT_EQ(q, p);
	XT_ASSERT_EQ(send_port(q), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_cpu, 1 % xt_nr_vcpus());
	xt_rec_settle(&r);
	xl_evtchn_get_stats(1 % xt_nr_vcpus(), &st);
	XT_ASSERT_EQ(st.events, 1);
	XT_ASSERT_EQ(xl_evtchn_init(NULL), -XEN_EEXIST);
	return XT_PASS;
}

/* set_priority: FIFO takes 0..15 (-EINVAL above), 2-level -ENOSYS. */
static enum xt_result t_set_priority(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	unsigned int prio;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	if (m == M_FIFO) {
		for (prio = 0; prio <= EVTCHN_FIFO_PRIORITY_MIN; prio++)
			XT_ASSERT_EQ(xl_evtchn_set_priority(p, prio), 0);
		XT_ASSERT_EQ(xl_evtchn_set_priority(p, 16), -XEN_EINVAL);
		XT_ASSERT_EQ(xl_evtchn_set_priority(p, ~0U), -XEN_EINVAL);
	} else {
		/* evtchn_port_set_priority: no set_priority op -> -ENOSYS */
		XT_ASSERT_EQ(xl_evtchn_set_priority(p, 7), -XEN_ENOSYS);
		XT_ASSERT_EQ(xl_evtchn_set_priority(p, 16), -XEN_ENOSYS);
	}
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	return XT_PASS;
}

/*
 * A port the toolstack bound whose notify vCPU is not 0.  Xen keeps a
 * port's notify vCPU until it is closed (evtchn_bind_vcpu; evtchn_free
 * resets it to 0), so after bind_existing, bind_vcpu(1) and
 * unbind_existing the open port still notifies vCPU 1, and a second
 * bind_existing must learn that from Xen (EVTCHNOP_status gives vcpu):
 * recording vCPU 0 made FIFO's vCPU 1 forward the event to itself for
 * ever and 2-level's vCPU 1 skip it (lost).  Each send: one run, on 1.
 */
static enum xt_result t_bind_existing_notify_vcpu1(enum mode m)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	struct evtchn_close cl = { 0 };
	struct evtchn_status st;
	struct xt_rec r = { 0 };
	evtchn_port_t a, b;
	unsigned int i;

	MODE_INIT(m);
	/* The "toolstack": a loopback pair the core did not bind. */
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
	a = au.port;
	bi.remote_port = a;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_interdomain, &bi), 0);
	b = bi.local_port;
	/* evtchn_bind_interdomain raised b: delivered once bound here. */
	XT_ASSERT_EQ(xl_evtchn_bind_existing(b, xt_rec_handler, &r), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_cpu, 0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(b, 1), 0);
	XT_ASSERT_EQ(xl_evtchn_unbind_existing(b), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, b, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.vcpu, 1);
	XT_ASSERT_EQ(xl_evtchn_bind_existing(b, xt_rec_handler, &r), 0);
	XT_ASSERT_EQ(xl_evtchn_port_cpu(b), 1);
	for (i = 0; i < 5; i++) {
		XT_ASSERT_EQ(send_port(a), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 2), i + 2);
		XT_ASSERT_EQ(r.last_cpu, 1);
	}
	REC_OK(&r, b);
	XT_ASSERT_EQ(r.cpu_mask, 3);
	XT_ASSERT_EQ(xl_evtchn_close(b), 0);
	cl.port = a;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	/* A port that is not open cannot be taken over. */
	XT_ASSERT_EQ(xl_evtchn_bind_existing(a, xt_rec_handler, &r),
		     -XEN_EINVAL);
	return XT_PASS;
}

/*
 * A port the toolstack bound whose notify vCPU is one the core does not
 * serve: the core runs on vCPUs 0 and 1 only, and the port notifies
 * vCPU 2, the first one past them.  bind_existing moves it to vCPU 0 in
 * Xen first (EVTCHNOP_bind_vcpu: Xen's status then says 0), records 0,
 * and its events run there, each once (2-level scans a port only on the
 * vCPU recorded, and vCPU 2 runs no upcall of ours).
 */
static enum xt_result t_bind_existing_unserved_vcpu(enum mode m)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	struct evtchn_bind_vcpu bv = { .vcpu = 2 };
	struct evtchn_close cl = { 0 };
	struct evtchn_status st;
	struct xt_rec r = { 0 };
	evtchn_port_t a, b;
	unsigned int i;

	MODE_INIT_N(m, 2);
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
	a = au.port;
	bi.remote_port = a;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_interdomain, &bi), 0);
	b = bi.local_port;
	bv.port = b;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_vcpu, &bv), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, b, &st), 0);
	XT_ASSERT_EQ(st.vcpu, 2);
	/* evtchn_bind_interdomain raised b: delivered once bound here. */
	XT_ASSERT_EQ(xl_evtchn_bind_existing(b, xt_rec_handler, &r), 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(b), XL_PORT_INTERDOMAIN);
	XT_ASSERT_EQ(xl_evtchn_port_cpu(b), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, b, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_interdomain);
	XT_ASSERT_EQ(st.vcpu, 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_cpu, 0);
	for (i = 0; i < 5; i++) {
		XT_ASSERT_EQ(send_port(a), 0);
		XT_ASSERT_EQ(xt_rec_wait(&r, i + 2), i + 2);
	}
	REC_OK(&r, b);
	XT_ASSERT_EQ(r.cpu_mask, 1);
	XT_ASSERT_EQ(xl_evtchn_close(b), 0);
	cl.port = a;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	return XT_PASS;
}

/*
 * unbind_existing from a handler: of another port it is refused,
 * -EDEADLK, with nothing changed (it would wait for that port's handler,
 * as close does: xen-evtchn.c close_must_wait_here); the port stays bound
 * and takes its events, and thread context unbinds it.  A handler may
 * unbind its own port.  suspend and resume from a handler are refused
 * the same way.
 */
static struct ue {
	evtchn_port_t other; /* the port the IPI's handler tries */
	int rc_other, rc_self, rc_suspend, rc_resume;
	uint32_t done, self_done; /* atomic */
} ue;

static void ue_ipi(evtchn_port_t port, void *data)
{
	if (XT_LOAD(&ue.done))
		return;
	ue.rc_other = xl_evtchn_unbind_existing(ue.other);
	ue.rc_suspend = xl_evtchn_suspend();
	ue.rc_resume = xl_evtchn_resume(false, NULL);
	XT_STORE(&ue.done, 1);
}

static void ue_self(evtchn_port_t port, void *data)
{
	struct xt_rec *r = data;

	xt_rec_handler(port, r);
	if (XT_LOAD(&r->count) == 3) {
		ue.rc_self = xl_evtchn_unbind_existing(port);
		XT_STORE(&ue.self_done, 1);
	}
}

static bool ue_flag(void *arg)
{
	return XT_LOAD((uint32_t *)arg) != 0;
}

static enum xt_result t_unbind_existing_in_handler(enum mode m)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	struct evtchn_close cl = { 0 };
	struct xt_rec r = { 0 };
	evtchn_port_t a, b, h;

	memset(&ue, 0, sizeof(ue));
	MODE_INIT(m);
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
	a = au.port;
	bi.remote_port = a;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_interdomain, &bi), 0);
	b = bi.local_port;
	XT_ASSERT_EQ(xl_evtchn_bind_existing(b, ue_self, &r), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1); /* raised at bind */
	ue.other = b;
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, ue_ipi, NULL, &h), 0);
	XT_ASSERT_EQ(send_port(h), 0);
	XT_ASSERT(xt_wait_until(ue_flag, &ue.done, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(ue.rc_other, -XEN_EDEADLK);
	/* Nor may a handler suspend or resume the core (docs/save-restore.md:
	 * thread context, every other vCPU quiesced). */
	XT_ASSERT_EQ(ue.rc_suspend, -XEN_EDEADLK);
	XT_ASSERT_EQ(ue.rc_resume, -XEN_EDEADLK);
	XT_ASSERT_EQ(xl_evtchn_port_type(b), XL_PORT_INTERDOMAIN);
	XT_ASSERT(!xl_evtchn_is_masked(b));
	XT_ASSERT_EQ(send_port(a), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 2), 2);
	/* Its own handler unbinds it on the third event. */
	XT_ASSERT_EQ(send_port(a), 0);
	XT_ASSERT(xt_wait_until(ue_flag, &ue.self_done, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(ue.rc_self, 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(b), XL_PORT_FREE);
	XT_ASSERT_EQ(send_port(a), 0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 3);
	REC_OK(&r, b);
	XT_ASSERT_EQ(xl_evtchn_close(h), 0);
	cl.port = a;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	cl.port = b;
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	return XT_PASS;
}

/*
 * fini while an upcall runs on another vCPU.  The handler (vCPU 1) closes
 * its own port, so fini finds nothing bound to wait for, then stays in
 * its upcall up to 300 ms.  fini frees the port table and the FIFO
 * control blocks the upcall still reads, so it must wait for every
 * vCPU's upcall to end first: the handler must return before fini does.
 */
struct fwu {
	uint32_t in_handler; /* 1 running, 2 returned */
	uint32_t fini_done;
	uint32_t saw_fini_done;
	long close_rc;
};

static bool fwu_fini_done(void *arg)
{
	return XT_LOAD(&((struct fwu *)arg)->fini_done);
}

static void fwu_handler(evtchn_port_t port, void *data)
{
	struct fwu *f = data;

	if (XT_LOAD(&f->in_handler))
		return;
	f->close_rc = xl_evtchn_close(port);
	XT_STORE(&f->in_handler, 1);
	xt_wait_until(fwu_fini_done, f, 300000000ULL);
	XT_STORE(&f->saw_fini_done, XT_LOAD(&f->fini_done));
	XT_STORE(&f->in_handler, 2);
}

static bool fwu_in(void *arg)
{
	return XT_LOAD(&((struct fwu *)arg)->in_handler) == 1;
}

static bool fwu_out(void *arg)
{
	return XT_LOAD(&((struct fwu *)arg)->in_handler) == 2;
}

/*
 * The same with the roles swapped: the upcall on vCPU 0 (the test's own,
 * taken on return from its send), fini on the last vCPU, which must wait
 * for vCPU 0's upcall as for any other (quiesce_upcalls skips only the
 * caller's own vCPU).
 */
static struct fwu fwu0;

static void fwu0_fini(void *arg)
{
	if (!xt_wait_until(fwu_in, &fwu0, XT_EVENT_TIMEOUT_NS))
		return;
	xl_evtchn_fini();
	XT_STORE(&fwu0.fini_done, 1);
}

static enum xt_result t_fini_while_upcall0(enum mode m)
{
	unsigned int last = xt_nr_vcpus() - 1;
	evtchn_port_t p;

	fwu0 = (struct fwu){ 0 };
	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, fwu_handler, &fwu0, &p), 0);
	xt_start_on(last, fwu0_fini, NULL);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT(xt_wait_until(fwu_out, &fwu0, XT_EVENT_TIMEOUT_NS));
	xt_wait_on(last);
	XT_ASSERT_EQ(fwu0.close_rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&fwu0.fini_done), 1);
	XT_ASSERT_EQ(fwu0.saw_fini_done, 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
	return XT_PASS;
}

static enum xt_result t_fini_while_upcall(enum mode m)
{
	static struct fwu f;
	struct xt_rec r = { 0 };
	evtchn_port_t p, q;

	f = (struct fwu){ 0 };
	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &q), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, fwu_handler, &f, &p), 0);
	XT_ASSERT_EQ(send_port(p), 0);
	XT_ASSERT(xt_wait_until(fwu_in, &f, XT_EVENT_TIMEOUT_NS));
	xl_evtchn_fini();
	XT_STORE(&f.fini_done, 1);
	XT_ASSERT(xt_wait_until(fwu_out, &f, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(f.close_rc, 0);
	XT_ASSERT_EQ(f.saw_fini_done, 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_NONE);
	/* A clean second life on the same vCPUs. */
	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &q), 0);
	XT_ASSERT_EQ(send_port(q), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_cpu, 1);
	return XT_PASS;
}

/* --- the table of per-mode cases ---------------------------------------- */

#define MODES(name)                               \
	static enum xt_result fifo_##name(void)   \
	{                                         \
		return t_##name(M_FIFO);          \
	}                                         \
	static enum xt_result l2_##name(void)     \
	{                                         \
		return t_##name(M_2L);            \
	}                                         \
	static enum xt_result nofifo_##name(void) \
	{                                         \
		return t_##name(M_NOFIFO);        \
	}

MODES(interdomain_peer)
MODES(unbound_peer_binds)
MODES(loopback)
MODES(ipi_self)
MODES(ipi_cross)
MODES(virq_timer)
MODES(virq_bind)
MODES(exact_counts)
MODES(mask_coalesce)
MODES(unmask_idle)
MODES(clear_pending)
MODES(clear_linked)
MODES(no_instance)
MODES(foreign_masked)
MODES(local_mask)
MODES(close_pending)
MODES(rebind_masked)
MODES(rebind_linked)
MODES(rebind_tour)
MODES(reinit)
MODES(set_priority)
MODES(bind_existing_notify_vcpu1)
MODES(bind_existing_unserved_vcpu)
MODES(unbind_existing_in_handler)
MODES(fini_while_upcall)
MODES(fini_while_upcall0)

/* --- FIFO only ----------------------------------------------------------- */

static enum xt_result fifo_init(void)
{
	return mode_init_n(M_FIFO, xt_nr_vcpus());
}

#define FIFO_INIT()                               \
	do {                                      \
		enum xt_result mr_ = fifo_init(); \
		if (mr_ != XT_PASS)               \
			return mr_;               \
	} while (0)

/* 16 ports, priorities 0..15 in scrambled order: handled by priority. */
static enum xt_result fifo_priority_order(void)
{
	enum { N = 16 };
	struct xt_rec r[N] = { 0 };
	uint32_t log[2 * N], len = 0;
	evtchn_port_t p[N];
	unsigned long flags;
	unsigned int i;

	FIFO_INIT();
	for (i = 0; i < N; i++) {
		unsigned int prio = (i * 7 + 3) % N;

		r[i] = (struct xt_rec){ .log = log,
					.log_len = &len,
					.log_max = 2 * N,
					.tag = prio };
		XT_ASSERT_EQ(
			xl_evtchn_bind_ipi(0, xt_rec_handler, &r[i], &p[i]), 0);
		XT_ASSERT_EQ(xl_evtchn_set_priority(p[i], prio), 0);
	}
	flags = xl_os_irq_save();
	for (i = 0; i < N; i++)
		send_port(p[(i * 5) % N]);
	xl_os_irq_restore(flags);
	for (i = 0; i < N; i++)
		XT_ASSERT_EQ(xt_rec_wait(&r[i], 1), 1);
	XT_ASSERT_EQ(XT_LOAD(&len), N);
	for (i = 0; i < N; i++)
		XT_ASSERT_MSG(log[i] == i, "handled #%u had priority %u", i,
			      log[i]);
	return XT_PASS;
}

static evtchn_port_t preempt_port;

static void preempt_hook(struct xt_rec *r)
{
	if (XT_LOAD(&r->count) == 0)
		xl_evtchn_send(preempt_port);
}

/* A high-priority event raised by a low-priority handler goes next. */
static enum xt_result fifo_priority_preempt(void)
{
	enum { NL = 5 };
	struct xt_rec rl[NL] = { 0 }, rh = { 0 };
	uint32_t log[16], len = 0;
	evtchn_port_t pl[NL];
	unsigned long flags;
	unsigned int i;
	const uint32_t want[] = { 0, 100, 1, 2, 3, 4 };

	FIFO_INIT();
	rh = (struct xt_rec){
		.log = log, .log_len = &len, .log_max = 16, .tag = 100
	};
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rh, &preempt_port),
		     0);
	XT_ASSERT_EQ(xl_evtchn_set_priority(preempt_port, 2), 0);
	for (i = 0; i < NL; i++) {
		rl[i] = (struct xt_rec){
			.log = log, .log_len = &len, .log_max = 16, .tag = i
		};
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rl[i],
						&pl[i]),
			     0);
		XT_ASSERT_EQ(xl_evtchn_set_priority(pl[i], 10), 0);
	}
	rl[0].hook = preempt_hook;
	flags = xl_os_irq_save();
	for (i = 0; i < NL; i++)
		send_port(pl[i]);
	xl_os_irq_restore(flags);
	XT_ASSERT_EQ(xt_rec_wait(&rh, 1), 1);
	for (i = 0; i < NL; i++)
		XT_ASSERT_EQ(xt_rec_wait(&rl[i], 1), 1);
	XT_ASSERT_EQ(XT_LOAD(&len), NL + 1);
	for (i = 0; i < NL + 1; i++)
		XT_ASSERT_MSG(log[i] == want[i], "handled #%u was %u, not %u",
			      i, log[i], want[i]);
	return XT_PASS;
}

/*
 * Close a port whose event is still LINKED: Xen does not hand the port
 * out again while it is linked (evtchn_allocate_port -> evtchn_is_busy,
 * Xen commit 78e24c269b); once the consumer unlinked it, it does.
 */
static enum xt_result fifo_close_linked_busy(void)
{
	struct xt_rec r = { 0 }, rq = { 0 }, rr = { 0 };
	unsigned long flags;
	evtchn_port_t p, q, x;

	FIFO_INIT();
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	flags = xl_os_irq_save();
	send_port(p);
	xl_evtchn_close(p);
	xl_evtchn_bind_ipi(0, xt_rec_handler, &rq, &q);
	send_port(q);
	xl_os_irq_restore(flags);
	XT_ASSERT(q != p);
	XT_ASSERT_EQ(xt_rec_wait(&rq, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rr, &x), 0);
	XT_ASSERT_EQ(x, p);
	XT_ASSERT_EQ(send_port(x), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rr, 1), 1);
	XT_ASSERT_EQ(xt_rec_settle(&rq), 1);
	REC_OK(&rr, x);
	return XT_PASS;
}

/* --- every port the ABI can name ------------------------------------------ */

struct many {
	uint32_t *count;
	evtchn_port_t *sender; /* send on sender[p] to raise p */
	unsigned int nr, max_port;
	uint64_t total;
};

static struct many many;

static void many_handler(evtchn_port_t port, void *data)
{
	if (data != &many || port > many.max_port) {
		XT_ADD(&many.count[0], 1);
		return;
	}
	XT_ADD(&many.count[port], 1);
	XT_ADD(&many.total, 1);
}

static bool many_total_reached(void *arg)
{
	return XT_LOAD(&many.total) >= *(uint64_t *)arg;
}

/*
 * Bind every port up to the limit (loopback pairs, one IPI for an odd
 * port out), check the next bind fails with -ENOSPC, raise every port
 * once with delivery masked, and count each handled exactly once.
 * Xen's limit: ports 1 .. min(max_evtchn_port, max_evtchns(d) - 1)
 * (evtchn_allocate_port: "port > d->max_evtchn_port || port >=
 * max_evtchns(d)" -> -ENOSPC; port 0 is reserved).
 */
static enum xt_result many_ports(enum mode m, unsigned int max_port)
{
	unsigned int nports = max_port, bound = 0, i;
	uint64_t want, pairs = 0;
	evtchn_port_t a, b, p;
	unsigned long flags;
	enum xt_result res = XT_FAIL;
	int rc;

	XT_SKIP_IF(xt_set_max_evtchns(131071), "cannot raise max_evtchns");
	MODE_INIT(m);
	many = (struct many){ .max_port = max_port };
	many.count = calloc(max_port + 1, sizeof(*many.count));
	many.sender = calloc(max_port + 1, sizeof(*many.sender));
	if (!many.count || !many.sender)
		goto out;
	while (bound + 2 <= nports) {
		rc = xl_evtchn_alloc_unbound(DOMID_SELF, many_handler, &many,
					     &a);
		if (rc)
			break;
		rc = xl_evtchn_bind_interdomain(DOMID_SELF, a, many_handler,
						&many, &b);
		if (rc)
			break;
		if (a > max_port || b > max_port)
			break;
		many.sender[b] = a;
		many.sender[a] = b;
		bound += 2;
		pairs++;
	}
	if (rc || bound + 2 <= nports) {
		xt_fail_msg(__FILE__, __LINE__, "bound %u of %u ports: %d",
			    bound, nports, rc);
		goto out;
	}
	if (bound < nports) {
		rc = xl_evtchn_bind_ipi(0, many_handler, &many, &p);
		if (rc || p > max_port) {
			xt_fail_msg(__FILE__, __LINE__, "last IPI: %d port %u",
				    rc, p);
			goto out;
		}
		many.sender[p] = p;
		bound++;
	}
	rc = xl_evtchn_bind_ipi(0, many_handler, &many, &p);
	if (rc != -XEN_ENOSPC) {
		xt_fail_msg(__FILE__, __LINE__,
			    "bind beyond %u ports: %d, want -ENOSPC", bound,
			    rc);
		goto out;
	}
	/* The bind-time events of the interdomain ends. */
	if (!xt_wait_until(many_total_reached, &pairs, XT_EVENT_TIMEOUT_NS)) {
		xt_fail_msg(__FILE__, __LINE__, "bind events %llu of %llu",
			    (unsigned long long)XT_LOAD(&many.total),
			    (unsigned long long)pairs);
		goto out;
	}
	xt_sleep_ns(XT_SETTLE_NS);
	for (i = 0; i <= max_port; i++)
		XT_STORE(&many.count[i], 0);
	XT_STORE(&many.total, 0);

	flags = xl_os_irq_save();
	for (i = 1; i <= max_port; i++)
		if (many.sender[i] && send_port(many.sender[i]))
			break;
	xl_os_irq_restore(flags);
	if (i <= max_port) {
		xt_fail_msg(__FILE__, __LINE__, "send for port %u failed", i);
		goto out;
	}
	want = nports;
	xt_wait_until(many_total_reached, &want, 10 * XT_EVENT_TIMEOUT_NS);
	xt_sleep_ns(XT_SETTLE_NS);
	if (XT_LOAD(&many.count[0])) {
		xt_fail_msg(__FILE__, __LINE__, "%u bad handler calls",
			    many.count[0]);
		goto out;
	}
	for (i = 1; i <= max_port; i++) {
		if (XT_LOAD(&many.count[i]) != 1) {
			xt_fail_msg(__FILE__, __LINE__,
				    "port %u handled %u times (total %llu)", i,
				    many.count[i],
				    (unsigned long long)many.total);
			goto out;
		}
	}
	xt_log("%u ports bound, raised and handled once each (%s)", bound,
	       xl_evtchn_abi_name());
	res = XT_PASS;
out:
	xl_evtchn_fini();
	free(many.count);
	free(many.sender);
	many = (struct many){ 0 };
	return res;
}

static enum xt_result fifo_ports_131071(void)
{
	return many_ports(M_FIFO, EVTCHN_FIFO_NR_CHANNELS - 1);
}

/* 2-level: 64 x 64 bits, port 0 reserved: 4,095 usable ports. */
static enum xt_result l2_ports_4095(void)
{
	return many_ports(M_2L, 64 * 64 - 1);
}

static enum xt_result nofifo_ports_4095(void)
{
	return many_ports(M_NOFIFO, 64 * 64 - 1);
}

/*
 * XT_LINUX marks a case that also runs in xenlite.ko beside the live
 * guest (linux/xt-host.c): its fifo/ entry only, since the module's core
 * keeps the ABI it chose at load (FIFO), and only cases that touch the
 * ports they bind and no global count.
 */
#define T3F(name, back, vcpus, peer, f)                                         \
	{ "fifo/" #name, back, vcpus, peer, fifo_##name, f },                   \
		{ "2l/" #name, (back) & ~XT_LINUX, vcpus, peer, l2_##name, f }, \
	{                                                                       \
		"nofifo/" #name, XT_HV, vcpus, peer, nofifo_##name,             \
			XT_F_NO_FIFO                                            \
	}
#define T3(name, back, vcpus, peer) T3F(name, back, vcpus, peer, 0)
/* Upcall delivery and masking: also as a PV guest on hv (NAME@pv). */
#define T3PV(name, back, vcpus, peer) \
	T3F(name, back, vcpus, peer, XT_F_FLAVOURS)

const struct xt_test xt_evtchn_tests[] = {
	T3(interdomain_peer, XT_ALL, 1, true),
	T3(unbound_peer_binds, XT_ALL, 1, true),
	/* The peer-side operations of tools/evtchn-peer (hv's has none). */
	{ "fifo/peer_ctl", XT_XEN_DOMU, 1, true, fifo_peer_ctl, 0 },
	{ "2l/peer_ctl", XT_XEN_DOMU, 1, true, l2_peer_ctl, 0 },
	T3(loopback, XT_ALL | XT_LINUX, 1, false),
	T3PV(ipi_self, XT_ALL | XT_LINUX, 1, false),
	T3PV(ipi_cross, XT_ALL | XT_LINUX, 2, false),
	T3(virq_timer, XT_ALL, 1, false),
	T3(virq_bind, XT_ALL | XT_LINUX, 2, false),
	T3(exact_counts, XT_ALL, 1, false),
	T3PV(mask_coalesce, XT_ALL | XT_LINUX, 1, false),
	T3PV(unmask_idle, XT_ALL | XT_LINUX, 1, false),
	T3(clear_pending, XT_ALL | XT_LINUX, 1, false),
	T3(clear_linked, XT_ALL | XT_LINUX, 1, false),
	T3(no_instance, XT_ALL, 1, false),
	T3(foreign_masked, XT_ALL, 1, false),
	T3PV(local_mask, XT_ALL | XT_LINUX, 1, false),
	T3(close_pending, XT_ALL, 1, false),
	T3(rebind_masked, XT_ALL | XT_LINUX, 2, false),
	T3(rebind_linked, XT_ALL | XT_LINUX, 2, false),
	T3(rebind_tour, XT_ALL | XT_LINUX, 2, false),
	T3(reinit, XT_ALL, 1, false),
	T3(set_priority, XT_ALL, 1, false),
	T3(bind_existing_notify_vcpu1, XT_ALL, 2, false),
	/* hv: a domain with more vCPUs than the core serves. */
	T3(bind_existing_unserved_vcpu, XT_HV, 3, false),
	T3(unbind_existing_in_handler, XT_HV, 1, false),
	T3(fini_while_upcall, XT_ALL, 2, false),
	T3(fini_while_upcall0, XT_HV, 2, false),
	{ "fifo/priority_order", XT_ALL, 1, false, fifo_priority_order, 0 },
	{ "fifo/priority_preempt", XT_ALL, 1, false, fifo_priority_preempt, 0 },
	{ "fifo/close_linked_busy", XT_ALL, 1, false, fifo_close_linked_busy,
	  0 },
	{ "fifo/ports_131071", XT_HV, 1, false, fifo_ports_131071, 0 },
	{ "2l/ports_4095", XT_HV, 1, false, l2_ports_4095, 0 },
	{ "nofifo/ports_4095", XT_HV, 1, false, nofifo_ports_4095,
	  XT_F_NO_FIFO },
};

const unsigned int xt_evtchn_nr_tests =
	sizeof(xt_evtchn_tests) / sizeof(xt_evtchn_tests[0]);
