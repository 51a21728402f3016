"""Speech recognition: audio of any length -> text, its language and timed segments (`/transcribe`).

The work per model family lives in backend/speech/: Whisper on torch or CTranslate2 (whisper.py), wav2vec2, MMS
and XLS-R (ctc.py); subtitles from segments in subtitles.py.
"""

import math
from collections.abc import Iterator
from typing import Any

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, resolve_model
from backend.errors import InputError
from backend.languages import LANGUAGE_NAMES, find_language
from backend.speech.ctc import transcribe_ctc, transcribe_mms, translate_xls_r
from backend.speech.mms_languages import find_mms_language, mms_name
from backend.speech.transcript import (  # noqa: F401  (the task's result types, re-exported for callers)
    LanguageGuess,
    Segment,
    TranscriptionResult,
    TranscriptionStep,
    asr_pipeline,
)
from backend.speech.vad import VAD_RATE, restore_times, speech_windows
from backend.speech.video_audio import is_video, video_audio
from backend.speech.whisper import beams_for, stream_whisper, stream_whisper_ctranslate2
from backend.speech.whisper_batched import stream_speech_windows

TASKS = ("transcribe", "translate")  # "translate" means speech in another language -> English text
TRANSLATING_FAMILIES = ("whisper", "xls_r_translation")  # the families that can translate


@dispatch.task(files={"audio": "audio"})
def transcribe(
    audio: Any,
    model: str | None = None,
    language: str | None = None,
    task: str = "transcribe",
    beam_size: int | None = None,
    word_timestamps: bool = False,
    candidate_languages: str | None = None,
    vad: bool = True,
) -> TranscriptionResult:
    """Turn speech into text; `language` None/""/"auto" detects it; task "translate" gives English (Whisper, XLS-R);
    `beam_size` 1-5 (Whisper; None: the default for its engine and device, see backend/speech/whisper.py);
    `word_timestamps` adds "words" with times and probabilities; `candidate_languages` ("fr, German, es") limits
    detection to those languages; `vad` drops non-speech before recognition (Whisper; "speech_s" says how much was
    kept). `audio` may also be a video file (MP4, WebM, MOV, MKV): its audio track is transcribed."""
    for step in stream_transcription(audio, model=model, language=language, task=task, beam_size=beam_size,
                                     word_timestamps=word_timestamps, candidate_languages=candidate_languages,
                                     vad=vad):
        result = step.result
    return result


