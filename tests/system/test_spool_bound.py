"""Issue 9, item 9: SPOOL_MAX_BYTES bounds everything DATA_DIR holds. Before, it counted the raw
pages of pending snapshots only, while loaded snapshots' raw and processed files (processed is
~1.5x the raw page) stayed for RETENTION: with the database up, the spool grew without bound
until the disk filled. Here SPOOL_MAX_BYTES=1MiB, RETENTION=168h, a snapshot (raw + processed)
is ~200 KB and a tick every 200 ms: the spool must stay within the bound plus the one snapshot
a tick adds before the next check, and since PostgreSQL has every snapshot, the bound removes
loaded files only: nothing is dropped, everything is loaded."""
import os

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
BOUND = 1 << 20


def spool_bytes(data_dir):
    total = 0
    for dirpath, _, files in os.walk(data_dir):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(dirpath, name))
            except FileNotFoundError:  # removed while walking
                pass
    return total


def largest_snapshot(data_dir):
    sizes = {}
    for sub in ("raw", "processed"):
        d = os.path.join(data_dir, sub)
        for name in os.listdir(d):
            if name.startswith(".tmp"):
                continue
            sid = name[:-5].rpartition("_p")[0] if sub == "raw" else name[:-5]
            try:
                sizes[sid] = sizes.get(sid, 0) + os.path.getsize(os.path.join(d, name))
            except FileNotFoundError:
                pass
    return max(sizes.values(), default=0)


def main():
    db = h.Database("system_spool_bound")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--live-timestamps",))
    d = h.Daemon(db, fake, extra_env={"SPOOL_MAX_BYTES": str(BOUND), "RETENTION": "168h",
                                      "POLL_INTERVAL": "200ms"})
    try:
        d.start()
        d.wait_ready(30)  # the schema exists from here on
        samples = []

        def enough():
            samples.append(spool_bytes(d.data_dir))
            return int(db.scalar("SELECT count(*) FROM etl_runs")) >= 20

        h.wait_until(enough, 60, "20 snapshots loaded", interval=0.05)
        snapshot = largest_snapshot(d.data_dir)
        h.check(snapshot > 100_000, f"a snapshot's raw + processed files are {snapshot} bytes")
        h.check(20 * snapshot > 3 * BOUND, "20 snapshots would be well over the bound if all were kept")
        worst = max(samples)
        h.check(worst <= BOUND + snapshot,
                f"DATA_DIR never held more than SPOOL_MAX_BYTES + one snapshot ({worst} <= {BOUND} + {snapshot}; "
                f"{len(samples)} samples)")
        d.signal()
        h.check(d.wait_exit(15) == 0, "the daemon stops cleanly")
        out = d.output()
        h.check("DROPPED" not in out,
                "no pending snapshot was dropped: loaded files went first")
        # The tick SIGTERM lands in may leave its own snapshot pending (by contract: replay or the
        # next start loads it); nothing older may be.
        pending = h.pending_snapshots(d.data_dir)
        loaded = {r[0] for r in db.rows("SELECT snapshot_id FROM etl_runs")}
        h.check(len(pending) <= 1 and not any(p in loaded for p in pending),
                f"nothing is left pending but the snapshot SIGTERM interrupted ({pending})")
        warn = [l for l in out.splitlines() if "spool over SPOOL_MAX_BYTES" in l and "warning" in l]
        h.check(len(warn) == 1, f"one warning says RETENTION gave way to the bound ({warn[:1]})")
        runs = int(db.scalar("SELECT count(*) FROM etl_runs WHERE status = 'loaded'"))
        h.check(runs >= 20, f"every snapshot was loaded ({runs})")
    finally:
        d.cleanup()
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
