"""The benchmark suite's machinery: the machine, repeat-and-median timing, figures, JSON and Markdown.

Every figure is a plain dict (``Figure.to_dict``) so that the JSON file is the single source of the
numbers: BENCHMARKS.md is rendered from it by :func:`render_markdown`, never edited by hand.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _datasets() -> Path:
    """``../shared/datasets`` next to the project (or next to a folder above it, for clones in a subfolder)."""
    for folder in ROOT.parents:
        if (folder / "shared" / "datasets").is_dir():
            return folder / "shared" / "datasets"
    return ROOT.parent / "shared" / "datasets"


DATASETS = _datasets()


def held_out_pairs(folder: Path, scale: int = 4, limit: int | None = None) -> Iterator[tuple[Path, Any, Any]]:
    """Each image of a held-out folder, sorted: ``(path, HR modcropped to scale, LR)``, the LR made
    as ``srbench degrade`` makes it (MATLAB bicubic)."""
    from sr_core.images import read_image
    from sr_core.resize import downscale, modcrop

    for path in sorted(folder.iterdir())[:limit]:
        hr = modcrop(read_image(path), scale)
        yield path, hr, downscale(hr, scale)

# The table: id -> (title, target). Every run and every rendering covers all of them.
FIGURES: dict[str, tuple[str, str]] = {
    "1": ("input pipeline: HR/LR pairs/s (shuffle + flips/rot90 + batching, no model)",
          ">= 10,000 pairs/s"),
    "2": ("training throughput (patches/s) and data-wait share",
          ">= plain Keras train_on_batch and >= 1.15x the PyTorch peer; data wait < 5%"),
    "3": ("inference: output MP/s and GFLOP/s through srbench upscale's tiled path",
          "SRCNN >= 70% of matmul peak; SRResNet tiled >= whole-image predict"),
    "4": ("memory: peak RSS of tiled upscaling to 3840x2160", "<= 2 GB"),
    "5": ("metrics: seconds per 2040x1356 pair, all four columns", "<= 0.6 s, identical values (1e-6)"),
    "6": ("evaluation stage: images/min, scaling with cores and image size",
          "linear in pixels; >= 1.8x from 1 to 2 workers"),
    "7": ("orchestration: Prefect's share of the smoke flow", "smoke run <= 30 s end to end"),
    "8": ("end to end: srbench run --preset quick", "<= 8 min, held-out quality unchanged"),
    "9": ("GPU: measured when a GPU is present, else projected on paper", "every figure marked"),
    "growth": ("how cost grows with work", "a user can predict a night's cost"),
    "resize": ("degradation: MATLAB-exact imresize vs OpenCV, 2040x1356 x4", "context (no target)"),
    "fidelity": ("metric fidelity: bicubic x4 on Set5/Set14 vs published numbers", "within 0.1 dB / 0.005"),
}

MEASURED, PROJECTED, NOT_MEASURED = "measured", "projected", "not measured"


@dataclass
class Figure:
    """One figure of the table: the absolute value, its peer in the same run, and the verdict."""

    id: str
    value: float | None = None
    unit: str = ""
    peer: str = ""
    peer_value: float | None = None
    ratio: float | None = None
    met: bool | None = None
    status: str = MEASURED
    summary: str = ""
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    limits: str = ""  # for a missed target: what the profile shows limits it, and what would lift it
    load_avg: list[float] = field(default_factory=list)
    seconds: float = 0.0
    smoke: bool = False

    def to_dict(self) -> dict[str, Any]:
        title, target = FIGURES[self.id]
        return {"title": title, "target": target, **asdict(self)}


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024**2, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """CPU, cores, RAM, load, library versions, oneDNN and GPUs: what every figure depends on."""
    import numpy as np

    info: dict[str, Any] = {
        "cpu": _cpu_model(), "cores": os.cpu_count(), "ram_gb": _ram_gb(), "load_avg_start": load_average(),
        "python": platform.python_version(), "numpy": np.__version__, "platform": platform.platform(),
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 Linux)"),
    }
    try:
        import keras
        import tensorflow as tf

        info.update(tensorflow=tf.__version__, keras=keras.__version__,
                    gpus=[d.name for d in tf.config.list_physical_devices("GPU")],
                    tf_threads={"intra": tf.config.threading.get_intra_op_parallelism_threads(),
                                "inter": tf.config.threading.get_inter_op_parallelism_threads()})
    except ImportError:
        info.update(tensorflow=None, keras=None, gpus=[])
    try:  # the version only: importing torch next to TensorFlow can crash the process
        from importlib.metadata import version

        info["torch"] = version("torch")
    except Exception:  # noqa: BLE001 - not installed: no PyTorch peer
        info["torch"] = None
    return info


@dataclass
class Context:
    """What a benchmark module gets: smoke or full sizes, repeats, a scratch folder."""

    smoke: bool
    workdir: Path
    repeat: int = 3
    out: Path | None = None  # the results folder (results.json); figures may keep files beside it
    warmup: int = 1
    log: Callable[[str], None] = print

    def median(self, fn: Callable[[], Any], repeat: int | None = None, warmup: int | None = None
               ) -> tuple[float, list[float]]:
        """Median wall seconds of ``fn`` over ``repeat`` calls after ``warmup`` untimed calls."""
        for _ in range(self.warmup if warmup is None else warmup):
            fn()
        times = []
        for _ in range(self.repeat if repeat is None else repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times), times

    def figure(self, id: str, **kwargs) -> Figure:
        return Figure(id=id, load_avg=load_average(), smoke=self.smoke, **kwargs)


def run_id_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_json(path: Path, machine: dict, figures: dict[str, dict], previous: dict | None = None, *,
               run_id: str | None = None) -> dict:
    """Merge this run's figures into ``previous`` (a run with ``--only`` updates only its figures)."""
    merged = dict((previous or {}).get("figures", {}))
    merged.update(figures)
    machines = dict((previous or {}).get("machines", {}))
    run_id = run_id or run_id_now()
    machines[run_id] = machine
    for fig in figures.values():
        fig.setdefault("run", run_id)
    doc = {"schema": 1, "figures": {k: merged[k] for k in sorted(merged, key=_order)},
           "machines": {k: machines[k] for k in sorted(machines) if any(
               f.get("run") == k for f in merged.values())}}
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1, default=_jsonable) + "\n")
    tmp.replace(path)
    return doc


