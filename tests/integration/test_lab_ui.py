"""``promv5-lab lab`` for real, and the Ask sidebar in it driven by Debian's Chromium through Playwright.

Needs the built frontend (``cd extensions/promv5-lab-jupyterlab && jlpm install && jlpm build``, which
writes ``promv5_lab/labextension/``; CI builds it first). The test links that build into a temporary
``JUPYTER_DATA_DIR`` and points the sidebar at a small simulated history through the user settings.
It fails (never skips) when Chromium or the build is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
BUILD = Path(__file__).resolve().parents[2] / "promv5_lab" / "labextension"
NAME = "promv5-lab-jupyterlab"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except (OSError, urllib.error.URLError):
        return False


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A real ``jupyter lab`` (token auth) with the built extension and a 1-day history: yields (url, token, root)."""
    if not (BUILD / "package.json").is_file():
        pytest.fail(f"The frontend is not built ({BUILD}): cd extensions/{NAME} && jlpm install && jlpm build")
    from promv5_lab.demo.simulate import simulate

    tmp = tmp_path_factory.mktemp("lab-ui")
    history = tmp / "history"
    simulate(history, days=1, step_s=60, seed=7)
    data_dir, settings_dir, root = tmp / "data", tmp / "settings" / NAME, tmp / "root"
    (data_dir / "labextensions").mkdir(parents=True)
    (data_dir / "labextensions" / NAME).symlink_to(BUILD, target_is_directory=True)
    settings_dir.mkdir(parents=True)
    (settings_dir / "plugin.jupyterlab-settings").write_text(json.dumps({"dataDir": str(history)}))
    root.mkdir()
    (root / "ask.ipynb").write_text(json.dumps({"cells": [], "metadata": {"kernelspec": {
        "name": "python3", "display_name": "Python 3", "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}))
    port, token = _free_port(), os.urandom(12).hex()
    env = {**os.environ, "JUPYTER_TOKEN": token, "JUPYTER_DATA_DIR": str(data_dir),
           "JUPYTER_RUNTIME_DIR": str(tmp / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(tmp / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp / "ws")}
    # started the way a user does: 'promv5-lab lab' (it execs JupyterLab, so the pid is the server's)
    argv = [sys.executable, "-m", "promv5_lab.cli", "lab", "--no-browser", "--port", str(port), "--notebooks", str(root),
            "--lexical"]
    with open(tmp / "lab.log", "wb") as log:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _ok(f"{url}/api/status?token={token}"):
            assert proc.poll() is None, (tmp / "lab.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "JupyterLab did not start within 120 s"
            time.sleep(0.5)
        yield url, token, root
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _get(url: str, token: str | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_lab_command_serves_the_api_with_the_token_only(lab):
    url, token, _ = lab
    code, body = _get(f"{url}/promv5/status", token)
    assert code == 200, body
    assert "ask" in {row["capability"] for row in json.loads(body)["capabilities"]}
    assert _get(f"{url}/promv5/status")[0] == 403
    code, body = _get(f"{url}/api/contents", token)
    assert code == 200 and [c["name"] for c in json.loads(body)["content"]] == ["ask.ipynb"]  # root_dir
    host = socket.gethostbyname(socket.gethostname())
    if not host.startswith("127."):  # loopback only: not reachable on the machine's other address
        with socket.socket() as s:
            assert s.connect_ex((host, int(url.rsplit(":", 1)[1]))) != 0


def test_extension_is_listed_enabled(lab, tmp_path):
    url, token, _ = lab
    with urllib.request.urlopen(f"{url}/lab/api/extensions?token={token}", timeout=10) as r:
        exts = {e["name"]: e for e in json.loads(r.read())}
    assert NAME in exts and exts[NAME]["enabled"] and exts[NAME]["installed"]


def test_sidebar_asks_and_inserts_an_ask_cell(lab, tmp_path):
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is missing: apt-get install chromium (CI's .ci/run installs it)")
    from playwright.sync_api import sync_playwright

    url, token, _ = lab
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=CHROMIUM,
                                                   headless=True, args=ARGS, viewport={"width": 1400, "height": 900})
        try:
            page = ctx.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/lab/tree/ask.ipynb?token={token}", timeout=120_000)
            page.locator(".jp-Notebook").first.wait_for(timeout=120_000)
            page.locator("[data-id='promv5-ask']").first.click(timeout=60_000)  # the sidebar's tab
            box = page.locator("#promv5-ask textarea")
            box.wait_for(state="visible", timeout=30_000)
            box.fill("p95 latency of checkout over the last hour")
            box.press("Enter")
            promql = page.locator("#promv5-ask .p5-promql").first
            promql.wait_for(timeout=120_000)
            assert "histogram_quantile(0.95" in promql.inner_text() and "checkout" in promql.inner_text()
            answer = page.locator("#promv5-ask .p5-answer").first.inner_text()
            assert "checkout" in answer and (" ms " in answer or " s " in answer), answer
            assert page.locator("#promv5-ask svg.p5-chart path[data-series]").count() >= 1
            # the kernel's idle before inserting: the button loads the magics and runs the cell
            page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle'], "
                         ".jp-KernelStatus-success").first.wait_for(timeout=120_000)
            page.get_by_role("button", name="Insert %%ask cell").first.click()
            cell = page.locator(".jp-Notebook .jp-CodeCell").last
            out = cell.locator(".jp-OutputArea-output").first
            out.wait_for(timeout=180_000)
            src = cell.locator(".jp-InputArea-editor").inner_text()
            assert src.startswith("%%ask --data") and "p95 latency of checkout" in src, src
            page.wait_for_function(
                "() => [...document.querySelectorAll('.jp-CodeCell .jp-OutputArea-output')]"
                ".some(e => e.innerText.includes('histogram_quantile'))", timeout=180_000)
            assert not [e for e in errors if "promv5" in e.lower()], errors
        finally:
            ctx.close()
