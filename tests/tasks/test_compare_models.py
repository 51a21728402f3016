"""Models side by side: one column per model, each equal to calling the task alone; failures stay in their column."""

import json
from pathlib import Path

import pytest

from backend import dispatch
from backend.errors import InputError
from backend.tasks import classify_image, detect_objects, fill_mask, transcribe
from backend.tasks.compare_models import TASK_FUNCTIONS, compare_models

CLIPS = ["openai/clip-vit-base-patch32", "kakaobrain/align-base"]


def test_each_column_is_the_task_called_alone(models_dir: Path, photo: Path) -> None:
    result = compare_models("classify_image", ", ".join(CLIPS), image=photo, options='{"labels": "cat, dog, car"}')
    summary = result.to_json()
    json.dumps(summary)
    assert summary["task"] == "classify_image" and "not comparable" in summary["note"]
    assert [entry["model"] for entry in summary["results"]] == CLIPS
    for entry, model_id in zip(summary["results"], CLIPS, strict=True):
        alone = classify_image.classify_image(photo, "cat, dog, car", model=model_id).to_json()
        assert entry["result"] == alone
        assert entry["seconds"] > 0 and entry["load_seconds"] >= 0 and "error" not in entry


def test_a_failing_model_is_isolated_in_its_column(models_dir: Path, photo: Path) -> None:
    models = ["openai/clip-vit-base-patch32", "openai/not-a-model", "kakaobrain/align-base"]
    summary = compare_models("classify_image", models, image=photo, options={"labels": "cat, dog"}).to_json()
    first, unknown, third = summary["results"]
    assert unknown["model"] == "openai/not-a-model" and "Unknown model" in unknown["error"] and "result" not in unknown
    assert first["result"]["model"] == models[0] and third["result"]["model"] == models[2]


def test_a_model_that_refuses_the_input_answers_with_its_message(models_dir: Path, photo: Path) -> None:
    # DETR takes no text queries: its column says so, OWL-ViT's has the boxes.
    summary = compare_models("detect_objects", "facebook/detr-resnet-50, google/owlvit-base-patch32", image=photo,
                             options={"queries": "a cat", "threshold": 0.0}).to_json()
    detr, owl = summary["results"]
    assert "takes no text queries" in detr["error"]
    alone = detect_objects.detect_objects(photo, "a cat", model="google/owlvit-base-patch32", threshold=0.0)
    assert owl["result"] == alone.to_json()


def test_a_model_loaded_for_the_comparison_reports_its_load_time_apart(models_dir: Path, photo: Path) -> None:
    dispatch.unload_model("FacebookAI/xlm-roberta-base")
    summary = compare_models("fill_mask", "FacebookAI/xlm-roberta-base, FacebookAI/xlm-mlm-100-1280",
                             text="Paris is the <mask> of France.").to_json()
    first = summary["results"][0]
    assert first["load_seconds"] > 0 and dispatch.is_loaded("FacebookAI/xlm-roberta-base")
    alone = fill_mask.fill_mask("Paris is the <mask> of France.", model="FacebookAI/xlm-roberta-base").to_json()
    assert first["result"] == alone


def test_audio_tasks_take_part(models_dir: Path, speech_3s: Path) -> None:
    summary = compare_models("transcribe", "facebook/wav2vec2-base-960h, openai/whisper-base", audio=speech_3s,
                             options={"language": "en"}).to_json()
    assert [entry["result"]["model"] for entry in summary["results"]] == ["facebook/wav2vec2-base-960h",
                                                                           "openai/whisper-base"]
    alone = transcribe.transcribe(speech_3s, model="facebook/wav2vec2-base-960h", language="en").to_json()
    assert summary["results"][0]["result"]["text"] == alone["text"]


def test_every_task_with_one_image_text_or_audio_takes_part() -> None:
    assert set(TASK_FUNCTIONS) == {"classify_image", "detect_objects", "segment_image", "estimate_depth",
                                   "caption_image", "translate", "fill_mask", "synthesize_speech", "transcribe"}


@pytest.mark.parametrize(("arguments", "message"), [
    ({"task": "classify_video", "models": "a, b"}, "Unknown or unsupported task 'classify_video'"),
    ({"task": "no_such_task", "models": "a, b"}, "choose one of: classify_image"),
    ({"task": "classify_image", "models": "openai/clip-vit-base-patch32"}, "2 to 4 different models"),
    ({"task": "classify_image", "models": "a, a"}, "1 given"),
    ({"task": "classify_image", "models": "a, b, c, d, e"}, "5 given"),
    ({"task": "classify_image", "models": "a, b"}, "takes an image"),
    ({"task": "fill_mask", "models": "a, b", "text": "  "}, "takes a text"),
    ({"task": "classify_image", "models": "a, b", "image": "PHOTO", "options": "{labels: cat}"}, "JSON object"),
    ({"task": "classify_image", "models": "a, b", "image": "PHOTO", "options": "[1, 2]"}, "JSON object"),
    ({"task": "classify_image", "models": "a, b", "image": "PHOTO", "options": {"image": "/etc/passwd"}},
     "Unknown option"),
    ({"task": "segment_image", "models": "a, b", "image": "PHOTO", "options": {"model": "x"}}, "It takes: none"),
    ({"task": "classify_image", "models": "a, b", "image": "PHOTO", "options": {"labels": {"a": 1}}}, "plain|text"),
    ({"task": "translate", "models": "a, b", "text": "Hello"}, "needs the option"),
    ({"task": "classify_image", "models": "a, b", "image": b"not an image" * 9}, "could not be read as an image"),
])
def test_bad_comparisons_are_refused_with_a_message(models_dir: Path, photo: Path, arguments: dict,
                                                    message: str) -> None:
    arguments = {key: photo if value == "PHOTO" else value for key, value in arguments.items()}
    with pytest.raises(InputError, match=message):
        compare_models(**arguments)
