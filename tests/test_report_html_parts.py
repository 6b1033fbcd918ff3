"""report.html piece by piece, TensorFlow-free: each part of the page rendered from hand-made records
and metric rows whose every number is chosen here, and compared with the exact markup a reader gets.

The run records are the typed ones a night writes (``RunRecord`` with provenance, trained models,
"what changed"; written through ``RunDir``), the metric rows have the columns of ``metrics.parquet``.
Labels, ids and regions carry markup (``<b>``, quotes) so that a missing ``esc`` shows too.
``render_report`` itself is checked with its section renderers replaced by recorders, so the page
frame, the order of the sections and what each one is given are compared exactly.
"""

from __future__ import annotations

import base64
import math

import pandas as pd
import pytest

from sr_core.provenance import Provenance
from sr_core.report import html
from sr_core.results import asset_relpath
from sr_core.runrecords import Changes, MethodInfo, RunDir, RunRecord, TrainedModel

HOSTILE = '<b>"x"</b>'  # an id/label/region with markup and quotes
HOSTILE_ESC = "&lt;b&gt;&quot;x&quot;&lt;/b&gt;"


def run_record(**fields) -> RunRecord:
    return RunRecord(run_id="night-7", started_at="2026-03-01T02:00:00+00:00", **fields)


# --------------------------------------------------------------------------------------------------
# Provenance and lifecycle


def test_provenance_items_name_commit_devices_packages_and_prefect_ids():
    assert html._provenance_items(run_record()) == []
    full = run_record(
        provenance=Provenance(git_commit="abc123", git_dirty=True, code_fingerprint="c0de", host="gpu-1",
                              platform="Linux", packages={"numpy": "2.1", "keras": "3.6"}, cuda="12.3",
                              cudnn=None, cpu="Xeon", gpus=["H100", "A100"]),
        prefect={"flow_run_id": "flow-1", "deployment_id": "dep-1"})
    assert html._provenance_items(full) == [
        ("Commit", "abc123 (dirty)"), ("Code fingerprint", "c0de"), ("Host", "gpu-1"), ("Devices", "H100, A100"),
        ("Packages", "keras 3.6, numpy 2.1"), ("CUDA / cuDNN", "12.3 / -"), ("Prefect flow run", "flow-1"),
        ("Prefect deployment", "dep-1")]
    bare = run_record(provenance=Provenance(git_commit=None, git_dirty=False, code_fingerprint="f00d", host="h",
                                            platform="Linux", cudnn="9.1"))
    assert html._provenance_items(bare) == [
        ("Commit", "not a git clone"), ("Code fingerprint", "f00d"), ("Host", "h"), ("Devices", "CPU"),
        ("Packages", ""), ("CUDA / cuDNN", "- / 9.1"), ("Prefect flow run", ""), ("Prefect deployment", "")]
    cpu = run_record(provenance=Provenance(git_commit="abc", code_fingerprint="f", host="h", platform="p", cpu="Xeon"))
    assert dict(html._provenance_items(cpu))["Devices"] == "Xeon"
    assert dict(html._provenance_items(cpu))["Commit"] == "abc"


def test_the_lifecycle_card_says_what_changed_and_what_each_model_did_tonight():
    assert html._lifecycle_card(run_record(), {}) == ""
    run = run_record(
        changes=Changes(previous_run_id="night-6", config={"srcnn.steps": [4, 8]}),
        trained={"srcnn": TrainedModel(label="SRCNN", steps_trained=4, seconds_trained=1.5, init="champion night-6"),
                 "srgan": TrainedModel(origin="reused", run_id="night-5", init="scratch"),
                 "espcn": TrainedModel(label=HOSTILE, step=3, seconds=2.0, resumed_from_step=2),
                 "fsrcnn": TrainedModel(step=1)})
    labels = {"srcnn": "SRCNN <tonight>", "srgan": "SRGAN"}
    assert html._lifecycle_card(run, labels) == (
        '<div class="card" id="what-changed">'
        "<h3>What changed since the previous comparable night</h3><ul><li>Compared with night-6.</li>"
        "<li>Config srcnn.steps: 4 -&gt; 8.</li></ul>"
        "<h3>Models tonight</h3><ul>"
        "<li>SRCNN &lt;tonight&gt;: trained tonight: 4 steps in 1.5 s, started from champion night-6</li>"
        "<li>SRGAN: reused from run night-5</li>"
        f"<li>{HOSTILE_ESC}: trained tonight: 3 steps in 2.0 s (resumed at step 2)</li>"
        "<li>fsrcnn: trained tonight: 1 steps in 0.0 s</li></ul></div>")
    only_changes = html._lifecycle_card(run_record(changes=Changes()), {})
    assert only_changes == ('<div class="card" id="what-changed"><h3>What changed since the previous comparable '
                            "night</h3><ul><li>No comparable previous night (same preset, dataset and validation "
                            "images): nothing to compare.</li></ul></div>")
    only_models = html._lifecycle_card(run_record(trained={"srcnn": TrainedModel(origin="reused", run_id="r1")}),
                                       {"srcnn": "S"})
    assert only_models == ('<div class="card" id="what-changed"><h3>Models tonight</h3><ul>'
                           "<li>S: reused from run r1</li></ul></div>")


def test_the_regression_banner_gives_each_drop_with_its_interval():
    assert html._regression_banner([]) == ""
    finding = {"label": HOSTILE, "psnr_y": 25.4567, "previous_psnr_y": 25.9, "previous_run_id": "night<6>",
               "drop_db": 0.4433, "low_db": -0.61, "high_db": -0.2, "n_images": 12, "tolerance_db": 0.1}
    second = {**finding, "label": "SRCNN", "low_db": 0.5, "high_db": 1.25, "n_images": 3, "tolerance_db": 0.25}
    assert html._regression_banner([finding, second]) == (
        '<div class="banner" id="regression">Regression: worse than the previous comparable run '
        "(same preset, dataset and images)<ul>"
        f"<li>{HOSTILE_ESC}: mean Y-PSNR 25.46 dB vs 25.90 dB in run <span class=\"mono\">night&lt;6&gt;</span> "
        "(−0.44 dB; 95% interval [-0.61, -0.20] over the same 12 images lies below −0.10 dB)</li>"
        "<li>SRCNN: mean Y-PSNR 25.46 dB vs 25.90 dB in run <span class=\"mono\">night&lt;6&gt;</span> "
        "(−0.44 dB; 95% interval [+0.50, +1.25] over the same 3 images lies below −0.25 dB)</li></ul></div>")


