"""Text to speech: text of any length up to the limit -> mono audio, with a voice preset for Bark.

Long text is split into sentence groups that the model renders well (Bark: about 13 s of speech each), each is
generated with the same voice, and the pieces are joined with a short pause. The first sentence is a piece of
its own, so that a caller streaming the pieces (`stream_speech`) can play it while the rest is generated.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from backend import compute, dispatch, inputs, models
from backend.catalog import ModelSpec
from backend.errors import InputError
from backend.limits import MAX_SPEECH_SEMANTIC_TOKENS, MAX_TEXT_CHARS
from backend.sentences import pack, split_paragraphs, split_sentences
from backend.speech.speaking import SpokenText, choose_speaker, spoken_text

# Characters per generated piece: Bark renders about 13 s per call (~200 characters of English);
# VITS takes longer pieces but memory grows with the length.
MAX_PIECE_CHARS = {"bark": 200, "vits": 400}
PAUSE_SECONDS = 0.25  # silence between pieces
SEED = 0


@dataclass
class SpeechResult:
    """Synthesised speech: mono float32 samples in [-1, 1] at `sampling_rate`."""

    model: str
    sampling_rate: int  # Hz
    audio: np.ndarray  # (samples,) float32
    voice: str  # the preset used, "" for single-voice models
    language: str = ""  # the spoken language's code, e.g. "fr"
    spoken_text: str = ""  # the text as the voice read it: romanized where the voice needs it
    unsayable: tuple[str, ...] = ()  # characters the voice could not say (left out), each once

    @property
    def duration_s(self) -> float:
        """Length of the audio in seconds."""
        return len(self.audio) / self.sampling_rate

    def to_json(self) -> dict[str, Any]:
        """The API's JSON form: {"model", "sampling_rate", "duration_s", "voice", "language", "spoken_text",
        "unsayable_characters"}."""
        return {"model": self.model, "sampling_rate": self.sampling_rate,
                "duration_s": round(self.duration_s, 3), "voice": self.voice, "language": self.language,
                "spoken_text": self.spoken_text, "unsayable_characters": list(self.unsayable)}


@dataclass
class SpeechPart:
    """One finished piece of a speech, with the pause before it (none before the first): play the parts in order."""

    model: str
    sampling_rate: int  # Hz
    audio: np.ndarray  # (samples,) float32 in [-1, 1]
    voice: str
    done: int  # pieces finished so far, this one included
    total: int  # pieces in the whole text
    language: str = ""  # as in SpeechResult
    spoken: SpokenText | None = None  # the whole text as the voice reads it (on every part)


@dispatch.task(pick=lambda arguments: choose_speaker(arguments.get("model"), arguments.get("language"),
                                                     arguments.get("voice")).spec)
def synthesize_speech(text: str, model: str | None = None, voice: str | None = None,
                      language: str | None = None) -> SpeechResult:
    """Speak a text; `voice` is a Bark preset such as "v2/en_speaker_6" (None or "": the model's default);
    `language` (a name or code) picks the voice that speaks it (an MMS-TTS voice when the model has none)."""
    return join_speech(list(stream_speech(text, model=model, voice=voice, language=language)))


def stream_speech(text: str, model: str | None = None, voice: str | None = None,
                  language: str | None = None) -> Iterator[SpeechPart]:
    """Speak a text piece by piece, yielding each piece's audio as soon as it is made (first: the first sentence).

    In Ray mode the cluster speaks the whole text (backend/dispatch.py), which comes as one part."""
    if dispatch.is_remote():
        whole = synthesize_speech(text, model=model, voice=voice, language=language)
        yield SpeechPart(model=whole.model, sampling_rate=whole.sampling_rate, audio=whole.audio, voice=whole.voice,
                         done=1, total=1, language=whole.language,
                         spoken=SpokenText(whole.spoken_text, tuple(whole.unsayable)))
        return
    speaker = choose_speaker(model, language, voice)
    spec = speaker.spec
    preset = pick_voice(speaker.voice, spec)
    text = inputs.clean_text(text, max_chars=MAX_TEXT_CHARS, what="text to speak")
    loaded = models.get(spec.id)
    reading = spoken_text(text, loaded) if spec.family == "vits" else SpokenText(text)
    pieces = speech_pieces(reading.text, MAX_PIECE_CHARS[spec.family]) if reading.text.strip() else [""]
    rate = sampling_rate(loaded)
    pause = np.zeros(int(PAUSE_SECONDS * rate), dtype=np.float32)
    for index, piece in enumerate(pieces):
        # The device lock is taken per piece, not across yields: a streaming caller may resume this generator on
        # another thread, and an RLock is released only by the thread that took it.
        with compute.model_work():
            # Both models sample (Bark's tokens, VITS's noise); a fixed seed per piece makes the same request give
            # the same audio. Set under the device lock, so no other model call draws from the global generator.
            torch.manual_seed(SEED + index)
            spoken = speak_bark(loaded, piece, preset) if spec.family == "bark" else speak_vits(loaded, piece)
        audio = np.clip(spoken, -1.0, 1.0).astype(np.float32)
        yield SpeechPart(model=spec.id, sampling_rate=rate, audio=np.concatenate([pause, audio]) if index else audio,
                         voice=preset, done=index + 1, total=len(pieces), language=speaker.language, spoken=reading)


def join_speech(parts: list[SpeechPart]) -> SpeechResult:
    """The whole speech from all its parts; an InputError if none of it can be heard."""
    audio = np.concatenate([part.audio for part in parts]).astype(np.float32)
    spoken = parts[0].spoken or SpokenText("")
    if not np.any(audio):
        unsaid = f" (it cannot say: {' '.join(spoken.unsayable[:20])})" if spoken.unsayable else ""
        raise InputError(f"The text has nothing this voice can pronounce{unsaid}; write words in the model's "
                         "language.")
    return SpeechResult(model=parts[0].model, sampling_rate=parts[0].sampling_rate, audio=audio, voice=parts[0].voice,
                        language=parts[0].language, spoken_text=spoken.text, unsayable=spoken.unsayable)


def speech_pieces(text: str, max_chars: int) -> list[str]:
    """The text in pieces of at most max_chars (a longer word stays whole): the first sentence, then as few as fit."""
    paragraphs = split_paragraphs(text)
    sentences = split_sentences(paragraphs[0])
    # The first sentence alone, then the rest of its paragraph packed, then each further paragraph packed.
    groups = [sentences[0], " ".join(sentences[1:]), *paragraphs[1:]]
    return [piece for group in groups if group for piece in pack(group, lambda p: len(p) <= max_chars)]


def pick_voice(voice: str | None, spec: ModelSpec) -> str:
    """The preset to use: the one asked for, else the model's default; "" for single-voice models."""
    voice = (voice or "").strip()
    if not spec.voices:
        return ""  # single-voice model: any preset asked for is ignored, so callers may keep one default voice
    if not voice:
        return spec.default_voice
    if voice not in spec.voices:
        raise InputError(f"Unknown voice {voice[:40]!r}; use a preset such as {spec.default_voice}.")
    return voice


def sampling_rate(loaded: models.LoadedModel) -> int:
    """The model's output rate in Hz: Bark keeps it in its generation config, VITS in its config."""
    if loaded.spec.family == "bark":
        return int(loaded.model.generation_config.sample_rate)
    return int(loaded.model.config.sampling_rate)


def speak_bark(loaded: models.LoadedModel, text: str, voice: str) -> np.ndarray:
    """One piece through Bark's text -> semantic -> coarse -> fine -> codec stages, bounded in length."""
    encoded = loaded.processor(text, voice_preset=voice, return_tensors="pt").to(loaded.device)
    encoded["history_prompt"] = encoded["history_prompt"].to(loaded.device)  # a nested batch `.to` skips
    # The coarse and fine stages produce a length proportional to the semantic tokens, so bounding the
    # semantic stage bounds the whole generation even if a model never emits its stop token. At least one
    # semantic token is needed: the codec fails on an empty sequence.
    audio = loaded.model.generate(**encoded, semantic_max_new_tokens=MAX_SPEECH_SEMANTIC_TOKENS,
                                  semantic_min_new_tokens=1, do_sample=True)
    return audio[0].float().cpu().numpy()


def speak_vits(loaded: models.LoadedModel, text: str) -> np.ndarray:
    """One piece through VITS (MMS-TTS): a single forward pass."""
    encoded = loaded.processor(text, return_tensors="pt").to(loaded.device)
    if encoded["input_ids"].shape[-1] == 0:  # nothing left after the tokenizer's normalisation, e.g. only emoji
        return np.zeros(0, dtype=np.float32)
    return loaded.model(**encoded).waveform[0].float().cpu().numpy()
