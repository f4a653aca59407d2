"""Label values and label names mentioned in passing, matched against the catalogue (typo-tolerant)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from ..types import LabelMatcher
from .catalogue import Catalogue, MetricInfo
from .vocab import LABEL_WORDS, STOPWORDS

__all__ = ["ValueMatch", "find_values", "resolve_label_word", "value_matcher"]

_WORD = re.compile(r"[A-Za-z0-9_./{}:-]+")
_SKIP_LABELS = {"le", "quantile", "__name__"}


@dataclass(frozen=True)
class ValueMatch:
    """A question word that names a label value: ``label`` is one of ``labels`` (all that hold it)."""

    word: str
    value: str
    labels: tuple[str, ...]
    score: float
    prefix: bool = False  # "node-2" naming "node-2:9100": match by regex on the host part
    hinted_label: str | None = None


def _host(v: str) -> str:
    """``node-2`` for ``node-2:9100`` (host:port only; URLs and paths stay whole)."""
    m = re.fullmatch(r"([^:/]+):\d+", v)
    return m.group(1) if m else v


def find_values(text: str, cat: Catalogue, reserved: frozenset[str] = frozenset()) -> list[ValueMatch]:
    """Words of ``text`` that name label values, best match per word (exact > host part > fuzzy)."""
    words = [w.strip(".,?!;:'\"()") for w in _WORD.findall(text)]
    lowered = [w.lower() for w in words]
    index: dict[str, list[tuple[str, str, bool]]] = {}
    part_index: dict[str, list[tuple[str, str, bool]]] = {}
    for lab, vals in cat.label_values.items():
        if lab in _SKIP_LABELS:
            continue
        for v in vals:
            if not v or len(v) > 80:
                continue
            index.setdefault(v.lower(), []).append((lab, v, False))
            h = _host(v).lower()
            if h != v.lower():
                index.setdefault(h, []).append((lab, v, True))
            parts = [p for p in re.split(r"[-_/.]", v.lower()) if len(p) >= 5]
            if len(parts) > 1:  # "fulfilment" names "order-fulfilment"
                for p in parts:
                    part_index.setdefault(p, []).append((lab, v, False))
    out: list[ValueMatch] = []
    keys = list(index)
    for p, cands in part_index.items():
        if p not in index and len({c[1] for c in cands}) == 1:
            index[p] = cands
    for i, w in enumerate(lowered):
        if not w or w in STOPWORDS or len(w) < 2 or w.isdigit() and len(w) < 3:
            continue
        hint = _hint(lowered, i)
        if (w in LABEL_WORDS or w in reserved) and not (hint and hint != w):
            continue  # "node" is a label word ("per node"), "error" a concept, unless a label word names it
        cands = index.get(w)
        score = 1.0
        if cands is None and not w.startswith("/") and "/" + w in index and hint:
            cands = index["/" + w]
        if cands is None and len(w) >= 5 and w not in LABEL_WORDS:
            close = difflib.get_close_matches(w, keys, n=1, cutoff=0.8)
            if close:
                cands, score = index[close[0]], 0.85
        if cands is None and "." in w and len(w) >= 6:  # a host name inside a URL value
            hits = [k for k in keys if w in k]
            if len(hits) == 1:
                cands = index[hits[0]]
        if not cands:
            continue
        labs = tuple(dict.fromkeys(c[0] for c in cands))
        value = cands[0][1]
        prefix = all(c[2] for c in cands)
        out.append(ValueMatch(words[i], value if not prefix else _host(value), labs, score, prefix, hint))
    return out


def _hint(words: list[str], i: int) -> str | None:
    """A label word right before or after position i ("the checkout service", "route /cart")."""
    for j in (i + 1, i - 1):
        if 0 <= j < len(words) and words[j] in LABEL_WORDS:
            return words[j]
    return None


def resolve_label_word(word: str, available: tuple[str, ...] | list[str]) -> str | None:
    """A label word of the question ("node", "routes", "status") -> a label the metric has."""
    w = word.lower().strip(".,?!")
    if w in available:
        return w
    for cand in LABEL_WORDS.get(w, ()):
        if cand in available:
            return cand
    if w.endswith("s") and w[:-1] in available:
        return w[:-1]
    close = difflib.get_close_matches(w, list(available), n=1, cutoff=0.8)
    return close[0] if close else None


def value_matcher(m: ValueMatch, available: tuple[str, ...], info: MetricInfo | None = None) -> LabelMatcher | None:
    """The matcher for a value match on a metric with ``available`` labels (None if it has none of them)."""
    labs = [lab for lab in m.labels if lab in available]
    if info is not None and not m.prefix:
        held = [lab for lab in labs if info.has_value(lab, m.value)]
        labs = held or labs
    if not labs:
        return None
    if m.hinted_label:
        preferred = [lab for lab in LABEL_WORDS.get(m.hinted_label, ()) if lab in labs]
        if preferred:
            labs = preferred
    order = ("service", "job", "app", "route", "instance", "pod")
    labs.sort(key=lambda lab: order.index(lab) if lab in order else len(order))
    lab = labs[0]
    if m.prefix:
        return LabelMatcher(lab, "=~", re.sub(r"([.+*?()\[\]{}|^$\\])", r"\\\1", m.value) + ":.*")
    return LabelMatcher(lab, "=", m.value)
