// SPDX-License-Identifier: GPL-2.0
/*
 * include/xenlite/os.h for the Linux module: an HVM domU booted with
 * xen_nopv, so none of Linux's own Xen code (hypercall page, shared_info,
 * callback vector) is set up and the module brings its own.
 *
 * Hypercalls: vmcall (Intel) or vmmcall (AMD, Hygon) issued directly, with
 * the HVM 64-bit ABI: number in rax, arguments in rdi, rsi, rdx, r10, r8,
 * result in rax (Xen public arch-x86/xen-x86_64.h; xen/arch/x86/hvm/
 * hypercall.c, hvm_hypercall).  This is what the stubs of the hypercall
 * page that CPUID leaf base+2 offers would do (Xen writes "mov $nr, %eax;
 * vmcall/vmmcall; ret" for the CPU's vendor, hvm_hypercall_page_init);
 * issuing the instruction inline needs no executable page in a module.
 * A debug Xen deliberately clobbers the argument registers a hypercall does
 * not use, so all five are in/out operands.  Pointer arguments are guest
 * linear addresses: Xen walks our page tables (hvm_copy_from_guest_linear),
 * so any kernel address works, vmalloc'ed stacks included.
 *
 * Event delivery masking is the interrupt flag: the upcall is an interrupt
 * (a per-vCPU vector or the platform device's INTx) and Xen ignores
 * evtchn_upcall_mask for HVM vCPUs (xen/arch/x86/hvm/irq.c).  Restoring
 * with sti lets a pending upcall in at once.
 */
#define pr_fmt(fmt) "xenlite: " fmt

#include <linux/cpu.h>
#include <linux/context_tracking.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/io.h>
#include <linux/wait.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/processor.h>

#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>
#include <xenlite/hypercall.h>
#include <xenlite/xenstore.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/arch-x86/cpuid.h>

#include "xl-linux.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

struct shared_info *xlk_shinfo;
unsigned int xlk_nr_vcpus;
DEFINE_PER_CPU(unsigned int, xlk_vcpu_id);
bool xlk_have_vcpu_ids;

static bool xlk_vmmcall;
static DEFINE_PER_CPU(u64, xlk_hypercalls);

long xl_os_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		     unsigned long a3, unsigned long a4, unsigned long a5)
{
	register unsigned long r10 asm("r10") = a4;
	register unsigned long r8 asm("r8") = a5;
	unsigned long rax = op, cmd = a1, arg = a2;

	this_cpu_inc(xlk_hypercalls);
	if (xlk_vmmcall)
		asm volatile("vmmcall"
			     : "+a"(rax), "+D"(a1), "+S"(a2), "+d"(a3),
			       "+r"(r10), "+r"(r8)
			     :
			     : "memory");
	else
		asm volatile("vmcall"
			     : "+a"(rax), "+D"(a1), "+S"(a2), "+d"(a3),
			       "+r"(r10), "+r"(r8)
			     :
			     : "memory");
	/* The xt runner tells a test's ports from the guest's (xt-host.c). */
	if (op == __HYPERVISOR_event_channel_op && !rax)
		xlk_xt_evtchn_done((int)cmd, (void *)arg);
	return (long)rax;
}

u64 xlk_hypercall_count(unsigned int cpu)
{
	return READ_ONCE(per_cpu(xlk_hypercalls, cpu));
}

const char *xlk_hypercall_insn(void)
{
	return xlk_vmmcall ? "vmmcall" : "vmcall";
}

/*
 * Xen's CPUID leaves start at 0x40000000 + n * 0x100 with the signature
 * "XenVMMXenVMM" (public arch-x86/cpuid.h); leaf base+2 (hypercall pages)
 * must exist for an HVM guest to make hypercalls.  Returns the base, or 0.
 */
