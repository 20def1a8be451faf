// SPDX-License-Identifier: GPL-2.0
/*
 * Upcall registration and the rules that differ by flavour, on hv (Xen
 * 4.17's behaviour, docs/README.md "Upcall registration and flavours").
 * Each test runs as PVH under its name and as PV as NAME@pv
 * (XT_F_FLAVOURS), and asserts what Xen does for that flavour:
 *
 *  - cb/registration_abi: CALLBACKOP_register/_unregister's errors on PV
 *    (xen/arch/x86/pv/callback.c), -ENOSYS on PVH; HVM_PARAM_CALLBACK_IRQ
 *    and HVMOP_set_evtchn_upcall_vector's errors on PVH (hvm/hvm.c,
 *    hvm/irq.c), -EINVAL on PV.  Fails if a bad registration is accepted
 *    or changes the live callback.
 *  - cb/unregistered: a guest that registered nothing gets no upcall; the
 *    event stays pending (evtchn_upcall_pending = 1) and registering later
 *    delivers it; PV starts masked, and unmasking with no callback crashes
 *    the domain (entry.S create_bounce_frame); nor does the event end a
 *    SCHEDOP_poll (no interrupt to take).  Fails if hv delivers
 *    without a registration.
 *  - cb/entry_masks: the callback runs with evtchn_upcall_mask set (Xen's
 *    bounce frame sets it), the mask is clear again after, an event raised
 *    during the callback is delivered when it returns (the re-check on the
 *    iret path), and a masked section defers delivery to its unmask.
 *  - cb/block_masked_window: SCHEDOP_block with events masked and an event
 *    raised after the guest's last check returns at once (sched/core.c
 *    vcpu_block_enable_events: unmask, block, re-check).
 *  - cb/default_tick: PV vCPUs start with a 100 Hz periodic timer that
 *    VCPUOP_stop_periodic_timer stops (pv/domain.c, sched/core.c); PVH has
 *    none.
 *  - cb/set_timer_op: set_timer_op and VCPUOP_set_singleshot_timer drive
 *    the same timer; 0 stops it; a wrapped or >2^50 ns timeout becomes
 *    NOW() + 100 ms; a past one fires at once (sched/core.c
 *    do_set_timer_op).
 */
#include <hv.h>
#include <hv-guest.h>

#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>
#include <xenlite/os.h>

#include <xen/callback.h>

#include "xt-util.h"

