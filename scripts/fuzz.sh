#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, fuzz/CMakeLists.txt) in their own tree and
# runs each for a bounded time over a temporary copy of its seed corpus, so the committed
# fuzz/corpus/ is never modified. The inputs in tests/fuzz-regressions/<target>/ are loaded as
# extra seeds (read-only). Fails when any target finds a crash, leak, timeout or out-of-memory
# input, and prints where that input is. Turn it into a regression test by copying it into
# tests/fuzz-regressions/<target>/ (replayed by tests/unit/fuzz_regression_test.cpp).
#   FUZZ_SECONDS=60                           time per target
#   FUZZ_TARGETS="markets config retry_after" which targets (fuzz/fuzz_<name>.cpp)
#   FUZZ_BUILD_DIR=build-fuzz                 CMake tree
#   FUZZ_WORK_DIR=<mktemp>                    corpora, logs and crash inputs (kept on failure)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-markets config retry_after}
build_dir=${FUZZ_BUILD_DIR:-build-fuzz}
[[ $build_dir == /* ]] || build_dir=$root/$build_dir

WITH_FUZZ=1 bash scripts/install-deps.sh

start=$SECONDS
# fuzz/CMakeLists.txt adds -fsanitize=fuzzer-no-link to all of our code in this tree, so the
# libraries under test give coverage feedback and carry ASan/UBSan like the harnesses do.
CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DETL_SANITIZERS="address;undefined" \
  -DETL_FUZZ=ON -DETL_BUILD_TESTS=OFF -DETL_WARNINGS_AS_ERRORS=ON
cmake --build "$build_dir" -j "$(nproc)" --target fuzzers
echo "fuzz: build took $((SECONDS - start)) s"

if [[ -n ${FUZZ_WORK_DIR:-} ]]; then
  work=$FUZZ_WORK_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/coingecko-etl-fuzz.XXXXXX)
  trap '((${#failed[@]} > 0)) || rm -rf "$work"' EXIT
fi
failed=()

# Inputs larger than this are cut by libFuzzer: big enough for a few coins / a whole .env /
# any header, small enough to keep executions fast.
max_len_of() {
  case $1 in
    markets) echo 16384 ;;
    config) echo 8192 ;;
    *) echo 512 ;;
  esac
}

for target in $targets; do
  binary=$build_dir/fuzz/fuzz_$target
  seeds=$root/fuzz/corpus/$target
  regressions=$root/tests/fuzz-regressions/$target
  [[ -x $binary && -d $seeds ]] || { echo "fuzz: no target or seed corpus for '$target'" >&2; exit 2; }
  corpus=$work/$target/corpus
  artifacts=$work/$target/artifacts
  log=$work/$target/fuzz.log
  mkdir -p "$corpus" "$artifacts"
  cp -R "$seeds/." "$corpus/"
  extra=()
  [[ -d $regressions ]] && extra=("$regressions")

  echo "fuzz: $target for ${seconds}s ($(find "$corpus" -type f | wc -l) seeds)"
  rc=0
  # New inputs go to the first corpus directory only (the temporary copy). halt_on_error makes
  # UBSan findings crashes; the RapidJSON suppression is the one benign third-party report.
  ASAN_OPTIONS="detect_leaks=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$root/fuzz/ubsan_rapidjson.supp" \
    "$binary" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len="$(max_len_of "$target")" -artifact_prefix="$artifacts/" -print_final_stats=1 \
      "$corpus" "${extra[@]}" >"$log" 2>&1 || rc=$?
  grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$log" | sed "s/^/fuzz: $target: /" || true

  found=$(find "$artifacts" -type f | sort)
  if ((rc != 0)) || [[ -n $found ]]; then
    failed+=("$target")
    echo "fuzz: $target FAILED (exit $rc); last lines of $log:" >&2
    tail -n 40 "$log" >&2
    for input in $found; do
      echo "fuzz: $target: failing input: $input" >&2
      od -A d -c "$input" | head -n 8 >&2
      echo "fuzz:   reproduce: $binary $input" >&2
      echo "fuzz:   keep as a regression: cp $input tests/fuzz-regressions/$target/<what-it-is>" >&2
    done
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: FAILED: ${failed[*]} (work dir kept: $work)" >&2
  exit 1
fi
echo "fuzz: all targets clean: $targets (total $((SECONDS - start)) s)"
