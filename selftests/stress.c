// SPDX-License-Identifier: GPL-2.0
/*
 * xl-stress: exact event accounting under load.
 *
 * The guest's vCPUs receive on interdomain ports (several per vCPU, FIFO
 * priorities mixed); the peer domain's vCPUs send.  Before each send the
 * sender bumps the port's sequence number; the handler reads it at entry
 * and records the highest value seen.  Receivers idle in SCHEDOP_block
 * (the runner's idle loop) between events.  At quiescence every port's
 * handler must have seen its final sequence number: an event sent and
 * never handled (a lost wakeup, a lost link) shows up as seen < seq.
 *
 * Meanwhile the controller (guest vCPU 0) runs mask phases (mask ports,
 * send to them: the handler must not run; unmask: exactly one run) and
 * moves ports between vCPUs.  At the end: hv's FIFO queue invariants
 * (hv_fifo_check) and the core's statistics against the handlers' counts.
 *
 *   xl-stress [--ci | --long | --sanitizer | --sends N] [xt options]
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hv.h>
#include <hv-guest.h>
#include <xenlite/idle.h>

#include "xt-util.h"

#define NR_SENDERS 8
#define CTL_PCPU NR_SENDERS /* peer vCPU the controller sends from */
#define PORTS_PER_SENDER 4
#define NR_PORTS (NR_SENDERS * PORTS_PER_SENDER)
#define MASK_SET 4
#define MASK_SENDS 3
#define PACE 4

struct st_port {
	evtchn_port_t gport, pport;
	uint64_t seq;	/* sender's counter, bumped before each send */
	uint64_t seen;	/* highest seq a handler read at entry */
	uint64_t count; /* handler runs */
	uint32_t in, concurrent, bad_port;
	uint32_t phase;	  /* the controller owns the port now */
	uint32_t sending; /* a sender is between its phase check and send */
	uint32_t cpu, prio;
};

struct sender {
	unsigned int id;
	uint64_t n; /* iterations */
	uint64_t sent, skipped, errors;
};

static struct {
	struct st_port port[NR_PORTS];
	struct sender snd[NR_SENDERS];
	uint64_t total; /* sends to do */
	uint32_t senders_done;
	uint32_t stop; /* the test failed: senders give up */
	uint64_t mask_phases, rebinds;
} st;

static uint64_t opt_sends = 10000000ULL;

static void st_handler(evtchn_port_t port, void *data)
{
	struct st_port *sp = data;
	uint64_t s = XT_LOAD(&sp->seq);

	if (XT_ADD(&sp->in, 1) != 1)
		XT_ADD(&sp->concurrent, 1);
	/* gport is 0 until bind returned (the bind-time event). */
	if (XT_LOAD(&sp->gport) && port != XT_LOAD(&sp->gport))
		XT_ADD(&sp->bad_port, 1);
	if (s > XT_LOAD(&sp->seen))
		XT_STORE(&sp->seen, s);
	XT_ADD(&sp->count, 1);
	XT_ADD(&sp->in, -1);
}

/* Peer vCPU: send round-robin on its ports. */
static void sender_fn(void *arg)
{
	struct sender *s = arg;
	struct evtchn_send op;
	uint64_t i;

	for (i = 0; s->sent < s->n && !s->errors && !XT_LOAD(&st.stop); i++) {
		struct st_port *sp =
			&st.port[s->id + NR_SENDERS * (i % PORTS_PER_SENDER)];

		XT_STORE(&sp->sending, 1);
		if (XT_LOAD(&sp->phase)) {
			s->skipped++;
		} else {
			XT_ADD(&sp->seq, 1);
			op.port = sp->pport;
			if (xt_peer_hc(__HYPERVISOR_event_channel_op,
				       EVTCHNOP_send, (unsigned long)&op, 0))
				s->errors++;
			else
				s->sent++;
		}
		XT_STORE(&sp->sending, 0);
		/*
		 * Odd senders pace themselves now and then: wait (briefly)
		 * for the handler to catch up, so receivers really block
		 * and wake instead of seeing one long coalesced burst.
		 */
		if ((s->id & 1) && !(i % PACE)) {
			uint64_t end = xt_now_ns() + 2000000;

			while (XT_LOAD(&sp->seen) < XT_LOAD(&sp->seq) &&
			       xt_now_ns() < end)
				sched_yield();
		}
	}
	XT_ADD(&st.senders_done, 1);
}

