"""The app's Diagnose tab draws the diagnosis answer's own typed panels (one chart builder for both): the
top cause's evidence, its window shaded, the axis in the metric's unit. Rendered to real Bokeh models on the
embedded engine over a small simulated demo history (the browser test is tests/integration/test_app.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture(scope="module")
def diagnosed():
    import json

    from fakes.data import small_history

    from promv5_lab.analysis.rootcause import diagnose
    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.types import as_utc

    out = small_history()
    backend = EmbeddedBackend.open(out)
    inc = json.loads((out / "incidents.json").read_text())[-1]
    a, b = as_utc(inc["start"]), as_utc(inc["end"])
    return backend, diagnose(backend, a + (b - a) / 2)


def test_diagnose_tab_charts_are_the_answers_typed_panels(diagnosed):
    import holoviews as hv
    from bokeh.models import BoxAnnotation

    from promv5_lab.nl.insight_charts import evidence_panels
    from promv5_lab.ui.app.panes import evidence_charts
    from promv5_lab.ui.charts import panel_chart

    backend, diag = diagnosed
    panels = evidence_panels(backend, diag, limit=2)
    charts = evidence_charts(backend, diag)
    assert diag.top is not None and panels, "the incident's top cause has metric evidence"
    assert len(charts) == len(panels) <= 2
    for pane, panel in zip(charts, panels):
        assert "promv5-evidence-chart" in pane.css_classes
        fig = hv.render(pane.object, backend="bokeh")
        same = hv.render(panel_chart(panel), backend="bokeh")  # what a diagnosis answer draws
        assert fig.title.text == same.title.text and fig.title.text.startswith(panel.title[:40])
        assert fig.yaxis[0].axis_label == same.yaxis[0].axis_label
        spans = [r for r in fig.renderers if isinstance(r, BoxAnnotation)]
        assert len(spans) == len(panel.spans) >= 1  # the evidence window, shaded
        # the panel covers the evidence window and the time before it, up to the diagnosed time
        start, end = panel.spans[0]
        assert panel.observed.index.min() < start and panel.observed.index.max() >= end - timedelta(minutes=5)


def test_a_failing_backend_gives_no_chart_not_an_error(diagnosed):
    from promv5_lab.errors import BackendUnavailable
    from promv5_lab.ui.app.panes import evidence_charts

    class Down:
        def query_range(self, *a, **k):
            raise BackendUnavailable("down")

    assert evidence_charts(Down(), diagnosed[1]) == []
