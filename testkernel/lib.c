// SPDX-License-Identifier: GPL-2.0
/*
 * The little libc the test kernel and the portable selftests need:
 * string functions, qsort, malloc/calloc/free over the page arena, a
 * small vsnprintf, and irq-safe spinlocks.
 */
#include <stdlib.h>
#include <string.h>

#include "tk.h"

/* --- string.h ------------------------------------------------------------------ */

void *memset(void *s, int c, size_t n)
{
	void *d = s;

	__asm__ __volatile__("rep stosb"
			     : "+D"(d), "+c"(n)
			     : "a"(c)
			     : "memory");
	return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;

	__asm__ __volatile__("rep movsb"
			     : "+D"(d), "+S"(src), "+c"(n)
			     :
			     : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] - y[i];
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (unsigned char)*a - (unsigned char)*b;
		if (!*a)
			return 0;
	}
	return 0;
}

char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);

	for (; *haystack; haystack++)
		if (!strncmp(haystack, needle, n))
			return (char *)haystack;
	return n ? NULL : (char *)haystack;
}

/* --- stdlib.h --------------------------------------------------------------------- */

static void swap_bytes(unsigned char *a, unsigned char *b, size_t size)
{
	unsigned char t;

	while (size--) {
		t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

/* Heapsort: no recursion, no allocation, O(n log n). */
static void sift_down(unsigned char *base, size_t start, size_t end,
		      size_t size, int (*cmp)(const void *, const void *))
{
	size_t root = start, child;

	while ((child = 2 * root + 1) < end) {
		if (child + 1 < end &&
		    cmp(base + child * size, base + (child + 1) * size) < 0)
			child++;
		if (cmp(base + root * size, base + child * size) >= 0)
			return;
		swap_bytes(base + root * size, base + child * size, size);
		root = child;
	}
}

void qsort(void *base, size_t nmemb, size_t size,
	   int (*cmp)(const void *, const void *))
{
	unsigned char *b = base;
	size_t i;

	if (nmemb < 2)
		return;
	for (i = nmemb / 2; i-- > 0;)
		sift_down(b, i, nmemb, size, cmp);
	for (i = nmemb - 1; i > 0; i--) {
		swap_bytes(b, b + i * size, size);
		sift_down(b, 0, i, size, cmp);
	}
}

/*
 * malloc: whole pages from the arena, zeroed (the arena allocator
 * remembers the run length for free).
 */
void *malloc(size_t size)
{
	unsigned long n = (size + XL_PAGE_SIZE - 1) / XL_PAGE_SIZE;

	if (!n)
		n = 1;
	if (n > 0xffff)
		return NULL;
	return tk_alloc_pages((unsigned int)n);
}

void *calloc(size_t nmemb, size_t size)
{
	if (size && nmemb > ~(size_t)0 / size)
		return NULL;
	return malloc(nmemb * size);
}

void free(void *p)
{
	if (p)
		tk_free_pages(p);
}

void abort(void)
{
	tk_panic("abort()");
}

/* --- locks ---------------------------------------------------------------------- */

unsigned long tk_lock_irqsave(struct tk_lock *l)
{
	unsigned long flags = tk_irq_save();

	while (__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED))
			__asm__ __volatile__("pause");
	return flags;
}

void tk_unlock_irqrestore(struct tk_lock *l, unsigned long flags)
{
	__atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
	tk_irq_restore(flags);
}

/* --- vsnprintf ---------------------------------------------------------------------- */

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

#define F_LEFT 1
#define F_ZERO 2
#define F_PLUS 4
#define F_SPACE 8
#define F_ALT 16

static void put_num(struct out *o, unsigned long long v, bool neg,
		    unsigned int base, bool upper, int width, int prec,
		    unsigned int flags)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, pad, len;
	char sign = 0;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (prec >= 0)
		flags &= ~F_ZERO;
	if (neg)
		sign = '-';
	else if (flags & F_PLUS)
		sign = '+';
	else if (flags & F_SPACE)
		sign = ' ';
	len = n > prec ? n : prec;
	if (sign)
		len++;
	if (flags & F_ALT && base == 16)
		len += 2;
	pad = width > len ? width - len : 0;
	if (!(flags & (F_LEFT | F_ZERO)))
		while (pad-- > 0)
			put(o, ' ');
	if (sign)
		put(o, sign);
	if (flags & F_ALT && base == 16) {
		put(o, '0');
		put(o, upper ? 'X' : 'x');
	}
	if (flags & F_ZERO)
		while (pad-- > 0)
			put(o, '0');
	while (prec-- > n)
		put(o, '0');
	while (n--)
		put(o, tmp[n]);
	if (flags & F_LEFT)
		while (pad-- > 0)
			put(o, ' ');
}

int tk_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		unsigned int flags = 0, lng = 0, base = 10;
		int width = 0, prec = -1;
		unsigned long long u;
		long long s;
		const char *str;
		bool upper = false;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		for (;;) {
			fmt++;
			if (*fmt == '-')
				flags |= F_LEFT;
			else if (*fmt == '0')
				flags |= F_ZERO;
			else if (*fmt == '+')
				flags |= F_PLUS;
			else if (*fmt == ' ')
				flags |= F_SPACE;
			else if (*fmt == '#')
				flags |= F_ALT;
			else
				break;
		}
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0) {
				flags |= F_LEFT;
				width = -width;
			}
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			prec = 0;
			if (*fmt == '*') {
				prec = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					prec = prec * 10 + (*fmt++ - '0');
			}
		}
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't')
				lng = 2;
			else if (*fmt != 'h')
				break;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng >= 2)
				s = va_arg(ap, long long);
			else if (lng)
				s = va_arg(ap, long);
			else
				s = va_arg(ap, int);
			u = s < 0 ? -(unsigned long long)s :
				    (unsigned long long)s;
			put_num(&o, u, s < 0, 10, false, width, prec, flags);
			break;
		case 'X':
			upper = true;
			/* fall through */
		case 'x':
			base = 16;
			/* fall through */
		case 'u':
			if (lng >= 2)
				u = va_arg(ap, unsigned long long);
			else if (lng)
				u = va_arg(ap, unsigned long);
			else
				u = va_arg(ap, unsigned int);
			put_num(&o, u, false, base, upper, width, prec, flags);
			break;
		case 'p':
			u = (unsigned long)va_arg(ap, void *);
			put_num(&o, u, false, 16, false, width, prec,
				flags | F_ALT);
			break;
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			int len = 0, pad;

			str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			while (str[len] && (prec < 0 || len < prec))
				len++;
			pad = width > len ? width - len : 0;
			if (!(flags & F_LEFT))
				while (pad-- > 0)
					put(&o, ' ');
			while (len--)
				put(&o, *str++);
			if (flags & F_LEFT)
				while (pad-- > 0)
					put(&o, ' ');
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (o.size)
		o.buf[o.len < o.size ? o.len : o.size - 1] = 0;
	return (int)o.len;
}

int tk_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = tk_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
