"""What a speech recognizer returns (segments, language guesses, the result and its streamed steps), and the
pieces every recognizer shares: the transformers ASR pipeline of a loaded model, timestamps -> segments."""

from dataclasses import asdict, dataclass, field
from typing import Any

from backend import models


@dataclass
class Segment:
    """A stretch of speech and its text."""

    start: float  # seconds from the start of the audio
    end: float  # seconds
    text: str


@dataclass
class Word:
    """One spoken word, its time and how sure the model is of it."""

    word: str  # as decoded, without surrounding spaces
    start: float  # seconds from the start of the audio
    end: float  # seconds
    probability: float | None  # 0..1: the mean of its tokens' probabilities (Whisper); None where the model gives none


@dataclass
class LanguageGuess:
    """A spoken language and how likely the language identifier finds it."""

    language: str  # Whisper's code, e.g. "fr"; MMS-LID's ISO 639-3 code, e.g. "fra"
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
    # The top LANGUAGE_CANDIDATES languages of a detection (Whisper on both engines, MMS-LID), likeliest first,
    # among the caller's candidate_languages when given; empty when the language was given.
    language_candidates: list[LanguageGuess] = field(default_factory=list)
    engine: str = "torch"  # "torch" or "ctranslate2"
    precision: str = "float32"  # the weights' dtype or CTranslate2 compute type, e.g. "int8"
    words: list[Word] = field(default_factory=list)  # in order, each inside its segment; when word_timestamps
    # Why `words` is empty although word_timestamps was asked for (e.g. "XLS-R 21-to-en translates whole windows
    # and gives no word times."); None when words were given or not asked for.
    words_note: str | None = None
    # Seconds of audio that voice activity detection kept as speech (vad on); None when VAD did not run.
    speech_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "text", "language", "segments": [{"start", "end", "text"}, ...],
        "language_probability", "language_candidates": [{"language", "probability"}, ...], "engine", "precision",
        "words": [{"word", "start", "end", "probability"}, ...], "words_note", "speech_s"}."""
        return asdict(self)


@dataclass
class TranscriptionStep:
    """The text of the windows finished so far (`done` of `total`); the last step holds the whole result."""

    result: TranscriptionResult
    done: int
    total: int


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


def to_segment(chunk: dict[str, Any], duration: float) -> Segment:
    """A pipeline chunk {"timestamp": (start, end), "text"} as a Segment; a missing end is the end of the audio."""
    start, end = chunk["timestamp"]
    start = min(float(start or 0.0), duration)
    end = duration if end is None else min(float(end), duration)
    return Segment(start=round(start, 3), end=round(max(start, end), 3), text=chunk["text"].strip())
