"""The config's behaviour, not its constants: validators, override parsing and merging, config files,
shared roots and fingerprints. Preset values are tuning choices checked by the training-quality
measurements (docs/training.md), so no test here restates them; tests/mutation_equivalent.txt lists
their mutants as equivalent by design.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from sr_core import config
from sr_core.config import (DataConfig, EvalConfig, PipelineConfig, TrainConfig, load_config, parse_override,
                            read_config_file, resolve_config)


@pytest.fixture(autouse=True)
def _no_root_env(monkeypatch, tmp_path):
    for name in ("SRBENCH_SCRATCH_DIR", "SRBENCH_DATA_DIR", "SRBENCH_REPORTS_DIR", "SRBENCH_REPORTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def test_parse_override_splits_at_the_first_equals_and_reads_json():
    assert parse_override("srcnn.steps=5") == (["srcnn", "steps"], 5)
    assert parse_override(" a..b =x=y") == (["a", "b"], "x=y")  # only the first '=' splits; empty parts dropped
    assert parse_override("eval.methods=[\"bicubic\"]") == (["eval", "methods"], ["bicubic"])
    assert parse_override("x=true") == (["x"], True)
    assert parse_override("x=folder:/a") == (["x"], "folder:/a")  # not JSON: kept as text
    assert parse_override("x=") == (["x"], "")
    with pytest.raises(ValueError, match=r"override 'a' is not KEY=VALUE \(e\.g\. srcnn\.steps=500\)"):
        parse_override("a")
    with pytest.raises(ValueError, match=r"override '\.=1' has an empty key"):
        parse_override(".=1")


def test_overrides_create_missing_sections_and_refuse_to_descend_into_values():
    tree = {"srcnn": {"steps": 1}}
    config._apply(tree, ["srcnn", "lr", "initial"], 0.5, "item")
    config._apply(tree, ["preset"], "p", "item")
    assert tree == {"srcnn": {"steps": 1, "lr": {"initial": 0.5}}, "preset": "p"}
    with pytest.raises(ValueError, match=r"override 'srcnn\.steps\.x=1': 'steps' is not a section"):
        config._apply(tree, ["srcnn", "steps", "x"], 1, "srcnn.steps.x=1")
    assert load_config("smoke", ["srcnn.lr.initial=0.25"]).srcnn.lr.initial == 0.25


def test_merge_is_deep_and_leaves_its_inputs_alone():
    base = {"a": {"x": 1, "y": {"p": 1}}, "b": 2, "c": {"k": 1}}
    extra = {"a": {"y": {"q": 2}}, "b": {"new": 1}, "c": 5, "d": [1]}
    merged = config._merge(base, extra)
    assert merged == {"a": {"x": 1, "y": {"p": 1, "q": 2}}, "b": {"new": 1}, "c": 5, "d": [1]}
    assert base == {"a": {"x": 1, "y": {"p": 1}}, "b": 2, "c": {"k": 1}}
    cfg = load_config("smoke", extra={"srcnn": {"steps": 9}})
    assert cfg.srcnn.steps == 9 and cfg.srcnn.batch_size == load_config("smoke").srcnn.batch_size


def test_load_config_defaults_to_quick_and_names_a_bad_override():
    assert load_config() == load_config("quick")
    with pytest.raises(ValueError, match=r"override 'srcnn\.steps\.x=1': 'steps' is not a section"):
        load_config("smoke", ["srcnn.steps.x=1"])


def test_load_config_applies_extra_then_dataset_then_overrides(tmp_path):
    cfg = load_config("smoke", ["srcnn.steps=3", "data.dataset=folder:/o"], dataset="folder:/d",
                      extra={"srcnn": {"steps": 2}, "data": {"dataset": "folder:/e"}},
                      data_dir=tmp_path / "d", reports_dir=tmp_path / "r")
    assert cfg.srcnn.steps == 3 and cfg.data.dataset == "folder:/o"
    assert cfg.data_dir == tmp_path / "d" and cfg.reports_dir == tmp_path / "r"
    assert load_config("smoke", dataset="folder:/d").data.dataset == "folder:/d"
    with pytest.raises(ValueError, match=r"unknown preset 'fast': choose one of smoke, quick, div2k"):
        load_config("fast")


def test_resolve_config_prefers_the_given_config_and_applies_overrides_on_top():
    given = load_config("smoke", ["srcnn.steps=7"])
    assert resolve_config("div2k", None, given) is given
    assert resolve_config("div2k", [], given.model_dump(mode="json")) == given
    patched = resolve_config("div2k", ["srgan.steps=2"], given.model_dump(mode="json"))
    assert (patched.preset, patched.srcnn.steps, patched.srgan.steps) == ("smoke", 7, 2)
    custom = given.model_copy(update={"preset": "custom"})  # not a preset name: built on quick
    assert resolve_config("div2k", ["srgan.steps=2"], custom).srcnn.steps == 7
    assert resolve_config("quick", None, None) == load_config("quick")
    assert resolve_config("smoke", ["eval.chunk_size=3"], None).eval.chunk_size == 3


def test_dataset_validator_accepts_the_three_kinds_only():
    for ok in ("div2k", "sample", "folder:x", "folder:/hr,/lr"):
        assert DataConfig(dataset=ok).dataset == ok
    for bad in ("folder:", "div2", "Folder:x", "x"):
        with pytest.raises(ValidationError, match=r"unknown dataset .*use 'div2k', 'sample' or 'folder:PATH'"):
            DataConfig(dataset=bad)


def test_patch_size_must_divide_by_the_scale():
    assert DataConfig(hr_patch_size=36, scale=3).lr_patch_size == 12
    assert DataConfig(hr_patch_size=96, scale=4).lr_patch_size == 24
    with pytest.raises(ValidationError, match="hr_patch_size 30 is not a multiple of scale 4"):
        DataConfig(hr_patch_size=30, scale=4)


def test_extra_sets_must_be_folder_specs():
    assert EvalConfig(extra_sets=["folder:a", "folder:a,b"]).extra_sets == ["folder:a", "folder:a,b"]
    for bad in ("folder:", "folder:  ", "a", "Set5"):
        with pytest.raises(ValidationError, match=r"eval\.extra_sets entry .* is not 'folder:HR' or 'folder:HR,LR'"):
            EvalConfig(extra_sets=[bad])


def test_train_fingerprint_payload_drops_retention_and_scratch_init():
    payload = TrainConfig().fingerprint_payload()
    assert "keep_runs" not in payload and "init" not in payload
    assert payload == {k: v for k, v in TrainConfig().model_dump(mode="json").items() if k not in ("keep_runs", "init")}
    assert TrainConfig(init="champion").fingerprint_payload()["init"] == "champion"
    assert TrainConfig(keep_runs=9).fingerprint_payload() == payload


def test_shard_compression_names_the_patch_folder_but_not_the_models():
    gzip = load_config("smoke")
    none = load_config("smoke", ["data.compression=none"])
    assert DataConfig().compression == "gzip" and load_config("div2k").data.compression == "none"
    assert gzip.data.fingerprint_payload() == {k: v for k, v in gzip.data.model_dump(mode="json").items()
                                               if k != "compression"}
    # gzip folders keep the names they had before the setting existed; 'none' gets its own
    assert gzip.data_fingerprint() == gzip.fingerprint("data")
    assert none.data_fingerprint() == hashlib.sha256(f"{gzip.fingerprint('data')}:none".encode()).hexdigest()[:12]
    for name in ("srcnn", "srresnet", "srgan"):
        assert none.model_fingerprint(name) == gzip.model_fingerprint(name)
    with pytest.raises(ValidationError, match="compression"):
        DataConfig(compression="zlib")


def test_fingerprint_is_the_sha256_of_the_sorted_section_payloads():
    cfg = load_config("smoke")
    names = ("data", "srcnn", "srresnet", "srgan", "train", "eval")
    payload = {n: (getattr(cfg, n).fingerprint_payload() if n in ("train", "data")
                   else getattr(cfg, n).model_dump(mode="json")) for n in names}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    assert cfg.fingerprint() == hashlib.sha256(blob.encode()).hexdigest()[:12]
    data_blob = json.dumps({"data": payload["data"]}, sort_keys=True, separators=(",", ":"))
    assert cfg.data_fingerprint() == hashlib.sha256(data_blob.encode()).hexdigest()[:12]
    assert cfg.fingerprint("data") == cfg.data_fingerprint() != cfg.fingerprint()
    sections = ("data", "srcnn", "train")
    srcnn_blob = json.dumps({n: payload[n] for n in sections}, sort_keys=True, separators=(",", ":"))
    assert cfg.model_fingerprint("srcnn") == hashlib.sha256(srcnn_blob.encode()).hexdigest()[:12]


def test_local_roots_stay_local(tmp_path):
    cfg = PipelineConfig(data_dir=tmp_path / "d", reports_dir=tmp_path / "r")
    assert (cfg.data_dir, cfg.reports_dir, cfg.data_url, cfg.reports_url) == (tmp_path / "d", tmp_path / "r",
                                                                              None, None)
    assert cfg.data_root == str(tmp_path / "d") and cfg.reports_root == str(tmp_path / "r")
    default = PipelineConfig()
    assert (default.data_dir, default.reports_dir) == (Path("data"), Path("reports"))


def test_environment_roots_are_the_defaults(monkeypatch, tmp_path):
    monkeypatch.setenv("SRBENCH_DATA_DIR", str(tmp_path / "envd"))
    monkeypatch.setenv("SRBENCH_REPORTS_DIR", str(tmp_path / "envr"))
    cfg = PipelineConfig()
    assert (cfg.data_dir, cfg.reports_dir) == (tmp_path / "envd", tmp_path / "envr")
    assert PipelineConfig(data_dir=tmp_path / "given").data_dir == tmp_path / "given"


def test_url_roots_become_a_shared_url_and_a_local_scratch(tmp_path):
    scratch = tmp_path / "xdg" / "srbench"
    cfg = PipelineConfig(data_dir="s3://bucket/data", reports_dir="gs://bucket/reports")
    assert (cfg.data_url, cfg.data_dir) == ("s3://bucket/data", scratch)
    assert (cfg.reports_url, cfg.reports_dir) == ("gs://bucket/reports", scratch / "reports")
    assert cfg.data_root == "s3://bucket/data" and cfg.reports_root == "gs://bucket/reports"
    local_reports = PipelineConfig(data_dir="s3://b/d", reports_dir=tmp_path / "r")
    assert (local_reports.reports_url, local_reports.reports_dir) == (None, tmp_path / "r")
    assert not config._is_url(None) and not config._is_url("/a/b:c") and config._is_url("file:///a")
    assert PipelineConfig.model_validate(cfg) == cfg  # a built config passes through unchanged


def test_a_scratch_dir_makes_a_local_data_dir_shared(monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    monkeypatch.setenv("SRBENCH_SCRATCH_DIR", str(scratch))
    assert config.default_scratch_dir() == scratch
    cfg = PipelineConfig(data_dir=tmp_path / "team")
    assert (cfg.data_url, cfg.data_dir) == (str((tmp_path / "team").resolve()), scratch)
    same = PipelineConfig(data_dir=scratch)  # the scratch itself is not a shared root
    assert (same.data_url, same.data_dir) == (None, scratch)
    kept = PipelineConfig(data_dir=tmp_path / "x", data_url="s3://b/d")  # already split: kept
    assert (kept.data_url, kept.data_dir) == ("s3://b/d", tmp_path / "x")


def test_default_scratch_dir_without_the_variable(monkeypatch, tmp_path):
    assert config.default_scratch_dir() == tmp_path / "xdg" / "srbench"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config.default_scratch_dir() == tmp_path / "home" / ".cache" / "srbench"
    monkeypatch.setenv("SRBENCH_SCRATCH_DIR", "~/s")
    assert config.default_scratch_dir() == tmp_path / "home" / "s"


def test_config_files(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("preset: smoke\nsrcnn: {steps: 20}\n")
    assert read_config_file(path) == {"preset": "smoke", "srcnn": {"steps": 20}}
    path.write_text("")
    assert read_config_file(path) == {}
    path.write_text("- a\n- b\n")
    with pytest.raises(ValueError, match=rf"config file {path} must be a mapping .* not a list"):
        read_config_file(path)
    path.write_text("preset: fast\n")
    with pytest.raises(ValueError, match=rf"config file {path}: unknown preset 'fast'; choose one of smoke, quick"):
        read_config_file(path)
    path.write_text("a: [1,\n")
    with pytest.raises(ValueError, match=rf"config file {path} cannot be read: "):
        read_config_file(path)
    with pytest.raises(ValueError, match=rf"config file {tmp_path / 'none.yaml'} does not exist"):
        read_config_file(tmp_path / "none.yaml")


def test_seed_crops_map_the_seed_indices_to_div2k_ids():
    crops = config._seed_div2k_crops()
    assert [c.name for c in crops] == [f"seed{n}" for n in range(1, 11)]
    assert [c.image_id for c in crops] == [config._SEED_INDEX_TO_ID[i] for i, *_ in config._SEED_DIV2K_CROPS]
    assert [(c.top, c.left, c.height, c.width) for c in crops] == [tuple(t[1:]) for t in config._SEED_DIV2K_CROPS]
