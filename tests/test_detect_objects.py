"""Object detection on every catalog model, against the transformers pipelines, and its input rules."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from backend import models
from backend.errors import InputError
from backend.tasks.detect_objects import detect_objects
from demos.detect_objects import draw_boxes, label_colour
from tests.conftest import ids_for

WIDTH, HEIGHT = 1600, 1200  # the `photo` fixture


def check_detections(result: dict, labels: set[str] | None) -> None:
    """Boxes are integer pixel boxes inside the image, scores sorted in [0, 1], labels from the expected set."""
    json.dumps(result)
    scores = [item["score"] for item in result["detections"]]
    assert scores == sorted(scores, reverse=True)
    for item in result["detections"]:
        xmin, ymin, xmax, ymax = item["box"]
        assert all(isinstance(value, int) for value in item["box"])
        assert 0 <= xmin <= xmax <= WIDTH and 0 <= ymin <= ymax <= HEIGHT
        assert 0.0 <= item["score"] <= 1.0
        if labels is not None:
            assert item["label"] in labels


@pytest.mark.parametrize("model_id", ids_for("detect_objects"))
def test_boxes_are_in_image_pixels_with_labels(models_dir: Path, photo: Path, model_id: str) -> None:
    open_vocabulary = model_id != "facebook/detr-resnet-50"
    queries = "a cat, a blue square" if open_vocabulary else ""
    result = detect_objects(photo, queries, model=model_id, threshold=0.0).to_json()
    assert result["model"] == model_id
    assert len(result["detections"]) > 0  # threshold 0 keeps every predicted box
    coco_names = set(models.get(model_id).model.config.id2label.values())
    check_detections(result, {"a cat", "a blue square"} if open_vocabulary else coco_names)


def test_detr_matches_the_object_detection_pipeline(models_dir: Path, photo: Path) -> None:
    from transformers import pipeline

    loaded = models.get("facebook/detr-resnet-50")
    reference = pipeline("object-detection", model=loaded.model, image_processor=loaded.processor)
    expected = reference(Image.open(photo), threshold=0.0)
    ours = detect_objects(photo, model="facebook/detr-resnet-50", threshold=0.0).detections
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, sorted(expected, key=lambda item: -item["score"]), strict=True):
        assert mine.label == theirs["label"] and mine.score == pytest.approx(theirs["score"], abs=1e-5)
        box = theirs["box"]
        assert mine.box == pytest.approx([box["xmin"], box["ymin"], box["xmax"], box["ymax"]], abs=1)


@pytest.mark.parametrize("model_id", ["google/owlvit-base-patch32", "google/owlv2-base-patch16-ensemble"])
def test_one_query_matches_the_zero_shot_detection_pipeline(models_dir: Path, photo: Path, model_id: str) -> None:
    from transformers import pipeline

    loaded = models.get(model_id)
    reference = pipeline("zero-shot-object-detection", model=loaded.model, tokenizer=loaded.processor.tokenizer,
                         image_processor=loaded.processor.image_processor)
    threshold = 0.05
    expected = reference(Image.open(photo), candidate_labels=["a cat"], threshold=threshold)
    ours = detect_objects(photo, "a cat", model=model_id, threshold=threshold).detections
    assert len(ours) == len(expected) > 0
    for mine, theirs in zip(ours, expected, strict=True):
        assert mine.score == pytest.approx(theirs["score"], abs=1e-5)
        box = theirs["box"]  # the pipeline truncates to int where we round, and does not clip to the image
        clipped = [min(max(box["xmin"], 0), WIDTH), min(max(box["ymin"], 0), HEIGHT),
                   min(max(box["xmax"], 0), WIDTH), min(max(box["ymax"], 0), HEIGHT)]
        assert mine.box == pytest.approx(clipped, abs=1)


def test_queries_without_a_model_pick_an_open_vocabulary_model(models_dir: Path, photo: Path) -> None:
    assert detect_objects(photo, "a cat").model == "google/owlvit-base-patch32"
    assert detect_objects(photo).model == "facebook/detr-resnet-50"


def test_threshold_filters_boxes(models_dir: Path, photo: Path) -> None:
    every = detect_objects(photo, "a cat", model="google/owlvit-base-patch32", threshold=0.0).detections
    cut = sorted(item.score for item in every)[len(every) // 2]
    kept = detect_objects(photo, "a cat", model="google/owlvit-base-patch32", threshold=cut).detections
    assert kept == [item for item in every if item.score > cut]


@pytest.mark.parametrize(("queries", "model_id", "threshold", "message"), [
    ("a cat", "facebook/detr-resnet-50", None, "takes no text queries"),
    ("", "google/owlvit-base-patch32", None, "enter text queries"),
    ("a cat", "google/owlvit-base-patch32", 1.5, "between 0 and 1"),
    (",".join(f"thing {n}" for n in range(500)), "google/owlvit-base-patch32", None, "50"),
])
def test_bad_requests_are_refused_with_a_message(models_dir: Path, photo: Path, queries: str, model_id: str,
                                                 threshold: float | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        detect_objects(photo, queries, model=model_id, threshold=threshold)


def test_boxes_are_drawn_in_their_label_colour_best_on_top() -> None:
    photo = Image.new("RGB", (200, 100), (128, 128, 128))
    detections = [{"label": "cat", "score": 0.9, "box": [20, 30, 120, 90]},
                  {"label": "dog", "score": 0.5, "box": [60, 40, 180, 95]}]
    drawn = np.asarray(draw_boxes(photo, detections), dtype=int)
    assert (drawn[60, 20] == label_colour("cat")).all() and (drawn[70, 60] == label_colour("dog")).all()
    assert (drawn[40, 120] == label_colour("cat")).all()  # where the edges cross, the best box is on top
    assert (drawn[5, 150] == 128).all()  # outside every box and tag: untouched
    assert np.asarray(photo).max() == 128  # the input picture is not drawn on
    only_dog = np.asarray(draw_boxes(photo, detections, highlight=1), dtype=int)
    assert (only_dog[60, 20] == 128).all() and (only_dog[70, 60] == label_colour("dog")).all()
