// SPDX-License-Identifier: GPL-2.0
/*
 * hv vpt: an emulated periodic platform timer per vCPU (the PIT, RTC,
 * HPET or LAPIC timer in periodic mode of an HVM guest) and what it does
 * with ticks its vCPU cannot take, after Xen 4.17's virtual platform
 * timer (xen/arch/x86/hvm/vpt.c, RELEASE-4.17.7) under each
 * HVM_PARAM_TIMER_MODE, and after Linux KVM's in-kernel i8254
 * (arch/x86/kvm/i8254.c) with KVM_REINJECT_CONTROL on and off.
 * docs/time-drift.md describes the policies and the figures.
 *
 * The model, function by function (Xen names; "pt" is the vCPU's timer):
 *
 *  - create_periodic_time(): the guest programs a period (hv_vpt_program
 *    stands in for the register writes); the first expiry is one period
 *    away (the PIT's delta: emul-i8254.c pit_load_count passes period
 *    as both), last_plt_gtime is the guest time then;
 *  - pt_timer_fn(): an expiry counts one pending interrupt
 *    (pending_intr_nr++), moves scheduled on by one period, clears
 *    do_not_freeze and kicks the vCPU.  The timer is not re-armed here:
 *    pt_irq_fired() or pt_restore_timer() does that;
 *  - pt_update_irq() + pt_intr_post(): with an interrupt pending and the
 *    vector not in service, the vCPU takes it when its delivery is
 *    unmasked; the injection runs pt_irq_fired():
 *      delay / no_delay_for_missed_ticks: last_plt_gtime += period, one
 *        fewer pending; at 0 pt_process_missed_ticks() and re-arm;
 *      no_missed_ticks_pending / one_missed_tick_pending: last_plt_gtime =
 *        now, pt_process_missed_ticks(), pending = 0 ("collapse all
 *        missed ticks"), re-arm;
 *      delay_for_missed_ticks: guest time is stepped up to last_plt_gtime;
 *  - pt_process_missed_ticks(): missed = (now - scheduled) / period + 1
 *    when now is past scheduled; no_missed_ticks_pending only sets
 *    do_not_freeze = !pending_intr_nr, the others add missed to
 *    pending_intr_nr; scheduled moves on by missed periods;
 *  - pt_save_timer() (context switch out, not for a blocked vCPU): stop
 *    the timer unless do_not_freeze; pt_freeze_time() saves the guest time
 *    (delay_for_missed_ticks only);
 *  - pt_restore_timer() (hvm_do_resume): a timer with nothing pending
 *    counts its missed ticks and is re-armed; pt_thaw_time() sets the
 *    guest time back to the frozen value (delay_for_missed_ticks only).
 *
 * Guest time is hvm_get_guest_time(): system time plus the vCPU's
 * stime_offset, what the emulated PIT/HPET/RTC counters read.  In 4.17
 * hvm_set_guest_time() moves stime_offset (nanoseconds); the vCPU's
 * pvclock (vcpu_time_info) keeps Xen's system time either way
 * (update_vcpu_system_time, xen/arch/x86/time.c: system_time is the
 * pCPU's local_stime; the offset only enters tsc_timestamp under an
 * emulated TSC, where it cancels), so hv's pvclock is not moved.
 *
 * KVM's PIT: pit_timer_fn() is a host hrtimer that keeps its grid whether
 * or not the vCPU runs (HRTIMER_RESTART, expires += period); with
 * reinject it counts ps->pending, and pit_do_work() (a kthread worker)
 * raises the edge only once the previous tick was acknowledged (irq_ack);
 * kvm_pit_ack_irq(), the EOI notifier, sets irq_ack and raises the next
 * one while ticks are pending.  Without reinject every expiry raises the
 * edge, and edges that find the IRR set are lost (coalesced).  The worker
 * is modelled as running at once.
 *
 * Delivery: an interrupt of the model runs the guest's handler on the
 * vCPU thread from hv's delivery path (vcpu.c hv_deliver), with delivery
 * masked (evtchn_upcall_mask, the IF of the model) while it runs; the
 * handler's hv_vpt_eoi() is the EOI that lets the next one in.  A guest
 * that masks delivery holds the interrupt off, as IF=0 does (Xen's
 * pt_irq_masked() concerns the PIC/IOAPIC/LVT masks, which the model does
 * not have).  Kicks are Xen's vcpu_kick(): unblock or signal.
 *
 * Time: the vpt's NOW() is hv's system time, or, after
 * hv_domain_set_virtual_time(), a virtual clock that only
 * hv_vpt_advance() moves, so that tests count exact ticks.  In real time
 * one thread per domain fires the expiries (Xen: the timer softirq).
 *
 * Locking: vd->lock covers every struct hv_vpt of the domain (Xen has a
 * tm_lock per vCPU and the pt_migrate lock; hv's timers never move).
 * Kicks and the guest's handler run with it dropped.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hv-internal.h"

#define HV_VPT_MIN_PERIOD_NS 100000ULL /* "at least 0.1ms" */
#define HV_VPT_SETTLE_NS (10ULL * 1000000000ULL)

