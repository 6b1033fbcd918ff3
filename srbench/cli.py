"""``srbench``: prepare data, train, evaluate and report super-resolution models."""

from __future__ import annotations

import os

import typer

from sr_core import __version__
from sr_core.provenance import git_state
from sr_core.quiet import configure_noise

app = typer.Typer(
    name="srbench",
    help="Super-resolution retrain-and-benchmark: bicubic vs SRCNN vs SRResNet/SRGAN, "
    "measured with PSNR/SSIM and shown in an HTML report.\n\n"
    "Typical use: 'srbench run --preset quick' runs the whole nightly pipeline offline; "
    "'srbench upscale photo.jpg --model srgan --out sharp/' upscales your own photos.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version_line() -> str:
    """``srbench 0.1.0 (commit 0123456789ab, dirty)``: the package version and, from a clone or the
    worker image (``SRBENCH_GIT_COMMIT``), the commit it runs."""
    commit, dirty = git_state()
    commit = commit or os.environ.get("SRBENCH_GIT_COMMIT") or None
    if not commit:
        return f"srbench {__version__}"
    return f"srbench {__version__} (commit {commit[:12]}{', dirty' if dirty else ''})"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show TensorFlow's and absl's log output."),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and the git commit, then exit."),
) -> None:
    configure_noise(verbose)


def _register() -> None:
    from srbench.commands import data, evaluate, run, serve, train

    for module in (data, train, evaluate, run, serve):
        module.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