static u32 xen_cpuid_base_find(void)
{
	u32 base, eax, ebx, ecx, edx;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR))
		return 0;
	for (base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000;
	     base += 0x100) {
		cpuid(base, &eax, &ebx, &ecx, &edx);
		if (ebx == XEN_CPUID_SIGNATURE_EBX &&
		    ecx == XEN_CPUID_SIGNATURE_ECX &&
		    edx == XEN_CPUID_SIGNATURE_EDX && eax - base >= 2)
			return base;
	}
	return 0;
}

static u32 xlk_cpuid_base;

/* Leaf base+4 (HVM features): the vCPU id of the calling CPU. */
static void read_vcpu_id(void *unused)
{
	u32 eax, ebx, ecx, edx;

	cpuid_count(xlk_cpuid_base + 4, 0, &eax, &ebx, &ecx, &edx);
	this_cpu_write(xlk_vcpu_id, (eax & XEN_HVM_CPUID_VCPU_ID_PRESENT) ?
					    ebx :
					    smp_processor_id());
}

bool xlk_cpuid_upcall_vector(void)
{
	u32 eax, ebx, ecx, edx;

	if (xlk_cpuid_base + 4 > cpuid_eax(xlk_cpuid_base))
		return false;
	cpuid_count(xlk_cpuid_base + 4, 0, &eax, &ebx, &ecx, &edx);
	return eax & XEN_HVM_CPUID_UPCALL_VECTOR;
}

