"""Alert-tuning follow-ups: Prometheus alerting rules (YAML) drawn from the incident, back-tested on its data.

Two kinds: a multi-window error-budget burn alert for the most affected service (the SRE workbook's
fast-burn page: 5 min and 1 h windows both above 14.4x the budget rate), and a threshold alert on the top
evidence query, its threshold the geometric mean of the values before and during the incident, with when
it would have fired and how often it would have fired in the hour before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .gather import Signals
from .models import CauseView, Chart, FollowUp, Impact

__all__ = ["alert_rule_followups", "backtest"]

FOR_POINTS = 5  # consecutive samples above the threshold (5 min at the report's 60 s step)


def _yaml(rule: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump({"groups": [{"name": "promv5-lab-postmortem", "rules": [rule]}]}, sort_keys=False,
                          allow_unicode=False, width=1000)


def _rule_name(text: str) -> str:
    clean = "".join(ch if ch.isalnum() else " " for ch in text).title().replace(" ", "")
    return (clean or "Signal")[:60]


def backtest(chart: Chart, threshold: float, rising: bool) -> tuple[float | None, int]:
    """(first time in the shaded span it fires, how many times it fires before the span)."""
    if not chart.series or not chart.shade:
        return None, 0
    s = chart.series[0]
    lo, hi = chart.shade[0]
    fired_at, before, run = None, 0, 0
    for t, v in zip(s.t, s.v):
        hit = v is not None and (v > threshold if rising else v < threshold)
        run = run + 1 if hit else 0
        if run == FOR_POINTS:
            if t < lo:
                before += 1
            elif t <= hi + 1800 and fired_at is None:
                fired_at = t
    return fired_at, before


def _means(chart: Chart) -> tuple[float, float]:
    s = chart.series[0]
    lo, hi = chart.shade[0]
    pre = [v for t, v in zip(s.t, s.v) if v is not None and t < lo]
    dur = [v for t, v in zip(s.t, s.v) if v is not None and lo + 300 <= t <= hi]
    mean = (lambda xs: sum(xs) / len(xs) if xs else math.nan)
    return mean(pre), mean(dur)


def alert_rule_followups(signals: Signals, impact: Impact, root: CauseView | None, charts: Sequence[Chart], *,
                         fired: bool, slo: float) -> list[FollowUp]:
    from datetime import datetime, timezone

    from .gather import promql_string

    out: list[FollowUp] = []
    svc = impact.worst_service
    if signals.requests and signals.status_label and svc and impact.failed_requests and (impact.burn_rate or 0) >= 1:
        budget = 1.0 - slo

        def ratio(w: str) -> str:
            sel = f"{signals.service_label}={promql_string(svc)}"
            return (f"sum(rate({signals.requests}{{{sel},{signals.status_label}=~\"5..\"}}[{w}])) / "
                    f"sum(rate({signals.requests}{{{sel}}}[{w}]))")

        burn = impact.burn_rate or 0.0
        # the SRE workbook's multi-window burn-rate alerts: page on a fast burn, ticket a slow one
        if burn >= 14.4:
            factor, long_w, short_w, sev, what = 14.4, "1h", "5m", "page", "2% of a 30-day budget within an hour"
        else:
            factor, long_w, short_w, sev, what = 6.0, "6h", "30m", "ticket", "5% of a 30-day budget within 6 hours"
        expr = (f"({ratio(short_w)}) > ({factor:g} * {budget:g}) and "
                f"({ratio(long_w)}) > ({factor:g} * {budget:g})")
        rule = {"alert": f"ErrorBudget{'Fast' if sev == 'page' else 'Slow'}Burn{_rule_name(svc)}", "expr": expr,
                "for": "2m" if sev == "page" else "15m",
                "labels": {"severity": sev, signals.service_label: svc},
                "annotations": {"summary": f"{svc} is burning its {slo:.2%} error budget {factor:g}x too fast"}}
        why = ("No alert fired during this incident." if not fired else "An alert fired during this incident; "
               "compare its timing with this burn-rate rule.")
        out.append(FollowUp("alert_rule", f"{'Page' if sev == 'page' else 'Ticket'} on error-budget burn at {svc}",
                            f"{why} The window's burn rate was {burn:.3g}x; this rule fires when {what} is spent.",
                            _yaml(rule)))
    if root is not None:
        by_id = {c.id: c for c in charts}
        for ev in root.evidence:
            chart = by_id.get(ev.chart_id or "")
            if chart is None or not chart.series or not ev.promql:
                continue
            before, during = _means(chart)
            if not (math.isfinite(before) and math.isfinite(during)) or during == before:
                continue
            rising = during > before
            if before > 0 and during > 0:
                thr = math.sqrt(before * during)
            else:
                thr = (before + during) / 2
            fired_at, noise = backtest(chart, thr, rising)
            when = (f"would have fired at {datetime.fromtimestamp(fired_at, timezone.utc):%H:%M} UTC"
                    if fired_at else "would not have fired within the incident")
            rule = {"alert": _rule_name(ev.summary or "Evidence"),
                    "expr": f"({ev.promql}) {'>' if rising else '<'} {thr:.6g}", "for": "5m",
                    "labels": {"severity": "ticket"},
                    "annotations": {"summary": ev.summary[:200]}}
            out.append(FollowUp("alert_rule", f"Alert on: {ev.summary}",
                                f"Mean {before:.4g} in the hour before, {during:.4g} during; threshold {thr:.4g} "
                                f"(geometric mean). Back-test on this data: {when}; fired {noise} time(s) in the "
                                "hour before.", _yaml(rule)))
            break
    return out
