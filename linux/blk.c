// SPDX-License-Identifier: GPL-2.0
/*
 * blkfront-lite as a Linux block device: /dev/xlblkN for each
 * device/vbd/<devid> the toolstack gives the guest.
 *
 * The split-driver core (xen-gnttab.c, xen-xenstore.c, xen-xenbus.c,
 * blkfront-lite/) runs unchanged.  It was written for a guest without
 * threads: whoever waits runs the xenstore watches and the xenbus state
 * machine.  Here one kernel thread, "xlblkd", bound to CPU 0, is that
 * whoever: it brings the grant table and the xenstore client up, attaches
 * every vbd, runs the watches (a backend closing, a new vbd), and takes
 * every disk down at the end.  Its waits sleep (linux/os.c, xl_os_wait);
 * being bound, it never changes vCPU inside a core wait, as os.h asks.
 *
 * The I/O path needs no thread: blk-mq's queue_rq hands each request to
 * xl_blkfront_submit() as an xl_blk_req in the request's PDU (one blkif
 * segment per page-sized bio segment: the queue limits below make every
 * segment lie inside one page), and the core's completion, which runs in
 * the upcall, calls blk_mq_complete_request().  Linux's xen-blkfront
 * (drivers/block/xen-blkfront.c) is the model for the limits; unlike it,
 * the backend is not trusted by default, so the core bounces data
 * through its own pages (XSA-403 class, docs/blkfront.md).
 *
 * A backend that goes Closing fails what is in flight with -EIO inside
 * the core (xl_blkfront_disconnect); the thread then marks the disk dead
 * and deletes it, as xen-blkfront's blkback_changed -> blkfront_closing does.
 */
#include <linux/blk-mq.h>
#include <linux/blkdev.h>
#include <linux/atomic.h>
#include <linux/kthread.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/version.h>

#include <xenlite/blkfront.h>
#include <xenlite/gnttab.h>
#include <xenlite/idle.h>
#include <xenlite/xenstore.h>
#include <xen/io/xenbus.h>

#include "xl-linux.h"

#define XLK_BLK_MINORS 16
#define XLK_BLK_DEPTH 64
#define XLK_ATTACH_NS (10ULL * 1000 * 1000 * 1000)
#define XLK_DETACH_NS (5ULL * 1000 * 1000 * 1000)
#define XLK_MAX_DISKS 16

struct xlk_cmd {
	struct xl_blk_req req;
	blk_status_t status;
};

struct xlk_disk {
	struct list_head link;
	unsigned int devid, index;
	struct xl_blkfront *dev;
	struct xl_blkfront_features feat;
	struct blk_mq_tag_set tags;
	struct gendisk *disk;
	bool added;
	bool stopped; /* queue stopped over a backend restart */
	bool closing; /* being freed: no more requeueing */
	bool bad;     /* features we cannot serve: never a disk */
	bool gone;    /* its device/vbd/<devid> node was removed */
};

static struct {
	int major;
	struct task_struct *thread;
	struct list_head disks; /* the thread's only */
	unsigned long used;	/* disk indexes in use */
	struct xl_xs_watch watch;
	bool watching, rescan;
	int init_rc;
	struct completion started;
	/* For debugfs (xlk_blk_counts), read without the thread. */
	atomic_t nr_disks;
	atomic64_t added, removed, gone, io_errors;
} xlb;

/* --- the I/O path ------------------------------------------------------- */

static void xlk_blk_done(struct xl_blk_req *req)
{
	struct request *rq = req->priv;
	struct xlk_cmd *c = blk_mq_rq_to_pdu(rq);

	c->status = req->status ? BLK_STS_IOERR : BLK_STS_OK;
	if (req->status == -XEN_EOPNOTSUPP)
		c->status = BLK_STS_NOTSUPP;
	if (req->status)
		atomic64_inc(&xlb.io_errors);
	blk_mq_complete_request(rq);
}

static void xlk_blk_complete(struct request *rq)
{
	struct xlk_cmd *c = blk_mq_rq_to_pdu(rq);

	blk_mq_end_request(rq, c->status);
}

