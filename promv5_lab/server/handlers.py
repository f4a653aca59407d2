"""Tornado handlers of ``/promv5/*``: authenticated with Jupyter's token, JSON in and out, typed errors.

Status codes: 400 bad input (:class:`InputError`, :class:`ConfigError`), 404 unknown endpoint, 409 a busy
conversation, 413 a body over the endpoint's limit, 502 the backend failed (:class:`BackendError`), 503 an
optional dependency is missing. An unexpected exception is a bug (500, logged with its traceback).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin

from .. import __version__
from ..errors import (
    BackendError,
    ConfigError,
    DemoError,
    HarnessError,
    InputError,
    MissingDependencyError,
    Promv5Error,
)
from .sessions import MAX_QUESTION_CHARS, Busy

__all__ = ["MAX_ASK_BYTES", "MAX_AUDIO_BYTES", "MAX_IMAGE_BYTES", "handlers"]

log = logging.getLogger(__name__)

MAX_ASK_BYTES = 64_000
MAX_AUDIO_BYTES = 20_000_000   # the voice module's own limit (about 10 minutes of 16 kHz WAV)
MAX_IMAGE_BYTES = 30_000_000


class TooLarge(InputError):
    """A request body over the endpoint's limit (HTTP 413)."""


class _NotFound(InputError):
    """No such endpoint under /promv5/ (HTTP 404)."""


def _status_for(exc: Promv5Error) -> int:
    if isinstance(exc, TooLarge):
        return 413
    if isinstance(exc, _NotFound):
        return 404
    if isinstance(exc, Busy):
        return 409
    if isinstance(exc, (BackendError, HarnessError)):
        return 502
    if isinstance(exc, MissingDependencyError):
        return 503
    if isinstance(exc, (InputError, ConfigError, DemoError)):
        return 400
    return 400


def _finite(obj: Any) -> Any:
    """NaN/inf -> None, recursively, so the answer is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class Promv5Handler(ExtensionHandlerMixin, APIHandler):
    """Common parts: the extension app, JSON replies, and errors as JSON with a hint."""

    @property
    def lab(self) -> Any:
        return self.settings["promv5_lab"]

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(_finite(payload), default=str, allow_nan=False))

    def fail(self, exc: Promv5Error) -> None:
        status = _status_for(exc)
        log.info("promv5-lab %s %s -> %d: %s", self.request.method, self.request.path, status, exc.message)
        self.reply({"error": exc.message, "hint": exc.hint, "type": type(exc).__name__, "status": status}, status)

    def body(self, limit: int) -> bytes:
        declared = self.request.headers.get("Content-Length")
        size = len(self.request.body or b"")
        if size > limit or (declared and declared.isdigit() and int(declared) > limit):
            raise TooLarge(f"The request body is {max(size, int(declared or 0)):,} bytes, over the "
                           f"{limit:,}-byte limit of {self.request.path}", hint="Send a smaller body")
        return self.request.body or b""

    def json_body(self, limit: int = MAX_ASK_BYTES) -> dict[str, Any]:
        raw = self.body(limit)
        try:
            data = json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError("The request body is not valid JSON",
                             hint='Send e.g. {"question": "p95 latency of checkout"}') from exc
        if not isinstance(data, dict):
            raise InputError("The request body must be a JSON object", hint='{"question": "..."}')
        return data

    def upload(self, limit: int, field_names: tuple[str, ...]) -> bytes:
        """A raw body, or the first file of a multipart form (fields ``field_names``, else any)."""
        files = self.request.files or {}
        for name in (*field_names, *files):
            if files.get(name):
                data = files[name][0]["body"]
                if len(data) > limit:
                    raise TooLarge(f"The uploaded file is {len(data):,} bytes, over the {limit:,}-byte limit")
                return data
        data = self.body(limit)
        if not data:
            raise InputError("The request has no body",
                             hint="POST the file's bytes, or a multipart form with a 'file' field")
        return data

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` on the extension's worker threads (the IO loop keeps serving)."""
        import asyncio

        return await asyncio.get_running_loop().run_in_executor(self.lab.executor, fn, *args)


class StatusHandler(Promv5Handler):
    @tornado.web.authenticated
    async def get(self) -> None:
        rows = await self.run(capabilities)
        self.reply({"version": __version__, "capabilities": [
            {"capability": c, "state": s, "detail": d} for c, s, d in rows],
            "conversations": self.lab.conversations.describe(), **self.lab._status_extra()})


