"""Whisper on the speech VAD kept, several windows decoded at once, on both engines.

With VAD on, the joined speech is cut at pauses into windows of at most 30 s (vad.py `speech_windows`). They do not
wait for each other's text, so they are decoded in batches: one encoder pass and one beam search for several
windows, which on CPU takes about half the time of the same windows one after another (CTranslate2, Whisper base,
6 windows, the same tokens either way; BENCHMARKS.md). The first batch is one window, so the first text comes as
soon as without VAD; then BATCH_WINDOWS at a time, and the text so far is streamed after each batch.

As Whisper's own seek (whisper.py), a window whose text ends on a finished segment before the window does (the
decoding stopped with speech left) has the rest decoded in the next round, from that segment's end, with the
window's text so far as the prompt; faster-whisper's BatchedInferencePipeline drops that rest. The windows themselves
have no previous text as a prompt (they are decoded together; on real Whisper base and espeak-ng speech that cost no
word against the same windows decoded one after another with it, BENCHMARKS.md). No temperature fallback:
deterministic, and alike on both engines.
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from backend import compute, models
from backend.catalog import ModelSpec
from backend.limits import MAX_TRANSCRIPTION_NEW_TOKENS
from backend.speech.transcript import LanguageGuess, Segment, TranscriptionResult, TranscriptionStep, Word, to_segment
from backend.speech.whisper import (
    LANGUAGE_CANDIDATES,
    MAX_PROMPT_TOKENS,
    MIN_TAIL_SECONDS,
    PROMPT_TASK_TOKENS,
    WHISPER_CHUNK_SECONDS,
    language_guesses,
    next_start,
    punctuation_rules,
    top_languages,
    window_text,
)
from backend.speech.words import align, missing_alignment_heads, timed_word

RATE = 16_000  # Hz: the rate of the samples (Whisper's, and VAD's)
BATCH_WINDOWS = {"cpu": 4, "cuda": 8}  # windows decoded at once after the first, per device type
MAX_INITIAL_TIMESTAMP_S = 1.0  # the first segment opens within this: openai/whisper's and faster-whisper's default


@dataclass
class Decoded:
    """What one decoding of a piece of a window gave: texts (with their leading spaces), segments and words, in
    seconds on the joined speech's time line, and where the rest still to decode begins (samples from the piece's
    start; the piece's length when it was decoded to its end)."""
    resume: int
    tokens: list[int] = field(default_factory=list)  # its text and timestamp tokens: the prompt for its rest
    texts: list[str] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)


# decode(loaded, pieces, offsets in seconds, language or None, candidates, task, beams, words, prompt tokens)
# -> (one Decoded per piece, the language guesses when the language was detected on the first)
Decoder = Callable[..., tuple[list[Decoded], list[LanguageGuess]]]


