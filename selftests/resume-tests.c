// SPDX-License-Identifier: GPL-2.0
/*
 * Save, restore and live migration (docs/save-restore.md).
 *
 * The guest suspends itself with SCHEDOP_shutdown(SHUTDOWN_suspend); hv
 * plays the toolstack (hv_domain_set_suspend_plan()): a cancel (the same
 * domain runs on, the hypercall returns 1) or a restore into a new domain
 * (returns 0: a new domid, no port bound, FIFO gone, shared_info and the
 * callback to register again, timers gone, system time jumped).
 *
 *  - resume/hv_*: hv's model of that cycle, checked against what Xen
 *    4.17 and its toolstack do (hv/suspend.c cites them);
 *  - resume/{fifo,2l}/...: the core's resume path, xl_evtchn_suspend() /
 *    xl_evtchn_resume() and xl_clock_resume(): every VIRQ and IPI port
 *    bound again at its number, on its vCPU, with its handler, priority
 *    and mask; interdomain and unbound ports reported lost; an event
 *    pending at suspend delivered once; timers re-armed, a deadline that
 *    passed while suspended fired once, promptly; a cancel changes
 *    nothing.  Exact accounting: events sent = handled, each timer once.
 *
 * hv-only (XT_HV): the toolstack's part is hv's API.  A pass is every
 * count exact; a fail names the count and the port.
 */
#include <stdint.h>
#include <string.h>

#include <hv.h>
#include <hv-guest.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <hv-blk.h>
#include <hv-xs.h>

#include <xenlite/blkfront.h>
#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>
#include <xenlite/hypercall.h>
#include <xenlite/xenstore.h>

#include "xt-util.h"

#define MS 1000000ULL
#define JUMP_NS (2000ULL * MS) /* system time moves 2 s at a restore */

static struct hv_domain *dom(void)
{
	return hv_guest_domain();
}

/* dom() for a host thread (not a vCPU). */
static struct hv_domain *dom_of_test;

static uint64_t hv_stat(size_t off)
{
	struct hv_domain_stats st;

	hv_domain_get_stats(dom(), &st);
	return *(uint64_t *)((char *)&st + off);
}

#define HV_STAT(field) hv_stat(offsetof(struct hv_domain_stats, field))

static long raw_suspend(void)
{
	struct sched_shutdown sd = { .reason = SHUTDOWN_suspend };

	return xl_hc_sched_op(SCHEDOP_shutdown, &sd);
}

/* The next cycle's toolstack time (hv_suspend_plan.toolstack_ns). */
static uint64_t plan_toolstack_ns;

static void plan(bool cancel, uint64_t jump)
{
	struct hv_suspend_plan p = { .cancel = cancel,
				     .time_jump_ns = jump,
				     .toolstack_ns = plan_toolstack_ns };

	hv_domain_set_suspend_plan(dom(), &p);
}

/* --- hv's model ----------------------------------------------------------- */

struct wait_stat {
	size_t off;
	uint64_t want;
};

static bool stat_reached(void *arg)
{
	const struct wait_stat *w = arg;

	return hv_stat(w->off) >= w->want;
}

static bool is_pv(void)
{
	return hv_domain_flavour(dom()) == HV_FLAVOUR_PV;
}

/*
 * Restore into a new domain: SCHEDOP_shutdown returns 0, the domid
 * changes, nothing is bound (the peer's end of an interdomain channel is
 * unbound again, naming the old domid: evtchn_close()), FIFO is gone,
 * the singleshot timer is gone, system time moved on by the jump, and
 * shared_info is the new domain's (PV: masked, nothing pending, still
 * mapped; PVH: zeroed and unmapped, the callback unregistered).
 */
static enum xt_result hv_restore(void)
{
	struct vcpu_set_singleshot_timer ss = { 0 };
	struct shared_info *s = hv_domain_shared_info(dom());
	struct evtchn_bind_ipi bi = { .vcpu = 0 };
	struct evtchn_status st;
	evtchn_port_t ipi, peer_port, local;
	struct xt_rec r = { 0 };
	domid_t old = xt_domid();
	uint64_t t0, t1, timers, sys;
	int64_t gfn = hv_domain_shared_info_gfn(dom());
	struct wait_stat w;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, old, &peer_port), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), peer_port,
						xt_rec_handler, &r, &local),
		     0);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(dom(), 0)) != NULL);
	/* A singleshot timer 50 ms ahead: it must not fire after. */
	ss.timeout_abs_ns = hv_system_time() + 50 * MS;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss), 0);
	timers = HV_STAT(timer_events);

	plan(false, JUMP_NS);
	t0 = hv_system_time();
	XT_ASSERT_EQ(raw_suspend(), 0);
	t1 = hv_system_time();
	hv_domain_set_suspend_plan(dom(), NULL);

	XT_ASSERT(xt_domid() != old);
	XT_ASSERT_EQ(HV_STAT(restores), 1);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 0);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(dom(), 0)) == NULL);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = ipi };
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_status, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = peer_port };
	XT_ASSERT_EQ(xt_peer_evop(0, EVTCHNOP_status, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, old);
	/* Two-sided: the jump, plus what the hypercall took (< 5 s). */
	XT_ASSERT_MSG(t1 - t0 >= JUMP_NS && t1 - t0 < JUMP_NS + 5000 * MS,
		      "system time moved %llu ns",
		      (unsigned long long)(t1 - t0));
	/* The new record carries the new system time. */
	sys = __atomic_load_n(&s->vcpu_info[0].time.system_time,
			      __ATOMIC_SEQ_CST);
	XT_ASSERT(sys >= t0 + JUMP_NS && sys <= t1);
	XT_ASSERT_EQ(__atomic_load_n(&s->evtchn_pending[0], __ATOMIC_SEQ_CST),
		     0);
	if (is_pv()) {
		XT_ASSERT_EQ(hv_domain_shared_info_gfn(dom()), gfn);
		XT_ASSERT_EQ(~__atomic_load_n(&s->evtchn_mask[0],
					      __ATOMIC_SEQ_CST),
			     0);
		/* The new vCPU's default 100 Hz ticker (pv_vcpu_initialise). */
		w = (struct wait_stat){ offsetof(struct hv_domain_stats,
						 timer_events),
					timers + 1 };
		XT_ASSERT(xt_wait_until(stat_reached, &w, 5000 * MS));
	} else {
		XT_ASSERT_EQ(hv_domain_shared_info_gfn(dom()), -1);
		XT_ASSERT_EQ(__atomic_load_n(&s->evtchn_mask[0],
					     __ATOMIC_SEQ_CST),
			     0);
		/* The singleshot timer is gone: nothing in 100 ms past it. */
		xt_sleep_ns(150 * MS);
		XT_ASSERT_EQ(HV_STAT(timer_events), timers);
	}
	/*
	 * Mapped again where the guest asks (hv_guest_resume); PV: never
	 * in the physmap (start_info's page; add_to_physmap is refused to
	 * a domain that is not translated, hv/memory.c).
	 */
	XT_ASSERT_EQ(hv_guest_resume(), 0);
	XT_ASSERT_EQ(hv_domain_shared_info_gfn(dom()),
		     is_pv() ? -1 : (int64_t)hv_domain_nr_pages(dom()) - 1);
	XT_ASSERT(xl_os_shared_info() == hv_domain_shared_info(dom()));
	/* The new domain hands out ports from 1 again. */
	XT_ASSERT_EQ(xl_hc_event_channel_op(EVTCHNOP_bind_ipi, &bi), 0);
	XT_ASSERT_EQ(bi.port, 1);
	return XT_PASS;
}

/*
 * A cancelled suspend: 1 (modify_returncode), the same domain, every
 * port, FIFO control block and timer as before; the singleshot timer
 * armed before fires once.
 */
static enum xt_result hv_cancel(void)
{
	struct vcpu_set_singleshot_timer ss = { 0 };
	void *cb = NULL;
	evtchn_port_t ipi;
	struct xt_rec r = { 0 };
	domid_t old = xt_domid();
	uint64_t timers;
	struct wait_stat w;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	cb = hv_fifo_control_block(hv_domain_vcpu(dom(), 0));
	XT_ASSERT(cb != NULL);
	if (is_pv()) /* its 100 Hz ticker would count as well */
		XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL),
			     0);
	xt_sleep_ns(20 * MS);
	timers = HV_STAT(timer_events);
	ss.timeout_abs_ns = hv_system_time() + 50 * MS;
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, 0, &ss), 0);

	plan(true, JUMP_NS);
	XT_ASSERT_EQ(raw_suspend(), 1);
	hv_domain_set_suspend_plan(dom(), NULL);

	XT_ASSERT_EQ(xt_domid(), old);
	XT_ASSERT_EQ(HV_STAT(suspend_cancels), 1);
	XT_ASSERT_EQ(HV_STAT(restores), 0);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 1);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(dom(), 0)) == cb);
	XT_ASSERT_EQ(hv_domain_shutdown_reason(dom()), -1);
	w = (struct wait_stat){ offsetof(struct hv_domain_stats, timer_events),
				timers + 1 };
	XT_ASSERT(xt_wait_until(stat_reached, &w, 5000 * MS));
	xt_sleep_ns(100 * MS);
	XT_ASSERT_EQ(HV_STAT(timer_events), timers + 1);
	XT_ASSERT_EQ(xl_evtchn_send(ipi), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	return XT_PASS;
}

/*
 * An HVM/PVH guest with no HVM_PARAM_CALLBACK_IRQ: modify_returncode()
 * leaves rax alone, so a cancelled suspend returns 0 although nothing
 * was reset ("HVM guests without PV drivers have no return code to
 * modify").  A guest that then resumes must cope with ports still bound.
 */
static enum xt_result hv_cancel_no_callback(void)
{
	evtchn_port_t ipi;
	struct xt_rec r = { 0 };
	domid_t old = xt_domid();

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	plan(true, 0);
	XT_ASSERT_EQ(raw_suspend(), 0);
	hv_domain_set_suspend_plan(dom(), NULL);
	XT_ASSERT_EQ(xt_domid(), old);
	XT_ASSERT_EQ(HV_STAT(suspend_cancels), 1);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 1);
	return XT_PASS;
}

/* --- the core's resume path ------------------------------------------------ */

enum mode { M_FIFO, M_2L };

static enum xt_result mode_init(enum mode m)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = m == M_2L };

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(),
		     m == M_FIFO ? XL_EVTCHN_ABI_FIFO : XL_EVTCHN_ABI_2L);
	return XT_PASS;
}

#define MODE_INIT(m)                               \
	do {                                       \
		enum xt_result mi_ = mode_init(m); \
		if (mi_ != XT_PASS)                \
			return mi_;                \
	} while (0)

/*
 * The other vCPUs held as Linux's stop_machine() holds them around
 * xen_suspend(): spinning with event delivery masked, outside the API.
 */
struct hold {
	uint32_t parked;
	uint32_t go;
};

static void hold_fn(void *arg)
{
	struct hold *h = arg;
	unsigned long flags = xl_os_irq_save();

	XT_ADD(&h->parked, 1);
	while (!XT_LOAD(&h->go))
		__builtin_ia32_pause();
	xl_os_irq_restore(flags);
}

static bool all_parked(void *arg)
{
	const struct hold *h = arg;

	return XT_LOAD(&h->parked) == xt_nr_vcpus() - 1;
}

static bool hold_others(struct hold *h)
{
	unsigned int cpu;

	*h = (struct hold){ 0 };
	for (cpu = 1; cpu < xt_nr_vcpus(); cpu++)
		xt_start_on(cpu, hold_fn, h);
	return xt_wait_until(all_parked, h, XT_EVENT_TIMEOUT_NS);
}

static void release_others(struct hold *h)
{
	unsigned int cpu;

	XT_STORE(&h->go, 1);
	for (cpu = 1; cpu < xt_nr_vcpus(); cpu++)
		xt_wait_on(cpu);
}

/* What the lost callback heard. */
static struct {
	uint32_t n;
	evtchn_port_t port[8];
	uint32_t type[8];
	void *data[8];
} lost_log;

static void lost_fn(evtchn_port_t port, enum xl_port_type type,
		    xl_evtchn_handler_t fn, void *data)
{
	uint32_t i = XT_LOAD(&lost_log.n);

	if (i < 8) {
		lost_log.port[i] = port;
		lost_log.type[i] = type;
		lost_log.data[i] = fn == xt_rec_handler ? data : NULL;
	}
	XT_STORE(&lost_log.n, i + 1);
}

/*
 * The guest's side of one cycle, on vCPU 0 with the others held and
 * delivery masked: note the ports, freeze the grant table, suspend, then
 * (restored) map shared_info and register the callback again, resume
 * the grant table and the event channels (docs/save-restore.md, steps
 * 2-5; Linux's xen_suspend()).  The hypercall's return (1 cancelled, 0
 * resumed) or a negative error.
 */
static uint64_t resumed_at; /* pvclock when the hypercall returned */

static long cycle(bool cancel, uint64_t jump)
{
	unsigned long flags = xl_os_irq_save();
	long rc = 0;
	int r;

	memset(&lost_log, 0, sizeof(lost_log));
	r = xl_evtchn_suspend();
	if (!r)
		r = xl_gnttab_suspend();
	if (r)
		goto out;
	plan(cancel, jump);
	rc = raw_suspend();
	resumed_at = xl_clock_now();
	hv_domain_set_suspend_plan(dom(), NULL);
	if (rc < 0) {
		r = (int)rc;
		goto out;
	}
	if (!rc) {
		r = hv_guest_resume();
		if (r)
			goto out;
	}
	/* Thawed before any handler can run (Linux: gnttab_resume()). */
	r = xl_gnttab_resume(rc == 1);
	if (!r)
		r = xl_evtchn_resume(rc == 1, lost_fn);
out:
	/* Events owed to vCPU 0 run here, once. */
	xl_os_irq_restore(flags);
	return r ? r : rc;
}

static void clock_resume_on(void *arg)
{
	int *rc = arg;

	rc[xl_os_vcpu_id()] = xl_clock_resume();
}

static enum xt_result clock_resume_all(void)
{
	int rc[XL_MAX_VCPUS] = { 0 };
	unsigned int cpu;

	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++) {
		xt_run_on(cpu, clock_resume_on, rc);
		XT_ASSERT_EQ(rc[cpu], 0);
	}
	return XT_PASS;
}

/* The port as Xen has it: its state and notify vCPU (EVTCHNOP_status). */
static enum xt_result xen_has(evtchn_port_t port, uint32_t status,
			      unsigned int cpu)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = port };

	XT_ASSERT_EQ(xt_evop(EVTCHNOP_status, &st), 0);
	XT_ASSERT_MSG(st.status == status && st.vcpu == cpu,
		      "port %u: Xen has status %u vCPU %u, want %u vCPU %u",
		      port, st.status, st.vcpu, status, cpu);
	return XT_PASS;
}

#define XEN_HAS(port, status, cpu)                               \
	do {                                                     \
		enum xt_result xh_ = xen_has(port, status, cpu); \
		if (xh_ != XT_PASS)                              \
			return xh_;                              \
	} while (0)

