"""A scripted HTTP server on 127.0.0.1 for backend unit tests (real sockets, canned answers).

Imported by name (pytest puts this folder on sys.path); the ``stub`` fixture lives in conftest.py."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One canned answer: status, body (bytes or JSON-able), extra headers, or a custom writer."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    write: Callable[[BaseHTTPRequestHandler], None] | None = None


def ok(data: Any, **extra: Any) -> Reply:
    return Reply(200, {"status": "success", "data": data, **extra})


def err(status: int, error_type: str, error: str) -> Reply:
    return Reply(status, {"status": "error", "errorType": error_type, "error": error})


class StubServer:
    """Answers each request with the next scripted :class:`Reply` (the last one repeats)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = [ok([])]
        self.requests: list[dict[str, Any]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                stub.requests.append({"path": self.path, "headers": dict(self.headers.items())})
                reply = stub.replies.pop(0) if len(stub.replies) > 1 else stub.replies[0]
                if reply.write is not None:
                    reply.write(self)
                    return
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_GET

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests.clear()


def chunked_writer(total_bytes: int, chunk: int = 1 << 16, pause_s: float = 0.0) -> Callable:
    """A writer that streams ``total_bytes`` (chunked, no Content-Length) with optional pauses."""

    def write(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        sent = 0
        piece = b'{"status":"success","data":{"resultType":"vector","result":[' + b" " * chunk
        try:
            while sent < total_bytes:
                data = piece[:chunk]
                handler.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                handler.wfile.flush()
                sent += len(data)
                if pause_s:
                    time.sleep(pause_s)
            handler.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    return write
