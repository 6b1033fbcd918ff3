"""Build real small run folders (metrics.parquet + run.json + images) for the report tests."""

from __future__ import annotations

from pathlib import Path

from sr_core import evaluation
from sr_core.config import load_config
from sr_core.resize import downscale
from sr_core.sources import ImageRecord
from tests.helpers_eval import save_tiny_model, textured_image

HOSTILE_ID = "<img src=x onerror=alert(1)>"


def make_run(reports_dir: Path, run_id: str, started_at: str, *, model_path: Path | None = None,
             ids=("0801", HOSTILE_ID), sizes=((64, 80), (72, 64)), preset_extra=None) -> Path:
    """Evaluate generated images with bicubic, bilinear and (optionally) a tiny 'srcnn' model."""
    extra = {"eval": {"auto_crops": 1, "auto_crop_size": 24,
                      "crops": [{"name": "seed<b>1</b>", "image_id": ids[0], "top": 8, "left": 8,
                                 "height": 24, "width": 40}]}}
    if preset_extra:
        extra.update(preset_extra)
    cfg = load_config("smoke", data_dir=reports_dir.parent / "data", reports_dir=reports_dir, extra=extra)
    records = []
    for n, (image_id, (h, w)) in enumerate(zip(ids, sizes)):
        hr = textured_image(h, w, seed=n)
        records.append(ImageRecord(image_id, hr, downscale(hr, 4)))
    models = {"srcnn": model_path} if model_path else {}
    run_dir = reports_dir / run_id
    evaluation.write_run_json(run_dir, cfg, run_id, models=models, started_at=started_at,
                              wall_times={"evaluate": 1.5}, notes=["config note <script>x</script>"])
    part = evaluation.evaluate_images(cfg, models, list(ids), run_id, run_dir / "parts" / "p0.parquet",
                                      records=records)
    evaluation.merge_metrics([part], run_dir)
    return run_dir


def tiny_model(tmp: Path) -> Path:
    return save_tiny_model(tmp / "srcnn.keras", label="SRCNN", step=4)
