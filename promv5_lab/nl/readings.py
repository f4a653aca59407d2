"""How a question wants a value read, beyond which metric holds it: bits from bytes ("in bits per second"), a
Unix time as the time until or since it ("certificates expiring in the next 14 days", "backups older than a
day"), and the numbers of an enumerated state gauge ("ports that are down" on an SNMP interface's
operational status).

Phrases are cut out of the question before the metric is chosen (so "bits" does not pull a metric whose HELP
says "bits per second"); the plan fields are only set when the chosen metric can be read that way (bytes or
octets for bits, a Unix-time gauge for until/since). Generic conventions, never particular metric names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..types import Comparison
from ..units import (
    DATA_UNIT_WORDS,
    FREQUENCY_UNIT_WORDS,
    NAME_UNIT_WORDS,
    POWER_UNIT_WORDS,
    TIME_UNIT_WORDS,
    unit_word,
)
from .catalogue import MetricInfo, tokens

__all__ = ["Reading", "byte_size", "enum_states", "is_timestamp", "read_phrases", "unit_scale"]

_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                 "ten": 10, "fourteen": 14, "thirty": 30}
_UNIT_S = {"second": 1, "sec": 1, "minute": 60, "min": 60, "hour": 3600, "hr": 3600, "day": 86400, "week": 604800,
           "month": 2592000, "year": 31536000}
_NUM = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|ten|fourteen|thirty)"
_UNIT = r"(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|months?|years?)"

# "in bits per second", "in mbps", "as megabits": the scale from bytes
# (a bare "bit" must say "in bits" or "bits per second": "Fluent Bit" is a name, not a unit)
_BITS = re.compile(r"\b(?:in\s+|as\s+)?(?:(kilo|mega|giga|k|m|g)\s*bits?|(k|m|g)?bps|(k|m|g)?bit/s|"
                   r"(?<=in\s)bits\b|(?<=as\s)bits\b|bits?(?=\s+(?:per|a|/)\s*(?:second|sec|s)\b))"
                   r"(?:\s+(?:per|a|/)\s*(?:second|sec|s))?(?=\W|$)")
_PREFIX = {"": 1.0, "k": 1e-3, "kilo": 1e-3, "m": 1e-6, "mega": 1e-6, "g": 1e-9, "giga": 1e-9}

# "in GB", "in MiB", "in MB/s", "in minutes", "as ms": the unit the user wants the value shown in
_IN_UNIT = re.compile(r"\b(?:in|as|into)\s+(" + "|".join(sorted([*DATA_UNIT_WORDS, *TIME_UNIT_WORDS, *POWER_UNIT_WORDS,
                                                                  *FREQUENCY_UNIT_WORDS],
                                                                 key=len, reverse=True))
                      + r")(\s*/\s*s(?:ec)?|\s*ps|\s+(?:per|a)\s+(?:second|sec))?(?=\W|$)")
# the unit a metric is kept in: its name's unit word (units.NAME_UNIT_WORDS), else its HELP's "(MiB)" / "in ms"
_HELP_UNIT = re.compile(r"(?:[(\[]|\bin\s+)(bytes|kib|mib|gib|kb|mb|gb|milliseconds|ms|seconds|microseconds|nanoseconds|ns|"
                        r"watts|w|hz|khz|mhz|ghz)\b", re.IGNORECASE)

_EXPIRE = r"(?:expir\w*|run(?:s|ning)?\s+out|due|lapse\w*|end(?:s|ing)?)"
# "expiring in the next 14 days", "expires within a week", "expiring in less than 30 days"
_UNTIL_WITHIN = re.compile(_EXPIRE + r"\s+(?:with)?in\s+(?:the\s+)?(?:next\s+|less\s+than\s+|under\s+)?"
                           + _NUM + r"?\s*" + _UNIT + r"\b")
_UNTIL_SOON = re.compile(_EXPIRE + r"\s+soon\b|\b(?:about|going)\s+to\s+expire\b")
_UNTIL_HOW_LONG = re.compile(r"\b(?:how\s+long|how\s+much\s+time|time|days?|hours?)\s+(?:left\s+)?(?:until|till|before)\b"
                             r"|\bwhen\s+(?:does|do|will)\b.*\b" + _EXPIRE + r"|\b(?:time|days?)\s+(?:left|remaining)\b")
# "backups older than 2 days", "last success more than 1 hour ago", "how long since the last backup"
_SINCE_CMP = re.compile(r"\b(older\s+than|more\s+than|over|longer\s+than|at\s+least)\s+" + _NUM + r"?\s*" + _UNIT
                        + r"(?:\s+ago|\s+old)?\b")
_SINCE = re.compile(r"\b(?:how\s+long\s+(?:ago|since)|(?:time|seconds|minutes|hours|days)\s+since|since\s+the\s+last|"
                    r"age\s+of|how\s+old)\b")
# "peers that haven't done a handshake in over an hour": the last time is longer ago than the bound
_NOT_IN = re.compile(r"\b(?:haven't|hasn't|have\s+not|has\s+not|not|no)\b.*\bin\s+(?:over|more\s+than)\b")
# "as a percentage", "in percent" (not "as a percentage of the limit": that names the whole, not the scale)
_AS_PERCENT = re.compile(r"\b(?:as\s+(?:a\s+)?|in\s+)(?:percent(?:age)?|%)(?:s)?(?!\s+of\b)(?=\W|$)")
SOON_S = 30 * 86400.0  # "expiring soon": the usual warning bound for certificates


@dataclass(frozen=True)
class Reading:
    """What the phrases asked: a scale for bytes, a Unix-time reading and its bound; ``rest`` is the text left."""

    rest: str
    scale: float | None = None
    timestamp: str | None = None
    comparison: Comparison | None = None
    note: str = ""
    unit: tuple[str, float] | None = None  # ("data"|"time"|"power", size of the asked unit in bytes, s or W)
    percent: bool = False  # "as a percentage", "in percent": a share shown as 0-100


def _secs(num: str | None, unit: str) -> float:
    n = 1.0 if not num else float(_NUMBER_WORDS.get(num, 0) or num)
    u = unit.rstrip("s") if unit not in ("s",) else unit
    return n * _UNIT_S.get(u, _UNIT_S.get(u[:3], 1))


def read_phrases(question: str) -> Reading:
    """The value readings a question asks for, and the question without their phrases."""
    q = question
    scale = timestamp = None
    comparison = None
    note = ""
    m = _BITS.search(q.lower())
    if m:
        prefix = (m.group(1) or m.group(2) or m.group(3) or "").lower()
        scale = 8.0 * _PREFIX.get(prefix, 1.0)
        q = q[: m.start()] + " per second " + q[m.end():]
    unit = None
    if scale is None and (m := _IN_UNIT.search(q.lower())) is not None:
        unit = unit_word(m.group(1))
        if unit is not None and unit[0] == "data":  # the unit word speaks of bytes: keep it for choosing the metric
            q = q[: m.start()] + (" bytes per second " if m.group(2) else " bytes ") + q[m.end():]
        else:
            q = q[: m.start()] + " " + q[m.end():]
    low = q.lower()
    if (m := _UNTIL_WITHIN.search(low)) is not None:
        timestamp, comparison = "until", Comparison("<", _secs(m.group(1), m.group(2)))
        q = q[: m.start()] + " expiring " + q[m.end():]
    elif (m := _UNTIL_SOON.search(low)) is not None:
        timestamp, comparison = "until", Comparison("<", SOON_S)
        note = "'soon' read as within 30 days"
        q = q[: m.start()] + " expiring " + q[m.end():]
    elif (m := _UNTIL_HOW_LONG.search(low)) is not None:
        timestamp = "until"
        if not m.group(0).startswith("when"):  # "how long until": the words of the reading, not of a metric
            q = q[: m.start()] + " " + q[m.end():]
    elif (m := _SINCE_CMP.search(low)) is not None and (
            re.search(r"\b(?:last|latest|older|ago|old|since)\b", low) or _NOT_IN.search(low)):
        op = ">=" if m.group(1).startswith("at least") else ">"
        timestamp, comparison = "since", Comparison(op, _secs(m.group(2), m.group(3)))  # type: ignore[arg-type]
        q = q[: m.start()] + " " + q[m.end():]
    elif (m := _SINCE.search(low)) is not None:
        timestamp = "since"
        q = q[: m.start()] + " " + q[m.end():]
    percent = bool(_AS_PERCENT.search(q.lower()))
    return Reading(" ".join(q.split()), scale, timestamp, comparison=comparison, note=note, unit=unit, percent=percent)


def unit_scale(info: MetricInfo, unit: tuple[str, float]) -> float | None:
    """The factor that shows ``info``'s values in the asked ``unit`` (``("data", 1e9)``: GB), or None when the
    metric's own unit is not known or of another kind (no guessing: the answer then says so)."""
    kind, size = unit
    own = None
    for t in reversed(tokens(info.name)):
        if t in NAME_UNIT_WORDS:
            own = NAME_UNIT_WORDS[t]
            break
    if own is None and (m := _HELP_UNIT.search(info.help)) is not None:
        own = NAME_UNIT_WORDS.get(m.group(1).lower()) or unit_word(m.group(1))
    if own is None and kind == "data" and (set(tokens(info.name)) | set(tokens(info.help))) & _DATA_WORDS:
        own = ("data", 1.0)  # "persistent size", "memory used" with no unit: Prometheus' base unit, bytes
    if own is None or own[0] != kind:
        return None
    return own[1] / size


