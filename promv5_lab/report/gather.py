"""What every builder needs: a backend wrapper that records each query, charts from results, signal discovery.

:class:`RecordingBackend` wraps any :class:`~promv5_lab.backends.base.MetricsBackend` and keeps a
:class:`~.models.QueryRecord` per query (also the queries run by code it is handed to, such as the
diagnosis), so the appendix lists every PromQL a report depends on. :func:`find_signals` finds the golden
signals from the backend's catalogue (metric TYPE and label conventions), not from demo names.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import Promv5Error
from ..types import QueryResult, TimeRange, as_utc
from .models import Chart, ChartSeries, QueryRecord

MAX_POINTS_PER_SERIES = 600
MAX_SERIES_PER_CHART = 8


class RecordingBackend:
    """A MetricsBackend that records every query it runs (PromQL, range/time, series, time taken)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = safe_name(str(getattr(inner, "name", inner)))
        self.records: list[QueryRecord] = []
        self._purpose = ""

    @contextlib.contextmanager
    def purpose(self, text: str) -> Iterator[None]:
        old, self._purpose = self._purpose, text
        try:
            yield
        finally:
            self._purpose = old

    def query(self, promql: str, time: datetime | None = None) -> QueryResult:
        t0 = _now()
        res = self.inner.query(promql, time)
        self.records.append(QueryRecord(promql, "instant", self.name, time=as_utc(time) if time else None,
                                        series=res.series_count, elapsed_ms=(_now() - t0) * 1000,
                                        purpose=self._purpose))
        return res

    def query_range(self, promql: str, time_range: TimeRange) -> QueryResult:
        t0 = _now()
        res = self.inner.query_range(promql, time_range)
        self.records.append(QueryRecord(promql, "range", self.name, range=time_range, series=res.series_count,
                                        elapsed_ms=(_now() - t0) * 1000, purpose=self._purpose))
        return res

    def __getattr__(self, name: str) -> Any:  # catalogue, rules, store... of the wrapped backend
        return getattr(self.inner, name)


def safe_name(name: str) -> str:
    """A backend name for a report: a URL loses any user:password@ and query string."""
    import re

    name = re.sub(r"^(\w+://)[^/@]*@", r"\1", name)
    return name.split("?", 1)[0]


def _now() -> float:
    return time.perf_counter()


def _num(x: Any) -> float | None:
    try:
        f = float(x)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def chart_from_result(result: QueryResult, chart_id: str, title: str, *, shade: tuple = (),
                      threshold: float | None = None, y_label: str = "", caption: str = "") -> Chart:
    """A :class:`Chart` of a range result: one line per series (at most 8, the largest by peak)."""
    from ..frames import TIME, VALUE, label_columns, series_key
    from ..units import infer_unit

    frame = result.frame
    lines: list[tuple[float, ChartSeries]] = []
    if not frame.empty:
        labels = label_columns(frame)
        groups = frame.groupby(labels, sort=True, dropna=False) if labels else [((), frame)]
        for key, g in groups:
            key = key if isinstance(key, tuple) else (key,)
            lab = {k: v for k, v in zip(labels, key) if isinstance(v, str) and v != ""}
            name = series_key(lab) if lab else "value"
            g = g.sort_values(TIME)
            stride = max(1, math.ceil(len(g) / MAX_POINTS_PER_SERIES))
            g = g.iloc[::stride]
            t = tuple(ts.timestamp() for ts in g[TIME])
            v = tuple(_num(x) for x in g[VALUE])
            peak = max((abs(x) for x in v if x is not None), default=0.0)
            lines.append((peak, ChartSeries(name, t, v)))
    lines.sort(key=lambda p: -p[0])
    series = tuple(s for _, s in lines[:MAX_SERIES_PER_CHART])
    if len(lines) > MAX_SERIES_PER_CHART:
        caption = (caption + " " if caption else "") + \
            f"(the {MAX_SERIES_PER_CHART} series with the highest peaks of {len(lines)})"
    shade_s = tuple((as_utc(a).timestamp(), as_utc(b).timestamp()) for a, b in shade)
    prov = result.provenance
    return Chart(chart_id, title, series, promql=prov.promql, shade=shade_s, threshold=threshold,
                 y_label=y_label or infer_unit(prov.promql).raw_label, caption=caption)


