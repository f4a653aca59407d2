"""``promv5-lab lab``: a real JupyterLab started by the command, on loopback, with the /promv5/ API enabled."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
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
    from promv5_lab.errors import InputError

    with pytest.raises(InputError, match="loopback"):
        lab_argv(port=9999, no_browser=True, root_dir=tmp_path, host="0.0.0.0")


def test_lab_command_serves_the_extension(tmp_path):
    port, token = _free_port(), "promv5-test-token-" + os.urandom(8).hex()
    (tmp_path / "nb").mkdir()
    env = {**os.environ, "JUPYTER_TOKEN": token, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "promv5_lab.cli", "lab", "--no-browser", "--port", str(port),
                             "--notebooks", str(tmp_path / "nb")], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, proc.stdout.read().decode(errors="replace")[-3000:]
            try:
                if _get(f"{base}/api/status", token)[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "JupyterLab did not answer /api/status within 120 s"
            time.sleep(0.5)
        code, body = _get(f"{base}/promv5/status", token)
        assert code == 200, body
        caps = {row["capability"] for row in json.loads(body)["capabilities"]}
        assert "ask" in caps
        assert _get(f"{base}/promv5/status")[0] == 403  # no token
        code, body = _get(f"{base}/api/contents", token)
        assert code == 200 and json.loads(body)["path"] == ""  # root_dir is the notebooks directory
        with socket.socket() as s:  # loopback only: not on the machine's other addresses
            host = socket.gethostbyname(socket.gethostname())
            if host != "127.0.0.1" and not host.startswith("127."):
                assert s.connect_ex((host, port)) != 0
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
