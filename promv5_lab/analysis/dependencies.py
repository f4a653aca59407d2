"""Which series lead or follow which: lagged cross-correlation plus Granger tests, as a dependency map.

How it works, so a person can redo it by hand (every setting is in ``DependencyMap.params``):

1. Each series is gap-filled by linear interpolation, *deseasonalised* when it has a cycle (the per-phase
   median profile of :func:`learn.normal_behavior`'s detector is subtracted: the daily traffic wave would
   otherwise correlate everything with everything), *differenced* (levels of trending series correlate
   spuriously), and robustly standardised (median / 1.4826 MAD, clipped at ``clip`` sigmas so one glitch
   cannot make an edge on its own).
2. For every pair, the Pearson correlation of ``a[t]`` with ``b[t + k]`` for ``k`` in ``[-max_lag, max_lag]``;
   the lag with the largest ``|r|`` is kept. ``k > 0``: ``a`` leads ``b`` by ``k`` steps.
3. Pairs with ``|r| >= min_strength`` get a Granger causality test (statsmodels' SSR F test, computed
   with numpy: :func:`granger_p`; lags 1 to ``granger_lags``, smallest p-value) in both directions on
   the standardised differences. With days of data nearly every co-moving pair is "significant" (rate
   windows make differences autocorrelated), so the p-values mostly order the edges, not gate them.
4. An edge ``source -> target`` means "target follows source". Its direction comes from the lag when it
   is not 0; at lag 0 (both move within the same step, as rate windows of a shared dependency do) from the
   Granger asymmetry when exactly one direction is significant at ``alpha``; otherwise the edge is
   ``simultaneous`` (listed once, source < target by name).

This is evidence of co-movement with a time order, not proof of causation: a common driver (traffic) can
make two unrelated services co-move, which is why the root-cause work combines it with the call graph.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from .._deps import require
from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Dependency", "DependencyMap", "granger_p", "learn_dependencies", "prepare"]

log = logging.getLogger(__name__)

Direction = Literal["leads", "simultaneous"]


@dataclass(frozen=True)
class Dependency:
    """``target`` follows ``source`` by ``lag_s`` seconds (0: same step) with correlation ``correlation``.

    ``p_value`` is the Granger test's (smallest over lags) that ``source`` helps predict ``target``;
    ``p_reverse`` the other way round. ``direction`` is ``"leads"`` (source leads) or ``"simultaneous"``.
    """

    source: str
    target: str
    lag_s: float
    correlation: float
    p_value: float
    p_reverse: float
    direction: Direction

    @property
    def strength(self) -> float:
        return abs(self.correlation)

    def describe(self) -> str:
        sign = "up with" if self.correlation > 0 else "against"
        if self.direction == "leads":
            head = f"{self.target} follows {self.source}"
            when = f" {self.lag_s:g} s later" if self.lag_s else " in the same step (Granger-ordered)"
        else:
            head, when = f"{self.source} and {self.target} move together", " in the same step"
        return (f"{head}{when}: moves {sign} it, r = {self.correlation:+.2f}, "
                f"Granger p = {self.p_value:.2g} (reverse {self.p_reverse:.2g})")


@dataclass(frozen=True)
class DependencyMap:
    """Edges between series (strongest first) and how they were found."""

    series: tuple[str, ...]
    edges: tuple[Dependency, ...]
    step_s: float
    params: dict = field(default_factory=dict)

    def __iter__(self) -> Iterator[Dependency]:
        return iter(self.edges)

    def __len__(self) -> int:
        return len(self.edges)

    def between(self, a: str, b: str) -> Dependency | None:
        """The edge joining ``a`` and ``b`` in either direction, if any."""
        return next((e for e in self.edges if {e.source, e.target} == {a, b}), None)

    def leaders_of(self, series: str) -> tuple[Dependency, ...]:
        """Edges whose target is ``series`` and whose source leads it (what it follows)."""
        return tuple(e for e in self.edges if e.direction == "leads" and e.target == series)

    def followers_of(self, series: str) -> tuple[Dependency, ...]:
        """Edges where ``series`` leads."""
        return tuple(e for e in self.edges if e.direction == "leads" and e.source == series)

    def neighbours(self, series: str) -> tuple[str, ...]:
        return tuple(e.target if e.source == series else e.source for e in self.edges if series in (e.source, e.target))

    def to_dict(self) -> dict:
        """JSON-ready: series, edges (with lag, correlation, p-values, direction) and params."""
        return {"series": list(self.series), "step_s": self.step_s, "params": dict(self.params),
                "edges": [{"source": e.source, "target": e.target, "lag_s": e.lag_s, "correlation": e.correlation,
                           "p_value": e.p_value, "p_reverse": e.p_reverse, "direction": e.direction}
                          for e in self.edges]}


def prepare(wide: pd.DataFrame, *, clip: float = 20.0, min_strength: float = 0.3) -> np.ndarray:
    """Deseasonalised, differenced, robustly standardised series: shape ``(n_series, T - 1)``."""
    from .forecast import _profile, step_seconds
    from .seasonality import learn_seasonality

    step = step_seconds(wide.index)
    rows = []
    for col in wide.columns:
        y = wide[col].to_numpy(dtype=float)
        ok = np.isfinite(y)
        if ok.sum() < 10:
            raise InputError(f"{col}: {int(ok.sum())} samples are too few for dependencies (need 10)",
                             hint="use a longer history or drop the series")
        y = np.interp(np.arange(y.size), np.flatnonzero(ok), y[ok])
        season = learn_seasonality(y, step, min_strength=min_strength)
        if season.period_s:
            lag = round(season.period_s / step)
            y = y - _profile(y, lag)[np.arange(y.size) % lag]
        d = np.diff(y)
        med = np.median(d)
        mad = 1.4826 * np.median(np.abs(d - med))
        scale = mad if mad > 0 else (d.std() if d.std() > 0 else 1.0)
        rows.append(np.clip((d - med) / scale, -clip, clip))
    return np.vstack(rows)


def _lagged_corr(a: np.ndarray, b: np.ndarray, max_lag: int) -> tuple[int, float]:
    """(lag, r) with the largest |r| of corr(a[t], b[t + lag]) over |lag| <= max_lag."""
    n = a.size
    best_k, best_r = 0, 0.0
    for k in range(-max_lag, max_lag + 1):
        x, y = (a[:n - k], b[k:]) if k >= 0 else (a[-k:], b[:n + k])
        if x.std() == 0 or y.std() == 0:
            continue
        r = float(np.corrcoef(x, y)[0, 1])
        if np.isfinite(r) and (abs(r) > abs(best_r) + 1e-12 or (k == 0 and abs(r) >= abs(best_r) - 1e-12)):
            best_k, best_r = k, r
    return best_k, best_r


def granger_p(cause: np.ndarray, effect: np.ndarray, lags: int) -> float:
    """Smallest p-value over lags 1..``lags`` that ``cause`` helps predict ``effect``.

    The SSR F test of statsmodels' ``grangercausalitytests`` (``ssr_ftest``: ``effect`` on a constant and
    its own lags, against the same plus ``cause``'s lags), computed with numpy least squares, which is
    about 50x faster; the unit tests check it equals statsmodels' p-values.
    """
    fdist = require("scipy.stats").f
    y, x = np.asarray(effect, dtype=float), np.asarray(cause, dtype=float)
    best = 1.0
    for lag in range(1, lags + 1):
        n = y.size - lag
        dof = n - 2 * lag - 1
        if dof <= 0:
            break
        own = np.column_stack([y[lag - k:y.size - k] for k in range(1, lag + 1)])
        other = np.column_stack([x[lag - k:x.size - k] for k in range(1, lag + 1)])
        target = y[lag:]
        restricted = np.column_stack([own, np.ones(n)])
        full = np.column_stack([own, other, np.ones(n)])
        ssr_r = _ssr(restricted, target)
        ssr_u = _ssr(full, target)
        if not ssr_u > 0:
            continue
        f = (ssr_r - ssr_u) / ssr_u * dof / lag
        best = min(best, float(fdist.sf(f, lag, dof)))
    return best


def _ssr(design: np.ndarray, target: np.ndarray) -> float:
    gram = design.T @ design
    try:  # normal equations: a few columns, thousands of rows
        coef = np.linalg.solve(gram, design.T @ target)
    except np.linalg.LinAlgError:
        coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    resid = target - design @ coef
    return float(resid @ resid)


def learn_dependencies(wide: pd.DataFrame, *, max_lag: int = 10, min_strength: float = 0.3,
                       granger_lags: int = 5, alpha: float = 0.01, clip: float = 20.0,
                       max_edges_per_series: int | None = None, progress: bool = False) -> DependencyMap:
    """The dependency map of the series of a wide frame (``frames.to_wide()``): see the module docstring."""
    import pandas as pd

    from .forecast import step_seconds

    if not isinstance(wide, pd.DataFrame) or wide.shape[1] < 2:
        raise InputError("dependencies need a wide frame with at least two series",
                         hint="query several services at once, e.g. sum by (service) (...)")
    if max_lag < 0 or granger_lags < 1 or not 0 < alpha < 1 or not 0 <= min_strength <= 1:
        raise InputError("need max_lag >= 0, granger_lags >= 1, 0 < alpha < 1 and 0 <= min_strength <= 1")
    step = step_seconds(wide.index)
    if wide.shape[0] < 4 * (max_lag + granger_lags) + 10:
        raise InputError(f"{wide.shape[0]} samples are too few for lags up to {max_lag}",
                         hint="use a longer history, a finer step or a smaller max_lag")
    names = [str(c) for c in wide.columns]
    z = prepare(wide, clip=clip)
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    if progress:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc="dependencies", unit="pair", leave=False)
    edges = []
    for i, j in pairs:
        k, r = _lagged_corr(z[i], z[j], max_lag)
        if abs(r) < min_strength:
            continue
        p_ij = granger_p(z[i], z[j], granger_lags)  # i helps predict j
        p_ji = granger_p(z[j], z[i], granger_lags)
        if k > 0 or (k == 0 and p_ij < alpha <= p_ji):
            src, dst, p, pr, d = i, j, p_ij, p_ji, "leads"
        elif k < 0 or (k == 0 and p_ji < alpha <= p_ij):
            src, dst, p, pr, d = j, i, p_ji, p_ij, "leads"
        else:
            src, dst, p, pr, d = (i, j, p_ij, p_ji, "simultaneous") if names[i] <= names[j] else \
                (j, i, p_ji, p_ij, "simultaneous")
        edges.append(Dependency(names[src], names[dst], abs(k) * step, r, p, pr, d))
    edges.sort(key=lambda e: -e.strength)
    if max_edges_per_series:
        kept, count = [], {n: 0 for n in names}
        for e in edges:
            if count[e.source] < max_edges_per_series or count[e.target] < max_edges_per_series:
                kept.append(e)
                count[e.source] += 1
                count[e.target] += 1
        edges = kept
    params = {"method": "lagged Pearson correlation of deseasonalised, differenced, MAD-standardised series "
                        "+ Granger SSR F test (statsmodels' ssr_ftest, numpy)",
              "max_lag": max_lag, "min_strength": min_strength, "granger_lags": granger_lags, "alpha": alpha,
              "clip": clip, "start": str(wide.index[0]), "end": str(wide.index[-1]), "step_s": step}
    log.info("dependencies: %d series, %d edges", len(names), len(edges))
    return DependencyMap(tuple(names), tuple(edges), step, params)
