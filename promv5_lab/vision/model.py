"""The panel classifier: a small ResNet (transformers) that looks at one series' pixels and names its shape.

Input: the series' own pixels in the plot area (its line mask; background, grid, text, legends and
the other series removed), cropped to the series' value range and to the time axis, resized to
``INPUT_H x INPUT_W``. Normalising the picture this way is what lets a model trained on matplotlib
renderings read Grafana, Bokeh or any other theme. Classes: :data:`synth.KINDS`.

Weights ship in ``promv5_lab/vision/model/`` (``config.json`` + ``model.safetensors``, written by
``python -m promv5_lab.vision.train``), loaded on first use and cached per process; never fetched from a hub.
The bundled ResNet runs in numpy (:mod:`.resnet_np`: the same logits, but loaded in under a second where
transformers' ``from_pretrained(local_dir)`` costs 16-30 s of torch/transformers imports);
``engine="transformers"`` forces ``from_pretrained``. ``model_dir`` may name any local Hugging Face
image-classification model instead (its labels are mapped onto our kinds by name; it runs in transformers).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._deps import require
from ..errors import ConfigError
from .synth import KINDS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .series import ExtractedSeries

__all__ = ["DEFAULT_MODEL_DIR", "INPUT_H", "INPUT_W", "Classifier", "load_classifier", "series_picture"]

log = logging.getLogger(__name__)

DEFAULT_MODEL_DIR = Path(__file__).with_name("model")
INPUT_H, INPUT_W = 48, 128
Engine = Literal["auto", "numpy", "transformers"]
_CACHE: dict[str, Classifier] = {}
_LOCK = threading.Lock()          # loading
_PREDICT_LOCK = threading.Lock()  # inference (the thread budget is process-wide)


def series_picture(s: ExtractedSeries, x_lo: int, x_hi: int, plot_h: int) -> np.ndarray:
    """The model's input for one series: its mask over columns ``x_lo..x_hi`` (image coordinates),
    rows cropped to the series' own range, as float32 ``(INPUT_H, INPUT_W)`` in [0, 1]."""
    np = require("numpy")
    cv2 = require("cv2", "vision")
    mask = s.mask.astype(np.float32)
    h, w = mask.shape
    c0, c1 = max(0, x_lo - s.x0), min(w, x_hi - s.x0 + 1)
    if c1 - c0 < 4:
        c0, c1 = 0, w
    rows = np.flatnonzero(mask[:, c0:c1].any(axis=1))
    if rows.size == 0:
        return np.zeros((INPUT_H, INPUT_W), np.float32)
    r0, r1 = int(rows[0]), int(rows[-1]) + 1
    need = max(int(0.08 * plot_h), 4)
    if r1 - r0 < need:
        mid = (r0 + r1) // 2
        r0, r1 = max(0, mid - need // 2), min(h, mid + need // 2 + 1)
    pad = max(1, round(s.thickness))
    r0, r1 = max(0, r0 - pad), min(h, r1 + pad)
    crop = np.ascontiguousarray(mask[r0:r1, c0:c1])
    interp = cv2.INTER_AREA if crop.shape[1] >= INPUT_W else cv2.INTER_LINEAR
    pic = cv2.resize(crop, (INPUT_W, INPUT_H), interpolation=interp)
    peak = float(pic.max())
    return (pic / peak).astype(np.float32) if peak > 0 else pic.astype(np.float32)


@dataclass(frozen=True)
class Prediction:
    kind: str
    confidence: float
    probabilities: dict[str, float]


class Classifier:
    """A loaded image classifier; :meth:`predict` takes a batch of series pictures."""

    def __init__(self, model: Any, labels: list[str], source: str, native: bool, processor: Any = None,
                 engine: Engine = "transformers") -> None:
        self.model = model
        self.labels = labels
        self.source = source
        self.native = native
        self.processor = processor
        self.engine = engine

    def predict(self, pictures: list[np.ndarray]) -> list[Prediction]:
        np = require("numpy")
        if not pictures:
            return []
        batch = np.stack(pictures)[:, None, :, :].astype(np.float32, copy=False)
        if self.engine == "numpy":
            with _PREDICT_LOCK, _blas_budget():
                logits = self.model.logits(batch)
            e = np.exp(logits - logits.max(axis=1, keepdims=True))
            probs = e / e.sum(axis=1, keepdims=True)
        else:
            torch = require("torch", "ml")
            if self.native:
                inputs = torch.from_numpy(batch)
            else:  # a foreign model: grey -> RGB through its own processor
                rgb = [np.repeat((p * 255).astype(np.uint8)[..., None], 3, axis=2) for p in pictures]
                inputs = self.processor(images=rgb, return_tensors="pt")["pixel_values"]
            with _PREDICT_LOCK, _thread_budget(torch), torch.inference_mode():
                logits = self.model(pixel_values=inputs).logits
            probs = torch.softmax(logits, dim=-1).numpy()
        out = []
        for row in probs:
            mapped = {k: 0.0 for k in KINDS}
            for i, label in enumerate(self.labels):
                mapped[_kind_of(label)] += float(row[i])
            kind = max(mapped, key=mapped.get)
            out.append(Prediction(kind, mapped[kind], mapped))
        return out


INFERENCE_THREADS = 1  # torch intra-op threads while we classify (the process's own setting is restored after)


@contextlib.contextmanager
def _thread_budget(torch: Any) -> Iterator[None]:
    """One intra-op thread for the duration of one batch, then the process's own setting again.

    A batch is a few dozen 48x128 pictures through a small ResNet: one thread takes ~17 ms, two threads on a
    busy 2-core machine ~200 ms (they wait for each other). But the thread count is process-wide and belongs
    to the user (a notebook kernel): it is never changed for good, and not at all when the user set
    OMP_NUM_THREADS or MKL_NUM_THREADS. Callers hold ``_PREDICT_LOCK``, so concurrent analyses do not interleave.
    """
    before = torch.get_num_threads()
    configured = any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    if configured or before == INFERENCE_THREADS:
        yield
        return
    torch.set_num_threads(INFERENCE_THREADS)
    try:
        yield
    finally:
        torch.set_num_threads(before)


_BLAS_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@contextlib.contextmanager
def _blas_budget() -> Iterator[None]:
    """One BLAS thread while the numpy ResNet runs, then the process's own setting again (as for torch above:
    two OpenBLAS threads on a busy 2-core machine took ~4x the CPU and ~4x the wall time of one). Needs
    ``threadpoolctl`` (installed with scikit-learn; it scans the loaded libraries each time, ~1-2 ms, so a BLAS
    loaded later is covered too); without it, or when the user set a thread count in the environment, BLAS is
    left alone."""
    if any(os.environ.get(v) for v in _BLAS_ENV):
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=INFERENCE_THREADS, user_api="blas"):
        yield


