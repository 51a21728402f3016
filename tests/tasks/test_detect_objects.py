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


# --- by example (image-guided) -------------------------------------------------------------------------------------

OWL_MODELS = ["google/owlvit-base-patch32", "google/owlv2-base-patch16-ensemble"]


@pytest.fixture
def owl_with_boxes(models_dir: Path):
    """The tiny OWL models with their box head's last layer zeroed, for this test only.

    The random tiny heads saturate: every predicted box comes out as the same zero-height line, so no box overlaps
    a query and transformers' own `embed_image_query` finds none. Zeroed, each patch predicts its prior box (its
    own cell), as a trained head roughly does, and the image-guided path has something to choose from.
    """
    import torch

    saved = []

    def load(model_id: str) -> models.LoadedModel:
        loaded = models.get(model_id)
        loaded.memo.pop("query_embeddings", None)  # embeddings made with the untouched head do not count
        for parameter in loaded.model.box_head.dense2.parameters():
            saved.append((parameter, parameter.detach().clone()))
            with torch.no_grad():
                parameter.zero_()
        return loaded

    yield load
    with torch.no_grad():
        for parameter, value in saved:
            parameter.copy_(value)
    for model_id in OWL_MODELS:
        if models.CACHE.is_loaded(model_id):
            models.get(model_id).memo.pop("query_embeddings", None)


def transformers_image_guided(loaded: models.LoadedModel, target: Image.Image, query: Image.Image) -> dict:
    """transformers' own image-guided detection and post-processing of `query` in `target`, boxes clipped."""
    import torch

    features = loaded.processor(images=target, query_images=query, return_tensors="pt")
    with torch.no_grad():
        outputs = loaded.model.image_guided_detection(**features)
    result = loaded.processor.post_process_image_guided_detection(
        outputs, threshold=0.0, nms_threshold=0.3, target_sizes=torch.tensor([[target.height, target.width]]))[0]
    limits = torch.tensor([target.width, target.height, target.width, target.height])
    boxes = torch.minimum(result["boxes"].clamp(min=0), limits)
    order = torch.argsort(-result["scores"])
    return {"scores": result["scores"][order].tolist(), "boxes": boxes[order].tolist()}


def assert_same_detections(ours: list, theirs: dict) -> None:
    """Our detections are transformers' boxes and scores, in the same order."""
    assert len(ours) == len(theirs["scores"]) > 1
    for mine, score, box in zip(ours, theirs["scores"], theirs["boxes"], strict=True):
        assert mine.label == "like the example"
        assert mine.score == pytest.approx(score, abs=1e-5)
        assert mine.box == pytest.approx(box, abs=1)


@pytest.mark.parametrize("model_id", OWL_MODELS)
def test_a_query_image_matches_transformers_image_guided_detection(owl_with_boxes, photo: Path,
                                                                   model_id: str) -> None:
    loaded = owl_with_boxes(model_id)
    target = Image.open(photo).convert("RGB")
    query = target.crop((900, 200, 1400, 1000))  # the blue rectangle
    result = detect_objects(photo, model=model_id, threshold=0.0, query_image=query)
    assert result.score_kind == "similarity" and result.to_json()["score_kind"] == "similarity"
    assert result.detections[0].score == pytest.approx(1.0, abs=1e-4)  # rescaled: the best box is 1.0
    assert_same_detections(result.detections, transformers_image_guided(loaded, target, query))
    check_detections(result.to_json(), {"like the example"})
    passes = []
    embedder = loaded.model.image_embedder
    loaded.model.image_embedder = lambda **kw: passes.append(kw["pixel_values"].shape[0]) or embedder(**kw)
    try:  # the same example again: its embedding is remembered, only the photo goes through the vision model
        again = detect_objects(photo, model=model_id, threshold=0.0, query_image=query.copy())
    finally:
        del loaded.model.image_embedder
    assert passes == [1]  # (the photo alone, not batched with the query: the last bits of the scores may differ)
    assert_same_detections(again.detections, {"scores": [item.score for item in result.detections],
                                              "boxes": [item.box for item in result.detections]})


def square_image(tmp_path: Path) -> tuple[Image.Image, Path]:
    """A 480x480 picture and its PNG file."""
    square = Image.effect_mandelbrot((480, 480), (-2, -1.5, 1, 1.5), 60).convert("RGB")
    path = tmp_path / "square.png"
    square.save(path)
    return square, path


