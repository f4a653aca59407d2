"""The columnar store: per series a sorted int64 ms timestamp array and a float64 value array.

Label sets are interned as sorted tuples; a postings index maps ``name -> value -> series ids`` so
matchers (``= != =~ !~``, regexes fully anchored like Prometheus) select series without scanning.
Persisted as one ``store.npz`` (concatenated columns + offsets) plus ``meta.json``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...errors import InputError
from ...types import MetricMetadata
from .values import NAME, Labels, make_labels

log = logging.getLogger(__name__)

STALE_NAN_BITS = 0x7FF0000000000002
FORMAT_VERSION = 1
Matcher = tuple[str, str, str]  # (label, op, value) with op one of = != =~ !~


@lru_cache(maxsize=1024)
def compile_regex(pattern: str) -> re.Pattern[str]:
    """A Prometheus label regex: RE2 syntax, anchored at both ends."""
    try:
        return re.compile(f"(?:{pattern})")
    except re.error as exc:
        raise InputError(f"invalid regular expression {pattern!r}: {exc}") from exc


def matches(op: str, pattern: str, value: str) -> bool:
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    hit = compile_regex(pattern).fullmatch(value) is not None
    return hit if op == "=~" else not hit


def is_stale(values: np.ndarray) -> np.ndarray:
    return values.view(np.uint64) == STALE_NAN_BITS


class Store:
    """Series label sets, their samples, a postings index and TYPE/HELP/UNIT metadata."""

    def __init__(self, labels: list[Labels], ts: list[np.ndarray], vals: list[np.ndarray],
                 metadata: dict[str, MetricMetadata] | None = None) -> None:
        self.labels = labels
        self.ts = ts
        self.vals = vals
        self.metadata = metadata or {}
        self.postings: dict[str, dict[str, np.ndarray]] = {}
        index: dict[str, dict[str, list[int]]] = {}
        for i, lab in enumerate(labels):
            for k, v in lab:
                index.setdefault(k, {}).setdefault(v, []).append(i)
        for k, vs in index.items():
            self.postings[k] = {v: np.asarray(ids, dtype=np.int64) for v, ids in vs.items()}
        # range windows ignore staleness markers; keep a marker-free view only where one exists
        self.range_ts, self.range_vals = [], []
        for t, v in zip(ts, vals):
            stale = is_stale(v)
            if stale.any():
                self.range_ts.append(t[~stale])
                self.range_vals.append(v[~stale])
            else:
                self.range_ts.append(t)
                self.range_vals.append(v)

    # ---- construction -------------------------------------------------------------------------
    @classmethod
    def from_columns(cls, series: Sequence[dict[str, str]], ids: np.ndarray, ts_ms: np.ndarray,
                     values: np.ndarray, metadata: dict[str, MetricMetadata] | None = None) -> Store:
        """Build from one row per sample (series id, ms timestamp, value); duplicates keep the last."""
        interned: dict[Labels, int] = {}
        remap = np.empty(len(series), dtype=np.int64)
        for i, s in enumerate(series):
            remap[i] = interned.setdefault(make_labels(s), len(interned))
        sid = remap[ids] if len(ids) else ids
        order = np.lexsort((np.arange(len(sid)), ts_ms, sid))
        sid, t, v = sid[order], ts_ms[order], values[order]
        if len(sid):
            # drop all but the last of equal (series, timestamp) pairs
            keep = np.ones(len(sid), dtype=bool)
            keep[:-1] = (sid[1:] != sid[:-1]) | (t[1:] != t[:-1])
            sid, t, v = sid[keep], t[keep], v[keep]
        bounds = np.searchsorted(sid, np.arange(len(interned) + 1))
        labels = list(interned)
        tss = [t[bounds[i]: bounds[i + 1]].copy() for i in range(len(labels))]
        vs = [v[bounds[i]: bounds[i + 1]].copy() for i in range(len(labels))]
        return cls(labels, tss, vs, metadata)

    @classmethod
    def from_openmetrics(cls, path: str | Path) -> Store:
        """Load an OpenMetrics (or timestamped Prometheus text) file."""
        t0 = time.perf_counter()
        try:
            from .fastparse import parse_file_fast as parse_file
        except ImportError:  # pragma: no cover - pyarrow missing: the careful parser still works
            from .openmetrics import parse_file
        parsed = parse_file(path)
        store = cls.from_columns(parsed.series, parsed.ids, parsed.ts_ms, parsed.values, parsed.metadata)
        log.info("loaded %d samples in %d series from %s in %.2fs", store.num_samples, len(store.labels),
                 path, time.perf_counter() - t0)
        return store

    @classmethod
    def from_text(cls, text: str) -> Store:
        from .openmetrics import parse_text

        parsed = parse_text(text)
        return cls.from_columns(parsed.series, parsed.ids, parsed.ts_ms, parsed.values, parsed.metadata)

    # ---- persistence --------------------------------------------------------------------------
    def save(self, directory: str | Path) -> Path:
        """Write ``store.npz`` + ``meta.json`` into ``directory`` (created if needed)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        lengths = np.array([len(t) for t in self.ts], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        np.savez(d / "store.npz",
                 ts=np.concatenate(self.ts) if self.ts else np.zeros(0, np.int64),
                 vals=np.concatenate(self.vals) if self.vals else np.zeros(0),
                 offsets=offsets)
        meta = {"format": FORMAT_VERSION, "series": [dict(lab) for lab in self.labels],
                "metadata": {k: asdict(m) for k, m in self.metadata.items()}}
        (d / "meta.json").write_text(json.dumps(meta))
        return d

    @classmethod
    def load(cls, directory: str | Path) -> Store:
        d = Path(directory)
        if not (d / "store.npz").is_file() or not (d / "meta.json").is_file():
            raise InputError(f"No embedded store in {d}", hint="Create one: promv5-lab embedded load --from FILE --out DIR")
        meta = json.loads((d / "meta.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise InputError(f"Store in {d} has format {meta.get('format')}, expected {FORMAT_VERSION}",
                             hint="Re-create it with: promv5-lab embedded load")
        with np.load(d / "store.npz") as z:
            ts, vals, off = z["ts"], z["vals"], z["offsets"]
        labels = [make_labels(s) for s in meta["series"]]
        tss = [ts[off[i]: off[i + 1]] for i in range(len(labels))]
        vs = [vals[off[i]: off[i + 1]] for i in range(len(labels))]
        md = {k: MetricMetadata(**m) for k, m in meta.get("metadata", {}).items()}
        return cls(labels, tss, vs, md)

    # ---- queries ------------------------------------------------------------------------------
    @property
    def num_samples(self) -> int:
        return int(sum(len(t) for t in self.ts))

    @property
    def nbytes(self) -> int:
        return int(sum(t.nbytes + v.nbytes for t, v in zip(self.ts, self.vals)))

    def time_bounds(self) -> tuple[int, int] | None:
        firsts = [t[0] for t in self.ts if len(t)]
        if not firsts:
            return None
        return int(min(firsts)), int(max(t[-1] for t in self.ts if len(t)))

    def _ids_matching(self, name: str, op: str, value: str) -> np.ndarray:
        """Boolean mask over series for one matcher (a missing label counts as the empty string)."""
        n = len(self.labels)
        mask = np.zeros(n, dtype=bool)
        post = self.postings.get(name, {})
        if op == "=" and value != "":
            ids = post.get(value)
            if ids is not None:
                mask[ids] = True
            return mask
        # evaluate against every present value, then handle series without the label
        for v, ids in post.items():
            if matches(op, value, v):
                mask[ids] = True
        if matches(op, value, ""):
            has = np.zeros(n, dtype=bool)
            for ids in post.values():
                has[ids] = True
            mask |= ~has
        return mask

    def select(self, matchers: Iterable[Matcher]) -> np.ndarray:
        """Series ids matching every matcher, in label-set order."""
        mask = np.ones(len(self.labels), dtype=bool)
        for name, op, value in matchers:
            mask &= self._ids_matching(name, op, value)
            if not mask.any():
                break
        return np.flatnonzero(mask)

    def select_sets(self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int | None = None,
                    end_ms: int | None = None) -> list[int]:
        """Union of series matching any matcher set that have samples in [start, end] (API 'match[]')."""
        ids: set[int] = set()
        for ms in matcher_sets:
            ids.update(int(i) for i in self.select(ms))
        out = []
        for i in sorted(ids, key=lambda j: self.labels[j]):
            t = self.ts[i]
            if start_ms is not None and end_ms is not None:
                lo = np.searchsorted(t, start_ms, "left")
                if lo >= len(t) or t[lo] > end_ms:
                    continue
            out.append(i)
        return out

    def label_names(self, ids: Iterable[int] | None = None) -> list[str]:
        if ids is None:
            return sorted(self.postings)
        return sorted({k for i in ids for k, _ in self.labels[i]})

    def label_values(self, name: str, ids: Iterable[int] | None = None) -> list[str]:
        if ids is None:
            return sorted(self.postings.get(name, {}))
        vals = set()
        for i in ids:
            for k, v in self.labels[i]:
                if k == name:
                    vals.add(v)
        return sorted(vals)

    def metric_names(self) -> list[str]:
        return self.label_values(NAME)
