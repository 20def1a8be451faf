/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the selftest tables, the stress test and the
 * benchmarks: portable guest code (core API, xt environment, raw
 * hypercalls) only.
 */
#ifndef XT_UTIL_H
#define XT_UTIL_H

#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>

#include "xt.h"

#define XT_LOAD(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define XT_STORE(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define XT_ADD(p, v) __atomic_add_fetch((p), (v), __ATOMIC_SEQ_CST)

/* How long "nothing more happens" is watched for, and event timeouts. */
#define XT_SETTLE_NS 5000000ULL
#define XT_EVENT_TIMEOUT_NS 5000000000ULL

/*
 * How far Xen's NOW() may run ahead of the guest's pvclock when a vCPU
 * timer fires (timer_softirq_action, xen/common/timer.c): the guest's
 * extrapolation drifts between Xen's time updates, and without a constant
 * TSC each pCPU keeps its own system time (local_time_calibration,
 * arch/x86/time.c).  Measured on Xen 4.17 under nested QEMU TCG, 20 ms
 * polls: up to 2.7 ms in 40, then up to 5.8 ms in 40 more
 * (docs/time-and-idle.md).  It does not shrink with the delay: a test
 * waits 50 ms, so a timer that ignored its deadline still fails it.
 */
#define XT_CLOCK_SKEW_NS 15000000ULL

/* A handler's record: what it saw.  data of the port = the record. */
struct xt_rec {
	uint64_t count;
	uint32_t last_port;
	uint32_t last_cpu;
	uint32_t cpu_mask;
	uint32_t bad_data;
	uint32_t in;	     /* handler running now */
	uint32_t concurrent; /* handler found itself running */
	/* Optional order log shared by several records. */
	uint32_t *log;
	uint32_t *log_len;
	uint32_t log_max;
	uint32_t tag;
	/* Optional extra action (first call only when once is set). */
	void (*hook)(struct xt_rec *r);
};

void xt_rec_handler(evtchn_port_t port, void *data);
/* Wait until r->count >= n, let things settle, return the final count. */
uint64_t xt_rec_wait(struct xt_rec *r, uint64_t n);
/* Let in-flight events land, then return the count. */
uint64_t xt_rec_settle(struct xt_rec *r);

/*
 * A loopback pair a <-> b in this domain: a with xt_rec_handler on ra
 * (NULL: no handler), b with xt_rec_handler on rb.  Xen raises b once at
 * bind time; this waits for that event.  0, or the failing call's error
 * (-1 when the bind-time event never came).
 */
long xt_loopback(struct xt_rec *ra, struct xt_rec *rb, evtchn_port_t *a,
		 evtchn_port_t *b);

/* Raw event-channel hypercall of this (guest) vCPU and of a peer vCPU. */
long xt_evop(int cmd, void *arg);
long xt_peer_evop(unsigned int pcpu, int cmd, void *arg);
/* Peer: alloc_unbound for remote, bind_interdomain, send, close. */
long xt_peer_alloc_unbound(unsigned int pcpu, domid_t remote,
			   evtchn_port_t *port);
long xt_peer_bind_interdomain(unsigned int pcpu, domid_t remote,
			      evtchn_port_t rport, evtchn_port_t *port);
long xt_peer_send(unsigned int pcpu, evtchn_port_t port);
long xt_peer_close(unsigned int pcpu, evtchn_port_t port);
long xt_status(domid_t dom, evtchn_port_t port, struct evtchn_status *st);

/* Sum of the core's per-vCPU stats. */
void xt_stats_sum(struct xl_evtchn_stats *sum);

/*
 * Percentile pct (0..100) of an array of samples (sorted in place): the
 * sample at the nearest rank, pct * (n - 1) / 100 rounded.  Integer only:
 * the Linux host builds it into a kernel module, where there is no FPU.
 */
uint64_t xt_percentile(uint64_t *v, unsigned int n, unsigned int pct);

#endif /* XT_UTIL_H */
