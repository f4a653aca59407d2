"""Small catalogues built in a test: one metric per line in the shape exporters give them, and the lexical
planner over them (no model: fast and deterministic). Shared by the planner-class tests."""

from __future__ import annotations

from datetime import datetime, timezone

from promv5_lab.nl.catalogue import Catalogue, MetricInfo
from promv5_lab.nl.planner import OfflinePlanner
from promv5_lab.nl.render import render
from promv5_lab.types import Clarification

NOW = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


def metric(metric_name: str, typ: str, help_: str, /, **labels: list[str]) -> MetricInfo:
    """One metric with its label values (``instance=["a:9100", ...]``; a label may be called ``name``)."""
    vals = {k: frozenset(v) for k, v in labels.items()}
    return MetricInfo(metric_name, typ, help_, tuple(sorted(labels)), vals)  # type: ignore[arg-type]


def catalogue(metrics: list[MetricInfo]) -> Catalogue:
    label_values: dict[str, set[str]] = {}
    for m in metrics:
        for k, v in m.values.items():
            label_values.setdefault(k, set()).update(v)
    return Catalogue({m.name: m for m in metrics}, {k: tuple(sorted(v)) for k, v in label_values.items()})


def lexical_planner(metrics: list[MetricInfo], now: datetime = NOW) -> OfflinePlanner:
    return OfflinePlanner(catalogue(metrics), now=now, use_embeddings=False)


def promql(planner: OfflinePlanner, question: str) -> str:
    """The PromQL the planner renders for ``question`` (a clarification fails the test with its message)."""
    plan = planner.plan(question)
    assert not isinstance(plan, Clarification), f"{question!r} -> {plan.message}"
    return render(plan)
