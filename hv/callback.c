// SPDX-License-Identifier: GPL-2.0
/*
 * hv upcall registration: how a guest asks for its event upcall, by
 * flavour, as Xen 4.17 (RELEASE-4.17.7) does it.
 *
 *  - PV: CALLBACKOP_register / _unregister (xen/arch/x86/pv/callback.c
 *    do_callback_op): per-vCPU event and failsafe callback addresses.
 *    The event callback is entered with evtchn_upcall_mask set
 *    (xen/arch/x86/x86_64/entry.S create_bounce_frame: "TBF_INTERRUPT ->
 *    set upcall mask"); returning there with the mask clear and no
 *    callback registered crashes the domain (create_bounce_frame_bad_
 *    bounce_ip -> domain_crash).  The hypercall is PV only: HVM and PVH
 *    get -ENOSYS (xen/include/hypercall-defs.c, "callback_op ... -").
 *  - PVH: HVM_PARAM_CALLBACK_IRQ through HVMOP_set_param
 *    (xen/arch/x86/hvm/irq.c hvm_set_callback_via) for the whole domain,
 *    HVMOP_set_evtchn_upcall_vector per vCPU (hvm.c).  A PVH domain has a
 *    local APIC but no IO-APIC or PIC, so only the vector type takes
 *    effect: "if ( via_type != HVMIRQ_callback_vector && (!has_vlapic(d)
 *    || !has_vioapic(d) || !has_vpic(d)) ) return;" -- a GSI, PCI INTx or
 *    "none" value is stored in params[] and changes nothing.
 *
 * hv has no IDT and no guest stack: the PV callback address is called as
 * a function, and a PVH vector runs the domain config's upcall (the
 * guest's IDT entry for it).  The failsafe callback is recorded but never
 * entered: hv restores no guest segment state that could fail.
 */
#include <string.h>

#include "hv-internal.h"

#include <xen/callback.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

bool hv_is_pv(const struct hv_domain *d)
{
	return d->cfg.flavour == HV_FLAVOUR_PV;
}

enum hv_flavour hv_domain_flavour(const struct hv_domain *d)
{
	return d->cfg.flavour;
}

/*
 * is_canonical_address() (xen/arch/x86/include/asm/x86_64/page.h): bits
 * 47..63 all equal (48-bit virtual addresses).
 */
static bool hv_is_canonical(unsigned long addr)
{
	unsigned long top = addr >> 47;

	return top == 0 || top == 0x1ffffUL;
}

/*
 * is_hvm_pv_evtchn_domain() (xen/arch/x86/include/asm/domain.h): the
 * global vector-type callback, or vCPU 0 has a per-vCPU vector ("Assume
 * all vCPUs will use HVMOP_set_evtchn_upcall_vector as long as the
 * initial vCPU does").
 */
static bool hv_pv_evtchn_domain(struct hv_domain *d)
{
	return __atomic_load_n(&d->callback_via_type, __ATOMIC_SEQ_CST) ==
		       HV_VIA_VECTOR ||
	       __atomic_load_n(&d->vcpus[0].cb.upcall_vector, __ATOMIC_SEQ_CST);
}

/*
 * What runs when v's upcall is delivered, or NULL when v registered
 * nothing.  PVH: the per-vCPU vector is preferred to the global via
 * (hvm_assert_evtchn_irq), but both run the same IDT entry here; the
 * global via delivers when hvm_vcpu_has_pending_irq() sees
 * "callback_via_type == HVMIRQ_callback_vector && evtchn_upcall_pending".
 */
hv_upcall_fn hv_upcall_entry(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;

	if (hv_is_pv(d))
		return (hv_upcall_fn)__atomic_load_n(&v->cb.event,
						     __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->cb.upcall_vector, __ATOMIC_SEQ_CST) ||
	    __atomic_load_n(&d->callback_via_type, __ATOMIC_SEQ_CST) ==
		    HV_VIA_VECTOR)
		return d->cfg.upcall;
	return NULL;
}

