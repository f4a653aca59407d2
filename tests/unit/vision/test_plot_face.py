"""A plot face barely lighter than its card (Panel's dark design on Bokeh) is the plot area, and the evaluation
pages' Bokeh themes do not depend on what was imported before (Panel rewrites Bokeh's dark_minimal in place)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from promv5_lab.errors import ConfigError
from promv5_lab.vision.evalpages import PANEL_DARK_PLOT, bokeh_theme
from promv5_lab.vision.panels import find_panels
from promv5_lab.vision.series import extract_series

PAGE, CARD, FACE = (28, 25, 21), (41, 37, 33), (53, 48, 43)  # BGR: #15191c page, Panel's #212529 card, #2b3035 face


def _card_with_face(face=FACE, grey=(179, 167, 159), frame=True):
    """A 440x280 card on a page, its face inset (axes' room left and below), a light grid cutting the face into
    cells, the face's outline, tick labels on the card, and one 1-px grey line (#9fa7b3) across the face."""
    img = np.full((330, 520, 3), PAGE, np.uint8)
    x, y, w, h = 30, 25, 440, 280
    cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), CARD, -1)
    fx, fy, fw, fh = x + 40, y + 30, 380, 200
    cv2.rectangle(img, (fx, fy), (fx + fw - 1, fy + fh - 1), face, -1)
    grid = tuple(int(0.75 * c + 0.25 * 224) for c in face)
    for gx in range(fx + 40, fx + fw, 60):
        cv2.line(img, (gx, fy), (gx, fy + fh - 1), grid, 1)
    for gy in range(fy + 30, fy + fh, 40):
        cv2.line(img, (fx, gy), (fx + fw - 1, gy), grid, 1)
    if frame:
        cv2.rectangle(img, (fx, fy), (fx + fw - 1, fy + fh - 1), grid, 1)
    for i, gy in enumerate(range(fy + 30, fy + fh, 40)):
        cv2.putText(img, str(90 - 10 * i), (x + 8, gy + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1,
                    cv2.LINE_AA)
    t = np.arange(fw - 20)
    ys = fy + fh / 2 + 45 * np.sin(t / 37.0) + 3 * np.sin(t / 5.0)
    pts = np.c_[fx + 10 + t, ys].round().astype(np.int32)
    cv2.polylines(img, [pts], False, grey, 1, cv2.LINE_AA)
    return img, (x, y, w, h), (fx, fy, fw, fh), pts


def test_a_face_barely_lighter_than_its_card_is_the_plot_area():
    img, card, face, pts = _card_with_face()
    [p] = find_panels(img)
    assert abs(p.bbox[0] - card[0]) <= 2 and abs(p.bbox[2] - card[2]) <= 4
    fx, fy, fw, fh = face
    px, py, pw, ph = p.plot
    # the face (inset by the frame line), not the card: the tick labels left of it are not in the plot area
    assert fx <= px <= fx + 4 and fy <= py <= fy + 4 and fw - 8 <= pw <= fw and fh - 8 <= ph <= fh, (p.plot, face)
    assert p.framed
    [line] = extract_series(img, p.plot, p.background)
    assert line.hue == -1  # the grey line, found by its contrast
    ok = np.isfinite(line.y)
    assert ok.mean() > 0.9
    # its heights follow the drawn line
    cols = np.arange(line.x0, line.x0 + line.y.size)[ok]
    drawn = np.interp(cols, pts[:, 0], pts[:, 1])
    got = py + (1 - line.y[ok]) * (ph - 1)
    assert np.median(np.abs(got - drawn)) < 1.5


def test_a_plot_drawn_on_the_card_itself_keeps_the_whole_card():
    """Grafana-like: no face of its own (face == card) nor a frame, so no inner rectangle is invented."""
    img, _, _, _ = _card_with_face(face=CARD, frame=False)
    [p] = find_panels(img)
    x, y, w, h = p.bbox
    assert p.plot == (x + 2, y + 2, w - 4, h - 4) and not p.framed


def test_bokeh_themes_are_bokehs_own_whatever_was_imported(monkeypatch):
    from bokeh.themes import _dark_minimal

    # what `import panel` (1.9) does to Bokeh's built-in theme: its Plot attrs rewritten in place
    monkeypatch.setitem(_dark_minimal.json["attrs"], "Plot", {**_dark_minimal.json["attrs"]["Plot"],
                                                              **PANEL_DARK_PLOT})
    plot = bokeh_theme("dark_minimal")._json["attrs"]["Plot"]
    assert plot["background_fill_color"].lower() == "#20262b" and plot["border_fill_color"].lower() == "#15191c"
    panel = bokeh_theme("panel_dark")._json["attrs"]["Plot"]
    assert panel["background_fill_color"] == "#2b3035" and panel["outline_line_alpha"] == plot["outline_line_alpha"]
    with pytest.raises(ConfigError, match="no_such_theme"):
        bokeh_theme("no_such_theme")
