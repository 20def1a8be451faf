// SPDX-License-Identifier: GPL-2.0
/*
 * xenlite xenbus: the frontend state machine of <xen/io/xenbus.h> for one
 * device (include/xenlite/xenbus.h).  The backend's state comes in through
 * a watch on <backend>/state; its callback (thread context, from
 * xl_xs_run_watches()) reads the state and moves ours, calling the driver.
 *
 * What each backend state does (after Linux's blkback_changed() in
 * drivers/block/xen-blkfront.c and xenbus_probe_frontend.c, with the
 * restart cases made explicit):
 *   InitWait, Initialised   we are Initialising or Closed: probe ->
 *                           Initialised; we are Connected: the backend
 *                           restarted: disconnect(false), then probe
 *                           again; we are Initialised: the backend has
 *                           not handled our Initialised yet (Linux's
 *                           blkback handles it late, on its xenwatch
 *                           thread; our watch may report InitWait twice):
 *                           wait
 *   Initialising, Unknown   (restart in progress, node not there yet)
 *                           we were probed: disconnect(false), back to
 *                           Initialising
 *   Connected               we are Initialised: connect -> Connected; we
 *                           are Initialising or Closed and published no
 *                           ring: the backend is Connected to an earlier
 *                           frontend's, and the next xl_xenbus_poll()
 *                           resets it (xb_reset_backend()) before our
 *                           Initialising
 *   Closing                 disconnect(true) if probed (or if a restart
 *                           left the driver holding queued I/O),
 *                           Closing -> Closed; but Initialising, never
 *                           probed, after our read at init failed: an
 *                           earlier frontend's close, reset as Connected
 *                           is
 *   Closed                  the same, unless we are Closed already, or
 *                           Initialising and never probed: a backend
 *                           that served an earlier frontend and waits for
 *                           our Initialising to come back (Linux blkback,
 *                           frontend_changed(): "prepare for reconnect",
 *                           Closed -> InitWait, while the toolstack's
 *                           "online" is 1); we wait for its InitWait,
 *                           after disconnect(true) if a restart left the
 *                           driver holding queued I/O
 */

#include <xenlite/clockevent.h>
#include <xenlite/idle.h>
#include <xenlite/xenbus.h>

static size_t xb_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

/* "<base>/<key>" into buf; false if it does not fit. */
static bool xb_join(char *buf, size_t size, const char *base, const char *key)
{
	size_t bl = xb_strlen(base), kl = xb_strlen(key), i;

	if (bl + 1 + kl + 1 > size)
		return false;
	for (i = 0; i < bl; i++)
		buf[i] = base[i];
	buf[bl] = '/';
	for (i = 0; i < kl; i++)
		buf[bl + 1 + i] = key[i];
	buf[bl + 1 + kl] = '\0';
	return true;
}

const char *xl_xenbus_state_name(enum xenbus_state state)
{
	static const char *const names[] = {
		"Unknown",     "Initialising",	"InitWait",
		"Initialised", "Connected",	"Closing",
		"Closed",      "Reconfiguring", "Reconfigured",
	};

	return (unsigned int)state < sizeof(names) / sizeof(names[0]) ?
		       names[state] :
		       "Invalid";
}

int xl_xenbus_switch_state(struct xl_xenbus_device *dev,
			   enum xenbus_state state)
{
	char path[XL_XENBUS_PATH_MAX + 8];
	int rc;

	if (!xb_join(path, sizeof(path), dev->nodename, "state"))
		return -XEN_E2BIG;
	rc = xl_xs_printf(XL_XS_NO_TX, path, "%u", (unsigned int)state);
	if (rc) {
		xl_err("xenbus: %s: writing state %s: %d\n", dev->nodename,
		       xl_xenbus_state_name(state), rc);
		return rc;
	}
	xl_info("xenbus: %s: %s -> %s\n", dev->nodename,
		xl_xenbus_state_name(dev->state), xl_xenbus_state_name(state));
	dev->state = state;
	return 0;
}

