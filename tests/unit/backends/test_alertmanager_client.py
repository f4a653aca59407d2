"""Alertmanager client pieces that need no server: matchers, times, validation before any request.

(The client against a real Alertmanager 0.25 is tests/integration/test_alertmanager.py.)
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from promv5_lab.backends.alertmanager import (
    Alert,
    AlertmanagerClient,
    Matcher,
    Silence,
    matchers_of,
    parse_time,
)
from promv5_lab.backends.harness import free_port
from promv5_lab.errors import BackendUnavailable, InputError


@pytest.mark.parametrize("text, name, op, value", [
    ('service="checkout"', "service", "=", "checkout"),
    ('code=~"5.."', "code", "=~", "5.."),
    ("env!=prod", "env", "!=", "prod"),
    (' msg !~ "a \\"quoted\\" \\\\ word" ', "msg", "!~", 'a "quoted" \\ word'),
])
def test_matcher_parse_and_render_round_trip(text, name, op, value):
    m = Matcher.parse(text)
    assert (m.name, m.op, m.value) == (name, op, value)
    assert Matcher.parse(m.render()) == m


@pytest.mark.parametrize("bad, needle", [
    ('1abc="x"', "Cannot read matcher"),
    ('a=~"("', "bad regex"),
    ("nothing", "Cannot read matcher"),
])
def test_bad_matchers(bad, needle):
    with pytest.raises(InputError, match=needle):
        Matcher.parse(bad)


def test_matchers_of_and_empty_matching():
    ms = matchers_of({"alertname": "X", "service": "checkout"})
    assert ms[0].to_api() == {"name": "alertname", "value": "X", "isRegex": False, "isEqual": True}
    assert Matcher("a", ".*", "=~").matches_empty() and Matcher("a", "x", "!=").matches_empty()
    assert not Matcher("a", "x").matches_empty() and not Matcher("a", ".+", "=~").matches_empty()


def test_silence_validation_happens_before_any_request():
    client = AlertmanagerClient(f"http://127.0.0.1:{free_port()}", retries=0, timeout_s=2)  # nothing listens
    now = datetime.now(timezone.utc)
    with pytest.raises(InputError, match="at least one matcher"):
        client.create_silence({})
    with pytest.raises(InputError, match="empty string"):
        client.create_silence(['a=~".*"'])
    with pytest.raises(InputError, match="before it starts"):
        client.create_silence({"a": "b"}, starts=now, ends=now - timedelta(minutes=1))
    with pytest.raises(InputError, match="already be over"):
        client.create_silence({"a": "b"}, starts=now - timedelta(hours=2), ends=now - timedelta(hours=1))
    with pytest.raises(InputError, match="not a silence id"):
        client.expire_silence("../../api/v2/status")
    with pytest.raises(BackendUnavailable, match="Cannot reach the Alertmanager"):
        client.alerts()


def test_credentials_in_the_url_never_show():
    client = AlertmanagerClient(f"http://user:hunter2@127.0.0.1:{free_port()}", retries=0, timeout_s=2)
    assert "hunter2" not in repr(client) and "hunter2" not in client.url
    with pytest.raises(BackendUnavailable) as info:
        client.status()
    assert "hunter2" not in str(info.value)


def test_api_objects():
    a = Alert.from_api({"labels": {"alertname": "X", "job": "cart"}, "annotations": {"description": "d"},
                        "startsAt": "2026-11-27T10:00:00.5Z", "endsAt": "2026-11-27T10:05:00Z",
                        "status": {"state": "suppressed", "silencedBy": ["s1"], "inhibitedBy": []},
                        "receivers": [{"name": "main"}], "fingerprint": "f"})
    assert a.service == "cart" and a.summary == "d" and not a.firing and a.silenced_by == ("s1",)
    ev = a.timeline_event()
    assert ev.kind == "alert" and ev.service == "cart" and ev.at == parse_time("2026-11-27T10:00:00.5Z")
    assert a.to_json()["starts_at"] == "2026-11-27T10:00:00.500Z"
    s = Silence.from_api({"id": "i", "status": {"state": "active"}, "createdBy": "me", "comment": "c",
                          "startsAt": "2026-11-27T10:00:00Z", "endsAt": "2026-11-27T11:00:00Z",
                          "matchers": [{"name": "a", "value": "b.*", "isRegex": True, "isEqual": False}]})
    assert s.active and s.matchers == (Matcher("a", "b.*", "!~"),)
    assert parse_time("0001-01-01T00:00:00Z") is None


def test_shared_remote_client_sends_tenant_and_token_and_maps_errors():
    """AlertmanagerClient is a RemoteClient like the Loki/Tempo/Jaeger clients: the tenant header, the bearer
    token, 401 -> AuthError and ``with`` closing come from there. Against tests/fakes' loopback server answering
    ``/api/v2/alerts`` as Alertmanager documents it (a JSON list of gettableAlerts)."""
    from fakes.base import FakeServer

    from promv5_lab.backends._client import RemoteClient
    from promv5_lab.errors import AuthError

    alert = {"labels": {"alertname": "X", "service": "cart"}, "annotations": {}, "startsAt": "2026-11-27T10:00:00Z",
             "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "f1", "status": {"state": "active"}}
    with FakeServer(lambda path, query, headers: (200, [alert]) if path == "/api/v2/alerts" else (404, "no\n"),
                    bearer_token="tok-1") as fake:
        with AlertmanagerClient(fake.url, tenant="team-a", bearer_token="tok-1", retries=0, timeout_s=5) as am:
            assert isinstance(am, RemoteClient) and repr(am) == f"AlertmanagerClient({fake.url!r})"
            [got] = am.alerts()
            assert got.name == "X" and got.service == "cart" and got.firing
        path, query, headers = fake.requests[0]
        assert path == "/api/v2/alerts" and headers["x-scope-orgid"] == "team-a" and query["active"] == ["true"]
        with pytest.raises(AuthError) as info:
            AlertmanagerClient(fake.url, bearer_token="wrong", retries=0, timeout_s=5).alerts()
        assert info.value.status == 401 and "wrong" not in str(info.value)
