import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from promv5_lab.demo.incidents import CATALOGUE, INCIDENT_TYPES, load_incidents, schedule
from promv5_lab.errors import InputError

END = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("days", [3, 7, 14])
def test_schedule_has_every_type_spread_and_quiet_tail(seed, days):
    start = END - timedelta(days=days)
    placed = schedule(np.random.default_rng(seed), start, END)
    kinds = [k for k, *_ in placed]
    assert set(kinds) == set(INCIDENT_TYPES)
    assert len(INCIDENT_TYPES) <= len(placed) <= max(len(INCIDENT_TYPES), 2 * days + 1)  # one per 12-24 h
    prev_end = start
    for kind, culprit, s, e in placed:
        assert culprit in CATALOGUE[kind].targets
        assert prev_end < s < e <= END - timedelta(hours=2)
        lo, hi = CATALOGUE[kind].duration_s
        assert (e - s).total_seconds() <= hi + 60
        prev_end = e


@pytest.mark.parametrize("days,at_least", [(1, 3), (2, 5), (0.5, 1)])
def test_short_histories_get_as_many_types_as_fit(days, at_least):
    placed = schedule(np.random.default_rng(1), END - timedelta(days=days), END)
    kinds = [k for k, *_ in placed]
    assert len(set(kinds)) == len(kinds) >= at_least


def test_quiet_tail_can_be_turned_off():
    placed = schedule(np.random.default_rng(3), END - timedelta(days=3), END, quiet_tail_s=0)
    assert placed[-1][3] > END - timedelta(hours=12)


def test_incidents_json_round_trip(history):
    path = history.dir / "incidents.json"
    raw = json.loads(path.read_text())
    loaded = load_incidents(path)
    assert [i.id for i in loaded] == [d["id"] for d in raw]
    for d in raw:
        assert set(d) >= {"id", "type", "service", "root_cause_service", "start", "end", "remediation", "symptoms"}
        assert d["start"].endswith("Z") and d["end"].endswith("Z")
        assert d["remediation"] == CATALOGUE[d["type"]].remediation
        assert d["symptoms"] and all(s["direction"] in ("up", "down") for s in d["symptoms"])
    assert load_incidents(history.dir) == loaded
    assert loaded == history.summary.incidents


def test_load_incidents_errors(tmp_path):
    with pytest.raises(InputError, match="No incidents file"):
        load_incidents(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_incidents(bad)
    bad.write_text('[{"id": "x"}]')
    with pytest.raises(InputError, match="malformed"):
        load_incidents(bad)
