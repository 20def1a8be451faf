// SPDX-License-Identifier: GPL-2.0
/*
 * Hypercall error cases, through raw hypercalls (<xenlite/hypercall.h>).
 * Every expected code is Xen 4.17's (RELEASE-4.17.7): the function that
 * returns it is named beside the assertion, in xen/common/event_channel.c
 * unless said otherwise.  The same verdict is expected from hv/ and from
 * real Xen.
 */
#include "xt-util.h"

/* A domain id no domain has (below DOMID_FIRST_RESERVED). */
#define NO_SUCH_DOMID 0x7000
/* A port beyond every ABI's range (port_is_valid() false). */
#define BAD_PORT (1U << 20)

#define EV(cmd, op) xt_evop(EVTCHNOP_##cmd, &(op))

/*
 * A free port (ECS_FREE) at or above from: the first EVTCHNOP_status
 * reports closed (valid: inside the domain's allocated buckets); 0 if
 * none of the next 256.  hv and the test kernel have nothing bound there,
 * so it is from itself.  Beside a live guest (xenlite.ko's ports are 1
 * and 6..12 in a 2-vCPU hvm domU) it is the next free one: a test must
 * never close, move or unmask a port it did not bind, and there "port 7,
 * free" was vCPU 1's VIRQ_TIMER, whose close stopped vCPU 1's tick.
 */
static evtchn_port_t free_port(evtchn_port_t from)
{
	struct evtchn_status st;
	evtchn_port_t p;

	for (p = from; p < from + 256; p++)
		if (!xt_status(DOMID_SELF, p, &st) &&
		    st.status == EVTCHNSTAT_closed)
			return p;
	return 0;
}

static long alloc_self(evtchn_port_t *port)
{
	struct evtchn_alloc_unbound op = { .dom = DOMID_SELF,
					   .remote_dom = DOMID_SELF };
	long rc = EV(alloc_unbound, op);

	*port = op.port;
	return rc;
}

static long bind_ipi(unsigned int vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_ipi op = { .vcpu = vcpu };
	long rc = EV(bind_ipi, op);

	*port = op.port;
	return rc;
}

static long bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_virq op = { .virq = virq, .vcpu = vcpu };
	long rc = EV(bind_virq, op);

	*port = op.port;
	return rc;
}

static long do_send(evtchn_port_t port)
{
	struct evtchn_send op = { .port = port };

	return EV(send, op);
}

static long do_close(evtchn_port_t port)
{
	struct evtchn_close op = { .port = port };

	return EV(close, op);
}

static long do_unmask(evtchn_port_t port)
{
	struct evtchn_unmask op = { .port = port };

	return EV(unmask, op);
}

static long do_bind_vcpu(evtchn_port_t port, uint32_t vcpu)
{
	struct evtchn_bind_vcpu op = { .port = port, .vcpu = vcpu };

	return EV(bind_vcpu, op);
}

static long do_set_priority(evtchn_port_t port, uint32_t prio)
{
	struct evtchn_set_priority op = { .port = port, .priority = prio };

	return EV(set_priority, op);
}

static long do_reset(domid_t dom)
{
	struct evtchn_reset op = { .dom = dom };

	return EV(reset, op);
}

#define CORE_INIT() XT_ASSERT_EQ(xt_core_init(NULL), 0)

/* evtchn_send */
static enum xt_result hc_send_bad_port(void)
{
	evtchn_port_t u, v, f;

	CORE_INIT();
	f = free_port(5);
	XT_ASSERT(f);
	XT_ASSERT_EQ(do_send(0), -XEN_EINVAL);	      /* ECS_RESERVED */
	XT_ASSERT_EQ(do_send(BAD_PORT), -XEN_EINVAL); /* !port_is_valid */
	XT_ASSERT_EQ(do_send(~0U), -XEN_EINVAL);
	XT_ASSERT_EQ(do_send(EVTCHN_FIFO_NR_CHANNELS), -XEN_EINVAL);
	XT_ASSERT_EQ(do_send(f), -XEN_EINVAL); /* ECS_FREE */
	XT_ASSERT_EQ(alloc_self(&u), 0);
	XT_ASSERT_EQ(do_send(u), 0); /* ECS_UNBOUND: dropped */
	XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 0, &v), 0);
	XT_ASSERT_EQ(do_send(v), -XEN_EINVAL); /* ECS_VIRQ: default */
	XT_ASSERT_EQ(do_close(u), 0);
	XT_ASSERT_EQ(do_send(u), -XEN_EINVAL); /* closed */
	return XT_PASS;
}