# --------------------------------------------------------------------------------------------------
# Zoom, figures, slider and image sources


def test_zoom_fits_the_strip_into_the_budget_between_1x_and_8x():
    assert html._zoom(40, 24, 3) == 8  # (1232 - 12) // 120 = 10, capped at 8
    assert html._zoom(100, 50, 2) == 6  # (1232 - 6) // 200 = 6; 480 // 50 = 9
    assert html._zoom(40, 100, 1) == 4  # 480 // 100
    assert html._zoom(300, 300, 5) == 1  # too wide: 1:1, the strip scrolls
    assert html._zoom(50, 10, 2, budget=206) == 2  # (206 - 6) // 100
    assert html._zoom(50, 10, 2, budget=205) == 1  # (205 - 6) // 100
    assert html._zoom(50, 10, 3, budget=318) == 2  # (318 - 12) // 150
    assert html._zoom(0, 10, 1, budget=5) == 5  # a zero width counts as one pixel
    assert html._zoom(100, 24, 1, budget=480) == 4
    assert html._zoom(10, 0, 1) == 8
    assert html._zoom(411, 10, 1) == 2  # 1232 // 411 (the default budget)
    assert type(html._zoom(40, 24, 3)) is int


def test_a_figure_is_the_image_at_its_zoom_or_a_placeholder():
    assert html._figure("images/a b.png", HOSTILE, "<i>cap</i>", 40, 25, 3) == (
        f'<figure><img src="images/a b.png" width="120" height="75" alt="{HOSTILE_ESC}" loading="eager">'
        f"<figcaption><b>{HOSTILE_ESC}</b><i>cap</i></figcaption></figure>")
    assert html._figure('x"y', "L", "", 41, 25, 1.5) == (
        '<figure><img src="x&quot;y" width="62" height="38" alt="L" loading="eager">'
        "<figcaption><b>L</b></figcaption></figure>")
    assert html._figure(None, "L", "c", 40, 24, 2) == (
        '<figure><div style="width:80px;height:48px" class="muted">image missing</div>'
        "<figcaption><b>L</b>c</figcaption></figure>")


def _png_files(run_dir, image_id: str, region: str, methods, size: int = 10) -> None:
    for method in methods:
        path = run_dir / asset_relpath(image_id, region, method)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes([len(method)]) * size)


def test_images_are_embedded_up_to_the_limit_and_linked_beyond_it(tmp_path, monkeypatch):
    rd = RunDir(tmp_path, "r1")
    _png_files(rd.path, "a", "crop", ["bicubic", "hr"], size=10)
    (rd.images / "notes.txt").write_bytes(b"x" * 100)
    monkeypatch.setattr(html, "EMBED_LIMIT_BYTES", 20)
    embedded = html._Images(rd, None)
    assert embedded.embed is True and embedded.run_dir == rd.path
    assert embedded.src("a", "crop", "bicubic") == "data:image/png;base64," + base64.b64encode(b"\x07" * 10).decode()
    assert embedded.src("a", "crop", "srcnn") is None
    monkeypatch.setattr(html, "EMBED_LIMIT_BYTES", 19)
    linked = html._Images(rd, None)
    assert linked.embed is False
    assert linked.src("a", "crop", "bicubic") == asset_relpath("a", "crop", "bicubic")
    assert html._Images(rd, True).embed is True and html._Images(rd, False).embed is False
    assert html._Images(RunDir(tmp_path, "no-images"), None).embed is True
    monkeypatch.setattr(html, "EMBED_LIMIT_BYTES", 0)
    assert html._Images(RunDir(tmp_path, "no-images"), None).embed is True  # nothing to embed: 0 bytes


def test_the_slider_overlays_two_methods_and_needs_both(tmp_path):
    rd = RunDir(tmp_path, "r1")
    _png_files(rd.path, HOSTILE, HOSTILE, ["bicubic", "srcnn"])
    images = html._Images(rd, False)
    labels = {"bicubic": "Bicubic", "srcnn": HOSTILE}
    a, b = (html.esc(asset_relpath(HOSTILE, HOSTILE, m)) for m in ("bicubic", "srcnn"))
    assert html._slider(images, HOSTILE, HOSTILE, "bicubic", "srcnn", labels, 30, 20, 4) == (
        f'<div class="slider-wrap"><h3>Before / after: Bicubic ↔ {HOSTILE_ESC} '
        f'<span class="muted">({HOSTILE_ESC}; drag the slider)</span></h3>'
        '<div class="slider" style="width:120px">'
        f'<img class="bottom" src="{b}" width="120" height="80" alt="{HOSTILE_ESC}">'
        f'<img class="top" src="{a}" width="120" height="80" alt="Bicubic">'
        '<span class="tag" style="left:4px">Bicubic</span>'
        f'<span class="tag" style="right:4px">{HOSTILE_ESC}</span>'
        '<div class="handle"></div>'
        '<input type="range" min="0" max="100" value="50" aria-label="before/after position">'
        "</div></div>")
    assert html._slider(images, HOSTILE, HOSTILE, "bicubic", "srgan", labels | {"srgan": "G"}, 30, 20, 4) == ""
    assert html._slider(images, HOSTILE, HOSTILE, "srgan", "srcnn", labels | {"srgan": "G"}, 30, 20, 4) == ""


# --------------------------------------------------------------------------------------------------
# Tables


