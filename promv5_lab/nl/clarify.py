"""Clarifying answers instead of a guess: a question that names only a concept shared by several systems
("what's the error rate?"), and a value of a label that no series holds ("the billing service")."""

from __future__ import annotations

import difflib
import re
from typing import TYPE_CHECKING

from ..types import Clarification
from .catalogue import tokens
from .vocab import CONCEPTS, LABEL_WORDS, STOPWORDS

if TYPE_CHECKING:  # pragma: no cover
    from .planner import Intent, OfflinePlanner

__all__ = ["unknown_value_of", "vague_of"]


def vague_of(it: Intent, ranked: list[tuple[float, str]]) -> Clarification | None:
    """ "what's the error rate?" on a catalogue of many systems: the question names a concept only (no
    system, no value, no other word), and the close candidates belong to three or more systems (name
    prefixes). Ask which one instead of picking one at random."""
    if it.values or it.by_words or it.topk or it.bottomk or it.comparison is not None:
        return None
    concept_words = CONCEPTS["latency"][0] | CONCEPTS["errors"][0]  # "the latency", "the error rate"
    content = [w for w in it.words if len(w) > 1 and w not in STOPWORDS and w not in {"show", "whats", "rate"}]
    if not content or any(w not in concept_words and not re.fullmatch(r"p\d+", w) for w in content):
        return None
    best = ranked[0][0]
    close = [n for s, n in ranked[:8] if s >= 0.55 * best]
    systems = {tokens(n)[0] for n in close}
    if len(systems) < 3:
        return None
    cands = tuple(close[:5])
    return Clarification(it.text, "Several systems have that; which one do you mean? Closest metrics: "
                         + ", ".join(cands), cands, "ambiguous")

def unknown_value_of(planner: OfflinePlanner, it: Intent) -> Clarification | None:
    """ "the billing service" when no label holds 'billing': list the real values instead of guessing."""
    matched = {v.word.lower() for v in it.values}
    for m in re.finditer(r"\b(?:the\s+)?([a-z0-9/_-]{3,})\s+(service|route|endpoint|handler|path|node|host|pod|job|"
                         r"app|queue|namespace|container|deployment|database)\b", it.text):
        word, label_word = m.group(1), m.group(2)
        if word in matched or any(word in v for v in matched) or word in STOPWORDS or word in planner._vocab and \
                word not in matched and \
                word in {w for trig, _ in CONCEPTS.values() for w in trig}:
            continue
        if word in planner._vocab and word not in LABEL_WORDS and not any(
                word in v.lower() for vals in planner.catalogue.label_values.values() for v in vals):
            continue
        if word in planner._value_words:  # "the ssr app": a piece of a real value ("storefront-ssr"), not unknown
            continue
        for lab in LABEL_WORDS.get(label_word, ()):
            vals = planner.catalogue.label_values.get(lab)
            if vals:
                close = tuple(difflib.get_close_matches(word, list(vals), n=5, cutoff=0.3)) or tuple(vals[:5])
                return Clarification(it.text, f"No {label_word} called {word!r} in the backend. Did you mean: "
                                     + ", ".join(close) + "?", close, "unknown")
    return None
