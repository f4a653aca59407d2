"""A small, strict reader of the simulator's OpenMetrics files, for tests (independent of the writer)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import numpy as np

_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


class OMFile:
    """families: family -> type; series: (name, frozenset(labels)) -> (ts array, value array)."""

    def __init__(self, path: str | Path) -> None:
        self.families: dict[str, str] = {}
        self.help: dict[str, str] = {}
        raw: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
        family_of_key: dict[str, str] = {}
        order: list[str] = []
        current = None
        closed: set[str] = set()
        lines = Path(path).read_text().splitlines()
        assert lines[-1] == "# EOF", "file must end with # EOF"
        for ln in lines[:-1]:
            if ln.startswith("# "):
                parts = ln.split(" ", 3)
                kind, fam = parts[1], parts[2]
                if kind == "TYPE":
                    assert fam not in self.families, f"family {fam} declared twice"
                    if current is not None:
                        closed.add(current)
                    current = fam
                    self.families[fam] = parts[3]
                elif kind == "HELP":
                    self.help[fam] = parts[3] if len(parts) > 3 else ""
                continue
            key, value, ts = ln.rsplit(" ", 2)
            name = key.split("{", 1)[0]
            assert _NAME.match(name), ln
            assert current is not None and name.startswith(current), f"{name} outside its family {current}"
            if key not in family_of_key:
                family_of_key[key] = current
                order.append(key)
            else:
                assert order[-1] == key, f"samples of {key} are not contiguous"
            raw[key][0].append(float(ts))
            raw[key][1].append(float(value))
        self.order = order
        self.series: dict[tuple[str, frozenset], tuple[np.ndarray, np.ndarray]] = {}
        for key, (ts, vs) in raw.items():
            name = key.split("{", 1)[0]
            labels = frozenset(_LABEL.findall(key.split("{", 1)[1].rstrip("}"))) if "{" in key else frozenset()
            self.series[(name, labels)] = (np.asarray(ts), np.asarray(vs))

    def select(self, name: str, **match: str) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
        out = []
        for (n, labels), (ts, vs) in self.series.items():
            d = dict(labels)
            if n == name and all(d.get(k) == v for k, v in match.items()):
                out.append((d, ts, vs))
        return out

    def one(self, name: str, **match: str) -> tuple[np.ndarray, np.ndarray]:
        found = self.select(name, **match)
        assert len(found) == 1, f"{name}{match}: {len(found)} series"
        return found[0][1], found[0][2]


def increase(ts: np.ndarray, vs: np.ndarray) -> np.ndarray:
    """Per-step increase of a counter, handling resets like PromQL (a drop means it restarted at 0)."""
    d = np.diff(vs, prepend=vs[0])
    return np.where(d < 0, vs, d)
