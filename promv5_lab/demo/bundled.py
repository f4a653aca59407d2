"""The bundled demo history: what every command reads when given neither ``--backend`` nor ``--data``.

It is generated on first use into the cache directory and regenerated when it no longer ends at the
present moment (older than ``max_age_s``, under Prometheus's 5-minute lookback so an instant query
"now" still finds samples), so "the last hour" always means something.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timezone
from pathlib import Path

log = logging.getLogger(__name__)

DEMO_DAYS = 3.0
DEMO_STEP_S = 30.0
DEMO_SEED = 42
STAMP = "bundled-demo.json"


def demo_history(cache_dir: str | Path, *, max_age_s: float = 240.0, seed: int = DEMO_SEED,
                 days: float = DEMO_DAYS, progress: bool = False) -> Path:
    """A directory holding a demo history that ends less than ``max_age_s`` ago (made if needed)."""
    from .simulate import simulate

    out = Path(cache_dir).expanduser() / "demo" / f"seed-{seed}"
    stamp = out / STAMP
    now = time.time()
    try:
        meta = json.loads(stamp.read_text())
        fresh = (meta.get("seed"), meta.get("days")) == (seed, days) and now - float(meta["end"]) < max_age_s
    except (OSError, ValueError, KeyError, TypeError):
        fresh = False
    if fresh and (out / "metrics.om").is_file():
        return out
    log.info("generating the bundled demo history in %s", out)
    summary = simulate(out, days=days, step_s=DEMO_STEP_S, seed=seed, progress=progress)
    end = summary.end if isinstance(summary.end, datetime) else datetime.now(timezone.utc)
    stamp.write_text(json.dumps({"seed": seed, "days": days, "end": end.timestamp()}))
    return out
