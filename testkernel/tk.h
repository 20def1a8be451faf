/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test kernel internals: per-vCPU data, hypercalls through the hypercall
 * page, the console, the local APIC, traps, the page arena.
 */
#ifndef TK_H
#define TK_H

#include <stdarg.h>

#include <xenlite/evtchn.h>
#include <xenlite/xen.h>

/* IDT vectors the test kernel uses. */
#define TK_VEC_WAKE 0xf0     /* LAPIC IPI: wake a halted vCPU */
#define TK_VEC_WATCHDOG 0xf1 /* LAPIC timer: the per-test watchdog */
#define TK_VEC_UPCALL 0xf3   /* Xen's event channel callback vector */
#define TK_VEC_SPURIOUS 0xff /* LAPIC spurious vector */

#define X86_EFLAGS_IF 0x200UL

/* --- per-vCPU data (%gs points at it) --------------------------------------- */

struct tk_cpu {
	unsigned int id; /* first: read as %gs:0 */
	uint32_t apic_id;
	uint32_t online;
	uint64_t stack_top;
};

extern struct tk_cpu tk_cpus[XL_MAX_VCPUS];
extern unsigned int tk_nr_cpus;
/* %gs points at tk_cpus[] (tk_bsp_setup has run). */
extern bool tk_have_cpu;

static inline unsigned int tk_cpu_id(void)
{
	unsigned int id;

	__asm__ __volatile__("movl %%gs:0, %0" : "=r"(id));
	return id;
}

/* --- CPU helpers -------------------------------------------------------------- */

static inline uint64_t tk_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void tk_wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" ::"c"(msr), "a"((uint32_t)v),
			     "d"((uint32_t)(v >> 32))
			     : "memory");
}

static inline void tk_cpuid(uint32_t leaf, uint32_t sub, uint32_t *a,
			    uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ __volatile__("cpuid"
			     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			     : "a"(leaf), "c"(sub));
}

#ifdef TK_PV
/*
 * PV: the guest kernel runs in ring 3, where cli and sti fault; the
 * interrupt flag is the vCPU's evtchn_upcall_mask in vcpu_info (pv.c).
 * The token keeps the PVH format: X86_EFLAGS_IF when delivery was on.
 */
unsigned long tk_irq_save(void);
void tk_irq_restore(unsigned long f);
/* Events on (mask 0) on this vCPU, then any pending upcall runs. */
void tk_irq_enable(void);
#else
static inline unsigned long tk_save_flags(void)
{
	unsigned long f;

	__asm__ __volatile__("pushfq; popq %0" : "=r"(f)::"memory");
	return f;
}

static inline unsigned long tk_irq_save(void)
{
	unsigned long f = tk_save_flags();

	__asm__ __volatile__("cli" ::: "memory");
	return f & X86_EFLAGS_IF;
}

static inline void tk_irq_restore(unsigned long f)
{
	if (f & X86_EFLAGS_IF)
		__asm__ __volatile__("sti" ::: "memory");
}

static inline void tk_irq_enable(void)
{
	__asm__ __volatile__("sti" ::: "memory");
}
#endif

/* lfence; rdtsc: not before earlier loads (os.h xl_os_rdtsc, pvclock). */
static inline uint64_t tk_rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* A spinlock that also masks interrupts (upcalls) while held. */
struct tk_lock {
	uint32_t v;
};

unsigned long tk_lock_irqsave(struct tk_lock *l);
void tk_unlock_irqrestore(struct tk_lock *l, unsigned long flags);

/* --- hypercalls ---------------------------------------------------------------- */

extern uint8_t tk_hypercall_page[4096];
extern bool tk_have_hypercalls;

void tk_count_hypercall(void);
bool tk_hypercall_is_vmmcall(void);
long tk_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		  unsigned long a3, unsigned long a4, unsigned long a5);
int tk_hypercall_init(void);
/* Hypercalls made so far, all vCPUs. */
uint64_t tk_hypercall_count(void);
/* Flushes a domU's console first. */
void tk_shutdown(unsigned int reason) __attribute__((noreturn));

/* The hardware domain (dom0), or a domU created by a toolstack. */
extern bool tk_is_dom0;
extern domid_t tk_domid;

/* --- console ------------------------------------------------------------------- */

/*
 * dom0: console_io.  domU: the PV console ring; its port is bound only
 * between tests (the tests own the port space): detach before a test,
 * attach after the runner's EVTCHNOP_reset.  final: all out before
 * shutdown.
 */
