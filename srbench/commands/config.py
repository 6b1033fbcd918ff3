"""``srbench config show``: the resolved config of a preset, a config file and overrides."""

from __future__ import annotations

from typing import Annotated

import typer
import yaml

from sr_core import catalog
from srbench.options import ConfigFile, Dataset, Overrides, Preset, build_config

config_app = typer.Typer(help="Show the config a command would run with.", no_args_is_help=True)


@config_app.command("show")
def show(
    preset: Preset = "quick",
    dataset: Dataset = None,
    overrides: Overrides = None,
    config_file: ConfigFile = None,
    fingerprints_only: Annotated[bool, typer.Option(
        "--fingerprints", help="Print only the fingerprints.")] = False,
) -> None:
    """Print the resolved config (YAML) and its fingerprints: what a run with the same options uses.

    The config is built as every command builds it: the preset, then the config file, then
    --dataset, then each --set. The fingerprints name the artifacts it decides: the patches
    (data), each model, and the whole config; two configs with equal fingerprints reuse the same
    patches and models. Paths (--data-dir, --reports-dir) never enter a fingerprint.

    \b
    Examples:
      srbench config show --preset div2k
      srbench config show --config nightly.yaml --set srcnn.steps=500
      srbench config show --preset quick > my-nightly.yaml   (a config file to edit and check in)
    """
    cfg = build_config(preset, dataset, overrides=overrides, config_file=config_file, check_roots=False)
    prints = {"config": cfg.fingerprint(), "data": cfg.data_fingerprint(),
              **{name: cfg.model_fingerprint(name) for name in catalog.MODEL_NAMES}}
    if fingerprints_only:
        for name, value in prints.items():
            typer.echo(f"{name:<10} {value}")
        return
    tree = cfg.model_dump(mode="json", exclude={"data_dir", "reports_dir", "data_url", "reports_url", "reports_public_url"})
    typer.echo(yaml.safe_dump(tree, sort_keys=False, default_flow_style=False).rstrip())
    typer.echo("# fingerprints (what each artifact depends on):")
    for name, value in prints.items():
        typer.echo(f"#   {name:<10} {value}")


def register(app: typer.Typer) -> None:
    """Add ``srbench config ...`` to ``app``."""
    app.add_typer(config_app, name="config")
