// SPDX-License-Identifier: GPL-2.0
/*
 * hv event channels: port states and EVTCHNOP_*, after
 * xen/common/event_channel.c, xen/include/xen/event.h and
 * xen/common/event_channel.h of Xen RELEASE-4.17.7.  Every rule that
 * decides an error code cites the Xen function it follows.
 *
 * The guest is always an unprivileged domU: XSM's dummy policy
 * (xsm_default_action) makes XSM_TARGET checks against another domain fail
 * with -EPERM, XSM_HOOK checks pass.  There are no PIRQs.  Channels to
 * hv services acting as domain 0 (Xen's xen_consumer channels) are the
 * ECS_HV_XEN state, in the "Xen-consumer channels" section at the end.
 */
#include <stdlib.h>
#include <string.h>

#include "hv-internal.h"

/* --- port storage ---------------------------------------------------------- */

uint8_t hv_chn_state(const struct hv_evtchn *chn)
{
	return __atomic_load_n(&chn->state, __ATOMIC_ACQUIRE);
}

static void hv_chn_set_state(struct hv_evtchn *chn, uint8_t state)
{
	__atomic_store_n(&chn->state, state, __ATOMIC_RELEASE);
}

unsigned int hv_chn_notify_vcpu(const struct hv_evtchn *chn)
{
	return __atomic_load_n(&chn->notify_vcpu_id, __ATOMIC_ACQUIRE);
}

static void hv_chn_set_notify(struct hv_evtchn *chn, unsigned int vcpu)
{
	__atomic_store_n(&chn->notify_vcpu_id, (uint16_t)vcpu,
			 __ATOMIC_RELEASE);
}

/* port_is_valid() (event.h): inside an allocated bucket. */
bool hv_port_is_valid(const struct hv_domain *d, uint32_t port)
{
	return port < __atomic_load_n(&d->valid_evtchns, __ATOMIC_ACQUIRE);
}

struct hv_evtchn *hv_evtchn_from_port(const struct hv_domain *d, uint32_t port)
{
	struct hv_evtchn *b = __atomic_load_n(
		&d->buckets[port / HV_EVTCHNS_PER_BUCKET], __ATOMIC_ACQUIRE);

	return &b[port % HV_EVTCHNS_PER_BUCKET];
}

static struct hv_evtchn *hv_evtchn_lookup(const struct hv_domain *d,
					  uint32_t port)
{
	return hv_port_is_valid(d, port) ? hv_evtchn_from_port(d, port) : NULL;
}

const struct hv_port_ops *hv_port_ops(const struct hv_domain *d)
{
	return __atomic_load_n(&d->evtchn_port_ops, __ATOMIC_ACQUIRE);
}

/* evtchn_usable(): no Xen consumers here, so "state > ECS_RESERVED". */
static bool hv_evtchn_usable(const struct hv_evtchn *chn)
{
	return hv_chn_state(chn) > ECS_RESERVED;
}

/* max_evtchns() (event_channel.h): the ABI's port limit. */
static unsigned int hv_max_evtchns(const struct hv_domain *d)
{
	return __atomic_load_n(&d->evtchn_fifo, __ATOMIC_ACQUIRE) ?
		       EVTCHN_FIFO_NR_CHANNELS :
		       HV_2L_NR_CHANNELS;
}

/* evtchn_is_busy() (event_channel.h): FIFO only, "still LINKED". */
static bool hv_evtchn_is_busy(const struct hv_domain *d,
			      const struct hv_evtchn *chn)
{
	const struct hv_port_ops *ops = hv_port_ops(d);

	return ops->is_busy && ops->is_busy(d, chn);
}

static void hv_evtchn_port_init(struct hv_domain *d, struct hv_evtchn *chn)
{
	const struct hv_port_ops *ops = hv_port_ops(d);

	if (ops->init)
		ops->init(d, chn);
}

void hv_evtchn_port_set_pending(struct hv_domain *d, unsigned int vcpu_id,
				struct hv_evtchn *chn)
{
	if (!hv_evtchn_usable(chn))
		return;
	hv_stat_inc(d, set_pending);
	hv_port_ops(d)->set_pending(&d->vcpus[vcpu_id], chn);
}

static void hv_evtchn_port_clear_pending(struct hv_domain *d,
					 struct hv_evtchn *chn)
{
	if (hv_evtchn_usable(chn))
		hv_port_ops(d)->clear_pending(d, chn);
}

static struct hv_evtchn *hv_alloc_bucket(uint32_t first_port)
{
	struct hv_evtchn *b = calloc(HV_EVTCHNS_PER_BUCKET, sizeof(*b));
	unsigned int i;

	if (!b)
		return NULL;
	for (i = 0; i < HV_EVTCHNS_PER_BUCKET; i++) {
		b[i].port = first_port + i;
		pthread_rwlock_init(&b[i].lock, NULL);
	}
	return b;
}

/*
 * evtchn_allocate_port(): beyond max_evtchn_port or the ABI limit ->
 * -ENOSPC; a port that is not free or still busy (LINKED, Xen commit
 * 78e24c269b) -> -EBUSY; buckets up to the port are allocated on demand.
 * Called with event_lock held for writing.
 */
static int hv_evtchn_allocate_port(struct hv_domain *d, uint32_t port)
{
	unsigned int valid;

	if (port > __atomic_load_n(&d->max_evtchn_port, __ATOMIC_ACQUIRE) ||
	    port >= hv_max_evtchns(d))
		return -XEN_ENOSPC;

	valid = __atomic_load_n(&d->valid_evtchns, __ATOMIC_ACQUIRE);
	if (port < valid) {
		struct hv_evtchn *chn = hv_evtchn_from_port(d, port);

		if (hv_chn_state(chn) != ECS_FREE || hv_evtchn_is_busy(d, chn))
			return -XEN_EBUSY;
	} else {
		do {
			struct hv_evtchn *b = hv_alloc_bucket(valid);

			if (!b)
				return -XEN_ENOMEM;
			__atomic_store_n(
				&d->buckets[valid / HV_EVTCHNS_PER_BUCKET], b,
				__ATOMIC_RELEASE);
			valid += HV_EVTCHNS_PER_BUCKET;
			/* Publish the bucket before valid_evtchns (smp_wmb). */
			__atomic_store_n(&d->valid_evtchns, valid,
					 __ATOMIC_RELEASE);
		} while (port >= valid);
	}
	__atomic_fetch_add(&d->active_evtchns, 1, __ATOMIC_SEQ_CST);
	return 0;
}

