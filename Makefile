# SPDX-License-Identifier: GPL-2.0
#
# xenlite top-level build.  Variants build into build/<variant>/:
#   hv    -O2 -g, the default
#   tsan  -fsanitize=thread
#   asan  -fsanitize=address,undefined
# The core (xen-*.c) compiles freestanding (-nostdinc): it can only see
# include/xenlite, the host's <xenlite_host.h> and the Xen public headers.

VARIANT ?= hv
O := build/$(VARIANT)
CC ?= gcc
ifeq ($(CC),cc)
CC := gcc
endif

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes
OPT := -O2 -g -fno-omit-frame-pointer
# The TSan build makes xl_read / xl_write relaxed (XL_WEAK_PLAIN,
# include/xenlite/atomic-gcc.h), as weak as os.h lets them be, so that a
# publication through them instead of a release/acquire pair is a race.
WEAK :=
ifeq ($(VARIANT),tsan)
SAN := -fsanitize=thread
WEAK := -DXL_WEAK_PLAIN
else ifeq ($(VARIANT),asan)
SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
else
SAN :=
endif

XEN_INC := build/xen-include
XEN_HDR := $(XEN_INC)/xen/event_channel.h
CORE_SRCS := xen-evtchn.c xen-evtchn-fifo.c xen-clockevent.c xen-idle.c \
	xen-gnttab.c blkfront-lite/blkfront.c blkfront-lite/blkfront-xenbus.c
CORE_SRCS += xen-xenstore.c xen-xenbus.c
# HV_EXPLORE: the explore points of hv/guest/xenlite_host.h (hv/explore.c,
# off unless XL_EXPLORE_SEED is set).
CORE_CFLAGS := -std=gnu11 $(WARN) $(OPT) $(SAN) -ffreestanding -nostdinc \
	-isystem $(shell $(CC) -print-file-name=include) \
	-Iinclude -Ihv/guest -I$(XEN_INC) -DHV_EXPLORE $(WEAK)
HOST_CFLAGS := -std=gnu11 $(WARN) $(OPT) $(SAN) -pthread -D_GNU_SOURCE \
	-Iinclude -Ihv/include -Ihv/guest -Iselftests -I$(XEN_INC) -DHV_EXPLORE \
	$(WEAK)
LDLIBS := -pthread -lm

