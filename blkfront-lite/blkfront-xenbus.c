// SPDX-License-Identifier: GPL-2.0
/*
 * blkfront-lite's xenbus glue: the frontend side of the blkif handshake of
 * public io/blkif.h over xenstore (xen-xenbus.c's state machine).
 *
 * probe (backend InitWait): read max-ring-page-order, set the ring up
 * (1 << min(order, XL_BLK_MAX_RING_ORDER) pages), and publish in one
 * transaction ring-ref (or ring-page-order and ring-ref0..N-1),
 * event-channel and protocol, as Linux's talk_to_blkback() does.
 * connect (backend Connected): read sectors, sector-size, info and the
 * features (blkfront_connect() / blkfront_gather_backend_features()).
 * disconnect: blkfront-lite's rules for a backend that goes away.
 */
#include "blkfront.h"

#include <xenlite/xenbus.h>
#include <xen/io/protocols.h>

struct blk_xenbus {
	struct xl_xenbus_device xb;
	char node[32];
};

static void blk_utoa(char *buf, const char *prefix, unsigned int v)
{
	char tmp[12];
	unsigned int n = 0;

	while (*prefix)
		*buf++ = *prefix++;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*buf++ = tmp[--n];
	*buf = 0;
}

static int blk_xb_publish(xl_xs_tx_t tx, void *arg)
{
	struct xl_blkfront *dev = arg;
	struct xl_xenbus_device *xb = &dev->xb->xb;
	unsigned int i, n = 1U << dev->ring_order;
	char key[24];
	int rc = 0;

	if (dev->ring_order) {
		rc = xl_xenbus_printf(xb, tx, "ring-page-order", "%u",
				      dev->ring_order);
		for (i = 0; !rc && i < n; i++) {
			blk_utoa(key, "ring-ref", i);
			rc = xl_xenbus_printf(xb, tx, key, "%u",
					      dev->ring_ref[i]);
		}
	} else {
		rc = xl_xenbus_printf(xb, tx, "ring-ref", "%u",
				      dev->ring_ref[0]);
	}
	if (!rc)
		rc = xl_xenbus_printf(xb, tx, "event-channel", "%u", dev->port);
	if (!rc)
		rc = xl_xenbus_printf(xb, tx, "protocol", "%s",
				      XEN_IO_PROTO_ABI_X86_64);
	return rc;
}

static int blk_xb_probe(struct xl_xenbus_device *xb)
{
	struct xl_blkfront *dev = xb->priv;
	unsigned long order = 0;
	int rc;

	/* Optional: absent means a single-page ring. */
	if (xl_xenbus_read_otherend_uint(xb, "max-ring-page-order", &order))
		order = 0;
	rc = xl_blkfront_ring_prepare(dev, xb->otherend_id,
				      order > XL_BLK_MAX_RING_ORDER ?
					      XL_BLK_MAX_RING_ORDER :
					      (unsigned int)order);
	if (rc)
		return rc;
	rc = xl_xs_transaction_run(blk_xb_publish, dev, 0, NULL);
	if (rc) {
		xl_err("blkfront %u: publishing the ring: %d", dev->devid, rc);
		xl_blkfront_disconnect(dev, true);
	}
	return rc;
}

static unsigned long blk_xb_uint(struct xl_xenbus_device *xb, const char *key,
				 unsigned long dflt)
{
	unsigned long v;

	return xl_xenbus_read_otherend_uint(xb, key, &v) ? dflt : v;
}

static int blk_xb_connect(struct xl_xenbus_device *xb)
{
	struct xl_blkfront *dev = xb->priv;
	struct xl_blkfront_features f;
	unsigned long sectors;
	int rc;

	__builtin_memset(&f, 0, sizeof(f));
	rc = xl_xenbus_read_otherend_uint(xb, "sectors", &sectors);
	if (rc) {
		xl_err("blkfront %u: backend has no sectors: %d", dev->devid,
		       rc);
		return rc;
	}
	f.sectors = sectors;
	f.sector_size = (unsigned int)blk_xb_uint(xb, "sector-size", 512);
	f.info = (unsigned int)blk_xb_uint(xb, "info", 0);
	f.flush = blk_xb_uint(xb, "feature-flush-cache", 0) != 0;
	f.barrier = blk_xb_uint(xb, "feature-barrier", 0) != 0;
	f.max_indirect = (unsigned int)blk_xb_uint(
		xb, "feature-max-indirect-segments", 0);
	return xl_blkfront_connect(dev, &f);
}

static void blk_xb_disconnect(struct xl_xenbus_device *xb, bool closing)
{
	xl_blkfront_disconnect(xb->priv, closing);
}

static int blk_xb_resume(struct xl_xenbus_device *xb)
{
	xl_blkfront_requeue_for_resume(xb->priv);
	return 0;
}

static const struct xl_xenbus_ops blk_xb_ops = {
	.probe = blk_xb_probe,
	.connect = blk_xb_connect,
	.disconnect = blk_xb_disconnect,
	.resume = blk_xb_resume,
};

static bool blk_xb_pending(struct xl_blkfront *dev)
{
	(void)dev;
	return xl_xs_watches_pending();
}

void xl_blkfront_poll(struct xl_blkfront *dev)
{
	if (dev->xb)
		xl_xenbus_poll(&dev->xb->xb);
}

static void blk_xb_fini(struct xl_blkfront *dev)
{
	if (!dev->xb)
		return;
	xl_xenbus_device_fini(&dev->xb->xb);
	xl_os_free(dev->xb);
	dev->xb = NULL;
	dev->xb_pending = NULL;
	dev->xb_poll = NULL;
}

int xl_blkfront_attach(struct xl_blkfront *dev, uint64_t timeout_ns)
{
	struct blk_xenbus *b;
	int rc;

	if (dev->xb)
		return -XEN_EEXIST;
	b = xl_os_zalloc(sizeof(*b));
	if (!b)
		return -XEN_ENOMEM;
	blk_utoa(b->node, "device/vbd/", dev->devid);
	dev->xb = b;
	rc = xl_xenbus_device_init(&b->xb, b->node, &blk_xb_ops, dev);
	if (rc) {
		xl_os_free(b);
		dev->xb = NULL;
		return rc;
	}
	dev->xb_pending = blk_xb_pending;
	dev->xb_poll = xl_blkfront_poll;
	dev->xb_fini = blk_xb_fini;
	rc = xl_xenbus_connect(&b->xb, timeout_ns);
	if (rc)
		xl_err("blkfront %u: connect: %d", dev->devid, rc);
	return rc;
}

int xl_blkfront_detach(struct xl_blkfront *dev, uint64_t timeout_ns)
{
	int rc;

	if (!dev->xb)
		return -XEN_ENODEV;
	rc = xl_xenbus_close(&dev->xb->xb, timeout_ns);
	blk_xb_fini(dev);
	return rc;
}

int xl_blkfront_resume(struct xl_blkfront *dev)
{
	if (!dev->xb)
		return -XEN_ENODEV; /* a direct connection: the test's */
	return xl_xenbus_resume(&dev->xb->xb);
}

unsigned int xl_blkfront_restarts(struct xl_blkfront *dev)
{
	return dev->xb ? dev->xb->xb.restarts : 0;
}

unsigned int xl_blkfront_resets(struct xl_blkfront *dev)
{
	return dev->xb ? dev->xb->xb.resets : 0;
}

unsigned int xl_blkfront_xenbus_state(struct xl_blkfront *dev)
{
	return dev->xb ? (unsigned int)dev->xb->xb.state : XenbusStateUnknown;
}
