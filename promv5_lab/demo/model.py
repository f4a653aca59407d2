"""The shop's physics, vectorised over time: effects in, per-step telemetry increments out.

:func:`evaluate` is shared by the history simulator (arrays over the whole grid) and the live world
(arrays of length one for "the last few seconds"). It knows nothing about incidents: incidents and live
faults are turned into :class:`Effects` (multipliers and ratios per service) by :mod:`.effects`.

Per step it computes the user traffic (daily + weekly seasonality, noise), pushes it down the call graph
(requests shed by an overloaded service do not go further), then latency and errors bottom-up (a callee's
errors become the caller's 500s), connection pools by Little's law, and finally the counts: Poisson
requests, binomial errors, histogram buckets from a log-normal latency, CPU, memory, network, disk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .world import CPU_MODES, DB_BUCKETS, HTTP_BUCKETS, WORLD, World

SIGMA = 0.45  # log-normal shape of request latency
DB_SIGMA = 0.6
BASE_RPS = 26.0  # frontend requests per second at the daily mean
CACHE_HIT = 0.93
POOL_TIMEOUT_S = 2.0


@dataclass
class Effects:
    """Per-step knobs (arrays of length ``n``) that incidents and faults turn; 1 / 0 is "healthy"."""

    n: int
    traffic: np.ndarray
    traffic_add: np.ndarray  # extra user requests/s (flash crowds)
    lat: dict[str, np.ndarray]
    slow: dict[str, np.ndarray]
    err: dict[str, np.ndarray]
    cap: dict[str, np.ndarray]
    pool_sat: dict[str, np.ndarray]
    rss_frac: dict[str, np.ndarray]
    down: dict[str, np.ndarray]
    fs_fill: dict[tuple[str, str], np.ndarray]
    hit_ratio: np.ndarray
    db_write_err: np.ndarray

    @classmethod
    def healthy(cls, n: int, world: World = WORLD) -> Effects:
        names = world.service_names
        return cls(
            n=n, traffic=np.ones(n), traffic_add=np.zeros(n), lat={s: np.ones(n) for s in names}, slow={s: np.ones(n) for s in names}, err={s: np.zeros(n) for s in names},
            cap={s: np.ones(n) for s in names}, pool_sat={s: np.zeros(n) for s in names},
            rss_frac={s: np.zeros(n) for s in names}, down={s: np.zeros(n) for s in names},
            fs_fill={(nd.name, fs.mountpoint): np.zeros(n) for nd in world.nodes for fs in nd.filesystems},
            hit_ratio=np.full(n, CACHE_HIT), db_write_err=np.zeros(n),
        )


@dataclass
class RouteStep:
    rate: np.ndarray  # requests/s offered to the route
    median_s: np.ndarray  # median latency incl. downstream
    codes: dict[str, np.ndarray]  # code -> requests in the step
    buckets: np.ndarray  # (n, len(HTTP_BUCKETS) + 1) cumulative-in-le counts in the step, last = +Inf
    sum_s: np.ndarray
    err500: np.ndarray  # ratio of 500s among non-shed requests
    err_total: np.ndarray  # share of callers' calls that fail


@dataclass
class Step:
    """Increments over each step (counters) and values at its end (gauges)."""

    routes: dict[tuple[str, str], RouteStep]
    db_queries: dict[str, dict[str, np.ndarray]]  # client -> {"ok","error"} -> counts
    db_buckets: dict[str, np.ndarray]
    db_sum: dict[str, np.ndarray]
    db_latency_s: np.ndarray  # median query latency at postgres
    pool_in_use: dict[str, np.ndarray]
    pool_err: dict[str, np.ndarray]
    cache_hits: np.ndarray
    cache_misses: np.ndarray
    cpu_s: dict[str, np.ndarray]
    rss: dict[str, np.ndarray]
    node_cpu: dict[tuple[str, str, str], np.ndarray]  # (node, cpu, mode) -> seconds in the step
    node_mem_avail: dict[str, np.ndarray]
    node_rx: dict[str, np.ndarray]
    node_tx: dict[str, np.ndarray]
    fs_avail: dict[tuple[str, str], np.ndarray]
    queue_in: np.ndarray
    queue_out_cap: np.ndarray
    causes: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)  # service -> cause -> error ratio


def _erf(x: np.ndarray) -> np.ndarray:
    # Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), vectorised; numpy has no erf.
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * np.exp(
        -a * a)
    return s * y


def lognorm_cdf(x: float | np.ndarray, median: np.ndarray, sigma: float) -> np.ndarray:
    z = (np.log(x) - np.log(np.maximum(median, 1e-9))) / (sigma * math.sqrt(2.0))
    return 0.5 * (1.0 + _erf(z))


def seasonality(t: np.ndarray) -> np.ndarray:
    """Daily (peak ~19:00 UTC, trough ~05:00) times weekly (quieter weekends) shape, mean about 1."""
    hour = (t % 86400) / 3600.0
    daily = 1.0 + 0.42 * np.cos(2 * np.pi * (hour - 19.0) / 24.0) + 0.08 * np.cos(4 * np.pi * (hour - 13.0) / 24.0)
    dow = ((t // 86400).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday -> 0 = Monday
    weekly = np.where(dow >= 5, 0.78, np.where(dow == 0, 1.06, 1.0))
    return daily * weekly


def ar1_noise(rng: np.random.Generator, n: int, phi: float = 0.97, sigma: float = 0.025) -> np.ndarray:
    """Slow multiplicative noise (log-AR(1)), mean about 1."""
    eps = rng.normal(0.0, sigma, n)
    out = np.empty(n)
    acc = 0.0
    for i in range(n):  # a plain loop: n is at most ~20k per series and only a handful of series use it
        acc = phi * acc + eps[i]
        out[i] = acc
    return np.exp(out)


def congestion(u: np.ndarray) -> np.ndarray:
    """Queueing slow-down for utilisation ``u`` (1 when idle, ~10x at saturation)."""
    uc = np.clip(u, 0.0, 0.97)
    return 1.0 + 0.35 * uc / (1.0 - uc) + 4.0 * np.clip(u - 0.97, 0.0, None)


def evaluate(
    t: np.ndarray, step_s: float, eff: Effects, rng: np.random.Generator, *, noise: np.ndarray | None = None,
    world: World = WORLD,
) -> Step:
    """Telemetry increments over steps ending at ``t`` (Unix seconds) of length ``step_s``."""
    n = len(t)
    if noise is None:
        noise = np.exp(rng.normal(0.0, 0.03, n))
    user_rps = BASE_RPS * seasonality(t) * noise * eff.traffic + eff.traffic_add

    # --- offered load, top down; shed requests stop at the service that sheds them
    offered: dict[tuple[str, str], np.ndarray] = {(r.service, r.route): np.zeros(n) for r in world.routes}
    for r in world.routes_of("frontend"):
        offered[(r.service, r.route)] += user_rps * r.share
    shed: dict[str, np.ndarray] = {}
    util: dict[str, np.ndarray] = {}
    redis_rps = np.zeros(n)
    db_read = {s.name: np.zeros(n) for s in world.services if s.db_pool_max}
    db_write = {s.name: np.zeros(n) for s in world.services if s.db_pool_max}
    lookups = np.zeros(n)
    hit = np.clip(eff.hit_ratio, 0.0, 1.0)
    for svc_name in reversed(world.http_services_bottom_up()):
        svc = world.service(svc_name)
        total = sum(offered[(svc_name, r.route)] for r in world.routes_of(svc_name))
        u = total / (svc.capacity_rps * svc.replicas * eff.cap[svc_name])
        util[svc_name] = u
        shed[svc_name] = np.clip(1.0 - 1.0 / np.maximum(u, 1e-9), 0.0, 0.95)
        for r in world.routes_of(svc_name):
            passed = offered[(svc_name, r.route)] * (1.0 - shed[svc_name]) * (1.0 - eff.down[svc_name])
            for c in r.calls:
                if c.route is not None:
                    offered[(c.service, c.route)] += passed * c.count
                elif c.service == "redis":
                    redis_rps += passed * c.count
                    if svc.cache_client:
                        lookups += passed * c.count
                        db_read[svc_name] += passed * c.count * (1.0 - hit)
                elif c.service == "postgres":
                    (db_write if c.write else db_read)[svc_name] += passed * c.count
    db_total = sum(db_read.values()) + sum(db_write.values())
    pg, rd = world.service("postgres"), world.service("redis")
    u_db = db_total / (pg.capacity_rps * eff.cap["postgres"])
    u_redis = redis_rps / (rd.capacity_rps * eff.cap["redis"])
    db_lat = 0.004 * congestion(u_db) * eff.lat["postgres"] * (1.0 + 3.0 * eff.db_write_err)
    redis_lat = 0.0004 * congestion(u_redis) * eff.lat["redis"]

    # --- connection pools (Little's law) and db-client errors
    pool_in_use, pool_err, pool_wait, db_err = {}, {}, {}, {}
    for c in db_read:
        mx = world.service(c).db_pool_max
        demand = (db_read[c] + db_write[c]) * (db_lat * 1.3 + 0.003)
        sat = np.clip(eff.pool_sat[c], 0.0, 1.0)
        leaked = sat * mx
        free = np.maximum(mx - leaked, 0.0)
        natural = np.clip(1.0 - free / np.maximum(demand, 1e-9), 0.0, 1.0)
        p_err = np.clip(np.maximum(natural, 0.93 * np.clip((sat - 0.8) / 0.15, 0, 1)), 0.0, 0.98)
        pool_err[c] = p_err
        pool_wait[c] = POOL_TIMEOUT_S * np.clip((sat - 0.6) / 0.4, 0, 1) ** 2 + POOL_TIMEOUT_S * natural
        pool_in_use[c] = np.minimum(mx, np.round(leaked + demand + rng.poisson(np.maximum(demand, 0.05) * 2, n)))
        wshare = db_write[c] / np.maximum(db_read[c] + db_write[c], 1e-9)
        db_err[c] = 1.0 - (1.0 - p_err) * (1.0 - wshare * eff.db_write_err) * (1.0 - eff.down["postgres"])

    # --- latency and errors bottom-up over HTTP routes
    routes: dict[tuple[str, str], RouteStep] = {}
    causes: dict[str, dict[str, np.ndarray]] = {}
    served_rps: dict[str, np.ndarray] = {s.name: np.zeros(n) for s in world.services}
    b_edges = np.asarray(HTTP_BUCKETS)
    for r in world.http_routes():
        s = r.service
        svc = world.service(s)
        gc = 1.0 + 2.5 * np.clip(eff.rss_frac[s], 0, 1) ** 4
        med = r.latency_s * eff.lat[s] * congestion(util[s]) * gc
        dep_ok = np.ones(n)
        dep_pool = np.zeros(n)
        for c in r.calls:
            if c.route is not None:
                callee = routes[(c.service, c.route)]
                med = med + c.count * callee.median_s
                dep_ok *= (1.0 - callee.err_total) ** c.count
            elif c.service == "redis":
                med = med + c.count * redis_lat
                dep_ok *= (1.0 - eff.down["redis"]) ** c.count
                if svc.cache_client:
                    med = med + c.count * (1.0 - hit) * (db_lat + pool_wait[s] * 0.2)
                    dep_ok *= (1.0 - db_err[s] * (1.0 - hit)) ** c.count
            elif c.service == "postgres":
                med = med + c.count * db_lat + pool_wait[s]
                e = 1.0 - (1.0 - pool_err[s]) * (1.0 - eff.down["postgres"]) * (
                    1.0 - (eff.db_write_err if c.write else 0.0))
                dep_pool = 1.0 - (1.0 - dep_pool) * (1.0 - e) ** c.count
                dep_ok *= (1.0 - e) ** c.count
        med = med * eff.slow[s]
        own = np.clip(r.error_ratio + eff.err[s], 0, 1)
        e500 = np.clip(1.0 - (1.0 - own) * dep_ok, 0.0, 1.0)
        sh = shed[s]
        down = np.clip(eff.down[s], 0, 1)
        err_total = 1.0 - (1.0 - down) * (1.0 - sh) * (1.0 - e500)
        rate = offered[(s, r.route)]
        served = rng.poisson(rate * step_s * (1.0 - down))
        served_rps[s] += rate * (1.0 - down)
        n503 = rng.binomial(served, sh)
        n500 = rng.binomial(served - n503, e500)
        med = med * np.exp(rng.normal(0.0, 0.04, n))
        cdf = lognorm_cdf(b_edges[None, :], med[:, None], SIGMA)
        buckets = np.empty((n, len(b_edges) + 1), dtype=np.int64)
        buckets[:, :-1] = np.floor(served[:, None] * cdf + 0.5)
        buckets[:, -1] = served
        routes[(s, r.route)] = RouteStep(
            rate=rate, median_s=med, codes={"200": served - n503 - n500, "500": n500, "503": n503},
            buckets=buckets, sum_s=served * med * math.exp(SIGMA**2 / 2), err500=e500, err_total=err_total)
        c_ = causes.setdefault(s, {"own": np.zeros(n), "dependency": np.zeros(n), "db": np.zeros(n),
                                   "shed": np.zeros(n), "down": np.zeros(n)})
        w = rate / np.maximum(sum(offered[(s, x.route)] for x in world.routes_of(s)), 1e-9)
        c_["own"] += w * own
        c_["db"] += w * dep_pool
        c_["dependency"] += w * np.clip(1.0 - dep_ok - dep_pool, 0, 1)
        c_["shed"] += w * sh
        c_["down"] += w * down

    # --- database clients and cache
    db_queries, db_buckets, db_sum = {}, {}, {}
    d_edges = np.asarray(DB_BUCKETS)
    for c in db_read:
        q = rng.poisson((db_read[c] + db_write[c]) * step_s)
        errs = rng.binomial(q, np.clip(db_err[c], 0, 1))
        db_queries[c] = {"ok": q - errs, "error": errs}
        qmed = db_lat + pool_wait[c] * 0.5
        cdf = lognorm_cdf(d_edges[None, :], qmed[:, None], DB_SIGMA)
        b = np.empty((n, len(d_edges) + 1), dtype=np.int64)
        b[:, :-1] = np.floor(q[:, None] * cdf + 0.5)
        b[:, -1] = q
        db_buckets[c] = b
        db_sum[c] = q * qmed * math.exp(DB_SIGMA**2 / 2)
    looks = rng.poisson(lookups * step_s)
    misses = rng.binomial(looks, 1.0 - hit)
    served_rps["postgres"] = db_total
    served_rps["redis"] = redis_rps

    # --- processes and nodes
    cpu_s, rss = {}, {}
    phase = (t % 3600) / 3600.0
    for svc in world.services:
        s = svc.name
        frac = np.clip(eff.rss_frac[s], 0, 1)
        busy = (svc.cpu_idle_s + svc.cpu_per_request_s * served_rps[s]) * (1.0 + 0.8 * frac**3)
        cpu_s[s] = busy * step_s * (1.0 - eff.down[s]) * np.exp(rng.normal(0, 0.05, n))
        saw = 0.04 * (phase * 7 % 1.0)  # allocator / GC sawtooth
        rss[s] = np.round(svc.rss_bytes * (1.0 + saw + rng.normal(0, 0.004, n))
                          + frac * (svc.rss_limit_bytes - svc.rss_bytes))
    node_cpu, mem_avail, rx, tx, fs_avail = {}, {}, {}, {}, {}
    for node in world.nodes:
        svcs = world.services_on(node.name)
        busy = sum(cpu_s[s.name] for s in svcs) + 0.03 * step_s
        busy = np.minimum(busy, 0.97 * node.cpus * step_s)
        iow = (0.004 + 0.02 * np.clip(u_db, 0, 2) if node.name == pg.node else np.full(n, 0.002)) * step_s
        for i in range(node.cpus):
            share = 0.55 if i == 0 else 0.45 / max(node.cpus - 1, 1)
            user, system, io = busy * 0.8 * share, busy * 0.2 * share, iow * share
            node_cpu[(node.name, str(i), "user")] = user
            node_cpu[(node.name, str(i), "system")] = system
            node_cpu[(node.name, str(i), "iowait")] = io
            node_cpu[(node.name, str(i), "idle")] = np.maximum(step_s - user - system - io, 0.0)
        used = node.os_used_bytes + sum(rss[s.name] for s in svcs)
        mem_avail[node.name] = np.round(node.mem_bytes - used - rng.normal(0, 8e6, n) - 2e8 * (phase > 0.5))
        req = sum(served_rps[s.name] for s in svcs)
        rx[node.name] = np.round(req * step_s * 900 * np.exp(rng.normal(0, 0.05, n)))
        tx[node.name] = np.round(req * step_s * 3800 * np.exp(rng.normal(0, 0.05, n)))
        for fs in node.filesystems:
            grow = 0.02 * ((t % 86400) / 86400.0) if fs.mountpoint == "/" else 0.0  # logs, rotated at midnight
            free0 = fs.size_bytes * (1.0 - fs.used_fraction - grow)
            fill = np.clip(eff.fs_fill[(node.name, fs.mountpoint)], 0, 1)
            fs_avail[(node.name, fs.mountpoint)] = np.round(free0 * (1.0 - fill) / 4096) * 4096
    ck = routes[("checkout", "/checkout")]
    queue_in = ck.codes["200"].astype(float)
    queue_out_cap = 4.5 * step_s / (db_lat / 0.004) * (1.0 - eff.db_write_err * 2).clip(0, 1)

    return Step(
        routes=routes, db_queries=db_queries, db_buckets=db_buckets, db_sum=db_sum, db_latency_s=db_lat,
        pool_in_use=pool_in_use, pool_err=pool_err, cache_hits=looks - misses, cache_misses=misses, cpu_s=cpu_s,
        rss=rss, node_cpu=node_cpu, node_mem_avail=mem_avail, node_rx=rx, node_tx=tx, fs_avail=fs_avail,
        queue_in=queue_in, queue_out_cap=queue_out_cap, causes=causes,
    )


def queue_depth(q_in: np.ndarray, out_cap: np.ndarray, start: float = 0.0) -> np.ndarray:
    """Lindley recursion: depth[i] = max(0, depth[i-1] + in[i] - out[i])."""
    out = np.empty(len(q_in))
    d = start
    for i, (a, b) in enumerate(zip(q_in.tolist(), out_cap.tolist())):
        d = max(0.0, d + a - b)
        out[i] = d
    return out


CPU_MODE_ORDER = CPU_MODES
