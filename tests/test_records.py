"""Patch TFRecords: written from real images, read back, checked against the manifest."""

from __future__ import annotations

import numpy as np
import pytest

from sr_core import layout
from sr_core.config import load_config
from sr_core.records import (
    PatchDataError,
    iter_patch_records,
    load_patches,
    patch_dataset,
    prepare_patches,
    read_manifest,
    verify_shards,
)
from sr_core.resize import downscale


@pytest.fixture(scope="module")
def smoke_patches(tmp_path_factory):
    cfg = load_config("smoke", data_dir=tmp_path_factory.mktemp("records") / "data")
    calls = []
    patch_dir = prepare_patches(cfg, progress=lambda done, total, msg: calls.append((done, total, msg)))
    return cfg, patch_dir, calls


def test_prepare_writes_shards_and_manifest(smoke_patches):
    cfg, patch_dir, calls = smoke_patches
    assert patch_dir == layout.patches_dir(cfg)
    manifest = read_manifest(patch_dir)
    train, val = manifest["splits"]["train"], manifest["splits"]["validation"]
    assert train["count"] == cfg.data.patches_per_image * cfg.data.max_train_images
    assert val["count"] == cfg.data.val_patches_per_image * cfg.data.max_val_images
    assert [s["file"] for s in train["shards"]] == ["train-00000-of-00002.tfrecord",
                                                   "train-00001-of-00002.tfrecord"]
    assert sum(s["records"] for s in train["shards"]) == train["count"]
    assert manifest["fingerprint"] == cfg.data_fingerprint()
    assert manifest["data_config"]["hr_patch_size"] == 32 and manifest["lr_patch_size"] == 8
    assert verify_shards(patch_dir) == {"train": train["count"], "validation": val["count"]}
    assert calls and calls[-1][0] == calls[-1][1]  # progress ends at done == total


def test_records_are_aligned_uint8_patches(smoke_patches):
    cfg, patch_dir, _ = smoke_patches
    records = list(iter_patch_records(patch_dir, "train"))
    assert len(records) == 8
    for rec in records:
        assert rec["lr"].shape == (8, 8, 3) and rec["hr"].shape == (32, 32, 3)
        assert rec["lr"].dtype == np.uint8
        # The LR patch is the MATLAB degradation of its HR patch. The x4 kernel reaches 2 LR pixels
        # beyond a pixel, so the outer 2-pixel ring sees other neighbours in the crop than in the
        # whole image; the interior must match exactly.
        lr_again = downscale(rec["hr"], 4).astype(int)
        assert np.array_equal(lr_again[2:-2, 2:-2], rec["lr"][2:-2, 2:-2])


def test_patch_dataset_batches_float32(smoke_patches):
    _, patch_dir, _ = smoke_patches
    ds = patch_dataset(patch_dir, "train", batch_size=4, shuffle_buffer=8, seed=1)
    lr, hr = next(iter(ds))
    assert lr.shape == (4, 8, 8, 3) and hr.shape == (4, 32, 32, 3)
    assert lr.dtype.name == "float32" and float(hr.numpy().max()) <= 255.0
    lr_v, hr_v = load_patches(patch_dir, "validation")
    assert lr_v.shape == (2, 8, 8, 3) and hr_v.shape == (2, 32, 32, 3) and lr_v.dtype == np.uint8


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(PatchDataError, match="srbench prepare"):
        read_manifest(tmp_path)
