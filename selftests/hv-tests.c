// SPDX-License-Identifier: GPL-2.0
/*
 * hv-only cases: fault injection through hv's own API (hv_domain_*), so
 * they cannot run on real Xen.
 */
#include <hv.h>
#include <hv-guest.h>

#include "xt-util.h"

/* Spurious upcalls (half of all hypercall returns): harmless, counted. */
static enum xt_result spurious(bool force_2level)
{
	struct xl_evtchn_config cfg = { .nr_vcpus = xt_nr_vcpus(),
					.force_2level = force_2level };
	struct hv_faults f = { .spurious_upcall_permille = 500 };
	struct xl_evtchn_stats s;
	struct xt_rec r[4] = { 0 };
	evtchn_port_t p[4];
	unsigned int i, k, nr = xt_nr_vcpus();

	XT_ASSERT_EQ(xt_core_init(&cfg), 0);
	for (i = 0; i < 4; i++)
		XT_ASSERT_EQ(xl_evtchn_bind_ipi(i % nr, xt_rec_handler, &r[i],
						&p[i]), 0);
	hv_domain_set_faults(hv_guest_domain(), &f);
	for (k = 0; k < 100; k++) {
		for (i = 0; i < 4; i++)
			XT_ASSERT_EQ(xl_evtchn_send(p[i]), 0);
		for (i = 0; i < 4; i++)
			XT_ASSERT_EQ(xt_rec_wait(&r[i], k + 1), k + 1);
	}
	f.spurious_upcall_permille = 0;
	hv_domain_set_faults(hv_guest_domain(), &f);
	for (i = 0; i < 4; i++) {
		XT_ASSERT_EQ(r[i].last_port, p[i]);
		XT_ASSERT_EQ(r[i].concurrent, 0);
	}
	xt_stats_sum(&s);
	xt_log("upcalls %llu spurious %llu events %llu",
	       (unsigned long long)s.upcalls, (unsigned long long)s.spurious,
	       (unsigned long long)s.events);
	XT_ASSERT_EQ(s.events, 400);
	XT_ASSERT_EQ(s.stray, 0);
	XT_ASSERT(s.spurious > 0);
	XT_ASSERT(s.upcalls >= s.spurious);
	return XT_PASS;
}

static enum xt_result fifo_spurious(void)
{
	return spurious(false);
}

static enum xt_result l2_spurious(void)
{
	return spurious(true);
}

const struct xt_test xt_hv_tests[] = {
	{ "fifo/spurious", XT_HV, 1, false, fifo_spurious, 0 },
	{ "2l/spurious", XT_HV, 1, false, l2_spurious, 0 },
};

const unsigned int xt_hv_nr_tests =
	sizeof(xt_hv_tests) / sizeof(xt_hv_tests[0]);