/* evtchn_close */
static enum xt_result hc_close_bad_port(void)
{
	evtchn_port_t p, f;

	CORE_INIT();
	f = free_port(7);
	XT_ASSERT(f);
	XT_ASSERT_EQ(do_close(0), -XEN_EINVAL); /* ECS_RESERVED */
	XT_ASSERT_EQ(do_close(BAD_PORT), -XEN_EINVAL);
	XT_ASSERT_EQ(do_close(~0U), -XEN_EINVAL);
	XT_ASSERT_EQ(do_close(f), -XEN_EINVAL); /* ECS_FREE */
	XT_ASSERT_EQ(bind_ipi(0, &p), 0);
	XT_ASSERT_EQ(do_close(p), 0);
	XT_ASSERT_EQ(do_close(p), -XEN_EINVAL); /* twice */
	return XT_PASS;
}

/* evtchn_bind_virq */
static enum xt_result hc_bind_virq_bad(void)
{
	unsigned int nr = xt_nr_vcpus();
	evtchn_port_t p, q;

	CORE_INIT();
	XT_ASSERT_EQ(bind_virq(NR_VIRQS, 0, &p), -XEN_EINVAL);
	XT_ASSERT_EQ(bind_virq(~0U, 0, &p), -XEN_EINVAL);
	/* A global VIRQ binds on vCPU 0 only (checked before the vCPU). */
	XT_ASSERT_EQ(bind_virq(VIRQ_DOM_EXC, 1, &p), -XEN_EINVAL);
	XT_ASSERT_EQ(bind_virq(VIRQ_DOM_EXC, nr + 5, &p), -XEN_EINVAL);
	/* Per-vCPU VIRQ on a vCPU the domain does not have. */
	XT_ASSERT_EQ(bind_virq(VIRQ_TIMER, nr, &p), -XEN_ENOENT);
	XT_ASSERT_EQ(bind_virq(VIRQ_TIMER, ~0U, &p), -XEN_ENOENT);
	XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 0, &p), 0);
	XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 0, &q), -XEN_EEXIST);
	if (nr > 1)
		XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 1, &q), 0);
	XT_ASSERT_EQ(do_close(p), 0);
	XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 0, &q), 0);
	XT_ASSERT_EQ(q, p);
	return XT_PASS;
}

/* evtchn_bind_ipi */
static enum xt_result hc_bind_ipi_bad_vcpu(void)
{
	evtchn_port_t p;

	CORE_INIT();
	XT_ASSERT_EQ(bind_ipi(xt_nr_vcpus(), &p), -XEN_ENOENT);
	XT_ASSERT_EQ(bind_ipi(4096, &p), -XEN_ENOENT);
	XT_ASSERT_EQ(bind_ipi(~0U, &p), -XEN_ENOENT);
	XT_ASSERT_EQ(bind_ipi(xt_nr_vcpus() - 1, &p), 0);
	return XT_PASS;
}

/* evtchn_bind_interdomain */
static enum xt_result hc_bind_interdomain_bad(void)
{
	struct evtchn_bind_interdomain op;
	struct evtchn_status st;
	struct evtchn_bind_ipi pipi = { .vcpu = 0 };
	evtchn_port_t own_ipi, pu, pself, next;
	long rc;