#define MS 1000000ULL
#define CB_VECTOR_PARAM(vec) \
	(((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | (vec))

static bool is_pv(void)
{
	return hv_domain_flavour(hv_guest_domain()) == HV_FLAVOUR_PV;
}

static struct vcpu_info *my_vi(void)
{
	return xl_os_vcpu_info(xl_os_vcpu_id());
}

static uint64_t stat_delivered(void)
{
	struct hv_domain_stats st;

	hv_domain_get_stats(hv_guest_domain(), &st);
	return st.upcalls_delivered;
}

static uint64_t stat_unregistered(void)
{
	struct hv_domain_stats st;

	hv_domain_get_stats(hv_guest_domain(), &st);
	return st.upcalls_unregistered;
}

static long cb_op(int cmd, void *arg)
{
	return xl_os_hypercall(__HYPERVISOR_callback_op, (unsigned long)cmd,
			       (unsigned long)arg, 0, 0, 0);
}

static long cb_register(uint16_t type, unsigned long address)
{
	struct callback_register r = { .type = type, .address = address };

	return cb_op(CALLBACKOP_register, &r);
}

static long cb_unregister(uint16_t type)
{
	struct callback_unregister u = { .type = type };

	return cb_op(CALLBACKOP_unregister, &u);
}

static long set_param(domid_t dom, uint32_t index, uint64_t value)
{
	struct xen_hvm_param p = { .domid = dom,
				   .index = index,
				   .value = value };

	return xl_hc_hvm_op(HVMOP_set_param, &p);
}

static long get_param(uint32_t index, uint64_t *value)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
	long rc = xl_hc_hvm_op(HVMOP_get_param, &p);

	*value = p.value;
	return rc;
}

static long set_vcpu_vector(uint32_t vcpu, uint8_t vector)
{
	struct xen_hvm_evtchn_upcall_vector op = { .vcpu = vcpu,
						   .vector = vector };

	return xl_hc_hvm_op(HVMOP_set_evtchn_upcall_vector, &op);
}

static long nop_hypercall(void)
{
	return xl_hc_xen_version(XENVER_version, NULL);
}

/* One IPI to this vCPU goes through the live registration: delivered. */
static enum xt_result self_ipi_delivered(void)
{
	struct xt_rec r = { 0 };
	evtchn_port_t p;

	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

/* --- cb/registration_abi ---------------------------------------------------- */

static enum xt_result registration_abi_pv(void)
{
	const unsigned long high = 0xffff800000001000UL; /* canonical */
	const unsigned long bad = 1UL << 47;		 /* not canonical */
	struct callback_register reg = { .type = CALLBACKTYPE_event };
	uint64_t v;

	/* register_guest_callback(): the address is checked first. */
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_event, bad), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_failsafe, bad), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_register(99, bad), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_register(99, high), -XEN_ENOSYS);
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_sysenter_deprecated, high),
		     -XEN_ENOSYS);
	XT_ASSERT_EQ(cb_register(6, high), -XEN_ENOSYS);
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_nmi, high), 0);
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_syscall, high), 0);
	/* unregister_guest_callback(): only the NMI callback can go. */
	XT_ASSERT_EQ(cb_unregister(CALLBACKTYPE_event), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_unregister(CALLBACKTYPE_failsafe), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_unregister(CALLBACKTYPE_syscall), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_unregister(CALLBACKTYPE_syscall32), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_unregister(CALLBACKTYPE_sysenter), -XEN_EINVAL);
	XT_ASSERT_EQ(cb_unregister(CALLBACKTYPE_nmi), 0);
	XT_ASSERT_EQ(cb_unregister(99), -XEN_ENOSYS);
	/* do_callback_op(): unknown cmd, failed copy_from_guest. */
	XT_ASSERT_EQ(cb_op(2, &reg), -XEN_ENOSYS);
	XT_ASSERT_EQ(cb_op(CALLBACKOP_register, NULL), -XEN_EFAULT);
	XT_ASSERT_EQ(cb_op(CALLBACKOP_unregister, NULL), -XEN_EFAULT);
	/* The HVM registrations: !is_hvm_domain(d) -> -EINVAL. */
	XT_ASSERT_EQ(set_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ,
			       CB_VECTOR_PARAM(0xf3)),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(get_param(HVM_PARAM_CALLBACK_IRQ, &v), -XEN_EINVAL);
	XT_ASSERT_EQ(set_vcpu_vector(0, 0xf3), -XEN_EINVAL);
	/* None of it replaced the event callback the host registered. */
	return self_ipi_delivered();
}

static enum xt_result registration_abi_pvh(void)
{
	uint64_t v;

	/* callback_op is not in the HVM hypercall tables. */
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_event, 0x1000), -XEN_ENOSYS);
	XT_ASSERT_EQ(cb_unregister(CALLBACKTYPE_nmi), -XEN_ENOSYS);
	/* hvmop_set_evtchn_upcall_vector(). */
	XT_ASSERT_EQ(set_vcpu_vector(0, 0x0f), -XEN_EINVAL);
	XT_ASSERT_EQ(set_vcpu_vector(xt_nr_vcpus(), 0xf3), -XEN_ENOENT);
	XT_ASSERT_EQ(set_vcpu_vector(~0U, 0xf3), -XEN_ENOENT);
	XT_ASSERT_EQ(xl_hc_hvm_op(HVMOP_set_evtchn_upcall_vector, NULL),
		     -XEN_EFAULT);
	/* hvmop_set_param() / hvm_allow_set_param(). */
	XT_ASSERT_EQ(set_param(DOMID_SELF, HVM_NR_PARAMS, 0), -XEN_EINVAL);
	XT_ASSERT_EQ(set_param(DOMID_SELF, HVM_PARAM_IDENT_PT, 0), -XEN_EPERM);
	XT_ASSERT_EQ(set_param(DOMID_SELF, 4 /* PAE_ENABLED */, 1),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(set_param(xt_peer_domid(), HVM_PARAM_CALLBACK_IRQ,
			       CB_VECTOR_PARAM(0xf3)),
		     -XEN_EPERM);
	XT_ASSERT_EQ(set_param(DOMID_FIRST_RESERVED - 1, HVM_PARAM_CALLBACK_IRQ,
			       CB_VECTOR_PARAM(0xf3)),
		     -XEN_ESRCH);
	/* params[CALLBACK_IRQ] is what the host set. */
	XT_ASSERT_EQ(get_param(HVM_PARAM_CALLBACK_IRQ, &v), 0);
	XT_ASSERT_EQ(v, CB_VECTOR_PARAM(0xf3));
	/*
	 * No IO-APIC or PIC in a PVH domain: a GSI via, or none, is stored
	 * but leaves the vector in place (hvm_set_callback_via's early
	 * return), so events are still delivered.
	 */
	XT_ASSERT_EQ(set_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, 5), 0);
	XT_ASSERT_EQ(get_param(HVM_PARAM_CALLBACK_IRQ, &v), 0);
	XT_ASSERT_EQ(v, 5);
	XT_ASSERT_EQ(self_ipi_delivered(), XT_PASS);
	XT_ASSERT_EQ(set_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, 0), 0);
	XT_ASSERT_EQ(self_ipi_delivered(), XT_PASS);
	XT_ASSERT_EQ(set_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ,
			       CB_VECTOR_PARAM(0xf3)),
		     0);
	/* A per-vCPU vector is accepted and delivers too. */
	XT_ASSERT_EQ(set_vcpu_vector(0, 0xf4), 0);
	return self_ipi_delivered();
}

