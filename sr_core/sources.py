"""Image sources behind one interface: ``sample``, ``folder:PATH[,LR_PATH]`` and ``div2k``.

A source yields :class:`ImageRecord` s (``image_id``, HR uint8 RGB, LR uint8 RGB or ``None``) for the
splits ``"train"`` and ``"validation"``. :func:`iter_pairs` is what the rest of srbench uses: it fills
in missing LR images with the MATLAB bicubic degradation (:func:`sr_core.resize.downscale`), modcrops
HR so that ``HR.shape == LR.shape * scale``, and skips (with a logged warning) images smaller than one
HR patch.

Splits:

* ``sample``: scikit-image's bundled colour photos, split once and for all (``SAMPLE_SPLITS``).
* ``folder:PATH``: if ``PATH`` has ``train/`` and ``validation/`` (or ``valid/``, ``val/``)
  subfolders, those are the splits. Otherwise the image files are sorted by name and every 10th file
  (the 10th, 20th, ...) is held out for validation -- or, with fewer than 10 files, the last one.
  A folder needs at least 2 images to have a validation split. ``folder:HR,LR`` pairs files by stem
  (``0801.png`` with ``0801.png`` or DIV2K's ``0801x4.png``); an HR file with no LR partner is skipped.
* ``div2k``: tfds ``div2k/bicubic_x4`` splits ``train`` (ids ``0001``..``0800``) and
  ``validation`` (``0801``..``0900``), using the dataset's own MATLAB-made LR images.
"""

from __future__ import annotations

import hashlib
import logging
import socket
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np

from sr_core import layout
from sr_core.config import PipelineConfig
from sr_core.images import IMAGE_SUFFIXES, ImageReadError, decode_image, is_image_file, read_image
from sr_core.resize import downscale, modcrop

log = logging.getLogger(__name__)

Split = Literal["train", "validation"]
SPLITS: tuple[str, ...] = ("train", "validation")

# The fixed split of scikit-image's bundled colour photos (names are ``skimage.data`` functions).
SAMPLE_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("astronaut", "coffee", "hubble_deep_field", "immunohistochemistry", "retina"),
    "validation": ("chelsea", "rocket"),
}

# Subfolder names accepted for a folder source's splits.
_SPLIT_FOLDERS = {"train": ("train", "training"), "validation": ("validation", "valid", "val")}


_SUFFIX_LIST = "/".join(s[1:] for s in IMAGE_SUFFIXES)


class SourceError(ValueError):
    """An image source cannot be used as configured; the message says what to do."""


class DatasetUnavailableError(RuntimeError):
    """A dataset is not on disk and could not be downloaded; the message says how to pre-seed it."""


@dataclass(frozen=True, eq=False)
class ImageRecord:
    """One image of a split: HR is uint8 (H, W, 3) RGB; LR is its degraded version, or None."""

    image_id: str
    hr: np.ndarray
    lr: np.ndarray | None


class ImageSource(Protocol):
    name: str

    def iter_images(self, split: Split, ids: Collection[str] | None = None) -> Iterator[ImageRecord]:
        """The split's images in a fixed order; with ``ids``, only those (others are not read)."""
        ...

    def image_ids(self, split: Split) -> list[str]: ...

    def describe(self) -> dict: ...


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: use 'train' or 'validation'")


# --------------------------------------------------------------------------------------------------
# sample


class SampleSource:
    """scikit-image's bundled colour photos (offline), with the fixed split ``SAMPLE_SPLITS``."""

    name = "sample"

    def image_ids(self, split: Split) -> list[str]:
        _check_split(split)
        return list(SAMPLE_SPLITS[split])

    def iter_images(self, split: Split, ids: Collection[str] | None = None) -> Iterator[ImageRecord]:
        import skimage.data

        from sr_core.images import to_rgb_uint8

        for name in self.image_ids(split):
            if ids is not None and name not in ids:
                continue
            yield ImageRecord(name, to_rgb_uint8(getattr(skimage.data, name)()), None)

    def describe(self) -> dict:
        import skimage

        return {"name": self.name, "kind": "sample", "skimage_version": skimage.__version__,
                "splits": {k: list(v) for k, v in SAMPLE_SPLITS.items()}, "lr": "MATLAB bicubic of HR",
                "signature": f"skimage-{skimage.__version__}"}


# --------------------------------------------------------------------------------------------------
# folder