/* Send n events one at a time, each handled before the next. */
static enum xt_result send_n(evtchn_port_t port, struct xt_rec *r, uint64_t n)
{
	uint64_t base = XT_LOAD(&r->count), i;

	for (i = 1; i <= n; i++) {
		XT_ASSERT_EQ(xl_evtchn_send(port), 0);
		XT_ASSERT_EQ(xt_rec_wait(r, base + i), base + i);
	}
	XT_ASSERT_EQ(xt_rec_settle(r), base + n);
	return XT_PASS;
}

#define SEND_N(port, r, n)                               \
	do {                                             \
		enum xt_result sn_ = send_n(port, r, n); \
		if (sn_ != XT_PASS)                      \
			return sn_;                      \
	} while (0)

#define NR_SENDS 20

/*
 * Every IPI and VIRQ port bound again at its number, on its vCPU, with
 * its handler, FIFO priority (the one set, or the default for those never
 * set) and mask: an IPI per vCPU, VIRQ_DEBUG on vCPU 0 bound raw and
 * taken over with bind_existing (bound again as the same VIRQ), the
 * global VIRQ_CONSOLE moved to vCPU 1 (bound on 0, moved), VIRQ_DEBUG on
 * vCPU 1, a hole below them (a port closed before the suspend), one IPI
 * masked.  After the restore each port takes NR_SENDS events, each
 * handled exactly once on its vCPU; the masked one holds an event until
 * it is unmasked; Xen has exactly the ports the core has (no placeholder
 * left open).
 */
static enum xt_result t_ports(enum mode m)
{
	struct xt_rec r[XL_MAX_VCPUS] = { 0 }, rv = { 0 }, rm = { 0 },
		      rx = { 0 };
	struct evtchn_bind_virq bx = { .virq = VIRQ_DEBUG, .vcpu = 0 };
	evtchn_port_t ipi[XL_MAX_VCPUS], hole, virq, masked, taken, gv;
	unsigned int cpu, nr = xt_nr_vcpus();
	struct evtchn_status st;
	struct hold h;
	domid_t old = xt_domid();

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rm, &hole), 0);
	for (cpu = 0; cpu < nr; cpu++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(cpu, xt_rec_handler, &r[cpu],
						&ipi[cpu]),
			     0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, 1, xt_rec_handler, &rv,
					 &virq),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &rm, &masked), 0);
	/* VIRQ_DEBUG on vCPU 0, bound raw and taken over (bind_existing
	 * learns the VIRQ from EVTCHNOP_status). */
	XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_virq, &bx), 0);
	taken = bx.port;
	XT_ASSERT_EQ(xl_evtchn_bind_existing(taken, xt_rec_handler, &rx), 0);
	/* A global VIRQ, bound on vCPU 0 (Xen binds it nowhere else) and
	 * moved to vCPU 1: bound on 0 and moved again at the resume. */
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_CONSOLE, 0, xt_rec_handler, &rx,
					 &gv),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_vcpu(gv, 1), 0);
	XT_ASSERT_EQ(xl_evtchn_close(hole), 0);
	xl_evtchn_mask(masked);
	if (m == M_FIFO)
		XT_ASSERT_EQ(xl_evtchn_set_priority(ipi[0], 3), 0);

	XT_ASSERT(hold_others(&h));
	XT_ASSERT_EQ(cycle(false, JUMP_NS), 0);
	release_others(&h);

	XT_ASSERT(xt_domid() != old);
	XT_ASSERT_EQ(XT_LOAD(&lost_log.n), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(),
		     m == M_FIFO ? XL_EVTCHN_ABI_FIFO : XL_EVTCHN_ABI_2L);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), nr + 4);
	for (cpu = 0; cpu < nr; cpu++) {
		XT_ASSERT_EQ(xl_evtchn_port_type(ipi[cpu]), XL_PORT_IPI);
		XT_ASSERT_EQ(xl_evtchn_port_cpu(ipi[cpu]), cpu);
		XEN_HAS(ipi[cpu], EVTCHNSTAT_ipi, cpu);
	}
	XEN_HAS(virq, EVTCHNSTAT_virq, 1);
	XEN_HAS(masked, EVTCHNSTAT_ipi, 1);
	XEN_HAS(taken, EVTCHNSTAT_virq, 0);
	XEN_HAS(gv, EVTCHNSTAT_virq, 1);
	XT_ASSERT_EQ(xl_evtchn_port_cpu(gv), 1);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, taken, &st), 0);
	XT_ASSERT_EQ(st.u.virq, VIRQ_DEBUG);
	XT_ASSERT_EQ(xl_evtchn_port_type(taken), XL_PORT_VIRQ);
	if (m == M_FIFO) {
		XT_ASSERT_EQ(hv_evtchn_port_priority(dom(), ipi[0]), 3);
		/* The others were never set: the new domain's default
		 * (event_fifo.c), no EVTCHNOP_set_priority made for them. */
		for (cpu = 1; cpu < nr; cpu++)
			XT_ASSERT_EQ(hv_evtchn_port_priority(dom(), ipi[cpu]),
				     EVTCHN_FIFO_PRIORITY_DEFAULT);
		XT_ASSERT_EQ(hv_evtchn_port_priority(dom(), virq),
			     EVTCHN_FIFO_PRIORITY_DEFAULT);
	}
	XT_ASSERT(xl_evtchn_is_masked(masked));
	XT_ASSERT(!xl_evtchn_is_masked(ipi[0]));

	for (cpu = 0; cpu < nr; cpu++) {
		SEND_N(ipi[cpu], &r[cpu], NR_SENDS);
		XT_ASSERT_EQ(r[cpu].cpu_mask, 1U << cpu);
		XT_ASSERT_EQ(r[cpu].concurrent, 0);
	}
	for (cpu = 0; cpu < NR_SENDS; cpu++) {
		XT_ASSERT_EQ(hv_send_guest_vcpu_virq(hv_domain_vcpu(dom(), 1),
						     VIRQ_DEBUG),
			     0);
		XT_ASSERT_EQ(xt_rec_wait(&rv, cpu + 1), cpu + 1);
	}
	XT_ASSERT_EQ(rv.cpu_mask, 1U << 1);
	XT_ASSERT_EQ(hv_send_guest_vcpu_virq(hv_domain_vcpu(dom(), 0),
					     VIRQ_DEBUG),
		     0);
	XT_ASSERT_EQ(xt_rec_wait(&rx, 1), 1);
	XT_ASSERT_EQ(rx.last_port, taken);
	XT_ASSERT_EQ(xl_evtchn_send(masked), 0);
	XT_ASSERT_EQ(xt_rec_settle(&rm), 0);
	XT_ASSERT(xl_evtchn_is_pending(masked));
	XT_ASSERT_EQ(xl_evtchn_unmask(masked), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rm, 1), 1);
	/* rv is this frame's: no VIRQ may reach its handler after we return. */
	XT_ASSERT_EQ(xl_evtchn_close(virq), 0);
	XT_ASSERT_EQ(xl_evtchn_close(taken), 0);
	XT_ASSERT_EQ(xl_evtchn_close(gv), 0);
	return XT_PASS;
}

/*
 * Events pending at suspend are delivered once after the resume: an IPI
 * and VIRQ_DEBUG raised for vCPU 1 while it is held with delivery masked
 * (so nothing runs them), and an IPI raised while masked, which stays
 * pending for its unmask.  Xen drops them all at the restore; the core
 * gives them back.
 */
static enum xt_result t_pending(enum mode m)
{
	struct xt_rec ri = { 0 }, rv = { 0 }, rm = { 0 };
	evtchn_port_t ipi, virq, masked;
	struct xl_evtchn_stats st;
	struct hold h;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &ri, &ipi), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, 1, xt_rec_handler, &rv,
					 &virq),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &rm, &masked), 0);
	xl_evtchn_mask(masked);

	XT_ASSERT(hold_others(&h));
	XT_ASSERT_EQ(xl_evtchn_send(ipi), 0);
	XT_ASSERT_EQ(hv_send_guest_vcpu_virq(hv_domain_vcpu(dom(), 1),
					     VIRQ_DEBUG),
		     0);
	XT_ASSERT_EQ(xl_evtchn_send(masked), 0);
	XT_ASSERT(xl_evtchn_is_pending(ipi) && xl_evtchn_is_pending(virq));
	XT_ASSERT_EQ(cycle(false, JUMP_NS), 0);
	XT_ASSERT_EQ(XT_LOAD(&ri.count) + XT_LOAD(&rv.count), 0);
	release_others(&h);

	XT_ASSERT_EQ(xt_rec_wait(&ri, 1), 1);
	XT_ASSERT_EQ(xt_rec_wait(&rv, 1), 1);
	XT_ASSERT_EQ(ri.last_cpu, 1);
	XT_ASSERT_EQ(xt_rec_settle(&rm), 0);
	XT_ASSERT(xl_evtchn_is_masked(masked) && xl_evtchn_is_pending(masked));
	XT_ASSERT_EQ(xl_evtchn_unmask(masked), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rm, 1), 1);
	/* Exactly once each, and nothing stray. */
	XT_ASSERT_EQ(xt_rec_settle(&ri) + xt_rec_settle(&rv), 2);
	xl_evtchn_get_stats(1, &st);
	XT_ASSERT_EQ(st.stray, 0);
	SEND_N(ipi, &ri, NR_SENDS);
	/* rv is this frame's: no VIRQ may reach its handler after we return. */
	XT_ASSERT_EQ(xl_evtchn_close(virq), 0);
	return XT_PASS;
}

/*
 * Interdomain and unbound ports are lost (their peer's end names the old
 * domid): reported once each to the callback with their type and data,
 * free in the port table, while the IPI beside them survives.  The owner
 * handshakes again: the peer offers a port for the new domid, the guest
 * binds it and takes the bind-time event and one send, exactly.  (FIFO:
 * before that, an event on a lost number bound behind the core's back
 * is stray: the forgotten entry keeps no handler.)
 */
static uint64_t lost_stray0;

static bool stray_more(void *arg)
{
	struct xl_evtchn_stats st;

	(void)arg;
	xl_evtchn_get_stats(0, &st);
	return st.stray > lost_stray0;
}

static enum xt_result t_lost(enum mode m)
{
	struct xt_rec ri = { 0 }, rd = { 0 }, ru = { 0 }, rn = { 0 };
	evtchn_port_t ipi, inter, unb, pp, pp2, again;
	struct hold h;
	uint32_t i;
	bool seen_d = false, seen_u = false;

	MODE_INIT(m);
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), pp,
						xt_rec_handler, &rd, &inter),
		     0);
	XT_ASSERT_EQ(xt_rec_wait(&rd, 1), 1); /* the bind-time event */
	XT_ASSERT_EQ(xl_evtchn_alloc_unbound(xt_peer_domid(), xt_rec_handler,
					     &ru, &unb),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &ri, &ipi), 0);

	XT_ASSERT(hold_others(&h));
	XT_ASSERT_EQ(cycle(false, JUMP_NS), 0);
	release_others(&h);

	XT_ASSERT_EQ(XT_LOAD(&lost_log.n), 2);
	for (i = 0; i < 2; i++) {
		if (lost_log.port[i] == inter) {
			XT_ASSERT_EQ(lost_log.type[i], XL_PORT_INTERDOMAIN);
			XT_ASSERT(lost_log.data[i] == &rd);
			seen_d = true;
		} else if (lost_log.port[i] == unb) {
			XT_ASSERT_EQ(lost_log.type[i], XL_PORT_UNBOUND);
			XT_ASSERT(lost_log.data[i] == &ru);
			seen_u = true;
		}
	}
	XT_ASSERT(seen_d && seen_u);
	XT_ASSERT_EQ(xl_evtchn_port_type(inter), XL_PORT_FREE);
	XT_ASSERT_EQ(xl_evtchn_port_type(unb), XL_PORT_FREE);
	XT_ASSERT_EQ(xl_evtchn_port_type(ipi), XL_PORT_IPI);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 1);
	SEND_N(ipi, &ri, NR_SENDS);
	if (m == M_FIFO) {
		/*
		 * The lost ports' numbers bound behind the core's back (a
		 * raw loopback pair takes them, the lowest free) and the
		 * bound end raised and unmasked: FIFO's consumer takes the
		 * event for the forgotten entry, which has no handler, so it
		 * is stray.
		 */
		struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
						   .remote_dom = DOMID_SELF };
		struct evtchn_bind_interdomain bi = { .remote_dom =
							      DOMID_SELF };
		struct evtchn_unmask um;
		struct evtchn_close cl;
		struct xl_evtchn_stats st0;

		xl_evtchn_get_stats(0, &st0);
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_alloc_unbound, &au), 0);
		bi.remote_port = au.port;
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_bind_interdomain, &bi), 0);
		XT_ASSERT(bi.local_port == inter || bi.local_port == unb);
		um.port = bi.local_port;
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_unmask, &um), 0);
		lost_stray0 = st0.stray;
		XT_ASSERT(xt_wait_until(stray_more, NULL, XT_EVENT_TIMEOUT_NS));
		cl.port = au.port;
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
		cl.port = bi.local_port;
		XT_ASSERT_EQ(xt_evop(EVTCHNOP_close, &cl), 0);
	}
	/* The handshake again, for the new domid. */
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp2), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_interdomain(xt_peer_domid(), pp2,
						xt_rec_handler, &rn, &again),
		     0);
	XT_ASSERT_EQ(xt_rec_wait(&rn, 1), 1);
	XT_ASSERT_EQ(xt_peer_send(0, pp2), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rn, 2), 2);
	XT_ASSERT_EQ(xt_rec_settle(&rn), 2);
	XT_ASSERT_EQ(xt_rec_settle(&rd) + xt_rec_settle(&ru), 1);
	xt_peer_close(0, pp);
	xt_peer_close(0, pp2);
	return XT_PASS;
}

/* --- timers --- */

struct rtimer {
	struct xl_timer t;
	uint64_t runs;
	int rc;
};

static void rtimer_fn(struct xl_timer *t)
{
	struct rtimer *rt = t->data;

	XT_ADD(&rt->runs, 1);
}

struct arm_arg {
	struct rtimer *rt;
	uint64_t deadline;
};

static void arm_on(void *arg)
{
	struct arm_arg *a = arg;

	xl_timer_setup(&a->rt->t, rtimer_fn, a->rt);
	a->rt->rc = xl_timer_arm(&a->rt->t, a->deadline);
}

struct clock_init_arg {
	struct xl_clock_config cfg;
	int rc[XL_MAX_VCPUS];
};

static void clock_init_on(void *arg)
{
	struct clock_init_arg *a = arg;

	a->rc[xl_os_vcpu_id()] = xl_clock_init(&a->cfg);
}

static enum xt_result clock_init_all(enum xl_clock_mode mode, unsigned int hz)
{
	struct clock_init_arg a = { .cfg = { .mode = mode, .hz = hz } };
	unsigned int cpu;

	for (cpu = 0; cpu < xt_nr_vcpus(); cpu++) {
		xt_run_on(cpu, clock_init_on, &a);
		XT_ASSERT_EQ(a.rc[cpu], 0);
	}
	return XT_PASS;
}

