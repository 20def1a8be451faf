// SPDX-License-Identifier: GPL-2.0
/*
 * The test kernel: boots as a PVH guest (or, built with FLAVOUR=pv, as an
 * x86-64 PV guest: pv.c, docs/pv-guest.md), dom0 or a domU, sets up what
 * the core needs from Xen, brings up the other vCPUs, and runs the
 * portable selftest suite, printing TAP 13 on the console, or the tick
 * comparison.
 * Exits with SCHEDOP_shutdown: poweroff when every test passed, crash
 * otherwise.
 *
 * dom0 or domU: Xen's PVH dom0 builder sets SIF_INITDOMAIN in the start
 * info flags (hvm/dom0_build.c, pvh_load_kernel), libxl does not; Xen
 * reports XENFEAT_dom0 to the hardware domain (kernel.c, XENVER_get_features).
 * Either makes us dom0.  As a domU the console is the PV console ring
 * (console.c) and the toolstack left its console and xenstore ports
 * bound: the tests own the port space, so the domain starts with an
 * EVTCHNOP_reset and the console port bound again.
 *
 * Command line (the module's string after its name, or xl's cmdline),
 * words:
 *   -l  -v  -t SECONDS  NAME-SUBSTRING...   as for xl-selftest
 *   -x NAME-SUBSTRING    report matching tests as skipped, do not run them
 *   xl_log=N             core log level (3 err .. 7 debug; default 4)
 *   upcall=percpu        per-vCPU HVMOP_set_evtchn_upcall_vector instead of
 *                        the global HVM_PARAM_CALLBACK_IRQ vector
 *   tk_ud2               execute ud2 before the tests (checks the crash path:
 *                        register dump, SHUTDOWN_crash)
 *   tk_failsafe          PV only: start vCPU 1 with a %ds Xen cannot load,
 *                        so that Xen bounces it into the failsafe callback
 *                        (pv.c; checks that path: the selectors and
 *                        registers printed, SHUTDOWN_crash)
 *   debugcon             also write the console to I/O port 0xe9, which Xen
 *                        prints on its own console as "(dN) ..." lines
 *   idle=block           idle through SCHEDOP_block (sti; nop; vmcall, an
 *                        upcall that lands on the hypercall skips it: os.c),
 *                        the default
 *   idle=plain|stepover  idle as sti; hlt instead; with stepover an interrupt
 *                        that arrives between the sti and the hlt (QEMU TCG
 *                        does that) returns past the hlt (os.c)
 *   tick                 the tick comparison and the timer wake latency
 *                        (tick-mode.c) instead of the suite
 *   tests                with tick: the suite first, then the comparison
 *   tick_ms=MS           the comparison's window per mode (default 1500)
 *   lat_n=N              wake-latency samples (default 2000)
 *   peer                 a domU whose peer domain is tools/evtchn-peer in
 *                        dom0: wait up to 30 s for it in xenstore before the
 *                        first test (without it, the peer is used only if it
 *                        is there already; peer.c)
 *   peer_serve           run no tests: be the peer domain of another test
 *                        kernel domU, whose domid dom0 writes to
 *                        data/xenlite-peer-serve/client (peer.c)
 *   suspend              PVH domU: run no tests but the save/restore
 *                        workload across dom0's xl save / restore /
 *                        migrate (sr-mode.c, suspend.c); sr_cycles=N
 *                        suspends (default 2), sr_ms=MS of workload after
 *                        each (1000), sr_wait=S for each request (300)
 */
#include <string.h>

#include "tk.h"
#include "xt.h"
#include "xt-runner.h"

#include <xen/arch-x86/hvm/start_info.h>
#include <xen/features.h>

#define TK_MAX_ARGS 32

#ifdef TK_PV
extern const struct xt_test tk_pv_tests[]; /* pv-tests.c */
extern const unsigned int tk_pv_nr_tests;
#endif

static char tk_cmdline[512];

bool tk_is_dom0 = true;
domid_t tk_domid;

static int split_args(char *s, char **argv, int max)
{
	int argc = 0;

	argv[argc++] = "testkernel";
	while (*s && argc < max) {
		while (*s == ' ')
			*s++ = 0;
		if (!*s)
			break;
		argv[argc++] = s;
		while (*s && *s != ' ')
			s++;
	}
	return argc;
}

