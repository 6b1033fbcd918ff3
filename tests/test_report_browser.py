"""The report opens and renders in a real browser (headless Debian chromium): images decode, tables
and plots are in the DOM after its scripts ran, and a screenshot is not blank."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sr_core.report import render_index, render_report, update_history
from tests.helpers_report import HOSTILE_ID, make_run, tiny_model

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _chromium(tmp_path: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed: run 'make setup-browser' "
                    "(apt-get install -y chromium)")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    run_dir = make_run(root / "reports", "20260101-browser", "2026-01-01T00:00:00Z",
                       model_path=tiny_model(root / "models"))
    update_history(run_dir, root / "reports")
    render_index(root / "reports")
    return render_report(run_dir)


def test_report_renders_images_tables_and_plots(report, tmp_path):
    out = _chromium(tmp_path, report.as_uri(), "--virtual-time-budget=10000", "--dump-dom")
    dom = out.stdout
    assert "render-check" in dom, out.stderr[-2000:]
    check = re.search(r'<div id="render-check"[^>]*>', dom).group(0)
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', check))
    assert attrs.get("ready") == "1", f"the page's script did not run: {check}"
    total, ok = int(attrs["images-total"]), int(attrs["images-ok"])
    assert total >= 10 and ok == total, f"{ok} of {total} images decoded"
    assert int(attrs["table-rows"]) >= 2 + 3  # per-image rows + summary rows
    assert attrs["svg"] == "2"
    # The slider script set the clip of the 'before' image; the hostile id stayed text.
    assert "clip-path: inset(0px 50% 0px 0px)" in dom or "inset(0 50% 0 0)" in dom
    assert HOSTILE_ID not in dom


def test_screenshot_is_not_blank(report, tmp_path):
    shot = tmp_path / "shot.png"
    _chromium(tmp_path, report.as_uri(), "--window-size=1280,2400", "--virtual-time-budget=10000",
              f"--screenshot={shot}")
    assert shot.is_file(), "chromium wrote no screenshot"
    from sr_core.images import read_image

    img = read_image(shot)
    assert img.shape[0] >= 1000 and img.shape[1] >= 1000
    colours = np.unique(img.reshape(-1, 3)[::7], axis=0)
    assert len(colours) > 500, "the screenshot is (nearly) blank"
    assert (img.std(axis=(0, 1)) > 10).all()


def test_index_renders(report, tmp_path):
    index = report.parent.parent / "index.html"
    out = _chromium(tmp_path, index.as_uri(), "--dump-dom")
    assert 'class="run"' in out.stdout and "20260101-browser" in out.stdout


def _evaluate_in_page(tmp_path: Path, url: str, expression: str):
    """Open ``url`` in headless chromium and run ``expression`` in the page (DevTools protocol over
    a local websocket); returns its JSON value."""
    import json
    import time
    import urllib.request

    from websockets.sync.client import connect

    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed: run 'make setup-browser'")
    profile = tmp_path / "cdp-profile"
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         f"--user-data-dir={profile}", url],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("chromium did not open its DevTools port")
            time.sleep(0.2)
        port = port_file.read_text().split()[0]
        pages = []
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
                pages = [t for t in json.load(resp) if t.get("type") == "page" and t.get("url") == url]
            if pages:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"chromium did not open {url}")
            time.sleep(0.2)
        with connect(pages[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
            # The listing can show the URL while the navigation is still committing: retry until the
            # page's own execution context answers.
            for attempt in range(1, 101):
                ws.send(json.dumps({"id": attempt, "method": "Runtime.evaluate", "params": {
                    "expression": expression, "awaitPromise": True, "returnByValue": True}}))
                while True:
                    message = json.loads(ws.recv(timeout=60))
                    if message.get("id") == attempt:
                        break
                if "result" in message or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
        assert "result" in message, message
        result = message["result"]
        assert "exceptionDetails" not in result, result
        return result["result"]["value"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)


INTERACT = r"""
(async () => {
  for (let i = 0; i < 300 && !(document.readyState === "complete" && document.getElementById("render-check")
                               && document.getElementById("render-check").dataset.ready); i++) {
    await new Promise(resolve => setTimeout(resolve, 100));
  }
  const table = document.getElementById("images-table");
  const headers = Array.from(table.tHead.rows[0].cells);
  const column = headers.findIndex(th => th.textContent.trim() === "Bicubic PSNR Y");
  const values = () => Array.from(table.tBodies[0].rows).map(r => parseFloat(r.cells[column].dataset.value));
  const ids = () => Array.from(table.tBodies[0].rows).map(r => r.cells[0].textContent);
  headers[column].click();
  const first = values();
  headers[column].click();
  const second = values();
  headers[0].click();
  const byId = ids();
  const slider = document.querySelector(".slider input");
  slider.value = 20;
  slider.dispatchEvent(new Event("input"));
  return {first, second, byId, clip: document.querySelector(".slider .top").style.clipPath};
})()
"""


def test_sorting_and_slider_work_in_the_browser(report, tmp_path):
    state = _evaluate_in_page(tmp_path, report.as_uri(), INTERACT)
    assert len(state["first"]) == 2
    assert state["first"] == sorted(state["first"], reverse=True)  # first click: descending
    assert state["second"] == sorted(state["second"])
    assert sorted(state["byId"], reverse=True) == state["byId"]
    assert HOSTILE_ID in state["byId"]  # shown as text, not turned into an element
    assert state["clip"] == "inset(0px 80% 0px 0px)"
