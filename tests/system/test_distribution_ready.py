"""Issue 12, item 6: the schema can be distributed on Citus as docs/SCALING.md says.

Citus cannot be installed here (not in Debian's archive, no other source), so this checks, on a
database freshly migrated by the built binary, the invariants deploy/citus/distribute.sql relies
on. The distribution plan is read from that file itself: it runs against stand-in
create_distributed_table / create_reference_table functions that record their arguments (so the
file is also proven to be valid SQL naming existing tables), and its `-- local:` lines name the
tables that stay on the coordinator. Checked against the catalog:
  * every table of the schema is distributed, a reference table or local, exactly once;
  * every PRIMARY KEY, UNIQUE and exclusion index of a distributed table includes its distribution
    column (NOT NULL), on the parent and on every partition; each such table has a primary key;
  * only distributed tables are partitioned, with one level of partitions; no view reads a local
    table;
  * co-location: a table is co-located with one distributed before it (or starts a group with
    'none'), on a distribution column of the same type;
  * foreign keys only where Citus allows them (reference <- anything; distributed -> distributed
    only within a co-location group, on the distribution columns);
  * every DISTINCT ON of a view over distributed tables includes their distribution column;
  * every subquery of a view over a distributed table is correlated on its distribution column
    with a co-located table of the outer query (Citus refuses other correlated subqueries, e.g.
    coin_market_raw_body's lookup of the page a reference names).
Each check is then shown to fail on a broken plan or schema (the second half of main), so none of
them passes vacuously. The test does not depend on coin_market_raw's column set beyond its key.
"""
import os
import re
import subprocess

import harness as h

STUBS = """
CREATE SCHEMA citus_stub;
CREATE TABLE citus_stub.calls (n serial, kind text, table_name text, column_name text, colocate_with text);
-- Citus' signatures; the stand-ins only record what they are asked to do.
CREATE FUNCTION citus_stub.create_distributed_table(table_name regclass, distribution_column text,
    distribution_type text DEFAULT 'hash', colocate_with text DEFAULT 'default', shard_count integer DEFAULT NULL)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO citus_stub.calls (kind, table_name, column_name, colocate_with)
    VALUES ('distributed', table_name::text, distribution_column, colocate_with) $$;
CREATE FUNCTION citus_stub.create_reference_table(table_name regclass) RETURNS void LANGUAGE sql AS $$
    INSERT INTO citus_stub.calls (kind, table_name) VALUES ('reference', table_name::text) $$;
"""


def plan_file():
    return os.path.join(h.env("ETL_SOURCE_DIR"), "deploy", "citus", "distribute.sql")


