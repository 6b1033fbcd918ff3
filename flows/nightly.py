"""The nightly flow: download -> prepare -> train -> upscale and score -> Parquet -> HTML -> history.

Run it locally with ``srbench run --preset quick`` (no server needed) or deploy it with
``prefect deploy --all`` (``prefect.yaml``: ``nightly-div2k`` at 02:00 UTC on a GPU work pool).
"""

from __future__ import annotations

from typing import Any

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from flows.common import run_name, start_reported_run
from flows.pipeline import TaskRunnerKind, data_stages, evaluation_stages, training_stage
from sr_core.config import PipelineConfig
from tasks.hooks import record_failure


@flow(name="nightly", flow_run_name=run_name("nightly"), on_failure=[record_failure],
      on_crashed=[record_failure], task_runner=ThreadPoolTaskRunner(max_workers=2),
      persist_result=False, log_prints=True)
def nightly(
    preset: str = "quick",
    overrides: list[str] | None = None,
    config: PipelineConfig | None = None,
    concurrent_training: bool = False,
    task_runner: TaskRunnerKind = "threads",
    dask_address: str | None = None,
    run_id: str | None = None,
    reuse_models: bool = False,
) -> dict[str, Any]:
    """Retrain SRCNN and SRResNet/SRGAN, benchmark them against bicubic and report the night.

    Args:
        preset: named settings (smoke, quick, div2k), used when ``config`` is not given.
        overrides: ``key.path=value`` overrides on top of the preset (or of ``config``),
            e.g. ``["srcnn.steps=500", "data_dir=/scratch/srbench"]``.
        config: a full PipelineConfig; wins over ``preset``.
        concurrent_training: train SRCNN alongside SRResNet -> SRGAN (needs memory for both).
        task_runner: where evaluation chunks run: ``threads`` (default) or ``dask``.
        dask_address: a Dask scheduler for the evaluation chunks (also ``$SRBENCH_DASK_ADDRESS``);
            with ``task_runner='dask'`` and no address a temporary local cluster is used.
        run_id: the run folder name and the key of the night's checkpoints; default
            ``<preset>-<UTC time the flow run was created>``, so a retry of the same flow run keeps it
            and resumes from its own checkpoints. Rerunning a killed night with its run id resumes it.
        reuse_models: reuse an earlier export instead of training when everything that decides the
            model is identical (config sections, data, code fingerprint, TensorFlow/Keras); for
            iterative work, never for the real nightly.
    """
    cfg, run_id, tracker = start_reported_run(preset, overrides, config, run_id)
    patch_dir = data_stages(cfg, tracker)
    trained = training_stage(cfg, patch_dir, run_id, tracker, concurrent=concurrent_training,
                             reuse=reuse_models)
    models = {name: summary["path"] for name, summary in trained.items() if name in cfg.eval.methods}
    result = evaluation_stages(cfg, models, run_id, tracker, trained=trained, task_runner=task_runner,
                               dask_address=dask_address,
                               extra_meta={"flow": "nightly", "patch_dir": patch_dir})
    result["trained"] = trained  # per model: "trained tonight" or "reused from" (srbench run prints it)
    print(f"srbench {run_id}: report at {result['report']}")
    return result