static blk_status_t xlk_blk_map(struct request *rq, struct xl_blk_req *req)
{
	struct req_iterator it;
	struct bio_vec bv;
	unsigned int n = 0;

	rq_for_each_segment(bv, rq, it)
	{
		unsigned int first = bv.bv_offset >> SECTOR_SHIFT;
		unsigned int last = (bv.bv_offset + bv.bv_len - 1) >>
				    SECTOR_SHIFT;

		/* The limits promise this; a bug otherwise, not an I/O error. */
		if (WARN_ON_ONCE(n == XL_BLK_MAX_SEGS ||
				 bv.bv_offset + bv.bv_len > PAGE_SIZE ||
				 (bv.bv_offset | bv.bv_len) &
					 (SECTOR_SIZE - 1)))
			return BLK_STS_IOERR;
		req->seg[n].page = page_address(bv.bv_page);
		req->seg[n].first_sect = first;
		req->seg[n].last_sect = last;
		n++;
	}
	req->nr_segs = n;
	return BLK_STS_OK;
}

static blk_status_t xlk_blk_queue_rq(struct blk_mq_hw_ctx *hctx,
				     const struct blk_mq_queue_data *bd)
{
	struct xlk_disk *d = hctx->queue->queuedata;
	struct request *rq = bd->rq;
	struct xlk_cmd *c = blk_mq_rq_to_pdu(rq);
	struct xl_blk_req *req = &c->req;
	blk_status_t st = BLK_STS_OK;
	int rc;

	memset(req, 0, sizeof(*req));
	switch (req_op(rq)) {
	case REQ_OP_READ:
		req->op = XL_BLK_READ;
		break;
	case REQ_OP_WRITE:
		req->op = XL_BLK_WRITE;
		break;
	case REQ_OP_FLUSH:
		req->op = XL_BLK_FLUSH;
		break;
	default:
		return BLK_STS_NOTSUPP;
	}
	req->sector = blk_rq_pos(rq);
	if (req->op != XL_BLK_FLUSH)
		st = xlk_blk_map(rq, req);
	if (st != BLK_STS_OK)
		return st;
	req->done = xlk_blk_done;
	req->priv = rq;
	blk_mq_start_request(rq);
	rc = xl_blkfront_submit(d->dev, req);
	if (rc == -XEN_ENODEV && !d->closing) {
		/*
		 * Not connected: a backend restart is being followed (the
		 * thread stops the queue until it is over, and starts it
		 * again).  Not queued, so blk-mq keeps the request and runs
		 * the queue again (after BLK_MQ_RESOURCE_DELAY).
		 */
		return BLK_STS_RESOURCE;
	}
	if (rc) {
		/* Not queued: the core never calls done for it. */
		pr_warn_ratelimited("xlblk%u: submit: %d\n", d->index, rc);
		return BLK_STS_IOERR;
	}
	return BLK_STS_OK;
}

static const struct blk_mq_ops xlk_blk_mq_ops = {
	.queue_rq = xlk_blk_queue_rq,
	.complete = xlk_blk_complete,
};

static const struct block_device_operations xlk_blk_fops = {
	.owner = THIS_MODULE,
};

/* --- a disk's life (the thread's) --------------------------------------- */

/*
 * A volatile cache to flush: the core sends a flush as
 * BLKIF_OP_FLUSH_DISKCACHE, or as an empty BLKIF_OP_WRITE_BARRIER when
 * the backend offers only barriers (xen-blkfront does the same).
 */
static bool xlk_disk_cache(const struct xlk_disk *d)
{
	return d->feat.flush || d->feat.barrier;
}

static int xlk_disk_add(struct xlk_disk *d)
{
	struct gendisk *g;
	int rc;

	d->tags.ops = &xlk_blk_mq_ops;
	d->tags.nr_hw_queues = 1;
	d->tags.queue_depth = XLK_BLK_DEPTH;
	d->tags.numa_node = NUMA_NO_NODE;
	d->tags.cmd_size = sizeof(struct xlk_cmd);
	d->tags.flags = BLK_MQ_F_SHOULD_MERGE;
	rc = blk_mq_alloc_tag_set(&d->tags);
	if (rc)
		return rc;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
	{
		struct queue_limits lim = {
			.logical_block_size = d->feat.sector_size,
			.max_hw_sectors = XL_BLK_MAX_SEGS * (PAGE_SIZE >> 9),
			.max_segments = XL_BLK_MAX_SEGS,
			.max_segment_size = PAGE_SIZE,
			.seg_boundary_mask = PAGE_SIZE - 1,
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
			.features = xlk_disk_cache(d) ? BLK_FEAT_WRITE_CACHE :
							0,
#endif
		};
		g = blk_mq_alloc_disk(&d->tags, &lim, d);
	}
#else
	g = blk_mq_alloc_disk(&d->tags, d);
#endif
	if (IS_ERR(g)) {
		blk_mq_free_tag_set(&d->tags);
		return PTR_ERR(g);
	}
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 9, 0)
	blk_queue_logical_block_size(g->queue, d->feat.sector_size);
	blk_queue_max_hw_sectors(g->queue, XL_BLK_MAX_SEGS * (PAGE_SIZE >> 9));
	blk_queue_max_segments(g->queue, XL_BLK_MAX_SEGS);
	blk_queue_max_segment_size(g->queue, PAGE_SIZE);
	blk_queue_segment_boundary(g->queue, PAGE_SIZE - 1);