/*
 * Whether vcpu_mark_events_pending() kicks v (xen/common/event_channel.c
 * -> arch): PV always (vcpu_kick); HVM through hvm_assert_evtchn_irq():
 * its own vector (vlapic_set_irq, which kicks), else vcpu_kick when the
 * domain is a "pv_evtchn" one, else only vCPU 0's GSI / INTx level,
 * which a PVH domain does not have.
 */
bool hv_upcall_kicks(struct hv_vcpu *v)
{
	if (hv_is_pv(v->domain))
		return true;
	return __atomic_load_n(&v->cb.upcall_vector, __ATOMIC_SEQ_CST) ||
	       hv_pv_evtchn_domain(v->domain);
}

/*
 * Whether v's upcall is an edge (xen/arch/x86/hvm/irq.c): a PVH vCPU with
 * its own vector gets it through vlapic_set_irq() once per 0 -> 1 edge of
 * evtchn_upcall_pending (hvm_assert_evtchn_irq); the LAPIC's IRR bit is
 * taken when the vector is delivered, and nothing sets it again while
 * pending stays 1.  The domain-wide vector is a level: hvm_vcpu_has_
 * pending_irq() offers it at every VM entry while "callback_via_type ==
 * HVMIRQ_callback_vector && evtchn_upcall_pending", so with it registered
 * too, the level wins.  PV's callback is a level as well (the return path's
 * test_guest_events).
 */
bool hv_upcall_edge(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;

	return !hv_is_pv(d) &&
	       __atomic_load_n(&v->cb.upcall_vector, __ATOMIC_SEQ_CST) &&
	       __atomic_load_n(&d->callback_via_type, __ATOMIC_SEQ_CST) !=
		       HV_VIA_VECTOR;
}

/*
 * An upcall is due (pending, unmasked) on a vCPU that registered nothing.
 * PVH: no interrupt is raised, the event stays pending.  PV: Xen's return
 * path bounces into event_callback_eip regardless, and a zero address
 * crashes the domain (entry.S create_bounce_frame_bad_bounce_ip ->
 * asm_domain_crash_synchronous); hv records the crash as the shutdown
 * reason (the first reason stays, as domain_shutdown() keeps it) and
 * delivers nothing.
 */
void hv_upcall_unregistered(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;
	int none = -1;

	hv_stat_inc(d, upcalls_unregistered);
	if (hv_is_pv(d))
		__atomic_compare_exchange_n(&d->shutdown_code, &none,
					    SHUTDOWN_crash, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

/* --- PV: CALLBACKOP ------------------------------------------------------- */

/* register_guest_callback() for the calling vCPU. */
static long hv_register_callback(struct hv_vcpu *v,
				 const struct callback_register *reg)
{
	if (!hv_is_canonical(reg->address))
		return -XEN_EINVAL;
	switch (reg->type) {
	case CALLBACKTYPE_event:
		__atomic_store_n(&v->cb.event, reg->address, __ATOMIC_SEQ_CST);
		return 0;
	case CALLBACKTYPE_failsafe:
		__atomic_store_n(&v->cb.failsafe, reg->address,
				 __ATOMIC_SEQ_CST);
		__atomic_store_n(&v->cb.failsafe_masks,
				 !!(reg->flags & CALLBACKF_mask_events),
				 __ATOMIC_SEQ_CST);
		return 0;
	case CALLBACKTYPE_syscall:
	case CALLBACKTYPE_syscall32:
	case CALLBACKTYPE_sysenter:
	case CALLBACKTYPE_nmi:
		/* Accepted as Xen does; hv has no syscalls or NMIs to route. */
		return 0;
	default:
		return -XEN_ENOSYS;
	}
}

/* unregister_guest_callback(): only the NMI callback can go. */
static long hv_unregister_callback(const struct callback_unregister *unreg)
{
	switch (unreg->type) {
	case CALLBACKTYPE_event:
	case CALLBACKTYPE_failsafe:
	case CALLBACKTYPE_syscall:
	case CALLBACKTYPE_syscall32:
	case CALLBACKTYPE_sysenter:
		return -XEN_EINVAL;
	case CALLBACKTYPE_nmi:
		return 0;
	default:
		return -XEN_ENOSYS;
	}
}

/*
 * do_callback_op(): copy_from_guest failure -> -EFAULT, unknown cmd ->
 * -ENOSYS.  Not in the HVM hypercall tables: -ENOSYS for PVH.
 */
long hv_do_callback_op(struct hv_vcpu *v, int cmd, void *arg)
{
	switch (hv_is_pv(v->domain) ? cmd : -1) {
	case CALLBACKOP_register: {
		struct callback_register reg;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&reg, arg, sizeof(reg));
		return hv_register_callback(v, &reg);
	}
	case CALLBACKOP_unregister: {
		struct callback_unregister unreg;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&unreg, arg, sizeof(unreg));
		return hv_unregister_callback(&unreg);
	}
	default:
		return -XEN_ENOSYS;
	}
}

