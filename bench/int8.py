"""int8 (backend/engines/int8.py) against float32 on the same real-size random-weight checkpoints: speed in turns,
weight bytes, and how often the two choose the same output (CTC frame argmax, next generated token).

    python -m bench.int8 facebook/mms-1b-all    # one model in this fresh process; prints one JSON object

Speed: the int8 app call (the backend's transcribe / synthesize_speech) against torch float32's forward-only on
prepared inputs, ABAB. Agreement on the same inputs: for CTC models the share of 30 s frames whose best class is the
same; for XLS-R and Bark's three GPT stages the share of positions where both pick the same next token given the
same prefix (float32's own greedy output for XLS-R; random tokens for Bark's stages, teacher-forced), and for XLS-R
also the share of its 34 free-running greedy tokens that match.
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("APP_ENGINE", "torch")  # the float32 baseline; the int8 cache switches itself
os.environ.setdefault("APP_INT8_FAMILIES", "mms,wav2vec2,xls_r_translation,bark")  # Bark is opt in in the app

import torch  # noqa: E402

from backend import models  # noqa: E402
from backend.speech import ctc  # noqa: E402
from bench import calls, fresh_process, real_size  # noqa: E402
from bench.engines import with_cache  # noqa: E402
from bench.timing import interleaved  # noqa: E402

RUNS = 2  # turns per side after a warm-up each (3 for MMS-1b-all in the first run; time on a loaded machine)
IDS = ["facebook/mms-1b-all", "facebook/wav2vec2-xls-r-300m-21-to-en", "suno/bark-small",
       "facebook/wav2vec2-base-960h"]
TARGETS = {"facebook/mms-1b-all": 0.5, "facebook/wav2vec2-xls-r-300m-21-to-en": 0.5, "suno/bark-small": 0.6}
AGREEMENT_TARGET = 0.95
BARK_POSITIONS = 256  # teacher-forced positions per Bark stage


def int8_loader(spec: Any, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    """The app's loader under APP_ENGINE=auto (int8 for these models on CPU), with the benchmark's fixed lengths."""
    previous = os.environ.get("APP_ENGINE")
    os.environ["APP_ENGINE"] = "auto"
    try:
        return calls.fixed_length_loader(spec, device, dtype)
    finally:
        os.environ.pop("APP_ENGINE") if previous is None else os.environ.update({"APP_ENGINE": previous})


def share(first: torch.Tensor, second: torch.Tensor) -> float:
    """The fraction of equal elements."""
    return float((first == second).float().mean())


def ctc_agreement(plain: models.LoadedModel, quantized: models.LoadedModel) -> dict[str, float]:
    """CTC frame argmax agreement on the 30 s input."""
    features = calls.on_device(plain.processor(calls.SPEECH_30S, sampling_rate=calls.RATE, return_tensors="pt"),
                               plain)
    with torch.inference_mode():
        return {"ctc_frame_argmax": share(plain.model(**features).logits.argmax(-1),
                                          quantized.model(**features).logits.argmax(-1))}


def xls_r_agreement(plain: models.LoadedModel, quantized: models.LoadedModel) -> dict[str, float]:
    """Next-token agreement under float32's own greedy tokens, and free-running greedy token agreement."""
    bounds = ctc.window_bounds(len(calls.SPEECH_30S), ctc.XLS_R_WINDOW_SECONDS * calls.RATE)
    windows = [calls.SPEECH_30S[start:end] for start, end in bounds]
    inputs = calls.on_device(plain.processor.feature_extractor(windows, sampling_rate=calls.RATE, padding=True,
                                                               return_attention_mask=True, return_tensors="pt"), plain)
    with torch.inference_mode():
        tokens = plain.model.generate(**inputs, num_beams=1)
        free = quantized.model.generate(**inputs, num_beams=1)
        prefix = tokens[:, :-1]
        forced = share(plain.model(**inputs, decoder_input_ids=prefix).logits.argmax(-1),
                       quantized.model(**inputs, decoder_input_ids=prefix).logits.argmax(-1))
    return {"next_token_teacher_forced": forced, "free_running_tokens": share(tokens, free)}


