"""Text language identification (py3langid: a naive Bayes model shipped inside its wheel, 140 labels).

One identifier is built on first use (about 1 s) and kept; it gives normalised probabilities (the module-level
`py3langid.classify` gives raw scores). A detection is restricted to the languages the caller can use (e.g. the
translation model's), so the answer is always a language that model knows.
"""

import threading
from dataclasses import dataclass, field

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from backend.errors import InputError
from backend.languages import LANGUAGE_NAMES

# Below this probability a detection is a guess: the caller is told to choose the language instead.
MIN_PROBABILITY = 0.5
CANDIDATES = 3  # guesses shown when the language is unclear, and in the result
# py3langid labels that differ from the translation model's codes.
LABEL_TO_CODE = {"nso": "ns"}
CODE_TO_LABEL = {code: label for label, code in LABEL_TO_CODE.items()}

_identifier: LanguageIdentifier | None = None
_all_labels: frozenset[str] = frozenset()  # every label the model knows (nb_classes shrinks with set_languages)
_restricted_to: tuple[str, ...] | None = None  # the languages set on it last (set_languages costs ~25 ms)
_lock = threading.Lock()  # set_languages changes the shared identifier: one detection at a time


@dataclass
class Detection:
    """The detected language (a code such as "fr"), its probability (0-1) and the next best guesses."""

    language: str
    probability: float
    candidates: list[tuple[str, float]] = field(default_factory=list)  # (code, probability), best first


def identifier() -> LanguageIdentifier:
    """The one identifier, built with normalised probabilities on first use."""
    global _identifier, _all_labels
    if _identifier is None:
        built = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        _all_labels = frozenset(built.nb_classes)
        _identifier = built
    return _identifier


def detectable(allowed: tuple[str, ...]) -> list[str]:
    """The identifier's labels for the allowed codes it knows (M2M100: 89 of 100)."""
    identifier()
    known = _all_labels  # not nb_classes: after an earlier set_languages that lists only the last restriction
    return [CODE_TO_LABEL.get(code, code) for code in allowed if CODE_TO_LABEL.get(code, code) in known]


def detect_language(text: str, allowed: tuple[str, ...]) -> Detection:
    """The language of a text among `allowed` codes; an InputError when it is unclear (short or mixed text)."""
    global _restricted_to
    with _lock:
        model = identifier()
        if allowed != _restricted_to:
            model.set_languages(detectable(allowed))
            _restricted_to = allowed
        ranked = model.rank(text)[:CANDIDATES]
    candidates = [(LABEL_TO_CODE.get(label, label), float(probability)) for label, probability in ranked]
    best, probability = candidates[0]
    if probability < MIN_PROBABILITY:
        guesses = ", ".join(f"{LANGUAGE_NAMES.get(code, code)} {p:.0%}" for code, p in candidates)
        raise InputError(f"The language of this text is unclear (best guesses: {guesses}): it is too short or mixes "
                         "languages. Choose the source language instead of Auto-detect.")
    return Detection(language=best, probability=probability, candidates=candidates)
