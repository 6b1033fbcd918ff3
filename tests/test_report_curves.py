"""Training curves in the report: the plotted points are the CSV's points."""

from __future__ import annotations

import math
import re

import pytest

from sr_core.report.curves import copy_curves, curves_section

CSV = """step,loss,lr,val_psnr_y,seconds
0,0.08,0.001,24.0,0.5
10,0.02,0.001,,1.0
20,0.01,0.001,26.5,1.5
40,0.004,0.0005,27.25,2.5
"""
SRGAN_CSV = """step,g_loss,content_loss,adversarial_loss,d_loss,g_lr,d_lr,val_psnr_y,seconds
0,1.0,0.9,0.1,1.3,0.0001,0.0001,25.0,1
30,0.5,0.45,0.05,1.1,0.0001,0.0001,25.5,2
"""


def _polylines(svg: str) -> dict[str, list[tuple[float, float]]]:
    out = {}
    for points, title in re.findall(r'<polyline points="([^"]+)"[^>]*><title>([^<]+)</title>', svg):
        out[title] = [tuple(map(float, p.split(","))) for p in points.split()]
    return out


def _same_shape(pixels: list[tuple[float, float]], data: list[tuple[float, float]]) -> None:
    """The pixel points are an affine image of the data points (x right, y up), to the 0.1 px rounding."""
    assert len(pixels) == len(data)
    (px0, py0), (px1, py1) = pixels[0], pixels[-1]
    (dx0, dy0), (dx1, dy1) = data[0], data[-1]
    for (px, py), (dx, dy) in zip(pixels, data):
        assert (px - px0) == pytest.approx((dx - dx0) / (dx1 - dx0) * (px1 - px0), abs=0.11)
        assert (py - py0) == pytest.approx((dy - dy0) / (dy1 - dy0) * (py1 - py0), abs=0.11)
    assert px1 > px0 and (py1 < py0) == (dy1 > dy0)  # y grows upwards


def test_the_plotted_points_are_the_csv_points(tmp_path):
    ckpt = tmp_path / "checkpoints" / "srcnn-abc"
    ckpt.mkdir(parents=True)
    (ckpt / "curves.csv").write_text(CSV)
    (tmp_path / "srgan.csv").write_text(SRGAN_CSV)
    run = tmp_path / "reports" / "smoke-1"
    copied = copy_curves(run, {"srcnn": ckpt, "srgan": tmp_path / "srgan.csv", "srresnet": tmp_path / "none"})
    assert [p.name for p in copied] == ["srcnn.csv", "srgan.csv"]
    assert (run / "curves" / "srcnn.csv").read_text() == CSV  # the run folder renders on its own

    html = curves_section(run, {"srcnn": "SRCNN", "srgan": "SRGAN-MSE"})
    loss_svg, psnr_svg = html.split("<h3>Validation Y-PSNR</h3>")
    losses, psnrs = _polylines(loss_svg), _polylines(psnr_svg)
    assert set(losses) == {"SRCNN (loss)", "SRGAN-MSE (g_loss)"} and set(psnrs) == {"SRCNN", "SRGAN-MSE"}
    # Loss on a log scale: every row; validation PSNR: the rows that have one (step 10 has none).
    _same_shape(losses["SRCNN (loss)"], [(0, math.log10(0.08)), (10, math.log10(0.02)),
                                          (20, math.log10(0.01)), (40, math.log10(0.004))])
    _same_shape(psnrs["SRCNN"], [(0, 24.0), (20, 26.5), (40, 27.25)])
    _same_shape(psnrs["SRGAN-MSE"], [(0, 25.0), (30, 25.5)])


def test_no_curves_no_section(tmp_path):
    assert curves_section(tmp_path, {}) == ""
