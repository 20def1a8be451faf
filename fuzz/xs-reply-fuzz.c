// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness: xenstore replies are hostile input.
 *
 * The first input byte picks the mode:
 *   even  the pure parser, xl_xs_parse_reply(), over a stream of messages
 *         (the expected type and req_id from the next bytes); every
 *         accepted message is checked against what the parser promises;
 *   odd   the whole client (xen-xenstore.c, included below) on a fake
 *         ring: the rest of the input is a script of what "xenstored"
 *         puts into the response ring (bytes, producer jumps, a rewritten
 *         rsp_prod) while the client waits for replies to a fixed set of
 *         requests; results are checked for what the API promises.
 * Either way ASan/UBSan watch every access.
 *
 * fuzz-link: none (the client is included here, its event channel and
 * idle calls are this file's stubs, not the core's).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../xen-xenstore.c"

#define FZ_CHECK(c)                                                        \
	do {                                                               \
		if (!(c)) {                                                \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, \
				#c);                                       \
			abort();                                           \
		}                                                          \
	} while (0)

/* --- mode 0: the parser --------------------------------------------------- */

static bool fz_is_string_reply(uint32_t t)
{
	return t != XS_READ && t != XS_WATCH_EVENT;
}

static void fz_check_ok(const uint8_t *buf, size_t avail, uint32_t et,
			uint32_t eid, const struct xl_xs_reply *r, size_t used)
{
	const char *b = r->body;

	FZ_CHECK(used == XS_HDR + r->len && used <= avail);
	FZ_CHECK(r->len == r->hdr.len && r->len <= XENSTORE_PAYLOAD_MAX);
	FZ_CHECK(b == (const char *)buf + XS_HDR);
	if (r->hdr.type == XS_WATCH_EVENT) {
		FZ_CHECK(r->ev_path == b);
		FZ_CHECK(r->ev_token > r->ev_path && r->ev_token < b + r->len);
		FZ_CHECK(memchr(r->ev_path, 0, r->len));
		FZ_CHECK(memchr(r->ev_token, 0,
				(size_t)(b + r->len - r->ev_token)));
		return;
	}
	FZ_CHECK(r->hdr.type < XS_TYPE_COUNT);
	if (et != XS_INVALID) {
		FZ_CHECK(r->hdr.type == et || r->hdr.type == XS_ERROR);
		FZ_CHECK(r->hdr.req_id == eid);
	}
	if (r->hdr.type == XS_ERROR) {
		FZ_CHECK(r->err < 0);
		FZ_CHECK(r->len >= 1 && b[r->len - 1] == '\0');
	} else {
		FZ_CHECK(r->err == 0);
	}
	if (fz_is_string_reply(r->hdr.type) && r->len)
		FZ_CHECK(b[r->len - 1] == '\0');
	if (r->hdr.type == XS_TRANSACTION_START)
		FZ_CHECK(r->len >= 2);
}

static void fz_parser(const uint8_t *data, size_t size)
{
	uint32_t et, eid;
	size_t off = 0;

	if (size < 2)
		return;
	/* Expected type: one of the request types or "any". */
	et = data[0] % (XS_TYPE_COUNT + 1);
	if (et == XS_TYPE_COUNT)
		et = XS_INVALID;
	eid = data[1];
	data += 2;
	size -= 2;
	while (off < size) {
		struct xl_xs_reply r;
		size_t used = 0;
		/* A private copy: a read past avail hits ASan's redzone. */
		size_t n = size - off;
		uint8_t *copy = malloc(n ? n : 1);
		enum xl_xs_parse_rc rc;

		memcpy(copy, data + off, n);
		rc = xl_xs_parse_reply(copy, n, et, eid, &r, &used);
		if (rc == XL_XS_PARSE_OK)
			fz_check_ok(copy, n, et, eid, &r, used);
		if (rc == XL_XS_PARSE_SHORT)
			FZ_CHECK(used > n);
		FZ_CHECK(xl_xs_parse_rc_name(rc)[0] != '?');
		free(copy);
		if (rc == XL_XS_PARSE_SHORT || rc == XL_XS_PARSE_BAD_LEN)
			break;
		FZ_CHECK(used >= XS_HDR && used <= n);
		off += used;
		eid++;
	}
}

