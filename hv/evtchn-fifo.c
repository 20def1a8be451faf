// SPDX-License-Identifier: GPL-2.0
/*
 * The FIFO event channel ABI, after xen/common/event_fifo.c of Xen
 * RELEASE-4.17.7 (with 70ccddb14a "READY only for a new head", e33d4257fc
 * "old tail invalidation", 917c123029 "keep pending state without an event
 * array page", 78e24c269b "don't reuse LINKED ports").
 *
 * Event words and control blocks live in guest memory and are accessed
 * with fully ordered atomics (Xen's guest_test_and_set_bit() & co on x86).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv-internal.h"

#define HV_FIFO_WORDS_PER_PAGE (HV_PAGE_SIZE / sizeof(event_word_t))
#define HV_FIFO_MAX_PAGES (EVTCHN_FIFO_NR_CHANNELS / HV_FIFO_WORDS_PER_PAGE)

#define HV_FIFO_BIT(b) ((event_word_t)1 << (b))

struct hv_fifo_queue {
	uint32_t *head; /* into the control block */
	uint32_t tail;	/* under lock */
	uint8_t priority;
	pthread_mutex_t lock;
};

struct hv_fifo_vcpu {
	struct evtchn_fifo_control_block *control_block; /* atomic */
	struct hv_fifo_queue queue[EVTCHN_FIFO_MAX_QUEUES];
};

struct hv_fifo_domain {
	event_word_t *event_array[HV_FIFO_MAX_PAGES]; /* atomic */
	unsigned int num_evtchns;		      /* atomic */
};

/*
 * FIFO state dropped by EVTCHNOP_reset is kept until the domain is
 * destroyed, so a set_pending racing with the reset never touches freed
 * memory (Xen frees it; its callers are serialised by the channel locks).
 */
struct hv_fifo_retired {
	struct hv_fifo_retired *next;
	struct hv_fifo_vcpu *vcpu;
	struct hv_fifo_domain *dom;
};

/*
 * union evtchn_fifo_lastq: last_priority and last_vcpu_id packed in one
 * 32-bit word read and written atomically.
 */
static uint32_t hv_lastq_make(unsigned int vcpu, unsigned int prio)
{
	return (prio & 0xff) | ((uint32_t)vcpu << 16);
}

static unsigned int hv_lastq_vcpu(uint32_t raw)
{
	return raw >> 16;
}

static unsigned int hv_lastq_prio(uint32_t raw)
{
	return raw & 0xff;
}

static struct hv_fifo_vcpu *hv_vfifo(const struct hv_vcpu *v)
{
	return __atomic_load_n(&v->fifo, __ATOMIC_ACQUIRE);
}

static struct hv_fifo_domain *hv_dfifo(const struct hv_domain *d)
{
	return __atomic_load_n(&d->evtchn_fifo, __ATOMIC_ACQUIRE);
}

/* evtchn_fifo_word_from_port(): NULL beyond the event array. */
static event_word_t *hv_fifo_word(const struct hv_domain *d, uint32_t port)
{
	struct hv_fifo_domain *f = hv_dfifo(d);
	event_word_t *page;

	if (!f)
		return NULL;
	if (port >= __atomic_load_n(&f->num_evtchns, __ATOMIC_ACQUIRE))
		return NULL;
	page = __atomic_load_n(&f->event_array[port / HV_FIFO_WORDS_PER_PAGE],
			       __ATOMIC_ACQUIRE);
	return page + port % HV_FIFO_WORDS_PER_PAGE;
}

static bool hv_word_test(const event_word_t *w, unsigned int bit)
{
	return __atomic_load_n(w, __ATOMIC_SEQ_CST) & HV_FIFO_BIT(bit);
}

static bool hv_word_test_and_set(event_word_t *w, unsigned int bit)
{
	return __atomic_fetch_or(w, HV_FIFO_BIT(bit), __ATOMIC_SEQ_CST) &
	       HV_FIFO_BIT(bit);
}

static void hv_word_set(event_word_t *w, unsigned int bit)
{
	__atomic_fetch_or(w, HV_FIFO_BIT(bit), __ATOMIC_SEQ_CST);
}

static void hv_word_clear(event_word_t *w, unsigned int bit)
{
	__atomic_fetch_and(w, ~HV_FIFO_BIT(bit), __ATOMIC_SEQ_CST);
}

