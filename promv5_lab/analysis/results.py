"""Frozen result types of the analysis layer (anomalies and scored frames, forecasts, capacity)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Anomaly", "AnomalyScores", "ForecastResult", "CapacityResult"]


@dataclass(frozen=True)
class Anomaly:
    """One flagged episode of one series: consecutive flagged samples (gaps up to ``merge_gap``)."""

    series: str
    start: datetime
    end: datetime
    peak_score: float
    peak_time: datetime
    threshold: float
    samples: int

    def describe(self) -> str:
        return (f"{self.series}: anomalous {self.start:%Y-%m-%d %H:%M:%S} to {self.end:%H:%M:%S} UTC "
                f"(peak score {self.peak_score:.3f} at {self.peak_time:%H:%M:%S}, threshold {self.threshold:.3f})")


@dataclass(frozen=True)
class AnomalyScores:
    """Scores of many series, their learned thresholds and the flags; with the detector's provenance.

    ``scores`` and ``flags`` are wide frames (UTC ``DatetimeIndex``, one column per series);
    ``thresholds`` maps a series to its per-series threshold; ``params`` records the detector's
    configuration and the calibration (target false-positive rate, training span) so the result can be
    reproduced by hand.
    """

    scores: pd.DataFrame
    flags: pd.DataFrame
    thresholds: Mapping[str, float]
    anomalies: tuple[Anomaly, ...]
    params: Mapping[str, object] = field(default_factory=dict)

    def flagged_series(self) -> list[str]:
        return sorted({a.series for a in self.anomalies})

    def false_alarm_rate(self) -> float:
        """Fraction of (present) samples flagged."""
        total = int(self.scores.notna().to_numpy().sum())
        return float(self.flags.to_numpy().sum()) / total if total else 0.0


@dataclass(frozen=True)
class ForecastResult:
    """A fitted forecast of one series: point forecast and a prediction interval at ``level``.

    ``mean``, ``lower`` and ``upper`` are float Series on the future UTC ``DatetimeIndex`` (same ``freq``
    as the history). ``model`` names the model (``"ETS(A,Ad,N) + seasonal profile 1d"``) and ``params``
    its fitted parameters and settings, so the forecast can be re-run by hand. ``paths`` holds simulated
    future sample paths (steps x repetitions) when they were asked for, else ``None``. ``error_paths``
    (when asked for) holds the history's own paths: the mean forecast plus the errors the fitted model
    really made over the horizon from every earlier origin (steps x origins; see
    :func:`.forecast_errors.history_paths`), so a crossing probability can count how often the *maximum*
    over the horizon crossed, with the series' real step-to-step dependence.
    """

    series: str
    mean: pd.Series
    lower: pd.Series
    upper: pd.Series
    level: float
    model: str
    params: Mapping[str, object] = field(default_factory=dict)
    paths: object = None  # numpy array (steps, repetitions) or None
    error_paths: object = None  # numpy array (steps, origins) or None

    @property
    def horizon_s(self) -> float:
        idx = self.mean.index
        return float((idx[-1] - idx[0]).total_seconds() + idx.freq.nanos / 1e9) if len(idx) else 0.0


@dataclass(frozen=True)
class CapacityResult:
    """When a series is expected to cross ``limit``, with an interval, from one forecast.

    Times are seconds from ``now`` (the last observed sample); ``None`` means "not within the horizon".
    ``probability`` is the share of simulated paths that cross within ``horizon_s``. ``forecast`` is the
    forecast the estimate came from (mean, calibrated interval and the simulated paths), so a chart or a
    report can draw it without fitting again.
    """

    series: str
    limit: float
    direction: str  # "rising" | "falling"
    now: datetime
    last_value: float
    horizon_s: float
    eta_s: float | None
    lower_s: float | None
    upper_s: float | None
    level: float
    probability: float
    model: str
    params: Mapping[str, object] = field(default_factory=dict)
    forecast: ForecastResult | None = field(default=None, repr=False, compare=False)

    def describe(self) -> str:
        verb = "reaches" if self.direction == "rising" else "falls to"
        pct = f"{self.level:.0%}"
        if self.eta_s is None:
            head = f"{self.series}: does not {'reach' if self.direction == 'rising' else 'fall to'} {self.limit:g} " \
                   f"within {_span(self.horizon_s)} by the mean forecast"
        else:
            head = f"{self.series}: {verb} {self.limit:g} in {_span(self.eta_s)}"
        if self.lower_s is None:
            tail = f"{pct} interval: not within the horizon"
        else:
            hi = _span(self.upper_s) if self.upper_s is not None else "beyond the horizon"
            tail = f"{pct} interval {_span(self.lower_s)} to {hi}"
        return f"{head} ({tail}; P(cross within {_span(self.horizon_s)}) = {self.probability:.0%})"


def _span(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


@dataclass(frozen=True)
class NormalBehavior:
    """What "normal" looks like for one series, learned robustly from a training span.

    ``period_s``/``strength`` are its strongest cycle (0 = none) and ``strengths`` every candidate's;
    ``level`` is the median, ``trend_per_day`` a Theil-Sen slope (units per day) of the deseasonalised
    series, ``noise`` the robust spread (1.4826 x MAD) of what is left after level, cycle and trend;
    ``profile`` the per-phase median of the detrended series (length ``period_s / step_s``, phase 0 at
    ``phase0`` Unix seconds modulo the period), so the expected value at time t is
    ``level + trend + profile[phase(t)]``. ``hourly`` holds, per UTC hour of day, the median and the
    99th percentile of the series (24 values each; NaN for hours with no data).
    """

    series: str
    step_s: float
    period_s: float
    strength: float
    level: float
    trend_per_day: float
    noise: float
    profile: tuple[float, ...] = ()
    strengths: Mapping[float, float] = field(default_factory=dict)
    hourly_median: tuple[float, ...] = ()
    hourly_p99: tuple[float, ...] = ()
    samples: int = 0
    params: Mapping[str, object] = field(default_factory=dict)

    def expected(self, t_unix_s: float) -> float:
        """The seasonal expectation (level + cycle, no trend) at a Unix time."""
        if not self.profile or not self.period_s:
            return self.level
        n = len(self.profile)
        slot = int((t_unix_s % self.period_s) / self.period_s * n) % n
        return self.level + self.profile[slot]
