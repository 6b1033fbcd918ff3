"""Figure 7: Prefect's share of the smoke pipeline's wall time.

``srbench run --preset smoke`` (Prefect flow, ephemeral Prefect with a fresh state folder: cold start
included) against the same library stages called without Prefect in a fresh process (prepare ->
train SRCNN, SRResNet, SRGAN -> ``sr_core.usecases.evaluate_and_report``), each in new data and report folders.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks.suite import NOT_MEASURED, ROOT, Context, Figure

FIGURE_IDS = ["7"]
TARGET_S = 30.0

PLAIN = r"""
import sys, time
from sr_core.config import load_config
from sr_core.records import prepare_patches
from sr_core.training import train_model
data_dir, reports_dir = sys.argv[1], sys.argv[2]
cfg = load_config("smoke", data_dir=data_dir, reports_dir=reports_dir)
patch_dir = prepare_patches(cfg)
models = {}
for name in ("srcnn", "srresnet", "srgan"):
    init = models.get("srresnet") if name == "srgan" else None
    models[name] = str(train_model(cfg, name, patch_dir, generator_init=init, show_progress=False).path)
from sr_core.usecases import evaluate_and_report  # evaluate, report, history, index: the CLI's path
evaluate_and_report(cfg, models, "plain")
"""


def _timed(cmd: list[str], env: dict) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-3:]}")
    return time.perf_counter() - start


def run(ctx: Context) -> list[Figure]:
    if ctx.smoke:
        return [ctx.figure("7", status=NOT_MEASURED,
                           summary="not measured at smoke sizes: it runs the smoke pipeline twice (minutes)")]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    srbench = os.path.join(os.path.dirname(sys.executable), "srbench")
    with_prefect, without = [], []
    for i in range(ctx.repeat):
        d = ctx.workdir / f"r{i}"
        with_prefect.append(_timed([srbench, "run", "--preset", "smoke", "--data-dir", str(d / "p-data"),
                                    "--reports-dir", str(d / "p-reports")], env))
        without.append(_timed([sys.executable, "-c", PLAIN, str(d / "n-data"), str(d / "n-reports")], env))
    import statistics

    p, n = statistics.median(with_prefect), statistics.median(without)
    fig = ctx.figure("7", value=p, unit="s (srbench run --preset smoke, cold)", peer="same stages without Prefect",
                     peer_value=n, ratio=(p - n) / p)
    fig.met = p <= TARGET_S
    fig.columns = ["run", "with Prefect s", "without Prefect s"]
    fig.rows = [[i + 1, a, b] for i, (a, b) in enumerate(zip(with_prefect, without))]
    fig.summary = (f"Median of {ctx.repeat} cold runs in fresh folders: {p:.1f} s through Prefect vs {n:.1f} s for "
                   f"the library stages alone; Prefect's share (ratio column) is {(p - n) / p:.0%} of the wall time "
                   "(both include Python/TensorFlow start-up, evaluation, report, history and index).")
    fig.limits = ("The difference is Prefect's ephemeral server start, its database and the per-task state "
                  "transitions and result persistence; a long-lived server (`prefect server start`, "
                  "docs/orchestration.md) removes the start-up part for nightly runs.")
    return [fig]
