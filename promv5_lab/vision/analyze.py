"""``analyze(image)``: panels, series, OCR, detectors and the image model, into a :class:`ScreenshotReport`."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._deps import require
from .image import ImageInput, load_image
from .report import PanelFinding, ScreenshotReport, SeriesFinding, Where

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from ..backends.base import MetricsBackend
    from ..config import Settings
    from .endpoint import VisionEndpoint
    from .panels import FoundPanel
    from .series import ExtractedSeries

__all__ = ["analyze", "locate"]

log = logging.getLogger(__name__)

ANOMALY_THRESHOLD = 0.5   # P(not normal) from the image model that flags a series
MAX_VALUES = 400          # values per series in the report (downsampled evenly beyond this)


def analyze(image: ImageInput, *, dashboard_json: str | Path | dict | None = None,
            backend: MetricsBackend | None = None, model_dir: str | Path | None = None,
            ocr: bool | None = None, threshold: float = ANOMALY_THRESHOLD, settings: Settings | None = None,
            endpoint: VisionEndpoint | bool | None = None) -> ScreenshotReport:
    """Find the panels of a dashboard screenshot and say which look anomalous, how, and when.

    ``image``: PNG/JPEG bytes, a path, or a BGR/grey numpy array. ``dashboard_json``: the Grafana export
    of the same dashboard (path, text or dict) to name each panel's PromQL; with ``backend`` too, those
    queries are re-run for exact numbers. ``model_dir``: a local Hugging Face image classifier instead
    of the bundled one. ``ocr``: None = when Tesseract is installed, False = never, True = required.
    ``settings``: :class:`~promv5_lab.config.Settings` supplying ``vision_model_dir``, ``vision_ocr`` (False
    turns OCR off) and the ``vision_url``/``vision_model``/``vision_api_key``/``vision_timeout_s`` endpoint;
    explicit arguments win over it. ``endpoint``: a :class:`~.endpoint.VisionEndpoint` that classifies each
    panel's picture instead of the local model (which stays the fallback), or False to never use one.
    """
    from .model import analysis_threads

    with analysis_threads():
        return _analyze(image, dashboard_json, backend, model_dir, ocr, threshold, settings, endpoint)


def _analyze(image: ImageInput, dashboard_json: str | Path | dict | None, backend: MetricsBackend | None,
             model_dir: str | Path | None, ocr: bool | None, threshold: float, settings: Settings | None,
             endpoint: VisionEndpoint | bool | None) -> ScreenshotReport:
    from .model import load_classifier
    from .panels import find_panels
    from .pipeline import panel_pictures, panel_series, time_axis

    t0 = time.perf_counter()
    if settings is not None:
        if model_dir is None:
            model_dir = settings.vision_model_dir
        if ocr is None and not settings.vision_ocr:
            ocr = False
        if endpoint is None:
            from .endpoint import VisionEndpoint

            endpoint = VisionEndpoint.from_settings(settings)
    img = load_image(image)
    notes: list[str] = []
    clf = load_classifier(model_dir)
    found = find_panels(img)
    if not found:
        notes.append("no panels found: is this a dashboard screenshot?")
    words: list[Any] = []
    use_ocr = False
    if ocr is not False:
        from . import ocr as ocr_mod

        why = ocr_mod.ocr_available()
        if why is None:
            use_ocr = True
        elif ocr:
            from ..errors import MissingDependencyError

            raise MissingDependencyError("pytesseract", "vision")
        else:
            notes.append(f"no OCR ({why}): titles are not read and values are relative to each plot's height")
    reading = None
    if use_ocr and found:  # titles and value axes are read in the worker while the lines are extracted here
        reading = ocr_mod.start_reading(img, found, time_axes=[False] * len(found))
    per_panel = []
    pictures = []
    for p in found:
        series = panel_series(img, p)
        pics = panel_pictures(img, p, series)
        per_panel.append((p, series, time_axis(p, series)))
        pictures.extend(pic for _, pic in pics)
    preds = clf.predict(pictures)
    peaks = _detector_peaks([s.y for _, series, _ in per_panel for s in series])
    mine, k = [], 0
    for _, series, _ in per_panel:
        mine.append(list(zip(preds[k:k + len(series)], peaks[k:k + len(series)])))
        k += len(series)
    panels = [_panel_finding(img, p, series, axis, m, None, threshold)
              for (p, series, axis), m in zip(per_panel, mine)]
    if reading is not None:
        words = reading.result()
        flagged = [f.anomalous for f in panels]
        if any(flagged):  # after the verdicts: only a flagged panel's time axis is read (half of the words)
            words = ocr_mod.merge_words(words, ocr_mod.read_words(img, found, time_axes=flagged, labels=False))
        panels = [_panel_finding(img, p, series, axis, m, words, threshold)
                  for (p, series, axis), m in zip(per_panel, mine)]
    source = clf.source
    if endpoint:
        from .endpoint import ask_endpoint

        panels, note = ask_endpoint(endpoint, img, panels, per_panel, peaks, words if use_ocr else None)
        source = f"{note[0]} (fallback: {clf.source})"
        if note[1]:
            notes.append(note[1])
    if dashboard_json is not None:
        from .dashboard import attach_queries

        panels, more = attach_queries(panels, dashboard_json, backend)
        notes.extend(more)
    elif backend is not None:
        notes.append("a backend was given without a dashboard JSON: there is no PromQL to re-run")
    elapsed = time.perf_counter() - t0
    log.info("analysed %dx%d screenshot: %d panels in %.2fs", img.shape[1], img.shape[0], len(panels), elapsed)
    return ScreenshotReport(int(img.shape[1]), int(img.shape[0]), tuple(panels), use_ocr, source, elapsed,
                            tuple(notes), img)


def _panel_finding(img: np.ndarray, p: FoundPanel, series: list[ExtractedSeries], axis: tuple[int, int],
                   preds: list[Any], words: list[Any] | None, threshold: float) -> PanelFinding:
    from . import ocr as ocr_mod

    notes = []
    title, yaxis, taxis = "", None, None
    if words is not None:
        title = ocr_mod.panel_title(words, p)
        yaxis = ocr_mod.value_axis(words, p)
        taxis = ocr_mod.time_axis_labels(words, p)
    if not series:
        notes.append("no coloured line found in this panel")
    found = []
    for s, (pred, det) in zip(series, preds):
        probs = dict(pred.probabilities)
        if probs["dropout"] > 0 and _longest_gap(s, axis) < MIN_GAP:
            # the picture looks gappy but the extracted line has no gap on the time axis (lines
            # crossing, a legend): not a drop-out
            probs["normal"] += probs["dropout"]
            probs["dropout"] = 0.0
        elif _longest_gap(s, axis, interior=True) >= GAP_DROPOUT and probs["dropout"] < GAP_CONFIDENCE:
            # the line is absent for a stretch with data on both sides (not hidden by a legend or another
            # series: those are bridged): data stopped arriving, whatever the picture's shape says. Grey lines
            # too: they no longer have holes where grid lines cross them (longest interior gap of a normal grey
            # line on the diagnosis seeds 101/102: 1.2% of the axis; drop-outs 10-20%)
            rest = 1.0 - probs["dropout"]
            probs = {k: (GAP_CONFIDENCE if k == "dropout" else v * (1 - GAP_CONFIDENCE) / rest if rest > 0 else 0.0)
                     for k, v in probs.items()}
        p_anom = 1.0 - probs["normal"]
        kind = max(probs, key=probs.get)
        if p_anom >= threshold and kind == "normal":
            kind = max((k for k in probs if k != "normal"), key=probs.get)
        elif p_anom < threshold:
            kind = "normal"
        where = None
        if kind != "normal":
            idx = locate(kind, s.y, det[1])
            where = _where(s.x0 + idx, axis, taxis)
        values, absolute, unit = _values(s, p, yaxis)
        conf = p_anom if kind != "normal" else 1.0 - p_anom
        found.append(SeriesFinding(s.colour, values, absolute, unit, kind, float(conf), float(det[0]), where, axis))
    bad = [f for f in found if f.kind != "normal"]
    if bad:
        top = max(bad, key=lambda f: f.confidence)
        return PanelFinding(p.bbox, p.plot, title, True, top.kind, top.confidence, tuple(found), top.where,
                            notes=tuple(notes))
    conf = min((f.confidence for f in found), default=0.0)
    return PanelFinding(p.bbox, p.plot, title, False, "normal", conf, tuple(found), None, notes=tuple(notes))


MIN_GAP = 0.02        # a drop-out leaves at least this fraction of the time axis without the line
GAP_DROPOUT = 0.04    # an interior gap this long (data on both sides) is a drop-out on its own
GAP_CONFIDENCE = 0.8  # ... with this confidence (unless the model is surer)


def _longest_gap(s: ExtractedSeries, axis: tuple[int, int], *, interior: bool = False) -> float:
    """The longest run of columns on the time axis where the line is absent, as a fraction of the axis
    (``interior``: only gaps between the line's first and last columns)."""
    np = require("numpy")
    lo, hi = axis
    cols = np.arange(lo, hi + 1) - s.x0
    inside = (cols >= 0) & (cols < s.y.size)
    present = np.zeros(cols.size, bool)
    present[inside] = np.isfinite(s.y[cols[inside]])
    if interior:
        ok = np.flatnonzero(present)
        if ok.size < 2:
            return 0.0
        present = present[ok[0]:ok[-1] + 1]
    missing = np.r_[0, (~present).astype(int), 0]
    edges = np.flatnonzero(np.diff(missing))
    longest = int((edges[1::2] - edges[::2]).max()) if edges.size else 0
    return longest / max(1, hi - lo + 1)


def _values(s: ExtractedSeries, p: FoundPanel, yaxis: Any) -> tuple[tuple[float | None, ...], bool, str]:
    np = require("numpy")
    y = s.y
    if y.size > MAX_VALUES:
        y = y[np.linspace(0, y.size - 1, MAX_VALUES).round().astype(int)]
    absolute = yaxis is not None
    if absolute:
        _, py, _, ph = p.plot
        rows = py + (1.0 - y) * (ph - 1)
        y = yaxis(rows)
    rounded = np.round(np.asarray(y, dtype=float), 6)
    ok = np.isfinite(rounded).tolist()
    vals = tuple(v if good else None for v, good in zip(rounded.tolist(), ok))
    return vals, absolute, (yaxis.unit if absolute else "")


DETECTOR_POINTS = 160  # every series is resampled to this many points and scored in one batch


def _detector_peaks(ys: list[np.ndarray]) -> list[tuple[float, int | None]]:
    """The streaming detector (:mod:`promv5_lab.analysis.detect`) over every pixel series at once (each
    resampled to :data:`DETECTOR_POINTS` columns): each series' peak score and the column where it peaks."""
    np = require("numpy")
    from ..analysis.detect import DetectorConfig, score_arrays

    out: list[tuple[float, int | None]] = [(0.0, None)] * len(ys)
    cols, maps = [], []
    for i, y in enumerate(ys):
        ok = np.flatnonzero(np.isfinite(y))
        if ok.size < 20:
            continue
        pos = np.linspace(ok[0], ok[-1], DETECTOR_POINTS).round().astype(int)
        cols.append(y[pos])
        maps.append((i, pos))
    if not cols:
        return out
    cfg = DetectorConfig(season_s=0.0, warmup=16, record_decay=0.99, dropout_min=3)
    scores = score_arrays(np.arange(DETECTOR_POINTS, dtype=float), np.stack(cols, axis=1), cfg)
    for j, (i, pos) in enumerate(maps):
        col = np.nan_to_num(scores[:, j])
        t = int(np.argmax(col))
        out[i] = (float(col[t]), int(pos[t]))
    return out


def locate(kind: str, y: np.ndarray, hint: int | None = None) -> int:
    """Column (index into ``y``) where an anomaly of ``kind`` starts or peaks."""
    np = require("numpy")
    ok = np.isfinite(y)
    idx = np.flatnonzero(ok)
    if idx.size < 3:
        return int(hint or 0)
    a, b = int(idx[0]), int(idx[-1])
    if kind == "dropout":
        gaps = np.flatnonzero(~ok[a:b + 1])
        return int(a + gaps[0]) if gaps.size else int(hint or a)
    v = np.interp(np.arange(a, b + 1), idx, y[idx])
    n = v.size
    if kind == "spike":
        from .series import _rolling_median

        base = _rolling_median(np, v, max(7, n // 15))
        return int(a + np.argmax(np.abs(v - base)))
    c = np.cumsum(v)
    t = np.arange(1, n)
    if kind == "level_shift":
        left = c[:-1] / t
        right = (c[-1] - c[:-1]) / (n - t)
        stat = np.abs(right - left) * np.sqrt(t * (n - t) / n)
        return int(a + 1 + np.argmax(stat))
    if kind == "trend":
        # hinge fit: flat until k, then a straight ramp; pick k with the least squared error
        best, arg = np.inf, 0
        for k in np.linspace(0, n - 8, min(60, max(2, n - 8))).astype(int):
            r = np.maximum(0, np.arange(n) - k).astype(float)
            X = np.c_[np.ones(n), r]
            coef, res, *_ = np.linalg.lstsq(X, v, rcond=None)
            err = float(res[0]) if res.size else float(((X @ coef - v) ** 2).sum())
            if err < best:
                best, arg = err, k
        return int(a + arg)
    return int(hint if hint is not None else a)


def _where(col: int, axis: tuple[int, int], taxis: Any) -> Where:
    lo, hi = axis
    frac = min(1.0, max(0.0, (col - lo) / max(1, hi - lo)))
    when = None
    if taxis is not None:
        secs = round(taxis(col)) % 86400
        when = f"{secs // 3600:02d}:{secs % 3600 // 60:02d}"
    return Where(frac, when)
