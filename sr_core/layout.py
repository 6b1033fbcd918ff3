"""Where every artifact lives under the data and reports roots (one place, so nobody guesses).

The paths inside one run folder belong to :class:`sr_core.runrecords.RunDir`.
"""

from __future__ import annotations

import re
from pathlib import Path

from sr_core.config import PipelineConfig
from sr_core.runrecords import RunDir, check_run_id

HISTORY_DIR = "history"  # one <run_id>.parquet per run (sr_core.history)
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


def checkpoints_root(data_dir: str | Path) -> Path:
    return Path(data_dir) / "checkpoints"


def run_checkpoints_dir(data_dir: str | Path, run_id: str) -> Path:
    """The checkpoint folders of one night: ``checkpoints/runs/<run_id>`` (pruned by retention)."""
    return checkpoints_root(data_dir) / "runs" / check_run_id(run_id)


def checkpoint_dir(cfg: PipelineConfig, model: str, run_id: str | None = None) -> Path:
    """Where a model's checkpoints live: inside its run's folder when ``run_id`` is given (a night: a
    retried run resumes, a new night starts fresh), else keyed by the model fingerprint alone
    (``srbench train``: rerunning the same command resumes)."""
    return checkpoint_dir_of(cfg.data_dir, model, cfg.model_fingerprint(model), run_id)


def checkpoint_dir_of(data_dir: str | Path, model: str, model_fingerprint: str, run_id: str | None = None) -> Path:
    """The checkpoint folder (with ``curves.csv``) of a model trained with this fingerprint (by run
    ``run_id``, when a night trained it)."""
    leaf = f"{model}-{model_fingerprint}"
    if run_id is not None:
        return run_checkpoints_dir(data_dir, run_id) / leaf
    return checkpoints_root(data_dir) / leaf


def models_dir(cfg: PipelineConfig) -> Path:
    return Path(cfg.data_dir) / "models"


def registry_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / "models" / REGISTRY_FILE


def run_dir(cfg: PipelineConfig, run_id: str) -> RunDir:
    """The run folder ``<reports_dir>/<run_id>``; refuses a run id that would leave the reports dir."""
    return RunDir(cfg.reports_dir, run_id)


def history_dir(reports_dir: str | Path) -> Path:
    """The history dataset's folder (read it with ``results.read_history(reports_dir)``)."""
    return Path(reports_dir) / HISTORY_DIR


def index_path(reports_dir: str | Path) -> Path:
    return Path(reports_dir) / INDEX_FILE


def prefect_home(data_dir: str | Path) -> Path:
    return Path(data_dir) / "prefect"