	CORE_INIT();
	XT_ASSERT_EQ(bind_ipi(0, &own_ipi), 0);
	/* No such domain: rcu_lock_domain_by_any_id() fails. */
	op = (struct evtchn_bind_interdomain){ .remote_dom = NO_SUCH_DOMID,
					       .remote_port = 1 };
	XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_ESRCH);
	/* Our own IPI port is not ECS_UNBOUND. */
	op = (struct evtchn_bind_interdomain){ .remote_dom = DOMID_SELF,
					       .remote_port = own_ipi };
	XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_EINVAL);
	/* Remote port out of range, and free. */
	op.remote_port = BAD_PORT;
	XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_EINVAL);
	op.remote_port = 9;
	XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_EINVAL);
	/* Port 0 (ECS_RESERVED). */
	op.remote_port = 0;
	XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_EINVAL);
	if (xt_have_peer()) {
		/* The peer's IPI port, where the peer can bind one: a dom0
		 * program on /dev/xen/evtchn (tools/evtchn-peer) cannot, and
		 * says -ENOSYS; hv's peer and a test-kernel domU can. */
		rc = xt_peer_evop(0, EVTCHNOP_bind_ipi, &pipi);
		if (rc == -XEN_ENOSYS) {
			xt_log("the peer binds no IPI: that case not run");
		} else {
			XT_ASSERT_EQ(rc, 0);
			op = (struct evtchn_bind_interdomain){
				.remote_dom = xt_peer_domid(),
				.remote_port = pipi.port
			};
			XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_EINVAL);
		}
		op = (struct evtchn_bind_interdomain){
			.remote_dom = xt_peer_domid()
		};
		/* Unbound, but offered to the peer itself, not to us. */
		XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_peer_domid(), &pself),
			     0);
		op.remote_port = pself;
		XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_EINVAL);
		/* Offered to us: fine. */
		XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pu), 0);
		op.remote_port = pu;
		XT_ASSERT_EQ(EV(bind_interdomain, op), 0);
		/* Bound now: a second bind fails. */
		op.remote_port = pu;
		XT_ASSERT_EQ(EV(bind_interdomain, op), -XEN_EINVAL);
	}
	/* The failed binds left no port behind (check_free_port). */
	XT_ASSERT_EQ(alloc_self(&next), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, next + 1, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	return XT_PASS;
}

/* evtchn_alloc_unbound, evtchn_status, evtchn_reset on another domain */
static enum xt_result hc_other_domain(void)
{
	struct evtchn_alloc_unbound au = { .dom = xt_peer_domid(),
					   .remote_dom = DOMID_SELF };
	struct evtchn_status st;
	evtchn_port_t pp;

	CORE_INIT();
	/* xsm_evtchn_unbound(XSM_TARGET): an unprivileged domain may not
	 * allocate in another domain (dummy XSM: -EPERM). */
	XT_ASSERT_EQ(EV(alloc_unbound, au), -XEN_EPERM);
	au.dom = NO_SUCH_DOMID;
	XT_ASSERT_EQ(EV(alloc_unbound, au), -XEN_ESRCH);
	/* remote_dom is not checked at allocation time. */
	au = (struct evtchn_alloc_unbound){ .dom = DOMID_SELF,
					    .remote_dom = NO_SUCH_DOMID };
	XT_ASSERT_EQ(EV(alloc_unbound, au), 0);
	/* Status of the peer's port: xsm_evtchn_status(XSM_TARGET). */
	XT_ASSERT_EQ(xt_peer_alloc_unbound(0, xt_domid(), &pp), 0);
	XT_ASSERT_EQ(xt_status(xt_peer_domid(), pp, &st), -XEN_EPERM);
	XT_ASSERT_EQ(xt_status(NO_SUCH_DOMID, 1, &st), -XEN_ESRCH);
	/* EVTCHNOP_reset of another domain: xsm_evtchn_reset(XSM_TARGET). */
	XT_ASSERT_EQ(do_reset(xt_peer_domid()), -XEN_EPERM);
	XT_ASSERT_EQ(do_reset(NO_SUCH_DOMID), -XEN_ESRCH);
	return XT_PASS;
}

/* evtchn_bind_vcpu */
static enum xt_result hc_bind_vcpu_bad(void)
{
	unsigned int nr = xt_nr_vcpus();
	evtchn_port_t ipi, virq, u, b, f;
	struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF };
	struct evtchn_status st;

	CORE_INIT();
	XT_ASSERT_EQ(bind_ipi(0, &ipi), 0);
	XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 0, &virq), 0);
	XT_ASSERT_EQ(alloc_self(&u), 0);
	bi.remote_port = u;
	XT_ASSERT_EQ(EV(bind_interdomain, bi), 0);
	b = bi.local_port;
	XT_ASSERT_EQ(do_bind_vcpu(ipi, nr - 1), -XEN_EINVAL);  /* ECS_IPI */
	XT_ASSERT_EQ(do_bind_vcpu(virq, nr - 1), -XEN_EINVAL); /* per-vCPU */
	XT_ASSERT_EQ(do_bind_vcpu(b, nr), -XEN_ENOENT);	       /* vCPU first */
	XT_ASSERT_EQ(do_bind_vcpu(BAD_PORT, nr), -XEN_ENOENT);
	XT_ASSERT_EQ(do_bind_vcpu(BAD_PORT, 0), -XEN_EINVAL);
	f = free_port(11);
	XT_ASSERT(f);
	XT_ASSERT_EQ(do_bind_vcpu(f, 0), -XEN_EINVAL); /* ECS_FREE */
	XT_ASSERT_EQ(do_bind_vcpu(0, 0), -XEN_EINVAL); /* ECS_RESERVED */
	XT_ASSERT_EQ(do_bind_vcpu(b, nr - 1), 0);      /* interdomain */
	XT_ASSERT_EQ(xt_status(DOMID_SELF, b, &st), 0);
	XT_ASSERT_EQ(st.vcpu, nr - 1);
	XT_ASSERT_EQ(do_close(b), 0);
	XT_ASSERT_EQ(do_bind_vcpu(u, nr - 1), 0); /* unbound again */
	/* evtchn_free: "Reset binding to vcpu0 when the channel is freed". */
	XT_ASSERT_EQ(do_close(u), 0);
	XT_ASSERT_EQ(alloc_self(&u), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, u, &st), 0);
	XT_ASSERT_EQ(st.vcpu, 0);
	return XT_PASS;
}

