"""OWL-ViT / OWLv2 detection by example: boxes in a target image like a query image, or like a box on the target.

With a query image this computes what transformers' `image_guided_detection` computes, from the model's own parts
(`image_embedder`, `embed_image_query`, `class_predictor`, `box_predictor`), then its
`post_process_image_guided_detection`. With a box on the target, the query embedding is taken from the target's own
vision pass, so no second pass: among the predicted boxes that overlap the drawn one nearly best, OWL-ViT takes the
one least like the image's average (as its `embed_image_query` does within a query image) and OWLv2 the most
object-like one (its objectness head, as its `embed_image_query` does).
"""

import hashlib
from collections import OrderedDict
from typing import Any

import torch
from PIL import Image
from transformers.models.owlvit.modeling_owlvit import box_iou, center_to_corners_format, generalized_box_iou

from backend import models
from backend.errors import InputError

# IoU above which a lower-scored box is suppressed (transformers' default for image-guided detection).
NMS_THRESHOLD = 0.3
# Among the predicted boxes, those within this share of the best overlap with the query box are candidates
# (transformers' `embed_image_query` uses 0.8).
CANDIDATE_SHARE = 0.8
MIN_BOX_SIDE = 4  # px: a drawn box smaller than this is a click, not a box
# Query embeddings kept per model, by the query image's content: searching several photos for one example (or
# searching one photo again) skips the query's vision pass. One entry is one vector (512 or 768 floats).
MAX_CACHED_QUERIES = 32


