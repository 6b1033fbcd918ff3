"""``srbench serve``: the reports folder on a local web server, for someone without a bucket."""

from __future__ import annotations

import functools
import http.server
from pathlib import Path
from typing import Annotated

import typer

from sr_core import layout
from srbench.options import ReportsDir, fail


class ReportsHandler(http.server.SimpleHTTPRequestHandler):
    """Static files of one reports folder; ``/`` is its index.html. No listing of folders."""

    def list_directory(self, path):  # noqa: ANN001 - the base class's signature
        self.send_error(404, "No index here: open / for the list of runs")
        return None

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")  # tonight's report replaces last night's index
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        typer.echo(f"{self.address_string()} {format % args}", err=True)


def make_server(reports_dir: Path, host: str = "127.0.0.1", port: int = 8000) -> http.server.ThreadingHTTPServer:
    """A threading HTTP server for ``reports_dir``, bound but not yet serving (port 0 = any free)."""
    handler = functools.partial(ReportsHandler, directory=str(reports_dir))
    return http.server.ThreadingHTTPServer((host, port), handler)


def serve(
    reports_dir: ReportsDir = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on. The default serves this "
                    "machine only; 0.0.0.0 shares the reports with your network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port (0 picks a free one).")] = 8000,
) -> None:
    """Serve the reports folder (index, every run's report, history) at http://HOST:PORT/.

    For a team without a bucket or static site: open the printed address in a browser; index.html
    lists every run and links each report. Stop with Ctrl-C. Files are served read-only and folders
    are never listed.

    \b
    Examples:
      srbench serve
      srbench serve --reports-dir /srv/srbench/reports --port 8080
    """
    root = Path(reports_dir) if reports_dir is not None else Path("reports")
    if not root.is_dir():
        raise fail(f"reports folder {root} does not exist: run 'srbench run' first or pass --reports-dir")
    if not layout.index_path(root).is_file():
        typer.secho(f"note: {root} has no index.html yet (it appears after the first run)",
                    fg=typer.colors.YELLOW, err=True)
    try:
        server = make_server(root, host, port)
    except OSError as exc:
        raise fail(f"cannot listen on {host}:{port}: {exc.strerror or exc} (try another --port)") from None
    bound_host, bound_port = server.server_address[:2]
    typer.echo(f"serving {root.resolve()} at http://{bound_host}:{bound_port}/ (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.server_close()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