def _summary_rows() -> pd.DataFrame:
    return pd.DataFrame([
        {"method": "bicubic", "n_images": 2, "model_step": None, "seconds_per_image": 0.01234,
         "mean_psnr_rgb": 24.0, "mean_ssim_rgb": 0.7, "mean_psnr_y": 25.5, "mean_ssim_y": 0.75,
         "delta_psnr_y": 0.0, "delta_ssim_y": 0.0},
        {"method": "srcnn", "n_images": 2, "model_step": 400.0, "seconds_per_image": 0.5,
         "mean_psnr_rgb": 25.125, "mean_ssim_rgb": 0.65, "mean_psnr_y": 26.75, "mean_ssim_y": math.nan,
         "delta_psnr_y": 1.25, "delta_ssim_y": None}])


def test_the_summary_table_marks_the_best_of_each_column_and_the_deltas_sign():
    labels = {"bicubic": "Bicubic", "srcnn": HOSTILE, "srgan": "G"}
    got = html._summary_table(_summary_rows(), ["srgan", "srcnn", "bicubic"], labels)
    head = ("<tr><th>Method</th><th>Model step</th><th>Images</th><th>PSNR RGB (dB)</th><th>SSIM RGB</th>"
            "<th>PSNR Y (dB)</th><th>SSIM Y</th><th>Δ PSNR Y vs bicubic</th><th>Δ SSIM Y vs bicubic</th>"
            "<th>Seconds / image</th></tr>")
    srcnn = (f'<tr><td data-value="{HOSTILE_ESC}">{HOSTILE_ESC} <span class="muted mono">(srcnn)</span></td>'
             "<td>400</td><td>2</td>"
             '<td class="best" data-value="25.125000">25.12</td><td data-value="0.650000">0.6500</td>'
             '<td class="best" data-value="26.750000">26.75</td><td data-value="">–</td>'
             '<td class="pos" data-value="1.250000">+1.25</td><td data-value="">–</td>'
             '<td data-value="0.500000">0.500</td></tr>')
    bicubic = ('<tr><td data-value="Bicubic">Bicubic <span class="muted mono">(bicubic)</span></td>'
               "<td>–</td><td>2</td>"
               '<td data-value="24.000000">24.00</td><td class="best" data-value="0.700000">0.7000</td>'
               '<td data-value="25.500000">25.50</td><td class="best" data-value="0.750000">0.7500</td>'
               '<td class="" data-value="0.000000">+0.00</td><td class="" data-value="0.000000">+0.0000</td>'
               '<td data-value="0.012340">0.012</td></tr>')
    assert got == (f'<div class="scroll"><table class="sortable" id="summary-table"><thead>{head}</thead><tbody>'
                   f"{srcnn}{bicubic}</tbody></table></div>")
    assert html._summary_table(pd.DataFrame(), ["bicubic"], labels) == (
        '<p class="muted">No full-image rows in this run.</p>')


def test_deltas_and_sort_keys_of_cells():
    assert html.fmt_delta(-0.125) == '<td class="neg" data-value="-0.125000">-0.12</td>'
    assert html.fmt_delta(0.00004, 4) == '<td class="pos" data-value="0.000040">+0.0000</td>'
    assert html.fmt_delta(math.inf) == '<td data-value="">–</td>'
    assert html.fmt_delta("n/a") == '<td data-value="">–</td>'
    assert [html.data_value(v) for v in (1.5, -math.inf, math.inf, None, "x", 0)] == [
        "1.500000", "-inf", "inf", "", "", "0.000000"]


def _full_rows() -> pd.DataFrame:
    rows = []
    for image_id, (h, w), scores in ((HOSTILE, (64, 80), {"bicubic": (25.0, 0.7), "srcnn": (26.5, 0.75)}),
                                     ("0802", (48, 40), {"bicubic": (27.25, 0.8), "srcnn": (27.0, 0.85)}),
                                     ("0803", (20, 30), {})):
        for method, (psnr_y, ssim_y) in scores.items():
            rows.append({"image_id": image_id, "method": method, "height": h, "width": w,
                         "psnr_y": psnr_y, "ssim_y": ssim_y})
        if not scores:
            rows.append({"image_id": image_id, "method": "srgan", "height": h, "width": w,
                         "psnr_y": math.nan, "ssim_y": math.nan})
    return pd.DataFrame(rows)


def test_the_per_image_table_has_one_row_per_image_and_names_the_best_method():
    labels = {"bicubic": "Bicubic", "srcnn": "SRCNN", "srgan": "G"}
    got = html._per_image_table(_full_rows(), ["srcnn", "bicubic"], labels)
    head = ("<tr><th>Image</th><th>HR size</th><th>SRCNN PSNR Y</th><th>Bicubic PSNR Y</th>"
            "<th>SRCNN SSIM Y</th><th>Bicubic SSIM Y</th><th>Best (PSNR Y)</th></tr>")
    hostile_slug = html.esc(html.slug(HOSTILE))
    rows = [
        f'<tr><td data-value="{HOSTILE_ESC}"><a href="#img-{hostile_slug}">{HOSTILE_ESC}</a></td>'
        '<td data-value="5120">64×80</td>'
        '<td class="best" data-value="26.500000">26.50</td><td data-value="25.000000">25.00</td>'
        '<td data-value="0.750000">0.7500</td><td data-value="0.700000">0.7000</td>'
        '<td data-value="SRCNN">SRCNN</td></tr>',
        '<tr><td data-value="0802"><a href="#img-0802">0802</a></td><td data-value="1920">48×40</td>'
        '<td data-value="27.000000">27.00</td><td class="best" data-value="27.250000">27.25</td>'
        '<td data-value="0.850000">0.8500</td><td data-value="0.800000">0.8000</td>'
        '<td data-value="Bicubic">Bicubic</td></tr>',
        '<tr><td data-value="0803"><a href="#img-0803">0803</a></td><td data-value="600">20×30</td>'
        '<td data-value="">–</td><td data-value="">–</td><td data-value="">–</td><td data-value="">–</td>'
        '<td data-value="">–</td></tr>']
    assert got == (f'<div class="scroll"><table class="sortable" id="images-table"><thead>{head}</thead><tbody>'
                   + "".join(rows) + "</tbody></table></div>")


