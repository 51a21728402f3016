"""Object detection: an image -> labelled boxes, for the COCO classes (DETR), for text queries or by example
(OWL-ViT, OWLv2).

Open-vocabulary models get all queries in one forward pass (the transformers pipeline runs one pass per query)
and each predicted box takes the query it scores highest on, as in the OWL-ViT paper's demo.

By example ("image-guided"), the query is an image of the thing or a box drawn on the target image itself. A
query image is embedded as transformers' `image_guided_detection` does (the predicted box that covers the query
image best); a box on the target reuses the target's own vision pass (the predicted box that overlaps it best), so
it costs one pass instead of two. Scores are transformers' image-guided ones: similarity rescaled so the best box
is 1.0 (and boxes under a tenth of the best dropped), not probabilities.
"""

from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, models_for, resolve_model
from backend.errors import InputError
from backend.vision.by_example import detect_by_example, parse_box

# Score below which boxes are dropped when the caller gives no threshold; DETR scores are softmax
# probabilities (confident boxes are > 0.9), OWL scores are sigmoids that rarely exceed 0.5.
DEFAULT_THRESHOLD = {"detr": 0.5, "owlvit": 0.1, "owlv2": 0.2}
# By example the scores are similarities rescaled to the best box (1.0): keep boxes at least half as similar.
EXAMPLE_THRESHOLD = 0.5
# What the scores mean, per kind of query ("score_kind" in the JSON).
SCORE_KINDS = {"classes": "confidence", "text": "confidence", "example": "similarity"}
EXAMPLE_LABEL = "like the example"  # the label of boxes found by example (transformers gives none)


@dataclass
class Detection:
    """One box: what it is, how sure the model is, where it is."""

    label: str
    score: float  # in [0, 1]
    box: list[int]  # [xmin, ymin, xmax, ymax] in input-image pixels, clipped to the image


