// SPDX-License-Identifier: GPL-2.0
/*
 * The event-channel upcall.  Two ways in, tried in this order:
 *
 * 1. Per-vCPU vector (HVMOP_set_evtchn_upcall_vector, public hvm/hvm_op.h;
 *    offered when CPUID leaf base+4 has XEN_HVM_CPUID_UPCALL_VECTOR).  Xen
 *    injects the vector through the vCPU's virtual LAPIC as an edge
 *    interrupt, so it needs an EOI (xen/arch/x86/hvm/irq.c,
 *    hvm_assert_evtchn_irq -> vlapic_set_irq; Linux acks the APIC before
 *    the upcall for the same reason, arch/x86/xen/enlighten_hvm.c).  A
 *    module cannot own an IDT vector, so for each CPU we allocate an IRQ
 *    from x86_vector_domain with an affinity of that CPU alone: its vector
 *    is then a vector of that CPU, and handle_edge_irq's ack (the LAPIC
 *    controller's apic_ack_edge) is the EOI.  IRQF_NOBALANCING pins it.
 *
 * 2. The platform PCI device's INTx, through HVM_PARAM_CALLBACK_IRQ as a
 *    GSI (legacy IRQ < 16) or a PCI INTx line (public hvm/params.h).  Xen
 *    raises it only for vCPU 0's evtchn_upcall_pending
 *    (hvm_assert_evtchn_irq: "else if ( v->vcpu_id == 0 )"), so only
 *    vCPU 0 gets events: the clockevent runs on vCPU 0 only and every
 *    port stays bound to it.
 *
 * Xen 4.17 has no way to withdraw a per-vCPU vector (vectors < 0x10 are
 * refused, hvm.c hvmop_set_evtchn_upcall_vector).  Unloading first closes
 * every port and resets the event channels (xl_evtchn_fini), so Xen has
 * nothing left to raise on it; the IRQ and vector are then freed.
 *
 * For the same reason the INTx is no fallback once vCPU 0 has a vector:
 * hvm_assert_evtchn_irq tests the vCPU's vector first and raises the
 * callback IRQ only for a vCPU 0 without one.  So when the vector is
 * refused on a later vCPU, the vectors Xen already has are kept (each
 * vCPU that has one gets its events, the others keep Linux's own tick),
 * and the INTx is used only when vCPU 0 has no vector in Xen.
 */
#define pr_fmt(fmt) "xenlite: " fmt

#include <linux/cpumask.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/pci.h>
#include <linux/version.h>
#include <asm/apic.h>
#include <asm/hw_irq.h>
#include <asm/irqdomain.h>

#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>

#include "xl-linux.h"

enum xlk_upcall_mode xlk_upcall_mode;

static DEFINE_PER_CPU(int, upcall_irq);
static DEFINE_PER_CPU(u64, upcalls);
static DEFINE_PER_CPU(u64, reraises); /* xlk_upcall_reraise() */
static struct pci_dev *intx_pdev;
static bool intx_misrouted;
static unsigned int vector_cpus, vector_refused;

/* For the hvm guest suite (tools/xen-hvm-guest): Xen's refusal of one vCPU's vector. */
static int refuse_vector_vcpu = -1;
module_param(refuse_vector_vcpu, int, 0444);
MODULE_PARM_DESC(
	refuse_vector_vcpu,
	"testing: treat the per-vCPU upcall vector of this vCPU as refused by Xen (-1: none)");

static irqreturn_t upcall_vector_irq(int irq, void *dev)
{
	this_cpu_inc(upcalls);
	xl_evtchn_upcall();
	xlk_wake_waiters();
	return IRQ_HANDLED;
}

static irqreturn_t upcall_intx_irq(int irq, void *dev)
{
	struct vcpu_info *vi = xl_os_vcpu_info(0);

	if (xl_os_vcpu_id() != 0) {
		if (!intx_misrouted)
			pr_err("INTx upcall taken on vCPU %u, not 0\n",
			       xl_os_vcpu_id());
		intx_misrouted = true;
		return IRQ_NONE;
	}
	/* The line may be shared: ours only if vCPU 0 has an upcall pending. */
	if (!xl_read8(&vi->evtchn_upcall_pending))
		return IRQ_NONE;
	this_cpu_inc(upcalls);
	xl_evtchn_upcall();
	xlk_wake_waiters();
	return IRQ_HANDLED;
}

u64 xlk_upcall_count(unsigned int cpu)
{
	return READ_ONCE(per_cpu(upcalls, cpu));
}

const char *xlk_upcall_mode_name(void)
{
	switch (xlk_upcall_mode) {
	case XLK_UPCALL_VECTOR:
		return "per-vCPU vector";
	case XLK_UPCALL_INTX:
		return "platform INTx (vCPU 0 only)";
	default:
		return "none";
	}
}

