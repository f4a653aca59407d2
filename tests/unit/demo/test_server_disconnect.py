"""The demo server on a real loopback socket, with clients that hang up: before the request is complete,
and in the middle of a large answer (a reset while the server is still writing). Nothing reaches stderr,
the hang-up is logged at debug level, and the server keeps answering."""

from __future__ import annotations

import logging
import socket
import struct
import time

import pytest
import requests

from promv5_lab.demo.live import LiveWorld
from promv5_lab.demo.server import DemoServer

BIG = 32 * 1024 * 1024  # far more than the kernel buffers between the two ends hold


class _BigWorld(LiveWorld):
    """The demo world with a /metrics answer too big to sit in socket buffers (so the server is mid-write)."""

    def metrics_text(self, which: str = "services") -> str:
        return "# big\n" * (BIG // 6)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a client that times out and drops the connection."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _wait_for(caplog, text: str, timeout: float = 10.0) -> list[logging.LogRecord]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = [r for r in caplog.records if text in r.getMessage()]
        if got:
            return got
        time.sleep(0.05)
    return []


@pytest.fixture
def big_server():
    with DemoServer(port=0, world=_BigWorld(3)) as srv:
        yield srv


def test_reset_mid_answer_is_quiet(big_server, caplog, capfd):
    caplog.set_level(logging.DEBUG, logger="promv5_lab.demo.server")
    sock = socket.create_connection((big_server.host, big_server.port), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, "the server closed before answering"
        head += chunk
    assert head.startswith(b"HTTP/1.0 200") and f"Content-Length: {BIG // 6 * 6}".encode() in head
    time.sleep(0.3)  # the server fills the buffers and blocks in the middle of the body
    _reset(sock)
    gone = _wait_for(caplog, "went away")
    assert gone, [r.getMessage() for r in caplog.records]
    assert all(r.levelno == logging.DEBUG for r in gone)
    assert any(n in gone[0].getMessage() for n in ("BrokenPipeError", "ConnectionResetError"))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err, err
    # still serving
    r = requests.get(big_server.url + "/admin/state", timeout=10)
    assert r.status_code == 200 and "services" in r.json()


def test_reset_before_the_request_ends_is_quiet(caplog, capfd):
    caplog.set_level(logging.DEBUG, logger="promv5_lab.demo.server")
    with DemoServer(port=0, seed=3) as srv:
        sock = socket.create_connection((srv.host, srv.port), timeout=10)
        sock.sendall(b"GET /metr")  # half a request line, then a reset
        time.sleep(0.2)
        _reset(sock)
        assert _wait_for(caplog, "went away"), [r.getMessage() for r in caplog.records]
        r = requests.get(srv.url + "/metrics", timeout=10)
        assert r.status_code == 200 and "http_requests_total" in r.text
    err = capfd.readouterr().err
    assert "Traceback" not in err and "ConnectionReset" not in err, err


def test_a_bug_is_still_logged_as_an_error(caplog):
    """Only hang-ups are quiet: an unexpected exception in a handler is a 500 plus an ERROR record."""

    class _Broken(LiveWorld):
        def state(self):  # type: ignore[override]
            raise ZeroDivisionError("boom")

    caplog.set_level(logging.DEBUG, logger="promv5_lab.demo.server")
    with DemoServer(port=0, world=_Broken(3)) as srv:
        r = requests.get(srv.url + "/admin/state", timeout=10)
    assert r.status_code == 500 and r.json()["error"] == "internal error: ZeroDivisionError"
    assert any(rec.levelno == logging.ERROR and "demo server error" in rec.getMessage() for rec in caplog.records)
