"""Training curves in the report: each model's loss and validation Y-PSNR against the step.

The curves are copied into the run folder (``curves/<model>.csv``, the training's own
``curves.csv``) when the report is written, so a published run folder renders on its own.
"""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

from sr_core.report.svg import curve_plot

CURVES_DIR = "curves"
LOSS_COLUMNS = ("loss", "g_loss")  # pixel-loss models log 'loss'; SRGAN's generator logs 'g_loss'


def copy_curves(run_dir: str | Path, sources: dict[str, str | Path]) -> list[Path]:
    """Copy each model's ``curves.csv`` (a file, or the folder holding one) to ``curves/<model>.csv``."""
    out = []
    for name, source in sources.items():
        source = Path(source)
        source = source / "curves.csv" if source.is_dir() else source
        if not source.is_file():
            continue
        target = Path(run_dir) / CURVES_DIR / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(target)
        out.append(target)
    return out


def read_curve_file(path: str | Path) -> list[dict[str, float]]:
    """The rows of one curves CSV as floats (empty or unreadable cells become NaN)."""
    def number(text: str | None) -> float:
        try:
            return float(text) if text not in (None, "") else math.nan
        except ValueError:
            return math.nan

    with open(path, newline="") as fh:
        return [{k: number(v) for k, v in row.items() if k} for row in csv.DictReader(fh)]


def run_curves(run_dir: str | Path) -> dict[str, list[dict[str, float]]]:
    """``{model: rows}`` of the curves copied into a run folder, by model name."""
    folder = Path(run_dir) / CURVES_DIR
    if not folder.is_dir():
        return {}
    return {path.stem: read_curve_file(path) for path in sorted(folder.glob("*.csv"))}


def curve_lines(curves: dict[str, list[dict[str, float]]], labels: dict[str, str]
                ) -> tuple[list[tuple[str, list[tuple[float, float]]]], list[tuple[str, list[tuple[float, float]]]]]:
    """The (loss, validation Y-PSNR) series of each model: ``(label, [(step, value), ...])``."""
    losses, psnrs = [], []
    for name, rows in curves.items():
        label = labels.get(name, name)
        column = next((c for c in LOSS_COLUMNS if rows and c in rows[0]), None)
        if column is not None:
            losses.append((f"{label} ({column})", [(r["step"], r[column]) for r in rows
                                                  if math.isfinite(r.get(column, math.nan))]))
        points = [(r["step"], r["val_psnr_y"]) for r in rows if math.isfinite(r.get("val_psnr_y", math.nan))]
        if points:
            psnrs.append((label, points))
    return losses, psnrs


def curves_section(run_dir: str | Path, labels: dict[str, str]) -> str:
    """The report's "Training curves" section, or '' when the run trained nothing here."""
    curves = run_curves(run_dir)
    if not curves:
        return ""
    losses, psnrs = curve_lines(curves, labels)
    parts = ['<section id="training-curves"><h2>Training curves</h2>',
             '<p class="muted">From each model\'s curves.csv (copied into this run folder); the loss on '
             'a log scale, the Y-PSNR on the held-out validation patches.</p>']
    if losses:
        parts += ["<h3>Training loss</h3>", curve_plot(losses, unit="loss", log_scale=True)]
    if psnrs:
        parts += ["<h3>Validation Y-PSNR</h3>", curve_plot(psnrs, unit="Y-PSNR (dB)")]
    parts.append("</section>")
    return "\n".join(parts)
