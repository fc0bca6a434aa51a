#!/usr/bin/env bash
# Builds the daemon, its tools and tests twice with GCC's sanitizers and runs the unit,
# integration and system tests (all of CTest) in each tree against one throwaway PostgreSQL:
#   asan  -DETL_SANITIZERS="address;undefined"   (AddressSanitizer + LeakSanitizer + UBSan)
#   tsan  -DETL_SANITIZERS=thread                (ThreadSanitizer)
# Both are RelWithDebInfo at -O1 with assertions on: fast enough for the system tests, readable
# stacks. Every process a test starts (the daemon, fake-coingecko) inherits the options below
# and writes any report to a per-tree directory instead of stderr, so a report from a child
# whose exit status a test does not look at still fails the run. Exit status: 0 only when every
# tree's tests passed and no sanitizer report was written.
#   SANITIZER_TREES="asan tsan"   which trees, in order
#   SAN_BUILD_ROOT=build-san      trees go in $SAN_BUILD_ROOT/<tree>
#   CTEST_ARGS=...                extra ctest arguments, e.g. "-R unit"
#   CTEST_JOBS=N                  tests at once (default: nproc; see tests/CMakeLists.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_root=${SAN_BUILD_ROOT:-build-san}
trees=${SANITIZER_TREES:-asan tsan}

bash scripts/install-deps.sh

# shellcheck source=scripts/lib/pg-env.sh
source scripts/lib/pg-env.sh
pg_env_start

supp_dir=$root/tests/sanitizers
failed=()
timings=()

run_tree() {
  local tree=$1 sanitizers dir reports start rc=0
  case $tree in
    asan) sanitizers="address;undefined" ;;
    tsan) sanitizers="thread" ;;
    *) echo "test-sanitizers: unknown tree '$tree' (asan or tsan)" >&2; return 2 ;;
  esac
  dir=$build_root/$tree
  reports=$(mktemp -d "/tmp/coingecko-etl-$tree-reports.XXXXXX")

  start=$SECONDS
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DETL_WARNINGS_AS_ERRORS=ON \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DETL_SANITIZERS="$sanitizers"
  cmake --build "$dir" -j "$(nproc)"
  timings+=("$tree build: $((SECONDS - start)) s")

  start=$SECONDS
  # log_path: one file per process that reported (<prefix>.<pid>); checked below.
  # LSan: leak:libpqxx-6.4.so only (see the file). UBSan: RapidJSON 1.1.0's benign
  # nullptr arithmetic (see fuzz/ubsan_rapidjson.supp). TSan: tests/sanitizers/tsan.supp.
  # shellcheck disable=SC2086
  ETL_TEST_TIME_SCALE=${ETL_TEST_TIME_SCALE:-4} \
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:log_path=$reports/asan" \
  LSAN_OPTIONS="suppressions=$supp_dir/lsan.supp:print_suppressions=0" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/fuzz/ubsan_rapidjson.supp:log_path=$reports/ubsan" \
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp_dir/tsan.supp:log_path=$reports/tsan" \
    ctest --test-dir "$dir" --output-on-failure -j "${CTEST_JOBS:-$(nproc)}" ${CTEST_ARGS:-} || rc=$?
  timings+=("$tree tests: $((SECONDS - start)) s")

  if compgen -G "$reports/*" >/dev/null; then
    echo "test-sanitizers: $tree: sanitizer reports in $reports:" >&2
    for report in "$reports"/*; do
      echo "===== $report" >&2
      cat "$report" >&2
    done
    rc=1
  else
    rm -rf "$reports"
  fi
  if ((rc != 0)); then failed+=("$tree"); fi
}

for tree in $trees; do
  run_tree "$tree"
done

echo "test-sanitizers: timings: ${timings[*]/%/;}"
if ((${#failed[@]} > 0)); then
  echo "test-sanitizers: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "test-sanitizers: all trees clean: $trees"
