"""Incidents and live faults -> :class:`~promv5_lab.demo.model.Effects`; deploys and restarts as events.

One function, :func:`apply_fault`, says what each incident type does to the world as a function of the
time since it started, so the history simulator and the live server agree on the physics. History also
gets its process events here: ordinary deploys (a version bump, which restarts the process), the bad
deploy and its rollback, OOM kills of a leaking service, and the restarts that end incidents. Every
restart resets that process's counters; only OOM kills count in the restarts counter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from .incidents import Incident
from .model import CACHE_HIT, Effects
from .world import WORLD, World

EventKind = Literal["deploy", "rollback", "oom_kill", "restart"]


@dataclass(frozen=True)
class Event:
    """Something that (re)started a process: counters of ``service`` reset at ``time``."""

    time: float  # Unix seconds
    service: str
    kind: EventKind
    version: str
    incident: str | None = None

    def to_json(self) -> dict:
        from .incidents import iso
        from ..types import as_utc

        return {"time": iso(as_utc(self.time)), "service": self.service, "kind": self.kind,
                "version": self.version, "incident": self.incident}


def ramp(elapsed: np.ndarray, tau_s: float) -> np.ndarray:
    return np.clip(elapsed / max(tau_s, 1e-9), 0.0, 1.0)


def data_mount(service: str, world: World = WORLD) -> tuple[str, str]:
    """(node, mountpoint) a disk_fill on ``service`` fills: its node's last filesystem."""
    node = world.node(world.service(service).node)
    return node.name, node.filesystems[-1].mountpoint


def apply_fault(
    eff: Effects, sl: slice | np.ndarray, kind: str, service: str, elapsed: np.ndarray, *, duration_s: float,
    leak_frac: np.ndarray | None = None, jitter: np.ndarray | None = None, world: World = WORLD,
) -> None:
    """Turn ``eff``'s knobs at ``sl`` for a fault of ``kind`` on ``service``, ``elapsed`` seconds in.

    ``duration_s`` sets the time scales (ramp, fill): an incident's length in history, a nominal few
    minutes live. ``leak_frac`` (memory_leak only) is the leak's progress towards the limit, 0..1.
    """
    j = 1.0 if jitter is None else jitter
    if kind == "bad_deploy":
        r = ramp(elapsed, min(120.0, duration_s / 10))
        eff.slow[service][sl] *= 1.0 + 2.5 * r * j  # e.g. an N+1 query: everything the service does is slower
        eff.err[service][sl] += 0.012 * r
    elif kind == "memory_leak":
        frac = np.clip(leak_frac if leak_frac is not None else ramp(elapsed, duration_s), 0, 1)
        eff.rss_frac[service][sl] = np.maximum(eff.rss_frac[service][sl], frac)
    elif kind == "disk_fill":
        fill = ramp(elapsed, 0.8 * duration_s) * 0.996
        key = data_mount(service, world)
        eff.fs_fill[key][sl] = np.maximum(eff.fs_fill[key][sl], fill)
        near_full = np.clip((fill - 0.97) / 0.025, 0.0, 1.0)
        if service == "postgres":
            eff.db_write_err[sl] = np.maximum(eff.db_write_err[sl], 0.6 * near_full)
        else:
            eff.err[service][sl] += 0.3 * near_full
    elif kind == "db_pool_exhaustion":
        sat = ramp(elapsed, min(300.0, duration_s / 6)) * np.clip(j, 0.95, 1.0)  # a few leaks get reclaimed
        eff.pool_sat[service][sl] = np.maximum(eff.pool_sat[service][sl], sat)
    elif kind == "cache_failure":
        r = ramp(elapsed, min(90.0, duration_s / 10))
        eff.hit_ratio[sl] = np.minimum(eff.hit_ratio[sl], CACHE_HIT - 0.8 * r)
        eff.lat["postgres"][sl] *= 1.0 + 0.8 * r  # the stampede on the same hot rows adds lock contention
    elif kind == "traffic_surge":
        fe = world.service("frontend")
        eff.traffic_add[sl] += 1.5 * fe.capacity_rps * fe.replicas * ramp(elapsed, min(300.0, duration_s / 6)) * j
    else:  # pragma: no cover - guarded by the catalogue
        raise ValueError(kind)


