"""report.html rebuilt from the run folder alone, escaping, regressions, history and the index."""

from __future__ import annotations

import json
import re

import pytest

from sr_core import results
from sr_core.report import find_regressions, render_index, render_report, update_history
from tests.helpers_report import HOSTILE_ID, make_run, tiny_model


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two evaluated runs (bicubic, bilinear, tiny srcnn) in one reports root, plus a failed one."""
    root = tmp_path_factory.mktemp("reports_root")
    reports = root / "reports"
    model = tiny_model(root / "models")
    r1 = make_run(reports, "20260101-run1", "2026-01-01T01:00:00Z", model_path=model)
    r2 = make_run(reports, "20260102-run2", "2026-01-02T01:00:00Z", model_path=model)
    failed = reports / "20260103-run3"
    failed.mkdir(parents=True)
    (failed / "failure.json").write_text(json.dumps(
        {"run_id": "20260103-run3", "started_at": "2026-01-03T01:00:00Z", "stage": "train-srgan",
         "error": "VGG19 weights unavailable <offline>", "message": "Flow run failed"}))
    for run_dir in (r1, r2):
        update_history(run_dir, reports)
    return reports, r1, r2, failed


def test_report_is_rebuilt_from_the_run_folder_alone(runs):
    reports, r1, _, _ = runs
    first = render_report(r1).read_text()
    (r1 / "report.html").unlink()
    again = render_report(r1).read_text()
    assert again == first
    assert "SRCNN" in first and "Bicubic" in first and "Bilinear" in first
    # Per image: the full-image table, and for each crop every method + HR side by side.
    df = results.read_metrics(r1 / "metrics.parquet")
    crops = df[df.region != "full"][["image_id", "region"]].drop_duplicates()
    assert first.count("<figure>") == len(crops) * (3 + 1)
    assert first.count('class="slider"') == df["image_id"].nunique()  # one slider per image
    assert first.count("data:image/png;base64,") >= len(crops) * 4  # self-contained
    assert "http://" not in first.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in first
    assert first.count("<svg") == 2  # distribution + trend
    assert 'id="images-table"' in first and 'id="summary-table"' in first
    assert first.count('<tr><td data-value=') >= 2


def test_every_data_string_is_escaped(runs):
    _, r1, _, _ = runs
    page = render_report(r1).read_text()
    assert HOSTILE_ID not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "seed<b>1</b>" not in page and "seed&lt;b&gt;1&lt;/b&gt;" in page
    # The only script element is our own inline one.
    assert len(re.findall(r"<script", page)) == 1


def test_linked_images_when_not_embedded(runs):
    _, r1, _, _ = runs
    page = render_report(r1, embed_images=False).read_text()
    srcs = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert srcs and all(not s.startswith("data:") and (r1 / s).is_file() for s in srcs)
    render_report(r1)  # back to the embedded version for the other tests


def test_regression_banner_only_when_worse_beyond_tolerance(runs, tmp_path):
    _, _, r2, _ = runs
    assert 'id="regression"' not in render_report(r2).read_text()  # same models, same images
    # Two bicubic nights on the same five images; night 1 made 0.5 dB better on every image, so
    # night 2's paired interval lies entirely below -0.1 dB.
    reports = tmp_path / "reports"
    ids, sizes = [f"im{i}" for i in range(5)], [(48, 56)] * 5
    n1 = make_run(reports, "20260101-n1", "2026-01-01T01:00:00Z", ids=ids, sizes=sizes)
    n2 = make_run(reports, "20260102-n2", "2026-01-02T01:00:00Z", ids=ids, sizes=sizes)
    df = results.read_metrics(n1 / "metrics.parquet")
    boost = (df["method"] == "bicubic") & (df["region"] == "full")
    df.loc[boost, "psnr_y"] += 0.5
    rows = df.astype(object).where(df.notna(), None).to_dict("records")  # missing steps as None
    results.write_table(results.metrics_table(rows), n1 / "metrics.parquet")
    for run_dir in (n1, n2):
        update_history(run_dir, reports)
    found = find_regressions(reports, "20260102-n2", 0.1)
    assert [f["method"] for f in found] == ["bicubic"] and found[0]["drop_db"] == pytest.approx(0.5)
    assert found[0]["n_images"] == 5 and found[0]["high_db"] == pytest.approx(-0.5)
    page = render_report(n2).read_text()
    assert 'id="regression"' in page and "−0.50 dB" in page and "over the same 5 images" in page
    assert find_regressions(reports, "20260102-n2", 0.5) == []  # exactly the tolerance: no alert


def test_index_lists_runs_newest_first_with_failures(runs):
    reports, *_ = runs
    page = render_index(reports).read_text()
    order = [page.index(name) for name in ("20260103-run3", "20260102-run2", "20260101-run1")]
    assert order == sorted(order)
    assert "failed" in page and "VGG19 weights unavailable &lt;offline&gt;" in page
    assert 'href="20260102-run2/report.html"' in page
    assert page.count('<tr class="run">') == 3
    assert "SRCNN" in page and " dB" in page


def test_update_history_is_idempotent(runs):
    reports, r1, _, _ = runs
    before = results.read_history(reports / "history.parquet")
    update_history(r1, reports)
    after = results.read_history(reports / "history.parquet")
    assert len(after) == len(before) == 6  # 2 runs x 3 methods
    assert after.equals(before)


def test_missing_metrics_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="srbench evaluate"):
        render_report(tmp_path)