struct runs_wait {
	struct rtimer *rt;
	uint64_t n;
};

static bool runs_reached(void *arg)
{
	const struct runs_wait *w = arg;

	return XT_LOAD(&w->rt->runs) >= w->n;
}

/* Lateness bound of a timer that fires after a resume, under load. */
#define LATE_MAX_NS (500ULL * MS)

/*
 * Tickless: on vCPUs 0 and 1, a timer whose deadline passes while the
 * domain is suspended (the restore jumps time by JUMP_NS) and one due
 * 300 ms after the jump.  After the resume, the passed one fires once,
 * promptly (within LATE_MAX_NS of the resume, never before it), the
 * other once, at or after its deadline and within LATE_MAX_NS; none
 * fires twice.  On PV, the new vCPU's 100 Hz ticker is stopped: the
 * VIRQ_TIMER count over 400 ms is at most what the two timers and a
 * min_delta re-arm explain.
 */
/* Static: a timer a failed test leaves armed still points at them. */
static struct rtimer a[2], b[2];

static enum xt_result t_timers(enum mode m)
{
	struct xl_clock_stats cs0;
	uint64_t t_res, now, virq0;
	struct runs_wait w;
	struct arm_arg aa;
	unsigned int cpu;
	struct hold h;
	enum xt_result r;

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	MODE_INIT(m);
	r = clock_init_all(XL_CLOCK_SINGLESHOT, 0);
	if (r != XT_PASS)
		return r;
	now = xl_clock_now();
	for (cpu = 0; cpu < 2; cpu++) {
		aa = (struct arm_arg){ &a[cpu], now + JUMP_NS / 2 };
		xt_run_on(cpu, arm_on, &aa);
		XT_ASSERT_EQ(a[cpu].rc, 0);
		aa = (struct arm_arg){ &b[cpu], now + JUMP_NS + 300 * MS };
		xt_run_on(cpu, arm_on, &aa);
		XT_ASSERT_EQ(b[cpu].rc, 0);
	}

	XT_ASSERT(hold_others(&h));
	XT_ASSERT_EQ(cycle(false, JUMP_NS), 0);
	release_others(&h);
	/*
	 * The resume: no timer can fire before the new domain runs.  (On
	 * PV the new vCPU's default ticker may run the passed timer as soon
	 * as VIRQ_TIMER is bound again, before xl_clock_resume stops it.)
	 */
	t_res = resumed_at;
	XT_ASSERT(t_res >= now + JUMP_NS);
	xl_clock_get_stats(0, &cs0);
	virq0 = cs0.virq;
	r = clock_resume_all();
	if (r != XT_PASS)
		return r;
	for (cpu = 0; cpu < 2; cpu++) {
		w = (struct runs_wait){ &a[cpu], 1 };
		XT_ASSERT(xt_wait_until(runs_reached, &w, XT_EVENT_TIMEOUT_NS));
		XT_ASSERT_MSG(a[cpu].t.fired_at >= t_res &&
				      a[cpu].t.fired_at - t_res < LATE_MAX_NS,
			      "vCPU %u: passed timer fired %lld ns after the "
			      "resume (deadline %lld ns before it)",
			      cpu, (long long)(a[cpu].t.fired_at - t_res),
			      (long long)(t_res - a[cpu].t.deadline));
		w = (struct runs_wait){ &b[cpu], 1 };
		XT_ASSERT(xt_wait_until(runs_reached, &w, XT_EVENT_TIMEOUT_NS));
		XT_ASSERT_MSG(
			b[cpu].t.fired_at >= b[cpu].t.deadline &&
				b[cpu].t.fired_at - b[cpu].t.deadline <
					LATE_MAX_NS,
			"vCPU %u: timer fired %lld ns after its deadline", cpu,
			(long long)(b[cpu].t.fired_at - b[cpu].t.deadline));
	}
	xt_sleep_ns(400 * MS);
	for (cpu = 0; cpu < 2; cpu++) {
		XT_ASSERT_EQ(XT_LOAD(&a[cpu].runs), 1);
		XT_ASSERT_EQ(XT_LOAD(&b[cpu].runs), 1);
	}
	xl_clock_get_stats(0, &cs0);
	XT_ASSERT_MSG(cs0.virq - virq0 <= 4,
		      "vCPU 0: %llu VIRQ_TIMER since the resume",
		      (unsigned long long)(cs0.virq - virq0));
	return XT_PASS;
}

struct tick_wait {
	unsigned int cpu;
	uint64_t n;
};

static bool ticks_reached(void *arg)
{
	const struct tick_wait *w = arg;
	struct xl_clock_stats cs;

	xl_clock_get_stats(w->cpu, &cs);
	return cs.ticks >= w->n;
}

/*
 * Periodic 100 Hz: the tick runs again after the resume on every vCPU,
 * and the suspended time (JUMP_NS, 200 periods) is not counted as ticks.
 */
static enum xt_result t_periodic(enum mode m)
{
	struct xl_clock_stats before[XL_MAX_VCPUS], after;
	unsigned int cpu, nr = xt_nr_vcpus();
	struct tick_wait tw;
	struct hold h;
	enum xt_result r;

	MODE_INIT(m);
	r = clock_init_all(XL_CLOCK_PERIODIC, 100);
	if (r != XT_PASS)
		return r;
	tw = (struct tick_wait){ 0, 3 };
	XT_ASSERT(xt_wait_until(ticks_reached, &tw, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT(hold_others(&h));
	for (cpu = 0; cpu < nr; cpu++)
		xl_clock_get_stats(cpu, &before[cpu]);
	XT_ASSERT_EQ(cycle(false, JUMP_NS), 0);
	release_others(&h);
	r = clock_resume_all();
	if (r != XT_PASS)
		return r;
	for (cpu = 0; cpu < nr; cpu++) {
		tw = (struct tick_wait){ cpu, before[cpu].ticks + 10 };
		XT_ASSERT_MSG(xt_wait_until(ticks_reached, &tw,
					    XT_EVENT_TIMEOUT_NS),
			      "vCPU %u: no tick after the resume", cpu);
	}
	xl_clock_get_stats(0, &after);
	/* 10 counted and what came since: far below the 200 suspended. */
	XT_ASSERT_MSG(after.ticks - before[0].ticks < 150,
		      "vCPU 0: %llu ticks since the suspend",
		      (unsigned long long)(after.ticks - before[0].ticks));
	return XT_PASS;
}

/*
 * A cancelled suspend (the hypercall returns 1): the same domain, every
 * port as it was and working, nothing lost, no new port in Xen, and the
 * timer armed before fires exactly once without any re-arm.
 */
static struct rtimer ca;

static enum xt_result t_cancel(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t ipi;
	struct runs_wait w = { &ca, 1 };
	struct arm_arg aa;
	domid_t old = xt_domid();
	struct hold h;
	int open;
	enum xt_result res;

	MODE_INIT(m);
	res = clock_init_all(XL_CLOCK_SINGLESHOT, 0);
	if (res != XT_PASS)
		return res;
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &ipi), 0);
	memset(&ca, 0, sizeof(ca));
	aa = (struct arm_arg){ &ca, xl_clock_now() + 100 * MS };
	xt_run_on(0, arm_on, &aa);
	XT_ASSERT_EQ(ca.rc, 0);
	open = hv_evtchn_open_ports(dom(), NULL, 0);

	XT_ASSERT(hold_others(&h));
	XT_ASSERT_EQ(cycle(true, JUMP_NS), 1);
	release_others(&h);

	XT_ASSERT_EQ(xt_domid(), old);
	XT_ASSERT_EQ(XT_LOAD(&lost_log.n), 0);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), open);
	XEN_HAS(ipi, EVTCHNSTAT_ipi, 1);
	SEND_N(ipi, &r, NR_SENDS);
	XT_ASSERT(xt_wait_until(runs_reached, &w, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT(ca.t.fired_at >= ca.t.deadline);
	xt_sleep_ns(100 * MS);
	XT_ASSERT_EQ(XT_LOAD(&ca.runs), 1);
	return XT_PASS;
}

/*
 * A restore whose placeholder allocation fails (EVTCHNOP_alloc_unbound
 * refused, -ENOSPC, by the hook: the new domain out of ports): the IPI
 * cannot be bound again at its number, so it is lost, reported once to
 * the lost callback and forgotten, and the resume goes on (rebind_at
 * gives up on the error rather than retry it for ever).
 */
static long fail_alloc_unbound_hook(struct hv_vcpu *v, int cmd, void *arg,
				    bool after, long rc, void *data)
{
	if (after || cmd != EVTCHNOP_alloc_unbound)
		return 0;
	__atomic_fetch_add((unsigned int *)data, 1, __ATOMIC_SEQ_CST);
	return -XEN_ENOSPC;
}

static enum xt_result t_fill_fails(enum mode m)
{
	struct xt_rec r = { 0 };
	unsigned int refused = 0;
	evtchn_port_t ipi;
	struct hold h;
	long rc;

	MODE_INIT(m);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &ipi), 0);
	XT_ASSERT(hold_others(&h));
	hv_domain_set_evtchn_hook(dom(), fail_alloc_unbound_hook, &refused);
	rc = cycle(false, JUMP_NS);
	hv_domain_set_evtchn_hook(dom(), NULL, NULL);
	release_others(&h);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(refused, 1);
	XT_ASSERT_EQ(XT_LOAD(&lost_log.n), 1);
	XT_ASSERT_EQ(lost_log.port[0], ipi);
	XT_ASSERT_EQ(lost_log.type[0], XL_PORT_IPI);
	XT_ASSERT_EQ(xl_evtchn_port_type(ipi), XL_PORT_FREE);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 0);
	/* The core works on: a new bind takes the lowest free number. */
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, xt_rec_handler, &r, &ipi), 0);
	XT_ASSERT_EQ(xl_evtchn_send(ipi), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_cpu, 1);
	return XT_PASS;
}

/*
 * A cancel that returns 0 (PVH without HVM_PARAM_CALLBACK_IRQ): the core
 * finds its ports still bound in Xen and changes nothing; no port lost.
 */
static enum xt_result t_cancel_zero(enum mode m)
{
	struct xt_rec r = { 0 }, rv = { 0 };
	evtchn_port_t ipi, virq;
	int open;

	MODE_INIT(m);
	/* The probe (port_still_bound) is the first VIRQ or IPI port: a
	 * VIRQ, whose type and VIRQ must both match Xen's. */
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_DEBUG, 0, xt_rec_handler, &rv,
					 &virq),
		     0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	open = hv_evtchn_open_ports(dom(), NULL, 0);
	memset(&lost_log, 0, sizeof(lost_log));
	XT_ASSERT_EQ(xl_evtchn_suspend(), 0);
	plan(true, 0);
	XT_ASSERT_EQ(raw_suspend(), 0);
	hv_domain_set_suspend_plan(dom(), NULL);
	XT_ASSERT_EQ(xl_evtchn_resume(false, lost_fn), 0);
	XT_ASSERT_EQ(XT_LOAD(&lost_log.n), 0);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), open);
	XEN_HAS(ipi, EVTCHNSTAT_ipi, 0);
	XEN_HAS(virq, EVTCHNSTAT_virq, 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(ipi), XL_PORT_IPI);
	XT_ASSERT_EQ(xl_evtchn_port_type(virq), XL_PORT_VIRQ);
	/* No upcall registered: the event waits, pending and unmasked. */
	XT_ASSERT_EQ(xl_evtchn_send(ipi), 0);
	XT_ASSERT(xl_evtchn_is_pending(ipi) && !xl_evtchn_is_masked(ipi));
	/* rv is this frame's. */
	XT_ASSERT_EQ(xl_evtchn_close(virq), 0);
	return XT_PASS;
}

/*
 * The same with only an unbound port (no VIRQ or IPI to probe): that
 * port decides, found still bound, so nothing is redone and nothing lost
 * (2-level would otherwise set up again and lose it: an unbound port is
 * never bound again at a resume).
 */
static enum xt_result t_cancel_zero_unbound(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t u;
	int open;

	MODE_INIT(m);
	XT_ASSERT_EQ(
		xl_evtchn_alloc_unbound(DOMID_SELF, xt_rec_handler, &r, &u), 0);
	open = hv_evtchn_open_ports(dom(), NULL, 0);
	memset(&lost_log, 0, sizeof(lost_log));
	XT_ASSERT_EQ(xl_evtchn_suspend(), 0);
	plan(true, 0);
	XT_ASSERT_EQ(raw_suspend(), 0);
	hv_domain_set_suspend_plan(dom(), NULL);
	XT_ASSERT_EQ(xl_evtchn_resume(false, lost_fn), 0);
	XT_ASSERT_EQ(XT_LOAD(&lost_log.n), 0);
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), open);
	XEN_HAS(u, EVTCHNSTAT_unbound, 0);
	XT_ASSERT_EQ(xl_evtchn_port_type(u), XL_PORT_UNBOUND);
	return XT_PASS;
}

static struct rtimer rep;

/*
 * Six cycles in a row, restores and cancels mixed (a cancel every third),
 * with traffic between them: an IPI per vCPU takes 5 sends per cycle and
 * a timer armed 20 ms ahead on vCPU 0 fires once per cycle; the counts
 * stay exact across all of them, the port numbers never change, and hv
 * ends with exactly the ports the core has.
 */
static enum xt_result t_repeat(enum mode m)
{
	struct xt_rec r[XL_MAX_VCPUS] = { 0 };
	evtchn_port_t ipi[XL_MAX_VCPUS];
	unsigned int cpu, k, nr = xt_nr_vcpus();
	struct runs_wait w = { &rep, 0 };
	struct arm_arg aa;
	struct hold h;
	bool cancel;
	enum xt_result res;

	memset(&rep, 0, sizeof(rep));
	MODE_INIT(m);
	res = clock_init_all(XL_CLOCK_SINGLESHOT, 0);
	if (res != XT_PASS)
		return res;
	for (cpu = 0; cpu < nr; cpu++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(cpu, xt_rec_handler, &r[cpu],
						&ipi[cpu]),
			     0);
	for (k = 0; k < 6; k++) {
		cancel = k % 3 == 2;
		XT_ASSERT(hold_others(&h));
		XT_ASSERT_EQ(cycle(cancel, JUMP_NS / 4), cancel ? 1 : 0);
		release_others(&h);
		XT_ASSERT_EQ(XT_LOAD(&lost_log.n), 0);
		if (!cancel) {
			res = clock_resume_all();
			if (res != XT_PASS)
				return res;
		}
		for (cpu = 0; cpu < nr; cpu++) {
			XEN_HAS(ipi[cpu], EVTCHNSTAT_ipi, cpu);
			SEND_N(ipi[cpu], &r[cpu], 5);
			XT_ASSERT_EQ(XT_LOAD(&r[cpu].count), 5 * (k + 1));
		}
		aa = (struct arm_arg){ &rep, xl_clock_now() + 20 * MS };
		xt_run_on(0, arm_on, &aa);
		XT_ASSERT_EQ(rep.rc, 0);
		w.n = k + 1;
		XT_ASSERT(xt_wait_until(runs_reached, &w, XT_EVENT_TIMEOUT_NS));
	}
	xt_sleep_ns(50 * MS);
	XT_ASSERT_EQ(XT_LOAD(&rep.runs), 6);
	/* The IPIs and one VIRQ_TIMER per vCPU. */
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), 2 * nr);
	XT_ASSERT_EQ(HV_STAT(restores), 4);
	XT_ASSERT_EQ(HV_STAT(suspend_cancels), 2);
	return XT_PASS;
}

