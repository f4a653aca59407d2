"""Voice end to end on the demo history (embedded engine): ``voice --json``, ``%voice``, ``VoiceAlert``.

Speech is synthesised in the test with Debian's espeak-ng; recognition is pocketsphinx, offline.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from promv5_lab.errors import InputError

KINDS = {"query", "alert", "investigate", "report", "remediate"}


@pytest.fixture(scope="module")
def say(tmp_path_factory):
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required (apt-get install espeak-ng)"
    d = tmp_path_factory.mktemp("voice")

    def _say(text: str, name: str) -> Path:
        out = d / f"{name}.wav"
        subprocess.run([exe, "-v", "en-us", "-s", "150", "-w", str(out), text], check=True, capture_output=True)
        return out

    return _say


@pytest.fixture(scope="module")
def investigation(demo_history):
    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.investigation import Investigation

    # pinned to the history's end: later in a long session, "now" would be past the data (stale series)
    return Investigation(EmbeddedBackend.open(Path(demo_history.out_dir)), now=demo_history.end,
                         use_embeddings=False)


def _app() -> typer.Typer:
    from promv5_lab.voice.cli import register

    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps 'voice' a subcommand, as in the real CLI
        pass

    return app


def test_voice_cli_json(demo_history, say, monkeypatch, tmp_path):
    wav = say("why is payments slow", "slow")
    monkeypatch.setenv("PROMV5_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("PROMV5_VOICE_MODE", "free")  # a setting the --mode flag overrides
    monkeypatch.setenv("PROMV5_VOICE_TTS_WPM", "300")
    spoken = tmp_path / "answer.wav"
    res = CliRunner().invoke(_app(), ["voice", str(wav), "--data", str(demo_history.out_dir), "--json", "--lexical",
                                      "--mode", "grammar", "--say", str(spoken), "--tts-voice", "en-gb"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["transcript"] == "why is payments slow"
    assert out["intent"] == "investigate" and out["intent"] in KINDS
    assert out["question"] == "p95 latency of payments over the last hour"
    ans = out["answer"]  # what 'ask --json' gives
    assert {"promql", "answer", "kind", "start", "end", "step", "confidence", "series"} <= set(ans)
    assert 'service="payments"' in ans["promql"] and ans["kind"] == "range" and ans["series"]
    assert out["recognition"]["mode"] == "grammar" and out["proposal"] is None
    assert out["recognition"]["fallback_ms"] == 0 and out["recognition"]["rtf"] > 0
    assert spoken.read_bytes()[:4] == b"RIFF"


def test_voice_cli_bad_audio(demo_history, tmp_path):
    bad = tmp_path / "note.wav"
    bad.write_bytes(b"this is not audio")
    res = CliRunner().invoke(_app(), ["voice", str(bad), "--data", str(demo_history.out_dir), "--json"])
    assert res.exit_code != 0 and isinstance(res.exception, InputError)
    assert "not audio" in str(res.exception)


def test_remediation_by_voice_is_only_proposed(investigation, say):
    from promv5_lab.voice import respond

    out = respond(say("roll back the checkout deployment", "rollback"), investigation)
    assert out["intent"] == "remediate" and out["slots"]["target"] == "checkout"
    assert out["slots"]["action"] == "roll back"
    assert out["proposal"]["approved"] is False and out["proposal"]["executed"] is False
    assert 'service="checkout"' in out["answer"]["promql"]
    assert "Not approved" in out["spoken"]


def test_voice_alert(investigation, say):
    from promv5_lab.voice.alerts import VoiceAlert

    played: list[bytes] = []
    va = VoiceAlert(investigation, player=played.append).enable()
    always = va.setThreshold("request rate of checkout above 0")
    never = va.set_threshold("request rate of checkout < 0")
    assert (always.op, always.value, never.op) == (">", 0.0, "<")
    events = va.check()
    assert [e.rule for e in events] == [always] and events[0].value > 0
    assert events[0].audio[:4] == b"RIFF" and played == [events[0].audio]
    out = va.respondTo(say("tell me when the error rate of checkout goes above five percent", "alert"))
    assert out["intent"] == "alert" and out["question"] == "error ratio of checkout"
    assert va.rules[-1].unit == "%" and va.rules[-1].value == 5.0
    assert out["audio"][:4] == b"RIFF"
    with pytest.raises(InputError, match="Cannot read a threshold"):
        va.setThreshold("checkout")


def test_voice_magic(demo_history, say):
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from promv5_lab.ui.voice_magic import register_magics

    wav = say("write an incident report for checkout", "report")
    shell = InteractiveShell.instance()
    try:
        register_magics(shell)
        with capture_output() as cap:
            shell.run_line_magic("voice", f"{wav} --data {demo_history.out_dir} --lexical -o heard")
            shell.run_line_magic("voice", "--record 2")  # no PyAudio here: a message, not a traceback
            shell.run_line_magic("voice", "--bogus")
        heard = shell.user_ns["heard"]
    finally:
        InteractiveShell.clear_instance()
    assert heard["intent"] == "report" and heard["proposal"]["approved"] is False
    shown = " ".join(str(o.data.get("text/markdown", "")) for o in cap.outputs)
    assert "**Heard:** write an incident report for checkout" in shown
    assert "pyaudio" in shown.lower() and "cannot read" in shown.lower()
    assert "Traceback" not in cap.stdout + cap.stderr


def test_voice_cli_settings_and_flags(demo_history, say, monkeypatch, tmp_path):
    """PROMV5_VOICE_* settings apply to 'promv5-lab voice' (flags override them: test_voice_cli_json)."""
    wav = say("restart the frontend", "settings")
    monkeypatch.setenv("PROMV5_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("PROMV5_VOICE_MODE", "whisper")  # and no checkpoint: refused before the backend opens
    res = CliRunner().invoke(_app(), ["voice", str(wav), "--data", str(demo_history.out_dir), "--json", "--lexical"])
    assert res.exit_code != 0 and "voice_whisper_model" in str(res.exception)
    res = CliRunner().invoke(_app(), ["voice", str(wav), "--data", str(demo_history.out_dir), "--mode", "whisper",
                                      "--whisper-model", str(tmp_path / "missing")])
    assert res.exit_code != 0 and "no such directory" in str(res.exception)
    monkeypatch.setenv("PROMV5_VOICE_MODE", "loud")
    res = CliRunner().invoke(_app(), ["voice", str(wav), "--data", str(demo_history.out_dir)])
    assert res.exit_code != 0 and "voice_mode" in str(res.exception)


def test_voice_magic_record_with_a_fake_microphone(demo_history, say, monkeypatch):
    """%voice --record N: no sound card here, so PyAudio is a fake playing an espeak-ng recording (see
    tests/unit/voice/test_microphone.py); SpeechRecognition, the checks and the decoder are real."""
    import importlib.util
    import sys

    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    from promv5_lab.ui.voice_magic import register_magics

    spec = importlib.util.spec_from_file_location(  # the unit tests' fake PyAudio, loaded by path
        "_voice_fake_microphone", Path(__file__).parents[1] / "unit" / "voice" / "test_microphone.py")
    fakes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fakes)
    monkeypatch.setitem(sys.modules, "pyaudio", fakes.fake_pyaudio(fakes._pcm16k(say("why is payments slow", "mic"))))
    shell = InteractiveShell.instance()
    try:
        register_magics(shell)
        with capture_output() as cap:
            shell.run_line_magic("voice", f"--record 4 --data {demo_history.out_dir} --lexical --mode grammar -o heard")
        heard = shell.user_ns.get("heard")
    finally:
        InteractiveShell.clear_instance()
    shown = " ".join(str(o.data.get("text/markdown", "")) for o in cap.outputs)
    assert heard is not None, shown
    assert heard["transcript"] == "why is payments slow" and heard["intent"] == "investigate"
    assert heard["recognition"]["mode"] == "grammar" and 3.9 < heard["recognition"]["duration_s"] < 4.2
