// SPDX-License-Identifier: GPL-2.0
/*
 * tools/evtchn-peer: the peer domain of the test kernel's interdomain
 * tests, as a dom0 program on Xen's own libraries (libxenevtchn,
 * libxenstore).  It runs in the Linux dom0 of tools/xen-domu, beside one
 * test-kernel domU, and does at the peer's side what hv's peer domain does
 * in the hv runs: the event-channel operations a test asks for.
 *
 *   evtchn-peer [-t SECONDS] NAME
 *   evtchn-peer [-t SECONDS] -s SERVER NAME
 *
 * NAME is the domU's name (xl cfg name=); -t is how long to wait for it
 * to appear (default 120).  The program exits 0 once the domain is gone,
 * 1 on an error (both with a summary line on stdout).  With -s it serves
 * nothing itself: it makes the domU SERVER (a test kernel with
 * "peer_serve") NAME's peer, does the handshake below with SERVER's domid
 * as peer-domid, gives SERVER read and write access to NAME's directory,
 * writes NAME's domid to SERVER's data/xenlite-peer-serve/client, and
 * exits.
 *
 * Handshake and requests go through xenstore, under the domU's data/ tree
 * (docs/real-xen-peer.md):
 *
 *   /local/domain/D/data/xenlite-peer/         owner D (the domU), so the
 *                                              domU may create nodes in it
 *     request   written by the domU: "SEQ SESSION OP A B"
 *     reply     written by the peer:  "SEQ RC VALUE"
 *     vcpus     the peer's vCPUs as the tests see them (1: one thread)
 *     peer-domid  written last: the peer is ready
 *
 * OP is alloc_unbound (A: remote domid; offers a new port), bind (A:
 * remote domid, B: remote port), send (A: port), close (A: port), count
 * (A: port: the events received on it so far), echo (A: port, B: 1 or 0:
 * send back each event received on it), burst (A: port, B: n: n sends in
 * a row).  RC is 0 or a negative Xen errno (xen/include/public/errno.h);
 * VALUE the new port, the count, or 0.  Any other OP (bind_ipi: no
 * /dev/xen/evtchn ioctl binds an IPI) is -XEN_ENOSYS.
 * SESSION is the test kernel's test generation: when it changes, every
 * port the previous one left is closed (the domU's EVTCHNOP_reset between
 * tests leaves the peer's ends unbound, not closed).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xenstore.h>
#include <xen/xen.h>
#include <xen/event_channel.h>

/* Xen's errno values as the public header defines them. */
#define XEN_ERRNO(name, value) XEN_##name = value,
enum {
	XEN_ERRNO_NONE = 0,
#include <xen/errno.h>
};
#undef XEN_ERRNO

#define MAX_PORTS 4096

struct port {
	bool open;   /* bound through this session's xce handle */
	bool echo;   /* send back each event received */
	uint64_t rx; /* events received */
};

static struct {
	struct xs_handle *xs;
	xenevtchn_handle *xce;
	unsigned int domid;
	char base[96];
	unsigned long session;
	bool have_session;
	unsigned long last_seq;
	struct port ports[MAX_PORTS];
	unsigned long requests, errors;
} p;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("evtchn-peer: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/*
 * errno of a failed libxenevtchn call as a Xen errno.  Linux's
 * evtchn driver returns the hypercall's own error (drivers/xen/evtchn.c,
 * evtchn_ioctl), and Xen's x86 errno values are Linux's for these; the
 * table keeps the translation explicit instead of assuming it.
 */
static int xen_err(int e)
{
	static const struct {
		int host, xen;
	} map[] = {
		{ EPERM, XEN_EPERM },	{ ENOENT, XEN_ENOENT },
		{ ESRCH, XEN_ESRCH },	{ ENOMEM, XEN_ENOMEM },
		{ EACCES, XEN_EACCES }, { EFAULT, XEN_EFAULT },
		{ EBUSY, XEN_EBUSY },	{ EEXIST, XEN_EEXIST },
		{ EINVAL, XEN_EINVAL }, { ENOSPC, XEN_ENOSPC },
		{ ENOSYS, XEN_ENOSYS }, { ENOTCONN, XEN_ENOTCONN },
	};
	unsigned int i;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].host == e)
			return -map[i].xen;
	return -XEN_EINVAL;
}

static struct port *port_of(unsigned long port)
{
	return port < MAX_PORTS ? &p.ports[port] : NULL;
}

/* --- sessions ----------------------------------------------------------------- */

/*
 * A new session: close what the last one left.  Closing the handle makes
 * Linux's evtchn driver close every port bound through it
 * (evtchn_release).
 */
static int new_session(unsigned long session)
{
	unsigned int i, closed = 0;

	for (i = 0; i < MAX_PORTS; i++) {
		if (p.ports[i].open)
			closed++;
	}
	memset(p.ports, 0, sizeof(p.ports));
	if (p.xce)
		xenevtchn_close(p.xce);
	p.xce = xenevtchn_open(NULL, 0);
	if (!p.xce) {
		say("xenevtchn_open: %s", strerror(errno));
		return -1;
	}
	if (p.have_session && closed)
		say("session %lu: closed %u ports of session %lu", session,
		    closed, p.session);
	p.session = session;
	p.have_session = true;
	return 0;
}

