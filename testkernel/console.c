// SPDX-License-Identifier: GPL-2.0
/*
 * The console: console_io as dom0, the PV console ring as a domU.
 *
 * dom0 writes with CONSOLEIO_write, straight to Xen's serial console.
 * Release builds of Xen refuse it to other domains, so a domU writes to the
 * ring page the toolstack gave it (HVM_PARAM_CONSOLE_PFN, public
 * io/console.h: out[] with out_prod ours and out_cons xenconsoled's) and
 * notifies xenconsoled on the interdomain port HVM_PARAM_CONSOLE_EVTCHN
 * (PV: start_info's console.domU; tk_boot_ring).
 * xenconsoled copies what is there when notified, advances out_cons and
 * notifies back (tools/console/daemon/io.c, buffer_append); it does not
 * poll the ring on its own.
 *
 * The selftests own this domain's port space: a test expects port 1 to be
 * the first one it gets and may exhaust all of them, and the runner ends
 * each test with EVTCHNOP_reset.  So the console port is bound only
 * between tests.  tk_console_detach() (before a test) lets xenconsoled
 * drain the ring and closes our end; Xen then leaves xenconsoled's end
 * unbound with us as its remote (evtchn_close), so tk_console_attach()
 * (after the runner's reset) can bind it again with
 * EVTCHNOP_bind_interdomain.  Output while detached goes into the ring
 * without a notification, and into a spool once the ring is full; the next
 * attach (or the final flush before shutdown) sends it on.
 *
 * One window is fatal: xenconsoled looks at its end again whenever its
 * xenstore watch on our console directory fires (io.c, domain_create_ring:
 * "Go no further if port has not changed and we are still bound"); finding
 * it unbound, it closes it and binds anew to the port number in xenstore,
 * which is no longer ours, and the console is gone (measured: our next
 * bind_interdomain gets -EINVAL).  Those watches fire while the toolstack
 * and xenconsoled set the console up, around our first instructions, and
 * not later.  So tk_console_settle() keeps the port bound for the first
 * TK_SETTLE_NS; should the console be lost anyway, output goes on on the
 * debug port 0xe9 (Xen's console, "(dN)" lines) and says so.
 */
#include <string.h>

#include "tk.h"

#include <xen/io/console.h>

#define TK_SPOOL_SIZE (128U << 10)
#define TK_DRAIN_NS 3000000000ULL  /* how long to wait for xenconsoled */
#define TK_SETTLE_NS 2000000000ULL /* xenconsoled's set-up, from our boot */

static struct {
	bool ring;  /* the PV console ring (domU), not console_io */
	bool stuck; /* xenconsoled did not drain once: wait no more */
	bool lost;  /* the far end could not be bound again */
	struct xencons_interface *intf;
	evtchn_port_t port; /* our end while attached, else 0 */
	domid_t rdom;	    /* xenconsoled's end */
	evtchn_port_t rport;
	uint32_t spool_len;
	uint64_t dropped;
} tkc;

static char tk_spool[TK_SPOOL_SIZE];
bool tk_console_e9;
static struct tk_lock tk_console_lock;
static bool tk_console_busted;

/* A fatal path may interrupt a holder of the console lock: write anyway. */
void tk_console_bust(void)
{
	__atomic_store_n(&tk_console_busted, true, __ATOMIC_SEQ_CST);
}

static bool busted(void)
{
	return __atomic_load_n(&tk_console_busted, __ATOMIC_RELAXED);
}

static unsigned long console_lock(void)
{
	return busted() ? tk_irq_save() : tk_lock_irqsave(&tk_console_lock);
}

static void console_unlock(unsigned long flags)
{
	if (busted())
		tk_irq_restore(flags);
	else
		tk_unlock_irqrestore(&tk_console_lock, flags);
}

/*
 * Xen's debug console port (XEN_HVM_DEBUGCONS_IOPORT, hvm.c hvm_print_line):
 * each byte is an exit; Xen prints whole lines on its console as "(dN)".
 */
static void e9_write(const char *s, size_t len)
{
	__asm__ __volatile__("rep outsb"
			     : "+S"(s), "+c"(len)
			     : "d"(0xe9)
			     : "memory");
}

/* --- dom0: console_io ------------------------------------------------------------ */

