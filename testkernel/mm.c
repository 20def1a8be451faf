// SPDX-License-Identifier: GPL-2.0
/*
 * The page arena: a static, page-aligned block of .bss handed out in runs
 * of whole pages (first fit).  virt == phys (identity map), so a page's
 * gfn is its address >> 12.  Every allocation is zeroed.
 */
#include <string.h>

#include "tk.h"

#define TK_ARENA_PAGES 4096 /* 16 MiB */

static uint8_t tk_arena[TK_ARENA_PAGES][XL_PAGE_SIZE]
	__attribute__((aligned(4096)));
/* Run length at a run's first page, 0 elsewhere and for free pages. */
static uint16_t tk_run[TK_ARENA_PAGES];
static uint8_t tk_used[TK_ARENA_PAGES];
static unsigned int tk_in_use, tk_hint;
static struct tk_lock tk_mm_lock;

void tk_mm_init(void)
{
	memset(tk_run, 0, sizeof(tk_run));
	memset(tk_used, 0, sizeof(tk_used));
	tk_in_use = 0;
	tk_hint = 0;
}

static bool run_free(unsigned int start, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (tk_used[start + i])
			return false;
	return true;
}

void *tk_alloc_pages(unsigned int n)
{
	unsigned long flags;
	unsigned int i, start, tries;
	void *p = NULL;

	if (!n || n > TK_ARENA_PAGES || n > 0xffff)
		return NULL;
	flags = tk_lock_irqsave(&tk_mm_lock);
	for (tries = 0; tries < 2 && !p; tries++) {
		start = tries ? 0 : tk_hint;
		for (; start + n <= TK_ARENA_PAGES; start++) {
			if (!run_free(start, n))
				continue;
			for (i = 0; i < n; i++)
				tk_used[start + i] = 1;
			tk_run[start] = (uint16_t)n;
			tk_in_use += n;
			tk_hint = start + n;
			p = tk_arena[start];
			break;
		}
	}
	tk_unlock_irqrestore(&tk_mm_lock, flags);
	if (p)
		memset(p, 0, (size_t)n * XL_PAGE_SIZE);
	return p;
}

void tk_free_pages(void *p)
{
	uintptr_t a = (uintptr_t)p, base = (uintptr_t)tk_arena;
	unsigned long flags;
	unsigned int start, n, i;

	if (a < base || a >= base + sizeof(tk_arena) ||
	    (a & (XL_PAGE_SIZE - 1))) {
		tk_printf("# tk: free of %p outside the arena\n", p);
		return;
	}
	start = (a - base) / XL_PAGE_SIZE;
	flags = tk_lock_irqsave(&tk_mm_lock);
	n = tk_run[start];
	if (!n) {
		tk_unlock_irqrestore(&tk_mm_lock, flags);
		tk_printf("# tk: double or bad free of %p\n", p);
		return;
	}
	for (i = 0; i < n; i++)
		tk_used[start + i] = 0;
	tk_run[start] = 0;
	tk_in_use -= n;
	if (start < tk_hint)
		tk_hint = start;
	tk_unlock_irqrestore(&tk_mm_lock, flags);
}

unsigned int tk_pages_in_use(void)
{
	return __atomic_load_n(&tk_in_use, __ATOMIC_RELAXED);
}
