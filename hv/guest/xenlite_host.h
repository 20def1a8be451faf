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

#include <stdarg.h>
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
#define hv_mb() __asm__ __volatile__("mfence" ::: "memory")
#define hv_rmb() __asm__ __volatile__("" ::: "memory")
#define hv_wmb() __asm__ __volatile__("" ::: "memory")
#else
#define hv_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define hv_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define hv_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif

/*
 * The explore mode (hv-explore.h) perturbs the core before each barrier
 * and each read-modify-write; the Makefile builds the core with
 * HV_EXPLORE.  A build without it (the fuzzers, which link no hv) gets
 * the bare operations.
 */
#ifdef HV_EXPLORE
#include "hv-explore.h"
#define HV_XP(pt) hv_explore(pt)
#else
#define HV_XP(pt) ((void)0)
#endif

/*
 * The weak TSan build (XL_WEAK_PLAIN: xl_read / xl_write relaxed, the
 * Makefile's tsan variant).  TSan models no fences, so a publication that
 * os.h allows, "xl_wmb(); xl_write(index)" read by "xl_read(index);
 * xl_rmb()" (Linux's RING_PUSH_REQUESTS / RING_FINAL_CHECK: the shared
 * rings, the xenstore ring), would look like a race there.  The barriers
 * are modelled on the accesses next to them, which is how they order on
 * every host: xl_rmb() makes this thread's last xl_read an acquire of its
 * address (__tsan_acquire), xl_wmb() makes its next xl_write a release
 * store (unless an xl_read or a read-modify-write comes first: the
 * barrier was for those, "write; mb; read"), xl_mb() does both.  A pair
 * with no barrier between them stays relaxed and unordered, as the
 * contract has it.  hv/vcpu.c saves and
 * restores the two per-thread words around an upcall, which runs on the
 * interrupted thread.
 */
#if defined(XL_WEAK_PLAIN) && defined(__SANITIZE_THREAD__)
void __tsan_acquire(void *addr);
extern __thread const void *hv_tsan_last_read;
extern __thread int hv_tsan_release_next;
#define hv_tsan_rmb()                                              \
	do {                                                       \
		if (hv_tsan_last_read)                             \
			__tsan_acquire((void *)hv_tsan_last_read); \
	} while (0)
#define hv_tsan_wmb() (hv_tsan_release_next = 1)
#define hv_tsan_rmw() (hv_tsan_release_next = 0)
#else
#define hv_tsan_rmb() ((void)0)
#define hv_tsan_wmb() ((void)0)
#define hv_tsan_rmw() ((void)0)
#endif

#define xl_mb()                       \
	do {                          \
		HV_XP(HV_XP_BARRIER); \
		hv_mb();              \
		hv_tsan_rmb();        \
		hv_tsan_wmb();        \
	} while (0)
#define xl_rmb()                      \
	do {                          \
		HV_XP(HV_XP_BARRIER); \
		hv_rmb();             \
		hv_tsan_rmb();        \
	} while (0)
#define xl_wmb()                      \
	do {                          \
		HV_XP(HV_XP_BARRIER); \
		hv_wmb();             \
		hv_tsan_wmb();        \
	} while (0)

#if defined(__x86_64__) || defined(__i386__)
#define xl_cpu_relax() __builtin_ia32_pause()
#else
#define xl_cpu_relax() __atomic_signal_fence(__ATOMIC_SEQ_CST)
#endif

/*
 * The read-modify-writes are atomic-gcc.h's, under hv_ names, each
 * wrapped below with an explore point before it.
 */
#define xl_cmpxchg32 hv_cmpxchg32
#define xl_cmpxchg64 hv_cmpxchg64
#define xl_xchg32 hv_xchg32
#define xl_fetch_or32 hv_fetch_or32
#define xl_fetch_and32 hv_fetch_and32
#define xl_xchg_ulong hv_xchg_ulong
#define xl_fetch_or_ulong hv_fetch_or_ulong
#define xl_fetch_and_ulong hv_fetch_and_ulong
#define xl_xchg8 hv_xchg8
#include <xenlite/atomic-gcc.h>
#undef xl_cmpxchg32
#undef xl_cmpxchg64
#undef xl_xchg32
#undef xl_fetch_or32
#undef xl_fetch_and32
#undef xl_xchg_ulong
#undef xl_fetch_or_ulong
#undef xl_fetch_and_ulong
#undef xl_xchg8

