"""CTranslate2 against torch on the same real-size random-weight checkpoints: speed and first conversion time."""

import os
import tempfile
import time
from typing import Any

from backend import models, translate
from bench import calls
from bench.timing import interleaved

RUNS = 3
TRANSLATION_ID = "facebook/m2m100_418M"


def ctranslate2_cache(cache_folder: str) -> models.ModelCache:
    """A model cache that loads M2M100 with CTranslate2 (int8 on CPU), with the benchmark's fixed lengths."""
    os.environ.update({"APP_ENGINE": "ctranslate2", "APP_CTRANSLATE2_CACHE": cache_folder})

    def loader(spec: Any, device: Any, dtype: Any) -> tuple[Any, Any]:
        model, processor = models.load_from_pretrained(spec, device, dtype)
        # The same fixed generation length as the torch models get (calls.fix_generation_length).
        model.generation.update({"min_new_tokens": calls.NEW_TOKENS + 1, "max_new_tokens": calls.NEW_TOKENS + 1})
        return model, processor

    return models.ModelCache(loader=loader)


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