def _image_rows() -> pd.DataFrame:
    common = {"crop_border": 4}
    return pd.DataFrame([
        {"region": "full", "method": "bicubic", "psnr_rgb": 24.0, "ssim_rgb": 0.7, "psnr_y": 25.0, "ssim_y": 0.71,
         "seconds": 0.0125, "height": 64, "width": 80, "top": 0, "left": 0, **common},
        {"region": "full", "method": "srcnn", "psnr_rgb": 25.5, "ssim_rgb": 0.75, "psnr_y": 26.5, "ssim_y": 0.76,
         "seconds": 0.5, "height": 64, "width": 80, "top": 0, "left": 0, **common},
        {"region": HOSTILE, "method": "bicubic", "psnr_rgb": 20.0, "ssim_rgb": 0.5, "psnr_y": 21.0,
         "ssim_y": 0.51, "seconds": 0.0, "height": 24, "width": 40, "top": 8, "left": 12, **common},
        {"region": HOSTILE, "method": "srcnn", "psnr_rgb": 22.0, "ssim_rgb": 0.6, "psnr_y": 23.0,
         "ssim_y": 0.61, "seconds": 0.0, "height": 24, "width": 40, "top": 8, "left": 12, **common},
        {"region": "edge", "method": "srcnn", "psnr_rgb": 30.0, "ssim_rgb": 0.9, "psnr_y": 31.0, "ssim_y": 0.91,
         "seconds": 0.0, "height": 10, "width": 300, "top": 50, "left": 0, **common}])


def test_an_image_section_has_the_full_image_scores_and_every_crop_strip(tmp_path):
    rd = RunDir(tmp_path, "r1")
    _png_files(rd.path, "0801", HOSTILE, ["bicubic", "srcnn", "hr"])
    _png_files(rd.path, "0801", "edge", ["bicubic", "srcnn"])  # a slider could be drawn here too: it is not
    images = html._Images(rd, False)
    labels = {"bicubic": "Bicubic", "srcnn": "SRCNN", "srgan": "G"}
    got = html._image_section("0801", _image_rows(), ["bicubic", "srgan", "srcnn"], labels, images,
                              ("bicubic", "srcnn"))
    src = {m: html.esc(asset_relpath("0801", HOSTILE, m)) for m in ("bicubic", "srcnn", "hr")}

    def fig(method, label, caption, w, h):
        img = (f'<img src="{src[method]}" width="{w}" height="{h}" alt="{label}" loading="eager">' if method in src
               else f'<div style="width:{w}px;height:{h}px" class="muted">image missing</div>')
        return f"<figure>{img}<figcaption><b>{label}</b>{caption}</figcaption></figure>"

    def caption(y, rgb):
        return (f'<span title="Y-PSNR (dB) / Y-SSIM">{y}</span><br>'
                f'<span class="muted">RGB {rgb}</span>')

    expected = (
        '<section class="image-section" id="img-0801"><h2>Image <span class="mono">0801</span></h2>'
        '<p class="muted">Full image 64×80 HR pixels (Y metrics with 4 px border crop)</p>'
        "<table><thead><tr><th>Method</th><th>PSNR RGB</th><th>SSIM RGB</th><th>PSNR Y</th>"
        "<th>SSIM Y</th><th>Seconds</th></tr></thead><tbody>"
        "<tr><td>Bicubic</td><td>24.00</td><td>0.7000</td><td>25.00</td><td>0.7100</td><td>0.013</td></tr>"
        "<tr><td>SRCNN</td><td>25.50</td><td>0.7500</td><td>26.50</td><td>0.7600</td><td>0.500</td></tr>"
        "</tbody></table>"
        # crop 1: 3 panels of 40 px: (1232 - 12) // 120 = 10 -> 8x
        f'<h3>Crop <span class="mono">{HOSTILE_ESC}</span> <span class="muted">24×40 at (top 8, left 12), shown at '
        '8×; titles: PSNR/SSIM on Y (RGB below)</span></h3><div class="strip">'
        + fig("bicubic", "Bicubic", caption("21.00 / 0.5100", "20.00 / 0.5000"), 320, 192)
        + fig("srcnn", "SRCNN", caption("23.00 / 0.6100", "22.00 / 0.6000"), 320, 192)
        + fig("hr", "HR", "reference", 320, 192) + "</div>"
        # the slider on the first crop only, zoomed to fit 480 px: 480 // 40 = 12 -> 8x
        + html._slider(images, "0801", HOSTILE, "bicubic", "srcnn", labels, 40, 24, 8)
        # crop 2: 2 panels of 300 px: (1232 - 6) // 600 = 2
        + '<h3>Crop <span class="mono">edge</span> <span class="muted">10×300 at (top 50, left 0), shown at '
        '2×; titles: PSNR/SSIM on Y (RGB below)</span></h3><div class="strip">'
        + f'<figure><img src="{html.esc(asset_relpath("0801", "edge", "srcnn"))}" width="600" height="20" '
        'alt="SRCNN" loading="eager"><figcaption><b>SRCNN</b>'
        + caption("31.00 / 0.9100", "30.00 / 0.9000") + "</figcaption></figure>"
        + '<figure><div style="width:600px;height:20px" class="muted">image missing</div><figcaption><b>HR</b>'
        "reference</figcaption></figure></div></section>")
    assert 'class="slider"' in expected
    assert got == expected
    no_slider = html._image_section("0801", _image_rows(), ["bicubic", "srcnn"], labels, images, None)
    assert no_slider == expected.replace(html._slider(images, "0801", HOSTILE, "bicubic", "srcnn", labels, 40, 24, 8),
                                         "")
    only_full = html._image_section(HOSTILE, _image_rows()[1:2], ["srcnn"], labels, images, None)
    assert only_full == (
        f'<section class="image-section" id="img-{html.esc(html.slug(HOSTILE))}"><h2>Image '
        f'<span class="mono">{HOSTILE_ESC}</span></h2>'
        '<p class="muted">Full image 64×80 HR pixels (Y metrics with 4 px border crop)</p>'
        "<table><thead><tr><th>Method</th><th>PSNR RGB</th><th>SSIM RGB</th><th>PSNR Y</th>"
        "<th>SSIM Y</th><th>Seconds</th></tr></thead><tbody>"
        "<tr><td>SRCNN</td><td>25.50</td><td>0.7500</td><td>26.50</td><td>0.7600</td><td>0.500</td></tr>"
        '</tbody></table><p class="muted">No crops for this image.</p></section>')
    crops_only = html._image_section("0801", _image_rows()[4:], ["srcnn"], labels, images, None)
    assert crops_only.startswith('<section class="image-section" id="img-0801"><h2>Image <span class="mono">0801'
                                 '</span></h2><h3>Crop <span class="mono">edge</span>')


