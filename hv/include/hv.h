/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hv: a user-space model of the hypervisor side of the Xen ABIs xenlite
 * uses, following Xen 4.17's behaviour (xen/common/event_channel.c,
 * event_2l.c, event_fifo.c, sched/core.c, domain.c).
 *
 * A domain is a set of vCPUs, each a pthread running guest code, plus one
 * arena of guest frames (gfn = page index in the arena).  Guest code calls
 * hv_hypercall() from a vCPU thread; hv delivers event upcalls by signalling
 * the vCPU thread, whose handler runs the upcall the vCPU registered (enum
 * hv_flavour) only while that vCPU's delivery is unmasked and it is not
 * inside a hypercall (a hypercall's return path delivers instead, as Xen
 * does on return to guest).
 */
#ifndef HV_H
#define HV_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#define HV_MAX_VCPUS 32 /* XEN_LEGACY_MAX_VCPUS: vcpu_info in shared_info */
#define HV_MAX_DOMAINS 8
#define HV_DEFAULT_PAGES 4096	    /* 16 MiB arena */
#define HV_DEFAULT_MAX_EVTCHNS 1023 /* libxl's max_event_channels default */

struct hv_domain;
struct hv_vcpu;
struct shared_info;

/*
 * The domain's flavour, fixed when it is built (Xen: the toolstack's
 * type="pvh" / type="pv"; dom0 is PV by default in 4.17).  It decides how
 * the guest asks for its event upcall (docs/README.md, "Upcall
 * registration and flavours"):
 *  - PVH: HVM_PARAM_CALLBACK_IRQ of the vector type (HVMOP_set_param) for
 *    the domain, or HVMOP_set_evtchn_upcall_vector per vCPU; the handler
 *    that runs is the config's upcall (the guest's IDT entry for the
 *    vector).  vcpu_info starts unmasked (a zeroed shared_info page).
 *  - PV: CALLBACKOP_register(CALLBACKTYPE_event) per vCPU, whose address
 *    hv calls as a void (*)(void); vcpu_info starts masked
 *    (evtchn_upcall_mask = 1, the domain builder's), and every vCPU
 *    starts with Xen's 100 Hz periodic timer (pv/domain.c).
 * A vCPU that registered nothing gets no upcall: events stay pending.
 */
enum hv_flavour {
	HV_FLAVOUR_PVH = 0, /* the default */
	HV_FLAVOUR_PV = 1,
};

/*
 * The Xen scheduler hv's run queue models (hv/sched.c), as Xen's `sched=`
 * command-line option picks one (xen/common/sched/core.c opt_sched).
 * HV_SCHED_DEFAULT is the hv instance's choice: the environment variable
 * HV_SCHED ("credit2" or "credit", as sched= spells them), else credit2,
 * Xen 4.17's default (CONFIG_SCHED_DEFAULT).
 */
enum hv_sched_kind {
	HV_SCHED_DEFAULT = 0,
	HV_SCHED_CREDIT2 = 1, /* sched=credit2 (credit2.c) */
	HV_SCHED_CREDIT = 2,  /* sched=credit: credit1 with BOOST (credit.c) */
};

