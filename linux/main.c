// SPDX-License-Identifier: GPL-2.0
/*
 * xenlite.ko: the xenlite core as the event, timer and idle stack of an HVM
 * domU whose kernel was booted with xen_nopv.
 *
 * Load order (each step undone on failure, in reverse, and on unload):
 *   1. refuse if Linux's own Xen support is active (detect.c), if CPUID
 *      shows no Xen (bare metal, another hypervisor), or if the Xen
 *      platform PCI device 5853:0001 is missing or has a driver; nothing
 *      is changed in these cases;
 *   2. bind the platform device, map shared_info at the first page of its
 *      MMIO BAR (XENMEM_add_to_physmap, XENMAPSPACE_shared_info: the page
 *      that was there is replaced, public memory.h; it is what Linux's
 *      platform-pci does with grant frames, drivers/xen/platform-pci.c);
 *      later pages of the BAR are left for grant frames;
 *   3. event channels (FIFO, 2-level fallback), the upcall (upcall.c), the
 *      clockevent and idle state (clock.c), debugfs.
 *
 * The device table is not exported (no MODULE_DEVICE_TABLE): the module
 * is loaded by hand, never auto-loaded next to Linux's own Xen support.
 */
#define pr_fmt(fmt) "xenlite: " fmt

#include <linux/cpu.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>

#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/hypercall.h>

#include "xl-linux.h"

#define XEN_PLATFORM_VENDOR 0x5853
#define XEN_PLATFORM_DEVICE 0x0001
#define XEN_PLATFORM_MMIO_BAR 1

static unsigned int periodic_hz;
module_param(periodic_hz, uint, 0444);
MODULE_PARM_DESC(
	periodic_hz,
	"0: singleshot (tickless) clockevent; 1..1000: Xen periodic timer at this rate");

static bool upcall_vector = true;
module_param(upcall_vector, bool, 0444);
MODULE_PARM_DESC(
	upcall_vector,
	"use per-vCPU upcall vectors when Xen offers them (else the platform INTx)");

static bool force_2level;
module_param(force_2level, bool, 0444);
MODULE_PARM_DESC(force_2level, "use the 2-level event ABI even if FIFO works");

static bool idle = true;
module_param(idle, bool, 0444);
MODULE_PARM_DESC(idle, "register the XENBLOCK cpuidle state");

static bool clocksource = true;
module_param(clocksource, bool, 0444);
MODULE_PARM_DESC(
	clocksource,
	"register the pvclock clocksource 'xenlite' (the kernel's clock)");

static bool blk = true;
module_param(blk, bool, 0444);
MODULE_PARM_DESC(blk, "block devices /dev/xlblkN for the guest's vbds");

phys_addr_t xlk_bar_start;
resource_size_t xlk_bar_len;

static struct {
	struct pci_dev *pdev;
	phys_addr_t shinfo_phys;
	bool shinfo_mapped;
	bool evtchn_up;
	bool upcall_up;
	bool clock_up;
	bool debugfs_up;
	bool blk_up;
	int probe_rc;
	bool probed;
} xlk;

static int shinfo_map(struct pci_dev *pdev)
{
	struct xen_add_to_physmap xatp = {
		.domid = DOMID_SELF,
		.space = XENMAPSPACE_shared_info,
		.idx = 0,
	};
	resource_size_t start = pci_resource_start(pdev, XEN_PLATFORM_MMIO_BAR);
	resource_size_t len = pci_resource_len(pdev, XEN_PLATFORM_MMIO_BAR);
	int rc;

	if (!(pci_resource_flags(pdev, XEN_PLATFORM_MMIO_BAR) &
	      IORESOURCE_MEM) ||
	    !start || len < PAGE_SIZE) {
		pci_err(pdev, "BAR %d is not an MMIO BAR of at least a page\n",
			XEN_PLATFORM_MMIO_BAR);
		return -ENODEV;
	}
	xatp.gpfn = PFN_DOWN(start);
	rc = (int)xl_hc_memory_op(XENMEM_add_to_physmap, &xatp);
	if (rc) {
		pci_err(pdev,
			"XENMEM_add_to_physmap(shared_info, gfn %#llx): %d\n",
			(unsigned long long)xatp.gpfn, rc);
		return -EIO;
	}
	xlk.shinfo_mapped = true;
	xlk.shinfo_phys = start;
	xlk_bar_start = start;
	xlk_bar_len = len;
	/* RAM now (Xen's own page), not device memory: a cached mapping. */
	xlk_shinfo = memremap(start, PAGE_SIZE, MEMREMAP_WB);
	if (!xlk_shinfo)
		return -ENOMEM;
	pci_info(pdev, "shared_info at gfn %#llx (BAR %d)\n",
		 (unsigned long long)xatp.gpfn, XEN_PLATFORM_MMIO_BAR);
	return 0;
}

static void shinfo_unmap(void)
{
	struct xen_remove_from_physmap xrfp = {
		.domid = DOMID_SELF,
		.gpfn = PFN_DOWN(xlk.shinfo_phys),
	};
	int rc;

	if (xlk_shinfo)
		memunmap(xlk_shinfo);
	xlk_shinfo = NULL;
	if (!xlk.shinfo_mapped)
		return;
	/* Give the BAR page back to the device model's MMIO range. */
	rc = (int)xl_hc_memory_op(XENMEM_remove_from_physmap, &xrfp);
	if (rc)
		pr_warn("XENMEM_remove_from_physmap(shared_info): %d\n", rc);
	xlk.shinfo_mapped = false;
}

