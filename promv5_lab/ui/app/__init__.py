"""The Panel app (``promv5-lab serve``): ask, the fleet overview, and the backend with its status.

``serve(port=...)`` blocks; ``start(port=0)`` runs it in a thread and returns ``(server, url)`` for tests.
Binds 127.0.0.1 unless told otherwise; basic auth or OAuth for shared deployments (secrets from the
environment, never printed).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from ..._deps import require
from ...errors import ConfigError

__all__ = ["serve", "start"]

log = logging.getLogger(__name__)


ASSETS = Path(__file__).with_name("assets")


def _offline(pn: Any) -> dict[str, str]:
    """The page loads nothing from outside (air-gapped sites): Bokeh's Tabler icons, which it would fetch from
    cdn.jsdelivr.net, come from the app's own assets (``assets/offline.js`` redirects them)."""
    pn.config.js_files = {**pn.config.js_files, "promv5_offline": "/promv5-assets/offline.js"}
    return {"promv5-assets": str(ASSETS)}


def _server_kwargs(host: str, port: int, basic_auth: str | None, oauth_provider: str | None) -> dict[str, Any]:
    kw: dict[str, Any] = {"port": port, "address": host, "show": False, "title": "promv5-lab",
                          "websocket_origin": [f"{host}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]}
    if basic_auth:
        kw["basic_auth"] = basic_auth
        kw["cookie_secret"] = os.environ.get("PANEL_COOKIE_SECRET") or os.urandom(24).hex()
    if oauth_provider:
        missing = [v for v in ("PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET", "PANEL_COOKIE_SECRET") if not os.environ.get(v)]
        if missing:
            raise ConfigError(f"OAuth needs {', '.join(missing)} in the environment",
                              hint="Set them (see Panel's OAuth docs); they are never printed")
        kw["oauth_provider"] = oauth_provider
    return kw


def _api_patterns(ctx: Any) -> list[tuple[str, Any, dict[str, Any]]]:
    """``POST /api/ask`` {"question": ...} -> the answer as ``promv5-lab ask --json`` gives it.

    One conversation per process (no follow-up context across callers); the planning runs in a worker thread
    so the server keeps serving pages. Only mounted without auth (scripts and the load benchmark on loopback).
    """
    import asyncio
    import json

    from tornado.web import RequestHandler

    from ...errors import InputError, Promv5Error

    class AskHandler(RequestHandler):
        def check_xsrf_cookie(self) -> None:  # a JSON API for scripts, not a form
            return None

        async def post(self) -> None:
            self.set_header("Content-Type", "application/json")
            try:
                if len(self.request.body) > 64_000:
                    raise InputError("The request body is over 64 kB", hint="Send {\"question\": \"...\"}")
                try:
                    question = json.loads(self.request.body or b"{}").get("question")
                except (ValueError, AttributeError) as exc:
                    raise InputError("The body is not a JSON object", hint="Send {\"question\": \"...\"}") from exc
                if not isinstance(question, str) or not question.strip():
                    raise InputError("'question' must be a non-empty string", hint="{\"question\": \"p95 latency\"}")
                from .state import SessionState

                session = SessionState(ctx)
                ans = await asyncio.get_running_loop().run_in_executor(None, session.ask, question)
                self.write(json.dumps(ans.to_json(), default=str))
            except InputError as exc:
                self.set_status(400)
                self.write(json.dumps({"error": exc.message, "hint": exc.hint}))
            except Promv5Error as exc:
                self.set_status(502)
                self.write(json.dumps({"error": exc.message, "hint": exc.hint}))

    return [(r"/api/ask", AskHandler, {})]


def _context(backend_url: str | None, data_dir: str | None, now: datetime | str | None,
             audit_path: str | None = None) -> Any:
    from ...types import as_utc
    from .state import AppContext

    ctx = AppContext(backend_url=backend_url, data_dir=data_dir, now=as_utc(now) if now else None)
    if audit_path:
        ctx.audit_path = str(audit_path)
    return ctx


def start(*, backend_url: str | None = None, data_dir: str | None = None, host: str = "127.0.0.1", port: int = 0,
          now: datetime | str | None = None, basic_auth: str | None = None, warm: bool = True,
          audit_path: str | None = None) -> tuple[Any, str, Any]:
    """Start the app in a background thread: returns (server, base URL, context). Stop with ``server.stop()``."""
    pn = require("panel", "app")
    from .layout import create_page
    from .work import warn_if_panel_threads

    ctx = _context(backend_url, data_dir, now, audit_path)
    if warm:
        ctx.warm_up()
    warn_if_panel_threads(pn)  # the app keeps Panel's event order; slow work runs on its own threads
    if port == 0:
        from ...backends.harness import free_port

        port = free_port()
    kw = _server_kwargs(host, port, basic_auth, None)
    kw["static_dirs"] = _offline(pn)
    if not basic_auth:
        kw["extra_patterns"] = _api_patterns(ctx)
    server = pn.serve({"app": lambda: create_page(ctx)}, threaded=True, start=True, verbose=False, **kw)
    _wait_listening(host, port)
    return server, f"http://{host}:{port}/app", ctx


def _wait_listening(host: str, port: int, timeout_s: float = 30.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(0.5)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise ConfigError(f"The app did not start listening on {host}:{port} within {timeout_s:.0f} s")


def serve(*, backend_url: str | None = None, data_dir: str | None = None, host: str = "127.0.0.1", port: int = 5006,
          now: datetime | str | None = None, basic_auth: str | None = None, oauth_provider: str | None = None,
          audit_path: str | None = None) -> None:
    """Serve the app until interrupted."""
    pn = require("panel", "app")
    from .layout import create_page
    from .work import warn_if_panel_threads

    ctx = _context(backend_url, data_dir, now, audit_path)
    log.info("warming up (backend, catalogue, embeddings)")
    ctx.warm_up()
    warn_if_panel_threads(pn)  # the app keeps Panel's event order; slow work runs on its own threads
    kw = _server_kwargs(host, port, basic_auth, oauth_provider)
    kw["static_dirs"] = _offline(pn)
    if not (basic_auth or oauth_provider):
        kw["extra_patterns"] = _api_patterns(ctx)
    print(f"promv5-lab app on http://{host}:{port}/app (Ctrl-C to stop)", flush=True)
    try:
        pn.serve({"app": lambda: create_page(ctx)}, start=True, verbose=False, **kw)
    finally:
        ctx.close()
