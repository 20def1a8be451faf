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

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define xl_mb() __asm__ __volatile__("mfence" ::: "memory")
#define xl_rmb() __asm__ __volatile__("" ::: "memory")
#define xl_wmb() __asm__ __volatile__("" ::: "memory")
#define xl_cpu_relax() __asm__ __volatile__("pause" ::: "memory")

#include <xenlite/atomic-gcc.h>
#include <xenlite/spinlock-gcc.h>

/* os.h's trace switch: the per-vCPU ring (os.c) is always written. */
#define xl_os_trace_enabled(what) ((void)(what), true)

#endif /* XENLITE_HOST_H */
