// SPDX-License-Identifier: GPL-2.0
/*
 * tools/linux-blkbench.c: the Linux side of the real-Xen block benchmark
 * (ratio blk_vs_linux_blkfront).  It runs, in a Linux PVH domU on
 * xen-blkfront, the same six runs the test kernel's `blkbench` mode runs on
 * blkfront-lite, on the same kind of disk (Linux dom0's xen-blkback over a
 * loop device), and prints the same lines:
 *
 *   blkbench: linux run=NAME bs=BYTES qd=N ops=N ns=N iops=X mbps=X
 *   blkbench: linux detail run=NAME requests=N upcalls=N busy=X% sys=X%
 *             steal=X%
 *   ...
 *   blkbench: linux done            (or: blkbench: linux failed WHY)
 *
 * NAME: randread4k_qd1 randwrite4k_qd1 randread4k_qd32 randwrite4k_qd32
 * (4 KiB at 4 KiB-aligned offsets over the whole disk, xorshift64 from the
 * seed selftests/bench.c uses, QD 1 or 32), seqread1m seqwrite1m (1 MiB
 * transfers one at a time at sequential offsets wrapping at the disk end;
 * the kernel splits each into as many blkif requests as the ring
 * negotiated).  I/O is O_DIRECT through the raw Linux AIO syscalls
 * (io_setup, io_submit, io_getevents; no libaio).  Each run issues for MS
 * milliseconds, then waits for what is in flight; ops counts completed
 * transfers, ns runs from the first submission to the last completion,
 * iops = ops / s, mbps = bytes / s / 1e6.  The detail line, like the test
 * kernel's: requests the device completed (/sys/block/DEV/stat, reads +
 * writes, after the block layer's splits and merges), interrupts of
 * xen-blkfront's event channels (/proc/interrupts lines naming blkif or
 * vbd), and the share of all CPUs' time that was busy, in the kernel, and
 * stolen by Xen (/proc/stat) over the run; -1 where not available (a
 * regular file, no /proc).
 *
 *   linux-blkbench [-t MS] [-r NAME] [-c CPU] [DEVICE]
 *
 *   -t MS    milliseconds of issuing per run (default: $BLK_MS, else 3000)
 *   -r NAME  only this run (repeatable; default: all six in order)
 *   -c CPU   run on this CPU only (sched_setaffinity; default: anywhere)
 *   DEVICE   default /dev/xvda; a regular file works too (for testing)
 *
 * Built static (gcc -static -O2, `make out/linux-blkbench`) so it runs in
 * a busybox initramfs.  Exit status 0 iff every run completed every
 * transfer in full; 1 on any error (the device missing, O_DIRECT refused,
 * an error or a short transfer), with a "failed" line saying which; 2 on
 * usage.
 */
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#define QD_MAX 32
#define SEQ_BS (1024 * 1024)
#define RAND_BS 4096

struct run {
	const char *name;
	bool write;
	bool seq;
	unsigned int bs;
	unsigned int qd;
};

static const struct run runs[] = {
	{ "randread4k_qd1", false, false, RAND_BS, 1 },
	{ "randwrite4k_qd1", true, false, RAND_BS, 1 },
	{ "randread4k_qd32", false, false, RAND_BS, QD_MAX },
	{ "randwrite4k_qd32", true, false, RAND_BS, QD_MAX },
	{ "seqread1m", false, true, SEQ_BS, 1 },
	{ "seqwrite1m", true, true, SEQ_BS, 1 },
};

#define NR_RUNS (sizeof(runs) / sizeof(runs[0]))

static const char *dev_path = "/dev/xvda";
static uint64_t dev_bytes;
static char sys_stat[64]; /* /sys/dev/block/MAJ:MIN/stat of a device */
static int dev_fd = -1;
static aio_context_t aio_ctx;
static void *bufs[QD_MAX];
static struct iocb iocbs[QD_MAX];

