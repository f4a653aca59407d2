"""Routed answers drawn by every surface: the chart module (rendered to real Bokeh models), ``%%ask`` in a
fresh IPython shell, and the widget; y axes carry units; failures are messages, not tracebacks."""

from __future__ import annotations

from datetime import timedelta

import pytest


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.demo.simulate import simulate

    hist = simulate(tmp_path_factory.mktemp("ui-charts") / "demo", days=1, step_s=60, seed=7)
    return EmbeddedBackend.open(hist.out_dir), hist


DISK = "how long until the disk is full on node-3"


def lexical_session(shell):
    """The magic's session over the demo data, planning lexically (no embedding model to load in a unit test)."""
    from promv5_lab.investigation import Investigation

    session = shell.magics_manager.registry["Promv5Magics"].session
    session.investigation = Investigation(session.backend, use_embeddings=False)
    return session


def at(hist, kind, minutes):
    return next(i for i in hist.incidents if i.type == kind).start + timedelta(minutes=minutes)


def figures(model):
    """The Bokeh figures of a rendered chart (one, or a grid's children)."""
    if hasattr(model, "yaxis"):
        return [model]
    out = []
    for child in getattr(model, "children", []):
        child = child[0] if isinstance(child, tuple) else child
        out += figures(child)
    return out


def render(answer):
    import holoviews as hv

    from promv5_lab.ui.charts import answer_chart

    return figures(hv.render(answer_chart(answer), backend="bokeh"))


def test_capacity_chart_has_limit_band_interval_and_unit(world):
    from bokeh.models import BoxAnnotation, Patch, Span, VArea

    from promv5_lab.investigation import Investigation

    b, hist = world
    ans = Investigation(b, now=at(hist, "disk_fill", 40), use_embeddings=False).ask(DISK)
    (fig, *_rest) = render(ans)
    assert fig.yaxis[0].axis_label == "%" and fig.xaxis[0].axis_label == "time (UTC)"
    spans = [r for r in fig.renderers if isinstance(r, Span)]
    assert any(s.dimension == "width" and s.location == pytest.approx(100.0) for s in spans)  # the limit, in %
    assert any(isinstance(r, BoxAnnotation) for r in fig.renderers)  # the crossing-time interval
    assert any(isinstance(getattr(r, "glyph", None), (Patch, VArea)) for r in fig.renderers)  # the forecast band
    assert len(render(ans)) == len(ans.charts)


def test_anomaly_and_query_charts_have_units(world):
    from bokeh.models import BoxAnnotation

    from promv5_lab.investigation import Investigation

    b, hist = world
    inv = Investigation(b, now=at(hist, "db_pool_exhaustion", 20), use_embeddings=False)
    ans = inv.ask("any spikes in checkout latency?")
    assert ans.route == "anomalies" and ans.charts, ans.answer
    figs = render(ans)
    assert len(figs) == len(ans.charts)
    for fig, panel in zip(figs, ans.charts):
        assert fig.yaxis[0].axis_label in ("ms", "s") and panel.y_label == "s"
        assert sum(isinstance(r, BoxAnnotation) for r in fig.renderers) == len(panel.spans) > 0
    q = inv.ask("p95 latency of checkout over the last hour")
    (fig,) = render(q)
    assert fig.yaxis[0].axis_label in ("ms", "s")


def test_ask_magic_shows_routed_chart_and_unit_numbers(world, monkeypatch):
    import holoviews as hv
    import IPython.display
    from IPython.core.interactiveshell import InteractiveShell

    _b, hist = world
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))
    shell = InteractiveShell()
    shell.extension_manager.load_extension("promv5_lab")
    shell.run_line_magic("promv5", f"connect --data {hist.out_dir}")
    lexical_session(shell)
    when = at(hist, "disk_fill", 40).isoformat()
    shell.run_cell_magic("ask", f"--at {when} -o found", DISK)
    md = "\n".join(o.data for o in shown if isinstance(o, IPython.display.Markdown))
    charts = [o for o in shown if isinstance(o, (hv.Overlay, hv.Layout))]
    assert charts and "reaches 100%" in md, md[-800:]
    assert not shell.user_ns["found"].empty and "eta_s" in shell.user_ns["found"].columns


def test_ask_magic_turns_an_internal_failure_into_a_message(world, monkeypatch):
    import IPython.display
    from IPython.core.interactiveshell import InteractiveShell

    from promv5_lab.investigation import Investigation

    _b, hist = world
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(objs))

    def broken(self, question):
        raise KeyError("something internal")

    monkeypatch.setattr(Investigation, "ask", broken)
    shell = InteractiveShell()
    shell.extension_manager.load_extension("promv5_lab")
    shell.run_line_magic("promv5", f"connect --data {hist.out_dir}")
    result = shell.run_cell_magic("ask", "", "p95 latency of checkout")
    text = "\n".join(getattr(o, "data", "") for o in shown)
    assert result is None and "failed on this question" in text and "KeyError" in text and "Traceback" not in text


def test_widget_draws_a_routed_answer(world, monkeypatch):
    import holoviews as hv
    import IPython.display

    from promv5_lab.ui.widget import InvestigationWidget

    b, hist = world
    drawn = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: drawn.extend(objs))
    w = InvestigationWidget(b, now=at(hist, "db_pool_exhaustion", 20), use_embeddings=False)
    ans = w.ask("any spikes in checkout latency?")
    assert ans.route == "anomalies" and ans.charts
    assert any(isinstance(o, (hv.Overlay, hv.Layout)) for o in drawn)
    assert "checkout" in w.answer.value
