"""Issue 4 acceptance: signals that tell the truth, on a PostgreSQL cluster of this test's own.

1. /metrics passes `promtool check metrics` at start-up, after scripted CoinGecko failures (429,
   5xx, 401, an HTML page, a non-JSON body) and a success, and while the database is down; no
   label takes a value outside its fixed set, and no series appears that was not there at
   start-up (bounded cardinality).
2. PostgreSQL stopped: /readyz turns 503 naming the database within one poll interval (plus the
   tick's own work), /healthz stays 200 throughout, /status and the metrics say why; PostgreSQL
   back: /readyz returns to 200 and the backlog drains.
3. LOG_FORMAT=json: every line is one JSON object with ts, level, msg; the per-snapshot load
   line, the tick line, fetch failures and rejected bodies carry the stable fields
   (snapshot_id, stage, duration_ms, error_kind, pages, coins, inserted, unchanged, rejected).
4. GET /status: version, revision, uptime, the config with secrets redacted, the last tick per
   stage, the backlog, db_up, last load time.
The shared test cluster is never touched; the private one is stopped and removed at the end.
"""
import json
import os
import re
import signal
import subprocess
import time

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json"
INTERVAL_S = 1.0
SLACK_S = 1.0  # the tick's own work (fetch + failed load) and this test's polling period
PASSWORD = "obs-pw-Zq7"  # trust auth ignores it; it must still never be shown anywhere

