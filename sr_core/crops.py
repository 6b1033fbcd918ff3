"""The regions of a validation image that are scored and shown in the report.

Two kinds: the config's named crops (``eval.crops``, HR pixels; the ``div2k`` preset carries the
seed's crops) and ``eval.auto_crops`` automatic crops of ``eval.auto_crop_size`` placed where the HR
image has the most detail (gradient energy of its luma), so the report shows where methods differ.
A crop that does not fit the image is clipped, or skipped when nothing useful is left, always with
a note and never with an exception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sr_core.config import CropSpec, PipelineConfig
from sr_core.metrics import rgb_to_y

FULL = "full"
MIN_CROP_SIDE = 8


@dataclass(frozen=True)
class Region:
    """A rectangle of an HR image: rows ``top:top+height``, columns ``left:left+width``."""

    name: str
    top: int
    left: int
    height: int
    width: int
    kind: str = "config"  # "full", "config" or "auto"

    def cut(self, img: np.ndarray) -> np.ndarray:
        return img[self.top:self.top + self.height, self.left:self.left + self.width]

    def overlaps(self, other: Region) -> bool:
        return not (self.top + self.height <= other.top or other.top + other.height <= self.top
                    or self.left + self.width <= other.left or other.left + other.width <= self.left)


def full_region(hr_shape: tuple[int, ...]) -> Region:
    return Region(FULL, 0, 0, int(hr_shape[0]), int(hr_shape[1]), kind="full")


def fit_crop(spec: CropSpec, height: int, width: int) -> tuple[Region | None, str | None]:
    """The crop inside a ``height`` x ``width`` image, clipped if needed; (None, note) to skip it."""
    where = f"crop {spec.name!r} ({spec.height}x{spec.width} at top={spec.top}, left={spec.left})"
    if spec.top >= height or spec.left >= width:
        return None, f"{where} skipped: it starts outside the {height}x{width} image {spec.image_id!r}"
    h = min(spec.height, height - spec.top)
    w = min(spec.width, width - spec.left)
    if h < MIN_CROP_SIDE or w < MIN_CROP_SIDE:
        return None, (f"{where} skipped: only {h}x{w} of it lies inside the {height}x{width} "
                      f"image {spec.image_id!r}")
    note = None
    if (h, w) != (spec.height, spec.width):
        note = f"{where} clipped to {h}x{w} to fit the {height}x{width} image {spec.image_id!r}"
    return Region(spec.name, spec.top, spec.left, h, w, kind="config"), note


def detail_map(hr: np.ndarray) -> np.ndarray:
    """Per-pixel detail: squared gradient magnitude of the HR luma (float64, HxW)."""
    y = rgb_to_y(hr)
    gy = np.zeros_like(y)
    gx = np.zeros_like(y)
    gy[1:-1] = (y[2:] - y[:-2]) / 2
    gx[:, 1:-1] = (y[:, 2:] - y[:, :-2]) / 2
    return gx * gx + gy * gy


def _window_sums(values: np.ndarray, size: int) -> np.ndarray:
    """Sum of every ``size`` x ``size`` window; entry [r, c] is the window with top-left (r, c)."""
    integral = np.zeros((values.shape[0] + 1, values.shape[1] + 1))
    integral[1:, 1:] = values.cumsum(0).cumsum(1)
    return (integral[size:, size:] - integral[:-size, size:] - integral[size:, :-size]
            + integral[:-size, :-size])


def auto_regions(hr: np.ndarray, count: int, size: int, *, margin: int = 0,
                 avoid: list[Region] | tuple[Region, ...] = ()) -> tuple[list[Region], list[str]]:
    """Up to ``count`` non-overlapping ``size`` squares with the most detail, best first.

    Deterministic (ties go to the top-left-most window). ``margin`` keeps crops off the image border
    when the image is large enough; ``avoid`` are regions the crops must not overlap.
    """
    notes: list[str] = []
    if count <= 0:
        return [], notes
    height, width = hr.shape[:2]
    side = min(size, height, width)
    if side < MIN_CROP_SIDE:
        return [], [f"auto crops skipped: the {height}x{width} image is smaller than {MIN_CROP_SIDE} px"]
    if side < size:
        notes.append(f"auto crops shrunk to {side}x{side}: the image is {height}x{width}")
    if height - 2 * margin < side or width - 2 * margin < side:
        margin = 0
    scores = _window_sums(detail_map(hr), side)
    valid = np.full(scores.shape, -np.inf)
    valid[margin:scores.shape[0] - margin, margin:scores.shape[1] - margin] = \
        scores[margin:scores.shape[0] - margin, margin:scores.shape[1] - margin]

    def block(region: Region) -> None:
        # Every window whose top-left lies here would overlap ``region``.
        r0, c0 = max(0, region.top - side + 1), max(0, region.left - side + 1)
        valid[r0:region.top + region.height, c0:region.left + region.width] = -np.inf

    for region in avoid:
        block(region)
    regions: list[Region] = []
    while len(regions) < count:
        flat = int(np.argmax(valid))
        if not np.isfinite(valid.flat[flat]):
            notes.append(f"only {len(regions)} of {count} auto crops fit without overlapping")
            break
        top, left = divmod(flat, valid.shape[1])
        region = Region(f"auto{len(regions) + 1}", int(top), int(left), side, side, kind="auto")
        regions.append(region)
        block(region)
    return regions, notes


def regions_for_image(cfg: PipelineConfig, image_id: str, hr: np.ndarray) -> tuple[list[Region], list[str]]:
    """``full``, then the config crops of this image, then the auto crops; plus notes on any changes."""
    height, width = hr.shape[:2]
    regions = [full_region(hr.shape)]
    notes: list[str] = []
    named = []
    for spec in cfg.eval.crops:
        if spec.image_id != image_id:
            continue
        region, note = fit_crop(spec, height, width)
        if note:
            notes.append(note)
        if region is not None:
            named.append(region)
    auto, auto_notes = auto_regions(hr, cfg.eval.auto_crops, cfg.eval.auto_crop_size,
                                    margin=cfg.data.scale, avoid=named)
    notes.extend(f"image {image_id!r}: {n}" for n in auto_notes)
    return regions + named + auto, notes
