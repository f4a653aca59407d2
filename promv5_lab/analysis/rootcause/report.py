"""A :class:`~promv5_lab.types.Diagnosis` as JSON-ready data and as plain text.

Log lines and label values inside evidence are data: they are emitted as JSON strings (``json.dumps``
escapes them) or, in text, quoted with ``repr`` so control characters and template syntax stay inert.
"""

from __future__ import annotations

from typing import Any

from ...types import Diagnosis, Evidence, RootCause

__all__ = ["diagnosis_to_json", "diagnosis_to_text"]


def _iso(t) -> str | None:
    return t.isoformat().replace("+00:00", "Z") if t is not None else None


def evidence_to_json(e: Evidence) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": e.kind, "summary": e.summary, "weight": e.weight}
    if e.promql:
        out.update(promql=e.promql, start=_iso(e.start), end=_iso(e.end))
    if e.detail:
        detail: dict[str, Any] = {}
        for k, v in e.detail:
            if k == "trace_id":
                detail.setdefault("trace_ids", []).append(v)
            else:
                detail[k] = v
        out["detail"] = detail
    return out


def cause_to_json(c: RootCause) -> dict[str, Any]:
    return {"service": c.service, "kind": c.kind, "confidence": c.confidence, "summary": c.summary,
            "evidence": [evidence_to_json(e) for e in c.evidence]}


def diagnosis_to_json(d: Diagnosis) -> dict[str, Any]:
    """``{at, window, backend, elapsed_s, root_causes: [{service, kind, confidence, evidence}], symptoms, timeline}``."""
    return {
        "at": _iso(d.at),
        "window": {"start": _iso(d.window.start), "end": _iso(d.window.end), "step_s": d.window.step_s},
        "backend": d.backend,
        "elapsed_s": d.elapsed_s,
        "root_causes": [cause_to_json(c) for c in d.root_causes],
        "symptoms": list(d.symptoms),
        "timeline": [{"at": _iso(e.at), "kind": e.kind, "service": e.service, "summary": e.summary}
                     for e in d.timeline],
    }


def diagnosis_to_text(d: Diagnosis, *, evidence: int = 4) -> str:
    """A short human reading: the ranked causes with their strongest evidence, then the timeline."""
    lines = [(f"Diagnosis at {_iso(d.at)} (window {_iso(d.window.start)} .. {_iso(d.window.end)}, "
              f"{d.backend}, {d.elapsed_s:.2f}s)")]
    if not d.root_causes:
        lines.append("No anomalous service found in the window.")
    for i, c in enumerate(d.root_causes, 1):
        lines.append(f"{i}. {c.service}: {c.kind.replace('_', ' ')} (confidence {c.confidence:.0%})")
        for e in c.evidence[:evidence]:
            lines.append(f"     - {e.kind}: {e.summary}")
            if e.promql:
                lines.append(f"       PromQL: {e.promql}")
            for k, v in e.detail:
                if k in ("template", "example", "trace_id"):
                    lines.append(f"       {k}: {v!r}")
    if d.symptoms:
        lines.append(f"Symptoms (affected, not the cause): {', '.join(d.symptoms)}")
    if d.timeline:
        lines.append("Timeline:")
        for ev in d.timeline[:25]:
            lines.append(f"  {ev.at:%Y-%m-%d %H:%M:%S}  {ev.kind:<10} {ev.service or '-':<10} {ev.summary!r}"[:240])
    return "\n".join(lines)