/*
 * A cancel with no port bound: the resume must not touch the FIFO set-up
 * Xen still uses (its control blocks, the event array); a later bind and
 * send work.  With returncode 0 (no HVM_PARAM_CALLBACK_IRQ) too, where
 * only init_control can tell that no restore happened.
 */
static enum xt_result cancel_empty(bool zero)
{
	struct xt_rec r = { 0 };
	evtchn_port_t ipi;
	void *cb;

	MODE_INIT(M_FIFO);
	cb = hv_fifo_control_block(hv_domain_vcpu(dom(), 0));
	XT_ASSERT(cb != NULL);
	memset(&lost_log, 0, sizeof(lost_log));
	XT_ASSERT_EQ(xl_evtchn_suspend(), 0);
	plan(true, 0);
	XT_ASSERT_EQ(raw_suspend(), zero ? 0 : 1);
	hv_domain_set_suspend_plan(dom(), NULL);
	XT_ASSERT_EQ(xl_evtchn_resume(!zero, lost_fn), 0);
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_FIFO);
	XT_ASSERT(hv_fifo_control_block(hv_domain_vcpu(dom(), 0)) == cb);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &ipi), 0);
	XEN_HAS(ipi, EVTCHNSTAT_ipi, 0);
	XT_ASSERT_EQ(xl_evtchn_send(ipi), 0);
	if (zero) /* no upcall registered: it waits, pending */
		XT_ASSERT(xl_evtchn_is_pending(ipi));
	else
		XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	return XT_PASS;
}

static enum xt_result t_cancel_empty(void)
{
	return cancel_empty(false);
}

static enum xt_result t_cancel_zero_empty(void)
{
	return cancel_empty(true);
}

/* --- grant table (xen-gnttab.c) ----------------------------------------- */

/*
 * One cycle in the core's order with the grant table: frozen and thawed
 * inside the masked section, around the hypercall (cycle()).
 */
static long cycle_gt(bool cancel, uint64_t jump)
{
	return cycle(cancel, jump);
}

static int gt_reinit(void)
{
	if (xl_gnttab_ready())
		xl_gnttab_fini();
	return xl_gnttab_init();
}

/* The entry of ref where Xen (hv) has it now; NULL if not mapped. */
static grant_entry_v1_t *gt_entry_of(grant_ref_t ref)
{
	struct gnttab_setup_table st = { .dom = DOMID_SELF };
	xen_pfn_t f[XL_GNTTAB_MAX_FRAMES];
	grant_entry_v1_t *e;

	st.nr_frames = ref / XL_GNTTAB_PER_FRAME + 1;
	set_xen_guest_handle(st.frame_list, f);
	if (xl_os_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table,
			    (unsigned long)&st, 1, 0, 0) ||
	    st.status || f[st.nr_frames - 1] == ~(xen_pfn_t)0)
		return NULL;
	/* PV: setup_table reports machine frames (hv_gnttab_pv_frame). */
	e = is_pv() ? hv_gnttab_pv_frame(dom(), f[st.nr_frames - 1]) :
		      hv_gfn_to_virt(dom(), f[st.nr_frames - 1]);
	return e ? &e[ref % XL_GNTTAB_PER_FRAME] : NULL;
}

static uint16_t gt_flags(grant_ref_t ref)
{
	grant_entry_v1_t *e = gt_entry_of(ref);

	return e ? __atomic_load_n(&e->flags, __ATOMIC_SEQ_CST) : 0xffff;
}

static struct hv_gnttab_stats hv_gt(void)
{
	struct hv_gnttab_stats st;

	hv_gnttab_get_stats(dom(), &st);
	return st;
}

/*
 * What a test holds across the cycle: live, granted; live_mapped,
 * granted and mapped by the backend (domain 0); dead, mapped and ended
 * deferred with its page (the grant table's until unmapped).
 */
struct gt_set {
	uint8_t *page[3];
	grant_ref_t live, live_mapped, dead;
	struct hv_grant_map m_live, m_dead;
	unsigned int nr;
};

static enum xt_result gt_set_up(struct gt_set *g)
{
	unsigned int i;

	memset(g, 0, sizeof(*g));
	XT_ASSERT_EQ(gt_reinit(), 0);
	g->nr = xl_gnttab_nr_refs();
	for (i = 0; i < 3; i++) {
		g->page[i] = xl_os_alloc_page();
		XT_ASSERT(g->page[i] != NULL);
	}
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(g->page[0]),
					    false, &g->live),
		     0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(g->page[1]),
					    false, &g->live_mapped),
		     0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(g->page[2]),
					    false, &g->dead),
		     0);
	XT_ASSERT_EQ(hv_gnttab_map(dom(), g->live_mapped, false, &g->m_live),
		     GNTST_okay);
	XT_ASSERT_EQ(hv_gnttab_map(dom(), g->dead, false, &g->m_dead),
		     GNTST_okay);
	XT_ASSERT_EQ(xl_gnttab_end_access_defer_page(g->dead, g->page[2]), 1);
	g->page[2] = NULL; /* the grant table's now */
	XT_ASSERT_EQ(xl_gnttab_nr_free(), g->nr - 3);
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), 1);
	return XT_PASS;
}

#define GT_SET_UP(g)                               \
	do {                                       \
		enum xt_result su_ = gt_set_up(g); \
		if (su_ != XT_PASS)                \
			return su_;                \
	} while (0)

static void gt_set_free(struct gt_set *g)
{
	unsigned int i;

	for (i = 0; i < 3; i++)
		if (g->page[i])
			xl_os_free_page(g->page[i]);
}

/*
 * Every free ref handed out once (exactly nr_free, distinct, none
 * reserved, none held), then ENOSPC, then all ended: the free list is
 * consistent.  One of them is mapped and written through by the
 * backend: the new table works.
 */
static enum xt_result gt_walk_free(const grant_ref_t *held, unsigned int nheld)
{
	static grant_ref_t refs[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	static uint8_t seen[XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME];
	unsigned int n = 0, i, want = xl_gnttab_nr_free();
	uint8_t *page = xl_os_alloc_page();
	struct hv_grant_map m;
	grant_ref_t extra;

	XT_ASSERT(page != NULL);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < nheld; i++)
		seen[held[i]] = 1;
	while (n < want && xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page),
						  false, &refs[n]) == 0) {
		XT_ASSERT_MSG(refs[n] >= GNTTAB_NR_RESERVED_ENTRIES &&
				      refs[n] < XL_GNTTAB_MAX_FRAMES *
							XL_GNTTAB_PER_FRAME &&
				      !seen[refs[n]],
			      "ref %u handed out twice or reserved", refs[n]);
		seen[refs[n]] = 1;
		n++;
	}
	XT_ASSERT_EQ(n, want);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &extra), -XEN_ENOSPC);
	XT_ASSERT_EQ(hv_gnttab_map(dom(), refs[n / 2], false, &m), GNTST_okay);
	((uint8_t *)m.va)[100] = 0xa5;
	XT_ASSERT_EQ(page[100], 0xa5);
	hv_gnttab_unmap(&m);
	for (i = 0; i < n; i++)
		XT_ASSERT_EQ(xl_gnttab_end_access(refs[i]), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), want);
	xl_os_free_page(page);
	return XT_PASS;
}

#define GT_WALK_FREE(held, n)                               \
	do {                                                \
		enum xt_result wf_ = gt_walk_free(held, n); \
		if (wf_ != XT_PASS)                         \
			return wf_;                         \
	} while (0)

/*
 * hv's model of the new domain's table (hv/gnttab.c
 * hv_gnttab_restore_reset): one frame, mapped nowhere (setup_table
 * reports INVALID_M2P_ENTRY), nothing mappable, the backend's mappings
 * of the old domain's grants stale (their unmap touches nothing of the
 * new table); mapped again, cleared.
 */
static enum xt_result t_gnttab_hv_restore(void)
{
	struct gnttab_query_size q = { .dom = DOMID_SELF };
	struct hv_grant_map m2;
	struct gt_set g;

	MODE_INIT(M_FIFO);
	GT_SET_UP(&g);
	XT_ASSERT_EQ(hv_gt().mapped, 2);
	plan(false, JUMP_NS);
	XT_ASSERT_EQ(raw_suspend(), 0);
	hv_domain_set_suspend_plan(dom(), NULL);
	XT_ASSERT_EQ(xl_os_hypercall(__HYPERVISOR_grant_table_op,
				     GNTTABOP_query_size, (unsigned long)&q, 1,
				     0, 0),
		     0);
	XT_ASSERT_EQ(q.nr_frames, 1);
	XT_ASSERT_EQ(hv_gt().mapped, 0);
	XT_ASSERT_EQ(hv_gt().stale, 2);
	XT_ASSERT_EQ(hv_gt().nr_frames, 1);
	if (is_pv()) {
		/*
		 * PV: frame 0 is a new machine frame, there and cleared
		 * (no p2m to be absent from); map_grant_ref() finds no
		 * GTF_permit_access: "Bad flags", GNTST_general_error
		 * (_set_status_v1(), xen/common/grant_table.c).
		 */
		XT_ASSERT(gt_entry_of(0) != NULL);
		XT_ASSERT_EQ(gt_flags(0), 0);
		XT_ASSERT_EQ(hv_gnttab_map(dom(), g.live, false, &m2),
			     GNTST_general_error);
	} else {
		XT_ASSERT(gt_entry_of(0) == NULL);
		XT_ASSERT_EQ(hv_gnttab_map(dom(), g.live, false, &m2),
			     GNTST_bad_gntref);
	}
	hv_gnttab_unmap(&g.m_live);
	XT_ASSERT_EQ(hv_gt().stale, 1);
	XT_ASSERT_EQ(hv_gt().mapped, 0);
	/* The core maps the frames again: the new ones are cleared. */
	XT_ASSERT_EQ(hv_guest_resume(), 0);
	XT_ASSERT_EQ(xl_gnttab_resume(false), 0);
	XT_ASSERT_EQ(hv_gt().nr_frames, XL_GNTTAB_MAX_FRAMES);
	XT_ASSERT_EQ(gt_flags(g.live), 0);
	XT_ASSERT_EQ(gt_flags(g.live_mapped), 0);
	XT_ASSERT_EQ(hv_gnttab_map(dom(), g.live, false, &m2),
		     GNTST_general_error);
	hv_gnttab_unmap(&g.m_dead);
	XT_ASSERT_EQ(hv_gt().stale, 0);
	XT_ASSERT_EQ(gt_flags(g.dead), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(g.live), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(g.live_mapped), 0);
	gt_set_free(&g);
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * A restore: the frames mapped again at the same gfns, the held refs
 * void (their entries invalid in the new table, so no backend maps them;
 * their end succeeds), the deferred ref free (its mapper was the old
 * domain's backend), the free list exactly the rest, the table usable.
 */
static enum xt_result t_gnttab_restore(void)
{
	struct xl_gnttab_stats st;
	struct hv_grant_map m2;
	struct gt_set g;
	grant_ref_t held[2];

	MODE_INIT(M_FIFO);
	GT_SET_UP(&g);
	XT_ASSERT_EQ(cycle_gt(false, JUMP_NS), 0);
	XT_ASSERT(gt_entry_of(XL_GNTTAB_MAX_FRAMES * XL_GNTTAB_PER_FRAME - 1) !=
		  NULL);
	xl_gnttab_get_stats(&st);
	XT_ASSERT_EQ(st.restores, 1);
	XT_ASSERT_EQ(st.restore_voided, 2);
	XT_ASSERT_EQ(st.restore_released, 1);
	XT_ASSERT_EQ(xl_gnttab_nr_deferred(), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), g.nr - 2);
	XT_ASSERT_EQ(gt_flags(g.live), 0);
	XT_ASSERT_EQ(hv_gnttab_map(dom(), g.live, false, &m2),
		     GNTST_general_error);
	/* The old backend lets go: nothing changes in the new table. */
	XT_ASSERT_EQ(hv_gt().stale, 2);
	hv_gnttab_unmap(&g.m_live);
	hv_gnttab_unmap(&g.m_dead);
	XT_ASSERT_EQ(hv_gt().stale, 0);
	XT_ASSERT_EQ(hv_gt().mapped, 0);
	held[0] = g.live;
	held[1] = g.live_mapped;
	GT_WALK_FREE(held, 2);
	XT_ASSERT_EQ(xl_gnttab_end_access(g.live), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(g.live_mapped), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), g.nr);
	gt_set_free(&g);
	xl_gnttab_fini();
	return XT_PASS;
}

/* After a cancel, what a restore voids is still in force. */
static enum xt_result gt_check_kept(struct gt_set *g)
{
	struct xl_gnttab_stats st;
	struct hv_grant_map m2;

	xl_gnttab_get_stats(&st);
	XT_ASSERT_EQ(st.restores, 0);
	XT_ASSERT_EQ(st.restore_voided, 0);
	XT_ASSERT_EQ(st.restore_released, 0);
	XT_ASSERT_EQ(hv_gt().stale, 0);
	XT_ASSERT_EQ(hv_gt().mapped, 2);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), g->nr - 3);
	XT_ASSERT(xl_gnttab_is_deferred(g->dead));
	/* Still granted and mapped: the backend reads and writes. */
	XT_ASSERT_EQ(hv_gnttab_map(dom(), g->live, false, &m2), GNTST_okay);
	((uint8_t *)m2.va)[5] = 0x3c;
	XT_ASSERT_EQ(g->page[0][5], 0x3c);
	hv_gnttab_unmap(&m2);
	XT_ASSERT_EQ(xl_gnttab_end_access(g->live_mapped), -XEN_EBUSY);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 1);
	hv_gnttab_unmap(&g->m_live);
	hv_gnttab_unmap(&g->m_dead);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(g->live_mapped), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(g->live), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), g->nr);
	return XT_PASS;
}

/*
 * A cancel: the same table, nothing redone (no frame mapped again, no
 * ref voided or released: the mapped deferred ref stays deferred).
 * While suspended the table is frozen: grant and end refused.
 */
static enum xt_result t_gnttab_cancel(void)
{
	grant_ref_t r;
	struct gt_set g;
	enum xt_result res;

	MODE_INIT(M_FIFO);
	GT_SET_UP(&g);
	XT_ASSERT_EQ(xl_gnttab_suspend(), 0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, 1, false, &r), -XEN_EAGAIN);
	XT_ASSERT_EQ(xl_gnttab_end_access(g.live), -XEN_EAGAIN);
	XT_ASSERT_EQ(xl_gnttab_resume(true), 0);
	XT_ASSERT_EQ(cycle_gt(true, 0), 1);
	res = gt_check_kept(&g);
	gt_set_free(&g);
	xl_gnttab_fini();
	return res;
}

