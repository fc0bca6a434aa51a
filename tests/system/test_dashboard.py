"""Issue 4: the shipped Grafana dashboard and alert rules only query metrics the daemon exports.

The exported names come from a live daemon's /metrics (every family exists from start-up, at 0),
so a renamed or removed metric breaks this test instead of silently emptying a panel. Every
`expr` of the dashboard (panels and template variables) and of deploy/prometheus/alerts.yml is
reduced to the metric names it selects; each must be exported (histograms by their _bucket,
_sum and _count series). The dashboard's structure, coverage and provisioning files are checked
too. The real-Prometheus test (test_prometheus_scrape.py) additionally runs every query.
"""
import json
import os
import re
import types

import harness as h

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool",
            "offset", "inf", "nan"}
# Series Prometheus itself attaches to every target; alerts may use them, dashboards do not.
PROMETHEUS_SYNTHETIC = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}


def metric_names(expr):
    """Metric names a PromQL (or Grafana label_values) expression selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)            # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)           # ranges and subqueries
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    # Grafana's label_values(metric, label): the second argument is a label, not a metric.
    e = re.sub(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)", r" \1 ", e)
    e = re.sub(r"\$\{?[A-Za-z0-9_]+\}?", " ", e)  # Grafana variables
    e = re.sub(r"\boffset\s+-?\d+[a-z]+", " ", e)
    names = set()
    for m in re.finditer(r"(?<![A-Za-z0-9_:.])[A-Za-z_:][A-Za-z0-9_:]*", e):
        token = m.group(0)
        if token.lower() in KEYWORDS or e[m.end():].lstrip().startswith("("):
            continue  # a keyword or a function call
        names.add(token)
    return names


def exported_names(metrics_text):
    """Every series name of the exposition plus every family name from # TYPE lines."""
    names = set()
    for line in metrics_text.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line).group(0))
    return names


