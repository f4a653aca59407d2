"""Charts as PNG (matplotlib, for Markdown and PDF) and as data for the HTML's inline SVG charts."""

from __future__ import annotations

import io
import math
from datetime import datetime, timezone
from typing import Any

from .._deps import require
from .models import Chart

__all__ = ["chart_payload", "png_bytes"]

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def chart_payload(chart: Chart) -> dict[str, Any]:
    """What the HTML's script draws (serialised with Jinja's ``tojson``, which escapes <, > and &)."""

    def num(v: float | None) -> float | None:
        return None if v is None or not math.isfinite(v) else round(float(v), 9)

    return {
        "id": chart.id, "title": chart.title, "yLabel": chart.y_label,
        "series": [{"name": s.name, "t": list(s.t), "v": [num(v) for v in s.v], "color": PALETTE[i % len(PALETTE)]}
                   for i, s in enumerate(chart.series)],
        "shade": [list(x) for x in chart.shade],
        "threshold": num(chart.threshold),
        "band": None if chart.band is None else {"t": list(chart.band[0].t), "lo": [num(v) for v in chart.band[0].v],
                                                 "hi": [num(v) for v in chart.band[1].v]},
    }


def _plain(text: str, limit: int = 90) -> str:
    """Text for matplotlib: no mathtext ($), bounded length."""
    text = text.replace("\n", " ").replace("$", r"\$")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def png_bytes(chart: Chart, *, width: float = 9.0, height: float = 3.0, dpi: int = 100) -> bytes:
    """The chart drawn with matplotlib (Agg) as PNG bytes (no pyplot: safe off the main thread)."""
    figure = require("matplotlib.figure", "report")
    agg = require("matplotlib.backends.backend_agg", "report")
    dates = require("matplotlib.dates", "report")

    def when(ts: tuple[float, ...]) -> list[datetime]:
        return [datetime.fromtimestamp(t, timezone.utc) for t in ts]

    def vals(vs: tuple[float | None, ...]) -> list[float]:
        return [math.nan if v is None else v for v in vs]

    fig = figure.Figure(figsize=(width, height), dpi=dpi)
    agg.FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for lo, hi in chart.shade:
        ax.axvspan(datetime.fromtimestamp(lo, timezone.utc), datetime.fromtimestamp(hi, timezone.utc),
                   color="#d62728", alpha=0.12, lw=0)
    if chart.band is not None:
        lo_s, hi_s = chart.band
        ax.fill_between(when(lo_s.t), vals(lo_s.v), vals(hi_s.v), color="#1f77b4", alpha=0.18, lw=0)
    for i, s in enumerate(chart.series):
        ax.plot(when(s.t), vals(s.v), lw=1.3, color=PALETTE[i % len(PALETTE)], label=_plain(s.name, 60))
    if chart.threshold is not None:
        ax.axhline(chart.threshold, color="#444444", lw=1, ls="--")
    ax.set_title(_plain(chart.title), fontsize=9, loc="left")
    if chart.y_label:
        ax.set_ylabel(_plain(chart.y_label, 30), fontsize=8)
    ax.xaxis.set_major_formatter(dates.DateFormatter("%H:%M", tz=timezone.utc))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    if chart.series:
        ax.legend(fontsize=6, loc="upper left", frameon=False)
    else:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("UTC", fontsize=7, labelpad=1)
    # fixed margins instead of tight_layout: one draw instead of two
    fig.subplots_adjust(left=0.08, right=0.99, top=0.9, bottom=0.17)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
