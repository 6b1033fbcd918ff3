"""Figure 6: the evaluation stage's CPU work per image (MATLAB degradation, bicubic and bilinear
upscaling, the four metric columns for each method) in images/min, how it scales with worker
processes (1 vs 2) and with image size (0.5, 1, 2, 4 MP); the model methods' time per image comes
from figure 3 (they run on the GPU in the div2k preset)."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from benchmarks.suite import Context, Figure

FIGURE_IDS = ["6"]
DIV2K = (1356, 2040)


def synthetic_photo(h: int, w: int, seed: int) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (max(h // 8, 2), max(w // 8, 2), 3), dtype=np.uint8)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(img.astype(np.int16) + rng.integers(-6, 7, img.shape), 0, 255).astype(np.uint8)


def evaluate_one(args: tuple[int, int, int, int]) -> float:
    """What the evaluate stage does on the CPU for one image; returns its seconds. ``threads``: OpenCV's
    thread count in this process (its filters run SSIM in parallel by default; 0 keeps the default)."""
    import cv2

    from sr_core import metrics
    from sr_core.resize import downscale, modcrop, upscale

    h, w, seed, threads = args
    if threads:
        cv2.setNumThreads(threads)
    hr = modcrop(synthetic_photo(h, w, seed), 4)
    start = time.perf_counter()
    lr = downscale(hr, 4)
    for method in ("bicubic", "bilinear"):
        metrics.score(hr, upscale(lr, 4, method), crop_border=4)
    return time.perf_counter() - start


def images_per_minute(ctx: Context, h: int, w: int, images: int, workers: int, threads: int = 1) -> float:
    jobs = [(h, w, seed, threads) for seed in range(images)]
    # spawned, not forked: a forked child of this TensorFlow/OpenCV process hangs in cv2.setNumThreads
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(evaluate_one, jobs[:workers]))  # warm-up: imports in every worker

        def run():
            list(pool.map(evaluate_one, jobs))

        seconds, _ = ctx.median(run, warmup=0)
    return images * 60.0 / seconds


def run(ctx: Context) -> list[Figure]:
    h, w = (339, 510) if ctx.smoke else DIV2K
    images = 2 if ctx.smoke else 6
    one = images_per_minute(ctx, h, w, images, 1)
    two = images_per_minute(ctx, h, w, images, 2)
    one_default = images_per_minute(ctx, h, w, images, 1, threads=0)
    two_default = images_per_minute(ctx, h, w, images, 2, threads=0)
    fig = ctx.figure("6", value=two, unit="images/min (2 worker processes, CPU methods + metrics)",
                     peer="1 worker process", peer_value=one, ratio=two / one)
    fig.columns = ["image", "megapixels", "workers x OpenCV threads", "images/min", "seconds per image",
                   "seconds per MP"]
    fig.rows = [[f"{w}x{h}", h * w / 1e6, label, rate, 60 / rate, 60 / rate / (h * w / 1e6)]
                for label, rate in (("1 x 1", one), ("2 x 1", two), ("1 x default", one_default),
                                    ("2 x default", two_default))]
    per_mp = []
    for mp in ((0.05, 0.1) if ctx.smoke else (0.5, 1.0, 2.0, 4.0)):
        sh = int(round((mp * 1e6 / 1.5) ** 0.5 / 4)) * 4
        sw = int(round(sh * 1.5 / 4)) * 4
        seconds, _ = ctx.median(lambda: evaluate_one((sh, sw, 0, 0)))
        per_mp.append(seconds / (sh * sw / 1e6))
        fig.rows.append([f"{sw}x{sh}", sh * sw / 1e6, "1 x default", 60 / seconds, seconds, seconds / (sh * sw / 1e6)])
    spread = max(per_mp) / min(per_mp)
    fig.met = None if ctx.smoke else bool(two / one >= 1.8 and spread <= 1.25)
    fig.summary = (f"{w}x{h} (DIV2K-size) synthetic photos, x4: degrade, bicubic + bilinear, four metric columns "
                   f"each. With one OpenCV thread per process, 2 workers give {two / one:.2f}x the images/min of "
                   f"1 (scaling with cores); with OpenCV's default threads one worker already uses part of the "
                   f"second core ({one_default:.0f} vs {one:.0f} images/min) and 2 give {two_default / one_default:.2f}x. "
                   f"Seconds per megapixel vary by {spread:.2f}x from 0.5 to 4 MP (1.00 = linear).")
    fig.notes = ["Model methods add their figure-3 time per image (SRResNet ~0.2 output MP/s on this CPU): "
                 "on a CPU-only night they dominate the evaluation; the div2k preset runs them on the GPU.",
                 "The 2-core machine is shared: the 1 -> 2 worker ratio is bounded by the other jobs' load "
                 "(see the load average)."]
    fig.limits = ("The work is per image and independent (no shared state, no lock), so what a second worker "
                  "gains is what the second core can give: both share the L3 cache and the memory bus, and the "
                  "machine's own load (see the load average; the benchmark's parent process, the system) takes "
                  "part of it. With one OpenCV thread per worker the ratio measures processes alone; with OpenCV's "
                  "default threads one worker already borrows part of the second core. A machine with more cores "
                  "than workers (a GPU worker) is where the 1.8x is to be had.")
    return [fig]
