"""Conversations without a server: which backend a request names, and one question at a time."""

from __future__ import annotations

import contextlib
import threading

import pytest

from promv5_lab.errors import InputError
from promv5_lab.server.sessions import Busy, Conversation, backend_key


@pytest.mark.parametrize("backend, data, expected", [
    (None, None, ("http://default:9090", None)),
    ("", "  ", ("http://default:9090", None)),
    ("demo", None, (None, None)),
    ("http://prom:9090/", None, ("http://prom:9090", None)),
    ("https://mimir.example/prometheus", None, ("https://mimir.example/prometheus", None)),
])
def test_backend_key(backend, data, expected):
    assert backend_key(backend, data, "http://default:9090", None) == expected


def test_backend_key_data_dir(tmp_path):
    assert backend_key(None, str(tmp_path), None, None) == (None, str(tmp_path.resolve()))


@pytest.mark.parametrize("backend, data, words", [
    ("file:///etc/passwd", None, "as a backend"),
    ("prom:9090", None, "as a backend"),
    (42, None, "must be a string"),
    (None, ["x"], "directory path"),
    ("http://a:1", "/tmp", "not both"),
    (None, "/no/such/promv5/dir", "No such data directory"),
])
def test_backend_key_rejects(backend, data, words):
    with pytest.raises(InputError, match=words):
        backend_key(backend, data, None, None)


class _Inv:
    """Stands in for an Investigation: records the clock it was given and blocks until released."""

    def __init__(self) -> None:
        self.history: list = []
        self.now_set: list = []
        self.release = threading.Event()
        self.started = threading.Event()

    def set_now(self, at):
        self.now_set.append(at)

    def ask(self, question):
        self.started.set()
        self.release.wait(5)

        class _A:
            def to_json(self_inner):
                return {"question": question}
        return _A()


def test_a_busy_conversation_refuses_a_second_question():
    inv = _Inv()
    conv = Conversation((None, None), object(), inv, contextlib.ExitStack())
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("a", conv.ask("first")))
    t.start()
    assert inv.started.wait(5)
    with pytest.raises(Busy, match="still answering"):
        conv.ask("second")
    inv.release.set()
    t.join(5)
    assert out["a"] == {"question": "first"}
    assert conv.ask("third", "2026-11-27T10:00:00Z") == {"question": "third"}
    assert inv.now_set == [None, "2026-11-27T10:00:00Z"]  # "at" pins this question only


def test_status_codes_of_errors():
    from promv5_lab.errors import BackendUnavailable, ConfigError, MissingDependencyError, QueryError
    from promv5_lab.server.handlers import TooLarge, _NotFound, _status_for

    cases = [(InputError("x"), 400), (ConfigError("x"), 400), (TooLarge("x"), 413), (_NotFound("x"), 404),
             (Busy("x"), 409), (BackendUnavailable("x"), 502), (QueryError("x", promql="up"), 502),
             (MissingDependencyError("cv2", "vision"), 503)]
    assert [(type(e).__name__, _status_for(e)) for e, _ in cases] == [(type(e).__name__, c) for e, c in cases]
