"""Issue 3, item 5: bad configuration through the real binary. Every case exits 2 before doing
any work, and its message names the setting and what is allowed; several bad settings at once
are all reported in one go."""
import os
import subprocess
import tempfile

import harness as h

# (environment overrides, setting the message must name, words saying what is allowed)
CASES = [
    ({"POLL_INTERVAL": "0"}, "POLL_INTERVAL", "from 100ms to 24h"),
    ({"POLL_INTERVAL": "-5s"}, "POLL_INTERVAL", "duration"),
    ({"POLL_INTERVAL": "soon"}, "POLL_INTERVAL", "duration"),
    ({"PER_PAGE": "0"}, "PER_PAGE", "from 1 to 250"),
    ({"PER_PAGE": "251"}, "PER_PAGE", "from 1 to 250"),
    ({"PAGES": "0"}, "PAGES", "integer from 1"),
    ({"COINGECKO_URL": "notaurl"}, "COINGECKO_URL", "http:// or https://"),
    ({"COINGECKO_URL": "ftp://api.coingecko.com/x"}, "COINGECKO_URL", "http:// or https://"),
    ({"COINGECKO_API_PLAN": "gold"}, "COINGECKO_API_PLAN", "public, demo or pro"),
    ({"COINGECKO_API_PLAN": "pro"}, "COINGECKO_API_PLAN", "needs COINGECKO_API_KEY"),
    ({"COINGECKO_API_KEY_FILE": "/nonexistent/key"}, "COINGECKO_API_KEY_FILE", "cannot read"),
    ({"COINGECKO_API_KEY_FILE": "{dir}"}, "COINGECKO_API_KEY_FILE", "cannot read"),  # a directory: unreadable as a file
    ({"POSTGRES_PORT": "abc"}, "POSTGRES_PORT", "from 1 to 65535"),
    ({"POSTGRES_PORT": "70000"}, "POSTGRES_PORT", "from 1 to 65535"),
    ({"POSTGRES_PASSWORD_FILE": "/nonexistent/pw"}, "POSTGRES_PASSWORD_FILE", "cannot read"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL", "postgres:// or postgresql://"),
    ({"HTTP_ADDR": "foo"}, "HTTP_ADDR", "host:port"),
    ({"HTTP_ADDR": "127.0.0.1:99999"}, "HTTP_ADDR", "port from 0 to 65535"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL", "trace, debug, info"),
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT", "text or json"),
    ({"HTTP_MAX_ATTEMPTS": "0"}, "HTTP_MAX_ATTEMPTS", "from 1 to 10"),
    ({"HTTP_TIMEOUT": "0s"}, "HTTP_TIMEOUT", "duration from"),
    ({"HTTP_CONNECT_TIMEOUT": "abc"}, "HTTP_CONNECT_TIMEOUT", "duration from"),
    ({"MAX_BODY_BYTES": "x"}, "MAX_BODY_BYTES", "byte count"),
    ({"SPOOL_MAX_BYTES": "-1"}, "SPOOL_MAX_BYTES", "byte count"),
    ({"SPOOL_MAX_AGE": "0"}, "SPOOL_MAX_AGE", "duration from"),
    ({"RETENTION": "1y"}, "RETENTION", "duration from"),
    ({"SHUTDOWN_TIMEOUT": "0"}, "SHUTDOWN_TIMEOUT", "from 1s to 10m"),
    ({"RATE_LIMIT_PER_MINUTE": "0"}, "RATE_LIMIT_PER_MINUTE", "above 0"),
    ({"VS_CURRENCY": ""}, "VS_CURRENCY", "1 to 10 letters"),
    ({"VS_CURRENCY": "us d"}, "VS_CURRENCY", "1 to 10 letters"),
    ({"CA_FILE": "/nonexistent/ca.pem"}, "CA_FILE", "readable PEM"),
]


def run(workdir, overrides, args=("run",)):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none",
        "COINGECKO_URL": "http://127.0.0.1:9/api/v3/coins/markets",
        "DATA_DIR": os.path.join(workdir, "data"), "LOG_DIR": os.path.join(workdir, "logs"),
        "HTTP_ADDR": "127.0.0.1:0", "MIGRATIONS_DIR": os.path.join(h.env("ETL_SOURCE_DIR"), "migrations"),
    }
    env.update({k: v.replace("{dir}", workdir) for k, v in overrides.items()})
    try:
        out = subprocess.run([h.env("ETL_BINARY"), *args], env=env, cwd=workdir, capture_output=True,
                             text=True, timeout=15)
    except subprocess.TimeoutExpired:
        h.fail(f"{overrides} {args}: the binary did not exit (it accepted a bad setting and started)")
    return out.returncode, out.stdout + out.stderr


def main():
    workdir = tempfile.mkdtemp(prefix="etl-badcfg-")
    try:
        h.check(len(CASES) >= 20, f"at least 20 bad-configuration cases ({len(CASES)})")
        for overrides, setting, allowed in CASES:
            code, text = run(workdir, overrides)
            lines = [l for l in text.splitlines() if l.strip().startswith("- ")]
            named = [l for l in lines if setting in l]
            h.check(code == 2 and len(named) == 1 and allowed in named[0],
                    f"{overrides}: exit 2 naming {setting} and what is allowed (exit {code}: {named or text[-300:]})")
        h.check(not os.path.exists(os.path.join(workdir, "data")),
                "a rejected configuration creates no DATA_DIR (nothing ran)")

        # Several at once: each one listed, in one run.
        bad = {"POLL_INTERVAL": "0", "PER_PAGE": "251", "COINGECKO_API_PLAN": "gold", "LOG_LEVEL": "loud",
               "POSTGRES_PORT": "abc"}
        code, text = run(workdir, bad)
        missing = [k for k in bad if not any(k in l for l in text.splitlines() if l.strip().startswith("- "))]
        h.check(code == 2 and not missing, f"five bad settings at once: all reported (exit {code}, missing {missing})")

        # The same rules for flags, a .env file, and usage errors.
        code, text = run(workdir, {}, ("run", "--poll-interval=0", "--per-page=0"))
        h.check(code == 2 and "POLL_INTERVAL" in text and "PER_PAGE" in text,
                f"bad flags: exit 2 naming both settings ({text[-300:]})")
        env_file = os.path.join(workdir, "bad.env")
        with open(env_file, "w") as f:
            f.write("PAGES=zero\nLOG_FORMAT=yaml\n")
        code, text = run(workdir, {}, ("run", "--env-file", env_file))
        h.check(code == 2 and "PAGES" in text and "LOG_FORMAT" in text,
                f"bad .env file: exit 2 naming both settings ({text[-300:]})")
        code, text = run(workdir, {}, ("run", "--env-file", os.path.join(workdir, "missing.env")))
        h.check(code == 2 and "--env-file" in text, f"missing --env-file: exit 2 ({text[-200:]})")
        code, text = run(workdir, {}, ("frobnicate",))
        h.check(code == 2 and "unknown command" in text, f"unknown command: exit 2 ({text[-200:]})")
        code, text = run(workdir, {}, ("run", "--no-such-flag=1"))
        h.check(code == 2 and "unknown flag" in text, f"unknown flag: exit 2 ({text[-200:]})")

        # Unwritable DATA_DIR (a path below a regular file cannot be created, even by root).
        blocker = os.path.join(workdir, "blocker")
        open(blocker, "w").close()
        code, text = run(workdir, {"DATA_DIR": os.path.join(blocker, "data")})
        h.check(code == 2 and "DATA_DIR" in text and "not usable" in text,
                f"unwritable DATA_DIR: exit 2 naming DATA_DIR ({text[-300:]})")
        # ... and `check-config` accepts a good configuration (the cases above are not vacuous).
        code, text = run(workdir, {}, ("check-config",))
        h.check(code == 0 and "POLL_INTERVAL" in text, f"a good configuration passes check-config (exit {code})")
    finally:
        subprocess.run(["rm", "-rf", workdir])


if __name__ == "__main__":
    h.run_test(main)
