"""Whisper on both engines: transformers' ASR pipeline (torch) and faster-whisper (CTranslate2), over 30 s windows.

Audio longer than one pass is cut into 30 s windows decoded in batches; on torch the batches can be streamed, with
the text of the finished windows after each batch.
"""

import math
from collections.abc import Iterator
from typing import Any

import numpy as np

from backend import compute, models
from backend.catalog import ModelSpec
from backend.languages import find_language
from backend.limits import MAX_TRANSCRIPTION_NEW_TOKENS
from backend.speech.transcript import TranscriptionResult, TranscriptionStep, to_segment

WHISPER_CHUNK_SECONDS = 30  # Whisper's window
# Greedy decoding, as `model.generate` does by default; the ASR pipeline would otherwise use 5 beams, which took
# 2.2x the time of greedy decoding on 30 s with Whisper base here (bench/).
WHISPER_BEAMS = 1
WHISPER_BATCH_SIZE = 4  # windows decoded together; more windows per batch help long audio on CPU and GPU alike


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
        language_probability=1.0 if language else None,
    )


def whisper_windows(duration: float) -> list[dict[str, float]]:
    """Fixed WHISPER_CHUNK_SECONDS windows covering the audio, {"start", "end"} in seconds (at least one)."""
    count = max(1, math.ceil(duration / WHISPER_CHUNK_SECONDS))
    return [{"start": float(index * WHISPER_CHUNK_SECONDS),
             "end": min(float((index + 1) * WHISPER_CHUNK_SECONDS), duration)} for index in range(count)]


def transcribe_whisper_ctranslate2(
    loaded: models.LoadedModel, spec: ModelSpec, samples: np.ndarray, duration: float, language: str | None,
    task: str,
) -> TranscriptionResult:
    """Whisper on CTranslate2 (faster-whisper): fixed 30 s windows decoded in batches, greedy, as the torch path.

    No VAD (the windows are given), no fallback temperatures, no previous-text conditioning and no no-speech
    skipping, so every window is decoded once, greedily, like `transcribe_whisper`. A language not given is
    detected on the first window, with its probability.
    """
    from faster_whisper import BatchedInferencePipeline

    if "faster_whisper_pipeline" not in loaded.memo:
        loaded.memo["faster_whisper_pipeline"] = BatchedInferencePipeline(loaded.model.runner)
    pieces, info = loaded.memo["faster_whisper_pipeline"].transcribe(
        samples,
        language=language,
        task=task,
        beam_size=WHISPER_BEAMS,
        best_of=1,
        temperature=0.0,
        condition_on_previous_text=False,
        vad_filter=False,
        clip_timestamps=whisper_windows(duration),
        batch_size=WHISPER_BATCH_SIZE,
        without_timestamps=False,
        # CTranslate2 decodes at most half of prompt + max_new_tokens per window (openai/whisper's sample_len,
        # 448 // 2): about 221 tokens here, against MAX_TRANSCRIPTION_NEW_TOKENS on torch.
        max_new_tokens=MAX_TRANSCRIPTION_NEW_TOKENS,
        log_prob_threshold=None,
        no_speech_threshold=None,
        compression_ratio_threshold=None,
    )
    pieces = list(pieces)  # a generator: the windows are decoded here
    segments = [to_segment({"timestamp": (piece.start, piece.end), "text": piece.text}, duration)
                for piece in pieces if piece.text.strip()]
    return TranscriptionResult(
        model=spec.id,
        text="".join(piece.text for piece in pieces).strip(),
        language=language or find_language(info.language, spec.languages) or info.language,
        segments=segments,
        language_probability=round(float(info.language_probability), 4),
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
                segments=[to_segment(chunk, duration) for chunk in chunks if chunk["text"].strip()],
                language_probability=1.0 if language else None),  # as transcribe_whisper reports it
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
            segments=[to_segment(chunk, duration) for chunk in done if chunk["text"].strip()],
            language_probability=1.0 if language else None),
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
