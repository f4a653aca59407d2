"""The Prometheus HTTP API subset clients use, served from an :class:`EmbeddedBackend`.

``/api/v1/query``, ``query_range``, ``series``, ``labels``, ``label/<name>/values``, ``metadata``,
``status/buildinfo`` (GET or POST form), plus ``/-/ready`` and ``/-/healthy``. JSON shapes, error types
and HTTP statuses follow Prometheus 2.42 (bad_data -> 400, execution -> 422, not_found -> 404), so
prometheus-api-client, Grafana and curl work unchanged. Standard library only.
"""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from ...errors import InputError, Promv5Error, QueryError
from .backend import EmbeddedBackend, parse_selector
from .evaluator import MAX_POINTS, TOO_MANY_POINTS, Result
from .values import format_value

log = logging.getLogger(__name__)

STATUS = {"bad_data": 400, "execution": 422, "not_found": 404, "timeout": 503, "canceled": 503}
MIN_TIME_MS = -(2**62)
MAX_TIME_MS = 2**62


_EMPTY = {
    "/api/v1/targets": lambda: {"activeTargets": [], "droppedTargets": []},
    "/api/v1/rules": lambda: {"groups": []},
    "/api/v1/alerts": lambda: {"alerts": []},
    "/api/v1/query_exemplars": lambda: [],
}


class APIError(Exception):
    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message


def parse_time(value: str, name: str) -> int:
    """Prometheus's parseTime: Unix seconds (float) or RFC 3339, to milliseconds."""
    try:
        f = float(value)
    except ValueError:
        from ...types import as_utc

        try:
            return int(round(as_utc(value).timestamp() * 1000))
        except InputError:
            raise APIError("bad_data", f'invalid parameter "{name}": cannot parse "{value}" to a valid timestamp') from None
    if not math.isfinite(f):
        raise APIError("bad_data", f'invalid parameter "{name}": cannot parse "{value}" to a valid timestamp')
    whole = math.trunc(f)
    return int(whole) * 1000 + int(round((f - whole) * 1000))


def parse_step(value: str) -> int:
    """Prometheus's parseDuration: float seconds or a duration like 30s/1m, to milliseconds."""
    try:
        f = float(value)
        return int(f * 1000)
    except ValueError:
        pass
    from ...types import parse_duration

    try:
        return int(round(parse_duration(value) * 1000))
    except InputError:
        raise APIError("bad_data", f'invalid parameter "step": cannot parse "{value}" to a valid duration') from None


def _ts(t_ms: int) -> int | float:
    return t_ms // 1000 if t_ms % 1000 == 0 else t_ms / 1000


def render(res: Result) -> dict[str, Any]:
    if res.kind == "scalar":
        t, v = res.scalar  # type: ignore[misc]
        return {"resultType": "scalar", "result": [_ts(t), format_value(float(v))]}
    if res.kind == "string":
        t, v = res.scalar  # type: ignore[misc]
        return {"resultType": "string", "result": [_ts(t), v]}
    if res.kind == "vector":
        return {"resultType": "vector", "result": [
            {"metric": dict(lab), "value": [_ts(int(ts[0])), format_value(float(vs[0]))]} for lab, ts, vs in res.series]}
    return {"resultType": "matrix", "result": [
        {"metric": dict(lab), "values": [[_ts(t), format_value(v)] for t, v in zip(ts.tolist(), vs.tolist())]}
        for lab, ts, vs in res.series]}


