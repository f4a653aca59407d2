"""Fixtures for backend unit tests: a scripted loopback HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _backend_stub import StubServer


@pytest.fixture
def stub() -> Iterator[StubServer]:
    server = StubServer()
    server.thread.start()
    try:
        yield server
    finally:
        server.httpd.shutdown()
        server.httpd.server_close()