/*
 * get_free_port(): the lowest allocatable port, -ENOSPC when none.  Xen
 * scans from port 0 each time; hv starts at free_hint, the lowest port that
 * may be free (all below it are in use), which gives the same answer.
 */
static int hv_get_free_port(struct hv_domain *d)
{
	unsigned int max =
		__atomic_load_n(&d->max_evtchn_port, __ATOMIC_ACQUIRE);
	unsigned int port;
	bool contiguous = true;

	for (port = d->free_hint; port <= max; port++) {
		int rc = hv_evtchn_allocate_port(d, port);

		if (rc == 0) {
			if (contiguous)
				d->free_hint = port + 1;
			return (int)port;
		}
		if (rc != -XEN_EBUSY)
			return rc;
		if (contiguous &&
		    hv_chn_state(hv_evtchn_from_port(d, port)) != ECS_FREE)
			d->free_hint = port + 1;
		else
			contiguous = false;
	}
	return -XEN_ENOSPC;
}

/* check_free_port(): undo the active count of a port left free on exit. */
static void hv_check_free_port(struct hv_domain *d, int port)
{
	if (port >= 0 && hv_port_is_valid(d, (uint32_t)port) &&
	    hv_chn_state(hv_evtchn_from_port(d, (uint32_t)port)) == ECS_FREE) {
		__atomic_fetch_sub(&d->active_evtchns, 1, __ATOMIC_SEQ_CST);
		if ((unsigned int)port < d->free_hint)
			d->free_hint = (unsigned int)port;
	}
}

/*
 * evtchn_free(): "Clear pending event to avoid unexpected behavior on
 * re-bind", reset the binding to vCPU 0.  Under event_lock and the channel
 * write lock.
 */
static void hv_evtchn_free(struct hv_domain *d, struct hv_evtchn *chn)
{
	hv_evtchn_port_clear_pending(d, chn);
	__atomic_fetch_sub(&d->active_evtchns, 1, __ATOMIC_SEQ_CST);
	hv_chn_set_state(chn, ECS_FREE);
	hv_chn_set_notify(chn, 0);
	if (chn->port < d->free_hint)
		d->free_hint = chn->port;
}

static void hv_chn_wrlock(struct hv_evtchn *chn)
{
	pthread_rwlock_wrlock(&chn->lock);
}

static void hv_chn_unlock(struct hv_evtchn *chn)
{
	pthread_rwlock_unlock(&chn->lock);
}

static void hv_chn_rdlock(struct hv_evtchn *chn)
{
	pthread_rwlock_rdlock(&chn->lock);
}

/* double_evtchn_lock(): by address. */
static void hv_double_chn_lock(struct hv_evtchn *a, struct hv_evtchn *b)
{
	if ((uintptr_t)a > (uintptr_t)b) {
		struct hv_evtchn *t = a;

		a = b;
		b = t;
	}
	hv_chn_wrlock(a);
	hv_chn_wrlock(b);
}

static void hv_double_chn_unlock(struct hv_evtchn *a, struct hv_evtchn *b)
{
	hv_chn_unlock(a);
	hv_chn_unlock(b);
}

/* virq_is_global(): per-vCPU are TIMER, DEBUG, XENOPROF, XENPMU; on x86
 * arch_virq_is_global() is true for the VIRQ_ARCH_* ones. */
static bool hv_virq_is_global(unsigned int virq)
{
	switch (virq) {
	case VIRQ_TIMER:
	case VIRQ_DEBUG:
	case VIRQ_XENOPROF:
	case VIRQ_XENPMU:
		return false;
	default:
		return true;
	}
}

/* --- EVTCHNOP_* ----------------------------------------------------------- */

/*
 * evtchn_alloc_unbound(): -ESRCH for an unknown dom; a port is taken in dom
 * (-ENOSPC) before the XSM_TARGET check (-EPERM for another domain);
 * remote_dom is not checked, DOMID_SELF means the caller.
 */
static long hv_evtchn_alloc_unbound(struct hv_vcpu *cur,
				    struct evtchn_alloc_unbound *a)
{
	struct hv_domain *d = hv_domain_get_by_id(a->dom, cur->domain);
	struct hv_evtchn *chn;
	int port, rc;

	if (!d)
		return -XEN_ESRCH;
	pthread_rwlock_wrlock(&d->event_lock);
	port = rc = hv_get_free_port(d);
	if (rc < 0)
		goto out;
	rc = 0;
	chn = hv_evtchn_from_port(d, (uint32_t)port);
	if (d != cur->domain) {
		rc = -XEN_EPERM;
		goto out;
	}
	hv_chn_wrlock(chn);
	chn->u.unbound_remote_domid = a->remote_dom == DOMID_SELF ?
					      cur->domain->domid :
					      a->remote_dom;
	hv_chn_set_state(chn, ECS_UNBOUND);
	hv_evtchn_port_init(d, chn);
	hv_chn_unlock(chn);
	a->port = (evtchn_port_t)port;
out:
	hv_check_free_port(d, port);
	pthread_rwlock_unlock(&d->event_lock);
	hv_domain_put(d);
	return rc;
}

static long hv_evtchn_bind_xen_again(struct hv_domain *ld,
				     struct evtchn_bind_interdomain *b);

/*
 * evtchn_bind_interdomain(): -ESRCH for an unknown remote_dom; local port
 * first (-ENOSPC); a bad remote port, or one not unbound for us -> -EINVAL.
 * Loopback (remote_dom = self) is allowed.  After binding, "We may have
 * lost notifications on the remote unbound port. Fix that up here by
 * conservatively always setting a notification on the local port."
 */
