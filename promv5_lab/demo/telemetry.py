"""Sampled logs and traces that agree with the metrics (same steps, same error causes).

``logs.jsonl``: one JSON object a line, sorted by time::

    {"timestamp": "2026-11-25T10:03:12.345Z", "service": "checkout", "level": "ERROR",
     "message": "connection pool exhausted (in_use=50 max=50) waited 2034ms", "trace_id": "9f..."|null,
     "node": "node-2"}

``traces.jsonl``: one OTLP-shaped span a line (grouped by trace, traces sorted by start)::

    {"trace_id": 32 hex, "span_id": 16 hex, "parent_span_id": 16 hex or null (root),
     "service": "checkout", "operation": "POST /checkout", "kind": "SERVER"|"CLIENT"|"INTERNAL",
     "start": ISO 8601 UTC with microseconds, "duration": milliseconds (float),
     "status": "OK"|"ERROR", "attributes": {...}}

Traces are sampled: a trickle of ordinary ones plus tail-sampled error traces in proportion to the
errors in the metrics; spans follow the call graph. Error logs are emitted in proportion to each
service's 5xx count, with messages from a handful of templates chosen by the step's error cause.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .effects import HistoryPlan
from .model import Step
from .world import WORLD, Route, World

OK_TRACES_PER_STEP = 0.35
ERR_TRACE_SHARE = 0.03  # of frontend 5xx per step, capped
INFO_LOG_SHARE = 0.0006
ERR_LOG_SHARE = 0.05
MAX_PER_STEP = 6


def _ts(x: float) -> str:
    dt = datetime.fromtimestamp(x, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond:06d}Z"


def _ts_ms(x: float) -> str:
    dt = datetime.fromtimestamp(x, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class _Ids:
    """Random ids drawn from ``rng`` in blocks (one draw per id is slow)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self._buf: list[int] = []

    def _next(self) -> int:
        if not self._buf:
            self._buf = self.rng.integers(0, 2**63, 8192).tolist()
        return self._buf.pop()

    def trace(self) -> str:
        return "%016x%016x" % (self._next(), self._next())

    def span(self) -> str:
        return "%016x" % self._next()


