# The two commands of the README: `make demo` and `make check`. Everything else is a helper.
BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
DEB_BUILD  ?= build-deb
# Seconds each fuzz target runs: in `make check`, and in `make fuzz`.
FUZZ_CHECK_S ?= 20
FUZZ_S       ?= 3600
FUZZ_RUNS    ?=
JOBS       ?= $(shell nproc)
CMAKE      ?= cmake
PROVE      ?= prove

# Tests that prove runs: C unit tests (built), shell integration tests, lint.
TESTS = $(BUILD)/tests/unit/test_* tests/integration/*.sh tests/learning/*.sh tests/lint/*.sh \
        tests/chaos/*.sh tests/packaging/*.sh

.PHONY: all deps browser-deps build check check-asan check-tsan check-fuzz fuzz fuzz-build demo bench \
        soak install deb clean format

all: build

# Installs missing Debian packages (packaging/deps.sh) only when something is not found.
PKGS  = libuv jansson lmdb liburcu-memb libsodium libcurl openblas
TOOLS = prove mdb_stat valgrind clang curl clang-format nginx openssl wrk python3 abidiff \
        dpkg-buildpackage dh lintian
deps:
	@ok=1; pkg-config --exists $(PKGS) || ok=0; \
	[ -f /usr/include/civetweb.h ] || ok=0; [ -d /usr/share/javascript/chart.js ] || ok=0; \
	[ -f "$$(clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] || ok=0; \
	[ -f /usr/share/perl5/Debian/Debhelper/Sequence/installsysusers.pm ] || ok=0; \
	[ -d /usr/lib/python3/dist-packages/optuna ] || ok=0; \
	for t in $(TOOLS); do command -v $$t >/dev/null 2>&1 || ok=0; done; \
	[ $$ok = 1 ] || packaging/deps.sh

# The browser test's tools (tests/integration/ui.sh): Debian's chromium, and node and npm
# (Debian's only where none are installed), then playwright-core as package-lock.json pins it,
# again whenever the lock is newer than node_modules. playwright-core downloads no browser.
BROWSER_TOOLS = chromium node npm
NODE_DEPS     = node_modules/.package-lock.json
browser-deps:
	@ok=1; for t in $(BROWSER_TOOLS); do command -v $$t >/dev/null 2>&1 || ok=0; done; \
	[ $$ok = 1 ] || packaging/deps.sh test

$(NODE_DEPS): package-lock.json | browser-deps
	npm ci --ignore-scripts --no-audit --no-fund
	@touch $@

build: deps
	@$(CMAKE) -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@$(CMAKE) --build $(BUILD) -j $(JOBS)

check: build $(NODE_DEPS)
	TARS_BUILD=$(abspath $(BUILD)) $(PROVE) -j$(JOBS) $(TESTS)
	@$(MAKE) --no-print-directory check-asan
	@$(MAKE) --no-print-directory check-tsan
	@$(MAKE) --no-print-directory check-fuzz

# The suite again on an AddressSanitizer + UndefinedBehaviorSanitizer build.
check-asan: deps $(NODE_DEPS)
	@$(CMAKE) -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTARS_SANITIZE=address,undefined >/dev/null
	@$(CMAKE) --build $(ASAN_BUILD) -j $(JOBS)
	TARS_BUILD=$(abspath $(ASAN_BUILD)) TARS_SANITIZED=1 \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  $(PROVE) -j$(JOBS) $(ASAN_BUILD)/tests/unit/test_* tests/integration/*.sh

check-tsan: deps $(NODE_DEPS)
	@$(CMAKE) -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DTARS_SANITIZE=thread >/dev/null
	@$(CMAKE) --build $(TSAN_BUILD) -j $(JOBS)
	TARS_BUILD=$(abspath $(TSAN_BUILD)) TARS_SANITIZED=1 TSAN_OPTIONS=halt_on_error=1 \
	  $(PROVE) -j$(JOBS) $(TSAN_BUILD)/tests/unit/test_* tests/integration/*.sh

# The libFuzzer targets (tests/fuzz/README.md): clang, its own build dir.
fuzz-build: deps
	@$(CMAKE) -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTARS_FUZZ=ON >/dev/null
	@$(CMAKE) --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_manifest fuzz_config fuzz_params \
	  fuzz_blob fuzz_checkpoint fuzz_router fuzz_stream fuzz_tarsctl

# Each target from its corpus for FUZZ_CHECK_S seconds; a crash, leak or hang fails.
check-fuzz: fuzz-build
	tests/fuzz/run.sh $(abspath $(FUZZ_BUILD)) $(FUZZ_CHECK_S)

# The long runs: FUZZ_S seconds per target (FUZZ_TARGETS to pick some; FUZZ_RUNS to stop at
# so many executions), niced, one target at a time.
fuzz: fuzz-build
	FUZZ_RUNS=$(FUZZ_RUNS) nice -n 19 tests/fuzz/run.sh $(abspath $(FUZZ_BUILD)) $(FUZZ_S) $(FUZZ_TARGETS)

demo: build
	$(BUILD)/bin/tarsd serve --config packaging/demo.json

bench: build
	@{ command -v wrk && [ -d /usr/lib/python3/dist-packages/optuna ] && [ -d /usr/lib/python3/dist-packages/torch ]; } >/dev/null 2>&1 || packaging/deps.sh bench
	@for b in tests/bench/*.sh; do TARS_BUILD=$(abspath $(BUILD)) $$b || exit 1; done

# The chaos suite in full (tests/chaos/README.md): 10 min of sustained load, spikes, sign-ins,
# 20,000 mutated requests, 100 kill -9 and a full disk. Figures in docs/security.md.
soak: build
	@command -v wrk >/dev/null 2>&1 || packaging/deps.sh bench
	TARS_SOAK=1 TARS_BUILD=$(abspath $(BUILD)) $(PROVE) -v tests/chaos/*.sh

install: build
	$(CMAKE) --install $(BUILD)

# The Debian packages (debian/, docs/admin-guide.md "Packages") into $(DEB_BUILD), built from a
# copy of the tree; install them with apt install ./$(DEB_BUILD)/*.deb.
deb:
	@command -v dpkg-buildpackage >/dev/null 2>&1 && command -v dh >/dev/null 2>&1 || packaging/deps.sh deb
	packaging/make-deb.sh $(DEB_BUILD)

format:
	clang-format -i $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD) $(DEB_BUILD)