struct hv_vpt {
	struct hv_vcpu *v;
	hv_vpt_handler_fn fn;
	void *arg;
	uint64_t period;    /* pt->period; 0 = not programmed */
	uint64_t scheduled; /* pt->scheduled: the next expiry */
	bool armed;	    /* pt->timer is set for scheduled */
	bool do_not_freeze; /* pt->do_not_freeze */
	bool in_service;    /* injected, no EOI yet (the vector's ISR bit) */
	bool in_handler;    /* the guest's handler is running */
	unsigned int pending_intr_nr; /* Xen; KVM: ps->pending */
	uint64_t last_plt_gtime;
	bool irr;     /* KVM: the edge latched in the IRR, not yet taken */
	bool irq_ack; /* KVM: ps->irq_ack */
	int64_t stime_offset; /* v->arch.hvm.stime_offset */
	uint64_t guest_time;  /* v->arch.hvm.guest_time: frozen, 0 = none */
	struct hv_vpt_stats st;
};

struct hv_vpt_domain {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* the real-time thread waits on it */
	enum hv_vpt_policy policy;
	bool virt;
	uint64_t vnow; /* virtual NOW(); atomic loads outside the lock */
	pthread_t thread;
	bool thread_started;
	bool exit;
	struct hv_vpt vpt[HV_MAX_VCPUS];
};

static pthread_mutex_t hv_vpt_alloc_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const hv_vpt_names[HV_VPT_NR_POLICIES] = {
	[HV_VPT_DELAY_FOR_MISSED_TICKS] = "delay_for_missed_ticks",
	[HV_VPT_NO_DELAY_FOR_MISSED_TICKS] = "no_delay_for_missed_ticks",
	[HV_VPT_NO_MISSED_TICKS_PENDING] = "no_missed_ticks_pending",
	[HV_VPT_ONE_MISSED_TICK_PENDING] = "one_missed_tick_pending",
	[HV_VPT_KVM_PIT_REINJECT] = "kvm_pit_reinject",
	[HV_VPT_KVM_PIT_NO_REINJECT] = "kvm_pit_no_reinject",
};

const char *hv_vpt_policy_name(enum hv_vpt_policy p)
{
	return (unsigned int)p < HV_VPT_NR_POLICIES ? hv_vpt_names[p] : "?";
}

static struct hv_vpt_domain *hv_vpt_dom(struct hv_domain *d)
{
	return __atomic_load_n(&d->vpt, __ATOMIC_ACQUIRE);
}