_DATA_WORDS = frozenset({"size", "memory", "mem", "heap", "space", "storage"})


_TIMESTAMP_TOKENS = frozenset({"timestamp", "expiry", "expiration", "expires", "after", "unixtime", "epoch"})


def is_timestamp(info: MetricInfo) -> bool:
    """A gauge whose value is a Unix time: its name or HELP says timestamp/epoch/unixtime/expiry."""
    if info.type not in ("gauge", "unknown"):
        return False
    name_t = set(tokens(info.name))
    if name_t & {"timestamp", "unixtime", "epoch"}:
        return True
    help_ = info.help.lower()
    if re.search(r"\b(?:unix\s*(?:epoch|time)|unixtime|epoch|timestamp)\b", help_):
        return True
    if name_t & {"last", "latest"} and tokens(info.name)[-1] == "seconds" and not name_t & _SPAN_TOKENS \
            and not re.search(r"\b(?:duration|took|how\s+long|elapsed)\b", help_):
        return True  # x_latest_handshake_seconds: when the last one happened (a span would say duration/took)
    return bool(name_t & _TIMESTAMP_TOKENS) and not name_t & {"total", "count", "bytes"}


_SPAN_TOKENS = frozenset({"duration", "latency", "time", "age", "uptime", "elapsed", "took", "total", "count", "sum"})


