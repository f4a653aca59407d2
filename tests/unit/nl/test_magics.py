"""%ask / %%ask / %promv5 in a fresh IPython shell over the embedded engine (exporters catalogue)."""

import pandas as pd
import pytest
from IPython.utils.capture import capture_output


def run(fn, *args):
    """Run a magic and return the markdown it displayed (rich outputs), plus kinds of other outputs."""
    with capture_output() as cap:
        fn(*args)
    md = "\n".join(o.data.get("text/markdown", "") for o in cap.outputs)
    return md + cap.stdout, cap.outputs


@pytest.fixture()
def shell(exporters_backend, tmp_path):
    from IPython.core.interactiveshell import InteractiveShell

    from promv5_lab.ui.magics import load_ipython_extension

    sh = InteractiveShell.instance()
    load_ipython_extension(sh)
    yield sh
    InteractiveShell.clear_instance()


def test_cell_magic_answers_and_stores_the_frame(shell, exporters_backend):
    om = exporters_backend.name.split(":", 1)[1]
    out, outputs = run(shell.run_cell_magic, "ask", f"-o res --data {om} --at 2026-11-20T12:00:00Z",
                       "requests per second by status code over the last 30 minutes")
    assert "sum by (code) (rate(http_requests_total[5m]))" in out
    assert len(outputs) == 2  # the markdown answer and the chart
    res = shell.user_ns["res"]
    assert isinstance(res, pd.DataFrame) and set(res["code"]) == {"200", "500"}
    out, _ = run(shell.run_line_magic, "ask", "and for /api/cart?")
    assert 'handler="/api/cart"' in out


def test_errors_are_short_and_status_is_a_table(shell):
    out, _ = run(shell.run_cell_magic, "ask", "--data /nonexistent/dir", "p99 latency")
    assert "**Error:**" in out and "/nonexistent/dir" in out and "Traceback" not in out
    out, _ = run(shell.run_cell_magic, "ask", "--bogus", "x")
    assert "cannot read the options" in out
    out, _ = run(shell.run_line_magic, "promv5", "connect --data /nonexistent/dir")
    assert "**Error:**" in out and "Hint" in out
    out, _ = run(shell.run_line_magic, "promv5", "status")
    assert "| backend |" in out and "| embeddings |" in out


def test_chart_renders_when_the_promql_has_braces(exporters_backend):
    """HoloViews formats titles with str.format: a PromQL title with {matchers} must still render."""
    import holoviews as hv

    from promv5_lab.investigation import Investigation
    from promv5_lab.ui.magics import chart

    inv = Investigation(exporters_backend, now="2026-11-20T12:00:00Z", use_embeddings=False)
    ans = inv.ask("requests per second for /api/cart over the last 30 minutes")
    assert "{" in ans.promql and "}" in ans.promql
    fig = hv.render(chart(ans), backend="bokeh")
    assert ans.promql[:40] in fig.title.text