int xl_xenbus_read_otherend_uint(struct xl_xenbus_device *dev, const char *key,
				 unsigned long *val)
{
	char path[XL_XENBUS_PATH_MAX * 2];

	if (!xb_join(path, sizeof(path), dev->otherend, key))
		return -XEN_E2BIG;
	return xl_xs_read_uint(XL_XS_NO_TX, path, val);
}

int xl_xenbus_printf(struct xl_xenbus_device *dev, xl_xs_tx_t tx,
		     const char *key, const char *fmt, ...)
{
	char path[XL_XENBUS_PATH_MAX * 2];
	va_list ap;
	int rc;

	if (!xb_join(path, sizeof(path), dev->nodename, key))
		return -XEN_E2BIG;
	va_start(ap, fmt);
	rc = xl_xs_vprintf(tx, path, fmt, ap);
	va_end(ap);
	return rc;
}

/* --- the state machine ---------------------------------------------------- */

/*
 * Undo probe/connect.  A restart's disconnect(false) leaves the driver
 * holding what it keeps for the next connection (queued I/O): held, until
 * the next probe takes it over or a closing disconnect lets it go.
 */
static void xb_disconnect(struct xl_xenbus_device *dev, bool closing)
{
	if (!dev->probed && !(closing && dev->held))
		return;
	dev->probed = false;
	dev->held = !closing;
	if (dev->ops->disconnect)
		dev->ops->disconnect(dev, closing);
}

static void xb_close(struct xl_xenbus_device *dev)
{
	xb_disconnect(dev, true);
	if (dev->state != XenbusStateClosing && dev->state != XenbusStateClosed)
		xl_xenbus_switch_state(dev, XenbusStateClosing);
	if (dev->state != XenbusStateClosed)
		xl_xenbus_switch_state(dev, XenbusStateClosed);
}

/*
 * Run a driver step (probe or connect); on failure keep the error and
 * close, as Linux's xenbus_dev_fatal() does.
 */
static bool xb_step(struct xl_xenbus_device *dev,
		    int (*fn)(struct xl_xenbus_device *dev), const char *what)
{
	int rc = fn ? fn(dev) : 0;

	if (rc) {
		xl_err("xenbus: %s: %s failed: %d\n", dev->nodename, what, rc);
		dev->error = rc;
		xb_close(dev);
	}
	return !rc;
}

static void xb_probe(struct xl_xenbus_device *dev)
{
	if (!xb_step(dev, dev->ops->probe, "probe"))
		return;
	dev->error = 0;
	dev->probed = true;
	dev->held = false;
	xl_xenbus_switch_state(dev, XenbusStateInitialised);
}

static void xb_connect(struct xl_xenbus_device *dev)
{
	if (!xb_step(dev, dev->ops->connect, "connect"))
		return;
	dev->connects++;
	xl_xenbus_switch_state(dev, XenbusStateConnected);
}

static bool xb_we_are_up(const struct xl_xenbus_device *dev)
{
	return dev->state == XenbusStateInitialised ||
	       dev->state == XenbusStateConnected;
}

static void xb_restart(struct xl_xenbus_device *dev)
{
	xl_info("xenbus: %s: backend restarted (%s)\n", dev->nodename,
		xl_xenbus_state_name(dev->backend_state));
	dev->restarts++;
	xb_disconnect(dev, false);
	xl_xenbus_switch_state(dev, XenbusStateInitialising);
}

/*
 * The backend's state: 0 and *be, Unknown for a node that is not there (or
 * holds no state); or the xenstore error (a transient one: ENOMEM, EAGAIN,
 * a quota), *be untouched.
 */
static int xb_try_backend_state(struct xl_xenbus_device *dev,
				enum xenbus_state *be)
{
	unsigned long v;
	int rc = xl_xenbus_read_otherend_uint(dev, "state", &v);

	if (rc == -XEN_ENOENT || rc == -XEN_EINVAL ||
	    (!rc && v > XenbusStateReconfigured)) {
		*be = XenbusStateUnknown;
		return 0;
	}
	if (!rc)
		*be = (enum xenbus_state)v;
	return rc;
}

#define XB_READ_TRIES XL_XENBUS_READ_TRIES

/* A transient error is tried again at once, XB_READ_TRIES reads in all. */
static bool xb_transient(int rc)
{
	return rc && rc != -XEN_ENOENT && rc != -XEN_EINVAL;
}