/* evtchn_set_priority: FIFO */
static enum xt_result hc_set_priority_fifo(void)
{
	evtchn_port_t p;

	CORE_INIT();
	XT_SKIP_IF(xl_evtchn_abi() != XL_EVTCHN_ABI_FIFO, "no FIFO");
	XT_ASSERT_EQ(bind_ipi(0, &p), 0);
	XT_ASSERT_EQ(do_set_priority(p, EVTCHN_FIFO_PRIORITY_MIN + 1),
		     -XEN_EINVAL); /* evtchn_fifo_set_priority */
	XT_ASSERT_EQ(do_set_priority(p, ~0U), -XEN_EINVAL);
	XT_ASSERT_EQ(do_set_priority(BAD_PORT, 0), -XEN_EINVAL);
	XT_ASSERT_EQ(do_set_priority(p, 0), 0);
	XT_ASSERT_EQ(do_set_priority(p, EVTCHN_FIFO_PRIORITY_MIN), 0);
	/* evtchn_port_set_priority: !evtchn_usable() (state must be above
	 * ECS_RESERVED) -> -EACCES, before the priority is looked at. */
	XT_ASSERT_EQ(do_set_priority(0, 3), -XEN_EACCES);
	XT_ASSERT_EQ(do_set_priority(p + 1, 3), -XEN_EACCES); /* free */
	XT_ASSERT_EQ(do_set_priority(p + 1, 16), -XEN_EACCES);
	return XT_PASS;
}

/* evtchn_set_priority: 2-level has no set_priority op */
static enum xt_result hc_set_priority_2l(void)
{
	evtchn_port_t p;

	/* No core: the domain is on the 2-level ABI. */
	XT_ASSERT_EQ(bind_ipi(0, &p), 0);
	XT_ASSERT_EQ(do_set_priority(p, 3), -XEN_ENOSYS);
	XT_ASSERT_EQ(do_set_priority(p, 16), -XEN_ENOSYS);
	/* The port is looked up first. */
	XT_ASSERT_EQ(do_set_priority(BAD_PORT, 3), -XEN_EINVAL);
	XT_ASSERT_EQ(do_set_priority(0, 3), -XEN_ENOSYS); /* op first */
	XT_ASSERT_EQ(do_close(p), 0);
	return XT_PASS;
}

static long init_control(uint64_t gfn, uint32_t offset, uint32_t vcpu,
			 uint8_t *link_bits)
{
	struct evtchn_init_control op = { .control_gfn = gfn,
					  .offset = offset,
					  .vcpu = vcpu };
	long rc = EV(init_control, op);

	if (link_bits)
		*link_bits = op.link_bits;
	return rc;
}

/* evtchn_fifo_init_control (event_fifo.c) */
static enum xt_result hc_init_control_errors(void)
{
	void *pg0 = xl_os_alloc_page(), *pg1 = xl_os_alloc_page();
	uint64_t g0, g1, bad = 1ULL << 40;
	const uint32_t max_off =
		XL_PAGE_SIZE - sizeof(evtchn_fifo_control_block_t);
	uint8_t lb = 0;
	enum xt_result res = XT_FAIL;
	evtchn_port_t p;

