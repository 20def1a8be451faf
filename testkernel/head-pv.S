/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test kernel entry points, the x86-64 PV flavour (make FLAVOUR=pv).
 *
 * PV boot (Xen's public xen.h "Start-of-day memory layout", and the dom0
 * builder xen/arch/x86/pv/dom0_build.c, dom0_construct_pv): Xen loads the
 * image at its ELF virtual addresses, VIRT_BASE 0 (so a virtual address is
 * also the pseudo-physical one, pfn = va >> 12), builds the initial page
 * tables mapping [VIRT_BASE, v_end) (the image, the p2m list, start_info,
 * the page tables themselves read-only, a boot stack), fills the hypercall
 * page named by XEN_ELFNOTE_HYPERCALL_PAGE and enters XEN_ELFNOTE_ENTRY in
 * 64-bit mode on FLAT_KERNEL_CS with %rsi = start_info's virtual address.
 * The guest kernel runs in ring 3: no cli/sti/hlt, no IDT, no CR or MSR
 * access; Xen's hypercalls stand in for each.
 *
 * Traps come through Xen's bounce frame on the guest stack
 * (xen/arch/x86/x86_64/entry.S, create_bounce_frame):
 *     RCX, R11, [ERROR CODE,] RIP, CS, RFLAGS, RSP, SS
 * with the vCPU's evtchn_upcall_mask as it was saved in CS bits 32-39 and
 * folded into RFLAGS.IF (IF = !mask).  Each stub pops RCX and R11, which
 * leaves the frame the CPU would have built, and joins the common path of
 * the PVH kernel (a struct tk_regs, fxsave, tk_trap()).  The way back is
 * HYPERVISOR_iret, never iretq: Xen's iret stub pushes RCX, R11, RAX over
 * our flags word (pv_ring3_init_hypercall_page, xen/arch/x86/pv/
 * hypercall.c) and do_iret (pv/iret.c) sets evtchn_upcall_mask from the
 * frame's RFLAGS.IF, then leaves through test_all_events, which delivers
 * an event that is pending by then.  An iretq from ring 3 would leave the
 * mask set (the CPU ignores IF at CPL 3).
 */
#include <xen/elfnote.h>

#include "tk-asm.inc"
#include <xen/features.h>
#include <xen/xen.h>

/* tk.h: the "vectors" tk_trap() sees for the callbacks */
#define TK_VEC_WAKE 0xf0
#define TK_VEC_UPCALL 0xf3

/* --- Xen's PV ELF notes (public elfnote.h; libelf-dominfo.c reads them) --- */

#define ELFNOTE(type, desc)		\
	.pushsection .note.Xen, "a", @note;	\
	.balign 4;				\
	.long 2f - 1f;				\
	.long 4f - 3f;				\
	.long type;				\
1:	.asciz "Xen";				\
2:	.balign 4;				\
3:	desc;					\
4:	.balign 4;				\
	.popsection

	/* elf_xen_note_check: loader "generic" and "xen-3.0" are required. */
	ELFNOTE(XEN_ELFNOTE_GUEST_OS, .asciz "xenlite-testkernel")
	ELFNOTE(XEN_ELFNOTE_LOADER, .asciz "generic")
	ELFNOTE(XEN_ELFNOTE_XEN_VERSION, .asciz "xen-3.0")
	ELFNOTE(XEN_ELFNOTE_VIRT_BASE, .quad 0)
	ELFNOTE(XEN_ELFNOTE_PADDR_OFFSET, .quad 0)
	ELFNOTE(XEN_ELFNOTE_ENTRY, .quad tk_pv_entry)
	ELFNOTE(XEN_ELFNOTE_HYPERCALL_PAGE, .quad tk_hypercall_page)
	/* 64-bit only: no PAE_MODE note is needed (it selects 32-bit PAE). */
	/*
	 * The features, as the bitmap form of XEN_ELFNOTE_FEATURES: none
	 * required (we need neither writable page tables nor auto-translation),
	 * XENFEAT_dom0 supported.  When this note is present, dom0_construct_pv
	 * refuses a kernel that does not claim XENFEAT_dom0 ("Kernel does not
	 * support Dom0 operation").
	 */
	ELFNOTE(XEN_ELFNOTE_SUPPORTED_FEATURES, .long (1 << XENFEAT_dom0))

/* --- entry ------------------------------------------------------------------ */

	.section .text.entry, "ax"
	.code64
	.globl tk_pv_entry