class API:
    """Request parameters in, Prometheus response bodies out (no HTTP here: easy to test)."""

    def __init__(self, backend: EmbeddedBackend) -> None:
        self.backend = backend

    def handle(self, path: str, params: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        try:
            data = self._route(path, params)
            return 200, {"status": "success", "data": data}
        except APIError as exc:
            return STATUS.get(exc.error_type, 400), {"status": "error", "errorType": exc.error_type, "error": exc.message}
        except QueryError as exc:
            msg = exc.message
            if exc.error_type == "bad_data" and "parse error" in msg:
                msg = f'invalid parameter "query": {msg}'
            return STATUS.get(exc.error_type, 422), {"status": "error", "errorType": exc.error_type, "error": msg}
        except Promv5Error as exc:
            return 400, {"status": "error", "errorType": "bad_data", "error": exc.message}
        except Exception as exc:  # a bug in the engine must not kill the server or leak a traceback
            log.exception("internal error serving %s", path)
            return 422, {"status": "error", "errorType": "execution", "error": f"internal error: {exc}"}

    @staticmethod
    def _one(params: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
        vals = params.get(name)
        return vals[-1] if vals else default

    def _route(self, path: str, p: dict[str, list[str]]) -> Any:
        if path == "/api/v1/query":
            q = self._one(p, "query", "")
            t = self._one(p, "time")
            t_ms = parse_time(t, "time") if t else int(time.time() * 1000)
            return render(self.backend.run(q or "", time_ms=t_ms))
        if path == "/api/v1/query_range":
            q = self._one(p, "query", "")
            start = parse_time(self._one(p, "start", "") or "", "start")
            end = parse_time(self._one(p, "end", "") or "", "end")
            if end < start:
                raise APIError("bad_data", 'invalid parameter "end": end timestamp must not be before start time')
            step_s = self._one(p, "step", "") or ""
            step = parse_step(step_s)
            if step <= 0:
                raise APIError("bad_data", 'invalid parameter "step": zero or negative query resolution step '
                                           "widths are not accepted. Try a positive integer")
            if (end - start) // step > MAX_POINTS:
                raise APIError("bad_data", TOO_MANY_POINTS)
            return render(self.backend.run(q or "", start_ms=start, end_ms=end, step_ms=step))
        if path == "/api/v1/series":
            matches = p.get("match[]", [])
            if not matches:
                raise APIError("bad_data", "no match[] parameter provided")
            ids = self._select(matches, p)
            return [dict(self.backend.store.labels[i]) for i in ids]
        if path == "/api/v1/labels":
            ids = self._select(p.get("match[]", []), p)
            return self.backend.store.label_names(ids)
        if path.startswith("/api/v1/label/") and path.endswith("/values"):
            name = unquote(path[len("/api/v1/label/"): -len("/values")])
            import re

            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
                raise APIError("bad_data", f'invalid label name: "{name}"')
            ids = self._select(p.get("match[]", []), p)
            return self.backend.store.label_values(name, ids)
        if path == "/api/v1/metadata":
            metric = self._one(p, "metric")
            try:
                limit = int(self._one(p, "limit", "-1") or -1)
            except ValueError:
                raise APIError("bad_data", "limit must be a number") from None
            out = {}
            for name, m in self.backend.metadata(metric).items():
                if 0 <= limit <= len(out):
                    break
                out[name] = [{"type": m.type, "help": m.help, "unit": m.unit}]
            return out
        if path == "/api/v1/status/buildinfo":
            return self.backend.buildinfo()
        if path in _EMPTY:  # a file store has no scrape targets, rules, alerts or exemplars
            return _EMPTY[path]()
        raise APIError("not_found", f"unknown API endpoint {path}")

    def _select(self, matches: list[str], p: dict[str, list[str]]) -> list[int] | None:
        start, end = self._one(p, "start"), self._one(p, "end")
        if not matches:
            return None
        sets = []
        for m in matches:
            try:
                sets.append(parse_selector(m))
            except QueryError as exc:
                raise APIError("bad_data", exc.message) from None
        s = parse_time(start, "start") if start else MIN_TIME_MS
        e = parse_time(end, "end") if end else MAX_TIME_MS
        return self.backend.store.select_sets(sets, s, e)


class _Handler(BaseHTTPRequestHandler):
    server_version = "promv5-lab-embedded"
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection
    api: API  # set on the subclass made by make_server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle + delayed ACK add ~40 ms
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt: str, *args: Any) -> None:  # route access logs through logging
        log.debug("%s " + fmt, self.address_string(), *args)

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _dispatch(self, params: dict[str, list[str]]) -> None:
        path = urlsplit(self.path).path
        if path in ("/", "/-/ready", "/-/healthy"):
            self._send(200, b"Prometheus-compatible embedded engine is Ready.\n", "text/plain")
            return
        status, body = self.api.handle(path, params)
        self._send(status, json.dumps(body, separators=(",", ":")).encode())

    def do_GET(self) -> None:
        self._dispatch(parse_qs(urlsplit(self.path).query, keep_blank_values=True))

    def do_POST(self) -> None:
        params = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        if length > 10 * 1024 * 1024:
            self._send(413, b'{"status":"error","errorType":"bad_data","error":"request body too large"}')
            return
        body = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        for k, v in parse_qs(body, keep_blank_values=True).items():
            params.setdefault(k, []).extend(v)
        self._dispatch(params)


def make_server(backend: EmbeddedBackend, host: str = "127.0.0.1", port: int = 9090) -> ThreadingHTTPServer:
    """A ready-to-serve HTTP server (call ``serve_forever()``; ``shutdown()`` from another thread)."""
    handler = type("Handler", (_Handler,), {"api": API(backend)})
    try:
        httpd = ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        raise InputError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}",
                         hint="Pick another --port (0 picks a free one)") from exc
    httpd.daemon_threads = True
    return httpd


def serve_in_thread(backend: EmbeddedBackend, host: str = "127.0.0.1", port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start serving in a daemon thread; returns (server, base URL). Stop with ``server.shutdown()``."""
    httpd = make_server(backend, host, port)
    threading.Thread(target=httpd.serve_forever, name="promv5-embedded-http", daemon=True).start()
    h, p = httpd.server_address[:2]
    return httpd, f"http://{h}:{p}"
