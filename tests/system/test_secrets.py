"""Issue 3, item 6: secrets never leak. The daemon runs with known secret values -- a demo API key
the fake server requires (--require-key), a PostgreSQL password in DATABASE_URL (the test cluster
trusts local connections, so the password is configured and carried but never checked), then
POSTGRES_PASSWORD / POSTGRES_PASSWORD_FILE with awkward characters, and a database that refuses
connections -- and every output is searched for the secrets: stdout/stderr, logs/etl.log, every
file under data/, /metrics, /readyz, /healthz, check-config, and configuration error text."""
import os
import signal
import subprocess
import tempfile
import urllib.parse

import harness as h

FIXTURE = "madjin__daily-crypto__markets_usd_top100_2026-04-30.json"
API_KEY = "CG-kn0wnTestKey-7c41e9d2"
PG_PASSWORD = "pgS3cretInUrl-91ab"
PG_PASSWORD_ODD = "p@ss w0rd:/%&'quoted'-5e2f"
SECRETS = [API_KEY, PG_PASSWORD, PG_PASSWORD_ODD, urllib.parse.quote(PG_PASSWORD_ODD, safe=""),
           API_KEY[3:], PG_PASSWORD[2:-2]]


def leaks(where, text):
    found = [s for s in SECRETS if s in text]
    h.check(not found, f"no secret in {where} ({len(text)} bytes searched; found {found})")


def search_tree(where, root):
    for dirpath, _, files in os.walk(root):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read().decode("utf-8", "replace")
            found = [s for s in SECRETS if s in data or s in name]
            if found:
                h.fail(f"secret {found} in {os.path.join(dirpath, name)}")
    h.check(True, f"no secret in any file (or file name) under {where}")


def with_password(url, password):
    scheme, rest = url.split("://", 1)
    user, host = rest.split("@", 1)
    return f"{scheme}://{user}:{urllib.parse.quote(password, safe='')}@{host}"


def run_binary(env, args, timeout=20):
    out = subprocess.run([h.env("ETL_BINARY"), *args], env=env, capture_output=True, text=True, timeout=timeout)
    return out.returncode, out.stdout + out.stderr