struct hv_domain_config {
	unsigned int nr_vcpus;	  /* 1 .. HV_MAX_VCPUS */
	unsigned int nr_pages;	  /* arena size; 0 = HV_DEFAULT_PAGES */
	unsigned int max_evtchns; /* 0 = HV_DEFAULT_MAX_EVTCHNS */
	bool no_fifo;		  /* init_control -> -ENOSYS (no FIFO) */
	/*
	 * pCPUs for this domain's vCPUs; fewer than nr_vcpus gives a run
	 * queue scheduled by `sched` (credit2 unless told otherwise; credit1
	 * has BOOST and 30 ms slices).  0 = one each.
	 */
	unsigned int nr_pcpus;
	enum hv_sched_kind sched;
	enum hv_flavour flavour;
	/*
	 * Introduce the domain to hv's xenstored (hv/include/hv-xs.h): a ring
	 * at gfn HV_XS_RING_GFN(nr_pages), a store event port, both in
	 * HVMOP_get_param(HVM_PARAM_STORE_PFN / _EVTCHN).
	 */
	bool xenstore;
	/*
	 * PVH: the guest's handler for its event-channel upcall vector (what
	 * its IDT holds for the vector it registers), run on the vCPU thread
	 * once a vector is registered; NULL = none.  PV: unused (the vCPU's
	 * registered CALLBACKTYPE_event address runs).
	 */
	void (*upcall)(void);
	/* Body of every vCPU thread; the vCPU goes offline when it returns. */
	void (*vcpu_main)(unsigned int vcpu, void *arg);
	void *arg;
};

/* Fault injection switches (per domain; 0 = off). */
struct hv_faults {
	/* Per mille of hypercall returns that also raise an upcall with no
	 * event behind it (a spurious upcall). */
	unsigned int spurious_upcall_permille;
	/*
	 * Singleshot timers fire this many ns before their deadline as the
	 * guest's pvclock counts it: Xen fires a timer when NOW() on the pCPU
	 * holding it passes the deadline (timer_softirq_action), and that
	 * clock can run ahead of the vCPU's vcpu_time_info extrapolation
	 * (another pCPU's calibration, a stale record).  A guest must not
	 * assume a VIRQ_TIMER that comes "early" leaves its timer armed.
	 */
	uint64_t timer_early_ns;
	/*
	 * The next drop_kicks kick signals are lost (marked sent, never sent):
	 * what ThreadSanitizer's runtime did now and then.  hv must send them
	 * again (HV_KICK_RESEND_NS), as hardware never loses an interrupt.
	 */
	unsigned int drop_kicks;
};

/* Counters, for tests and benchmarks (monotonic, per domain). */
struct hv_domain_stats {
	uint64_t hypercalls;
	uint64_t sends;
	uint64_t set_pending; /* evtchn_port_set_pending calls */
	uint64_t upcalls_delivered;
	uint64_t upcall_reraises;   /* upcalls that asked to run again */
	uint64_t kicks_signal;	    /* vCPU kicked by a signal */
	uint64_t kicks_resent;	    /* ... sent again, unanswered for 10 ms */
	uint64_t kicks_dropped;	    /* ... lost on purpose (hv_faults) */
	uint64_t kicks_wake;	    /* vCPU woken from SCHEDOP_block */
	uint64_t blocks;	    /* SCHEDOP_block that slept */
	uint64_t block_not_slept;   /* SCHEDOP_block with events pending */
	uint64_t halt_poll_hits;    /* blocks woken while halt polling */
	uint64_t fifo_link_retries; /* set_link compare-exchange retries */
	uint64_t fifo_lost_queue_change; /* "lost event (too many queue changes)" */
	uint64_t fifo_new_heads;	 /* READY set for a new queue head */
	uint64_t timer_events;		 /* VIRQ_TIMER sent by a vCPU timer */
	uint64_t time_updates;		 /* vcpu_time_info rewrites */
	uint64_t runq_waits;		 /* vCPU waited for a pCPU */
	uint64_t boosted_wakes;		 /* ... of them woken with BOOST */
	uint64_t wake_preempts;		 /* a wake tickled a running vCPU */
	uint64_t ratelimited_wakes; /* credit2: ... but the ratelimit held */
	uint64_t credit_resets;	    /* credit2: reset_credit() */
	uint64_t preempt_requests;  /* slice expiry or wake tickle */
	uint64_t preemptions;	    /* pCPU given up at a boundary */
	/* Upcalls due (pending, unmasked) on a vCPU with no callback or
	 * vector registered: not delivered (callback.c). */
	uint64_t upcalls_unregistered;
	/* SCHEDOP_shutdown(SHUTDOWN_suspend) with a plan (suspend.c). */
	uint64_t suspends;
	uint64_t suspend_cancels; /* ... resumed in the same domain */
	uint64_t restores;	  /* ... restored into a new domain */
};