static void noop(void *arg)
{
}

/* Every handler that took an event before now has returned. */
static void flush_all(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++)
		xt_run_on(cpu, noop, NULL);
}

struct phase_wait {
	struct st_port **sp;
	uint64_t *c0;
	unsigned int n;
};

static bool phase_delivered(void *arg)
{
	struct phase_wait *w = arg;
	unsigned int i;

	for (i = 0; i < w->n; i++)
		if (XT_LOAD(&w->sp[i]->count) < w->c0[i] + 1 ||
		    XT_LOAD(&w->sp[i]->seen) != XT_LOAD(&w->sp[i]->seq))
			return false;
	return true;
}

/* Mask a few ports, send to them, check nothing runs; unmask: one run. */
static enum xt_result mask_phase(unsigned int round)
{
	struct st_port *sp[MASK_SET];
	uint64_t c0[MASK_SET];
	struct phase_wait w = { sp, c0, MASK_SET };
	unsigned int i, k, n = 0;

	for (i = 0; i < MASK_SET; i++) {
		sp[i] = &st.port[(round * 5 + i * 9) % NR_PORTS];
		XT_STORE(&sp[i]->phase, 1);
	}
	for (i = 0; i < MASK_SET; i++)
		while (XT_LOAD(&sp[i]->sending))
			xt_sleep_ns(1000 * (++n > 100));
	for (i = 0; i < MASK_SET; i++)
		xl_evtchn_mask(sp[i]->gport);
	flush_all();
	for (i = 0; i < MASK_SET; i++)
		c0[i] = XT_LOAD(&sp[i]->count);
	for (i = 0; i < MASK_SET; i++) {
		for (k = 0; k < MASK_SENDS; k++) {
			XT_ADD(&sp[i]->seq, 1);
			XT_ASSERT_EQ(xt_peer_send(CTL_PCPU, sp[i]->pport), 0);
		}
	}
	xt_sleep_ns(1000000);
	for (i = 0; i < MASK_SET; i++) {
		XT_ASSERT_MSG(XT_LOAD(&sp[i]->count) == c0[i],
			      "port %u: handler ran %llu times while masked",
			      sp[i]->gport,
			      (unsigned long long)(sp[i]->count - c0[i]));
		XT_ASSERT_MSG(xl_evtchn_is_pending(sp[i]->gport),
			      "port %u: not pending after sends while masked",
			      sp[i]->gport);
	}
	for (i = 0; i < MASK_SET; i++)
		XT_ASSERT_EQ(xl_evtchn_unmask(sp[i]->gport), 0);
	XT_ASSERT_MSG(xt_wait_until(phase_delivered, &w, XT_EVENT_TIMEOUT_NS),
		      "mask phase %u: unmask did not deliver", round);
	flush_all();
	for (i = 0; i < MASK_SET; i++) {
		XT_ASSERT_MSG(XT_LOAD(&sp[i]->count) == c0[i] + 1,
			      "port %u: %llu runs after unmask, want 1",
			      sp[i]->gport,
			      (unsigned long long)(sp[i]->count - c0[i]));
		XT_STORE(&sp[i]->phase, 0);
	}
	st.mask_phases++;
	return XT_PASS;
}

static bool all_seen(void *arg)
{
	unsigned int i;

	for (i = 0; i < NR_PORTS; i++)
		if (XT_LOAD(&st.port[i].seen) != XT_LOAD(&st.port[i].seq))
			return false;
	return true;
}

static bool senders_done(void *arg)
{
	return XT_LOAD(&st.senders_done) == NR_SENDERS;
}

static uint64_t total_sent(void)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < NR_PORTS; i++)
		n += XT_LOAD(&st.port[i].seq);
	return n;
}

static void report_ports(void)
{
	unsigned int i;

	for (i = 0; i < NR_PORTS; i++) {
		struct st_port *sp = &st.port[i];

		xt_log("port %u (peer %u) cpu %u prio %u: seq %llu seen %llu "
		       "runs %llu pending %d masked %d%s",
		       sp->gport, sp->pport, xl_evtchn_port_cpu(sp->gport),
		       sp->prio, (unsigned long long)XT_LOAD(&sp->seq),
		       (unsigned long long)XT_LOAD(&sp->seen),
		       (unsigned long long)XT_LOAD(&sp->count),
		       xl_evtchn_is_pending(sp->gport),
		       xl_evtchn_is_masked(sp->gport),
		       sp->seen != sp->seq ? "  <-- LOST" : "");
	}
}

