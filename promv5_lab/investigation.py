"""The orchestrator: question -> plan -> backend -> answer, keeping the conversation's context.

``Investigation(backend).ask("p99 latency of checkout")`` plans with the offline planner against the
backend's catalogue, runs the PromQL, and returns an :class:`Answer` (the plan, the PromQL, the result and
one sentence). Follow-ups ("and for payments?", "break it down by route", "over the last week instead",
"compare with yesterday") refine the previous turn's plan.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .errors import Promv5Error
from .nl.routes import RouteKind
from .types import Clarification, QueryPlan, QueryResult, as_utc

__all__ = ["Answer", "ChartPanel", "Investigation"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChartPanel:
    """One chart of a routed answer, as data any surface can draw (the magic, the widget, the app, JSON).

    ``observed`` is wide (UTC ``DatetimeIndex``, one column per series, NaN gaps); ``forecast`` (optional) has
    the same kind of index and the columns ``mean``, ``lower``, ``upper`` (the ``level`` interval) for the
    panel's one series. ``spans`` are shaded time intervals (flagged anomalies, a limit-crossing interval, an
    evidence window: ``span_label`` says which), ``limit`` a horizontal line, ``marks`` labelled vertical
    lines. ``unit`` is :func:`promv5_lab.units.infer_unit` of ``promql``.
    """

    title: str
    promql: str | None
    observed: Any  # pandas.DataFrame (wide)
    unit: Any = None  # promv5_lab.units.Unit
    forecast: Any = None  # pandas.DataFrame with mean/lower/upper, or None
    level: float | None = None
    spans: tuple[tuple[datetime, datetime], ...] = ()
    span_label: str = ""
    limit: float | None = None
    marks: tuple[tuple[str, datetime], ...] = ()

    @property
    def y_label(self) -> str:
        return getattr(self.unit, "label", "") or ""

    def to_json(self, max_points: int = 500) -> dict[str, Any]:
        """Series as ``[[unix seconds, value or null], ...]`` (at most ``max_points`` per series)."""

        def rows(frame: Any, cols: list[str]) -> list[list[Any]]:
            every = max(1, math.ceil(len(frame) / max_points))
            part = frame.iloc[::every]
            return [[ts.timestamp(), *(_finite(part[c].iloc[i]) for c in cols)] for i, ts in enumerate(part.index)]

        out: dict[str, Any] = {
            "title": self.title, "promql": self.promql, "unit": getattr(self.unit, "base", ""),
            "per_second": bool(getattr(self.unit, "per_second", False)), "y_label": self.y_label,
            "series": [{"name": str(c), "values": rows(self.observed, [c])} for c in self.observed.columns],
            "forecast": None, "level": self.level, "spans": [[a.isoformat(), b.isoformat()] for a, b in self.spans],
            "span_label": self.span_label, "limit": self.limit,
            "marks": [{"label": k, "at": t.isoformat()} for k, t in self.marks],
        }
        if self.forecast is not None and not self.forecast.empty:
            out["forecast"] = {"columns": ["timestamp", "mean", "lower", "upper"],
                               "values": rows(self.forecast, ["mean", "lower", "upper"])}
        return out


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass(frozen=True)
class Answer:
    """One turn: the question, the plan (or a clarification), the PromQL run, its result, one sentence."""

    question: str
    plan: QueryPlan | None
    clarification: Clarification | None
    promql: str | None
    result: QueryResult | None
    answer: str
    planning_ms: float = 0.0
    error: str | None = None
    route: RouteKind = "query"
    details: dict[str, Any] | None = None
    timezone: str = "UTC"
    charts: tuple[ChartPanel, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: promql, kind, start, end, step, answer, confidence, series (and the rest).

        ``route`` (alias ``intent``) says which answer this is (query, anomalies, forecast, capacity,
        diagnosis); ``details`` holds that analysis's findings with their provenance (PromQL, range, model);
        ``charts`` the routed answer's chart panels (:meth:`ChartPanel.to_json`); ``unit`` the y unit of a
        query's result (``y_label`` its axis label).
        """
        p = self.plan
        out: dict[str, Any] = {
            "question": self.question, "route": self.route, "intent": self.route, "details": self.details,
            "timezone": self.timezone, "promql": self.promql, "answer": self.answer,
            "kind": p.kind if p else None, "start": None, "end": None, "step": None, "time": None,
            "confidence": p.confidence if p else 0.0, "alternatives": list(p.alternatives) if p else [],
            "notes": list(p.notes) if p else [], "planning_ms": round(self.planning_ms, 2), "series": [],
            "clarification": None, "error": self.error, "unit": None, "y_label": None,
            "charts": [c.to_json() for c in self.charts],
        }
        if self.promql and self.route == "query":
            from .units import infer_unit

            u = infer_unit(self.promql)
            out.update(unit=u.base, y_label=u.label)
        if p and p.kind == "range" and p.range is not None:
            out.update(start=p.range.start.isoformat(), end=p.range.end.isoformat(), step=p.range.step_s)
        elif p and p.time is not None:
            out.update(time=p.time.isoformat(), start=p.time.isoformat(), end=p.time.isoformat())
        if self.clarification is not None:
            out["clarification"] = {"message": self.clarification.message,
                                    "candidates": list(self.clarification.candidates),
                                    "reason": self.clarification.reason}
        if self.result is not None:
            out["series"] = _series(self.result)
        return out


