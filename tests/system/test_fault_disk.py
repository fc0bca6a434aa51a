"""Issue 3, DATA_DIR faults:

1. DATA_DIR full (a 4 MiB tmpfs filled up while the daemon runs): pages that cannot be written
   are counted in coingecko_etl_spool_write_errors_total, the daemon stays up, nothing partial
   is loaded, no temporary file is left behind, and loads resume once space returns.
2. DATA_DIR unwritable at run time (the daemon runs as `nobody`, raw/ turns read-only): the same.
3. DATA_DIR unwritable at start-up (as `nobody`, a directory owned by root): exit 2 naming DATA_DIR.
"""
import os
import shutil
import subprocess
import tempfile
import time

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
ENV = {"POLL_INTERVAL": "1s", "SPOOL_MAX_BYTES": "1MiB", "RETENTION": "1s"}


class NobodyDaemon(h.Daemon):
    """The daemon as the unprivileged user `nobody` (root ignores file permissions)."""

    def start(self):
        self.stdout_path = os.path.join(self.workdir, f"stdout-{time.time_ns()}.log")
        self.stdout = open(self.stdout_path, "w")
        # The checkout may sit under a directory only root can enter (mktemp -d is 0700), so
        # nobody gets its own copies of the binary and the migrations.
        shared = tempfile.mkdtemp(prefix="etl-nobody-bin-")
        os.chmod(shared, 0o755)
        binary = shutil.copy(h.env("ETL_BINARY"), os.path.join(shared, "coingecko-etl"))
        self.env["MIGRATIONS_DIR"] = shutil.copytree(self.env["MIGRATIONS_DIR"], os.path.join(shared, "migrations"))
        # Sanitizer builds: nobody must be able to read the suppression files (TSan exits at
        # start when it cannot), so they move next to the binary. (A report it cannot write to
        # log_path still stops the daemon: halt_on_error, which this test notices.)
        for name, value in list(self.env.items()):
            if not name.endswith("SAN_OPTIONS"):
                continue
            options = []
            for option in value.split(":"):
                key, _, path = option.partition("=")
                if key == "suppressions" and path:
                    path = shutil.copy(path, os.path.join(shared, f"{name}.supp"))
                options.append(f"{key}={path}" if path else option)
            self.env[name] = ":".join(options)
        args = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--", binary, self.command]
        self.proc = subprocess.Popen(args, env=self.env, cwd=self.workdir, stdout=self.stdout,
                                     stderr=subprocess.STDOUT)
        return self


def loaded(db):
    return int(db.scalar("SELECT count(*) FROM etl_runs WHERE status = 'loaded'"))


def no_partial(db, d, what):
    h.check(h.alive(d), f"{what}: the daemon is still running")
    problems = h.db_consistency_problems(db)
    bad = db.scalar("SELECT count(*) FROM etl_runs WHERE status <> 'loaded' OR coins_received <> 100")
    h.check(not problems and bad == "0", f"{what}: nothing partial is loaded ({problems[:2]}, {bad} odd runs)")


