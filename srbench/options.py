"""Options shared by every subcommand, and turning them into one validated config."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from pydantic import ValidationError

from sr_core.config import PRESET_NAMES, PipelineConfig, load_config

Preset = Annotated[
    Literal["smoke", "quick", "div2k"],
    typer.Option("--preset", "-p",
                 help="Named settings: smoke = seconds, for tests; quick = about 11 min on a 2-core "
                 "CPU, offline (the README's 'make run'); div2k = the seed's settings on DIV2K, for "
                 "GPU workers."),
]
Dataset = Annotated[
    Optional[str],
    typer.Option("--dataset", "-d", help="Image source: 'div2k', 'sample' (scikit-image photos, offline) "
                 "or 'folder:PATH' / 'folder:HR_PATH,LR_PATH'. Default: the preset's."),
]
DataDir = Annotated[
    Optional[Path],
    typer.Option("--data-dir", envvar="SRBENCH_DATA_DIR", show_envvar=True,
                 help="Artifact root for datasets, TFRecords, checkpoints and models. [default: data]"),
]
ReportsDir = Annotated[
    Optional[Path],
    typer.Option("--reports-dir", envvar="SRBENCH_REPORTS_DIR", show_envvar=True,
                 help="Root for run reports, history.parquet and index.html. [default: reports]"),
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
    data_dir: Path | None = None,
    reports_dir: Path | None = None,
    overrides: list[str] | None = None,
) -> PipelineConfig:
    """The config for a command, or a clean usage error that says what is wrong."""
    try:
        return load_config(preset, overrides or [], dataset=dataset, data_dir=data_dir,
                           reports_dir=reports_dir)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}" for err in exc.errors()
        )
        raise typer.BadParameter(problems, param_hint="--preset/--set/--dataset") from None
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--preset/--set/--dataset") from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` in red on stderr; return the Exit to raise (``raise fail(...)``)."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code=code)
