"""Patch TFRecords: written from real images, read back, checked against the manifest."""

from __future__ import annotations

import os
from pathlib import Path

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
    assert lr_v.shape == (4, 8, 8, 3) and hr_v.shape == (4, 32, 32, 3) and lr_v.dtype == np.uint8
    assert load_patches(patch_dir, "validation", limit=3)[1].shape == (3, 32, 32, 3)


def test_missing_manifest_is_a_clear_error(tmp_path):
    with pytest.raises(PatchDataError, match="srbench prepare"):
        read_manifest(tmp_path)


def _shard_bytes(patch_dir):
    return {p.name: p.read_bytes() for p in sorted(patch_dir.glob("*.tfrecord"))}


def test_same_config_and_seed_give_byte_identical_shards(smoke_patches, tmp_path):
    import subprocess
    import sys

    cfg, patch_dir, _ = smoke_patches
    # In another process: protobuf map order, hash seeds etc. must not leak into the bytes.
    code = ("import sys; from sr_core.config import load_config; from sr_core.records import prepare_patches; "
            "print(prepare_patches(load_config('smoke', data_dir=sys.argv[1])))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "elsewhere")], check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "123"})
    again = Path(out.stdout.strip().splitlines()[-1])
    assert again != patch_dir and again.name == patch_dir.name
    assert _shard_bytes(again) == _shard_bytes(patch_dir)
    other_seed = prepare_patches(load_config("smoke", ["data.seed=1"], data_dir=tmp_path / "elsewhere"))
    assert other_seed.name != patch_dir.name
    assert _shard_bytes(other_seed) != _shard_bytes(patch_dir)


def test_complete_directory_is_reused_not_rebuilt(smoke_patches):
    cfg, patch_dir, _ = smoke_patches
    before = {p.name: p.stat().st_mtime_ns for p in patch_dir.iterdir()}
    calls = []
    assert prepare_patches(cfg, progress=lambda *a: calls.append(a)) == patch_dir
    assert {p.name: p.stat().st_mtime_ns for p in patch_dir.iterdir()} == before
    assert len(calls) == 1 and calls[0][2].startswith("reused")
    assert not list(patch_dir.parent.glob(".*tmp*"))  # no temp dirs left behind


def test_incomplete_directory_is_rebuilt(tmp_path):
    cfg = load_config("smoke", data_dir=tmp_path / "data")
    half = layout.patches_dir(cfg)
    half.mkdir(parents=True)
    (half / "train-00000-of-00002.tfrecord").write_bytes(b"half written")  # no manifest
    assert prepare_patches(cfg) == half
    assert verify_shards(half)["train"] == 8


def test_corrupt_or_truncated_shard_is_named(tmp_path):
    cfg = load_config("smoke", data_dir=tmp_path / "data")
    patch_dir = prepare_patches(cfg)
    shard = patch_dir / "train-00001-of-00002.tfrecord"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(PatchDataError, match=r"train-00001-of-00002\.tfrecord.*sha256") as err:
        verify_shards(patch_dir)
    assert "srbench prepare" in str(err.value) and str(patch_dir) in str(err.value)
    with pytest.raises(PatchDataError, match="train-00001-of-00002"):
        patch_dataset(patch_dir, "train", batch_size=2)
    shard.write_bytes(bytes(data[: len(data) // 2]))  # truncated
    with pytest.raises(PatchDataError, match=r"train-00001-of-00002\.tfrecord.*bytes"):
        verify_shards(patch_dir)
    # prepare notices the damage and rebuilds the directory from scratch
    assert prepare_patches(cfg) == patch_dir
    assert verify_shards(patch_dir)["train"] == 8


def test_record_count_mismatch_is_detected(tmp_path):
    import json

    patch_dir = prepare_patches(load_config("smoke", data_dir=tmp_path / "data"))
    manifest_path = patch_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["splits"]["train"]["shards"][0]["records"] += 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(PatchDataError, match=r"train-00000-of-00002\.tfrecord.*records, manifest says"):
        verify_shards(patch_dir)


def test_folder_source_patches_are_aligned_and_flat_ones_rejected(tmp_path):
    from sr_core.images import read_image, write_image

    rng = np.random.default_rng(3)
    folder = tmp_path / "photos"
    for i in range(3):
        img = np.full((64, 96, 3), 90, np.uint8)  # flat left half ...
        img[:, 48:] = rng.integers(0, 256, (64, 48, 3))  # ... textured right half
        write_image(folder / f"p{i}.png", img)
    cfg = load_config("smoke", ["data.flat_patch_std=5", "data.patches_per_image=6", "data.num_shards=3"],
                      dataset=f"folder:{folder}", data_dir=tmp_path / "data")
    patch_dir = prepare_patches(cfg)
    manifest = read_manifest(patch_dir)
    assert manifest["source"]["kind"] == "folder"
    assert manifest["splits"]["train"]["count"] == 12 and manifest["splits"]["validation"]["count"] == 4
    for rec in iter_patch_records(patch_dir, "train"):
        assert rec["hr"].astype(float).std() >= 5  # flat patches were rejected
        assert rec["image_id"] in {"p0", "p1"}
        lr_again = downscale(rec["hr"], 4).astype(int)
        assert np.abs(lr_again[2:-2, 2:-2] - rec["lr"][2:-2, 2:-2]).max() <= 1
        # The record's position reproduces it from the source image
        src = read_image(folder / f"{rec['image_id']}.png")
        y, x = 4 * rec["y"], 4 * rec["x"]
        assert np.array_equal(src[y:y + 32, x:x + 32], rec["hr"])


def test_augmentation_applies_the_same_transform_to_lr_and_hr(smoke_patches):
    _, patch_dir, _ = smoke_patches
    ds = patch_dataset(patch_dir, "train", batch_size=8, shuffle_buffer=1, augment=True, seed=3)
    plain = patch_dataset(patch_dir, "train", batch_size=8, shuffle_buffer=1, augment=False)
    lr, hr = (t.numpy() for t in next(iter(ds)))
    lr0, hr0 = (t.numpy() for t in next(iter(plain)))
    changed = 0
    for i in range(8):
        # Find which of the 8 flips/rotations turned the plain HR into the augmented one ...
        variants = _dihedral(hr0[i])
        k = next(k for k, v in enumerate(variants) if np.array_equal(v, hr[i]))
        changed += k != 0
        # ... and check that the LR went through the very same one.
        assert np.array_equal(_dihedral(lr0[i])[k], lr[i])
    assert changed > 0


def test_augmentation_draws_all_eight_transforms(smoke_patches):
    """Over 256 augmented pairs every flip/rotation turns up (a draw of 2 kinds, or a table whose
    rows coincide, would not), and each lookup row is the numpy transform it stands for."""
    from sr_core.records import _dihedral_table

    img = np.arange(5 * 5).reshape(5, 5)
    expected = [img[:, ::-1] if t & 1 else img for t in range(8)]
    expected = [e[::-1] if t & 2 else e for t, e in enumerate(expected)]
    expected = [e.T if t & 4 else e for t, e in enumerate(expected)]
    table = _dihedral_table(5)
    assert table.shape == (8, 25) and table.dtype == np.int32
    for t in range(8):
        np.testing.assert_array_equal(img.reshape(-1)[table[t]].reshape(5, 5), expected[t])
    assert len({tuple(row) for row in table}) == 8

    _, patch_dir, _ = smoke_patches
    ds = patch_dataset(patch_dir, "train", batch_size=8, shuffle_buffer=1, augment=True, seed=5)
    plain = patch_dataset(patch_dir, "train", batch_size=8, shuffle_buffer=1, augment=False)
    kinds = set()
    for (_, hr), (_, hr0) in zip(ds.take(32), plain.take(32)):
        for a, b in zip(hr.numpy(), hr0.numpy()):
            matches = {k for k, v in enumerate(_dihedral(b)) if np.array_equal(v, a)}
            assert matches, "an augmented patch is none of the 8 flips/rotations of its source"
            if len(matches) == 1:
                kinds |= matches
    assert len(kinds) == 8


def _dihedral(img):
    out = []
    for t in (False, True):
        base = img.transpose(1, 0, 2) if t else img
        for ud in (False, True):
            for lrf in (False, True):
                v = base[::-1] if ud else base
                out.append(v[:, ::-1] if lrf else v)
    return out


def test_patch_dataset_works_under_tf_distribute(smoke_patches):
    import tensorflow as tf

    _, patch_dir, _ = smoke_patches
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    dist = strategy.experimental_distribute_dataset(patch_dataset(patch_dir, "train", batch_size=4))
    lr, hr = next(iter(dist))
    assert tuple(lr.shape) == (4, 8, 8, 3) and tuple(hr.shape) == (4, 32, 32, 3)


def test_div2k_patches_use_the_datasets_own_lr_under_tfds_mock(tmp_path):
    """prepare_patches through the real div2k loading code, on tfds.testing.mock_data examples."""
    import cv2
    import tensorflow as tf
    import tensorflow_datasets as tfds

    rng = np.random.default_rng(7)
    images = {}
    for split in ("train", "validation"):
        for i in range(2):
            hr = rng.integers(0, 200, (64, 48, 3), dtype=np.uint8)
            lr = downscale(hr, 4) + 7  # not the bicubic LR: proves the dataset's LR is used
            images[f"{split}-{i:04d}"] = (hr, lr)

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False, **_):
        enc = lambda a: cv2.imencode(".png", a[:, :, ::-1])[1].tobytes()  # noqa: E731
        pairs = [images[f"{split}-{i:04d}"] for i in range(2)]
        return tf.data.Dataset.from_tensor_slices({"hr": [enc(h) for h, _ in pairs],
                                                   "lr": [enc(lr) for _, lr in pairs]})

    cfg = load_config("smoke", dataset="div2k", data_dir=tmp_path / "data")
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        patch_dir = prepare_patches(cfg)
    manifest = read_manifest(patch_dir)
    assert patch_dir.name.startswith("div2k-") and manifest["source"]["builder"] == "div2k/bicubic_x4"
    assert manifest["splits"]["train"]["count"] == 8 and manifest["splits"]["validation"]["count"] == 4
    for split in ("train", "validation"):
        for rec in iter_patch_records(patch_dir, split):
            hr, lr = images[rec["image_id"]]
            y, x = rec["y"], rec["x"]
            assert np.array_equal(rec["lr"], lr[y:y + 8, x:x + 8])
            assert np.array_equal(rec["hr"], hr[4 * y:4 * y + 32, 4 * x:4 * x + 32])


def test_changed_folder_contents_rebuild_the_patches(tmp_path):
    from sr_core.images import write_image

    folder = tmp_path / "photos"
    rng = np.random.default_rng(5)
    for i in range(2):
        write_image(folder / f"p{i}.png", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    cfg = load_config("smoke", dataset=f"folder:{folder}", data_dir=tmp_path / "data")
    first = prepare_patches(cfg)
    assert read_manifest(first)["splits"]["train"]["image_list"][0]["image_id"] == "p0"
    write_image(folder / "a_new.png", rng.integers(0, 256, (40, 40, 3), dtype=np.uint8))
    second = prepare_patches(cfg)
    assert second == first  # same config, same directory ...
    ids = [i["image_id"] for i in read_manifest(second)["splits"]["train"]["image_list"]]
    assert ids == ["a_new", "p0"]  # ... rebuilt from the new folder contents


def test_failures_leave_nothing_half_written(tmp_path):
    from sr_core.images import write_image
    from sr_core.sources import SourceError

    (tmp_path / "empty").mkdir()
    cfg = load_config("smoke", dataset=f"folder:{tmp_path / 'empty'}", data_dir=tmp_path / "data")
    with pytest.raises(SourceError, match="holds no images"):
        prepare_patches(cfg)
    # every image too small for a patch: the error comes after shards were opened
    small = tmp_path / "small"
    for i in range(3):
        write_image(small / f"s{i}.png", np.zeros((16, 16, 3), np.uint8))
    cfg = load_config("smoke", dataset=f"folder:{small}", data_dir=tmp_path / "data")
    with pytest.raises(PatchDataError, match="no usable train images"):
        prepare_patches(cfg)
    patches = tmp_path / "data" / "patches"
    assert not patches.exists() or list(patches.iterdir()) == []


def test_uncompressed_shards_hold_the_same_pairs_and_old_manifests_read_as_gzip(smoke_patches, tmp_path):
    """``data.compression=none`` writes plain TFRecords (readable without GZIP) in their own folder,
    with the same pairs as the GZIP ones; a manifest written before the setting existed (no
    ``compression`` key) is read as GZIP; an unknown value is a named error."""
    import json

    import tensorflow as tf

    from sr_core.records import compression

    cfg, gz_dir, _ = smoke_patches
    none_cfg = load_config("smoke", ["data.compression=none"], data_dir=tmp_path / "data")
    raw_dir = prepare_patches(none_cfg)
    manifest = read_manifest(raw_dir)
    assert raw_dir.name != gz_dir.name and manifest["compression"] == "NONE" and compression(manifest) == ""
    assert read_manifest(gz_dir)["compression"] == "GZIP"
    shard = raw_dir / manifest["splits"]["train"]["shards"][0]["file"]
    assert sum(1 for _ in tf.data.TFRecordDataset(str(shard))) == manifest["splits"]["train"]["shards"][0]["records"]
    with pytest.raises(tf.errors.DataLossError):
        list(tf.data.TFRecordDataset(str(shard), compression_type="GZIP"))
    assert verify_shards(raw_dir) == verify_shards(gz_dir)
    key = lambda r: (r["image_id"], r["y"], r["x"])  # noqa: E731
    for split in ("train", "validation"):
        ours = sorted(iter_patch_records(raw_dir, split), key=key)
        theirs = sorted(iter_patch_records(gz_dir, split), key=key)
        assert [key(r) for r in ours] == [key(r) for r in theirs]
        assert all(np.array_equal(a["hr"], b["hr"]) and np.array_equal(a["lr"], b["lr"]) for a, b in zip(ours, theirs))
    lr, hr = next(iter(patch_dataset(raw_dir, "train", batch_size=4, augment=False, shuffle_buffer=1)))
    assert lr.shape == (4, 8, 8, 3) and hr.dtype == tf.float32

    legacy = dict(read_manifest(gz_dir))
    del legacy["compression"]
    assert compression(legacy) == "GZIP"
    with pytest.raises(PatchDataError, match="manifest compression 'ZLIB' is not GZIP or NONE"):
        compression({**legacy, "compression": "ZLIB"})
    assert json.loads((raw_dir / "manifest.json").read_text())["data_config"]["compression"] == "none"
