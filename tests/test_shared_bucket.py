"""Two GPU "workers" share one S3 bucket: one index, one history, one registry, reports that open.

A real S3-compatible server (moto's standalone server) runs on loopback for this module; each worker
has its own scratch dir (patches, checkpoints, the run folder while it is written) and publishes to
the same bucket. The second night's "vs last night" is the first worker's night: one trend.
"""

from __future__ import annotations

import re
import urllib.request

import pytest

from helpers_prefect import ensure_prefect_harness
from tests.helpers_s3 import moto_server, s3_environment

pytestmark = pytest.mark.slow

BUCKET = "srbench-team"
RUNS = ("smoke-worker-a", "smoke-worker-b")


@pytest.fixture(scope="module")
def bucket(request, tmp_path_factory):
    ensure_prefect_harness(request)
    with moto_server(str(tmp_path_factory.mktemp("moto"))) as server, s3_environment(server):
        yield server, server.make_public_bucket(BUCKET)


@pytest.fixture(scope="module")
def nights(bucket, tmp_path_factory):
    """One smoke night on each worker (bicubic + SRCNN, to keep it short), one after the other."""
    from flows.nightly import nightly
    from sr_core.config import load_config

    server, public = bucket
    mp = pytest.MonkeyPatch()
    results = {}
    try:
        mp.setenv("SRBENCH_REPORTS_URL", f"{public}/reports")
        for run_id in RUNS:
            mp.setenv("SRBENCH_SCRATCH_DIR", str(tmp_path_factory.mktemp(run_id)))
            cfg = load_config("smoke", data_dir=f"s3://{BUCKET}/data", reports_dir=f"s3://{BUCKET}/reports",
                              extra={"eval": {"methods": ["bicubic", "srcnn"]}})
            state = nightly(config=cfg, run_id=run_id, return_state=True)
            assert state.is_completed(), state.message
            results[run_id] = (cfg, state.result())
    finally:
        mp.undo()
    return server, public, results


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=30) as response:  # anonymous, like a browser
        assert response.status == 200
        return response.read().decode()


def test_one_index_lists_both_workers_nights(nights):
    _, public, results = nights
    index = _get(f"{public}/reports/index.html")
    for run_id in RUNS:
        row = re.search(rf'<tr class="run">.*?{run_id}.*?</tr>', index, re.S)
        assert row and "status-complete" in row.group(0), run_id
        assert f'href="{run_id}/report.html"' in index


def test_one_history_holds_both_and_the_second_night_compares_with_the_first(nights):
    from sr_core.results import read_history

    _, _, results = nights
    history = read_history(f"s3://{BUCKET}/reports")
    assert sorted(history["run_id"].unique()) == sorted(RUNS)
    methods = history.groupby("run_id")["method"].apply(set).to_dict()
    assert methods["smoke-worker-a"] == {"bicubic", "srcnn"}
    # Worker B scored worker A's model (the track's champion, fetched from the bucket) beside its own.
    assert methods["smoke-worker-b"] == {"bicubic", "srcnn", "srcnn@champion"}
    assert results["smoke-worker-b"][1]["previous_run_id"] == "smoke-worker-a"  # one trend, two machines
    # ... and "what changed" compares worker B's night with worker A's, read from the bucket.
    import json

    from sr_core.store import Store

    record = json.loads(Store(f"s3://{BUCKET}/reports").read_text("smoke-worker-b/run.json"))
    assert record["changes"]["previous_run_id"] == "smoke-worker-a"


def test_one_registry_with_both_exports(nights):
    from sr_core.registry import read_view
    from sr_core.store import PUBLISHED_MARKER, Store

    _, _, results = nights
    data = Store(f"s3://{BUCKET}/data")
    view = read_view(data.root)
    exports = sorted(view.entries(name="srcnn"), key=lambda e: e.run_id)
    assert [e.run_id for e in exports] == list(RUNS)
    for entry in exports:
        folder = entry.path.rsplit("/", 1)[0]
        assert data.is_file(entry.path) and data.is_file(entry.sidecar)
        assert data.is_file(f"{folder}/{PUBLISHED_MARKER}")
    # Worker B's export was judged against worker A's champion: the verdict is in the same registry.
    assert view.champion("srcnn", "smoke").entry.run_id in RUNS
    assert view.verdicts[exports[1].path].kind in ("promote", "reject")
    # Each worker trained in its own scratch: neither saw the other's checkpoints or run folder.
    cfg_a, cfg_b = results["smoke-worker-a"][0], results["smoke-worker-b"][0]
    assert cfg_a.data_dir != cfg_b.data_dir
    assert not (cfg_a.reports_dir / "smoke-worker-b").exists()


def test_the_report_opens_from_the_bucket_url(nights):
    _, public, results = nights
    for run_id in RUNS:
        url = f"{public}/reports/{run_id}/report.html"
        assert results[run_id][1]["report_url"] == url  # the link artifact's target
        page = _get(url)
        assert run_id in page and 'id="training-curves"' in page
        assert "../index.html" in page  # back to the shared index, relative: works from any host


def test_a_failed_night_is_published_to_the_shared_index(nights, tmp_path, monkeypatch):
    from flows.nightly import nightly
    from sr_core.config import load_config

    _, public, _ = nights
    monkeypatch.setenv("SRBENCH_SCRATCH_DIR", str(tmp_path / "worker-c"))
    cfg = load_config("smoke", data_dir=f"s3://{BUCKET}/data", reports_dir=f"s3://{BUCKET}/reports",
                      dataset=f"folder:{tmp_path / 'no-such-photos'}")
    state = nightly(config=cfg, run_id="smoke-worker-c", return_state=True)
    assert state.is_failed()
    index = _get(f"{public}/reports/index.html")
    row = re.search(r'<tr class="run">.*?smoke-worker-c.*?</tr>', index, re.S)
    assert row and "status-failed" in row.group(0) and "no-such-photos" in row.group(0)
    assert all(run_id in index for run_id in RUNS)  # the other workers' nights are still listed
    assert '"stage": "download"' in _get(f"{public}/reports/smoke-worker-c/failure.json") or \
        '"stage": "prepare"' in _get(f"{public}/reports/smoke-worker-c/failure.json")
