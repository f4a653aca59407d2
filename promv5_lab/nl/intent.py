"""What the words of a question ask for, before a metric is chosen: the ``Intent`` the planner fills in, the phrase
patterns it reads (thresholds, percentiles, work under way, idioms, superlatives, chatty preambles), typo repair,
and the time range an intent's time phrases give. Generic English and SRE phrasing, never particular metric names."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime

from ..types import Comparison, TimeRange
from ..units import DATA_UNIT_WORDS
from .labels import ValueMatch
from .readings import Reading
from .timeexpr import TimeSpec

__all__ = ["Intent", "chatter_words", "default_step", "time_of"]


def default_step(seconds: float) -> float:
    """About 240 points per series, at least 1 s (the rule of ``TimeRange.last``)."""
    return float(max(1, round(seconds / 240)))


@dataclass
class Intent:
    """What the words of a question ask for, before choosing a metric."""

    text: str
    words: list[str]
    concepts: set[str] = field(default_factory=set)
    quantile: float | None = None
    mean: bool = False
    aggregation: str | None = None
    by_words: list[str] = field(default_factory=list)
    topk: int | None = None
    bottomk: int | None = None
    ratio: bool = False
    count: bool = False
    comparison: Comparison | None = None
    comparison_unit: tuple[str, float] | None = None  # the threshold's unit ("100ms"), its value then in s or bytes
    percent: bool = False
    down: bool = False
    values: list[ValueMatch] = field(default_factory=list)
    time: TimeSpec = field(default_factory=TimeSpec)
    window_s: float | None = None
    by_which: bool = False
    unknown: list[str] = field(default_factory=list)
    rate: bool = False  # "per second", "rate": a counter is meant
    none: bool = False  # "with no consumers", "without a leader": the gauge is 0
    which: bool = False  # "which member is the leader": the series for which a 0/1 gauge holds
    reading: Reading = field(default_factory=lambda: Reading(""))  # bits, time until/since (.readings)
    ongoing: bool = False  # "queries currently running", "requests in flight": a gauge of what is under way
    per_second: bool = False  # "per second" / "a minute" in so many words (not only "rate" or "throughput")


_CMP = re.compile(r"\b(above|over|greater than|more than|exceeds?|exceeding|higher than|at least|below|under|"
                  r"less than|fewer than|lower than|at most|beyond|longer than|slower than|hotter than|warmer than|"
                  r"bigger than|larger than|shorter than|smaller than|colder than|faster than)\s+(-?\d+(?:\.\d+)?)\s*(%|percent|gib|gb|mib|"
                  r"mb|kib|kb|bytes|b|k|ms|milliseconds?|minutes?|m|seconds?|s|hours?|h|days?|d)?(?:\b|(?<=%))")
_ONGOING = re.compile(r"\b(?:(?:currently|now)\s+(?:running|executing|active|open|in\s+progress|processing)|"
                      r"running\s+(?:right\s+)?now|in[- ]flight|in\s+progress|concurrent(?:ly)?|executing|ongoing)\b")
_SIZE = {**DATA_UNIT_WORDS, "k": 1e3}  # a threshold's unit ("above 2 GiB", "above 10k"), from units' one table
_QUANT = re.compile(r"\bp(\d{2,3}(?:\.\d+)?)\b|\b(\d{2}(?:\.\d+)?)(?:th|st|nd|rd)?\s*(?:percentile|pct)\b")


# English idioms whose words would pick the wrong concept: "backed up" is a backlog, "been up for" an uptime
_IDIOMS = re.compile(r"\bbacked\s+up\b|\b(?:been\s+)up\s+for\b")
_IDIOM_WORDS = {"backed": "backlog", "been": "uptime"}
# "the hottest gpu", "what's the busiest queue": one thing, the most so (a singular noun right after the superlative)
_THE_MOST = re.compile(r"\s*(?:(?:what|which)\s*(?:'s|s|is)?\s+)?the\s+(hottest|warmest|coldest|biggest|largest|busiest|"
                       r"fullest|heaviest|slowest|smallest|quietest)\s+((?:[a-z_]+\s+)?[a-z_]+)\s*$")
# "quick sanity check - top 3 ...", "sorry, dumb question: how many ...", "morning! how many ...": a preamble
_PREAMBLE = re.compile(r"^(.*?)(?:\s[-\u2013\u2014]+\s|:\s|!\s|,\s+but\s)(?=(?:\S+\s+){2,}\S)")


def chatter_words(question: str) -> frozenset[str]:
    """Words of a chatty preamble before the question proper: never "unknown" words that make the planner ask."""
    m = _PREAMBLE.match(question.lower())
    return frozenset(re.findall(r"[a-z]+", m.group(1))) if m else frozenset()


def _typo_fix(word: str, vocab: set[str], targets: list[str]) -> str:
    """A misspelt content word -> the vocabulary word it is close to (never to a stop word)."""
    if len(word) < 4 or word in vocab or word.isdigit():
        return word
    # short words need a closer match: "file" is not a misspelt "failed"
    close = difflib.get_close_matches(word, targets, n=1, cutoff=0.8 if len(word) > 4 else 0.86)
    return close[0] if close else word


def time_of(it: Intent, now: datetime) -> tuple[str, datetime | None, TimeRange | None]:
    """(kind, instant time, range) for the intent's time phrases."""
    spec = it.time
    if spec.kind == "range" and spec.start is not None and spec.end is not None:
        secs = (spec.end - spec.start).total_seconds()
        return "range", None, TimeRange(spec.start, spec.end, default_step(secs))
    return "instant", spec.at or now, None
