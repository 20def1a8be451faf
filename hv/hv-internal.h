/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hv internals shared by the hv/ sources.  Modelled on Xen 4.17 (RELEASE-4.17.7):
 * struct domain / struct vcpu / struct evtchn of xen/include/xen/sched.h,
 * the port ops of xen/include/xen/event.h and xen/common/event_channel.h.
 *
 * Locking (as Xen):
 *   hv_registry_lock    domain list (domid -> domain), plus a refcount
 *                       per domain standing in for Xen's RCU domain lock;
 *   d->event_lock       per-domain rwlock for control operations;
 *   chn->lock           per-channel rwlock: send/unmask/set_priority take
 *                       it for reading, state changes for writing;
 *   v->virq_lock        per-vCPU rwlock around virq_to_evtchn[];
 *   FIFO queue locks    per vCPU per priority (event_fifo.c).
 * Memory shared with the guest (shared_info, event words, control blocks)
 * is only touched with __atomic builtins.
 */
#ifndef HV_INTERNAL_H
#define HV_INTERNAL_H

#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif
#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/memory.h>
#include <xen/version.h>

#include "hv.h"

/* Public only for __XEN__/__XEN_TOOLS__ builds; Xen 4.17 handles it. */
#ifndef EVTCHNOP_reset_cont
#define EVTCHNOP_reset_cont 14
#endif

#define HV_PAGE_SHIFT 12
#define HV_PAGE_SIZE (1UL << HV_PAGE_SHIFT)

/* Xen 4.17 version reported by XENVER_version / XENVER_extraversion. */
#define HV_XEN_MAJOR 4
#define HV_XEN_MINOR 17
#define HV_XEN_EXTRAVERSION ".7"

/*
 * Port storage as Xen's (sched.h): buckets of EVTCHNS_PER_BUCKET channels,
 * allocated on demand.  struct evtchn is aligned(64), so Xen has
 * PAGE_SIZE / 64 = 64 channels per bucket; port validity (port_is_valid)
 * is "inside an allocated bucket", so we keep the same granularity.
 */
#define HV_EVTCHNS_PER_BUCKET 64
#define HV_MAX_EVTCHN_PORTS EVTCHN_FIFO_NR_CHANNELS
#define HV_NR_BUCKETS (HV_MAX_EVTCHN_PORTS / HV_EVTCHNS_PER_BUCKET)
/* Upper bound for hv_domain_set_max_evtchns (FIFO's 2^17 - 1). */
#define HV_MAX_EVTCHN_LIMIT (EVTCHN_FIFO_NR_CHANNELS - 1)

/* 64-bit guest: BITS_PER_EVTCHN_WORD(d) = 64, so 2-level has 64 * 64. */
#define HV_BITS_PER_EVTCHN_WORD (sizeof(xen_ulong_t) * 8)
#define HV_2L_NR_CHANNELS (HV_BITS_PER_EVTCHN_WORD * HV_BITS_PER_EVTCHN_WORD)

/* Channel states, ECS_* of xen/include/xen/sched.h. */
enum {
	ECS_FREE = 0,
	ECS_RESERVED = 1,
	ECS_UNBOUND = 2,
	ECS_INTERDOMAIN = 3,
	ECS_PIRQ = 4,
	ECS_VIRQ = 5,
	ECS_IPI = 6,
	/*
	 * hv only: the guest end of a channel whose other end is an hv
	 * service acting as domain 0 (xenstored, blkback).  Xen has the guest
	 * port ECS_INTERDOMAIN to a dom0 port with xen_consumer set
	 * (alloc_unbound_xen_event_channel); hv has no dom0 ports, so the
	 * consumer sits on the guest's channel itself (evtchn.c, "Xen-consumer
	 * channels").
	 */
	ECS_HV_XEN = 7,
};

struct hv_domain;
struct hv_vcpu;

#define HV_XEN_UNBOUND_MAX 16

