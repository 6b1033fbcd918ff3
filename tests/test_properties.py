"""Property: any array, whatever its shape, dtype or channel count, goes through
source -> degrade -> upscale -> metrics and either works (right shapes, uint8, finite PSNR or the
documented inf/NaN) or stops with srbench's own :class:`ImageReadError` (issue 13)."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402

from sr_core.images import ImageReadError, ImageTooSmallError, as_rgb_image  # noqa: E402
from sr_core.metrics import score  # noqa: E402
from sr_core.resize import downscale, modcrop  # noqa: E402
from sr_core.upscale import interpolation_upscaler, model_upscaler  # noqa: E402

SCALE = 4
DTYPES = [np.uint8, np.uint16, np.int8, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_]


@functools.lru_cache(maxsize=1)
def _model_upscaler():
    import tempfile
    from pathlib import Path

    from sr_core.config import load_config
    from sr_core.models import build_generator
    from tests.helpers_models import make_nontrivial

    # The smoke preset's real SRCNN (in-model bicubic with reflection padding), non-trivial weights.
    model = make_nontrivial(build_generator(load_config("smoke"), "srcnn"))
    path = Path(tempfile.mkdtemp(prefix="srbench-prop-")) / "srcnn.keras"
    model.save(path)
    return model_upscaler(path, SCALE, tile_size=16, tile_pad=8)


@st.composite
def images(draw):
    dtype = draw(st.sampled_from([np.uint8, np.uint8, *DTYPES]))
    side = st.one_of(st.integers(0, 9), st.integers(0, 40))  # many near the x4 limits (4..7 px)
    h, w = draw(side), draw(side)
    channels = draw(st.sampled_from([3, 3, None, 1, 2, 4, 5]))
    shape = (h, w) if channels is None else (h, w, channels)
    if draw(st.integers(0, 5)) == 0:  # sometimes a shape no image has
        shape = draw(st.sampled_from([(h,), (h, w, 3, 1), ()]))
    if np.issubdtype(dtype, np.floating):
        width = 16 if dtype == np.float16 else 32 if dtype == np.float32 else 64
        elements = st.one_of(st.floats(-2.0, 300.0, width=width), st.floats(width=width))  # incl. NaN, inf
    else:
        elements = None
    return draw(arrays(dtype, shape, elements=elements))


def _check_sr(lr: np.ndarray, sr: np.ndarray) -> None:
    assert sr.dtype == np.uint8 and sr.shape == (lr.shape[0] * SCALE, lr.shape[1] * SCALE, 3)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(images())
def test_every_array_works_or_raises_srbenchs_own_error(arr):
    try:
        hr = as_rgb_image(arr, "<generated>")
        assert hr.dtype == np.uint8 and hr.ndim == 3 and hr.shape[2] == 3 and hr.shape[:2] == arr.shape[:2]
        lr = downscale(hr, SCALE)
        assert lr.shape == (hr.shape[0] // SCALE, hr.shape[1] // SCALE, 3) and lr.dtype == np.uint8
        for upscaler in (interpolation_upscaler("bicubic", SCALE), _model_upscaler()):
            sr = upscaler(lr)
            _check_sr(lr, sr)
        target = modcrop(hr, SCALE)
        border = SCALE if min(target.shape[:2]) > 2 * SCALE else 0
        values = score(target, sr, crop_border=border)
        assert set(values) == {"psnr_rgb", "ssim_rgb", "psnr_y", "ssim_y"}
        for key, value in values.items():
            assert isinstance(value, float)
            if key.startswith("psnr"):
                assert not math.isnan(value) and value > 0  # inf only for identical images
    except ImageReadError as exc:
        assert "<generated>" in str(exc) or "<HR image>" in str(exc) or "<LR image>" in str(exc)
        if isinstance(exc, ImageTooSmallError):
            assert "pixels" in str(exc)
