"""Which cycle (if any) a series follows: learned in batch from a training span, used by the streaming
detector's seasonal profile.

For each candidate period (a day, a week, an hour) that fits at least twice in the span, the series is
detrended (a centred moving average over one period), and the autocorrelation at that lag (statsmodels'
``acf``) is its *strength*. The strongest candidate above ``min_strength`` wins; otherwise the series
has no usable cycle (period 0).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .._deps import require
from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["CANDIDATES", "Seasonality", "learn_periods", "learn_seasonality"]

log = logging.getLogger(__name__)

CANDIDATES: tuple[float, ...] = (86400.0, 604800.0, 3600.0)


@dataclass(frozen=True)
class Seasonality:
    """The learned cycle of one series: period in seconds (0 = none) and its strength (an ACF, <= 1)."""

    period_s: float
    strength: float


def learn_seasonality(values: np.ndarray, step_s: float, candidates: Sequence[float] = CANDIDATES,
                      min_strength: float = 0.3) -> Seasonality:
    """The strongest cycle of a regularly sampled series (NaN gaps allowed)."""
    if not step_s > 0:
        raise InputError(f"step must be positive, got {step_s}")
    acf = require("statsmodels.tsa.stattools").acf
    x = np.asarray(values, dtype=float)
    best = Seasonality(0.0, 0.0)
    for period in candidates:
        lag = round(period / step_s)
        if lag < 2 or 2 * lag > x.size:
            continue
        kernel = np.ones(lag) / lag
        filled = np.where(np.isfinite(x), x, np.nanmean(x) if np.isfinite(x).any() else 0.0)
        trend = np.convolve(filled, kernel, mode="same")
        resid = filled - trend
        half = lag // 2
        resid = resid[half:resid.size - half] if resid.size > 2 * half + lag else resid
        if resid.size <= lag + 1 or np.nanstd(resid) == 0:
            continue
        r = float(acf(resid, nlags=lag, fft=True, missing="conservative")[lag])
        if np.isfinite(r) and r > best.strength:
            best = Seasonality(float(period), r)
    return best if best.strength >= min_strength else Seasonality(0.0, best.strength)


def learn_periods(wide: pd.DataFrame, candidates: Sequence[float] = CANDIDATES,
                  min_strength: float = 0.3) -> dict[str, Seasonality]:
    """:func:`learn_seasonality` for every column of a wide frame (its index must have a ``freq``)."""
    freq = getattr(wide.index, "freq", None)
    if freq is None:
        raise InputError("learn_periods needs a wide frame whose index has a freq",
                         hint="build it with promv5_lab.frames.to_wide()")
    step_s = freq.nanos / 1e9 if hasattr(freq, "nanos") else float(freq) / 1e9
    return {str(c): learn_seasonality(wide[c].to_numpy(dtype=float), step_s, candidates, min_strength)
            for c in wide.columns}
