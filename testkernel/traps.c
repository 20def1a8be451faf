// SPDX-License-Identifier: GPL-2.0
/*
 * The IDT, trap dispatch, and the local APIC (wake IPIs between our vCPUs
 * and the per-test watchdog timer).
 *
 * Exceptions print a register dump and shut the domain down with
 * SHUTDOWN_crash (as dom0, Xen then reports "Hardware Dom0 crashed").
 *
 * The event channel upcall arrives as TK_VEC_UPCALL, registered with
 * HVM_PARAM_CALLBACK_IRQ as a vector: Xen injects it on any vCPU whose
 * vcpu_info->evtchn_upcall_pending is set, outside the local APIC, so it
 * takes no EOI (xen/arch/x86/hvm/irq.c, hvm_vcpu_has_pending_irq).  With
 * upcall=percpu it is registered per vCPU with
 * HVMOP_set_evtchn_upcall_vector instead and comes through the vLAPIC.
 *
 * The PV flavour has no IDT and no LAPIC (those parts are PVH only here):
 * pv.c sets a trap table, and its event and NMI callbacks enter tk_trap()
 * as TK_VEC_UPCALL and TK_VEC_WAKE (head-pv.S).
 */
#include <xenlite/evtchn.h>

#include "tk.h"

#ifndef TK_PV
struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

static struct idt_entry tk_idt[256] __attribute__((aligned(16)));

extern const uint8_t tk_vector_stubs[];

void tk_idt_init(void)
{
	unsigned int v;

	for (v = 0; v < 256; v++) {
		uint64_t a = (uint64_t)(uintptr_t)&tk_vector_stubs[v * 16];

		tk_idt[v] = (struct idt_entry){
			.off_lo = a & 0xffff,
			.sel = 0x08,
			.type = 0x8e, /* present, DPL 0, interrupt gate */
			.off_mid = (a >> 16) & 0xffff,
			.off_hi = a >> 32,
		};
	}
}

void tk_idt_load(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed))
	ptr = { sizeof(tk_idt) - 1, (uint64_t)(uintptr_t)tk_idt };

	__asm__ __volatile__("lidt %0" ::"m"(ptr));
}

uint64_t tk_fault_cr2(void)
{
	uint64_t cr2;

	__asm__ __volatile__("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}
#endif /* !TK_PV: PV's trap table and CR2 are in pv.c */

static const char *const exc_names[32] = {
	"#DE divide error",
	"#DB debug",
	"NMI",
	"#BP breakpoint",
	"#OF overflow",
	"#BR bound range",
	"#UD invalid opcode",
	"#NM device not available",
	"#DF double fault",
	"coprocessor",
	"#TS invalid TSS",
	"#NP segment not present",
	"#SS stack fault",
	"#GP general protection",
	"#PF page fault",
	"reserved",
	"#MF x87 FP",
	"#AC alignment check",
	"#MC machine check",
	"#XM SIMD FP",
	"#VE virtualization",
	"#CP control protection",
};

static void dump_stack(uint64_t rsp)
{
	const uint64_t *sp = (const uint64_t *)(uintptr_t)rsp;
	unsigned int i;

	/* Only inside the identity map's first 4 GiB. */
	if (rsp < 0x1000 || rsp >= 0xfffff000ULL || (rsp & 7))
		return;
	tk_printf("stack:");
	for (i = 0; i < 16 && (rsp + i * 8) < 0x100000000ULL; i++)
		tk_printf("%s %016llx", i % 4 ? "" : "\n ",
			  (unsigned long long)sp[i]);
	tk_printf("\n");
}

static void __attribute__((noreturn)) fatal_trap(struct tk_regs *r)
{
	uint64_t cr2 = tk_fault_cr2();
	const char *name = r->vector < 32 && exc_names[r->vector] ?
				   exc_names[r->vector] :
				   "unexpected vector";

	tk_console_bust();
	tk_printf("\ntk: FATAL: vector %llu (%s) error %#llx on vCPU %u\n",
		  (unsigned long long)r->vector, name,
		  (unsigned long long)r->error, tk_cpu_id());
	tk_printf("RIP %04llx:%016llx RFLAGS %016llx\n",
		  (unsigned long long)r->cs, (unsigned long long)r->rip,
		  (unsigned long long)r->rflags);
	tk_printf("RSP %04llx:%016llx CR2 %016llx\n", (unsigned long long)r->ss,
		  (unsigned long long)r->rsp, (unsigned long long)cr2);
	tk_printf("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
		  (unsigned long long)r->rax, (unsigned long long)r->rbx,
		  (unsigned long long)r->rcx, (unsigned long long)r->rdx);
	tk_printf("RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n",
		  (unsigned long long)r->rsi, (unsigned long long)r->rdi,
		  (unsigned long long)r->rbp, (unsigned long long)r->r8);
	tk_printf("R9  %016llx R10 %016llx R11 %016llx R12 %016llx\n",
		  (unsigned long long)r->r9, (unsigned long long)r->r10,
		  (unsigned long long)r->r11, (unsigned long long)r->r12);
	tk_printf("R13 %016llx R14 %016llx R15 %016llx\n",
		  (unsigned long long)r->r13, (unsigned long long)r->r14,
		  (unsigned long long)r->r15);
	dump_stack(r->rsp);
	tk_printf("Bail out! test kernel crashed\n");
	tk_shutdown(SHUTDOWN_crash);
}

/* Interrupts taken in the sti;hlt window, before the hlt (xl_os_safe_halt). */
static uint64_t tk_shadow_misses[XL_MAX_VCPUS];

uint64_t tk_idle_shadow_misses(void)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < XL_MAX_VCPUS; i++)
		n += __atomic_load_n(&tk_shadow_misses[i], __ATOMIC_RELAXED);
	return n;
}

