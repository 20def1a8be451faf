/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few <stdlib.h> functions the portable selftests use, implemented in
 * testkernel/lib.c over the test kernel's page allocator.
 */
#ifndef TK_STDLIB_H
#define TK_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void free(void *p);
void qsort(void *base, size_t nmemb, size_t size,
	   int (*cmp)(const void *, const void *));
void abort(void) __attribute__((noreturn));

#endif /* TK_STDLIB_H */