def byte_size(info: MetricInfo) -> float | None:
    """Bytes in one unit of a metric of bytes or octets (``x_octets``, ``x_resp_bodybytes``: 1; ``x_kbytes``:
    1024), None for other metrics."""
    for t in reversed(tokens(info.name)):
        own = NAME_UNIT_WORDS.get(t)
        if own is not None and own[0] == "data":
            return own[1]
        if t.endswith(("bytes", "octets")):
            return 1.0
        if NAME_UNIT_WORDS.get(t) is not None:
            return None  # a name that gives another unit (``x_seconds``): not bytes whatever HELP says
    m = _HELP_UNIT.search(info.help)  # "Total bandwidth in bytes", "memory.used [MiB]": the unit HELP gives
    own = NAME_UNIT_WORDS.get(m.group(1).lower()) or unit_word(m.group(1)) if m else None
    return own[1] if own is not None and own[0] == "data" else None


def is_byte_counter(info: MetricInfo) -> bool:
    """A metric of bytes or octets (a transfer counter or a byte rate): it can be read in bits."""
    return byte_size(info) is not None


# IF-MIB's interface OperStatus/AdminStatus (RFC 2863): the numbers of the states SNMP exporters export as is
_IF_MIB = {"up": 1, "down": 2, "testing": 3, "unknown": 4, "dormant": 5, "notpresent": 6, "lowerlayerdown": 7}
_ENUM_IN_HELP = re.compile(r"\b([A-Za-z][A-Za-z-]*)\s*\(\s*(\d+)\s*\)")
_NUMBERED_IN_HELP = re.compile(r"(?<![\w.])(\d+)\s*[=:]\s*([A-Za-z][A-Za-z-]*)")  # "0=unknown, 1=healthy"
_OID = re.compile(r"\b1\.3\.6\.1(?:\.\d+)+\b")


def enum_states(info: MetricInfo) -> dict[str, int]:
    """State word -> number for an enumerated gauge: from its HELP ("up(1), down(2)", "1=healthy, 2=degraded") or, for an SNMP
    interface's operational status (an OID in HELP, ``...OperStatus``), IF-MIB's numbering. (AdminStatus
    shares the numbers but says what was configured: "which ports are down" asks the operational state.)"""
    if info.type not in ("gauge", "unknown"):
        return {}
    found = {w.lower().replace("-", ""): int(n) for w, n in _ENUM_IN_HELP.findall(info.help)}
    if len(found) >= 2:
        return found
    found = {w.lower().replace("-", ""): int(n) for n, w in _NUMBERED_IN_HELP.findall(info.help)}
    if len(found) >= 2:  # "State of this volume: 1=creating, 2=attached, 3=detached"
        return found
    if _OID.search(info.help) and re.search(r"OperStatus$", info.name):
        return dict(_IF_MIB)
    return {}
