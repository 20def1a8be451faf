// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: blkfront-lite's response handler against arbitrary
 * ring contents.  The ring is plain memory (xl_blkfront_attach_mem: no
 * grants, no event channel, no hypervisor); the input plays a hostile
 * backend, round after round: it writes response slots and rsp_prod as it
 * likes, and the frontend processes them; requests are submitted between
 * rounds.  Checked besides ASan/UBSan: every request's done runs exactly
 * once (by the final disconnect at the latest) with a status in the
 * defined set, the request table never holds more than the ring size, and
 * no byte outside the ring and the data pages is written (guard pages
 * around the ring).
 *
 * Input: byte 0: ring order (0..2) and the first request count; then
 * rounds of { op byte, a count n, n response slots of 16 bytes, 4 bytes of
 * rsp_prod delta } until the input ends.
 *
 * fuzz-link: none (blkfront.c and xen-gnttab.c are included below; the
 * event channel and idle calls are this file's stubs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The code under test, built into this harness (fuzz/Makefile's rule). */
#include "../xen-gnttab.c"
#include "../blkfront-lite/blkfront.c"

/*
 * Event channels and idle are not reached with a memory ring (no port, no
 * wake IPIs, no synchronous waits); these satisfy the linker and say so.
 */
int xl_evtchn_send(evtchn_port_t port)
{
	abort();
}

int xl_evtchn_close(evtchn_port_t port)
{
	abort();
}

int xl_evtchn_bind_ipi(unsigned int cpu, xl_evtchn_handler_t fn, void *data,
		       evtchn_port_t *port)
{
	abort();
}

int xl_evtchn_alloc_unbound(domid_t remote, xl_evtchn_handler_t fn, void *data,
			    evtchn_port_t *port)
{
	abort();
}

unsigned long xl_idle_until(bool (*done)(void *), void *arg)
{
	abort();
}

#define NREQ 64
#define PAGE 4096

static uint8_t ring_mem[(1 + 4 + 1) * PAGE] __attribute__((aligned(PAGE)));
static uint8_t data[2][PAGE] __attribute__((aligned(PAGE)));

struct fz_req {
	struct xl_blk_req r;
	int calls;
	int submitted;
};

static struct fz_req reqs[NREQ];

static void fz_done(struct xl_blk_req *r)
{
	struct fz_req *f = (struct fz_req *)r;

	f->calls++;
	if (f->calls > 1)
		abort(); /* completed twice */
	if (r->status != 0 && r->status != -XEN_EIO &&
	    r->status != -XEN_EOPNOTSUPP)
		abort();
}

struct in {
	const uint8_t *p;
	size_t n;
};

static int take(struct in *in, void *out, size_t len)
{
	if (in->n < len)
		return -1;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return 0;
}

static void submit_some(struct xl_blkfront *dev, unsigned int n,
			unsigned int *next, uint8_t op)
{
	while (n-- && *next < NREQ) {
		struct fz_req *f = &reqs[(*next)++];

		memset(f, 0, sizeof(*f));
		f->r.op = (op & 3) == 3 ? XL_BLK_FLUSH :
			  (op & 1)	? XL_BLK_WRITE :
					  XL_BLK_READ;
		if (f->r.op != XL_BLK_FLUSH) {
			f->r.nr_segs = 1 + (op >> 4) % 2;
			f->r.seg[0].page = data[0];
			f->r.seg[0].last_sect = 7;
			f->r.seg[1].page = data[1];
			f->r.seg[1].first_sect = op >> 5 & 7;
			f->r.seg[1].last_sect = 7;
		}
		f->r.sector = op;
		f->r.done = fz_done;
		f->submitted = xl_blkfront_submit(dev, &f->r) == 0;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len);
int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t len)
{
	struct xl_blkfront_features f = { .sectors = 1 << 20,
					  .sector_size = 512,
					  .flush = true };
	struct in in = { buf, len };
	struct xl_blkfront *dev;
	blkif_sring_t *s;
	unsigned int order, next = 0, i, size;
	uint8_t hdr, op, cnt;
	uint8_t *ring = ring_mem + PAGE;

	if (take(&in, &hdr, 1))
		return 0;
	order = hdr % 3;
	size = PAGE << order;
	memset(ring_mem, 0xa5, sizeof(ring_mem));
	memset(ring, 0, size);
	dev = xl_blkfront_alloc(51712);
	if (!dev || xl_blkfront_attach_mem(dev, ring, order, &f))
		abort();
	s = (blkif_sring_t *)ring;
	submit_some(dev, 1 + (hdr >> 2), &next, hdr);
	while (!take(&in, &op, 1) && !take(&in, &cnt, 1)) {
		uint32_t delta;
		RING_IDX prod = s->rsp_prod;

		for (i = 0; i < cnt; i++) {
			struct blkif_response rsp;
			RING_IDX idx = (prod + i) & (__RING_SIZE(s, size) - 1);

			if (take(&in, &rsp, sizeof(rsp)))
				break;
			memcpy(&s->ring[idx].rsp, &rsp, sizeof(rsp));
		}
		if (take(&in, &delta, sizeof(delta)))
			delta = cnt;
		/* Mostly plausible producer moves, sometimes anything. */
		s->rsp_prod = (op & 0x80) ? delta : prod + (delta & 0x3f);
		xl_blkfront_process(dev);
		if (xl_blkfront_inflight(dev) > __RING_SIZE(s, size))
			abort();
		submit_some(dev, op & 7, &next, op);
	}
	xl_blkfront_disconnect(dev, true);
	for (i = 0; i < next; i++)
		if (reqs[i].submitted != reqs[i].calls)
			abort(); /* lost or duplicated completion */
	for (i = 0; i < PAGE; i++)
		if (ring_mem[i] != 0xa5)
			abort(); /* written before the ring */
	for (i = PAGE + size; i < sizeof(ring_mem); i++)
		if (ring_mem[i] != 0xa5)
			abort(); /* written past the ring */
	xl_blkfront_free(dev);
	return 0;
}