# --------------------------------------------------------------------------------------------------
# Trend and run card


def _history(n_runs: int) -> pd.DataFrame:
    rows = []
    for i in range(n_runs):
        run_id = f"run-{i:02d}"
        started = f"2026-01-{1 + i % 28:02d}T{i // 28:02d}:{i % 60:02d}:00+00:00"
        rows.append({"run_id": run_id, "preset": "smoke", "dataset": "sample", "started_at": started,
                     "method": "bicubic", "mean_psnr_y": 20.0 + i})
        if i % 2 == 1:  # the first run has no srcnn row: bicubic is the first method
            rows.append({"run_id": run_id, "preset": "smoke", "dataset": "sample", "started_at": started,
                         "method": "srcnn", "mean_psnr_y": math.nan if i == 29 else 30.0 + i})
    rows.append({"run_id": "other-preset", "preset": "quick", "dataset": "sample",
                 "started_at": "2027-01-01T00:00:00+00:00", "method": "bicubic", "mean_psnr_y": 1.0})
    rows.append({"run_id": "other-dataset", "preset": "smoke", "dataset": "div2k",
                 "started_at": "2027-01-01T00:00:00+00:00", "method": "srgan", "mean_psnr_y": 2.0})
    return pd.DataFrame(rows).sample(frac=1.0, random_state=3)  # stored order is not time order


def test_the_trend_plots_the_last_30_comparable_runs_per_method(monkeypatch):
    calls = []
    monkeypatch.setattr(html, "trend_plot", lambda *args, **kw: calls.append((args, kw)) or "<svg>trend</svg>")
    run = run_record(preset="smoke", dataset="sample")
    assert html._trend(pd.DataFrame(), run, "night-7", {}) == '<p class="muted">No history yet.</p>'
    assert html._trend(_history(32), run, "run-31", {"srcnn": "SRCNN <b>"}) == "<svg>trend</svg>"
    ((runs, lines), kw) = calls[0]
    # run-00..run-27 start on Jan 1..28 at 00:mm; run-28.. on Jan 1.. at 01:mm: time order != id order
    order = sorted((f"2026-01-{1 + i % 28:02d}T{i // 28:02d}:{i % 60:02d}", f"run-{i:02d}") for i in range(32))
    want = [r for _, r in order][-30:]
    assert runs == want and len(runs) == 30
    assert kw == {"highlight": "run-31", "tick_labels": [
        f"01-{1 + int(r[4:]) % 28:02d} {int(r[4:]) // 28:02d}:{int(r[4:]) % 60:02d}" for r in want]}
    srcnn = [None if int(r[4:]) % 2 == 0 or int(r[4:]) == 29 else 30.0 + int(r[4:]) for r in want]
    bicubic = [20.0 + int(r[4:]) for r in want]
    assert lines == [("bicubic", bicubic), ("SRCNN <b>", srcnn)]


