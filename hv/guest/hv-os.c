// SPDX-License-Identifier: GPL-2.0
/*
 * hv/guest: include/xenlite/os.h implemented for guest code running on hv/
 * vCPU threads.  Hypercalls call straight into hv; event delivery masking
 * is PV style (vcpu_info->evtchn_upcall_mask), as Linux PV does it
 * (arch/x86/xen/irq.c, xen_force_evtchn_callback()).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <x86intrin.h>

#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>
#include <xenlite/xen.h>

#include <xen/grant_table.h>

#include <xen/callback.h>

#include "hv-guest.h"

#define HV_GUEST_BITS (sizeof(unsigned long) * 8)

struct hv_guest_trace_ring {
	uint64_t head; /* next sequence number (atomic) */
	uint64_t seq[HV_GUEST_TRACE_ENTRIES]; /* seq + 1 when valid */
	struct hv_guest_trace_entry e[HV_GUEST_TRACE_ENTRIES];
};

struct hv_guest {
	struct hv_domain *d;
	pthread_mutex_t lock;  /* the page allocator */
	unsigned long *bitmap; /* one bit per arena page in use */
	unsigned int nr_pages;
	unsigned int in_use;
	unsigned int hint;
	struct shared_info *shinfo;
	uint64_t shinfo_gfn;
	uint64_t store_gfn; /* the xenstore ring, never handed out; 0: none */
	bool vcpu_vector;   /* PVH: per-vCPU vectors (HV_GUEST_VCPU_VECTOR) */
	unsigned int nr_vcpus;
	struct hv_guest_trace_ring *trace[HV_MAX_VCPUS];
	/* Grant frames (xl_os_grant_frames), under lock. */
	uint64_t gnt_gfn[XL_GNTTAB_MAX_FRAMES];
	unsigned int gnt_nr;
};

static struct hv_domain *hv_guest_cur_domain(void)
{
	struct hv_vcpu *v = hv_current();

	return v ? hv_vcpu_domain(v) : NULL;
}

struct hv_domain *hv_guest_domain(void)
{
	return hv_guest_cur_domain();
}

static struct hv_guest *hv_guest_state(struct hv_domain *d)
{
	return d ? hv_domain_guest(d) : NULL;
}

/* --- hypercalls ----------------------------------------------------------- */

/* hv_guest_fail_hypercall(): the next (op, a1) call answers rc unmade. */
static struct {
	unsigned int op;
	unsigned long cmd;
	long rc;
	uint32_t armed;
} hc_fail;

void hv_guest_fail_hypercall(unsigned int op, unsigned long cmd, long rc)
{
	hc_fail.op = op;
	hc_fail.cmd = cmd;
	hc_fail.rc = rc;
	__atomic_store_n(&hc_fail.armed, 1, __ATOMIC_SEQ_CST);
}

