"""Titles and axis ticks with Tesseract (Debian's ``tesseract-ocr`` through ``pytesseract``), when present.

One Tesseract run per screenshot (sparse-text mode) gives every word and its box; words are then
assigned to panels by position: the title above the plot area, numbers left of it (the value axis,
fitted linearly to pixel rows), ``HH:MM`` labels under it (the time axis). Without Tesseract the
analysis works on shapes only and says so in the report.
"""

from __future__ import annotations

import logging
import re
import shutil
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._deps import require

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .panels import FoundPanel

__all__ = [
    "Axis",
    "Word",
    "ocr_available",
    "panel_title",
    "parse_number",
    "read_words",
    "time_axis_labels",
    "value_axis",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Word:
    text: str
    conf: float
    x: int
    y: int
    w: int
    h: int
    line: tuple[int, int, int]

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Axis:
    """``value = intercept + slope * pixel`` fitted on ``ticks`` (pixel, value); ``unit`` as printed."""

    intercept: float
    slope: float
    ticks: tuple[tuple[float, float], ...]
    unit: str = ""

    def __call__(self, pixel: float) -> float:
        return self.intercept + self.slope * pixel


def ocr_available() -> str | None:
    """None when OCR can run, else the reason it cannot (missing package or binary)."""
    try:
        require("pytesseract", "vision")
    except Exception as exc:  # noqa: BLE001 - MissingDependencyError: reported, not raised
        return str(exc).split("\n")[0]
    if shutil.which("tesseract") is None:
        return "the 'tesseract' program is not installed (Debian: apt-get install tesseract-ocr)"
    return None


def read_words(img: np.ndarray, panels: list[FoundPanel] = (), min_conf: float = 30.0) -> list[Word]:
    """Every word Tesseract finds in a BGR image (one run, sparse-text mode), in image coordinates.

    The inside of each panel's plot area is blanked first (lines are not text, and cost Tesseract time).
    """
    np = require("numpy")
    cv2 = require("cv2", "vision")
    pytesseract = require("pytesseract", "vision")
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if float(np.median(grey)) < 110:  # dark theme: Tesseract reads dark text on light best
        grey = 255 - grey
    paper = int(np.median(grey))
    for p in panels:
        x, y, w, h = p.plot
        if not p.framed:  # a card: its title and axis labels are inside
            x, y, w, h = x + int(0.12 * w), y + int(0.16 * h), int(0.86 * w), int(0.7 * h)
        grey[y:y + h, x:x + w] = paper
    scale = 2 if max(grey.shape) < 1400 else 1
    if scale > 1:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    try:
        d = pytesseract.image_to_data(grey, config="--psm 11", output_type=pytesseract.Output.DICT, timeout=20)
    except (RuntimeError, OSError, pytesseract.TesseractError) as exc:
        log.warning("OCR failed: %s", exc)
        return []
    out = []
    for i, text in enumerate(d["text"]):
        t = (text or "").strip()
        conf = float(d["conf"][i])
        if not t or conf < min_conf:
            continue
        out.append(Word(t, conf, d["left"][i] // scale, d["top"][i] // scale, max(1, d["width"][i] // scale),
                        max(1, d["height"][i] // scale), (d["block_num"][i], d["par_num"][i], d["line_num"][i])))
    return out


_NUM = re.compile(r"^([-\u2212]?\d+(?:[.,]\d+)?)\s*(%|k|K|M|G|T|m|u|\u00b5|n|ms|s|B|KB|MB|GB|KiB|MiB|GiB)?$")
_SCALE = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "m": 1e-3, "u": 1e-6, "\u00b5": 1e-6, "n": 1e-9,
          "KB": 1e3, "MB": 1e6, "GB": 1e9, "KiB": 1024.0, "MiB": 1024.0 ** 2, "GiB": 1024.0 ** 3}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def parse_number(text: str) -> tuple[float, str] | None:
    """'1.5k' -> (1500.0, 'k'), '20%' -> (20.0, '%'), '250 ms' -> (250.0, 'ms'); None if not a number."""
    t = text.strip().replace("\u2212", "-")
    if "," in t and "." not in t and re.fullmatch(r"-?\d{1,3}(,\d{3})+", t):
        t = t.replace(",", "")
    m = _NUM.match(t)
    if not m:
        return None
    value = float(m.group(1).replace(",", ".").replace("\u2212", "-"))
    unit = m.group(2) or ""
    return value * _SCALE.get(unit, 1.0), unit


def panel_title(words: list[Word], panel: FoundPanel) -> str:
    """The line of non-numeric words just above (or at the top of) the plot area, within the panel."""
    bx, by, bw, _bh = panel.bbox
    _px, py, _pw, ph = panel.plot
    top_band = py + (0.14 * ph if not panel.framed else 0)
    cands = [w for w in words if bx - 4 <= w.cx <= bx + bw + 4 and by - 40 <= w.cy <= top_band]
    lines: dict[tuple[int, int, int], list[Word]] = {}
    for w in cands:
        lines.setdefault(w.line, []).append(w)
    # a title has a word with letters (tick labels are numbers and times)
    lines = {k: ws for k, ws in lines.items() if any(sum(c.isalpha() for c in w.text) >= 2 for w in ws)}
    if not lines:
        return ""
    # the line nearest the plot top (titles sit just above it)
    best = min(lines.values(), key=lambda ws: abs(top_band - max(w.cy for w in ws)))
    return " ".join(w.text for w in sorted(best, key=lambda w: w.x))


def value_axis(words: list[Word], panel: FoundPanel) -> Axis | None:
    """A linear fit of the numbers left of the plot area to their pixel rows (needs 2+ consistent ticks)."""
    np = require("numpy")
    bx, _, _, _ = panel.bbox
    px, py, pw, ph = panel.plot
    ticks, units = [], []
    for w in words:
        if not (bx - 70 <= w.cx <= px + 0.12 * pw and py - 6 <= w.cy <= py + ph + 6):
            continue
        if w.cx > px + 0.12 * pw:
            continue
        parsed = parse_number(w.text)
        if parsed is not None:
            ticks.append((w.cy, parsed[0]))
            units.append(parsed[1])
    return _fit(np, ticks, units, increasing=False)


def time_axis_labels(words: list[Word], panel: FoundPanel) -> Axis | None:
    """Seconds of the day against pixel columns, from ``HH:MM`` labels under the plot area."""
    np = require("numpy")
    px, py, pw, ph = panel.plot
    ticks = []
    for w in words:
        m = _TIME.match(w.text)
        if m and px - 20 <= w.cx <= px + pw + 20 and py + 0.7 * ph <= w.cy <= py + ph + 40:
            secs = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3) or 0)
            if secs < 86400:
                ticks.append((w.cx, float(secs)))
    return _fit(np, ticks, [], increasing=True)


def _fit(np, ticks, units, increasing: bool, retry: bool = True) -> Axis | None:
    """A straight line through (pixel, value) ticks; one misread tick may be dropped (leave-one-out)."""
    if len({v for _, v in ticks}) < 2:
        return None
    px = np.array([p for p, _ in ticks])
    vals = np.array([v for _, v in ticks])
    slope, intercept = np.polyfit(px, vals, 1)
    resid = np.abs(intercept + slope * px - vals)
    spread = float(vals.max() - vals.min())
    good = slope != 0 and (slope > 0) == increasing and spread > 0 and float(resid.max()) <= 0.05 * spread
    if not good:
        if retry and len(ticks) > 3:
            fits = [_fit(np, ticks[:i] + ticks[i + 1:], units[:i] + units[i + 1:], increasing, False)
                    for i in range(len(ticks))]
            fits = [f for f in fits if f is not None]
            return fits[0] if len(fits) == 1 else None
        return None
    unit = max(set(units), key=units.count) if units else ""
    return Axis(float(intercept), float(slope), tuple((float(p), float(v)) for p, v in ticks), unit)