/* <base>/<key> as a number, a transient error tried again. */
static int xb_read_uint_retry(const char *base, const char *key,
			      unsigned long *v)
{
	char path[XL_XENBUS_PATH_MAX + 16];
	unsigned int tries = 0;
	int rc;

	if (!xb_join(path, sizeof(path), base, key))
		return -XEN_E2BIG;
	while (xb_transient(rc = xl_xs_read_uint(XL_XS_NO_TX, path, v)) &&
	       ++tries < XB_READ_TRIES)
		;
	return rc;
}

static int xb_backend_state_retry(struct xl_xenbus_device *dev,
				  enum xenbus_state *be)
{
	unsigned int tries = 0;
	int rc;

	while ((rc = xb_try_backend_state(dev, be)) && ++tries < XB_READ_TRIES)
		;
	return rc;
}

/*
 * The toolstack removed the device: our own directory's link to the
 * backend is gone (libxl__device_destroy() removes both directories).
 * The backend's state then cannot tell: xenstored answers a read of a
 * node that is not there EACCES, not ENOENT, when the reader may not read
 * its closest ancestor (xenstored_core.c, get_node()), as a guest may not
 * read dom0's backend/vbd/<domid>.
 */
static bool xb_removed(struct xl_xenbus_device *dev)
{
	unsigned long id;

	return xb_read_uint_retry(dev->nodename, "backend-id", &id) ==
	       -XEN_ENOENT;
}

/*
 * A read of the backend's state failed XB_READ_TRIES times: warn on the
 * 1st, 2nd, 4th, 8th ... such failure in a row (an error that persists,
 * EACCES after a permission change, would log on every re-read).
 */
static void xb_read_failed(struct xl_xenbus_device *dev, int rc)
{
	dev->read_error = rc;
	dev->read_failures++;
	if (dev->read_failures & (dev->read_failures - 1))
		return;
	xl_warn("xenbus: %s: reading %s/state: %d (%u times in a row), read again later\n",
		dev->nodename, dev->otherend, rc, dev->read_failures);
}

static void xb_backend_changed(struct xl_xenbus_device *dev)
{
	enum xenbus_state be = XenbusStateUnknown;
	int rc;

	/*
	 * A failed read is no state (Unknown would make a connected
	 * frontend restart, and a Connected blkback ignores the
	 * Initialising that follows: blk/watch_read_error).  Try again a
	 * few times; then leave the state machine as it is and have the
	 * next xl_xenbus_poll() read again (the event may have been the
	 * backend's last for a while: blk/reset_read_error).
	 */
	dev->reread = false;
	rc = xb_backend_state_retry(dev, &be);
	if (rc) {
		xb_read_failed(dev, rc);
		dev->reread = true;
		if (!dev->closing_by_us && xb_removed(dev)) {
			dev->reread = false;
			dev->gone = true;
		}
		return;
	}
	dev->read_failures = 0;
	dev->read_backoff_ns = 0;
	dev->backend_state = be;
	if (dev->closing_by_us)
		goto out;
	switch (be) {
	case XenbusStateInitWait:
	case XenbusStateInitialised:
		/*
		 * Not while we are Initialised: that is a backend yet to
		 * handle our Initialised.  Restarting then ended the ring it
		 * was about to map and published another, and blkback,
		 * Connected to the first, ignored the second (a hang with
		 * req_event 1; blk/attach_initwait_twice).  Linux's
		 * blkback_changed() likewise probes on InitWait only from
		 * Initialising or Closed.
		 */
		if (dev->state == XenbusStateConnected)
			xb_restart(dev);
		if (dev->state == XenbusStateInitialising ||
		    dev->state == XenbusStateClosed)
			xb_probe(dev);
		break;
	case XenbusStateInitialising:
	case XenbusStateUnknown:
		if (dev->probed || xb_we_are_up(dev))
			xb_restart(dev);
		break;
	case XenbusStateConnected:
		/*
		 * Connected before we published a ring: to an earlier
		 * frontend's (one that died after its Initialised, which the
		 * backend acted on after our read at init; or our read
		 * failed).  Linux's blkback ignores our Initialised and
		 * Connected from now on, so probing here would wait for ever:
		 * reset it, from xl_xenbus_poll() (its waits run the watches
		 * this callback is one of).
		 */
		if (!dev->probed && (dev->state == XenbusStateInitialising ||
				     dev->state == XenbusStateClosed)) {
			dev->stale = true;
			break;
		}
		if (dev->state == XenbusStateInitialised)
			xb_connect(dev);
		break;
	case XenbusStateClosing:
		/*
		 * Our read at init failed (no reset then): a Closing seen
		 * before our probe may be an earlier frontend's close, which
		 * waits for a Closed of ours (blk/reattach_closing_reads_fail).
		 * Reset it as Connected above (xb_reset_backend() checks the
		 * toolstack's "online" first).
		 */
		if (dev->init_unread && !dev->probed &&
		    dev->state == XenbusStateInitialising) {
			dev->stale = true;
			break;
		}
		xb_close(dev);
		break;
	case XenbusStateClosed:
		/*
		 * A backend waiting to be reconnected (see the top).  After a
		 * restart, what the driver kept for the next connection is let
		 * go now: Closed is not the way back (InitWait is).
		 */
		if (dev->state == XenbusStateInitialising && !dev->probed) {
			xb_disconnect(dev, true);
			break;
		}
		if (dev->state != XenbusStateClosed || dev->probed)
			xb_close(dev);
		break;
	default:
		break; /* Reconfiguring/-ed: not for block devices */
	}
out:
	if (dev->ops->backend_changed)
		dev->ops->backend_changed(dev, be);
}

