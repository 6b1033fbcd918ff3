"""History as a dataset of per-run Parquet files: no lost rows, legacy migration, damaged files."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sr_core.history import (HISTORY_DIR, LEGACY_FILE, history_files, migrate_legacy, read_history,
                             write_run_history)
from sr_core.results import HISTORY_SCHEMA
from sr_core.store import Store

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def rows(run_id: str, day: int, psnr: float, methods=("bicubic", "srcnn")) -> list[dict]:
    return [{"run_id": run_id, "started_at": T0 + timedelta(days=day), "preset": "smoke", "dataset": "sample",
             "method": m, "label": m.upper(), "model_step": None if m == "bicubic" else 4, "n_images": 1,
             "mean_psnr_rgb": psnr + i, "mean_ssim_rgb": 0.5, "mean_psnr_y": psnr + i + 0.5, "mean_ssim_y": 0.6,
             "delta_psnr_rgb": float(i), "delta_ssim_rgb": 0.0, "delta_psnr_y": float(i), "delta_ssim_y": 0.0,
             "seconds_per_image": 0.1} for i, m in enumerate(methods)]


def test_each_run_writes_only_its_own_file_and_reading_sees_all(tmp_path):
    # Two workers write "at once": neither reads the other's rows before writing, so none is lost.
    write_run_history(tmp_path, "smoke-b", rows("smoke-b", 1, 30.0))
    write_run_history(tmp_path, "smoke-a", rows("smoke-a", 0, 20.0))
    assert history_files(tmp_path) == [f"{HISTORY_DIR}/smoke-a.parquet", f"{HISTORY_DIR}/smoke-b.parquet"]
    history = read_history(tmp_path)
    assert list(history["run_id"]) == ["smoke-a", "smoke-a", "smoke-b", "smoke-b"]  # oldest first
    assert list(history["mean_psnr_y"]) == [20.5, 21.5, 30.5, 31.5]
    # Rewriting a run replaces its rows (a rerun of the history stage is idempotent).
    write_run_history(tmp_path, "smoke-a", rows("smoke-a", 0, 25.0, methods=("bicubic",)))
    history = read_history(tmp_path)
    assert list(history["mean_psnr_y"]) == [25.5, 30.5, 31.5]
    assert not (tmp_path / LEGACY_FILE).exists() and not list(tmp_path.rglob("*.lock"))
    with pytest.raises(ValueError, match="other runs"):
        write_run_history(tmp_path, "smoke-a", rows("smoke-b", 1, 1.0))


def test_a_legacy_history_file_is_migrated_once(tmp_path):
    legacy = rows("smoke-a", 0, 20.0) + rows("smoke-b", 1, 30.0)
    pq.write_table(pa.Table.from_pylist(legacy, schema=HISTORY_SCHEMA), tmp_path / LEGACY_FILE)
    write_run_history(tmp_path, "smoke-b", rows("smoke-b", 1, 33.0))  # newer than the legacy copy
    history = read_history(tmp_path)
    assert list(history["mean_psnr_y"]) == [20.5, 21.5, 33.5, 34.5]
    assert not (tmp_path / LEGACY_FILE).exists() and (tmp_path / f"{LEGACY_FILE}.migrated").is_file()
    assert migrate_legacy(tmp_path) == 0
    assert read_history(tmp_path).equals(history)


def test_a_damaged_run_file_is_named_and_skipped_or_rebuilt(tmp_path, caplog):
    write_run_history(tmp_path, "smoke-a", rows("smoke-a", 0, 20.0))
    write_run_history(tmp_path, "smoke-b", rows("smoke-b", 1, 30.0))
    good = (tmp_path / HISTORY_DIR / "smoke-b.parquet").read_bytes()
    (tmp_path / HISTORY_DIR / "smoke-b.parquet").write_bytes(good[: len(good) // 2])  # truncated
    pq.write_table(pa.table({"x": [1]}), tmp_path / HISTORY_DIR / "smoke-c.parquet")  # another schema
    with caplog.at_level(logging.WARNING, logger="sr_core.history"):
        history = read_history(tmp_path)
    assert list(history["run_id"].unique()) == ["smoke-a"]
    assert "smoke-b.parquet" in caplog.text and "smoke-c.parquet" in caplog.text and "missing" in caplog.text

    # With the run folders' own numbers at hand, the damaged file is set aside and rebuilt.
    def rows_of_run(store: Store, run_id: str):
        return rows(run_id, 1, 30.0) if run_id == "smoke-b" else None

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="sr_core.history"):
        history = read_history(tmp_path, rows_of_run)
    assert list(history["run_id"].unique()) == ["smoke-a", "smoke-b"]
    assert list(history[history["run_id"] == "smoke-b"]["mean_psnr_y"]) == [30.5, 31.5]
    assert len(list((tmp_path / HISTORY_DIR).glob("smoke-b.parquet.damaged-*"))) == 1
    assert "rebuilt" in caplog.text and "smoke-c.parquet" in caplog.text  # still named, still skipped
