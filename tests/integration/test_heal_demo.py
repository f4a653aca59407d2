"""One bounded chaos cycle: the live demo world scraped every second by a real Prometheus, a fault injected,
``heal`` run through its CLI: first a dry run (nothing changes), then --execute (healed, verified, audited)."""

from __future__ import annotations

import json
import time

import pytest
import requests
import typer
from typer.testing import CliRunner

from promv5_lab.demo.server import DemoServer
from promv5_lab.remediate.audit import AuditLog
from promv5_lab.remediate.chaos import POLICIES, DemoScrapeHarness
from promv5_lab.remediate.cli import register

pytestmark = pytest.mark.integration


def _app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def _wait_for(prom_url: str, promql: str, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = requests.get(prom_url + "/api/v1/query", params={"query": promql}, timeout=5).json()
        if r["data"]["result"]:
            return
        time.sleep(0.5)
    raise AssertionError(f"{promql} never returned data")


def test_heal_dry_run_then_execute_fixes_a_db_pool_exhaustion(tmp_path):
    runner = CliRunner()
    app = _app()
    log = tmp_path / "audit.db"
    with DemoServer(port=0, seed=5) as srv, DemoScrapeHarness(scrape_targets=[srv.url], scrape_interval="1s") as prom:
        prom.start()
        fid = requests.post(srv.url + "/admin/faults", json={"type": "db_pool_exhaustion", "service": "cart"},
                            timeout=10).json()["id"]
        _wait_for(prom.url, 'db_connections_in_use{service="cart"} / db_connections_max >= 0.95')
        base = ["heal", "--backend", prom.url, "--policies", str(POLICIES), "--var", f"ADMIN_URL={srv.url}",
                "--approve", "auto", "--interval", "1", "--log", str(log)]

        dry = runner.invoke(app, [*base, "--max-seconds", "15", "--max-recoveries", "1"])
        assert dry.exit_code == 0, dry.output
        assert "dry_run: db_pool_exhaustion on cart via db-pool-restart" in dry.output
        assert f'demo: POST {srv.url}/admin/actions {{"action": "restart", "params": {{}}, "service": "cart"}}' \
            in dry.output
        state = requests.get(srv.url + "/admin/state", timeout=10).json()
        assert fid in {f["id"] for f in state["active_faults"]}, "a dry run changed the world"
        assert state["recent_actions"] == []

        t0 = time.monotonic()
        done = runner.invoke(app, [*base, "--execute", "--max-seconds", "40", "--max-recoveries", "1"])
        assert done.exit_code == 0, done.output
        assert "resolved: db_pool_exhaustion on cart via db-pool-restart" in done.output
        state = requests.get(srv.url + "/admin/state", timeout=10).json()
        assert state["active_faults"] == []
        assert [a["resolved"] for a in state["recent_actions"]] == [[fid]], "exactly one action, the right one"
        assert time.monotonic() - t0 < 40

    audit = AuditLog(log)
    live = [e for e in audit.entries() if not e.dry_run]
    kinds = [e.kind for e in live]
    assert kinds == ["decision", "approval", "execution", "verification", "outcome"], kinds
    assert live[3].outcome == "held" and live[4].outcome == "resolved"
    assert live[2].detail["url"] == srv.url + "/admin/actions"
    assert json.loads(live[2].detail["body"]) == {"action": "restart", "service": "cart", "params": {}}
    assert {e.kind for e in audit.entries() if e.dry_run} >= {"decision", "dry_run", "outcome"}
    audit.close()

    ok = runner.invoke(app, ["audit", "verify", "--log", str(log)])
    assert ok.exit_code == 0 and "chain intact" in ok.output
    shown = runner.invoke(app, ["audit", "show", "--log", str(log), "--kind", "execution"])
    assert shown.exit_code == 0 and "LIVE execution" in shown.output and "db-pool-restart cart demo" in shown.output
