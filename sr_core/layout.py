"""Where every artifact lives under the data and reports roots (one place, so nobody guesses)."""

from __future__ import annotations

import re
from pathlib import Path

from sr_core.config import PipelineConfig


def dataset_slug(dataset: str) -> str:
    """A short, filesystem-safe name for a dataset spec ('folder:/a/b' -> 'folder-b')."""
    if dataset.startswith("folder:"):
        last = Path(dataset[7:].split(",")[0].rstrip("/")).name or "root"
        return "folder-" + re.sub(r"[^A-Za-z0-9_.-]+", "_", last)
    return dataset


def tfds_dir(cfg: PipelineConfig) -> Path:
    return Path(cfg.data_dir) / "tfds"


def patches_dir(cfg: PipelineConfig) -> Path:
    return Path(cfg.data_dir) / "patches" / f"{dataset_slug(cfg.data.dataset)}-{cfg.data_fingerprint()}"


def checkpoint_dir(cfg: PipelineConfig, model: str) -> Path:
    return Path(cfg.data_dir) / "checkpoints" / f"{model}-{cfg.model_fingerprint(model)}"


def models_dir(cfg: PipelineConfig) -> Path:
    return Path(cfg.data_dir) / "models"


def registry_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "models" / "registry.json"


def run_dir(cfg: PipelineConfig, run_id: str) -> Path:
    return Path(cfg.reports_dir) / run_id


def prefect_home(data_dir: str | Path) -> Path:
    return Path(data_dir) / "prefect"
