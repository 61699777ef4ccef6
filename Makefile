# strobe - one binary, one Makefile.
#   make                    build build/strobe
#   make test               provision interpreters, unit + functional tests, sanitizer build too
#   make unit               unit tests only (this build)
#   make SAN=address,undefined ...   sanitizer build in build-san/
#   make bench              benchmarks against Tachyon (bench/run.sh, BENCHMARKS.md)
#   make install PREFIX=/usr/local [DESTDIR=...]
#                           the binary, its man page and bash/zsh/fish completions
#   make static             build/strobe-static: fully static, runs alone in any root
#   make deb                build/strobe_VERSION_ARCH.deb
#   make wheel              build/dist/strobe_profiler-*.whl (carries the static binary)

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
PREFIX  ?= /usr/local
PYTHON  ?= python3
SAN     ?=

ifeq ($(SAN),)
BUILD   ?= build
# strobe runs as root on hostile input: stack protector, fortified libc
# calls, read-only relocations bound at start (not in the sanitizer build,
# whose interceptors do the checking)
CFLAGS  += -fstack-protector-strong -D_FORTIFY_SOURCE=2
LDFLAGS += -Wl,-z,relro,-z,now
else
BUILD   ?= build-san
CFLAGS  += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SAN)
endif

WARN     = -std=c11 -Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 -Wstrict-prototypes
CPPFLAGS += -D_GNU_SOURCE -Isrc -MMD -MP
LDLIBS  += -lm
LDLIBS  += -lzstd
LDLIBS  += -lz
# --live draws with ncurses (wide-character build: UTF-8 boxes and bars)
LDLIBS  += -lncursesw
# --native-stacks: elfutils' libdw unwinds and names native frames, libiberty
# demangles C++ and Rust names (src/process/unwind.c)
LDLIBS  += -ldw -lelf -liberty
# --subprocesses watches the process tree from a thread (src/profiling/children.c)
CPPFLAGS += -pthread
LDLIBS  += -pthread

# --engine bpf: the in-kernel sampler (src/bpf/), built with clang's BPF
# target; bpftool makes its skeleton, libbpf loads it
LDLIBS  += -lbpf
CLANG   ?= clang
# where the uapi headers' asm/ lives (Debian multiarch); asked of clang
# itself, whatever CC is (the fuzz build's clang says x86_64-pc-linux-gnu
# to -dumpmachine)
MULTIARCH ?= $(shell $(CLANG) -print-multiarch 2>/dev/null)
BPFTOOL ?= bpftool

SRCS     := $(shell find src -name '*.c' ! -name '*.bpf.c' | sort)
# generated sources: the terminfo entries --live carries (src/tui/terminfo.c)
GEN_OBJS := $(BUILD)/obj/gen/terminfo_entries.o
OBJS     := $(SRCS:src/%.c=$(BUILD)/obj/%.o) $(GEN_OBJS)
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all unit test check functional layers layouts bench demo install clean fuzz static deb wheel
all: $(BUILD)/strobe $(BUILD)/tools/record_snapshot $(BUILD)/share/.generated

# V=1 shows the commands
Q = $(if $(V),,@)

# one C file to an object (strobe's sources, the generated ones, packaging/)
define compile_c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<
endef

$(BUILD)/strobe: $(OBJS)
	@echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# make static: the same objects linked against glibc's and Debian's static
# archives (docs/packaging.md); libdw's archive needs its compressors named
STATIC_LIBS = -lbpf -lncursesw -ltinfo -ldw -lelf -liberty -lzstd -lz -llzma -lbz2 -lm -pthread
static: $(BUILD)/strobe-static
$(BUILD)/strobe-static: $(OBJS) $(BUILD)/obj/packaging/static_nodl.o
	@echo "  LD      $@"
	$(Q)$(CC) -static $(LDFLAGS) -Wl,--wrap=dlopen -s -o $@ $^ $(STATIC_LIBS)

$(BUILD)/gen/terminfo_entries.c: tools/gen_terminfo.py
	@mkdir -p $(dir $@)
	@echo "  GEN     $@"
	$(Q)$(PYTHON) tools/gen_terminfo.py $@

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	$(compile_c)

# The BPF program: compiled for the BPF target against the uapi headers
# only (no vmlinux.h, no CO-RE: it reads no kernel struct), its skeleton
# generated next to it and included by src/bpf/engine.c
$(BUILD)/gen/bpf/sample.bpf.o: src/bpf/sample.bpf.c src/bpf/sample.h
	@mkdir -p $(dir $@)
	@echo "  BPF     $<"
	$(Q)$(CLANG) -O2 -g -target bpf -Wall -Werror -I/usr/include/$(MULTIARCH) \
		-Isrc -c -o $@ $<