int tk_run_tests(const char *cmdline)
{
	const struct xt_suite suites[] = {
		{ xt_evtchn_tests, xt_evtchn_nr_tests },
		{ xt_hypercall_tests, xt_hypercall_nr_tests },
		{ xt_time_tests, xt_time_nr_tests },
		{ xt_xs_guest_tests, xt_xs_guest_nr_tests },
		{ xt_blk_guest_tests, xt_blk_guest_nr_tests },
#ifdef TK_PV
		{ tk_pv_tests, tk_pv_nr_tests },
#endif
	};
	struct tk_tick_opts tick = { 0 };
	struct tk_sr_opts sr = { 0 };
	bool want_sr = false;
	char *argv[TK_MAX_ARGS], *args[TK_MAX_ARGS];
	size_t len = strlen(cmdline);
	bool want_tick = false, want_tests = false, want_blk = false;
	unsigned int blk_ms = 0;
	const char *idle = NULL;
	int argc, i, n = 1, rc = 0;

	if (len >= sizeof(tk_cmdline))
		len = sizeof(tk_cmdline) - 1;
	memcpy(tk_cmdline, cmdline, len);
	tk_cmdline[len] = 0;
	argc = split_args(tk_cmdline, argv, TK_MAX_ARGS);
	args[0] = argv[0];
	for (i = 1; i < argc; i++) {
		len = strlen(argv[i]);
		/* Xen may leave the module's own name first. */
		if (i == 1 && len > 4 && !strcmp(argv[i] + len - 4, ".elf"))
			continue;
		if (!strncmp(argv[i], "xl_log=", 7)) {
			tk_log_level = argv[i][7] - '0';
			continue;
		}
		if (!strcmp(argv[i], "tk_ud2"))
			__asm__ __volatile__("ud2");
		if (!strncmp(argv[i], "upcall=", 7) ||
		    !strcmp(argv[i], "debugcon"))
			continue; /* taken at boot */
		if (!strcmp(argv[i], "idle=stepover") ||
		    !strcmp(argv[i], "idle=plain") ||
		    !strcmp(argv[i], "idle=block")) {
			idle = argv[i] + 5;
			continue;
		}
		if (!strcmp(argv[i], "tick")) {
			want_tick = true;
			continue;
		}
		if (!strcmp(argv[i], "blkbench")) {
			want_blk = true;
			continue;
		}
		if (!strncmp(argv[i], "blk_ms=", 7)) {
			blk_ms = xtr_to_uint(argv[i] + 7);
			continue;
		}
		if (!strcmp(argv[i], "peer")) {
			tk_peer_wait = true;
			continue;
		}
		if (!strcmp(argv[i], "peer_serve"))
			return tk_peer_serve();
		if (!strcmp(argv[i], "suspend")) {
			want_sr = true;
			continue;
		}
		if (!strncmp(argv[i], "sr_cycles=", 10)) {
			sr.cycles = xtr_to_uint(argv[i] + 10);
			continue;
		}
		if (!strncmp(argv[i], "sr_ms=", 6)) {
			sr.ms = xtr_to_uint(argv[i] + 6);
			continue;
		}
		if (!strncmp(argv[i], "sr_wait=", 8)) {
			sr.wait_s = xtr_to_uint(argv[i] + 8);
			continue;
		}
		if (!strcmp(argv[i], "tests")) {
			want_tests = true;
			continue;
		}
		if (!strncmp(argv[i], "tick_ms=", 8)) {
			tick.window_ms = xtr_to_uint(argv[i] + 8);
			continue;
		}
		if (!strncmp(argv[i], "lat_n=", 6)) {
			tick.lat_samples = xtr_to_uint(argv[i] + 6);
			continue;
		}
		args[n++] = argv[i];
	}
	tk_idle_step_over = idle && !strcmp(idle, "stepover");
	tk_idle_block = !idle || !strcmp(idle, "block");
	if (want_sr)
		return tk_sr_main(&sr);
	if ((!want_tick && !want_blk) || want_tests)
		rc = xt_main(n, args, suites,
			     sizeof(suites) / sizeof(suites[0]));
	if (want_tick && tk_tick_main(&tick))
		rc = 1;
	if (want_blk && tk_blkbench_main(blk_ms))
		rc = 1;
	return rc;
}

#ifndef TK_PV
const char tk_flavour[] = "PVH";

static const struct hvm_start_info *start_info(void)
{
	const struct hvm_start_info *si =
		(const void *)(uintptr_t)tk_start_info_pa;

	if (!si || si->magic != XEN_HVM_START_MAGIC_VALUE)
		return NULL;
	return si;
}

const char *tk_boot_cmdline(void)
{
	const struct hvm_start_info *si = start_info();

	if (!si || !si->cmdline_paddr)
		return "";
	return (const char *)(uintptr_t)si->cmdline_paddr;
}

bool tk_boot_initdomain(bool *valid)
{
	const struct hvm_start_info *si = start_info();

	*valid = si != NULL;
	return si && (si->flags & SIF_INITDOMAIN);
}

static long hvm_param(uint32_t index, uint64_t *value)
{
	struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
	long rc = tk_hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param,
			       (unsigned long)&p, 0, 0, 0);

	*value = p.value;
	return rc;
}

