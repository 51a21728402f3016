"""Speech recognition: audio of any length -> text, its language and timed segments; SRT and WebVTT writers.

Uses the transformers ASR pipeline, or for Whisper under CTranslate2 (backend/engines) faster-whisper's batched
pipeline on the same decoded samples, fixed 30 s windows and greedy decoding. Audio longer than one pass is cut
into overlapping windows: 30 s windows for Whisper (batched), 10 s windows with 2 s strides on each side for
wav2vec2's CTC beyond 30 s. wav2vec2's word timestamps are grouped here into subtitle-sized segments.

MMS-1b-all is wav2vec2 CTC with one small adapter per language: the request's language (or the one MMS-LID hears)
is switched in on the one shared model, in place, so the switch and the transcription run under the device lock
with no other request between. XLS-R 21-to-en translates speech into English text, window by window.
"""

import math
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import torch

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec, helper_model, resolve_model
from backend.errors import InputError, ModelUnavailableError
from backend.languages import LANGUAGE_NAMES, find_language
from backend.limits import MAX_TRANSCRIPTION_NEW_TOKENS
from backend.mms_languages import adapter_for, find_mms_language, fold, mms_name

TASKS = ("transcribe", "translate")  # "translate" means speech in another language -> English text
TRANSLATING_FAMILIES = ("whisper", "xls_r_translation")  # the families that can translate
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
MMS_ADAPTERS_KEPT = 16  # languages whose adapter weights stay in memory (~10 MB each for MMS-1b) for a cheap switch
LID_SECONDS = 30  # MMS-LID listens to the start of the audio, up to this long
LID_CANDIDATES = 3  # languages reported with their probabilities
XLS_R_WINDOW_SECONDS = 20  # XLS-R translates windows at most this long (trained on CoVoST 2 utterances of seconds)
XLS_R_BATCH_SIZE = 4  # windows translated together
XLS_R_BEAMS = 1  # greedy, as for Whisper


@dataclass
class Segment:
    """A stretch of speech and its text."""

    start: float  # seconds from the start of the audio
    end: float  # seconds
    text: str


@dataclass
class LanguageGuess:
    """A spoken language and how likely the language identifier finds it."""

    language: str  # MMS-LID's ISO 639-3 code, e.g. "fra"
    probability: float  # 0..1


@dataclass
class TranscriptionResult:
    """The text of the audio, its language when known, and timed segments."""

    model: str
    text: str
    # The spoken language: a code such as "en" (Whisper), an MMS adapter code such as "fra" (MMS); None when unknown.
    language: str | None
    segments: list[Segment] = field(default_factory=list)
    # The language's probability (0-1): MMS-LID's when it chose the language, Whisper's detection on CTranslate2,
    # 1.0 for a language given by the caller (Whisper on CTranslate2); None where the model does not say.
    language_probability: float | None = None
    language_candidates: list[LanguageGuess] = field(default_factory=list)  # MMS-LID's top LID_CANDIDATES
    engine: str = "torch"  # "torch" or "ctranslate2"
    precision: str = "float32"  # the weights' dtype or CTranslate2 compute type, e.g. "int8"

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "text", "language", "segments": [{"start", "end", "text"}, ...],
        "language_probability", "language_candidates": [{"language", "probability"}, ...], "engine", "precision"}."""
        return asdict(self)


@dataclass
class TranscriptionStep:
    """The text of the windows finished so far (`done` of `total`); the last step holds the whole result."""

    result: TranscriptionResult
    done: int
    total: int


@dispatch.task(files={"audio": "audio"})
def transcribe(
    audio: Any,
    model: str | None = None,
    language: str | None = None,
    task: str = "transcribe",
) -> TranscriptionResult:
    """Turn speech into text; `language` None/""/"auto" detects it; task "translate" gives English (Whisper, XLS-R)."""
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
    whole result; audio that fits one window, and the other models, give the whole result in one step. In Ray mode
    the cluster computes the whole result (backend/dispatch.py), so there is one step."""
    if dispatch.is_remote():
        yield TranscriptionStep(result=transcribe(audio, model=model, language=language, task=task), done=1, total=1)
        return
    spec = resolve_model("transcribe", model)
    code = speech_language(language, spec)
    if task not in TASKS:
        raise InputError("The task must be 'transcribe' or 'translate' (speech to English text).")
    if spec.family not in TRANSLATING_FAMILIES and task == "translate":
        raise InputError(f"{spec.label} cannot translate; choose a Whisper model or XLS-R 21-to-en, or the task "
                         "'transcribe'.")
    if spec.family == "xls_r_translation" and task != "translate":
        raise InputError(f"{spec.label} only translates speech into English text; choose the task 'translate', or "
                         "a Whisper or MMS model to transcribe.")
    loaded = models.get(spec.id)
    engine, precision = models.engine_of(loaded)
    if spec.family == "xls_r_translation":
        extractor = loaded.processor.feature_extractor
        result = translate_xls_r(loaded, inputs.load_audio(audio, sampling_rate=extractor.sampling_rate), code)
    elif spec.family == "mms":
        result = transcribe_mms(loaded, audio, code)
    else:
        rate = loaded.processor.feature_extractor.sampling_rate
        samples = inputs.load_audio(audio, sampling_rate=rate)
        duration = len(samples) / rate
        if engine == "torch" and spec.family == "whisper" and len(samples) > WHISPER_CHUNK_SECONDS * rate:
            for step in stream_whisper_windows(asr_pipeline(loaded), spec, samples, duration, code, task):
                step.result.engine, step.result.precision = engine, precision
                yield step
            return
        with compute.model_work():
            if engine == "ctranslate2":
                result = transcribe_whisper_ctranslate2(loaded, spec, samples, duration, code, task)
            elif spec.family == "whisper":
                result = transcribe_whisper(asr_pipeline(loaded), spec, samples, duration, code, task)
            else:
                result = transcribe_ctc(asr_pipeline(loaded), spec, samples, duration)
    result.engine, result.precision = engine, precision
    yield TranscriptionStep(result=result, done=1, total=1)


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