long xl_os_hypercall(unsigned int op, unsigned long a1, unsigned long a2,
		     unsigned long a3, unsigned long a4, unsigned long a5)
{
	uint32_t one = 1;

	if (__atomic_load_n(&hc_fail.armed, __ATOMIC_SEQ_CST) &&
	    op == hc_fail.op && a1 == hc_fail.cmd &&
	    __atomic_compare_exchange_n(&hc_fail.armed, &one, 0, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return hc_fail.rc;
	return hv_hypercall(op, a1, a2, a3, a4, a5);
}

/* --- pages ---------------------------------------------------------------- */

static bool hv_guest_test_bit(const struct hv_guest *g, unsigned int n)
{
	return g->bitmap[n / HV_GUEST_BITS] & (1UL << (n % HV_GUEST_BITS));
}

static void hv_guest_mark(struct hv_guest *g, unsigned int n, bool used)
{
	unsigned long m = 1UL << (n % HV_GUEST_BITS);

	if (used)
		g->bitmap[n / HV_GUEST_BITS] |= m;
	else
		g->bitmap[n / HV_GUEST_BITS] &= ~m;
}

/* Lowest free page at or after the hint, wrapping once; -1 if none. */
static int64_t hv_guest_find_free(struct hv_guest *g)
{
	unsigned int i, n;

	for (i = 0; i < g->nr_pages; i++) {
		n = (g->hint + i) % g->nr_pages;
		if (!hv_guest_test_bit(g, n))
			return n;
	}
	return -1;
}

#if defined(XL_WEAK_PLAIN) && defined(__SANITIZE_THREAD__)
/* The weak TSan build's barrier model (xenlite_host.h, xl_mb()). */
__thread const void *hv_tsan_last_read;
__thread int hv_tsan_release_next;
#endif

/*
 * A page's zeroing, out of line: gcc expands a 4 KiB memset inline (rep
 * stos), which ThreadSanitizer does not see; then a vCPU that uses the
 * page with no happens-before edge to its allocator (a publication with
 * no release, os.h) would go unreported.
 */
static void *(*volatile hv_page_memset)(void *, int, size_t) = memset;

/*
 * os.h: neither allocator may be called with events masked (a host's
 * may sleep).  hv's do not sleep, so such a call is counted here for the
 * tests to see (hv_guest_masked_allocs()) instead of going unnoticed.
 */
static uint64_t masked_allocs;

uint64_t hv_guest_masked_allocs(void)
{
	return __atomic_load_n(&masked_allocs, __ATOMIC_SEQ_CST);
}

static void note_masked_alloc(void)
{
	struct vcpu_info *vi;

	if (!hv_current())
		return;
	vi = xl_os_vcpu_info(xl_os_vcpu_id());
	if (vi && __atomic_load_n(&vi->evtchn_upcall_mask, __ATOMIC_SEQ_CST))
		__atomic_fetch_add(&masked_allocs, 1, __ATOMIC_SEQ_CST);
}

/* hv_guest_fail_page(): as zalloc_fail_after, for xl_os_alloc_page(). */
static long page_fail_after = -1;

void hv_guest_fail_page(long after)
{
	__atomic_store_n(&page_fail_after, after, __ATOMIC_SEQ_CST);
}

static bool page_fail_now(void)
{
	long n = __atomic_load_n(&page_fail_after, __ATOMIC_SEQ_CST);

	while (n >= 0) {
		if (__atomic_compare_exchange_n(&page_fail_after, &n, n - 1,
						false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return !n;
	}
	return false;
}

void *xl_os_alloc_page(void)
{
	struct hv_domain *d = hv_guest_cur_domain();
	struct hv_guest *g = hv_guest_state(d);
	int64_t gfn;
	void *page;

	note_masked_alloc();
	if (!g || page_fail_now())
		return NULL;
	pthread_mutex_lock(&g->lock);
	gfn = hv_guest_find_free(g);
	if (gfn >= 0) {
		hv_guest_mark(g, (unsigned int)gfn, true);
		g->in_use++;
		g->hint = (unsigned int)gfn + 1;
	}
	pthread_mutex_unlock(&g->lock);
	if (gfn < 0)
		return NULL;
	page = hv_gfn_to_virt(d, (uint64_t)gfn);
	/* Only the guest touches a page it has not yet handed to hv. */
	hv_page_memset(page, 0, XL_PAGE_SIZE);
	return page;
}

/*
 * xl_os_free_page() of something that is no page of the guest's, or of a
 * page not in use (a double free): a bug of the caller's, which a host's
 * allocator would not survive.  hv ignores it and counts it, for the
 * tests to see (hv_guest_bad_frees()).
 */
static uint64_t bad_frees;

uint64_t hv_guest_bad_frees(void)
{
	return __atomic_load_n(&bad_frees, __ATOMIC_SEQ_CST);
}

void xl_os_free_page(void *page)
{
	struct hv_domain *d = hv_guest_cur_domain();
	struct hv_guest *g = hv_guest_state(d);
	int64_t gfn;

	if (!g || !page)
		return;
	gfn = hv_virt_to_gfn(d, page);
	if (gfn < 0 || (uint64_t)gfn >= g->nr_pages) {
		__atomic_fetch_add(&bad_frees, 1, __ATOMIC_SEQ_CST);
		return;
	}
	if ((uint64_t)gfn == g->shinfo_gfn ||
	    (g->store_gfn && (uint64_t)gfn == g->store_gfn))
		return;
	pthread_mutex_lock(&g->lock);
	if (hv_guest_test_bit(g, (unsigned int)gfn)) {
		hv_guest_mark(g, (unsigned int)gfn, false);
		g->in_use--;
		if ((unsigned int)gfn < g->hint)
			g->hint = (unsigned int)gfn;
	} else {
		__atomic_fetch_add(&bad_frees, 1, __ATOMIC_SEQ_CST);
	}
	pthread_mutex_unlock(&g->lock);
}

uint64_t xl_os_virt_to_gfn(const void *va)
{
	struct hv_domain *d = hv_guest_cur_domain();
	int64_t gfn = d ? hv_virt_to_gfn(d, va) : -1;

	return (uint64_t)gfn;
}

/*
 * Fault injection (hv_guest_fail_zalloc): the number of xl_os_zalloc()
 * calls still to succeed before one fails; -1 when none is armed.  Any
 * vCPU thread may allocate: the decrement is an atomic read-modify-write,
 * so exactly one call sees 0.
 */
static long zalloc_fail_after = -1;
/* xl_os_zalloc() blocks not yet given back to xl_os_free() (leak checks). */
static long zalloc_live;

long hv_guest_zalloc_live(void)
{
	return __atomic_load_n(&zalloc_live, __ATOMIC_SEQ_CST);
}

void hv_guest_fail_zalloc(long after)
{
	__atomic_store_n(&zalloc_fail_after, after, __ATOMIC_SEQ_CST);
}

void *xl_os_zalloc(size_t size)
{
	long n = __atomic_load_n(&zalloc_fail_after, __ATOMIC_SEQ_CST);
	void *p;

	note_masked_alloc();
	while (n >= 0) {
		if (__atomic_compare_exchange_n(&zalloc_fail_after, &n, n - 1,
						false, __ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST)) {
			if (!n)
				return NULL;
			break;
		}
	}
	p = calloc(1, size);
	if (p)
		__atomic_fetch_add(&zalloc_live, 1, __ATOMIC_SEQ_CST);
	return p;
}

void xl_os_free(void *p)
{
	if (p)
		__atomic_fetch_sub(&zalloc_live, 1, __ATOMIC_SEQ_CST);
	free(p);
}

/*
 * PV (os.h): the frames GNTTABOP_setup_table reports are machine frames
 * that the host maps itself, as testkernel/pv.c does with
 * update_va_mapping; here the "mapping" is hv_gnttab_pv_frame().  Called
 * again at a restore, it maps the new domain's frames.
 */
static int hv_guest_pv_grant_frames(struct hv_domain *d, unsigned int nr,
				    uint64_t *mfns, void **va)
{
	xen_pfn_t frames[XL_GNTTAB_MAX_FRAMES];
	struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = nr };
	unsigned int i;
	long rc;

	set_xen_guest_handle(st.frame_list, frames);
	rc = xl_os_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table,
			     (unsigned long)&st, 1, 0, 0);
	if (rc)
		return (int)rc;
	if (st.status != GNTST_okay)
		return -XEN_EINVAL;
	for (i = 0; i < nr; i++) {
		va[i] = hv_gnttab_pv_frame(d, frames[i]);
		if (!va[i])
			return -XEN_EINVAL;
		mfns[i] = frames[i];
	}
	return XL_OS_GRANT_FRAMES_MAPPED;
}

/*
 * Grant frames live in the arena: pages taken from the allocator once per
 * domain and kept (hv reads the entries at the gfn the guest maps them at,
 * hv/gnttab.c), so a second xl_gnttab_init() gets the same gfns.  PV: above.
 */
int xl_os_grant_frames(unsigned int nr, uint64_t *gfns, void **va)
{
	struct hv_domain *d = hv_guest_cur_domain();
	struct hv_guest *g = hv_guest_state(d);
	unsigned int i;
	int rc = 0;

	if (!g)
		return -XEN_ESRCH;
	if (!nr || nr > XL_GNTTAB_MAX_FRAMES)
		return -XEN_EINVAL;
	if (hv_domain_flavour(d) == HV_FLAVOUR_PV)
		return hv_guest_pv_grant_frames(d, nr, gfns, va);
	while (g->gnt_nr < nr) {
		void *p = xl_os_alloc_page();

		if (!p) {
			rc = -XEN_ENOMEM;
			break;
		}
		pthread_mutex_lock(&g->lock);
		g->gnt_gfn[g->gnt_nr++] = (uint64_t)hv_virt_to_gfn(d, p);
		pthread_mutex_unlock(&g->lock);
	}
	if (rc)
		return rc;
	for (i = 0; i < nr; i++) {
		gfns[i] = g->gnt_gfn[i];
		va[i] = hv_gfn_to_virt(d, gfns[i]);
	}
	return 0;
}

unsigned int hv_guest_pages_in_use(struct hv_domain *d)
{
	struct hv_guest *g = hv_guest_state(d);
	unsigned int n;

	if (!g)
		return 0;
	pthread_mutex_lock(&g->lock);
	n = g->in_use;
	pthread_mutex_unlock(&g->lock);
	return n;
}

/* --- shared_info, vCPUs ---------------------------------------------------- */

struct shared_info *xl_os_shared_info(void)
{
	struct hv_domain *d = hv_guest_cur_domain();
	struct hv_guest *g = hv_guest_state(d);

	if (g)
		return g->shinfo;
	return d ? hv_domain_shared_info(d) : NULL;
}

/* HVMOP_get_param, as a PVH guest asks for its xenstore ring. */
static long hv_guest_get_param(uint32_t index, uint64_t *value)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
	long rc = hv_hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param,
			       (unsigned long)&p, 0, 0, 0);

	*value = rc ? 0 : p.value;
	return rc;
}

