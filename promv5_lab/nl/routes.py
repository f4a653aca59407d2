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
    r"\bwhat(?:'?s| is| was) (?:wrong|causing|going on|the (?:problem|issue|matter))\b|\bdiagnos\w*|"
    r"\btroubleshoot\w*|\binvestigat\w*|\bdebug\b|\b(?:find|show|what(?:'?s| is| was)) (?:me )?(?:the )?causes?\b|"
    r"\bexplain\b.*\b(?:spikes?|drops?|dips?|jumps?|surges?|errors?|failures?|latency|slow\w*|outages?|incidents?|"
    r"alerts?|increase|decrease)\b")
_FULL = r"(?:full|fill(?:s|ed)?(?:\s+up)?|exhausted|run\s+out|out of \w+(?: \w+)?)"
_CAPACITY = re.compile(
    r"\b(?:fill(?:s|ing|ed)?\s+up|run(?:s|ning)?\s+out(?:\s+of)?|exhaust\w*|(?:be(?:come)?|get|gets|go)\s+full|"
    r"(?:hit|reach)(?:es)?\s+(?:the\s+|its\s+|their\s+|our\s+)?(?:[\w-]+\s+){0,2}(?:limit|max(?:imum)?|ceiling|capacity)\b|"
    r"time\s+(?:to|until|till|before)\s+(?:[\w/-]+\s+){0,4}(?:full|exhaust\w*|the limit)\b|"
    r"how\s+(?:long|much\s+time|many\s+(?:days|hours|minutes|weeks)|soon)\b.*\b" + _FULL + r"|"
    r"(?:days|hours|time)\s+(?:left|remaining)\s+(?:before|until|till)\b|"
    r"\bwhen\b.*\b(?:is|are|will|does|do|gets?)\b.*\b" + _FULL + r"\b)"
)
_FUTURE = (r"(?:tomorrow|next\s+(?:\w+\s+)?(?:minutes?|hours?|days?|weeks?|months?)|coming\s+(?:\w+\s+)?"
           r"(?:hours?|days?|weeks?)|in\s+(?:an?|one|two|three|\d+)\s+(?:minutes?|hours?|days?|weeks?)|"
           r"next\s+week|later\s+today|tonight)")
_FORECAST = re.compile(
    r"\b(?:forecast\w*|predict\w*|projections?|projected|extrapolat\w*|expected\s+to\s+be|outlook|"
    r"(?:what|where|how\s+\w+)\s+will\b.*\bbe\b|what\s+(?:will|would)\b.*\blook\s+like|"
    r"(?:will|expected|estimated?|estimates?|project|trend)\b.*\b" + _FUTURE + r"|"
    r"(?:estimate|expected|project)\b.*\b" + _FUTURE + r"|" + _FUTURE + r"(?:'s)?\s+(?:\w+\s+){0,3}"
    r"(?:will|estimate|expected|forecast))")
_ANOMALY = re.compile(
    r"\b(?:anomal\w*|unusual|abnormal\w*|odd|weird|strange|outliers?|out of the ordinary|suspicious|"
    r"(?:anything|something)\s+(?:wrong|off|broken|amiss)|spik(?:e|es|ed|ing|y)|acting\s+up|misbehav\w*|"
    r"behaving\s+(?:normally|oddly|strangely|badly)|look(?:s|ing)?\s+(?:off|wrong|odd|weird|strange|normal|ok)|"
    r"(?:is|are|was|does)\b.*\bnormal(?:ly)?)\b")

# words that say which analysis, not which series: removed before planning the series
_ROUTE_WORDS = re.compile(
    r"\b(?:will|would|when|does|do|is|are|going to|expected to|likely to|be|the|our|my|of|on|for|in|about|"
    r"fill(?:s|ing|ed)?\s+up|run(?:s|ning)?\s+out(?:\s+of)?|exhaust\w*|full|hit|reach(?:es)?|limit|max(?:imum)?|"
    r"ceiling|capacity|forecast\w*|predict\w*|projections?|projected|extrapolat\w*|anomal\w*|unusual|abnormal\w*|"
    r"odd|weird|strange|outliers?|suspicious|out of the ordinary|wrong|off|amiss|anything|something|there|"
    r"happening|any|show me|find|detect|look like|what|how long until|how long before|time (?:to|until|till)|until|till|"
    r"how (?:much time|many (?:days|hours|minutes|weeks)|soon|much|many)|(?:days|hours|time) (?:left|remaining)|"
    r"at this rate|with|going|has|have|had|changed|looks?|looking|get|gets|we|us|it|its|their|"
    r"spik(?:e|es|ed|ing|y)|acting up|misbehav\w*|behaving|behaviou?r|normal(?:ly)?|ok|estimate[sd]?|expected|"
    r"outlook|project|trend|where|fill|fills|did|doing|scan|look for|check|right now|currently|now|how|go|"
    r"abnormally|oddly|strangely|badly)\b")


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
    """The question without routing words: what is left names the series (and the time, for a scan)."""
    return " ".join(re.sub(r"(?<![\w'])'s\b", " ", _ROUTE_WORDS.sub(" ", q)).split())


def classify(question: str) -> Route:
    """The route of ``question`` (``query`` when no analysis is asked for)."""
    q = " " + " ".join(str(question).lower().replace("?", " ").split()) + " "
    if _DIAGNOSIS.search(q):
        return Route("diagnosis", question.strip())
    if _CAPACITY.search(q):
        horizon, rest = _horizon(q.replace(" how soon ", " how "))  # "how soon" asks when, it names no horizon
        core = _strip(re.sub(r"\bbefore\b", " ", rest))
        # "fill up"/"run out" are about how used a resource is: plan its usage (used / capacity)
        return Route("capacity", f"{core} usage".strip(), horizon or 7 * 86400.0, horizon is not None)
    if _FORECAST.search(q):
        horizon, rest = _horizon(q)
        return Route("forecast", _strip(rest), horizon or 86400.0, horizon is not None)
    if _ANOMALY.search(q):
        return Route("anomalies", _strip(q))
    return Route("query", question)
