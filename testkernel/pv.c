// SPDX-License-Identifier: GPL-2.0
/*
 * The x86-64 PV flavour of the test kernel (make FLAVOUR=pv): what PVH
 * does with the CPU, PV does through Xen.
 *
 *  - start_info (public xen.h): Xen's dom0 builder (pv/dom0_build.c) or
 *    libxl's leaves its virtual address in %rsi.  It holds the machine
 *    address of shared_info, the p2m list (mfn_list), the command line,
 *    SIF_INITDOMAIN, and for a domU the console and xenstore rings.
 *  - Page tables: Xen's initial tables are used as given.  They map the
 *    image from VIRT_BASE 0 with 4 KiB pages; the one mapping we change is
 *    the page that becomes shared_info (HYPERVISOR_update_va_mapping on
 *    its existing L1 entry), so no new page-table page is needed (one
 *    would have to be made read-only first and pinned or hooked in with
 *    HYPERVISOR_mmu_update: pv/mm.c's validation refuses writable
 *    mappings of page-table pages).
 *  - Traps: HYPERVISOR_set_trap_table instead of an IDT; exceptions mask
 *    events (TI flag 4, as an interrupt gate would clear IF).
 *  - %gs: HYPERVISOR_set_segment_base(SEGBASE_GS_KERNEL) instead of the
 *    GS_BASE MSR.  The kernel stack for ring transitions:
 *    HYPERVISOR_stack_switch (the kernel never leaves kernel mode here,
 *    so Xen bounces on the current stack, create_bounce_frame's "In
 *    kernel context already").
 *  - Events: the event callback and the failsafe callback registered with
 *    CALLBACKOP_register (pv/callback.c, register_guest_callback); the
 *    vCPU's evtchn_upcall_mask is the interrupt flag (tk_irq_save below).
 *
 * Re-entry: Xen sets evtchn_upcall_mask when it bounces into the event
 * callback (test_guest_events: TBF_INTERRUPT), so the upcall runs masked
 * and cannot nest.  It returns through HYPERVISOR_iret (head-pv.S), which
 * restores the mask from the saved RFLAGS.IF inside Xen (pv/iret.c,
 * do_iret) and leaves through test_all_events: an event that arrived while
 * the upcall ran is bounced again at once, with no guest instruction
 * between the unmask and the check.  Code that unmasks on its own
 * (tk_irq_restore) has the window Linux's xen_irq_enable closes: clear the
 * mask, then look at evtchn_upcall_pending and, if set, make a hypercall
 * so Xen's exit path delivers it.
 */
#include <string.h>

#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>

#include "tk.h"

#include <xen/callback.h>
#include <xen/vcpu.h>

const char tk_flavour[] = "PV";
const char *tk_upcall_desc = "none";

static const struct start_info *tk_si;
static uint8_t tk_shinfo_va[4096] __attribute__((aligned(4096)));

/* head-pv.S */
extern const uint8_t tk_pv_trap_stubs[], tk_pv_event_entry[],
	tk_pv_failsafe_entry[], tk_pv_nmi_entry[], tk_pv_ap_entry[];
extern uint8_t tk_boot_stack_top[];

/* LDT index 1, RPL 3: no descriptor, as the domain has no LDT. */
#define TK_PV_BAD_DS 0x000fU

/* PTE bits (x86 paging); Xen adds _PAGE_USER for a 64-bit PV kernel. */
#define PTE_PRESENT 0x001UL
#define PTE_RW 0x002UL
#define PTE_ACCESSED 0x020UL
#define PTE_DIRTY 0x040UL
#define PTE_NX (1UL << 63)

/*
 * Before tk_main: remember start_info, map shared_info at tk_shinfo_va and
 * mask events on vCPU 0 (nothing may be delivered before the event
 * callback is registered: a bounce to callback address 0 crashes the
 * domain, entry.S create_bounce_frame_bad_bounce_ip).  No console yet: a
 * failure here shuts down without a word.
 */