class _TraceBuilder:
    """Builds one trace down the call graph at step ``i``; ``err`` marks the path an error took."""

    def __init__(self, d: Step, plan: HistoryPlan, i: int, rng: np.random.Generator, ids: _Ids, world: World):
        self.d, self.plan, self.i, self.rng, self.ids, self.world = d, plan, i, rng, ids, world
        self.spans: list[dict] = []
        self.trace_id = ids.trace()
        self.services: set[str] = set()

    def _span(self, parent: str | None, service: str, op: str, kind: str, start: float, dur: float, ok: bool,
              attrs: dict) -> str:
        sid = self.ids.span()
        self.spans.append({"trace_id": self.trace_id, "span_id": sid, "parent_span_id": parent, "service": service,
                           "operation": op, "kind": kind, "start": _ts(start), "duration": round(dur * 1000, 3),
                           "status": "OK" if ok else "ERROR", "attributes": attrs})
        self.services.add(service)
        return sid

    def route(self, r: Route, parent: str | None, start: float, err: bool) -> float:
        i, d, eff = self.i, self.d, self.plan.effects
        s = r.service
        sid_slot = len(self.spans)
        own = r.latency_s * eff.lat[s][i] * float(np.exp(self.rng.normal(0, 0.35)))
        cursor = start + own * 0.3
        # where does the error come from? self (own/shed) or one of the calls
        origin = None
        if err:
            weights = [float(np.clip(r.error_ratio + eff.err[s][i], 0, 1)) + float(d.causes[s]["shed"][i])]
            for c in r.calls:
                if c.route is not None:
                    weights.append(float(d.routes[(c.service, c.route)].err_total[i]) * c.count)
                elif c.service == "postgres":
                    weights.append(float(d.pool_err[s][i] + (eff.db_write_err[i] if c.write else 0.0)
                                         + eff.down["postgres"][i]) * c.count)
                else:
                    weights.append(float(eff.down["redis"][i]) * c.count)
            p = np.asarray(weights) / max(sum(weights), 1e-12)
            origin = int(self.rng.choice(len(p), p=p)) - 1  # -1 = self
        placeholder = {}  # filled after children, to keep parent first in the output
        self.spans.append(placeholder)
        sid = self.ids.span()
        status_code = "200"
        if err:
            status_code = "503" if origin == -1 and d.causes[s]["shed"][i] > r.error_ratio + eff.err[s][i] else "500"
        for k, c in enumerate(r.calls):
            bad = err and origin == k
            if c.route is not None:
                callee = self.world.route(c.service, c.route)
                if bad and eff.down[c.service][i] > 0.2:
                    self._span(sid, s, f"{callee.method} {c.service}{callee.route}", "CLIENT", cursor, 0.001, False,
                               {"error": "connection refused", "peer.service": c.service})
                    cursor += 0.001
                else:
                    cursor += self.route(callee, sid, cursor, bad)
            else:
                for _ in range(int(c.count)):
                    cursor += self._leaf(s, c, sid, cursor, bad)
                    bad = False
        dur = cursor - start + own * 0.7
        attrs = {"http.route": r.route, "http.method": r.method, "http.status_code": int(status_code)}
        placeholder.update({"trace_id": self.trace_id, "span_id": sid, "parent_span_id": parent, "service": s,
                            "operation": r.operation, "kind": "SERVER", "start": _ts(start),
                            "duration": round(dur * 1000, 3), "status": "ERROR" if err else "OK",
                            "attributes": attrs})
        self.spans[sid_slot] = placeholder
        self.services.add(s)
        return dur

    def _leaf(self, client: str, c, parent: str, start: float, bad: bool) -> float:
        i, d, eff = self.i, self.d, self.plan.effects
        noise = float(np.exp(self.rng.normal(0, 0.4)))
        if c.service == "redis":
            dur = 0.0004 * noise
            self._span(parent, "redis", "GET", "SERVER", start, dur, not bad, {"db.system": "redis"})
            svc = self.world.service(client)
            hit = eff.hit_ratio[i]
            if svc.cache_client and self.rng.random() > hit:
                dur += self._db(client, parent, start + dur, False, "SELECT products", bad=False)
            return dur
        op = "INSERT orders" if (c.write and client == "checkout") else ("INSERT cart_items" if c.write else "SELECT")
        return self._db(client, parent, start, c.write, op, bad=bad)

    def _db(self, client: str, parent: str, start: float, write: bool, op: str, *, bad: bool) -> float:
        i, d, eff = self.i, self.d, self.plan.effects
        wait = 0.0
        pool_bad = bad and d.pool_err[client][i] >= (eff.db_write_err[i] if write else 0.0)
        if d.pool_err[client][i] > 0.05 or pool_bad:
            wait = 2.0 if pool_bad else float(d.pool_err[client][i]) * 2.0
            self._span(parent, client, "db.pool.acquire", "INTERNAL", start, wait, not pool_bad,
                       {"db.pool.max": self.world.service(client).db_pool_max})
            if pool_bad:
                return wait
        dur = float(d.db_latency_s[i]) * float(np.exp(self.rng.normal(0, 0.5)))
        self._span(parent, "postgres", op, "SERVER", start + wait, dur, not bad,
                   {"db.system": "postgresql", **({"error": "No space left on device"} if bad else {})})
        return wait + dur