/* Lifecycle.  create/start/join/destroy are called from a non-vCPU thread. */
struct hv_domain *hv_domain_create(const struct hv_domain_config *cfg,
				   int *err);
int hv_domain_start(struct hv_domain *d);    /* spawn the vCPU threads */
void hv_domain_join(struct hv_domain *d);    /* wait for all to return */
void hv_domain_destroy(struct hv_domain *d); /* after join */

uint16_t hv_domain_id(const struct hv_domain *d);
enum hv_flavour hv_domain_flavour(const struct hv_domain *d);
/* The scheduler d's run queue models (never HV_SCHED_DEFAULT). */
enum hv_sched_kind hv_domain_sched(const struct hv_domain *d);
/* "credit2", "credit": sched= spelling; NULL for an unknown kind. */
const char *hv_sched_name(enum hv_sched_kind kind);
unsigned int hv_domain_nr_vcpus(const struct hv_domain *d);
int hv_domain_set_max_evtchns(struct hv_domain *d, unsigned int max);
void hv_domain_set_faults(struct hv_domain *d, const struct hv_faults *f);
/*
 * Halt polling, as KVM's halt_poll_ns: a vCPU that blocks (SCHEDOP_block,
 * SCHEDOP_poll) first spins up to ns for its wakeup before it sleeps.  A
 * wakeup that comes meanwhile costs no thread switch.  Timing only: Xen's
 * semantics are unchanged.  0 (the default): sleep at once, as Xen does.
 */
void hv_domain_set_halt_poll_ns(struct hv_domain *d, uint64_t ns);
void hv_domain_get_stats(struct hv_domain *d, struct hv_domain_stats *st);
/* SCHEDOP_shutdown reason, or -1 while running. */
int hv_domain_shutdown_reason(const struct hv_domain *d);

/* Guest memory: the arena, gfn = page index; NULL/-1 outside it. */
void *hv_domain_arena(const struct hv_domain *d);
unsigned int hv_domain_nr_pages(const struct hv_domain *d);
void *hv_gfn_to_virt(struct hv_domain *d, uint64_t gfn);
int64_t hv_virt_to_gfn(const struct hv_domain *d, const void *va);
/*
 * A PV domain's grant frame by the machine frame GNTTABOP_setup_table
 * reports: what the guest's page-table update would map (gnttab.c), NULL
 * if mfn is not one of the domain's current grant frames.
 */
void *hv_gnttab_pv_frame(struct hv_domain *d, uint64_t mfn);

/* A pointer the guest side (hv/guest) keeps per domain. */
void hv_domain_set_guest(struct hv_domain *d, void *guest);
void *hv_domain_guest(const struct hv_domain *d);

/* The calling thread's vCPU (NULL on a non-vCPU thread). */
struct hv_vcpu *hv_current(void);
struct hv_domain *hv_vcpu_domain(const struct hv_vcpu *v);
unsigned int hv_vcpu_id(const struct hv_vcpu *v);
struct hv_vcpu *hv_domain_vcpu(struct hv_domain *d, unsigned int id);

/* Hypercall entry, from a vCPU thread only.  Same numbers as Xen. */
long hv_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		  unsigned long a3, unsigned long a4, unsigned long a5);

/*
 * Wake a vCPU blocked in SCHEDOP_block without raising an event (as an
 * unrelated interrupt would): SCHEDOP_block may return without an event,
 * and guest idle loops re-check their own work.  Host-side runners use it
 * to hand a vCPU work.  Safe from any thread.
 */
void hv_vcpu_poke(struct hv_vcpu *v);

