// SPDX-License-Identifier: GPL-2.0
/*
 * include/xenlite/os.h for the libFuzzer harnesses: a host with no
 * hypervisor.  Every function is weak, so a harness that needs one to do
 * something (a xenstore ring, a grant table) defines its own.  Memory is
 * the C library's (ASan watches it), masking does nothing (one thread),
 * hypercalls fail with -XEN_ENOSYS, logging is silent unless FUZZ_LOG is
 * set in the environment.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <xenlite/idle.h>
#include <xenlite/os.h>
#include <xenlite/xen.h>

#define FUZZ_WEAK __attribute__((weak))

FUZZ_WEAK long xl_os_hypercall(unsigned int op, unsigned long a1,
			       unsigned long a2, unsigned long a3,
			       unsigned long a4, unsigned long a5)
{
	return -XEN_ENOSYS;
}

FUZZ_WEAK void *xl_os_alloc_page(void)
{
	return aligned_alloc(XL_PAGE_SIZE, XL_PAGE_SIZE);
}

FUZZ_WEAK void xl_os_free_page(void *page)
{
	free(page);
}

FUZZ_WEAK uint64_t xl_os_virt_to_gfn(const void *va)
{
	return (uint64_t)(uintptr_t)va >> XL_PAGE_SHIFT;
}

FUZZ_WEAK void *xl_os_zalloc(size_t size)
{
	return calloc(1, size);
}

FUZZ_WEAK void xl_os_free(void *p)
{
	free(p);
}

FUZZ_WEAK int xl_os_grant_frames(unsigned int nr, uint64_t *gfns, void **va)
{
	return -XEN_ENOSYS;
}

FUZZ_WEAK struct shared_info *xl_os_shared_info(void)
{
	return NULL;
}

FUZZ_WEAK struct vcpu_info *xl_os_vcpu_info(unsigned int cpu)
{
	return NULL;
}

FUZZ_WEAK int xl_os_xenstore_ring(void **intf, uint32_t *port)
{
	return -XEN_ENODEV;
}

FUZZ_WEAK unsigned int xl_os_vcpu_id(void)
{
	return 0;
}

FUZZ_WEAK unsigned int xl_os_nr_vcpus(void)
{
	return 1;
}

FUZZ_WEAK unsigned long xl_os_irq_save(void)
{
	return 0;
}

FUZZ_WEAK void xl_os_irq_restore(unsigned long flags)
{
}

FUZZ_WEAK void xl_os_upcall_reraise(void)
{
}

FUZZ_WEAK void xl_os_safe_halt(void)
{
}

FUZZ_WEAK long xl_os_wait(bool (*done)(void *), void *arg)
{
	(void)done;
	(void)arg;
	return -XEN_ENOSYS;
}

/* The core's waits go to the harness's xl_idle_until (its script runs
 * there); xen-idle.c, which has the real one, is not linked. */
FUZZ_WEAK unsigned long xl_wait_until(bool (*done)(void *), void *arg)
{
	return xl_idle_until(done, arg);
}

FUZZ_WEAK uint64_t xl_os_rdtsc(void)
{
	static uint64_t t;

	return t += 1000;
}

FUZZ_WEAK int xl_os_vsnprintf(char *buf, size_t size, const char *fmt,
			      va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

FUZZ_WEAK void xl_os_log(int level, const char *fmt, ...)
{
	static int on = -1;
	va_list ap;

	if (on < 0)
		on = getenv("FUZZ_LOG") != NULL;
	if (!on)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* hv/guest/xenlite_host.h's trace switch (hv-os.c is not linked). */
FUZZ_WEAK int hv_guest_trace_off;

FUZZ_WEAK void xl_os_trace(enum xl_trace_point what, uint32_t port,
			   uint32_t arg, uint64_t val)
{
}