/* Interrupts that landed in the idle=block window (skipped blocks). */
static uint64_t tk_block_skips;

uint64_t tk_idle_block_skips(void)
{
	return __atomic_load_n(&tk_block_skips, __ATOMIC_RELAXED);
}

#ifndef TK_PV
static bool in_block_window(uint64_t rip, const uint8_t *win,
			    const uint8_t *end)
{
	return rip >= (uintptr_t)win && rip < (uintptr_t)end;
}
#endif

void tk_trap(struct tk_regs *r)
{
	/*
	 * An interrupt on the idle hlt itself came before the hlt ran (a
	 * halted CPU resumes after it): return past it, or the vCPU would
	 * halt with the wakeup already handled.  hlt is one byte.  Only when
	 * asked (tk_idle_step_over, os.c says why); counted always.
	 */
	/*
	 * idle=block: an interrupt on the nop or the vmcall of the block came
	 * after the caller's last look at its wakeup condition: skip the
	 * hypercall (rax 0, as a block that returned at once), os.c says why.
	 */
#ifndef TK_PV /* PV idles in SCHEDOP_block only (os.c) */
	if (r->vector >= 32 &&
	    in_block_window(r->rip, tk_block_win_amd, tk_block_end_amd)) {
		r->rip = (uintptr_t)tk_block_end_amd;
		r->rax = 0;
		__atomic_fetch_add(&tk_block_skips, 1, __ATOMIC_RELAXED);
	}
	if (r->vector >= 32 &&
	    in_block_window(r->rip, tk_block_win_intel, tk_block_end_intel)) {
		r->rip = (uintptr_t)tk_block_end_intel;
		r->rax = 0;
		__atomic_fetch_add(&tk_block_skips, 1, __ATOMIC_RELAXED);
	}
	if (r->vector >= 32 && r->rip == (uintptr_t)tk_idle_hlt) {
		if (tk_idle_step_over)
			r->rip++;
		__atomic_fetch_add(
			&tk_shadow_misses[tk_cpu_id() % XL_MAX_VCPUS], 1,
			__ATOMIC_RELAXED);
	}
#endif
	switch (r->vector) {
	case TK_VEC_UPCALL:
		/*
		 * Per-vCPU vectors come through the LAPIC: EOI first, as
		 * Linux does; Xen raises the vector again only when
		 * evtchn_upcall_pending goes from 0 to 1, which the core's
		 * loop re-checks (hvm_assert_evtchn_irq).
		 */
		if (tk_upcall_percpu)
			tk_lapic_eoi();
		xl_evtchn_upcall();
		return;
	case TK_VEC_WAKE:
		tk_lapic_eoi();
		return;
	case TK_VEC_WATCHDOG:
		tk_lapic_eoi();
		tk_watchdog_fired(r);
		return;
	case TK_VEC_SPURIOUS:
		return;
	}
	if (r->vector < 32)
		fatal_trap(r);
	/* Some other external interrupt: note it and carry on. */
	tk_printf("# tk: unexpected interrupt vector %llu on vCPU %u\n",
		  (unsigned long long)r->vector, tk_cpu_id());
	tk_lapic_eoi();
}