def transcribe_mms(loaded: models.LoadedModel, audio: Any, language: str | None) -> TranscriptionResult:
    """MMS-1b-all in one language: the one asked for, or the likeliest MMS-LID hears that has an adapter."""
    recognizer = asr_pipeline(loaded)
    rate = recognizer.feature_extractor.sampling_rate
    samples = inputs.load_audio(audio, sampling_rate=rate)
    duration = len(samples) / rate
    available = tuple(loaded.processor.tokenizer.vocab)  # the checkpoint's languages (its nested vocab.json)
    probability, candidates = None, []
    if language is None:
        ranked = identify_language(samples, rate)
        candidates = ranked[:LID_CANDIDATES]
        heard = next(((guess, code) for guess in ranked if (code := adapter_for(guess.language, available))), None)
        if heard is None:
            raise InputError(f"{loaded.spec.label} has no adapter for any language MMS-LID recognises here; "
                             "choose the language.")
        probability, language = heard[0].probability, heard[1]
    adapter = next((code for code in available if fold(code) == fold(language)), None)
    if adapter is None:
        raise InputError(f"This copy of {loaded.spec.label} has no adapter for {mms_name(language)} ({language}); "
                         "choose another language or auto-detect.")
    # The adapter and the tokenizer's vocabulary are switched in place on the one shared model: keep the device
    # until this request's transcription is done, so no request in another language runs in between.
    with compute.DEVICE_LOCK:
        use_adapter(loaded, adapter)
        with compute.model_work():
            result = transcribe_ctc(recognizer, loaded.spec, samples, duration)
    result.language, result.language_probability, result.language_candidates = adapter, probability, candidates
    return result


def is_adapter_weight(name: str) -> bool:
    """Whether a Wav2Vec2ForCTC parameter belongs to the language adapter (attention adapters and the CTC head)."""
    return ".adapter_layer." in name or name.startswith("lm_head.")


def use_adapter(loaded: models.LoadedModel, language: str) -> None:
    """Switch MMS's adapter and its tokenizer's vocabulary to `language`; the caller holds DEVICE_LOCK.

    The first use of a language loads its adapter file with transformers' `load_adapter` (a Hub look-up and a file
    read); its weights are then kept in the model's memo (up to MMS_ADAPTERS_KEPT languages), so switching back is a
    copy of about 2M numbers at real size.
    """
    if loaded.memo.get("mms_language") == language:
        return
    kept: OrderedDict[str, dict[str, torch.Tensor]] = loaded.memo.setdefault("mms_adapters", OrderedDict())
    model = loaded.model
    if language in kept:
        put_adapter_weights(model, kept[language])
        kept.move_to_end(language)
    else:
        try:
            model.load_adapter(language, use_safetensors=True)
        except OSError as error:
            raise ModelUnavailableError(f"The {language} adapter of {loaded.spec.id} could not be loaded; check "
                                        "the network connection or the model's files, then try again.") from error
        kept[language] = {name: param.detach().clone() for name, param in model.named_parameters()
                          if is_adapter_weight(name)}
        while len(kept) > MMS_ADAPTERS_KEPT:
            kept.popitem(last=False)
    loaded.processor.tokenizer.set_target_lang(language)
    loaded.memo["mms_language"] = language