def _image_files(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if is_image_file(p)), key=lambda p: p.name)


def _unique_stems(files: list[Path]) -> list[Path]:
    """One file per stem (the stem is the image id): 'a.jpg' wins over a later 'a.png', with a warning."""
    kept: dict[str, Path] = {}
    for path in files:
        if path.stem in kept:
            log.warning("skipping %s: %s has the same name (image id %r)", path, kept[path.stem].name, path.stem)
            continue
        kept[path.stem] = path
    return list(kept.values())


def _signature(files: list[Path]) -> str:
    """Names and sizes of the files a split uses: a changed folder invalidates cached patches."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(f"{path.parent.name}/{path.name}:{path.stat().st_size}\n".encode())
    return digest.hexdigest()[:16]


def _split_subfolders(root: Path) -> dict[str, Path] | None:
    found = {}
    for split, names in _SPLIT_FOLDERS.items():
        for name in names:
            if (root / name).is_dir():
                found[split] = root / name
                break
    return found if len(found) == 2 else None


class FolderSource:
    """HR images from a folder (LR made by the degradation), or HR/LR pairs from two folders."""

    def __init__(self, spec: str, scale: int):
        if not spec.startswith("folder:"):
            raise SourceError(f"not a folder dataset spec: {spec!r}")
        parts = [p.strip() for p in spec[len("folder:"):].split(",")]
        if len(parts) > 2 or not all(parts):
            raise SourceError(f"dataset {spec!r}: use 'folder:HR_DIR' or 'folder:HR_DIR,LR_DIR'")
        self.spec = spec
        self.scale = scale
        self.hr_root = Path(parts[0]).expanduser()
        self.lr_root = Path(parts[1]).expanduser() if len(parts) == 2 else None
        self.name = layout.dataset_slug(spec)
        for root, what in ((self.hr_root, "HR"), (self.lr_root, "LR")):
            if root is not None and not root.is_dir():
                raise SourceError(f"{what} folder {root} does not exist (dataset {spec!r}): "
                                  "give an existing folder of images")
        self._subfolders = _split_subfolders(self.hr_root)

    # Which HR files belong to a split.
    def _split_files(self, split: Split) -> list[Path]:
        _check_split(split)
        if self._subfolders is not None:
            files = _unique_stems(_image_files(self._subfolders[split]))
            if not files:
                raise SourceError(f"{self._subfolders[split]} holds no images "
                                  f"({_SUFFIX_LIST}): add some")
            return files
        files = _unique_stems(_image_files(self.hr_root))
        if not files:
            raise SourceError(
                f"folder {self.hr_root} holds no images (looked for "
                f"{_SUFFIX_LIST} files): add HR images, or "
                "use train/ and validation/ subfolders")
        held_out = set(files[9::10]) if len(files) >= 10 else {files[-1]}
        if split == "validation":
            if len(files) < 2:
                raise SourceError(f"folder {self.hr_root} has a single image, so there is nothing to hold "
                                  "out for validation: add at least one more image, or use train/ and "
                                  "validation/ subfolders")
            return [f for f in files if f in held_out]
        return [f for f in files if f not in held_out] if len(files) >= 2 else files

    def _lr_folder(self, split: Split) -> Path | None:
        if self.lr_root is None:
            return None
        if self._subfolders is not None:
            sub = _split_subfolders(self.lr_root)
            if sub is not None:
                return sub[split]
        return self.lr_root

    def image_ids(self, split: Split) -> list[str]:
        return [p.stem for p in self._split_files(split)]

    def iter_images(self, split: Split, ids: Collection[str] | None = None) -> Iterator[ImageRecord]:
        lr_folder = self._lr_folder(split)
        lr_by_stem = _index_lr_files(lr_folder, self.scale) if lr_folder is not None else None
        for path in self._split_files(split):
            if ids is not None and path.stem not in ids:
                continue
            lr_path = None
            if lr_by_stem is not None:
                lr_path = lr_by_stem.get(path.stem)
                if lr_path is None:
                    log.warning("skipping %s: no LR partner named %s.* or %sx%d.* in %s", path, path.stem,
                                path.stem, self.scale, lr_folder)
                    continue
            try:
                hr = read_image(path)
                lr = read_image(lr_path) if lr_path is not None else None
            except ImageReadError as exc:
                log.warning("skipping %s", exc)
                continue
            yield ImageRecord(path.stem, hr, lr)

    def describe(self) -> dict:
        files = []
        for root in (self.hr_root, self.lr_root):
            if root is not None:
                for folder in [root, *(p for p in sorted(root.iterdir()) if p.is_dir())]:
                    files.extend(_image_files(folder))
        return {"name": self.name, "kind": "folder", "spec": self.spec, "hr_dir": str(self.hr_root),
                "lr_dir": str(self.lr_root) if self.lr_root else None,
                "split_rule": "subfolders" if self._subfolders else "every 10th sorted file -> validation",
                "lr": "paired files" if self.lr_root else "MATLAB bicubic of HR",
                "signature": _signature(files)}


def _index_lr_files(folder: Path, scale: int) -> dict[str, Path]:
    """LR files by the HR stem they belong to: ``0801.png`` or DIV2K's ``0801x4.png`` -> ``0801``."""
    files = _image_files(folder)
    index = {p.stem: p for p in files}
    suffix = f"x{scale}"
    for path in files:
        if path.stem.lower().endswith(suffix) and len(path.stem) > len(suffix):
            index.setdefault(path.stem[: -len(suffix)], path)
    return index