/* The domain's vpt state, made on first use. */
static struct hv_vpt_domain *hv_vpt_dom_get(struct hv_domain *d)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(d);
	pthread_condattr_t ca;
	unsigned int i;

	if (vd)
		return vd;
	pthread_mutex_lock(&hv_vpt_alloc_lock);
	vd = hv_vpt_dom(d);
	if (!vd) {
		vd = calloc(1, sizeof(*vd));
		if (vd) {
			pthread_mutex_init(&vd->lock, NULL);
			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&vd->cond, &ca);
			pthread_condattr_destroy(&ca);
			/* HVM_PARAM_TIMER_MODE reads 0 until set. */
			vd->policy = HV_VPT_DELAY_FOR_MISSED_TICKS;
			for (i = 0; i < HV_MAX_VCPUS; i++)
				vd->vpt[i].v = &d->vcpus[i];
			__atomic_store_n(&d->vpt, vd, __ATOMIC_RELEASE);
		}
	}
	pthread_mutex_unlock(&hv_vpt_alloc_lock);
	return vd;
}

static bool hv_vpt_is_kvm(const struct hv_vpt_domain *vd)
{
	return vd->policy >= HV_VPT_KVM_PIT_REINJECT;
}

static bool hv_vpt_mode_is(const struct hv_vpt_domain *vd, enum hv_vpt_policy p)
{
	return vd->policy == p;
}

/* NOW() for the vpt (under vd->lock or with an atomic vnow read). */
static uint64_t hv_vpt_clock(struct hv_vpt_domain *vd)
{
	if (vd->virt)
		return __atomic_load_n(&vd->vnow, __ATOMIC_ACQUIRE);
	return hv_now_ns();
}

/* hvm_get_guest_time() / hvm_set_guest_time(), per vCPU. */
static uint64_t hv_vpt_get_guest_time(struct hv_vpt_domain *vd,
				      struct hv_vpt *pt)
{
	return hv_vpt_clock(vd) + (uint64_t)pt->stime_offset;
}

static void hv_vpt_set_guest_time(struct hv_vpt_domain *vd, struct hv_vpt *pt,
				  uint64_t gt)
{
	pt->stime_offset += (int64_t)(gt - hv_vpt_get_guest_time(vd, pt));
}

/* set_timer(&pt->timer, pt->scheduled); the real-time thread re-reads. */
static void hv_vpt_set_timer(struct hv_vpt_domain *vd, struct hv_vpt *pt)
{
	pt->armed = true;
	if (!vd->virt)
		pthread_cond_signal(&vd->cond);
}

/* vcpu_kick(): wake a blocked vCPU, signal one running guest code. */
static void hv_vpt_kick(struct hv_vcpu *v)
{
	if (__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST)) {
		hv_vcpu_unblock(v);
		return;
	}
	/* A vCPU inside hv delivers on its way out (hv_leave). */
	if (!__atomic_load_n(&v->in_hv, __ATOMIC_SEQ_CST))
		hv_vcpu_signal(v);
}

/* --- Xen: xen/arch/x86/hvm/vpt.c ----------------------------------------- */

/* pt_process_missed_ticks() */
static void pt_process_missed_ticks(struct hv_vpt_domain *vd, struct hv_vpt *pt)
{
	uint64_t now = hv_vpt_clock(vd), missed;

	if (now <= pt->scheduled)
		return;
	missed = (now - pt->scheduled) / pt->period + 1;
	pt->st.missed += missed;
	if (hv_vpt_mode_is(vd, HV_VPT_NO_MISSED_TICKS_PENDING))
		pt->do_not_freeze = !pt->pending_intr_nr;
	else
		pt->pending_intr_nr += (unsigned int)missed;
	pt->scheduled += missed * pt->period;
}

/* pt_timer_fn(): true if the vCPU is to be kicked. */
static bool pt_timer_fn(struct hv_vpt *pt)
{
	pt->st.fired++;
	pt->armed = false; /* a Xen timer fires once; set_timer re-arms */
	pt->pending_intr_nr++;
	pt->scheduled += pt->period;
	pt->do_not_freeze = false;
	return true;
}

