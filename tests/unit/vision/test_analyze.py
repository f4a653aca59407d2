"""analyze() end to end on a rendered dashboard: the bundled model loads from the package, anomalous
panels are flagged, the JSON has the contract's shape, the annotated PNG is a PNG of the same size."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from promv5_lab.errors import ConfigError, InputError
from promv5_lab.vision import analyze
from promv5_lab.vision.model import DEFAULT_MODEL_DIR, load_classifier


@pytest.fixture(scope="module")
def report(dashboard):
    return analyze(dashboard.png, ocr=False)


def test_bundled_model_loads_from_the_package_dir():
    assert (DEFAULT_MODEL_DIR / "config.json").is_file()
    weights = DEFAULT_MODEL_DIR / "model.safetensors"
    assert 200_000 < weights.stat().st_size < 2_500_000  # about 1 MB
    clf = load_classifier()
    assert clf.engine == "numpy"  # the bundled model runs without torch (test_resnet_np.py)
    assert clf.native and set(clf.labels) == {"normal", "spike", "level_shift", "trend", "dropout"}
    assert load_classifier() is clf  # cached per process


def test_a_missing_model_dir_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config.json missing"):
        load_classifier(tmp_path)


def test_anomalous_panels_flagged_and_normal_ones_not(dashboard, report):
    assert len(report.panels) == 4
    truth = {p.bbox: p for p in dashboard.panels}
    for found, t in zip(report.panels, dashboard.panels):  # both in reading order
        assert abs(found.bbox[0] - t.bbox[0]) < 12 and abs(found.bbox[1] - t.bbox[1]) < 12
        assert found.anomalous == t.anomalous, (t.kind, found.kind, found.confidence)
    spike = report.panels[1]
    assert spike.kind == "spike"
    true_where = dashboard.panels[1].series[0].where
    assert abs(spike.where.fraction - true_where) < 0.08
    assert len(truth) == 4


def test_json_shape(report):
    body = json.loads(json.dumps(report.to_json()))
    assert body["ocr"] is False and "relative" in body["values"]
    for p in body["panels"]:
        assert set(p) >= {"bbox", "title", "anomalous", "kind", "confidence", "series", "where"}
        assert len(p["bbox"]) == 4 and all(isinstance(v, int) for v in p["bbox"])
        assert 0.0 <= p["confidence"] <= 1.0
        for s in p["series"]:
            vals = [v for v in s["values"] if v is not None]
            assert vals and all(-0.01 <= v <= 1.01 for v in vals)  # relative heights without OCR
    assert sum(len(p["series"]) for p in body["panels"]) == 6


def test_annotated_png(report, dashboard):
    png = report.annotated_png()
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (dashboard.size[1], dashboard.size[0])
    red = (img[..., 2] > 200) & (img[..., 1] < 60) & (img[..., 0] < 60)
    x, y, _w, h = report.panels[1].bbox  # the anomalous panel's box is drawn in red
    assert red[y:y + h, x:x + 3].mean() > 0.5


def _app():
    from promv5_lab.vision.cli import register

    app = typer.Typer()
    register(app)

    @app.callback()
    def _root() -> None:
        pass

    return app


def test_cli_json_and_annotated_file(tmp_path, dashboard):
    src = tmp_path / "dash.png"
    src.write_bytes(dashboard.png)
    out = tmp_path / "annotated.png"
    res = CliRunner().invoke(_app(), ["screenshot", str(src), "--out", str(out), "--json", "--no-ocr"])
    assert res.exit_code == 0, res.output
    body = json.loads(res.output)
    assert [p["anomalous"] for p in body["panels"]] == [p.anomalous for p in dashboard.panels]
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_image_is_an_input_error(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("not a png")
    res = CliRunner().invoke(_app(), ["screenshot", str(bad), "--no-ocr"])
    assert isinstance(res.exception, InputError)


def test_magic_shows_findings_and_keeps_the_report(tmp_path, dashboard):
    from IPython.core.interactiveshell import InteractiveShell

    from promv5_lab.ui.vision_magic import register_magics

    src = tmp_path / "dash.png"
    src.write_bytes(dashboard.png)
    shell = InteractiveShell.instance()
    register_magics(shell)
    shell.run_line_magic("screenshot", f"{src} --no-ocr -o rep --out {tmp_path / 'a.png'}")
    rep = shell.user_ns["rep"]
    assert len(rep.panels) == 4 and (tmp_path / "a.png").is_file()
    shell.run_line_magic("screenshot", str(tmp_path / "missing.png"))  # an error is shown, not raised


def test_inference_uses_one_thread_and_gives_the_users_setting_back(monkeypatch):
    """torch's thread count is process-wide (the user's kernel): one thread only while our batch runs
    (the transformers engine; the numpy one is in test_resnet_np.py)."""
    import torch

    clf = load_classifier(engine="transformers")
    assert clf.engine == "transformers"
    seen = []
    forward = clf.model.forward

    def spy(*a, **k):
        seen.append(torch.get_num_threads())
        return forward(*a, **k)

    monkeypatch.setattr(clf.model, "forward", spy)
    before = torch.get_num_threads()
    pic = np.zeros((48, 128), np.float32)
    try:
        torch.set_num_threads(2)
        clf.predict([pic])
        assert seen == [1] and torch.get_num_threads() == 2
        monkeypatch.setenv("OMP_NUM_THREADS", "2")  # the user chose: left alone
        clf.predict([pic])
        assert seen == [1, 2] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