def main():
    db = h.Database("system_secrets")
    fake = h.FakeCoinGecko(h.fixture(FIXTURE), extra=("--require-key", API_KEY))
    work = tempfile.mkdtemp(prefix="etl-secrets-")
    secret_dir = work
    d = h.Daemon(db, fake, workdir=work, extra_env={
        "DATABASE_URL": with_password(db.url, PG_PASSWORD), "COINGECKO_API_KEY": API_KEY,
        "COINGECKO_API_PLAN": "demo", "LOG_LEVEL": "trace"})
    try:
        # 1. A normal run with both secrets: it must work (the key really is sent) and leak nothing.
        d.start()
        d.wait_ready(timeout=30)
        reqs = fake.requests()
        h.check(reqs and all(r["key_header"] == "x-cg-demo-api-key" for r in reqs),
                "the demo key travels in the x-cg-demo-api-key header")
        h.check(not any(API_KEY in r["query"] for r in reqs), "the key is never in the URL")
        for path in ("/metrics", "/readyz", "/healthz"):
            leaks(path, d.get(path)[1])
        # A failing CoinGecko call (its error body is logged) and a 401 streak.
        fake.script(["status 401 body=json", "status 500", "status 500", "status 500", "status 500"])
        h.wait_until(lambda: len([r for r in fake.requests() if r["step"] != "ok"]) >= 5, 20, "error responses")
        leaks("/readyz after errors", d.get("/readyz")[1])
        d.signal(signal.SIGTERM)
        h.check(d.wait_exit(10) == 0, "the secret-bearing daemon stops cleanly")

        # 2. A database that refuses connections, with the password in the URL: error text.
        refused = with_password(f"postgresql://postgres@127.0.0.1:{h.free_port()}/nowhere", PG_PASSWORD)
        d2 = h.Daemon(db, fake, workdir=work, extra_env={**d.env, "DATABASE_URL": refused})
        d2.start()
        h.wait_until(lambda: "database" in d2.get("/readyz")[1] and "unavailable" in d2.output(), 20,
                     "the daemon to report the unreachable database")
        leaks("/readyz with the database down", d2.get("/readyz")[1])
        leaks("/metrics with the database down", d2.get("/metrics")[1])
        d2.signal(signal.SIGTERM)
        d2.wait_exit(10)
        leaks("stdout with the database down", d2.output())
        code, text = run_binary(d2.env, ["migrate"])
        h.check(code == 1, f"migrate against a refusing database exits 1 ({code})")
        leaks("migrate's error text", text)

        # 3. POSTGRES_* parts with an awkward password, straight and from a _FILE: a real `once`.
        parts = {k: v for k, v in d.env.items() if k != "DATABASE_URL"}
        parts.update({"POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": db.url.rsplit(":", 1)[1].split("/")[0],
                      "POSTGRES_USER": "postgres", "POSTGRES_DB": db.name, "POSTGRES_PASSWORD": PG_PASSWORD_ODD})
        code, text = run_binary(parts, ["once"], timeout=60)
        h.check(code == 0, f"`once` with POSTGRES_PASSWORD works ({text[-300:]})")
        leaks("`once` output (POSTGRES_PASSWORD)", text)
        secret_dir = tempfile.mkdtemp(prefix="etl-secret-files-")  # the only place the secrets may be
        pw_file = os.path.join(secret_dir, "pg-password")
        with open(pw_file, "w") as f:
            f.write(PG_PASSWORD_ODD + "\n")
        key_file = os.path.join(secret_dir, "api-key")
        with open(key_file, "w") as f:
            f.write(API_KEY + "\n")
        from_files = {k: v for k, v in parts.items() if k not in ("POSTGRES_PASSWORD", "COINGECKO_API_KEY")}
        from_files.update({"POSTGRES_PASSWORD_FILE": pw_file, "COINGECKO_API_KEY_FILE": key_file})
        code, text = run_binary(from_files, ["once"], timeout=60)
        h.check(code == 0, f"`once` with the secrets in _FILE variables works ({text[-300:]})")
        leaks("`once` output (_FILE secrets)", text)

        # 4. check-config for every form, and configuration errors next to secrets.
        for label, env in (("DATABASE_URL", d.env), ("POSTGRES_PASSWORD", parts), ("_FILE", from_files)):
            code, text = run_binary(env, ["check-config"])
            h.check(code == 0 and "<redacted>" in text, f"check-config ({label}) shows <redacted>")
            leaks(f"check-config ({label})", text)
        bad = {**d.env, "POLL_INTERVAL": "0",
               "DATABASE_URL": with_password(db.url, PG_PASSWORD).replace("127.0.0.1", "127.0.0.1 x")}
        code, text = run_binary(bad, ["run"])
        h.check(code == 2 and "DATABASE_URL" in text, f"a malformed DATABASE_URL is a config error ({text[-300:]})")
        leaks("configuration error text", text)
        code, text = run_binary({**parts, "PER_PAGE": "0"}, ["check-config"])
        h.check(code == 2, "a bad setting next to POSTGRES_PASSWORD exits 2")
        leaks("configuration error text (parts)", text)

        # 5. Everything the runs left on disk: stdout captures, logs/etl.log, data/.
        leaks("daemon stdout", d.output())
        search_tree("the logs", d.log_dir)
        h.check(os.path.getsize(os.path.join(d.log_dir, "etl.log")) > 0, "logs/etl.log was written (and searched)")
        search_tree("DATA_DIR", d.data_dir)
        h.check(len(d.raw_files()) > 0, "data/raw was written (and searched)")
        search_tree("the whole work directory", work)
    finally:
        d.cleanup()
        fake.stop()
        subprocess.run(["rm", "-rf", secret_dir])


if __name__ == "__main__":
    h.run_test(main)