def detect_by_example(loaded: models.LoadedModel, picture: Image.Image, query: Image.Image | None = None,
                      box: tuple[float, float, float, float] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Scores (n,) in (0, 1] with the best 1.0, and boxes (n, 4) xmin, ymin, xmax, ymax in `picture`'s pixels, of
    the boxes like `query` (an image) or like `box` (pixels of `picture`); exactly one of the two is given."""
    model = loaded.model
    pixel_values = loaded.processor(images=picture, return_tensors="pt")["pixel_values"]
    cache: OrderedDict[str, torch.Tensor] = loaded.memo.setdefault("query_embeddings", OrderedDict())
    key = query_key(query) if query is not None else ""
    query_embeds = cache.get(key) if query is not None else None
    if query is not None and query_embeds is None:
        query_pixels = loaded.processor(images=query, return_tensors="pt")["pixel_values"]
        # Both images in one vision pass (the processor gives both the same square size).
        pixel_values = torch.cat([pixel_values, query_pixels])
    feature_maps = model.image_embedder(pixel_values=pixel_values.to(loaded.device, loaded.dtype))[0]
    feature_map = feature_maps[:1]  # (1, patches_h, patches_w, hidden)
    image_feats = feature_map.flatten(1, 2)  # (1, patches, hidden)
    if query is not None:
        if query_embeds is None:
            query_map = feature_maps[1:]
            query_embeds = model.embed_image_query(query_map.flatten(1, 2), query_map)[0]
            if query_embeds is None:  # no predicted box touches the query image (untrained heads only)
                raise InputError("No object was found in the query image; crop it closer around the thing to find.")
            cache[key] = query_embeds
        cache.move_to_end(key)
        while len(cache) > MAX_CACHED_QUERIES:
            cache.popitem(last=False)
    else:
        query_embeds = embed_box(model, image_feats, feature_map, normalized_box(box, picture, loaded),
                                 by_objectness=loaded.spec.family == "owlv2")
    logits = model.class_predictor(image_feats=image_feats, query_embeds=query_embeds)[0]
    target_boxes = model.box_predictor(image_feats, feature_map)
    outputs = _Outputs(logits=logits.float(), target_pred_boxes=target_boxes.float())
    result = loaded.processor.post_process_image_guided_detection(
        outputs, threshold=0.0, nms_threshold=NMS_THRESHOLD,
        target_sizes=torch.tensor([[picture.height, picture.width]]))
    if not result:  # transformers skips an image whose every score is zero
        return torch.zeros(0), torch.zeros(0, 4)
    return result[0]["scores"].float().cpu(), result[0]["boxes"].float().cpu()


def query_key(query: Image.Image) -> str:
    """A key for a query image's content (its size, mode and pixels)."""
    digest = hashlib.sha256(f"{query.size}{query.mode}".encode())
    digest.update(query.tobytes())
    return digest.hexdigest()


class _Outputs:
    """The two fields of an image-guided output that transformers' post-processing reads."""

    def __init__(self, logits: torch.Tensor, target_pred_boxes: torch.Tensor) -> None:
        self.logits = logits  # (1, patches, 1)
        self.target_pred_boxes = target_pred_boxes  # (1, patches, 4) centre x, centre y, width, height in 0..1


def normalized_box(box: tuple[float, float, float, float], picture: Image.Image,
                   loaded: models.LoadedModel) -> torch.Tensor:
    """A pixel box as the model's 0..1 corner coordinates: OWL-ViT stretches the image to a square, OWLv2 pads it
    at the bottom and right to one."""
    xmin, ymin, xmax, ymax = box
    if loaded.spec.family == "owlv2":
        side = max(picture.width, picture.height)
        scale = [side, side, side, side]
    else:
        scale = [picture.width, picture.height, picture.width, picture.height]
    return torch.tensor([[xmin / scale[0], ymin / scale[1], xmax / scale[2], ymax / scale[3]]])


def embed_box(model: Any, image_feats: torch.Tensor, feature_map: torch.Tensor, box: torch.Tensor,
              by_objectness: bool) -> torch.Tensor:
    """(1, hidden) the class embedding of the predicted box that stands for `box` (1, 4 corners in 0..1): among the
    boxes overlapping it nearly best, the most object-like (`by_objectness`, OWLv2) or the one least like the
    image's average (OWL-ViT)."""
    class_embeds = model.class_predictor(image_feats)[1][0]  # (patches, hidden)
    predicted = center_to_corners_format(model.box_predictor(image_feats, feature_map)[0])  # (patches, 4)
    box = box.to(predicted.device, predicted.dtype)
    ious = box_iou(box, predicted)[0][0]
    if torch.all(ious == 0):
        ious = generalized_box_iou(box, predicted)[0]
    ious = torch.nan_to_num(ious, nan=-1.0)  # zero-area predictions (untrained heads) give 0/0
    best_overlap = ious.max()
    # Within CANDIDATE_SHARE of the best; below the best too when generalized IoUs are all negative.
    candidates = (ious >= best_overlap - (1 - CANDIDATE_SHARE) * best_overlap.abs()).nonzero().squeeze(1)
    if by_objectness:
        objectness = model.objectness_predictor(image_feats)[0]  # (patches,)
        best = candidates[torch.argmax(objectness[candidates])]
    else:
        mean_embed = class_embeds.mean(dim=0)
        best = candidates[torch.argmin(class_embeds[candidates] @ mean_embed)]
    return class_embeds[best].unsqueeze(0)


def parse_box(query_box: str | list[float] | None, width: int, height: int) -> tuple[float, float, float, float]:
    """A box "xmin, ymin, xmax, ymax" (or a list) in pixels of the image, ordered and clipped to it."""
    values = query_box.replace(",", " ").split() if isinstance(query_box, str) else list(query_box or [])
    try:
        numbers = [float(value) for value in values]
    except (TypeError, ValueError) as error:
        raise InputError("The query box must be four numbers, xmin, ymin, xmax, ymax, in pixels.") from error
    if len(numbers) != 4:
        raise InputError("The query box must be four numbers, xmin, ymin, xmax, ymax, in pixels.")
    x_one, y_one, x_two, y_two = numbers
    xmin, xmax = sorted((min(max(x_one, 0), width), min(max(x_two, 0), width)))
    ymin, ymax = sorted((min(max(y_one, 0), height), min(max(y_two, 0), height)))
    if xmax - xmin < MIN_BOX_SIDE or ymax - ymin < MIN_BOX_SIDE:
        raise InputError(f"The query box must lie on the image and be at least {MIN_BOX_SIDE} pixels wide and high; "
                         "click two opposite corners of the thing to find.")
    return xmin, ymin, xmax, ymax
