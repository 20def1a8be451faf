// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for the selftests, the stress test and the benchmarks.
 */
#include <stdlib.h>

#include "xt-util.h"

void xt_rec_handler(evtchn_port_t port, void *data)
{
	struct xt_rec *r = data;
	unsigned int cpu = xl_os_vcpu_id();

	if (XT_ADD(&r->in, 1) != 1)
		XT_ADD(&r->concurrent, 1);
	XT_STORE(&r->last_port, port);
	XT_STORE(&r->last_cpu, cpu);
	__atomic_fetch_or(&r->cpu_mask, 1U << (cpu % 32), __ATOMIC_SEQ_CST);
	if (r->log) {
		uint32_t i = XT_ADD(r->log_len, 1) - 1;

		if (i < r->log_max)
			XT_STORE(&r->log[i], r->tag);
	}
	if (r->hook)
		r->hook(r);
	XT_ADD(&r->count, 1);
	XT_ADD(&r->in, -1);
}

struct rec_wait {
	struct xt_rec *r;
	uint64_t n;
};

static bool rec_reached(void *arg)
{
	struct rec_wait *w = arg;

	return XT_LOAD(&w->r->count) >= w->n;
}

uint64_t xt_rec_wait(struct xt_rec *r, uint64_t n)
{
	struct rec_wait w = { r, n };

	xt_wait_until(rec_reached, &w, XT_EVENT_TIMEOUT_NS);
	xt_sleep_ns(XT_SETTLE_NS / 5);
	return XT_LOAD(&r->count);
}

uint64_t xt_rec_settle(struct xt_rec *r)
{
	xt_sleep_ns(XT_SETTLE_NS);
	return XT_LOAD(&r->count);
}

long xt_evop(int cmd, void *arg)
{
	return xl_hc_event_channel_op(cmd, arg);
}

long xt_peer_evop(unsigned int pcpu, int cmd, void *arg)
{
	return xt_peer_hypercall(pcpu, __HYPERVISOR_event_channel_op,
				 (unsigned long)cmd, (unsigned long)arg, 0);
}

long xt_peer_alloc_unbound(unsigned int pcpu, domid_t remote,
			   evtchn_port_t *port)
{
	struct evtchn_alloc_unbound op = { .dom = DOMID_SELF,
					   .remote_dom = remote };
	long rc = xt_peer_evop(pcpu, EVTCHNOP_alloc_unbound, &op);

	*port = op.port;
	return rc;
}

long xt_peer_bind_interdomain(unsigned int pcpu, domid_t remote,
			      evtchn_port_t rport, evtchn_port_t *port)
{
	struct evtchn_bind_interdomain op = { .remote_dom = remote,
					      .remote_port = rport };
	long rc = xt_peer_evop(pcpu, EVTCHNOP_bind_interdomain, &op);

	*port = op.local_port;
	return rc;
}

long xt_peer_send(unsigned int pcpu, evtchn_port_t port)
{
	struct evtchn_send op = { .port = port };

	return xt_peer_evop(pcpu, EVTCHNOP_send, &op);
}

long xt_peer_close(unsigned int pcpu, evtchn_port_t port)
{
	struct evtchn_close op = { .port = port };

	return xt_peer_evop(pcpu, EVTCHNOP_close, &op);
}

long xt_status(domid_t dom, evtchn_port_t port, struct evtchn_status *st)
{
	*st = (struct evtchn_status){ .dom = dom, .port = port };
	return xt_evop(EVTCHNOP_status, st);
}

void xt_stats_sum(struct xl_evtchn_stats *sum)
{
	struct xl_evtchn_stats s;
	unsigned int cpu;

	*sum = (struct xl_evtchn_stats){ 0 };
	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++) {
		xl_evtchn_get_stats(cpu, &s);
		sum->upcalls += s.upcalls;
		sum->upcall_loops += s.upcall_loops;
		sum->nested += s.nested;
		sum->spurious += s.spurious;
		sum->events += s.events;
		sum->stray += s.stray;
		sum->masked_seen += s.masked_seen;
		sum->deferred += s.deferred;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t xt_percentile(uint64_t *v, unsigned int n, unsigned int pct)
{
	unsigned int i;

	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	/* floor(pct / 100 * (n - 1) + 0.5), in integers. */
	i = (unsigned int)((2ULL * pct * (n - 1) + 100) / 200);
	return v[i < n ? i : n - 1];
}

long xt_loopback(struct xt_rec *ra, struct xt_rec *rb, evtchn_port_t *a,
		 evtchn_port_t *b)
{
	long rc;

	rc = xl_evtchn_alloc_unbound(DOMID_SELF, ra ? xt_rec_handler : NULL, ra,
				     a);
	if (rc)
		return rc;
	rc = xl_evtchn_bind_interdomain(DOMID_SELF, *a, xt_rec_handler, rb, b);
	if (rc)
		return rc;
	return xt_rec_wait(rb, 1) == 1 ? 0 : -1;
}
