"""Frozen value types that cross layers. Later issues add QueryPlan, Anomaly, Forecast, Finding..."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Literal

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

MetricType = Literal["counter", "gauge", "histogram", "summary", "gaugehistogram", "stateset", "info", "unknown"]
ResultType = Literal["matrix", "vector", "scalar", "string"]


def as_utc(t: datetime | float | int | str) -> datetime:
    """Turn a datetime (naive = UTC), a Unix timestamp or an ISO 8601 string into an aware UTC datetime."""
    if isinstance(t, datetime):
        return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
    if isinstance(t, (int, float)):
        if not math.isfinite(t):
            raise InputError(f"Timestamp {t!r} is not a finite number", hint="Pass Unix seconds or ISO 8601")
        return datetime.fromtimestamp(float(t), tz=timezone.utc)
    if isinstance(t, str):
        s = t.strip()
        if s.lower() == "now":
            return datetime.now(timezone.utc)
        try:
            return as_utc(float(s))
        except ValueError:
            pass
        try:
            return as_utc(datetime.fromisoformat(s.replace("Z", "+00:00")))
        except ValueError as exc:
            raise InputError(
                f"Cannot read time {t!r}",
                hint="Use ISO 8601 (2026-11-27T14:00:00Z), Unix seconds, or 'now'",
            ) from exc
    raise InputError(f"Cannot use {type(t).__name__} as a time", hint="Pass a datetime, Unix seconds or ISO 8601")


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def parse_duration(text: str | float | int | timedelta) -> float:
    """Parse a Prometheus-style duration ("30s", "1h30m", "250ms") or seconds into seconds (> 0)."""
    if isinstance(text, timedelta):
        secs = text.total_seconds()
    elif isinstance(text, (int, float)):
        secs = float(text)
    else:
        s = str(text).strip().lower()
        secs, i = 0.0, 0
        if not s:
            raise InputError("Empty duration", hint="Write durations like 30s, 5m, 1h30m, 7d")
        try:
            secs = float(s)
            i = len(s)
        except ValueError:
            while i < len(s):
                j = i
                while j < len(s) and (s[j].isdigit() or s[j] == "."):
                    j += 1
                k = j
                while k < len(s) and s[k].isalpha():
                    k += 1
                num, unit = s[i:j], s[j:k]
                if not num or unit not in _UNITS:
                    raise InputError(
                        f"Cannot read duration {text!r}",
                        hint="Write durations like 30s, 5m, 1h30m, 250ms, 7d (units: ms s m h d w y)",
                    ) from None
                secs += float(num) * _UNITS[unit]
                i = k
    if not math.isfinite(secs) or secs <= 0:
        raise InputError(f"Duration {text!r} must be positive", hint="Write durations like 30s, 5m, 1h")
    return secs


@dataclass(frozen=True)
class TimeRange:
    """A closed UTC time range with a resolution step in seconds."""

    start: datetime
    end: datetime
    step_s: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))
        if self.end < self.start:
            raise InputError(
                f"Time range ends ({self.end.isoformat()}) before it starts ({self.start.isoformat()})",
                hint="Swap start and end",
            )
        if not (self.step_s > 0 and math.isfinite(self.step_s)):
            raise InputError(f"Step must be a positive number of seconds, got {self.step_s!r}")

    @classmethod
    def last(cls, duration: str | float, *, step: str | float | None = None, end: datetime | None = None) -> TimeRange:
        """The last ``duration`` up to ``end`` (default now); step defaults to ~240 points."""
        secs = parse_duration(duration)
        stop = as_utc(end) if end is not None else datetime.now(timezone.utc)
        step_s = parse_duration(step) if step is not None else max(1.0, round(secs / 240))
        return cls(stop - timedelta(seconds=secs), stop, step_s)

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def points(self) -> int:
        """How many points a range query over this range returns per series."""
        return int(self.seconds // self.step_s) + 1


@dataclass(frozen=True)
class Provenance:
    """How a result was obtained, so a person can re-run it by hand."""

    promql: str
    backend: str
    kind: Literal["instant", "range"]
    time: datetime | None = None
    range: TimeRange | None = None

    def describe(self) -> str:
        if self.kind == "range" and self.range is not None:
            r = self.range
            return (
                f"{self.promql}  [range {r.start.isoformat()} .. {r.end.isoformat()} step {r.step_s:g}s"
                f" on {self.backend}]"
            )
        at = self.time.isoformat() if self.time else "now"
        return f"{self.promql}  [instant at {at} on {self.backend}]"


@dataclass(frozen=True)
class QueryResult:
    """A tidy frame (see :mod:`promv5_lab.frames`) plus where it came from."""

    frame: pd.DataFrame
    result_type: ResultType
    provenance: Provenance
    warnings: tuple[str, ...] = ()

    @property
    def series_count(self) -> int:
        from .frames import label_columns

        labels = label_columns(self.frame)
        if self.frame.empty:
            return 0
        if not labels:
            return 1
        return int(self.frame[labels].drop_duplicates().shape[0])


@dataclass(frozen=True)
class MetricMetadata:
    """TYPE/HELP/UNIT of one metric family."""

    name: str
    type: MetricType = "unknown"
    help: str = ""
    unit: str = ""


@dataclass(frozen=True)
class Target:
    """One scrape target as the backend sees it."""

    scrape_url: str
    health: str
    labels: dict[str, str] = field(default_factory=dict)
    last_error: str = ""


@dataclass(frozen=True)
class AlertInfo:
    """An alert from the backend's rule evaluation."""

    name: str
    state: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    active_at: datetime | None = None
    value: float | None = None


