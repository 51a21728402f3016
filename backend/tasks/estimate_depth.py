"""Monocular depth estimation: an image -> a depth value per pixel, a colour map of it, and its range.

The model sees the image with its long side bounded (GLPN runs at the full input size, so a 12-megapixel photo
would need tens of GB); the prediction is then resized back to the input resolution.
"""

import functools
import io
from dataclasses import dataclass
from typing import Any

import matplotlib
import numpy as np
from PIL import Image

from backend import compute, dispatch, inputs, models
from backend.catalog import resolve_model
from backend.errors import InputError
from backend.limits import MAX_DEPTH_INPUT_SIDE
from backend.vision.point_cloud import PointCloud, point_cloud

# Perceptually ordered colormaps offered to users (matplotlib names); near is always the bright end.
COLORMAPS: tuple[str, ...] = ("inferno", "magma", "viridis", "plasma", "turbo", "Spectral_r", "gray")
DEFAULT_COLORMAP = "inferno"


@dataclass
class DepthResult:
    """A depth map at the input resolution and a coloured rendering of it."""

    model: str
    depth: np.ndarray  # (height, width) float32; metres if `metric`, else relative (larger is nearer)
    image: Image.Image  # RGB rendering of `depth` with a colormap, near = bright
    metric: bool

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "width", "height", "min", "max", "metric"}."""
        height, width = self.depth.shape
        return {
            "model": self.model,
            "width": width,
            "height": height,
            "min": float(self.depth.min()),
            "max": float(self.depth.max()),
            "metric": self.metric,
        }


@dispatch.task(files={"image": "image"})
def estimate_depth(image: Any, model: str | None = None, colormap: str = DEFAULT_COLORMAP) -> DepthResult:
    """Predict the depth of every pixel of an image."""
    spec = resolve_model("estimate_depth", model)
    if colormap not in COLORMAPS:
        raise InputError(f"Unknown colormap; choose one of {', '.join(COLORMAPS)}.")
    picture = inputs.load_image(image)
    loaded = models.get(spec.id)
    model_input = bounded(picture, MAX_DEPTH_INPUT_SIDE)
    with compute.model_work():
        features = loaded.processor(images=model_input, return_tensors="pt").to(loaded.device)
        features["pixel_values"] = features["pixel_values"].to(loaded.dtype)
        outputs = loaded.model(**features)
        # Interpolates the prediction to the original (height, width), undoing any resize or padding.
        predicted = loaded.processor.post_process_depth_estimation(
            outputs, target_sizes=[(picture.height, picture.width)]
        )[0]["predicted_depth"]
    depth = predicted.float().cpu().numpy().astype(np.float32)
    # Metric models give distance (near = small); relative models give disparity-like values (near = large).
    return DepthResult(
        model=spec.id,
        depth=depth,
        image=colorize(depth, colormap, near_is_large=not spec.metric_depth),
        metric=spec.metric_depth,
    )


def bounded(picture: Image.Image, max_side: int) -> Image.Image:
    """The image scaled down so its long side is at most `max_side` pixels (unchanged if already smaller)."""
    scale = max_side / max(picture.size)
    if scale >= 1:
        return picture
    size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
    return picture.resize(size, Image.Resampling.BICUBIC)


def colorize(depth: np.ndarray, colormap: str, near_is_large: bool) -> Image.Image:
    """An RGB image of a depth map, stretched to its own min..max, near objects bright."""
    low, high = float(depth.min()), float(depth.max())
    scaled = (depth - low) / (high - low) if high > low else np.zeros_like(depth)
    if not near_is_large:
        scaled = 1.0 - scaled
    table = colormap_table(colormap)
    # The colormap's own lookup (matplotlib's Colormap.__call__ on values in 0..1), without its float64 copies.
    index = np.minimum((scaled * len(table)).astype(np.int32), len(table) - 1)
    return Image.fromarray(table[index])


@functools.cache
def colormap_table(colormap: str) -> np.ndarray:
    """(N, 3) uint8: the colours of a matplotlib colormap's lookup table (N = 256 for every one offered)."""
    listed = matplotlib.colormaps[colormap]
    return listed(np.arange(listed.N), bytes=True)[:, :3]  # integer inputs index the table directly


def depth_png16(result: DepthResult) -> bytes:
    """A 16-bit greyscale PNG of the depth: millimetres for metric models, else min..max scaled to 0..65535."""
    if result.metric:
        values = np.clip(result.depth * 1000.0, 0, 65535)  # metres -> millimetres; 65.5 m at most
    else:
        low, high = float(result.depth.min()), float(result.depth.max())
        values = (result.depth - low) / (high - low) * 65535 if high > low else np.zeros_like(result.depth)
    buffer = io.BytesIO()
    # Level 1: a third of the default's time for a few per cent more bytes (a 640x480 map is ~0.5 MB either way).
    Image.fromarray(values.round().astype(np.uint16)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def depth_npy(result: DepthResult) -> bytes:
    """The raw float32 depth as a NumPy .npy file."""
    buffer = io.BytesIO()
    np.save(buffer, result.depth, allow_pickle=False)
    return buffer.getvalue()


def depth_point_cloud(result: DepthResult, picture: Image.Image) -> PointCloud:
    """The depth as a PLY point cloud in the photo's colours: metres for metric models (an assumed field of view),
    a relief of the image plane for relative ones; at most point_cloud.MAX_POINTS points."""
    return point_cloud(result.depth, picture, result.metric)
