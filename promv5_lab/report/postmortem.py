"""Build a :class:`~.models.Postmortem` from a backend: impact, timeline, diagnosis, actions, follow-ups.

The window comes from, in order: ``window``, the demo incident (``incidents.json``, shown as "known
(demo)"), the diagnosis's window, or 30 minutes either side of ``at``. The root cause is the diagnosis
the tool found (:func:`promv5_lab.analysis.rootcause.diagnose` when it is installed, or the one passed
in), never the demo's ground truth. Every query runs through a :class:`~.gather.RecordingBackend`, so the
appendix lists all of them with their ranges.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import Promv5Error
from ..types import Diagnosis, TimeRange, as_utc
from .actions import action_runs, audit_rows
from .gather import RecordingBackend, Signals, chart_from_result, find_signals, wide
from .models import (
    CauseView,
    Chart,
    EvidenceView,
    FollowUp,
    Impact,
    KnownTruth,
    ModelRecord,
    Postmortem,
    ServiceImpact,
    TimelineEntry,
)
from .rules import alert_rule_followups

__all__ = ["build_postmortem"]

log = logging.getLogger(__name__)

BUDGET_DAYS = 30
LOOKBACK = timedelta(hours=6)
MAX_EVIDENCE_CHARTS = 4
STAGES = ("diagnosis", "anomaly onsets", "impact", "evidence charts", "actions and rules", "capacity")
OVERLAP_NOTE = ("Per service: a request that fails at one service often fails its callers too, so the rows overlap; "
                "the headline is the service with the most failed requests.")


def build_postmortem(backend: Any, *, at: datetime | str | None = None, incident: Any = None,
                     diagnosis: Diagnosis | None = None, logs: Any = None, traces: Any = None,
                     audit: Iterable[Any] | None = None, window: TimeRange | None = None, slo: float = 0.999,
                     capacity: bool = True, detect_anomalies: bool = True, title: str | None = None,
                     turns: Iterable[Any] = (), progress: bool = False) -> Postmortem:
    """Gather a postmortem. ``incident``: a demo :class:`~promv5_lab.demo.incidents.Incident`;
    ``audit``: audit entries (any objects with the AuditEntry fields); ``turns``: an Investigation's answers;
    ``progress``: a bar of the stages on stderr."""
    from tqdm.auto import tqdm

    from .forecast import _one_blas_thread

    with _one_blas_thread(), tqdm(total=len(STAGES), desc="postmortem", unit="stage", disable=not progress,
                                  file=sys.stderr, leave=False) as bar:
        return _postmortem(backend, at, incident, diagnosis, logs, traces, audit, window, slo, capacity,
                           detect_anomalies, title, turns, bar)


def _postmortem(backend: Any, at: datetime | str | None, incident: Any, diagnosis: Diagnosis | None, logs: Any,
                traces: Any, audit: Iterable[Any] | None, window: TimeRange | None, slo: float, capacity: bool,
                detect_anomalies: bool, title: str | None, turns: Iterable[Any], bar: Any) -> Postmortem:
    from ..errors import InputError

    def stage(name: str) -> None:
        bar.set_postfix_str(name)
        bar.update(1)

    if not 0.5 < slo < 1.0:
        raise InputError(f"SLO target must be between 0.5 and 1, got {slo}", hint="e.g. 0.999 for 99.9 %")
    rec = RecordingBackend(backend)
    notes: list[str] = []
    known = _known(incident) if incident is not None else None
    if at is not None:
        at_t = as_utc(at)
    elif known is not None:
        at_t = known.start + (known.end - known.start) / 2
    elif diagnosis is not None:
        at_t = diagnosis.at
    else:
        raise InputError("A postmortem needs a time or an incident", hint="Pass --at TIME or --incident ID")
    models: list[ModelRecord] = []
    if diagnosis is None:
        diagnosis = _diagnose(rec, at_t, logs, traces, notes)
    stage("diagnosis")
    if diagnosis is not None:
        models.append(ModelRecord("promv5_lab.analysis.rootcause", "root cause ranking",
                                  (("at", diagnosis.at.isoformat()), ("backend", diagnosis.backend or rec.name),
                                   ("window", f"{diagnosis.window.start.isoformat()} .. {diagnosis.window.end.isoformat()}"),
                                   ("elapsed_s", f"{diagnosis.elapsed_s:.2f}"))))
    if window is not None:
        win, source = window, "given"
    elif known is not None:
        win, source = TimeRange(known.start, known.end, 60.0), "incident window from incidents.json (known, demo)"
    elif diagnosis is not None:
        win, source = diagnosis.window, "window of the diagnosis"
    else:
        win, source = TimeRange(at_t - timedelta(minutes=30), at_t + timedelta(minutes=30), 60.0), "30 min either side of --at"
    step = 60.0
    signals = find_signals(rec)
    context = TimeRange(win.start - timedelta(hours=1), win.end + timedelta(hours=1), step)
    shade = ((win.start, win.end),)
    charts: list[Chart] = []
    timeline: list[TimelineEntry] = []

    # The diagnosis already found the anomaly onsets (same detector); detect here only without them.
    diagnosed = diagnosis is not None and any(e.kind == "anomaly" for e in diagnosis.timeline)
    onsets = (_detect(rec, signals, win, step, models, notes)
              if detect_anomalies and signals.requests and not diagnosed else [])
    timeline += onsets
    stage("anomaly onsets")
    impact = _impact(rec, signals, win, source, slo, notes)
    stage("impact")

    if signals.requests:
        with rec.purpose("overview chart"):
            err_q = _error_ratio(signals, by=True)
            charts.append(chart_from_result(rec.query_range(err_q, context), "overview-errors",
                                            "Error ratio (5xx) by service", shade=shade, y_label="ratio"))
            rate_q = f"sum by ({signals.service_label}) (rate({signals.selector()}[5m]))"
            charts.append(chart_from_result(rec.query_range(rate_q, context), "overview-traffic",
                                            "Requests per second by service", shade=shade, y_label="req/s"))

    root, contributing = None, ()
    symptoms: tuple[str, ...] = ()
    if diagnosis is not None:
        views = [_cause_view(rc) for rc in diagnosis.root_causes]
        if views:
            root, ev_charts = _evidence_charts(rec, views[0], context, shade)
            charts += ev_charts
            contributing = tuple(views[1:4])
        symptoms = diagnosis.symptoms
        timeline += [TimelineEntry(as_utc(e.at), e.kind, e.service, e.summary, "diagnosis") for e in diagnosis.timeline]
    if known is not None:
        timeline.append(TimelineEntry(known.start, "incident start", known.root_cause_service,
                                      f"{known.type}: {known.description}", "known (demo)"))
        timeline.append(TimelineEntry(known.end, "incident end", known.root_cause_service,
                                      f"the fix that ends it: {known.remediation}", "known (demo)"))
    stage("evidence charts")
    with rec.purpose("alerts"):
        timeline += _alerts(rec, context, notes)

    actions = ()
    if audit is not None:
        rows = audit_rows(audit)
        lo, hi = win.start - timedelta(hours=1), win.end + timedelta(hours=2)
        actions = action_runs([r for r in rows if lo <= r.at <= hi])
        for a in actions:
            timeline.append(TimelineEntry(a.at, "action", a.target, f"{a.action} ({a.approval}; {a.outcome})", "audit"))
    timeline.sort(key=lambda e: (e.at, e.source))
    resolution = _resolution(rec, signals, win, impact, actions)

    follow_ups: list[FollowUp] = []
    fired = any(e.source == "alert" for e in timeline)
    follow_ups += alert_rule_followups(signals, impact, root, charts, fired=fired, slo=slo)
    if root is None:
        follow_ups.append(FollowUp("investigate", "Find the root cause",
                                   "No automated diagnosis was available; run `promv5-lab investigate --at "
                                   f"{at_t.isoformat()}` or examine the evidence charts by hand."))
    stage("actions and rules")
    if capacity:
        follow_ups += _capacity(rec, win.end, notes, models)
    stage("capacity")
    for turn in turns:
        _record_turn(rec, turn)
    summary = _summary(impact, root, actions, resolution, known)
    return Postmortem(
        title=title or (f"Postmortem: {known.incident_id}" if known else f"Postmortem: incident at {at_t:%Y-%m-%d %H:%M} UTC"),
        generated_at=datetime.now(timezone.utc), backend=rec.name, at=at_t, window=win, summary=summary,
        impact=impact, timeline=tuple(timeline), root_cause=root, contributing=contributing, symptoms=symptoms,
        actions=tuple(actions), resolution=resolution, follow_ups=tuple(follow_ups), charts=tuple(charts),
        queries=tuple(rec.records), models=tuple(models), known=known, notes=tuple(dict.fromkeys(notes)))


def _known(incident: Any) -> KnownTruth:
    return KnownTruth(incident.id, incident.type, incident.root_cause_service, as_utc(incident.start),
                      as_utc(incident.end), incident.remediation, incident.description)


def _diagnose(rec: RecordingBackend, at: datetime, logs: Any, traces: Any, notes: list[str]) -> Diagnosis | None:
    try:
        from ..analysis.rootcause import diagnose
    except ImportError:
        notes.append("Root-cause analysis is not available in this installation (promv5_lab.analysis.rootcause).")
        return None
    try:
        with rec.purpose("diagnosis"):
            return diagnose(rec, at, logs=logs, traces=traces)
    except Promv5Error as exc:
        notes.append(f"The diagnosis failed: {exc.message}")
        return None


def _error_ratio(signals: Signals, *, by: bool, service: str | None = None, window: str = "5m") -> str:
    grp = f" by ({signals.service_label})" if by else ""
    return (f"sum{grp} (rate({signals.selector(service, errors=True)}[{window}])) / "
            f"sum{grp} (rate({signals.selector(service)}[{window}]))")


def _detect(rec: RecordingBackend, signals: Signals, win: TimeRange, step: float, models: list[ModelRecord],
            notes: list[str]) -> list[TimelineEntry]:
    """Anomaly onsets of the golden signals per service near the window (the detector, calibrated before it)."""
    import pandas as pd

    from ..analysis.learn import detect

    span = TimeRange(win.start - LOOKBACK, win.end + timedelta(hours=1), step)
    svc = signals.service_label
    queries = {"errors": _error_ratio(signals, by=True),
               "traffic": f"sum by ({svc}) (rate({signals.selector()}[5m]))"}
    if signals.latency:
        queries["latency p90"] = (f"histogram_quantile(0.9, sum by ({svc}, le) "
                                  f"(rate({signals.latency}_bucket[5m])))")
    frames = []
    with rec.purpose("anomaly detection"):
        for what, q in queries.items():
            try:
                res = rec.query_range(q, span)
            except Promv5Error as exc:
                notes.append(f"Detection skipped {what}: {exc.message}")
                continue
            if res.frame.empty:
                continue
            w = wide(res.frame, step)
            w.columns = [f"{what} {c}" for c in w.columns]
            frames.append(w)
    if not frames:
        return []
    matrix = pd.concat(frames, axis=1)
    matrix.index.freq = pd.Timedelta(seconds=step)
    cut = win.start - timedelta(minutes=30)
    try:
        scores = detect(matrix, train=slice(None, pd.Timestamp(cut)), progress=False)
    except Promv5Error as exc:
        notes.append(f"Anomaly detection failed: {exc.message}")
        return []
    models.append(ModelRecord("promv5_lab.analysis.learn.detect", "first anomaly (onsets of golden signals)",
                              tuple((k, str(v)) for k, v in scores.params.items() if k != "config")
                              + (("thresholds", "learned per series on the span before " + cut.isoformat()),)))
    out = []
    lo, hi = win.start - timedelta(minutes=30), win.end + timedelta(minutes=30)
    for a in scores.anomalies:
        start, end = as_utc(a.start), as_utc(a.end)
        if end < lo or start > hi:
            continue
        what, _, series = a.series.partition(" ")
        service = _label_value(series, svc)
        out.append(TimelineEntry(start, "anomaly onset", service,
                                 f"{what} of {service or series} anomalous (peak score {a.peak_score:.2f})", "detector"))
        out.append(TimelineEntry(end, "anomaly end", service, f"{what} of {service or series} back to normal", "detector"))
    return out


def _label_value(series_key: str, label: str) -> str | None:
    import re

    m = re.search(rf'(?:^|[{{,]){re.escape(label)}="((?:[^"\\]|\\.)*)"', series_key)
    return m.group(1).replace('\\"', '"').replace("\\\\", "\\") if m else None


def _values(res: Any, label: str) -> dict[str, float]:
    out: dict[str, float] = {}
    f = res.frame
    if f.empty:
        return out
    for _, row in f.iterrows():
        key = str(row[label]) if label in f.columns else "all"
        v = float(row["value"])
        if math.isfinite(v):
            out[key] = v
    return out


def _impact(rec: RecordingBackend, signals: Signals, win: TimeRange, source: str, slo: float,
            notes: list[str]) -> Impact:
    dur = max(win.seconds, 60.0)
    base = Impact(win.start, win.end, dur, source, None, None, None, slo, None, None, None)
    if not signals.requests or not signals.status_label:
        notes.append("No request counter with a status label was found: impact in requests is not available.")
        return base
    svc, rng = signals.service_label, f"{int(dur)}s"
    with rec.purpose("impact"):
        failed = _values(rec.query(f"sum by ({svc}) (increase({signals.selector(errors=True)}[{rng}]))", win.end), svc)
        total = _values(rec.query(f"sum by ({svc}) (increase({signals.selector()}[{rng}]))", win.end), svc)
        daily = _values(rec.query(f"sum by ({svc}) (rate({signals.selector()}[1d]))", win.start), svc)
        p90_during, p90_before = {}, {}
        if signals.latency:
            lat = f"histogram_quantile(0.9, sum by ({svc}, le) (rate({signals.latency}_bucket[{{w}}])))"
            p90_during = _values(rec.query(lat.format(w=rng), win.end), svc)
            p90_before = _values(rec.query(lat.format(w="1h"), win.start), svc)
    budget = 1.0 - slo
    rows = []
    for s in sorted(total):
        t, b = total[s], failed.get(s, 0.0)
        ratio = b / t if t > 0 else None
        expected = daily.get(s, 0.0) * BUDGET_DAYS * 86400
        rows.append(ServiceImpact(s, b, t, ratio, ratio / budget if ratio is not None else None,
                                  b / (budget * expected) if expected > 0 else None, p90_before.get(s),
                                  p90_during.get(s)))
    rows.sort(key=lambda r: -r.failed)
    worst = rows[0] if rows and rows[0].failed > 0 else None
    if worst is None:
        notes.append("No failed requests were counted in the window.")
    w = worst or (rows[0] if rows else None)
    return Impact(win.start, win.end, dur, source, w.failed if w else None, w.total if w else None,
                  w.error_ratio if w else None, slo, w.budget_burned if w else None, w.burn_rate if w else None,
                  w.service if w else None, tuple(rows), (OVERLAP_NOTE,), _slowest(rows))


def _slowest(rows: list[ServiceImpact]) -> str | None:
    """The service whose p90 latency rose the most, if it at least doubled."""
    best, ratio = None, 2.0
    for r in rows:
        if r.p90_before and r.p90_during and r.p90_during / r.p90_before >= ratio:
            best, ratio = r.service, r.p90_during / r.p90_before
    return best


def _cause_view(rc: Any) -> CauseView:
    ev = tuple(EvidenceView(e.kind, e.summary, e.promql, e.start, e.end, tuple(e.detail), e.weight)
               for e in rc.evidence)
    return CauseView(rc.service, rc.kind, rc.confidence, rc.summary, ev)


def _evidence_charts(rec: RecordingBackend, view: CauseView, context: TimeRange, shade: tuple
                     ) -> tuple[CauseView, list[Chart]]:
    from dataclasses import replace

    charts, evidence = [], []
    for e in view.evidence:
        if e.promql and len(charts) < MAX_EVIDENCE_CHARTS:
            cid = f"evidence-{len(charts) + 1}"
            try:
                with rec.purpose("root-cause evidence"):
                    res = rec.query_range(e.promql, context)
            except Promv5Error as exc:
                evidence.append(replace(e, summary=f"{e.summary} (chart unavailable: {exc.message})"))
                continue
            charts.append(chart_from_result(res, cid, e.summary, shade=shade))
            e = replace(e, chart_id=cid)
        evidence.append(e)
    return replace(view, evidence=tuple(evidence)), charts


def _alerts(rec: RecordingBackend, context: TimeRange, notes: list[str]) -> list[TimelineEntry]:
    """Alerts that fired in the window, from the ALERTS series Prometheus records."""
    try:
        res = rec.query_range('ALERTS{alertstate="firing"}', context)
    except Promv5Error as exc:
        notes.append(f"Alerts could not be read: {exc.message}")
        return []
    f = res.frame
    if f.empty:
        return []
    out = []
    labels = [c for c in f.columns if c not in ("timestamp", "value")]
    for key, g in f.groupby(labels, sort=True, dropna=False):
        lab = dict(zip(labels, key if isinstance(key, tuple) else (key,)))
        name = str(lab.get("alertname", "alert"))
        service = lab.get("service") or lab.get("job")
        out.append(TimelineEntry(as_utc(g["timestamp"].min().to_pydatetime()), "alert firing",
                                 str(service) if isinstance(service, str) else None, f"alert {name} fired", "alert"))
    return out


def _resolution(rec: RecordingBackend, signals: Signals, win: TimeRange, impact: Impact, actions: tuple) -> str:
    """Did it work: the worst service's error ratio in the 30 minutes after the window vs the hour before."""
    parts = []
    if actions:
        ok = [a for a in actions if a.worked]
        parts.append(f"{len(actions)} remediation run(s), {len(ok)} verified as working.")
    service = impact.worst_service
    if signals.requests and signals.status_label and service:
        q = _error_ratio(signals, by=False, service=service, window="30m")
        q_before = _error_ratio(signals, by=False, service=service, window="1h")
        with rec.purpose("recovery check"):
            after = _values(rec.query(q, win.end + timedelta(minutes=35)), "")
            before = _values(rec.query(q_before, win.start), "")
        a, b = after.get("all"), before.get("all")
        if a is not None and b is not None:
            back = a <= max(2 * b, b + 0.001)
            parts.append(f"Error ratio at {service}: {b:.2%} in the hour before, {a:.2%} in the 30 min from 5 min after "
                         f"the window's end: {'back to its baseline' if back else 'still elevated'}.")
    return " ".join(parts) or "No remediation was recorded and recovery could not be measured."