/* pt_irq_fired(), from pt_intr_post() when the interrupt is injected. */
static void pt_irq_fired(struct hv_vpt_domain *vd, struct hv_vpt *pt)
{
	if (hv_vpt_mode_is(vd, HV_VPT_ONE_MISSED_TICK_PENDING) ||
	    hv_vpt_mode_is(vd, HV_VPT_NO_MISSED_TICKS_PENDING)) {
		pt->last_plt_gtime = hv_vpt_get_guest_time(vd, pt);
		pt_process_missed_ticks(vd, pt);
		pt->pending_intr_nr = 0; /* 'collapse' all missed ticks */
		hv_vpt_set_timer(vd, pt);
	} else {
		pt->last_plt_gtime += pt->period;
		if (--pt->pending_intr_nr == 0) {
			pt_process_missed_ticks(vd, pt);
			if (pt->pending_intr_nr == 0)
				hv_vpt_set_timer(vd, pt);
		}
	}
	if (hv_vpt_mode_is(vd, HV_VPT_DELAY_FOR_MISSED_TICKS) &&
	    hv_vpt_get_guest_time(vd, pt) < pt->last_plt_gtime)
		hv_vpt_set_guest_time(vd, pt, pt->last_plt_gtime);
}

/* --- KVM: arch/x86/kvm/i8254.c ------------------------------------------- */

/* pit_do_work(): raise the edge (kvm_set_irq 1 then 0); true to kick. */
static bool kvm_pit_do_work(struct hv_vpt_domain *vd, struct hv_vpt *pt)
{
	if (hv_vpt_mode_is(vd, HV_VPT_KVM_PIT_REINJECT)) {
		/* atomic_xchg(&ps->irq_ack, 0): the last tick not yet acked */
		if (!pt->irq_ack)
			return false;
		pt->irq_ack = false;
	}
	pt->irr = true; /* an edge into a set IRR is lost */
	return true;
}

/* pit_timer_fn(): the hrtimer keeps its grid (HRTIMER_RESTART). */
static bool kvm_pit_timer_fn(struct hv_vpt_domain *vd, struct hv_vpt *pt)
{
	pt->st.fired++;
	if (hv_vpt_mode_is(vd, HV_VPT_KVM_PIT_REINJECT))
		pt->pending_intr_nr++;
	pt->scheduled += pt->period; /* hrtimer_add_expires_ns() */
	return kvm_pit_do_work(vd, pt);
}

/* kvm_pit_ack_irq(), the irq ack notifier (reinject only). */
static void kvm_pit_ack_irq(struct hv_vpt_domain *vd, struct hv_vpt *pt)
{
	if (!hv_vpt_mode_is(vd, HV_VPT_KVM_PIT_REINJECT))
		return;
	pt->irq_ack = true;
	/* atomic_dec_if_positive(&ps->pending) > 0 */
	if (pt->pending_intr_nr > 0 && --pt->pending_intr_nr > 0)
		kvm_pit_do_work(vd, pt);
}

/* --- both ---------------------------------------------------------------- */

static bool hv_vpt_fire(struct hv_vpt_domain *vd, struct hv_vpt *pt)
{
	return hv_vpt_is_kvm(vd) ? kvm_pit_timer_fn(vd, pt) : pt_timer_fn(pt);
}

/* An interrupt the vCPU could take once its delivery is unmasked. */
static bool hv_vpt_deliverable(const struct hv_vpt_domain *vd,
			       const struct hv_vpt *pt)
{
	if (!pt->period || pt->in_service)
		return false;
	return hv_vpt_is_kvm(vd) ? pt->irr : pt->pending_intr_nr != 0;
}

/* The earliest armed expiry at or before limit (0: none). */
static struct hv_vpt *hv_vpt_first_due(struct hv_domain *d,
				       struct hv_vpt_domain *vd, uint64_t limit,
				       uint64_t *first)
{
	struct hv_vpt *best = NULL;
	unsigned int i;

	*first = 0;
	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vpt *pt = &vd->vpt[i];

		if (!pt->period || !pt->armed)
			continue;
		if (!*first || pt->scheduled < *first) {
			*first = pt->scheduled;
			best = pt;
		}
	}
	return best && *first <= limit ? best : NULL;
}

