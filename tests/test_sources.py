"""Image sources: sample split, folder rules and bad input, and the real div2k loading code offline."""

from __future__ import annotations

import logging
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from sr_core import sources
from sr_core.config import load_config
from sr_core.images import write_image
from sr_core.resize import downscale
from sr_core.sources import (
    SAMPLE_SPLITS,
    DatasetUnavailableError,
    ImageRecord,
    SourceError,
    div2k_id_order,
    ensure_dataset,
    iter_pairs,
    open_source,
)


def _photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 / max(w - 1, 1), y * 255 / max(h - 1, 1), (x + y) % 256], axis=2)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def _cfg(tmp_path: Path, dataset: str, *overrides: str):
    return load_config("smoke", list(overrides), dataset=dataset, data_dir=tmp_path / "data")


# ---------------------------------------------------------------------------------------------- sample


def test_sample_split_is_fixed_and_disjoint():
    assert SAMPLE_SPLITS["train"] == ("astronaut", "coffee", "hubble_deep_field", "immunohistochemistry",
                                      "retina")
    assert SAMPLE_SPLITS["validation"] == ("chelsea", "rocket")
    source = open_source(load_config("smoke"))
    assert source.name == "sample"
    assert source.image_ids("validation") == ["chelsea", "rocket"]
    assert source.describe()["splits"]["train"][0] == "astronaut"


def test_iter_pairs_degrades_sample_images(smoke_config):
    pairs = list(iter_pairs(smoke_config, "validation", limit=1))
    assert [p.image_id for p in pairs] == ["chelsea"]
    hr, lr = pairs[0].hr, pairs[0].lr
    assert hr.shape == (300, 448, 3)  # chelsea is 300x451: modcropped to multiples of 4
    assert lr.shape == (75, 112, 3) and lr.dtype == np.uint8
    assert np.array_equal(lr, downscale(hr, 4))


# ---------------------------------------------------------------------------------------------- folder


def test_folder_split_every_tenth_file(tmp_path):
    for i in range(12):
        write_image(tmp_path / "hr" / f"img{i:02d}.png", _photo(40, 36, i))
    source = open_source(_cfg(tmp_path, f"folder:{tmp_path / 'hr'}"))
    assert source.image_ids("validation") == ["img09"]
    assert len(source.image_ids("train")) == 11 and "img09" not in source.image_ids("train")
    pairs = list(iter_pairs(_cfg(tmp_path, f"folder:{tmp_path / 'hr'}"), "validation"))
    assert pairs[0].hr.shape == (40, 36, 3) and pairs[0].lr.shape == (10, 9, 3)


def test_folder_small_sets_hold_out_the_last_file_and_subfolders_win(tmp_path):
    for name in ("b.png", "a.jpg", "c.bmp"):
        write_image(tmp_path / "few" / name, _photo(32, 32))
    few = open_source(_cfg(tmp_path, f"folder:{tmp_path / 'few'}"))
    assert few.image_ids("train") == ["a", "b"] and few.image_ids("validation") == ["c"]

    write_image(tmp_path / "split" / "train" / "t1.png", _photo(32, 32))
    write_image(tmp_path / "split" / "val" / "v1.png", _photo(32, 32))
    split = open_source(_cfg(tmp_path, f"folder:{tmp_path / 'split'}"))
    assert split.image_ids("train") == ["t1"] and split.image_ids("validation") == ["v1"]
    assert split.describe()["split_rule"] == "subfolders"


def test_folder_bad_files_and_tiny_images_are_logged_skips(tmp_path, caplog):
    folder = tmp_path / "mixed"
    write_image(folder / "good.png", _photo(40, 40))
    write_image(folder / "tiny.png", _photo(20, 40))  # smaller than the 32px smoke HR patch
    (folder / "notes.png").write_text("this is not a picture")
    (folder / "readme.txt").write_text("ignored: not an image suffix")
    write_image(folder / "zz_val.png", _photo(40, 40))
    cfg = _cfg(tmp_path, f"folder:{folder}")
    with caplog.at_level(logging.WARNING):
        pairs = list(iter_pairs(cfg, "train"))
    assert [p.image_id for p in pairs] == ["good"]
    text = caplog.text
    assert "notes.png" in text and "tiny" in text and "smaller than one 32x32 HR patch" in text