/*
 * The toolstack puts the rings in the special pages just below 4 GiB
 * (public hvm/params.h), inside head.S's identity map.
 */
long tk_boot_ring(enum tk_ring which, void **va, uint32_t *port)
{
	uint32_t pi = which == TK_RING_CONSOLE ? HVM_PARAM_CONSOLE_PFN :
						 HVM_PARAM_STORE_PFN;
	uint32_t ei = which == TK_RING_CONSOLE ? HVM_PARAM_CONSOLE_EVTCHN :
						 HVM_PARAM_STORE_EVTCHN;
	uint64_t pfn, ev;
	long rc;

	rc = hvm_param(pi, &pfn);
	if (!rc && !pfn)
		rc = -XEN_ENODEV;
	if (!rc)
		rc = hvm_param(ei, &ev);
	if (!rc && !ev)
		rc = -XEN_ENODEV;
	if (rc)
		return rc;
	if (pfn >= (1ULL << (32 - XL_PAGE_SHIFT)))
		return -XEN_ERANGE;
	*va = (void *)(uintptr_t)(pfn << XL_PAGE_SHIFT);
	*port = (uint32_t)ev;
	return 0;
}

static long set_callback_vector(uint8_t vector)
{
	struct xen_hvm_param p = {
		.domid = DOMID_SELF,
		.index = HVM_PARAM_CALLBACK_IRQ,
		.value = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) |
			 vector,
	};

	return tk_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param,
			    (unsigned long)&p, 0, 0, 0);
}

const char *tk_upcall_desc = "none";

/* upcall=percpu: per-vCPU HVMOP_set_evtchn_upcall_vector, else global. */
long tk_upcall_setup(void)
{
	long rc;

	tk_upcall_percpu = strstr(tk_boot_cmdline(), "upcall=percpu") != NULL;
	if (tk_upcall_percpu) {
		rc = tk_upcall_percpu_setup(0);
		if (rc)
			tk_panic("HVMOP_set_evtchn_upcall_vector(0): %ld", rc);
		tk_upcall_desc = "per-vCPU vector 0xf3";
	} else {
		rc = set_callback_vector(TK_VEC_UPCALL);
		if (rc)
			tk_panic("HVM_PARAM_CALLBACK_IRQ (vector %#x): %ld",
				 TK_VEC_UPCALL, rc);
		tk_upcall_desc = "global vector 0xf3";
	}
	return rc;
}
#endif

/* Xen's system time (ns since Xen booted), from vCPU 0's time info. */
static uint64_t xen_system_time(void)
{
	const struct vcpu_time_info *t = &tk_shinfo->vcpu_info[0].time;
	uint64_t d = tk_rdtsc() - t->tsc_timestamp;

	if (t->tsc_shift < 0)
		d >>= -t->tsc_shift;
	else
		d <<= t->tsc_shift;
	return t->system_time +
	       (((unsigned __int128)d * t->tsc_to_system_mul) >> 32);
}

static long evtchn_op(int cmd, void *arg)
{
	return tk_hypercall(__HYPERVISOR_event_channel_op, cmd,
			    (unsigned long)arg, 0, 0, 0);
}

/* dom0 or domU, from both signs; they should agree. */
static bool detect_dom0(char *how, size_t size)
{
	struct xen_feature_info fi = { .submap_idx = 0 };
	bool valid, sif = tk_boot_initdomain(&valid);
	long rc = tk_hypercall(__HYPERVISOR_xen_version, XENVER_get_features,
			       (unsigned long)&fi, 0, 0, 0);
	bool feat = !rc && (fi.submap & (1U << XENFEAT_dom0));

	tk_snprintf(how, size,
		    "start_info SIF_INITDOMAIN %d, XENFEAT_dom0 %s%s", sif,
		    rc	 ? "unknown" :
		    feat ? "1" :
			   "0",
		    sif != feat ? " (they disagree)" : "");
	return sif || feat;
}

/*
 * Our domain id, for tests that name it (xt_domid): an unbound port for
 * DOMID_SELF records the caller's real id as its remote end
 * (event_channel.c, evtchn_alloc_unbound), which EVTCHNOP_status reports.
 */
domid_t tk_find_domid(void)
{
	struct evtchn_alloc_unbound au = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	struct evtchn_status st;
	struct evtchn_close cl;
	domid_t id = DOMID_INVALID;

	if (evtchn_op(EVTCHNOP_alloc_unbound, &au))
		return id;
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = au.port };
	if (!evtchn_op(EVTCHNOP_status, &st) && st.status == EVTCHNSTAT_unbound)
		id = st.u.unbound.dom;
	cl.port = au.port;
	evtchn_op(EVTCHNOP_close, &cl);
	return id;
}

