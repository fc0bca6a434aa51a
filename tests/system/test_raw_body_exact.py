"""Issue 9, item 2: the raw page is stored whatever its content. coin_market_raw.body (bytea since
migration 0005) holds exactly the bytes spooled in data/raw/, compared by sha256 on both sides,
for a 3-page snapshot whose page 2 holds what jsonb refuses in fields the parser ignores: a
\\u0000 escape in one coin's string and a number beyond numeric's range (1e-999999) in another's.
Every coin loads; the documented jsonb view reads the other pages and gives NULL for page 2.
Before 0005 the body was jsonb: page 2 failed the whole snapshot (quarantined, 0 rows).
"""
import hashlib
import json
import os

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def main():
    with open(h.fixture(FIXTURE)) as f:
        coins = json.load(f)
    workdir = h.tempfile.mkdtemp(prefix="etl-raw-exact-")
    # Page 2 (coins 40-79) as CoinGecko might send it, with two extra fields nobody reads.
    parts = [json.dumps(c) for c in coins[40:80]]
    parts[3] = parts[3][:-1] + ', "description": "nul \\u0000 inside"}'
    parts[7] = parts[7][:-1] + ', "dust": 1e-999999}'
    body = ("[" + ",".join(parts) + "]").encode()
    h.check(b"\\u0000" in body and b"1e-999999" in body, "page 2 holds \\u0000 and 1e-999999")
    page2 = os.path.join(workdir, "page2-jsonb-refuses.json")
    with open(page2, "wb") as f:
        f.write(body)

    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    db = h.Database("system_raw_body_exact")
    once = h.Daemon(db, fake, command="once", extra_env={"PER_PAGE": "40", "PAGES": "3"})
    try:
        fake.script(["ok", f"status 200 body={page2}"])
        code = once.run_to_exit(timeout=60)
        h.check(code == 0, f"`once` exits 0 (got {code})")
        raw_dir = os.path.join(once.data_dir, "raw")
        files = sorted(os.listdir(raw_dir)) if os.path.isdir(raw_dir) else []
        h.check(len(files) == 3, f"3 raw files spooled ({files})")
        on_disk = {}
        for name in files:
            with open(os.path.join(raw_dir, name), "rb") as f:
                on_disk[int(name.rsplit("_p", 1)[1].split(".")[0])] = hashlib.sha256(f.read()).hexdigest()
        h.check(on_disk.get(2) == hashlib.sha256(body).hexdigest(), "the spooled page 2 is the body served")
        stored = {int(p): digest for p, digest in
                  db.rows("SELECT page, encode(sha256(body), 'hex') FROM coin_market_raw ORDER BY page")}
        h.check(stored == on_disk, f"each stored body's sha256 equals its raw file's ({stored} vs {on_disk})")
        sizes = db.rows("SELECT page, body_bytes = octet_length(body) FROM coin_market_raw ORDER BY page")
        h.check(sizes == [["1", "t"], ["2", "t"], ["3", "t"]], f"body_bytes is each body's size ({sizes})")

        runs = db.rows("SELECT status, pages, rows_inserted, rows_rejected FROM etl_runs")
        h.check(runs == [["loaded", "3", "100", "0"]], f"the snapshot loads whole: 3 pages, 100 coins ({runs})")
        h.check(db.scalar("SELECT count(*) FROM coin_market") == "100", "100 coin rows stored")
        as_json = db.rows("SELECT page, coalesce(jsonb_array_length(body)::text, 'null') FROM coin_market_raw_json "
                          "ORDER BY page")
        h.check(as_json == [["1", "40"], ["2", "null"], ["3", "20"]],
                f"coin_market_raw_json reads pages 1 and 3 as jsonb, page 2 (jsonb refuses it) as NULL ({as_json})")
        text = db.scalar("SELECT convert_from(body, 'UTF8') FROM coin_market_raw WHERE page = 2")
        h.check(text == body.decode(), "page 2 reads back as text with convert_from(body, 'UTF8')")
    finally:
        once.cleanup()
        fake.stop()
        h.shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    h.run_test(main)
