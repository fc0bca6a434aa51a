"""Issue 4: proof with a real Prometheus (Debian's `prometheus`, installed by install-deps.sh).

A private Prometheus on 127.0.0.1 scrapes the daemon every second (job="coingecko-etl") and
evaluates deploy/prometheus/alerts.yml. Through its HTTP API the test asserts that the target is
up, that coingecko_etl_rows_inserted_total increased between two points in time (the fake
CoinGecko stamps every reply with fresh last_updated values, so each tick inserts rows), that
all 9 alert rules are loaded and evaluated with health "ok" and none fires on a healthy daemon,
and that every query of the Grafana dashboard is valid PromQL returning data. `promtool check
rules` passes too. Everything started here is stopped at the end.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json"
ALERTS = ["CoingeckoEtlDown", "CoingeckoEtlNoRecentLoad", "CoingeckoEtlFetchFailureRatioHigh",
          "CoingeckoEtlRateLimited", "CoingeckoEtlBacklogGrowing", "CoingeckoEtlBacklogOld",
          "CoingeckoEtlSnapshotsDropped", "CoingeckoEtlSnapshotsQuarantined", "CoingeckoEtlRowsRejected"]


class Prometheus:
    def __init__(self, target_port, rules_file):
        self.dir = tempfile.mkdtemp(prefix="etl-prometheus-")
        self.port = h.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = os.path.join(self.dir, "prometheus.yml")
        with open(config, "w") as f:
            f.write(f"""global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {rules_file}
scrape_configs:
  - job_name: coingecko-etl
    static_configs:
      - targets: ['127.0.0.1:{target_port}']
""")
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h",
             "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)

    def api(self, path, **params):
        url = f"{self.base}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        status, body = h.http_get(url, timeout=10)
        doc = json.loads(body)
        if status != 200 or doc.get("status") != "success":
            raise RuntimeError(f"{path} {params}: HTTP {status} {body[:300]}")
        return doc["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def scalar(self, expr):
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def output(self):
        self.log.flush()
        return open(self.log.name).read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def dashboard_queries(source):
    with open(os.path.join(source, "deploy", "grafana", "dashboards", "coingecko-etl.json")) as f:
        dashboard = json.load(f)
    exprs = []

    def walk(node, title):
        if isinstance(node, dict):
            title = node.get("title", title)
            if isinstance(node.get("expr"), str):
                exprs.append((title, node["expr"]))
            for value in node.values():
                walk(value, title)
        elif isinstance(node, list):
            for value in node:
                walk(value, title)
    walk(dashboard.get("panels", []), "?")
    variables = [v["definition"] for v in dashboard.get("templating", {}).get("list", [])]
    return exprs, variables


def main():
    source = h.env("ETL_SOURCE_DIR")
    rules_file = os.path.join(source, "deploy", "prometheus", "alerts.yml")
    check = subprocess.run(["promtool", "check", "rules", rules_file], capture_output=True, text=True, timeout=60)
    h.check(check.returncode == 0 and "SUCCESS: 9 rules found" in check.stdout,
            f"promtool check rules: {check.stdout.strip()} {check.stderr.strip()}")

    db = h.Database("system_prometheus_scrape")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--live-timestamps",))
    d = h.Daemon(db, fake, extra_env={"POLL_INTERVAL": "1s", "LOG_LEVEL": "info"}).start()
    prom = None
    try:
        prom = Prometheus(d.port, rules_file)
        h.wait_until(lambda: h.http_get(prom.base + "/-/ready")[0] == 200, 30, "Prometheus to be ready")
        h.wait_until(lambda: prom.scalar('up{job="coingecko-etl"}') == 1, 20,
                     'Prometheus to scrape the daemon (up{job="coingecko-etl"} == 1)')
        h.check(True, 'up{job="coingecko-etl"} == 1 through the Prometheus API')

        rows = 'coingecko_etl_rows_inserted_total{job="coingecko-etl"}'
        earlier = h.wait_until(lambda: prom.scalar(rows), 20, "a first rows_inserted sample")
        later = h.wait_until(lambda: (v := prom.scalar(rows)) is not None and v > earlier and v, 20,
                             "rows_inserted_total to increase")
        h.check(later > earlier, f"coingecko_etl_rows_inserted_total increased in Prometheus ({earlier:g} -> {later:g})")
        increase = h.wait_until(lambda: prom.scalar(f"increase({rows}[30s])"), 10, "increase() over 30 s")
        h.check(increase > 0, f"increase(coingecko_etl_rows_inserted_total[30s]) = {increase:g}")

        def rules_evaluated():
            groups = prom.api("rules", type="alert")["groups"]
            found = {r["name"]: r for g in groups for r in g["rules"]}
            return found if set(found) == set(ALERTS) and all(
                r["health"] == "ok" and not r["lastEvaluation"].startswith("0001") for r in found.values()) else None
        rules = h.wait_until(rules_evaluated, 20, "all 9 alert rules evaluated with health ok")
        h.check(sorted(rules) == sorted(ALERTS), f"Prometheus loaded the {len(ALERTS)} alert rules ({sorted(rules)})")
        h.check(all(r["health"] == "ok" for r in rules.values()), "every rule was evaluated with health \"ok\"")
        active = {n: r["state"] for n, r in rules.items() if r["state"] != "inactive"}
        h.check(not active, f"no alert is pending or firing on a healthy daemon ({active})")

        # Every dashboard query runs (valid PromQL) and shows data for a running daemon.
        exprs, variables = dashboard_queries(source)
        empty, failed = [], []
        for title, expr in exprs:
            promql = (expr.replace("$__rate_interval", "1m").replace("$job", "coingecko-etl")
                      .replace("$instance", ".+"))
            try:
                if not prom.query(promql):
                    empty.append(title)
            except Exception as e:  # noqa: BLE001 - the message is the finding
                failed.append(f"{title}: {e}")
        h.check(not failed, f"all {len(exprs)} dashboard queries are valid PromQL ({failed[:3]})")
        h.check(not empty, f"every dashboard query returns data for a running daemon ({empty})")
        for definition in variables:
            m = re.match(r"label_values\((\w+)(?:\{[^}]*\})?,\s*(\w+)\)", definition)
            h.check(m is not None, f"template variable is label_values(metric, label): {definition}")
            values = prom.api(f"label/{m.group(2)}/values", **{"match[]": m.group(1)})
            h.check(values, f"template variable {definition} has values ({values})")
    finally:
        if prom:
            log = prom.output()
            prom.stop()
            if "level=error" in log:
                print(f"prometheus errors:\n{log[-2000:]}", flush=True)
        d.signal()
        code = d.wait_exit(15)
        fake.stop()
        d.cleanup()
    h.check(code == 0, "the daemon exits 0 on SIGTERM")
    h.check(prom.proc.returncode is not None, "Prometheus was stopped")


if __name__ == "__main__":
    h.run_test(main)
