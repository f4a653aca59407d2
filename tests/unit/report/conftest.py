"""A postmortem built by hand (no backend), full of hostile text, for the renderer tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from promv5_lab.report.models import (
    ActionRecord,
    CauseView,
    Chart,
    ChartSeries,
    EvidenceView,
    FollowUp,
    Impact,
    ModelRecord,
    Postmortem,
    QueryRecord,
    ServiceImpact,
    TimelineEntry,
)
from promv5_lab.types import TimeRange

HOSTILE = '<script>alert(1)</script> {{7*7}} ](javascript:alert(1)) | `x` **b** # h\nnext'
T0 = datetime(2026, 11, 26, 20, 0, tzinfo=timezone.utc)


def _series(name: str, n: int = 120, lift: float = 0.0) -> ChartSeries:
    t = tuple((T0 + timedelta(minutes=i)).timestamp() for i in range(n))
    v = tuple((0.01 + (lift if 40 <= i < 80 else 0.0) + 0.001 * (i % 7)) for i in range(n))
    return ChartSeries(name, t, v)


@pytest.fixture
def postmortem() -> Postmortem:
    win = TimeRange(T0 + timedelta(minutes=40), T0 + timedelta(minutes=80), 60)
    shade = ((win.start.timestamp(), win.end.timestamp()),)
    charts = (
        Chart("overview-errors", "Error ratio by service", (_series('{service="checkout"}', lift=0.8),
                                                          _series(f'{{service="{HOSTILE}"}}', lift=0.1)),
              promql='sum by (service) (rate(http_requests_total{code=~"5.."}[5m]))', shade=shade),
        Chart("evidence-1", f"pool saturates {HOSTILE}", (_series("value", lift=0.9),),
              promql='max(db_connections_in_use{service="checkout"})', shade=shade, threshold=0.5),
    )
    impact = Impact(win.start, win.end, win.seconds, "given", 1234.0, 5000.0, 0.2468, 0.999, 0.12, 246.8,
                    "checkout", (ServiceImpact("checkout", 1234.0, 5000.0, 0.2468, 246.8, 0.12),
                                 ServiceImpact(HOSTILE, 5.0, 100.0, 0.05, 50.0, 0.01)), ("rows overlap",))
    root = CauseView("checkout", "resource_exhaustion", 0.83, f"pool exhausted {HOSTILE}", (
        EvidenceView("query", f"pool saturates {HOSTILE}", 'max(db_connections_in_use{service="checkout"})',
                     win.start, win.end, (("log", HOSTILE),), 0.7, "evidence-1"),
        EvidenceView("log_template", f"template surge: {HOSTILE}", None, None, None, (("count", "42"),)),
    ))
    return Postmortem(
        title=f"Postmortem {HOSTILE}", generated_at=T0, backend="embedded:/data", at=win.start, window=win,
        summary=f"checkout failed. {HOSTILE}", impact=impact,
        timeline=(TimelineEntry(win.start, "anomaly onset", HOSTILE, f"errors {HOSTILE}", "detector"),),
        root_cause=root, contributing=(CauseView("frontend", "unknown", 0.1, HOSTILE),), symptoms=(HOSTILE,),
        actions=(ActionRecord(win.start, "restart", HOSTILE, "restart-pool", False, "approved by alice at 20:41:00 UTC",
                              "held", "resolved", True),),
        resolution="back to its baseline", follow_ups=(FollowUp("alert_rule", "Alert on it", HOSTILE,
                                                                f"groups:\n- expr: '{HOSTILE}'"),),
        charts=charts,
        queries=(QueryRecord(f'up{{job="{HOSTILE}"}}', "range", "embedded:/data", range=win, series=3),),
        models=(ModelRecord("detector", "onsets", (("floor", "0.7"), ("note", HOSTILE))),),
    )
