"""CTranslate2 against torch on the same real-size random-weight checkpoints: speed, memory, first conversion time.

    python -m bench.engines memory torch|ctranslate2   # one JSON line: RSS of a loaded Whisper small (run by whisper())
"""

import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from backend import models  # noqa: E402
from backend.tasks import transcribe, translate  # noqa: E402
from bench import calls, fresh_process, real_size, system  # noqa: E402
from bench.timing import interleaved  # noqa: E402

RUNS = 3
LONG_AUDIO_RUNS = 2  # five minutes of audio per run
TRANSLATION_ID = "facebook/m2m100_418M"
WHISPER_SHORT_ID = "openai/whisper-small"  # 30 s: the app call on CTranslate2 against torch's forward-only
WHISPER_LONG_ID = "openai/whisper-base"  # 5 minutes, batched windows on both engines


def ctranslate2_cache(cache_folder: str) -> models.ModelCache:
    """A model cache that loads with CTranslate2 (int8 on CPU), with the benchmark's fixed lengths.

    APP_ENGINE is ctranslate2 only while this cache loads, so the torch caches beside it keep loading torch models.
    """
    os.environ["APP_CTRANSLATE2_CACHE"] = cache_folder

    def loader(spec: Any, device: Any, dtype: Any) -> tuple[Any, Any]:
        previous = os.environ.get("APP_ENGINE")
        os.environ["APP_ENGINE"] = "ctranslate2"
        try:
            model, processor = models.load_from_pretrained(spec, device, dtype)
        finally:
            os.environ.pop("APP_ENGINE") if previous is None else os.environ.update({"APP_ENGINE": previous})
        # The same fixed generation length as the torch models get (calls.fix_generation_length).
        model.generation.update({"min_new_tokens": calls.NEW_TOKENS + 1, "max_new_tokens": calls.NEW_TOKENS + 1})
        return model, processor

    return models.ModelCache(loader=loader)


def engines() -> dict[str, Any]:
    """Every engine row: M2M100 translation, then Whisper (the models not in this run's --models are left out)."""
    results: dict[str, Any] = {}
    if TRANSLATION_ID in calls.IDS:
        results["translation"] = translation()
    if WHISPER_SHORT_ID in calls.IDS and WHISPER_LONG_ID in calls.IDS:
        results["whisper"] = whisper()
    return results


def translation() -> dict[str, Any]:
    """M2M100 418M, 5 beams: torch fp32 forward-only vs the CTranslate2 int8 app call, in turns; conversion time."""
    previous = os.environ.get("APP_ENGINE")
    torch_cache = models.CACHE
    forward = calls.forward_only(TRANSLATION_ID)  # the torch model, loaded into the app's cache
    with tempfile.TemporaryDirectory(prefix="ct2-bench-") as folder:
        fast_cache = ctranslate2_cache(folder)
        started = time.perf_counter()
        loaded = fast_cache.get(TRANSLATION_ID)
        load_seconds = time.perf_counter() - started

        def ctranslate2_call() -> object:
            models.CACHE = fast_cache
            try:
                return translate.translate(calls.TEXT, "en", "fr", model=TRANSLATION_ID)
            finally:
                models.CACHE = torch_cache

        torch_forward, ctranslate2_app = interleaved(forward, ctranslate2_call, RUNS)
        result = {"model": TRANSLATION_ID, "torch_forward": torch_forward, "ctranslate2_app": ctranslate2_app,
                  "convert_seconds": loaded.model.convert_seconds, "first_load_seconds": load_seconds,
                  "ctranslate2_bytes": loaded.model.bytes, "torch_bytes": torch_cache.status()["used_bytes"]}
    os.environ.pop("APP_ENGINE") if previous is None else os.environ.update({"APP_ENGINE": previous})
    models.CACHE.unload(TRANSLATION_ID)
    return result


@functools.cache
def fixed_length_faster_whisper() -> dict[str, int]:
    """Make faster-whisper's batched pipeline decode calls.NEW_TOKENS per window, as the torch models do.

    The end token is suppressed and the length bounded, so a random model neither stops early nor runs to 440
    tokens. Returns a counter of the tokens decoded, to check that both engines do the same work.
    """
    from faster_whisper import BatchedInferencePipeline

    decoded = {"tokens": 0, "windows": 0}
    original = BatchedInferencePipeline.transcribe

    def fixed(self: Any, audio: Any, **options: Any) -> Any:
        end_of_text = self.model.hf_tokenizer.token_to_id("<|endoftext|>")
        # CTranslate2 decodes at most half the prompt + max_new_tokens (openai/whisper's sample_len = 448 // 2): with
        # the 3-token timestamp prompt, 2 * NEW_TOKENS - 3 new tokens allowed gives NEW_TOKENS decoded.
        options.update(max_new_tokens=2 * calls.NEW_TOKENS - 3, suppress_tokens=[-1, end_of_text])
        pieces, info = original(self, audio, **options)

        def counted() -> Any:
            for piece in pieces:
                decoded["tokens"] += len(piece.tokens)
                yield piece
            decoded["windows"] += len(options["clip_timestamps"])

        return counted(), info

    BatchedInferencePipeline.transcribe = fixed
    return decoded


