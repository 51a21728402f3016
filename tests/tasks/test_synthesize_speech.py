"""Text to speech on every catalog model: audio shape and range, voices, long text in pieces, bounded generation."""

import json
from pathlib import Path

import numpy as np
import pytest

from backend import models
from backend.errors import InputError
from backend.limits import MAX_SPEECH_SEMANTIC_TOKENS
from backend.tasks.synthesize_speech import PAUSE_SECONDS, synthesize_speech
from tests.conftest import ids_for

EXPECTED_RATE = {"suno/bark-small": 24_000, "suno/bark": 24_000, "facebook/mms-tts-eng": 16_000}


@pytest.mark.parametrize("model_id", ids_for("synthesize_speech"))
def test_speech_is_mono_float_audio_at_the_model_rate(models_dir: Path, model_id: str) -> None:
    result = synthesize_speech("Hello, this is a test of the speech model.", model=model_id)
    summary = result.to_json()
    json.dumps(summary)
    assert summary["model"] == model_id and summary["sampling_rate"] == EXPECTED_RATE.get(model_id, 16_000)
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


def test_the_streamed_pieces_joined_are_the_whole_wav(models_dir: Path) -> None:
    import io

    import gradio as gr
    import soundfile

    from demos.synthesize_speech import synthesize_speech as handler

    text = "The first sentence comes alone. " + " ".join(f"Then sentence {n} follows it." for n in range(2, 30))
    outputs = list(handler(text, model="facebook/mms-tts-eng", voice=""))
    *streaming, final = outputs
    wav_path, last_chunk, result = final
    chunks = [stream for _, stream, _ in streaming] + [last_chunk]
    assert len(chunks) >= 3 and all(isinstance(chunk, bytes) for chunk in chunks)  # first sentence, then packs
    assert all(isinstance(skipped, dict) for wav, _, json_result in streaming for skipped in (wav, json_result))
    assert gr.skip() == streaming[0][0]
    streamed = np.concatenate([soundfile.read(io.BytesIO(chunk), dtype="int16")[0] for chunk in chunks])
    whole, rate = soundfile.read(wav_path, dtype="int16")
    assert rate == result["sampling_rate"] and np.array_equal(streamed, whole)
    # The first piece is the first sentence alone: shorter than the second (a pause plus several sentences).
    assert len(soundfile.read(io.BytesIO(chunks[0]))[0]) < len(soundfile.read(io.BytesIO(chunks[1]))[0])
    # The same request gives the same audio.
    again = list(handler(text, model="facebook/mms-tts-eng", voice=""))[-1][0]
    assert np.array_equal(soundfile.read(again, dtype="int16")[0], whole)


def test_errors_of_the_streaming_handler_reach_the_user_as_our_message(models_dir: Path) -> None:
    import gradio as gr

    from demos.synthesize_speech import synthesize_speech as handler

    with pytest.raises(gr.Error, match="Enter some text"):
        list(handler(" \n ", model="facebook/mms-tts-eng", voice=""))
    assert handler.__name__ == "synthesize_speech" and "Args:" in (handler.__doc__ or "")


def test_the_first_sentence_is_a_piece_of_its_own() -> None:
    from backend.tasks.synthesize_speech import speech_pieces

    text = "One. Two is longer. Three.\nFour. Five."
    assert speech_pieces(text, 400) == ["One.", "Two is longer. Three.", "Four. Five."]
    assert speech_pieces("word " * 5, 9) == ["word word", "word word", "word"]


@pytest.mark.parametrize(("model", "language", "expected_model", "code"), [
    ("facebook/mms-tts-eng", "French", "facebook/mms-tts-fra", "fr"),  # the menu's default model on CPU, as sent
    (None, "de", "facebook/mms-tts-deu", "de"),
    ("facebook/mms-tts-spa", "swh", "facebook/mms-tts-swh", "sw"),  # ISO 639-3 codes work too
    ("facebook/mms-tts-eng", "", "facebook/mms-tts-eng", "en"),
    ("suno/bark-small", "", "suno/bark-small", "en"),
])
def test_language_picks_the_voice(models_dir: Path, model: str | None, language: str, expected_model: str,
                                  code: str) -> None:
    result = synthesize_speech("Bonjour, ceci est un essai.", model=model, language=language).to_json()
    assert (result["model"], result["language"]) == (expected_model, code)
    assert result["spoken_text"] == "Bonjour, ceci est un essai."  # Latin voices read the text as it is
    assert result["unsayable_characters"] == []


