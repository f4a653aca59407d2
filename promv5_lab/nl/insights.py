"""Questions that want an analysis rather than a query: anomaly scans, forecasts, capacity, diagnosis.

:class:`~promv5_lab.investigation.Investigation` sends a question here when :func:`.routes.classify` says so.
The series come from the offline planner (so "the disk", "checkout's DB connections" are grounded in the
catalogue like any question), the numbers from :mod:`promv5_lab.analysis`; every answer's ``details`` holds
the PromQL, the range and step, and the model with its parameters, so a person can re-run it by hand.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, InputError, Promv5Error
from ..types import Clarification, QueryPlan, TimeRange
from ..units import format_duration, format_value, infer_unit
from .insight_charts import anomaly_panels, capacity_panel, evidence_panels, forecast_panel, guarded
from .render import render

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..investigation import Answer, Investigation
    from .routes import Route

__all__ = ["answer"]

log = logging.getLogger(__name__)

TRAIN_S = 86400.0  # history before the window that an anomaly scan calibrates its thresholds on
HISTORY_S = 3 * 86400.0  # history that forecasts and capacity fit on
MAX_SCAN_METRICS = 120
MAX_SCAN_SERIES = 2000
MAX_FIT_SERIES = 12
MAX_LISTED = 8
_FREE = re.compile(r"(?<![a-z])(avail|available|free|remaining|left|headroom)(?![a-z])", re.IGNORECASE)


def answer(inv: Investigation, question: str, route: Route) -> Answer | None:
    """The routed answer, or None when the route is not available (the caller then runs it as a query)."""
    import warnings

    fn = {"anomalies": _anomalies, "capacity": _capacity, "forecast": _forecast, "diagnosis": _diagnosis}[route.kind]
    t0 = time.perf_counter()
    try:
        with warnings.catch_warnings():
            # statsmodels' convergence chatter is not for the user; the model and its fit are in details
            warnings.filterwarnings("ignore", module=r"statsmodels\..*")
            return fn(inv, question, route, t0)
    except Promv5Error as exc:
        return _answer(inv, question, route, None, None, f"The {route.kind} analysis could not answer: {exc.message}",
                       t0, error=str(exc))
    except Exception as exc:  # whatever breaks inside an analysis is an answer, not a dead kernel
        log.warning("the %s analysis failed: %s: %s", route.kind, type(exc).__name__, exc,
                    exc_info=log.isEnabledFor(logging.DEBUG))
        what = f"{type(exc).__name__}: {exc}".strip()[:300]
        return _answer(inv, question, route, None, None,
                       f"The {route.kind} analysis failed inside promv5-lab ({what}). Try a narrower question or "
                       "a shorter range; the log has details at DEBUG level.", t0, error=what)


def _answer(inv: Investigation, question: str, route: Route, plan: QueryPlan | None, promql: str | None,
            text: str, t0: float, *, details: dict[str, Any] | None = None, result: Any = None,
            clarification: Clarification | None = None, error: str | None = None, charts: tuple = ()) -> Answer:
    from ..investigation import Answer

    return Answer(question, plan, clarification, promql, result, text, (time.perf_counter() - t0) * 1000,
                  error=error, route=route.kind, details=details, timezone=inv.tz, charts=charts)


def _iso(t: Any) -> str | None:
    return t.isoformat() if t is not None else None


def _range_json(rng: TimeRange) -> dict[str, Any]:
    return {"start": rng.start.isoformat(), "end": rng.end.isoformat(), "step_s": rng.step_s}


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _step_for(span_s: float, floor: float = 60.0, points: int = 5000) -> float:
    return float(max(floor, math.ceil(span_s / points)))


def _wide(result: Any, step_s: float, name: str) -> pd.DataFrame:
    """One column per series on a regular UTC index with ``freq``, named ``name{labels}`` (a rate or a ratio
    has no ``__name__`` of its own). Grouped by label set: ``frames.to_wide`` builds keys row by row, which
    takes seconds for a day of a few hundred series."""
    import numpy as np
    import pandas as pd

    from ..frames import TIME, VALUE, label_columns, series_key

    frame = result.frame
    labels = [c for c in label_columns(frame) if c != "__name__"]
    ts = pd.DatetimeIndex(frame[TIME]).tz_convert("UTC")
    step = pd.Timedelta(seconds=step_s)
    index = pd.date_range(ts.min(), ts.max(), freq=step, tz="UTC")
    cols: dict[str, pd.Series] = {}
    groups = frame.groupby(labels, sort=True, dropna=False).indices if labels else {(): np.arange(len(frame))}
    values = frame[VALUE].to_numpy(dtype=float)
    for key, rows in groups.items():
        key = key if isinstance(key, tuple) else (key,)
        lab = {k: v for k, v in zip(labels, key) if isinstance(v, str) and v != ""}
        col = series_key({"__name__": name, **lab})
        cols[col] = pd.Series(values[rows], index=ts[rows]).groupby(level=0).last().reindex(index)
    wide = pd.DataFrame(cols, index=index)
    wide.index.freq = step
    wide.index.name = TIME
    return wide


def _plan_series(inv: Investigation, question: str) -> QueryPlan | Clarification:
    """The planner's reading of the question's series: per series (no top-k, no threshold filter)."""
    planned = inv.offline.plan(question)
    if isinstance(planned, QueryPlan):
        planned = replace(planned, topk=None, bottomk=None, comparison=None, compare_offset_s=None)
    return planned


def _clarify(inv: Investigation, question: str, route: Route, c: Clarification, t0: float) -> Answer:
    return _answer(inv, question, route, None, None, c.message, t0, clarification=c,
                   details={"analysis": route.kind, "note": "the series to analyse could not be identified"})


# ---- anomalies ---------------------------------------------------------------------------------------------

def _scan_plans(inv: Investigation, it: Any) -> list[QueryPlan]:
    """One per-series plan per metric of the catalogue, restricted to the label values the question names."""
    from .labels import value_matcher

    cat = inv.offline.catalogue
    plans = []
    for info in sorted(cat.metrics.values(), key=lambda m: m.name):
        matchers = []
        for v in it.values:
            mt = value_matcher(v, info.labels, info)
            if mt is None:
                break
            matchers.append(mt)
        else:
            if info.type == "histogram":
                plans.append(QueryPlan(info.name, "histogram", "quantile", tuple(matchers), quantile=0.95,
                                       by=tuple(info.labels)))
            elif info.type == "counter":
                plans.append(QueryPlan(info.name, "counter", "rate", tuple(matchers)))
            elif info.type != "summary":
                plans.append(QueryPlan(info.name, info.type, "value", tuple(matchers)))
        if len(plans) >= MAX_SCAN_METRICS:
            break
    return plans


def _anomalies(inv: Investigation, question: str, route: Route, t0: float) -> Answer:
    import pandas as pd

    from ..analysis.learn import detect
    from .vocab import LABEL_WORDS, STOPWORDS

    off, now = inv.offline, inv.now
    text = route.question or "all metrics"
    it = off.intent(text, now)
    if it.time.kind == "range" and it.time.start is not None and it.time.end is not None:
        w_start, w_end = it.time.start, it.time.end
    else:
        w_start, w_end = now - timedelta(hours=1), it.time.at or now
    values = {v.word.lower() for v in it.values}
    content = [w for w in it.words if w not in STOPWORDS and w not in LABEL_WORDS and w not in values
               and not w.isdigit() and w not in ("metrics", "all", "everything", "series")]
    plan = None
    if content:
        planned = _plan_series(inv, text)
        if isinstance(planned, Clarification):
            return _clarify(inv, question, route, planned, t0)
        plans = [replace(planned, kind="instant", range=None)]
        plan = planned
    else:
        plans = _scan_plans(inv, it)
    span = (w_end - w_start).total_seconds() + TRAIN_S
    step = _step_for(span)
    rng = TimeRange(w_end - timedelta(seconds=span), w_end, step)
    frames, queries, n_series = [], [], 0
    for p in plans:
        promql = render(p)
        res = inv.backend.query_range(promql, rng)
        if res.frame.empty:
            continue
        wide = _wide(res, step, p.metric if p.ratio is None else promql)
        frames.append(wide)
        queries.append({"promql": promql, "series": list(map(str, wide.columns))})
        n_series += wide.shape[1]
        if n_series >= MAX_SCAN_SERIES:
            break
    details: dict[str, Any] = {"analysis": "anomalies", "window": {"start": w_start.isoformat(),
                               "end": w_end.isoformat()}, "range": _range_json(rng), "queries": queries,
                               "model": "promv5_lab.analysis.detect (streaming scores, per-series learned thresholds)",
                               "scanned_series": n_series, "anomalies": []}
    promql = queries[0]["promql"] if len(queries) == 1 else None
    if not frames:
        return _answer(inv, question, route, plan, promql, "No data to scan in that window.", t0, details=details)
    wide = pd.concat(frames, axis=1)
    wide = wide.loc[:, ~wide.columns.duplicated()]
    index = pd.date_range(wide.index.min(), wide.index.max(), freq=pd.Timedelta(seconds=step), tz="UTC")
    wide = wide.reindex(index)
    wide.index.freq = pd.Timedelta(seconds=step)
    train_end = pd.Timestamp(w_start) - pd.Timedelta(seconds=step)
    training_rows = int((wide.index <= train_end).sum())
    train = slice(None, train_end) if training_rows >= 60 else None
    scores = detect(wide, train=train, counters=[False] * wide.shape[1], progress=False)
    found = [a for a in scores.anomalies if a.end >= w_start and a.start <= w_end]
    found.sort(key=lambda a: -a.peak_score)
    details["params"] = {k: v for k, v in scores.params.items() if k != "config"}
    details["params"]["calibration"] = ("scores before the window" if train is not None else
                                        "the whole span (too little history before the window: retrospective)")
    details["anomalies"] = [{"series": a.series, "start": a.start.isoformat(), "end": a.end.isoformat(),
                             "peak_score": round(a.peak_score, 4), "peak_time": a.peak_time.isoformat(),
                             "threshold": round(a.threshold, 4), "samples": a.samples} for a in found[:50]]
    from ..investigation import local_time

    when = f"between {local_time(w_start, inv.tz)} and {local_time(w_end, inv.tz)[11:]}"
    if not found:
        text_out = f"Nothing unusual {when}: {n_series} series scanned, none crossed its learned threshold."
    else:
        series = sorted({a.series for a in found}, key=lambda s: -max(a.peak_score for a in found if a.series == s))
        listed = "; ".join(
            f"{a.series} from {local_time(a.start, inv.tz)[11:]} to {local_time(a.end, inv.tz)[11:]} "
            f"(score {a.peak_score:.2f}, threshold {a.threshold:.2f})"
            for a in [next(x for x in found if x.series == s) for s in series[:MAX_LISTED]])
        more = f" and {len(series) - MAX_LISTED} more" if len(series) > MAX_LISTED else ""
        text_out = f"{len(series)} of {n_series} series look unusual {when}: {listed}{more}."
    charts = guarded(anomaly_panels, wide, found, queries, w_start, w_end,
                     focus_promql=queries[0]["promql"] if plan is not None and queries else None)
    return _answer(inv, question, route, plan, promql, text_out, t0, details=details, charts=charts)


# ---- forecasts and capacity --------------------------------------------------------------------------------

def _history(inv: Investigation, plan: QueryPlan, horizon_s: float
             ) -> tuple[str, TimeRange, pd.DataFrame, QueryPlan]:
    span = HISTORY_S
    step = _step_for(span, floor=300.0, points=2000)
    rng = TimeRange(inv.now - timedelta(seconds=span), inv.now, step)
    plan = replace(plan, kind="range", range=rng, time=None)
    promql = render(plan)
    res = inv.backend.query_range(promql, rng)
    if res.frame.empty:
        raise InputError(f"The query returned no data over the last {span / 86400:g} days: {promql}",
                         hint="Name the metric or label values differently, or check them with promv5-lab query")
    name = plan.metric
    if plan.ratio is not None:
        name = f"{plan.metric}/{plan.ratio.denominator_metric or plan.metric}"
        name = f"1 - {name}" if plan.ratio.complement else name
    wide = _wide(res, step, name)
    return promql, rng, wide, plan


def _limit_of(plan: QueryPlan, question: str) -> tuple[float | None, str]:
    """The value that means full/exhausted for this plan's series, and why."""
    m = re.search(r"\b(?:reach|hit|cross|exceed)(?:es)?\s+(\d+(?:\.\d+)?)\s*(%|percent)?", question.lower())
    if m:
        v = float(m.group(1))
        pct = bool(m.group(2))
        return (v / 100.0 if pct and plan.ratio is not None else v), "named in the question"
    if plan.ratio is not None and plan.ratio.denominator_metric:
        return 1.0, f"100% of {plan.ratio.denominator_metric}"
    if _FREE.search(plan.metric):
        return 0.0, f"{plan.metric} reaching 0"
    return None, ""


