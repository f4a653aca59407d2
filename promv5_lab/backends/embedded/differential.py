"""Compare the engine with a live Prometheus on the same query: same labels, timestamps and values.

Used by the differential test and the benchmark. Values compare with a relative tolerance; NaN equals
NaN; infinities must match in sign; vectors compare as label-keyed sets (``sort*`` in order).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import requests

from .evaluator import Engine, Result
from .values import EvalError


@dataclass(frozen=True)
class Case:
    promql: str
    kind: str  # instant | range
    time_ms: int = 0
    start_ms: int = 0
    end_ms: int = 0
    step_ms: int = 0

    def describe(self) -> str:
        if self.kind == "instant":
            return f"{self.promql!r} @ {self.time_ms / 1000:.3f}"
        return f"{self.promql!r} [{self.start_ms / 1000:.3f}..{self.end_ms / 1000:.3f} step {self.step_ms / 1000:g}s]"


def ask_prometheus(session: requests.Session, url: str, case: Case) -> dict[str, Any]:
    if case.kind == "instant":
        params = {"query": case.promql, "time": f"{case.time_ms / 1000:.3f}"}
        r = session.get(url + "/api/v1/query", params=params, timeout=30)
    else:
        params = {"query": case.promql, "start": f"{case.start_ms / 1000:.3f}", "end": f"{case.end_ms / 1000:.3f}",
                  "step": f"{case.step_ms / 1000:g}"}
        r = session.get(url + "/api/v1/query_range", params=params, timeout=30)
    return r.json()


def ask_engine(engine: Engine, case: Case) -> Result | EvalError:
    try:
        if case.kind == "instant":
            return engine.instant(case.promql, case.time_ms)
        return engine.range(case.promql, case.start_ms, case.end_ms, case.step_ms)
    except EvalError as exc:
        return exc


def _close(a: float, b: float, rel: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= rel * max(abs(a), abs(b)) or abs(a - b) < 1e-12


def compare(prom: dict[str, Any], ours: Result | EvalError, *, ordered: bool = False, rel: float = 1e-6) -> str | None:
    """None when equal, else a short description of the first difference."""
    if prom.get("status") != "success":
        if isinstance(ours, EvalError):
            if ours.error_type != prom.get("errorType"):
                return f"error types differ: prometheus {prom.get('errorType')}, engine {ours.error_type}"
            return None
        return f"prometheus failed ({prom.get('errorType')}: {prom.get('error')}) but the engine answered"
    if isinstance(ours, EvalError):
        return f"engine failed ({ours.error_type}: {ours.message}) but prometheus answered"
    data = prom["data"]
    if data["resultType"] != ours.kind:
        return f"result types differ: prometheus {data['resultType']}, engine {ours.kind}"
    if ours.kind in ("scalar", "string"):
        t, v = data["result"]
        ot, ov = ours.scalar
        if round(float(t) * 1000) != ot:
            return f"timestamps differ: {t} vs {ot / 1000}"
        if ours.kind == "string":
            return None if v == ov else f"strings differ: {v!r} vs {ov!r}"
        return None if _close(float(v), float(ov), rel) else f"scalar differs: {v} vs {ov}"
    theirs: dict[tuple, list[tuple[int, float]]] = {}
    order = []
    for s in data["result"]:
        key = tuple(sorted(s["metric"].items()))
        pts = s["values"] if "values" in s else [s["value"]]
        if key in theirs:
            return f"prometheus returned {dict(key)} twice"
        theirs[key] = [(round(float(t) * 1000), float(v)) for t, v in pts]
        order.append(key)
    mine = {lab: list(zip(ts.tolist(), vs.tolist())) for lab, ts, vs in ours.series}
    if set(theirs) != set(mine):
        missing = [dict(k) for k in theirs if k not in mine][:2]
        extra = [dict(k) for k in mine if k not in theirs][:2]
        return f"label sets differ ({len(theirs)} vs {len(mine)}): missing {missing}, extra {extra}"
    for key, pts in theirs.items():
        mp = mine[key]
        if [t for t, _ in pts] != [t for t, _ in mp]:
            tp, tm = [t for t, _ in pts], [t for t, _ in mp]
            return f"timestamps differ for {dict(key)}: {len(tp)} vs {len(tm)} points, first {tp[:3]} vs {tm[:3]}"
        for (t, a), (_, b) in zip(pts, mp):
            if not _close(a, b, rel):
                return f"values differ for {dict(key)} at {t / 1000}: prometheus {a!r}, engine {b!r}"
    if ordered:
        their_vals = [theirs[k][0][1] for k in order]
        my_vals = [v[0] for _, _, v in ours.series]
        if not all(_close(a, b, rel) for a, b in zip(their_vals, my_vals)):
            return f"order differs: {their_vals[:5]} vs {my_vals[:5]}"
    return None
