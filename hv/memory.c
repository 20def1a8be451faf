// SPDX-License-Identifier: GPL-2.0
/*
 * hv memory_op: XENMEM_add_to_physmap for XENMAPSPACE_shared_info and
 * XENMAPSPACE_grant_table (hv/gnttab.c).
 * Follows do_memory_op() (xen/common/memory.c) and
 * xenmem_add_to_physmap_one() (xen/arch/x86/mm/p2m.c), RELEASE-4.17.7.
 */
#include <string.h>

#include "hv-internal.h"

/* The model accepts any gpfn below 2^40 (a 52-bit physical address). */
#define HV_MAX_GPFN (1ULL << 40)

static long hv_add_to_physmap(struct hv_vcpu *v, struct xen_add_to_physmap *x)
{
	struct hv_domain *d;
	long rc;

	/* "Foreign mapping is only possible via add_to_physmap_batch." */
	if (x->space == XENMAPSPACE_gmfn_foreign)
		return -XEN_ENOSYS;

	d = hv_domain_get_by_id(x->domid, v->domain);
	if (!d)
		return -XEN_ESRCH;

	/*
	 * xatp_permission_check() (Xen 4.17 xen/common/memory.c), called
	 * by do_memory_op() before xenmem_add_to_physmap(): -EACCES unless
	 * paging_mode_translate(d), whatever the space -- a classic PV
	 * domain has no p2m in Xen to add to.  Then
	 * xsm_add_to_physmap(XSM_TARGET): a domU may only change its own
	 * physmap.
	 */
	if (hv_is_pv(d)) {
		rc = -XEN_EACCES;
		goto out;
	}
	if (d != v->domain) {
		rc = -XEN_EPERM;
		goto out;
	}

	switch (x->space) {
	case XENMAPSPACE_shared_info:
		/* "if ( idx == 0 ) mfn = virt_to_mfn(d->shared_info);"
		 * else INVALID_MFN -> -EINVAL. */
		if (x->idx != 0 || x->gpfn >= HV_MAX_GPFN) {
			rc = -XEN_EINVAL;
			goto out;
		}
		/* The old mapping (if any) goes away: one gfn at a time. */
		__atomic_store_n(&d->shinfo_gfn, (int64_t)x->gpfn,
				 __ATOMIC_RELEASE);
		rc = 0;
		break;
	case XENMAPSPACE_grant_table:
		/* gnttab_map_frame() (hv/gnttab.c). */
		rc = x->gpfn >= HV_MAX_GPFN ?
			     -XEN_EINVAL :
			     hv_gnttab_map_frame(d, x->idx, x->gpfn);
		break;
	case XENMAPSPACE_gmfn:
	case XENMAPSPACE_gmfn_range:
		rc = -XEN_ENOSYS; /* not modelled yet */
		break;
	default:
		rc = -XEN_EINVAL; /* INVALID_MFN */
		break;
	}
out:
	hv_domain_put(d);
	return rc;
}

long hv_do_memory_op(struct hv_vcpu *v, unsigned long cmd, void *arg)
{
	switch (cmd) {
	case XENMEM_add_to_physmap: {
		struct xen_add_to_physmap x;

		if (!arg)
			return -XEN_EFAULT;
		memcpy(&x, arg, sizeof(x));
		return hv_add_to_physmap(v, &x);
	}
	default:
		return -XEN_ENOSYS;
	}
}
