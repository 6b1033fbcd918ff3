"""Evaluation tasks: upscale and score one chunk of validation images, merge the chunks.

``upscale_and_score`` is mapped over chunks of ``cfg.eval.chunk_size`` image ids; each writes a
partial Parquet file and returns its path, so chunks can run on threads or on Dask workers.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from sr_core.config import PipelineConfig


def _executed_on() -> str:
    """The Dask worker address when running on one, else this host's name (shown in the logs)."""
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return socket.gethostname()


@task(name="upscale_and_score", cache_policy=NO_CACHE,
      task_run_name="upscale-and-score-{chunk_index}")
def upscale_and_score(cfg: PipelineConfig, models: dict[str, str], image_ids: list[str], run_id: str,
                      chunk_index: int, run_dir: str, started_at: str) -> dict[str, Any]:
    """Upscale ``image_ids`` with every configured method and score them into a partial Parquet
    (``<run_dir>/parts/chunk-NNNN.parquet``); region crops go to ``<run_dir>/images``."""
    from sr_core.evaluation import evaluate_images

    out_path = Path(run_dir) / "parts" / f"chunk-{chunk_index:04d}.parquet"
    path = evaluate_images(cfg, models, list(image_ids), run_id, out_path, started_at=started_at,
                           run_dir=run_dir)
    where = _executed_on()
    get_run_logger().info("chunk %d (%d images: %s) scored on %s -> %s", chunk_index, len(image_ids),
                          ", ".join(image_ids[:5]) + (" ..." if len(image_ids) > 5 else ""), where, path)
    return {"path": str(path), "chunk": chunk_index, "images": list(image_ids), "executed_on": where}


@task(name="write_parquet", cache_policy=NO_CACHE, task_run_name="write-parquet")
def write_parquet(parts: list[dict[str, Any]], run_dir: str) -> str:
    """Merge the chunks' partial tables into ``<run_dir>/metrics.parquet``."""
    from sr_core.evaluation import merge_metrics

    paths = [Path(part["path"]) for part in sorted(parts, key=lambda p: p["chunk"])]
    merged = merge_metrics(paths, Path(run_dir))
    get_run_logger().info("metrics of %d chunks merged into %s", len(paths), merged)
    for path in paths:  # the merged table holds every row now
        path.unlink(missing_ok=True)
    try:
        (Path(run_dir) / "parts").rmdir()
    except OSError:
        pass
    return str(merged)
