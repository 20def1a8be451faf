/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few <stdlib.h> functions the portable selftests use, for the xt
 * tables built into xenlite.ko (Kbuild, XENLITE_XT): the kernel's
 * allocator and sort().  Only the test objects see this directory.
 * Callers run in the runner's threads (linux/xt-host.c), which may sleep.
 */
#ifndef XLK_XT_STDLIB_H
#define XLK_XT_STDLIB_H

#include <linux/slab.h>
#include <linux/sort.h>

static inline void *calloc(size_t nmemb, size_t size)
{
	return kcalloc(nmemb, size, GFP_KERNEL);
}

static inline void *malloc(size_t size)
{
	return kmalloc(size, GFP_KERNEL);
}

static inline void free(void *p)
{
	kfree(p);
}

static inline void qsort(void *base, size_t nmemb, size_t size,
			 int (*cmp)(const void *, const void *))
{
	sort(base, nmemb, size, cmp, NULL);
}

#endif /* XLK_XT_STDLIB_H */
