"""Hostile and degenerate images are named and skipped, never decoded unbounded (issue 13, items 11-12)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from sr_core.images import (ImageReadError, ImageTooLargeError, ImageTooSmallError, decode_image,
                            max_image_pixels, read_image, write_image)
from srbench.cli import app


def png_header_only(width: int, height: int) -> bytes:
    """A few hundred bytes that claim ``width x height`` RGB pixels (a decompression bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 300)) + chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (16, 16)).save(buf, "JPEG")
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def no_decoder(monkeypatch):
    """Fail the test if OpenCV is asked to decode anything."""
    def refuse(*args, **kwargs):
        raise AssertionError("cv2.imdecode was called on an image above the pixel limit")

    monkeypatch.setattr(cv2, "imdecode", refuse)


@pytest.mark.parametrize("data, size", [(png_header_only(100_000, 100_000), "100000x100000"),
                                        (png_header_only(20_000, 20_000), "20000x20000")])
def test_an_oversized_png_is_refused_from_its_header_before_decoding(tmp_path, no_decoder, data, size):
    path = tmp_path / "bomb.png"
    path.write_bytes(data)
    assert len(data) < 400
    with pytest.raises(ImageTooLargeError) as err:
        read_image(path)
    assert str(path) in str(err.value) and size in str(err.value) and "100 MP" in str(err.value)
    assert "SRBENCH_MAX_IMAGE_PIXELS" in str(err.value)


def test_an_oversized_jpeg_is_refused_before_decoding(no_decoder):
    with pytest.raises(ImageTooLargeError, match="bomb.jpg"):
        decode_image(jpeg_claiming(60_000, 60_000), "bomb.jpg")


def test_the_limit_is_configurable(tmp_path, monkeypatch):
    path = write_image(tmp_path / "a.png", np.full((40, 50, 3), 7, np.uint8))
    assert max_image_pixels() == 100_000_000
    monkeypatch.setenv("SRBENCH_MAX_IMAGE_PIXELS", "1999")
    with pytest.raises(ImageTooLargeError, match="50x40 pixels"):
        read_image(path)
    monkeypatch.setenv("SRBENCH_MAX_IMAGE_PIXELS", "2000")
    assert read_image(path).shape == (40, 50, 3)
    assert read_image(path, max_pixels=10**9).shape == (40, 50, 3)
    with pytest.raises(ImageTooLargeError):
        read_image(path, max_pixels=100)
    monkeypatch.setenv("SRBENCH_MAX_IMAGE_PIXELS", "lots")
    with pytest.raises(ValueError, match="SRBENCH_MAX_IMAGE_PIXELS='lots'"):
        max_image_pixels()


def test_opencv_errors_become_named_image_errors(monkeypatch):
    def broken(*args, **kwargs):
        raise cv2.error("OpenCV(4.x) loadsave.cpp:79: error: (-215:Assertion failed) pixels <= CV_IO_MAX_IMAGE_PIXELS")

    monkeypatch.setattr(cv2, "imdecode", broken)
    data = cv2.imencode(".png", np.zeros((4, 4, 3), np.uint8))[1].tobytes()
    with pytest.raises(ImageReadError, match=r"odd\.png: OpenCV could not decode it \(.*CV_IO_MAX_IMAGE_PIXELS"):
        decode_image(data, "odd.png")


@pytest.fixture
def hostile_folder(tmp_path) -> Path:
    from skimage import data as samples

    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "bomb.png").write_bytes(png_header_only(100_000, 100_000))
    write_image(folder / "one.png", np.zeros((1, 1, 3), np.uint8))
    write_image(folder / "line.png", np.zeros((1, 50, 3), np.uint8))
    write_image(folder / "good.png", samples.astronaut()[:64, :48])
    return folder


def test_upscale_names_and_skips_bombs_and_tiny_images(hostile_folder, tmp_path):
    result = CliRunner().invoke(app, ["upscale", str(hostile_folder), "--model", "bicubic",
                                      "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good_x4_bicubic.png"]
    assert read_image(tmp_path / "out" / "good_x4_bicubic.png").shape == (256, 192, 3)
    for name, why in [("bomb.png", "it is 100000x100000 pixels (10000 MP), above the limit"),
                      ("one.png", "it is 1x1 pixels"), ("line.png", "it is 50x1 pixels")]:
        assert f"failed {hostile_folder / name}: " in result.output
        assert f"{hostile_folder / name}: {why}" in result.output
    assert "3 of 4 images failed" in result.output


def test_metrics_names_a_tiny_pair_instead_of_printing_inf(tmp_path):
    tiny = write_image(tmp_path / "tiny.png", np.zeros((1, 1, 3), np.uint8))
    result = CliRunner().invoke(app, ["metrics", str(tiny), str(tiny), "--crop-border", "0"])
    assert result.exit_code == 1
    assert f"image too small: {tiny}: it is 1x1 pixels; SSIM with --crop-border 0 needs at least 11x11" \
        in result.output
    assert "inf" not in result.output


def test_degrade_refuses_a_bomb_by_name(tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(100_000, 100_000))
    result = CliRunner().invoke(app, ["degrade", str(bomb), str(tmp_path / "lr.png")])
    assert result.exit_code == 1 and f"{bomb}: it is 100000x100000 pixels" in result.output
    assert not (tmp_path / "lr.png").exists()


def test_a_folder_source_skips_bombs_and_tiny_images_by_name(hostile_folder, tmp_path, caplog):
    from sr_core.config import load_config
    from sr_core.sources import iter_pairs

    cfg = load_config("smoke", dataset=f"folder:{hostile_folder}", data_dir=tmp_path / "data",
                      reports_dir=tmp_path / "reports")
    with caplog.at_level("WARNING"):
        records = [r for split in ("train", "validation") for r in iter_pairs(cfg, split, min_hr_size=8)]
    assert [r.image_id for r in records] == ["good"]
    assert records[0].lr.shape == (16, 12, 3)
    log = caplog.text
    assert str(hostile_folder / "bomb.png") in log and "above the limit" in log
    assert "image one: 1x1 is smaller" in log and "image line: 50x1 is smaller" in log


def test_too_small_is_an_image_error():
    assert issubclass(ImageTooSmallError, ImageReadError) and issubclass(ImageTooLargeError, ImageReadError)