static enum xt_result stress(bool fifo, uint64_t sends)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = !fifo };
	unsigned int i, nr = xt_nr_vcpus(), round = 0;
	uint64_t t0, next_mask, next_rebind, next_report, sum_port = 0;
	struct xl_evtchn_stats s;
	enum xt_result r;
	char why[256];

	XT_SKIP_IF(xt_peer_nr_vcpus() < NR_SENDERS + 1, "needs %u peer vCPUs",
		   NR_SENDERS + 1);
	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(),
		     fifo ? XL_EVTCHN_ABI_FIFO : XL_EVTCHN_ABI_2L);
	memset(&st, 0, sizeof(st));
	for (i = 0; i < NR_PORTS; i++) {
		struct st_port *sp = &st.port[i];

		XT_ASSERT_EQ(xt_peer_alloc_unbound(CTL_PCPU, xt_domid(),
						   &sp->pport),
			     0);
		XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(),
							sp->pport, st_handler,
							sp, &sp->gport),
			     0);
		sp->cpu = i % nr;
		XT_ASSERT_EQ(xl_evtchn_bind_vcpu(sp->gport, sp->cpu), 0);
		sp->prio = EVTCHN_FIFO_PRIORITY_DEFAULT;
		if (fifo && i % 4 < 2) {
			sp->prio = i % 4 ? 12 : 2;
			XT_ASSERT_EQ(
				xl_evtchn_set_priority(sp->gport, sp->prio), 0);
		}
	}
	XT_ASSERT(xt_wait_until(all_seen, NULL, XT_EVENT_TIMEOUT_NS));
	st.total = sends;
	for (i = 0; i < NR_SENDERS; i++) {
		st.snd[i] = (struct sender){ .id = i, .n = sends / NR_SENDERS };
		xt_peer_start(i, sender_fn, &st.snd[i]);
	}
	t0 = xt_now_ns();
	next_mask = t0 + 20000000;
	next_rebind = t0 + 7000000;
	next_report = t0 + 2000000000ULL;
	while (!senders_done(NULL)) {
		uint64_t now = xt_now_ns();

		if (now >= next_mask) {
			r = mask_phase(round++);
			if (r != XT_PASS) {
				report_ports();
				return r;
			}
			next_mask = xt_now_ns() + 20000000;
		}
		if (now >= next_rebind) {
			struct st_port *sp =
				&st.port[(st.rebinds * 7) % NR_PORTS];

			if (!XT_LOAD(&sp->phase)) {
				sp->cpu = (sp->cpu + 1) % nr;
				XT_ASSERT_EQ(xl_evtchn_bind_vcpu(sp->gport,
								 sp->cpu),
					     0);
				st.rebinds++;
			}
			next_rebind = now + 5000000;
		}
		if (now >= next_report) {
			xt_log("%llu of %llu sends, %.0f/s, %llu mask phases, "
			       "%llu rebinds",
			       (unsigned long long)total_sent(),
			       (unsigned long long)sends,
			       total_sent() / ((now - t0) / 1e9),
			       (unsigned long long)st.mask_phases,
			       (unsigned long long)st.rebinds);
			next_report = now + 5000000000ULL;
		}
		xt_sleep_ns(1000000);
	}
	for (i = 0; i < NR_SENDERS; i++) {
		xt_peer_wait(i);
		XT_ASSERT_EQ(st.snd[i].errors, 0);
	}
	if (!xt_wait_until(all_seen, NULL, 4 * XT_EVENT_TIMEOUT_NS)) {
		xt_fail_msg(__FILE__, __LINE__,
			    "events lost: a handler never saw its port's last "
			    "send");
		report_ports();
		return XT_FAIL;
	}
	flush_all();
	xt_log("%s: %llu sends in %.2f s, %llu mask phases, %llu rebinds",
	       xl_evtchn_abi_name(), (unsigned long long)total_sent(),
	       (xt_now_ns() - t0) / 1e9, (unsigned long long)st.mask_phases,
	       (unsigned long long)st.rebinds);
	for (i = 0; i < NR_PORTS; i++) {
		struct st_port *sp = &st.port[i];

		XT_ASSERT_EQ(sp->concurrent, 0);
		XT_ASSERT_EQ(sp->bad_port, 0);
		/* One run for the bind-time event, at most one per send. */
		XT_ASSERT(sp->count >= 1 && sp->count <= sp->seq + 1);
		XT_ASSERT_EQ(xl_evtchn_port_count(sp->gport), sp->count);
		sum_port += sp->count;
	}
	xt_stats_sum(&s);
	xt_log("upcalls %llu loops %llu nested %llu spurious %llu events %llu "
	       "stray %llu masked_seen %llu",
	       (unsigned long long)s.upcalls,
	       (unsigned long long)s.upcall_loops, (unsigned long long)s.nested,
	       (unsigned long long)s.spurious, (unsigned long long)s.events,
	       (unsigned long long)s.stray, (unsigned long long)s.masked_seen);
	XT_ASSERT_EQ(s.events, sum_port);
	XT_ASSERT_EQ(s.stray, 0);
	XT_ASSERT(s.upcalls >= s.spurious);
	XT_ASSERT(s.upcall_loops >= s.upcalls - s.nested);
	if (fifo)
		XT_ASSERT_MSG(!hv_fifo_check(hv_guest_domain(), why,
					     sizeof(why)),
			      "hv_fifo_check: %s", why);
	return XT_PASS;
}

