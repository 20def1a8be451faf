// SPDX-License-Identifier: GPL-2.0
/*
 * The peer domain of the test kernel as a PVH domU: tools/evtchn-peer in
 * Linux dom0 (libxenevtchn, libxenstore), reached through xenstore under
 * our data/ tree (docs/real-xen-peer.md).  The peer makes
 * data/xenlite-peer/ ours and writes peer-domid last; a test's peer
 * hypercall (xt_peer_hypercall, EVTCHNOP_* only) becomes a request node
 * "SEQ SESSION OP A B" that the peer carries out with its own ports and
 * answers in the reply node "SEQ RC VALUE".
 *
 * The xenstore client runs on the core the test brought up (every peer
 * test has done so before its first peer call), through the runner's
 * xl_os_xenstore_ring(): its port is one more port of the test's, closed
 * by the runner's reset like the test's own.  SESSION counts those
 * resets, so the peer closes what the last test left on its side before
 * it serves the next one (the reset closed only our ends).
 *
 * The peer serves from one thread: xt_peer_nr_vcpus() is 1 and the peer
 * vCPU a test names is not used.  xt_peer_start() (code run in the peer
 * domain) has no counterpart here; the tests that use it are hv's.
 */
#include <string.h>

#include <xenlite/evtchn.h>
#include <xenlite/xen.h>
#include <xenlite/xenstore.h>

#include "tk.h"
#include "xt.h"

#define PEER_DIR "data/xenlite-peer"
#define PEER_WAIT_NS (30ULL * 1000000000ULL)  /* at boot, with "peer" */
#define PEER_REPLY_NS (20ULL * 1000000000ULL) /* one request */
#define PEER_POLL_NS 1000000ULL		      /* between reply reads */

static struct {
	bool have;
	domid_t domid;
	unsigned int vcpus;
	unsigned int session; /* runner resets so far */
	unsigned int seq;     /* requests so far */
} tkp = { .domid = DOMID_INVALID };

bool tk_peer_wait;

/* A decimal with an optional '-' at *s; *s moves past it and one space. */
static long parse_long(const char **s)
{
	const char *c = *s;
	bool neg = *c == '-';
	long v = 0;

	if (neg)
		c++;
	while (*c >= '0' && *c <= '9')
		v = v * 10 + (*c++ - '0');
	if (*c == ' ')
		c++;
	*s = c;
	return neg ? -v : v;
}

/*
 * Called once by the runner before the first test, with the console
 * detached: bring the core and the xenstore client up, look for the
 * peer (for up to PEER_WAIT_NS when the command line said "peer"), and
 * leave it to the runner's reset to tear both down.
 */
void tk_peer_probe(bool wait)
{
	uint64_t end = tk_now_ns() + (wait ? PEER_WAIT_NS : 0);
	unsigned long v = 0;
	int rc;

	if (xt_core_init(NULL))
		return;
	rc = xl_xs_init();
	if (rc) {
		if (wait)
			tk_printf("tk: peer: no xenstore (%d)\n", rc);
		return;
	}
	while ((rc = xl_xs_read_uint(XL_XS_NO_TX, PEER_DIR "/peer-domid",
				     &v)) == -XEN_ENOENT &&
	       tk_now_ns() < end)
		xt_sleep_ns(20 * PEER_POLL_NS);
	if (rc) {
		if (wait)
			tk_printf("tk: peer: no %s/peer-domid (%d)\n", PEER_DIR,
				  rc);
		return;
	}
	tkp.domid = (domid_t)v;
	if (xl_xs_read_uint(XL_XS_NO_TX, PEER_DIR "/vcpus", &v) || !v)
		v = 1;
	tkp.vcpus = (unsigned int)v;
	tkp.have = true;
	tk_printf("tk: peer: domain %u (%u vCPU) at %s\n", tkp.domid, tkp.vcpus,
		  PEER_DIR);
}

void tk_peer_reset(void)
{
	tkp.session++;
}