/* --- mode 1: the client on a fake ring ---------------------------------------- */

static struct {
	struct xenstore_domain_interface intf;
	xl_evtchn_handler_t handler;
	const uint8_t *in;
	size_t len, pos;
	XENSTORE_RING_IDX rsp_prod; /* "xenstored"'s */
	unsigned int sends;
} fz;

int xl_os_xenstore_ring(void **intf, uint32_t *port)
{
	*intf = &fz.intf;
	*port = 7;
	return 0;
}

int xl_evtchn_bind_ipi(unsigned int cpu, xl_evtchn_handler_t fn, void *data,
		       evtchn_port_t *port)
{
	*port = 100 + cpu;
	return 0;
}

int xl_evtchn_close(evtchn_port_t port)
{
	return 0;
}

int xl_evtchn_bind_existing(evtchn_port_t port, xl_evtchn_handler_t fn,
			    void *data)
{
	fz.handler = fn;
	return 0;
}

int xl_evtchn_unbind_existing(evtchn_port_t port)
{
	fz.handler = NULL;
	return 0;
}

int xl_evtchn_send(evtchn_port_t port)
{
	fz.sends++;
	return 0;
}

/* The save/restore probe (xl_xs_resume, not driven here). */
bool xl_evtchn_port_is(evtchn_port_t port, xl_evtchn_handler_t fn, void *data)
{
	return port == 7 && fz.handler == fn;
}

static uint8_t fz_byte(void)
{
	return fz.pos < fz.len ? fz.in[fz.pos++] : 0;
}

/* "xenstored" takes whatever the client wrote (requests are not checked). */
static void fz_consume_requests(void)
{
	fz.intf.req_cons = fz.intf.req_prod;
}

/* One step of the script; false when the input is used up. */
static bool fz_step(void)
{
	uint8_t op;
	unsigned int n, i;

	if (fz.pos >= fz.len)
		return false;
	op = fz_byte();
	switch (op & 3) {
	case 0: /* bytes, as much as fits */
	case 3: /* bytes, ignoring the space (overwrites unread ones) */
		n = (op >> 2) + 1;
		if ((op & 3) == 0) {
			uint32_t used = fz.rsp_prod - fz.intf.rsp_cons;

			if (used > XENSTORE_RING_SIZE)
				used = XENSTORE_RING_SIZE;
			if (n > XENSTORE_RING_SIZE - used)
				n = XENSTORE_RING_SIZE - used;
		}
		for (i = 0; i < n && fz.pos < fz.len; i++)
			fz.intf.rsp[MASK_XENSTORE_IDX(fz.rsp_prod++)] =
				(char)fz_byte();
		break;
	case 1: /* the producer jumps */
		fz.rsp_prod += (uint32_t)fz_byte() << (op >> 4);
		break;
	case 2: /* rsp_prod rewritten; our own idea follows the client */
		fz.rsp_prod = fz.intf.rsp_cons +
			      ((uint32_t)fz_byte() << 4 | (uint32_t)(op >> 4));
		break;
	}
	fz.intf.rsp_prod = fz.rsp_prod;
	return true;
}

/*
 * The request timeout (xs_wait) on a fake clock: each reading is 1 ms on,
 * and the client reads it once per wait step, so with FZ_TIMEOUT_MS a
 * request unanswered for that many script steps times out, its reply
 * (if the script sends one later) taking the orphan path.  The timer
 * "arms" (the wait then uses xl_idle_until below); it never fires.
 */
#define FZ_TIMEOUT_MS 48ULL
static uint64_t fz_now;

uint64_t xl_clock_now(void)
{
	return fz_now += 1000000;
}