def stream_speech_windows(
    loaded: models.LoadedModel, spec: ModelSpec, engine: str, samples: np.ndarray, windows: list[tuple[int, int]],
    language: str | None, task: str, beams: int, words: bool = False, candidates: tuple[str, ...] | None = None,
) -> Iterator[TranscriptionStep]:
    """Whisper over `windows` ((start, end) in samples) of the joined 16 kHz speech `samples`; after each batch, the
    segments so far (`done` of `total` seconds of the joined speech). A language not given is detected on the first
    window (among `candidates` when given)."""
    decode: Decoder = decode_ctranslate2 if engine == "ctranslate2" else decode_torch
    note = missing_alignment_heads(loaded.model, spec.label) if words and engine == "torch" else None
    words = words and note is None
    if language is None and engine == "ctranslate2" and not loaded.model.runner.model.is_multilingual:
        language = "en"  # an English-only checkpoint (".en"): nothing to detect
    duration = len(samples) / RATE
    total = max(1, math.ceil(duration))
    batch = BATCH_WINDOWS.get(loaded.device.type, BATCH_WINDOWS["cpu"])
    window = WHISPER_CHUNK_SECONDS * RATE  # samples
    found: list[list[Decoded]] = [[] for _ in windows]  # per window, its pieces in order
    guesses: list[LanguageGuess] = []
    first = 0  # the batch's first window
    while first < len(windows):
        last = first + 1 if first == 0 else min(len(windows), first + batch)
        pending = [(index, *windows[index]) for index in range(first, last)]  # (window, start, end), samples
        decoded, detected = decode(loaded, [samples[start:min(end, start + window)] for _, start, end in pending],
                                   [start / RATE for _, start, _ in pending], language, candidates, task, beams,
                                   words, [])
        if language is None:
            guesses, language = detected, detected[0].language
        while pending:
            rest = []
            for (index, start, end), piece in zip(pending, decoded, strict=True):
                found[index].append(piece)
                if piece.resume > 0 and end - (start + piece.resume) >= MIN_TAIL_SECONDS * RATE:
                    rest.append((index, start + piece.resume, end))
            pending = rest
            # A rest (rare) is decoded as Whisper's seek would, with its window's text so far as the prompt.
            decoded = [decode(loaded, [samples[start:min(end, start + window)]], [start / RATE], language,
                              candidates, task, beams, words,
                              [token for piece in found[index] for token in piece.tokens])[0][0]
                       for index, start, end in pending]
        first = last
        parts = [piece for pieces in found[:last] for piece in pieces]
        finished = last == len(windows)
        yield TranscriptionStep(result=TranscriptionResult(
            model=spec.id, text="".join(text for piece in parts for text in piece.texts).strip(), language=language,
            segments=[segment for piece in parts for segment in piece.segments],
            language_probability=guesses[0].probability if guesses else 1.0, language_candidates=guesses,
            words=[word for piece in parts for word in piece.words], words_note=note),
            done=total if finished else min(total - 1, math.floor(windows[last - 1][1] / RATE)), total=total)


def decode_torch(loaded: models.LoadedModel, pieces: list[np.ndarray], offsets: list[float],
                 language: str | None, candidates: tuple[str, ...] | None, task: str, beams: int, words: bool,
                 prompt: list[int]) -> tuple[list[Decoded], list[LanguageGuess]]:
    """Pieces of at most 30 s decoded together by transformers' `generate` (one encoder pass for all), after the
    previous text's `prompt` tokens when given."""
    import torch
    from transformers.modeling_outputs import BaseModelOutput

    model, extractor = loaded.model, loaded.processor.feature_extractor
    tokenizer = loaded.processor.tokenizer
    generation = model.generation_config
    timestamp_begin = generation.no_timestamps_token_id + 1
    features = extractor(pieces, sampling_rate=RATE, return_tensors="pt").input_features  # (batch, mels, 3000)
    guesses: list[LanguageGuess] = []
    with compute.model_work():
        encoded = model.get_encoder()(features.to(loaded.device, loaded.dtype))

        def one(index: int) -> BaseModelOutput:  # the encoder's output for one piece
            return BaseModelOutput(last_hidden_state=encoded.last_hidden_state[index:index + 1])
        if language is None:
            guesses = language_guesses(loaded, one(0), candidates)[:LANGUAGE_CANDIDATES]
            language = guesses[0].language
        prompt = [generation.prev_sot_token_id, *prompt[-MAX_PROMPT_TOKENS:]] if prompt else []
        # The prompt, the task tokens and the new tokens share the decoder's 448 positions.
        room = model.config.max_target_positions - len(prompt) - PROMPT_TASK_TOKENS
        output = model.generate(
            encoder_outputs=encoded, language=language, task=task, return_timestamps=True, return_segments=True,
            force_unique_generate_call=True, num_beams=beams,  # one pass per piece: the rounds seek
            max_new_tokens=min(MAX_TRANSCRIPTION_NEW_TOKENS, room),
            prompt_ids=torch.tensor(prompt, device=loaded.device) if prompt else None)
        sequences = [trimmed(output["sequences"][index].tolist(), generation.eos_token_id)
                     for index in range(len(pieces))]
        aligned = [align(model, one(index), output["sequences"][index, :len(sequence)].to(loaded.device),
                         features.shape[-1]) if words else None for index, sequence in enumerate(sequences)]
    decoded = []
    for index, piece in enumerate(pieces):
        found = output["segments"][index]
        # Times past the piece's end (into the silence it is padded with) are cut to its end.
        texts, segments, timed = window_text(tokenizer, found, aligned[index], offsets[index],
                                             offsets[index] + len(piece) / RATE, language, timestamp_begin)
        decoded.append(Decoded(
            resume=next_start(sequences[index], found, timestamp_begin, generation.eos_token_id, len(piece), RATE),
            tokens=[token for found_segment in found for token in found_segment["tokens"].tolist()
                    if token < generation.eos_token_id or token >= timestamp_begin],
            texts=texts, segments=segments, words=timed))
    return decoded, guesses


