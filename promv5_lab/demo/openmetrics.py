"""Fast OpenMetrics (history, with timestamps) and Prometheus text (live, without) writers.

History files are what ``promtool tsdb create-blocks-from openmetrics`` reads: every family's samples
contiguous, ``# HELP``/``# TYPE`` once per family (counter families named without ``_total``), one
series after the other with its samples in time order, timestamps in seconds, ``# EOF`` last.
Formatting is vectorised per series: integers stay integers, floats get a short ``%g`` form.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO

import numpy as np

from ..backends.harness import split_by_time  # noqa: F401  (re-exported: it moved to the harness)
from .world import MetricFamily


def escape_label(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")


def series_key(name: str, labels: Mapping[str, str]) -> str:
    if not labels:
        return name
    return name + "{" + ",".join(f'{k}="{escape_label(str(v))}"' for k, v in labels.items()) + "}"


def le_str(b: float) -> str:
    return "+Inf" if b == float("inf") else repr(float(b))


def format_values(values: np.ndarray, fmt: str) -> list[str]:
    """``fmt``: "int" (rounded integers), or a %-format such as "%.6g" / "%.3f"."""
    if fmt == "int":
        return np.rint(values).astype(np.int64).astype(str).tolist()
    return np.char.mod(fmt, values).tolist()


class OpenMetricsWriter:
    """Writes one history file; call :meth:`family` then :meth:`series` for each of its series."""

    def __init__(self, fh: IO[str], timestamps: np.ndarray) -> None:
        self.fh = fh
        self.ts_suffix = [f" {int(x)}\n" for x in np.asarray(timestamps).tolist()] if np.all(
            np.asarray(timestamps) == np.round(timestamps)) else [f" {x:.3f}\n" for x in timestamps]
        self.series_count = 0
        self.samples = 0
        self._families: set[str] = set()
        self._current: MetricFamily | None = None

    def family(self, fam: MetricFamily) -> None:
        if fam.family in self._families:
            raise ValueError(f"metric family {fam.family} written twice; samples must be contiguous")
        self._families.add(fam.family)
        self._current = fam
        self.fh.write(f"# HELP {fam.family} {escape_help(fam.help)}\n# TYPE {fam.family} {fam.kind}\n")
        if fam.unit:
            self.fh.write(f"# UNIT {fam.family} {fam.unit}\n")

    def series(self, name: str, labels: Mapping[str, str], values: np.ndarray, fmt: str = "%.6g",
               mask: np.ndarray | None = None) -> None:
        assert self._current is not None and name.startswith(self._current.family), name
        vs = format_values(np.asarray(values, dtype=float), fmt)
        ts = self.ts_suffix
        if mask is not None:
            idx = np.flatnonzero(mask).tolist()
            if not idx:
                return
            vs = [vs[i] for i in idx]
            ts = [ts[i] for i in idx]
        prefix = series_key(name, labels) + " "
        self.fh.write("".join([prefix + v + s for v, s in zip(vs, ts)]))
        self.series_count += 1
        self.samples += len(vs)

    def close(self) -> None:
        self.fh.write("# EOF\n")


def fmt_number(v: float) -> str:
    if v == float("inf"):
        return "+Inf"
    if v == float("-inf"):
        return "-Inf"
    if v != v:
        return "NaN"
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return f"{v:.6g}" if abs(v) < 1e5 else f"{v:.3f}"


def prometheus_text(families: Iterable[tuple[MetricFamily, list[tuple[str, Mapping[str, str], float]]]]) -> str:
    """Prometheus text exposition 0.0.4 (live ``/metrics``): TYPE lines use the full counter name."""
    out: list[str] = []
    for fam, samples in families:
        type_name = fam.name
        out.append(f"# HELP {type_name} {escape_help(fam.help)}\n# TYPE {type_name} {fam.kind}\n")
        out.extend(f"{series_key(n, lab)} {fmt_number(v)}\n" for n, lab, v in samples)
    return "".join(out)