bool xlk_upcall_cpu_ok(unsigned int cpu)
{
	switch (xlk_upcall_mode) {
	case XLK_UPCALL_VECTOR:
		return per_cpu(upcall_irq, cpu) > 0;
	case XLK_UPCALL_INTX:
		return per_cpu(xlk_vcpu_id, cpu) == 0;
	default:
		return false;
	}
}

static void vector_free_cpu(unsigned int cpu)
{
	int irq = per_cpu(upcall_irq, cpu);

	if (irq <= 0)
		return;
	free_irq(irq, NULL);
	irq_dispose_mapping(irq);
	per_cpu(upcall_irq, cpu) = 0;
}

/* An IRQ whose only vector lives on cpu, then the vector handed to Xen. */
static int vector_setup_cpu(unsigned int cpu)
{
	struct irq_alloc_info info = { .mask = cpumask_of(cpu) };
	struct irq_affinity_desc aff = { .is_managed = 0 };
	struct xen_hvm_evtchn_upcall_vector uv = {
		.vcpu = per_cpu(xlk_vcpu_id, cpu),
	};
	struct irq_data *d;
	int irq, rc;

	cpumask_copy(&aff.mask, cpumask_of(cpu));
	irq = __irq_domain_alloc_irqs(x86_vector_domain, -1, 1,
				      cpu_to_node(cpu), &info, false, &aff);
	if (irq < 0)
		return irq;
	irq_set_handler(irq, handle_edge_irq);
	rc = request_irq(irq, upcall_vector_irq, IRQF_TIMER | IRQF_NOBALANCING,
			 "xenlite-upcall", NULL);
	if (rc) {
		irq_dispose_mapping(irq);
		return rc;
	}
	per_cpu(upcall_irq, cpu) = irq;
	d = irq_get_irq_data(irq);
	if (!cpumask_equal(irq_data_get_effective_affinity_mask(d),
			   cpumask_of(cpu))) {
		pr_err("upcall IRQ %d: vector not on CPU %u\n", irq, cpu);
		vector_free_cpu(cpu);
		return -EINVAL;
	}
	uv.vector = irqd_cfg(d)->vector;
	/* Xen asserts the vector once at once (hvm.c): a spurious upcall. */
	if (refuse_vector_vcpu >= 0 &&
	    uv.vcpu == (unsigned int)refuse_vector_vcpu)
		rc = -EINVAL; /* what Xen answers for a vector < 0x10 */
	else
		rc = (int)xl_hc_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv);
	if (rc) {
		pr_info("HVMOP_set_evtchn_upcall_vector(vCPU %u, %#x): %d\n",
			uv.vcpu, uv.vector, rc);
		vector_free_cpu(cpu);
		return rc;
	}
	pr_info("vCPU %u: upcall vector %#x (IRQ %d)\n", uv.vcpu, uv.vector,
		irq);
	return 0;
}

/*
 * vCPU 0's vector first: refused, nothing is in Xen and the INTx is the
 * fallback.  Taken, it is in Xen for good (no withdrawal in 4.17) and Xen
 * never raises the INTx again (hvm_assert_evtchn_irq tests the vector
 * first), so from then on a refusal on another vCPU leaves that vCPU
 * without events (xlk_upcall_cpu_ok: Linux keeps its tick there) and the
 * vectors Xen has are kept.
 */
static int vector_init(void)
{
	unsigned int cpu, cpu0 = nr_cpu_ids;
	int rc;

	vector_cpus = 0;
	vector_refused = 0;
	for_each_online_cpu(cpu) if (per_cpu(xlk_vcpu_id, cpu) == 0) cpu0 = cpu;
	if (cpu0 >= nr_cpu_ids)
		return -ENODEV;
	rc = vector_setup_cpu(cpu0);
	if (rc)
		return rc;
	vector_cpus = 1;
	for_each_online_cpu(cpu)
	{
		if (cpu == cpu0)
			continue;
		if (vector_setup_cpu(cpu))
			vector_refused++;
		else
			vector_cpus++;
	}
	return 0;
}

static int set_callback_via(u64 via)
{
	struct xen_hvm_param p = {
		.domid = DOMID_SELF,
		.index = HVM_PARAM_CALLBACK_IRQ,
		.value = via,
	};

	return (int)xl_hc_hvm_op(HVMOP_set_param, &p);
}

/* GSI for a legacy (ISA) IRQ, else the device's INTx line (params.h). */
static u64 intx_callback_via(struct pci_dev *pdev)
{
	if (pdev->irq < 16)
		return ((u64)HVM_PARAM_CALLBACK_TYPE_GSI << 56) | pdev->irq;
	return ((u64)HVM_PARAM_CALLBACK_TYPE_PCI_INTX << 56) |
	       ((u64)pci_domain_nr(pdev->bus) << 32) |
	       ((u64)pdev->bus->number << 16) | ((u64)pdev->devfn << 8) |
	       ((u64)(pdev->pin - 1) & 3);
}