static void failed(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void failed(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	printf("blkbench: linux failed ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	exit(1);
}

static long sys_io_setup(unsigned int nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long sys_io_destroy(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **iocbpp)
{
	return syscall(SYS_io_submit, ctx, n, iocbpp);
}

static long sys_io_getevents(aio_context_t ctx, long min_nr, long nr,
			     struct io_event *events, struct timespec *timeout)
{
	return syscall(SYS_io_getevents, ctx, min_nr, nr, events, timeout);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The generator and seed of selftests/bench.c's blk runs. */
static uint64_t rng;

static uint64_t xorshift64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void open_device(void)
{
	struct stat st;

	dev_fd = open(dev_path, O_RDWR | O_DIRECT);
	if (dev_fd < 0) {
		int err = errno;

		if (err == EINVAL)
			failed("open %s: O_DIRECT refused (%s)", dev_path,
			       strerror(err));
		failed("open %s: %s", dev_path, strerror(err));
	}
	if (fstat(dev_fd, &st))
		failed("fstat %s: %s", dev_path, strerror(errno));
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(dev_fd, BLKGETSIZE64, &dev_bytes))
			failed("ioctl BLKGETSIZE64 %s: %s", dev_path,
			       strerror(errno));
		/* /sys/block/NAME/stat of a whole disk (xvda). */
		snprintf(sys_stat, sizeof(sys_stat),
			 "/sys/dev/block/%u:%u/stat", major(st.st_rdev),
			 minor(st.st_rdev));
	} else if (S_ISREG(st.st_mode)) {
		dev_bytes = (uint64_t)st.st_size;
	} else {
		failed("%s is neither a block device nor a regular file",
		       dev_path);
	}
	if (dev_bytes < SEQ_BS)
		failed("%s: %" PRIu64 " bytes, less than one 1 MiB transfer",
		       dev_path, dev_bytes);
	/* A last partial MiB is not used by the sequential runs. */
	dev_bytes -= dev_bytes % RAND_BS;
}

static void setup_buffers(void)
{
	unsigned int i;
	size_t k, len;

	/* Slot 0 serves the 1 MiB runs (one transfer at a time). */
	for (i = 0; i < QD_MAX; i++) {
		int rc;

		len = i ? RAND_BS : SEQ_BS;
		rc = posix_memalign(&bufs[i], 4096, len);
		if (rc)
			failed("posix_memalign %zu bytes: %s", len,
			       strerror(rc));
		/* Patterned, so writes are not all zeroes. */
		for (k = 0; k < len / sizeof(uint64_t); k++)
			((uint64_t *)bufs[i])[k] = 0x6a09e667f3bcc908ULL ^
						   (i << 24 | k);
	}
	if (sys_io_setup(QD_MAX, &aio_ctx))
		failed("io_setup(%u): %s", QD_MAX, strerror(errno));
}

static uint64_t next_offset(const struct run *r, uint64_t *seq_off)
{
	uint64_t off;

	if (!r->seq)
		return xorshift64() % (dev_bytes / RAND_BS) * RAND_BS;
	if (*seq_off + r->bs > dev_bytes)
		*seq_off = 0;
	off = *seq_off;
	*seq_off += r->bs;
	return off;
}

static void submit(const struct run *r, unsigned int slot, uint64_t off)
{
	struct iocb *cb = &iocbs[slot];
	long rc;

	memset(cb, 0, sizeof(*cb));
	cb->aio_data = slot;
	cb->aio_lio_opcode = r->write ? IOCB_CMD_PWRITE : IOCB_CMD_PREAD;
	cb->aio_fildes = (uint32_t)dev_fd;
	cb->aio_buf = (uint64_t)(uintptr_t)bufs[slot];
	cb->aio_nbytes = r->bs;
	cb->aio_offset = (int64_t)off;
	do {
		rc = sys_io_submit(aio_ctx, 1, &cb);
	} while (rc < 0 && errno == EAGAIN);
	if (rc != 1)
		failed("run=%s io_submit at offset %" PRIu64 ": %s", r->name,
		       off, rc < 0 ? strerror(errno) : "not submitted");
}

/* Counters around a run, for the detail line. */
struct snap {
	long long requests;
	long long upcalls;
	long long cpu[8]; /* user nice system idle iowait irq softirq steal */
};

static long long dev_requests(void)
{
	unsigned long long v[5];
	long long n = -1;
	FILE *f;

	if (!*sys_stat)
		return -1;
	f = fopen(sys_stat, "r");
	if (!f)
		return -1;
	/* reads merges sectors ticks writes ... */
	if (fscanf(f, "%llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4]) == 5)
		n = (long long)(v[0] + v[4]);
	fclose(f);
	return n;
}

static long long blkif_irqs(void)
{
	char line[1024];
	long long n = -1;
	FILE *f = fopen("/proc/interrupts", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (!strstr(line, "blkif") && !strstr(line, "vbd"))
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		if (n < 0)
			n = 0;
		/* The per-CPU counts follow the "NN:" label. */
		for (p++;; p = end) {
			long long c = strtoll(p, &end, 10);

			if (end == p)
				break;
			n += c;
		}
	}
	fclose(f);
	return n;
}

static void take_snap(struct snap *s)
{
	FILE *f = fopen("/proc/stat", "r");

	s->requests = dev_requests();
	s->upcalls = blkif_irqs();
	memset(s->cpu, 0, sizeof(s->cpu));
	s->cpu[3] = -1;
	if (!f)
		return;
	if (fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &s->cpu[0],
		   &s->cpu[1], &s->cpu[2], &s->cpu[3], &s->cpu[4], &s->cpu[5],
		   &s->cpu[6], &s->cpu[7]) != 8)
		s->cpu[3] = -1;
	fclose(f);
}

static void print_detail(const struct run *r, const struct snap *a,
			 const struct snap *b)
{
	long long d[8], total = 0;
	char busy[16] = "-1", sys[16] = "-1", steal[16] = "-1";
	unsigned int i;

	if (a->cpu[3] >= 0 && b->cpu[3] >= 0) {
		for (i = 0; i < 8; i++) {
			d[i] = b->cpu[i] - a->cpu[i];
			total += d[i];
		}
		if (total > 0) {
			snprintf(busy, sizeof(busy), "%.1f%%",
				 100.0 * (double)(total - d[3] - d[4] - d[7]) /
					 (double)total);
			snprintf(sys, sizeof(sys), "%.1f%%",
				 100.0 * (double)(d[2] + d[5] + d[6]) /
					 (double)total);
			snprintf(steal, sizeof(steal), "%.1f%%",
				 100.0 * (double)d[7] / (double)total);
		}
	}
	printf("blkbench: linux detail run=%s requests=%lld upcalls=%lld busy=%s sys=%s steal=%s\n",
	       r->name,
	       a->requests >= 0 && b->requests >= 0 ?
		       b->requests - a->requests :
		       -1,
	       a->upcalls >= 0 && b->upcalls >= 0 ? b->upcalls - a->upcalls :
						    -1,
	       busy, sys, steal);
}

static void one_run(const struct run *r, uint64_t run_ns)
{
	struct snap s0, s1;
	struct io_event ev[QD_MAX];
	unsigned int free_slots[QD_MAX], nfree = 0, inflight = 0, i;
	uint64_t t0, t1, deadline, ops = 0, seq_off = 0;
	double s;

	take_snap(&s0);
	rng = 0x853c49e6748fea9bULL;
	/* Popped last-pushed first: a QD 1 run uses slot 0, the 1 MiB one. */
	for (i = 0; i < r->qd; i++)
		free_slots[nfree++] = r->qd - 1 - i;
	t0 = now_ns();
	deadline = t0 + run_ns;
	for (;;) {
		long n, k;

		while (nfree && now_ns() < deadline) {
			unsigned int slot = free_slots[--nfree];

			submit(r, slot, next_offset(r, &seq_off));
			inflight++;
		}
		if (!inflight)
			break;
		n = sys_io_getevents(aio_ctx, 1, QD_MAX, ev, NULL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			failed("run=%s io_getevents: %s", r->name,
			       strerror(errno));
		}
		for (k = 0; k < n; k++) {
			unsigned int slot = (unsigned int)ev[k].data;
			struct iocb *cb = &iocbs[slot];

			if (ev[k].res < 0)
				failed("run=%s %s at offset %lld: %s", r->name,
				       r->write ? "write" : "read",
				       (long long)cb->aio_offset,
				       strerror((int)-ev[k].res));
			if ((uint64_t)ev[k].res != r->bs)
				failed("run=%s short %s at offset %lld: %lld of %u bytes",
				       r->name, r->write ? "write" : "read",
				       (long long)cb->aio_offset,
				       (long long)ev[k].res, r->bs);
			free_slots[nfree++] = slot;
			inflight--;
			ops++;
		}
	}
	t1 = now_ns();
	take_snap(&s1);
	if (!ops)
		failed("run=%s: no transfer completed", r->name);
	s = (double)(t1 - t0) / 1e9;
	printf("blkbench: linux run=%s bs=%u qd=%u ops=%" PRIu64 " ns=%" PRIu64
	       " iops=%.1f mbps=%.2f\n",
	       r->name, r->bs, r->qd, ops, t1 - t0, (double)ops / s,
	       (double)ops * r->bs / s / 1e6);
	print_detail(r, &s0, &s1);
	fflush(stdout);
}

static void usage(FILE *f)
{
	unsigned int i;

	fprintf(f,
		"usage: linux-blkbench [-t MS] [-c CPU] [-r NAME]... [DEVICE]\n"
		"  -t MS    milliseconds of issuing per run (default $BLK_MS, else 3000)\n"
		"  -c CPU   run on this CPU only\n"
		"  -r NAME  only this run (repeatable):");
	for (i = 0; i < NR_RUNS; i++)
		fprintf(f, " %s", runs[i].name);
	fprintf(f, "\n  DEVICE   default /dev/xvda\n");
}

static unsigned long parse_num(const char *s, const char *what,
			       unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "linux-blkbench: %s: not %lu..%lu: '%s'\n",
			what, min, max, s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	bool pick[NR_RUNS] = { false }, any = false;
	unsigned long ms = 3000;
	const char *env = getenv("BLK_MS");
	unsigned int i;
	int c, cpu = -1;

	if (env && *env)
		ms = parse_num(env, "BLK_MS", 1, 3600000);
	while ((c = getopt(argc, argv, "ht:r:c:")) != -1) {
		switch (c) {
		case 'c':
			cpu = (int)parse_num(optarg, "-c", 0, CPU_SETSIZE - 1);
			break;
		case 't':
			ms = parse_num(optarg, "-t", 1, 3600000);
			break;
		case 'r':
			for (i = 0; i < NR_RUNS; i++)
				if (!strcmp(optarg, runs[i].name))
					break;
			if (i == NR_RUNS) {
				fprintf(stderr, "linux-blkbench: no run '%s'\n",
					optarg);
				usage(stderr);
				return 2;
			}
			pick[i] = true;
			any = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 < argc) {
		usage(stderr);
		return 2;
	}
	if (optind < argc)
		dev_path = argv[optind];

	if (cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			failed("sched_setaffinity(CPU %d): %s", cpu,
			       strerror(errno));
	}
	open_device();
	setup_buffers();
	printf("blkbench: linux device=%s bytes=%" PRIu64
	       " blk_ms=%lu cpu=%d\n",
	       dev_path, dev_bytes, ms, cpu);
	fflush(stdout);
	for (i = 0; i < NR_RUNS; i++)
		if (!any || pick[i])
			one_run(&runs[i], (uint64_t)ms * 1000000ULL);
	sys_io_destroy(aio_ctx);
	close(dev_fd);
	printf("blkbench: linux done\n");
	return 0;
}
