"""Evaluation dashboards in styles the model was never trained on (it saw matplotlib only).

* :func:`grafana_like`: Grafana-like dark (or light) dashboards drawn with OpenCV: cards on a page,
  titles, value labels, faint grids, area fills, legends under the plot;
* :func:`bokeh_page` + :func:`screenshot_pages`: real Bokeh figures (BokehJS on a canvas) in an HTML
  page served on 127.0.0.1 and screenshotted by Playwright on Debian's Chromium.

Each comes with its ground truth (:class:`.synth.TruePanel`). Used by ``benchmarks/vision_eval.py`` and
the integration tests; nothing here is imported by :func:`promv5_lab.vision.analyze`.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._deps import require
from .synth import ANOMALIES, Dashboard, TruePanel, TrueSeries, make_series, pick_colours

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "bokeh_page", "bokeh_theme", "grafana_like", "screenshot_pages"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
GRAFANA = ("#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#FADE2A", "#96D98D")
GREYS = {False: ("#000000", "#666666"), True: ("#d8d9da", "#9fa7b3")}  # grey lines on light / dark pages
BOKEH = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#e377c2", "#17becf", "#bcbd22")
DARK_THEMES = ("dark_minimal", "night_sky", "contrast", "panel_dark")
# Panel's dark design draws Bokeh plots on these (panel/theme/base.py: BOKEH_DARK), a face lighter than its card
PANEL_DARK_PLOT = {"background_fill_color": "#2b3035", "border_fill_color": "#212529"}


def _kinds(rng: Any, anomaly_rate: float, max_series: int) -> list[str]:
    k = int(rng.integers(1, max_series + 1))
    bad = int(rng.integers(0, k)) if rng.random() < anomaly_rate else -1
    return [str(rng.choice(ANOMALIES)) if j == bad else "normal" for j in range(k)]


def _bgr(colour: str) -> tuple[int, int, int]:
    return int(colour[5:7], 16), int(colour[3:5], 16), int(colour[1:3], 16)


def _greyed(colours: list[str], grey: str | None) -> list[str]:
    """The first series drawn in ``grey`` instead of its colour (the same random draws either way)."""
    return [grey, *colours[1:]] if grey and colours else colours


def grafana_like(rng: Any, *, rows: int = 2, cols: int = 3, dark: bool = True, anomaly_rate: float = 0.5,
                 size: tuple[int, int] = (1400, 720), grey: bool = False) -> Dashboard:
    """A Grafana-like dashboard drawn with OpenCV (not matplotlib), PNG with ground truth.

    ``grey``: every panel's first series is a grey or black line (light grey on the dark theme)."""
    np = require("numpy")
    cv2 = require("cv2", "vision")
    W, H = size
    page, card, border, text, grid = (((17, 18, 23), (31, 27, 24), (53, 50, 44), (220, 216, 204), (48, 44, 40))
                                      if dark else
                                      ((250, 249, 247), (255, 255, 255), (220, 218, 214), (60, 55, 50), (236, 234, 230)))
    img = np.full((H, W, 3), page, np.uint8)
    gap, top = 8, 48
    cv2.putText(img, "Service overview", (16, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.7, text, 1, cv2.LINE_AA)
    cw, ch = (W - gap * (cols + 1)) // cols, (H - top - gap * rows) // rows
    panels = []
    lw = int(rng.integers(1, 3))
    fill = rng.random() < 0.5
    for r in range(rows):
        for c in range(cols):
            x, y = gap + c * (cw + gap), top + r * (ch + gap)
            cv2.rectangle(img, (x, y), (x + cw - 1, y + ch - 1), card, -1)
            cv2.rectangle(img, (x, y), (x + cw - 1, y + ch - 1), border, 1)
            title = f"{rng.choice(['CPU', 'Latency p99', 'Errors', 'Requests', 'Memory', 'Queue depth'])} {r * cols + c + 1}"
            cv2.putText(img, title, (x + 10, y + 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45, text, 1, cv2.LINE_AA)
            kinds = _kinds(rng, anomaly_rate, 3)
            legend_h = 18 if len(kinds) > 1 else 0
            px, py, pw, ph = x + 46, y + 32, cw - 56, ch - 32 - 22 - legend_h
            n = int(rng.integers(100, 400))
            series = [make_series(rng, n, k) for k in kinds]
            lo = min(float(np.nanmin(s.values)) for s in series)
            hi = max(float(np.nanmax(s.values)) for s in series)
            lo, hi = lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo)
            for i in range(5):
                gy = int(py + ph - i * ph / 4)
                cv2.line(img, (px, gy), (px + pw, gy), grid, 1)
                cv2.putText(img, f"{lo + i * (hi - lo) / 4:.0f}", (x + 6, gy + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.33,
                            text, 1, cv2.LINE_AA)
            for i in range(6):
                gx = int(px + i * pw / 5)
                cv2.line(img, (gx, py), (gx, py + ph), grid, 1)
                cv2.putText(img, f"{10 + i:02d}:00", (gx - 14, py + ph + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.33, text,
                            1, cv2.LINE_AA)
            colours = _greyed(pick_colours(rng, len(series), GRAFANA), GREYS[dark][(r * cols + c) % 2] if grey else None)
            out = []
            for j, (s, colour) in enumerate(zip(series, colours)):
                xs = px + np.arange(n) * (pw - 1) / (n - 1)
                ys = py + ph - 1 - (s.values - lo) / (hi - lo) * (ph - 1)
                ok = np.isfinite(ys)
                pieces = np.split(np.flatnonzero(ok), np.flatnonzero(np.diff(np.flatnonzero(ok)) > 1) + 1)
                for piece in pieces:
                    if piece.size < 2:
                        continue
                    pts = np.c_[xs[piece], ys[piece]].round().astype(np.int32)
                    if fill:
                        poly = np.r_[pts, [[pts[-1][0], py + ph], [pts[0][0], py + ph]]].astype(np.int32)
                        layer = img.copy()
                        cv2.fillPoly(layer, [poly], _bgr(colour))
                        cv2.addWeighted(layer, 0.12, img, 0.88, 0, img)
                    cv2.polylines(img, [pts], False, _bgr(colour), lw, cv2.LINE_AA)
                if legend_h:
                    lx = px + j * 90
                    cv2.line(img, (lx, py + ph + 30), (lx + 14, py + ph + 30), _bgr(colour), 3)
                    cv2.putText(img, f"pod-{j}", (lx + 18, py + ph + 34), cv2.FONT_HERSHEY_SIMPLEX, 0.33, text, 1,
                                cv2.LINE_AA)
                out.append(TrueSeries(s.values, colour, s.kind, s.where))
            panels.append(TruePanel((x, y, cw, ch), (px, py, pw, ph), title, tuple(out)))
    ok, buf = cv2.imencode(".png", img)
    return Dashboard(buf.tobytes(), tuple(panels), "grafana-dark" if dark else "grafana-light", (W, H))


def bokeh_page(rng: Any, *, rows: int = 2, cols: int = 3, theme: str | None = None, anomaly_rate: float = 0.5,
               fig_size: tuple[int, int] = (440, 280), kinds: list[list[str]] | None = None, grey: bool = False,
               line_width: int | None = None) -> tuple[str, list[list[TrueSeries]], list[str]]:
    """An HTML page of Bokeh figures (BokehJS inlined) in a CSS grid of divs ``#p0``, ``#p1``...

    ``kinds`` fixes each figure's series kinds; ``grey``: each figure's first series is grey or black;
    ``line_width`` fixes the lines' width (else 1, 2 or 3 at random). Returns the HTML, each figure's true
    series, and its titles.
    """
    np = require("numpy")
    require("bokeh", "app")
    from bokeh.embed import components
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    figs, truth, titles = [], [], []
    width = int(rng.choice([1, 2, 3]))
    if line_width is not None:
        width = line_width
    dark = theme in DARK_THEMES
    for i in range(rows * cols):
        kinds_i = kinds[i] if kinds is not None else _kinds(rng, anomaly_rate, 3)
        n = int(rng.integers(100, 400))
        title = f"{rng.choice(['cpu', 'latency', 'errors', 'rps', 'heap'])} #{i + 1}"
        f = figure(width=fig_size[0], height=fig_size[1], title=title, x_axis_type="datetime",
                   tools="pan,wheel_zoom,box_zoom,reset,save")
        t = (np.datetime64("2026-11-27T10:00") + np.arange(n) * np.timedelta64(60, "s")).astype("datetime64[ms]")
        series = []
        colours = _greyed(pick_colours(rng, len(kinds_i), BOKEH), GREYS[dark][i % 2] if grey else None)
        for j, (kind, colour) in enumerate(zip(kinds_i, colours)):
            s = make_series(rng, n, kind)
            kw = {"legend_label": f"series {j}"} if len(kinds_i) > 1 and rng.random() < 0.5 else {}
            f.line(t, s.values, line_color=colour, line_width=width, **kw)
            series.append(TrueSeries(s.values, colour, s.kind, s.where))
        figs.append(f)
        truth.append(series)
        titles.append(title)
    script, divs = components(figs, theme=bokeh_theme(theme) if theme else None)
    page_bg = "#15191c" if dark else "#ffffff"
    cells = "\n".join(f'<div class="cell" id="p{i}">{d}</div>' for i, d in enumerate(divs))
    html = f"""<!doctype html><html><head><meta charset="utf-8">{INLINE.render()}
<style>body{{margin:0;padding:24px;background:{page_bg}}}
.grid{{display:grid;grid-template-columns:repeat({cols},{fig_size[0]}px);gap:28px}}
.cell{{width:{fig_size[0]}px;height:{fig_size[1]}px}}</style>{script}</head>
<body><div class="grid">{cells}</div></body></html>"""
    return html, truth, titles


def bokeh_theme(name: str) -> Any:
    """Bokeh's built-in theme ``name`` as Bokeh ships it, whatever was imported before, or ``"panel_dark"``
    (dark_minimal with the plot colours of Panel's dark design).

    Not ``bokeh.themes.built_in_themes[name]``: importing Panel (1.9) rewrites the built-in dark_minimal theme in
    place (panel/theme/base.py updates a shallow copy of its JSON, so Bokeh's own ``attrs["Plot"]`` dict gets
    Panel's #2b3035 face and #212529 border). A page built after any code imported Panel (the app's tests, a
    notebook) then looked different from one built in a fresh process. The theme's module is executed afresh
    here, so its JSON is the shipped one.
    """
    from bokeh.themes import Theme

    module = "dark_minimal" if name == "panel_dark" else name
    spec = importlib.util.find_spec(f"bokeh.themes._{module}")
    if spec is None or spec.loader is None:
        from ..errors import ConfigError

        raise ConfigError(f"unknown Bokeh theme {name!r}",
                          hint="use one of bokeh.themes.built_in_themes, or 'panel_dark'")
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    json = fresh.json
    if name == "panel_dark":
        json["attrs"]["Plot"].update(PANEL_DARK_PLOT)
    return Theme(json=json)


_COUNT_CANVASES = """() => { let n = 0; const walk = (root) => { for (const el of root.querySelectorAll('*')) {
  if (el.tagName === 'CANVAS' && el.width > 0) n++; if (el.shadowRoot) walk(el.shadowRoot); } };
  walk(document); return n; }"""


@contextlib.contextmanager
def _serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def screenshot_pages(pages: list[tuple[str, int]], timeout_s: float = 60.0) -> list[tuple[bytes, list[tuple]]]:
    """Serve each (html, n_figures) on 127.0.0.1 and screenshot it with Playwright + Chromium once every
    figure's canvas has rendered. Returns (PNG, boxes of ``#p0``.. in pixels) per page."""
    sync_api = require("playwright.sync_api", "app")
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} is needed for the Bokeh screenshots (apt-get install chromium)")
    out = []
    with tempfile.TemporaryDirectory() as tmp, _serve(Path(tmp)) as base, sync_api.sync_playwright() as pw:
        # a fresh user-data-dir per run (the temporary directory)
        browser = pw.chromium.launch_persistent_context(
            str(Path(tmp) / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1480, "height": 720})
        try:
            for i, (html, n) in enumerate(pages):
                (Path(tmp) / f"page{i}.html").write_text(html)
                page = browser.new_page()
                page.goto(f"{base}/page{i}.html", timeout=timeout_s * 1000)
                page.wait_for_function(f"() => ({_COUNT_CANVASES})() >= {n}", timeout=timeout_s * 1000)
                page.wait_for_timeout(400)  # the last paint after the canvases exist
                boxes = []
                for j in range(n):
                    b = page.locator(f"#p{j}").bounding_box()
                    boxes.append((int(b["x"]), int(b["y"]), int(b["width"]), int(b["height"])))
                out.append((page.screenshot(full_page=True), boxes))
                page.close()
        finally:
            browser.close()
    return out
