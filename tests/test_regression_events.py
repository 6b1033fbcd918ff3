"""From a scored night to the ``srbench.regression`` event, under a real (temporary) Prefect server.

Nothing here hands a ready-made finding to the alert: a real metrics.parquet is scored, the history
is updated the way the nightly flow does it, and the flow's own summary + alert functions decide.
"""

from __future__ import annotations

import pytest

from helpers_prefect import ensure_prefect_harness, wait_for_events
from sr_core import evaluation, results
from sr_core.config import load_config
from sr_core.report import update_history
from sr_core.resize import downscale
from sr_core.sources import ImageRecord
from tests.helpers_eval import textured_image


@pytest.fixture(scope="module")
def prefect_api(request):
    ensure_prefect_harness(request)


def _scored_night(root, run_id: str, previous_offset_db: float):
    """One bicubic-only night on five images scored on disk, after an earlier night on the same
    images that was ``previous_offset_db`` better on every image (its own run folder and history)."""
    cfg = load_config("smoke", data_dir=root / "data", reports_dir=root / "reports",
                      extra={"eval": {"methods": ["bicubic"], "auto_crops": 0, "crops": [],
                                      "regression_tolerance_db": 0.25}})
    records = []
    for n in range(5):
        hr = textured_image(48, 56, seed=n + 1)
        records.append(ImageRecord(f"x{n}", hr, downscale(hr, 4)))
    ids = [r.image_id for r in records]
    before_id = f"{run_id}-before"
    for rid, started in ((before_id, "2026-01-04T03:00:00Z"), (run_id, "2026-01-05T03:00:00Z")):
        run_dir = root / "reports" / rid
        evaluation.write_run_json(run_dir, cfg, rid, models={}, started_at=started)
        part = evaluation.evaluate_images(cfg, {}, ids, rid, run_dir / "parts" / "p.parquet", records=records)
        metrics_path = evaluation.merge_metrics([part], run_dir)
        if rid == before_id:  # the earlier night was better on every image
            df = results.read_metrics(metrics_path)
            df.loc[df["region"] == "full", "psnr_y"] += previous_offset_db
            rows = df.astype(object).where(df.notna(), None).to_dict("records")
            results.write_table(results.metrics_table(rows), metrics_path)
        history_path = update_history(run_dir, cfg.reports_dir)
    now = results.read_metrics(metrics_path)
    return cfg, str(metrics_path), str(history_path), float(now[now["region"] == "full"]["psnr_y"].mean())


def _night_flow(cfg, run_id, metrics_path, history_path):
    from prefect import flow

    from flows.pipeline import alert_on_regressions
    from sr_core.results import metrics_of_root, night_summary, read_history, read_metrics

    @flow(name=f"regression-check-{run_id}")
    def check():
        summary = night_summary(read_metrics(metrics_path), read_history(history_path), run_id,
                                cfg.eval.regression_tolerance_db, metrics_of_root(history_path))
        alert_on_regressions(cfg, run_id, summary)
        return summary

    return check(return_state=True)


def test_a_drop_beyond_tolerance_is_detected_and_emitted_and_a_small_one_is_not(prefect_api, tmp_path):
    fine = _scored_night(tmp_path / "fine", "smoke-evt-fine", previous_offset_db=0.2)  # within the tolerance
    state = _night_flow(fine[0], "smoke-evt-fine", *fine[1:3])
    assert state.is_completed()
    summary = state.result()
    assert summary["regressions"] == [] and summary["previous_run_id"] == "smoke-evt-fine-before"
    (row,) = summary["rows"]
    assert row["delta_previous_db"] == pytest.approx(-0.2, abs=1e-9)

    cfg, metrics_path, history_path, psnr = _scored_night(tmp_path / "drop", "smoke-evt-drop",
                                                          previous_offset_db=0.5)
    state = _night_flow(cfg, "smoke-evt-drop", metrics_path, history_path)
    assert state.is_completed()
    (event,) = wait_for_events("srbench.regression", lambda e: e["payload"].get("run_id") == "smoke-evt-drop")
    payload = event["payload"]
    assert event["resource"]["prefect.resource.id"] == "srbench.run.smoke-evt-drop"
    assert payload["previous_run_id"] == "smoke-evt-drop-before" and payload["tolerance_db"] == 0.25
    assert payload["worst_delta_db"] == pytest.approx(-0.5, abs=1e-9)
    (finding,) = payload["regressions"]
    assert finding["method"] == "bicubic" and finding["psnr_y"] == pytest.approx(psnr, abs=1e-9)
    assert finding["previous_psnr_y"] == pytest.approx(psnr + 0.5, abs=1e-9)
    # The paired interval over the five images, and both run ids.
    assert finding["n_images"] == 5 and finding["run_id"] == "smoke-evt-drop"
    assert finding["previous_run_id"] == "smoke-evt-drop-before"
    assert finding["low_db"] == pytest.approx(-0.5, abs=1e-9) and finding["high_db"] == pytest.approx(-0.5, abs=1e-9)

    # The drop's event has arrived, so the fine night's would have too: there is none.
    assert wait_for_events("srbench.regression", lambda e: e["payload"].get("run_id") == "smoke-evt-fine",
                           timeout=2.0) == []
