"""Benchmarks of the backend against baselines in the same process and run; writes BENCHMARKS.md.

    python -m bench.run            # about 15 minutes on 2 CPU cores, the first run also builds bench/.cache/

Every figure is the median of RUNS timed calls (after one warm-up), reported with min and max, and every result
is a ratio against a baseline measured in this run: forward-only (the model's own forward/generate on prepared
tensors) and naive (a transformers pipeline, or from_pretrained + generate, created inside every request).
Generation lengths are fixed (min = max new tokens) so runs compare. Not a test: nothing here asserts a time.
"""

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from backend import classify_image, detect_objects, estimate_depth, models, synthesize_speech, transcribe, translate  # noqa: E402
from bench import real_size  # noqa: E402

RUNS = 3
NEW_TOKENS = 34  # fixed generation length for M2M100 (5 beams) and Whisper
LABELS = ["a cat", "a dog", "a car"]
PHOTO = Image.open(ROOT / "assets" / "images" / "chelsea.jpg").convert("RGB").resize((640, 480))
SPEECH_30S = np.random.default_rng(0).normal(0, 0.1, 30 * 16_000).astype(np.float32)  # noise: the models are random
TEXT = "The museum opens at nine in the morning and closes at six in the evening."
IDS = list(real_size.BUILDERS)


def timed(function: Callable[[], object], runs: int = RUNS) -> tuple[float, float, float]:
    """(median, min, max) seconds of `runs` calls after one warm-up call."""
    function()
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), min(seconds), max(seconds)


def fmt(figure: tuple[float, float, float]) -> str:
    """"1.23 s (1.20-1.30)"."""
    median, low, high = figure
    return f"{median:.3f} s ({low:.3f}-{high:.3f})"


def fix_generation_length(loaded: models.LoadedModel) -> None:
    """Make every generate call of a random model produce exactly NEW_TOKENS tokens."""
    loaded.model.generation_config.min_new_tokens = NEW_TOKENS
    loaded.model.generation_config.max_new_tokens = NEW_TOKENS


def forward_only(model_id: str) -> Callable[[], object]:
    """The model's own call on inputs prepared once: the floor any app can reach."""
    loaded = models.get(model_id)
    model, processor = loaded.model, loaded.processor
    if model_id == "openai/clip-vit-large-patch14":
        inputs = processor(text=[f"a photo of {label}." for label in LABELS], images=PHOTO, return_tensors="pt",
                           padding=True)
        return lambda: model(**inputs)
    if model_id == "google/owlvit-base-patch32":
        inputs = processor(text=[LABELS], images=PHOTO, return_tensors="pt")
        return lambda: model(**inputs)
    if model_id in ("facebook/detr-resnet-50", "vinvino02/glpn-nyu"):
        inputs = processor(images=PHOTO, return_tensors="pt")
        return lambda: model(**inputs)
    if model_id == "facebook/m2m100_418M":
        processor.src_lang = "en"
        inputs = processor(TEXT, return_tensors="pt")
        return lambda: model.generate(**inputs, forced_bos_token_id=processor.get_lang_id("fr"),
                                      min_new_tokens=NEW_TOKENS, max_new_tokens=NEW_TOKENS)
    if model_id == "openai/whisper-base":
        features = processor.feature_extractor(SPEECH_30S, sampling_rate=16_000, return_tensors="pt")
        return lambda: model.generate(features.input_features, language="en", task="transcribe",
                                      min_new_tokens=NEW_TOKENS, max_new_tokens=NEW_TOKENS)
    if model_id == "facebook/wav2vec2-base-960h":
        inputs = processor(SPEECH_30S, sampling_rate=16_000, return_tensors="pt")
        return lambda: model(**inputs)
    inputs = processor(TEXT, return_tensors="pt")  # MMS-TTS
    return lambda: model(**inputs)