def bark_agreement(plain: models.LoadedModel, quantized: models.LoadedModel) -> dict[str, float]:
    """Next-token agreement of each GPT stage on the same random token sequence."""
    generator = torch.Generator().manual_seed(0)
    results = {}
    with torch.inference_mode():
        for stage in ("semantic", "coarse_acoustics"):
            vocabulary = getattr(plain.model, stage).config.output_vocab_size
            ids = torch.randint(0, vocabulary, (1, BARK_POSITIONS), generator=generator)
            results[f"{stage}_next_token"] = share(getattr(plain.model, stage)(input_ids=ids).logits.argmax(-1),
                                                   getattr(quantized.model, stage)(input_ids=ids).logits.argmax(-1))
        codes = torch.randint(0, 1024, (1, BARK_POSITIONS, 8), generator=generator)
        results["fine_acoustics_codes"] = share(plain.model.fine_acoustics(2, input_ids=codes).logits.argmax(-1),
                                                quantized.model.fine_acoustics(2, input_ids=codes).logits.argmax(-1))
    return results


def agreement(model_id: str, plain: models.LoadedModel, quantized: models.LoadedModel) -> dict[str, float]:
    """The agreement figures for one model."""
    if plain.spec.family == "xls_r_translation":
        return xls_r_agreement(plain, quantized)
    if plain.spec.family == "bark":
        return bark_agreement(plain, quantized)
    return ctc_agreement(plain, quantized)


def measure(model_id: str) -> dict[str, Any]:
    """One model: float32 forward-only vs int8 app call in turns, weight bytes, agreement."""
    os.environ["MODELS_DIR"] = str(real_size.CACHE)
    calls.write_input_files()
    calls.use_fixed_length_cache()
    forward = calls.forward_only(model_id)  # loads the float32 model into the app's cache
    int8_cache = models.ModelCache(loader=int8_loader)
    quantized = int8_cache.get(model_id)
    assert models.engine_of(quantized) == ("torch", "int8"), models.engine_of(quantized)
    plain = models.CACHE.get(model_id)
    figures = agreement(model_id, plain, quantized)
    float32_forward, int8_app = interleaved(forward, with_cache(int8_cache, calls.backend_call(model_id)), RUNS)
    return {"model": model_id, "float32_forward": float32_forward.__dict__, "int8_app": int8_app.__dict__,
            "ratio": int8_app.median / float32_forward.median, "float32_bytes": plain.bytes,
            "int8_bytes": quantized.bytes, "int8_load_seconds": quantized.load_seconds,
            "float32_load_seconds": plain.load_seconds, "agreement": figures,
            "load_average": os.getloadavg()}


def int8() -> list[dict[str, Any]]:
    """Every int8 row, each model in a fresh process (for bench/run.py)."""
    return [fresh_process.json_of(["-m", "bench.int8", model_id]) for model_id in IDS if model_id in calls.IDS]


if __name__ == "__main__":
    torch.manual_seed(0)
    real_size.ensure_all([sys.argv[1]])
    print(json.dumps(measure(sys.argv[1])))


def _figure(seconds: dict[str, float]) -> Any:
    """A Figure from its JSON form."""
    from bench.timing import Figure

    return Figure(**seconds)


def target_rows(rows: list[dict[str, Any]]) -> list[tuple[str, str, str, bool]]:
    """Rows for BENCHMARKS.md's Targets table: speed per model with a target, agreement per model."""
    summary = []
    for row in rows:
        forward, app = _figure(row["float32_forward"]), _figure(row["int8_app"])
        target = TARGETS.get(row["model"])
        if target is not None:
            summary.append((f"{row['model']}: int8 app call / torch float32 forward-only", f"{app} / {forward} = "
                            f"{row['ratio']:.2f}", f"<= {target}", row["ratio"] <= target))
        worst = min(row["agreement"].values())
        measured = ", ".join(f"{name.replace('_', ' ')} {value:.3f}" for name, value in row["agreement"].items())
        summary.append((f"{row['model']}: int8 vs float32 agreement", measured, f">= {AGREEMENT_TARGET}",
                        worst >= AGREEMENT_TARGET))
    return summary


def table_rows(rows: list[dict[str, Any]]) -> str:
    """Rows for the Engines table: int8 speed and weight bytes per model."""
    lines = []
    for row in rows:
        lines += [f"| {row['model']}: app call / torch forward-only | torch int8 | "
                  f"{_figure(row['float32_forward'])} | {_figure(row['int8_app'])} | {row['ratio']:.2f} |",
                  f"| {row['model']}: weights in memory | torch int8 | {row['float32_bytes'] / 1e9:.2f} GB | "
                  f"{row['int8_bytes'] / 1e9:.2f} GB | {row['int8_bytes'] / row['float32_bytes']:.2f} |"]
    return "\n".join(lines)
