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
# The bundled demo history and embedding caches go to a temp dir, never the user's ~/.cache.
os.environ["PROMV5_CACHE_DIR"] = os.path.join(_CACHE, "promv5")
_KEEP = ("PROMV5_CONFIG", "PROMV5_CACHE_DIR")


@pytest.fixture(autouse=True)
def _no_promv5_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(os.environ):
        if key.startswith("PROMV5_") and key not in _KEEP:
            monkeypatch.delenv(key, raising=False)
