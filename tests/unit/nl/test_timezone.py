"""Times of day are read on the user's wall clock (an IANA zone) and returned in UTC; answers name the zone."""

from datetime import datetime, timedelta, timezone

import pytest

from promv5_lab.errors import InputError
from promv5_lab.nl.timeexpr import parse_time

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)  # 13:00 in Paris (UTC+1), 07:00 in New York (UTC-5)
H = timedelta(hours=1)


@pytest.mark.parametrize("text,tz,start,end", [
    ("errors since 09:30", "Europe/Paris", NOW.replace(hour=8, minute=30), NOW),
    ("errors since 09:30", "America/New_York", NOW.replace(hour=14, minute=30) - 24 * H, NOW),  # 09:30 NY not yet
    ("between 2 and 3 am", "Europe/Paris", NOW.replace(hour=1), NOW.replace(hour=2)),
    ("between 2 and 3 am", "Asia/Tokyo", NOW.replace(hour=17) - 24 * H, NOW.replace(hour=18) - 24 * H),
    ("traffic yesterday", "Europe/Paris", NOW.replace(hour=23) - 48 * H, NOW.replace(hour=23) - 24 * H),
    ("traffic yesterday", None, NOW.replace(hour=0) - 24 * H, NOW.replace(hour=0)),
    ("errors in the last 10 minutes", "Asia/Tokyo", NOW - timedelta(minutes=10), NOW),  # relative: zone-free
])
def test_times_of_day_follow_the_zone(text, tz, start, end):
    spec = parse_time(text, NOW, tz)
    assert spec.kind == "range"
    assert (spec.start, spec.end) == (start, end)
    assert spec.start.utcoffset() == timedelta(0) and spec.window_s == (end - start).total_seconds()


def test_at_a_clock_time_and_dst():
    assert parse_time("errors at 3pm", NOW, "Europe/Paris").at == NOW.replace(hour=14) - 24 * H
    # 29 March 2026: Paris moves to summer time, so "yesterday" asked on the 30th lasted 23 hours
    spec = parse_time("traffic yesterday", datetime(2026, 3, 30, 12, tzinfo=timezone.utc), "Europe/Paris")
    assert spec.start == datetime(2026, 3, 28, 23, tzinfo=timezone.utc)
    assert spec.end == datetime(2026, 3, 29, 22, tzinfo=timezone.utc) and spec.window_s == 23 * 3600


def test_unknown_zone_is_an_input_error():
    with pytest.raises(InputError) as info:
        parse_time("since 14:00", NOW, "Mars/Olympus")
    assert "Mars/Olympus" in info.value.message and "Europe/Paris" in info.value.hint


def test_planner_and_answer_use_the_zone(exporters_backend, exporters_planner):
    from promv5_lab.investigation import Investigation

    inv = Investigation(exporters_backend, now=NOW, planner=exporters_planner, tz="Europe/Paris")
    inv.set_timezone("Europe/Paris")
    ans = inv.ask("requests per second since 12:30")
    assert ans.plan.range.start == NOW - timedelta(minutes=30)  # 12:30 Paris = 11:30 UTC
    assert "Europe/Paris" in ans.answer and "12:30 Europe/Paris" in ans.answer
    assert ans.to_json()["timezone"] == "Europe/Paris" and ans.to_json()["start"] == "2026-11-20T11:30:00+00:00"
    inv.set_timezone("UTC")
    assert inv.ask("requests per second since 11:30").plan.range.start == NOW - timedelta(minutes=30)
    with pytest.raises(InputError):
        Investigation(exporters_backend, tz="Not/AZone")
