/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xt: the xenlite selftest framework.  One suite, a table of tests; each
 * test declares the backends it runs on.  Tests are portable guest code:
 * they use only <xenlite/...> and the environment below, which each
 * backend's runner provides (selftests/hv-runner.c on hv/,
 * testkernel/runner.c on real Xen, linux/xt-host.c in xenlite.ko).  Output is kselftest-style TAP 13 with a closing
 * "N passed, N failed, N skipped" line.
 *
 * A test body runs on vCPU 0 of a fresh guest (the core is NOT initialised:
 * a test calls xt_core_init() or sets the core up itself) and returns
 * XT_PASS, XT_FAIL or XT_SKIP.  Use XT_ASSERT*() to fail with a message.
 */
#ifndef XT_H
#define XT_H

#include <xenlite/evtchn.h>

enum xt_result { XT_PASS = 0, XT_FAIL = 1, XT_SKIP = 2 };

/* Backends, a bit mask. */
#define XT_HV (1U << 0)	      /* hv/ user-space model */
#define XT_XEN_DOM0 (1U << 1) /* test kernel as PVH dom0 on real Xen */
#define XT_XEN_DOMU (1U << 2) /* test kernel as PVH domU on real Xen */
#define XT_XEN (XT_XEN_DOM0 | XT_XEN_DOMU)
#define XT_ALL (XT_HV | XT_XEN)
/*
 * xenlite.ko in a Linux HVM domU (linux/xt-host.c): the core is live,
 * brought up by the module and running the guest's tick, idle and disk,
 * so a test runs there only when it says so (not part of XT_ALL): it
 * must leave the core up, touch only ports it bound itself and not count
 * the core's global statistics.  xt_core_init() does not re-initialise
 * there; it checks that the live core is what the test asks for.
 */
#define XT_LINUX (1U << 3)

struct xt_test {
	const char *name;
	unsigned int backends;
	unsigned int min_vcpus; /* skip when the guest has fewer */
	bool needs_peer;	/* needs a second domain (xt_peer_*) */
	enum xt_result (*fn)(void);
	unsigned int flags; /* XT_F_*, applied when the domain is made */
};

/*
 * Test flags.  Some hypervisor properties are fixed when the domain is
 * created (hv_domain_config), before the test body runs: a test that needs
 * them says so here, and xt_set_no_fifo() then reports whether the domain
 * it runs in has the wanted property.
 */
#define XT_F_NO_FIFO (1U << 0)	/* the hypervisor refuses FIFO (hv) */
#define XT_F_PV (1U << 1)	/* the guest is a PV domain (hv), not PVH */
#define XT_F_1PCPU (1U << 2)	/* all vCPUs share one pCPU (hv run queue) */
#define XT_F_XENSTORE (1U << 3) /* the domain has a xenstore ring (hv) */
/*
 * Run twice on hv: as a PVH guest under the test's own name, and as a PV
 * guest as "NAME@pv" (its behaviour differs by flavour: registration,
 * the initial mask, the default tick).  Real Xen runs the name it boots.
 */
#define XT_F_FLAVOURS (1U << 4)
/* The hv host registers no upcall for the guest (hv_guest_attach_flags). */
#define XT_F_NO_UPCALL (1U << 5)
/*
 * With XT_F_1PCPU: the run queue models credit1 (Xen's sched=credit,
 * with BOOST) or credit2 (sched=credit2); neither: the hv instance's
 * default (HV_SCHED, else credit2).  On real Xen: what Xen was booted with.
 */
#define XT_F_CREDIT1 (1U << 6)
#define XT_F_CREDIT2 (1U << 7)
/*
 * hv: each PVH vCPU registers its own upcall vector (an edge: Xen raises
 * it only when evtchn_upcall_pending goes 0 -> 1, as for Linux's PVHVM
 * guests and xenlite.ko) instead of the domain's (a level).
 */
#define XT_F_VCPU_VECTOR (1U << 8)
/* Run on hv once more as "NAME@vec", with XT_F_VCPU_VECTOR. */
#define XT_F_VECTORS (1U << 9)

/* --- environment, provided by the backend runner ------------------------ */

/* The backend running now (one XT_* bit) and its name ("hv", ...). */
unsigned int xt_backend(void);
const char *xt_backend_name(void);
unsigned int xt_nr_vcpus(void);
/* This guest's own domain id (what a peer names as remote_dom). */
domid_t xt_domid(void);