def _capacity(rec: RecordingBackend, at: datetime, notes: list[str], models: list[ModelRecord]) -> list[FollowUp]:
    from .forecast import build_forecast_report

    try:
        fr = build_forecast_report(rec, at=at, history="1d", horizon="1d", simulations=200, recorder=rec,
                                   charts=False, screen=True)
    except Promv5Error as exc:
        notes.append(f"Capacity risks not computed: {exc.message}")
        return []
    models += fr.models
    out = []
    for item in fr.items:
        if item.severity != "ok":
            out.append(FollowUp("capacity", f"Capacity risk ({item.severity}): {item.resource} {item.series}",
                                f"{item.sentence}. {item.recommendation}"))
    if not out:
        out.append(FollowUp("capacity", "No capacity risk within a day",
                            f"{len(fr.items)} resource series forecast from {at:%Y-%m-%d %H:%M} UTC; none is "
                            "expected to reach its limit within a day."))
    return out


def _record_turn(rec: RecordingBackend, turn: Any) -> None:
    from .models import QueryRecord

    ans = getattr(turn, "answer", turn)
    res = getattr(ans, "result", None)
    if getattr(ans, "promql", None) and res is not None:
        p = res.provenance
        rec.records.append(QueryRecord(p.promql, p.kind, p.backend, p.time, p.range, res.series_count, 0.0,
                                       f"notebook: {getattr(ans, 'question', '')}"))


