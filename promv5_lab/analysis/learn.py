"""Learned per-series thresholds and the batch ``detect`` over a wide frame.

The detector (:mod:`.detect`) gives each sample a score in [0, 1]; 0.5 means "as unusual as the most
unusual thing this series did lately". A flag needs ``score >= threshold``, where each series'
threshold is learned from its own scores on a training span: the ``1 - target_fpr`` quantile, never
below ``floor`` nor above ``cap``. Two defaults, measured by the benchmarks:

* :data:`NAB_THRESHOLD`, re-exported from :mod:`.online` (the one definition): the single corpus-wide
  threshold NAB's standard profile chose for the online detector that ``promv5-lab detect`` runs
  (``benchmarks/nab_score.py``); it is not a threshold for this module's batch scores;
* :data:`DEFAULT_FLOOR` (0.7), the floor of the per-series thresholds for fleet scans, where a false
  alarm costs an operator's attention (``benchmarks/demo_detection.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .detect import FLEET_CONFIG, DetectorConfig, score_frame
from .online import NAB_THRESHOLD
from .results import Anomaly, AnomalyScores, NormalBehavior

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .dependencies import DependencyMap
    from .seasonality import Seasonality

__all__ = ["DEFAULT_FLOOR", "NAB_THRESHOLD", "dependencies", "detect", "flags_to_anomalies", "learn_thresholds",
           "learning_note",
           "normalBehavior", "normal_behavior", "seasonality"]

log = logging.getLogger(__name__)

DEFAULT_FLOOR = 0.7


def learn_thresholds(scores: pd.DataFrame, *, target_fpr: float = 0.005, floor: float = DEFAULT_FLOOR,
                     cap: float = 0.95) -> dict[str, float]:
    """Per-series threshold: the ``1 - target_fpr`` quantile of its scores, clipped to ``[floor, cap]``."""
    if not 0.0 < target_fpr < 1.0:
        raise InputError(f"target_fpr must be in (0, 1), got {target_fpr}",
                         hint="a false-positive rate such as 0.001 (one flag per 1000 samples)")
    if not 0.0 <= floor <= cap <= 1.0:
        raise InputError(f"need 0 <= floor <= cap <= 1, got floor={floor}, cap={cap}")
    out = {}
    for col in scores.columns:
        s = scores[col].to_numpy(dtype=float)
        s = s[np.isfinite(s)]
        q = float(np.quantile(s, 1.0 - target_fpr)) if s.size else floor
        out[str(col)] = float(min(max(q, floor), cap))
    return out


def flags_to_anomalies(scores: pd.DataFrame, flags: pd.DataFrame, thresholds: dict[str, float],
                       merge_gap: int = 5) -> tuple[Anomaly, ...]:
    """Group each series' flagged samples into episodes (flags at most ``merge_gap`` samples apart)."""
    out = []
    idx = scores.index
    for col in flags.columns:
        hits = np.flatnonzero(flags[col].to_numpy(dtype=bool))
        if hits.size == 0:
            continue
        breaks = np.flatnonzero(np.diff(hits) > merge_gap + 1)
        starts = np.r_[hits[0], hits[breaks + 1]]
        ends = np.r_[hits[breaks], hits[-1]]
        s = scores[col].to_numpy(dtype=float)
        for a, b in zip(starts, ends):
            seg = s[a:b + 1]
            j = a + int(np.nanargmax(seg))
            out.append(Anomaly(str(col), idx[a].to_pydatetime(), idx[b].to_pydatetime(), float(s[j]),
                               idx[j].to_pydatetime(), thresholds[str(col)], int(b - a + 1)))
    return tuple(sorted(out, key=lambda a: (a.start, a.series)))


