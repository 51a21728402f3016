"""Issue 22 on the tiny models: words with times on both Whisper engines (and CTC), language candidates and their
restriction, VAD's speech_s, video files as audio.

The tiny models have random weights (their timestamps fall anywhere, often past the audio): these check structure,
not text or times; test_words_real.py beside this file checks the words, their times and transformers' own
pipeline's on real Whisper weights and real speech.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from backend import models
from backend.errors import InputError
from backend.models import ModelCache
from backend.tasks.transcribe import transcribe
from tests.tasks.test_transcribe import check_words
from tests.video_clips import video_with_sound

WHISPER = "openai/whisper-base"


@pytest.fixture(params=["torch", "ctranslate2"])
def whisper_engine(request: pytest.FixtureRequest, models_dir: Path, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> str:
    """The tiny Whisper in a cache of its own, on one engine (CTranslate2 at float32)."""
    monkeypatch.setenv("APP_ENGINE", request.param)
    monkeypatch.setenv("APP_CTRANSLATE2_COMPUTE_TYPE", "float32")
    monkeypatch.setenv("APP_CTRANSLATE2_CACHE", str(tmp_path / "ct2"))
    monkeypatch.setattr(models, "CACHE", ModelCache(device=torch.device("cpu")))
    return request.param


def test_whisper_gives_words_inside_the_audio_and_their_segments(whisper_engine: str, speech_3s: Path) -> None:
    result = transcribe(speech_3s, model=WHISPER, language="en", word_timestamps=True, vad=False).to_json()
    assert result["engine"] == whisper_engine and result["words_note"] is None
    assert result["words"], result  # the tiny model writes text on this clip
    check_words(result, 3.0)
    # The words are the text, in order (the random model's tokens need not start words with spaces).
    assert "".join(word["word"] for word in result["words"]) == "".join(result["text"].split())
    assert transcribe(speech_3s, model=WHISPER, language="en", vad=False).words == []  # only when asked


def test_word_timestamps_do_not_change_the_text(whisper_engine: str, speech_45s: Path) -> None:
    """Words are timed after each window is decoded: asking for them changes neither the text nor where windows
    start (faster-whisper's own word_timestamps moves the next window to the last word's end)."""
    plain = transcribe(speech_45s, model=WHISPER, language="en", vad=False)
    timed = transcribe(speech_45s, model=WHISPER, language="en", vad=False, word_timestamps=True)
    assert timed.text == plain.text and len(timed.segments) == len(plain.segments)
    assert timed.words
    check_words(timed.to_json(), 45.0)


def test_ctc_words_come_from_the_frame_alignment(models_dir: Path, speech_3s: Path) -> None:
    result = transcribe(speech_3s, model="facebook/wav2vec2-base-960h", word_timestamps=True).to_json()
    check_words(result, 3.0)
    assert result["words"] and all(word["probability"] is None for word in result["words"])
    assert " ".join(word["word"] for word in result["words"]) == result["text"]


def test_xls_r_says_it_gives_no_words(models_dir: Path, speech_3s: Path) -> None:
    result = transcribe(speech_3s, model="facebook/wav2vec2-xls-r-300m-21-to-en", task="translate",
                        word_timestamps=True)
    assert result.words == [] and "no word times" in result.words_note


def test_whisper_language_candidates_top_5_and_restricted(whisper_engine: str, speech_3s: Path) -> None:
    free = transcribe(speech_3s, model=WHISPER, vad=False)
    guesses = [(guess.language, guess.probability) for guess in free.language_candidates]
    assert len(guesses) == 5 and sum(p for _, p in guesses) <= 1.0
    assert [p for _, p in guesses] == sorted((p for _, p in guesses), reverse=True)
    assert free.language == guesses[0][0] and free.language_probability == guesses[0][1]
    chosen = transcribe(speech_3s, model=WHISPER, vad=False, candidate_languages="French, de")
    assert {guess.language for guess in chosen.language_candidates} == {"fr", "de"}
    assert chosen.language in {"fr", "de"}
    assert sum(guess.probability for guess in chosen.language_candidates) == pytest.approx(1.0, abs=2e-4)
    with pytest.raises(InputError, match="does not know the language 'Klingon'"):
        transcribe(speech_3s, model=WHISPER, candidate_languages="fr, Klingon")
    given = transcribe(speech_3s, model=WHISPER, language="en", vad=False, candidate_languages="fr")
    assert given.language == "en" and given.language_candidates == []


def test_torch_language_candidates_match_transformers_detection(models_dir: Path, speech_3s: Path) -> None:
    """The top candidate is the language transformers' own `detect_language` picks."""
    loaded = models.get(WHISPER)
    samples, rate = soundfile.read(speech_3s, dtype="float32")
    features = loaded.processor.feature_extractor(samples, sampling_rate=rate, return_tensors="pt").input_features
    with torch.inference_mode():
        token = int(loaded.model.detect_language(features)[0])
    expected = loaded.processor.tokenizer.convert_ids_to_tokens(token).strip("<|>")
    assert transcribe(speech_3s, model=WHISPER, vad=False).language_candidates[0].language == expected