static int intx_init(struct pci_dev *pdev)
{
	unsigned int cpu0 = nr_cpu_ids, cpu;
	int rc;

	for_each_online_cpu(cpu) if (per_cpu(xlk_vcpu_id, cpu) == 0) cpu0 = cpu;
	if (cpu0 >= nr_cpu_ids)
		return -ENODEV;
	if (!pdev->irq || !pdev->pin) {
		pr_err("the platform device has no INTx\n");
		return -ENODEV;
	}
	rc = request_irq(pdev->irq, upcall_intx_irq,
			 IRQF_SHARED | IRQF_NOBALANCING, "xenlite-intx", pdev);
	if (rc)
		return rc;
	rc = irq_set_affinity(pdev->irq, cpumask_of(cpu0));
	if (rc) {
		pr_err("cannot route IRQ %d to CPU %u: %d\n", pdev->irq, cpu0,
		       rc);
		free_irq(pdev->irq, pdev);
		return rc;
	}
	rc = set_callback_via(intx_callback_via(pdev));
	if (rc) {
		pr_err("HVM_PARAM_CALLBACK_IRQ %#llx: %d\n",
		       intx_callback_via(pdev), rc);
		free_irq(pdev->irq, pdev);
		return -EIO;
	}
	intx_pdev = pdev;
	return 0;
}

int xlk_upcall_init(struct pci_dev *pdev, bool want_vector)
{
	int rc = -EOPNOTSUPP;

	if (want_vector && xlk_cpuid_upcall_vector()) {
		rc = vector_init();
		if (!rc) {
			xlk_upcall_mode = XLK_UPCALL_VECTOR;
			if (!vector_refused)
				pr_info("upcall: per-vCPU vector on every vCPU\n");
			else
				pr_warn("upcall: per-vCPU vector on %u vCPU(s) with vCPU 0, refused on %u (they keep Linux's own tick: no INTx once vCPU 0 has a vector)\n",
					vector_cpus, vector_refused);
			return 0;
		}
	}
	if (!want_vector)
		pr_info("upcall: per-vCPU vectors not wanted (upcall_vector=0)\n");
	else if (rc == -EOPNOTSUPP)
		pr_info("upcall: Xen offers no per-vCPU upcall vector (CPUID)\n");
	else
		pr_info("upcall: per-vCPU vector refused (%d)\n", rc);
	rc = intx_init(pdev);
	if (rc)
		return rc;
	xlk_upcall_mode = XLK_UPCALL_INTX;
	pr_info("upcall: platform INTx, IRQ %d, vCPU 0 only (other vCPUs keep Linux's own tick)\n",
		pdev->irq);
	return 0;
}

/*
 * xl_os_upcall_reraise(): the core stopped on its budget with
 * evtchn_upcall_pending still set.  A per-vCPU vector is raised by Xen
 * only on the 0 -> 1 edge of that flag (hvm_assert_evtchn_irq ->
 * vlapic_set_irq), so send this CPU's upcall vector to itself.
 * handle_edge_irq acked it (apic_ack_edge: the EOI) before the handler
 * ran, so the self-IPI waits in the IRR only until the iret sets IF again,
 * and any higher-priority vector pending meanwhile (a call-function IPI,
 * the LAPIC timer) is taken first: the point of the budget.  INTx: the
 * same through the vector the platform IRQ is routed to on vCPU 0 (its
 * handler checks evtchn_upcall_pending; a level line Xen keeps asserted
 * may add one spurious upcall).  Runs in hardirq context: irqd_cfg()
 * takes no lock.
 */
static void send_ipi_self(unsigned int vector)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	__apic_send_IPI_self(vector);
#else
	apic->send_IPI_self(vector);
#endif
}

void xlk_upcall_reraise(void)
{
	struct irq_cfg *cfg;
	int irq = 0;

	if (xlk_upcall_mode == XLK_UPCALL_VECTOR)
		irq = this_cpu_read(upcall_irq);
	else if (xlk_upcall_mode == XLK_UPCALL_INTX && intx_pdev)
		irq = intx_pdev->irq;
	if (irq <= 0)
		return;
	cfg = irqd_cfg(irq_get_irq_data(irq));
	if (cfg)
		send_ipi_self(cfg->vector);
	this_cpu_inc(reraises);
}

u64 xlk_upcall_reraises(unsigned int cpu)
{
	return READ_ONCE(per_cpu(reraises, cpu));
}

void xlk_upcall_fini(void)
{
	unsigned int cpu;

	if (xlk_upcall_mode == XLK_UPCALL_INTX && intx_pdev) {
		set_callback_via(0);
		free_irq(intx_pdev->irq, intx_pdev);
		intx_pdev = NULL;
	}
	if (xlk_upcall_mode == XLK_UPCALL_VECTOR)
		for_each_online_cpu(cpu) vector_free_cpu(cpu);
	xlk_upcall_mode = XLK_UPCALL_NONE;
}