def _summary(impact: Impact, root: CauseView | None, actions: tuple, resolution: str, known: KnownTruth | None) -> str:
    mins = impact.duration_s / 60
    s = f"From {impact.start:%Y-%m-%d %H:%M} to {impact.end:%H:%M} UTC ({mins:.0f} min)"
    if impact.failed_requests is not None and impact.worst_service:
        s += (f", {impact.worst_service} failed {impact.failed_requests:,.0f} of {impact.total_requests:,.0f} requests"
              f" ({(impact.error_ratio or 0):.1%})")
        if impact.budget_burned is not None:
            s += f", burning {impact.budget_burned:.1%} of its {BUDGET_DAYS}-day error budget at {impact.slo_target:.2%}"
    slow = impact.slowest
    if slow is not None and slow.p90_before and slow.p90_during:
        s += (f"; p90 latency at {slow.service} rose from {slow.p90_before * 1000:.0f} ms to "
              f"{slow.p90_during * 1000:.0f} ms (x{slow.p90_during / slow.p90_before:.1f})")
    s += ". "
    if root is not None:
        s += f"The diagnosis points to {root.kind.replace('_', ' ')} at {root.service} (confidence {root.confidence:.0%})"
        s += f": {root.summary}. " if root.summary else ". "
    else:
        s += "No automated diagnosis was available. "
    if actions:
        s += f"{len(actions)} remediation run(s) were recorded. "
    return s + resolution