int tk_console_init(void);
void tk_console_attach(void);
void tk_console_detach(void);
void tk_console_final(void);
/* A domU's console set-up by xenconsoled is over (before the first detach). */
void tk_console_settle(void);
/* xenstore.c: note the xenstore channel before the boot reset (domU). */
void tk_xenstore_boot(void);
/*
 * peer.c: the peer domain (tools/evtchn-peer in dom0) through xenstore.
 * probe: once, before the first test, with the console detached (the
 * runner's reset follows); wait: the command line said "peer", so wait
 * for the peer to be ready.  reset: the runner reset the domain.
 */
void tk_peer_probe(bool wait);
void tk_peer_reset(void);
extern bool tk_peer_wait;
/* "peer_serve": be another test-kernel domU's peer; returns on error. */
int tk_peer_serve(void);
void tk_console_describe(char *buf, size_t size);
/* Also write everything to Xen's debug console, I/O port 0xe9 (debugcon). */
extern bool tk_console_e9;

int tk_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int tk_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tk_write(const char *s, size_t len);
/* From now on write without the console lock (fatal paths). */
void tk_console_bust(void);
void tk_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tk_vprintf(const char *fmt, va_list ap);
/* Each line of the formatted text, with prefix before it, in one write. */
void tk_vprint_lines(const char *prefix, const char *fmt, va_list ap);
void tk_panic(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

extern int tk_log_level;
uint64_t tk_trace_count(unsigned int cpu);

/* --- traps and the local APIC ------------------------------------------------- */

struct tk_regs {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

void tk_idt_init(void);
/* The hlt of the idle (os.c), and interrupts that landed on it. */
extern const uint8_t tk_idle_hlt[];
uint64_t tk_idle_shadow_misses(void);
/* Return past that hlt (idle=stepover; the tick mode's default). */
extern bool tk_idle_step_over;
/* Idle through SCHEDOP_block (idle=block), and its window (os.c). */
extern bool tk_idle_block;
extern const uint8_t tk_block_win_amd[], tk_block_end_amd[];
extern const uint8_t tk_block_win_intel[], tk_block_end_intel[];
uint64_t tk_idle_block_skips(void);
void tk_idt_load(void);
void tk_trap(struct tk_regs *r);
/* Called from tk_trap on TK_VEC_WATCHDOG. */
void tk_watchdog_fired(const struct tk_regs *r);

void tk_lapic_init(void);
uint32_t tk_lapic_id(void);
void tk_lapic_eoi(void);
void tk_lapic_send_ipi(uint32_t apic_id, uint8_t vector);
/* Wake vCPU cpu from its idle (PVH: a LAPIC IPI; PV: pv.c). */
void tk_wake_cpu(unsigned int cpu);
/* One-shot LAPIC timer on this vCPU after about ns (0 stops it). */
void tk_lapic_timer(uint64_t ns);

/* --- memory --------------------------------------------------------------------- */

void tk_mm_init(void);
void *tk_alloc_pages(unsigned int n);
void tk_free_pages(void *p);
unsigned int tk_pages_in_use(void);

/* --- time ------------------------------------------------------------------------ */

void tk_time_init(void);
uint64_t tk_now_ns(void);

/* --- SMP and the shared info page -------------------------------------------- */

extern struct shared_info *tk_shinfo;
/* Per-vCPU HVMOP_set_evtchn_upcall_vector (LAPIC, EOI) vs the global
 * HVM_PARAM_CALLBACK_IRQ vector (no EOI). */
extern bool tk_upcall_percpu;
int tk_upcall_percpu_setup(unsigned int cpu);

int tk_shinfo_init(void);
/* Clear the 2-level pending and mask bits and selectors of every vCPU. */
void tk_shinfo_clear_events(void);
extern uint64_t tk_start_info_pa;

/* --- the PV flavour (pv.c) ---------------------------------------------------- */

/* The flavour's name for messages: "PV" or "PVH". */
extern const char tk_flavour[];
/* The boot command line and whether the start info says SIF_INITDOMAIN. */
const char *tk_boot_cmdline(void);
bool tk_boot_initdomain(bool *valid);
/*
 * A domU's console or xenstore ring and port, as the toolstack gave them:
 * PVH from HVM_PARAM_{CONSOLE,STORE}_{PFN,EVTCHN} (the page inside the
 * identity map), PV from start_info (the machine frame mapped here).
 * -XEN_ENODEV when there is none (dom0).
 */
enum tk_ring { TK_RING_CONSOLE, TK_RING_STORE };
long tk_boot_ring(enum tk_ring which, void **va, uint32_t *port);
/* Event delivery: PVH's callback vector, PV's callbacks; and its name. */
long tk_upcall_setup(void);
extern const char *tk_upcall_desc;
/* CR2 of the last page fault (PV: vcpu_info's copy), for a trap dump. */
uint64_t tk_fault_cr2(void);
#ifdef TK_PV
/* head-pv.S -> here, before tk_main: map shared_info, mask events. */
void tk_pv_early(void *start_info);
/* This vCPU's %gs base, trap table, kernel stack and callbacks. */
void tk_pv_cpu_setup(unsigned int cpu, uint64_t stack_top);
struct tk_pv_failsafe_frame;
void tk_pv_failsafe(struct tk_pv_failsafe_frame *f) __attribute__((noreturn));
/* VCPUOP_initialise for a secondary vCPU, entering tk_ap_main(cpu). */
long tk_pv_vcpu_initialise(unsigned int cpu, uint64_t stack_top);
/* pv-tests.c: the default tick, measured at boot; the PV ABI tests. */
void tk_pv_measure_tick(void);
/* The PV tests' table (struct xt_test, xt.h) is declared in main.c. */
/* Pseudo-physical frame -> machine frame (start_info's mfn_list). */
uint64_t tk_pv_pfn_to_mfn(uint64_t pfn);
/* os.h xl_os_grant_frames for PV: setup_table's frames, mapped here. */
int tk_pv_grant_frames(unsigned int nr, uint64_t *mfns, void **va);
#endif

/* C entry points from head.S. */
void tk_main(uint32_t start_info_pa) __attribute__((noreturn));
void tk_bsp_setup(void);
int tk_smp_init(void);
void tk_ap_main(unsigned int cpu);
/* Secondary vCPUs' idle loop; the runner supplies it. */
void tk_secondary_loop(unsigned int cpu) __attribute__((noreturn));
/* Run the suite (and/or the tick mode); nonzero when something failed. */
int tk_run_tests(const char *cmdline);

/* --- the tick mode (tick-mode.c) ------------------------------------------------ */

struct tk_tick_opts {
	unsigned int window_ms;	  /* per mode; 0: 1500 */
	unsigned int lat_samples; /* wake-latency samples; 0: 2000 */
};

/* The tick comparison and the wake latency; nonzero when a run failed. */
int tk_tick_main(const struct tk_tick_opts *o);

/* --- suspend and resume (suspend.c, sr-mode.c) ------------------------------ */

/* What one suspend did, for the report. */
struct tk_suspend_info {
	const char *step;  /* where it failed ("" if it did not) */
	long hypercall_rc; /* SCHEDOP_shutdown(SHUTDOWN_suspend) */
	bool cancelled;	   /* 1 from the hypercall: the same domain */
	bool xs_restored;  /* xl_xs_resume() set up a new connection */
	int xs_busy;	   /* xl_xs_suspend(): requests still in flight */
	domid_t old_domid, new_domid;
	uint64_t before_ns, after_ns;	      /* pvclock around the hypercall */
	uint64_t before_tsc_ns, after_tsc_ns; /* tk_now_ns() (the TSC) */
	uint64_t resumed_ns; /* pvclock once everything was resumed */
};

/*
 * PVH domU: the whole suspend of docs/save-restore.md (steps 0-9) on
 * vCPU 0 in thread context, the control/shutdown request already
 * acknowledged; lost as for xl_evtchn_resume().  1 cancelled (the same
 * domain), 0 resumed in a new domain (xenbus devices are the caller's:
 * step 10), or a negative error (si->step says where).
 */
long tk_suspend(struct tk_suspend_info *si, xl_evtchn_lost_fn lost);
/* Host steps after a restore: shared_info at its gfn again (xen.c). */
long tk_shinfo_remap(void);
/* Our domid, found with an unbound port (closed again): main.c. */
domid_t tk_find_domid(void);
/* The console and xenstore ports the toolstack gave the new domain. */
void tk_console_restored(void);
void tk_xenstore_restored(void);

/* The save/restore workload (sr-mode.c); nonzero when a check failed. */
struct tk_sr_opts {
	unsigned int cycles; /* suspends to wait for; 0: 2 */
	unsigned int ms;     /* workload after each; 0: 1000 */
	unsigned int wait_s; /* for each suspend request; 0: 300 */
};

int tk_sr_main(const struct tk_sr_opts *o);

/* --- the block benchmark mode (blkbench-mode.c) -------------------------------- */

/* selftests/blk-bench.c's runs on xvda, ms each; nonzero when one failed. */
int tk_blkbench_main(unsigned int ms);

#endif /* TK_H */