/*
 * FIFO queue invariants of a quiescent domain (no sends in flight): every
 * LINKED word is on exactly one queue of its last vCPU, queues are acyclic
 * and end at the tail hv recorded, no BUSY bit left set, READY set for
 * every non-empty queue.  Returns 0, or -1 with a reason in why.
 */
int hv_fifo_check(struct hv_domain *d, char *why, size_t len);

/*
 * hv's own view of d's ports: how many are open (any state but free and
 * reserved), the first max of them in ports[] (ascending).  For leak
 * checks against what the guest believes it has bound.
 */
int hv_evtchn_open_ports(struct hv_domain *d, uint32_t *ports,
			 unsigned int max);

/* --- additions (backward compatible) ------------------------------------- */

/*
 * The signal hv sends a vCPU thread to deliver an upcall (installed once,
 * SA_RESTART).  Guest code must not block or take it over.
 */
#define HV_KICK_SIGNAL SIGUSR1

/*
 * Raise a VIRQ as Xen's send_guest_vcpu_virq() / send_guest_global_virq():
 * the bound port (if any) is set pending on its vCPU.  -XEN_EINVAL when
 * virq is out of range or of the other kind (global vs per-vCPU), else 0
 * (also when nothing is bound).  Safe from any thread.
 */
int hv_send_guest_vcpu_virq(struct hv_vcpu *v, unsigned int virq);
int hv_send_guest_global_virq(struct hv_domain *d, unsigned int virq);

/*
 * The running upcall asks to be run again after it returns (the guest's
 * xl_os_upcall_reraise(), when it stopped on its budget with work left
 * and evtchn_upcall_pending still set).  As a per-vCPU upcall vector's
 * self-IPI waits in the IRR until the handler returned and IF is set
 * again, the upcall is not re-run on the spot: hv's delivery loop stops
 * after this upcall and the timer thread kicks the vCPU, so the
 * interrupted guest code runs in between.  From a vCPU thread, inside the
 * upcall; counted in upcall_reraises.
 */
void hv_vcpu_reraise_upcall(void);
/*
 * The guest's self-IPI of its per-vCPU upcall vector (a write to the
 * local APIC's ICR with the "self" shorthand): the vector's IRR bit set
 * again, delivered, as hv_vcpu_reraise_upcall() arranges, after the
 * running upcall returned.  What a guest with per-vCPU vectors must do to
 * be run again: Xen raises that vector only on the 0 -> 1 edge of
 * evtchn_upcall_pending (hv/callback.c hv_upcall_edge).  From a vCPU
 * thread, inside the upcall.
 */
void hv_vcpu_self_ipi(void);

/*
 * A FIFO control block's address as hv mapped it (NULL: none), for tests
 * that play a corrupt hypervisor.  Safe from any thread.
 */
void *hv_fifo_control_block(struct hv_vcpu *v);
/* The event word of a port as hv mapped it (NULL: beyond the array). */
void *hv_fifo_event_word(struct hv_domain *d, uint32_t port);

/*
 * Xen system time (NOW()) as hv keeps it, and a rewrite of a vCPU's
 * vcpu_time_info with the version protocol (what a switch-in does), for
 * tests that race readers against updates.  Safe from any thread.
 */
uint64_t hv_system_time(void);
void hv_vcpu_update_time(struct hv_vcpu *v);

/* The hv-owned shared_info page and the gfn it is mapped at (-1: none). */
struct shared_info *hv_domain_shared_info(struct hv_domain *d);
int64_t hv_domain_shared_info_gfn(const struct hv_domain *d);