void tk_pv_early(void *start_info)
{
	const struct start_info *si = start_info;
	long rc;

	tk_si = si;
	tk_start_info_pa = (uintptr_t)si;
	if (memcmp(si->magic, "xen-3.0-x86_64", 14))
		tk_shutdown(SHUTDOWN_crash);
	tk_have_hypercalls = true;
	rc = tk_hypercall(__HYPERVISOR_update_va_mapping,
			  (unsigned long)tk_shinfo_va,
			  (si->shared_info & ~0xfffUL) | PTE_PRESENT | PTE_RW |
				  PTE_ACCESSED | PTE_DIRTY,
			  UVMF_INVLPG | UVMF_LOCAL, 0, 0);
	if (rc)
		tk_shutdown(SHUTDOWN_crash);
	tk_shinfo = (struct shared_info *)tk_shinfo_va;
	xl_write8(&tk_shinfo->vcpu_info[0].evtchn_upcall_mask, 1);
}

/* Xen filled the page from XEN_ELFNOTE_HYPERCALL_PAGE: "push %rcx". */
int tk_hypercall_init(void)
{
	return tk_hypercall_page[0] == 0x51 ? 0 : -1;
}

bool tk_hypercall_is_vmmcall(void)
{
	return false;
}

int tk_shinfo_init(void)
{
	return tk_shinfo ? 0 : -1;
}

const char *tk_boot_cmdline(void)
{
	return tk_si ? (const char *)tk_si->cmd_line : "";
}

bool tk_boot_initdomain(bool *valid)
{
	*valid = tk_si != NULL;
	return tk_si && (tk_si->flags & SIF_INITDOMAIN);
}

/*
 * A domU's rings: start_info gives machine frames (console.domU.mfn,
 * store_mfn; the builder also maps them somewhere in the initial tables,
 * at a pfn we would have to find through the M2P).  Each gets a page of
 * ours, whose L1 entry is pointed at the frame once.
 */
long tk_boot_ring(enum tk_ring which, void **va, uint32_t *port)
{
	static uint8_t ring_va[2][4096] __attribute__((aligned(4096)));
	static bool mapped[2];
	uint64_t mfn;
	long rc;

	if (!tk_si || (tk_si->flags & SIF_INITDOMAIN))
		return -XEN_ENODEV; /* dom0: console.dom0 shares the union */
	if (which == TK_RING_CONSOLE) {
		mfn = tk_si->console.domU.mfn;
		*port = tk_si->console.domU.evtchn;
	} else {
		mfn = tk_si->store_mfn;
		*port = tk_si->store_evtchn;
	}
	if (!mfn || !*port)
		return -XEN_ENODEV;
	if (!mapped[which]) {
		rc = tk_hypercall(__HYPERVISOR_update_va_mapping,
				  (unsigned long)ring_va[which],
				  (mfn << XL_PAGE_SHIFT) | PTE_PRESENT |
					  PTE_RW | PTE_ACCESSED | PTE_DIRTY,
				  UVMF_INVLPG | UVMF_LOCAL, 0, 0);
		if (rc)
			return rc;
		mapped[which] = true;
	}
	*va = ring_va[which];
	return 0;
}

