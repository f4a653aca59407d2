"""Shared helpers for the voice tests: a small catalogue and espeak-ng utterances made in the test."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from promv5_lab.nl.catalogue import Catalogue


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    labels = {"service": ("cart", "checkout", "frontend", "payments", "postgres"),
              "route": ("/cart", "/cart/items", "/checkout"), "queue": ("order-fulfilment",)}
    names = ["http_requests_total", "http_request_duration_seconds_bucket", "queue_depth", "db_connections_in_use"]
    by_name = {"http_requests_total": ("code", "route", "service"),
               "http_request_duration_seconds_bucket": ("le", "route", "service"),
               "queue_depth": ("queue", "service"), "db_connections_in_use": ("service",)}
    return Catalogue.build(names, {}, by_name, labels, source="test")


@pytest.fixture(scope="session")
def say(tmp_path_factory):
    """say(text, voice='en-us', wpm=150) -> path of a WAV spoken by Debian's espeak-ng (fails if it is missing)."""
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required (apt-get install espeak-ng)"
    d = tmp_path_factory.mktemp("speech")
    n = [0]

    def _say(text: str, voice: str = "en-us", wpm: int = 150):
        n[0] += 1
        out = d / f"u{n[0]}.wav"
        subprocess.run([exe, "-v", voice, "-s", str(wpm), "-w", str(out), text], check=True, capture_output=True)
        return out

    return _say