def detect(wide: pd.DataFrame, config: DetectorConfig | None = None, *, target_fpr: float = 0.005,
           floor: float = DEFAULT_FLOOR, train: slice | None = None, counters: Sequence[bool] | None = None,
           cap: float = 0.95, merge_gap: int = 5, seasonality: str = "fixed",
           recurring_days: int = 7, recurring_tolerance_s: float = 900.0,
           progress: bool = True, recurring_lags_days: tuple[int, ...] = (1, 7)) -> AnomalyScores:
    """Score every series of a wide frame, learn per-series thresholds, flag and group into anomalies.

    ``train`` selects the rows (a positional or time slice) whose scores calibrate the thresholds;
    the default uses every row, which is retrospective (it looks at the whole span): give a slice
    that ends before the span of interest for an honest, forward-looking calibration.
    ``seasonality="auto"`` learns each series' cycle (day, week, hour or none) from the training rows
    with statsmodels (:mod:`.seasonality`); ``"fixed"`` uses ``config.season_s`` for every series.

    Recurring events are normal behaviour: an episode of a series that starts within
    ``recurring_tolerance_s`` of an episode of the same series exactly one of ``recurring_lags_days``
    days earlier (default: the day before or the same weekday a week before; only lags up to
    ``recurring_days``) is a scheduled event (a nightly restart, a daily batch job, a log rotation, a
    weekly traffic step): it is not reported, and its flags are cleared. Only earlier episodes count, so
    the first occurrence is reported and nothing looks ahead; an incident that merely happens at the same
    time of day as one two days earlier is still reported. ``recurring_days=0`` turns this off. The
    suppressed episodes are listed in ``params["recurring"]``.

    The first ``config.warmup`` present samples of each series are learned from but never flagged;
    ``params["learning"]`` maps each series still in that warm-up at the end of the span to the samples
    it has to go (:func:`learning_note` words it).
    """
    import pandas as pd

    if not isinstance(wide, pd.DataFrame) or wide.shape[1] == 0:
        raise InputError("detect() needs a wide frame with at least one series",
                         hint="build it with promv5_lab.frames.to_wide()")
    if seasonality not in ("fixed", "auto"):
        raise InputError(f"seasonality must be 'fixed' or 'auto', got {seasonality!r}")
    cfg = config or FLEET_CONFIG

    def training(frame: pd.DataFrame) -> pd.DataFrame:
        if train is None:
            return frame
        positional = all(isinstance(x, (int, type(None))) for x in (train.start, train.stop))
        return frame.iloc[train] if positional else frame.loc[train]

    periods = None
    learned: dict[str, float] = {}
    if seasonality == "auto":
        from .seasonality import learn_periods

        found = learn_periods(training(wide))
        learned = {k: v.period_s for k, v in found.items()}
        periods = [learned[str(c)] for c in wide.columns]
    scores = score_frame(wide, cfg, counters=counters, periods=periods, progress=progress)
    calib = training(scores)
    thresholds = learn_thresholds(calib, target_fpr=target_fpr, floor=floor, cap=max(cap, floor))
    thr = pd.Series(thresholds).reindex([str(c) for c in scores.columns]).to_numpy()
    flags = pd.DataFrame(scores.to_numpy() >= thr[None, :], index=scores.index, columns=scores.columns)
    anomalies = flags_to_anomalies(scores, flags, thresholds, merge_gap)
    anomalies, recurring = _drop_recurring(anomalies, recurring_days, recurring_tolerance_s, recurring_lags_days)
    if recurring:
        flags = flags.copy()
        for a in recurring:
            flags.loc[a.start:a.end, a.series] = False
    # series still learning at the end of the span (their warm-up is unscored: no alarms yet)
    seen = wide.notna().sum(axis=0).to_numpy()
    learning = {str(c): int(cfg.warmup - n) for c, n in zip(wide.columns, seen) if n < cfg.warmup}
    params = {"detector": "promv5_lab.analysis.detect", "config": asdict(cfg), "learning": learning, "target_fpr": target_fpr,
              "floor": floor, "cap": max(cap, floor), "train": repr(train),
              "seasonality": seasonality, "periods_s": learned,
              "start": str(wide.index[0]) if len(wide) else None, "end": str(wide.index[-1]) if len(wide) else None,
              "step": str(wide.index.freq), "recurring_days": recurring_days,
              "recurring_tolerance_s": recurring_tolerance_s, "recurring_lags_days": list(recurring_lags_days),
              "recurring": [(a.series, a.start.isoformat()) for a in recurring]}
    log.info("scored %d series x %d samples: %d anomalies", wide.shape[1], wide.shape[0], len(anomalies))
    return AnomalyScores(scores, flags, thresholds, anomalies, params)


def learning_note(scores: AnomalyScores) -> str:
    """"learning, N samples to go" for the series of ``scores`` still in warm-up ("" when none is)."""
    learning = dict(scores.params.get("learning") or {})
    if not learning:
        return ""
    most = max(learning.values())
    if len(learning) == 1:
        (name, n), = learning.items()
        return f"{name}: learning, {n} samples to go (no alarms before that)"
    return (f"{len(learning)} series still learning, up to {most} samples to go "
            f"(no alarms from them before that)")


def _drop_recurring(anomalies: tuple[Anomaly, ...], days: int, tol_s: float,
                    lags_days: Sequence[int] = (1, 7)) -> tuple[tuple[Anomaly, ...], list]:
    """Split episodes into (reported, recurring): see :func:`detect`."""
    lags = [k * 86400.0 for k in lags_days if 0 < k <= days]
    if days <= 0 or not anomalies or not lags:
        return anomalies, []
    kept, dropped = [], []
    seen: dict[str, list[float]] = {}
    for a in sorted(anomalies, key=lambda e: e.start):
        t = a.start.timestamp()
        earlier = seen.setdefault(a.series, [])
        again = False
        for u in earlier:
            if any(abs(t - u - lag) <= tol_s for lag in lags):
                again = True
                break
        (dropped if again else kept).append(a)
        earlier.append(t)
    return tuple(sorted(kept, key=lambda e: (e.start, e.series))), dropped


