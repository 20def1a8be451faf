/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test kernel entry points.
 *
 * PVH boot (Xen's docs/misc/pvh.pandoc and public arch-x86/hvm/start_info.h):
 * Xen enters XEN_ELFNOTE_PHYS32_ENTRY in 32-bit protected mode, paging
 * off, flat 4 GiB CS/DS/ES/SS, interrupts off, with %ebx holding the
 * physical address of struct hvm_start_info.  There is no stack and the
 * GDTR/IDTR contents are unspecified.  We build identity-mapped page tables
 * for the low 4 GiB (2 MiB pages), enter long mode and call tk_main().
 *
 * Secondary vCPUs are started by VCPUOP_initialise in 64-bit mode
 * (VCPU_HVM_MODE_64B: paging on with our CR3, flat cached segments, no
 * GDT/IDT); they enter tk_ap_entry64 with %rsp and %rdi set by the BSP.
 *
 * All 256 IDT vectors get a stub that builds a struct tk_regs frame and
 * calls tk_trap(); the FPU/SSE state is saved around it (fxsave), so C code
 * in interrupt context may use SSE registers freely.
 */
#include <xen/elfnote.h>

#include "tk-asm.inc"

#define X86_CR0_PE	0x00000001
#define X86_CR0_MP	0x00000002
#define X86_CR0_ET	0x00000010
#define X86_CR0_NE	0x00000020
#define X86_CR0_WP	0x00010000
#define X86_CR0_PG	0x80000000
#define X86_CR4_PAE	0x00000020
#define X86_CR4_OSFXSR	0x00000200
#define X86_CR4_OSXMMEXCPT 0x00000400
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100

#define TK_CR0 (X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | \
		X86_CR0_WP | X86_CR0_PG)
#define TK_CR4 (X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT)

#define SEL_CODE64	0x08
#define SEL_DATA	0x10

/* --- the PVH ELF note ---------------------------------------------------- */

	.section .note.Xen, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY
1:	.asciz "Xen"
2:	.balign 4
3:	.long tk_entry32
4:	.balign 4

/* --- 32-bit PVH entry ------------------------------------------------------ */

	.section .text.entry, "ax"
	.code32
	.globl tk_entry32
tk_entry32:
	cli
	cld
	movl	%ebx, tk_start_info_pa

	lgdt	tk_gdt_ptr32
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; PDn: 2 MiB pages. */
	movl	$tk_pdpt, %eax
	orl	$0x3, %eax
	movl	%eax, tk_pml4
	movl	$0, tk_pml4 + 4

	movl	$tk_pd, %eax
	orl	$0x3, %eax
	xorl	%ecx, %ecx
1:	movl	%eax, tk_pdpt(, %ecx, 8)
	movl	$0, tk_pdpt + 4(, %ecx, 8)
	addl	$0x1000, %eax
	incl	%ecx
	cmpl	$4, %ecx
	jb	1b

	/* 2048 entries: present, writable, PS; address i * 2 MiB. */
	xorl	%ecx, %ecx
2:	movl	%ecx, %eax
	shll	$21, %eax
	orl	$0x83, %eax
	movl	%eax, tk_pd(, %ecx, 8)
	movl	%ecx, %eax
	shrl	$11, %eax
	movl	%eax, tk_pd + 4(, %ecx, 8)
	incl	%ecx
	cmpl	$2048, %ecx
	jb	2b

	movl	$TK_CR4, %eax
	movl	%eax, %cr4
	movl	$tk_pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	$TK_CR0, %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $tk_entry64

	.code64
tk_entry64:
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	leaq	tk_boot_stack_top(%rip), %rsp
	xorl	%ebp, %ebp
	movl	tk_start_info_pa(%rip), %edi
	call	tk_main
3:	cli
	hlt
	jmp	3b

/* --- 64-bit secondary vCPU entry -------------------------------------------- */

	.globl tk_ap_entry64
tk_ap_entry64:
	lgdt	tk_gdt_ptr(%rip)
	movl	$SEL_DATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
	/* Reload CS from our GDT. */
	pushq	$SEL_CODE64
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:	xorl	%ebp, %ebp
	call	tk_ap_main
2:	cli
	hlt
	jmp	2b

/* --- interrupt and exception stubs ------------------------------------------- */

/* Vectors where the CPU pushes an error code. */
#define HAS_ERR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
		    (v) == 21 || (v) == 29 || (v) == 30)

	.balign 16
	.globl tk_vector_stubs
tk_vector_stubs:
	vec = 0
	.rept 256
	.balign 16
	.if !HAS_ERR(vec)
	pushq	$0
	.endif
	pushq	$vec
	jmp	tk_trap_common
	vec = vec + 1
	.endr

tk_trap_common:
	TK_PUSH_GPRS
	TK_CALL_TRAP
	TK_POP_GPRS
	addq	$16, %rsp	/* vector, error code */
	iretq

/* --- data ------------------------------------------------------------------- */

	.section .data
	.balign 8
	.globl tk_start_info_pa
tk_start_info_pa:
	.long 0
	.long 0

	.balign 16
tk_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
tk_gdt_end:

	.balign 8
tk_gdt_ptr32:
	.word tk_gdt_end - tk_gdt - 1
	.long tk_gdt
	.balign 8
tk_gdt_ptr:
	.word tk_gdt_end - tk_gdt - 1
	.quad tk_gdt

	.section .bss
	.balign 4096
	.globl tk_pml4
tk_pml4:
	.skip 4096
tk_pdpt:
	.skip 4096
tk_pd:
	.skip 4 * 4096
	.balign 16
tk_boot_stack:
	.skip 32768
tk_boot_stack_top:
