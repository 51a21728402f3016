"""Speech recognition: audio of any length -> text, its language and timed segments; SRT and WebVTT writers.

Uses the transformers ASR pipeline. Audio longer than one pass is cut into overlapping windows: 30 s windows for
Whisper (batched), 10 s windows with 2 s strides on each side for wav2vec2's CTC beyond 30 s. wav2vec2's word
timestamps are grouped here into subtitle-sized segments.
"""

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from backend import compute, inputs, models
from backend.catalog import ModelSpec, resolve_model
from backend.errors import InputError
from backend.languages import find_language
from backend.limits import MAX_TRANSCRIPTION_NEW_TOKENS

TASKS = ("transcribe", "translate")  # Whisper's two tasks; "translate" means speech in any language -> English text
WHISPER_CHUNK_SECONDS = 30  # Whisper's window
# Greedy decoding, as `model.generate` does by default; the ASR pipeline would otherwise use 5 beams, which took
# 2.2x the time of greedy decoding on 30 s with Whisper base here (bench/).
WHISPER_BEAMS = 1
WHISPER_BATCH_SIZE = 4  # windows decoded together; more windows per batch help long audio on CPU and GPU alike
CTC_SINGLE_PASS_SECONDS = 30  # wav2vec2 takes audio up to this long in one pass (attention cost ~ length^2)
CTC_CHUNK_SECONDS = 10  # longer audio goes in windows this long
CTC_STRIDE_SECONDS = 2  # overlap on each side of a CTC window, dropped when windows are joined
SEGMENT_MAX_SECONDS = 8.0  # CTC words are grouped into segments no longer than this...
SEGMENT_MAX_GAP_SECONDS = 0.6  # ...and a pause longer than this starts a new segment


@dataclass
class Segment:
    """A stretch of speech and its text."""

    start: float  # seconds from the start of the audio
    end: float  # seconds
    text: str