def run_plan(db, text):
    """Runs the distribution DDL against the stand-ins; returns the plan it describes:
    {"distributed": [(table, column, colocate_with)], "reference": [table], "local": [table]}."""
    db.psql("TRUNCATE citus_stub.calls")
    out = subprocess.run(["psql", db.url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                         input="SET search_path = citus_stub, public;\n" + text,
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        h.fail(f"the distribution DDL does not run on plain PostgreSQL: {out.stderr.strip()}")
    calls = db.rows("SELECT kind, table_name, coalesce(column_name, ''), coalesce(colocate_with, '') "
                    "FROM citus_stub.calls ORDER BY n")
    return {"distributed": [(t, c, w) for kind, t, c, w in calls if kind == "distributed"],
            "reference": [t for kind, t, _, _ in calls if kind == "reference"],
            "local": re.findall(r"^--\s*local:\s*(\w+)", text, re.M)}


def classified(db, plan):
    tables = {r[0] for r in db.rows(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition")}
    named = [t for t, _, _ in plan["distributed"]] + plan["reference"] + plan["local"]
    problems = [f"{t}: neither distributed, reference nor local in the plan" for t in sorted(tables - set(named))]
    problems += [f"{t}: not a table of the schema (or a partition)" for t in sorted(set(named) - tables)]
    problems += [f"{t}: named {named.count(t)} times" for t in sorted(set(named)) if named.count(t) > 1]
    return problems


def unique_keys(db, plan):
    problems = []
    for table, column, _ in plan["distributed"]:
        notnull = db.scalar(f"SELECT attnotnull FROM pg_attribute WHERE attrelid = '{table}'::regclass "
                            f"AND attname = '{column}' AND NOT attisdropped")
        if notnull is None:
            problems.append(f"{table}: no column {column}")
            continue
        if notnull != "t":
            problems.append(f"{table}.{column} may be NULL (Citus refuses a NULL distribution value)")
        if db.scalar(f"SELECT count(*) FROM pg_constraint WHERE conrelid = '{table}'::regclass AND contype = 'p'") != "1":
            problems.append(f"{table}: no primary key")
        for rel, index, keys in db.rows(
                f"SELECT t.relid::regclass, i.indexrelid::regclass, array_to_string(ARRAY("
                f"SELECT a.attname FROM unnest((i.indkey::int2[])[0:i.indnkeyatts - 1]) WITH ORDINALITY k(n, o) "
                f"JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o), ',') "
                f"FROM pg_partition_tree('{table}') t JOIN pg_index i ON i.indrelid = t.relid "
                f"WHERE i.indisunique OR i.indisexclusion"):
            if column not in keys.split(","):
                problems.append(f"{rel}: unique index {index} ({keys}) lacks the distribution column {column}")
    return problems


def kinds(db, plan):
    problems = []
    for table in plan["reference"] + plan["local"]:
        if db.scalar(f"SELECT relkind FROM pg_class WHERE oid = '{table}'::regclass") == "p":
            problems.append(f"{table}: partitioned, but Citus distributes partitioned tables only by hash")
    for table, _, _ in plan["distributed"]:
        nested = db.rows(f"SELECT relid::regclass FROM pg_partition_tree('{table}') WHERE level > 1 OR "
                         f"(level = 1 AND NOT isleaf)")
        if nested:
            problems.append(f"{table}: more than one level of partitions ({nested}); Citus supports one")
    for table in plan["local"]:
        readers = [r[0] for r in db.rows(
            "SELECT DISTINCT r.ev_class::regclass FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid "
            f"WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = '{table}'::regclass "
            "AND r.ev_class <> d.refobjid")]
        if readers:
            problems.append(f"{table}: local, but read by the views {readers}")
    return problems


def groups(plan):
    """Co-location group of each distributed table (the first table of its group)."""
    group = {}
    for table, _, colocate in plan["distributed"]:
        group[table] = group.get(colocate, table)
    return group


def colocation(db, plan):
    problems, seen = [], {}
    for table, column, colocate in plan["distributed"]:
        kind = db.scalar(f"SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                         f"WHERE attrelid = '{table}'::regclass AND attname = '{column}'")
        if colocate == "none":
            pass
        elif colocate not in seen:
            problems.append(f"{table}: colocate_with '{colocate}' is not a table distributed before it "
                            "(name one, or 'none' to start a group)")
        elif seen[colocate] != kind:
            problems.append(f"{table}.{column} is {kind} but {colocate}'s distribution column is "
                            f"{seen[colocate]}: they cannot be co-located")
        seen[table] = kind
    return problems


def foreign_keys(db, plan):
    kind = {t: "distributed" for t, _, _ in plan["distributed"]}
    kind.update({t: "reference" for t in plan["reference"]})
    kind.update({t: "local" for t in plan["local"]})
    column = {t: c for t, c, _ in plan["distributed"]}
    group = groups(plan)
    problems = []
    for name, src, dst, src_cols, dst_cols in db.rows(
            "SELECT conname, coalesce(pg_partition_root(conrelid), conrelid)::regclass, "
            "coalesce(pg_partition_root(confrelid), confrelid)::regclass, "
            "array_to_string(ARRAY(SELECT attname FROM unnest(conkey) WITH ORDINALITY k(n, i) "
            "  JOIN pg_attribute ON attrelid = conrelid AND attnum = k.n ORDER BY k.i), ','), "
            "array_to_string(ARRAY(SELECT attname FROM unnest(confkey) WITH ORDINALITY k(n, i) "
            "  JOIN pg_attribute ON attrelid = confrelid AND attnum = k.n ORDER BY k.i), ',') "
            "FROM pg_constraint WHERE contype = 'f' AND conparentid = 0 "
            "AND connamespace = 'public'::regnamespace"):
        a, b = kind.get(src, "unknown"), kind.get(dst, "unknown")
        if b == "reference" or (a == b == "local"):
            continue
        if a == b == "distributed" and group[src] == group[dst]:
            pairs = list(zip(src_cols.split(","), dst_cols.split(",")))
            if (column[src], column[dst]) in pairs:
                continue
        problems.append(f"foreign key {name}: {a} {src} ({src_cols}) -> {b} {dst} ({dst_cols}) is not "
                        "allowed by Citus (reference targets, or co-located tables on their distribution columns)")
    return problems


def distinct_on_lists(sql):
    """The expression lists of every DISTINCT ON (...) in a view definition."""
    lists = []
    for m in re.finditer(r"DISTINCT ON \(", sql):
        depth, i, items, start = 1, m.end(), [], m.end()
        while depth:
            ch = sql[i]
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if (ch == "," and depth == 1) or depth == 0:
                items.append(sql[start:i].strip())
                start = i + 1
            i += 1
        lists.append(items)
    return lists


def views(db, plan):
    column = {t: c for t, c, _ in plan["distributed"]}
    problems, checked = [], 0
    for view, definition in db.rows(
            "SELECT c.oid::regclass, replace(pg_get_viewdef(c.oid), E'\\n', ' ') FROM pg_class c "
            "WHERE c.relkind = 'v' AND c.relnamespace = 'public'::regnamespace"):
        read = {r[0] for r in db.rows(
            "SELECT DISTINCT d.refobjid::regclass FROM pg_rewrite r JOIN pg_depend d ON d.objid = r.oid "
            f"AND d.classid = 'pg_rewrite'::regclass WHERE r.ev_class = '{view}'::regclass "
            "AND d.refobjid <> r.ev_class AND d.refclassid = 'pg_class'::regclass")}
        columns = {column[t] for t in read if t in column}
        lists = distinct_on_lists(definition)
        if not columns or not lists:
            continue
        if len(columns) > 1:
            problems.append(f"{view}: DISTINCT ON over tables distributed by different columns {sorted(columns)}")
            continue
        want = columns.pop()
        for items in lists:
            checked += 1
            if not any(re.fullmatch(rf"(\w+\.)?{want}", item) for item in items):
                problems.append(f"{view}: DISTINCT ON ({', '.join(items)}) lacks the distribution column {want}, "
                                "so Citus cannot run it inside each shard")
    if not checked:
        problems.append("no view with DISTINCT ON over a distributed table was found to check")
    return problems


def subqueries(sql):
    """(table, alias, text) of every parenthesized SELECT ... FROM <table> <alias> in a view."""
    found = []
    for m in re.finditer(r"\(\s*SELECT\b", sql):
        depth, i = 1, m.end()
        while depth and i < len(sql):
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        body = sql[m.end():i - 1]
        source = re.search(r"\bFROM\s+(\w+)\s+(\w+)", body)
        if source:
            found.append((source.group(1), source.group(2), body))
    return found


def correlated(db, plan):
    column = {t: c for t, c, _ in plan["distributed"]}
    group = groups(plan)
    problems, checked = [], 0
    for view, definition in db.rows(
            "SELECT c.oid::regclass, replace(pg_get_viewdef(c.oid), E'\\n', ' ') FROM pg_class c "
            "WHERE c.relkind = 'v' AND c.relnamespace = 'public'::regnamespace"):
        aliases = {a: t for t, a in re.findall(r"\bFROM\s+(\w+)\s+(\w+)", definition)}
        for table, alias, body in subqueries(definition):
            outer = {a for a in re.findall(r"\b(\w+)\.\w+", body) if a != alias and a in aliases}
            if table not in column or not outer:
                continue  # not over a distributed table, or not correlated
            checked += 1
            want = column[table]
            ok = any(aliases[o] in column and group[aliases[o]] == group[table] and re.search(
                rf"\b{alias}\.{want}\s*=\s*{o}\.{column[aliases[o]]}\b|"
                rf"\b{o}\.{column[aliases[o]]}\s*=\s*{alias}\.{want}\b", body) for o in outer)
            if not ok:
                problems.append(f"{view}: a subquery over {table} is correlated with {sorted(outer)} but not "
                                f"on the distribution column {want} of co-located tables: Citus refuses it")
    if not checked:
        problems.append("no correlated subquery over a distributed table was found in a view to check")
    return problems


CHECKS = (classified, unique_keys, kinds, colocation, foreign_keys, views, correlated)


def expect_failure(check, db, plan, what):
    problems = check(db, plan)
    h.check(problems, f"{check.__name__} catches {what}: {problems[:2]}")


def mutated(text, old, new):
    h.check(old in text, f"the plan file still holds {old.strip()!r} (used to prove a check can fail)")
    return text.replace(old, new)


def main():
    db = h.Database("system_distribution_ready")
    migrate = h.Daemon(db, None, command="migrate")
    try:
        h.check(migrate.run_to_exit(60) == 0, "migrate exits 0")
    finally:
        migrate.cleanup()
    db.psql(STUBS)

    with open(plan_file(), encoding="utf-8") as f:
        text = f.read()
    plan = run_plan(db, text)
    h.check(plan["distributed"] and plan["reference"] and plan["local"],
            f"the plan names distributed, reference and local tables: {plan}")
    for check in CHECKS:
        problems = check(db, plan)
        h.check(not problems, f"{check.__name__}: " + ("; ".join(problems) or "holds"))

    # Each check fails when what it guards is broken.
    dist_market = "create_distributed_table('coin_market', 'coin_id'"
    expect_failure(classified, db, run_plan(db, mutated(text, "-- local: schema_migrations", "-- (none)")),
                   "a table left out of the plan")
    expect_failure(unique_keys, db,
                   run_plan(db, mutated(text, dist_market, "create_distributed_table('coin_market', 'snapshot_id'")),
                   "a distribution column missing from the primary key")
    expect_failure(kinds, db, run_plan(db, mutated(
        text, "SELECT create_distributed_table('coin_market', 'coin_id', colocate_with => 'none');",
        "SELECT create_reference_table('coin_market');")), "a partitioned reference table")
    expect_failure(colocation, db, run_plan(db, mutated(
        text, "create_distributed_table('etl_runs', 'snapshot_id', colocate_with => 'none'",
        "create_distributed_table('etl_runs', 'snapshot_id', colocate_with => 'coin_market_raw'")),
        "co-location on columns of different types")
    expect_failure(correlated, db, run_plan(db, mutated(
        text, "create_distributed_table('coin_market_raw', 'page'",
        "create_distributed_table('coin_market_raw', 'snapshot_id'")),
        "a view's subquery correlated off the distribution column")
    db.psql("ALTER TABLE coin_market ADD CONSTRAINT distribution_probe_fk FOREIGN KEY (snapshot_id) "
            "REFERENCES etl_runs (snapshot_id)")
    expect_failure(foreign_keys, db, plan, "a foreign key between tables of different co-location groups")
    db.psql("ALTER TABLE coin_market DROP CONSTRAINT distribution_probe_fk")
    db.psql("CREATE VIEW distribution_probe AS SELECT DISTINCT ON (vs_currency) * FROM coin_market "
            "ORDER BY vs_currency, last_updated DESC")
    expect_failure(views, db, plan, "a DISTINCT ON without the distribution column")
    db.psql("DROP VIEW distribution_probe; CREATE VIEW distribution_probe AS SELECT * FROM schema_migrations")
    expect_failure(kinds, db, plan, "a view over a local table")
    db.psql("DROP VIEW distribution_probe")


if __name__ == "__main__":
    h.run_test(main)