#ifndef TK_PV /* PV has no local APIC: pv.c */
/* --- the local APIC ------------------------------------------------------------------ */

/*
 * x2APIC when the CPU offers it (MSR access, no MMIO mapping needed),
 * else xAPIC MMIO at the default base (the identity map covers it).
 * Xen emulates the LAPIC for PVH guests (vlapic).
 */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_EXTD (1ULL << 10)
#define APIC_BASE_ENABLE (1ULL << 11)
#define XAPIC_MMIO 0xfee00000UL

#define APIC_ID 0x02
#define APIC_EOI 0x0b
#define APIC_SVR 0x0f
#define APIC_ICR 0x30
#define APIC_ICR2 0x31
#define APIC_LVTT 0x32
#define APIC_TMICT 0x38
#define APIC_TDCR 0x3e

static bool tk_x2apic;

static uint32_t apic_read(unsigned int reg)
{
	if (tk_x2apic)
		return (uint32_t)tk_rdmsr(0x800 + reg);
	return *(volatile uint32_t *)(XAPIC_MMIO + reg * 16);
}

static void apic_write(unsigned int reg, uint32_t v)
{
	if (tk_x2apic)
		tk_wrmsr(0x800 + reg, v);
	else
		*(volatile uint32_t *)(XAPIC_MMIO + reg * 16) = v;
}

void tk_lapic_init(void)
{
	uint32_t a, b, c, d;
	uint64_t base = tk_rdmsr(MSR_APIC_BASE);

	tk_cpuid(1, 0, &a, &b, &c, &d);
	tk_x2apic = c & (1U << 21);
	base |= APIC_BASE_ENABLE;
	if (tk_x2apic)
		base |= APIC_BASE_EXTD;
	tk_wrmsr(MSR_APIC_BASE, base);
	/* Software enable, spurious vector. */
	apic_write(APIC_SVR, 0x100 | TK_VEC_SPURIOUS);
	/* Timer masked until the watchdog arms it. */
	apic_write(APIC_LVTT, 0x10000 | TK_VEC_WATCHDOG);
}

uint32_t tk_lapic_id(void)
{
	uint32_t id = apic_read(APIC_ID);

	return tk_x2apic ? id : id >> 24;
}

void tk_lapic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

/* The runner's poke: TK_VEC_WAKE ends a halt or a block. */
void tk_wake_cpu(unsigned int cpu)
{
	tk_lapic_send_ipi(tk_cpus[cpu].apic_id, TK_VEC_WAKE);
}

void tk_lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	if (tk_x2apic) {
		tk_wrmsr(0x800 + APIC_ICR, ((uint64_t)apic_id << 32) | vector);
		return;
	}
	apic_write(APIC_ICR2, apic_id << 24);
	apic_write(APIC_ICR, vector);
}

/*
 * Xen's vlapic counts at 100 MHz (APIC_BUS_CYCLE_NS 10, asm/hvm/vlapic.h);
 * with divide-by-128 a tick is 1.28 us and the 32-bit count reaches about
 * 5,500 s.  Accuracy does not matter: the watchdog checks the deadline.
 */
void tk_lapic_timer(uint64_t ns)
{
	uint64_t count = ns / 1280;

	if (count > 0xffffffffULL)
		count = 0xffffffffULL;
	apic_write(APIC_TMICT, 0);
	if (!ns)
		return;
	apic_write(APIC_TDCR, 0xa);		/* divide by 128 */
	apic_write(APIC_LVTT, TK_VEC_WATCHDOG); /* one-shot, unmasked */
	apic_write(APIC_TMICT, count ? (uint32_t)count : 1);
}
#endif /* !TK_PV */