/* A cancel that returns 0: the frames still mapped tell the resume. */
static enum xt_result t_gnttab_cancel_zero(void)
{
	struct gt_set g;
	enum xt_result res;

	MODE_INIT(M_FIFO);
	GT_SET_UP(&g);
	XT_ASSERT_EQ(xl_evtchn_suspend(), 0);
	XT_ASSERT_EQ(xl_gnttab_suspend(), 0);
	plan(true, 0);
	XT_ASSERT_EQ(raw_suspend(), 0);
	hv_domain_set_suspend_plan(dom(), NULL);
	XT_ASSERT_EQ(xl_gnttab_resume(false), 0);
	XT_ASSERT_EQ(xl_evtchn_resume(false, lost_fn), 0);
	res = gt_check_kept(&g);
	gt_set_free(&g);
	xl_gnttab_fini();
	return res;
}

/*
 * A restore, a cancel, a restore: after each, a grant made in the new
 * domain is mapped and written through; the second restore voids the
 * one granted after the first (the older held refs were void already),
 * and the counts stay exact.
 */
static enum xt_result t_gnttab_repeat(void)
{
	struct xl_gnttab_stats st;
	struct hv_grant_map m;
	uint8_t *page = xl_os_alloc_page();
	struct gt_set g;
	grant_ref_t held[3];
	grant_ref_t r;

	XT_ASSERT(page != NULL);
	MODE_INIT(M_FIFO);
	GT_SET_UP(&g);
	hv_gnttab_unmap(&g.m_live);
	hv_gnttab_unmap(&g.m_dead);
	XT_ASSERT_EQ(cycle_gt(false, JUMP_NS), 0);
	XT_ASSERT_EQ(xl_gnttab_grant_access(0, xl_os_virt_to_gfn(page), false,
					    &r),
		     0);
	XT_ASSERT_EQ(hv_gnttab_map(dom(), r, false, &m), GNTST_okay);
	((uint8_t *)m.va)[9] = 0x11;
	XT_ASSERT_EQ(page[9], 0x11);
	hv_gnttab_unmap(&m);
	XT_ASSERT_EQ(cycle_gt(true, 0), 1);
	/* The cancel kept it granted. */
	XT_ASSERT_EQ(hv_gnttab_map(dom(), r, false, &m), GNTST_okay);
	hv_gnttab_unmap(&m);
	XT_ASSERT_EQ(cycle_gt(false, JUMP_NS), 0);
	XT_ASSERT_EQ(gt_flags(r), 0);
	xl_gnttab_get_stats(&st);
	XT_ASSERT_EQ(st.restores, 2);
	/* r only: live and live_mapped were void since the first. */
	XT_ASSERT_EQ(st.restore_voided, 2 + 1);
	XT_ASSERT_EQ(st.restore_released, 1);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), g.nr - 3);
	held[0] = g.live;
	held[1] = g.live_mapped;
	held[2] = r;
	GT_WALK_FREE(held, 3);
	XT_ASSERT_EQ(xl_gnttab_end_access(r), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(g.live), 0);
	XT_ASSERT_EQ(xl_gnttab_end_access(g.live_mapped), 0);
	XT_ASSERT_EQ(xl_gnttab_nr_free(), g.nr);
	xl_os_free_page(page);
	gt_set_free(&g);
	xl_gnttab_fini();
	return XT_PASS;
}

/* --- xenstore (xen-xenstore.c) ------------------------------------------- */

#define XS_QUIESCE_NS (2000ULL * MS)

/*
 * The whole order with xenstore: quiesced first (delivery on, before the
 * others are held), then the cycle (the grant table frozen and thawed
 * inside it), then xenstore resumed.
 * hold: hold the other vCPUs (a test whose vCPU 1 is blocked in a
 * request cannot: it is then blocked in the client's wait, and nothing
 * is raised for it until the xenstore resume).  *busy: what
 * xl_xs_suspend() left in flight.
 */
/*
 * If set, sent once the cycle returned and before the xenstore resume: a
 * vCPU blocked in the client runs an upcall there and looks at its
 * deadline in the new host's time (as a real vCPU does when its timer,
 * re-armed at the clock resume, fires).
 */
static evtchn_port_t kick_before_xs_resume;

static long cycle_xs(bool cancel, uint64_t jump, bool hold, uint64_t quiesce,
		     int *busy)
{
	struct hold h;
	long rc;
	int r;

	*busy = xl_xs_suspend(quiesce);
	if (hold && !hold_others(&h))
		return -XEN_ETIMEDOUT;
	rc = cycle(cancel, jump);
	if (hold)
		release_others(&h);
	if (rc < 0)
		return rc;
	if (kick_before_xs_resume) {
		xl_evtchn_send(kick_before_xs_resume);
		xt_sleep_ns(20 * MS); /* it looked at its deadline */
	}
	r = xl_xs_resume(rc == 1);
	/* xl_xs_resume(): 1 restored, 0 the same domain. */
	if (r == (rc == 0 ? 1 : 0))
		r = 0;
	else if (r >= 0)
		r = -XEN_EIO; /* the wrong verdict */
	return r ? r : rc;
}

static enum xt_result xs_up(void)
{
	MODE_INIT(M_FIFO);
	XT_ASSERT_EQ(xl_xs_init(), 0);
	return XT_PASS;
}

#define XS_UP()                               \
	do {                                  \
		enum xt_result up_ = xs_up(); \
		if (up_ != XT_PASS)           \
			return up_;           \
	} while (0)

static void watch_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	(void)w;
	(void)path;
	XT_ADD((uint32_t *)arg, 1);
}

struct fired_wait {
	uint32_t *n;
	uint32_t want;
};

static bool fired_reached(void *arg)
{
	struct fired_wait *f = arg;

	xl_xs_run_watches();
	return XT_LOAD(f->n) >= f->want;
}

/* The watch's callback ran exactly want times (and no more in 100 ms). */
static enum xt_result fired_exactly(uint32_t *n, uint32_t want)
{
	struct fired_wait f = { n, want };

	XT_ASSERT_MSG(xt_wait_until(fired_reached, &f, XT_EVENT_TIMEOUT_NS),
		      "watch fired %u times, want %u", XT_LOAD(n), want);
	xt_sleep_ns(100 * MS);
	xl_xs_run_watches();
	XT_ASSERT_EQ(XT_LOAD(n), want);
	return XT_PASS;
}

#define FIRED_EXACTLY(n, want)                               \
	do {                                                 \
		enum xt_result fe_ = fired_exactly(n, want); \
		if (fe_ != XT_PASS)                          \
			return fe_;                          \
	} while (0)

/* dom0 writes /local/domain/<us>/rel (the guest's home, now). */
static int d0_write(const char *rel, const char *val)
{
	char path[96];

	snprintf(path, sizeof(path), "/local/domain/%u/%s", xt_domid(), rel);
	return hv_xs_write(path, val);
}

static enum xt_result read_is(const char *rel, const char *want)
{
	char buf[64];
	size_t len;

	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, rel, buf, sizeof(buf), &len), 0);
	XT_ASSERT_MSG(len == strlen(want) && !memcmp(buf, want, len),
		      "%s: '%.*s', want '%s'", rel, (int)len, buf, want);
	return XT_PASS;
}

#define READ_IS(rel, want)                               \
	do {                                             \
		enum xt_result ri_ = read_is(rel, want); \
		if (ri_ != XT_PASS)                      \
			return ri_;                      \
	} while (0)

/*
 * A restore: the new store port (the old one is closed in the new
 * domain), the watch registered again (xenstored fires it once), then it
 * fires on a change made in the new domain's home, exactly once each;
 * requests work on the new connection.
 */
static enum xt_result t_xs_restore(void)
{
	struct xl_xs_watch w;
	struct xl_xs_stats st;
	uint32_t fired = 0;
	domid_t old = xt_domid();
	int old_port, busy;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "data/a", "1"), 0);
	XT_ASSERT_EQ(xl_xs_watch(&w, "data/w", watch_fn, &fired), 0);
	FIRED_EXACTLY(&fired, 1);
	XT_ASSERT_EQ(d0_write("data/w", "x"), 0);
	FIRED_EXACTLY(&fired, 2);
	old_port = hv_xs_domain_port(dom());
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, XS_QUIESCE_NS, &busy), 0);
	XT_ASSERT_EQ(busy, 0);
	XT_ASSERT(xt_domid() != old);
	XT_ASSERT(hv_xs_domain_port(dom()) > 0);
	XT_ASSERT(xl_evtchn_port_type((evtchn_port_t)old_port) !=
			  XL_PORT_INTERDOMAIN ||
		  old_port == hv_xs_domain_port(dom()));
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.restores, 1);
	XT_ASSERT_EQ(st.rewatched, 1);
	XT_ASSERT_EQ(st.rewatch_errors, 0);
	XT_ASSERT_EQ(st.restore_failed, 0);
	/* Registered again: xenstored's first firing. */
	FIRED_EXACTLY(&fired, 3);
	/* A change in the new domain's home fires it. */
	XT_ASSERT_EQ(d0_write("data/w", "y"), 0);
	FIRED_EXACTLY(&fired, 4);
	/* The guest's own nodes are not carried (libxl rebuilds its own). */
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, "data/a", NULL, 0, NULL),
		     -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "data/b", "2"), 0);
	READ_IS("data/b", "2");
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	xl_gnttab_fini();
	return XT_PASS;
}

/* A cancel: the same connection; nothing registered again. */
static enum xt_result xs_cancel(bool flagged)
{
	struct xl_xs_watch w;
	struct xl_xs_stats st;
	uint32_t fired = 0;
	int port, busy;
	struct hold h;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	XT_ASSERT_EQ(xl_xs_watch(&w, "data/w", watch_fn, &fired), 0);
	FIRED_EXACTLY(&fired, 1);
	port = hv_xs_domain_port(dom());
	if (flagged) {
		XT_ASSERT_EQ(cycle_xs(true, 0, true, XS_QUIESCE_NS, &busy), 1);
	} else {
		/* Told nothing: each resume's own probe must see it. */
		XT_ASSERT_EQ(xl_xs_suspend(XS_QUIESCE_NS), 0);
		XT_ASSERT(hold_others(&h));
		XT_ASSERT_EQ(xl_evtchn_suspend(), 0);
		XT_ASSERT_EQ(xl_gnttab_suspend(), 0);
		plan(true, 0);
		XT_ASSERT_EQ(raw_suspend(), 1);
		hv_domain_set_suspend_plan(dom(), NULL);
		XT_ASSERT_EQ(xl_gnttab_resume(false), 0);
		XT_ASSERT_EQ(xl_evtchn_resume(false, lost_fn), 0);
		release_others(&h);
		XT_ASSERT_EQ(xl_xs_resume(false), 0); /* the same domain */
	}
	XT_ASSERT_EQ(hv_xs_domain_port(dom()), port);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.restores, 0);
	XT_ASSERT_EQ(st.rewatched, 0);
	/* No second registration's firing; one per change. */
	xt_sleep_ns(50 * MS);
	FIRED_EXACTLY(&fired, 1);
	XT_ASSERT_EQ(d0_write("data/w", "z"), 0);
	FIRED_EXACTLY(&fired, 2);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "data/c", "3"), 0);
	READ_IS("data/c", "3");
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	xl_gnttab_fini();
	return XT_PASS;
}

static enum xt_result t_xs_cancel(void)
{
	return xs_cancel(true);
}

static enum xt_result t_xs_cancel_unflagged(void)
{
	return xs_cancel(false);
}

struct xs_send {
	const char *path, *val;
	int rc;
	uint32_t returned; /* atomic */
};

static void xs_send_fn(void *arg)
{
	struct xs_send *snd = arg;

	snd->rc = xl_xs_write(XL_XS_NO_TX, snd->path, snd->val);
	XT_ADD(&snd->returned, 1);
}

static bool ring_has_request(void *arg)
{
	struct xenstore_domain_interface *in =
		hv_gfn_to_virt(dom(), (uint64_t)hv_xs_domain_gfn(dom()));

	(void)arg;
	return __atomic_load_n(&in->req_prod, __ATOMIC_SEQ_CST) !=
	       __atomic_load_n(&in->req_cons, __ATOMIC_SEQ_CST);
}

/*
 * A request in flight at the suspend that xenstored never answers (the
 * old connection paused): the quiesce gives up with it in flight, and
 * after the restore it fails once, with -XEN_ENOTCONN; the new
 * connection reads it from the ring and does it (so the error says "may
 * have been done"), its reply is dropped, and the next request gets its
 * own reply.
 */
static enum xt_result t_xs_inflight(void)
{
	struct xs_send snd = { "data/f", "1", 1, 0 };
	struct xl_xs_stats s0, st;
	int busy;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	xl_xs_get_stats(&s0);
	hv_xs_pause(dom(), true);
	xt_start_on(1, xs_send_fn, &snd);
	XT_ASSERT(xt_wait_until(ring_has_request, NULL, XT_EVENT_TIMEOUT_NS));
	/* vCPU 1 waits in the client: not held (see cycle_xs). */
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, false, 100 * MS, &busy), 0);
	XT_ASSERT_EQ(busy, 1);
	xt_wait_on(1);
	XT_ASSERT_EQ(XT_LOAD(&snd.returned), 1);
	XT_ASSERT_EQ(snd.rc, -XEN_ENOTCONN);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.restore_failed, 1);
	XT_ASSERT_EQ(st.bad_replies, s0.bad_replies);
	/* Its late reply, if it came after the resume, was dropped. */
	XT_ASSERT(st.stale - s0.stale <= 1);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "data/g", "2"), 0);
	READ_IS("data/g", "2");
	READ_IS("data/f", "1");
	xl_gnttab_fini();
	return XT_PASS;
}

static void *unpause_later(void *arg)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };

	(void)arg;
	nanosleep(&ts, NULL);
	hv_xs_pause(dom_of_test, false);
	return NULL;
}

/*
 * A request in flight that xenstored answers while the suspend quiesces
 * (paused, then unpaused 50 ms later): completed before the suspend, with
 * its own reply; nothing failed by the restore.
 */
static enum xt_result t_xs_inflight_done(void)
{
	struct xs_send snd = { "data/h", "7", 1, 0 };
	struct xl_xs_stats st;
	pthread_t th;
	int busy;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	dom_of_test = dom();
	hv_xs_pause(dom(), true);
	xt_start_on(1, xs_send_fn, &snd);
	XT_ASSERT(xt_wait_until(ring_has_request, NULL, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(pthread_create(&th, NULL, unpause_later, NULL), 0);
	busy = xl_xs_suspend(XT_EVENT_TIMEOUT_NS);
	pthread_join(th, NULL);
	XT_ASSERT_EQ(busy, 0);
	xt_wait_on(1);
	XT_ASSERT_EQ(snd.rc, 0);
	XT_ASSERT_EQ(XT_LOAD(&snd.returned), 1);
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, XS_QUIESCE_NS, &busy), 0);
	XT_ASSERT_EQ(busy, 0);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.restore_failed, 0);
	XT_ASSERT_EQ(st.restores, 1);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "data/i", "8"), 0);
	READ_IS("data/i", "8");
	xl_gnttab_fini();
	return XT_PASS;
}

