"""``srbench``: prepare data, train, evaluate and report super-resolution models."""

from __future__ import annotations

import typer

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


@app.callback()
def _main(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show TensorFlow's and absl's log output."),
) -> None:
    configure_noise(verbose)


def _register() -> None:
    from srbench.commands import data, evaluate, run, train

    for module in (data, train, evaluate, run):
        module.register(app)


_register()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
