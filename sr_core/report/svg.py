"""Small inline SVG plots (no plotting library, no network): distributions and trends."""

from __future__ import annotations

import math
from html import escape

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _nice_range(values: list[float]) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    return math.floor((lo - pad) * 2) / 2, math.ceil((hi + pad) * 2) / 2


def _ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    step = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(step)) if step > 0 else 1
    step = min((m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= step), default=step)
    first = math.ceil(lo / step) * step
    out, v = [], first
    while v <= hi + 1e-9:
        out.append(round(v, 6))
        v += step
    return out


# Room right of the plot for legend labels such as 'SRResNet (4x32, skip)@champion' (about 6.5 px a
# character at the tick font size).
LEGEND_WIDTH = 230


def _legend_entry(n: int, label: str, right: int, top: int) -> str:
    """The ``n``-th swatch and label of a legend to the right of the plot area."""
    ly = top + 10 + 18 * n
    return (f'<rect x="{right + 14}" y="{ly - 8}" width="12" height="12" fill="{colour(n)}"/>'
            f'<text x="{right + 32}" y="{ly + 2}" class="tick">{escape(label)}</text>')


def _axis(lo: float, hi: float, y_of, left: int, right: int, unit: str) -> list[str]:
    parts = []
    for t in _ticks(lo, hi):
        y = y_of(t)
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{t:g}</text>')
    parts.append(f'<text x="14" y="{y_of((lo + hi) / 2):.1f}" class="axis-label" '
                 f'transform="rotate(-90 14 {y_of((lo + hi) / 2):.1f})" text-anchor="middle">{escape(unit)}</text>')
    return parts


def distribution_plot(series: list[tuple[str, list[tuple[str, float]]]], *, unit: str = "Y-PSNR (dB)",
                      width: int = 720, height: int = 280) -> str:
    """One column of dots per method (one dot per image, hover for its id) and a bar at the mean."""
    values = [v for _, pts in series for _, v in pts if math.isfinite(v)]
    if not values:
        return '<p class="muted">No finite values to plot.</p>'
    lo, hi = _nice_range(values)
    left, right, top, bottom = 60, width - 10, 12, height - 34
    col = (right - left) / max(1, len(series))

    def y_of(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" '
             f'role="img" aria-label="{escape(unit)} distribution per method">']
    parts += _axis(lo, hi, y_of, left, right, unit)
    for i, (label, pts) in enumerate(series):
        cx = left + col * (i + 0.5)
        finite = [(name, v) for name, v in pts if math.isfinite(v)]
        for j, (name, v) in enumerate(finite):
            # Deterministic jitter so overlapping images stay visible.
            dx = ((j * 0.618034) % 1 - 0.5) * min(col * 0.5, 60)
            parts.append(f'<circle cx="{cx + dx:.1f}" cy="{y_of(v):.1f}" r="3.2" fill="{colour(i)}" '
                         f'fill-opacity="0.7"><title>{escape(name)}: {v:.2f}</title></circle>')
        if finite:
            mean = sum(v for _, v in finite) / len(finite)
            half = min(col * 0.35, 45)
            parts.append(f'<line x1="{cx - half:.1f}" x2="{cx + half:.1f}" y1="{y_of(mean):.1f}" '
                         f'y2="{y_of(mean):.1f}" stroke="#222" stroke-width="2"><title>mean {mean:.2f}'
                         f'</title></line>')
        parts.append(f'<text x="{cx:.1f}" y="{height - 12}" text-anchor="middle" class="tick">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def trend_plot(runs: list[str], lines: list[tuple[str, list[float | None]]], *, highlight: str | None = None,
               tick_labels: list[str] | None = None, unit: str = "mean Y-PSNR (dB)", width: int = 720, height: int = 280) -> str:
    """One line per method across runs (oldest left); ``highlight`` marks this run's column.

    ``tick_labels`` (e.g. start times) label the x axis instead of the run ids; hovering a point
    shows its run id.
    """
    values = [v for _, vs in lines for v in vs if v is not None and math.isfinite(v)]
    if not values or not runs:
        return '<p class="muted">No history yet.</p>'
    lo, hi = _nice_range(values)
    left, right, top, bottom = 60, width - LEGEND_WIDTH, 12, height - 40
    step = (right - left) / max(1, len(runs) - 1)

    def x_of(i: int) -> float:
        return left + step * i if len(runs) > 1 else (left + right) / 2

    def y_of(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" '
             f'role="img" aria-label="{escape(unit)} across runs">']
    parts += _axis(lo, hi, y_of, left, right, unit)
    if highlight in runs:
        x = x_of(runs.index(highlight))
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" class="now"/>')
    label_every = max(1, math.ceil(len(runs) / 8))
    for i, run in enumerate(runs):
        if i % label_every == 0 or i == len(runs) - 1:
            short = tick_labels[i] if tick_labels else (run if len(run) <= 16 else run[:15] + "…")
            parts.append(f'<text x="{x_of(i):.1f}" y="{height - 22}" text-anchor="middle" class="tick">'
                         f'{escape(short)}</text>')
    for n, (label, vs) in enumerate(lines):
        pts = [(x_of(i), y_of(v), runs[i], v) for i, v in enumerate(vs) if v is not None and math.isfinite(v)]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour(n)}" stroke-width="2"/>')
        for x, y, run, v in pts:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour(n)}"><title>'
                         f'{escape(label)} {escape(run)}: {v:.2f}</title></circle>')
        parts.append(_legend_entry(n, label, right, top))
    parts.append("</svg>")
    return "".join(parts)


