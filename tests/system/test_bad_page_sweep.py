"""Issue 9: a bad page never stops the sweep. Page 2 of 4 holds a number no double can hold
(valid JSON, refused by the parser's range check): it is kept on disk and counted, and pages 3-4
are still fetched and loaded in the same tick. The snapshot is `partial`, naming page 2."""
import os
from urllib.parse import parse_qs

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"


def main():
    workdir = h.tempfile.mkdtemp(prefix="etl-bad-page-")
    with open(h.fixture(FIXTURE)) as f:
        text = f.read()
    # The first current_price of the page becomes 1e400: valid JSON, but no double holds it.
    at = text.index('"current_price":') + len('"current_price":')
    end = at + next(i for i, c in enumerate(text[at:]) if c in ",}")
    bad_body = os.path.join(workdir, "page-with-1e400.json")
    with open(bad_body, "w") as f:
        f.write(text[:at] + "1e400" + text[end:])

    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--synthetic", "1000"))
    db = h.Database("system_bad_page_sweep")
    once = h.Daemon(db, fake, command="once", extra_env={"PER_PAGE": "250", "PAGES": "4"})
    try:
        fake.script(["ok", f"status 200 body={bad_body}"])
        code = once.run_to_exit(timeout=60)
        pages = sorted(int(parse_qs(r["query"]).get("page", ["1"])[0]) for r in fake.requests())
        h.check(pages == [1, 2, 3, 4], f"pages 3 and 4 are still fetched after the bad page 2 ({pages})")
        h.check(code == 1, f"`once` exits 1: page 2 was not loaded (got {code})")
        rows = db.rows("SELECT status, pages, coins_received, coalesce(error, '') FROM etl_runs")
        h.check(len(rows) == 1 and rows[0][:3] == ["partial", "3", "750"],
                f"one snapshot, partial, with the 750 coins of pages 1, 3 and 4 ({rows})")
        h.check(rows and rows[0][3].startswith("page 2:"), f"etl_runs.error names page 2 ({rows[0][3] if rows else ''})")
        h.check(db.scalar("SELECT count(*) FROM coin_market") == "750", "750 coin rows stored")
        h.check(len(once.raw_files()) == 4, f"all four raw pages are kept on disk ({once.raw_files()})")
    finally:
        once.cleanup()
        fake.stop()
        h.shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    h.run_test(main)
