"""Semantic segmentation on every catalog model, against transformers' own post-processing, with bounded input."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from backend import models
from backend.errors import InputError
from backend.limits import MAX_SEGMENT_INPUT_SIDE
from backend.tasks.segment_image import label_map, label_map_png, overlay, palette, palette_image, segment_image
from tests.conftest import ids_for
from tests.tiny_models.segmentation import ADE20K_LABELS, CITYSCAPES_LABELS

CLASS_COUNTS = {"nvidia/segformer-b0-finetuned-ade-512-512": 150, "nvidia/segformer-b2-finetuned-ade-512-512": 150,
                "nvidia/segformer-b1-finetuned-cityscapes-1024-1024": 19}


@pytest.mark.parametrize("model_id", ids_for("segment_image"))
def test_every_pixel_gets_a_class_at_the_input_resolution(models_dir: Path, photo: Path, model_id: str) -> None:
    result = segment_image(photo, model=model_id)
    summary = result.to_json()
    json.dumps(summary)
    assert summary["model"] == model_id
    assert (summary["width"], summary["height"]) == (1600, 1200)
    assert result.labels.shape == (1200, 1600) and result.labels.dtype == np.uint8
    assert len(result.names) == CLASS_COUNTS[model_id] and int(result.labels.max()) < len(result.names)
    classes = summary["classes"]
    assert sum(item["pixels"] for item in classes) == 1600 * 1200
    assert sum(item["share"] for item in classes) == pytest.approx(1.0)
    assert [item["pixels"] for item in classes] == sorted((item["pixels"] for item in classes), reverse=True)
    counts = np.bincount(result.labels.ravel(), minlength=len(result.names))
    for item in classes:
        assert item["pixels"] == counts[result.names.index(item["label"])] > 0
        assert item["share"] == pytest.approx(item["pixels"] / (1600 * 1200))


def test_class_names_are_the_real_checkpoints(models_dir: Path, photo: Path) -> None:
    ade = segment_image(photo, model="nvidia/segformer-b0-finetuned-ade-512-512").names
    cityscapes = segment_image(photo, model="nvidia/segformer-b1-finetuned-cityscapes-1024-1024").names
    assert ade[:3] == ("wall", "building", "sky") and ade[7] == "bed"  # the config's "bed " comes back stripped
    assert ade == tuple(name.strip() for name in ADE20K_LABELS)
    assert cityscapes == CITYSCAPES_LABELS and cityscapes[10] == "sky"


@pytest.mark.parametrize("model_id", ids_for("segment_image"))
def test_label_map_matches_transformers_post_processing(models_dir: Path, model_id: str, tmp_path: Path) -> None:
    small = Image.effect_mandelbrot((300, 200), (-2, -1.2, 1, 1.2), 50).convert("RGB")  # within the bound
    path = tmp_path / "small.png"
    small.save(path)
    loaded = models.get(model_id)
    with torch.inference_mode():
        outputs = loaded.model(**loaded.processor(images=small, return_tensors="pt"))
    expected = loaded.processor.post_process_semantic_segmentation(outputs, target_sizes=[(200, 300)])[0].numpy()
    ours = segment_image(path, model=model_id).labels
    np.testing.assert_array_equal(ours, expected)


# (classes, logits rows, logits columns, output height, output width, smooth logits?)
SHAPES = [
    (150, 16, 16, 97, 131, False),  # upsampled, rough logits: many candidates per cell
    (150, 32, 32, 480, 640, True),  # upsampled, smooth logits as a trained model gives
    (19, 32, 32, 1024, 2048, True),  # Cityscapes' aspect ratio, more than one band of rows
    (150, 16, 16, 10, 7, False),  # downsampled
    (5, 8, 8, 8, 8, False),  # the same size
    (150, 16, 16, 16, 1000, False),  # a long strip
    (3, 4, 4, 1, 1, False),  # one pixel
]


@pytest.mark.parametrize(("classes", "rows", "cols", "height", "width", "smooth"), SHAPES)
def test_label_map_equals_interpolating_every_class(classes: int, rows: int, cols: int, height: int, width: int,
                                                    smooth: bool) -> None:
    generator = torch.Generator().manual_seed(rows * cols + height)
    logits = torch.randn(classes, rows + 4, cols + 4, generator=generator)
    logits = F.avg_pool2d(logits[None], 5, stride=1)[0] if smooth else logits[:, :rows, :cols]
    expected = F.interpolate(logits[None], size=(height, width), mode="bilinear", align_corners=False)[0].argmax(0)
    np.testing.assert_array_equal(label_map(logits, height, width), expected.numpy())


def test_label_map_breaks_ties_towards_the_lower_class() -> None:
    logits = torch.zeros(4, 3, 3)
    logits[2] = 1.0
    logits[3] = 1.0  # classes 2 and 3 tie everywhere
    assert (label_map(logits, 12, 12) == 2).all()


@pytest.mark.parametrize("model_id", ids_for("segment_image"))
def test_the_processor_sees_a_bounded_image(models_dir: Path, photo: Path, model_id: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    processor = type(models.get(model_id).processor)
    seen = []
    call = processor.__call__
    monkeypatch.setattr(processor, "__call__", lambda self, images, **kw: seen.append(images.size) or call(
        self, images=images, **kw))
    segment_image(photo, model=model_id)
    (size,) = seen
    assert max(size) == MAX_SEGMENT_INPUT_SIDE and size[0] / size[1] == pytest.approx(1600 / 1200, rel=0.01)


def test_label_map_png_holds_the_classes_and_the_overlay_colours(models_dir: Path, photo: Path) -> None:
    result = segment_image(photo)
    png = Image.open(io.BytesIO(label_map_png(result)))
    assert png.format == "PNG" and png.mode == "P" and png.size == (1600, 1200)
    np.testing.assert_array_equal(np.asarray(png), result.labels)
    colours = np.array(png.getpalette()[: 3 * len(result.names)], dtype=np.uint8).reshape(-1, 3)
    np.testing.assert_array_equal(colours, palette(len(result.names)))
    assert json.loads(png.text["classes"]) == list(result.names)


def test_palette_colours_are_distinct() -> None:
    colours = palette(150)
    assert colours.shape == (150, 3) and len({tuple(colour) for colour in colours}) == 150


def test_overlay_opacity_and_highlight() -> None:
    photo = Image.new("RGB", (40, 20), (100, 100, 100))
    labels = np.zeros((20, 40), dtype=np.uint8)
    labels[:, 20:] = 7
    label_image = palette_image(labels, 150)
    colours = palette(150)
    assert np.array_equal(np.asarray(overlay(photo, label_image, 0.0)), np.asarray(photo))
    full = np.asarray(overlay(photo, label_image, 1.0))
    assert (full[:, :20] == colours[0]).all() and (full[:, 20:] == colours[7]).all()
    half = np.asarray(overlay(photo, label_image, 0.5)).astype(int)
    assert np.abs(half[0, 30] - (100 + colours[7].astype(int)) / 2).max() <= 1
    highlighted = np.asarray(overlay(photo, label_image, 1.0, highlight=7))
    assert (highlighted[:, 20:] == colours[7]).all()  # the chosen class in its colour
    assert (highlighted[:, :20] == 35).all()  # the rest: the photo, dimmed, uncoloured


def test_bad_inputs_say_what_to_change(models_dir: Path, tmp_path: Path, photo: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a picture" * 50)
    with pytest.raises(InputError, match="could not be read as an image"):
        segment_image(broken)
    with pytest.raises(InputError, match="Unknown model"):
        segment_image(photo, model="nvidia/mit-b0")
