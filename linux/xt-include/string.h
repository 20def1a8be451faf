/* SPDX-License-Identifier: GPL-2.0 */
/* <string.h> for the xt tables in xenlite.ko: the kernel's (see stdlib.h). */
#ifndef XLK_XT_STRING_H
#define XLK_XT_STRING_H

#include <linux/string.h>

#endif /* XLK_XT_STRING_H */