def test_iter_pairs_with_ids_reads_only_those_images(tmp_path, caplog):
    folder = tmp_path / "mixed"
    write_image(folder / "good.png", _photo(40, 40))
    (folder / "notes.png").write_text("this is not a picture")
    write_image(folder / "zz_val.png", _photo(40, 40))
    cfg = _cfg(tmp_path, f"folder:{folder}")
    with caplog.at_level(logging.WARNING):
        pairs = list(iter_pairs(cfg, "train", ids=["good"]))
    assert [p.image_id for p in pairs] == ["good"]
    assert "notes.png" not in caplog.text  # the unwanted (corrupt) file was never opened
    assert [p.image_id for p in iter_pairs(load_config("smoke"), "validation", ids=["rocket"])] == ["rocket"]


def test_folder_empty_missing_or_single_image_is_a_clear_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(SourceError, match="holds no images"):
        list(iter_pairs(_cfg(tmp_path, f"folder:{tmp_path / 'empty'}"), "train"))
    with pytest.raises(SourceError, match="does not exist"):
        open_source(_cfg(tmp_path, f"folder:{tmp_path / 'nope'}"))
    write_image(tmp_path / "one" / "only.png", _photo(40, 40))
    cfg = _cfg(tmp_path, f"folder:{tmp_path / 'one'}")
    assert [p.image_id for p in iter_pairs(cfg, "train")] == ["only"]
    with pytest.raises(SourceError, match="single image"):
        list(iter_pairs(cfg, "validation"))


def test_paired_folders_match_by_stem_and_check_shapes(tmp_path, caplog):
    for stem in ("0001", "0002", "0003"):
        hr = _photo(48, 64, int(stem))
        write_image(tmp_path / "HR" / f"{stem}.png", hr)
        if stem != "0002":  # 0002 has no LR partner
            # A deliberately different LR (not the bicubic one) proves the paired LR is used as is.
            write_image(tmp_path / "LR" / f"{stem}x4.png", np.full((12, 16, 3), int(stem), np.uint8))
    cfg = _cfg(tmp_path, f"folder:{tmp_path / 'HR'},{tmp_path / 'LR'}")
    with caplog.at_level(logging.WARNING):
        train = list(iter_pairs(cfg, "train"))
    assert [p.image_id for p in train] == ["0001"]
    assert "0002" in caplog.text and "no LR partner" in caplog.text
    assert np.all(train[0].lr == 1) and train[0].hr.shape == (48, 64, 3)

    write_image(tmp_path / "LR" / "0003x4.png", np.zeros((10, 16, 3), np.uint8))  # wrong size
    with pytest.raises(SourceError, match="0003.*not 4x larger"):
        list(iter_pairs(cfg, "validation"))


def test_normalise_pair_modcrops_hr_to_lr_times_scale():
    hr = _photo(50, 43)
    lr = downscale(hr, 4)
    out = sources._normalise_pair(ImageRecord("x", hr, lr), 4, "test")
    assert out.hr.shape == (48, 40, 3) and out.lr.shape == (12, 10, 3)


# ---------------------------------------------------------------------------------------------- div2k


def _encoded_pairs(n: int):
    import cv2

    examples = []
    for i in range(n):
        hr = _photo(64, 48, i)
        lr = downscale(hr, 4)
        lr[0, 0] = (i, 0, 0)  # marks the dataset's own LR
        encode = lambda a: cv2.imencode(".png", a[:, :, ::-1])[1].tobytes()  # noqa: E731
        examples.append((encode(hr), encode(lr)))
    return examples


def test_div2k_loading_code_under_tfds_mock_data(tmp_path):
    """Runs Div2kSource's real tfds path (builder, as_dataset, decoding, pairing) on mocked data."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    examples = _encoded_pairs(3)
    seen = {}

    def as_dataset(self, split, decoders=None, read_config=None, shuffle_files=False, **_):
        seen.update(name=self.name, config=self.builder_config.name, split=split)
        ids = [f"div2k-{split}.tfrecord-00000-of-00001__{i}" for i in range(len(examples))]
        return tf.data.Dataset.from_tensor_slices({
            "hr": [hr for hr, _ in examples], "lr": [lr for _, lr in examples], "tfds_id": ids})

    cfg = _cfg(tmp_path, "div2k")
    with tfds.testing.mock_data(as_dataset_fn=as_dataset):
        pairs = list(iter_pairs(cfg, "validation"))
    assert seen["name"] == "div2k" and seen["config"] == "bicubic_x4" and seen["split"] == "validation"
    assert len(pairs) == 3
    for i, pair in enumerate(pairs):
        assert pair.hr.shape == (64, 48, 3) and pair.lr.shape == (16, 12, 3)
        assert tuple(pair.lr[0, 0]) == (i, 0, 0)  # the dataset's LR, not a re-degraded one
    # Without split metadata (the mock has none) ids fall back to the stored position.
    assert [p.image_id for p in pairs] == ["validation-0000", "validation-0001", "validation-0002"]


def test_div2k_random_mock_shapes_give_an_error_naming_the_image(tmp_path):
    """tfds' default mock makes random LR/HR sizes that are not x4: that must be a clear error."""
    import tensorflow_datasets as tfds

    cfg = _cfg(tmp_path, "div2k", "data.hr_patch_size=8")
    with tfds.testing.mock_data(num_examples=2, policy=tfds.testing.MockPolicy.USE_CODE):
        with pytest.raises(SourceError, match=r"div2k image validation-0000: LR is \d+x\d+ but HR"):
            list(iter_pairs(cfg, "validation"))


