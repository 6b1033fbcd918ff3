"""``report.html`` of one run, rebuilt from ``metrics.parquet``, ``run.json`` and ``images/`` alone.

Every string that comes from data (image ids, region and method names, labels, config values, notes)
goes through :func:`esc` before it reaches the page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from sr_core import catalog
from sr_core.atomic import write_text
from sr_core.lifecycle import describe_changes
from sr_core.numbers import MISSING, fmt_number, number
from sr_core.report.assets import CSS, JS
from sr_core.report.curves import copy_curves, curves_section
from sr_core.report.svg import distribution_plot, trend_plot
from sr_core.report.verdict import comparisons_table, extra_sets_section, verdict_section
from sr_core.results import (BENCHMARK_SPLIT, METRIC_COLUMNS, asset_relpath, find_regressions, history_rows,
                             metrics_of_root, read_history, read_metrics, run_record, run_summary, slug)
from sr_core.runrecords import RunDir, RunRecord
from sr_core.verdict import champion_method

EMBED_LIMIT_BYTES = 12 * 1024 * 1024


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


fmt = fmt_number  # every number on the page: "–" when missing, "∞" when infinite


def fmt_delta(value: Any, digits: int = 2) -> str:
    x = number(value)
    if x is None or math.isinf(x):
        return f'<td data-value="">{MISSING}</td>'
    cls = "pos" if x > 0 else "neg" if x < 0 else ""
    return f'<td class="{cls}" data-value="{x:.6f}">{x:+.{digits}f}</td>'


def data_value(value: Any) -> str:
    """The sort key of a table cell."""
    x = number(value)
    if x is None:
        return ""
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.6f}"


def ordered_methods(df: pd.DataFrame, run: RunRecord) -> list[str]:
    present = list(dict.fromkeys(df["method"]))
    listed = list(run.methods)
    order = []
    for m in catalog.REPORT_ORDER:  # each model's champion right after tonight's model
        order += [x for x in (m, champion_method(m)) if x in present]
    order += [m for m in listed if m in present and m not in order]
    return order + [m for m in present if m not in order]


def method_labels(methods: list[str], run: RunRecord) -> dict[str, str]:
    info = run.methods
    return {m: info[m].label if m in info else catalog.method_label(m) for m in methods} | {"hr": "HR"}


def content_security_policy(embedded_images: bool) -> str:
    """The page's CSP: only our own inline script (by its sha256, so an escaping slip elsewhere
    cannot run script) and, for images, data URIs, plus same-folder files when they are linked."""
    script_hash = base64.b64encode(hashlib.sha256(JS.encode("utf-8")).digest()).decode("ascii")
    images = "data:" if embedded_images else "data: 'self'"
    return (f"default-src 'none'; img-src {images}; style-src 'unsafe-inline'; "
            f"script-src 'sha256-{script_hash}'")


class _Images:
    """Image sources for the page: data URIs when the run's images are small enough, else relative links."""

    def __init__(self, run: RunDir, embed: bool | None):
        self.run_dir = run.path
        images = run.images
        total = sum(p.stat().st_size for p in images.rglob("*.png")) if images.is_dir() else 0
        self.embed = total <= EMBED_LIMIT_BYTES if embed is None else embed

    def src(self, image_id: str, region: str, method: str) -> str | None:
        rel = asset_relpath(image_id, region, method)
        path = self.run_dir / rel
        if not path.is_file():
            return None
        if self.embed:
            return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")
        return rel