/* The real-time expiries (Xen's timer softirq, KVM's hrtimer). */
static void *hv_vpt_thread(void *arg)
{
	struct hv_domain *d = arg;
	struct hv_vpt_domain *vd = hv_vpt_dom(d);
	struct hv_vcpu *kick[HV_MAX_VCPUS];
	struct hv_vpt *pt;
	struct timespec ts;
	uint64_t first;
	unsigned int i, n;

	pthread_mutex_lock(&vd->lock);
	while (!vd->exit) {
		n = 0;
		while ((pt = hv_vpt_first_due(d, vd, hv_now_ns(), &first))) {
			if (hv_vpt_fire(vd, pt)) {
				for (i = 0; i < n && kick[i] != pt->v; i++)
					;
				if (i == n)
					kick[n++] = pt->v;
			}
		}
		if (n) {
			pthread_mutex_unlock(&vd->lock);
			for (i = 0; i < n; i++)
				hv_vpt_kick(kick[i]);
			pthread_mutex_lock(&vd->lock);
			continue;
		}
		if (!first) {
			pthread_cond_wait(&vd->cond, &vd->lock);
		} else {
			hv_stime_to_timespec(first, &ts);
			pthread_cond_timedwait(&vd->cond, &vd->lock, &ts);
		}
	}
	pthread_mutex_unlock(&vd->lock);
	return NULL;
}

/* --- the hooks: context switch, delivery, time record -------------------- */

/* pt_save_timer() + pt_freeze_time(): v leaves its pCPU in state. */
void hv_vpt_save(struct hv_vcpu *v, int state)
{
	struct hv_vpt *pt = __atomic_load_n(&v->vpt, __ATOMIC_ACQUIRE);
	struct hv_vpt_domain *vd;

	if (!pt)
		return;
	vd = hv_vpt_dom(v->domain);
	pthread_mutex_lock(&vd->lock);
	/* "if ( v->pause_flags & VPF_blocked ) return;": a halted vCPU's
	 * timer runs on, its tick is what wakes it. */
	if (pt->period && !hv_vpt_is_kvm(vd) && state != RUNSTATE_blocked) {
		if (!pt->do_not_freeze && pt->armed) {
			pt->armed = false; /* stop_timer() */
			pt->st.saves++;
		}
		if (hv_vpt_mode_is(vd, HV_VPT_DELAY_FOR_MISSED_TICKS))
			pt->guest_time = hv_vpt_get_guest_time(vd, pt);
	}
	pthread_mutex_unlock(&vd->lock);
}

/* pt_restore_timer() + pt_thaw_time(): v is back on a pCPU. */
void hv_vpt_restore(struct hv_vcpu *v)
{
	struct hv_vpt *pt = __atomic_load_n(&v->vpt, __ATOMIC_ACQUIRE);
	struct hv_vpt_domain *vd;

	if (!pt)
		return;
	vd = hv_vpt_dom(v->domain);
	pthread_mutex_lock(&vd->lock);
	if (pt->period && !hv_vpt_is_kvm(vd)) {
		pt->st.restores++;
		if (pt->pending_intr_nr == 0) {
			pt_process_missed_ticks(vd, pt);
			hv_vpt_set_timer(vd, pt);
		}
		if (hv_vpt_mode_is(vd, HV_VPT_DELAY_FOR_MISSED_TICKS) &&
		    pt->guest_time) {
			hv_vpt_set_guest_time(vd, pt, pt->guest_time);
			pt->guest_time = 0;
		}
	}
	pthread_mutex_unlock(&vd->lock);
}