/*
 * Xen-consumer event channels: hv-internal services (xenstored, blkback)
 * are the backend domain, domain 0 (hv's guest domains are 1 ..
 * HV_MAX_DOMAINS), as Xen's alloc_unbound_xen_event_channel() /
 * notify_via_xen_event_channel() (xen/common/event_channel.c) connect a
 * guest port to a consumer inside Xen.
 *
 * The guest's EVTCHNOP_send on such a port calls fn(d, port, arg) on the
 * sending vCPU thread, inside hv, under the channel's read lock: fn must
 * only signal (a condition variable, a flag), never block or take a lock
 * that is held across hv calls; it may call hv_evtchn_notify_guest().
 *
 * Teardown: fn is never called after the guest's EVTCHNOP_close (or
 * hv_evtchn_unbind_xen(), or domain destruction) of the port returned;
 * from then on hv_evtchn_notify_guest() returns -XEN_EINVAL, which is how
 * the service learns that the guest closed the port.  A port the guest
 * closed may be reused for something else: a service that saw -XEN_EINVAL
 * must stop notifying it.  The domain itself must outlive the service's
 * calls (stop the service before hv_domain_destroy()).
 */
typedef void (*hv_xen_consumer_fn)(struct hv_domain *d, uint32_t port,
				   void *arg);

/*
 * Connect the guest's port, which must be ECS_UNBOUND with remote_domid 0
 * (EVTCHNOP_alloc_unbound with remote_dom 0), to fn, as Xen's
 * evtchn_bind_interdomain() from dom0: an invalid port, or one not unbound
 * to domain 0 -> -XEN_EINVAL.  As Xen raises the binder's new port, fn is
 * called once after a successful bind.  Safe from any thread.
 */
int hv_evtchn_bind_xen(struct hv_domain *d, uint32_t port,
		       hv_xen_consumer_fn fn, void *arg);
/*
 * The toolstack's way: allocate the lowest free port of d already
 * connected to fn (Xen: alloc_unbound by the toolstack, then the backend's
 * bind).  Returns the port, or -XEN_ENOSPC / -XEN_ENOMEM.
 */
int hv_evtchn_alloc_xen_unbound(struct hv_domain *d, hv_xen_consumer_fn fn,
				void *arg);
/*
 * Raise the guest's port (notify_via_xen_event_channel() ->
 * evtchn_port_set_pending on its notify vCPU).  0, or -XEN_EINVAL when
 * the port is not (or no longer) connected to a consumer.  Safe from any
 * thread, also concurrently with the guest's close.
 */
int hv_evtchn_notify_guest(struct hv_domain *d, uint32_t port);
/*
 * The service's close: the port goes back to ECS_UNBOUND with remote
 * domain 0 (as closing dom0's end of an interdomain channel does), so the
 * guest sees it unbound.  No-op for a port not connected to a consumer.
 * After return fn is not running and is never called again.
 */
void hv_evtchn_unbind_xen(struct hv_domain *d, uint32_t port);

/*
 * Event-channel hypercall hook, for tests that must force one interleaving
 * of a race (a close stalled between Xen's work and its return, a mask
 * landing just before an unmask): fn is called on the calling vCPU's
 * thread for every EVTCHNOP of d, once before the operation (after false,
 * rc 0) and once after it (after true, rc its result).  Before: a nonzero
 * return fails the operation with that value without running it (fault
 * injection); after: the return value is ignored.  fn may block (it holds
 * no hv lock) and may call guest code that issues no hypercall.  NULL
 * removes it.  Testing only: Xen has no such thing.
 */
typedef long (*hv_evtchn_hook_fn)(struct hv_vcpu *v, int cmd, void *arg,
				  bool after, long rc, void *data);
void hv_domain_set_evtchn_hook(struct hv_domain *d, hv_evtchn_hook_fn fn,
			       void *data);
/* --- save / restore (suspend.c, docs/save-restore.md) -------------------- */

