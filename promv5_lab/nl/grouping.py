"""How a metric's series group and how its values scale: whether "per X" of a gauge needs adding up (one series
per X already, and a share or an age does not add up), whether a gauge is kept in percent (0-100) or as a fraction
(0-1), whether it still has several series after the question's matchers, and whether a gauge is really a counter
(its HELP says so). Generic conventions, never particular metric names."""

from __future__ import annotations

import re

from ..types import LabelMatcher, Ratio
from .catalogue import MetricInfo, tokens

__all__ = ["COUNTER_HELP", "grouped_already", "in_percent", "is_fraction", "one_per_group", "varies"]


def one_per_group(info: MetricInfo, by: list[str], matchers: dict[str, LabelMatcher]) -> bool:
    """Whether ``info`` has (as far as its label values tell) one series per value of the ``by`` labels: every
    other label is pinned by an ``=`` matcher or has no more values than there are groups."""
    groups = 1
    for lab in by:
        vals = info.values.get(lab)
        if not vals:
            return False
        groups *= len(vals)
    pinned = _pinned(matchers)
    for lab in info.labels:
        if lab in by or lab in pinned or lab in ("le", "quantile"):
            continue
        vals = info.values.get(lab)
        if vals is None or len(vals) > groups:
            return False
    return True


def grouped_already(info: MetricInfo, by: list[str], matchers: dict[str, LabelMatcher], ratio: Ratio | None,
                    ranked: bool = False, timestamp: bool = False) -> bool:
    """A share, a percentage or an age kept as one gauge, asked "per X" when each X already has its own series:
    adding up would group nothing (and such values do not add up), so the series keep their own labels. Not for
    amounts (threads, connections, bytes per instance) nor for shares the plan forms by dividing two of them,
    unless the series are ``ranked`` ("top 3 queues by backlog": the queues' own series, the largest first)."""
    if info.type not in ("gauge", "unknown") or not one_per_group(info, by, matchers):
        return False
    if ratio is None and (timestamp or ranked and _identified_beyond(info, by, matchers)):
        return True  # a Unix time never adds up
    # amounts add up ("goroutines per instance" is a sum by instance), and a share formed of two amounts is the
    # sum of the parts over the sum of the wholes per group ("memory usage per node"); a share kept as one gauge
    # does not add up
    return ratio is None and (bool(set(tokens(info.name)) & _NON_ADDITIVE) or in_percent(info))


_NON_ADDITIVE = frozenset({"ratio", "percent", "percentage", "pct", "utilization", "utilisation", "fraction", "age",
                           "latency", "temperature", "celsius", "normalized"})


def _identified_beyond(info: MetricInfo, by: list[str], matchers: dict[str, LabelMatcher]) -> bool:
    """Whether a series says more than its group: a label besides the grouping, the matchers and the target
    (``queue`` with ``vhost``/``address``), or targets not one per group (two servers' ``world``). Then the ranked
    series are the answer; a service's one series on its one target is the service (summed by it, the convention)."""
    groups = 1
    for lab in by:
        groups *= len(info.values.get(lab, ())) or 1
    pinned = _pinned(matchers)
    for lab in info.labels:
        if lab in by or lab in pinned or lab in ("le", "quantile"):
            continue
        n = len(info.values.get(lab, ()))
        if lab not in ("job", "instance") or 1 < n != groups:
            return True
    return False


def in_percent(info: MetricInfo) -> bool:
    """A gauge whose values are percentages (0-100): its name says percent, or its HELP says "%"/"percent". A name
    that ends in a share word (``x_utilization``, ``x_ratio``) is a fraction (0-1) unless HELP gives the unit
    ("in %", "in percent"): "utilization as a percentage of the reserved CPU" describes the share, not a scale."""
    name_t = set(tokens(info.name))
    if name_t & {"percent", "percentage", "pct"}:
        return True
    if info.type not in ("gauge", "unknown") or tokens(info.name)[-1] == "ratio":
        return False  # x_ratio is 0-1 by Prometheus' naming rules, whatever unit HELP copied ("utilization [%]")
    help_ = info.help.lower()
    if re.search(r"%|\b(?:in|expressed\s+in)\s+percent", help_):
        return True
    if tokens(info.name)[-1] in _FRACTION_WORDS:
        return False
    return bool(re.search(r"\bpercent(?:age)?\b", help_))


COUNTER_HELP = re.compile(r"\b(?:counter|monotonic(?:ally)?|cumulative)\b", re.IGNORECASE)
_FRACTION_WORDS = frozenset({"utilization", "utilisation", "ratio", "fraction"})


def is_fraction(info: MetricInfo) -> bool:
    """A gauge of a share kept as 0-1 (``x_utilization`` without a percent unit)."""
    if info.type not in ("gauge", "unknown") or in_percent(info):
        return False
    # x_utilization, x_ratio; or HELP that says so ("Fraction of total disk store used", "ratio (0-1)")
    return tokens(info.name)[-1] in _FRACTION_WORDS or bool(re.match(r"\s*(?:the\s+)?(?:fraction|ratio)\s+of\b|.*\(0\s*-\s*1\)",
                                                                    info.help, re.IGNORECASE))


def _pinned(matchers: dict[str, LabelMatcher]) -> set[str]:
    """Labels a matcher holds to one value (``=``, or a host's ports ``instance=~"node-2:.*"``)."""
    return {lab for lab, m in matchers.items() if m.op == "=" or m.op == "=~" and m.value.endswith(":.*")}


def varies(info: MetricInfo, matchers: dict[str, LabelMatcher], ignore: frozenset[str] = frozenset()) -> bool:
    """Whether ``info`` has several series left after ``matchers``: a label not pinned by them (nor in ``ignore``)
    that has several values."""
    pinned = _pinned(matchers)
    return any(len(info.values.get(lab, ())) > 1 for lab in info.labels if lab not in pinned
               and lab not in ignore and lab not in ("le", "quantile"))