static long hv_evtchn_bind_interdomain(struct hv_vcpu *cur,
				       struct evtchn_bind_interdomain *b)
{
	struct hv_domain *ld = cur->domain, *rd;
	struct hv_evtchn *lchn, *rchn;
	uint32_t rport = b->remote_port;
	int lport, rc;

	rd = hv_domain_get_by_id(b->remote_dom, ld);
	if (!rd && b->remote_dom == 0)
		return hv_evtchn_bind_xen_again(ld, b);
	if (!rd)
		return -XEN_ESRCH;
	/* "Avoid deadlock by first acquiring lock of domain with smaller id"
	 * (by address, as Xen). */
	if ((uintptr_t)ld < (uintptr_t)rd) {
		pthread_rwlock_wrlock(&ld->event_lock);
		pthread_rwlock_wrlock(&rd->event_lock);
	} else {
		if (ld != rd)
			pthread_rwlock_wrlock(&rd->event_lock);
		pthread_rwlock_wrlock(&ld->event_lock);
	}

	lport = rc = hv_get_free_port(ld);
	if (rc < 0)
		goto out;
	rc = 0;
	lchn = hv_evtchn_from_port(ld, (uint32_t)lport);

	rchn = hv_evtchn_lookup(rd, rport);
	if (!rchn || hv_chn_state(rchn) != ECS_UNBOUND ||
	    rchn->u.unbound_remote_domid != ld->domid) {
		rc = -XEN_EINVAL;
		goto out;
	}

	hv_double_chn_lock(lchn, rchn);
	lchn->u.interdomain.remote_dom = rd;
	lchn->u.interdomain.remote_port = rport;
	hv_chn_set_state(lchn, ECS_INTERDOMAIN);
	hv_evtchn_port_init(ld, lchn);
	rchn->u.interdomain.remote_dom = ld;
	rchn->u.interdomain.remote_port = (uint32_t)lport;
	hv_chn_set_state(rchn, ECS_INTERDOMAIN);
	hv_evtchn_port_set_pending(ld, hv_chn_notify_vcpu(lchn), lchn);
	hv_double_chn_unlock(lchn, rchn);

	b->local_port = (evtchn_port_t)lport;
out:
	hv_check_free_port(ld, lport);
	pthread_rwlock_unlock(&ld->event_lock);
	if (ld != rd)
		pthread_rwlock_unlock(&rd->event_lock);
	hv_domain_put(rd);
	return rc;
}

/*
 * evtchn_bind_virq(): virq >= NR_VIRQS -> -EINVAL; a global VIRQ on a
 * vCPU other than 0 -> -EINVAL; no such vCPU -> -ENOENT; already bound on
 * that vCPU -> -EEXIST; then a free port (-ENOSPC).
 */
static long hv_evtchn_bind_virq(struct hv_vcpu *cur, struct evtchn_bind_virq *b)
{
	struct hv_domain *d = cur->domain;
	uint32_t virq = b->virq, vcpu = b->vcpu;
	struct hv_evtchn *chn;
	struct hv_vcpu *v;
	int port, rc = 0;

	if (virq >= NR_VIRQS)
		return -XEN_EINVAL;
	if (hv_virq_is_global(virq) && vcpu != 0)
		return -XEN_EINVAL;
	if (vcpu >= d->nr_vcpus)
		return -XEN_ENOENT;
	v = &d->vcpus[vcpu];

	pthread_rwlock_wrlock(&d->event_lock);
	if (__atomic_load_n(&v->virq_to_evtchn[virq], __ATOMIC_ACQUIRE)) {
		rc = -XEN_EEXIST;
		goto out;
	}
	port = rc = hv_get_free_port(d);
	if (rc < 0)
		goto out;
	rc = 0;
	chn = hv_evtchn_from_port(d, (uint32_t)port);
	hv_chn_wrlock(chn);
	hv_chn_set_notify(chn, vcpu);
	chn->u.virq = virq;
	hv_chn_set_state(chn, ECS_VIRQ);
	hv_evtchn_port_init(d, chn);
	hv_chn_unlock(chn);
	b->port = (evtchn_port_t)port;
	__atomic_store_n(&v->virq_to_evtchn[virq], (uint32_t)port,
			 __ATOMIC_RELEASE);
out:
	pthread_rwlock_unlock(&d->event_lock);
	return rc;
}

/* evtchn_bind_ipi(): no such vCPU -> -ENOENT, then a free port. */
static long hv_evtchn_bind_ipi(struct hv_vcpu *cur, struct evtchn_bind_ipi *b)
{
	struct hv_domain *d = cur->domain;
	struct hv_evtchn *chn;
	int port, rc = 0;

	if (b->vcpu >= d->nr_vcpus)
		return -XEN_ENOENT;
	pthread_rwlock_wrlock(&d->event_lock);
	port = hv_get_free_port(d);
	if (port < 0) {
		rc = port;
		goto out;
	}
	chn = hv_evtchn_from_port(d, (uint32_t)port);
	hv_chn_wrlock(chn);
	hv_chn_set_notify(chn, b->vcpu);
	hv_chn_set_state(chn, ECS_IPI);
	hv_evtchn_port_init(d, chn);
	hv_chn_unlock(chn);
	b->port = (evtchn_port_t)port;
out:
	pthread_rwlock_unlock(&d->event_lock);
	return rc;
}

static void hv_xen_end_unbound(struct hv_domain *d, struct hv_evtchn *chn);

/*
 * evtchn_close(): bad port, free or reserved -> -EINVAL.  Closing one end
 * of an interdomain channel returns the other end to unbound (for us).
 * Both domains' event locks are taken in address order, retrying when
 * that means dropping ours first ("goto again").
 */
