"""One GPU, one job: the global concurrency limit ``gpu`` that every GPU stage takes.

Create it once per Prefect server, sized to the GPUs of the pool (see docs/orchestration.md)::

    prefect gcl create gpu --limit 1

Then ``benchmark-div2k`` or ``train-div2k`` wait while the nightly trains or scores on a GPU,
instead of sharing its memory. Without the limit (a laptop, the ephemeral local server) nothing
waits and nothing is created.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from prefect import get_run_logger
from prefect.client.orchestration import get_client
from prefect.exceptions import ObjectNotFound

from sr_core.config import PipelineConfig

GPU_LIMIT = "gpu"


def gpu_limit_exists(name: str = GPU_LIMIT) -> bool:
    """Whether the Prefect server has a global concurrency limit of this name."""
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            return False
    return True


def uses_gpu(cfg: PipelineConfig) -> bool:
    """A GPU preset, or a machine where TensorFlow sees a GPU."""
    if cfg.require_gpu:
        return True
    from sr_core.devices import visible_gpus

    return bool(visible_gpus())


@contextlib.contextmanager
def gpu_slot(cfg: PipelineConfig, what: str) -> Iterator[bool]:
    """Hold one slot of the ``gpu`` limit around ``what`` (a GPU stage); yields whether it did."""
    if not uses_gpu(cfg) or not gpu_limit_exists():
        yield False
        return
    from prefect.concurrency.sync import concurrency

    logger = get_run_logger()
    logger.info("%s: waiting for a slot of the '%s' concurrency limit", what, GPU_LIMIT)
    with concurrency(GPU_LIMIT, occupy=1, strict=True):
        logger.info("%s: holds a '%s' slot", what, GPU_LIMIT)
        yield True
