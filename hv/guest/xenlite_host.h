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

#include <xenlite/atomic-gcc.h>

#endif /* XENLITE_HOST_H */