static bool xs_requests_reached(void *arg)
{
	struct xl_xs_stats st;

	xl_xs_get_stats(&st);
	return st.requests >= *(uint64_t *)arg;
}

/*
 * A request made while suspended waits in the client (nothing goes into
 * the old domain's ring) and goes out on the new connection after the
 * resume: done once, with its own reply, in the new domain's home.
 */
static enum xt_result t_xs_queued(void)
{
	struct xs_send snd = { "data/q", "5", 1, 0 };
	struct xl_xs_stats s0, st;
	uint64_t want;
	int busy;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	xl_xs_get_stats(&s0);
	want = s0.requests + 1;
	XT_ASSERT_EQ(xl_xs_suspend(XS_QUIESCE_NS), 0);
	xt_start_on(1, xs_send_fn, &snd);
	XT_ASSERT(
		xt_wait_until(xs_requests_reached, &want, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(20 * MS);
	XT_ASSERT(!ring_has_request(NULL));
	XT_ASSERT_EQ(XT_LOAD(&snd.returned), 0);
	/* Suspended already: cycle_xs's quiesce finds it quiet. */
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, false, XS_QUIESCE_NS, &busy), 0);
	XT_ASSERT_EQ(busy, 0);
	xt_wait_on(1);
	XT_ASSERT_EQ(XT_LOAD(&snd.returned), 1);
	XT_ASSERT_EQ(snd.rc, 0);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.restore_failed, 0);
	XT_ASSERT_EQ(st.stale, s0.stale);
	READ_IS("data/q", "5");
	xl_gnttab_fini();
	return XT_PASS;
}

static void noop_handler(evtchn_port_t port, void *data)
{
	(void)port;
	(void)data;
}

/*
 * A write queued while suspended, across a restore to a host up 60 s
 * longer (more than the client's 30 s timeout): it waited only a moment,
 * so it must not time out when its vCPU wakes before the xenstore resume
 * with the new host's time; it goes out on the new connection and
 * returns 0, once.  The time suspended is not counted.
 */
static enum xt_result t_xs_queued_jump(void)
{
	struct xs_send snd = { "data/q", "5", 1, 0 };
	struct xl_xs_stats s0, st;
	evtchn_port_t ipi;
	uint64_t want;
	int busy;
	long rc;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	XT_ASSERT(60000ULL * MS > xl_xs_get_timeout());
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(1, noop_handler, NULL, &ipi), 0);
	xl_xs_get_stats(&s0);
	want = s0.requests + 1;
	XT_ASSERT_EQ(xl_xs_suspend(XS_QUIESCE_NS), 0);
	xt_start_on(1, xs_send_fn, &snd);
	XT_ASSERT(
		xt_wait_until(xs_requests_reached, &want, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(20 * MS);
	kick_before_xs_resume = ipi;
	rc = cycle_xs(false, 60000ULL * MS, false, XS_QUIESCE_NS, &busy);
	kick_before_xs_resume = 0;
	XT_ASSERT_EQ(rc, 0);
	xt_wait_on(1);
	xl_evtchn_close(ipi);
	XT_ASSERT_EQ(XT_LOAD(&snd.returned), 1);
	XT_ASSERT_EQ(snd.rc, 0);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.timeouts, s0.timeouts);
	XT_ASSERT_EQ(st.requests - s0.requests, 1);
	READ_IS("data/q", "5");
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * A request its sender gave up on before any of it went into the ring
 * is never sent: xenstored paused, a 3000-byte write fills the ring
 * (begun, so it must finish), a second write queued behind it times out
 * (100 ms); once xenstored reads again the first is done, the second
 * never (its node absent, xenstored saw exactly one write).
 */
static enum xt_result t_xs_orphan_unsent(void)
{
	static char big[3001];
	struct xs_send snd = { "data/big", big, 1, 0 };
	struct xl_xs_stats s0, st;
	struct hv_xs_stats h0, h1;
	uint64_t want, old = xl_xs_get_timeout();
	char v[8];
	int rc;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	memset(big, 'b', sizeof(big) - 1);
	hv_xs_get_stats(dom(), &h0);
	xl_xs_get_stats(&s0);
	want = s0.requests + 1;
	hv_xs_pause(dom(), true);
	xt_start_on(1, xs_send_fn, &snd);
	XT_ASSERT(
		xt_wait_until(xs_requests_reached, &want, XT_EVENT_TIMEOUT_NS));
	xt_sleep_ns(20 * MS); /* vCPU 1 waits with the 30 s timeout */
	xl_xs_set_timeout(100 * MS);
	rc = xl_xs_write(XL_XS_NO_TX, "data/o2", "x");
	xl_xs_set_timeout(old);
	XT_ASSERT_EQ(rc, -XEN_ETIMEDOUT);
	hv_xs_pause(dom(), false);
	xt_wait_on(1);
	XT_ASSERT_EQ(snd.rc, 0);
	/* A round trip after: anything sent before it was read first. */
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "data/o3", "y"), 0);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, "data/o2", v, sizeof(v), NULL),
		     -XEN_ENOENT);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.timeouts - s0.timeouts, 1);
	XT_ASSERT_EQ(st.stale, s0.stale); /* nothing of it answered */
	hv_xs_get_stats(dom(), &h1);
	XT_ASSERT_EQ(h1.requests - h0.requests, 3); /* big, o3, the read */
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * A transaction open across a restore is the old connection's: the new
 * xenstored knows no such id, so its requests and its end fail with
 * -XEN_ENOENT (xenstored's answer for an unknown transaction), nothing
 * of it is written; a new transaction works.  Across a cancel it goes on
 * and commits.
 */
static enum xt_result xs_tx_across(bool cancel)
{
	xl_xs_tx_t tx, tx2;
	int busy;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
	XT_ASSERT_EQ(xl_xs_write(tx, "data/t1", "a"), 0);
	XT_ASSERT_EQ(cycle_xs(cancel, cancel ? 0 : JUMP_NS, true, XS_QUIESCE_NS,
			      &busy),
		     cancel ? 1 : 0);
	if (cancel) {
		XT_ASSERT_EQ(xl_xs_write(tx, "data/t2", "b"), 0);
		XT_ASSERT_EQ(xl_xs_transaction_end(tx, false), 0);
		READ_IS("data/t1", "a");
		READ_IS("data/t2", "b");
	} else {
		XT_ASSERT_EQ(xl_xs_write(tx, "data/t2", "b"), -XEN_ENOENT);
		XT_ASSERT_EQ(xl_xs_transaction_end(tx, false), -XEN_ENOENT);
		XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, "data/t1", NULL, 0, NULL),
			     -XEN_ENOENT);
		XT_ASSERT_EQ(xl_xs_transaction_start(&tx2), 0);
		XT_ASSERT_EQ(xl_xs_write(tx2, "data/t3", "c"), 0);
		XT_ASSERT_EQ(xl_xs_transaction_end(tx2, false), 0);
		READ_IS("data/t3", "c");
	}
	xl_gnttab_fini();
	return XT_PASS;
}

/*
 * A transaction open across a restore must not reach the new
 * connection's transaction of the same id: xenstored numbers each
 * connection's transactions from 1 (hv as Xen's), so the old one's id is
 * the first one the new connection hands out.  The old transaction's
 * write and end fail with -XEN_ENOENT, nothing of it is written, the new
 * one commits only its own write.
 */
static enum xt_result t_xs_tx_collide(void)
{
	struct xl_xs_stats s0, s1;
	xl_xs_tx_t tx, tx2;
	int busy;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx), 0);
	XT_ASSERT_EQ(xl_xs_write(tx, "data/t1", "a"), 0);
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, XS_QUIESCE_NS, &busy), 0);
	/* After the resume another thread starts its own transaction. */
	XT_ASSERT_EQ(xl_xs_transaction_start(&tx2), 0);
	XT_ASSERT_EQ(xl_xs_write(tx2, "data/t3", "c"), 0);
	/* The old thread goes on with its (dead) transaction. */
	xl_xs_get_stats(&s0);
	XT_ASSERT_EQ(xl_xs_write(tx, "data/t2", "b"), -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx, false), -XEN_ENOENT);
	xl_xs_get_stats(&s1);
	XT_ASSERT_EQ(s1.tx_dead - s0.tx_dead, 2); /* neither was sent */
	XT_ASSERT_EQ(s1.requests - s0.requests, 0);
	XT_ASSERT_EQ(xl_xs_transaction_end(tx2, false), 0);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, "data/t1", NULL, 0, NULL),
		     -XEN_ENOENT);
	XT_ASSERT_EQ(xl_xs_read(XL_XS_NO_TX, "data/t2", NULL, 0, NULL),
		     -XEN_ENOENT);
	READ_IS("data/t3", "c");
	xl_gnttab_fini();
	return XT_PASS;
}

static enum xt_result t_xs_tx_restore(void)
{
	return xs_tx_across(false);
}

static enum xt_result t_xs_tx_cancel(void)
{
	return xs_tx_across(true);
}

/*
 * Three cycles, restore, cancel, restore (a second suspend after a
 * resume): the watch fires once per registration and once per change,
 * exactly; requests work after each.
 */
static enum xt_result t_xs_repeat(void)
{
	struct xl_xs_watch w;
	struct xl_xs_stats st;
	uint32_t fired = 0;
	int busy;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	XT_ASSERT_EQ(xl_xs_watch(&w, "data/w", watch_fn, &fired), 0);
	FIRED_EXACTLY(&fired, 1);
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, XS_QUIESCE_NS, &busy), 0);
	FIRED_EXACTLY(&fired, 2);
	XT_ASSERT_EQ(d0_write("data/w", "1"), 0);
	FIRED_EXACTLY(&fired, 3);
	XT_ASSERT_EQ(cycle_xs(true, 0, true, XS_QUIESCE_NS, &busy), 1);
	XT_ASSERT_EQ(d0_write("data/w", "2"), 0);
	FIRED_EXACTLY(&fired, 4);
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, XS_QUIESCE_NS, &busy), 0);
	FIRED_EXACTLY(&fired, 5);
	XT_ASSERT_EQ(d0_write("data/w", "3"), 0);
	FIRED_EXACTLY(&fired, 6);
	xl_xs_get_stats(&st);
	XT_ASSERT_EQ(st.restores, 2);
	XT_ASSERT_EQ(st.rewatched, 2);
	XT_ASSERT_EQ(HV_STAT(restores), 2);
	XT_ASSERT_EQ(xl_xs_write(XL_XS_NO_TX, "data/j", "9"), 0);
	READ_IS("data/j", "9");
	XT_ASSERT_EQ(xl_xs_unwatch(&w), 0);
	xl_gnttab_fini();
	return XT_PASS;
}

/* --- blkfront-lite (blkfront-lite/, xen-xenbus.c) -------------------------- */

#define RB_DEVID 51712
#define RB_N 32		   /* writes, one page (8 sectors) each */
#define RB_SECTORS 2048	   /* 1 MiB, a file both backends open */
#define RB_DELAY_US 500000 /* the old backend: up to 500 ms a request */
#define RB_WAIT_NS (20000ULL * MS)

struct rblk {
	struct xl_blk_req req[RB_N];
	void *pg[RB_N];
	uint32_t calls[RB_N]; /* atomic: done calls per request */
	uint32_t done;	      /* atomic */
	int status[RB_N];
	struct xl_blkfront *dev;
	struct hv_blkback *bb;
	char file[64];
};

static struct rblk rb;

static void rb_done(struct xl_blk_req *req)
{
	unsigned int i = (unsigned int)(req - rb.req);

	rb.status[i] = req->status;
	XT_ADD(&rb.calls[i], 1);
	XT_ADD(&rb.done, 1);
}

static uint8_t rb_byte(unsigned int round, unsigned int i, unsigned int k)
{
	return (uint8_t)(round * 131 + i * 7 + k * 13 + 1);
}

static struct hv_blkback *rb_backend(unsigned int order, bool no_flush,
				     unsigned int delay_us)
{
	struct hv_blkback_config c;
	int err = 0;

	memset(&c, 0, sizeof(c));
	c.d = dom();
	c.devid = RB_DEVID;
	c.sectors = RB_SECTORS;
	c.file = rb.file;
	c.xenstore = true;
	c.max_ring_order = order;
	c.no_flush = no_flush;
	c.delay_max_us = delay_us;
	return hv_blkback_create(&c, &err);
}

static enum xt_result rb_setup(void)
{
	int fd;

	XS_UP();
	XT_ASSERT_EQ(gt_reinit(), 0);
	memset(&rb, 0, sizeof(rb));
	snprintf(rb.file, sizeof(rb.file), "/tmp/xl-resume-blk-XXXXXX");
	fd = mkstemp(rb.file);
	XT_ASSERT(fd >= 0);
	close(fd);
	rb.bb = rb_backend(4, false, RB_DELAY_US);
	XT_ASSERT(rb.bb != NULL);
	rb.dev = xl_blkfront_alloc(RB_DEVID);
	XT_ASSERT(rb.dev != NULL);
	XT_ASSERT_EQ(xl_blkfront_attach(rb.dev, RB_WAIT_NS), 0);
	for (unsigned int i = 0; i < RB_N; i++) {
		rb.pg[i] = xl_os_alloc_page();
		XT_ASSERT(rb.pg[i] != NULL);
	}
	return XT_PASS;
}

#define RB_SETUP()                               \
	do {                                     \
		enum xt_result su_ = rb_setup(); \
		if (su_ != XT_PASS)              \
			return su_;              \
	} while (0)

static void rb_teardown(void)
{
	unsigned int i;

	if (rb.dev && xl_blkfront_connected(rb.dev))
		xl_blkfront_detach(rb.dev, 0);
	xl_blkfront_free(rb.dev);
	hv_blkback_destroy(rb.bb);
	rb.bb = NULL;
	rb.dev = NULL;
	for (i = 0; i < RB_N; i++)
		if (rb.pg[i])
			xl_os_free_page(rb.pg[i]);
	unlink(rb.file);
	xl_gnttab_retry_deferred();
	xl_gnttab_fini();
}

/* RB_N writes of round's pattern, one page each, all submitted. */
static enum xt_result rb_submit(unsigned int round)
{
	unsigned int i;

	rb.done = 0;
	for (i = 0; i < RB_N; i++) {
		memset(rb.pg[i], 0, XL_PAGE_SIZE);
		for (unsigned int k = 0; k < XL_PAGE_SIZE; k++)
			((uint8_t *)rb.pg[i])[k] = rb_byte(round, i, k);
		XT_ASSERT_EQ(xl_blk_req_set_buf(&rb.req[i], XL_BLK_WRITE,
						(uint64_t)i * 8, &rb.pg[i], 1,
						0, XL_PAGE_SIZE),
			     0);
		rb.req[i].done = rb_done;
		rb.calls[i] = 0;
		XT_ASSERT_EQ(xl_blkfront_submit(rb.dev, &rb.req[i]), 0);
	}
	return XT_PASS;
}

