"""One conversation (backend + :class:`~promv5_lab.investigation.Investigation`) per backend, per server.

Follow-up questions on the same backend keep their context. A conversation answers one question at a time:
a second question while one is running gets :class:`Busy` (HTTP 409), not an interleaved context.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError, Promv5Error

__all__ = ["Busy", "Conversation", "Conversations", "backend_key"]

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class Busy(Promv5Error):
    """The conversation is answering another question (HTTP 409)."""


def backend_key(backend: Any, data: Any, default_url: str | None, default_data: str | None) -> tuple[str | None, str | None]:
    """(backend_url, data_dir) for a request's ``backend`` / ``data`` fields; InputError when they make no sense."""
    if backend is not None and not isinstance(backend, str):
        raise InputError("'backend' must be a string URL", hint='e.g. "http://localhost:9090", or leave it out')
    if data is not None and not isinstance(data, str):
        raise InputError("'data' must be a directory path", hint="a directory written by 'promv5-lab simulate'")
    backend = (backend or "").strip() or None
    data = (data or "").strip() or None
    if backend == "demo":
        return None, None
    if backend and data:
        raise InputError("Give either 'backend' (a URL) or 'data' (a directory), not both")
    if backend:
        if not backend.startswith(("http://", "https://")) or len(backend) > 2000:
            raise InputError(f"Cannot use {backend[:200]!r} as a backend",
                             hint="Give an http(s) URL of a Prometheus-compatible server, or 'demo'")
        return backend.rstrip("/"), None
    if data:
        p = Path(data).expanduser()
        if not p.is_dir():
            raise InputError(f"No such data directory: {data[:300]!r}",
                             hint="Create one with: promv5-lab simulate --out DIR")
        return None, str(p.resolve())
    return default_url, default_data


@dataclass
class Conversation:
    key: tuple[str | None, str | None]
    backend: Any
    investigation: Any
    stack: contextlib.ExitStack
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def label(self) -> str:
        return str(getattr(self.backend, "name", None) or self.key[0] or self.key[1] or "demo")

    def ask(self, question: str, at: Any = None) -> dict[str, Any]:
        """The answer's JSON; raises Busy when another question of this conversation is running."""
        if not self.lock.acquire(blocking=False):
            raise Busy("This conversation is still answering the previous question",
                       hint="Wait for that answer, then ask again")
        try:
            self.investigation.set_now(at)  # None: the real clock (an earlier request's "at" does not stick)
            return self.investigation.ask(question).to_json()
        finally:
            self.lock.release()


class Conversations:
    """The server's conversations, keyed by (backend_url, data_dir); opened on first use."""

    def __init__(self, *, default_backend_url: str | None = None, default_data_dir: str | None = None,
                 use_embeddings: bool = True) -> None:
        self.use_embeddings = use_embeddings
        self.default_backend_url = default_backend_url
        self.default_data_dir = default_data_dir
        self._items: dict[tuple[str | None, str | None], Conversation] = {}
        self._lock = threading.Lock()
        self._opening: dict[tuple[str | None, str | None], threading.Lock] = {}

    def key(self, backend: Any = None, data: Any = None) -> tuple[str | None, str | None]:
        return backend_key(backend, data, self.default_backend_url, self.default_data_dir)

    def is_open(self, key: tuple[str | None, str | None]) -> bool:
        with self._lock:
            return key in self._items

    def get(self, key: tuple[str | None, str | None]) -> Conversation:
        """The conversation for ``key``, opening its backend (and checking it answers) the first time."""
        with self._lock:
            conv = self._items.get(key)
            if conv is not None:
                return conv
            opening = self._opening.setdefault(key, threading.Lock())
        with opening:  # one opener per key; others wait for it
            with self._lock:
                conv = self._items.get(key)
            if conv is not None:
                return conv
            conv = self._open(key)
            with self._lock:
                self._items[key] = conv
            return conv

    def _open(self, key: tuple[str | None, str | None]) -> Conversation:
        from ..backends import telemetry
        from ..config import load_settings
        from ..investigation import Investigation

        settings = load_settings(backend_url=key[0], data_dir=key[1])
        stack = contextlib.ExitStack()
        try:
            backend = stack.enter_context(telemetry(settings))
            backend.query("vector(1)")  # an unreachable URL fails here, clearly, not at planning time
            inv = Investigation.from_settings(backend, settings, use_embeddings=self.use_embeddings)
        except BaseException:
            stack.close()
            raise
        log.info("promv5-lab: opened a conversation on %s", getattr(backend, "name", "backend"))
        return Conversation(key, backend, inv, stack)

    def reset(self, key: tuple[str | None, str | None]) -> bool:
        """Forget the conversation on ``key`` (its context and backend); True when there was one."""
        with self._lock:
            conv = self._items.pop(key, None)
        if conv is None:
            return False
        conv.stack.close()
        return True

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            items = list(self._items.values())
        return [{"backend": c.label, "turns": len(c.investigation.history), "busy": c.lock.locked()} for c in items]

    def close(self) -> None:
        with self._lock:
            items, self._items = list(self._items.values()), {}
        for conv in items:
            with contextlib.suppress(Exception):
                conv.stack.close()