int xl_os_xenstore_ring(void **intf, uint32_t *port)
{
	struct hv_domain *d = hv_guest_cur_domain();
	uint64_t pfn, evtchn;
	long rc;

	if (!d)
		return -XEN_ESRCH;
	rc = hv_guest_get_param(HVM_PARAM_STORE_PFN, &pfn);
	if (!rc)
		rc = hv_guest_get_param(HVM_PARAM_STORE_EVTCHN, &evtchn);
	if (rc)
		return (int)rc;
	if (!pfn)
		return -XEN_ENODEV;
	*intf = hv_gfn_to_virt(d, pfn);
	*port = (uint32_t)evtchn;
	return *intf ? 0 : -XEN_EINVAL;
}

struct vcpu_info *xl_os_vcpu_info(unsigned int cpu)
{
	struct shared_info *s = xl_os_shared_info();

	if (!s || cpu >= XEN_LEGACY_MAX_VCPUS)
		return NULL;
	return &s->vcpu_info[cpu];
}

unsigned int xl_os_vcpu_id(void)
{
	struct hv_vcpu *v = hv_current();

	return v ? hv_vcpu_id(v) : 0;
}

unsigned int xl_os_nr_vcpus(void)
{
	struct hv_domain *d = hv_guest_cur_domain();

	return d ? hv_domain_nr_vcpus(d) : 0;
}

