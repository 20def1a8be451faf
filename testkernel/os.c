// SPDX-License-Identifier: GPL-2.0
/*
 * include/xenlite/os.h for the test kernel: a PVH guest on real Xen.
 *
 * Event delivery masking is the CPU's interrupt flag: the upcall is an
 * IDT vector, and Xen ignores evtchn_upcall_mask for HVM/PVH vCPUs
 * (hvm/irq.c: "Do not check the evtchn_upcall_mask.  It is not used in
 * HVM mode.").  A pending upcall is taken as soon as sti lets it in, so
 * restore needs no hypercall.  Idle is SCHEDOP_block (idle_block below) or,
 * with idle=plain|stepover, sti; hlt: the STI shadow keeps the upcall from
 * landing before hlt (where it does not, see idle_hlt), and Xen does not
 * block a vCPU with an interrupt pending (hvm_hlt).
 */
#include <stdlib.h>

#include <xenlite/gnttab.h>
#include <xenlite/xen.h>

#include "tk.h"

long xl_os_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		     unsigned long a3, unsigned long a4, unsigned long a5)
{
	return tk_hypercall(op, a1, a2, a3, a4, a5);
}

void *xl_os_alloc_page(void)
{
	return tk_alloc_pages(1);
}

void xl_os_free_page(void *page)
{
	if (page)
		tk_free_pages(page);
}

/*
 * PVH: virt == phys, the gfn is the address's frame.  PV: the frame is a
 * pseudo-physical one (VIRT_BASE 0); Xen's hypercalls of a PV guest
 * (EVTCHNOP_init_control, expand_array, VCPUOP_register_vcpu_info) take
 * machine frames, found in the p2m list Xen gave at boot (pv.c).
 */
uint64_t xl_os_virt_to_gfn(const void *va)
{
#ifdef TK_PV
	return tk_pv_pfn_to_mfn((uint64_t)(uintptr_t)va >> XL_PAGE_SHIFT);
#else
	return (uint64_t)(uintptr_t)va >> XL_PAGE_SHIFT;
#endif
}

void *xl_os_zalloc(size_t size)
{
	return calloc(1, size);
}

void xl_os_free(void *p)
{
	free(p);
}

#ifdef TK_PV
/* PV: the machine frames GNTTABOP_setup_table reports, mapped in pv.c. */
int xl_os_grant_frames(unsigned int nr, uint64_t *gfns, void **va)
{
	return tk_pv_grant_frames(nr, gfns, va);
}
#else
/*
 * PVH: grant frames go over RAM pages of ours, as Linux's HVM setup maps
 * them over a reserved range (gnttab_setup_auto_xlat_frames): the RAM page
 * at each gfn is replaced by the frame.  Taken once and kept: they stay
 * grant frames for the domain's life.
 */
int xl_os_grant_frames(unsigned int nr, uint64_t *gfns, void **va)
{
	static void *frames[XL_GNTTAB_MAX_FRAMES];
	static unsigned int nr_frames;
	unsigned int i;

	if (nr > XL_GNTTAB_MAX_FRAMES)
		return -XEN_EINVAL;
	for (; nr_frames < nr; nr_frames++) {
		frames[nr_frames] = tk_alloc_pages(1);
		if (!frames[nr_frames])
			return -XEN_ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		va[i] = frames[i];
		gfns[i] = xl_os_virt_to_gfn(frames[i]);
	}
	return 0;
}
#endif

struct shared_info *xl_os_shared_info(void)
{
	return tk_shinfo;
}

/* vcpu_info stays in shared_info: the test kernel has at most 8 vCPUs. */
struct vcpu_info *xl_os_vcpu_info(unsigned int cpu)
{
	if (!tk_shinfo || cpu >= XEN_LEGACY_MAX_VCPUS)
		return NULL;
	return &tk_shinfo->vcpu_info[cpu];
}

unsigned int xl_os_vcpu_id(void)
{
	return tk_cpu_id();
}

unsigned int xl_os_nr_vcpus(void)
{
	return tk_nr_cpus;
}

unsigned long xl_os_irq_save(void)
{
	return tk_irq_save();
}