def _legend_entry(n: int, label: str, right: float, top: float) -> str:
    """Line ``n``'s colour swatch and label, right of the plot area."""
    ly = top + 10 + 18 * n
    return (f'<rect x="{right + 14}" y="{ly - 8}" width="12" height="12" fill="{colour(n)}"/>'
            f'<text x="{right + 32}" y="{ly + 2}" class="tick">{escape(label)}</text>')


def curve_plot(lines: list[tuple[str, list[tuple[float, float]]]], *, unit: str, x_unit: str = "step",
               log_scale: bool = False, width: int = 720, height: int = 260) -> str:
    """One line per series of ``(x, y)`` points, e.g. a model's training loss or validation Y-PSNR
    against the step. ``log_scale`` plots ``log10(y)`` (losses fall over decades); non-finite and,
    on a log scale, non-positive values are left out."""
    def keep(y: float) -> bool:
        return math.isfinite(y) and (y > 0 if log_scale else True)

    def scaled(y: float) -> float:
        return math.log10(y) if log_scale else y

    points = [[(x, scaled(y)) for x, y in pts if math.isfinite(x) and keep(y)] for _, pts in lines]
    values = [y for pts in points for _, y in pts]
    steps = [x for pts in points for x, _ in pts]
    if not values:
        return '<p class="muted">No training curve recorded.</p>'
    lo, hi = _nice_range(values)
    x_lo, x_hi = min(steps), max(steps)
    x_hi = x_hi if x_hi > x_lo else x_lo + 1
    left, right, top, bottom = 60, width - LEGEND_WIDTH, 12, height - 40

    def x_of(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * (right - left)

    def y_of(v: float) -> float:
        return bottom - (v - lo) / (hi - lo) * (bottom - top)

    label = f"log10 {unit}" if log_scale else unit
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="plot" '
             f'role="img" aria-label="{escape(label)} against {escape(x_unit)}">']
    parts += _axis(lo, hi, y_of, left, right, label)
    for t in _ticks(x_lo, x_hi):
        parts.append(f'<text x="{x_of(t):.1f}" y="{height - 22}" text-anchor="middle" class="tick">{t:g}</text>')
    parts.append(f'<text x="{(left + right) / 2:.1f}" y="{height - 6}" text-anchor="middle" '
                 f'class="axis-label">{escape(x_unit)}</text>')
    for n, ((name, _), pts) in enumerate(zip(lines, points)):
        if len(pts) > 1:
            path = " ".join(f"{x_of(x):.1f},{y_of(y):.1f}" for x, y in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour(n)}" stroke-width="2">'
                         f'<title>{escape(name)}</title></polyline>')
        elif pts:
            (x, y), = pts
            parts.append(f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="3.5" fill="{colour(n)}">'
                         f'<title>{escape(name)}</title></circle>')
        if pts:
            x, y = pts[-1]
            shown = 10 ** y if log_scale else y
            parts.append(f'<circle cx="{x_of(x):.1f}" cy="{y_of(y):.1f}" r="3" fill="{colour(n)}"><title>'
                         f'{escape(name)} at {x_unit} {x:g}: {shown:.4g}</title></circle>')
        parts.append(_legend_entry(n, name, right, top))
    parts.append("</svg>")
    return "".join(parts)
