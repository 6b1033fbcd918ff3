"""Metric fidelity and speed.

1. Bicubic x4 baselines on Set5 / Set14 with srbench's pipeline (HR modcropped to a multiple of 4,
   MATLAB bicubic degradation, MATLAB bicubic upscale, Y = BT.601 luma, 4 px border crop, Gaussian
   SSIM) next to the published numbers (SRCNN/VDSR/EDSR papers: Set5 28.42 / 0.8104, Set14 26.00 /
   0.7027). Needs ``/work/shared/datasets`` (or ``--datasets DIR``); skipped when absent.
2. Speed of every column on a DIV2K-sized (2040x1356) image: median of N calls.

    .venv/bin/python benchmarks/metrics_bench.py [--datasets DIR] [--repeat 3]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from sr_core import metrics
from sr_core.resize import downscale, modcrop, upscale

PUBLISHED = {"Set5": (28.42, 0.8104), "Set14": (26.00, 0.7027)}


def bicubic_baseline(folder: Path, scale: int = 4) -> tuple[int, float, float, float, float]:
    from sr_core.images import read_image

    rows = []
    for path in sorted(folder.iterdir()):
        hr = modcrop(read_image(path), scale)
        sr = upscale(downscale(hr, scale), scale, "bicubic")
        s = metrics.score(hr, sr, crop_border=scale)
        rows.append((s["psnr_y"], s["ssim_y"], s["psnr_rgb"], s["ssim_rgb"]))
    a = np.array(rows)
    return (len(rows), *a.mean(axis=0))


def _median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, default=Path("/work/shared/datasets"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, numpy {np.__version__}")
    print("\n| dataset | images | Y-PSNR (ours) | Y-SSIM (ours) | published Y-PSNR / Y-SSIM | RGB-PSNR | RGB-SSIM |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (p, s) in PUBLISHED.items():
        folder = args.datasets / name
        if not folder.is_dir():
            print(f"| {name} | – | skipped: {folder} not found | | {p:.2f} / {s:.4f} | | |")
            continue
        n, psnr_y, ssim_y, psnr_rgb, ssim_rgb = bicubic_baseline(folder)
        print(f"| {name} | {n} | {psnr_y:.2f} | {ssim_y:.4f} | {p:.2f} / {s:.4f} | {psnr_rgb:.2f} | {ssim_rgb:.4f} |")

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (1356, 2040, 3), dtype=np.uint8)
    sr = np.clip(hr.astype(int) + rng.integers(-8, 9, hr.shape), 0, 255).astype(np.uint8)
    print(f"\n| column (2040x1356 image) | median seconds ({args.repeat} calls) |")
    print("|---|---:|")
    for label, fn in [("psnr_rgb (skimage)", lambda: metrics.psnr_rgb(hr, sr)),
                      ("ssim_rgb (skimage, 7x7 uniform)", lambda: metrics.ssim_rgb(hr, sr)),
                      ("psnr_y", lambda: metrics.psnr_y(hr, sr, 4)),
                      ("ssim_y (Gaussian 11x11, cv2 filtering)", lambda: metrics.ssim_y(hr, sr, 4)),
                      ("score() - all four", lambda: metrics.score(hr, sr, 4))]:
        print(f"| {label} | {_median(fn, args.repeat):.3f} |")


if __name__ == "__main__":
    main()
