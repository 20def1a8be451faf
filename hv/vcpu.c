// SPDX-License-Identifier: GPL-2.0
/*
 * hv vCPUs: one pthread each, upcall delivery, kicks, SCHEDOP_block and
 * SCHEDOP_poll.
 *
 * Delivery model (see hv.h): hv_vcpu_mark_events_pending() sets
 * evtchn_upcall_pending and kicks the vCPU: a blocked vCPU is woken; a vCPU
 * running guest code gets HV_KICK_SIGNAL, whose handler runs the upcall if
 * delivery is unmasked; a vCPU inside hv (in_hv > 0) is left alone because
 * every return to guest code (hv_leave) checks for pending work, as Xen
 * does on its exit-to-guest path.
 *
 * Ordering: kicker = "set evtchn_upcall_pending; read blocked / in_hv",
 * vCPU = "write blocked / in_hv; read evtchn_upcall_pending", all SEQ_CST,
 * so at least one side sees the other (no lost wakeup).
 */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv-explore.h"
#include "hv-internal.h"

static __thread struct hv_vcpu *hv_tls_vcpu;
static pthread_once_t hv_signal_once = PTHREAD_ONCE_INIT;

struct hv_vcpu *hv_current(void)
{
	return hv_tls_vcpu;
}

struct hv_vcpu *hv_vcpu_current(void)
{
	return hv_tls_vcpu;
}

/* --- upcall delivery ----------------------------------------------------- */

/*
 * Run the guest's upcall on this thread.  In the weak TSan build the
 * guest host keeps two per-thread words for its barrier model (the last
 * plain read, a release owed to the next plain write:
 * hv/guest/xenlite_host.h, xl_mb()); the upcall interrupts guest code
 * between such a read and its barrier, so they are saved around it.
 */
#if defined(XL_WEAK_PLAIN) && defined(__SANITIZE_THREAD__)
extern __thread const void *hv_tsan_last_read;
extern __thread int hv_tsan_release_next;

static void hv_upcall_call(hv_upcall_fn entry)
{
	const void *last_read = hv_tsan_last_read;
	int release_next = hv_tsan_release_next;

	entry();
	hv_tsan_last_read = last_read;
	hv_tsan_release_next = release_next;
}
#else
static void hv_upcall_call(hv_upcall_fn entry)
{
	entry();
}
#endif

/*
 * Run the guest's upcall while evtchn_upcall_pending && !evtchn_upcall_mask
 * and the vCPU registered one (callback.c: PV's CALLBACKTYPE_event, PVH's
 * vector).  Entry masks delivery, as Xen's PV bounce into the event
 * callback does (entry.S create_bounce_frame sets evtchn_upcall_mask for a
 * TBF_INTERRUPT bounce; IF=0 for an HVM vector, which hv models with the
 * same byte); the mask is cleared after the upcall returns, as the guest's
 * iret does, and the loop re-checks pending: an event that arrived while
 * the callback ran is delivered now (Linux xen_iret / Xen's
 * test_guest_events on the return path).  Nothing registered: no upcall,
 * the event stays pending (hv_upcall_unregistered).
 */
/*
 * Whether v's upcall would be taken now: delivery unmasked, and the level
 * (evtchn_upcall_pending) or, for a per-vCPU vector, the edge latched in
 * the IRR (hv_upcall_edge()).
 */
static bool hv_upcall_due(struct hv_vcpu *v)
{
	struct vcpu_info *vi = v->vcpu_info;

	if (__atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST))
		return false;
	if (hv_upcall_edge(v))
		return __atomic_load_n(&v->vec_irr, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST);
}

static void hv_deliver(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;
	struct vcpu_info *vi = v->vcpu_info;
	hv_upcall_fn entry;

	if (!vi)
		return;
	hv_vpt_deliver(v); /* emulated timer interrupts (vpt.c) */
	while (hv_upcall_due(v)) {
		entry = hv_upcall_entry(v);
		if (!entry) {
			hv_upcall_unregistered(v);
			return;
		}
		/* An edge: the IRR bit goes to the ISR as the vector is taken. */
		__atomic_store_n(&v->vec_irr, 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&vi->evtchn_upcall_mask, 1, __ATOMIC_SEQ_CST);
		hv_stat_inc(d, upcalls_delivered);
		hv_explore(HV_XP_UPCALL); /* a late upcall (hv-explore.h) */
		/* A re-raise asked for earlier is being honoured now. */
		__atomic_store_n(&v->reraise_at, 0, __ATOMIC_SEQ_CST);
		hv_upcall_call(entry);
		/*
		 * The upcall stopped on its budget and asked to be run
		 * again: not here and now (that would hold the vCPU as the
		 * unbounded loop did), but from a kick after the guest
		 * code it interrupted has run again (hv_vcpu_reraise_upcall).
		 * Still masked here: a kick signal landing inside
		 * hv_time_watch() must not deliver, or its own reraise would
		 * take timer_lock again on this thread.
		 */
		if (__atomic_exchange_n(&v->reraise, 0, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&v->reraise_at, hv_now_ns(),
					 __ATOMIC_SEQ_CST);
			hv_time_watch(d, hv_now_ns());
			__atomic_store_n(&vi->evtchn_upcall_mask, 0,
					 __ATOMIC_SEQ_CST);
			break;
		}
		__atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_SEQ_CST);
		hv_vpt_deliver(v);
	}
}