static enum xt_result stress_run(bool fifo, uint64_t sends)
{
	enum xt_result r = stress(fifo, sends);
	unsigned int i;

	/* On failure, stop the senders before the runner tears down. */
	XT_STORE(&st.stop, 1);
	for (i = 0; i < NR_SENDERS && i < xt_peer_nr_vcpus(); i++)
		xt_peer_wait(i);
	return r;
}

static enum xt_result stress_fifo(void)
{
	return stress_run(true, opt_sends);
}

static enum xt_result stress_2l(void)
{
	return stress_run(false, opt_sends / 4);
}

/*
 * Lost-wakeup stress: vCPU 1 idles (xl_idle_block) until its IPI handler
 * has run i times, then acknowledges i; vCPU 0 sends the i-th IPI after a
 * random delay from that acknowledgement, so sends land all along vCPU 1's
 * way into SCHEDOP_block (before the mask, between the pending check and
 * the block, while blocked).  A lost wakeup leaves vCPU 1 blocked with the
 * event pending: the acknowledgement never comes.
 */
static struct {
	struct xt_rec rec;
	uint64_t iters, ack;
	uint64_t checks, last_seen; /* done() calls, count it last read */
	uint32_t stop;
} iw;

static bool idle_got(void *arg)
{
	uint64_t c = XT_LOAD(&iw.rec.count);

	XT_STORE(&iw.last_seen, c);
	XT_ADD(&iw.checks, 1);
	return c >= *(uint64_t *)arg || XT_LOAD(&iw.stop);
}

static void idle_receiver(void *arg)
{
	uint64_t i;

	(void)arg;
	for (i = 1; i <= iw.iters && !XT_LOAD(&iw.stop); i++) {
		xl_idle_until(idle_got, &i);
		XT_STORE(&iw.ack, i);
	}
}

/* What a stuck receiver looks like, for the failure report. */
static void idle_report(evtchn_port_t p)
{
	struct vcpu_info *vi = xl_os_vcpu_info(1);
	struct vcpu_runstate_info rs;
	struct xl_idle_stats is;

	xl_hc_vcpu_op(VCPUOP_get_runstate_info, 1, &rs);
	xl_idle_get_stats(1, &is);
	xt_log("port %u pending %d masked %d; vCPU 1 upcall_pending %u "
	       "upcall_mask %u runstate %d blocks %llu skipped %llu; "
	       "handled %llu ack %llu checks %llu last_seen %llu",
	       p, xl_evtchn_is_pending(p), xl_evtchn_is_masked(p),
	       xl_read8(&vi->evtchn_upcall_pending),
	       xl_read8(&vi->evtchn_upcall_mask), rs.state,
	       (unsigned long long)is.blocks, (unsigned long long)is.skipped,
	       (unsigned long long)XT_LOAD(&iw.rec.count),
	       (unsigned long long)XT_LOAD(&iw.ack),
	       (unsigned long long)XT_LOAD(&iw.checks),
	       (unsigned long long)XT_LOAD(&iw.last_seen));
	{
		struct hv_domain_stats ds;

		hv_domain_get_stats(hv_guest_domain(), &ds);
		xt_log("hv: blocks %llu not_slept %llu kicks_wake %llu "
		       "kicks_signal %llu upcalls %llu",
		       (unsigned long long)ds.blocks,
		       (unsigned long long)ds.block_not_slept,
		       (unsigned long long)ds.kicks_wake,
		       (unsigned long long)ds.kicks_signal,
		       (unsigned long long)ds.upcalls_delivered);
	}
}

