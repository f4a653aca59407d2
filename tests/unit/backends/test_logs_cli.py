"""``promv5-lab logs`` / ``traces`` through a local Typer app carrying ``signals_cli.register``.

Loki and Tempo are fakes on loopback (no server can run here; see tests/fakes/ for the documented
formats they follow)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import typer
from fakes.data import small_history
from fakes.loki import FakeLoki
from fakes.traces import FakeTempo
from typer.testing import CliRunner

from promv5_lab.backends.logs import LogStore
from promv5_lab.backends.signals_cli import register, safe
from promv5_lab.backends.traces import TraceStore
from promv5_lab.errors import ConfigError, InputError
from promv5_lab.types import TimeRange


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    register(a)
    return a


@pytest.fixture(scope="module")
def history():
    return small_history()


def run(app, *args: str, env: dict | None = None):
    return CliRunner().invoke(app, list(args), env=env, catch_exceptions=True)


def test_logs_from_a_directory_end_at_the_data(app, history):
    store = LogStore.open(history)
    _, b = store.time_bounds()
    r = run(app, "logs", "--data", str(history), "--since", "6h", "--service", "checkout", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    want = store.logs(TimeRange(b - timedelta(hours=6), b), service="checkout", limit=1000)
    assert doc["rows"] == len(doc["data"]) == len(want)
    assert {d["service"] for d in doc["data"]} <= {"checkout"}
    assert doc["query"].startswith("SELECT") and doc["truncated"] is False


def test_logs_table_and_errors(app, history):
    r = run(app, "logs", "--data", str(history), "--since", "2d", "--level", "error", "--limit", "5")
    assert r.exit_code == 0, r.output
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 5 and all(" ERROR " in line for line in lines)
    assert "truncated" in r.stderr
    r = run(app, "logs", "--data", str(history), "--logs", "http://x")
    assert isinstance(r.exception, InputError)
    r = run(app, "logs", "--logs", "elastic://x")
    assert isinstance(r.exception, ConfigError)


def test_logs_from_loki_with_token_from_the_environment(app, history):
    with FakeLoki(history / "logs.jsonl", bearer_token="env-token") as loki:
        r = run(app, "logs", "--logs", loki.url, "--end", "2026-11-20T12:00:00Z", "--since", "1d",
                "--contains", "pool", "--format", "csv", env={"PROMV5_LOGS_BEARER_TOKEN": "env-token"})
        assert r.exit_code == 0, r.output
        assert r.stdout.splitlines()[0] == "timestamp,service,level,message,trace_id,node"
        assert all("pool" in line for line in r.stdout.splitlines()[1:])
        assert "env-token" not in r.output


def test_traces_tree_and_tempo(app, history):
    store = TraceStore.open(history)
    a, b = store.time_bounds()
    tid = store.spans(TimeRange(a, b), status="ERROR")["trace_id"].iloc[0]
    r = run(app, "traces", "--data", str(history), "--trace-id", tid)
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0].startswith("frontend: ") and lines[1].startswith("  ") and "ERROR" in r.stdout
    assert len(lines) == len(store.trace(tid))
    with FakeTempo(history / "traces.jsonl") as tempo:
        r = run(app, "traces", "--traces", "tempo+" + tempo.url, "--end", b.isoformat(), "--since", "3h",
                "--errors", "--format", "json")
        assert r.exit_code == 0, r.output
        doc = json.loads(r.stdout)
        assert doc["data"] and {d["status"] for d in doc["data"]} == {"ERROR"}
        r = run(app, "traces", "--traces", tempo.url, "--trace-id", "0" * 32)
        assert r.exit_code == 1 and "No trace" in r.stdout


def test_control_characters_are_escaped():
    assert safe("boom\x1b[2J\u202e") == "boom\\x1b[2J\\x202e"
