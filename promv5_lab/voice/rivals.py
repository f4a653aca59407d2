"""Near ties between named values: the same command heard with another service ("why is products failing" /
"why is frontend failing"), scored almost as well. Such a command is answered with a question ("did you
mean products or frontend?") instead of an answer about the wrong service.

Where they come from: pocketsphinx's FSG search keeps one path per grammar state, and a value that ends a
few frames later can take the place of the one said even when, decoded alone, the one said scores better
(``why is frontend failing`` on espeak-ng's en-us+m3 voice: frontend alone scores better than products
alone, the grammar answers products; wider beams do not change it). The n-best list of the same decode
still holds the right reading, close behind: a *rival* is an n-best entry that the grammar accepts, that
says the same words as the answer except for the named values, and whose score is within ``TIE_GAP`` of
the best. The n-best list costs ~3-10 ms CPU (the lattice is built from the search already done).

TIE_GAP was chosen on the development seeds 3 and 4 (``benchmarks/voice_eval.py``): wrong services were
within 0-173 of the best (one at 261), right ones mostly 236-650 (two at 0 and 139): asking back costs a
few right answers a question, and turns most wrong ones into a question. Checked again on seeds 1-6 (540
commands naming a service) with round 7's decoder (topn 4, shorter padding): gap 0 (never ask): 511 right,
26 wrong; 100: 509 right, 7 asked (4 of them heard right), 23 wrong; **200: 509 right, 10 asked (4 heard
right, 6 offering the said one), 20 wrong**; 250: 506, 14 asked, 19 wrong; 400: 503, 19 asked, 18 wrong. 200
stays: below it fewer wrong answers become questions at no gain in right ones, above it each wrong answer
saved costs about three needless questions.
"""

from __future__ import annotations

import functools
import re
from typing import Any

__all__ = ["N_BEST", "TIE_GAP", "scored_rivals", "value_rivals"]

TIE_GAP = 200  # n-best score units (pocketsphinx's log base 1.0001, as LogMath.log gives them)
N_BEST = 10  # n-best entries looked at (each costs a lattice path search)
MAX_RIVALS = 2


@functools.lru_cache(maxsize=8)
def _value_pattern(values: tuple[str, ...]) -> re.Pattern[str] | None:
    if not values:
        return None
    longest_first = sorted(values, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(map(re.escape, longest_first)) + r")\b")


def _shape(text: str, rx: re.Pattern[str]) -> tuple[str, tuple[str, ...]]:
    """The words around the values (``the`` dropped: "fix the redis" and "fix payments" have one shape),
    and the values in order."""
    found = tuple(rx.findall(text))
    rest = re.sub(r"\bthe\s+", "", rx.sub("<value>", text))
    return rest, found


def value_rivals(decoder: Any, best: str, grammar: Any, *, gap: float = TIE_GAP, n_best: int = N_BEST) -> tuple[str, ...]:
    """Readings of the decoder's last utterance that differ from ``best`` only in the named values and score
    within ``gap`` of the n-best list's top (best first; at most MAX_RIVALS). Call it with the decoder's lock
    held, right after the decode whose answer is ``best`` (cleaned of pronunciation marks)."""
    return tuple(text for text, _ in scored_rivals(decoder, best, grammar, gap=gap, n_best=n_best))


def scored_rivals(decoder: Any, best: str, grammar: Any, *, gap: float = TIE_GAP,
                  n_best: int = N_BEST) -> list[tuple[str, float]]:
    """:func:`value_rivals` with each reading's distance behind the n-best list's top (score units)."""
    from .recognize import _clean

    rx = _value_pattern(tuple(sorted(grammar.values)))
    if rx is None or not best:
        return []
    shape, values = _shape(best, rx)
    if not values:
        return []
    logmath = decoder.get_logmath()
    top: float | None = None
    out: list[tuple[str, float]] = []
    seen_values = {values}
    for i, hyp in enumerate(decoder.nbest()):
        if i >= n_best or len(out) >= MAX_RIVALS:
            break
        if hyp.score <= 0:
            continue
        score = logmath.log(hyp.score)
        top = score if top is None else top
        if top - score > gap:
            break
        text = _clean(hyp.hypstr)
        other_shape, other_values = _shape(text, rx)
        if other_shape != shape or other_values in seen_values or not grammar.graph.accepts(text):
            continue
        seen_values.add(other_values)
        out.append((text, top - score))
    return out