/*
 * Grant frames, the PV way (os.h xl_os_grant_frames): a PV guest has no
 * p2m in Xen, so XENMEM_add_to_physmap(XENMAPSPACE_grant_table) is not for
 * it (Xen 4.17 do_memory_op() -> xatp_permission_check(), common/memory.c:
 * -EACCES unless paging_mode_translate, before xenmem_add_to_physmap()).  GNTTABOP_setup_table grows the table to nr
 * frames and reports each frame's number, which for a PV domain is the
 * machine frame itself (gnttab_setup_table() -> gnttab_shared_gfn() ->
 * mfn_to_gfn(), arch/x86/include/asm/p2m.h: the mfn when not translated).
 * The frames are Xen's pages shared with the domain (gnttab_grow_table ->
 * gnttab_create_shared_page), so the domain may map them writable: each is
 * put in the L1 entry of a page of ours with HYPERVISOR_update_va_mapping,
 * as Linux's PV gnttab_map() -> arch_gnttab_map_shared()
 * (arch/x86/xen/grant-table.c: set_pte_at(mfn_pte(frames[i]))) and
 * Mini-OS's arch_init_gnttab() (arch/x86/mm.c: map_frames) do.  The pages
 * stay at the same addresses for the domain's life; a later call with the
 * same frames leaves their entries as they are, one after a restore (new
 * machine frames, xl_gnttab_resume()) maps the new ones.
 *
 * The flush: UVMF_INVLPG | UVMF_ALL, every vCPU of the domain (Xen 4.17
 * do_update_va_mapping(), arch/x86/mm.c: d->dirty_cpumask), not only this
 * one: xl_gnttab_init() may run with the other vCPUs up, and one of them
 * may hold the .bss page's old translation.  Not executable (NX), as
 * Linux's PAGE_KERNEL: allowed in an L1 entry only if the CPU has NX
 * (arch_init_memory(): base_disallow_mask, _PAGE_NX is 0 without it).
 */
static uint64_t tk_pv_nx(void)
{
	uint32_t a, b, c, d;

	tk_cpuid(0x80000000U, 0, &a, &b, &c, &d);
	if (a < 0x80000001U)
		return 0;
	tk_cpuid(0x80000001U, 0, &a, &b, &c, &d);
	return (d & (1U << 20)) ? PTE_NX : 0; /* CPUID.80000001H:EDX.NX */
}

int tk_pv_grant_frames(unsigned int nr, uint64_t *mfns, void **va)
{
	static uint8_t gnt_va[XL_GNTTAB_MAX_FRAMES][4096]
		__attribute__((aligned(4096)));
	static uint64_t mapped[XL_GNTTAB_MAX_FRAMES]; /* mfn there, 0: none */
	xen_pfn_t frames[XL_GNTTAB_MAX_FRAMES];
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = nr };
	unsigned int i;
	long rc;

	if (!nr || nr > XL_GNTTAB_MAX_FRAMES)
		return -XEN_EINVAL;
	set_xen_guest_handle(st.frame_list, frames);
	rc = tk_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table,
			  (unsigned long)&st, 1, 0, 0);
	if (rc)
		return (int)rc;
	if (st.status != GNTST_okay)
		return -XEN_EINVAL;
	for (i = 0; i < nr; i++) {
		if (mapped[i] != frames[i]) {
			rc = tk_hypercall(__HYPERVISOR_update_va_mapping,
					  (unsigned long)gnt_va[i],
					  (frames[i] << XL_PAGE_SHIFT) |
						  PTE_PRESENT | PTE_RW |
						  PTE_ACCESSED | PTE_DIRTY |
						  tk_pv_nx(),
					  UVMF_INVLPG | UVMF_ALL, 0, 0);
			if (rc)
				return (int)rc;
			mapped[i] = frames[i];
		}
		mfns[i] = frames[i];
		va[i] = gnt_va[i];
	}
	return XL_OS_GRANT_FRAMES_MAPPED;
}

uint64_t tk_pv_pfn_to_mfn(uint64_t pfn)
{
	const unsigned long *p2m = (const unsigned long *)tk_si->mfn_list;

	return pfn < tk_si->nr_pages ? p2m[pfn] : ~0ULL;
}

/* --- the interrupt flag: evtchn_upcall_mask ------------------------------------ */

static struct vcpu_info *this_vcpu_info(void)
{
	if (!tk_shinfo)
		return NULL;
	return &tk_shinfo->vcpu_info[tk_have_cpu ? tk_cpu_id() : 0];
}

/*
 * Linux's xen_save_fl / xen_irq_disable (arch/x86/xen/irq.c): the mask is
 * a byte only this vCPU and Xen (on delivery, on SCHEDOP_block, in iret)
 * write; the compiler barriers keep the masked section's accesses inside.
 */
