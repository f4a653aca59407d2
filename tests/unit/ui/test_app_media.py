"""The app's voice and screenshot uploads, called as the page's callbacks call them (no browser needed)."""

from __future__ import annotations

import shutil
import subprocess

import pytest


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    from promv5_lab.demo.simulate import simulate
    from promv5_lab.ui.app.state import AppContext, SessionState

    hist = simulate(tmp_path_factory.mktemp("m") / "demo", days=1, step_s=60, seed=7)
    ctx = AppContext(data_dir=str(hist.out_dir), now=hist.end)
    s = SessionState(ctx)
    yield s
    s.close()
    ctx.close()


def test_spoken_question_is_answered_through_the_conversation(session, tmp_path):
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is missing: apt-get install espeak-ng (CI's .ci/run installs it)")
    from promv5_lab.ui.app.panes import voice_result

    wav = tmp_path / "q.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), "p95 latency of checkout"], check=True)
    res = voice_result(session, wav.read_bytes())
    assert res["intent"] == "query"
    assert "checkout" in res["transcript"] and "histogram_quantile" in res["answer"]["promql"]
    assert session.investigation.history[-1].answer.promql == res["answer"]["promql"]


def test_screenshot_upload_finds_panels(session):
    import numpy as np

    from promv5_lab.ui.app.panes import screenshot_result
    from promv5_lab.vision.synth import render_matplotlib

    shot = render_matplotlib(np.random.default_rng(3), rows=1, cols=2)
    png = shot.png
    rep = screenshot_result(session, png)
    assert len(rep.to_json()["panels"]) == 2
    assert rep.annotated_png()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("fn", ["voice_result", "screenshot_result"])
def test_empty_or_bad_uploads_are_clear_errors(session, fn):
    from promv5_lab.errors import InputError
    from promv5_lab.ui.app import panes

    with pytest.raises(InputError):
        getattr(panes, fn)(session, b"")
    with pytest.raises(InputError):
        getattr(panes, fn)(session, b"this is not media at all" * 10)