bool hv_vpt_need_delivery(struct hv_vcpu *v)
{
	struct hv_vpt *pt = __atomic_load_n(&v->vpt, __ATOMIC_ACQUIRE);
	struct hv_vpt_domain *vd;
	bool ret;

	if (!pt)
		return false;
	vd = hv_vpt_dom(v->domain);
	pthread_mutex_lock(&vd->lock);
	ret = hv_vpt_deliverable(vd, pt);
	pthread_mutex_unlock(&vd->lock);
	return ret;
}

/*
 * On v's thread with delivery unmasked (hv_deliver): inject what can be
 * injected, one interrupt per EOI.  Xen injects at the VM entry after
 * pt_update_irq() asserted the line, and pt_intr_post() runs
 * pt_irq_fired() at that injection, not at the EOI.
 */
void hv_vpt_deliver(struct hv_vcpu *v)
{
	struct hv_vpt *pt = __atomic_load_n(&v->vpt, __ATOMIC_ACQUIRE);
	struct vcpu_info *vi = v->vcpu_info;
	struct hv_vpt_domain *vd;
	hv_vpt_handler_fn fn;
	void *arg;

	if (!pt)
		return;
	vd = hv_vpt_dom(v->domain);
	while (!__atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST)) {
		pthread_mutex_lock(&vd->lock);
		if (pt->in_handler || !hv_vpt_deliverable(vd, pt)) {
			pthread_mutex_unlock(&vd->lock);
			return;
		}
		if (hv_vpt_is_kvm(vd))
			pt->irr = false; /* the PIC/IOAPIC hands it over */
		else
			pt_irq_fired(vd, pt);
		pt->in_service = true;
		pt->in_handler = true;
		pt->st.injected++;
		fn = pt->fn;
		arg = pt->arg;
		pthread_mutex_unlock(&vd->lock);

		/* Interrupt entry clears IF; the handler's return sets it. */
		__atomic_store_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
		fn(arg);
		__atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);

		pthread_mutex_lock(&vd->lock);
		pt->in_handler = false;
		pthread_mutex_unlock(&vd->lock);
	}
}

/*
 * update_vcpu_system_time() under virtual time: the record of a vCPU with
 * a timer reads the virtual clock exactly (mul 0: the TSC adds nothing).
 */
void hv_vpt_time_record(struct hv_vcpu *v, uint64_t *system_time, uint32_t *mul)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(v->domain);

	if (!vd || !vd->virt || !__atomic_load_n(&v->vpt, __ATOMIC_ACQUIRE))
		return;
	*system_time = __atomic_load_n(&vd->vnow, __ATOMIC_ACQUIRE);
	*mul = 0;
}

void hv_vpt_domain_destroy(struct hv_domain *d)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(d);
	unsigned int i;

	if (!vd)
		return;
	if (vd->thread_started) {
		pthread_mutex_lock(&vd->lock);
		vd->exit = true;
		pthread_cond_signal(&vd->cond);
		pthread_mutex_unlock(&vd->lock);
		pthread_join(vd->thread, NULL);
	}
	for (i = 0; i < HV_MAX_VCPUS; i++)
		__atomic_store_n(&d->vcpus[i].vpt, NULL, __ATOMIC_RELEASE);
	__atomic_store_n(&d->vpt, NULL, __ATOMIC_RELEASE);
	pthread_cond_destroy(&vd->cond);
	pthread_mutex_destroy(&vd->lock);
	free(vd);
}

/* --- the API (hv.h) ------------------------------------------------------- */

int hv_domain_set_timer_policy(struct hv_domain *d, enum hv_vpt_policy p)
{
	struct hv_vpt_domain *vd;

	if ((unsigned int)p >= HV_VPT_NR_POLICIES)
		return -XEN_EINVAL;
	vd = hv_vpt_dom_get(d);
	if (!vd)
		return -XEN_ENOMEM;
	pthread_mutex_lock(&vd->lock);
	vd->policy = p;
	pthread_mutex_unlock(&vd->lock);
	return 0;
}

