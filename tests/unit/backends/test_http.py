"""Pure parts of the HTTP layer: URLs and credentials, step suggestions, status -> error mapping, sessions."""

from __future__ import annotations

import json

import pytest

from promv5_lab.backends.http import (
    CallContext,
    HttpStatusError,
    build_session,
    format_step,
    map_status,
    redact_url,
    split_credentials,
    suggest_step,
)
from promv5_lab.errors import (
    AuthError,
    BackendError,
    BackendUnavailable,
    ConfigError,
    QueryError,
    ResultTooLarge,
)


@pytest.mark.parametrize(
    ("url", "clean", "user", "password"),
    [
        ("http://localhost:9090", "http://localhost:9090", None, None),
        ("http://localhost:9090/", "http://localhost:9090", None, None),
        ("https://prom.example.com/prefix/", "https://prom.example.com/prefix", None, None),
        ("https://al%40ice:s3cr%2Ft@prom.example.com:443/x", "https://prom.example.com:443/x", "al@ice", "s3cr/t"),
        ("http://bob@10.0.0.1:9090", "http://10.0.0.1:9090", "bob", None),
        ("http://[::1]:9090", "http://[::1]:9090", None, None),
    ],
)
def test_split_credentials(url, clean, user, password):
    assert split_credentials(url) == (clean, user, password)


@pytest.mark.parametrize("url", ["localhost:9090", "ftp://x", "http://", ""])
def test_split_credentials_rejects_non_http(url):
    with pytest.raises(ConfigError) as info:
        split_credentials(url)
    assert info.value.hint


def test_redact_url_removes_userinfo():
    assert redact_url("https://u:pw@host:1/p?q=1") == "https://host:1/p?q=1"
    assert redact_url("http://host/p") == "http://host/p"


@pytest.mark.parametrize(
    ("seconds", "limit", "step"),
    [
        (3600, 11_000, 1.0),  # 1h at 1s = 3601 points: fine
        (7 * 86400, 11_000, 60.0),  # 7d needs >= 54.98s -> 1m
        (30 * 86400, 11_000, 300.0),  # 30d needs >= 235.6s -> 5m
        (86400, 240, 600.0),  # 1d in 240 points needs >= 361.5s -> 10m
        (400 * 86400, 100, 5 * 86400.0),  # beyond the table: whole days (needs 4.04d)
    ],
)
def test_suggest_step(seconds, limit, step):
    got = suggest_step(seconds, limit)
    assert got == step
    assert seconds // got + 1 <= limit


@pytest.mark.parametrize(("step", "text"), [(30, "30s"), (60, "1m"), (90, "90s"), (7200, "2h"), (0.5, "0.5s"),
                                            (86400 * 7, "7d")])
def test_format_step(step, text):
    assert format_step(step) == text


CTX = CallContext(url="http://prom:9090", endpoint="/api/v1/query_range", promql="rate(x[5m])",
                  points=20_161, range_s=7 * 86400, max_points=11_000)


def _status(status: int, payload: object) -> HttpStatusError:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return HttpStatusError(status, "http://prom:9090/api/v1/query_range?query=x", body)


def _perr(error_type: str, error: str) -> dict:
    return {"status": "error", "errorType": error_type, "error": error}


@pytest.mark.parametrize(
    ("status", "payload", "cls", "retryable"),
    [
        (401, b"Unauthorized", AuthError, False),
        (403, b"Forbidden", AuthError, False),
        (400, _perr("bad_data", "1:6: parse error: unclosed left parenthesis"), QueryError, False),
        (422, _perr("execution", "many-to-many matching not allowed"), QueryError, False),
        (503, _perr("timeout", "query timed out in expression evaluation"), QueryError, False),
        (503, _perr("canceled", "query was canceled"), QueryError, False),
        (422, _perr("422", "unparsable query"), QueryError, False),  # VictoriaMetrics spells errorType as status
        (400, _perr("bad_data", "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
                                "query resolution (?step=XX)"), ResultTooLarge, False),
        (422, _perr("execution", "query processing would load too many samples into memory in query execution"),
         ResultTooLarge, False),
        (404, b"404 page not found", BackendError, False),
        (502, b"<html>Bad Gateway</html>", BackendUnavailable, True),
        (503, b"Service Unavailable", BackendUnavailable, True),
        (504, b"", BackendUnavailable, True),
        (500, _perr("internal", "boom"), BackendUnavailable, False),
    ],
)
def test_map_status(status, payload, cls, retryable):
    exc = _status(status, payload)
    assert exc.retryable is retryable
    mapped = map_status(exc, CTX)
    assert type(mapped) is cls
    assert mapped.url == "http://prom:9090"
    assert mapped.hint
    if isinstance(mapped, QueryError):
        assert mapped.promql == "rate(x[5m])"
        assert mapped.error_type == payload["errorType"]
        assert payload["error"] in mapped.message
    if isinstance(mapped, AuthError):
        assert mapped.status == status
        assert "PROMV5_BEARER_TOKEN" in mapped.hint or "permissions" in mapped.hint


def test_server_point_limit_wins_over_ours():
    exc = _status(400, _perr("bad_data", "exceeded maximum resolution of 11,000 points per timeseries."))
    mapped = map_status(exc, CallContext("http://p", "/api/v1/query_range", "x", 20_161, 7 * 86400, 10**9))
    assert isinstance(mapped, ResultTooLarge)
    assert mapped.limit == 11_000
    assert "step=1m" in mapped.hint


def test_build_session_carries_auth_headers_and_tls():
    s = build_session(bearer_token="tok", headers={"X-Scope-OrgID": "team-a"}, tls_ca_file="/ca.pem",
                      tls_client_cert="/c.pem", tls_client_key="/k.pem")
    assert s.headers["Authorization"] == "Bearer tok"
    assert s.headers["X-Scope-OrgID"] == "team-a"
    assert s.verify == "/ca.pem"
    assert s.cert == ("/c.pem", "/k.pem")
    s2 = build_session(basic_auth=("u", "p"), tls_verify=False, tls_ca_file="/ignored.pem")
    assert s2.auth == ("u", "p") and "Authorization" not in s2.headers
    assert s2.verify is False


def test_build_session_rejects_conflicts():
    with pytest.raises(ConfigError):
        build_session(bearer_token="t", basic_auth=("u", "p"))
    with pytest.raises(ConfigError):
        build_session(tls_client_key="/k.pem")