/* evtchn_fifo_init(): default priority for a newly bound port. */
static void hv_fifo_port_init(struct hv_domain *d, struct hv_evtchn *chn)
{
	event_word_t *w;

	__atomic_store_n(&chn->priority, EVTCHN_FIFO_PRIORITY_DEFAULT,
			 __ATOMIC_RELAXED);
	/* "If this event is still linked, the first event may be delivered
	 * on the wrong VCPU or with an unexpected priority." (a warning) */
	w = hv_fifo_word(d, chn->port);
	(void)(w && hv_word_test(w, EVTCHN_FIFO_LINKED));
}

/*
 * try_set_link(): if the word is still LINKED, replace LINK (clearing
 * BUSY) with one compare-exchange: 1 done, 0 not linked, -EAGAIN raced.
 */
static int hv_try_set_link(event_word_t *word, event_word_t *w, uint32_t link)
{
	event_word_t old = *w, new;

	if (!(old & HV_FIFO_BIT(EVTCHN_FIFO_LINKED)))
		return 0;
	new = (old & ~(HV_FIFO_BIT(EVTCHN_FIFO_BUSY) | EVTCHN_FIFO_LINK_MASK)) |
	      link;
	if (__atomic_compare_exchange_n(word, w, new, false, __ATOMIC_SEQ_CST,
					__ATOMIC_SEQ_CST))
		return 1;
	return -XEN_EAGAIN;
}

/*
 * evtchn_fifo_set_link(): "Atomically set the LINK field iff it is still
 * LINKED."  After one failed try, BUSY is set to block guest unmasking, so
 * "the cmpxchg() may fail at most 4 times"; after that the link is given
 * up but reported as done ("port %d not linked").
 */
static bool hv_fifo_set_link(struct hv_domain *d, event_word_t *word,
			     uint32_t link)
{
	event_word_t w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
	unsigned int try;
	int ret;

	ret = hv_try_set_link(word, &w, link);
	if (ret >= 0)
		return ret;
	hv_stat_inc(d, fifo_link_retries);

	hv_word_set(word, EVTCHN_FIFO_BUSY);
	w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
	for (try = 0; try < 4; try++) {
		ret = hv_try_set_link(word, &w, link);
		if (ret >= 0) {
			if (ret == 0)
				hv_word_clear(word, EVTCHN_FIFO_BUSY);
			return ret;
		}
		hv_stat_inc(d, fifo_link_retries);
	}
	hv_word_clear(word, EVTCHN_FIFO_BUSY);
	return true;
}

static void hv_q_lock_pair(struct hv_fifo_queue *q, struct hv_fifo_queue *oq)
{
	if (q == oq) {
		pthread_mutex_lock(&q->lock);
	} else if ((uintptr_t)q < (uintptr_t)oq) {
		pthread_mutex_lock(&q->lock);
		pthread_mutex_lock(&oq->lock);
	} else {
		pthread_mutex_lock(&oq->lock);
		pthread_mutex_lock(&q->lock);
	}
}

static void hv_q_unlock_pair(struct hv_fifo_queue *q, struct hv_fifo_queue *oq)
{
	if (q != oq)
		pthread_mutex_unlock(&oq->lock);
	pthread_mutex_unlock(&q->lock);
}

/*
 * evtchn_fifo_set_pending(), step by step as Xen 4.17:
 *  - no event-array page yet: remember evtchn->pending (917c123029);
 *  - lock the current queue and the last queue (lastq) in address order,
 *    re-check lastq, up to 3 tries, else "lost event (too many queue
 *    changes)";
 *  - no control block on the vCPU: drop the event;
 *  - set PENDING; link only if not MASKED and LINKED was clear;
 *  - invalidate old_q->tail if it is this port (e33d4257fc), record the new
 *    lastq when the queue changed;
 *  - link from the tail (set_link with BUSY); if not linked, we are the new
 *    head: write head, and only then set READY and mark events pending
 *    (70ccddb14a);
 *  - wake pollers when PENDING was newly set.
 */
