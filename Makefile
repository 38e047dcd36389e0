# heaptrail — native heap profiler.
#
#   make            build build/libheaptrail.so and build/heaptrail
#   make test       build everything and run the unit, tsan and integration tests
#   make demo       record the bundled examples and print their reports
#   make asan       analyzer + its tests under AddressSanitizer and UBSan
#   make tsan       the ring and the writer under ThreadSanitizer (tests/tsan/)
#   make fuzz       libFuzzer on the trace reader for FUZZ_SECONDS
#   make bench      recorder and analyzer against heaptrack, side by side
#   make stress     the property test of the recorder with STRESS_SEEDS seeds
#   make install    PREFIX=/usr/local (DESTDIR honoured)
#
# Missing Debian packages are installed first by scripts/install-deps.sh
# (as root; otherwise it prints the apt-get command to run).
#
# Sources are found by wildcard: a new .c file in preload/ (or a folder of
# it), in common/ or in one of the analyzer's stage folders (analyzer/read,
# model, agg, render, cli) is built without touching this file.  common/
# (the names the wrapper and the library agree on) is compiled twice: into
# libheaptrail.so (PIC, hidden) and into the launcher's archive.  preload/hooks.c (the interposers and the
# library constructor) and analyzer/cli/main.c (the command line) are the
# only files kept out of the archives that the unit tests link.  The
# launcher (analyzer/launcher/, `heaptrail record`) uses nothing of the
# analyzer and has an archive of its own.

BUILD ?= build
# Optimisation and debug flags for everything we build.
OPT ?= -O2 -g
# Extra flags appended by users (CFLAGS=...) and by `make asan`.
CFLAGS ?=
LDEXTRA ?=
PREFIX ?= /usr/local
DESTDIR ?=
# The Python `make install` puts `import heaptrail` into (the system's),
# and where: its site-packages directory under PREFIX (Debian:
# PREFIX/lib/python3.X/dist-packages), else PREFIX/lib/python3.X/site-packages.
INSTALL_PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3 2>/dev/null)
PYSITE ?= $(shell [ -n "$(INSTALL_PYTHON)" ] && $(INSTALL_PYTHON) -c 'import site, sysconfig, sys; p = sys.argv[1]; d = [s for s in site.getsitepackages() if s.startswith(p.rstrip("/") + "/")]; print(d[0] if d else sysconfig.get_path("purelib", "posix_prefix", {"base": p, "platbase": p}))' '$(PREFIX)' 2>/dev/null)
# Seconds that `make fuzz` runs the reader fuzzer.
FUZZ_SECONDS ?= 60
# Python used by the integration tests and the demo.
PYTHON ?= $(shell command -v python3 2>/dev/null || echo /usr/bin/python3)
CXX ?= c++
# Rust compiler for the Rust integration target(s) (skipped when absent).
RUSTC ?= $(shell command -v rustc 2>/dev/null || { [ -x /root/.cargo/bin/rustc ] && echo /root/.cargo/bin/rustc; })

VERSION := 0.1.0
WARN := -Wall -Wextra -Werror
CPPF := -Iinclude -I. -D_GNU_SOURCE -DHEAPTRAIL_VERSION='"$(VERSION)"' -MMD -MP
CF := -std=gnu11 $(OPT) $(WARN) $(CFLAGS)

# Evaluated at recipe time, after the dependency stamp has run.
DW_CFLAGS = $(shell pkg-config --cflags libdw 2>/dev/null)
DW_LIBS = $(shell pkg-config --libs libdw 2>/dev/null || echo -ldw -lelf)
UNW_LIBS = -lunwind
CRIT_LIBS = -lcriterion
# zlib: gzip of the pprof export; libiberty (Debian libiberty-dev, a
# static archive): Rust symbol names, legacy and v0 (render/symbols.c).
Z_LIBS = -lz -liberty
# libzstd (Debian libzstd-dev): the compressed traces, read by the
# analyzer (read/source.c) and written by the recorder (preload/compress.c),
# which loads libzstd.so.1 with dlopen only when it compresses.
ZSTD_LIBS = -lzstd
# ncursesw (Debian libncurses-dev): the terminal of `heaptrail live`, for
# build/heaptrail only (the unit tests link no view).
CURSES_LIBS = $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw -ltinfo)

