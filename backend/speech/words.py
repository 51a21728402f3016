"""Word timestamps and per-word confidence for Whisper on torch, and the checks every engine's words share.

transformers' `generate(return_token_timestamps=True)` times each token by dynamic time warping over the cross
attention of the checkpoint's `alignment_heads`; a token spans (time of the previous position, its own time), as
transformers' own pipeline reads them (`return_timestamps="word"`, tokenization_whisper `_decode_asr`). Tokens are
grouped into words by transformers' own grouping (`_combine_tokens_into_words`), and a word's probability is the mean
of its tokens' probabilities under one teacher-forced decoder pass over the chosen sequence (as faster-whisper does
from its alignment pass), so beams and probabilities do not depend on generate's per-step scores.
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


def token_probabilities(model: Any, encoder_outputs: Any, sequence: torch.Tensor) -> list[float]:
    """Each position's probability of the token at it given the ones before (position 0: 1.0); one decoder pass."""
    logits = model(encoder_outputs=encoder_outputs, decoder_input_ids=sequence[None, :-1]).logits[0].float()
    chosen = logits.softmax(dim=-1).gather(1, sequence[1:, None]).squeeze(1)  # (len - 1,)
    return [1.0, *chosen.tolist()]


def segment_words(tokenizer: Any, found_segment: dict[str, Any], probabilities: list[float], offset: float,
                  language: str | None, timestamp_begin: int, segment: Segment) -> list[Word]:
    """The words of one segment of generate's output, timed in seconds from the audio's start, inside `segment`."""
    tokens = found_segment["tokens"].tolist()
    times = found_segment["token_timestamps"].tolist()  # seconds from the window's start, one per token
    first = found_segment["idxs"][0]  # the segment's first token's position in the generated sequence
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
        # length, as faster-whisper does at sentence starts. Ends and the other words are transformers' own.
        median = min(0.7, float(np.median([end - start for _, start, end, _ in spans])))
        if spans[0][2] - spans[0][1] > 2 * median:
            spans[0][1] = spans[0][2] - 2 * median
    return [timed_word(text, offset + start, offset + end, chance, segment) for text, start, end, chance in spans]


def timed_word(text: str, start: float, end: float, probability: float | None, segment: Segment) -> Word:
    """A Word clamped inside its segment (times in seconds, rounded to ms)."""
    start = min(max(float(start), segment.start), segment.end)
    end = min(max(float(end), start), segment.end)
    return Word(word=text.strip(), start=round(start, 3), end=round(end, 3),
                probability=None if probability is None else round(float(probability), 4))