static bool rb_all_done(void *arg)
{
	(void)arg;
	xl_blkfront_poll(rb.dev);
	return XT_LOAD(&rb.done) >= RB_N;
}

static bool rb_some_done(void *arg)
{
	(void)arg;
	xl_blkfront_poll(rb.dev);
	return XT_LOAD(&rb.done) >= 4;
}

/* Every write done exactly once, OK; nothing more in 100 ms. */
static enum xt_result rb_wait_all(void)
{
	unsigned int i;

	XT_ASSERT_MSG(xt_wait_until(rb_all_done, NULL, RB_WAIT_NS),
		      "%u of %u writes done", XT_LOAD(&rb.done), RB_N);
	xt_sleep_ns(100 * MS);
	xl_blkfront_poll(rb.dev);
	XT_ASSERT_EQ(XT_LOAD(&rb.done), RB_N);
	for (i = 0; i < RB_N; i++) {
		XT_ASSERT_MSG(XT_LOAD(&rb.calls[i]) == 1,
			      "write %u completed %u times", i,
			      XT_LOAD(&rb.calls[i]));
		XT_ASSERT_MSG(rb.status[i] == 0, "write %u: %d", i,
			      rb.status[i]);
	}
	return XT_PASS;
}

#define RB_WAIT_ALL()                               \
	do {                                        \
		enum xt_result wa_ = rb_wait_all(); \
		if (wa_ != XT_PASS)                 \
			return wa_;                 \
	} while (0)

/* The disk holds round's pattern: read back through the frontend and
 * straight from the file. */
static enum xt_result rb_check(unsigned int round)
{
	uint8_t *buf = xl_os_alloc_page(), *fbuf = malloc(XL_PAGE_SIZE);
	struct xl_blk_req r;
	unsigned int i, k, bad = 0;
	int fd = open(rb.file, O_RDONLY);

	XT_ASSERT(buf && fbuf && fd >= 0);
	for (i = 0; i < RB_N; i++) {
		memset(buf, 0xee, XL_PAGE_SIZE);
		memset(&r, 0, sizeof(r));
		XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ,
						(uint64_t)i * 8, (void **)&buf,
						1, 0, XL_PAGE_SIZE),
			     0);
		XT_ASSERT_EQ(xl_blkfront_io_sync(rb.dev, &r), 0);
		XT_ASSERT_EQ(pread(fd, fbuf, XL_PAGE_SIZE,
				   (off_t)i * XL_PAGE_SIZE),
			     XL_PAGE_SIZE);
		for (k = 0; k < XL_PAGE_SIZE; k++)
			bad += buf[k] != rb_byte(round, i, k) ||
			       fbuf[k] != rb_byte(round, i, k);
	}
	close(fd);
	xl_os_free_page(buf);
	free(fbuf);
	XT_ASSERT_EQ(bad, 0);
	return XT_PASS;
}

#define RB_CHECK(round)                               \
	do {                                          \
		enum xt_result ck_ = rb_check(round); \
		if (ck_ != XT_PASS)                   \
			return ck_;                   \
	} while (0)

/*
 * The old backend goes with the old domain (hv: destroyed before the
 * guest's resume touches a page it mapped); the new domain's is a fresh
 * one on the same disk file, offering order-1 rings and no flush.
 */
static enum xt_result rb_new_backend(void)
{
	hv_blkback_destroy(rb.bb);
	rb.bb = rb_backend(1, true, 0);
	XT_ASSERT(rb.bb != NULL);
	return XT_PASS;
}

/*
 * Writes in flight at a restore: re-issued from the request table to the
 * new backend (a new ring of its size, new grants, its features), each
 * completed exactly once, the data on the disk; exact counts: the new
 * backend read exactly the re-issued requests, the frontend placed
 * RB_N + re-issued and completed RB_N.  rounds restores in a row (a
 * second suspend after a resume), each with its own writes in flight.
 */
static enum xt_result rb_restore(unsigned int rounds)
{
	struct xl_blkfront_stats st0, st;
	struct xl_blkfront_features f;
	struct hv_blkback_stats bs;
	struct xl_blk_req fl;
	unsigned int round;
	uint64_t reissued = 0;
	int busy;

	RB_SETUP();
	for (round = 1; round <= rounds; round++) {
		if (round > 1) {
			/* The next restore's old backend is slow again. */
			hv_blkback_destroy(rb.bb);
			rb.bb = rb_backend(4, false, RB_DELAY_US);
			XT_ASSERT(rb.bb != NULL);
			XT_ASSERT_EQ(xl_blkfront_detach(rb.dev, RB_WAIT_NS), 0);
			XT_ASSERT_EQ(xl_blkfront_attach(rb.dev, RB_WAIT_NS), 0);
		}
		xl_blkfront_get_stats(rb.dev, &st0);
		if (rb_submit(round) != XT_PASS)
			return XT_FAIL;
		/* Round 2 on: some done by the old backend first (a mix). */
		if (round > 1)
			XT_ASSERT(
				xt_wait_until(rb_some_done, NULL, RB_WAIT_NS));
		XT_ASSERT(xl_blkfront_inflight(rb.dev) > 0);
		XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, 0, &busy), 0);
		if (rb_new_backend() != XT_PASS)
			return XT_FAIL;
		XT_ASSERT_EQ(xl_blkfront_resume(rb.dev), 0);
		RB_WAIT_ALL();
		xl_blkfront_get_stats(rb.dev, &st);
		hv_blkback_get_stats(rb.bb, &bs);
		reissued = st.reissued - st0.reissued;
		xt_log("round %u: %llu of %u writes re-issued", round,
		       (unsigned long long)reissued, RB_N);
		XT_ASSERT(reissued >= 1 && reissued <= RB_N);
		if (round > 1)
			XT_ASSERT(reissued <= RB_N - 4);
		XT_ASSERT_EQ(st.resumes - st0.resumes, 1);
		XT_ASSERT_EQ(st.completed - st0.completed, RB_N);
		XT_ASSERT_EQ(st.ok - st0.ok, RB_N);
		XT_ASSERT_EQ(st.submitted - st0.submitted, RB_N + reissued);
		XT_ASSERT_EQ(bs.requests, reissued);
		XT_ASSERT_EQ(bs.responses, reissued);
		XT_ASSERT_EQ(st.recheck_failed, 0);
		xl_blkfront_get_features(rb.dev, &f);
		XT_ASSERT_EQ(f.ring_order, 1);
		XT_ASSERT(!f.flush && !f.barrier);
		RB_CHECK(round);
	}
	/* The new backend's features: no flush now. */
	memset(&fl, 0, sizeof(fl));
	fl.op = XL_BLK_FLUSH;
	fl.done = rb_done;
	XT_ASSERT_EQ(xl_blkfront_submit(rb.dev, &fl), -XEN_EOPNOTSUPP);
	XT_ASSERT_EQ(xl_gnttab_retry_deferred(), 0);
	rb_teardown();
	return XT_PASS;
}

static enum xt_result t_blk_restore(void)
{
	return rb_restore(1);
}

static enum xt_result t_blk_repeat(void)
{
	return rb_restore(2);
}

/*
 * The new domain's backend: order-1 rings, no flush, sectors of the disk
 * offered (the file is the same), one worker (requests done in ring
 * order).
 */
static enum xt_result rb_new_backend_as(uint64_t sectors)
{
	struct hv_blkback_config c;
	int err = 0;

	hv_blkback_destroy(rb.bb);
	memset(&c, 0, sizeof(c));
	c.d = dom();
	c.devid = RB_DEVID;
	c.sectors = sectors;
	c.file = rb.file;
	c.xenstore = true;
	c.max_ring_order = 1;
	c.no_flush = true;
	c.nr_workers = 1;
	rb.bb = hv_blkback_create(&c, &err);
	XT_ASSERT_MSG(rb.bb != NULL, "blkback: %d", err);
	return XT_PASS;
}

/* Which writes the old backend completed: none can complete after this. */
static unsigned int rb_done_before(bool *done)
{
	unsigned int i, n = 0;

	for (i = 0; i < RB_N; i++) {
		done[i] = XT_LOAD(&rb.calls[i]) != 0;
		n += done[i];
	}
	return n;
}

/*
 * A restore onto a backend offering a disk half the size: the kept
 * writes past its end fail with the submit's -XEN_EINVAL and are never
 * sent; the rest are re-issued and done.  Exact: each write completes
 * once, those the old backend had not done and that lie past the new end
 * fail, the others are OK, recheck_failed and the new backend's request
 * count match.
 */
static enum xt_result t_blk_restore_smaller(void)
{
	struct xl_blkfront_stats st0, st;
	struct hv_blkback_stats bs;
	bool old_done[RB_N];
	unsigned int i, nold, nfail = 0;
	int busy;

	RB_SETUP();
	xl_blkfront_get_stats(rb.dev, &st0);
	if (rb_submit(1) != XT_PASS)
		return XT_FAIL;
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, 0, &busy), 0);
	nold = rb_done_before(old_done);
	if (rb_new_backend_as(RB_N / 2 * 8) != XT_PASS)
		return XT_FAIL;
	XT_ASSERT_EQ(xl_blkfront_resume(rb.dev), 0);
	XT_ASSERT(xt_wait_until(rb_all_done, NULL, RB_WAIT_NS));
	xt_sleep_ns(100 * MS);
	xl_blkfront_poll(rb.dev);
	XT_ASSERT_EQ(XT_LOAD(&rb.done), RB_N);
	for (i = 0; i < RB_N; i++) {
		int want = !old_done[i] && i >= RB_N / 2 ? -XEN_EINVAL : 0;

		XT_ASSERT_EQ(XT_LOAD(&rb.calls[i]), 1);
		XT_ASSERT_MSG(rb.status[i] == want, "write %u: %d, want %d", i,
			      rb.status[i], want);
		nfail += want != 0;
	}
	xl_blkfront_get_stats(rb.dev, &st);
	hv_blkback_get_stats(rb.bb, &bs);
	xt_log("%u done by the old backend, %u past the new end failed", nold,
	       nfail);
	XT_ASSERT(nfail >= 1 && nfail <= RB_N / 2);
	XT_ASSERT_EQ(st.reissued - st0.reissued, RB_N - nold);
	XT_ASSERT_EQ(st.recheck_failed - st0.recheck_failed, nfail);
	XT_ASSERT_EQ(bs.requests, RB_N - nold - nfail);
	XT_ASSERT_EQ(bs.responses, RB_N - nold - nfail);
	rb_teardown();
	return XT_PASS;
}

/*
 * Overlapping writes in flight at a restore go to the new backend in the
 * order they went on the old ring: eight writes of sector 0..7, each its
 * own pattern; the new backend (one worker) does them in ring order, so
 * the disk ends with the last one re-issued, as it would have without
 * the restore.  Re-issued in another order, an older write lands last.
 */
static enum xt_result t_blk_restore_order(void)
{
	enum { K = 8 };
	bool old_done[RB_N];
	uint8_t *buf;
	unsigned int i, k, last = K, bad = 0, held;
	int busy;

	RB_SETUP();
	rb.done = 0;
	for (i = 0; i < K; i++) {
		for (k = 0; k < XL_PAGE_SIZE; k++)
			((uint8_t *)rb.pg[i])[k] = rb_byte(7, i, k);
		XT_ASSERT_EQ(xl_blk_req_set_buf(&rb.req[i], XL_BLK_WRITE, 0,
						&rb.pg[i], 1, 0, XL_PAGE_SIZE),
			     0);
		rb.req[i].done = rb_done;
		rb.calls[i] = 0;
		XT_ASSERT_EQ(xl_blkfront_submit(rb.dev, &rb.req[i]), 0);
	}
	for (i = K; i < RB_N; i++)
		rb.calls[i] = 1; /* not used here */
	XT_ASSERT_EQ(cycle_xs(false, JUMP_NS, true, 0, &busy), 0);
	rb_done_before(old_done);
	for (i = 0; i < K; i++)
		if (!old_done[i])
			last = i;
	XT_ASSERT_MSG(last < K && last > 0,
		      "the old backend did too many: last re-issued %u", last);
	if (rb_new_backend_as(RB_SECTORS) != XT_PASS)
		return XT_FAIL;
	XT_ASSERT_EQ(xl_blkfront_resume(rb.dev), 0);
	rb.done += RB_N - K;
	XT_ASSERT(xt_wait_until(rb_all_done, NULL, RB_WAIT_NS));
	for (i = 0; i < K; i++)
		XT_ASSERT_EQ(rb.status[i], 0);
	buf = xl_os_alloc_page();
	XT_ASSERT(buf != NULL);
	{
		struct xl_blk_req r;

		memset(&r, 0, sizeof(r));
		XT_ASSERT_EQ(xl_blk_req_set_buf(&r, XL_BLK_READ, 0,
						(void **)&buf, 1, 0,
						XL_PAGE_SIZE),
			     0);
		XT_ASSERT_EQ(xl_blkfront_io_sync(rb.dev, &r), 0);
	}
	for (k = 0; k < XL_PAGE_SIZE; k++)
		bad += buf[k] != rb_byte(7, last, k);
	for (held = 0; held < K; held++)
		if (buf[0] == rb_byte(7, held, 0) &&
		    buf[1] == rb_byte(7, held, 1))
			break;
	xt_log("last re-issued write %u; sector 0 holds write %u's data (%u: none)",
	       last, held, K);
	xl_os_free_page(buf);
	XT_ASSERT_MSG(!bad, "%u bytes of sector 0..7 not write %u's", bad,
		      last);
	rb_teardown();
	return XT_PASS;
}

/*
 * A submit that finds the grant table frozen (a host calling
 * xl_gnttab_suspend() outside the masked section) waits in the queue
 * rather than failing with -XEN_EAGAIN; after the thaw the next kick
 * places it and it completes OK, once.
 */
static enum xt_result t_blk_frozen_submit(void)
{
	struct xl_blkfront_stats st0, st;

	RB_SETUP();
	xl_blkfront_get_stats(rb.dev, &st0);
	memset(rb.pg[0], 0x5a, XL_PAGE_SIZE);
	XT_ASSERT_EQ(xl_blk_req_set_buf(&rb.req[0], XL_BLK_WRITE, 0, &rb.pg[0],
					1, 0, XL_PAGE_SIZE),
		     0);
	rb.req[0].done = rb_done;
	rb.done = 0;
	rb.calls[0] = 0;
	XT_ASSERT_EQ(xl_gnttab_suspend(), 0);
	XT_ASSERT_EQ(xl_blkfront_submit(rb.dev, &rb.req[0]), 0);
	xt_sleep_ns(50 * MS);
	XT_ASSERT_EQ(XT_LOAD(&rb.calls[0]), 0);
	XT_ASSERT_EQ(xl_blkfront_inflight(rb.dev), 0);
	XT_ASSERT_EQ(xl_gnttab_resume(true), 0);
	xl_blkfront_process(rb.dev);
	XT_ASSERT_EQ(xl_blkfront_inflight(rb.dev), 1);
	rb.done = RB_N - 1;
	XT_ASSERT(xt_wait_until(rb_all_done, NULL, RB_WAIT_NS));
	XT_ASSERT_EQ(XT_LOAD(&rb.calls[0]), 1);
	XT_ASSERT_EQ(rb.status[0], 0);
	xl_blkfront_get_stats(rb.dev, &st);
	XT_ASSERT_EQ(st.frozen_waits - st0.frozen_waits, 1);
	XT_ASSERT_EQ(st.submitted - st0.submitted, 1);
	rb_teardown();
	return XT_PASS;
}

