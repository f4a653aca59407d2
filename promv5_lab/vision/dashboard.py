"""Grafana dashboard JSON: map screenshot panels to their PromQL targets, and re-run them for exact numbers.

Panels are matched by title when OCR read one, else by position: each JSON panel's ``gridPos`` (24
columns wide) is compared with the found panels' boxes, both scaled to their own extent, and paired
by a minimum-cost assignment. The queries run over the dashboard's ``time`` range (``now-6h`` .. ``now``)
through :mod:`promv5_lab.analysis` (the same detector and learned thresholds as ``promv5-lab detect``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._deps import require
from ..errors import InputError, Promv5Error
from .report import PanelFinding, QueryFinding

if TYPE_CHECKING:  # pragma: no cover
    from ..backends.base import MetricsBackend

__all__ = ["attach_queries", "grafana_panels", "load_dashboard"]

log = logging.getLogger(__name__)


def load_dashboard(source: str | Path | dict) -> dict:
    """The dashboard object from a path, JSON text or a dict (a Grafana export, or the API's {"dashboard": ...})."""
    if isinstance(source, dict):
        obj = source
    else:
        text = str(source)
        if not text.lstrip().startswith("{"):
            path = Path(text).expanduser()
            try:
                text = path.read_text()
            except OSError as exc:
                raise InputError(f"Cannot read dashboard JSON {str(path)!r}: {exc.strerror or exc}",
                                 hint="Export it from Grafana: Dashboard settings > JSON model") from exc
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"The dashboard JSON is not valid JSON ({exc.msg} at line {exc.lineno})",
                             hint="Export it from Grafana: Dashboard settings > JSON model") from exc
    if isinstance(obj, dict) and isinstance(obj.get("dashboard"), dict):
        obj = obj["dashboard"]
    if not isinstance(obj, dict) or not isinstance(obj.get("panels"), list):
        raise InputError("The dashboard JSON has no 'panels' list", hint="Pass a Grafana dashboard export")
    return obj


def grafana_panels(dashboard: dict) -> list[dict[str, Any]]:
    """Graph-like panels (rows flattened, text/row panels skipped) with title, gridPos and PromQL targets."""
    out = []

    def walk(panels: list) -> None:
        for p in panels:
            if not isinstance(p, dict):
                continue
            if p.get("type") == "row":
                walk(p.get("panels") or [])
                continue
            if p.get("type") in ("text", "news", "dashlist"):
                continue
            g = p.get("gridPos") or {}
            targets = [t for t in p.get("targets") or [] if isinstance(t, dict) and isinstance(t.get("expr"), str)]
            out.append({"title": str(p.get("title") or ""),
                        "grid": tuple(float(g.get(k, 0) or 0) for k in ("x", "y", "w", "h")),
                        "targets": [(t["expr"], str(t.get("legendFormat") or "")) for t in targets]})

    walk(dashboard["panels"])
    return out


def _assign(found: list[PanelFinding], panels: list[dict[str, Any]]) -> dict[int, int]:
    np = require("numpy")
    opt = require("scipy.optimize", "analysis")
    if not found or not panels:
        return {}
    fx = np.array([[b.bbox[0] + b.bbox[2] / 2, b.bbox[1] + b.bbox[3] / 2] for b in found], float)
    gx = np.array([[g["grid"][0] + g["grid"][2] / 2, g["grid"][1] + g["grid"][3] / 2] for g in panels], float)

    def norm(a: Any) -> Any:
        lo, hi = a.min(axis=0), a.max(axis=0)
        return (a - lo) / np.where(hi > lo, hi - lo, 1.0)

    cost = np.linalg.norm(norm(fx)[:, None, :] - norm(gx)[None, :, :], axis=2)
    for i, f in enumerate(found):
        if f.title:
            for j, g in enumerate(panels):
                sim = SequenceMatcher(None, f.title.lower(), g["title"].lower()).ratio()
                cost[i, j] -= 2.0 * sim if sim > 0.6 else 0.0
    rows, cols = opt.linear_sum_assignment(cost)
    return {int(r): int(c) for r, c in zip(rows, cols)}


def attach_queries(found: list[PanelFinding], source: str | Path | dict,
                   backend: MetricsBackend | None = None) -> tuple[list[PanelFinding], list[str]]:
    """Each finding with its JSON panel's title (when OCR gave none) and PromQL, re-run on ``backend``."""
    dash = load_dashboard(source)
    panels = grafana_panels(dash)
    notes = []
    if len(panels) != len(found):
        notes.append(f"the dashboard JSON has {len(panels)} graph panels, the screenshot shows {len(found)}: "
                     "matched by position and title where possible")
    match = _assign(found, panels)
    time_range = _time_range(dash) if backend is not None else None
    out = []
    for i, f in enumerate(found):
        j = match.get(i)
        if j is None:
            out.append(f)
            continue
        g = panels[j]
        queries = tuple(_run(expr, legend, backend, time_range) for expr, legend in g["targets"])
        out.append(replace(f, title=f.title or g["title"], queries=queries))
    if backend is None and any(g["targets"] for g in panels):
        notes.append("PromQL found in the dashboard JSON; pass a backend to re-run it for exact numbers")
    return out, notes


def _time_range(dash: dict) -> Any:
    from ..types import TimeRange, as_utc

    t = dash.get("time") or {}
    start, end = str(t.get("from", "now-6h")), str(t.get("to", "now"))
    if end == "now" and start.startswith("now-"):
        return TimeRange.last(start[4:])
    try:
        tr = TimeRange(as_utc(start), as_utc(end))
        return TimeRange(tr.start, tr.end, max(1.0, round(tr.seconds / 240)))
    except InputError:
        log.info("dashboard time range %r..%r not understood: last 6h", start, end)
        return TimeRange.last("6h")


def _run(expr: str, legend: str, backend: MetricsBackend | None, time_range: Any) -> QueryFinding:
    if backend is None:
        return QueryFinding(expr, legend)
    rng = f"{time_range.start.isoformat()} .. {time_range.end.isoformat()} step {time_range.step_s:g}s"
    try:
        res = backend.query_range(expr, time_range)
    except Promv5Error as exc:
        return QueryFinding(expr, legend, False, rng, error=exc.message)
    return QueryFinding(expr, legend, True, rng, _summaries(res.frame, time_range))


def _summaries(frame: Any, time_range: Any) -> tuple[dict[str, Any], ...]:
    np = require("numpy")
    from ..analysis.learn import detect
    from ..frames import to_wide

    if frame.empty:
        return ()
    wide = to_wide(frame, step_s=time_range.step_s)
    result = detect(wide, progress=False) if len(wide) >= 30 else None
    out = []
    for col in wide.columns:
        v = wide[col].to_numpy(dtype=float)
        ok = v[np.isfinite(v)]
        anomalies = [] if result is None else [
            {"start": a.start.isoformat(), "end": a.end.isoformat(), "peak_time": a.peak_time.isoformat(),
             "peak_score": round(a.peak_score, 4)} for a in result.anomalies if a.series == str(col)]
        out.append({"series": str(col), "points": int(ok.size),
                    "min": float(ok.min()) if ok.size else None, "max": float(ok.max()) if ok.size else None,
                    "last": float(ok[-1]) if ok.size else None, "anomalies": anomalies})
    return tuple(out)