class AskHandler(Promv5Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            data = self.json_body()
            question = data.get("question")
            if not isinstance(question, str) or not question.strip():
                raise InputError("'question' must be a non-empty string",
                                 hint='e.g. {"question": "p95 latency of checkout over the last hour"}')
            if len(question) > MAX_QUESTION_CHARS:
                raise InputError(f"The question is {len(question):,} characters long",
                                 hint=f"Keep it under {MAX_QUESTION_CHARS:,}")
            at = data.get("at")
            if at is not None:
                from ..types import as_utc

                at = as_utc(at)
            key = self.lab.conversations.key(data.get("backend"), data.get("data"))
            conv = await self.run(self.lab.conversations.get, key)
            answer = await self.run(conv.ask, question.strip(), at)
            answer["backend"] = conv.label
            self.reply(answer)
        except Promv5Error as exc:
            self.fail(exc)


class ResetHandler(Promv5Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            data = self.json_body()
            key = self.lab.conversations.key(data.get("backend"), data.get("data"))
            forgot = await self.run(self.lab.conversations.reset, key)
            self.reply({"reset": forgot})
        except Promv5Error as exc:
            self.fail(exc)


class TranscribeHandler(Promv5Handler):
    """Audio (raw body or multipart ``audio``/``file``) -> transcript; ``?backend=``/``?data=`` pick the
    catalogue whose metric and label names the recogniser's grammar knows (else the open default one)."""

    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            audio = self.upload(MAX_AUDIO_BYTES, ("audio", "file"))
            convs = self.lab.conversations
            backend, data = self.get_argument("backend", None), self.get_argument("data", None)
            key = convs.key(backend, data)
            conv = None
            if backend or data or convs.is_open(key):  # the grammar comes from that backend's catalogue
                conv = await self.run(convs.get, key)
            self.reply(await self.run(_transcribe, audio, conv))
        except Promv5Error as exc:
            self.fail(exc)


class ScreenshotHandler(Promv5Handler):
    @tornado.web.authenticated
    async def post(self) -> None:
        try:
            image = self.upload(MAX_IMAGE_BYTES, ("image", "file"))
            self.reply(await self.run(_screenshot, image))
        except Promv5Error as exc:
            self.fail(exc)


class NotFoundHandler(Promv5Handler):
    def _missing(self, *args: Any) -> None:
        self.fail(_NotFound(f"No endpoint {self.request.method} {self.request.path}",
                            hint="GET /promv5/status; POST /promv5/ask, /promv5/reset, /promv5/transcribe, "
                                 "/promv5/screenshot"))

    get = post = put = delete = patch = tornado.web.authenticated(_missing)


def _transcribe(audio: bytes, conv: Any = None) -> dict[str, Any]:
    from ..voice import transcribe
    from ..voice.responder import catalogue_of

    catalogue = catalogue_of(conv.investigation) if conv is not None else None
    out = transcribe(audio, catalogue=catalogue).to_json()
    out["backend"] = conv.label if conv is not None else None
    return out


def _screenshot(image: bytes) -> dict[str, Any]:
    from ..config import load_settings
    from ..vision import analyze

    return analyze(image, settings=load_settings()).to_json()


def capabilities() -> list[tuple[str, str, str]]:
    """(capability, state, detail): what this installation can do inside Jupyter, and why not.

    Looks packages up without importing them (torch and OpenCV take seconds to import; status must be quick).
    """
    import importlib.util
    import shutil

    from .._deps import EXTRAS

    rows: list[tuple[str, str, str]] = [("ask", "ok", "offline planner on the embedded demo or a Prometheus URL")]
    for cap, module, detail in (
        ("embeddings", "torch", "MiniLM question matching (lexical matching without it)"),
        ("forecasts", "statsmodels", "forecasts and capacity answers"),
        ("voice", "pocketsphinx", "POST /promv5/transcribe"),
        ("screenshots", "cv2", "POST /promv5/screenshot"),
    ):
        if importlib.util.find_spec(module) is not None:
            rows.append((cap, "ok", detail))
        else:
            rows.append((cap, "missing", f'pip install "promv5-lab[{EXTRAS.get(module, "all")}]"'))
    tesseract = shutil.which("tesseract")
    rows.append(("ocr", "ok" if tesseract else "missing",
                 "Tesseract reads panel titles" if tesseract else "apt install tesseract-ocr"))
    return rows


def handlers() -> list[tuple[str, Any]]:
    return [
        (r"/promv5/status/?", StatusHandler),
        (r"/promv5/ask/?", AskHandler),
        (r"/promv5/reset/?", ResetHandler),
        (r"/promv5/transcribe/?", TranscribeHandler),
        (r"/promv5/screenshot/?", ScreenshotHandler),
        (r"/promv5(/.*)?", NotFoundHandler),
    ]
