"""Fixtures: a real loopback HTTP server that records every request (webhooks, a Kubernetes API fake)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Recorder:
    """Requests seen (method, raw path, headers, parsed JSON body); ``respond`` decides the answer."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.respond: Callable[[str, str, object], tuple[int, object]] = lambda m, p, b: (200, {"ok": True})
        self.url = ""


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):  # quiet
            pass

        def _any(self):
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            body = json.loads(raw) if raw else None
            rec.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                 "body": body, "raw": raw})
            status, obj = rec.respond(self.command, self.path, body)
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
    rec.url = f"http://127.0.0.1:{srv.server_address[1]}"
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    t.start()
    try:
        yield rec
    finally:
        srv.shutdown()
        srv.server_close()
