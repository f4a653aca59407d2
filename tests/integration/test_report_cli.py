"""The 'report' commands and the %report magic on the demo world (embedded engine, real audit log)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from promv5_lab.demo.incidents import load_incidents
from promv5_lab.errors import InputError
from promv5_lab.report.cli import register


@pytest.fixture(scope="module")
def world(demo_history) -> Path:
    return Path(demo_history.out_dir)


@pytest.fixture(scope="module")
def cli():
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """promv5-lab (test)"""

    register(app)
    return app


def test_forecast_report_as_html(cli, world, tmp_path):
    disk = next(i for i in load_incidents(world / "incidents.json") if i.type == "disk_fill")
    out = tmp_path / "capacity.html"
    mid = disk.start + (disk.end - disk.start) / 2
    res = CliRunner().invoke(cli, ["report", "forecast", "--data", str(world), "--at", mid.isoformat(),
                                   "--history", "12h", "--step", "10m", "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    text = out.read_text()
    # in the middle of the disk_fill the filling volume is the top risk, with a time to full and advice
    rows = re.findall(r"<tr><td>(.*?)</tr>", text.split('class="resources"')[1].split("</table>")[0], re.DOTALL)
    first = rows[0]
    assert first.startswith("filesystem") and disk.node in first
    assert 'class="sev-critical"' in first or 'class="sev-warning"' in first
    assert "Act now" in first or "Plan" in first
    assert re.search(r'<div class="p5-chart" data-chart="forecast-1">', text)
    assert "Appendix: queries and models" in text and "time_to_limit" in text


def test_remediation_report_as_html(cli, world, tmp_path):
    from promv5_lab.remediate.audit import AuditLog

    inc = load_incidents(world / "incidents.json")[0]
    log = AuditLog(tmp_path / "audit.db")
    for i, (kind, out) in enumerate([("decision", "planned"), ("approval", "approved"), ("execution", "ok"),
                                     ("verification", "failed"), ("rollback", "ok"), ("outcome", "failed")]):
        log.append({"kind": kind, "actor": "heal", "policy": "p", "target": inc.service, "action": "restart",
                    "outcome": out, "run_id": "r1", "dry_run": False,
                    "at": inc.start + timedelta(minutes=2, seconds=i)})
    log.append({"kind": "note", "actor": "heal", "at": inc.start - timedelta(hours=5)})  # outside the period
    log.close()
    out = tmp_path / "rem.html"
    res = CliRunner().invoke(cli, ["report", "remediation", "--audit", str(tmp_path / "audit.db"), "--data", str(world),
                                   "--incident", inc.id, "--out", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    html = out.read_text()
    assert "1 remediation run(s) in 6 audit entries" in html and "failed: 1" in html
    assert "rolled back" in html and "audit log OK" in html


@pytest.mark.parametrize("args, message", [
    (["postmortem", "--out", "x.html"], "Which incident?"),
    (["postmortem", "--out", "x.docx", "--at", "now"], "Unknown report format"),
    (["postmortem", "--out", "x.html", "--incident", "inc-999-nope"], "No incident"),
    (["postmortem", "--out", "x.html", "--at", "2026-13-45"], "Cannot read time"),
])
def test_bad_input_is_a_clear_error(cli, world, tmp_path, args, message):
    args = [args[0], "--data", str(world), *[str(tmp_path / a) if a.startswith("x.") else a for a in args[1:]]]
    res = CliRunner().invoke(cli, ["report", *args])
    assert isinstance(res.exception, InputError), res.output
    assert message in res.exception.message
    assert not list(tmp_path.glob("x.*"))


def test_report_magic_writes_a_postmortem_from_the_notebook_session(world, tmp_path):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from promv5_lab.ui.report_magic import register_magics

    inc = next(i for i in load_incidents(world / "incidents.json") if i.type == "db_pool_exhaustion")
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "promv5_lab")
        register_magics(shell)
        with capture_output() as cap:
            shell.run_line_magic("promv5", f"connect --data {world}")
            shell.run_line_magic("report", f"postmortem --incident {inc.id} --no-capacity --out {tmp_path / 'nb.html'}")
            shell.run_line_magic("report", "postmortem --out")  # bad options: a message, not a traceback
    finally:
        InteractiveShell.clear_instance()
    html = (tmp_path / "nb.html").read_text()
    assert f"Postmortem: {inc.id}" in html and "Root cause" in html
    shown = " ".join(str(o.data.get("text/markdown", "")) for o in cap.outputs)
    assert "Wrote" in shown and "Cannot read the options" in shown and "Traceback" not in cap.stdout + cap.stderr