def test_bark_speaks_a_language_with_a_preset_of_that_language(models_dir: Path) -> None:
    result = synthesize_speech("Hola a todos.", model="suno/bark-small", voice="v2/en_speaker_3", language="Spanish")
    assert (result.model, result.voice, result.language) == ("suno/bark-small", "v2/es_speaker_3", "es")


def test_the_default_bark_gives_way_to_an_mms_voice_for_a_language_it_lacks(models_dir: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from backend import catalog

    monkeypatch.setattr(catalog, "_serving_device", "cuda")  # Bark small is the default on a GPU
    result = synthesize_speech("Habari ya asubuhi.", model="suno/bark-small", language="Swahili")
    assert (result.model, result.language) == ("facebook/mms-tts-swh", "sw")
    with pytest.raises(InputError, match="Bark .*has no Swahili voice.*facebook/mms-tts-swh"):
        synthesize_speech("Habari ya asubuhi.", model="suno/bark", language="Swahili")


def test_a_non_latin_voice_speaks_romanized_text(models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = models.get("facebook/mms-tts-kor")
    assert loaded.processor.is_uroman  # read from the checkpoint's tokenizer
    seen = []
    forward = loaded.model.forward
    monkeypatch.setattr(loaded.model, "forward", lambda **kw: seen.append(kw["input_ids"]) or forward(**kw))
    result = synthesize_speech("안녕하세요", language="Korean").to_json()
    assert result["model"] == "facebook/mms-tts-kor"
    assert result["spoken_text"] == "annyeonghaseyo" and result["unsayable_characters"] == []
    ids = seen[0][0].tolist()[1::2]  # the characters between the blanks
    assert loaded.processor.convert_ids_to_tokens(ids) == list("annyeonghaseyo")


def test_a_native_script_voice_keeps_its_script(models_dir: Path) -> None:
    result = synthesize_speech("привет мир", language="ru").to_json()
    assert result["model"] == "facebook/mms-tts-rus" and result["spoken_text"] == "привет мир"


def test_characters_a_voice_cannot_say_are_reported(models_dir: Path) -> None:
    result = synthesize_speech("Hello 你好 world", model="facebook/mms-tts-eng").to_json()
    assert result["unsayable_characters"] == ["你", "好"]
    assert "你" not in result["spoken_text"] and "hello" in result["spoken_text"].lower()
    with pytest.raises(InputError, match="cannot say: 你 好"):
        synthesize_speech("你好", model="facebook/mms-tts-eng")


@pytest.mark.parametrize(("language", "message"), [
    ("Klingon", "Unknown language 'Klingon'"),
    ("Japanese", "cannot speak Japanese.*Choose one of: .*French"),
])
def test_languages_no_voice_speaks_are_refused_with_a_message(models_dir: Path, language: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        synthesize_speech("Hello.", model="facebook/mms-tts-eng", language=language)


def test_at_least_30_voices_each_in_a_language_translation_knows() -> None:
    from backend.catalog import find_model
    from backend.languages import M2M100_LANGUAGES
    from backend.speech.voices import MMS_VOICES

    assert len(MMS_VOICES) >= 30
    for voice in MMS_VOICES:
        assert voice.language in M2M100_LANGUAGES and find_model(voice.model_id).languages == (voice.language,)


def test_what_will_be_spoken_is_previewed(models_dir: Path) -> None:
    from backend.speech.speaking import preview

    assert preview("안녕하세요", "facebook/mms-tts-eng", "Korean") == "annyeonghaseyo"  # romanized before loading
    assert preview("Bonjour", None, "fr") == "Bonjour"
    models.get("facebook/mms-tts-eng")  # once loaded, its own vocabulary decides
    assert preview("Hello 你好", "facebook/mms-tts-eng", "") == "Hello "
