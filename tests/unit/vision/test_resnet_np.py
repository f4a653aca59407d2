"""The numpy engine of the bundled ResNet: the same logits as transformers' ``ResNetForImageClassification``
on the same weights, loaded without importing torch or transformers, on one BLAS thread while it runs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from promv5_lab.errors import ConfigError
from promv5_lab.vision.image import load_image
from promv5_lab.vision.model import DEFAULT_MODEL_DIR, INPUT_H, INPUT_W, load_classifier
from promv5_lab.vision.panels import find_panels
from promv5_lab.vision.pipeline import panel_pictures


def _pictures(dashboard, dark_dashboard) -> np.ndarray:
    """Real model inputs (series pictures of two rendered dashboards) plus noise and blank pictures."""
    pics = []
    for d in (dashboard, dark_dashboard):
        img = load_image(d.png)
        for p in find_panels(img):
            pics.extend(pic for _, pic in panel_pictures(img, p))
    rng = np.random.default_rng(0)
    pics.extend((rng.random((INPUT_H, INPUT_W)) < q).astype(np.float32) for q in (0.02, 0.2))
    pics.append(rng.random((INPUT_H, INPUT_W)).astype(np.float32))
    pics.append(np.zeros((INPUT_H, INPUT_W), np.float32))
    return np.stack(pics)[:, None]


def test_numpy_logits_equal_transformers_logits(dashboard, dark_dashboard):
    import torch

    batch = _pictures(dashboard, dark_dashboard)
    assert batch.shape[0] >= 10
    ours = load_classifier().model.logits(batch)
    ref = load_classifier(engine="transformers").model
    with torch.inference_mode():
        theirs = ref(pixel_values=torch.from_numpy(batch)).logits.numpy()
    assert ours.shape == theirs.shape == (batch.shape[0], 5)
    assert np.abs(ours - theirs).max() < 1e-3 * max(1.0, float(np.abs(theirs).max()))
    assert (ours.argmax(axis=1) == theirs.argmax(axis=1)).all()
    # and the predictions built on them agree
    pics = list(batch[:, 0])
    a = load_classifier().predict(pics)
    b = load_classifier(engine="transformers").predict(pics)
    assert [p.kind for p in a] == [p.kind for p in b]
    assert max(abs(p.confidence - q.confidence) for p, q in zip(a, b)) < 1e-4


def test_the_bundled_model_loads_without_torch_or_transformers():
    code = ("import sys, numpy as np; from promv5_lab.vision.model import load_classifier; c = load_classifier(); "
            "p = c.predict([np.zeros((48, 128), np.float32)]); "
            "print(c.engine, p[0].kind, 'torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    engine, kind, torch_loaded, tf_loaded = out.stdout.split()
    assert engine == "numpy" and kind in {"normal", "spike", "level_shift", "trend", "dropout"}
    assert (torch_loaded, tf_loaded) == ("False", "False")


def test_one_blas_thread_while_predicting_then_the_process_setting_again(monkeypatch):
    from threadpoolctl import threadpool_info, threadpool_limits

    clf = load_classifier()
    seen = []
    logits = clf.model.logits

    def spy(batch):
        seen.append(max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"))
        return logits(batch)

    monkeypatch.setattr(clf.model, "logits", spy)
    pic = np.zeros((INPUT_H, INPUT_W), np.float32)
    with threadpool_limits(limits=2, user_api="blas"):
        clf.predict([pic])
        after = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
        monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the user chose: left alone
        clf.predict([pic])
    assert seen == [1, 2] and after == 2


def test_numpy_engine_refuses_a_model_it_cannot_run(tmp_path):
    cfg = json.loads((DEFAULT_MODEL_DIR / "config.json").read_text())
    cfg["layer_type"] = "bottleneck"
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "model.safetensors").write_bytes((DEFAULT_MODEL_DIR / "model.safetensors").read_bytes())
    with pytest.raises(ConfigError, match="numpy engine cannot run"):
        load_classifier(tmp_path, engine="numpy")


def test_corrupt_weights_are_a_config_error(tmp_path):
    (tmp_path / "config.json").write_text((DEFAULT_MODEL_DIR / "config.json").read_text())
    (tmp_path / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ConfigError, match="Cannot load the image model"):
        load_classifier(tmp_path)