HV_SRCS := $(wildcard hv/*.c)
GUEST_SRCS := $(wildcard hv/guest/*.c)
TEST_SRCS := $(filter-out selftests/stress.c selftests/bench.c \
	selftests/tick.c selftests/tick-hv.c selftests/drift-lab.c, \
	$(wildcard selftests/*.c))

CORE_OBJS := $(patsubst %.c,$(O)/%.o,$(CORE_SRCS))
HV_OBJS := $(patsubst %.c,$(O)/%.o,$(HV_SRCS) $(GUEST_SRCS))
TEST_OBJS := $(patsubst %.c,$(O)/%.o,$(TEST_SRCS))
RUNNER_OBJS := $(filter-out $(O)/selftests/main.o,$(TEST_OBJS))

.PHONY: all setup check check-hv check-xen check-xen-long check-tsan check-asan stress explore \
	bench bench-stability \
	bench-xen demo soak-hvm soak-hvm-load \
	format lint shellcheck clean variants help

all: $(O)/xl-selftest $(O)/xl-stress $(O)/xl-bench $(O)/xl-tick $(O)/xl-drift

setup:
	@tools/setup

# The target is a header behind the link, so a missing libxen-dev brings
# setup back even in a tree that already has the link.
$(XEN_HDR):
	@test -f /usr/include/xen/event_channel.h || tools/setup
	@mkdir -p $(XEN_INC)
	@ln -sfn /usr/include/xen $(XEN_INC)/xen

$(O)/xen-%.o: xen-%.c | $(XEN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -MMD -MP -c $< -o $@

$(O)/blkfront-lite/%.o: blkfront-lite/%.c | $(XEN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CORE_CFLAGS) -MMD -MP -c $< -o $@

$(O)/hv/%.o $(O)/selftests/%.o: | $(XEN_HDR)

$(O)/%.o: %.c | $(XEN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(O)/xl-selftest: $(TEST_OBJS) $(CORE_OBJS) $(HV_OBJS)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(O)/xl-stress: $(O)/selftests/stress.o $(RUNNER_OBJS) $(CORE_OBJS) $(HV_OBJS)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

# xl-bench links the core as a production host builds it: without the
# explore points (-DHV_EXPLORE puts a load and a branch before every
# atomic and barrier of the core, about 29 instructions per FIFO event).
# hv's own points (hypercall entry and exit, upcall) stay, off unless
# XL_EXPLORE_SEED is set.
BENCH_CORE_CFLAGS := $(filter-out -DHV_EXPLORE,$(CORE_CFLAGS))
BENCH_CORE_OBJS := $(patsubst %.c,$(O)/bench-core/%.o,$(CORE_SRCS))

$(O)/bench-core/%.o: %.c | $(XEN_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CORE_CFLAGS) -MMD -MP -c $< -o $@

$(O)/xl-bench: $(O)/selftests/bench.o $(RUNNER_OBJS) $(BENCH_CORE_OBJS) \
		$(HV_OBJS)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

$(O)/xl-tick: $(O)/selftests/tick-hv.o $(O)/selftests/tick.o $(RUNNER_OBJS) \
		$(CORE_OBJS) $(HV_OBJS)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

# The drift lab's program (tools/drift-lab, docs/time-drift.md).
$(O)/xl-drift: $(O)/selftests/drift-lab.o $(RUNNER_OBJS) $(CORE_OBJS) $(HV_OBJS)
	$(CC) $(SAN) -o $@ $^ $(LDLIBS)

-include $(shell find build -name '*.d' 2>/dev/null)

# --- tests -----------------------------------------------------------------

check-hv: all
	$(O)/xl-selftest
	$(O)/xl-stress --ci

check-tsan:
	$(MAKE) VARIANT=tsan all
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
		build/tsan/xl-selftest
	TSAN_OPTIONS="halt_on_error=1" build/tsan/xl-stress --sanitizer

check-asan:
	$(MAKE) VARIANT=asan all
	ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1" \
		build/asan/xl-selftest
	ASAN_OPTIONS="detect_leaks=1" UBSAN_OPTIONS="halt_on_error=1" \
		build/asan/xl-stress --sanitizer

check:
	@tools/setup --quiet
	@tools/run-checks

# Real Xen 4.17 under QEMU (tools/xen-run installs its own packages), and
# the fidelity of hv's verdicts to Xen's.
# The long real-Xen runs, outside make check: the hvm suite (xenlite.ko
# and the xt tables in it) with Debian 12's 6.12 as the domUs' kernel
# (XEN_HVM_GUEST_KVER=newest; dom0 stays 6.1).
check-xen-long:
	@tools/setup --quiet
	XEN_HVM_GUEST_KVER=newest tools/xen-run hvm

check-xen:
	@tools/setup --quiet
	@CHECKS="hv xen xenpv xendomu xenpvdomu xensr fidelity hvm" tools/run-checks

# The soak of xenlite.ko on real Xen (docs/linux-module.md): 20 runs of
# the hvm suite's trace-cmd step, hangs counted, evidence of each kept in
# out/hvm/.  Not part of check: about an hour of nested TCG.
soak-hvm:
	@tools/setup --quiet --xen
	@XEN_HVM_SETUP=0 tools/xen-run hvm -r 20

# Load/unload churn of xenlite.ko on real Xen, with stock modules of the
# guest kernel as the control (tools/xen-hvm --churn, docs/linux-module.md):
# CHURN_CYCLES cycles in each domU of XEN_HVM_CHURN_KINDS, triple faults
# counted per kind with Xen's dump and each vCPU's CPU record
# (out/hvm/churn.txt).  Not part of check: a domU's boot alone takes
# minutes of nested TCG.
CHURN_CYCLES ?= 10
soak-hvm-load:
	@tools/setup --quiet --xen
	@XEN_HVM_SETUP=0 tools/xen-run hvm --churn $(CHURN_CYCLES)

stress: all
	$(O)/xl-stress --long

# The concurrency tests under hv's adversarial schedules, one run per seed
# (tools/explore; make check's part explore runs seeds 1..40).
EXPLORE_SEEDS ?= 2000
EXPLORE_FIRST ?= 1
explore: all
	@tools/explore --seeds $(EXPLORE_SEEDS) --first $(EXPLORE_FIRST)

bench: all
	@tools/setup --quiet --bench
	@tools/bench

# make bench three times: per ratio the spread of the medians and whether
# each run's median lies inside the other runs' intervals (the runs'
# output on stderr; bench/results/ keeps the last run's tables).
bench-stability: all
	@tools/setup --quiet --bench
	@tools/ratio-stability --runs 3

# The main job: the hv demo and tick comparison, the drift lab's short
# run (a tick-counting clock under each emulated-timer policy), then real
# Xen 4.17 under QEMU: the tick comparison and timer wake latency in the
# test kernel as dom0 and as a domU, beside a Linux PVH domU's cyclictest
# in the same boot.
demo: all
	@$(O)/xl-bench --demo
	@VARIANT=$(VARIANT) tools/tick-compare
	@VARIANT=$(VARIANT) tools/drift-lab --short
	@tools/xen-run tick

# The real-Xen benchmarks: the same tick run, ending in
# "ratio xen_timer_p99_vs_linux <value> <=1.00", then blkfront-lite beside
# Linux's xen-blkfront on dom0's xen-blkback in one boot, ending in
# "ratio blk_vs_linux_blkfront <value> >=1.00", then xenlite.ko's
# /dev/xlblk0 beside xen-blkfront in two HVM domUs of one boot
# (tools/xen-hvm --blkbench, BENCH_XEN_K trials), ending in
# "ratio linux_xlblk_vs_xen_blkfront MEDIAN [LO, HI] >=1.00 ...";
# all run, any failing fails the target.
BENCH_XEN_K ?= 8
bench-xen:
	@tools/setup --quiet
	@rc=0; tools/xen-run tick || rc=1; tools/xen-run blkbench || rc=1; \
		tools/xen-run hvm --blkbench $(BENCH_XEN_K) || rc=1; exit $$rc

# The Linux side of the real-Xen block benchmark: static, for the Linux
# PVH domU's busybox initramfs (tools/xen-domu --linux-job blkbench).
out/linux-blkbench: tools/linux-blkbench.c
	@mkdir -p out
	$(CC) -std=gnu11 $(WARN) -O2 -D_GNU_SOURCE -static -o $@ $<

# The peer domain of the interdomain tests on real Xen: a dom0 program on
# libxenevtchn and libxenstore (tools/evtchn-peer.c).  Linked against the
# shared libraries, which tools/xen-domu --peer ships with it: libxenstore's
# watch thread sizes its stack from glibc's __pthread_get_minstack, looked
# up with dlsym, which a static binary does not have (xs_watch then fails
# with EINVAL on a CPU with a large signal frame).
out/evtchn-peer: tools/evtchn-peer.c
	@mkdir -p out
	$(CC) -std=gnu11 $(WARN) -O2 -D_GNU_SOURCE -o $@ $< \
		-lxenevtchn -lxenstore

# The HVM test domUs' writer to Xen's debug port 0xe9 (tools/xen-hvm).
out/xen-hvm-e9: tools/xen-hvm-e9.c
	@mkdir -p out
	$(CC) -std=gnu11 $(WARN) -O2 -D_GNU_SOURCE -static -o $@ $<

# The libFuzzer harnesses (fuzz/*-fuzz.c, clang; fuzz/Makefile), each for
# FUZZ_RUNS executions (however long that takes: some 40 min for
# blkif-rsp-fuzz on an idle core); make check runs each for 20 s
# (run-checks part fuzz).
FUZZ_RUNS ?= 10000000
.PHONY: fuzz
fuzz:
	@tools/setup --quiet
	@fuzz/run --runs $(FUZZ_RUNS)

# The Promela models of the FIFO event-channel protocol and of
# check-then-block (models/, spin): every fixed model verifies, every BUG
# variant yields a counterexample (tools/spin-check; run-checks part spin).
# SPIN_FLAGS=--deep sends every port twice (minutes).
SPIN_FLAGS ?=
.PHONY: spin
spin:
	@tools/setup --quiet
	@tools/spin-check $(SPIN_FLAGS)

# Mutation testing of the core (tools/mutate): every mutant of the core
# files, each built into the selftest binary alone and run against the
# selftests of its file, then the whole suite, then its xl-stress --ci
# tests; a hang past the watchdog kills it.  Report in out/mutate.md.
# MUTATE_JOBS mutants at once; MUTATE_FILES="xen-idle.c ..." limits the
# files.  make check's part mutate runs a fixed sample of them.
MUTATE_JOBS ?= 1
MUTATE_FILES ?=
.PHONY: mutate
mutate: all
	@MUTATE_JOBS=$(MUTATE_JOBS) MUTATE_FILES="$(MUTATE_FILES)" tools/mutate

# The Linux module xenlite.ko (Kbuild, docs/linux-module.md): KDIR is a
# kernel build tree, by default the running kernel's; KVER=<version> picks
# /lib/modules/<version>/build (the real-Xen runs use Debian's 6.1:
# linux-headers-amd64).  W=1 and C=1 (sparse) reach kbuild as usual.
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build

.PHONY: module module-clean
module:
	@test -f $(KDIR)/Makefile || { \
		echo "make module: no kernel build tree at $(KDIR):" \
			"install linux-headers-$(KVER), or pass KDIR=<dir> or KVER=<version>" \
			"(installed: $$(ls /lib/modules 2>/dev/null | tr '\n' ' '))" >&2; \
		exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

module-clean:
	@test -f $(KDIR)/Makefile || { echo "make module-clean: no $(KDIR)" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean

# dkms.conf's add, build, install and remove for one kernel (DKMS_KVER,
# by default the running one or the newest with headers), in private dkms
# trees: the dkms part of make check (tools/run-checks).
.PHONY: dkms-check
dkms-check:
	@CHECKS=dkms tools/run-checks

# The files clang-format owns; tools/run-checks checks the same list.
FORMAT_FILES = $(CORE_SRCS) $(wildcard include/xenlite/*.h hv/*.c testkernel/*.c \
	hv/include/*.h hv/guest/*.c hv/guest/*.h selftests/*.c selftests/*.h \
	testkernel/*.h testkernel/include/*.h blkfront-lite/*.h)

FORMAT_FILES += $(wildcard fuzz/*.c)
FORMAT_FILES += tools/linux-blkbench.c tools/xen-hvm-e9.c tools/evtchn-peer.c

# The module's glue (linux/trace.h is TRACE_EVENT macros, kernel layout).
FORMAT_FILES += $(wildcard linux/*.c linux/xt-include/*.h) linux/xenlite_host.h \
	linux/xl-linux.h

format:
	clang-format -i $(FORMAT_FILES)

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -Iinclude -Ihv/include -Ihv/guest -Iselftests \
		$(CORE_SRCS) hv selftests

# Every shell script in the tree: the files whose first line runs sh or
# bash (the guest scripts of tools/guest/ too), and the sourced library;
# settings in .shellcheckrc (tools/guest/.shellcheckrc for the guests').
SHELL_SCRIPTS = $(sort tools/xen-lib.sh $(shell grep -lE '^\#!/bin/(ba)?sh' \
	.ci/run fuzz/run selftests/*.sh tools/* tools/guest/* 2>/dev/null))
shellcheck:
	shellcheck -x $(SHELL_SCRIPTS)

clean:
	rm -rf build

help:
	@echo 'xenlite make targets (VARIANT=hv|tsan|asan picks build/<variant>/):'
	@echo '  all         build xl-selftest, xl-stress, xl-bench, xl-tick, xl-drift'
	@echo '              (default)'
	@echo '  setup       install the Debian 12 packages (tools/setup)'
	@echo '  demo        the hv demo, tick comparison and drift lab'
	@echo '              (tools/drift-lab --short), then on real Xen: tick'
	@echo '              comparison and wake latency as dom0 and domU vs Linux'
	@echo '  bench-xen   that real-Xen part alone (ratio xen_timer_p99_vs_linux),'
	@echo '              then blkfront-lite vs Linux xen-blkfront (ratio'
	@echo '              blk_vs_linux_blkfront, tools/xen-run blkbench), then'
	@echo '              xenlite.ko /dev/xlblk0 vs xen-blkfront in HVM domUs'
	@echo '              (ratio linux_xlblk_vs_xen_blkfront, tools/xen-hvm'
	@echo '              --blkbench BENCH_XEN_K, default 8)'
	@echo '  fuzz        each libFuzzer harness (fuzz/) for FUZZ_RUNS=10^7 executions'
	@echo '  mutate      mutation score of the core (tools/mutate, out/mutate.md;'
	@echo '              MUTATE_JOBS, MUTATE_FILES)'
	@echo '  spin        model-check models/*.pml (tools/spin-check)'
	@echo '  check       setup, then every part of tools/run-checks as one TAP'
	@echo '              stream with one totals line; CHECKS="hv tsan ..." picks'
	@echo '              parts (tools/run-checks --list prints them all)'
	@echo '  module      xenlite.ko through Kbuild (KVER=<version> or KDIR=<dir>;'
	@echo '              W=1 C=1), docs/linux-module.md'
	@echo '  dkms-check  dkms add/build/install/remove of dkms.conf, in private'
	@echo '              trees (DKMS_KVER=<version>)'
	@echo '  check-hv    selftests and CI-sized stress on hv'
	@echo '  check-xen   the suite in the test kernel as PVH dom0 and as a PVH'
	@echo '              domU on real Xen under QEMU (tools/xen-run), and'
	@echo '              hv/Xen fidelity'
	@echo '  check-xen-long  the hvm suite with 6.12 as the domUs kernel'
	@echo '              (XEN_HVM_GUEST_KVER=newest tools/xen-run hvm)'
	@echo '  check-tsan  the same under ThreadSanitizer'
	@echo '  check-asan  the same under AddressSanitizer + UBSan'
	@echo '  soak-hvm    xenlite.ko on real Xen: the trace-cmd step 20 times,'
	@echo '              hangs counted (tools/xen-run hvm -r 20; not in check)'
	@echo '  soak-hvm-load  xenlite.ko loaded and unloaded CHURN_CYCLES=10 times'
	@echo '              per domU, stock modules as the control, triple faults'
	@echo '              counted (tools/xen-run hvm --churn N; not in check)'
	@echo '  stress      the long stress run'
	@echo '  explore     the concurrency tests under EXPLORE_SEEDS=2000 seeds of'
	@echo '              adversarial schedules (tools/explore, XL_EXPLORE_SEED)'
	@echo '  bench       benchmarks -> bench/results/{evtchn,time,blk}.md (tools/bench):'
	@echo '              every ratio from K alternating trials, median and 95%'
	@echo '              bootstrap interval (tools/ratio, bench/results/README.md)'
	@echo '  bench-stability  make bench three times, the spread of each'
	@echo '              ratio'"'"'s medians (tools/ratio-stability)'
	@echo '  lint        cppcheck'
	@echo '  shellcheck  shellcheck -x over every shell script'
	@echo '  format      clang-format -i over FORMAT_FILES'
	@echo '  clean       remove build/'