struct hv_evtchn {
	pthread_rwlock_t lock;
	uint32_t port;		 /* immutable */
	uint8_t state;		 /* ECS_*; atomic loads outside locks */
	bool pending;		 /* FIFO: saved pending (atomic) */
	uint8_t priority;	 /* FIFO priority (atomic) */
	uint16_t notify_vcpu_id; /* atomic */
	uint32_t fifo_lastq;	 /* atomic, see evtchn-fifo.c */
	union {
		domid_t unbound_remote_domid;
		struct {
			struct hv_domain *remote_dom;
			uint32_t remote_port;
		} interdomain;
		unsigned int virq;
		struct {
			hv_xen_consumer_fn fn; /* under chn->lock */
			void *arg;
			uint32_t remote_port; /* reported by EVTCHNOP_status */
		} xen;
	} u;
};

struct hv_port_ops {
	void (*init)(struct hv_domain *d, struct hv_evtchn *chn);
	void (*set_pending)(struct hv_vcpu *v, struct hv_evtchn *chn);
	void (*clear_pending)(struct hv_domain *d, struct hv_evtchn *chn);
	void (*unmask)(struct hv_domain *d, struct hv_evtchn *chn);
	bool (*is_pending)(const struct hv_domain *d,
			   const struct hv_evtchn *chn);
	bool (*is_masked)(const struct hv_domain *d,
			  const struct hv_evtchn *chn);
	bool (*is_busy)(const struct hv_domain *d, const struct hv_evtchn *chn);
	int (*set_priority)(struct hv_domain *d, struct hv_evtchn *chn,
			    unsigned int priority);
};

extern const struct hv_port_ops hv_evtchn_ops_2l;
extern const struct hv_port_ops hv_evtchn_ops_fifo;

struct hv_fifo_vcpu;
struct hv_fifo_domain;
struct hv_fifo_retired;

/* Per-vCPU time state (time.c); timer fields under d->timer_lock. */
struct hv_vtime {
	uint64_t sshot_deadline;  /* singleshot, 0 = stopped (atomic) */
	uint64_t periodic_period; /* 0 = no periodic timer */
	uint64_t periodic_last;	  /* periodic_last_event */
	uint64_t periodic_next;	  /* periodic timer expiry, 0 = stopped */
	pthread_mutex_t lock;	  /* runstate */
	struct vcpu_runstate_info runstate;
	struct vcpu_runstate_info *runstate_area; /* atomic pointer */
};

/* Per-vCPU scheduling state (sched.c); fields under d->sched.lock. */
struct hv_vsched {
	bool on_pcpu;
	bool boost;	     /* credit1 */
	unsigned int pcpu;   /* the pCPU it holds, or last held */
	uint64_t run_start;  /* on_pcpu since (state_entry_time) */
	int64_t credit;	     /* credit2: ns of credit (svc->credit) */
	uint64_t start_time; /* credit2: burnt up to (svc->start_time) */
	uint64_t slice_end;  /* credit2: csched2_runtime() expiry */
	int want_preempt;    /* atomic */
	sem_t go;	     /* a pCPU handed over */
};

/* A domain's pCPUs and run queue (sched.c). */
struct hv_sched {
	pthread_mutex_t lock;
	unsigned int nr_pcpus; /* 0: one per vCPU, no run queue */
	enum hv_sched_kind kind;
	int64_t ratelimit_ns; /* credit2: sched_ratelimit_us */
	uint32_t free;	      /* mask of free pCPUs: only while runq_len == 0 */
	struct hv_vcpu *runq[HV_MAX_VCPUS];
	unsigned int runq_len;
	pthread_t thread;
	bool started;
	bool exit; /* atomic */
};

/*
 * A vCPU's upcall registration (callback.c).  PV (xen/arch/x86/pv/
 * callback.c register_guest_callback): per-vCPU event and failsafe
 * callback addresses.  PVH (xen/arch/x86/hvm/hvm.c
 * hvmop_set_evtchn_upcall_vector): the per-vCPU vector, 0 = none.  All
 * atomic: the vCPU writes them, kickers on other threads read them.
 */
