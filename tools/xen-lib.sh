# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# tools/xen-lib.sh: shell helpers shared by the real-Xen tools (source it
# from bash; it sets no shell options and runs nothing on its own).
#
#   xlib_prog=NAME          prefix for xlib_say/xlib_die (default: the script)
#   xlib_say MSG...         "NAME: MSG" on stderr
#   xlib_die MSG...         "NAME: error: MSG" on stderr, exit 1
#   xlib_need CMD...        die unless every CMD is on PATH (names the package)
#   xlib_now                seconds since the epoch, with fractions
#   xlib_since T0 [T1]      T1 (default now) - T0 in seconds, one decimal
#   xlib_kver               kernel version of the installed linux-image-amd64
#   xlib_xen_elf OUT        gunzip /boot/xen-4.17-amd64.gz to OUT when stale
#                           (QEMU's -kernel wants the multiboot ELF inside)
#   xlib_vmlinux BZIMAGE OUT  the ELF kernel inside a bzImage, to OUT when
#                           stale (xz, gzip or zstd payload); Xen's dom0
#                           builder and libxenguest load it without the
#                           decompression that costs seconds under TCG
#   xlib_copy_bins ROOT F.. copy files F (absolute paths) into ROOT at the
#                           same paths, with every library ldd names for them
#   xlib_copy_tree ROOT D.. copy directories D (absolute) into ROOT
#   xlib_standins DIR BIN SONAME..  in DIR, a stand-in for each library
#                           SONAME that BIN links: the functions BIN takes
#                           from it, each calling abort(), under the symbol
#                           versions BIN asks for (for engines of a tool
#                           that a guest never uses, whose libraries are
#                           large)
#   xlib_copy_bin_standins ROOT DIR BIN  copy BIN into ROOT with the
#                           libraries ld.so loads for it when DIR's
#                           stand-ins come first, each at the path of the
#                           library it stands for
#   xlib_mod_order KVER M.. module names M with their dependencies, deps
#                           first, as paths under /lib/modules/KVER
#   xlib_cpio_gz DIR OUT    newc cpio of DIR's contents, gzipped, to OUT
#                           (owned by root, written through OUT.tmp)
#   xlib_cpio DIR OUT       the same, uncompressed
#   xlib_guest_script VAR NAME  tools/guest/NAME, a script for a guest (a
#                           template whose @WORDS@ the tool fills in), into
#                           the variable VAR byte for byte
#   xlib_lock FILE SECS WHAT  hold an exclusive lock on FILE (flock) for the
#                           rest of the script, waiting up to SECS for it;
#                           WHAT names the holder in the waiting message
#   xlib_qemu_kill PID      end a QEMU started by this script, by its pid
#   xlib_qemu_cpu           the -cpu value that works for Xen under TCG here
#   xlib_other_qemus        how many qemu-system-* processes run (any owner)
#   xlib_wait_quiet SECS    wait up to SECS for other QEMUs to end (TCG runs
#                           on shared cores distort each other's timings)
#
# Needs: coreutils, gzip, cpio, ldd (libc-bin), modinfo (kmod).

: "${xlib_prog:=$(basename "${0:-xen-lib}")}"

XLIB_XEN_GZ=${XLIB_XEN_GZ:-/boot/xen-4.17-amd64.gz}

xlib_say()
{
	printf '%s: %s\n' "$xlib_prog" "$*" >&2
}

xlib_die()
{
	printf '%s: error: %s\n' "$xlib_prog" "$*" >&2
	exit 1
}

# xlib_tsc_mode VAR VALUE: VALUE must be one of xl's tsc_mode values or
# empty (no tsc_mode line in the domU configs); anything else is a usage
# error that names VAR (exit 2).
xlib_tsc_mode()
{
	[[ $2 =~ ^(|default|always_emulate|native|native_paravirt)$ ]] && return
	printf "%s: %s: not an xl tsc_mode: '%s'\n" "$xlib_prog" "$1" "$2" >&2
	exit 2
}

# Which Debian package provides a command we need (for the error message).
xlib__pkg_of()
{
	case $1 in
	qemu-system-x86_64) echo qemu-system-x86 ;;
	busybox) echo busybox-static ;;
	cpio) echo cpio ;;
	cyclictest) echo rt-tests ;;
	fio) echo fio ;;
	readelf) echo binutils ;;
	modinfo) echo kmod ;;
	ldd) echo libc-bin ;;
	gzip | gunzip) echo gzip ;;
	timeout) echo coreutils ;;
	*) echo "the package providing $1" ;;
	esac
}