/* What the toolstack left bound (console, xenstore), then a clean slate. */
static void domu_reset_ports(void)
{
	struct evtchn_reset rs = { .dom = DOMID_SELF };
	char line[256];
	size_t o;
	unsigned int port;
	long rc;

	o = tk_snprintf(line, sizeof(line), "tk: ports bound at boot:");
	for (port = 1; port < 16 && o < sizeof(line) - 32; port++) {
		struct evtchn_status st = { .dom = DOMID_SELF, .port = port };

		if (evtchn_op(EVTCHNOP_status, &st) ||
		    st.status == EVTCHNSTAT_closed)
			continue;
		if (st.status == EVTCHNSTAT_interdomain)
			o += tk_snprintf(line + o, sizeof(line) - o,
					 " %u (dom%u:%u)", port,
					 st.u.interdomain.dom,
					 st.u.interdomain.port);
		else
			o += tk_snprintf(line + o, sizeof(line) - o,
					 " %u (status %u)", port, st.status);
	}
	tk_printf("%s\n", line);
	/* xenstored's port, to bind again after each reset (xenstore.c). */
	tk_xenstore_boot();
	/* Out before the console port closes, once xenconsoled is settled. */
	tk_console_settle();
	tk_console_detach();
	rc = evtchn_op(EVTCHNOP_reset, &rs);
	tk_shinfo_clear_events();
	tk_console_attach();
	if (rc)
		tk_printf("# tk: EVTCHNOP_reset: %ld\n", rc);
}

void tk_main(uint32_t start_info_pa)
{
	char ver[16] = { 0 }, how[128], cons[128];
	const char *cmdline;
	bool valid;
	uint64_t boot_ns;
	long rc;
	int nr;

	tk_start_info_pa = start_info_pa;
	if (tk_hypercall_init())
		tk_shutdown(SHUTDOWN_crash); /* no Xen: nothing to say */
	tk_idt_init();
	tk_bsp_setup();
	tk_mm_init();
	/* Before the console: a domU's console waits use the clock. */
	rc = tk_shinfo_init();
	if (rc)
		tk_shutdown(SHUTDOWN_crash); /* no console either */
	tk_time_init();
	tk_console_e9 = strstr(tk_boot_cmdline(), "debugcon") != NULL;
	tk_is_dom0 = detect_dom0(how, sizeof(how));
	rc = tk_console_init();
	if (rc)
		tk_shutdown(SHUTDOWN_crash); /* nowhere to say it */
	rc = tk_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
	tk_hypercall(__HYPERVISOR_xen_version, XENVER_extraversion,
		     (unsigned long)ver, 0, 0, 0);
	tk_printf("tk: xenlite test kernel, %s %s, on Xen %ld.%ld%s\n",
		  tk_flavour, tk_is_dom0 ? "dom0" : "domU", rc >> 16,
		  rc & 0xffff, ver);
	tk_console_describe(cons, sizeof(cons));
	tk_printf("tk: %s; console %s\n", how, cons);
	cmdline = tk_boot_cmdline();
	tk_printf("tk: command line '%s'\n", cmdline);
	tk_boot_initdomain(&valid);
	if (!valid)
		tk_printf("# tk: bad start_info at %#llx\n",
			  (unsigned long long)tk_start_info_pa);

	if (tk_is_dom0) {
		tk_domid = 0;
	} else {
		tk_domid = tk_find_domid();
		tk_printf("tk: domain id %u\n", tk_domid);
		domu_reset_ports();
	}
	tk_upcall_setup();
	nr = tk_smp_init();
	boot_ns = xen_system_time();
	tk_printf("tk: %d vCPU%s up, upcall %s, Xen system time %llu ms\n", nr,
		  nr == 1 ? "" : "s", tk_upcall_desc,
		  (unsigned long long)(boot_ns / 1000000));
#ifdef TK_PV
	/* Before the first test's reset stops it (pv-tests.c). */
	tk_pv_measure_tick();
#endif
	tk_irq_enable();

	rc = tk_run_tests(cmdline);
#ifdef TK_PV
	tk_printf("tk: idle: SCHEDOP_block with events masked (PV)\n");
#else
	if (tk_idle_block)
		tk_printf("tk: idle: SCHEDOP_block; %llu upcalls landed on the "
			  "block's hypercall, which was skipped\n",
			  (unsigned long long)tk_idle_block_skips());
	else
		tk_printf("tk: idle: %llu interrupts arrived between sti and "
			  "hlt (the STI shadow not honoured)%s\n",
			  (unsigned long long)tk_idle_shadow_misses(),
			  tk_idle_step_over ? "; stepped over the hlt" : "");
#endif
	tk_printf("tk: done after %llu ms of Xen system time; %s\n",
		  (unsigned long long)(xen_system_time() / 1000000),
		  rc ? "crash (tests failed)" : "poweroff");
	tk_shutdown(rc ? SHUTDOWN_crash : SHUTDOWN_poweroff);
}
