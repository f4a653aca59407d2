"""Panels found and series recovered from dashboards rendered in the test (matplotlib)."""

from __future__ import annotations

import numpy as np

from promv5_lab.vision.image import load_image
from promv5_lab.vision.panels import find_panels
from promv5_lab.vision.series import extract_series


def _iou(a, b):
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _hex(c):
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])


def _recovered(dash):
    """(true series, extracted heights on the truth's sample grid) for every true series."""
    img = load_image(dash.png)
    found = find_panels(img)
    pairs = []
    for t in dash.panels:
        p = max(found, key=lambda f: _iou(f.bbox, t.bbox))
        assert _iou(p.bbox, t.bbox) > 0.8, (p.bbox, t.bbox)
        ex = extract_series(img, p.plot, p.background)
        for s in t.series:
            e = min(ex, key=lambda e: np.abs(_hex(e.colour) - _hex(s.colour)).sum())
            px, _, pw, _ = t.plot
            cols = np.arange(e.x0, e.x0 + e.y.size)
            pos = (cols - px) / (pw - 1) * (len(s.values) - 1)
            ok = (pos >= 0) & (pos <= len(s.values) - 1)
            truth = np.interp(pos[ok], np.arange(len(s.values)), s.values)
            pairs.append((s, truth, e.y[ok]))
    return found, pairs


def test_panels_found_and_series_recovered(dashboard):
    found, pairs = _recovered(dashboard)
    assert len(found) == len(dashboard.panels) == 4
    assert len(pairs) == 6
    for s, truth, got in pairs:
        f = np.isfinite(truth) & np.isfinite(got)
        assert f.mean() > 0.95  # the line is found across the whole time axis
        r = np.corrcoef(truth[f], got[f])[0, 1]
        assert r > 0.95, (s.kind, s.colour, r)


def test_dark_theme_with_legends_and_a_gap(dark_dashboard):
    found, pairs = _recovered(dark_dashboard)
    assert len(found) == 3
    for s, truth, got in pairs:
        f = np.isfinite(truth) & np.isfinite(got)
        r = np.corrcoef(truth[f], got[f])[0, 1]
        # some of this fixture's series are pure noise (no trend or season), where wiggles finer than a
        # pixel column are lost: a looser bar than the light-theme test's 0.95
        assert r > 0.9, (s.kind, r)
        if s.kind == "dropout":  # the gap in the data is a gap in the extracted line
            gap = ~np.isfinite(truth)
            assert gap.sum() > 5
            assert np.isnan(got[gap]).mean() > 0.8