def iter_benchmark_set(spec: str, scale: int) -> Iterator[ImageRecord]:
    """Every image of a benchmark set folder (``folder:HR`` or ``folder:HR,LR``; no train/validation
    split: Set5 is five test images), as aligned (HR, LR) pairs. Unreadable files and HR images
    without an LR partner are named and skipped, as in :class:`FolderSource`."""
    source = FolderSource(spec, scale)
    files = _unique_stems(_image_files(source.hr_root))
    if not files:
        raise SourceError(f"benchmark set {spec!r}: {source.hr_root} holds no images ({_SUFFIX_LIST})")
    lr_by_stem = _index_lr_files(source.lr_root, scale) if source.lr_root is not None else None
    for path in files:
        lr_path = lr_by_stem.get(path.stem) if lr_by_stem is not None else None
        if lr_by_stem is not None and lr_path is None:
            log.warning("skipping %s: no LR partner named %s.* or %sx%d.* in %s", path, path.stem, path.stem,
                        scale, source.lr_root)
            continue
        try:
            record = ImageRecord(path.stem, read_image(path), read_image(lr_path) if lr_path else None)
        except ImageReadError as exc:
            log.warning("skipping %s", exc)
            continue
        yield _normalise_pair(record, scale, source.name)


# --------------------------------------------------------------------------------------------------
# div2k (tensorflow-datasets)

DIV2K_BUILDER = "div2k/bicubic_x4"
# DIV2K numbers its images 0001..0800 (train) and 0801..0900 (validation).
_DIV2K_FIRST_ID = {"train": 1, "validation": 801}


def div2k_id_order(split: Split, num_examples: int, scale: int = 4) -> list[str]:
    """DIV2K ids in the order tfds stored them.

    tfds' div2k builder keys each example by its LR file name (``0801x4.png``), and tfds' writer
    stores the examples of a split sorted by ``md5(split_name + key)`` (``tfds.core.hashing.Hasher``
    with the split name as salt). So the i-th stored example of the split is the i-th id in this list.
    """
    from tensorflow_datasets.core import hashing

    hasher = hashing.Hasher(split)
    first = _DIV2K_FIRST_ID[split]
    ids = [f"{first + i:04d}" for i in range(num_examples)]
    return sorted(ids, key=lambda image_id: hasher.hash_key(f"{image_id}x{scale}.png"))


def _parse_tfds_id(tfds_id: str) -> tuple[int, int]:
    """``div2k-validation.tfrecord-00003-of-00016__42`` -> (shard 3, index 42)."""
    file_part, index = tfds_id.rsplit("__", 1)
    shard = file_part.rsplit("-of-", 1)[0].rsplit("-", 1)[1]
    return int(shard), int(index)