static void hv_fifo_set_pending(struct hv_vcpu *v, struct hv_evtchn *chn)
{
	struct hv_domain *d = v->domain;
	uint32_t port = chn->port;
	struct hv_fifo_queue *q = NULL, *old_q = NULL;
	struct hv_fifo_vcpu *vf = hv_vfifo(v);
	struct evtchn_fifo_control_block *cb = NULL;
	event_word_t *word = hv_fifo_word(d, port);
	bool check_pollers = false, linked = true;
	unsigned int try;

	if (!word || !vf) {
		__atomic_store_n(&chn->pending, true, __ATOMIC_SEQ_CST);
		return;
	}

	for (try = 0; try < 3; try++) {
		uint32_t lastq =
			__atomic_load_n(&chn->fifo_lastq, __ATOMIC_SEQ_CST);
		struct hv_fifo_vcpu *ovf =
			hv_vfifo(&d->vcpus[hv_lastq_vcpu(lastq)]);

		q = &vf->queue[__atomic_load_n(&chn->priority,
					       __ATOMIC_SEQ_CST)];
		old_q = &ovf->queue[hv_lastq_prio(lastq)];
		hv_q_lock_pair(q, old_q);

		lastq = __atomic_load_n(&chn->fifo_lastq, __ATOMIC_SEQ_CST);
		ovf = hv_vfifo(&d->vcpus[hv_lastq_vcpu(lastq)]);
		if (q == &vf->queue[__atomic_load_n(&chn->priority,
						    __ATOMIC_SEQ_CST)] &&
		    old_q == &ovf->queue[hv_lastq_prio(lastq)])
			break;
		hv_q_unlock_pair(q, old_q);
	}
	if (try == 3) {
		hv_stat_inc(d, fifo_lost_queue_change);
		goto done;
	}

	cb = __atomic_load_n(&vf->control_block, __ATOMIC_ACQUIRE);
	if (!cb)
		goto unlock;

	check_pollers = !hv_word_test_and_set(word, EVTCHN_FIFO_PENDING);

	if (!hv_word_test(word, EVTCHN_FIFO_MASKED) &&
	    !hv_word_test_and_set(word, EVTCHN_FIFO_LINKED)) {
		if (old_q->tail == port)
			old_q->tail = 0;
		if (old_q != q) {
			__atomic_store_n(&chn->fifo_lastq,
					 hv_lastq_make(v->id, q->priority),
					 __ATOMIC_SEQ_CST);
			pthread_mutex_unlock(&old_q->lock);
			old_q = q;
		}
		linked = false;
		if (q->tail) {
			event_word_t *tw = hv_fifo_word(d, q->tail);

			if (tw)
				linked = hv_fifo_set_link(d, tw, port);
		}
		if (!linked)
			__atomic_store_n(q->head, port, __ATOMIC_SEQ_CST);
		q->tail = port;
	}
unlock:
	hv_q_unlock_pair(q, old_q);
done:
	if (!linked && !(__atomic_fetch_or(&cb->ready, 1U << q->priority,
					   __ATOMIC_SEQ_CST) &
			 (1U << q->priority))) {
		hv_stat_inc(d, fifo_new_heads);
		hv_vcpu_mark_events_pending(v);
	}
	if (check_pollers)
		hv_evtchn_check_pollers(d, port);
}

/* evtchn_fifo_clear_pending(): "Just clear the P bit." */
static void hv_fifo_clear_pending(struct hv_domain *d, struct hv_evtchn *chn)
{
	event_word_t *w = hv_fifo_word(d, chn->port);

	if (w)
		hv_word_clear(w, EVTCHN_FIFO_PENDING);
}

/* evtchn_fifo_unmask(): clear MASKED; "Relink if pending." */
static void hv_fifo_unmask(struct hv_domain *d, struct hv_evtchn *chn)
{
	struct hv_vcpu *v = &d->vcpus[hv_chn_notify_vcpu(chn)];
	event_word_t *w = hv_fifo_word(d, chn->port);

	if (!w)
		return;
	hv_word_clear(w, EVTCHN_FIFO_MASKED);
	if (hv_word_test(w, EVTCHN_FIFO_PENDING))
		hv_fifo_set_pending(v, chn);
}

static bool hv_fifo_is_pending(const struct hv_domain *d,
			       const struct hv_evtchn *chn)
{
	event_word_t *w = hv_fifo_word(d, chn->port);

	return w && hv_word_test(w, EVTCHN_FIFO_PENDING);
}

static bool hv_fifo_is_masked(const struct hv_domain *d,
			      const struct hv_evtchn *chn)
{
	event_word_t *w = hv_fifo_word(d, chn->port);

	return !w || hv_word_test(w, EVTCHN_FIFO_MASKED);
}

