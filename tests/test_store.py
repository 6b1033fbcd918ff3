"""sr_core.store: one interface for a local folder, file:// and a real S3-compatible server."""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest

from sr_core.config import load_config
from sr_core.store import PUBLISHED_MARKER, Store, StoreError, is_url
from tests.helpers_s3 import moto_server, s3_environment


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    with moto_server(str(tmp_path_factory.mktemp("moto"))) as server, s3_environment(server):
        server.make_public_bucket("srbench-test")
        yield server


def _exercise(store: Store, tmp_path: Path) -> None:
    store.write_text("a/b.txt", "one")
    store.write_text("a/b.txt", "two")  # replaced whole
    assert store.read_text("a/b.txt") == "two"
    assert store.exists("a/b.txt") and store.is_file("a/b.txt") and not store.exists("a/none.txt")
    assert store.listdir("a") == [("b.txt", False)]
    assert store.listdir("missing") == []
    with pytest.raises(FileNotFoundError, match="none.txt"):
        store.read_bytes("a/none.txt")
    with pytest.raises(ValueError, match="plain relative path"):
        store.write_text("../escape.txt", "x")

    run = tmp_path / "run-1"
    (run / "images" / "img").mkdir(parents=True)
    (run / "run.json").write_text("{}")
    (run / "images" / "img" / "crop.png").write_bytes(b"\x89PNG")
    (run / ".run.json.abc.tmp").write_text("half")  # an atomic write's leftover is not published
    store.upload_dir(run, "runs/run-1", marker_text="done")
    assert store.read_bytes("runs/run-1/images/img/crop.png") == b"\x89PNG"
    assert store.read_text(f"runs/run-1/{PUBLISHED_MARKER}") == "done"
    assert sorted(n for n, _ in store.listdir("runs/run-1")) == [PUBLISHED_MARKER, "images", "run.json"]
    assert store.files("runs/run-1", ".json") == ["runs/run-1/run.json"]
    store.download("runs/run-1/run.json", tmp_path / "copy" / "run.json")
    assert (tmp_path / "copy" / "run.json").read_text() == "{}"
    store.remove("a/b.txt")
    assert not store.exists("a/b.txt")


def test_local_folder_and_file_url_behave_alike(tmp_path):
    plain = Store(tmp_path / "plain")
    assert plain.local == tmp_path / "plain" and plain.url("x/y") == str(tmp_path / "plain" / "x" / "y")
    _exercise(plain, tmp_path / "src1")
    assert (tmp_path / "plain" / "runs" / "run-1" / "run.json").is_file()
    # No temp files left beside the published ones.
    assert not [p for p in (tmp_path / "plain").rglob("*.tmp")]

    url = Store(f"file://{tmp_path / 'viaurl'}")
    assert url.local == tmp_path / "viaurl" and url.url("x").startswith("file://")
    _exercise(url, tmp_path / "src2")


def test_s3_store_on_a_real_server(s3, tmp_path):
    store = Store("s3://srbench-test/team/reports")
    assert store.local is None and store.url("x") == "s3://srbench-test/team/reports/x"
    _exercise(store, tmp_path)
    # What was published is an ordinary object anyone may GET from the bucket's HTTP endpoint.
    body = urllib.request.urlopen(f"{s3.endpoint}/srbench-test/team/reports/runs/run-1/run.json").read()
    assert body == b"{}"


def test_unknown_scheme_names_the_root():
    with pytest.raises(StoreError, match="nosuch://x"):
        Store("nosuch://x/y")


def test_url_roots_become_shared_roots_with_local_work_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SRBENCH_SCRATCH_DIR", str(tmp_path / "scratch"))
    cfg = load_config("smoke", data_dir="s3://bucket/srbench/data", reports_dir="s3://bucket/srbench/reports")
    assert (cfg.data_url, cfg.reports_url) == ("s3://bucket/srbench/data", "s3://bucket/srbench/reports")
    assert cfg.data_dir == tmp_path / "scratch" and cfg.reports_dir == tmp_path / "scratch" / "reports"
    assert type(cfg).model_validate(cfg.model_dump(mode="json")) == cfg  # survives Prefect's round trip
    # Roots never enter fingerprints: the same settings give the same artifacts wherever they live.
    assert cfg.fingerprint() == load_config("smoke", data_dir=tmp_path / "d").fingerprint()
    monkeypatch.delenv("SRBENCH_SCRATCH_DIR")
    local = load_config("smoke", data_dir=tmp_path / "d", reports_dir=tmp_path / "r")
    assert (local.data_url, local.reports_url) == (None, None)
    assert (local.data_dir, local.reports_dir) == (tmp_path / "d", tmp_path / "r")
    assert is_url("gs://b/x") and not is_url(tmp_path)


def test_a_view_written_while_another_worker_publishes_is_rewritten_to_cover_it(tmp_path):
    """The index race: worker A lists, worker B publishes, A writes its (stale) index. A's check after
    its write sees B's run and rewrites, so the last index lists both."""
    from sr_core.publish import publish_run, publish_view, published_runs

    shared = Store(f"file://{tmp_path / 'shared'}")
    for name in ("run-a", "run-b"):
        (tmp_path / "work" / name).mkdir(parents=True)
        (tmp_path / "work" / name / "run.json").write_text("{}")
    publish_run(tmp_path / "work" / "run-a", shared)
    renders = []

    def render():
        listed = set(published_runs(shared))
        renders.append(sorted(listed))
        if len(renders) == 1:  # B finishes its upload between A's listing and A's write
            publish_run(tmp_path / "work" / "run-b", shared)
        return ",".join(sorted(listed)), listed

    publish_view(shared, "index.txt", render)
    assert renders == [["run-a"], ["run-a", "run-b"]]
    assert shared.read_text("index.txt") == "run-a,run-b"
    # A folder whose upload has not finished (no marker yet) is not listed.
    (tmp_path / "shared" / "run-c").mkdir()
    (tmp_path / "shared" / "run-c" / "run.json").write_text("{}")
    assert published_runs(shared) == ["run-a", "run-b"]