	XT_ASSERT(pg0 && pg1);
	/* A bound port to probe the ABI with set_priority. */
	XT_ASSERT_EQ(bind_ipi(0, &p), 0);
	g0 = xl_os_virt_to_gfn(pg0);
	g1 = xl_os_virt_to_gfn(pg1);
#define CHECK(expr, want)                                                   \
	do {                                                                \
		long rc_ = (expr);                                          \
		if (rc_ != (want)) {                                        \
			xt_fail_msg(__FILE__, __LINE__, "%s: %ld, want %d", \
				    #expr, rc_, (int)(want));               \
			goto out;                                           \
		}                                                           \
	} while (0)
	CHECK(init_control(g0, 0, xt_nr_vcpus(), NULL), -XEN_ENOENT);
	CHECK(init_control(g0, 0, ~0U, NULL), -XEN_ENOENT);
	CHECK(init_control(g0, 4, 0, NULL), -XEN_EINVAL); /* misaligned */
	CHECK(init_control(g0, max_off + 8, 0, NULL), -XEN_EINVAL);
	CHECK(init_control(g0, XL_PAGE_SIZE, 0, NULL), -XEN_EINVAL);
	CHECK(init_control(bad, 0, 0, NULL), -XEN_EINVAL); /* gfn */
	CHECK(init_control(~0ULL, 0, 0, NULL), -XEN_EINVAL);
	/* The failed first init left the domain on 2-level. */
	CHECK(do_set_priority(p, 3), -XEN_ENOSYS);
	CHECK(init_control(g0, 0, 0, &lb), 0);
	if (lb != EVTCHN_FIFO_LINK_BITS) {
		xt_fail_msg(__FILE__, __LINE__, "link_bits %u", lb);
		goto out;
	}
	CHECK(init_control(g0, 0, 0, NULL), -XEN_EINVAL); /* twice */
	CHECK(init_control(g1, 0, 0, NULL), -XEN_EINVAL);
	if (xt_nr_vcpus() > 1) {
		/* Another vCPU, a bad gfn: the domain stays FIFO. */
		CHECK(init_control(bad, 0, 1, NULL), -XEN_EINVAL);
		CHECK(init_control(g1, max_off & ~7U, 1, NULL), 0);
	}
	CHECK(do_set_priority(p, 3), 0);
	/* evtchn_reset: back to 2-level, control blocks released. */
	CHECK(do_reset(DOMID_SELF), 0);
	CHECK(do_set_priority(p, 3), -XEN_ENOSYS);
	CHECK(init_control(g0, 8, 0, NULL), 0);
	CHECK(do_reset(DOMID_SELF), 0);
	res = XT_PASS;
#undef CHECK
out:
	do_reset(DOMID_SELF);
	xl_os_free_page(pg0);
	xl_os_free_page(pg1);
	return res;
}

/* evtchn_fifo_expand_array (event_fifo.c) */
static enum xt_result hc_expand_array_errors(void)
{
	enum {
		PAGES = EVTCHN_FIFO_NR_CHANNELS /
			(XL_PAGE_SIZE / sizeof(event_word_t))
	};
	void *cb = xl_os_alloc_page(), *pages[PAGES + 1] = { 0 };
	struct evtchn_expand_array ea = { .array_gfn = 1ULL << 40 };
	enum xt_result res = XT_FAIL;
	unsigned int i;
	long rc;

	XT_ASSERT(cb);
	/* No FIFO yet: -EOPNOTSUPP. */
	rc = EV(expand_array, ea);
	if (rc != -XEN_EOPNOTSUPP) {
		xt_fail_msg(__FILE__, __LINE__, "expand on 2-level: %ld", rc);
		goto out;
	}
	rc = init_control(xl_os_virt_to_gfn(cb), 0, 0, NULL);
	if (rc) {
		xt_fail_msg(__FILE__, __LINE__, "init_control: %ld", rc);
		goto out;
	}
	rc = EV(expand_array, ea);
	if (rc != -XEN_EINVAL) {
		xt_fail_msg(__FILE__, __LINE__, "expand bad gfn: %ld", rc);
		goto out;
	}
	for (i = 0; i <= PAGES; i++) {
		pages[i] = xl_os_alloc_page();
		if (!pages[i]) {
			xt_fail_msg(__FILE__, __LINE__, "out of pages at %u",
				    i);
			goto out;
		}
		ea.array_gfn = xl_os_virt_to_gfn(pages[i]);
		rc = EV(expand_array, ea);
		/* add_page_to_event_array: 128 pages, then -ENOSPC. */
		if (rc != (i < PAGES ? 0 : -XEN_ENOSPC)) {
			xt_fail_msg(__FILE__, __LINE__, "expand page %u: %ld",
				    i, rc);
			goto out;
		}
	}
	res = XT_PASS;
out:
	do_reset(DOMID_SELF);
	for (i = 0; i <= PAGES; i++)
		if (pages[i])
			xl_os_free_page(pages[i]);
	xl_os_free_page(cb);
	return res;
}

/* evtchn_status */
static enum xt_result hc_status(void)
{
	struct evtchn_status st;
	evtchn_port_t ipi, virq, u, f;

