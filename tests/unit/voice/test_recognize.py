"""Spoken commands made with espeak-ng in the test, recognised offline and mapped to the right intent."""

import pytest

from promv5_lab.config import load_settings
from promv5_lab.errors import ConfigError, InputError
from promv5_lab.voice import intent, transcribe
from promv5_lab.voice.grammar import build_grammar, sample_sentences

CASES = [
    ("why is payments slow", "investigate", "payments"),
    ("tell me when the error rate of checkout goes above five percent", "alert", "checkout"),
    ("restart the frontend", "remediate", "frontend"),
    ("write an incident report for checkout", "report", "checkout"),
    ("show me the error rate by service", "query", None),
]


@pytest.mark.parametrize("text, kind, target", CASES)
def test_spoken_command_to_intent(say, catalogue, text, kind, target):
    heard = transcribe(say(text), catalogue=catalogue)
    assert heard.mode == "grammar" and 0 < heard.confidence <= 1
    assert heard.duration_s > 1.0 and heard.decode_ms > 0
    vi = intent(heard.text, catalogue)
    assert vi.kind == kind, heard.text
    assert vi.slots.get("target") == target, heard.text


def test_grammar_words_come_from_the_catalogue(catalogue):
    g = build_grammar(catalogue)
    assert {"frontend", "payments", "postgres", "fulfilment"} <= g.vocabulary
    assert g.new_words["frontend"] and g.new_words["postgres"]  # taught: not in the CMU dictionary
    assert g.values["order fulfilment"] == (("queue", "order-fulfilment"),)
    assert g.metrics["db connections in use"] == "db_connections_in_use"
    generic = build_grammar(None)
    assert "payments" not in generic.vocabulary and generic.key != g.key
    for s in sample_sentences(g, 200):
        assert set(s.split()) <= g.vocabulary


def test_free_form_mode_and_whisper_without_model(say, catalogue):
    wav = say("restart the frontend")
    free = transcribe(wav, catalogue=catalogue, mode="free")
    assert free.mode == "free" and free.text
    with pytest.raises(ConfigError, match="voice_whisper_model"):
        transcribe(wav, mode="whisper", settings=load_settings(voice_whisper_model=None))
    with pytest.raises(InputError, match="Unknown recognition mode"):
        transcribe(wav, mode="loud")  # type: ignore[arg-type]


def test_doubtful_grammar_pass_is_decoded_again_with_wide_beams(say, catalogue):
    wav = say("why is payments slow")
    sure = transcribe(wav, catalogue=catalogue, mode="grammar")
    assert sure.retry_ms == 0 and sure.confidence >= 0.25  # a clear command: one pass
    # every first pass counts as doubtful here: the wide-beam pass runs, is timed, and hears the same command
    again = transcribe(wav, catalogue=catalogue, mode="grammar", min_confidence=1.01)
    assert again.retry_ms > 0 and again.decode_ms >= again.retry_ms and again.fallback_ms == 0
    assert again.text == sure.text == "why is payments slow"
    assert again.to_json()["retry_ms"] == round(again.retry_ms, 1)
