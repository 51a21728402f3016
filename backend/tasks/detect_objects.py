"""Object detection: an image -> labelled boxes, for the COCO classes (DETR) or for text queries (OWL-ViT, OWLv2).

Open-vocabulary models get all queries in one forward pass (the transformers pipeline runs one pass per query)
and each predicted box takes the query it scores highest on, as in the OWL-ViT paper's demo.
"""

from dataclasses import dataclass, field
from typing import Any

import torch
from PIL import Image

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, models_for, resolve_model
from backend.errors import InputError

# Score below which boxes are dropped when the caller gives no threshold; DETR scores are softmax
# probabilities (confident boxes are > 0.9), OWL scores are sigmoids that rarely exceed 0.5.
DEFAULT_THRESHOLD = {"detr": 0.5, "owlvit": 0.1, "owlv2": 0.2}


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

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "detections": [{"label", "score", "box"}, ...]}."""
        # By hand: dataclasses.asdict deep-copies every value, 14 ms for OWL-ViT's 540 boxes at threshold 0.05.
        return {"model": self.model, "detections": [
            {"label": item.label, "score": item.score, "box": list(item.box)} for item in self.detections]}


@dispatch.task(pick=lambda arguments: pick_model(arguments["model"], has_queries(arguments["queries"])),
               files={"image": "image"})
def detect_objects(
    image: Any,
    queries: str | list[str] | None = None,
    model: str | None = None,
    threshold: float | None = None,
) -> DetectionResult:
    """Find objects: with no queries the COCO classes (DETR), with queries what they describe (OWL-ViT/OWLv2)."""
    spec = pick_model(model, has_queries(queries))
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


def has_queries(queries: str | list[str] | None) -> bool:
    """Whether a request gives any text query (an open-vocabulary request)."""
    return bool(queries.strip() if isinstance(queries, str) else queries)


def pick_model(model_id: str | None, with_queries: bool) -> ModelSpec:
    """The model for a request: the one asked for, else DETR without queries or the first open-vocabulary one with."""
    if not model_id:
        open_models = [spec for spec in models_for("detect_objects") if spec.open_vocabulary]
        return open_models[0] if with_queries else resolve_model("detect_objects", None)
    spec = resolve_model("detect_objects", model_id)
    if spec.open_vocabulary and not with_queries:
        raise InputError(f"{spec.label} finds what you describe: enter text queries such as 'a cat, a red car'.")
    if not spec.open_vocabulary and with_queries:
        raise InputError(f"{spec.label} detects the 80 COCO classes and takes no text queries. Clear the queries, "
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
