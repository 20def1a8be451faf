/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The Xen public ABI as the core sees it: Debian's libxen-dev headers
 * (/usr/include/xen), never hand-copied.  The build puts a directory on the
 * include path whose xen/ points at them, so the core compiles with
 * -nostdinc and cannot pick up a libc header by accident.
 *
 * The headers need only the fixed-width types (from <xenlite_host.h>, via
 * os.h) and __XEN_INTERFACE_VERSION__.  0x00040e00 is Xen 4.14's interface,
 * the latest these 4.17 headers define (xen-compat.h); nothing we use
 * changed after it.
 */
#ifndef XENLITE_XEN_H
#define XENLITE_XEN_H

#include <xenlite/os.h>

#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ 0x00040e00
#endif

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/memory.h>
#include <xen/hvm/params.h>
#include <xen/hvm/hvm_op.h>

#endif /* XENLITE_XEN_H */
