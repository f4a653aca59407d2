"""Value types the evaluator passes around, vectorised across evaluation steps.

An instant vector over ``n`` steps is a :class:`Vec`: one row per series (its label set), a float64
``vals`` matrix and a boolean ``mask`` matrix (a sample exists at that step). NaN is a legitimate
sample value in PromQL, so presence is never encoded as NaN. A :class:`Scalar` is one float per step.
A :class:`Ranges` is what a range vector selector or a subquery hands to a function: raw samples per
series plus, per step, the closed window ``[end - range, end]`` to look at (Prometheus 2.x semantics).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Labels = tuple[tuple[str, str], ...]  # sorted (name, value) pairs, no empty values
NAME = "__name__"


class EvalError(Exception):
    """A PromQL evaluation error carrying Prometheus's errorType (bad_data, execution...)."""

    def __init__(self, message: str, error_type: str = "execution") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


def make_labels(d: dict[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in d.items() if v != ""))


def drop_name(lab: Labels) -> Labels:
    return tuple(p for p in lab if p[0] != NAME)


def get(lab: Labels, name: str) -> str:
    for k, v in lab:
        if k == name:
            return v
    return ""


def with_label(lab: Labels, name: str, value: str) -> Labels:
    d = dict(lab)
    if value == "":
        d.pop(name, None)
    else:
        d[name] = value
    return make_labels(d)


def fmt_labels(lab: Labels) -> str:
    """Like Prometheus's labels.String(): {__name__="up", job="api"}."""
    return "{" + ", ".join(f'{k}="{v}"' for k, v in lab) + "}"


@dataclass
class Vec:
    """An instant vector evaluated at ``n`` steps."""

    labels: list[Labels]
    vals: np.ndarray  # (series, steps) float64
    mask: np.ndarray  # (series, steps) bool
    sample_ts: np.ndarray | None = None  # (series, steps) int64 ms, only straight from a selector

    @classmethod
    def empty(cls, n: int) -> Vec:
        return cls([], np.zeros((0, n)), np.zeros((0, n), dtype=bool))

    @property
    def steps(self) -> int:
        return self.vals.shape[1]

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Scalar:
    vals: np.ndarray  # (steps,)


@dataclass
class Str:
    val: str


@dataclass
class Ranges:
    """Raw samples per series plus the per-step windows ``[ends - range_ms, ends]`` (both closed)."""

    labels: list[Labels]
    ts: list[np.ndarray]  # int64 ms, sorted
    vals: list[np.ndarray]  # float64
    ends: np.ndarray  # (steps,) int64 ms
    range_ms: int
    windows: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def bounds(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per series, (lo, hi) sample index arrays per step: the window is ts[lo:hi]."""
        if not self.windows:
            starts = self.ends - self.range_ms
            self.windows = [
                (np.searchsorted(t, starts, "left"), np.searchsorted(t, self.ends, "right")) for t in self.ts
            ]
        return self.windows


def merge_into(out: dict[Labels, tuple[np.ndarray, np.ndarray]], lab: Labels, vals: np.ndarray,
               mask: np.ndarray, dup_message: str) -> None:
    """Add one series' samples to ``out``; two samples with the same labels at one step is an error."""
    prev = out.get(lab)
    if prev is None:
        out[lab] = (vals.copy(), mask.copy())
        return
    pv, pm = prev
    if np.any(pm & mask):
        raise EvalError(dup_message)
    pv[mask] = vals[mask]
    pm |= mask


def vec_from(out: dict[Labels, tuple[np.ndarray, np.ndarray]], n: int) -> Vec:
    if not out:
        return Vec.empty(n)
    labels = list(out)
    return Vec(labels, np.stack([out[k][0] for k in labels]), np.stack([out[k][1] for k in labels]))


def dedupe(v: Vec, message: str = "vector cannot contain metrics with the same labelset") -> Vec:
    """Merge rows with identical labels (after a function dropped the metric name), erroring on clashes."""
    if len(set(v.labels)) == len(v.labels):
        return v
    out: dict[Labels, tuple[np.ndarray, np.ndarray]] = {}
    for i, lab in enumerate(v.labels):
        merge_into(out, lab, v.vals[i], v.mask[i], message)
    return vec_from(out, v.steps)


def format_value(v: float) -> str:
    """Go's strconv.FormatFloat(v, 'f', -1, 64) as Prometheus uses for sample values and count_values."""
    if np.isnan(v):
        return "NaN"
    if v in (np.inf, -np.inf):
        return "+Inf" if v > 0 else "-Inf"
    r = repr(float(v))  # shortest round-trip digits, like Go's -1 precision
    if "e" in r:
        return np.format_float_positional(v, trim="-")
    return r.removesuffix(".0")
