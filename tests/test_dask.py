"""Evaluation chunks fan out over a Dask cluster through prefect-dask's DaskTaskRunner."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers_prefect import ensure_prefect_harness, task_run_states
from sr_core.config import load_config


@pytest.fixture(scope="module")
def prefect_api(request):
    ensure_prefect_harness(request)


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    # In-process workers share this process's Prefect settings (the test harness API).
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    try:
        yield cluster
    finally:
        cluster.close()


def test_benchmark_chunks_run_on_the_dask_cluster(prefect_api, dask_cluster, tmp_path: Path):
    from flows.stages import benchmark

    # Interpolation methods only: no trained model is needed to exercise the fan-out.
    cfg = load_config("smoke", ["eval.methods=[\"bicubic\",\"bilinear\"]", "eval.max_images=2",
                                "eval.chunk_size=1"],
                      data_dir=tmp_path / "data", reports_dir=tmp_path / "reports")
    state = benchmark(config=cfg, dask_address=dask_cluster.scheduler_address, return_state=True)
    assert state.is_completed(), state.message
    result = state.result()

    (worker,) = dask_cluster.workers.values()
    assert result["executed_on"] == [worker.address]
    metrics = pd.read_parquet(result["metrics"])
    assert sorted(metrics["image_id"].unique()) == ["chelsea", "rocket"]
    assert set(metrics["method"]) == {"bicubic", "bilinear"}
    assert Path(result["report"]).is_file() and Path(result["index"]).is_file()
    assert not (Path(result["run_dir"]) / "parts").exists()  # chunk files are merged then removed

    states = task_run_states(state.state_details.flow_run_id, wait_for={"upscale_and_score": 2})
    assert states["upscale_and_score"] == ["Completed", "Completed"]


def test_dask_without_an_address_uses_a_temporary_local_cluster(prefect_api, tmp_path: Path, monkeypatch):
    from flows.stages import benchmark

    monkeypatch.delenv("SRBENCH_DASK_ADDRESS", raising=False)
    cfg = load_config("smoke", ["eval.methods=[\"bicubic\"]"], data_dir=tmp_path / "data",
                      reports_dir=tmp_path / "reports")
    state = benchmark(config=cfg, task_runner="dask", return_state=True)
    assert state.is_completed(), state.message
    (where,) = state.result()["executed_on"]
    assert where.startswith(("inproc://", "tcp://")), f"chunk ran on {where}, not on a Dask worker"
