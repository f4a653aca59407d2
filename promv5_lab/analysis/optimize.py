"""Right-sizing plans: keep an SLO at the forecast peak (``performance``), and the cheapest such plan
within a budget given the user's unit prices (``cost``).

Model, so the numbers can be checked by hand: a workload's load (requests/s) is forecast with
:class:`.forecast.Forecaster`; its *peak* is the largest upper bound of the prediction interval over the
horizon. A replica serves ``capacity_per_replica`` requests/s at 100 % (times an instance type's
``capacity_factor``). The SLO becomes a utilisation ceiling: given directly (``max_utilisation``), or from a
latency objective with the M/M/1 queue's mean response time ``service_time / (1 - utilisation)``, so
``ceiling = 1 - service_time / latency``. Replicas = ``ceil(peak / (capacity x ceiling))``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..types import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["SLO", "InstanceType", "Plan", "PlanItem", "Workload", "cost", "performance"]


@dataclass(frozen=True)
class SLO:
    """A latency objective (needs each workload's ``service_time_s``) or a utilisation ceiling."""

    latency_s: float | None = None
    max_utilisation: float = 0.7

    def ceiling(self, service_time_s: float | None) -> float:
        if self.latency_s is None:
            if not 0 < self.max_utilisation <= 1:
                raise InputError(f"max_utilisation must be in (0, 1], got {self.max_utilisation}")
            return self.max_utilisation
        if not service_time_s or service_time_s <= 0:
            raise InputError("a latency SLO needs each workload's service_time_s",
                             hint="give Workload(service_time_s=...) or use SLO(max_utilisation=...)")
        rho = 1.0 - service_time_s / self.latency_s
        if rho <= 0:
            raise InputError(f"latency objective {self.latency_s:g} s is below the service time {service_time_s:g} s",
                             hint="no number of replicas meets it: relax the SLO or speed up the service")
        return min(rho, self.max_utilisation) if self.max_utilisation < 1 else rho


@dataclass(frozen=True)
class Workload:
    """A service's load history (requests/s, a regular series) and what one replica serves."""

    name: str
    load: pd.Series
    capacity_per_replica: float
    replicas: int
    service_time_s: float | None = None


@dataclass(frozen=True)
class InstanceType:
    """A size a replica can run on: capacity relative to the workload's ``capacity_per_replica``, and its price."""

    name: str
    price_per_hour: float
    capacity_factor: float = 1.0


@dataclass(frozen=True)
class PlanItem:
    workload: str
    instance: str
    replicas: int
    current_replicas: int
    peak_load: float
    utilisation_at_peak: float
    ceiling: float
    cost_per_hour: float


@dataclass(frozen=True)
class Plan:
    """Replicas (and instance types) per workload; total cost and whether it fits the budget."""

    items: tuple[PlanItem, ...]
    cost_per_hour: float
    budget_per_hour: float | None = None
    notes: tuple[str, ...] = ()
    params: Mapping[str, object] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return self.budget_per_hour is None or self.cost_per_hour <= self.budget_per_hour + 1e-9

    def describe(self) -> str:
        lines = [f"{i.workload}: {i.replicas} x {i.instance} (now {i.current_replicas}), peak {i.peak_load:.4g}/s at "
                 f"{i.utilisation_at_peak:.0%} (ceiling {i.ceiling:.0%}), {i.cost_per_hour:.4g}/h" for i in self.items]
        budget = "" if self.budget_per_hour is None else (
            f" within budget {self.budget_per_hour:.4g}/h" if self.feasible
            else f" OVER budget {self.budget_per_hour:.4g}/h by {self.cost_per_hour - self.budget_per_hour:.4g}/h")
        return "\n".join([*lines, f"total {self.cost_per_hour:.4g}/h{budget}", *self.notes])


def _peaks(workloads: Sequence[Workload], horizon_s: float, level: float) -> dict[str, float]:
    from .forecast import Forecaster

    if not workloads:
        raise InputError("no workloads given")
    fc = Forecaster(level=level)
    out = {}
    for w in workloads:
        if not w.capacity_per_replica > 0 or w.replicas < 0:
            raise InputError(f"{w.name}: capacity_per_replica must be > 0 and replicas >= 0")
        res = fc.forecast(w.load, horizon_s, name=w.name)
        out[w.name] = float(np.nanmax(res.upper.to_numpy()))
    return out


def _item(w: Workload, peak: float, ceiling: float, inst: InstanceType) -> PlanItem:
    cap = w.capacity_per_replica * inst.capacity_factor
    n = max(1, math.ceil(peak / (cap * ceiling) - 1e-9))
    return PlanItem(w.name, inst.name, n, w.replicas, peak, peak / (n * cap), ceiling, n * inst.price_per_hour)


def performance(slo: SLO, workloads: Sequence[Workload], *, horizon: str | float = "7d", level: float = 0.8,
                instance: InstanceType | None = None) -> Plan:
    """Replicas per workload that keep the SLO at the forecast peak (one instance type, default price 0)."""
    inst = instance or InstanceType("replica", 0.0)
    peaks = _peaks(workloads, parse_duration(horizon), level)
    items = tuple(_item(w, peaks[w.name], slo.ceiling(w.service_time_s), inst) for w in workloads)
    return Plan(items, float(sum(i.cost_per_hour for i in items)), None,
                params={"slo": slo, "horizon": horizon, "level": level, "peak": "max upper bound of the forecast"})


def cost(budget_per_hour: float, workloads: Sequence[Workload], prices: Sequence[InstanceType] | Mapping[str, float],
         *, slo: SLO | None = None, horizon: str | float = "7d", level: float = 0.8) -> Plan:
    """The cheapest plan meeting the SLO at the forecast peak (instance type per workload); ``feasible``
    says whether it fits ``budget_per_hour``. ``prices`` maps a name to a price per replica-hour, or lists
    :class:`InstanceType`s with capacity factors."""
    if not budget_per_hour >= 0:
        raise InputError(f"budget must be >= 0, got {budget_per_hour}")
    types = ([InstanceType(k, float(v)) for k, v in prices.items()] if isinstance(prices, Mapping) else list(prices))
    if not types or any(not t.price_per_hour >= 0 or not t.capacity_factor > 0 for t in types):
        raise InputError("prices need at least one instance type with price >= 0 and capacity_factor > 0")
    slo = slo or SLO()
    peaks = _peaks(workloads, parse_duration(horizon), level)
    items = []
    for w in workloads:
        ceiling = slo.ceiling(w.service_time_s)
        items.append(min((_item(w, peaks[w.name], ceiling, t) for t in types),
                         key=lambda i: (i.cost_per_hour, i.replicas)))
    total = float(sum(i.cost_per_hour for i in items))
    shortfall = (f"No plan meets the SLO within {budget_per_hour:.4g}/h: the cheapest costs {total:.4g}/h. "
                 "Raise the budget, relax the SLO, or accept the risk at the peak.")
    notes = () if total <= budget_per_hour + 1e-9 else (shortfall,)
    return Plan(tuple(items), total, float(budget_per_hour), notes,
                params={"slo": slo, "horizon": horizon, "level": level, "types": [t.name for t in types]})
