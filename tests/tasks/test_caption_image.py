"""Captioning and visual questions on every catalog model, against plain `generate`, and its input rules."""

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from backend import models
from backend.catalog import find_model
from backend.errors import InputError
from backend.tasks import caption_image as task
from backend.tasks.caption_image import caption_image
from tests.conftest import ids_for

QUESTION = "what is the yellow shape?"


def plain_generate(model_id: str, picture: Image.Image, question: str, max_new_tokens: int) -> tuple[list, list]:
    """transformers' own recipe (the GIT model card's): the prompt's ids and everything `generate` returns."""
    loaded = models.get(model_id)
    processor = loaded.processor
    pixel_values = processor(images=picture, return_tensors="pt").pixel_values
    with torch.inference_mode():
        if not question:  # a caption: generate starts from the config's bos token ([CLS]) by itself
            return [], loaded.model.generate(pixel_values=pixel_values, max_new_tokens=max_new_tokens)[0].tolist()
        prompt = [processor.tokenizer.cls_token_id] + processor(text=question, add_special_tokens=False).input_ids
        generated = loaded.model.generate(pixel_values=pixel_values, input_ids=torch.tensor([prompt]),
                                          max_new_tokens=max_new_tokens)
    return prompt, generated[0].tolist()


@pytest.mark.parametrize("model_id", ids_for("caption_image"))
def test_every_model_gives_text_in_the_api_shape(models_dir: Path, photo: Path, model_id: str) -> None:
    question = QUESTION if find_model(model_id).answers_questions else ""
    result = caption_image(photo, question, model=model_id).to_json()
    assert json.loads(json.dumps(result)) == {"model": model_id, "question": question, "text": result["text"]}
    assert isinstance(result["text"], str) and result["text"] == result["text"].strip()


@pytest.mark.parametrize("model_id", ["microsoft/git-base-coco", "microsoft/git-large-coco"])
def test_caption_matches_plain_generate(models_dir: Path, photo: Path, model_id: str) -> None:
    picture = Image.open(photo).convert("RGB")
    _, generated = plain_generate(model_id, picture, "", task.MAX_CAPTION_NEW_TOKENS)
    tokenizer = models.get(model_id).processor.tokenizer
    assert generated[0] == tokenizer.cls_token_id  # the caption starts from [CLS] alone
    assert task.generate_tokens(models.get(model_id), picture, "") == generated[1:]
    expected = tokenizer.decode(generated, skip_special_tokens=True).strip()
    assert caption_image(photo, model=model_id).text == expected


def test_answer_is_the_continuation_after_the_question(models_dir: Path, photo: Path) -> None:
    model_id = "microsoft/git-base-vqav2"
    picture = Image.open(photo).convert("RGB")
    prompt, generated = plain_generate(model_id, picture, QUESTION, task.MAX_CAPTION_NEW_TOKENS)
    assert generated[: len(prompt)] == prompt and len(generated) > len(prompt)
    tokenizer = models.get(model_id).processor.tokenizer
    assert tokenizer.decode(prompt, skip_special_tokens=True) == QUESTION  # the part that is cut
    result = caption_image(photo, QUESTION, model=model_id)
    assert result.text == tokenizer.decode(generated[len(prompt):], skip_special_tokens=True).strip()
    assert result.question == QUESTION


def test_decoding_is_greedy_whatever_the_checkpoint_declares(models_dir: Path, photo: Path) -> None:
    model_id = "microsoft/git-base-coco"
    greedy = caption_image(photo, model=model_id).text
    config = models.get(model_id).model.generation_config
    config.do_sample, config.top_k = True, 0  # a checkpoint that asks for sampling from the whole vocabulary
    try:
        assert [caption_image(photo, model=model_id).text for _ in range(3)] == [greedy] * 3
    finally:
        config.do_sample, config.top_k = False, 50


def test_generation_length_is_bounded(models_dir: Path, photo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    picture = Image.open(photo).convert("RGB")
    loaded = models.get("microsoft/git-base-coco")
    monkeypatch.setattr(task, "MAX_CAPTION_NEW_TOKENS", 3)
    _, generated = plain_generate(loaded.spec.id, picture, "", 3)
    assert task.generate_tokens(loaded, picture, "") == generated[1:]
    assert 1 <= len(generated) - 1 <= 3


def test_no_model_named_picks_by_the_question(models_dir: Path, photo: Path) -> None:
    assert caption_image(photo).model == "microsoft/git-base-coco"
    assert caption_image(photo, " \n ").model == "microsoft/git-base-coco"  # blank is no question
    answered = caption_image(photo, QUESTION)
    assert answered.model == "microsoft/git-base-vqav2" and answered.question == QUESTION


def test_the_question_is_cleaned(models_dir: Path, photo: Path) -> None:
    result = caption_image(photo, "  what is\nthe yellow\x00 shape?  ", model="microsoft/git-base-vqav2")
    assert result.question == QUESTION
    assert result.text == caption_image(photo, QUESTION, model="microsoft/git-base-vqav2").text


@pytest.mark.parametrize(("question", "model_id", "message"), [
    (QUESTION, "microsoft/git-base-coco", "does not answer questions"),
    (QUESTION, "microsoft/git-large-coco", "choose GIT base VQAv2"),
    ("", "microsoft/git-base-vqav2", "answers questions about the image"),
    ("why " * 100, None, "the limit is 300"),
    ("", "microsoft/git-base-textvqa", "Unknown model"),
])
def test_bad_requests_are_refused_with_a_message(models_dir: Path, photo: Path, question: str, model_id: str | None,
                                                 message: str) -> None:
    with pytest.raises(InputError, match=message):
        caption_image(photo, question, model=model_id)