int xlk_hypercall_init(void)
{
	u32 eax, ebx, ecx, edx;
	long ver;
	unsigned int cpu;

	xlk_cpuid_base = xen_cpuid_base_find();
	if (!xlk_cpuid_base) {
		pr_err("no Xen CPUID leaves (%s): not running on Xen, refusing to load\n",
		       boot_cpu_has(X86_FEATURE_HYPERVISOR) ?
			       "another hypervisor" :
			       "bare metal");
		return -ENODEV;
	}
	xlk_vmmcall = boot_cpu_data.x86_vendor == X86_VENDOR_AMD ||
		      boot_cpu_data.x86_vendor == X86_VENDOR_HYGON;
	cpuid(xlk_cpuid_base + 1, &eax, &ebx, &ecx, &edx);
	ver = xl_os_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0,
			      0);
	if (ver < 0) {
		pr_err("Xen CPUID leaves at %#x, but xen_version by %s failed: %ld\n",
		       xlk_cpuid_base, xlk_hypercall_insn(), ver);
		return -ENODEV;
	}
	if ((u32)ver != eax)
		pr_warn("xen_version %ld.%ld differs from CPUID's %u.%u\n",
			ver >> 16, ver & 0xffff, eax >> 16, eax & 0xffff);
	pr_info("Xen %ld.%ld (CPUID base %#x), hypercalls by %s\n", ver >> 16,
		ver & 0xffff, xlk_cpuid_base, xlk_hypercall_insn());

	on_each_cpu(read_vcpu_id, NULL, 1);
	xlk_nr_vcpus = 0;
	xlk_have_vcpu_ids = true;
	for_each_online_cpu(cpu)
		xlk_nr_vcpus = max(xlk_nr_vcpus, per_cpu(xlk_vcpu_id, cpu) + 1);
	if (xlk_nr_vcpus > XEN_LEGACY_MAX_VCPUS ||
	    xlk_nr_vcpus > XL_MAX_VCPUS) {
		pr_err("vCPU ids up to %u: vcpu_info beyond the %u in shared_info (VCPUOP_register_vcpu_info) is not supported\n",
		       xlk_nr_vcpus - 1, XEN_LEGACY_MAX_VCPUS);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* --- memory ------------------------------------------------------------ */

void *xl_os_alloc_page(void)
{
	struct page *pg = alloc_page(GFP_KERNEL | __GFP_ZERO);

	return pg ? page_address(pg) : NULL;
}

void xl_os_free_page(void *page)
{
	if (page)
		free_page((unsigned long)page);
}

/* HVM: Xen's gfn is the guest's pfn (no PV p2m translation). */
uint64_t xl_os_virt_to_gfn(const void *va)
{
	return PFN_DOWN(__pa(va));
}

void *xl_os_zalloc(size_t size)
{
	return kzalloc(size, GFP_KERNEL);
}

void xl_os_free(void *p)
{
	kfree(p);
}

struct shared_info *xl_os_shared_info(void)
{
	return xlk_shinfo;
}

/* vcpu_info stays in shared_info: at most XEN_LEGACY_MAX_VCPUS (checked). */
struct vcpu_info *xl_os_vcpu_info(unsigned int cpu)
{
	if (!xlk_shinfo || cpu >= XEN_LEGACY_MAX_VCPUS)
		return NULL;
	return &xlk_shinfo->vcpu_info[cpu];
}

unsigned int xl_os_vcpu_id(void)
{
	return this_cpu_read(xlk_vcpu_id);
}

unsigned int xl_os_nr_vcpus(void)
{
	return xlk_nr_vcpus;
}

unsigned long xl_os_irq_save(void)
{
	unsigned long flags;

	local_irq_save(flags);
	return flags;
}

void xl_os_irq_restore(unsigned long flags)
{
	local_irq_restore(flags);
}

/*
 * Called with interrupts off from the cpuidle state (linux/clock.c), which
 * has CPUIDLE_FLAG_RCU_IDLE so that the core's trace hooks around this
 * call run with RCU watching; RCU's idle state is entered here, around the
 * halt only.  sti; hlt: the STI shadow keeps the upcall from landing
 * before the hlt, and Xen does not block a vCPU with an interrupt pending
 * (hvm_hlt); the upcall runs before hlt returns.
 */
void xl_os_safe_halt(void)
{
	ct_idle_enter();
	asm volatile("sti; hlt; cli" ::: "memory");
	ct_idle_exit();
}

/*
 * One lockdep class per core lock (os.h: xl_spin_init's name is one per
 * lock, a string literal): a key is static storage, so a small table of
 * them, claimed by name pointer.  Without lock debugging a raw spinlock
 * needs nothing but its unlocked value.
 */
#ifdef CONFIG_DEBUG_SPINLOCK
#define XLK_LOCK_CLASSES 8
static struct {
	const char *name;
	struct lock_class_key key;
} xlk_lock_class[XLK_LOCK_CLASSES];
#endif

void xl_spin_init(xl_spinlock_t *l, const char *name)
{
#ifdef CONFIG_DEBUG_SPINLOCK
	unsigned int i;

	for (i = 0; i < XLK_LOCK_CLASSES; i++) {
		const char *old = cmpxchg(&xlk_lock_class[i].name, NULL, name);

		if (!old || old == name)
			break;
	}
	if (WARN_ON_ONCE(i == XLK_LOCK_CLASSES))
		i = XLK_LOCK_CLASSES - 1;
	__raw_spin_lock_init(l, name, &xlk_lock_class[i].key, LD_WAIT_SPIN);
#else
	raw_spin_lock_init(l);
#endif
}

/*
 * The core's waits (os.h, xl_os_wait): the thread sleeps on one queue,
 * woken after every upcall on any CPU (linux/upcall.c), where everything
 * that ends a wait runs (a xenstore reply, a block completion, a core
 * timer).  wait_event() sets the task state before it evaluates done, and
 * wq_has_sleeper()'s full barrier orders the upcall's writes before its
 * look at the queue: a wake-up between the check and the sleep is not
 * lost (include/linux/wait.h, the wq_has_sleeper comment).  The callers
 * (linux/blk.c) run with migration disabled, as os.h asks.
 */
static DECLARE_WAIT_QUEUE_HEAD(xlk_waitq);

long xl_os_wait(bool (*done)(void *), void *arg)
{
	might_sleep();
	wait_event(xlk_waitq, done(arg));
	return 0;
}

/*
 * A thread that waits for xenstore watches without end (linux/blk.c's
 * xlblkd): its own queue, woken only when a watch event is queued, not
 * after every upcall (which would wake it on every tick of every CPU);
 * TASK_IDLE, so no hung-task report; at most timeout jiffies.
 */
static DECLARE_WAIT_QUEUE_HEAD(xlk_idleq);

void xlk_wait_idle(bool (*done)(void *), void *arg, unsigned long timeout)
{
	wait_event_idle_timeout(xlk_idleq, done(arg), timeout);
}

void xlk_wake_waiters(void)
{
	if (wq_has_sleeper(&xlk_waitq))
		wake_up(&xlk_waitq);
	if (wq_has_sleeper(&xlk_idleq) && xl_xs_watches_pending())
		wake_up(&xlk_idleq);
}

/*
 * Grant frames go at the BAR pages after shared_info's (linux/main.c), as
 * Linux's platform-pci does (drivers/xen/platform-pci.c: the grant frames
 * in the MMIO BAR, not over RAM).  The core maps them there itself
 * (XENMEM_add_to_physmap, XENMAPSPACE_grant_table); once it has, the
 * pages read as Xen's, cached (Linux's xen_remap: memremap WB).  Mapped
 * once for the module's life; the gfns never change.
 */
static void *xlk_gnt_va[XL_GNTTAB_MAX_FRAMES];

int xl_os_grant_frames(unsigned int nr, uint64_t *gfns, void **va)
{
	unsigned int i;

	if (nr > XL_GNTTAB_MAX_FRAMES ||
	    xlk_bar_len < (resource_size_t)(1 + nr) * PAGE_SIZE)
		return -XEN_ENOMEM;
	for (i = 0; i < nr; i++) {
		phys_addr_t pa =
			xlk_bar_start + (phys_addr_t)(1 + i) * PAGE_SIZE;

		if (!xlk_gnt_va[i])
			xlk_gnt_va[i] = memremap(pa, PAGE_SIZE, MEMREMAP_WB);
		if (!xlk_gnt_va[i])
			return -XEN_ENOMEM;
		gfns[i] = PFN_DOWN(pa);
		va[i] = xlk_gnt_va[i];
	}
	return 0;
}

void xlk_grant_frames_unmap(void)
{
	unsigned int i;

	for (i = 0; i < XL_GNTTAB_MAX_FRAMES; i++) {
		if (xlk_gnt_va[i])
			memunmap(xlk_gnt_va[i]);
		xlk_gnt_va[i] = NULL;
	}
}

static int hvm_param(u32 index, u64 *val)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
	long rc = xl_hc_hvm_op(HVMOP_get_param, &p);

	*val = p.value;
	return (int)rc;
}

