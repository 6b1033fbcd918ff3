"""Degradation speed and fidelity: srbench's MATLAB-exact imresize vs OpenCV's resize in the same run."""

from __future__ import annotations

import numpy as np

from benchmarks.suite import Context, Figure

FIGURE_IDS = ["resize"]


def run(ctx: Context) -> list[Figure]:
    import cv2

    from sr_core.resize import downscale, upscale

    h, w = (340, 512) if ctx.smoke else (1356, 2040)
    rng = np.random.default_rng(0)
    hr = cv2.resize(rng.integers(0, 256, (h // 8, w // 8, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    lr = downscale(hr, 4)
    cases = [
        ("x4 down, srbench (MATLAB bicubic, antialiased)", lambda: downscale(hr, 4), "down"),
        ("x4 down, cv2 INTER_AREA (baseline)", lambda: cv2.resize(hr, (w // 4, h // 4), interpolation=cv2.INTER_AREA), "down"),
        ("x4 down, cv2 INTER_CUBIC (no antialias)", lambda: cv2.resize(hr, (w // 4, h // 4), interpolation=cv2.INTER_CUBIC), "down"),
        ("x4 up, srbench (MATLAB bicubic)", lambda: upscale(lr, 4), "up"),
        ("x4 up, cv2 INTER_CUBIC (baseline)", lambda: cv2.resize(lr, (w, h), interpolation=cv2.INTER_CUBIC), "up"),
    ]
    times = {label: ctx.median(fn)[0] for label, fn, _ in cases}
    base = {"down": times[cases[1][0]], "up": times[cases[4][0]]}
    fig = ctx.figure("resize", unit="ms", peer="cv2 INTER_AREA")
    fig.columns = ["operation", "ms (median)", "x vs OpenCV baseline"]
    fig.rows = [[label, times[label] * 1000, times[label] / base[kind]] for label, _, kind in cases]
    fig.value, fig.peer_value = times[cases[0][0]] * 1000, base["down"] * 1000
    fig.ratio = times[cases[0][0]] / base["down"]
    exact = downscale(hr, 4).astype(np.int16)
    for label, interp in (("INTER_AREA", cv2.INTER_AREA), ("INTER_CUBIC", cv2.INTER_CUBIC)):
        diff = np.abs(cv2.resize(hr, (w // 4, h // 4), interpolation=interp).astype(np.int16) - exact)
        fig.notes.append(f"cv2 {label} vs the MATLAB-exact x4 downscale: max {diff.max()}, mean {diff.mean():.2f} "
                         "gray levels, so OpenCV is no substitute for the degradation.")
    fig.summary = f"{w}x{h} synthetic photo-like image; at ~0.1 s per DIV2K image the degradation is a small part of prepare."
    return [fig]