def _order(fid: str) -> tuple[int, str]:
    return (int(fid), "") if fid.isdigit() else (100, fid)


def _jsonable(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value != value:
            return "nan"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.1f}"
        if abs(value) >= 1:
            return f"{value:.3g}" if abs(value) < 10 else f"{value:.2f}"
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _mark(fig: dict) -> str:
    mark = fig.get("status", MEASURED)
    return f"{mark} (smoke sizes)" if fig.get("smoke") and mark == MEASURED else mark


def _verdict(fig: dict) -> str:
    if fig.get("smoke"):
        return "– (smoke sizes)"
    met = fig.get("met")
    return "–" if met is None else ("**met**" if met else "**missed**")


def render_markdown(doc: dict, history: str | None = None) -> str:
    """BENCHMARKS.md from the JSON document; ``history`` (hand-written older sections) is linked, not mixed."""
    figures, machines = doc["figures"], doc["machines"]
    out = ["# Benchmarks", "",
           "<!-- Generated by `make bench` (python -m benchmarks) from benchmarks/results.json: do not edit by hand. -->",
           "",
           "Every figure below comes from `benchmarks/results.json`, written by `make bench` "
           "(`python -m benchmarks`; one figure: `python -m benchmarks --only NAME`). Each one is "
           "measured against a peer or baseline **in the same run** (the ratio is what carries over to "
           "another machine), as the median of >= 3 repeats after a warm-up, with the 1/5/15-minute load "
           "average when it started. Marks: *measured* on this machine, *projected* on paper, "
           "*not measured* with the reason.", ""]
    if history:
        out += [f"Older hand-written measurements (quick-preset training curves, imresize vs OpenCV, "
                f"Set5/Set14 metric parity, tiling) are kept as history in [{history}]({history}).", ""]
    out += ["## Summary", "", "| # | figure | value | peer (same run) | ratio | target | verdict | mark | load 1/5/15 |",
            "|---|---|---|---|---|---|---|---|---|"]
    for fid in sorted(FIGURES, key=_order):
        fig = figures.get(fid)
        title, target = FIGURES[fid]
        if fig is None:
            out.append(f"| {fid} | {title} | – | – | – | {target} | – | not measured (no run yet) | – |")
            continue
        value = f"{_fmt(fig.get('value'))} {fig.get('unit', '')}".strip()
        peer = f"{fig.get('peer', '')}: {_fmt(fig.get('peer_value'))}" if fig.get("peer") else "–"
        load = "/".join(_fmt(v) for v in fig.get("load_avg", [])) or "–"
        out.append(f"| {fid} | {title} | {value} | {_fmt(peer)} | {_fmt(fig.get('ratio'))} | {target} | "
                   f"{_verdict(fig)} | {_mark(fig)} | {load} |")
    out.append("")
    for run_id, m in machines.items():
        out.append(f"Machine of run {run_id}: {m.get('cpu')}, {m.get('cores')} cores, {m.get('ram_gb')} GB RAM, "
                   f"load at start {'/'.join(_fmt(v) for v in m.get('load_avg_start', []))}, TensorFlow "
                   f"{m.get('tensorflow')}, Keras {m.get('keras')}, oneDNN {m.get('onednn')}, GPUs "
                   f"{m.get('gpus') or 'none'}, PyTorch {m.get('torch') or 'not installed'}.")
    out.append("")
    for fid in sorted(FIGURES, key=_order):
        fig = figures.get(fid)
        if fig is None:
            continue
        out += ["", f"## {fid}. {fig['title']}", "",
                f"Target: {fig['target']}. Mark: {_mark(fig)}. Verdict: {_verdict(fig)}. "
                f"Run {fig.get('run', '?')}, load {'/'.join(_fmt(v) for v in fig.get('load_avg', []))}, "
                f"{fig.get('seconds', 0):.0f} s.", ""]
        if fig.get("summary"):
            out += [fig["summary"], ""]
        if fig.get("columns"):
            out.append("| " + " | ".join(fig["columns"]) + " |")
            out.append("|" + "---|" * len(fig["columns"]))
            for row in fig.get("rows", []):
                out.append("| " + " | ".join(_fmt(v) for v in row) + " |")
            out.append("")
        for note in fig.get("notes", []):
            out.append(f"- {note}")
        if fig.get("notes"):
            out.append("")
        if fig.get("limits"):
            out += [f"**What limits it (profile):** {fig['limits']}", ""]
    return "\n".join(out).rstrip() + "\n"
