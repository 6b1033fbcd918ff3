"""The upscale use case: every readable photo is written, every other one is named with its reason."""

from __future__ import annotations

import numpy as np

from sr_core.images import read_image, write_image
from sr_core.resize import upscale
from sr_core.upscale import interpolation_upscaler
from sr_core.usecases import upscale_photos


def test_good_photos_are_written_and_bad_ones_named(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "in" / "good.png"
    write_image(good, rng.integers(0, 256, size=(12, 20, 3), dtype=np.uint8))
    tiny = tmp_path / "in" / "tiny.png"
    write_image(tiny, np.zeros((1, 1, 3), np.uint8))
    fake = tmp_path / "in" / "fake.png"
    fake.write_bytes(b"not a png")
    seen = []
    outcome = upscale_photos([good, tiny, fake], interpolation_upscaler("bicubic", 4), tmp_path / "out",
                             "bicubic", on_image=lambda path, error: seen.append((path.name, error is None)))
    assert outcome.written == [tmp_path / "out" / "good_x4_bicubic.png"]
    np.testing.assert_array_equal(read_image(outcome.written[0]), upscale(read_image(good), 4, "bicubic"))
    assert [path for path, _ in outcome.failed] == [tiny, fake]
    assert "too small" in outcome.failed[0][1] and str(fake) in outcome.failed[1][1]
    assert seen == [("good.png", True), ("tiny.png", False), ("fake.png", False)]
