/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assembler macros shared by the PVH (head.S) and PV (head-pv.S) entry
 * code: the general registers saved in struct tk_regs's order (tk.h), r15
 * at the lowest address, and the call of tk_trap with the FPU state kept.
 */
#ifndef TK_ASM_H
#define TK_ASM_H

.macro TK_PUSH_GPRS
	pushq	%rax
	pushq	%rbx
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%rbp
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
.endm

.macro TK_POP_GPRS
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rbp
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rbx
	popq	%rax
.endm

/*
 * tk_trap(regs) on a 16-byte aligned stack, with 512 bytes below it for
 * the FPU/SSE state (fxsave64), which C code in the handler may change.
 */
.macro TK_CALL_TRAP
	cld
	movq	%rsp, %rdi
	movq	%rsp, %rbp
	subq	$512, %rsp
	andq	$-16, %rsp
	fxsave64 (%rsp)
	call	tk_trap
	fxrstor64 (%rsp)
	movq	%rbp, %rsp
.endm

#endif /* TK_ASM_H */
