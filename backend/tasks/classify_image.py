"""Image classification: an image and free-text labels -> a probability for each label (zero-shot), or an image
alone -> the top 5 of a closed-set classifier's own classes (ViT: the 1,000 ImageNet-1k classes).

Zero-shot works for the dual-encoder models of the catalog (CLIP, ALIGN, AltCLIP). The image and each prompt are
embedded separately and compared by cosine similarity, as the models' own forward does; computing them separately
lets the text embeddings of a label set be kept with the model and reused while users try other images.
Empty labels mean the closed-set classifier, whichever zero-shot model the request names (the tab's menu starts on
CLIP), as empty queries mean DETR in object detection.
"""

from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, models_for, resolve_model
from backend.errors import InputError

DEFAULT_TEMPLATE = "a photo of {}."
MAX_TEMPLATE_CHARS = 200
# Text embeddings kept per model: one per distinct prompt, a few KB each; bounded so API callers cannot grow it.
MAX_CACHED_PROMPTS = 4096
# Families with a classification head over their own classes; they take no labels.
CLOSED_SET_FAMILIES = ("vit",)
# Classes a closed-set classifier returns: the most probable ones, as the image-classification pipeline does.
TOP_K = 5


@dataclass
class LabelScore:
    """One label and its probability."""

    label: str
    score: float  # in [0, 1]: softmax over the request's labels, or over the closed-set model's classes


@dataclass
class ClassificationResult:
    """The labels of one request, highest score first: every label given (scores sum to 1), or the top TOP_K classes."""

    model: str
    labels: list[LabelScore]

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "labels": [{"label", "score"}, ...]}."""
        return asdict(self)


@dispatch.task(pick=lambda arguments: pick_model(arguments["model"], has_any(arguments["labels"])),
               files={"image": "image"})
def classify_image(
    image: Any,
    labels: str | list[str] | None = None,
    model: str | None = None,
    template: str = DEFAULT_TEMPLATE,
) -> ClassificationResult:
    """Score each label (a list or comma/newline separated text) against the image; no labels: the top 5 classes."""
    spec = pick_model(model, has_any(labels))
    if is_closed_set(spec):
        return classify_closed_set(spec, inputs.load_image(image))
    names = inputs.split_items(labels, what="labels")
    prompts = make_prompts(template, names)
    picture = inputs.load_image(image)
    loaded = models.get(spec.id)
    with compute.model_work():
        text_embeddings = embed_prompts(loaded, prompts)  # (labels, dim), unit length
        image_embedding = embed_image(loaded, picture)  # (dim,), unit length
        logits = logit_scale(loaded.model) * (text_embeddings @ image_embedding)  # (labels,)
        scores = logits.float().softmax(dim=0).cpu().numpy()
    order = np.argsort(-scores, kind="stable")
    return ClassificationResult(
        model=spec.id,
        labels=[LabelScore(label=names[i], score=float(scores[i])) for i in order],
    )


def has_any(labels: str | list[str] | None) -> bool:
    """Whether a request gives any label (a zero-shot request) rather than none (the closed-set classes)."""
    return bool(labels.strip() if isinstance(labels, str) else labels)


def is_closed_set(spec: ModelSpec) -> bool:
    """Whether a model classifies into its own classes (and takes no labels)."""
    return spec.family in CLOSED_SET_FAMILIES


def pick_model(model_id: str | None, has_labels: bool) -> ModelSpec:
    """The model for a request: without labels the closed-set classifier, with labels the one asked for (or default).

    A zero-shot model named with empty labels gives way to the closed-set one, since empty labels ask for its classes
    (the result's "model" says which ran); the closed-set model named with labels is refused, not run without them.
    """
    if not has_labels:
        if model_id:
            resolve_model("classify_image", model_id)  # an unknown id is still an error
        return next(spec for spec in models_for("classify_image") if is_closed_set(spec))
    spec = resolve_model("classify_image", model_id)
    if is_closed_set(spec):
        raise InputError(f"{spec.label} chooses among its own ImageNet classes and takes no labels. Clear the "
                         "labels, or choose a zero-shot model (CLIP, ALIGN or AltCLIP) to score your own.")
    return spec


def classify_closed_set(spec: ModelSpec, picture: Image.Image) -> ClassificationResult:
    """The TOP_K most probable of the model's own classes (softmax over all of them), highest first."""
    loaded = models.get(spec.id)
    with compute.model_work():
        pixels = loaded.processor(images=picture, return_tensors="pt")["pixel_values"]
        logits = loaded.model(pixel_values=pixels.to(loaded.device, loaded.dtype)).logits[0]  # (classes,)
        probabilities = logits.float().softmax(dim=0)
        top = probabilities.topk(min(TOP_K, probabilities.numel()))
    id2label = loaded.model.config.id2label
    return ClassificationResult(
        model=spec.id,
        labels=[LabelScore(label=id2label[int(index)], score=float(score))
                for score, index in zip(top.values.tolist(), top.indices.tolist(), strict=True)],
    )


def make_prompts(template: str, labels: list[str]) -> list[str]:
    """One prompt per label: the template with "{}" replaced by the label."""
    template = inputs.clean_text(template, max_chars=MAX_TEMPLATE_CHARS, what="prompt template")
    if "{}" not in template:
        raise InputError('The prompt template must contain {} where the label goes, e.g. "a photo of {}."')
    return [template.replace("{}", label) for label in labels]


def embed_prompts(loaded: models.LoadedModel, prompts: list[str]) -> torch.Tensor:
    """Unit-length text embeddings, shape (len(prompts), dim); computed once per prompt and model, then reused."""
    cache: OrderedDict[str, torch.Tensor] = loaded.memo.setdefault("prompt_embeddings", OrderedDict())
    missing = list(dict.fromkeys(prompt for prompt in prompts if prompt not in cache))
    if missing:
        tokens = loaded.processor.tokenizer(missing, padding=True, truncation=True, return_tensors="pt")
        features = loaded.model.get_text_features(**tokens.to(loaded.device)).pooler_output
        features = features / features.norm(dim=-1, keepdim=True)
        for prompt, row in zip(missing, features, strict=True):
            cache[prompt] = row
    for prompt in prompts:
        cache.move_to_end(prompt)
    while len(cache) > MAX_CACHED_PROMPTS:
        cache.popitem(last=False)
    return torch.stack([cache[prompt] for prompt in prompts])


def embed_image(loaded: models.LoadedModel, picture: Image.Image) -> torch.Tensor:
    """The unit-length image embedding, shape (dim,)."""
    pixels = loaded.processor.image_processor(images=[picture], return_tensors="pt")["pixel_values"]
    features = loaded.model.get_image_features(pixel_values=pixels.to(loaded.device, loaded.dtype)).pooler_output
    return (features / features.norm(dim=-1, keepdim=True))[0]


def logit_scale(model: torch.nn.Module) -> torch.Tensor:
    """The factor applied to cosine similarities: exp(logit_scale) (CLIP, AltCLIP) or 1/temperature (ALIGN)."""
    if hasattr(model, "logit_scale"):
        return model.logit_scale.exp()
    return 1.0 / model.temperature