def _capacity(inv: Investigation, question: str, route: Route, t0: float) -> Answer:
    from ..analysis.capacity import time_to_limit

    planned = _plan_series(inv, route.question)
    if isinstance(planned, Clarification):
        return _clarify(inv, question, route, planned, t0)
    limit, why = _limit_of(planned, question)
    if limit is None:
        c = Clarification(question, f"I found {planned.metric} but not the limit it runs into. Ask e.g. "
                          f"'when will {planned.metric} reach 100'.", (planned.metric, *planned.alternatives))
        return _clarify(inv, question, route, c, t0)
    horizon = float(route.horizon_s or 7 * 86400.0)
    promql, rng, wide, planned = _history(inv, planned, horizon)
    last = wide.ffill().iloc[-1]
    order = sorted(wide.columns, key=lambda c: abs(limit - float(last[c])) if math.isfinite(last[c]) else math.inf)
    results = []
    for col in order[:MAX_FIT_SERIES]:
        if wide[col].notna().sum() < 12:
            continue
        results.append(time_to_limit(wide[col], limit, horizon, simulations=200, name=str(col)))
    results.sort(key=lambda r: (r.eta_s is None, r.eta_s or 0.0, -r.probability))
    unit = infer_unit(promql)
    details = {"analysis": "capacity", "promql": promql, "range": _range_json(rng), "limit": limit,
               "limit_reason": why, "horizon_s": horizon, "model": results[0].model if results else None,
               "capacity": [{
                   "series": r.series, "limit": r.limit, "direction": r.direction, "last_value": _num(r.last_value),
                   "eta_s": r.eta_s, "eta": _iso(r.now + timedelta(seconds=r.eta_s)) if r.eta_s is not None else None,
                   "lower_s": r.lower_s, "upper_s": r.upper_s, "level": r.level, "probability": r.probability,
                   "sentence": _sentence(r, unit), "model": r.model,
                   "params": {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in r.params.items()},
               } for r in results]}
    span = f"{horizon / 86400:g} days" if horizon >= 86400 else f"{horizon / 3600:g} hours"
    crossing = [r for r in results if r.eta_s is not None]
    if not results:
        text = "Too little history to estimate when it runs out."
    elif crossing:
        text = f"{len(crossing)} of {len(results)} series reach the limit ({why}) within {span}. Soonest: " + \
            "; ".join(_sentence(r, unit) for r in crossing[:3]) + "."
    else:
        top = max(results, key=lambda r: r.probability)
        text = (f"No series reaches the limit ({why}) within {span} by the forecast; highest risk: "
                f"{_sentence(top, unit)}.")
    shown = (crossing or sorted(results, key=lambda r: -r.probability))[:3]
    charts = tuple(p for r in shown for p in guarded(capacity_panel, wide[r.series], r, r.forecast,
                                                     promql))
    return _answer(inv, question, route, planned, promql, text, t0, details=details, charts=charts)


