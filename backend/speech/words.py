"""Word timestamps and per-word confidence for Whisper on torch, and the checks every engine's words share.

transformers times each token by dynamic time warping over the cross attention of the checkpoint's
`alignment_heads` (`_extract_token_timestamps`; here on one teacher-forced pass after decoding). A token spans
(time of the previous position, its own time), as transformers' own pipeline reads them (`return_timestamps="word"`,
tokenization_whisper `_decode_asr`). Tokens are grouped into words by transformers' own grouping
(`_combine_tokens_into_words`), and a word's probability is the mean of its tokens' probabilities under that same
pass (as faster-whisper does from its alignment pass), so they do not depend on the beam search's scores.
"""

from typing import Any

import numpy as np
import torch
from transformers.models.whisper.tokenization_whisper import _combine_tokens_into_words

from backend.speech.transcript import Segment, Word


def missing_alignment_heads(model: Any, label: str) -> str | None:
    """Why a checkpoint cannot give word timestamps (no alignment heads in its generation config), or None."""
    if getattr(model.generation_config, "alignment_heads", None):
        return None
    return (f"{label} does not say which attention heads align text to audio (no alignment_heads in its generation "
            "config), so it gives no word times.")


def align(model: Any, encoder_outputs: Any, sequence: torch.Tensor, frames: int) -> tuple[list[float], list[float]]:
    """Each position's time (seconds from the window's start) and probability (given the ones before; 1.0 for the
    task tokens) of a generated sequence, from ONE teacher-forced decoder pass over it.

    Asking generate for token timestamps instead keeps every cross attention of every step and beam, in eager
    attention, for the whole search (3.8x the time of the transcription on Whisper base, bench/words.py); faster-
    whisper likewise aligns after decoding. The times are transformers' own DTW (`_extract_token_timestamps`) over
    the same cross attentions generate would have kept for this sequence. The caller holds the device lock: the
    pass needs eager attention (for the attention weights), and sdpa is put back after it.
    """
    from transformers.generation.utils import GenerateEncoderDecoderOutput

    tokens = sequence.tolist()
    inputs = tokens.index(model.generation_config.decoder_start_token_id) + 3  # <|sot|>, language, task
    model.set_attn_implementation("eager")
    try:
        output = model(encoder_outputs=encoder_outputs, decoder_input_ids=sequence[None, :-1], output_attentions=True)
    finally:
        model.set_attn_implementation("sdpa")
    logits = output.logits[0].float()
    chosen = logits.softmax(dim=-1).gather(1, sequence[1:, None]).squeeze(1)  # (len - 1,)
    probabilities = [1.0] * inputs + chosen[inputs - 1:].tolist()
    outputs = GenerateEncoderDecoderOutput(sequences=sequence[None], cross_attentions=(output.cross_attentions,))
    times = model._extract_token_timestamps(outputs, model.generation_config.alignment_heads, num_frames=frames,
                                            num_input_ids=inputs)[0].tolist()
    return times, probabilities


def segment_words(tokenizer: Any, found_segment: dict[str, Any], aligned: tuple[list[float], list[float]],
                  offset: float, language: str | None, segment: Segment) -> list[Word]:
    """The words of one segment of generate's output, timed in seconds from the audio's start, inside `segment`;
    `aligned`: the times and probabilities of the whole sequence's positions (`align`)."""
    tokens = found_segment["tokens"].tolist()
    first = found_segment["idxs"][0]  # the segment's first token's position in the generated sequence
    times = aligned[0][first:first + len(tokens)]  # seconds from the window's start, one per token
    probabilities = aligned[1]
    text_positions = [k for k, token in enumerate(tokens) if token < tokenizer.eos_token_id]
    text_tokens = [tokens[k] for k in text_positions]
    if not text_tokens:
        return []
    words, _, groups = _combine_tokens_into_words(tokenizer, text_tokens, language)
    spans = []  # (text, start, end, probability), seconds from the window's start
    cursor = 0  # index into text_positions of the next word's first token
    for text, group in zip(words, groups, strict=True):
        positions = text_positions[cursor:cursor + len(group)]
        cursor += len(group)
        if not text.strip():
            continue
        start = times[positions[0] - 1] if positions[0] > 0 else 0.0
        chance = sum(probabilities[first + k] for k in positions) / len(positions)
        spans.append([text, start, times[positions[-1]], chance])
    if spans:
        # The first word's start is the segment's opening timestamp token's time, often well before the speech
        # (the silence before it): cut a first word longer than twice the median word (at most 0.7 s) to that
        # length, as faster-whisper does at sentence starts. The other words are transformers' own.
        median = min(0.7, float(np.median([end - start for _, start, end, _ in spans])))
        if spans[0][2] - spans[0][1] > 2 * median:
            spans[0][1] = spans[0][2] - 2 * median
        # Likewise the last word, whose end DTW stretches over the silence after it (seen: to the audio's end).
        if spans[-1][2] - spans[-1][1] > 2 * median:
            spans[-1][2] = spans[-1][1] + 2 * median
    return [timed_word(text, offset + start, offset + end, chance, segment) for text, start, end, chance in spans]


def timed_word(text: str, start: float, end: float, probability: float | None, segment: Segment) -> Word:
    """A Word clamped inside its segment (times in seconds, rounded to ms)."""
    start = min(max(float(start), segment.start), segment.end)
    end = min(max(float(end), start), segment.end)
    return Word(word=text.strip(), start=round(start, 3), end=round(end, 3),
                probability=None if probability is None else round(float(probability), 4))