def _error_message(rng: np.random.Generator, cause: str, service: str, d: Step, plan: HistoryPlan, i: int,
                   world: World) -> tuple[str, str]:
    """(level, message) for one error of ``service`` at step ``i`` caused by ``cause``."""
    eff = plan.effects
    routes = world.routes_of(service)
    r = routes[int(rng.integers(len(routes)))] if routes else None
    ms = int(float(np.exp(rng.normal(0, 0.3))) * 1000 * (r.latency_s * 8 if r else 0.05))
    if cause == "db":
        if eff.db_write_err[i] > d.pool_err.get(service, np.zeros(i + 1))[i]:
            return "ERROR", f"db write failed: could not extend file \"base/16384/{int(rng.integers(16000, 17000))}\": No space left on device"
        mx = world.service(service).db_pool_max
        return "ERROR", (f"connection pool exhausted (in_use={int(d.pool_in_use[service][i])} max={mx}) "
                         f"waited {int(rng.normal(2000, 40))}ms")
    if cause == "dependency" and r is not None:
        http = [c for c in r.calls if c.route is not None]
        if http:
            c = http[int(rng.integers(len(http)))]
            if eff.down[c.service][i] > 0.2:
                inst = world.service(c.service).instance
                return "ERROR", f"upstream {c.service} unavailable: dial tcp {inst}: connect: connection refused"
            return "ERROR", f"upstream {c.service} returned 500 for {r.method} {r.route} after {ms}ms"
    if cause == "shed":
        return "WARN", f"request shed: server overloaded (inflight={int(rng.integers(200, 260))} limit=200)"
    if r is not None:
        return "ERROR", f"{r.method} {r.route} failed: internal error (code=500) after {ms}ms"
    return "ERROR", f"internal error after {ms}ms"