/*
 * HVM: the store page is a special pfn the toolstack put in the guest's
 * physical map (outside RAM in the E820), and its port an unbound one
 * xenstored bound to (HVM_PARAM_STORE_PFN / _EVTCHN, public hvm/params.h;
 * Linux's xenbus_probe.c xenbus_init maps it the same way, xen_remap).
 */
static void *xlk_store_va;

int xl_os_xenstore_ring(void **intf, uint32_t *port)
{
	u64 pfn, evtchn;
	int rc;

	rc = hvm_param(HVM_PARAM_STORE_PFN, &pfn);
	if (rc)
		return rc;
	rc = hvm_param(HVM_PARAM_STORE_EVTCHN, &evtchn);
	if (rc)
		return rc;
	if (!pfn || !evtchn)
		return -XEN_ENODEV;
	if (!xlk_store_va)
		xlk_store_va = memremap(PFN_PHYS(pfn), PAGE_SIZE, MEMREMAP_WB);
	if (!xlk_store_va)
		return -XEN_ENOMEM;
	*intf = xlk_store_va;
	*port = (uint32_t)evtchn;
	return 0;
}

void xlk_store_unmap(void)
{
	if (xlk_store_va)
		memunmap(xlk_store_va);
	xlk_store_va = NULL;
}