def stream_transcription(
    audio: Any,
    model: str | None = None,
    language: str | None = None,
    task: str = "transcribe",
    beam_size: int | None = None,
    word_timestamps: bool = False,
    candidate_languages: str | None = None,
    vad: bool = True,
) -> Iterator[TranscriptionStep]:
    """`transcribe`, yielding the text so far after each decoded 30 s window (Whisper; `done` of `total` seconds of
    audio) before the whole result; the other models give the whole result in one step. In Ray mode the cluster
    computes the whole result (backend/dispatch.py), so there is one step."""
    if dispatch.is_remote():
        yield TranscriptionStep(result=transcribe(audio, model=model, language=language, task=task,
                                                  beam_size=beam_size, word_timestamps=word_timestamps,
                                                  candidate_languages=candidate_languages, vad=vad),
                                done=1, total=1)
        return
    spec = resolve_model("transcribe", model)
    code = speech_language(language, spec)
    allowed = candidate_codes(candidate_languages, spec) if code is None else None
    if is_video(audio):  # its audio track, at the 16 kHz every speech model here reads
        audio = (VAD_RATE, video_audio(audio, VAD_RATE))
    if task not in TASKS:
        raise InputError("The task must be 'transcribe' or 'translate' (speech to English text).")
    if spec.family not in TRANSLATING_FAMILIES and task == "translate":
        raise InputError(f"{spec.label} cannot translate; choose a Whisper model or XLS-R 21-to-en, or the task "
                         "'transcribe'.")
    if spec.family == "xls_r_translation" and task != "translate":
        raise InputError(f"{spec.label} only translates speech into English text; choose the task 'translate', or "
                         "a Whisper or MMS model to transcribe.")
    beams = beams_for(beam_size, "torch", "cpu")  # checked before the model loads; the default is chosen below
    loaded = models.get(spec.id)
    engine, precision = models.engine_of(loaded)
    if spec.family == "xls_r_translation":
        extractor = loaded.processor.feature_extractor
        result = translate_xls_r(loaded, inputs.load_audio(audio, sampling_rate=extractor.sampling_rate), code)
        result.words_note = (f"{spec.label} translates whole windows and gives no word times."
                             if word_timestamps else None)
    elif spec.family == "mms":
        result = transcribe_mms(loaded, audio, code, allowed)
    else:
        rate = loaded.processor.feature_extractor.sampling_rate
        samples = inputs.load_audio(audio, sampling_rate=rate)
        duration = len(samples) / rate
        if spec.family == "whisper":
            if beam_size is None:
                beams = beams_for(None, engine, loaded.device.type)
            if not vad:  # the whole audio, 30 s window after window, each with the text before it as a prompt
                stream = stream_whisper_ctranslate2 if engine == "ctranslate2" else stream_whisper
                yield from stream_with_engine(stream(loaded, spec, samples, duration, code, task, beams,
                                                     words=word_timestamps, candidates=allowed), engine, precision)
                return
            # Only the speech, in windows decoded several at once; its times mapped back onto the audio's.
            speech, timemap, windows = speech_windows(samples)
            total = max(1, math.ceil(duration))  # progress in seconds of the audio sent, not of the speech kept
            if not windows:  # no speech at all: nothing to invent
                yield TranscriptionStep(result=TranscriptionResult(
                    model=spec.id, text="", language=code, language_probability=1.0 if code else None,
                    engine=engine, precision=precision, speech_s=0.0), done=total, total=total)
                return
            for step in stream_with_engine(stream_speech_windows(loaded, spec, engine, speech, windows, code, task,
                                                                 beams, words=word_timestamps, candidates=allowed),
                                           engine, precision):
                restore_times(step.result, timemap, len(speech) / rate)
                done = total if step.done == step.total else min(
                    total - 1, math.floor(timemap.get_original_time(step.done)))
                yield TranscriptionStep(result=step.result, done=done, total=total)
            return
        with compute.model_work():
            result = transcribe_ctc(asr_pipeline(loaded), spec, samples, duration)
    if not word_timestamps:
        result.words = []
    result.engine, result.precision = engine, precision
    yield TranscriptionStep(result=result, done=1, total=1)


def stream_with_engine(steps: Iterator[TranscriptionStep], engine: str, precision: str
                       ) -> Iterator[TranscriptionStep]:
    """The steps, each result saying which engine and precision made it."""
    for step in steps:
        step.result.engine, step.result.precision = engine, precision
        yield step


def speech_language(language: str | None, spec: ModelSpec) -> str | None:
    """The language code asked for, or None to detect it."""
    text = (language or "").strip()
    if text.lower() in {"", "auto", "detect", "auto-detect"}:
        return None
    if spec.family == "mms":
        code = find_mms_language(text, spec.languages)
        if code is None:
            raise InputError(f"{spec.label} does not know the language {text[:40]!r}. Leave it on auto-detect, or "
                             "use an English name such as Swahili or an ISO 639-3 code such as swh.")
        return code
    code = find_language(text, spec.languages)
    if code is None:
        raise InputError(f"{spec.label} does not know the language {text[:40]!r}. Leave it on auto-detect, or use "
                         "an English name such as French or a code such as fr.")
    return code


def candidate_codes(candidates: str | None, spec: ModelSpec) -> tuple[str, ...] | None:
    """The language codes detection may choose from, from "fr, German, es" (names or codes); None: all."""
    names = [name.strip() for name in (candidates or "").split(",") if name.strip()]
    if not names:
        return None
    codes = []
    for name in names:
        code = speech_language(name, spec)
        if code is None:  # "auto" in the list
            return None
        codes.append(code)
    return tuple(dict.fromkeys(codes))


def language_name(code: str | None) -> str:
    """A code's English name for people: "French" for "fr" (Whisper) and for "fra" (MMS); "unknown" for None."""
    if not code:
        return "unknown"
    return LANGUAGE_NAMES.get(code) or mms_name(code)
