// SPDX-License-Identifier: GPL-2.0
/*
 * The test kernel: boots as a PVH guest (dom0 for now), sets up what the
 * core needs from Xen, brings up the other vCPUs, and runs the portable
 * selftest suite, printing TAP 13 on the console.  Exits with
 * SCHEDOP_shutdown: poweroff when every test passed, crash otherwise.
 *
 * Command line (the module's string after its name), words:
 *   -l  -v  -t SECONDS  NAME-SUBSTRING...   as for xl-selftest
 *   -x NAME-SUBSTRING    report matching tests as skipped, do not run them
 *   xl_log=N             core log level (3 err .. 7 debug; default 4)
 *   upcall=percpu        per-vCPU HVMOP_set_evtchn_upcall_vector instead of
 *                        the global HVM_PARAM_CALLBACK_IRQ vector
 *   tk_ud2               execute ud2 before the tests (checks the crash path:
 *                        register dump, SHUTDOWN_crash)
 */
#include <string.h>

#include "tk.h"
#include "xt.h"

#include <xen/arch-x86/hvm/start_info.h>

#define TK_MAX_ARGS 32

static char tk_cmdline[512];

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
	};
	char *argv[TK_MAX_ARGS], *args[TK_MAX_ARGS];
	size_t len = strlen(cmdline);
	int argc, i, n = 1;

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
		if (!strncmp(argv[i], "upcall=", 7))
			continue; /* taken at boot */
		args[n++] = argv[i];
	}
	return xt_main(n, args, suites, sizeof(suites) / sizeof(suites[0]));
}

static const char *start_info_cmdline(void)
{
	const struct hvm_start_info *si =
		(const void *)(uintptr_t)tk_start_info_pa;

	if (!si || si->magic != XEN_HVM_START_MAGIC_VALUE) {
		tk_printf("# tk: bad start_info at %#llx\n",
			  (unsigned long long)tk_start_info_pa);
		return "";
	}
	if (!si->cmdline_paddr)
		return "";
	return (const char *)(uintptr_t)si->cmdline_paddr;
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

void tk_main(uint32_t start_info_pa)
{
	char ver[16] = { 0 };
	const char *cmdline;
	uint64_t boot_ns;
	long rc;
	int nr;

	tk_start_info_pa = start_info_pa;
	if (tk_hypercall_init())
		tk_shutdown(SHUTDOWN_crash); /* no Xen: nothing to say */
	tk_idt_init();
	tk_bsp_setup();
	tk_mm_init();
	rc = tk_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0);
	tk_hypercall(__HYPERVISOR_xen_version, XENVER_extraversion,
		     (unsigned long)ver, 0, 0, 0);
	tk_printf("tk: xenlite test kernel, PVH, on Xen %ld.%ld%s\n", rc >> 16,
		  rc & 0xffff, ver);
	cmdline = start_info_cmdline();
	tk_printf("tk: command line '%s'\n", cmdline);

	rc = tk_shinfo_init();
	if (rc)
		tk_panic("XENMEM_add_to_physmap(shared_info): %ld", rc);
	tk_time_init();
	tk_upcall_percpu = strstr(cmdline, "upcall=percpu") != NULL;
	if (tk_upcall_percpu) {
		rc = tk_upcall_percpu_setup(0);
		if (rc)
			tk_panic("HVMOP_set_evtchn_upcall_vector(0): %ld", rc);
	} else {
		rc = set_callback_vector(TK_VEC_UPCALL);
		if (rc)
			tk_panic("HVM_PARAM_CALLBACK_IRQ (vector %#x): %ld",
				 TK_VEC_UPCALL, rc);
	}
	nr = tk_smp_init();
	boot_ns = xen_system_time();
	tk_printf(
		"tk: %d vCPU%s up, upcall %s vector %#x, Xen system time %llu ms\n",
		nr, nr == 1 ? "" : "s",
		tk_upcall_percpu ? "per-vCPU" : "global", TK_VEC_UPCALL,
		(unsigned long long)(boot_ns / 1000000));
	__asm__ __volatile__("sti" ::: "memory");

	rc = tk_run_tests(cmdline);
	tk_printf("tk: idle: %llu interrupts arrived between sti and hlt "
		  "(the STI shadow not honoured; stepped over the hlt)\n",
		  (unsigned long long)tk_idle_shadow_misses());
	tk_printf("tk: done after %llu ms of Xen system time; %s\n",
		  (unsigned long long)(xen_system_time() / 1000000),
		  rc ? "crash (tests failed)" : "poweroff");
	tk_shutdown(rc ? SHUTDOWN_crash : SHUTDOWN_poweroff);
}
