"""A weekly-residual scorer for :mod:`.online`: "this stretch is unlike the same hours of recent weeks".

Holidays, a city under snow, a service quiet on a Tuesday as if it were Sunday: each value is normal
for *some* time of the week, so a daily profile and a level model see nothing, but compared with the
same time of the previous weeks the whole day stands out. For each row (strictly causal, like the rest
of :mod:`.online`):

* weekly residual ``r_w = x - median(x at t - 1 week, t - 2 weeks, ... t - past weeks)`` (at least
  ``min_past`` of them present), and the daily one ``r_d`` the same way with days;
* the residual is smoothed over the last ``smooth`` rows (a stretch, not one sample) and scored as a
  robust z against the median and MAD of the previous ``window`` smoothed residuals;
* it only counts where the weekly model is clearly the better one: the running mean ``|r_d|`` is at
  least ``strength`` times the running mean ``|r_w|`` (after ``min_rows`` rows with both), so series
  without a weekly rhythm (or too short to have one) are left to the other scorers.

Earlier rows are found by their timestamp rounded to ``resolution`` seconds, so a series sampled on a
regular grid (NAB's, Prometheus') finds them; one with irregular timestamps finds few and scores 0.
Work per row: ``past`` dictionary look-ups and an EWMA; the rolling median is pandas' (batched over the
rows already seen, causal).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["DAY", "WEEK", "WeeklyConfig", "weekly_residual_z"]

DAY = 86400.0
WEEK = 7 * DAY


@dataclass(frozen=True)
class WeeklyConfig:
    """Parameters of the weekly-residual scorer (defaults: the ones benchmarked on NAB)."""

    past: int = 3               # earlier weeks (and days) the reference median is taken over
    min_past: int = 2           # ... of which at least this many must be present
    smooth: int = 12            # rows the residual is averaged over
    window: int = 2000          # rows of the robust z's trailing median / MAD
    min_rows: int = 200         # rows with a residual before it scores (and before the strength counts)
    strength: float = 1.5       # weekly residual at most 1 / strength of the daily one, on average
    strength_alpha: float = 0.002  # EWMA weight of the two running mean residuals
    resolution: float = 60.0    # timestamps are matched to the earlier weeks' after rounding to this (s)

    def __post_init__(self) -> None:
        if self.past < 1 or not 1 <= self.min_past <= self.past:
            raise InputError(f"WeeklyConfig: need past >= 1 and 1 <= min_past <= past, got {self.past}, {self.min_past}")
        for name in ("smooth", "window", "min_rows"):
            if getattr(self, name) < 1:
                raise InputError(f"WeeklyConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 < self.strength_alpha <= 1.0 or self.strength <= 0 or self.resolution <= 0:
            raise InputError("WeeklyConfig: strength_alpha must be in (0, 1], strength and resolution > 0")


def _residuals(keys: list[int], xs: list[float], lag: int, past: int, min_past: int) -> list[float]:
    """``x - median`` of the values ``lag, 2 lag, ...`` keys earlier (NaN without ``min_past`` of them)."""
    nan = math.nan
    pos: dict[int, float] = {}
    out = [nan] * len(xs)
    for i, (k, x) in enumerate(zip(keys, xs)):
        if not math.isnan(x):
            ref = [pos[k - j * lag] for j in range(1, past + 1) if (k - j * lag) in pos]
            if len(ref) >= min_past:
                ref.sort()
                m = len(ref) // 2
                med = ref[m] if len(ref) % 2 else 0.5 * (ref[m - 1] + ref[m])
                out[i] = x - med
            pos[k] = x
    return out


def weekly_residual_z(t: np.ndarray, values: np.ndarray, config: WeeklyConfig | None = None) -> np.ndarray:
    """Robust z (>= 0) of the smoothed weekly residual of each row; 0 where the weekly model does not apply.

    ``t``: Unix seconds, ``values``: floats (NaN = missing), both of shape ``(T,)``. Row ``i`` uses rows
    ``0..i`` only.
    """
    import pandas as pd

    c = config or WeeklyConfig()
    tt = np.asarray(t, dtype=float)
    v = np.asarray(values, dtype=float)
    if tt.shape != v.shape or v.ndim != 1:
        raise InputError(f"weekly_residual_z needs t and values of the same 1-d shape, got {tt.shape}, {v.shape}")
    n = v.size
    if n == 0:
        return np.zeros(0)
    keys = np.round(np.nan_to_num(tt) / c.resolution).astype(np.int64).tolist()
    xs = v.tolist()
    r_w = _residuals(keys, xs, round(WEEK / c.resolution), c.past, c.min_past)
    r_d = _residuals(keys, xs, round(DAY / c.resolution), c.past, c.min_past)
    # where the weekly model is clearly better: running mean |r_d| >= strength * running mean |r_w|,
    # from the rows before this one that have both residuals
    ok = [False] * n
    e_w = e_d = 0.0
    both = 0
    a = c.strength_alpha
    for i in range(n):
        ok[i] = both >= c.min_rows and e_d >= c.strength * e_w
        w, d = r_w[i], r_d[i]
        if not (math.isnan(w) or math.isnan(d)):
            if both == 0:
                e_w, e_d = abs(w), abs(d)
            else:
                e_w += a * (abs(w) - e_w)
                e_d += a * (abs(d) - e_d)
            both += 1
    m = pd.Series(r_w, dtype=float).rolling(c.smooth, min_periods=max(1, c.smooth // 2)).mean()
    past = m.shift(1)
    med = past.rolling(c.window, min_periods=c.min_rows).median()
    mad = (past - med).abs().rolling(c.window, min_periods=c.min_rows).median()
    z = ((m - med).abs() / (1.4826 * mad + 1e-9)).to_numpy()
    z = np.nan_to_num(z, nan=0.0, posinf=0.0)
    return np.where(np.asarray(ok), z, 0.0)
