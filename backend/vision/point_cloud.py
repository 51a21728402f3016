"""A depth map as a coloured 3D point cloud (binary PLY, written by trimesh) and pixel-to-point geometry.

Metric depth (metres, distance along the camera axis) is back-projected through a pinhole camera with an assumed
horizontal field of view: x = (u - cx) * z / f, y = (v - cy) * z / f with f = (width / 2) / tan(fov / 2). Photos
carry no intrinsics we can trust, so the field of view is stated wherever the result is shown. Relative depth
(disparity-like, larger is nearer, no unit) is not back-projected: the points form the image plane displaced
toward the viewer by the normalised depth, as transformers.js' depth example displaces a plane.

Coordinates follow glTF and gr.Model3D's viewer: x right, y up, the camera at the origin looking down -z.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import trimesh
from PIL import Image

# Horizontal field of view assumed for metric back-projection, degrees (a phone's main camera is ~65-75; the NYU
# Kinect that GLPN-NYU learnt from, ~58).
FIELD_OF_VIEW_DEG = 60.0
# Most points in a 3D file: larger images are sampled on a coarser grid (~1.9 MB of PLY at 16 bytes a point).
MAX_POINTS = 120_000
# Relative depth: how far the nearest point stands out of the image plane, as a share of the image's width.
RELIEF = 0.4


@dataclass
class PointCloud:
    """A depth map's points and what the JSON says about them."""

    ply: bytes  # binary little-endian PLY: float x, y, z and uchar red, green, blue, alpha per vertex
    vertices: int
    scale: str  # "metres" or "relative"
    field_of_view_deg: float | None  # the assumed horizontal field of view (metric only)
    grid: tuple[int, int]  # (width, height) of the sampled pixel grid; smaller than the image when reduced

    def to_json(self) -> dict[str, Any]:
        """The "mesh" JSON: {"format", "vertices", "scale", "field_of_view_deg", "grid"}."""
        return {"format": "ply", "vertices": self.vertices, "scale": self.scale,
                "field_of_view_deg": self.field_of_view_deg, "grid": list(self.grid)}


def grid_size(width: int, height: int, max_points: int = MAX_POINTS) -> tuple[int, int]:
    """The (width, height) of the largest grid of the image's aspect with at most `max_points` points."""
    if width * height <= max_points:
        return width, height
    scale = math.sqrt(max_points / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


def focal_length(width: int, field_of_view_deg: float = FIELD_OF_VIEW_DEG) -> float:
    """Focal length in pixels for an image `width` pixels wide seen over `field_of_view_deg` horizontally."""
    return (width / 2) / math.tan(math.radians(field_of_view_deg) / 2)


def back_project(u: np.ndarray, v: np.ndarray, z: np.ndarray, width: int, height: int,
                 field_of_view_deg: float = FIELD_OF_VIEW_DEG) -> np.ndarray:
    """(n, 3) camera-space points, metres, for pixel centres (u, v) at distances z along the axis (y up, -z ahead)."""
    f = focal_length(width, field_of_view_deg)
    x = (u + 0.5 - width / 2) * z / f
    y = -(v + 0.5 - height / 2) * z / f
    return np.stack([x, y, -z], axis=-1).astype(np.float32)


def point_at(depth: np.ndarray, x: int, y: int, field_of_view_deg: float = FIELD_OF_VIEW_DEG) -> np.ndarray:
    """(3,) the camera-space point, metres, of pixel (x, y) of a metric depth map (height, width)."""
    height, width = depth.shape
    return back_project(np.array(x, dtype=np.float64), np.array(y, dtype=np.float64),
                        np.array(depth[y, x], dtype=np.float64), width, height, field_of_view_deg)


def point_cloud(depth: np.ndarray, picture: Image.Image, metric: bool,
                max_points: int = MAX_POINTS) -> PointCloud:
    """The depth map (height, width) as coloured points, one per pixel of a grid of at most `max_points`."""
    height, width = depth.shape
    grid_width, grid_height = grid_size(width, height, max_points)
    # Sampled at grid cell centres (nearest pixel): depth is not averaged across edges, so no points float between
    # a foreground object and the wall behind it.
    columns = ((np.arange(grid_width) + 0.5) * width / grid_width).astype(np.int64)
    rows = ((np.arange(grid_height) + 0.5) * height / grid_height).astype(np.int64)
    sampled = depth[np.ix_(rows, columns)].astype(np.float32)
    colours = np.asarray(picture.convert("RGB").resize((width, height)) if picture.size != (width, height)
                         else picture.convert("RGB"))[np.ix_(rows, columns)]
    u, v = np.meshgrid(columns, rows)  # pixel coordinates of each sample, (grid_height, grid_width)
    if metric:
        points = back_project(u, v, sampled, width, height)
    else:
        low, high = float(sampled.min()), float(sampled.max())
        nearness = (sampled - low) / (high - low) if high > low else np.zeros_like(sampled)
        # The image plane 1 unit wide (centred), near points raised toward the viewer (+z).
        points = np.stack([(u + 0.5) / width - 0.5, -((v + 0.5) / width - 0.5 * height / width),
                           nearness * RELIEF], axis=-1).astype(np.float32)
    rgba = np.concatenate([colours.reshape(-1, 3), np.full((colours.shape[0] * colours.shape[1], 1), 255,
                                                          dtype=np.uint8)], axis=1)
    cloud = trimesh.PointCloud(points.reshape(-1, 3), colors=rgba)
    return PointCloud(ply=cloud.export(file_type="ply"), vertices=len(cloud.vertices),
                      scale="metres" if metric else "relative",
                      field_of_view_deg=FIELD_OF_VIEW_DEG if metric else None, grid=(grid_width, grid_height))