bool xt_have_peer(void)
{
	return tkp.have;
}

domid_t xt_peer_domid(void)
{
	return tkp.domid;
}

unsigned int xt_peer_nr_vcpus(void)
{
	return tkp.have ? tkp.vcpus : 0;
}

/* One request to the peer: its RC, *val its VALUE. */
static long peer_request(const char *op, unsigned long a, unsigned long b,
			 unsigned long *val)
{
	char buf[64];
	const char *s;
	uint64_t end;
	unsigned int seq;
	int rc;

	if (!xl_xs_ready()) {
		rc = xl_xs_init();
		if (rc) {
			xt_log("peer: xenstore: %d", rc);
			return rc;
		}
	}
	seq = ++tkp.seq;
	rc = xl_xs_printf(XL_XS_NO_TX, PEER_DIR "/request", "%u %u %s %lu %lu",
			  seq, tkp.session, op, a, b);
	if (rc) {
		xt_log("peer: write %s/request: %d", PEER_DIR, rc);
		return rc;
	}
	end = tk_now_ns() + PEER_REPLY_NS;
	for (;;) {
		rc = xl_xs_read(XL_XS_NO_TX, PEER_DIR "/reply", buf,
				sizeof(buf), NULL);
		if (!rc) {
			s = buf;
			if ((unsigned int)parse_long(&s) == seq) {
				rc = (int)parse_long(&s);
				*val = (unsigned long)parse_long(&s);
				return rc;
			}
		}
		if (tk_now_ns() >= end) {
			xt_log("peer: no reply to %s (seq %u, last read %d)",
			       op, seq, rc);
			return -XEN_ETIMEDOUT;
		}
		xt_sleep_ns(PEER_POLL_NS);
	}
}

/* An EVTCHNOP_* of the peer: the same arguments and results as hv's. */
static long peer_evtchn_op(unsigned int cmd, void *arg)
{
	unsigned long val = 0;
	long rc;

	switch (cmd) {
	case EVTCHNOP_alloc_unbound: {
		struct evtchn_alloc_unbound *o = arg;

		/* libxenevtchn allocates in the caller's own domain only. */
		if (o->dom != DOMID_SELF && o->dom != tkp.domid)
			return -XEN_ENOSYS;
		rc = peer_request("alloc_unbound", o->remote_dom, 0, &val);
		if (!rc)
			o->port = (evtchn_port_t)val;
		return rc;
	}
	case EVTCHNOP_bind_interdomain: {
		struct evtchn_bind_interdomain *o = arg;

		rc = peer_request("bind", o->remote_dom, o->remote_port, &val);
		if (!rc)
			o->local_port = (evtchn_port_t)val;
		return rc;
	}
	case EVTCHNOP_bind_ipi: {
		struct evtchn_bind_ipi *o = arg;

		rc = peer_request("bind_ipi", o->vcpu, 0, &val);
		if (!rc)
			o->port = (evtchn_port_t)val;
		return rc;
	}
	case EVTCHNOP_send:
		return peer_request("send", ((struct evtchn_send *)arg)->port,
				    0, &val);
	case EVTCHNOP_close:
		return peer_request("close", ((struct evtchn_close *)arg)->port,
				    0, &val);
	default:
		xt_log("peer: EVTCHNOP %u is not served by the dom0 peer", cmd);
		return -XEN_ENOSYS;
	}
}

long xt_peer_ctl(const char *op, unsigned long a, unsigned long b,
		 unsigned long *val)
{
	*val = 0;
	if (!tkp.have)
		return -XEN_ENOSYS;
	return peer_request(op, a, b, val);
}

long xt_peer_hypercall(unsigned int pcpu, unsigned int op, unsigned long a1,
		       unsigned long a2, unsigned long a3)
{
	if (!tkp.have) {
		xt_log("xt_peer_hypercall: no peer domain here");
		return -XEN_ENOSYS;
	}
	if (op != __HYPERVISOR_event_channel_op) {
		xt_log("peer: hypercall %u is not served by the dom0 peer", op);
		return -XEN_ENOSYS;
	}
	return peer_evtchn_op((unsigned int)a1, (void *)a2);
}