void xl_os_irq_restore(unsigned long flags)
{
	tk_irq_restore(flags);
}

/*
 * The STI shadow should keep an interrupt from arriving between sti and
 * hlt.  Under QEMU TCG (Xen's SVM guest in QEMU's emulated SVM) it does
 * not always: measured, the timer upcall ran, its timer had fired, and the
 * vCPU then halted until an unrelated interrupt, 400 ms later or never.
 * tk_trap counts interrupts that land with RIP at this hlt, and with
 * tk_idle_step_over returns past it, as if the hlt had been woken.  That
 * is off by default: with it, 3 of 10 dom0 suite runs ended in a triple
 * fault of the guest whose dump showed Xen's own RIP, RSP and CS (e008)
 * as the guest's, i.e. the emulator's nested state went wrong, while 11
 * runs without it passed.  The tick mode ran with it (0 faults in 7 runs;
 * without it its 1 ms wake-latency loop lost wakeups) until SCHEDOP_block
 * became the default idle.
 */
bool tk_idle_step_over;

#ifndef TK_PV
static __attribute__((noinline)) void idle_hlt(void)
{
	__asm__ __volatile__("sti\n\t"
			     ".globl tk_idle_hlt\n"
			     "tk_idle_hlt:\n\t"
			     "hlt\n\t"
			     "cli" ::
				     : "memory");
}
#endif

/*
 * idle=block: SCHEDOP_block instead of hlt.  On HVM/PVH, Xen's vcpu_block()
 * looks for a deliverable interrupt after setting _VPF_blocked, and
 * hvm_local_events_need_delivery() -> hvm_interrupt_blocked()
 * (xen/arch/x86/hvm/hvm.c) calls it blocked while the guest's RFLAGS.IF is
 * clear or an STI shadow is in force.  So neither "SCHEDOP_block with
 * interrupts off" (PV's way: Xen clears evtchn_upcall_mask, which HVM
 * ignores) nor "sti; vmcall" (the vmcall sits in the shadow) may block:
 * with the event already pending, Xen puts the vCPU to sleep and kicks it
 * again only when evtchn_upcall_pending goes from 0 to 1
 * (vcpu_mark_events_pending), i.e. for the next event, if any.
 *
 * Hence "sti; nop; vmcall": the nop takes the shadow, the hypercall runs
 * with IF set and no shadow, and Xen's check is exact.  An upcall can now
 * land on the vmcall itself, after the caller's last look at its wakeup
 * condition: tk_trap moves such an interrupt (and one on the nop, should
 * the emulator not honour the shadow) past the hypercall, so the vCPU does
 * not block with its wakeup already handled.  The hypercall is inline, not
 * through the hypercall page, so the window is these two instructions; the
 * instruction is the vendor's (vmcall on Intel, vmmcall on AMD), as the
 * hypercall page Xen writes would use.  The vCPU wakes with IF set: a
 * pending upcall is taken at tk_block_end_*, before the cli.
 */
bool tk_idle_block;

#ifndef TK_PV
#define TK_BLOCK(insn, tag)                                   \
	__asm__ __volatile__("sti\n\t"                        \
			     ".globl tk_block_win_" tag "\n"  \
			     "tk_block_win_" tag ":\n\t"      \
			     "nop\n\t" insn "\n\t"            \
			     ".globl tk_block_end_" tag "\n"  \
			     "tk_block_end_" tag ":\n\t"      \
			     "cli"                            \
			     : "+a"(op), "+D"(cmd), "+S"(arg) \
			     :                                \
			     : "rdx", "r10", "r8", "memory")

static __attribute__((noinline)) void idle_block(void)
{
	/* Xen's debug builds clobber the argument registers: all listed. */
	unsigned long op = __HYPERVISOR_sched_op, cmd = SCHEDOP_block, arg = 0;

	tk_count_hypercall();
	if (tk_hypercall_is_vmmcall())
		TK_BLOCK("vmmcall", "amd");
	else
		TK_BLOCK("vmcall", "intel");
}
#endif

