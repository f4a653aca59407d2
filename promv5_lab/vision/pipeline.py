"""Per-panel steps shared by :func:`analyze` and the training script: series and their pictures."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._deps import require
from .model import series_picture
from .series import extract_series

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .panels import FoundPanel
    from .series import ExtractedSeries

__all__ = ["panel_pictures", "panel_series", "time_axis"]


def panel_series(img: np.ndarray, found: FoundPanel) -> list[ExtractedSeries]:
    return extract_series(img, found.plot, found.background)


def time_axis(found: FoundPanel, series: list[ExtractedSeries]) -> tuple[int, int]:
    """First and last pixel column of the time axis: the framed plot area, else the series' joint span."""
    x, _, w, _ = found.plot
    if found.framed or not series:
        return x, x + w - 1
    spans = [s.span for s in series]
    return min(a for a, _ in spans), max(b for _, b in spans)


def panel_pictures(img: np.ndarray, found: FoundPanel,
                   series: list[ExtractedSeries] | None = None) -> list[tuple[ExtractedSeries, np.ndarray]]:
    require("numpy")
    series = panel_series(img, found) if series is None else series
    lo, hi = time_axis(found, series)
    return [(s, series_picture(s, lo, hi, found.plot[3])) for s in series]