/* --- event masking and idle ------------------------------------------------- */

static struct vcpu_info *hv_guest_my_vcpu_info(void)
{
	return xl_os_vcpu_info(xl_os_vcpu_id());
}

/* local_irq_save(), PV flavour: the old mask, now masked. */
unsigned long xl_os_irq_save(void)
{
	struct vcpu_info *vi = hv_guest_my_vcpu_info();

	return vi ? xl_xchg8(&vi->evtchn_upcall_mask, 1) : 1;
}

/*
 * local_irq_restore(), PV flavour (Linux xen_irq_enable): write the mask
 * back; if that unmasked, "unmask then check (avoid races)": a full
 * barrier, then if an upcall became pending while masked, force its
 * delivery with a cheap hypercall whose return path delivers (Linux
 * xen_force_evtchn_callback() uses xen_version(0)).
 */
void xl_os_irq_restore(unsigned long flags)
{
	struct vcpu_info *vi = hv_guest_my_vcpu_info();

	if (!vi)
		return;
	xl_write8(&vi->evtchn_upcall_mask, flags ? 1 : 0);
	if (flags)
		return;
	xl_mb();
	if (xl_read8(&vi->evtchn_upcall_pending))
		hv_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0,
			     0);
}

/*
 * Called masked.  SCHEDOP_block enables delivery and blocks atomically
 * (hv checks evtchn_upcall_pending after marking the vCPU blocked); the
 * upcall runs on the hypercall's return path; then mask again, as the
 * caller expects.
 */
void xl_os_safe_halt(void)
{
	struct vcpu_info *vi = hv_guest_my_vcpu_info();

	hv_hypercall(__HYPERVISOR_sched_op, SCHEDOP_block, 0, 0, 0, 0);
	if (vi)
		xl_write8(&vi->evtchn_upcall_mask, 1);
}

static long (*os_wait_fn)(bool (*)(void *), void *);

void hv_guest_set_os_wait(long (*fn)(bool (*done)(void *), void *arg))
{
	__atomic_store_n(&os_wait_fn, fn, __ATOMIC_SEQ_CST);
}