_BUDGET_LOCK = threading.Lock()
_BUDGET: dict[str, Any] = {"users": 0}


@contextlib.contextmanager
def analysis_threads() -> Iterator[None]:
    """One OpenCV thread and one BLAS thread for a whole screenshot analysis, then the process's settings again.

    OpenCV's own pool (two threads on this 2-core box) split each morphology, colour conversion and labelling into
    pieces that then waited for a core: on a machine at load 12, one thread gave the same median but cut the tail
    (90th percentile 1.13 -> 0.93 s, max 1.43 -> 0.99 s wall per screenshot) and 10% of the CPU time; the line
    extraction's column sums and the detector's numpy steps call BLAS outside the model too. Nested and concurrent
    analyses share one budget (the first sets it, the last restores it). Left alone when the user set
    ``OPENCV_FOR_THREADS_NUM`` (OpenCV) or a BLAS thread count in the environment.
    """
    with _BUDGET_LOCK:
        if _BUDGET["users"] == 0:
            _BUDGET["cv2"] = _BUDGET["blas"] = None
            if not os.environ.get("OPENCV_FOR_THREADS_NUM"):
                cv2 = require("cv2", "vision")
                _BUDGET["cv2"] = cv2.getNumThreads()
                cv2.setNumThreads(1)
            if not any(os.environ.get(v) for v in _BLAS_ENV):
                try:
                    from threadpoolctl import threadpool_limits
                except ImportError:
                    pass
                else:
                    _BUDGET["blas"] = threadpool_limits(limits=INFERENCE_THREADS, user_api="blas")
        _BUDGET["users"] += 1
    try:
        yield
    finally:
        with _BUDGET_LOCK:
            _BUDGET["users"] -= 1
            if _BUDGET["users"] == 0:
                if _BUDGET["cv2"] is not None:
                    require("cv2", "vision").setNumThreads(_BUDGET["cv2"])
                if _BUDGET["blas"] is not None:
                    _BUDGET["blas"].restore_original_limits()


