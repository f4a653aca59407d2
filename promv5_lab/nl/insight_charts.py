"""The chart panels of routed answers (:class:`~promv5_lab.investigation.ChartPanel`), built from the frames
the analyses already fetched: no drawing library here, so the magic, the widget, the app and ``ask --json``
all draw (or print) the same data.

* anomalies: each flagged series over the window (and as much context before it), flagged spans shaded;
* forecast: the history, the mean forecast and its interval band;
* capacity: the history, the forecast towards the limit (a horizontal line), the crossing-time interval shaded;
* diagnosis: the top cause's metric evidence over its own time range, the evidence window shaded.

A chart is a convenience: :func:`guarded` turns any failure while building one into no chart (logged),
never into a failed answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..units import infer_unit

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ..investigation import ChartPanel

__all__ = ["anomaly_panels", "capacity_panel", "evidence_panels", "forecast_panel", "guarded"]

log = logging.getLogger(__name__)

MAX_PANELS = 4
MAX_COLUMNS = 8


def guarded(build: Callable[..., Any], *args: Any, **kw: Any) -> tuple[ChartPanel, ...]:
    """``build(*args)`` as a tuple of panels; any failure is logged and gives no chart."""
    try:
        out = build(*args, **kw)
    except Exception as exc:  # a chart must never turn an answer into an error
        log.warning("no chart for this answer (%s: %s)", type(exc).__name__, exc,
                    exc_info=log.isEnabledFor(logging.DEBUG))
        return ()
    if out is None:
        return ()
    return tuple(out) if isinstance(out, (list, tuple)) else (out,)


def _panel(**kw: Any) -> ChartPanel:
    from ..investigation import ChartPanel

    return ChartPanel(unit=infer_unit(kw.get("promql")), **kw)


def anomaly_panels(wide: pd.DataFrame, found: list[Any], queries: list[dict[str, Any]], w_start: datetime,
                   w_end: datetime, focus_promql: str | None = None) -> list[ChartPanel]:
    """One panel per flagged series (the highest-scoring first), its flagged spans shaded; with nothing
    flagged, the asked series (``focus_promql``) unshaded so the user sees what was scanned."""
    import pandas as pd

    context = max(w_end - w_start, timedelta(hours=1))
    shown = wide.loc[pd.Timestamp(w_start - context):pd.Timestamp(w_end)]
    promql_of = {s: q["promql"] for q in queries for s in q["series"]}
    out: list[ChartPanel] = []
    order: list[str] = []
    for a in sorted(found, key=lambda a: -a.peak_score):
        if a.series not in order and a.series in shown.columns:
            order.append(a.series)
    for series in order[:MAX_PANELS]:
        spans = tuple((max(a.start, w_start - context), a.end) for a in found if a.series == series)
        out.append(_panel(title=f"{series}", promql=promql_of.get(series), observed=shown[[series]],
                          spans=spans, span_label="flagged as anomalous"))
    if not out and focus_promql is not None and not shown.empty:
        out.append(_panel(title=f"{focus_promql} (nothing flagged)", promql=focus_promql,
                          observed=shown.iloc[:, :MAX_COLUMNS]))
    return out


def forecast_frame(result: Any) -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame({"mean": result.mean, "lower": result.lower, "upper": result.upper})


def forecast_panel(history: pd.Series, result: Any, promql: str, now: datetime) -> ChartPanel:
    """The history, the mean forecast and its interval band."""
    return _panel(title=f"{result.series}: forecast ({result.model})", promql=promql,
                  observed=history.to_frame(str(result.series)), forecast=forecast_frame(result),
                  level=result.level, marks=(("now", now),))


def capacity_panel(history: pd.Series, cap: Any, fc: Any, promql: str) -> ChartPanel:
    """The history, the forecast towards the limit, the limit line and the crossing interval shaded."""
    spans: tuple[tuple[datetime, datetime], ...] = ()
    marks: list[tuple[str, datetime]] = [("now", cap.now)]
    if cap.lower_s is not None:
        end_s = cap.upper_s if cap.upper_s is not None else cap.horizon_s
        spans = ((cap.now + timedelta(seconds=cap.lower_s), cap.now + timedelta(seconds=end_s)),)
    if cap.eta_s is not None:
        marks.append(("expected to reach the limit", cap.now + timedelta(seconds=cap.eta_s)))
    return _panel(title=f"{cap.series}: towards {cap.limit:g}", promql=promql,
                  observed=history.to_frame(str(cap.series)),
                  forecast=forecast_frame(fc) if fc is not None else None, level=cap.level, spans=spans,
                  span_label=f"{cap.level:.0%} interval of the crossing time", limit=float(cap.limit),
                  marks=tuple(marks))


def evidence_panels(backend: Any, diag: Any, wide: Callable[[Any, float, str], pd.DataFrame] | None = None,
                    limit: int = 3) -> list[ChartPanel]:
    """The top cause's metric evidence over its own time range (before it, to the diagnosed time): the
    diagnosis answer's charts and the app's Diagnose tab. ``wide(result, step_s, promql)`` makes the wide
    frame (default: the routed answers' own, one column per label set)."""
    from ..types import TimeRange

    if wide is None:
        from .insights import _wide

        def wide(res: Any, step: float, _promql: str) -> pd.DataFrame:
            return _wide(res, step, "")

    top = diag.top
    out: list[ChartPanel] = []
    for e in (top.evidence if top is not None else ()):
        if len(out) >= limit:
            break
        if not e.promql:
            continue
        start = e.start or diag.window.start
        end = max(e.end or diag.at, diag.at)
        span = max((end - start).total_seconds(), 600.0)
        step = float(max(15.0, round(span / 200)))
        try:
            res = backend.query_range(e.promql, TimeRange(start - timedelta(seconds=span / 2), end, step))
        except Exception as exc:  # noqa: BLE001 - one missing evidence chart; the PromQL is in details anyway
            log.info("no evidence chart for %s: %s", e.promql, exc)
            continue
        if res.frame.empty:
            continue
        frame = wide(res, step, e.promql)
        spans = ((e.start, e.end),) if e.start is not None and e.end is not None else ()
        out.append(_panel(title=f"{top.service}: {e.summary}"[:120], promql=e.promql,
                          observed=frame.iloc[:, :MAX_COLUMNS], spans=spans, span_label="evidence window",
                          marks=(("diagnosed at", diag.at),)))
    return out