struct hv_vcallback {
	unsigned long event;	/* CALLBACKTYPE_event, 0 = none */
	unsigned long failsafe; /* CALLBACKTYPE_failsafe, 0 = none */
	bool failsafe_masks;	/* VGCF_failsafe_disables_events */
	uint8_t upcall_vector;	/* HVMOP_set_evtchn_upcall_vector */
};

/* hvm_irq->callback_via_type (xen/arch/x86/include/asm/hvm/irq.h). */
enum hv_callback_via {
	HV_VIA_NONE = 0,
	HV_VIA_GSI = 1,
	HV_VIA_PCI_INTX = 2,
	HV_VIA_VECTOR = 3,
};

struct hv_vcpu {
	struct hv_domain *domain;
	unsigned int id;
	pthread_t thread;
	bool thread_started;
	struct vcpu_info *vcpu_info; /* in d->shared_info */

	/* Thread lifetime, for pthread_kill (alive under lock). */
	pthread_mutex_t lock;
	bool alive;

	int up;		       /* VCPUOP_is_up (atomic) */
	int blocked;	       /* _VPF_blocked (atomic) */
	int poked;	       /* hv_vcpu_poke() not yet consumed (atomic) */
	int in_hv;	       /* nesting depth inside hv (atomic) */
	int kick_outstanding;  /* a kick signal not yet handled (atomic) */
	uint64_t kick_sent_ns; /* when it was sent (atomic) */
	/*
	 * The per-vCPU upcall vector's bit in the local APIC's IRR
	 * (vlapic_set_irq): set on the 0 -> 1 edge of evtchn_upcall_pending,
	 * at HVMOP_set_evtchn_upcall_vector, and by the guest's self-IPI;
	 * taken when the upcall is delivered (atomic).
	 */
	uint8_t vec_irr;
	int reraise;	     /* the running upcall asked to run again */
	uint64_t reraise_at; /* ... a kick the timer thread sends (atomic) */
	int poll_evtchn;     /* SCHEDOP_poll: -1 any, 0 none, else port */
	uint64_t rng;	     /* fault injection (own thread only) */

	pthread_rwlock_t virq_lock;
	uint32_t virq_to_evtchn[NR_VIRQS]; /* atomic */

	struct hv_fifo_vcpu *fifo; /* atomic pointer */
	struct hv_vtime vtime;
	struct hv_vsched sc;
	struct hv_vcallback cb;

	/* Emulated platform timer and pausing (vpt.c, pause.c). */
	struct hv_vpt *vpt; /* atomic pointer; NULL until programmed */
	int pause_count;    /* atomic; vcpu_pause() / domain_pause() */
	int parked;	    /* atomic; waiting in hv_pause_wait() */
	int on_cpu; /* atomic; set after hv_schedule, cleared in hv_deschedule */
};

struct hv_domain {
	domid_t domid;
	struct hv_domain_config cfg;
	int refcnt; /* atomic; registry reference + users */

	void *arena;
	unsigned int nr_pages;
	struct shared_info *shared_info; /* hv-owned page */
	int64_t shinfo_gfn;		 /* atomic; -1 = not mapped */

	struct hv_vcpu vcpus[HV_MAX_VCPUS];
	unsigned int nr_vcpus;