/* evtchn_fifo_is_busy(): still LINKED (78e24c269b). */
static bool hv_fifo_is_busy(const struct hv_domain *d,
			    const struct hv_evtchn *chn)
{
	event_word_t *w = hv_fifo_word(d, chn->port);

	return w && hv_word_test(w, EVTCHN_FIFO_LINKED);
}

/*
 * evtchn_fifo_set_priority(): > EVTCHN_FIFO_PRIORITY_MIN -> -EINVAL;
 * "Only need to switch to the new queue for future events."
 */
static int hv_fifo_set_priority(struct hv_domain *d, struct hv_evtchn *chn,
				unsigned int priority)
{
	(void)d;
	if (priority > EVTCHN_FIFO_PRIORITY_MIN)
		return -XEN_EINVAL;
	__atomic_store_n(&chn->priority, (uint8_t)priority, __ATOMIC_SEQ_CST);
	return 0;
}

const struct hv_port_ops hv_evtchn_ops_fifo = {
	.init = hv_fifo_port_init,
	.set_pending = hv_fifo_set_pending,
	.clear_pending = hv_fifo_clear_pending,
	.unmask = hv_fifo_unmask,
	.is_pending = hv_fifo_is_pending,
	.is_masked = hv_fifo_is_masked,
	.is_busy = hv_fifo_is_busy,
	.set_priority = hv_fifo_set_priority,
};

/* map_guest_page(): a gfn the domain does not have -> -EINVAL. */
int hv_map_guest_page(struct hv_domain *d, uint64_t gfn, void **virt)
{
	*virt = hv_gfn_to_virt(d, gfn);
	return *virt ? 0 : -XEN_EINVAL;
}

/* setup_control_block(): queues of one vCPU, no control block yet. */
static int hv_fifo_setup_vcpu(struct hv_vcpu *v)
{
	struct hv_fifo_vcpu *vf = calloc(1, sizeof(*vf));
	unsigned int i;

	if (!vf)
		return -XEN_ENOMEM;
	for (i = 0; i < EVTCHN_FIFO_MAX_QUEUES; i++) {
		pthread_mutex_init(&vf->queue[i].lock, NULL);
		vf->queue[i].priority = (uint8_t)i;
	}
	__atomic_store_n(&v->fifo, vf, __ATOMIC_RELEASE);
	return 0;
}

/*
 * map_control_block(): a second control block for the vCPU -> -EINVAL;
 * bad gfn -> -EINVAL; queue heads are set before the control block is
 * published (smp_wmb).
 */
static int hv_fifo_map_control_block(struct hv_vcpu *v, uint64_t gfn,
				     uint32_t offset)
{
	struct hv_fifo_vcpu *vf = hv_vfifo(v);
	struct evtchn_fifo_control_block *cb;
	unsigned int i;
	void *virt;
	int rc;

	if (__atomic_load_n(&vf->control_block, __ATOMIC_ACQUIRE))
		return -XEN_EINVAL;
	rc = hv_map_guest_page(v->domain, gfn, &virt);
	if (rc < 0)
		return rc;
	cb = (void *)((char *)virt + offset);
	for (i = 0; i < EVTCHN_FIFO_MAX_QUEUES; i++)
		vf->queue[i].head = &cb->head[i];
	__atomic_store_n(&vf->control_block, cb, __ATOMIC_RELEASE);
	return 0;
}

static void hv_fifo_retire(struct hv_domain *d, struct hv_fifo_vcpu *vf,
			   struct hv_fifo_domain *df)
{
	struct hv_fifo_retired *r = calloc(1, sizeof(*r));

	if (!r)
		abort();
	r->vcpu = vf;
	r->dom = df;
	r->next = d->fifo_retired;
	d->fifo_retired = r;
}

/* evtchn_fifo_destroy(), under event_lock. */
void hv_fifo_destroy(struct hv_domain *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_vcpus; i++) {
		struct hv_fifo_vcpu *vf = hv_vfifo(&d->vcpus[i]);

		if (vf) {
			__atomic_store_n(&d->vcpus[i].fifo, NULL,
					 __ATOMIC_RELEASE);
			hv_fifo_retire(d, vf, NULL);
		}
	}
	if (hv_dfifo(d)) {
		struct hv_fifo_domain *df = hv_dfifo(d);

		__atomic_store_n(&d->evtchn_fifo, NULL, __ATOMIC_RELEASE);
		hv_fifo_retire(d, NULL, df);
	}
}