#endif
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 11, 0)
	/* No FUA op in blkif: the block layer follows a FUA write with a
	 * flush (xen-blkfront emulates it the same way without barriers). */
	blk_queue_write_cache(g->queue, xlk_disk_cache(d), false);
#endif
	g->major = xlb.major;
	g->first_minor = d->index * XLK_BLK_MINORS;
	g->minors = XLK_BLK_MINORS;
	g->fops = &xlk_blk_fops;
	g->private_data = d;
	snprintf(g->disk_name, DISK_NAME_LEN, "xlblk%u", d->index);
	set_capacity(g, d->feat.sectors);
	if (d->feat.info & VDISK_READONLY)
		set_disk_ro(g, true);
	rc = add_disk(g);
	if (rc) {
		put_disk(g);
		blk_mq_free_tag_set(&d->tags);
		return rc;
	}
	d->disk = g;
	d->added = true;
	atomic_inc(&xlb.nr_disks);
	atomic64_inc(&xlb.added);
	pr_info("xlblk%u: device/vbd/%u, %llu sectors of %u bytes%s%s, ring order %u\n",
		d->index, d->devid, (unsigned long long)d->feat.sectors,
		d->feat.sector_size, d->feat.flush ? ", flush" : "",
		(d->feat.info & VDISK_READONLY) ? ", read-only" : "",
		d->feat.ring_order);
	return 0;
}

/*
 * In this order: nothing new gets in (the disk is dead: blk-mq fails new
 * I/O); the frontend closes, and the core completes everything it holds,
 * in flight or queued, failing what the backend did not answer with -EIO
 * (xl_blkfront_detach, bounded by its timeout even for a silent
 * backend); only then del_gendisk, which waits for every started request
 * to complete and so could not return before the detach.  Linux's
 * xen-blkfront: blkfront_closing / xlvbd_release_gendisk.
 */
static void xlk_disk_free(struct xlk_disk *d)
{
	d->closing = true;
	if (d->added)
		blk_mark_disk_dead(d->disk);
	if (d->added && d->stopped)
		blk_mq_start_stopped_hw_queues(d->disk->queue, true);
	/* A vbd that is gone has no state node to write our close to. */
	if (d->dev && !d->gone &&
	    xl_blkfront_xenbus_state(d->dev) != XenbusStateClosed)
		xl_blkfront_detach(d->dev, XLK_DETACH_NS);
	if (d->dev)
		xl_blkfront_disconnect(d->dev, true);
	if (d->added) {
		del_gendisk(d->disk);
		put_disk(d->disk);
		blk_mq_free_tag_set(&d->tags);
		d->added = false;
		atomic_dec(&xlb.nr_disks);
		atomic64_inc(&xlb.removed);
		pr_info("xlblk%u: device/vbd/%u removed\n", d->index, d->devid);
	}
	if (d->dev)
		xl_blkfront_free(d->dev);
	clear_bit(d->index, &xlb.used);
	list_del(&d->link);
	kfree(d);
}

static void xlk_disk_try_add(struct xlk_disk *d)
{
	int rc;

	xl_blkfront_get_features(d->dev, &d->feat);
	if (!d->feat.sector_size || d->feat.sector_size % SECTOR_SIZE ||
	    d->feat.sector_size > PAGE_SIZE) {
		pr_err("device/vbd/%u: sector size %u not supported\n",
		       d->devid, d->feat.sector_size);
		d->bad = true;
		return;
	}
	rc = xlk_disk_add(d);
	if (rc) {
		pr_err("device/vbd/%u: add_disk: %d\n", d->devid, rc);
		d->bad = true;
	}
}

static struct xlk_disk *xlk_disk_find(unsigned int devid)
{
	struct xlk_disk *d;

	list_for_each_entry(d, &xlb.disks,
			    link) if (d->devid == devid) return d;
	return NULL;
}

