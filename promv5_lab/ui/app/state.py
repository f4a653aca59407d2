"""Process and session state of the Panel app, free of any Panel import (so it is testable on its own).

``AppContext`` is one per server process: the settings, the default backend (opened once, shared by the
sessions that use it), and a small cache of the fleet overview. ``SessionState`` is one per browser tab: its
conversation (an ``Investigation``), its own backend when the user picks another one, and its history.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from ...errors import InputError, Promv5Error

__all__ = ["AppContext", "Overview", "SessionState", "capabilities", "scan_overview"]

log = logging.getLogger(__name__)

# Plain-language questions the overview asks the planner: grounded in whatever catalogue the backend has.
OVERVIEW_QUESTIONS = (
    ("errors", "error ratio by service"),
    ("latency", "p95 latency by service"),
    ("traffic", "requests per second by service"),
)


@dataclass(frozen=True)
class Overview:
    """The fleet's anomalies over a window: per (signal, service) the max score per time bucket."""

    start: datetime
    end: datetime
    bucket_s: float
    cells: tuple[tuple[str, datetime, float], ...]  # (row label "signal/service", bucket start, max score)
    anomalies: tuple[tuple[str, datetime, datetime, float], ...]  # (row, start, end, peak score)
    queries: tuple[tuple[str, str], ...]  # (signal, promql)
    notes: tuple[str, ...] = ()
    elapsed_s: float = 0.0


def scan_overview(backend: Any, *, now: datetime | None = None, hours: float = 6.0, history_hours: float = 24.0,
                  bucket_s: float = 600.0, cache_dir: Any = None) -> Overview:
    """Ask the overview questions over ``history_hours`` and score them with the learned detector.

    The detector learns from the whole window (no peeking ahead: each score uses only earlier samples); the
    heatmap shows the last ``hours``. Rows whose question the catalogue cannot answer are listed in ``notes``.
    """
    import numpy as np
    import pandas as pd

    from ...analysis.learn import detect
    from ...frames import to_wide
    from ...investigation import Investigation

    t0 = time.perf_counter()
    inv = Investigation(backend, now=now, cache_dir=cache_dir)
    end = inv.now
    shown = end - timedelta(hours=hours)
    cells: list[tuple[str, datetime, float]] = []
    anomalies: list[tuple[str, datetime, datetime, float]] = []
    queries: list[tuple[str, str]] = []
    notes: list[str] = []
    for signal, question in OVERVIEW_QUESTIONS:
        ans = inv.ask(f"{question} over the last {int(history_hours)} hours")
        if ans.result is None or ans.promql is None:
            notes.append(f"{signal}: {ans.answer}")
            continue
        queries.append((signal, ans.promql))
        frame = ans.result.frame
        if frame.empty:
            notes.append(f"{signal}: no data for {ans.promql}")
            continue
        wide = to_wide(frame)
        if len(wide) < 30:
            notes.append(f"{signal}: too few points to learn from ({len(wide)})")
            continue
        result = detect(wide, progress=False)
        scores = result.scores
        for col in scores.columns:
            row = f"{signal}/{_short(col)}"
            s = scores[col][scores.index >= pd.Timestamp(shown)]
            if s.empty:
                continue
            binned = s.groupby(s.index.floor(f"{int(bucket_s)}s")).max()
            cells += [(row, ts.to_pydatetime(), float(v if np.isfinite(v) else 0.0)) for ts, v in binned.items()]
        for a in result.anomalies:
            a_end = as_dt(a.end)
            if a_end is not None and a_end >= shown:
                anomalies.append((f"{signal}/{_short(a.series)}", as_dt(a.start), a_end, float(a.peak_score)))
    return Overview(shown, end, bucket_s, tuple(cells), tuple(anomalies), tuple(queries), tuple(notes),
                    time.perf_counter() - t0)


def as_dt(value: Any) -> datetime | None:
    if value is None:
        return None
    from ...types import as_utc

    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    return as_utc(value)


def _short(series_key: Any) -> str:
    """A wide column's label set, shortened to its values ("service=checkout" -> "checkout")."""
    text = str(series_key)
    parts = [p.split("=", 1)[-1].strip('"{} ') for p in text.strip("{}").split(",") if p]
    return ",".join(p for p in parts if p) or text


