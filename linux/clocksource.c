// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's clock on xenlite: a clocksource that reads Xen system time
 * through the core's pvclock (xl_clock_now(): the vCPU's vcpu_time_info
 * in shared_info, public xen.h, extrapolated with the TSC; the maximum
 * seen so far, so it never steps back between vCPUs).
 *
 * Why: an HVM guest booted with xen_nopv has no other paravirtual clock,
 * and under an emulated or unstable TSC Linux falls back to the HPET or
 * the ACPI PM timer, both emulated by Xen (xen/arch/x86/hvm/hpet.c,
 * pmtimer.c): every read a VM exit.  Timekeeping reads the clock several
 * times per timer interrupt and per clock_gettime(), so each wake-up paid
 * for a few exits more than Linux's own Xen stack, whose "xen" clocksource
 * reads pvclock (arch/x86/xen/time.c).  It also puts the kernel's time
 * on the same base as the clockevent's deadlines (Xen system time).
 *
 * Rating: above the HPET (250) and the TSC (300) when the TSC is not
 * trustworthy; below the TSC (275, as Linux's Xen clocksource does when
 * the TSC is safe, arch/x86/xen/time.c xen_tsc_safe_clocksource) when the
 * kernel has found the TSC constant, non-stop and not unstable: then the
 * TSC stays, read without an exit.
 *
 * Registered after the clockevents are up and unregistered first at
 * unload (timekeeping then switches back to the best remaining one); both
 * outside cpus_read_lock(): the switch runs stop_machine(), which takes
 * that lock itself.  clocksource=0 leaves the kernel's clock alone.
 */
#define pr_fmt(fmt) "xenlite: " fmt

#include <linux/clocksource.h>
#include <linux/preempt.h>
#include <asm/cpufeature.h>
#include <asm/tsc.h>

#include <xenlite/clockevent.h>

#include "xl-linux.h"

#define XLK_CS_RATING 400
#define XLK_CS_RATING_TSC_SAFE 275

static bool cs_registered;

/*
 * The vCPU's own vcpu_time_info: preemption off between the vCPU id and
 * the read (timekeeping may read with preemption on, ktime_get()).
 */
static u64 xlk_cs_read(struct clocksource *cs)
{
	u64 now;

	preempt_disable_notrace();
	now = xl_clock_now();
	preempt_enable_notrace();
	return now;
}

static struct clocksource xlk_cs = {
	.name = XLK_NAME,
	.rating = XLK_CS_RATING,
	.read = xlk_cs_read,
	.mask = CLOCKSOURCE_MASK(64),
	.flags = CLOCK_SOURCE_IS_CONTINUOUS,
};

static bool tsc_safe(void)
{
	return boot_cpu_has(X86_FEATURE_CONSTANT_TSC) &&
	       boot_cpu_has(X86_FEATURE_NONSTOP_TSC) && !check_tsc_unstable();
}

int xlk_clocksource_init(void)
{
	int rc;

	xlk_cs.rating = tsc_safe() ? XLK_CS_RATING_TSC_SAFE : XLK_CS_RATING;
	/* One unit = 1 ns of Xen system time. */
	rc = clocksource_register_hz(&xlk_cs, NSEC_PER_SEC);
	if (rc) {
		pr_err("clocksource_register_hz: %d\n", rc);
		return rc;
	}
	cs_registered = true;
	pr_info("clocksource '%s' (pvclock), rating %d%s\n", XLK_NAME,
		xlk_cs.rating,
		tsc_safe() ? ": below the TSC, which is safe here" : "");
	return 0;
}

void xlk_clocksource_fini(void)
{
	int rc;

	if (!cs_registered)
		return;
	rc = clocksource_unregister(&xlk_cs);
	if (rc)
		/* No other clocksource to go back to (never seen). */
		pr_err("clocksource_unregister: %d\n", rc);
	cs_registered = false;
}
