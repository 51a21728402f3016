"""Splitting long text into pieces a model can take: paragraphs, then sentences, then words."""

import re
from collections.abc import Callable

# A sentence ends at . ! ? … or their CJK forms, followed by whitespace (Latin scripts) or directly (CJK).
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|(?<=[。！？])")


def split_paragraphs(text: str) -> list[str]:
    """Non-empty lines of text (a line break separates paragraphs), stripped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def split_sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph, stripped, in order."""
    return [sentence.strip() for sentence in _SENTENCE_END.split(paragraph) if sentence.strip()]


def pack(paragraph: str, fits: Callable[[str], bool]) -> list[str]:
    """Consecutive sentences of a paragraph joined into as few pieces as `fits` allows.

    A single sentence that does not fit is cut between words; a single word that does not fit is kept whole
    (the model truncates it), so every character of the input ends up in exactly one piece.
    """
    pieces: list[str] = []
    for sentence in split_sentences(paragraph):
        for part in _cut_to_fit(sentence, fits):
            if pieces and fits(f"{pieces[-1]} {part}"):
                pieces[-1] = f"{pieces[-1]} {part}"
            else:
                pieces.append(part)
    return pieces


def _cut_to_fit(sentence: str, fits: Callable[[str], bool]) -> list[str]:
    """A sentence as one piece if it fits, else runs of whole words that each fit."""
    if fits(sentence):
        return [sentence]
    parts: list[str] = []
    for word in sentence.split():
        if parts and fits(f"{parts[-1]} {word}"):
            parts[-1] = f"{parts[-1]} {word}"
        else:
            parts.append(word)
    return parts