/*
 * CONSOLEIO_write as dom0 goes straight to Xen's console (serial).  Before
 * the hypercall page exists, there is nowhere to write.
 */
static void console_io_write(const char *s, size_t len)
{
	while (len) {
		long n = tk_hypercall(__HYPERVISOR_console_io, CONSOLEIO_write,
				      len, (unsigned long)s, 0, 0);

		/* 0: all written (Xen continues a long write itself). */
		if (n <= 0 || (size_t)n >= len)
			return;
		s += n;
		len -= n;
	}
}

/* --- domU: the ring ---------------------------------------------------------------- */

static uint32_t ring_used(void)
{
	struct xencons_interface *intf = tkc.intf;

	return xl_read32(&intf->out_prod) - xl_read32(&intf->out_cons);
}

/* Copy what fits into out[]; the number of bytes taken. */
static size_t ring_put(const char *s, size_t len)
{
	struct xencons_interface *intf = tkc.intf;
	XENCONS_RING_IDX prod = intf->out_prod;
	uint32_t used = prod - xl_read32(&intf->out_cons);
	size_t i, n;

	if (used > sizeof(intf->out))
		return 0; /* indexes corrupted: write nothing */
	n = sizeof(intf->out) - used;
	if (n > len)
		n = len;
	/* Read out_cons before overwriting the slots it freed (Linux
	 * hvc_xen's __write_console: mb() after reading the indexes). */
	xl_mb();
	for (i = 0; i < n; i++)
		intf->out[MASK_XENCONS_IDX(prod + i, intf->out)] = s[i];
	xl_wmb();
	xl_write32(&intf->out_prod, prod + (XENCONS_RING_IDX)n);
	return n;
}

static void ring_notify(void)
{
	struct evtchn_send send = { .port = tkc.port };

	if (tkc.port)
		tk_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_send,
			     (unsigned long)&send, 0, 0, 0);
}

static void spool_add(const char *s, size_t len)
{
	size_t room = TK_SPOOL_SIZE - tkc.spool_len;

	if (len > room) {
		tkc.dropped += len - room;
		len = room;
	}
	memcpy(tk_spool + tkc.spool_len, s, len);
	tkc.spool_len += (uint32_t)len;
}

static void spool_take(size_t n)
{
	memmove(tk_spool, tk_spool + n, tkc.spool_len - n);
	tkc.spool_len -= (uint32_t)n;
}

/*
 * Wait (yielding the pCPU, so dom0 may run xenconsoled) until the ring has
 * fewer than want bytes in it; false after TK_DRAIN_NS.  Once xenconsoled
 * failed to drain, later waits give up at once: output then only goes
 * where it fits.
 */
static bool ring_wait_below(uint32_t want)
{
	uint64_t end;

	if (ring_used() < want)
		return true;
	if (tkc.stuck || !tkc.port)
		return false;
	end = tk_now_ns() + TK_DRAIN_NS;
	while (ring_used() >= want) {
		if (tk_now_ns() > end) {
			tkc.stuck = true;
			return false;
		}
		tk_hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
	}
	return true;
}

/* Attached: move the spool into the ring as xenconsoled makes room. */
static void spool_flush(void)
{
	char note[80];
	size_t n;

	while (tkc.spool_len) {
		n = ring_put(tk_spool, tkc.spool_len);
		spool_take(n);
		ring_notify();
		if (tkc.spool_len && !ring_wait_below(sizeof(tkc.intf->out)))
			break;
	}
	if (tkc.dropped && !tkc.spool_len) {
		n = tk_snprintf(note, sizeof(note),
				"\n# tk: console: %llu bytes dropped\n",
				(unsigned long long)tkc.dropped);
		tkc.dropped = 0;
		spool_add(note, n);
		n = ring_put(tk_spool, tkc.spool_len);
		spool_take(n);
		ring_notify();
	}
}

static void ring_write(const char *s, size_t len)
{
	size_t n = 0;

	if (!tkc.spool_len)
		n = ring_put(s, len);
	if (n < len)
		spool_add(s + n, len - n);
	if (!tkc.port)
		return;
	ring_notify();
	spool_flush();
}

/* --- the interdomain port ----------------------------------------------------- */

