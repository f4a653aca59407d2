"""Hard lines drawn with OpenCV (not matplotlib, which the model was trained on): thin anti-aliased lines of
moderate colour, lines cut by other series crossing over them, fills, legend swatches, grey and black lines,
interior gaps. Each test checks the extracted numbers against what was drawn."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from promv5_lab.vision.series import extract_series

W, H = 420, 200
PLOT = (10, 10, 400, 180)


def _bgr(hexcolour: str) -> tuple[int, int, int]:
    return int(hexcolour[5:7], 16), int(hexcolour[3:5], 16), int(hexcolour[1:3], 16)


def _canvas(bg=(255, 255, 255)) -> np.ndarray:
    return np.full((H, W, 3), bg, np.uint8)


def _draw(img, values, colour, width=1, gap: tuple[int, int] | None = None):
    """``values`` in 0..1 drawn across the plot area; returns the true height per plot column (NaN in gaps)."""
    x, y, w, h = PLOT
    xs = x + np.arange(values.size) * (w - 1) / (values.size - 1)
    ys = y + (1 - values) * (h - 1)
    keep = np.ones(values.size, bool)
    if gap:
        keep[gap[0]:gap[1]] = False
    idx = np.flatnonzero(keep)
    for piece in np.split(idx, np.flatnonzero(np.diff(idx) > 1) + 1):
        pts = np.c_[xs[piece], ys[piece]]
        cv2.polylines(img, [np.round(pts * 16).astype(np.int32)], False, _bgr(colour), width, cv2.LINE_AA, shift=4)
    truth = np.interp(np.arange(w), (xs - x), values)
    if gap:
        lo, hi = (xs[gap[0] - 1] - x), (xs[gap[1]] - x)
        truth[int(np.ceil(lo)) + 1:int(hi)] = np.nan
    return truth


def _wave(rng, n=160, level=0.5, amp=0.2, noise=0.04):
    t = np.linspace(0, 1, n)
    return np.clip(level + amp * np.sin(2 * np.pi * 2.5 * t) + rng.normal(0, noise, n), 0.02, 0.98)


def _match(series, colour):
    want = np.array(_bgr(colour)[::-1])
    return min(series, key=lambda s: np.abs(np.array([int(s.colour[i:i + 2], 16) for i in (1, 3, 5)]) - want).sum())


def _coverage_and_r(s, truth):
    x0 = s.x0 - PLOT[0]
    got = np.full(PLOT[2], np.nan)
    got[x0:x0 + s.y.size] = s.y[:PLOT[2] - x0]
    inside = np.isfinite(truth)
    both = inside & np.isfinite(got)
    return both.sum() / inside.sum(), np.corrcoef(truth[both], got[both])[0, 1]


@pytest.mark.parametrize("colour, bg", [
    ("#9467bd", (255, 255, 255)),   # Bokeh's purple, 1 px, on white
    ("#e377c2", (28, 25, 22)),      # pink on a dark theme
    ("#bcbd22", (255, 255, 255)),   # olive
])
def test_thin_antialiased_lines_are_whole(colour, bg):
    """A 1-pixel anti-aliased line's pixels are mostly blends with the background (paler than the colour):
    they are kept where they touch the line, so the line has no false gaps (false drop-outs)."""
    img = _canvas(bg)
    truth = _draw(img, _wave(np.random.default_rng(1), noise=0.08), colour, width=1)
    [s] = extract_series(img, PLOT, bg)
    cover, r = _coverage_and_r(s, truth)
    assert cover > 0.97 and r > 0.97, (cover, r)


def test_a_line_cut_by_crossing_series_stays_one_line():
    """A thin line crossed many times by a thick one drawn over it is cut into pieces shorter than a legend
    swatch; they are still one line, across the whole time axis."""
    rng = np.random.default_rng(2)
    img = _canvas()
    under = _draw(img, _wave(rng, level=0.5, amp=0.05, noise=0.03), "#2ca02c", width=1)
    t = np.linspace(0, 1, 160)
    _draw(img, 0.5 + 0.35 * np.sin(2 * np.pi * 9 * t), "#1f77b4", width=3)  # 18 crossings
    series = extract_series(img, PLOT, (255, 255, 255))
    assert len(series) == 2
    cover, r = _coverage_and_r(_match(series, "#2ca02c"), under)
    assert cover > 0.9 and r > 0.5, (cover, r)  # a calm line: r is loose (crossings blur a few columns)


def test_a_fill_under_the_line_is_not_the_line():
    rng = np.random.default_rng(3)
    img = _canvas()
    values = _wave(rng, noise=0.01)
    x, y, w, h = PLOT
    xs = x + np.arange(values.size) * (w - 1) / (values.size - 1)
    ys = y + (1 - values) * (h - 1)
    poly = np.r_[np.c_[xs, ys], [[xs[-1], y + h - 1], [xs[0], y + h - 1]]].round().astype(np.int32)
    layer = img.copy()
    cv2.fillPoly(layer, [poly], _bgr("#5794F2"))
    cv2.addWeighted(layer, 0.25, img, 0.75, 0, img)
    truth = _draw(img, values, "#5794F2", width=2)
    [s] = extract_series(img, PLOT, (255, 255, 255))
    cover, r = _coverage_and_r(s, truth)
    assert cover > 0.97 and r > 0.98 and s.thickness < 10, (cover, r, s.thickness)  # a fill is ~100 px tall


def test_an_interior_gap_stays_a_gap():
    img = _canvas((28, 25, 22))
    truth = _draw(img, _wave(np.random.default_rng(4)), "#73BF69", width=1, gap=(60, 85))
    [s] = extract_series(img, PLOT, (28, 25, 22))
    x0 = s.x0 - PLOT[0]
    got = np.full(PLOT[2], np.nan)
    got[x0:x0 + s.y.size] = s.y[:PLOT[2] - x0]
    hole = ~np.isfinite(truth)
    assert hole.sum() > 40 and np.isnan(got[hole]).mean() > 0.9
    assert np.isfinite(got[np.isfinite(truth)]).mean() > 0.97


def _grid_and_text(img, colour, text_colour):
    x, y, w, h = PLOT
    for i in range(5):
        gy = int(y + i * (h - 1) / 4)
        cv2.line(img, (x, gy), (x + w - 1, gy), colour, 1)
    for i in range(6):
        gx = int(x + i * (w - 1) / 5)
        cv2.line(img, (gx, y), (gx, y + h - 1), colour, 1)
    cv2.putText(img, "p99 latency (ms) by pod", (x + 8, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, text_colour, 1,
                cv2.LINE_AA)
    cv2.rectangle(img, (x + w - 110, y + 30), (x + w - 10, y + 60), text_colour, 1)  # a legend's frame
    cv2.putText(img, "total", (x + w - 90, y + 50), cv2.FONT_HERSHEY_SIMPLEX, 0.4, text_colour, 1, cv2.LINE_AA)


@pytest.mark.parametrize("line, bg, grid, text", [
    ("#000000", (255, 255, 255), (200, 200, 200), (40, 40, 40)),    # black on white, darkish grid
    ("#666666", (255, 255, 255), (225, 225, 225), (60, 60, 60)),     # mid grey
    ("#d8d9da", (24, 27, 31), (60, 60, 60), (200, 200, 200)),        # Grafana's light grey on its dark theme
])
def test_grey_and_black_lines_are_extracted_without_grid_or_text(line, bg, grid, text):
    img = _canvas(bg)
    _grid_and_text(img, grid, text)
    truth = _draw(img, _wave(np.random.default_rng(5), level=0.45, amp=0.15), line, width=1)
    series = extract_series(img, PLOT, bg)
    assert len(series) == 1, [s.colour for s in series]
    cover, r = _coverage_and_r(series[0], truth)
    assert cover > 0.95 and r > 0.95, (cover, r)


def test_grid_text_and_frames_alone_are_no_series():
    for bg, grid, text in (((255, 255, 255), (190, 190, 190), (30, 30, 30)), ((24, 27, 31), (70, 70, 70),
                                                                           (210, 210, 210))):
        img = _canvas(bg)
        _grid_and_text(img, grid, text)
        assert extract_series(img, PLOT, bg) == []


def test_a_grey_line_next_to_coloured_ones():
    rng = np.random.default_rng(6)
    img = _canvas()
    _grid_and_text(img, (215, 215, 215), (50, 50, 50))
    blue = _draw(img, _wave(rng, level=0.7, amp=0.1), "#1f77b4", width=2)
    black = _draw(img, _wave(rng, level=0.3, amp=0.1), "#333333", width=2)
    series = extract_series(img, PLOT, (255, 255, 255))
    assert len(series) == 2
    for s in series:
        cover, r = _coverage_and_r(s, blue if s.hue >= 0 else black)
        assert cover > 0.95 and r > 0.95, (s.colour, cover, r)


def test_a_jagged_lines_drop_out_is_not_bridged_through_a_line_running_near_it():
    """A gap is bridged when another line runs along its path (hidden, not missing), within the line's stroke.
    A jagged line's thickness (median pixels per column, ~18 px here) counts its steep strokes, so a calm line 17 px
    from the gap's path "covered" it and a real drop-out was bridged (seed 2026, a Grafana-like panel whose grey
    line ran beside a noisy green one's gap)."""
    img = _canvas()
    rng = np.random.default_rng(21)
    jagged = 0.55 + np.clip(0.09 * rng.standard_normal(160), -0.135, 0.135)
    jagged[59] = jagged[90] = 0.55  # the gap's straight path: flat at 0.55
    truth = _draw(img, jagged, "#73bf69", width=2, gap=(60, 90))
    _draw(img, np.full(160, 0.55 - 17 / 179), "#5794f2", width=2)
    green = _match(extract_series(img, PLOT, (255, 255, 255)), "#73bf69")
    ok = np.isfinite(green.y)
    idx = np.flatnonzero(ok)
    inner = ~ok[idx[0]:idx[-1] + 1]
    edges = np.flatnonzero(np.diff(np.r_[0, inner.astype(int), 0]))
    gap = int((edges[1::2] - edges[::2]).max()) if edges.size else 0
    assert gap >= 0.8 * int(np.isnan(truth).sum()), (gap, int(np.isnan(truth).sum()))


