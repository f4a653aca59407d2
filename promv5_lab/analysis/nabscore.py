"""A scorer for the Numenta Anomaly Benchmark (NAB), written from its published definition.

Definition used (Lavin & Ahmad 2015, arXiv:1510.03336, section "Scoring", and NAB's documentation):

* Every file has anomaly windows ``[start, end]`` (row indices, both ends inclusive). The first
  ``min(floor(0.15 * n), 750)`` rows of a file are its *probation* period and are never scored.
* A row is a *detection* when its anomaly score is ``>= threshold``.
* Relative position of row ``i``: inside a window of width ``w`` ending at ``e`` it is
  ``y = -(e - i + 1) / w`` (so -1 at the window's first row, -1/w at its last); outside, after a
  window of width ``w'`` ending at ``e'``, it is ``y = (i - e') / (w' - 1)``; before any window it is
  "far away" (the sigmoid's floor, -1).
* Scaled sigmoid: ``sigma(y) = 2 / (1 + exp(5 y)) - 1`` for ``y < 3``, and ``-1`` from 3 on.
* A window scores ``A_TP * sigma(y_first) / sigma(-1)`` for its *earliest* detection (later ones in the
  same window add nothing), or ``A_FN`` (-1) when it has none. Every detection outside windows adds
  ``|A_FP| * sigma(y)`` (negative: about -0.11 when far from a window, less right after one). Standard
  profile: ``A_TP = 1``, ``A_FP = -0.11``, ``A_FN = -1``.
* Raw score of a detector = sum over files. Normalised score
  ``100 * (raw - raw_null) / (raw_perfect - raw_null)``, where the null detector flags nothing
  (every scorable window is missed) and the perfect one flags exactly the first scorable row of
  every window.
* One threshold for the whole corpus, chosen as NAB does: sweep every distinct anomaly score over
  all scorable rows of all files and keep the threshold with the highest raw score for the profile.

The scorer works on row positions (NAB files repeat timestamps, so never join on them).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = [
    "PROFILES",
    "STANDARD",
    "FileLabels",
    "NabResult",
    "Profile",
    "load_windows",
    "probation_length",
    "row_weights",
    "scaled_sigmoid",
    "score_corpus",
    "score_file",
    "sweep",
]


@dataclass(frozen=True)
class Profile:
    """Application profile: weights of true positives, false positives and false negatives."""

    name: str
    a_tp: float = 1.0
    a_fp: float = -0.11
    a_fn: float = -1.0


STANDARD = Profile("standard")
PROFILES = {
    "standard": STANDARD,
    "reward_low_FP_rate": Profile("reward_low_FP_rate", 1.0, -0.22, -1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", 1.0, -0.11, -2.0),
}


def scaled_sigmoid(y: np.ndarray | float) -> np.ndarray | float:
    """NAB's scaled sigmoid of a relative position: +0.987 at -1, 0 at 0, -0.987 at 1, -1 from 3 on."""
    y_arr = np.asarray(y, dtype=float)
    out = 2.0 / (1.0 + np.exp(np.clip(5.0 * y_arr, -700, 700))) - 1.0
    out = np.where(y_arr >= 3.0, -1.0, out)
    return float(out) if np.ndim(y) == 0 else out


def probation_length(n_rows: int, fraction: float = 0.15) -> int:
    """Rows at the start of a file that are never scored: ``min(floor(0.15 n), 0.15 * 5000)``."""
    return int(min(math.floor(fraction * n_rows), fraction * 5000))


@dataclass(frozen=True)
class FileLabels:
    """A file's length and its anomaly windows as inclusive ``(first_row, last_row)`` pairs."""

    name: str
    n_rows: int
    windows: tuple[tuple[int, int], ...]

    def __post_init__(self) -> None:
        prev_end = -1
        for a, b in self.windows:
            if not (0 <= a <= b < self.n_rows) or a <= prev_end:
                raise InputError(f"{self.name}: window rows ({a}, {b}) are out of order or out of range",
                                 hint="windows must be sorted, disjoint and inside the file")
            prev_end = b


