"""Issue 22's speed rows: what word timestamps, VAD and the top-5 language list cost, as ratios in one run.

    python -m bench.words [turns] [--weights=random-small|real-base] [--only=ROW[,ROW]]

Rows (each A against B in ABAB turns through the app's `transcribe`, after a warm-up of each; median, min, max):
- words-ctranslate2, words-torch: 30 s of speech, word_timestamps on / off (vad off, language given).
- vad, vad-torch: 5 min that is half silence (a 15 s sentence block, 15 s of silence, ...), vad on / off
  (CTranslate2, torch). With VAD the speech windows are decoded several at once (backend/speech/whisper_batched.py);
  without, the whole audio window after window.
- vad-hiss: the same with a quiet room's hiss (NOISE_DBFS) over the whole clip instead of digital silence.
- vad-batched: for reference, faster-whisper's BatchedInferencePipeline (its VAD, chunks decoded 8 at a time, no
  previous text as a prompt) on the half-silent 5 min / the app without VAD: what batching would give.
- languages: the language detected with the top-5 list / the language given (vad off, CTranslate2 and torch).
- top5-torch: the top-5 detection alone / transformers' argmax-only `detect_language`, on the same 30 s window.

Weights: "random-small" is Whisper small at its real size with random weights (bench/real_size.py); it decodes as
many tokens with or without words, so the ratio is the cost of the words, not of different text. "real-base" is the
published Whisper base (tests/speech/real_whisper.py), whose decoding follows the speech.
The speech is espeak-ng's (tests/speech/real_whisper.py). Prints JSON, then the BENCHMARKS.md rows.
"""

import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile

from backend import models
from backend.models import ModelCache
from backend.tasks.transcribe import transcribe
from bench.timing import interleaved
from tests.speech import real_whisper

TURNS = 2
NOISE_DBFS = -50  # a quiet room's hiss: what "silence" is in a recording made with a microphone
RATE = real_whisper.RATE


def speech(folder: Path, seconds: float, silence_every_s: float | None = None, noise_dbfs: float | None = None) -> Path:
    """espeak-ng sentences joined up to `seconds`; with `silence_every_s`, that much speech then as much silence:
    digital zeros, or with `noise_dbfs` a room's quiet hiss (white noise at that RMS level, over the whole clip)."""
    sentences = [soundfile.read(real_whisper.speak(text, folder / f"s{index}.wav"), dtype="float32")[0]
                 for index, text in enumerate(real_whisper.SENTENCES)]
    pieces, length, spoken, index = [], 0, 0, 0
    while length < seconds * RATE:
        piece = sentences[index % len(sentences)]
        pieces.append(piece)
        length += len(piece)
        spoken += len(piece)
        index += 1
        if silence_every_s and spoken >= silence_every_s * RATE:
            pieces.append(np.zeros(spoken, dtype=np.float32))
            length += spoken
            spoken = 0
    name = f"speech_{int(seconds)}{'_half_silence' if silence_every_s else ''}{'_hiss' if noise_dbfs else ''}"
    path = folder / f"{name}.wav"
    samples = np.concatenate(pieces)[: int(seconds * RATE)]
    if noise_dbfs is not None:
        hiss = np.random.default_rng(0).standard_normal(len(samples)).astype(np.float32) * 10 ** (noise_dbfs / 20)
        samples = np.clip(samples + hiss, -1.0, 1.0)
    soundfile.write(path, samples, RATE)
    return path


def cache_on(engine: str, model: str) -> ModelCache:
    """A model cache with `model` loaded on `engine`."""
    os.environ["APP_ENGINE"] = engine
    cache = ModelCache()
    cache.get(model)
    return cache


def call(cache: ModelCache, model: str, path: Path, **options: Any) -> Callable[[], object]:
    """One app transcription with `cache` as the model cache."""
    def run() -> object:
        previous, models.CACHE = models.CACHE, cache
        try:
            return transcribe(path, model=model, **options)
        finally:
            models.CACHE = previous
    return run