/*
 * What the toolstack does once the guest suspended itself with
 * SCHEDOP_shutdown(SHUTDOWN_suspend) (libxl's save, then a restore or a
 * cancel).  With no plan set, the hypercall only records the shutdown
 * reason, as before.  With one, the hypercall does the whole cycle on
 * the calling vCPU and returns what Xen 4.17 returns there:
 *  - cancel: xc_domain_resume(fast=1) (tools/libs/guest/xg_resume.c
 *    xc_domain_resume_cooperative -> modify_returncode) writes 1 into
 *    vCPU 0's rax, for a PV guest always and for an HVM/PVH one only if
 *    HVM_PARAM_CALLBACK_IRQ is set ("HVM guests without PV drivers have
 *    no return code to modify": 0 then); XEN_DOMCTL_resumedomain
 *    (domain_resume) clears the shutdown and unpauses.  Nothing else
 *    changes.
 *  - restore: a new domain with the guest's memory (hv keeps the struct,
 *    its vCPU threads and its arena) returns 0 (domain_shutdown()'s
 *    return, saved in the vCPU's rax).  See suspend.c for what it
 *    resets.  time_jump_ns moves hv's system time forward (for every
 *    domain: hv has one host clock), as a restore on another host, or
 *    later, sees it; the restored domain's timer thread is woken, other
 *    domains' timers armed before the jump still fire at their old
 *    distance in real time.
 * Not modelled: a domain connected to hv's xenstored or blkback (their
 * resume is not in hv yet); other vCPUs are not paused (the guest
 * quiesces them first, as Linux's stop_machine() in do_suspend does).
 */
struct hv_suspend_plan {
	bool cancel;
	uint64_t time_jump_ns;
	/*
	 * How long the toolstack takes between the save and the cancel or
	 * the restore (xc_domain_save() .. xc_domain_resume() or the new
	 * domain's unpause): the hypercall sleeps that long, the domain
	 * paused, while backends and their threads run on.
	 */
	uint64_t toolstack_ns;
};
/* NULL: no plan (the default).  Safe from any thread between cycles. */
void hv_domain_set_suspend_plan(struct hv_domain *d,
				const struct hv_suspend_plan *p);
/* The FIFO priority hv holds for a port of d (-1: no such port). */
int hv_evtchn_port_priority(struct hv_domain *d, uint32_t port);

/* --- emulated platform timer and domain pause (vpt.c, pause.c) ----------- */

/*
 * What the emulated periodic platform timer does with ticks its vCPU could
 * not take.  The first four are Xen 4.17's HVM_PARAM_TIMER_MODE values
 * (public/hvm/params.h HVMPTM_*, xen/arch/x86/hvm/vpt.c); the last two are
 * Linux KVM's in-kernel i8254 with KVM_REINJECT_CONTROL on and off
 * (arch/x86/kvm/i8254.c).  docs/time-drift.md says what each does.
 */
enum hv_vpt_policy {
	HV_VPT_DELAY_FOR_MISSED_TICKS = 0, /* HVMPTM_delay_for_missed_ticks */
	HV_VPT_NO_DELAY_FOR_MISSED_TICKS = 1, /* libxl's default in 4.17 */
	HV_VPT_NO_MISSED_TICKS_PENDING = 2,
	HV_VPT_ONE_MISSED_TICK_PENDING = 3,
	HV_VPT_KVM_PIT_REINJECT = 4, /* KVM's default (kvm_create_pit) */
	HV_VPT_KVM_PIT_NO_REINJECT = 5,
	HV_VPT_NR_POLICIES
};
const char *hv_vpt_policy_name(enum hv_vpt_policy p);

/*
 * The toolstack's HVM_PARAM_TIMER_MODE (or KVM_REINJECT_CONTROL): before
 * the guest programs its timer.  -XEN_EINVAL for an unknown policy (Xen:
 * value > HVMPTM_one_missed_tick_pending, hvm.c hvm_set_param).
 */
int hv_domain_set_timer_policy(struct hv_domain *d, enum hv_vpt_policy p);
/*
 * Virtual time for the platform timer: from now on the time the vpt runs
 * on (NOW() in vpt.c) only moves by hv_vpt_advance(), starting at the
 * current system time, and the vcpu_time_info of every vCPU with a timer
 * programmed shows that virtual time (tsc_to_system_mul 0: pvclock reads
 * system_time exactly).  Tests then count ticks exactly.  Call before the
 * guest programs its timer; it cannot be turned off.
 */