@dataclass
class DetectionResult:
    """The detections of one request, highest score first."""

    model: str
    detections: list[Detection] = field(default_factory=list)
    # "confidence" (COCO classes, text queries) or "similarity" (by example: relative to the best box, which is 1.0)
    score_kind: str = "confidence"

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "detections": [{"label", "score", "box"}, ...], "score_kind"}."""
        # By hand: dataclasses.asdict deep-copies every value, 14 ms for OWL-ViT's 540 boxes at threshold 0.05.
        return {"model": self.model, "detections": [
            {"label": item.label, "score": item.score, "box": list(item.box)} for item in self.detections],
            "score_kind": self.score_kind}


def picked(arguments: dict[str, Any]) -> ModelSpec:
    """The model of a call, from its arguments (for the dispatch point)."""
    return pick_model(arguments["model"], has_queries(arguments["queries"]),
                      by_example=arguments.get("query_image") is not None or has_box(arguments.get("query_box")))


@dispatch.task(pick=picked, files={"image": "image", "query_image": "image"})
def detect_objects(
    image: Any,
    queries: str | list[str] | None = None,
    model: str | None = None,
    threshold: float | None = None,
    query_image: Any = None,
    query_box: str | list[float] | None = None,
) -> DetectionResult:
    """Find objects: with no queries the COCO classes (DETR), with text queries what they describe, with a query
    image (or a box on the image) things like it (OWL-ViT/OWLv2)."""
    by_example = query_image is not None or has_box(query_box)
    spec = pick_model(model, has_queries(queries), by_example=by_example)
    if by_example:
        return find_by_example(spec, image, threshold, query_image, query_box)
    threshold = DEFAULT_THRESHOLD[spec.family] if threshold is None else check_threshold(threshold)
    names = inputs.split_items(queries, what="queries") if spec.open_vocabulary else []
    picture = inputs.load_image(image)
    loaded = models.get(spec.id)
    with compute.model_work():
        if spec.open_vocabulary:
            found = detect_open_vocabulary(loaded, picture, names, threshold)
        else:
            found = detect_closed_vocabulary(loaded, picture, threshold)
    found.sort(key=lambda detection: -detection.score)
    return DetectionResult(model=spec.id, detections=found)


def find_by_example(spec: ModelSpec, image: Any, threshold: float | None, query_image: Any,
                    query_box: str | list[float] | None) -> DetectionResult:
    """Boxes like a query image, or like the part of the image inside `query_box`; scores are similarities."""
    if query_image is not None and has_box(query_box):
        raise InputError("Give the example either as a query image or as a box on the image, not both.")
    threshold = EXAMPLE_THRESHOLD if threshold is None else check_threshold(threshold)
    picture = inputs.load_image(image)
    query = None
    box = None
    if query_image is not None:
        try:
            query = inputs.load_image(query_image)
        except InputError as error:
            raise InputError(f"The query image: {error}") from error
    else:
        box = parse_box(query_box, picture.width, picture.height)
    loaded = models.get(spec.id)
    with compute.model_work():
        scores, boxes = detect_by_example(loaded, picture, query=query, box=box)
    keep = scores >= threshold
    found = to_detections([EXAMPLE_LABEL] * int(keep.sum()), scores[keep], boxes[keep], picture)
    found.sort(key=lambda detection: -detection.score)
    return DetectionResult(model=spec.id, detections=found, score_kind=SCORE_KINDS["example"])


def has_queries(queries: str | list[str] | None) -> bool:
    """Whether a request gives any text query (an open-vocabulary request)."""
    return bool(queries.strip() if isinstance(queries, str) else queries)


def has_box(query_box: str | list[float] | None) -> bool:
    """Whether a request gives a box on the image as its example."""
    return bool(query_box.strip() if isinstance(query_box, str) else query_box)


def pick_model(model_id: str | None, with_queries: bool, by_example: bool = False) -> ModelSpec:
    """The model for a request: the one asked for, else DETR without queries or the first open-vocabulary one with
    text queries or an example."""
    if by_example and with_queries:
        raise InputError("Search either by text queries or by an example (query image or box), not both: clear "
                         "the text queries or remove the example.")
    wants_open = with_queries or by_example
    if not model_id:
        open_models = [spec for spec in models_for("detect_objects") if spec.open_vocabulary]
        return open_models[0] if wants_open else resolve_model("detect_objects", None)
    spec = resolve_model("detect_objects", model_id)
    if spec.open_vocabulary and not wants_open:
        raise InputError(f"{spec.label} finds what you describe: enter text queries such as 'a cat, a red car', "
                         "or give a query image.")
    if not spec.open_vocabulary and wants_open:
        what = "text queries" if with_queries else "query images"
        raise InputError(f"{spec.label} detects the 80 COCO classes and takes no {what}. Clear them, "
                         "or choose an open-vocabulary model (OWL-ViT or OWLv2).")
    return spec


def check_threshold(threshold: float) -> float:
    """The score threshold, which must lie in [0, 1]."""
    try:
        value = float(threshold)
    except (TypeError, ValueError) as error:
        raise InputError("The score threshold must be a number between 0 and 1.") from error
    if not 0.0 <= value <= 1.0:
        raise InputError("The score threshold must be between 0 and 1.")
    return value


def detect_closed_vocabulary(loaded: models.LoadedModel, picture: Image.Image, threshold: float) -> list[Detection]:
    """Boxes for the model's own classes (DETR: COCO)."""
    features = loaded.processor(images=picture, return_tensors="pt").to(loaded.device)
    features["pixel_values"] = features["pixel_values"].to(loaded.dtype)
    outputs = loaded.model(**features)
    result = loaded.processor.post_process_object_detection(
        outputs, threshold=threshold, target_sizes=[(picture.height, picture.width)]
    )[0]
    id2label = loaded.model.config.id2label
    labels = [id2label[int(index)] for index in result["labels"]]
    return to_detections(labels, result["scores"], result["boxes"], picture)


def detect_open_vocabulary(
    loaded: models.LoadedModel, picture: Image.Image, queries: list[str], threshold: float
) -> list[Detection]:
    """Boxes for free-text queries, all queries in one forward pass."""
    features = loaded.processor(text=[queries], images=picture, return_tensors="pt").to(loaded.device)
    features["pixel_values"] = features["pixel_values"].to(loaded.dtype)
    outputs = loaded.model(**features)
    # OWLv2 pads images to a square; its post-processing accounts for that given the original size.
    result = loaded.processor.post_process_grounded_object_detection(
        outputs, threshold=threshold, target_sizes=[(picture.height, picture.width)]
    )[0]
    labels = [queries[int(index)] for index in result["labels"]]
    return to_detections(labels, result["scores"], result["boxes"], picture)


def to_detections(
    labels: list[str], scores: torch.Tensor, boxes: torch.Tensor, picture: Image.Image
) -> list[Detection]:
    """Detections with integer boxes clipped to the image; boxes is (n, 4) xmin, ymin, xmax, ymax in pixels."""
    limits = torch.tensor([picture.width, picture.height, picture.width, picture.height], dtype=torch.float32)
    boxes = torch.minimum(boxes.float().clamp(min=0), limits).round().int().tolist()
    return [
        Detection(label=label, score=float(score), box=box)
        for label, score, box in zip(labels, scores.float().tolist(), boxes, strict=True)
    ]