def test_the_run_card_lists_the_run_its_methods_wall_times_config_and_source():
    run = run_record(
        preset="smoke", dataset="", split="validation", scale=4, data_fingerprint="dfp", config_fingerprint=None,
        config={"b": 1, "a": {"x": "<y>"}}, source={"kind": "tfds"}, wall_times={"evaluate": 1.25, "train": 10.0},
        methods={"bicubic": MethodInfo(label="Bicubic", kind="interpolation", description="cubic <4x4>"),
                 "srcnn": MethodInfo(label="SRCNN", kind="model", model_path="models/srcnn.keras", step=400,
                                     created_at="2026-02-28T00:00:00+00:00")},
        provenance=Provenance(git_commit="abc", code_fingerprint="c", host="h", platform="p"))
    df = pd.DataFrame([{"dataset": "from-rows"}])
    labels = {"bicubic": "Bicubic", "srcnn": "SRCNN", "srgan": HOSTILE}
    got = html._run_card(run, df, ["bicubic", "srcnn", "srgan"], labels)
    items = [("Run", "night-7"), ("Started (UTC)", "2026-03-01T02:00:00+00:00"), ("Preset", "smoke"),
             ("Dataset", "from-rows"), ("Split", "validation"), ("Scale", "4"), ("Data fingerprint", "dfp"),
             ("Config fingerprint", ""), ("Commit", "abc"), ("Code fingerprint", "c"), ("Host", "h"),
             ("Devices", "CPU"), ("Packages", ""), ("CUDA / cuDNN", "- / -"), ("Prefect flow run", ""),
             ("Prefect deployment", "")]
    rows = "".join(f'<tr><td>{k}</td><td class="mono" style="text-align:left">{v}</td></tr>' for k, v in items)
    models = ('<tr><td>Bicubic</td><td class="mono">bicubic</td><td>–</td>'
              '<td class="mono" style="text-align:left">cubic &lt;4x4&gt;</td><td></td></tr>'
              '<tr><td>SRCNN</td><td class="mono">srcnn</td><td>400</td>'
              '<td class="mono" style="text-align:left">models/srcnn.keras</td><td>2026-02-28T00:00:00+00:00</td></tr>'
              f'<tr><td>{HOSTILE_ESC}</td><td class="mono">srgan</td><td>–</td>'
              '<td class="mono" style="text-align:left"></td><td></td></tr>')
    config = '{\n  &quot;a&quot;: {\n    &quot;x&quot;: &quot;&lt;y&gt;&quot;\n  },\n  &quot;b&quot;: 1\n}'
    assert got == (
        f'<div class="card"><h2 id="run">Run</h2><table>{rows}</table>'
        "<h3>Methods and models</h3><table><thead><tr><th>Label</th><th>Method</th><th>Step</th>"
        f"<th>Model file</th><th>Created</th></tr></thead><tbody>{models}</tbody></table>"
        "<h3>Wall times</h3><table><tr><td>evaluate</td><td>1.2 s</td></tr><tr><td>train</td><td>10.0 s</td></tr>"
        f"</table><details><summary>Configuration</summary><pre>{config}</pre></details>"
        '<details><summary>Data source</summary><pre>{\n  &quot;kind&quot;: &quot;tfds&quot;\n}</pre></details></div>')
    bare = html._run_card(run_record(dataset="set5", source={"z": 1, "a": 2}), pd.DataFrame(), [], {})
    assert "<tr><td>Dataset</td><td class=\"mono\" style=\"text-align:left\">set5</td></tr>" in bare
    assert '<tr><td>Data fingerprint</td><td class="mono" style="text-align:left"></td></tr>' in bare
    assert "<tbody></tbody></table><details><summary>Configuration</summary>" in bare  # no wall times
    assert "<pre>{\n  &quot;a&quot;: 2,\n  &quot;z&quot;: 1\n}</pre>" in bare
    assert "<tr><td>Scale</td><td class=\"mono\" style=\"text-align:left\"></td></tr>" in bare
    assert "<h3>Wall times</h3>" not in bare and "<tr><td>Commit</td>" not in bare
    assert "<pre>{}</pre>" in bare
    no_rows = html._run_card(run_record(), pd.DataFrame(), [], {})
    assert '<tr><td>Dataset</td><td class="mono" style="text-align:left"></td></tr>' in no_rows


# --------------------------------------------------------------------------------------------------
# The whole page: its frame, the order of the sections and what each one is given


def _metric_rows(scale: int = 4, dataset: str = "sample", extra_models: dict | None = None) -> list[dict]:
    started = pd.Timestamp("2026-03-01T02:00:00Z")
    rows = []
    psnr = {"bicubic": 25.0, "bilinear": 24.0, "srcnn": 26.0, "srgan": 26.5, **(extra_models or {})}
    for split, images in (("validation", ("a", HOSTILE)), ("benchmark", ("set5/bird",))):
        for n, image_id in enumerate(images):
            for method, value in psnr.items():
                for region in ("full", "c1") if image_id == "a" else ("full",):
                    rows.append({"run_id": "night-7", "started_at": started, "dataset": dataset, "split": split,
                                 "image_id": image_id, "method": method,
                                 "model_step": 40 if method == "srcnn" else None,
                                 "region": region, "top": 0, "left": 0, "height": 32, "width": 40, "scale": scale,
                                 "crop_border": 4, "psnr_rgb": value - 1 + n, "ssim_rgb": 0.5, "psnr_y": value + n,
                                 "ssim_y": 0.6, "seconds": 0.25})
    return rows


def _write_run(reports, rows, run_id="night-7", run_json=True, **fields):
    from sr_core.results import metrics_table, write_table

    rd = RunDir(reports, run_id)
    rd.path.mkdir(parents=True)
    write_table(metrics_table([{**r, "run_id": run_id} for r in rows]), rd.metrics)
    if run_json:
        rd.write_run(run_record(**{"preset": "smoke", "dataset": "sample", "scale": 4, **fields}))
    return rd


