// SPDX-License-Identifier: GPL-2.0
/*
 * xt_blk_disk_get/put on hv: the guest's disk is hv's in-process blkback
 * (hv/blkback.c) over RAM, offered through hv's xenstore (the test's
 * domain has one with XT_F_XENSTORE), as a toolstack would have set it up.
 */
#include <stddef.h>

#include <hv.h>
#include <hv-blk.h>
#include <hv-guest.h>

#include "xt.h"

static struct hv_blkback *disk;

int xt_blk_disk_get(unsigned int devid, uint64_t sectors)
{
	struct hv_blkback_config c = {
		.d = hv_guest_domain(),
		.devid = devid,
		.sectors = sectors,
		.max_ring_order = 4,
		.xenstore = true,
	};
	int err = 0;

	if (disk)
		return -XEN_EBUSY;
	disk = hv_blkback_create(&c, &err);
	return disk ? 0 : err;
}

void xt_blk_disk_put(void)
{
	hv_blkback_destroy(disk);
	disk = NULL;
}
