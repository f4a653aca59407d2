"""Generate a deterministic history of the demo shop: metrics, incidents, logs, traces.

``simulate(out_dir, days=7, step_s=30, seed=42, end=None)`` writes into ``out_dir``:

- ``metrics.om``   OpenMetrics for ``promtool tsdb create-blocks-from openmetrics``
- ``incidents.json`` ground truth (see :mod:`.incidents`)
- ``events.json``  every process (re)start: deploys, rollbacks, OOM kills, restarts (counters reset there)
- ``logs.jsonl``   and ``traces.jsonl`` (see :mod:`.telemetry`)

Everything random comes from ``numpy.random.default_rng(seed)`` (split into independent streams), so the
same ``seed``/``end``/``days``/``step_s`` give the same bytes.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..types import as_utc, parse_duration
from . import incidents as inc_mod
from .effects import Event, HistoryPlan, plan_history
from .incidents import Incident
from .model import Step, ar1_noise, evaluate, queue_depth
from .openmetrics import OpenMetricsWriter, le_str
from .world import DB_BUCKETS, HTTP_BUCKETS, WORLD, World

log = logging.getLogger(__name__)

MAX_POINTS = 200_000  # per series; 7 days at 30 s is 20,161


@dataclass(frozen=True)
class SimulationSummary:
    out_dir: Path
    start: datetime
    end: datetime
    step_s: float
    series: int
    samples: int
    incidents: list[Incident]
    files: dict[str, Path]
    elapsed_s: float = 0.0
    events: int = 0

    def describe(self) -> str:
        kinds = sorted({i.type for i in self.incidents})
        return (
            f"Simulated the demo shop from {self.start.isoformat()} to {self.end.isoformat()} every "
            f"{self.step_s:g}s: {self.series} series, {self.samples:,} samples, {len(self.incidents)} incidents "
            f"({', '.join(kinds) or 'none'}), {self.events} process events; wrote "
            f"{', '.join(p.name for p in self.files.values())} to {self.out_dir} in {self.elapsed_s:.1f}s."
        )


def time_grid(days: float, step_s: float, end: datetime | float | str | None) -> np.ndarray:
    if not (isinstance(days, (int, float)) and math.isfinite(days) and days > 0):
        raise InputError(f"days must be a positive number, got {days!r}", hint="Try --days 7 or --days 0.5")
    step_s = parse_duration(step_s)
    stop = as_utc(end) if end is not None else datetime.now(timezone.utc)
    stop_s = math.floor(stop.timestamp() / step_s) * step_s
    n = int(days * 86400 // step_s) + 1
    if n < 2:
        raise InputError(f"{days} days at a {step_s:g}s step gives fewer than 2 points", hint="Use a smaller step")
    if n > MAX_POINTS:
        raise InputError(f"{days} days at a {step_s:g}s step is {n:,} points per series (max {MAX_POINTS:,})",
                         hint="Use a coarser --step or fewer --days")
    return stop_s - step_s * np.arange(n - 1, -1, -1, dtype=np.float64)


def _reset_index(t: np.ndarray, events: list[Event]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for ev in events:
        i = int(np.searchsorted(t, ev.time, side="left"))
        if 0 < i < len(t):
            out.setdefault(ev.service, []).append(i)
    return {k: sorted(set(v)) for k, v in out.items()}


def cumulate(inc: np.ndarray, resets: list[int], offset: float = 0.0) -> np.ndarray:
    """Counter values from per-step increments; the counter restarts from 0 at each reset index."""
    cs = np.cumsum(inc, axis=0, dtype=np.float64) + offset
    for r in resets:
        cs[r:] -= cs[r - 1]
    return cs


def simulate(
    out_dir: str | Path, *, days: float = 7.0, step_s: float | str = 30.0, seed: int = 42,
    end: datetime | float | str | None = None, progress: bool = False, quiet_tail_s: float = 7200.0,
    world: World = WORLD,
) -> SimulationSummary:
    """Write a deterministic history of ``days`` ending at ``end`` (default now) into ``out_dir``."""
    t_start = time.perf_counter()
    step = parse_duration(step_s)
    t = time_grid(days, step, end)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Cannot create output directory {out}: {exc}") from exc
    try:
        seed_i = int(seed)
    except (TypeError, ValueError) as exc:
        raise InputError(f"seed must be an integer, got {seed!r}") from exc
    rng_sched, rng_plan, rng_model, rng_tel = np.random.default_rng(seed_i).spawn(4)
    start_dt, end_dt = as_utc(float(t[0])), as_utc(float(t[-1]))
    scheduled = inc_mod.schedule(rng_sched, start_dt, end_dt, quiet_tail_s=quiet_tail_s, world=world)
    plan = plan_history(t, step, scheduled, rng_plan, world)
    bar = _progress(progress, total=len(world.metrics) + 3)
    noise = ar1_noise(rng_model, len(t))
    data = evaluate(t, step, plan.effects, rng_model, noise=noise, world=world)
    bar.update(1)
    files = {"metrics": out / "metrics.om", "incidents": out / "incidents.json", "events": out / "events.json",
             "logs": out / "logs.jsonl", "traces": out / "traces.jsonl"}
    with open(files["metrics"], "w", buffering=1 << 22) as fh:
        w = OpenMetricsWriter(fh, t)
        write_metrics(w, t, step, data, plan, rng_model, world, bar)
        w.close()
    inc_mod.dump_incidents(plan.incidents, files["incidents"])
    files["events"].write_text(json.dumps([e.to_json() for e in plan.events], indent=1) + "\n")
    from .telemetry import write_logs_and_traces

    write_logs_and_traces(files["logs"], files["traces"], t, step, data, plan, rng_tel, world)
    bar.update(2)
    bar.close()
    summary = SimulationSummary(
        out_dir=out, start=start_dt, end=end_dt, step_s=step, series=w.series_count, samples=w.samples,
        incidents=plan.incidents, files=files, elapsed_s=time.perf_counter() - t_start, events=len(plan.events))
    log.info(summary.describe())
    return summary


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc="simulate", unit="family")


def write_metrics(w: OpenMetricsWriter, t: np.ndarray, step: float, d: Step, plan: HistoryPlan,
                  rng: np.random.Generator, world: World, bar) -> None:
    resets = _reset_index(t, plan.events)
    ev_starts: dict[str, list[tuple[float, int]]] = {}
    uptime = {s.name: float(rng.uniform(2, 20)) * 86400 for s in world.services}
    for s in world.services:
        first = float(t[0]) - uptime[s.name]
        ev_starts[s.name] = [(first - first % 1, 0)] + [(ev.time, i) for ev in plan.events if ev.service == s.name
                                                       for i in [int(np.searchsorted(t, ev.time, side="left"))]]
    n = len(t)

    def lab(svc: str, **extra: str) -> dict[str, str]:
        s = world.service(svc)
        return {"job": s.job, "instance": s.instance, "service": svc, **extra}

    def offset(svc: str, first_inc: float) -> float:
        return first_inc * uptime[svc] / step * 0.2  # counters did not start at zero with the history

    for fam in world.metrics:
        w.family(fam)
        name = fam.name
        if name == "http_requests_total":
            for r in world.http_routes():
                for code, inc in d.routes[(r.service, r.route)].codes.items():
                    rs = resets.get(r.service, [])
                    w.series(name, lab(r.service, route=r.route, method=r.method, code=code),
                             cumulate(inc, rs, round(offset(r.service, float(inc[0])))), "int")
        elif name == "http_request_duration_seconds":
            for r in world.http_routes():
                rs_ = d.routes[(r.service, r.route)]
                rs = resets.get(r.service, [])
                base = lab(r.service, route=r.route)
                cum = cumulate(rs_.buckets, rs)
                for j, b in enumerate((*HTTP_BUCKETS, float("inf"))):
                    w.series(name + "_bucket", {**base, "le": le_str(b)}, cum[:, j], "int")
                w.series(name + "_sum", base, cumulate(rs_.sum_s, rs), "%.3f")
                w.series(name + "_count", base, cum[:, -1], "int")
        elif name == "process_cpu_seconds_total":
            for s in world.services:
                w.series(name, lab(s.name), cumulate(d.cpu_s[s.name], resets.get(s.name, []),
                                                     offset(s.name, float(d.cpu_s[s.name][0]))), "%.2f")
        elif name == "process_resident_memory_bytes":
            for s in world.services:
                w.series(name, lab(s.name), d.rss[s.name], "int")
        elif name == "process_start_time_seconds":
            for s in world.services:
                v = np.empty(n)
                for when, i in ev_starts[s.name]:
                    v[i:] = round(when)
                w.series(name, lab(s.name), v, "int")
        elif name == "shop_build_info":
            for s in world.services:
                tl = plan.versions[s.name]
                masks: dict[str, np.ndarray] = {}  # a rollback brings an old version (series) back
                for k, (since, ver) in enumerate(tl):
                    until = tl[k + 1][0] if k + 1 < len(tl) else math.inf
                    mask = (t >= since) & (t < until)
                    if k == 0:
                        mask |= t < since
                    masks[ver] = masks[ver] | mask if ver in masks else mask
                for ver, mask in masks.items():
                    w.series(name, lab(s.name, version=ver), np.ones(n), "int", mask=mask)
        elif name == "kube_pod_container_status_restarts_total":
            for s in world.services:
                inc = np.zeros(n)
                for ev in plan.events:
                    if ev.service == s.name and ev.kind == "oom_kill":
                        i = int(np.searchsorted(t, ev.time, side="left"))
                        if i < n:
                            inc[i] += 1
                w.series(name, lab(s.name), np.cumsum(inc), "int")
        elif name == "up":
            for s in world.services:
                w.series(name, {"job": s.job, "instance": s.instance}, (plan.effects.down[s.name] < 0.3), "int")
            for nd in world.nodes:
                w.series(name, {"job": "node", "instance": nd.instance}, np.ones(n), "int")
        elif name == "db_connections_in_use":
            for c, v in d.pool_in_use.items():
                w.series(name, lab(c), v, "int")
        elif name == "db_connections_max":
            for c in d.pool_in_use:
                w.series(name, lab(c), np.full(n, world.service(c).db_pool_max), "int")
        elif name == "db_queries_total":
            for c, by in d.db_queries.items():
                for status, inc in by.items():
                    w.series(name, lab(c, status=status), cumulate(inc, resets.get(c, [])), "int")
        elif name == "db_query_duration_seconds":
            for c, b in d.db_buckets.items():
                rs = resets.get(c, [])
                cum = cumulate(b, rs)
                for j, le in enumerate((*DB_BUCKETS, float("inf"))):
                    w.series(name + "_bucket", lab(c, le=le_str(le)), cum[:, j], "int")
                w.series(name + "_sum", lab(c), cumulate(d.db_sum[c], rs), "%.3f")
                w.series(name + "_count", lab(c), cum[:, -1], "int")
        elif name in ("cache_hits_total", "cache_misses_total"):
            inc = d.cache_hits if name == "cache_hits_total" else d.cache_misses
            for s in world.services:
                if s.cache_client:
                    w.series(name, lab(s.name), cumulate(inc, resets.get(s.name, [])), "int")
        elif name == "queue_depth":
            w.series(name, lab(world.queue_service, queue=world.queue),
                     np.round(queue_depth(d.queue_in, d.queue_out_cap)), "int")
        elif name == "node_cpu_seconds_total":
            for (node, cpu, mode), inc in d.node_cpu.items():
                nd = world.node(node)
                w.series(name, {"job": "node", "instance": nd.instance, "cpu": cpu, "mode": mode},
                         cumulate(inc, [], float(inc[0]) / step * 12 * 86400), "%.2f")
        elif name in ("node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes"):
            for nd in world.nodes:
                v = np.full(n, nd.mem_bytes) if "Total" in name else d.node_mem_avail[nd.name]
                w.series(name, {"job": "node", "instance": nd.instance}, v, "int")
        elif name in ("node_filesystem_size_bytes", "node_filesystem_avail_bytes"):
            for nd in world.nodes:
                for fs in nd.filesystems:
                    v = np.full(n, fs.size_bytes) if "size" in name else d.fs_avail[(nd.name, fs.mountpoint)]
                    w.series(name, {"job": "node", "instance": nd.instance, "device": fs.device,
                                    "mountpoint": fs.mountpoint, "fstype": fs.fstype}, v, "int")
        elif name in ("node_network_receive_bytes_total", "node_network_transmit_bytes_total"):
            for nd in world.nodes:
                inc = d.node_rx[nd.name] if "receive" in name else d.node_tx[nd.name]
                w.series(name, {"job": "node", "instance": nd.instance, "device": nd.nic},
                         cumulate(inc, [], float(inc[0]) * 5000), "int")
        else:  # pragma: no cover - the catalogue and this writer must agree
            raise AssertionError(f"no writer for {name}")
        bar.update(1)


def default_out_dir() -> Path:
    return Path("out") / ("demo-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S"))


__all__ = ["simulate", "SimulationSummary", "time_grid", "cumulate"]
