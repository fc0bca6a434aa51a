"""Issue 10, item 6: an installed binary carries its migrations.

The built binary, copied alone to a temporary directory and started from the filesystem root
with no MIGRATIONS_DIR, migrates an empty database (every migrations/*.sql recorded under its
name with the md5 of the file's text) and then loads a tick from the fake CoinGecko. A database
migrated from the files is up to date for the embedded set (0 applied); a MIGRATIONS_DIR
override is still applied; a set but unusable MIGRATIONS_DIR is a configuration error (exit 2,
naming the setting) for every command, never a daemon retrying it every tick.
"""
import hashlib
import os
import shutil
import subprocess
import tempfile

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-01-20_nulls.json"


def source_migrations():
    """{file name: md5 of its bytes} for migrations/*.sql in the source tree."""
    d = os.path.join(h.env("ETL_SOURCE_DIR"), "migrations")
    out = {}
    for name in sorted(os.listdir(d)):
        if name.endswith(".sql"):
            with open(os.path.join(d, name), "rb") as f:
                out[name] = hashlib.md5(f.read()).hexdigest()
    return out


class Installed:
    """The binary copied to a directory of its own and run with cwd='/' and a clean environment:
    nothing from the checkout (no MIGRATIONS_DIR, no ./migrations, no .env) is within reach."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="etl-installed-")
        self.binary = os.path.join(self.dir, "bin", "coingecko-etl")
        os.makedirs(os.path.dirname(self.binary))
        shutil.copy2(h.env("ETL_BINARY"), self.binary)

    def env(self, db_url, coingecko_url="http://127.0.0.1:9/api/v3/coins/markets", extra=None):
        e = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DATABASE_URL": db_url,
            "COINGECKO_URL": coingecko_url,
            "DATA_DIR": os.path.join(self.dir, "data"),
            "LOG_DIR": os.path.join(self.dir, "logs"),
            "HTTP_ADDR": "127.0.0.1:0",
            "RATE_LIMIT_PER_MINUTE": "6000",
            "LOG_LEVEL": "info",
        }
        # Sanitizer builds keep their report options (as harness.Daemon does).
        e.update({k: v for k, v in os.environ.items() if k.endswith("SAN_OPTIONS")})
        e.update(extra or {})
        return e

    def run(self, args, env, timeout=60):
        """(exit code, stdout + stderr); a command still running after `timeout` is a failure."""
        timeout = h.scaled(timeout)
        try:
            out = subprocess.run([self.binary, *args], env=env, cwd="/", capture_output=True, text=True,
                                 timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            h.fail(f"{args} from / did not exit within {timeout}s (a retry loop?): {exc.stdout!r} {exc.stderr!r}")
        return out.returncode, out.stdout + out.stderr

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def recorded(db):
    return {name: checksum for name, checksum in db.rows("SELECT name, checksum FROM schema_migrations ORDER BY name")}


def main():
    expected = source_migrations()
    h.check(len(expected) >= 1, f"the source tree has its migrations ({len(expected)} files)")
    # The run from / must not find a configuration the test did not give it.
    for path in ("/.env", "/migrations"):
        if os.path.exists(path):
            h.fail(f"{path} exists: this test needs a filesystem root without it")

    inst = Installed()
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    try:
        # 1. An empty database, migrated by the copied binary from / with the embedded set.
        db = h.Database("system_installed_binary")
        code, out = inst.run(["migrate"], inst.env(db.url))
        h.check(code == 0, f"`migrate` from / without MIGRATIONS_DIR exits 0 (exit {code}: {out[-800:]})")
        got = recorded(db)
        h.check(sorted(got) == sorted(expected),
                f"every migrations/*.sql is recorded by name ({len(got)} of {len(expected)}: "
                f"missing {sorted(set(expected) - set(got))}, extra {sorted(set(got) - set(expected))})")
        h.check(got == expected, "each recorded checksum is the md5 of the source file's text")
        code, out = inst.run(["check-config"], inst.env(db.url))
        h.check(code == 0 and "MIGRATIONS_DIR=(embedded)" in out,
                f"check-config shows MIGRATIONS_DIR=(embedded) (exit {code}: {out[-400:]})")

        # 2. The schema it made is the one the daemon loads into: one tick from / with the fake.
        code, out = inst.run(["once"], inst.env(db.url, fake.markets_url))
        h.check(code == 0, f"`once` from / loads a tick (exit {code}: {out[-800:]})")
        rows = int(db.scalar("SELECT count(*) FROM coin_market"))
        h.check(rows == 100, f"the tick's 100 coins are in coin_market ({rows})")

        # 3. A database migrated from the files is up to date for the embedded set.
        files_db = h.Database("system_installed_binary_files")
        source_dir = os.path.join(h.env("ETL_SOURCE_DIR"), "migrations")
        code, out = inst.run(["migrate"], inst.env(files_db.url, extra={"MIGRATIONS_DIR": source_dir}))
        h.check(code == 0 and recorded(files_db) == expected,
                f"MIGRATIONS_DIR=<source>/migrations migrates the same set (exit {code}: {out[-400:]})")
        before = files_db.rows("SELECT version, applied_at FROM schema_migrations ORDER BY version")
        code, out = inst.run(["migrate"], inst.env(files_db.url))
        h.check(code == 0 and "(0 applied now" in out,
                f"the embedded set sees that database as up to date: 0 applied (exit {code}: {out[-400:]})")
        h.check(files_db.rows("SELECT version, applied_at FROM schema_migrations ORDER BY version") == before,
                "schema_migrations is unchanged")

        # 4. An override is what gets applied: a copy with one extra migration.
        override = os.path.join(inst.dir, "my-migrations")
        shutil.copytree(source_dir, override)
        with open(os.path.join(override, "9001_installed_binary_probe.sql"), "w") as f:
            f.write("CREATE TABLE installed_binary_probe (x int);\n")
        code, out = inst.run(["migrate"], inst.env(files_db.url, extra={"MIGRATIONS_DIR": override}))
        h.check(code == 0 and "(1 applied now" in out and
                files_db.scalar("SELECT to_regclass('installed_binary_probe') IS NOT NULL") == "t",
                f"MIGRATIONS_DIR still overrides: its extra migration is applied (exit {code}: {out[-400:]})")

        # 5. An unusable override is a configuration error at start-up, for every command.
        requests_before = len(fake.requests())
        not_a_dir = os.path.join(override, "0001_initial.sql")
        for value, why in (("/nonexistent/etl-migrations", "No such file or directory"),
                           (not_a_dir, "not a directory")):
            for command in ("run", "migrate", "once", "check-config"):
                code, out = inst.run([command], inst.env(db.url, fake.markets_url, {"MIGRATIONS_DIR": value}),
                                     timeout=20)
                named = [line for line in out.splitlines() if line.strip().startswith("- MIGRATIONS_DIR=")]
                h.check(code == 2 and len(named) == 1 and why in named[0] and "readable directory" in named[0],
                        f"MIGRATIONS_DIR={value} `{command}`: exit 2 naming the setting and why "
                        f"(exit {code}: {named or out[-400:]})")
        h.check(len(fake.requests()) == requests_before, "a rejected configuration fetched nothing")
    finally:
        fake.stop()
        inst.cleanup()


if __name__ == "__main__":
    h.run_test(main)