	/* Event channels (event_channel.c). */
	pthread_rwlock_t event_lock;
	unsigned int max_evtchn_port;		   /* atomic */
	unsigned int valid_evtchns;		   /* atomic */
	unsigned int active_evtchns;		   /* atomic */
	struct hv_evtchn *buckets[HV_NR_BUCKETS];  /* atomic pointers */
	const struct hv_port_ops *evtchn_port_ops; /* atomic pointer */
	struct hv_fifo_domain *evtchn_fifo;	   /* atomic pointer */
	bool reset_in_progress;			   /* under event_lock */
	/*
	 * Domain 0's ends of Xen-consumer channels whose guest end was
	 * closed (EVTCHNOP_close or _reset): unbound for this domain again,
	 * as evtchn_close() leaves the remote end of an interdomain channel,
	 * so EVTCHNOP_bind_interdomain(0, remote_port) reconnects the
	 * service.  Under event_lock; dropped by hv_evtchn_unbind_xen().
	 */
	struct hv_xen_unbound {
		uint32_t remote_port, old_port;
		hv_xen_consumer_fn fn;
		void *arg;
	} xen_unbound[HV_XEN_UNBOUND_MAX];
	unsigned int nr_xen_unbound;
	unsigned int free_hint; /* under event_lock, see evtchn.c */
	struct hv_fifo_retired *fifo_retired; /* under event_lock */
	unsigned long poll_mask;	      /* atomic, one bit per vCPU */

	struct hv_sched sched;

	/*
	 * PVH: HVM_PARAM_CALLBACK_IRQ as set (params[]), and the via it gave
	 * (hvm_set_callback_via); atomic.  PV: unused.
	 */
	uint64_t callback_irq_param;
	uint8_t callback_via_type; /* enum hv_callback_via */
	uint8_t callback_via_vector;

	/* Timers (time.c). */
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cond;
	pthread_t timer_thread;
	bool timer_started;
	bool timer_exit;	/* under timer_lock */
	uint64_t timer_wake_at; /* under timer_lock, see time.c */

	int shutdown_code;	 /* atomic; -1 = running */
	struct hv_faults faults; /* atomic fields */
	/* hv_domain_set_suspend_plan(): the plan under timer_lock, set
	 * atomic */
	struct hv_suspend_plan suspend_plan;
	bool suspend_plan_set;
	/* hv_domain_set_evtchn_hook(); read atomically per call */
	hv_evtchn_hook_fn evtchn_hook;
	void *evtchn_hook_data;
	uint64_t halt_poll_ns;	      /* atomic; hv_domain_set_halt_poll_ns */
	struct hv_domain_stats stats; /* relaxed atomic counters */
	struct hv_gnttab *gnttab;     /* gnttab.c */
	void *guest;		      /* atomic pointer */
	void *xs; /* atomic pointer: hv/xenstore.c's connection, or NULL */
	struct hv_vpt_domain *vpt; /* atomic pointer: vpt.c, or NULL */
};

#define hv_stat_inc(d, field) \
	__atomic_fetch_add(&(d)->stats.field, 1, __ATOMIC_RELAXED)

/* domain.c */
struct hv_domain *hv_domain_get_by_id(domid_t domid, struct hv_domain *cur);
void hv_domain_put(struct hv_domain *d);
void hv_domain_ref(struct hv_domain *d);
int hv_domain_renumber(struct hv_domain *d);

/* suspend.c */
long hv_domain_suspend(struct hv_vcpu *v);

/* vcpu.c */
struct hv_vcpu *hv_vcpu_current(void);
void hv_vcpu_mark_events_pending(struct hv_vcpu *v);
bool hv_vcpu_unblock(struct hv_vcpu *v);
int hv_vcpu_is_up(const struct hv_vcpu *v);
void hv_enter(struct hv_vcpu *v);
void hv_leave(struct hv_vcpu *v);
long hv_sched_block(struct hv_vcpu *v);
long hv_sched_poll(struct hv_vcpu *v, struct sched_poll *poll);
void hv_vcpu_install_signal(void);
void hv_vcpu_kick(struct hv_vcpu *v);

