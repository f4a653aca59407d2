"""The bundled ResNet's forward pass in numpy: the same logits as ``ResNetForImageClassification``, without
importing torch or transformers.

Why: the bundled model is 1.2 MB of weights, but ``from_pretrained`` costs 16-30 s on this machine, nearly all
of it imports (transformers' ``modeling_utils`` pulls in ``torch.distributed.tensor`` and ``torch._dynamo``).
Reading the safetensors file with ``safetensors.numpy`` and running the convolutions here takes well under a
second from a cold process. Only what the bundled model uses is implemented: one input channel, ``basic``
layers, ReLU; any other config goes through transformers (:func:`supports`). Batch norms are folded into the
convolutions (inference only); a convolution is one matrix product over its sliding windows.
``tests/unit/vision/test_resnet_np.py`` checks the logits against transformers' model on the same weights.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._deps import require

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["NumpyResNet", "supports"]

BN_EPS = 1e-5  # torch.nn.BatchNorm2d's default, which transformers' ResNet uses


def supports(config: dict[str, Any], path: Path) -> bool:
    """True when the model in ``path`` (its parsed ``config.json``) can run here."""
    return (config.get("model_type") == "resnet" and config.get("num_channels") == 1
            and config.get("layer_type", "bottleneck") == "basic" and config.get("hidden_act", "relu") == "relu"
            and (path / "model.safetensors").is_file())


class _Conv:
    """A convolution with its batch norm folded in: ``relu?(conv(x) * scale + shift)`` as one product."""

    def __init__(self, np, weights: dict[str, np.ndarray], prefix: str, stride: int) -> None:
        w = weights[prefix + ".convolution.weight"].astype(np.float32)      # (out, in, k, k)
        gamma = weights[prefix + ".normalization.weight"]
        beta = weights[prefix + ".normalization.bias"]
        mean = weights[prefix + ".normalization.running_mean"]
        var = weights[prefix + ".normalization.running_var"]
        scale = (gamma / np.sqrt(var + BN_EPS)).astype(np.float32)
        self.k = int(w.shape[2])
        self.stride = stride
        # rows ordered (ky, kx, in) to match the windows' layout below (NHWC)
        self.w = np.ascontiguousarray((w * scale[:, None, None, None]).transpose(2, 3, 1, 0).reshape(-1, w.shape[0]))
        self.b = (beta - mean * scale).astype(np.float32)

    def __call__(self, np, x: np.ndarray) -> np.ndarray:
        """``x``: (N, H, W, C) float32 -> (N, H', W', out)."""
        n, h, w, c = x.shape
        k, s, p = self.k, self.stride, self.k // 2
        if k == 1:
            cols = x[:, ::s, ::s, :]
            ho, wo = cols.shape[1], cols.shape[2]
            flat = cols.reshape(-1, c)
        else:
            xp = np.zeros((n, h + 2 * p, w + 2 * p, c), np.float32)
            xp[:, p:p + h, p:p + w] = x
            ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            # one shifted (strided) view per kernel offset, side by side: columns ordered (ky, kx, in)
            flat = np.concatenate([xp[:, ky:ky + (ho - 1) * s + 1:s, kx:kx + (wo - 1) * s + 1:s]
                                   for ky in range(k) for kx in range(k)], axis=3).reshape(n * ho * wo, k * k * c)
        out = flat @ self.w
        out += self.b
        return out.reshape(n, ho, wo, -1)


class NumpyResNet:
    """``ResNetForImageClassification`` (basic layers, one channel) for inference: ``logits(batch)``."""

    def __init__(self, path: Path) -> None:
        np = require("numpy")
        st = require("safetensors.numpy", "ml")
        config = json.loads((path / "config.json").read_text())
        weights = st.load_file(str(path / "model.safetensors"))
        self.config = config
        self.labels = [config["id2label"][str(i)] for i in range(len(config["id2label"]))]
        self.stem = _Conv(np, weights, "resnet.embedder.embedder", 2)
        self.blocks: list[tuple[_Conv, _Conv, _Conv | None]] = []
        sizes = [config["embedding_size"], *config["hidden_sizes"]]
        for i, depth in enumerate(config["depths"]):
            for j in range(depth):
                stride = (2 if (i > 0 or config.get("downsample_in_first_stage")) else 1) if j == 0 else 1
                cin = sizes[i] if j == 0 else sizes[i + 1]
                pre = f"resnet.encoder.stages.{i}.layers.{j}"
                short = (_Conv(np, weights, pre + ".shortcut", stride)
                         if cin != sizes[i + 1] or stride != 1 else None)
                self.blocks.append((_Conv(np, weights, pre + ".layer.0", stride),
                                    _Conv(np, weights, pre + ".layer.1", 1), short))
        self.fc_w = np.ascontiguousarray(weights["classifier.1.weight"].astype(np.float32).T)
        self.fc_b = weights["classifier.1.bias"].astype(np.float32)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """``batch``: (N, 1, H, W) float32 pictures -> (N, labels) float32 logits."""
        np = require("numpy")
        x = np.ascontiguousarray(batch.transpose(0, 2, 3, 1), dtype=np.float32)
        x = np.maximum(self.stem(np, x), 0)
        # max pool 3x3, stride 2, padding 1 (padding never wins: it is -inf)
        n, h, w, c = x.shape
        xp = np.full((n, h + 2, w + 2, c), -np.inf, np.float32)
        xp[:, 1:-1, 1:-1] = x
        ho, wo = (h - 1) // 2 + 1, (w - 1) // 2 + 1
        pooled = None
        for dy in range(3):
            for dx in range(3):
                part = xp[:, dy: dy + 2 * (ho - 1) + 1: 2, dx: dx + 2 * (wo - 1) + 1: 2]
                pooled = part if pooled is None else np.maximum(pooled, part)
        x = pooled
        for first, second, short in self.blocks:
            y = np.maximum(first(np, x), 0)
            y = second(np, y)
            y += short(np, x) if short is not None else x
            x = np.maximum(y, 0)
        feats = x.mean(axis=(1, 2))
        return feats @ self.fc_w + self.fc_b
