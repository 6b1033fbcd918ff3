"""Config crops (clipped or skipped with a note) and automatic high-detail crops."""

from __future__ import annotations

import numpy as np

from sr_core import crops
from sr_core.config import CropSpec, load_config


def _spec(**kw) -> CropSpec:
    base = dict(name="c", image_id="img", top=10, left=20, height=30, width=40)
    base.update(kw)
    return CropSpec(**base)


def test_fit_crop_inside_clipped_and_skipped():
    region, note = crops.fit_crop(_spec(), 100, 100)
    assert (region.top, region.left, region.height, region.width) == (10, 20, 30, 40) and note is None
    region, note = crops.fit_crop(_spec(top=80), 100, 100)
    assert region.height == 20 and "clipped to 20x40" in note
    region, note = crops.fit_crop(_spec(top=100), 100, 100)
    assert region is None and "starts outside" in note
    region, note = crops.fit_crop(_spec(left=95), 100, 100)
    assert region is None and "only 30x5" in note


def test_auto_regions_find_the_detail_and_do_not_overlap():
    hr = np.full((120, 160, 3), 128, np.uint8)
    rng = np.random.default_rng(0)
    hr[70:100, 100:130] = rng.integers(0, 256, (30, 30, 3))  # the busiest patch
    hr[10:30, 10:30] = rng.integers(100, 156, (20, 20, 3))   # a milder one
    regions, notes = crops.auto_regions(hr, 3, 32, margin=4)
    assert [r.name for r in regions] == ["auto1", "auto2", "auto3"] and notes == []
    first = regions[0]
    assert first.top <= 70 and first.top + 32 >= 100 - 2 and first.left <= 100 and first.left + 32 >= 128
    assert regions[1].overlaps(crops.Region("x", 10, 10, 20, 20))
    for i, a in enumerate(regions):
        for b in regions[i + 1:]:
            assert not a.overlaps(b)
        assert 4 <= a.top and a.top + 32 <= 116 and 4 <= a.left and a.left + 32 <= 156
    again, _ = crops.auto_regions(hr, 3, 32, margin=4)
    assert again == regions


def test_auto_regions_on_small_images_shrink_or_note():
    small = np.random.default_rng(1).integers(0, 256, (20, 50, 3), dtype=np.uint8)
    regions, notes = crops.auto_regions(small, 2, 32)
    assert regions[0].height == 20 and "shrunk" in notes[0]
    regions, notes = crops.auto_regions(small, 5, 32)
    assert 1 <= len(regions) <= 2 and f"only {len(regions)} of 5" in notes[-1]
    regions, notes = crops.auto_regions(small[:5], 1, 32)
    assert regions == [] and "smaller than" in notes[0]


def test_regions_for_image_combines_full_config_and_auto(tmp_path):
    cfg = load_config("smoke", data_dir=tmp_path, extra={"eval": {"auto_crops": 2, "auto_crop_size": 24}})
    hr = np.random.default_rng(2).integers(0, 256, (300, 451, 3), dtype=np.uint8)
    regions, notes = crops.regions_for_image(cfg, "chelsea", hr)
    names = [r.name for r in regions]
    assert names[0] == "full" and regions[0].height == 300 and regions[0].width == 451
    assert names[1:4] == ["seed-chelsea1", "seed-chelsea2", "seed-chelsea3"]
    assert names[4:] == ["auto1", "auto2"]
    for auto in regions[4:]:
        assert not any(auto.overlaps(r) for r in regions[1:4])
    other, _ = crops.regions_for_image(cfg, "astronaut", hr)
    assert [r.name for r in other] == ["full", "auto1", "auto2"]
    # A smaller image clips the seed crops instead of failing.
    regions, notes = crops.regions_for_image(cfg, "chelsea", hr[:240, :250])
    assert any("clipped" in n for n in notes) or any("skipped" in n for n in notes)