/* callback.c */
typedef void (*hv_upcall_fn)(void);
bool hv_is_pv(const struct hv_domain *d);
hv_upcall_fn hv_upcall_entry(struct hv_vcpu *v);
bool hv_upcall_kicks(struct hv_vcpu *v);
bool hv_upcall_edge(struct hv_vcpu *v);
void hv_upcall_unregistered(struct hv_vcpu *v);
long hv_do_callback_op(struct hv_vcpu *v, int cmd, void *arg);
long hv_hvm_set_callback_irq(struct hv_domain *d, uint64_t value);
long hv_hvmop_set_evtchn_upcall_vector(struct hv_vcpu *v, void *arg);

/* time.c */
struct timespec;
void hv_time_init(void);
uint64_t hv_now_ns(void); /* Xen system time (NOW()) */
void hv_stime_to_timespec(uint64_t deadline, struct timespec *ts);
void hv_update_vcpu_time(struct hv_vcpu *v);
void hv_runstate_change(struct hv_vcpu *v, int state);
uint64_t hv_vcpu_sshot_deadline(struct hv_vcpu *v);
bool hv_vcpu_fire_own_timer(struct hv_vcpu *v);
void hv_vcpu_stop_periodic(struct hv_vcpu *v);
void hv_vcpu_resume_time(struct hv_vcpu *v);
void hv_vcpu_switch_out(struct hv_vcpu *v);
void hv_vcpu_switch_in(struct hv_vcpu *v);
void hv_vcpu_time_start(struct hv_vcpu *v);
void hv_vcpu_time_stop(struct hv_vcpu *v);
void hv_time_jump(uint64_t ns);
void hv_vcpu_time_restore(struct hv_vcpu *v);
int hv_time_domain_init(struct hv_domain *d);
void hv_time_domain_stop(struct hv_domain *d);
void hv_time_domain_destroy(struct hv_domain *d);
long hv_vcpu_time_op(struct hv_vcpu *cur, struct hv_vcpu *v, int cmd,
		     void *arg);
long hv_do_set_timer_op(struct hv_vcpu *v, int64_t timeout);

/* sched.c */
void hv_deschedule(struct hv_vcpu *v, int state);
void hv_schedule(struct hv_vcpu *v, bool wake);
void hv_sched_preempt_point(struct hv_vcpu *v);
void hv_sched_yield(struct hv_vcpu *v);
int hv_sched_domain_init(struct hv_domain *d);
void hv_sched_domain_stop(struct hv_domain *d);
void hv_sched_domain_destroy(struct hv_domain *d);
void hv_vcpu_signal(struct hv_vcpu *v);
/*
 * A kick signal unanswered for HV_KICK_RESEND_NS is sent again (the timer
 * thread watches): ThreadSanitizer's runtime was measured to swallow one
 * now and then (1 run in ~200 of time/sshot_past under TSan).
 * hv_vcpu_kick_resend_at(): when v's is due (0: none outstanding).
 */
#define HV_KICK_RESEND_NS 10000000ULL
uint64_t hv_vcpu_kick_resend_at(struct hv_vcpu *v);
void hv_vcpu_resend_kick(struct hv_vcpu *v);
/*
 * hv_vcpu_reraise_upcall(): the self-kick the timer thread sends once the
 * upcall that asked for it has returned (0: none due); and sending it.
 */
#define HV_RERAISE_RETRY_NS 200000ULL
uint64_t hv_vcpu_reraise_at(struct hv_vcpu *v);
void hv_vcpu_reraise_kick(struct hv_vcpu *v, uint64_t seen);
/* Wake the timer thread by at (under timer_lock; time.c). */
void hv_time_watch(struct hv_domain *d, uint64_t at);

/* vpt.c: the emulated platform timer's hooks */
struct hv_vpt;
struct hv_vpt_domain;
void hv_vpt_save(struct hv_vcpu *v, int state); /* pt_save_timer */
void hv_vpt_restore(struct hv_vcpu *v);		/* pt_restore_timer */
void hv_vpt_deliver(struct hv_vcpu *v); /* on the vCPU, delivery unmasked */
bool hv_vpt_need_delivery(struct hv_vcpu *v);
void hv_vpt_time_record(struct hv_vcpu *v, uint64_t *system_time,
			uint32_t *mul);
