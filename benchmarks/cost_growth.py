"""How cost grows with work: prepare time vs number of images, training step time vs batch size,
evaluation time vs megapixels; so a user can predict a night's cost on their data."""

from __future__ import annotations

import time

import numpy as np

from benchmarks.suite import Context, Figure

FIGURE_IDS = ["growth"]


def _fit(xs, ys) -> tuple[float, float]:
    """(a, b) of the least-squares line ``y = a + b x``."""
    slope, intercept = np.polyfit(np.asarray(xs, float), np.asarray(ys, float), 1)
    return float(intercept), float(slope)


def run(ctx: Context) -> list[Figure]:
    import tensorflow as tf

    from benchmarks.evaluation_scaling import evaluate_one
    from benchmarks.training_throughput import _batch, make_trainer, step_seconds
    from sr_core.config import load_config
    from sr_core.records import prepare_patches

    fig = ctx.figure("growth", unit="", peer="")
    fig.columns = ["work", "size", "seconds", "fit: seconds = a + b x size"]
    # prepare: the sample photos, 1..N images (64 patches each)
    xs, ys = [], []
    for n in ((1, 2) if ctx.smoke else (1, 2, 4, 6)):
        cfg = load_config("quick", [f"data.max_train_images={n}", "data.max_val_images=1",
                                    f"data.patches_per_image={8 if ctx.smoke else 64}"],
                          data_dir=ctx.workdir / f"prep{n}")
        t = time.perf_counter()
        prepare_patches(cfg)
        xs.append(n)
        ys.append(time.perf_counter() - t)
    a, b = _fit(xs, ys)
    fig.rows += [["prepare (images)", x, y, f"{a:.2f} + {b:.3f} x images"] for x, y in zip(xs, ys)]
    # training: quick SRResNet, batch 4..32
    cfg = load_config("smoke" if ctx.smoke else "quick")
    xs, ys = [], []
    for bsz in ((2, 4) if ctx.smoke else (4, 8, 16, 32)):
        lr, hr = _batch(cfg, bsz)
        lr_t, hr_t = tf.constant(lr), tf.constant(hr)
        trainer = make_trainer(cfg, "srresnet", jit=False)
        xs.append(bsz)
        ys.append(step_seconds(ctx, lambda: trainer.train_step(lr_t, hr_t), 2 if ctx.smoke else 5))
    a, b = _fit(xs, ys)
    fig.rows += [[f"train step, {cfg.preset} SRResNet (batch)", x, y, f"{a:.3f} + {b:.4f} x batch"]
                 for x, y in zip(xs, ys)]
    # evaluation CPU work per image vs megapixels
    xs, ys = [], []
    for mp in ((0.05, 0.1) if ctx.smoke else (0.5, 1.0, 2.0, 4.0)):
        sh = int(round((mp * 1e6 / 1.5) ** 0.5 / 4)) * 4
        sw = int(round(sh * 1.5 / 4)) * 4
        seconds, _ = ctx.median(lambda: evaluate_one((sh, sw, 0, 0)))
        xs.append(sh * sw / 1e6)
        ys.append(seconds)
    a, b = _fit(xs, ys)
    fig.rows += [["evaluate one image, CPU methods + metrics (MP)", x, y, f"{a:.3f} + {b:.3f} x MP"]
                 for x, y in zip(xs, ys)]
    fig.summary = ("Each block is fitted with a straight line; a night costs about prepare(images) + steps x "
                   "step(batch) per model + images x (evaluate(MP) + the model methods' figure-3 time per MP).")
    return [fig]