void hv_fifo_free_retired(struct hv_domain *d)
{
	struct hv_fifo_retired *r, *next;
	unsigned int i;

	for (r = d->fifo_retired; r; r = next) {
		next = r->next;
		if (r->vcpu) {
			for (i = 0; i < EVTCHN_FIFO_MAX_QUEUES; i++)
				pthread_mutex_destroy(&r->vcpu->queue[i].lock);
			free(r->vcpu);
		}
		free(r->dom);
		free(r);
	}
	d->fifo_retired = NULL;
}

/*
 * setup_ports(): ports bound under 2-level keep their pending state in
 * evtchn->pending (re-raised when their event-array page is added) and get
 * the default priority.
 */
static void hv_fifo_setup_ports(struct hv_domain *d, unsigned int prev)
{
	unsigned int port;

	for (port = 1; port < prev; port++) {
		struct hv_evtchn *chn;

		if (!hv_port_is_valid(d, port))
			break;
		chn = hv_evtchn_from_port(d, port);
		if (hv_test_bit_ul(port, d->shared_info->evtchn_pending))
			__atomic_store_n(&chn->pending, true, __ATOMIC_SEQ_CST);
		hv_fifo_set_priority(d, chn, EVTCHN_FIFO_PRIORITY_DEFAULT);
	}
}

/*
 * evtchn_fifo_init_control(): link_bits is reported back; no such vCPU ->
 * -ENOENT; offset beyond PAGE_SIZE - sizeof(control block) or not 8-byte
 * aligned -> -EINVAL; the first call sets up every vCPU's queues and an
 * empty event array, maps the control block, switches the port ops to FIFO
 * and runs setup_ports(); a failure in the first call tears the FIFO state
 * down again (evtchn_fifo_destroy).
 */
int hv_fifo_init_control(struct hv_vcpu *cur, struct evtchn_init_control *ic)
{
	struct hv_domain *d = cur->domain;
	uint32_t vcpu_id = ic->vcpu, offset = ic->offset;
	uint64_t gfn = ic->control_gfn;
	struct hv_vcpu *v;
	unsigned int i;
	int rc = 0;

	ic->link_bits = EVTCHN_FIFO_LINK_BITS;
	if (vcpu_id >= d->nr_vcpus)
		return -XEN_ENOENT;
	v = &d->vcpus[vcpu_id];
	if (offset > HV_PAGE_SIZE - sizeof(evtchn_fifo_control_block_t))
		return -XEN_EINVAL;
	if (offset & (8 - 1))
		return -XEN_EINVAL;

	pthread_rwlock_wrlock(&d->event_lock);
	if (!hv_dfifo(d)) {
		/* "Latch the value before it changes during
		 * setup_event_array()." */
		unsigned int prev = HV_2L_NR_CHANNELS;
		struct hv_fifo_domain *df;

		for (i = 0; i < d->nr_vcpus; i++) {
			rc = hv_fifo_setup_vcpu(&d->vcpus[i]);
			if (rc < 0)
				goto error;
		}
		df = calloc(1, sizeof(*df));
		if (!df) {
			rc = -XEN_ENOMEM;
			goto error;
		}
		__atomic_store_n(&d->evtchn_fifo, df, __ATOMIC_RELEASE);
		rc = hv_fifo_map_control_block(v, gfn, offset);
		if (rc < 0)
			goto error;
		__atomic_store_n(&d->evtchn_port_ops, &hv_evtchn_ops_fifo,
				 __ATOMIC_RELEASE);
		hv_fifo_setup_ports(d, prev);
	} else {
		rc = hv_fifo_map_control_block(v, gfn, offset);
	}
	pthread_rwlock_unlock(&d->event_lock);
	return rc;
error:
	hv_fifo_destroy(d);
	pthread_rwlock_unlock(&d->event_lock);
	return rc;
}

/*
 * add_page_to_event_array(): all 128 pages in use -> -ENOSPC; bad gfn ->
 * -EINVAL; the page is published before num_evtchns grows; then "Re-raise
 * any events that were pending while this array page was missing" (Xen
 * does this for every valid port of the page with evtchn->pending set,
 * without looking at its state, and never clears evtchn->pending).
 */