def with_cache(cache: models.ModelCache, function: Callable[[], object]) -> Callable[[], object]:
    """`function` run with `cache` as the app's model cache."""
    def call() -> object:
        previous, models.CACHE = models.CACHE, cache
        try:
            return function()
        finally:
            models.CACHE = previous
    return call


def whisper() -> dict[str, Any]:
    """Whisper small 30 s: CTranslate2 int8 app call vs torch fp32 forward-only; Whisper base 5 min batched on both;
    resident memory of a loaded Whisper small on each engine (fresh processes); first conversion time."""
    decoded = fixed_length_faster_whisper()
    previous = os.environ.get("APP_ENGINE")
    torch_cache = models.CACHE
    long_file = str(system.write_long_audio())
    with tempfile.TemporaryDirectory(prefix="ct2-bench-") as folder:
        fast_cache = ctranslate2_cache(folder)
        started = time.perf_counter()
        small = fast_cache.get(WHISPER_SHORT_ID)
        first_load = time.perf_counter() - started
        short_call = with_cache(fast_cache, lambda: transcribe.transcribe(
            str(calls.SPEECH_30S_FILE), model=WHISPER_SHORT_ID, language="en"))
        torch_forward, ctranslate2_app = interleaved(calls.forward_only(WHISPER_SHORT_ID), short_call, RUNS)
        tokens_per_window = decoded["tokens"] / max(1, decoded["windows"])
        models.CACHE.unload(WHISPER_SHORT_ID)
        fast_cache.unload(WHISPER_SHORT_ID)
        long_request = lambda: transcribe.transcribe(long_file, model=WHISPER_LONG_ID, language="en")  # noqa: E731
        torch_long, ctranslate2_long = interleaved(long_request, with_cache(fast_cache, long_request),
                                                   LONG_AUDIO_RUNS)
        result = {"short_model": WHISPER_SHORT_ID, "torch_forward": torch_forward, "ctranslate2_app": ctranslate2_app,
                  "ctranslate2_tokens_per_window": tokens_per_window, "long_model": WHISPER_LONG_ID,
                  "torch_long": torch_long, "ctranslate2_long": ctranslate2_long,
                  "convert_seconds": small.model.convert_seconds, "first_load_seconds": first_load}
        fast_cache.unload_all()
        models.CACHE.unload(WHISPER_LONG_ID)
        for engine in ("torch", "ctranslate2"):
            result[f"{engine}_rss_bytes"] = loaded_rss(engine, folder)
    os.environ.pop("APP_ENGINE") if previous is None else os.environ.update({"APP_ENGINE": previous})
    models.CACHE = torch_cache
    return result


def fresh_process_cache(engine: str) -> models.ModelCache:
    """The model cache of a benchmark's fresh process on one engine ("torch" or "ctranslate2"): the real-size
    checkpoints, the benchmark's fixed lengths, CTranslate2's conversions in APP_CTRANSLATE2_CACHE."""
    os.environ["MODELS_DIR"] = str(real_size.CACHE)
    fixed_length_faster_whisper()
    if engine == "torch":
        return calls.use_fixed_length_cache()
    return ctranslate2_cache(os.environ["APP_CTRANSLATE2_CACHE"])


def loaded_rss(engine: str, cache_folder: str) -> int:
    """Resident bytes a loaded Whisper small adds to a fresh process (after one 30 s call), on one engine."""
    return fresh_process.json_of(["-m", "bench.engines", "memory", engine],
                                 {"APP_ENGINE": engine, "APP_CTRANSLATE2_CACHE": cache_folder})["model_rss_bytes"]


def memory_main(engine: str) -> None:
    """Print RSS after imports and after loading Whisper small and running one 30 s call, as JSON."""
    from bench.memory import rss_bytes

    cache = fresh_process_cache(engine)
    baseline = rss_bytes()
    with_cache(cache, lambda: transcribe.transcribe(str(calls.SPEECH_30S_FILE), model=WHISPER_SHORT_ID,
                                                    language="en"))()
    print(json.dumps({"engine": engine, "baseline_bytes": baseline, "model_rss_bytes": rss_bytes() - baseline}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["memory"]:
        memory_main(sys.argv[2])
