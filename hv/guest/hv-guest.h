/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hv/guest: the user-space host that implements include/xenlite/os.h on top
 * of hv/.  One guest state per domain (hv_domain_set_guest): the page
 * allocator over the domain's arena, the mapped shared_info, and the
 * per-vCPU trace rings.
 */
#ifndef HV_GUEST_H
#define HV_GUEST_H

#include <stddef.h>
#include <stdint.h>

#include "hv.h"

/*
 * Call once on vCPU 0 of a domain before xl_evtchn_init(): creates the
 * guest state, picks a free arena gfn and maps shared_info there with
 * XENMEM_add_to_physmap (a real hypercall), then registers the upcall as
 * a kernel of the domain's flavour does (hv-os.c, "upcall registration"):
 * PV, vCPU 0's event and failsafe callbacks, then unmasked; PVH, the
 * domain's HVM_PARAM_CALLBACK_IRQ vector.  0, or -XEN_Exxx (-EEXIST if
 * already attached, -ESRCH off a vCPU thread, -ENOMEM, the registration's).
 */
int hv_guest_attach(void);
/*
 * hv_guest_attach() with flags: HV_GUEST_NO_UPCALL maps shared_info but
 * registers nothing, for tests of a guest that never asked for its
 * upcall (PV: vCPUs stay masked as the domain builder left them).
 */
#define HV_GUEST_NO_UPCALL 1U
/*
 * PVH: each vCPU registers a vector of its own (HVMOP_set_evtchn_upcall_
 * vector, as Linux's xen_init_setup_upcall_vector does) instead of the
 * domain's HVM_PARAM_CALLBACK_IRQ: an edge, not a level (hv/callback.c
 * hv_upcall_edge).  Pass it to hv_guest_vcpu_attach_flags() too.
 */
#define HV_GUEST_VCPU_VECTOR 2U
int hv_guest_attach_flags(unsigned int flags);
/*
 * On every other vCPU, before it runs guest work: PV, that vCPU's
 * callbacks (they are per vCPU), then unmasked; PVH, nothing, or with
 * HV_GUEST_VCPU_VECTOR its own vector.  May run before or after
 * hv_guest_attach().  0 or the registration's -XEN_Exxx.
 */
int hv_guest_vcpu_attach(void);
int hv_guest_vcpu_attach_flags(unsigned int flags);
/*
 * After SCHEDOP_shutdown(SHUTDOWN_suspend) returned 0 (restored into a
 * new domain), on the vCPU that suspended, before xl_evtchn_resume():
 * what a kernel's arch code does first (Linux xen_hvm_post_suspend):
 * shared_info mapped again at its gfn (XENMEM_add_to_physmap) and, PVH,
 * HVM_PARAM_CALLBACK_IRQ set again (the stream does not carry it).  PV
 * callbacks are vCPU state and survive.  0 or the hypercall's -XEN_Exxx.
 */
int hv_guest_resume(void);
/* Free the guest state of the current domain (its trace rings too). */
void hv_guest_detach(void);

/* The calling vCPU's domain (NULL off a vCPU thread). */
struct hv_domain *hv_guest_domain(void);

/* Pages of the arena the guest allocator holds (tests, leak checks). */
unsigned int hv_guest_pages_in_use(struct hv_domain *d);

/*
 * Fault injection for tests: after `after` more successful
 * xl_os_zalloc() calls (of any domain and vCPU), the next one returns
 * NULL, once; -1 disarms.  Testing only, as hv_domain_set_evtchn_hook.
 */
void hv_guest_fail_zalloc(long after);
/* Blocks xl_os_zalloc() handed out and xl_os_free() not yet given back. */
long hv_guest_zalloc_live(void);
/* The same for xl_os_alloc_page(): the page after `after` more fails. */
void hv_guest_fail_page(long after);
/*
 * The core's next hypercall op with first argument cmd (a VCPUOP_ or
 * EVTCHNOP_ number) is not made and answers rc instead, once, on any
 * vCPU (a Xen refusing what hv never refuses).
 */
void hv_guest_fail_hypercall(unsigned int op, unsigned long cmd, long rc);
/*
 * xl_os_alloc_page() and xl_os_zalloc() calls made with the calling
 * vCPU's events masked (os.h forbids them: a host's allocator may sleep).
 */
uint64_t hv_guest_masked_allocs(void);
/* xl_os_free_page() calls on no page of the guest's or a free one. */
uint64_t hv_guest_bad_frees(void);

/*
 * Tests: make xl_os_wait() behave as a host with a scheduler (os.h: it
 * sleeps the caller until done(arg) and returns 0) by calling fn instead
 * of answering -XEN_ENOSYS; NULL restores hv's own answer.  For every
 * domain and vCPU: set it around the call under test only.
 */
void hv_guest_set_os_wait(long (*fn)(bool (*done)(void *), void *arg));

/* --- trace rings (xl_os_trace) ------------------------------------------- */

#define HV_GUEST_TRACE_ENTRIES 4096 /* per vCPU, a power of two */

struct hv_guest_trace_entry {
	uint64_t tsc;  /* xl_os_rdtsc() at the hook */
	uint32_t what; /* enum xl_trace_point */
	uint32_t port;
	uint32_t arg;
	uint64_t val;
};

/*
 * Copy vCPU cpu's entries with sequence numbers >= *since (oldest first,
 * at most max) into out; entries overwritten meanwhile are skipped.
 * *since is advanced past the last copied entry.  Returns the count, 0 when
 * the domain has no guest state.  Meant for a quiescent vCPU or best-effort
 * sampling; the writer never waits for readers.
 */
unsigned int hv_guest_trace_read(struct hv_domain *d, unsigned int cpu,
				 uint64_t *since,
				 struct hv_guest_trace_entry *out,
				 unsigned int max);
/* Total entries vCPU cpu has written since attach. */
uint64_t hv_guest_trace_count(struct hv_domain *d, unsigned int cpu);
/*
 * Whether the last upcall entry or exit among vCPU cpu's 8 newest entries
 * is an exit (false when neither is there): a test waiting for another
 * vCPU's upcall to be over.
 */
bool hv_guest_trace_upcall_ended(struct hv_domain *d, unsigned int cpu);
/*
 * Every domain's rings on (the default) or off: xl-bench's consume cases
 * measure the event path with them off (os.h, xl_trace()).
 */
void hv_guest_trace_set(bool on);

/* Messages the core logged at level (XL_LOG_*), shown or not, so far. */
#define HV_GUEST_LOG_LEVELS 8
uint64_t hv_guest_log_count(int level);

#endif /* HV_GUEST_H */
