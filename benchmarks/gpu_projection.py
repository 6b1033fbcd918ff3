"""Figure 9: the suite on a GPU when one is present; otherwise a projection on paper.

Projection: FLOPs per training step (the convolutions of the generator, x3 for forward + backward;
SRGAN adds the discriminator on real and fake batches and, for the div2k preset, VGG19 up to conv5_4
on HR and SR) x the preset's steps / a named GPU's dense fp16 tensor throughput x an assumed
utilisation = hours of training per night. Marked *projected*: no GPU was measured.
"""

from __future__ import annotations

from benchmarks.suite import PROJECTED, Context, Figure

FIGURE_IDS = ["9"]

# Dense fp16 tensor-core peak (TFLOP/s) from the vendors' data sheets.
GPUS = {"NVIDIA A100 SXM": 312.0, "NVIDIA H100 SXM": 989.0, "NVIDIA L4": 121.0}
UTILISATION = 0.30  # assumed share of the peak convnets with 64 channels reach (not measured here)


def _conv_flops(model, h: int, w: int) -> float:
    """Forward FLOPs of every Conv2D/Dense layer of ``model`` on an ``h x w`` input (exact shapes)."""
    import keras
    import numpy as np

    layers = [lay for lay in model.layers if isinstance(lay, (keras.layers.Conv2D, keras.layers.Dense))]
    probe = keras.Model(model.inputs[0], [lay.output for lay in layers])
    outs = probe(np.zeros((1, h, w, 3), np.float32))
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    total = 0.0
    for lay, out in zip(layers, outs):
        kernel = lay.kernel.shape
        positions = float(np.prod(out.shape[1:-1])) if len(out.shape) > 2 else 1.0
        total += 2.0 * float(np.prod(kernel)) * positions
    return total


def step_flops(cfg, name: str) -> float:
    from sr_core.models import build_discriminator, build_generator

    p, s = cfg.data.hr_patch_size, cfg.data.scale
    section = getattr(cfg, name)
    gen = 3 * _conv_flops(build_generator(cfg, name), p // s, p // s)
    if name != "srgan":
        return gen * section.batch_size
    disc = _conv_flops(build_discriminator(cfg.srgan), p, p)
    total = gen + 3 * 2 * disc  # D forward+backward on real and fake (G's backward through D included roughly)
    if cfg.srgan.content_loss.startswith("vgg"):
        import keras

        vgg = keras.applications.VGG19(weights=None, include_top=False, input_shape=(p, p, 3))
        total += 3 * 2 * _conv_flops(vgg, p, p)  # features of HR and SR; backward through SR's
    return total * section.batch_size


def run(ctx: Context) -> list[Figure]:
    import tensorflow as tf

    from sr_core.config import load_config

    gpus = tf.config.list_physical_devices("GPU")
    fig = ctx.figure("9", status=PROJECTED, unit="h per night (A100, 30% of peak)")
    presets = ["smoke"] if ctx.smoke else ["quick", "div2k"]
    fig.columns = ["preset", "model", "steps", "GFLOP per step"] + [f"h on {g}" for g in GPUS]
    totals = {g: 0.0 for g in GPUS}
    for preset in presets:
        cfg = load_config(preset)
        for name in ("srcnn", "srresnet", "srgan"):
            steps = getattr(cfg, name).steps
            flops = step_flops(cfg, name)
            hours = {g: flops * steps / (peak * 1e12 * UTILISATION) / 3600 for g, peak in GPUS.items()}
            fig.rows.append([preset, name, steps, flops / 1e9, *hours.values()])
            if preset == presets[-1]:
                for g in GPUS:
                    totals[g] += hours[g]
    fig.value = totals["NVIDIA A100 SXM"]
    fig.summary = (f"{'GPU present: ' + ', '.join(g.name for g in gpus) + '; ' if gpus else 'No GPU in this run: '}"
                   f"training hours per night on paper at {UTILISATION:.0%} of each GPU's dense fp16 peak: "
                   + ", ".join(f"{g} {h:.2f} h" for g, h in totals.items()) + f" for the {presets[-1]} preset.")
    fig.notes = [
        "Not measured: no GPU was lent to this run. With a GPU present, run `make bench` there; the training "
        "figure then measures the presets' mixed precision and XLA settings, and this figure turns *measured*.",
        f"The {UTILISATION:.0%} utilisation is an assumption, not a measurement; the hours scale with 1/utilisation.",
        "Evaluation (100 DIV2K images, tiled inference and metrics on CPU) comes on top: see figures 3, 5 and 6.",
    ]
    return [fig]
