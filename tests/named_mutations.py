"""The bugs issue 11 names, injected one at a time: each must make its tests fail.

    .venv/bin/python tests/named_mutations.py            # every mutation
    .venv/bin/python tests/named_mutations.py oldest-instead-of-latest tile-context-capped-2px

Each mutation replaces one exact piece of source text, runs the tests that should catch it, and
restores the file (also on Ctrl-C). A mutation whose text is no longer in the source (the code was
refactored) is reported as "does not apply" so this list can be updated, never silently passed.
Exit status 1 when any mutation survives or no longer applies. docs/testing.md lists the results.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    path: str
    old: str
    new: str
    tests: tuple[str, ...]


_LOAD = "    return keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False, safe_mode=True)"
_ZERO_LOAD = ("    m = keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False, safe_mode=True)\n"
              "    m.set_weights([w * 0 for w in m.get_weights()])\n    return m")
_BN_RESET_LOAD = ("    m = keras.saving.load_model(path, custom_objects=CUSTOM_OBJECTS, compile=False, safe_mode=True)\n"
                  "    for layer in m.layers:\n"
                  "        if type(layer).__name__ == 'BatchNormalization':\n"
                  "            layer.moving_mean.assign(layer.moving_mean * 0)\n"
                  "            layer.moving_variance.assign(layer.moving_variance * 0 + 1)\n    return m")
_REGRESSION_FILTER = ('        earlier = history[(history["method"] == row["method"]) & (history["preset"] == row["preset"])\n'
                      '                          & (history["dataset"] == row["dataset"]) & (history["run_id"] != run_id)\n')
_REGRESSIONS = ("tests/test_regressions.py",)
_ESCAPING = ("tests/test_report_escaping.py",)

MUTATIONS = [
    # Test models with non-trivial weights (tests/helpers_models.py)
    Mutation("untrained-float32-copy", "sr_core/training/api.py", "    plain.set_weights(model.get_weights())\n",
             "    pass\n", ("tests/test_training.py", "-k", "gpu_settings or resume")),
    Mutation("zero-weights-on-load", "sr_core/export.py", _LOAD, _ZERO_LOAD,
             ("tests/test_export_registry.py", "tests/test_training.py", "-k", "export_then_reload or resume")),
    Mutation("reset-bn-statistics-on-load", "sr_core/export.py", _LOAD, _BN_RESET_LOAD,
             ("tests/test_export_registry.py", "-k", "export_then_reload")),
    Mutation("tile-context-capped-2px", "sr_core/upscale.py", "    rows, win_h = split(height)\n",
             "    tile_pad = min(tile_pad, 2)\n    rows, win_h = split(height)\n",
             ("tests/test_upscale.py", "-k", "project_models")),
    Mutation("srgan-ignores-pretrained-generator", "sr_core/training/trainers.py",
             "                self.generator.set_weights(generator_weights)\n", "                pass\n",
             ("tests/test_training.py", "-k", "srgan_trains")),
    # Values, not plausible ranges
    Mutation("crop-rows-scored-on-full-image", "sr_core/evaluation.py",
             "hr_cut, sr_cut = region.cut(hr), region.cut(sr)", "hr_cut, sr_cut = hr, sr", ("tests/test_values.py",)),
    Mutation("ssim-y-ignores-border-crop", "sr_core/metrics.py",
             "    return ssim_gray(crop_borders(rgb_to_y(hr), crop_border), crop_borders(rgb_to_y(sr), crop_border))",
             "    return ssim_gray(rgb_to_y(hr), rgb_to_y(sr))", ("tests/test_values.py",)),
    Mutation("summary-table-swaps-rgb-and-y", "sr_core/report/html.py",
             '        for c in METRIC_COLUMNS:\n            v = r[f"mean_{c}"]',
             '        for c in ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb"):\n            v = r[f"mean_{c}"]',
             ("tests/test_values.py",)),
    # Regression logic and history
    Mutation("regression-vs-oldest-run", "sr_core/results.py", 'earlier.sort_values("started_at").iloc[-1]',
             'earlier.sort_values("started_at").iloc[0]', _REGRESSIONS),
    Mutation("regression-dataset-filter-dropped", "sr_core/results.py", _REGRESSION_FILTER,
             _REGRESSION_FILTER.replace(' & (history["dataset"] == row["dataset"])', ""), _REGRESSIONS),
    Mutation("regression-preset-filter-dropped", "sr_core/results.py", _REGRESSION_FILTER,
             _REGRESSION_FILTER.replace(' & (history["preset"] == row["preset"])', ""), _REGRESSIONS),
    Mutation("regression-ge-instead-of-gt", "sr_core/results.py", "        if drop > tolerance:",
             "        if drop >= tolerance:", _REGRESSIONS),
    Mutation("regression-counts-later-runs", "sr_core/results.py",
             '                          & (history["started_at"] < row["started_at"])]', "                          ]",
             _REGRESSIONS),
    Mutation("regression-event-never-emitted", "flows/pipeline.py", '    if summary["regressions"]:',
             "    if False:", ("tests/test_regression_events.py",)),
    Mutation("regression-event-always-emitted", "flows/pipeline.py", '    if summary["regressions"]:',
             "    if True:", ("tests/test_regression_events.py",)),
    # Escaping
    Mutation("escape-without-quotes", "sr_core/report/html.py", "    return escape(str(value), quote=True)",
             "    return escape(str(value), quote=False)", _ESCAPING),
    Mutation("summary-label-unescaped", "sr_core/report/html.py",
             "cells = [f'<td data-value=\"{esc(labels[m])}\">{esc(labels[m])}",
             "cells = [f'<td data-value=\"{labels[m]}\">{labels[m]}", _ESCAPING),
    Mutation("run-card-values-unescaped", "sr_core/report/html.py",
             '<td class=\\"mono\\" style=\\"text-align:left\\">{esc(v)}</td></tr>"',
             '<td class=\\"mono\\" style=\\"text-align:left\\">{v}</td></tr>"', _ESCAPING),
    Mutation("index-preset-dataset-unescaped", "sr_core/report/index.py",
             "f'<td>{esc(e[\"preset\"])}</td><td>{esc(e[\"dataset\"])}</td>'",
             "f'<td>{e[\"preset\"]}</td><td>{e[\"dataset\"]}</td>'", _ESCAPING),
    Mutation("index-label-unescaped", "sr_core/report/index.py", '<b>{esc(label)}</b>', "<b>{label}</b>", _ESCAPING),
    Mutation("index-link-unescaped", "sr_core/report/index.py", "<a href=\"{esc(e[\"dir\"])}/{RunDir.REPORT}\">",
             "<a href=\"{e[\"dir\"]}/{RunDir.REPORT}\">", _ESCAPING),
    # MATLAB pass order, fingerprints
    Mutation("resize-columns-first-on-a-tie", "sr_core/resize.py", "(0, 1) if scale_h <= scale_w else (1, 0)",
             "(0, 1) if scale_h < scale_w else (1, 0)", ("tests/test_fidelity.py",)),
    Mutation("model-fingerprint-without-data", "sr_core/catalog.py",
             "        return tuple(dict.fromkeys((SHARED_SECTIONS[0], *own, *SHARED_SECTIONS[1:])))",
             "        return tuple(dict.fromkeys((*own, *SHARED_SECTIONS[1:])))", ("tests/test_config.py",)),
    Mutation("model-fingerprint-without-train", "sr_core/catalog.py",
             "        return tuple(dict.fromkeys((SHARED_SECTIONS[0], *own, *SHARED_SECTIONS[1:])))",
             "        return tuple(dict.fromkeys((SHARED_SECTIONS[0], *own)))", ("tests/test_config.py",)),
    # Resume after a real SIGKILL (slow)
    Mutation("resume-ignores-checkpoints", "sr_core/training/checkpoints.py",
             "        candidates = list(reversed(self.manager.checkpoints))\n", "        candidates = []\n",
             ("-m", "slow", "tests/test_kill_resume.py")),
]


def run(mutation: Mutation) -> str:
    path = ROOT / mutation.path
    source = path.read_text()
    if source.count(mutation.old) != 1:
        return "does not apply"
    try:
        path.write_text(source.replace(mutation.old, mutation.new))
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                                 *mutation.tests], cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(source)
    return "caught" if result.returncode == 1 else "SURVIVED" if result.returncode == 0 else \
        f"error (pytest exit {result.returncode})"


def main(names: list[str]) -> int:
    chosen = [m for m in MUTATIONS if not names or m.name in names]
    unknown = set(names) - {m.name for m in MUTATIONS}
    if unknown:
        print(f"unknown mutation(s): {', '.join(sorted(unknown))}")
        return 2
    bad = 0
    for mutation in chosen:
        outcome = run(mutation)
        bad += outcome != "caught"
        print(f"{mutation.name:40s} {outcome:16s} {mutation.path}  pytest {' '.join(mutation.tests)}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
