"""Frozen result types of the analysis layer (anomalies and scored frames)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Anomaly", "AnomalyScores"]


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
