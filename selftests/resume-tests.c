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

#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>

#include "xt-util.h"

#define MS 1000000ULL
#define JUMP_NS (2000ULL * MS) /* system time moves 2 s at a restore */

static struct hv_domain *dom(void)
{
	return hv_guest_domain();
}

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

static void plan(bool cancel, uint64_t jump)
{
	struct hv_suspend_plan p = { .cancel = cancel, .time_jump_ns = jump };

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
	/* Mapped again where the guest asks (hv_guest_resume). */
	XT_ASSERT_EQ(hv_guest_resume(), 0);
	XT_ASSERT_EQ(hv_domain_shared_info_gfn(dom()),
		     (int64_t)hv_domain_nr_pages(dom()) - 1);
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
 * The guest's side of one cycle, on vCPU 0 with the others held: note
 * the ports, suspend, then (restored) map shared_info and register the
 * callback again and resume the event channels.  The hypercall's return
 * (1 cancelled, 0 resumed) or a negative error.
 */
static uint64_t resumed_at; /* pvclock when the hypercall returned */

static long cycle(bool cancel, uint64_t jump)
{
	unsigned long flags = xl_os_irq_save();
	long rc = 0;
	int r;

	memset(&lost_log, 0, sizeof(lost_log));
	r = xl_evtchn_suspend();
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
 * its handler, FIFO priority and mask: an IPI per vCPU, VIRQ_DEBUG on
 * vCPU 1, a hole below them (a port closed before the suspend), one IPI
 * masked.  After the restore each port takes NR_SENDS events, each
 * handled exactly once on its vCPU; the masked one holds an event until
 * it is unmasked; Xen has exactly the ports the core has (no placeholder
 * left open).
 */
static enum xt_result t_ports(enum mode m)
{
	struct xt_rec r[XL_MAX_VCPUS] = { 0 }, rv = { 0 }, rm = { 0 };
	evtchn_port_t ipi[XL_MAX_VCPUS], hole, virq, masked;
	unsigned int cpu, nr = xt_nr_vcpus();
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
	XT_ASSERT_EQ(hv_evtchn_open_ports(dom(), NULL, 0), nr + 2);
	for (cpu = 0; cpu < nr; cpu++) {
		XT_ASSERT_EQ(xl_evtchn_port_type(ipi[cpu]), XL_PORT_IPI);
		XT_ASSERT_EQ(xl_evtchn_port_cpu(ipi[cpu]), cpu);
		XEN_HAS(ipi[cpu], EVTCHNSTAT_ipi, cpu);
	}
	XEN_HAS(virq, EVTCHNSTAT_virq, 1);
	XEN_HAS(masked, EVTCHNSTAT_ipi, 1);
	if (m == M_FIFO)
		XT_ASSERT_EQ(hv_evtchn_port_priority(dom(), ipi[0]), 3);
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
	XT_ASSERT_EQ(xl_evtchn_send(masked), 0);
	XT_ASSERT_EQ(xt_rec_settle(&rm), 0);
	XT_ASSERT(xl_evtchn_is_pending(masked));
	XT_ASSERT_EQ(xl_evtchn_unmask(masked), 0);
	XT_ASSERT_EQ(xt_rec_wait(&rm, 1), 1);
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
	return XT_PASS;
}

/*
 * Interdomain and unbound ports are lost (their peer's end names the old
 * domid): reported once each to the callback with their type and data,
 * free in the port table, while the IPI beside them survives.  The owner
 * handshakes again: the peer offers a port for the new domid, the guest
 * binds it and takes the bind-time event and one send, exactly.
 */
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
 * A cancel that returns 0 (PVH without HVM_PARAM_CALLBACK_IRQ): the core
 * finds its ports still bound in Xen and changes nothing; no port lost.
 */
static enum xt_result t_cancel_zero(enum mode m)
{
	struct xt_rec r = { 0 };
	evtchn_port_t ipi;
	int open;

	MODE_INIT(m);
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
	XT_ASSERT_EQ(xl_evtchn_port_type(ipi), XL_PORT_IPI);
	/* No upcall registered: the event waits, pending and unmasked. */
	XT_ASSERT_EQ(xl_evtchn_send(ipi), 0);
	XT_ASSERT(xl_evtchn_is_pending(ipi) && !xl_evtchn_is_masked(ipi));
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
	RT("fifo/repeat", fifo_repeat, 2, false, XT_F_FLAVOURS),
	RT("2l/repeat", l2_repeat, 2, false, XT_F_FLAVOURS),
	RT("fifo/pages", t_fifo_pages, 2, false, 0),
	RT("fifo/refused", t_fifo_refused, 2, false, 0),
	RT("fifo/cancel_empty", t_cancel_empty, 1, false, XT_F_FLAVOURS),
	RT("fifo/cancel_zero_empty", t_cancel_zero_empty, 1, false,
	   XT_F_NO_UPCALL),
};

const unsigned int xt_resume_nr_tests =
	sizeof(xt_resume_tests) / sizeof(xt_resume_tests[0]);