def disk_full(fake):
    mnt = tempfile.mkdtemp(prefix="etl-full-")
    out = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0755", "tmpfs", mnt],
                         capture_output=True, text=True)
    if out.returncode != 0:
        h.fail(f"cannot mount a tmpfs to fill up (needs root with CAP_SYS_ADMIN): {out.stderr.strip()}")
    db = h.Database("system_fault_disk_full")
    d = h.Daemon(db, fake, extra_env={**ENV, "DATA_DIR": os.path.join(mnt, "data")})
    d.data_dir = os.path.join(mnt, "data")
    filler = os.path.join(mnt, "filler")
    try:
        d.start()
        d.wait_ready(timeout=30)
        errors = h.metric(d, "coingecko_etl_spool_write_errors_total")
        # Fill every free byte.
        with open(filler, "wb") as f:
            try:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
            except OSError:
                pass
        h.wait_until(lambda: h.metric(d, "coingecko_etl_spool_write_errors_total") >= errors + 2, 20,
                     "spool write errors while the disk is full")
        h.check(True, "DATA_DIR full: failed writes counted in coingecko_etl_spool_write_errors_total")
        time.sleep(2)
        no_partial(db, d, "DATA_DIR full")
        status, body = d.get("/healthz")
        h.check(status == 200, "DATA_DIR full: /healthz stays 200 (the loop is alive)")
        before = loaded(db)
        os.unlink(filler)
        h.wait_until(lambda: loaded(db) >= before + 2, 20, "loads after space returns")
        h.check(True, "DATA_DIR full: loads resume once space returns")
        no_partial(db, d, "after the disk-full episode")
        # The daemon keeps spooling: a write in progress has a .tmp file of its own (random
        # suffix). A leftover is one still there after another tick has loaded.
        def tmp_files():
            return {f"{sub}/{n}" for sub in ("raw", "processed", "pending")
                    for n in os.listdir(os.path.join(d.data_dir, sub)) if n.startswith(".tmp")}
        seen = tmp_files()
        now = loaded(db)
        h.wait_until(lambda: loaded(db) > now, 20, "one more load")
        tmp = sorted(seen & tmp_files())
        h.check(not tmp, f"DATA_DIR full: failed writes leave no temporary files ({tmp[:3]})")
        bad = h.json_files_unparseable(d.data_dir)
        h.check(not bad, f"DATA_DIR full: every file under a final name parses ({bad[:3]})")
    finally:
        d.cleanup()
        subprocess.run(["umount", mnt])
        shutil.rmtree(mnt, ignore_errors=True)


def unwritable(fake):
    db = h.Database("system_fault_disk_perm")
    work = tempfile.mkdtemp(prefix="etl-nobody-")
    os.chmod(work, 0o755)
    shutil.chown(work, "nobody", "nogroup")
    d = NobodyDaemon(db, fake, extra_env=ENV, workdir=work)
    try:
        d.start()
        d.wait_ready(timeout=30)
        errors = h.metric(d, "coingecko_etl_spool_write_errors_total")
        raw = os.path.join(d.data_dir, "raw")
        os.chmod(raw, 0o555)
        h.wait_until(lambda: h.metric(d, "coingecko_etl_spool_write_errors_total") >= errors + 2, 20,
                     "spool write errors while raw/ is read-only")
        h.check(True, "DATA_DIR unwritable: failed writes counted in coingecko_etl_spool_write_errors_total")
        no_partial(db, d, "DATA_DIR unwritable")
        before = loaded(db)
        os.chmod(raw, 0o755)
        h.wait_until(lambda: loaded(db) >= before + 2, 20, "loads after raw/ is writable again")
        h.check(True, "DATA_DIR unwritable: loads resume once it is writable again")
        no_partial(db, d, "after the read-only episode")
        log = open(os.path.join(d.log_dir, "etl.log")).read()
        h.check("Permission denied" in log, "the log says why the page could not be spooled")
        d.cleanup()

        # At start-up: a DATA_DIR the user cannot write is a configuration error (exit 2).
        work = tempfile.mkdtemp(prefix="etl-nobody-")
        os.chmod(work, 0o755)  # owned by root: nobody cannot create data/ in it
        d = NobodyDaemon(db, fake, extra_env=ENV, workdir=work)
        code = d.run_to_exit(timeout=20)
        text = d.output()
        h.check(code == 2 and "DATA_DIR" in text and "not usable" in text,
                f"unwritable DATA_DIR at start-up: exit 2 naming DATA_DIR ({code}: {text[-300:]})")
    finally:
        d.cleanup()


def main():
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    try:
        disk_full(fake)
        unwritable(fake)
    finally:
        fake.stop()


if __name__ == "__main__":
    h.run_test(main)
