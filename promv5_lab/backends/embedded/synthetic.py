"""A small deterministic OpenMetrics history for the engine's tests and benchmark.

Covers what PromQL semantics hinge on: counters with a reset, classic histograms, gauges with
negative and fractional values, a series with a 20-minute gap (lookback), one that starts late, and
jittered scrape times (extrapolation). Families are contiguous with ``# TYPE``/``# HELP`` once each,
counter families named without ``_total``, timestamps in seconds, ``# EOF`` last, as promtool wants.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

START = 1_780_000_000  # 2026-05-28T20:26:40Z, fixed so runs are reproducible
JOBS = ("api", "web", "db")
INSTANCES = ("a:9100", "b:9100")
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")


def _key(name: str, labels: dict[str, str]) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def _fmt(x: float) -> str:
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    r = repr(float(x))
    return r.removesuffix(".0")


def write_history(path: str | Path, *, hours: float = 6.0, step_s: int = 30, start: int = START,
                  seed: int = 7, scale: int = 1) -> Path:
    """Write the history and return its path. ``scale`` multiplies the number of instances."""
    rng = np.random.default_rng(seed)
    n = int(hours * 3600 // step_s)
    base = start + np.arange(n) * step_s
    instances = [f"{i}-{inst}" if scale > 1 else inst for i in range(scale) for inst in INSTANCES]
    out: list[str] = []

    def series(name: str, labels: dict[str, str], values: np.ndarray, ts: np.ndarray) -> None:
        k = _key(name, labels)
        out.extend(f"{k} {_fmt(v)} {int(t)}\n" for v, t in zip(values.tolist(), ts.tolist()))

    def jitter() -> np.ndarray:
        return base + rng.integers(0, 4, n)

    out.append("# TYPE http_requests counter\n# HELP http_requests Requests served.\n")
    for j, job in enumerate(JOBS):
        for i, inst in enumerate(instances):
            for code in ("200", "500"):
                rate = (5 + 3 * j + i) * (1 if code == "200" else 0.05)
                inc = rng.poisson(rate * step_s, n).astype(float)
                vals = np.cumsum(inc)
                if job == "web" and code == "200" and i == 0:  # a restart: counter reset halfway
                    half = n // 2
                    vals[half:] = np.cumsum(inc[half:])
                series("http_requests_total", {"job": job, "instance": inst, "code": code}, vals, jitter())
    out.append("# TYPE http_request_duration_seconds histogram\n"
               "# HELP http_request_duration_seconds Request latency.\n")
    for job in JOBS:
        for inst in instances:
            ts = jitter()
            probs = rng.dirichlet(np.ones(len(BUCKETS)) * 3, 1)[0]
            per = rng.poisson(40, n)
            counts = np.cumsum(per[:, None] * probs[None, :], axis=0).round()
            cum = np.cumsum(counts, axis=1)
            for b, le in enumerate(BUCKETS):
                series("http_request_duration_seconds_bucket", {"job": job, "instance": inst, "le": le},
                       cum[:, b], ts)
            series("http_request_duration_seconds_sum", {"job": job, "instance": inst},
                   np.round(cum[:, -1] * 0.21, 3), ts)
            series("http_request_duration_seconds_count", {"job": job, "instance": inst}, cum[:, -1], ts)
    out.append("# TYPE node_memory_bytes gauge\n# HELP node_memory_bytes Memory in use.\n")
    for inst in instances:
        walk = 2e9 + np.cumsum(rng.normal(0, 2e6, n)).round()
        series("node_memory_bytes", {"instance": inst}, walk, jitter())
    out.append("# TYPE cpu_usage_ratio gauge\n# HELP cpu_usage_ratio CPU busy fraction.\n")
    for job in JOBS:
        for inst in instances:
            vals = np.clip(0.3 + 0.2 * np.sin(np.arange(n) / 60) + rng.normal(0, 0.05, n), 0, 1).round(4)
            series("cpu_usage_ratio", {"job": job, "instance": inst}, vals, jitter())
    out.append("# TYPE temperature_celsius gauge\n# HELP temperature_celsius Room temperature.\n")
    for room in ("cold", "warm"):
        off = -5.0 if room == "cold" else 21.0
        vals = (off + 3 * np.sin(np.arange(n) / 120) + rng.normal(0, 0.3, n)).round(2)
        series("temperature_celsius", {"room": room}, vals, jitter())
    out.append("# TYPE queue_depth gauge\n# HELP queue_depth Items waiting.\n")
    for job in JOBS:
        vals = rng.integers(0, 5, n).astype(float)
        ts = jitter()
        keep = np.ones(n, dtype=bool)
        if job == "db":  # a 20-minute gap: the lookback delta decides what a selector sees
            g0 = n // 3
            keep[g0: g0 + 1200 // step_s] = False
        series("queue_depth", {"job": job}, vals[keep], ts[keep])
    out.append("# TYPE odd_ratio gauge\n# HELP odd_ratio A ratio that is sometimes NaN or infinite.\n")
    for job in JOBS[:2]:
        vals = rng.uniform(0, 2, n).round(3)
        vals[rng.random(n) < 0.05] = np.nan
        vals[rng.random(n) < 0.01] = np.inf
        series("odd_ratio", {"job": job}, vals, jitter())
    out.append("# TYPE up gauge\n# HELP up Target health.\n")
    for job in JOBS:
        for inst in instances:
            vals = np.ones(n)
            if job == "db" and inst == instances[-1]:
                vals[n // 2: n // 2 + 40] = 0
            series("up", {"job": job, "instance": inst}, vals, base)
    out.append("# TYPE batch_jobs_processed counter\n# HELP batch_jobs_processed Started late.\n")
    late = n // 2
    series("batch_jobs_processed_total", {"queue": "nightly"}, np.cumsum(rng.poisson(2, n - late)).astype(float),
           base[late:])
    out.append("# EOF\n")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("".join(out))
    return p
