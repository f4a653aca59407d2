"""A real chain: the live demo shop -> Prometheus 2.42 (scrape + alerting rule) -> Alertmanager 0.25 -> our webhook.

Debian's ``prometheus`` and ``prometheus-alertmanager`` run on free loopback ports; the test fails (does not
skip) when either binary is missing. A db-pool fault injected into the live shop makes the rule fire; the
alert is read back through the v2 API client, delivered to the webhook receiver (with a bearer token),
silenced and un-silenced.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
import typer
from typer.testing import CliRunner

from promv5_lab.backends.alert_webhook import AlertWebhook
from promv5_lab.backends.alertmanager import AlertmanagerClient
from promv5_lab.backends.alertmanager_harness import AlertmanagerHarness
from promv5_lab.backends.harness import PrometheusHarness
from promv5_lab.backends.signals_cli import register
from promv5_lab.demo.server import DemoServer
from promv5_lab.errors import InputError

pytestmark = pytest.mark.integration

RULES = """
groups:
  - name: demo
    interval: 1s
    rules:
      - alert: CheckoutPoolExhausted
        expr: max by (service) (db_connections_in_use{service="checkout"} / db_connections_max{service="checkout"}) > 0.9
        labels: {severity: page}
        annotations: {summary: "checkout's database pool is exhausted"}
"""


def _until(fn, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def test_rule_fires_reaches_alertmanager_webhook_and_silences(tmp_path):
    rules = tmp_path / "rules.yml"
    rules.write_text(RULES)
    received = []
    token = "s3cret-webhook-token"
    with DemoServer(port=0, seed=3) as shop, AlertWebhook(received.append, bearer_token=token) as hook, \
            AlertmanagerHarness(webhook_url=hook.url, webhook_bearer_token=token) as am:
        am.start()
        with PrometheusHarness(scrape_targets=[shop.url], scrape_interval="1s", rule_files=[rules],
                               evaluation_interval="1s", alertmanager_url=am.url) as prom:
            prom.start()
            client = AlertmanagerClient(am.url)
            assert client.status().version.startswith("0.")
            time.sleep(3)  # a few scrapes and evaluations of a healthy shop
            assert client.alerts() == [] and received == []
            r = requests.post(shop.url + "/admin/faults", json={"type": "db_pool_exhaustion", "service": "checkout"},
                              timeout=5)
            assert r.status_code == 201

            alerts = _until(lambda: client.alerts(filter={"alertname": "CheckoutPoolExhausted"}), 40,
                            "the alert in Alertmanager")
            alert = alerts[0]
            assert alert.firing and alert.state == "active" and alert.service == "checkout"
            assert alert.labels["severity"] == "page" and "pool" in alert.summary
            assert "g0.expr=" in alert.generator_url  # Prometheus links back to the rule's expression
            assert client.alerts(filter=['alertname="NoSuchAlert"']) == []

            _until(lambda: received, 20, "the webhook delivery")
            assert hook.wait_idle(5)
            got = received[0]
            assert got.name == "CheckoutPoolExhausted" and got.state == "firing"
            assert got.fingerprint == alert.fingerprint and got.starts_at == alert.starts_at
            assert hook.payloads[0]["receiver"] == "main" and hook.payloads[0]["version"] == "4"

            sid = client.create_silence({"alertname": "CheckoutPoolExhausted", "service": "checkout"},
                                        duration="10m", created_by="promv5-lab test", comment="integration test")
            assert any(s.id == sid and s.active for s in client.silences())
            silenced = _until(lambda: [a for a in client.alerts() if a.state == "suppressed"], 10, "suppression")
            assert silenced[0].silenced_by == (sid,)
            assert client.alerts(silenced=False) == []
            cli = typer.Typer()
            register(cli)
            shown = CliRunner().invoke(cli, ["alerts", "--alertmanager", am.url, "--all", "--json"])
            assert shown.exit_code == 0, shown.output
            assert [a["name"] for a in json.loads(shown.stdout)] == ["CheckoutPoolExhausted"]
            listed = CliRunner().invoke(cli, ["alerts", "-a", am.url, "--silences"])
            assert sid in listed.stdout and 'service="checkout"' in listed.stdout

            client.expire_silence(sid)
            assert client.silence(sid).state == "expired"
            _until(lambda: [a for a in client.alerts(silenced=False) if a.state == "active"], 10, "un-suppression")
            client.expire_silence(sid)  # twice is fine
            with pytest.raises(InputError, match="no silence"):
                client.expire_silence("00000000-0000-0000-0000-000000000000")
            assert len(received) == 1  # repeats of the same alert are not handed over again
            client.close()
