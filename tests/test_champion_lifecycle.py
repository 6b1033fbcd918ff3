"""Champion and challenger through real evaluations: scored in the same run on the same images, the
promotion rule applied and recorded, the champion serving ``upscale`` after a rejection, a manual
rollback, track isolation, and the report's intervals equal to ``paired_bootstrap`` on the Parquet.

The models are real Keras files whose outputs are known relative to each other: bilinear upsampling
plus a constant brightness offset, so a larger offset is worse on every image.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sr_core import registry
from sr_core.config import load_config
from sr_core.export import ExportResult
from sr_core.images import write_image
from sr_core.results import read_metrics
from sr_core.stats import paired_bootstrap
from sr_core.usecases import evaluate_and_report
from srbench.cli import app
from tests.helpers_eval import textured_image

keras = pytest.importorskip("keras")


def offset_model(path: Path, offset: float) -> Path:
    """A real x4 model: bilinear upsampling, then ``offset`` added to every pixel value."""
    inp = keras.Input((None, None, 3))
    out = keras.layers.Rescaling(1.0, offset=offset)(keras.layers.UpSampling2D(4, interpolation="bilinear")(inp))
    path.parent.mkdir(parents=True, exist_ok=True)
    keras.Model(inp, out).save(path)
    return path


@pytest.fixture
def cfg(tmp_path):
    photos = tmp_path / "photos"
    for split, count in (("train", 2), ("validation", 6)):
        for i in range(count):
            write_image(photos / split / f"{split}{i}.png", textured_image(48, 56, seed=10 * i + len(split)))
    return load_config("smoke", data_dir=tmp_path / "data", reports_dir=tmp_path / "reports", extra={
        "data": {"dataset": f"folder:{photos}"},
        "eval": {"methods": ["bicubic", "srcnn"], "max_images": None, "auto_crops": 0, "crops": [],
                 "chunk_size": 4, "regression_tolerance_db": 0.1}})


def export(cfg, run_id: str, offset: float) -> registry.ExportRecord:
    folder = Path(cfg.data_dir) / "models" / "srcnn" / run_id
    path = offset_model(folder / "srcnn.keras", offset)
    path.with_suffix(".json").write_text(json.dumps({
        "name": "srcnn", "label": "SRCNN (offset)", "step": 1, "created_at": f"2026-01-0{run_id[-1]}T00:00:00+00:00",
        "config": cfg.model_dump(mode="json")}))
    return registry.register_export(cfg.data_dir, ExportResult("srcnn", "SRCNN (offset)", path,
                                                               path.with_suffix(".json"), 1), run_id=run_id)


def night(cfg, run_id: str, offset: float):
    entry = export(cfg, run_id, offset)
    outcome = evaluate_and_report(cfg, {"srcnn": str(Path(cfg.data_dir) / entry.path)}, run_id)
    return entry, outcome


def test_first_champion_then_a_worse_challenger_is_rejected_then_a_better_one_promoted(cfg, tmp_path,
                                                                                      monkeypatch):
    track = registry.track_of(cfg)
    assert track == "smoke@folder-photos"
    gpu = export(load_config("div2k", data_dir=cfg.data_dir), "div2k-1", 0.0)  # another track's champion

    first, outcome = night(cfg, "night-1", 2.0)
    (verdict,) = outcome.record.verdicts
    assert (verdict["action"], verdict["reason"]) == ("promote", "first")
    assert set(read_metrics(outcome.metrics)["method"]) == {"bicubic", "srcnn"}  # nothing to compare with

    worse, outcome = night(cfg, "night-2", 6.0)
    metrics = read_metrics(outcome.metrics)
    assert set(metrics["method"]) == {"bicubic", "srcnn", "srcnn@champion"}
    assert outcome.record.methods["srcnn@champion"].label == "SRCNN (offset; champion, run night-1)"
    assert outcome.record.champions["srcnn"]["run_id"] == "night-1"
    (verdict,) = outcome.record.verdicts
    assert (verdict["action"], verdict["reason"]) == ("reject", "beyond-tolerance")
    # The numbers recorded are paired_bootstrap on the Parquet's own per-image values.
    full = metrics[metrics["region"] == "full"].pivot(index="image_id", columns="method", values="psnr_y")
    expected = paired_bootstrap(full["srcnn"].to_numpy(), full["srcnn@champion"].to_numpy())
    cmp = verdict["comparison"]
    assert (cmp["n"], cmp["mean"], cmp["low"], cmp["high"]) == (6, expected.mean, expected.low, expected.high)
    assert cmp["losses"] == 6 and expected.high < 0  # worse on every image
    html = outcome.report.read_text()
    assert "rejected: the champion stays" in html
    table = html[html.index('id="comparisons-table"'):]
    row = re.search(r"SRCNN \(offset\) <span[^>]*>\(srcnn\)</span></td>(.*?)</tr>", table, re.S).group(1)
    assert f"[{expected.low:+.2f}, {expected.high:+.2f}]" in row and f"{expected.mean:+.2f}" in row
    # The registry keeps the champion; upscale still serves it.
    assert registry.champion(cfg.data_dir, "srcnn", track).path == first.path
    (rejected,) = [r for r in registry.read_records(cfg.data_dir) if r.kind == "reject"]
    assert rejected.run_id == "night-2" and rejected.decision["comparison"]["high"] == expected.high
    monkeypatch.setenv("SRBENCH_TRACK", track)
    write_image(tmp_path / "in" / "p.png", textured_image(12, 14, seed=1))
    result = CliRunner().invoke(app, ["upscale", str(tmp_path / "in"), "--model", "srcnn", "--out",
                                      str(tmp_path / "out"), "--data-dir", str(cfg.data_dir)])
    assert result.exit_code == 0, result.output
    assert f"from {Path(cfg.data_dir) / first.path}" in result.output

    better, outcome = night(cfg, "night-3", 0.0)
    (verdict,) = outcome.record.verdicts
    assert (verdict["action"], verdict["reason"]) == ("promote", "not-worse")
    assert verdict["comparison"]["wins"] == 6
    assert registry.champion(cfg.data_dir, "srcnn", track).path == better.path

    # A person rolls it back; the previous champion serves again, with who and why recorded.
    monkeypatch.setenv("SRBENCH_USER", "grace")
    result = CliRunner().invoke(app, ["rollback", "srcnn", "--track", track, "--why", "halo on edges",
                                      "--data-dir", str(cfg.data_dir)])
    assert result.exit_code == 0, result.output
    assert "again run night-1" in result.output
    assert registry.resolve_model(cfg.data_dir, "srcnn") == Path(cfg.data_dir) / first.path
    (back,) = [r for r in registry.read_records(cfg.data_dir) if r.kind == "rollback"]
    assert back.by.startswith("grace@") and back.why == "halo on edges"
    # Track isolation: none of this touched the div2k champion.
    assert registry.champion(cfg.data_dir, "srcnn", "div2k").path == gpu.path
    listing = CliRunner().invoke(app, ["models", "--data-dir", str(cfg.data_dir)]).output
    assert listing.index("track div2k:") < listing.index(f"track {track}:")
    assert f"reject {expected.mean:+.2f} dB [{expected.low:+.2f}, {expected.high:+.2f}] over 6 images" in listing


def test_manual_promotion_mode_records_the_verdict_without_applying_it(cfg):
    cfg = cfg.model_copy(update={"eval": cfg.eval.model_copy(update={"promotion": "manual"})})
    first, _ = night(cfg, "night-1", 2.0)
    _, outcome = night(cfg, "night-2", 0.0)
    (verdict,) = outcome.record.verdicts
    assert verdict["action"] == "promote" and verdict["manual"] and not verdict["applied"]
    assert registry.champion(cfg.data_dir, "srcnn", registry.track_of(cfg)).path == first.path
    assert "would be promoted" in outcome.report.read_text()


@pytest.fixture(scope="module")
def prefect_api(request):
    from helpers_prefect import ensure_prefect_harness

    ensure_prefect_harness(request)


def test_the_flow_emits_the_verdict_as_an_event_and_an_artifact(prefect_api, cfg):
    from prefect import flow

    from helpers_prefect import flow_run_artifacts, wait_for_events
    from sr_core import usecases
    from sr_core.champions import with_champions
    from tasks.reporting import decide_promotions

    night(cfg, "night-1", 2.0)
    worse = export(cfg, "night-2", 6.0)
    models, champions = with_champions(cfg, {"srcnn": str(Path(cfg.data_dir) / worse.path)})
    run, chunks = usecases.begin_evaluation(cfg, models, "night-2", extra={"champions": champions})
    usecases.merge_scores(run, [usecases.score_chunk(cfg, models, run, c, i, None) for i, c in enumerate(chunks)])

    @flow(name="verdict-check")
    def verdict_check():
        return decide_promotions(cfg, "night-2", models, champions)

    state = verdict_check(return_state=True)
    (decision,) = state.result()
    assert decision["action"] == "reject"
    (event,) = wait_for_events("srbench.model.rejected", lambda e: e["payload"].get("run_id") == "night-2")
    payload = event["payload"]
    assert payload["model"] == "srcnn" and payload["track"] == registry.track_of(cfg)
    assert payload["champion_run_id"] == "night-1" and payload["comparison"] == decision["comparison"]
    assert event["resource"]["srbench.track"] == registry.track_of(cfg)
    (artifact,) = [a for a in flow_run_artifacts(state.state_details.flow_run_id) if a.type == "markdown"]
    assert "| srcnn |" in artifact.data and "reject (beyond-tolerance)" in artifact.data
    assert f"{decision['comparison']['mean']:+.2f}" in artifact.data
    assert registry.champion(cfg.data_dir, "srcnn", registry.track_of(cfg)).run_id == "night-1"


def test_srbench_run_prints_the_verdicts_and_keeps_columns_for_champions():
    from srbench.commands.run import _summary_table

    rows = [{"method": m, "psnr_y": 25.0, "ssim_y": 0.7, "delta_bicubic_db": 1.0, "delta_previous_db": None}
            for m in ("bicubic", "srresnet", "srresnet@champion")]
    text = _summary_table({"rows": rows, "regressions": [], "verdicts": [
        {"name": "srresnet", "track": "quick", "action": "reject", "explanation": "significantly worse"}]})
    lines = text.splitlines()
    assert lines[-1] == "verdict srresnet (quick): reject, significantly worse"
    assert len({line.index("25.00") for line in lines[1:4]}) == 1  # the numbers stay in one column


def test_begin_evaluation_writes_run_json_once_with_what_changed_since_the_previous_night(cfg, monkeypatch):
    from sr_core import usecases
    from sr_core.runrecords import RunDir

    night(cfg, "night-1", 2.0)
    written = []
    real_write = RunDir.write_run
    monkeypatch.setattr(RunDir, "write_run", lambda self, record: written.append(record) or real_write(self, record))
    second = export(cfg, "night-2", 1.0)
    run, chunks = usecases.begin_evaluation(cfg, {"srcnn": str(Path(cfg.data_dir) / second.path)}, "night-2")
    (record,) = written
    assert record.changes is not None and record.changes.previous_run_id == "night-1"
    assert run.read_run() == record
    assert [len(c) for c in chunks] == [4, 2]
