"""Speech to speech: recognise speech (or a video's sound), translate it, speak the translation (`/translate_speech`).

A chained task: each stage is a public task called through the dispatch point (so in Ray mode each runs on its
own deployment, and each model loads like any other): `transcribe`, then `translate` segment by segment (one call
per finished batch of segments, one line per segment), then `synthesize_speech` segment by segment, so that the
first sentence's audio is ready long before the whole. Long Whisper recordings come batch by batch of 30 s
windows (local mode), and their first segments are translated and spoken while later windows wait. Cue times come
from the recognition segments; the spoken translation does not keep them (no lip sync).
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from backend.catalog import resolve_model
from backend.errors import InputError
from backend.inputs import strip_controls
from backend.languages import LANGUAGE_NAMES
from backend.speech.speaking import choose_speaker
from backend.speech.subtitles import to_srt, to_vtt
from backend.speech.transcript import Segment
from backend.speech.video_audio import is_video, video_audio
from backend.tasks.synthesize_speech import PAUSE_SECONDS, synthesize_speech
from backend.tasks.transcribe import speech_language, stream_transcription
from backend.tasks.translate import language_code, translate

RECOGNITION_RATE = 16_000  # Hz: a video's sound is decoded at the rate every recognizer here takes
STAGES = ("recognition", "translation", "speech")


@dataclass
class TranslatedSegment:
    """One recognised segment, its times in the input (seconds) and its translation."""

    start: float
    end: float
    text: str
    translation: str


@dataclass
class SpeechTranslationResult:
    """The recognised segments with their translations, the models and seconds of each stage, the spoken audio."""

    source_language: str  # the translation's source code, e.g. "fr"
    target_language: str  # e.g. "en"
    segments: list[TranslatedSegment]
    models: dict[str, str]  # stage -> catalog id
    seconds: dict[str, float]  # stage -> seconds spent in it
    sampling_rate: int = 16_000  # Hz of `audio`
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))  # (samples,) float32

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: languages, segments with translations, models and seconds per stage."""
        return {"source_language": self.source_language, "target_language": self.target_language,
                "segments": [vars(segment).copy() for segment in self.segments], "models": dict(self.models),
                "seconds": {stage: round(value, 3) for stage, value in self.seconds.items()},
                "duration_s": round(len(self.audio) / self.sampling_rate, 3)}

    def subtitles(self) -> dict[str, str]:
        """Bilingual cues (the original line, then its translation) and target-only cues, as SRT and WebVTT."""
        both = [Segment(s.start, s.end, f"{s.text}\n{s.translation}") for s in self.segments]
        target = [Segment(s.start, s.end, s.translation) for s in self.segments]
        return {"bilingual.srt": to_srt(both), "bilingual.vtt": to_vtt(both),
                "translation.srt": to_srt(target), "translation.vtt": to_vtt(target)}


@dataclass
class SpeechTranslationStep:
    """The result so far; `audio` is the newly spoken piece (with the pause before it), None when none is new."""

    result: SpeechTranslationResult
    audio: np.ndarray | None
    done: int  # segments spoken so far
    total: int  # segments recognised so far


def translate_speech(audio: Any, target_language: str, source_language: str = "auto",
                     recognition_model: str | None = None, translation_model: str | None = None,
                     speech_model: str | None = None) -> SpeechTranslationResult:
    """Recognise speech (or a video's sound), translate it into `target_language` and speak the translation."""
    for step in stream_speech_translation(audio, target_language, source_language, recognition_model,
                                          translation_model, speech_model):
        result = step.result
    return result


