"""Random word salads never crash the planner: a plan whose PromQL parses, a clarification, or an InputError."""

import random

import promql_parser

from promv5_lab.errors import Promv5Error
from promv5_lab.nl.render import render
from promv5_lab.types import Clarification, QueryPlan

from .test_planner import CASES, METRIC_CHOICE

WORDS = [*" ".join(q for q, *_ in CASES + METRIC_CHOICE).split(), "???", "%", "{", "}", '"', "'", "\\", "between",
         "and", "since", "99:99", "25pm", "top", "0", "-5", "1e309", "by", "per", "p0", "p100", "p1000", "above",
         "NaN%", "\x00", "é", "日本", "last", "0", "minutes", "compared", "to", "yesterday", "at", "13:61"]


def test_word_salad(exporters_planner):
    rnd = random.Random(7)
    for _ in range(400):
        q = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 9)))
        try:
            out = exporters_planner.plan(q)
        except Promv5Error as exc:
            assert exc.message
            continue
        assert isinstance(out, (QueryPlan, Clarification))
        if isinstance(out, QueryPlan):
            promql_parser.parse(render(out))
            assert 0 <= out.confidence <= 1
