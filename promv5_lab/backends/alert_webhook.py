"""Receive Alertmanager's webhook and call back once per firing alert (so an alert can start an investigation).

::

    def investigate(alert: Alert) -> None: ...

    with AlertWebhook(investigate, port=9099) as hook:      # http://127.0.0.1:9099/alerts
        ...                                                 # point Alertmanager's webhook_configs url at hook.url

The payload is Alertmanager's webhook JSON, version 4
(https://prometheus.io/docs/alerting/latest/configuration/#webhook_config). It is validated (object,
``version`` "4", ``alerts`` a list of alerts with string labels and RFC 3339 times) before anything is
called: bad JSON or a bad shape -> 400, a body over ``max_body_bytes`` -> 413, a wrong bearer token -> 401,
another path -> 404, another method -> 405. Callbacks run on one worker thread, off the request, so
Alertmanager gets its answer at once; a full queue answers 503 (Alertmanager retries). The same alert
(fingerprint + start) is handed over once, however often Alertmanager repeats it. Label values are
data: they are never formatted into anything executable here.
"""

from __future__ import annotations

import hmac
import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..errors import InputError, Promv5Error
from .alertmanager import Alert

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
MAX_ALERTS = 5000


def parse_payload(body: bytes) -> tuple[dict[str, Any], list[Alert]]:
    """Validate a version-4 webhook body -> (the payload without its alerts, the alerts)."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"The webhook body is not JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise InputError("The webhook body must be a JSON object")
    if str(payload.get("version")) != "4":
        raise InputError(f"Unsupported webhook payload version {str(payload.get('version'))[:20]!r}",
                         hint="Alertmanager sends version 4")
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise InputError("The webhook body has no 'alerts' list")
    if len(alerts) > MAX_ALERTS:
        raise InputError(f"The webhook body has {len(alerts)} alerts (at most {MAX_ALERTS})")
    out = []
    for n, raw in enumerate(alerts):
        if not isinstance(raw, dict) or not isinstance(raw.get("labels"), dict):
            raise InputError(f"Alert {n} of the webhook body has no 'labels' object")
        if raw.get("status") not in ("firing", "resolved"):
            raise InputError(f"Alert {n} has status {str(raw.get('status'))[:20]!r}, not firing/resolved")
        if any(not isinstance(v, str) for v in raw["labels"].values()) or any(
                not isinstance(v, str) for v in (raw.get("annotations") or {}).values()):
            raise InputError(f"Alert {n} has labels or annotations that are not strings")
        out.append(Alert.from_api(raw))
    head = {k: v for k, v in payload.items() if k != "alerts"}
    return head, out


class AlertWebhook:
    """An HTTP server on ``host:port`` (loopback by default) that accepts Alertmanager's webhook at ``path``."""

    def __init__(self, on_alert: Callable[[Alert], None], *, host: str = "127.0.0.1", port: int = 0,
                 path: str = "/alerts", bearer_token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES,
                 include_resolved: bool = False, queue_size: int = 1000, history: int = 100) -> None:
        if not path.startswith("/"):
            raise InputError(f"Webhook path {path!r} must start with /")
        self.on_alert = on_alert
        self.path = path
        self.max_body_bytes = int(max_body_bytes)
        self.include_resolved = include_resolved
        self._token = bearer_token
        self._queue: queue.Queue[Alert | None] = queue.Queue(maxsize=queue_size)
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.payloads: deque[dict[str, Any]] = deque(maxlen=history)  # the last payload heads (no alerts)
        self.delivered: deque[Alert] = deque(maxlen=history)
        self.errors: deque[str] = deque(maxlen=history)
        self._pending = 0
        self._idle = threading.Condition(self._lock)
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{self.path}"

    def start(self) -> AlertWebhook:
        if self._threads:
            return self
        self._threads = [threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                         name="alert-webhook", daemon=True),
                         threading.Thread(target=self._work, name="alert-webhook-worker", daemon=True)]
        for t in self._threads:
            t.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        if self._threads:
            self._httpd.shutdown()
            self._queue.put(None)
            for t in self._threads:
                t.join(timeout)
            self._threads = []
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every accepted alert has been handed to the callback; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    # ---- internals ----------------------------------------------------------------------------------------
    def accept(self, body: bytes) -> int:
        """Validate a body and queue its new firing alerts; returns how many were queued."""
        head, alerts = parse_payload(body)
        fresh = []
        with self._lock:
            self.payloads.append(head)
            for a in alerts:
                if not a.firing and not self.include_resolved:
                    continue
                key = (a.fingerprint or json.dumps(a.labels, sort_keys=True),
                       f"{a.state}@{a.starts_at.isoformat() if a.starts_at else ''}")
                if key in self._seen:
                    continue
                self._seen.add(key)
                fresh.append(a)
            if self._queue.maxsize and self._queue.qsize() + len(fresh) > self._queue.maxsize:
                for a in fresh:
                    self._seen.discard((a.fingerprint or json.dumps(a.labels, sort_keys=True),
                                        f"{a.state}@{a.starts_at.isoformat() if a.starts_at else ''}"))
                raise _Busy()
            self._pending += len(fresh)
        for a in fresh:
            self._queue.put(a)
        return len(fresh)

    def _work(self) -> None:
        while True:
            alert = self._queue.get()
            if alert is None:
                return
            try:
                self.on_alert(alert)
                self.delivered.append(alert)
            except Exception as exc:  # noqa: BLE001 - a failing callback must not stop the receiver
                log.error("webhook callback failed for alert %s: %s: %s", alert.name, type(exc).__name__, exc)
                self.errors.append(f"{alert.name}: {type(exc).__name__}: {exc}")
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def _authorized(self, header: str | None) -> bool:
        if self._token is None:
            return True
        expected = f"Bearer {self._token}".encode()
        return hmac.compare_digest((header or "").encode(), expected)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        hook = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "promv5-alert-webhook"
            timeout = 10

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("webhook %s", format % args)

            def _send(self, status: int, obj: dict[str, Any]) -> None:
                body = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path in ("/-/healthy", "/-/ready"):
                    self._send(200, {"status": "ok"})
                elif self.path.split("?")[0] == hook.path:
                    self._send(405, {"error": "POST the webhook payload here"})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                if self.path.split("?")[0] != hook.path:
                    self._send(404, {"error": f"not found; the webhook is at {hook.path}"})
                    return
                if not hook._authorized(self.headers.get("Authorization")):
                    self._send(401, {"error": "missing or wrong bearer token"})
                    return
                length = self.headers.get("Content-Length")
                if length is None or not length.isdigit():
                    self._send(411, {"error": "Content-Length required"})
                    return
                if int(length) > hook.max_body_bytes:
                    self._send(413, {"error": f"body over {hook.max_body_bytes} bytes"})
                    self.close_connection = True
                    return
                body = self.rfile.read(int(length))
                try:
                    n = hook.accept(body)
                except _Busy:
                    self._send(503, {"error": "busy; retry later"})
                    return
                except Promv5Error as exc:
                    self._send(400, {"error": exc.message, "hint": exc.hint})
                    return
                self._send(200, {"accepted": n})

            def _not_allowed(self) -> None:
                self._send(405, {"error": "method not allowed"})

            do_PUT = do_DELETE = do_PATCH = _not_allowed

        return Handler


class _Busy(Exception):
    """Internal: the callback queue is full."""