void xt_peer_start(unsigned int pcpu, void (*fn)(void *), void *arg)
{
	tk_panic("xt_peer_start: the dom0 peer runs no test code");
}

void xt_peer_wait(unsigned int pcpu)
{
}

long xt_peer_hc(unsigned int op, unsigned long a1, unsigned long a2,
		unsigned long a3)
{
	return -XEN_ENOSYS;
}

/* --- serve: this test kernel as another one's peer domain ---------------------- */

/*
 * With "peer_serve" on its command line the test kernel runs no tests: it
 * is the peer domain of another test-kernel domU (docs/real-xen-peer.md,
 * "domU to domU").  dom0 (tools/evtchn-peer -s) writes the client's domid
 * to our data/xenlite-peer-serve/client and gives us read and write access
 * to the client's data/xenlite-peer/; we watch its request node and carry
 * requests out with our own raw EVTCHNOP hypercalls, which are what hv's
 * peer vCPUs run.  The core is up only for the xenstore client: events on
 * the ports we bind for the client are strays to it.
 */
#define SERVE_DIR "data/xenlite-peer-serve"
#define SERVE_WAIT_NS (120ULL * 1000000000ULL)
#define SERVE_MAX_PORTS 1024

static struct {
	char base[64];
	unsigned long session, last_seq;
	bool have_session;
	uint32_t open[SERVE_MAX_PORTS / 32]; /* ports bound for the client */
	bool kick;			     /* the request watch fired */
	unsigned long requests, errors;
} tks;

static long serve_evop(int cmd, void *arg)
{
	return tk_hypercall(__HYPERVISOR_event_channel_op, (unsigned long)cmd,
			    (unsigned long)arg, 0, 0, 0);
}

static void serve_close(evtchn_port_t port)
{
	struct evtchn_close cl = { .port = port };

	serve_evop(EVTCHNOP_close, &cl);
	if (port < SERVE_MAX_PORTS)
		tks.open[port / 32] &= ~(1U << (port % 32));
}

/* A port Xen gave us for the client: noted, so a new session closes it. */
static long serve_bound(long rc, evtchn_port_t port, unsigned long *val)
{
	if (rc)
		return rc;
	if (port >= SERVE_MAX_PORTS) {
		serve_close(port);
		return -XEN_ENOSPC;
	}
	tks.open[port / 32] |= 1U << (port % 32);
	*val = port;
	return 0;
}

static long serve_op(const char *op, unsigned long a, unsigned long b,
		     unsigned long *val)
{
	long rc;

	/* Each result is read after its call (argument evaluation order is
	 * unspecified: serve_bound(call(&o), o.port) could read o.port first). */
	*val = 0;
	if (!strcmp(op, "alloc_unbound")) {
		struct evtchn_alloc_unbound o = { .dom = DOMID_SELF,
						  .remote_dom = (domid_t)a };

		rc = serve_evop(EVTCHNOP_alloc_unbound, &o);
		return serve_bound(rc, o.port, val);
	}
	if (!strcmp(op, "bind")) {
		struct evtchn_bind_interdomain o = { .remote_dom = (domid_t)a,
						     .remote_port =
							     (evtchn_port_t)b };

		rc = serve_evop(EVTCHNOP_bind_interdomain, &o);
		return serve_bound(rc, o.local_port, val);
	}
	if (!strcmp(op, "bind_ipi")) {
		struct evtchn_bind_ipi o = { .vcpu = (uint32_t)a };

		rc = serve_evop(EVTCHNOP_bind_ipi, &o);
		return serve_bound(rc, o.port, val);
	}
	if (!strcmp(op, "send")) {
		struct evtchn_send o = { .port = (evtchn_port_t)a };

		return serve_evop(EVTCHNOP_send, &o);
	}
	if (!strcmp(op, "close")) {
		struct evtchn_close o = { .port = (evtchn_port_t)a };

		rc = serve_evop(EVTCHNOP_close, &o);
		if (!rc && a < SERVE_MAX_PORTS)
			tks.open[a / 32] &= ~(1U << (a % 32));
		return rc;
	}
	return -XEN_ENOSYS;
}