def backend_call(model_id: str) -> Callable[[], object]:
    """Our task function, as a request runs it (the model already loaded)."""
    calls = {
        "openai/clip-vit-large-patch14": lambda: classify_image.classify_image(
            PHOTO, [f"{label} {time.perf_counter_ns()}" for label in LABELS], model=model_id),  # new labels: no cache
        "facebook/detr-resnet-50": lambda: detect_objects.detect_objects(PHOTO, model=model_id),
        "google/owlvit-base-patch32": lambda: detect_objects.detect_objects(PHOTO, LABELS, model=model_id),
        "vinvino02/glpn-nyu": lambda: estimate_depth.estimate_depth(PHOTO, model=model_id),
        "facebook/m2m100_418M": lambda: translate.translate(TEXT, "en", "fr", model=model_id),
        "openai/whisper-base": lambda: transcribe.transcribe((16_000, SPEECH_30S), model=model_id, language="en"),
        "facebook/wav2vec2-base-960h": lambda: transcribe.transcribe((16_000, SPEECH_30S), model=model_id),
        "facebook/mms-tts-eng": lambda: synthesize_speech.synthesize_speech(TEXT, model=model_id),
    }
    return calls[model_id]


def naive_call(model_id: str) -> Callable[[], object]:
    """The naive app: a pipeline (or from_pretrained + generate) built inside every request."""
    from transformers import AutoModelForSeq2SeqLM, AutoTokenizer, pipeline

    folder = str(real_size.CACHE / model_id)
    options = {"model_kwargs": {"use_safetensors": True}}
    if model_id == "openai/clip-vit-large-patch14":
        return lambda: pipeline("zero-shot-image-classification", model=folder, **options)(
            PHOTO, candidate_labels=LABELS)
    if model_id == "facebook/detr-resnet-50":
        return lambda: pipeline("object-detection", model=folder, **options)(PHOTO)
    if model_id == "google/owlvit-base-patch32":
        return lambda: pipeline("zero-shot-object-detection", model=folder, **options)(PHOTO, candidate_labels=LABELS)
    if model_id == "vinvino02/glpn-nyu":
        return lambda: pipeline("depth-estimation", model=folder, **options)(PHOTO)
    if model_id == "facebook/m2m100_418M":
        def translate_naively() -> object:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            model = AutoModelForSeq2SeqLM.from_pretrained(folder, use_safetensors=True, dtype=torch.float32)
            tokenizer.src_lang = "en"
            return model.generate(**tokenizer(TEXT, return_tensors="pt"), forced_bos_token_id=tokenizer.get_lang_id(
                "fr"), min_new_tokens=NEW_TOKENS, max_new_tokens=NEW_TOKENS)
        return translate_naively
    if model_id == "openai/whisper-base":
        return lambda: pipeline("automatic-speech-recognition", model=folder, **options)(
            {"raw": SPEECH_30S, "sampling_rate": 16_000},
            generate_kwargs={"language": "en", "min_new_tokens": NEW_TOKENS, "max_new_tokens": NEW_TOKENS})
    if model_id == "facebook/wav2vec2-base-960h":
        return lambda: pipeline("automatic-speech-recognition", model=folder, **options)(
            {"raw": SPEECH_30S, "sampling_rate": 16_000})
    return lambda: pipeline("text-to-speech", model=folder, **options)(TEXT)


def matmul_peak() -> float:
    """Measured fp32 matmul FLOP/s on this machine (4096x4096, best of 3)."""
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    torch.mm(a, b)
    fastest = timed(lambda: torch.mm(a, b))[1]
    return 2 * 4096**3 / fastest


def clip_image_flops_per_second() -> float:
    """Achieved FLOP/s of CLIP-L's image encoder on one 224x224 image."""
    from torch.utils.flop_counter import FlopCounterMode

    loaded = models.get("openai/clip-vit-large-patch14")
    pixels = loaded.processor.image_processor(images=PHOTO, return_tensors="pt")["pixel_values"]
    with torch.inference_mode():
        counter = FlopCounterMode(display=False)
        with counter:
            loaded.model.get_image_features(pixel_values=pixels)
        seconds = timed(lambda: loaded.model.get_image_features(pixel_values=pixels))[0]
    return counter.get_total_flops() / seconds


