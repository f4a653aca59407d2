"""The shared OpenAI-compatible chat-completions client (promv5_lab._chat) against a fake server on 127.0.0.1.

No model can run here: the server (``tests/fakes/chat.py``) speaks the documented chat-completions wire format,
and can also answer error statuses, raw bodies that are not chat completions, slowly, or stop mid-answer.
"""

from __future__ import annotations

import json
import socket
import time
from contextlib import closing

import pytest
from fakes.chat import serve_fixture  # noqa: F401 - the "serve" fixture
from pydantic import SecretStr

from promv5_lab._chat import ChatClient, ChatEndpoint, extract_json
from promv5_lab.errors import (
    AuthError,
    BackendError,
    BackendUnavailable,
    ConfigError,
    InputError,
    Promv5Error,
)

KEY = "sk-chat-SECRET-4242"


def client(fake_or_url, timeout_s=5.0, **kw):
    url = fake_or_url if isinstance(fake_or_url, str) else fake_or_url.url
    return ChatClient(ChatEndpoint(url, "tiny", SecretStr(KEY), timeout_s), what="the test endpoint",
                      timeout_setting="test_timeout_s", **kw)


def _all_text(exc: Promv5Error) -> str:
    return " ".join(str(x) for x in (exc, exc.message, exc.hint, getattr(exc, "url", ""), repr(exc), exc.args))


def test_a_request_follows_the_wire_format(serve):
    fake = serve(lambda n, body: (200, '{"ok": true}', 0))
    c = client(fake)
    body = c.body([{"role": "user", "content": "hi"}], max_tokens=7)
    assert body == {"model": "tiny", "temperature": 0, "response_format": {"type": "json_object"}, "max_tokens": 7,
                    "messages": [{"role": "user", "content": "hi"}]}
    assert c.complete(body) == '{"ok": true}'
    assert c.complete_json(body) == {"ok": True}
    req = fake.requests[0]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == f"Bearer {KEY}" and req["body"] == body
    c.close()


def test_no_key_sends_no_authorization_or_the_urls_basic_auth(serve):
    import base64

    fake = serve(lambda n, body: (200, "{}", 0))
    with closing(ChatClient(ChatEndpoint(fake.url, "tiny"))) as c:
        c.complete(c.body([]))
    with closing(ChatClient(ChatEndpoint(fake.url.replace("http://", "http://me:p%40ss@"), "tiny"))) as c:
        c.complete(c.body([]))
        assert c.redact("p@ss and p%40ss") == "********** and **********"
    assert fake.requests[0]["auth"] is None
    assert fake.requests[1]["auth"] == "Basic " + base64.b64encode(b"me:p@ss").decode()


def test_a_slow_server_is_a_timeout_naming_the_setting(serve):
    fake = serve(lambda n, body: (200, "{}", 3.0))
    t0 = time.perf_counter()
    with pytest.raises(BackendUnavailable) as info:
        client(fake, timeout_s=0.4).complete({"model": "tiny", "messages": []})
    assert time.perf_counter() - t0 < 2.5  # gave up after the timeout, did not wait for the answer
    assert "no answer within 0.4 s (test_timeout_s) from the test endpoint" in info.value.message


def test_a_server_that_stops_mid_answer_is_a_timeout_too(serve):
    fake = serve(lambda n, body: (200, "x" * 5000, 0))
    fake.stall_s = 3.0
    t0 = time.perf_counter()
    with pytest.raises(BackendUnavailable, match=r"no answer within 0.4 s"):
        client(fake, timeout_s=0.4).complete({"model": "tiny", "messages": []})
    assert time.perf_counter() - t0 < 2.5


def test_nothing_listening_is_unavailable_without_the_password():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there
    c = client(f"http://user:hunter2pw@127.0.0.1:{port}/v1", timeout_s=2.0)
    with pytest.raises(BackendUnavailable) as info:
        c.complete({"model": "tiny", "messages": []})
    text = _all_text(info.value) + repr(c) + repr(c.endpoint)
    assert "cannot reach the test endpoint" in info.value.message
    assert info.value.url == f"http://127.0.0.1:{port}/v1"
    assert "hunter2pw" not in text and KEY not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__  # the requests text has the full URL


@pytest.mark.parametrize("status, kind", [(401, AuthError), (403, AuthError), (404, BackendError),
                                          (429, BackendError), (500, BackendError), (503, BackendError)])
def test_http_error_statuses_are_backend_errors(serve, status, kind):
    fake = serve(lambda n, body: (status, "{}", 0))
    with pytest.raises(kind) as info:
        client(fake).complete({"model": "tiny", "messages": []})
    assert info.value.message.startswith(f"HTTP {status} from the test endpoint")
    assert not isinstance(info.value, BackendUnavailable)
    if kind is AuthError:
        assert info.value.status == status and "API key" in info.value.hint