/* A new session: close what the client's last test left on our side. */
static void serve_session(unsigned long session)
{
	unsigned int port, closed = 0;

	for (port = 1; port < SERVE_MAX_PORTS; port++) {
		if (tks.open[port / 32] & (1U << (port % 32))) {
			serve_close(port);
			closed++;
		}
	}
	if (tks.have_session && closed)
		tk_printf("tk: serve: session %lu: closed %u ports\n", session,
			  closed);
	tks.session = session;
	tks.have_session = true;
}

static void serve_watch_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	tks.kick = true;
}

static bool serve_kicked(void *arg)
{
	return tks.kick;
}

/* One request, if there is a new one: carry it out and reply. */
static int serve_one(void)
{
	char path[96], buf[96], op[24];
	unsigned long seq, session, a, b, val = 0;
	const char *s = buf;
	unsigned int i;
	long rc;

	tk_snprintf(path, sizeof(path), "%s/request", tks.base);
	rc = xl_xs_read(XL_XS_NO_TX, path, buf, sizeof(buf), NULL);
	if (rc)
		return rc == -XEN_ENOENT ? 0 : (int)rc;
	seq = (unsigned long)parse_long(&s);
	session = (unsigned long)parse_long(&s);
	for (i = 0; *s && *s != ' ' && i + 1 < sizeof(op); i++)
		op[i] = *s++;
	op[i] = 0;
	if (*s == ' ')
		s++;
	a = (unsigned long)parse_long(&s);
	b = (unsigned long)parse_long(&s);
	if (seq == tks.last_seq)
		return 0;
	if (!tks.have_session || session != tks.session)
		serve_session(session);
	rc = serve_op(op, a, b, &val);
	tks.last_seq = seq;
	tks.requests++;
	if (rc)
		tks.errors++;
	tk_snprintf(path, sizeof(path), "%s/reply", tks.base);
	return xl_xs_printf(XL_XS_NO_TX, path, "%lu %ld %lu", seq, rc, val);
}

int tk_peer_serve(void)
{
	static struct xl_xs_watch w;
	uint64_t end = tk_now_ns() + SERVE_WAIT_NS;
	unsigned long client = 0;
	char path[96];
	int rc;

	tk_console_detach();
	rc = xt_core_init(NULL);
	if (!rc)
		rc = xl_xs_init();
	/* dom0 writes it once both domains exist (evtchn-peer -s). */
	while (!rc) {
		rc = xl_xs_read_uint(XL_XS_NO_TX, SERVE_DIR "/client", &client);
		if (rc != -XEN_ENOENT || tk_now_ns() >= end)
			break;
		rc = 0;
		xt_sleep_ns(20 * PEER_POLL_NS);
	}
	tk_console_attach();
	if (rc) {
		tk_printf("tk: serve: no client in %s/client (%d)\n", SERVE_DIR,
			  rc);
		return 1;
	}
	tk_snprintf(tks.base, sizeof(tks.base),
		    "/local/domain/%lu/data/xenlite-peer", client);
	tk_snprintf(path, sizeof(path), "%s/request", tks.base);
	rc = xl_xs_watch(&w, path, serve_watch_fn, NULL);
	if (rc) {
		tk_printf("tk: serve: watch %s: %d\n", path, rc);
		return 1;
	}
	tk_printf("tk: serve: peer of domain %lu at %s\n", client, tks.base);
	for (;;) {
		xl_xs_idle_until(serve_kicked, NULL);
		xl_xs_run_watches();
		if (!tks.kick)
			continue;
		tks.kick = false;
		rc = serve_one();
		if (rc)
			tk_printf("tk: serve: request: %d\n", rc);
	}
}