static enum xt_result registration_abi(void)
{
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	/* set_timer_op is in both tables (hypercall-defs.c). */
	XT_ASSERT_EQ(xl_os_hypercall(__HYPERVISOR_set_timer_op, 0, 0, 0, 0, 0),
		     0);
	return is_pv() ? registration_abi_pv() : registration_abi_pvh();
}

/* --- cb/unregistered ---------------------------------------------------------- */

/* SCHEDOP_poll on no port with a timeout ns ahead: it slept to it. */
static enum xt_result poll_timeout_slept(uint64_t ns)
{
	struct sched_poll sp = { .nr_ports = 0 };

	sp.timeout = hv_system_time() + ns;
	XT_ASSERT_EQ(xl_hc_sched_op(SCHEDOP_poll, &sp), 0);
	XT_ASSERT(hv_system_time() >= sp.timeout);
	return XT_PASS;
}

/*
 * Runs with XT_F_NO_UPCALL: the host registered nothing.  The event is
 * left pending and undelivered until the guest registers.
 */
static enum xt_result unregistered(void)
{
	struct vcpu_info *vi = my_vi();
	struct xt_rec r = { 0 };
	uint64_t d0, u0;
	evtchn_port_t p;
	bool pv = is_pv();

	XT_ASSERT(vi);
	/* PV: the domain builder's mask; PVH: a zeroed shared_info. */
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_mask), pv ? 1 : 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	d0 = stat_delivered();
	u0 = stat_unregistered();
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(nop_hypercall(), (4 << 16) | 17);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_pending), 1);
	XT_ASSERT_EQ(stat_delivered() - d0, 0);
	/*
	 * Nor does the pending event end a SCHEDOP_poll: do_poll() returns
	 * at once only if local_events_need_delivery(), which needs an
	 * interrupt the vCPU would take (PVH: none without a vector; PV:
	 * masked).  So it sleeps to its timeout.
	 */
	XT_ASSERT_EQ(poll_timeout_slept(20 * MS), XT_PASS);
	if (pv) {
		/* Masked: nothing was even due. */
		XT_ASSERT_EQ(stat_unregistered() - u0, 0);
		/*
		 * Unmasked with no event callback: Xen bounces to address 0
		 * and crashes the domain (create_bounce_frame).
		 */
		XT_ASSERT_EQ(hv_domain_shutdown_reason(hv_guest_domain()), -1);
		xl_os_irq_restore(0);
		XT_ASSERT_EQ(hv_domain_shutdown_reason(hv_guest_domain()),
			     SHUTDOWN_crash);
	} else {
		/* Due (unmasked, pending) but no vector: no interrupt. */
		XT_ASSERT(stat_unregistered() - u0 >= 1);
		XT_ASSERT_EQ(hv_domain_shutdown_reason(hv_guest_domain()), -1);
	}
	XT_ASSERT_EQ(XT_LOAD(&r.count), 0);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_pending), 1);
	XT_ASSERT_EQ(stat_delivered() - d0, 0);

	/* Registering now delivers the event that waited. */
	if (pv)
		XT_ASSERT_EQ(cb_register(CALLBACKTYPE_event,
					 (unsigned long)xl_evtchn_upcall),
			     0);
	else
		XT_ASSERT_EQ(set_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ,
				       CB_VECTOR_PARAM(0xf3)),
			     0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(r.last_port, p);
	XT_ASSERT(stat_delivered() - d0 >= 1);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_pending), 0);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