def test_the_servers_error_message_is_shown_short_and_without_the_key(serve):
    """OpenAI-style error bodies ({"error": {"message": ...}}) are shown; a server that echoes the key (or the
    URL's password) gets it redacted, and a long message is cut."""
    msg = f"model 'tiny' not found; you sent {KEY} and hunter2pw " + "x" * 500
    fake = serve(lambda n, body: (404, json.dumps({"error": {"message": msg}}).encode(), 0))
    url = fake.url.replace("http://", "http://me:hunter2pw@")
    with pytest.raises(BackendError) as info:
        client(url).complete({"model": "tiny", "messages": []})
    text = _all_text(info.value)
    assert "model 'tiny' not found" in info.value.message and "**********" in info.value.message
    assert KEY not in text and "hunter2pw" not in text and len(info.value.message) < 200
    assert fake.requests[0]["auth"] == f"Bearer {KEY}"  # it was sent, as the header only


@pytest.mark.parametrize("raw, why", [
    (b"<html><body>502 Bad Gateway</body></html>", "did not answer JSON"),
    (b"", "did not answer JSON"),
    (b'{"object": "error"}', "without choices"),
    (b'{"choices": []}', "without choices"),
    (b'[1, 2, 3]', "without choices"),
    (b'{"choices": [{"message": null}]}', "without choices"),
])
def test_a_body_that_is_not_a_chat_completion_is_an_input_error(serve, raw, why):
    fake = serve(lambda n, body: (200, raw, 0))
    with pytest.raises(InputError, match=why) as info:
        client(fake).complete({"model": "tiny", "messages": []})
    assert "not a chat-completions response" in info.value.message


def test_an_echoed_key_in_a_bad_body_is_redacted(serve):
    for prefix in ("oops ", "o" * 50):  # whole, and where the shown 60 characters would cut it
        fake = serve(lambda n, body, prefix=prefix: (200, f"{prefix}{KEY}".encode(), 0))
        with pytest.raises(InputError) as info:
            client(fake).complete({"model": "tiny", "messages": []})
        assert KEY[:8] not in _all_text(info.value) and "oo" in info.value.message


def test_an_answer_over_the_size_cap_is_refused(serve):
    fake = serve(lambda n, body: (200, "y" * 5000, 0))
    with pytest.raises(InputError, match="over 4,096 bytes"):
        client(fake, max_response_bytes=4096).complete({"model": "tiny", "messages": []})
    assert client(fake, max_response_bytes=6000).complete({"model": "tiny", "messages": []}) == "y" * 5000


@pytest.mark.parametrize("content, value", [
    ('{"a": 1}', {"a": 1}),
    ('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}),
    ('  ```\n[true]\n```  ', [True]),
    ("3.5", 3.5),
])
def test_extract_json(content, value):
    assert extract_json(content) == value


@pytest.mark.parametrize("content, why", [
    (None, "not text"), (42, "not text"), ("", "not JSON"), ("Sure! Here it is: {", "not JSON"),
    ("```json\n{'a': 1}\n```", "not JSON"),
])
def test_extract_json_refuses(content, why):
    with pytest.raises(InputError, match=why):
        extract_json(content)


@pytest.mark.parametrize("kwargs, why", [
    ({"url": "localhost:11434/v1"}, "http"), ({"url": "ftp://host/v1"}, "http"), ({"url": "http:///v1"}, "http"),
    ({"model": " "}, "model"), ({"timeout_s": 0}, "timeout"), ({"timeout_s": -1}, "timeout"),
])
def test_a_bad_endpoint_is_a_config_error(kwargs, why):
    args = {"url": "http://127.0.0.1:1/v1", "model": "m", "api_key": SecretStr(KEY), "timeout_s": 5.0, **kwargs}
    with pytest.raises(ConfigError, match=why) as info:
        ChatEndpoint(**args)
    assert KEY not in _all_text(info.value)


def test_the_key_and_password_are_never_shown():
    from promv5_lab.nl.llm import LLMEndpoint
    from promv5_lab.vision.endpoint import VisionEndpoint

    ep = ChatEndpoint("https://bob:pw-77@llm.example:8443/v1", "m", SecretStr(KEY))
    c = ChatClient(ep)
    eps = [cls("https://bob:pw-77@llm.example:8443/v1", "m", SecretStr(KEY)) for cls in (LLMEndpoint, VisionEndpoint)]
    for text in (repr(ep), str(ep), ep.display_url, ep.describe(), repr(c), c.url, *map(repr, eps)):
        assert KEY not in text and "pw-77" not in text
    assert repr(eps[1]) == "VisionEndpoint(url='https://llm.example:8443/v1', model='m', timeout_s=60.0)"
    assert ep.display_url == "https://llm.example:8443/v1" and ep.secret() == KEY
    assert c.redact(f"a {KEY} b pw-77") == "a ********** b **********"
    c.close()
