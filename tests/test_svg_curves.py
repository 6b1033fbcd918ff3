"""Training-curve plots: points land where their values say, on linear and log scales."""

from __future__ import annotations

import math
import re

from sr_core.report.svg import curve_plot


def _polyline(svg: str, n: int = 0) -> list[tuple[float, float]]:
    points = re.findall(r'<polyline points="([^"]+)"', svg)[n]
    return [tuple(map(float, p.split(","))) for p in points.split()]


def test_points_are_placed_by_value_and_step():
    svg = curve_plot([("SRCNN loss", [(0, 10.0), (50, 20.0), (100, 30.0)])], unit="loss")
    (x0, y0), (x1, y1), (x2, y2) = _polyline(svg)
    assert x0 < x1 < x2 and y0 > y1 > y2  # larger values are higher up (smaller SVG y)
    assert math.isclose(x1 - x0, x2 - x1) and math.isclose(y0 - y1, y1 - y2)  # linear in both


def test_log_scale_spaces_decades_evenly():
    svg = curve_plot([("loss", [(0, 1.0), (1, 0.1), (2, 0.01), (3, -1.0), (4, float("nan"))])],
                     unit="MSE", log_scale=True)
    pts = _polyline(svg)
    assert len(pts) == 3  # the negative and NaN values are left out
    (_, a), (_, b), (_, c) = pts
    assert math.isclose(b - a, c - b) and b > a
    assert "log10 MSE" in svg and "0.01" in svg  # the last point's hover shows the real value


def test_series_are_coloured_and_labelled_and_escaped():
    svg = curve_plot([("SRResNet", [(0, 28.0), (10, 29.0)]), ('<b>"x"</b>', [(0, 27.0), (10, 27.5)])],
                     unit="val Y-PSNR (dB)")
    assert len(re.findall("<polyline", svg)) == 2
    assert "&lt;b&gt;&quot;x&quot;&lt;/b&gt;" in svg and "<b>" not in svg


def test_no_finite_values_says_so():
    assert "No training curve" in curve_plot([("a", [(0, float("nan"))])], unit="loss")
