"""The Alertmanager webhook receiver over real loopback HTTP, with version-4 payloads as documented at
https://prometheus.io/docs/alerting/latest/configuration/#webhook_config (the end-to-end run against a real
Alertmanager is tests/integration/test_alertmanager.py)."""

from __future__ import annotations

import json
import threading

import pytest
import requests

from promv5_lab.backends.alert_webhook import AlertWebhook, parse_payload
from promv5_lab.errors import InputError


def payload(*alerts: dict, version: str = "4") -> dict:
    return {"version": version, "groupKey": "{}:{alertname=\"X\"}", "truncatedAlerts": 0, "status": "firing",
            "receiver": "main", "groupLabels": {"alertname": "X"}, "commonLabels": {}, "commonAnnotations": {},
            "externalURL": "http://am:9093", "alerts": list(alerts)}


def alert(name: str = "X", status: str = "firing", fp: str = "abc", starts: str = "2026-11-27T10:00:00.123456789Z",
          **labels: str) -> dict:
    return {"status": status, "labels": {"alertname": name, **labels}, "annotations": {"summary": "s"},
            "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph",
            "fingerprint": fp}


@pytest.fixture
def hook():
    got: list = []
    with AlertWebhook(got.append, bearer_token="tok", max_body_bytes=4096) as h:
        h.got = got
        yield h


def post(hook, body, *, token: str | None = "tok", path: str | None = None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    url = hook.url if path is None else hook.url.rsplit("/", 1)[0] + path
    return requests.post(url, data=data, headers=headers, timeout=5)


def test_firing_alerts_reach_the_callback_once(hook):
    r = post(hook, payload(alert(service="checkout"), alert("Y", fp="def"), alert("Z", status="resolved", fp="z")))
    assert r.status_code == 200 and r.json() == {"accepted": 2}
    assert post(hook, payload(alert(service="checkout"))).json() == {"accepted": 0}  # a repeat
    assert hook.wait_idle(5)
    assert [a.name for a in hook.got] == ["X", "Y"]
    first = hook.got[0]
    assert first.service == "checkout" and first.firing and first.starts_at.microsecond == 123456
    assert first.ends_at is None
    # the same alert firing again later is a new episode
    assert post(hook, payload(alert(starts="2026-11-27T11:00:00Z"))).json() == {"accepted": 1}


@pytest.mark.parametrize("body, status, needle", [
    (b"{not json", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (payload(alert(), version="3"), 400, "version"),
    ({"version": "4", "alerts": "no"}, 400, "alerts"),
    (payload({"status": "firing", "labels": {"a": 1}}), 400, "not strings"),
    (payload({"status": "weird", "labels": {}}), 400, "status"),
    (payload(alert(starts="yesterday")), 400, "Cannot read time"),
    (b"x" * 5000, 413, "body over"),
], ids=["not-json", "array", "version", "alerts-not-list", "label-not-string", "bad-status", "bad-time", "too-big"])
def test_bad_bodies_are_refused_with_a_reason(hook, body, status, needle):
    r = post(hook, body)
    assert r.status_code == status and needle in r.json()["error"]
    assert hook.got == []


def test_auth_paths_and_methods(hook):
    assert post(hook, payload(alert()), token=None).status_code == 401
    assert post(hook, payload(alert()), token="wrong").status_code == 401
    assert post(hook, payload(alert()), path="/other").status_code == 404
    assert requests.get(hook.url, timeout=5).status_code == 405
    assert requests.put(hook.url, data=b"{}", timeout=5).status_code == 405
    assert requests.get(hook.url.rsplit("/", 1)[0] + "/-/healthy", timeout=5).status_code == 200


def test_a_failing_callback_is_recorded_and_the_receiver_keeps_going():
    calls = []

    def flaky(a):
        calls.append(a.name)
        if a.name == "bad":
            raise RuntimeError("investigation crashed")

    with AlertWebhook(flaky) as h:
        body = json.dumps(payload(alert("bad", fp="1"), alert("good", fp="2"))).encode()
        assert requests.post(h.url, data=body, timeout=5).status_code == 200
        assert h.wait_idle(5)
        assert calls == ["bad", "good"] and len(h.errors) == 1 and "investigation crashed" in h.errors[0]
        assert [a.name for a in h.delivered] == ["good"]


def test_a_full_queue_answers_503_so_alertmanager_retries():
    release = threading.Event()
    with AlertWebhook(lambda a: release.wait(5), queue_size=1) as h:
        ok = requests.post(h.url, data=json.dumps(payload(alert(fp="1"))).encode(), timeout=5)
        assert ok.status_code == 200
        busy = requests.post(h.url, data=json.dumps(payload(alert(fp="2"), alert(fp="3"))).encode(), timeout=5)
        assert busy.status_code == 503
        release.set()
        assert h.wait_idle(5)
        # refused alerts were not remembered as seen: the retry is accepted
        again = requests.post(h.url, data=json.dumps(payload(alert(fp="2"))).encode(), timeout=5)
        assert again.json() == {"accepted": 1}


def test_parse_payload_keeps_the_head():
    head, alerts = parse_payload(json.dumps(payload(alert())).encode())
    assert head["receiver"] == "main" and "alerts" not in head and alerts[0].fingerprint == "abc"
    with pytest.raises(InputError):
        parse_payload(b"\xff\xfe")