static void xlk_disk_probe(unsigned int devid)
{
	struct xlk_disk *d;
	int rc, index;

	index = find_first_zero_bit(&xlb.used, XLK_MAX_DISKS);
	if (index >= XLK_MAX_DISKS) {
		pr_err("device/vbd/%u: more than %u disks\n", devid,
		       XLK_MAX_DISKS);
		return;
	}
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return;
	d->devid = devid;
	d->index = index;
	set_bit(index, &xlb.used);
	list_add_tail(&d->link, &xlb.disks);
	d->dev = xl_blkfront_alloc(devid);
	if (!d->dev) {
		xlk_disk_free(d);
		return;
	}
	rc = xl_blkfront_attach(d->dev, XLK_ATTACH_NS);
	if (rc) {
		/* Kept: a backend that connects later gets its disk then
		 * (xlk_blk_reconcile); one that closes is freed there. */
		pr_err("device/vbd/%u: attach: %d\n", devid, rc);
		return;
	}
	xlk_disk_try_add(d);
}

/* Whether the n names in buf (device/vbd's children) include devid. */
static bool xlk_vbd_listed(const char *buf, int n, unsigned int devid)
{
	unsigned long v;
	int i;

	for (i = 0; i < n; i++, buf += strlen(buf) + 1)
		if (!kstrtoul(buf, 10, &v) && v == devid)
			return true;
	return false;
}

/*
 * The children of device/vbd against our disks.  New ones (xl
 * block-attach) are probed.  A disk whose node is gone goes: `xl
 * block-detach -f`, or xl's own detach once the backend did not close in
 * 10 s, removes the frontend's directory (and device/vbd with its last
 * child) in the transaction that sets the backend Closing, without
 * waiting for us (libxl_device.c, libxl__initiate_device_generic_remove,
 * LIBXL__FORCE_ON).  Our Closing then cannot be written (the guest may
 * not create nodes under device/, which is read-only to it), so our state
 * stays where it was: without this the disk stayed, its queue stopped,
 * every later request waiting for ever, and a vbd attached again under
 * the same devid never got a disk.  Linux's xenbus does the same on the
 * frontend node's removal (xenbus_dev_changed -> device_unregister ->
 * blkfront_remove).  A read that fails otherwise changes nothing.
 */
static void xlk_blk_scan(void)
{
	char *buf = kmalloc(PAGE_SIZE, GFP_KERNEL);
	struct xlk_disk *d, *t;
	unsigned long devid;
	char *name;
	int n, i;

	if (!buf)
		return;
	n = xl_xs_directory(XL_XS_NO_TX, "device/vbd", buf, PAGE_SIZE);
	if (n == -XEN_ENOENT)
		n = 0;
	if (n < 0) {
		kfree(buf);
		return;
	}
	list_for_each_entry_safe(d, t, &xlb.disks, link)
	{
		if (xlk_vbd_listed(buf, n, d->devid))
			continue;
		pr_info("xlblk%u: device/vbd/%u is gone from xenstore\n",
			d->index, d->devid);
		d->gone = true;
		atomic64_inc(&xlb.gone);
		xlk_disk_free(d);
	}
	for (i = 0, name = buf; i < n; i++, name += strlen(name) + 1) {
		if (kstrtoul(name, 10, &devid) || devid > UINT_MAX)
			continue;
		if (!xlk_disk_find(devid))
			xlk_disk_probe(devid);
	}
	kfree(buf);
}

/*
 * A vbd appeared or went: device/vbd itself or a child of it changed.
 * Changes deeper down (our own state and ring nodes, the backend link)
 * are the xenbus state machine's, not a reason to scan.
 */
static void xlk_blk_watch_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	const char *rest = strstr(path, "device/vbd");

	if (!rest)
		return;
	rest += strlen("device/vbd");
	if (!*rest || (*rest == '/' && !strchr(rest + 1, '/')))
		xlb.rescan = true;
}

static bool xlk_disk_closing(struct xlk_disk *d)
{
	unsigned int st = xl_blkfront_xenbus_state(d->dev);

	return st == XenbusStateClosing || st == XenbusStateClosed;
}

/*
 * After the watches ran, for each vbd: closed (the backend closed, xl
 * block-detach) -> the disk goes, with everything it held completed;
 * a backend restart being followed (not connected, not closed) -> the
 * queue stops until it is over, nothing fails (the core keeps its queued
 * requests for the next connection); connected -> the queue runs, and a
 * vbd connected without a disk (attached late) gets one.
 */
