"""The predictive API with the issue's names: what is abnormal now, what will break next.

Thin entry points over the modules that do the work, so ``%%ask``, the CLI and notebooks share one path::

    from promv5_lab.analysis import predict
    predict.anomalies(wide)                      # scores, per-series thresholds, flags, episodes
    predict.anomalies(wide, cluster="tcp://scheduler:8786")   # the same scan on a Dask cluster
    predict.capacity(avail, limit=0, horizon="7d")            # "fills in 3.2 days, 80% interval 2.5 to 4.1"
    predict.failures(wide, threshold=0.5, horizon="1h")       # P(crossing an SLO threshold), riskiest first

``wide`` is a frame from :func:`promv5_lab.frames.to_wide` (UTC index with ``freq``, one column per series).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ..errors import InputError
from ..types import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .forecast import Forecaster
    from .results import AnomalyScores, CapacityResult

__all__ = ["anomalies", "capacity", "failures"]


def anomalies(wide: pd.DataFrame, *, target_fpr: float = 0.005, seasonality: str = "auto", train: slice | None = None,
              cluster: Any = None, chunk_series: int = 250, progress: bool = True, **kwargs: Any) -> AnomalyScores:
    """Anomaly scores in [0, 1], per-series thresholds calibrated to ``target_fpr``, flags and episodes.

    Spikes, level shifts, leaks (CUSUM), variance bursts, flatlines, seasonal breaks and drop-outs, with
    counter resets ignored for series marked in ``counters``. One local call when the frame is small and
    no ``cluster`` is given; column chunks on local threads or a Dask cluster otherwise (same results).
    """
    if cluster is None and wide.shape[1] <= chunk_series:
        from .learn import detect

        return detect(wide, target_fpr=target_fpr, seasonality=seasonality, train=train, progress=progress, **kwargs)
    from .fleet import scan

    return scan(wide, cluster=cluster, chunk_series=chunk_series, progress=progress, target_fpr=target_fpr,
                seasonality=seasonality, train=train, **kwargs)


def capacity(series: pd.Series, limit: float, horizon: str | float = "7d", *, level: float = 0.8,
             simulations: int = 500, seed: int = 0, name: str | None = None) -> CapacityResult:
    """Time until ``series`` reaches ``limit`` (rising or falling) within ``horizon``, with an interval."""
    from .capacity import time_to_limit

    return time_to_limit(series, limit, parse_duration(horizon), level=level, simulations=simulations, seed=seed,
                         name=name)


def failures(data: pd.DataFrame | pd.Series, threshold: float, horizon: str | float = "1h", *,
             forecaster: Forecaster | None = None, simulations: int = 500, seed: int = 0,
             crossing: Literal["simulated", "history"] = "history") -> tuple[CapacityResult, ...]:
    """For every series: the probability of crossing ``threshold`` within ``horizon`` (riskiest first).

    Each result's ``probability`` is the share of paths whose maximum (minimum) over the horizon crosses:
    by default the history's own paths (the mean forecast plus the errors the fitted model made over the
    horizon from every earlier origin; simulated paths when the history is too short for them),
    ``crossing="simulated"`` for the simulated ETS paths (:mod:`.capacity`). ``eta_s`` and the interval
    say when. The direction is inferred per series (rising if the threshold is above the last value).
    """
    import pandas as pd

    from .capacity import time_to_limit

    horizon_s = parse_duration(horizon)
    if isinstance(data, pd.Series):
        items = [(str(data.name) if data.name is not None else "value", data)]
    elif isinstance(data, pd.DataFrame) and data.shape[1] > 0:
        items = [(str(c), data[c]) for c in data.columns]
    else:
        raise InputError("failures() needs a Series or a wide frame with at least one series",
                         hint="build it with promv5_lab.frames.to_wide()")
    out = []
    for name, s in items:
        s = s.copy()
        s.index.freq = data.index.freq
        out.append(time_to_limit(s, threshold, horizon_s, forecaster=forecaster, simulations=simulations,
                                 seed=seed, name=name, crossing=crossing))
    return tuple(sorted(out, key=lambda r: -r.probability))
