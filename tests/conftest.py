"""Shared fixtures. Tool caches go to temp dirs; nothing here skips when a server binary is missing."""

from __future__ import annotations

import os
import tempfile

import pytest

_CACHE = tempfile.mkdtemp(prefix="promv5-test-cache-")
os.environ.setdefault("MPLCONFIGDIR", os.path.join(_CACHE, "mpl"))
os.environ.setdefault("JUPYTER_CONFIG_DIR", os.path.join(_CACHE, "jupyter"))
os.environ.setdefault("YARN_CACHE_FOLDER", os.path.join(_CACHE, "yarn"))
# A user's own config file must not change what the tests see.
os.environ["PROMV5_CONFIG"] = os.path.join(_CACHE, "no-such-config.toml")


@pytest.fixture(autouse=True)
def _no_promv5_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PROMV5_") and key != "PROMV5_CONFIG":
            monkeypatch.delenv(key, raising=False)
