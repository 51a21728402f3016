"""Text to speech on every catalog model: audio shape and range, voices, long text in pieces, bounded generation."""

import json
from pathlib import Path

import numpy as np
import pytest

from backend import models
from backend.errors import InputError
from backend.limits import MAX_SPEECH_SEMANTIC_TOKENS
from backend.synthesize_speech import PAUSE_SECONDS, synthesize_speech
from tests.conftest import ids_for

EXPECTED_RATE = {"suno/bark-small": 24_000, "suno/bark": 24_000, "facebook/mms-tts-eng": 16_000}


@pytest.mark.parametrize("model_id", ids_for("synthesize_speech"))
def test_speech_is_mono_float_audio_at_the_model_rate(models_dir: Path, model_id: str) -> None:
    result = synthesize_speech("Hello, this is a test of the speech model.", model=model_id)
    summary = result.to_json()
    json.dumps(summary)
    assert summary["model"] == model_id and summary["sampling_rate"] == EXPECTED_RATE[model_id]
    assert result.audio.ndim == 1 and result.audio.dtype == np.float32 and len(result.audio) > 0
    assert np.abs(result.audio).max() <= 1.0
    assert summary["duration_s"] == pytest.approx(len(result.audio) / summary["sampling_rate"], abs=1e-3)
    assert summary["voice"] == ("v2/en_speaker_6" if "bark" in model_id else "")


def test_bark_uses_the_chosen_voice_and_bounds_generation(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = models.get("suno/bark-small")
    calls = []
    generate = loaded.model.generate
    monkeypatch.setattr(loaded.model, "generate", lambda **kw: calls.append(kw) or generate(**kw))
    result = synthesize_speech("Bonjour tout le monde.", model="suno/bark-small", voice="v2/fr_speaker_1")
    assert result.voice == "v2/fr_speaker_1"
    (call,) = calls
    assert call["semantic_max_new_tokens"] == MAX_SPEECH_SEMANTIC_TOKENS
    expected = loaded.processor("x", voice_preset="v2/fr_speaker_1")["history_prompt"]["semantic_prompt"]
    assert np.array_equal(call["history_prompt"]["semantic_prompt"].numpy(), expected.numpy())


def test_long_text_is_spoken_in_pieces_joined_with_pauses(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = models.get("facebook/mms-tts-eng")
    pieces = []
    forward = loaded.model.forward
    monkeypatch.setattr(loaded.model, "forward", lambda **kw: pieces.append(kw["input_ids"].shape) or forward(**kw))
    text = " ".join(f"This is sentence number {n} of a long text." for n in range(40))  # about 1,700 characters
    result = synthesize_speech(text, model="facebook/mms-tts-eng")
    assert len(pieces) >= 5
    samples_without_pauses = len(result.audio) - (len(pieces) - 1) * int(PAUSE_SECONDS * result.sampling_rate)
    assert samples_without_pauses > 0


@pytest.mark.parametrize(("model_id", "voice", "text", "message"), [
    ("suno/bark-small", "v2/xx_speaker_99", "Hello", "Unknown voice"),
    ("facebook/mms-tts-eng", "", " \n ", "Enter some text"),
    ("facebook/mms-tts-eng", "", "x" * 5_001, "5,000|5000"),
])
def test_bad_requests_are_refused_with_a_message(model_id: str, voice: str, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        synthesize_speech(text, model=model_id, voice=voice)


def test_a_single_voice_model_ignores_a_voice_preset(models_dir: Path) -> None:
    assert synthesize_speech("Hello.", model="facebook/mms-tts-eng", voice="v2/en_speaker_1").voice == ""
