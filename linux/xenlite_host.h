/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <xenlite_host.h> for the Linux module (xenlite.ko).  The core includes
 * it first (through include/xenlite/os.h); it may only pull in kernel
 * headers that do not include <xen/...>, because for the core's objects
 * <xen/...> names the Xen public headers (see Kbuild).
 *
 * The other side of shared memory is Xen (on other physical CPUs) and our
 * own other vCPUs, so the barriers are Linux's virt_*() family, which stay
 * real barriers on a UP build (Documentation/memory-barriers.txt, "VIRTUAL
 * MACHINE GUESTS"; drivers/xen/events uses them the same way).  On x86
 * virt_mb() is a locked add or mfence, virt_rmb()/virt_wmb() are compiler
 * barriers (TSO).  Every read-modify-write here is xchg()/cmpxchg(), which
 * the kernel defines as fully ordered (memory-barriers.txt, "atomic
 * operations that return a value"), i.e. a locked instruction on x86.
 */
#ifndef XENLITE_HOST_H
#define XENLITE_HOST_H

#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/stddef.h>
#include <linux/stdarg.h>
#include <linux/spinlock.h>
#include <asm/barrier.h>
#include <asm/cmpxchg.h>
#include <asm/processor.h>

#define xl_mb() virt_mb()
#define xl_rmb() virt_rmb()
#define xl_wmb() virt_wmb()
#define xl_cpu_relax() cpu_relax()

static inline uint32_t xl_cmpxchg32(uint32_t *p, uint32_t old, uint32_t new)
{
	return cmpxchg(p, old, new);
}

static inline uint64_t xl_cmpxchg64(uint64_t *p, uint64_t old, uint64_t new)
{
	return cmpxchg(p, old, new);
}

static inline uint32_t xl_xchg32(uint32_t *p, uint32_t v)
{
	return xchg(p, v);
}

static inline uint8_t xl_xchg8(uint8_t *p, uint8_t v)
{
	return xchg(p, v);
}

static inline unsigned long xl_xchg_ulong(unsigned long *p, unsigned long v)
{
	return xchg(p, v);
}

/*
 * fetch_or / fetch_and on plain words: a cmpxchg loop.  It returns only
 * after a successful cmpxchg, which is fully ordered; a failed one orders
 * nothing but is retried (memory-barriers.txt).
 */
#define XL_FETCH_OP(name, type, op)                               \
	static inline type name(type *p, type v)                  \
	{                                                         \
		type old = READ_ONCE(*p), seen;                   \
                                                                  \
		for (;;) {                                        \
			seen = cmpxchg(p, old, (type)(old op v)); \
			if (seen == old)                          \
				return old;                       \
			old = seen;                               \
		}                                                 \
	}

XL_FETCH_OP(xl_fetch_or32, uint32_t, |)
XL_FETCH_OP(xl_fetch_and32, uint32_t, &)
XL_FETCH_OP(xl_fetch_or_ulong, unsigned long, |)
XL_FETCH_OP(xl_fetch_and_ulong, unsigned long, &)

/* READ_ONCE / WRITE_ONCE: single-copy atomic, no ordering. */
#define xl_read8(p) READ_ONCE(*(const uint8_t *)(p))
#define xl_read16(p) READ_ONCE(*(const uint16_t *)(p))
#define xl_read32(p) READ_ONCE(*(const uint32_t *)(p))
#define xl_read64(p) READ_ONCE(*(const uint64_t *)(p))
#define xl_read_ulong(p) READ_ONCE(*(const unsigned long *)(p))
#define xl_write8(p, v) WRITE_ONCE(*(uint8_t *)(p), (uint8_t)(v))
#define xl_write16(p, v) WRITE_ONCE(*(uint16_t *)(p), (uint16_t)(v))
#define xl_write32(p, v) WRITE_ONCE(*(uint32_t *)(p), (uint32_t)(v))
#define xl_write64(p, v) WRITE_ONCE(*(uint64_t *)(p), (uint64_t)(v))
#define xl_write_ulong(p, v) \
	WRITE_ONCE(*(unsigned long *)(p), (unsigned long)(v))

/*
 * Release stores and acquire loads (memory-barriers.txt): everything
 * before the store is visible to a CPU whose acquire load sees it.
 */
#define xl_store_release32(p, v) \
	virt_store_release((uint32_t *)(p), (uint32_t)(v))
#define xl_store_release_ulong(p, v) \
	virt_store_release((unsigned long *)(p), (unsigned long)(v))
#define xl_load_acquire32(p) virt_load_acquire((const uint32_t *)(p))
#define xl_load_acquire_ulong(p) virt_load_acquire((const unsigned long *)(p))

/*
 * The core's lock (os.h, "Spinlocks"): raw_spinlock_t, since the core
 * takes its locks in the upcall (hard interrupt context), where
 * PREEMPT_RT's spinlock_t would sleep; with interrupts off, as the
 * event-delivery mask is in an HVM guest.  xl_spin_init (linux/os.c) gives
 * each named lock its own lockdep class.
 */
typedef raw_spinlock_t xl_spinlock_t;
void xl_spin_init(xl_spinlock_t *l, const char *name);

static inline unsigned long xl_spin_lock_irqsave(xl_spinlock_t *l) __acquires(l)
{
	unsigned long flags;

	raw_spin_lock_irqsave(l, flags);
	return flags;
}

static inline void xl_spin_unlock_irqrestore(xl_spinlock_t *l,
					     unsigned long flags) __releases(l)
{
	raw_spin_unlock_irqrestore(l, flags);
}

#define XL_ACQUIRES(x) __acquires(x)
#define XL_RELEASES(x) __releases(x)

#define XL_PRINTF(a, b) __printf(a, b)

/*
 * os.h's trace switch: always called; xl_os_trace (os.c) maps each hook
 * to a TRACE_EVENT, which tests its own static key.
 */
#define xl_os_trace_enabled(what) ((void)(what), true)

#endif /* XENLITE_HOST_H */