static void xb_watch_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	struct xl_xenbus_device *dev = arg;

	(void)w;
	(void)path;
	xl_fetch_or32(&dev->changed, 1);
	xb_backend_changed(dev);
}

/*
 * A backend Connected or Closing when we start was left so by an earlier
 * frontend (a crash, a kexec, a driver freed while attached, one that
 * died in its close).  Linux's blkback ignores a new frontend's
 * Initialised and Connected while it is Connected (frontend_changed():
 * "if (dev->state == XenbusStateConnected) break;"), so our ring would
 * never be mapped; a Closing one waits for a Closed that never comes.
 * Take it through Closing and Closed first, as Linux's
 * xenbus_reset_frontend() does at boot for a backend in either state
 * (drivers/xen/xenbus/xenbus_probe_frontend.c): xl_xenbus_close() writes
 * our Closing, waits for its Closing (at once for a Closing backend),
 * writes our Closed and waits for its Closed, retrying a failed read
 * there.  Our Initialising afterwards brings it back to InitWait.  A
 * timeout is logged and the attach goes on: its own wait then ends it.
 * The first write depends on the backend's state, as in Linux's
 * xenbus_reset_frontend() (drivers/xen/xenbus/xenbus_probe.c), for a
 * Closing backend: our Closed alone (it waits for just that; a Closing
 * would only be answered with Closing again: blk/reattach_closing).  Not
 * for a Closed one, which Linux gives our Initialising alone: it is reset
 * only when our node is left up, and a blkback that read that node's
 * Initialised or Connected before our Initialising (its xenwatch runs
 * late) maps the stale ring and goes Connected after it, perhaps after
 * our probe; our Closing first makes its Closed come after that.
 */
static int xb_close_handshake(struct xl_xenbus_device *dev, uint64_t timeout_ns,
			      bool closing_first);

static bool xb_offline(struct xl_xenbus_device *dev)
{
	unsigned long online;

	return !xb_read_uint_retry(dev->otherend, "online", &online) && !online;
}

/*
 * 0, or -XEN_ENODEV when the toolstack is removing the device: a Closing
 * backend whose "online" is 0 (libxl's device removal,
 * libxl__initiate_device_generic_remove(), writes online 0 and the
 * backend's Closing in one transaction, waits for its Closed, then
 * removes both directories; Linux's blkback, not online, unregisters at
 * our Closed: frontend_changed(), xenbus_dev_is_online()), before any
 * write of ours; or a backend whose directory went (Unknown) or that went
 * offline during the reset.  Writing our state then would make a stray
 * node in a directory being removed, and wait for an InitWait that never
 * comes.  An "online" that cannot be read is not 0: the reset goes on.
 */
