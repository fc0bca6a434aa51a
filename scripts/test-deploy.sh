#!/usr/bin/env bash
# Deployment proof (docs/DEPLOY.md): every deployment artifact is built, run or validated here.
#
#   scripts/test-deploy.sh            (as root on Debian 12; CI runs it after scripts/test.sh)
#
# Stages (each prints ok/FAIL lines; a summary at the end; exit 1 when any stage failed):
#   prerequisites  apt packages (podman, docker-compose, debootstrap, ...), host build
#   k8s            kubectl kustomize of every variant (and of backfill/ beside them) + schema and
#                  contract validation (node), with a self-test of break cases
#   systemd        systemd-analyze verify + security exposure of deploy/systemd
#   compose-config docker-compose config + structural checks of docker-compose.yml
#   base-images    local debian:bookworm(-slim) from debootstrap (no registry is reachable)
#   image          podman build of the Dockerfile; labels, user, contents, no secrets
#   container      the image polls fake-coingecko and PostgreSQL; health, rows, uid, stop
#   dotenv         the committed .env does not disturb a run from the repository root
#   compose-up     docker-compose (against podman's Docker API) brings up the stack
#
# Environment:
#   BUILD_DIR=build                        host build tree (shared with scripts/test.sh)
#   DEPLOY_CACHE_DIR=/var/tmp/coingecko-etl-deploy   debootstrap tarball, podman config
#   REFRESH_BASE=1                         rebuild the debootstrap base image
#   KEEP_WORK=1                            keep the temporary work directory for inspection
#   STAGES=k8s,compose-config              run only these stages (after prerequisites, which then
#                                          builds on the host only what they need); skipped stages
#                                          are listed as SKIP and the verdict says PARTIAL
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build_dir=${BUILD_DIR:-build}
[[ $build_dir = /* ]] || build_dir=$root/$build_dir
cache_dir=${DEPLOY_CACHE_DIR:-/var/tmp/coingecko-etl-deploy}
work=$(mktemp -d /tmp/coingecko-etl-deploy.XXXXXX)
chmod 0711 "$work" # the test cluster below runs as the postgres user and must traverse it
image=localhost/coingecko-etl:test
fake_image=localhost/coingecko-etl-fake:proof
run_name=coingecko-etl-proof-run
project=cgetlproof
compose_files=(-f docker-compose.yml -f tests/deploy/compose.proof.yml)
fixture=tests/fixtures/madjin__daily-crypto__markets_usd_top100_2026-04-30.json
shutdown_timeout_s=10 # the daemon's default SHUTDOWN_TIMEOUT; nothing here overrides it
started_at=$SECONDS

export CONTAINERS_CONF=$cache_dir/containers.conf
export DEBIAN_FRONTEND=noninteractive

# --- helpers ---------------------------------------------------------------------------------
ok() { echo "  ok   $*"; }
die() {
  echo "  FAIL $*" >&2
  exit 1
}
note() { echo "  ..   $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
http_code() { curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" || true; }
http_is() { [[ $(http_code "$2") == "$1" ]]; } # http_is CODE URL
rows_above() { # rows_above N COMMAND...: COMMAND prints a count greater than N
  local n=$1 out
  shift
  out=$("$@" 2>/dev/null) && [[ $out =~ ^[0-9]+$ ]] && ((out > n))
}
# wait_until SECONDS DESCRIPTION COMMAND...: runs COMMAND every 0.5 s until it succeeds (so
# COMMAND must compute its condition itself: see http_is, rows_above).
wait_until() {
  local limit=$1 deadline # $2 names the wait for the reader
  shift 2
  deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}
duration_s() { # "10s" "500ms" "2m" "1h" or plain seconds -> seconds (integer, rounded up)
  python3 - "$1" <<'EOF'
import math, re, sys
m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", sys.argv[1].strip())
if not m: sys.exit(f"bad duration {sys.argv[1]!r}")
n = float(m[1]) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m[2]]
print(math.ceil(n))
EOF
}

# Stages run in subshells: what they start is recorded in $work/*.pid and $work/pg-dir, and
# cleanup stops exactly those.
cleanup() {
  podman rm -f -t 0 "$run_name" >/dev/null 2>&1 || true
  compose_teardown >/dev/null 2>&1 || true
  local f pid
  for f in "$work"/*.pid; do
    [[ -f $f ]] || continue
    pid=$(cat "$f")
    kill "$pid" 2>/dev/null || true
  done
  if [[ -f $work/pg-dir ]]; then bash "$root/scripts/pg-test-cluster.sh" stop "$(cat "$work/pg-dir")" >/dev/null 2>&1 || true; fi
  if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

declare -a summary=()
failed=0
skipped=0
# wanted KEY: no STAGES given, or KEY is in it.
wanted() { [[ -z ${STAGES:-} || ",${STAGES// /}," == *",$1,"* ]]; }
# maybe_stage KEY NAME FUNCTION: run_stage unless STAGES leaves KEY out.
maybe_stage() {
  if wanted "$1"; then
    run_stage "$2" "$3"
  else
    summary+=("SKIP  $2 (not in STAGES)")
    skipped=1
  fi
}
# run_stage NAME FUNCTION: runs FUNCTION in a subshell with errexit, records PASS/FAIL.
run_stage() {
  local name=$1 fn=$2 t0=$SECONDS rc
  echo
  echo "=== $name"
  (
    set -e
    "$fn"
  )
  rc=$?
  if ((rc == 0)); then
    summary+=("PASS  $name ($((SECONDS - t0))s)")
  else
    summary+=("FAIL  $name ($((SECONDS - t0))s)")
    failed=1
  fi
  return 0
}
# A stage that needs an earlier one fails (never skips silently) when that one failed.
needs() {
  local s
  for s in "$@"; do
    [[ -f $work/stage-$s.ok ]] || die "needs stage '$s', which did not pass"
  done
}
passed() { touch "$work/stage-$1.ok"; }

# --- prerequisites ---------------------------------------------------------------------------
stage_prerequisites() {
  bash scripts/install-deps.sh >/dev/null
  ok "build and test dependencies (scripts/install-deps.sh)"
  # iptables: netavark sets up container networks with it ("netavark: No such file or directory"
  # without it on a minimal host).
  local packages=(podman runc netavark aardvark-dns iptables docker-compose debootstrap systemd python3-yaml curl)
  command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
  # Debian's kubernetes-client ships /usr/bin/kubectl; keep a kubectl that is already there.
  command -v kubectl >/dev/null || packages+=(kubernetes-client)
  local missing=() p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    ok "installed ${missing[*]}"
  else
    ok "deployment tools already installed (${packages[*]})"
  fi
  mkdir -p "$cache_dir"
  # Podman needs explicit ulimits here, and runc: crun refuses this host's hybrid cgroup setup.
  cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
EOF
  podman --version >/dev/null || die "podman does not run"
  ok "$(podman --version), $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'), $(kubectl version --client 2>/dev/null | head -n 1)"

  # The host binaries serve the systemd, container, dotenv and compose-up stages.
  if wanted systemd || wanted container || wanted dotenv || wanted compose-up; then
    cmake -S . -B "$build_dir" -G Ninja >/dev/null
    cmake --build "$build_dir" --target coingecko-etl fake-coingecko -j "$(nproc)" >/dev/null
    [[ -x $build_dir/coingecko-etl && -x $build_dir/fake-coingecko ]] || die "host build missing binaries"
    ok "host build: $("$build_dir/coingecko-etl" --version)"
  else
    note "host build skipped (STAGES=$STAGES needs none)"
  fi
  passed prerequisites
}

# --- Kubernetes ------------------------------------------------------------------------------
stage_k8s() {
  needs prerequisites
  local variant out
  for variant in base servicemonitor cronjob backfill; do
    local dir=deploy/k8s
    [[ $variant == base ]] || dir=deploy/k8s/$variant
    out=$work/k8s-$variant.yaml
    # kustomize 5 warns (stderr) that bases: is deprecated; bases: is what kubectl 1.20 reads.
    kubectl kustomize "$dir" >"$out" 2>"$work/kustomize-$variant.err" ||
      die "kubectl kustomize $dir: $(cat "$work/kustomize-$variant.err")"
    grep -v -i "bases' is deprecated" "$work/kustomize-$variant.err" | grep -q . &&
      die "kubectl kustomize $dir printed: $(cat "$work/kustomize-$variant.err")"
    ok "kubectl kustomize $dir: $(grep -c '^kind:' "$out") objects"
  done
  # backfill/ is applied beside an installed variant (it uses that variant's ConfigMap, Secret and
  # ServiceAccount): validate it together with the Deployment and the CronJob variants.
  for variant in base cronjob; do
    { cat "$work/k8s-$variant.yaml" && echo --- && cat "$work/k8s-backfill.yaml"; } >"$work/k8s-$variant+backfill.yaml"
  done
  (cd tools/k8s-validate && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$work/npm.err") ||
    die "npm ci in tools/k8s-validate: $(tail -n 5 "$work/npm.err")"
  ok "validator installed (tools/k8s-validate, package-lock.json)"
  local rss_args=()
  if [[ -s $work/rss-kib ]]; then rss_args=(--measured-rss-kib "$(cat "$work/rss-kib")"); fi
  local v=(node tools/k8s-validate/validate.mjs --env-example .env.example "${rss_args[@]}")
  "${v[@]}" --expect ConfigMap,ServiceAccount,PersistentVolumeClaim,Job:migrate,Deployment:run,Service,PodDisruptionBudget,NetworkPolicy \
    "$work/k8s-base.yaml" | sed 's/^/  /'
  # The self-test breaks the Deployment and the backfill Job in known ways (security context,
  # command, secrets, retries, deadline, claim) and requires each break to be caught.
  "${v[@]}" --self-test --expect Deployment:run,Job:migrate,Job:backfill "$work/k8s-base+backfill.yaml" | sed 's/^/  /'
  "${v[@]}" --expect ServiceMonitor,Deployment:run "$work/k8s-servicemonitor.yaml" | sed 's/^/  /'
  "${v[@]}" --expect CronJob:once,Job:migrate "$work/k8s-cronjob.yaml" | sed 's/^/  /'
  "${v[@]}" --expect CronJob:once,Job:migrate,Job:backfill "$work/k8s-cronjob+backfill.yaml" | sed 's/^/  /'
  "${v[@]}" deploy/k8s/secret.example.yaml | sed 's/^/  /'
  ok "rendered manifests valid against the Kubernetes API schemas and the daemon's configuration"
  passed k8s
}

# --- systemd ---------------------------------------------------------------------------------
stage_systemd() {
  needs prerequisites
  local unit=deploy/systemd/coingecko-etl.service copy=$work/coingecko-etl.service
  # verify wants ExecStart's binary to exist: point a copy at the host build.
  grep -q '^ExecStart=/usr/local/bin/coingecko-etl run$' "$unit" || die "unexpected ExecStart in $unit"
  sed "s#^ExecStart=/usr/local/bin/coingecko-etl#ExecStart=$build_dir/coingecko-etl#" "$unit" >"$copy"
  systemd-analyze verify "$copy" >"$work/verify.out" 2>&1 || die "systemd-analyze verify: $(cat "$work/verify.out")"
  [[ ! -s $work/verify.out ]] || die "systemd-analyze verify printed: $(cat "$work/verify.out")"
  ok "systemd-analyze verify: no findings"
  local stop_sec
  stop_sec=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
  [[ -n $stop_sec ]] || die "TimeoutStopSec missing"
  (($(duration_s "$stop_sec") > shutdown_timeout_s)) || die "TimeoutStopSec=$stop_sec is not above SHUTDOWN_TIMEOUT"
  ok "TimeoutStopSec=$stop_sec > SHUTDOWN_TIMEOUT=${shutdown_timeout_s}s"
  grep -q '^Restart=on-failure$' "$unit" || die "Restart=on-failure missing"
  grep -q '^KillSignal=SIGTERM$' "$unit" || die "KillSignal=SIGTERM missing"
  ok "Restart=on-failure, KillSignal=SIGTERM"
  systemd-analyze security --offline=true --threshold=20 "$copy" >"$work/security.out" 2>&1 ||
    die "exposure above 2.0: $(tail -n 3 "$work/security.out")"
  ok "hardening: $(grep -o 'Overall exposure level.*' "$work/security.out")"
  passed systemd
}

# --- compose: static -------------------------------------------------------------------------
stage_compose_config() {
  needs prerequisites
  docker-compose -f docker-compose.yml config -q || die "docker-compose config failed"
  docker-compose -f docker-compose.yml --profile backfill config -q || die "docker-compose --profile backfill config failed"
  ok "docker-compose config and --profile backfill config (committed .env)"
  docker-compose -f docker-compose.yml config >"$work/compose.yaml"
  python3 - "$work/compose.yaml" "$shutdown_timeout_s" <<'EOF' || exit 1
import re, sys, yaml
c = yaml.safe_load(open(sys.argv[1])); shutdown = int(sys.argv[2]); s = c["services"]
problems = []
def secs(t):
    m = re.fullmatch(r"(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", str(t)); return int(m[1] or 0) * 60 + float(m[2] or 0)
if set(s) != {"etl", "postgres", "prometheus", "grafana", "backfill"}: problems.append(f"services: {sorted(s)}")
if "ports" in s["postgres"]: problems.append("postgres is published on the host")
for name, svc in s.items():
    if name == "backfill": continue  # a one-off, checked below
    if svc.get("restart") not in ("unless-stopped", "always", "on-failure"): problems.append(f"{name}: no restart policy")
    for p in svc.get("ports", []):
        if not str(p).startswith("127.0.0.1:"): problems.append(f"{name}: port {p} not bound to 127.0.0.1")
if s["etl"]["depends_on"]["postgres"]["condition"] != "service_healthy": problems.append("etl does not wait for a healthy postgres")
if secs(s["etl"]["stop_grace_period"]) <= shutdown: problems.append("etl stop_grace_period not above SHUTDOWN_TIMEOUT")
for name in ("etl", "postgres"):
    if "healthcheck" not in s[name]: problems.append(f"{name}: no healthcheck")
if "/healthz" not in " ".join(s["etl"]["healthcheck"]["test"]): problems.append("etl healthcheck is not /healthz")
if "pg_isready" not in " ".join(s["postgres"]["healthcheck"]["test"]): problems.append("postgres healthcheck is not pg_isready")
if not any(str(v).startswith("pgdata:") for v in s["postgres"]["volumes"]): problems.append("postgres data not on the named volume")
vols = " ".join(map(str, s["prometheus"]["volumes"]))
if "alerts.yml:/etc/prometheus/alerts.yml" not in vols or "prometheus.yml:/etc/prometheus/prometheus.yml" not in vols: problems.append("prometheus does not mount prometheus.yml and alerts.yml")
gvols = " ".join(map(str, s["grafana"]["volumes"]))
if "deploy/grafana/provisioning:/etc/grafana/provisioning" not in gvols: problems.append("grafana provisioning not mounted")
for name in ("etl", "backfill"):
    if not s[name].get("read_only") or "ALL" not in s[name].get("cap_drop", []): problems.append(f"{name} not read-only with all capabilities dropped")
    if "no-new-privileges:true" not in s[name].get("security_opt", []): problems.append(f"{name} without no-new-privileges")
# The backfill: a one-off in its own profile, the etl service's image and settings, the etl-data
# volume (data/raw/history), health-gated on postgres, never restarted, no ports.
b, e = s["backfill"], s["etl"]
if b.get("profiles") != ["backfill"]: problems.append("backfill is not (only) in the backfill profile")
for name, svc in s.items():
    if name != "backfill" and svc.get("profiles"): problems.append(f"{name} is in a profile: `docker compose up` would not start it")
if b.get("image") != e.get("image"): problems.append("backfill does not use the etl image")
if list(b.get("entrypoint") or [])[-2:] != ["/usr/local/bin/coingecko-etl", "backfill"] or "/usr/bin/tini" not in (b.get("entrypoint") or []):
    problems.append(f"backfill entrypoint is not tini + coingecko-etl backfill: {b.get('entrypoint')}")
if b.get("command"): problems.append(f"backfill has a default command {b['command']} (flags come from `run --rm backfill FLAGS`)")
if {k: v for k, v in (b.get("environment") or {}).items() if k != "LOG_DIR"} != (e.get("environment") or {}):
    problems.append("backfill's variables differ from the etl service's (other than LOG_DIR)")
if not str((b.get("environment") or {}).get("LOG_DIR", "")).startswith("/tmp/"): problems.append("backfill would share the daemon's etl.log")
if b.get("depends_on", {}).get("postgres", {}).get("condition") != "service_healthy": problems.append("backfill does not wait for a healthy postgres")
data_mounts = lambda svc: {str(v).rsplit(":", 1)[0] if str(v).endswith((":rw", ":ro")) else str(v) for v in svc.get("volumes", []) if str(v).startswith("etl-data:")}
if not data_mounts(b) or data_mounts(b) != data_mounts(e): problems.append(f"backfill does not mount etl-data where etl does: {data_mounts(b)} vs {data_mounts(e)}")
if b.get("restart", "no") != "no": problems.append("backfill must not be restarted (restart: \"no\")")
if "ports" in b: problems.append("backfill publishes ports")
if (b.get("healthcheck") or {}).get("test") not in (["NONE"], "NONE") and not (b.get("healthcheck") or {}).get("disable"): problems.append("backfill keeps the image's /healthz check (no HTTP server in backfill)")
if secs(b.get("stop_grace_period", "10s")) <= shutdown: problems.append("backfill stop_grace_period not above SHUTDOWN_TIMEOUT")
env = s["etl"]["environment"]
if env.get("POSTGRES_HOST") != "postgres": problems.append("etl does not use the postgres service")
# Each service gets only its own variables: Grafana's login reaches no other container.
for name, svc in s.items():
    keys = set((svc.get("environment") or {}).keys())
    foreign = {k for k in keys if k.startswith(("GF_", "GRAFANA_"))} if name != "grafana" else set()
    if name == "postgres": foreign |= {k for k in keys if not k.startswith("POSTGRES_")}
    if name == "prometheus": foreign |= keys
    if foreign: problems.append(f"{name} gets variables of another service: {sorted(foreign)}")
if "GF_SECURITY_ADMIN_PASSWORD" not in (s["grafana"].get("environment") or {}): problems.append("grafana has no admin password")
for p in problems: print(f"  FAIL {p}")
if problems: sys.exit(1)
print("  ok   backfill: own profile, etl image and variables, etl-data volume, health-gated on postgres, no restart, no health check")
print("  ok   each service gets only its own variables, postgres unpublished, health-gated depends_on, stop_grace_period %s > SHUTDOWN_TIMEOUT %ss, restart policies, loopback-only ports, alerts.yml and Grafana provisioning mounted" % (s["etl"]["stop_grace_period"], shutdown))
EOF
  # Without the credentials compose must refuse to start rather than run a passwordless database.
  if env -u POSTGRES_PASSWORD docker-compose --env-file /dev/null -f docker-compose.yml config -q >/dev/null 2>&1; then
    die "docker-compose config accepted a missing POSTGRES_PASSWORD"
  fi
  ok "a missing POSTGRES_PASSWORD is refused"
  promtool check config deploy/prometheus/prometheus.yml >"$work/promtool.out" 2>&1 ||
    die "promtool check config: $(cat "$work/promtool.out")"
  grep -q 'SUCCESS: 1 rule files found' "$work/promtool.out" || die "prometheus.yml does not load alerts.yml"
  ok "promtool check config deploy/prometheus/prometheus.yml (loads alerts.yml)"
  if [[ -d deploy/grafana/provisioning && -f deploy/grafana/dashboards/coingecko-etl.json ]]; then
    ok "Grafana provisioning and dashboard present"
  else
    die "deploy/grafana/provisioning or deploy/grafana/dashboards/coingecko-etl.json missing (mounted by docker-compose.yml)"
  fi
  passed compose-config
}

# --- base images -----------------------------------------------------------------------------
# The Debian mirror this machine's apt uses (deb822 or one-line sources), for debootstrap.
debian_mirror() {
  python3 - <<'EOF'
import glob, re
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
    try: text = open(path).read()
    except OSError: continue
    for stanza in re.split(r"\n\s*\n", text):
        uris = re.findall(r"^URIs:\s*(\S+)", stanza, re.M); suites = re.findall(r"^Suites:\s*(.+)$", stanza, re.M)
        if uris and suites and "bookworm" in suites[0].split(): print(uris[0]); raise SystemExit
    for line in text.splitlines():
        m = re.match(r"deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+bookworm\s", line)
        if m: print(m[1]); raise SystemExit
print("http://deb.debian.org/debian")
EOF
}

stage_base_images() {
  needs prerequisites
  local tarball=$cache_dir/debian-bookworm-minbase.tar
  if [[ ${REFRESH_BASE:-0} == 1 || ! -s $tarball ]]; then
    local mirror rootfs=$cache_dir/rootfs
    mirror=$(debian_mirror)
    note "debootstrap --variant=minbase bookworm from $mirror (cached in $tarball)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
      die "debootstrap failed: $(tail -n 5 "$work/debootstrap.log")"
    # Like the official image: deb822 sources with updates and security, no package lists.
    rm -f "$rootfs/etc/apt/sources.list"
    local security=${mirror%/debian}/debian-security
    cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
    podman rmi -f localhost/debian:bookworm >/dev/null 2>&1 || true
  fi
  if ! podman image exists localhost/debian:bookworm; then
    podman import --change 'CMD ["bash"]' "$tarball" localhost/debian:bookworm >/dev/null
  fi
  # The Dockerfile says FROM debian:bookworm / debian:bookworm-slim (Docker Hub for real users).
  podman tag localhost/debian:bookworm docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim
  podman run --rm --pull=never docker.io/library/debian:bookworm-slim cat /etc/debian_version >"$work/debver"
  ok "debian:bookworm and debian:bookworm-slim from the debootstrap base (Debian $(cat "$work/debver"))"
  passed base-images
}

# --- image -----------------------------------------------------------------------------------
stage_image() {
  needs base-images
  # What the build context holds (after .dockerignore): nothing private, nothing generated.
  printf 'FROM docker.io/library/debian:bookworm-slim\nCOPY . /ctx\n' >"$work/context.Containerfile"
  podman build -q --pull=never -f "$work/context.Containerfile" -t localhost/coingecko-etl-context:proof . >/dev/null
  podman run --rm --pull=never localhost/coingecko-etl-context:proof find /ctx -mindepth 1 -maxdepth 1 -printf '%f\n' |
    sort >"$work/context.list"
  podman rmi -f localhost/coingecko-etl-context:proof >/dev/null 2>&1 || true
  local entry
  for entry in .env .git data logs build tests bench fuzz .local; do
    grep -qx -- "$entry" "$work/context.list" && die "build context contains $entry"
  done
  grep -qx migrations "$work/context.list" || die "build context lacks migrations/"
  ok "build context: $(paste -sd' ' "$work/context.list") (no .env, .git, data, logs, build trees)"

  local version revision
  version=$(sed -n 's/^project(coingecko-etl VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
  revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
  note "podman build (version $version, revision $revision); the compile takes several minutes"
  local t0=$SECONDS
  podman build --pull=never --format docker --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" -t "$image" . >"$work/build.log" 2>&1 ||
    die "podman build failed: $(tail -n 20 "$work/build.log")"
  ok "podman build --format docker -t $image ($((SECONDS - t0))s, $(podman image inspect -f '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1/1e6}'))"

  f() { podman image inspect -f "$1" "$image"; }
  [[ $(f '{{index .Labels "org.opencontainers.image.version"}}') == "$version" ]] || die "version label"
  [[ $(f '{{index .Labels "org.opencontainers.image.revision"}}') == "$revision" ]] || die "revision label"
  # (podman logs that it cannot reach systemd to schedule the image's HEALTHCHECK: stderr.)
  podman run --rm --pull=never "$image" --version 2>/dev/null | grep -qx "coingecko-etl $version ($revision)" ||
    die "--version does not match the labels"
  ok "OCI labels version=$version revision=$revision match coingecko-etl --version"
  [[ $(f '{{.Config.User}}') == 10001:10001 ]] || die "USER is $(f '{{.Config.User}}')"
  [[ $(f '{{.Config.StopSignal}}') == SIGTERM ]] || die "STOPSIGNAL is $(f '{{.Config.StopSignal}}')"
  f '{{json .Config.ExposedPorts}}' | grep -q '"8080/tcp"' || die "8080 not exposed"
  f '{{json .Config.Volumes}}' | grep -q '/var/lib/coingecko-etl' || die "data volume missing"
  f '{{json .Config.Volumes}}' | grep -q '/var/log/coingecko-etl' || die "log volume missing"
  f '{{json .Config.Entrypoint}}' | grep -q '"/usr/bin/tini","--"' || die "tini is not the entrypoint"
  podman inspect --type image -f '{{json .Config.Healthcheck}}' "$image" | grep -q '/healthz' || die "no HEALTHCHECK on /healthz"
  ok "USER 10001:10001, STOPSIGNAL SIGTERM, EXPOSE 8080, VOLUMEs data+logs, tini entrypoint, HEALTHCHECK /healthz"
  if f '{{json .Config.Env}}' | grep -E -q 'PASSWORD|API_KEY|DATABASE_URL'; then die "secret-like variable in the image environment"; fi

  # Contents: no compiler or -dev package, no .env, no source, the migrations, owned volumes.
  podman run --rm --pull=never --entrypoint /bin/sh "$image" -c '
    set -e
    for tool in cc gcc g++ c++ clang cmake make ninja ld; do
      if command -v "$tool" >/dev/null; then echo "compiler tool $tool present"; exit 1; fi
    done
    if dpkg-query -W -f "\${Package}\n" | grep -E -- "-dev$|^build-essential$|^gcc-12$"; then echo "dev packages present"; exit 1; fi
    if [ -n "$(find / -xdev \( -name ".env" -o -name ".env.*" -o -name "*.cpp" -o -name "CMakeLists.txt" \) -print -quit)" ]; then
      echo "source or .env file in the image"; exit 1
    fi
    ls /usr/share/coingecko-etl/migrations/0001_*.sql >/dev/null
    [ "$(stat -c %u:%g /var/lib/coingecko-etl)" = 10001:10001 ] && [ "$(stat -c %u:%g /var/log/coingecko-etl)" = 10001:10001 ]
    [ ! -w /usr/share/coingecko-etl ]
  ' >"$work/contents.out" 2>&1 || die "image contents: $(cat "$work/contents.out")"
  ok "no compiler, no -dev package, no source, no .env; migrations shipped; volumes owned by 10001; workdir read-only"
  # The committed .env's values must not be anywhere in the image's files.
  local mnt secret_values
  secret_values=$(sed -n 's/^[A-Z_]*PASSWORD=//p' .env)
  mnt=$(podman image mount "$image")
  local v
  for v in $secret_values; do
    if grep -r -I -l -F -- "$v" "$mnt" 2>/dev/null | head -n 1 | grep -q .; then
      podman image unmount "$image" >/dev/null
      die "a .env password appears in the image"
    fi
  done
  podman image unmount "$image" >/dev/null
  ok "no .env password in any file of the image"
  passed image
}

# --- container -------------------------------------------------------------------------------
stage_container() {
  needs image
  local pg_dir=$work/pg pg_port fake_port http_port
  pg_port=$(free_port)
  echo "$pg_dir" >"$work/pg-dir"
  bash scripts/pg-test-cluster.sh start "$pg_dir" "$pg_port" >/dev/null || die "test PostgreSQL did not start"
  ok "test PostgreSQL on 127.0.0.1:$pg_port"
  "$build_dir/fake-coingecko" --port 0 --fixture "$fixture" --max-seconds 600 >"$work/fake.log" 2>&1 &
  echo $! >"$work/fake.pid"
  wait_until 10 "fake listening" grep -q '^LISTENING' "$work/fake.log" || die "fake-coingecko did not start"
  fake_port=$(awk '/^LISTENING/ {print $2; exit}' "$work/fake.log")
  http_port=$(free_port)
  # A password file, as a mounted secret would be (the test cluster trusts local connections,
  # so its value only proves the non-root daemon can read *_FILE secrets).
  head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$work/pg-password"
  chmod 0444 "$work/pg-password"

  # Host network: fake-coingecko and the test cluster listen on 127.0.0.1 only. Read-only root
  # and no capabilities, as in the Kubernetes manifests.
  podman rm -f -t 0 "$run_name" >/dev/null 2>&1 || true
  podman run -d --pull=never --name "$run_name" --network host --read-only --cap-drop ALL \
    --security-opt no-new-privileges \
    -v "$work/pg-password:/run/secrets/pg-password:ro" \
    -e POSTGRES_HOST=127.0.0.1 -e POSTGRES_PORT="$pg_port" -e POSTGRES_USER=postgres \
    -e POSTGRES_DB=coingecko_test -e POSTGRES_PASSWORD_FILE=/run/secrets/pg-password \
    -e COINGECKO_URL="http://127.0.0.1:$fake_port/api/v3/coins/markets" \
    -e POLL_INTERVAL=2s -e RATE_LIMIT_PER_MINUTE=600 -e HTTP_ADDR="127.0.0.1:$http_port" \
    "$image" >/dev/null 2>"$work/run.err" || die "podman run failed: $(cat "$work/run.err")"
  ok "container $run_name started (--read-only --cap-drop ALL --network host)"
  wait_until 30 healthz http_is 200 "http://127.0.0.1:$http_port/healthz" ||
    die "/healthz did not answer 200: $(podman logs --tail 20 "$run_name" 2>&1)"
  ok "/healthz answers 200"
  local sql=(/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p "$pg_port" -U postgres -d coingecko_test -tAq)
  rows() { "${sql[@]}" -c 'SELECT count(*) FROM coin_market' 2>/dev/null; }
  wait_until 60 rows rows_above 0 rows || die "no rows in coin_market: $(podman logs --tail 20 "$run_name" 2>&1)"
  ok "rows arrive in coin_market ($(rows)); etl_runs: $("${sql[@]}" -c "SELECT count(*) FROM etl_runs WHERE status = 'loaded'") loaded"
  wait_until 30 readyz http_is 200 "http://127.0.0.1:$http_port/readyz" || die "/readyz not 200"
  ok "/readyz answers 200"
  curl -s "http://127.0.0.1:$http_port/metrics" | grep -q '^coingecko_etl_build_info' || die "/metrics lacks build_info"
  ok "/metrics serves coingecko_etl_* metrics"
  [[ -n $(podman exec "$run_name" sh -c 'ls /var/lib/coingecko-etl/raw') ]] || die "no raw files in the data volume"
  ok "raw responses spooled in the /var/lib/coingecko-etl volume"

  # Identity: PID 1 is tini, its child the daemon, both uid/gid 10001 (seen from the host).
  [[ $(podman exec "$run_name" id -u) == 10001 ]] || die "exec runs as $(podman exec "$run_name" id -u)"
  local pid1 child
  pid1=$(podman inspect -f '{{.State.Pid}}' "$run_name")
  child=$(pgrep -P "$pid1" | head -n 1)
  [[ $(cat "/proc/$pid1/comm") == tini ]] || die "PID 1 is $(cat "/proc/$pid1/comm"), not tini"
  [[ $(cat "/proc/$child/comm") == coingecko-etl ]] || die "tini's child is $(cat "/proc/$child/comm")"
  local p
  for p in "$pid1" "$child"; do
    awk '/^Uid:|^Gid:/ { for (i = 2; i <= 5; i++) if ($i != 10001) exit 1 }' "/proc/$p/status" ||
      die "process $p does not run as 10001: $(grep -E '^(Uid|Gid):' "/proc/$p/status")"
  done
  grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$child/status" || die "daemon has capabilities"
  ok "tini (PID 1) and coingecko-etl run as uid/gid 10001 with no capabilities"
  grep -E '^(VmHWM|VmRSS)' "/proc/$child/status" | tr -s ' \t\n' ' ' | sed 's/^/  ..   container daemon memory: /'
  echo
  awk '/^VmHWM:/ {print $2}' "/proc/$child/status" >"$work/rss-kib"

  # Graceful stop: SIGTERM (STOPSIGNAL) through tini, exit 0 well inside the grace period.
  local grace=$((shutdown_timeout_s + 5)) t0 elapsed_ms code
  t0=$(date +%s%N)
  podman stop -t "$grace" "$run_name" >/dev/null 2>&1 || die "podman stop failed"
  elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
  code=$(podman inspect -f '{{.State.ExitCode}}' "$run_name")
  [[ $code == 0 ]] || die "exit code $code after podman stop: $(podman logs --tail 10 "$run_name" 2>&1)"
  ((elapsed_ms < grace * 1000)) || die "stop took ${elapsed_ms} ms (grace ${grace}s): SIGKILLed"
  podman logs "$run_name" 2>&1 | tail -n 5 | grep -q 'stopped' || die "no 'stopped' log line"
  ok "podman stop -t $grace: exit code 0 after ${elapsed_ms} ms"
  if podman logs "$run_name" 2>&1 | grep -q -F -- "$(cat "$work/pg-password")"; then die "the password appears in the logs"; fi
  ok "the *_FILE password never appears in the logs"
  podman rm -f -t 0 "$run_name" >/dev/null 2>&1
  passed container
}

# --- .env at the repository root -------------------------------------------------------------
stage_dotenv() {
  needs container
  local allowed=" POSTGRES_USER POSTGRES_PASSWORD POSTGRES_DB " name
  for name in $(sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' .env); do
    [[ $allowed == *" $name "* ]] || die ".env sets $name: only local-development credentials belong there"
  done
  ok ".env holds only local-development credentials ($(sed -n 's/^\([A-Z_]*\)=.*/\1/p' .env | paste -sd' '))"
  grep -q '^  export DATABASE_URL$' scripts/run-local.sh || die "scripts/run-local.sh no longer exports DATABASE_URL"
  # scripts/run-local.sh runs the daemon in the repository root with DATABASE_URL exported:
  # the .env there is read, and the URL must win over its POSTGRES_* values.
  local dir=$work/dotenv pg_port fake_port
  mkdir -p "$dir" && cp .env "$dir/.env"
  pg_port=$(sed -n 4p "$(cat "$work/pg-dir")/pgdata/postmaster.pid")
  fake_port=$(awk '/^LISTENING/ {print $2; exit}' "$work/fake.log")
  local url="postgresql://postgres@127.0.0.1:$pg_port/coingecko_test"
  (cd "$dir" && env -i PATH=/usr/bin:/bin DATABASE_URL="$url" "$build_dir/coingecko-etl" check-config) >"$dir/config.out" 2>&1 ||
    die "check-config with the committed .env: $(cat "$dir/config.out")"
  grep -qx "DATABASE_URL=$url" "$dir/config.out" || die "DATABASE_URL not effective"
  (cd "$dir" && env -i PATH=/usr/bin:/bin DATABASE_URL="$url" MIGRATIONS_DIR="$root/migrations" \
    COINGECKO_URL="http://127.0.0.1:$fake_port/api/v3/coins/markets" DATA_DIR="$dir/data" LOG_DIR="$dir/logs" \
    "$build_dir/coingecko-etl" once) >"$dir/once.out" 2>&1 || die "once with the committed .env: $(tail -n 5 "$dir/once.out")"
  ok "with the committed .env in the working directory and DATABASE_URL exported (run-local.sh), the daemon loads a tick"
  passed dotenv
}

# --- compose up ------------------------------------------------------------------------------
compose() { DOCKER_HOST=unix://$work/podman.sock docker-compose -p "$project" "${compose_files[@]}" "$@"; }
compose_teardown() {
  # The fake and a backfill run share the daemon's network namespace: remove them first, podman
  # refuses otherwise.
  podman ps -a -q --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=backfill" |
    xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
  if [[ -S $work/podman.sock ]]; then
    compose rm -f -s fake-coingecko >/dev/null 2>&1 || true
    compose down -v -t 30 >/dev/null 2>&1 || true
  fi
  podman ps -a -q --filter "label=com.docker.compose.project=$project" | xargs -r podman rm -f -t 0 >/dev/null 2>&1 || true
  podman volume ls -q --filter "label=com.docker.compose.project=$project" | xargs -r podman volume rm -f >/dev/null 2>&1 || true
  podman network rm -f "${project}_default" >/dev/null 2>&1 || true
}

stage_compose_up() {
  needs image compose-config
  compose_teardown # a previous interrupted run
  # Stand-ins for registry images (no registry reachable here), tagged as docker-compose.yml names
  # them; the daemon image is the one built above. Grafana has no Debian package: not started.
  local ctx=$work/proof-context
  mkdir -p "$ctx"
  cp tests/deploy/postgres-entrypoint.sh "$ctx/"
  cp "$(command -v prometheus)" "$ctx/prometheus"
  cp "$build_dir/fake-coingecko" "$ctx/"
  cp "$fixture" "$ctx/fixture.json"
  local pg_image prom_image
  pg_image=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open("docker-compose.yml"))["services"]["postgres"]["image"])')
  prom_image=$(python3 -c 'import sys,yaml; print(yaml.safe_load(open("docker-compose.yml"))["services"]["prometheus"]["image"])')
  podman build -q --pull=never -f tests/deploy/postgres.Containerfile -t "docker.io/library/$pg_image" "$ctx" >"$work/pg-image.log" 2>&1 ||
    die "postgres stand-in build: $(tail -n 10 "$work/pg-image.log")"
  podman build -q --pull=never -f tests/deploy/prometheus.Containerfile -t "docker.io/$prom_image" "$ctx" >"$work/prom-image.log" 2>&1 ||
    die "prometheus stand-in build: $(tail -n 10 "$work/prom-image.log")"
  podman build -q --pull=never --format docker --build-arg ETL_IMAGE="$image" -f tests/deploy/fake-coingecko.Containerfile \
    -t "$fake_image" "$ctx" >"$work/fake-image.log" 2>&1 || die "fake image build: $(tail -n 10 "$work/fake-image.log")"
  ok "stand-ins built: $pg_image (Debian postgresql-15), $prom_image (Debian prometheus $(prometheus --version 2>&1 | awk 'NR==1 {print $3}')), fake-coingecko"

  # docker-compose talks to podman's Docker-compatible API. Podman runs health checks from
  # systemd timers, and systemd is not PID 1 here: a loop runs them instead, every 2 s.
  podman system service --time=0 "unix://$work/podman.sock" >"$work/podman-service.log" 2>&1 &
  echo $! >"$work/podman-service.pid"
  wait_until 20 "podman socket" test -S "$work/podman.sock" || die "podman system service did not start"
  (
    while true; do
      for c in $(podman ps -q --filter "label=com.docker.compose.project=$project" 2>/dev/null); do
        podman healthcheck run "$c" >/dev/null 2>&1 || true
      done
      sleep 2
    done
  ) &
  echo $! >"$work/health-pump.pid"
  local etl_port prom_port
  etl_port=$(free_port)
  prom_port=$(free_port)
  local grafana_port
  grafana_port=$(free_port)
  export ETL_IMAGE=$image ETL_HTTP_PORT=$etl_port PROMETHEUS_PORT=$prom_port GRAFANA_PORT=$grafana_port
  local rc=0
  DOCKER_HOST=unix://$work/podman.sock timeout 300 docker-compose -p "$project" "${compose_files[@]}" \
    up -d --no-build etl postgres prometheus fake-coingecko >"$work/compose-up.log" 2>&1 || rc=$?
  ((rc == 0)) || die "docker-compose up failed: $(tail -n 20 "$work/compose-up.log")"
  ok "docker-compose up -d etl postgres prometheus (+ fake-coingecko): etl started only after postgres was healthy"
  local c_etl=${project}_etl_1 c_pg=${project}_postgres_1
  [[ $(podman inspect -f '{{.State.Health.Status}}' "$c_pg") == healthy ]] || die "postgres not healthy"
  [[ -z $(podman port "$c_pg") ]] || die "postgres is published: $(podman port "$c_pg")"
  ok "postgres healthy (pg_isready) and not published on the host"
  wait_until 30 healthz http_is 200 "http://127.0.0.1:$etl_port/healthz" ||
    die "etl /healthz not 200: $(podman logs --tail 20 "$c_etl" 2>&1)"
  podman healthcheck run "$c_etl" >/dev/null || die "the etl HEALTHCHECK fails"
  ok "etl /healthz 200 on 127.0.0.1:$etl_port; its HEALTHCHECK (curl /healthz) passes"
  count() { podman exec "$c_pg" psql -U coingecko -d coingecko -tAq -c 'SELECT count(*) FROM coin_market' 2>/dev/null; }
  wait_until 60 rows rows_above 0 count || die "no rows in the compose database: $(podman logs --tail 20 "$c_etl" 2>&1)"
  ok "rows in the compose PostgreSQL ($(count)), loaded with the .env credentials (scram)"
  wait_until 30 readyz http_is 200 "http://127.0.0.1:$etl_port/readyz" || die "etl /readyz not 200"
  ok "etl /readyz 200"
  local alerts
  alerts=$(grep -c '^\s*- alert:' deploy/prometheus/alerts.yml)
  up_ok() { curl -s "http://127.0.0.1:$prom_port/api/v1/query?query=up%7Bjob%3D%22coingecko-etl%22%7D" | grep -q '"value":\[[0-9.]*,"1"\]'; }
  wait_until 60 scrape up_ok || die "Prometheus does not scrape the daemon: $(curl -s "http://127.0.0.1:$prom_port/api/v1/targets")"
  curl -s "http://127.0.0.1:$prom_port/api/v1/rules" | python3 -c "
import json, sys
groups = json.load(sys.stdin)['data']['groups']
n = sum(len(g['rules']) for g in groups if g['name'] == 'coingecko-etl')
sys.exit(0 if n == $alerts else f'{n} rules loaded, alerts.yml has $alerts')" || die "alert rules not loaded"
  ok "Prometheus scrapes job coingecko-etl (up == 1) and loaded the $alerts rules of alerts.yml"

  # The backfill profile, as the README runs it: flags after the service name, then settings
  # only (no flags: the command must be exactly `backfill`). Same database, etl-data volume.
  local bf_log=$work/compose-backfill.log t0=$SECONDS
  timeout 300 env DOCKER_HOST="unix://$work/podman.sock" docker-compose -p "$project" "${compose_files[@]}" \
    --profile backfill run --rm -T backfill --coins bitcoin,ethereum --days 30 >"$bf_log" 2>&1 ||
    die "docker-compose --profile backfill run --rm backfill --coins bitcoin,ethereum --days 30: $(tail -n 20 "$bf_log")"
  history_rows() { # history_rows COIN
    podman exec "$c_pg" psql -U coingecko -d coingecko -tAq -c "SELECT count(*) FROM coin_history WHERE coin_id = '$1'" 2>/dev/null
  }
  rows_above 0 history_rows bitcoin && rows_above 0 history_rows ethereum ||
    die "no coin_history rows for bitcoin and ethereum: $(tail -n 20 "$bf_log")"
  ok "docker-compose --profile backfill run --rm backfill --coins bitcoin,ethereum --days 30: exit 0 in $((SECONDS - t0))s, coin_history bitcoin $(history_rows bitcoin), ethereum $(history_rows ethereum) rows"
  t0=$SECONDS
  timeout 300 env DOCKER_HOST="unix://$work/podman.sock" docker-compose -p "$project" "${compose_files[@]}" \
    --profile backfill run --rm -T -e BACKFILL_COINS=tether -e BACKFILL_DAYS=7 backfill >"$bf_log" 2>&1 ||
    die "docker-compose --profile backfill run --rm -e BACKFILL_COINS=tether backfill: $(tail -n 20 "$bf_log")"
  rows_above 0 history_rows tether || die "no coin_history rows for tether: $(tail -n 20 "$bf_log")"
  ok "without flags (BACKFILL_COINS=tether BACKFILL_DAYS=7): exit 0 in $((SECONDS - t0))s, $(history_rows tether) rows"
  [[ -n $(podman exec "$c_etl" sh -c 'ls /var/lib/coingecko-etl/raw/history/bitcoin/usd /var/lib/coingecko-etl/raw/history/tether/usd') ]] ||
    die "no raw history bodies in the etl-data volume"
  ok "raw history bodies in the etl-data volume (raw/history/<coin>/usd/), seen from the etl container"

  # docker-compose stop uses stop_grace_period (30s): the daemon must exit 0 well before.
  local t0 elapsed code
  t0=$SECONDS
  compose stop etl >"$work/compose-stop.log" 2>&1 || die "docker-compose stop etl: $(cat "$work/compose-stop.log")"
  elapsed=$((SECONDS - t0))
  code=$(podman inspect -f '{{.State.ExitCode}}' "$c_etl")
  [[ $code == 0 ]] || die "etl exit code $code after docker-compose stop"
  ((elapsed < 30)) || die "stop took ${elapsed}s"
  ok "docker-compose stop etl: exit code 0 after ${elapsed}s (stop_grace_period 30s)"
  compose_teardown
  ok "stack removed (docker-compose down -v)"
  passed compose-up
}

