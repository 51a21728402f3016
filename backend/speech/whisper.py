"""Whisper on both engines, over audio of any length, decoded as Whisper itself does long audio.

Whisper reads 30 s windows. When a window's text ends on a finished segment (a closing timestamp with speech still
to come), the next window starts at that timestamp, not at the window's end: a sentence cut by the window edge is
decoded whole in the next one (openai/whisper's `transcribe`, "seek"). Fixed, back-to-back windows would lose the
speech between a window's last timestamp and its end (issue 21), and the transformers pipeline's overlapping
windows merge badly when one window holds several passes.

- torch: `model.generate` on one window at a time (`force_unique_generate_call`: one pass), segments from its
  timestamps, the next window where the last finished segment ends. Each window's segments are final, so the text
  so far is streamed after every window.
- CTranslate2: faster-whisper's own sequential `WhisperModel.transcribe`, which seeks the same way, streamed
  segment by segment; word times are the app's, after each window (`window_words`), so they change nothing decoded.

With VAD on, the speech windows are decoded in batches instead (whisper_batched.py).

Both decode each window once with the previous windows' text as a prompt (with its timestamps: a text-only prompt
made real Whisper base stop writing timestamps, one 30 s segment per window), as openai/whisper and faster-whisper
do by default; without it, real speech lost about 1 % more words (BENCHMARKS.md). No temperature fallback and no
no-speech skipping: deterministic, and the same on both engines. `beam_size` beams (1 = greedy); the default per
engine and device is chosen on measurements (bench/whisper_real.py, BENCHMARKS.md).
"""

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from backend import compute, models
from backend.catalog import ModelSpec
from backend.errors import InputError
from backend.languages import find_language
from backend.limits import MAX_TRANSCRIPTION_NEW_TOKENS
from backend.speech.transcript import (
    LanguageGuess,
    Segment,
    TranscriptionResult,
    TranscriptionStep,
    Word,
    to_segment,
)
from backend.speech.words import align, missing_alignment_heads, segment_words, timed_word

WHISPER_CHUNK_SECONDS = 30  # Whisper's window
MAX_BEAMS = 5  # `beam_size` 1-5: openai/whisper's and faster-whisper's default is 5
# Beams when the caller gives none, per (engine, device type); see BENCHMARKS.md "Whisper on real weights".
# Greedy flips near-ties on real speech ("in the park" -> "in the power-c", issue 21) where 5 beams do not.
DEFAULT_BEAMS = {("torch", "cpu"): 5, ("torch", "cuda"): 5, ("ctranslate2", "cpu"): 5, ("ctranslate2", "cuda"): 5}
MIN_TAIL_SECONDS = 0.1  # a remainder shorter than this after the last window is not decoded
MAX_PROMPT_TOKENS = 223  # previous tokens given as the prompt: openai/whisper's n_text_ctx // 2 - 1
LANGUAGE_CANDIDATES = 5  # languages reported with their probabilities
PROMPT_TASK_TOKENS = 4  # <|startoftranscript|>, language, task, and one to spare, besides prompt and new tokens


def beams_for(beam_size: int | str | None, engine: str, device_type: str) -> int:
    """The beam count to use: the caller's (checked, 1-MAX_BEAMS) or the default for this engine and device."""
    if beam_size is None:
        return DEFAULT_BEAMS.get((engine, device_type), MAX_BEAMS)
    if isinstance(beam_size, str) and beam_size.strip().isdigit():  # typed into the UI's menu
        beam_size = int(beam_size)
    if isinstance(beam_size, bool) or not isinstance(beam_size, int | float) or beam_size != int(beam_size) or not (
            1 <= beam_size <= MAX_BEAMS):
        raise InputError(f"beam_size must be a whole number from 1 (greedy, fastest) to {MAX_BEAMS} (most accurate); "
                         f"got {str(beam_size)[:20]!r}.")
    return int(beam_size)