/* --- cb/entry_masks ------------------------------------------------------------ */

static unsigned int hook_calls, hook_unmasked;

/* In the upcall: the mask must be set (Xen's bounce frame set it). */
static void mask_hook(struct xt_rec *r)
{
	(void)r;
	XT_ADD(&hook_calls, 1);
	if (!XT_LOAD(&my_vi()->evtchn_upcall_mask))
		XT_ADD(&hook_unmasked, 1);
}

static unsigned int raw_calls, raw_unmasked;

/*
 * A bare PV event callback (no core): it takes the pending flag, and on
 * its first run an event "arrives" meanwhile (pending set again while the
 * callback runs masked).
 */
static void raw_callback(void)
{
	struct vcpu_info *vi = my_vi();

	if (!XT_LOAD(&vi->evtchn_upcall_mask))
		XT_ADD(&raw_unmasked, 1);
	XT_STORE(&vi->evtchn_upcall_pending, 0);
	if (XT_ADD(&raw_calls, 1) == 1)
		XT_STORE(&vi->evtchn_upcall_pending, 1);
}

static enum xt_result entry_masks(void)
{
	struct vcpu_info *vi = my_vi();
	struct xt_rec r = { .hook = mask_hook };
	unsigned long flags;
	evtchn_port_t p;

	XT_STORE(&hook_calls, 0);
	XT_STORE(&hook_unmasked, 0);
	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &r, &p), 0);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_mask), 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT_EQ(XT_LOAD(&hook_calls), 1);
	XT_ASSERT_EQ(XT_LOAD(&hook_unmasked), 0);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_mask), 0);
	XT_ASSERT_EQ(r.concurrent, 0);

	/* The mask as the interrupt flag: deferred to the unmask. */
	flags = xl_os_irq_save();
	XT_ASSERT_EQ(flags, 0);
	XT_ASSERT_EQ(xl_evtchn_send(p), 0);
	XT_ASSERT_EQ(nop_hypercall(), (4 << 16) | 17);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 1);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_pending), 1);
	xl_os_irq_restore(flags);
	/* The unmask's forced hypercall delivered it before returning. */
	XT_ASSERT_EQ(XT_LOAD(&r.count), 2);
	XT_ASSERT_EQ(XT_LOAD(&hook_unmasked), 0);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);

	if (!is_pv())
		return XT_PASS;
	/*
	 * PV, a bare callback: an event that arrives while it runs is
	 * delivered again once it returns and the mask is clear, with no
	 * further hypercall (the re-check on the iret path).
	 */
	XT_STORE(&raw_calls, 0);
	XT_STORE(&raw_unmasked, 0);
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_event,
				 (unsigned long)raw_callback),
		     0);
	XT_STORE(&vi->evtchn_upcall_pending, 1);
	XT_ASSERT_EQ(nop_hypercall(), (4 << 16) | 17);
	XT_ASSERT_EQ(XT_LOAD(&raw_calls), 2);
	XT_ASSERT_EQ(XT_LOAD(&raw_unmasked), 0);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_mask), 0);
	XT_ASSERT_EQ(XT_LOAD(&vi->evtchn_upcall_pending), 0);
	XT_ASSERT_EQ(cb_register(CALLBACKTYPE_event,
				 (unsigned long)xl_evtchn_upcall),
		     0);
	return XT_PASS;
}

/* --- cb/block_masked_window ------------------------------------------------------ */

struct window {
	evtchn_port_t port;
	int sent;
	struct xt_rec r;
};

/* vCPU 1: the event, after vCPU 0's last check. */
static void send_in_window(void *arg)
{
	struct window *w = arg;

	xl_evtchn_send(w->port);
	XT_STORE(&w->sent, 1);
}

/*
 * On vCPU 0, which no runner poke can wake: masked, "check" (nothing),
 * let vCPU 1 raise the event, then block.  SCHEDOP_block unmasks and
 * re-checks after marking the vCPU blocked, so it must return at once
 * with the upcall run on its return path.
 */
