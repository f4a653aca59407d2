"""Line series back into numbers: one HSV hue mask per line colour (and one grey or black line found by its
contrast), one value per pixel column.

Within a plot area, coloured pixels (chroma well above the background's) are grouped by hue; each hue
peak is one series. Fills and anti-aliased edges (the same hue blended with the background) are
dropped by keeping only pixels near the colour's full chroma; grid lines, text and legends' labels are
grey and never enter; legend swatches are short connected pieces and are dropped by their span.
A column's value is the centre of the line there, or the extreme of a steep stroke (a spike).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._deps import require

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .panels import Box

__all__ = ["ExtractedSeries", "extract_series"]

log = logging.getLogger(__name__)

MIN_CHROMA = 55          # max(RGB) - min(RGB) of a line pixel
WEAK_CHROMA = 20         # ... of an anti-aliased edge pixel kept when it touches the line
CROSSING = 5             # pixels: another line crossing over this one joins its pieces within this reach
HUE_GAP = 7              # OpenCV hue units (0..179) between two series' colours
BLEND_NEAR = 0.75        # a "series" this much along other lines is their blend (anti-aliased edges, fills)
MIN_SPAN = 0.10          # a series spans at least this fraction of the plot width (legend swatches do not)
GREY_CHROMA = 45         # a grey or black line pixel has less chroma than this (fills drawn over it tint it)
GREY_STRONG = 80         # ... and differs from the background by this much (its anti-aliased edges: GREY_WEAK)
GREY_WEAK = 30
GREY_CORE, GREY_EDGE = 0.6, 0.4  # of the grey line's own contrast: its core pixels / its anti-aliased edges
GREY_FLAT, GREY_FLAT_PX = 0.10, 20  # a straight horizontal run: at least this fraction of the width (pixels)
GREY_GRID_ROW = 0.6      # a row this full of grey (where no coloured line is) is a grid line or frame
GREY_GRID_COL = 0.9      # ... and a column this full (a spike's stroke is shorter)
GREY_GRID_HALF = 0.5     # ... or half full, when fainter than the line's core (a spike's stroke is not)
GREY_STROKE_PX = 2.5     # pixels per run where a grey piece crosses a column several times: a line's steep strokes
                         # are long, letters' strokes and boxes' edges short
GREY_MIN_SPAN = 0.25     # a grey line spans a quarter of the plot at least (text and ticks are shorter)
GREY_SINGLE_RUN = 0.75   # ... and crosses most of its columns once (letters and boxes cross them several times)
GREY_PIECE_SPAN = 0.08   # a narrower piece beside the line, at its height, is the line's other side of a gap


@dataclass(frozen=True)
class ExtractedSeries:
    """One line: ``y[i]`` is the height (0 bottom .. 1 top of the plot area) at pixel column ``x0 + i``.

    NaN where the line is absent. ``mask`` is the line's pixels in the plot area (bool, rows x columns).
    """

    colour: str
    hue: int
    x0: int
    y: np.ndarray
    mask: np.ndarray
    thickness: float

    @property
    def span(self) -> tuple[int, int]:
        np = require("numpy")
        ok = np.flatnonzero(np.isfinite(self.y))
        return (int(self.x0 + ok[0]), int(self.x0 + ok[-1])) if ok.size else (self.x0, self.x0)


def _hue_peaks(np, hues, weights_min: int) -> list[int]:
    hist = np.bincount(hues, minlength=180).astype(float)
    k = np.array([1, 2, 3, 2, 1], float)
    ext = np.r_[hist[-2:], hist, hist[:2]]
    smooth = np.convolve(ext, k / k.sum(), mode="same")[2:-2]
    peaks = []
    order = np.argsort(-smooth)
    for h in order:
        if smooth[h] * 9 / 3 < weights_min:
            break
        # far from the peaks already taken, and a local maximum of the circular histogram
        if (all(min(abs(h - p), 180 - abs(h - p)) >= HUE_GAP for p in peaks)
                and smooth[h] >= smooth[(h - 1) % 180] and smooth[h] >= smooth[(h + 1) % 180]):
            peaks.append(int(h))
    return peaks


def extract_series(img: np.ndarray, plot: Box, background: tuple[int, int, int] | None = None,
                   max_series: int = 8) -> list[ExtractedSeries]:
    """The coloured line series in the ``plot`` box of a BGR image, largest first."""
    np = require("numpy")
    cv2 = require("cv2", "vision")
    x, y, w, h = plot
    crop = img[y:y + h, x:x + w]
    if crop.size == 0 or w < 10 or h < 10:
        return []
    crop = np.ascontiguousarray(crop)
    # per-pixel channel max/min and distance to the background with OpenCV's saturating uint8 ops (a numpy
    # reduction over the 3-channel axis costs ~10x more; this is most of a screenshot's CPU time)
    b, g, r = cv2.split(crop)
    chroma = cv2.subtract(cv2.max(cv2.max(b, g), r), cv2.min(cv2.min(b, g), r))
    hue = cv2.cvtColor(crop, cv2.COLOR_BGR2HSV)[..., 0]
    bg = np.asarray(background if background is not None else np.median(crop.reshape(-1, 3), axis=0), np.int16)
    bg_chroma = int(bg.max() - bg.min())
    db, dg, dr = cv2.split(cv2.absdiff(crop, tuple(float(v) for v in np.clip(bg, 0, 255)) + (0.0,)))
    dist = cv2.max(cv2.max(db, dg), dr)
    colourful = (chroma >= max(MIN_CHROMA, bg_chroma + 35)) & (dist > 40)
    # anti-aliased pixels of thin lines: the line's colour blended with the background (paler, same hue)
    faint = (chroma >= max(WEAK_CHROMA, bg_chroma + 15)) & (dist > 15)
    enough = int(colourful.sum()) >= max(10, w // 10)
    peaks = _hue_peaks(np, hue[colourful], max(8, int(0.15 * w))) if enough else []
    out = []
    swatches: list[tuple[int, int, int, int]] = []
    circ = np.arange(256)
    for p in peaks[:max_series]:
        dh = np.abs(circ - p)
        hue_near = cv2.LUT(hue, (np.minimum(dh, 180 - dh) <= HUE_GAP // 2 + 1).astype(np.uint8)).view(bool)
        near = colourful & hue_near
        if int(near.sum()) < 8:
            continue
        # the line's own colour is the most intense; fills and blended edges are paler. Pixels at 60% of the
        # full chroma are the line; paler ones (down to 30%) are kept only where they touch the line, so a
        # 1-pixel anti-aliased line stays whole while a fill (10-25% opacity) stays out
        strength = chroma[near]
        full = float(np.percentile(strength, 90))
        strong = near & (chroma >= 0.6 * full)
        m = _hysteresis(np, cv2, strong, strong | (faint & hue_near & (chroma >= 0.3 * full)))
        s = _series_from_mask(np, cv2, m, w, h, swatches, colourful & ~hue_near, chroma.astype(np.float32))
        if s is None:
            continue
        yy, thick, kept = s
        col = np.median(crop[kept], axis=0).astype(int)
        out.append(ExtractedSeries(f"#{col[2]:02x}{col[1]:02x}{col[0]:02x}", p, x, yy, kept, thick))
    out = _drop_blends(np, cv2, out)
    taken = colourful.copy()  # the coloured lines' pixels and their anti-aliased edges are not grey
    for s in out:
        taken |= s.mask
    taken = cv2.dilate(taken.astype(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    grey = _grey_series(np, cv2, crop, chroma, dist, taken, w, h, bg)
    if grey is not None:
        out.append(ExtractedSeries(grey[3], -1, x, grey[0], grey[2], grey[1]))
    if out:  # a grey or black legend entry (its line may not be found: it lies behind the legend too)
        swatches.extend(_grey_swatches(np, cv2, (chroma < GREY_CHROMA) & (dist >= 40), taken, w))
    legend = _legend_box(swatches, w, h)
    if len(out) > 1:
        out = [_bridge(np, s, _others(np, out, s), None) for s in out]
    if legend is not None:
        end = max(int(np.flatnonzero(np.isfinite(s.y))[-1]) for s in out) if out else 0
        out = [_bridge(np, s, None, legend, end) for s in out]
    out.sort(key=lambda s: -int(np.isfinite(s.y).sum()))
    return out


def _drop_blends(np, cv2, out: list[ExtractedSeries]) -> list[ExtractedSeries]:
    """Without the "series" that are the blend of two lines: where two lines overlap or run side by side, their
    anti-aliased edges (or a fill over one) mix into a hue between theirs, a hue peak of its own. Such a piece lies
    along the other lines (:data:`BLEND_NEAR` of its pixels within 2 px of theirs; a real line, 0-28% on the tuning
    seeds, only where it crosses them) and, broken where they part, read as a drop-out or a spike. The most
    blended one goes first, then the shares are measured again (a real line next to a blend looked blended too)."""
    while len(out) > 1:
        near = []
        for s in out:
            others = np.zeros_like(s.mask)
            for o in out:
                if o is not s:
                    others |= o.mask
            around = cv2.dilate(others.astype(np.uint8), np.ones((5, 5), np.uint8)).view(bool)
            near.append(float((s.mask & around).sum()) / max(1, int(s.mask.sum())))
        worst = int(np.argmax(near))
        if near[worst] < BLEND_NEAR:
            break
        out = out[:worst] + out[worst + 1:]
    return out


def _grey_series(np, cv2, crop, chroma, dist, coloured, w: int, h: int, bg):
    """The grey or black line of a plot area (no hue: found by its contrast with the background), as
    ``(heights, thickness, mask, colour)``, or None.

    A grey line has a colour of its own, like a coloured one has a hue: the most common strong contrast with the
    background among achromatic pixels (the signed brightness difference, a histogram peak). A pixel is measured by
    how far it goes from the background towards that colour (``alpha``: 1 on the line, 0.5 for a half-covered
    anti-aliased edge). Grid lines, faint outlines and fills are drawn at a fraction of the line's contrast
    (alpha < :data:`GREY_EDGE`), so they never enter the mask and leave no holes where the line crosses them.
    What remains that is not the line: grid lines and frames drawn darker than that (rows whose straight runs
    cover most of the width, columns nearly all the height: a spike's stroke is shorter; where the line crosses
    them it is closed again), shorter straight runs such as a box's edges (kept when they continue the line at both
    ends: its flat stretches), text (pieces whose columns hold several short runs; a jagged line's steep strokes
    are long) and pieces shorter than :data:`GREY_MIN_SPAN` of the width (tick marks, swatches, icons), measured
    through the coloured lines drawn over the grey one. Known limit: a flat stretch that runs into the plot's edge,
    or lies on a grid line, goes with it.
    """
    grey = (chroma < GREY_CHROMA) & ~coloured
    strong_any = grey & (dist >= GREY_STRONG)
    if int(strong_any.sum()) < max(10, w // 10):
        return None
    level = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY).astype(np.float32) - float(np.dot(bg, (0.114, 0.587, 0.299)))
    # the line's contrast, not the frame's or the axes' (long straight runs, often darker than a grey line)
    sa8 = strong_any.astype(np.uint8)
    frame = (cv2.morphologyEx(sa8, cv2.MORPH_OPEN, np.ones((1, max(3, w // 2)), np.uint8))
             | cv2.morphologyEx(sa8, cv2.MORPH_OPEN, np.ones((max(3, h // 2), 1), np.uint8))).view(bool)
    contrast = level[strong_any & ~frame]
    darker = int((contrast < 0).sum()) >= contrast.size / 2
    side = -contrast[contrast < 0] if darker else contrast[contrast > 0]
    if side.size < max(10, w // 10):
        return None
    hist = np.bincount(np.clip(side, 0, 255).astype(int) // 4, minlength=64).astype(float)
    hist = np.convolve(hist, np.array([1.0, 2.0, 1.0]) / 4, mode="same")
    peak = (int(np.argmax(hist)) + 0.5) * 4  # the line's contrast with the background
    alpha = (-level if darker else level) / max(peak, 1.0)
    weak = grey & (alpha >= GREY_EDGE)
    strong = weak & (alpha >= GREY_CORE) & (dist >= GREY_WEAK)
    # grid lines and frames dark enough to count (alpha >= GREY_EDGE): rows whose straight runs cover most of the
    # plot's width (a noisy line covers a row too, but in short pieces), columns nearly all its height (a spike's
    # stroke is shorter), counted where no coloured line hides them
    w8 = weak.astype(np.uint8)
    across = cv2.morphologyEx(w8, cv2.MORPH_OPEN, np.ones((1, max(GREY_FLAT_PX, int(GREY_FLAT * w))), np.uint8))
    down = cv2.morphologyEx(w8, cv2.MORPH_OPEN, np.ones((max(3, h // 2), 1), np.uint8))
    free = ~coloured
    rows = across.sum(axis=1) >= GREY_GRID_ROW * np.maximum(free.sum(axis=1), 1)
    free_rows = np.maximum(free.sum(axis=0), 1)
    long_down = down.sum(axis=0)
    cols = long_down >= GREY_GRID_COL * free_rows
    # a grid line fainter than the line's core (its pixels below GREY_CORE of the line's contrast: a 1-px line's
    # vertical stroke is fully covered, so a spike's is not) is one whenever half its column is one straight run:
    # a legend or a crossing line that interrupts it no longer leaves its stubs on the line
    for c in np.flatnonzero(~cols & (long_down >= GREY_GRID_HALF * free_rows)):
        cols[c] = float(np.median(alpha[down[:, c].view(bool), c])) < GREY_CORE
    grid = weak & (rows[:, None] | cols[None, :])
    runs = across.view(bool) & ~grid  # shorter straight runs: boxes' edges, or flat stretches of the line itself
    m = _hysteresis(np, cv2, strong & ~grid & ~runs, weak & ~grid & ~runs)
    m |= _flat_stretches(np, cv2, runs, m)
    if grid.any():  # where the line crosses a grid line it is whole again (a hole would read as a drop-out)
        m |= cv2.morphologyEx(m.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8)).astype(bool) & grid
    m = _drop_text(np, cv2, m, max(3, int(GREY_MIN_SPAN * w)), coloured)
    if not m.any():
        return None
    got = _series_from_mask(np, cv2, m, w, h, None, coloured, np.clip(alpha, 0, 1).astype(np.float32))
    if got is None:
        return None
    yy, thick, kept = got
    ok = np.flatnonzero(np.isfinite(yy))
    if ok.size < GREY_MIN_SPAN * w:
        return None
    col = np.median(crop[kept & strong], axis=0).astype(int) if (kept & strong).any() else bg.astype(int)
    return yy, thick, kept, f"#{col[2]:02x}{col[1]:02x}{col[0]:02x}"


def _flat_stretches(np, cv2, runs, m):
    """The straight horizontal runs in ``runs`` that continue the line ``m`` at both ends (a flat stretch of the
    line); a box's edge or a frame meets the line at most at one end."""
    n, labels, stats, _ = cv2.connectedComponentsWithStats(runs.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    h, w = m.shape
    for i in range(1, n):
        x, y, sw, sh = (int(v) for v in stats[i, :4])
        band = slice(max(0, y - 3), min(h, y + sh + 3))
        keep[i] = x >= 1 and x + sw < w and m[band, max(0, x - 4):x].any() and m[band, x + sw:x + sw + 4].any()
    return keep[labels] & runs


def _drop_text(np, cv2, m, min_span: int, over=None):
    """``m`` without pieces that are text or boxes (many columns with two or more runs) or narrower than
    ``min_span`` columns. Pieces are measured joined through ``over`` (coloured lines drawn over this one cut it
    where they cross). A narrower line-like piece (at least :data:`GREY_PIECE_SPAN` of the width) stays when it
    lies beside the kept line, at its height and in columns it does not cover: the line's other side of a gap
    (a drop-out early in the plot leaves a piece narrower than ``min_span`` before it)."""
    m8 = m.astype(np.uint8)
    if over is not None:
        reach = cv2.dilate(m8, np.ones((2 * CROSSING + 1, 2 * CROSSING + 1), np.uint8)).view(bool)
        m8 = (m | (over & reach)).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(m8, np.ones((3, 3), np.uint8)), connectivity=8)
    keep = np.zeros(n, bool)
    beside = []  # line-like pieces narrower than min_span
    starts = m & ~np.vstack([np.zeros((1, m.shape[1]), bool), m[:-1]])  # first pixel of each vertical run
    for i in range(1, n):
        x, y, sw, sh = (int(v) for v in stats[i, :4])
        if sw < min(min_span, max(3, int(GREY_PIECE_SPAN * m.shape[1]))):
            continue
        own = (labels[y:y + sh, x:x + sw] == i)
        runs = (starts[y:y + sh, x:x + sw] & own).sum(axis=0)
        cols = runs > 0
        if not cols.any():
            continue
        if float((runs[cols] == 1).mean()) >= GREY_SINGLE_RUN:
            line = True
        else:  # a jagged line crosses columns several times too, but with long steep strokes, and is taller than text
            multi = runs > 1
            per_run = float((own & m[y:y + sh, x:x + sw]).sum(axis=0)[multi].sum()) / max(1, int(runs[multi].sum()))
            line = per_run >= GREY_STROKE_PX and sh >= max(20, 0.1 * m.shape[0])
        if line and sw >= min_span:
            keep[i] = True
        elif line:
            beside.append(i)
    if beside and keep.any():
        kept = m & keep[labels]
        covered = kept.any(axis=0)
        rows = np.flatnonzero(kept.any(axis=1))
        margin = 0.15 * m.shape[0]
        for i in beside:
            x, y, sw, sh = (int(v) for v in stats[i, :4])
            own_cols = (labels[y:y + sh, x:x + sw] == i).any(axis=0)
            shared = float((own_cols & covered[x:x + sw]).sum()) / max(1, int(own_cols.sum()))
            keep[i] = shared <= 0.1 and y >= rows[0] - margin and y + sh <= rows[-1] + 1 + margin
    return m & keep[labels]


