"""A learned reorder of the rule scorer's best metrics: a linear listwise model over catalogue features.

The rule scorer (:mod:`.scoring` + the embedding blend in :mod:`.planner`) ranks every metric. When words alone
do not settle the choice, :class:`Reranker` re-scores its ``TOP_K`` best candidates with features any catalogue
gives (the rule score and its parts, how much of the question the name and HELP explain, TYPE against what the
question asks, unit suffixes, label values and groupings the metric holds) and reorders them. Only the names move:
the list keeps the rule scores by position, so the thresholds that decide to ask back are unchanged.

The weights are learned by ``benchmarks/nl_train.py`` from the development set and held-out sets 1-7 (softmax over
each question's candidates, the reference PromQL's metric being the right one) and shipped as a small JSON file
(``rerank_weights.json``: feature names, their mean and scale, one weight each). A missing or unreadable file
logs a warning and leaves the rule order in place.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .catalogue import stem, tokens
from .vocab import LABEL_WORDS, STOPWORDS, SYNONYMS

if TYPE_CHECKING:  # pragma: no cover
    from .intent import Intent
    from .planner import OfflinePlanner

__all__ = ["FEATURES", "TOP_K", "WEIGHTS_PATH", "Reranker", "candidate_features", "load_shipped"]

log = logging.getLogger(__name__)

TOP_K = 10
WEIGHTS_PATH = Path(__file__).with_name("rerank_weights.json")
_GENERIC = frozenset({"total", "count", "seconds", "bytes", "sum", "info", "current", "value"})
_TYPES = ("counter", "gauge", "histogram", "summary", "unknown")

FEATURES: tuple[str, ...] = (
    "score", "gap_top", "rank", "is_top", "lex", "bonus", "cos", "has_cos",
    "name_cov", "help_cov", "any_cov", "name_prec", "system_named", "n_name_tokens",
    *(f"type_{t}" for t in _TYPES),
    "lat_x_hist", "lat_x_seconds", "rate_x_counter", "rate_x_gauge", "count_x_gauge", "count_x_counter",
    "ratio_x_ratio_name", "ratio_x_bytes", "mem_x_bytes", "plain_x_counter", "quantile_x_summary",
    "suffix_info", "suffix_created", "values_held", "values_missed", "by_held", "by_missed",
    "exact_name", "help_empty", "cos_rank", "lex_rank", "cov_rank", "prec_rank",
)
_RANKED = (("cos", 6), ("lex", 4), ("cov", 10), ("prec", 11))  # rank among the candidates of these columns


def _question_terms(it: Intent) -> tuple[set[str], set[str]]:
    """The question's content words (no values, stop or label words) and their stems and synonyms."""
    values = {v.word.lower() for v in it.values}
    words = {w for w in it.words if w not in STOPWORDS and w not in LABEL_WORDS and w not in values
             and not w.isdigit() and len(w) > 1}
    expanded = set(words)
    for w in words:
        expanded |= set(SYNONYMS.get(w, ()))
        expanded.add(stem(w))
    return words, expanded


def candidate_features(planner: OfflinePlanner, it: Intent, names: list[str], scores: list[float],
                       parts: dict[str, dict[str, float]]) -> list[list[float]]:
    """One feature row per candidate ``names[i]`` (rule score ``scores[i]``), in :data:`FEATURES` order.

    ``parts[name]`` holds the rule scorer's ``lex``, ``bonus`` and ``cos`` (``nan`` when no embedding was made)."""
    cat = planner.catalogue
    words, expanded = _question_terms(it)
    qstems = {stem(w) for w in it.words} | set(it.words)
    top = scores[0] if scores else 0.0
    lat = "latency" in it.concepts or it.quantile is not None or it.mean
    mem = bool({"memory", "bytes", "size", "disk", "storage"} & set(it.words)) or "memory" in it.concepts
    plain = not (it.rate or it.count or lat or it.ratio)
    strong_values = [v for v in it.values if not v.weak]
    rows = []
    for i, name in enumerate(names):
        info = cat.metrics[name]
        name_t, help_t = planner._metric_tokens[name]
        stems = planner._metric_stems[name]
        name_stems = {stem(t) for t in name_t} | name_t
        hit_name = sum(1 for w in words if ({w, stem(w), *SYNONYMS.get(w, ())} & name_stems))
        hit_help = sum(1 for w in words if ({w, stem(w), *SYNONYMS.get(w, ())} & (help_t | {stem(t) for t in help_t})))
        hit_any = sum(1 for w in words if ({w, *SYNONYMS.get(w, ())} & (name_t | help_t)) or stem(w) in stems)
        n = max(1, len(words))
        ntoks = tokens(name)
        meaningful = [t for t in ntoks[1:] if t not in _GENERIC] or ntoks
        prec = sum(1 for t in meaningful if t in expanded or stem(t) in qstems) / max(1, len(meaningful))
        typ = info.type if info.type in _TYPES else "unknown"
        low = name.lower()
        seconds = low.endswith(("_seconds", "_seconds_total", "_ms", "_milliseconds", "_duration"))
        is_bytes = "bytes" in ntoks
        ratio_name = low.endswith(("_ratio", "_percent", "_percentage", "_pct")) or "utilization" in ntoks
        held = sum(1 for v in strong_values if any(lab in info.labels and info.has_value(lab, v.value)
                                                   for lab in v.labels))
        by = [w for w in it.by_words if w]
        by_held = sum(1 for w in by if any(w == lab or w.rstrip("s") == lab or w in lab.split("_")
                                           or w.rstrip("s") in lab.split("_") for lab in info.labels))
        p = parts.get(name, {})
        cos = p.get("cos", float("nan"))
        row = [
            scores[i], scores[i] - top, i / TOP_K, float(i == 0), p.get("lex", 0.0), p.get("bonus", 0.0),
            0.0 if math.isnan(cos) else cos, 0.0 if math.isnan(cos) else 1.0,
            hit_name / n, hit_help / n, hit_any / n, prec, float(ntoks[0] in it.words), len(ntoks) / 5.0,
            *(float(typ == t) for t in _TYPES),
            float(lat and typ in ("histogram", "summary")), float(lat and seconds),
            float(it.rate and typ == "counter"), float(it.rate and typ == "gauge"),
            float(it.count and typ == "gauge"), float(it.count and typ == "counter"),
            float(it.ratio and ratio_name), float(it.ratio and is_bytes), float(mem and is_bytes),
            float(plain and typ == "counter"), float(it.quantile is not None and typ == "summary"),
            float(low.endswith("_info")), float(low.endswith(("_created", "_timestamp_seconds"))),
            held / max(1, len(strong_values)) if strong_values else 0.0,
            (len(strong_values) - held) / max(1, len(strong_values)) if strong_values else 0.0,
            by_held / max(1, len(by)) if by else 0.0, (len(by) - by_held) / max(1, len(by)) if by else 0.0,
            sum(1 for w in words if w in name_t) / n, float(not info.help),
        ]
        rows.append(row)
    for _, col in _RANKED:  # 0 for the candidate best on this column (ties share it), 1 for the worst
        for row in rows:
            row.append(sum(1 for other in rows if other[col] > row[col] + 1e-9) / TOP_K)
    return rows


