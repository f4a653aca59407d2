"""The /promv5/* endpoints through a real Jupyter server (pytest-jupyter's jp_fetch) and a real HTTP client."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from tornado.httpclient import HTTPClientError


async def _post(jp_fetch, path, body, **kw):
    return await jp_fetch("promv5", path, method="POST", body=body, request_timeout=180, **kw)


async def _error(jp_fetch, path, body, method="POST"):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("promv5", path, method=method, body=body, request_timeout=180)
    payload = json.loads(info.value.response.body)
    return info.value.code, payload


async def test_status_lists_capabilities(jp_fetch):
    r = await jp_fetch("promv5", "status")
    data = json.loads(r.body)
    caps = {row["capability"]: row["state"] for row in data["capabilities"]}
    assert {"ask", "voice", "screenshots"} <= set(caps)
    assert caps["ask"] == "ok" and data["conversations"] == []


async def test_ask_on_a_small_history_keeps_the_context(jp_fetch, small_history):
    r = await _post(jp_fetch, "ask", json.dumps({"question": "p95 latency of checkout over the last hour",
                                                 "data": str(small_history)}))
    first = json.loads(r.body)
    assert first["error"] is None and first["kind"] == "range"
    assert 'service="checkout"' in first["promql"] and "histogram_quantile(0.95" in first["promql"]
    assert first["series"] and len(first["series"][0]["values"]) > 30  # an hour at the plan's step
    assert all(v is None or v > 0 for _, v in first["series"][0]["values"])
    r = await _post(jp_fetch, "ask", json.dumps({"question": "and for payments?", "data": str(small_history)}))
    follow = json.loads(r.body)
    assert 'service="payments"' in follow["promql"] and "histogram_quantile(0.95" in follow["promql"]
    status = json.loads((await jp_fetch("promv5", "status")).body)
    assert [c["turns"] for c in status["conversations"]] == [2]
    r = await _post(jp_fetch, "reset", json.dumps({"data": str(small_history)}))
    assert json.loads(r.body) == {"reset": True}


@pytest.mark.parametrize("body, words", [
    pytest.param(b"{not json", "not valid JSON", id="bad-json"),
    pytest.param(b"[1, 2]", "JSON object", id="not-object"),
    pytest.param(json.dumps({"question": "   "}), "non-empty", id="blank"),
    pytest.param(json.dumps({"question": 42}), "non-empty", id="number"),
    pytest.param(json.dumps({"question": "x" * 2001}), "2,001 characters", id="too-long"),
    pytest.param(json.dumps({"question": "p95 latency", "backend": "ftp://example"}), "as a backend", id="ftp"),
    pytest.param(json.dumps({"question": "p95 latency", "data": "/no/such/dir"}), "No such data", id="no-dir"),
    pytest.param(json.dumps({"question": "p95 latency", "at": "yesterday-ish"}), "Cannot read time", id="at"),
])
async def test_bad_input_is_400_with_a_hint(jp_fetch, body, words):
    code, payload = await _error(jp_fetch, "ask", body)
    assert code == 400 and words in payload["error"] and payload["type"] in ("InputError", "ConfigError")


async def test_unreachable_backend_is_502(jp_fetch):
    code, payload = await _error(jp_fetch, "ask", json.dumps({"question": "p95 latency",
                                                                "backend": "http://127.0.0.1:9"}))
    assert code == 502 and payload["type"].startswith("Backend")


async def test_huge_body_is_413(jp_fetch):
    code, payload = await _error(jp_fetch, "ask", json.dumps({"question": "x" * 70_000}))
    assert code == 413 and "limit" in payload["error"]


async def test_unknown_endpoint_is_404_json(jp_fetch):
    code, payload = await _error(jp_fetch, "nope", None, method="GET")
    assert code == 404 and "/promv5/status" in payload["hint"]


async def test_no_token_is_403(jp_serverapp, http_server_client, jp_base_url):
    for method, path, body in (("GET", "status", None), ("POST", "ask", b'{"question": "p95 latency"}'),
                               ("POST", "transcribe", b"RIFF"), ("POST", "screenshot", b"\x89PNG")):
        r = await http_server_client.fetch(f"{jp_base_url}promv5/{path}", method=method, body=body,
                                           raise_error=False, follow_redirects=False)
        assert r.code == 403, (path, r.code)


@pytest.fixture
def spoken(tmp_path):
    """A WAV of "p95 latency of checkout" spoken by Debian's espeak-ng (fails when it is missing)."""
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required (apt-get install espeak-ng)"
    wav = tmp_path / "q.wav"
    subprocess.run([exe, "-w", str(wav), "p95 latency of checkout"], check=True, capture_output=True)
    return wav


async def test_transcribe_an_espeak_utterance(jp_fetch, small_history, spoken):
    wav = spoken
    r = await jp_fetch("promv5", "transcribe", method="POST", body=wav.read_bytes(),
                       params={"data": str(small_history)}, headers={"Content-Type": "audio/wav"},
                       request_timeout=180)
    heard = json.loads(r.body)
    assert "latency" in heard["text"] and "checkout" in heard["text"] and heard["duration_s"] > 1
    code, _ = await _error(jp_fetch, "transcribe", b"not audio at all")
    assert code == 400


async def test_screenshot_of_a_matplotlib_chart(jp_fetch, tmp_path):
    import numpy as np

    from promv5_lab.vision.synth import render_matplotlib

    dash = render_matplotlib(np.random.default_rng(3), rows=1, cols=2, style="default", size=(700, 300),
                             n_points=100, kinds=[["normal"], ["spike"]], noise=0.3, legend=False)
    png = dash.png
    boundary = "promv5-test-boundary"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"dash.png\"\r\n"
            "Content-Type: image/png\r\n\r\n").encode() + png + f"\r\n--{boundary}--\r\n".encode()
    r = await jp_fetch("promv5", "screenshot", method="POST", body=form, request_timeout=180,
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    report = json.loads(r.body)
    assert len(report["panels"]) == 2
    assert [p["anomalous"] for p in sorted(report["panels"], key=lambda p: p["bbox"][0])] == [False, True]
    code, _ = await _error(jp_fetch, "screenshot", b"GIF89a not a png")
    assert code == 400
