"""Forecast accuracy and interval calibration: MASE vs seasonal naive, 80/95 % coverage and width, held back.

    python benchmarks/forecast_mase.py                 # all 23 demo series (4 days at 60 s, seed 7) + 6 NAB series
    python benchmarks/forecast_mase.py --nab-set real  # ... + the held-out half of the other real* NAB files
    python benchmarks/forecast_mase.py --skip-nab      # demo only (--skip-demo: NAB only)
    python benchmarks/forecast_mase.py --dev           # the development set (seed 11, other NAB files)

Series are shared out over ``--jobs`` processes (2 by default: this machine has 2 cores); each model fit
is cached per process, so the 80 % and 95 % intervals of one origin cost one set of fits.

For each series and each of ``--origins`` forecast origins (the last ones, one horizon apart), the model
is fitted on the history before the origin and forecasts ``horizon`` steps. The default ``Forecaster()``
cleans incidents out of that history, chooses ETS, SARIMAX or seasonal naive on the held-back end *of that
history* (never the evaluated future) and calibrates its interval at earlier origins of that history; the
evaluated future is never seen by the forecaster, so the coverage is measured on data not used to
calibrate. ``--ets-only`` runs the plain ETS model on the raw history with its analytic interval (the old
default) for comparison. MASE = mean absolute error
over the horizon / in-sample mean absolute error of the seasonal-naive one-period-back forecast (period
= one day, or one step when a day does not fit twice). The seasonal-naive forecast (repeat the last day)
is scored the same way; a ratio ETS/naive below 1 means the model beats it. Per level (``--levels``): the
share of held-back points inside the interval (all, first and second half of the horizon) and the mean
interval width in the same MASE units (a calibrated but useless-wide interval is no win).
Design choices were made with ``--dev`` (demo seed 11, a disjoint list of NAB files: six named ones and
every second other real* file), not on the evaluation set; ``--nab-set real`` adds the other half, never
used for design.
Then ``predict.failures`` on the demo world (``--failures-only`` for just that; ``--skip-failures`` without
it): at ``--failure-origins`` origins an hour apart, thresholds around the last value, the predicted
probability of crossing within ``--failure-horizon`` steps against what the held-back future did: a
reliability table (probability buckets vs observed frequency) and the Brier score against the base rate,
for the default (crossings of each path's maximum on the history's own error paths) and for the same
events on the simulated ETS paths (the default before round 6). Seed 11 (``--dev``) was used for design.
Demo series: request rate, CPU and memory per service, free bytes per filesystem (5 m step, 3 d of
history, 6 h horizon). NAB: a few realKnownCause/realTraffic/realTweets files, regularised to their
median step (mean per bucket), the last 2000 points, a horizon of 1/20 of that.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from promv5_lab.analysis.forecast import Forecaster
from promv5_lab.errors import InputError

NAB_FILES = ("realKnownCause/nyc_taxi.csv", "realKnownCause/machine_temperature_system_failure.csv",
             "realKnownCause/ambient_temperature_system_failure.csv", "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
             "realTweets/Twitter_volume_AAPL.csv", "realAWSCloudwatch/ec2_cpu_utilization_5f5533.csv")
# design choices (calibration bins, origins) are made on these, never on the evaluation files/seed above
DEV_NAB_FILES = ("realKnownCause/ec2_request_latency_system_failure.csv", "realKnownCause/rogue_agent_key_hold.csv",
                 "realTraffic/speed_7578.csv", "realTweets/Twitter_volume_GOOG.csv",
                 "realAWSCloudwatch/ec2_cpu_utilization_825cc2.csv", "realAWSCloudwatch/rds_cpu_utilization_cc0c53.csv")
EVAL_SEED, DEV_SEED = 7, 11
DEMO_QUERIES = ('sum by (service) (rate(http_requests_total[5m]))',
                'sum by (service) (rate(process_cpu_seconds_total[5m]))',
                'max by (service) (process_resident_memory_bytes)',
                'node_filesystem_avail_bytes')


def evaluate(series: pd.Series, horizon: int, origins: int, levels: tuple[float, ...] = (0.8,),
             ets_only: bool = False) -> dict | None:
    """MASE of ours and of seasonal naive, and per level: coverage (all, first and second half of the
    horizon) and the mean interval width in MASE units (width / in-sample seasonal-naive MAE)."""
    step = series.index.freq.nanos / 1e9
    m = round(86400 / step)
    y = series.to_numpy(dtype=float)
    rows, models, cov = [], [], {lv: [] for lv in levels}
    for k in range(origins, 0, -1):
        cut = len(y) - k * horizon
        hist, fut = series.iloc[:cut], y[cut:cut + horizon]
        hv = hist.to_numpy(dtype=float)
        hv = hv[np.isfinite(hv)]
        mm = m if hv.size >= 2 * m else 1
        scale = np.nanmean(np.abs(hv[mm:] - hv[:-mm]))
        if not np.isfinite(scale) or scale == 0 or not np.isfinite(fut).all():
            continue
        try:
            fits = {lv: (Forecaster(level=lv, method="ets", clean=False, calibrate=False) if ets_only
                         else Forecaster(level=lv)).forecast(hist, horizon * step) for lv in levels}
        except InputError:
            continue
        res = fits[levels[0]]
        naive = np.resize(hv[-mm:], horizon) if mm > 1 else np.full(horizon, hv[-1])
        models.append(res.model.replace("ETS(A,A,N) + seasonal profile", "season"))
        rows.append((np.mean(np.abs(res.mean.to_numpy() - fut)) / scale, np.mean(np.abs(naive - fut)) / scale))
        for lv, r in fits.items():
            inside = (fut >= r.lower.to_numpy()) & (fut <= r.upper.to_numpy())
            half = horizon // 2
            cov[lv].append((inside.mean(), inside[:half].mean(), inside[half:].mean(),
                            float(np.mean(r.upper.to_numpy() - r.lower.to_numpy())) / scale))
    if not rows:
        return None
    a = np.array(rows)
    return {"ets": float(a[:, 0].mean()), "naive": float(a[:, 1].mean()), "model": models[-1],
            "levels": {lv: np.array(c).mean(axis=0) for lv, c in cov.items()}}


FAILURE_BUCKETS = (0.0, 0.05, 0.2, 0.4, 0.6, 0.8, 0.95, 1.0001)
FAILURE_MULTIPLES = (-4.0, -2.0, -1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 2.0, 4.0)


def failure_events(series: pd.Series, horizon: int, origins: int, every: int,
                   simulations: int = 200) -> list[tuple[float, bool, float]]:
    """(predicted probability, crossed, probability from the simulated paths) of ``predict.failures`` on
    held-back data.

    At ``origins`` forecast origins ``every`` steps apart (the last one ``horizon`` steps before the end),
    thresholds are put at the last value +- {0.25, 0.5, 1, 2, 4} x the history's median absolute change
    over ``horizon`` steps (above: "crosses upwards", below: "crosses downwards"), so the predictions span
    sure, unlikely and in between. The outcome is whether the held-back future really reached the
    threshold within ``horizon`` steps; the forecaster never sees it. The forecast does not depend on the
    threshold, so one ``predict.failures`` call per origin gives the paths, and each threshold's
    probability is counted on them as ``predict.failures`` counts it: on the history's error paths (its
    default, shrunk toward the history's own crossing rate: :func:`forecast_errors.crossing_probability`),
    and, for comparison, their raw share (round 6's default) and the simulated paths' share
    (``crossing="simulated"``, the default before): tuples (default, crossed, simulated, raw share)."""
    from promv5_lab.analysis import predict
    from promv5_lab.analysis.capacity import _climate, first_crossing
    from promv5_lab.analysis.forecast_errors import crossing_probability

    step = series.index.freq.nanos / 1e9
    y = series.to_numpy(dtype=float)
    out = []
    for k in range(origins - 1, -1, -1):
        cut = len(y) - horizon - k * every
        hist, fut = series.iloc[:cut], y[cut:cut + horizon]
        hv = hist.to_numpy(dtype=float)
        hv = hv[np.isfinite(hv)]
        if hv.size <= horizon or not np.isfinite(fut).all():
            continue
        moves = np.abs(hv[horizon:] - hv[:-horizon])
        scale = float(np.median(moves)) or float(np.mean(moves))
        if not scale > 0:
            continue
        last = hv[-1]
        try:
            (res,) = predict.failures(hist, threshold=last + FAILURE_MULTIPLES[0] * scale, horizon=horizon * step,
                                      simulations=simulations)
        except InputError:
            continue
        fc = res.forecast
        climate = _climate(hist, fc.params, horizon)
        for c in FAILURE_MULTIPLES:
            thr = last + c * scale
            rising = thr > last
            p_sim = float(np.mean(first_crossing(fc.paths, thr, rising) >= 0))
            p_raw = p_sim if fc.error_paths is None else float(np.mean(first_crossing(fc.error_paths, thr, rising) >= 0))
            p = p_sim if fc.error_paths is None else crossing_probability(fc.error_paths, climate, thr, rising, last,
                                                                          horizon)
            crossed = bool(np.any(fut >= thr) if c > 0 else np.any(fut <= thr))
            out.append((p, crossed, p_sim, p_raw))
    return out


def reliability(events: list[tuple[float, bool]]) -> list[str]:
    """A reliability table (predicted probability bucket -> observed crossing frequency), the Brier score
    and that of always predicting the overall crossing rate (a forecast without skill)."""
    if not events:
        return ["  (no failure events)"]
    p = np.array([e[0] for e in events])
    o = np.array([e[1] for e in events], dtype=float)
    lines = ["  predicted P(cross)   events   mean predicted   observed frequency"]
    for a, b in itertools.pairwise(FAILURE_BUCKETS):
        sel = (p >= a) & (p < b)
        if sel.any():
            lines.append(f"  [{a:.2f}, {min(b, 1.0):.2f}{']' if b > 1 else ')'}      {int(sel.sum()):6d}   "
                         f"{p[sel].mean():14.3f}   {o[sel].mean():18.3f}")
    brier = float(np.mean((p - o) ** 2))
    base = float(np.mean((o.mean() - o) ** 2))
    lines.append(f"  Brier score {brier:.4f} (always the base rate {o.mean():.3f}: {base:.4f}; "
                 f"skill {1 - brier / base if base else float('nan'):.3f}); {len(events)} events")
    return lines


def demo_series(days: float, seed: int) -> dict[str, pd.Series]:
    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.demo.simulate import simulate
    from promv5_lab.frames import to_wide
    from promv5_lab.types import TimeRange, as_utc

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        simulate(tmp, days=days, step_s=60, seed=seed, end="2026-11-20T00:00:00Z")
        be = EmbeddedBackend.open(tmp)
        end = as_utc("2026-11-20T00:00:00Z")
        tr = TimeRange(end - timedelta(days=days) + timedelta(minutes=10), end, 300)
        for q in DEMO_QUERIES:
            wide = to_wide(be.query_range(q, tr).frame, step_s=300)
            for col in wide.columns:
                out[f"demo {q.split('(')[-1].split('[')[0].split(')')[0]} {col}"] = wide[col]
    return out


def nab_series(nab_dir: Path, points: int, files: tuple[str, ...] = NAB_FILES) -> dict[str, pd.Series]:
    out = {}
    for name in files:
        path = nab_dir / "data" / name
        if not path.is_file():
            print(f"  (missing {path})")
            continue
        df = pd.read_csv(path)
        ts = pd.to_datetime(df["timestamp"], utc=True)
        step = pd.Series(ts).diff().median()
        s = pd.Series(df["value"].to_numpy(dtype=float), index=ts).resample(step).mean().iloc[-points:]
        s.index.freq = step
        out[f"NAB {name}"] = s
    return out


def _other_nab_files(nab_dir: Path) -> list[str]:
    root = nab_dir / "data"
    found = sorted(str(p.relative_to(root)) for p in root.glob("real*/*.csv"))
    return [f for f in found if f not in NAB_FILES and f not in DEV_NAB_FILES]


def real_nab_files(nab_dir: Path) -> tuple[str, ...]:
    """The six evaluation files and every second other real* NAB file (sorted by path, starting with the
    second): held out, never used for design choices."""
    return NAB_FILES + tuple(_other_nab_files(nab_dir)[1::2])


def dev_nab_files(nab_dir: Path) -> tuple[str, ...]:
    """The development files: the six named ones and every second other real* file (starting with the first)."""
    return DEV_NAB_FILES + tuple(_other_nab_files(nab_dir)[0::2])


def _evaluate_one(args: tuple) -> tuple[str, dict | None, float]:
    name, series, horizon, origins, levels, ets_only = args
    warnings.simplefilter("ignore")
    t = time.process_time()
    r = evaluate(series, horizon, origins, levels, ets_only=ets_only)
    return name, r, time.process_time() - t


def _failures_one(args: tuple) -> tuple[str, list, float]:
    name, series, horizon, origins, every = args
    warnings.simplefilter("ignore")
    t = time.process_time()
    return name, failure_events(series, horizon, origins, every), time.process_time() - t


def _run_all(series: dict[str, pd.Series], horizon: int, origins: int, levels: tuple[float, ...], ets_only: bool,
             jobs: int, desc: str, failures_every: int = 0) -> tuple[dict[str, dict | None], float]:
    """Every series evaluated, shared out over ``jobs`` processes (one series per task): results by name and
    the CPU seconds the evaluations took. With ``failures_every`` > 0: the failure events of every series
    instead (:func:`failure_events` at ``origins`` origins that many steps apart)."""
    if failures_every:
        tasks = [(name, s, horizon, origins, failures_every) for name, s in series.items()]
        one = _failures_one
    else:
        tasks = [(name, s, horizon, origins, levels, ets_only) for name, s in series.items()]
        one = _evaluate_one
    out: dict[str, dict | None] = {}
    cpu = 0.0
    bar = tqdm(total=len(tasks), file=sys.stderr, desc=desc, leave=False)
    if jobs <= 1:
        done = map(one, tasks)
    else:
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        # the longest histories first, so the last task is not a long one started late
        tasks.sort(key=lambda t: -len(t[1]))
        pool = ProcessPoolExecutor(jobs, mp_context=get_context("fork"))
        done = pool.map(one, tasks)
    try:
        for name, r, c in done:
            out[name] = r
            cpu += c
            bar.update()
    finally:
        bar.close()
        if jobs > 1:
            pool.shutdown()
    return out, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=4.0, help="days of demo history")
    ap.add_argument("--seed", type=int, default=None, help=f"demo seed (default {EVAL_SEED}; {DEV_SEED} with --dev)")
    ap.add_argument("--origins", type=int, default=3)
    ap.add_argument("--levels", default="0.8,0.95", help="interval levels to check, comma-separated")
    ap.add_argument("--nab-dir", type=Path, default=ROOT.parent / "shared" / "nab")
    ap.add_argument("--skip-nab", action="store_true")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--dev", action="store_true",
                    help="the development set (demo seed 11, other NAB files): for design choices, not for figures")
    ap.add_argument("--limit", type=int, default=0, help="at most this many demo series (0 = all)")
    ap.add_argument("--jobs", type=int, default=2, help="forecasting processes (series are shared out)")
    ap.add_argument("--nab-set", choices=("six", "real"), default="six",
                    help="six: the six declared files; real: those and the held-out half of the other real* "
                         "files (the other half is in --dev)")
    ap.add_argument("--failures-only", action="store_true", help="only the predict.failures table (demo world)")
    ap.add_argument("--skip-failures", action="store_true", help="no predict.failures reliability table")
    ap.add_argument("--failure-horizon", type=int, default=12, help="steps ahead for predict.failures (12 = 1 h)")
    ap.add_argument("--failure-origins", type=int, default=6, help="origins for predict.failures per series")
    ap.add_argument("--ets-only", action="store_true", help="plain ETS on the raw history (the old default)")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    levels = tuple(float(x) for x in args.levels.split(","))
    seed = args.seed if args.seed is not None else (DEV_SEED if args.dev else EVAL_SEED)
    t0 = time.perf_counter()
    demo = {} if args.skip_demo else demo_series(args.days, seed)
    if args.limit:
        demo = dict(list(demo.items())[:: max(1, len(demo) // args.limit)][: args.limit])
    groups = {"demo": (demo, 72)} if demo else {}
    if not args.skip_nab:
        files = (dev_nab_files(args.nab_dir) if args.dev
                 else NAB_FILES if args.nab_set == "six" else real_nab_files(args.nab_dir))
        groups["NAB"] = (nab_series(args.nab_dir, 2000, files), 100)
    cpu = 0.0
    for group, (series, horizon) in ({} if args.failures_only else groups).items():
        print(f"{group}: {len(series)} series, horizon {horizon} steps, {args.origins} origins, seed {seed}"
              if group == "demo" else f"{group}: {len(series)} series, horizon {horizon} steps, {args.origins} origins")
        results, cpu_g = _run_all(series, horizon, args.origins, levels, args.ets_only, args.jobs, group)
        cpu += cpu_g
        scores = []
        for name in series:  # in the input order, whichever process finished first
            r = results.get(name)
            if r is None:
                continue
            scores.append({**r, "name": name})
            cov = "  ".join(f"{lv:.0%} cov {c[0]:.2f} (1st/2nd half {c[1]:.2f}/{c[2]:.2f}) width {c[3]:.2f}"
                            for lv, c in r["levels"].items())
            print(f"  {name[:60]:60s} MASE ours {r['ets']:6.3f} naive {r['naive']:6.3f}  {cov}  {r['model']}")
        if scores:
            scores = [r for r in scores if r["naive"] > 1e-9]  # a constant series has nothing to forecast
            ets = np.array([r["ets"] for r in scores])
            naive = np.array([r["naive"] for r in scores])
            print(f"{group} summary over {len(scores)} series: median MASE ours {np.median(ets):.3f} vs "
                  f"seasonal-naive {np.median(naive):.3f}; ours better on {int((ets < naive).sum())}/{len(scores)}; "
                  f"geometric mean ratio ours/naive {np.exp(np.mean(np.log(ets / naive))):.3f}")
            for lv in levels:
                c = np.array([r["levels"][lv] for r in scores])
                print(f"  {lv:.0%} interval: mean coverage {c[:, 0].mean():.3f} (first half of the horizon "
                      f"{c[:, 1].mean():.3f}, second half {c[:, 2].mean():.3f}); series within +-0.1 of {lv:.0%}: "
                      f"{int((np.abs(c[:, 0] - lv) <= 0.1).sum())}/{len(c)}; width x the in-sample seasonal-naive "
                      f"MAE: median {np.median(c[:, 3]):.2f}, mean {np.mean(c[:, 3]):.2f}")
    if demo and not args.skip_failures:
        horizon = args.failure_horizon
        print(f"predict.failures on the demo world: {len(demo)} series, {args.failure_origins} origins "
              f"{horizon} steps apart, horizon {horizon} steps, thresholds at the last value +- "
              f"{', '.join(f'{c:g}' for c in FAILURE_MULTIPLES if c > 0)} x the median {horizon}-step change")
        found, cpu_f = _run_all(demo, horizon, args.failure_origins, levels, False, args.jobs, "failures",
                                failures_every=horizon)
        cpu += cpu_f
        events = [e for name in demo for e in (found.get(name) or [])]
        print("predict.failures (the default: crossings of each path's maximum on the history's error paths, "
              "shrunk toward the history's own crossing rate, round 7):")
        print("\n".join(reliability(events)))
        print("the same events, the raw share of the history's error paths (the default of round 6):")
        print("\n".join(reliability([(e[3], e[1]) for e in events])))
        print("the same events on the simulated ETS paths (crossing='simulated', the default before round 6):")
        print("\n".join(reliability([(e[2], e[1]) for e in events])))
    print(f"done in {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} s CPU in the forecasting processes, "
          f"{args.jobs} process(es) (load average {os.getloadavg()[0]:.1f}). "
          "Reproduce: python benchmarks/forecast_mase.py " + " ".join(sys.argv[1:] if argv is None else argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