static int hv_fifo_add_page(struct hv_domain *d, uint64_t gfn)
{
	struct hv_fifo_domain *df = hv_dfifo(d);
	unsigned int port = __atomic_load_n(&df->num_evtchns, __ATOMIC_ACQUIRE);
	unsigned int slot = port / HV_FIFO_WORDS_PER_PAGE, end;
	void *virt;
	int rc;

	if (slot >= HV_FIFO_MAX_PAGES)
		return -XEN_ENOSPC;
	rc = hv_map_guest_page(d, gfn, &virt);
	if (rc < 0)
		return rc;
	__atomic_store_n(&df->event_array[slot], virt, __ATOMIC_RELEASE);
	end = port + HV_FIFO_WORDS_PER_PAGE;
	__atomic_store_n(&df->num_evtchns, end, __ATOMIC_RELEASE);

	for (; port < end; port++) {
		struct hv_evtchn *chn;

		if (!hv_port_is_valid(d, port))
			break;
		chn = hv_evtchn_from_port(d, port);
		if (__atomic_load_n(&chn->pending, __ATOMIC_SEQ_CST)) {
			hv_stat_inc(d, set_pending);
			hv_fifo_set_pending(&d->vcpus[hv_chn_notify_vcpu(chn)],
					    chn);
		}
	}
	return 0;
}

/* evtchn_fifo_expand_array(): -EOPNOTSUPP until FIFO is initialised. */
int hv_fifo_expand_array(struct hv_vcpu *cur,
			 const struct evtchn_expand_array *ea)
{
	struct hv_domain *d = cur->domain;
	int rc = -XEN_EOPNOTSUPP;

	pthread_rwlock_wrlock(&d->event_lock);
	if (hv_dfifo(d))
		rc = hv_fifo_add_page(d, ea->array_gfn);
	pthread_rwlock_unlock(&d->event_lock);
	return rc;
}

/* --- hv_fifo_check() ------------------------------------------------------ */

struct hv_fifo_walk {
	uint32_t n;
	uint8_t *linked; /* 1 = LINKED, 2 = visited */
	uint32_t *indeg;
};

#define HV_CHECK_FAIL(...)                               \
	do {                                             \
		if (why && len)                          \
			snprintf(why, len, __VA_ARGS__); \
		rc = -1;                                 \
		goto out;                                \
	} while (0)

static struct hv_fifo_queue *hv_fifo_queue_of(struct hv_domain *d,
					      uint32_t lastq)
{
	unsigned int vcpu = hv_lastq_vcpu(lastq);
	struct hv_fifo_vcpu *vf;

	if (vcpu >= d->nr_vcpus)
		return NULL;
	vf = hv_vfifo(&d->vcpus[vcpu]);
	return vf ? &vf->queue[hv_lastq_prio(lastq) % EVTCHN_FIFO_MAX_QUEUES] :
		    NULL;
}

/*
 * Check a quiescent domain's FIFO queues: no BUSY left, every LINK of a
 * LINKED word points at another LINKED word inside the array, no word has
 * two predecessors, no cycles, every chain ends at the tail hv recorded for
 * the queue its members were last linked on (lastq), one chain per queue,
 * and READY is set for every queue with a chain.
 */
