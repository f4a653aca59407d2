"""The entry point: ``diagnose(backend, at, logs=..., traces=...) -> Diagnosis``.

1. metric signals found from the backend's catalogue (:mod:`.signals`) are queried over
   ``[at - lookback, at]`` and scored: how abnormal each service's golden signals are now, since when;
2. change events: version changes, restarts, ``up`` drops;
3. when a logs backend is given, log templates of the window ``[at - window, at]`` against the baseline
   before it (:mod:`.logs`); when a traces backend is given, the service graph and the error origins of
   the window (:mod:`.traces`);
4. candidates (service x kind) are ranked (:mod:`.rank`), and a timeline is assembled.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ...errors import InputError
from ...types import AlertInfo, Diagnosis, Evidence, TimelineEvent, TimeRange, as_utc, parse_duration

if TYPE_CHECKING:  # pragma: no cover
    from ...backends.base import LogsBackend, TracesBackend

__all__ = ["DEFAULT_LOOKBACK_S", "DEFAULT_WINDOW_S", "diagnose"]

log = logging.getLogger(__name__)

DEFAULT_WINDOW_S = 2 * 3600.0      # where the anomaly (and its onset) is looked for
DEFAULT_LOOKBACK_S = 6 * 3600.0    # the baseline is the lookback before the window
BASELINE_LOG_S = 4 * 3600.0        # log baseline before the window (kept short: logs are the costly part)
MAX_LOG_LINES = 50_000
MAX_SPANS = 100_000


def diagnose(backend: Any, at: datetime | str | float, *, logs: LogsBackend | None = None,
             traces: TracesBackend | None = None, window: str | float | TimeRange | None = None,
             progress: bool = False, step: str | float | None = None,
             lookback: str | float | None = None, alerts: Sequence[AlertInfo] = ()) -> Diagnosis:
    """Why is something wrong at ``at``? Ranked root causes with their evidence, symptoms and a timeline.

    ``backend`` is a MetricsBackend + MetricCatalogue (the embedded engine, Prometheus). ``window`` is how
    far before ``at`` the trouble may have started (a duration, default 2h, or a TimeRange whose ``end``
    is ``at``); ``lookback`` the whole span queried (default 6h, the part before the window is the
    baseline); ``step`` the query resolution (default 60 s). ``alerts`` (e.g. the firing alerts an
    Alertmanager webhook delivered) join the timeline and the evidence of the service they name; an alert
    usually fires where users feel the trouble, so it marks a symptom, not the cause.
    """
    from ...nl.catalogue import catalogue_for
    from .rank import Inputs, rank
    from .signals import change_events, discover, hosts_of, measure

    t0 = time.perf_counter()
    if not hasattr(backend, "query_range") or not hasattr(backend, "metadata"):
        raise InputError("diagnose() needs a metrics backend with a catalogue (query_range, metadata)",
                         hint="Pass EmbeddedBackend.open(DIR) or PrometheusBackend(URL)")
    at_dt, window_s = _window(at, window)
    step_s = parse_duration(step) if step is not None else 60.0
    lookback_s = parse_duration(lookback) if lookback is not None else max(DEFAULT_LOOKBACK_S, window_s + 3 * 3600)
    if lookback_s <= window_s:
        raise InputError(f"lookback ({lookback_s:g}s) must be longer than the window ({window_s:g}s)",
                         hint="The part of the lookback before the window is the baseline")
    bar = _bar(progress)
    cat = catalogue_for(backend)
    specs = discover(cat)
    if not specs:
        raise InputError(f"No golden signals found in {getattr(backend, 'name', 'the backend')}",
                         hint="Root cause needs request counters, latency histograms or saturation gauges "
                              "labelled by service or job")
    bar("metrics")
    stats, failed = measure(backend, specs, at_dt, lookback_s=lookback_s, window_s=window_s, step_s=step_s)
    for spec, err in failed:
        log.info("signal %s failed: %s", spec.promql, err)
    events = change_events(backend, cat, at_dt, lookback_s=lookback_s, step_s=step_s)
    hosts = hosts_of(backend, cat, at_dt)
    win_start = at_dt - timedelta(seconds=window_s)
    inputs = Inputs(at_dt, win_start, stats, events, hosts=hosts)
    if logs is not None:
        bar("logs")
        inputs.surges = _log_surges(logs, at_dt, win_start)
    if traces is not None:
        bar("traces")
        _trace_facts(traces, inputs, TimeRange(win_start, at_dt, step_s))
    bar("rank")
    causes, symptoms = rank(inputs)
    causes, symptoms = _with_alerts(causes, symptoms, alerts, win_start, at_dt)
    timeline = _timeline(inputs, causes) + _alert_events(alerts, win_start, at_dt)
    timeline.sort(key=lambda e: (e.at, e.kind, e.service or ""))
    bar(None)
    return Diagnosis(at=at_dt, window=TimeRange(win_start, at_dt, step_s), root_causes=tuple(causes),
                     timeline=tuple(timeline), symptoms=tuple(symptoms), backend=str(getattr(backend, "name", "")),
                     elapsed_s=round(time.perf_counter() - t0, 3))


def _window(at: datetime | str | float, window: str | float | TimeRange | None) -> tuple[datetime, float]:
    if isinstance(window, TimeRange):
        return window.end, max(window.seconds, 600.0)
    at_dt = as_utc(at)
    return at_dt, parse_duration(window) if window is not None else DEFAULT_WINDOW_S


def _bar(enabled: bool):
    if not enabled:
        return lambda stage: None
    from tqdm import tqdm

    bar = tqdm(total=4, desc="diagnose", unit="stage", leave=False)

    def step(stage: str | None) -> None:
        if stage is None:
            bar.close()
            return
        bar.set_postfix_str(stage)
        bar.update(1)

    return step


def _log_surges(logs: LogsBackend, at: datetime, win_start: datetime):
    from .logs import template_surges

    base_start = win_start - timedelta(seconds=BASELINE_LOG_S)
    window = logs.logs(TimeRange(win_start, at, 60.0), limit=MAX_LOG_LINES)
    baseline = logs.logs(TimeRange(base_start, win_start, 60.0), limit=MAX_LOG_LINES)
    return template_surges(window, baseline, window_s=(at - win_start).total_seconds(),
                           baseline_s=(win_start - base_start).total_seconds())


def _trace_facts(traces: TracesBackend, inputs, span: TimeRange) -> None:
    from .traces import dependency_graph, error_paths, graph_dict

    spans = traces.spans(span, limit=MAX_SPANS)
    if spans is None or spans.empty:
        return
    inputs.graph = graph_dict(dependency_graph(spans))
    inputs.errors = error_paths(spans)
    systems: dict[str, str] = {}
    if "attributes" in spans.columns:
        for svc, attrs in zip(spans["service"], spans["attributes"]):
            if svc not in systems and isinstance(attrs, dict) and attrs.get("db.system"):
                systems[str(svc)] = str(attrs["db.system"])
    inputs.span_systems = systems
    # self-time per service/operation: after the first metric onset (or the last 30 min) vs before the window
    onsets = [st.onset for st in inputs.stats if st.abnormal and st.onset is not None]
    since = max(min(onsets), span.start) if onsets else span.end - timedelta(minutes=30)
    try:
        before = traces.spans(TimeRange(span.start - timedelta(seconds=BASELINE_LOG_S), span.start, span.step_s),
                              limit=MAX_SPANS)
    except Exception as exc:  # noqa: BLE001 - the self-time comparison is optional evidence
        log.info("no baseline spans: %s", exc)
        return
    inputs.self_time = _self_time_change(spans[spans["start"] >= since], before)


def _self_time_change(now, before):
    """Per (service, operation): mean self-time now vs before, and how many spans each side has."""
    from .traces import self_times

    if now.empty or before is None or before.empty:
        return None
    j = self_times(now).merge(self_times(before), on=["service", "operation"], suffixes=("_now", "_before"))
    j = j[(j["spans_now"] >= 3) & (j["spans_before"] >= 3)]
    out = j.assign(ratio=(j["self_ms_mean_now"] + 0.05) / (j["self_ms_mean_before"] + 0.05))
    return out[["service", "operation", "spans_now", "spans_before", "self_ms_mean_now", "self_ms_mean_before",
                "ratio"]]


def _timeline(inp, causes) -> list[TimelineEvent]:
    out: list[TimelineEvent] = []
    for e in inp.events:
        if e.at >= inp.window_start - timedelta(minutes=15):
            out.append(TimelineEvent(e.at, e.kind if e.kind != "version" else "deploy", e.service, e.summary))
    seen: set[tuple[str, str]] = set()
    for st in sorted(inp.stats, key=lambda s: (s.onset or inp.at)):
        if st.abnormal and st.onset is not None and (st.entity, st.spec.role) not in seen:
            seen.add((st.entity, st.spec.role))
            out.append(TimelineEvent(st.onset, "anomaly", None if st.spec.host_level else st.entity,
                                     f"{st.spec.description} [{st.entity}] becomes abnormal"))
    for sg in inp.surges[:5]:
        if sg.first_seen is not None:
            out.append(TimelineEvent(as_utc(sg.first_seen.to_pydatetime()), "log_surge", sg.service,
                                     f"{sg.service}: {sg.window_count} x '{sg.template}'"
                                     f" ({'new' if sg.new else f'x{sg.ratio:.1f}'})"))
    return sorted(out, key=lambda e: (e.at, e.kind, e.service or ""))


def _alert_service(a: AlertInfo) -> str | None:
    return a.labels.get("service") or a.labels.get("job") or None


def _alert_events(alerts: Sequence[AlertInfo], start: datetime, at: datetime) -> list[TimelineEvent]:
    out = []
    for a in alerts:
        when = as_utc(a.active_at) if a.active_at is not None else at
        if when <= at:
            out.append(TimelineEvent(when, "alert", _alert_service(a), f"alert {a.name} {a.state}"))
    return out


def _with_alerts(causes, symptoms, alerts: Sequence[AlertInfo], start: datetime, at: datetime):
    """Alerts add evidence to the candidates of the service they name, and their service to the symptoms."""
    if not alerts:
        return causes, symptoms
    out = []
    named = {s for s in (_alert_service(a) for a in alerts) if s}
    for c in causes:
        mine = [a for a in alerts if _alert_service(a) == c.service]
        if mine:
            ev = tuple(Evidence("alert", f"alert {a.name} is {a.state} for {c.service}", start=start, end=at,
                                detail=tuple(sorted((k, str(v)) for k, v in a.labels.items()))) for a in mine)
            c = replace(c, evidence=c.evidence + ev)
        out.append(c)
    best = out[0].service if out else None
    return out, sorted(set(symptoms) | {s for s in named if s != best})