static int xb_reset_backend(struct xl_xenbus_device *dev, enum xenbus_state be)
{
	int rc;

	if (be == XenbusStateClosing && xb_offline(dev)) {
		xl_warn("xenbus: %s: backend %s Closing and offline: the toolstack removes the device\n",
			dev->nodename, dev->otherend);
		return -XEN_ENODEV;
	}
	xl_warn("xenbus: %s: backend %s (%s) left to an earlier frontend: resetting it\n",
		dev->nodename, dev->otherend, xl_xenbus_state_name(be));
	dev->resets++;
	rc = xb_close_handshake(dev, 0, be != XenbusStateClosing);
	if ((!rc && dev->backend_state == XenbusStateUnknown) ||
	    xb_offline(dev) || xb_removed(dev)) {
		xl_warn("xenbus: %s: backend %s removed during the reset\n",
			dev->nodename, dev->otherend);
		return -XEN_ENODEV;
	}
	return 0;
}

static bool xb_needs_reset(enum xenbus_state be)
{
	return be == XenbusStateConnected || be == XenbusStateClosing;
}

/*
 * Our own node Initialised or Connected at init: an earlier frontend
 * published a ring there and never closed.  The backend may have read it
 * already and be about to map it, whatever state it shows now: it
 * handles the frontend's state late (Linux's xenwatch thread) and may
 * write Connected only after we published our ring, when nothing tells
 * its Connected from one for ours.  Our Closing overwrites the stale
 * Initialised, and its Closed comes only after it handled everything
 * before (xenwatch handles one event at a time), so the reset ends
 * whatever it connected.  Linux's xenbus_check_frontend() (at boot,
 * drivers/xen/xenbus/xenbus_probe.c) looks at the frontend's own state
 * too, but resets only for Connected or Closed there, never Initialised:
 * it has no answer to this case.  A node we cannot read (a transient
 * error each time) is taken as left up: a reset too many costs one
 * Closing/Closed round trip, one too few the hang above
 * (blk/reattach_node_read_error, blk/reattach_node_reads_fail).
 */
static bool xb_node_left_up(struct xl_xenbus_device *dev)
{
	unsigned long v;
	int rc = xb_read_uint_retry(dev->nodename, "state", &v);

	/* Not read (a transient error each time): assume the worst. */
	if (xb_transient(rc))
		return true;
	return !rc &&
	       (v == XenbusStateInitialised || v == XenbusStateConnected);
}

/*
 * The toolstack's links (<node>/backend and backend-id), our state
 * Initialising, the watch on <backend>/state: at init, and again after a
 * restore (the new domain's backend is another directory).
 */
static int xb_talk_to_otherend(struct xl_xenbus_device *dev)
{
	char path[XL_XENBUS_PATH_MAX + 16];
	const char *nodename = dev->nodename;
	unsigned long id;
	size_t len;
	enum xenbus_state be;
	int rc;

	xb_join(path, sizeof(path), nodename, "backend");
	rc = xl_xs_read(XL_XS_NO_TX, path, dev->otherend, sizeof(dev->otherend),
			&len);
	if (rc)
		return rc;
	if (!len || dev->otherend[0] != '/')
		return -XEN_EINVAL;
	xb_join(path, sizeof(path), nodename, "backend-id");
	rc = xl_xs_read_uint(XL_XS_NO_TX, path, &id);
	if (rc)
		return rc;
	if (id >= DOMID_FIRST_RESERVED)
		return -XEN_EINVAL;
	dev->otherend_id = (domid_t)id;
	/*
	 * The watch first: the reset's waits wake on its events (the state
	 * machine ignores them meanwhile, closing_by_us), and a Connected it
	 * reports before our probe is caught whatever our read below saw:
	 * that read is one look, which a late transition or a failed read
	 * (no reset: Unknown) makes stale.
	 */
	xb_join(path, sizeof(path), dev->otherend, "state");
	rc = xl_xs_watch(&dev->watch, path, xb_watch_fn, dev);
	if (rc)
		return rc;
	/*
	 * A read that fails each time leaves the backend's state unknown:
	 * Connected is caught by the state machine (stale), and so is
	 * Closing with init_unread; no reset here on an error that may
	 * persist (the reset's waits would spend their 5 s on it).
	 */
	dev->init_unread = xb_backend_state_retry(dev, &be) != 0;
	if (dev->init_unread)
		be = XenbusStateUnknown;
	rc = 0;
	if (xb_needs_reset(be) || xb_node_left_up(dev))
		rc = xb_reset_backend(dev, be);
	if (!rc)
		rc = xl_xenbus_switch_state(dev, XenbusStateInitialising);
	if (rc)
		xl_xs_unwatch(&dev->watch);
	return rc;
}