	CORE_INIT();
	XT_ASSERT_EQ(xt_status(DOMID_SELF, 0, &st), 0); /* ECS_RESERVED */
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	f = free_port(13); /* ECS_FREE: closed to EVTCHNOP_status */
	XT_ASSERT(f);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, BAD_PORT, &st), -XEN_EINVAL);
	/* The domain by its own id, as by DOMID_SELF. */
	XT_ASSERT_EQ(xt_status(xt_domid(), f, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_closed);
	XT_ASSERT_EQ(bind_ipi(xt_nr_vcpus() - 1, &ipi), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, ipi, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_ipi);
	XT_ASSERT_EQ(st.vcpu, xt_nr_vcpus() - 1);
	XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 0, &virq), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, virq, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_virq);
	XT_ASSERT_EQ(st.u.virq, VIRQ_DEBUG);
	XT_ASSERT_EQ(alloc_self(&u), 0);
	XT_ASSERT_EQ(xt_status(DOMID_SELF, u, &st), 0);
	XT_ASSERT_EQ(st.status, EVTCHNSTAT_unbound);
	XT_ASSERT_EQ(st.u.unbound.dom, xt_domid()); /* DOMID_SELF mapped */
	XT_ASSERT_EQ(st.vcpu, 0);
	return XT_PASS;
}

/* evtchn_unmask */
static enum xt_result hc_unmask_bad_port(void)
{
	evtchn_port_t f;

	CORE_INIT();
	f = free_port(17);
	XT_ASSERT(f);
	XT_ASSERT_EQ(do_unmask(BAD_PORT), -XEN_EINVAL);
	XT_ASSERT_EQ(do_unmask(~0U), -XEN_EINVAL);
	XT_ASSERT_EQ(do_unmask(0), 0); /* valid, nothing to do */
	XT_ASSERT_EQ(do_unmask(f), 0); /* free: likewise */
	return XT_PASS;
}

/* get_free_port: the lowest free port, every time. */
static enum xt_result hc_lowest_free_port(void)
{
	evtchn_port_t p[4], q;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		XT_ASSERT_EQ(alloc_self(&p[i]), 0);
		if (i)
			XT_ASSERT_EQ(p[i], p[i - 1] + 1);
	}
	XT_ASSERT_EQ(p[0], 1);
	XT_ASSERT_EQ(do_close(p[1]), 0);
	XT_ASSERT_EQ(bind_ipi(0, &q), 0);
	XT_ASSERT_EQ(q, p[1]);
	for (i = 0; i < 4; i++)
		XT_ASSERT_EQ(do_close(p[i]), 0);
	return XT_PASS;
}

/*
 * Port exhaustion at the domain's limit: evtchn_allocate_port() ->
 * -ENOSPC past d->max_evtchn_port.  hv's default is libxl's
 * max_event_channels, 1023: ports 1..1023.
 */
static enum xt_result exhaust(bool fifo)
{
	unsigned int n = 0;
	evtchn_port_t p = 0, last = 0;
	long rc;

	if (fifo)
		XT_ASSERT_EQ(xt_core_init(NULL), 0);
	while ((rc = alloc_self(&p)) == 0) {
		last = p;
		if (++n > EVTCHN_FIFO_NR_CHANNELS)
			break;
	}
	XT_ASSERT_EQ(rc, -XEN_ENOSPC);
	XT_ASSERT_EQ(last, n);
	XT_ASSERT_EQ(bind_ipi(0, &p), -XEN_ENOSPC);
	XT_ASSERT_EQ(bind_virq(VIRQ_DEBUG, 0, &p), -XEN_ENOSPC);
	if (xt_backend() == XT_HV)
		XT_ASSERT_EQ(n, 1023);
	xt_log("%u ports, then -ENOSPC", n);
	/* One freed: exactly one more. */
	XT_ASSERT_EQ(do_close(n / 2), 0);
	XT_ASSERT_EQ(alloc_self(&p), 0);
	XT_ASSERT_EQ(p, n / 2);
	XT_ASSERT_EQ(alloc_self(&p), -XEN_ENOSPC);
	return XT_PASS;
}

