// SPDX-License-Identifier: GPL-2.0
/*
 * Per-vCPU setup and secondary vCPU bring-up.
 *
 * Xen creates all of dom0's vCPUs (one per physical CPU unless
 * dom0_max_vcpus says otherwise) but starts only vCPU 0.  VCPUOP_is_up
 * answers -ENOENT past the last one.  A PVH vCPU is started with
 * VCPUOP_initialise and a struct vcpu_hvm_context (public hvm/hvm_vcpu.h;
 * x86 hvm/domain.c, arch_set_info_hvm_guest): VCPU_HVM_MODE_64B starts it
 * in long mode with our CR3 and flat cached segments, at tk_ap_entry64
 * with the %rsp and %rdi we give.  Then VCPUOP_up.  The PV flavour gives
 * VCPUOP_initialise a struct vcpu_guest_context instead (pv.c,
 * tk_pv_vcpu_initialise) and sets up %gs, traps and callbacks through
 * hypercalls (tk_pv_cpu_setup).
 */
#include "tk.h"

#include <xen/hvm/hvm_vcpu.h>

#define TK_MAX_CPUS 8
#define TK_AP_STACK 32768
#define MSR_GS_BASE 0xc0000101

struct tk_cpu tk_cpus[XL_MAX_VCPUS];
unsigned int tk_nr_cpus = 1;
bool tk_have_cpu;

static uint8_t tk_ap_stacks[TK_MAX_CPUS][TK_AP_STACK]
	__attribute__((aligned(16)));

#ifndef TK_PV
extern uint8_t tk_pml4[];
extern const uint8_t tk_ap_entry64[];
#endif

/* This vCPU's %gs, IDT and local APIC. */
static void tk_cpu_setup(unsigned int cpu)
{
	struct tk_cpu *c = &tk_cpus[cpu];

	c->id = cpu;
#ifdef TK_PV
	tk_pv_cpu_setup(cpu, cpu ? c->stack_top : 0);
	c->apic_id = cpu;
#else
	tk_wrmsr(MSR_GS_BASE, (uint64_t)(uintptr_t)c);
	tk_idt_load();
	tk_lapic_init();
	c->apic_id = tk_lapic_id();
#endif
}

bool tk_upcall_percpu;

/* HVMOP_set_evtchn_upcall_vector for cpu (Xen also asserts it once). */
int tk_upcall_percpu_setup(unsigned int cpu)
{
	struct xen_hvm_evtchn_upcall_vector uv = { .vcpu = cpu,
						   .vector = TK_VEC_UPCALL };

	return (int)tk_hypercall(__HYPERVISOR_hvm_op,
				 HVMOP_set_evtchn_upcall_vector,
				 (unsigned long)&uv, 0, 0, 0);
}

void tk_ap_main(unsigned int cpu)
{
	int rc;

	tk_cpu_setup(cpu);
#ifdef TK_PV
	tk_upcall_setup(); /* PV: the event callback is per vCPU */
#endif
	if (tk_upcall_percpu) {
		rc = tk_upcall_percpu_setup(cpu);
		if (rc)
			tk_panic("HVMOP_set_evtchn_upcall_vector(%u): %d", cpu,
				 rc);
	}
	__atomic_store_n(&tk_cpus[cpu].online, 1, __ATOMIC_SEQ_CST);
	tk_irq_enable();
	tk_secondary_loop(cpu);
}

static long vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
	return tk_hypercall(__HYPERVISOR_vcpu_op, cmd, vcpu, (unsigned long)arg,
			    0, 0);
}

#ifndef TK_PV
static long pvh_vcpu_initialise(unsigned int cpu)
{
	struct vcpu_hvm_context ctx = { .mode = VCPU_HVM_MODE_64B };
	struct vcpu_hvm_x86_64 *r = &ctx.cpu_regs.x86_64;
	uint64_t cr0, cr4, efer;

	__asm__ __volatile__("mov %%cr0, %0" : "=r"(cr0));
	__asm__ __volatile__("mov %%cr4, %0" : "=r"(cr4));
	efer = tk_rdmsr(0xc0000080);
	r->rip = (uint64_t)(uintptr_t)tk_ap_entry64;
	r->rsp = tk_cpus[cpu].stack_top;
	r->rdi = cpu;
	r->rflags = 0x2;
	r->cr0 = cr0;
	r->cr3 = (uint64_t)(uintptr_t)tk_pml4;
	r->cr4 = cr4;
	r->efer = efer;
	return vcpu_op(VCPUOP_initialise, cpu, &ctx);
}
#endif

static int start_ap(unsigned int cpu)
{
	uint64_t end;
	long rc;

	tk_cpus[cpu].stack_top =
		(uint64_t)(uintptr_t)&tk_ap_stacks[cpu][TK_AP_STACK];
#ifdef TK_PV
	rc = tk_pv_vcpu_initialise(cpu, tk_cpus[cpu].stack_top);
#else
	rc = pvh_vcpu_initialise(cpu);
#endif
	if (rc) {
		tk_printf("# tk: VCPUOP_initialise(%u): %ld\n", cpu, rc);
		return (int)rc;
	}
	rc = vcpu_op(VCPUOP_up, cpu, NULL);
	if (rc) {
		tk_printf("# tk: VCPUOP_up(%u): %ld\n", cpu, rc);
		return (int)rc;
	}
	end = tk_now_ns() + 5000000000ULL;
	while (!__atomic_load_n(&tk_cpus[cpu].online, __ATOMIC_SEQ_CST)) {
		if (tk_now_ns() > end) {
			tk_printf("# tk: vCPU %u did not come up\n", cpu);
			return -1;
		}
		__asm__ __volatile__("pause");
	}
	return 0;
}

/* vCPU 0's own setup; before anything uses tk_cpu_id(). */
void tk_bsp_setup(void)
{
	tk_cpu_setup(0);
	tk_cpus[0].online = 1;
	tk_have_cpu = true;
}

/* Bring up every vCPU Xen gave us (at most TK_MAX_CPUS); the count up. */
int tk_smp_init(void)
{
	unsigned int cpu, nr;

	for (nr = 1; nr < TK_MAX_CPUS; nr++)
		if (vcpu_op(VCPUOP_is_up, nr, NULL) == -XEN_ENOENT)
			break;
	for (cpu = 1; cpu < nr; cpu++) {
		if (start_ap(cpu))
			break;
		tk_nr_cpus = cpu + 1;
	}
	return (int)tk_nr_cpus;
}
