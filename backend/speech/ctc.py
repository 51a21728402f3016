"""wav2vec2-family speech models: CTC recognition (wav2vec2, MMS-1b-all with per-language adapters, MMS-LID
language identification) and XLS-R 21-to-en speech translation.

wav2vec2 beyond 30 s runs over 10 s windows with 2 s strides on each side; its word timestamps are grouped into
subtitle-sized segments. MMS-1b-all is wav2vec2 CTC with one small adapter per language: the request's language (or
the one MMS-LID hears) is switched in on the one shared model, in place, so the switch and the transcription run
under the device lock with no other request between. XLS-R 21-to-en translates speech into English text, window by
window.
"""

from collections import OrderedDict
from itertools import pairwise
from typing import Any

import numpy as np
import torch

from backend import compute, inputs, models
from backend.catalog import ModelSpec, helper_model
from backend.errors import InputError, ModelUnavailableError
from backend.limits import MAX_TRANSCRIPTION_NEW_TOKENS
from backend.speech.mms_languages import adapter_for, fold, mms_name
from backend.speech.transcript import LanguageGuess, Segment, TranscriptionResult, Word, asr_pipeline, to_segment

CTC_SINGLE_PASS_SECONDS = 30  # wav2vec2 takes audio up to this long in one pass (attention cost ~ length^2)
CTC_CHUNK_SECONDS = 10  # longer audio goes in windows this long
CTC_STRIDE_SECONDS = 2  # overlap on each side of a CTC window, dropped when windows are joined
SEGMENT_MAX_SECONDS = 8.0  # CTC words are grouped into segments no longer than this...
SEGMENT_MAX_GAP_SECONDS = 0.6  # ...and a pause longer than this starts a new segment
MMS_ADAPTERS_KEPT = 16  # languages whose adapter weights stay in memory (~10 MB each for MMS-1b) for a cheap switch
LID_SECONDS = 30  # MMS-LID listens to the start of the audio, up to this long
LID_CANDIDATES = 5  # languages reported with their probabilities
XLS_R_WINDOW_SECONDS = 20  # XLS-R translates windows at most this long (trained on CoVoST 2 utterances of seconds)
XLS_R_BATCH_SIZE = 4  # windows translated together
XLS_R_BEAMS = 1  # greedy, as for Whisper


def transcribe_ctc(recognizer: Any, spec: ModelSpec, samples: np.ndarray, duration: float) -> TranscriptionResult:
    """wav2vec2 CTC over strided windows; word timestamps grouped into segments, and kept as `words`.

    CTC words come from the frame alignment (the pipeline's `return_timestamps="word"`) with no probability.
    """
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
        words=[Word(word=word.text, start=word.start, end=word.end, probability=None) for word in words],
    )


def transcribe_mms(loaded: models.LoadedModel, audio: Any, language: str | None,
                   candidates: tuple[str, ...] | None = None) -> TranscriptionResult:
    """MMS-1b-all in one language: the one asked for, or the likeliest MMS-LID hears (among `candidates`, ISO
    639-3 codes, when given) that has an adapter."""
    recognizer = asr_pipeline(loaded)
    rate = recognizer.feature_extractor.sampling_rate
    samples = inputs.load_audio(audio, sampling_rate=rate)
    duration = len(samples) / rate
    available = tuple(loaded.processor.tokenizer.vocab)  # the checkpoint's languages (its nested vocab.json)
    probability, guesses = None, []
    if language is None:
        ranked = identify_language(samples, rate)
        if candidates:  # restricted to the caller's languages, renormalised among them
            bases = {fold(code.split("-")[0]) for code in candidates}  # "cmn-script_simplified" -> "cmn"
            kept = [guess for guess in ranked if fold(guess.language) in bases]
            total = sum(guess.probability for guess in kept) or 1.0
            ranked = [LanguageGuess(guess.language, int(guess.probability / total * 10_000) / 10_000)
                      for guess in kept]
        guesses = ranked[:LID_CANDIDATES]
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
    result.language, result.language_probability, result.language_candidates = adapter, probability, guesses
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