#if defined(XL_WEAK_PLAIN) && defined(__SANITIZE_THREAD__)
/* The weak TSan build's loads and stores: see xl_mb() above. */
#undef xl_read8
#undef xl_read16
#undef xl_read32
#undef xl_read64
#undef xl_read_ulong
#undef xl_write8
#undef xl_write16
#undef xl_write32
#undef xl_write64
#undef xl_write_ulong
#define HV_TSAN_RW(name, T)                                             \
	static inline T hv_tsan_read##name(const void *p)               \
	{                                                               \
		hv_tsan_last_read = p;                                  \
		hv_tsan_release_next = 0;                               \
		return __atomic_load_n((const T *)p, __ATOMIC_RELAXED); \
	}                                                               \
	static inline void hv_tsan_write##name(void *p, T v)            \
	{                                                               \
		if (hv_tsan_release_next) {                             \
			hv_tsan_release_next = 0;                       \
			__atomic_store_n((T *)p, v, __ATOMIC_RELEASE);  \
		} else {                                                \
			__atomic_store_n((T *)p, v, __ATOMIC_RELAXED);  \
		}                                                       \
	}
HV_TSAN_RW(8, uint8_t)
HV_TSAN_RW(16, uint16_t)
HV_TSAN_RW(32, uint32_t)
HV_TSAN_RW(64, uint64_t)
HV_TSAN_RW(_ulong, unsigned long)
#define xl_read8(p) hv_tsan_read8(p)
#define xl_read16(p) hv_tsan_read16(p)
#define xl_read32(p) hv_tsan_read32(p)
#define xl_read64(p) hv_tsan_read64(p)
#define xl_read_ulong(p) hv_tsan_read_ulong(p)
#define xl_write8(p, v) hv_tsan_write8((p), (uint8_t)(v))
#define xl_write16(p, v) hv_tsan_write16((p), (uint16_t)(v))
#define xl_write32(p, v) hv_tsan_write32((p), (uint32_t)(v))
#define xl_write64(p, v) hv_tsan_write64((p), (uint64_t)(v))
#define xl_write_ulong(p, v) hv_tsan_write_ulong((p), (unsigned long)(v))
#endif

static inline uint32_t xl_cmpxchg32(uint32_t *p, uint32_t old, uint32_t new)
{
	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	return hv_cmpxchg32(p, old, new);
}

static inline uint64_t xl_cmpxchg64(uint64_t *p, uint64_t old, uint64_t new)
{
	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	return hv_cmpxchg64(p, old, new);
}

static inline uint32_t xl_xchg32(uint32_t *p, uint32_t v)
{
	uint32_t r;

	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	r = hv_xchg32(p, v);
	HV_XP(HV_XP_PUBLISH);
	return r;
}

static inline uint32_t xl_fetch_or32(uint32_t *p, uint32_t v)
{
	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	return hv_fetch_or32(p, v);
}

static inline uint32_t xl_fetch_and32(uint32_t *p, uint32_t v)
{
	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	return hv_fetch_and32(p, v);
}

static inline unsigned long xl_xchg_ulong(unsigned long *p, unsigned long v)
{
	unsigned long r;

	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	r = hv_xchg_ulong(p, v);
	HV_XP(HV_XP_PUBLISH);
	return r;
}

static inline unsigned long xl_fetch_or_ulong(unsigned long *p, unsigned long v)
{
	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	return hv_fetch_or_ulong(p, v);
}

static inline unsigned long xl_fetch_and_ulong(unsigned long *p,
					       unsigned long v)
{
	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	return hv_fetch_and_ulong(p, v);
}

static inline uint8_t xl_xchg8(uint8_t *p, uint8_t v)
{
	uint8_t r;

	HV_XP(HV_XP_ATOMIC);
	hv_tsan_rmw();
	r = hv_xchg8(p, v);
	HV_XP(HV_XP_PUBLISH);
	return r;
}

/* The core's lock type (os.h, "Spinlocks"), on the atomics above. */
#include <xenlite/spinlock-gcc.h>

/*
 * os.h's trace switch.  hv's rings (xl_os_trace in hv-os.c) are written
 * unless hv_guest_trace_set(false) turned them off: the tests read them
 * (budget/, the upcall-ended checks), xl-bench's consume cases turn them
 * off to measure the event path as a production host runs it, with its
 * tracing off (a Linux tracepoint not enabled is a static key's nop).
 * Relaxed: the switch orders nothing, a hook in flight may miss it.
 */
extern int hv_guest_trace_off;
#define xl_os_trace_enabled(what) \
	((void)(what), !__atomic_load_n(&hv_guest_trace_off, __ATOMIC_RELAXED))

#endif /* XENLITE_HOST_H */
