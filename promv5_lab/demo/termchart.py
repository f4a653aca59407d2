"""A small chart for the terminal: one line of block characters with a marked window under it.

::

    ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▅█████████████████▇▁▁▁▁▁▁▁▁▁▁▁▁▁▁   0.001667 .. 0.9645
    03:24           └──── incident ────┘          06:00

Pure text, no dependencies beyond numpy; NaN (no sample) is drawn as a space. Several series are drawn
as their maximum at each time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np

BARS = "▁▂▃▄▅▆▇█"

__all__ = ["BARS", "chart", "fmt_value", "sparkline"]


def fmt_value(x: float) -> str:
    """4 significant digits (3 in scientific notation for very large or small values); n/a for NaN."""
    if math.isnan(x):
        return "n/a"
    a = abs(x)
    return f"{x:.3g}" if a and (a >= 1e5 or a < 1e-3) else f"{x:.4g}"


def _buckets(values: np.ndarray, width: int) -> np.ndarray:
    """Mean of each of ``width`` equal slices (NaN-aware; NaN where a slice has no sample)."""
    n = len(values)
    if n <= width:
        return values.astype(float)
    edges = np.linspace(0, n, width + 1).astype(int)
    out = np.full(width, np.nan)
    for i in range(width):
        part = values[edges[i]:edges[i + 1]]
        part = part[np.isfinite(part)]
        if part.size:
            out[i] = part.mean()
    return out


def sparkline(values: Sequence[float] | np.ndarray, width: int = 60) -> str:
    """``values`` squeezed into ``width`` block characters, lowest to highest; NaN as a space."""
    if width < 1:
        raise ValueError("width must be at least 1")
    v = _buckets(np.asarray(values, dtype=float), width)
    finite = v[np.isfinite(v)]
    if not finite.size:
        return " " * len(v)
    lo, hi = float(finite.min()), float(finite.max())
    span = hi - lo
    out = []
    for x in v:
        if not math.isfinite(x):
            out.append(" ")
        elif span == 0:
            out.append(BARS[0])
        else:
            out.append(BARS[min(len(BARS) - 1, int((x - lo) / span * len(BARS)))])
    return "".join(out)


def chart(frame, *, window: tuple[datetime, datetime] | None = None, width: int = 60, label: str = "incident",
          indent: str = "") -> list[str]:
    """Two lines for a tidy frame (``timestamp``, ``value``): the sparkline with its range, and the time axis
    with ``window`` marked. Empty frames give one line saying so."""
    if frame is None or frame.empty:
        return [f"{indent}(no data)"]
    wide = frame.groupby("timestamp")["value"].max().sort_index()
    times, values = wide.index, wide.to_numpy(dtype=float)
    line = sparkline(values, width)
    finite = values[np.isfinite(values)]
    rng = f"{fmt_value(float(finite.min()))} .. {fmt_value(float(finite.max()))}" if finite.size else "no finite values"
    w = len(line)
    axis = [" "] * w
    if window is not None and len(times) > 1:
        t0, t1 = times[0].value, times[-1].value
        span = max(1, t1 - t0)

        def col(t: datetime) -> int:
            import pandas as pd

            return max(0, min(w - 1, int((pd.Timestamp(t).value - t0) / span * w)))

        a, b = col(window[0]), col(window[1])
        if b > a:
            axis[a], axis[b] = "└", "┘"
            for i in range(a + 1, b):
                axis[i] = "─"
            text = f" {label} "
            if b - a - 1 >= len(text):
                mid = a + 1 + (b - a - 1 - len(text)) // 2
                axis[mid:mid + len(text)] = list(text)
    start, end = f"{times[0]:%H:%M}", f"{times[-1]:%H:%M}"
    axis_line = "".join(axis)
    if axis_line[:len(start)].strip() == "":
        axis_line = start + axis_line[len(start):]
    if axis_line[w - len(end):].strip() == "":
        axis_line = axis_line[:w - len(end)] + end
    return [f"{indent}{line}   {rng}", f"{indent}{axis_line.rstrip()}"]
