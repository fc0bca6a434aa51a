"""Issue 9, item 11 (hygiene). Before: an API key inside COINGECKO_URL was printed by check-config,
/status and the start-up log line; a key was accepted over plain http:// to a remote host; a
secret given as a flag (visible in ps) passed silently; core dumps were allowed.

Checks, through the built binary: the URL key never appears in check-config, /status, /metrics,
stdout or logs/etl.log (while the daemon really polls with it); a key over http:// to a
non-loopback host is a configuration error (exit 2, naming COINGECKO_URL, key not repeated) for
both the header key and a key in the URL, while https:// and loopback http:// are accepted; a
secret flag draws a warning naming the flag and never the value; DATABASE_URL_FILE works; the
running daemon's core-file limit is 0."""
import os
import shutil
import signal
import subprocess
import tempfile

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
URL_KEY = "CG-urlKeyNeverShown-4f1a9c"
HEADER_KEY = "CG-headerKey-77b2e0"
FLAG_PASSWORD = "flagPassw0rd-visible-in-ps-91c"
DB_PASSWORD = "fileUrlPassw0rd-3d8e"
SECRETS = [URL_KEY, HEADER_KEY, FLAG_PASSWORD, DB_PASSWORD]


def run_binary(env, args, timeout=30):
    out = subprocess.run([h.env("ETL_BINARY"), *args], env=env, capture_output=True, text=True,
                         timeout=h.scaled(timeout))
    return out.returncode, out.stdout + out.stderr


def no_secret(where, text):
    found = [s for s in SECRETS if s in text]
    h.check(not found, f"no secret in {where} ({len(text)} bytes; found {found})")


def main():
    db = h.Database("system_url_key_hygiene")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE))
    work = tempfile.mkdtemp(prefix="etl-hygiene-")
    keyed_url = f"{fake.markets_url}?x_cg_demo_api_key={URL_KEY}&precision=full"
    d = h.Daemon(db, fake, workdir=work, extra_env={"COINGECKO_URL": keyed_url, "LOG_LEVEL": "trace"})
    try:
        # 1. check-config shows the URL with its key redacted.
        code, text = run_binary(d.env, ["check-config"])
        h.check(code == 0, f"check-config accepts a key in a loopback http:// URL ({text[-200:]})")
        line = [l for l in text.splitlines() if l.startswith("COINGECKO_URL=")]
        h.check(line and "x_cg_demo_api_key=<redacted>" in line[0] and "precision=full" in line[0],
                f"check-config shows COINGECKO_URL with the key redacted, other parameters kept ({line})")
        no_secret("check-config", text)

        # 2. The daemon polls with it (the key is really sent) and shows it nowhere.
        d.start()
        d.wait_ready(30)
        h.check(any(URL_KEY in r["query"] for r in fake.requests()), "the URL's key is sent to CoinGecko")
        status, body = d.get("/status")
        h.check(status == 200 and "x_cg_demo_api_key=<redacted>" in body, "/status shows the URL redacted")
        no_secret("/status", body)
        no_secret("/metrics", d.get("/metrics")[1])
        no_secret("/readyz", d.get("/readyz")[1])
        # A failing call (its error text and body excerpt are logged).
        fake.script(["status 401 body=json", "status 500"])
        h.wait_until(lambda: len([r for r in fake.requests() if r["step"] != "ok"]) >= 2, 20, "error responses")

        # 3. Core dumps: the running daemon's core-file limit is 0.
        with open(f"/proc/{d.proc.pid}/limits") as f:
            core = [l for l in f.read().splitlines() if l.startswith("Max core file size")]
        h.check(core and core[0].split()[4:6] == ["0", "0"], f"the daemon's core-file limit is 0 ({core})")
        d.signal(signal.SIGTERM)
        h.check(d.wait_exit(15) == 0, "the daemon stops cleanly")
        no_secret("the daemon's stdout", d.output())
        with open(os.path.join(d.log_dir, "etl.log")) as f:
            log = f.read()
        h.check("polling" in log, "logs/etl.log holds the start-up line (and was searched)")
        no_secret("logs/etl.log", log)

        # 4. A key over plain http:// to a remote host is refused before any request.
        base = {k: v for k, v in d.env.items() if k != "COINGECKO_URL"}
        cases = [
            ("header key, http remote", {"COINGECKO_URL": "http://api.coingecko.com/api/v3/coins/markets",
                                         "COINGECKO_API_KEY": HEADER_KEY}, 2),
            ("URL key, http remote", {"COINGECKO_URL": f"http://10.1.2.3:8080/api/v3/coins/markets?x_cg_pro_api_key={URL_KEY}"}, 2),
            ("header key, https remote", {"COINGECKO_URL": "https://api.coingecko.com/api/v3/coins/markets",
                                          "COINGECKO_API_KEY": HEADER_KEY}, 0),
            ("header key, http localhost", {"COINGECKO_URL": "http://localhost:9/api/v3/coins/markets",
                                            "COINGECKO_API_KEY": HEADER_KEY}, 0),
            ("header key, http [::1]", {"COINGECKO_URL": "http://[::1]:9/api/v3/coins/markets",
                                        "COINGECKO_API_KEY": HEADER_KEY}, 0),
            ("no key, http remote", {"COINGECKO_URL": "http://api.coingecko.com/api/v3/coins/markets"}, 0),
        ]
        for label, env, want in cases:
            code, text = run_binary({**base, **env}, ["check-config"])
            named = [l for l in text.splitlines() if l.strip().startswith("- ") and "COINGECKO_URL" in l]
            if want == 2:
                h.check(code == 2 and len(named) == 1 and "https://" in named[0] and "clear text" in named[0],
                        f"{label}: exit 2 naming COINGECKO_URL and https:// ({code}: {named or text[-300:]})")
            else:
                h.check(code == 0, f"{label}: accepted (exit {code}" + ("" if code == 0 else f": {text[-300:]}") + ")")
            no_secret(f"check-config ({label})", text)

        # 5. A secret as a flag: a warning naming the flag, never the value. DATABASE_URL_FILE
        # carries a password-bearing URL (the test cluster trusts local connections: the
        # password is carried, not checked).
        secret_dir = os.path.join(work, "secrets")
        os.makedirs(secret_dir)
        url_file = os.path.join(secret_dir, "database-url")
        scheme, rest = db.url.split("://", 1)
        user, host = rest.split("@", 1)
        with open(url_file, "w") as f:
            f.write(f"{scheme}://{user}:{DB_PASSWORD}@{host}\n")
        env = {k: v for k, v in base.items() if k != "DATABASE_URL"}
        env["DATABASE_URL_FILE"] = url_file
        env["COINGECKO_URL"] = fake.markets_url
        code, text = run_binary(env, ["migrate", f"--postgres-password={FLAG_PASSWORD}"])
        h.check(code == 0, f"migrate with DATABASE_URL_FILE works ({text[-300:]})")
        warn = [l for l in text.splitlines() if "--postgres-password" in l and "warn" in l]
        h.check(len(warn) == 1 and "POSTGRES_PASSWORD_FILE" in warn[0],
                f"a warning names the secret flag and the safer variable ({warn or text[-300:]})")
        no_secret("migrate's output with a secret flag", text)
        code, text = run_binary(env, ["check-config"])
        h.check(code == 0 and f"{user}:<redacted>@" in text, "check-config shows DATABASE_URL_FILE's URL redacted")
        no_secret("check-config (DATABASE_URL_FILE)", text)
    finally:
        d.cleanup()
        fake.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    h.run_test(main)
