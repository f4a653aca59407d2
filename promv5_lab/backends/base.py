"""The seams every telemetry backend implements: small protocols of a few methods each.

``MetricsBackend`` answers PromQL; ``MetricCatalogue`` says what exists (grounding for the planner);
``RuleSource`` exposes targets, alerts and rules where the backend has them; ``LogsBackend`` and
``TracesBackend`` give log lines and spans as frames. Prometheus implements all
three; the embedded engine implements the first two.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from ..types import AlertInfo, MetricMetadata, QueryResult, RuleInfo, Target, TimeRange

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


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


# Logs and traces: frames in the demo world's column conventions (promv5_lab/demo/README.md), UTC timestamps.
#   logs:  timestamp (datetime64[ns, UTC]), service, level, message, trace_id (may be empty), node
#   spans: trace_id, span_id, parent_span_id (None at the root), service, operation, kind,
#          start (datetime64[ns, UTC]), duration_ms (float), status ("OK"/"ERROR"), attributes (dict)


@runtime_checkable
class LogsBackend(Protocol):
    """Log lines in a time range, optionally for one service and/or containing a substring."""

    name: str

    def logs(self, time_range: TimeRange, service: str | None = None, contains: str | None = None,
             limit: int = 100_000) -> "pd.DataFrame": ...


@runtime_checkable
class TracesBackend(Protocol):
    """Spans in a time range (optionally one service), and one whole trace by id."""

    name: str

    def spans(self, time_range: TimeRange, service: str | None = None, limit: int = 100_000) -> "pd.DataFrame": ...

    def trace(self, trace_id: str) -> "pd.DataFrame": ...