def _sentence(r: Any, unit: Any = None) -> str:
    """One capacity result in words, the values in their unit (``75%``, ``1.2 GiB``)."""
    last, limit = format_value(r.last_value, unit), format_value(r.limit, unit)
    if r.eta_s == 0.0:
        return f"{r.series} is already at the limit (last value {last}, limit {limit})"
    verb = "reaches" if r.direction == "rising" else "falls to"
    if r.eta_s is None:
        head = (f"{r.series} ({last} now) does not {'reach' if r.direction == 'rising' else 'fall to'} {limit} "
                f"within {format_duration(r.horizon_s)} by the mean forecast")
    else:
        head = f"{r.series} ({last} now) {verb} {limit} in {format_duration(r.eta_s)}"
    if r.lower_s is None:
        tail = f"{r.level:.0%} interval: not within the horizon"
    else:
        hi = format_duration(r.upper_s) if r.upper_s is not None else "beyond the horizon"
        tail = f"{r.level:.0%} interval {format_duration(r.lower_s)} to {hi}"
    return f"{head} ({tail}; P(within {format_duration(r.horizon_s)}) = {r.probability:.0%})"


def _forecast(inv: Investigation, question: str, route: Route, t0: float) -> Answer:
    from ..analysis.forecast import Forecaster

    planned = _plan_series(inv, route.question)
    if isinstance(planned, Clarification):
        return _clarify(inv, question, route, planned, t0)
    horizon = float(route.horizon_s or 86400.0)
    promql, rng, wide, planned = _history(inv, planned, horizon)
    fc = Forecaster()
    out, sentences, charts = [], [], []
    unit = infer_unit(promql)
    for col in list(wide.columns)[:MAX_FIT_SERIES]:
        if wide[col].notna().sum() < 12:
            continue
        r = fc.forecast(wide[col], horizon, name=str(col))
        every = max(1, len(r.mean) // 200)
        out.append({"series": r.series, "model": r.model, "level": r.level,
                    "params": {k: (v if isinstance(v, (int, float, str, bool)) else str(v)) for k, v in r.params.items()},
                    "points": [{"timestamp": t.isoformat(), "mean": _num(m), "lower": _num(lo), "upper": _num(hi)}
                               for t, m, lo, hi in list(zip(r.mean.index, r.mean, r.lower, r.upper))[::every]]})
        end = r.mean.index[-1].to_pydatetime()
        from ..investigation import local_time

        sentences.append(f"{r.series}: {format_value(r.mean.iloc[-1], unit)} at {local_time(end, inv.tz)} "
                         f"({r.level:.0%} interval {format_value(r.lower.iloc[-1], unit)} to "
                         f"{format_value(r.upper.iloc[-1], unit)}; {r.model})")
        if len(charts) < 4:
            charts += guarded(forecast_panel, wide[col], r, promql, inv.now)
    details = {"analysis": "forecast", "promql": promql, "range": _range_json(rng), "horizon_s": horizon,
               "model": out[0]["model"] if out else None, "forecast": out}
    text = ("Forecast: " + "; ".join(sentences[:MAX_LISTED]) + ".") if sentences else \
        "Too little history to forecast."
    if len(wide.columns) > MAX_FIT_SERIES:
        text += f" (first {MAX_FIT_SERIES} of {len(wide.columns)} series)"
    return _answer(inv, question, route, planned, promql, text, t0, details=details, charts=tuple(charts))


# ---- diagnosis ---------------------------------------------------------------------------------------------

class _Watched:
    """The backend as the diagnosis sees it, counting its queries and the ones that failed (which the
    diagnosis forgives one signal at a time)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.calls = self.failed = 0
        self.first_error: BaseException | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def _run(self, fn: Any, *args: Any) -> Any:
        self.calls += 1
        try:
            return fn(*args)
        except Exception as exc:
            self.failed += 1
            self.first_error = self.first_error or exc
            raise

    def query(self, promql: str, time: Any = None) -> Any:
        return self._run(self._backend.query, promql, time)

    def query_range(self, promql: str, time_range: Any) -> Any:
        return self._run(self._backend.query_range, promql, time_range)


def _diagnose_fn() -> Any:
    """``promv5_lab.analysis.rootcause.diagnose`` when it is installed, else None (imported lazily)."""
    try:
        from ..analysis.rootcause import diagnose  # type: ignore[attr-defined]
    except ImportError:
        return None
    return diagnose


def _diagnosis(inv: Investigation, question: str, route: Route, t0: float) -> Answer | None:
    diagnose = _diagnose_fn()
    if diagnose is None:
        return None  # no root-cause analysis in this build: answer the question as a query instead
    from .timeexpr import parse_time

    spec = parse_time(question, inv.now, inv.offline.tz)
    at: datetime = spec.at if spec.kind == "instant" and spec.at is not None else (spec.end or inv.now)
    backend = _Watched(inv.backend)
    logs = inv.backend if callable(getattr(inv.backend, "logs", None)) else None
    traces = inv.backend if callable(getattr(inv.backend, "spans", None)) else None
    diag = diagnose(backend, at, logs=logs, traces=traces)
    if backend.failed and backend.failed >= backend.calls:
        # the diagnosis tolerates failing signals one by one; when every query failed, "no cause" would be a lie
        exc = backend.first_error
        msg = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        raise BackendError(f"all {backend.calls} queries of the diagnosis failed; first: {msg}"[:400],
                           hint=getattr(exc, "hint", None) or "Check the backend with 'promv5-lab query up'")
    failed = ""
    if backend.failed:
        exc = backend.first_error
        failed = (f" ({backend.failed} of {backend.calls} queries failed, so some signals are missing; first: "
                  f"{getattr(exc, 'message', None) or type(exc).__name__})")
    causes = [{"service": c.service, "kind": c.kind, "confidence": c.confidence, "summary": c.summary,
               "evidence": [{"kind": e.kind, "summary": e.summary, "promql": e.promql, "start": _iso(e.start),
                             "end": _iso(e.end), "weight": e.weight} for e in c.evidence]}
              for c in diag.root_causes]
    details = {"analysis": "diagnosis", "at": diag.at.isoformat(), "range": _range_json(diag.window),
               "model": "promv5_lab.analysis.rootcause.diagnose", "backend": diag.backend,
               "query_count": backend.calls, "failed_queries": backend.failed,
               "diagnosis": {"root_causes": causes, "symptoms": list(diag.symptoms),
                             "timeline": [{"at": ev.at.isoformat(), "kind": ev.kind, "service": ev.service,
                                           "summary": ev.summary} for ev in diag.timeline]}}
    from ..investigation import local_time

    top = diag.top
    if top is None:
        text = f"No likely cause found around {local_time(diag.at, inv.tz)}."
    else:
        text = (f"Most likely cause around {local_time(diag.at, inv.tz)}: {top.kind.replace('_', ' ')} at "
                f"{top.service} (confidence {top.confidence:.0%})" + (f": {top.summary}" if top.summary else "") + ".")
        if len(diag.root_causes) > 1:
            text += " Next: " + ", ".join(f"{c.service} {c.kind.replace('_', ' ')} ({c.confidence:.0%})"
                                          for c in diag.root_causes[1:3]) + "."
    text += failed
    promql = next((e.promql for c in diag.root_causes[:1] for e in c.evidence if e.promql), None)
    charts = guarded(evidence_panels, backend, diag, lambda res, step, _q: _wide(res, step, ""))
    return _answer(inv, question, route, None, promql, text, t0, details=details, charts=charts)
