"""NAB benchmark: score ``promv5-lab detect`` and two references on the Numenta Anomaly Benchmark.

    python benchmarks/nab_score.py                 # all 58 files, the three NAB profiles, every detector
    python benchmarks/nab_score.py --via-cli       # run the real CLI on every file (slower, same scores)
    python benchmarks/nab_score.py --nab-dir PATH  # or PROMV5_NAB_DIR=PATH
    python benchmarks/nab_score.py --per-file      # + each file's loss, FPs and windows, both halves

Detectors: ``promv5-lab detect`` (the online ensemble of promv5_lab/analysis/online.py), the streaming
detector of ``watch`` alone (promv5_lab/analysis/detect.py, the previous ``detect``), and a rolling
robust z-score.

How the score is computed (promv5_lab/analysis/nabscore.py has the full definition): NAB windows, the
scaled sigmoid, probation = first min(15 %, 750) rows unscored, standard profile A_TP=1, A_FP=-0.11,
A_FN=-1; the raw corpus score is normalised to 100 * (raw - null) / (perfect - null) with the null
detector (flags nothing) and the perfect one (flags the first row of every window). ONE threshold for
the whole corpus and each detector: as NAB does, every distinct score value is tried as the threshold
over all scorable rows of all files, and the one with the best raw standard-profile score is kept.
That tuning is on the same corpus, as on NAB's scoreboard, so the figures are optimistic for both
detectors alike.

Detection is causal: the batched run scores all 58 series together with the same code as
``promv5-lab detect`` (``--via-cli`` proves it by running the command per file and comparing).

Held-out check: the ensemble's parameters were chosen looking at the scores of half of the files
(split A: every other file of each category in sorted order); the figures of the other half (split B)
are printed too, with the threshold swept on A only, so the gap between A and B shows how much of the
figure is tuning. The weekly-residual scorer (online_weekly.py) was designed on A's nyc_taxi and its
settings picked on A; B's aggregate score was printed with every trial (never its files), and a trial
that raised B but lowered A (a square-root transform for count series) was not kept. The B figure is
sensitive to tiny threshold moves: several thresholds within 0.001 of each other score alike on A and
one B window can sit between them.

The rank discount (online.py, round 5): its two settings (rank_count, rank_share) were chosen by A's score
alone from a small grid (rank_count 3-40, rank_share 0.1-1.0); B's score was printed beside each trial and
the best-A setting kept even where a neighbour scored higher on B. Before: all 71.04, A 79.22, B 61.66;
after: all 72.78, A 81.42, B 62.95. (The idea came from plots of the false positives of files in both halves:
UPS, KO, ec2_network_in_5abac7 of B, IBM, AAPL of A.) Tried in the same round and NOT kept, each judged on A:
Numenta-style anomaly likelihood of the ensemble score (as a member or a gate: A 65.7-78.3, below 79.2); a
per-file report budget (A <= 79.2); a longest-run-of-equal-values scorer (A 80.97-81.33, no gain on A; it
would catch a B window seen in a plot); geometric bins for novelty levels outside the first rows' range
(A 82.2-82.5 but B 61.1-64.9 across settings: unstable); the rank discount on novelty too (A +0.2).

Round 6: why B lags (``--per-file``). At A's threshold B misses 12 of its 59 windows, A 2 of 57 (both in
iio_us-east-1, where the first label sits before its window): at about 1.7 points of a half per missed window
that is most of the 18-point gap; FPs cost the halves alike (A 92, B 114 rows). Every setting so far was
chosen on A, whose windows are all caught but those two, so A cannot reward a member that catches a new kind
of anomaly: it only sees that member's false positives. B's misses, by kind (read from plots of B's files;
nothing was tuned on them): a rise in spike density or variance with no single extreme value
(art_load_balancer_spikes, ec2_cpu_utilization_53ea38 and 77c1ca); a spike smaller than one of the probation
period (TravelTime_451); a window right after another, inside the hold (speed_7578); a burst height reached
before (AMZN, rank discount); small or slow changes with no record (exchange-2/-4_cpm, machine_temperature,
GOOG, ec2_disk_write_bytes_c0d644, fe7f93). Kept: the z knee (online.py; chosen on A among 100-1,000, all
alike): A 81.42 -> 82.03 (only art_increase_spike_density: 8 FPs -> 2), B 62.95 unchanged, all 72.78 -> 73.07.
Tried and NOT kept, each judged on A (B printed beside it): a spike-density member (binomial tail of the count
of z >= 3 rows in the last 24/48 rows against the series' earlier rate, with a record of its own): A
77.0-81.3, never above 81.42 (its baseline then), though the all-corpus figure reached 75.2 and B 69.0 with
one setting (A 79.98): A has no density window left to catch, so the held-out rule keeps it out; an Anscombe
(square-root) level for count series (A 80.6, B 63.9); novelty only for new extremes, for bins not next to a
visited one, or with another gate (A 70.5-81.7; gate 0.12 with the knee: A 82.13, one FP, not taken as a
gain); novelty exempt from the hold, a strict hold, other hold lengths, a factor 0.7 (A 73.9-80.4; factor
0-0.3 score alike); a hard or soft cap on z at 20-100 sigmas (A 73.9-81.1); a rank discount needing a fraction
of the rows seen (A 79.7-82.0); a discount of scores the series already reached m times (A 67-80); noisy-OR or
max-plus-second combinations of the members (A 73.9-79.9); record decay, growth and floor, rank factor (A
77.5-82.0, none above the kept setting).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from promv5_lab.analysis.detect import score_arrays
from promv5_lab.analysis.nab import default_nab_dir, load_corpus, rolling_z_scores, run_batched
from promv5_lab.analysis.nabscore import PROFILES, score_corpus
from promv5_lab.analysis.online import NAB_THRESHOLD, SURPRISE_CONFIG, score_matrix

DETECT = "promv5-lab detect"
WATCH = "streaming detector (watch)"
ROLLING = "rolling robust z (288 rows)"


def split_ab(keys) -> tuple[set[str], set[str]]:
    """Every other file of each category (sorted): A gets the 1st, 3rd, ...; B the 2nd, 4th, ..."""
    a: set[str] = set()
    b: set[str] = set()
    cats: dict[str, list[str]] = {}
    for k in sorted(keys):
        cats.setdefault(k.split("/")[0], []).append(k)
    for ks in cats.values():
        for i, k in enumerate(ks):
            (a if i % 2 == 0 else b).add(k)
    return a, b


def _detect_app():
    """The ``detect`` command as registered by promv5_lab.analysis.cli (same code as ``promv5-lab detect``)."""
    import typer

    from promv5_lab.analysis.cli import register

    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in sub-command mode
        pass

    return app


def _cli_scores(files) -> dict[str, np.ndarray]:
    import pandas as pd

    app = _detect_app()
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for f in files:
            src = Path(_NAB_DIR) / "data" / f.key
            dst = Path(tmp) / "out.csv"
            t0 = time.perf_counter()
            app(["detect", str(src), "--out", str(dst)], standalone_mode=False)
            _CLI_SECONDS[0] += time.perf_counter() - t0
            out[f.key] = pd.read_csv(dst)["anomaly_score"].to_numpy(dtype=float)
    return out


_CLI_SECONDS = [0.0]  # wall time inside the detect command (read CSV, score, write CSV), all files


_NAB_DIR = ""


def per_file_report(res: dict[str, np.ndarray], labels, a_keys: set[str], b_keys: set[str]) -> None:
    """Each file's share of its half's loss at A's threshold: what a diagnosis of the A/B gap starts from.

    ``lost`` is (perfect - raw) of the file in points of its half's normalised score; a window is shown
    as the fraction of its width at its first detection (0.50: at the label NAB centred it on), MISS, or
    P (inside the probation period).
    """
    from promv5_lab.analysis.nabscore import _perfect_scores, row_weights, score_file

    ra = score_corpus({k: res[k] for k in a_keys}, {k: labels[k] for k in a_keys})
    th = ra.threshold
    for half, keys in (("A", a_keys), ("B", b_keys)):
        rows, null_sum, perf_sum = [], 0.0, 0.0
        for k in sorted(keys):
            lab = labels[k]
            r = score_file(res[k], lab, th)
            null = score_file(np.zeros(lab.n_rows), lab, 0.5)["score"]
            perf = score_file(_perfect_scores(lab), lab, 0.5)["score"]
            null_sum += null
            perf_sum += perf
            _, win = row_weights(lab)
            det = res[k] >= th
            wins = []
            for a, b in lab.windows:
                if win[a:b + 1].max() < 0:
                    wins.append("P")
                    continue
                hit = np.flatnonzero(det[a:b + 1] & (win[a:b + 1] >= 0))
                wins.append(f"{hit[0] / (b - a + 1):.2f}" if hit.size else "MISS")
            rows.append((k, r, perf, wins))
        span = perf_sum - null_sum
        print(f"\nper file, half {half} (threshold {th:.4f} from A): points of the half's score lost, FPs, windows")
        for k, r, perf, wins in rows:
            print(f"  {k:58s} lost {100 * (perf - r['score']) / span:5.2f}  fp {r['fp']:3d}  "
                  f"windows {' '.join(wins) or '-'}")


def main(argv: list[str] | None = None) -> int:
    global _NAB_DIR
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nab-dir", default=None, help="NAB folder with data/ and labels/ (default ../shared/nab)")
    ap.add_argument("--only", default=None, help="only files whose key contains this")
    ap.add_argument("--via-cli", action="store_true", help="run 'promv5-lab detect' per file instead of batched")
    ap.add_argument("--standard-only", action="store_true", help="only the standard profile")
    ap.add_argument("--per-file", action="store_true",
                    help="per file of both halves: points lost, false positives, where each window was caught")
    args = ap.parse_args(argv)
    nab_dir = Path(args.nab_dir) if args.nab_dir else default_nab_dir(ROOT)
    _NAB_DIR = str(nab_dir)
    t0 = time.perf_counter()
    files = load_corpus(nab_dir, only=args.only)
    labels = {f.key: f.labels for f in files}
    rows = sum(len(f.values) for f in files)
    print(f"NAB corpus: {len(files)} files, {rows} rows, {sum(len(f.labels.windows) for f in files)} windows "
          f"({nab_dir}); loaded in {time.perf_counter() - t0:.1f} s")

    runs: dict[str, dict[str, np.ndarray]] = {}
    timing: dict[str, float] = {}
    t0 = time.perf_counter()
    if args.via_cli:
        runs[DETECT] = _cli_scores(files)
    else:
        runs[DETECT] = run_batched(files, lambda t, v: score_matrix(t, v, progress=True))
    timing[DETECT] = time.perf_counter() - t0
    if args.via_cli:  # the batched run must give the very same scores
        batched = run_batched(files, lambda t, v: score_matrix(t, v))
        worst = max(float(np.max(np.abs(batched[k] - runs[DETECT][k]))) for k in batched)
        print(f"CLI vs batched scores: largest difference {worst:.2e} (CSV keeps 10 decimals)")
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"CLI speed: {rows} rows in {_CLI_SECONDS[0]:.1f} s inside 'detect' (read, score, write): "
              f"{rows / _CLI_SECONDS[0]:.0f} rows/s, {1e6 * _CLI_SECONDS[0] / rows:.0f} us per row "
              f"(load average {load:.1f})")
    t0 = time.perf_counter()
    runs[WATCH] = run_batched(files, lambda t, v: score_arrays(t, v, SURPRISE_CONFIG))
    timing[WATCH] = time.perf_counter() - t0
    t0 = time.perf_counter()
    runs[ROLLING] = {f.key: rolling_z_scores(f.values) for f in files}
    timing[ROLLING] = time.perf_counter() - t0

    profiles = ["standard"] if args.standard_only else list(PROFILES)
    cats = sorted({f.category for f in files})
    chosen = {}
    for prof in profiles:
        print(f"\nprofile {prof}: normalised score (null = 0, perfect = 100), one corpus threshold per detector")
        header = f"{'detector':28s} {'score':>7s} {'thresh':>7s} {'TP':>4s} {'FP':>5s} {'FN':>4s} {'secs':>6s}"
        print(header + "".join(f" {c[:14]:>14s}" for c in cats))
        for name, res in runs.items():
            r = score_corpus(res, labels, PROFILES[prof])
            chosen[(name, prof)] = r.threshold
            line = (f"{name:28s} {r.score:7.2f} {r.threshold:7.4f} {r.counts['tp']:4d} {r.counts['fp']:5d} "
                    f"{r.counts['fn']:4d} {timing[name]:6.1f}")
            print(line + "".join(f" {r.categories[c]:14.1f}" for c in cats))
    print("\nartificialNoAnomaly has no windows: its column is the raw (negative) false-positive cost.")

    a_keys, b_keys = split_ab(labels)
    if a_keys and b_keys:
        print("\nheld-out check (standard profile): threshold swept on split A, applied to split B")
        for name, res in runs.items():
            ra = score_corpus({k: res[k] for k in a_keys}, {k: labels[k] for k in a_keys})
            rb = score_corpus({k: res[k] for k in b_keys}, {k: labels[k] for k in b_keys}, threshold=ra.threshold)
            print(f"  {name:28s} A {ra.score:6.2f} (threshold {ra.threshold:.4f})   B {rb.score:6.2f}"
                  f"   ({len(a_keys)} / {len(b_keys)} files)")
    if args.per_file and a_keys and b_keys:
        per_file_report(runs[DETECT], labels, a_keys, b_keys)
    if ("promv5-lab detect", "standard") in chosen:
        th = chosen[(DETECT, "standard")]
        note = "matches" if abs(th - NAB_THRESHOLD) < 5e-5 else "DIFFERS from"
        at_default = score_corpus(runs[DETECT], labels, PROFILES["standard"], threshold=NAB_THRESHOLD)
        print(f"\n'{DETECT}' standard-profile corpus threshold {th:.8f} {note} the CLI default "
              f"online.NAB_THRESHOLD = {NAB_THRESHOLD} (standard score at the default: {at_default.score:.2f})")
    flags = "".join(f for f, on in ((" --via-cli", args.via_cli), (" --per-file", args.per_file)) if on)
    print(f"reproduce: python benchmarks/nab_score.py{flags} --nab-dir {nab_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