static long hv_evtchn_close(struct hv_domain *d1, uint32_t port1)
{
	struct hv_evtchn *chn1 = hv_evtchn_lookup(d1, port1), *chn2;
	struct hv_domain *d2 = NULL;
	long rc = 0;

	if (!chn1)
		return -XEN_EINVAL;
again:
	pthread_rwlock_wrlock(&d1->event_lock);
	switch (hv_chn_state(chn1)) {
	case ECS_FREE:
	case ECS_RESERVED:
		rc = -XEN_EINVAL;
		goto out;
	case ECS_UNBOUND:
	case ECS_IPI:
		break;
	case ECS_HV_XEN: /* the write lock below waits out a running fn */
		hv_xen_end_unbound(d1, chn1);
		break;
	case ECS_VIRQ: {
		unsigned int virq = chn1->u.virq;
		struct hv_vcpu *v =
			&d1->vcpus[hv_virq_is_global(virq) ?
					   0 :
					   hv_chn_notify_vcpu(chn1)];

		pthread_rwlock_wrlock(&v->virq_lock);
		__atomic_store_n(&v->virq_to_evtchn[virq], 0, __ATOMIC_RELEASE);
		pthread_rwlock_unlock(&v->virq_lock);
		break;
	}
	case ECS_INTERDOMAIN:
		if (!d2) {
			d2 = chn1->u.interdomain.remote_dom;
			hv_domain_ref(d2);
			if ((uintptr_t)d1 < (uintptr_t)d2) {
				pthread_rwlock_wrlock(&d2->event_lock);
			} else if (d1 != d2) {
				pthread_rwlock_unlock(&d1->event_lock);
				pthread_rwlock_wrlock(&d2->event_lock);
				goto again;
			}
		} else if (d2 != chn1->u.interdomain.remote_dom) {
			/* Closed and re-bound while d1 was unlocked. */
			rc = -XEN_EINVAL;
			goto out;
		}
		chn2 = hv_evtchn_from_port(d2, chn1->u.interdomain.remote_port);
		hv_double_chn_lock(chn1, chn2);
		hv_evtchn_free(d1, chn1);
		chn2->u.unbound_remote_domid = d1->domid;
		hv_chn_set_state(chn2, ECS_UNBOUND);
		hv_double_chn_unlock(chn1, chn2);
		goto out;
	default:
		rc = -XEN_EINVAL;
		goto out;
	}
	hv_chn_wrlock(chn1);
	hv_evtchn_free(d1, chn1);
	hv_chn_unlock(chn1);
out:
	if (d2) {
		if (d1 != d2)
			pthread_rwlock_unlock(&d2->event_lock);
		hv_domain_put(d2);
	}
	pthread_rwlock_unlock(&d1->event_lock);
	return rc;
}

/*
 * evtchn_send(): bad port -> -EINVAL; under the local channel's read lock:
 * interdomain -> the remote port on its notify vCPU; IPI -> our port;
 * unbound -> "silently drop the notification" (0); other states -> -EINVAL.
 */
static long hv_evtchn_send(struct hv_domain *ld, uint32_t lport)
{
	struct hv_evtchn *lchn = hv_evtchn_lookup(ld, lport), *rchn;
	struct hv_domain *rd;
	long rc = 0;

	if (!lchn)
		return -XEN_EINVAL;
	hv_stat_inc(ld, sends);
	hv_chn_rdlock(lchn);
	switch (hv_chn_state(lchn)) {
	case ECS_INTERDOMAIN:
		rd = lchn->u.interdomain.remote_dom;
		rchn = hv_evtchn_from_port(rd, lchn->u.interdomain.remote_port);
		hv_evtchn_port_set_pending(rd, hv_chn_notify_vcpu(rchn), rchn);
		break;
	case ECS_IPI:
		hv_evtchn_port_set_pending(ld, hv_chn_notify_vcpu(lchn), lchn);
		break;
	case ECS_HV_XEN:
		/* evtchn_send(): "if ( consumer_is_xen(rchn) )
		 * xen_notification_fn(rchn)(...)", under the read lock. */
		lchn->u.xen.fn(ld, lport, lchn->u.xen.arg);
		break;
	case ECS_UNBOUND:
		break;
	default:
		rc = -XEN_EINVAL;
		break;
	}
	hv_chn_unlock(lchn);
	return rc;
}

/*
 * evtchn_status(): unknown dom -> -ESRCH; bad port -> -EINVAL; then the
 * XSM_TARGET check (-EPERM for another domain).  Free and reserved ports
 * read as EVTCHNSTAT_closed.
 */
static long hv_evtchn_status(struct hv_vcpu *cur, struct evtchn_status *st)
{
	struct hv_domain *d = hv_domain_get_by_id(st->dom, cur->domain);
	struct hv_evtchn *chn;
	long rc = 0;

	if (!d)
		return -XEN_ESRCH;
	chn = hv_evtchn_lookup(d, st->port);
	if (!chn) {
		hv_domain_put(d);
		return -XEN_EINVAL;
	}
	pthread_rwlock_rdlock(&d->event_lock);
	if (d != cur->domain) {
		rc = -XEN_EPERM;
		goto out;
	}
	switch (hv_chn_state(chn)) {
	case ECS_FREE:
	case ECS_RESERVED:
		st->status = EVTCHNSTAT_closed;
		break;
	case ECS_UNBOUND:
		st->status = EVTCHNSTAT_unbound;
		st->u.unbound.dom = chn->u.unbound_remote_domid;
		break;
	case ECS_INTERDOMAIN:
		st->status = EVTCHNSTAT_interdomain;
		st->u.interdomain.dom = chn->u.interdomain.remote_dom->domid;
		st->u.interdomain.port = chn->u.interdomain.remote_port;
		break;
	case ECS_HV_XEN: /* as Xen shows it: interdomain to dom0 */
		st->status = EVTCHNSTAT_interdomain;
		st->u.interdomain.dom = 0;
		st->u.interdomain.port = chn->u.xen.remote_port;
		break;
	case ECS_VIRQ:
		st->status = EVTCHNSTAT_virq;
		st->u.virq = chn->u.virq;
		break;
	case ECS_IPI:
		st->status = EVTCHNSTAT_ipi;
		break;
	}
	st->vcpu = hv_chn_notify_vcpu(chn);
out:
	pthread_rwlock_unlock(&d->event_lock);
	hv_domain_put(d);
	return rc;
}

/*
 * evtchn_bind_vcpu(): no such vCPU -> -ENOENT; bad port -> -EINVAL; only
 * unbound and interdomain ports, and global VIRQs, may move; anything else
 * (free, IPI, per-vCPU VIRQ) -> -EINVAL.
 */
