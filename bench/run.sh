#!/usr/bin/env bash
# The benchmark: builds Release, starts a private PostgreSQL 15 and fake-coingecko serving a
# synthetic market, runs the daemon and measures it. See bench/README.md.
#
#   bench/run.sh              full run: N = 250, 2,500, 17,500 (>= 10 measured ticks each), idle
#                             RSS, /metrics under wrk load; updates bench/RESULTS.md
#   bench/run.sh --smoke      N = 250 only, 3 ticks, short load phase; never touches RESULTS.md
#                             (what CI runs: it proves the bench still works, it is not a test)
#   bench/run.sh --profile    also runs one 2,500-coin tick under callgrind and writes the top
#                             functions to bench/out/profile-2500.txt
#   bench/run.sh --no-record  full run without rewriting bench/RESULTS.md
#   bench/run.sh --only=N     one size (250, 2500 or 17500), 10 ticks, no load or idle phase;
#                             never touches RESULTS.md (for a quick before/after comparison)
#   bench/run.sh --parse      the parser alone (parse-bench): CPU per 250-coin page on its
#                             in-place and validating routes; no PostgreSQL, a few seconds
#
# Environment: BENCH_PG_FSYNC=on|off (default on: PostgreSQL durable, as in production),
# BENCH_SRC (source tree to build, default this checkout), BENCH_OUT (default bench/out),
# BENCH_BUILD (use the binaries of an existing build directory instead of building Release).
# Everything listens on 127.0.0.1 only, and every process started here is stopped on exit.
set -euo pipefail

readonly BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly REPO=$(cd "$BENCH_DIR/.." && pwd)
readonly SRC=$(cd "${BENCH_SRC:-$REPO}" && pwd)
readonly OUT=${BENCH_OUT:-$BENCH_DIR/out}
readonly PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
readonly FSYNC=${BENCH_PG_FSYNC:-on}

mode=full
record=1
profile=0
only=
parse_only=0
for arg in "$@"; do
  case $arg in
    --parse) parse_only=1; record=0 ;;
    --smoke) mode=smoke; record=0 ;;
    --profile) profile=1 ;;
    --no-record) record=0 ;;
    --only=250 | --only=2500 | --only=17500) only=${arg#--only=}; record=0 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
[[ $FSYNC == on || $FSYNC == off ]] || { echo "BENCH_PG_FSYNC must be on or off" >&2; exit 2; }

log() { echo "bench: $*" >&2; }

# Tools: the build dependencies come from the project's own installer; wrk (the /metrics load
# generator) is only needed here. Both are Debian packages.
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
[[ $profile == 0 ]] || command -v valgrind >/dev/null || need_apt+=(valgrind)
if ! command -v cmake >/dev/null || ! command -v ninja >/dev/null || [[ ! -x $PG_BIN/initdb ]]; then
  log "installing build dependencies (scripts/install-deps.sh)"
  "$REPO/scripts/install-deps.sh"
fi
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]} (apt)"
  if [[ $(id -u) -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null; }
  else
    sudo apt-get install -y --no-install-recommends "${need_apt[@]}" >/dev/null
  fi
fi

mkdir -p "$OUT"
if [[ -n ${BENCH_BUILD:-} ]]; then
  # An existing build (CI: the one scripts/test.sh just made), so --smoke needs no second build.
  BUILD=$(cd "$BENCH_BUILD" && pwd)
  bins=(coingecko-etl fake-coingecko)
  [[ $parse_only == 0 ]] || bins=(parse-bench)
  for bin in "${bins[@]}"; do
    [[ -x $BUILD/$bin ]] || { echo "bench/run.sh: BENCH_BUILD=$BENCH_BUILD has no $bin" >&2; exit 1; }
  done
  log "using the existing build in $BUILD"
else
  # Release build of the daemon and the fake (warnings are not errors by default; the test
  # suite's release-preset check keeps the -O3 build warning-free).
  BUILD=$OUT/build
  log "building Release in $BUILD"
  cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DETL_BUILD_TESTS=OFF \
    -DETL_WARNINGS_AS_ERRORS=OFF >"$OUT/cmake.log" 2>&1 || { cat "$OUT/cmake.log" >&2; exit 1; }
  ninja -C "$BUILD" coingecko-etl fake-coingecko parse-bench >"$OUT/build.log" 2>&1 || { tail -n 40 "$OUT/build.log" >&2; exit 1; }
fi

if [[ $parse_only == 1 ]]; then
  # The same real coins fake-coingecko --synthetic serves, 250 to a page (about 200 KB).
  "$BUILD/parse-bench" "$SRC/tests/fixtures/madjin__daily-crypto__markets_usd_top100_2026-04-30.json" 250 |
    tee "$OUT/parse.json"
  exit 0
fi

# A private cluster on a free port. pg-test-cluster.sh starts it with fsync=off; by default the
# bench restarts it durable (fsync and full_page_writes on) so commit latency is the production
# one. track_commit_timestamp lets the bench read each snapshot's exact commit time.
PG_DIR=$(mktemp -d /tmp/etl-bench-pg.XXXXXX)
chmod 755 "$PG_DIR"
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  "$REPO/scripts/pg-test-cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # so the EXIT trap (cluster stop) also runs when interrupted
log "starting PostgreSQL on 127.0.0.1:$PG_PORT (fsync=$FSYNC)"
DB_URL=$("$REPO/scripts/pg-test-cluster.sh" start "$PG_DIR" "$PG_PORT")
pg_opts="-p $PG_PORT -k $PG_DIR/sock -c listen_addresses=127.0.0.1 -c track_commit_timestamp=on"
[[ $FSYNC == on ]] || pg_opts+=" -c fsync=off -c full_page_writes=off"
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
as_postgres "$PG_BIN/pg_ctl" restart -D "$PG_DIR/pgdata" -m fast -w -t 60 -l "$PG_DIR/postgres.log" \
  -o "$pg_opts" >/dev/null

args=(--mode "$mode" --build "$BUILD" --src "$SRC" --out "$OUT" --db-url "$DB_URL" --pg-fsync "$FSYNC")
[[ $record == 1 ]] && args+=(--record "$BENCH_DIR/RESULTS.md")
[[ $profile == 1 ]] && args+=(--profile)
[[ -n $only ]] && args+=(--only "$only")
python3 "$BENCH_DIR/bench.py" "${args[@]}"