/* --- requests ----------------------------------------------------------------- */

/* A port libxenevtchn returned: ours until closed. */
static long bound(xenevtchn_port_or_error_t port)
{
	if (port < 0)
		return xen_err(errno);
	if (!port_of((unsigned long)port)) {
		xenevtchn_unbind(p.xce, (evtchn_port_t)port);
		return -XEN_ENOSPC;
	}
	p.ports[port].open = true;
	return port;
}

static long op_send(unsigned long port)
{
	struct port *pp = port_of(port);

	if (!pp || !pp->open)
		return -XEN_EINVAL;
	return xenevtchn_notify(p.xce, (evtchn_port_t)port) ? xen_err(errno) :
							      0;
}

/* Carry out one request; returns RC, *val the VALUE of the reply. */
static long serve(const char *op, unsigned long a, unsigned long b,
		  unsigned long *val)
{
	struct port *pp = port_of(a);
	long rc = 0;

	*val = 0;
	if (!strcmp(op, "alloc_unbound")) {
		rc = bound(xenevtchn_bind_unbound_port(p.xce, (uint32_t)a));
	} else if (!strcmp(op, "bind")) {
		rc = bound(xenevtchn_bind_interdomain(p.xce, (uint32_t)a,
						      (evtchn_port_t)b));
	} else if (!strcmp(op, "send")) {
		return op_send(a);
	} else if (!strcmp(op, "close")) {
		if (!pp || !pp->open)
			return -XEN_EINVAL;
		if (xenevtchn_unbind(p.xce, (evtchn_port_t)a))
			return xen_err(errno);
		memset(pp, 0, sizeof(*pp));
		return 0;
	} else if (!strcmp(op, "count")) {
		if (!pp || !pp->open)
			return -XEN_EINVAL;
		*val = pp->rx;
		return 0;
	} else if (!strcmp(op, "echo")) {
		if (!pp || !pp->open)
			return -XEN_EINVAL;
		pp->echo = b != 0;
		return 0;
	} else if (!strcmp(op, "burst")) {
		for (*val = 0; *val < b; (*val)++) {
			rc = op_send(a);
			if (rc)
				return rc;
		}
		return 0;
	} else {
		return -XEN_ENOSYS;
	}
	if (rc >= 0) {
		*val = (unsigned long)rc;
		rc = 0;
	}
	return rc;
}