static long hv_evtchn_bind_vcpu(struct hv_vcpu *cur, uint32_t port,
				uint32_t vcpu)
{
	struct hv_domain *d = cur->domain;
	struct hv_evtchn *chn;
	long rc = 0;

	if (vcpu >= d->nr_vcpus)
		return -XEN_ENOENT;
	chn = hv_evtchn_lookup(d, port);
	if (!chn)
		return -XEN_EINVAL;
	pthread_rwlock_wrlock(&d->event_lock);
	switch (hv_chn_state(chn)) {
	case ECS_VIRQ:
		if (hv_virq_is_global(chn->u.virq))
			hv_chn_set_notify(chn, vcpu);
		else
			rc = -XEN_EINVAL;
		break;
	case ECS_UNBOUND:
	case ECS_INTERDOMAIN:
	case ECS_HV_XEN:
		hv_chn_set_notify(chn, vcpu);
		break;
	default:
		rc = -XEN_EINVAL;
		break;
	}
	pthread_rwlock_unlock(&d->event_lock);
	return rc;
}

/* evtchn_unmask(): bad port -> -EINVAL, otherwise 0. */
static long hv_evtchn_unmask(struct hv_domain *d, uint32_t port)
{
	struct hv_evtchn *chn = hv_evtchn_lookup(d, port);

	if (!chn)
		return -XEN_EINVAL;
	hv_chn_rdlock(chn);
	if (hv_evtchn_usable(chn))
		hv_port_ops(d)->unmask(d, chn);
	hv_chn_unlock(chn);
	return 0;
}

/*
 * evtchn_set_priority() / evtchn_port_set_priority(): bad port -> -EINVAL;
 * 2-level (no set_priority op) -> -ENOSYS; unusable port -> -EACCES;
 * priority > EVTCHN_FIFO_PRIORITY_MIN -> -EINVAL.
 */
static long hv_evtchn_set_priority(struct hv_domain *d,
				   const struct evtchn_set_priority *sp)
{
	struct hv_evtchn *chn = hv_evtchn_lookup(d, sp->port);
	const struct hv_port_ops *ops;
	long rc;

	if (!chn)
		return -XEN_EINVAL;
	hv_chn_rdlock(chn);
	ops = hv_port_ops(d);
	if (!ops->set_priority)
		rc = -XEN_ENOSYS;
	else if (!hv_evtchn_usable(chn))
		rc = -XEN_EACCES;
	else
		rc = ops->set_priority(d, chn, sp->priority);
	hv_chn_unlock(chn);
	return rc;
}

static bool hv_has_active_evtchns(const struct hv_domain *d)
{
	return __atomic_load_n(&d->active_evtchns, __ATOMIC_SEQ_CST) > 0;
}

/*
 * evtchn_reset(): a second reset while one runs -> -EBUSY; close every
 * port; if some remain active -> -EAGAIN; else leave FIFO for 2-level
 * (evtchn_fifo_destroy + evtchn_2l_init).  hv never preempts, so there is
 * no -ERESTART / EVTCHNOP_reset_cont continuation.
 */
static long hv_evtchn_reset(struct hv_domain *d)
{
	unsigned int i;
	long rc = 0;

	pthread_rwlock_wrlock(&d->event_lock);
	if (d->reset_in_progress) {
		pthread_rwlock_unlock(&d->event_lock);
		return -XEN_EBUSY;
	}
	d->reset_in_progress = true;
	pthread_rwlock_unlock(&d->event_lock);

	for (i = 1; hv_port_is_valid(d, i) && hv_has_active_evtchns(d); i++)
		hv_evtchn_close(d, i);

	pthread_rwlock_wrlock(&d->event_lock);
	d->reset_in_progress = false;
	if (hv_has_active_evtchns(d)) {
		rc = -XEN_EAGAIN;
	} else if (__atomic_load_n(&d->evtchn_fifo, __ATOMIC_ACQUIRE)) {
		hv_fifo_destroy(d);
		__atomic_store_n(&d->evtchn_port_ops, &hv_evtchn_ops_2l,
				 __ATOMIC_RELEASE);
	}
	pthread_rwlock_unlock(&d->event_lock);
	return rc;
}

/* EVTCHNOP_reset: unknown dom -> -ESRCH; another domain -> -EPERM. */
static long hv_evtchnop_reset(struct hv_vcpu *cur, const struct evtchn_reset *r)
{
	struct hv_domain *d = hv_domain_get_by_id(r->dom, cur->domain);
	long rc;

	if (!d)
		return -XEN_ESRCH;
	rc = d == cur->domain ? hv_evtchn_reset(d) : -XEN_EPERM;
	hv_domain_put(d);
	return rc;
}

#define HV_COPY_IN(var, arg)                        \
	do {                                        \
		if (!(arg))                         \
			return -XEN_EFAULT;         \
		memcpy(&(var), (arg), sizeof(var)); \
	} while (0)

#define HV_COPY_OUT(arg, var, rc)                           \
	do {                                                \
		if (!(rc))                                  \
			memcpy((arg), &(var), sizeof(var)); \
	} while (0)

