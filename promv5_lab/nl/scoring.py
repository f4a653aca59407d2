"""Metric retrieval scores, vectorised over the catalogue (numpy + inverted token indexes).

score = 0.6 * lexical + 0.4 * embedding cosine (lexical alone without the model) + structural bonuses
(concept tokens, TYPE, outcome labels, subsystem qualifiers, labels and values the question names).
Per-metric facts that do not depend on the question are computed once per catalogue.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from .catalogue import Catalogue, stem, tokens
from .vocab import CONCEPTS, LABEL_WORDS, QUALIFIERS, REQUEST_TOKENS, STOPWORDS, SYNONYMS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .planner import Intent

__all__ = ["MetricIndex"]

_CAPACITY_WORDS = frozenset({"max", "limit", "capacity", "quota"})


class MetricIndex:
    """Question-independent facts about every metric of a catalogue, as arrays indexed like ``names``."""

    def __init__(self, catalogue: Catalogue) -> None:
        import numpy as np

        from .shapes import error_matchers
        from .siblings import capacity_sibling

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
        value_ci: dict[tuple[str, str], list[int]] = {}
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
                        if v.lower() != v:  # status="Running" holds the value a question writes "running"
                            value_ci.setdefault((lab, v.lower()), []).append(i)
        arr = lambda xs: np.asarray(xs, dtype=np.int64)
        self.name_idx = {k: arr(v) for k, v in name_idx.items()}
        self.help_idx = {k: arr(v) for k, v in help_idx.items()}
        self.label_idx = {k: arr(v) for k, v in label_idx.items()}
        self.value_idx = {k: arr(v) for k, v in value_idx.items()}
        self.value_ci = {k: arr(v) for k, v in value_ci.items()}
        self.no_values = {k: arr(v) for k, v in no_values.items()}
        self.name_vocab = sorted(name_idx)
        self._by_prefix: dict[str, list[str]] = {}
        for t in self.name_vocab:
            if len(t) >= 4:
                self._by_prefix.setdefault(t[:3], []).append(t)
        self._abbrev_cache: dict[str, list[str]] = {}
        self._close_cache: dict[str, list[str]] = {}  # words repeat across questions: difflib is the slow part
        _unit = {"total", "bytes", "seconds", "count", "sum", "info"}
        self.name_len = np.array([max(1, len(nt - _unit)) for nt in self.name_tokens], dtype=float)
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
        from .shapes import status_code_label

        self.coded = np.array([status_code_label(catalogue.metrics[nm]) is not None for nm in self.names], dtype=bool)
        self.concept = {c: np.array([bool(toks & (self.name_tokens[i] | self.help_tokens[i])) for i in range(n)],
                                    dtype=bool) for c, (_, toks) in CONCEPTS.items()}
        self.request = np.array([bool(nt & REQUEST_TOKENS) for nt in self.name_tokens], dtype=bool)
        self.qual_idx = {q: self.name_idx[q] for q in QUALIFIERS if q in self.name_idx}
        self.has_errors = np.array([bool(error_matchers(catalogue.metrics[nm], catalogue)) for nm in self.names],
                                   dtype=bool)
        from .shapes import _complement_counter, _error_sibling, _failing_sibling

        # counters that can make an error ratio: an outcome label, or a sibling of all / of the failed events
        self.ratio_able = self.has_errors | np.array([
            catalogue.metrics[nm].type == "counter" and bool(
                _error_sibling(catalogue.metrics[nm], catalogue) or _failing_sibling(catalogue.metrics[nm], catalogue)
                or _complement_counter(catalogue.metrics[nm], catalogue)) for nm in self.names], dtype=bool)
        sibs = [capacity_sibling(catalogue.metrics[nm], catalogue) for nm in self.names]
        self.has_sibling = np.array([sib is not None for sib in sibs], dtype=bool)
        # capacity gauge -> the gauge of use it bounds (hikaricp_..._max -> ..._active): "pool usage"
        self.capacity_users: dict[str, str] = {}
        for nm, sib in zip(self.names, sibs):
            if sib is not None and not sib[1]:
                self.capacity_users.setdefault(sib[0], nm)
        self.up = self.names.index("up") if "up" in catalogue.metrics else None
        self.time_counter = self.is_counter & np.array([bool(nt & {"seconds", "duration", "time"})
                                                        for nt in self.name_tokens], dtype=bool)
        self.avail = np.array([bool(nt & {"avail", "available"}) for nt in self.name_tokens], dtype=bool)
        self._labelsets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.bytes_named = np.array(["bytes" in nt for nt in self.name_tokens], dtype=bool)
        self.capacity_named = np.array([bool(nt & _CAPACITY_WORDS) for nt in self.name_tokens], dtype=bool)
        from .readings import enum_states

        # enumerated state gauges (IF-MIB OperStatus: up(1) down(2)...): a named state is their own word
        self.states = [frozenset(enum_states(catalogue.metrics[nm])) for nm in self.names]
        state_idx: dict[str, list[int]] = {}
        for i, st in enumerate(self.states):
            for w in st:
                state_idx.setdefault(w, []).append(i)
        self.state_idx = {k: arr(v) for k, v in state_idx.items()}

    def _mask(self, idx: np.ndarray | None) -> np.ndarray:
        m = self.np.zeros(len(self.names), dtype=bool)
        if idx is not None and len(idx):
            m[idx] = True
        return m

    def lexical(self, content: list[str]) -> np.ndarray:
        """Mean over the question's content words of how well each metric's name (1.0) or HELP (0.45) says
        it; a synonym says it a little less (0.85), so does the same stem, an abbreviation ("unacked" for
        unacknowledged, "msgs") or a compound ("messagesin"). Plus a small share for the fraction of the
        metric's own name words the question explains (``x_rq_total`` before ``x_rq_retry``)."""
        np = self.np
        total = np.zeros(len(self.names))
        name_hits = np.zeros(len(self.names))
        for w in content:
            own = {w, w[:-1]} if w.endswith("s") else {w}
            syn = set(SYNONYMS.get(w, ())) - own
            in_name = np.zeros(len(self.names), dtype=bool)
            in_help = np.zeros(len(self.names), dtype=bool)
            syn_name = np.zeros(len(self.names), dtype=bool)
            syn_help = np.zeros(len(self.names), dtype=bool)
            for group, nm, hp in ((own, in_name, in_help), (syn, syn_name, syn_help)):
                for e in group:
                    if e in self.name_idx:
                        nm[self.name_idx[e]] = True
                    if e in self.help_idx:
                        hp[self.help_idx[e]] = True
            best = np.where(in_name, 1.0, np.where(syn_name, 0.85, np.where(in_help, 0.45,
                                                                            np.where(syn_help, 0.4, 0.0))))
            st = stem(w)
            if st != w or len(w) >= 5:  # same stem, different ending: evictions ~ evicted, logs ~ log
                s_name, s_help = self._mask(self.stem_name.get(st)), self._mask(self.stem_help.get(st))
                best = np.maximum(best, np.where(s_name, 0.9, np.where(s_help, 0.4, 0.0)))
            if len(w) >= 5:
                fuzzy = np.zeros(len(self.names), dtype=bool)
                close = self._close_cache.get(w)
                if close is None:  # a word that names metrics as it is needs no fuzzy match
                    close = self._close_cache[w] = [] if w in self.name_idx else difflib.get_close_matches(
                        w, self.name_vocab, n=5, cutoff=0.85)
                for t in close:
                    fuzzy[self.name_idx[t]] = True
                for t in self._abbreviations(w):
                    fuzzy[self.name_idx[t]] = True
                best = np.where(fuzzy, np.maximum(best, 0.8), best)
            if w in self.state_idx:  # "down" is a word of a state gauge whose states include down(2)
                best[self.state_idx[w]] = 1.0
            total += best
            name_hits += best >= 0.8
        precision = np.minimum(1.0, name_hits / self.name_len)
        return total / max(1, len(content)) + 0.06 * precision

    def _abbreviations(self, w: str) -> list[str]:
        """Name tokens that abbreviate ``w`` ("unacked", "repl", "msgs") or start with it ("messagesin")."""
        out = self._abbrev_cache.get(w)
        if out is None:
            out = []
            for t in self._by_prefix.get(w[:3], ()):
                if t == w:
                    continue
                if len(t) > len(w) and t.startswith(w) or 4 <= len(t) < len(w) and _subsequence(t, w):
                    out.append(t)
            self._abbrev_cache[w] = out
        return out

    def held(self, v) -> np.ndarray:
        """Metrics that have the label value a question word named (a host part: a value on that host)."""
        m = self._mask(None)
        for lab in v.labels:
            if v.prefix:
                for (vl, val), idx in self.value_idx.items():
                    if vl == lab and val.startswith(v.value + ":"):
                        m[idx] = True
            else:
                m |= self._mask(self.value_idx.get((lab, v.value)))
                m |= self._mask(self.value_ci.get((lab, v.value.lower())))
            m |= self._mask(self.no_values.get(lab))
        for alt in getattr(v, "alts", ()):
            m |= self.held(alt)
        return m

    def contradicted(self, v) -> np.ndarray:
        """Metrics that carry one of the value's labels with known values, none of them the value."""
        m = self._mask(None)
        for lab in v.labels:
            m |= self._mask(self.label_idx.get(lab))
            m &= ~self._mask(self.no_values.get(lab))
        return m & ~self.held(v)

    def bonus(self, it: Intent) -> np.ndarray:
        np = self.np
        b = np.zeros(len(self.names))
        for concept in it.concepts:
            b += 0.15 * self.concept[concept]
        if "latency" in it.concepts:
            b += np.where(self.is_hist, 0.25, np.where(self.concept["latency"], 0.0, -0.1))
        if "errors" in it.concepts or "throughput" in it.concepts:
            b += 0.1 * (self.is_counter | self.is_histogram)  # a histogram's _count counts the requests
            if "errors" in it.concepts:
                b += 0.25 * self.has_errors
        if "restarts" in it.concepts or "throughput" in it.concepts:
            b -= 0.2 * self.is_histogram
        held = [self.held(v) for v in it.values if not v.weak]
        for v, h in zip([v for v in it.values if not v.weak], held):
            # a metric whose known values of that label exclude it would answer with nothing
            b += np.where(h, 0.1, np.where(self.contradicted(v), -0.3, -0.15))
        for v in it.values:
            if v.weak:  # "heap", "current": this metric's own value, no penalty elsewhere
                b += 0.05 * self.held(v)
        if it.rate:  # "per second", "rate": events counted by a counter (a histogram's _count included)
            b += 0.12 * (self.is_counter | self.is_histogram) - 0.08 * self.is_gauge
            if not it.concepts & {"latency", "cpu"} and not {"time", "seconds", "spent"} & set(it.words):
                b -= 0.1 * self.time_counter  # "commands per second": events, not seconds spent
        if it.per_second and not it.concepts & {"latency"}:
            b -= 0.05 * self.is_histogram  # "server errors per second": a counter of them before a histogram's _count
        if it.ongoing:  # "queries currently running": a gauge of what is under way, not a counter of all so far
            b += 0.15 * self.is_gauge - 0.15 * self.is_counter
        if "errors" in it.concepts and it.ratio:  # a ratio needs the outcome label to divide by all
            b += 0.3 * self.has_errors
            b -= 0.15 * (self.is_counter & ~self.ratio_able)  # "error ratio": not a lone counter of errors
        for w in it.by_words:  # "per service": a metric with a label of that very name
            for lab in {w, w.removesuffix("s")}:
                if lab in self.label_idx:
                    b[self.label_idx[lab]] += 0.06
        if it.ratio and any(len(w) == 3 and w[0] in "12345" and w[1:] == "xx" for w in it.words):
            b += 0.15 * self.coded  # "share of 4xx responses": a metric with a label of HTTP codes
        if not ({"free"} & set(it.words)):  # MemAvailable/avail (what can be used) before MemFree/free
            b += 0.02 * self.avail
        named_states = set(it.words) - {"up"} if it.down or "down" not in it.words else set(it.words) - {"up", "down"}
        if named_states:  # "ports that are down": a state gauge that has a "down" state
            b += 0.3 * np.array([bool(st & named_states) for st in self.states], dtype=bool)
        if "up" in it.concepts and self.up is not None and all(h[self.up] for h in held) and not any(
                self._grouping(w)[0][self.up] for w in it.by_words) and not self._health_named(it):
            b[self.up] += 0.4  # "which ports are down": not targets
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
            none, varying = self._grouping(w)
            b -= 0.2 * none  # "top 3 interfaces by traffic": a metric without an interface label cannot answer
            b += 0.03 * varying
        for w in set(it.words) - set(it.by_words):  # "... used by all services": a metric with a service label
            if w in LABEL_WORDS and w not in ("disk", "disks", "filesystem", "filesystems", "cpu", "core",
                                              "queue", "queues", "version", "database", "status"):
                b -= 0.05 * self._unresolvable(w)
        if it.ratio:
            b += 0.1 * (self.is_gauge & self.has_sibling)
            if it.concepts & {"memory", "disk"}:  # "memcached memory usage": current_bytes / limit_bytes
                b += 0.15 * (self.is_gauge & self.has_sibling & self.bytes_named)
            if "memory" in it.concepts:  # memory in use is a gauge: not a counter of evictions or faults
                b -= 0.15 * self.is_counter
        if not asked & (_CAPACITY_WORDS | {"maximum", "allowed", "configured", "limit", "capacity"}):
            # "instances with more than 40 connections", "client connections per server": the count, not its max
            b -= (0.1 if it.comparison is not None else 0.05) * self.capacity_named
        return b

    def _health_named(self, it: Intent) -> bool:
        """A 0/1 health gauge whose name says what the question asks about ("caddy upstreams are down" on
        x_upstreams_healthy): the targets' ``up`` is not meant."""
        from .siblings import is_health_gauge

        values = {v.word.lower() for v in it.values}
        words = {w for w in it.words if w not in STOPWORDS and w not in values and len(w) >= 4
                 and w not in CONCEPTS["up"][0]}
        return any(i != self.up and words & self.name_tokens[i] - {tokens(nm)[0]}
                   and is_health_gauge(self.catalogue.metrics[nm]) for i, nm in enumerate(self.names))

    def _unresolvable(self, word: str) -> np.ndarray:
        """Metrics on which the grouping word names no label (cached per word)."""
        return self._grouping(word)[0]

    def _grouping(self, word: str) -> tuple[np.ndarray, np.ndarray]:
        """(metrics on which the grouping word names no label, metrics on which it names one whose values
        vary: "by instance" groups node metrics of three hosts, not a cAdvisor metric of one)."""
        out = self._labelsets.get(word)
        if out is None:
            from .siblings import group_label

            labs = [group_label(word, self.catalogue.metrics[n]) for n in self.names]
            none = self.np.array([lab is None for lab in labs], dtype=bool)
            varying = self.np.array([lab is not None and len(self.catalogue.metrics[n].values.get(lab, "xy")) > 1
                                     for n, lab in zip(self.names, labs)], dtype=bool)
            out = self._labelsets[word] = (none, varying)
        return out


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)
