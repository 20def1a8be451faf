/* SPDX-License-Identifier: GPL-2.0 */
/* <stddef.h> for the xt tables in xenlite.ko: the kernel's (see stdlib.h). */
#ifndef XLK_XT_STDDEF_H
#define XLK_XT_STDDEF_H

#include <linux/stddef.h>
#include <linux/types.h>

#endif /* XLK_XT_STDDEF_H */