def _summary_table(summary: pd.DataFrame, methods: list[str], labels: dict[str, str]) -> str:
    if summary.empty:
        return '<p class="muted">No full-image rows in this run.</p>'
    s = summary.set_index("method")
    best = {c: s[f"mean_{c}"].astype(float).max() for c in METRIC_COLUMNS}
    head = ("<tr><th>Method</th><th>Model step</th><th>Images</th><th>PSNR RGB (dB)</th><th>SSIM RGB</th>"
            "<th>PSNR Y (dB)</th><th>SSIM Y</th><th>Δ PSNR Y vs bicubic</th><th>Δ SSIM Y vs bicubic</th>"
            "<th>Seconds / image</th></tr>")
    rows = []
    for m in methods:
        if m not in s.index:
            continue
        r = s.loc[m]
        cells = [f'<td data-value="{esc(labels[m])}">{esc(labels[m])} <span class="muted mono">'
                 f'({esc(m)})</span></td>',
                 f'<td>{fmt(r["model_step"], 0)}</td>',
                 f'<td>{int(r["n_images"])}</td>']
        for c in METRIC_COLUMNS:
            v = r[f"mean_{c}"]
            digits = 2 if c.startswith("psnr") else 4
            cls = ' class="best"' if number(v) is not None and v == best[c] else ""
            cells.append(f'<td{cls} data-value="{data_value(v)}">{fmt(v, digits)}</td>')
        cells.append(fmt_delta(r.get("delta_psnr_y")))
        cells.append(fmt_delta(r.get("delta_ssim_y"), 4))
        cells.append(f'<td data-value="{data_value(r["seconds_per_image"])}">'
                     f'{fmt(r["seconds_per_image"], 3)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="sortable" id="summary-table"><thead>{head}</thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _per_image_table(full: pd.DataFrame, methods: list[str], labels: dict[str, str]) -> str:
    head = "<tr><th>Image</th><th>HR size</th>" + "".join(
        f"<th>{esc(labels[m])} PSNR Y</th>" for m in methods) + "".join(
        f"<th>{esc(labels[m])} SSIM Y</th>" for m in methods) + "<th>Best (PSNR Y)</th></tr>"
    rows = []
    for image_id, group in full.groupby("image_id", sort=False):
        g = group.set_index("method")
        first = group.iloc[0]
        cells = [f'<td data-value="{esc(image_id)}"><a href="#img-{esc(slug(image_id))}">{esc(image_id)}'
                 f'</a></td>', f'<td data-value="{int(first.height) * int(first.width)}">'
                 f'{int(first.height)}×{int(first.width)}</td>']
        psnrs = {m: float(g.loc[m, "psnr_y"]) for m in methods if m in g.index}
        best = max(psnrs, key=psnrs.get) if psnrs else None
        for col in ("psnr_y", "ssim_y"):
            for m in methods:
                v = g.loc[m, col] if m in g.index else None
                cls = ' class="best"' if col == "psnr_y" and m == best else ""
                cells.append(f'<td{cls} data-value="{data_value(v)}">{fmt(v, 2 if col == "psnr_y" else 4)}</td>')
        cells.append(f'<td data-value="{esc(labels.get(best, "")) if best else ""}">'
                     f'{esc(labels[best]) if best else "–"}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<div class="scroll"><table class="sortable" id="images-table"><thead>{head}</thead><tbody>'
            + "".join(rows) + "</tbody></table></div>")


def _zoom(width: int, height: int, panels: int = 1, budget: int = 1232) -> int:
    """One integer zoom for a whole strip so the panels fit side by side in ``budget`` px when they
    can; crops too large for that are shown 1:1 and the strip scrolls sideways."""
    fit = (budget - 6 * (panels - 1)) // max(1, panels * width)
    return int(max(1, min(8, fit, 480 // max(1, height))))


def _figure(src: str | None, label: str, caption: str, width: int, height: int, zoom: float) -> str:
    w, h = round(width * zoom), round(height * zoom)
    img = (f'<img src="{esc(src)}" width="{w}" height="{h}" alt="{esc(label)}" loading="eager">' if src
           else f'<div style="width:{w}px;height:{h}px" class="muted">image missing</div>')
    return f"<figure>{img}<figcaption><b>{esc(label)}</b>{caption}</figcaption></figure>"


def _slider(images: _Images, image_id: str, region: str, before: str, after: str,
            labels: dict[str, str], width: int, height: int, zoom: float) -> str:
    a, b = images.src(image_id, region, before), images.src(image_id, region, after)
    if not a or not b:
        return ""
    w, h = round(width * zoom), round(height * zoom)
    return (f'<div class="slider-wrap"><h3>Before / after: {esc(labels[before])} ↔ {esc(labels[after])} '
            f'<span class="muted">({esc(region)}; drag the slider)</span></h3>'
            f'<div class="slider" style="width:{w}px">'
            f'<img class="bottom" src="{esc(b)}" width="{w}" height="{h}" alt="{esc(labels[after])}">'
            f'<img class="top" src="{esc(a)}" width="{w}" height="{h}" alt="{esc(labels[before])}">'
            f'<span class="tag" style="left:4px">{esc(labels[before])}</span>'
            f'<span class="tag" style="right:4px">{esc(labels[after])}</span>'
            f'<div class="handle"></div>'
            f'<input type="range" min="0" max="100" value="50" aria-label="before/after position">'
            f"</div></div>")


def _image_section(image_id: str, group: pd.DataFrame, methods: list[str], labels: dict[str, str],
                   images: _Images, slider_pair: tuple[str, str] | None) -> str:
    parts = [f'<section class="image-section" id="img-{esc(slug(image_id))}"><h2>Image '
             f'<span class="mono">{esc(image_id)}</span></h2>']
    full = group[group["region"] == "full"].set_index("method")
    rows = []
    for m in methods:
        if m not in full.index:
            continue
        r = full.loc[m]
        rows.append(f"<tr><td>{esc(labels[m])}</td><td>{fmt(r.psnr_rgb)}</td><td>{fmt(r.ssim_rgb, 4)}</td>"
                    f"<td>{fmt(r.psnr_y)}</td><td>{fmt(r.ssim_y, 4)}</td><td>{fmt(r.seconds, 3)}</td></tr>")
    if rows:
        first = full.iloc[0]
        parts.append(f'<p class="muted">Full image {int(first.height)}×{int(first.width)} HR pixels '
                     f"(Y metrics with {int(first.crop_border)} px border crop)</p>"
                     "<table><thead><tr><th>Method</th><th>PSNR RGB</th><th>SSIM RGB</th><th>PSNR Y</th>"
                     "<th>SSIM Y</th><th>Seconds</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")
    regions = [r for r in dict.fromkeys(group["region"]) if r != "full"]
    for n, region in enumerate(regions):
        sub = group[group["region"] == region].set_index("method")
        first = sub.iloc[0]
        width, height = int(first.width), int(first.height)
        panels = sum(m in sub.index for m in methods) + 1
        zoom = _zoom(width, height, panels)
        parts.append(f"<h3>Crop <span class=\"mono\">{esc(region)}</span> <span class=\"muted\">"
                     f"{height}×{width} at (top {int(first.top)}, left {int(first.left)}), shown at "
                     f"{zoom:g}×; titles: PSNR/SSIM on Y (RGB below)</span></h3><div class=\"strip\">")
        for m in methods:
            if m not in sub.index:
                continue
            r = sub.loc[m]
            caption = (f'<span title="Y-PSNR (dB) / Y-SSIM">{fmt(r.psnr_y)} / {fmt(r.ssim_y, 4)}</span><br>'
                       f'<span class="muted">RGB {fmt(r.psnr_rgb)} / {fmt(r.ssim_rgb, 4)}</span>')
            parts.append(_figure(images.src(image_id, region, m), labels[m], caption, width, height, zoom))
        parts.append(_figure(images.src(image_id, region, "hr"), "HR", "reference", width, height, zoom))
        parts.append("</div>")
        if n == 0 and slider_pair:
            parts.append(_slider(images, image_id, region, *slider_pair, labels, width, height,
                                 _zoom(width, height, 1, budget=480)))
    if not regions:
        parts.append('<p class="muted">No crops for this image.</p>')
    parts.append("</section>")
    return "".join(parts)


def _run_card(run: RunRecord, df: pd.DataFrame, methods: list[str], labels: dict[str, str]) -> str:
    items = [
        ("Run", run.run_id), ("Started (UTC)", run.started_at), ("Preset", run.preset),
        ("Dataset", run.dataset or (df.iloc[0].dataset if len(df) else "")),
        ("Split", run.split), ("Scale", run.scale or ""),
        ("Data fingerprint", run.data_fingerprint or ""),
        ("Config fingerprint", run.config_fingerprint or ""),
        *_provenance_items(run),
    ]
    rows = "".join(f"<tr><td>{esc(k)}</td><td class=\"mono\" style=\"text-align:left\">{esc(v)}</td></tr>"
                   for k, v in items)
    model_rows = []
    for m in methods:
        i = run.methods.get(m)
        model_rows.append(f"<tr><td>{esc(labels[m])}</td><td class=\"mono\">{esc(m)}</td>"
                          f"<td>{fmt(i.step if i else None, 0)}</td>"
                          f"<td class=\"mono\" style=\"text-align:left\">{esc((i and (i.model_path or i.description)) or '')}</td>"
                          f"<td>{esc((i and i.created_at) or '')}</td></tr>")
    wall_rows = "".join(f"<tr><td>{esc(k)}</td><td>{fmt(v, 1)} s</td></tr>" for k, v in run.wall_times.items())
    config = json.dumps(run.config, indent=2, sort_keys=True)
    source = json.dumps(run.source, indent=2, sort_keys=True)
    return (f'<div class="card"><h2 id="run">Run</h2><table>{rows}</table>'
            f"<h3>Methods and models</h3><table><thead><tr><th>Label</th><th>Method</th><th>Step</th>"
            f"<th>Model file</th><th>Created</th></tr></thead><tbody>{''.join(model_rows)}</tbody></table>"
            + (f"<h3>Wall times</h3><table>{wall_rows}</table>" if wall_rows else "")
            + f"<details><summary>Configuration</summary><pre>{esc(config)}</pre></details>"
            f"<details><summary>Data source</summary><pre>{esc(source)}</pre></details></div>")


def _lifecycle_card(run: RunRecord, labels: dict[str, str]) -> str:
    """What changed since the previous comparable night, and per model "trained tonight" or
    "reused from": the top of the report."""
    changes = describe_changes(run.changes)
    trained = [f"<li>{esc(labels.get(m, t.label or m))}: {esc(t.describe())}"
               f"{esc(f', started from {t.init}') if t.init and t.init != 'scratch' else ''}</li>"
               for m, t in run.trained.items()]
    if not changes and not trained:
        return ""
    parts = ['<div class="card" id="what-changed">']
    if changes:
        parts.append(f"<h3>What changed since the previous comparable night</h3><ul>"
                     + "".join(f"<li>{esc(line)}</li>" for line in changes) + "</ul>")
    if trained:
        parts.append(f"<h3>Models tonight</h3><ul>{''.join(trained)}</ul>")
    return "".join(parts) + "</div>"


def _provenance_items(run: RunRecord) -> list[tuple[str, Any]]:
    p = run.provenance
    if p is None:
        return []
    commit = (p.git_commit or "not a git clone") + (" (dirty)" if p.git_dirty else "")
    devices = ", ".join(p.gpus) if p.gpus else (p.cpu or "CPU")
    return [("Commit", commit), ("Code fingerprint", p.code_fingerprint), ("Host", p.host),
            ("Devices", devices), ("Packages", ", ".join(f"{k} {v}" for k, v in sorted(p.packages.items()))),
            ("CUDA / cuDNN", f"{p.cuda or '-'} / {p.cudnn or '-'}"),
            ("Prefect flow run", run.prefect.get("flow_run_id") or ""),
            ("Prefect deployment", run.prefect.get("deployment_id") or "")]


def _trend(history: pd.DataFrame, run: RunRecord, run_id: str, labels: dict[str, str]) -> str:
    if history.empty:
        return '<p class="muted">No history yet.</p>'
    same = history[(history["preset"] == run.preset) & (history["dataset"] == run.dataset)]
    same = same.sort_values(["started_at", "run_id"])
    runs = list(dict.fromkeys(same["run_id"]))[-30:]
    started = same.drop_duplicates("run_id").set_index("run_id")["started_at"]
    ticks = [pd.Timestamp(started[r]).strftime("%m-%d %H:%M") for r in runs]
    methods = list(dict.fromkeys(same["method"]))
    lines = []
    for m in methods:
        by_run = same[same["method"] == m].set_index("run_id")["mean_psnr_y"]
        lines.append((labels.get(m, m), [float(by_run[r]) if r in by_run.index and pd.notna(by_run[r])
                                         else None for r in runs]))
    return trend_plot(runs, lines, highlight=run_id, tick_labels=ticks)


def _regression_banner(findings: list[dict[str, Any]]) -> str:
    if not findings:
        return ""
    items = "".join(
        f"<li>{esc(f['label'])}: mean Y-PSNR {f['psnr_y']:.2f} dB vs {f['previous_psnr_y']:.2f} dB in run "
        f"<span class=\"mono\">{esc(f['previous_run_id'])}</span> (−{f['drop_db']:.2f} dB; 95% interval "
        f"[{f['low_db']:+.2f}, {f['high_db']:+.2f}] over the same {f['n_images']} images lies below "
        f"−{f['tolerance_db']:.2f} dB)</li>" for f in findings)
    return (f'<div class="banner" id="regression">Regression: worse than the previous comparable run '
            f"(same preset, dataset and images)<ul>{items}</ul></div>")


def _curves_card(run: RunDir, labels: dict[str, str]) -> str:
    section = curves_section(run.path, labels)
    return f'<div class="card">{section}</div>' if section else ""


def render_report(run_dir: str | Path | RunDir, *, history_path: str | Path | None = None,
                  embed_images: bool | None = None, curves_from: dict[str, str | Path] | None = None) -> Path:
    """Write ``run_dir/report.html`` from ``metrics.parquet``, ``run.json`` and ``images/``.

    The trend and the regression banner use the history of the reports root (the run folder's
    parent, or ``history_path``: another root such as the team's shared URL); this run is added to it
    in memory if ``update_history`` has not run yet. ``curves_from`` (model -> its ``curves.csv`` or
    checkpoint folder) copies the training curves into the run folder first; the report plots the
    curves the run folder holds.
    Images are embedded as data URIs unless the run's images exceed 12 MB (then linked relatively).
    """
    rd = run_dir if isinstance(run_dir, RunDir) else RunDir.at(run_dir)
    if not rd.metrics.is_file():
        raise FileNotFoundError(f"{rd.metrics} does not exist: is {rd.path} a run folder written by "
                                "'srbench evaluate' (or the nightly flow)?")
    df = read_metrics(rd.metrics)
    extra_sets = df[df["split"] == BENCHMARK_SPLIT]  # eval.extra_sets: their own tables
    df = df[df["split"] != BENCHMARK_SPLIT]
    run = run_record(rd, df)
    run_id = run.run_id
    methods = ordered_methods(df, run)
    labels = method_labels(methods, run)
    summary = run_summary(df)

    if curves_from:
        copy_curves(rd.path, curves_from)
    history = read_history(history_path if history_path else rd.reports_dir)
    if len(df) and run_id not in set(history["run_id"]):
        extra = pd.DataFrame(history_rows(df, run))
        history = pd.concat([history, extra], ignore_index=True) if len(history) else extra
    findings = (find_regressions(history, run_id, run.regression_tolerance_db(),
                                 metrics_of_root(rd.reports_dir, (run_id, df))) if len(history) else [])

    full = df[df["region"] == "full"]
    models = [m for m in methods if not catalog.is_interpolation(m)]
    slider_pair = None
    if "bicubic" in methods:
        candidates = summary[summary["method"].isin(models)].dropna(subset=["mean_psnr_y"])
        if len(candidates):
            slider_pair = ("bicubic", str(candidates.sort_values("mean_psnr_y").iloc[-1]["method"]))
        elif "bilinear" in methods:
            slider_pair = ("bilinear", "bicubic")
    images = _Images(rd, embed_images)
    dist = [(labels[m], [(str(r.image_id), float(r.psnr_y)) for r in full[full["method"] == m].itertuples()])
            for m in methods]

    notes = run.notes
    notes_html = ("<div class=\"notes\" id=\"notes\"><b>Notes</b><ul>" + "".join(
        f"<li>{esc(n)}</li>" for n in notes) + "</ul></div>") if notes else ""
    sections = "".join(_image_section(str(image_id), group, methods, labels, images, slider_pair)
                       for image_id, group in df.groupby("image_id", sort=False))
    title = f"srbench report {run_id}"
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{content_security_policy(images.embed)}">
<title>{esc(title)}</title><style>{CSS}</style></head>
<body><main>
<nav class="muted"><a href="../index.html">All runs</a><a href="#summary">Summary</a><a href="#plots">Plots</a>
<a href="#images">Images</a><a href="#run">Run details</a></nav>
<h1>Super-resolution x{esc(run.scale or (int(df['scale'].iloc[0]) if len(df) else ''))} report
<span class="mono">{esc(run_id)}</span></h1>
<p class="muted">{esc(run.preset)} preset · dataset {esc(run.dataset or (df['dataset'].iloc[0] if len(df) else ''))}
· {full['image_id'].nunique()} validation images · started {esc(run.started_at)} UTC</p>
{_regression_banner(findings)}
{_lifecycle_card(run, labels)}
{notes_html}
<h2 id="summary">Summary: mean over full images</h2>
<p class="muted">RGB: scikit-image PSNR/SSIM on the whole RGB image (the seed's numbers). Y: BT.601 luma,
{esc(int(df['crop_border'].iloc[0]) if len(df) else '')} px border cropped, Gaussian SSIM (the SR papers' protocol).
Δ columns: difference from bicubic. Click a column to sort.</p>
{_summary_table(summary, methods, labels)}
{verdict_section(run.verdicts, run.champions, labels, run.track)}
{comparisons_table(df, methods, labels)}
{extra_sets_section(extra_sets, ordered_methods(extra_sets, run), labels, run.scale or 4)}
<h2 id="plots">Plots</h2>
<div class="card"><h3>Y-PSNR per image, by method (bar = mean)</h3>{distribution_plot(dist)}</div>
<div class="card"><h3>Nightly trend: mean Y-PSNR per run ({esc(run.preset)}, {esc(run.dataset)})</h3>
{_trend(history, run, run_id, labels)}</div>
{_curves_card(rd, labels)}
<h2 id="images">Per image</h2>
{_per_image_table(full, methods, labels)}
{sections}
{_run_card(run, df, methods, labels)}
<div id="render-check" hidden></div>
</main><script>{JS}</script></body></html>
"""
    return write_text(rd.report, page)
