"""Issue 22 on real Whisper base weights (real_whisper.py beside this file) and espeak-ng speech: the words are the
spoken words, each timed inside its sentence; VAD leaves the silence out; the torch words agree with transformers'
own pipeline. Skipped without espeak-ng only where CI is not "true" (test_whisper_real.py)."""

from pathlib import Path

import numpy as np
import pytest
import soundfile

from backend import models
from backend.tasks.transcribe import transcribe
from tests.speech import real_whisper, test_whisper_real
from tests.speech.test_whisper_real import MODEL, words

# The real-weights fixtures, shared with tests/test_whisper_real.py.
engine = test_whisper_real.engine
real_models_dir, real_root = test_whisper_real.real_models_dir, test_whisper_real.real_root

LEAD_S = 4.0  # silence before the speech
GAP_S = 2.5  # silence between the two sentences
# How far a word may reach past its sentence's audio: VAD pads each speech stretch by 400 ms (faster-whisper's
# speech_pad_ms), and a segment's first word may open anywhere in that pad.
EDGE_S = 0.45
SPOKEN = (0, 13)  # indexes into real_whisper.SENTENCES


@pytest.fixture(scope="module")
def silence_then_speech(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[float, float]]]:
    """LEAD_S of silence, a sentence, GAP_S of silence, another sentence, 1 s of silence; each sentence's span."""
    folder = tmp_path_factory.mktemp("words")
    pieces, spans, cursor = [np.zeros(int(LEAD_S * real_whisper.RATE), np.float32)], [], LEAD_S
    for index in SPOKEN:
        samples, _ = soundfile.read(real_whisper.speak(real_whisper.SENTENCES[index], folder / f"{index}.wav"),
                                    dtype="float32")
        spans.append((cursor, cursor + len(samples) / real_whisper.RATE))
        pieces += [samples, np.zeros(int(GAP_S * real_whisper.RATE), np.float32)]
        cursor += len(samples) / real_whisper.RATE + GAP_S
    path = folder / "silence_then_speech.wav"
    soundfile.write(path, np.concatenate(pieces), real_whisper.RATE)
    return path, spans


def test_words_are_the_spoken_words_each_inside_its_sentence(engine: str, silence_then_speech: tuple) -> None:
    path, spans = silence_then_speech
    result = transcribe(path, model=MODEL, language="en", word_timestamps=True)
    assert result.engine == engine and result.words_note is None
    expected = [words(real_whisper.SENTENCES[index]) for index in SPOKEN]
    assert words(" ".join(word.word for word in result.words)) == expected[0] + expected[1]
    first = len(expected[0])
    for position, word in enumerate(result.words):
        start, end = spans[0] if position < first else spans[1]
        assert start - EDGE_S <= word.start <= word.end <= end + EDGE_S, (word, (start, end))
        assert 0.0 < word.probability <= 1.0
        assert any(segment.start <= word.start and word.end <= segment.end for segment in result.segments)
    # VAD: no words (nor text) in the silence, and it says how much was speech.
    assert result.segments[0].start >= LEAD_S - EDGE_S
    assert sum(end - start for start, end in spans) <= result.speech_s < soundfile.info(str(path)).duration - LEAD_S


def test_without_vad_the_words_are_still_inside_their_sentences(engine: str, silence_then_speech: tuple) -> None:
    path, spans = silence_then_speech
    result = transcribe(path, model=MODEL, language="en", word_timestamps=True, vad=False)
    assert result.speech_s is None
    # Without VAD the pauses are decoded too: a segment's first word may open in the pause before it, and on torch a
    # sentence's last word may run into the pause after it (transformers' DTW; seen: 1.0 s), but no word lies wholly
    # in a pause and none in the leading silence.
    for word in result.words:
        assert any(start - 1.2 <= word.start and word.end <= end + 1.2 and word.end > start and word.start < end
                   for start, end in spans), word
    assert result.words[0].start >= LEAD_S - 1.2


def test_torch_words_agree_with_the_transformers_pipeline(real_models_dir: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The same words as `pipeline(return_timestamps="word")` on the same weights and audio, greedy, and the same
    times but the first word's start and the last word's end, which the app cuts to twice the median word when
    longer (the pipeline runs them into the silence around the segment)."""
    import torch

    from backend.models import ModelCache
    from backend.speech.transcript import asr_pipeline

    monkeypatch.setenv("MODELS_DIR", str(real_models_dir))
    monkeypatch.setenv("APP_ENGINE", "torch")
    monkeypatch.setattr(models, "CACHE", ModelCache(device=torch.device("cpu")))
    path = real_whisper.speak(real_whisper.SENTENCES[3], tmp_path / "clip.wav")
    ours = transcribe(path, model=MODEL, language="en", beam_size=1, word_timestamps=True, vad=False)
    loaded = models.get(MODEL)
    assert loaded.model.config._attn_implementation == "sdpa"  # switched back after the token timestamps
    samples, rate = soundfile.read(path, dtype="float32")
    theirs = asr_pipeline(loaded)({"raw": samples, "sampling_rate": rate}, return_timestamps="word",
                                  generate_kwargs={"language": "en", "num_beams": 1})["chunks"]
    loaded.model.set_attn_implementation("sdpa")
    assert [word.word for word in ours.words] == [chunk["text"].strip() for chunk in theirs]
    assert [word.end for word in ours.words[:-1]] == pytest.approx([chunk["timestamp"][1] for chunk in theirs[:-1]],
                                                                   abs=0.021)
    assert ours.words[-1].end <= theirs[-1]["timestamp"][1] + 0.021
    assert [word.start for word in ours.words[1:]] == pytest.approx(
        [chunk["timestamp"][0] for chunk in theirs[1:]], abs=0.021)


def test_language_candidates_on_real_speech(engine: str, tmp_path: Path) -> None:
    path = real_whisper.speak(real_whisper.SENTENCES[0], tmp_path / "clip.wav")
    result = transcribe(path, model=MODEL)
    assert result.language == "en" and result.language_candidates[0].language == "en"
    assert len(result.language_candidates) == 5 and sum(g.probability for g in result.language_candidates) <= 1.0
    assert result.language_candidates[0].probability > 0.5
    restricted = transcribe(path, model=MODEL, candidate_languages="French, German")
    assert restricted.language in {"fr", "de"}
    assert {guess.language for guess in restricted.language_candidates} == {"fr", "de"}
