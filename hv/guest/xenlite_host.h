/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <xenlite_host.h> for the hv/ user-space host.  Included by the
 * freestanding core (-ffreestanding -nostdinc): only gcc's own headers
 * (stddef.h, stdbool.h, stdint.h) and compiler builtins are used here.
 *
 * The hypervisor side (hv/) accesses all shared memory with __atomic
 * builtins, so the guest side does the same: ThreadSanitizer then sees
 * every access to shared_info, event words and control blocks as atomic,
 * and the compiler cannot tear or fuse them.
 */
#ifndef XENLITE_HOST_H
#define XENLITE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Barriers.  The "hypervisor" is other threads of this process, so a
 * thread fence is exactly the ordering needed (Linux's virt_mb() family on
 * x86 is mfence / compiler barriers for the same reason).  xl_mb() is a
 * full SEQ_CST fence (mfence); read and write barriers use acquire and
 * release fences, which on x86 cost only a compiler barrier and still
 * order loads before later loads (rmb) and stores after earlier stores
 * (wmb).
 *
 * ThreadSanitizer does not model fences (gcc rejects them under
 * -fsanitize=thread with -Werror=tsan), so a TSan build uses the x86
 * instructions themselves: mfence, and compiler barriers for rmb/wmb (x86
 * is TSO).  TSan checks races, not ordering, and every shared access here
 * is atomic anyway.
 */
#if defined(__SANITIZE_THREAD__) && (defined(__x86_64__) || defined(__i386__))
#define xl_mb() __asm__ __volatile__("mfence" ::: "memory")
#define xl_rmb() __asm__ __volatile__("" ::: "memory")
#define xl_wmb() __asm__ __volatile__("" ::: "memory")
#else
#define xl_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xl_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xl_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

#if defined(__x86_64__) || defined(__i386__)
#define xl_cpu_relax() __builtin_ia32_pause()
#else
#define xl_cpu_relax() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

/* Fully ordered read-modify-write (a locked instruction on x86). */
static inline uint32_t xl_cmpxchg32(uint32_t *p, uint32_t old, uint32_t new)
{
	__atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

static inline uint64_t xl_cmpxchg64(uint64_t *p, uint64_t old, uint64_t new)
{
	__atomic_compare_exchange_n(p, &old, new, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	return old;
}

static inline uint32_t xl_xchg32(uint32_t *p, uint32_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

static inline uint32_t xl_fetch_or32(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

static inline uint32_t xl_fetch_and32(uint32_t *p, uint32_t v)
{
	return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}

static inline unsigned long xl_xchg_ulong(unsigned long *p, unsigned long v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

static inline unsigned long xl_fetch_or_ulong(unsigned long *p, unsigned long v)
{
	return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
}

static inline unsigned long xl_fetch_and_ulong(unsigned long *p,
					       unsigned long v)
{
	return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
}

static inline uint8_t xl_xchg8(uint8_t *p, uint8_t v)
{
	return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

/*
 * READ_ONCE / WRITE_ONCE.  Acquire loads and release stores: free on x86
 * and they give TSan the happens-before edges a real CPU's TSO provides.
 */
#define xl_read8(p) __atomic_load_n((const uint8_t *)(p), __ATOMIC_ACQUIRE)
#define xl_read16(p) __atomic_load_n((const uint16_t *)(p), __ATOMIC_ACQUIRE)
#define xl_read32(p) __atomic_load_n((const uint32_t *)(p), __ATOMIC_ACQUIRE)
#define xl_read64(p) __atomic_load_n((const uint64_t *)(p), __ATOMIC_ACQUIRE)
#define xl_read_ulong(p) \
	__atomic_load_n((const unsigned long *)(p), __ATOMIC_ACQUIRE)
#define xl_write8(p, v) \
	__atomic_store_n((uint8_t *)(p), (uint8_t)(v), __ATOMIC_RELEASE)
#define xl_write16(p, v) \
	__atomic_store_n((uint16_t *)(p), (uint16_t)(v), __ATOMIC_RELEASE)
#define xl_write32(p, v) \
	__atomic_store_n((uint32_t *)(p), (uint32_t)(v), __ATOMIC_RELEASE)
#define xl_write64(p, v) \
	__atomic_store_n((uint64_t *)(p), (uint64_t)(v), __ATOMIC_RELEASE)
#define xl_write_ulong(p, v)                                       \
	__atomic_store_n((unsigned long *)(p), (unsigned long)(v), \
			 __ATOMIC_RELEASE)

#define XL_PRINTF(a, b) __attribute__((format(printf, a, b)))

#endif /* XENLITE_HOST_H */
