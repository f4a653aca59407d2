"""A spike-density scorer for :mod:`.online`: "this series is spiking far more often than it ever did".

A load balancer that starts to drop requests, a CPU whose noise turns into a stream of small bursts,
a road whose travel times start to jump: no single value is extreme (each spike is one the series has
shown before, so the level, surprise and novelty scorers stay quiet), but their *number* is. For each
row (strictly causal, like the rest of :mod:`.online`):

* a row is a *spike* when its deviation (``max(surprise, level z)`` of :mod:`.online`) is at least
  ``z_spike`` sigmas;
* ``k`` spikes among the ``w`` present rows of the last ``window`` rows are compared with the series'
  own earlier rate ``p`` (spikes / present rows before the window, with a weak prior of ``prior_rate``
  over ``prior_rows`` rows): the statistic is ``-log10 P(X >= k)``, ``X ~ Binomial(w, p)``, once at least
  ``min_rows`` present rows lie before the window;
* it counts against a *record of its own*: the largest statistic of the series up to ``lag`` rows
  earlier (never decaying, never below ``floor``), so a series whose spikes always come in clusters (a
  bursty count, a daily rush hour) has set a high record long before and an ordinary cluster is no news;
  its score is ``weight * r / (1 + r)``, ``r = statistic / record`` (the lag keeps a cluster that builds
  up over a few rows from raising its own bar row by row);
* **once per regime**: after the score reaches the report level, the scorer is silent until the count
  is back at the rate the series had before (``k <= w p``): a dense stretch is one event, not a flag for
  every row the record grows by.

Work per row: a few additions and, where ``k`` exceeds the expected count, one binomial tail of at most
``window`` terms. The function runs on Python floats for one series; :func:`.online.score_matrix` calls
it per column, so the batched and one-series paths are the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = ["DensityConfig", "binomial_tail", "density_scores"]


@dataclass(frozen=True)
class DensityConfig:
    """Parameters of the spike-density scorer (defaults: the ones benchmarked on NAB)."""

    window: int = 24            # rows whose spikes are counted
    z_spike: float = 3.0        # a row is a spike at this many sigmas (surprise or level z)
    min_rows: int = 300         # present rows before the window needed to know the series' own rate
    prior_rows: float = 50.0    # the earlier rate starts from prior_rate over this many rows
    prior_rate: float = 0.01
    floor: float = 6.0          # the record is never below this (-log10 of a tail of 1e-6)
    lag: int = 4                # the record holds the statistics up to this many rows before
    weight: float = 0.72        # score = weight * r / (1 + r), r = statistic / record

    def __post_init__(self) -> None:
        for name in ("window", "min_rows"):
            if getattr(self, name) < 1:
                raise InputError(f"DensityConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.lag < 1:
            raise InputError(f"DensityConfig.lag must be >= 1 (the record holds earlier rows), got {self.lag}")
        if not 0.0 < self.prior_rate < 1.0 or self.prior_rows <= 0:
            raise InputError("DensityConfig: prior_rate must be in (0, 1) and prior_rows > 0")
        if self.floor <= 0 or self.z_spike <= 0:
            raise InputError("DensityConfig: floor and z_spike must be > 0")
        if not 0.0 <= self.weight <= 1.0:
            raise InputError(f"DensityConfig.weight must be in [0, 1], got {self.weight}")


def binomial_tail(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)`` (exact sum of the upper terms; 1.0 for ``k <= 0``)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    q = 1.0 - p
    return math.fsum(math.comb(n, j) * p ** j * q ** (n - j) for j in range(k, n + 1))


def density_scores(z: np.ndarray, present: np.ndarray, config: DensityConfig | None = None, *,
                   warmup: int = 120, report: float = 0.5) -> np.ndarray:
    """The spike-density member's score of each row of ONE series (see the module docstring).

    ``z``: the deviation of each row in sigmas; ``present``: False where the sample is missing.
    Rows before ``warmup`` score 0; ``report`` is the level after which the scorer stays silent
    until the spike count is back at the series' earlier rate. Row ``i`` uses rows ``0..i`` only.
    """
    c = config or DensityConfig()
    zs = np.asarray(z, dtype=float)
    ok = np.asarray(present, dtype=bool)
    if zs.shape != ok.shape or zs.ndim != 1:
        raise InputError(f"density_scores needs z and present of the same 1-d shape, got {zs.shape}, {ok.shape}")
    n = zs.size
    spike = ((zs >= c.z_spike) & ok).astype(np.int64)
    cs = np.r_[0, np.cumsum(spike)].tolist()
    pc = np.r_[0, np.cumsum(ok.astype(np.int64))].tolist()
    stat = [0.0] * n
    out = [0.0] * n
    peak = 0.0
    latched = False
    prior = c.prior_rate * c.prior_rows
    for i in range(n):
        lo = max(i + 1 - c.window, 0)
        k = cs[i + 1] - cs[lo]
        w = pc[i + 1] - pc[lo]
        before = pc[lo]
        p = (cs[lo] + prior) / (before + c.prior_rows)
        if k > 0 and before >= c.min_rows:
            stat[i] = -math.log10(max(binomial_tail(k, w, p), 1e-300))
        if i < warmup:
            continue
        if i - c.lag >= 0:
            peak = max(peak, stat[i - c.lag])
        r = stat[i] / max(peak, c.floor)
        s = c.weight * r / (1.0 + r)
        if latched:
            if k <= w * p:
                latched = False
            continue
        out[i] = s
        if s >= report:
            latched = True
    return np.asarray(out, dtype=float)
