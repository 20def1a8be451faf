// SPDX-License-Identifier: GPL-2.0
/*
 * Talking to Xen: the hypercall page, shutdown, and the shared_info page
 * (the console is console.c).
 *
 * Hypercall page (Xen's public arch-x86/cpuid.h and xen.h): find Xen's
 * CPUID leaves ("XenVMMXenVMM" at 0x40000000 + n * 0x100), leaf base + 2
 * gives the MSR to write the guest-physical address of a page to; Xen
 * fills it with 32-byte stubs (mov $nr, %eax; vmcall or vmmcall; ret) for
 * the CPU vendor, so the same kernel runs on Intel and AMD.  Arguments
 * go in rdi, rsi, rdx, r10, r8; the result comes back in rax.
 */
#include <string.h>

#include <xenlite/hypercall.h>

#include "tk.h"

#ifndef TK_PV /* PV: head-pv.S, filled by Xen's domain builder */
uint8_t tk_hypercall_page[4096] __attribute__((aligned(4096)));
#endif
bool tk_have_hypercalls;

/* Hypercalls made, per vCPU (the tick comparison's hypercalls/s). */
static uint64_t tk_hypercalls[XL_MAX_VCPUS];

struct shared_info *tk_shinfo;

long tk_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		  unsigned long a3, unsigned long a4, unsigned long a5)
{
	register unsigned long r10 __asm__("r10") = a4;
	register unsigned long r8 __asm__("r8") = a5;
	unsigned long stub = (unsigned long)tk_hypercall_page + op * 32UL;
	long ret;

	if (op >= sizeof(tk_hypercall_page) / 32)
		return -XEN_ENOSYS;
	tk_count_hypercall();
	__asm__ __volatile__("call *%[stub]"
			     : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3),
			       "+r"(r10), "+r"(r8)
			     : [stub] "r"(stub)
			     : "memory", "rcx", "r11");
	return ret;
}

#ifndef TK_PV /* PV: pv.c */
int tk_hypercall_init(void)
{
	uint32_t base, eax, ebx, ecx, edx;

	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		tk_cpuid(base, 0, &eax, &ebx, &ecx, &edx);
		/* "XenV" "MMXe" "nVMM" */
		if (ebx == 0x566e6558 && ecx == 0x65584d4d &&
		    edx == 0x4d4d566e && eax - base >= 2)
			break;
	}
	if (base >= 0x40010000)
		return -1;
	tk_cpuid(base + 2, 0, &eax, &ebx, &ecx, &edx);
	/* eax: number of hypercall pages, ebx: the MSR. */
	tk_wrmsr(ebx, (uint64_t)(uintptr_t)tk_hypercall_page);
	tk_have_hypercalls = true;
	return 0;
}

#endif

/* One more hypercall; counted once %gs names the vCPU (tk_bsp_setup). */
void tk_count_hypercall(void)
{
	if (tk_have_cpu)
		__atomic_fetch_add(&tk_hypercalls[tk_cpu_id() % XL_MAX_VCPUS],
				   1, __ATOMIC_RELAXED);
}

#ifndef TK_PV
/*
 * Whether Xen's stubs use vmmcall (AMD SVM) rather than vmcall (Intel
 * VMX): the bytes after stub 0's "mov $0, %eax" (b8 + imm32) are 0f 01 d9
 * or 0f 01 c1 (svm_init_hypercall_page, vmx_init_hypercall_page in
 * xen/arch/x86/hvm/svm/svm.c, vmx/vmx.c).
 */
bool tk_hypercall_is_vmmcall(void)
{
	return tk_hypercall_page[5] == 0x0f && tk_hypercall_page[6] == 0x01 &&
	       tk_hypercall_page[7] == 0xd9;
}

#endif

uint64_t tk_hypercall_count(void)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < XL_MAX_VCPUS; i++)
		n += __atomic_load_n(&tk_hypercalls[i], __ATOMIC_RELAXED);
	return n;
}

void tk_shutdown(unsigned int reason)
{
	struct sched_shutdown sd = { .reason = reason };

	/* A domU's last words are in its console ring: let them out. */
	tk_console_final();
	if (tk_have_hypercalls)
		tk_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown,
			     (unsigned long)&sd, 0, 0, 0);
	for (;;)
#ifdef TK_PV /* ring 3: cli and hlt would fault */
		__asm__ __volatile__("pause");
#else
		__asm__ __volatile__("cli; hlt");
#endif
}

#ifndef TK_PV /* PV: pv.c maps the page Xen gives in start_info */
/* --- shared_info ------------------------------------------------------------------- */

/*
 * XENMEM_add_to_physmap(XENMAPSPACE_shared_info) puts the shared_info page
 * at a gfn of ours, replacing the RAM page that was there (what Linux
 * does for HVM guests with a page of its own, xen_hvm_init_shared_info).
 * virt == phys here, so the gfn is the page's address >> 12.
 */
static uint8_t tk_shinfo_page[4096] __attribute__((aligned(4096)));

static long shinfo_map(void)
{
	struct xen_add_to_physmap xatp = {
		.domid = DOMID_SELF,
		.space = XENMAPSPACE_shared_info,
		.idx = 0,
		.gpfn = (uintptr_t)tk_shinfo_page >> XL_PAGE_SHIFT,
	};

	return tk_hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap,
			    (unsigned long)&xatp, 0, 0, 0);
}

int tk_shinfo_init(void)
{
	long rc = shinfo_map();

	if (rc)
		return (int)rc;
	tk_shinfo = (struct shared_info *)tk_shinfo_page;
	return 0;
}

/*
 * After a restore the gfn holds an ordinary RAM page (the old frame's
 * contents, saved with our memory); the new domain's shared_info is
 * mapped nowhere until added again at the same gfn (Linux:
 * xen_hvm_post_suspend() -> xen_hvm_init_shared_info()).  Xen writes the
 * new host's vcpu_time_info into it from then on.
 */
long tk_shinfo_remap(void)
{
	return shinfo_map();
}
#endif
