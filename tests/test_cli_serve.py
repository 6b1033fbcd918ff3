"""`srbench serve`: a reports folder over local HTTP, byte for byte, without folder listings."""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from srbench import cli
from srbench.commands.serve import make_server


@pytest.fixture
def served(tmp_path: Path):
    reports = tmp_path / "reports"
    (reports / "quick-1").mkdir(parents=True)
    (reports / "index.html").write_text("<html><body><a href='quick-1/report.html'>run</a></body></html>")
    (reports / "quick-1" / "report.html").write_bytes("<html>ünïcode report</html>".encode())
    server = make_server(reports, port=0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}", reports
    server.shutdown()
    server.server_close()


def _get(url: str) -> tuple[int, bytes, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, b"", dict(exc.headers)


def test_index_and_reports_are_served_byte_for_byte(served):
    base, reports = served
    status, body, headers = _get(base + "/")
    assert status == 200 and body == (reports / "index.html").read_bytes()
    assert headers["Cache-Control"] == "no-cache"
    status, body, _ = _get(base + "/quick-1/report.html")
    assert status == 200 and body == (reports / "quick-1" / "report.html").read_bytes()


def test_folders_are_not_listed_and_nothing_outside_is_reachable(served, tmp_path):
    base, _ = served
    (tmp_path / "outside.txt").write_text("not served")
    assert _get(base + "/quick-1/")[0] == 404
    assert _get(base + "/../outside.txt")[0] == 404
    assert _get(base + "/%2e%2e/outside.txt")[0] == 404


def test_missing_reports_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(cli.app, ["serve", "--reports-dir", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "does not exist" in result.output and "--reports-dir" in result.output