def _fake_div2k_download(root: Path) -> dict[str, str]:
    """What DIV2K's four zips extract to, with HR pixel (0, 0) encoding the image number."""
    paths = {}
    for key, numbers in (("train", range(1, 6)), ("valid", range(801, 806))):
        lr_dir, hr_root = root / f"{key}_lr", root / f"{key}_hr"
        for n in numbers:
            hr = np.full((32, 48, 3), 128, np.uint8)
            hr[0, 0] = (n // 256, n % 256, 0)
            write_image(hr_root / f"DIV2K_{key}_HR" / f"{n:04d}.png", hr)
            write_image(lr_dir / f"{n:04d}x4.png", downscale(hr, 4))
        paths[f"{key}_lr_url"], paths[f"{key}_hr_url"] = str(lr_dir), str(hr_root)
    return paths


def test_div2k_real_builder_on_fake_download_keeps_div2k_numbering(tmp_path):
    """tfds' own div2k builder and writer prepare fake files; the ids we derive must be DIV2K's."""
    import tensorflow_datasets as tfds

    paths = _fake_div2k_download(tmp_path / "extracted")
    cfg = _cfg(tmp_path, "div2k", "data.hr_patch_size=8")
    with mock.patch.object(tfds.download.DownloadManager, "download_and_extract", return_value=paths), \
            mock.patch.object(sources, "_reachable", return_value=True):
        result = ensure_dataset(cfg)
    assert result["action"] == "prepared" and result["splits"] == {"train": 5, "validation": 5}
    assert ensure_dataset(cfg)["action"] == "reused"

    source = open_source(cfg)
    assert source.image_ids("validation") == ["0801", "0802", "0803", "0804", "0805"]
    records = list(source.iter_images("validation"))
    stored_order = [r.image_id for r in records]
    assert stored_order == div2k_id_order("validation", 5)
    assert stored_order != sorted(stored_order)  # tfds really does store them shuffled
    for record in records:
        encoded = int(record.hr[0, 0, 0]) * 256 + int(record.hr[0, 0, 1])
        assert f"{encoded:04d}" == record.image_id
    picked = list(iter_pairs(cfg, "train", ids=["0004"]))
    assert [p.image_id for p in picked] == ["0004"] and picked[0].hr[0, 0, 1] == 4


def test_div2k_download_failure_names_the_data_dir_and_how_to_preseed(tmp_path):
    cfg = _cfg(tmp_path, "div2k")
    with mock.patch.object(sources, "_reachable", return_value=False):
        with pytest.raises(DatasetUnavailableError) as err:
            ensure_dataset(cfg)
    message = str(err.value)
    assert str(tmp_path / "data" / "tfds") in message
    assert "tensorflow_datasets/div2k" in message and "DIV2K_train_HR.zip" in message
    assert "downloads/manual" in message


def test_div2k_not_prepared_says_run_download(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="srbench download"):
        list(iter_pairs(_cfg(tmp_path, "div2k"), "validation"))


def test_other_sources_need_no_download(smoke_config):
    assert ensure_dataset(smoke_config)["action"] == "none"


def test_folder_duplicate_stems_keep_one_file(tmp_path, caplog):
    write_image(tmp_path / "d" / "a.png", _photo(40, 40))
    write_image(tmp_path / "d" / "a.jpg", _photo(40, 40))
    write_image(tmp_path / "d" / "b.png", _photo(40, 40))
    with caplog.at_level(logging.WARNING):
        source = open_source(_cfg(tmp_path, f"folder:{tmp_path / 'd'}"))
        assert source.image_ids("train") == ["a"] and source.image_ids("validation") == ["b"]
    assert "a.png" in caplog.text and "same name" in caplog.text
