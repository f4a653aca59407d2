"""The held-out scorer's second reading, "same answer per entity": a result that differs from the reference only
by labels that identify nothing more counts; a sum over several series, a missing series or another value does
not. The strict reading is unchanged."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

GPU = [{"uuid": "GPU-1", "instance": "a:9835", "job": "gpu"}, {"uuid": "GPU-2", "instance": "a:9835", "job": "gpu"},
       {"uuid": "GPU-3", "instance": "b:9835", "job": "gpu"}]


def _frame(rows):
    from promv5_lab.frames import from_series

    return from_series([(lab, [1_700_000_000.0], [v]) for lab, v in rows])


def test_grouped_by_the_identifying_label_is_the_same_answer_but_not_strictly():
    from nl_eval import same
    from nl_heldout import same_entities

    raw = _frame(zip(GPU, [1.0, 2.0, 3.0]))
    grouped = _frame(zip([{"uuid": g["uuid"]} for g in GPU], [1.0, 2.0, 3.0]))
    assert not same(grouped, raw)[0]
    assert same_entities(grouped, raw) and same_entities(raw, grouped)


def test_a_sum_over_entities_a_missing_one_or_another_value_is_not():
    from nl_heldout import same_entities

    raw = _frame(zip(GPU, [1.0, 2.0, 3.0]))
    by_instance = _frame([({"instance": "a:9835"}, 3.0), ({"instance": "b:9835"}, 3.0)])
    assert not same_entities(by_instance, raw)  # two GPUs fold into one key: not one-to-one
    assert not same_entities(_frame(zip([{"uuid": g["uuid"]} for g in GPU[:2]], [1.0, 2.0])), raw)
    assert not same_entities(_frame(zip([{"uuid": g["uuid"]} for g in GPU], [1.0, 2.0, 4.0])), raw)
    assert not same_entities(_frame([({}, 6.0)]), raw)
    assert not same_entities(_frame(zip([{"gpu": g["uuid"]} for g in GPU], [1.0, 2.0, 3.0])), raw)
