"""A snapshot of what a backend holds (metric names, TYPE, HELP, labels and their values), for grounding.

Built from any backend that has ``metadata()``, ``label_values()`` and, when available, ``series()`` or
``label_names(match)``. With ``series()`` the whole catalogue takes a few requests: the names, the metadata,
and one ``/api/v1/series`` call per ~6,000 characters of metric names (a 2,000-metric server: about ten). Never assumes particular metric names: counters are recognised by TYPE or the
``_total`` suffix, histograms by ``_bucket``/``_sum``/``_count`` families with an ``le`` label.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ..types import MetricMetadata, MetricType

__all__ = ["Catalogue", "MetricInfo", "catalogue_for", "stem", "tokens"]

log = logging.getLogger(__name__)

_SPLIT = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[a-z])(?=[0-9])|(?<=[A-Z])(?=[A-Z](?!s(?:[^a-z]|$))[a-z])")
# ifHCOutUcastPkts -> if HC Out Ucast Pkts (an acronym before a word), but RPCs stays one word
MAX_VALUES_PER_LABEL = 2000  # labels with more values than this are not used for value matching


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of a metric name or a sentence (``MemAvailable_bytes`` -> mem, available, bytes)."""
    return [t for t in _SPLIT.split(_CAMEL.sub(" ", text).lower()) if t]


_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "ed", "es", "est", "s")


def stem(word: str) -> str:
    """A crude English stem, enough to meet exporters' words halfway (evictions/evicted -> evict,
    throttling/throttled -> throttl, logs -> log). Never shorter than four letters."""
    for suf in _SUFFIXES:
        if word.endswith(suf) and len(word) - len(suf) >= 4:
            return word[: -len(suf)]
    if len(word) == 4 and word[-1] == "s" and (word[-2] not in "suie" or word.endswith("pus")):
        return word[:-1]  # short plurals: osds, pods, jobs, cpus/gpus (not bus, less, this, does)
    return word


@dataclass(frozen=True)
class MetricInfo:
    """One queryable metric: for histograms and summaries, the family (``x`` for ``x_bucket``...)."""

    name: str
    type: MetricType
    help: str
    labels: tuple[str, ...]
    values: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, hash=False)
    has_quantiles: bool = True  # a summary with quantile series (Micrometer's often have only _sum/_count)

    def has_value(self, label: str, value: str) -> bool:
        """Whether a series of this metric has ``label=value`` (True when per-metric values are unknown)."""
        vals = self.values.get(label)
        return value in vals if vals is not None else label in self.labels

    @property
    def text(self) -> str:
        """What retrieval looks at: the name split into words, plus the HELP text."""
        return f"{' '.join(tokens(self.name))}. {self.help}".strip()


@dataclass(frozen=True)
class Catalogue:
    """A frozen snapshot: metrics by name, and label values by label name."""

    metrics: dict[str, MetricInfo]
    label_values: dict[str, tuple[str, ...]]
    source: str = ""
    built_at: float = field(default_factory=time.time)

    @property
    def key(self) -> str:
        """Identifies the catalogue's content (embedding caches are keyed on it)."""
        import hashlib

        h = hashlib.sha1()
        for m in sorted(self.metrics.values(), key=lambda m: m.name):
            h.update(f"{m.name}|{m.type}|{m.help}\n".encode())
        return h.hexdigest()

    def labels_of(self, metric: str) -> tuple[str, ...]:
        info = self.metrics.get(metric)
        return info.labels if info else ()

    @classmethod
    def from_backend(cls, backend: Any) -> Catalogue:
        """Read names, metadata and labels from ``backend`` (a MetricCatalogue, optionally with series())."""
        t0 = time.perf_counter()
        names_fn = getattr(backend, "metric_names", None)
        names = list(names_fn()) if names_fn else list(backend.label_values("__name__"))
        try:
            meta: dict[str, MetricMetadata] = dict(backend.metadata())
        except Exception as exc:  # noqa: BLE001 - metadata is optional grounding; a failure must not stop planning
            log.info("no metadata from %s: %s", getattr(backend, "name", backend), exc)
            meta = {}
        labels_by_name: dict[str, tuple[str, ...]] = {}
        values_by_name: dict[str, dict[str, frozenset[str]]] = {}
        label_vals: dict[str, tuple[str, ...]] = {}
        batched = _batched_series(backend, names)
        if batched is not None:
            seen: dict[str, set[str]] = {}
            for n in names:
                found = batched.get(n, {})
                labels_by_name[n] = tuple(sorted(found))
                vals = {k: frozenset(v) for k, v in found.items() if len(v) <= MAX_VALUES_PER_LABEL and k != "le"}
                if vals:
                    values_by_name[n] = vals
                for k, v in found.items():
                    if k not in ("le", "quantile"):
                        seen.setdefault(k, set()).update(v)
            label_vals = {k: tuple(sorted(v)) for k, v in sorted(seen.items()) if len(v) <= MAX_VALUES_PER_LABEL}
        else:  # no series() on this backend: label names per metric, values per label
            for n in names:
                labs, vals = _labels_of(backend, n)
                labels_by_name[n] = tuple(labs)
                if vals:
                    values_by_name[n] = vals
            for lab in sorted({lab for ls in labels_by_name.values() for lab in ls}):
                if lab in ("le", "quantile"):
                    continue
                vals = tuple(backend.label_values(lab))
                if len(vals) <= MAX_VALUES_PER_LABEL:
                    label_vals[lab] = vals
        cat = cls.build(names, meta, labels_by_name, label_vals, source=str(getattr(backend, "name", "")),
                        values_by_name=values_by_name)
        log.info("catalogue of %d metrics read in %.2fs", len(cat.metrics), time.perf_counter() - t0)
        return cat

    @classmethod
    def build(cls, names: list[str], meta: dict[str, MetricMetadata], labels_by_name: dict[str, tuple[str, ...]],
              label_values: dict[str, tuple[str, ...]], source: str = "",
              values_by_name: dict[str, dict[str, frozenset[str]]] | None = None) -> Catalogue:
        """Group raw series names into queryable metrics using TYPE (when known) and naming conventions."""
        present = set(names)
        vb = values_by_name or {}
        metrics: dict[str, MetricInfo] = {}
        consumed: set[str] = set()
        for n in sorted(present):
            if n.endswith("_bucket") and "le" in labels_by_name.get(n, ()):
                fam = n[: -len("_bucket")]
                md = meta.get(fam)
                labs = tuple(sorted(set(labels_by_name[n]) - {"le"}))
                metrics[fam] = MetricInfo(fam, "histogram", md.help if md else "", labs, vb.get(n, {}))
                consumed.update({n, f"{fam}_sum", f"{fam}_count"})
        for n in sorted(present):
            if n.endswith("_sum") and f"{n[:-4]}_count" in present and n not in consumed:
                fam = n[:-4]
                md = meta.get(fam)
                if "quantile" in labels_by_name.get(fam, ()) or (md and md.type == "summary"):
                    labs = tuple(sorted(set(labels_by_name.get(fam, labels_by_name[n])) - {"quantile"}))
                    metrics[fam] = MetricInfo(fam, "summary", md.help if md else "", labs, vb.get(n, {}),
                                              has_quantiles=fam in present)
                    consumed.update({n, f"{fam}_count", fam})
        for n in sorted(present - consumed):
            md = meta.get(n)
            if md is None and n.endswith("_total"):
                md = meta.get(n[: -len("_total")])
            if md is None and n.endswith(("_sum", "_count")):
                md = meta.get(n.rsplit("_", 1)[0])
            mtype: MetricType = md.type if md else "unknown"
            if mtype in ("unknown", "untyped") and n.endswith("_total"):  # type: ignore[comparison-overlap]
                mtype = "counter"
            if mtype in ("histogram", "summary"):  # a _sum/_count without buckets: a counter of its own
                mtype = "counter"
            metrics[n] = MetricInfo(n, mtype, md.help if md else "", tuple(sorted(labels_by_name.get(n, ()))),
                                    vb.get(n, {}))
        return cls(metrics, dict(label_values), source)


