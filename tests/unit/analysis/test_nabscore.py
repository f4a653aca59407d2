"""The NAB scorer on tiny hand-computed files (definition in promv5_lab/analysis/nabscore.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from promv5_lab.analysis.nabscore import (
    PROFILES,
    STANDARD,
    FileLabels,
    Profile,
    probation_length,
    scaled_sigmoid,
    score_corpus,
    score_file,
    sweep,
)
from promv5_lab.errors import InputError

# 100 rows, probation 15 rows, one window of 10 rows: 40..49
LAB = FileLabels("cat/a.csv", 100, ((40, 49),))
S1 = math.tanh(2.5)  # scaled sigmoid at -1 (the window's first row)


def _one(row: int) -> np.ndarray:
    s = np.zeros(100)
    s[row] = 1.0
    return s


def test_probation_and_sigmoid():
    assert probation_length(100) == 15
    assert probation_length(10_000) == 750
    assert scaled_sigmoid(-1.0) == pytest.approx(S1)
    assert scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert scaled_sigmoid(1.0) == pytest.approx(-S1)
    assert scaled_sigmoid(3.5) == -1.0


@pytest.mark.parametrize("row, expected", [
    (40, 1.0),                                        # first row of the window: full A_TP
    (49, math.tanh(0.25) / S1),                       # last row: y = -1/10
    (45, math.tanh(2.5 * 5 / 10) / S1),               # middle: y = -5/10
    (20, -0.11 - 1.0),                                # before any window: far FP, and the window is missed
    (50, -0.11 * math.tanh(5 / 18) - 1.0),            # one row after: y = 1/9, a mild FP
    (80, -0.11 - 1.0),                                # y = 31/9 > 3: a full FP
    (5, -1.0),                                        # inside probation: ignored, the window is missed
])
def test_single_detection(row, expected):
    assert score_file(_one(row), LAB, 0.5)["score"] == pytest.approx(expected, abs=1e-12)


def test_only_the_earliest_detection_in_a_window_counts():
    s = _one(42) + _one(47)
    r = score_file(s, LAB, 0.5)
    assert r["score"] == pytest.approx(math.tanh(2.5 * 8 / 10) / S1)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 0, 0)


def test_null_and_perfect_detectors_normalise_to_0_and_100():
    labels = {"cat/a.csv": LAB, "cat/b.csv": FileLabels("cat/b.csv", 200, ((60, 69), (150, 159)))}
    null = score_corpus({k: np.zeros(v.n_rows) for k, v in labels.items()}, labels)
    perfect_scores = {}
    for k, v in labels.items():
        s = np.zeros(v.n_rows)
        for a, _ in v.windows:
            s[a] = 1.0
        perfect_scores[k] = s
    perfect = score_corpus(perfect_scores, labels)
    assert null.score == pytest.approx(0.0)
    assert perfect.score == pytest.approx(100.0)
    assert null.null == -3.0 and perfect.perfect == 3.0


def test_threshold_is_swept_over_the_whole_corpus():
    s = np.zeros(100)
    s[40], s[80] = 0.9, 0.95  # a detection at the window start, a stronger FP far after it
    th, raw = sweep([(s, LAB)])
    assert list(th[:3]) == [math.inf, 0.95, 0.9]
    assert raw[:3] == pytest.approx([-1.0, -1.11, 0.89])
    r = score_corpus({"cat/a.csv": s}, {"cat/a.csv": LAB})
    assert r.threshold == 0.9
    assert r.raw == pytest.approx(0.89)
    assert r.score == pytest.approx(100 * (0.89 + 1) / 2)


def test_profiles_change_the_weights():
    low_fp = Profile("x", 1.0, -0.22, -1.0)
    assert score_file(_one(80), LAB, 0.5, low_fp)["score"] == pytest.approx(-1.22)
    assert score_file(_one(80), LAB, 0.5, STANDARD)["score"] == pytest.approx(-1.11)


def test_bad_inputs_are_clear_errors():
    with pytest.raises(InputError, match="scores for 100 rows"):
        score_file(np.zeros(99), LAB, 0.5)
    with pytest.raises(InputError, match="out of order"):
        FileLabels("x", 10, ((5, 8), (7, 9)))
    with pytest.raises(InputError, match="no anomaly scores"):
        score_corpus({}, {"cat/a.csv": LAB})


def _literal_nab_score(scores, windows, n, threshold, a_tp=1.0, a_fp=-0.11, a_fn=-1.0):
    """NAB's rules applied one row at a time, as written in the paper (a second, independent reading)."""
    probation = min(math.floor(0.15 * n), 750)

    def sig(y):
        return -1.0 if y >= 3.0 else 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0

    total, prev_end, prev_width = 0.0, None, None
    best = {}
    for i in range(n):
        inside = [k for k, (a, b) in enumerate(windows) if a <= i <= b]
        if inside:
            k = inside[0]
            a, b = windows[k]
            if i >= probation:
                best.setdefault(k, a_fn)
                if scores[i] >= threshold:
                    best[k] = max(best[k], a_tp * sig(-(b - i + 1) / (b - a + 1)) / sig(-1.0))
            if i == b:
                prev_end, prev_width = b, b - a + 1
        elif i >= probation and scores[i] >= threshold:
            y = 3.0 if prev_end is None else (i - prev_end) / (prev_width - 1)
            total += abs(a_fp) * sig(y)
    return total + sum(best.values())


