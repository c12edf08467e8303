"""Rendering one frame to PNG or JPEG (PS3.18 8.3.5): modality LUT, windowing, 8-bit, scale.

Windowing, in order: the ``window=center,width[,linear|linear-exact|sigmoid]`` parameter; the file's
WindowCenter/WindowWidth; else the frame's min..max after the modality LUT (rescale slope/intercept).
MONOCHROME1 is inverted so bone is white. Colour images are scaled to 8 bits as they are.
"""

from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_modality_lut, pixel_array

from clinical_api.errors import FhirError

THUMBNAIL = 128

# pydicom logs every failed decoder attempt with a traceback; the caller gets a clear 406 instead.
logging.getLogger("pydicom.pixels.decoders.base").setLevel(logging.CRITICAL)


class Undecodable(Exception):
    """The pixel data is in a transfer syntax none of the installed decoders handles."""


@dataclass(frozen=True)
class Window:
    center: float
    width: float
    function: str = "linear"


def parse_window(value: str | None) -> Window | None:
    if not value:
        return None
    parts = [p.strip() for p in value.split(",")]
    try:
        center, width = float(parts[0]), float(parts[1])
    except (IndexError, ValueError) as exc:
        raise FhirError(400, "window must be center,width[,function]", "invalid") from exc
    function = (parts[2] if len(parts) > 2 else "linear").lower()
    if (
        function not in ("linear", "linear-exact", "sigmoid")
        or not np.isfinite(width)
        or width <= 0
        or not np.isfinite(center)
    ):
        raise FhirError(400, "window function must be linear, linear-exact or sigmoid, width > 0", "invalid")
    return Window(center, width, function)


def parse_viewport(value: str | None) -> tuple[int, int] | None:
    if not value:
        return None
    try:
        width, height = (int(v) for v in value.split(",")[:2])
    except ValueError as exc:
        raise FhirError(400, "viewport must be width,height", "invalid") from exc
    if not (0 < width <= 4096 and 0 < height <= 4096):
        raise FhirError(400, "viewport out of range", "invalid")
    return width, height


def decode_frame(path: Path, index: int) -> np.ndarray:
    """Frame `index` (0-based) as decoded by pydicom and its plugins; Undecodable when none can."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(pixel_array(str(path), index=index))
    except (NotImplementedError, RuntimeError, ValueError, ImportError) as exc:
        raise Undecodable(str(exc)[:200]) from exc


def header(path: Path) -> Dataset:
    return pydicom.dcmread(str(path), stop_before_pixels=True)


def _first(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, list | tuple | pydicom.multival.MultiValue):
        value = value[0] if len(value) else None
    try:
        return float(value) if value is not None else None  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _grey_to_8bit(arr: np.ndarray, ds: Dataset, window: Window | None) -> np.ndarray:
    values = np.asarray(apply_modality_lut(arr, ds), dtype=np.float64)
    if window is None:
        center, width = _first(ds.get("WindowCenter")), _first(ds.get("WindowWidth"))
        if center is not None and width is not None and width > 0:
            window = Window(center, width)
    if window is None:
        low, high = float(values.min()), float(values.max())
        out = (values - low) / (high - low) if high > low else np.zeros_like(values)
    elif window.function == "sigmoid":
        out = 1.0 / (1.0 + np.exp(-4.0 * (values - window.center) / window.width))
    elif window.function == "linear-exact":
        out = (values - window.center) / window.width + 0.5
    else:
        out = (values - (window.center - 0.5)) / max(window.width - 1.0, 1.0) + 0.5
    out = np.clip(out, 0.0, 1.0)
    if str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1":
        out = 1.0 - out
    return np.asarray(np.round(out * 255.0), dtype=np.uint8)


def _colour_to_8bit(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    high = float(arr.max()) or 1.0
    return np.asarray(np.clip(arr / high * 255.0, 0, 255), dtype=np.uint8)


def to_image(arr: np.ndarray, ds: Dataset, window: Window | None) -> Image.Image:
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        return Image.fromarray(_colour_to_8bit(arr[..., :3]), mode="RGB")
    if arr.ndim != 2:
        raise Undecodable("unexpected pixel array shape")
    return Image.fromarray(_grey_to_8bit(arr, ds, window), mode="L")


def encode(image: Image.Image, media_type: str, quality: int, viewport: tuple[int, int] | None) -> bytes:
    if viewport is not None:
        image = image.copy()
        image.thumbnail(viewport, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if media_type == "image/jpeg":
        image.save(buffer, format="JPEG", quality=quality)
    else:
        image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def render(
    path: Path,
    index: int,
    media_type: str,
    window: Window | None,
    quality: int,
    viewport: tuple[int, int] | None,
) -> bytes:
    """Frame `index` of the file at `path`, rendered."""
    ds = header(path)
    arr = decode_frame(path, index)
    return encode(to_image(arr, ds, window), media_type, quality, viewport)