/*
 * hv's guest threads are vCPUs, not schedulable threads: they idle
 * (unless a test stands in for a host that sleeps, hv_guest_set_os_wait).
 */
long xl_os_wait(bool (*done)(void *), void *arg)
{
	long (*fn)(bool (*)(void *), void *) =
		__atomic_load_n(&os_wait_fn, __ATOMIC_SEQ_CST);

	return fn ? fn(done, arg) : -XEN_ENOSYS;
}

uint64_t xl_os_rdtsc(void)
{
	/* lfence: rdtsc waits for earlier loads (os.h, rdtsc_ordered). */
	__builtin_ia32_lfence();
	return __rdtsc();
}

/* --- logging ------------------------------------------------------------------ */

static int hv_guest_log_level = -1;

static int hv_guest_parse_level(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} names[] = {
		{ "err", XL_LOG_ERR },	 { "error", XL_LOG_ERR },
		{ "warn", XL_LOG_WARN }, { "warning", XL_LOG_WARN },
		{ "info", XL_LOG_INFO }, { "debug", XL_LOG_DEBUG },
	};
	unsigned int i;

	if (!s || !*s)
		return XL_LOG_WARN;
	if (*s >= '0' && *s <= '9')
		return atoi(s);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].level;
	return XL_LOG_WARN;
}

static int hv_guest_level(void)
{
	int l = __atomic_load_n(&hv_guest_log_level, __ATOMIC_RELAXED);

	if (l < 0) {
		l = hv_guest_parse_level(getenv("XL_LOG"));
		__atomic_store_n(&hv_guest_log_level, l, __ATOMIC_RELAXED);
	}
	return l;
}

int xl_os_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	return vsnprintf(buf, size, fmt, ap);
}

/*
 * TAP comment lines "# [xenlite] ...".  Formatted into a stack buffer and
 * written with one write(2) so lines from vCPUs do not interleave, and so a
 * log from an upcall (a signal handler here) does not re-enter stdio.
 */
static uint64_t hv_guest_logs[HV_GUEST_LOG_LEVELS];

uint64_t hv_guest_log_count(int level)
{
	return level >= 0 && level < HV_GUEST_LOG_LEVELS ?
		       __atomic_load_n(&hv_guest_logs[level],
				       __ATOMIC_RELAXED) :
		       0;
}

void xl_os_log(int level, const char *fmt, ...)
{
	char msg[512], out[640];
	size_t o = 0;
	const char *p;
	va_list ap;
	int saved_errno = errno;

	if (level >= 0 && level < HV_GUEST_LOG_LEVELS)
		__atomic_fetch_add(&hv_guest_logs[level], 1, __ATOMIC_RELAXED);
	if (level > hv_guest_level())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	for (p = msg; *p && o < sizeof(out) - 16;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > sizeof(out) - 16 - o)
			n = sizeof(out) - 16 - o;
		memcpy(out + o, "# [xenlite] ", 12);
		o += 12;
		memcpy(out + o, p, n);
		o += n;
		out[o++] = '\n';
		p += n;
		if (*p == '\n')
			p++;
	}
	if (o && write(STDERR_FILENO, out, o) < 0)
		errno = saved_errno;
	errno = saved_errno;
}

/* --- tracing ------------------------------------------------------------------ */

/* On unless a benchmark turned it off (xenlite_host.h). */
int hv_guest_trace_off;

void hv_guest_trace_set(bool on)
{
	__atomic_store_n(&hv_guest_trace_off, !on, __ATOMIC_RELAXED);
}

/*
 * Only the vCPU's own thread writes its ring (its upcall included, which
 * may interrupt a write: the slot is reserved with one atomic add first).
 * Each slot carries seq + 1 once complete, 0 while being written, so a
 * reader on another thread can skip torn entries.
 */
