"""``promv5-lab ask --json`` over a simulated history on the embedded engine (a real subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
END = "2026-11-20T12:00:00Z"


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    from promv5_lab.demo.simulate import simulate

    d = tmp_path_factory.mktemp("ask")
    simulate(d, days=1, step_s=120, seed=3, end=END)
    return d


def ask(*args, timeout=120):
    proc = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "ask", *args], check=False, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)
    return proc


def test_ask_json_range(history):
    proc = ask("error ratio of checkout over the last 30 minutes", "--data", str(history), "--at", END, "--json",
               "--lexical")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kind"] == "range"
    assert out["start"] == "2026-11-20T11:30:00+00:00" and out["end"] == "2026-11-20T12:00:00+00:00"
    assert out["step"] == 8.0
    assert 'code=~"5.."' in out["promql"] and 'service="checkout"' in out["promql"] and " / " in out["promql"]
    assert 0 < out["confidence"] <= 1 and out["answer"]
    assert len(out["series"]) == 1 and len(out["series"][0]["values"]) > 100
    assert all(v is None or 0 <= v <= 1 for _, v in out["series"][0]["values"])


def test_ask_json_instant_with_embeddings(history):
    proc = ask("p99 latency per service", "--data", str(history), "--at", END, "--json", timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["kind"] == "instant" and out["promql"].startswith("histogram_quantile(0.99")
    assert {s["labels"]["service"] for s in out["series"]} >= {"checkout", "payments"}
    assert all(0 < s["values"][0][1] < 10 for s in out["series"])


def test_ask_clarifies_and_errors_are_short(history):
    proc = ask("kafka consumer lag", "--data", str(history), "--at", END, "--json", "--lexical")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["promql"] is None and out["clarification"]["candidates"]
    proc = ask("anything", "--data", str(history / "no-such-dir"))
    assert proc.returncode == 2 and "Hint:" in proc.stderr and "Traceback" not in proc.stderr
    assert "no-such-dir" in proc.stderr
