"""From spans: the service dependency graph, self-time by service/operation, and error propagation.

Spans are frames in the conventions of :mod:`promv5_lab.backends.base` (``trace_id``, ``span_id``,
``parent_span_id``, ``service``, ``operation``, ``start``, ``duration_ms``, ``status``...).

* :func:`dependency_graph` -> caller -> callee edges with call and error counts (a span whose parent
  belongs to another service is one call);
* :func:`self_times` -> per service/operation the time spent in the span itself (its duration minus
  its children's, never below zero);
* :func:`error_paths` -> where ERROR spans originate (no ERROR child) and which services they only pass
  through, with exemplar trace ids.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Edge", "ErrorPaths", "dependency_graph", "error_paths", "self_times", "upstream_closure"]

SPAN_NEEDS = ("trace_id", "span_id", "parent_span_id", "service", "duration_ms", "status")


@dataclass(frozen=True)
class Edge:
    caller: str
    callee: str
    calls: int
    errors: int = 0


@dataclass(frozen=True)
class ErrorPaths:
    """``origins[svc]``: ERROR spans of ``svc`` with no ERROR child; ``passed[svc]``: ERROR spans with one.

    ``paths`` counts the chains root -> ... -> origin (services, deduplicated in order); ``exemplars``
    holds up to three trace ids per origin service.
    """

    origins: dict[str, int] = field(default_factory=dict)
    passed: dict[str, int] = field(default_factory=dict)
    paths: dict[tuple[str, ...], int] = field(default_factory=dict)
    exemplars: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def origin_share(self, service: str) -> float:
        total = sum(self.origins.values())
        return self.origins.get(service, 0) / total if total else 0.0


def _check(spans: pd.DataFrame) -> None:
    missing = [c for c in SPAN_NEEDS if c not in spans.columns]
    if missing:
        raise InputError(f"A span frame needs columns {', '.join(SPAN_NEEDS)}; missing {missing}",
                         hint="Use a TracesBackend (promv5_lab.backends.traces) or the demo's traces.jsonl")


def _with_parent(spans: pd.DataFrame) -> pd.DataFrame:
    """Each span with its parent's service (NaN at roots and when the parent is not in the frame)."""
    left = spans[["trace_id", "span_id", "parent_span_id", "service", "duration_ms", "status"]]
    parents = spans[["trace_id", "span_id", "service"]].rename(
        columns={"span_id": "parent_span_id", "service": "parent_service"})
    return left.merge(parents, on=["trace_id", "parent_span_id"], how="left")


def dependency_graph(spans: pd.DataFrame) -> list[Edge]:
    """caller -> callee edges (services), with how many calls and how many of them were ERROR spans."""
    _check(spans)
    if spans.empty:
        return []
    j = _with_parent(spans)
    j = j[j["parent_service"].notna() & (j["parent_service"] != j["service"])]
    calls = Counter(zip(j["parent_service"], j["service"]))
    errs = Counter(zip(j.loc[j["status"] == "ERROR", "parent_service"], j.loc[j["status"] == "ERROR", "service"]))
    return sorted((Edge(a, b, int(n), int(errs.get((a, b), 0))) for (a, b), n in calls.items()),
                  key=lambda e: (e.caller, e.callee))


def graph_dict(edges: list[Edge]) -> dict[str, set[str]]:
    """caller -> set of callees."""
    out: dict[str, set[str]] = {}
    for e in edges:
        out.setdefault(e.caller, set()).add(e.callee)
        out.setdefault(e.callee, set())
    return out


def upstream_closure(graph: dict[str, set[str]], service: str) -> set[str]:
    """Every service whose calls (transitively) reach ``service``."""
    callers: dict[str, set[str]] = {}
    for a, bs in graph.items():
        for b in bs:
            callers.setdefault(b, set()).add(a)
    seen: set[str] = set()
    todo = [service]
    while todo:
        for c in callers.get(todo.pop(), ()):
            if c not in seen and c != service:
                seen.add(c)
                todo.append(c)
    return seen


