"""Commands that the demo catalogue's grammar used to mishear, said by espeak-ng in the test and recognised
by pocketsphinx: the kind of command must survive (a restart heard as a query is a wrong answer)."""

from __future__ import annotations

import pytest

from promv5_lab.nl.catalogue import Catalogue
from promv5_lab.voice import intent, transcribe
from promv5_lab.voice.grammar import COMMAND_WORDS, _alternatives, build_grammar
from promv5_lab.voice.lexicon import pronounce, pronunciations

# the demo shop's catalogue as the grammar sees it (metric names and the values of spoken labels)
_METRICS = ["cache_hits_total", "cache_misses_total", "db_connections_in_use", "db_connections_max", "db_queries_total",
            "db_query_duration_seconds", "http_request_duration_seconds", "http_requests_total",
            "kube_pod_container_status_restarts_total", "node_cpu_seconds_total", "node_filesystem_avail_bytes",
            "node_filesystem_size_bytes", "node_memory_MemAvailable_bytes", "node_memory_MemTotal_bytes",
            "node_network_receive_bytes_total", "node_network_transmit_bytes_total", "process_cpu_seconds_total",
            "process_resident_memory_bytes", "process_start_time_seconds", "queue_depth", "shop_build_info", "up"]
_SERVICES = ("cart", "catalog", "checkout", "frontend", "payments", "postgres", "redis")
_LABELS = {"job": (*_SERVICES, "node"), "queue": ("order-fulfilment",), "service": _SERVICES,
           "route": ("/", "/cart", "/cart/items", "/charge", "/checkout", "/product/{id}", "/products",
                     "/products/{id}")}


@pytest.fixture(scope="module")
def shop() -> Catalogue:
    return Catalogue.build(_METRICS, {}, {}, _LABELS, source="demo-shape")


@pytest.mark.parametrize("said, voice, wpm", [
    # heard as "total queue depth" and "plot minimum queries" with 3 Gaussians per codebook (topn=3): the
    # said command scored better when decoded alone; the default 4 finds it
    ("restart the checkout", "en-us-nyc", 180),
    ("restart the frontend", "en-us+f3", 160),
])
def test_restart_commands_stay_remediations(say, shop, said, voice, wpm):
    heard = transcribe(say(said, voice, wpm), catalogue=shop, mode="grammar")
    vi = intent(heard.text, shop, heard.rivals)
    assert vi.kind == "remediate", heard.text
    assert heard.text == said


def test_command_verbs_get_the_reduced_first_syllable():
    # the dictionary has R IY S T AA R T only; espeak-ng's (and many speakers') R IH... is added, and the derived
    # concept word "restarts" gets the same two, so neither is favoured over the other
    assert pronunciations("restart") == ("R IY S T AA R T",)
    alts = _alternatives({"restarts": pronounce("restarts")}, [], ["restart"])
    assert alts == {"restart": ("R IH S T AA R T",), "restarts": ("R IH S T AA R T S",)}
    # a verb the dictionary already says as espeak-ng does gets nothing
    assert _alternatives({}, [], ["drain", "scale"]) == {}
    g = build_grammar(Catalogue.build(_METRICS, {}, {}, _LABELS, source="demo-shape"))
    assert "restart" in COMMAND_WORDS and g.alt_prons["restart"] == ("R IH S T AA R T",)
    assert g.alt_prons["restarts"] == ("R IH S T AA R T S",)
