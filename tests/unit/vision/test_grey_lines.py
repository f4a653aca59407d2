"""Grey and black lines in the cases that lost them before (drawn with OpenCV, checked against what was drawn):
a grid dark enough to count as part of the line, a jagged line whose steep strokes cross columns twice (it read
as text), a line cut by coloured series drawn over it, a fill drawn over it that tints it, a tall spike, a
drop-out, and axes darker than the line."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from promv5_lab.vision.series import extract_series

from .test_lines import PLOT, _bgr, _canvas, _coverage_and_r, _draw, _wave


def _grey(series):
    [s] = [s for s in series if s.hue < 0]
    return s


def _longest_interior_gap(s) -> int:
    ok = np.isfinite(s.y)
    idx = np.flatnonzero(ok)
    inner = ~ok[idx[0]:idx[-1] + 1]
    edges = np.flatnonzero(np.diff(np.r_[0, inner.astype(int), 0]))
    return int((edges[1::2] - edges[::2]).max()) if edges.size else 0


def _grid(img, colour, rows=5, cols=6):
    x, y, w, h = PLOT
    for i in range(rows):
        gy = int(y + i * (h - 1) / (rows - 1))
        cv2.line(img, (x, gy), (x + w - 1, gy), colour, 1)
    for i in range(cols):
        gx = int(x + i * (w - 1) / (cols - 1))
        cv2.line(img, (gx, y), (gx, y + h - 1), colour, 1)


@pytest.mark.parametrize("line, bg, grid", [
    ("#666666", (255, 255, 255), (176, 176, 176)),   # matplotlib's grid (#b0b0b0): half the line's contrast
    ("#9fa7b3", (24, 27, 31), (90, 90, 90)),          # a bright grid on a dark theme
])
def test_a_grid_as_dark_as_half_the_line_leaves_no_holes_in_it(line, bg, grid):
    """Where the line crosses a grid line it stays whole: a hole there read as a drop-out."""
    img = _canvas(bg)
    _grid(img, grid, rows=9, cols=11)
    truth = _draw(img, _wave(np.random.default_rng(11), level=0.5, amp=0.3, noise=0.06), line, width=1)
    s = _grey(extract_series(img, PLOT, bg))
    cover, r = _coverage_and_r(s, truth)
    assert cover > 0.97 and r > 0.95, (cover, r)
    assert _longest_interior_gap(s) <= 3


def test_a_jagged_line_is_not_taken_for_text():
    """Steep noisy strokes make the line cross many columns twice, like letters do; its strokes are long."""
    img = _canvas((24, 27, 31))
    rng = np.random.default_rng(12)
    values = np.clip(0.5 + 0.25 * rng.standard_normal(200), 0.05, 0.95)
    truth = _draw(img, values, "#d8d9da", width=2)
    s = _grey(extract_series(img, PLOT, (24, 27, 31)))
    cover, r = _coverage_and_r(s, truth)
    assert cover > 0.95 and r > 0.8, (cover, r)


def test_a_grey_line_cut_by_coloured_lines_and_tinted_by_their_fill():
    """Coloured series drawn after the grey one cross over it many times and their 12% fills cover it."""
    rng = np.random.default_rng(13)
    img = _canvas()
    grey = _draw(img, _wave(rng, level=0.3, amp=0.05, noise=0.02), "#666666", width=2)
    x, y, w, h = PLOT
    t = np.linspace(0, 1, 160)
    for colour, phase in (("#F2CC0C", 0.0), ("#5794F2", 1.5)):
        values = 0.35 + 0.3 * np.sin(2 * np.pi * 7 * t + phase)
        xs = x + np.arange(values.size) * (w - 1) / (values.size - 1)
        ys = y + (1 - values) * (h - 1)
        poly = np.r_[np.c_[xs, ys], [[xs[-1], y + h - 1], [xs[0], y + h - 1]]].round().astype(np.int32)
        layer = img.copy()
        cv2.fillPoly(layer, [poly], _bgr(colour))
        cv2.addWeighted(layer, 0.12, img, 0.88, 0, img)
        _draw(img, values, colour, width=2)
    s = _grey(extract_series(img, PLOT, (255, 255, 255)))
    cover, r = _coverage_and_r(s, grey)
    assert cover > 0.9 and r > 0.5, (cover, r)  # a calm line: r is loose (crossings blur a few columns)


def test_a_tall_spike_of_a_grey_line_stays():
    img = _canvas()
    _grid(img, (225, 225, 225))
    values = _wave(np.random.default_rng(14), level=0.2, amp=0.05, noise=0.02, n=400)
    values[250] = 0.97
    _draw(img, values, "#000000", width=1)
    s = _grey(extract_series(img, PLOT, (255, 255, 255)))
    assert np.nanmax(s.y) > 0.9 and 0.5 < np.nanargmax(s.y) / s.y.size < 0.75


def test_a_grey_drop_out_stays_a_gap_and_axes_do_not_hide_the_line():
    """Axes darker than the line (Bokeh draws them black) are not the line's colour: a 1-px mid-grey line is
    measured against its own contrast, and its real gap stays a gap."""
    img = _canvas()
    x, y, w, h = PLOT
    cv2.line(img, (x, y + h - 1), (x + w - 1, y + h - 1), (0, 0, 0), 1)
    cv2.line(img, (x, y), (x, y + h - 1), (0, 0, 0), 1)
    for i in range(12):
        cv2.line(img, (x + 20 + 33 * i, y + h - 6), (x + 20 + 33 * i, y + h - 1), (0, 0, 0), 1)
    truth = _draw(img, _wave(np.random.default_rng(15), level=0.6, amp=0.15), "#666666", width=1, gap=(70, 100))
    s = _grey(extract_series(img, PLOT, (255, 255, 255)))
    cover, r = _coverage_and_r(s, truth)
    assert cover > 0.95 and r > 0.95, (cover, r)
    assert _longest_interior_gap(s) >= 60  # the 30-of-160-point gap is ~75 columns


DARK, FAINT_GRID = (43, 38, 32), (84, 84, 84)  # Bokeh's dark_minimal face (BGR) and a 25% #e0e0e0 grid on it


@pytest.mark.parametrize("spike", [False, True], ids=["flat", "tall_spike"])
def test_a_faint_grid_column_cut_by_a_legend_leaves_no_stub_on_a_flat_grey_line(spike):
    """A 1-px grey line whose anti-aliased pixels put the grid at half its contrast: where a legend (or a line
    crossing) interrupts a vertical grid line, the grid column's stubs were kept, joined to the line, and a calm
    line read as a spike (seed 101's false Bokeh panel). A real spike's stroke is fully covered and stays."""
    img = _canvas(DARK)
    _grid(img, FAINT_GRID, rows=6, cols=7)
    x, y, w, _ = PLOT
    lx = x + int(5 * (w - 1) / 6) - 40  # a legend over the last-but-one grid column, near the top
    cv2.rectangle(img, (lx, y + 8), (lx + 80, y + 40), DARK, -1)
    cv2.line(img, (lx + 6, y + 24), (lx + 20, y + 24), (179, 167, 159), 1, cv2.LINE_AA)
    cv2.putText(img, "series 0", (lx + 26, y + 29), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1, cv2.LINE_AA)
    values = _wave(np.random.default_rng(16), level=0.08, amp=0.01, noise=0.01, n=300)
    if spike:
        values[150] = 0.8
    _draw(img, values, "#9fa7b3", width=1)
    _draw(img, _wave(np.random.default_rng(17), level=0.9, amp=0.02, noise=0.02, n=300), "#9467bd", width=1)
    s = _grey(extract_series(img, PLOT, DARK))
    if spike:
        assert np.nanmax(s.y) > 0.7 and 0.4 < np.nanargmax(s.y) / s.y.size < 0.6
    else:
        assert np.nanmax(s.y) < 0.15, (np.nanmax(s.y), np.nanargmax(s.y))  # the line: 0.08 +- 0.03


@pytest.mark.parametrize("line, bg", [("#9fa7b3", (24, 27, 31)), ("#666666", (255, 255, 255))])
def test_a_drop_out_early_in_the_plot_keeps_the_piece_before_it(line, bg):
    """A drop-out that starts at ~20% of the time axis leaves a piece narrower than a quarter of the plot before
    it: it was dropped with tick marks and text, the line then just started late, and the drop-out was missed
    (seed 8080's Grafana-like grey panels). Text at the line's height in columns the line covers stays out."""
    img = _canvas(bg)
    truth = _draw(img, _wave(np.random.default_rng(18), level=0.55, amp=0.05, noise=0.05), line, width=2,
                  gap=(34, 62))
    x, y, w, h = PLOT
    text = (200, 200, 200) if bg != (255, 255, 255) else (60, 60, 60)
    cv2.putText(img, "p99", (x + 300, y + int(0.3 * h)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, text, 1, cv2.LINE_AA)
    s = _grey(extract_series(img, PLOT, bg))
    first = np.flatnonzero(np.isfinite(truth))[0]
    assert s.x0 + np.flatnonzero(np.isfinite(s.y))[0] - x <= first + 3  # the line starts where it was drawn
    assert _longest_interior_gap(s) >= 0.12 * w                         # the 28-of-160-point gap: ~70 columns
    cover, r = _coverage_and_r(s, truth)
    assert cover > 0.95 and r > 0.9, (cover, r)
    top = (h - 1) * (1 - np.nanmax(s.y))
    assert top > 0.3 * h - 12, top  # no letter of the text joined the line (its row is above the line's band)


def test_a_line_ending_behind_a_legend_whose_entry_is_black_is_hidden_not_stopped():
    """Bokeh's legend (white at 95%) hides the lines behind it. It was found from its coloured swatches only, so a
    legend whose entry nearest the line is a black or grey one ended the line there: a drop-out (seed 2026's
    Bokeh grey pages). A black swatch standing alone with its label's letters beside it marks the legend too."""
    img = _canvas()
    x, y, w, _ = PLOT
    values = _wave(np.random.default_rng(19), level=0.8, amp=0.04, noise=0.02)
    truth = _draw(img, values, "#17becf", width=2)
    _draw(img, _wave(np.random.default_rng(20), level=0.2, amp=0.04, noise=0.02), "#000000", width=1)
    lx, ly = x + w - 110, y + 6  # the legend box, over the cyan line's end
    cv2.rectangle(img, (lx, ly), (x + w - 4, ly + 40), (250, 250, 250), -1)
    cv2.rectangle(img, (lx, ly), (x + w - 4, ly + 40), (229, 229, 229), 1)
    cv2.line(img, (lx + 10, ly + 20), (lx + 29, ly + 20), (0, 0, 0), 1)
    cv2.putText(img, "series 0", (lx + 35, ly + 25), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (68, 68, 68), 1, cv2.LINE_AA)
    cyan = next(s for s in extract_series(img, PLOT, (255, 255, 255)) if s.hue >= 0)
    last = cyan.x0 + np.flatnonzero(np.isfinite(cyan.y))[-1] - x
    assert last >= w - 12, (last, lx - x)  # bridged to the plot's end behind the legend
    assert np.isfinite(truth).all()


def test_a_grid_line_cut_by_coloured_lines_is_no_legend_swatch():
    """Grid pieces between two coloured strokes stand alone like a swatch, but a coloured line touches their
    ends, and what follows them is one row of grid, not letters."""
    from promv5_lab.vision.series import _grey_swatches

    ink = np.zeros((100, 300), bool)
    ink[50, :] = True                       # a grid line ...
    coloured = np.zeros_like(ink)
    for cx in (100, 125, 150):              # ... cut by coloured strokes every 25 px
        coloured[20:90, cx - 2:cx + 3] = True
        ink[:, cx - 2:cx + 3] = False
    assert _grey_swatches(np, cv2, ink, coloured, 300) == []
    ink[70, 200:220] = True                 # a real entry: a stroke, a space, then letters
    ink[64:76, 226:228] = ink[64:76, 232:234] = True
    assert _grey_swatches(np, cv2, ink, coloured, 300) == [(200, 70, 20, 1)]