CHUNK_CHARS = 6000  # regex characters per /api/v1/series request (a GET: stays under common 8 KiB URL limits)


def _name_chunks(names: list[str], limit: int = CHUNK_CHARS) -> list[list[str]]:
    chunks: list[list[str]] = [[]]
    size = 0
    for n in sorted(names):
        if chunks[-1] and size + len(n) + 1 > limit:
            chunks.append([])
            size = 0
        chunks[-1].append(n)
        size += len(n) + 1
    return [c for c in chunks if c]


def _batched_series(backend: Any, names: list[str]) -> dict[str, dict[str, set[str]]] | None:
    """Label names and values of every metric from a few ``series`` calls (one per ~6,000 characters of
    metric names, as ``{__name__=~"a|b|..."}``) instead of one call per metric. None when the backend has
    no ``series()`` or refuses the batched form (then the caller asks per metric)."""
    series = getattr(backend, "series", None)
    if series is None or not names:
        return None
    out: dict[str, dict[str, set[str]]] = {}
    try:
        for chunk in _name_chunks(names):
            # metric names are [a-zA-Z_:][a-zA-Z0-9_:]*: no regex metacharacters to escape
            selector = '{__name__=~"' + "|".join(chunk) + '"}'
            for s in series([selector]):
                found = out.setdefault(s.get("__name__", ""), {})
                for k, v in s.items():
                    if k != "__name__":
                        found.setdefault(k, set()).add(v)
    except Exception as exc:  # noqa: BLE001 - a backend that cannot batch still works per metric
        log.info("batched series lookup failed (%s); asking per metric", exc)
        return None
    return out


def _labels_of(backend: Any, name: str) -> tuple[list[str], dict[str, frozenset[str]]]:
    """Label names of one metric, and its values per label when the backend lists series."""
    series = getattr(backend, "series", None)
    if series is not None:
        try:
            found: dict[str, set[str]] = {}
            for s in series(name):
                for k, v in s.items():
                    if k != "__name__":
                        found.setdefault(k, set()).add(v)
            vals = {k: frozenset(v) for k, v in found.items() if len(v) <= MAX_VALUES_PER_LABEL and k != "le"}
            return sorted(found), vals
        except Exception as exc:  # noqa: BLE001 - fall back to label_names(match)
            log.debug("series(%s) failed: %s", name, exc)
    return [x for x in backend.label_names([name]) if x != "__name__"], {}


_CACHE: dict[str, Catalogue] = {}
_LOCK = threading.Lock()


def catalogue_for(backend: Any, *, refresh: bool = False, max_age_s: float = 300.0) -> Catalogue:
    """The cached catalogue of ``backend`` (keyed by its name), rebuilt when ``refresh`` or older than max_age."""
    key = f"{getattr(backend, 'name', '')}#{id(backend)}"
    with _LOCK:
        cat = _CACHE.get(key)
        if cat is not None and not refresh and time.time() - cat.built_at < max_age_s:
            return cat
    cat = Catalogue.from_backend(backend)
    with _LOCK:
        _CACHE[key] = cat
    return cat
