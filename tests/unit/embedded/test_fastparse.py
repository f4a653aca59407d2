"""The vectorised parser must agree exactly with the careful one, including on awkward lines."""

from __future__ import annotations

import numpy as np
import pytest

from promv5_lab.backends.embedded.fastparse import parse_file_fast
from promv5_lab.backends.embedded.openmetrics import parse_text
from promv5_lab.backends.embedded.synthetic import write_history

AWKWARD = """# TYPE a counter
# HELP a With \\\\ backslash
a_total{path="/x y z",q="}"} 1 10
a_total{path="/x y z",q="}"} 2 20
a_total 5 10
a_total{path="e"} 3 10 # {trace_id="t"} 1 9
b{x="1"} -Inf 10\r
b{x="1"} NaN 20
b{x="2"} 1e-3 10.5
c 7 12
# EOF
"""


def _same(a, b):
    key = lambda p: sorted(zip([tuple(sorted(p.series[i].items())) for i in p.ids], p.ts_ms.tolist(),
                               [repr(v) for v in p.values.tolist()]))
    assert key(a) == key(b)
    assert a.metadata == b.metadata


@pytest.mark.parametrize("text", [AWKWARD, AWKWARD.replace("\n", "\r\n"), 'x{a="1"} 1 1000\nx{a="1"} 2 2000\n'])
def test_fast_parser_agrees_with_careful_parser(tmp_path, text):
    p = tmp_path / "m.om"
    p.write_bytes(text.encode())
    _same(parse_file_fast(p), parse_text(text.replace("\r\n", "\n").replace("\r", "")))


def test_fast_parser_on_a_generated_history(tmp_path):
    p = write_history(tmp_path / "metrics.om", hours=1)
    fast, careful = parse_file_fast(p), parse_text(p.read_text())
    assert fast.series == careful.series
    np.testing.assert_array_equal(fast.ids, careful.ids)
    np.testing.assert_array_equal(fast.ts_ms, careful.ts_ms)
    np.testing.assert_array_equal(fast.values, careful.values)
