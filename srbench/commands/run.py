"""``srbench run``: the nightly pipeline as a local Prefect flow run, no server needed."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from srbench.options import AllowCpu, ConfigFile, DataDir, Dataset, Overrides, Preset, ReportsDir, build_config


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
        "--run-id", help="Name of the run folder under --reports-dir. [default: <preset>-<UTC time>]")] = None,
    allow_cpu: AllowCpu = False,
    config_file: ConfigFile = None,
) -> None:
    """Run the whole nightly pipeline once: download -> patches -> train SRCNN, SRResNet, SRGAN -> upscale and score the validation images -> metrics.parquet -> report.html -> history -> index.

    It runs as a Prefect flow in Prefect's ephemeral mode: no server to start, offline, with Prefect's state (run history, cached task results) under <data-dir>/prefect. Rerunning with the same settings skips the download and patch preparation (cached by the config fingerprint); training resumes from its checkpoints if a run was killed. Exits with status 1, naming the failed stage, when the run fails.

    Examples:

      srbench run --preset quick

      srbench run --preset smoke --data-dir /tmp/sr --reports-dir /tmp/sr-reports

      srbench run --preset div2k --set srcnn.steps=20000 --task-runner dask

    To browse the runs afterwards: PREFECT_HOME=<data-dir>/prefect prefect server start (see docs/orchestration.md for deployments and workers).
    """
    cfg = build_config(preset, dataset, data_dir, reports_dir, overrides, uses_reports=True, allow_cpu=allow_cpu,
                       needs_gpu=True, config_file=config_file)

    from flows.environment import configure_local_prefect, prefect_already_imported
    from flows.ids import new_run_id
    from sr_core import layout

    if not prefect_already_imported():  # in-process callers (tests) keep their own Prefect settings
        configure_local_prefect(layout.prefect_home(cfg.data_dir), use_server=use_server)
        from flows.watchdog import start_watchdog

        start_watchdog()  # ends the temporary server if this process is killed
        if not use_server:
            from flows.environment import recover_local_database

            if message := recover_local_database(layout.prefect_home(cfg.data_dir)):
                typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)
    run_id = run_id or new_run_id(cfg.preset)

    from flows.nightly import nightly

    typer.echo(f"srbench run {run_id}: preset {cfg.preset}, dataset {cfg.data.dataset}, "
               f"data in {cfg.data_dir}, reports in {cfg.reports_dir}")
    state = nightly(preset=cfg.preset, config=cfg, concurrent_training=concurrent_training,
                    task_runner=task_runner.value, dask_address=dask_address, run_id=run_id,
                    return_state=True)
    run_dir = layout.run_dir(cfg, run_id)
    if not state.is_completed():
        failure = run_dir / "failure.json"
        stage, error = "unknown", state.message or state.name
        if failure.is_file():
            entry = json.loads(failure.read_text())
            stage, error = entry.get("stage", stage), f"{entry.get('error_type')}: {entry.get('error')}"
        typer.secho(f"srbench run {run_id} {state.name.lower()} in stage '{stage}': {error}", fg="red", err=True)
        if failure.is_file():
            typer.echo(f"details: {failure}", err=True)
        raise typer.Exit(1)
    result = state.result()
    typer.echo(_summary_table(result))
    typer.secho(f"report: {Path(result['report']).resolve()}", fg="green")
    typer.echo(f"index:  {Path(result['index']).resolve()}")


def _summary_table(result: dict) -> str:
    lines = [f"{'method':<12} {'Y-PSNR':>8} {'Y-SSIM':>8} {'vs bicubic':>11} {'vs last':>8}"]
    for row in result.get("rows", []):
        def f(key: str, fmt: str) -> str:
            value = row.get(key)
            return format(value, fmt) if isinstance(value, (int, float)) else "-"
        lines.append(f"{row['method']:<12} {f('psnr_y', '8.2f')} {f('ssim_y', '8.4f')} "
                     f"{f('delta_bicubic_db', '+11.2f')} {f('delta_previous_db', '+8.2f')}")
    if result.get("regressions"):
        lines.append("regressions: " + ", ".join(f"{r['method']} {r['delta_db']:+.2f} dB" for r in result["regressions"]))
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    """Add ``srbench run`` to ``app``."""
    app.command("run")(run)
