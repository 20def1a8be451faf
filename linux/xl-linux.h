/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Internal interfaces of the Linux host of xenlite (xenlite.ko).
 *
 * Two kinds of objects make up the glue (see Kbuild):
 *   - ABI objects (os.c, main.c, upcall.c, clock.c, debugfs.c) see the Xen
 *     public headers as <xen/...>, like the core, and use Linux headers
 *     that do not include <xen/...>;
 *   - detect.c sees the kernel's own <xen/...> (xen_domain()) and no Xen
 *     ABI.
 * This header is shared by both, so it uses neither.
 */
#ifndef XENLITE_LINUX_H
#define XENLITE_LINUX_H

#include <linux/types.h>
#include <linux/percpu.h>

struct pci_dev;
struct shared_info;

#define XLK_NAME "xenlite"

/* detect.c (kernel <xen/...> view). */
bool xlk_linux_xen_active(void);
const char *xlk_linux_xen_why(void);

/* os.c */
extern struct shared_info *xlk_shinfo;
extern unsigned int xlk_nr_vcpus;
DECLARE_PER_CPU(unsigned int, xlk_vcpu_id);
extern bool xlk_have_vcpu_ids;
int xlk_hypercall_init(void);
const char *xlk_hypercall_insn(void);
u64 xlk_hypercall_count(unsigned int cpu);
bool xlk_cpuid_upcall_vector(void);
void xlk_wake_waiters(void);
void xlk_wait_idle(bool (*done)(void *), void *arg, unsigned long timeout);
void xlk_grant_frames_unmap(void);
void xlk_store_unmap(void);
/* main.c: the platform device's MMIO BAR (shared_info, grant frames). */
extern phys_addr_t xlk_bar_start;
extern resource_size_t xlk_bar_len;

/* blk.c: blkfront-lite as /dev/xlblkN (xenstore, grants, blk-mq). */
int xlk_blk_init(void);
void xlk_blk_fini(void);
/* Since the load: disks now, added and removed; removed because their
 * device/vbd node vanished (a forced detach); requests failed. */
struct xlk_blk_counts {
	unsigned int disks;
	u64 added, removed, gone, io_errors;
};
void xlk_blk_counts(struct xlk_blk_counts *c);

/* upcall.c */
enum xlk_upcall_mode {
	XLK_UPCALL_NONE,
	XLK_UPCALL_VECTOR, /* per-vCPU HVMOP_set_evtchn_upcall_vector */
	XLK_UPCALL_INTX,   /* the platform device's INTx, vCPU 0 only */
};
extern enum xlk_upcall_mode xlk_upcall_mode;
int xlk_upcall_init(struct pci_dev *pdev, bool want_vector);
void xlk_upcall_fini(void);
void xlk_upcall_reraise(void);
u64 xlk_upcall_reraises(unsigned int cpu);
const char *xlk_upcall_mode_name(void);
u64 xlk_upcall_count(unsigned int cpu);
/* A vCPU that receives upcalls (every vCPU, or only 0 with INTx). */
bool xlk_upcall_cpu_ok(unsigned int cpu);

/* clock.c */
int xlk_clock_init(unsigned int periodic_hz, bool idle);
void xlk_clock_fini(void);
/* clocksource.c: the pvclock clocksource (outside cpus_read_lock). */
int xlk_clocksource_init(void);
void xlk_clocksource_fini(void);
bool xlk_clock_cpu_active(unsigned int cpu);
void xlk_clock_hist(unsigned int cpu, u64 *buckets, unsigned int n);
void xlk_clock_note_lateness(unsigned int cpu, u64 late_ns);
#define XLK_LATE_BUCKETS 12 /* < 1us, < 2us, ... powers of two, last open */

/* debugfs.c */
int xlk_debugfs_init(void);
void xlk_debugfs_fini(void);

/*
 * xt-host.c: the xt selftest tables in the module, debugfs xenlite/xt
 * (Kbuild: XENLITE_XT=y, the default, defines XLK_XT).
 */
struct dentry;
#ifdef XLK_XT
void xlk_xt_init(struct dentry *dir);
void xlk_xt_fini(void);
/* xl_os_hypercall(): event channel op cmd(arg) returned 0. */
void xlk_xt_evtchn_done(int cmd, void *arg);
#else
static inline void xlk_xt_init(struct dentry *dir)
{
}

static inline void xlk_xt_fini(void)
{
}

static inline void xlk_xt_evtchn_done(int cmd, void *arg)
{
}
#endif

#endif /* XENLITE_LINUX_H */
