#!/usr/bin/env bash
# The README's two test commands, on a fresh Debian 12 machine, as root:
#
#   scripts/test.sh          the quick complete check (at most 10 minutes on 2 cores): suites core, lint
#   scripts/test.sh --full   everything CI runs (about 40 minutes on 2 cores): all seven suites
#
# Suites, in order (TEST_SUITES=a,b picks them explicitly and wins over --full):
#   core        install deps, build, throwaway PostgreSQL 15, CTest: unit, integration, system
#               (end to end, every fault, observability with a real Prometheus, leader
#               failover), alert-rule tests; CTest runs CTEST_JOBS tests at once
#   lint        clang-format check and clang-tidy (scripts/lint.sh): the quick command tidies the
#               files changed since the merge-base with main, --full the whole tree
#   release     the release preset (what users build, -O3, warnings not errors) builds without a warning
#   sanitizers  the same CTest suite built with ASan+UBSan and with TSan (scripts/test-sanitizers.sh)
#   fuzz        libFuzzer on the markets, config and Retry-After parsers, FUZZ_SECONDS each (scripts/fuzz.sh)
#   bench       bench/run.sh --smoke: the benchmark command still runs (not a timed test)
#   deploy      container image, compose stack, Kubernetes manifests, systemd unit (scripts/test-deploy.sh)
#
#   BUILD_DIR=build   CMake build tree of the core suite
#   CTEST_ARGS=...    extra ctest arguments for the core suite, e.g. "-R unit"
#   CTEST_JOBS=N      tests run at once by the core and sanitizer suites (default: nproc); the
#                     system tests mostly wait on ticks, so two at once on 2 cores halve the time
# Exit status: 0 only when every selected suite passed; 2 for bad usage.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${BUILD_DIR:-build}
all_suites=core,lint,release,sanitizers,fuzz,bench,deploy
default_suites=core,lint
tidy_scope=changed
for arg in "$@"; do
  case $arg in
    --full) default_suites=$all_suites tidy_scope=all ;;
    -h | --help) sed -n '2,/^# Exit status/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument '$arg' (--full, --help)" >&2; exit 2 ;;
  esac
done
suites=${TEST_SUITES:-$default_suites}

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
    ctest --test-dir "$build_dir" --output-on-failure -j "${CTEST_JOBS:-$(nproc)}" ${CTEST_ARGS:-}
  )
}
# What a user builds: the release preset (-O3, warnings not errors) must build, and warning-free,
# so a newer compiler's warning can never break a user's build and ours stay clean.
release() {
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
lint() { BUILD_DIR=$build_dir TIDY_SCOPE=${TIDY_SCOPE:-$tidy_scope} bash scripts/lint.sh; }
sanitizers() { bash scripts/test-sanitizers.sh; }
fuzz() { FUZZ_SECONDS=${FUZZ_SECONDS:-60} bash scripts/fuzz.sh; }
bench() { BENCH_BUILD=$build_dir bash bench/run.sh --smoke; }
deploy() { bash scripts/test-deploy.sh; }

IFS=, read -r -a selected <<<"$suites"
for suite in "${selected[@]}"; do
  case $suite in
    core | lint | release | sanitizers | fuzz | bench | deploy) ;;
    *) echo "test.sh: unknown suite '$suite' (core, lint, release, sanitizers, fuzz, bench, deploy)" >&2; exit 2 ;;
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
