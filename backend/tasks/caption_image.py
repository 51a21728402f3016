"""Image captioning and visual questions with GIT: an image -> a caption; an image and a question -> an answer.

GIT is one transformer decoder that reads the image's patch embeddings as a prefix of the text. A caption is
generated after the [CLS] token alone. For a question (the VQAv2 model), [CLS] and the question's tokens, without
[SEP], are the prompt and the answer is what the model generates after them: the prompt's tokens are cut from the
output before decoding. Decoding is greedy, so the same image and question give the same text, and at most
MAX_CAPTION_NEW_TOKENS tokens long.

Which model runs: the one asked for; with none named, GIT base COCO for a caption and the question-answering model
for a question. A model named explicitly is never swapped: a question to a captioning model, or no question to
the question-answering model, is an InputError that says what to change.
"""

from dataclasses import asdict, dataclass
from typing import Any

import torch
from PIL import Image

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, default_model, models_for, resolve_model
from backend.errors import InputError
from backend.limits import MAX_CAPTION_NEW_TOKENS, MAX_QUESTION_CHARS

TASK = "caption_image"


@dataclass
class CaptionResult:
    """A caption of an image, or the answer to a question about it."""

    model: str
    question: str  # as the model read it (cleaned); "" for a caption
    text: str  # the caption or the answer

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "question", "text"}."""
        return asdict(self)


@dispatch.task(pick=lambda arguments: pick_model(arguments["model"], bool(clean_question(arguments["question"]))),
               files={"image": "image"})
def caption_image(image: Any, question: str | None = None, model: str | None = None) -> CaptionResult:
    """Caption an image, or answer a question about it (empty question: a caption)."""
    question = clean_question(question)
    spec = pick_model(model, bool(question))
    picture = inputs.load_image(image)
    loaded = models.get(spec.id)
    with compute.model_work():
        tokens = generate_tokens(loaded, picture, question)
    text = loaded.processor.tokenizer.decode(tokens, skip_special_tokens=True).strip()
    return CaptionResult(model=spec.id, question=question, text=text)


def clean_question(question: str | None) -> str:
    """The question on one line without control characters ("" when none); too long is an InputError."""
    cleaned = " ".join(inputs.strip_controls(str(question or "")).split())
    if len(cleaned) > MAX_QUESTION_CHARS:
        raise InputError(f"The question is {len(cleaned):,} characters long; the limit is {MAX_QUESTION_CHARS:,}. "
                         "Ask something shorter.")
    return cleaned


def question_model() -> ModelSpec:
    """The catalog's model for questions about an image."""
    return next(spec for spec in models_for(TASK) if spec.answers_questions)


def pick_model(model_id: str | None, has_question: bool) -> ModelSpec:
    """The model for a request: the one asked for, else the default captioner, or the VQA model for a question."""
    if not model_id:
        return question_model() if has_question else default_model(TASK)
    spec = resolve_model(TASK, model_id)
    if spec.answers_questions and not has_question:
        raise InputError(f"{spec.label} answers questions about the image: type one, such as 'what is the cat lying "
                         "on?', or choose a captioning model for a caption.")
    if has_question and not spec.answers_questions:
        raise InputError(f"{spec.label} writes captions and does not answer questions. Clear the question for a "
                         f"caption, or choose {question_model().label} (or no model) to have it answered.")
    return spec


def prompt_ids(tokenizer: Any, question: str) -> list[int]:
    """The text prompt: [CLS], then the question's tokens without [SEP] (a caption starts from [CLS] alone)."""
    question_ids = tokenizer(question, add_special_tokens=False)["input_ids"] if question else []
    return [tokenizer.cls_token_id, *question_ids]


def generate_tokens(loaded: models.LoadedModel, picture: Image.Image, question: str) -> list[int]:
    """The generated token ids after the prompt (the caption's or the answer's), [SEP] included if reached."""
    pixel_values = loaded.processor(images=picture, return_tensors="pt")["pixel_values"]
    pixel_values = pixel_values.to(device=loaded.device, dtype=loaded.dtype)  # (1, 3, side, side)
    prompt = torch.tensor([prompt_ids(loaded.processor.tokenizer, question)], device=loaded.device)  # (1, n)
    generated = loaded.model.generate(pixel_values=pixel_values, input_ids=prompt,
                                      attention_mask=torch.ones_like(prompt), max_new_tokens=MAX_CAPTION_NEW_TOKENS,
                                      do_sample=False, num_beams=1)
    return generated[0, prompt.shape[1]:].tolist()