void xl_os_trace(enum xl_trace_point what, uint32_t port, uint32_t arg,
		 uint64_t val)
{
	struct hv_vcpu *v = hv_current();
	struct hv_guest *g;
	struct hv_guest_trace_ring *r;
	uint64_t seq;
	unsigned int slot;

	if (!v)
		return;
	g = hv_guest_state(hv_vcpu_domain(v));
	if (!g || hv_vcpu_id(v) >= g->nr_vcpus)
		return;
	r = g->trace[hv_vcpu_id(v)];
	seq = __atomic_fetch_add(&r->head, 1, __ATOMIC_RELAXED);
	slot = seq % HV_GUEST_TRACE_ENTRIES;
	/* Release stores: a reader that sees a new field also sees seq 0. */
	__atomic_store_n(&r->seq[slot], 0, __ATOMIC_RELAXED);
	__atomic_store_n(&r->e[slot].tsc, xl_os_rdtsc(), __ATOMIC_RELEASE);
	__atomic_store_n(&r->e[slot].what, (uint32_t)what, __ATOMIC_RELEASE);
	__atomic_store_n(&r->e[slot].port, port, __ATOMIC_RELEASE);
	__atomic_store_n(&r->e[slot].arg, arg, __ATOMIC_RELEASE);
	__atomic_store_n(&r->e[slot].val, val, __ATOMIC_RELEASE);
	__atomic_store_n(&r->seq[slot], seq + 1, __ATOMIC_RELEASE);
}

static bool hv_guest_trace_copy(struct hv_guest_trace_ring *r, uint64_t seq,
				struct hv_guest_trace_entry *out)
{
	unsigned int slot = seq % HV_GUEST_TRACE_ENTRIES;

	if (__atomic_load_n(&r->seq[slot], __ATOMIC_ACQUIRE) != seq + 1)
		return false;
	/* Acquire loads order the re-check of seq after them. */
	out->tsc = __atomic_load_n(&r->e[slot].tsc, __ATOMIC_ACQUIRE);
	out->what = __atomic_load_n(&r->e[slot].what, __ATOMIC_ACQUIRE);
	out->port = __atomic_load_n(&r->e[slot].port, __ATOMIC_ACQUIRE);
	out->arg = __atomic_load_n(&r->e[slot].arg, __ATOMIC_ACQUIRE);
	out->val = __atomic_load_n(&r->e[slot].val, __ATOMIC_ACQUIRE);
	return __atomic_load_n(&r->seq[slot], __ATOMIC_RELAXED) == seq + 1;
}

unsigned int hv_guest_trace_read(struct hv_domain *d, unsigned int cpu,
				 uint64_t *since,
				 struct hv_guest_trace_entry *out,
				 unsigned int max)
{
	struct hv_guest *g = hv_guest_state(d);
	struct hv_guest_trace_ring *r;
	uint64_t head, seq, start = since ? *since : 0;
	unsigned int n = 0;

	if (!g || cpu >= g->nr_vcpus)
		return 0;
	r = g->trace[cpu];
	head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
	if (head > HV_GUEST_TRACE_ENTRIES &&
	    start < head - HV_GUEST_TRACE_ENTRIES)
		start = head - HV_GUEST_TRACE_ENTRIES;
	for (seq = start; seq < head && n < max; seq++)
		if (hv_guest_trace_copy(r, seq, &out[n]))
			n++;
	if (since)
		*since = seq;
	return n;
}

uint64_t hv_guest_trace_count(struct hv_domain *d, unsigned int cpu)
{
	struct hv_guest *g = hv_guest_state(d);

	if (!g || cpu >= g->nr_vcpus)
		return 0;
	return __atomic_load_n(&g->trace[cpu]->head, __ATOMIC_ACQUIRE);
}

bool hv_guest_trace_upcall_ended(struct hv_domain *d, unsigned int cpu)
{
	struct hv_guest_trace_entry e[8];
	uint64_t since = hv_guest_trace_count(d, cpu);
	unsigned int n;

	since = since > 8 ? since - 8 : 0;
	n = hv_guest_trace_read(d, cpu, &since, e, 8);
	while (n--)
		if (e[n].what == XL_TRACE_UPCALL_EXIT)
			return true;
		else if (e[n].what == XL_TRACE_UPCALL_ENTER)
			return false;
	return false;
}

/* --- upcall registration ------------------------------------------------------ */

/*
 * How the kernel asks for its upcall, by the domain's flavour (hv.h enum
 * hv_flavour, hv/callback.c):
 *
 * PV, on each vCPU (the callbacks are per vCPU: Xen's register_guest_
 * callback() sets current's event_callback_eip): CALLBACKOP_register for
 * the event callback (the core's upcall; hv's bounce into it sets
 * evtchn_upcall_mask, as Xen's create_bounce_frame does) and the failsafe
 * callback, as Linux's xen_enable_sysenter/xen_setup_callbacks do
 * (arch/x86/xen/setup.c, with CALLBACKF_mask_events for the failsafe);
 * then, with a handler in place, unmask (the domain builder started the
 * vCPU masked) through xl_os_irq_restore(), which re-checks pending.
 *
 * PVH, once for the domain: HVM_PARAM_CALLBACK_IRQ of the vector type, as
 * the test kernel does (testkernel/main.c set_callback_vector); the vector
 * is routed to the core's upcall (the domain config's upcall, hv's IDT).
 */
