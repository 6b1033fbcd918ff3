"""Small pieces of report.html without TensorFlow: method order, labels, the page's CSP."""

from __future__ import annotations

import base64
import hashlib
import re

import pandas as pd

from sr_core.report import render_report
from sr_core.report.html import content_security_policy, method_labels, ordered_methods
from sr_core.runrecords import MethodInfo, RunRecord
from tests.helpers_report import make_run


def _run(*methods: tuple[str, str]) -> RunRecord:
    kinds = {"bicubic": "interpolation", "bilinear": "interpolation"}
    return RunRecord(run_id="r", started_at="2026-01-01T00:00:00Z",
                     methods={m: MethodInfo(label=label, kind=kinds.get(m, "model")) for m, label in methods})


def test_methods_in_catalogue_order_champions_after_their_model_then_run_order_then_the_rest():
    df = pd.DataFrame({"method": ["zeta", "srcnn@champion", "extra", "bicubic", "srcnn", "bilinear", "srgan",
                                  "bicubic", "absent-from-run"]})
    run = _run(("extra", "Extra"), ("zeta", "Zeta"), ("srcnn", "S"), ("not-scored", "N"))
    assert ordered_methods(df, run) == ["bilinear", "bicubic", "srcnn", "srcnn@champion", "srgan", "extra", "zeta",
                                        "absent-from-run"]


def test_labels_come_from_the_run_then_the_catalogue_and_hr_is_added():
    run = _run(("srcnn", "SRCNN tonight"), ("bicubic", "My bicubic"))
    assert method_labels(["srcnn", "bicubic", "bilinear", "mystery"], run) == {
        "srcnn": "SRCNN tonight", "bicubic": "My bicubic", "bilinear": "Bilinear", "mystery": "mystery", "hr": "HR"}


def test_csp_allows_exactly_the_pages_own_script_and_the_image_sources(tmp_path):
    page = render_report(make_run(tmp_path / "reports", "r1", "2026-01-01T00:00:00Z")).read_text()
    (script,) = re.findall(r"<script>(.*?)</script>", page, flags=re.S)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = content_security_policy(embedded_images=True)
    assert csp == f"default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"
    assert content_security_policy(embedded_images=False) == csp.replace("img-src data:;", "img-src data: 'self';")
    assert f'content="{csp}"' in page  # small images are embedded: no file may load