def _series(result: QueryResult) -> list[dict[str, Any]]:
    from .frames import TIME, VALUE, label_columns

    frame = result.frame
    if frame.empty:
        return []
    labels = label_columns(frame)
    out = []
    groups = frame.groupby(labels, sort=True, dropna=False) if labels else [((), frame)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        lab = {k: v for k, v in zip(labels, key) if isinstance(v, str)}
        vals = [[ts.timestamp(), (None if not math.isfinite(v) else float(v))]
                for ts, v in zip(g[TIME], g[VALUE])]
        out.append({"labels": lab, "values": vals})
    return out


def _fmt(v: float, plan: QueryPlan) -> str:
    """A value of ``plan``'s result with its unit (:mod:`promv5_lab.units`, read from the PromQL)."""
    from .nl.render import render
    from .units import format_value, infer_unit

    if not math.isfinite(v):
        return str(v)
    return format_value(v, infer_unit(render(plan)))


def local_time(t: datetime, tz: Any = None) -> str:
    """``2026-11-20 13:00 Europe/Paris`` (the user's wall clock, zone named), or ``... UTC``."""
    from .nl.timeexpr import zone

    z = zone(tz)
    name = getattr(z, "key", None) or "UTC"
    return f"{as_utc(t).astimezone(z):%Y-%m-%d %H:%M} {name}"


def describe(plan: QueryPlan, result: QueryResult, tz: Any = None) -> str:
    """One sentence about the result (times on the wall clock of ``tz``, zone named)."""
    from .frames import VALUE, label_columns

    frame = result.frame
    what = plan.question.strip().rstrip("?") or plan.metric
    if frame.empty:
        return f"No data for {what!r}" + (" (no series matched the filter)" if plan.comparison else "") + "."
    labels = label_columns(frame)
    last = frame.groupby(labels, sort=False, dropna=False)[VALUE].last() if labels else frame[VALUE].iloc[-1:]
    n = len(last)
    if plan.kind == "range" and plan.range is not None:
        when = f"from {local_time(plan.range.start, tz)} to {local_time(plan.range.end, tz)[11:]} (latest values)"
    else:
        when = "now" if plan.time is None else f"at {local_time(plan.time, tz)}"
    if n == 1:
        return f"{what}: {_fmt(float(last.iloc[0]), plan)} {when}."
    top_key = last.idxmax()
    key = top_key if isinstance(top_key, tuple) else (top_key,)
    label_txt = ", ".join(f"{k}={v}" for k, v in zip(labels, key) if isinstance(v, str)) or "one series"
    return f"{what}: {n} series {when}; highest {label_txt} at {_fmt(float(last.max()), plan)}."


@dataclass
class Turn:
    answer: Answer
    at: float = field(default_factory=time.time)


class Investigation:
    """A conversation over one backend. ``now`` (a datetime) pins the clock for reproducible answers.

    ``tz`` (an IANA zone name) is the user's wall clock for "since 14:00" and for the times in answers;
    ``llm`` (an :class:`~promv5_lab.nl.llm.LLMEndpoint`) plans with an OpenAI-compatible model, falling back
    to the offline planner whenever its answer is unusable. ``Investigation.from_settings`` reads both.
    """

    def __init__(self, backend: Any, *, now: datetime | str | float | None = None, planner: Any = None,
                 use_embeddings: bool = True, cache_dir: str | Path | None = None, tz: str | None = None,
                 llm: Any = None) -> None:
        from .nl.timeexpr import zone

        self.backend = backend
        self._now = as_utc(now) if now is not None else None
        self._planner = planner
        self._use_embeddings = use_embeddings
        self._cache_dir = cache_dir
        self.tz = tz or "UTC"
        zone(self.tz)  # an unknown zone is an InputError now, not at the first question
        self.llm = llm
        self.history: list[Turn] = []

    @classmethod
    def from_settings(cls, backend: Any, settings: Any, *, now: datetime | str | float | None = None,
                      use_llm: bool = False, use_embeddings: bool = True, tz: str | None = None) -> Investigation:
        """An investigation configured from :class:`~promv5_lab.config.Settings` (zone, LLM endpoint, cache)."""
        llm = None
        if use_llm:
            from .nl.llm import LLMEndpoint

            llm = LLMEndpoint.from_settings(settings)
        return cls(backend, now=now, use_embeddings=use_embeddings, cache_dir=settings.cache_dir,
                   tz=tz or settings.timezone, llm=llm)

    @property
    def now(self) -> datetime:
        return self._now or datetime.now(timezone.utc)

    def set_now(self, now: datetime | str | float | None) -> None:
        """Pin (or with None, unpin) the clock; the planner follows."""
        self._now = as_utc(now) if now is not None else None
        offline = getattr(self._planner, "offline", self._planner)
        if offline is not None and hasattr(offline, "_now"):
            offline._now = self._now

    def set_timezone(self, tz: str) -> None:
        """Change the user's zone (an IANA name) for the next questions."""
        from .nl.timeexpr import zone

        z = zone(tz)
        self.tz = tz
        offline = getattr(self._planner, "offline", self._planner)
        if offline is not None and hasattr(offline, "tz"):
            offline.tz = z

    def set_llm(self, endpoint: Any) -> None:
        """Plan with this :class:`~promv5_lab.nl.llm.LLMEndpoint` from the next question on (None: offline only)."""
        self.llm = endpoint
        offline = getattr(self._planner, "offline", self._planner)
        if offline is None:
            return
        if endpoint is None:
            self._planner = offline
        else:
            from .nl.llm import LLMPlanner

            self._planner = LLMPlanner(offline, endpoint=endpoint)

    def _build_planner(self, refresh: bool = False) -> Any:
        from .nl.catalogue import catalogue_for
        from .nl.planner import OfflinePlanner

        offline = OfflinePlanner(catalogue_for(self.backend, refresh=refresh), now=self._now,
                                 use_embeddings=self._use_embeddings, cache_dir=self._cache_dir, tz=self.tz)
        if self.llm is None:
            return offline
        from .nl.llm import LLMPlanner

        return LLMPlanner(offline, endpoint=self.llm)

    @property
    def planner(self) -> Any:
        if self._planner is None:
            self._planner = self._build_planner()
        return self._planner

    @property
    def offline(self) -> Any:
        """The offline planner (the LLM planner's fallback and grounding)."""
        return getattr(self.planner, "offline", self.planner)

    def refresh(self) -> None:
        """Re-read the backend's catalogue (new metrics, new label values)."""
        self._planner = self._build_planner(refresh=True)

    def last_plan(self) -> QueryPlan | None:
        for turn in reversed(self.history):
            if turn.answer.plan is not None:
                return turn.answer.plan
        return None

    def plan(self, question: str) -> QueryPlan | Clarification:
        return self.planner.plan(question, context=self.last_plan())

    def ask(self, question: str) -> Answer:
        """Plan, run and describe ``question``; backend errors become an answer with ``error`` set.

        Questions that ask for an analysis ("anything unusual in the last hour?", "will the disk fill up this
        week?", "forecast X for the next day", "why is checkout slow?") are routed to it (:mod:`.nl.routes`).
        """
        from .nl.render import render
        from .nl.routes import classify

        self.planner  # noqa: B018 - build the planner (catalogue, model) outside the planning timer
        if not isinstance(question, str) or not question.strip():
            from .errors import InputError

            raise InputError("The question is empty", hint='Ask e.g. "p95 latency of checkout over the last hour"')
        route = classify(question)
        if route.kind != "query":
            from .nl import insights

            routed = insights.answer(self, question, route)
            if routed is not None:
                self.history.append(Turn(routed))
                return routed
        t0 = time.perf_counter()
        planned = self.plan(question)
        planning_ms = (time.perf_counter() - t0) * 1000
        if isinstance(planned, Clarification):
            ans = Answer(question, None, planned, None, None, planned.message, planning_ms, timezone=self.tz)
            self.history.append(Turn(ans))
            return ans
        promql = render(planned)
        try:
            if planned.kind == "range":
                result = self.backend.query_range(promql, planned.range)
            else:
                result = self.backend.query(promql, planned.time or self.now)
        except Promv5Error as exc:
            ans = Answer(question, planned, None, promql, None, f"The backend could not answer: {exc.message}",
                         planning_ms, error=str(exc), timezone=self.tz)
            self.history.append(Turn(ans))
            return ans
        except Exception as exc:  # a backend (or its client) broke in a way it did not translate: still an answer
            log.warning("the backend failed on %s: %s: %s", promql, type(exc).__name__, exc,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            what = f"{type(exc).__name__}: {exc}"[:300]
            ans = Answer(question, planned, None, promql, None, f"The backend's answer could not be used ({what}).",
                         planning_ms, error=what, timezone=self.tz)
            self.history.append(Turn(ans))
            return ans
        try:
            text = describe(planned, result, self.tz)
        except Exception as exc:  # a result we cannot describe is still shown (chart, JSON), with a plain note
            log.warning("cannot describe the result of %s: %s", promql, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            text = f"{planned.question or promql}: {result.series_count} series (values could not be summarised)."
        ans = Answer(question, planned, None, promql, result, text, planning_ms, timezone=self.tz)
        self.history.append(Turn(ans))
        return ans

    def recall(self, topic: str) -> list[Answer]:
        """Earlier turns about ``topic`` (words of the question, the metric or the PromQL), newest first."""
        from .nl.catalogue import tokens

        want = set(tokens(topic))
        out = []
        for turn in reversed(self.history):
            a = turn.answer
            have = set(tokens(a.question)) | set(tokens(a.promql or ""))
            if want & have:
                out.append(a)
        return out

    def suggest(self) -> list[str]:
        """Next best actions for the last answer (later features fill these in)."""
        plan = self.last_plan()
        if plan is None:
            return ["Ask about latency, errors, traffic or saturation of a service, e.g. 'p95 latency by service'"]
        out = []
        if plan.kind == "instant":
            out.append("over the last 6 hours")
        else:
            out.append("compare with yesterday")
        if not plan.by:
            out.append("break it down by service")
        out += ["forecast this", "show the logs around the spike", "find anomalies in this"]
        return out