def stream_speech_translation(audio: Any, target_language: str, source_language: str = "auto",
                              recognition_model: str | None = None, translation_model: str | None = None,
                              speech_model: str | None = None) -> Iterator[SpeechTranslationStep]:
    """`translate_speech`, yielding after each spoken segment (its audio) so a caller can play the first at once."""
    if audio is None:
        raise InputError("Record or upload speech (or a video with speech) first.")
    # Every stage's choices are checked before the slow first stage runs.
    recognizer = resolve_model("transcribe", recognition_model)
    translator = resolve_model("translate", translation_model)
    target = stage_check("Translation", lambda: language_code(target_language, translator, "target"))
    speaker = stage_check("Text to speech", lambda: choose_speaker(speech_model, target))
    heard_language = stage_check("Speech recognition", lambda: speech_language(source_language, recognizer))
    given_source = None if heard_language is None else stage_check(
        "Translation", lambda: language_code(source_language, translator, "source"))
    if is_video(audio):
        audio = (RECOGNITION_RATE, video_audio(audio, RECOGNITION_RATE))
    result = SpeechTranslationResult(source_language=given_source or "", target_language=target, segments=[],
                                     models={"recognition": recognizer.id, "translation": translator.id,
                                             "speech": speaker.spec.id},
                                     seconds=dict.fromkeys(STAGES, 0.0))
    pieces: list[np.ndarray] = []
    spoken = heard = 0  # segments spoken; segments recognition gave so far
    started = time.perf_counter()
    for step in stream_transcription(audio, model=recognizer.id, language=heard_language):
        result.seconds["recognition"] += time.perf_counter() - started
        new = [Segment(s.start, s.end, clean(s.text)) for s in step.result.segments[heard:] if clean(s.text)]
        heard = len(step.result.segments)
        if not result.source_language:
            result.source_language = source_code(step.result.language, translator.languages)
        translated = translate_segments(new, result, translator.id)
        result.segments.extend(translated)
        for segment in translated:
            audio_piece = speak(segment.translation, result, speaker.spec.id, target)
            spoken += 1
            if audio_piece is None:
                continue
            if pieces:
                audio_piece = np.concatenate([np.zeros(int(PAUSE_SECONDS * result.sampling_rate), np.float32),
                                              audio_piece])
            pieces.append(audio_piece)
            result.audio = np.concatenate(pieces)
            yield SpeechTranslationStep(result=result, audio=audio_piece, done=spoken, total=len(result.segments))
        started = time.perf_counter()
    if not result.segments:
        raise InputError("No speech was found in the recording; record or upload speech, closer to the microphone.")
    if not pieces:
        raise InputError(f"The translation has nothing the {LANGUAGE_NAMES.get(target, target)} voice can "
                         "pronounce.")
    yield SpeechTranslationStep(result=result, audio=None, done=spoken, total=len(result.segments))


def clean(text: str) -> str:
    """A segment's text on one line, without control characters."""
    return " ".join(strip_controls(text).split())


def stage_check(stage: str, check: Any) -> Any:
    """A stage's check, its InputError prefixed with the stage that cannot do what was asked."""
    try:
        return check()
    except InputError as error:
        raise InputError(f"{stage}: {error}") from None


def source_code(heard: str | None, known: tuple[str, ...]) -> str:
    """The translation's source: the language recognition heard when the translator knows it, else "auto"
    (the text's language is then detected; e.g. MMS reports ISO 639-3 codes)."""
    return heard if heard in known else "auto"


def translate_segments(segments: list[Segment], result: SpeechTranslationResult,
                       model: str) -> list[TranslatedSegment]:
    """The segments' translations through the dispatch point: one call, one line per segment."""
    if not segments:
        return []
    started = time.perf_counter()
    lines = [segment.text for segment in segments]
    translated = stage_check("Translation", lambda: translate("\n".join(lines), result.source_language,
                                                              result.target_language, model=model))
    if result.source_language == "auto":
        result.source_language = translated.source_language  # detected once, kept for the later segments
    outputs = translated.translation.split("\n")
    if len(outputs) != len(lines):  # never expected (one paragraph per line), but keep each cue with its own text
        outputs = [translate(line, result.source_language, result.target_language, model=model).translation
                   for line in lines]
    result.seconds["translation"] += time.perf_counter() - started
    return [TranslatedSegment(round(s.start, 3), round(s.end, 3), s.text, out)
            for s, out in zip(segments, outputs, strict=True)]


def speak(text: str, result: SpeechTranslationResult, model: str, language: str) -> np.ndarray | None:
    """One segment's translation spoken through the dispatch point; None when the voice can say none of it."""
    started = time.perf_counter()
    try:
        speech = synthesize_speech(text, model=model, language=language)
    except InputError:  # e.g. a segment of digits only in a voice without digits: the others are still spoken
        return None
    finally:
        result.seconds["speech"] += time.perf_counter() - started
    result.sampling_rate = speech.sampling_rate
    return speech.audio
