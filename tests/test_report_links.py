"""Links people open: the report's public URL, the most improved crop, the night's markdown summary."""

from __future__ import annotations

import pytest

from sr_core.config import load_config
from sr_core.report import links
from sr_core.results import read_metrics
from sr_core.runrecords import RunDir
from tests.helpers_report import make_run, tiny_model


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("links")
    return RunDir.at(make_run(root / "reports", "smoke-links", "2026-01-01T00:00:00Z",
                              model_path=tiny_model(root)))


def test_report_url_is_public_when_a_base_url_is_set(tmp_path, monkeypatch):
    local = load_config("smoke", reports_dir=tmp_path / "r")
    assert links.report_url(local, "smoke-1") == (tmp_path / "r" / "smoke-1" / "report.html").as_uri()
    shared = load_config("smoke", reports_dir="s3://team/srbench/reports")
    assert links.report_url(shared, "smoke-1") == "s3://team/srbench/reports/smoke-1/report.html"
    monkeypatch.setenv("SRBENCH_REPORTS_URL", "https://team.s3.example.com/srbench/reports/")
    public = load_config("smoke", reports_dir="s3://team/srbench/reports")
    assert links.report_url(public, "smoke-1") == "https://team.s3.example.com/srbench/reports/smoke-1/report.html"
    assert links.run_file_url(public, "smoke-1", "images/a b/c.png").endswith("/smoke-1/images/a%20b/c.png")


def test_the_most_improved_crop_is_the_largest_gain_over_bicubic(run):
    crop = links.most_improved_crop(run)
    df = read_metrics(run.metrics)
    crops = df[df["region"] != "full"]
    gains = (crops[crops["method"] == "srcnn"].set_index(["image_id", "region"])["psnr_y"]
             - crops[crops["method"] == "bicubic"].set_index(["image_id", "region"])["psnr_y"])
    assert (crop.image_id, crop.region) == gains.idxmax() and crop.method == "srcnn"
    assert crop.gain_db == pytest.approx(float(gains.max()))
    assert (run.path / crop.relpath).is_file()
    assert f"{crop.gain_db:+.2f} dB" in crop.caption


def test_markdown_shows_what_changed_and_the_crop_only_as_an_image_with_a_url(run):
    from sr_core.results import NightSummary
    from tasks.reporting import summary_markdown

    summary = NightSummary(rows=[], previous_run_id=None, regressions=[])
    crop = links.most_improved_crop(run)
    changes = ["srcnn.steps: 800 -> 1000", "tensorflow 2.20.0 -> 2.21.0"]
    with_url = summary_markdown("r", summary, "https://x/r/report.html", 0.1, changes=changes, crop=crop,
                                crop_url="https://x/r/" + crop.relpath)
    assert "## What changed since the previous comparable night" in with_url
    assert "- srcnn.steps: 800 -> 1000" in with_url
    assert f"](https://x/r/{crop.relpath})" in with_url
    assert "<img" not in with_url and "&lt;img src=x onerror=alert\\(1\\)&gt;" in with_url  # a hostile id
    assert "[https://x/r/report.html](https://x/r/report.html)" in with_url
    local = summary_markdown("r", summary, "/tmp/r/report.html", 0.1, crop=crop, crop_url="file:///tmp/x.png")
    assert "Most improved crop" in local and "![" not in local and "What changed" not in local
