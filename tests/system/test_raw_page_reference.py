"""Issue 12, item 3: a raw page byte-identical to the previous one of the same currency and page is
stored as a reference, not a second copy (migration 0012), end to end: the daemon polls a fake
CoinGecko serving the same three pages every tick (CoinGecko's cache).

  * every page of every snapshot still reads back through coin_market_raw_body with exactly the
    bytes of its file in data/raw/ (sha256 on both sides), and body_sha256 is that digest;
  * after the first snapshot, no page is stored in full a second time within a month: each names
    the snapshot holding its bytes, and that snapshot's row holds them;
  * the log's "snapshot loaded" line says how many pages were references;
  * such pages are not parsed again (their records are copied from the earlier processed file):
    every processed file still holds the same normalized records.
On main before this change every page was stored again in full (~87 KiB of WAL per page).
"""
import hashlib
import json
import os
import re

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
PAGES = 3


def main():
    db = h.Database("system_raw_page_reference")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    daemon = h.Daemon(db, fake, extra_env={"PER_PAGE": "40", "PAGES": str(PAGES)}).start()
    try:
        daemon.wait_ready(timeout=h.scaled(30))  # migrated, first snapshot loaded
        h.wait_until(lambda: int(db.scalar("SELECT count(*) FROM etl_runs")) >= 4, h.scaled(60),
                     "four snapshots loaded")
    finally:
        daemon.stop()

    # Every stored page against its file.
    raw_dir = os.path.join(daemon.data_dir, "raw")
    on_disk = {}
    for sid, pages in h.raw_snapshots(daemon.data_dir).items():
        for page in pages:
            with open(os.path.join(raw_dir, f"{sid}_p{page:03d}.json"), "rb") as f:
                on_disk[(sid, page)] = hashlib.sha256(f.read()).hexdigest()
    stored = {(sid, int(page)): (digest, column)
              for sid, page, digest, column in db.rows(
                  "SELECT snapshot_id, page, encode(sha256(body), 'hex'), encode(body_sha256, 'hex') "
                  "FROM coin_market_raw_body")}
    h.check(len(stored) >= 4 * PAGES, f"at least {4 * PAGES} pages stored ({len(stored)})")
    missing = [k for k in stored if k not in on_disk]
    h.check(not missing, f"every stored page has its file in data/raw/ ({missing[:3]})")
    differ = [k for k, (digest, column) in stored.items() if not (digest == column == on_disk.get(k))]
    h.check(not differ, f"every page reads back with its file's sha256, the digest stored with it ({differ[:3]})")

    # The same bytes of a page are stored in full once per month; every other copy is a reference.
    # Counted by digest, whatever order the snapshots were loaded in: a snapshot the queue loads
    # after a newer one (a slow first tick) may name the newer one's row as the full copy.
    again = db.scalar(
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM coin_market_raw "
        "WHERE body IS NOT NULL GROUP BY vs_currency, page, body_sha256, "
        "date_trunc('month', fetched_at AT TIME ZONE 'UTC')) full_copies")
    if again != "0":  # what a reader of a failed run needs: every row, and how the daemon saw it
        for row in db.rows("SELECT snapshot_id, page, body IS NOT NULL, same_as_snapshot_id, "
                           "encode(body_sha256, 'hex') FROM coin_market_raw ORDER BY 1, 2"):
            print("coin_market_raw:", row)
        print(daemon.output()[-12000:])
    h.check(again == "0", f"no identical page stored in full twice in a month ({again})")
    references = int(db.scalar("SELECT count(*) FROM coin_market_raw WHERE same_as_snapshot_id IS NOT NULL"))
    h.check(references >= PAGES * 2, f"later snapshots' pages are references ({references})")
    dangling = db.scalar(
        "SELECT count(*) FROM coin_market_raw r WHERE r.same_as_snapshot_id IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM coin_market_raw b WHERE b.snapshot_id = r.same_as_snapshot_id AND b.page = r.page "
        "AND b.body IS NOT NULL)")
    h.check(dangling == "0", f"each reference names a page holding the bytes ({dangling})")
    logged = [int(n) for n in re.findall(r'raw_pages_referenced[=:"]+(\d+)', daemon.output())]
    h.check(logged and max(logged) == PAGES, f"the load log line counts the referenced pages ({logged})")
    # Later snapshots' pages were not parsed (their records copied from the earlier file): every
    # processed file still holds the same 100 normalized records as the first.
    processed_dir = os.path.join(daemon.data_dir, "processed")
    docs = [json.load(open(os.path.join(processed_dir, n))) for n in sorted(os.listdir(processed_dir))
            if n.endswith(".json")]
    h.check(len(docs) >= 4 and len(docs[0]["coins"]) == 100,
            f"a processed file per snapshot, 100 records each ({len(docs)})")
    differ = [d["snapshot_id"] for d in docs if d["coins"] != docs[0]["coins"] or d["rejected_count"] != 0]
    h.check(not differ, f"every processed file holds the first one's records ({differ[:3]})")
    daemon.cleanup()


if __name__ == "__main__":
    h.run_test(main)
