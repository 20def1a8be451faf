// SPDX-License-Identifier: GPL-2.0
/*
 * The xenstore connection of the test kernel as a domU, across the
 * EVTCHNOP_reset the runner does at boot and after every test.
 *
 * The toolstack leaves the ring at HVM_PARAM_STORE_PFN (a special page
 * below 4 GiB, public hvm/params.h, inside head.S's identity map) and our
 * end of an interdomain channel to xenstored at HVM_PARAM_STORE_EVTCHN
 * (PV: start_info's store_mfn and store_evtchn; tk_boot_ring).
 * A reset closes our end, and Xen leaves xenstored's end unbound with us
 * as its remote (evtchn_close, xen/common/event_channel.c), so we can bind
 * it again with EVTCHNOP_bind_interdomain: tk_xenstore_boot() notes
 * xenstored's port before the first reset, xl_os_xenstore_ring() binds
 * again whenever our end is no longer that channel.  xenstored does not
 * look at its port's state: notifications it sent while we were unbound
 * are lost, which is harmless between tests (no request is in flight).
 * dom0 has no ring (no xenstored runs): -XEN_ENODEV.
 */
#include <xenlite/xen.h>
#include <xenlite/xenstore.h>

#include "tk.h"
#include "xt.h"

static struct {
	void *ring;
	uint32_t port;	 /* our end, 0 = not bound now */
	uint32_t remote; /* xenstored's port in dom0 */
	bool have;
} tkxs;

static long evtchn(int cmd, void *arg)
{
	return tk_hypercall(__HYPERVISOR_event_channel_op, cmd,
			    (unsigned long)arg, 0, 0, 0);
}

void tk_xenstore_boot(void)
{
	struct evtchn_status st = { .dom = DOMID_SELF };
	uint32_t port;
	void *va;
	long rc = tk_boot_ring(TK_RING_STORE, &va, &port);

	if (rc) {
		if (rc != -XEN_ENODEV)
			tk_printf("tk: xenstore ring: %ld: no xenstore\n", rc);
		return;
	}
	st.port = port;
	if (evtchn(EVTCHNOP_status, &st) ||
	    st.status != EVTCHNSTAT_interdomain || st.u.interdomain.dom != 0) {
		tk_printf("tk: xenstore port %u is not a channel to dom0 "
			  "(status %u): no xenstore\n",
			  st.port, st.status);
		return;
	}
	tkxs.ring = va;
	tkxs.port = st.port;
	tkxs.remote = st.u.interdomain.port;
	tkxs.have = true;
	tk_printf("tk: xenstore ring at %p, port %u <-> dom0 port %u\n", va,
		  tkxs.port, tkxs.remote);
}

/*
 * After a restore into a new domain: the ring is at the same gfn
 * (HVM_PARAM_STORE_PFN is in the stream), the port the toolstack's new
 * one, which xenstored bound when libxl introduced the domain, before it
 * was unpaused (xenstored_domain.c introduce_domain()).  Noted for the
 * core's xl_xs_resume() (xl_os_xenstore_ring() below).  Nothing is bound
 * or closed here.
 */
void tk_xenstore_restored(void)
{
	struct evtchn_status st = { .dom = DOMID_SELF };
	uint32_t port;
	void *va;

	if (!tkxs.have || tk_boot_ring(TK_RING_STORE, &va, &port))
		return;
	st.port = port;
	tkxs.ring = va;
	tkxs.port = port;
	if (!evtchn(EVTCHNOP_status, &st) &&
	    st.status == EVTCHNSTAT_interdomain && st.u.interdomain.dom == 0)
		tkxs.remote = st.u.interdomain.port;
}

/* Our end still the channel to xenstored's port? */
static bool still_bound(void)
{
	struct evtchn_status st = { .dom = DOMID_SELF, .port = tkxs.port };

	return tkxs.port && !evtchn(EVTCHNOP_status, &st) &&
	       st.status == EVTCHNSTAT_interdomain &&
	       st.u.interdomain.dom == 0 &&
	       st.u.interdomain.port == tkxs.remote;
}

int xl_os_xenstore_ring(void **intf, uint32_t *port)
{
	struct evtchn_bind_interdomain bi = { .remote_dom = 0 };
	long rc;

	if (!tkxs.have)
		return -XEN_ENODEV;
	if (!still_bound()) {
		bi.remote_port = tkxs.remote;
		rc = evtchn(EVTCHNOP_bind_interdomain, &bi);
		if (rc) {
			tkxs.port = 0;
			return (int)rc;
		}
		tkxs.port = bi.local_port;
	}
	*intf = tkxs.ring;
	*port = tkxs.port;
	return 0;
}

/*
 * xt_blk_disk_get/put for the selftests: as a domU the disk is the one the
 * toolstack set up (tools/xen-domu --disk: device/vbd/<devid> with its
 * backend in Linux dom0's xen-blkback); the test kernel only looks for it
 * (the client must be up: the test ran xl_xs_init()).
 */
int xt_blk_disk_get(unsigned int devid, uint64_t sectors)
{
	char path[48], buf[128];
	int rc;

	(void)sectors; /* the toolstack chose the size */
	tk_snprintf(path, sizeof(path), "device/vbd/%u/backend", devid);
	rc = xl_xs_read(XL_XS_NO_TX, path, buf, sizeof(buf), NULL);
	return rc == -XEN_ENOENT ? -XEN_ENODEV : rc;
}

void xt_blk_disk_put(void)
{
}
