"""Romanization for the MMS-TTS voices trained on romanized text, and the characters a voice cannot say.

transformers' VitsTokenizer would build a new `uroman.Uroman()` for every call (seconds each: its tables load in
the constructor); one romanizer is built on first use and kept here, and the text reaches the tokenizer already
romanized, so the tokenizer skips its own step.
"""

import threading
import unicodedata

import uroman

_romanizer: uroman.Uroman | None = None
_lock = threading.Lock()  # one construction even when the first requests come together


def romanizer() -> uroman.Uroman:
    """The one romanizer, built on first use (about 4-7 s)."""
    global _romanizer
    with _lock:
        if _romanizer is None:
            _romanizer = uroman.Uroman()
        return _romanizer


def romanize(text: str, mms_code: str | None = None) -> str:
    """Text in Latin letters as uroman writes it (Привет -> Privet); `mms_code` (ISO 639-3) tunes a few languages."""
    if text.isascii():
        return text
    language = (mms_code or "").split("-")[0] or None
    return romanizer().romanize_string(text, lcode=language)


def unsayable(text: str, vocabulary: set[str]) -> list[str]:
    """Letters and digits of `text` (lower-cased, as the voice's tokenizer does) outside the voice's vocabulary,
    each once in order of appearance; punctuation and spaces are left out, since voices drop those by design."""
    missing: dict[str, None] = {}
    for char in text.lower():
        if char in vocabulary or char.isspace():
            continue
        if unicodedata.category(char)[0] in "LNM":  # letters, numbers, combining marks
            missing[char] = None
    return list(missing)