int xl_xenbus_device_init(struct xl_xenbus_device *dev, const char *nodename,
			  const struct xl_xenbus_ops *ops, void *priv)
{
	size_t n = xb_strlen(nodename);

	if (!ops || n == 0 || n >= sizeof(dev->nodename))
		return -XEN_EINVAL;
	__builtin_memset(dev, 0, sizeof(*dev));
	__builtin_memcpy(dev->nodename, nodename, n + 1);
	dev->ops = ops;
	dev->priv = priv;
	dev->state = XenbusStateUnknown;
	return xb_talk_to_otherend(dev);
}

/*
 * After a restore (Linux's xenbus_dev_resume() for a frontend: the
 * driver's resume, then the state Initialising and talk_to_otherend()
 * again).  The watch xl_xs_resume() registered again names the old
 * domain's backend: it goes; the driver's resume undoes its connection
 * without a handshake (nobody is at the other end: the old backend went
 * with the old domain) and keeps what it re-issues; then the links are
 * read again (the toolstack made the new domain's device and backend)
 * and the handshake starts over from Initialising, driven by poll/wait
 * as at init.  Held: a backend that closes instead lets the driver fail
 * what it kept (disconnect(true)).
 */
int xl_xenbus_resume(struct xl_xenbus_device *dev)
{
	int rc = 0;

	if (dev->watch.path)
		xl_xs_unwatch(&dev->watch);
	if (dev->ops->resume)
		rc = dev->ops->resume(dev);
	dev->probed = false;
	dev->held = true;
	dev->closing_by_us = false;
	dev->error = 0;
	dev->backend_state = XenbusStateUnknown;
	dev->state = XenbusStateUnknown;
	dev->resumes++;
	if (rc) {
		xl_err("xenbus: %s: resume: %d\n", dev->nodename, rc);
		return rc;
	}
	return xb_talk_to_otherend(dev);
}

void xl_xenbus_device_fini(struct xl_xenbus_device *dev)
{
	if (dev->watch.path)
		xl_xs_unwatch(&dev->watch);
	xb_disconnect(dev, true);
}

static void xb_timer_fn(struct xl_timer *t)
{
	(void)t; /* the upcall that ran this ends the block */
}

unsigned int xl_xenbus_poll(struct xl_xenbus_device *dev)
{
	unsigned int ran = xl_xs_run_watches();

	/* An event whose read failed: the state machine on a new read. */
	if (dev->reread)
		xb_backend_changed(dev);
	/* Not from the reset's own waits (xl_xenbus_close() polls). */
	if (dev->stale && !dev->closing_by_us) {
		dev->stale = false;
		dev->init_unread = false;
		if (xb_reset_backend(dev, dev->backend_state))
			dev->gone = true;
		else
			xl_xenbus_switch_state(dev, XenbusStateInitialising);
	}
	return ran;
}

struct xb_backoff {
	uint64_t until;
};

static bool xb_backoff_done(void *p)
{
	const struct xb_backoff *b = p;

	return xl_xs_watches_pending() || xl_clock_now() >= b->until;
}

/*
 * After a read of the backend's state failed XB_READ_TRIES times, wait
 * before the next: XB_BACKOFF_MIN_NS, doubled after each further failure
 * up to XB_BACKOFF_MAX_NS, or less to a deadline (0: none); a watch event
 * ends it early.  The host's sleep (xl_wait_until(): xl_os_wait(), else
 * an idle vCPU) with a timer for the end; without a timer (no
 * xl_clock_init()) nothing would end the sleep: spin to it then.  An error
 * that persists (EACCES) used to be read again at once, tens of thousands
 * of reads a second (blk/read_error_backoff).
 */