static int write_node(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int write_node(const char *name, const char *fmt, ...)
{
	char path[160], val[96];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", p.base, name);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (!xs_write(p.xs, XBT_NULL, path, val, strlen(val))) {
		say("xs_write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The request node changed (or the watch was just set): serve it once. */
static int on_request(void)
{
	char path[160], op[24];
	unsigned long seq, session, a, b, val;
	unsigned int len;
	char *req;
	long rc;

	snprintf(path, sizeof(path), "%s/request", p.base);
	req = xs_read(p.xs, XBT_NULL, path, &len);
	if (!req)
		return 0; /* not written yet */
	if (sscanf(req, "%lu %lu %23s %lu %lu", &seq, &session, op, &a, &b) !=
	    5) {
		say("bad request '%s'", req);
		free(req);
		return 0;
	}
	free(req);
	if (seq == p.last_seq)
		return 0; /* a second watch event for one write */
	if ((!p.have_session || session != p.session) && new_session(session))
		return -1;
	rc = serve(op, a, b, &val);
	p.last_seq = seq;
	p.requests++;
	if (rc)
		p.errors++;
	return write_node("reply", "%lu %ld %lu", seq, rc, val);
}

/*
 * An event on one of our ports: count it, echo it if asked, unmask it.
 * One port per call: the evtchn fd is blocking, and poll() said one is
 * there (xenevtchn_pending is a read() of one port; a second read would
 * wait for the next event).  Linux's evtchn driver masked the port when it
 * queued it (drivers/xen/evtchn.c, evtchn_interrupt), so it is unmasked
 * here.
 */
static void on_event(void)
{
	xenevtchn_port_or_error_t port = xenevtchn_pending(p.xce);
	struct port *pp;

	if (port < 0)
		return;
	pp = port_of((unsigned long)port);
	if (pp) {
		pp->rx++;
		if (pp->echo)
			xenevtchn_notify(p.xce, (evtchn_port_t)port);
	}
	xenevtchn_unmask(p.xce, (evtchn_port_t)port);
}

/* --- the domU ------------------------------------------------------------------ */

static bool find_domid(const char *name, unsigned int *domid)
{
	char path[64], **dir, *n;
	unsigned int i, nr, len;
	bool found = false;

	dir = xs_directory(p.xs, XBT_NULL, "/local/domain", &nr);
	for (i = 0; dir && i < nr && !found; i++) {
		snprintf(path, sizeof(path), "/local/domain/%s/name", dir[i]);
		n = xs_read(p.xs, XBT_NULL, path, &len);
		if (n && !strcmp(n, name)) {
			*domid = (unsigned int)strtoul(dir[i], NULL, 10);
			found = true;
		}
		free(n);
	}
	free(dir);
	return found;
}

static bool domain_exists(void)
{
	char path[64], *n;
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%u/name", p.domid);
	n = xs_read(p.xs, XBT_NULL, path, &len);
	free(n);
	return n != NULL;
}

/*
 * The directory, owned by the domU: xenstored lets a domain create nodes
 * only where it has write permission, and a node's first permission entry
 * names its owner, who may do anything (docs/misc/xenstore.txt, "Node
 * permissions"); the other entries give nothing to anyone else.
 */
static int handshake(unsigned int peer)
{
	struct xs_permissions perms[2] = {
		{ .id = p.domid, .perms = XS_PERM_NONE },
		{ .id = peer, .perms = XS_PERM_READ | XS_PERM_WRITE },
	};
	char path[96], val[16];

	snprintf(p.base, sizeof(p.base), "/local/domain/%u/data/xenlite-peer",
		 p.domid);
	if (!xs_mkdir(p.xs, XBT_NULL, p.base) ||
	    !xs_set_permissions(p.xs, XBT_NULL, p.base, perms, peer ? 2 : 1)) {
		say("%s: %s", p.base, strerror(errno));
		return -1;
	}
	if (write_node("reply", "0 0 0") || write_node("vcpus", "1"))
		return -1;
	if (peer) {
		/* Created by dom0 under the server's data/: the server owns
		 * it (a new node takes its parent's permissions). */
		snprintf(path, sizeof(path),
			 "/local/domain/%u/data/xenlite-peer-serve/client",
			 peer);
		snprintf(val, sizeof(val), "%u", p.domid);
		if (!xs_write(p.xs, XBT_NULL, path, val, strlen(val))) {
			say("xs_write %s: %s", path, strerror(errno));
			return -1;
		}
	}
	return write_node("peer-domid", "%u", peer);
}

/* Wait up to wait_s for a domain called name. */
static bool wait_domid(const char *name, unsigned int wait_s,
		       unsigned int *domid)
{
	time_t t0 = time(NULL);

	while (!find_domid(name, domid)) {
		if (time(NULL) - t0 > (time_t)wait_s) {
			say("no domain named %s after %u s", name, wait_s);
			return false;
		}
		usleep(50000);
	}
	return true;
}

int main(int argc, char **argv)
{
	unsigned int wait_s = 120, n, server = 0;
	const char *server_name = NULL;
	struct pollfd fds[2];
	char **ev;
	int c;

	while ((c = getopt(argc, argv, "t:s:")) != -1) {
		if (c == 't') {
			wait_s = (unsigned int)strtoul(optarg, NULL, 10);
		} else if (c == 's') {
			server_name = optarg;
		} else {
			optind = argc;
			break;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr,
			"usage: evtchn-peer [-t SECONDS] [-s SERVER] NAME\n");
		return 2;
	}
	p.xs = xs_open(0);
	if (!p.xs || new_session(0)) {
		say("cannot open xenstore or evtchn: %s", strerror(errno));
		return 1;
	}
	p.have_session = false;
	if (!wait_domid(argv[optind], wait_s, &p.domid) ||
	    (server_name && !wait_domid(server_name, wait_s, &server)))
		return 1;
	if (handshake(server))
		return 1;
	if (server_name) {
		say("%s (domain %u) is the peer of %s (domain %u) at %s",
		    server_name, server, argv[optind], p.domid, p.base);
		return 0;
	}
	say("serving %s (domain %u) at %s", argv[optind], p.domid, p.base);
	{
		char path[160];

		snprintf(path, sizeof(path), "%s/request", p.base);
		if (!xs_watch(p.xs, path, "req") ||
		    !xs_watch(p.xs, "@releaseDomain", "rel")) {
			say("xs_watch: %s", strerror(errno));
			return 1;
		}
	}
	for (;;) {
		fds[0] = (struct pollfd){ .fd = xs_fileno(p.xs),
					  .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = xenevtchn_fd(p.xce),
					  .events = POLLIN };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			say("poll: %s", strerror(errno));
			return 1;
		}
		if (fds[1].revents & POLLIN)
			on_event();
		if (!(fds[0].revents & POLLIN))
			continue;
		ev = xs_read_watch(p.xs, &n);
		if (!ev)
			continue;
		if (!strcmp(ev[XS_WATCH_TOKEN], "req")) {
			if (on_request()) {
				free(ev);
				return 1;
			}
		} else if (!domain_exists()) {
			free(ev);
			break;
		}
		free(ev);
	}
	say("domain %u gone: %lu requests, %lu failed with an errno", p.domid,
	    p.requests, p.errors);
	return 0;
}
