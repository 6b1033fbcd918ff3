"""The orchestration's plumbing: cache keys, retries, run ids, stage errors, runners, local mode."""

from __future__ import annotations

import json
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sr_core.config import load_config

ROOT = Path(__file__).resolve().parents[1]


def _key(fn, cfg):
    return fn(None, {"cfg": cfg})


def test_patch_cache_key_follows_the_data_fingerprint_and_root(tmp_path):
    from tasks.data import dataset_cache_key, patches_cache_key

    base = load_config("smoke", data_dir=tmp_path / "a")
    same = load_config("smoke", data_dir=tmp_path / "a")
    more_patches = load_config("smoke", ["data.patches_per_image=5"], data_dir=tmp_path / "a")
    longer_training = load_config("smoke", ["srcnn.steps=50"], data_dir=tmp_path / "a")
    other_root = load_config("smoke", data_dir=tmp_path / "b")

    assert _key(patches_cache_key, base) == _key(patches_cache_key, same)
    assert base.data_fingerprint() in _key(patches_cache_key, base)
    assert _key(patches_cache_key, base) != _key(patches_cache_key, more_patches)
    assert _key(patches_cache_key, base) == _key(patches_cache_key, longer_training)
    assert _key(patches_cache_key, base) != _key(patches_cache_key, other_root)
    # The download depends on the dataset only, not on how patches are cut.
    assert _key(dataset_cache_key, base) == _key(dataset_cache_key, more_patches)
    assert _key(dataset_cache_key, base) != _key(dataset_cache_key, load_config(
        "smoke", dataset="folder:/photos", data_dir=tmp_path / "a"))
    for key in (_key(patches_cache_key, base), _key(dataset_cache_key, base)):
        assert re.fullmatch(r"[A-Za-z0-9_.-]+", key), "keys are file names in the result storage"


def test_download_retries_only_transient_errors():
    from sr_core.sources import DatasetUnavailableError, SourceError
    from tasks.data import download_dataset, is_transient

    assert download_dataset.retries == 3 and download_dataset.retry_delay_seconds == [10, 60, 300]
    assert is_transient(ConnectionError("offline")) and is_transient(TimeoutError())
    assert is_transient(DatasetUnavailableError("could not download"))
    assert not is_transient(SourceError("folder does not exist"))
    assert not is_transient(ValueError("bad config")) and not is_transient(None)


def test_run_ids_are_sortable_and_unique():
    import datetime as dt

    from sr_core.runrecords import new_run_id

    early = new_run_id("div2k", dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc))
    late = new_run_id("div2k", dt.datetime(2026, 11, 26, 2, 0, tzinfo=dt.timezone.utc))
    assert early == "div2k-20261125T020000000000Z" and early < late
    assert new_run_id("smoke") != new_run_id("smoke")


def test_stage_failed_names_the_stage_and_survives_pickling():
    from flows.common import StageFailed

    exc = StageFailed("prepare", FileNotFoundError("no images in /photos"))
    assert str(exc) == "stage 'prepare' failed: FileNotFoundError: no images in /photos"
    back = pickle.loads(pickle.dumps(exc))
    assert (back.stage, back.error_type, back.error, str(back)) == (
        "prepare", "FileNotFoundError", "no images in /photos", str(exc))


def test_chunks_cover_every_id_once_in_order():
    from sr_core.evaluation import chunks as chunked

    ids = [f"{i:04d}" for i in range(801, 824)]
    chunks = chunked(ids, 10)
    assert [len(c) for c in chunks] == [10, 10, 3] and sum(chunks, []) == ids
    with pytest.raises(ValueError):
        chunked(ids, 0)


def test_config_parameter_wins_and_overrides_apply_on_top(tmp_path):
    from sr_core.config import resolve_config

    given = load_config("smoke", ["srcnn.steps=7"], data_dir=tmp_path)
    assert resolve_config("div2k", None, given) == given
    assert resolve_config("div2k", None, given.model_dump(mode="json")) == given
    patched = resolve_config("div2k", ["srgan.steps=2"], given)
    assert (patched.preset, patched.srcnn.steps, patched.srgan.steps) == ("smoke", 7, 2)
    assert resolve_config("quick", ["eval.chunk_size=3"], None).eval.chunk_size == 3


