#!/usr/bin/env bash
# Static checks of the project's C++ sources; run by scripts/test.sh (suite lint, in both the
# quick and the --full command) and so by CI.
#
#   scripts/lint.sh          format check (every file), then clang-tidy over the product code
#   LINT=format              only the format check (seconds)
#   LINT=tidy                only clang-tidy
#   TIDY_SCOPE=all           clang-tidy on every translation unit under LINT_DIRS (--full, CI)
#   TIDY_SCOPE=changed       only the .cpp files that differ from LINT_BASE (default: the
#                            merge-base with main), committed or not, and the .cpp beside each
#                            changed .hpp: what the quick `scripts/test.sh` runs
#   BUILD_DIR=build          CMake build tree holding compile_commands.json; configured here
#                            (not built) when missing
#   LINT_JOBS=$(nproc)       parallel clang-tidy processes
#   LINT_DIRS=cmd|internal|tools|fuzz
#                            the top-level folders clang-tidy covers (add |tests for the tests
#                            too: twice the time, which is why CI leaves them out)
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
tidy_scope=${TIDY_SCOPE:-all}

if [[ ! -f $build_dir/compile_commands.json ]]; then
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DETL_WARNINGS_AS_ERRORS=ON \
    ${CMAKE_ARGS:-} >/dev/null
fi

status=0
format() {
  cmake --build "$build_dir" --target format-check
}
# Anchored regexes (run-clang-tidy's file arguments) for the changed translation units.
changed_sources() {
  local base=${LINT_BASE:-$(git merge-base HEAD main 2>/dev/null || echo HEAD)}
  local f cpp
  { git diff --name-only "$base" -- cmd internal tests tools fuzz; git ls-files --others --exclude-standard -- cmd internal tests tools fuzz; } |
    while read -r f; do
      case $f in
        *.cpp) cpp=$f ;;
        *.hpp) cpp=${f%.hpp}.cpp ;;
        *) continue ;;
      esac
      if [[ -f $cpp ]]; then echo "^$root/${cpp//./\\.}\$"; fi
    done | sort -u
}
tidy() {
  local tool log
  for tool in run-clang-tidy clang-tidy; do
    command -v "$tool" >/dev/null || { echo "lint.sh: $tool not found (apt-get install clang-tidy)" >&2; return 1; }
  done
  # Sources generated into the build tree (embedded migrations) are not ours to lint.
  local dirs="^$root/(${LINT_DIRS:-cmd|internal|tools|fuzz})/"
  local files=("$dirs")
  if [[ $tidy_scope == changed ]]; then
    mapfile -t files < <(changed_sources)
    if ((${#files[@]} == 0)); then
      echo "lint.sh: clang-tidy: no C++ source changed since ${LINT_BASE:-the merge-base with main}"
      return 0
    fi
    echo "lint.sh: clang-tidy on ${#files[@]} changed file(s)"
  fi
  log=$(mktemp)
  # run-clang-tidy 14 always asks for colour: strip it so the log greps and reads as text.
  # Its exit status is the verdict (.clang-tidy makes every finding an error); the log shows why.
  local rc=0
  run-clang-tidy -j "$jobs" -p "$build_dir" -quiet -header-filter="$dirs" "${files[@]}" 2>&1 |
    sed 's/\x1b\[[0-9;]*m//g' >"$log" || rc=$?
  if ((rc == 0)) && ! grep -q -E '(warning|error):' "$log"; then
    echo "lint.sh: clang-tidy: no findings"
    rm -f "$log"
    return 0
  fi
  if grep -q -E '(warning|error):' "$log"; then
    grep -E -A3 '(warning|error):' "$log" | head -n 200 || true
  else
    tail -n 40 "$log" # no finding, yet it failed: a crash or a bad compile database
  fi
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