# --- main ------------------------------------------------------------------------------------
echo "coingecko-etl deployment proof; work directory $work"
run_stage "prerequisites" stage_prerequisites
maybe_stage k8s "k8s: kustomize + schema/contract validation (first pass, without measured RSS)" stage_k8s
maybe_stage systemd "systemd: verify + hardening" stage_systemd
maybe_stage compose-config "compose: docker-compose config" stage_compose_config
maybe_stage base-images "base images: debootstrap debian:bookworm(-slim)" stage_base_images
maybe_stage image "image: podman build" stage_image
maybe_stage container "container: podman run against fake-coingecko + PostgreSQL" stage_container
maybe_stage dotenv "dotenv: committed .env vs scripts/run-local.sh" stage_dotenv
maybe_stage compose-up "compose: up with podman" stage_compose_up
if [[ -s $work/rss-kib ]] && wanted k8s; then
  rm -f "$work/stage-k8s.ok"
  run_stage "k8s: resources against the measured RSS ($(cat "$work/rss-kib") KiB)" stage_k8s
fi

echo
echo "=== summary ($((SECONDS - started_at))s)"
for line in "${summary[@]}"; do echo "  $line"; done
if ((failed)); then
  echo "DEPLOY PROOF: FAIL"
  exit 1
fi
if ((skipped)); then
  echo "DEPLOY PROOF: PARTIAL PASS (STAGES=$STAGES)"
  exit 0
fi
echo "DEPLOY PROOF: PASS"
