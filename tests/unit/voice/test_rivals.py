"""Near ties between named values: the n-best readings that differ only in the service, the question asked back
instead of an answer about the wrong service, and the pronunciations the grammar adds."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from promv5_lab.voice import intents, responder
from promv5_lab.voice.grammar import _alternatives, build_grammar
from promv5_lab.voice.lexicon import pronounce, pronunciations, stem_pronunciations
from promv5_lab.voice.recognize import Transcript, _alt_names, _with_alternatives
from promv5_lab.voice.rivals import TIE_GAP, value_rivals

_BASE = 1.0001  # pocketsphinx's log base: LogMath.log(p) = ln p / ln 1.0001


class _LogMath:
    def log(self, p: float) -> int:
        return round(math.log(p) / math.log(_BASE))


class _Decoder:
    """Stands in for pocketsphinx.Decoder after a decode: its n-best list (text, score in log units)."""

    def __init__(self, nbest: list[tuple[str, int]]) -> None:
        self._nbest = nbest

    def get_logmath(self) -> _LogMath:
        return _LogMath()

    def nbest(self):
        for text, score in self._nbest:
            yield SimpleNamespace(hypstr=text, score=_BASE ** score)


@pytest.fixture(scope="module")
def grammar(catalogue):
    return build_grammar(catalogue)


def test_a_close_reading_with_another_service_is_a_rival(grammar):
    dec = _Decoder([("why is cart failing", -4000), ("why is cart failing", -4000),
                    ("why is frontend(2) failing", -4000 - TIE_GAP // 2), ("why is the frontend failing", -4050)])
    assert value_rivals(dec, "why is cart failing", grammar) == ("why is frontend failing",)


@pytest.mark.parametrize("nbest", [
    [("why is cart failing", -4000), ("why is frontend failing", -4000 - TIE_GAP - 50)],  # too far behind
    [("why is cart failing", -4000), ("why is frontend slow", -4001)],  # other words too: not a value tie
    [("why is cart failing", -4000), ("why is frontend", -4001)],  # a shorter path (the n-best holds partial ones)
    [("why is cart failing", -4000), ("why is the cart failing", -4001)],  # the same service
])
def test_not_rivals(grammar, nbest):
    assert value_rivals(_Decoder(nbest), "why is cart failing", grammar) == ()


def test_no_value_heard_no_rivals(grammar):
    dec = _Decoder([("what is the cpu usage by node", -4000), ("what is the cpu usage by node", -4000)])
    assert value_rivals(dec, "what is the cpu usage by node", grammar) == ()


def test_rivals_naming_another_target_make_a_question(catalogue):
    vi = intents.intent("why is cart failing", catalogue, ("why is frontend failing",))
    assert vi.kind == "investigate"
    assert vi.slots["target"] == "cart" and vi.slots["ambiguous"] == ["cart", "frontend"]
    assert vi.slots["clarify"] == "Did you mean cart or frontend?"
    same = intents.intent("why is cart failing", catalogue, ("why is the cart failing",))
    assert "clarify" not in same.slots and "ambiguous" not in same.slots


class _NoAsk:
    backend = None

    def ask(self, question):  # pragma: no cover - reaching it is the failure
        raise AssertionError(f"asked the planner about one of two services: {question!r}")


def test_respond_asks_back_instead_of_answering(catalogue, monkeypatch):
    heard = Transcript("restart the cart", "grammar", 0.95, 1.5, 80.0, rivals=("restart the checkout",))
    monkeypatch.setattr(responder, "transcribe", lambda *a, **k: heard)
    monkeypatch.setattr(responder, "catalogue_of", lambda inv: catalogue)
    out = responder.respond(b"RIFF-not-read", _NoAsk())
    assert out["intent"] == "remediate" and out["proposal"] is None  # nothing proposed about either
    assert out["spoken"] == "Did you mean cart or checkout?"
    assert out["answer"]["clarification"] == {"message": "Did you mean cart or checkout?",
                                              "candidates": ["cart", "checkout"], "reason": "ambiguous"}
    assert out["answer"]["promql"] is None and out["answer"]["series"] == []
    assert out["recognition"]["rivals"] == ["restart the checkout"]


def test_voice_alert_sets_no_rule_for_an_ambiguous_service(catalogue, monkeypatch):
    from promv5_lab.voice.alerts import VoiceAlert

    heard = Transcript("tell me when the error rate of cart goes above five percent", "grammar", 0.97, 3.0, 90.0,
                       rivals=("tell me when the error rate of checkout goes above five percent",))
    monkeypatch.setattr(responder, "transcribe", lambda *a, **k: heard)
    monkeypatch.setattr(responder, "catalogue_of", lambda inv: catalogue)
    alert = VoiceAlert(_NoAsk())
    out = alert.respondTo(b"RIFF-not-read")
    assert out["intent"] == "alert" and out["slots"]["ambiguous"] == ["cart", "checkout"]
    assert alert.rules == [] and "rule" not in out


def test_a_derived_word_is_said_as_its_stem_is():
    # "restart" has one dictionary pronunciation: "restarts" gets no other (espeak-ng's R IH... would make the
    # concept a better match than the command itself)
    assert stem_pronunciations("restarts") == ("R IY S T AA R T S",)
    assert _alternatives({"restarts": pronounce("restarts")}, []) == {}
    # a stem with two pronunciations: the derived word gets both, the dictionary's first one first
    assert pronunciations("routing") == ("R AW T IH NG", "R UW T IH NG")
    assert stem_pronunciations("routings") == ("R AW T IH NG Z", "R UW T IH NG Z")
    assert _alternatives({"routings": pronounce("routings")}, []) == {"routings": ("R UW T IH NG Z",)}
    assert stem_pronunciations("frontend") is None and stem_pronunciations("cart") is None


def test_names_the_dictionary_says_otherwise_get_espeaks_too():
    alts = _alternatives({}, ["catalog", "cart", "products"])
    assert alts == {"catalog": ("K AE T AH L AA G",)}  # the dictionary has only ...L AO G; cart, products agree
    # added pronunciations are numbered after the dictionary's own (products has two already)
    assert _alt_names("catalog", 1) == ["catalog(2)"] and _alt_names("products", 1) == ["products(3)"]
    assert _alt_names("redis", 2) == ["redis(2)", "redis(3)"]  # a taught word: its own is the first


def test_a_catalogue_value_gets_its_alternative_arcs():
    from promv5_lab.nl.catalogue import Catalogue

    cat = Catalogue.build(["http_requests_total"], {}, {"http_requests_total": ("service",)},
                          {"service": ("catalog", "cart")}, source="test")
    g = build_grammar(cat)
    assert g.alt_prons.get("catalog") == ("K AE T AH L AA G",) and "cart" not in g.alt_prons
    arcs = _with_alternatives(g.graph, g.alt_prons)
    base = [t[:3] for t in g.graph.transitions if len(t) == 4 and t[3] == "catalog"]
    assert base and [t[:3] for t in arcs if len(t) == 4 and t[3] == "catalog(2)"] == base


def test_the_question_says_values_as_they_are_said():
    assert intents.clarify_question(["/products", "cart"]) == "Did you mean products or cart?"
    assert intents.clarify_question(["cart", "frontend", "node-1"]) == "Did you mean cart, frontend or node one?"


@pytest.mark.parametrize("said, voice, wpm", [
    ("investigate frontend memory", "en-us+m3", 180),  # heard as "products" by the grammar's best path
    ("alert me if cart latency goes over five hundred milliseconds", "en-us+f3", 160),
])
def test_a_misheard_service_is_asked_about_not_answered(say, said, voice, wpm):
    """Real espeak-ng speech and pocketsphinx: whichever service the best path names, the said one is either
    the answer or offered in the question back (before rivals these were confident wrong answers)."""
    from promv5_lab.nl.catalogue import Catalogue
    from promv5_lab.voice.recognize import transcribe

    labels = {"service": ("cart", "catalog", "checkout", "frontend", "payments", "postgres", "redis"),
              "route": ("/cart", "/cart/items", "/checkout", "/products", "/charge")}
    by_name = {"http_requests_total": ("code", "route", "service"),
               "http_request_duration_seconds_bucket": ("le", "route", "service")}
    cat = Catalogue.build(sorted(by_name), {}, by_name, labels, source="test")
    heard = transcribe(say(said, voice, wpm), catalogue=cat, mode="grammar")
    target = intents.intent(said, cat).slots["target"]
    vi = intents.intent(heard.text, cat, heard.rivals)
    assert vi.kind == intents.intent(said, cat).kind
    if vi.slots["target"] != target:
        assert target in vi.slots["ambiguous"], (heard.text, heard.rivals)
