#!/usr/bin/env bash
# The README's test command: the whole test suite, on a fresh Debian 12 machine, as root.
#
# Suites, in order (TEST_SUITES picks a subset, e.g. TEST_SUITES=core for a quick run):
#   core        install deps, build, throwaway PostgreSQL 15, CTest: unit, integration, system
#               (end to end, every fault, observability with a real Prometheus, leader
#               failover), alert-rule tests; then the release preset (what users build)
#               must build without a warning
#   sanitizers  the same CTest suite built with ASan+UBSan and with TSan (scripts/test-sanitizers.sh)
#   fuzz        libFuzzer on the markets, config and Retry-After parsers, FUZZ_SECONDS each (scripts/fuzz.sh)
#   bench       bench/run.sh --smoke: the benchmark command still runs (not a timed test)
#   deploy      container image, compose stack, Kubernetes manifests, systemd unit (scripts/test-deploy.sh)
#
#   BUILD_DIR=build   CMake build tree of the core suite
#   CTEST_ARGS=...    extra ctest arguments for the core suite, e.g. "-R unit"
# Exit status: 0 only when every selected suite passed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${BUILD_DIR:-build}
suites=${TEST_SUITES:-core,sanitizers,fuzz,bench,deploy}

declare -a passed=() failed=() timings=()

core() {
  bash scripts/install-deps.sh
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DETL_WARNINGS_AS_ERRORS=ON \
    ${CMAKE_ARGS:-}
  cmake --build "$build_dir" -j "$(nproc)"
  (
    # shellcheck source=scripts/lib/pg-env.sh
    source scripts/lib/pg-env.sh
    pg_env_start
    # shellcheck disable=SC2086
    ctest --test-dir "$build_dir" --output-on-failure ${CTEST_ARGS:-}
  )
  release_build
}
# What a user builds: the release preset (-O3, warnings not errors) must build, and warning-free,
# so a newer compiler's warning can never break a user's build and ours stay clean.
release_build() {
  local log
  log=$(mktemp)
  cmake --preset release >"$log" 2>&1 && cmake --build --preset release -j "$(nproc)" >>"$log" 2>&1 || {
    tail -n 40 "$log"; echo "test.sh: the release preset does not build" >&2; return 1; }
  if grep -q "warning:" "$log"; then
    grep -B2 -A8 "warning:" "$log" | head -n 60
    echo "test.sh: the release preset builds with warnings" >&2
    return 1
  fi
  echo "test.sh: release preset: built build-release/coingecko-etl, no warnings"
}
sanitizers() { bash scripts/test-sanitizers.sh; }
fuzz() { FUZZ_SECONDS=${FUZZ_SECONDS:-60} bash scripts/fuzz.sh; }
bench() { BENCH_BUILD=$build_dir bash bench/run.sh --smoke; }
deploy() { bash scripts/test-deploy.sh; }

IFS=, read -r -a selected <<<"$suites"
for suite in "${selected[@]}"; do
  case $suite in
    core | sanitizers | fuzz | bench | deploy) ;;
    *) echo "test.sh: unknown suite '$suite' (core, sanitizers, fuzz, bench, deploy)" >&2; exit 2 ;;
  esac
  echo "=== test.sh: suite $suite"
  start=$SECONDS
  if "$suite"; then passed+=("$suite"); else failed+=("$suite"); fi
  timings+=("$suite $((SECONDS - start))s")
  # Nothing later can pass on a tree that does not build and pass its own tests.
  if [[ $suite == core && ${#failed[@]} -gt 0 ]]; then break; fi
done

echo "=== test.sh: ${timings[*]}"
echo "=== test.sh: passed: ${passed[*]:-none}; failed: ${failed[*]:-none}"
echo "suites: ${#passed[@]} passed, ${#failed[@]} failed"
((${#failed[@]} == 0))