static void xlk_blk_reconcile(void)
{
	struct xlk_disk *d, *t;

	list_for_each_entry_safe(d, t, &xlb.disks, link)
	{
		xl_blkfront_poll(d->dev);
		if (xlk_disk_closing(d)) {
			xlk_disk_free(d);
			continue;
		}
		if (!xl_blkfront_connected(d->dev)) {
			if (d->added && !d->stopped) {
				blk_mq_stop_hw_queues(d->disk->queue);
				d->stopped = true;
			}
			continue;
		}
		if (d->added && d->stopped) {
			d->stopped = false;
			blk_mq_start_stopped_hw_queues(d->disk->queue, true);
		}
		if (!d->added && !d->bad)
			xlk_disk_try_add(d);
	}
}

static bool xlk_blk_wake(void *arg)
{
	return kthread_should_stop() || xl_xs_watches_pending();
}

static int xlk_blk_start(void)
{
	int rc;

	rc = xl_gnttab_init();
	if (rc) {
		pr_err("grant table: %d\n", rc);
		return -EIO;
	}
	rc = xl_xs_init();
	if (rc) {
		pr_err("xenstore: %d\n", rc);
		xl_gnttab_fini();
		return rc == -XEN_ENODEV ? -ENODEV : -EIO;
	}
	rc = xl_xs_watch(&xlb.watch, "device/vbd", xlk_blk_watch_fn, NULL);
	xlb.watching = rc == 0;
	if (rc)
		pr_warn("xenstore watch on device/vbd: %d (no hotplug)\n", rc);
	return 0;
}

static void xlk_blk_stop(void)
{
	struct xlk_disk *d, *t;

	list_for_each_entry_safe(d, t, &xlb.disks, link) xlk_disk_free(d);
	if (xlb.watching)
		xl_xs_unwatch(&xlb.watch);
	xlb.watching = false;
	xl_xs_fini();
	xl_gnttab_retry_deferred();
	xl_gnttab_fini();
}

static int xlk_blk_thread(void *unused)
{
	xlb.init_rc = xlk_blk_start();
	complete(&xlb.started);
	if (xlb.init_rc) {
		while (!kthread_should_stop()) {
			set_current_state(TASK_INTERRUPTIBLE);
			if (!kthread_should_stop())
				schedule();
			__set_current_state(TASK_RUNNING);
		}
		return 0;
	}
	xlk_blk_scan();
	while (!kthread_should_stop()) {
		/* Woken for watches; every second anyway for the grant
		 * table's deferred refs. */
		xlk_wait_idle(xlk_blk_wake, NULL, HZ);
		xl_xs_run_watches();
		xlk_blk_reconcile();
		if (xlb.rescan) {
			xlb.rescan = false;
			xlk_blk_scan();
		}
		xl_gnttab_retry_deferred();
	}
	xlk_blk_stop();
	return 0;
}

void xlk_blk_counts(struct xlk_blk_counts *c)
{
	c->disks = atomic_read(&xlb.nr_disks);
	c->added = atomic64_read(&xlb.added);
	c->removed = atomic64_read(&xlb.removed);
	c->gone = atomic64_read(&xlb.gone);
	c->io_errors = atomic64_read(&xlb.io_errors);
}

int xlk_blk_init(void)
{
	int rc;

	INIT_LIST_HEAD(&xlb.disks);
	init_completion(&xlb.started);
	rc = register_blkdev(0, "xlblk");
	if (rc < 0)
		return rc;
	xlb.major = rc;
	xlb.thread = kthread_create(xlk_blk_thread, NULL, "xlblkd");
	if (IS_ERR(xlb.thread)) {
		rc = PTR_ERR(xlb.thread);
		xlb.thread = NULL;
		unregister_blkdev(xlb.major, "xlblk");
		return rc;
	}
	kthread_bind(xlb.thread, 0);
	wake_up_process(xlb.thread);
	wait_for_completion(&xlb.started);
	if (xlb.init_rc)
		pr_warn("block devices off: %d\n", xlb.init_rc);
	return 0;
}

void xlk_blk_fini(void)
{
	if (xlb.thread) {
		kthread_stop(xlb.thread);
		xlb.thread = NULL;
	}
	if (xlb.major > 0)
		unregister_blkdev(xlb.major, "xlblk");
	xlb.major = 0;
	xlk_store_unmap();
	xlk_grant_frames_unmap();
}
