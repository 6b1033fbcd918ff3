"""``srbench``: prepare data, train, evaluate and report super-resolution models."""

from __future__ import annotations

import os

import click
import typer
from typer.core import TyperGroup

from sr_core import __version__
from sr_core.provenance import git_state
from sr_core.quiet import configure_noise

class _Commands(TyperGroup):
    """Lists each command with its whole first sentence, wrapped, instead of cutting it with '...'."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            text = " ".join((command.help or "").split("\n\n")[0].split())
            rows.append((name, text.split(". ")[0].rstrip(".") + "."))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


app = typer.Typer(
    name="srbench",
    cls=_Commands,
    help="Super-resolution retrain-and-benchmark: bicubic vs SRCNN vs SRResNet/SRGAN, "
    "measured with PSNR/SSIM and shown in an HTML report.\n\n"
    "Typical use: 'srbench run --preset quick' runs the whole nightly pipeline offline; "
    "'srbench upscale photo.jpg --model srgan --out sharp/' upscales your own photos.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: wraps at the terminal's width instead of truncating cells with '…', and
    # shows '[default: data]' literally (rich markup would swallow it as a tag).
    rich_markup_mode=None,
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
    from srbench.commands import automations, champions, config, data, evaluate, run, serve, train

    for module in (data, train, evaluate, champions, run, serve, config, automations):
        module.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
