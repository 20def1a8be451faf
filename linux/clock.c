// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel's tick on xenlite: a per-CPU clock_event_device whose events
 * are one software timer of the core (xen-clockevent.c) on VIRQ_TIMER, and
 * a cpuidle state that blocks the vCPU in Xen through xl_idle_halt().
 *
 * Singleshot (default): the device is CLOCK_EVT_FEAT_ONESHOT at 1 GHz (one
 * cycle = one ns of Xen system time); set_next_event arms the core timer at
 * now + delta and the core follows the earliest timer with
 * VCPUOP_set_singleshot_timer.  Periodic (periodic_hz=N): Xen's periodic
 * timer runs at N Hz (VCPUOP_set_periodic_timer, 1 ms minimum) and the
 * device is CLOCK_EVT_FEAT_PERIODIC; the kernel's tick must come every
 * 1/HZ s, so the core timer is re-armed on exact 1/HZ boundaries and runs
 * at the first VIRQ_TIMER at or after each (several in a row when N < HZ),
 * so jiffies advance at HZ whatever N is.  The device is also
 * CLOCK_EVT_FEAT_ONESHOT: once the kernel's tick is in oneshot mode
 * (high-resolution timers, NO_HZ: any kernel past boot), the tick core
 * never hands a CPU to a periodic-only device (tick_check_preferred), and
 * the LAPIC timer would keep the tick.  In oneshot state set_next_event
 * arms the core timer, which runs at the first periodic VIRQ_TIMER at or
 * after its deadline: a oneshot device with 1/N s granularity.  Xen stops the periodic timer of
 * a blocked vCPU (sched/core.c), which is why the idle state is needed in
 * that mode: xl_idle_halt() arms the singleshot timer for the next tick.
 *
 * The per-CPU work runs on its own CPU (work_on_cpu): VIRQ_TIMER and the
 * timer hypercalls act on the calling vCPU, and the tick core binds a new
 * device only on its own CPU (tick_check_new_device).
 *
 * Load: the core's clock comes up on each CPU (and must deliver a probe
 * VIRQ_TIMER), then the idle state, then the clockevents: in periodic mode
 * a CPU whose tick is ours must never idle in Linux's hlt, so periodic
 * mode also refuses idle=0 and fails when the idle state cannot register.
 *
 * Unload: clockevents_unbind_device() first hands each CPU's tick back to
 * the best remaining device (the LAPIC timer we replaced), then the
 * cpuidle driver goes (cpuidle_unregister waits until no CPU is in our
 * state), then the core's timers and VIRQ ports are released on each CPU.
 * In that order because in periodic mode only our idle state keeps the
 * tick of an idle vCPU (Xen stops the periodic timer of a blocked vCPU):
 * with the idle state gone and the tick still ours, a CPU idling in
 * Linux's hlt got no tick, and the synchronize_rcu() in
 * cpuidle_unregister() waited for good (rmmod hung).
 */
#define pr_fmt(fmt) "xenlite: " fmt

#include <linux/clockchips.h>
#include <linux/cpuidle.h>
#include <linux/delay.h>
#include <linux/workqueue.h>

#include <xenlite/clockevent.h>
#include <xenlite/idle.h>

#include "xl-linux.h"

#define XLK_RATING 400 /* above the LAPIC timer (100) and HPET (50) */

struct xlk_clock {
	struct clock_event_device ced;
	struct xl_timer timer;
	u64 next; /* periodic: the next tick boundary */
	bool core_up;
	bool registered;
	u64 late[XLK_LATE_BUCKETS];
};

static DEFINE_PER_CPU(struct xlk_clock, xlk_clock);
static struct xl_clock_config clock_cfg;
static u64 tick_ns;
static bool idle_registered;
static struct cpumask clock_cpus;

static void xlk_tick(struct xl_timer *t)
{
	struct xlk_clock *c = t->data;

	if (clockevent_state_periodic(&c->ced)) {
		c->next += tick_ns;
		xl_timer_arm(t, c->next);
	}
	if (c->ced.event_handler)
		c->ced.event_handler(&c->ced);
}

static int xlk_next_event(unsigned long delta, struct clock_event_device *ced)
{
	struct xlk_clock *c = container_of(ced, struct xlk_clock, ced);

	return xl_timer_arm(&c->timer, xl_clock_now() + delta) ? -ETIME : 0;
}

static int xlk_shutdown(struct clock_event_device *ced)
{
	struct xlk_clock *c = container_of(ced, struct xlk_clock, ced);

	/* A no-op off the owning CPU (tick_shutdown of a dead CPU). */
	xl_timer_cancel(&c->timer);
	return 0;
}

