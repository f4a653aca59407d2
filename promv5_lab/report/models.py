"""The report models: frozen dataclasses that hold everything a rendered report shows, and nothing else.

Builders (:mod:`.postmortem`, :mod:`.forecast`, :mod:`.remediation`) gather them from a backend (plus
optional logs, traces and an audit log); renderers (:mod:`.render`) turn them into HTML, Markdown or PDF.
Every number in a report comes with the query that produced it (:class:`QueryRecord`, in the appendix).
Text fields may hold untrusted data (label values, log lines): renderers escape them, models never do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Union

from ..types import TimeRange

__all__ = [
    "ActionRecord", "AuditRow", "CauseView", "Chart", "ChartSeries", "EvidenceView", "FollowUp", "ForecastItem",
    "ForecastReport", "Impact", "KnownTruth", "ModelRecord", "Postmortem", "QueryRecord", "RemediationReport",
    "Report", "ServiceImpact", "TimelineEntry",
]


@dataclass(frozen=True)
class QueryRecord:
    """One query a report ran: enough to re-run it by hand."""

    promql: str
    kind: Literal["instant", "range"]
    backend: str
    time: datetime | None = None
    range: TimeRange | None = None
    series: int = 0
    elapsed_ms: float = 0.0
    purpose: str = ""


@dataclass(frozen=True)
class ModelRecord:
    """A model a report used (detector, forecaster, diagnosis) with its parameters."""

    name: str
    purpose: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ChartSeries:
    """One line: Unix-second timestamps and values (None for a gap)."""

    name: str
    t: tuple[float, ...]
    v: tuple[float | None, ...]


@dataclass(frozen=True)
class Chart:
    """A time-series chart: lines, shaded spans (the incident), an optional threshold line."""

    id: str
    title: str
    series: tuple[ChartSeries, ...]
    promql: str = ""
    shade: tuple[tuple[float, float], ...] = ()
    threshold: float | None = None
    y_label: str = ""
    caption: str = ""
    band: tuple[ChartSeries, ChartSeries] | None = None  # (lower, upper) of a prediction interval

    @property
    def points(self) -> int:
        return sum(sum(v is not None for v in s.v) for s in self.series)


@dataclass(frozen=True)
class ServiceImpact:
    service: str
    failed: float
    total: float
    error_ratio: float | None
    burn_rate: float | None
    budget_burned: float | None
    p90_before: float | None = None  # seconds, the hour before the window
    p90_during: float | None = None  # seconds, over the window


@dataclass(frozen=True)
class Impact:
    """What users felt: failed requests, error-budget burn, how long."""

    start: datetime
    end: datetime
    duration_s: float
    window_source: str
    failed_requests: float | None
    total_requests: float | None
    error_ratio: float | None
    slo_target: float
    budget_burned: float | None  # fraction of a 30-day error budget
    burn_rate: float | None
    worst_service: str | None
    per_service: tuple[ServiceImpact, ...] = ()
    notes: tuple[str, ...] = ()
    slowest_service: str | None = None  # the largest p90 rise (x2 or more), if any

    @property
    def slowest(self) -> ServiceImpact | None:
        return next((s for s in self.per_service if s.service == self.slowest_service), None)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    service: str | None
    summary: str
    source: str  # detector | alert | diagnosis | audit | known (demo)


@dataclass(frozen=True)
class EvidenceView:
    kind: str
    summary: str
    promql: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    detail: tuple[tuple[str, str], ...] = ()
    weight: float = 0.0
    chart_id: str | None = None


@dataclass(frozen=True)
class CauseView:
    service: str
    kind: str
    confidence: float
    summary: str
    evidence: tuple[EvidenceView, ...] = ()


@dataclass(frozen=True)
class ActionRecord:
    """One remediation run: what ran, who approved it, how it was verified and whether it worked."""

    at: datetime
    action: str
    target: str
    policy: str
    dry_run: bool
    approval: str
    verification: str
    outcome: str
    worked: bool | None
    steps: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    kind: Literal["alert_rule", "capacity", "action", "investigate"]
    title: str
    detail: str
    code: str | None = None  # e.g. a Prometheus alerting rule in YAML


@dataclass(frozen=True)
class KnownTruth:
    """The demo world's ground truth for an incident: shown only as 'known (demo)', never as a finding."""

    incident_id: str
    type: str
    root_cause_service: str
    start: datetime
    end: datetime
    remediation: str
    description: str


@dataclass(frozen=True)
class Postmortem:
    title: str
    generated_at: datetime
    backend: str
    at: datetime
    window: TimeRange
    summary: str
    impact: Impact
    timeline: tuple[TimelineEntry, ...]
    root_cause: CauseView | None
    contributing: tuple[CauseView, ...]
    symptoms: tuple[str, ...]
    actions: tuple[ActionRecord, ...]
    resolution: str
    follow_ups: tuple[FollowUp, ...]
    charts: tuple[Chart, ...]
    queries: tuple[QueryRecord, ...]
    models: tuple[ModelRecord, ...]
    known: KnownTruth | None = None
    notes: tuple[str, ...] = ()
    kind: Literal["postmortem"] = "postmortem"


@dataclass(frozen=True)
class ForecastItem:
    """One resource's forecast and time to its limit."""

    resource: str
    series: str
    promql: str
    limit: float
    unit: str
    last_value: float
    forecast_end: float
    lower_end: float
    upper_end: float
    level: float
    eta_s: float | None
    lower_s: float | None
    upper_s: float | None
    probability: float
    sentence: str
    recommendation: str
    severity: Literal["critical", "warning", "ok"]
    model: str
    chart_id: str | None = None


@dataclass(frozen=True)
class ForecastReport:
    title: str
    generated_at: datetime
    backend: str
    at: datetime
    history: TimeRange
    horizon_s: float
    items: tuple[ForecastItem, ...]
    charts: tuple[Chart, ...]
    queries: tuple[QueryRecord, ...]
    models: tuple[ModelRecord, ...]
    notes: tuple[str, ...] = ()
    kind: Literal["forecast"] = "forecast"


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    actor: str
    kind: str
    policy: str
    target: str
    action: str
    dry_run: bool
    outcome: str
    detail: tuple[tuple[str, str], ...] = ()
    hash: str = ""
    run_id: str = ""


@dataclass(frozen=True)
class RemediationReport:
    title: str
    generated_at: datetime
    source: str
    start: datetime | None
    end: datetime | None
    rows: tuple[AuditRow, ...]
    runs: tuple[ActionRecord, ...]
    outcomes: tuple[tuple[str, int], ...]
    chain: str  # e.g. "verified: 42 entries, chain intact" or "not checked"
    charts: tuple[Chart, ...] = ()
    queries: tuple[QueryRecord, ...] = ()
    models: tuple[ModelRecord, ...] = ()
    notes: tuple[str, ...] = ()
    kind: Literal["remediation"] = "remediation"


Report = Union[Postmortem, ForecastReport, RemediationReport]  # noqa: UP007 - a runtime alias on 3.10