@dataclass(frozen=True)
class RuleInfo:
    """An alerting or recording rule loaded in the backend."""

    name: str
    kind: Literal["alerting", "recording"]
    query: str
    group: str
    health: str = "unknown"
    labels: dict[str, str] = field(default_factory=dict)


# ---- the plan that crosses from nl/ to backends/ ----------------------------------------------------------

MatchOp = Literal["=", "!=", "=~", "!~"]
CompareOp = Literal[">", ">=", "<", "<=", "==", "!="]
Transform = Literal["value", "rate", "increase", "quantile", "mean"]
AggOp = Literal["sum", "avg", "max", "min", "count"]


@dataclass(frozen=True)
class LabelMatcher:
    """One label matcher, e.g. ``service="checkout"`` or ``code=~"5.."``."""

    label: str
    op: MatchOp = "="
    value: str = ""


@dataclass(frozen=True)
class Comparison:
    """A filter on the result, e.g. ``> 0.8`` for "is it above 80%"."""

    op: CompareOp
    value: float


@dataclass(frozen=True)
class Ratio:
    """Divide the plan's value by another selection (error ratio, used/size...).

    The numerator is the plan's metric with its matchers plus ``numerator_matchers``; the denominator is
    ``denominator_metric`` (default: the same metric) with the plan's matchers plus ``denominator_matchers``.
    ``complement`` gives ``1 - num/den`` (free/size -> used fraction). ``denominator_plus`` names a metric
    whose value is added to the numerator's to make the denominator (hits / (hits + misses)).
    """

    numerator_matchers: tuple[LabelMatcher, ...] = ()
    denominator_metric: str | None = None
    denominator_matchers: tuple[LabelMatcher, ...] = ()
    complement: bool = False
    denominator_plus: str | None = None


