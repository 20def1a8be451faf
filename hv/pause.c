// SPDX-License-Identifier: GPL-2.0
/*
 * hv pausing: vcpu_pause() and domain_pause() (xen/common/domain.c), what
 * `xl pause` / `xl unpause` reach through XEN_DOMCTL_pausedomain.
 *
 *  - a pause count per vCPU (Xen keeps v->pause_count and d->pause_count;
 *    vcpu_runnable() needs both at 0: one count per vCPU is the same);
 *  - vcpu_sleep_sync(): the pauser waits until the vCPU is off its pCPU.
 *    A vCPU running guest code is asked to give its pCPU up at its next
 *    boundary, as a preemption (sched.c); the context switch out runs
 *    pt_save_timer() (vpt.c).  A blocked vCPU is already off;
 *  - while paused the vCPU waits in hv_schedule(), offline in runstate
 *    (vcpu_sleep_nosync_locked / vcpu_wake: runnable or woken-but-paused
 *    becomes RUNSTATE_offline); a wakeup meanwhile (its timer's tick)
 *    makes it wait there rather than run;
 *  - unpause at count 0 lets it go (vcpu_wake); it runs again when it
 *    gets a pCPU, and pt_restore_timer() runs then.
 */
#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hv-internal.h"

/*
 * Off its pCPU for good: waiting in hv_pause_wait(), or blocked and
 * switched out (a wakeup then leads it to hv_pause_wait()), or gone.  A
 * vCPU merely off its pCPU may be on its way back in (woken, or past
 * hv_pause_wait() already): it is asked again below.
 */
static bool hv_pause_off_cpu(struct hv_vcpu *v)
{
	bool alive;

	if (!__atomic_load_n(&v->on_cpu, __ATOMIC_SEQ_CST) &&
	    (__atomic_load_n(&v->parked, __ATOMIC_SEQ_CST) ||
	     __atomic_load_n(&v->blocked, __ATOMIC_SEQ_CST)))
		return true;
	pthread_mutex_lock(&v->lock);
	alive = v->alive;
	pthread_mutex_unlock(&v->lock);
	return !alive;
}

/* vcpu_sleep_sync(): ask for the pCPU, wait until it is given up. */
static void hv_pause_sync(struct hv_vcpu *v)
{
	struct timespec pause = { .tv_nsec = 20000 };

	while (!hv_pause_off_cpu(v)) {
		/*
		 * The count was raised (SEQ_CST) before on_cpu is read here;
		 * a vCPU that set on_cpu meanwhile is asked on the next turn.
		 */
		if (__atomic_load_n(&v->on_cpu, __ATOMIC_SEQ_CST)) {
			__atomic_store_n(&v->sc.want_preempt, 1,
					 __ATOMIC_SEQ_CST);
			hv_vcpu_signal(v);
		}
		nanosleep(&pause, NULL);
	}
	/*
	 * Served (or the vCPU blocked first): a request left set would
	 * deschedule it once more when it next leaves hv, at a later time.
	 */
	__atomic_store_n(&v->sc.want_preempt, 0, __ATOMIC_SEQ_CST);
}

int hv_vcpu_pause(struct hv_vcpu *v)
{
	if (v == hv_current())
		return -XEN_EINVAL;
	__atomic_fetch_add(&v->pause_count, 1, __ATOMIC_SEQ_CST);
	hv_pause_sync(v);
	return 0;
}

void hv_vcpu_unpause(struct hv_vcpu *v)
{
	if (__atomic_sub_fetch(&v->pause_count, 1, __ATOMIC_SEQ_CST) == 0)
		syscall(SYS_futex, &v->pause_count, FUTEX_WAKE_PRIVATE, 1, NULL,
			NULL, 0);
}

int hv_domain_pause(struct hv_domain *d)
{
	struct hv_vcpu *cur = hv_current();
	unsigned int i;

	/* domain_pause(): ASSERT(d != current->domain) */
	if (cur && hv_vcpu_domain(cur) == d)
		return -XEN_EINVAL;
	for (i = 0; i < d->nr_vcpus; i++)
		__atomic_fetch_add(&d->vcpus[i].pause_count, 1,
				   __ATOMIC_SEQ_CST);
	for (i = 0; i < d->nr_vcpus; i++)
		hv_pause_sync(&d->vcpus[i]);
	return 0;
}

void hv_domain_unpause(struct hv_domain *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_vcpus; i++)
		hv_vcpu_unpause(&d->vcpus[i]);
}

/* In hv_schedule(), on v's thread: wait, offline, while paused. */
void hv_pause_wait(struct hv_vcpu *v)
{
	int c = __atomic_load_n(&v->pause_count, __ATOMIC_SEQ_CST);

	if (!c)
		return;
	hv_runstate_change(v, RUNSTATE_offline);
	__atomic_store_n(&v->parked, 1, __ATOMIC_SEQ_CST);
	/* FUTEX_WAIT returns at once if the count changed meanwhile. */
	while ((c = __atomic_load_n(&v->pause_count, __ATOMIC_SEQ_CST)))
		syscall(SYS_futex, &v->pause_count, FUTEX_WAIT_PRIVATE, c, NULL,
			NULL, 0);
	__atomic_store_n(&v->parked, 0, __ATOMIC_SEQ_CST);
}
