#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The xenlite kselftest runner: runs an installed kselftest tree
# (make -C selftests install INSTALL_PATH=DIR) as the kernel's
# run_kselftest.sh does: the COLLECTION:TEST lines of
# kselftest-list.txt beside this script, each test run from its
# collection's directory with the timeout of its "settings" file
# (timeout=N, else 45 s), its output nested under "# ", one KTAP line
# per test (exit 0: ok, 4: ok # SKIP, 124: not ok # TIMEOUT, else not
# ok # exit=N), then "# Totals: pass:N fail:N xfail:0 xpass:0 skip:N
# error:0".  Exit status 1 if a test failed.
#
#   run_kselftest.sh [-l] [-c COLLECTION]... [-t COLLECTION:TEST]...
#                    [-o SECONDS]
#
#   -l   list the tests and exit
#   -c   run the tests of COLLECTION
#   -t   run COLLECTION:TEST
#   -o   every test's timeout, in place of the settings files'
#
# A test's arguments come from KSELFTEST_<TEST>_ARGS (the name in upper
# case, other characters than letters and digits as "_"), as in the
# kernel's runner: KSELFTEST_XL_SELFTEST_ARGS="xs/ time/".

BASE_DIR=$(cd "$(dirname "$0")" && pwd) || exit 2
LIST=$BASE_DIR/kselftest-list.txt

usage()
{
	sed -n '14,20s/^# \{0,1\}//p' "$0"
	exit "$1"
}

case ${1:-} in -h | --help) usage 0 ;; esac
if [ ! -r "$LIST" ]; then
	echo "$0: no $LIST (make -C selftests install INSTALL_PATH=...)" >&2
	exit 2
fi

want=""
override=""
while [ $# -gt 0 ]; do
	case $1 in
	-l) cat "$LIST"; exit 0 ;;
	-c)
		[ $# -ge 2 ] || usage 2
		found=$(grep "^$2:" "$LIST") || {
			echo "$0: no collection '$2'" >&2
			exit 2
		}
		want="$want $found"
		shift 2
		;;
	-t)
		[ $# -ge 2 ] || usage 2
		grep -qx "$2" "$LIST" || {
			echo "$0: no test '$2'" >&2
			exit 2
		}
		want="$want $2"
		shift 2
		;;
	-o)
		[ $# -ge 2 ] || usage 2
		override=$2
		shift 2
		;;
	-h) usage 0 ;;
	*) usage 2 ;;
	esac
done
[ -n "$want" ] || want=$(cat "$LIST")

pass=0
fail=0
skip=0
num=0
rcfile=$(mktemp) || exit 2
trap 'rm -f "$rcfile"' EXIT

# run_one COLLECTION TEST
run_one()
{
	dir=$BASE_DIR/$1
	hdr="selftests: $1: $2"
	secs=45
	if [ -r "$dir/settings" ]; then
		t=$(sed -n 's/^timeout=\([0-9][0-9]*\)$/\1/p' "$dir/settings")
		[ -n "$t" ] && secs=$t
	fi
	[ -n "$override" ] && secs=$override
	var=KSELFTEST_$(printf '%s' "$2" | tr -c '[:alnum:]' '_' |
		tr '[:lower:]' '[:upper:]')_ARGS
	eval "args=\${$var:-}"
	echo "# $hdr"
	if [ ! -x "$dir/$2" ]; then
		echo "# $dir/$2: missing or not executable"
		echo "not ok $num $hdr"
		fail=$((fail + 1))
		return
	fi
	# shellcheck disable=SC2154,SC2086 # args: set by eval, split on purpose
	{
		cd "$dir" && timeout "$secs" "./$2" $args 2>&1
		echo $? >"$rcfile"
	} | while IFS= read -r line || [ -n "$line" ]; do
		printf '# %s\n' "$line"
	done
	rc=$(cat "$rcfile")
	case $rc in
	0)
		echo "ok $num $hdr"
		pass=$((pass + 1))
		;;
	4)
		echo "ok $num $hdr # SKIP"
		skip=$((skip + 1))
		;;
	124)
		echo "not ok $num $hdr # TIMEOUT $secs seconds"
		fail=$((fail + 1))
		;;
	*)
		echo "not ok $num $hdr # exit=$rc"
		fail=$((fail + 1))
		;;
	esac
}

echo "TAP version 13"
echo "1..$(echo "$want" | wc -w)"
for entry in $want; do
	num=$((num + 1))
	run_one "${entry%%:*}" "${entry#*:}"
done
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ "$fail" -eq 0 ]