def _bump(version: str, part: int) -> str:
    nums = [int(x) for x in version.split(".")]
    while len(nums) < 3:
        nums.append(0)
    nums[part] += 1
    for k in range(part + 1, 3):
        nums[k] = 0
    return ".".join(str(x) for x in nums)


@dataclass
class HistoryPlan:
    effects: Effects
    events: list[Event]
    versions: dict[str, list[tuple[float, str]]]  # service -> [(from time, version)], sorted
    incidents: list[Incident]


def plan_history(
    t: np.ndarray, step_s: float, scheduled: list[tuple[str, str, datetime, datetime]], rng: np.random.Generator,
    world: World = WORLD,
) -> HistoryPlan:
    """Effects over the grid ``t`` plus process events, for incidents placed by ``incidents.schedule``."""
    from .incidents import make_incident

    n = len(t)
    eff = Effects.healthy(n, world)
    t0, t1 = float(t[0]), float(t[-1])
    events: list[Event] = []
    windows = [(s.timestamp(), e.timestamp()) for _, _, s, e in scheduled]

    # ordinary deploys (each a restart), away from incident windows
    planned: list[tuple[float, str]] = []
    for svc in world.services:
        if not svc.deployable:
            continue
        k = rng.poisson((t1 - t0) / 86400.0 / 2.5)
        for when in sorted(rng.uniform(t0 + 1800, t1, k).tolist()):
            when = when - when % 60
            if all(not (a - 3600 <= when <= b + 3600) for a, b in windows):
                planned.append((when, svc.name))
    bad_deploys = {i: (s.timestamp(), svc) for i, (k, svc, s, _) in enumerate(scheduled) if k == "bad_deploy"}
    version_now = {s.name: s.version for s in world.services}
    latest = dict(version_now)
    versions: dict[str, list[tuple[float, str]]] = {s.name: [(t0, s.version)] for s in world.services}
    timeline = sorted([(w, s, None) for w, s in planned] + [(w, s, i) for i, (w, s) in bad_deploys.items()])
    bad_version: dict[int, str] = {}
    for when, svc, idx in timeline:
        new = _bump(latest[svc], 1 if rng.random() < 0.3 else 2)  # never reuse a rolled-back version
        version_now[svc] = latest[svc] = new
        versions[svc].append((when, new))
        if idx is None:
            events.append(Event(when, svc, "deploy", new))
        else:
            bad_version[idx] = new
            events.append(Event(when, svc, "deploy", new, incident=f"inc-{idx + 1:03d}-bad_deploy"))
            end = scheduled[idx][3].timestamp()
            prev = versions[svc][-2][1]
            version_now[svc] = prev
            versions[svc].append((end, prev))
            events.append(Event(end, svc, "rollback", prev, incident=f"inc-{idx + 1:03d}-bad_deploy"))
    for svc in versions:
        versions[svc].sort()

    incidents: list[Incident] = []
    for i, (kind, svc, s, e) in enumerate(scheduled):
        inc = make_incident(i + 1, kind, svc, s, e, version=bad_version.get(i), world=world)
        incidents.append(inc)
        a, b = s.timestamp(), e.timestamp()
        mask = (t >= a) & (t <= b)
        el = t[mask] - a
        dur = b - a
        jit = np.exp(rng.normal(0, 0.05, int(mask.sum())))
        ver = _version_at(versions[svc], a)
        if kind == "memory_leak":
            k = float(rng.uniform(1.4, 2.6))
            period = dur / k
            apply_fault(eff, mask, kind, svc, el, duration_s=dur, leak_frac=(el % period) / period, world=world)
            j = 1
            while j * period < dur - 60:
                when = a + j * period
                events.append(Event(when, svc, "oom_kill", _version_at(versions[svc], when), inc.id))
                i_step = int(np.searchsorted(t, when))
                if i_step < n:
                    eff.down[svc][i_step] = max(eff.down[svc][i_step], 0.35)
                j += 1
        else:
            apply_fault(eff, mask, kind, svc, el, duration_s=dur, jitter=jit, world=world)
        if kind in ("memory_leak", "db_pool_exhaustion"):  # remediation: restart at the end
            events.append(Event(b, svc, "restart", ver, inc.id))
    events.sort(key=lambda ev: (ev.time, ev.service))
    return HistoryPlan(eff, events, versions, incidents)


def _version_at(timeline: list[tuple[float, str]], when: float) -> str:
    v = timeline[0][1]
    for t, ver in timeline:
        if t <= when:
            v = ver
    return v