void hv_domain_set_virtual_time(struct hv_domain *d)
{
	struct hv_vpt_domain *vd = hv_vpt_dom_get(d);

	if (!vd)
		return;
	pthread_mutex_lock(&vd->lock);
	if (!vd->virt) {
		__atomic_store_n(&vd->vnow, hv_now_ns(), __ATOMIC_RELEASE);
		vd->virt = true;
	}
	pthread_mutex_unlock(&vd->lock);
}

uint64_t hv_vpt_now(struct hv_domain *d)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(d);

	return vd ? hv_vpt_clock(vd) : hv_now_ns();
}

uint64_t hv_vpt_guest_time(struct hv_vcpu *v)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(v->domain);
	uint64_t gt;

	if (!vd)
		return hv_now_ns();
	pthread_mutex_lock(&vd->lock);
	gt = hv_vpt_get_guest_time(vd, &vd->vpt[v->id]);
	pthread_mutex_unlock(&vd->lock);
	return gt;
}

void hv_vpt_get_stats(struct hv_vcpu *v, struct hv_vpt_stats *st)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(v->domain);
	struct hv_vpt *pt;

	memset(st, 0, sizeof(*st));
	if (!vd)
		return;
	pt = &vd->vpt[v->id];
	pthread_mutex_lock(&vd->lock);
	*st = pt->st;
	st->pending = pt->pending_intr_nr;
	st->stime_offset = pt->stime_offset;
	pthread_mutex_unlock(&vd->lock);
}

/* create_periodic_time() / destroy_periodic_time() for the caller. */
int hv_vpt_program(uint64_t period_ns, hv_vpt_handler_fn fn, void *arg)
{
	struct hv_vcpu *v = hv_current();
	struct hv_vpt_domain *vd;
	struct hv_vpt *pt;
	int rc = 0;

	if (!v)
		return -XEN_ESRCH;
	vd = hv_vpt_dom_get(v->domain);
	if (!vd)
		return -XEN_ENOMEM;
	pt = &vd->vpt[v->id];
	hv_enter(v);
	pthread_mutex_lock(&vd->lock);
	pt->armed = false;
	pt->pending_intr_nr = 0;
	pt->do_not_freeze = false;
	pt->in_service = false;
	pt->irr = false;
	pt->irq_ack = true; /* kvm_pit_reset_reinject() */
	pt->period = 0;
	if (period_ns) {
		if (period_ns < HV_VPT_MIN_PERIOD_NS)
			period_ns = HV_VPT_MIN_PERIOD_NS;
		pt->period = period_ns;
		pt->fn = fn;
		pt->arg = arg;
		pt->last_plt_gtime = hv_vpt_get_guest_time(vd, pt);
		pt->scheduled = hv_vpt_clock(vd) + period_ns;
		__atomic_store_n(&v->vpt, pt, __ATOMIC_RELEASE);
		hv_vpt_set_timer(vd, pt);
	}
	if (!vd->virt && !vd->thread_started) {
		if (pthread_create(&vd->thread, NULL, hv_vpt_thread, v->domain))
			rc = -XEN_ENOMEM;
		else
			vd->thread_started = true;
	}
	pthread_mutex_unlock(&vd->lock);
	hv_update_vcpu_time(v); /* virtual time shows from now on */
	hv_leave(v);
	return rc;
}

/* The EOI of the handler's interrupt (vlapic EOI / PIC EOI). */
void hv_vpt_eoi(void)
{
	struct hv_vcpu *v = hv_current();
	struct hv_vpt *pt = v ? __atomic_load_n(&v->vpt, __ATOMIC_ACQUIRE) :
				NULL;
	struct hv_vpt_domain *vd;

	if (!pt)
		return;
	vd = hv_vpt_dom(v->domain);
	pthread_mutex_lock(&vd->lock);
	if (pt->in_service) {
		pt->in_service = false;
		pt->st.eois++;
		if (hv_vpt_is_kvm(vd))
			kvm_pit_ack_irq(vd, pt);
	}
	pthread_mutex_unlock(&vd->lock);
	/* What became deliverable is taken by hv_vpt_deliver()'s loop. */
}

