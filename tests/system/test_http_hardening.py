"""Issue 3, item 6: the observability server. Only GET and HEAD on /healthz, /readyz and /metrics
(405 with Allow for other methods there, 404 elsewhere); request size limits on the body, the
URI and the headers; a client that sends part of a request and goes quiet (slowloris) is cut
off by the read timeout (5 s) and never holds a worker for long."""
import socket
import time

import harness as h

PATHS = ("/healthz", "/readyz", "/metrics")


def raw_request(port, data, timeout=15):
    """Sends bytes, returns (status code or None, seconds until the server answered/closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    started = time.monotonic()
    try:
        s.sendall(data)
        reply = b""
        while b"\r\n" not in reply:
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    except (ConnectionResetError, BrokenPipeError):
        reply = b""
    finally:
        s.close()
    took = time.monotonic() - started
    parts = reply.split(b" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None), took


def request(port, method, path, body=b"", headers=""):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return raw_request(port, head.encode() + b"\r\n" + body)


def full_response(port, data):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
    s.close()
    return out


def main():
    # No database and no CoinGecko are needed: the server answers regardless.
    db = type("NoDb", (), {"url": "postgresql://postgres@127.0.0.1:9/none"})()
    d = h.Daemon(db, None, extra_env={"POLL_INTERVAL": "30s"}).start()
    try:
        h.wait_until(lambda: d.get("/healthz")[0] == 200, 15, "/healthz")
        port = d.port
        for path in PATHS:
            status, _ = request(port, "GET", path)
            h.check(status in (200, 503), f"GET {path} answers ({status})")
            head = full_response(port, f"HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            header, _, body = head.partition(b"\r\n\r\n")
            h.check(header.split(b" ")[1] in (b"200", b"503") and body == b"",
                    f"HEAD {path} answers with headers only ({header[:20]!r}, {len(body)} body bytes)")
            for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
                reply = full_response(port, f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                            f"Content-Length: 0\r\n\r\n".encode())
                h.check(reply.startswith(b"HTTP/1.1 405") and b"Allow: GET, HEAD" in reply,
                        f"{method} {path} is 405 with Allow: GET, HEAD")
        for path in ("/", "/admin", "/metrics/../etc/passwd", "/__control/script", "/healthz/x"):
            status, _ = request(port, "GET", path)
            h.check(status == 404, f"GET {path} is 404 ({status})")
        status, _ = request(port, "POST", "/elsewhere", b"x")
        h.check(status in (404, 405), f"POST to an unknown path is refused ({status})")
        for method in ("TRACE", "CONNECT", "FOO"):
            status, _ = request(port, method, "/healthz")
            h.check(status is not None and status >= 400, f"{method} /healthz is refused ({status})")

        # Size limits: body, URI, headers.
        status, _ = request(port, "POST", "/metrics", b"x" * 100_000)
        h.check(status in (405, 413), f"a 100 KB request body is refused ({status})")
        status, _ = request(port, "GET", "/healthz?" + "a" * 20_000)
        h.check(status in (400, 414), f"a 20 KB URI is refused ({status})")
        status, _ = request(port, "GET", "/healthz", headers=f"X-Pad: {'b' * 20_000}\r\n")
        h.check(status in (400, 431, None), f"a 20 KB header line is refused ({status})")

        # Read timeout: part of a request, then silence -> cut off after about 5 s.
        status, took = raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", timeout=30)
        limit = 5 + h.scaled(3)  # the server's own 5 s timer, plus slack that sanitizers stretch
        h.check(took < limit and status in (400, 408, None),
                f"a silent half-request is cut off ({took:.1f}s < {limit:g}s, {status})")
        # Classic slowloris: a header line every 6 s (longer than the read timeout).
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        started = time.monotonic()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        cut = False
        try:
            for i in range(5):
                time.sleep(6)
                s.sendall(f"X-a{i}: b\r\n".encode())
                s.settimeout(0.2)
                try:
                    if s.recv(100) is not None:
                        cut = True
                        break
                except socket.timeout:
                    pass
        except (BrokenPipeError, ConnectionResetError):
            cut = True
        s.close()
        took = time.monotonic() - started
        limit = h.scaled(15)
        h.check(cut and took < limit, f"a slowloris client is cut off ({took:.1f}s < {limit:g}s)")
        # Meanwhile and afterwards the probes answer.
        h.check(d.get("/healthz")[0] == 200, "/healthz answers after the slow clients")
        h.check(h.alive(d), "the daemon is still running")
    finally:
        d.cleanup()


if __name__ == "__main__":
    h.run_test(main)