uint64_t xl_os_rdtsc(void)
{
	return rdtsc_ordered();
}

/* The upcall's self-IPI (upcall.c, xlk_upcall_reraise). */
void xl_os_upcall_reraise(void)
{
	xlk_upcall_reraise();
}

int xl_os_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

void xl_os_log(int level, const char *fmt, ...)
{
	struct va_format vaf;
	va_list ap;

	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	switch (level) {
	case XL_LOG_ERR:
		pr_err("%pV", &vaf);
		break;
	case XL_LOG_WARN:
		pr_warn("%pV", &vaf);
		break;
	case XL_LOG_INFO:
		pr_info("%pV", &vaf);
		break;
	default:
		pr_debug("%pV", &vaf);
		break;
	}
	va_end(ap);
}

/* --- trace hooks --------------------------------------------------------- */

static const char *port_type_name(evtchn_port_t port)
{
	switch (xl_evtchn_port_type(port)) {
	/*
	 * A port made by alloc_unbound stays UNBOUND in the core's table after
	 * the remote end binds it; an event on it means it is connected.
	 */
	case XL_PORT_UNBOUND:
	case XL_PORT_INTERDOMAIN:
		return "interdomain";
	case XL_PORT_VIRQ:
		return "virq";
	case XL_PORT_IPI:
		return "ipi";
	default:
		return "free";
	}
}

/*
 * A tracepoint is called only while its key is settled on: enabled > 0.
 * static_key_enable() holds the count at -1 while jump_label_update()
 * rewrites the call sites, and static_key_disable() drops it to 0 before
 * rewriting (kernel/jump_label.c), so a vCPU passes this plain read and
 * reaches a site text_poke_bp() is rewriting only in the few instructions
 * after the read.  (static_key_enabled() will not do: static_key_count()
 * reports the -1 of an enable in progress as 1.)  The hooks run hot, in
 * the idle path with interrupts off: under QEMU TCG a vCPU could run a
 * stale int3 there for good (docs/linux-module.md, "The cause: a stale
 * int3 in the emulator").
 */
#define XLK_TRACE(name, ...)                                           \
	do {                                                           \
		if (atomic_read(&__tracepoint_##name.key.enabled) > 0) \
			trace_##name(__VA_ARGS__);                     \
	} while (0)

void xl_os_trace(enum xl_trace_point what, uint32_t port, uint32_t arg,
		 uint64_t val)
{
	switch (what) {
	case XL_TRACE_EVENT_SENT:
		XLK_TRACE(xenlite_event_sent, port, xl_os_vcpu_id(),
			  port_type_name(port));
		break;
	case XL_TRACE_UPCALL_ENTER:
		XLK_TRACE(xenlite_upcall_enter, arg, 0);
		break;
	case XL_TRACE_UPCALL_EXIT:
		XLK_TRACE(xenlite_upcall_exit, arg, val);
		break;
	case XL_TRACE_EVENT_HANDLED:
		XLK_TRACE(xenlite_event_handled, port, arg,
			  port_type_name(port));
		break;
	case XL_TRACE_EVENT_STRAY:
		XLK_TRACE(xenlite_event_stray, port, arg, port_type_name(port));
		break;
	case XL_TRACE_TIMER_ARMED:
		XLK_TRACE(xenlite_timer_armed, arg, val);
		break;
	case XL_TRACE_TIMER_FIRED:
		xlk_clock_note_lateness(arg, val);
		XLK_TRACE(xenlite_timer_fired, arg, val);
		break;
	case XL_TRACE_BLOCK_ENTER:
		XLK_TRACE(xenlite_block_enter, arg, val);
		break;
	case XL_TRACE_BLOCK_LEAVE:
		XLK_TRACE(xenlite_block_leave, arg, val);
		break;
	default:
		break;
	}
}
