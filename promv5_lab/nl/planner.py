"""The offline planner: a question + a catalogue -> a QueryPlan (or a Clarification). No LLM, no network.

Metric retrieval mixes lexical matching (question words and generic SRE synonyms against metric-name tokens
and HELP text, typo-tolerant) with MiniLM embeddings of names + HELP (:mod:`.embed`). Concepts decide the
shape: counters get ``rate``, histograms ``histogram_quantile`` over ``rate`` of ``_bucket`` summed by ``le``,
error ratios divide failing by all, "usage" of a free/used gauge divides by its size/limit sibling.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from ..errors import InputError
from ..types import Clarification, Comparison, QueryPlan, as_utc, parse_duration
from ..units import TIME_UNIT_WORDS
from . import embed
from .catalogue import Catalogue, stem, tokens
from .clarify import unknown_value_of, vague_of
from .intent import (
    _CMP,
    _IDIOM_WORDS,
    _IDIOMS,
    _ONGOING,
    _PREAMBLE,
    _QUANT,
    _SIZE,
    _THE_MOST,
    Intent,
    _typo_fix,
    chatter_words,
    default_step,
    time_of,
)
from .labels import find_values
from .readings import read_phrases
from .scoring import MetricIndex
from .shapes import shape_plan
from .timeexpr import parse_time, zone
from .vocab import (
    CONCEPTS,
    COUNT_PHRASES,
    HIGH_WORDS,
    LABEL_WORDS,
    LOW_WORDS,
    RATIO_WORDS,
    STOPWORDS,
    SYNONYMS,
)

__all__ = ["Intent", "OfflinePlanner", "Planner", "chatter_words", "default_step", "time_of"]

log = logging.getLogger(__name__)

MIN_SCORE = 0.30
DECISIVE_SCORE, DECISIVE_MARGIN = 1.0, 0.3  # lexical + bonuses: above both, no embedding is computed
_WHO_LABELS = frozenset({"job", "service", "app", "application", "namespace", "container", "pod"})
_NAMED_STOPWORDS = frozenset({"average", "avg", "current", "has", "have", "used", "percentage", "percent"})  # "average response time": the metric's own word  # below this the best metric is not a credible answer: ask instead of guessing


class Planner(Protocol):
    def plan(self, question: str, context: QueryPlan | None = None) -> QueryPlan | Clarification: ...


class OfflinePlanner:
    """Plans questions against one catalogue. ``now`` is injectable (a datetime or a zero-arg callable)."""

    def __init__(self, catalogue: Catalogue, *, now: datetime | None = None, use_embeddings: bool = True,
                 default_window: str | float = "5m", cache_dir: str | Path | None = None,
                 tz: str | None = None, rerank: bool | object = True) -> None:
        self.catalogue = catalogue
        # the learned reorder of the best candidates (.rerank): True = the shipped weights, False = rules only,
        # or a Reranker (benchmarks train and compare them side by side)
        if rerank is True:
            from .rerank import load_shipped

            rerank = load_shipped()
        self.reranker = rerank or None
        self.ordinary_words = True  # unknown ordinary English words do not make it ask back (see plan())
        self._now = now
        self.tz = zone(tz)  # the user's zone: "since 14:00" is 14:00 on their wall clock
        self.window_s = parse_duration(default_window)
        self.notes: tuple[str, ...] = ()
        self._vocab = set(STOPWORDS) | set(SYNONYMS) | set(LABEL_WORDS)
        for trig, _ in CONCEPTS.values():
            self._vocab |= trig
        self._metric_tokens: dict[str, tuple[set[str], set[str]]] = {}
        self._metric_stems: dict[str, set[str]] = {}
        for m in catalogue.metrics.values():
            name_t = set(tokens(m.name))
            help_t = set(tokens(m.help)) - STOPWORDS
            self._metric_tokens[m.name] = (name_t, help_t)
            self._metric_stems[m.name] = {stem(t) for t in name_t | help_t}
            self._vocab |= name_t
        # stems of every name and HELP word: "evictions" is not an unknown word when a metric was "evicted"
        self._stems: set[str] = set().union(*self._metric_stems.values()) if self._metric_stems else set()
        self._vocab |= RATIO_WORDS
        # typo targets: content words only (a stop word is never what a misspelt word meant)
        self._typo_targets = sorted((self._vocab - STOPWORDS) | RATIO_WORDS | HIGH_WORDS | LOW_WORDS | {
            "average", "total", "maximum", "minimum", "between", "since", "compared", "yesterday", "today"})
        self._index = MetricIndex(catalogue)
        self._names = self._index.names
        self._pos = {n: i for i, n in enumerate(self._names)}
        self._typo_cache: dict[str, str] = {}
        self._name_tokens = frozenset(self._index.name_idx)
        # label values (and their host parts) are never "corrected" into vocabulary words: "rabbit" stays
        self._value_words: set[str] = set()
        for lab, vals in catalogue.label_values.items():
            if lab in ("le", "quantile") or len(vals) > 500:
                continue
            for v in vals:
                low = v.lower()
                self._value_words.add(low)
                self._value_words.update(p for p in re.split(r"[-_/.:@]", low) if len(p) >= 3)
        self._reserved = frozenset(w for trig, _ in CONCEPTS.values() for w in trig)
        self._embedder = embed.get_embedder() if use_embeddings else None
        self._doc_vecs = None
        if use_embeddings and self._embedder is None:
            self.notes = (f"embedding model unavailable ({embed.LOAD_ERROR}); lexical matching only",)
        elif self._embedder is not None:
            self._doc_vecs = self._embedder.encode_docs(
                catalogue.key, [catalogue.metrics[n].text for n in self._names], cache_dir)

    def _groupable(self, word: str) -> bool:
        """Whether ``word`` can name a grouping: a label word, a label name ("resources" -> resource,
        "method" -> grpc_method), or a part of label values that is not a whole value ("backend" in web_backend)."""
        names = self.catalogue.label_values
        if word in STOPWORDS and word not in LABEL_WORDS and word not in names:  # "by kind": a label's own name
            return False
        if word in LABEL_WORDS or word in names or (word.endswith("s") and word[:-1] in names):
            return True
        base = word[:-1] if word.endswith("s") and len(word) > 3 and not word.endswith(("ss", "us", "is")) else word
        if len(word) >= 4 and any(base in n.split("_") for n in names):  # grpc_method, envoy_cluster_name
            return True
        return word in self._value_words and not any(word == v.lower() for vals in names.values() for v in vals)

    def _names_agent(self, word: str) -> bool:
        """A word after "by" that names who did it (a label value or a piece of one: "fluent" of fluent-bit),
        not a label to break down by (no label is called so, nor has it as a part: "consumer" -> consumer_group)."""
        if word not in self._value_words or self._is_label_word(word):
            return False
        return not any({word, word.removesuffix("s")} & set(n.split("_")) for n in self.catalogue.label_values)

    def _is_label_word(self, word: str) -> bool:
        """A word that names a label itself ("instance", "kind"), not a piece of a label value."""
        names = self.catalogue.label_values
        return word in LABEL_WORDS or word in names or (word.endswith("s") and word[:-1] in names)

    def _without_preamble(self, question: str) -> str:
        """ "quick sanity check - top 3 vms by ...": the question after a chatty preamble that names nothing the
        catalogue knows (no metric-name word, no label value); the whole question otherwise."""
        m = _PREAMBLE.match(question.lower())
        if not m:
            return question
        pre = [w for w in re.findall(r"[a-z][a-z0-9]*", m.group(1)) if w not in STOPWORDS]
        if any(w in self._name_tokens or stem(w) in self._stems for w in pre) or any(
                not v.weak for v in find_values(question[:m.end(1)], self.catalogue, self._reserved,
                                                self._name_tokens, self._vocab)):
            return question  # "the llm-serving pod feels sluggish - how hot is its gpu": the pod is named
        return question[m.end():]

    @property
    def now(self) -> datetime:
        return as_utc(self._now) if self._now is not None else datetime.now(timezone.utc)

    # ---- understanding the words ------------------------------------------------------------------------
    def intent(self, question: str, now: datetime | None = None) -> Intent:
        if not isinstance(question, str) or not question.strip():
            raise InputError("The question is empty", hint='Ask e.g. "p95 latency of checkout over the last hour"')
        now = now or self.now
        question = self._without_preamble(question)
        reading = read_phrases(question)
        spec = parse_time(reading.rest, now, self.tz)
        raw = spec.rest
        text = re.sub(r"[?!,;]", " ", raw)
        per_second = re.search(r"\b(?:per|a|each|every|/)\s*(?:second|sec|minute|min)\b|/s\b", text)
        text = re.sub(r"\b(?:per|a|each|every|/)\s*(?:second|sec|minute|min)\b|/s\b", " ", text)
        text = _IDIOMS.sub(lambda m: _IDIOM_WORDS[m.group(0).split()[0]], text.lower())
        words: list[str] = []
        extra: list[str] = []  # words that a word implies, added after the phrase patterns below
        for w in re.findall(r"[a-z0-9_%./{}:-]+", text):
            w = w.strip(".:")
            if not w:
                continue
            if w in self._value_words or w in self.catalogue.label_values:  # "subsystem" is a label, not "system"
                words.append(w)
                continue
            fixed = self._typo_cache.get(w)
            if fixed is None:
                fixed = self._typo_cache[w] = _typo_fix(w, self._vocab, self._typo_targets)
            w = fixed
            parts = [p for p in w.split("-") if len(p) >= 3 and not p.isdigit()] if "-" in w else []
            if parts and w not in self._vocab and any(p in self._vocab or stem(p) in self._stems for p in parts):
                words.extend(parts)  # "kube-apiserver": its known parts are the words
                continue
            words.append(w)
            if w.endswith("est") and (base := stem(w)) in self._vocab and base != w:
                extra.append(base)  # "fullest" -> also "full"
        for i in range(len(words) - 1):  # "page views" of x_pageviews_total: the name's own compound
            pair = words[i] + words[i + 1]
            if pair in self._name_tokens and not {words[i], words[i + 1]} <= self._name_tokens | STOPWORDS:
                words[i:i + 2] = [pair, ""]
        words = [w for w in words if w]
        it = Intent(text=" ".join(words), words=words, time=spec, reading=reading)
        joined = f" {it.text} "
        words = it.words = words + extra
        # "response code", "response status": an outcome label, not the time to respond
        concept_words = set(words) - ({"response", "responses"} if re.search(
            r"\bresponse\s+(?:codes?|status\w*|class\w*)\b|\b[1-5]xx\s+responses?\b", joined) else set())
        for concept, (trig, _) in CONCEPTS.items():
            if trig & concept_words:
                it.concepts.add(concept)
        if re.search(r"\b(?:given|gave|giving|give)\s+up\b", joined):  # "retries given up": failures
            it.concepts.add("errors")
            it.concepts.discard("up")
        it.by_which = False
        if re.search(r"\b(?:response|request|query|processing|execution|wait|waiting|load|round.?trip)\s+times?\b",
                     f" {spec.rest} ") or "how long" in joined:
            it.concepts.add("latency")
        m = _QUANT.search(joined)
        if m:
            q = float(m.group(1) or m.group(2))
            it.quantile = q / (10 ** len(str(int(q)))) if q >= 1 else q
            if m.group(1) and len(m.group(1)) == 3 and "." not in m.group(1):
                it.quantile = float("0." + m.group(1))  # p999 -> 0.999
            it.concepts.add("latency")
        elif "median" in words:
            it.quantile = 0.5
        if {"average", "avg", "mean"} & set(words):
            if "latency" in it.concepts and it.quantile is None:
                it.mean = True
            else:
                it.aggregation = "avg"
        if {"total", "overall", "sum", "combined", "altogether", "aggregate"} & set(words):
            it.aggregation = it.aggregation or "sum"
        if "maximum" in words or ("max" in words and not re.search(r"\bmax\w*\s+\d", joined)):
            it.aggregation = it.aggregation or "max"
        if "minimum" in words:
            it.aggregation = it.aggregation or "min"
        m = re.search(r"\b(top|bottom|highest|lowest|worst|best|busiest|slowest|biggest)\s+(\d+)\b", joined)
        if m:
            k = int(m.group(2))
            if m.group(1) in ("bottom", "lowest", "best"):
                it.bottomk = k
            else:
                it.topk = k
            nxt = joined[m.end():].split()
            for w in nxt[:2]:  # "top 3 resources by ...": per resource; "top 2 celery tasks": per task
                if self._groupable(w):
                    it.by_words.append(w)
                    break
        for m in re.finditer(r"(?<!used )(?<!consumed )(?<!taken )(?<!held )"  # "memory used by containers"
                             r"\b(?:by|per|for each|for every|each|every|across|broken down by|grouped by|split by)"
                             r"\s+(?:each\s+|every\s+)?([a-z_]+)(?=(?:\s+([a-z_]+))?(?:\s+([a-z_]+))?)", joined):
            # "by record type", "in each haproxy backend": the label word may come one word later; "per load
            # balancer instance": a label word two words later (the words between name no label)
            if m.group(0).startswith("by ") and re.search(r"\b(?:made|sent|issued|called)\s+$", joined[:m.start()]):
                continue  # "calls made by productpage": who made them, not a grouping
            if m.group(0).startswith("across ") and m.group(1) in ("all", "both"):
                it.aggregation = it.aggregation or "sum"  # "across all worlds", "across both piholes": one total
                continue
            first = m.group(1)
            agent = m.group(2) if first in ("the", "a", "an") else first
            if m.group(0).startswith("by ") and agent and self._names_agent(agent):
                continue  # "dropped by fluent bit", "accepted by the prometheus receiver": who, not a grouping
            named = [w for w in (first, m.group(2), m.group(3)) if w and self._is_label_word(w) and self._groupable(w)]
            if named:
                it.by_words.append(named[0])
            else:
                for w in (first, m.group(2) if first not in STOPWORDS else None):
                    if w and self._groupable(w):
                        it.by_words.append(w)
                        break
        for concept in list(it.concepts):  # "free bytes in each of its pools": "pool" groups, it asks no saturation
            if (hit := CONCEPTS[concept][0] & set(words)) and hit <= set(it.by_words):
                it.concepts.discard(concept)
        m = re.search(r"\b(?:biggest|largest|busiest|fullest|heaviest|slowest|highest)((?:\s+[a-z_]+){1,3})", joined)
        last = m.group(1).split()[-1] if m else ""
        if m and not it.topk and not it.bottomk and (
                not m.group(1).split()[0].endswith("s") and self._is_label_word(m.group(1).split()[0])
                or len(last) > 2 and not last.endswith("s") and last not in STOPWORDS
                and any(last in n.split("_") for n in self.catalogue.label_values)
                and m.end() == len(joined.rstrip())):
            it.topk = 1  # "biggest bucket in minio", "fullest ebpf map": the one series that is the largest
        elif not it.topk and not it.bottomk and (m := _THE_MOST.match(joined)) and not m.group(2).endswith("s"):
            it.topk, it.bottomk = (None, 1) if m.group(1) in LOW_WORDS else (1, None)  # "the hottest gpu right now"
        m = re.search(r"\b(?:which|what)\s+([a-z_]+)", joined)
        m2 = re.search(r"\b(?:which|what)\s+[a-z_]+\s+([a-z_]+)", joined)
        if m and m2 and m.group(1) not in LABEL_WORDS and m.group(1) not in self.catalogue.label_values \
                and m2.group(1) not in STOPWORDS and self._is_label_word(m2.group(1)):
            m = m2  # "which django views": the label word after the system's name
        if m and (m.group(1) in LABEL_WORDS or m.group(1) not in STOPWORDS and m.group(1) in self.catalogue.label_values
                  or m.group(1).endswith("s") and m.group(1)[:-1] in self.catalogue.label_values):  # "which views"
            it.by_words.append(m.group(1))
            it.by_which = True
            if not it.topk and not it.bottomk:
                if HIGH_WORDS & set(words):
                    it.topk = 1
                elif LOW_WORDS & set(words):
                    it.bottomk = 1
        ratio_words = RATIO_WORDS & set(words)
        if ratio_words == {"used"} and re.search(r"\bused\s+by\b", joined):
            ratio_words = set()  # "memory used by coredns" is an amount, "memory usage" a fraction
        if reading.unit and ratio_words <= {"used", "usage", "utilization", "utilisation"}:
            ratio_words = set()  # "disk used in GB" asks an amount in a unit, not a fraction of the capacity
        close_to = re.search(r"\bhow\s+(?:close|near)\b.*\b(?:limit|capacity|max\w*|full)\b", joined)
        it.ratio = bool(ratio_words) or "%" in raw or "saturation" in it.concepts and not reading.unit \
            or bool(close_to) \
            or bool(re.search(r"\b(?:success|hit)\s+rate\b", joined))  # "cache hit rate": a share
        it.count = any(p in joined for p in COUNT_PHRASES) and not per_second
        if it.count and it.quantile is None and not it.mean and not re.search(r"\b(latency|duration|how long)\b", joined):
            it.concepts.discard("latency")  # "how many slow queries": a count of slow things
        it.per_second = bool(per_second)
        it.rate = bool(per_second) or bool(re.search(r"\b(rate|throughput|per sec\w*|/s|ops|qps|rps)\b", f" {raw} "))
        it.none = bool(re.search(r"\b(with no|without|with zero|having no|has no|have no)\b", joined))
        it.which = bool(re.match(r"\s*(which|what)\b", joined)) and not it.count
        it.ongoing = bool(_ONGOING.search(reading.rest.lower())) and not it.rate
        m = _CMP.search(joined)
        if m:
            op = ">" if m.group(1) in ("above", "over", "greater than", "more than", "exceeds", "exceed", "exceeding",
                                       "higher than", "beyond", "longer than", "slower than", "hotter than",
                                       "warmer than", "bigger than", "larger than") else "<"
            if m.group(1) == "at least":
                op = ">="
            if m.group(1) == "at most":
                op = "<="
            v, unit = float(m.group(2)), (m.group(3) or "").lower()
            if unit in ("%", "percent"):
                v, it.percent, it.ratio = v / 100.0, True, True
            elif unit in ("m", "minute", "s", "second", "hour", "h", "day", "d") or unit in TIME_UNIT_WORDS:
                v *= TIME_UNIT_WORDS.get(unit, {"m": 60.0, "minute": 60.0, "hour": 3600.0, "h": 3600.0, "day": 86400.0,
                                                "d": 86400.0}.get(unit, 1.0))
                it.comparison_unit = ("time", 1.0)
            elif unit in _SIZE:
                v, it.comparison_unit = v * _SIZE[unit], ("data", 1.0)
            it.comparison = Comparison(op, v)  # type: ignore[arg-type]
        if re.search(r"\b(down|dead|offline|unreachable|not up|failing scrapes?)\b", joined) and "up" in it.concepts \
                and not re.search(r"\bbreak(?:\s+\w+)?\s+down\b", joined):
            it.down = True
        it.values = find_values(raw, self.catalogue, self._reserved, self._name_tokens, self._vocab)
        consumed = {p for v in it.values if " " in v.word for p in v.word.lower().split()}
        for concept in list(it.concepts):  # "disk pressure" named a condition, not the disk concept
            trig = CONCEPTS[concept][0]
            if trig & consumed and not trig & (set(words) - consumed):
                it.concepts.discard(concept)
        value_words = {v.word.lower() for v in it.values} | consumed
        chatter = chatter_words(question)
        it.unknown = [w for w in words if len(w) >= 4 and w not in self._vocab and w not in value_words
                      and stem(w) not in self._stems and stem(w) not in self._vocab
                      and not self._index._abbreviations(w)
                      and not any(n.startswith(w) or w in n.split("_") for n in self.catalogue.label_values)
                      and not re.search(r"\d", w) and "/" not in w and w not in chatter]
        return it

    # ---- choosing the metric ----------------------------------------------------------------------------
    def score_metrics(self, it: Intent) -> list[tuple[float, str]]:
        # a value that is also a word of metric names ("mysql" is a job and the exporter's prefix) still
        # chooses the metric; so do numbers that names carry ("15 minute load") and label words that are
        # not a grouping ("which backend servers are down")
        names = self._name_tokens
        value_words = {w for w in (v.word.lower() for v in it.values if not v.weak)
                       if w not in names and not (w.endswith("s") and w[:-1] in names)}  # "consumers": x_consumer_count
        value_words |= {p for v in it.values if " " in v.word for p in v.word.lower().split()  # "disk pressure"
                        if not (p in names and set(v.labels) <= _WHO_LABELS)}  # job="argo-workflows": still words
        content = [w for w in it.words if (w not in STOPWORDS or w in _NAMED_STOPWORDS and (
                       w in names or any(s in names for s in SYNONYMS.get(w, ()))))
                   and w not in value_words
                   and (w not in LABEL_WORDS or (w in names and w not in it.by_words))
                   and (not w.isdigit() or w in names) and not re.fullmatch(r"p\d+", w)]
        concept_words = [w for w in it.words if w not in value_words and any(w in trig for trig, _ in CONCEPTS.values())]
        content = list(dict.fromkeys(content + concept_words))
        np = self._index.np
        # "messages in per second", "bytes out": the direction word of names like x_in_msgs / x_out_bytes
        content += [w for w in ("in", "out") if w in names and re.search(
            rf"\b{w}\s*(?:$|compared|vs|versus|now)", it.text.strip())]
        lex = self._index.lexical(content)
        for v in it.values:  # "heap" is a JVM memory gauge's own word when its area label holds it
            if v.weak and v.word.lower() in content:
                lex = np.maximum(lex, lex + (self._index.held(v) & (lex < 1.0)) / max(1, len(content)) * 0.9)
        bonus = self._index.bonus(it)
        score = lex + bonus
        cos = None
        if self._embedder is not None and self._doc_vecs is not None and not self._decisive(score):
            qv = self._embedder.encode_query(it.text or " ".join(content))
            cos = np.maximum(self._doc_vecs @ qv, 0.0)
            score = 0.6 * lex + 0.4 * cos + bonus
        out = [(float(sc), name) for sc, name in zip(score, self._names)]
        out.sort(key=lambda x: (-x[0], x[1]))
        if self.reranker is not None and cos is not None:  # trained where the embedding took part
            out = self.reranker.reorder(self, it, out, self._parts(out, lex, bonus, cos))
        return out

    def _parts(self, ranked, lex, bonus, cos) -> dict[str, dict[str, float]]:
        """The rule score's parts of the best candidates, for the learned reorder's features."""
        from .rerank import TOP_K

        pos = self._pos
        return {n: {"lex": float(lex[pos[n]]), "bonus": float(bonus[pos[n]]),
                    "cos": float(cos[pos[n]]) if cos is not None else float("nan")} for _, n in ranked[:TOP_K]}

    @staticmethod
    def _decisive(score) -> bool:
        """Words alone settle it (the best metric says nearly every word and no other comes close): the
        embedding, the slow part of planning, could not change the choice."""
        if len(score) < 2:
            return True
        top2 = score[score.argpartition(-2)[-2:]]
        best, second = max(top2), min(top2)
        return bool(best >= DECISIVE_SCORE and best - second >= DECISIVE_MARGIN)

    def _matched_words(self, it: Intent, name: str) -> int:
        """How many content words of the question the metric's name or HELP explains."""
        name_t, help_t = self._metric_tokens[name]
        values = {v.word.lower() for v in it.values} - name_t
        stems = self._metric_stems[name]
        words = sum(1 for w in it.words if w not in STOPWORDS and w not in LABEL_WORDS and w not in values
                    and ({w, *SYNONYMS.get(w, ()), w.rstrip("s")} & (name_t | help_t) or stem(w) in stems))
        info = self.catalogue.metrics[name]
        # a label value this metric really holds ("CrashLoopBackOff") explains a word of the question too
        held = sum(1 for v in it.values if any(lab in info.labels and info.has_value(lab, v.value) for lab in v.labels))
        return words + held

    def _lexical_coverage(self, it: Intent, name: str) -> float:
        name_t, help_t = self._metric_tokens[name]
        words = [w for w in it.words if w not in STOPWORDS and w not in LABEL_WORDS and not w.isdigit()
                 and w not in {v.word.lower() for v in it.values}]
        if not words:
            return 1.0
        hit = sum(1 for w in words if ({w, *SYNONYMS.get(w, ())} & (name_t | help_t)))
        return hit / len(words)

    # ---- planning ---------------------------------------------------------------------------------------
    def plan(self, question: str, context: QueryPlan | None = None) -> QueryPlan | Clarification:
        """Plan ``question``; with ``context`` (the previous turn's plan), follow-ups refine it."""
        t0 = time.perf_counter()
        now = self.now
        it = self.intent(question, now)
        if context is not None:
            from .followup import is_followup, refine

            if is_followup(it, self):
                return refine(context, it, self, now)
        ranked = self.score_metrics(it)
        if not ranked:
            return Clarification(question, "The backend has no metrics yet.", (), "unknown")
        best_score, best = ranked[0]
        unknown_value = unknown_value_of(self, it)
        if unknown_value is not None:
            return unknown_value
        info = self.catalogue.metrics[best]
        # a value only this kind of metric holds ("CrashLoopBackOff", level="error") makes it credible
        held_by = [sum(len(self._index.value_idx.get((lab, v.value), ())) for lab in v.labels) for v in it.values
                   if not v.prefix and not v.weak and v.score >= 0.9 and any(
                       lab in info.values and v.value in info.values[lab] for lab in v.labels)]
        held = bool(held_by)
        # a value only one or two metrics hold ("DiskPressure") is the question's whole subject
        slack = 0.3 if held and min(held_by) <= 2 else 0.2 if held else 0.0
        # "cassandra read latency": an unknown first word, and the best metric belongs to a system not named
        first = next((w for w in it.words if w not in STOPWORDS and w not in LABEL_WORDS), None)
        common = getattr(self._embedder, "common_words", frozenset()) if self.ordinary_words else frozenset()
        unknown_subject = first is not None and first in it.unknown and first not in common \
            and tokens(best)[0] not in it.words and not (held and min(held_by) <= 1)
        # an ordinary English word the catalogue lacks ("how often", "sitting in the queue") names no missing
        # system: only words that are not frequent English words count (embed.Embedder.common_words)
        unknown = [w for w in it.unknown if w not in common]
        if best_score < MIN_SCORE - slack or unknown_subject or (
                unknown and len(unknown) > self._matched_words(it, best)):
            cands = tuple(n for _, n in ranked[:5])
            return Clarification(question, "I could not find a metric that matches the question. Closest metrics: "
                                 + ", ".join(cands), cands, "unknown")
        vague = vague_of(it, ranked)
        if vague is not None:
            return vague
        runner = ranked[1][0] if len(ranked) > 1 else 0.0
        plan = shape_plan(it, info, self, now)
        confidence = max(0.05, min(1.0, 0.5 * min(1.0, best_score) + 0.5 * min(1.0, (best_score - runner) * 4)))
        alts = tuple(n for s, n in ranked[1:4] if s > best_score - 0.25)
        plan = replace(plan, question=question, confidence=round(confidence, 3), alternatives=alts,
                       notes=plan.notes + self.notes)
        log.debug("planned %r in %.1f ms", question, (time.perf_counter() - t0) * 1000)
        return plan
