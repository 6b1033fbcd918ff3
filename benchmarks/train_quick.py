"""Train the quick preset's models and score them against bicubic on the held-out validation images.

Usage:
    .venv/bin/python benchmarks/train_quick.py [--data-dir DIR] [--models srcnn,srresnet,srgan]
                                               [--set KEY=VALUE ...] [--fresh]

Prints, per model: steps, wall seconds of training, steps/s, and the mean Y-PSNR (BT.601, border
crop = scale, whole images) on the validation split next to MATLAB bicubic's, plus the mean
gradient magnitude (sharpness) of each output. Trains the way `srbench train` does (train_model),
so checkpoints under DATA_DIR are resumed; --fresh deletes this config's checkpoints first.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sr_core.quiet import configure_noise  # noqa: E402

configure_noise(False)

from sr_core import layout  # noqa: E402
from sr_core.catalog import MODEL_NAMES, model_spec  # noqa: E402
from sr_core.config import load_config  # noqa: E402
from sr_core.metrics import psnr_y, rgb_to_y  # noqa: E402
from sr_core.resize import upscale  # noqa: E402


def gradient_magnitude(img: np.ndarray) -> float:
    """Mean |grad Y| (central differences): a simple sharpness measure."""
    gy, gx = np.gradient(rgb_to_y(img))
    return float(np.mean(np.hypot(gx, gy)))


def score(images, upscaler, scale: int) -> dict[str, float]:
    psnrs, grads = [], []
    for record in images:
        sr = upscaler(record.lr)
        psnrs.append(psnr_y(record.hr, sr, crop_border=scale))
        grads.append(gradient_magnitude(sr))
    return {"psnr_y": float(np.mean(psnrs)), "per_image": [round(p, 3) for p in psnrs],
            "grad": float(np.mean(grads))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default="data/bench-quick")
    parser.add_argument("--models", default=",".join(MODEL_NAMES))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    parser.add_argument("--fresh", action="store_true", help="delete this config's checkpoints first")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args()

    from sr_core.records import prepare_patches
    from sr_core.sources import iter_pairs
    from sr_core.training import train_model
    from sr_core.training.loop import predict_pixels

    cfg = load_config("quick", args.overrides, data_dir=args.data_dir)
    scale = cfg.data.scale
    wall = {}
    t0 = time.perf_counter()
    patch_dir = prepare_patches(cfg)
    wall["prepare"] = time.perf_counter() - t0
    print(f"patches: {patch_dir} ({wall['prepare']:.1f}s)", flush=True)
    images = list(iter_pairs(cfg, "validation"))
    print("validation images:", ", ".join(f"{r.image_id} {r.hr.shape[1]}x{r.hr.shape[0]}" for r in images))

    results = {"bicubic": score(images, lambda lr: upscale(lr, scale), scale)}
    exports = {}
    for name in args.models.split(","):
        if args.fresh:
            shutil.rmtree(layout.checkpoint_dir(cfg, name), ignore_errors=True)
        t = time.perf_counter()
        requires = model_spec(name).requires
        init = exports[requires[0]].path if requires and requires[0] in exports else None
        result = train_model(cfg, name, patch_dir, generator_init=init, show_progress=False)
        wall[name] = time.perf_counter() - t
        exports[name] = result
        from sr_core.export import load_model

        model = load_model(result.path)
        t = time.perf_counter()
        results[name] = score(images, lambda lr: predict_pixels(model, lr[None])[0], scale)
        results[name].update(steps=result.step, train_seconds=round(result.seconds, 1), wall_seconds=round(wall[name], 1),
                             steps_per_second=round(result.metrics.get("steps_per_second", float("nan")), 3),
                             val_patch_psnr_y=round(result.metrics.get("val_psnr_y", float("nan")), 3),
                             eval_seconds=round(time.perf_counter() - t, 1))
        print(f"{name}: {json.dumps(results[name])}", flush=True)

    base = results["bicubic"]["psnr_y"]
    print("\nmodel      steps  train_s  steps/s  Y-PSNR   vs bicubic  grad")
    for name, r in results.items():
        print(f"{name:9s} {r.get('steps', '-'):>6} {r.get('train_seconds', '-'):>8} {r.get('steps_per_second', '-'):>8} "
              f"{r['psnr_y']:7.3f}  {r['psnr_y'] - base:+7.3f}   {r['grad']:6.3f}   {r['per_image']}")
    print(f"wall seconds: {json.dumps({k: round(v, 1) for k, v in wall.items()})}, total {time.perf_counter() - t0:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "wall": wall, "overrides": args.overrides}, indent=2))


if __name__ == "__main__":
    main()