# Every labelled family and the only values its label may take ("other" absorbs caller bugs).
ALLOWED = {
    "coingecko_etl_ticks_total": ("result", {"success", "partial", "failed", "skipped", "other"}),
    "coingecko_etl_stage_duration_seconds": ("stage", {"fetch", "spool", "transform", "load", "other"}),
    "coingecko_etl_http_requests_total": ("code", {"2xx", "3xx", "4xx", "429", "5xx", "none", "other"}),
    "coingecko_etl_http_failures_total": ("reason", {"rate_limited", "server_error", "unauthorized", "client_error",
                                                     "transport", "too_large", "cancelled", "other"}),
    "coingecko_etl_wait_seconds_total": ("cause", {"rate_limit", "retry_after", "backoff", "other"}),
    "coingecko_etl_bodies_rejected_total": ("kind", {"empty", "html", "not_json", "truncated", "error_object",
                                                     "not_array", "other"}),
    "coingecko_etl_load_errors_total": ("kind", {"unavailable", "rejected", "refused", "internal", "other"}),
    "coingecko_etl_http_server_connections_closed_total": ("reason", {"limit", "deadline", "too_large", "other"}),
}
BUCKETS = {"0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60", "+Inf"}
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def series(text):
    """{(name, ((label, value), ...)): value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            h.fail(f"unparseable exposition line: {line!r}")
        labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def label_problems(text, version):
    """Labels outside the fixed sets; [] when every one is allowed."""
    problems = []
    for (name, labels), _ in series(text).items():
        if not name.startswith("coingecko_etl_") and not name.startswith("process_"):
            problems.append(f"unexpected metric {name}")
            continue
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        labels = dict(labels)
        if name.endswith("_bucket"):
            if labels.pop("le", None) not in BUCKETS:
                problems.append(f"{name}: bucket outside the fixed boundaries")
        if name == "coingecko_etl_build_info":
            if set(labels) != {"version", "revision"} or labels["version"] != version:
                problems.append(f"build_info labels {labels}")
            continue
        if base in ALLOWED:
            key, values = ALLOWED[base]
            if set(labels) != {key} or labels[key] not in values:
                problems.append(f"{name}{labels}")
        elif labels:
            problems.append(f"{name} has labels {labels} but no fixed set is known for it")
    return problems


def check_metrics(d, when, version, startup_keys=None):
    text = d.get("/metrics")[1]
    code, out = h.promtool_check(text)
    h.check(code == 0, f"promtool check metrics passes {when} ({out[:300]})")
    problems = label_problems(text, version)
    h.check(not problems, f"every label takes a value from its fixed set {when} ({problems[:5]})")
    keys = set(series(text))
    if startup_keys is not None:
        new = sorted(k for k in keys - startup_keys)
        h.check(not new, f"no series appeared {when} that did not exist at start-up ({new[:3]})")
    return text, keys


def json_lines(path):
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    docs, bad = [], []
    for line in lines:
        try:
            doc = json.loads(line)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
            docs.append(doc)
        except ValueError:
            bad.append(line)
    return lines, docs, bad


def check_json_logs(path, what):
    lines, docs, bad = json_lines(path)
    h.check(lines and not bad, f"{what}: every line is one JSON object ({len(lines)} lines; not JSON: {bad[:2]})")
    ts = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    malformed = [d for d in docs if not (isinstance(d.get("msg"), str) and d.get("level") in
                                         ("trace", "debug", "info", "warning", "error", "critical")
                                         and ts.match(str(d.get("ts", ""))))]
    h.check(not malformed, f"{what}: every line has ts (UTC), level and msg ({malformed[:2]})")
    return docs


def main():
    version_line = subprocess.run([h.env("ETL_BINARY"), "--version"], capture_output=True, text=True).stdout
    version = version_line.split()[1]

    cluster = h.PrivateCluster(prefix="etl-obs-pg-")
    fake = d = None
    try:
        db = cluster.database("observability")
        db.url = db.url.replace("postgres@", f"postgres:{PASSWORD}@", 1)
        fake = h.FakeCoinGecko(h.fixture(FIXTURE))
        # One request per tick (HTTP_MAX_ATTEMPTS=1): each scripted fault is one failed tick.
        fake.script(["status 429 retry-after=0", "status 503", "status 401 body=json", "status 200 body=html",
                     "garbage"])
        d = h.Daemon(db, fake, extra_env={"POLL_INTERVAL": f"{INTERVAL_S:g}s", "HTTP_MAX_ATTEMPTS": "1",
                                          "LOG_FORMAT": "json", "LOG_LEVEL": "info"}).start()
        h.wait_until(lambda: d.get("/metrics")[0] == 200, 15, "/metrics to answer")

        # 1. Start-up, then after failures and a success.
        _, startup_keys = check_metrics(d, "at start-up", version)
        # Ready can come early (a snapshot of a rejected body still commits); wait for the coins.
        h.wait_until(lambda: h.metric(d, "coingecko_etl_rows_inserted_total") >= 100, 30, "the first coin rows")
        d.wait_ready(timeout=10)
        # The load commits (rows_inserted, readiness) before its tick ends; ticks_total and the
        # /status last_tick are set at the end. Wait for the end of a successful tick.
        h.wait_until(lambda: json.loads(d.get("/status")[1])["last_tick"]["result"] in ("success", "partial"), 10,
                     "the first successful tick to finish")
        text, _ = check_metrics(d, "after failures and a success", version, startup_keys)
        value = lambda name, labels="": h.metric_value(text, name, labels) or 0.0
        for name, labels in [("coingecko_etl_http_requests_total", 'code="429"'),
                             ("coingecko_etl_http_requests_total", 'code="5xx"'),
                             ("coingecko_etl_http_requests_total", 'code="4xx"'),
                             ("coingecko_etl_http_requests_total", 'code="2xx"'),
                             ("coingecko_etl_http_failures_total", 'reason="rate_limited"'),
                             ("coingecko_etl_http_failures_total", 'reason="server_error"'),
                             ("coingecko_etl_http_failures_total", 'reason="unauthorized"'),
                             ("coingecko_etl_bodies_rejected_total", 'kind="html"'),
                             ("coingecko_etl_bodies_rejected_total", 'kind="not_json"'),
                             ("coingecko_etl_ticks_total", 'result="failed"'),
                             ("coingecko_etl_ticks_total", 'result="success"')]:
            h.check(value(name, labels) >= 1, f"{name}{{{labels}}} counted the scripted event ({value(name, labels):g})")
        h.check(value("coingecko_etl_rows_inserted_total") == 100, "rows_inserted_total is 100 after the first load")
        h.check(value("coingecko_etl_db_up") == 1, "db_up is 1")
        h.check(value("coingecko_etl_last_load_success_timestamp_seconds") > time.time() - 60,
                "last_load_success_timestamp_seconds is recent")

        status = json.loads(d.get("/status")[1])
        h.check(status["version"] == version and status["revision"] and status["uptime_seconds"] > 0,
                f"/status: version {status['version']} ({status['revision']}), uptime {status['uptime_seconds']} s")
        h.check(status["ready"] is True and status["db_up"] is True and status["last_load_success"],
                "/status: ready, db_up, last_load_success set")
        h.check(status["config"].get("POLL_INTERVAL") == "1s" and "<redacted>" in status["config"]["DATABASE_URL"],
                f"/status: the effective config, DATABASE_URL redacted ({status['config'].get('DATABASE_URL')})")
        tick = status["last_tick"]
        h.check(tick and tick["result"] in ("success", "partial") and
                all(tick["stages"][s]["outcome"] == "ok" for s in ("fetch", "spool", "transform", "load")),
                f"/status: the last tick and every stage ok ({tick})")
        h.check(status["backlog"] == {"snapshots": 0, "bytes": 0, "oldest_age_seconds": 0},
                f"/status: no backlog ({status['backlog']})")

        # 2. PostgreSQL stopped.
        h.check(d.get("/readyz")[0] == 200, "/readyz is 200 before the outage")
        cluster.stop()
        stopped = time.monotonic()
        turned, healthz = None, []
        while time.monotonic() - stopped < INTERVAL_S + SLACK_S + 10:
            healthz.append(d.get("/healthz")[0])
            code, body = d.get("/readyz")
            if code == 503:
                checks = {c["name"]: c for c in json.loads(body)["checks"]}
                if not checks["database"]["ok"] and checks["database"]["reason"] == "database unreachable":
                    turned = time.monotonic() - stopped
                    break
            time.sleep(0.05)
        limit = INTERVAL_S + h.scaled(SLACK_S)
        h.check(turned is not None and turned <= limit,
                f"/readyz turned 503 naming the database {turned if turned is None else round(turned, 2)} s "
                f"after PostgreSQL stopped (POLL_INTERVAL {INTERVAL_S:g} s, at most {limit:g} s)")
        # Stay down for a few ticks: the backlog grows, liveness must not follow readiness.
        # (At least four intervals, and until the backlog holds two snapshots, however slow the build.)
        until = time.monotonic() + 4 * INTERVAL_S
        give_up = time.monotonic() + h.scaled(30)
        while time.monotonic() < until or (h.metric(d, "coingecko_etl_snapshots_pending") < 2 and
                                           time.monotonic() < give_up):
            healthz.append(d.get("/healthz")[0])
            time.sleep(0.1)
        h.check(healthz and all(c == 200 for c in healthz),
                f"/healthz stayed 200 during the outage ({len(healthz)} probes)")
        text, _ = check_metrics(d, "with the database down", version, startup_keys)
        h.check(h.metric_value(text, "coingecko_etl_db_up") == 0, "db_up is 0 during the outage")
        h.check((h.metric_value(text, "coingecko_etl_load_errors_total", 'kind="unavailable"') or 0) >= 1,
                "load_errors_total{kind=unavailable} counts the deferred loads")
        h.check((h.metric_value(text, "coingecko_etl_snapshots_pending") or 0) >= 2,
                "snapshots_pending counts the spooled backlog")
        status = json.loads(d.get("/status")[1])
        load = status["last_tick"]["stages"]["load"]
        h.check(status["db_up"] is False and load["outcome"] == "failed" and load["error_kind"] == "unavailable",
                f"/status: db_up false, last tick's load failed as unavailable ({load})")
        h.check(status["backlog"]["snapshots"] >= 2 and status["backlog"]["bytes"] > 0 and
                status["backlog"]["oldest_age_seconds"] > 0 and not status["ready"],
                f"/status: the backlog and not ready ({status['backlog']}, {status['not_ready_reasons']})")

        # PostgreSQL back.
        cluster.start()
        started = time.monotonic()
        d.wait_ready(timeout=20)
        h.check(True, f"/readyz returned to 200 {time.monotonic() - started:.2f} s after PostgreSQL restarted")
        h.wait_until(lambda: json.loads(d.get("/status")[1])["backlog"]["snapshots"] == 0, 15, "the backlog to drain")
        text, _ = check_metrics(d, "after recovery", version, startup_keys)
        h.check(h.metric_value(text, "coingecko_etl_db_up") == 1 and
                h.metric_value(text, "coingecko_etl_snapshots_pending") == 0,
                "db_up is 1 and nothing is pending after recovery")

        d.signal(signal.SIGTERM)
        h.check(d.wait_exit(15) == 0, "SIGTERM: exit 0")

        # 3. Structured logs (stdout and logs/etl.log).
        docs = check_json_logs(d.stdout_path, "stdout")
        file_docs = check_json_logs(os.path.join(d.log_dir, "etl.log"), "logs/etl.log")
        h.check(len(file_docs) >= len(docs) * 0.9, "etl.log holds the same JSON lines")
        loads = [x for x in docs if x.get("msg") == "snapshot loaded"]
        first = next((x for x in loads if x.get("status") == "loaded"), {})
        h.check(loads and all(isinstance(x.get(k), int) for x in loads
                              for k in ("pages", "coins", "inserted", "unchanged", "rejected")) and
                first.get("stage") == "load" and re.match(r"^\d{8}T\d{6}Z_usd", first.get("snapshot_id", "")) and
                isinstance(first.get("duration_ms"), (int, float)) and first.get("inserted") == 100,
                f"the per-snapshot load line has snapshot_id, stage, counts and duration_ms ({first})")
        ticks = [x for x in docs if isinstance(x.get("result"), str) and "duration_ms" in x and x["msg"].startswith("tick")]
        h.check(len(ticks) >= 5 and {"failed", "success"} <= {x["result"] for x in ticks},
                f"every tick logs its result and duration_ms ({len(ticks)} tick lines)")
        fetch_errors = {x.get("error_kind") for x in docs if x.get("stage") == "fetch" and x.get("level") == "error"}
        h.check({"rate_limited", "server_error", "unauthorized"} <= fetch_errors,
                f"fetch failures carry stage=fetch and error_kind ({fetch_errors})")
        with_status = [x for x in docs if x.get("stage") == "fetch" and x.get("http_status") == 401]
        h.check(with_status and "HTTP 401" in with_status[0]["msg"], "a fetch failure names the HTTP status")
        bodies = {x.get("error_kind") for x in docs if x.get("stage") == "transform" and x.get("snapshot_id")}
        h.check({"html", "not_json"} <= bodies, f"rejected bodies carry snapshot_id, stage and error_kind ({bodies})")
        deferred = [x for x in docs if x.get("stage") == "load" and x.get("error_kind") == "unavailable"]
        h.check(deferred and all(x.get("snapshot_id") for x in deferred),
                f"deferred loads carry snapshot_id and error_kind=unavailable ({len(deferred)})")
        everything = open(d.stdout_path).read() + open(os.path.join(d.log_dir, "etl.log")).read()
        h.check(PASSWORD not in everything and PASSWORD not in json.dumps(status),
                "the database password appears in no log line and not in /status")
    finally:
        if d:
            d.cleanup()
        if fake:
            fake.stop()
        cluster.destroy()


if __name__ == "__main__":
    h.run_test(main)