def write_logs_and_traces(logs_path: Path, traces_path: Path, t: np.ndarray, step: float, d: Step,
                          plan: HistoryPlan, rng: np.random.Generator, world: World = WORLD) -> tuple[int, int]:
    ids = _Ids(rng)
    n = len(t)
    logs: list[tuple[float, str]] = []
    traces: list[tuple[float, list[dict]]] = []
    fr = world.routes_of("frontend")
    fr_rates = np.stack([d.routes[("frontend", r.route)].rate for r in fr], axis=1)
    fr_errs = np.stack([d.routes[("frontend", r.route)].codes["500"] + d.routes[("frontend", r.route)].codes["503"]
                        for r in fr], axis=1).astype(float)
    n_ok = rng.poisson(OK_TRACES_PER_STEP, n)
    n_err = rng.poisson(np.minimum(fr_errs.sum(axis=1) * ERR_TRACE_SHARE, 3.0))
    err_traces_at: dict[int, list[tuple[str, set[str]]]] = {}
    for i in np.flatnonzero(n_ok + n_err).tolist():
        for k in range(int(n_ok[i] + n_err[i])):
            err = k >= n_ok[i]
            w = fr_errs[i] if err else fr_rates[i]
            if w.sum() <= 0:
                continue
            r = fr[int(rng.choice(len(fr), p=w / w.sum()))]
            start = float(t[i] - step + rng.random() * step)
            b = _TraceBuilder(d, plan, i, rng, ids, world)
            b.route(r, None, start, err)
            traces.append((start, b.spans))
            if err:
                err_traces_at.setdefault(i, []).append((b.trace_id, b.services))

    for s in world.services:
        node = s.node
        if world.routes_of(s.name):
            served = sum(d.routes[(s.name, r.route)].codes["200"] for r in world.routes_of(s.name))
            errors = sum(d.routes[(s.name, r.route)].codes["500"] + d.routes[(s.name, r.route)].codes["503"]
                         for r in world.routes_of(s.name))
            n_info = rng.poisson(np.minimum(served * INFO_LOG_SHARE, 2.0))
            n_errl = rng.poisson(np.minimum(errors * ERR_LOG_SHARE, MAX_PER_STEP))
            causes = d.causes[s.name]
            cnames = list(causes)
            cw = np.stack([causes[c] for c in cnames], axis=1) + 1e-12
            for i in np.flatnonzero(n_info).tolist():
                for _ in range(int(n_info[i])):
                    r = world.routes_of(s.name)[int(rng.integers(len(world.routes_of(s.name))))]
                    ms = int(d.routes[(s.name, r.route)].median_s[i] * 1000 * float(np.exp(rng.normal(0, 0.4))))
                    ts = float(t[i] - step + rng.random() * step)
                    logs.append((ts, _log(ts, s.name, node, "INFO",
                                          f"{r.method} {r.route} completed 200 in {ms}ms", ids.trace())))
            for r in world.routes_of(s.name):  # slow-request warnings when a route is far above its norm
                med = d.routes[(s.name, r.route)].median_s
                slow = med > 2.5 * float(np.median(med))
                n_slow = rng.poisson(np.where(slow, 0.6, 0.0))
                for i in np.flatnonzero(n_slow).tolist():
                    for _ in range(int(n_slow[i])):
                        ms = int(med[i] * 1000 * float(np.exp(rng.normal(0.3, 0.3))))
                        ts = float(t[i] - step + rng.random() * step)
                        logs.append((ts, _log(ts, s.name, node, "WARN",
                                              f"slow request: {r.method} {r.route} took {ms}ms", ids.trace())))
            for i in np.flatnonzero(n_errl).tolist():
                for _ in range(int(n_errl[i])):
                    cause = cnames[int(rng.choice(len(cnames), p=cw[i] / cw[i].sum()))]
                    level, msg = _error_message(rng, cause, s.name, d, plan, i, world)
                    cands = [tid for tid, svcs in err_traces_at.get(i, []) if s.name in svcs]
                    tid = cands[int(rng.integers(len(cands)))] if cands else ids.trace()
                    ts = float(t[i] - step + rng.random() * step)
                    logs.append((ts, _log(ts, s.name, node, level, msg, tid)))
        # resource warnings, sampled once every few minutes while they hold
        every = max(1, int(300 // step))
        eff = plan.effects
        for i in range(0, n, every):
            ts = float(t[i])
            frac = eff.rss_frac[s.name][i]
            if frac > 0.75:
                rss = int(d.rss[s.name][i] / 2**20)
                logs.append((ts, _log(ts, s.name, node, "WARN",
                                      f"heap usage high (rss={rss}MiB limit={s.rss_limit_bytes // 2**20}MiB)", None)))
            if s.name == "postgres":
                for (nd, mp), fill in eff.fs_fill.items():
                    if nd == node and fill[i] > 0.5:
                        pct = int(100 * (1 - d.fs_avail[(nd, mp)][i] / world.node(nd).filesystems[-1].size_bytes))
                        logs.append((ts, _log(ts, s.name, node, "WARN", f"filesystem {mp} is {pct}% full", None)))
            if s.name == "catalog" and eff.hit_ratio[i] < 0.7:
                logs.append((ts, _log(ts, s.name, node, "WARN",
                                      f"cache miss ratio high (miss={int(100 * (1 - eff.hit_ratio[i]))}%)", None)))
    kills: Counter[str] = Counter()
    for ev in plan.events:
        svc = world.service(ev.service)
        if ev.kind == "oom_kill":
            kills[ev.service] += 1
            logs.append((ev.time, _log(ev.time, ev.service, svc.node, "ERROR",
                                       f"container killed: OOMKilled (limit={svc.rss_limit_bytes // 2**20}MiB) "
                                       f"restart_count={kills[ev.service]}", None)))
        logs.append((ev.time + 2.0, _log(ev.time + 2.0, ev.service, svc.node, "INFO",
                                         f"starting {ev.service} version={ev.version} reason={ev.kind}", None)))
    logs.sort(key=lambda x: x[0])
    traces.sort(key=lambda x: x[0])
    with open(logs_path, "w") as fh:
        fh.write("".join(line + "\n" for _, line in logs))
    with open(traces_path, "w") as fh:
        fh.write("".join(json.dumps(sp, separators=(",", ":")) + "\n" for _, spans in traces for sp in spans))
    return len(logs), sum(len(s) for _, s in traces)


def _log(ts: float, service: str, node: str, level: str, message: str, trace_id: str | None) -> str:
    return json.dumps({"timestamp": _ts_ms(ts), "service": service, "level": level, "message": message,
                       "trace_id": trace_id, "node": node}, separators=(",", ":"))
