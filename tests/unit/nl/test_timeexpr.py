from datetime import datetime, timedelta, timezone

import pytest

from promv5_lab.nl.timeexpr import parse_time

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


@pytest.mark.parametrize("text,kind,start,end,compare", [
    ("errors in the last 10 minutes", "range", NOW - timedelta(minutes=10), NOW, None),
    ("cpu over the past 2 hours", "range", NOW - 2 * H, NOW, None),
    ("traffic yesterday", "range", NOW.replace(hour=0) - 24 * H, NOW.replace(hour=0), None),
    ("latency since 09:30", "range", NOW.replace(hour=9, minute=30), NOW, None),
    ("errors since 14:00", "range", NOW.replace(hour=14) - 24 * H, NOW, None),
    ("between 2 and 3 am", "range", NOW.replace(hour=2), NOW.replace(hour=3), None),
    ("from 1pm to 2:30pm", "range", NOW.replace(hour=13) - 24 * H, NOW.replace(hour=14, minute=30) - 24 * H, None),
    ("p99 compared to last week", "instant", None, None, 604800.0),
    ("traffic vs yesterday", "instant", None, None, 86400.0),
    ("memory right now", "instant", None, None, None),
])
def test_parse_time(text, kind, start, end, compare):
    spec = parse_time(text, NOW)
    assert spec.kind == kind
    if start is not None:
        assert (spec.start, spec.end) == (start, end)
    assert spec.compare_offset_s == compare


def test_ago_and_at():
    assert parse_time("memory an hour ago", NOW).at == NOW - H
    assert parse_time("requests at 3pm", NOW).at == NOW.replace(hour=15) - 24 * H
    assert parse_time("memory 5 minutes ago", NOW).rest == "memory"