@dataclass
class TranscriptionResult:
    """The text of the audio, its language when known, and timed segments."""

    model: str
    text: str
    language: str | None  # a code such as "en"; None when the model does not say
    segments: list[Segment] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "text", "language", "segments": [{"start", "end", "text"}, ...]}."""
        return asdict(self)


@dataclass
class TranscriptionStep:
    """The text of the windows finished so far (`done` of `total`); the last step holds the whole result."""

    result: TranscriptionResult
    done: int
    total: int


def transcribe(
    audio: Any,
    model: str | None = None,
    language: str | None = None,
    task: str = "transcribe",
) -> TranscriptionResult:
    """Turn speech into text; `language` None/""/"auto" detects it; task "translate" gives English (Whisper)."""
    for step in stream_transcription(audio, model=model, language=language, task=task):
        result = step.result
    return result


def stream_transcription(
    audio: Any,
    model: str | None = None,
    language: str | None = None,
    task: str = "transcribe",
) -> Iterator[TranscriptionStep]:
    """`transcribe`, yielding the text of each finished batch of 30 s windows of long audio (Whisper) before the
    whole result; audio that fits one window, and wav2vec2, give the whole result in one step."""
    spec = resolve_model("transcribe", model)
    code = speech_language(language, spec)
    if task not in TASKS:
        raise InputError("The task must be 'transcribe' or 'translate' (speech to English text).")
    if spec.family != "whisper" and task == "translate":
        raise InputError(f"{spec.label} cannot translate; choose a Whisper model or the task 'transcribe'.")
    loaded = models.get(spec.id)
    recognizer = asr_pipeline(loaded)
    samples = inputs.load_audio(audio, sampling_rate=recognizer.feature_extractor.sampling_rate)
    duration = len(samples) / recognizer.feature_extractor.sampling_rate
    if spec.family == "whisper" and len(samples) > WHISPER_CHUNK_SECONDS * recognizer.feature_extractor.sampling_rate:
        yield from stream_whisper_windows(recognizer, spec, samples, duration, code, task)
        return
    with compute.model_work():
        if spec.family == "whisper":
            result = transcribe_whisper(recognizer, spec, samples, duration, code, task)
        else:
            result = transcribe_ctc(recognizer, spec, samples, duration)
    yield TranscriptionStep(result=result, done=1, total=1)


def speech_language(language: str | None, spec: ModelSpec) -> str | None:
    """The language code asked for, or None to detect it."""
    text = (language or "").strip()
    if text.lower() in {"", "auto", "detect", "auto-detect"}:
        return None
    code = find_language(text, spec.languages)
    if code is None:
        raise InputError(f"{spec.label} does not know the language {text[:40]!r}. Leave it on auto-detect, or use "
                         "an English name such as French or a code such as fr.")
    return code


def asr_pipeline(loaded: models.LoadedModel) -> Any:
    """The transformers ASR pipeline around a loaded model, built once per model."""
    if "asr_pipeline" not in loaded.memo:
        from transformers import pipeline

        loaded.memo["asr_pipeline"] = pipeline(
            "automatic-speech-recognition",
            model=loaded.model,
            tokenizer=loaded.processor.tokenizer,
            feature_extractor=loaded.processor.feature_extractor,
            device=loaded.device,
        )
    return loaded.memo["asr_pipeline"]


def transcribe_whisper(
    recognizer: Any, spec: ModelSpec, samples: np.ndarray, duration: float, language: str | None, task: str
) -> TranscriptionResult:
    """Whisper over 30 s windows, with segment timestamps and, when not given, the detected language."""
    rate = recognizer.feature_extractor.sampling_rate
    single_window = len(samples) <= WHISPER_CHUNK_SECONDS * rate
    if language is None and not single_window:
        # One language for the whole recording, detected on its first window (as Whisper's own long-form
        # decoding does); the pipeline's per-window detection fails with batched windows in transformers 5.23.
        language = detect_language(recognizer, samples[: WHISPER_CHUNK_SECONDS * rate])
    generate_kwargs: dict[str, Any] = {"task": task, "max_new_tokens": MAX_TRANSCRIPTION_NEW_TOKENS,
                                       "num_beams": WHISPER_BEAMS}
    if language:
        generate_kwargs["language"] = language
    # Windows only for audio longer than one: the pipeline's 30 s windows overlap by 5 s on each side, so even
    # exactly 30 s would be decoded as two windows (measured 1.84x the model's own time for 30 s, see bench/).
    windows = {} if single_window else {"chunk_length_s": WHISPER_CHUNK_SECONDS, "batch_size": WHISPER_BATCH_SIZE}
    output = recognizer(
        samples,
        **windows,
        return_timestamps=True,
        return_language=language is None,  # a single window: detected while decoding it, at no extra cost
        generate_kwargs=generate_kwargs,
        ignore_warning=True,  # the warning is about seq2seq chunking in general; Whisper's timestamps handle it
    )
    chunks = output.get("chunks", [])
    # The pipeline reports a detected language by its English name ("french").
    heard = next((chunk["language"] for chunk in chunks if chunk.get("language")), None)
    detected = language or (find_language(heard, spec.languages) if heard else None)
    return TranscriptionResult(
        model=spec.id,
        text=output["text"].strip(),
        language=detected,
        segments=[to_segment(chunk, duration) for chunk in chunks if chunk["text"].strip()],
    )


def stream_whisper_windows(
    recognizer: Any, spec: ModelSpec, samples: np.ndarray, duration: float, language: str | None, task: str
) -> Iterator[TranscriptionStep]:
    """Whisper over batched 30 s windows as `transcribe_whisper` decodes them, with the text so far after each batch.

    The pipeline's own preprocessing, forward pass and joining run here step by step, so the whole result is the
    one `recognizer(samples, chunk_length_s=..., batch_size=...)` gives. The text shown after a batch keeps only
    the segments that end before the next window starts: later windows overlap the last one and may rewrite its end.
    """
    from torch.utils.data import DataLoader
    from transformers.pipelines.base import PipelineChunkIterator, PipelineIterator, no_collate_fn, pad_collate_fn

    rate = recognizer.feature_extractor.sampling_rate
    if language is None:  # one language for the recording, detected on its first window (see transcribe_whisper)
        with compute.model_work():
            language = detect_language(recognizer, samples[: WHISPER_CHUNK_SECONDS * rate])
    generate_kwargs: dict[str, Any] = {"task": task, "max_new_tokens": MAX_TRANSCRIPTION_NEW_TOKENS,
                                       "num_beams": WHISPER_BEAMS, "language": language}
    sanitized = recognizer._sanitize_parameters(chunk_length_s=WHISPER_CHUNK_SECONDS, return_timestamps=True,
                                                generate_kwargs=generate_kwargs, ignore_warning=True)
    preprocess, forward, postprocess = (
        {**defaults, **given} for defaults, given in zip(
            (recognizer._preprocess_params, recognizer._forward_params, recognizer._postprocess_params), sanitized,
            strict=True))
    # As the pipeline batches its windows (transformers.pipelines.base.ChunkPipeline.get_iterator).
    collate = (no_collate_fn if WHISPER_BATCH_SIZE == 1
               else pad_collate_fn(recognizer.tokenizer, recognizer.feature_extractor))
    windows = DataLoader(PipelineChunkIterator([samples], recognizer.preprocess, preprocess), num_workers=0,
                         batch_size=WHISPER_BATCH_SIZE, collate_fn=collate)
    decoded_windows = iter(PipelineIterator(windows, recognizer.forward, forward,
                                            loader_batch_size=WHISPER_BATCH_SIZE))
    window = WHISPER_CHUNK_SECONDS * rate  # samples
    stride = round(window / 6)  # the pipeline's default overlap: a sixth of a window on each side
    step = window - 2 * stride
    total = whisper_window_count(len(samples), window, stride)
    outputs: list[dict[str, Any]] = []
    while True:
        with compute.model_work():  # one batch of windows; the lock is not held while the caller shows the text
            # next() by hand: islice would call iter() again, which restarts a transformers PipelineIterator.
            batch = [output for output in (next(decoded_windows, None) for _ in range(WHISPER_BATCH_SIZE))
                     if output is not None]
        outputs.extend(batch)
        finished = not batch or bool(outputs[-1]["is_last"])
        joined = recognizer.postprocess([dict(output) for output in outputs], **postprocess)
        chunks = joined.get("chunks", [])
        if finished:
            yield TranscriptionStep(result=TranscriptionResult(
                model=spec.id, text=joined["text"].strip(), language=language,
                segments=[to_segment(chunk, duration) for chunk in chunks if chunk["text"].strip()]),
                done=total, total=total)
            return
        settled = len(outputs) * step / rate  # seconds: where the next window starts
        done = []
        for chunk in chunks[:-1]:  # the last one is still open
            if chunk["timestamp"][1] is None or chunk["timestamp"][1] > settled:
                break
            done.append(chunk)
        yield TranscriptionStep(result=TranscriptionResult(
            model=spec.id, text="".join(chunk["text"] for chunk in done).strip(), language=language,
            segments=[to_segment(chunk, duration) for chunk in done if chunk["text"].strip()]),
            done=len(outputs), total=total)


def whisper_window_count(samples: int, window: int, stride: int) -> int:
    """How many windows the pipeline cuts audio of this many samples into (its chunk_iter's loop)."""
    count = 0
    for start in range(0, samples, window - 2 * stride):
        count += min(window, samples - start) > (stride if start else 0)  # a tail within the overlap is dropped
        if start + window >= samples:
            break
    return count


def detect_language(recognizer: Any, window: np.ndarray) -> str:
    """The language code Whisper hears in up to 30 s of audio."""
    extractor = recognizer.feature_extractor
    features = extractor(window, sampling_rate=extractor.sampling_rate, return_tensors="pt").input_features
    model = recognizer.model
    token_id = int(model.detect_language(features.to(model.device, model.dtype))[0])
    return recognizer.tokenizer.convert_ids_to_tokens(token_id).strip("<|>")  # "<|fr|>" -> "fr"


def transcribe_ctc(recognizer: Any, spec: ModelSpec, samples: np.ndarray, duration: float) -> TranscriptionResult:
    """wav2vec2 CTC over strided windows; word timestamps grouped into segments."""
    # Up to CTC_SINGLE_PASS_SECONDS in one pass: strided windows re-encode their overlaps (measured 1.12-1.26x).
    long_audio = duration > CTC_SINGLE_PASS_SECONDS
    windows = {"chunk_length_s": CTC_CHUNK_SECONDS, "stride_length_s": CTC_STRIDE_SECONDS} if long_audio else {}
    output = recognizer(samples, **windows, return_timestamps="word")
    words = [to_segment(chunk, duration) for chunk in output.get("chunks", []) if chunk["text"].strip()]
    return TranscriptionResult(
        model=spec.id,
        text=output["text"].strip(),
        language=spec.languages[0] if len(spec.languages) == 1 else None,
        segments=group_words(words),
    )


def to_segment(chunk: dict[str, Any], duration: float) -> Segment:
    """A pipeline chunk {"timestamp": (start, end), "text"} as a Segment; a missing end is the end of the audio."""
    start, end = chunk["timestamp"]
    start = min(float(start or 0.0), duration)
    end = duration if end is None else min(float(end), duration)
    return Segment(start=round(start, 3), end=round(max(start, end), 3), text=chunk["text"].strip())


def group_words(words: list[Segment]) -> list[Segment]:
    """Words joined into segments at pauses, each at most SEGMENT_MAX_SECONDS long."""
    segments: list[Segment] = []
    for word in words:
        last = segments[-1] if segments else None
        if (last is not None and word.start - last.end <= SEGMENT_MAX_GAP_SECONDS
                and word.end - last.start <= SEGMENT_MAX_SECONDS):
            last.end = word.end
            last.text = f"{last.text} {word.text}"
        else:
            segments.append(Segment(start=word.start, end=word.end, text=word.text))
    return segments


def to_srt(segments: list[Segment]) -> str:
    """SubRip subtitles: numbered cues with "HH:MM:SS,mmm --> HH:MM:SS,mmm" times."""
    cues = [
        f"{number}\n{clock(segment.start, ',')} --> {clock(segment.end, ',')}\n{segment.text}\n"
        for number, segment in enumerate(segments, start=1)
    ]
    return "\n".join(cues)


def to_vtt(segments: list[Segment]) -> str:
    """WebVTT subtitles: a header, then cues with "HH:MM:SS.mmm --> HH:MM:SS.mmm" times."""
    cues = [f"{clock(segment.start, '.')} --> {clock(segment.end, '.')}\n{segment.text}\n" for segment in segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def clock(seconds: float, decimal_mark: str) -> str:
    """Seconds as "HH:MM:SS<mark>mmm"."""
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal_mark}{millis:03d}"