unsigned long tk_irq_save(void)
{
	struct vcpu_info *vi = this_vcpu_info();
	uint8_t was;

	if (!vi)
		return 0;
	was = xl_read8(&vi->evtchn_upcall_mask);
	xl_write8(&vi->evtchn_upcall_mask, 1);
	__asm__ __volatile__("" ::: "memory");
	return was ? 0 : X86_EFLAGS_IF;
}

/*
 * Unmask, then check for an event that became pending while masked: Xen
 * delivers only on its exit path (test_guest_events), so a pending upcall
 * needs a trip through Xen; any hypercall will do (Linux's
 * xen_force_evtchn_callback uses xen_version, as here).  No fence between
 * the store and the load: should Xen set pending on another pCPU after our
 * load, it kicks this vCPU (vcpu_mark_events_pending -> vcpu_kick), whose
 * return to the guest sees the mask clear and delivers.
 */
void tk_irq_enable(void)
{
	struct vcpu_info *vi = this_vcpu_info();

	if (!vi)
		return;
	__asm__ __volatile__("" ::: "memory");
	xl_write8(&vi->evtchn_upcall_mask, 0);
	__asm__ __volatile__("" ::: "memory");
	if (xl_read8(&vi->evtchn_upcall_pending))
		tk_hypercall(__HYPERVISOR_xen_version, 0, 0, 0, 0, 0);
}

void tk_irq_restore(unsigned long f)
{
	if (f & X86_EFLAGS_IF)
		tk_irq_enable();
}

/* --- traps, callbacks, the kernel stack, %gs --------------------------------------- */

static struct trap_info tk_traps[33];

void tk_idt_init(void)
{
	unsigned int v;

	for (v = 0; v < 32; v++) {
		tk_traps[v] = (struct trap_info){
			.vector = v,
			/* 4: mask events on entry; int3/into callable (DPL 3). */
			.flags = 4 | ((v == 3 || v == 4) ? 3 : 0),
			.cs = FLAT_KERNEL_CS,
			.address = (unsigned long)&tk_pv_trap_stubs[v * 16],
		};
	}
	tk_traps[32] = (struct trap_info){ 0 }; /* address 0 ends the table */
}

void tk_idt_load(void)
{
	long rc = tk_hypercall(__HYPERVISOR_set_trap_table,
			       (unsigned long)tk_traps, 0, 0, 0, 0);

	if (rc)
		tk_shutdown(SHUTDOWN_crash);
}

static long register_callback(uint16_t type, uint16_t flags, const void *fn)
{
	struct callback_register cb = {
		.type = type,
		.flags = flags,
		.address = (unsigned long)fn,
	};

	return tk_hypercall(__HYPERVISOR_callback_op, CALLBACKOP_register,
			    (unsigned long)&cb, 0, 0, 0);
}

/*
 * Per vCPU: trap table, %gs base, kernel stack and the failsafe callback
 * (the event callback comes with tk_upcall_setup, as PVH's vector).  All
 * are per-vCPU state in Xen (arch.pv.trap_ctxt, gs_base_kernel, kernel_sp,
 * failsafe_callback_eip).
 */
void tk_pv_cpu_setup(unsigned int cpu, uint64_t stack_top)
{
	long rc;

	tk_idt_load();
	rc = tk_hypercall(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL,
			  (unsigned long)&tk_cpus[cpu], 0, 0, 0);
	if (rc)
		tk_shutdown(SHUTDOWN_crash);
	if (!stack_top)
		stack_top = (uintptr_t)tk_boot_stack_top;
	rc = tk_hypercall(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, stack_top,
			  0, 0, 0);
	if (rc)
		tk_shutdown(SHUTDOWN_crash);
	rc = register_callback(CALLBACKTYPE_failsafe, CALLBACKF_mask_events,
			       tk_pv_failsafe_entry);
	if (!rc)
		rc = register_callback(CALLBACKTYPE_nmi, 0, tk_pv_nmi_entry);
	if (rc)
		tk_shutdown(SHUTDOWN_crash);
}