/* do_event_channel_op(): unknown command -> -ENOSYS. */
static long hv_evtchn_op(struct hv_vcpu *v, int cmd, void *arg)
{
	struct hv_domain *d = v->domain;
	long rc;

	switch (cmd) {
	case EVTCHNOP_alloc_unbound: {
		struct evtchn_alloc_unbound a;

		HV_COPY_IN(a, arg);
		rc = hv_evtchn_alloc_unbound(v, &a);
		HV_COPY_OUT(arg, a, rc);
		return rc;
	}
	case EVTCHNOP_bind_interdomain: {
		struct evtchn_bind_interdomain b;

		HV_COPY_IN(b, arg);
		rc = hv_evtchn_bind_interdomain(v, &b);
		HV_COPY_OUT(arg, b, rc);
		return rc;
	}
	case EVTCHNOP_bind_virq: {
		struct evtchn_bind_virq b;

		HV_COPY_IN(b, arg);
		rc = hv_evtchn_bind_virq(v, &b);
		HV_COPY_OUT(arg, b, rc);
		return rc;
	}
	case EVTCHNOP_bind_ipi: {
		struct evtchn_bind_ipi b;

		HV_COPY_IN(b, arg);
		rc = hv_evtchn_bind_ipi(v, &b);
		HV_COPY_OUT(arg, b, rc);
		return rc;
	}
	case EVTCHNOP_bind_pirq: {
		struct evtchn_bind_pirq b;

		/* evtchn_bind_pirq(): "pirq >= d->nr_pirqs" -> -EINVAL; the
		 * model's domains have no PIRQs. */
		HV_COPY_IN(b, arg);
		return -XEN_EINVAL;
	}
	case EVTCHNOP_close: {
		struct evtchn_close c;

		HV_COPY_IN(c, arg);
		return hv_evtchn_close(d, c.port);
	}
	case EVTCHNOP_send: {
		struct evtchn_send s;

		HV_COPY_IN(s, arg);
		return hv_evtchn_send(d, s.port);
	}
	case EVTCHNOP_status: {
		struct evtchn_status s;

		HV_COPY_IN(s, arg);
		rc = hv_evtchn_status(v, &s);
		HV_COPY_OUT(arg, s, rc);
		return rc;
	}
	case EVTCHNOP_bind_vcpu: {
		struct evtchn_bind_vcpu b;

		HV_COPY_IN(b, arg);
		return hv_evtchn_bind_vcpu(v, b.port, b.vcpu);
	}
	case EVTCHNOP_unmask: {
		struct evtchn_unmask u;

		HV_COPY_IN(u, arg);
		return hv_evtchn_unmask(d, u.port);
	}
	case EVTCHNOP_reset:
	case EVTCHNOP_reset_cont: {
		struct evtchn_reset r;

		HV_COPY_IN(r, arg);
		return hv_evtchnop_reset(v, &r);
	}
	case EVTCHNOP_init_control: {
		struct evtchn_init_control ic;

		if (d->cfg.no_fifo)
			return -XEN_ENOSYS;
		HV_COPY_IN(ic, arg);
		rc = hv_fifo_init_control(v, &ic);
		HV_COPY_OUT(arg, ic, rc);
		return rc;
	}
	case EVTCHNOP_expand_array: {
		struct evtchn_expand_array ea;

		if (d->cfg.no_fifo)
			return -XEN_ENOSYS;
		HV_COPY_IN(ea, arg);
		return hv_fifo_expand_array(v, &ea);
	}
	case EVTCHNOP_set_priority: {
		struct evtchn_set_priority sp;

		HV_COPY_IN(sp, arg);
		return hv_evtchn_set_priority(d, &sp);
	}
	default:
		return -XEN_ENOSYS;
	}
}

/* The hypercall, with hv_domain_set_evtchn_hook()'s hook around it. */
long hv_do_event_channel_op(struct hv_vcpu *v, int cmd, void *arg)
{
	struct hv_domain *d = v->domain;
	hv_evtchn_hook_fn fn =
		__atomic_load_n(&d->evtchn_hook, __ATOMIC_ACQUIRE);
	void *data;
	long rc;

	if (!fn)
		return hv_evtchn_op(v, cmd, arg);
	data = __atomic_load_n(&d->evtchn_hook_data, __ATOMIC_ACQUIRE);
	rc = fn(v, cmd, arg, false, 0, data);
	if (rc)
		return rc;
	rc = hv_evtchn_op(v, cmd, arg);
	fn(v, cmd, arg, true, rc, data);
	return rc;
}

/* --- SCHEDOP_poll support ------------------------------------------------- */

/* evtchn_port_poll(): -EINVAL unless valid and usable, else pending. */
int hv_evtchn_port_poll(struct hv_domain *d, uint32_t port)
{
	struct hv_evtchn *chn = hv_evtchn_lookup(d, port);
	int rc = -XEN_EINVAL;

	if (!chn)
		return rc;
	hv_chn_rdlock(chn);
	if (hv_evtchn_usable(chn))
		rc = hv_port_ops(d)->is_pending(d, chn) ? 1 : 0;
	hv_chn_unlock(chn);
	return rc;
}

/* evtchn_check_pollers(): wake vCPUs polling this port (or any port). */
void hv_evtchn_check_pollers(struct hv_domain *d, uint32_t port)
{
	unsigned long mask = __atomic_load_n(&d->poll_mask, __ATOMIC_SEQ_CST);
	unsigned int i;

	if (!mask)
		return;
	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_vcpu *v = &d->vcpus[i];
		unsigned long bit = 1UL << i;
		int pe;

		if (!(mask & bit))
			continue;
		pe = __atomic_load_n(&v->poll_evtchn, __ATOMIC_SEQ_CST);
		if ((pe <= 0 || (uint32_t)pe == port) &&
		    (__atomic_fetch_and(&d->poll_mask, ~bit, __ATOMIC_SEQ_CST) &
		     bit)) {
			__atomic_store_n(&v->poll_evtchn, 0, __ATOMIC_SEQ_CST);
			hv_vcpu_unblock(v);
		}
	}
}

/* --- VIRQs (send_guest_vcpu_virq / send_guest_global_virq) -------------- */

static void hv_send_virq_port(struct hv_domain *d, struct hv_vcpu *v,
			      unsigned int virq, bool global)
{
	struct hv_evtchn *chn;
	uint32_t port;

	pthread_rwlock_rdlock(&v->virq_lock);
	port = __atomic_load_n(&v->virq_to_evtchn[virq], __ATOMIC_ACQUIRE);
	if (port) {
		chn = hv_evtchn_from_port(d, port);
		if (pthread_rwlock_tryrdlock(&chn->lock) == 0) {
			hv_evtchn_port_set_pending(
				d, global ? hv_chn_notify_vcpu(chn) : v->id,
				chn);
			hv_chn_unlock(chn);
		}
	}
	pthread_rwlock_unlock(&v->virq_lock);
}

int hv_send_guest_vcpu_virq(struct hv_vcpu *v, unsigned int virq)
{
	struct hv_vcpu *cur = hv_vcpu_current();

	if (virq >= NR_VIRQS || hv_virq_is_global(virq))
		return -XEN_EINVAL;
	if (cur)
		hv_enter(cur);
	hv_send_virq_port(v->domain, v, virq, false);
	if (cur)
		hv_leave(cur);
	return 0;
}

