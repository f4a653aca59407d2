"""Everything the backend says (label values) is escaped in the magics' Markdown; --tz and routed answers."""

import pytest
from IPython.utils.capture import capture_output

from promv5_lab.ui.magics import md_code, md_escape, render_details

NASTY = '<img src=x onerror=alert(1)>*b*_|`x`'
T0 = 1_795_176_000 - 3600  # 2026-11-20T11:00:00Z


def run(fn, *args):
    with capture_output() as cap:
        fn(*args)
    return "\n".join(o.data.get("text/markdown", "") for o in cap.outputs)


@pytest.fixture()
def nasty_om(tmp_path):
    lines = ["# HELP http_requests Requests by handler.", "# TYPE http_requests counter"]
    for h, per_s in ((NASTY, 2.0), ("/ok", 1.0)):
        esc = h.replace("\\", "\\\\").replace('"', '\\"')
        lines += [f'http_requests_total{{handler="{esc}"}} {k * 60.0 * per_s} {T0 + 60 * k}' for k in range(61)]
    (tmp_path / "metrics.om").write_text("\n".join(lines) + "\n# EOF\n")
    return tmp_path / "metrics.om"


@pytest.fixture()
def shell():
    from IPython.core.interactiveshell import InteractiveShell

    from promv5_lab.ui.magics import load_ipython_extension

    sh = InteractiveShell.instance()
    load_ipython_extension(sh)
    yield sh
    InteractiveShell.clear_instance()


def test_helpers_make_text_inert():
    out = md_escape(NASTY + "\n- item\n1. x")
    assert "<img" not in out and "&lt;img" in out and r"\*b\*" in out and r"\|" in out and r"\`x\`" in out
    assert "\n\\- item" in out and "\n1\\. x" in out
    assert md_code("a`b") == "`` a`b ``"
    table = render_details({"analysis": "anomalies", "anomalies": [
        {"series": f'm{{handler="{NASTY}"}}', "start": "s", "end": "e", "peak_score": 0.9, "threshold": 0.7}]})
    assert "<img" not in table and table.count("\n") == 2  # header, rule, one row: the | inside is escaped


def test_label_values_are_escaped_in_answers(shell, nasty_om):
    out = run(shell.run_cell_magic, "ask", f"--data {nasty_om} --at 2026-11-20T12:00:00Z --tz Europe/Paris",
              "requests per second by handler over the last 30 minutes")
    assert "<img" not in out.split("```promql")[0] and "&lt;img" in out
    assert "Europe/Paris" in out
    out = run(shell.run_cell_magic, "ask", "--tz Not/AZone", "requests per second")
    assert "**Error:**" in out and "Not/AZone" in out
    out = run(shell.run_line_magic, "promv5", "status")
    assert "| llm planner |" in out and "| time zone | ok | Europe/Paris |" in out
