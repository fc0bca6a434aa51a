#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for integration and system tests.
#
#   pg-test-cluster.sh start DIR PORT   init (once) + start; prints the database URL
#   pg-test-cluster.sh stop  DIR        fast shutdown (no-op when not running)
#   pg-test-cluster.sh url   DIR PORT   prints the database URL only
#
# The cluster lives entirely in DIR (data, socket, log), listens on 127.0.0.1:PORT only and
# trusts local connections: it is for tests, never for data anyone keeps. Durability is off
# (fsync, full_page_writes) because the tests never survive a host crash anyway.
# PostgreSQL refuses to run as root, so as root every server command runs as `postgres`.
set -euo pipefail

readonly PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
readonly DB_NAME=coingecko_test

usage() {
  echo "usage: $0 start DIR PORT | stop DIR | url DIR PORT" >&2
  exit 2
}

# Runs a command as the cluster owner: postgres when we are root, ourselves otherwise.
as_owner() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

print_url() { echo "postgresql://postgres@127.0.0.1:$1/${DB_NAME}"; }

# True when the postmaster recorded in DIR/pgdata/postmaster.pid is alive. A zombie counts as
# dead: after a kill -9 in a container whose PID 1 does not reap, pg_ctl status (and the
# server's own lock-file check) would otherwise believe it still runs.
is_running() {
  local pidfile=$1/pgdata/postmaster.pid pid state
  [[ -f $pidfile ]] || return 1
  pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/stat ]] || return 1
  state=$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)
  [[ -n $state && $state != Z && $state != X ]]
}

# A killed server leaves lock files naming a dead (or zombie) pid, which would block start.
remove_stale_locks() {
  local dir=$1 port=$2
  rm -f "$dir/pgdata/postmaster.pid" "$dir/sock/.s.PGSQL.$port.lock" "$dir/sock/.s.PGSQL.$port"
}

start_server() {
  local dir=$1 port=$2 attempt
  # Backends orphaned by a killed postmaster hold its shared memory for a moment; the server
  # refuses to start until they are gone, so retry briefly.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if as_owner "$PG_BIN/pg_ctl" start -D "$dir/pgdata" -l "$dir/postgres.log" -w -t 60 \
      -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" \
      >/dev/null 2>&1; then
      return 0
    fi
    tail -n 5 "$dir/postgres.log" 2>/dev/null | grep -q "still in use" || break
    sleep 1
  done
  echo "pg-test-cluster: server did not start; last log lines:" >&2
  tail -n 20 "$dir/postgres.log" >&2 || true
  return 1
}

start() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir"
    # initdb and the server run as postgres: every parent directory must be traversable.
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "pg-test-cluster: $dir is not writable by the postgres user (check parent directory permissions)" >&2
      exit 1
    fi
  fi

  if [[ ! -f "$dir/pgdata/PG_VERSION" ]]; then
    as_owner "$PG_BIN/initdb" -D "$dir/pgdata" -A trust -U postgres --no-sync -E UTF8 \
      --locale C.UTF-8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
  fi
  as_owner mkdir -p "$dir/sock"

  if is_running "$dir"; then
    # postmaster.pid line 4 is the port: starting again on another port would silently lie.
    local running_port
    running_port=$(sed -n 4p "$dir/pgdata/postmaster.pid" 2>/dev/null || true)
    if [[ -n $running_port && $running_port != "$port" ]]; then
      echo "pg-test-cluster: $dir is already running on port $running_port, not $port" >&2
      exit 1
    fi
  else
    [[ -f "$dir/pgdata/postmaster.pid" ]] && remove_stale_locks "$dir" "$port"
    start_server "$dir" "$port" || exit 1
  fi

  # The server starts even when the TCP port is taken (it still has its Unix socket), and the
  # URL would then reach someone else's server: check the port leads to this data directory.
  local served
  served=$(as_owner "$PG_BIN/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAq \
    -c "SHOW data_directory" 2>/dev/null || true)
  if [[ $served != "$dir/pgdata" ]]; then
    echo "pg-test-cluster: 127.0.0.1:$port does not reach the cluster in $dir (port in use by" \
      "another server?)" >&2
    stop "$dir"
    exit 1
  fi

  local exists
  exists=$(as_owner "$PG_BIN/psql" -h "$dir/sock" -p "$port" -U postgres -d postgres -tAq \
    -c "SELECT 1 FROM pg_database WHERE datname = '${DB_NAME}'")
  if [[ $exists != 1 ]]; then
    as_owner "$PG_BIN/createdb" -h "$dir/sock" -p "$port" -U postgres "$DB_NAME"
  fi
  print_url "$port"
}

stop() {
  local dir=$1
  [[ -f "$dir/pgdata/PG_VERSION" ]] || return 0
  if is_running "$dir"; then
    as_owner "$PG_BIN/pg_ctl" stop -D "$dir/pgdata" -m fast -w -t 60 >/dev/null
  fi
  return 0
}

case "${1:-}" in
  start) [[ $# -eq 3 ]] || usage; start "$2" "$3" ;;
  stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
  url) [[ $# -eq 3 ]] || usage; print_url "$3" ;;
  *) usage ;;
esac