/* Bring the core up with cfg (NULL: all vCPUs, FIFO if offered). */
int xt_core_init(const struct xl_evtchn_config *cfg);
/* The runner tears the core down after each test; tests need not. */

/* Run fn(arg) on vCPU cpu (it may be the caller's) and wait for it. */
void xt_run_on(unsigned int cpu, void (*fn)(void *), void *arg);
/* Start fn(arg) on vCPU cpu (not the caller's) without waiting... */
void xt_start_on(unsigned int cpu, void (*fn)(void *), void *arg);
/* ...and wait for what xt_start_on() started there to return. */
void xt_wait_on(unsigned int cpu);

/* Monotonic nanoseconds, and a bounded spin/idle wait for cond(arg). */
uint64_t xt_now_ns(void);
bool xt_wait_until(bool (*cond)(void *), void *arg, uint64_t timeout_ns);

/*
 * A second domain (the peer) that runs no xenlite, only raw hypercalls:
 * what a backend or another guest would be.  xt_peer_domid() is its id;
 * xt_peer_hypercall() runs one hypercall on peer vCPU pcpu (its pointer
 * arguments are the caller's memory, passed through).  xt_peer_start()
 * runs fn(arg) on peer vCPU pcpu, where fn may call xt_peer_hc() (the raw
 * hypercall of the peer vCPU it runs on); xt_peer_wait() joins it.
 */
bool xt_have_peer(void);
domid_t xt_peer_domid(void);
unsigned int xt_peer_nr_vcpus(void);
long xt_peer_hypercall(unsigned int pcpu, unsigned int op, unsigned long a1,
		       unsigned long a2, unsigned long a3);
void xt_peer_start(unsigned int pcpu, void (*fn)(void *), void *arg);
void xt_peer_wait(unsigned int pcpu);
long xt_peer_hc(unsigned int op, unsigned long a1, unsigned long a2,
		unsigned long a3);
/*
 * The peer-side operations of a peer that is a program of its own
 * (tools/evtchn-peer, docs/real-xen-peer.md): op "count" (*val: the events
 * the peer received on its port a), "echo" (b = 1: the peer sends back
 * each event it receives on port a; 0: stops) and "burst" (b sends on
 * port a in a row; *val: how many went out).  -XEN_ENOSYS where the peer
 * has no such operations (hv's peer runs hypercalls only).
 */
long xt_peer_ctl(const char *op, unsigned long a, unsigned long b,
		 unsigned long *val);
/* Raise the max_event_channels limit of this domain (hv only; else -1). */
int xt_set_max_evtchns(unsigned int max);
/*
 * Force the hypervisor to refuse FIFO for the next xt_core_init (hv).
 * On hv this is a property of the domain, fixed at creation: the test
 * declares XT_F_NO_FIFO and this returns 0 when the domain matches the
 * request, -1 otherwise (the test should skip).
 */
int xt_set_no_fifo(bool no_fifo);

/* Sleep about ns nanoseconds; upcalls keep running meanwhile. */
void xt_sleep_ns(uint64_t ns);