def row_weights(labels: FileLabels, profile: Profile = STANDARD) -> tuple[np.ndarray, np.ndarray]:
    """Per-row score a detection there would earn, and the row's window id (-1 outside, -2 probation).

    Window ids are ``0..len(windows)-1``; rows of a window inside the probation period get -2 too.
    """
    n = labels.n_rows
    weight = np.empty(n, dtype=float)
    win = np.full(n, -1, dtype=np.int64)
    max_tp = scaled_sigmoid(-1.0)
    prev_end: int | None = None
    prev_width = 0.0
    cursor = 0
    for k, (a, b) in enumerate(labels.windows):
        width = float(b - a + 1)
        gap = np.arange(cursor, a)
        weight[cursor:a] = _outside(gap, prev_end, prev_width) * abs(profile.a_fp)
        idx = np.arange(a, b + 1)
        weight[a:b + 1] = scaled_sigmoid(-(b - idx + 1) / width) * profile.a_tp / max_tp
        win[a:b + 1] = k
        prev_end, prev_width, cursor = b, width, b + 1
    tail = np.arange(cursor, n)
    weight[cursor:] = _outside(tail, prev_end, prev_width) * abs(profile.a_fp)
    win[:probation_length(n)] = -2
    return weight, win


def _outside(idx: np.ndarray, prev_end: int | None, prev_width: float) -> np.ndarray:
    if prev_end is None:
        return np.full(idx.shape, -1.0)
    # a one-row window would divide by zero: treat every later row as far away
    if prev_width <= 1:
        return np.full(idx.shape, -1.0)
    return scaled_sigmoid((idx - prev_end) / (prev_width - 1.0))


def score_file(scores: Sequence[float] | np.ndarray, labels: FileLabels, threshold: float,
               profile: Profile = STANDARD) -> dict[str, float]:
    """Raw NAB score of one file at ``threshold``, with tp/fp/fn counts (windows for tp/fn, rows for fp)."""
    s = _check_scores(scores, labels)
    weight, win = row_weights(labels, profile)
    det = s >= threshold
    fp_rows = det & (win == -1)
    total = float(weight[fp_rows].sum())
    tp = fn = 0
    for k in np.unique(win[win >= 0]):
        hit = det & (win == k)
        if hit.any():
            total += float(weight[hit].max())
            tp += 1
        else:
            total += profile.a_fn
            fn += 1
    return {"score": total, "tp": tp, "fp": int(fp_rows.sum()), "fn": fn}


def _check_scores(scores: Sequence[float] | np.ndarray, labels: FileLabels) -> np.ndarray:
    s = np.asarray(scores, dtype=float)
    if s.shape != (labels.n_rows,):
        raise InputError(f"{labels.name}: {s.size} scores for {labels.n_rows} rows",
                         hint="give one anomaly score per row, aligned by position")
    return np.nan_to_num(s, nan=0.0)


def sweep(files: Iterable[tuple[np.ndarray, FileLabels]], profile: Profile = STANDARD
          ) -> tuple[np.ndarray, np.ndarray]:
    """Raw corpus score at every distinct score value (NAB's threshold sweep), thresholds descending.

    Returns ``(thresholds, raw_scores)``; the score at ``thresholds[j]`` counts every scorable row with
    a score ``>= thresholds[j]``. The first entry is the "flag nothing" point (threshold +inf).
    """
    all_s, all_w, all_win = [], [], []
    offset = 0
    n_windows = 0
    for scores, labels in files:
        s = _check_scores(scores, labels)
        weight, win = row_weights(labels, profile)
        keep = win != -2
        w_ids = win[keep].copy()
        in_win = w_ids >= 0
        w_ids[in_win] += offset
        offset += len(labels.windows)
        n_windows += len(np.unique(win[win >= 0]))
        all_s.append(s[keep])
        all_w.append(weight[keep])
        all_win.append(w_ids)
    s = np.concatenate(all_s) if all_s else np.zeros(0)
    w = np.concatenate(all_w) if all_w else np.zeros(0)
    win = np.concatenate(all_win) if all_win else np.zeros(0, dtype=np.int64)
    order = np.argsort(-s, kind="stable")
    s, w, win = s[order], w[order], win[order]
    # contribution of each row as the threshold falls past it: an FP adds its weight; a window row
    # raises its window from a_fn (or its best earlier row) to max(best, weight)
    delta = np.where(win == -1, w, 0.0)
    best: dict[int, float] = {}
    for i in np.flatnonzero(win >= 0):
        k = int(win[i])
        old = best.get(k, profile.a_fn)
        new = max(old, float(w[i]))
        best[k] = new
        delta[i] = new - old
    cum = np.cumsum(delta) + profile.a_fn * n_windows
    # keep the last row of each run of equal scores
    last = np.r_[s[1:] != s[:-1], True] if s.size else np.zeros(0, dtype=bool)
    thresholds = np.r_[np.inf, s[last]]
    raw = np.r_[profile.a_fn * n_windows, cum[last]]
    return thresholds, raw