class Div2kSource:
    """tfds ``div2k/bicubic_x4`` from ``layout.tfds_dir(cfg)``, with the dataset's own LR images."""

    name = "div2k"

    def __init__(self, cfg: PipelineConfig):
        if cfg.data.scale != 4:
            raise SourceError(f"the div2k source is tfds {DIV2K_BUILDER}, which is x4; "
                              f"data.scale is {cfg.data.scale}: use scale 4 or another dataset")
        self.data_dir = layout.tfds_dir(cfg)
        self.scale = cfg.data.scale

    def _builder(self):
        import tensorflow_datasets as tfds

        return tfds.builder(DIV2K_BUILDER, data_dir=str(self.data_dir))

    def _split_info(self, builder, split: Split) -> tuple[int, list[int]] | None:
        try:
            info = builder.info.splits[split]
            return int(info.num_examples), [int(n) for n in info.shard_lengths]
        except (KeyError, TypeError, AttributeError):
            return None  # e.g. under tfds.testing.mock_data, which has no split metadata

    def _dataset(self, split: Split):
        import tensorflow_datasets as tfds

        builder = self._builder()
        try:
            ds = builder.as_dataset(
                split=split, shuffle_files=False,
                read_config=tfds.ReadConfig(add_tfds_id=True, interleave_cycle_length=1),
                decoders={"lr": tfds.decode.SkipDecoding(), "hr": tfds.decode.SkipDecoding()},
            )
        except Exception as exc:  # noqa: BLE001 - tfds raises assorted types for "not prepared"
            raise DatasetUnavailableError(
                f"DIV2K ({DIV2K_BUILDER}) is not prepared under {self.data_dir} ({exc}). "
                f"Run 'srbench download --data-dir {Path(self.data_dir).parent}' first, or pre-seed it "
                "(see 'srbench download --help')."
            ) from exc
        return builder, ds

    def _ids_for(self, builder, split: Split):
        info = self._split_info(builder, split)
        if info is None:
            return None, None
        num_examples, shard_lengths = info
        offsets = np.concatenate([[0], np.cumsum(shard_lengths)]).astype(int).tolist()
        return div2k_id_order(split, num_examples, self.scale), offsets

    def image_ids(self, split: Split) -> list[str]:
        _check_split(split)
        builder = self._builder()
        info = self._split_info(builder, split)
        if info is None:
            return [record.image_id for record in self.iter_images(split)]
        return sorted(div2k_id_order(split, info[0], self.scale))

    def iter_images(self, split: Split, ids: Collection[str] | None = None) -> Iterator[ImageRecord]:
        _check_split(split)
        builder, ds = self._dataset(split)
        ordered_ids, offsets = self._ids_for(builder, split)
        wanted = set(ids) if ids is not None else None
        for position, example in enumerate(ds.as_numpy_iterator()):
            image_id = f"{split}-{position:04d}"
            if ordered_ids is not None:
                tfds_id = example.get("tfds_id")
                if tfds_id is not None:
                    shard, index = _parse_tfds_id(tfds_id.decode())
                    position = offsets[shard] + index
                image_id = ordered_ids[position]
            if wanted is not None and image_id not in wanted:
                continue
            hr = decode_image(example["hr"], f"{DIV2K_BUILDER} {split} {image_id} (hr)")
            lr = decode_image(example["lr"], f"{DIV2K_BUILDER} {split} {image_id} (lr)")
            yield ImageRecord(image_id, hr, lr)

    def describe(self) -> dict:
        return {"name": self.name, "kind": "tfds", "builder": DIV2K_BUILDER, "data_dir": str(self.data_dir),
                "lr": "dataset's own (MATLAB bicubic x4)", "signature": f"{DIV2K_BUILDER}:2.0.0"}


# --------------------------------------------------------------------------------------------------
# the interface the rest of srbench uses


def open_source(cfg: PipelineConfig) -> ImageSource:
    """The image source named by ``cfg.data.dataset``."""
    spec = cfg.data.dataset
    if spec == "sample":
        return SampleSource()
    if spec == "div2k":
        return Div2kSource(cfg)
    if spec.startswith("folder:"):
        return FolderSource(spec, cfg.data.scale)
    raise SourceError(f"unknown dataset {spec!r}: use 'div2k', 'sample' or 'folder:PATH'")


def ensure_dataset(cfg: PipelineConfig) -> dict:
    """Make the configured dataset available on disk; a no-op (that says so) for sample/folder."""
    source = open_source(cfg)
    if not isinstance(source, Div2kSource):
        return {"dataset": cfg.data.dataset, "action": "none", "detail": "nothing to download",
                "source": source.describe()}
    return _prepare_div2k(source)