@pytest.fixture
def recorded(monkeypatch):
    """Each section renderer of the page replaced by a recorder returning ``[name]``."""
    calls: dict[str, list] = {}

    def recorder(name):
        def record(*args, **kw):
            calls.setdefault(name, []).append((args, kw))
            return f"[{name}]"
        return record

    for name in ("_regression_banner", "_lifecycle_card", "_summary_table", "verdict_section", "comparisons_table",
                 "extra_sets_section", "distribution_plot", "_trend", "_curves_card", "_per_image_table",
                 "_image_section", "_run_card", "copy_curves", "content_security_policy"):
        monkeypatch.setattr(html, name, recorder(name))
    monkeypatch.setattr(html, "CSS", "/*css*/")
    monkeypatch.setattr(html, "JS", "/*js*/")
    return calls


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="[content_security_policy]">
<title>srbench report night-7</title><style>/*css*/</style></head>
<body><main>
<nav class="muted"><a href="../index.html">All runs</a><a href="#summary">Summary</a><a href="#plots">Plots</a>
<a href="#images">Images</a><a href="#run">Run details</a></nav>
<h1>Super-resolution x3 report
<span class="mono">night-7</span></h1>
<p class="muted">smoke preset · dataset sample
· 2 validation images · started 2026-03-01T02:00:00+00:00 UTC</p>
[_regression_banner]
[_lifecycle_card]
NOTES
<h2 id="summary">Summary: mean over full images</h2>
<p class="muted">RGB: scikit-image PSNR/SSIM on the whole RGB image (the seed's numbers). Y: BT.601 luma,
4 px border cropped, Gaussian SSIM (the SR papers' protocol).
Δ columns: difference from bicubic. Click a column to sort.</p>
[_summary_table]
[verdict_section]
[comparisons_table]
[extra_sets_section]
<h2 id="plots">Plots</h2>
<div class="card"><h3>Y-PSNR per image, by method (bar = mean)</h3>[distribution_plot]</div>
<div class="card"><h3>Nightly trend: mean Y-PSNR per run (smoke, sample)</h3>
[_trend]</div>
[_curves_card]
<h2 id="images">Per image</h2>
[_per_image_table]
[_image_section][_image_section]
[_run_card]
<div id="render-check" hidden></div>
</main><script>/*js*/</script></body></html>
"""


def test_the_page_frame_orders_the_sections_and_hands_each_its_part(tmp_path, recorded):
    # run.json's scale and dataset win over the rows' (which only stand in when run.json lacks them)
    rd = _write_run(tmp_path / "reports", _metric_rows(scale=2, dataset="rows-ds"), notes=["note <1>", "note 2"],
                    verdicts=[{"model": "srcnn"}], champions={"srcnn": {"run_id": "night-6"}}, track="smoke", scale=3)
    path = html.render_report(rd.path, embed_images=False)
    assert path == rd.report
    notes = '<div class="notes" id="notes"><b>Notes</b><ul><li>note &lt;1&gt;</li><li>note 2</li></ul></div>'
    assert rd.report.read_text() == PAGE.replace("NOTES", notes)
    c = recorded
    methods = ["bilinear", "bicubic", "srcnn", "srgan"]
    labels = {"bilinear": "Bilinear", "bicubic": "Bicubic", "srcnn": "SRCNN", "srgan": "SRGAN", "hr": "HR"}
    assert c["content_security_policy"] == [((False,), {})]
    assert c["_regression_banner"] == [(([],), {})]  # one run: nothing to compare with
    ((run, got_labels), _), = c["_lifecycle_card"]
    assert run.run_id == "night-7" and got_labels == labels
    ((summary, got_methods, got_labels), _), = c["_summary_table"]
    assert got_labels == labels
    assert list(summary["method"]) == ["bicubic", "bilinear", "srcnn", "srgan"] and got_methods == methods
    assert list(summary["mean_psnr_y"]) == [25.5, 24.5, 26.5, 27.0]  # the validation images only
    assert c["verdict_section"] == [(([{"model": "srcnn"}], {"srcnn": {"run_id": "night-6"}}, labels, "smoke"), {})]
    ((df, got_methods, got_labels), _), = c["comparisons_table"]
    assert set(df["split"]) == {"validation"} and len(df) == 12 and got_methods == methods and got_labels == labels
    ((extra, extra_methods, got_labels, scale), _), = c["extra_sets_section"]
    assert set(extra["image_id"]) == {"set5/bird"} and len(extra) == 4 and extra_methods == methods and scale == 3
    assert got_labels == labels
    ((dist,), _), = c["distribution_plot"]
    assert dist == [("Bilinear", [("a", 24.0), (HOSTILE, 25.0)]), ("Bicubic", [("a", 25.0), (HOSTILE, 26.0)]),
                    ("SRCNN", [("a", 26.0), (HOSTILE, 27.0)]), ("SRGAN", [("a", 26.5), (HOSTILE, 27.5)])]
    ((history, run, run_id, got_labels), _), = c["_trend"]
    assert run_id == "night-7" and sorted(history["method"]) == sorted(methods)  # tonight, added in memory
    assert run.run_id == "night-7" and got_labels == labels
    assert list(history.sort_values("method")["mean_psnr_y"]) == [25.5, 24.5, 26.5, 27.0]
    ((curves_run, got_labels), _), = c["_curves_card"]
    assert curves_run == rd and got_labels == labels
    ((full, got_methods, got_labels), _), = c["_per_image_table"]
    assert set(full["region"]) == {"full"} and list(dict.fromkeys(full["image_id"])) == ["a", HOSTILE]
    assert got_methods == methods and got_labels == labels
    assert len(full) == 8
    sections = [(args[0], len(args[1]), args[2], args[5]) for args, _ in c["_image_section"]]
    assert sections == [("a", 8, methods, ("bicubic", "srgan")), (HOSTILE, 4, methods, ("bicubic", "srgan"))]
    assert c["_image_section"][0][0][4].embed is False
    assert all(args[3] == labels for args, _ in c["_image_section"])
    ((run, df, got_methods, got_labels), _), = c["_run_card"]
    assert len(df) == 12 and got_methods == methods and got_labels == labels and run.run_id == "night-7"
    assert "copy_curves" not in c


def test_the_slider_pair_without_a_scored_model_and_without_bicubic(tmp_path, recorded):
    rows = [r for r in _metric_rows() if r["method"] in ("bicubic", "bilinear", "srcnn") and r["split"] == "validation"]
    for r in rows:
        if r["method"] == "srcnn":
            r["psnr_y"] = math.nan  # a model that scored nothing
    rd = _write_run(tmp_path / "a", rows)
    html.render_report(rd, embed_images=True, curves_from={"srcnn": tmp_path / "curves.csv"})
    assert {args[5] for args, _ in recorded["_image_section"]} == {("bilinear", "bicubic")}
    assert recorded["copy_curves"] == [((rd.path, {"srcnn": tmp_path / "curves.csv"}), {})]
    assert recorded["content_security_policy"] == [((True,), {})]
    page = rd.report.read_text()
    assert "\n[_lifecycle_card]\n\n<h2 id=\"summary\">" in page  # no notes: no notes block
    recorded.clear()
    rd2 = _write_run(tmp_path / "b", [r for r in rows if r["method"] != "bicubic"])
    html.render_report(rd2)
    assert {args[5] for args, _ in recorded["_image_section"]} == {None}
    recorded.clear()
    rd3 = _write_run(tmp_path / "c", [r for r in rows if r["method"] == "bicubic"])
    html.render_report(rd3)
    assert {args[5] for args, _ in recorded["_image_section"]} == {None}


def test_the_page_uses_the_history_given_and_its_regression_findings(tmp_path, recorded, monkeypatch):
    found, read = [], []
    monkeypatch.setattr(html, "find_regressions", lambda *a: found.append(a) or [{"label": "x"}])
    reports = tmp_path / "reports"
    earlier = _write_run(reports, _metric_rows(), run_id="night-6")
    rd = _write_run(reports, _metric_rows(), config={"eval": {"regression_tolerance_db": 0.3}})
    history = pd.DataFrame([{"run_id": run_id, "preset": "smoke", "dataset": "sample", "method": "bicubic",
                             "started_at": pd.Timestamp("2026-03-01T02:00:00Z"), "mean_psnr_y": 1.0}
                            for run_id in ("night-6", "night-7")])

    def read_history(where):
        read.append(where)
        return history if where == "elsewhere" else history[:1]

    monkeypatch.setattr(html, "read_history", read_history)
    html.render_report(rd, history_path="elsewhere")
    ((got, run_id, tolerance, metrics_of), ) = found
    assert read == ["elsewhere"]
    assert got is history and run_id == "night-7" and tolerance == 0.3  # already there: not added again
    assert recorded["_regression_banner"] == [(([{"label": "x"}],), {})]
    # tonight's rows come from memory (the validation split only), earlier nights' from their folders
    assert len(metrics_of("night-7")) == 12 and set(metrics_of("night-7")["split"]) == {"validation"}
    assert len(metrics_of("night-6")) == 16 and metrics_of("night-6")["run_id"].unique().tolist() == ["night-6"]
    assert earlier.metrics.is_file()

    found.clear()
    recorded.clear()
    read.clear()
    html.render_report(rd)  # its own root, which has only night-6 in its history: tonight is added in memory
    assert read == [reports]
    ((got, run_id, tolerance, _), ) = found
    assert list(got.index) == list(range(5))
    assert got["run_id"].tolist() == ["night-6"] + ["night-7"] * 4
    assert sorted(got["method"][1:]) == ["bicubic", "bilinear", "srcnn", "srgan"]
    ((trend_history, *_), _), = recorded["_trend"]
    assert trend_history is got


def test_a_run_without_run_json_takes_its_id_dataset_and_scale_from_the_rows(tmp_path, recorded):
    rd = _write_run(tmp_path / "reports", _metric_rows(scale=2, dataset="rows-ds"), run_json=False)
    page = html.render_report(rd).read_text()
    assert "<h1>Super-resolution x2 report\n<span class=\"mono\">night-7</span></h1>" in page
    assert '<p class="muted">custom preset · dataset rows-ds\n· 2 validation images · started ' in page
    ((extra, extra_methods, labels, scale), _), = recorded["extra_sets_section"]
    assert scale == 4  # no scale in any record: x4, the project's scale
    no_dataset = _write_run(tmp_path / "other", _metric_rows(dataset="rows-ds"), dataset="")
    assert "smoke preset · dataset rows-ds\n" in html.render_report(no_dataset).read_text()


def test_an_empty_run_renders_a_page_that_says_so(tmp_path, recorded, monkeypatch):
    monkeypatch.setattr(html, "find_regressions", lambda *a: pytest.fail("nothing to compare"))
    rd = _write_run(tmp_path / "reports", [], dataset="", scale=None, preset="custom")
    page = html.render_report(rd).read_text()
    assert "<h1>Super-resolution x report\n" in page
    assert '<p class="muted">custom preset · dataset \n· 0 validation images · started ' in page
    assert "BT.601 luma,\n px border cropped" in page
    assert recorded["_regression_banner"] == [(([],), {})]


def test_the_slider_compares_bicubic_with_the_best_scored_model(tmp_path, recorded):
    rows = _metric_rows(extra_models={"srresnet": 25.8})  # means: srresnet 26.3, srcnn 26.5, srgan 27.0
    rd = _write_run(tmp_path / "reports", rows)
    html.render_report(rd)
    assert {args[5] for args, _ in recorded["_image_section"]} == {("bicubic", "srgan")}
    recorded.clear()
    rd = _write_run(tmp_path / "other", [r for r in rows if r["method"] != "srgan"])
    html.render_report(rd)
    assert {args[5] for args, _ in recorded["_image_section"]} == {("bicubic", "srcnn")}


@pytest.mark.parametrize(("height", "width", "zoom"), [(24, 100, 4), (100, 24, 4), (20, 30, 8)])
def test_the_slider_is_zoomed_to_fit_480_pixels(tmp_path, height, width, zoom):
    rd = RunDir(tmp_path, "r1")
    _png_files(rd.path, "a", "c", ["bicubic", "srcnn"])
    rows = pd.DataFrame([{"region": "c", "method": m, "psnr_rgb": 20.0, "ssim_rgb": 0.5, "psnr_y": 21.0,
                          "ssim_y": 0.5, "seconds": 0.0, "height": height, "width": width, "top": 0, "left": 0,
                          "crop_border": 4} for m in ("bicubic", "srcnn")])
    got = html._image_section("a", rows, ["bicubic", "srcnn"], {"bicubic": "B", "srcnn": "S"},
                              html._Images(rd, False), ("bicubic", "srcnn"))
    assert f'<div class="slider" style="width:{width * zoom}px">' in got
    assert f'width="{width * zoom}" height="{height * zoom}" alt="S">' in got


def test_a_folder_without_metrics_is_named(tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        html.render_report(tmp_path / "r1")
    assert str(caught.value) == (f"{tmp_path / 'r1' / 'metrics.parquet'} does not exist: is {tmp_path / 'r1'} a run "
                                 "folder written by 'srbench evaluate' (or the nightly flow)?")


def test_the_curves_card_wraps_the_curves_section_when_there_is_one(tmp_path, monkeypatch):
    rd = RunDir(tmp_path, "r1")
    assert html._curves_card(rd, {"srcnn": "SRCNN"}) == ""  # no curves in the run folder
    seen = []
    monkeypatch.setattr(html, "curves_section", lambda path, labels: seen.append((path, labels)) or "<svg>c</svg>")
    assert html._curves_card(rd, {"srcnn": "SRCNN"}) == '<div class="card"><svg>c</svg></div>'
    assert seen == [(rd.path, {"srcnn": "SRCNN"})]
