// SPDX-License-Identifier: GPL-2.0
/*
 * Talking to Xen: the hypercall page, the console (console_io as dom0),
 * shutdown, and the shared_info page.
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

uint8_t tk_hypercall_page[4096] __attribute__((aligned(4096)));
static bool tk_have_hypercalls;

struct shared_info *tk_shinfo;
static uint8_t tk_shinfo_page[4096] __attribute__((aligned(4096)));

long tk_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		  unsigned long a3, unsigned long a4, unsigned long a5)
{
	register unsigned long r10 __asm__("r10") = a4;
	register unsigned long r8 __asm__("r8") = a5;
	unsigned long stub = (unsigned long)tk_hypercall_page + op * 32UL;
	long ret;

	if (op >= sizeof(tk_hypercall_page) / 32)
		return -XEN_ENOSYS;
	__asm__ __volatile__("call *%[stub]"
			     : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3),
			       "+r"(r10), "+r"(r8)
			     : [stub] "r"(stub)
			     : "memory", "rcx", "r11");
	return ret;
}

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

void tk_shutdown(unsigned int reason)
{
	struct sched_shutdown sd = { .reason = reason };

	if (tk_have_hypercalls)
		tk_hypercall(__HYPERVISOR_sched_op, SCHEDOP_shutdown,
			     (unsigned long)&sd, 0, 0, 0);
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

/* --- console ------------------------------------------------------------------------ */

static struct tk_lock tk_console_lock;
static bool tk_console_busted;

/* A fatal path may interrupt a holder of the console lock: write anyway. */
void tk_console_bust(void)
{
	__atomic_store_n(&tk_console_busted, true, __ATOMIC_SEQ_CST);
}

/*
 * CONSOLEIO_write as dom0 goes straight to Xen's console (serial).  Only
 * a privileged domain may use it in a release build of Xen.  Before the
 * hypercall page exists, there is nowhere to write.
 */
static void console_raw(const char *s, size_t len)
{
	if (!tk_have_hypercalls)
		return;
	while (len) {
		long n = tk_hypercall(__HYPERVISOR_console_io, CONSOLEIO_write,
				      len, (unsigned long)s, 0, 0);

		/* 0: all written (Xen continues a long write itself). */
		if (n <= 0 || (size_t)n >= len)
			return;
		s += n;
		len -= n;
	}
}

void tk_write(const char *s, size_t len)
{
	unsigned long flags;

	if (__atomic_load_n(&tk_console_busted, __ATOMIC_RELAXED)) {
		console_raw(s, len);
		return;
	}
	flags = tk_lock_irqsave(&tk_console_lock);

	console_raw(s, len);
	tk_unlock_irqrestore(&tk_console_lock, flags);
}

void tk_vprintf(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = tk_vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	tk_write(buf, n);
}

void tk_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tk_vprintf(fmt, ap);
	va_end(ap);
}

void tk_vprint_lines(const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024], out[1400];
	size_t o = 0, plen = strlen(prefix);
	const char *p = msg;

	tk_vsnprintf(msg, sizeof(msg), fmt, ap);
	while (*p && o + plen + 2 < sizeof(out)) {
		const char *nl = strstr(p, "\n");
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > sizeof(out) - 2 - plen - o)
			n = sizeof(out) - 2 - plen - o;
		memcpy(out + o, prefix, plen);
		o += plen;
		memcpy(out + o, p, n);
		o += n;
		out[o++] = '\n';
		p += n;
		if (*p == '\n')
			p++;
	}
	tk_write(out, o);
}

void tk_panic(const char *fmt, ...)
{
	va_list ap;

	tk_console_bust();
	va_start(ap, fmt);
	tk_vprint_lines("tk: PANIC: ", fmt, ap);
	va_end(ap);
	tk_shutdown(SHUTDOWN_crash);
}

/* --- shared_info ------------------------------------------------------------------- */

/*
 * XENMEM_add_to_physmap(XENMAPSPACE_shared_info) puts the shared_info page
 * at a gfn of ours, replacing the RAM page that was there (what Linux
 * does for HVM guests with a page of its own, xen_hvm_init_shared_info).
 * virt == phys here, so the gfn is the page's address >> 12.
 */
int tk_shinfo_init(void)
{
	struct xen_add_to_physmap xatp = {
		.domid = DOMID_SELF,
		.space = XENMAPSPACE_shared_info,
		.idx = 0,
		.gpfn = (uintptr_t)tk_shinfo_page >> XL_PAGE_SHIFT,
	};
	long rc = tk_hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap,
			       (unsigned long)&xatp, 0, 0, 0);

	if (rc)
		return (int)rc;
	tk_shinfo = (struct shared_info *)tk_shinfo_page;
	return 0;
}
