"""Options shared by every subcommand, and turning them into one validated config."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from pydantic import ValidationError

from sr_core.config import PRESET_NAMES, PipelineConfig, load_config, read_config_file

Preset = Annotated[
    Literal["smoke", "quick", "div2k"],
    typer.Option("--preset", "-p",
                 help="Named settings: smoke = seconds, for tests; quick = about 5 min on a 2-core "
                 "CPU, offline (the README's 'make run'); div2k = the seed's settings on DIV2K, for "
                 "GPU workers."),
]
Dataset = Annotated[
    Optional[str],
    typer.Option("--dataset", "-d", help="Image source: 'div2k', 'sample' (scikit-image photos, offline) "
                 "or 'folder:PATH' / 'folder:HR_PATH,LR_PATH'. Default: the preset's."),
]
DataDir = Annotated[
    Optional[str],
    typer.Option("--data-dir", envvar="SRBENCH_DATA_DIR", show_envvar=True,
                 help="Artifact root for datasets, TFRecords, checkpoints and models: a folder, or a "
                 "shared URL (s3://bucket/srbench/data, gs://..., file://...) where the model registry "
                 "and exports are published while the work stays in $SRBENCH_SCRATCH_DIR. [default: data]"),
]
ReportsDir = Annotated[
    Optional[str],
    typer.Option("--reports-dir", envvar="SRBENCH_REPORTS_DIR", show_envvar=True,
                 help="Root for run reports, the history/ dataset and index.html: a folder or a shared "
                 "URL (s3://bucket/srbench/reports, gs://..., file://...). [default: reports]"),
]
ConfigFile = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", metavar="FILE.yaml", dir_okay=False,
                 help="A checked-in config file: 'preset: div2k' plus the sections it changes "
                 "(srcnn: {steps: 20000}). --dataset and --set apply on top; see 'srbench config show'."),
]
AllowCpu = Annotated[
    bool,
    typer.Option("--allow-cpu", help="Run a GPU preset (div2k) even when no GPU is visible; without it "
                 "such a run stops at once with a message instead of training for days on CPU."),
]
Overrides = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", metavar="KEY=VALUE",
                 help="Override one config field, repeatable, e.g. --set srcnn.steps=500 "
                 "--set data.hr_patch_size=64. Values are read as JSON when they parse."),
]


def build_config(
    preset: str,
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    reports_dir: str | Path | None = None,
    overrides: list[str] | None = None,
    *,
    uses_reports: bool = False,
    allow_cpu: bool = False,
    needs_gpu: bool = False,
    config_file: Path | None = None,
    check_roots: bool = True,
) -> PipelineConfig:
    """The config for a command, or a clean usage error that says what is wrong.

    The data root (and, with ``uses_reports``, the reports root) is checked before any work starts:
    see :func:`check_root`.
    """
    try:
        extra = None
        if config_file is not None:
            extra = read_config_file(config_file)
            preset = _file_preset(extra.pop("preset", None), preset, config_file)
        cfg = load_config(preset, overrides or [], dataset=dataset, data_dir=data_dir,
                          reports_dir=reports_dir, extra=extra)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}" for err in exc.errors()
        )
        raise typer.BadParameter(problems, param_hint="--preset/--config/--set/--dataset") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--preset/--config/--set/--dataset") from None
    if allow_cpu:
        cfg.require_gpu = False
    if needs_gpu and cfg.require_gpu:
        from sr_core.devices import NoGPUError, require_gpu

        try:
            require_gpu(cfg)
        except NoGPUError as exc:
            raise fail(str(exc), 2) from None
    if not check_roots:
        return cfg
    check_root(cfg.data_dir, "--data-dir" if cfg.data_url is None else "SRBENCH_SCRATCH_DIR",
               "SRBENCH_DATA_DIR" if cfg.data_url is None else "SRBENCH_SCRATCH_DIR")
    if cfg.data_url is not None:
        check_shared_root(cfg.data_url, "--data-dir", "SRBENCH_DATA_DIR")
    if uses_reports:
        check_root(cfg.reports_dir, "--reports-dir", "SRBENCH_REPORTS_DIR")
        if cfg.reports_url is not None:
            check_shared_root(cfg.reports_url, "--reports-dir", "SRBENCH_REPORTS_DIR")
    return cfg


def check_shared_root(url: str, option: str, envvar: str) -> None:
    """Exit with one clear message (status 2) if a shared root cannot be opened or written."""
    from sr_core.store import Store, StoreError

    try:
        store = Store(url)
        probe = f".srbench-write-check-{os.getpid()}"
        store.write_text(probe, "")
        store.remove(probe)
    except (StoreError, OSError, ValueError) as exc:
        raise fail(f"{option} {url} cannot be used as a shared root ({exc}): check the URL, the "
                   f"credentials and the endpoint (AWS_ENDPOINT_URL), or point {option} (or {envvar}) at a folder",
                   2) from None


def _file_preset(in_file: str | None, given: str, config_file: Path) -> str:
    """The file's preset, unless --preset was typed and names another one (then: a usage error)."""
    from typer._click.core import ParameterSource  # Typer runs its own copy of click
    from typer.main import get_current_context

    ctx = get_current_context(silent=True)
    typed = ctx is not None and ctx.get_parameter_source("preset") in (
        ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    if in_file is None:
        return given
    if typed and given != in_file:
        raise ValueError(f"--preset {given} and {config_file} (preset: {in_file}) disagree; drop one")
    return in_file


# Below this much free space a root is reported at start (a night writes patches, checkpoints, images).
LOW_SPACE_BYTES = 200 * 1024 * 1024


def root_problem(root: Path) -> str | None:
    """Why ``root`` cannot hold srbench's artifacts (created if missing), or None if it can."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        return "is a file, not a folder"
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        return "cannot be created: a part of the path is a file, not a folder"
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    try:
        fd, probe = tempfile.mkstemp(prefix=".srbench-write-check-", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"is not writable ({exc.strerror or exc})"
    return None


def check_root(root: Path, option: str, envvar: str) -> None:
    """Exit with one clear message (status 2) if ``root`` is unusable; warn when its disk is nearly full."""
    problem = root_problem(root)
    if problem:
        raise fail(f"{option} {root} {problem}: point {option} (or {envvar}) at a folder you can write to", 2)
    free = shutil.disk_usage(root).free
    if free < LOW_SPACE_BYTES:
        typer.secho(f"warning: {option} {root} has only {free / 2**20:.0f} MB free; the run may stop with "
                    "'No space left on device'", fg=typer.colors.YELLOW, err=True)


DISK_FULL_SIGNS = ("No space left on device", "database or disk is full", "Errno 28")


def full_disk(error: str, roots: list[Path]) -> str | None:
    """When a failed run ran out of space: which of ``roots`` is (nearly) full, as a message naming it.
    ``error`` is the failure's text: the root of a file it names comes first; then a root under 1 MB
    free (Prefect's server answers a full database with a bare HTTP 500); then, when the error says the
    disk is full, a root under the low-space mark."""
    def free(root: Path) -> int | None:
        try:
            return shutil.disk_usage(root).free
        except OSError:
            return None

    said_full = any(sign in error for sign in DISK_FULL_SIGNS)
    free_of = {r: f for r in roots if (f := free(r)) is not None}
    named = sorted((r for r in free_of if said_full and str(r) in error), key=lambda r: -len(str(r)))
    nearly_full = [r for r, f in free_of.items() if f < 2**20]
    low = [r for r, f in free_of.items() if said_full and f < LOW_SPACE_BYTES]
    full = [*named, *nearly_full, *low]
    if not full:
        return None
    return (f"no space left on the disk of {full[0]} ({free_of[full[0]] / 2**20:.1f} MB free): free some "
            "space there and run again (the next run repairs what this one left half done)")


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` in red on stderr; return the Exit to raise (``raise fail(...)``)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=code)
