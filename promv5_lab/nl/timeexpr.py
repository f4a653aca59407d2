"""Time phrases in a question -> when to evaluate, relative to an injectable ``now`` (UTC).

"last 10 minutes", "past hour", "today", "yesterday", "since 14:00", "between 2 and 3 am", "at 3pm",
"an hour ago", "compared to last week" (a comparison offset). The matched text is removed from the
question so that the rest of the planner does not read "2" or "hour" as a label value or a metric word.
Times of day are on the user's wall clock (``tz``, an IANA zone name; UTC by default).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from ..errors import InputError
from ..types import as_utc

__all__ = ["UNIT_SECONDS", "TimeSpec", "parse_time", "zone"]

UNIT_SECONDS = {
    "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
    "month": 2592000, "months": 2592000,
}
_NUMS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "couple of": 2, "few": 3, "24": 24}
_UNIT = r"(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?|w|wks?|weeks?|months?)"
_NUM = r"(\d+(?:\.\d+)?|a|an|one|two|three|four|five|six|seven|eight|nine|ten|fifteen|twenty|thirty|couple of|few)"
_CLOCK = r"(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?"


@dataclass(frozen=True)
class TimeSpec:
    """What the time phrases asked for. ``window_s`` is the length of a range (for 'how many in the last...')."""

    kind: str = "instant"  # instant | range
    start: datetime | None = None
    end: datetime | None = None
    at: datetime | None = None
    window_s: float | None = None
    compare_offset_s: float | None = None
    explicit: bool = False
    rest: str = ""


def _num(text: str) -> float:
    text = text.strip().lower()
    return float(_NUMS[text]) if text in _NUMS else float(text)


def _clock(now: datetime, hh: str, mm: str | None, ampm: str | None, default_ampm: str | None = None) -> datetime:
    h = int(hh)
    m = int(mm) if mm else 0
    ap = (ampm or default_ampm or "").replace(".", "")
    if ap == "pm" and h < 12:
        h += 12
    if ap == "am" and h == 12:
        h = 0
    h = min(h, 23)
    m = min(m, 59)
    t = now.replace(hour=h, minute=m, second=0, microsecond=0)
    if t > now:  # "since 14:00" said at 10:00 means yesterday's 14:00
        t -= timedelta(days=1)
    return t


def zone(tz: str | tzinfo | None) -> tzinfo:
    """An IANA zone name (or a tzinfo, or None for UTC) as a tzinfo; a bad name is an InputError."""
    if tz is None or tz == "" or tz == "UTC":
        return timezone.utc
    if isinstance(tz, tzinfo):
        return tz
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InputError(f"Unknown time zone {tz!r}",
                         hint="Use an IANA zone name such as UTC, Europe/Paris or America/New_York") from exc


def parse_time(question: str, now: datetime, tz: str | tzinfo | None = None) -> TimeSpec:
    """Read time phrases out of ``question``; ``rest`` is the question without them.

    Times of day ("since 14:00", "between 2 and 3 am", "yesterday", "today") are read on the wall clock of
    ``tz`` (an IANA name, default UTC); every datetime in the returned spec is UTC.
    """
    q = " " + question.lower() + " "
    compare: float | None = None
    now = as_utc(now).astimezone(zone(tz))  # wall-clock arithmetic below happens in the user's zone

    def cut(m: re.Match[str]) -> None:
        nonlocal q
        q = q[: m.start()] + " " + q[m.end():]

    m = re.search(r"\b(?:compared? (?:to|with)|vs\.?|versus|than|relative to|against)\s+(?:the\s+)?(?:same time\s+)?"
                  r"(?:(last|previous|yesterday)\s*(week|day|hour)?|" + _NUM + r"\s+" + _UNIT + r"\s+(?:ago|before|earlier))",
                  q)
    if m:
        if m.group(1):
            unit = "day" if m.group(1) == "yesterday" else (m.group(2) or "day")
            compare = float(UNIT_SECONDS[unit])
        else:
            compare = _num(m.group(3)) * UNIT_SECONDS[m.group(4)]
        cut(m)
    elif (m := re.search(r"\b(?:and\s+)?compare(?:d)? (?:it\s+|this\s+)?with yesterday\b", q)):
        compare = 86400.0
        cut(m)

    def done(**kw: object) -> TimeSpec:
        for k in ("start", "end", "at"):
            if isinstance(kw.get(k), datetime):
                kw[k] = kw[k].astimezone(timezone.utc)  # type: ignore[union-attr]
        if isinstance(kw.get("start"), datetime) and isinstance(kw.get("end"), datetime):
            # measured in UTC, so a range across a DST change has its true length (23 h or 25 h "yesterday")
            kw["window_s"] = (kw["end"] - kw["start"]).total_seconds()  # type: ignore[operator]
        return TimeSpec(compare_offset_s=compare, rest=" ".join(q.split()), **kw)  # type: ignore[arg-type]

    # between 2 and 3 am / from 14:00 to 15:30
    m = re.search(r"\b(?:between|from)\s+" + _CLOCK + r"\s+(?:and|to|-|until)\s+" + _CLOCK + r"(?=\W)", q)
    if m and (m.group(2) or m.group(3) or m.group(5) or m.group(6)):
        end_ampm = m.group(6)
        end = _clock(now, m.group(4), m.group(5), end_ampm)
        start = _clock(now, m.group(1), m.group(2), m.group(3), default_ampm=end_ampm)
        if start > end:
            start -= timedelta(days=1)
        cut(m)
        return done(kind="range", start=start, end=end, window_s=(end - start).total_seconds(), explicit=True)
    m = re.search(r"\bsince\s+" + _CLOCK + r"(?=\W)", q)
    if m and (m.group(2) or m.group(3)):
        start = _clock(now, m.group(1), m.group(2), m.group(3))
        cut(m)
        return done(kind="range", start=start, end=now, window_s=(now - start).total_seconds(), explicit=True)
    m = re.search(r"\b(?:in|over|during|for|within)?\s*(?:the\s+)?(?:last|past|previous)\s+(?:" + _NUM + r"\s+)?"
                  + _UNIT + r"\b(?:\s+instead)?", q)
    if m:
        secs = (_num(m.group(1)) if m.group(1) else 1.0) * UNIT_SECONDS[m.group(2)]
        cut(m)
        return done(kind="range", start=now - timedelta(seconds=secs), end=now, window_s=secs, explicit=True)
    m = re.search(r"\b(?:since|from)\s+yesterday\b", q)
    if m:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
        cut(m)
        return done(kind="range", start=start, end=now, window_s=(now - start).total_seconds(), explicit=True)
    m = re.search(r"\b(?:for |during |over |on )?yesterday\b", q)
    if m:
        end = now.replace(hour=0, minute=0, second=0, microsecond=0)
        cut(m)
        return done(kind="range", start=end - timedelta(days=1), end=end, window_s=86400.0, explicit=True)
    m = re.search(r"\b(?:so far )?today\b", q)
    if m:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        cut(m)
        if start == now:
            start = now - timedelta(days=1)
        return done(kind="range", start=start, end=now, window_s=(now - start).total_seconds(), explicit=True)
    m = re.search(r"\b" + _NUM + r"\s+" + _UNIT + r"\s+ago\b", q)
    if m:
        at = now - timedelta(seconds=_num(m.group(1)) * UNIT_SECONDS[m.group(2)])
        cut(m)
        return done(kind="instant", at=at, explicit=True)
    m = re.search(r"\bat\s+" + _CLOCK + r"(?=\W)", q)
    if m and (m.group(2) or m.group(3)):
        at = _clock(now, m.group(1), m.group(2), m.group(3))
        cut(m)
        return done(kind="instant", at=at, explicit=True)
    m = re.search(r"\b(?:right now|currently|at the moment|at present|now)\b", q)
    if m:
        cut(m)
        return done(kind="instant", at=now, explicit=True)
    return done(kind="instant", at=now)