/* --- PVH: HVM_PARAM_CALLBACK_IRQ, HVMOP_set_evtchn_upcall_vector ---------- */

/*
 * hvm_set_param(HVM_PARAM_CALLBACK_IRQ) -> hvm_set_callback_via(), for a
 * PVH domain (no IO-APIC, no PIC): the value is kept (params[index] =
 * value, read back by HVMOP_get_param); only a vector-type via changes
 * the callback, then every online vCPU gets hvm_assert_evtchn_irq()
 * (here: a kick, which delivers what is pending).
 */
long hv_hvm_set_callback_irq(struct hv_domain *d, uint64_t value)
{
	uint8_t type = (uint8_t)(value >> 56) + 1;
	unsigned int i;

	if ((type == HV_VIA_GSI && value == 0) || type > HV_VIA_VECTOR)
		type = HV_VIA_NONE;
	__atomic_store_n(&d->callback_irq_param, value, __ATOMIC_SEQ_CST);
	if (type != HV_VIA_VECTOR)
		return 0; /* !has_vioapic(d) || !has_vpic(d): ignored */
	__atomic_store_n(&d->callback_via_vector, (uint8_t)value,
			 __ATOMIC_SEQ_CST);
	__atomic_store_n(&d->callback_via_type, HV_VIA_VECTOR,
			 __ATOMIC_SEQ_CST);
	for (i = 0; i < d->nr_vcpus; i++)
		if (hv_vcpu_is_up(&d->vcpus[i]))
			hv_vcpu_kick(&d->vcpus[i]);
	return 0;
}

/*
 * hvmop_set_evtchn_upcall_vector(): PV -> -EINVAL (!is_hvm_domain), copy
 * failure -> -EFAULT, vector < 0x10 -> -EINVAL, no such vCPU -> -ENOENT;
 * then the vector is set and hvm_assert_evtchn_irq(v) runs (a kick).
 * Xen's vlapic_set_irq() there latches the vector even with nothing
 * pending (one spurious upcall if the guest's LAPIC is enabled); hv does
 * not model the LAPIC and delivers only what is pending.
 */
long hv_hvmop_set_evtchn_upcall_vector(struct hv_vcpu *v, void *arg)
{
	struct hv_domain *d = v->domain;
	struct xen_hvm_evtchn_upcall_vector op;
	struct hv_vcpu *t;

	if (hv_is_pv(d))
		return -XEN_EINVAL;
	if (!arg)
		return -XEN_EFAULT;
	memcpy(&op, arg, sizeof(op));
	if (op.vector < 0x10)
		return -XEN_EINVAL;
	if (op.vcpu >= d->nr_vcpus)
		return -XEN_ENOENT;
	t = &d->vcpus[op.vcpu];
	__atomic_store_n(&t->cb.upcall_vector, op.vector, __ATOMIC_SEQ_CST);
	/*
	 * hvmop_set_evtchn_upcall_vector() ends in hvm_assert_evtchn_irq():
	 * the vector is raised once whatever evtchn_upcall_pending says (a
	 * first upcall that may find nothing), so an event that came before
	 * the registration is not left behind its missing edge.
	 */
	__atomic_store_n(&t->vec_irr, 1, __ATOMIC_SEQ_CST);
	hv_vcpu_kick(t);
	return 0;
}
