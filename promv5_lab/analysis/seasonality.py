"""Which cycle (if any) a series follows: the one period detector of the package.

Used by the streaming detector's seasonal profile (:func:`learn_periods`), the forecaster
(:func:`forecast.detect_period` delegates here) and :func:`learn.normal_behavior`.

For each candidate period (a day, a week, an hour) that fits at least twice in the span, the series is
detrended (a centred moving average over one period) and the *strength* of the cycle is the Pearson
correlation of that residual with itself one period later, leaving out the pairs where either side is
an outlier (beyond 4.5 robust sigmas, 1.4826 x MAD, of the median): an incident in the training data
must not make or break a cycle. The biased ACF shrinks
towards 0 as the lag nears half the span (a clear daily cycle in 3 days of history scored about 0.09),
which is why the plain correlation is used. The strongest candidate at or above ``min_strength`` wins;
otherwise the series has no usable cycle (period 0). Every candidate's strength is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["CANDIDATES", "Seasonality", "cycle_strength", "learn_periods", "learn_seasonality", "moving_average"]

log = logging.getLogger(__name__)

CANDIDATES: tuple[float, ...] = (86400.0, 604800.0, 3600.0)
OUTLIER_MADS = 4.5


@dataclass(frozen=True)
class Seasonality:
    """The learned cycle of one series: period in seconds (0 = none) and its strength (a correlation, <= 1).

    ``strengths`` maps every candidate period that fitted the span to its strength (daily *and* weekly
    cycles can both be present; ``period_s`` is the strongest).
    """

    period_s: float
    strength: float
    strengths: Mapping[float, float] = field(default_factory=dict)


DIRECT_WORK = 20_000_000  # samples x window up to which a moving average is a direct convolution


def box_full(x: np.ndarray, width: int) -> np.ndarray:
    """``np.convolve(x, np.ones(width), mode="full")`` from cumulative sums: O(n) for any window (a week of
    minutes over months of history is 10,080 x 200,000 multiplications the direct way)."""
    n = x.size
    cs = np.r_[0.0, np.cumsum(x)]
    k = np.arange(n + width - 1)
    return cs[np.minimum(k, n - 1) + 1] - cs[np.maximum(k - width + 1, 0)]


def moving_average(x: np.ndarray, width: int, *, centred_even: bool = False) -> np.ndarray:
    """The centred moving average of ``np.convolve(x, kernel, mode="same")`` (zero-padded at the ends),
    ``kernel`` a box of ``width`` ones / width, or with ``centred_even`` the 2 x ``width`` moving average
    (a box convolved with [1/2, 1/2]) of classical decomposition. Direct up to :data:`DIRECT_WORK`,
    from cumulative sums beyond (the same numbers to rounding)."""
    kernel_len = width + 1 if centred_even else width
    if x.size * kernel_len <= DIRECT_WORK:
        kernel = np.ones(width) / width
        if centred_even:
            kernel = np.convolve(kernel, np.ones(2) / 2)
        return np.convolve(x, kernel, mode="same")
    full = box_full(x, width) / width
    if centred_even:
        full = np.convolve(full, np.ones(2) / 2)  # length n + width: the full convolution with the kernel
    start = (kernel_len - 1) // 2
    if x.size >= kernel_len:
        return full[start:start + x.size]
    return full[(x.size - 1) // 2:(x.size - 1) // 2 + kernel_len]


def cycle_strength(values: np.ndarray, lag: int) -> float:
    """Strength of a cycle of ``lag`` samples (NaN when the span is too short or the series is flat)."""
    x = np.asarray(values, dtype=float)
    if lag < 2 or 2 * lag > x.size:
        return float("nan")
    ok = np.isfinite(x)
    if not ok.any():
        return float("nan")
    filled = np.where(ok, x, np.nanmean(x))
    trend = moving_average(filled, lag)
    half = lag // 2
    resid = (filled - trend)[half:x.size - half] if x.size > 2 * half + lag else filled - trend
    if resid.size <= lag + 2:
        return float("nan")
    med = np.median(resid)
    mad = 1.4826 * np.median(np.abs(resid - med))
    a, b = resid[:-lag] - med, resid[lag:] - med
    if mad > 0:  # pairs with an outlier on either side are left out
        keep = (np.abs(a) <= OUTLIER_MADS * mad) & (np.abs(b) <= OUTLIER_MADS * mad)
        if keep.sum() >= max(10, a.size // 2):
            a, b = a[keep], b[keep]
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def learn_seasonality(values: np.ndarray, step_s: float, candidates: Sequence[float] = CANDIDATES,
                      min_strength: float = 0.3) -> Seasonality:
    """The strongest cycle of a regularly sampled series (NaN gaps allowed)."""
    if not step_s > 0:
        raise InputError(f"step must be positive, got {step_s}")
    x = np.asarray(values, dtype=float)
    best = Seasonality(0.0, 0.0)
    strengths: dict[float, float] = {}
    for period in candidates:
        r = cycle_strength(x, int(round(period / step_s)))
        if not np.isfinite(r):
            continue
        strengths[float(period)] = r
        if r > best.strength:
            best = Seasonality(float(period), r)
    if best.strength >= min_strength:
        return Seasonality(best.period_s, best.strength, strengths)
    return Seasonality(0.0, best.strength, strengths)


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
