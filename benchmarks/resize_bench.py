"""Degradation speed and fidelity: srbench's MATLAB imresize vs OpenCV on a DIV2K-sized image.

Prints wall time per call (median of N) and the ratio to OpenCV's resize measured in the same run,
plus how far OpenCV's (non-MATLAB) kernels land from the MATLAB-exact result.

    .venv/bin/python benchmarks/resize_bench.py [--repeat 5] [--image PATH]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import cv2
import numpy as np

from sr_core.resize import downscale, upscale


def _median_seconds(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--image", help="HR image (default: a 2040x1356 synthetic photo-like image)")
    args = parser.parse_args()
    if args.image:
        from sr_core.images import read_image

        hr = read_image(args.image)
    else:
        rng = np.random.default_rng(0)
        base = rng.integers(0, 256, (1356 // 8, 2040 // 8, 3), dtype=np.uint8)
        hr = cv2.resize(base, (2040, 1356), interpolation=cv2.INTER_CUBIC)
    h, w = hr.shape[:2]
    lr = downscale(hr, 4)
    print(f"machine: {platform.machine()} {platform.processor() or ''} cores={__import__('os').cpu_count()}")
    print(f"HR {w}x{h}, LR {lr.shape[1]}x{lr.shape[0]}, median of {args.repeat}")

    rows = [
        ("x4 down  srbench (MATLAB bicubic, antialiased)", lambda: downscale(hr, 4)),
        ("x4 down  cv2 INTER_AREA (baseline)", lambda: cv2.resize(hr, (w // 4, h // 4), interpolation=cv2.INTER_AREA)),
        ("x4 down  cv2 INTER_CUBIC (no antialias)", lambda: cv2.resize(hr, (w // 4, h // 4), interpolation=cv2.INTER_CUBIC)),
        ("x4 up    srbench (MATLAB bicubic)", lambda: upscale(lr, 4)),
        ("x4 up    cv2 INTER_CUBIC (baseline)", lambda: cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC)),
    ]
    timings = {name: _median_seconds(fn, args.repeat) for name, fn in rows}
    base_down = timings["x4 down  cv2 INTER_AREA (baseline)"]
    base_up = timings["x4 up    cv2 INTER_CUBIC (baseline)"]
    for name, seconds in timings.items():
        base = base_down if "down" in name else base_up
        print(f"{name:48s} {seconds * 1000:8.1f} ms   x{seconds / base:6.1f} vs baseline")

    matlab_down = downscale(hr, 4).astype(np.int16)
    for label, interp in (("INTER_AREA", cv2.INTER_AREA), ("INTER_CUBIC", cv2.INTER_CUBIC)):
        other = cv2.resize(hr, (w // 4, h // 4), interpolation=interp).astype(np.int16)
        diff = np.abs(other - matlab_down)
        print(f"cv2 {label:11s} vs MATLAB-exact x4 down: max |diff| {diff.max()}, mean {diff.mean():.2f} gray levels")
    up_diff = np.abs(cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC).astype(np.int16) - upscale(lr, 4))
    print(f"cv2 INTER_CUBIC vs MATLAB-exact x4 up:   max |diff| {up_diff.max()}, mean {up_diff.mean():.2f} gray levels")


if __name__ == "__main__":
    main()
