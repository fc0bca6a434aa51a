#!/usr/bin/env bash
# Installs every build, test and runtime dependency from Debian 12 packages.
# Idempotent and non-interactive: packages already present are skipped by apt.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build git ca-certificates curl
  libcurl4-openssl-dev libssl-dev rapidjson-dev libpqxx-dev prometheus-cpp-dev
  libcpp-httplib-dev libspdlog-dev libfmt-dev catch2 libexpected-dev
  postgresql postgresql-client prometheus python3 procps
  libfaketime # tests/system/test_clock_ahead.py: a daemon whose wall clock is far ahead
  clang-format clang-tidy # scripts/lint.sh: the format check and clang-tidy (both version 14)
)
if [[ "${WITH_FUZZ:-0}" == 1 ]]; then packages+=(clang libclang-rt-14-dev); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: need root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The Debian postgresql package may auto-start a cluster on 5432; tests use their own.
echo "install-deps: installed ${missing[*]}"