def stream_whisper(
    loaded: models.LoadedModel, spec: ModelSpec, samples: np.ndarray, duration: float, language: str | None,
    task: str, beams: int, words: bool = False, candidates: tuple[str, ...] | None = None,
) -> Iterator[TranscriptionStep]:
    """Whisper on torch, window after window; after each, the segments so far (`done` of `total` seconds).

    `words`: word timestamps and probabilities; `candidates`: the language codes detection may choose from.
    """
    model, extractor = loaded.model, loaded.processor.feature_extractor
    tokenizer = loaded.processor.tokenizer
    rate = extractor.sampling_rate
    window = WHISPER_CHUNK_SECONDS * rate  # samples
    note = missing_alignment_heads(model, spec.label) if words else None
    words = words and note is None
    guesses: list[LanguageGuess] = []
    first_window: tuple[torch.Tensor, Any] | None = None  # its features and encoder output, once detection made them
    if language is None:  # one language for the recording, detected on its first window (as Whisper does)
        features = extractor(samples[:window], sampling_rate=rate, return_tensors="pt").input_features
        with compute.model_work():
            first_window = features, model.get_encoder()(features.to(loaded.device, loaded.dtype))
            ranked = language_guesses(loaded, first_window[1], candidates)
        language, probability = ranked[0].language, ranked[0].probability
        guesses = ranked[:LANGUAGE_CANDIDATES]
    else:
        probability = 1.0
    found_words: list[Word] = []
    generation = model.generation_config
    timestamp_begin = generation.no_timestamps_token_id + 1
    history: list[int] = []  # the tokens of the segments so far, timestamps included (relative to their window)
    total = max(1, math.ceil(duration))
    segments: list[Segment] = []
    texts: list[str] = []  # each segment's text as decoded, with its leading space (none in e.g. Chinese)
    seek = 0  # samples: where the next window starts
    while len(samples) - seek >= MIN_TAIL_SECONDS * rate:
        piece = samples[seek:seek + window]
        if first_window is None:
            features = extractor(piece, sampling_rate=rate, return_tensors="pt").input_features  # padded to 30 s
            encoded = None
        else:  # the window the language was detected on
            (features, encoded), first_window = first_window, None
        prompt = [generation.prev_sot_token_id, *history[-MAX_PROMPT_TOKENS:]] if history else []
        # The prompt, the task tokens and the new tokens share the decoder's 448 positions.
        room = model.config.max_target_positions - len(prompt) - PROMPT_TASK_TOKENS
        options = {"language": language, "task": task, "return_timestamps": True, "return_segments": True,
                   "force_unique_generate_call": True,  # one pass over this window, we seek
                   "num_beams": beams, "max_new_tokens": min(MAX_TRANSCRIPTION_NEW_TOKENS, room),
                   "prompt_ids": torch.tensor(prompt, device=loaded.device) if prompt else None}
        with compute.model_work():
            # The encoder runs once per window: for the language detection (the first window), for generate, and
            # for the alignment pass after it (words).
            if encoded is None:
                encoded = model.get_encoder()(features.to(loaded.device, loaded.dtype))
            output = model.generate(encoder_outputs=encoded, **options)
            aligned = align(model, encoded, output["sequences"][0].to(loaded.device), features.shape[-1]) if words \
                else None
        found = output["segments"][0]
        for found_segment in found:  # text and timestamps, no end-of-text or other special tokens
            history += [token for token in found_segment["tokens"].tolist()
                        if token < generation.eos_token_id or token >= timestamp_begin]
        found_texts, found_segments, timed = window_text(tokenizer, found, aligned, seek / rate, duration,
                                                          language, timestamp_begin)
        texts += found_texts
        segments += found_segments
        found_words += timed
        seek += next_start(output["sequences"][0].tolist(), found, timestamp_begin, generation.eos_token_id,
                           len(piece), rate)
        finished = len(samples) - seek < MIN_TAIL_SECONDS * rate
        yield TranscriptionStep(result=TranscriptionResult(
            model=spec.id, text="".join(texts).strip(), language=language,
            segments=list(segments), language_probability=probability, language_candidates=guesses,
            words=list(found_words), words_note=note),
            done=total if finished else min(total - 1, math.floor(seek / rate)), total=total)
    if not segments and seek == 0:  # shorter than MIN_TAIL_SECONDS: nothing to decode
        yield TranscriptionStep(result=TranscriptionResult(model=spec.id, text="", language=language,
                                                           language_probability=probability,
                                                           language_candidates=guesses), done=total, total=total)


def window_text(tokenizer: Any, found: list[dict[str, Any]], aligned: tuple[list[float], list[float]] | None,
                offset: float, duration: float, language: str | None, timestamp_begin: int
                ) -> tuple[list[str], list[Segment], list[Word]]:
    """The texts (as decoded, with their leading spaces), segments and words of one window's `found` segments
    (generate's "segments"), `offset` seconds into audio of `duration` seconds; words only when `aligned` (`align`'s
    times and probabilities of the window's sequence) is given."""
    texts: list[str] = []
    segments: list[Segment] = []
    found_words: list[Word] = []
    for found_segment in found:
        decoded = tokenizer.decode([token for token in found_segment["tokens"].tolist() if token < timestamp_begin],
                                   skip_special_tokens=True)
        if not decoded.strip():
            continue
        texts.append(decoded)
        segments.append(to_segment({"timestamp": (offset + float(found_segment["start"]),
                                                  offset + float(found_segment["end"])), "text": decoded}, duration))
        if aligned is not None:
            # Words may end past the segment's closing timestamp (as on faster-whisper, whose segments then end
            # with their last word): timed inside the audio, the segment stretched to hold them.
            opened = Segment(start=segments[-1].start, end=round(duration, 3), text="")
            timed = segment_words(tokenizer, found_segment, aligned, offset, language, opened)
            if timed:
                segments[-1].end = max(segments[-1].end, timed[-1].end)
            found_words += timed
    return texts, segments, found_words