#define HV_GUEST_UPCALL_VECTOR 0xf3

/* hv's failsafe callback is never entered (hv/callback.c). */
static void hv_guest_failsafe(void)
{
	xl_os_log(XL_LOG_ERR, "failsafe callback entered");
	abort();
}

static long hv_guest_register_pv(void)
{
	struct callback_register ev = {
		.type = CALLBACKTYPE_event,
		.address = (unsigned long)xl_evtchn_upcall,
	};
	struct callback_register fs = {
		.type = CALLBACKTYPE_failsafe,
		.flags = CALLBACKF_mask_events,
		.address = (unsigned long)hv_guest_failsafe,
	};
	long rc;

	rc = hv_hypercall(__HYPERVISOR_callback_op, CALLBACKOP_register,
			  (unsigned long)&ev, 0, 0, 0);
	if (!rc)
		rc = hv_hypercall(__HYPERVISOR_callback_op, CALLBACKOP_register,
				  (unsigned long)&fs, 0, 0, 0);
	if (!rc)
		xl_os_irq_restore(0);
	return rc;
}

static long hv_guest_register_pvh(void)
{
	struct xen_hvm_param p = {
		.domid = DOMID_SELF,
		.index = HVM_PARAM_CALLBACK_IRQ,
		.value = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) |
			 HV_GUEST_UPCALL_VECTOR,
	};

	return hv_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param,
			    (unsigned long)&p, 0, 0, 0);
}

/* PVH, HV_GUEST_VCPU_VECTOR: the calling vCPU's own vector. */
static long hv_guest_register_vcpu_vector(void)
{
	struct xen_hvm_evtchn_upcall_vector op = {
		.vcpu = xl_os_vcpu_id(),
		.vector = HV_GUEST_UPCALL_VECTOR,
	};

	return hv_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector,
			    (unsigned long)&op, 0, 0, 0);
}

int hv_guest_vcpu_attach_flags(unsigned int flags)
{
	struct hv_domain *d = hv_guest_cur_domain();

	if (!d)
		return -XEN_ESRCH;
	if (hv_domain_flavour(d) == HV_FLAVOUR_PV)
		return (int)hv_guest_register_pv();
	if (flags & HV_GUEST_VCPU_VECTOR)
		return (int)hv_guest_register_vcpu_vector();
	return 0; /* PVH: the domain-wide vector covers every vCPU */
}

int hv_guest_vcpu_attach(void)
{
	return hv_guest_vcpu_attach_flags(0);
}

/* --- attach / detach ---------------------------------------------------------- */

