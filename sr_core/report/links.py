"""Where people open a night's results: public URLs of a report and of its most telling crop.

``SRBENCH_REPORTS_URL`` (``cfg.reports_public_url``) is the public base URL of the reports root:
the bucket's HTTPS endpoint, a CDN, or an internal static site serving the same files. Without it
the links point at the shared root's URL (``s3://...``) or, for a local reports dir, a ``file://``
URI on the worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd

from sr_core import catalog
from sr_core.config import PipelineConfig
from sr_core.lifecycle import describe_changes
from sr_core.results import asset_relpath, read_metrics
from sr_core.runrecords import RunDir
from sr_core.store import Store


def public_base(cfg: PipelineConfig) -> str | None:
    """The https (or other browser-openable) base URL of the reports root, if one is configured."""
    return cfg.reports_public_url.rstrip("/") if cfg.reports_public_url else None


def run_file_url(cfg: PipelineConfig, run_id: str, rel: str) -> str:
    """The URL of a file of a run folder: public (https) when configured, else where it lives."""
    base = public_base(cfg)
    if base:
        return f"{base}/{quote(run_id)}/{quote(rel)}"
    if cfg.reports_url:
        return Store(cfg.reports_url).url(f"{run_id}/{rel}")
    return (Path(cfg.reports_dir) / run_id / rel).resolve().as_uri()


def report_url(cfg: PipelineConfig, run_id: str) -> str:
    return run_file_url(cfg, run_id, RunDir.REPORT)


@dataclass(frozen=True)
class Crop:
    """The crop where a learned model gained most over bicubic (Y-PSNR), and its image."""

    image_id: str
    region: str
    method: str
    gain_db: float
    relpath: str  # the model's crop, relative to the run folder

    @property
    def caption(self) -> str:
        return (f"{catalog.method_label(self.method)} on {self.image_id} / {self.region}: "
                f"{self.gain_db:+.2f} dB Y-PSNR vs bicubic")


def most_improved_crop(run: RunDir) -> Crop | None:
    """The (image, crop, learned method) with the largest Y-PSNR gain over bicubic; None when the
    run scored no crops, no bicubic or no learned model."""
    if not run.metrics.is_file():
        return None
    df = read_metrics(run.metrics)
    crops = df[df["region"] != "full"]
    base = crops[crops["method"] == "bicubic"].set_index(["image_id", "region"])["psnr_y"]
    best: tuple[float, Any] | None = None
    for row in crops[crops["method"].map(lambda m: not catalog.is_interpolation(m))].itertuples():
        ref = base.get((row.image_id, row.region))
        if ref is None or pd.isna(ref) or not math.isfinite(float(row.psnr_y)):
            continue
        gain = float(row.psnr_y) - float(ref)
        if best is None or gain > best[0]:
            best = (gain, row)
    if best is None:
        return None
    gain, row = best
    rel = asset_relpath(str(row.image_id), str(row.region), str(row.method))
    if not (run.path / rel).is_file():
        return None
    return Crop(image_id=str(row.image_id), region=str(row.region), method=str(row.method), gain_db=gain,
                relpath=rel)


def what_changed(run: RunDir) -> list[str]:
    """The run record's "what changed since the previous comparable night" lines."""
    record = run.read_run()
    return describe_changes(record.changes) if record is not None else []


def models_tonight(run: RunDir) -> list[str]:
    """Per model: "srcnn: trained tonight: N steps in T s" or "srcnn: reused from run R"."""
    record = run.read_run()
    return [f"{m}: {t.describe()}" for m, t in record.trained.items()] if record is not None else []