#define XB_BACKOFF_MIN_NS 1000000ULL
#define XB_BACKOFF_MAX_NS 10000000ULL

static void xb_read_backoff(struct xl_xenbus_device *dev, uint64_t deadline)
{
	uint64_t d = dev->read_backoff_ns ? 2 * dev->read_backoff_ns :
					    XB_BACKOFF_MIN_NS;
	struct xb_backoff b;
	struct xl_timer t;

	if (d > XB_BACKOFF_MAX_NS)
		d = XB_BACKOFF_MAX_NS;
	dev->read_backoff_ns = d;
	b.until = xl_clock_now() + d;
	if (deadline && b.until > deadline)
		b.until = deadline;
	xl_timer_setup(&t, xb_timer_fn, NULL);
	if (xl_timer_arm(&t, b.until) == 0) {
		xl_wait_until(xb_backoff_done, &b);
		xl_timer_cancel(&t);
		return;
	}
	while (!xb_backoff_done(&b))
		xl_cpu_relax();
}

struct xb_wait {
	struct xl_xenbus_device *dev;
	enum xenbus_state want;
	uint64_t deadline;
};

static bool xb_wait_done(void *p)
{
	struct xb_wait *w = p;

	return w->dev->state == w->want ||
	       (w->deadline && xl_clock_now() >= w->deadline);
}

int xl_xenbus_wait(struct xl_xenbus_device *dev, enum xenbus_state want,
		   uint64_t timeout_ns)
{
	struct xb_wait w = { dev, want, 0 };
	struct xl_timer t;
	bool armed = false, from_closed = dev->state == XenbusStateClosed;
	int rc;

	/* From Closed we wait for the backend to come back: only a probe or
	 * connect that fails meanwhile ends it early. */
	if (from_closed)
		dev->error = 0;
	if (timeout_ns) {
		w.deadline = xl_clock_now() + timeout_ns;
		xl_timer_setup(&t, xb_timer_fn, NULL);
		armed = xl_timer_arm(&t, w.deadline) == 0;
	}
	for (;;) {
		xl_xenbus_poll(dev);
		if (dev->state == want) {
			rc = 0;
			break;
		}
		if (dev->gone) {
			rc = -XEN_ENODEV;
			break;
		}
		if (dev->state == XenbusStateClosed &&
		    (!from_closed || dev->error)) {
			rc = dev->error ? dev->error : -XEN_ENODEV;
			break;
		}
		if (w.deadline && xl_clock_now() >= w.deadline) {
			/* Say why: the backend's state could not be read. */
			rc = dev->reread ? dev->read_error : -XEN_ETIMEDOUT;
			if (dev->reread)
				xl_err("xenbus: %s: gave up: reading %s/state failed %u times in a row: %d\n",
				       dev->nodename, dev->otherend,
				       dev->read_failures, rc);
			break;
		}
		if (dev->reread)
			xb_read_backoff(dev, w.deadline);
		else
			xl_xs_idle_until(xb_wait_done, &w);
	}
	if (armed)
		xl_timer_cancel(&t);
	return rc;
}

int xl_xenbus_connect(struct xl_xenbus_device *dev, uint64_t timeout_ns)
{
	return xl_xenbus_wait(dev, XenbusStateConnected, timeout_ns);
}

struct xb_close_wait {
	struct xl_xenbus_device *dev;
	uint64_t deadline;
	bool want_closed; /* Closed itself, not Closing */
	bool seen;	  /* a read of this wait succeeded */
};

static bool xb_backend_closed(struct xl_xenbus_device *dev)
{
	return dev->backend_state == XenbusStateClosing ||
	       dev->backend_state == XenbusStateClosed ||
	       dev->backend_state == XenbusStateUnknown;
}

static bool xb_close_reached(struct xb_close_wait *w)
{
	enum xenbus_state be = w->dev->backend_state;

	if (w->want_closed)
		return be == XenbusStateClosed || be == XenbusStateUnknown;
	return xb_backend_closed(w->dev);
}

