/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenlite xenbus: the frontend half of the device handshake of
 * <xen/io/xenbus.h> over xenstore, for a device at device/<class>/<id>
 * (relative to the guest's /local/domain/<domid>).
 *
 * The frontend's own state (<node>/state) moves
 *   Initialising -> Initialised    (backend in InitWait: ops->probe() ok)
 *   Initialised  -> Connected      (backend Connected: ops->connect() ok)
 *   any          -> Closing -> Closed (backend Closing/Closed, or
 *                                   xl_xenbus_close())
 * reacting to <backend>/state through a watch.  A backend that restarts
 * (back to InitWait or Initialised while we are Connected; Initialising,
 * or its node gone, while we are Initialised or Connected) or closes
 * mid-operation makes the frontend call ops->disconnect() first, then go
 * through the handshake again when the backend comes back (InitWait from
 * Closed re-runs probe).  An InitWait while we are Initialised is a
 * backend yet to handle our Initialised (Linux's blkback handles it late,
 * on its xenwatch thread), not a restart: we wait.
 *
 * Driver callbacks run in thread context, never in upcall context, from
 * xl_xenbus_poll() / xl_xenbus_wait() (which run the xenstore watch
 * callbacks, xl_xs_run_watches()) and from xl_xenbus_connect() /
 * xl_xenbus_close(); they may use xenstore.  They never run concurrently
 * for one device, and only on the vCPU that calls poll/wait.
 *
 * Device lifecycle for a driver (blkfront-lite is the first):
 *
 *	static const struct xl_xenbus_ops my_ops = {
 *		.probe = my_probe,	   // grant the ring, bind an event
 *					   // channel, write ring-ref and
 *					   // event-channel into dev->nodename
 *		.connect = my_connect,	   // read the backend's features
 *		.disconnect = my_disconnect, // fail in-flight I/O (EIO),
 *					   // unbind, end grants
 *	};
 *	xl_xenbus_device_init(&dev, "device/vbd/51712", &my_ops, priv);
 *	rc = xl_xenbus_connect(&dev, timeout_ns);	// -> Connected
 *	... I/O; call xl_xenbus_poll(&dev) from the idle loop, or add
 *	    xl_xs_watches_pending() to the idle condition ...
 *	xl_xenbus_close(&dev, timeout_ns);		// -> Closed
 *	xl_xenbus_device_fini(&dev);
 *
 * Errors are negative Xen errnos as in <xenlite/xenstore.h>; -XEN_ETIMEDOUT
 * when a wait's timeout passed (timeouts need xl_clock_init(); 0 = none).
 */
#ifndef XENLITE_XENBUS_H
#define XENLITE_XENBUS_H

#include <xenlite/xenstore.h>
#include <xen/io/xenbus.h>

struct xl_xenbus_device;

struct xl_xenbus_ops {
	/*
	 * The backend is waiting for us (InitWait), our state is Initialising
	 * or Closed: set up and publish ring details under dev->nodename.
	 * 0 -> the frontend switches to Initialised; an error -> Closing ->
	 * Closed, and dev->error holds it.
	 */
	int (*probe)(struct xl_xenbus_device *dev);
	/*
	 * The backend is Connected and we are Initialised: read its features
	 * under dev->otherend.  0 -> Connected; an error -> Closing -> Closed.
	 */
	int (*connect)(struct xl_xenbus_device *dev);
	/*
	 * We were Initialised or Connected and the backend went away (Closing,
	 * Closed, its state node gone) or restarted: undo probe/connect.
	 * closing is true when the backend is Closing/Closed (or we close),
	 * false for a restart.  Called at most once per probe, and once more
	 * with closing true after a restart's disconnect(false) when the
	 * device does not come back (the backend closes, the next probe
	 * fails, our close, device_fini): what the driver kept over the
	 * restart can then be failed.  On our close (xl_xenbus_close) it runs
	 * after the handshake, once the backend is Closed (it unmapped what
	 * we granted) or the wait gave up.
	 */
	void (*disconnect)(struct xl_xenbus_device *dev, bool closing);
	/*
	 * Optional: after a restore into a new domain (xl_xenbus_resume):
	 * drop the connection to the old backend without a handshake (its
	 * port and grants went with the old domain) and keep the I/O to
	 * re-issue; the handshake with the new backend follows (probe,
	 * connect).  0, or an error (the device stays down).
	 */
	int (*resume)(struct xl_xenbus_device *dev);
	/* Optional: every backend state change seen, after the above. */
	void (*backend_changed)(struct xl_xenbus_device *dev,
				enum xenbus_state state);
};

#define XL_XENBUS_PATH_MAX 256
/*
 * Reads of a state node that fail with a transient error (not ENOENT or
 * EINVAL) are made this many times in a row before the state is taken as
 * unknown; poll/wait then read again, waiting 1 ms, doubled up to 10 ms,
 * between such rounds.
 */
#define XL_XENBUS_READ_TRIES 3

struct xl_xenbus_device {
	char nodename[XL_XENBUS_PATH_MAX]; /* e.g. device/vbd/51712 */
	char otherend[XL_XENBUS_PATH_MAX]; /* <nodename>/backend's value */
	domid_t otherend_id;		   /* <nodename>/backend-id */
	enum xenbus_state state;	   /* ours, as last written */
	enum xenbus_state backend_state;   /* last read */
	const struct xl_xenbus_ops *ops;
	void *priv;
	int error;	    /* the last probe/connect error, or 0 */
	bool probed;	    /* probe succeeded, no disconnect since */
	bool held;	    /* disconnect(false) not yet followed up */
	bool closing_by_us; /* xl_xenbus_close() in progress */
	bool stale;	    /* backend Connected before our probe: reset */
	bool reread;	    /* an event's read failed: read again */
	bool init_unread;   /* the read at init failed each time */
	bool gone;	    /* the toolstack removes the device */
	int read_error;	    /* the last failed read's error */
	unsigned int read_failures; /* failed re-reads in a row */
	uint64_t read_backoff_ns;   /* the wait before the next re-read */
	uint32_t changed;	    /* atomic: backend state watch fired */
	unsigned int connects;	    /* times connect succeeded */
	unsigned int restarts;	    /* disconnects for a backend restart */
	unsigned int resets;	    /* backends left Connected or Closing by an
				* earlier frontend, reset */
	unsigned int resumes;	    /* xl_xenbus_resume() calls */
	struct xl_xs_watch watch;
};

/*
 * Read <nodename>/backend and backend-id, watch <backend>/state (its first
 * firing runs the state machine), reset a backend an earlier frontend left
 * Connected or Closing, or any backend when our node says Initialised or
 * Connected or cannot be read (our Closing and Closed, waiting for its; at
 * most XL_XENBUS_CLOSE_WAIT_NS), write state Initialising.  0, or the
 * xenstore error (-XEN_ENOENT when the toolstack made no such device), or
 * -XEN_ENODEV when the toolstack is removing the device (a Closing backend
 * whose "online" is 0, or one removed during the reset: nothing written
 * after that).
 */
int xl_xenbus_device_init(struct xl_xenbus_device *dev, const char *nodename,
			  const struct xl_xenbus_ops *ops, void *priv);
/* Unwatch; disconnects first if still probed (no state written). */
void xl_xenbus_device_fini(struct xl_xenbus_device *dev);
/*
 * After xl_xs_resume() returned 1 (restored into a new domain): the
 * watch on the old backend dropped, ops->resume(), the links read again,
 * state Initialising, the new backend's state watched; poll/wait then
 * drive the handshake as at init.  Thread context.  0 or -XEN_Exxx.
 */
int xl_xenbus_resume(struct xl_xenbus_device *dev);

/*
 * Run pending watch callbacks and, if the backend state changed, the state
 * machine.  Returns the number of callbacks run.
 */
unsigned int xl_xenbus_poll(struct xl_xenbus_device *dev);
/*
 * Poll and idle until the frontend state is want (0), it went to Closed
 * while waiting for something else (-XEN_ENODEV, or dev->error if a probe
 * or connect failed), the toolstack removed the device (-XEN_ENODEV), or
 * timeout_ns passed (-XEN_ETIMEDOUT; or, when the backend's state could
 * not be read since the last try, that read's error, e.g. -XEN_EACCES).  A wait that
 * starts Closed waits for the backend to come back (InitWait) and fails
 * early only on a probe/connect error.
 */
int xl_xenbus_wait(struct xl_xenbus_device *dev, enum xenbus_state want,
		   uint64_t timeout_ns);
/* xl_xenbus_wait(dev, XenbusStateConnected, timeout_ns). */
int xl_xenbus_connect(struct xl_xenbus_device *dev, uint64_t timeout_ns);
/*
 * Our close, in Linux's order: Closing, wait for the backend's Closing
 * (or Closed), Closed, wait for the backend's Closed (Linux's blkback
 * unmaps only then), then disconnect.  Each wait is bounded by timeout_ns
 * (0: XL_XENBUS_CLOSE_WAIT_NS in all, as Linux's xenbus gives up after
 * 5 s).  0, or -XEN_ETIMEDOUT (we still end Closed and disconnected).
 */
#define XL_XENBUS_CLOSE_WAIT_NS 5000000000ULL
int xl_xenbus_close(struct xl_xenbus_device *dev, uint64_t timeout_ns);

/* Write our state (<nodename>/state); what the state machine uses. */
int xl_xenbus_switch_state(struct xl_xenbus_device *dev,
			   enum xenbus_state state);
/* <otherend>/<key> and <nodename>/<key> helpers (tx: XL_XS_NO_TX or one). */
int xl_xenbus_read_otherend_uint(struct xl_xenbus_device *dev, const char *key,
				 unsigned long *val);
int xl_xenbus_printf(struct xl_xenbus_device *dev, xl_xs_tx_t tx,
		     const char *key, const char *fmt, ...) XL_PRINTF(4, 5);
const char *xl_xenbus_state_name(enum xenbus_state state);

#endif /* XENLITE_XENBUS_H */
