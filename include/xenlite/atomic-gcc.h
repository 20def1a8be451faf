/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The atomic half of <xenlite_host.h> (os.h) for hosts built with gcc's
 * __atomic builtins on x86: hv/guest and the test kernel.  Every
 * read-modify-write is fully ordered (a locked instruction on x86);
 * xl_read* / xl_write* are acquire loads and release stores, plain movs on
 * x86 that the compiler may not tear, fuse or reorder, and that give TSan
 * the happens-before edges a real CPU's TSO provides (relaxed instead
 * under XL_WEAK_PLAIN, below).  A host includes it
 * after defining nothing of its own for these names.
 */
#ifndef XENLITE_ATOMIC_GCC_H
#define XENLITE_ATOMIC_GCC_H

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
 * READ_ONCE / WRITE_ONCE (see the top of this file).  XL_WEAK_PLAIN (the
 * TSan build of hv, Makefile) makes them relaxed, which is all os.h
 * promises for them ("they order nothing by themselves"): ThreadSanitizer
 * then sees no happens-before edge through a plain xl_write / xl_read
 * pair, and reports a race on the data such a pair publishes (a page
 * zeroed by the allocator, a struct written with plain stores) where the
 * core should have used xl_store_release / xl_load_acquire or a barrier.
 * The default keeps acquire/release, the edges x86's TSO gives a real CPU.
 */
#ifdef XL_WEAK_PLAIN
#define XL_PLAIN_LOAD __ATOMIC_RELAXED
#define XL_PLAIN_STORE __ATOMIC_RELAXED
#else
#define XL_PLAIN_LOAD __ATOMIC_ACQUIRE
#define XL_PLAIN_STORE __ATOMIC_RELEASE
#endif
#define xl_read8(p) __atomic_load_n((const uint8_t *)(p), XL_PLAIN_LOAD)
#define xl_read16(p) __atomic_load_n((const uint16_t *)(p), XL_PLAIN_LOAD)
#define xl_read32(p) __atomic_load_n((const uint32_t *)(p), XL_PLAIN_LOAD)
#define xl_read64(p) __atomic_load_n((const uint64_t *)(p), XL_PLAIN_LOAD)
#define xl_read_ulong(p) \
	__atomic_load_n((const unsigned long *)(p), XL_PLAIN_LOAD)
#define xl_write8(p, v) \
	__atomic_store_n((uint8_t *)(p), (uint8_t)(v), XL_PLAIN_STORE)
#define xl_write16(p, v) \
	__atomic_store_n((uint16_t *)(p), (uint16_t)(v), XL_PLAIN_STORE)
#define xl_write32(p, v) \
	__atomic_store_n((uint32_t *)(p), (uint32_t)(v), XL_PLAIN_STORE)
#define xl_write64(p, v) \
	__atomic_store_n((uint64_t *)(p), (uint64_t)(v), XL_PLAIN_STORE)
#define xl_write_ulong(p, v)                                       \
	__atomic_store_n((unsigned long *)(p), (unsigned long)(v), \
			 XL_PLAIN_STORE)

/*
 * Release stores and acquire loads, the ordering os.h names: the same
 * instructions as xl_write / xl_read here (plain movs on x86, TSO), but
 * these promise it.
 */
#define xl_store_release32(p, v) \
	__atomic_store_n((uint32_t *)(p), (uint32_t)(v), __ATOMIC_RELEASE)
#define xl_store_release_ulong(p, v)                               \
	__atomic_store_n((unsigned long *)(p), (unsigned long)(v), \
			 __ATOMIC_RELEASE)
#define xl_load_acquire32(p) \
	__atomic_load_n((const uint32_t *)(p), __ATOMIC_ACQUIRE)
#define xl_load_acquire_ulong(p) \
	__atomic_load_n((const unsigned long *)(p), __ATOMIC_ACQUIRE)

#define XL_PRINTF(a, b) __attribute__((format(printf, a, b)))

#endif /* XENLITE_ATOMIC_GCC_H */