xlib_need()
{
	local c

	for c; do
		command -v "$c" >/dev/null 2>&1 ||
			xlib_die "'$c' not found: install $(xlib__pkg_of "$c") (tools/setup --xen)"
	done
}

xlib_now()
{
	date +%s.%N
}

xlib_since()
{
	awk -v a="$1" -v b="${2:-$(date +%s.%N)}" 'BEGIN { printf "%.1f", b - a }'
}

# The linux-image-amd64 metapackage depends on exactly one versioned image,
# e.g. "linux-image-6.1.0-57-amd64 (= 6.1.192-3)"; /lib/modules may hold
# others (older, or headers-only leftovers), so ask dpkg, not ls.
xlib_kver()
{
	local dep

	dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null) ||
		xlib_die "linux-image-amd64 is not installed (tools/setup --xen)"
	dep=${dep%% *}
	dep=${dep%%,*}
	dep=${dep#linux-image-}
	[[ -n $dep && -d /lib/modules/$dep && -f /boot/vmlinuz-$dep ]] ||
		xlib_die "linux-image-amd64 names kernel '$dep', but /boot/vmlinuz-$dep or /lib/modules/$dep is missing"
	printf '%s\n' "$dep"
}

xlib_xen_elf()
{
	local out=$1 tmp

	[[ -f $XLIB_XEN_GZ ]] ||
		xlib_die "no $XLIB_XEN_GZ: install xen-hypervisor-4.17-amd64 (tools/setup --xen)"
	if [[ -s $out && ! $XLIB_XEN_GZ -nt $out ]]; then
		return 0
	fi
	mkdir -p "$(dirname "$out")"
	# Another tool may gunzip to the same path at the same time: write a
	# private temporary and rename it into place.
	tmp=$(mktemp "$out.XXXXXX")
	gunzip -c "$XLIB_XEN_GZ" >"$tmp" || { rm -f "$tmp"; xlib_die "gunzip $XLIB_XEN_GZ failed"; }
	chmod 644 "$tmp"
	mv -f "$tmp" "$out"
}

xlib_vmlinux()
{
	local bz=$1 out=$2 ss po pl off tmp magic

	[[ -f $bz ]] || xlib_die "no such kernel: $bz"
	if [[ -s $out && ! $bz -nt $out ]]; then
		return 0
	fi
	# x86 boot protocol >= 2.08: setup_sects at 0x1f1 (0 means 4), the
	# payload's offset from the protected-mode code at 0x248, its length at
	# 0x24c.  The build appends the uncompressed size (le32) to the stream.
	[[ $(od -An -c -j 514 -N4 "$bz" | tr -d ' ') == HdrS ]] ||
		xlib_die "$bz is not a bzImage (no HdrS)"
	ss=$(od -An -tu1 -j $((0x1f1)) -N1 "$bz" | tr -d ' ')
	((ss)) || ss=4
	po=$(od -An -tu4 -j $((0x248)) -N4 "$bz" | tr -d ' ')
	pl=$(od -An -tu4 -j $((0x24c)) -N4 "$bz" | tr -d ' ')
	off=$(((ss + 1) * 512 + po))
	magic=$(od -An -tx1 -j "$off" -N4 "$bz" | tr -d ' ')
	mkdir -p "$(dirname "$out")"
	tmp=$(mktemp "$out.XXXXXX")
	case $magic in
	fd377a58) xlib_need xz
		tail -c +$((off + 1)) "$bz" | head -c "$pl" | xz -dc --single-stream >"$tmp" 2>/dev/null || true ;;
	1f8b*) tail -c +$((off + 1)) "$bz" | head -c "$pl" | gzip -dc >"$tmp" 2>/dev/null || true ;;
	28b52ffd) xlib_need zstd
		tail -c +$((off + 1)) "$bz" | head -c "$pl" | zstd -dcq >"$tmp" 2>/dev/null || true ;;
	*) rm -f "$tmp"; xlib_die "$bz: unknown payload compression (magic $magic)" ;;
	esac
	if [[ $(head -c 4 "$tmp" | od -An -tx1 | tr -d ' ') != 7f454c46 ]]; then
		rm -f "$tmp"
		xlib_die "$bz: the payload did not decompress to an ELF file"
	fi
	chmod 644 "$tmp"
	mv -f "$tmp" "$out"
}

