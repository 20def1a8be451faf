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
 *                           Initialised; we are Initialised/Connected:
 *                           the backend restarted: disconnect(false),
 *                           then probe again
 *   Initialising, Unknown   (restart in progress, node not there yet)
 *                           we were probed: disconnect(false), back to
 *                           Initialising
 *   Connected               we are Initialised: connect -> Connected; we
 *                           never probed (missed InitWait): probe first
 *   Closing                 disconnect(true) if probed (or if a restart
 *                           left the driver holding queued I/O),
 *                           Closing -> Closed
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

static enum xenbus_state xb_read_backend_state(struct xl_xenbus_device *dev)
{
	unsigned long v;

	if (xl_xenbus_read_otherend_uint(dev, "state", &v) ||
	    v > XenbusStateReconfigured)
		return XenbusStateUnknown;
	return (enum xenbus_state)v;
}

static void xb_backend_changed(struct xl_xenbus_device *dev)
{
	enum xenbus_state be = xb_read_backend_state(dev);

	dev->backend_state = be;
	if (dev->closing_by_us)
		goto out;
	switch (be) {
	case XenbusStateInitWait:
	case XenbusStateInitialised:
		if (xb_we_are_up(dev))
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
		if (dev->state == XenbusStateInitialising ||
		    dev->state == XenbusStateClosed)
			xb_probe(dev);
		if (dev->state == XenbusStateInitialised)
			xb_connect(dev);
		break;
	case XenbusStateClosing:
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
 * A backend still Connected when we start was left so by an earlier
 * frontend that never closed (a crash, a kexec, a driver freed while
 * attached).  Linux's blkback ignores a new frontend's Initialised and
 * Connected while it is Connected (frontend_changed(): "if (dev->state ==
 * XenbusStateConnected) break;"), so our ring would never be mapped.  Take
 * it through Closing and Closed first, as Linux's xenbus_reset_state() /
 * xenbus_reset_frontend() do at boot (drivers/xen/xenbus/
 * xenbus_probe_frontend.c); our Initialising afterwards brings it back to
 * InitWait.  A timeout is logged and the attach goes on: its own wait
 * then ends it.
 */
static void xb_reset_backend(struct xl_xenbus_device *dev)
{
	if (xb_read_backend_state(dev) != XenbusStateConnected)
		return;
	xl_warn("xenbus: %s: backend %s left Connected by an earlier frontend: resetting it\n",
		dev->nodename, dev->otherend);
	dev->resets++;
	xl_xenbus_close(dev, 0);
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
	xb_reset_backend(dev);
	rc = xl_xenbus_switch_state(dev, XenbusStateInitialising);
	if (rc)
		return rc;
	xb_join(path, sizeof(path), dev->otherend, "state");
	return xl_xs_watch(&dev->watch, path, xb_watch_fn, dev);
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

unsigned int xl_xenbus_poll(struct xl_xenbus_device *dev)
{
	(void)dev;
	return xl_xs_run_watches();
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

static void xb_timer_fn(struct xl_timer *t)
{
	(void)t; /* the upcall that ran this ends the block */
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
		if (dev->state == XenbusStateClosed &&
		    (!from_closed || dev->error)) {
			rc = dev->error ? dev->error : -XEN_ENODEV;
			break;
		}
		if (w.deadline && xl_clock_now() >= w.deadline) {
			rc = -XEN_ETIMEDOUT;
			break;
		}
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

	return xb_close_reached(w) || xl_clock_now() >= w->deadline;
}

/*
 * Poll and idle until the backend reached w's state or the deadline.
 * Without a timer armed for the deadline (no xl_clock_init()), nothing
 * would end an idle block at the deadline: poll without blocking then.
 */
static int xb_close_wait(struct xb_close_wait *w, bool armed)
{
	struct xl_xenbus_device *dev = w->dev;

	for (;;) {
		xl_xenbus_poll(dev);
		dev->backend_state = xb_read_backend_state(dev);
		if (xb_close_reached(w))
			return 0;
		if (xl_clock_now() >= w->deadline)
			return -XEN_ETIMEDOUT;
		if (armed)
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
int xl_xenbus_close(struct xl_xenbus_device *dev, uint64_t timeout_ns)
{
	struct xb_close_wait w = { dev, 0, false };
	struct xl_timer t;
	bool armed = false;
	int rc = 0;

	dev->closing_by_us = true;
	w.deadline = xl_clock_now() +
		     (timeout_ns ? timeout_ns : XL_XENBUS_CLOSE_WAIT_NS);
	xl_timer_setup(&t, xb_timer_fn, NULL);
	armed = xl_timer_arm(&t, w.deadline) == 0;
	if (dev->state != XenbusStateClosed) {
		xl_xenbus_switch_state(dev, XenbusStateClosing);
		rc = xb_close_wait(&w, armed);
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
		xl_warn("xenbus: %s: backend still %s after our %s: gave up\n",
			dev->nodename, xl_xenbus_state_name(dev->backend_state),
			w.want_closed ? "Closed" : "Closing");
	if (armed)
		xl_timer_cancel(&t);
	xb_disconnect(dev, true);
	dev->closing_by_us = false;
	return rc;
}
