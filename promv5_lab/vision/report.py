"""What :func:`promv5_lab.vision.analyze` returns: per-panel findings, JSON, and an annotated PNG."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._deps import require

__all__ = ["PanelFinding", "QueryFinding", "ScreenshotReport", "SeriesFinding", "Where"]


@dataclass(frozen=True)
class Where:
    """Where in time: a fraction of the panel's time axis, and the clock time when OCR read the axis."""

    fraction: float
    time: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"fraction": round(self.fraction, 4), "time": self.time}


@dataclass(frozen=True)
class SeriesFinding:
    """One extracted line: its colour, values (absolute when the value axis was read, else 0..1 of the
    plot height), the model's kind and confidence, and the streaming detector's peak score."""

    colour: str
    values: tuple[float | None, ...]
    absolute: bool
    unit: str
    kind: str
    confidence: float
    detector_score: float
    where: Where | None
    x_range: tuple[int, int]

    def to_json(self) -> dict[str, Any]:
        return {"colour": self.colour, "values": list(self.values), "absolute": self.absolute,
                "unit": self.unit, "kind": self.kind, "confidence": round(self.confidence, 4),
                "detector_score": round(self.detector_score, 4),
                "where": self.where.to_json() if self.where else None, "x_range": list(self.x_range)}


@dataclass(frozen=True)
class QueryFinding:
    """A PromQL target of the panel (from the dashboard JSON), re-run on a backend when one was given."""

    promql: str
    legend: str = ""
    ran: bool = False
    range: str | None = None
    series: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"promql": self.promql, "legend": self.legend, "ran": self.ran, "range": self.range,
                "series": list(self.series), "error": self.error}


@dataclass(frozen=True)
class PanelFinding:
    bbox: tuple[int, int, int, int]
    plot: tuple[int, int, int, int]
    title: str
    anomalous: bool
    kind: str
    confidence: float
    series: tuple[SeriesFinding, ...]
    where: Where | None
    queries: tuple[QueryFinding, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"bbox": list(self.bbox), "plot": list(self.plot), "title": self.title,
                "anomalous": self.anomalous, "kind": self.kind, "confidence": round(self.confidence, 4),
                "where": self.where.to_json() if self.where else None,
                "series": [s.to_json() for s in self.series],
                "queries": [q.to_json() for q in self.queries], "notes": list(self.notes)}

    def label(self) -> str:
        head = f"{self.kind} {self.confidence:.2f}" if self.anomalous else f"ok {self.confidence:.2f}"
        return f"{head} {self.title}".strip()


@dataclass(frozen=True)
class ScreenshotReport:
    """Findings for every panel of one screenshot (reading order), with how they were obtained."""

    width: int
    height: int
    panels: tuple[PanelFinding, ...]
    ocr: bool
    model: str
    elapsed_s: float
    notes: tuple[str, ...] = ()
    image: Any = field(default=None, repr=False, compare=False)  # the BGR pixels, for annotated_png()

    @property
    def anomalous(self) -> list[PanelFinding]:
        return [p for p in self.panels if p.anomalous]

    def to_json(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height, "panels": [p.to_json() for p in self.panels],
                "anomalous_panels": sum(p.anomalous for p in self.panels), "ocr": self.ocr,
                "values": "absolute where the value axis was read" if self.ocr else
                          "relative (0 = bottom, 1 = top of each plot area): OCR not available",
                "model": self.model, "elapsed_s": round(self.elapsed_s, 3), "notes": list(self.notes)}

    def describe(self) -> str:
        lines = [f"{len(self.panels)} panels, {len(self.anomalous)} look anomalous"
                 + ("" if self.ocr else " (no OCR: shapes only, relative values)")]
        for i, p in enumerate(self.panels, 1):
            name = p.title or f"panel {i}"
            if p.anomalous:
                at = ""
                if p.where is not None:
                    at = f" at {p.where.time}" if p.where.time else f" at {p.where.fraction:.0%} of the time axis"
                lines.append(f"- {name}: {p.kind.replace('_', ' ')}{at} (confidence {p.confidence:.2f})")
            else:
                lines.append(f"- {name}: looks normal ({p.confidence:.2f})")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)

    def annotated_png(self) -> bytes:
        """The screenshot with a box and a label per panel (red: anomalous, green: normal) and a marker
        at the anomaly's time. Label text is drawn as pixels (ASCII only), never interpreted."""
        np = require("numpy")
        cv2 = require("cv2", "vision")
        if self.image is None:
            from ..errors import InputError

            raise InputError("This report has no image to annotate", hint="Build it with vision.analyze()")
        out = self.image.copy()
        for p in self.panels:
            colour = (40, 40, 230) if p.anomalous else (60, 180, 60)
            x, y, w, h = p.bbox
            cv2.rectangle(out, (x, y), (x + w - 1, y + h - 1), colour, 2)
            if p.anomalous and p.where is not None:
                lo, hi = _axis(p)
                xm = round(lo + p.where.fraction * (hi - lo))
                _px, py, _pw, ph = p.plot
                cv2.line(out, (xm, py), (xm, py + ph - 1), colour, 1, cv2.LINE_AA)
            text = _ascii(p.label())[:60]
            (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 0.45, 1)
            ty = y + th + 4
            cv2.rectangle(out, (x + 2, y + 2), (x + 6 + tw, ty + base), colour, -1)
            cv2.putText(out, text, (x + 4, ty), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
        ok, buf = cv2.imencode(".png", out)
        if not ok:  # pragma: no cover - encoding a valid uint8 array does not fail
            raise RuntimeError("PNG encoding failed")
        return bytes(np.asarray(buf).tobytes())


def _axis(p: PanelFinding) -> tuple[int, int]:
    spans = [s.x_range for s in p.series]
    if spans:
        return min(a for a, _ in spans), max(b for _, b in spans)
    return p.plot[0], p.plot[0] + p.plot[2] - 1


def _ascii(text: str) -> str:
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
