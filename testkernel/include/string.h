/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The few <string.h> functions the portable selftests and the test kernel
 * use, implemented in testkernel/lib.c (freestanding: no libc here).
 */
#ifndef TK_STRING_H
#define TK_STRING_H

#include <stddef.h>

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *haystack, const char *needle);

#endif /* TK_STRING_H */