def capabilities(backend: Any) -> list[tuple[str, str, str]]:
    """(capability, state, detail) rows: what this backend and this installation can do, and why not."""
    from ..._deps import require

    rows = [("metrics", "ok" if backend is not None else "not connected", str(getattr(backend, "name", "")))]
    rows.append(("alerts", "ok" if hasattr(backend, "alerts") else "not available",
                 "from the backend's rules" if hasattr(backend, "alerts") else
                 "this backend has no alerting rules (the embedded engine)"))
    for cap, module, extra in (("charts", "holoviews", "app"), ("forecasts", "statsmodels", "analysis"),
                               ("embeddings", "torch", "ml")):
        try:
            require(module, extra)
            rows.append((cap, "ok", module))
        except Promv5Error as exc:
            rows.append((cap, "missing", exc.hint or exc.message))
    return rows


@dataclass
class AppContext:
    """One per server process. ``backend_url``/``data_dir`` pick the default backend (neither: the demo)."""

    backend_url: str | None = None
    data_dir: str | None = None
    now: datetime | None = None
    overview_ttl_s: float = 120.0
    audit_path: str = "~/.local/state/promv5-lab/audit.db"  # the same default as 'promv5-lab heal'
    _stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _backend: Any = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _overview: tuple[float, Overview] | None = None
    _overview_error: str | None = None

    @property
    def settings(self) -> Any:
        from ...config import load_settings

        return load_settings(backend_url=self.backend_url, data_dir=self.data_dir)

    def backend(self) -> Any:
        with self._lock:
            if self._backend is None:
                from ...backends import telemetry

                self._backend = self._stack.enter_context(telemetry(self.settings))
            return self._backend

    def warm_up(self) -> None:
        """Open the backend, build the planner and load the embedding model before the first visitor."""
        from ...investigation import Investigation

        inv = Investigation(self.backend(), now=self.now, cache_dir=self.settings.cache_dir)
        inv.plan("p95 latency by service")
        self.overview()
        from .layout import create_page

        create_page(self)  # imports Panel's panes and HoloViews once, so the first visitor does not wait

    def overview(self, *, refresh: bool = False) -> Overview:
        with self._lock:
            cached = self._overview
        if cached is not None and not refresh and time.monotonic() - cached[0] < self.overview_ttl_s:
            return cached[1]
        ov = scan_overview(self.backend(), now=self.now, cache_dir=self.settings.cache_dir)
        with self._lock:
            self._overview = (time.monotonic(), ov)
        return ov

    def close(self) -> None:
        with self._lock:
            self._stack.close()
            self._stack = contextlib.ExitStack()
            self._backend = None


class SessionState:
    """One browser session: the conversation, and a backend of its own if the user connects elsewhere."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._stack = contextlib.ExitStack()
        self._own_backend: Any = None
        self.backend_label = "default"
        self._investigation: Any = None
        self.answers: list[Any] = []

    @property
    def backend(self) -> Any:
        return self._own_backend if self._own_backend is not None else self.ctx.backend()

    @property
    def investigation(self) -> Any:
        if self._investigation is None:
            from ...investigation import Investigation

            self._investigation = Investigation(self.backend, now=self.ctx.now,
                                                cache_dir=self.ctx.settings.cache_dir)
        return self._investigation

    def connect(self, target: str) -> str:
        """Point this session at a Prometheus URL, a data directory, or "demo" (the process default)."""
        from ...backends import telemetry
        from ...config import load_settings

        target = (target or "").strip()
        if not target or target == "demo":
            self.close()
            self.backend_label = "default"
            return f"Using the default backend ({getattr(self.ctx.backend(), 'name', '')})"
        if target.startswith(("http://", "https://")):
            settings = load_settings(backend_url=target)
        elif "://" in target:
            raise InputError(f"Cannot use {target!r} as a backend", hint="Give an http(s) URL, a data "
                             "directory from 'promv5-lab simulate', or 'demo'")
        else:
            settings = load_settings(data_dir=target)
        stack = contextlib.ExitStack()
        try:
            backend = stack.enter_context(telemetry(settings))
            backend.query("vector(1)")  # fail now, with a clear message, rather than at the first question
        except BaseException:
            stack.close()
            raise
        self.close()
        self._stack, self._own_backend, self.backend_label = stack, backend, target
        return f"Connected to {getattr(backend, 'name', target)}"

    def ask(self, question: str) -> Any:
        question = (question or "").strip()
        if not question:
            raise InputError("The question is empty", hint="Type a question, e.g. 'p95 latency by service'")
        if len(question) > 2000:
            raise InputError(f"The question is {len(question)} characters long", hint="Keep it under 2,000")
        ans = self.investigation.ask(question)
        self.answers.append(ans)
        return ans

    def close(self) -> None:
        self._stack.close()
        self._stack = contextlib.ExitStack()
        self._own_backend = None
        self._investigation = None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)
