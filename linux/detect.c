// SPDX-License-Identifier: GPL-2.0
/*
 * Is Linux's own Xen support active?  This is the only object of the module
 * compiled with the kernel's <xen/...> headers (Kbuild): xen_domain() and
 * the xen_domain_type it reads live in the kernel's include/xen/xen.h, which
 * the Xen public <xen/xen.h> the other objects see would shadow.
 *
 * With xen_nopv on the command line, Linux does not take Xen as its
 * hypervisor (arch/x86/xen/enlighten_hvm.c, xen_platform_hvm returns 0),
 * xen_domain_type stays XEN_NATIVE, and the platform PCI device 5853:0001
 * is left without a driver.  Otherwise Linux owns shared_info, the event
 * channels and the callback, and a second owner would break both.
 */
#include <linux/types.h>
#include <xen/xen.h>

#include "xl-linux.h"

static const char *why;

bool xlk_linux_xen_active(void)
{
	if (xen_pv_domain())
		why = "Linux runs as a Xen PV guest";
	else if (xen_pvh_domain())
		why = "Linux runs as a Xen PVH guest";
	else if (xen_hvm_domain())
		why = "Linux's Xen HVM support is active (boot with xen_nopv)";
	else
		why = NULL;
	return why != NULL;
}

const char *xlk_linux_xen_why(void)
{
	return why ? why : "none";
}
