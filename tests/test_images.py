"""read_image/write_image on real files of every awkward kind."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sr_core.images import IMAGE_SUFFIXES, ImageReadError, is_image_file, read_image, write_image


def _rgb(h=6, w=5):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tiff", ".webp"])
def test_lossless_round_trip_keeps_rgb_order(tmp_path, suffix):
    img = _rgb()
    img[0, 0] = (255, 0, 0)  # pure red stays red, not blue (BGR -> RGB handled)
    path = write_image(tmp_path / f"a{suffix}", img)
    if suffix == ".webp":  # WebP defaults to lossy; only check the colour order roughly
        back = read_image(path)
        assert back.shape == img.shape and back[0, 0, 0] > back[0, 0, 2]
    else:
        assert np.array_equal(read_image(path), img)


def test_jpeg_round_trip_is_close(tmp_path):
    img = np.full((16, 16, 3), (200, 50, 20), np.uint8)
    back = read_image(write_image(tmp_path / "a.jpg", img))
    assert np.abs(back.astype(int) - img).max() <= 3


def test_gray_becomes_rgb(tmp_path):
    gray = np.arange(30, dtype=np.uint8).reshape(5, 6)
    cv2.imwrite(str(tmp_path / "g.png"), gray)
    out = read_image(tmp_path / "g.png")
    assert out.shape == (5, 6, 3) and np.array_equal(out[:, :, 0], gray) and np.array_equal(out[:, :, 2], gray)


def test_rgba_drops_alpha(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 10, 20, 30, 0  # fully transparent
    cv2.imwrite(str(tmp_path / "a.png"), cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA))
    out = read_image(tmp_path / "a.png")
    assert out.shape == (4, 4, 3) and tuple(out[0, 0]) == (10, 20, 30)


def test_16bit_scales_to_8bit_with_rounding(tmp_path):
    values = np.array([[0, 128, 129, 257, 385, 386, 65535]], np.uint16)
    rgb16 = np.repeat(values[:, :, None], 3, axis=2)
    cv2.imwrite(str(tmp_path / "deep.png"), rgb16)
    out = read_image(tmp_path / "deep.png")
    assert out.dtype == np.uint8
    # v / 257 rounded: 128/257 = 0.498 -> 0, 129/257 = 0.502 -> 1, 385/257 = 1.498 -> 1, 386 -> 2
    assert out[0, :, 0].tolist() == [0, 0, 1, 1, 1, 2, 255]


def test_16bit_gray_tiff(tmp_path):
    gray = np.full((3, 3), 65535, np.uint16)
    cv2.imwrite(str(tmp_path / "g16.tif"), gray)
    out = read_image(tmp_path / "g16.tif")
    assert out.shape == (3, 3, 3) and np.all(out == 255)


def test_palette_gif_via_pillow_fallback(tmp_path):
    from PIL import Image

    Image.new("P", (3, 2), color=1).save(tmp_path / "p.gif")  # default palette entry 1
    out = read_image(tmp_path / "p.gif")
    assert out.shape == (2, 3, 3) and out.dtype == np.uint8


@pytest.mark.parametrize("content, reason", [
    (b"", "empty"),
    (b"hello, I am text", "not an image"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "not an image"),  # a PNG signature and nothing valid after it
])
def test_bad_files_raise_an_error_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match=reason) as err:
        read_image(path)
    assert str(path) in str(err.value) and "re-export it" in str(err.value)
    assert err.value.path == path


def test_truncated_png_raises(tmp_path):
    data = cv2.imencode(".png", _rgb(64, 64))[1].tobytes()
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="cut.png"):
        read_image(path)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        read_image(tmp_path / "nope.png")
    with pytest.raises(ImageReadError, match="folder"):
        read_image(tmp_path)


def test_write_is_atomic_and_checks_input(tmp_path):
    target = tmp_path / "out" / "x.png"
    write_image(target, _rgb())
    assert target.exists() and not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]
    with pytest.raises(ValueError, match="uint8"):
        write_image(tmp_path / "f.png", np.zeros((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="cannot write"):
        write_image(tmp_path / "f.xyz", _rgb())


def test_is_image_file(tmp_path):
    write_image(tmp_path / "a.PNG", _rgb())
    (tmp_path / "b.txt").write_text("x")
    assert is_image_file(tmp_path / "a.PNG") and not is_image_file(tmp_path / "b.txt")
    assert ".png" in IMAGE_SUFFIXES and ".jpeg" in IMAGE_SUFFIXES


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(tmp_path, orientation):
    from PIL import Image, ImageOps

    img = _rgb(4, 6)
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.png"
    Image.fromarray(img).save(path, exif=exif)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert np.array_equal(read_image(path), expected)
