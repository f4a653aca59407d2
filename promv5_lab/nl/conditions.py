"""Conditions a question puts on a gauge, read from what the exporter's TYPE and HELP say the gauge holds: a gauge
that only goes up (asked "per second": its rate), a 0/1 gauge of a condition ("1 if enabled", "0 is unreachable",
"whether a collector succeeded": "disabled", "can't reach", "did any fail" select 0), and an enumerated state
asked in the negative ("databases not online" on "0=online 1=restoring": != 0; "pools that are not healthy" on
"[0: ONLINE, 1: DEGRADED]": != the healthy state). Generic conventions, never particular metric names."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ..types import Comparison
from .catalogue import MetricInfo, tokens

if TYPE_CHECKING:  # pragma: no cover
    from .planner import Intent

__all__ = ["boolean_gauge", "denied", "enum_test", "idle_test", "rate_of_gauge"]

# a gauge kept as a rate already: its name says so (x_per_second, x_rate, x_qps); HELP alone does not (Windows
# performance counters say "/sec" of a value that only goes up)
_RATE_NAME = frozenset({"rate", "persec", "ps", "rps", "qps", "tps", "throughput", "speed", "velocity"})
_NON_RATE = frozenset({"ratio", "percent", "percentage", "pct", "utilization", "utilisation", "fraction",
                       "temperature", "celsius", "info", "timestamp", "up", "status", "state", "health"})


def rate_of_gauge(it: Intent, info: MetricInfo) -> bool:
    """ "per second" asked in so many words of a gauge that is not itself a rate, a share or a state: the gauge
    counts events (``x_messages_added`` "since it was created", ``x_timeout_count`` "ever"), so its rate is meant."""
    if info.type not in ("gauge", "unknown") or not it.per_second or it.ongoing:
        return False
    name_t = tokens(info.name)
    if set(name_t) & (_RATE_NAME | _NON_RATE) or "per" in name_t and "second" in name_t:
        return False
    return not re.search(r"\b(?:currently|current|at\s+the\s+moment|right\s+now)\b", info.help, re.IGNORECASE)


# HELP of a 0/1 gauge: "1 if the target is up", "whether a collector succeeded", "0 is unreachable",
# "This represent if PiHole is enabled"
_BOOLEAN_HELP = re.compile(r"^\s*(?:whether|if)\b|\b(?:whether|represents?\s+if|set\s+to\s+1\s+if)\b|"
                           r"(?:^|[,;:(\[]\s*)[01]\s*(?:=|is|if|means|when)\s+[a-z]", re.IGNORECASE)
_AMOUNT_HELP = re.compile(r"^\s*(?:the\s+)?(?:number|count|total|amount|size)\b", re.IGNORECASE)


def boolean_gauge(info: MetricInfo) -> bool:
    """A gauge that is 1 while a condition holds and 0 otherwise, as its HELP says (not an enumerated state)."""
    if info.type not in ("gauge", "unknown") or set(tokens(info.name)) & {"bytes", "seconds", "total", "count"}:
        return False
    from .readings import enum_states

    return bool(_BOOLEAN_HELP.search(info.help)) and not _AMOUNT_HELP.search(info.help) and len(enum_states(info)) < 3


# "can't reach etcd", "did any collector fail", "is any pihole disabled": the condition does not hold
_DENIED = re.compile(r"\b(?:can't|cannot|can\s+not|couldn't|unable\s+to|fail|fails|failed|failing|disabled|"
                     r"isn't|aren't|not|no\s+longer)\b")


def denied(it: Intent) -> bool:
    """The question asks where a 0/1 condition does not hold."""
    return bool(_DENIED.search(it.time.rest.lower()))


_GOOD_STATES = ("healthy", "online", "ok", "up", "running", "normal", "nominal", "active", "ready", "enabled",
                "succeeded", "success", "good", "green")
_NEGATED = r"\b(?:not|isn't|aren't|wasn't|weren't|never|no\s+longer)\s+(?:yet\s+|been\s+|currently\s+|fully\s+)?"


def enum_test(it: Intent, states: dict[str, int]) -> Comparison | None:
    """The comparison an enumerated state gauge gets: a named state in the negative ("not online": != 0), or
    health asked of a gauge whose states include a good one ("not healthy", "unhealthy": != the good state)."""
    if len(states) < 2:
        return None
    text = it.time.rest.lower()
    for w in dict.fromkeys(it.words):
        if w in states and re.search(_NEGATED + re.escape(w) + r"\b", text):
            return Comparison("!=", float(states[w]))
    good = next((s for s in _GOOD_STATES if s in states), None)
    if good is None or any(w in states for w in it.words):
        return None
    if re.search(_NEGATED + r"(?:healthy|ok|okay|fine|good)\b|\b(?:unhealthy|degraded|broken|bad)\b", text):
        return Comparison("!=", float(states[good]))
    if re.search(r"\b(?:healthy|ok|okay)\b", text):
        return Comparison("==", float(states[good]))
    return None


_BUSY_NAME = frozenset({"utilization", "utilisation", "busy", "usage", "load", "activity"})


def idle_test(it: Intent, info: MetricInfo) -> Comparison | None:
    """ "which gpus are sitting idle" of a utilization gauge: the series at 0 (nothing in use)."""
    if not {"idle", "unused"} & set(it.words) or info.type not in ("gauge", "unknown"):
        return None
    if any(w == "idle" for vals in info.values.values() for w in (v.lower() for v in vals)):
        return None  # a state label holds "idle": that value selects it
    return Comparison("==", 0.0) if set(tokens(info.name)) & _BUSY_NAME else None
