/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The OS contract: everything the portable core needs from the host it runs
 * on.  Each host (hv/guest for the user-space hypervisor model, testkernel/
 * on real Xen, the Linux module glue) provides <xenlite_host.h> on its
 * include path and implements the out-of-line functions declared below.
 *
 * <xenlite_host.h> must provide, before anything else here is used:
 *   - the fixed-width integer types (uint8_t .. uint64_t, int8_t .. int64_t),
 *     uintptr_t, size_t, bool/true/false and NULL; va_list and va_start,
 *     va_arg, va_end (<stdarg.h>);
 *   - xl_mb(), xl_rmb(), xl_wmb(): full, read and write barriers that order
 *     accesses to memory shared with the hypervisor (Linux: virt_mb() and
 *     friends, which stay barriers on UP builds too);
 *   - xl_cpu_relax(): a spin-wait hint (pause);
 *   - atomic read-modify-write on memory shared with the hypervisor, all
 *     fully ordered (a locked instruction on x86):
 *       uint32_t xl_cmpxchg32(uint32_t *p, uint32_t old, uint32_t new);
 *       uint64_t xl_cmpxchg64(uint64_t *p, uint64_t old, uint64_t new);
 *       uint32_t xl_xchg32(uint32_t *p, uint32_t v);
 *       uint32_t xl_fetch_or32(uint32_t *p, uint32_t v);
 *       uint32_t xl_fetch_and32(uint32_t *p, uint32_t v);
 *       unsigned long xl_xchg_ulong(unsigned long *p, unsigned long v);
 *       unsigned long xl_fetch_or_ulong(unsigned long *p, unsigned long v);
 *       unsigned long xl_fetch_and_ulong(unsigned long *p, unsigned long v);
 *       uint8_t xl_xchg8(uint8_t *p, uint8_t v);
 *   - single-copy-atomic loads and stores of such memory (READ_ONCE /
 *     WRITE_ONCE; they order nothing by themselves):
 *       xl_read8, xl_read16, xl_read32, xl_read64, xl_read_ulong,
 *       xl_write8, xl_write16, xl_write32, xl_write64, xl_write_ulong;
 *   - release stores and acquire loads, for publishing data to another vCPU
 *     (smp_store_release / smp_load_acquire; Linux: virt_*): every access
 *     before xl_store_release*(p) is visible to a vCPU whose
 *     xl_load_acquire*(p) reads that store, before its later accesses:
 *       xl_store_release32, xl_store_release_ulong,
 *       xl_load_acquire32, xl_load_acquire_ulong;
 *   - XL_PRINTF(fmt, args): the printf format attribute, or nothing;
 *   - xl_os_trace_enabled(what): whether the trace hook what is on (see
 *     xl_trace() below): a cheap test with no side effects, or true.
 *
 * Keep this contract small: every item is something each host really does.
 */
#ifndef XENLITE_OS_H
#define XENLITE_OS_H

#include <xenlite_host.h>

/* Upper bound on vCPUs the core keeps per-vCPU state for. */
#define XL_MAX_VCPUS 64

/* The x86 page the Xen ABI counts gfns in. */
#define XL_PAGE_SHIFT 12
#define XL_PAGE_SIZE (1UL << XL_PAGE_SHIFT)

struct shared_info;
struct vcpu_info;

/*
 * Hypercall entry.  Arguments are passed as in the Xen ABI: pointers are
 * guest virtual addresses of the calling vCPU.  Returns what Xen returns
 * (0 or a positive value on success, -XEN_Exxx on failure).
 */
long xl_os_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		     unsigned long a3, unsigned long a4, unsigned long a5);

/*
 * Guest pages.  xl_os_alloc_page() returns one zeroed, page-aligned 4 KiB
 * page that the hypervisor may be told about by gfn (event arrays, control
 * blocks), or NULL.  xl_os_zalloc() is ordinary zeroed kernel memory the
 * hypervisor never sees.  Neither may be called with events masked by the
 * core (they may sleep on some hosts).
 */
void *xl_os_alloc_page(void);
void xl_os_free_page(void *page);
uint64_t xl_os_virt_to_gfn(const void *va);
void *xl_os_zalloc(size_t size);
void xl_os_free(void *p);

