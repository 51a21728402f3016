"""Speech recognition on every catalog model with short and long audio, its options, and the subtitle writers."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from backend.catalog import find_model
from backend.errors import InputError
from backend.transcribe import Segment, group_words, to_srt, to_vtt, transcribe
from tests.conftest import ids_for, speech_like


def check_result(result: dict, model_id: str, duration: float) -> None:
    """The documented JSON shape; segments ordered and inside the audio."""
    json.dumps(result)
    assert set(result) == {"model", "text", "language", "segments"}
    assert result["model"] == model_id and isinstance(result["text"], str)
    for segment in result["segments"]:
        assert 0.0 <= segment["start"] <= segment["end"] <= duration + 1e-6
        assert segment["text"] == segment["text"].strip() and segment["text"]
    starts = [segment["start"] for segment in result["segments"]]
    assert starts == sorted(starts)


@pytest.mark.parametrize("model_id", ids_for("transcribe"))
@pytest.mark.parametrize("clip", ["speech_3s", "speech_45s"])
def test_transcribes_short_and_long_audio(models_dir: Path, model_id: str, clip: str,
                                          request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(clip)
    duration = soundfile.info(path).duration
    result = transcribe(path, model=model_id).to_json()
    check_result(result, model_id, duration)
    spec = find_model(model_id)
    assert result["language"] in spec.languages  # detected (Whisper) or the model's only language (wav2vec2)


@pytest.mark.parametrize("model_id", ["openai/whisper-base", "openai/whisper-large-v3-turbo"])
def test_whisper_takes_a_language_and_can_translate(models_dir: Path, speech_3s: Path, model_id: str) -> None:
    result = transcribe(speech_3s, model=model_id, language="French", task="translate")
    assert result.language == "fr"
    check_result(result.to_json(), model_id, 3.0)


def test_long_whisper_audio_has_segments_past_the_first_window(models_dir: Path, speech_45s: Path) -> None:
    result = transcribe(speech_45s, model="openai/whisper-base", language="en")
    assert result.segments and max(segment.end for segment in result.segments) > 30.0


def test_whisper_windows_batched_equal_windows_one_by_one(models_dir: Path, speech_45s: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import backend.transcribe as recognition

    assert recognition.WHISPER_BATCH_SIZE > 1
    batched = transcribe(speech_45s, model="openai/whisper-base", language="en")
    monkeypatch.setattr(recognition, "WHISPER_BATCH_SIZE", 1)
    one_by_one = transcribe(speech_45s, model="openai/whisper-base", language="en")
    assert batched == one_by_one and len(batched.segments) > 1


def test_audio_given_as_rate_and_samples(models_dir: Path) -> None:
    samples = (speech_like(3.0, rate=44_100) * 32767).astype(np.int16)  # what a microphone component gives
    result = transcribe((44_100, np.stack([samples, samples], axis=1)), model="facebook/wav2vec2-base-960h")
    check_result(result.to_json(), "facebook/wav2vec2-base-960h", 3.0)


@pytest.mark.parametrize(("model_id", "language", "task", "message"), [
    ("facebook/wav2vec2-base-960h", "auto", "translate", "cannot translate"),
    ("facebook/wav2vec2-base-960h", "French", "transcribe", "does not know the language"),
    ("openai/whisper-base", "Klingon", "transcribe", "does not know the language"),
    ("openai/whisper-base", "auto", "summarise", "must be 'transcribe' or 'translate'"),
])
def test_bad_options_are_refused_with_a_message(speech_3s: Path, model_id: str, language: str, task: str,
                                                message: str) -> None:
    with pytest.raises(InputError, match=message):
        transcribe(speech_3s, model=model_id, language=language, task=task)


def test_words_are_grouped_at_pauses_and_by_length() -> None:
    words = [Segment(0.0, 0.4, "hello"), Segment(0.5, 0.9, "there"), Segment(2.0, 2.3, "after"),
             Segment(2.4, 2.8, "pause")] + [Segment(3.0 + n * 0.5, 3.4 + n * 0.5, f"w{n}") for n in range(20)]
    segments = group_words(words)
    assert segments[0] == Segment(0.0, 0.9, "hello there")
    assert segments[1].text.startswith("after pause")
    assert all(segment.end - segment.start <= 8.0 for segment in segments)
    assert " ".join(segment.text for segment in segments).split() == [word.text for word in words]


def test_subtitle_writers() -> None:
    segments = [Segment(0.0, 1.5, "Hello."), Segment(3661.25, 3662.0, "An hour later.")]
    assert to_srt(segments) == ("1\n00:00:00,000 --> 00:00:01,500\nHello.\n\n"
                                "2\n01:01:01,250 --> 01:01:02,000\nAn hour later.\n")
    assert to_vtt(segments) == ("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello.\n\n"
                                "01:01:01.250 --> 01:01:02.000\nAn hour later.\n")


def test_long_whisper_audio_streams_the_text_of_finished_windows(models_dir: Path, tmp_path: Path) -> None:
    from backend import compute, inputs, models
    from backend.transcribe import asr_pipeline, stream_transcription, transcribe_whisper

    path = tmp_path / "speech_100s.wav"
    soundfile.write(path, speech_like(100.0), 16_000)  # 5 windows of 30 s every 20 s: two batches of 4
    steps = list(stream_transcription(path, model="openai/whisper-base", language="en"))
    assert [(step.done, step.total) for step in steps] == [(4, 5), (5, 5)]
    final = steps[-1].result
    assert all(final.text.startswith(step.result.text) for step in steps)
    assert all(step.result.segments == final.segments[: len(step.result.segments)] for step in steps)
    # The whole result is the pipeline's own over all windows at once.
    loaded = models.get("openai/whisper-base")
    recognizer = asr_pipeline(loaded)
    samples = inputs.load_audio(path, sampling_rate=16_000)
    with compute.model_work():
        assert final == transcribe_whisper(recognizer, find_model("openai/whisper-base"), samples, 100.0, "en",
                                           "transcribe")


def test_the_window_count_is_the_pipelines() -> None:
    from transformers.pipelines.automatic_speech_recognition import chunk_iter

    from backend.transcribe import whisper_window_count

    class Features:  # stands in for the feature extractor: chunk_iter only calls it
        sampling_rate = 10

        def __call__(self, chunk: np.ndarray, **_: object) -> dict:
            return {}

    for samples in (301, 350, 500, 510, 511, 1000):
        windows = list(chunk_iter(np.zeros(samples), Features(), 300, 50, 50))
        assert whisper_window_count(samples, 300, 50) == len(windows), samples
