/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenlite event channels: the port table, binding, sending, masking and
 * the upcall handler, over the FIFO ABI (xen-evtchn-fifo.c) with the
 * 2-level ABI (xen-evtchn.c) as the fallback.
 *
 * Every function returns 0 or a negative Xen errno (-XEN_EINVAL, ...),
 * exactly what the hypervisor returned where a hypercall failed.
 */
#ifndef XENLITE_EVTCHN_H
#define XENLITE_EVTCHN_H

#include <xenlite/xen.h>

enum xl_evtchn_abi {
	XL_EVTCHN_ABI_NONE,
	XL_EVTCHN_ABI_2L,
	XL_EVTCHN_ABI_FIFO,
};

enum xl_port_type {
	XL_PORT_FREE,
	XL_PORT_UNBOUND,
	XL_PORT_INTERDOMAIN,
	XL_PORT_VIRQ,
	XL_PORT_IPI,
};

struct xl_evtchn_config {
	unsigned int nr_vcpus; /* vCPUs to set up, 1 .. XL_MAX_VCPUS */
	bool force_2level;     /* use the 2-level ABI even if FIFO works */
};

/*
 * A handler runs in upcall context on the vCPU the port is bound to, with
 * event delivery masked.  It runs at most once at a time per port: an event
 * that arrives while it runs (even on another vCPU, after a rebind) makes it
 * run once more, never concurrently.
 */
typedef void (*xl_evtchn_handler_t)(evtchn_port_t port, void *data);

struct xl_evtchn_stats {
	uint64_t upcalls;      /* upcall entries */
	uint64_t upcall_loops; /* passes of the pending loop */
	uint64_t nested;       /* upcalls that found one running and deferred */
	uint64_t spurious;     /* upcalls that handled no event */
	uint64_t events;       /* handler invocations */
	uint64_t stray;	       /* pending ports with no handler, dropped */
	uint64_t masked_seen;  /* FIFO: unlinked events found masked */
	uint64_t deferred;     /* upcalls that ran out of budget, re-raised */
};

int xl_evtchn_init(const struct xl_evtchn_config *cfg);
void xl_evtchn_fini(void);
enum xl_evtchn_abi xl_evtchn_abi(void);
const char *xl_evtchn_abi_name(void);
unsigned int xl_evtchn_max_ports(void);

/*
 * Binding.  Each call installs fn(port, data) before the port is unmasked,
 * so an event that is already pending at bind time (Xen raises one on
 * bind_interdomain) is delivered, not lost.  From a handler, a bind that
 * would need memory (a new FIFO event-array page, a new port-table chunk)
 * is -XEN_EWOULDBLOCK and leaves nothing bound: bind from thread context.
 */
int xl_evtchn_alloc_unbound(domid_t remote, xl_evtchn_handler_t fn, void *data,
			    evtchn_port_t *port);
int xl_evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port,
			       xl_evtchn_handler_t fn, void *data,
			       evtchn_port_t *port);
int xl_evtchn_bind_virq(uint32_t virq, unsigned int cpu, xl_evtchn_handler_t fn,
			void *data, evtchn_port_t *port);
int xl_evtchn_bind_ipi(unsigned int cpu, xl_evtchn_handler_t fn, void *data,
		       evtchn_port_t *port);
/*
 * Mask, close in Xen, then wait until no handler for the port runs.  From
 * a handler only that handler's own port: any other is -XEN_EDEADLK,
 * nothing changed (the wait could be for a handler waiting for ours);
 * close it from thread context.  The same for unbind_existing.
 */
int xl_evtchn_close(evtchn_port_t port);
/*
 * Take over a port that is already bound in Xen (the toolstack's xenstore
 * or console port): handler installed, then unmasked, notifying vCPU 0.
 * -XEN_EBUSY if the core has it bound already.  unbind_existing masks it
 * and drops the handler (waiting out a running one) but leaves it open in
 * Xen, for a later bind_existing.
 */
int xl_evtchn_bind_existing(evtchn_port_t port, xl_evtchn_handler_t fn,
			    void *data);
int xl_evtchn_unbind_existing(evtchn_port_t port);

int xl_evtchn_send(evtchn_port_t port);
void xl_evtchn_mask(evtchn_port_t port);
int xl_evtchn_unmask(evtchn_port_t port);
bool xl_evtchn_is_pending(evtchn_port_t port);
bool xl_evtchn_is_masked(evtchn_port_t port);
void xl_evtchn_clear_pending(evtchn_port_t port);
/* FIFO only (-XEN_ENOSYS on 2-level, as Xen answers). */
int xl_evtchn_set_priority(evtchn_port_t port, unsigned int priority);
/* Notify another vCPU (EVTCHNOP_bind_vcpu); VIRQ/IPI ports cannot move. */
int xl_evtchn_bind_vcpu(evtchn_port_t port, unsigned int cpu);

