"""Zero-shot image classification: an image and free-text labels -> a probability for each label.

Works for the dual-encoder models of the catalog (CLIP, ALIGN, AltCLIP). The image and each prompt are embedded
separately and compared by cosine similarity, as the models' own forward does; computing them separately lets
the text embeddings of a label set be kept with the model and reused while users try other images.
"""

from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from backend import compute, dispatch, inputs, models
from backend.catalog import resolve_model
from backend.errors import InputError

DEFAULT_TEMPLATE = "a photo of {}."
MAX_TEMPLATE_CHARS = 200
# Text embeddings kept per model: one per distinct prompt, a few KB each; bounded so API callers cannot grow it.
MAX_CACHED_PROMPTS = 4096


@dataclass
class LabelScore:
    """One label and its probability."""

    label: str
    score: float  # softmax over the request's labels, in [0, 1]


@dataclass
class ClassificationResult:
    """The labels of one request, highest score first; scores sum to 1."""

    model: str
    labels: list[LabelScore]

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "labels": [{"label", "score"}, ...]}."""
        return asdict(self)


@dispatch.task(files={"image": "image"})
def classify_image(
    image: Any,
    labels: str | list[str],
    model: str | None = None,
    template: str = DEFAULT_TEMPLATE,
) -> ClassificationResult:
    """Score how well each label describes the image; labels may be a list or comma/newline separated text."""
    spec = resolve_model("classify_image", model)
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