@pytest.mark.parametrize("seed", range(6))
def test_vectorised_scorer_matches_a_literal_reading_of_the_rules(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(60, 400))
    starts = np.sort(rng.choice(np.arange(5, n - 12), size=3, replace=False))
    windows, last = [], -1
    for s in starts:  # disjoint windows of 2..12 rows, some inside the probation period
        a = max(int(s), last + 2)
        b = min(a + int(rng.integers(1, 12)), n - 1)
        if a <= b:
            windows.append((a, b))
            last = b
    labels = FileLabels("cat/r.csv", n, tuple(windows))
    scores = np.round(rng.random(n) ** 4, 2)  # few high scores, many ties
    thresholds, raw = sweep([(scores, labels)])
    for th, r in zip(thresholds[1:], raw[1:]):
        expected = _literal_nab_score(scores, windows, n, th)
        assert r == pytest.approx(expected, abs=1e-9)
        assert score_file(scores, labels, th)["score"] == pytest.approx(expected, abs=1e-9)
    for profile in ("reward_low_FP_rate", "reward_low_FN_rate"):
        p = PROFILES[profile]
        th = float(np.quantile(scores, 0.9))
        assert score_file(scores, labels, th, p)["score"] == pytest.approx(
            _literal_nab_score(scores, windows, n, th, p.a_tp, p.a_fp, p.a_fn), abs=1e-9)


def test_a_hand_computed_file_with_two_windows():
    # 200 rows: probation 30; windows 50..59 (w=10) and 120..139 (w=20)
    lab = FileLabels("cat/h.csv", 200, ((50, 59), (120, 139)))
    s = np.zeros(200)
    s[10] = 1.0   # probation: ignored
    s[40] = 1.0   # before any window: -0.11
    s[55] = 1.0   # window 1 at y = -5/10
    s[57] = 1.0   # a later detection in the same window adds nothing
    s[62] = 1.0   # 3 rows after window 1: y = 3/9, sigma = 2/(1+e^(5/3)) - 1
    s[100] = 1.0  # y = 41/9 >= 3: -0.11
    # window 2 missed: -1
    expected = (-0.11 + math.tanh(1.25) / S1 + 0.11 * (2 / (1 + math.exp(5 / 3)) - 1) - 0.11 - 1.0)
    r = score_file(s, lab, 0.5)
    assert r["score"] == pytest.approx(expected, abs=1e-12)
    assert (r["tp"], r["fp"], r["fn"]) == (1, 3, 1)
    assert scaled_sigmoid(3.0) == -1.0  # NAB: "if relativePositionInWindow >= 3.0: return -1"
