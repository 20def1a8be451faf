// SPDX-License-Identifier: GPL-2.0
/*
 * The 2-level event channel ABI, after xen/common/event_2l.c (Xen
 * RELEASE-4.17.7): evtchn_pending / evtchn_mask bitmaps in shared_info,
 * evtchn_pending_sel per vcpu_info.  The bit operations are fully ordered
 * atomics, as Xen's guest_test_and_set_bit() & co are on x86.
 */
#include "hv-internal.h"

static xen_ulong_t *hv_2l_pending(const struct hv_domain *d)
{
	return d->shared_info->evtchn_pending;
}

static xen_ulong_t *hv_2l_mask(const struct hv_domain *d)
{
	return d->shared_info->evtchn_mask;
}

/*
 * evtchn_2l_set_pending(): set PENDING; if it was clear and the port is
 * unmasked, set the word's bit in evtchn_pending_sel and, if that was clear
 * too, vcpu_mark_events_pending(); then evtchn_check_pollers().
 */
static void hv_2l_set_pending(struct hv_vcpu *v, struct hv_evtchn *chn)
{
	struct hv_domain *d = v->domain;
	unsigned int port = chn->port;

	if (port >= HV_2L_NR_CHANNELS)
		return;
	if (hv_test_and_set_bit_ul(port, hv_2l_pending(d)))
		return;
	if (!hv_test_bit_ul(port, hv_2l_mask(d)) && v->vcpu_info &&
	    !hv_test_and_set_bit_ul(port / HV_BITS_PER_EVTCHN_WORD,
				    &v->vcpu_info->evtchn_pending_sel))
		hv_vcpu_mark_events_pending(v);
	hv_evtchn_check_pollers(d, port);
}

/* evtchn_2l_clear_pending(). */
static void hv_2l_clear_pending(struct hv_domain *d, struct hv_evtchn *chn)
{
	if (chn->port < HV_2L_NR_CHANNELS)
		hv_test_and_clear_bit_ul(chn->port, hv_2l_pending(d));
}

/*
 * evtchn_2l_unmask(): if MASK was set and the port is pending, set the
 * selector bit of the notify vCPU and mark events pending on a 0 -> 1 edge.
 */
static void hv_2l_unmask(struct hv_domain *d, struct hv_evtchn *chn)
{
	struct hv_vcpu *v = &d->vcpus[hv_chn_notify_vcpu(chn)];
	unsigned int port = chn->port;

	if (port >= HV_2L_NR_CHANNELS)
		return;
	if (hv_test_and_clear_bit_ul(port, hv_2l_mask(d)) &&
	    hv_test_bit_ul(port, hv_2l_pending(d)) && v->vcpu_info &&
	    !hv_test_and_set_bit_ul(port / HV_BITS_PER_EVTCHN_WORD,
				    &v->vcpu_info->evtchn_pending_sel))
		hv_vcpu_mark_events_pending(v);
}

static bool hv_2l_is_pending(const struct hv_domain *d,
			     const struct hv_evtchn *chn)
{
	return chn->port < HV_2L_NR_CHANNELS &&
	       hv_test_bit_ul(chn->port, hv_2l_pending(d));
}

static bool hv_2l_is_masked(const struct hv_domain *d,
			    const struct hv_evtchn *chn)
{
	return chn->port >= HV_2L_NR_CHANNELS ||
	       hv_test_bit_ul(chn->port, hv_2l_mask(d));
}

/* No init, is_busy or set_priority: evtchn_port_ops_2l has none. */
const struct hv_port_ops hv_evtchn_ops_2l = {
	.set_pending = hv_2l_set_pending,
	.clear_pending = hv_2l_clear_pending,
	.unmask = hv_2l_unmask,
	.is_pending = hv_2l_is_pending,
	.is_masked = hv_2l_is_masked,
};
