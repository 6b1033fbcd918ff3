"""The report's verdict sections: paired comparisons, champion vs challenger, the extra benchmark sets.

Every interval shown is :func:`sr_core.stats.paired_bootstrap` on the per-image full-image Y-PSNR in
``metrics.parquet`` (seeded), so rebuilding the report gives the same numbers.
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from sr_core.published import known_set, published
from sr_core.results import run_summary
from sr_core.stats import MIN_IMAGES_FOR_VERDICT, PairedComparison
from sr_core.verdict import challenged_name, method_comparisons


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def _num(value: Any, digits: int = 2, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return f"{float(value):+.{digits}f}" if signed else f"{float(value):.{digits}f}"


def comparison_cells(cmp: PairedComparison | None) -> str:
    """Three cells: mean difference, 95% interval (or why there is no verdict), wins / losses."""
    if cmp is None:
        return '<td data-value="">–</td><td>–</td><td>–</td>'
    cls = "pos" if cmp.low > 0 else "neg" if cmp.high < 0 else ""
    if cmp.resolvable:
        interval = f'<td class="{cls}">[{cmp.low:+.2f}, {cmp.high:+.2f}]</td>'
    else:
        interval = (f'<td class="muted" title="interval {cmp.low:+.2f} .. {cmp.high:+.2f}">{cmp.n} images '
                    f"cannot resolve small differences</td>")
    return (f'<td data-value="{cmp.mean:.6f}">{cmp.mean:+.2f}</td>{interval}'
            f"<td>{cmp.wins} / {cmp.losses}</td>")


def comparisons_table(df: pd.DataFrame, methods: list[str], labels: dict[str, str]) -> str:
    """Per method: Y-PSNR difference vs bicubic and vs its champion, paired over images."""
    found = method_comparisons(df, [m for m in methods if m != "bicubic"])
    if not found:
        return ""
    rows = []
    for method in methods:
        cmp = found.get(method)
        if cmp is None:
            continue
        rows.append(f'<tr><td>{esc(labels.get(method, method))} <span class="muted mono">({esc(method)})</span></td>'
                    + comparison_cells(cmp.vs_bicubic) + comparison_cells(cmp.vs_champion) + "</tr>")
    n = df[(df["region"] == "full")]["image_id"].nunique()
    warning = (f'<p class="notes" id="too-few-images">With {n} images (fewer than {MIN_IMAGES_FOR_VERDICT}) '
               "these comparisons cannot resolve small differences: no verdict is drawn from their "
               "intervals.</p>" if n < MIN_IMAGES_FOR_VERDICT else "")
    return ('<h2 id="comparisons">Paired comparisons (Y-PSNR, dB)</h2>'
            '<p class="muted">Per image, method minus reference, over the images both scored; mean, '
            "seeded 95% bootstrap interval over images, and images better / worse. An interval that "
            "excludes 0 is a difference the images resolve.</p>" + warning
            + '<div class="scroll"><table id="comparisons-table"><thead><tr><th rowspan="2">Method</th>'
            '<th colspan="3">vs bicubic</th><th colspan="3">vs champion</th></tr><tr>'
            "<th>Δ mean</th><th>95% interval</th><th>better / worse</th>"
            "<th>Δ mean</th><th>95% interval</th><th>better / worse</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


_ACTION_TEXT = {"promote": "promoted", "reject": "rejected: the champion stays", "none": "no decision"}


def verdict_section(verdicts: list[dict[str, Any]], champions: dict[str, dict[str, Any]],
                    labels: dict[str, str], track: str | None) -> str:
    """Champion vs challenger: the promotion decision per model, with its numbers."""
    if not verdicts:
        return ""
    items = []
    for v in verdicts:
        name = v.get("name", "")
        champ = champions.get(name) or {}
        action = _ACTION_TEXT.get(v.get("action"), v.get("action"))
        if v.get("action") == "promote" and v.get("manual") and v.get("reason") != "first":
            action = "would be promoted (eval.promotion = manual: not applied)"
        against = (f" against champion run <span class=\"mono\">{esc(champ['run_id'])}</span>"
                   if champ.get("run_id") and not champ.get("is_challenger") else "")
        items.append(f'<li class="verdict-{esc(v.get("action"))}"><b>{esc(labels.get(name, name))}</b>: '
                     f"{esc(action)}{against}. {esc(v.get('explanation', ''))}</li>")
    return (f'<h2 id="verdict">Champion vs challenger (track <span class="mono">{esc(track or "?")}</span>)</h2>'
            '<p class="muted">Rule: promote unless the paired 95% interval vs the champion lies entirely '
            "below 0, or the mean is more than eval.regression_tolerance_db below it; with fewer than "
            f"{MIN_IMAGES_FOR_VERDICT} images the mean alone decides (docs/lifecycle.md).</p>"
            f'<ul id="verdicts">{"".join(items)}</ul>')


def extra_sets_section(extra: pd.DataFrame, methods: list[str], labels: dict[str, str], scale: int) -> str:
    """One table per extra benchmark set: tonight's means beside the papers' published numbers."""
    if extra.empty:
        return ""
    parts = ['<h2 id="extra-sets">Standard benchmark sets</h2><p class="muted">Every method on each '
             "set of eval.extra_sets (whole folders; never used for tuning), Y channel with the border "
             "cropped, beside the x4 numbers the papers print (sources in sr_core/published.py; an "
             "empty cell is a number the papers do not give).</p>"]
    for spec, rows in extra.groupby("dataset", sort=False):
        name = known_set(str(spec).removeprefix("folder:").split(",")[0])
        summary = run_summary(rows, split=str(rows["split"].iloc[0])).set_index("method")
        body = []
        for method in methods:
            if method not in summary.index:
                continue
            r = summary.loc[method]
            paper = published(name, challenged_name(method) or method, scale)
            body.append(f"<tr><td>{esc(labels.get(method, method))}</td><td>{int(r['n_images'])}</td>"
                        f"<td>{_num(r['mean_psnr_y'])}</td><td>{_num(r['mean_ssim_y'], 4)}</td>"
                        f"<td>{_num(paper.psnr_y) if paper else ''}</td><td>{_num(paper.ssim_y, 4) if paper else ''}</td>"
                        f"<td class=\"muted\">{esc(paper.source) if paper else ''}</td></tr>")
        title = esc(name or str(spec))
        parts.append(f'<h3>{title} <span class="muted mono">{esc(spec)}</span></h3><div class="scroll">'
                     f'<table class="extra-set" data-set="{esc(name or spec)}"><thead><tr><th>Method</th>'
                     "<th>Images</th><th>PSNR Y</th><th>SSIM Y</th><th>published PSNR Y</th>"
                     "<th>published SSIM Y</th><th>source</th></tr></thead><tbody>" + "".join(body)
                     + "</tbody></table></div>")
    return "".join(parts)
