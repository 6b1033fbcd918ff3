"""Cached task results under the data root are data, never code (issue 13, item 1).

A real Prefect run (the session's temporary API server) of the ``prepare`` flow writes the data
tasks' cache records; the test then replaces one with a record an attacker could write (Prefect's
own pickle format, payload with a malicious ``__reduce__``) and runs the flow again.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers_prefect import ensure_prefect_harness, task_run_states


@pytest.fixture(scope="module")
def prefect_api(request):
    ensure_prefect_harness(request)


class _Payload:
    """Unpickling this writes a marker file: proof that the record's code ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def _pickle_record(marker: Path) -> bytes:
    from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
    from prefect.serializers import PickleSerializer

    return ResultRecord(metadata=ResultRecordMetadata(serializer=PickleSerializer()),
                        result=_Payload(marker)).serialize()


def _json_record(value, **serializer) -> bytes:
    from prefect._internal.result_records import ResultRecord, ResultRecordMetadata
    from prefect.serializers import JSONSerializer

    return ResultRecord(metadata=ResultRecordMetadata(serializer=JSONSerializer(**serializer)),
                        result=value).serialize()


def test_a_crafted_pickle_result_does_not_run_and_is_recomputed(prefect_api, smoke_config, tmp_path):
    from flows.stages import prepare
    from tasks.data import dataset_cache_key, results_dir

    first = prepare(config=smoke_config, return_state=True)
    assert first.is_completed(), first.message
    record = results_dir(smoke_config) / dataset_cache_key(None, {"cfg": smoke_config})
    assert record.is_file()
    assert json.loads(record.read_bytes())["metadata"]["serializer"]["type"] == "json"

    marker = tmp_path / "pwned.txt"
    record.write_bytes(_pickle_record(marker))
    second = prepare(config=smoke_config, return_state=True)
    assert second.is_completed(), second.message
    assert not marker.exists(), "the crafted result file ran code"
    states = task_run_states(second.state_details.flow_run_id,
                             wait_for=("download_dataset", "prepare_patches"))
    assert states["download_dataset"] == ["Completed"]  # the refused record was a cache miss...
    assert states["prepare_patches"] == ["Cached"]      # ...and only that one
    assert json.loads(record.read_bytes())["metadata"]["serializer"]["type"] == "json"  # rewritten

    third = prepare(config=smoke_config, return_state=True)
    assert task_run_states(third.state_details.flow_run_id, wait_for=("download_dataset",))[
        "download_dataset"] == ["Cached"]


@pytest.mark.parametrize("content, reason", [
    (b"\x80\x04K\x01.", "not JSON"),
    (json.dumps({"data": "x", "serializer": {"type": "pickle"}}).encode(), "not a Prefect result record"),
    (_json_record({"a": 1}, object_decoder="os.system"), "settings other than plain JSON"),
    (_json_record("x", dumps_kwargs={"indent": 1}), "settings other than plain JSON"),
    (_json_record({"p": [{"__class__": "os.system", "data": "x"}]}), "build Python objects by name"),
    (_json_record({"__exc_type__": "SystemExit", "message": "x"}), "build Python objects by name"),
])
def test_only_plain_json_records_are_read(tmp_path, content, reason):
    from tasks.result_storage import JsonResultStorage, UnsafeResultError

    (tmp_path / "key").write_bytes(content)
    storage = JsonResultStorage(basepath=str(tmp_path))
    with pytest.raises(UnsafeResultError, match=reason) as err:
        storage.read_path("key", _sync=True)
    assert str(tmp_path / "key") in str(err.value)


def test_plain_json_records_are_read_back(tmp_path):
    from prefect._internal.result_records import ResultRecord

    from tasks.result_storage import JsonResultStorage

    value = {"dataset": "sample", "paths": ["/x/y.png"], "count": 3, "nested": {"ok": True}}
    (tmp_path / "key").write_bytes(_json_record(value))
    content = JsonResultStorage(basepath=str(tmp_path)).read_path("key", _sync=True)
    assert ResultRecord.deserialize(content).result == value
