"""The benchmark suite runs (smoke sizes, no timing assertions) and BENCHMARKS.md comes from its JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import suite

ROOT = Path(__file__).resolve().parents[1]
MARKS = (suite.MEASURED, suite.PROJECTED, suite.NOT_MEASURED)
MEASURED_AT_SMOKE_SIZES = ("1", "2", "3", "4", "5", "resize")


@pytest.mark.slow  # the whole benchmark suite in a subprocess (~1-3 min); the Markdown from JSON is checked fast below
def test_smoke_suite_writes_every_figure_with_a_mark(tmp_path):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--fresh", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    doc = json.loads((tmp_path / "results.json").read_text())
    assert set(doc["figures"]) == set(suite.FIGURES)
    for fid, fig in doc["figures"].items():
        assert fig["status"] in MARKS, (fid, fig["status"])
        assert fig["smoke"] is True
        assert fig["target"] == suite.FIGURES[fid][1]
        assert fig["load_avg"], fid  # the load is recorded with every figure
        assert fig["run"] in doc["machines"]
    machine = next(iter(doc["machines"].values()))
    for key in ("cpu", "cores", "ram_gb", "load_avg_start", "tensorflow", "keras", "onednn", "gpus"):
        assert key in machine, key
    # figures that need no dataset or long run are really measured, even at smoke sizes
    for fid in MEASURED_AT_SMOKE_SIZES:
        assert doc["figures"][fid]["status"] in (suite.MEASURED, suite.PROJECTED), (fid, doc["figures"][fid])
        assert doc["figures"][fid]["value"] is not None, fid
    text = (tmp_path / "BENCHMARKS.md").read_text()
    summary = text.split("## Summary", 1)[1].split("\n\n", 2)[1]
    for fid in suite.FIGURES:
        row = next(line for line in summary.splitlines() if line.startswith(f"| {fid} |"))
        assert any(mark in row for mark in MARKS), row


def test_markdown_is_rendered_from_the_json_numbers():
    fig = suite.Figure(id="5", value=0.4321, unit="s/pair", peer="scikit-image", peer_value=2.345, ratio=5.427,
                       met=True, load_avg=[3.5, 2.0, 1.0], columns=["column", "seconds"], rows=[["ssim_rgb", 0.0876]],
                       limits="the box filter")
    doc = {"figures": {"5": {**fig.to_dict(), "run": "r1"}}, "machines": {"r1": {"cpu": "X", "cores": 2}}}
    text = suite.render_markdown(doc, "docs/benchmarks-history.md")
    row = next(line for line in text.splitlines() if line.startswith("| 5 |"))
    assert "0.4321 s/pair" in row and "scikit-image: 2.35" in row and "5.43" in row and "**met**" in row
    assert "| 3.5/2/1 |" in row
    assert "| ssim_rgb | 0.0876 |" in text
    assert "**What limits it (profile):** the box filter" in text
    assert "| 1 |" in text and "not measured (no run yet)" in text  # every figure has a row, run or not
    assert "(docs/benchmarks-history.md)" in text


def test_only_merges_into_the_previous_results(tmp_path):
    first = {"1": {**suite.Figure(id="1", value=1.0).to_dict()}}
    doc = suite.write_json(tmp_path / "r.json", {"cpu": "A"}, first)
    second = suite.write_json(tmp_path / "r.json", {"cpu": "B"}, {"5": suite.Figure(id="5", value=2.0).to_dict()}, doc)
    assert second["figures"]["1"]["value"] == 1.0 and second["figures"]["5"]["value"] == 2.0
    assert set(second["figures"]) == {"1", "5"}


def test_make_targets_run_the_suite():
    import shutil

    import pytest

    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "-W", "pyproject.toml", "bench", "bench-smoke"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "-m benchmarks --out benchmarks --markdown BENCHMARKS.md" in out.stdout
    assert "-m benchmarks --smoke --fresh --out" in out.stdout


def test_cost_growth_fits_intercept_then_slope():
    from benchmarks.cost_growth import _fit

    a, b = _fit([1, 2, 4, 6], [0.5 + 0.25 * x for x in (1, 2, 4, 6)])
    assert (round(a, 12), round(b, 12)) == (0.5, 0.25)


def test_held_out_rows_pair_each_model_with_bicubic_and_its_previous_run():
    from benchmarks.end_to_end import held_out_rows

    scores = {"bicubic": {"a": 20.0, "b": 22.0}, "srcnn": {"a": 21.0, "b": 23.5}, "srresnet": {"a": 21.5, "b": 22.5}}
    labels = {"bicubic": "Bicubic", "srcnn": "SRCNN (x)", "srresnet": "SRResNet (y)"}
    previous = {"scores": {"bicubic": {"a": 20.0, "b": 22.0}, "srcnn": {"a": 21.0, "b": 23.5},
                           "srresnet": {"a": 21.0, "b": 23.0}}}
    rows, notes = held_out_rows(scores, labels, previous)
    assert [r[:2] for r in rows] == [["Bicubic", 21.0], ["SRCNN (x)", 22.25], ["SRResNet (y)", 22.0]]
    assert rows[0][2] == "–" and rows[1][2].startswith("+1.250 [") and rows[1][2].endswith("(2 / 0)")
    assert rows[1][3] == "+0.000 [+0.000, +0.000] (0 / 0)"
    assert rows[2][3].startswith("+0.000 [") and rows[2][3].endswith("(1 / 1)")  # +0.5 and -0.5: not unchanged
    (note,) = notes
    assert note.startswith("SRCNN (x): the same Y-PSNR as the previous run's model on every image")
    rows, notes = held_out_rows(scores, labels, {"scores": {"srcnn": {"a": 21.0}}})
    assert [r[3] for r in rows] == ["–", "–", "–"]
    assert notes == ["srcnn: the previous run has no scores on the same images",
                     "srresnet: the previous run has no scores on the same images"]