# Copy one file to ROOT at its own path, following symlinks (the link's
# name is what ldd and ld.so look for).
xlib__put()
{
	local root=$1 f=$2

	[[ -e $root$f ]] && return 0
	mkdir -p "$root$(dirname "$f")"
	cp -L --preserve=mode "$f" "$root$f"
}

xlib_copy_bins()
{
	local root=$1 f lib
	shift

	for f; do
		[[ -f $f ]] || xlib_die "no such file to copy: $f"
		xlib__put "$root" "$f"
		# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and
		# "/lib64/ld-linux-x86-64.so.2 (0x...)"; static binaries print
		# "not a dynamic executable" and ldd fails: nothing to add.
		while read -r lib; do
			[[ -n $lib ]] && xlib__put "$root" "$lib"
		done < <(ldd "$f" 2>/dev/null |
			awk '$2 == "=>" && $3 ~ /^\// { print $3 }
			     $1 ~ /^\// { print $1 }')
		if ldd "$f" 2>/dev/null | grep -q 'not found'; then
			xlib_die "ldd $f: missing libraries: $(ldd "$f" | grep 'not found' | tr -s ' \t' ' ')"
		fi
	done
}

xlib_copy_tree()
{
	local root=$1 d
	shift

	for d; do
		[[ -d $d ]] || xlib_die "no such directory to copy: $d"
		mkdir -p "$root$(dirname "$d")"
		cp -a "$d" "$root$(dirname "$d")/"
	done
}

xlib_standins()
{
	local dir=$1 bin=$2 so real c vs syms sym type ver bsyms rsyms
	shift 2

	xlib_need gcc readelf
	mkdir -p "$dir"
	# BIN's imports, "name version" ("-" without one).
	bsyms=$(readelf -W --dyn-syms "$bin" | awk '$7 == "UND" && $4 != "NOTYPE" {
		n = $8; sub(/ .*/, "", n); v = "-"
		if (index(n, "@")) { v = n; sub(/^[^@]*@+/, "", v); sub(/@.*/, "", n) }
		print n, v }')
	for so; do
		real=$(ldd "$bin" | awk -v s="$so" '$1 == s && $3 ~ /^\// { print $3 }')
		[[ -n $real ]] || xlib_die "$bin does not link $so"
		# The real library's definitions, "name type".
		rsyms=$(readelf -W --dyn-syms "$real" | awk '$7 != "UND" && ($4 == "FUNC" || $4 == "OBJECT") {
			n = $8; sub(/@.*/, "", n); print n, $4 }' | LC_ALL=C sort -u)
		# What BIN takes from it: "name version type".
		syms=$(awk 'NR == FNR { t[$1] = $2; next } ($1 in t) { print $1, $2, t[$1] }' \
			<(printf '%s\n' "$rsyms") <(printf '%s\n' "$bsyms") | LC_ALL=C sort -u)
		[[ -n $syms ]] || xlib_die "$bin takes nothing from $so"
		c=$dir/$so.c vs=$dir/$so.map
		{
			echo "/* stand-in for $so, made by tools/xen-lib.sh xlib_standins */"
			echo "#include <stdlib.h>"
		} >"$c"
		: >"$vs.tmp"
		while read -r sym ver type; do
			[[ $type == FUNC ]] || xlib_die "$so: $sym is a $type, not a function"
			echo "void $sym(void) { abort(); }" >>"$c"
			echo "$ver $sym" >>"$vs.tmp"
		done <<<"$syms"
		if grep -q '^- ' "$vs.tmp" && grep -qv '^- ' "$vs.tmp"; then
			xlib_die "$so: $bin asks for some symbols with versions, some without"
		fi
		if grep -qv '^- ' "$vs.tmp"; then
			LC_ALL=C sort "$vs.tmp" | awk '
				$1 != v { if (v != "") print "};"; v = $1; print v " {"; print "  global:" }
				{ print "    " $2 ";" }
				END { print "  local: *;"; print "};" }' >"$vs"
			gcc -shared -fPIC -O2 -o "$dir/$so" -Wl,-soname,"$so" -Wl,--version-script,"$vs" "$c" ||
				xlib_die "building the stand-in $so"
		else
			gcc -shared -fPIC -O2 -o "$dir/$so" -Wl,-soname,"$so" "$c" ||
				xlib_die "building the stand-in $so"
		fi
		rm -f "$vs.tmp"
		echo "$real" >"$dir/$so.path"
	done
}

xlib_copy_bin_standins()
{
	local root=$1 dir=$2 bin=$3 lib so libs

	xlib__put "$root" "$bin"
	libs=$(LD_LIBRARY_PATH=$dir ldd "$bin" 2>/dev/null) || xlib_die "ldd $bin failed"
	[[ $libs != *"not found"* ]] || xlib_die "ldd $bin: missing libraries with the stand-ins"
	while read -r lib; do
		[[ -n $lib ]] || continue
		if [[ $lib == "$dir"/* ]]; then
			so=${lib##*/}
			mkdir -p "$root$(dirname "$(cat "$dir/$so.path")")"
			cp "$lib" "$root$(cat "$dir/$so.path")"
		else
			xlib__put "$root" "$lib"
		fi
	done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 }
		     $1 ~ /^\// { print $1 }' <<<"$libs")
}

xlib_mod_order()
{
	local kver=$1 m
	shift
	declare -A done_=()
	local -a order=()

	xlib__mod_visit()
	{
		local name=${1//_/-} dep path deps
		[[ -n ${done_[$name]:-} ]] && return 0
		done_[$name]=1
		path=$(modinfo -k "$kver" -n "$name" 2>/dev/null) ||
			xlib_die "kernel $kver has no module '$name'"
		case $path in
		builtin | "(builtin)" | */builtin*) return 0 ;;
		esac
		deps=$(modinfo -k "$kver" -F depends "$name")
		for dep in ${deps//,/ }; do
			xlib__mod_visit "$dep"
		done
		order+=("$path")
	}
	for m; do
		xlib__mod_visit "$m"
	done
	printf '%s\n' "${order[@]}"
}

xlib_guest_script()
{
	local f=${BASH_SOURCE[0]%/*}/guest/$2

	[[ -f $f ]] || xlib_die "no $f"
	# -d '': up to a NUL, i.e. the whole file, trailing newline included.
	IFS= read -rd '' "$1" <"$f" || true
}

xlib_cpio_gz()
{
	local dir=$1 out=$2

	( cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 ) | gzip -6 >"$out.tmp" ||
		{ rm -f "$out.tmp"; xlib_die "cpio/gzip of $dir failed"; }
	mv -f "$out.tmp" "$out"
}

xlib_cpio()
{
	local dir=$1 out=$2

	( cd "$dir" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 ) >"$out.tmp" ||
		{ rm -f "$out.tmp"; xlib_die "cpio of $dir failed"; }
	mv -f "$out.tmp" "$out"
}

xlib_lock()
{
	local file=$1 secs=$2 what=$3 fd

	xlib_need flock
	mkdir -p "$(dirname "$file")"
	exec {fd}>>"$file"
	if ! flock -n "$fd"; then
		xlib_say "waiting up to $secs s for another $what (lock $file)"
		flock -w "$secs" "$fd" || xlib_die "another $what still holds $file after $secs s"
	fi
}

xlib_qemu_kill()
{
	local pid=$1

	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# SMAP crashes a PV dom0, RDTSCP crashes PVH/HVM guests under QEMU's SVM,
# XSAVE crashed a PVH dom0 running the toolstack (../shared/docs/xen-facts.md).
xlib_qemu_cpu()
{
	echo 'max,-smap,-rdtscp,-xsave'
}

xlib_other_qemus()
{
	pgrep -c '^qemu-system-' 2>/dev/null || true
}

xlib_wait_quiet()
{
	local secs=$1 t0 n

	t0=$(date +%s)
	n=$(xlib_other_qemus)
	((n > 0)) || return 0
	xlib_say "waiting up to $secs s for $n other QEMU process(es) to end"
	while ((n > 0 && $(date +%s) - t0 < secs)); do
		sleep 2
		n=$(xlib_other_qemus)
	done
	if ((n > 0)); then
		xlib_say "still $n other QEMU process(es) after $secs s: going ahead (timings will be slower)"
	else
		xlib_say "no other QEMU after $(($(date +%s) - t0)) s"
	fi
}