static bool xb_close_done(void *p)
{
	struct xb_close_wait *w = p;

	/* As xb_close_wait() decides: not on a state it did not read. */
	return (w->seen && xb_close_reached(w)) ||
	       xl_clock_now() >= w->deadline;
}

/*
 * Poll and idle until the backend reached w's state or the deadline.
 * Without a timer armed for the deadline (no xl_clock_init()), nothing
 * would end an idle block at the deadline: poll without blocking then.
 */
static int xb_close_wait(struct xb_close_wait *w, bool armed)
{
	struct xl_xenbus_device *dev = w->dev;
	enum xenbus_state be;
	bool read_failed;

	w->seen = false;
	for (;;) {
		xl_xenbus_poll(dev);
		/*
		 * A failed read is not a closed backend (Unknown is: its node
		 * is gone): nothing is decided before a read of this wait
		 * succeeded (the state last seen may be the Unknown of a
		 * device just set up), and a failed one is tried again without
		 * waiting for an event, which may have come and gone.  Linux's
		 * xenbus_reset_wait_for_backend() likewise waits for the very
		 * state, not for a failed read.
		 */
		read_failed = xb_try_backend_state(dev, &be) != 0;
		if (read_failed && xb_removed(dev)) {
			read_failed = false;
			be = XenbusStateUnknown;
		}
		if (!read_failed) {
			dev->backend_state = be;
			dev->read_backoff_ns = 0;
			w->seen = true;
		}
		if (w->seen && xb_close_reached(w))
			return 0;
		if (xl_clock_now() >= w->deadline)
			return -XEN_ETIMEDOUT;
		if (read_failed)
			xb_read_backoff(dev, w->deadline);
		else if (armed)
			xl_xs_idle_until(xb_close_done, w);
		else
			xl_cpu_relax();
	}
}

/*
 * Linux's order (xenbus_frontend_closed(), blkfront_remove(); blkback's
 * frontend_changed()): blkback answers our Closing with Closing and keeps
 * the ring mapped, and only on our Closed runs xen_blkif_disconnect() (it
 * waits for its I/O in flight and unmaps everything), then goes Closed.
 * So we disconnect (end the ring's grants) only after the backend's
 * Closed: ending them earlier finds them mapped and defers every one.  A
 * backend that does not answer is given XL_XENBUS_CLOSE_WAIT_NS in all
 * (Linux's xenbus_dev_shutdown() waits 5 s) or the caller's timeout per
 * wait; the disconnect then defers what it still maps.
 */
static int xb_close_handshake(struct xl_xenbus_device *dev, uint64_t timeout_ns,
			      bool closing_first)
{
	struct xb_close_wait w = { dev, 0, false, false };
	struct xl_timer t;
	bool armed = false;
	int rc = 0;

	dev->closing_by_us = true;
	w.deadline = xl_clock_now() +
		     (timeout_ns ? timeout_ns : XL_XENBUS_CLOSE_WAIT_NS);
	xl_timer_setup(&t, xb_timer_fn, NULL);
	armed = xl_timer_arm(&t, w.deadline) == 0;
	if (dev->state != XenbusStateClosed) {
		if (closing_first) {
			xl_xenbus_switch_state(dev, XenbusStateClosing);
			rc = xb_close_wait(&w, armed);
		}
		xl_xenbus_switch_state(dev, XenbusStateClosed);
	}
	if (!rc) {
		if (timeout_ns) {
			if (armed)
				xl_timer_cancel(&t);
			w.deadline = xl_clock_now() + timeout_ns;
			armed = xl_timer_arm(&t, w.deadline) == 0;
		}
		w.want_closed = true;
		rc = xb_close_wait(&w, armed);
	}
	if (rc)
		xl_err("xenbus: %s: backend still %s after our %s: gave up\n",
		       dev->nodename, xl_xenbus_state_name(dev->backend_state),
		       w.want_closed ? "Closed" : "Closing");
	if (armed)
		xl_timer_cancel(&t);
	xb_disconnect(dev, true);
	dev->closing_by_us = false;
	return rc;
}

int xl_xenbus_close(struct xl_xenbus_device *dev, uint64_t timeout_ns)
{
	return xb_close_handshake(dev, timeout_ns, true);
}