/* Every port is free again: clear what a new shared_info has clear. */
void tk_shinfo_clear_events(void)
{
	unsigned long flags;
	unsigned int cpu;

	if (!tk_shinfo)
		return;
	flags = tk_irq_save();
	memset(tk_shinfo->evtchn_pending, 0, sizeof(tk_shinfo->evtchn_pending));
	memset(tk_shinfo->evtchn_mask, 0, sizeof(tk_shinfo->evtchn_mask));
	for (cpu = 0; cpu < tk_nr_cpus; cpu++) {
		xl_write_ulong(&tk_shinfo->vcpu_info[cpu].evtchn_pending_sel,
			       0);
		xl_write8(&tk_shinfo->vcpu_info[cpu].evtchn_upcall_pending, 0);
	}
	tk_irq_restore(flags);
}

static long console_bind(void)
{
	struct evtchn_bind_interdomain b = { .remote_dom = tkc.rdom,
					     .remote_port = tkc.rport };
	long rc = tk_hypercall(__HYPERVISOR_event_channel_op,
			       EVTCHNOP_bind_interdomain, (unsigned long)&b, 0,
			       0, 0);

	if (!rc)
		tkc.port = b.local_port;
	return rc;
}

/*
 * The far end gone (xenconsoled closed and re-bound its end while ours was
 * closed): nothing reaches the guest log any more.  Say so there as far as
 * the ring takes it, and carry on on the debug port, with the spool.
 */
static void console_lost(long rc)
{
	char note[200];
	int n;

	n = tk_snprintf(note, sizeof(note),
			"# tk: console: lost the PV console "
			"(bind_interdomain(dom%u, %u): %ld); continuing on "
			"the debug port 0xe9\n",
			tkc.rdom, tkc.rport, rc);
	ring_put(note, n);
	e9_write(note, n);
	e9_write(tk_spool, tkc.spool_len);
	tkc.spool_len = 0;
	tkc.lost = true;
	tk_console_e9 = true;
}

void tk_console_attach(void)
{
	unsigned long flags;
	long rc = 0;

	if (!tkc.ring || tkc.lost)
		return;
	flags = console_lock();
	if (!tkc.port)
		rc = console_bind();
	if (!rc)
		spool_flush();
	else
		console_lost(rc);
	console_unlock(flags);
}

void tk_console_detach(void)
{
	struct evtchn_close cl;
	unsigned long flags;

	if (!tkc.ring || tkc.lost)
		return;
	flags = console_lock();
	if (tkc.port) {
		spool_flush();
		ring_wait_below(1);
		cl.port = tkc.port;
		tk_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_close,
			     (unsigned long)&cl, 0, 0, 0);
		tkc.port = 0;
	}
	console_unlock(flags);
	/* xenconsoled's notifications left the port pending: a test starts
	 * with nothing pending. */
	tk_shinfo_clear_events();
}

/* The first detach waits for xenconsoled's watches to be done with us. */
void tk_console_settle(void)
{
	if (!tkc.ring)
		return;
	while (tk_now_ns() < TK_SETTLE_NS)
		tk_hypercall(__HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
}

/*
 * Before SCHEDOP_shutdown: everything out, and xenconsoled has read it
 * (or TK_DRAIN_NS passed).  Detached in the middle of a test, the port
 * space may be full: EVTCHNOP_reset frees it, the domain is ending anyway.
 */
void tk_console_final(void)
{
	struct evtchn_reset rs = { .dom = DOMID_SELF };
	unsigned long flags;

	if (!tkc.ring || tkc.lost)
		return;
	flags = console_lock();
	if (!tkc.port) {
		if (console_bind())
			tk_hypercall(__HYPERVISOR_event_channel_op,
				     EVTCHNOP_reset, (unsigned long)&rs, 0, 0,
				     0);
		if (!tkc.port)
			console_bind();
	}
	spool_flush();
	ring_notify();
	ring_wait_below(1);
	console_unlock(flags);
}

/* --- set-up ------------------------------------------------------------------------ */

/*
 * As a domU: the ring page and the port (tk_boot_ring: HVM params on PVH,
 * start_info on PV), and from EVTCHNOP_status the far end, for binding it
 * again later.
 */
int tk_console_init(void)
{
	struct evtchn_status st;
	uint32_t port;
	void *va;
	long rc;

	if (tk_is_dom0)
		return 0;
	rc = tk_boot_ring(TK_RING_CONSOLE, &va, &port);
	if (rc)
		return (int)rc;
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = port };
	rc = tk_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_status,
			  (unsigned long)&st, 0, 0, 0);
	if (rc)
		return (int)rc;
	if (st.status != EVTCHNSTAT_interdomain)
		return -XEN_EINVAL;
	tkc.intf = va;
	tkc.port = port;
	tkc.rdom = st.u.interdomain.dom;
	tkc.rport = st.u.interdomain.port;
	tkc.ring = true;
	return 0;
}