def test_models_to_train_follow_the_report_methods():
    from flows.pipeline import models_to_train

    assert models_to_train(load_config("smoke")) == ["srcnn", "srresnet", "srgan"]
    assert models_to_train(load_config("smoke", ['eval.methods=["bicubic","srgan"]'])) == ["srresnet", "srgan"]
    assert models_to_train(load_config("smoke", ['eval.methods=["bicubic"]'])) == []


def test_task_runner_choice(monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from flows.pipeline import make_task_runner

    monkeypatch.delenv("SRBENCH_DASK_ADDRESS", raising=False)
    assert isinstance(make_task_runner(), ThreadPoolTaskRunner)
    runner = make_task_runner("threads", "tcp://10.0.0.5:8786")  # an address implies Dask
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"
    monkeypatch.setenv("SRBENCH_DASK_ADDRESS", "tcp://10.0.0.6:8786")
    assert make_task_runner("dask").address == "tcp://10.0.0.6:8786"
    with pytest.raises(ValueError, match="task runner"):
        make_task_runner("spark")


def test_summary_markdown_shows_means_deltas_and_regressions():
    from sr_core.results import NightSummary
    from tasks.reporting import summary_markdown

    rows = [{"method": "bicubic", "psnr_y": 26.5, "ssim_y": 0.75, "psnr_rgb": 25.0,
             "delta_bicubic_db": 0.0, "delta_previous_db": 0.0},
            {"method": "srgan", "psnr_y": 26.1, "ssim_y": 0.73, "psnr_rgb": 24.7,
             "delta_bicubic_db": -0.4, "delta_previous_db": -0.3}]
    regression = {"method": "srgan", "label": "SRGAN", "run_id": "div2k-20261125T020000000000Z",
                  "previous_run_id": "div2k-20261124T020000000000Z", "psnr_y": 26.1, "previous_psnr_y": 26.4,
                  "drop_db": 0.3, "tolerance_db": 0.1, "n_images": 6, "low_db": -0.4, "high_db": -0.2}
    summary = NightSummary.model_validate({"rows": [{**r, "n_images": 2} for r in rows],
                                           "previous_run_id": "div2k-20261124T020000000000Z",
                                           "regressions": [regression]})
    text = summary_markdown("div2k-20261125T020000000000Z", summary, "/r/report.html", 0.1)
    assert "| srgan | 26.10 | 0.7300 | 24.70 | -0.40 | -0.30 |" in text
    assert "file:///r/report.html" in text and "div2k-20261124T020000000000Z" in text
    assert "Regressions beyond 0.1 dB" in text and "srgan -0.30 dB" in text


def test_local_prefect_env_ignores_a_users_server_settings(tmp_path):
    """`srbench run` must not report to whatever server the user's shell or profile points at."""
    home = tmp_path / "data" / "prefect"
    code = (
        "from flows.environment import configure_local_prefect\n"
        f"configure_local_prefect({str(home)!r})\n"
        "from prefect.settings import get_current_settings\n"
        "s = get_current_settings()\n"
        "import json; print(json.dumps({'api': s.api.url, 'home': str(s.home), "
        "'analytics': s.server.analytics_enabled}))\n"
    )
    profiles = tmp_path / "profiles.toml"
    profiles.write_text('active = "remote"\n[profiles.remote]\nPREFECT_API_URL = "http://10.9.9.9:4200/api"\n')
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api", "PREFECT_PROFILES_PATH": str(profiles)}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout
    settings = json.loads(out.strip().splitlines()[-1])
    assert settings == {"api": None, "home": str(home.resolve()), "analytics": False}


@pytest.mark.slow  # starts Prefect's temporary server in a fresh process: 15-60 s on 2 busy cores
def test_srbench_run_fails_with_the_stage_named_and_nonzero_exit(tmp_path):
    """The real CLI in ephemeral mode (its own temporary server), on a dataset folder that is missing."""
    missing = tmp_path / "no-photos"
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # would hang/fail if it leaked
    proc = subprocess.run(
        [sys.executable, "-m", "srbench.cli", "run", "--preset", "smoke", "--dataset", f"folder:{missing}",
         "--data-dir", str(tmp_path / "data"), "--reports-dir", str(tmp_path / "reports"),
         "--run-id", "smoke-cli"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "srbench run smoke-cli failed in stage 'download'" in proc.stderr
    assert str(missing) in proc.stderr
    failure = json.loads((tmp_path / "reports" / "smoke-cli" / "failure.json").read_text())
    assert failure["stage"] == "download" and failure["error_type"] == "SourceError"
    assert (tmp_path / "data" / "prefect" / "prefect.db").is_file(), "state lives under <data-dir>/prefect"


def test_patch_cache_key_changes_when_the_image_folder_changes(tmp_path):
    import numpy as np

    from sr_core.images import write_image
    from tasks.data import patches_cache_key

    folder = tmp_path / "photos"
    for name in ("a", "b"):
        write_image(folder / f"{name}.png", np.full((64, 64, 3), 100, np.uint8))
    cfg = load_config("smoke", dataset=f"folder:{folder}", data_dir=tmp_path / "data")
    before = _key(patches_cache_key, cfg)
    assert _key(patches_cache_key, cfg) == before
    write_image(folder / "c.png", np.full((64, 64, 3), 50, np.uint8))
    assert _key(patches_cache_key, cfg) != before


def test_the_cli_does_not_import_prefect_before_srbench_run_configures_it():
    """PREFECT_HOME etc. are read when Prefect is imported: loading the CLI must not import it."""
    code = "import sys, srbench.cli; print(sorted(m for m in sys.modules if m.split('.')[0] == 'prefect'))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_failure_entry_of_a_crash_and_of_a_failed_stage():
    import uuid

    from prefect.client.schemas.objects import FlowRun
    from prefect.states import Crashed, Failed

    from flows.common import StageFailed
    from tasks.hooks import failure_entry

    flow_run = FlowRun(flow_id=uuid.uuid4(), name="nightly-div2k-2026-11-26")
    crashed = Crashed(message="Execution was aborted by an interrupt signal.", data=KeyboardInterrupt())
    entry = failure_entry("nightly", flow_run, crashed, "div2k-1", "div2k", "train-srgan", ["download"])
    assert (entry["status"], entry["stage"], entry["error_type"]) == ("crashed", "train-srgan", "KeyboardInterrupt")
    assert entry["error"] == "Execution was aborted by an interrupt signal."

    try:
        raise StageFailed("evaluate", MemoryError("OOM while tiling 0801"))
    except StageFailed as exc:
        failed = Failed(message=f"Flow run encountered an exception: {exc}", data=exc)
    entry = failure_entry("nightly", flow_run, failed, "div2k-1", "div2k", "unknown", [])
    assert (entry["status"], entry["stage"], entry["error_type"], entry["error"]) == (
        "failed", "evaluate", "MemoryError", "OOM while tiling 0801")
    assert entry["flow_run_name"] == "nightly-div2k-2026-11-26" and entry["time"].endswith("+00:00")


@pytest.mark.slow  # a whole smoke night through the CLI, temporary server included: ~1 min
def test_srbench_run_completes_offline_and_prints_where_the_report_is(tmp_path):
    env = {**os.environ, "PREFECT_API_URL": "http://127.0.0.1:9/api"}  # must be ignored
    proc = subprocess.run(
        [sys.executable, "-m", "srbench.cli", "run", "--preset", "smoke", "--data-dir", str(tmp_path / "data"),
         "--reports-dir", str(tmp_path / "reports"), "--run-id", "smoke-cli-ok"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=480)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    report = tmp_path / "reports" / "smoke-cli-ok" / "report.html"
    assert f"report: {report.resolve()}" in proc.stdout
    assert f"index:  {(tmp_path / 'reports' / 'index.html').resolve()}" in proc.stdout
    assert report.is_file() and (tmp_path / "reports" / "history" / "smoke-cli-ok.parquet").is_file()
    assert re.search(r"^srgan\s+\d+\.\d\d\s+0\.\d{4}", proc.stdout, re.M), proc.stdout
