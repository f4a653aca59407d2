"""Durations, times and ranges: parametrised tables of what users type."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from promv5_lab.errors import InputError
from promv5_lab.types import TimeRange, as_utc, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h30m", 5400),
        ("250ms", 0.25),
        ("7d", 604800),
        ("2w", 1209600),
        ("1.5h", 5400),
        ("90", 90),
        (45, 45),
        (timedelta(minutes=2), 120),
        (" 10M ", 600),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "abc", "5x", "-5m", "0s", "m5", float("nan"), float("inf"), 0])
def test_parse_duration_rejects_with_hint(bad):
    with pytest.raises(InputError) as info:
        parse_duration(bad)
    assert "duration" in str(info.value).lower() or "Duration" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27T14:00:00Z", datetime(2026, 11, 27, 14, tzinfo=timezone.utc)),
        ("2026-11-27T15:00:00+01:00", datetime(2026, 11, 27, 14, tzinfo=timezone.utc)),
        (1764252000, datetime(2025, 11, 27, 14, tzinfo=timezone.utc)),
        ("1764252000", datetime(2025, 11, 27, 14, tzinfo=timezone.utc)),
        (datetime(2026, 1, 1, 0, 0), datetime(2026, 1, 1, tzinfo=timezone.utc)),
    ],
)
def test_as_utc(value, expected):
    got = as_utc(value)
    assert got == expected
    assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_as_utc_rejects_garbage():
    with pytest.raises(InputError, match="Cannot read time"):
        as_utc("yesterday-ish")


def test_time_range_validates_and_counts_points():
    end = datetime(2026, 1, 1, 1, tzinfo=timezone.utc)
    tr = TimeRange(end - timedelta(hours=1), end, 30)
    assert tr.points() == 121
    assert tr.seconds == 3600
    with pytest.raises(InputError, match="before it starts"):
        TimeRange(end, end - timedelta(hours=1), 30)
    with pytest.raises(InputError, match="Step"):
        TimeRange(end - timedelta(hours=1), end, 0)


def test_time_range_last_defaults_to_about_240_points():
    end = datetime(2026, 1, 1, tzinfo=timezone.utc)
    tr = TimeRange.last("1h", end=end)
    assert tr.end == end and tr.start == end - timedelta(hours=1)
    assert 200 <= tr.points() <= 260
    assert TimeRange.last("6h", step="1m", end=end).step_s == 60
