"""Speech to speech (issue 23): the chain against its stages called alone, time to first audio, language detection.

    python -m bench.translate_speech [--runs 3]

Real-size random checkpoints (bench/real_size.py) of Whisper base, M2M100 418M and MMS-TTS on the torch engine, in
this process (no app): the figures are ratios measured in one run, in turns (ABAB). Random weights decode to their
length limits, so absolute times say nothing of real speech; the ratios compare the same work done two ways.
"""

import argparse
import os
import time

import numpy as np

from bench import real_size
from bench.timing import figure, interleaved, timed

RECOGNITION = "openai/whisper-base"
TRANSLATION = "facebook/m2m100_418M"
SPEECH = "facebook/mms-tts-eng"
TEXT_200 = ("Le musée ouvre à neuf heures du matin et ferme à six heures du soir. Les visiteurs peuvent acheter "
            "leurs billets à l'entrée ou en ligne, et les enfants entrent gratuitement.")


def speech_of(seconds: float) -> tuple[int, np.ndarray]:
    """The French example clip repeated to `seconds` of 16 kHz audio."""
    from backend.inputs import load_audio

    clip = load_audio(str(real_size.CACHE.parent.parent / "assets" / "audio" / "fr.wav"), 16_000)
    return 16_000, np.tile(clip, int(np.ceil(seconds * 16_000 / len(clip))))[: int(seconds * 16_000)]


def main() -> None:
    """Build the checkpoints if needed, then print the three figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ["APP_ENGINE"] = "torch"
    os.environ["MODELS_DIR"] = str(real_size.ensure_all([RECOGNITION, TRANSLATION, SPEECH]))
    from backend.language_id import detect_language
    from backend.languages import M2M100_LANGUAGES
    from backend.tasks.synthesize_speech import synthesize_speech
    from backend.tasks.transcribe import transcribe
    from backend.tasks.translate import translate
    from backend.tasks.translate_speech import stream_speech_translation, translate_speech

    models = {"recognition_model": RECOGNITION, "translation_model": TRANSLATION, "speech_model": SPEECH}
    half_minute = speech_of(30)

    def chain() -> object:
        return translate_speech(half_minute, "en", "fr", **models)

    def stages() -> object:
        heard = transcribe(half_minute, model=RECOGNITION, language="fr")
        lines = "\n".join(" ".join(s.text.split()) for s in heard.segments if s.text.strip())
        translated = translate(lines, "fr", "en", model=TRANSLATION)
        return synthesize_speech(translated.translation, model=SPEECH, language="en")

    whole_chain, sum_of_stages = interleaved(chain, stages, args.runs)
    print(f"translate_speech on 30 s: {whole_chain}; the three stages alone: {sum_of_stages}; "
          f"ratio {whole_chain.median / sum_of_stages.median:.2f} (target <= 1.10)", flush=True)

    two_minutes = speech_of(120)
    firsts, wholes = [], []
    for _ in range(args.runs):
        started, first = time.perf_counter(), None
        for step in stream_speech_translation(two_minutes, "en", "fr", **models):
            if first is None and step.audio is not None:
                first = time.perf_counter() - started
        wholes.append(time.perf_counter() - started)
        firsts.append(first)
    ratios = [a / b for a, b in zip(firsts, wholes, strict=True)]
    print(f"2 min: first audio {figure(firsts)}, whole {figure(wholes)}; ratio {figure(ratios).median:.2f} "
          f"({min(ratios):.2f}-{max(ratios):.2f}; target <= 0.35)", flush=True)

    detection = timed(lambda: detect_language(TEXT_200, M2M100_LANGUAGES), runs=20)
    translation = timed(lambda: translate(TEXT_200, "fr", "en", model=TRANSLATION), runs=args.runs)
    print(f"{len(TEXT_200)} characters: detection {detection}, translation {translation}; ratio "
          f"{detection.median / translation.median:.4f} (target <= 0.01)", flush=True)


if __name__ == "__main__":
    main()
