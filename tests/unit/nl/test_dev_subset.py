"""CI guard: 30 dev cases (every 6th) + every 4th held-out case, scored by executed results on the embedded engine."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_dev_subset_accuracy_and_latency():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import nl_eval

    rep = nl_eval.run(select=lambda i, c: i % 6 == 0 if c.get("split") == "dev" else i % 4 == 0)
    assert len(rep.results) == 40
    failed = [(r.question, r.got, r.want, r.detail) for r in rep.results if not r.ok]
    assert rep.accuracy >= 0.9, failed
    assert rep.latency(95) < 250, "planning p95 regressed far beyond the 100 ms target"
