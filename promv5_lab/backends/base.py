"""The seams every telemetry backend implements: small protocols of a few methods each.

``MetricsBackend`` answers PromQL; ``MetricCatalogue`` says what exists (grounding for the planner);
``RuleSource`` exposes targets, alerts and rules where the backend has them. Prometheus implements all
three; the embedded engine implements the first two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..types import AlertInfo, MetricMetadata, QueryResult, RuleInfo, Target, TimeRange


@runtime_checkable
class MetricsBackend(Protocol):
    """Evaluates PromQL. ``name`` identifies the backend in provenance (a URL or 'embedded:DIR')."""

    name: str

    def query(self, promql: str, time: datetime | None = None) -> QueryResult: ...

    def query_range(self, promql: str, time_range: TimeRange) -> QueryResult: ...


@runtime_checkable
class MetricCatalogue(Protocol):
    """What the backend holds: metric names, labels and their values, TYPE/HELP metadata."""

    def label_names(self, match: Sequence[str] = ()) -> list[str]: ...

    def label_values(self, label: str, match: Sequence[str] = ()) -> list[str]: ...

    def metadata(self, metric: str | None = None) -> dict[str, MetricMetadata]: ...


@runtime_checkable
class RuleSource(Protocol):
    """Scrape targets, alerts and rules (Prometheus has them; a file store does not)."""

    def targets(self) -> list[Target]: ...

    def alerts(self) -> list[AlertInfo]: ...

    def rules(self) -> list[RuleInfo]: ...
