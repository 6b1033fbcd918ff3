"""Metric fidelity: bicubic x4 on Set5 / Set14 with srbench's metrics next to the published numbers.

HR modcropped to 4, MATLAB bicubic down and up (``sr_core.resize``), Y = BT.601 luma (unrounded),
4 px border crop, Gaussian SSIM; published: SRCNN/VDSR/EDSR papers. Needs ``../shared/datasets``.
"""

from __future__ import annotations

import numpy as np

from benchmarks.suite import DATASETS, NOT_MEASURED, Context, Figure, held_out_pairs

FIGURE_IDS = ["fidelity"]
PUBLISHED = {"Set5": (28.42, 0.8104), "Set14": (26.00, 0.7027)}


def bicubic_baseline(folder, scale: int = 4, limit: int | None = None) -> list[float]:
    from sr_core import metrics
    from sr_core.resize import upscale

    rows = []
    for _, hr, lr in held_out_pairs(folder, scale, limit):
        s = metrics.score(hr, upscale(lr, scale, "bicubic"), crop_border=scale)
        rows.append((s["psnr_y"], s["ssim_y"], s["psnr_rgb"], s["ssim_rgb"]))
    return [len(rows), *np.mean(rows, axis=0).tolist()]


def run(ctx: Context) -> list[Figure]:
    fig = ctx.figure("fidelity", unit="dB", peer="published Set5 Y-PSNR")
    fig.columns = ["dataset", "images", "Y-PSNR", "Y-SSIM", "published Y-PSNR", "published Y-SSIM",
                   "RGB-PSNR", "RGB-SSIM"]
    diffs = []
    for name, (p, s) in PUBLISHED.items():
        folder = DATASETS / name
        if not folder.is_dir():
            fig.notes.append(f"{name}: skipped, {folder} not found")
            continue
        n, py, sy, pr, sr = bicubic_baseline(folder, limit=2 if ctx.smoke else None)
        fig.rows.append([name, n, py, sy, p, s, pr, sr])
        diffs.append((abs(py - p), abs(sy - s)))
        if name == "Set5":
            fig.value, fig.peer_value, fig.ratio = py, p, py - p
    if not diffs:
        fig.status = NOT_MEASURED
        fig.summary = f"not measured: {DATASETS} is absent"
        return [fig]
    fig.met = None if ctx.smoke else all(dp <= 0.1 and ds <= 0.005 for dp, ds in diffs)
    fig.notes.append("ratio column: Y-PSNR minus published (dB). Rounding Y to integers as MATLAB's rgb2ycbcr "
                     "does gives Set5 28.42 / 0.8101; Set14's +0.08 dB comes from this copy of Set14.")
    return [fig]
