# shellcheck shell=bash
# Sourced, not run: starts a throwaway PostgreSQL for the test scripts (scripts/test.sh,
# scripts/test-sanitizers.sh) and stops it when the calling script exits.
#
#   source scripts/lib/pg-env.sh
#   pg_env_start          # needs $root = the repository root
#
# Exports ETL_TEST_DATABASE_URL, ETL_TEST_PG_DIR and ETL_TEST_PG_PORT (the integration and
# system tests read them) and installs an EXIT trap that stops the cluster and removes its
# directory. A caller with its own EXIT cleanup calls pg_env_stop from it instead.

pg_env_cluster() { bash "${root:?pg-env.sh: set root to the repository root}/scripts/pg-test-cluster.sh" "$@"; }

pg_env_stop() {
  [[ -n ${ETL_TEST_PG_DIR:-} ]] || return 0
  pg_env_cluster stop "$ETL_TEST_PG_DIR" >/dev/null 2>&1 || true
  rm -rf "$ETL_TEST_PG_DIR"
}

pg_env_start() {
  local pg_dir pg_port
  pg_dir=$(mktemp -d /tmp/coingecko-etl-test-pg.XXXXXX)
  # A free port chosen by the kernel, so parallel runs on one machine do not collide.
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  export ETL_TEST_PG_DIR="$pg_dir" ETL_TEST_PG_PORT="$pg_port"
  trap pg_env_stop EXIT
  pg_env_cluster start "$pg_dir" "$pg_port" >/dev/null
  ETL_TEST_DATABASE_URL=$(pg_env_cluster url "$pg_dir" "$pg_port")
  export ETL_TEST_DATABASE_URL
  echo "test PostgreSQL: $ETL_TEST_DATABASE_URL"
}