DIV2K_HOST = "data.vision.ee.ethz.ch"
DIV2K_ZIPS = ("DIV2K_train_HR.zip", "DIV2K_valid_HR.zip", "DIV2K_train_LR_bicubic_X4.zip",
              "DIV2K_valid_LR_bicubic_X4.zip")


def _reachable(host: str, port: int = 443, timeout: float = 10.0) -> bool:
    """A quick connect test, so an offline machine fails in seconds instead of tfds' minutes of retries."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _prepare_div2k(source: Div2kSource) -> dict:
    import tensorflow_datasets as tfds

    data_dir = Path(source.data_dir)
    builder = source._builder()
    if builder.is_prepared():
        return {"dataset": "div2k", "action": "reused", "data_dir": str(data_dir),
                "splits": {s: builder.info.splits[s].num_examples for s in SPLITS}}
    manual_dir = data_dir / "downloads" / "manual"
    have_zips = all((manual_dir / name).is_file() for name in DIV2K_ZIPS)
    try:
        if not have_zips and not _reachable(DIV2K_HOST):
            raise ConnectionError(f"cannot reach {DIV2K_HOST} (offline?) and {manual_dir} does not hold "
                                  "the DIV2K zips")
        builder.download_and_prepare(
            download_config=tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
    except Exception as exc:  # noqa: BLE001 - network, checksum and disk errors all end here
        raise DatasetUnavailableError(
            f"could not download/prepare {DIV2K_BUILDER} into {data_dir}: {type(exc).__name__}: {exc}\n"
            f"To pre-seed it on an offline machine, copy a prepared 'tensorflow_datasets/div2k' folder "
            f"(the one holding bicubic_x4/2.0.0/) to {data_dir / 'div2k'}, or put the DIV2K zip files "
            f"({', '.join(DIV2K_ZIPS)}, as named on the DIV2K site) in {manual_dir} and rerun "
            "'srbench download'."
        ) from exc
    return {"dataset": "div2k", "action": "prepared", "data_dir": str(data_dir),
            "splits": {s: builder.info.splits[s].num_examples for s in SPLITS}}


def iter_pairs(
    cfg: PipelineConfig,
    split: Split,
    limit: int | None = None,
    *,
    ids: Collection[str] | None = None,
    min_hr_size: int | None = None,
) -> Iterator[ImageRecord]:
    """(image_id, HR, LR) of a split with LR always filled and ``HR.shape == LR.shape * scale``.

    ``limit`` stops after that many images; ``ids`` keeps only those image ids. Images whose
    modcropped HR is smaller than ``min_hr_size`` (default ``cfg.data.hr_patch_size``) on either side
    are skipped with a logged warning. A source LR whose shape is not HR/scale raises
    :class:`SourceError` naming the image.
    """
    _check_split(split)
    scale = cfg.data.scale
    min_side = cfg.data.hr_patch_size if min_hr_size is None else min_hr_size
    source = open_source(cfg)
    wanted = set(ids) if ids is not None else None
    count = 0
    for record in source.iter_images(split, ids=wanted):
        if limit is not None and count >= limit:
            return
        cropped = [side - side % scale for side in record.hr.shape[:2]]  # checked before shrinking:
        if min(cropped) < max(min_side, scale):                      # a 1x50 image has no LR at all
            log.warning("skipping %s image %s: %dx%d is smaller than one %dx%d HR patch", source.name,
                        record.image_id, record.hr.shape[1], record.hr.shape[0], min_side, min_side)
            continue
        pair = _normalise_pair(record, scale, source.name)
        count += 1
        yield pair


def _normalise_pair(record: ImageRecord, scale: int, source_name: str) -> ImageRecord:
    if record.lr is None:
        hr = modcrop(record.hr, scale)
        return ImageRecord(record.image_id, hr, downscale(hr, scale))
    lr = record.lr
    h, w = lr.shape[:2]
    hr = record.hr
    if hr.shape[0] < h * scale or hr.shape[1] < w * scale or hr.shape[0] >= (h + 1) * scale \
            or hr.shape[1] >= (w + 1) * scale:
        raise SourceError(
            f"{source_name} image {record.image_id}: LR is {w}x{h} but HR is {hr.shape[1]}x{hr.shape[0]}, "
            f"not {scale}x larger: check that the LR image was made at x{scale} from this HR image")
    return ImageRecord(record.image_id, np.ascontiguousarray(hr[: h * scale, : w * scale]), lr)
