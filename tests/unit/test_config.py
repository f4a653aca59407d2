"""Settings precedence (kwargs > env > file > defaults), validation errors, secrets hidden."""

from __future__ import annotations

import pytest

from promv5_lab.config import load_settings
from promv5_lab.errors import ConfigError


def test_defaults():
    s = load_settings()
    assert s.backend_url is None and s.timeout_s == 10 and s.max_points_per_series == 11_000


def test_precedence_kwargs_env_file(tmp_path, monkeypatch):
    cfg = tmp_path / "config.toml"
    cfg.write_text('backend_url = "http://file:9090"\ntimeout_s = 3\nretries = 5\n[headers]\nX-Scope-OrgID = "t1"\n')
    monkeypatch.setenv("PROMV5_CONFIG", str(cfg))
    s = load_settings()
    assert (s.backend_url, s.timeout_s, s.retries) == ("http://file:9090", 3, 5)
    assert s.headers["X-Scope-OrgID"].get_secret_value() == "t1"
    monkeypatch.setenv("PROMV5_TIMEOUT_S", "7")
    monkeypatch.setenv("PROMV5_BACKEND_URL", "http://env:9090/")
    s = load_settings()
    assert (s.backend_url, s.timeout_s, s.retries) == ("http://env:9090", 7, 5)
    s = load_settings(backend_url="https://kw:443", timeout_s=None)
    assert s.backend_url == "https://kw:443" and s.timeout_s == 7


def test_secrets_never_printed():
    s = load_settings(bearer_token="tok-SECRET-123", basic_auth_password="pw-SECRET-456")
    for text in (str(s), repr(s), s.model_dump_json()):
        assert "SECRET" not in text
    assert s.bearer_token.get_secret_value() == "tok-SECRET-123"


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"backend_url": "prometheus:9090"}, "backend_url"),
        ({"timeout_s": -1}, "timeout_s"),
        ({"retries": 99}, "retries"),
        ({"no_such_option": 1}, "no_such_option"),
    ],
)
def test_invalid_settings_name_the_field(kwargs, needle):
    with pytest.raises(ConfigError) as info:
        load_settings(**kwargs)
    assert needle in str(info.value) and info.value.hint


def test_timezone_and_llm_settings(monkeypatch):
    s = load_settings()
    assert s.timezone == "UTC" and s.llm_url is None and s.llm_model is None and s.llm_api_key is None
    monkeypatch.setenv("PROMV5_TIMEZONE", "Europe/Paris")
    monkeypatch.setenv("PROMV5_LLM_URL", "http://127.0.0.1:11434/v1/")
    monkeypatch.setenv("PROMV5_LLM_MODEL", "llama3.1")
    monkeypatch.setenv("PROMV5_LLM_API_KEY", "sk-SECRET-789")
    s = load_settings()
    assert (s.timezone, s.llm_url, s.llm_model) == ("Europe/Paris", "http://127.0.0.1:11434/v1", "llama3.1")
    assert s.llm_api_key.get_secret_value() == "sk-SECRET-789"
    for text in (str(s), repr(s), s.model_dump_json()):
        assert "SECRET" not in text
    with pytest.raises(ConfigError) as info:
        load_settings(timezone="Europe/Atlantis")
    assert "timezone" in str(info.value) and "IANA" in str(info.value)