def main(turns: int, weights: str, only: set[str] | None) -> dict[str, Any]:
    """The chosen rows, timed."""
    folder = Path(tempfile.mkdtemp(prefix="bench-words-"))
    if weights == "real-base":
        root = Path(os.environ.get("TINY_MODELS_CACHE") or folder)
        os.environ["MODELS_DIR"] = str(real_whisper.models_dir(root))
        model = real_whisper.MODEL_ID
    else:
        from bench.real_size import ensure_all

        model = "openai/whisper-small"
        os.environ["MODELS_DIR"] = str(ensure_all([model]))
    os.environ["APP_CTRANSLATE2_CACHE"] = str(folder / "ct2")
    thirty, five_minutes = speech(folder, 30.0), speech(folder, 300.0, silence_every_s=15.0)
    five_minutes_hiss = speech(folder, 300.0, silence_every_s=15.0, noise_dbfs=NOISE_DBFS)
    rows = []

    def row(name: str, engine: str, path: Path, a: dict, b: dict, label: str) -> None:
        if only and name not in only:
            return
        cache = cache_on(engine, model)
        first, second = interleaved(call(cache, model, path, **a), call(cache, model, path, **b), turns)
        rows.append({"row": name, "what": label, "engine": engine, "a": str(first), "b": str(second),
                     "ratio_median": round(first.median / second.median, 2),
                     "ratio_range": [round(first.low / second.high, 2), round(first.high / second.low, 2)]})
        print(json.dumps(rows[-1]), flush=True)

    given = {"language": "en", "vad": False}
    row("words-ctranslate2", "ctranslate2", thirty, {**given, "word_timestamps": True}, given,
        "30 s: with word timestamps / without")
    row("words-torch", "torch", thirty, {**given, "word_timestamps": True}, given,
        "30 s: with word timestamps / without")
    row("vad", "ctranslate2", five_minutes, {"language": "en", "vad": True}, given,
        "5 min, half silence: VAD / no VAD")
    row("vad-torch", "torch", five_minutes, {"language": "en", "vad": True}, given,
        "5 min, half silence: VAD / no VAD")
    row("vad-hiss", "ctranslate2", five_minutes_hiss, {"language": "en", "vad": True}, given,
        f"5 min, half silence with a room's hiss ({NOISE_DBFS} dBFS): VAD / no VAD")
    if not only or "vad-batched" in only:  # what batching the speech chunks would give (not the app's path)
        from faster_whisper import BatchedInferencePipeline

        cache = cache_on("ctranslate2", model)
        runner = cache.get(model).model.runner
        samples = soundfile.read(five_minutes, dtype="float32")[0]

        def batched() -> object:  # faster-whisper's own VAD, then up to 8 chunks of <= 30 s decoded at once
            pieces, _ = BatchedInferencePipeline(runner).transcribe(
                samples, language="en", beam_size=5, batch_size=8, temperature=0.0, without_timestamps=False)
            return [piece.text for piece in pieces]

        first, second = interleaved(batched, call(cache, model, five_minutes, **given), turns)
        rows.append({"row": "vad-batched", "engine": "ctranslate2", "a": str(first), "b": str(second),
                     "what": "5 min, half silence: faster-whisper's batched VAD pipeline (not the app's) / app, no VAD",
                     "ratio_median": round(first.median / second.median, 2),
                     "ratio_range": [round(first.low / second.high, 2), round(first.high / second.low, 2)]})
        print(json.dumps(rows[-1]), flush=True)
    for engine in ("ctranslate2", "torch"):
        row(f"languages-{engine}", engine, thirty, {"vad": False}, given,
            "30 s: detected with the top-5 list / language given")
    if not only or "top5-torch" in only:  # the top-5 detection against transformers' argmax-only detect_language
        import torch

        from backend import compute
        from backend.speech.whisper import language_guesses

        loaded = cache_on("torch", model).get(model)
        window = soundfile.read(thirty, dtype="float32")[0]
        features = loaded.processor.feature_extractor(window, sampling_rate=RATE, return_tensors="pt").input_features

        def argmax_only() -> object:
            with torch.inference_mode():
                return loaded.model.detect_language(features)

        def top_five() -> object:
            with compute.model_work():
                encoded = loaded.model.get_encoder()(features)
                return language_guesses(loaded, encoded)[:5]
        first, second = interleaved(top_five, argmax_only, turns)
        rows.append({"row": "top5-torch", "what": "language detection: top-5 list / transformers' detect_language",
                     "engine": "torch", "a": str(first), "b": str(second),
                     "ratio_median": round(first.median / second.median, 2),
                     "ratio_range": [round(first.low / second.high, 2), round(first.high / second.low, 2)]})
    return {"weights": weights, "model": model, "turns": turns, "load": os.getloadavg(), "rows": rows}


def markdown(results: dict[str, Any]) -> str:
    """The rows for BENCHMARKS.md."""
    lines = ["| figure | engine | A | B | A/B median (range) |", "|---|---|---|---|---|"]
    lines += [f"| {row['what']} | {row['engine']} | {row['a']} | {row['b']} | {row['ratio_median']} "
              f"({row['ratio_range'][0]}-{row['ratio_range'][1]}) |" for row in results["rows"]]
    return "\n".join(lines)


if __name__ == "__main__":
    options = dict(argument[2:].split("=", 1) for argument in sys.argv[1:] if argument.startswith("--"))
    numbers = [argument for argument in sys.argv[1:] if not argument.startswith("--")]
    chosen = set(options["only"].split(",")) if "only" in options else None
    figures = main(int(numbers[0]) if numbers else TURNS, options.get("weights", "random-small"), chosen)
    print(json.dumps(figures))
    print(markdown(figures))