def next_start(tokens: list[int], found: list[dict[str, Any]], timestamp_begin: int, end_of_text: int, window: int,
               rate: int) -> int:
    """How many samples to move on after a window: to its end when its text ended there, else to where the last
    finished segment ends (openai/whisper's rule: a window not ending on a lone timestamp stopped mid-speech)."""
    generated = list(tokens)
    while generated and generated[-1] == end_of_text:  # the end of text, and the padding of a batch
        generated.pop()
    text_then_timestamp = (len(generated) >= 2 and generated[-1] >= timestamp_begin
                           and generated[-2] < timestamp_begin)
    if text_then_timestamp or not found:
        return window
    resume = round(float(found[-1]["end"]) * rate)
    return resume if 0 < resume < window else window


def stream_whisper_ctranslate2(
    loaded: models.LoadedModel, spec: ModelSpec, samples: np.ndarray, duration: float, language: str | None,
    task: str, beams: int, words: bool = False, candidates: tuple[str, ...] | None = None,
) -> Iterator[TranscriptionStep]:
    """Whisper on CTranslate2 through faster-whisper's sequential decoding; the segments so far after each one.

    A language not given is detected on the first window, with its probability (among `candidates` when given:
    faster-whisper's own detection, filtered and renormalised, then that language is decoded).
    """
    runner = loaded.model.runner
    guesses: list[LanguageGuess] = []
    if language is None and not runner.model.is_multilingual:
        language = "en"  # an English-only checkpoint (".en"): nothing to detect
    if language is None:  # detected on the first window, whose encoding the decoding then reuses
        with compute.model_work():
            every = first_window_languages(runner, samples)
        guesses = top_languages([(code, p) for code, p in every if not candidates or code in candidates])
        language = guesses[0].language
    with compute.model_work():
        pieces, info = runner.transcribe(
            samples, language=language, task=task, beam_size=beams, best_of=1, temperature=0.0,
            condition_on_previous_text=True,  # the previous windows' text as the prompt, as on torch
            log_prob_threshold=None, no_speech_threshold=None, compression_ratio_threshold=None,
            # Words are timed here after each window (`window_words`), not by faster-whisper's word_timestamps,
            # which also moves the next window's start to the last word's end: the text would change with them.
            vad_filter=False, without_timestamps=False, word_timestamps=False,
            # No max_new_tokens: faster-whisper refuses one that does not fit beside the prompt in the decoder's 448
            # positions; without it, it decodes up to openai/whisper's sample_len (224) per window.
            max_new_tokens=None)
    detected = language or find_language(info.language, spec.languages) or info.language
    probability = guesses[0].probability if guesses else 1.0  # the same number as the first candidate's
    found_words: list[Word] = []
    total = max(1, math.ceil(duration))
    segments: list[Segment] = []
    texts: list[str] = []  # as decoded, with leading spaces
    window: list[tuple[int, Any]] = []  # the last window's segments (index in `segments`, faster-whisper's Segment)
    encoding: Any = None  # that window's encoder output
    last_speech = 0.0  # seconds: where the speech before the window ended (faster-whisper's word rules use it)

    if words:
        from faster_whisper.tokenizer import Tokenizer

        tokenizer = Tokenizer(runner.hf_tokenizer, runner.model.is_multilingual, task=task, language=detected)

    def time_words() -> None:  # the last window's words; its segments moved to them
        nonlocal last_speech
        timed, last_speech = window_words(runner, tokenizer, encoding, [piece for _, piece in window],
                                          len(samples), last_speech)
        for (index, piece), found in zip(window, timed, strict=True):
            segments[index] = to_segment({"timestamp": (found["start"], found["end"]), "text": piece.text}, duration)
            found_words.extend(timed_word(word["word"], word["start"], word["end"], word["probability"],
                                          segments[index]) for word in found["words"] if word["word"].strip())

    decoded = iter(pieces)  # a generator: each window is decoded when its first segment is asked for
    while True:
        with compute.model_work():
            piece = next(decoded, None)
            if words and window and (piece is None or piece.seek != window[0][1].seek):
                time_words()  # the window is finished (its encoding is still held)
                window = []
            if words and piece is not None and not window:
                # The window was encoded in this very call, under this lock: the runner's last encoding is its.
                encoding = runner.encode.output
        if piece is None:
            break
        if piece.text.strip():
            texts.append(piece.text)
            segments.append(to_segment({"timestamp": (piece.start, piece.end), "text": piece.text}, duration))
            window.append((len(segments) - 1, piece))
        yield TranscriptionStep(result=TranscriptionResult(  # words come with the window after theirs
            model=spec.id, text="".join(texts).strip(), language=detected,
            segments=list(segments), language_probability=probability, language_candidates=guesses,
            words=list(found_words)),
            done=min(total - 1, math.floor(piece.end)), total=total)
    yield TranscriptionStep(result=TranscriptionResult(
        model=spec.id, text="".join(texts).strip(), language=detected,
        segments=segments, language_probability=probability, language_candidates=guesses, words=found_words),
        done=total, total=total)


