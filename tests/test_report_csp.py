"""The report's Content-Security-Policy: only its own inline script runs, images are data URIs (or
same-folder files when linked), and both modes still render in headless chromium (issue 13, item 3)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest

from sr_core.report import render_report
from sr_core.report.assets import JS
from tests.helpers_report import make_run, tiny_model
from tests.test_report_browser import _chromium


def _csp(page: str) -> str:
    return re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("csp")
    return make_run(root / "reports", "20260101-csp", "2026-01-01T00:00:00Z",
                    model_path=tiny_model(root / "models"))


@pytest.mark.parametrize("embed, images", [(True, "img-src data:;"), (False, "img-src data: 'self';")])
def test_policy_names_the_script_by_hash_and_allows_no_inline_script_or_file_urls(run_dir, embed, images):
    policy = _csp(render_report(run_dir, embed_images=embed).read_text())
    digest = base64.b64encode(hashlib.sha256(JS.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in policy
    assert images in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == f"'sha256-{digest}'"  # nothing else: no 'unsafe-inline'
    assert "file:" not in policy


def _render_check(tmp_path, page) -> dict[str, str]:
    out = _chromium(tmp_path, page.as_uri(), "--virtual-time-budget=10000", "--dump-dom")
    check = re.search(r'<div id="render-check"[^>]*>', out.stdout)
    assert check, out.stderr[-2000:]
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', check.group(0))) | {"dom": out.stdout}


@pytest.mark.browser
@pytest.mark.parametrize("embed", [True, False])
def test_both_image_modes_render_under_the_policy(run_dir, tmp_path, embed):
    attrs = _render_check(tmp_path, render_report(run_dir, embed_images=embed))
    assert attrs.get("ready") == "1", "the page's own script was blocked"
    assert int(attrs["images-total"]) >= 10 and attrs["images-ok"] == attrs["images-total"]
    assert ("data:image/png;base64," in attrs["dom"]) == embed


@pytest.mark.browser
def test_an_injected_inline_script_does_not_run(run_dir, tmp_path):
    page = render_report(run_dir, embed_images=True)
    html = page.read_text()
    # What an escaping slip would let through: an inline script and an inline event handler.
    injected = ('<script>document.body.setAttribute("data-pwned", "script")</script>'
                '<img src="data:," onerror="document.body.setAttribute(\'data-pwned\', \'handler\')">')
    page.write_text(html.replace("<main>", "<main>" + injected, 1))
    attrs = _render_check(tmp_path, page)
    assert attrs.get("ready") == "1", "the page's own script must still run"
    assert not re.search(r"<body[^>]*data-pwned", attrs["dom"]), "an injected script ran"