void hv_domain_set_virtual_time(struct hv_domain *d);
/* The vpt's system time (virtual or hv_system_time()). */
uint64_t hv_vpt_now(struct hv_domain *d);
/* hvm_get_guest_time(v): system time + v's stime_offset (vpt.c). */
uint64_t hv_vpt_guest_time(struct hv_vcpu *v);
/*
 * Virtual time: move it ns forward, firing each timer expiry at its exact
 * time, and after each one wait (up to 10 s) until every vCPU took what it
 * can take (hv_vpt_settled()).  From a thread that is not a vCPU with a
 * timer.  0, -XEN_EINVAL (not virtual), -XEN_ETIMEDOUT.
 */
int hv_vpt_advance(struct hv_domain *d, uint64_t ns);
/*
 * True when no vCPU of d has a timer interrupt it could take now: none
 * deliverable, or the vCPU masks delivery, or it is paused.  A vCPU in its
 * handler, or resumed but not yet back on its pCPU, is not settled.
 */
bool hv_vpt_settled(struct hv_domain *d);
/* Wait for hv_vpt_settled(), up to timeout_ns; false on timeout. */
bool hv_vpt_wait_settled(struct hv_domain *d, uint64_t timeout_ns);

/*
 * Guest side, on a vCPU thread: program this vCPU's periodic timer (the
 * register writes of a PIT / HPET / LAPIC timer in periodic mode; Xen's
 * create_periodic_time()).  period_ns 0 stops it (destroy_periodic_time).
 * Each tick runs fn(arg) on this vCPU as an interrupt: delivery masked
 * (evtchn_upcall_mask, the IF of the model) while it runs, after a
 * hypercall's return or by the kick signal, never while the guest masks.
 * The handler must acknowledge with hv_vpt_eoi() (the EOI): until then
 * no further tick is delivered.  Period < 0.1 ms becomes 0.1 ms (Xen).
 * 0, -XEN_ESRCH (not a vCPU thread).
 */
typedef void (*hv_vpt_handler_fn)(void *arg);
int hv_vpt_program(uint64_t period_ns, hv_vpt_handler_fn fn, void *arg);
void hv_vpt_eoi(void);

/* A vCPU's timer counters (monotonic) and state, for tests and the lab. */
struct hv_vpt_stats {
	uint64_t fired;	   /* pt_timer_fn / pit_timer_fn expiries */
	uint64_t injected; /* handler runs */
	uint64_t eois;
	uint64_t missed;      /* periods counted by pt_process_missed_ticks */
	uint64_t restores;    /* pt_restore_timer with a timer programmed */
	uint64_t saves;	      /* pt_save_timer that stopped it */
	unsigned int pending; /* pending_intr_nr / KVM ps->pending */
	int64_t stime_offset; /* v->arch.hvm.stime_offset */
};
void hv_vpt_get_stats(struct hv_vcpu *v, struct hv_vpt_stats *st);

/*
 * Pausing, as Xen's vcpu_pause() / domain_pause() (xen/common/domain.c):
 * a pause count; the vCPU is taken off its pCPU (pt_save_timer runs, its
 * runstate goes offline) before the call returns, and stays off until the
 * count is back to 0.  A blocked vCPU stays blocked (a wakeup meanwhile
 * leaves it waiting, offline).  Not on the vCPU itself (vcpu_pause:
 * ASSERT(v != current)), nor domain_pause from a vCPU of d: -XEN_EINVAL.
 * Unpause does not wait for the vCPU to run again.
 */
int hv_vcpu_pause(struct hv_vcpu *v);
void hv_vcpu_unpause(struct hv_vcpu *v);
int hv_domain_pause(struct hv_domain *d);    /* xl pause */
void hv_domain_unpause(struct hv_domain *d); /* xl unpause */

#endif /* HV_H */