/*
 * A secondary vCPU, by PV rules (arch_set_info_guest, xen/arch/x86/
 * domain.c): in kernel mode (VGCF_in_kernel) on our page tables (CR3: the
 * machine frame of start_info's pt_base), on FLAT_KERNEL_CS/SS, its %rsp
 * and %rdi in user_regs, the kernel stack for ring changes, the %gs base,
 * the trap table and the callbacks in the context itself.  Its
 * evtchn_upcall_mask is set first: it starts with events masked, as
 * vCPU 0 (tk_pv_early).
 */
long tk_pv_vcpu_initialise(unsigned int cpu, uint64_t stack_top)
{
	static struct vcpu_guest_context ctx;
	unsigned int v;

	memset(&ctx, 0, sizeof(ctx));
	ctx.flags = VGCF_in_kernel;
	ctx.user_regs.rip = (uintptr_t)tk_pv_ap_entry;
	ctx.user_regs.rsp = stack_top;
	ctx.user_regs.rdi = cpu;
	ctx.user_regs.cs = FLAT_KERNEL_CS;
	ctx.user_regs.ss = FLAT_KERNEL_SS;
	ctx.user_regs.rflags = X86_EFLAGS_IF | 0x2;
	for (v = 0; v < 32; v++)
		ctx.trap_ctxt[v] = tk_traps[v];
	ctx.kernel_ss = FLAT_KERNEL_SS;
	ctx.kernel_sp = stack_top;
	ctx.ctrlreg[3] = tk_pv_pfn_to_mfn(tk_si->pt_base >> XL_PAGE_SHIFT)
			 << XL_PAGE_SHIFT;
	ctx.event_callback_eip = (uintptr_t)tk_pv_event_entry;
	ctx.failsafe_callback_eip = (uintptr_t)tk_pv_failsafe_entry;
	ctx.gs_base_kernel = (uintptr_t)&tk_cpus[cpu];
	if (cpu == 1 && strstr(tk_boot_cmdline(), "tk_failsafe")) {
		/*
		 * The failsafe path, on purpose: a %ds Xen cannot load.
		 * arch_set_info_guest fixes up CS and SS only; the data
		 * selectors are taken as given, and load_segments
		 * (xen/arch/x86/domain.c), at the vCPU's first context
		 * switch in, faults on this one (an LDT selector, and the
		 * domain has no LDT), loads NUL instead and bounces the
		 * vCPU into the failsafe callback before its first
		 * instruction.  tk_pv_failsafe prints the frame and crashes
		 * the domain.  %gs:0 must name the vCPU by then.
		 */
		ctx.user_regs.ds = TK_PV_BAD_DS;
		tk_cpus[cpu].id = cpu;
		ctx.flags |= VGCF_failsafe_disables_events;
	}
	xl_write8(&tk_shinfo->vcpu_info[cpu].evtchn_upcall_mask, 1);
	return tk_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_initialise, cpu,
			    (unsigned long)&ctx, 0, 0);
}

/*
 * Wake a vCPU that may be blocked in SCHEDOP_block, without an event
 * channel (the tests own the port space) and without a LAPIC: mark an
 * upcall pending in its vcpu_info, then VCPUOP_send_nmi, whose vcpu_kick
 * (xen/arch/x86/domain.c, arch_do_vcpu_op) unblocks it.  The pending flag
 * closes the window the NMI alone leaves: should the NMI land before the
 * target reaches SCHEDOP_block (its handler runs whatever the event mask),
 * the block still returns at once, as Xen's vcpu_block() finds an upcall
 * pending once it has cleared the mask.  The target then takes one
 * upcall with no port pending, which the core's scan handles as empty.
 * The mailbox store that precedes this call is ordered before the flag by
 * the atomic exchange (a full barrier on x86).
 */
void tk_wake_cpu(unsigned int cpu)
{
	__atomic_exchange_n(&tk_shinfo->vcpu_info[cpu].evtchn_upcall_pending, 1,
			    __ATOMIC_SEQ_CST);
	tk_hypercall(__HYPERVISOR_vcpu_op, VCPUOP_send_nmi, cpu, 0, 0, 0);
}

