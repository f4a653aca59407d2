"""voice_mode=whisper: a clear error naming the setting when the checkpoint is missing or wrong, never a
download; and the transformers pipeline path end to end on a TINY random-weights Whisper checkpoint built
here from a config (byte-level tokenizer of 256 byte symbols + Whisper's special tokens, no merges; default
feature extractor). Its transcript is garbage by construction: these tests assert the plumbing, not the text.
Nothing is fetched: the checkpoint is written to a temporary directory and deleted with it.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from promv5_lab.config import load_settings
from promv5_lab.errors import ConfigError
from promv5_lab.voice import transcribe
from promv5_lab.voice.tts import speak

_SPECIALS = ["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|translate|>", "<|nocaptions|>",
             "<|notimestamps|>"]


def build_tiny_whisper(out: Path) -> Path:
    """A randomly initialised Whisper (1 layer, d_model 16) with its processor, saved like a real checkpoint."""
    import torch
    from transformers import (
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
        WhisperProcessor,
        WhisperTokenizer,
    )
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    vocab = {sym: i for i, sym in enumerate(bytes_to_unicode().values())}
    eot = "<|endoftext|>"
    tok = WhisperTokenizer(vocab, [], unk_token=eot, bos_token=eot, eos_token=eot, pad_token=eot)
    tok.add_special_tokens({"additional_special_tokens": _SPECIALS})
    ids = {s: tok.convert_tokens_to_ids(s) for s in [eot, *_SPECIALS]}
    cfg = WhisperConfig(vocab_size=len(tok), num_mel_bins=80, encoder_layers=1, decoder_layers=1,
                        encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32,
                        d_model=16, max_source_positions=1500, max_target_positions=32, pad_token_id=ids[eot],
                        bos_token_id=ids[eot], eos_token_id=ids[eot],
                        decoder_start_token_id=ids["<|startoftranscript|>"])
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(cfg)
    gen = model.generation_config
    gen.max_length, gen.num_beams = 8, 1
    gen.no_timestamps_token_id = ids["<|notimestamps|>"]
    gen.lang_to_id = {"<|en|>": ids["<|en|>"]}
    gen.task_to_id = {"transcribe": ids["<|transcribe|>"], "translate": ids["<|translate|>"]}
    gen.is_multilingual = False
    model.save_pretrained(out)
    WhisperProcessor(feature_extractor=WhisperFeatureExtractor(feature_size=80), tokenizer=tok).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory) -> Path:
    return build_tiny_whisper(tmp_path_factory.mktemp("tiny-whisper"))


@pytest.fixture(scope="module")
def command_wav() -> bytes:
    return speak("restart the frontend", voice="en-us", wpm=150)


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a network connection fails the test (a download would need one)."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setenv("PROMV5_CONFIG", "/nonexistent/promv5.toml")


def test_pipeline_runs_end_to_end(tiny_whisper, command_wav, no_network):
    heard = transcribe(command_wav, mode="whisper", whisper_model=tiny_whisper)
    assert heard.mode == "whisper" and heard.decode_ms > 0 and heard.fallback_ms == 0
    assert isinstance(heard.text, str) and heard.text == heard.text.strip().lower()
    assert not any(ord(c) < 32 for c in heard.text)
    # the same through the settings (what voice_mode=whisper in the environment or config file gives)
    via_settings = transcribe(command_wav, settings=load_settings(voice_mode="whisper",
                                                                  voice_whisper_model=tiny_whisper))
    assert via_settings.mode == "whisper" and via_settings.text == heard.text  # greedy decoding: deterministic


def test_missing_model_names_the_setting(command_wav, no_network, monkeypatch, tmp_path):
    monkeypatch.setenv("PROMV5_VOICE_MODE", "whisper")
    with pytest.raises(ConfigError, match="voice_whisper_model") as err:
        transcribe(command_wav)  # mode and checkpoint from the environment: no checkpoint set
    assert "nothing is ever downloaded" in err.value.hint
    for where, words in [("openai/whisper-tiny", "no such directory"), (str(tmp_path), "no config.json")]:
        with pytest.raises(ConfigError, match=words) as err:  # a hub name is not fetched: it is not a directory
            transcribe(command_wav, whisper_model=where)
        assert "voice_whisper_model" in str(err.value)
    other = tmp_path / "bert"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"model_type": "bert"}))
    with pytest.raises(ConfigError, match="a bert model .* not a Whisper one"):
        transcribe(command_wav, whisper_model=other)


def test_broken_checkpoint_is_a_clear_error(tiny_whisper, command_wav, no_network, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_whisper, broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)  # truncated weights
    with pytest.raises(ConfigError, match="could not be loaded"):
        transcribe(command_wav, mode="whisper", whisper_model=broken)
