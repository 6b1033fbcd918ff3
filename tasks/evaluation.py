"""Evaluation tasks (adapters of :mod:`sr_core.usecases`): score one chunk, merge the chunks.

``upscale_and_score`` is mapped over chunks of ``cfg.eval.chunk_size`` image ids; each writes a
partial Parquet file and returns its path, so chunks can run on threads or on Dask workers.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from sr_core import layout, usecases
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
                      chunk_index: int, started_at: str) -> dict[str, Any]:
    """Upscale ``image_ids`` with every configured method and score them into the run's partial
    table for this chunk; region crops go to the run's ``images/``."""
    path = usecases.score_chunk(cfg, models, layout.run_dir(cfg, run_id), list(image_ids), chunk_index,
                                started_at)
    where = _executed_on()
    get_run_logger().info("chunk %d (%d images: %s) scored on %s -> %s", chunk_index, len(image_ids),
                          ", ".join(image_ids[:5]) + (" ..." if len(image_ids) > 5 else ""), where, path)
    return {"path": str(path), "chunk": chunk_index, "images": list(image_ids), "executed_on": where}


@task(name="write_parquet", cache_policy=NO_CACHE, task_run_name="write-parquet")
def write_parquet(cfg: PipelineConfig, run_id: str, parts: list[dict[str, Any]]) -> str:
    """Merge the chunks' partial tables into the run's ``metrics.parquet``."""
    paths = [Path(part["path"]) for part in sorted(parts, key=lambda p: p["chunk"])]
    merged = usecases.merge_scores(layout.run_dir(cfg, run_id), paths)
    get_run_logger().info("metrics of %d chunks merged into %s", len(paths), merged)
    return str(merged)