/*
 * Grant table frames (xen-gnttab.c), nr <= XL_GNTTAB_MAX_FRAMES.
 *
 * A translated guest (HVM/PVH): nr gfns the host says are free to map
 * over with XENMEM_add_to_physmap (XENMAPSPACE_grant_table), and in va[]
 * the address each will be readable at once mapped; returns 0 and the
 * core maps them.  The same gfns on every call for the domain's life (a
 * grant frame is never unmapped, so they are never handed out again).
 *
 * A classic PV guest (not translated: Xen 4.17's xatp_permission_check()
 * refuses it add_to_physmap with -EACCES, xen/common/memory.c): the host
 * itself asks GNTTABOP_setup_table for the nr frames, maps each machine
 * frame it reports at va[i] with its own page-table update, puts the frame
 * numbers in gfns[] and returns XL_OS_GRANT_FRAMES_MAPPED; the core skips
 * add_to_physmap and only checks that setup_table still reports those
 * frames.  Such a host is called again by xl_gnttab_resume() after a
 * restore (events masked, the same nr: no allocation then), to map the new
 * domain's frames, which are other machine frames; va[] may change.
 *
 * Or -XEN_ENOMEM / -XEN_ENOSYS / the hypercall's error.
 */
#define XL_OS_GRANT_FRAMES_MAPPED 1
int xl_os_grant_frames(unsigned int nr, uint64_t *gfns, void **va);

/*
 * The shared_info page and each vCPU's vcpu_info, already mapped by the
 * host (XENMEM_add_to_physmap for PVH/HVM, start_info for PV,
 * VCPUOP_register_vcpu_info where the host placed vcpu_info itself).
 */
struct shared_info *xl_os_shared_info(void);
struct vcpu_info *xl_os_vcpu_info(unsigned int cpu);

/*
 * The xenstore ring (struct xenstore_domain_interface of
 * <xen/io/xs_wire.h>), mapped, and its event port: for PVH/HVM
 * HVMOP_get_param(HVM_PARAM_STORE_PFN / HVM_PARAM_STORE_EVTCHN), PV
 * start_info.  0, -XEN_ENODEV when the domain has no xenstore (a store pfn
 * of 0: dom0 before xenstored), or the hypercall's error.
 */
int xl_os_xenstore_ring(void **intf, uint32_t *port);

/* The calling vCPU's id (0-based, < XL_MAX_VCPUS) and the vCPU count. */
unsigned int xl_os_vcpu_id(void);
unsigned int xl_os_nr_vcpus(void);

/*
 * Local event delivery masking, nestable like local_irq_save/restore:
 * save returns an opaque token for restore.  While masked, the upcall does
 * not run on this vCPU.  restore that unmasks must make sure an upcall that
 * became pending while masked runs (PV: a hypercall after clearing
 * evtchn_upcall_mask; HVM/PVH: sti).
 */
unsigned long xl_os_irq_save(void);
void xl_os_irq_restore(unsigned long flags);

/*
 * Spinlocks: the core's one lock type, from <xenlite_host.h> (a type and
 * three functions or macros, not declared here because a host may make
 * them inline):
 *
 *   xl_spinlock_t                     the host's lock (Linux: raw_spinlock_t,
 *                                     so lockdep and PREEMPT_RT see it;
 *                                     others: <xenlite/spinlock-gcc.h>)
 *   void xl_spin_init(xl_spinlock_t *l, const char *name)
 *   unsigned long xl_spin_lock_irqsave(xl_spinlock_t *l)
 *   void xl_spin_unlock_irqrestore(xl_spinlock_t *l, unsigned long flags)
 *
 * Every core lock is taken with event delivery masked on this vCPU (the
 * flags are xl_os_irq_save()'s), because upcalls take them too.  The core
 * calls xl_spin_init() before a lock's first use, with a name that is one
 * per lock (a string literal: a host may key lock classes on it).  The
 * locks, and the order they nest in, are listed in docs/lifecycle.md.
 * XL_ACQUIRES(x) / XL_RELEASES(x) mark a core function that returns with
 * lock x held, or releases one it did not take, for a static checker
 * (Linux: sparse's __acquires/__releases; elsewhere nothing).
 */

/*
 * Run the upcall on this vCPU again after the current one has returned.
 * Called from the upcall, with delivery masked, when the core stopped on
 * its budget with work left (xl_evtchn_upcall()): evtchn_upcall_pending is
 * left set, but Xen raises a per-vCPU upcall vector (and hv its kick) only
 * on its 0 -> 1 edge (xen/arch/x86/domain.c vcpu_mark_events_pending ->
 * hvm_assert_evtchn_irq), so without this the work would wait for the
 * next, unrelated event.  The re-raised upcall must come after the
 * current one returned and delivery was enabled again, so that whatever
 * the upcall held off (a higher-priority interrupt, the interrupted code)
 * gets in first: HVM/PVH with a per-vCPU vector: a self-IPI of that
 * vector; a level-style callback (HVM_PARAM_CALLBACK_IRQ vector or INTx,
 * PV's callback) that Xen re-delivers while evtchn_upcall_pending is set:
 * nothing to do.  Never sleeps.
 */
