"""Snapshot a live Prometheus into an embedded store: raw samples, pulled window by window.

Raw samples come from instant queries of range selectors (``{selector}[window]`` at the window end),
so timestamps and values are exactly what the server stored; windows are half-open to avoid
duplicates. Metadata comes from ``/api/v1/metadata``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from ...errors import BackendError, BackendUnavailable, InputError
from ...types import MetricMetadata
from .storage import Store

log = logging.getLogger(__name__)

_TYPES = {"counter", "gauge", "histogram", "summary", "gaugehistogram", "stateset", "info", "unknown"}


def import_prometheus(url: str, match: Sequence[str], start_ms: int, end_ms: int, *, window_s: int = 3600,
                      timeout_s: float = 60.0) -> Store:
    """Pull every sample of the series matching ``match`` in [start, end] from ``url``."""
    import requests

    if not match:
        raise InputError("Nothing to import", hint='Pass at least one --match selector, e.g. --match \'{job="api"}\'')
    if end_ms <= start_ms:
        raise InputError("--end must be after --start")
    url = url.rstrip("/")
    session = requests.Session()

    def get(path: str, params: dict) -> object:
        try:
            r = session.get(url + path, params=params, timeout=timeout_s)
        except requests.RequestException as exc:
            raise BackendUnavailable(f"Cannot reach {url}: {type(exc).__name__}", url=url,
                                     hint="Check the URL and that the server is up") from exc
        try:
            body = r.json()
        except ValueError:
            raise BackendError(f"{url}{path} answered HTTP {r.status_code} without JSON", url=url) from None
        if body.get("status") != "success":
            raise BackendError(f"{url}{path}: {body.get('errorType')}: {body.get('error')}", url=url)
        return body["data"]

    series: dict[tuple, int] = {}
    ids: list[np.ndarray] = []
    tss: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    win = window_s * 1000
    t = start_ms
    while t < end_ms:
        hi = min(t + win, end_ms)
        for sel in match:
            # (t, hi] except the very first window, which also takes t itself
            span = hi - t + (1 if t == start_ms else 0)
            data = get("/api/v1/query", {"query": f"{sel}[{span}ms]",
                                         "time": f"{hi / 1000:.3f}"})
            for s in data.get("result", []):  # type: ignore[union-attr]
                key = tuple(sorted(s["metric"].items()))
                sid = series.setdefault(key, len(series))
                pts = s.get("values", [])
                if not pts:
                    continue
                ts = np.array([round(float(p[0]) * 1000) for p in pts], dtype=np.int64)
                vs = np.array([float(p[1]) for p in pts], dtype=np.float64)
                keep = ts > t if t != start_ms else ts >= t
                ids.append(np.full(int(keep.sum()), sid, dtype=np.int64))
                tss.append(ts[keep])
                vals.append(vs[keep])
        t = hi
    if not series:
        raise InputError(f"No series matched {list(match)} between the given times on {url}")
    md: dict[str, MetricMetadata] = {}
    try:
        meta = get("/api/v1/metadata", {}) or {}
        for name, entries in meta.items():  # type: ignore[union-attr]
            if entries:
                e = entries[0]
                typ = e.get("type", "unknown")
                md[name] = MetricMetadata(name=name, type=typ if typ in _TYPES else "unknown",
                                          help=e.get("help", ""), unit=e.get("unit", ""))
    except BackendError as exc:
        log.info("no metadata from %s: %s", url, exc)
    labels = [dict(k) for k in series]
    cat = lambda parts, dt: np.concatenate(parts) if parts else np.zeros(0, dt)
    return Store.from_columns(labels, cat(ids, np.int64), cat(tss, np.int64), cat(vals, np.float64), md)