def _kind_of(label: str) -> str:
    low = label.lower()
    for k in KINDS:
        if k in low or k.replace("_", " ") in low:
            return k
    if "leak" in low or "drift" in low:
        return "trend"
    if "gap" in low or "missing" in low:
        return "dropout"
    if "step" in low or "shift" in low:
        return "level_shift"
    return "normal"


def load_classifier(model_dir: str | Path | None = None, *, engine: Engine = "auto") -> Classifier:
    """The classifier in ``model_dir`` (default: the one shipped in the package), cached per process.

    ``engine``: "auto" runs a one-channel basic ResNet (the bundled model's kind) in numpy and anything else in
    transformers; "transformers" always uses ``from_pretrained``; "numpy" refuses models it cannot run.
    """
    path = Path(model_dir).expanduser() if model_dir else DEFAULT_MODEL_DIR
    key = f"{path.resolve()}|{engine}"
    with _LOCK:
        if key in _CACHE:
            return _CACHE[key]
        if not (path / "config.json").is_file():
            raise ConfigError(f"No image model in {str(path)!r} (config.json missing)",
                              hint="Train the bundled one with 'python -m promv5_lab.vision.train', or pass "
                                   "the directory of a local Hugging Face image-classification model")
        if engine != "transformers":
            clf = _load_numpy(path, engine == "numpy")
            if clf is not None:
                _CACHE[key] = clf
                return clf
        transformers = require("transformers", "ml")
        require("torch", "ml")
        try:
            config = transformers.AutoConfig.from_pretrained(path, local_files_only=True)
            native = getattr(config, "model_type", "") == "resnet" and getattr(config, "num_channels", 3) == 1
            model = transformers.AutoModelForImageClassification.from_pretrained(path, local_files_only=True)
            processor = None if native else transformers.AutoImageProcessor.from_pretrained(path, local_files_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"Cannot load the image model in {str(path)!r}: {exc}",
                              hint="Pass a directory with config.json and weights of an image classifier") from exc
        model.eval()
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        clf = Classifier(model, labels, str(path), native, processor)
        _CACHE[key] = clf
        log.info("loaded image model from %s (%s)", path, ", ".join(labels))
        return clf


def _load_numpy(path: Path, required: bool) -> Classifier | None:
    """The model in ``path`` on the numpy engine, or None when it is not one it runs (``required``: an error)."""
    import json

    from .resnet_np import NumpyResNet, supports

    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"Cannot read {str(path / 'config.json')!r}: {exc}",
                          hint="Pass a directory with config.json and weights of an image classifier") from exc
    if not supports(config, path):
        if required:
            raise ConfigError(f"The numpy engine cannot run the model in {str(path)!r}",
                              hint="It runs one-channel 'basic' ResNets in safetensors; use engine='transformers'")
        return None
    from safetensors import SafetensorError

    try:
        model = NumpyResNet(path)
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise ConfigError(f"Cannot load the image model in {str(path)!r}: {exc}",
                          hint="Pass a directory with config.json and model.safetensors of an image classifier") from exc
    log.info("loaded image model from %s on numpy (%s)", path, ", ".join(model.labels))
    return Classifier(model, model.labels, str(path), True, None, engine="numpy")
