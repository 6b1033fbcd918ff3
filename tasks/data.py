"""Data tasks: make the dataset available, cut the patch shards. Both are cached by fingerprint.

The cache key is the config fingerprint of what decides the artifact plus the data root (and, for
patches, the source's file signature), so a rerun with the same config is a ``Cached`` state and a
changed data setting or a changed image folder recomputes. Results are
persisted as plain JSON under ``<data_dir>/prefect/results`` (next to what they describe): deleting
the data root forgets them too, and a record that is not plain JSON data is ignored, never
unpickled (:mod:`tasks.result_storage`). If the artifact on disk has gone anyway, the flow refreshes the cache
(:func:`prepare_patches_task_for`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.context import TaskRunContext

from sr_core import layout
from sr_core.config import PipelineConfig
from sr_core.records import patches_problem
from sr_core.records import prepare_patches as build_patches
from sr_core.sources import DatasetUnavailableError, SourceError, ensure_dataset, open_source
from tasks.result_storage import JsonResultStorage


def _root_tag(cfg: PipelineConfig) -> str:
    return hashlib.sha256(str(Path(cfg.data_dir).resolve()).encode()).hexdigest()[:8]


def dataset_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    cfg: PipelineConfig = parameters["cfg"]
    what = json.dumps({"dataset": cfg.data.dataset, "scale": cfg.data.scale}, sort_keys=True)
    return f"srbench-dataset-{layout.dataset_slug(cfg.data.dataset)}-{hashlib.sha256(what.encode()).hexdigest()[:12]}-{_root_tag(cfg)}"


def source_signature(cfg: PipelineConfig) -> str:
    """The source's own signature (for a folder: its files' names and sizes), so editing the photos
    in a folder invalidates the cached patches even though the config did not change."""
    try:
        signature = str(open_source(cfg).describe().get("signature") or "")
    except Exception:  # noqa: BLE001 - an unusable source fails in the task itself, with its message
        signature = "unavailable"
    return hashlib.sha256(signature.encode()).hexdigest()[:8]


def patches_cache_key(context: TaskRunContext | None, parameters: dict[str, Any]) -> str:
    cfg: PipelineConfig = parameters["cfg"]
    return f"srbench-patches-{cfg.data_fingerprint()}-{_root_tag(cfg)}-{source_signature(cfg)}"


def results_dir(cfg: PipelineConfig) -> Path:
    """Where the data tasks persist their (small) results: paths and metadata dicts."""
    return (layout.prefect_home(cfg.data_dir) / "results").resolve()


def result_storage(cfg: PipelineConfig) -> JsonResultStorage:
    """The data tasks' result storage: :func:`results_dir`, read back only as plain JSON.

    Prefect accepts a storage block only once it is saved on the API server (one small block
    document per data root)."""
    storage = JsonResultStorage(basepath=str(results_dir(cfg)))
    storage.save(f"srbench-results-{_root_tag(cfg)}", overwrite=True)
    return storage


def is_transient(exc: BaseException | None) -> bool:
    """Network trouble and unavailable downloads are worth retrying; a wrong config is not."""
    if exc is None:
        return False
    if isinstance(exc, SourceError):
        return False
    return isinstance(exc, (DatasetUnavailableError, ConnectionError, TimeoutError, OSError))


def retry_if_transient(task: Any, task_run: Any, state: Any) -> bool:
    """``retry_condition_fn`` of the download task."""
    try:
        state.result()
    except BaseException as exc:  # noqa: BLE001 - the failed state re-raises the task's error
        return is_transient(exc)
    return False


@task(name="download_dataset", cache_key_fn=dataset_cache_key, persist_result=True, result_serializer="json",
      retries=3, retry_delay_seconds=[10, 60, 300], retry_jitter_factor=0.2,
      retry_condition_fn=retry_if_transient, task_run_name="download-{cfg.data.dataset}")
def download_dataset(cfg: PipelineConfig) -> dict[str, Any]:
    """Download/prepare the dataset (DIV2K via tfds) into the data root; a no-op for local sources.

    Network failures are retried with back-off (10 s, 1 min, 5 min); configuration errors (a
    folder that does not exist, say) fail at once.
    """
    info = ensure_dataset(cfg)
    get_run_logger().info("dataset %s ready: %s", cfg.data.dataset, info)
    return json.loads(json.dumps(info, default=str))


@task(name="prepare_patches", cache_key_fn=patches_cache_key, persist_result=True, result_serializer="json",
      task_run_name="prepare-patches-{cfg.data.dataset}")
def prepare_patches(cfg: PipelineConfig) -> str:
    """Cut HR/LR patches into sharded TFRecords; returns the fingerprinted patch directory."""
    logger = get_run_logger()

    def progress(done: int, total: int, what: str = "") -> None:
        if total and (done == total or done % max(1, total // 10) == 0):
            logger.info("patches %s: %d/%d", what, done, total)

    patch_dir = build_patches(cfg, progress=progress)
    logger.info("patches ready in %s", patch_dir)
    return str(patch_dir)


def patches_complete(cfg: PipelineConfig) -> bool:
    """Whether the patch directory a cached result would point to is still whole on disk: a valid
    manifest, every shard at its size, and the sha256 of any shard changed since it was last
    verified (:func:`sr_core.records.patches_problem`). If not, says so in the run's log."""
    patch_dir = layout.patches_dir(cfg)
    if not patch_dir.exists():
        return False
    problem = patches_problem(patch_dir)
    if problem is not None:
        try:
            logger = get_run_logger()
        except Exception:  # noqa: BLE001 - outside a flow run (a direct call): the module's logger
            logger = logging.getLogger(__name__)
        logger.warning("rebuilding the patches: %s", problem)
    return problem is None


def dataset_present(cfg: PipelineConfig) -> bool:
    if cfg.data.dataset == "div2k":
        return layout.tfds_dir(cfg).is_dir()
    return True


def download_task_for(cfg: PipelineConfig):
    """``download_dataset`` with results stored under the data root; refreshed if the data vanished."""
    return download_dataset.with_options(result_storage=result_storage(cfg),
                                         refresh_cache=not dataset_present(cfg))


def prepare_patches_task_for(cfg: PipelineConfig):
    """``prepare_patches`` with results under the data root; refreshed if the shards are gone."""
    return prepare_patches.with_options(result_storage=result_storage(cfg),
                                        refresh_cache=not patches_complete(cfg))
