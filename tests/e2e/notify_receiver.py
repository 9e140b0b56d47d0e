#!/usr/bin/env python3
"""A webhook receiver for tests/e2e/notify.sh and bench/notify-latency.sh.

  notify_receiver.py --port P --log FILE --mode ok|slow|redirect|tcp
                     [--cert PEM --key PEM | --plain] [--hmac-key FILE] [--delay S]

ok        HTTPS: log each POST (time, path, headers, body, whether its
          X-Jit-Signature verifies with --hmac-key) as a JSON line; answer 200.
slow      the same, but answer only after --delay seconds.
redirect  answer 302 to /elsewhere on this server (which logs if followed).
tcp       plain TCP: log every connection and close it (a proxy that must
          never be used).
--plain   HTTP without TLS (a target that allows http to loopback).
Writes "ready" to FILE.ready once listening.
"""
import argparse
import hashlib
import hmac
import http.server
import json
import socket
import ssl
import sys
import threading
import time


def verify(key, header, body):
    try:
        f = dict(p.split("=", 1) for p in header.split(","))
        mac = hmac.new(key, f["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(mac, f["v1"]) and abs(time.time() - int(f["t"])) < 300
    except Exception:  # noqa: BLE001 - any malformed header is a bad signature
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--mode", choices=["ok", "slow", "redirect", "tcp"], required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--hmac-key")
    ap.add_argument("--delay", type=float, default=10.0)
    ap.add_argument("--plain", action="store_true")
    a = ap.parse_args()
    lock = threading.Lock()
    key = None
    if a.hmac_key:
        with open(a.hmac_key, "rb") as f:
            key = f.read()
        if key.endswith(b"\n"):
            key = key[:-1]

    def log(entry):
        with lock, open(a.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    if a.mode == "tcp":
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", a.port))
        s.listen(16)
        open(a.log + ".ready", "w").write("ready\n")
        while True:
            c, addr = s.accept()
            log({"t": time.time(), "connect": addr[0]})
            c.close()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(n)
            sig = self.headers.get("X-Jit-Signature", "")
            log({
                "t": time.time(), "path": self.path, "mode": a.mode,
                "event": self.headers.get("X-Jit-Event"),
                "delivery": self.headers.get("X-Jit-Delivery"),
                "content_type": self.headers.get("Content-Type"),
                "signature": sig,
                "sig_ok": verify(key, sig, body) if key else None,
                "body": body.decode("utf-8", "backslashreplace"),
                "raw_has_esc": b"\x1b" in body,
                "raw_has_rlo": "\u202e".encode() in body,
            })
            if a.mode == "slow":
                time.sleep(a.delay)
            if a.mode == "redirect" and self.path != "/elsewhere":
                self.send_response(302)
                self.send_header("Location", "https://127.0.0.1:%d/elsewhere" % a.port)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            out = b"ok\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        do_GET = do_POST

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    if not a.plain:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    open(a.log + ".ready", "w").write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