def seasonality(data: pd.DataFrame | pd.Series, *, min_strength: float = 0.3) -> dict[str, Seasonality]:
    """The strongest cycle (day / week / hour / none) of every series, with every candidate's strength."""
    from .seasonality import learn_periods

    return learn_periods(_as_wide(data, "seasonality"), min_strength=min_strength)


def normal_behavior(data: pd.DataFrame | pd.Series, *, min_strength: float = 0.3) -> dict[str, NormalBehavior]:
    """Per-series baseline: cycle and its strength, level, trend, noise, seasonal profile, hourly bands.

    Robust to the anomalies in its own training data: medians per phase (an incident does not become part
    of every day), a Theil-Sen trend, and a MAD noise level.
    """
    from .forecast import _profile, step_seconds
    from .seasonality import learn_seasonality

    wide = _as_wide(data, "normal_behavior")
    step = step_seconds(wide.index)
    t = wide.index.as_unit("ns").asi8.astype(float) / 1e9
    hours = wide.index.hour.to_numpy()
    out: dict[str, NormalBehavior] = {}
    for col in wide.columns:
        y = wide[col].to_numpy(dtype=float)
        ok = np.isfinite(y)
        if ok.sum() < 10:
            raise InputError(f"{col}: {int(ok.sum())} samples are too few to learn a baseline (need 10)",
                             hint="use a longer history or a finer step")
        season = learn_seasonality(y, step, min_strength=min_strength)
        filled = np.where(ok, y, np.interp(np.arange(y.size), np.flatnonzero(ok), y[ok]))
        lag = int(round(season.period_s / step)) if season.period_s else 0
        profile = np.zeros(0)
        deseason = filled
        if lag:
            prof = _profile(filled, lag)              # indexed from the first sample
            shift = int(round((t[0] % season.period_s) / step))
            profile = np.roll(prof, shift)            # re-indexed by phase of the period (Unix time)
            deseason = filled - prof[np.arange(filled.size) % lag]
        slope = _theil_sen(t[ok], deseason[ok])
        resid = deseason - slope * (t - t[0])
        level = float(np.median(deseason[ok]))
        noise = float(1.4826 * np.median(np.abs(resid[ok] - np.median(resid[ok]))))
        med, p99 = [], []
        for h in range(24):
            v = y[(hours == h) & ok]
            med.append(float(np.median(v)) if v.size else float("nan"))
            p99.append(float(np.quantile(v, 0.99)) if v.size else float("nan"))
        out[str(col)] = NormalBehavior(
            series=str(col), step_s=step, period_s=season.period_s, strength=season.strength, level=level,
            trend_per_day=float(slope * 86400.0), noise=noise, profile=tuple(float(p) for p in profile),
            strengths=dict(season.strengths), hourly_median=tuple(med), hourly_p99=tuple(p99),
            samples=int(ok.sum()), params={"start": str(wide.index[0]), "end": str(wide.index[-1]),
                                           "min_strength": min_strength, "profile": "per-phase median",
                                           "trend": "Theil-Sen", "noise": "1.4826 * MAD"})
    return out


def dependencies(data: pd.DataFrame, **kwargs) -> DependencyMap:
    """Which series lead or follow which: see :func:`promv5_lab.analysis.dependencies.learn_dependencies`."""
    from .dependencies import learn_dependencies

    return learn_dependencies(data, **kwargs)


# the names
normalBehavior = normal_behavior


def _theil_sen(x: np.ndarray, y: np.ndarray, max_points: int = 400) -> float:
    """Median of pairwise slopes (on at most ``max_points`` evenly spaced samples)."""
    if x.size < 2:
        return 0.0
    idx = np.linspace(0, x.size - 1, min(max_points, x.size)).astype(int)
    xs, ys = x[idx], y[idx]
    i, j = np.triu_indices(xs.size, 1)
    dx = xs[j] - xs[i]
    keep = dx > 0
    return float(np.median((ys[j] - ys[i])[keep] / dx[keep])) if keep.any() else 0.0


def _as_wide(data, what: str) -> pd.DataFrame:
    import pandas as pd

    if isinstance(data, pd.Series):
        freq = data.index.freq if isinstance(data.index, pd.DatetimeIndex) else None
        data = data.to_frame(name=str(data.name) if data.name is not None else "value")
        if freq is not None:
            data.index.freq = freq
    if not isinstance(data, pd.DataFrame) or data.shape[1] == 0 or not isinstance(data.index, pd.DatetimeIndex):
        raise InputError(f"{what}() needs a wide frame (or a Series) with a DatetimeIndex",
                         hint="build it with promv5_lab.frames.to_wide()")
    return data