@dataclass(frozen=True)
class Reranker:
    """Linear weights over standardised :data:`FEATURES` (``mean``/``scale`` per feature)."""

    weights: tuple[float, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    source: str = ""

    def __post_init__(self) -> None:
        n = len(FEATURES)
        if not (len(self.weights) == len(self.mean) == len(self.scale) == n):
            raise ConfigError(f"reranker weights {self.source or ''} have {len(self.weights)} weights for {n} features",
                              hint="retrain them: python benchmarks/nl_train.py --write")
        if not all(math.isfinite(x) for x in (*self.weights, *self.mean, *self.scale)) or min(self.scale) <= 0:
            raise ConfigError(f"reranker weights {self.source or ''} hold non-finite numbers or a zero scale",
                              hint="retrain them: python benchmarks/nl_train.py --write")

    @classmethod
    def from_dict(cls, doc: dict, source: str = "") -> Reranker:
        try:
            if list(doc["features"]) != list(FEATURES):
                raise ConfigError(f"reranker weights {source} were trained on other features",
                                  hint="retrain them: python benchmarks/nl_train.py --write")
            return cls(tuple(float(x) for x in doc["weights"]), tuple(float(x) for x in doc["mean"]),
                       tuple(float(x) for x in doc["scale"]), source)
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"reranker weights {source} are malformed ({exc!r})",
                              hint="retrain them: python benchmarks/nl_train.py --write") from exc

    @classmethod
    def load(cls, path: str | Path) -> Reranker:
        """Read a weights file; a missing or corrupt one raises :class:`ConfigError` naming it."""
        p = Path(path)
        try:
            doc = json.loads(p.read_text())
        except OSError as exc:
            raise ConfigError(f"cannot read reranker weights {p}: {exc.strerror or exc}",
                              hint="retrain them: python benchmarks/nl_train.py --write") from exc
        except ValueError as exc:
            raise ConfigError(f"reranker weights {p} are not JSON ({exc})",
                              hint="retrain them: python benchmarks/nl_train.py --write") from exc
        if not isinstance(doc, dict):
            raise ConfigError(f"reranker weights {p} are not a JSON object",
                              hint="retrain them: python benchmarks/nl_train.py --write")
        return cls.from_dict(doc, str(p))

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "weights": list(self.weights), "mean": list(self.mean),
                "scale": list(self.scale)}

    def score(self, rows: list[list[float]]) -> list[float]:
        return [sum(w * (x - m) / s for w, x, m, s in zip(self.weights, row, self.mean, self.scale)) for row in rows]

    def reorder(self, planner: OfflinePlanner, it: Intent, ranked: list[tuple[float, str]],
                parts: dict[str, dict[str, float]]) -> list[tuple[float, str]]:
        """``ranked`` with its first :data:`TOP_K` names reordered by the model (scores stay by position)."""
        head = ranked[:TOP_K]
        if len(head) < 2:
            return ranked
        names = [n for _, n in head]
        scores = [s for s, _ in head]
        learned = self.score(candidate_features(planner, it, names, scores, parts))
        order = sorted(range(len(head)), key=lambda i: (-learned[i], i))
        return [(scores[pos], names[i]) for pos, i in enumerate(order)] + ranked[TOP_K:]


_SHIPPED: list[Reranker | None] = []


def load_shipped() -> Reranker | None:
    """The package's weights, read once per process; ``None`` (with a warning) when missing or corrupt."""
    if not _SHIPPED:
        try:
            _SHIPPED.append(Reranker.load(WEIGHTS_PATH))
        except ConfigError as exc:
            log.warning("learned metric reranker off: %s", exc.message if hasattr(exc, "message") else exc)
            _SHIPPED.append(None)
    return _SHIPPED[0]

