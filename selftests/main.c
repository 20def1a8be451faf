// SPDX-License-Identifier: GPL-2.0
/*
 * xl-selftest: the xenlite selftest suite on the hv/ backend.
 *   xl-selftest [-l] [-v] [-t seconds] [name-substring...]
 */
#include "xt.h"

int main(int argc, char **argv)
{
	const struct xt_suite suites[] = {
		{ xt_evtchn_tests, xt_evtchn_nr_tests },
		{ xt_hypercall_tests, xt_hypercall_nr_tests },
		{ xt_time_tests, xt_time_nr_tests },
		{ xt_xs_guest_tests, xt_xs_guest_nr_tests },
		{ xt_blk_guest_tests, xt_blk_guest_nr_tests },
		{ xt_hv_tests, xt_hv_nr_tests },
		{ xt_cb_tests, xt_cb_nr_tests },
		{ xt_xs_tests, xt_xs_nr_tests },
		{ xt_gnttab_tests, xt_gnttab_nr_tests },
		{ xt_blk_tests, xt_blk_nr_tests },
		{ xt_drift_tests, xt_drift_nr_tests },
		{ xt_explore_tests, xt_explore_nr_tests },
		{ xt_budget_tests, xt_budget_nr_tests },
		{ xt_order_tests, xt_order_nr_tests },
		{ xt_resume_tests, xt_resume_nr_tests },
	};

	return xt_main(argc, argv, suites, sizeof(suites) / sizeof(suites[0]));
}
