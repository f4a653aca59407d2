"""HTTP front of the live world (stdlib ``ThreadingHTTPServer``).

Endpoints::

    GET    /metrics               shop services, Prometheus text (scrape with honor_labels: true)
    GET    /metrics/node          node-exporter style metrics of node-1..3
    GET    /admin/state           each service's health, versions, replicas; active faults; recent actions
    GET    /admin/faults          injectable fault types with their default and allowed target services
    POST   /admin/faults          {"type": "db_pool_exhaustion", "service": "checkout"?} -> 201 {"id": ...}
    DELETE /admin/faults/{id}     clear a fault by hand -> 200
    POST   /admin/actions         {"action": "restart", "service": "checkout", "params": {}} -> 200
                                  {"effective": true|false, "resolved": [...], "message": ...}

Errors are JSON ``{"error": message, "hint": hint}``: 400 bad JSON / unknown type, service or action,
404 unknown fault id or path, 405 wrong method, 409 a fault already active, 413 body over 64 KiB.
A client that goes away mid-request or mid-answer (a scrape timeout, a closed browser tab) is logged at
debug level and forgotten; nothing is printed to stderr for it.

Use from Python (tests)::

    with DemoServer(seed=1, port=0) as srv:   # starts in a thread on a free port
        requests.get(srv.url + "/metrics")
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import DemoError, InputError, Promv5Error, UnknownFault
from .live import LiveWorld

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
TEXT_CT = "text/plain; version=0.0.4; charset=utf-8"
# The client hung up (or stalled past the timeout): nothing to answer, nobody to tell.
CLIENT_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)


class _ApiError(Exception):
    def __init__(self, status: int, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


def _status_of(exc: Promv5Error) -> int:
    if isinstance(exc, UnknownFault):
        return 404 if exc.message.startswith("No active fault") else 400
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, DemoError):
        return 409
    return 400


class _Handler(BaseHTTPRequestHandler):
    server_version = "promv5-demo/1"
    timeout = 15  # seconds a client may dawdle on a request before its thread gives up
    live: LiveWorld  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # route to logging, never stderr
        log.debug("%s - %s", self.address_string(), format % args)

    def handle(self) -> None:
        try:
            super().handle()
        except CLIENT_GONE as exc:
            self.close_connection = True
            log.debug("client %s went away: %s", self.address_string(), type(exc).__name__)

    # -- plumbing
    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, (json.dumps(obj, indent=1) + "\n").encode(), "application/json")

    def _body(self) -> dict:
        raw_len = self.headers.get("Content-Length")
        try:
            n = int(raw_len) if raw_len is not None else 0
        except ValueError:
            raise _ApiError(400, f"Bad Content-Length {raw_len!r}") from None
        if n < 0:
            raise _ApiError(400, f"Bad Content-Length {raw_len!r}")
        if n > MAX_BODY:
            raise _ApiError(413, f"Request body of {n} bytes is over the {MAX_BODY}-byte limit")
        raw = self.rfile.read(n) if n else b""
        if not raw.strip():
            raise _ApiError(400, "Request body is empty; send a JSON object", 'e.g. {"type": "disk_fill"}')
        try:
            obj = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise _ApiError(400, f"Request body is not valid JSON: {exc}") from None
        if not isinstance(obj, dict):
            raise _ApiError(400, "Request body must be a JSON object")
        return obj

    def _dispatch(self, method: str) -> None:
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        try:
            self._route(method, path)
        except CLIENT_GONE:
            raise  # no one left to answer: handle() notes it
        except _ApiError as exc:
            self._json(exc.status, {"error": exc.message, "hint": exc.hint})
        except Promv5Error as exc:
            self._json(_status_of(exc), {"error": exc.message, "hint": exc.hint})
        except Exception as exc:  # a bug must not kill the server: answer 500 and log it
            log.exception("demo server error on %s %s", method, path)
            self._json(500, {"error": f"internal error: {type(exc).__name__}"})

    def _route(self, method: str, path: str) -> None:
        lw = self.live
        routes = {"/metrics", "/metrics/node", "/admin/state", "/admin/faults", "/admin/actions", "/"}
        if path.startswith("/admin/faults/"):
            if method != "DELETE":
                raise _ApiError(405, f"{method} not allowed on {path}", "Use DELETE /admin/faults/{id}")
            f = lw.clear(path.rsplit("/", 1)[1])
            return self._json(200, {"cleared": f.to_json()})
        if path not in routes:
            raise _ApiError(404, f"No such endpoint {path}", "See GET / for the endpoints")
        allowed = {"/admin/faults": ("GET", "POST"), "/admin/actions": ("POST",)}.get(path, ("GET",))
        if method not in allowed:
            raise _ApiError(405, f"{method} not allowed on {path}", f"Allowed: {', '.join(allowed)}")
        if path == "/":
            return self._json(200, {"endpoints": [
                "GET /metrics", "GET /metrics/node", "GET /admin/state", "GET /admin/faults", "POST /admin/faults",
                "DELETE /admin/faults/{id}", "POST /admin/actions"]})
        if path == "/metrics":
            return self._send(200, lw.metrics_text("services").encode(), TEXT_CT)
        if path == "/metrics/node":
            return self._send(200, lw.metrics_text("node").encode(), TEXT_CT)
        if path == "/admin/state":
            return self._json(200, lw.state())
        if path == "/admin/faults" and method == "GET":
            return self._json(200, {"faults": lw.fault_types(), "active": lw.state()["active_faults"]})
        body = self._body()
        if path == "/admin/faults":
            kind, svc = body.get("type"), body.get("service")
            if not isinstance(kind, str):
                raise _ApiError(400, 'Field "type" (a string) is required', "GET /admin/faults lists the types")
            if svc is not None and not isinstance(svc, str):
                raise _ApiError(400, 'Field "service" must be a string')
            f = lw.inject(kind, svc)
            return self._json(201, {"id": f.id, "fault": f.to_json()})
        action, svc, params = body.get("action"), body.get("service"), body.get("params", {})
        if not isinstance(action, str):
            raise _ApiError(400, 'Field "action" (a string) is required',
                            "restart, rollback, scale, clear_disk or flush_cache")
        if svc is not None and not isinstance(svc, str):
            raise _ApiError(400, 'Field "service" must be a string')
        if not isinstance(params, dict):
            raise _ApiError(400, 'Field "params" must be a JSON object')
        return self._json(200, lw.act(action, svc, params).to_json())

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_PUT(self) -> None:
        self._dispatch("PUT")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """socketserver prints these to stderr; a client hanging up is routine, anything else a bug to log."""
        exc = sys.exc_info()[1]
        if isinstance(exc, CLIENT_GONE):
            log.debug("client %s went away: %s", client_address, type(exc).__name__)
        else:
            log.error("demo server: unhandled error serving %s", client_address, exc_info=True)  # noqa: LOG014 - socketserver calls this inside its except


class DemoServer:
    """The live world behind HTTP; ``start()`` serves in a daemon thread, ``stop()`` shuts it down."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 42, time_scale: float = 1.0,
                 world: LiveWorld | None = None) -> None:
        self.live = world or LiveWorld(seed, time_scale=time_scale)
        handler = type("DemoHandler", (_Handler,), {"live": self.live})
        try:
            self.httpd = _Server((host, port), handler)
        except OSError as exc:
            raise InputError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}",
                             hint="Pick another --port (0 = any free port)") from exc
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return str(self.httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DemoServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="promv5-demo-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout)
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(*, host: str = "127.0.0.1", port: int = 9464, seed: int = 42, time_scale: float = 1.0,
                  echo: Callable[[str], Any] = print) -> None:
    """Serve in the foreground until SIGINT or SIGTERM, then shut down cleanly."""
    srv = DemoServer(host=host, port=port, seed=seed, time_scale=time_scale)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: object) -> None:
        stop.set()

    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    srv.start()
    echo(f"Demo shop live at {srv.url} (seed {seed}): GET /metrics, /metrics/node, /admin/state, /admin/faults; "
         f"POST /admin/faults, /admin/actions. Ctrl-C or SIGTERM stops it.")
    try:
        while not stop.wait(0.5):
            pass
    finally:
        srv.stop()
        for s, h in old.items():
            signal.signal(s, h)
        echo("Demo shop stopped.")
