/* SPDX-License-Identifier: GPL-2.0 */
/* <stdarg.h> for the xt tables in xenlite.ko: the kernel's (see stdlib.h). */
#ifndef XLK_XT_STDARG_H
#define XLK_XT_STDARG_H

#include <linux/stdarg.h>

#endif /* XLK_XT_STDARG_H */
