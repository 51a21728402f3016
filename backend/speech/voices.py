"""MMS-TTS voices for the major languages, and which voice speaks a language a request asks for.

Each MMS-TTS checkpoint (`facebook/mms-tts-<iso639-3>`) is one voice in one language. The table keeps the most
spoken languages that both M2M100 (translation) and MMS-TTS cover; Mandarin, Japanese and Italian are not among
MMS-TTS's languages. `uroman` marks the voices trained on romanized text (their tokenizer's `is_uroman`): their
text is romanized before it is spoken (backend/speech/romanize.py). The flag the checkpoint itself carries wins
at synthesis time; this one lets the UI show the romanized text before a model is loaded.
"""

from dataclasses import dataclass

from backend.errors import InputError
from backend.languages import LANGUAGE_NAMES, find_language


@dataclass(frozen=True)
class Voice:
    """One MMS-TTS voice: the language's code as the translation model writes it, and the checkpoint's code."""

    language: str  # e.g. "fr" (M2M100/Whisper code)
    mms_code: str  # e.g. "fra", or "urd-script_arabic" where MMS has several scripts
    uroman: bool = False  # trained on romanized text: romanize before speaking

    @property
    def model_id(self) -> str:
        """The Hub id of the voice's checkpoint."""
        return f"facebook/mms-tts-{self.mms_code}"


# By number of speakers (first and second language), English first; 36 voices.
MMS_VOICES: tuple[Voice, ...] = (
    Voice("en", "eng"), Voice("es", "spa"), Voice("hi", "hin", uroman=True), Voice("ar", "ara", uroman=True),
    Voice("fr", "fra"), Voice("bn", "ben"), Voice("pt", "por"), Voice("ru", "rus"),
    Voice("ur", "urd-script_arabic", uroman=True), Voice("id", "ind"), Voice("de", "deu"), Voice("sw", "swh"),
    Voice("mr", "mar"), Voice("tr", "tur"), Voice("ta", "tam"), Voice("vi", "vie"),
    Voice("ko", "kor", uroman=True), Voice("fa", "fas"), Voice("ha", "hau"), Voice("jv", "jav"), Voice("gu", "guj"),
    Voice("kn", "kan"), Voice("pa", "pan"), Voice("th", "tha"), Voice("ml", "mal"), Voice("pl", "pol"),
    Voice("uk", "ukr"), Voice("yo", "yor"), Voice("tl", "tgl"), Voice("my", "mya"), Voice("am", "amh"),
    Voice("ro", "ron"), Voice("nl", "nld"), Voice("ms", "zlm"), Voice("so", "som"), Voice("hu", "hun"),
)
VOICE_BY_LANGUAGE: dict[str, Voice] = {voice.language: voice for voice in MMS_VOICES}
VOICE_BY_MODEL: dict[str, Voice] = {voice.model_id: voice for voice in MMS_VOICES}
VOICE_LANGUAGES: tuple[str, ...] = tuple(VOICE_BY_LANGUAGE)


def voice_label(voice: Voice) -> str:
    """The menu label of a voice's checkpoint, e.g. "MMS-TTS French (36M)"."""
    return f"MMS-TTS {LANGUAGE_NAMES[voice.language]} (36M)"


def find_speech_language(language: str, known: tuple[str, ...]) -> str | None:
    """The code of a language given by name, code ("fr") or MMS code ("fra"), among `known` and the voices."""
    text = language.strip().lower()
    for voice in MMS_VOICES:
        if text == voice.mms_code or text == voice.mms_code.split("-")[0]:
            return voice.language
    # Every language with a name here, so that one no voice speaks gets "cannot speak", not "unknown".
    return find_language(language, tuple(dict.fromkeys((*known, *VOICE_LANGUAGES, *LANGUAGE_NAMES))))


def no_voice_message(language: str, model_label: str) -> str:
    """What to do when no voice speaks a language: which stage cannot, and the nearest choices."""
    name = LANGUAGE_NAMES.get(language, language)
    spoken = ", ".join(sorted(LANGUAGE_NAMES[code] for code in VOICE_LANGUAGES))
    return (f"Text to speech cannot speak {name}: {model_label} has no {name} voice and no MMS-TTS voice here "
            f"speaks it. Choose one of: {spoken}.")


def check_language(language: str | None, known: tuple[str, ...]) -> str | None:
    """The code of a language a request names (None when it names none); an InputError for an unknown name."""
    text = (language or "").strip()
    if not text:
        return None
    code = find_speech_language(text, known)
    if code is None:
        raise InputError(f"Unknown language {text[:40]!r} for text to speech; use an English name such as French or "
                         "a code such as fr.")
    return code