static enum xt_result block_masked_window(void)
{
	struct vcpu_runstate_info rs0, rs1;
	struct hv_domain_stats s0, s1;
	struct window w = { 0 };
	unsigned long flags;
	uint64_t count_after, t0;
	long rc;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_ipi(0, xt_rec_handler, &w.r, &w.port), 0);
	flags = xl_os_irq_save();
	/* The guest's last check: nothing to do, so it will block. */
	if (XT_LOAD(&w.r.count)) {
		xl_os_irq_restore(flags);
		XT_ASSERT_MSG(false, "event before the window");
	}
	xt_start_on(1, send_in_window, &w);
	t0 = xt_now_ns();
	while (!XT_LOAD(&w.sent) && xt_now_ns() - t0 < XT_EVENT_TIMEOUT_NS)
		__builtin_ia32_pause();
	hv_domain_get_stats(hv_guest_domain(), &s0);
	xl_hc_vcpu_op(VCPUOP_get_runstate_info, 0, &rs0);
	rc = xl_hc_sched_op(SCHEDOP_block, NULL);
	xl_hc_vcpu_op(VCPUOP_get_runstate_info, 0, &rs1);
	hv_domain_get_stats(hv_guest_domain(), &s1);
	count_after = XT_LOAD(&w.r.count);
	xl_os_irq_restore(flags);
	xt_wait_on(1);
	XT_ASSERT_EQ(XT_LOAD(&w.sent), 1);
	XT_ASSERT_EQ(rc, 0);
	XT_ASSERT_EQ(count_after, 1);
	/* It never slept: no time blocked (a lost wakeup would hang). */
	XT_ASSERT_EQ(rs1.time[RUNSTATE_blocked] - rs0.time[RUNSTATE_blocked],
		     0);
	XT_ASSERT(s1.block_not_slept - s0.block_not_slept >= 1);
	XT_ASSERT_EQ(xl_evtchn_close(w.port), 0);
	return XT_PASS;
}

/* --- cb/default_tick ------------------------------------------------------------- */

static long vcpu_op(int cmd, void *arg)
{
	return xl_hc_vcpu_op(cmd, xl_os_vcpu_id(), arg);
}

static bool count_at_least(void *arg)
{
	struct xt_rec *r = arg;

	return XT_LOAD(&r->count) >= r->tag;
}

