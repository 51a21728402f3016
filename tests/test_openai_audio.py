"""The OpenAI-compatible audio routes, driven by the official `openai` SDK against the launched app."""

import io
from pathlib import Path

import numpy as np
import openai
import pytest
import soundfile
from gradio_client import Client, handle_file

from api import openai_audio

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SPEECH = ASSETS / "audio" / "en.wav"
WHISPER = "openai/whisper-base"


@pytest.fixture
def sdk(app_url: str) -> openai.OpenAI:
    """The OpenAI SDK pointed at the app; no retries, so refusals are seen as they are."""
    return openai.OpenAI(base_url=app_url + "v1", api_key="unused", max_retries=0)


def app_transcript(client: Client, model: str, task: str = "transcribe") -> dict:
    """The JSON result of the app's own /transcribe event for the test audio."""
    *_, result = client.predict(audio=handle_file(SPEECH), model=model, task=task, api_name="/transcribe")
    return result


def transcribe(sdk: openai.OpenAI, **options: object) -> object:
    """A transcription of the test audio through the SDK."""
    with open(SPEECH, "rb") as audio:
        return sdk.audio.transcriptions.create(file=audio, **options)


def test_json_and_text_match_the_apps_own_transcript(sdk: openai.OpenAI, client: Client) -> None:
    expected = app_transcript(client, WHISPER)
    assert transcribe(sdk, model=WHISPER).text == expected["text"]
    assert transcribe(sdk, model=WHISPER, response_format="text").strip() == expected["text"]


def test_whisper_1_is_the_default_model(sdk: openai.OpenAI, client: Client) -> None:
    expected = app_transcript(client, "openai/whisper-large-v3-turbo")
    assert transcribe(sdk, model="whisper-1").text == expected["text"]


def test_verbose_json_has_segments_duration_and_language(sdk: openai.OpenAI, client: Client) -> None:
    expected = app_transcript(client, WHISPER)
    verbose = transcribe(sdk, model=WHISPER, response_format="verbose_json", timestamp_granularities=["segment"])
    assert verbose.text == expected["text"]
    assert verbose.duration == pytest.approx(soundfile.info(str(SPEECH)).duration, abs=0.01)
    assert [(segment.start, segment.end, segment.text) for segment in verbose.segments] == [
        (segment["start"], segment["end"], segment["text"]) for segment in expected["segments"]]
    assert isinstance(verbose.language, str)


def test_word_granularity_gives_the_apps_words_in_openais_shape(sdk: openai.OpenAI, client: Client) -> None:
    *_, expected = client.predict(audio=handle_file(SPEECH), model=WHISPER, word_timestamps=True,
                                  api_name="/transcribe")
    assert expected["words"]  # the tiny model writes text on this clip
    verbose = transcribe(sdk, model=WHISPER, response_format="verbose_json", timestamp_granularities=["word"])
    assert [(word.word, word.start, word.end) for word in verbose.words] == [
        (word["word"], word["start"], word["end"]) for word in expected["words"]]
    assert not getattr(verbose, "segments", None)  # only the granularity asked for, as OpenAI
    both = transcribe(sdk, model=WHISPER, response_format="verbose_json", timestamp_granularities=["word", "segment"])
    assert both.words and len(both.segments) == len(expected["segments"])
    with pytest.raises(openai.BadRequestError, match="verbose_json"):
        transcribe(sdk, model=WHISPER, response_format="json", timestamp_granularities=["word"])
    with pytest.raises(openai.BadRequestError, match="'segment' and 'word'"):
        transcribe(sdk, model=WHISPER, response_format="verbose_json", timestamp_granularities=["character"])


@pytest.mark.parametrize(("response_format", "first_line"), [("srt", "1"), ("vtt", "WEBVTT")])
def test_subtitles(sdk: openai.OpenAI, client: Client, response_format: str, first_line: str) -> None:
    # wav2vec2 gives timed segments for the tiny random model as well (Whisper's may be empty).
    model = "facebook/wav2vec2-base-960h"
    expected = app_transcript(client, model)
    subtitles = transcribe(sdk, model=model, response_format=response_format)
    assert subtitles.splitlines()[0] == first_line
    assert subtitles.count(" --> ") == len(expected["segments"]) > 0


def test_translation_is_whispers_translate_task(sdk: openai.OpenAI, client: Client) -> None:
    expected = app_transcript(client, WHISPER, task="translate")
    with open(SPEECH, "rb") as audio:
        assert sdk.audio.translations.create(file=audio, model=WHISPER).text == expected["text"]
    with open(SPEECH, "rb") as audio, pytest.raises(openai.BadRequestError, match="Whisper"):
        sdk.audio.translations.create(file=audio, model="facebook/wav2vec2-base-960h")


