"""Depth estimation on every catalog model, against the transformers pipeline, with bounded model input."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend import models
from backend.catalog import find_model
from backend.errors import InputError
from backend.limits import MAX_DEPTH_INPUT_SIDE
from backend.tasks.estimate_depth import COLORMAPS, depth_npy, depth_png16, estimate_depth
from tests.conftest import ids_for


@pytest.mark.parametrize("model_id", ids_for("estimate_depth"))
def test_depth_has_the_input_resolution_and_a_colour_rendering(models_dir: Path, photo: Path, model_id: str) -> None:
    result = estimate_depth(photo, model=model_id)
    summary = result.to_json()
    json.dumps(summary)
    assert summary["model"] == model_id
    assert (summary["width"], summary["height"]) == (1600, 1200)
    assert result.depth.shape == (1200, 1600) and result.depth.dtype == np.float32
    assert np.isfinite(result.depth).all()
    assert summary["min"] == pytest.approx(float(result.depth.min()))
    assert summary["max"] == pytest.approx(float(result.depth.max()))
    assert summary["metric"] is find_model(model_id).metric_depth
    rendering = np.asarray(result.image)
    assert result.image.mode == "RGB" and rendering.shape == (1200, 1600, 3)
    assert np.abs(rendering[..., 0].astype(int) - rendering[..., 2]).max() > 50  # a colormap, not grey


def test_glpn_is_metric_and_the_others_relative() -> None:
    assert [find_model(model_id).metric_depth for model_id in ids_for("estimate_depth")] == [True, False, False]


@pytest.mark.parametrize("model_id", ids_for("estimate_depth"))
def test_the_model_sees_a_bounded_image(models_dir: Path, photo: Path, model_id: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = models.get(model_id)
    seen = []
    forward = loaded.model.forward
    monkeypatch.setattr(loaded.model, "forward", lambda **kw: seen.append(kw["pixel_values"].shape) or forward(**kw))
    estimate_depth(photo, model=model_id)
    (shape,) = seen
    assert max(shape[-2:]) <= MAX_DEPTH_INPUT_SIDE + 32  # processors may round up to a multiple of 32


@pytest.mark.parametrize("model_id", ids_for("estimate_depth"))
def test_depth_matches_the_pipeline_for_an_image_within_the_bound(models_dir: Path, model_id: str,
                                                                  tmp_path: Path) -> None:
    from transformers import pipeline

    small = Image.effect_mandelbrot((320, 240), (-2, -1.2, 1, 1.2), 50).convert("RGB")
    path = tmp_path / "small.png"
    small.save(path)
    loaded = models.get(model_id)
    reference = pipeline("depth-estimation", model=loaded.model, image_processor=loaded.processor)
    expected = reference(small)["predicted_depth"].numpy()
    ours = estimate_depth(path, model=model_id).depth
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)


def test_colormap_choice_changes_the_rendering_and_unknown_ones_are_refused(models_dir: Path, photo: Path) -> None:
    inferno = np.asarray(estimate_depth(photo, colormap="inferno").image)
    viridis = np.asarray(estimate_depth(photo, colormap="viridis").image)
    assert "viridis" in COLORMAPS and not np.array_equal(inferno, viridis)
    with pytest.raises(InputError, match="colormap"):
        estimate_depth(photo, colormap="rainbow-unicorn")


def test_downloads_hold_the_depth(models_dir: Path, photo: Path) -> None:
    metric = estimate_depth(photo, model="vinvino02/glpn-nyu")
    png = Image.open(io.BytesIO(depth_png16(metric)))
    assert png.mode.startswith("I;16") and png.size == (1600, 1200)
    millimetres = np.asarray(png).astype(np.float32)
    np.testing.assert_allclose(millimetres, np.clip(metric.depth * 1000, 0, 65535).round(), atol=1)
    raw = np.load(io.BytesIO(depth_npy(metric)), allow_pickle=False)
    np.testing.assert_array_equal(raw, metric.depth)


def parse_ply(data: bytes):
    """The point cloud a PLY file holds, read back with trimesh."""
    import trimesh

    return trimesh.load(io.BytesIO(data), file_type="ply")


def test_the_3d_file_holds_a_coloured_point_per_grid_cell_in_metres(models_dir: Path, photo: Path) -> None:
    import math

    from backend.tasks.estimate_depth import depth_point_cloud
    from backend.vision.point_cloud import FIELD_OF_VIEW_DEG, MAX_POINTS

    picture = Image.open(photo).convert("RGB")
    result = estimate_depth(photo, model="vinvino02/glpn-nyu")
    cloud = depth_point_cloud(result, picture)
    mesh = cloud.to_json()
    assert mesh == {"format": "ply", "vertices": 120_000, "scale": "metres", "field_of_view_deg": FIELD_OF_VIEW_DEG,
                    "grid": [400, 300]}  # 1600x1200 reduced to at most MAX_POINTS, the aspect kept
    assert mesh["vertices"] <= MAX_POINTS
    points = parse_ply(cloud.ply)
    assert len(points.vertices) == mesh["vertices"]
    # Grid cell centres: every 4th pixel from (2, 2); colours are the photo's there, depth is -z in metres.
    rows, columns = np.arange(300) * 4 + 2, np.arange(400) * 4 + 2
    np.testing.assert_array_equal(points.colors[:, :3], np.asarray(picture)[np.ix_(rows, columns)].reshape(-1, 3))
    np.testing.assert_allclose(-points.vertices[:, 2], result.depth[np.ix_(rows, columns)].ravel(), rtol=1e-6)
    # Bounds in metres: the farthest point at -max depth, the width spread by the 60-degree field of view.
    low, high = points.bounds
    assert high[2] == pytest.approx(-result.depth[np.ix_(rows, columns)].min(), rel=1e-6)
    assert low[2] == pytest.approx(-result.depth[np.ix_(rows, columns)].max(), rel=1e-6)
    half_angle = math.tan(math.radians(FIELD_OF_VIEW_DEG / 2))
    assert high[0] <= result.depth.max() * half_angle and low[0] >= -result.depth.max() * half_angle
    assert high[0] > 0.9 * result.depth.min() * half_angle  # the edge columns reach near the edge of the view


def test_a_small_image_keeps_every_pixel_and_relative_depth_is_a_relief(models_dir: Path, tmp_path: Path) -> None:
    from backend.tasks.estimate_depth import depth_point_cloud
    from backend.vision.point_cloud import RELIEF

    small = Image.effect_mandelbrot((320, 240), (-2, -1.2, 1, 1.2), 50).convert("RGB")
    result = estimate_depth(small, model="Intel/dpt-large")
    cloud = depth_point_cloud(result, small)
    assert (cloud.to_json()["grid"], cloud.vertices, cloud.scale, cloud.field_of_view_deg) == (
        [320, 240], 320 * 240, "relative", None)
    points = parse_ply(cloud.ply)
    np.testing.assert_array_equal(points.colors[:, :3], np.asarray(small).reshape(-1, 3))
    assert points.vertices[:, 2].min() == pytest.approx(0.0) and points.vertices[:, 2].max() == pytest.approx(RELIEF)
    nearest = np.unravel_index(np.argmax(result.depth), result.depth.shape)  # larger is nearer: raised the most
    assert points.vertices[nearest[0] * 320 + nearest[1], 2] == pytest.approx(RELIEF)


def test_two_pixels_back_project_to_points_a_known_distance_apart() -> None:
    from backend.vision.point_cloud import focal_length, point_at

    depth = np.full((480, 640), 2.0, dtype=np.float32)  # a wall 2 m away, square to the camera
    f = focal_length(640)
    assert f == pytest.approx(320 / np.tan(np.radians(30)))
    left, right = point_at(depth, 100, 240), point_at(depth, 500, 240)
    assert float(np.linalg.norm(right - left)) == pytest.approx(400 * 2.0 / f)  # 400 px at 2 m
    assert left[2] == pytest.approx(-2.0) and left[0] < 0 < right[0]