def _hysteresis(np, cv2, strong, weak):
    """The pixels of ``weak`` connected (8-neighbourhood) to at least one pixel of ``strong``."""
    n, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    if n <= 1:
        return strong
    hit = np.zeros(n, bool)
    hit[labels[strong]] = True
    hit[0] = False
    return hit[labels]


def _grey_swatches(np, cv2, ink, coloured, w: int) -> list[tuple[int, int, int, int]]:
    """Legend entries drawn in grey or black: a short horizontal stroke (9 px to 12% of the width, at most 8 px
    tall) standing alone (no ink or coloured line just above, below, left or right of it), then its label: letters
    at least 5 px tall. A flat stretch of a grey line, or a grid line cut by a coloured line, continues at its ends,
    so it is never one."""
    i8 = ink.astype(np.uint8)
    runs = cv2.morphologyEx(i8, cv2.MORPH_OPEN, np.ones((1, 9), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(runs, connectivity=8)
    h = ink.shape[0]
    near = ink | coloured
    out = []
    for i in range(1, n):
        x, y, sw, sh = (int(v) for v in stats[i, :4])
        if not (sw <= 0.12 * w and sh <= 8) or x < 5 or x + sw + 16 > w or y < 4 or y + sh + 4 > h:
            continue
        around = (near[y - 4:y, x:x + sw].any() or near[y + sh:y + sh + 4, x:x + sw].any()
                  or near[y - 2:y + sh + 2, x - 5:x - 1].any() or near[y - 2:y + sh + 2, x + sw + 1:x + sw + 3].any())
        label = ink[max(0, y - 8):y + sh + 8, x + sw + 3:x + sw + 16]
        if not around and int(label.any(axis=1).sum()) >= 5:
            out.append((x, y, sw, sh))
    return out


def _legend_box(swatches: list[tuple[int, int, int, int]], w: int, h: int) -> tuple[int, int, int, int] | None:
    """Where a legend inside the plot area is: around its colour swatches, with room for the labels."""
    if not swatches:
        return None
    x0 = min(x for x, _, _, _ in swatches) - 18
    y0 = min(y for _, y, _, _ in swatches) - 24
    x1 = max(x + sw for x, _, sw, _ in swatches) + max(90, int(0.25 * w))
    y1 = max(y + sh for _, y, _, sh in swatches) + 24
    return max(0, x0), max(0, y0), min(w - 1, x1), min(h - 1, y1)


def _others(np, series: list[ExtractedSeries], me: ExtractedSeries):
    """The pixels of every other series (they may be drawn over this one)."""
    out = np.zeros_like(me.mask)
    for o in series:
        if o is not me:
            out |= o.mask
    return out


def _bridge(np, s: ExtractedSeries, others, legend: tuple[int, int, int, int] | None,
            end: int | None = None) -> ExtractedSeries:
    """Bridge gaps where the line is hidden, not missing: behind the legend (both ends of the gap at the
    legend's rows), or under other series (their pixels lie along the straight path across the gap, within this
    line's stroke width).
    Values in between are interpolated; the model's picture is bridged too."""
    x0, y0, x1, y1 = legend if legend is not None else (0, 0, s.mask.shape[1], s.mask.shape[0])
    y = s.y.copy()
    mask = s.mask.copy()
    h = s.mask.shape[0]
    half = max(0, round(s.thickness / 2))
    miss = ~np.isfinite(y)
    ok = np.flatnonzero(~miss)
    if ok.size < 2:
        return s
    runs = np.flatnonzero(np.diff(np.r_[0, miss[ok[0]:ok[-1] + 1].astype(int), 0]))
    changed = False
    for a, b in zip(runs[::2] + ok[0], runs[1::2] + ok[0]):
        left, right = y[a - 1], y[b] if b < y.size else np.nan
        rows = [(h - 1) * (1 - v) for v in (left, right) if np.isfinite(v)]
        if not (x0 <= a and b - 1 <= x1) or not rows or not all(y0 <= r <= y1 for r in rows):
            continue
        path = np.interp(np.arange(a, b), [a - 1, b], [left, right if np.isfinite(right) else left])
        if others is not None:
            reach = round(_stroke_width(np, s.mask)) + 2
            hit = [others[max(0, r - reach):r + reach + 1, c].any()
                   for c, r in zip(range(a, b), ((h - 1) * (1 - path)).round().astype(int))]
            if np.mean(hit) < 0.6:
                continue
        y[a:b] = path
        for col in range(a, b):  # the picture the model sees is bridged too
            r = round((h - 1) * (1 - y[col]))
            mask[max(0, r - half):min(h, r + half + 1), col] = True
        changed = True
    # a line whose end disappears behind a legend in the plot's corner: hidden, not stopped
    last = int(ok[-1])
    if legend is not None and end is not None and end > last + 3 and x0 <= last + 2 <= x1:
        r = (h - 1) * (1 - y[last])
        if y0 <= r <= y1:
            y[last + 1:end + 1] = y[last]
            rr = round(r)
            mask[max(0, rr - half):min(h, rr + half + 1), last + 1:end + 1] = True
            changed = True
    if not changed:
        return s
    from dataclasses import replace

    return replace(s, y=y, mask=mask)


def _stroke_width(np, mask) -> float:
    """The width of a line's stroke: the lower quartile of its pixels per column. Its thickness (the median) is
    inflated on a jagged line, whose steep strokes fill many rows of a column; where it turns, a column holds
    about the stroke."""
    per_col = mask.sum(axis=0)
    per_col = per_col[per_col > 0]
    return float(np.percentile(per_col, 25)) if per_col.size else 1.0


def _series_from_mask(np, cv2, m, w: int, h: int, swatches: list | None = None, others=None, weight=None):
    """Per-column heights from a line's mask, after dropping short pieces (legend swatches, noted in
    ``swatches`` as (x, y, width, height) when they are short and flat). Pieces are measured joined through
    ``others`` (the other lines' pixels): a line cut into short pieces where other series cross over it
    is still one line. Only the other lines' pixels within a few pixels of this line's own count (a crossing),
    so a legend swatch lying on another series is not joined to its own line through that series. ``weight``
    (per pixel, e.g. its chroma) weighs each pixel in the column's value."""
    m8 = m.astype(np.uint8)
    if others is not None:
        reach = cv2.dilate(m8, np.ones((2 * CROSSING + 1, 2 * CROSSING + 1), np.uint8)).astype(bool)
        m8 = (m | (others & reach)).astype(np.uint8)
    joined = cv2.dilate(m8, np.ones((3, 3), np.uint8))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    if n <= 1:
        return None
    spans = stats[1:, cv2.CC_STAT_WIDTH]
    keep = np.flatnonzero(spans >= max(3, MIN_SPAN * w)) + 1
    if swatches is not None:
        for st in stats[1:][spans < max(3, MIN_SPAN * w)]:
            x, y, sw, sh = (int(v) for v in st[:4])
            if 8 <= sw <= 0.12 * w and sh <= 8:
                swatches.append((x, y, sw, sh))
    if keep.size == 0:
        return None
    wanted = np.zeros(n, bool)
    wanted[keep] = True
    kept = wanted[labels] & m
    rows = np.arange(h, dtype=np.float64)
    k32 = kept.astype(np.float32)
    cnt = k32.sum(axis=0, dtype=np.float64)
    has = cnt > 0
    if has.sum() < 3:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        # column sums as products with a vector of row numbers (BLAS): the line's mean row per column
        if weight is None:
            mean = (rows @ k32) / cnt
        else:  # anti-aliased edge pixels count for what they cover: the line's centre, not the edges' mean
            wk = (k32 * weight).astype(np.float64)
            mean = (rows @ wk) / np.maximum(wk.sum(axis=0), 1e-9)
        top = np.where(has, np.argmax(kept, axis=0), -1).astype(float)
        bottom = np.where(has, h - 1 - np.argmax(kept[::-1], axis=0), -1).astype(float)
    runs = np.where(has, bottom - top + 1, np.nan)
    thick = float(np.nanmedian(runs))
    ycol = np.where(has, mean, np.nan)
    # a steep stroke (spike edge) covers many rows in a column: take its end farthest from the local level
    steep = has & (runs > 3 * max(1.0, thick))
    if steep.any():
        level = _rolling_median(np, ycol, max(5, w // 25))
        pick = np.where(np.abs(top - level) > np.abs(bottom - level), top, bottom)
        ycol = np.where(steep, pick, ycol)
    height = (h - 1 - ycol) / max(1, h - 1)
    first, last = np.flatnonzero(has)[[0, -1]]
    height[:first] = np.nan
    height[last + 1:] = np.nan
    return height, thick, kept


def _rolling_median(np, y, k: int):
    """Centred rolling median ignoring NaN (simple and small: panels are at most a few thousand columns)."""
    n = y.size
    half = k // 2
    pad = np.r_[np.full(half, np.nan), y, np.full(half, np.nan)]
    win = np.sort(np.lib.stride_tricks.sliding_window_view(pad, 2 * half + 1)[:n], axis=1)  # NaN sort last
    cnt = np.isfinite(win).sum(axis=1)
    idx = np.arange(n)
    lo, hi = np.maximum(cnt - 1, 0) // 2, cnt // 2  # the finite values' middle one or two (np.nanmedian)
    med = np.where(cnt > 0, (win[idx, lo] + win[idx, np.minimum(hi, win.shape[1] - 1)]) / 2, np.nan)
    return np.where(np.isfinite(med), med, y)