@dataclass(frozen=True)
class QueryPlan:
    """What to ask the backend, independent of PromQL syntax (``nl.render.render`` turns it into PromQL).

    ``metric`` is the stored series name (``http_requests_total``), or the family name of a histogram
    (``http_request_duration_seconds``; ``_bucket``/``_sum``/``_count`` are added when rendering).
    ``kind`` says whether to run an instant query at ``time`` or a range query over ``range``.
    ``timestamp`` reads the value as a Unix time: ``"until"`` gives the seconds from now until it
    (``x - time()``: a certificate's expiry), ``"since"`` the seconds since it (``time() - x``: a last success).
    ``scale`` multiplies the value (8 turns bytes per second into bits per second).
    """

    metric: str
    metric_type: MetricType = "unknown"
    transform: Transform = "value"
    matchers: tuple[LabelMatcher, ...] = ()
    window_s: float = 300.0
    aggregation: AggOp | None = None
    by: tuple[str, ...] = ()
    quantile: float | None = None
    ratio: Ratio | None = None
    topk: int | None = None
    bottomk: int | None = None
    comparison: Comparison | None = None
    offset_s: float | None = None
    compare_offset_s: float | None = None
    timestamp: Literal["until", "since"] | None = None
    scale: float = 1.0
    kind: Literal["instant", "range"] = "instant"
    time: datetime | None = None
    range: TimeRange | None = None
    question: str = ""
    confidence: float = 1.0
    alternatives: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not (0.0 <= self.confidence <= 1.0):
            raise InputError(f"confidence must be in [0, 1], got {self.confidence!r}")
        if self.quantile is not None and not (0.0 <= self.quantile <= 1.0):
            raise InputError(f"quantile must be in [0, 1], got {self.quantile!r}", hint="p99 is 0.99")
        if self.kind == "range" and self.range is None:
            raise InputError("A range plan needs a time range")
        if not (self.window_s > 0 and math.isfinite(self.window_s)):
            raise InputError(f"window must be a positive number of seconds, got {self.window_s!r}")
        if not (self.scale > 0 and math.isfinite(self.scale)):
            raise InputError(f"scale must be a positive finite number, got {self.scale!r}", hint="bits = bytes * 8")
        if self.timestamp not in (None, "until", "since"):
            raise InputError(f"timestamp must be 'until', 'since' or None, got {self.timestamp!r}")


@dataclass(frozen=True)
class Clarification:
    """The planner's answer when it should not guess: what is unclear and the closest real candidates."""

    question: str
    message: str
    candidates: tuple[str, ...] = ()
    reason: Literal["ambiguous", "unknown"] = "unknown"


# --- Diagnosis: what the root-cause work returns, what remediation triggers on and reports print -----------

CauseKind = Literal["deploy", "resource_exhaustion", "dependency_failure", "traffic", "unknown"]
EvidenceKind = Literal["query", "anomaly", "log_template", "trace", "event", "alert", "dependency"]


@dataclass(frozen=True)
class Evidence:
    """One fact behind a candidate cause, re-derivable by hand.

    ``promql`` (with ``start``/``end``) for metric evidence, ``detail`` for a log template with its counts,
    exemplar trace ids, an event; ``weight`` is its contribution to the candidate's score.
    """

    kind: EvidenceKind
    summary: str
    promql: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    detail: tuple[tuple[str, str], ...] = ()
    weight: float = 0.0


@dataclass(frozen=True)
class RootCause:
    """A ranked candidate: which service, what kind of cause, how sure, and the evidence."""

    service: str
    kind: CauseKind
    confidence: float
    evidence: tuple[Evidence, ...] = ()
    summary: str = ""

    def __post_init__(self) -> None:
        if not (0.0 <= self.confidence <= 1.0):
            raise InputError(f"confidence must be in [0, 1], got {self.confidence!r}")


@dataclass(frozen=True)
class TimelineEvent:
    """Something that happened at ``at``: an anomaly onset, an alert, a deploy, a log surge, an action."""

    at: datetime
    kind: str
    service: str | None
    summary: str


@dataclass(frozen=True)
class Diagnosis:
    """The answer to "why?" at a time: ranked root causes (best first), the timeline, and symptoms."""

    at: datetime
    window: TimeRange
    root_causes: tuple[RootCause, ...]
    timeline: tuple[TimelineEvent, ...] = ()
    symptoms: tuple[str, ...] = ()
    backend: str = ""
    elapsed_s: float = 0.0

    @property
    def top(self) -> RootCause | None:
        return self.root_causes[0] if self.root_causes else None