/* --- virtual time ------------------------------------------------------- */

static bool hv_vpt_vcpu_settled(struct hv_vpt_domain *vd, struct hv_vcpu *v)
{
	struct hv_vpt *pt = &vd->vpt[v->id];
	bool on = __atomic_load_n(&v->on_cpu, __ATOMIC_SEQ_CST);
	bool busy, deliv;

	if (!__atomic_load_n(&v->up, __ATOMIC_SEQ_CST))
		return true;
	if (__atomic_load_n(&v->pause_count, __ATOMIC_SEQ_CST))
		return !on; /* paused: settled once off its pCPU */
	if (!__atomic_load_n(&v->vpt, __ATOMIC_ACQUIRE))
		return true;
	pthread_mutex_lock(&vd->lock);
	busy = pt->in_service || pt->in_handler;
	deliv = hv_vpt_deliverable(vd, pt);
	pthread_mutex_unlock(&vd->lock);
	if (busy)
		return false;
	if (!on && !__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST))
		return false; /* unpaused or woken, not back yet */
	return !deliv || __atomic_load_n(&v->vcpu_info->evtchn_upcall_mask,
					 __ATOMIC_SEQ_CST);
}

bool hv_vpt_settled(struct hv_domain *d)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(d);
	unsigned int i;

	if (!vd)
		return true;
	for (i = 0; i < d->nr_vcpus; i++)
		if (!hv_vpt_vcpu_settled(vd, &d->vcpus[i]))
			return false;
	return true;
}

bool hv_vpt_wait_settled(struct hv_domain *d, uint64_t timeout_ns)
{
	struct timespec pause = { .tv_nsec = 20000 };
	uint64_t end = hv_now_ns() + timeout_ns;

	while (!hv_vpt_settled(d)) {
		if (hv_now_ns() > end)
			return false;
		nanosleep(&pause, NULL);
	}
	return true;
}

/* Rewrite the time record of every vCPU with a timer (virtual time). */
static void hv_vpt_update_records(struct hv_domain *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_vcpus; i++)
		if (__atomic_load_n(&d->vcpus[i].vpt, __ATOMIC_ACQUIRE))
			hv_update_vcpu_time(&d->vcpus[i]);
}

/*
 * Step the virtual clock through each expiry up to now + ns.  The time
 * records are rewritten here while the vCPUs with a timer are settled, so
 * no vCPU rewrites its own at the same time (a switch-in): the version
 * protocol has one writer at a time.
 */
int hv_vpt_advance(struct hv_domain *d, uint64_t ns)
{
	struct hv_vpt_domain *vd = hv_vpt_dom(d);
	struct hv_vpt *pt;
	uint64_t target, first;
	bool kick;

	if (!vd || !vd->virt)
		return -XEN_EINVAL;
	if (!hv_vpt_wait_settled(d, HV_VPT_SETTLE_NS))
		return -XEN_ETIMEDOUT;
	pthread_mutex_lock(&vd->lock);
	target = vd->vnow + ns;
	while ((pt = hv_vpt_first_due(d, vd, target, &first))) {
		if (first > vd->vnow)
			__atomic_store_n(&vd->vnow, first, __ATOMIC_RELEASE);
		kick = hv_vpt_fire(vd, pt);
		pthread_mutex_unlock(&vd->lock);
		hv_vpt_update_records(d);
		if (kick)
			hv_vpt_kick(pt->v);
		if (!hv_vpt_wait_settled(d, HV_VPT_SETTLE_NS))
			return -XEN_ETIMEDOUT;
		pthread_mutex_lock(&vd->lock);
	}
	__atomic_store_n(&vd->vnow, target, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vd->lock);
	hv_vpt_update_records(d);
	return 0;
}
