// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/kernel/debug/xenlite/: counters and a test interface.
 *
 *   stats   per vCPU: upcalls, the core's event, clock and idle counters,
 *           hypercalls, the timer lateness histogram; per bound port: type,
 *           vCPU and events handled; the grant table ("gnttab refs=N
 *           free=N deferred=N ...": with no disk, every ref is free and
 *           none deferred) and the block devices ("blk disks=N ...")
 *   test    write a command, read its result line:
 *             ipi TO FROM N        N IPIs from CPU FROM to an IPI port on
 *                                  CPU TO, each waited for (2 s)
 *             loopback N [CPU]     a loopback interdomain channel (both ends
 *                                  in this domain, EVTCHNOP_alloc_unbound +
 *                                  bind_interdomain to DOMID_SELF), N round
 *                                  trips, the second end moved to CPU
 *   xt      the xt selftest tables in the module (linux/xt-host.c)
 *   console write-only: the bytes go to Xen's debug port 0xe9
 *           The test result: "<cmd> sent=S handled=H wrong_cpu=W p50_ns=.. p99_ns=..
 *           max_ns=.. ok|FAIL"; latency is ktime from before the send to
 *           the handler's entry.
 */
#define pr_fmt(fmt) "xenlite: " fmt

#include <linux/completion.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/io.h>

#include <xenlite/clockevent.h>
#include <xenlite/evtchn.h>
#include <xenlite/gnttab.h>
#include <xenlite/idle.h>

#include "xl-linux.h"

#define TEST_MAX 100000
/* Per event; nested TCG with other guests on the cores is slow (ms). */
#define TEST_WAIT_MS 2000

static struct dentry *dir;
static DEFINE_MUTEX(test_lock);
static char test_result[256] = "none\n";

/* --- stats --------------------------------------------------------------- */

static const char *type_name(enum xl_port_type t)
{
	static const char *const names[] = { "free", "unbound", "interdomain",
					     "virq", "ipi" };

	return t < ARRAY_SIZE(names) ? names[t] : "?";
}

static void show_cpu(struct seq_file *m, unsigned int cpu)
{
	unsigned int v = per_cpu(xlk_vcpu_id, cpu), i;
	struct xl_evtchn_stats es;
	struct xl_clock_stats cs;
	struct xl_idle_stats is;
	u64 hist[XLK_LATE_BUCKETS];

	xl_evtchn_get_stats(v, &es);
	xl_clock_get_stats(v, &cs);
	xl_idle_get_stats(v, &is);
	xlk_clock_hist(cpu, hist, XLK_LATE_BUCKETS);
	seq_printf(m,
		   "cpu%u vcpu=%u clockevent=%d upcalls=%llu hypercalls=%llu\n",
		   cpu, v, xlk_clock_cpu_active(cpu), xlk_upcall_count(cpu),
		   xlk_hypercall_count(cpu));
	seq_printf(
		m,
		"  evtchn upcalls=%llu loops=%llu nested=%llu spurious=%llu events=%llu stray=%llu masked_seen=%llu deferred=%llu reraises=%llu\n",
		es.upcalls, es.upcall_loops, es.nested, es.spurious, es.events,
		es.stray, es.masked_seen, es.deferred,
		xlk_upcall_reraises(cpu));
	seq_printf(
		m,
		"  clock virq=%llu ticks=%llu fired=%llu programs=%llu stops=%llu late_ns_sum=%llu late_ns_max=%llu idle_wakeups=%llu\n",
		cs.virq, cs.ticks, cs.fired, cs.programs, cs.stops,
		cs.late_ns_sum, cs.late_ns_max, cs.idle_wakeups);
	seq_printf(m, "  idle blocks=%llu skipped=%llu polls=%llu\n", is.blocks,
		   is.skipped, is.polls);
	seq_puts(m, "  late_us_hist");
	for (i = 0; i < XLK_LATE_BUCKETS; i++)
		seq_printf(m, " %s%u:%llu",
			   i == XLK_LATE_BUCKETS - 1 ? ">=" : "<",
			   i == XLK_LATE_BUCKETS - 1 ? 1U << (i - 1) : 1U << i,
			   hist[i]);
	seq_putc(m, '\n');
}