void xl_os_upcall_reraise(void);

/*
 * Block this vCPU until an event is pending for it, without a lost wakeup:
 * called with events masked by xl_os_irq_save(); the host unmasks and
 * blocks atomically (PV: SCHEDOP_block; PVH: sti; hlt) and returns with
 * events masked again (the upcall may have run in between).
 */
void xl_os_safe_halt(void);

/*
 * The core's waits in thread context (xl_wait_until(): a xenstore reply,
 * a synchronous block request, a backend's state).  A host with a
 * scheduler sleeps the caller until done(arg) is true and returns 0; it
 * checks done again after every upcall on any vCPU (everything that makes
 * a condition true runs in an upcall: a reply, a completion, a timer), so
 * done must be a cheap read that does not sleep.  The caller must not
 * move to another vCPU meanwhile (its timers and wake-up IPIs are on this
 * vCPU): the host keeps it there.  A host without threads returns
 * -XEN_ENOSYS at once and the core idles the vCPU instead
 * (xl_idle_until(), which checks done with delivery masked).
 */
long xl_os_wait(bool (*done)(void *), void *arg);

/*
 * The TSC, read in program order: not before the loads that precede it
 * (lfence; rdtsc, Linux's rdtsc_ordered()).  pvclock reads tsc_timestamp
 * and then the TSC inside the version loop; a TSC read hoisted above that
 * load can predate a new tsc_timestamp and turn a tiny negative delta into
 * a huge positive one (found by hv/pvclock_update_storm).
 */
uint64_t xl_os_rdtsc(void);

/* Logging: levels as in xl_log() below. */
#define XL_LOG_ERR 3
#define XL_LOG_WARN 4
#define XL_LOG_INFO 6
#define XL_LOG_DEBUG 7
void xl_os_log(int level, const char *fmt, ...) XL_PRINTF(2, 3);

/*
 * vsnprintf() as C99 has it: at most size bytes written to buf, the last
 * of them a nul (nothing written when size is 0); returns the length the
 * whole output has, so a result >= size means it was cut.  The core uses
 * %s %c %d %i %u %x, the l, ll and z modifiers and %% (xl_xs_printf(),
 * the xenstore watch tokens).  The host's own formatter, the one its
 * xl_os_log() uses; may run in any context xl_os_log() may.
 */
int xl_os_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	XL_PRINTF(3, 0);

/*
 * Trace hooks, named for what happened.  Linux maps them to TRACE_EVENTs
 * (system "xenlite"), the test kernel to a per-vCPU ring, hv to an
 * in-memory ring.  Arguments: a port (or 0), a small integer (priority,
 * vCPU, count) and a 64-bit value (a deadline, a lateness, a TSC stamp).
 */
enum xl_trace_point {
	XL_TRACE_EVENT_SENT,	/* port, -, - */
	XL_TRACE_UPCALL_ENTER,	/* -, vcpu, - */
	XL_TRACE_UPCALL_EXIT,	/* -, vcpu, events handled */
	XL_TRACE_EVENT_HANDLED, /* port, vcpu, - */
	XL_TRACE_EVENT_STRAY,	/* port, vcpu, - : pending with no handler */
	XL_TRACE_TIMER_ARMED,	/* -, vcpu, deadline ns */
	XL_TRACE_TIMER_FIRED,	/* -, vcpu, lateness ns */
	XL_TRACE_BLOCK_ENTER,	/* -, vcpu, 0 block / 1 poll */
	XL_TRACE_BLOCK_LEAVE,	/* -, vcpu, 0 block / 1 poll */
	XL_TRACE_NR
};
void xl_os_trace(enum xl_trace_point what, uint32_t port, uint32_t arg,
		 uint64_t val);

/*
 * The core calls its hooks through xl_trace(): a host whose tracing is
 * off then pays a load and a branch per hook, not a call (a Linux
 * tracepoint is a static key for the same reason; the event path has
 * one hook per event).  The answer may be stale by the time the hook
 * runs: a hook switched on or off meanwhile traces or misses that entry.
 */
static inline void xl_trace(enum xl_trace_point what, uint32_t port,
			    uint32_t arg, uint64_t val)
{
	if (xl_os_trace_enabled(what))
		xl_os_trace(what, port, arg, val);
}

#define xl_log(level, ...) xl_os_log(level, __VA_ARGS__)
#define xl_err(...) xl_os_log(XL_LOG_ERR, __VA_ARGS__)
#define xl_warn(...) xl_os_log(XL_LOG_WARN, __VA_ARGS__)
#define xl_info(...) xl_os_log(XL_LOG_INFO, __VA_ARGS__)

#endif /* XENLITE_OS_H */
