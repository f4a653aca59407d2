"""Fleet scan throughput: N series x D days at 1-minute resolution through the vectorised detector,
side by side with per-series statsmodels STL (robust) on a sample of the same series, in one run.

    python benchmarks/detect_throughput.py                      # 1,000 series x 7 days
    python benchmarks/detect_throughput.py --series 200 --stl-sample 3

The series are synthetic (daily cycle, noise, 5 spikes each), made here from a fixed seed.
The STL figure is extrapolated from --stl-sample series to N (per-series cost x N), and says so.
Accuracy, side by side on the STL sample (and for the detector on every series): the share of the
injected spikes among each series' 5 highest-scoring samples (STL: |residual| / 1.4826 MAD of the
residual). STL sees the whole series at once; the detector is streaming (each score uses only the
past, and the first ``warmup`` samples score 0, so a spike there cannot be found). So the same figure is
also given for the spikes after the first day only (the k highest scores after day one against the k spikes
there), the part of the series where a streaming detector has seen one whole daily cycle.
Robust STL takes over a minute per 7-day series here; ``--stl-sample 5`` compares on five series (~7 min).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # runs from a checkout without installing


def make(n: int, days: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    steps = int(days * 1440)
    t = np.arange(steps, dtype=float) * 60.0
    phase = rng.uniform(0, 2 * np.pi, n)
    level = rng.uniform(10, 1000, n)
    daily = np.sin(2 * np.pi * t[:, None] / 86400.0 + phase[None, :])
    v = level * (1 + 0.3 * daily + 0.05 * rng.standard_normal((steps, n)))
    spikes = rng.integers(0, steps, size=(5, n))
    v[spikes, np.arange(n)] *= 3
    return t, v, spikes


def hit_rate(score: np.ndarray, spikes: np.ndarray) -> float:
    """Share of the spike positions among the top-5 scores of one series."""
    top = np.argsort(-np.nan_to_num(score, nan=-np.inf))[:5]
    truth = set(spikes.tolist())
    return len(truth & set(top.tolist())) / len(truth)


def hit_rate_after(score: np.ndarray, spikes: np.ndarray, start: int) -> float | None:
    """Share of the spikes at or after ``start`` among as many highest scores after ``start`` (None: none)."""
    truth = {int(s) for s in spikes.tolist() if s >= start}
    if not truth:
        return None
    tail = np.nan_to_num(score[start:], nan=-np.inf)
    top = {int(i) + start for i in np.argsort(-tail)[:len(truth)]}
    return len(truth & top) / len(truth)


def _mean(xs) -> float:
    xs = [x for x in xs if x is not None]
    return float(np.mean(xs)) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--stl-sample", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", choices=("fleet", "nab"), default="fleet",
                    help="fleet: FLEET_CONFIG (what learn.detect / scan use); nab: DetectorConfig()")
    args = ap.parse_args(argv)

    from promv5_lab.analysis.detect import FLEET_CONFIG, DetectorConfig, score_arrays

    config = FLEET_CONFIG if args.config == "fleet" else DetectorConfig()

    t, v, spikes = make(args.series, args.days, args.seed)
    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    scores = score_arrays(t, v, config, periods=[86400.0] * args.series)
    ours, ours_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert scores.shape == v.shape

    from statsmodels.tsa.seasonal import STL

    k = min(args.stl_sample, args.series)
    t0, c0 = time.perf_counter(), time.process_time()
    resids = []
    for j in range(k):
        resids.append(STL(v[:, j], period=1440, robust=True).fit().resid)
    stl_each = (time.perf_counter() - t0) / k
    stl_cpu = (time.process_time() - c0) / k
    day = int(round(86400.0 / 60.0))
    stl_hits, stl_after = [], []
    for j, r in enumerate(resids):
        z = np.abs(r - np.median(r)) / (1.4826 * np.median(np.abs(r - np.median(r))))
        stl_hits.append(hit_rate(z, spikes[:, j]))
        stl_after.append(hit_rate_after(z, spikes[:, j], day))
    ours_sample = [hit_rate(scores[:, j], spikes[:, j]) for j in range(k)]
    ours_sample_after = [hit_rate_after(scores[:, j], spikes[:, j], day) for j in range(k)]
    ours_all = float(np.mean([hit_rate(scores[:, j], spikes[:, j]) for j in range(args.series)]))
    ours_all_after = _mean(hit_rate_after(scores[:, j], spikes[:, j], day) for j in range(args.series))
    stl_total = stl_each * args.series

    print(f"series={args.series} days={args.days:g} steps={v.shape[0]} samples={v.size:,}")
    print(f"promv5 detector (vectorised, streaming, {args.config} settings): {ours:.2f} s wall, {ours_cpu:.2f} s CPU "
          f"(load average {load0:.1f} before, {os.getloadavg()[0]:.1f} after; 1-min averages)")
    print(f"statsmodels STL robust, per series: {stl_each:.3f} s wall ({stl_cpu:.3f} s CPU) -> {stl_total:.1f} s for "
          f"{args.series} (extrapolated from {k})")
    print(f"ratio STL / promv5: {stl_total / ours:.1f}x wall, {stl_cpu * args.series / ours_cpu:.1f}x CPU")
    print(f"spikes found in the top 5 scores, on the {k} STL series: STL {np.mean(stl_hits):.1%}, "
          f"promv5 {np.mean(ours_sample):.1%}; promv5 on all {args.series} series: {ours_all:.1%}")
    print(f"spikes after the first day (k highest scores after it vs its k spikes), on the {k} STL series: "
          f"STL {_mean(stl_after):.1%}, promv5 {_mean(ours_sample_after):.1%}; promv5 on all {args.series} series: "
          f"{ours_all_after:.1%}")
    print("reproduce: python benchmarks/detect_throughput.py " + shlex.join(argv or sys.argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