/*
 * The grant table as the block devices left it: refs, free and deferred
 * are now; the rest counts since the load.  Before xl_gnttab_init() (or
 * with blk=0) there is no table: no line.
 */
static void show_grants(struct seq_file *m)
{
	struct xl_gnttab_stats gs;
	struct xlk_blk_counts bc;

	if (xl_gnttab_ready()) {
		xl_gnttab_get_stats(&gs);
		seq_printf(
			m,
			"gnttab refs=%u free=%u deferred_now=%u granted=%llu ended=%llu busy=%llu deferred_total=%llu deferred_released=%llu exhausted=%llu\n",
			xl_gnttab_nr_refs(), xl_gnttab_nr_free(),
			xl_gnttab_nr_deferred(), gs.granted, gs.ended, gs.busy,
			gs.deferred, gs.deferred_released, gs.exhausted);
	}
	xlk_blk_counts(&bc);
	seq_printf(
		m,
		"blk disks=%u added=%llu removed=%llu gone=%llu io_errors=%llu\n",
		bc.disks, bc.added, bc.removed, bc.gone, bc.io_errors);
}

static int stats_show(struct seq_file *m, void *unused)
{
	unsigned int cpu, max = xl_evtchn_max_ports();
	evtchn_port_t port;
	enum xl_port_type t;

	seq_printf(m, "abi %s\nupcall %s\nclock %s\nvcpus %u\n",
		   xl_evtchn_abi_name(), xlk_upcall_mode_name(),
		   xl_clock_mode() == XL_CLOCK_PERIODIC ? "periodic" :
							  "singleshot",
		   xl_os_nr_vcpus());
	show_grants(m);
	cpus_read_lock();
	for_each_online_cpu(cpu) show_cpu(m, cpu);
	cpus_read_unlock();
	/* Ports beyond 4096 would only come from many test channels. */
	for (port = 1; port < max && port < 4096; port++) {
		t = xl_evtchn_port_type(port);
		if (t == XL_PORT_FREE)
			continue;
		seq_printf(m, "port %u type=%s vcpu=%u events=%llu\n", port,
			   type_name(t), xl_evtchn_port_cpu(port),
			   xl_evtchn_port_count(port));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(stats);

/* --- tests --------------------------------------------------------------- */

struct test_ctx {
	struct completion done;
	ktime_t sent;
	u64 *lat;
	unsigned int n; /* handled, stored in lat[] */
	unsigned int max;
	unsigned int want_vcpu;
	unsigned int wrong_cpu;
	unsigned int stray; /* handled when nothing was outstanding */
	bool outstanding;
};

static void test_handler(evtchn_port_t port, void *data)
{
	struct test_ctx *t = data;
	ktime_t now = ktime_get();

	if (!READ_ONCE(t->outstanding)) {
		t->stray++;
		return;
	}
	/* Only for an event we sent: a stray one may predate a move. */
	if (xl_os_vcpu_id() != t->want_vcpu)
		t->wrong_cpu++;
	WRITE_ONCE(t->outstanding, false);
	if (t->n < t->max)
		t->lat[t->n++] = ktime_to_ns(ktime_sub(now, t->sent));
	complete(&t->done);
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void ctx_init(struct test_ctx *t, u64 *lat, unsigned int max,
		     unsigned int vcpu)
{
	memset(t, 0, sizeof(*t));
	init_completion(&t->done);
	t->lat = lat;
	t->max = max;
	t->want_vcpu = vcpu;
}

/* One event on send_port, waited for on t. */
static bool send_wait(struct test_ctx *t, evtchn_port_t send_port)
{
	unsigned long flags;

	reinit_completion(&t->done);
	/*
	 * Masked: the handler may run on this vCPU.  On another vCPU it runs
	 * after the send hypercall, which comes after these stores in program
	 * order (x86 TSO; vmcall/vmmcall is serializing as well).
	 */
	flags = xl_os_irq_save();
	t->sent = ktime_get();
	WRITE_ONCE(t->outstanding, true);
	xl_os_irq_restore(flags);
	if (xl_evtchn_send(send_port))
		return false;
	return wait_for_completion_timeout(&t->done,
					   msecs_to_jiffies(TEST_WAIT_MS));
}

struct ipi_job {
	struct test_ctx *t;
	evtchn_port_t port;
	unsigned int n;
	unsigned int sent;
};

static long ipi_send_loop(void *arg)
{
	struct ipi_job *j = arg;

	for (j->sent = 0; j->sent < j->n; j->sent++)
		if (!send_wait(j->t, j->port))
			break;
	return 0;
}

static void report(const char *what, unsigned int sent, struct test_ctx *t,
		   bool ok)
{
	u64 p50 = 0, p99 = 0, max = 0;

	if (t->n) {
		sort(t->lat, t->n, sizeof(u64), cmp_u64, NULL);
		p50 = t->lat[t->n / 2];
		p99 = t->lat[min(t->n - 1, t->n * 99 / 100)];
		max = t->lat[t->n - 1];
	}
	snprintf(
		test_result, sizeof(test_result),
		"%s sent=%u handled=%u wrong_cpu=%u p50_ns=%llu p99_ns=%llu max_ns=%llu %s\n",
		what, sent, t->n, t->wrong_cpu, p50, p99, max,
		ok ? "ok" : "FAIL");
	pr_info("test: %s", test_result);
}

static int test_ipi(unsigned int to, unsigned int from, unsigned int n)
{
	struct test_ctx t;
	struct ipi_job j;
	char what[64];
	u64 *lat;
	int rc;

	if (to >= nr_cpu_ids || from >= nr_cpu_ids || !cpu_online(to) ||
	    !cpu_online(from) || !xlk_upcall_cpu_ok(to))
		return -EINVAL;
	lat = kvcalloc(n, sizeof(u64), GFP_KERNEL);
	if (!lat)
		return -ENOMEM;
	ctx_init(&t, lat, n, per_cpu(xlk_vcpu_id, to));
	rc = xl_evtchn_bind_ipi(t.want_vcpu, test_handler, &t, &j.port);
	if (rc) {
		kvfree(lat);
		return -EIO;
	}
	j.t = &t;
	j.n = n;
	work_on_cpu(from, ipi_send_loop, &j);
	xl_evtchn_close(j.port);
	snprintf(what, sizeof(what), "ipi to=%u from=%u", to, from);
	report(what, j.sent, &t, j.sent == n && t.n == n && !t.wrong_cpu);
	kvfree(lat);
	return 0;
}

static int test_loopback(unsigned int n, unsigned int cpu)
{
	struct test_ctx a, b;
	evtchn_port_t pa = 0, pb = 0;
	unsigned int i, sent = 0;
	u64 *lat;
	int rc;
	bool ok;

	if (cpu >= nr_cpu_ids || !cpu_online(cpu) || !xlk_upcall_cpu_ok(cpu))
		return -EINVAL;
	lat = kvcalloc(2 * (size_t)n, sizeof(u64), GFP_KERNEL);
	if (!lat)
		return -ENOMEM;
	ctx_init(&a, lat, n, 0);
	ctx_init(&b, lat + n, n, 0);
	rc = xl_evtchn_alloc_unbound(DOMID_SELF, test_handler, &a, &pa);
	/*
	 * Xen raises the new end once on bind (evtchn_bind_interdomain() in
	 * xen/common/event_channel.c): wait for that event on vCPU 0 before
	 * moving the port, so it cannot arrive late on vCPU 0 and count as
	 * one of ours on the wrong vCPU (a fixed 200 ms sleep was not enough
	 * under nested TCG, where one event took 455 ms).
	 */
	if (!rc) {
		reinit_completion(&b.done);
		WRITE_ONCE(b.outstanding, true);
		rc = xl_evtchn_bind_interdomain(DOMID_SELF, pa, test_handler,
						&b, &pb);
	}
	if (!rc && !wait_for_completion_timeout(&b.done,
						msecs_to_jiffies(TEST_WAIT_MS)))
		rc = -ETIMEDOUT;
	WRITE_ONCE(b.outstanding, false);
	b.n = 0;
	b.wrong_cpu = 0;
	b.stray = 0;
	if (!rc && per_cpu(xlk_vcpu_id, cpu) != 0) {
		b.want_vcpu = per_cpu(xlk_vcpu_id, cpu);
		rc = xl_evtchn_bind_vcpu(pb, b.want_vcpu);
	}
	for (i = 0; !rc && i < n; i++) {
		/* a -> b, then b -> a */
		if (!send_wait(&b, pa) || !send_wait(&a, pb))
			break;
		sent += 2;
	}
	if (pb)
		xl_evtchn_close(pb);
	if (pa)
		xl_evtchn_close(pa);
	/* Report both directions' latencies together. */
	memmove(lat + a.n, lat + n, b.n * sizeof(u64));
	a.n += b.n;
	a.wrong_cpu += b.wrong_cpu;
	ok = !rc && sent == 2 * n && a.n == 2 * n && !a.wrong_cpu;
	{
		char what[64];

		snprintf(what, sizeof(what), "loopback cpu=%u rc=%d", cpu, rc);
		report(what, sent, &a, ok);
	}
	kvfree(lat);
	return 0;
}

static ssize_t test_write(struct file *f, const char __user *ubuf, size_t len,
			  loff_t *ppos)
{
	unsigned int x, y, n;
	char buf[64];
	int rc = -EINVAL, k;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = 0;
	mutex_lock(&test_lock);
	cpus_read_lock();
	if (sscanf(buf, "ipi %u %u %u", &x, &y, &n) == 3 && n && n <= TEST_MAX)
		rc = test_ipi(x, y, n);
	else if ((k = sscanf(buf, "loopback %u %u", &n, &x)) >= 1 && n &&
		 n <= TEST_MAX)
		rc = test_loopback(n, k == 2 ? x : 0);
	cpus_read_unlock();
	if (rc)
		snprintf(test_result, sizeof(test_result),
			 "error %d for '%.40s'\n", rc, strim(buf));
	mutex_unlock(&test_lock);
	return rc ? rc : (ssize_t)len;
}

static ssize_t test_read(struct file *f, char __user *ubuf, size_t len,
			 loff_t *ppos)
{
	ssize_t r;

	mutex_lock(&test_lock);
	r = simple_read_from_buffer(ubuf, len, ppos, test_result,
				    strlen(test_result));
	mutex_unlock(&test_lock);
	return r;
}

static const struct file_operations test_fops = {
	.owner = THIS_MODULE,
	.write = test_write,
	.read = test_read,
	.llseek = default_llseek,
};

/*
 * console: bytes written here go to I/O port 0xe9, which Xen handles
 * itself for HVM guests and prints on its console as "(dN) ..." lines
 * (xen/arch/x86/hvm/hvm.c, hvm_print_line; a line ends at '\n' or after
 * about 200 bytes).  Under nested TCG it is far faster than the emulated
 * UART: tools/xen-hvm takes the trace-cmd report out this way.
 */
static ssize_t console_write(struct file *f, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char buf[256];
	size_t done = 0, n, i;

	while (done < len) {
		n = min(len - done, sizeof(buf));
		if (copy_from_user(buf, ubuf + done, n))
			return -EFAULT;
		for (i = 0; i < n; i++)
			outb(buf[i], 0xe9);
		done += n;
		cond_resched();
	}
	return (ssize_t)len;
}

static const struct file_operations console_fops = {
	.owner = THIS_MODULE,
	.write = console_write,
	.llseek = noop_llseek,
};

int xlk_debugfs_init(void)
{
	dir = debugfs_create_dir(XLK_NAME, NULL);
	if (IS_ERR(dir))
		return PTR_ERR(dir);
	debugfs_create_file("stats", 0444, dir, NULL, &stats_fops);
	debugfs_create_file("test", 0600, dir, NULL, &test_fops);
	debugfs_create_file("console", 0200, dir, NULL, &console_fops);
	xlk_xt_init(dir);
	return 0;
}

void xlk_debugfs_fini(void)
{
	/* Waits for open files' operations to finish (debugfs_remove). */
	debugfs_remove(dir);
	dir = NULL;
	/* No new run once the file is gone; then the last run's threads. */
	xlk_xt_fini();
}