def main() -> None:
    """Run every benchmark and write BENCHMARKS.md."""
    os.environ["MODELS_DIR"] = str(real_size.ensure_all(IDS))
    torch.set_num_threads(os.cpu_count() or 1)
    rows: list[str] = []
    rows_naive: list[str] = []
    with torch.inference_mode():
        for model_id in IDS:
            loaded = models.get(model_id)
            if model_id in ("facebook/m2m100_418M", "openai/whisper-base"):
                fix_generation_length(loaded)
                translate.MAX_TRANSLATION_NEW_TOKENS = NEW_TOKENS
                transcribe.MAX_TRANSCRIPTION_NEW_TOKENS = NEW_TOKENS
            floor = timed(forward_only(model_id))
            ours = timed(backend_call(model_id))
            print(model_id, fmt(floor), fmt(ours), flush=True)
            rows.append(f"| {model_id} | {fmt(floor)} | {fmt(ours)} | {ours[0] / floor[0]:.2f} |")
            naive = timed(naive_call(model_id), runs=2)
            rows_naive.append(f"| {model_id} | {fmt(naive)} | {naive[0] / ours[0]:.2f} | {naive[0] / floor[0]:.2f} |")
            print(model_id, "naive", fmt(naive), flush=True)
        peak = matmul_peak()
        achieved = clip_image_flops_per_second()
        loaded = models.get("openai/clip-vit-large-patch14")
        labels = [f"label number {number}" for number in range(50)]
        inputs = loaded.processor(text=[f"a photo of {label}." for label in labels], images=PHOTO,
                                  return_tensors="pt", padding=True)
        full = timed(lambda: loaded.model(**inputs))
        cached = timed(lambda: classify_image.classify_image(PHOTO, labels, model="openai/clip-vit-large-patch14"))
    write_report(rows, rows_naive, peak, achieved, full, cached)


def write_report(rows: list[str], rows_naive: list[str], peak: float, achieved: float,
                 full: tuple[float, float, float], cached: tuple[float, float, float]) -> None:
    """BENCHMARKS.md from the figures of this run."""
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
               f"with {torch.get_num_threads()} threads, device {models.CACHE.device}, dtype {models.CACHE.dtype}")
    text = f"""# Benchmarks

Produced by `python -m bench.run` on {time.strftime('%Y-%m-%d')}: {machine}. Real architectures at real size
with random weights (`bench/real_size.py`), loaded through the real `from_pretrained` path from `bench/.cache/`.
Each figure: median of {RUNS} calls after a warm-up (min-max in brackets); naive: median of 2. Generation
lengths fixed at {NEW_TOKENS} new tokens (M2M100 with its 5 beams, Whisper). Inputs: a 640x480 photo, 30 s of
16 kHz audio, a 74-character sentence.

## Warm backend call vs forward-only

Target: <= 1.10 for vision (CLIP-L, DETR, OWL-ViT, GLPN), <= 1.20 for speech and translation. The backend call
includes decoding and checking the input, pre- and post-processing; forward-only is the model on tensors
prepared once. CLIP-L is measured with new labels each call (no text-embedding cache).

| model | forward-only | warm backend call | ratio |
|---|---|---|---|
{chr(10).join(rows)}

Reading these figures: forward-only and the backend call are timed one after the other, not interleaved, and
this 2-core virtual machine drifts by 10-20 % between minutes, so ratios below 1.0 (DETR, GLPN, wav2vec2) are
drift, not the backend beating the model. MMS-TTS output length depends on its sampling noise (the backend seeds
it, the baseline does not), so its row compares unequal work. Interleaving the two (ABAB) is the next fix.

## Naive app vs warm backend

A pipeline (M2M100: from_pretrained + generate) built inside every request, on the same files.

| model | naive | naive / warm backend | naive / forward-only |
|---|---|---|---|
{chr(10).join(rows_naive)}

## Compute efficiency and caches

| figure | measured | target |
|---|---|---|
| CLIP-L image encoder: achieved / fp32 matmul peak | {achieved / 1e9:.0f} / {peak / 1e9:.0f} GFLOP/s = {
    achieved / peak:.2f} | >= 0.6 |
| zero-shot, same 50 labels again: forward-only image+text / ours (text cache) | {fmt(full)} / {
    fmt(cached)} = {full[0] / cached[0]:.2f} | >= 1.3 |

## Not measured yet

Cycling all six tasks (one-at-a-time cache vs ours), cold load vs disk bandwidth, 4 concurrent HTTP clients vs
sequential, HTTP round trip vs direct call, resident memory under a budget, Whisper-base on 5 minutes batched vs
one window at a time, and Whisper-small and Bark-small rows: the harness does not cover them yet.
"""
    (ROOT / "BENCHMARKS.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
