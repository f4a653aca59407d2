"""A tiny threaded loopback HTTP server for fakes: route GETs to a handler, record requests, check a token."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Handler = Callable[[str, dict[str, list[str]], dict[str, str]], tuple[int, Any]]


class FakeServer:
    """``handle(path, query, headers) -> (status, body)``; a str body is sent as text, anything else as JSON."""

    def __init__(self, handle: Handler, *, bearer_token: str | None = None) -> None:
        self.handle = handle
        self.bearer_token = bearer_token
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        fake = self

        class _H(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query, keep_blank_values=True)
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.requests.append((unquote(parts.path), query,
                                      {k: v for k, v in headers.items() if k != "authorization"}))
                if fake.bearer_token and headers.get("authorization") != f"Bearer {fake.bearer_token}":
                    status, body = 401, "unauthorized\n"
                else:
                    try:
                        status, body = fake.handle(unquote(parts.path), query, headers)
                    except Exception as exc:  # noqa: BLE001 - a fake answers 500 like a broken server would
                        status, body = 500, f"fake failed: {type(exc).__name__}: {exc}\n"
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if isinstance(body, str) else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def arg(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    got = query.get(name)
    return got[0] if got else default
