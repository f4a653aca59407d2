"""Reading the NAB corpus (``data/<category>/<name>.csv`` + ``labels/combined_windows.json``) and running
detectors over it. The scoring itself is in :mod:`promv5_lab.analysis.nabscore`."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from .nabscore import FileLabels, load_windows

__all__ = ["NabFile", "default_nab_dir", "load_corpus", "rolling_z_scores", "run_batched"]

ENV_VAR = "PROMV5_NAB_DIR"


@dataclass(frozen=True)
class NabFile:
    """One NAB series: its key (``category/name.csv``), timestamps (epoch seconds) and values."""

    key: str
    t: np.ndarray
    values: np.ndarray
    labels: FileLabels

    @property
    def category(self) -> str:
        return self.key.split("/")[0]


def default_nab_dir(repo_root: str | Path | None = None) -> Path:
    """``$PROMV5_NAB_DIR`` if set, else ``shared/nab`` beside the repository checkout."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    root = Path(repo_root) if repo_root else Path(__file__).resolve().parents[2]
    return root.parent / "shared" / "nab"


def load_corpus(nab_dir: str | Path | None = None, only: str | None = None) -> list[NabFile]:
    """Every labelled file of the corpus (optionally only keys containing ``only``), sorted by key."""
    import pandas as pd

    base = Path(nab_dir) if nab_dir else default_nab_dir()
    data = base / "data"
    if not data.is_dir():
        raise InputError(f"no NAB data folder at {data}",
                         hint=f"set {ENV_VAR} or pass --nab-dir to the folder holding data/ and labels/")
    frames, n_rows, stamps = {}, {}, {}
    for path in sorted(data.glob("*/*.csv")):
        key = f"{path.parent.name}/{path.name}"
        if only and only not in key:
            continue
        df = pd.read_csv(path, dtype={"timestamp": str})
        frames[key] = df
        n_rows[key] = len(df)
        stamps[key] = df["timestamp"].tolist()
    labels = load_windows(base, n_rows, stamps)
    out = []
    for key, df in frames.items():
        if key not in labels:
            continue
        t = pd.to_datetime(df["timestamp"], utc=True).astype("datetime64[ns, UTC]").astype("int64").to_numpy() / 1e9
        out.append(NabFile(key, t, df["value"].to_numpy(dtype=float), labels[key]))
    if not out:
        raise InputError(f"no labelled NAB files found under {data}")
    return out


def run_batched(files: list[NabFile], score_fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> dict[str, np.ndarray]:
    """Run a vectorised scorer over all files at once: columns padded with NaN to the longest file.

    ``score_fn(t, values)`` gets ``(T, n)`` arrays; padding comes after each file's last row, so
    (the series being independent and scored causally) it never changes a real row's score.
    """
    length = max(len(f.values) for f in files)
    t = np.full((length, len(files)), np.nan)
    v = np.full((length, len(files)), np.nan)
    for j, f in enumerate(files):
        n = len(f.values)
        t[:n, j] = f.t
        t[n:, j] = f.t[-1]
        v[:n, j] = f.values
    s = score_fn(t, v)
    return {f.key: s[:len(f.values), j].copy() for j, f in enumerate(files)}


def rolling_z_scores(values: np.ndarray, window: int = 288, floor: float = 0.05) -> np.ndarray:
    """Baseline: robust z-score against the trailing window's median and MAD (only past samples).

    The scale is ``1.4826 * MAD``, floored at ``floor`` times the window's range so that a series
    that is constant most of the time does not turn every small change into an infinite z.
    """
    import pandas as pd

    s = pd.Series(values, dtype=float)
    past = s.shift(1)
    roll = past.rolling(window, min_periods=30)
    med = roll.median()
    mad = (past - med).abs().rolling(window, min_periods=30).median()
    scale = np.maximum(1.4826 * mad, floor * (roll.max() - roll.min())) + 1e-9
    z = ((s - med).abs() / scale).fillna(0.0).to_numpy()
    return z / (z + 3.0)