def put_adapter_weights(model: Any, weights: dict[str, torch.Tensor]) -> None:
    """Copy one language's adapter weights into the model, resizing the CTC head to that language's vocabulary."""
    rows = weights["lm_head.weight"].shape[0]
    if model.lm_head.out_features != rows:  # as load_adapter does: each language has its own characters
        model.lm_head = torch.nn.Linear(model.lm_head.in_features, rows, device=model.device, dtype=model.dtype)
        model.config.vocab_size = rows
    with torch.no_grad():
        model.load_state_dict(weights, strict=False)


def identify_language(samples: np.ndarray, rate: int) -> list[LanguageGuess]:
    """Every language MMS-LID knows, likeliest first, for up to LID_SECONDS of 16 kHz audio."""
    loaded = models.get(helper_model("mms_lid").id)
    extractor = loaded.processor  # a feature extractor alone
    if extractor.sampling_rate != rate:
        raise ValueError(f"MMS-LID expects {extractor.sampling_rate} Hz audio, got {rate} Hz.")
    features = extractor(samples[: LID_SECONDS * rate], sampling_rate=rate, return_tensors="pt")
    model = loaded.model
    with compute.model_work():
        logits = model(**{key: value.to(model.device, model.dtype) if value.is_floating_point()
                          else value.to(model.device) for key, value in features.items()}).logits[0]
    probabilities = logits.float().softmax(dim=-1)
    order = probabilities.argsort(descending=True).tolist()
    return [LanguageGuess(model.config.id2label[i], round(float(probabilities[i]), 4)) for i in order]


def translate_xls_r(loaded: models.LoadedModel, samples: np.ndarray, language: str | None) -> TranscriptionResult:
    """XLS-R 21-to-en over XLS_R_WINDOW_SECONDS windows (batched): English text, one segment per window."""
    extractor, tokenizer, model = loaded.processor.feature_extractor, loaded.processor.tokenizer, loaded.model
    rate = extractor.sampling_rate
    bounds = window_bounds(len(samples), XLS_R_WINDOW_SECONDS * rate)
    texts: list[str] = []
    with compute.model_work():
        for first in range(0, len(bounds), XLS_R_BATCH_SIZE):
            windows = [samples[start:end] for start, end in bounds[first : first + XLS_R_BATCH_SIZE]]
            features = extractor(windows, sampling_rate=rate, padding=True, return_attention_mask=True,
                                 return_tensors="pt")
            ids = model.generate(
                input_values=features["input_values"].to(model.device, model.dtype),
                attention_mask=features["attention_mask"].to(model.device),
                max_new_tokens=MAX_TRANSCRIPTION_NEW_TOKENS,
                num_beams=XLS_R_BEAMS,
            )
            texts += [text.strip() for text in tokenizer.batch_decode(ids, skip_special_tokens=True)]
    segments = [Segment(start=round(start / rate, 3), end=round(end / rate, 3), text=text)
                for (start, end), text in zip(bounds, texts, strict=True) if text]
    return TranscriptionResult(model=loaded.spec.id, text=" ".join(segment.text for segment in segments),
                               language=language, segments=segments)


def window_bounds(length: int, window: int) -> list[tuple[int, int]]:
    """(start, end) ranges of the fewest equal windows, each at most `window` long, covering `length`.

    Equal lengths, so that a batch pads nothing: 30 s as 20 + 10 s padded to 2 x 20 s cost 40 s of encoder work
    (measured 2x the model's single 30 s pass in bench/); as 2 x 15 s it costs 30 s.
    """
    count = max(1, -(-length // window))  # ceil
    edges = [round(number * length / count) for number in range(count + 1)]
    return list(pairwise(edges))


def language_name(code: str | None) -> str:
    """A code's English name for people: "French" for "fr" (Whisper) and for "fra" (MMS); "unknown" for None."""
    if not code:
        return "unknown"
    return LANGUAGE_NAMES.get(code) or mms_name(code)


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
