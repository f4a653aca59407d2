"""Titles and axis ticks with Tesseract (Debian's ``tesseract-ocr``, run directly on one thread), when present.

One Tesseract run per screenshot (sparse-text mode) over a mosaic of the strips where titles and ticks can be
(upscaled 3x) gives every word and its box; words are then assigned to panels by position: the title above the plot area, numbers left of it (the value axis,
fitted linearly to pixel rows), ``HH:MM`` labels under it (the time axis). The pages go to one long-lived
Tesseract worker process (:mod:`._tess_worker`, model loaded once) or, when it cannot run, to the ``tesseract``
program. Without Tesseract the analysis works on shapes only and says so in the report.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._deps import require

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .panels import FoundPanel

__all__ = [
    "Axis",
    "Word",
    "merge_words",
    "ocr_available",
    "panel_title",
    "parse_number",
    "read_words",
    "start_reading",
    "text_regions",
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
    """None when OCR can run, else the reason it cannot (the ``tesseract`` program is missing)."""
    if shutil.which("tesseract") is None:
        return "the 'tesseract' program is not installed (Debian: apt-get install tesseract-ocr)"
    return None


OCR_TIMEOUT_S = 30.0


PERSISTENT = True  # read pages in one long-lived libtesseract worker (else one ``tesseract`` program run per page)


class _Worker:
    """One long-lived Tesseract process per Python process (:mod:`._tess_worker`): the model is loaded once.

    Started on first use; on any failure (no libtesseract, a crash, a timeout) it is stopped and the caller falls
    back to the ``tesseract`` program, and it is not started again in this process. Pages go one at a time (a lock).
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._owner = 0
        self._lock = threading.Lock()
        self._broken = False

    def tsv(self, page: np.ndarray, timeout: float) -> str | None:
        """The word table of a grey uint8 page, or None when the worker cannot serve (then never again)."""
        if self._broken:
            return None
        with self._lock:
            if self._proc is not None and self._owner != os.getpid():  # a forked child: the parent's worker
                self._proc = None                                       # is not ours to talk to
            try:
                if self._proc is None:
                    self._start(timeout)
                proc = self._proc
                h, w = page.shape
                proc.stdin.write(struct.pack("<II", w, h) + page.tobytes())
                proc.stdin.flush()
                size = struct.unpack("<I", self._read(4, timeout))[0]
                return self._read(size, timeout).decode("utf-8", errors="replace")
            except (OSError, ValueError, struct.error, subprocess.SubprocessError) as exc:
                log.warning("the Tesseract worker failed (%s): using the tesseract program", exc)
                self._broken = True
                self._stop()
                return None

    def _start(self, timeout: float) -> None:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_tess_worker.py")
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        self._proc = subprocess.Popen([sys.executable, "-I", script, "11"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self._owner = os.getpid()
        atexit.register(self._stop)
        if self._read(2, timeout) != b"OK":
            raise OSError("libtesseract or its English model could not be loaded")

    def _read(self, n: int, timeout: float) -> bytes:
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise subprocess.TimeoutExpired("tesseract worker", timeout)
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise OSError("the Tesseract worker exited")
            buf += chunk
        return bytes(buf)

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or self._owner != os.getpid():
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()
        try:
            proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=2)
        with contextlib.suppress(OSError):
            proc.stdout.close()


_WORKER = _Worker()


def _tesseract_tsv(np, cv2, page: np.ndarray) -> dict[str, list]:
    """Tesseract's word table (``tsv``) for a grey page, columns as lists; one OpenMP thread.

    Through the long-lived worker when it runs (:data:`PERSISTENT`): the ``tesseract`` program spends ~0.35 s of
    CPU starting (loading its model) before it reads a pixel, more than reading a dashboard's words takes.

    Called directly (no shell; the page goes in on stdin): Tesseract's OpenMP threads are the one thing to
    control. Two of them on a busy 2-core machine took 8-9 s wall / 2.2 s CPU on a 1 MP page against 2.3-2.8 s
    wall / 0.7 s CPU with one (``OMP_THREAD_LIMIT=1``, load 8-9)."""
    exe = shutil.which("tesseract")
    if exe is None:
        raise OSError("the 'tesseract' program is not installed")
    text = _WORKER.tsv(np.ascontiguousarray(page, np.uint8), OCR_TIMEOUT_S) if PERSISTENT else None
    if text is not None:
        return _parse_tsv(text)
    ok, png = cv2.imencode(".png", page)
    if not ok:
        raise OSError("could not encode the OCR page")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    proc = subprocess.run([exe, "stdin", "stdout", "--psm", "11", "tsv"], input=png.tobytes(),
                          capture_output=True, timeout=OCR_TIMEOUT_S, env=env, check=False)
    if proc.returncode != 0:
        raise OSError(f"tesseract exited with {proc.returncode}: {proc.stderr.decode(errors='replace')[-300:]}")
    return _parse_tsv(proc.stdout.decode("utf-8", errors="replace"))


def _parse_tsv(text: str) -> dict[str, list]:
    rows = text.split("\n")
    head = rows[0].split("\t") if rows else []
    cols: dict[str, list] = {k: [] for k in head}
    for row in rows[1:]:
        parts = row.split("\t")
        if len(parts) != len(head):
            continue
        for k, v in zip(head, parts):
            cols[k].append(v if k == "text" else (float(v) if k == "conf" else int(v)))
    return cols


def read_words(img: np.ndarray, panels: list[FoundPanel] = (), min_conf: float = 30.0,
               time_axes: list[bool] | None = None, labels: bool = True) -> list[Word]:
    """Every word Tesseract finds where titles and ticks are, in image coordinates (one Tesseract run).

    With panels: only the strips where :func:`panel_title`, :func:`value_axis` and :func:`time_axis_labels`
    look (above the plot, left of it, under it) are read, each upscaled 3x (tick labels are often 7-9 px tall)
    and stacked into one mosaic for one sparse-text run: a fraction of the page's pixels, so a fraction of
    the time of reading the whole page. Without panels, the whole page is read (at 2x below 1400 px).
    The inside of each panel's plot area is blanked first (lines are not text, and cost Tesseract time).
    ``time_axes``: per panel, whether its time axis is read too (only a flagged panel needs a clock time; the
    tick labels under the plots are about half of a dashboard's words, so of Tesseract's time). ``labels=False``:
    only those time axes (titles and value axes read already, see :func:`start_reading`).
    """
    np = require("numpy")
    cv2 = require("cv2", "vision")
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    if float(np.median(grey)) < 110:  # dark theme: Tesseract reads dark text on light best
        grey = 255 - grey
    paper = int(np.median(grey))
    for p in panels:
        x, y, w, h = p.plot
        if not p.framed:  # a card: its title and axis labels are inside
            x, y, w, h = x + int(0.12 * w), y + int(0.16 * h), int(0.86 * w), int(0.7 * h)
        grey[y:y + h, x:x + w] = paper
    if panels:
        page, pieces = _mosaic(np, cv2, grey, _allowed(np, grey.shape, panels, time_axes, labels), paper)
        scale = STRIP_SCALE
        if page is None:
            return []
    else:
        scale = 2 if max(grey.shape) < 1400 else 1
        page = grey if scale == 1 else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        pieces = [(0, 0, page.shape[1], page.shape[0], 0, 0)]
    try:
        d = _tesseract_tsv(np, cv2, page)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("OCR failed: %s", exc)
        return []
    out, seen = [], set()
    for i, text in enumerate(d["text"]):
        t = (text or "").strip()
        conf = float(d["conf"][i])
        if not t or conf < min_conf:
            continue
        cx, cy = d["left"][i] + d["width"][i] / 2, d["top"][i] + d["height"][i] / 2
        k = next((k for k, (a, b, c, e, _, _) in enumerate(pieces) if a <= cx < c and b <= cy < e), None)
        if k is None:
            continue
        px, py, _, _, ox, oy = pieces[k]
        word = Word(t, conf, ox + (d["left"][i] - px) // scale, oy + (d["top"][i] - py) // scale,
                    max(1, d["width"][i] // scale), max(1, d["height"][i] // scale),
                    (k * 1000 + d["block_num"][i], d["par_num"][i], d["line_num"][i]))
        key = (t, round(word.cx / 4), round(word.cy / 4))  # strips of neighbouring panels may overlap
        if key not in seen:
            seen.add(key)
            out.append(word)
    return out


class Reading:
    """Words being read on a thread (:func:`start_reading`); :meth:`result` waits for them."""

    def __init__(self, img: np.ndarray, panels: list[FoundPanel], time_axes: list[bool] | None) -> None:
        self._words: list[Word] = []
        self._error: Exception | None = None
        self._thread = threading.Thread(target=self._run, args=(img, panels, time_axes), daemon=True,
                                        name="promv5-ocr")
        self._thread.start()

    def _run(self, img: np.ndarray, panels: list[FoundPanel], time_axes: list[bool] | None) -> None:
        try:
            self._words = read_words(img, panels, time_axes=time_axes)
        except Exception as exc:  # noqa: BLE001 - re-raised in the caller's thread by result()
            self._error = exc

    def result(self) -> list[Word]:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._words


def start_reading(img: np.ndarray, panels: list[FoundPanel], time_axes: list[bool] | None = None) -> Reading:
    """:func:`read_words` on a thread: Tesseract (its own process) reads the titles and value axes on one core
    while the caller extracts the lines on the other. The thread itself only cuts out the text (~0.04 s) and
    then waits for the worker's answer."""
    return Reading(img, panels, time_axes)


def merge_words(first: list[Word], more: list[Word]) -> list[Word]:
    """Words of two readings of one image: a word both read (their strips may overlap) once; the second reading's
    lines numbered apart from the first's."""
    from dataclasses import replace

    seen = {(w.text, round(w.cx / 4), round(w.cy / 4)) for w in first}
    out = list(first)
    for w in more:
        if (w.text, round(w.cx / 4), round(w.cy / 4)) not in seen:
            out.append(replace(w, line=(w.line[0] + 1_000_000, w.line[1], w.line[2])))
    return out


STRIP_SCALE = 3  # upscaling of the text strips (Tesseract wants ~20-30 px tall letters)
MOSAIC_GAP = 40  # blank pixels between two pieces of text on the OCR page
MOSAIC_PAD = 6   # pixels of the image kept around each piece of text
BINARIZE = 70    # a pixel this far from the page colour is ink (0: the grey pixels as they are)


def text_regions(p: FoundPanel, shape: tuple[int, ...], time_axis: bool = True,
                 labels: bool = True) -> list[tuple[int, int, int, int]]:
    """Where a panel's title and tick labels can be, as (x0, y0, x1, y1) in the image: the bands the word
    filters of :func:`panel_title`, :func:`value_axis` (with ``labels``) and :func:`time_axis_labels` (with
    ``time_axis``) accept, a few px wider."""
    H, W = shape[:2]
    bx, by, bw, _ = p.bbox
    px, py, pw, ph = p.plot
    top = py + (0.14 * ph if not p.framed else 0)
    boxes = [(bx - 6, by - 46, bx + bw + 6, top + 8),
             (bx - 76, py - 14, px + 0.12 * pw + 8, py + ph + 14),
             (px - 40, py + 0.7 * ph, px + pw + 40, py + ph + 48)]
    boxes = (boxes[:2] if labels else []) + (boxes[2:] if time_axis else [])
    out = []
    for x0, y0, x1, y1 in boxes:
        x0, y0, x1, y1 = max(0, int(x0)), max(0, int(y0)), min(W, int(x1)), min(H, int(y1))
        if x1 - x0 >= 8 and y1 - y0 >= 6:
            out.append((x0, y0, x1, y1))
    return out


def _allowed(np, shape: tuple[int, ...], panels: list[FoundPanel], time_axes: list[bool] | None,
             labels: bool = True):
    """Where text is read: each panel's :func:`text_regions`, without the inside of any other panel's box (a
    title band reaching above a card, or a value band reaching left of it, would otherwise read the neighbouring
    panel's time ticks and legend: a third of a dashboard's words, none of them used)."""
    H, W = shape[:2]
    allowed = np.zeros((H, W), bool)
    for i, p in enumerate(panels):
        mine = np.zeros((H, W), bool)
        for x0, y0, x1, y1 in text_regions(p, shape, time_axes is None or time_axes[i], labels):
            mine[y0:y1, x0:x1] = True
        for j, o in enumerate(panels):
            ox, oy, ow, oh = o.bbox
            if j != i and not _inside(p.bbox, o.bbox):
                mine[max(0, oy):max(0, oy + oh), max(0, ox):max(0, ox + ow)] = False
        allowed |= mine
    return allowed


def _inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    """Whether box ``a`` lies inside box ``b`` (a panel nested in another one's box keeps its own text)."""
    return b[0] <= a[0] and b[1] <= a[1] and a[0] + a[2] <= b[0] + b[2] and a[1] + a[3] <= b[1] + b[3]


def _mosaic(np, cv2, grey, allowed, paper: int, width: int = 1600):
    """The text of ``grey`` where ``allowed`` (a boolean mask), as one page for one Tesseract run: every cluster of
    ink (a word or a line of words; long straight lines such as frames, axes and grid lines left out) cut out,
    upscaled :data:`STRIP_SCALE` x and packed in rows with blank margins. Returns the page and where each piece
    went: ``(page_x0, page_y0, page_x1, page_y1, image_x0, image_y0)`` (page None when there is no text)."""
    gap, sc, pad = MOSAIC_GAP, STRIP_SCALE, MOSAIC_PAD
    H, W = grey.shape
    ink = ((np.abs(grey.astype(np.int16) - paper) > 50) & allowed).astype(np.uint8)
    lines = (cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((1, 40), np.uint8))
             | cv2.morphologyEx(ink, cv2.MORPH_OPEN, np.ones((40, 1), np.uint8)))
    ink &= 1 - lines
    grey = np.where(lines.astype(bool), np.uint8(paper), grey)  # nor does Tesseract see them next to the text
    _, _, stats, _ = cv2.connectedComponentsWithStats(cv2.dilate(ink, np.ones((3, 9), np.uint8)), connectivity=8)
    crops = []
    for i in np.argsort(stats[1:, cv2.CC_STAT_TOP] * W + stats[1:, cv2.CC_STAT_LEFT]) + 1:  # reading order
        x, y, w, h = (int(v) for v in stats[i, :4])
        if not (5 <= h <= 60 and 5 <= w <= 0.9 * W):
            continue
        x0, y0, x1, y1 = max(0, x - pad), max(0, y - pad), min(W, x + w + pad), min(H, y + h + pad)
        crop = cv2.resize(grey[y0:y1, x0:x1], None, fx=sc, fy=sc, interpolation=cv2.INTER_CUBIC)
        if BINARIZE:  # black text on white: card shades and frame remnants around it are gone
            crop = np.where(np.abs(crop.astype(np.int16) - paper) > BINARIZE, 0, 255).astype(np.uint8)
        crops.append((x0, y0, crop))
    if not crops:
        return None, []
    width = max(width, max(c.shape[1] for _, _, c in crops) + 2 * gap)
    placed, x, y, row_h = [], gap, gap, 0
    for ix, iy, c in crops:  # shelf packing, in reading order
        h, w = c.shape
        if x + w + gap > width:
            x, y, row_h = gap, y + row_h + gap, 0
        placed.append((x, y, ix, iy, c))
        x += w + gap
        row_h = max(row_h, h)
    page = np.full((y + row_h + gap, width), 255 if BINARIZE else paper, np.uint8)
    pieces = []
    for px, py, ix, iy, c in placed:
        page[py:py + c.shape[0], px:px + c.shape[1]] = c
        pieces.append((px, py, px + c.shape[1], py + c.shape[0], ix, iy))
    return page, pieces


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
    for w in sorted(cands, key=lambda w: w.cy):  # a line: words side by side at the same height
        near = [k for k, ws in lines.items() if abs(ws[0].cy - w.cy) <= 0.4 * max(w.h, ws[0].h)
                and min(abs(w.x - (o.x + o.w)) for o in ws + [w] if o is not w) < 3 * max(w.h, 6)]
        lines.setdefault(near[0] if near else w.line, []).append(w)
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
