// SPDX-License-Identifier: GPL-2.0
/* placeholder, filled in below */
#include "xt.h"

const struct xt_test xt_hypercall_tests[] = {
	{ 0 },
};

const unsigned int xt_hypercall_nr_tests = 0;
