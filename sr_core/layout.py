"""Where every artifact lives under the data and reports roots (one place, so nobody guesses).

The paths inside one run folder belong to :class:`sr_core.runrecords.RunDir`.
"""

from __future__ import annotations

import re
from pathlib import Path

from sr_core.config import PipelineConfig
from sr_core.runrecords import RunDir

HISTORY_FILE = "history.parquet"
INDEX_FILE = "index.html"
REGISTRY_FILE = "registry.json"


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
    return Path(data_dir) / "models" / REGISTRY_FILE


def run_dir(cfg: PipelineConfig, run_id: str) -> RunDir:
    """The run folder ``<reports_dir>/<run_id>``; refuses a run id that would leave the reports dir."""
    return RunDir(cfg.reports_dir, run_id)


def history_path(reports_dir: str | Path) -> Path:
    return Path(reports_dir) / HISTORY_FILE


def index_path(reports_dir: str | Path) -> Path:
    return Path(reports_dir) / INDEX_FILE


def prefect_home(data_dir: str | Path) -> Path:
    return Path(data_dir) / "prefect"
