"""Which kind of answer a question wants: a query, an anomaly scan, a forecast, a capacity estimate, or a
diagnosis. Pure text rules (no catalogue, no backend), so they are cheap and testable in a table.

    classify("anything unusual in the last hour?")        -> Route("anomalies", "anything in the last hour")
    classify("will the disk fill up this week?")          -> Route("capacity", "disk usage", horizon 7 d)
    classify("when will checkout run out of DB connections?") -> Route("capacity", "checkout DB connections usage")
    classify("forecast requests per second for the next day") -> Route("forecast", "requests per second", 1 d)
    classify("why is checkout slow?")                     -> Route("diagnosis", ...)

``Route.question`` is the question without the routing words, ready for the offline planner to pick the
series the analysis runs on (the planner then does what it does for any question, grounded in the catalogue).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .timeexpr import UNIT_SECONDS

__all__ = ["Route", "RouteKind", "classify"]

RouteKind = Literal["query", "anomalies", "forecast", "capacity", "diagnosis"]

_NUMS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
         "ten": 10, "few": 3, "couple of": 2}
_N = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|ten|few|couple of)"
_U = r"(minutes?|mins?|hours?|hrs?|h|days?|d|weeks?|w|months?)"

_DIAGNOSIS = re.compile(
    r"\bwhy\b|\broot[\s-]?cause|\bwhat (?:changed|happened|broke|caused|went wrong)\b|"
    r"\bwhat(?:'s| is) (?:wrong|causing|going on)\b|\bdiagnos\w*")
_CAPACITY = re.compile(
    r"\b(?:fill(?:s|ing|ed)?\s+up|run(?:s|ning)?\s+out(?:\s+of)?|exhaust\w*|(?:be(?:come)?|get|gets|go)\s+full|"
    r"(?:hit|reach)(?:es)?\s+(?:the\s+|its\s+)?(?:limit|max(?:imum)?|ceiling|capacity)|"
    r"time\s+(?:to|until|till)\s+(?:full|exhaustion|the limit)|how\s+long\s+(?:until|before|till)\b.*\b(?:full|out|limit))"
)
_FORECAST = re.compile(
    r"\b(?:forecast\w*|predict\w*|projections?|projected|extrapolat\w*|expected\s+to\s+be|"
    r"what\s+will\b.*\bbe\b|what\s+(?:will|would)\s+(?:it|this|that)\s+look\s+like)")
_ANOMALY = re.compile(
    r"\b(?:anomal\w*|unusual|abnormal\w*|odd|weird|strange|outliers?|out of the ordinary|suspicious|"
    r"(?:anything|something)\s+(?:wrong|off|broken|amiss))\b")

# words that say which analysis, not which series: removed before planning the series
_ROUTE_WORDS = re.compile(
    r"\b(?:will|would|when|does|do|is|are|going to|expected to|likely to|be|the|our|my|of|on|for|in|about|"
    r"fill(?:s|ing|ed)?\s+up|run(?:s|ning)?\s+out(?:\s+of)?|exhaust\w*|full|hit|reach(?:es)?|limit|max(?:imum)?|"
    r"ceiling|capacity|forecast\w*|predict\w*|projections?|projected|extrapolat\w*|anomal\w*|unusual|abnormal\w*|"
    r"odd|weird|strange|outliers?|suspicious|out of the ordinary|wrong|off|amiss|anything|something|there|"
    r"happening|any|show me|find|detect|look like|what|how long until|how long before|time to|until|till)\b")


@dataclass(frozen=True)
class Route:
    """Which analysis, the question for the series it runs on, and the horizon named (seconds) if any."""

    kind: RouteKind
    question: str
    horizon_s: float | None = None
    horizon_named: bool = False


def _horizon(q: str) -> tuple[float | None, str]:
    """A look-ahead ("this week", "next 3 days", "tomorrow", "by friday") and the question without it."""
    pats = (
        (r"\b(?:in|over|within|during|for)?\s*(?:the\s+)?(?:next|coming|following)\s+(?:" + _N + r"\s+)?" + _U + r"\b",
         None),
        (r"\b(?:in|within)\s+" + _N + r"\s+" + _U + r"\b", None),
        (r"\b(?:this|the)\s+week(?:end)?\b", 7 * 86400.0),
        (r"\b(?:this|the)\s+month\b", 30 * 86400.0),
        (r"\b(?:by\s+)?tomorrow\b", 2 * 86400.0),
        (r"\b(?:by\s+(?:the\s+end\s+of\s+)?)?today\b|\btonight\b", 86400.0),
        (r"\bsoon\b", 86400.0),
    )
    for pat, fixed in pats:
        m = re.search(pat, q)
        if not m:
            continue
        if fixed is None:
            n = m.group(1)
            unit = m.group(2).rstrip("s") if m.group(2) not in ("h", "d", "w", "hrs") else m.group(2)
            unit = {"hr": "hour", "hrs": "hour", "min": "minute", "mins": "minute"}.get(unit, unit)
            num = float(_NUMS.get(n, n)) if n else 1.0
            secs = num * float(UNIT_SECONDS.get(unit, UNIT_SECONDS.get(unit + "s", 86400)))
        else:
            secs = fixed
        return secs, (q[: m.start()] + " " + q[m.end():])
    return None, q


def _strip(q: str) -> str:
    return " ".join(_ROUTE_WORDS.sub(" ", q).split())


def classify(question: str) -> Route:
    """The route of ``question`` (``query`` when no analysis is asked for)."""
    q = " " + " ".join(str(question).lower().replace("?", " ").split()) + " "
    if _DIAGNOSIS.search(q):
        return Route("diagnosis", question.strip())
    if _CAPACITY.search(q):
        horizon, rest = _horizon(q)
        core = _strip(_CAPACITY.sub(" ", rest))
        # "fill up"/"run out" are about how used a resource is: plan its usage (used / capacity)
        return Route("capacity", f"{core} usage".strip(), horizon or 7 * 86400.0, horizon is not None)
    if _FORECAST.search(q):
        horizon, rest = _horizon(q)
        return Route("forecast", _strip(rest), horizon or 86400.0, horizon is not None)
    if _ANOMALY.search(q):
        return Route("anomalies", _strip(_ANOMALY.sub(" ", q)))
    return Route("query", question)
