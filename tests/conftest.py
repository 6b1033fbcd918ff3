"""Shared fixtures. Every test writes under its own tmp_path; nothing touches data/ or reports/."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from sr_core.config import PipelineConfig, load_config  # noqa: E402

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


@pytest.fixture
def smoke_config(tmp_path: Path) -> PipelineConfig:
    """The smoke preset with its artifact roots inside this test's tmp_path."""
    return load_config("smoke", data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