void xl_timer_setup(struct xl_timer *t, xl_timer_fn fn, void *data)
{
	(void)t;
	(void)fn;
	(void)data;
}

int xl_timer_arm(struct xl_timer *t, uint64_t deadline_ns)
{
	(void)t;
	(void)deadline_ns;
	return 0;
}

bool xl_timer_cancel(struct xl_timer *t)
{
	(void)t;
	return false;
}

/* Not reached with the timer armed (xs_poll_until). */
int xl_idle_poll(const evtchn_port_t *ports, unsigned int nr,
		 uint64_t timeout_ns)
{
	(void)ports;
	(void)nr;
	(void)timeout_ns;
	abort();
}

bool xl_idle_halt(void)
{
	abort();
}

/* The client waits here for a reply: run the script meanwhile. */
unsigned long xl_idle_until(bool (*done)(void *), void *arg)
{
	unsigned long n = 0;

	while (!done(arg)) {
		bool more;

		fz_consume_requests();
		more = fz_step();
		if (fz.handler)
			fz.handler(7, NULL);
		n++;
		if (!more && !done(arg)) {
			/* Nothing more will come: give the request up. */
			xl_xs_fini();
			break;
		}
	}
	return n;
}

static void fz_watch_fn(struct xl_xs_watch *w, const char *path, void *arg)
{
	unsigned int *n = arg;

	FZ_CHECK(path && strlen(path) <= XENSTORE_PAYLOAD_MAX);
	(*n)++;
}

static void fz_client(const uint8_t *data, size_t size)
{
	char buf[64], *v;
	struct xl_xs_watch w;
	unsigned int fired = 0;
	size_t len = 0;
	xl_xs_tx_t tx = 0;
	int rc, err;

	memset(&fz, 0, sizeof(fz));
	fz.in = data;
	fz.len = size;
	xl_xs_set_timeout(FZ_TIMEOUT_MS * 1000000);
	FZ_CHECK(xl_xs_init() == 0);

	rc = xl_xs_read(0, "a", buf, sizeof(buf), &len);
	if (rc == 0)
		FZ_CHECK(len < sizeof(buf) && buf[len] == '\0');
	if (rc == -XEN_ENOSPC)
		FZ_CHECK(len >= sizeof(buf));
	/*
	 * The rc names must be exactly what the reply wrote: buf is poisoned
	 * with a byte that is not NUL, each name ends with a NUL inside buf,
	 * and the byte after the last one is poison again (or the end of
	 * buf): a count short of the names the reply carried, or one taken
	 * over bytes it never wrote, fails.  (The parser made the reply end
	 * with a NUL.)
	 */
	memset(buf, 0xa5, sizeof(buf));
	rc = xl_xs_directory(0, "d", buf, sizeof(buf));
	FZ_CHECK(rc <= (int)sizeof(buf));
	if (rc > 0) {
		const char *p = buf, *z;
		int k;

		for (k = 0; k < rc; k++) {
			z = memchr(p, 0, sizeof(buf) - (size_t)(p - buf));
			FZ_CHECK(z);
			p = z + 1;
		}
		FZ_CHECK(p == buf + sizeof(buf) || (unsigned char)*p == 0xa5);
	}
	v = xl_xs_read_alloc(0, "b", &err);
	FZ_CHECK(!v == (err != 0));
	free(v);
	if (xl_xs_watch(&w, "w", fz_watch_fn, &fired) == 0) {
		rc = xl_xs_write(0, "w", "1");
		xl_xs_run_watches();
		xl_xs_unwatch(&w);
	}
	rc = xl_xs_transaction_start(&tx);
	if (rc == 0) {
		FZ_CHECK(tx != 0);
		xl_xs_transaction_end(tx, true);
	}
	xl_xs_fini();
	FZ_CHECK(!xl_xs_ready());
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		fz_client(data + 1, size - 1);
	else
		fz_parser(data + 1, size - 1);
	return 0;
}
