"""Screenshot analysis: which panels of a dashboard picture look anomalous, how, and when.

Public API (imported lazily; OpenCV, torch and transformers load on first use)::

    from promv5_lab.vision import analyze
    report = analyze("dashboard.png")            # bytes, path or numpy array
    report.to_json()["panels"]                   # bbox, title, anomalous, kind, confidence, where, series
    open("annotated.png", "wb").write(report.annotated_png())

Pipeline: :mod:`.image` (checks, decoding) -> :mod:`.panels` (OpenCV contours) -> :mod:`.series` (HSV
line masks back to numbers) -> :mod:`.ocr` (titles, axis ticks; Tesseract when installed) -> scoring
by :mod:`promv5_lab.analysis.detect` and the small image model of :mod:`.model` (trained by
:mod:`.train`) -> :mod:`.dashboard` (Grafana JSON: PromQL per panel, re-run on a backend).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "analyze": "analyze",
    "ScreenshotReport": "report",
    "PanelFinding": "report",
    "SeriesFinding": "report",
    "load_image": "image",
    "find_panels": "panels",
    "extract_series": "series",
    "load_classifier": "model",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .analyze import analyze
    from .image import load_image
    from .model import load_classifier
    from .panels import find_panels
    from .report import PanelFinding, ScreenshotReport, SeriesFinding
    from .series import extract_series

__getattr__ = lazy_exports(__name__, _LAZY, globals())