void hv_vcpu_reraise_upcall(void)
{
	struct hv_vcpu *v = hv_tls_vcpu;

	if (!v)
		return;
	hv_stat_inc(v->domain, upcall_reraises);
	__atomic_store_n(&v->reraise, 1, __ATOMIC_SEQ_CST);
}

/*
 * vlapic_ipi() with the self shorthand sets the vector in the sender's
 * own IRR; with IF=0 in the handler it is taken once the handler returned
 * (hv: from the later kick hv_vcpu_reraise_upcall() asks for).
 */
void hv_vcpu_self_ipi(void)
{
	struct hv_vcpu *v = hv_tls_vcpu;

	if (!v)
		return;
	if (__atomic_load_n(&v->cb.upcall_vector, __ATOMIC_SEQ_CST))
		__atomic_store_n(&v->vec_irr, 1, __ATOMIC_SEQ_CST);
	hv_vcpu_reraise_upcall();
}

uint64_t hv_vcpu_reraise_at(struct hv_vcpu *v)
{
	return __atomic_load_n(&v->reraise_at, __ATOMIC_SEQ_CST);
}

/*
 * From the timer thread: the kick hv_deliver() left for later.  The
 * request stays until an upcall is delivered (hv_deliver() clears it), and
 * the kick is sent again every HV_RERAISE_RETRY_NS meanwhile: a signal
 * that lands while delivery is still masked (the vCPU is between the
 * upcall and the unmask, or in a masked section) delivers nothing, and
 * nothing else would ever raise the upcall, since evtchn_upcall_pending
 * is already 1.
 */
void hv_vcpu_reraise_kick(struct hv_vcpu *v, uint64_t seen)
{
	__atomic_compare_exchange_n(&v->reraise_at, &seen,
				    hv_now_ns() + HV_RERAISE_RETRY_NS, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	/* A blocked vCPU wakes (SCHEDOP_block sees the pending flag). */
	if (__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST)) {
		hv_vcpu_unblock(v);
		return;
	}
	pthread_mutex_lock(&v->lock);
	if (v->alive)
		pthread_kill(v->thread, HV_KICK_SIGNAL);
	pthread_mutex_unlock(&v->lock);
}

static void hv_kick_handler(int sig)
{
	int saved_errno = errno;
	struct hv_vcpu *v = hv_tls_vcpu;

	(void)sig;
	if (v) {
		__atomic_store_n(&v->kick_outstanding, 0, __ATOMIC_SEQ_CST);
		/* In guest code: a boundary, as a return from hv is. */
		if (!__atomic_load_n(&v->in_hv, __ATOMIC_SEQ_CST)) {
			hv_enter(v);
			hv_leave(v);
		}
	}
	errno = saved_errno;
}

static void hv_install_signal_once(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = hv_kick_handler;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(HV_KICK_SIGNAL, &sa, NULL);
}

void hv_vcpu_install_signal(void)
{
	pthread_once(&hv_signal_once, hv_install_signal_once);
}

void hv_enter(struct hv_vcpu *v)
{
	__atomic_fetch_add(&v->in_hv, 1, __ATOMIC_SEQ_CST);
}

/*
 * The return-to-guest path: give up the pCPU if asked (sched.c; still
 * inside hv, so no upcall runs meanwhile), then deliver what became
 * pending.  A request that lands after the last check is seen by the
 * loop, or by the signal that came with it.
 */
void hv_leave(struct hv_vcpu *v)
{
	for (;;) {
		if (__atomic_load_n(&v->in_hv, __ATOMIC_SEQ_CST) == 1)
			hv_sched_preempt_point(v);
		if (__atomic_sub_fetch(&v->in_hv, 1, __ATOMIC_SEQ_CST))
			return;
		if (!__atomic_load_n(&v->sc.want_preempt, __ATOMIC_SEQ_CST))
			break;
		hv_enter(v);
	}
	hv_deliver(v);
}

/* --- kicks and wakeups --------------------------------------------------- */

/*
 * The blocked flag is also the futex word a blocked vCPU thread sleeps on:
 * hv_vcpu_unblock() clears it and wakes the sleeper directly, one syscall
 * each way, as cheap as the plain futex ping-pong the benchmarks compare
 * against.  (A mutex and condvar here cost a wakeup its own contention.)
 */
static void hv_futex_wake(int *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Sleep while *word == 1, until woken or (if ts) the absolute time. */
static void hv_futex_wait(int *word, const struct timespec *ts)
{
	syscall(SYS_futex, word, FUTEX_WAIT_BITSET_PRIVATE, 1, ts, NULL,
		FUTEX_BITSET_MATCH_ANY);
}

/* vcpu_unblock(): clear _VPF_blocked and wake the thread if it slept. */
bool hv_vcpu_unblock(struct hv_vcpu *v)
{
	if (!__atomic_exchange_n(&v->blocked, 0, __ATOMIC_SEQ_CST))
		return false;
	hv_futex_wake(&v->blocked);
	return true;
}

/* Take one from a fault counter (hv_faults.drop_kicks): true if taken. */
static bool hv_fault_take(unsigned int *n)
{
	unsigned int c = __atomic_load_n(n, __ATOMIC_RELAXED);

	while (c &&
	       !__atomic_compare_exchange_n(n, &c, c - 1, false,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return c != 0;
}

void hv_vcpu_signal(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;

	if (v == hv_tls_vcpu)
		return; /* our own return path delivers */
	if (__atomic_exchange_n(&v->kick_outstanding, 1, __ATOMIC_SEQ_CST))
		return; /* one signal in flight is enough */
	pthread_mutex_lock(&v->lock);
	if (v->alive) {
		uint64_t now = hv_now_ns();

		__atomic_store_n(&v->kick_sent_ns, now, __ATOMIC_SEQ_CST);
		/*
		 * Counted before the signal: its handler may deliver, and a
		 * test read the stats, before a count after it (kicks_resent
		 * read 0 after a resent kick had delivered, hv/kick_lost).
		 */
		hv_stat_inc(d, kicks_signal);
		if (hv_fault_take(&d->faults.drop_kicks))
			hv_stat_inc(d, kicks_dropped);
		else
			pthread_kill(v->thread, HV_KICK_SIGNAL);
		pthread_mutex_unlock(&v->lock);
		hv_time_watch(d, now + HV_KICK_RESEND_NS);
		return;
	}
	__atomic_store_n(&v->kick_outstanding, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&v->lock);
}

uint64_t hv_vcpu_kick_resend_at(struct hv_vcpu *v)
{
	if (!__atomic_load_n(&v->kick_outstanding, __ATOMIC_SEQ_CST))
		return 0;
	return __atomic_load_n(&v->kick_sent_ns, __ATOMIC_SEQ_CST) +
	       HV_KICK_RESEND_NS;
}

void hv_vcpu_resend_kick(struct hv_vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	if (v->alive &&
	    __atomic_load_n(&v->kick_outstanding, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&v->kick_sent_ns, hv_now_ns(),
				 __ATOMIC_SEQ_CST);
		hv_stat_inc(v->domain, kicks_resent); /* before: see above */
		pthread_kill(v->thread, HV_KICK_SIGNAL);
	}
	pthread_mutex_unlock(&v->lock);
}

/*
 * vcpu_kick() (x86: unblock, then an IPI if it runs guest code).  Called
 * after evtchn_upcall_pending was set.
 */
void hv_vcpu_kick(struct hv_vcpu *v)
{
	if (__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST)) {
		if (hv_vcpu_unblock(v))
			hv_stat_inc(v->domain, kicks_wake);
		return;
	}
	if (!__atomic_load_n(&v->in_hv, __ATOMIC_SEQ_CST))
		hv_vcpu_signal(v);
}

/*
 * vcpu_mark_events_pending() (xen/arch/x86/domain.c): kick only on the
 * 0 -> 1 transition of evtchn_upcall_pending; an HVM vCPU only through
 * hvm_assert_evtchn_irq(), which does nothing for a PVH vCPU with no
 * vector registered (hv_upcall_kicks).
 */
void hv_vcpu_mark_events_pending(struct hv_vcpu *v)
{
	if (!v->vcpu_info)
		return;
	if (__atomic_exchange_n(&v->vcpu_info->evtchn_upcall_pending, 1,
				__ATOMIC_SEQ_CST))
		return;
	/* hvm_assert_evtchn_irq(): the vector's IRR bit, on this edge only. */
	if (!hv_is_pv(v->domain) &&
	    __atomic_load_n(&v->cb.upcall_vector, __ATOMIC_SEQ_CST))
		__atomic_store_n(&v->vec_irr, 1, __ATOMIC_SEQ_CST);
	if (hv_upcall_kicks(v))
		hv_vcpu_kick(v);
}

void hv_vcpu_poke(struct hv_vcpu *v)
{
	struct hv_vcpu *cur = hv_tls_vcpu;

	if (cur)
		hv_enter(cur);
	__atomic_store_n(&v->poked, 1, __ATOMIC_SEQ_CST);
	hv_vcpu_unblock(v);
	if (cur)
		hv_leave(cur);
}

/*
 * local_events_need_delivery() (xen/arch/x86/include/asm/event.h): PV,
 * pending and not masked; HVM, hvm_local_events_need_delivery(): an
 * interrupt the vCPU would take now, so an event counts only once a
 * vector is registered (hvm_vcpu_has_pending_irq), and IF (hv: the mask)
 * must allow it.
 */
static bool hv_events_need_delivery(struct hv_vcpu *v)
{
	struct vcpu_info *vi = v->vcpu_info;

	if (!vi || __atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST))
		return false;
	if (hv_vpt_need_delivery(v))
		return true;
	/* A per-vCPU vector: vlapic_has_pending_irq(), the IRR bit. */
	if (hv_upcall_edge(v))
		return __atomic_load_n(&v->vec_irr, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
		return false;
	return hv_is_pv(v->domain) || hv_upcall_entry(v);
}

/*
 * hv_domain_set_halt_poll_ns(): spin while v->blocked stays set, up to the
 * domain's halt_poll_ns, the block's deadline and the vCPU's own
 * singleshot deadline (the sleep below handles those).
 */
static void hv_vcpu_halt_poll(struct hv_vcpu *v, uint64_t deadline_ns)
{
	uint64_t ns =
		__atomic_load_n(&v->domain->halt_poll_ns, __ATOMIC_RELAXED);
	uint64_t until, ss;

	if (!ns)
		return;
	until = hv_now_ns() + ns;
	ss = hv_vcpu_sshot_deadline(v);
	if (ss && ss < until)
		until = ss;
	if (deadline_ns && deadline_ns < until)
		until = deadline_ns;
	while (__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST) &&
	       hv_now_ns() < until)
		__builtin_ia32_pause();
	if (!__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST))
		hv_stat_inc(v->domain, halt_poll_hits);
}

/*
 * Sleep while v->blocked stays set; deadline (system time) 0 = none.
 * False on timeout.  The vCPU is descheduled meanwhile: its periodic
 * timer stops and its runstate is blocked (time.c).
 */
static bool hv_vcpu_sleep(struct hv_vcpu *v, uint64_t deadline_ns)
{
	bool woken = true;
	struct timespec ts;

	hv_vcpu_switch_out(v);
	hv_vcpu_halt_poll(v, deadline_ns);
	/*
	 * FUTEX_WAIT returns at once unless blocked is still 1, so a wakeup
	 * between the caller's check and this wait is not lost.
	 */
	while (__atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST)) {
		uint64_t wake = deadline_ns, ss = hv_vcpu_sshot_deadline(v);

		if (ss && (!wake || ss < wake))
			wake = ss;
		if (!wake) {
			hv_futex_wait(&v->blocked, NULL);
			continue;
		}
		if (hv_now_ns() >= wake) {
			/* Our own singleshot timer: its event unblocks us. */
			if (wake == ss && hv_vcpu_fire_own_timer(v))
				continue;
			if (deadline_ns && hv_now_ns() >= deadline_ns) {
				woken = !__atomic_exchange_n(&v->blocked, 0,
							     __ATOMIC_SEQ_CST);
				break;
			}
			continue;
		}
		hv_stime_to_timespec(wake, &ts);
		hv_futex_wait(&v->blocked, &ts);
	}
	hv_vcpu_switch_in(v);
	return woken;
}

/*
 * SCHEDOP_block: vcpu_block_enable_events() (xen/common/sched/core.c):
 * local_event_delivery_enable(), set _VPF_blocked, then "Check for events
 * /after/ blocking: avoids wakeup waiting race."  A pending hv_vcpu_poke()
 * counts as a wakeup too (an unrelated interrupt in the model).
 */