def test_the_blend_of_two_lines_is_no_series_of_its_own():
    """Where two lines run side by side their anti-aliased edges mix into a hue between theirs: a hue peak of its
    own, broken where the lines part, that read as a drop-out or a spike (false panels on seeds 31/8080). A piece
    lying along the other lines goes; lines that cross each other stay."""
    from promv5_lab.vision.series import ExtractedSeries, _drop_blends

    h, w = 100, 300

    def series(rows, hue, cols=slice(0, w)):
        mask = np.zeros((h, w), bool)
        for c in range(w)[cols]:
            mask[max(0, rows[c] - 1):rows[c] + 2, c] = True
        return ExtractedSeries(f"#{hue:06x}", hue, 0, np.full(w, 0.5), mask, 3.0)

    flat = np.full(w, 40)
    rising = np.linspace(90, 10, w).round().astype(int)  # crosses the flat line
    yellow, green, blue = series(flat, 25), series(flat + 4, 60), series(rising, 108)
    blend = series(flat + 2, 40, slice(50, 120))  # between yellow and green for a stretch
    kept = _drop_blends(np, cv2, [yellow, green, blue, blend])
    assert [s.hue for s in kept] == [25, 60, 108]
    assert [s.hue for s in _drop_blends(np, cv2, [yellow, blue])] == [25, 108]
