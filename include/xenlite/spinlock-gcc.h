/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xl_spinlock_t for hosts without a lock type of their own (hv, the test
 * kernel, the fuzz harnesses): a test-and-test-and-set lock on the
 * atomics of <xenlite/atomic-gcc.h>, taken with event delivery masked
 * (os.h, "Spinlocks").  Include it from <xenlite_host.h> after
 * atomic-gcc.h.  No fairness: the core's critical sections are short and
 * its vCPUs few.
 */
#ifndef XENLITE_SPINLOCK_GCC_H
#define XENLITE_SPINLOCK_GCC_H

typedef struct {
	uint32_t v; /* 0 free, 1 held */
} xl_spinlock_t;

#define XL_ACQUIRES(x)
#define XL_RELEASES(x)

/* os.h's: declared again here because os.h includes this file first. */
unsigned long xl_os_irq_save(void);
void xl_os_irq_restore(unsigned long flags);

static inline void xl_spin_init(xl_spinlock_t *l, const char *name)
{
	(void)name;
	xl_write32(&l->v, 0);
}

static inline unsigned long xl_spin_lock_irqsave(xl_spinlock_t *l)
{
	unsigned long flags = xl_os_irq_save();

	/* xl_cmpxchg32 is fully ordered: it is the acquire.  The inner
	 * loop only reads, so waiters do not bounce the line. */
	while (xl_cmpxchg32(&l->v, 0, 1) != 0)
		while (xl_read32(&l->v))
			xl_cpu_relax();
	return flags;
}

static inline void xl_spin_unlock_irqrestore(xl_spinlock_t *l,
					     unsigned long flags)
{
	/* xl_xchg32 is fully ordered: the critical section's stores are
	 * visible before the lock reads free (the release). */
	xl_xchg32(&l->v, 0);
	xl_os_irq_restore(flags);
}

#endif /* XENLITE_SPINLOCK_GCC_H */
