"""Train the bundled panel classifier: ``python -m promv5_lab.vision.train [--figures N] [--out DIR]``.

Renders matplotlib dashboards in many styles (themes, colours, line widths, grids, fills, legends,
step lines) with known anomalies, runs the *same* pipeline as :func:`promv5_lab.vision.analyze`
(panels, series by colour, series pictures), trains a small ``ResNetForImageClassification`` from a
config on one CPU thread, prints held-out accuracy, and writes ``config.json`` + ``model.safetensors``
(about 1 MB) to ``promv5_lab/vision/model/``. The rendered images are not kept.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

from .._deps import require
from .model import DEFAULT_MODEL_DIR, INPUT_H, INPUT_W
from .synth import ANOMALIES, KINDS, TruePanel, TrueSeries, make_series, pick_colours

log = logging.getLogger(__name__)

STYLES = ("default", "ggplot", "seaborn-v0_8-whitegrid", "seaborn-v0_8-darkgrid", "dark_background", "bmh",
          "fivethirtyeight", "Solarize_Light2", "seaborn-v0_8-white", "fast", "seaborn-v0_8-dark",
          "seaborn-v0_8-ticks")
FACES = ("#ffffff", "#f7f7f7", "#1e1e1e", "#2b2b2b", "#0b0c0e", "#fdf6e3", "#eaeaf2", "#263238")


def _figure(rng: Any, rows: int = 3, cols: int = 4) -> tuple[Any, list[TruePanel]]:
    """One figure of small panels without text (text is slow to render and the model never sees it)."""
    np = require("numpy")
    require("matplotlib", "analysis")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    style = str(rng.choice(STYLES))
    w_px, h_px = int(rng.integers(190, 330)) * cols, int(rng.integers(130, 230)) * rows
    n = int(rng.integers(60, 500))
    truth = []
    with plt.style.context(style):
        fig, axes = plt.subplots(rows, cols, figsize=(w_px / 100, h_px / 100), dpi=100, squeeze=False)
        face = str(rng.choice(FACES)) if rng.random() < 0.3 else None
        if face:
            fig.set_facecolor(face)
        lw = float(rng.uniform(0.6, 2.6))
        step = rng.random() < 0.15
        fill = rng.random() < 0.2
        for ax in axes.ravel():
            if face:
                ax.set_facecolor(face)
            k = int(rng.integers(1, 4))
            bad = int(rng.integers(0, k)) if rng.random() < 0.6 else -1
            series = []
            for j, colour in enumerate(pick_colours(rng, k)):
                kind = str(rng.choice(ANOMALIES)) if j == bad else "normal"
                s = make_series(rng, n, kind, strength=float(rng.uniform(0.6, 1.3)))
                s = TrueSeries(s.values, colour, s.kind, s.where)
                x = np.arange(n)
                ax.plot(x, s.values, color=colour, lw=lw, drawstyle="steps-post" if step else "default",
                        label="s")
                if fill:
                    ax.fill_between(x, s.values, np.nanmin(s.values), color=colour, alpha=0.15)
                series.append(s)
            ax.set_xlim(0, n - 1)
            ax.tick_params(labelbottom=False, labelleft=False)
            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.yaxis.set_major_locator(MaxNLocator(4))
            if rng.random() < 0.5:
                ax.grid(True)
            truth.append((ax, tuple(series)))
        fig.subplots_adjust(left=0.03, right=0.97, bottom=0.04, top=0.96, wspace=float(rng.uniform(0.08, 0.3)),
                            hspace=float(rng.uniform(0.1, 0.35)))
        fig.canvas.draw()
        _W, H = fig.canvas.get_width_height()
        panels = []
        for ax, series in truth:
            bb = ax.get_window_extent()
            box = (round(bb.x0), round(H - bb.y1), round(bb.width), round(bb.height))
            panels.append(TruePanel(box, box, "", series))
        rgba = np.asarray(fig.canvas.buffer_rgba())
        bgr = np.ascontiguousarray(rgba[..., 2::-1])
        plt.close(fig)
    return bgr, panels


def _hex(c: str) -> Any:
    np = require("numpy")
    return np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)])


def samples_from(png: Any, panels: list[TruePanel]) -> list[tuple[Any, int]]:
    """(picture, class index) for every true series the pipeline recovers, matched by colour."""
    np = require("numpy")
    from .image import load_image
    from .panels import find_panels
    from .pipeline import panel_pictures

    img = load_image(png)
    out = []
    for found in find_panels(img):
        truth = _match(found.bbox, panels)
        if truth is None:
            continue
        for s, pic in panel_pictures(img, found):
            d = [np.abs(_hex(t.colour) - _hex(s.colour)).sum() for t in truth.series]
            j = int(np.argmin(d))
            if d[j] < 120:
                out.append((pic, KINDS.index(truth.series[j].kind)))
    return out


def _match(box: tuple[int, int, int, int], panels: list[TruePanel]) -> TruePanel | None:
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    for p in panels:
        x, y, w, h = p.bbox
        if x <= cx <= x + w and y <= cy <= y + h:
            return p
    return None


def build_model(num_labels: int = len(KINDS)) -> Any:
    transformers = require("transformers", "ml")
    config = transformers.ResNetConfig(
        num_channels=1, embedding_size=16, hidden_sizes=[16, 32, 64, 128], depths=[1, 1, 1, 1],
        layer_type="basic", downsample_in_first_stage=False, num_labels=num_labels,
        id2label=dict(enumerate(KINDS)), label2id={k: i for i, k in enumerate(KINDS)})
    return transformers.ResNetForImageClassification(config)


def train(figures: int = 160, epochs: int = 8, seed: int = 0, out: Path = DEFAULT_MODEL_DIR,
          cache: Path | None = None) -> dict:
    np = require("numpy")
    torch = require("torch", "ml")
    from tqdm.auto import tqdm

    torch.set_num_threads(1)  # this 2-core machine is shared; here only, never in the library
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    if cache is not None and Path(cache).is_file():
        data = np.load(cache)
        xs, ys = data["x"], data["y"]
    else:
        xs, ys = [], []
        for _ in tqdm(range(figures), desc="render", file=sys.stderr):
            png, panels = _figure(rng, 4, 4)
            for pic, label in samples_from(png, panels):
                xs.append(pic)
                ys.append(label)
        xs, ys = np.stack(xs), np.asarray(ys)
        if cache is not None:
            np.savez_compressed(cache, x=xs, y=ys)
    t_render = time.perf_counter() - t0
    X = torch.from_numpy(xs[:, None])
    Y = torch.from_numpy(ys.astype(np.int64))
    perm = torch.randperm(len(Y))
    n_test = max(1, len(Y) // 7)
    test, tr = perm[:n_test], perm[n_test:]
    model = build_model()
    # anomalies are rarer than normal series: weight classes by the square root of their rarity
    counts = torch.bincount(Y[tr], minlength=len(KINDS)).float().clamp(min=1)
    weights = (counts.max() / counts).sqrt()
    loss_fn = torch.nn.CrossEntropyLoss(weight=weights)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * ((len(tr) + 63) // 64)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    bar = tqdm(total=steps, desc="train", file=sys.stderr)
    for _epoch in range(epochs):
        model.train()
        order = tr[torch.randperm(len(tr))]
        for i in range(0, len(order), 64):
            idx = order[i:i + 64]
            xb = X[idx]
            if torch.rand(()) < 0.5:  # thickness/position jitter: shift by a pixel
                xb = torch.roll(xb, shifts=int(torch.randint(-2, 3, ())), dims=3)
            loss = loss_fn(model(pixel_values=xb).logits, Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{float(loss):.3f}")
    bar.close()
    model.eval()
    with torch.inference_mode():
        pred = model(pixel_values=X[test]).logits.argmax(-1)
    acc = float((pred == Y[test]).float().mean())
    confusion = np.zeros((len(KINDS), len(KINDS)), int)
    for a, b in zip(Y[test].tolist(), pred.tolist()):
        confusion[a, b] += 1
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    info = {"samples": len(Y), "held_out": int(n_test), "held_out_accuracy": round(acc, 4),
            "classes": list(KINDS), "confusion(rows=true)": confusion.tolist(), "figures": figures,
            "epochs": epochs, "seed": seed, "class_weights": [round(float(w), 3) for w in weights], "input": [INPUT_H, INPUT_W], "render_s": round(t_render, 1),
            "total_s": round(time.perf_counter() - t0, 1),
            "command": f"python -m promv5_lab.vision.train --figures {figures} --epochs {epochs} --seed {seed}"}
    (out / "training.json").write_text(json.dumps(info, indent=1) + "\n")
    return info


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--figures", type=int, default=160, help="figures of 16 panels to render")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL_DIR)
    p.add_argument("--cache", type=Path, default=None, help="keep the rendered samples here (.npz) to retrain fast")
    a = p.parse_args(argv)
    info = train(a.figures, a.epochs, a.seed, a.out, a.cache)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())