def encoder_passes(engine: str, run: "callable") -> int:
    """How many windows the Whisper encoder encoded while `run()` ran."""
    loaded = models.get(WHISPER)
    passes = []
    if engine == "torch":
        hook = loaded.model.get_encoder().register_forward_hook(lambda *_: passes.append(1))
        try:
            run()
        finally:
            hook.remove()
    else:
        remembered = loaded.model.runner.encode  # LastEncoding: counts the encodings it did not reuse
        remembered.features = None  # nothing kept from the call before
        real = remembered.encode
        remembered.encode = lambda features: passes.append(1) or real(features)
        try:
            run()
        finally:
            remembered.encode = real
    return len(passes)


@pytest.mark.parametrize("clip", ["speech_3s", "speech_45s"])
def test_language_detection_costs_no_encoder_pass_of_its_own(whisper_engine: str, clip: str,
                                                              request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(clip)
    detected = transcribe(path, model=WHISPER, vad=False)  # loads the model, and finds the language to give next
    given = encoder_passes(whisper_engine, lambda: transcribe(path, model=WHISPER, language=detected.language,
                                                              vad=False))
    assert encoder_passes(whisper_engine, lambda: transcribe(path, model=WHISPER, vad=False)) == given >= 1


@pytest.mark.parametrize("whisper_engine", ["ctranslate2"], indirect=True)
def test_ctranslate2_candidates_are_faster_whispers_own_detection(whisper_engine: str, speech_45s: Path) -> None:
    result = transcribe(speech_45s, model=WHISPER, vad=False)
    samples = soundfile.read(speech_45s, dtype="float32")[0]
    _, _, every = models.get(WHISPER).model.runner.detect_language(samples)  # faster-whisper on its own
    assert [guess.language for guess in result.language_candidates] == [code for code, _ in every[:5]]
    assert [guess.probability for guess in result.language_candidates] == pytest.approx(
        [p for _, p in every[:5]], abs=2e-4)


def test_vad_says_how_much_was_speech_and_skips_silence(whisper_engine: str, tmp_path: Path) -> None:
    path = tmp_path / "silence.wav"
    soundfile.write(path, np.zeros(16_000 * 5, dtype=np.float32), 16_000)
    result = transcribe(path, model=WHISPER, language="en", word_timestamps=True)
    assert (result.text, result.segments, result.words, result.speech_s) == ("", [], [], 0.0)
    assert transcribe(path, model=WHISPER, language="en", vad=False).speech_s is None


@pytest.mark.parametrize("suffix", [".mp4", ".webm", ".mkv", ".mov"])
def test_a_video_file_is_transcribed_from_its_audio_track(models_dir: Path, speech_3s: Path, tmp_path: Path,
                                                          suffix: str) -> None:
    video = video_with_sound(tmp_path / f"clip{suffix}", speech_3s)
    from_video = transcribe(video, model="facebook/wav2vec2-base-960h", word_timestamps=True)
    from_audio = transcribe(speech_3s, model="facebook/wav2vec2-base-960h", word_timestamps=True)
    json.dumps(from_video.to_json())
    assert from_video.text and from_video.segments
    assert abs(from_video.segments[-1].end - from_audio.segments[-1].end) < 0.2  # the same audio, re-encoded


def test_bad_videos_get_clear_messages(models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    silent = video_with_sound(tmp_path / "silent.mp4", None)
    with pytest.raises(InputError, match="no audio track"):
        transcribe(silent, model=WHISPER)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(silent.read_bytes()[:400])  # the header box, then nothing
    with pytest.raises(InputError, match="could not be decoded|no audio track"):
        transcribe(broken, model=WHISPER)
    import backend.inputs

    monkeypatch.setattr(backend.inputs, "MAX_AUDIO_SECONDS", 1.0)
    with pytest.raises(InputError, match="limit is"):
        transcribe(video_with_sound(tmp_path / "long.webm", quiet_audio(tmp_path)), model=WHISPER)


def quiet_audio(tmp_path: Path) -> Path:
    """3 s of quiet noise as a WAV, to give a video a sound track."""
    path = tmp_path / "quiet.wav"
    soundfile.write(path, np.random.default_rng(0).normal(0, 0.01, 48_000).astype(np.float32), 16_000)
    return path
