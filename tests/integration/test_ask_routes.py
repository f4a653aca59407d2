"""Analysis questions through ``Investigation.ask`` and ``promv5-lab ask --json`` on the demo world (embedded
engine over the session's simulated history), checked against the simulation's ground truth (incidents.json)."""

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from promv5_lab.backends.embedded import EmbeddedBackend
from promv5_lab.investigation import Investigation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def backend(demo_history):
    return EmbeddedBackend.open(demo_history.out_dir)


def incident(demo_history, kind):
    found = [i for i in demo_history.incidents if i.type == kind]
    assert found, f"the demo world has no {kind} incident: {[i.type for i in demo_history.incidents]}"
    return found[0]


def test_anything_unusual_finds_the_incident(demo_history, backend):
    inc = incident(demo_history, "db_pool_exhaustion")
    now = inc.start + timedelta(minutes=20)
    inv = Investigation(backend, now=now, use_embeddings=False, tz="Europe/Paris")
    ans = inv.ask("anything unusual in the last hour?")
    d = ans.to_json()
    assert d["route"] == d["intent"] == "anomalies" and ans.error is None
    det = d["details"]
    assert det["scanned_series"] > 50 and det["queries"] and det["range"]["step_s"] >= 60
    assert det["window"]["end"] == now.isoformat() and "detect" in det["model"]
    found = det["anomalies"]
    assert found, ans.answer
    for a in found:  # every finding overlaps the asked window
        assert a["end"] >= det["window"]["start"] and a["start"] <= det["window"]["end"]
        assert 0 <= a["peak_score"] <= 1 and a["peak_score"] >= a["threshold"]
    top = [a["series"] for a in found[:3]]
    assert any(inc.service in s for s in top), top
    assert "Europe/Paris" in ans.answer and inc.service in ans.answer


def test_when_will_checkout_run_out_of_db_connections(demo_history, backend):
    inc = incident(demo_history, "db_pool_exhaustion")
    inv = Investigation(backend, now=inc.start + timedelta(minutes=6), use_embeddings=False)
    ans = inv.ask("when will checkout run out of DB connections?")
    d = ans.to_json()
    assert d["route"] == "capacity" and ans.error is None, ans.answer
    det = d["details"]
    assert "db_connections_in_use" in det["promql"] and "db_connections_max" in det["promql"]
    assert 'service="checkout"' in det["promql"] and det["limit"] == 1.0
    best = det["capacity"][0]
    assert best["eta_s"] is not None and best["eta_s"] < 86400, best["sentence"]
    assert best["model"].startswith("ETS") and best["params"]["step_s"] > 0
    assert d["promql"] == det["promql"] and d["kind"] == "range"


def test_will_the_disk_fill_up(demo_history, backend):
    inc = incident(demo_history, "disk_fill")
    inv = Investigation(backend, now=inc.start + timedelta(minutes=40), use_embeddings=False)
    ans = inv.ask("will the disk fill up this week?")
    det = ans.to_json()["details"]
    assert ans.route == "capacity" and "node_filesystem" in det["promql"] and det["horizon_s"] == 7 * 86400
    soonest = det["capacity"][0]
    assert "/var/lib/postgresql" in soonest["series"] and soonest["eta_s"] is not None, soonest["sentence"]
    assert soonest["eta_s"] < 2 * 86400


def test_forecast_json_from_the_cli(demo_history):
    at = demo_history.end.isoformat()
    proc = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "ask", "forecast requests per second for the next day",
                           "--data", str(demo_history.out_dir), "--at", at, "--json", "--lexical", "--tz",
                           "America/New_York"], cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key in ("promql", "kind", "start", "end", "step", "answer", "confidence", "series"):
        assert key in out  # what ask --json always had
    assert out["route"] == "forecast" and out["timezone"] == "America/New_York"
    fc = out["details"]["forecast"]
    assert len(fc) == 1 and fc[0]["model"].startswith(("ETS", "SARIMAX", "seasonal naive")) and len(fc[0]["points"]) > 100
    last = fc[0]["points"][-1]
    assert last["lower"] <= last["mean"] <= last["upper"] and last["mean"] > 0
    assert out["details"]["horizon_s"] == 86400 and "rate(http_requests_total" in out["details"]["promql"]
