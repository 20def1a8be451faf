/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TRACE_EVENTs (system "xenlite") for the core's trace hooks
 * (include/xenlite/os.h, enum xl_trace_point), so that
 * `trace-cmd record -e xenlite` sees them.  linux/os.c maps each hook to
 * one event; tools/wakelat reads `trace-cmd report` of them.
 *
 * The port type (virq, ipi, interdomain, ...) is added to the event
 * records so a reader can tell a timer event from an IPI without knowing
 * the ports.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM xenlite

#if !defined(XENLITE_LINUX_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define XENLITE_LINUX_TRACE_H

#include <linux/tracepoint.h>
#include <linux/version.h>

#ifndef XLK_ASSIGN_STR
#define XLK_ASSIGN_STR
/*
 * Linux 6.10 ("tracing: Remove second parameter of __assign_str()") takes
 * the source from the field's __string() declaration.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 10, 0)
#define xlk_assign_str(dst, src) __assign_str(dst)
#else
#define xlk_assign_str(dst, src) __assign_str(dst, src)
#endif
#endif

DECLARE_EVENT_CLASS(xenlite_port_class,
	TP_PROTO(u32 port, u32 vcpu, const char *type),
	TP_ARGS(port, vcpu, type),
	TP_STRUCT__entry(
		__field(u32, port)
		__field(u32, vcpu)
		__string(type, type)
	),
	TP_fast_assign(
		__entry->port = port;
		__entry->vcpu = vcpu;
		xlk_assign_str(type, type);
	),
	TP_printk("port=%u vcpu=%u type=%s", __entry->port, __entry->vcpu,
		  __get_str(type))
);

/* EVENT_SENT: vcpu = the sender. */
DEFINE_EVENT(xenlite_port_class, xenlite_event_sent,
	TP_PROTO(u32 port, u32 vcpu, const char *type),
	TP_ARGS(port, vcpu, type));

/* EVENT_HANDLED: vcpu = the handling vCPU. */
DEFINE_EVENT(xenlite_port_class, xenlite_event_handled,
	TP_PROTO(u32 port, u32 vcpu, const char *type),
	TP_ARGS(port, vcpu, type));

/* EVENT_STRAY: pending with no handler. */
DEFINE_EVENT(xenlite_port_class, xenlite_event_stray,
	TP_PROTO(u32 port, u32 vcpu, const char *type),
	TP_ARGS(port, vcpu, type));

DECLARE_EVENT_CLASS(xenlite_vcpu_class,
	TP_PROTO(u32 vcpu, u64 val),
	TP_ARGS(vcpu, val),
	TP_STRUCT__entry(
		__field(u32, vcpu)
		__field(u64, val)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->val = val;
	),
	TP_printk("vcpu=%u val=%llu", __entry->vcpu,
		  (unsigned long long)__entry->val)
);

/* val: 0 on entry, the number of events handled on exit. */
DEFINE_EVENT(xenlite_vcpu_class, xenlite_upcall_enter,
	TP_PROTO(u32 vcpu, u64 val), TP_ARGS(vcpu, val));
DEFINE_EVENT(xenlite_vcpu_class, xenlite_upcall_exit,
	TP_PROTO(u32 vcpu, u64 val), TP_ARGS(vcpu, val));

TRACE_EVENT(xenlite_timer_armed,
	TP_PROTO(u32 vcpu, u64 deadline),
	TP_ARGS(vcpu, deadline),
	TP_STRUCT__entry(
		__field(u32, vcpu)
		__field(u64, deadline)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->deadline = deadline;
	),
	TP_printk("vcpu=%u deadline_ns=%llu", __entry->vcpu,
		  (unsigned long long)__entry->deadline)
);

/* lateness: pvclock ns between the deadline and the handler's run. */
TRACE_EVENT(xenlite_timer_fired,
	TP_PROTO(u32 vcpu, u64 lateness),
	TP_ARGS(vcpu, lateness),
	TP_STRUCT__entry(
		__field(u32, vcpu)
		__field(u64, lateness)
	),
	TP_fast_assign(
		__entry->vcpu = vcpu;
		__entry->lateness = lateness;
	),
	TP_printk("vcpu=%u late_ns=%llu", __entry->vcpu,
		  (unsigned long long)__entry->lateness)
);

/* val: 0 for a block (sti; hlt), 1 for SCHEDOP_poll. */
DEFINE_EVENT(xenlite_vcpu_class, xenlite_block_enter,
	TP_PROTO(u32 vcpu, u64 val), TP_ARGS(vcpu, val));
DEFINE_EVENT(xenlite_vcpu_class, xenlite_block_leave,
	TP_PROTO(u32 vcpu, u64 val), TP_ARGS(vcpu, val));

#endif /* XENLITE_LINUX_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