int hv_send_guest_global_virq(struct hv_domain *d, unsigned int virq)
{
	struct hv_vcpu *cur = hv_vcpu_current();

	if (virq >= NR_VIRQS || !hv_virq_is_global(virq))
		return -XEN_EINVAL;
	if (cur)
		hv_enter(cur);
	hv_send_virq_port(d, &d->vcpus[0], virq, true);
	if (cur)
		hv_leave(cur);
	return 0;
}

/* --- domain setup and teardown ------------------------------------------- */

/* evtchn_init(): 2-level ops, first bucket, port 0 reserved. */
int hv_evtchn_init(struct hv_domain *d)
{
	struct hv_evtchn *b = hv_alloc_bucket(0);

	if (!b)
		return -XEN_ENOMEM;
	d->evtchn_port_ops = &hv_evtchn_ops_2l;
	d->buckets[0] = b;
	d->valid_evtchns = HV_EVTCHNS_PER_BUCKET;
	d->free_hint = 0;
	if (hv_get_free_port(d) != 0)
		return -XEN_EINVAL;
	b[0].state = ECS_RESERVED;
	d->active_evtchns = 0;
	return 0;
}

/* evtchn_destroy(): close every port from the top, then drop FIFO. */
void hv_evtchn_destroy(struct hv_domain *d)
{
	unsigned int i;

	for (i = __atomic_load_n(&d->valid_evtchns, __ATOMIC_ACQUIRE); --i;)
		hv_evtchn_close(d, i);
	pthread_rwlock_wrlock(&d->event_lock);
	hv_fifo_destroy(d);
	__atomic_store_n(&d->evtchn_port_ops, &hv_evtchn_ops_2l,
			 __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&d->event_lock);
}

/*
 * A restore's new domain has a fresh evtchn_init() (2-level, port 0
 * reserved, nothing bound): the old domain's evtchn_destroy() closed
 * every port (so its peers' ends went back to unbound, naming the old
 * domid) and dropped FIFO.  hv keeps the struct and its buckets (a port
 * in one reads ECS_FREE where Xen's new domain has no bucket yet and
 * answers -EINVAL); the Xen-consumer ends left unbound are forgotten:
 * nothing in a new domain names them.
 */
void hv_evtchn_restore_reset(struct hv_domain *d)
{
	hv_evtchn_destroy(d);
	pthread_rwlock_wrlock(&d->event_lock);
	d->nr_xen_unbound = 0;
	d->free_hint = 0;
	pthread_rwlock_unlock(&d->event_lock);
}

int hv_evtchn_port_priority(struct hv_domain *d, uint32_t port)
{
	struct hv_evtchn *chn = hv_evtchn_lookup(d, port);

	return chn ? __atomic_load_n(&chn->priority, __ATOMIC_ACQUIRE) : -1;
}

int hv_evtchn_open_ports(struct hv_domain *d, uint32_t *ports, unsigned int max)
{
	unsigned int i, valid, n = 0;

	pthread_rwlock_rdlock(&d->event_lock);
	valid = __atomic_load_n(&d->valid_evtchns, __ATOMIC_ACQUIRE);
	for (i = 1; i < valid; i++) {
		if (hv_chn_state(hv_evtchn_from_port(d, i)) <= ECS_RESERVED)
			continue;
		if (n < max)
			ports[n] = i;
		n++;
	}
	pthread_rwlock_unlock(&d->event_lock);
	return (int)n;
}

void hv_evtchn_free_buckets(struct hv_domain *d)
{
	unsigned int i, j;

	for (i = 0; i < HV_NR_BUCKETS; i++) {
		struct hv_evtchn *b = d->buckets[i];

		if (!b)
			continue;
		for (j = 0; j < HV_EVTCHNS_PER_BUCKET; j++)
			pthread_rwlock_destroy(&b[j].lock);
		free(b);
		d->buckets[i] = NULL;
	}
	hv_fifo_free_retired(d);
}

/* --- Xen-consumer channels (hv services as domain 0) ---------------------- */

/*
 * The dom0-side port number EVTCHNOP_status reports for a Xen-consumer
 * channel: hv has no dom0 port table, so each connection gets a fresh
 * number (never 0, which Xen reserves).
 */
static uint32_t hv_xen_next_remote_port = 1;

static void hv_xen_connect(struct hv_evtchn *chn, hv_xen_consumer_fn fn,
			   void *arg)
{
	chn->u.xen.fn = fn;
	chn->u.xen.arg = arg;
	chn->u.xen.remote_port = __atomic_fetch_add(&hv_xen_next_remote_port, 1,
						    __ATOMIC_RELAXED);
	hv_chn_set_state(chn, ECS_HV_XEN);
}

/*
 * evtchn_bind_interdomain() as dom0 would call it: "if ( (rchn->state !=
 * ECS_UNBOUND) || (rchn->u.unbound.remote_domid != ld->domain_id) )" ->
 * -EINVAL (ld is dom0 here), then both ends are connected and the binder's
 * new port is raised ("evtchn_port_set_pending(ld, lchn->notify_vcpu_id,
 * lchn)"): here that is one call of fn.
 */
int hv_evtchn_bind_xen(struct hv_domain *d, uint32_t port,
		       hv_xen_consumer_fn fn, void *arg)
{
	struct hv_vcpu *cur = hv_vcpu_current();
	struct hv_evtchn *chn;
	int rc = -XEN_EINVAL;

	if (!fn)
		return -XEN_EINVAL;
	if (cur)
		hv_enter(cur);
	pthread_rwlock_wrlock(&d->event_lock);
	chn = hv_evtchn_lookup(d, port);
	if (chn) {
		hv_chn_wrlock(chn);
		if (hv_chn_state(chn) == ECS_UNBOUND &&
		    chn->u.unbound_remote_domid == 0) {
			hv_xen_connect(chn, fn, arg);
			rc = 0;
		}
		hv_chn_unlock(chn);
	}
	pthread_rwlock_unlock(&d->event_lock);
	if (!rc)
		fn(d, port, arg);
	if (cur)
		hv_leave(cur);
	return rc;
}