$(BUILD)/gen/bpf/sample.skel.h: $(BUILD)/gen/bpf/sample.bpf.o
	@echo "  GEN     $@"
	$(Q)$(BPFTOOL) gen skeleton $< name strobe_sample > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/bpf/engine.o: $(BUILD)/gen/bpf/sample.skel.h
$(BUILD)/obj/bpf/engine.o: CPPFLAGS += -I$(BUILD)/gen

# make deb: build/strobe_VERSION_ARCH.deb with dpkg-deb (tools/make_deb.sh)
deb: all
	@tools/make_deb.sh $(BUILD)

# make wheel: the static binary as the one file of a py3-none-PLATFORM wheel,
# built by Debian's python3-build and setuptools in $(BUILD)/wheel
# (packaging/wheel/build.sh; the version is read from src/cli.c)
wheel: $(BUILD)/strobe-static
	@packaging/wheel/build.sh $(BUILD)/strobe-static $(BUILD)

$(BUILD)/obj/packaging/%.o: packaging/%.c
	$(compile_c)

$(BUILD)/obj/%.o: src/%.c
	$(compile_c)

# the flamegraph page's files are embedded with .incbin (see the source)
$(BUILD)/obj/format/flamegraph_page.o: $(wildcard src/format/flamegraph/*)
$(BUILD)/obj/format/heatmap.o: $(wildcard src/format/heatmap/*)

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) -Itests/unit $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

# tools/record_snapshot.c records the walker's memory fixtures
# (tools/record_fixtures.sh); built from the same objects as the tests
$(BUILD)/tools/%: tools/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBOBJS) $(LDLIBS)

# The man page and the shell completions, generated from the option table
# the binary parses with (tools/cli_spec.c prints it, tools/gen_cli_docs.py
# writes the files), so they cannot drift from src/cli.c.
CLI_DOCS := share/man/man1/strobe.1 share/bash-completion/completions/strobe \
	    share/zsh/site-functions/_strobe share/fish/vendor_completions.d/strobe.fish

$(BUILD)/cli.spec: $(BUILD)/tools/cli_spec
	@echo "  GEN     $@"
	$(Q)$< > $@.tmp && mv $@.tmp $@

$(BUILD)/share/.generated: $(BUILD)/cli.spec tools/gen_cli_docs.py docs/strobe.1.in
	@echo "  GEN     $(BUILD)/share (man page, completions)"
	$(Q)$(PYTHON) tools/gen_cli_docs.py $(BUILD)/cli.spec docs/strobe.1.in $(BUILD)
	$(Q)touch $@

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do $$t; done

layers:
	@tools/check_layers.sh

# libFuzzer runs of every parser of target bytes (clang, ASan+UBSan):
# FUZZ_SECONDS is the budget of all targets together, FUZZ_TARGETS a subset
# (tests/fuzz/run.sh lists them).
FUZZ_SECONDS ?= 160
FUZZ_TARGETS ?=
fuzz:
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The whole suite, as CI runs it: provisioning, layer check, unit tests,
# functional tests on every interpreter, the static binary, the Debian package
# and the wheel built and run once each, fuzzing, then the same under ASan+UBSan.
test: all
	@tools/check_layers.sh
	@$(MAKE) --no-print-directory unit
	@tests/provision.sh
	@tools/check_debug_layouts.sh
	@tests/functional/run.py --strobe $(BUILD)/strobe
	@tests/packaging/run.sh
	@tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
	@$(MAKE) --no-print-directory SAN=address,undefined all unit
	@tests/functional/run.py --strobe build-san/strobe --quick
check: test

functional: all
	@tests/functional/run.py --strobe $(BUILD)/strobe

layouts:
	@tools/gen_layouts.sh

bench: all
	@bench/run.sh

demo: all
	$(BUILD)/strobe run examples/demo.py

install: all
	install -D -m 0755 $(BUILD)/strobe $(DESTDIR)$(PREFIX)/bin/strobe
	@set -e; for f in $(CLI_DOCS); do \
		echo "install -D -m 0644 $(BUILD)/$$f $(DESTDIR)$(PREFIX)/$$f"; \
		install -D -m 0644 $(BUILD)/$$f $(DESTDIR)$(PREFIX)/$$f; \
	done

clean:
	rm -rf build build-san

-include $(OBJS:.o=.d)
