"""The 'gpu' global concurrency limit: taken by GPU stages when it exists, never created by them."""

from __future__ import annotations

import pytest
from prefect import flow

from helpers_prefect import ensure_prefect_harness
from sr_core.config import load_config


@pytest.fixture(scope="module")
def prefect_api(request):
    ensure_prefect_harness(request)


def _active_slots() -> int:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name("gpu").active_slots


@flow
def _gpu_stage(preset: str, overrides: list[str], probe: bool) -> tuple[bool, int | None]:
    from flows.gpu import gpu_slot

    with gpu_slot(load_config(preset, overrides), "train-srcnn") as held:
        return held, (_active_slots() if probe else None)


def test_gpu_stages_hold_a_slot_only_when_the_limit_exists(prefect_api):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from flows.gpu import gpu_limit_exists

    with get_client(sync_client=True) as client:
        with pytest.raises(Exception):
            client.delete_global_concurrency_limit_by_name("gpu")  # none yet
        assert not gpu_limit_exists()
        assert _gpu_stage("smoke", ["require_gpu=true"], False) == (False, None)
        assert not gpu_limit_exists()  # the stage did not create it

        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="gpu", limit=1))
        try:
            assert _gpu_stage("smoke", ["require_gpu=true"], True) == (True, 1)  # held while it ran
            assert _active_slots() == 0  # and given back
            # A CPU-only config on a machine without a GPU does not queue behind GPU jobs.
            from sr_core.devices import visible_gpus

            if not visible_gpus():
                assert _gpu_stage("smoke", [], False) == (False, None)
        finally:
            client.delete_global_concurrency_limit_by_name("gpu")