void hv_vpt_domain_destroy(struct hv_domain *d);

/* pause.c */
void hv_pause_wait(struct hv_vcpu *v); /* in hv_schedule: wait if paused */

/* gnttab.c */
struct hv_gnttab;
int hv_gnttab_init(struct hv_domain *d);
void hv_gnttab_destroy(struct hv_domain *d);
long hv_do_grant_table_op(struct hv_vcpu *v, unsigned int cmd, void *arg,
			  unsigned int count);
int hv_gnttab_map_frame(struct hv_domain *d, unsigned long idx, uint64_t gpfn);
/* A restore: the new domain's empty table (suspend.c). */
void hv_gnttab_restore_reset(struct hv_domain *d);

/* hypercall.c / memory.c */
long hv_do_memory_op(struct hv_vcpu *v, unsigned long cmd, void *arg);

/* evtchn.c */
int hv_evtchn_init(struct hv_domain *d);
void hv_evtchn_destroy(struct hv_domain *d);
void hv_evtchn_restore_reset(struct hv_domain *d);
void hv_evtchn_free_buckets(struct hv_domain *d);
long hv_do_event_channel_op(struct hv_vcpu *v, int cmd, void *arg);
bool hv_port_is_valid(const struct hv_domain *d, uint32_t port);
struct hv_evtchn *hv_evtchn_from_port(const struct hv_domain *d, uint32_t port);
const struct hv_port_ops *hv_port_ops(const struct hv_domain *d);
void hv_evtchn_port_set_pending(struct hv_domain *d, unsigned int vcpu_id,
				struct hv_evtchn *chn);
void hv_evtchn_check_pollers(struct hv_domain *d, uint32_t port);
int hv_evtchn_port_poll(struct hv_domain *d, uint32_t port);
uint8_t hv_chn_state(const struct hv_evtchn *chn);
unsigned int hv_chn_notify_vcpu(const struct hv_evtchn *chn);

/* evtchn-fifo.c */
int hv_fifo_init_control(struct hv_vcpu *cur, struct evtchn_init_control *ic);
int hv_fifo_expand_array(struct hv_vcpu *cur,
			 const struct evtchn_expand_array *ea);
void hv_fifo_destroy(struct hv_domain *d);
void hv_fifo_free_retired(struct hv_domain *d);
int hv_map_guest_page(struct hv_domain *d, uint64_t gfn, void **virt);

/* Guest-memory bit helpers (Xen's guest_test_and_set_bit & co). */
static inline bool hv_test_and_set_bit_ul(unsigned int nr, xen_ulong_t *addr)
{
	xen_ulong_t m = (xen_ulong_t)1 << (nr % HV_BITS_PER_EVTCHN_WORD);

	return __atomic_fetch_or(addr + nr / HV_BITS_PER_EVTCHN_WORD, m,
				 __ATOMIC_SEQ_CST) &
	       m;
}

static inline bool hv_test_and_clear_bit_ul(unsigned int nr, xen_ulong_t *addr)
{
	xen_ulong_t m = (xen_ulong_t)1 << (nr % HV_BITS_PER_EVTCHN_WORD);

	return __atomic_fetch_and(addr + nr / HV_BITS_PER_EVTCHN_WORD, ~m,
				  __ATOMIC_SEQ_CST) &
	       m;
}

static inline bool hv_test_bit_ul(unsigned int nr, const xen_ulong_t *addr)
{
	xen_ulong_t m = (xen_ulong_t)1 << (nr % HV_BITS_PER_EVTCHN_WORD);

	return __atomic_load_n(addr + nr / HV_BITS_PER_EVTCHN_WORD,
			       __ATOMIC_SEQ_CST) &
	       m;
}

#endif /* HV_INTERNAL_H */