static int xlk_periodic(struct clock_event_device *ced)
{
	struct xlk_clock *c = container_of(ced, struct xlk_clock, ced);

	c->next = xl_clock_now() + tick_ns;
	return xl_timer_arm(&c->timer, c->next) ? -EINVAL : 0;
}

void xlk_clock_note_lateness(unsigned int vcpu, u64 late_ns)
{
	struct xlk_clock *c = this_cpu_ptr(&xlk_clock);
	unsigned int b = 0;
	u64 us = late_ns / 1000;

	while (us && b < XLK_LATE_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	WRITE_ONCE(c->late[b], c->late[b] + 1);
}

void xlk_clock_hist(unsigned int cpu, u64 *buckets, unsigned int n)
{
	struct xlk_clock *c = per_cpu_ptr(&xlk_clock, cpu);
	unsigned int i;

	for (i = 0; i < n && i < XLK_LATE_BUCKETS; i++)
		buckets[i] = READ_ONCE(c->late[i]);
}

bool xlk_clock_cpu_active(unsigned int cpu)
{
	return per_cpu(xlk_clock, cpu).registered;
}

/* --- per-CPU bring-up, on the CPU itself ------------------------------ */

static void probe_fn(struct xl_timer *t)
{
	WRITE_ONCE(*(bool *)t->data, true);
}

/*
 * Before the tick depends on it: one core timer 1 ms ahead must fire
 * (VIRQ_TIMER delivered through our upcall on this vCPU) within a second.
 */
static int probe_virq_timer(void)
{
	struct xl_timer t;
	bool fired = false;
	int i, rc;

	xl_timer_setup(&t, probe_fn, &fired);
	rc = xl_timer_arm(&t, xl_clock_now() + NSEC_PER_MSEC);
	if (rc)
		return -EIO;
	for (i = 0; i < 1000 && !READ_ONCE(fired); i++)
		usleep_range(1000, 2000);
	if (READ_ONCE(fired))
		return 0;
	xl_timer_cancel(&t);
	return -ETIMEDOUT;
}

static long clock_up(void *unused)
{
	unsigned int cpu = smp_processor_id();
	struct xlk_clock *c = this_cpu_ptr(&xlk_clock);
	int rc;

	rc = xl_clock_init(&clock_cfg);
	if (rc) {
		pr_err("CPU %u: xl_clock_init: %d\n", cpu, rc);
		return -EIO;
	}
	c->core_up = true;
	rc = probe_virq_timer();
	if (rc) {
		pr_err("CPU %u: VIRQ_TIMER did not arrive within 1 s: not taking the tick\n",
		       cpu);
		return rc;
	}
	return 0;
}

static long clock_register(void *unused)
{
	unsigned int cpu = smp_processor_id();
	struct xlk_clock *c = this_cpu_ptr(&xlk_clock);
	unsigned int features;

	features = CLOCK_EVT_FEAT_ONESHOT;
	if (clock_cfg.mode == XL_CLOCK_PERIODIC)
		features |= CLOCK_EVT_FEAT_PERIODIC;
	xl_timer_setup(&c->timer, xlk_tick, c);
	c->ced = (struct clock_event_device){
		.name = XLK_NAME,
		.features = features,
		.rating = XLK_RATING,
		.set_next_event = xlk_next_event,
		.set_state_shutdown = xlk_shutdown,
		.set_state_oneshot_stopped = xlk_shutdown,
		.set_state_periodic = xlk_periodic,
		.cpumask = cpumask_of(cpu),
		.irq = -1,
	};
	/* min: the core's clamp; max: 32 bits of ns like Linux's vcpuop. */
	preempt_disable();
	clockevents_config_and_register(&c->ced, NSEC_PER_SEC,
					clock_cfg.min_delta_ns ?: 100000,
					0xffffffff);
	preempt_enable();
	c->registered = true;
	return 0;
}

static long clock_down(void *unused)
{
	struct xlk_clock *c = this_cpu_ptr(&xlk_clock);

	if (c->core_up)
		xl_clock_fini();
	c->core_up = false;
	return 0;
}

/* --- idle -------------------------------------------------------------- */

/*
 * Entered with interrupts off; returns with them off.  RCU_IDLE: the core's
 * trace hooks run before and after xl_os_safe_halt(), which enters RCU's
 * idle state around the halt itself (linux/os.c).
 */
static int xlk_idle_enter(struct cpuidle_device *dev,
			  struct cpuidle_driver *drv, int index)
{
	xl_idle_halt();
	return index;
}

/*
 * No .owner: cpuidle takes a reference on the driver's owner for every CPU
 * device it registers (__cpuidle_register_device), and drops it only at
 * cpuidle_unregister(), which runs in our module exit; with an owner the
 * module could never be unloaded (rmmod: EAGAIN, refcnt = the CPUs).
 * cpuidle_unregister() itself waits until no CPU is in our state.
 */
static struct cpuidle_driver xlk_idle_driver = {
	.name = XLK_NAME,
	.states = {
		{
			.name = "XENBLOCK",
			.desc = "block the vCPU in Xen",
			.exit_latency = 10,
			.target_residency = 20,
			.flags = CPUIDLE_FLAG_RCU_IDLE,
			.enter = xlk_idle_enter,
		},
	},
	.state_count = 1,
};

/* --- module-level ------------------------------------------------------ */

int xlk_clock_init(unsigned int periodic_hz, bool idle)
{
	unsigned int cpu;
	int rc = 0;

	if (periodic_hz > 1000) {
		pr_err("periodic_hz=%u: Xen's periodic timer needs a period of at least 1 ms (1..1000)\n",
		       periodic_hz);
		return -EINVAL;
	}
	/*
	 * Xen stops the periodic timer of a blocked vCPU (sched/core.c,
	 * vcpu_block -> ... stop_timer(&v->periodic_timer) in
	 * vcpu_periodic_timer_work's callers): without our idle state, which
	 * arms the singleshot timer for the next tick, a vCPU idling in
	 * Linux's hlt would get no tick and no timer at all.
	 */
	if (periodic_hz && !idle) {
		pr_err("periodic_hz=%u needs idle=1: Xen stops the periodic timer of a blocked vCPU, and only the XENBLOCK idle state re-arms it\n",
		       periodic_hz);
		return -EINVAL;
	}
	clock_cfg = (struct xl_clock_config){
		.mode = periodic_hz ? XL_CLOCK_PERIODIC : XL_CLOCK_SINGLESHOT,
		.hz = periodic_hz,
	};
	tick_ns = NSEC_PER_SEC / HZ;
	cpumask_clear(&clock_cpus);
	for_each_online_cpu(cpu)
	{
		if (!xlk_upcall_cpu_ok(cpu))
			continue;
		rc = (int)work_on_cpu(cpu, clock_up, NULL);
		if (rc)
			goto fail;
		cpumask_set_cpu(cpu, &clock_cpus);
	}
	/*
	 * The idle state before the tick (the reverse of unload, and for the
	 * same reason): in periodic mode a CPU whose tick is ours must never
	 * idle in Linux's hlt.
	 */
	if (idle) {
		xlk_idle_driver.cpumask = &clock_cpus;
		rc = cpuidle_register(&xlk_idle_driver, NULL);
		if (rc && periodic_hz) {
			pr_err("cpuidle_register: %d (another cpuidle driver?): periodic mode needs the XENBLOCK idle state\n",
			       rc);
			goto fail;
		}
		if (rc)
			/* Not fatal: Linux's idle (hlt) blocks in Xen too. */
			pr_warn("cpuidle_register: %d (another cpuidle driver?): no xenlite idle state\n",
				rc);
		else
			idle_registered = true;
		rc = 0;
	}
	for_each_cpu(cpu, &clock_cpus)
	{
		rc = (int)work_on_cpu(cpu, clock_register, NULL);
		if (rc)
			goto fail;
	}
	pr_info("clockevent '%s' %s on CPUs %*pbl\n", XLK_NAME,
		periodic_hz ? "periodic" : "singleshot (tickless)",
		cpumask_pr_args(&clock_cpus));
	if (periodic_hz)
		pr_info("periodic: Xen timer %u Hz, kernel tick %u Hz\n",
			periodic_hz, HZ);
	if (idle_registered)
		pr_info("idle state XENBLOCK on CPUs %*pbl\n",
			cpumask_pr_args(&clock_cpus));
	return 0;
fail:
	xlk_clock_fini();
	return rc;
}

void xlk_clock_fini(void)
{
	unsigned int cpu;
	int rc;

	for_each_online_cpu(cpu)
	{
		struct xlk_clock *c = per_cpu_ptr(&xlk_clock, cpu);

		if (c->registered) {
			rc = clockevents_unbind_device(&c->ced, cpu);
			if (rc)
				pr_err("CPU %u: clockevents_unbind_device: %d\n",
				       cpu, rc);
			c->registered = false;
		}
	}
	if (idle_registered)
		cpuidle_unregister(&xlk_idle_driver);
	idle_registered = false;
	for_each_online_cpu(cpu)
	{
		struct xlk_clock *c = per_cpu_ptr(&xlk_clock, cpu);

		if (c->core_up)
			work_on_cpu(cpu, clock_down, NULL);
	}
	cpumask_clear(&clock_cpus);
}
