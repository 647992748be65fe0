# Convenience targets over CMake. Each installs the Debian 12 packages it
# needs when they are missing (as root, `apt-get update` first), then
# configures and builds.

BUILD      ?= build
BUILD_SAN  ?= build-san
JOBS       ?= 2
CMAKE_ARGS ?=

# What each target needs from Debian. The runtime libraries come with the
# -dev packages. libhttp-parser-dev parses the admin endpoint's requests
# (Debian 12 has no llhttp package); libgoogle-perftools-dev brings tcmalloc,
# the programs' allocator (CMakeLists.txt, CXP_TCMALLOC). prometheus brings promtool, which lints the metrics
# exposition in the tests; chromium (headless) renders the console page in
# its browser test.
PKGS_BUILD = cmake make gcc pkg-config libuv1-dev librdkafka-dev libcjson-dev libhttp-parser-dev \
             libgoogle-perftools-dev
PKGS_TEST  = $(PKGS_BUILD) kcat python3 python3-jsonschema prometheus systemd dpkg-dev groff-base \
             chromium
PKGS_BENCH = $(PKGS_BUILD)

.PHONY: all build demo check bench package install deps-build deps-test clean fuzz pgo-profile

all: build

define ensure_pkgs
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	fi
endef

deps-build:
	$(call ensure_pkgs,$(PKGS_BUILD))

deps-test:
	$(call ensure_pkgs,$(PKGS_TEST))

# Profile-guided optimization (CMakeLists.txt, CXP_PGO_*): an instrumented
# build in $(PGO_BUILD) runs a training stream through the core and the
# daemon once, and the real build is optimized with its profile (about a
# fifth fewer instructions an event: docs/performance.md). The training
# streams are the generator's, with other seeds, worlds and rates than the
# benchmarks measure; each run is bounded (10 min), and one that fails only
# leaves its code built as without a profile. The profile is kept until
# `make clean` or `make pgo-profile PGO_FRESH=1`; code changed since is
# optimized as it would be without one. PGO=0 builds without.
PGO       ?= 1
PGO_BUILD ?= $(BUILD)-pgo
PGO_DIR    = $(abspath $(PGO_BUILD))/profile
PGO_FLAGS  = $(if $(filter 1,$(PGO)),-DCXP_PGO_USE=$(PGO_DIR),-DCXP_PGO_USE=)

pgo-profile: deps-build
	@if [ -n "$(PGO_FRESH)" ]; then rm -rf $(PGO_DIR); fi
	@if [ ! -f $(PGO_DIR)/trained ]; then \
	  echo "pgo: the instrumented build and its training run ($(PGO_BUILD))"; \
	  cmake -S . -B $(PGO_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCXP_LTO=OFF \
	    -DCXP_PGO_GENERATE=$(PGO_DIR) -DCXP_PGO_USE= $(CMAKE_ARGS) >/dev/null || exit 1; \
	  log=$(PGO_BUILD)/pgo.log; \
	  cmake --build $(PGO_BUILD) -j $(JOBS) --target bench_core bench_e2e >$$log 2>&1 || \
	    { tail -n 40 $$log >&2; echo "pgo: the instrumented build failed ($$log)" >&2; exit 1; }; \
	  rm -rf $(PGO_DIR); \
	  timeout 600 ./$(PGO_BUILD)/bench_core --events 200000 --seed 7 >>$$log 2>&1 && \
	  timeout 600 ./$(PGO_BUILD)/bench_core --events 200000 --seed 9 --world competitor \
	    --customers 50000 --event-rate 100 >>$$log 2>&1 && \
	  timeout 600 ./$(PGO_BUILD)/bench_e2e --events 100000 --partitions 16 --customers 50000 \
	    --event-rate 1000 --variants default >>$$log 2>&1 || \
	    echo "pgo: a training run failed ($$log); what it wrote is used, the rest is built as without" >&2; \
	  mkdir -p $(PGO_DIR) && touch $(PGO_DIR)/trained; \
	  if [ -f $(BUILD)/Makefile ]; then $(MAKE) -s -C $(BUILD) clean; fi; \
	fi

build: deps-build $(if $(filter 1,$(PGO)),pgo-profile)
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCXP_WERROR=$${CI:+ON} $(PGO_FLAGS) $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/cxpulse demo $(DEMO_ARGS)

# The release build runs every test (integration, cross-process, schema);
# the sanitizer build runs the unit tests, the fuzz targets' corpora and
# the in-process Kafka tests (the daemon itself: outputs, faults,
# rebalances, restores, snapshots) under ASan and UBSan.
# The programs of tests/core/, tests/shell/ and tests/tools/ (their CMakeLists.txt).
SAN_TARGETS = test_timeutil test_decay test_hash test_jsonw test_deadletter test_event test_customer test_caserec \
              test_core test_pipeline test_window test_cases test_recovery test_wheel test_index test_churn \
              test_learn test_models test_digest \
              test_config test_log test_snapshot test_notify test_metrics test_procstat test_prefault test_http \
              test_view \
              test_consolepage test_gen test_cli \
              fuzz_targets test_kafka test_faults test_console
check: deps-test build
	cmake -S . -B $(BUILD_SAN) -DCMAKE_BUILD_TYPE=Debug -DCXP_ASAN=ON -DCXP_UBSAN=ON -DCXP_WERROR=$${CI:+ON} $(CMAKE_ARGS)
	cmake --build $(BUILD_SAN) -j $(JOBS) --target $(SAN_TARGETS)
	cd $(BUILD_SAN) && ctest --output-on-failure -L unit
	cd $(BUILD_SAN) && ctest --output-on-failure -R '^(kafka|faults|console)$$'
	cd $(BUILD) && ctest --output-on-failure

# The fuzz targets of tests/fuzz (fuzz_<name>.c) under libFuzzer, built with
# clang-14 in their own directory (-DCXP_FUZZ=ON: ASan and UBSan too), each
# run for FUZZ_SECONDS with a 10 s timeout per input. What a run adds goes
# to a scratch corpus in the build directory; the tree's corpus and
# regressions are only read (libFuzzer writes to its first directory). A
# crash or a hang stops the run and leaves the input in
# $(FUZZ_BUILD)/fuzz-work/<name>/: it goes to tests/fuzz/regress/<name>/
# once fixed. FUZZ_TARGETS picks some (default: all).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
PKGS_FUZZ    = $(PKGS_BUILD) clang-14 libfuzzer-14-dev

fuzz:
	$(call ensure_pkgs,$(PKGS_FUZZ))
	cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCXP_FUZZ=ON $(CMAKE_ARGS)
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@for t in $(FUZZ_TARGETS); do \
	  work=$(FUZZ_BUILD)/fuzz-work/$$t; mkdir -p $$work/corpus; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s"; \
	  ./$(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -artifact_prefix=$$work/ $$work/corpus tests/fuzz/corpus/$$t \
	    $$(test -d tests/fuzz/regress/$$t && echo tests/fuzz/regress/$$t) || exit 1; \
	done

bench: build
	./$(BUILD)/bench_core --event-rate 200000
	./$(BUILD)/bench_core
	./$(BUILD)/bench_e2e --event-rate 100 --customers 200000
	./$(BUILD)/bench_cases
	./$(BUILD)/bench_restore

# A .deb of the binary, units, configs, schemas, deploy kit and man page
# (CPack; the tree is configured for /usr).
package: build
	$(call ensure_pkgs,dpkg-dev)
	cd $(BUILD) && cpack -G DEB

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(BUILD_SAN) $(FUZZ_BUILD) $(PGO_BUILD)
