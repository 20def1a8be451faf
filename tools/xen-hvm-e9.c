// SPDX-License-Identifier: GPL-2.0
/*
 * tools/xen-hvm-e9.c: copy standard input, line by line, to Xen's debug
 * port 0xe9 from user space in an HVM domU (tools/xen-hvm's test guests).
 *
 *   xen-hvm-e9 TAG
 *
 * Xen itself handles the port (no device model round trip), and prints
 * what the guest writes on its own console as "(dN) ..." lines, one for
 * each newline or every 78 bytes.  Each input line goes out as one or more
 * lines of at most 78 bytes: "TAG: " and the first part, then "TAG+ " and
 * each further part, so the host can join them again.  Bytes other than
 * printable ASCII and tabs are written as '?'.  A line is written with one
 * `rep outsb` (one exit to Xen per line, not one per byte).
 *
 * Built static (gcc -static -O2, `make out/xen-hvm-e9`) for the domU's
 * busybox initramfs.  Exit status 0 at end of input, 1 when the port
 * cannot be opened (ioperm: not root).
 */
#include <stdio.h>
#include <string.h>
#include <sys/io.h>

#define E9_PORT 0xe9
/* Xen's hvm_print_line() flushes a line every HVM_PBUF_SIZE - 2 bytes. */
#define E9_LINE 78

static void e9_write(const char *s, unsigned long n)
{
	asm volatile("rep outsb" : "+S"(s), "+c"(n) : "d"(E9_PORT) : "memory");
}

static void e9_line(const char *tag, const char *text, size_t len)
{
	char buf[E9_LINE + 1];
	size_t tl = strlen(tag), room, n, i;
	char sep = ':';

	if (tl > E9_LINE - 12)
		tl = E9_LINE - 12;
	room = E9_LINE - tl - 2;
	do {
		n = len < room ? len : room;
		memcpy(buf, tag, tl);
		buf[tl] = sep;
		buf[tl + 1] = ' ';
		for (i = 0; i < n; i++) {
			unsigned char c = text[i];

			if (c != '\t' && (c < 0x20 || c >= 0x7f))
				c = '?';
			buf[tl + 2 + i] = c;
		}
		buf[tl + 2 + n] = '\n';
		e9_write(buf, tl + 3 + n);
		text += n;
		len -= n;
		sep = '+';
	} while (len);
}

int main(int argc, char **argv)
{
	char line[4096];

	if (argc != 2) {
		fprintf(stderr, "usage: xen-hvm-e9 TAG\n");
		return 2;
	}
	if (ioperm(E9_PORT, 1, 1)) {
		perror("xen-hvm-e9: ioperm 0xe9");
		return 1;
	}
	while (fgets(line, sizeof(line), stdin)) {
		size_t len = strlen(line);

		if (len && line[len - 1] == '\n')
			len--;
		e9_line(argv[1], line, len);
	}
	return 0;
}