def dashboard_queries(node, path="dashboard"):
    """(where, query) for every expr and template-variable query in the dashboard JSON."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if key == "expr" and isinstance(value, str):
                out.append((where, value))
            elif key == "query" and isinstance(value, dict) and isinstance(value.get("query"), str):
                out.append((where, value["query"]))
            elif key == "definition" and isinstance(value, str):
                out.append((where, value))
            else:
                out.extend(dashboard_queries(value, where))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            title = value.get("title") if isinstance(value, dict) else None
            out.extend(dashboard_queries(value, f"{path}[{title or i}]"))
    return out


def alert_exprs(text):
    """(alert, expr) from alerts.yml without a YAML library: single-line and `|` block exprs."""
    out, alert, lines = [], None, text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"\s*-\s*alert:\s*(\S+)", line)
        if m:
            alert = m.group(1)
        m = re.match(r"(\s*)expr:\s*(.*)$", line)
        if m:
            indent, rest = len(m.group(1)), m.group(2).strip()
            if rest in ("|", ">", "|-", ">-"):
                body = []
                i += 1
                while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                    body.append(lines[i].strip())
                    i += 1
                out.append((alert, " ".join(body)))
                continue
            out.append((alert, rest))
        i += 1
    return out


def self_test():
    """The extractor must find names where they are, and nothing else."""
    cases = {
        'histogram_quantile(0.95, sum by (le, stage) (rate(a_seconds_bucket{job=~"$job", x="y z"}[$__rate_interval])))':
            {"a_seconds_bucket"},
        "time() - max(b_timestamp_seconds > 0)": {"b_timestamp_seconds"},
        "sum(rate(c_total[5m])) / sum(rate(d_total[5m] offset 1h)) > 0.5 and on (instance) e == 0":
            {"c_total", "d_total", "e"},
        'label_values(f_info{job=~"$job"}, instance)': {"f_info"},
        "increase(g_total[1h]) > 1e3 or vector(0)": {"g_total"},
    }
    for expr, want in cases.items():
        got = metric_names(expr)
        h.check(got == want, f"extractor: {expr[:50]}... -> {sorted(got)}")


def main():
    self_test()
    source = h.env("ETL_SOURCE_DIR")
    # No database and no CoinGecko: /metrics must still list every family (at 0) from start-up.
    nowhere = types.SimpleNamespace(url="postgresql://postgres@127.0.0.1:9/none?connect_timeout=1")
    d = h.Daemon(nowhere, None, extra_env={"POLL_INTERVAL": "30s"}).start()
    try:
        h.wait_until(lambda: d.get("/metrics")[0] == 200, 15, "/metrics to answer")
        text = d.get("/metrics")[1]
    finally:
        d.cleanup()
    exported = exported_names(text)
    families = {n for n in exported if n.startswith("coingecko_etl_")}
    h.check(len(families) >= 30 and "process_resident_memory_bytes" in exported,
            f"a live /metrics lists the daemon's families ({len(families)} coingecko_etl_ names)")

    with open(os.path.join(source, "deploy", "grafana", "dashboards", "coingecko-etl.json")) as f:
        dashboard = json.load(f)
    queries = dashboard_queries(dashboard)
    h.check(len(queries) >= 25, f"the dashboard has queries to check ({len(queries)})")
    used, unknown = set(), []
    for where, query in queries:
        names = metric_names(query)
        if not names:
            unknown.append(f"{where}: selects no metric: {query}")
        for name in names:
            used.add(name)
            if name not in exported:
                unknown.append(f"{where}: {name}")
    h.check(not unknown, f"every dashboard query uses only exported metric names ({unknown[:5]})")

    # Coverage: the panels (ticks, stage latencies, rows, backlog, HTTP outcomes, errors, RSS/CPU).
    required = ["coingecko_etl_ticks_total", "coingecko_etl_stage_duration_seconds_bucket",
                "coingecko_etl_tick_duration_seconds_bucket", "coingecko_etl_rows_inserted_total",
                "coingecko_etl_rows_unchanged_total", "coingecko_etl_rows_rejected_total",
                "coingecko_etl_snapshots_pending", "coingecko_etl_spool_pending_bytes",
                "coingecko_etl_spool_oldest_pending_age_seconds", "coingecko_etl_http_requests_total",
                "coingecko_etl_http_failures_total", "coingecko_etl_load_errors_total",
                "coingecko_etl_bodies_rejected_total", "coingecko_etl_snapshots_dropped_total",
                "process_resident_memory_bytes", "process_cpu_seconds_total"]
    missing = [n for n in required if n not in used]
    h.check(not missing, f"the dashboard covers ticks, stages, rows, backlog, HTTP, errors, RSS/CPU ({missing})")
    exprs = " ".join(q for _, q in queries)
    h.check("histogram_quantile(0.5," in exprs and "histogram_quantile(0.95," in exprs,
            "stage latency is shown as p50 and p95")
    used_families = used | {re.sub(r"_(bucket|sum|count)$", "", n) for n in used}
    unused = sorted(n for n in families if n not in used_families and not re.search(r"_(bucket|sum|count)$", n))
    print(f"note: exported families not on the dashboard: {unused}", flush=True)

    # Structure Grafana needs to provision it against the provisioned datasource.
    h.check(isinstance(dashboard.get("schemaVersion"), int) and dashboard["schemaVersion"] >= 36,
            f"schemaVersion is current ({dashboard.get('schemaVersion')})")
    h.check(dashboard.get("uid") == "coingecko-etl" and dashboard.get("title"), "the dashboard has a fixed uid")
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    h.check(len(ids) == len(set(ids)), "panel ids are unique")
    bad_ds = [p["title"] for p in panels if p["type"] != "row" and
              (p.get("datasource", {}).get("uid") != "prometheus" or
               any(t.get("datasource", {}).get("uid") != "prometheus" for t in p.get("targets", [])))]
    h.check(not bad_ds, f"every panel and query uses the datasource uid 'prometheus' ({bad_ds})")
    bad_grid = [p["title"] for p in panels if p["gridPos"]["x"] + p["gridPos"]["w"] > 24]
    h.check(not bad_grid, f"every panel fits the 24-column grid ({bad_grid})")
    refs = [(p["title"], [t["refId"] for t in p.get("targets", [])]) for p in panels]
    h.check(all(len(r) == len(set(r)) for _, r in refs), "refIds are unique within each panel")

    prov = os.path.join(source, "deploy", "grafana", "provisioning")
    ds = open(os.path.join(prov, "datasources", "prometheus.yml")).read()
    h.check(re.search(r"^\s+uid:\s*prometheus\s*$", ds, re.M) and
            re.search(r"^\s+url:\s*http://prometheus:9090\s*$", ds, re.M) and
            re.search(r"^\s+type:\s*prometheus\s*$", ds, re.M),
            "the datasource provisioning defines uid 'prometheus' at http://prometheus:9090")
    boards = open(os.path.join(prov, "dashboards", "dashboards.yml")).read()
    h.check(re.search(r"^\s+type:\s*file\s*$", boards, re.M) and
            re.search(r"^\s+path:\s*/var/lib/grafana/dashboards\s*$", boards, re.M),
            "the dashboard provider loads files from /var/lib/grafana/dashboards")

    # The alert rules (deploy/prometheus) must not watch a metric that does not exist either.
    alerts = alert_exprs(open(os.path.join(source, "deploy", "prometheus", "alerts.yml")).read())
    h.check(len(alerts) == 9, f"alerts.yml has the 9 alert expressions ({[a for a, _ in alerts]})")
    bad_alerts = [f"{a}: {n}" for a, e in alerts for n in metric_names(e)
                  if n not in exported and n not in PROMETHEUS_SYNTHETIC]
    h.check(not bad_alerts, f"every alert expression uses only exported metric names ({bad_alerts})")


if __name__ == "__main__":
    h.run_test(main)