tk_pv_entry:
	cld
	/* Xen's boot stack is one page: ours is bigger. */
	leaq	tk_boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	movq	%rsi, %rdi
	call	tk_pv_early
	movq	tk_start_info_pa(%rip), %rdi
	call	tk_main
1:	jmp	1b	/* tk_main does not return */

/*
 * Secondary vCPUs: VCPUOP_initialise (pv.c) starts them here in kernel
 * mode on our page tables, with %rsp and %rdi (the vCPU number) set.
 */
	.globl tk_pv_ap_entry
tk_pv_ap_entry:
	cld
	xorl	%ebp, %ebp
	call	tk_ap_main
2:	jmp	2b

/* --- the hypercall page: Xen writes its stubs here --------------------------- */

	.balign 4096
	.globl tk_hypercall_page
tk_hypercall_page:
	.skip 4096

/* --- exception stubs, the event and failsafe callbacks ------------------------ */

/* Vectors where the CPU (and so Xen's bounce frame) has an error code. */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
		    (v) == 21 || (v) == 29 || (v) == 30)

	.balign 16
	.globl tk_pv_trap_stubs
tk_pv_trap_stubs:
	vec = 0
	.rept 32
	.balign 16
	popq	%rcx
	popq	%r11
	.if !HAS_ERR(vec)
	pushq	$0
	.endif
	pushq	$vec
	jmp	tk_pv_trap_common
	vec = vec + 1
	.endr

/*
 * CALLBACKTYPE_event: the same frame with no error code.  Xen set
 * evtchn_upcall_mask on the way in (TBF_INTERRUPT in test_guest_events),
 * so this cannot nest; the saved RFLAGS.IF says whether the interrupted
 * code had events enabled, and HYPERVISOR_iret restores exactly that.
 */
	.balign 16
	.globl tk_pv_event_entry
tk_pv_event_entry:
	popq	%rcx
	popq	%r11
	pushq	$0
	pushq	$TK_VEC_UPCALL
	jmp	tk_pv_trap_common

/*
 * CALLBACKTYPE_nmi: the wake of a vCPU blocked in SCHEDOP_block, sent by
 * VCPUOP_send_nmi (pv.c, tk_wake_cpu).  An exception-style frame with no
 * error code; Xen masks further NMIs until HYPERVISOR_iret
 * (async_exception_mask, pv/iret.c) and, with the TI flag that
 * register_guest_nmi_callback sets, events too.
 */
	.balign 16
	.globl tk_pv_nmi_entry
tk_pv_nmi_entry:
	popq	%rcx
	popq	%r11
	pushq	$0
	pushq	$TK_VEC_WAKE
	jmp	tk_pv_trap_common

/*
 * CALLBACKTYPE_failsafe: Xen could not load a data segment selector we
 * left (load_segments, xen/arch/x86/domain.c).  Frame:
 *     RCX, R11, DS, ES, FS, GS, RIP, CS, RFLAGS, RSP, SS
 * Registered with CALLBACKF_mask_events.  Fatal here: tk_pv_failsafe()
 * prints the frame and shuts the domain down with SHUTDOWN_crash.
 */
	.balign 16
	.globl tk_pv_failsafe_entry
tk_pv_failsafe_entry:
	popq	%rcx
	popq	%r11
	TK_PUSH_GPRS
	movq	%rsp, %rdi
	andq	$-16, %rsp
	call	tk_pv_failsafe
2:	jmp	2b

tk_pv_trap_common:
	TK_PUSH_GPRS
	TK_CALL_TRAP
	TK_POP_GPRS
	addq	$16, %rsp	/* vector, error code */
	/*
	 * struct iret_context (public arch-x86/xen-x86_64.h): RAX, R11, RCX,
	 * flags, RIP, CS, RFLAGS, RSP, SS.  flags 0 (not VGCF_in_syscall):
	 * Xen restores R11 and RCX from the frame.  The stub pushes the
	 * three registers and does not return.
	 */
	pushq	$0
	jmp	tk_hypercall_page + __HYPERVISOR_iret * 32

/* --- data ------------------------------------------------------------------- */

	.section .data
	.balign 8
	.globl tk_start_info_pa
tk_start_info_pa:	/* the start_info's virtual (= pseudo-physical) address */
	.quad 0

	.section .bss
	.balign 16
tk_boot_stack:
	.skip 32768
	.globl tk_boot_stack_top
tk_boot_stack_top:
