// SPDX-License-Identifier: GPL-2.0
/*
 * hv time: system time, vcpu_time_info, the per-vCPU singleshot and
 * periodic timers, and runstate accounting.  Follows Xen 4.17
 * (RELEASE-4.17.7):
 *
 *  - system time is a TSC-derived nanosecond count, as Xen's NOW()
 *    (xen/arch/x86/time.c get_s_time_fixed): one calibrated scale for the
 *    whole host, so every vCPU's vcpu_time_info extrapolates the same line;
 *  - vcpu_time_info is rewritten with the version protocol (public xen.h:
 *    version odd while updating) when the vCPU starts and every time it is
 *    switched in (update_vcpu_system_time() on the context-switch path);
 *  - VCPUOP_set_singleshot_timer: calling vCPU only (-EINVAL otherwise); a
 *    deadline already past stops the timer and sends the event at once;
 *    VCPU_SSHOTTMR_future is ignored (xen/common/domain.c do_vcpu_op, since
 *    commit 19c6cbd909);
 *  - VCPUOP_set_periodic_timer: period < 1 ms or > STIME_DELTA_MAX gives
 *    -EINVAL; setting it runs vcpu_periodic_timer_work at once, which sends
 *    an event if a period has passed since the last one;
 *  - the periodic timer is stopped when the vCPU is descheduled and, on
 *    switch-in, vcpu_periodic_timer_work sends one coalesced event if it is
 *    overdue (xen/common/sched/core.c sched_context_switch): so a blocked
 *    vCPU is never woken by its periodic timer;
 *  - a PV vCPU starts with a 10 ms periodic timer (xen/arch/x86/pv/domain.c
 *    "PV guests by default have a 100Hz ticker"); HVM/PVH start with none;
 *  - runstate: running / runnable / blocked / offline times, with
 *    vcpu_runstate_get()'s "add the time spent in the current state".
 *
 * Xen runs timers from a per-pCPU softirq; hv runs them from one timer
 * thread per domain.  Events are sent outside the timer lock.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "hv-internal.h"

#define NS_PER_SEC 1000000000ULL
#define HV_STIME_DELTA_MAX (~0ULL >> 2) /* xen/include/xen/time.h */
#define HV_PV_DEFAULT_PERIOD_NS 10000000ULL

/* --- system time --------------------------------------------------------- */

static struct {
	uint64_t tsc0, sys0;
	uint32_t mul;
	int8_t shift;
} hv_clock;
static pthread_once_t hv_clock_once = PTHREAD_ONCE_INIT;

static uint64_t hv_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t hv_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/*
 * Pick shift and mul so that ns = ((ticks << shift) * mul) >> 32 with mul
 * a 32-bit fraction as large as possible: the scaled tick rate is brought
 * into (1 GHz, 2 GHz], so mul = 1e9 * 2^32 / scaled rate is in
 * [2^31, 2^32) (Xen's set_time_scale has the same aim).
 */
static void hv_clock_calibrate(void)
{
	uint64_t t0, m0, t1, m1, hz;
	struct timespec pause = { .tv_nsec = 20000000 };
	int shift = 0;

	m0 = hv_mono_ns();
	t0 = __rdtsc();
	nanosleep(&pause, NULL);
	m1 = hv_mono_ns();
	t1 = __rdtsc();
	hz = (uint64_t)((unsigned __int128)(t1 - t0) * NS_PER_SEC / (m1 - m0));
	while (hz > 2 * NS_PER_SEC) {
		hz >>= 1;
		shift--;
	}
	while (hz <= NS_PER_SEC) {
		hz <<= 1;
		shift++;
	}
	hv_clock.mul = (uint32_t)((NS_PER_SEC << 32) / hz);
	hv_clock.shift = (int8_t)shift;
	hv_clock.tsc0 = t1;
	hv_clock.sys0 = m1;
}

/* rdtsc after every earlier load (lfence), as readers of the time need. */
static uint64_t hv_rdtsc(void)
{
	__builtin_ia32_lfence();
	return __rdtsc();
}

/*
 * How far system time was moved forward by restores (hv_time_jump): Xen
 * keeps no system time across a save and restore, the new host's NOW()
 * is its own (xen/arch/x86/time.c), so the guest's pvclock jumps.
 */
static uint64_t hv_clock_jump_ns;

static uint64_t hv_stime_at(uint64_t tsc)
{
	return hv_clock.sys0 +
	       __atomic_load_n(&hv_clock_jump_ns, __ATOMIC_ACQUIRE) +
	       hv_scale(tsc - hv_clock.tsc0, hv_clock.mul, hv_clock.shift);
}

void hv_time_jump(uint64_t ns)
{
	hv_time_init();
	__atomic_fetch_add(&hv_clock_jump_ns, ns, __ATOMIC_ACQ_REL);
}

void hv_time_init(void)
{
	pthread_once(&hv_clock_once, hv_clock_calibrate);
}

uint64_t hv_now_ns(void)
{
	hv_time_init();
	return hv_stime_at(hv_rdtsc());
}

uint64_t hv_system_time(void)
{
	return hv_now_ns();
}

void hv_vcpu_update_time(struct hv_vcpu *v)
{
	hv_update_vcpu_time(v);
}

/* A CLOCK_MONOTONIC timespec for system time deadline (condvar waits). */
void hv_stime_to_timespec(uint64_t deadline, struct timespec *ts)
{
	uint64_t now = hv_now_ns(), mono = hv_mono_ns();

	mono += deadline > now ? deadline - now : 0;
	ts->tv_sec = (time_t)(mono / NS_PER_SEC);
	ts->tv_nsec = (long)(mono % NS_PER_SEC);
}

/*
 * update_vcpu_system_time(): version odd, fields, version even.  The
 * release fences order the version bumps against the field stores, so a
 * reader that sees the same even version before and after its reads saw
 * one consistent record (public xen.h, struct vcpu_time_info).
 */
void hv_update_vcpu_time(struct hv_vcpu *v)
{
	struct vcpu_time_info *t;
	uint64_t tsc, sys;
	uint32_t mul;

	if (!v->vcpu_info)
		return;
	hv_time_init();
	t = &v->vcpu_info->time;
	__atomic_fetch_add(&t->version, 1, __ATOMIC_SEQ_CST);
	tsc = hv_rdtsc();
	sys = hv_stime_at(tsc);
	mul = hv_clock.mul;
	hv_vpt_time_record(v, &sys, &mul); /* virtual time (vpt.c) */
	__atomic_store_n(&t->tsc_timestamp, tsc, __ATOMIC_RELAXED);
	__atomic_store_n(&t->system_time, sys, __ATOMIC_RELAXED);
	__atomic_store_n(&t->tsc_to_system_mul, mul, __ATOMIC_RELAXED);
	__atomic_store_n(&t->tsc_shift, hv_clock.shift, __ATOMIC_RELAXED);
	__atomic_fetch_add(&t->version, 1, __ATOMIC_SEQ_CST);
	hv_stat_inc(v->domain, time_updates);
}

/* --- runstate ------------------------------------------------------------ */

/* vcpu_runstate_change(): account the time of the state being left. */
void hv_runstate_change(struct hv_vcpu *v, int state)
{
	struct hv_vtime *vt = &v->vtime;
	uint64_t now = hv_now_ns();
	struct vcpu_runstate_info *area;

	pthread_mutex_lock(&vt->lock);
	if (vt->runstate.state != state) {
		if (now > vt->runstate.state_entry_time)
			vt->runstate.time[vt->runstate.state] +=
				now - vt->runstate.state_entry_time;
		vt->runstate.state = state;
		vt->runstate.state_entry_time = now;
		/* update_runstate_area() on the context-switch path. */
		area = __atomic_load_n(&vt->runstate_area, __ATOMIC_ACQUIRE);
		if (area)
			memcpy(area, &vt->runstate, sizeof(*area));
	}
	pthread_mutex_unlock(&vt->lock);
}

/* vcpu_runstate_get(): a copy with the current state's time added. */
static void hv_runstate_get(struct hv_vcpu *v, struct vcpu_runstate_info *r)
{
	struct hv_vtime *vt = &v->vtime;
	uint64_t now = hv_now_ns();

	pthread_mutex_lock(&vt->lock);
	*r = vt->runstate;
	pthread_mutex_unlock(&vt->lock);
	if (now > r->state_entry_time)
		r->time[r->state] += now - r->state_entry_time;
}

/* --- timers ----------------------------------------------------------------- */

/* send_timer_event(): VIRQ_TIMER on the vCPU. */
static void hv_send_timer_event(struct hv_vcpu *v)
{
	hv_stat_inc(v->domain, timer_events);
	hv_send_guest_vcpu_virq(v, VIRQ_TIMER);
}

/*
 * Wake the timer thread (under timer_lock) only when a timer now expires
 * before the deadline it sleeps until: the wake path of every vCPU passes
 * here, and a futex wake per switch-in would double the cost of a wakeup.
 */
static void hv_timer_kick(struct hv_domain *d, uint64_t deadline)
{
	if (!deadline || d->timer_exit)
		goto wake;
	if (d->timer_wake_at && deadline >= d->timer_wake_at)
		return;
wake:
	pthread_cond_signal(&d->timer_cond);
}

void hv_time_watch(struct hv_domain *d, uint64_t at)
{
	pthread_mutex_lock(&d->timer_lock);
	hv_timer_kick(d, at);
	pthread_mutex_unlock(&d->timer_lock);
}

/*
 * vcpu_periodic_timer_work_locked(): an event if a period has passed since
 * the last one, then the timer set for last + period.  Returns whether an
 * event is due (the caller sends it after dropping the lock).
 */
static bool hv_periodic_work_locked(struct hv_vtime *vt, uint64_t now)
{
	uint64_t next = vt->periodic_last + vt->periodic_period;
	bool fire = false;

	if (now >= next) {
		fire = true;
		vt->periodic_last = now;
		next = now + vt->periodic_period;
	}
	vt->periodic_next = next;
	return fire;
}

static long hv_set_periodic(struct hv_vcpu *v, uint64_t period)
{
	struct hv_domain *d = v->domain;
	struct hv_vtime *vt = &v->vtime;
	bool fire = false;

	pthread_mutex_lock(&d->timer_lock);
	vt->periodic_next = 0;
	vt->periodic_period = period;
	/*
	 * vcpu_set_periodic_timer() runs the work at once and arms the timer
	 * even for a vCPU that is not running (another vCPU may set it); it
	 * is stopped again on that vCPU's next switch-out.
	 */
	if (period)
		fire = hv_periodic_work_locked(vt, hv_now_ns());
	if (vt->periodic_next)
		hv_timer_kick(d, vt->periodic_next);
	pthread_mutex_unlock(&d->timer_lock);
	if (fire)
		hv_send_timer_event(v);
	return 0;
}

static long hv_set_singleshot(struct hv_vcpu *v, uint64_t deadline)
{
	struct hv_domain *d = v->domain;
	uint64_t early =
		__atomic_load_n(&d->faults.timer_early_ns, __ATOMIC_RELAXED);
	bool past;

	/* hv_faults.timer_early_ns: Xen's clock ahead of the guest's. */
	if (early)
		deadline = deadline > early ? deadline - early : 1;
	pthread_mutex_lock(&d->timer_lock);
	past = deadline < hv_now_ns();
	/* "if the timeout has already expired ... just inject the event". */
	__atomic_store_n(&v->vtime.sshot_deadline, past ? 0 : deadline,
			 __ATOMIC_RELEASE);
	if (!past)
		hv_timer_kick(d, deadline);
	pthread_mutex_unlock(&d->timer_lock);
	if (past)
		hv_send_timer_event(v);
	return 0;
}

/*
 * do_set_timer_op() (xen/common/sched/core.c), the older singleshot
 * interface, on v's own singleshot timer (the one VCPUOP_set_singleshot_
 * timer sets): 0 stops it; a deadline wrapped negative, or more than 2^50
 * ns (about 13 days) ahead, is Linux's jiffy wrap, and becomes NOW() +
 * 100 ms ("a reasonable middleground"); else set_timer() at the deadline,
 * which fires at once if it is already past.  Always 0.
 */
long hv_do_set_timer_op(struct hv_vcpu *v, int64_t timeout)
{
	int64_t offset = timeout - (int64_t)hv_now_ns();

	if (!timeout) {
		pthread_mutex_lock(&v->domain->timer_lock);
		__atomic_store_n(&v->vtime.sshot_deadline, 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&v->domain->timer_lock);
		return 0;
	}
	if (timeout < 0 || (offset > 0 && (uint32_t)(offset >> 50) != 0))
		return hv_set_singleshot(v, hv_now_ns() + 100000000ULL);
	return hv_set_singleshot(v, (uint64_t)timeout);
}

/*
 * The singleshot timer lives on the pCPU of the vCPU that set it
 * (do_vcpu_op: migrate_timer(&v->singleshot_timer, smp_processor_id())),
 * so when that vCPU blocks, its own pCPU wakes at the deadline: a blocked
 * vCPU thread sleeps until its deadline and fires the timer itself, one
 * thread hop instead of two.  Whoever clears the deadline under the lock
 * sends the event.
 */
uint64_t hv_vcpu_sshot_deadline(struct hv_vcpu *v)
{
	return __atomic_load_n(&v->vtime.sshot_deadline, __ATOMIC_ACQUIRE);
}

bool hv_vcpu_fire_own_timer(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;
	uint64_t ss;
	bool fire = false;

	pthread_mutex_lock(&d->timer_lock);
	ss = __atomic_load_n(&v->vtime.sshot_deadline, __ATOMIC_ACQUIRE);
	if (ss && ss <= hv_now_ns()) {
		__atomic_store_n(&v->vtime.sshot_deadline, 0, __ATOMIC_RELEASE);
		fire = true;
	}
	pthread_mutex_unlock(&d->timer_lock);
	if (fire)
		hv_send_timer_event(v);
	return fire;
}

/* Descheduled: stop_timer(&prev->periodic_timer) (sched_context_switch). */
void hv_vcpu_stop_periodic(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;

	pthread_mutex_lock(&d->timer_lock);
	v->vtime.periodic_next = 0;
	pthread_mutex_unlock(&d->timer_lock);
}

/*
 * Switched in: the time record is refreshed (update_vcpu_system_time) and
 * vcpu_periodic_timer_work sends one event if the periodic timer is
 * overdue, then re-arms it.
 */
void hv_vcpu_resume_time(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;
	struct hv_vtime *vt = &v->vtime;
	bool fire = false;

	hv_update_vcpu_time(v);
	pthread_mutex_lock(&d->timer_lock);
	if (vt->periodic_period) {
		fire = hv_periodic_work_locked(vt, hv_now_ns());
		hv_timer_kick(d, vt->periodic_next);
	}
	pthread_mutex_unlock(&d->timer_lock);
	if (fire)
		hv_send_timer_event(v);
}

/* Blocked in SCHEDOP_block/poll, and woken (a wake: sched.c tickles). */
void hv_vcpu_switch_out(struct hv_vcpu *v)
{
	hv_deschedule(v, RUNSTATE_blocked);
}

void hv_vcpu_switch_in(struct hv_vcpu *v)
{
	hv_schedule(v, true);
}

/* The vCPU comes up (from offline), or goes offline when it stops. */
void hv_vcpu_time_start(struct hv_vcpu *v)
{
	struct hv_vtime *vt = &v->vtime;

	pthread_mutex_lock(&v->domain->timer_lock);
	if (hv_is_pv(v->domain))
		vt->periodic_period = HV_PV_DEFAULT_PERIOD_NS;
	vt->periodic_last = 0;
	pthread_mutex_unlock(&v->domain->timer_lock);
	hv_schedule(v, false);
}

void hv_vcpu_time_stop(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;

	pthread_mutex_lock(&d->timer_lock);
	__atomic_store_n(&v->vtime.sshot_deadline, 0, __ATOMIC_RELEASE);
	v->vtime.periodic_period = 0;
	pthread_mutex_unlock(&d->timer_lock);
	hv_deschedule(v, RUNSTATE_offline);
}

/*
 * A restored domain's vCPU is a new one (vcpu_create()): no singleshot
 * timer, no periodic timer, but a PV vCPU gets the default 100 Hz ticker
 * again (pv/domain.c pv_vcpu_initialise: "v->periodic_period =
 * MILLISECS(10)"), which is why Linux's xen_timer_resume()
 * (arch/x86/xen/time.c) stops the periodic timer of every vCPU.  Its
 * time record is written afresh with the new host's system time.
 */
void hv_vcpu_time_restore(struct hv_vcpu *v)
{
	struct hv_domain *d = v->domain;
	struct hv_vtime *vt = &v->vtime;

	pthread_mutex_lock(&d->timer_lock);
	__atomic_store_n(&vt->sshot_deadline, 0, __ATOMIC_RELEASE);
	vt->periodic_period = hv_is_pv(d) ? HV_PV_DEFAULT_PERIOD_NS : 0;
	vt->periodic_last = 0;
	vt->periodic_next = 0;
	if (vt->periodic_period)
		(void)hv_periodic_work_locked(vt, hv_now_ns());
	/*
	 * Always wake the timer thread: it sleeps until a deadline in the
	 * old system time (timer_wake_at), which hv_timer_kick() compares
	 * new deadlines against, so after a jump a new deadline looked
	 * "later" and the thread slept on for the old distance (a PV
	 * vCPU's first tick and the guest's re-armed singleshot came about
	 * 1 s late in resume/2l/timers@pv).
	 */
	hv_timer_kick(d, 0);
	pthread_mutex_unlock(&d->timer_lock);
	hv_update_vcpu_time(v);
}

/*
 * The timer "softirq": sleep until the earliest armed deadline of any
 * vCPU, then run what is due.  Events are sent with the lock dropped.
 */
static void *hv_timer_thread(void *arg)
{
	struct hv_domain *d = arg;
	struct hv_vcpu *due[HV_MAX_VCPUS], *resend[HV_MAX_VCPUS];
	struct hv_vcpu *reraise[HV_MAX_VCPUS];
	uint64_t reraise_seen[HV_MAX_VCPUS];
	unsigned int i, n, nr, nrr;

	pthread_mutex_lock(&d->timer_lock);
	while (!d->timer_exit) {
		uint64_t now = hv_now_ns(), first = 0;
		struct timespec ts;

		n = 0;
		nr = 0;
		nrr = 0;
		for (i = 0; i < d->nr_vcpus; i++) {
			struct hv_vtime *vt = &d->vcpus[i].vtime;
			uint64_t ks = hv_vcpu_kick_resend_at(&d->vcpus[i]);
			uint64_t rr = hv_vcpu_reraise_at(&d->vcpus[i]);
			bool fire = false;

			if (ks && ks <= now)
				resend[nr++] = &d->vcpus[i];
			else if (ks && (!first || ks < first))
				first = ks;
			if (rr && rr <= now) {
				reraise_seen[nrr] = rr;
				reraise[nrr++] = &d->vcpus[i];
			} else if (rr && (!first || rr < first)) {
				first = rr;
			}

			uint64_t ss = __atomic_load_n(&vt->sshot_deadline,
						      __ATOMIC_ACQUIRE);

			if (ss && ss <= now) {
				__atomic_store_n(&vt->sshot_deadline, 0,
						 __ATOMIC_RELEASE);
				ss = 0;
				fire = true;
			}
			if (vt->periodic_next && vt->periodic_next <= now)
				fire |= hv_periodic_work_locked(vt, now);
			if (fire)
				due[n++] = &d->vcpus[i];
			if (ss && (!first || ss < first))
				first = ss;
			if (vt->periodic_next &&
			    (!first || vt->periodic_next < first))
				first = vt->periodic_next;
		}
		if (n || nr || nrr) {
			pthread_mutex_unlock(&d->timer_lock);
			for (i = 0; i < n; i++)
				hv_send_timer_event(due[i]);
			for (i = 0; i < nr; i++)
				hv_vcpu_resend_kick(resend[i]);
			for (i = 0; i < nrr; i++)
				hv_vcpu_reraise_kick(reraise[i],
						     reraise_seen[i]);
			pthread_mutex_lock(&d->timer_lock);
			continue;
		}
		/* Until first (0: no timer armed); see hv_timer_kick(). */
		d->timer_wake_at = first;
		if (!first) {
			pthread_cond_wait(&d->timer_cond, &d->timer_lock);
		} else {
			hv_stime_to_timespec(first, &ts);
			pthread_cond_timedwait(&d->timer_cond, &d->timer_lock,
					       &ts);
		}
		d->timer_wake_at = 0;
	}
	pthread_mutex_unlock(&d->timer_lock);
	return NULL;
}

int hv_time_domain_init(struct hv_domain *d)
{
	pthread_condattr_t ca;
	unsigned int i;

	hv_time_init();
	pthread_mutex_init(&d->timer_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	for (i = 0; i < HV_MAX_VCPUS; i++) {
		struct hv_vtime *vt = &d->vcpus[i].vtime;

		pthread_mutex_init(&vt->lock, NULL);
		vt->runstate.state = RUNSTATE_offline;
		vt->runstate.state_entry_time = hv_now_ns();
	}
	if (pthread_create(&d->timer_thread, NULL, hv_timer_thread, d))
		return -XEN_ENOMEM;
	d->timer_started = true;
	return 0;
}

/* No timer fires after this returns; idempotent. */
void hv_time_domain_stop(struct hv_domain *d)
{
	if (!d->timer_started)
		return;
	pthread_mutex_lock(&d->timer_lock);
	d->timer_exit = true;
	hv_timer_kick(d, 0);
	pthread_mutex_unlock(&d->timer_lock);
	pthread_join(d->timer_thread, NULL);
	d->timer_started = false;
}

void hv_time_domain_destroy(struct hv_domain *d)
{
	unsigned int i;

	hv_time_domain_stop(d);
	for (i = 0; i < HV_MAX_VCPUS; i++)
		pthread_mutex_destroy(&d->vcpus[i].vtime.lock);
	pthread_cond_destroy(&d->timer_cond);
	pthread_mutex_destroy(&d->timer_lock);
}

/* --- VCPUOP_* timer and runstate commands ------------------------------- */

/*
 * The time commands of do_vcpu_op() (xen/common/domain.c).  cur is the
 * calling vCPU, v the one named.  Returns -XEN_ENOSYS for other commands.
 */
long hv_vcpu_time_op(struct hv_vcpu *cur, struct hv_vcpu *v, int cmd, void *arg)
{
	switch (cmd) {
	case VCPUOP_get_runstate_info: {
		struct vcpu_runstate_info r;

		if (!arg)
			return -XEN_EFAULT;
		hv_runstate_get(v, &r);
		memcpy(arg, &r, sizeof(r));
		return 0;
	}
	case VCPUOP_register_runstate_memory_area: {
		struct vcpu_register_runstate_memory_area area;
		struct vcpu_runstate_info r;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&area, arg, sizeof(area));
		__atomic_store_n(&v->vtime.runstate_area, area.addr.v,
				 __ATOMIC_RELEASE);
		if (area.addr.v) {
			hv_runstate_get(v, &r);
			memcpy(area.addr.v, &r, sizeof(r));
		}
		return 0;
	}
	case VCPUOP_set_periodic_timer: {
		struct vcpu_set_periodic_timer set;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&set, arg, sizeof(set));
		if (set.period_ns < 1000000ULL ||
		    set.period_ns > HV_STIME_DELTA_MAX)
			return -XEN_EINVAL;
		return hv_set_periodic(v, set.period_ns);
	}
	case VCPUOP_stop_periodic_timer:
		return hv_set_periodic(v, 0);
	case VCPUOP_set_singleshot_timer: {
		struct vcpu_set_singleshot_timer set;

		if (v != cur)
			return -XEN_EINVAL;
		if (!arg)
			return -XEN_EFAULT;
		memcpy(&set, arg, sizeof(set));
		return hv_set_singleshot(v, set.timeout_abs_ns);
	}
	case VCPUOP_stop_singleshot_timer:
		if (v != cur)
			return -XEN_EINVAL;
		pthread_mutex_lock(&v->domain->timer_lock);
		__atomic_store_n(&v->vtime.sshot_deadline, 0, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&v->domain->timer_lock);
		return 0;
	default:
		return -XEN_ENOSYS;
	}
}
