/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tools/mutate-plain.h: the plain (non-atomic) stand-ins of tools/mutate's
 * plain-atomic operator.  The mutant renames one call xl_NAME(...) of
 * include/xenlite/atomic-gcc.h or evtchn-ops.h to xl_mut_plain_NAME(...),
 * and the mutant's compile force-includes this file: the same result
 * value, computed with an ordinary load and an ordinary store, so another
 * vCPU's update between the two can be lost (the bug the operator plants).
 * Statement expressions, because the file is included before any header
 * the core file names (no uint32_t yet).
 *
 * Between the load and the store each one passes hv's explore point
 * HV_XP_ATOMIC (HV_XP of hv/guest/xenlite_host.h, expanded where the
 * mutant uses it, after the core's headers), where the real operation
 * passes it just before: a test hook that writes the word at that point
 * (another vCPU's or Xen's update landing in the window) sees it kept by
 * the atomic and lost by the plain load and store.  Without HV_EXPLORE
 * the point is nothing.
 */
#ifndef XENLITE_MUTATE_PLAIN_H
#define XENLITE_MUTATE_PLAIN_H

#define xl_mut_plain_cmpxchg_(p, o, n)                      \
	({                                                  \
		__typeof__(p) mp_p_ = (p);                  \
		__typeof__(*mp_p_) mp_o_ = *mp_p_;          \
		HV_XP(HV_XP_ATOMIC);                        \
		if (mp_o_ == (__typeof__(*mp_p_))(o))       \
			*mp_p_ = (n);                       \
		mp_o_;                                      \
	})
#define xl_mut_plain_cmpxchg32(p, o, n) xl_mut_plain_cmpxchg_(p, o, n)
#define xl_mut_plain_cmpxchg64(p, o, n) xl_mut_plain_cmpxchg_(p, o, n)

#define xl_mut_plain_xchg_(p, v)                            \
	({                                                  \
		__typeof__(p) mp_p_ = (p);                  \
		__typeof__(*mp_p_) mp_o_ = *mp_p_;          \
		HV_XP(HV_XP_ATOMIC);                        \
		*mp_p_ = (v);                               \
		mp_o_;                                      \
	})
#define xl_mut_plain_xchg32(p, v) xl_mut_plain_xchg_(p, v)
#define xl_mut_plain_xchg8(p, v) xl_mut_plain_xchg_(p, v)
#define xl_mut_plain_xchg_ulong(p, v) xl_mut_plain_xchg_(p, v)

#define xl_mut_plain_fetch_op_(p, v, op)                    \
	({                                                  \
		__typeof__(p) mp_p_ = (p);                  \
		__typeof__(*mp_p_) mp_o_ = *mp_p_;          \
		HV_XP(HV_XP_ATOMIC);                        \
		*mp_p_ = mp_o_ op(v);                       \
		mp_o_;                                      \
	})
#define xl_mut_plain_fetch_or32(p, v) xl_mut_plain_fetch_op_(p, v, |)
#define xl_mut_plain_fetch_and32(p, v) xl_mut_plain_fetch_op_(p, v, &)
#define xl_mut_plain_fetch_or_ulong(p, v) xl_mut_plain_fetch_op_(p, v, |)
#define xl_mut_plain_fetch_and_ulong(p, v) xl_mut_plain_fetch_op_(p, v, &)

#define xl_mut_plain_bit_word_(nr, map) \
	(&(map)[(nr) / (8 * sizeof(unsigned long))])
#define xl_mut_plain_bit_mask_(nr) (1UL << ((nr) % (8 * sizeof(unsigned long))))
#define xl_mut_plain_set_bit_ulong(nr, map) \
	((void)xl_mut_plain_fetch_op_(xl_mut_plain_bit_word_(nr, map), \
				      xl_mut_plain_bit_mask_(nr), |))
#define xl_mut_plain_clear_bit_ulong(nr, map) \
	((void)xl_mut_plain_fetch_op_(xl_mut_plain_bit_word_(nr, map), \
				      ~xl_mut_plain_bit_mask_(nr), &))
#define xl_mut_plain_test_and_set_bit_ulong(nr, map)                       \
	((xl_mut_plain_fetch_op_(xl_mut_plain_bit_word_(nr, map),          \
				 xl_mut_plain_bit_mask_(nr), |) &          \
	  xl_mut_plain_bit_mask_(nr)) != 0)
#define xl_mut_plain_test_and_clear_bit_ulong(nr, map)                     \
	((xl_mut_plain_fetch_op_(xl_mut_plain_bit_word_(nr, map),          \
				 ~xl_mut_plain_bit_mask_(nr), &) &         \
	  xl_mut_plain_bit_mask_(nr)) != 0)
#define xl_mut_plain_test_and_set_bit32(nr, w) \
	((xl_mut_plain_fetch_op_(w, 1U << (nr), |) >> (nr)) & 1)
#define xl_mut_plain_test_and_clear_bit32(nr, w) \
	((xl_mut_plain_fetch_op_(w, ~(1U << (nr)), &) >> (nr)) & 1)

#endif
