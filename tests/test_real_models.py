"""Opt in: every catalog model with its real weights from the Hugging Face Hub (network, about 15 GB of downloads).

    python -m pytest -m real_models

These check that the real checkpoints load through our cache and give sensible answers on the example assets;
the rest of the suite cannot, as it runs offline on tiny random models.
"""

from pathlib import Path

import pytest

from backend import models
from backend.classify_image import classify_image
from backend.detect_objects import detect_objects
from backend.estimate_depth import estimate_depth
from backend.synthesize_speech import synthesize_speech
from backend.transcribe import transcribe
from backend.translate import translate
from tests.conftest import ids_for

pytestmark = pytest.mark.real_models
ASSETS = Path(__file__).resolve().parent.parent / "assets"


@pytest.fixture(autouse=True)
def one_model_at_a_time() -> None:
    """Real models are large: unload each after its test."""
    yield
    models.unload_all()


@pytest.mark.parametrize("model_id", ids_for("classify_image"))
def test_classify_image_finds_the_cat(model_id: str) -> None:
    labels = "猫, 狗, 汽车" if model_id == "BAAI/AltCLIP" else "a cat, a dog, a car"
    result = classify_image(ASSETS / "images" / "chelsea.jpg", labels, model=model_id)
    assert result.labels[0].label in {"a cat", "猫"} and result.labels[0].score > 0.5


@pytest.mark.parametrize("model_id", ids_for("detect_objects"))
def test_detect_objects_finds_the_person(model_id: str) -> None:
    queries = "" if model_id == "facebook/detr-resnet-50" else "a person"
    result = detect_objects(ASSETS / "images" / "astronaut.jpg", queries, model=model_id)
    assert result.detections and result.detections[0].label in {"person", "a person"}


@pytest.mark.parametrize("model_id", ids_for("estimate_depth"))
def test_estimate_depth_has_range(model_id: str) -> None:
    result = estimate_depth(ASSETS / "images" / "coffee.jpg", model=model_id)
    assert result.depth.max() > result.depth.min()
    if result.metric:
        assert 0.1 < result.depth.min() < result.depth.max() < 20.0  # metres, indoors


@pytest.mark.parametrize("model_id", ids_for("translate"))
def test_translate_french_to_english(model_id: str) -> None:
    result = translate("Bonjour, comment allez-vous ?", "French", "English", model=model_id)
    assert "how are you" in result.translation.lower()


@pytest.mark.parametrize("model_id", [model_id for model_id in ids_for("transcribe")
                                      if model_id != "facebook/wav2vec2-xls-r-300m-21-to-en"])
def test_transcribe_the_english_clip(model_id: str) -> None:
    result = transcribe(ASSETS / "audio" / "en.wav", model=model_id)
    assert "weather" in result.text.lower() and result.language in {"en", "eng"}


def test_mms_transcribes_french_with_its_adapter_and_mms_lid_hears_french() -> None:
    chosen = transcribe(ASSETS / "audio" / "fr.wav", model="facebook/mms-1b-all", language="fra")
    assert "bonjour" in chosen.text.lower() and chosen.language == "fra"
    detected = transcribe(ASSETS / "audio" / "fr.wav", model="facebook/mms-1b-all", language="auto")
    assert detected.language == "fra" and detected.language_candidates[0].language == "fra"
    assert detected.text == chosen.text


def test_xls_r_translates_the_french_clip_into_english() -> None:
    result = transcribe(ASSETS / "audio" / "fr.wav", model="facebook/wav2vec2-xls-r-300m-21-to-en", task="translate")
    assert any(word in result.text.lower() for word in ("hello", "market", "noon", "eight"))


@pytest.mark.parametrize("model_id", ids_for("synthesize_speech"))
def test_synthesized_speech_is_understood_by_whisper(model_id: str) -> None:
    speech = synthesize_speech("Hello world, this is a test.", model=model_id)
    heard = transcribe((speech.sampling_rate, speech.audio), model="openai/whisper-base", language="en")
    assert "test" in heard.text.lower()