/* alloc_unbound_xen_event_channel(): get_free_port(), then connected. */
int hv_evtchn_alloc_xen_unbound(struct hv_domain *d, hv_xen_consumer_fn fn,
				void *arg)
{
	struct hv_vcpu *cur = hv_vcpu_current();
	struct hv_evtchn *chn;
	int port;

	if (!fn)
		return -XEN_EINVAL;
	if (cur)
		hv_enter(cur);
	pthread_rwlock_wrlock(&d->event_lock);
	port = hv_get_free_port(d);
	if (port >= 0) {
		chn = hv_evtchn_from_port(d, (uint32_t)port);
		hv_chn_wrlock(chn);
		hv_xen_connect(chn, fn, arg);
		hv_evtchn_port_init(d, chn);
		hv_chn_unlock(chn);
	}
	pthread_rwlock_unlock(&d->event_lock);
	if (cur)
		hv_leave(cur);
	return port;
}

/*
 * Our end of a Xen-consumer channel is being closed (event_lock and the
 * channel held): domain 0's end goes back to unbound for us, as
 * evtchn_close() leaves the remote end of any interdomain channel
 * ("chn2->state = ECS_UNBOUND; chn2->u.unbound.remote_domid =
 * d1->domain_id"), so the service is noted for a later bind.  A full
 * table loses the service, as a close did before.
 */
static void hv_xen_end_unbound(struct hv_domain *d, struct hv_evtchn *chn)
{
	if (d->nr_xen_unbound >= HV_XEN_UNBOUND_MAX)
		return;
	d->xen_unbound[d->nr_xen_unbound++] = (struct hv_xen_unbound){
		.remote_port = chn->u.xen.remote_port,
		.old_port = chn->port,
		.fn = chn->u.xen.fn,
		.arg = chn->u.xen.arg,
	};
}

/*
 * evtchn_bind_interdomain() to domain 0's end of a channel our close
 * left unbound for us (hv_xen_end_unbound): a fresh local port
 * (-ENOSPC), connected to the same service with the same dom0 port
 * number, and raised as every bind_interdomain raises the binder's
 * port.  A remote port that is no such end: -EINVAL, as Xen answers
 * for a remote port not unbound for us.
 */
static long hv_evtchn_bind_xen_again(struct hv_domain *ld,
				     struct evtchn_bind_interdomain *b)
{
	struct hv_evtchn *chn;
	unsigned int i;
	int port;
	long rc = -XEN_EINVAL;

	pthread_rwlock_wrlock(&ld->event_lock);
	for (i = 0; i < ld->nr_xen_unbound; i++)
		if (ld->xen_unbound[i].remote_port == b->remote_port)
			break;
	if (i == ld->nr_xen_unbound)
		goto out;
	port = hv_get_free_port(ld);
	if (port < 0) {
		rc = port;
		goto out;
	}
	chn = hv_evtchn_from_port(ld, (uint32_t)port);
	hv_chn_wrlock(chn);
	chn->u.xen.fn = ld->xen_unbound[i].fn;
	chn->u.xen.arg = ld->xen_unbound[i].arg;
	chn->u.xen.remote_port = b->remote_port;
	hv_chn_set_state(chn, ECS_HV_XEN);
	hv_evtchn_port_init(ld, chn);
	hv_evtchn_port_set_pending(ld, hv_chn_notify_vcpu(chn), chn);
	hv_chn_unlock(chn);
	ld->xen_unbound[i] = ld->xen_unbound[--ld->nr_xen_unbound];
	b->local_port = (evtchn_port_t)port;
	rc = 0;
out:
	pthread_rwlock_unlock(&ld->event_lock);
	return rc;
}

/*
 * notify_via_xen_event_channel(): under the channel's read lock, "if (
 * chn->state == ECS_INTERDOMAIN ) evtchn_port_set_pending(rd,
 * rchn->notify_vcpu_id, rchn)".  The read lock excludes a concurrent
 * close (which takes it for writing), so the state seen is the state the
 * event goes to; buckets live as long as the domain, so a closed port is
 * never freed memory.
 */
int hv_evtchn_notify_guest(struct hv_domain *d, uint32_t port)
{
	struct hv_vcpu *cur = hv_vcpu_current();
	struct hv_evtchn *chn = hv_evtchn_lookup(d, port);
	int rc = -XEN_EINVAL;

	if (!chn)
		return rc;
	if (cur)
		hv_enter(cur);
	hv_chn_rdlock(chn);
	if (hv_chn_state(chn) == ECS_HV_XEN) {
		hv_evtchn_port_set_pending(d, hv_chn_notify_vcpu(chn), chn);
		rc = 0;
	}
	hv_chn_unlock(chn);
	if (cur)
		hv_leave(cur);
	return rc;
}

/*
 * Closing dom0's end (evtchn_close() of the remote port): the guest's end
 * goes back to unbound with remote_domid 0.  The write lock waits for a
 * send that is inside fn.
 */
void hv_evtchn_unbind_xen(struct hv_domain *d, uint32_t port)
{
	struct hv_vcpu *cur = hv_vcpu_current();
	struct hv_evtchn *chn;
	unsigned int i;

	if (cur)
		hv_enter(cur);
	pthread_rwlock_wrlock(&d->event_lock);
	chn = hv_evtchn_lookup(d, port);
	if (chn) {
		hv_chn_wrlock(chn);
		if (hv_chn_state(chn) == ECS_HV_XEN) {
			chn->u.unbound_remote_domid = 0;
			hv_chn_set_state(chn, ECS_UNBOUND);
		}
		hv_chn_unlock(chn);
	}
	/* An end our guest closed: the service's end is closed too now. */
	for (i = 0; i < d->nr_xen_unbound;)
		if (d->xen_unbound[i].old_port == port)
			d->xen_unbound[i] = d->xen_unbound[--d->nr_xen_unbound];
		else
			i++;
	pthread_rwlock_unlock(&d->event_lock);
	if (cur)
		hv_leave(cur);
}
