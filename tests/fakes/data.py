"""One small simulated demo history per test process (2 days at a 2-minute step, ~3 s), for signal tests."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

END = "2026-11-20T12:00:00Z"


@functools.lru_cache(maxsize=1)
def small_history() -> Path:
    """A directory with metrics.om, incidents.json, events.json, logs.jsonl, traces.jsonl."""
    from promv5_lab.demo.simulate import simulate

    out = Path(tempfile.mkdtemp(prefix="promv5-signals-"))
    atexit.register(shutil.rmtree, out, True)
    simulate(out, days=2, step_s=120, seed=5, end=END)
    return out


def read_jsonl(path: Path) -> list[dict]:
    import json

    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
