"""Inference engines other than plain transformers, for the models that spend their time in `generate`.

`APP_ENGINE` (or `python app.py --engine ...`) chooses:
- `auto` (default): CTranslate2 for the models it supports (M2M100 through `ctranslate2.Translator`, Whisper
  through faster-whisper), when the `ctranslate2` package (and for Whisper `faster-whisper`) is installed; if it
  is missing or a conversion fails, the model runs on torch, with one log line saying why.
- `torch`: every model on transformers.
- `ctranslate2`: CTranslate2 for the models it supports, and a failure to use it is an error, not a fallback.

CTranslate2 runs int8 on CPU (about 4x less weight memory and several times faster than fp32 there) and
int8_float16 on CUDA; `APP_CTRANSLATE2_COMPUTE_TYPE` overrides that (the tests use float32 to compare tokens).

The speech models CTranslate2 cannot convert (wav2vec2, MMS-1b-all, XLS-R 21-to-en) get int8 Linear weights on torch
instead (backend/engines/int8.py) on CPU under any setting but `torch`; Bark too when APP_INT8_FAMILIES names it
(it is opt in: see int8.py); GPUs keep fp16/bf16.
"""

import importlib.util
import os

from backend.catalog import ModelSpec

ENGINES = ("auto", "torch", "ctranslate2")
# Catalog families CTranslate2 runs here.
CTRANSLATE2_FAMILIES = frozenset({"m2m100", "whisper"})
# Python packages each family needs besides ctranslate2 on that path.
FRONT_ENDS = {"whisper": "faster_whisper"}


def engine_setting() -> str:
    """APP_ENGINE, checked: auto, torch or ctranslate2."""
    setting = os.environ.get("APP_ENGINE", "auto").strip().lower() or "auto"
    if setting not in ENGINES:
        raise ValueError(f"APP_ENGINE={setting!r} is not an engine; use one of {', '.join(ENGINES)}.")
    return setting


def ctranslate2_installed(family: str = "") -> bool:
    """Whether the ctranslate2 package (and the family's front end, e.g. faster_whisper) can be imported."""
    front_end = FRONT_ENDS.get(family)
    return importlib.util.find_spec("ctranslate2") is not None and (
        front_end is None or importlib.util.find_spec(front_end) is not None)


def wants_int8(spec: ModelSpec, device_type: str) -> bool:
    """Whether this model gets int8 Linear weights on torch (backend/engines/int8.py) under the current setting."""
    from backend.engines import int8

    return (engine_setting() != "torch" and device_type == "cpu" and spec.family in int8.int8_families()
            and int8.available())


def wants_ctranslate2(spec: ModelSpec) -> bool:
    """Whether this model should run on CTranslate2 under the current setting."""
    setting = engine_setting()
    return setting != "torch" and spec.family in CTRANSLATE2_FAMILIES and (
        setting == "ctranslate2" or ctranslate2_installed(spec.family))
