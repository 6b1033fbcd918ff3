"""``srbench run``: the nightly pipeline as a local Prefect flow run, no server needed."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from sr_core.numbers import fmt_number
from sr_core.runrecords import TrainedModel
from srbench.options import (AllowCpu, ConfigFile, DataDir, Dataset, Overrides, Preset, ReportsDir, build_config, fail,
                             full_disk)


class Runner(str, Enum):
    threads = "threads"
    dask = "dask"


def run(
    preset: Preset = "quick",
    dataset: Dataset = None,
    data_dir: DataDir = None,
    reports_dir: ReportsDir = None,
    overrides: Overrides = None,
    concurrent_training: Annotated[bool, typer.Option(
        "--concurrent-training/--sequential-training",
        help="Train SRCNN at the same time as SRResNet->SRGAN (needs memory for both; "
        "default sequential, right for one GPU).")] = False,
    task_runner: Annotated[Runner, typer.Option(
        "--task-runner", help="Where evaluation chunks run: a local thread pool, or Dask "
        "(prefect-dask; a temporary local cluster unless --dask-address is given).")] = Runner.threads,
    dask_address: Annotated[Optional[str], typer.Option(
        "--dask-address", envvar="SRBENCH_DASK_ADDRESS", show_envvar=True,
        help="Dask scheduler for the evaluation chunks, e.g. tcp://10.0.0.5:8786 (implies --task-runner dask).")] = None,
    use_server: Annotated[bool, typer.Option(
        "--use-server", help="Report to the Prefect server/Cloud in your PREFECT_API_URL instead of "
        "the default: a temporary local server with its state under <data-dir>/prefect.")] = False,
    run_id: Annotated[Optional[str], typer.Option(
        "--run-id", help="Name of the run folder under --reports-dir and key of the night's checkpoints; "
        "give a killed night's run id to resume its training. [default: <preset>-<UTC time>]")] = None,
    reuse_models: Annotated[bool, typer.Option(
        "--reuse-models", help="For iterative work: reuse an earlier model instead of training it when "
        "everything that decides it is identical (config sections, data, code fingerprint, "
        "TensorFlow/Keras). Without it every night retrains.")] = False,
    allow_cpu: AllowCpu = False,
    config_file: ConfigFile = None,
) -> None:
    """Run the whole nightly pipeline once: download -> patches -> train SRCNN, SRResNet, SRGAN -> upscale and score the validation images -> metrics.parquet -> report.html -> history -> index.

    It runs as a Prefect flow in Prefect's ephemeral mode: no server to start, offline, with Prefect's state (run history, cached task results) under <data-dir>/prefect. Rerunning with the same settings skips the download and patch preparation (cached by the config fingerprint). Every run trains its models afresh into checkpoints/runs/<run id> (or warm-starts from the champion with --set train.init=champion); rerunning a killed run with --run-id resumes its training, and --reuse-models reuses identical finished models. Exits with status 1, naming the failed stage, when the run fails.

    Examples:

      srbench run --preset quick

      srbench run --preset smoke --data-dir /tmp/sr --reports-dir /tmp/sr-reports

      srbench run --preset div2k --set srcnn.steps=20000 --task-runner dask

    To browse the runs afterwards: PREFECT_HOME=<data-dir>/prefect prefect server start (see docs/orchestration.md for deployments and workers).
    """
    cfg = build_config(preset, dataset, data_dir, reports_dir, overrides, uses_reports=True, allow_cpu=allow_cpu,
                       needs_gpu=True, config_file=config_file)

    from flows.environment import configure_local_prefect, prefect_already_imported
    from sr_core import layout
    from sr_core.runrecords import RecordError, check_run_id, new_run_id

    try:
        run_id = check_run_id(run_id or new_run_id(cfg.preset))
    except ValueError as exc:
        raise fail(f"--run-id / preset: {exc}", 2) from None
    if not prefect_already_imported():  # in-process callers (tests) keep their own Prefect settings
        configure_local_prefect(layout.prefect_home(cfg.data_dir), use_server=use_server)
        from flows.watchdog import start_watchdog

        start_watchdog()  # ends the temporary server if this process is killed
        if not use_server:
            from flows.environment import recover_local_database

            if message := recover_local_database(layout.prefect_home(cfg.data_dir)):
                typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)

    from flows.nightly import nightly

    typer.echo(f"srbench run {run_id}: preset {cfg.preset}, dataset {cfg.data.dataset}, "
               f"data in {cfg.data_dir}, reports in {cfg.reports_dir}")
    roots = [layout.prefect_home(cfg.data_dir), cfg.reports_dir, cfg.data_dir]
    try:
        state = nightly(preset=cfg.preset, config=cfg, concurrent_training=concurrent_training,
                        task_runner=task_runner.value, dask_address=dask_address, run_id=run_id,
                        reuse_models=reuse_models, return_state=True)
    except Exception as exc:  # Prefect's own bookkeeping failed (e.g. its database's disk is full)
        if message := full_disk(f"{type(exc).__name__}: {exc}", roots):
            raise fail(f"srbench run {run_id} failed: {message}") from None
        raise
    run_dir = layout.run_dir(cfg, run_id)
    if not state.is_completed() and (message := full_disk(str(state.message), roots)):
        typer.secho(f"error: {message}", fg="red", err=True)
    if not state.is_completed():
        stage, error = "unknown", state.message or state.name
        try:
            failure = run_dir.read_failure()
        except RecordError as exc:
            failure, error = None, f"{error} ({exc})"
        if failure is not None:
            stage, error = failure.stage, f"{failure.error_type}: {failure.error}"
        typer.secho(f"srbench run {run_id} {state.name.lower()} in stage '{stage}': {error}", fg="red", err=True)
        if failure is not None:
            typer.echo(f"details: {run_dir.failure}", err=True)
        raise typer.Exit(1)
    result = state.result()
    typer.echo(_summary_table(result))
    typer.secho(f"report: {Path(result['report']).resolve()}", fg="green")
    if cfg.reports_url or cfg.reports_public_url:  # published: where the team opens it
        typer.secho(f"shared: {result.get('report_url')}", fg="green")
        typer.echo(f"index:  {result['index']}")
    else:
        typer.echo(f"index:  {Path(result['index']).resolve()}")


def _summary_table(result: dict) -> str:
    width = max([12, *(len(row["method"]) for row in result.get("rows", []))])  # 'srresnet@champion'
    lines = [f"{name}: {TrainedModel.model_validate(trained).describe()}"
             for name, trained in (result.get("trained") or {}).items()]
    lines.append(f"{'method':<{width}} {'Y-PSNR':>8} {'Y-SSIM':>8} {'vs bicubic':>11} {'vs last':>8}")
    for row in result.get("rows", []):
        lines.append(f"{row['method']:<{width}} {fmt_number(row.get('psnr_y')):>8} {fmt_number(row.get('ssim_y'), 4):>8} "
                     f"{fmt_number(row.get('delta_bicubic_db'), signed=True):>11} "
                     f"{fmt_number(row.get('delta_previous_db'), signed=True):>8}")
    if result.get("regressions"):
        lines.append("regressions: " + ", ".join(f"{r['method']} -{r['drop_db']:.2f} dB" for r in result["regressions"]))
    for verdict in result.get("verdicts", []):
        lines.append(f"verdict {verdict['name']} ({verdict['track']}): {verdict['action']}, {verdict['explanation']}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add ``srbench run`` to ``app``."""
    app.command("run")(run)