long hv_sched_block(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;

	if (v->vcpu_info)
		__atomic_store_n(&v->vcpu_info->evtchn_upcall_mask, 0,
				 __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->blocked, 1, __ATOMIC_SEQ_CST);
	if (hv_events_need_delivery(v) ||
	    __atomic_exchange_n(&v->poked, 0, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&v->blocked, 0, __ATOMIC_SEQ_CST);
		hv_stat_inc(d, block_not_slept);
		return 0;
	}
	hv_stat_inc(d, blocks);
	hv_vcpu_sleep(v, 0);
	__atomic_store_n(&v->poked, 0, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * SCHEDOP_poll: do_poll() (xen/common/sched/core.c).  At most 128 ports
 * (-EINVAL), mark blocked and polling, then return at once if events need
 * delivery or any port is pending (evtchn_port_poll: a bad or unusable port
 * fails with -EINVAL).  Woken by evtchn_check_pollers(), by any kick, or at
 * the absolute timeout (ns of hv system time, 0 = none).
 */
long hv_sched_poll(struct hv_vcpu *v, struct sched_poll *poll)
{
	struct hv_domain *d = v->domain;
	evtchn_port_t *ports;
	evtchn_port_t port = 0;
	unsigned long bit = 1UL << v->id;
	unsigned int i;
	long rc;

	if (poll->nr_ports > 128)
		return -XEN_EINVAL;
	ports = (evtchn_port_t *)(uintptr_t)poll->ports.p;
	if (poll->nr_ports && !ports)
		return -XEN_EFAULT;

	__atomic_store_n(&v->blocked, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->poll_evtchn, -1, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&d->poll_mask, bit, __ATOMIC_SEQ_CST);

	rc = 0;
	if (hv_events_need_delivery(v))
		goto out;
	for (i = 0; i < poll->nr_ports; i++) {
		port = ports[i];
		rc = hv_evtchn_port_poll(d, port);
		if (rc) {
			if (rc > 0)
				rc = 0;
			goto out;
		}
	}
	if (poll->nr_ports == 1)
		__atomic_store_n(&v->poll_evtchn, (int)port, __ATOMIC_SEQ_CST);

	hv_stat_inc(d, blocks);
	hv_vcpu_sleep(v, poll->timeout);
out:
	__atomic_store_n(&v->poll_evtchn, 0, __ATOMIC_SEQ_CST);
	__atomic_fetch_and(&d->poll_mask, ~bit, __ATOMIC_SEQ_CST);
	__atomic_store_n(&v->blocked, 0, __ATOMIC_SEQ_CST);
	return rc;
}

/* --- threads -------------------------------------------------------------- */

static void *hv_vcpu_thread(void *arg)
{
	struct hv_vcpu *v = arg;
	struct hv_domain *d = v->domain;

	hv_tls_vcpu = v;
	hv_enter(v);
	hv_vcpu_time_start(v); /* may wait for a pCPU */
	hv_leave(v);
	d->cfg.vcpu_main(v->id, d->cfg.arg);

	/* The vCPU goes down (VPF_down): no more signals to this thread. */
	__atomic_store_n(&v->up, 0, __ATOMIC_SEQ_CST);
	hv_enter(v);
	hv_vcpu_time_stop(v); /* gives the pCPU back */
	__atomic_sub_fetch(&v->in_hv, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&v->lock);
	v->alive = false;
	pthread_mutex_unlock(&v->lock);
	hv_tls_vcpu = NULL;
	return NULL;
}

int hv_domain_start(struct hv_domain *d)
{
	sigset_t set, old;
	unsigned int i;
	int rc = 0;

	/* Threads start with the kick signal unblocked. */
	sigemptyset(&set);
	sigaddset(&set, HV_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, &old);
	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		__atomic_store_n(&v->up, 1, __ATOMIC_SEQ_CST);
		pthread_mutex_lock(&v->lock);
		if (pthread_create(&v->thread, NULL, hv_vcpu_thread, v)) {
			pthread_mutex_unlock(&v->lock);
			__atomic_store_n(&v->up, 0, __ATOMIC_SEQ_CST);
			rc = -XEN_ENOMEM;
			break;
		}
		v->alive = true;
		v->thread_started = true;
		pthread_mutex_unlock(&v->lock);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

void hv_domain_join(struct hv_domain *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];

		if (!v->thread_started)
			continue;
		pthread_join(v->thread, NULL);
		v->thread_started = false;
	}
}

/* Xen's vCPU ids are unsigned; VCPUOP_is_up (common/domain.c do_vcpu_op). */
int hv_vcpu_is_up(const struct hv_vcpu *v)
{
	return __atomic_load_n(&v->up, __ATOMIC_SEQ_CST);
}