int hv_fifo_check(struct hv_domain *d, char *why, size_t len)
{
	struct hv_fifo_walk wk = { 0 };
	uint16_t *qseen = NULL;
	uint32_t p;
	int rc = 0;

	pthread_rwlock_rdlock(&d->event_lock);
	if (!hv_dfifo(d))
		goto out;
	wk.n = __atomic_load_n(&hv_dfifo(d)->num_evtchns, __ATOMIC_ACQUIRE);
	wk.linked = calloc(wk.n + 1, 1);
	wk.indeg = calloc(wk.n + 1, sizeof(*wk.indeg));
	qseen = calloc((size_t)d->nr_vcpus * EVTCHN_FIFO_MAX_QUEUES,
		       sizeof(*qseen));
	if (!wk.linked || !wk.indeg || !qseen)
		HV_CHECK_FAIL("out of memory");

	for (p = 0; p < wk.n; p++) {
		event_word_t w =
			__atomic_load_n(hv_fifo_word(d, p), __ATOMIC_SEQ_CST);

		if (w & HV_FIFO_BIT(EVTCHN_FIFO_BUSY))
			HV_CHECK_FAIL("port %u: BUSY left set", p);
		if (w & HV_FIFO_BIT(EVTCHN_FIFO_LINKED))
			wk.linked[p] = 1;
	}
	for (p = 0; p < wk.n; p++) {
		uint32_t next;

		if (!wk.linked[p])
			continue;
		next = __atomic_load_n(hv_fifo_word(d, p), __ATOMIC_SEQ_CST) &
		       EVTCHN_FIFO_LINK_MASK;
		if (!next)
			continue;
		if (next >= wk.n)
			HV_CHECK_FAIL("port %u: LINK %u outside the array", p,
				      next);
		if (!wk.linked[next])
			HV_CHECK_FAIL("port %u: LINK %u to an unlinked word", p,
				      next);
		if (++wk.indeg[next] > 1)
			HV_CHECK_FAIL("port %u linked from two words", next);
	}
	for (p = 0; p < wk.n; p++) {
		uint32_t cur = p, lastq, tail, members = 0;
		struct hv_fifo_queue *q;
		struct hv_evtchn *chn;
		unsigned int qi;

		if (wk.linked[p] != 1 || wk.indeg[p])
			continue;
		if (!hv_port_is_valid(d, p))
			HV_CHECK_FAIL("port %u: LINKED but never allocated", p);
		chn = hv_evtchn_from_port(d, p);
		lastq = __atomic_load_n(&chn->fifo_lastq, __ATOMIC_SEQ_CST);
		q = hv_fifo_queue_of(d, lastq);
		if (!q)
			HV_CHECK_FAIL("port %u: no queue for lastq %#x", p,
				      lastq);
		for (;;) {
			struct hv_evtchn *c;

			if (!hv_port_is_valid(d, cur))
				HV_CHECK_FAIL(
					"port %u: LINKED, never allocated",
					cur);
			c = hv_evtchn_from_port(d, cur);
			if (__atomic_load_n(&c->fifo_lastq, __ATOMIC_SEQ_CST) !=
			    lastq)
				HV_CHECK_FAIL(
					"port %u: on the queue of port %u "
					"but lastq differs",
					cur, p);
			wk.linked[cur] = 2;
			members++;
			uint32_t next = __atomic_load_n(hv_fifo_word(d, cur),
							__ATOMIC_SEQ_CST) &
					EVTCHN_FIFO_LINK_MASK;
			if (!next)
				break;
			cur = next;
		}
		pthread_mutex_lock(&q->lock);
		tail = q->tail;
		pthread_mutex_unlock(&q->lock);
		if (tail != cur)
			HV_CHECK_FAIL(
				"queue vcpu %u prio %u: chain from %u ends "
				"at %u, hv tail %u",
				hv_lastq_vcpu(lastq), hv_lastq_prio(lastq), p,
				cur, tail);
		qi = hv_lastq_vcpu(lastq) * EVTCHN_FIFO_MAX_QUEUES +
		     hv_lastq_prio(lastq);
		if (qseen[qi]++)
			HV_CHECK_FAIL("queue vcpu %u prio %u has two chains",
				      hv_lastq_vcpu(lastq),
				      hv_lastq_prio(lastq));
		{
			struct hv_fifo_vcpu *vf =
				hv_vfifo(&d->vcpus[hv_lastq_vcpu(lastq)]);
			struct evtchn_fifo_control_block *cb = __atomic_load_n(
				&vf->control_block, __ATOMIC_ACQUIRE);

			if (cb &&
			    !(__atomic_load_n(&cb->ready, __ATOMIC_SEQ_CST) &
			      (1U << hv_lastq_prio(lastq))))
				HV_CHECK_FAIL("queue vcpu %u prio %u: %u "
					      "events but READY clear",
					      hv_lastq_vcpu(lastq),
					      hv_lastq_prio(lastq), members);
		}
	}
	for (p = 0; p < wk.n; p++)
		if (wk.linked[p] == 1)
			HV_CHECK_FAIL("port %u: LINKED on a cycle", p);
out:
	pthread_rwlock_unlock(&d->event_lock);
	free(wk.linked);
	free(wk.indeg);
	free(qseen);
	return rc;
}

void *hv_fifo_event_word(struct hv_domain *d, uint32_t port)
{
	return hv_fifo_word(d, port);
}

void *hv_fifo_control_block(struct hv_vcpu *v)
{
	struct hv_fifo_vcpu *vf = __atomic_load_n(&v->fifo, __ATOMIC_ACQUIRE);

	return vf ? __atomic_load_n(&vf->control_block, __ATOMIC_ACQUIRE) :
		    NULL;
}