static enum xt_result default_tick(void)
{
	struct vcpu_set_periodic_timer per = { .period_ns = 10 * MS };
	struct xt_rec r = { 0 };
	uint64_t t0, ms, c;
	evtchn_port_t p;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	t0 = xt_now_ns();
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, &r, &p),
		     0);
	if (!is_pv()) {
		/* HVM/PVH vCPUs start with no periodic timer. */
		xt_sleep_ns(50 * MS);
		XT_ASSERT_EQ(XT_LOAD(&r.count), 0);
		/* r is this frame's: no VIRQ may reach it after we return. */
		XT_ASSERT_EQ(xl_evtchn_close(p), 0);
		return XT_PASS;
	}
	/* pv/domain.c: "PV guests by default have a 100Hz ticker". */
	r.tag = 3;
	XT_ASSERT(xt_wait_until(count_at_least, &r, XT_EVENT_TIMEOUT_NS));
	c = XT_LOAD(&r.count);
	ms = (xt_now_ns() - t0) / MS;
	xt_log("PV default tick: %llu in %llu ms", (unsigned long long)c,
	       (unsigned long long)ms);
	/* At most one per 10 ms (no catch-up bursts), plus the edges. */
	XT_ASSERT(c >= 3 && c <= ms / 10 + 2);
	/* VCPUOP_stop_periodic_timer stops it for good. */
	XT_ASSERT_EQ(vcpu_op(VCPUOP_stop_periodic_timer, NULL), 0);
	c = xt_rec_settle(&r);
	xt_sleep_ns(50 * MS);
	XT_ASSERT_EQ(XT_LOAD(&r.count), c);
	/* ... and VCPUOP_set_periodic_timer starts it again. */
	XT_ASSERT_EQ(vcpu_op(VCPUOP_set_periodic_timer, &per), 0);
	r.tag = c + 2;
	XT_ASSERT(xt_wait_until(count_at_least, &r, XT_EVENT_TIMEOUT_NS));
	XT_ASSERT_EQ(vcpu_op(VCPUOP_stop_periodic_timer, NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

/* --- cb/set_timer_op ---------------------------------------------------------------- */

static uint64_t fired_at;

static void stamp_hook(struct xt_rec *r)
{
	(void)r;
	XT_STORE(&fired_at, hv_system_time());
}

static long set_timer_op(int64_t timeout)
{
	return xl_os_hypercall(__HYPERVISOR_set_timer_op,
			       (unsigned long)timeout, 0, 0, 0, 0);
}

/* A timeout Xen replaces with NOW() + 100 ms: the event, on time. */
static enum xt_result hundred_ms(struct xt_rec *r, int64_t timeout)
{
	uint64_t c = XT_LOAD(&r->count), set = hv_system_time();

	XT_ASSERT_EQ(set_timer_op(timeout), 0);
	XT_ASSERT_EQ(xt_rec_wait(r, c + 1), c + 1);
	XT_ASSERT(XT_LOAD(&fired_at) >= set + 100 * MS);
	XT_ASSERT(XT_LOAD(&fired_at) < set + XT_EVENT_TIMEOUT_NS);
	return XT_PASS;
}

static enum xt_result set_timer_op_test(void)
{
	struct xt_rec r = { .hook = stamp_hook };
	struct vcpu_set_singleshot_timer ss = { 0 };
	uint64_t deadline;
	evtchn_port_t p;

	XT_ASSERT_EQ(xt_core_init(NULL), 0);
	/* PV: the default tick would add VIRQs of its own. */
	if (is_pv())
		XT_ASSERT_EQ(vcpu_op(VCPUOP_stop_periodic_timer, NULL), 0);
	XT_ASSERT_EQ(xl_evtchn_bind_virq(VIRQ_TIMER, 0, xt_rec_handler, &r, &p),
		     0);
	XT_ASSERT_EQ(xt_rec_settle(&r), 0);

	/* A deadline: one event, not before it. */
	deadline = hv_system_time() + 5 * MS;
	XT_ASSERT_EQ(set_timer_op((int64_t)deadline), 0);
	XT_ASSERT_EQ(xt_rec_wait(&r, 1), 1);
	XT_ASSERT(XT_LOAD(&fired_at) >= deadline);

	/* 0 stops it. */
	XT_ASSERT_EQ(set_timer_op((int64_t)(hv_system_time() + 30 * MS)), 0);
	XT_ASSERT_EQ(set_timer_op(0), 0);
	xt_sleep_ns(60 * MS);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 1);

	/* One timer: set_timer_op(0) stops VCPUOP_set_singleshot_timer's. */
	ss.timeout_abs_ns = hv_system_time() + 30 * MS;
	XT_ASSERT_EQ(vcpu_op(VCPUOP_set_singleshot_timer, &ss), 0);
	XT_ASSERT_EQ(set_timer_op(0), 0);
	xt_sleep_ns(60 * MS);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 1);

	/* Already past: the event comes on the hypercall's return. */
	XT_ASSERT_EQ(set_timer_op((int64_t)(hv_system_time() - MS)), 0);
	XT_ASSERT_EQ(XT_LOAD(&r.count), 2);

	/* Wrapped negative, or 2^50 ns and more ahead: NOW() + 100 ms. */
	XT_ASSERT_EQ(hundred_ms(&r, INT64_MIN + 5), XT_PASS);
	XT_ASSERT_EQ(hundred_ms(&r, (int64_t)(hv_system_time() + (1ULL << 51))),
		     XT_PASS);
	XT_ASSERT_EQ(xt_rec_settle(&r), 4);
	XT_ASSERT_EQ(xl_evtchn_close(p), 0);
	return XT_PASS;
}

#define F XT_F_FLAVOURS

const struct xt_test xt_cb_tests[] = {
	{ "cb/registration_abi", XT_HV, 1, true, registration_abi, F },
	{ "cb/unregistered", XT_HV, 1, false, unregistered,
	  F | XT_F_NO_UPCALL },
	{ "cb/entry_masks", XT_HV, 1, false, entry_masks, F },
	{ "cb/block_masked_window", XT_HV, 2, false, block_masked_window, F },
	{ "cb/default_tick", XT_HV, 1, false, default_tick, F },
	{ "cb/set_timer_op", XT_HV, 1, false, set_timer_op_test, F },
};

const unsigned int xt_cb_nr_tests =
	sizeof(xt_cb_tests) / sizeof(xt_cb_tests[0]);
