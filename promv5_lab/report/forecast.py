"""The forecast/capacity report: per resource, the forecast, its interval, the time to the limit, what to do.

Resources are found from the backend's catalogue by well-known exporter conventions (node-exporter
filesystems, memory and CPU; cAdvisor container memory against its limit; any ``X_in_use`` / ``X_max``
gauge pair such as a connection pool), each as a used fraction with the limit 1 (full). Every series
gets :func:`promv5_lab.analysis.capacity.time_to_limit` (ETS, simulated paths) over ``history`` before
``at``, looking ``horizon`` ahead.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import InputError, Promv5Error
from ..types import TimeRange, as_utc, parse_duration
from .gather import RecordingBackend, chart_from_result
from .gather import wide as to_wide
from .models import Chart, ChartSeries, ForecastItem, ForecastReport, ModelRecord

__all__ = ["Resource", "build_forecast_report", "find_resources"]

log = logging.getLogger(__name__)

MAX_OK_CHARTS = 4  # charts for resources without risk (every resource at risk gets one)


@dataclass(frozen=True)
class Resource:
    """A saturation signal as a used fraction (PromQL) with the value that means full."""

    name: str
    promql: str
    limit: float
    advice: str
    unit: str = "fraction used"


_FS = 'fstype!~"tmpfs|overlay|squashfs"'
_KNOWN = (
    (("node_filesystem_avail_bytes", "node_filesystem_size_bytes"),
     Resource("filesystem", f"1 - node_filesystem_avail_bytes{{{_FS}}} / node_filesystem_size_bytes{{{_FS}}}", 1.0,
              "free space or grow the volume before then; find what writes (WAL, logs, temp files)")),
    (("node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes"),
     Resource("node memory", "1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes", 1.0,
              "look for a leak in the processes on the node, move workloads or add memory")),
    (("node_cpu_seconds_total",),
     Resource("node CPU", '1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[5m]))', 1.0,
              "scale out the busiest services or add CPUs")),
    (("container_memory_working_set_bytes", "container_spec_memory_limit_bytes"),
     Resource("container memory", "container_memory_working_set_bytes / (container_spec_memory_limit_bytes > 0)",
              1.0, "raise the limit or find the leak before the OOM kill")),
)


def find_resources(backend: Any) -> list[Resource]:
    """The resources this backend has metrics for."""
    try:
        meta = backend.metadata() if hasattr(backend, "metadata") else {}
    except Promv5Error:
        meta = {}
    names = set(meta) | {n + "_total" for n, m in meta.items() if m.type == "counter"}
    out = [res for needs, res in _KNOWN if all(n in names for n in needs)]
    for n in sorted(meta):
        if n.endswith("_in_use") and f"{n[:-7]}_max" in meta:
            base = n[:-7]
            out.append(Resource(base.replace("_", " "), f"{n} / ({base}_max > 0)", 1.0,
                                "raise the pool size or find who holds on to its entries (a leak)", "fraction in use"))
    return out


def _severity(eta: float | None, lower: float | None, prob: float) -> str:
    day = 86400.0
    if (eta is not None and eta <= day) or (lower is not None and lower <= day / 4 and prob >= 0.5):
        return "critical"
    if eta is not None or prob >= 0.2:
        return "warning"
    return "ok"


def _when(at: datetime, seconds: float | None) -> str:
    if seconds is None:
        return "beyond the horizon"
    return f"{at + timedelta(seconds=seconds):%Y-%m-%d %H:%M} UTC"


def _recommend(res: Resource, severity: str, at: datetime, eta: float | None, lower: float | None) -> str:
    if severity == "ok":
        return "No action needed within the horizon; keep watching."
    first = lower if lower is not None else eta
    lead = "Act now" if severity == "critical" else "Plan"
    return f"{lead}: it may be full as early as {_when(at, first)}; {res.advice}."


def build_forecast_report(backend: Any, *, at: datetime | str | None = None, history: str | float = "1d",
                          horizon: str | float = "1d", step: str | float = "5m", level: float = 0.8,
                          simulations: int = 300, resources: list[Resource] | None = None,
                          max_series: int = 40, title: str | None = None, charts: bool = True,
                          screen: bool = False,
                          recorder: RecordingBackend | None = None) -> ForecastReport:
    """Forecast every resource series over ``history`` before ``at`` (default: the end of the data)."""
    from ..analysis.forecast import Forecaster

    rec = recorder or RecordingBackend(backend)
    at_t = as_utc(at) if at is not None else (data_end(backend) or datetime.now(timezone.utc))
    span, ahead, step_s = parse_duration(history), parse_duration(horizon), parse_duration(step)
    if span / step_s < 24:
        raise InputError(f"history {history} holds fewer than 24 steps of {step}",
                         hint="Use a longer --history or a finer --step")
    tr = TimeRange(at_t - timedelta(seconds=span), at_t, step_s)
    found = resources if resources is not None else find_resources(backend)
    fc = Forecaster(level=level)
    with _one_blas_thread():
        return _build(rec, found, tr, at_t, span, ahead, step_s, level, simulations, max_series, title, charts,
                      screen, fc, recorder is not None)


def _build(rec: RecordingBackend, found: list[Resource], tr: TimeRange, at_t: datetime, span: float, ahead: float,
           step_s: float, level: float, simulations: int, max_series: int, title: str | None, charts: bool,
           screen: bool, fc: Any, shared: bool) -> ForecastReport:
    from ..analysis.capacity import time_to_limit

    notes: list[str] = []
    if not found:
        notes.append("No saturation metrics found (filesystem, memory, CPU, pools): nothing to forecast.")
    items: list[ForecastItem] = []
    chart_list: list[Chart] = []
    model_name = ""
    screened = shown_ok = 0
    for res in found:
        with rec.purpose(f"capacity: {res.name}"):
            try:
                result = rec.query_range(res.promql, tr)
            except Promv5Error as exc:
                notes.append(f"{res.name}: the query failed ({exc.message})")
                continue
        if result.frame.empty:
            continue
        wide = to_wide(result.frame, step_s)
        for col in wide.columns:
            if len(items) >= max_series:
                notes.append(f"Only the first {max_series} series were forecast.")
                break
            series = wide[col]
            if series.notna().sum() < 24:
                continue
            if screen and _far_from_limit(series, res.limit, ahead):
                screened += 1
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    cap = time_to_limit(series, res.limit, ahead, level=level, forecaster=fc,
                                        simulations=simulations, name=str(col))
                    sev = _severity(cap.eta_s, cap.lower_s, cap.probability)
                    drawn = charts and (sev != "ok" or shown_ok < MAX_OK_CHARTS)
                    # the forecast the time to limit came from (one fit, one distribution); a second fit
                    # only if an older result carries none
                    f = (cap.forecast or fc.forecast(series, ahead, name=str(col))) if drawn else None
                    shown_ok += bool(drawn and sev == "ok")
            except Promv5Error as exc:
                notes.append(f"{col}: not forecast ({exc.message})")
                continue
            model_name = cap.model
            cid = f"forecast-{len(items) + 1}" if f is not None else None
            items.append(ForecastItem(
                resource=res.name, series=str(col), promql=res.promql, limit=res.limit, unit=res.unit,
                last_value=cap.last_value, forecast_end=float(f.mean.iloc[-1]) if f is not None else float("nan"),
                lower_end=float(f.lower.iloc[-1]) if f is not None else float("nan"),
                upper_end=float(f.upper.iloc[-1]) if f is not None else float("nan"), level=level, eta_s=cap.eta_s,
                lower_s=cap.lower_s, upper_s=cap.upper_s, probability=cap.probability, sentence=cap.describe(),
                recommendation=_recommend(res, sev, cap.now, cap.eta_s, cap.lower_s), severity=sev,
                model=cap.model, chart_id=cid))
            if f is None:
                continue
            obs = chart_from_result(result, cid, "", shade=())
            observed = next((s for s in obs.series if s.name == str(col)), None)
            fut_t = tuple(t.timestamp() for t in f.mean.index)
            lines = ((observed,) if observed else ()) + (
                ChartSeries("forecast (mean)", fut_t, tuple(float(x) for x in f.mean)),)
            band = (ChartSeries("lower", fut_t, tuple(float(x) for x in f.lower)),
                    ChartSeries("upper", fut_t, tuple(float(x) for x in f.upper)))
            chart_list.append(Chart(cid, f"{res.name}: {col}", lines, promql=res.promql, threshold=res.limit,
                                y_label=res.unit, band=band,
                                caption=f"{f.model}, {level:.0%} interval shaded; the dashed line is the limit"))
    if screened:
        notes.append(f"{screened} series below half their limit with no trend reaching it within 4x the horizon "
                     "were screened out without a forecast.")
    order = {"critical": 0, "warning": 1, "ok": 2}
    items.sort(key=lambda i: (order[i.severity], i.eta_s if i.eta_s is not None else float("inf")))
    models = (ModelRecord("promv5_lab.analysis.capacity.time_to_limit", "time to limit, interval, probability",
                          (("forecaster", model_name or "ETS"), ("level", f"{level:g}"),
                           ("simulations", str(simulations)), ("history", f"{span:g}s before {at_t.isoformat()}"),
                           ("horizon_s", f"{ahead:g}"), ("step_s", f"{step_s:g}"))),)
    return ForecastReport(
        title=title or f"Capacity forecast at {at_t:%Y-%m-%d %H:%M} UTC", generated_at=datetime.now(timezone.utc),
        backend=rec.name, at=at_t, history=tr, horizon_s=ahead, items=tuple(items), charts=tuple(chart_list),
        queries=tuple(r for r in rec.records if r.purpose.startswith("capacity")) if shared else tuple(rec.records),
        models=models, notes=tuple(dict.fromkeys(notes)))


def _one_blas_thread() -> Any:
    """Fits are tiny: one BLAS thread each is ~3x faster than a contended pool on a busy machine."""
    import contextlib

    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it the fits just run with the default pool
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _far_from_limit(series: Any, limit: float, horizon_s: float) -> bool:
    """A cheap screen: under half the limit, and a straight line through the last quarter stays away from it."""
    import numpy as np

    y = series.dropna()
    tail = y.iloc[-max(8, len(y) // 4):]
    last = float(tail.iloc[-1])
    if not np.isfinite(last) or abs(last) >= 0.5 * abs(limit):
        return False
    x = (tail.index - tail.index[0]).total_seconds().to_numpy()
    slope = float(np.polyfit(x, tail.to_numpy(dtype=float), 1)[0]) if len(tail) > 2 else 0.0
    reach = last + slope * 4 * horizon_s
    return (reach < limit) if limit > last else (reach > limit)


def data_end(backend: Any) -> datetime | None:
    """The end of a local history (embedded store), so old --data folders are not read at 'now'."""
    from ..analysis.forecast_cli import _end_of

    inner = getattr(backend, "inner", backend)
    try:
        return _end_of(inner)
    except (Promv5Error, AttributeError, TypeError):
        return None
