"""Metric retrieval scores, vectorised over the catalogue (numpy + inverted token indexes).

score = 0.6 * lexical + 0.4 * embedding cosine (lexical alone without the model) + structural bonuses
(concept tokens, TYPE, outcome labels, subsystem qualifiers, labels and values the question names).
Per-metric facts that do not depend on the question are computed once per catalogue.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from .catalogue import Catalogue, stem, tokens
from .labels import resolve_label_word
from .vocab import CONCEPTS, LABEL_WORDS, QUALIFIERS, REQUEST_TOKENS, STOPWORDS, SYNONYMS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .planner import Intent

__all__ = ["MetricIndex"]


class MetricIndex:
    """Question-independent facts about every metric of a catalogue, as arrays indexed like ``names``."""

    def __init__(self, catalogue: Catalogue) -> None:
        import numpy as np

        from .shapes import capacity_sibling, error_matchers

        self.np = np
        self.catalogue = catalogue
        self.names = sorted(catalogue.metrics)
        n = len(self.names)
        self.name_tokens: list[set[str]] = []
        self.help_tokens: list[set[str]] = []
        name_idx: dict[str, list[int]] = {}
        help_idx: dict[str, list[int]] = {}
        label_idx: dict[str, list[int]] = {}
        value_idx: dict[tuple[str, str], list[int]] = {}
        no_values: dict[str, list[int]] = {}
        for i, name in enumerate(self.names):
            info = catalogue.metrics[name]
            nt, ht = set(tokens(name)), set(tokens(info.help)) - STOPWORDS
            self.name_tokens.append(nt)
            self.help_tokens.append(ht)
            for t in nt:
                name_idx.setdefault(t, []).append(i)
            for t in ht:
                help_idx.setdefault(t, []).append(i)
            for lab in info.labels:
                label_idx.setdefault(lab, []).append(i)
                vals = info.values.get(lab)
                if vals is None:
                    no_values.setdefault(lab, []).append(i)
                else:
                    for v in vals:
                        value_idx.setdefault((lab, v), []).append(i)
        arr = lambda xs: np.asarray(xs, dtype=np.int64)
        self.name_idx = {k: arr(v) for k, v in name_idx.items()}
        self.help_idx = {k: arr(v) for k, v in help_idx.items()}
        self.label_idx = {k: arr(v) for k, v in label_idx.items()}
        self.value_idx = {k: arr(v) for k, v in value_idx.items()}
        self.no_values = {k: arr(v) for k, v in no_values.items()}
        self.name_vocab = sorted(name_idx)
        stem_name: dict[str, set[int]] = {}
        stem_help: dict[str, set[int]] = {}
        for tok, idx in self.name_idx.items():
            stem_name.setdefault(stem(tok), set()).update(int(i) for i in idx)
        for tok, idx in self.help_idx.items():
            stem_help.setdefault(stem(tok), set()).update(int(i) for i in idx)
        self.stem_name = {k: arr(sorted(v)) for k, v in stem_name.items()}
        self.stem_help = {k: arr(sorted(v)) for k, v in stem_help.items()}
        types = [catalogue.metrics[nm].type for nm in self.names]
        self.is_hist = np.array([t in ("histogram", "summary") for t in types], dtype=bool)
        self.is_histogram = np.array([t == "histogram" for t in types], dtype=bool)
        self.is_counter = np.array([t == "counter" for t in types], dtype=bool)
        self.is_gauge = np.array([t in ("gauge", "unknown") for t in types], dtype=bool)  # no TYPE: not a counter
        self.concept = {c: np.array([bool(toks & (self.name_tokens[i] | self.help_tokens[i])) for i in range(n)],
                                    dtype=bool) for c, (_, toks) in CONCEPTS.items()}
        self.request = np.array([bool(nt & REQUEST_TOKENS) for nt in self.name_tokens], dtype=bool)
        self.qual_idx = {q: self.name_idx[q] for q in QUALIFIERS if q in self.name_idx}
        self.has_errors = np.array([bool(error_matchers(catalogue.metrics[nm], catalogue)) for nm in self.names],
                                   dtype=bool)
        self.has_sibling = np.array([capacity_sibling(catalogue.metrics[nm], catalogue) is not None
                                     for nm in self.names], dtype=bool)
        self.up = self.names.index("up") if "up" in catalogue.metrics else None
        self._labelsets: dict[tuple[str, tuple[str, ...]], bool] = {}

    def _mask(self, idx: np.ndarray | None) -> np.ndarray:
        m = self.np.zeros(len(self.names), dtype=bool)
        if idx is not None and len(idx):
            m[idx] = True
        return m

    def lexical(self, content: list[str]) -> np.ndarray:
        np = self.np
        total = np.zeros(len(self.names))
        for w in content:
            exp = {w, *SYNONYMS.get(w, ())}
            if w.endswith("s"):
                exp.add(w[:-1])
            in_name = np.zeros(len(self.names), dtype=bool)
            in_help = np.zeros(len(self.names), dtype=bool)
            for e in exp:
                if e in self.name_idx:
                    in_name[self.name_idx[e]] = True
                if e in self.help_idx:
                    in_help[self.help_idx[e]] = True
            best = np.where(in_name, 1.0, np.where(in_help, 0.45, 0.0))
            st = stem(w)
            if st != w or len(w) >= 5:  # same stem, different ending: evictions ~ evicted, logs ~ log
                s_name, s_help = self._mask(self.stem_name.get(st)), self._mask(self.stem_help.get(st))
                best = np.where(best == 0, np.where(s_name, 0.9, np.where(s_help, 0.4, 0.0)), best)
            if len(w) >= 5:
                fuzzy = np.zeros(len(self.names), dtype=bool)
                for t in difflib.get_close_matches(w, self.name_vocab, n=5, cutoff=0.85):
                    fuzzy[self.name_idx[t]] = True
                best = np.where((best == 0) & fuzzy, 0.8, best)
            total += best
        return total / max(1, len(content))

    def held(self, v) -> np.ndarray:
        """Metrics that have the label value a question word named."""
        m = self._mask(None)
        for lab in v.labels:
            if v.prefix:
                m |= self._mask(self.label_idx.get(lab))
            else:
                m |= self._mask(self.value_idx.get((lab, v.value)))
                m |= self._mask(self.no_values.get(lab))
        return m

    def bonus(self, it: Intent) -> np.ndarray:
        np = self.np
        b = np.zeros(len(self.names))
        for concept in it.concepts:
            b += 0.15 * self.concept[concept]
        if "latency" in it.concepts:
            b += np.where(self.is_hist, 0.25, np.where(self.concept["latency"], 0.0, -0.1))
        if "errors" in it.concepts or "throughput" in it.concepts:
            b += 0.1 * self.is_counter
            if "errors" in it.concepts:
                b += 0.25 * self.has_errors
        if "restarts" in it.concepts or "throughput" in it.concepts:
            b -= 0.2 * self.is_histogram
        held = [self.held(v) for v in it.values]
        for h in held:
            b += np.where(h, 0.1, -0.15)
        if "up" in it.concepts and self.up is not None and all(h[self.up] for h in held):
            b[self.up] += 0.4
        asked = set(it.words)
        for w in it.words:
            asked.update(SYNONYMS.get(w, ()))
        unasked = self._mask(None)
        for q, idx in self.qual_idx.items():
            if q not in asked:
                unasked[idx] = True
        b -= 0.08 * unasked
        if it.concepts & {"latency", "errors", "throughput"} and not (asked & QUALIFIERS):
            b += 0.08 * self.request
        for w in it.by_words:
            b -= 0.1 * self._unresolvable(w)
        for w in set(it.words) - set(it.by_words):  # "... used by all services": a metric with a service label
            if w in LABEL_WORDS and w not in ("disk", "disks", "filesystem", "filesystems", "cpu", "core",
                                              "queue", "queues", "version", "database", "status"):
                b -= 0.05 * self._unresolvable(w)
        if it.ratio:
            b += 0.1 * (self.is_gauge & self.has_sibling)
        return b

    def _unresolvable(self, word: str) -> np.ndarray:
        out = self._mask(None)
        for i, name in enumerate(self.names):
            labels = self.catalogue.metrics[name].labels
            key = (word, labels)
            hit = self._labelsets.get(key)
            if hit is None:
                hit = self._labelsets[key] = resolve_label_word(word, labels) is not None
            out[i] = not hit
        return out
