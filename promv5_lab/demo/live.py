"""The shop running in (optionally accelerated) wall-clock time, with injectable faults and remediations.

:class:`LiveWorld` is thread-safe and lazy: every read (``metrics_text()``, ``state()``...) first
advances the simulation to "now" in bounded sub-steps through the same :func:`~.model.evaluate` the
history uses, with :func:`~.effects.apply_fault` turning active faults into effects. There is no
background thread. Live faults ramp up within seconds (``LIVE_DURATION_S`` sets their time scales);
``time_scale`` > 1 runs the world faster than the wall clock (tests use it).

Remediation: an action fixes a fault when it is the fault type's remediation *and* targets the fault's
service (``clear_disk`` also accepts the node). Actions change the world either way: ``restart``
restarts the process (its counters reset), ``scale`` adds replicas, ``rollback`` returns to the
previous version, ``flush_cache`` empties the cache (briefly lowering the hit ratio), ``clear_disk``
frees the filesystem.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import DemoError, InputError, UnknownFault
from .effects import _bump, apply_fault, data_mount
from .incidents import ACTIONS, CATALOGUE, iso
from .model import Effects, evaluate
from .world import DB_BUCKETS, HTTP_BUCKETS, WORLD, World

# nominal incident length live: sets ramp times (about 5 s) and how fast disks fill / memory leaks
LIVE_DURATION_S = {"bad_deploy": 50.0, "memory_leak": 60.0, "disk_fill": 75.0, "db_pool_exhaustion": 20.0,
                   "cache_failure": 50.0, "traffic_surge": 30.0}
SUBSTEP_S = 5.0
MAX_CATCHUP_S = 900.0


@dataclass
class Fault:
    id: str
    type: str
    service: str
    started: float  # simulated Unix seconds

    def to_json(self) -> dict:
        return {"id": self.id, "type": self.type, "service": self.service, "started": iso(self.started),
                "node": WORLD.service(self.service).node}


@dataclass
class ActionResult:
    action: str
    service: str
    effective: bool
    resolved: list[str]
    message: str
    changes: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"action": self.action, "service": self.service, "effective": self.effective,
                "resolved": self.resolved, "message": self.message, "changes": self.changes}


class LiveWorld:
    """The demo shop, live. All public methods are safe to call from several threads."""

    def __init__(self, seed: int = 42, *, time_scale: float = 1.0, clock: Callable[[], float] = time.time,
                 world: World = WORLD) -> None:
        if not (time_scale > 0):
            raise InputError(f"time_scale must be positive, got {time_scale!r}")
        self.world = world
        self.rng = np.random.default_rng(seed)
        self.scale = float(time_scale)
        self._clock = clock
        self._wall0 = clock()
        self._sim0 = self._wall0
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self.t = self._sim0
        self.faults: dict[str, Fault] = {}
        self.replicas = {s.name: s.replicas for s in world.services}
        self.version = {s.name: s.version for s in world.services}
        self.prev_version: dict[str, str] = {}
        self.started = {s.name: self._sim0 - 3600 for s in world.services}
        self.restarts = {s.name: 0 for s in world.services}
        self.leak_since: dict[str, float] = {}
        self.down_until: dict[str, float] = {}
        self.cache_cold_until = 0.0
        self.queue = 0.0
        self.actions: list[dict] = []
        self._reset_counters()
        self._last: dict[str, Any] = {}
        self._advance_to(self._sim0 + SUBSTEP_S)

    # ------------------------------------------------------------------ time
    def now(self) -> float:
        return self._sim0 + (self._clock() - self._wall0) * self.scale

    def _reset_counters(self, service: str | None = None) -> None:
        w = self.world
        if service is None:
            self.http: dict[tuple[str, str, str], float] = {}
            self.hist: dict[tuple[str, str], np.ndarray] = {}
            self.hist_sum: dict[tuple[str, str], float] = {}
            self.cpu: dict[str, float] = {}
            self.dbq: dict[tuple[str, str], float] = {}
            self.dbh: dict[str, np.ndarray] = {}
            self.dbs: dict[str, float] = {}
            self.cache = {"hits": 0.0, "misses": 0.0}
            self.node_cpu: dict[tuple[str, str, str], float] = {}
            self.net: dict[tuple[str, str], float] = {}
        for r in w.http_routes():
            if service in (None, r.service):
                for code in ("200", "500", "503"):
                    self.http[(r.service, r.route, code)] = 0.0
                self.hist[(r.service, r.route)] = np.zeros(len(HTTP_BUCKETS) + 1)
                self.hist_sum[(r.service, r.route)] = 0.0
        for s in w.services:
            if service in (None, s.name):
                self.cpu[s.name] = 0.0
                if s.db_pool_max:
                    self.dbq[(s.name, "ok")] = self.dbq[(s.name, "error")] = 0.0
                    self.dbh[s.name] = np.zeros(len(DB_BUCKETS) + 1)
                    self.dbs[s.name] = 0.0
                if s.cache_client:
                    self.cache = {"hits": 0.0, "misses": 0.0}

    def _effects(self, t: float) -> Effects:
        eff = Effects.healthy(1, self.world)
        for s, n in self.replicas.items():
            eff.cap[s][:] = n / self.world.service(s).replicas
        for s, until in self.down_until.items():
            if t <= until:
                eff.down[s][:] = 0.5
        if t < self.cache_cold_until:
            eff.hit_ratio[:] = np.minimum(eff.hit_ratio, 0.5)
        for f in self.faults.values():
            el = np.array([max(t - f.started, 0.0)])
            dur = LIVE_DURATION_S[f.type]
            if f.type == "memory_leak":
                frac = (t - self.leak_since.get(f.service, f.started)) / dur
                apply_fault(eff, slice(None), f.type, f.service, el, duration_s=dur, leak_frac=np.array([frac]),
                            world=self.world)
            else:
                apply_fault(eff, slice(None), f.type, f.service, el, duration_s=dur, world=self.world)
        return eff

    def _advance_to(self, target: float) -> None:
        if target - self.t > MAX_CATCHUP_S:  # long idle: skip ahead, simulate only the last hour
            self.t = target - MAX_CATCHUP_S
        sub = max(SUBSTEP_S, (target - self.t) / 40)  # at most ~40 evaluations per catch-up
        while self.t < target - 1e-9:
            dt = min(sub, target - self.t)
            t1 = self.t + dt
            self._oom_check(t1)
            eff = self._effects(t1)
            d = evaluate(np.array([t1]), dt, eff, self.rng, world=self.world)
            self._accumulate(d, eff, dt)
            self.t = t1

    def _oom_check(self, t: float) -> None:
        for f in list(self.faults.values()):
            if f.type == "memory_leak":
                since = self.leak_since.get(f.service, f.started)
                if t - since >= LIVE_DURATION_S["memory_leak"]:
                    self.restarts[f.service] += 1
                    self._restart(f.service, t)
                    self.leak_since[f.service] = t
                    self.down_until[f.service] = t + SUBSTEP_S

    def _restart(self, service: str, t: float) -> None:
        self.started[service] = t
        self._reset_counters(service)

    def _accumulate(self, d, eff: Effects, dt: float) -> None:
        w = self.world
        for (s, route), rs in d.routes.items():
            for code, v in rs.codes.items():
                self.http[(s, route, code)] += float(v[0])
            self.hist[(s, route)] += rs.buckets[0]
            self.hist_sum[(s, route)] += float(rs.sum_s[0])
        for s, v in d.cpu_s.items():
            self.cpu[s] += float(v[0])
        for c, by in d.db_queries.items():
            for status, v in by.items():
                self.dbq[(c, status)] += float(v[0])
            self.dbh[c] += d.db_buckets[c][0]
            self.dbs[c] += float(d.db_sum[c][0])
        self.cache["hits"] += float(d.cache_hits[0])
        self.cache["misses"] += float(d.cache_misses[0])
        for k, v in d.node_cpu.items():
            self.node_cpu[k] = self.node_cpu.get(k, 0.0) + float(v[0])
        for nd in w.nodes:
            self.net[(nd.name, "rx")] = self.net.get((nd.name, "rx"), 0.0) + float(d.node_rx[nd.name][0])
            self.net[(nd.name, "tx")] = self.net.get((nd.name, "tx"), 0.0) + float(d.node_tx[nd.name][0])
        self.queue = max(0.0, self.queue + float(d.queue_in[0]) - float(d.queue_out_cap[0]))
        self._last = {"step": d, "eff": eff, "dt": dt}

    def tick(self) -> None:
        """Advance the simulation to now (every public read does this first)."""
        with self._lock:
            self._advance_to(self.now())

    # ------------------------------------------------------------------ faults
    def fault_types(self) -> list[dict]:
        return [{"type": t.name, "default_service": t.default_service, "targets": list(t.targets),
                 "description": t.description} for t in CATALOGUE.values()]

    def _check_service(self, service: str) -> None:
        if service not in self.world.service_names:
            raise InputError(f"Unknown service {service!r}",
                             hint=f"Services: {', '.join(self.world.service_names)}")

    def inject(self, kind: str, service: str | None = None) -> Fault:
        if kind not in CATALOGUE:
            raise UnknownFault(f"Unknown fault type {kind!r}", hint=f"Fault types: {', '.join(CATALOGUE)}")
        spec = CATALOGUE[kind]
        service = service or spec.default_service
        self._check_service(service)
        if service not in spec.targets:
            raise InputError(f"Fault type {kind!r} cannot target {service!r}",
                             hint=f"{kind} targets: {', '.join(spec.targets)}")
        with self._lock:
            self._advance_to(self.now())
            for f in self.faults.values():
                if f.type == kind and f.service == service:
                    raise DemoError(f"Fault {kind} on {service} is already active as {f.id}",
                                    hint=f"DELETE /admin/faults/{f.id} first")
            fid = f"flt-{next(self._ids):04d}-{kind}"
            fault = Fault(fid, kind, service, self.t)
            self.faults[fid] = fault
            if kind == "bad_deploy":
                self.prev_version[service] = self.version[service]
                self.version[service] = _bump(self.version[service], 2)
                self._restart(service, self.t)
            if kind == "memory_leak":
                self.leak_since[service] = self.t
            return fault

    def clear(self, fault_id: str) -> Fault:
        with self._lock:
            self._advance_to(self.now())
            if fault_id not in self.faults:
                raise UnknownFault(f"No active fault with id {fault_id!r}",
                                   hint="GET /admin/state lists the active faults")
            return self._resolve(fault_id)

    def _resolve(self, fault_id: str) -> Fault:
        f = self.faults.pop(fault_id)
        if f.type == "memory_leak":
            self.leak_since.pop(f.service, None)
        return f

    # ------------------------------------------------------------------ actions
    def act(self, action: str, service: str | None = None, params: dict | None = None) -> ActionResult:
        if action not in ACTIONS:
            raise InputError(f"Unknown action {action!r}", hint=f"Actions: {', '.join(ACTIONS)}")
        params = dict(params or {})
        if service is None:
            service = {"flush_cache": "redis", "scale": "frontend"}.get(action)
            if service is None:
                raise InputError(f"Action {action!r} needs a service", hint='{"action": ..., "service": "checkout"}')
        self._check_service(service)
        with self._lock:
            self._advance_to(self.now())
            changes = self._perform(action, service, params)
            fixed = [f.id for f in list(self.faults.values()) if self._fixes(action, service, params, f)]
            for fid in fixed:
                self._resolve(fid)
            if fixed:
                msg = f"{action} on {service} resolved {', '.join(fixed)}"
            elif self.faults:
                msg = f"{action} on {service} was performed but resolved none of the {len(self.faults)} active faults"
            else:
                msg = f"{action} on {service} was performed; there was no active fault"
            res = ActionResult(action, service, bool(fixed), fixed, msg, changes)
            self.actions.append({"time": iso(self.t), **res.to_json()})
            del self.actions[:-50]
            return res

    def _perform(self, action: str, service: str, params: dict) -> dict:
        if action == "restart":
            self._restart(service, self.t)
            self.down_until[service] = self.t + 1.0
            if service in self.leak_since:
                self.leak_since[service] = self.t
            return {"started": iso(self.t)}
        if action == "scale":
            n = params.get("replicas", self.replicas[service] * 3)
            if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 50:
                raise InputError(f"params.replicas must be an integer 1..50, got {n!r}")
            self.replicas[service] = n
            return {"replicas": n}
        if action == "rollback":
            prev = self.prev_version.pop(service, None)
            if prev is None:
                return {"version": self.version[service], "note": "no previous version to roll back to"}
            self.version[service] = prev
            self._restart(service, self.t)
            return {"version": prev}
        if action == "flush_cache":
            if self.world.service(service).kind != "cache":
                return {"note": f"{service} is not a cache"}
            self.cache_cold_until = self.t + 10.0
            return {"flushed": True}
        if action == "clear_disk":
            if "node" in params:
                if params["node"] not in self.world.node_names:
                    raise InputError(f"Unknown node {params['node']!r}",
                                     hint=f"Nodes: {', '.join(self.world.node_names)}")
                node = params["node"]
                return {"node": node, "mountpoint": self.world.node(node).filesystems[-1].mountpoint}
            node, mount = data_mount(service, self.world)
            return {"node": node, "mountpoint": mount}
        raise AssertionError(action)  # pragma: no cover

    def _fixes(self, action: str, service: str, params: dict, f: Fault) -> bool:
        if CATALOGUE[f.type].remediation != action:
            return False
        if action == "clear_disk":
            return service == f.service or params.get("node") == self.world.service(f.service).node
        if action == "scale":
            spec = self.world.service(f.service)
            return service == f.service and self.replicas[service] >= 2.5 * spec.replicas
        return service == f.service

    # ------------------------------------------------------------------ reads
    def state(self) -> dict:
        with self._lock:
            self._advance_to(self.now())
            d, eff = self._last["step"], self._last["eff"]
            services = {}
            for s in self.world.services:
                routes = self.world.routes_of(s.name)
                err = lat = rps = 0.0
                if routes:
                    rates = np.array([d.routes[(s.name, r.route)].rate[0] for r in routes])
                    errs = np.array([d.routes[(s.name, r.route)].err_total[0] for r in routes])
                    meds = np.array([d.routes[(s.name, r.route)].median_s[0] for r in routes])
                    rps = float(rates.sum())
                    err = float((rates * errs).sum() / max(rates.sum(), 1e-9))
                    lat = float((rates * meds).sum() / max(rates.sum(), 1e-9))
                    base = float(sum(r.latency_s * x for r, x in zip(routes, rates)) / max(rates.sum(), 1e-9))
                else:
                    base = lat = 0.0
                down = self.t <= self.down_until.get(s.name, -1)
                degraded = err > 0.05 or (lat > 6 * base + 0.05) or eff.rss_frac[s.name][0] > 0.7
                if s.db_pool_max and d.pool_err[s.name][0] > 0.05:
                    degraded = True
                services[s.name] = {
                    "health": "down" if down else ("degraded" if degraded else "healthy"),
                    "node": s.node, "version": self.version[s.name], "replicas": self.replicas[s.name],
                    "rps": round(rps, 3), "error_ratio": round(err, 4), "median_latency_s": round(lat, 4),
                    "rss_bytes": int(d.rss[s.name][0]), "restarts": self.restarts[s.name],
                    "started": iso(self.started[s.name]),
                }
            nodes = {}
            for nd in self.world.nodes:
                nodes[nd.name] = {"filesystems": {fs.mountpoint: round(float(d.fs_avail[(nd.name, fs.mountpoint)][0])
                                                                       / fs.size_bytes, 4) for fs in nd.filesystems}}
            return {"time": iso(self.t), "time_scale": self.scale, "services": services, "nodes": nodes,
                    "active_faults": [f.to_json() for f in self.faults.values()],
                    "cache_hit_ratio": round(float(eff.hit_ratio[0]), 4), "queue_depth": round(self.queue),
                    "recent_actions": self.actions[-10:]}

    def metrics_text(self, which: str = "services") -> str:
        from .exposition import render

        with self._lock:
            self._advance_to(self.now())
            return render(self, which)