def wide(frame: Any, step_s: float) -> Any:
    """Like :func:`promv5_lab.frames.to_wide` (same column names, freq set), keyed per series not per row."""
    import pandas as pd

    from ..frames import TIME, VALUE, label_columns, series_key

    labels = label_columns(frame)
    if frame.empty or not labels:
        from ..frames import to_wide

        return to_wide(frame, step_s=step_s)
    codes = frame.groupby(labels, sort=False, dropna=False).ngroup()
    firsts = frame.loc[~codes.duplicated(), labels].astype(str)
    names = {int(c): series_key(r) for c, r in zip(codes[~codes.duplicated()], firsts.to_dict("records"))}
    ts = frame[TIME].astype("datetime64[ns, UTC]")
    freq = pd.Timedelta(round(step_s * 1e9), unit="ns")
    index = pd.date_range(ts.min(), ts.max(), freq=freq, tz="UTC")
    out = (pd.DataFrame({"key": codes.map(names).to_numpy(), TIME: ts.to_numpy(), VALUE: frame[VALUE].to_numpy()})
           .pivot_table(index=TIME, columns="key", values=VALUE, aggfunc="last", dropna=False).reindex(index))
    out.columns.name = None
    out.index.name = TIME
    out.index.freq = freq
    return out


@dataclass(frozen=True)
class Signals:
    """Where the golden signals live in this backend."""

    requests: str | None          # a counter of requests, e.g. http_requests_total
    status_label: str | None      # its status-code label, e.g. code
    service_label: str            # service (or job)
    latency: str | None = None    # a request-duration histogram family, e.g. http_request_duration_seconds

    def errors_selector(self, service: str | None = None) -> str:
        return self.selector(service, errors=True)

    def selector(self, service: str | None = None, *, errors: bool = False) -> str:
        parts = []
        if service is not None:
            parts.append(f"{self.service_label}={promql_string(service)}")
        if errors and self.status_label:
            parts.append(f'{self.status_label}=~"5.."')
        return f"{self.requests}{{{','.join(parts)}}}" if parts else str(self.requests)


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal for an untrusted value (label values come from data)."""
    out = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{out}"'


def find_signals(backend: Any) -> Signals:
    """Find the request counter, its status label, the service label and a latency histogram."""
    try:
        meta = backend.metadata() if hasattr(backend, "metadata") else {}
    except Promv5Error:
        meta = {}
    names = set(meta)
    # OpenMetrics names counter families without the _total suffix the samples carry
    counters = sorted(n if n.endswith("_total") else n + "_total" for n, m in meta.items()
                      if m.type == "counter" and n.removesuffix("_total").endswith("requests"))
    if not counters:
        counters = [n for n in ("http_requests_total", "http_server_requests_total") if n in names or not names]
    requests = "http_requests_total" if "http_requests_total" in counters else (counters[0] if counters else None)
    histos = sorted(n for n, m in meta.items() if m.type == "histogram" and "request_duration" in n)
    latency = histos[0] if histos else None
    status_label, service_label = None, "job"
    if requests is not None:
        try:
            labels = set(backend.label_names([requests])) if hasattr(backend, "label_names") else set()
        except Promv5Error:
            labels = set()
        status_label = next((x for x in ("code", "status_code", "status") if x in labels), None)
        if not labels:
            status_label = "code"
        service_label = next((x for x in ("service", "job") if x in labels), "job" if labels else "service")
    return Signals(requests, status_label, service_label, latency)