long tk_upcall_setup(void)
{
	long rc = register_callback(CALLBACKTYPE_event, 0, tk_pv_event_entry);

	if (rc)
		tk_panic("CALLBACKOP_register(CALLBACKTYPE_event): %ld", rc);
	tk_upcall_desc = "PV event callback (CALLBACKOP_register)";
	return rc;
}

uint64_t tk_fault_cr2(void)
{
	struct vcpu_info *vi = this_vcpu_info();

	/* Xen copies CR2 there before bouncing a #PF (pv/traps.c). */
	return vi ? vi->arch.cr2 : 0;
}

/* head-pv.S's tk_pv_failsafe_entry frame, lowest address first. */
struct tk_pv_failsafe_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t ds, es, fs, gs;
	uint64_t rip, cs, rflags, rsp, ss;
};

void tk_pv_failsafe(struct tk_pv_failsafe_frame *f)
{
	tk_console_bust();
	tk_printf("\ntk: FATAL: failsafe callback on vCPU %u: Xen could not "
		  "load a segment selector (ds %#llx es %#llx fs %#llx gs "
		  "%#llx)\n",
		  tk_cpu_id(), (unsigned long long)f->ds,
		  (unsigned long long)f->es, (unsigned long long)f->fs,
		  (unsigned long long)f->gs);
	/* Bits 32-39 of the CS slot: evtchn_upcall_mask before the bounce. */
	tk_printf("RIP %04llx:%016llx RFLAGS %016llx RSP %04llx:%016llx "
		  "upcall mask %llu\n",
		  (unsigned long long)(f->cs & 0xffff),
		  (unsigned long long)f->rip, (unsigned long long)f->rflags,
		  (unsigned long long)f->ss, (unsigned long long)f->rsp,
		  (unsigned long long)((f->cs >> 32) & 0xff));
	tk_printf("RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n",
		  (unsigned long long)f->rax, (unsigned long long)f->rbx,
		  (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	tk_printf("Bail out! test kernel crashed\n");
	tk_shutdown(SHUTDOWN_crash);
}

/* --- no local APIC ------------------------------------------------------------------ */

/*
 * PV has no LAPIC.  The wake IPI is tk_wake_cpu above; the runner's
 * per-test watchdog (tk_lapic_timer) is Xen's domain watchdog instead:
 * SCHEDOP_watchdog (common/sched/core.c, domain_watchdog) arms a timer
 * that shuts the domain down with SHUTDOWN_watchdog ("Watchdog timer fired
 * for domain N" on Xen's console) unless poked or destroyed first.  Xen
 * counts whole seconds and the domain dies without our register dump
 * (tk_watchdog_fired never runs): the TAP stops after the last test that
 * finished, and tools/xen-run reports the watchdog.
 */
static uint32_t tk_watchdog_id; /* 0: none armed */

void tk_lapic_timer(uint64_t ns)
{
	struct sched_watchdog wd = { .id = tk_watchdog_id };
	long rc;

	if (!ns && !tk_watchdog_id)
		return;
	/* Round up: never before the runner's deadline. */
	wd.timeout = ns ? (uint32_t)((ns + 999999999ULL) / 1000000000ULL) : 0;
	rc = tk_hypercall(__HYPERVISOR_sched_op, SCHEDOP_watchdog,
			  (unsigned long)&wd, 0, 0, 0);
	if (!ns)
		tk_watchdog_id = 0; /* destroyed */
	else if (!tk_watchdog_id && rc > 0)
		tk_watchdog_id = (uint32_t)rc;
	else if (rc < 0)
		tk_printf("# tk: SCHEDOP_watchdog(%u, %u s): %ld\n", wd.id,
			  wd.timeout, rc);
}
void tk_lapic_init(void)
{
}

uint32_t tk_lapic_id(void)
{
	return tk_have_cpu ? tk_cpu_id() : 0;
}

void tk_lapic_eoi(void)
{
}

void tk_lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	tk_panic("no LAPIC IPI on PV (vCPU %u, vector %#x)", apic_id, vector);
}
