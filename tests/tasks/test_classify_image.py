"""Image classification on every catalog model, against the transformers pipelines, and its input rules.

Zero-shot models score the labels given; with empty labels the closed-set ViT gives its top 5 ImageNet classes.
"""

import json
from pathlib import Path

import pytest
from PIL import Image

from backend import models
from backend.errors import InputError
from backend.tasks.classify_image import DEFAULT_TEMPLATE, TOP_K, classify_image
from tests.conftest import ids_for

VIT = "google/vit-base-patch16-224"
ZERO_SHOT_IDS = [model_id for model_id in ids_for("classify_image") if model_id != VIT]


@pytest.mark.parametrize("model_id", ZERO_SHOT_IDS)
def test_scores_are_sorted_probabilities_over_the_labels(models_dir: Path, photo: Path, model_id: str) -> None:
    result = classify_image(photo, "cat, dog\ncar, a person", model=model_id).to_json()
    json.dumps(result)  # the API returns it as JSON
    scores = [item["score"] for item in result["labels"]]
    assert result["model"] == model_id
    assert sorted(item["label"] for item in result["labels"]) == ["a person", "car", "cat", "dog"]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("model_id", ZERO_SHOT_IDS)
def test_scores_match_the_transformers_pipeline(models_dir: Path, photo: Path, model_id: str) -> None:
    from transformers import pipeline

    loaded = models.get(model_id)
    reference = pipeline("zero-shot-image-classification", model=loaded.model,
                         tokenizer=loaded.processor.tokenizer, image_processor=loaded.processor.image_processor)
    labels = ["cat", "dog", "car"]
    expected = reference(Image.open(photo), candidate_labels=labels, hypothesis_template=DEFAULT_TEMPLATE)
    ours = classify_image(photo, labels, model=model_id)
    assert {item.label: item.score for item in ours.labels} == pytest.approx(
        {item["label"]: item["score"] for item in expected}, abs=1e-4)


def test_altclip_takes_chinese_and_french_labels(models_dir: Path, photo: Path) -> None:
    result = classify_image(photo, "猫, 狗, voiture", model="BAAI/AltCLIP", template="{}")
    assert {item.label for item in result.labels} == {"猫", "狗", "voiture"}
    assert sum(item.score for item in result.labels) == pytest.approx(1.0, abs=1e-5)


def test_label_embeddings_are_cached_and_give_the_same_scores(models_dir: Path, photo: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = "openai/clip-vit-base-patch32"
    labels = [f"label number {number}" for number in range(50)]
    first = classify_image(photo, labels, model=model_id)
    loaded = models.get(model_id)
    calls = []
    original = loaded.model.get_text_features
    monkeypatch.setattr(loaded.model, "get_text_features", lambda **kw: calls.append(kw) or original(**kw))
    second = classify_image(photo, labels, model=model_id)
    assert calls == []  # all 50 prompts came from the cache
    assert [item.label for item in second.labels] == [item.label for item in first.labels]
    assert [item.score for item in second.labels] == pytest.approx([item.score for item in first.labels])
    classify_image(photo, [*labels[:49], "a new label"], model=model_id)
    assert len(calls) == 1 and calls[0]["input_ids"].shape[0] == 1  # only the new prompt is embedded


def test_default_model_is_used_when_none_is_given(models_dir: Path, photo: Path) -> None:
    assert classify_image(photo, "cat, dog").model == "openai/clip-vit-large-patch14"


@pytest.mark.parametrize("labels", ["", "  \n ", None, []])
def test_empty_labels_give_the_top_imagenet_classes(models_dir: Path, photo: Path, labels: object) -> None:
    result = classify_image(photo, labels).to_json()
    json.dumps(result)
    names = set(models.get(VIT).model.config.id2label.values())
    scores = [item["score"] for item in result["labels"]]
    assert result["model"] == VIT
    assert len(names) == 1000 and len(result["labels"]) == TOP_K
    assert {item["label"] for item in result["labels"]} <= names
    assert scores == sorted(scores, reverse=True)
    assert 0.0 < sum(scores) < 1.0  # the top 5 of a softmax over 1,000 classes


def test_vit_top_classes_match_the_image_classification_pipeline(models_dir: Path, photo: Path) -> None:
    from transformers import pipeline

    loaded = models.get(VIT)
    reference = pipeline("image-classification", model=loaded.model, image_processor=loaded.processor)
    expected = reference(Image.open(photo), top_k=TOP_K)
    ours = classify_image(photo, "", model=VIT).labels
    assert [item.label for item in ours] == [item["label"] for item in expected]
    assert [item.score for item in ours] == pytest.approx([item["score"] for item in expected], abs=1e-5)


@pytest.mark.parametrize("model_id", ZERO_SHOT_IDS)
def test_a_zero_shot_model_with_empty_labels_gives_way_to_vit(models_dir: Path, photo: Path, model_id: str) -> None:
    named = classify_image(photo, "", model=model_id)
    assert named.model == VIT  # the result says which model ran
    assert named == classify_image(photo, "", model=VIT)


def test_vit_with_labels_is_refused_rather_than_ignoring_them(models_dir: Path, photo: Path) -> None:
    with pytest.raises(InputError, match="takes no labels. Clear the labels, or choose a zero-shot model"):
        classify_image(photo, "cat, dog", model=VIT)


@pytest.mark.parametrize(("labels", "message"), [
    (" , ,\n", "at least one"),  # labels given, but none of them non-empty: as for detection queries
    (",".join(f"label {n}" for n in range(500)), "50"),
])
def test_bad_labels_are_refused_with_a_message(models_dir: Path, photo: Path, labels: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        classify_image(photo, labels, model="openai/clip-vit-base-patch32")


def test_duplicate_labels_are_merged(models_dir: Path, photo: Path) -> None:
    result = classify_image(photo, "cat, Cat, dog, cat", model="openai/clip-vit-base-patch32")
    assert sorted(item.label for item in result.labels) == ["cat", "dog"]


def test_template_must_have_a_slot_for_the_label(models_dir: Path, photo: Path) -> None:
    with pytest.raises(InputError, match="must contain"):
        classify_image(photo, "cat, dog", model="openai/clip-vit-base-patch32", template="a photo")


@pytest.mark.parametrize("labels", ["cat", ""])
def test_unknown_model_is_an_input_error(photo: Path, labels: str) -> None:
    with pytest.raises(InputError, match="Unknown model"):
        classify_image(photo, labels, model="facebook/detr-resnet-50")