enum xl_port_type xl_evtchn_port_type(evtchn_port_t port);
/*
 * port is bound in the core with this handler and data: an owner's check
 * that a number it holds is still its own (after a resume lost it, the
 * number may be free or another owner's).
 */
bool xl_evtchn_port_is(evtchn_port_t port, xl_evtchn_handler_t fn, void *data);
/*
 * The handler and data port is bound with in the core: true, or false
 * (*fn, *data NULL) when the core does not have it bound.  A snapshot: the
 * owner may close it at once.  For a host that must find the ports of an
 * owner it does not know the numbers of (the Linux module's xt runner).
 */
bool xl_evtchn_port_owner(evtchn_port_t port, xl_evtchn_handler_t *fn,
			  void **data);
unsigned int xl_evtchn_port_cpu(evtchn_port_t port);
uint64_t xl_evtchn_port_count(evtchn_port_t port);

/*
 * The upcall entry: the host calls it on the vCPU that took the upcall.
 *
 * It is bounded (XSA-332 / XSA-391 class: a peer that sends again each
 * time our handler runs must not keep a vCPU in its upcall): per upcall
 * at most XL_UPCALL_BUDGET queue steps, at most XL_UPCALL_PORT_SHARE
 * handler runs of one port (the re-runs for events that arrived on other
 * vCPUs meanwhile included) and at most XL_UPCALL_PASSES rescans of
 * evtchn_upcall_pending.  When one runs out, the work left is put back
 * (FIFO: the READY bits taken; 2-level: the selector bits taken),
 * evtchn_upcall_pending is left set and the host is asked to run the
 * upcall again once this one has returned (xl_os_upcall_reraise()).  A
 * re-run still owed is kept with the port's claim: every upcall first
 * makes one run of each port owed (at most XL_UPCALL_OWED_FIRST of them,
 * each taking a queue step), so that another port using up its share in
 * the scan cannot starve it, and then, after its scan and while the
 * budget lasts, more of them.
 */
#define XL_UPCALL_BUDGET 256U
#define XL_UPCALL_PORT_SHARE 32U
#define XL_UPCALL_OWED_FIRST (XL_UPCALL_BUDGET / 4)
#define XL_UPCALL_PASSES 16U
void xl_evtchn_upcall(void);

void xl_evtchn_get_stats(unsigned int cpu, struct xl_evtchn_stats *st);

/*
 * Save/restore and live migration (docs/save-restore.md has the order).
 * The caller quiesces every other vCPU first, with event delivery masked
 * and outside this API (Linux: stop_machine() in drivers/xen/manage.c
 * do_suspend), and keeps them so until xl_evtchn_resume() returned; its
 * own vCPU too keeps delivery masked from xl_evtchn_suspend() on (Linux:
 * xen_suspend() runs with interrupts off): an event noted pending and
 * then delivered before the hypercall would be delivered again by the
 * resume.  The resume masks delivery itself while it works and allocates
 * nothing.
 *
 * xl_evtchn_suspend(), just before SCHEDOP_shutdown(SHUTDOWN_suspend):
 * notes each bound port's mask and whether an event is owed to its
 * handler (PENDING in Xen's bit or word, or a run the upcall kept for
 * later).  Changes nothing.  0, -XEN_ENODEV (not initialised),
 * -XEN_EDEADLK (from a handler).
 *
 * xl_evtchn_resume(cancelled, lost), after the hypercall returned (and,
 * for a restore, after the host mapped shared_info and registered its
 * upcall again):
 *  - cancelled (the hypercall returned 1): nothing is done;
 *  - else the ABI is set up again (FIFO: xl_evtchn_fifo_resume(); if
 *    the new host refuses FIFO, 2-level), and every VIRQ and IPI port is
 *    bound again on its vCPU at the same number, so callers keep the
 *    numbers they hold, with its handler, FIFO priority and mask as
 *    before; an event owed at suspend is delivered once (masked: left
 *    PENDING for the unmask).  A port whose number is taken in the new
 *    domain by one the core does not own, or whose bind fails, is lost.
 *    Interdomain and unbound ports cannot survive (the peer's end is
 *    unbound for the old domid): they are lost too.  Each lost port is
 *    forgotten (free in the port table, the handler never runs again),
 *    then, once every port was bound again, lost(port, type, fn, data)
 *    runs for it in thread context, so its owner can handshake again
 *    (it may bind).  If Xen still has the ports (a cancel that returned
 *    0: a PVH guest without HVM_PARAM_CALLBACK_IRQ, xg_resume.c
 *    modify_returncode), nothing is done either.
 * 0, or the error that stopped the ABI's set-up (then no port works).
 */
typedef void (*xl_evtchn_lost_fn)(evtchn_port_t port, enum xl_port_type type,
				  xl_evtchn_handler_t fn, void *data);
int xl_evtchn_suspend(void);
int xl_evtchn_resume(bool cancelled, xl_evtchn_lost_fn lost);

#endif /* XENLITE_EVTCHN_H */
