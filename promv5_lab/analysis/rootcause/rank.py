"""Rank candidate causes (service x kind) from metric anomalies, change events, log surges and span errors.

Every candidate's score is a sum of named parts, each recorded as an :class:`~promv5_lab.types.Evidence`
weight, so the ranking can be read back:

``specific`` (x3)   evidence of that kind on that service: a version change just before its anomalies
                    (deploy); its pool near full, memory climbing, OOM restarts, the filesystem it writes to
                    filling (resource exhaustion); its clients' cache miss ratio or failed calls rising
                    (dependency failure); its request rate surging while it has no callers (traffic)
``anomaly``         how abnormal the service's own golden signals are now (0..1)
``onset``           how early its first anomaly started among the anomalous services (1 = first)
``position``        the share of the other anomalous services that call it, directly or not (a cause sits
                    downstream, on the callee side; for traffic the reverse: the entry point)
``logs``            new or surging ERROR/WARN templates it emits (and templates that speak of that kind)
``spans``           its share of the error spans that originate (rather than pass through) in traces

Candidates are turned into confidences with a softmax over the scores, scaled by how strong the best
evidence is (one weak hint is not 90% sure of anything).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...types import CauseKind, Evidence, RootCause
from .logs import TemplateSurge
from .signals import ChangeEvent, SeriesStat
from .traces import ErrorPaths, upstream_closure

__all__ = ["Inputs", "rank"]

W_SPECIFIC, W_ANOMALY, W_ONSET, W_POSITION, W_LOGS, W_LOG_KIND, W_SPANS = 3.0, 1.0, 0.7, 1.0, 0.5, 0.6, 0.7
W_SELF = 0.4
POOL_BUSY = 0.7  # share of a pool in use from which it counts fully as a resource under pressure
CACHE_SYSTEMS = ("redis", "memcached", "memcache", "valkey", "keydb", "dragonfly")
_KIND_WORDS: dict[str, tuple[str, ...]] = {
    "resource_exhaustion": ("oom", "oomkilled", "heap", "memory", "pool exhausted", "no space", "full", "disk",
                            "too many", "exhausted", "limit"),
    "traffic": ("shed", "overloaded", "rate limit", "throttl", "too many requests"),
    "dependency_failure": ("cache miss", "unavailable", "connection refused", "timeout", "timed out"),
    "deploy": ("version=", "starting", "deploy", "rollout", "migration"),
}
OWN_GOLDEN = ("latency", "error_ratio", "requests", "client_latency", "pool", "memory", "restarts", "client_errors",
              "cache_miss")


@dataclass
class Inputs:
    """Everything the ranking looks at (built by :func:`promv5_lab.analysis.rootcause.diagnose`)."""

    at: datetime
    window_start: datetime
    stats: list[SeriesStat]
    events: list[ChangeEvent]
    surges: list[TemplateSurge] = field(default_factory=list)
    graph: dict[str, set[str]] = field(default_factory=dict)        # caller -> callees
    errors: ErrorPaths = field(default_factory=ErrorPaths)
    hosts: dict[str, str] = field(default_factory=dict)             # service -> host
    span_systems: dict[str, str] = field(default_factory=dict)      # service -> db.system seen on its spans
    self_time: Any = None  # frame: service, operation, spans_now/_before, self_ms_mean_now/_before, ratio


@dataclass
class _Cand:
    service: str
    kind: CauseKind
    specific: float = 0.0
    evidence: list[Evidence] = field(default_factory=list)
    stats: list[SeriesStat] = field(default_factory=list)  # the series behind ``specific``


def _squash(z: float, half: float = 6.0) -> float:
    z = max(0.0, z)
    return z / (z + half)


def _fmt(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    if abs(v) >= 1e6 or (abs(v) < 1e-3 and v != 0):
        return f"{v:.3g}"
    return f"{v:.4g}"


def _stat_evidence(st: SeriesStat, weight: float) -> Evidence:
    ratio = f" (x{st.ratio:.2f})" if math.isfinite(st.ratio) and st.ratio > 0 else ""
    since = f" since {st.onset:%Y-%m-%d %H:%M} UTC" if st.onset else ""
    return Evidence("anomaly", f"{st.spec.description} [{st.entity}]: {_fmt(st.baseline)} -> {_fmt(st.current)}"
                    f"{ratio}, {st.z:.1f} scales from usual{since}", promql=st.spec.promql,
                    start=st.window.start, end=st.window.end,
                    detail=(("entity", st.entity), ("z", f"{st.z:.2f}"), ("detector_peak", f"{st.detector_peak:.3f}")),
                    weight=round(weight, 4))


def _services(inp: Inputs) -> set[str]:
    out = {s.entity for s in inp.stats if not s.spec.host_level}
    out |= set(inp.graph) | {c for cs in inp.graph.values() for c in cs}
    out |= {e.service for e in inp.events}
    out |= set(inp.hosts)
    return out


def _callers(graph: dict[str, set[str]], svc: str) -> set[str]:
    return {a for a, bs in graph.items() if svc in bs}


def _cache_of(inp: Inputs, client: str, services: set[str]) -> str | None:
    """The cache service a client calls: a callee whose spans say db.system=redis/memcached..., else by name."""
    callees = inp.graph.get(client, set())
    for c in sorted(callees):
        if inp.span_systems.get(c, "").lower() in CACHE_SYSTEMS:
            return c
    for c in sorted(callees or services):
        if any(k in c.lower() for k in (*CACHE_SYSTEMS, "cache")):
            return c
    return None


def _database_of(inp: Inputs, client: str, services: set[str]) -> str | None:
    callees = inp.graph.get(client, set())
    for c in sorted(callees):
        sysname = inp.span_systems.get(c, "").lower()
        if sysname and sysname not in CACHE_SYSTEMS:
            return c
    for c in sorted(callees or services):
        if any(k in c.lower() for k in ("postgres", "mysql", "mariadb", "mongo", "db", "sql")):
            return c
    return None


def rank(inp: Inputs, *, limit: int = 5) -> tuple[list[RootCause], list[str]]:
    """Ranked causes (best first) and the services judged to be symptoms."""
    services = _services(inp)
    by_svc: dict[str, list[SeriesStat]] = defaultdict(list)
    for st in inp.stats:
        if not st.spec.host_level:
            by_svc[st.entity].append(st)
    cands: dict[tuple[str, str], _Cand] = {}

    def cand(svc: str, kind: CauseKind) -> _Cand:
        return cands.setdefault((svc, kind), _Cand(svc, kind))

    def add(svc: str, kind: CauseKind, strength: float, ev: Evidence, st: SeriesStat | None = None) -> None:
        c = cand(svc, kind)
        c.specific = max(c.specific, strength)
        c.evidence.append(ev)
        if st is not None:
            c.stats.append(st)

    abnormal = {s: [st for st in sts if st.abnormal] for s, sts in by_svc.items()}
    anomaly = {s: max((_squash(st.z) for st in sts if st.spec.role in OWN_GOLDEN), default=0.0)
               for s, sts in abnormal.items()}

    # ---- deploy: a version change of the service shortly before its own anomalies
    for ev in inp.events:
        if ev.kind != "version" or ev.at < inp.window_start - timedelta(minutes=15):
            continue
        own = [st for st in abnormal.get(ev.service, []) if st.spec.role in ("latency", "error_ratio", "client_latency",
                                                                            "memory", "pool")]
        close = [st for st in own if st.onset and ev.at - timedelta(minutes=5) <= st.onset <= ev.at + timedelta(minutes=30)]
        strength = 1.0 if close else (0.45 if own else 0.1)
        add(ev.service, "deploy", strength, Evidence("event", f"{ev.summary} at {ev.at:%Y-%m-%d %H:%M:%S} UTC", promql=ev.promql,
                                                      start=inp.window_start, end=inp.at, weight=strength))
        for st in close[:3]:
            cand(ev.service, "deploy").evidence.append(_stat_evidence(st, 0.0))

    # ---- resource exhaustion: pools, memory, OOM restarts; filesystems and memory of the host
    for svc, sts in abnormal.items():
        for st in sts:
            role = st.spec.role
            if role == "pool":
                # exhaustion is a pool near full: one at 12% in use that was idle is busier, not exhausted
                strength = 1.0 if st.current >= 0.9 else 0.6 * min(1.0, max(0.0, st.current) / POOL_BUSY)
                if any(x.spec.role == "cache_miss" for x in sts):  # more misses -> more queries -> fuller pool
                    strength *= 0.5
            elif role == "memory":
                strength = 0.8
            elif role == "restarts":
                strength = 0.85
            else:
                continue
            add(svc, "resource_exhaustion", strength, _stat_evidence(st, strength), st)
    for ev in inp.events:
        if ev.kind == "down" and ev.at >= inp.window_start:
            c = cands.get((ev.service, "resource_exhaustion"))
            if c is not None:
                c.specific = min(1.0, c.specific + 0.1)
                c.evidence.append(Evidence("event", ev.summary, promql=ev.promql, start=inp.window_start, end=inp.at,
                                           weight=0.1))
    for st in inp.stats:
        if not (st.spec.host_level and st.abnormal):
            continue
        host = st.entity.split(":")[0]  # entity: instance (host:port) [":" mountpoint]
        on_host = sorted(s for s, h in inp.hosts.items() if h == host)
        mount = st.entity.split(":", 2)[-1] if st.spec.extra else ""
        for svc in on_host:
            named = _named_in(svc, mount) or any(s.service == svc and mount and mount in s.example for s in inp.surges)
            strength = 0.95 if named else (0.5 if len(on_host) == 1 else 0.35)
            if st.spec.role == "host_memory_free":
                strength = 0.6 if any(x.spec.role == "memory" for x in abnormal.get(svc, [])) else 0.2
            add(svc, "resource_exhaustion", strength, _stat_evidence(st, strength), st)

    # ---- dependency failure: clients see their cache miss, or their calls to a service fail
    for svc, sts in abnormal.items():
        for st in sts:
            if st.spec.role == "cache_miss":
                dep = _cache_of(inp, svc, services)
                if dep:
                    strength = 1.0 if st.current >= 0.5 else 0.75
                    add(dep, "dependency_failure", strength, _stat_evidence(st, strength), st)
            elif st.spec.role == "client_errors" and not any(x.spec.role == "pool" for x in sts):
                dep = _database_of(inp, svc, services)
                if dep:
                    add(dep, "dependency_failure", 0.5, _stat_evidence(st, 0.5), st)
            elif st.spec.role == "client_latency":
                dep = _database_of(inp, svc, services)
                if dep and not any(x.spec.role == "pool" for x in sts):
                    add(dep, "dependency_failure", 0.3, _stat_evidence(st, 0.3), st)

    # ---- traffic: a request surge where requests enter (no callers)
    busiest = max((st for st in inp.stats if st.spec.role == "requests" and math.isfinite(st.current)),
                  key=lambda st: st.current - st.baseline, default=None)
    busiest = busiest.entity if busiest is not None else None
    for svc, sts in abnormal.items():
        for st in sts:
            # a surge is abrupt: against the half hour before its onset, not only against the baseline
            # (a daily ramp doubles the rate over hours and is no incident)
            if st.spec.role != "requests" or not (math.isfinite(st.ratio) and st.ratio >= 1.5):
                continue
            step_up = st.jump if math.isfinite(st.jump) else st.ratio
            if step_up < 1.6:
                continue
            callers = _callers(inp.graph, svc)
            if inp.graph:
                entry = 0.15 if callers else 1.0
            else:  # no traces: the front door is where the most extra requests arrive
                entry = 0.9 if svc == busiest else 0.4
            strength = min(1.0, (min(st.ratio, step_up) - 1.0) / 1.5) * entry
            add(svc, "traffic", strength, _stat_evidence(st, strength), st)

    # ---- a service anomalous with no specific explanation
    for svc, a in anomaly.items():
        if a >= 0.4 and not any(k[0] == svc for k in cands):
            c = cand(svc, "unknown")
            c.evidence += [_stat_evidence(st, 0.0) for st in sorted(abnormal[svc], key=lambda s: -s.z)[:3]]

    # ---- shared parts: onset order, graph position, logs, spans
    involved = {s for s, a in anomaly.items() if a >= 0.4} | {c.service for c in cands.values() if c.specific >= 0.5}
    onsets = {}
    for s in involved:
        ts = [st.onset for st in abnormal.get(s, []) if st.onset]
        ts += [e.at for e in inp.events if e.service == s and e.kind == "version" and e.at >= inp.window_start]
        if ts:
            onsets[s] = min(ts)
    surge_by: dict[str, list[TemplateSurge]] = defaultdict(list)
    for sg in inp.surges:
        if sg.level in ("ERROR", "WARN", "FATAL", "WARNING", "CRITICAL"):
            surge_by[sg.service].append(sg)

    # a candidate's onset and anomaly are also those of the series behind its specific evidence (a cache
    # has no metrics of its own: its clients' miss ratio speaks for it)
    c_onset: dict[tuple[str, str], datetime] = {}
    for key, c in cands.items():
        ts = [st.onset for st in c.stats if st.onset] + ([onsets[c.service]] if c.service in onsets else [])
        if ts:
            c_onset[key] = min(ts)
    order = sorted(set(onsets.values()) | set(c_onset.values()))
    out = []
    for key, c in cands.items():
        parts: dict[str, float] = {"specific": W_SPECIFIC * c.specific}
        parts["anomaly"] = W_ANOMALY * max([anomaly.get(c.service, 0.0)] + [_squash(st.z) for st in c.stats])
        if key in c_onset and len(order) > 1:
            parts["onset"] = W_ONSET * (1.0 - order.index(c_onset[key]) / (len(order) - 1))
        elif key in c_onset:
            parts["onset"] = W_ONSET
        others = involved - {c.service}
        if inp.graph and others:
            if c.kind == "traffic":
                down = _downstream(inp.graph, c.service)
                parts["position"] = W_POSITION * len(down & others) / len(others)
            else:
                up = upstream_closure(inp.graph, c.service)
                parts["position"] = W_POSITION * len(up & others) / len(others)
                c.evidence.append(Evidence("dependency", f"{len(up & others)} of {len(others)} other anomalous services "
                                           f"call {c.service} (directly or not): {', '.join(sorted(up & others)) or '-'}",
                                           weight=round(parts["position"], 4)))
        sgs = surge_by.get(c.service, [])
        words = _KIND_WORDS.get(c.kind, ())
        # a dependency's clients speak for it: their templates of that kind (a cache's clients log the misses)
        clients = {st.entity for st in c.stats if st.entity != c.service} if c.kind == "dependency_failure" else set()
        kind_sg = [s for s in sgs + [x for cl in sorted(clients) for x in surge_by.get(cl, [])]
                   if any(w in s.template.lower() for w in words)]
        if sgs:
            total = sum(s.score for s in sgs)
            parts["logs"] = W_LOGS * _squash(total, 10.0)
            for s in [x for x in sgs if x not in kind_sg][:2]:
                c.evidence.append(_surge_evidence(s, inp, parts["logs"] * s.score / total))
        if kind_sg:
            total = sum(s.score for s in kind_sg)
            parts["log_kind"] = W_LOG_KIND * _squash(total, 5.0)
            for s in kind_sg[:3]:
                c.evidence.append(_surge_evidence(s, inp, parts["log_kind"] * s.score / total))
        slow = _self_time_rise(inp, c.service)
        if slow is not None:
            row, part = slow
            parts["self_time"] = W_SELF * part
            c.evidence.append(Evidence(
                "trace", f"self-time of {c.service} {row['operation']} x{row['ratio']:.1f} "
                f"({row['self_ms_mean_before']:.1f} ms -> {row['self_ms_mean_now']:.1f} ms over {int(row['spans_now'])} "
                f"spans; duration minus child spans)", start=inp.window_start, end=inp.at,
                detail=(("service", c.service), ("operation", str(row["operation"]))), weight=round(parts["self_time"], 4)))
        share = inp.errors.origin_share(c.service)
        if share > 0 and sum(inp.errors.origins.values()) >= 3:
            parts["spans"] = W_SPANS * share
            c.evidence.append(Evidence(
                "trace", f"{inp.errors.origins.get(c.service, 0)} error spans start in {c.service} "
                f"({share:.0%} of error origins in the window)",
                start=inp.window_start, end=inp.at,
                detail=tuple(("trace_id", t) for t in inp.errors.exemplars.get(c.service, ())),
                weight=round(parts["spans"], 4)))
        score = sum(parts.values())
        out.append((score, c, parts))
    if not out:
        return [], sorted(involved)
    out.sort(key=lambda x: (-x[0], x[1].service, x[1].kind))
    top = out[0][0]
    z = sum(math.exp(s - top) for s, _, _ in out)
    strength = _squash(out[0][2].get("specific", 0.0) + out[0][2].get("anomaly", 0.0), 1.0)
    causes = []
    for score, c, parts in out[:limit]:
        conf = math.exp(score - top) / z * (0.4 + 0.6 * strength)
        ev = sorted(c.evidence, key=lambda e: -e.weight)
        summary = _summary(c, parts)
        causes.append(RootCause(c.service, c.kind, round(min(1.0, max(0.0, conf)), 4), tuple(ev[:12]), summary))
    best = causes[0].service
    symptoms = sorted(s for s in involved if s != best)
    return causes, symptoms


def _self_time_rise(inp: Inputs, service: str):
    """The operation of ``service`` whose own time (without its callees) rose most, and a 0..1 part."""
    st = inp.self_time
    if st is None or len(st) == 0:
        return None
    mine = st[st["service"] == service]
    if mine.empty:
        return None
    row = mine.loc[mine["ratio"].idxmax()]
    if not row["ratio"] >= 1.5:
        return None
    return row, _squash(math.log2(float(row["ratio"])), 1.5)


def _downstream(graph: dict[str, set[str]], svc: str) -> set[str]:
    seen: set[str] = set()
    todo = [svc]
    while todo:
        for c in graph.get(todo.pop(), ()):
            if c not in seen and c != svc:
                seen.add(c)
                todo.append(c)
    return seen


def _named_in(service: str, text: str) -> bool:
    """Whether a service's name (or its stem, 'postgres' in 'postgresql') appears as a word in ``text``."""
    if not text:
        return False
    words = re.split(r"[^a-z0-9]+", text.lower())
    s = service.lower()
    return any(w == s or (len(s) >= 4 and w.startswith(s)) for w in words)


def _surge_evidence(s: TemplateSurge, inp: Inputs, weight: float) -> Evidence:
    status = "new" if s.new else f"x{s.ratio:.1f}"
    detail = [("service", s.service), ("template", s.template), ("level", s.level),
              ("window_count", str(s.window_count)), ("baseline_count", str(s.baseline_count)),
              ("example", s.example)]
    detail += [("trace_id", t) for t in s.trace_ids]
    return Evidence("log_template", f"{s.service} logs {s.window_count} x a {s.level} template ({status} vs baseline "
                    f"{s.baseline_count})", start=inp.window_start, end=inp.at, detail=tuple(detail),
                    weight=round(weight, 4))


_KIND_TEXT = {"deploy": "a deploy", "resource_exhaustion": "resource exhaustion",
              "dependency_failure": "a failing dependency", "traffic": "a traffic surge", "unknown": "an unexplained anomaly"}


def _summary(c: _Cand, parts: dict[str, float]) -> str:
    why = ", ".join(f"{k} {v:.2f}" for k, v in sorted(parts.items(), key=lambda kv: -kv[1]) if v > 0)
    return f"{_KIND_TEXT[c.kind]} at {c.service} (score parts: {why})"
