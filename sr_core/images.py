"""Reading any image file as uint8 RGB, and writing images atomically.

Every image srbench touches goes through :func:`read_image`, so the rest of the code can assume
``uint8`` arrays of shape ``(H, W, 3)`` in RGB order: grayscale is replicated to three channels, an
alpha channel is dropped, 16-bit images are scaled to 8 bits (``round(v / 257)``, so 65535 -> 255 and
257 -> 1), float images in 0..1 are scaled by 255, and an EXIF orientation tag is applied (phone photos
come out upright, as viewers show them). Anything else raises :class:`ImageReadError`,
which names the file and says what to do.

Decoding is bounded: the size in the file's header is checked before any pixel is decoded, and an
image above :func:`max_image_pixels` (default 100 megapixels, three times an 8K photo; environment
``SRBENCH_MAX_IMAGE_PIXELS``) is refused with :class:`ImageTooLargeError`, so a 400-byte PNG that
claims 100000x100000 pixels costs nothing. Decoder errors never escape as ``cv2.error``.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path

import cv2
import numpy as np

from sr_core.atomic import write_bytes

# Suffixes treated as images when a folder is scanned (compared in lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")

_WRITE_SUFFIXES = {".png": ".png", ".jpg": ".jpg", ".jpeg": ".jpg", ".bmp": ".bmp", ".tif": ".tiff",
                   ".tiff": ".tiff", ".webp": ".webp"}


DEFAULT_MAX_PIXELS = 100_000_000
MAX_PIXELS_ENV = "SRBENCH_MAX_IMAGE_PIXELS"

_FORMAT_ADVICE = ("Check that it is a PNG/JPEG/BMP/TIFF/WebP image (re-export it, or move it out of "
                  "the folder).")


class ImageReadError(ValueError):
    """An image file could not be turned into uint8 RGB; the message says which file and why."""

    what = "cannot read image"

    def __init__(self, path: str | Path, reason: str, advice: str = _FORMAT_ADVICE):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.what} {self.path}: {reason}. {advice}")


_TOO_LARGE_ADVICE = (f"Shrink it first, or raise the limit with {MAX_PIXELS_ENV}=<pixels> if the machine "
                     "has the memory (3 bytes per pixel, several times over while processing).")


class ImageTooLargeError(ImageReadError):
    """The image's header claims more pixels than :func:`max_image_pixels`; nothing was decoded."""


class ImageTooSmallError(ImageReadError):
    """The image has fewer pixels than the operation needs (e.g. 1x1 for a x4 model)."""

    what = "image too small:"


def max_image_pixels() -> int:
    """The largest image (width x height) srbench decodes: ``$SRBENCH_MAX_IMAGE_PIXELS`` or 100 MP."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(float(raw))
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"{MAX_PIXELS_ENV}={raw!r} is not a positive number of pixels "
                         f"(e.g. {DEFAULT_MAX_PIXELS} for 100 megapixels)")
    return value


def header_size(data: bytes, name: str | Path = "<bytes>", limit: int | None = None) -> tuple[int, int] | None:
    """``(height, width)`` from the encoded image's header, without decoding pixels; None if the
    header cannot be read (the decoder then decides). Raises :class:`ImageTooLargeError` when
    Pillow's own bomb guard (twice ``PIL.Image.MAX_IMAGE_PIXELS``) already refuses a size above the limit."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(height), int(width)
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's bomb warning: our own limit applies
            with Image.open(io.BytesIO(data)) as im:
                width, height = im.size
    except Image.DecompressionBombError as exc:
        limit = max_image_pixels() if limit is None else limit
        if limit <= 2 * (Image.MAX_IMAGE_PIXELS or 0):
            raise ImageTooLargeError(name, f"{exc}; the limit is {limit / 1e6:g} MP",
                                     _TOO_LARGE_ADVICE) from None
        return None  # a limit above Pillow's: OpenCV decodes, the decoded size is checked
    except Exception:  # noqa: BLE001 - an unreadable header means "unknown", not an error here
        return None
    return int(height), int(width)