def test_a_prompt_is_ignored_with_a_note(sdk: openai.OpenAI) -> None:
    with open(SPEECH, "rb") as audio:
        raw = sdk.audio.transcriptions.with_raw_response.create(file=audio, model=WHISPER, prompt="Names: Ada.")
    assert "prompt is ignored" in raw.headers["x-app-notes"]
    assert raw.parse().text is not None


@pytest.mark.parametrize("response_format", ["wav", "flac", "mp3"])
def test_speech_decodes(sdk: openai.OpenAI, client: Client, response_format: str) -> None:
    page_wav, _, expected = client.predict(text="Hello there.", model="facebook/mms-tts-eng",
                                           api_name="/synthesize_speech")
    spoken = sdk.audio.speech.create(model="facebook/mms-tts-eng", input="Hello there.", voice="alloy",
                                     response_format=response_format)
    samples, rate = soundfile.read(io.BytesIO(spoken.read()))
    assert rate == expected["sampling_rate"]
    assert len(samples) / rate == pytest.approx(expected["duration_s"], abs=0.08)  # MP3 pads a frame or two
    if response_format == "wav":  # lossless: the very samples the page plays
        assert np.array_equal(samples, soundfile.read(page_wav)[0])


def test_openai_voice_names_map_to_bark_presets(sdk: openai.OpenAI) -> None:
    raw = sdk.audio.speech.with_raw_response.create(model="suno/bark-small", input="Hi.", voice="nova",
                                                    response_format="wav")
    assert raw.headers["x-app-model"] == "suno/bark-small"
    assert raw.headers["x-app-voice"] == openai_audio.OPENAI_VOICES["nova"]


def test_models_lists_the_catalog_and_the_aliases(sdk: openai.OpenAI) -> None:
    from backend.catalog import CATALOG

    ids = [model.id for model in sdk.models.list()]
    assert ids[: len(CATALOG)] == [spec.id for spec in CATALOG]
    assert {"whisper-1", "tts-1"} <= set(ids)


def test_an_unknown_model_is_a_400_in_openais_shape(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        transcribe(sdk, model="whisper-9000")
    assert raised.value.code == "model_not_found" and "whisper-1" in raised.value.message
    with pytest.raises(openai.BadRequestError, match="does not exist"):
        sdk.audio.speech.create(model="openai/whisper-base", input="Hi.", voice="alloy")


def test_bad_input_is_a_400_with_our_message(sdk: openai.OpenAI, tmp_path: Path) -> None:
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"RIFF" + b"\0" * 100)
    with open(bad, "rb") as audio, pytest.raises(openai.BadRequestError) as raised:
        sdk.audio.transcriptions.create(file=audio, model=WHISPER)
    assert raised.value.body["type"] == "invalid_request_error" and "audio" in raised.value.message.lower()
    with pytest.raises(openai.BadRequestError, match="speed"):
        sdk.audio.speech.create(model="tts-1", input="Hi.", voice="alloy", speed=2.0)
    with pytest.raises(openai.BadRequestError, match="response_format"):
        sdk.audio.speech.create(model="tts-1", input="Hi.", voice="alloy", response_format="aac")


def test_fields_of_the_wrong_type_are_a_400_in_our_words(app_url: str) -> None:
    import httpx

    with open(SPEECH, "rb") as audio:
        response = httpx.post(app_url + "v1/audio/transcriptions", files={"file": audio},
                              data={"model": WHISPER, "temperature": "warm"}, timeout=60)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "temperature"
    assert error["message"].startswith("These fields are missing or not of the right type: temperature.")
    response = httpx.post(app_url + "v1/audio/speech", json={"model": "tts-1", "input": "Hi.", "speed": "fast"},
                          timeout=60)
    assert response.status_code == 400 and response.json()["error"]["param"] == "speed", response.text


def test_an_oversized_file_is_a_413(sdk: openai.OpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(openai_audio, "MAX_AUDIO_BYTES", SPEECH.stat().st_size - 1)
    with pytest.raises(openai.APIStatusError) as raised:
        transcribe(sdk, model=WHISPER)
    assert raised.value.status_code == 413 and raised.value.code == "file_too_large"


def test_a_missing_key_is_a_401_when_one_is_set(app_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_KEY", "sesame")
    wrong = openai.OpenAI(base_url=app_url + "v1", api_key="guess", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
    right = openai.OpenAI(base_url=app_url + "v1", api_key="sesame", max_retries=0)
    assert any(model.id == "whisper-1" for model in right.models.list())
