"""Finding the panels of a dashboard screenshot, and each panel's plot area, with OpenCV contours.

A panel is a large, nearly rectangular region that differs from the page background: a Grafana
panel's own background, a matplotlib axes frame, a Bokeh plot's outline, or the outer edge of a grid.
Works on light and dark pages alike (the page colour is learned from the image border).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._deps import require

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["Box", "FoundPanel", "background_colour", "find_panels"]

log = logging.getLogger(__name__)

Box = tuple[int, int, int, int]  # x, y, width, height
FACE_STEP = 6     # a plot face this much (max over channels) lighter or darker than its card is a face of its own
FACE_CLOSE = 7    # pixels: lines on the face up to this wide (grid, series, frame) are closed over
FACE_MAX = 0.9    # a face covers less of its panel than this (else the plot is drawn on the card itself)


@dataclass(frozen=True)
class FoundPanel:
    bbox: Box          # the panel
    plot: Box          # its plot area (inside bbox)
    background: tuple[int, int, int]  # BGR colour of the plot area's background
    framed: bool       # the plot area was found as a rectangle (not guessed from margins)


def background_colour(img: np.ndarray) -> np.ndarray:
    """The most common colour of the image border (quantised to 8 levels a channel), as BGR."""
    np = require("numpy")
    border = np.concatenate([img[:3].reshape(-1, 3), img[-3:].reshape(-1, 3),
                             img[:, :3].reshape(-1, 3), img[:, -3:].reshape(-1, 3)])
    return _mode_colour(np, border)


def _mode_colour(np, pixels):
    q = (pixels.astype(np.int32) // 8)
    keys = q[:, 0] * 1024 + q[:, 1] * 32 + q[:, 2]
    vals, counts = np.unique(keys, return_counts=True)
    best = vals[np.argmax(counts)]
    sel = pixels[keys == best]
    return np.median(sel, axis=0).astype(np.uint8)


def _diff_mask(np, cv2, img, colour, tol: int):
    """255 where any channel differs from ``colour`` by more than ``tol`` (one OpenCV pass, no int16 copy)."""
    c = colour.astype(np.int16)
    lo = np.clip(c - tol, 0, 255).astype(np.float64).tolist()
    hi = np.clip(c + tol, 0, 255).astype(np.float64).tolist()
    return cv2.bitwise_not(cv2.inRange(np.ascontiguousarray(img), tuple(lo), tuple(hi)))


def _rect_candidates(np, cv2, mask, min_w: int, min_h: int, min_fill: float = 0.85):
    """Bounding boxes of contours that are big and nearly rectangular (area / box area >= min_fill)."""
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for cnt in contours:
        x, y, w, h = cv2.boundingRect(cnt)
        if w < min_w or h < min_h:
            continue
        area = cv2.contourArea(cnt)
        if area >= min_fill * w * h:
            out.append((x, y, w, h))
    return out


def _contains(a: Box, b: Box, slack: int = 2) -> bool:
    return (a[0] - slack <= b[0] and a[1] - slack <= b[1] and b[0] + b[2] <= a[0] + a[2] + slack
            and b[1] + b[3] <= a[1] + a[3] + slack)


def _dedupe(boxes: list[Box], tol: int = 4) -> list[Box]:
    out: list[Box] = []
    for b in sorted(boxes, key=lambda b: -b[2] * b[3]):
        if not any(all(abs(p - q) <= tol for p, q in zip(b, o)) for o in out):
            out.append(b)
    return out


def find_panels(img: np.ndarray, *, min_frac: float = 0.06) -> list[FoundPanel]:
    """Panels in reading order (top to bottom, left to right) with their plot areas."""
    np = require("numpy")
    cv2 = require("cv2", "vision")
    H, W = img.shape[:2]
    page = background_colour(img)
    min_w, min_h = max(40, int(min_frac * W)), max(30, int(min_frac * H))
    mask = _diff_mask(np, cv2, img, page, 6)
    # bridge grid lines drawn in the page colour (ggplot's white grid on a grey face)
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    cands = _dedupe(_rect_candidates(np, cv2, mask, min_w, min_h))
    # the whole page is not a panel (a framed screenshot, a browser border)
    cands = [b for b in cands if b[2] * b[3] < 0.92 * W * H]
    # outermost rectangles are panels; a rectangle inside one is its plot area
    outer = [b for b in cands if not any(o != b and _contains(o, b) for o in cands)]
    # a "panel" that holds several big rectangles side by side is a row or container
    rects: list[Box] = []
    for b in outer:
        inner = _disjoint([c for c in cands if c != b and _contains(b, c) and c[2] * c[3] > 0.15 * b[2] * b[3]])
        rects.extend(inner if len(inner) >= 2 else [b])
    # frameless panels (a grid on the page colour): blobs of marks; rectangles that cover little of their
    # blob are grid cells or legends, not panels
    panels: list[Box] = []
    for blob in _blobs(np, cv2, mask, min_w, min_h):
        inside = [r for r in rects if _overlap(blob, r) > 0.8 * r[2] * r[3]]
        if inside and sum(r[2] * r[3] for r in inside) >= 0.4 * blob[2] * blob[3]:
            panels.extend(inside)
        else:
            panels.append(blob)
    panels = sorted(set(panels), key=lambda b: (round(b[1] / max(1, 0.05 * H)), b[0]))
    out = [_plot_area(np, cv2, img, b, page) for b in panels]
    log.info("found %d panels (page colour %s)", len(out), page.tolist())
    return out


def _overlap(a: Box, b: Box) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def _blobs(np, cv2, mask, min_w: int, min_h: int) -> list[Box]:
    """Fallback for frameless panels: big blobs of content once nearby marks are merged."""
    H, W = mask.shape
    k = max(5, int(0.02 * max(H, W)))
    merged = cv2.dilate(mask, np.ones((k, k), np.uint8))
    contours, _ = cv2.findContours(merged, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for cnt in contours:
        x, y, w, h = cv2.boundingRect(cnt)
        if w >= min_w and h >= min_h:
            half = k // 2
            out.append((x + half, y + half, max(1, w - 2 * half), max(1, h - 2 * half)))
    return out


def _disjoint(boxes: list[Box]) -> list[Box]:
    """The outermost of ``boxes`` (those not inside another)."""
    return [b for b in boxes if not any(o != b and _contains(o, b) for o in boxes)]


def _plot_area(np, cv2, img, box: Box, page) -> FoundPanel:
    """The plot area of a panel: an inner framed rectangle (axes spines, a grid's edge) if there is one,
    else the panel itself (the series' own extent then stands for the time axis)."""
    x, y, w, h = box
    crop = img[y:y + h, x:x + w]
    inner_bg = _mode_colour(np, crop[h // 8: h - h // 8: 2, w // 8: w - w // 8: 2].reshape(-1, 3))
    m = _diff_mask(np, cv2, crop, inner_bg, 10)
    m[:2] = m[-2:] = 0
    m[:, :2] = m[:, -2:] = 0
    rects = [r for r in _rect_candidates(np, cv2, m, int(0.5 * w), int(0.4 * h), 0.9)
             if r[2] * r[3] < 0.97 * w * h]
    bg = tuple(int(v) for v in inner_bg)
    if not rects:
        rects = _face(np, cv2, crop, inner_bg)
    if rects:
        px, py, pw, ph = max(rects, key=lambda r: r[2] * r[3])
        # the frame line itself is not data
        return FoundPanel(box, (x + px + 2, y + py + 2, max(1, pw - 4), max(1, ph - 4)), bg, True)
    return FoundPanel(box, (x + 2, y + 2, max(1, w - 4), max(1, h - 4)), bg, False)


def _face(np, cv2, crop, face) -> list[Box]:
    """A plot face barely lighter or darker than its card (Panel's dark design: #2b3035 on #212529): the
    region of the face's colour once the thin marks on it (grid and series lines, a frame) are closed over.

    The frame test above misses it: the face differs from the card by about its tolerance, so the card and the
    frame line are one region and the grid lines cut the face into cells. Only tried when the card's own colour
    (the ring just inside the panel's edge) differs from the face's; a Grafana-like card, whose plot is drawn on
    the card itself, keeps the whole card.
    """
    h, w = crop.shape[:2]
    ring = np.concatenate([crop[3:6, 3:w - 3].reshape(-1, 3), crop[h - 6:h - 3, 3:w - 3].reshape(-1, 3),
                           crop[3:h - 3, 3:6].reshape(-1, 3), crop[3:h - 3, w - 6:w - 3].reshape(-1, 3)])
    if ring.size == 0:
        return []
    card = _mode_colour(np, ring)
    step = int(np.abs(card.astype(np.int16) - face.astype(np.int16)).max())
    if step < FACE_STEP:
        return []
    same = cv2.bitwise_not(_diff_mask(np, cv2, crop, face, max(2, step // 2)))
    same[:2] = same[-2:] = 0
    same[:, :2] = same[:, -2:] = 0
    same = cv2.morphologyEx(same, cv2.MORPH_CLOSE, np.ones((FACE_CLOSE, FACE_CLOSE), np.uint8))
    return [r for r in _rect_candidates(np, cv2, same, int(0.5 * w), int(0.4 * h), 0.9)
            if r[2] * r[3] < FACE_MAX * w * h]