static enum xt_result stress_idle_wakeup(void)
{
	struct xl_idle_stats is;
	uint64_t i, rng = 0x2545f4914f6cdd1dULL, t0 = xt_now_ns(), end;
	evtchn_port_t p;
	unsigned int spin;

	iw = (typeof(iw)){ .iters = opt_sends / 10 };
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &iw.rec, &p), 0);
	xt_start_on(1, idle_receiver, NULL);
	for (i = 1; i <= iw.iters; i++) {
		end = 0;
		while (XT_LOAD(&iw.ack) != i - 1) {
			if (!end)
				end = xt_now_ns() + XT_EVENT_TIMEOUT_NS;
			else if (xt_now_ns() > end)
				break;
		}
		if (XT_LOAD(&iw.ack) != i - 1) {
			idle_report(p);
			XT_STORE(&iw.stop, 1);
			xl_evtchn_send(p);
			xt_wait_on(1);
			XT_ASSERT_MSG(false,
				      "wakeup %llu lost: vCPU 1 never "
				      "handled IPI %llu",
				      (unsigned long long)i - 1,
				      (unsigned long long)i - 1);
		}
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		/* Mostly short delays (the way into the block takes about a
		 * microsecond), sometimes long ones (already blocked). */
		for (spin = rng % ((rng >> 32) % 8 ? 24 : 512); spin; spin--)
			__builtin_ia32_pause();
		XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	}
	xt_wait_on(1);
	XT_ASSERT_EQ(XT_LOAD(&iw.ack), iw.iters);
	XT_ASSERT_EQ(XT_LOAD(&iw.rec.count), iw.iters);
	XT_ASSERT_EQ(iw.rec.concurrent, 0);
	xl_idle_get_stats(1, &is);
	xt_log("%llu wakeups in %.2f s: %llu blocks, %llu found the event "
	       "pending",
	       (unsigned long long)iw.iters, (xt_now_ns() - t0) / 1e9,
	       (unsigned long long)is.blocks, (unsigned long long)is.skipped);
	return XT_PASS;
}

static const struct xt_test stress_tests[] = {
	{ "stress/fifo", XT_HV, 4, true, stress_fifo, 0 },
	{ "stress/2l", XT_HV, 4, true, stress_2l, 0 },
	{ "stress/idle_wakeup", XT_HV, 2, false, stress_idle_wakeup, 0 },
};

int main(int argc, char **argv)
{
	const struct xt_suite suite = {
		stress_tests, sizeof(stress_tests) / sizeof(stress_tests[0])
	};
	char **rest = calloc(argc + 1, sizeof(*rest));
	unsigned int timeout = 600;
	int i, n = 0, rc;

	rest[n++] = argv[0];
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ci")) {
			opt_sends = 10000000ULL;
		} else if (!strcmp(argv[i], "--long")) {
			opt_sends = 100000000ULL;
			timeout = 7200;
		} else if (!strcmp(argv[i], "--sanitizer")) {
			opt_sends = 200000ULL;
		} else if (!strcmp(argv[i], "--sends") && i + 1 < argc) {
			opt_sends = strtoull(argv[++i], NULL, 0);
		} else {
			rest[n++] = argv[i];
		}
	}
	xt_set_vcpus(4, NR_SENDERS + 1);
	xt_set_timeout(timeout);
	rc = xt_main(n, rest, &suite, 1);
	free(rest);
	return rc;
}