static void teardown(void)
{
	if (xlk.blk_up)
		xlk_blk_fini();
	xlk.blk_up = false;
	if (xlk.debugfs_up)
		xlk_debugfs_fini();
	xlk.debugfs_up = false;
	if (xlk.clock_up)
		xlk_clock_fini();
	xlk.clock_up = false;
	/* Every port closed and EVTCHNOP_reset: Xen raises nothing more. */
	if (xlk.evtchn_up)
		xl_evtchn_fini();
	xlk.evtchn_up = false;
	if (xlk.upcall_up)
		xlk_upcall_fini();
	xlk.upcall_up = false;
	shinfo_unmap();
}

static int setup(struct pci_dev *pdev)
{
	struct xl_evtchn_config ecfg = {
		.nr_vcpus = xl_os_nr_vcpus(),
		.force_2level = force_2level,
	};
	int rc;

	rc = shinfo_map(pdev);
	if (rc)
		return rc;
	rc = xl_evtchn_init(&ecfg);
	if (rc) {
		pr_err("event channels: %d\n", rc);
		return -EIO;
	}
	xlk.evtchn_up = true;
	pr_info("event channels: %s ABI, %u ports, %u vCPUs\n",
		xl_evtchn_abi_name(), xl_evtchn_max_ports(), ecfg.nr_vcpus);
	rc = xlk_upcall_init(pdev, upcall_vector);
	if (rc)
		return rc;
	xlk.upcall_up = true;
	rc = xlk_clock_init(periodic_hz, idle);
	if (rc)
		return rc;
	xlk.clock_up = true;
	rc = xlk_debugfs_init();
	if (rc)
		return rc;
	xlk.debugfs_up = true;
	if (blk) {
		rc = xlk_blk_init();
		if (rc)
			pr_warn("block devices: %d\n", rc);
		xlk.blk_up = rc == 0;
	}
	return 0;
}

static int xlk_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	int rc;

	xlk.probed = true;
	rc = pci_enable_device(pdev);
	if (rc)
		goto out;
	rc = pci_request_region(pdev, XEN_PLATFORM_MMIO_BAR, XLK_NAME);
	if (rc) {
		pci_disable_device(pdev);
		goto out;
	}
	xlk.pdev = pdev;
	cpus_read_lock();
	rc = setup(pdev);
	if (rc)
		teardown();
	cpus_read_unlock();
	/* Outside cpus_read_lock: a clocksource switch runs stop_machine(). */
	if (!rc && clocksource && xlk_clocksource_init())
		pr_warn("the kernel's clock stays where it was\n");
	if (rc) {
		pci_release_region(pdev, XEN_PLATFORM_MMIO_BAR);
		pci_disable_device(pdev);
		xlk.pdev = NULL;
	}
out:
	xlk.probe_rc = rc;
	return rc;
}

static void xlk_remove(struct pci_dev *pdev)
{
	/* First: timekeeping back on the previous clocksource. */
	xlk_clocksource_fini();
	cpus_read_lock();
	teardown();
	cpus_read_unlock();
	pci_release_region(pdev, XEN_PLATFORM_MMIO_BAR);
	pci_disable_device(pdev);
	xlk.pdev = NULL;
	pr_info("unloaded: ports closed, timers stopped, tick back on the previous clockevent, clock on the previous clocksource\n");
}

static const struct pci_device_id xlk_ids[] = {
	{ PCI_DEVICE(XEN_PLATFORM_VENDOR, XEN_PLATFORM_DEVICE) },
	{}
};

static struct pci_driver xlk_driver = {
	.name = XLK_NAME,
	.id_table = xlk_ids,
	.probe = xlk_probe,
	.remove = xlk_remove,
	/* No sysfs bind/unbind: load and unload are the only ways in and out. */
	.driver.suppress_bind_attrs = true,
};

/* Refusals that change nothing. */
static int precheck(void)
{
	struct pci_dev *pdev;
	int rc = 0;

	if (xlk_linux_xen_active()) {
		pr_err("%s: refusing to load (Linux owns shared_info, the event channels and the callback)\n",
		       xlk_linux_xen_why());
		return -EBUSY;
	}
	rc = xlk_hypercall_init();
	if (rc)
		return rc;
	pdev = pci_get_device(XEN_PLATFORM_VENDOR, XEN_PLATFORM_DEVICE, NULL);
	if (!pdev) {
		pr_err("no Xen platform PCI device %04x:%04x (xl cfg: type=\"hvm\", xen_platform_pci=1)\n",
		       XEN_PLATFORM_VENDOR, XEN_PLATFORM_DEVICE);
		return -ENODEV;
	}
	if (pdev->dev.driver) {
		pci_err(pdev,
			"the Xen platform device is bound to '%s': refusing to load\n",
			pdev->dev.driver->name);
		rc = -EBUSY;
	}
	pci_dev_put(pdev);
	return rc;
}

static int __init xlk_init(void)
{
	int rc = precheck();

	if (rc)
		return rc;
	rc = pci_register_driver(&xlk_driver);
	if (rc)
		return rc;
	/* Probing an unbound device happens inside pci_register_driver. */
	if (!xlk.probed || xlk.probe_rc || !xlk.pdev) {
		pci_unregister_driver(&xlk_driver);
		rc = xlk.probe_rc ? xlk.probe_rc : -ENODEV;
		pr_err("setup failed (%d): nothing left installed\n", rc);
		return rc;
	}
	pr_info("loaded: upcall %s, %s event ABI, hypercalls by %s\n",
		xlk_upcall_mode_name(), xl_evtchn_abi_name(),
		xlk_hypercall_insn());
	return 0;
}

static void __exit xlk_exit(void)
{
	pci_unregister_driver(&xlk_driver);
}

module_init(xlk_init);
module_exit(xlk_exit);

MODULE_DESCRIPTION(
	"xenlite: Xen event channels, clockevent and idle for an HVM domU booted with xen_nopv");
MODULE_LICENSE("GPL");
