"""Synthetic dashboards with known anomalies: series generators and a matplotlib renderer.

Used by the training script (:mod:`.train`), the tests and ``benchmarks/vision_eval.py``. Every
rendered dashboard comes with its ground truth: each panel's box in pixels, its plot area, its series
(values, colour, anomaly kind and position).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._deps import require

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["ANOMALIES", "KINDS", "Dashboard", "TruePanel", "TrueSeries", "make_series", "render_matplotlib"]

KINDS = ("normal", "spike", "level_shift", "trend", "dropout")
ANOMALIES = KINDS[1:]

# Bright, distinct line colours (Grafana's classic palette plus tab10's saturated ones)
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A9", "#705DA0",
           "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#17becf", "#e377c2", "#bcbd22",
           "#73BF69", "#F2495C", "#5794F2", "#FF9830", "#B877D9", "#FADE2A")


@dataclass(frozen=True)
class TrueSeries:
    values: np.ndarray          # NaN where the series has no data
    colour: str                 # "#rrggbb"
    kind: str                   # one of KINDS
    where: float | None         # fraction of the time axis where the anomaly starts (None: normal)


@dataclass(frozen=True)
class TruePanel:
    bbox: tuple[int, int, int, int]       # x, y, width, height of the whole panel / axes frame
    plot: tuple[int, int, int, int]       # the plot area
    title: str
    series: tuple[TrueSeries, ...]

    @property
    def anomalous(self) -> bool:
        return any(s.kind != "normal" for s in self.series)

    @property
    def kind(self) -> str:
        return next((s.kind for s in self.series if s.kind != "normal"), "normal")


@dataclass(frozen=True)
class Dashboard:
    png: bytes
    panels: tuple[TruePanel, ...]
    style: str
    size: tuple[int, int] = field(default=(0, 0))


def make_series(rng: np.random.Generator, n: int, kind: str = "normal", *, strength: float = 1.0,
                jitter: float = 1.0) -> TrueSeries:
    """A metric-like series of ``n`` points with one anomaly of ``kind`` (colour left empty)."""
    np = require("numpy")
    t = np.linspace(0.0, 1.0, n)
    base = rng.uniform(10, 100)
    noise = rng.uniform(0.02, 0.06) * base
    shape = rng.choice(["flat", "season", "walk", "season+walk"])
    y = np.full(n, base)
    if "season" in shape:
        cycles = rng.uniform(1.5, 4.0)
        y = y + rng.uniform(1.5, 4.0) * noise * np.sin(2 * np.pi * cycles * t + rng.uniform(0, 6.3))
    if "walk" in shape:
        walk = np.cumsum(rng.normal(0, 1, n))
        walk -= np.linspace(walk[0], walk[-1], n)  # no net drift: a drift is a leak
        y = y + walk / max(1e-9, np.abs(walk).max()) * rng.uniform(1.0, 2.5) * noise * jitter
    y = y + rng.normal(0, noise, n) * rng.uniform(0.3, 1.0) * jitter
    scale = np.nanmax(y) - np.nanmin(y)
    where = None
    if kind == "spike":
        where = float(rng.uniform(0.1, 0.9))
        i = int(where * (n - 1))
        width = max(1, int(rng.uniform(0.003, 0.02) * n))
        amp = rng.uniform(2.0, 5.0) * scale * strength * rng.choice([1, 1, 1, -1])
        prof = np.exp(-0.5 * ((np.arange(n) - i) / max(0.5, width / 2)) ** 2)
        y = y + amp * prof
    elif kind == "level_shift":
        where = float(rng.uniform(0.2, 0.8))
        i = int(where * n)
        y[i:] += rng.uniform(1.2, 3.0) * scale * strength * rng.choice([1, -1])
    elif kind == "trend":
        where = float(rng.uniform(0.05, 0.5))
        i = int(where * n)
        ramp = np.clip((t - t[i]) / max(1e-9, 1 - t[i]), 0, None)
        y = y + ramp * rng.uniform(2.0, 4.0) * scale * strength * rng.choice([1, 1, -1])
    elif kind == "dropout":
        where = float(rng.uniform(0.15, 0.75))
        i = int(where * n)
        y[i:i + max(3, int(rng.uniform(0.08, 0.22) * n))] = np.nan
    elif kind != "normal":
        raise ValueError(f"unknown kind {kind!r}")
    return TrueSeries(y, "", kind, where)


_STYLES = ("default", "ggplot", "seaborn-v0_8-whitegrid", "seaborn-v0_8-darkgrid", "dark_background", "bmh",
           "fivethirtyeight", "Solarize_Light2", "seaborn-v0_8-white", "fast")


def render_matplotlib(rng: np.random.Generator, *, rows: int | None = None, cols: int | None = None,
                      style: str | None = None, anomaly_rate: float = 0.4, size: tuple[int, int] | None = None,
                      max_series: int = 3, legend: bool | None = None, n_points: int | None = None,
                      dpi: int = 100, kinds: list[list[str]] | None = None, noise: float = 1.0) -> Dashboard:
    """A matplotlib figure of ``rows`` x ``cols`` panels in a random style, as PNG with its ground truth.

    ``kinds`` fixes each panel's series (row by row), e.g. ``[["normal"], ["spike", "normal"]]``;
    ``noise`` scales the series' white noise and random walk (tests use calm series).
    """
    np = require("numpy")
    require("matplotlib", "analysis")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rows or int(rng.integers(1, 4))
    cols = cols or int(rng.integers(1, 4))
    style = style or str(rng.choice(_STYLES))
    w_px, h_px = size or (int(rng.integers(280, 460)) * cols, int(rng.integers(200, 330)) * rows)
    n = n_points or int(rng.integers(120, 400))
    legend = bool(rng.random() < 0.5) if legend is None else legend
    truth = []
    with plt.style.context(style):
        fig, axes = plt.subplots(rows, cols, figsize=(w_px / dpi, h_px / dpi), dpi=dpi, squeeze=False)
        lw = float(rng.uniform(0.8, 2.2))
        for r in range(rows):
            for c in range(cols):
                ax = axes[r][c]
                if kinds is not None:
                    forced = kinds[r * cols + c]
                    k = len(forced)
                else:
                    k = int(rng.integers(1, max_series + 1))
                    anomalous = rng.random() < anomaly_rate
                    bad = int(rng.integers(0, k)) if anomalous else -1
                    forced = [str(rng.choice(ANOMALIES)) if j == bad else "normal" for j in range(k)]
                colours = pick_colours(rng, k)
                series = []
                for j in range(k):
                    s = make_series(rng, n, forced[j], jitter=noise)
                    s = TrueSeries(s.values, str(colours[j]), s.kind, s.where)
                    ax.plot(np.arange(n), s.values, color=s.colour, lw=lw, label=f"series {j}")
                    series.append(s)
                title = f"panel {r * cols + c + 1}"
                ax.set_title(title, fontsize=9)
                ax.tick_params(labelsize=7)
                ax.set_xlim(0, n - 1)
                if legend and k > 1:
                    ax.legend(fontsize=6, loc=str(rng.choice(["upper left", "lower left", "best"])))
                truth.append((ax, title, tuple(series)))
        fig.tight_layout()
        fig.canvas.draw()
        buf = io_png(fig)
        H = fig.canvas.get_width_height()[1]
        panels = []
        for ax, title, series in truth:
            bb = ax.get_window_extent()
            x0, y0, x1, y1 = bb.x0, H - bb.y1, bb.x1, H - bb.y0
            box = (round(x0), round(y0), round(x1 - x0), round(y1 - y0))
            panels.append(TruePanel(box, box, title, series))
        W = fig.canvas.get_width_height()[0]
        plt.close(fig)
    return Dashboard(buf, tuple(panels), style, (W, H))


def _hue(colour: str) -> float:
    import colorsys

    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)[0] * 180


def pick_colours(rng: np.random.Generator, k: int, palette: tuple[str, ...] = PALETTE, gap: float = 14) -> list[str]:
    """``k`` colours from ``palette`` whose hues are at least ``gap`` OpenCV hue units apart."""
    out: list[str] = []
    for c in rng.permutation(list(palette)):
        if all(min(abs(_hue(c) - _hue(o)), 180 - abs(_hue(c) - _hue(o))) >= gap for o in out):
            out.append(str(c))
        if len(out) == k:
            break
    return out


def io_png(fig) -> bytes:
    import io

    b = io.BytesIO()
    fig.savefig(b, format="png")
    return b.getvalue()
