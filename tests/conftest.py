"""Shared fixtures. Every test writes under its own tmp_path; nothing touches data/ or reports/."""

from __future__ import annotations

import os
import shutil

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


def chromium_path() -> str | None:
    """Debian's headless chromium for the browser tests, or None."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Browser tests need chromium. A developer machine skips them with a message; CI (``CI`` set,
    as every CI service and ``.ci/run`` do) fails instead, so a green CI run always includes them."""
    if item.get_closest_marker("browser") is None or chromium_path() is not None:
        return
    message = "Debian's chromium is not installed: run 'make setup-browser' (apt-get install -y chromium)"
    if running_in_ci():
        pytest.fail(f"{message}; CI must run the browser tests, not skip them", pytrace=False)
    pytest.skip(message)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under CI a browser test may not skip for any reason (a skip inside the test included)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and running_in_ci() and item.get_closest_marker("browser") is not None:
        report.outcome = "failed"
        report.longrepr = f"browser test skipped under CI: {getattr(call.excinfo, 'value', '')}"
