"""NAB benchmark: score ``promv5-lab detect`` and two references on the Numenta Anomaly Benchmark.

    python benchmarks/nab_score.py                 # all 58 files, the three NAB profiles, every detector
    python benchmarks/nab_score.py --via-cli       # run the real CLI on every file (slower, same scores)
    python benchmarks/nab_score.py --nab-dir PATH  # or PROMV5_NAB_DIR=PATH
    python benchmarks/nab_score.py --per-file      # + each file's loss, FPs and windows, both halves (corpus threshold)

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

Held-out check (rounds 3-6; half B has been looked at since round 6, see round 7 below): the
ensemble's parameters were chosen looking at the scores of half of the files
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

Round 7: a new keep rule, and B is no longer held out. Half B's misses were read file by file in round 6
(``--per-file``) and B's files were looked at again this round to diagnose the density member, so B is NOT a
held-out half any more, and A is saturated (2 of 57 windows missed). The lead's rule since this round: a change
is kept when it raises the whole-corpus standard score AND lowers neither half, both halves scored at the
corpus threshold NAB chooses (printed as "halves at the corpus threshold"; before this round: A 81.93, B
64.51; at A's own threshold A 82.03, B 62.95). Every setting below was chosen looking at the whole corpus
and both halves: no figure here is held out, and the corpus figure is as optimistic as NAB's scoreboard.

Kept: the spike-density member (promv5_lab/analysis/online_density.py). Round 6's version (binomial tail of
the z >= 3 count in the last 24/48 rows against the earlier rate, a record of its own) re-built: all 74.3-75.0,
A 79.2-79.6, B 69.5-70.6. Which A files gained FPs (``--per-file``): 12 files, 1-5 FPs each (nyc_taxi +5
at its twice-daily runs of z >= 3, CRM/FB/PFE bursts, speed_t4013/speed_6005, ambient_temperature, 24ae8d).
Two general causes: (1) the record rises at most 1.5x a row, so a count that builds up over a few rows
gives r of about 1.2 row after row, each just above the report level, and a slightly higher score breaks
through the hold (CRM, FB, GOOG fired on two consecutive rows); (2) the record decays (0.9997 a row), so a
series whose spikes always cluster (nyc_taxi, bursty tweets) forgets its own clusters in ~2,000 rows.
Conditions tried (all / A / B at the corpus threshold; low-FP / low-FN where noted):
  count only spike onsets (runs count once): 71.4-72.1 / 79.2-81.0 / 63.1-64.8 (the caught B windows are runs);
  excess must persist (rolling minimum of the statistic over 6 rows): W24 75.2 / 80.4 / 70.1;
  slower record decay (0.9999, 0.99995, none) and floor 3-7: best W24 persist 6 no decay floor 5 75.8 / 81.5 / 70.3;
  z of the count against the mean / sd of the series' earlier window counts (overdispersion): 72.7-73.9 / 79.5-81.9
  / 64.3-67.5; binomial tail with counts divided by the earlier dispersion index: 74.4-75.8 / 80.2-81.6 / 68.2-70.9;
  silent after a report until the count is back at the earlier rate ("once per regime"): W24 persist 6 decay
  0.99995 floor 5: 76.05 / 81.73 / 70.56 (low-FP 66.33, low-FN 81.45); record growth 2, 3, unbounded: no change;
  weight 0.6-0.78 with that record: 0.7 and 0.75 never report (a ramp's r stays near 1.2), 0.78 73.4-74.0 / 78.2-79.1;
  a record of the statistic up to ``lag`` rows back (not the current build-up), no decay, floor 6, weight 0.7:
  lag 24 75.98 / 81.74 / 70.41, lag 6 76.03 / 81.84 / 70.41, lag 3 or 1: never reports (= baseline), 4: 76.12 /
  81.84 / 70.60; spikes by the surprise alone (not max with the level z): 72.3-72.9 (no B window caught); rows
  equal to the previous value are no spikes: 75.3-76.1 / 81.2-81.8 / 69.2-71.2; flat/drop-out events excluded:
  no change; min_rows 600/1000: 74.9 / 81.3-81.5; z_spike 2.5/4: 75.9/75.2; window 16/36: 75.3/75.0; prior 200
  rows: 75.93; weight (lag 24) 0.65 74.5, 0.75 75.6, (lag 4) 0.68 74.1 / 81.36, 0.70 76.12 / 81.84, 0.72 76.08 /
  81.93.
  KEPT: window 24, z 3, lag 4, floor 6, no decay, weight 0.72, silent until the rate is back:
  all 73.07 -> 76.08 (low-FP 63.64 -> 66.45, low-FN 78.31 -> 81.46), threshold 0.4277 unchanged; halves at
  the corpus threshold A 81.934 -> 81.932 (one FP more on Twitter_volume_FB at a drop-out to zeros, one window
  of exchange-3_cpc caught earlier), B 64.51 -> 70.42 (load_balancer_spikes, 53ea38, 77c1ca and TravelTime_451
  caught, 3 FPs more); at A's own threshold A 82.03 -> 82.03, B 62.95 -> 67.18. Per category (standard):
  artificialWithAnomaly 68.0 -> 83.7, realAWSCloudwatch 63.5 -> 69.4, realAdExchange 80.8 -> 81.2,
  realKnownCause 77.6 -> 77.3 (rogue_agent_key_hold: one FP), realTraffic 77.3 -> 83.3, realTweets 75.2 -> 75.0.
  Caveats: the kept setting sits on a ridge (weight 0.68 or lag 3 lose 2-3 points, 0.70 keeps A at 81.84), A is
  0.002 below its old figure (the rule's A >= 81.9 holds), and the member was chosen on the whole corpus.
  Not done from the round-6 list: small slow changes with no record, a spike smaller than one of probation.
  Cost: CPU of the scoring alone 23 -> 36 us/row (4 files, density off/on interleaved, load 16); ``--via-cli``
  204 us/row with CSV read/write at load 13.9 (round 6: 128 us/row at a lower load). Pure Python, one code path
  for the batched and one-series runs (no fast path needed).
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


def per_file_report(res: dict[str, np.ndarray], labels, a_keys: set[str], b_keys: set[str],
                    threshold: float | None = None) -> None:
    """Each file's share of its half's loss at the corpus threshold (A's if none is given).

    ``lost`` is (perfect - raw) of the file in points of its half's normalised score; a window is shown
    as the fraction of its width at its first detection (0.50: at the label NAB centred it on), MISS, or
    P (inside the probation period).
    """
    from promv5_lab.analysis.nabscore import _perfect_scores, row_weights, score_file

    if threshold is None:
        threshold = score_corpus({k: res[k] for k in a_keys}, {k: labels[k] for k in a_keys}).threshold
    th = threshold
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
        print(f"\nper file, half {half} (threshold {th:.4f}): points of the half's score lost, FPs, windows")
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
        print("halves at the corpus threshold (standard profile; the keep rule since round 7: a change must raise the "
              "corpus score and lower neither half)")
        for name, res in runs.items():
            th = chosen.get((name, "standard"))
            if th is None:
                continue
            ra = score_corpus({k: res[k] for k in a_keys}, {k: labels[k] for k in a_keys}, threshold=th)
            rb = score_corpus({k: res[k] for k in b_keys}, {k: labels[k] for k in b_keys}, threshold=th)
            print(f"  {name:28s} A {ra.score:6.2f}   B {rb.score:6.2f}   (threshold {th:.4f})")
    if args.per_file and a_keys and b_keys:
        per_file_report(runs[DETECT], labels, a_keys, b_keys, chosen.get((DETECT, "standard")))
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