/*
 * A cancel with writes in flight: the same backend and ring, nothing
 * re-issued (xl_xs_resume says the same domain, so the device is not
 * resumed), every write done once by the old backend.  toolstack_ns:
 * how long the toolstack takes to cancel (hv_suspend_plan); with it the
 * old backend answers while the guest is suspended, and those answers
 * are handled as soon as delivery is on again: each must complete OK
 * (the grant table is thawed before then), none fails, the device stays
 * connected.
 */
static enum xt_result blk_cancel(uint64_t toolstack_ns)
{
	struct xl_blkfront_stats st;
	struct hv_blkback_stats bs, bs0;
	uint64_t in_window;
	int busy;
	long rc;

	RB_SETUP();
	if (rb_submit(1) != XT_PASS)
		return XT_FAIL;
	XT_ASSERT(xl_blkfront_inflight(rb.dev) > 0);
	hv_blkback_get_stats(rb.bb, &bs0);
	plan_toolstack_ns = toolstack_ns;
	rc = cycle_xs(true, 0, true, 0, &busy);
	plan_toolstack_ns = 0;
	XT_ASSERT_EQ(rc, 1);
	hv_blkback_get_stats(rb.bb, &bs);
	in_window = bs.responses - bs0.responses;
	xt_log("%llu of %u answered during the cycle",
	       (unsigned long long)in_window, RB_N);
	if (toolstack_ns) /* answers landed while suspended */
		XT_ASSERT(in_window >= 1 && in_window <= RB_N);
	RB_WAIT_ALL();
	xl_blkfront_get_stats(rb.dev, &st);
	hv_blkback_get_stats(rb.bb, &bs);
	XT_ASSERT(!xl_blkfront_broken(rb.dev));
	XT_ASSERT_EQ(st.grant_mapped, 0);
	XT_ASSERT_EQ(st.eio, 0);
	XT_ASSERT_EQ(st.ok, RB_N);
	XT_ASSERT_EQ(st.resumes, 0);
	XT_ASSERT_EQ(st.reissued, 0);
	XT_ASSERT_EQ(st.submitted, RB_N);
	XT_ASSERT_EQ(st.completed, RB_N);
	XT_ASSERT_EQ(bs.requests, RB_N);
	XT_ASSERT_EQ(bs.responses, RB_N);
	/* Read back through a fast backend (the slow one: 8 s of reads). */
	XT_ASSERT_EQ(xl_blkfront_detach(rb.dev, RB_WAIT_NS), 0);
	hv_blkback_destroy(rb.bb);
	rb.bb = rb_backend(4, false, 0);
	XT_ASSERT(rb.bb != NULL);
	XT_ASSERT_EQ(xl_blkfront_attach(rb.dev, RB_WAIT_NS), 0);
	RB_CHECK(1);
	rb_teardown();
	return XT_PASS;
}

static enum xt_result t_blk_cancel(void)
{
	return blk_cancel(0);
}

/* The toolstack takes 1.5 s: some writes are answered meanwhile. */
static enum xt_result t_blk_cancel_slow(void)
{
	return blk_cancel(1500ULL * MS);
}

#define MODES(name)                             \
	static enum xt_result fifo_##name(void) \
	{                                       \
		return t_##name(M_FIFO);        \
	}                                       \
	static enum xt_result l2_##name(void)   \
	{                                       \
		return t_##name(M_2L);          \
	}

MODES(ports)
MODES(fill_fails)
MODES(cancel_zero_unbound)
MODES(pending)
MODES(lost)
MODES(timers)
MODES(periodic)
MODES(cancel)
MODES(cancel_zero)
MODES(repeat)

/*
 * FIFO's pages across a restore: each control block is zeroed, its 1024
 * words and not one more (the test's own page right after the last
 * control block keeps its marker), and the event array comes back with
 * exactly the pages it had: port 1024, past the one page, is not covered
 * and its bind grows the array, so the port works.
 */
static void rp_noop(evtchn_port_t port, void *data)
{
}

static enum xt_result t_fifo_pages(void)
{
	struct xt_rec r = { 0 };
	unsigned int nr = xt_nr_vcpus();
	uint32_t *cb_last, *mark;
	evtchn_port_t p = 0;
	struct hold h;

	XT_ASSERT_EQ(xt_set_max_evtchns(4096), 0);
	MODE_INIT(M_FIFO);
	cb_last = hv_fifo_control_block(hv_domain_vcpu(dom(), nr - 1));
	XT_ASSERT(cb_last != NULL);
	mark = xl_os_alloc_page();
	XT_ASSERT(mark != NULL);
	XT_ASSERT_EQ(hv_virt_to_gfn(dom(), mark),
		     hv_virt_to_gfn(dom(), cb_last) + 1);
	XT_STORE(&mark[0], 0x5a5a5a5aU);
	while (p < 1023)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, rp_noop, NULL, &p), 0);
	XT_ASSERT_EQ(p, 1023);

	XT_ASSERT(hold_others(&h));
	XT_ASSERT_EQ(cycle(false, JUMP_NS), 0);
	release_others(&h);

	XT_ASSERT_EQ(XT_LOAD(&mark[0]), 0x5a5a5a5aU);
	xl_os_free_page(mark);
	XT_ASSERT(hv_fifo_event_word(dom(), 1023) != NULL);
	XT_ASSERT(hv_fifo_event_word(dom(), 1024) == NULL);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(p, 1024);
	XT_ASSERT(hv_fifo_event_word(dom(), 1024) != NULL);
	SEND_N(p, &r, NR_SENDS);
	return XT_PASS;
}

/*
 * The new domain refusing FIFO's registration at the restore: vCPU 1's
 * EVTCHNOP_init_control, or the event array's EVTCHNOP_expand_array
 * (after every control block was taken): Xen is on FIFO for part of the
 * guest, so neither FIFO nor 2-level works, and xl_evtchn_resume() says
 * so, -EIO, instead of carrying on.  vCPU 0's refused with -ENOSYS (a
 * host without FIFO) is the other case: nothing was registered, and the
 * resume comes up on 2-level, its ports working.
 */
struct refuse {
	int cmd;
	uint32_t vcpu; /* init_control's vCPU to refuse */
	long rc;
	uint32_t refused;
};

static long refuse_hook(struct hv_vcpu *v, int cmd, void *arg, bool after,
			long rc, void *data)
{
	struct refuse *f = data;

	if (after || cmd != f->cmd)
		return 0;
	if (cmd == EVTCHNOP_init_control &&
	    ((struct evtchn_init_control *)arg)->vcpu != f->vcpu)
		return 0;
	f->refused++;
	return f->rc;
}

static long cycle_refused(struct refuse *f)
{
	unsigned long flags = xl_os_irq_save();
	long rc;
	int r;

	memset(&lost_log, 0, sizeof(lost_log));
	r = xl_evtchn_suspend();
	if (r)
		goto out;
	plan(false, JUMP_NS);
	rc = raw_suspend();
	hv_domain_set_suspend_plan(dom(), NULL);
	if (rc) {
		r = rc < 0 ? (int)rc : -XEN_EEXIST;
		goto out;
	}
	r = hv_guest_resume();
	if (r)
		goto out;
	hv_domain_set_evtchn_hook(dom(), refuse_hook, f);
	r = xl_evtchn_resume(false, lost_fn);
	hv_domain_set_evtchn_hook(dom(), NULL, NULL);
out:
	xl_os_irq_restore(flags);
	return r;
}

static enum xt_result fifo_refused_one(struct refuse f, int want)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;
	struct hold h;
	long rc;

	MODE_INIT(M_FIFO);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT(hold_others(&h));
	rc = cycle_refused(&f);
	release_others(&h);
	XT_ASSERT_EQ(f.refused, 1);
	XT_ASSERT_EQ(rc, want);
	if (want)
		return XT_PASS;
	XT_ASSERT_EQ(xl_evtchn_abi(), XL_EVTCHN_ABI_2L);
	XT_ASSERT_EQ(xl_evtchn_port_type(p), XL_PORT_IPI);
	SEND_N(p, &r, NR_SENDS);
	return XT_PASS;
}

static enum xt_result t_fifo_refused(void)
{
	struct refuse ic1 = { .cmd = EVTCHNOP_init_control,
			      .vcpu = 1,
			      .rc = -XEN_ENOMEM };
	struct refuse ea = { .cmd = EVTCHNOP_expand_array, .rc = -XEN_ENOMEM };
	struct refuse ic0 = { .cmd = EVTCHNOP_init_control,
			      .vcpu = 0,
			      .rc = -XEN_ENOSYS };

	if (fifo_refused_one(ic1, -XEN_EIO) != XT_PASS) {
		xt_log("init_control of vCPU 1 refused");
		return XT_FAIL;
	}
	xl_evtchn_fini();
	if (fifo_refused_one(ea, -XEN_EIO) != XT_PASS) {
		xt_log("expand_array refused");
		return XT_FAIL;
	}
	xl_evtchn_fini();
	if (fifo_refused_one(ic0, 0) != XT_PASS) {
		xt_log("init_control of vCPU 0 refused (no FIFO)");
		return XT_FAIL;
	}
	return XT_PASS;
}

#define RT(n, fn_, vcpus, peer, fl)                                         \
	{                                                                   \
		.name = "resume/" n, .backends = XT_HV, .min_vcpus = vcpus, \
		.needs_peer = peer, .fn = fn_, .flags = fl,                 \
	}

const struct xt_test xt_resume_tests[] = {
	RT("hv_restore", hv_restore, 1, true, XT_F_FLAVOURS),
	RT("hv_cancel", hv_cancel, 1, false, XT_F_FLAVOURS),
	RT("hv_cancel_no_callback", hv_cancel_no_callback, 1, false,
	   XT_F_NO_UPCALL),
	RT("fifo/ports", fifo_ports, 2, false, XT_F_FLAVOURS),
	RT("2l/ports", l2_ports, 2, false, XT_F_FLAVOURS),
	RT("fifo/fill_fails", fifo_fill_fails, 2, false, 0),
	RT("2l/fill_fails", l2_fill_fails, 2, false, 0),
	RT("fifo/pending", fifo_pending, 2, false, XT_F_FLAVOURS),
	RT("2l/pending", l2_pending, 2, false, XT_F_FLAVOURS),
	RT("fifo/lost", fifo_lost, 1, true, 0),
	RT("2l/lost", l2_lost, 1, true, 0),
	RT("fifo/timers", fifo_timers, 2, false, XT_F_FLAVOURS),
	RT("2l/timers", l2_timers, 2, false, XT_F_FLAVOURS),
	RT("fifo/periodic", fifo_periodic, 2, false, 0),
	RT("2l/periodic", l2_periodic, 2, false, 0),
	RT("fifo/cancel", fifo_cancel, 2, false, XT_F_FLAVOURS),
	RT("2l/cancel", l2_cancel, 2, false, XT_F_FLAVOURS),
	RT("fifo/cancel_zero", fifo_cancel_zero, 1, false, XT_F_NO_UPCALL),
	RT("2l/cancel_zero", l2_cancel_zero, 1, false, XT_F_NO_UPCALL),
	RT("fifo/cancel_zero_unbound", fifo_cancel_zero_unbound, 1, false,
	   XT_F_NO_UPCALL),
	RT("2l/cancel_zero_unbound", l2_cancel_zero_unbound, 1, false,
	   XT_F_NO_UPCALL),
	RT("fifo/repeat", fifo_repeat, 2, false, XT_F_FLAVOURS),
	RT("2l/repeat", l2_repeat, 2, false, XT_F_FLAVOURS),
	RT("fifo/pages", t_fifo_pages, 2, false, 0),
	RT("fifo/refused", t_fifo_refused, 2, false, 0),
	RT("fifo/cancel_empty", t_cancel_empty, 1, false, XT_F_FLAVOURS),
	RT("fifo/cancel_zero_empty", t_cancel_zero_empty, 1, false,
	   XT_F_NO_UPCALL),
	RT("gnttab/hv_restore", t_gnttab_hv_restore, 1, false, XT_F_FLAVOURS),
	RT("gnttab/restore", t_gnttab_restore, 1, false, XT_F_FLAVOURS),
	RT("gnttab/cancel", t_gnttab_cancel, 1, false, XT_F_FLAVOURS),
	RT("gnttab/cancel_zero", t_gnttab_cancel_zero, 1, false,
	   XT_F_NO_UPCALL),
	RT("gnttab/repeat", t_gnttab_repeat, 1, false, XT_F_FLAVOURS),
	RT("xs/restore", t_xs_restore, 2, false, XT_F_XENSTORE),
	RT("xs/cancel", t_xs_cancel, 2, false, XT_F_XENSTORE),
	RT("xs/cancel_unflagged", t_xs_cancel_unflagged, 2, false,
	   XT_F_XENSTORE),
	RT("xs/inflight", t_xs_inflight, 2, false, XT_F_XENSTORE),
	RT("xs/inflight_done", t_xs_inflight_done, 2, false, XT_F_XENSTORE),
	RT("xs/queued", t_xs_queued, 2, false, XT_F_XENSTORE),
	RT("xs/queued_jump", t_xs_queued_jump, 2, false, XT_F_XENSTORE),
	RT("xs/orphan_unsent", t_xs_orphan_unsent, 2, false, XT_F_XENSTORE),
	RT("xs/tx_restore", t_xs_tx_restore, 2, false, XT_F_XENSTORE),
	RT("xs/tx_cancel", t_xs_tx_cancel, 2, false, XT_F_XENSTORE),
	RT("xs/tx_collide", t_xs_tx_collide, 2, false, XT_F_XENSTORE),
	RT("xs/repeat", t_xs_repeat, 2, false, XT_F_XENSTORE),
	RT("blk/restore", t_blk_restore, 2, false, XT_F_XENSTORE),
	RT("blk/cancel", t_blk_cancel, 2, false, XT_F_XENSTORE),
	RT("blk/cancel_slow", t_blk_cancel_slow, 2, false, XT_F_XENSTORE),
	RT("blk/repeat", t_blk_repeat, 2, false, XT_F_XENSTORE),
	RT("blk/restore_smaller", t_blk_restore_smaller, 2, false,
	   XT_F_XENSTORE),
	RT("blk/restore_order", t_blk_restore_order, 2, false, XT_F_XENSTORE),
	RT("blk/frozen_submit", t_blk_frozen_submit, 2, false, XT_F_XENSTORE),
};

const unsigned int xt_resume_nr_tests =
	sizeof(xt_resume_tests) / sizeof(xt_resume_tests[0]);