def test_the_whole_image_as_the_box_is_the_image_as_the_query(owl_with_boxes, tmp_path: Path) -> None:
    loaded = owl_with_boxes("google/owlvit-base-patch32")
    square, path = square_image(tmp_path)
    # OWL-ViT picks the query box within a query image by its overlap with the whole query image: the same rule
    # applied to a box covering the whole target is transformers' result for the target as its own query.
    whole = detect_objects(path, model="google/owlvit-base-patch32", threshold=0.0, query_box="0, 0, 480, 480")
    assert_same_detections(whole.detections, transformers_image_guided(loaded, square, square))


@pytest.mark.parametrize("model_id", OWL_MODELS)
def test_a_box_on_the_image_is_the_query_without_a_second_pass(owl_with_boxes, tmp_path: Path,
                                                               model_id: str) -> None:
    import torch

    loaded = owl_with_boxes(model_id)
    square, path = square_image(tmp_path)
    passes = []
    embedder = loaded.model.image_embedder
    loaded.model.image_embedder = lambda **kw: passes.append(kw["pixel_values"].shape[0]) or embedder(**kw)
    try:
        # With the zeroed box head each patch predicts a quarter-size box centred on it: this is patch 2's (of 4x4).
        ours = detect_objects(path, model=model_id, threshold=0.0, query_box=[300, 60, 420, 180]).detections
    finally:
        del loaded.model.image_embedder
    assert passes == [1]  # one image through the vision model
    model = loaded.model
    with torch.no_grad():  # transformers' own parts and post-processing with patch 2's embedding as the query
        pixels = loaded.processor(images=square, return_tensors="pt")["pixel_values"]
        feature_map = model.image_embedder(pixel_values=pixels)[0]
        features = feature_map.flatten(1, 2)
        query = model.class_predictor(features)[1][:, 2]
        outputs = type("Outputs", (), {"logits": model.class_predictor(features, query_embeds=query)[0],
                                       "target_pred_boxes": model.box_predictor(features, feature_map)})
        expected = loaded.processor.post_process_image_guided_detection(
            outputs, threshold=0.0, nms_threshold=0.3, target_sizes=torch.tensor([[480, 480]]))[0]
    order = torch.argsort(-expected["scores"])
    assert_same_detections(ours, {"scores": expected["scores"][order].tolist(),
                                  "boxes": expected["boxes"][order].clamp(0, 480).tolist()})


def test_threshold_filters_by_example_scores(owl_with_boxes, photo: Path) -> None:
    owl_with_boxes("google/owlvit-base-patch32")
    query = Image.open(photo).convert("RGB").crop((200, 300, 700, 900))
    every = detect_objects(photo, model="google/owlvit-base-patch32", threshold=0.0, query_image=query).detections
    kept = detect_objects(photo, model="google/owlvit-base-patch32", threshold=0.5, query_image=query).detections
    assert kept == [item for item in every if item.score >= 0.5] and len(kept) < len(every)
    default = detect_objects(photo, query_image=query)  # no model named: the first OWL model, threshold 0.5
    assert default.model == "google/owlvit-base-patch32" and all(item.score >= 0.5 for item in default.detections)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"query_image": b"not an image at all" * 10, "model": "google/owlvit-base-patch32"},
     "The query image: The file could not be read as an image"),
    ({"query_image": "PHOTO", "model": "facebook/detr-resnet-50"}, "takes no query images"),
    ({"query_image": "PHOTO", "queries": "a cat"}, "either by text queries or by an example"),
    ({"query_image": "PHOTO", "query_box": "1, 2, 30, 40"}, "not both"),
    ({"query_box": "1, 2, 3"}, "four numbers"),
    ({"query_box": "left, top, right, bottom"}, "four numbers"),
    ({"query_box": "5000, 5000, 6000, 6000"}, "must lie on the image"),
])
def test_bad_examples_are_refused_with_a_message(models_dir: Path, photo: Path, arguments: dict,
                                                 message: str) -> None:
    arguments = {key: photo if value == "PHOTO" else value for key, value in arguments.items()}
    with pytest.raises(InputError, match=message):
        detect_objects(photo, **arguments)