/*
 * After a restore into a new domain: the ring is where it was (the gfn
 * is HVM_PARAM_CONSOLE_PFN, carried in the stream, its page with our
 * memory), but the port is the toolstack's new one (libxl__build_pre's
 * xc_evtchn_alloc_unbound(), which xenconsoled binds once it sees the
 * domain).  Taken as it is: bound or not yet, nothing here binds or
 * closes (a notification on a port still unbound is dropped by Xen,
 * evtchn_send(), and xenconsoled reads the ring when it connects).  The
 * far end noted when xenconsoled has bound already.  Called with the
 * other vCPUs held and delivery masked, so no console lock is taken:
 * nothing else writes meanwhile.
 */
void tk_console_restored(void)
{
	struct evtchn_status st;
	uint32_t port;
	void *va;

	if (!tkc.ring || tkc.lost || tk_boot_ring(TK_RING_CONSOLE, &va, &port))
		return;
	tkc.intf = va;
	tkc.port = port;
	st = (struct evtchn_status){ .dom = DOMID_SELF, .port = port };
	if (!tk_hypercall(__HYPERVISOR_event_channel_op, EVTCHNOP_status,
			  (unsigned long)&st, 0, 0, 0) &&
	    st.status == EVTCHNSTAT_interdomain) {
		tkc.rdom = st.u.interdomain.dom;
		tkc.rport = st.u.interdomain.port;
	}
}

void tk_console_describe(char *buf, size_t size)
{
	if (!tkc.ring)
		tk_snprintf(buf, size, "console_io");
	else
		tk_snprintf(buf, size,
			    "PV ring at %#llx, port %u <-> dom%u port %u",
			    (unsigned long long)(uintptr_t)tkc.intf, tkc.port,
			    tkc.rdom, tkc.rport);
}

/* --- writing ------------------------------------------------------------------------ */

void tk_write(const char *s, size_t len)
{
	unsigned long flags;

	if (tk_console_e9)
		e9_write(s, len);
	if (!tk_have_hypercalls)
		return;
	if (!tk_is_dom0 && !tkc.ring)
		return; /* a domU before its ring is known: nowhere to go */
	if (tkc.lost)
		return; /* on the debug port only */
	flags = console_lock();
	if (tkc.ring)
		ring_write(s, len);
	else
		console_io_write(s, len);
	console_unlock(flags);
}

void tk_vprintf(const char *fmt, va_list ap)
{
	char buf[1024];
	int n = tk_vsnprintf(buf, sizeof(buf), fmt, ap);

	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	tk_write(buf, n);
}

void tk_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tk_vprintf(fmt, ap);
	va_end(ap);
}

void tk_vprint_lines(const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024], out[1400];
	size_t o = 0, plen = strlen(prefix);
	const char *p = msg;

	tk_vsnprintf(msg, sizeof(msg), fmt, ap);
	while (*p && o + plen + 2 < sizeof(out)) {
		const char *nl = strstr(p, "\n");
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n > sizeof(out) - 2 - plen - o)
			n = sizeof(out) - 2 - plen - o;
		memcpy(out + o, prefix, plen);
		o += plen;
		memcpy(out + o, p, n);
		o += n;
		out[o++] = '\n';
		p += n;
		if (*p == '\n')
			p++;
	}
	tk_write(out, o);
}

void tk_panic(const char *fmt, ...)
{
	va_list ap;

	tk_console_bust();
	va_start(ap, fmt);
	tk_vprint_lines("tk: PANIC: ", fmt, ap);
	va_end(ap);
	tk_shutdown(SHUTDOWN_crash);
}