def window_words(runner: Any, tokenizer: Any, encoding: Any, pieces: list[Any], samples: int, last_speech: float
                 ) -> tuple[list[dict[str, Any]], float]:
    """faster-whisper's words for one decoded window's segments (its `Segment`s, all with the window's `seek`), from
    the window's `encoding` (encoder output), in audio of `samples` samples: per segment a dict with its "start" and
    "end" moved to its words and its "words" ({"word", "start", "end", "probability"}, seconds), and the new
    `last_speech` (seconds). One alignment pass over the window's text, as faster-whisper's own `add_word_timestamps`
    does inside its `transcribe`."""
    seek = pieces[0].seek  # mel frames: the window's start
    frames = min(runner.feature_extractor.nb_max_frames, samples // runner.feature_extractor.hop_length - seek)
    found = [{"tokens": piece.tokens, "start": piece.start, "end": piece.end, "seek": seek} for piece in pieces]
    prepend, append = punctuation_rules()
    last_speech = runner.add_word_timestamps([found], tokenizer, encoding, frames, prepend, append, last_speech)
    return found, last_speech


def punctuation_rules() -> tuple[str, str]:
    """The punctuation faster-whisper joins to the word after it and to the word before it (its defaults)."""
    import inspect

    from faster_whisper import WhisperModel

    defaults = inspect.signature(WhisperModel.transcribe).parameters
    return defaults["prepend_punctuations"].default, defaults["append_punctuations"].default


def first_window_languages(runner: Any, samples: np.ndarray) -> list[tuple[str, float]]:
    """Every language's probability on the first window of 16 kHz `samples` (faster-whisper's `WhisperModel`).

    The window is encoded exactly as `transcribe` then encodes it (features of the whole audio, then its first
    segment: at most 30 s, the last frame of a shorter clip left out), so the runner's remembered encoding
    (backend/engines/ctranslate2_models.py `LastEncoding`) serves the decoding too. faster-whisper's own detection
    encodes the window separately, and a clip under 30 s with one frame more.
    """
    from faster_whisper.audio import pad_or_trim

    extractor = runner.feature_extractor
    features = extractor(samples)  # (n_mels, frames); its scale depends on the whole audio's loudest frame
    frames = min(extractor.nb_max_frames, features.shape[-1] - 1)
    encoded = runner.encode(pad_or_trim(features[:, :frames]))
    return [(token[2:-2], float(probability)) for token, probability in runner.model.detect_language(encoded)[0]]


def language_guesses(loaded: models.LoadedModel, encoded: Any,
                     candidates: tuple[str, ...] | None = None) -> list[LanguageGuess]:
    """Every language Whisper may hear in one encoded window (the encoder's output for up to 30 s of audio; only
    `candidates` when given), likeliest first.

    As transformers' `detect_language` (one decoder step after <|startoftranscript|>), but with the probabilities of
    the language tokens, softmaxed among the allowed ones, and on an encoder output the decoding then reuses.
    """
    model = loaded.model
    generation = model.generation_config
    codes = {token.strip("<|>"): token_id for token, token_id in generation.lang_to_id.items()}  # "<|fr|>" -> "fr"
    if candidates:
        codes = {code: token_id for code, token_id in codes.items() if code in candidates}
    start = torch.tensor([[generation.decoder_start_token_id]], device=loaded.device)
    logits = model(encoder_outputs=encoded, decoder_input_ids=start).logits[0, -1]
    ids = torch.tensor(list(codes.values()), device=loaded.device)
    probabilities = logits.float()[ids].softmax(dim=-1).tolist()
    return top_languages(list(zip(codes, probabilities, strict=True)), limit=None)


def top_languages(probabilities: list[tuple[str, float]], limit: int | None = LANGUAGE_CANDIDATES
                  ) -> list[LanguageGuess]:
    """(code, probability) pairs as LanguageGuesses, likeliest first, renormalised to sum to 1, `limit` kept."""
    total = sum(float(p) for _, p in probabilities) or 1.0
    ranked = sorted(probabilities, key=lambda pair: -float(pair[1]))[:limit]
    # Rounded down, so that the kept probabilities never sum above 1.
    return [LanguageGuess(code, math.floor(float(p) / total * 10_000) / 10_000) for code, p in ranked]
