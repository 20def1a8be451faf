/* SPDX-License-Identifier: GPL-2.0 */
/*
 * <xenlite_host.h> for the test kernel: a freestanding x86_64 PVH guest on
 * real Xen.  Only gcc's own headers (stddef.h, stdbool.h, stdint.h) and
 * compiler builtins are used.
 *
 * The "other side" is Xen on other physical CPUs and our own other vCPUs,
 * so the barriers are Linux's virt_*() on x86: mfence for a full barrier,
 * compiler barriers for read and write barriers (x86 is TSO; Linux
 * arch/x86/include/asm/barrier.h).  Read-modify-write operations are
 * locked instructions through the __atomic builtins, which are also full
 * barriers on x86.
 */
#ifndef XENLITE_HOST_H
#define XENLITE_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define xl_mb() __asm__ __volatile__("mfence" ::: "memory")
#define xl_rmb() __asm__ __volatile__("" ::: "memory")
#define xl_wmb() __asm__ __volatile__("" ::: "memory")
#define xl_cpu_relax() __asm__ __volatile__("pause" ::: "memory")

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
 * READ_ONCE / WRITE_ONCE.  Acquire loads and release stores are plain movs
 * on x86; they also keep the compiler from reordering them (as hv does).
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
