"""Postmortems of a demo incident, end to end: the real diagnosis on the embedded engine (and on a real
Prometheus 2.42 with a bearer token set), rendered as HTML (checked in Debian's Chromium: the charts drew,
no console errors, no request but the file itself), Markdown with PNGs, and PDF (checked with poppler's
pdftotext, pdfimages and pdftoppm). The audit log is a real ``AuditLog`` holding hostile text.
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from promv5_lab.backends.embedded import EmbeddedBackend
from promv5_lab.demo.incidents import load_incidents
from promv5_lab.report.postmortem import build_postmortem
from promv5_lab.report.render import export

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SECRET = "sekrit-bearer-7f3a9c"
HOSTILE = "<script>alert('pwn')</script>{{7*7}}"
SECTIONS = ("Summary", "Impact", "Timeline", "Root cause", "Contributing factors", "What was done",
            "Follow-up actions", "Appendix: queries and models")


def _need(binary: str) -> str:
    path = shutil.which(binary) or (binary if Path(binary).exists() else None)
    if path is None:
        pytest.fail(f"{binary} is missing: apt-get install chromium poppler-utils (CI's .ci/run installs them)")
    return path


@pytest.fixture(scope="module")
def world(demo_history) -> Path:
    return Path(demo_history.out_dir)


@pytest.fixture(scope="module")
def incident(world):
    incs = load_incidents(world / "incidents.json")
    return next((i for i in incs if i.type == "db_pool_exhaustion"), incs[-1])


@pytest.fixture(scope="module")
def audit(world, incident, tmp_path_factory):
    """A real audit log with one run inside the incident: approved by a hostile name, verified, resolved."""
    from promv5_lab.remediate.audit import AuditLog

    log = AuditLog(tmp_path_factory.mktemp("audit") / "audit.db")
    t = incident.start + timedelta(minutes=5)
    for i, (kind, action, outcome, actor) in enumerate([
            ("decision", "restart", "planned", "heal"), ("approval", "", "approved", HOSTILE),
            ("execution", "demo", "ok", "heal"), ("verification", "verify", "held", "heal"),
            ("outcome", "", "resolved", "heal")]):
        log.append({"kind": kind, "actor": actor, "policy": "restart-pool", "target": incident.root_cause_service,
                    "action": action, "outcome": outcome, "run_id": "run-1", "dry_run": False,
                    "at": t + timedelta(seconds=20 * i), "detail": {"why": HOSTILE}})
    return log


@pytest.fixture(scope="module")
def postmortem(world, incident, audit):
    from promv5_lab.backends.logs import open_logs
    from promv5_lab.backends.traces import open_traces

    backend = EmbeddedBackend.open(world)
    return build_postmortem(backend, incident=incident, logs=open_logs(world), traces=open_traces(world), audit=audit)


def test_the_postmortem_holds_what_an_incident_review_needs(postmortem, incident, tmp_path):
    pm = postmortem
    assert pm.known is not None and pm.known.incident_id == incident.id
    assert pm.impact.failed_requests and pm.impact.failed_requests > 100
    assert pm.impact.worst_service in incident.affected_services
    assert pm.impact.budget_burned is not None and pm.impact.budget_burned > 0
    assert pm.root_cause is not None and pm.root_cause.evidence
    onsets = [e for e in pm.timeline if e.kind in ("anomaly", "anomaly onset")]
    assert onsets and min(e.at for e in onsets) <= incident.end  # the first anomaly, found by the detector
    assert any(e.source == "diagnosis" for e in pm.timeline)
    # the action with its approval and verification, from the audit log
    (run,) = pm.actions
    assert run.worked is True and "approved by" in run.approval and run.verification.startswith("held")
    # every evidence query is in the appendix with its range
    promqls = {q.promql for q in pm.queries}
    assert {e.promql for e in pm.root_cause.evidence if e.promql} <= promqls
    assert all(q.range is not None for q in pm.queries if q.kind == "range")
    assert "promv5_lab.analysis.rootcause" in {m.name for m in pm.models}
    # the alert-tuning rules are valid Prometheus rules
    rules = [f for f in pm.follow_ups if f.kind == "alert_rule"]
    assert rules
    for i, f in enumerate(rules):
        path = tmp_path / f"rule{i}.yml"
        path.write_text(f.code)
        res = subprocess.run([_need("promtool"), "check", "rules", str(path)], capture_output=True, text=True,
                             timeout=60, check=False)
        assert res.returncode == 0, res.stdout + res.stderr


def test_html_charts_draw_offline_in_chromium(postmortem, tmp_path):
    _need(CHROMIUM)
    from playwright.sync_api import sync_playwright

    out = export(postmortem, tmp_path / "pm.html")
    errors, requests = [], []
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                    headless=True, args=ARGS)
        try:
            page = ctx.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(out.as_uri(), wait_until="load")
            page.wait_for_selector(".p5-chart[data-drawn='1']", timeout=15_000)
            drawn = page.eval_on_selector_all(".p5-chart", """els => els.map(e => ({
                drawn: e.getAttribute('data-drawn'),
                lines: Array.from(e.querySelectorAll('path.line')).map(p => (p.getAttribute('d').match(/L/g) || []).length),
                shade: e.querySelectorAll('rect.shade').length}))""")
            assert len(drawn) == len(postmortem.charts)
            for d in drawn:
                assert d["drawn"] == "1" and d["lines"] and max(d["lines"]) > 30 and d["shade"] == 1
            # interactive: hovering shows the values, clicking a legend entry hides its line
            box = page.locator(".p5-chart").first
            svg = box.locator("svg")
            svg.scroll_into_view_if_needed()
            size = svg.bounding_box()
            svg.hover(position={"x": size["width"] * 0.5, "y": size["height"] * 0.5})
            tip = box.locator(".p5-tip")
            assert tip.is_visible() and "UTC" in tip.inner_text()
            before = box.locator("path.line").count()
            box.locator(".p5-legend span").first.click()
            assert box.locator("path.line").count() == before - 1
            # hostile text stayed text
            assert page.evaluate("document.querySelectorAll('script:not([nonce]):not([type])').length") == 0
            assert "{{7*7}}" in page.inner_text("body")
        finally:
            ctx.close()
    assert not errors, errors
    assert requests and all(u.startswith("file://") for u in requests), requests


def test_markdown_has_its_pngs_beside_it(postmortem, tmp_path):
    import re

    out = export(postmortem, tmp_path / "pm.md")
    text = out.read_text()
    for c in postmortem.charts:
        png = tmp_path / "pm_files" / f"{c.id}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"pm_files/{c.id}.png" in text
    for title in SECTIONS:
        assert f"## {title}" in text
    assert "<script>" not in re.sub(r"(`{3,})[^\n]*\n.*?\n *\1", "", text, flags=re.DOTALL)


def test_pdf_from_a_real_prometheus_with_a_token(prometheus_demo, world, incident, audit, tmp_path):
    """The token is set in the settings the backend is built from; it must not reach the document."""
    import numpy as np
    from PIL import Image

    from promv5_lab.backends import telemetry
    from promv5_lab.config import load_settings

    _need(CHROMIUM)
    settings = load_settings(backend_url=prometheus_demo.url, bearer_token=SECRET)
    with telemetry(settings) as backend:
        pm = build_postmortem(backend, incident=incident, audit=audit, capacity=False)
    out = export(pm, tmp_path / "pm.pdf")
    text = subprocess.run([_need("pdftotext"), "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    for title in SECTIONS:
        assert title in text, title
    assert pm.root_cause is not None and pm.root_cause.service in text
    assert SECRET not in text and SECRET.encode() not in out.read_bytes()
    assert "Traceback" not in text and 'File "' not in text
    assert "alert('pwn')" in text  # the hostile approver's name is shown as text
    # the charts are images in the PDF...
    listing = subprocess.run([_need("pdfimages"), "-list", str(out)], capture_output=True, text=True, check=True,
                             timeout=60).stdout.splitlines()[2:]
    assert len(listing) >= len(pm.charts) >= 3
    # ...and they drew: the pages carry the chart colours (line blue, incident shading), not a blank box
    subprocess.run([_need("pdftoppm"), "-r", "40", "-png", str(out), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2
    blue = 0
    for p in pages:
        a = np.asarray(Image.open(p).convert("RGB")).astype(int)
        blue += int(((a[..., 2] - a[..., 0] > 60) & (a[..., 2] > 120)).sum())
    assert blue > 200


def test_a_given_diagnosis_is_presented_and_onsets_come_from_the_detector(world, incident):
    """A diagnosis passed in (no anomaly events in its timeline): the report shows it as is, and the
    first anomaly comes from the report's own detector run over the golden signals."""
    from promv5_lab.types import Diagnosis, Evidence, RootCause, TimeRange

    svc = incident.root_cause_service
    ev = Evidence("query", f"pool in use at {svc}", promql=f'max(db_connections_in_use{{service="{svc}"}})',
                  start=incident.start, end=incident.end, weight=0.9)
    diag = Diagnosis(incident.start + timedelta(minutes=10), TimeRange(incident.start, incident.end, 60),
                     (RootCause(svc, "resource_exhaustion", 0.9, (ev,), "given by hand"),
                      RootCause("frontend", "unknown", 0.05)))
    pm = build_postmortem(EmbeddedBackend.open(world), incident=incident, diagnosis=diag, capacity=False)
    assert pm.root_cause.summary == "given by hand" and [c.service for c in pm.contributing] == ["frontend"]
    assert pm.root_cause.evidence[0].chart_id in {c.id for c in pm.charts}
    onsets = [e for e in pm.timeline if e.kind == "anomaly onset" and e.source == "detector"]
    assert onsets and incident.start - timedelta(minutes=30) <= min(e.at for e in onsets) <= incident.end
    assert "promv5_lab.analysis.learn.detect" in {m.name for m in pm.models}
    assert ev.promql in {q.promql for q in pm.queries}