static void hv_guest_free(struct hv_guest *g)
{
	unsigned int i;

	for (i = 0; i < HV_MAX_VCPUS; i++)
		free(g->trace[i]);
	free(g->bitmap);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static struct hv_guest *hv_guest_alloc(struct hv_domain *d)
{
	struct hv_guest *g = calloc(1, sizeof(*g));
	unsigned int i;

	if (!g)
		return NULL;
	pthread_mutex_init(&g->lock, NULL);
	g->d = d;
	g->nr_pages = hv_domain_nr_pages(d);
	g->nr_vcpus = hv_domain_nr_vcpus(d);
	g->bitmap = calloc((g->nr_pages + HV_GUEST_BITS - 1) / HV_GUEST_BITS,
			   sizeof(unsigned long));
	if (!g->bitmap)
		goto fail;
	for (i = 0; i < g->nr_vcpus; i++) {
		g->trace[i] = calloc(1, sizeof(*g->trace[i]));
		if (!g->trace[i])
			goto fail;
	}
	return g;
fail:
	hv_guest_free(g);
	return NULL;
}

int hv_guest_attach(void)
{
	return hv_guest_attach_flags(0);
}

int hv_guest_attach_flags(unsigned int flags)
{
	struct hv_domain *d = hv_guest_cur_domain();
	struct xen_add_to_physmap xatp;
	struct hv_guest *g;
	long rc;

	if (!d)
		return -XEN_ESRCH;
	if (hv_domain_guest(d))
		return -XEN_EEXIST;
	g = hv_guest_alloc(d);
	if (!g)
		return -XEN_ENOMEM;

	/* shared_info goes to the arena's last page, taken from the pool. */
	g->shinfo_gfn = g->nr_pages - 1;
	hv_guest_mark(g, (unsigned int)g->shinfo_gfn, true);
	g->in_use = 1;
	/* The xenstore ring page, if hv put one in the arena: never ours
	 * to hand out (not counted in in_use). */
	if (!hv_guest_get_param(HVM_PARAM_STORE_PFN, &g->store_gfn) &&
	    g->store_gfn && g->store_gfn < g->nr_pages)
		hv_guest_mark(g, (unsigned int)g->store_gfn, true);
	else
		g->store_gfn = 0;

	/*
	 * PV: the domain builder hands shared_info over in start_info (a
	 * machine frame the kernel maps itself, testkernel/pv.c); Xen 4.17
	 * refuses add_to_physmap to a domain that is not translated
	 * (xatp_permission_check(), hv/memory.c).  The arena page stays
	 * reserved all the same, so the page accounting is one flavour's.
	 */
	if (hv_domain_flavour(d) == HV_FLAVOUR_PV) {
		g->shinfo = hv_domain_shared_info(d);
	} else {
		memset(&xatp, 0, sizeof(xatp));
		xatp.domid = DOMID_SELF;
		xatp.space = XENMAPSPACE_shared_info;
		xatp.idx = 0;
		xatp.gpfn = g->shinfo_gfn;
		rc = hv_hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap,
				  (unsigned long)&xatp, 0, 0, 0);
		if (rc) {
			hv_guest_free(g);
			return (int)rc;
		}
		g->shinfo = hv_gfn_to_virt(d, g->shinfo_gfn);
	}
	g->vcpu_vector = hv_domain_flavour(d) != HV_FLAVOUR_PV &&
			 (flags & HV_GUEST_VCPU_VECTOR);
	hv_domain_set_guest(d, g);
	if (flags & HV_GUEST_NO_UPCALL)
		return 0;
	if (hv_domain_flavour(d) == HV_FLAVOUR_PV)
		rc = hv_guest_register_pv();
	else if (flags & HV_GUEST_VCPU_VECTOR)
		rc = hv_guest_register_vcpu_vector();
	else
		rc = hv_guest_register_pvh();
	if (rc) {
		hv_domain_set_guest(d, NULL);
		hv_guest_free(g);
		return (int)rc;
	}
	return 0;
}

int hv_guest_resume(void)
{
	struct hv_domain *d = hv_guest_cur_domain();
	struct hv_guest *g = hv_guest_state(d);
	struct xen_add_to_physmap xatp = {
		.domid = DOMID_SELF,
		.space = XENMAPSPACE_shared_info,
		.idx = 0,
	};
	long rc;

	if (!g)
		return -XEN_ESRCH;
	/* PV: shared_info is where start_info says, kept by a restore. */
	if (hv_domain_flavour(d) == HV_FLAVOUR_PV)
		return 0;
	xatp.gpfn = g->shinfo_gfn;
	rc = hv_hypercall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap,
			  (unsigned long)&xatp, 0, 0, 0);
	if (!rc)
		rc = hv_guest_register_pvh();
	return (int)rc;
}

void hv_guest_detach(void)
{
	struct hv_domain *d = hv_guest_cur_domain();
	struct hv_guest *g = hv_guest_state(d);

	if (!g)
		return;
	hv_domain_set_guest(d, NULL);
	hv_guest_free(g);
}

/* --- the upcall's re-raise --------------------------------------------------- */

/*
 * As Linux's host does (linux/upcall.c): a per-vCPU vector is raised only
 * on the 0 -> 1 edge of evtchn_upcall_pending, so the work left behind
 * needs a self-IPI of the vector; the domain's level-style vector and
 * PV's callback are offered again while evtchn_upcall_pending is set, and
 * hv only holds that back until the interrupted code ran.
 */
void xl_os_upcall_reraise(void)
{
	struct hv_guest *g = hv_guest_state(hv_guest_cur_domain());

	if (g && g->vcpu_vector)
		hv_vcpu_self_ipi();
	else
		hv_vcpu_reraise_upcall();
}
