"""``promv5-lab demo`` as a user runs it (a subprocess), on the session's demo history: every section is
there, and its numbers are checked against the history itself (incidents.json, the embedded engine, the
root-cause ranking recomputed here, the audit log and the exported report), not against fixed strings."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from promv5_lab.backends.embedded import EmbeddedBackend
from promv5_lab.demo.incidents import load_incidents
from promv5_lab.types import TimeRange

ROOT = Path(__file__).resolve().parents[2]
HEADINGS = ("1. The incident it found", "2. The PromQL it ran, with charts", "3. Anomalies and a forecast",
            "4. Root cause, ranked, with the evidence",
            "5. The remediation it would propose (dry run: never executed)", "6. The postmortem",
            "7. Go on from here")
NUM = r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?"


def _section(out: str, i: int) -> str:
    start = out.index(HEADINGS[i])
    end = out.index(HEADINGS[i + 1]) if i + 1 < len(HEADINGS) else len(out)
    return out[start:end]


@pytest.fixture(scope="module")
def tour(demo_history, tmp_path_factory):
    data = Path(demo_history.out_dir)
    out = tmp_path_factory.mktemp("demo-tour")
    proc = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "demo", "--data", str(data), "--out", str(out)],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    incident = max(load_incidents(data / "incidents.json"), key=lambda i: i.start)
    return proc, data, out, incident


def test_sections_in_order_and_no_traceback(tour):
    proc, _data, _out, _inc = tour
    positions = [proc.stdout.index(h) for h in HEADINGS]
    assert positions == sorted(positions)
    for h in HEADINGS[:6]:  # sections 1-6 say how long they took
        assert re.search(re.escape(h) + rf"  \(({NUM}) s\)", proc.stdout), h
    assert "Traceback" not in proc.stderr
    total = float(re.search(rf"Done in ({NUM}) s\.", proc.stdout).group(1))
    assert 0 < total < 900


def test_the_incident_found_is_the_latest_one_at_its_middle(tour):
    proc, _data, _out, inc = tour
    s1 = _section(proc.stdout, 0)
    at = inc.start + (inc.end - inc.start) / 2
    assert f"with the clock at {at:%Y-%m-%d %H:%M} UTC" in s1
    n, m = map(int, re.search(r"(\d+) of (\d+) series look unusual", s1).groups())
    assert 1 <= n <= m and m >= 100
    assert f"Incident {inc.id}:" in s1 and f"{inc.start:%Y-%m-%d %H:%M} .. {inc.end:%H:%M} UTC" in s1


def test_symptom_queries_match_the_engine_and_their_charts(tour):
    proc, data, _out, inc = tour
    s2 = _section(proc.stdout, 1)
    engine = EmbeddedBackend.open(data)
    lines = s2.splitlines()
    assert len(inc.symptoms) >= 2
    for sym in inc.symptoms:
        i = next(k for k, ln in enumerate(lines) if ln.strip() == f"PromQL: {sym.promql}")
        during = float(re.search(rf"-> ({NUM}) \(", lines[i - 1]).group(1))
        res = engine.query_range(sym.promql, TimeRange(inc.start, inc.end, 60.0)).frame
        sel = res[(res["timestamp"] >= inc.start + timedelta(minutes=5)) & (res["timestamp"] < inc.end)]["value"]
        assert during == pytest.approx(float(sel.mean()), rel=2e-3), sym.promql
        chart, axis = lines[i + 1], lines[i + 2]
        assert set(chart.split("   ")[0].strip()) <= set("▁▂▃▄▅▆▇█ ") and len(chart.strip()) > 20
        lo, hi = map(float, re.search(rf"({NUM}) \.\. ({NUM})$", chart).groups())
        assert lo <= during <= hi
        assert "incident" in axis and "└" in axis
    png = Path(re.search(r"Chart: (\S+\.png)", s2).group(1))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_anomalies_beat_their_thresholds_and_the_forecast_is_inside_its_interval(tour):
    proc, _data, _out, _inc = tour
    s3 = _section(proc.stdout, 2)
    pairs = [tuple(map(float, p)) for p in re.findall(rf"score ({NUM}) > threshold ({NUM})", s3)]
    assert pairs and all(score > thr for score, thr in pairs)
    m = re.search(rf"Forecast: .*?: ({NUM}) req/s at .*?\(80% interval ({NUM}) req/s to ({NUM}) req/s", s3)
    assert m, s3
    mean, lo, hi = map(float, m.groups())
    assert lo <= mean <= hi and hi > 0
    assert "PromQL: sum(rate(http_requests_total[5m]))" in s3


def test_root_causes_are_the_ranking_recomputed_here(tour):
    proc, data, _out, inc = tour
    from promv5_lab.analysis.rootcause import diagnose
    from promv5_lab.backends.logs import open_logs
    from promv5_lab.backends.traces import open_traces

    s4 = _section(proc.stdout, 3)
    printed = [(svc, kind.replace(" ", "_"), int(p)) for svc, kind, p in
               re.findall(r"^  (?:\d)\. (\S+): ([a-z ]+) \(confidence (\d+)%\)", s4, re.MULTILINE)]
    assert printed
    at = datetime.fromisoformat(re.search(r"Diagnosis at (\S+) ", s4).group(1).replace("Z", "+00:00"))
    assert at == inc.start + (inc.end - inc.start) / 2
    with open_logs(data) as logs, open_traces(data) as traces:
        d = diagnose(EmbeddedBackend.open(data), at, logs=logs, traces=traces)
    assert [(c.service, c.kind) for c in d.root_causes[:len(printed)]] == [(s, k) for s, k, _ in printed]
    for (_s, _k, pct), c in zip(printed, d.root_causes):
        assert abs(pct - 100 * c.confidence) <= 1
    verdict = re.search(r"Top cause (\S+)/(\S+) (matches|does NOT match)", s4)
    assert verdict.group(1, 2) == (d.top.service, d.top.kind)


def test_the_remediation_is_only_a_dry_run_in_the_audit_log(tour):
    proc, _data, out, _inc = tour
    from promv5_lab.remediate.audit import AuditLog

    s4, s5 = _section(proc.stdout, 3), _section(proc.stdout, 4)
    top = re.search(r"^  1\. (\S+):", s4, re.MULTILINE).group(1)
    m = re.search(r"Policy (\S+) fires for (\S+) .*?It would call:\n    (.+)\n  -> dry_run: nothing was executed "
                  r"\(run (\S+)\)\.", s5)
    assert m, s5
    policy, target, call, run_id = m.groups()
    assert target == top and f'"service": "{top}"' in call and call.startswith("demo: POST http://127.0.0.1:9464/")
    with AuditLog(out / "audit.db") as log:
        entries = log.entries()
        assert log.verify().ok
    mine = [e for e in entries if e.run_id == run_id]
    assert {e.kind for e in mine} == {"decision", "dry_run", "outcome"}
    assert all(e.dry_run and e.policy == policy and e.target == target for e in mine)
    assert not [e for e in entries if e.kind in ("execution", "approval", "verification")]
    decided = [json.loads(e.detail["calls"]) for e in mine if e.kind == "decision"]
    assert decided == [[call]]


def test_the_postmortem_is_written_and_says_what_was_printed(tour):
    proc, _data, _out, inc = tour
    s6 = _section(proc.stdout, 5)
    path = Path(re.search(r"Postmortem \(HTML, works offline\): (\S+\.html)", s6).group(1))
    html = path.read_text(encoding="utf-8")
    assert html.lstrip().lower().startswith("<!doctype html") and inc.id in html
    failed, total = re.search(r"failed ([\d,]+) of ([\d,]+) requests", s6).groups()
    assert failed in html and total in html and int(failed.replace(",", "")) <= int(total.replace(",", ""))
    charts = int(re.search(r"(\d+) charts, ", s6).group(1))
    assert charts >= 1


def test_it_ends_with_how_to_open_the_app_and_jupyterlab(tour):
    proc, data, out, _inc = tour
    s7 = _section(proc.stdout, 6)
    assert f"promv5-lab serve --data {data} --at " in s7 and f"--audit-log {out / 'audit.db'}" in s7
    assert f"promv5-lab lab --data {data}" in s7
    at = re.search(r"--at (\S+)", s7).group(1)
    assert datetime.fromisoformat(at.replace("Z", "+00:00")).tzinfo == timezone.utc


def test_a_failing_step_is_shown_and_the_tour_goes_on(demo_history, tmp_path, monkeypatch):
    """Steps that raise a promv5-lab error (here: detection, forecast, diagnosis, made to fail) are shown in
    their sections with the hint; remediation is skipped without a diagnosis; the rest still runs."""
    from promv5_lab.demo import tour_steps
    from promv5_lab.demo.tour import run_demo
    from promv5_lab.errors import BackendUnavailable

    def down(*_a, **_k):
        raise BackendUnavailable("Cannot reach the backend (test)", hint="start it again")

    for name in ("detect", "forecast", "why"):
        monkeypatch.setattr(tour_steps, name, down)
    said: list[str] = []
    closing = run_demo(data=str(demo_history.out_dir), days=3, seed=7, incident_id=None, out=str(tmp_path),
                       echo=said.append, charts=False)
    text = "\n".join(said)
    assert text.count("This step failed: Cannot reach the backend (test)") == 3
    assert text.count("Hint: start it again") == 3
    assert "Without a diagnosis there is nothing to propose." in text
    assert "symptoms clearly visible" in text  # the PromQL section still ran
    pm = Path(re.search(r"Postmortem \(HTML, works offline\): (\S+\.html)", text).group(1))
    assert pm.is_file() and not (tmp_path / "audit.db").exists()
    assert "(3 step(s) failed: detection, forecast, diagnosis)." in closing
