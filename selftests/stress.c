// SPDX-License-Identifier: GPL-2.0
#include "xt.h"
int main(int argc, char **argv)
{
	return xt_main(argc, argv, NULL, 0);
}
