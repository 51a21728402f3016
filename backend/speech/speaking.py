"""Which model and voice speak a request, and the text as that voice will read it.

A request names a model (API clients send the menu's default with every call), optionally a voice preset (Bark)
and a language. The language wins where the model cannot speak it: an MMS-TTS model, or the task's default model,
gives way to the MMS-TTS voice of that language; Bark switches to a preset of the language. A model the caller
chose on purpose that cannot speak the language is an error that says which voice can.
"""

from dataclasses import dataclass
from typing import Any

from backend import dispatch, models
from backend.catalog import ModelSpec, default_model, find_model, resolve_model
from backend.errors import InputError
from backend.languages import LANGUAGE_NAMES
from backend.speech.romanize import romanize, unsayable
from backend.speech.voices import VOICE_BY_LANGUAGE, VOICE_BY_MODEL, check_language, no_voice_message

TASK = "synthesize_speech"


@dataclass(frozen=True)
class Speaker:
    """The model that speaks a request, the language it speaks (a code such as "fr") and the voice preset asked."""

    spec: ModelSpec
    language: str
    voice: str | None


@dataclass(frozen=True)
class SpokenText:
    """A text as a voice reads it: romanized where the voice needs it, and the characters it cannot say."""

    text: str
    unsayable: tuple[str, ...] = ()


def choose_speaker(model: str | None, language: str | None, voice: str | None = None) -> Speaker:
    """The model, language and preset for a request; an InputError names a voice that can when none here can."""
    spec = resolve_model(TASK, model)
    code = check_language(language, spec.languages)
    if code is None:
        return Speaker(spec=spec, language=own_language(spec, voice), voice=voice)
    if spec.family == "bark" and code in spec.languages:
        return Speaker(spec=spec, language=code, voice=bark_preset(spec, code, voice))
    if code in spec.languages:
        return Speaker(spec=spec, language=code, voice=voice)
    mms = VOICE_BY_LANGUAGE.get(code)
    follows_language = spec.family == "vits" or not model or spec.id == default_model(TASK).id
    if mms is not None and follows_language:
        return Speaker(spec=find_model(mms.model_id) or spec, language=code, voice=None)
    if mms is not None:
        name = LANGUAGE_NAMES.get(code, code)
        raise InputError(f"{spec.label} has no {name} voice. Choose the model {mms.model_id} (MMS-TTS {name}), or "
                         "leave the model at its default and set the language.")
    raise InputError(no_voice_message(code, spec.label))


def own_language(spec: ModelSpec, voice: str | None) -> str:
    """The language a model speaks when the request names none: Bark's preset's language, else the model's."""
    if spec.family == "bark":
        preset = (voice or "").strip() or spec.default_voice
        return preset.removeprefix("v2/").split("_speaker_")[0]
    return spec.languages[0] if spec.languages else ""


def bark_preset(spec: ModelSpec, code: str, voice: str | None) -> str:
    """A Bark preset in the language: the one asked for if it is, else the same speaker number in the language."""
    preset = (voice or "").strip() or spec.default_voice
    if preset.startswith(f"v2/{code}_speaker_"):
        return preset
    number = preset.rsplit("_", 1)[-1] if "_speaker_" in preset else "0"
    return f"v2/{code}_speaker_{number}"


def spoken_text(text: str, loaded: Any) -> SpokenText:
    """The text a VITS voice reads: romanized when its tokenizer says `is_uroman`, minus what it cannot say."""
    tokenizer = loaded.processor
    mms = VOICE_BY_MODEL.get(loaded.spec.id)
    if getattr(tokenizer, "is_uroman", False):
        text = romanize(text, mms.mms_code if mms else None)
    vocabulary = set(tokenizer.get_vocab())
    missing = unsayable(text, vocabulary)
    if missing:
        # Reported in the result; taken out here so the tokenizer never starts its own (slow) romanizer on them.
        text = "".join(char for char in text if char.lower() not in missing)
    return SpokenText(text=text, unsayable=tuple(missing))


def preview(text: str, model: str | None, language: str | None) -> str:
    """What a voice will read, without loading it: exact when the voice is loaded here (its tokenizer's flag and
    vocabulary), else the romanized text for the voices the table marks as trained on romanized text."""
    speaker = choose_speaker(model, language)
    if speaker.spec.family == "vits" and not dispatch.is_remote() and models.CACHE.is_loaded(speaker.spec.id):
        return spoken_text(text, models.get(speaker.spec.id)).text
    mms = VOICE_BY_MODEL.get(speaker.spec.id)
    if mms is None or not mms.uroman:
        return text
    return romanize(text, mms.mms_code)
