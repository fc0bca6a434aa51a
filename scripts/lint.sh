#!/usr/bin/env bash
# Static checks of the project's C++ sources; run by scripts/test.sh (suite lint, in both the
# quick and the --full command) and so by CI.
#
#   scripts/lint.sh          format check, then clang-tidy over the whole tree
#   LINT=format              only the format check (seconds)
#   LINT=tidy                only clang-tidy (about 3 minutes on 2 idle cores)
#   BUILD_DIR=build          CMake build tree holding compile_commands.json; configured here
#                            (not built) when missing
#   LINT_JOBS=$(nproc)       parallel clang-tidy processes
#
# format: the `format-check` target (cmake/Format.cmake) lists every file clang-format 14 would
#   change under .clang-format; `cmake --build build --target format` rewrites them.
# tidy: run-clang-tidy with .clang-tidy on every translation unit of cmd/, internal/, tests/ and
#   tools/, diagnostics from this project's headers only; any finding fails.
# Exit status: 0 when every selected check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${BUILD_DIR:-build}
checks=${LINT:-format,tidy}
jobs=${LINT_JOBS:-$(nproc)}

if [[ ! -f $build_dir/compile_commands.json ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DETL_WARNINGS_AS_ERRORS=ON \
    ${CMAKE_ARGS:-} >/dev/null
fi

status=0
format() {
  cmake --build "$build_dir" --target format-check
}
tidy() {
  local tool log
  for tool in run-clang-tidy clang-tidy; do
    command -v "$tool" >/dev/null || { echo "lint.sh: $tool not found (apt-get install clang-tidy)" >&2; return 1; }
  done
  # Sources generated into the build tree (embedded migrations) are not ours to lint.
  local dirs="^$root/(cmd|internal|tests|tools|fuzz)/"
  log=$(mktemp)
  # -quiet drops the per-file banner; the log is printed only as far as it reports findings.
  if run-clang-tidy -j "$jobs" -p "$build_dir" -quiet -header-filter="$dirs" "$dirs" >"$log" 2>&1 &&
    ! grep -q -E '(warning|error):' "$log"; then
    echo "lint.sh: clang-tidy: no findings"
    rm -f "$log"
    return 0
  fi
  grep -E -A3 '(warning|error):' "$log" | head -n 200
  echo "lint.sh: clang-tidy: $(grep -c -E '(warning|error):' "$log") finding(s); full log: $log" >&2
  return 1
}

IFS=, read -r -a selected <<<"$checks"
for check in "${selected[@]}"; do
  case $check in
    format | tidy) ;;
    *) echo "lint.sh: unknown check '$check' (format, tidy)" >&2; exit 2 ;;
  esac
  start=$SECONDS
  if "$check"; then echo "lint.sh: $check passed ($((SECONDS - start))s)"; else
    echo "lint.sh: $check FAILED ($((SECONDS - start))s)" >&2; status=1; fi
done
exit "$status"