DEPS_STAMP := $(BUILD)/.deps-ok

# The interposed functions, and the attach's entry points that call into
# them (hooks_redirect...): left out of the unit and tsan drivers.
PRELOAD_ENTRY := preload/hooks.c preload/attach.c
PRELOAD_SRC := $(wildcard preload/*.c preload/*/*.c)
PRELOAD_LIB_SRC := $(filter-out $(PRELOAD_ENTRY),$(PRELOAD_SRC))
ANALYZER_MAIN := analyzer/cli/main.c
ANALYZER_SRC := $(wildcard analyzer/*/*.c)
LAUNCHER_SRC := $(wildcard analyzer/launcher/*.c)
COMMON_SRC := $(wildcard common/*.c)
ANALYZER_LIB_SRC := $(filter-out $(ANALYZER_MAIN) $(LAUNCHER_SRC),$(ANALYZER_SRC))

PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(BUILD)/%.o)
PRELOAD_LIB_OBJ := $(PRELOAD_LIB_SRC:%.c=$(BUILD)/%.o)
ANALYZER_LIB_OBJ := $(ANALYZER_LIB_SRC:%.c=$(BUILD)/%.o)
LAUNCHER_OBJ := $(LAUNCHER_SRC:%.c=$(BUILD)/%.o)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
COMMON_PIC_OBJ := $(COMMON_SRC:common/%.c=$(BUILD)/common/pic/%.o)

UNIT_PRELOAD_SRC := $(wildcard tests/unit/preload/*.c)
UNIT_ANALYZER_SRC := $(wildcard tests/unit/analyzer/*.c)

TARGET_C := $(filter-out tests/integration/targets/lib_%,$(wildcard tests/integration/targets/*.c))
TARGET_CXX := $(wildcard tests/integration/targets/*.cc)
TARGET_LIB := $(wildcard tests/integration/targets/lib_*.c)
TARGET_RS := $(if $(RUSTC),$(wildcard tests/integration/targets/*.rs))
TARGETS := $(TARGET_C:tests/integration/targets/%.c=$(BUILD)/targets/%) \
	$(TARGET_CXX:tests/integration/targets/%.cc=$(BUILD)/targets/%) \
	$(TARGET_LIB:tests/integration/targets/%.c=$(BUILD)/targets/%.so) \
	$(TARGET_RS:tests/integration/targets/%.rs=$(BUILD)/targets/%) \
	$(BUILD)/targets/snapshots_nopie $(BUILD)/targets/heap_counters_nopie \
	$(BUILD)/targets/alloc_family_nopie $(BUILD)/targets/sleeper_static

LIB := $(BUILD)/libheaptrail.so
BIN := $(BUILD)/heaptrail

.PHONY: html-test all deps test unit integration demo asan asan-run fuzz bench install clean targets stress tsan
.DEFAULT_GOAL := all

PY_SRC := $(wildcard preload/python/*.py)
PY_OUT := $(PY_SRC:preload/python/%=$(BUILD)/python/%)

# The importable modules (sitecustomize.py is for `heaptrail record`'s
# PYTHONPATH only: installed into site-packages it would run in every
# Python program) and their distribution metadata, whose `pytest11` entry
# point lets pytest find the plugin (pytest --heaptrail) wherever the
# modules are: the build tree under `heaptrail record`, or installed.
PY_MODULES := preload/python/heaptrail.py preload/python/heaptrail_pytest.py
PY_DIST := heaptrail-$(VERSION).dist-info
PY_META := $(BUILD)/python/$(PY_DIST)/METADATA $(BUILD)/python/$(PY_DIST)/entry_points.txt

all: $(LIB) $(BIN) $(PY_OUT) $(PY_META)

# Python helper module(s) that `heaptrail record` puts on PYTHONPATH.
$(BUILD)/python/%.py: preload/python/%.py
	@mkdir -p $(@D)
	cp $< $@

$(BUILD)/python/$(PY_DIST)/METADATA: Makefile
	@mkdir -p $(@D)
	printf 'Metadata-Version: 2.1\nName: heaptrail\nVersion: %s\nSummary: heaptrail heap profiler: snapshots, heap counters, pytest plugin\n' '$(VERSION)' > $@

$(BUILD)/python/$(PY_DIST)/entry_points.txt: Makefile
	@mkdir -p $(@D)
	printf '[pytest11]\nheaptrail = heaptrail_pytest\n' > $@

deps: $(DEPS_STAMP)

$(DEPS_STAMP): scripts/install-deps.sh
	@mkdir -p $(@D)
	sh scripts/install-deps.sh
	@touch $@

# --- recorder -------------------------------------------------------------
$(BUILD)/preload/%.o: preload/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPF) -Ipreload $(CF) -fPIC -fvisibility=hidden -ftls-model=initial-exec -c $< -o $@

# common/ as the recorder needs it (the same flags as preload/).
$(BUILD)/common/pic/%.o: common/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPF) $(CF) -fPIC -fvisibility=hidden -ftls-model=initial-exec -c $< -o $@

$(LIB): $(PRELOAD_OBJ) $(COMMON_PIC_OBJ)
	$(CC) -shared -o $@ $^ -Wl,-z,defs -Wl,-z,now $(UNW_LIBS) -ldl -lpthread $(LDEXTRA)

$(BUILD)/libpreload-test.a: $(PRELOAD_LIB_OBJ) $(COMMON_PIC_OBJ)
	@rm -f $@
	ar rcs $@ $^

# --- analyzer -------------------------------------------------------------
$(BUILD)/analyzer/%.o: analyzer/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPF) -Ianalyzer $(DW_CFLAGS) $(CF) -c $< -o $@

$(BUILD)/libanalyzer.a: $(ANALYZER_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

# common/ as the launcher needs it.
$(BUILD)/common/%.o: common/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPF) $(CF) -c $< -o $@

$(BUILD)/liblauncher.a: $(LAUNCHER_OBJ) $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The page of `heaptrail html`: d3-flame-graph and uPlot from npm (the
# committed package-lock.json, `npm ci` into $(BUILD)/npm), and the page's
# own files in analyzer/render/html/, embedded as byte arrays into a
# generated C source, so the installed binary needs nothing at run time.
HTML_DIR := analyzer/render/html
NPM_DIR := $(BUILD)/npm
NPM_STAMP := $(NPM_DIR)/.npm-ok
HTML_OWN := $(HTML_DIR)/app.js $(HTML_DIR)/page.js $(HTML_DIR)/page.css $(HTML_DIR)/body.html
HTML_GEN := $(BUILD)/gen/html_assets.c

$(NPM_STAMP): $(HTML_DIR)/package.json $(HTML_DIR)/package-lock.json | $(DEPS_STAMP)
	@mkdir -p $(NPM_DIR)
	cp $(HTML_DIR)/package.json $(HTML_DIR)/package-lock.json $(NPM_DIR)/
	cd $(NPM_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --ignore-scripts
	@touch $@

$(HTML_GEN): scripts/embed_html.py $(HTML_OWN) $(NPM_STAMP)
	@mkdir -p $(@D)
	$(PYTHON) scripts/embed_html.py $@ \
		d3=$(NPM_DIR)/node_modules/d3/dist/d3.min.js \
		flamegraph=$(NPM_DIR)/node_modules/d3-flame-graph/dist/d3-flamegraph.min.js \
		flamegraph_css=$(NPM_DIR)/node_modules/d3-flame-graph/dist/d3-flamegraph.css \
		uplot=$(NPM_DIR)/node_modules/uplot/dist/uPlot.iife.min.js \
		uplot_css=$(NPM_DIR)/node_modules/uplot/dist/uPlot.min.css \
		app=$(HTML_DIR)/app.js page=$(HTML_DIR)/page.js \
		page_css=$(HTML_DIR)/page.css body=$(HTML_DIR)/body.html

$(BUILD)/gen/html_assets.o: $(HTML_GEN)
	$(CC) $(CF) -c $< -o $@

$(BIN): $(BUILD)/analyzer/cli/main.o $(BUILD)/libanalyzer.a $(BUILD)/liblauncher.a $(BUILD)/gen/html_assets.o
	$(CC) $(CF) -o $@ $^ $(DW_LIBS) $(Z_LIBS) $(ZSTD_LIBS) $(CURSES_LIBS) -lm $(LDEXTRA)

# --- tests ----------------------------------------------------------------
$(BUILD)/tests/%.o: tests/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CPPF) -Ipreload -Ianalyzer $(DW_CFLAGS) $(CF) -c $< -o $@

$(BUILD)/tests/unit-preload: $(UNIT_PRELOAD_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libpreload-test.a
	$(CC) $(CF) -o $@ $^ $(CRIT_LIBS) $(UNW_LIBS) $(ZSTD_LIBS) -ldl -lpthread $(LDEXTRA)

$(BUILD)/tests/unit-analyzer: $(UNIT_ANALYZER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/libanalyzer.a $(BUILD)/liblauncher.a
	$(CC) $(CF) -o $@ $^ $(CRIT_LIBS) $(DW_LIBS) $(Z_LIBS) $(ZSTD_LIBS) -lm $(LDEXTRA)

# Integration target programs: built without optimisation so that call
# sites keep their own file:line, and with the public header.
$(BUILD)/targets/%: tests/integration/targets/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -Iinclude -D_GNU_SOURCE -std=gnu11 -O0 -g $(WARN) -Wno-error=unused-result -o $@ $< -ldl -lpthread -Wl,-rpath,'$$ORIGIN'

# The snapshot API must work in a non-PIE program too, where an undefined
# weak symbol is resolved to NULL at link time (when compiled -fno-pie).
$(BUILD)/targets/%_nopie: tests/integration/targets/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -Iinclude -D_GNU_SOURCE -std=gnu11 -O2 -g -fno-pie -no-pie $(WARN) -o $@ $< -ldl -lpthread

# A static program: `heaptrail attach` must refuse it with a clear message.
$(BUILD)/targets/%_static: tests/integration/targets/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -Iinclude -D_GNU_SOURCE -std=gnu11 -O0 -g -static $(WARN) -o $@ $<

$(BUILD)/targets/%: tests/integration/targets/%.cc | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CXX) -Iinclude -O0 -g $(WARN) -o $@ $< -ldl -lpthread

# Rust targets: rustc alone, no crates, debug info, no optimisation.
$(BUILD)/targets/%: tests/integration/targets/%.rs
	@mkdir -p $(@D)
	env -u MAKEFLAGS -u MFLAGS $(RUSTC) -g -C opt-level=0 -o $@ $<

$(BUILD)/targets/%.so: tests/integration/targets/%.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -Iinclude -std=gnu11 -O0 -g -fPIC -shared $(WARN) -o $@ $<

targets: $(TARGETS)

UNIT_BINS := $(if $(UNIT_PRELOAD_SRC),$(BUILD)/tests/unit-preload) \
	$(if $(UNIT_ANALYZER_SRC),$(BUILD)/tests/unit-analyzer)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t --jobs 2; done

integration: all targets
	HEAPTRAIL_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/integration/run.py

test: all targets
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory tsan
	@$(MAKE) --no-print-directory html-test
	@$(MAKE) --no-print-directory integration

# The page's own JS (node:test), then the page in headless Chromium
# (tests/html/browser.test.js with playwright-core; fails when Chromium
# is missing: install-deps.sh installs it).
html-test: all targets $(NPM_STAMP)
	node --test $(HTML_DIR)/app.test.js
	HEAPTRAIL_BUILD=$(abspath $(BUILD)) NODE_PATH=$(abspath $(NPM_DIR))/node_modules node --test tests/html/browser.test.js

# The property test of ordering and losslessness (test_property.py) with
# STRESS_SEEDS random programs instead of make test's 200.
STRESS_SEEDS ?= 5000
stress: all targets
	HEAPTRAIL_BUILD=$(abspath $(BUILD)) HEAPTRAIL_SEEDS=$(STRESS_SEEDS) $(PYTHON) tests/integration/run.py -k test_property

# --- sanitizers, fuzzing --------------------------------------------------
# ThreadSanitizer on the ring and its producer/consumer protocol, driven by
# tests/tsan/ring_driver.c, and on the writer draining producer threads
# through the recorder's own code, tests/tsan/writer_driver.c (both without
# LD_PRELOAD; the second links every preload file but hooks.c and
# attach.c, whose entry points call into hooks.c).
TSAN_FLAGS := -O1 -g -fsanitize=thread
tsan: | $(DEPS_STAMP)
	@mkdir -p $(BUILD)/tsan
	$(CC) $(CPPF) -Ipreload -std=gnu11 $(TSAN_FLAGS) $(WARN) -o $(BUILD)/tsan/ring_driver \
		tests/tsan/ring_driver.c preload/ring.c preload/mapmem.c -lpthread
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 $(BUILD)/tsan/ring_driver
	$(CC) $(CPPF) -Ipreload -Itests/unit/preload -std=gnu11 $(TSAN_FLAGS) $(WARN) \
		-o $(BUILD)/tsan/writer_driver tests/tsan/writer_driver.c \
		$(PRELOAD_LIB_SRC) \
		$(COMMON_SRC) $(UNW_LIBS) -ldl -lpthread
	TSAN_OPTIONS=halt_on_error=1:exitcode=66 $(BUILD)/tsan/writer_driver

ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

asan:
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan OPT="-O1 -g" \
		CFLAGS="$(ASAN_FLAGS)" LDEXTRA="$(ASAN_FLAGS)" asan-run

asan-run: $(BIN) $(if $(UNIT_ANALYZER_SRC),$(BUILD)/tests/unit-analyzer)
	@if [ -n "$(UNIT_ANALYZER_SRC)" ]; then $(BUILD)/tests/unit-analyzer --jobs 2; fi
	@if [ -f tests/asan-smoke.sh ]; then sh tests/asan-smoke.sh $(abspath $(BIN)); fi

fuzz: | $(DEPS_STAMP)
	sh scripts/fuzz.sh $(FUZZ_SECONDS)

# --- demo, bench, install -------------------------------------------------
demo: all
	@sh scripts/demo.sh $(abspath $(BUILD)) $(PYTHON)

bench: all
	@sh scripts/bench.sh $(abspath $(BUILD))

# The pkg-config file is written at install time, so that it names the
# PREFIX installed to.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib \
		$(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/heaptrail
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libheaptrail.so
	install -m 644 include/heaptrail.h include/heaptrail_format.h $(DESTDIR)$(PREFIX)/include/
	printf 'prefix=%s\nincludedir=$${prefix}/include\nlibdir=$${prefix}/lib\n\nName: heaptrail\nDescription: heap profiler snapshot API\nVersion: %s\nCflags: -I$${includedir}\n' \
		'$(PREFIX)' '$(VERSION)' > $(DESTDIR)$(PREFIX)/lib/pkgconfig/heaptrail.pc
	if [ -n "$(PY_SRC)" ]; then install -d $(DESTDIR)$(PREFIX)/lib/heaptrail/python && \
		install -m 644 $(PY_SRC) $(DESTDIR)$(PREFIX)/lib/heaptrail/python/ && \
		install -d $(DESTDIR)$(PREFIX)/lib/heaptrail/python/$(PY_DIST) && \
		install -m 644 $(PY_META) $(DESTDIR)$(PREFIX)/lib/heaptrail/python/$(PY_DIST)/; fi
	@# `import heaptrail` for the system's Python (PYSITE: its site-packages
	@# under PREFIX), outside `heaptrail record` too.
	@if [ -n "$(PYSITE)" ]; then \
		echo "install Python modules into $(DESTDIR)$(PYSITE)"; \
		install -d $(DESTDIR)$(PYSITE)/$(PY_DIST) && \
		install -m 644 $(PY_MODULES) $(DESTDIR)$(PYSITE)/ && \
		install -m 644 $(PY_META) $(DESTDIR)$(PYSITE)/$(PY_DIST)/; \
	else echo "no Python found ($(INSTALL_PYTHON)): heaptrail.py not installed"; fi

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