def trimmed(tokens: list[int], end_of_text: int) -> list[int]:
    """A generated sequence without the padding a batch adds after its end of text (one end of text kept)."""
    length = len(tokens)
    while length >= 2 and tokens[length - 1] == end_of_text == tokens[length - 2]:
        length -= 1
    return tokens[:length]


def decode_ctranslate2(loaded: models.LoadedModel, pieces: list[np.ndarray], offsets: list[float],
                       language: str | None, candidates: tuple[str, ...] | None, task: str, beams: int, words: bool,
                       prompt: list[int]) -> tuple[list[Decoded], list[LanguageGuess]]:
    """Pieces of at most 30 s decoded together by CTranslate2 (one encoder pass and one `generate` for all), after
    the previous text's `prompt` tokens when given, split into segments and timed into words by faster-whisper's own
    code, as its sequential `transcribe` does."""
    from faster_whisper.audio import pad_or_trim
    from faster_whisper.tokenizer import Tokenizer
    from faster_whisper.transcribe import get_suppressed_tokens

    runner = loaded.model.runner
    extractor = runner.feature_extractor
    mels = [extractor(piece) for piece in pieces]  # (mels, frames + 1) each: 100 frames a second
    frames = [min(extractor.nb_max_frames, mel.shape[-1] - 1) for mel in mels]  # the audio's frames, last left out
    guesses: list[LanguageGuess] = []
    with compute.model_work():
        encoded = runner.encode(np.stack([pad_or_trim(mel[:, :count]) for mel, count in zip(mels, frames,
                                                                                             strict=True)]))
        if language is None:  # on the first window, which is decoded alone
            every = runner.model.detect_language(encoded)[0]
            guesses = top_languages([(token[2:-2], float(probability)) for token, probability in every
                                     if not candidates or token[2:-2] in candidates])
            language = guesses[0].language
        tokenizer = Tokenizer(runner.hf_tokenizer, runner.model.is_multilingual, task=task, language=language)
        prompt = runner.get_prompt(tokenizer, prompt, without_timestamps=False)  # at most its last 223 tokens
        results = runner.model.generate(
            encoded, [prompt] * len(pieces), beam_size=beams, max_length=runner.max_length, suppress_blank=True,
            suppress_tokens=get_suppressed_tokens(tokenizer, [-1]),
            max_initial_timestamp_index=round(MAX_INITIAL_TIMESTAMP_S / runner.time_precision))
        split = [runner._split_segments_by_timestamps(tokenizer=tokenizer, tokens=result.sequences_ids[0],
                                                      time_offset=offset, segment_size=count,
                                                      segment_duration=len(piece) / RATE, seek=0)
                 for result, offset, count, piece in zip(results, offsets, frames, pieces, strict=True)]
        found = [[{**segment, "seek": round(offset * runner.frames_per_second)} for segment in segments]
                 for (segments, _, _), offset in zip(split, offsets, strict=True)]
        if words:  # sets each segment's "words", and moves its start and end to them
            runner.add_word_timestamps(found, tokenizer, encoded, frames, *punctuation_rules(),
                                       last_speech_timestamp=0.0)
    decoded = []
    for segments, (_, seek, _), offset, samples in zip(found, split, offsets, pieces, strict=True):
        piece = Decoded(resume=seek * extractor.hop_length,  # mel frames -> samples
                        tokens=[token for segment in segments for token in segment["tokens"]
                                if token < tokenizer.eot or token >= tokenizer.timestamp_begin])
        for segment in segments:
            text = tokenizer.decode(segment["tokens"])
            if not text.strip():
                continue
            piece.texts.append(text)
            piece.segments.append(to_segment({"timestamp": (segment["start"], segment["end"]), "text": text},
                                             offset + len(samples) / RATE))  # cut to the piece's end
            piece.words += [timed_word(word["word"], word["start"], word["end"], word["probability"],
                                       piece.segments[-1]) for word in segment.get("words", ()) if word["word"].strip()]
        decoded.append(piece)
    return decoded, guesses
