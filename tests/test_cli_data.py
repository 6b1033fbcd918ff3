"""srbench prepare / degrade / download through the real Typer app."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from sr_core.images import read_image, write_image
from srbench.cli import app

runner = CliRunner()


def _matlab_bicubic_float(img: np.ndarray, scale: int) -> np.ndarray:
    """An independent float re-implementation of imresize(img, 1/scale, 'bicubic'): a dense weight
    matrix per axis from the widened Keys kernel, symmetric padding, one rounding at the very end."""

    def cubic(x):
        x = np.abs(x)
        return np.where(x <= 1, 1.5 * x**3 - 2.5 * x**2 + 1,
                        np.where(x <= 2, -0.5 * x**3 + 2.5 * x**2 - 4 * x + 2, 0.0))

    def matrix(n_in):
        n_out = n_in // scale
        m = np.zeros((n_out, n_in))
        for i in range(n_out):
            centre = (i + 0.5) * scale - 0.5  # 0-based input coordinate of output i
            for k in range(int(np.floor(centre - 2 * scale)) - 1, int(np.ceil(centre + 2 * scale)) + 2):
                weight = cubic((centre - k) / scale) / scale
                src = -k - 1 if k < 0 else (2 * n_in - 1 - k if k >= n_in else k)  # symmetric padding
                m[i, src] += weight
            m[i] /= m[i].sum()
        return m

    h, w = img.shape[0] - img.shape[0] % scale, img.shape[1] - img.shape[1] % scale
    img = img[:h, :w].astype(np.float64)
    mh, mw = matrix(h), matrix(w)
    out = np.einsum("ih,hwc,jw->ijc", mh, img, mw, optimize=True)
    return np.clip(np.floor(out + 0.5), 0, 255)


def test_degrade_is_within_one_level_of_an_independent_float_implementation(tmp_path):
    import skimage.data

    hr = skimage.data.coffee()[:203, :301]  # odd sizes: modcropped to 200x300
    write_image(tmp_path / "hr.png", hr)
    result = runner.invoke(app, ["degrade", str(tmp_path / "hr.png"), str(tmp_path / "lr.png")])
    assert result.exit_code == 0, result.output
    assert "modcropped to 300x200" in result.output and "75x50" in result.output
    lr = read_image(tmp_path / "lr.png")
    assert lr.shape == (50, 75, 3)
    reference = _matlab_bicubic_float(hr, 4)
    diff = np.abs(lr.astype(int) - reference.astype(int))
    assert diff.max() <= 1
    assert (diff == 0).mean() > 0.8  # rounding after the first pass moves ~10% of pixels by 1


def test_degrade_other_scale_and_bad_input(tmp_path):
    write_image(tmp_path / "hr.png", np.full((30, 30, 3), 77, np.uint8))
    ok = runner.invoke(app, ["degrade", str(tmp_path / "hr.png"), str(tmp_path / "lr.png"), "--scale", "3"])
    assert ok.exit_code == 0 and read_image(tmp_path / "lr.png").shape == (10, 10, 3)
    (tmp_path / "text.png").write_text("not an image")
    bad = runner.invoke(app, ["degrade", str(tmp_path / "text.png"), str(tmp_path / "o.png")])
    assert bad.exit_code == 1 and "text.png" in bad.output and "not an image" in bad.output
    assert not (tmp_path / "o.png").exists()


def test_prepare_smoke_then_reuse(tmp_path):
    args = ["prepare", "--preset", "smoke", "--data-dir", str(tmp_path / "data")]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "wrote:" in first.output and "train: 8 patches from 2 image(s) in 2 shards" in first.output
    patch_dirs = list((tmp_path / "data" / "patches").iterdir())
    assert len(patch_dirs) == 1 and str(patch_dirs[0]) in first.output
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "reused" in second.output


def test_prepare_reports_bad_sources_and_settings(tmp_path):
    (tmp_path / "empty").mkdir()
    empty = runner.invoke(app, ["prepare", "--preset", "smoke", "--data-dir", str(tmp_path / "d"),
                                "--dataset", f"folder:{tmp_path / 'empty'}"])
    assert empty.exit_code == 1 and "holds no images" in empty.output
    bad = runner.invoke(app, ["prepare", "--preset", "smoke", "--set", "data.hr_patch_size=30"])
    assert bad.exit_code != 0 and "multiple of scale" in bad.output


def test_download_is_a_no_op_for_offline_sources(tmp_path):
    result = runner.invoke(app, ["download", "--preset", "smoke", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0 and "nothing to download" in result.output


@pytest.mark.parametrize("command, words", [
    ("prepare", ["byte-identical", "reused", "srbench prepare --preset smoke"]),
    ("degrade", ["modcropped", "imresize", "srbench degrade photo.png"]),
    ("download", ["pre-seed", "downloads/manual", "srbench download"]),
])
def test_help_teaches(command, words):
    result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for word in words:
        assert word in result.output