static enum xt_result hc_exhaust_2l(void)
{
	return exhaust(false);
}

static enum xt_result hc_exhaust_fifo(void)
{
	return exhaust(true);
}

/* do_event_channel_op default, and an unknown hypercall number. */
static enum xt_result hc_unknown_ops(void)
{
	unsigned long dummy[8] = { 0 };

	XT_ASSERT_EQ(xl_hc_event_channel_op(99, dummy), -XEN_ENOSYS);
	XT_ASSERT_EQ(xl_hc_event_channel_op(-1, dummy), -XEN_ENOSYS);
	/* EVTCHNOP_bind_pirq needs a PIRQ the guest does not have. */
	XT_ASSERT_EQ(xl_os_hypercall(63, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	XT_ASSERT_EQ(xl_os_hypercall(__HYPERVISOR_arch_7, 0, 0, 0, 0, 0),
		     -XEN_ENOSYS);
	XT_ASSERT_EQ(xl_os_hypercall(1000, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	XT_ASSERT_EQ(xl_hc_sched_op(99, dummy), -XEN_ENOSYS);
	return XT_PASS;
}

/* VCPUOP_set_singleshot_timer only for the calling vCPU (domain.c). */
static enum xt_result hc_singleshot_other_vcpu(void)
{
	struct vcpu_set_singleshot_timer sst = { .timeout_abs_ns = 1 };

	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, 1, &sst),
		     -XEN_EINVAL);
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_set_singleshot_timer, xt_nr_vcpus(),
				   &sst),
		     -XEN_ENOENT);
	XT_ASSERT_EQ(xl_hc_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL), 0);
	return XT_PASS;
}

#define HC(name, back, vcpus, peer)                          \
	{                                                    \
		"hc/" #name, back, vcpus, peer, hc_##name, 0 \
	}

/*
 * XT_LINUX: also in xenlite.ko beside the live guest (linux/xt-host.c),
 * for the cases that leave the live core and the guest's ports alone
 * (the free ports they need come from free_port()).
 */
const struct xt_test xt_hypercall_tests[] = {
	HC(send_bad_port, XT_ALL | XT_LINUX, 1, false),
	HC(close_bad_port, XT_ALL | XT_LINUX, 1, false),
	HC(bind_virq_bad, XT_ALL | XT_LINUX, 2, false),
	HC(bind_ipi_bad_vcpu, XT_ALL | XT_LINUX, 1, false),
	HC(bind_interdomain_bad, XT_ALL, 1, true),
	/* As dom0 (privileged), the test kernel may touch other domains. */
	HC(other_domain, XT_HV | XT_XEN_DOMU, 1, true),
	HC(bind_vcpu_bad, XT_ALL | XT_LINUX, 2, false),
	HC(set_priority_fifo, XT_ALL, 1, false),
	HC(set_priority_2l, XT_ALL, 1, false),
	HC(init_control_errors, XT_ALL, 1, false),
	HC(expand_array_errors, XT_ALL, 1, false),
	HC(status, XT_ALL | XT_LINUX, 1, false),
	HC(unmask_bad_port, XT_ALL | XT_LINUX, 1, false),
	HC(lowest_free_port, XT_ALL, 1, false),
	HC(exhaust_2l, XT_ALL, 1, false),
	/*
	 * Not as dom0: dom0 has no max_event_channels limit, so FIFO
	 * exhaustion is 131,071 allocations, each a linear lowest-free scan
	 * in Xen (get_free_port): ~14 min under TCG (measured).
	 */
	HC(exhaust_fifo, XT_HV | XT_XEN_DOMU, 1, false),
	HC(unknown_ops, XT_ALL | XT_LINUX, 1, false),
	HC(singleshot_other_vcpu, XT_ALL, 2, false),
};

const unsigned int xt_hypercall_nr_tests =
	sizeof(xt_hypercall_tests) / sizeof(xt_hypercall_tests[0]);
