"""``promv5-lab lab``'s command line (the command itself is started for real by ``test_lab_ui.py``)."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest

from promv5_lab.server.cli import lab_argv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_lab_argv_is_loopback_only(tmp_path):
    argv = lab_argv(port=9999, no_browser=True, root_dir=tmp_path, as_root=True, data=str(tmp_path))
    assert "--allow-root" in argv and "--no-browser" in argv and "--ServerApp.ip=127.0.0.1" in argv
    assert f"--ServerApp.root_dir={tmp_path}" in argv and f"--Promv5LabApp.data_dir={tmp_path.resolve()}" in argv
    assert "--allow-root" not in lab_argv(port=9999, no_browser=True, root_dir=tmp_path, as_root=False)
    assert "--Promv5LabApp.use_embeddings=False" in lab_argv(port=1, no_browser=True, root_dir=tmp_path, lexical=True)
    from promv5_lab.errors import InputError

    with pytest.raises(InputError, match="loopback"):
        lab_argv(port=9999, no_browser=True, root_dir=tmp_path, host="0.0.0.0")