/* Reporting (TAP comment lines "# ..."). */
void xt_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xt_fail_msg(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The reason printed after "# SKIP" when the test returns XT_SKIP. */
void xt_skip_reason(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define XT_ASSERT(cond)                                               \
	do {                                                          \
		if (!(cond)) {                                        \
			xt_fail_msg(__FILE__, __LINE__, "%s", #cond); \
			return XT_FAIL;                               \
		}                                                     \
	} while (0)

#define XT_ASSERT_EQ(a, b)                                                   \
	do {                                                                 \
		long long xt_a_ = (long long)(a), xt_b_ = (long long)(b);    \
		if (xt_a_ != xt_b_) {                                        \
			xt_fail_msg(__FILE__, __LINE__,                      \
				    "%s == %s: %lld != %lld", #a, #b, xt_a_, \
				    xt_b_);                                  \
			return XT_FAIL;                                      \
		}                                                            \
	} while (0)

#define XT_ASSERT_MSG(cond, ...)                                      \
	do {                                                          \
		if (!(cond)) {                                        \
			xt_fail_msg(__FILE__, __LINE__, __VA_ARGS__); \
			return XT_FAIL;                               \
		}                                                     \
	} while (0)

#define XT_SKIP_IF(cond, ...)                        \
	do {                                         \
		if (cond) {                          \
			xt_skip_reason(__VA_ARGS__); \
			return XT_SKIP;              \
		}                                    \
	} while (0)

/*
 * The runner's entry point (main.c, stress.c and bench.c call it): run the
 * selected tests of the given tables, print TAP 13 and the closing
 * "N passed, N failed, N skipped" line; returns the exit status (1 if any
 * test failed).  argv: [-l] [-v] [-t seconds] [name-substring...]
 */
struct xt_suite {
	const struct xt_test *tests;
	unsigned int nr;
};

int xt_main(int argc, char **argv, const struct xt_suite *suites,
	    unsigned int nr_suites);

/* Runner knobs, before xt_main(). */
void xt_set_timeout(unsigned int seconds); /* per-test watchdog */
void xt_set_vcpus(unsigned int guest, unsigned int peer);
void xt_set_quiet(bool quiet); /* no TAP lines (benchmarks) */
/*
 * What the test would print if its watchdog bit: fn(arg) runs before the
 * "not ok ... # timeout" line (a racy snapshot: the test is still
 * running).  The runner forgets it when the test ends; NULL clears it.
 */
void xt_on_hang(void (*fn)(void *), void *arg);

/* The suite: tables defined in the selftests/...-tests.c files. */
extern const struct xt_test xt_evtchn_tests[];
extern const unsigned int xt_evtchn_nr_tests;
extern const struct xt_test xt_hypercall_tests[];
extern const unsigned int xt_hypercall_nr_tests;
extern const struct xt_test xt_time_tests[];
extern const unsigned int xt_time_nr_tests;
/*
 * A disk for device/vbd/DEVID: hv starts its in-process blkback over RAM
 * of `sectors` 512-byte sectors (the test needs XT_F_XENSTORE); on real
 * Xen the toolstack made it (tools/xen-domu --disk).  0, or -XEN_ENODEV
 * when there is none.  xt_blk_disk_put() ends hv's once the frontend has
 * detached (nothing on real Xen).
 */
int xt_blk_disk_get(unsigned int devid, uint64_t sectors);
void xt_blk_disk_put(void);
/* blkfront-lite through xenbus: hv's blkback and Linux's alike. */
extern const struct xt_test xt_blk_guest_tests[];
extern const unsigned int xt_blk_guest_nr_tests;
/* xenstore through the guest's client only: hv and real Xen alike. */
extern const struct xt_test xt_xs_guest_tests[];
extern const unsigned int xt_xs_guest_nr_tests;
/* hv-only cases (fault injection through hv's API). */
extern const struct xt_test xt_resume_tests[];
extern const unsigned int xt_resume_nr_tests;
extern const struct xt_test xt_hv_tests[];
extern const unsigned int xt_hv_nr_tests;
/* xenstore, xenbus, Xen-consumer event channels (hv only so far). */
extern const struct xt_test xt_xs_tests[];
extern const unsigned int xt_xs_nr_tests;
/* Grant table and blkfront-lite (hv only for now). */
extern const struct xt_test xt_gnttab_tests[];
extern const unsigned int xt_gnttab_nr_tests;
extern const struct xt_test xt_blk_tests[];
extern const unsigned int xt_blk_nr_tests;
/* hv's emulated platform timer under each policy (hv only). */
extern const struct xt_test xt_drift_tests[];
extern const unsigned int xt_drift_nr_tests;
/* The port lifecycle raced on 2-4 vCPUs (hv only; hv-explore.h seeds). */
extern const struct xt_test xt_explore_tests[];
extern const unsigned int xt_explore_nr_tests;
/* Windows of the core no hypercall brackets, forced with the point hook. */
extern const struct xt_test xt_order_tests[];
extern const unsigned int xt_order_nr_tests;
/* Upcall registration by flavour, PV and PVH (hv only). */
extern const struct xt_test xt_cb_tests[];
extern const unsigned int xt_cb_nr_tests;
/* Bounded upcalls: storms, slow ticks, corrupt READY bits (hv only). */
extern const struct xt_test xt_budget_tests[];
extern const unsigned int xt_budget_nr_tests;

#endif /* XT_H */