def check_pixel_limit(height: int, width: int, name: str | Path, limit: int | None = None) -> None:
    """Raise :class:`ImageTooLargeError` if ``height x width`` exceeds the limit."""
    limit = max_image_pixels() if limit is None else limit
    if height * width > limit:
        raise ImageTooLargeError(
            name, f"it is {width}x{height} pixels ({height * width / 1e6:.0f} MP), above the limit of "
            f"{limit / 1e6:g} MP", _TOO_LARGE_ADVICE)


def check_min_size(img: np.ndarray, min_side: int, name: str | Path, purpose: str) -> None:
    """Raise :class:`ImageTooSmallError` if either side of ``img`` is below ``min_side`` pixels."""
    height, width = img.shape[:2]
    if height < min_side or width < min_side:
        raise ImageTooSmallError(name, f"it is {width}x{height} pixels; {purpose} needs at least "
                                 f"{min_side}x{min_side}", "Use a larger image, or leave this one out.")


def is_image_file(path: str | Path) -> bool:
    path = Path(path)
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def to_rgb_uint8(img: np.ndarray, *, bgr: bool = False) -> np.ndarray:
    """Normalise a decoded array to uint8 ``(H, W, 3)`` RGB (see the module docstring for the rules).

    ``bgr=True`` says colour channels arrive in OpenCV's BGR(A) order. Raises ``ValueError`` for
    arrays that are not images.
    """
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] == 2:  # gray + alpha
        img = np.repeat(img[:, :, :1], 3, axis=2)
    elif img.ndim == 3 and img.shape[2] in (3, 4):
        img = img[:, :, :3]
        if bgr:
            img = img[:, :, ::-1]
    else:
        raise ValueError(f"unsupported array shape {img.shape} (expected HxW, HxWx3 or HxWx4)")
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise ValueError(f"image has no pixels (shape {img.shape})")
    if img.dtype == np.uint8:
        out = img
    elif img.dtype == np.uint16:
        out = np.floor(img.astype(np.float64) / 257.0 + 0.5).astype(np.uint8)
    elif img.dtype == np.bool_:
        out = img.astype(np.uint8) * 255
    elif np.issubdtype(img.dtype, np.floating):
        values = img.astype(np.float64)
        if not np.all(np.isfinite(values)):
            raise ValueError("float image contains NaN or infinite values")
        if values.max(initial=0.0) <= 1.0:
            values = values * 255.0
        out = np.clip(np.floor(values + 0.5), 0, 255).astype(np.uint8)
    elif np.issubdtype(img.dtype, np.integer):
        if img.min() < 0 or img.max() > 255:
            raise ValueError(f"{img.dtype} image with values outside 0..255 ({img.min()}..{img.max()})")
        out = img.astype(np.uint8)
    else:
        raise ValueError(f"unsupported pixel type {img.dtype}")
    return np.ascontiguousarray(out)


def as_rgb_image(img: np.ndarray, name: str | Path = "<array>") -> np.ndarray:
    """:func:`to_rgb_uint8` for an array from elsewhere (a notebook, another library), raising
    :class:`ImageReadError` naming ``name``; also bounded by :func:`max_image_pixels`."""
    img = np.asarray(img)
    if img.ndim >= 2:
        check_pixel_limit(img.shape[0], img.shape[1], name)
    try:
        return to_rgb_uint8(img)
    except ValueError as exc:
        raise ImageReadError(name, str(exc), "Pass an HxW, HxWx3 or HxWx4 array of pixels.") from None


def decode_image(data: bytes, name: str | Path = "<bytes>", *, max_pixels: int | None = None) -> np.ndarray:
    """Decode encoded image bytes (PNG, JPEG, ...) to uint8 RGB; ``name`` is used in errors.

    The header's size is checked against ``max_pixels`` (default :func:`max_image_pixels`) first.
    """
    if not data:
        raise ImageReadError(name, "the file is empty")
    limit = max_image_pixels() if max_pixels is None else max_pixels
    size = header_size(data, name, limit)
    if size is not None:
        check_pixel_limit(*size, name, limit)
    buffer = np.frombuffer(data, dtype=np.uint8)
    try:
        img = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # e.g. a header OpenCV reads but Pillow does not, claiming a huge size
        raise ImageReadError(name, f"OpenCV could not decode it ({_cv2_reason(exc)})") from None
    bgr = True
    if img is None and size is not None:  # Pillow read the header (so the size is checked): try it
        img = _decode_with_pillow(data)
        bgr = False
    if img is None:
        raise ImageReadError(name, "it is not an image OpenCV or Pillow can decode (corrupt, truncated "
                             "or not an image at all)")
    check_pixel_limit(img.shape[0], img.shape[1], name, limit)
    try:
        rgb = to_rgb_uint8(img, bgr=bgr)
    except ValueError as exc:
        raise ImageReadError(name, str(exc)) from None
    return apply_exif_orientation(rgb, _exif_orientation(data))