def self_times(spans: pd.DataFrame) -> pd.DataFrame:
    """Per (service, operation): spans, mean and p90 self-time in ms (duration minus children, >= 0)."""
    import numpy as np
    import pandas as pd

    _check(spans)
    if spans.empty:
        return pd.DataFrame(columns=["service", "operation", "spans", "self_ms_mean", "self_ms_p90", "total_ms_mean"])
    dur = spans["duration_ms"].to_numpy(dtype=float)
    kids: dict[tuple[str, str], float] = {}
    for tid, parent, d in zip(spans["trace_id"], spans["parent_span_id"], dur):
        if parent:
            kids[(tid, parent)] = kids.get((tid, parent), 0.0) + d
    child = np.array([kids.get((t, sid), 0.0) for t, sid in zip(spans["trace_id"], spans["span_id"])])
    ops = spans["operation"].to_numpy() if "operation" in spans.columns else np.full(len(spans), "")
    frame = pd.DataFrame({"service": spans["service"].to_numpy(), "operation": ops,
                          "self_ms": np.clip(dur - child, 0.0, None), "total_ms": dur})
    g = frame.groupby(["service", "operation"], sort=True)
    out = g.agg(spans=("self_ms", "size"), self_ms_mean=("self_ms", "mean"), total_ms_mean=("total_ms", "mean"))
    out.insert(2, "self_ms_p90", g["self_ms"].quantile(0.9))
    return out.reset_index()


def error_paths(spans: pd.DataFrame) -> ErrorPaths:
    """Where errors start (ERROR spans without an ERROR child) and where they only pass through."""
    _check(spans)
    if spans.empty:
        return ErrorPaths()
    err = spans[spans["status"] == "ERROR"]
    if err.empty:
        return ErrorPaths()
    err_parents = set(zip(err["trace_id"], err["parent_span_id"]))
    is_origin = [(t, s) not in err_parents for t, s in zip(err["trace_id"], err["span_id"])]
    origins: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    exemplars: dict[str, list[str]] = {}
    by_id = {(t, s): (p, svc) for t, s, p, svc in zip(err["trace_id"], err["span_id"], err["parent_span_id"],
                                                       err["service"])}
    paths: Counter[tuple[str, ...]] = Counter()
    peers = _peers(err)
    for (tid, sid, svc), origin, peer in zip(zip(err["trace_id"], err["span_id"], err["service"]), is_origin, peers):
        if not origin:
            passed[svc] += 1
            continue
        if peer and peer != svc:  # a failed client call with nothing underneath: the callee is the origin
            passed[svc] += 1
            svc = peer
        origins[svc] += 1
        ex = exemplars.setdefault(svc, [])
        if len(ex) < 3 and tid not in ex:
            ex.append(tid)
        chain = [svc]
        cur = by_id.get((tid, sid))
        hops = 0
        while cur is not None and cur[0] is not None and hops < 64:
            nxt = by_id.get((tid, cur[0]))
            if nxt is None:
                break
            if nxt[1] != chain[-1]:
                chain.append(nxt[1])
            cur = nxt
            hops += 1
        paths[tuple(reversed(chain))] += 1
    return ErrorPaths(dict(origins), dict(passed), dict(paths), {k: tuple(v) for k, v in exemplars.items()})


def _peers(err: pd.DataFrame) -> list[str]:
    """For CLIENT spans, the callee named in ``peer.service`` (OpenTelemetry semantic conventions), else ""."""
    if "kind" not in err.columns or "attributes" not in err.columns:
        return [""] * len(err)
    out = []
    for kind, attrs in zip(err["kind"], err["attributes"]):
        peer = attrs.get("peer.service") if kind == "CLIENT" and isinstance(attrs, dict) else None
        out.append(str(peer) if peer else "")
    return out
