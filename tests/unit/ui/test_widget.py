"""InvestigationWidget with real ipywidgets objects over the embedded engine (a small simulated history)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.demo.simulate import simulate

    hist = simulate(tmp_path_factory.mktemp("w") / "demo", days=1, step_s=60, seed=7)
    return EmbeddedBackend.open(hist.out_dir), hist


@pytest.fixture()
def widget(backend):
    from promv5_lab.ui.widget import InvestigationWidget

    b, hist = backend
    return InvestigationWidget(b, now=hist.end, use_embeddings=False)


def test_ask_button_shows_answer_promql_and_keeps_context(widget):
    widget.question.value = "p95 latency of checkout"
    widget.range.value = "last 6 hours"
    widget.ask_button.click()
    assert widget.last is not None and widget.last.promql
    assert "histogram_quantile(0.95" in widget.answer.value and "checkout" in widget.answer.value
    assert widget.last.plan.kind == "range"
    follow = widget.ask("and for payments?")
    assert 'service="payments"' in follow.promql


def test_metric_explorer_searches_names_and_help(widget):
    widget.search.value = "pool"
    names = [v for _label, v in widget.matches.options]
    assert names and all("pool" in n or "pool" in widget.investigation.planner.catalogue.metrics[n].help.lower()
                         for n in names)
    widget.matches.value = names[0]
    widget.question.value = "max of"
    widget.use_metric.click()
    assert widget.question.value == f"max of {names[0]}"


def test_anomalies_table_and_guidance(widget):
    widget.find_anomalies()
    assert "Ask a question over a time range first" in widget.anomalies.value
    widget.ask("error ratio by service over the last 24 hours")
    res = widget.find_anomalies()
    assert res is not None
    assert ("promv5-anomalies" in widget.anomalies.value) == bool(res.anomalies)


def test_backend_text_is_escaped(widget):
    widget.ask("<img src=x onerror=alert(1)> latency of checkout")
    assert "<img" not in widget.answer.value


def test_ask_magic_with_widget_shares_the_conversation(backend, monkeypatch):
    """``%%ask --widget`` in a fresh shell shows the widget over the session's investigation."""
    from IPython.core.interactiveshell import InteractiveShell

    b, hist = backend
    shell = InteractiveShell()
    shell.extension_manager.load_extension("promv5_lab")
    shell.run_line_magic("promv5", f"connect --data {hist.out_dir}")
    shell.run_cell_magic("ask", f"--widget --at {hist.end.isoformat()}", "p95 latency of checkout")
    magics = shell.magics_manager.registry["Promv5Magics"]
    w = magics.session.widget
    assert w.last is not None and "checkout" in w.last.promql
    assert w.investigation is magics.session.investigation
    follow = w.ask("and for payments?")
    assert 'service="payments"' in follow.promql