@dataclass(frozen=True)
class NabResult:
    """Corpus result for one profile: the chosen threshold, raw and normalised scores, per-category."""

    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    score: float
    categories: Mapping[str, float]
    counts: Mapping[str, int]


def _perfect_scores(labels: FileLabels) -> np.ndarray:
    out = np.zeros(labels.n_rows)
    prob = probation_length(labels.n_rows)
    for a, b in labels.windows:
        first = max(a, prob)
        if first <= b:
            out[first] = 1.0
    return out


def _raw_at(files: list[tuple[np.ndarray, FileLabels]], threshold: float, profile: Profile) -> tuple[float, dict]:
    total = 0.0
    counts = {"tp": 0, "fp": 0, "fn": 0}
    for s, lab in files:
        r = score_file(s, lab, threshold, profile)
        total += r["score"]
        for key in counts:
            counts[key] += int(r[key])
    return total, counts


def _normalise(raw: float, null: float, perfect: float) -> float:
    return 100.0 * (raw - null) / (perfect - null) if perfect != null else 0.0


def score_corpus(results: Mapping[str, np.ndarray], labels: Mapping[str, FileLabels],
                 profile: Profile = STANDARD, threshold: float | None = None) -> NabResult:
    """Optimise one corpus-wide threshold (unless given) and score, normalised between null and perfect.

    ``results`` maps a file key (``category/name.csv``) to its per-row anomaly scores.
    Per-category figures use the same corpus threshold, normalised with that category's own null
    and perfect scores.
    """
    missing = sorted(set(labels) - set(results))
    if missing:
        raise InputError(f"no anomaly scores for {len(missing)} labelled files (e.g. {missing[0]})",
                         hint="run the detector over every file of the corpus")
    files = [(np.asarray(results[k], dtype=float), labels[k]) for k in sorted(labels)]
    if threshold is None:
        thresholds, raw_all = sweep(files, profile)
        j = int(np.argmax(raw_all))
        threshold = float(thresholds[j])
    raw, counts = _raw_at(files, threshold, profile)
    null, _ = _raw_at([(np.zeros(lab.n_rows), lab) for _, lab in files], 0.5, profile)
    perfect, _ = _raw_at([(_perfect_scores(lab), lab) for _, lab in files], 0.5, profile)
    cats: dict[str, list[tuple[np.ndarray, FileLabels]]] = {}
    for k, item in zip(sorted(labels), files):
        cats.setdefault(k.split("/")[0], []).append(item)
    per_cat = {}
    for cat, items in sorted(cats.items()):
        c_raw, _ = _raw_at(items, threshold, profile)
        c_null, _ = _raw_at([(np.zeros(lab.n_rows), lab) for _, lab in items], 0.5, profile)
        c_perf, _ = _raw_at([(_perfect_scores(lab), lab) for _, lab in items], 0.5, profile)
        # a category without windows (artificialNoAnomaly) has null == perfect: report raw FP cost
        per_cat[cat] = _normalise(c_raw, c_null, c_perf) if c_perf != c_null else c_raw
    return NabResult(profile.name, threshold, raw, null, perfect, _normalise(raw, null, perfect), per_cat, counts)


def load_windows(nab_dir: str | Path, n_rows: Mapping[str, int],
                 timestamps: Mapping[str, Sequence[str]]) -> dict[str, FileLabels]:
    """Read ``labels/combined_windows.json`` and map each window's timestamps to row positions.

    ``timestamps[key]`` are the file's timestamp strings as read; a window edge is the first row whose
    timestamp equals it (NAB's window edges are unique timestamps).
    """
    path = Path(nab_dir) / "labels" / "combined_windows.json"
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read NAB windows from {path}: {exc}",
                         hint="point --nab-dir (or PROMV5_NAB_DIR) at the NAB folder with data/ and labels/") from exc
    out = {}
    for key, wins in raw.items():
        if key not in n_rows:
            continue
        ts = [t[:19] for t in timestamps[key]]
        pos = {}
        for i, t in enumerate(ts):
            pos.setdefault(t, i)
        rows = []
        for a, b in wins:
            try:
                rows.append((pos[a[:19]], pos[b[:19]]))
            except KeyError as exc:
                raise InputError(f"{key}: window edge {exc} is not a timestamp of the file") from exc
        out[key] = FileLabels(key, n_rows[key], tuple(rows))
    return out
