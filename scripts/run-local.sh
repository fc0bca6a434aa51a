#!/usr/bin/env bash
# The README's run command: installs dependencies, builds, starts a throwaway local PostgreSQL
# when none is configured, and runs the daemon in the foreground (Ctrl-C stops it cleanly).
#   USE_FAKE_COINGECKO=1   poll tools/fake-coingecko (offline) instead of the real API
#   DATABASE_URL / POSTGRES_HOST   use that PostgreSQL instead of a throwaway one
# Every other setting is read by the daemon itself from the environment or ./.env.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j "$(nproc)"

children=()
cleanup() {
  for pid in "${children[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [[ -n "${local_pg:-}" ]]; then bash "$root/scripts/pg-test-cluster.sh" stop "$local_pg" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

if [[ -z "${DATABASE_URL:-}" && -z "${POSTGRES_HOST:-}" ]]; then
  # Outside the checkout: PostgreSQL runs as the postgres user, who cannot enter a checkout under
  # /root or a 0700 directory. Kept between runs, so the data survives a restart.
  local_pg=${LOCAL_PG_DIR:-/var/tmp/coingecko-etl-local-postgres}
  port=${LOCAL_PG_PORT:-55432}
  mkdir -p "$local_pg"
  bash scripts/pg-test-cluster.sh start "$local_pg" "$port" >/dev/null
  DATABASE_URL=$(bash scripts/pg-test-cluster.sh url "$local_pg" "$port")
  export DATABASE_URL
  echo "run-local: throwaway PostgreSQL at $DATABASE_URL (data in $local_pg)"
fi

if [[ "${USE_FAKE_COINGECKO:-0}" == 1 ]]; then
  mkdir -p .local
  build/fake-coingecko --port 0 --fixture tests/fixtures/madjin__daily-crypto__markets_usd_top100_2026-04-30.json \
    --max-seconds 86400 >.local/fake-coingecko.log 2>&1 &
  children+=($!)
  for _ in $(seq 50); do grep -q '^LISTENING' .local/fake-coingecko.log && break; sleep 0.1; done
  fake_port=$(awk '/^LISTENING/ {print $2; exit}' .local/fake-coingecko.log)
  export COINGECKO_URL="http://127.0.0.1:${fake_port}/api/v3/coins/markets"
  echo "run-local: polling fake CoinGecko at $COINGECKO_URL"
fi

export MIGRATIONS_DIR=${MIGRATIONS_DIR:-$root/migrations}
# In the foreground: Ctrl-C reaches the daemon directly (the terminal signals the whole process
# group) and it stops gracefully; the EXIT trap then stops the fake server and PostgreSQL.
# (Forwarding the signal as well would be a second signal, which means "exit at once".)
build/coingecko-etl run "$@"