#ifdef TK_PV
/*
 * PV: SCHEDOP_block with events masked, as Linux's xen_safe_halt: Xen's
 * do_sched_op(SCHEDOP_block) -> vcpu_block_enable_events()
 * (xen/common/sched/core.c) clears evtchn_upcall_mask, sets _VPF_blocked,
 * and then checks local_events_need_delivery() (pending and not masked)
 * and does not block if an event is pending: an event raised after our
 * last look at the wakeup condition, before the hypercall, makes it return
 * at once.  On the way out Xen delivers the pending upcall (the mask is
 * clear now: test_all_events) before the instruction after the syscall;
 * we mask again before returning, as the contract asks.
 */
static void pv_block(void)
{
	tk_hypercall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0, 0, 0);
	tk_irq_save();
}
#endif

void xl_os_safe_halt(void)
{
#ifdef TK_PV
	pv_block();
#else
	if (tk_idle_block)
		idle_block();
	else
		idle_hlt();
#endif
}

/* No scheduler: the core idles the vCPU (xl_idle_until). */
long xl_os_wait(bool (*done)(void *), void *arg)
{
	(void)done;
	(void)arg;
	return -XEN_ENOSYS;
}

uint64_t xl_os_rdtsc(void)
{
	return tk_rdtsc();
}

/* --- logging ----------------------------------------------------------------------- */

int tk_log_level = XL_LOG_WARN;

/* lib.c's formatter, the one tk_printf() and the runner use. */
int xl_os_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return tk_vsnprintf(buf, size, fmt, ap);
}

void xl_os_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > tk_log_level)
		return;
	va_start(ap, fmt);
	tk_vprint_lines("# [xenlite] ", fmt, ap);
	va_end(ap);
}

/* --- tracing ----------------------------------------------------------------------- */

#define TK_TRACE_ENTRIES 1024 /* per vCPU, a power of two */

struct tk_trace_entry {
	uint64_t tsc;
	uint32_t what;
	uint32_t port;
	uint32_t arg;
	uint64_t val;
};

struct tk_trace_ring {
	uint64_t head;
	struct tk_trace_entry e[TK_TRACE_ENTRIES];
};

static struct tk_trace_ring tk_trace[XL_MAX_VCPUS];

/*
 * Only the vCPU itself writes its ring, with interrupts off, so an upcall
 * cannot interleave with a half-written entry.
 */
void xl_os_trace(enum xl_trace_point what, uint32_t port, uint32_t arg,
		 uint64_t val)
{
	unsigned int cpu = tk_cpu_id();
	struct tk_trace_ring *r;
	struct tk_trace_entry *e;
	unsigned long flags;

	if (cpu >= XL_MAX_VCPUS)
		return;
	r = &tk_trace[cpu];
	flags = tk_irq_save();
	e = &r->e[r->head % TK_TRACE_ENTRIES];
	e->tsc = tk_rdtsc();
	e->what = what;
	e->port = port;
	e->arg = arg;
	e->val = val;
	__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
	tk_irq_restore(flags);
}

uint64_t tk_trace_count(unsigned int cpu)
{
	return cpu < XL_MAX_VCPUS ?
		       __atomic_load_n(&tk_trace[cpu].head, __ATOMIC_ACQUIRE) :
		       0;
}

/* --- the upcall's re-raise --------------------------------------------------------- */

/*
 * upcall=percpu: the vector comes through the vLAPIC on the 0 -> 1 edge of
 * evtchn_upcall_pending only (hvm_assert_evtchn_irq -> vlapic_set_irq),
 * so the upcall sends it to itself.  tk_trap took the EOI before the
 * upcall ran, so the self-IPI waits in the IRR only until the iret sets
 * IF again, behind any higher-priority vector (the watchdog, a wake IPI).
 * The global callback vector (HVM_PARAM_CALLBACK_IRQ) needs nothing:
 * Xen injects it whenever evtchn_upcall_pending is set
 * (hvm_vcpu_has_pending_irq, callback_via_type == HVMIRQ_callback_vector).
 */
void xl_os_upcall_reraise(void)
{
	if (tk_upcall_percpu)
		tk_lapic_send_ipi(tk_cpus[tk_cpu_id()].apic_id, TK_VEC_UPCALL);
}
