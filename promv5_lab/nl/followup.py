"""Follow-up questions refine the previous turn's plan: "and for payments?", "break it down by route",
"over the last week instead", "compare with yesterday", "only the top 3"."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ..types import LabelMatcher, QueryPlan
from .labels import resolve_label_word, value_matcher
from .vocab import CONCEPTS, LABEL_WORDS, STOPWORDS

if TYPE_CHECKING:  # pragma: no cover
    from .planner import Intent, OfflinePlanner

__all__ = ["is_followup", "refine"]

_LEADS = ("and ", "what about", "how about", "now ", "same ", "instead", "break ", "compare", "only ", "just ",
          "over ", "what if", "also ", "then ", "ok ", "okay ", "split ", "group ", "per ", "by ", "for ", "zoom ")


def is_followup(it: Intent, planner: OfflinePlanner) -> bool:
    """True when the question only changes values, grouping, time or comparison of the previous one."""
    value_words = {v.word.lower() for v in it.values}
    concept_words = {w for trig, _ in CONCEPTS.values() for w in trig}
    content = [w for w in it.words if w not in STOPWORDS and w not in LABEL_WORDS and w not in value_words
               and not w.isdigit() and not re.fullmatch(r"p\d+|median|percentile", w) and w not in {"it", "instead", "compare", "split", "group", "zoom", "only",
                                                 "just", "same", "ok", "okay", "then", "also", "break"}]
    if not content:
        return True
    lead = it.text.startswith(_LEADS) or it.text.split(" ", 1)[0] in ("and", "also")
    return lead and not (set(content) & concept_words) and len(content) <= 1


def refine(prev: QueryPlan, it: Intent, planner: OfflinePlanner, now: datetime) -> QueryPlan:
    from .planner import time_of

    info = planner.catalogue.metrics.get(prev.metric) or planner.catalogue.metrics.get(
        re.sub(r"_count$", "", prev.metric))
    labels = info.labels if info else tuple({m.label for m in prev.matchers})
    matchers = {m.label: m for m in prev.matchers}
    for v in it.values:
        mt = value_matcher(v, labels)
        if mt is not None:
            # a new value for a label replaces the old one (and for a label that had none, it narrows)
            matchers[mt.label] = mt
    by = list(prev.by)
    for w in it.by_words:
        lab = resolve_label_word(w, labels)
        if lab:
            by = [lab] if re.search(r"\b(instead|rather)\b", it.text) else list(dict.fromkeys([*by, lab]))
    changes: dict = {"matchers": tuple(matchers.values()), "by": tuple(by)}
    if by and prev.aggregation is None and prev.transform not in ("quantile", "mean"):
        changes["aggregation"] = "sum"
    if it.aggregation:
        changes["aggregation"] = it.aggregation
    if it.time.explicit:
        kind, at, rng = time_of(it, now)
        changes.update(kind=kind, time=at, range=rng)
        if prev.transform == "increase" and it.time.window_s:
            changes.update(window_s=it.time.window_s, kind="instant", time=it.time.end or now, range=None)
    if it.time.compare_offset_s:
        changes["compare_offset_s"] = it.time.compare_offset_s
    if it.topk or it.bottomk:
        changes.update(topk=it.topk, bottomk=it.bottomk)
    if it.comparison is not None:
        changes["comparison"] = it.comparison
    if it.quantile is not None and prev.transform == "quantile":
        changes["quantile"] = it.quantile
    return replace(prev, **changes, question=it.text, confidence=round(max(0.05, prev.confidence * 0.95), 3),
                   notes=(*prev.notes, "follow-up: refined the previous question's plan"))


def without_label(plan: QueryPlan, label: str) -> QueryPlan:
    """The plan without a matcher on ``label`` (for 'all services')."""
    return replace(plan, matchers=tuple(m for m in plan.matchers if m.label != label))


__all__ += ["LABEL_WORDS", "LabelMatcher", "without_label"]