# EXIF orientation -> the array operation that shows the image upright (as PIL's exif_transpose).
_ORIENT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def _cv2_reason(exc: Exception) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def apply_exif_orientation(img: np.ndarray, orientation: int) -> np.ndarray:
    """Turn an image as stored into the image as viewers show it (EXIF tag 274; 1 = as stored)."""
    op = _ORIENT.get(orientation)
    return img if op is None else np.ascontiguousarray(op(img))


def _exif_orientation(data: bytes) -> int:
    """The EXIF orientation of encoded image bytes, 1 when there is none (or Pillow is missing)."""
    if b"Exif" not in data and b"eXIf" not in data and data[:4] not in (b"II*\x00", b"MM\x00*"):
        return 1  # cheap: no EXIF block (JPEG 'Exif', PNG 'eXIf') and not a TIFF
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - unreadable EXIF means "as stored"
        return 1


def _decode_with_pillow(data: bytes) -> np.ndarray | None:
    """Fallback for formats OpenCV lacks (e.g. GIF, palette TIFFs)."""
    try:
        from PIL import Image
    except ImportError:
        return None
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.mode in ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV"):
                im = im.convert("RGBA" if "A" in im.mode or "transparency" in im.info else "RGB")
            return np.asarray(im)
    except Exception:  # noqa: BLE001 - any decoder failure means "not an image"
        return None


def read_image(path: str | Path, *, max_pixels: int | None = None) -> np.ndarray:
    """Read an image file as uint8 ``(H, W, 3)`` RGB, or raise :class:`ImageReadError` (its
    subclass :class:`ImageTooLargeError` above ``max_pixels``, checked before decoding)."""
    path = Path(path)
    if not path.exists():
        raise ImageReadError(path, "the file does not exist")
    if path.is_dir():
        raise ImageReadError(path, "it is a folder, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError(path, f"the file cannot be opened ({exc.strerror or exc})") from None
    return decode_image(data, path, max_pixels=max_pixels)


def encode_image(img: np.ndarray, suffix: str = ".png", *, jpeg_quality: int = 95) -> bytes:
    """Encode a uint8 RGB (or gray) image in the format named by ``suffix``."""
    suffix = suffix.lower()
    if suffix not in _WRITE_SUFFIXES:
        raise ValueError(f"cannot write {suffix!r} images: use one of {', '.join(sorted(_WRITE_SUFFIXES))}")
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise ValueError(f"write_image expects uint8 pixels, got {img.dtype}")
    if img.ndim == 3 and img.shape[2] == 3:
        img = img[:, :, ::-1]  # RGB -> OpenCV's BGR
    elif img.ndim != 2:
        raise ValueError(f"write_image expects HxW or HxWx3, got shape {img.shape}")
    params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality] if _WRITE_SUFFIXES[suffix] == ".jpg" else []
    ok, buffer = cv2.imencode(_WRITE_SUFFIXES[suffix], np.ascontiguousarray(img), params)
    if not ok:
        raise ValueError(f"OpenCV could not encode a {img.shape} image as {suffix}")
    return buffer.tobytes()


def write_image(path: str | Path, img: np.ndarray, *, jpeg_quality: int = 95) -> Path:
    """Write a uint8 RGB image; the format follows the suffix. Atomic: temp file, then rename."""
    path = Path(path)
    return write_bytes(path, encode_image(img, path.suffix or ".png", jpeg_quality=jpeg_quality))
