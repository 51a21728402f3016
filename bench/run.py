"""Benchmarks of the backend and the app against baselines measured in the same run; writes BENCHMARKS.md.

    python -m bench.run                     # everything, about 45 minutes on 2 CPU cores; writes BENCHMARKS.md
    python -m bench.run --only cycle,http   # some sections, printed only (for working on one of them)
    python -m bench.run --only warm,cold --models google/vit-base-patch16-224   # some models' rows, printed only
    python -m bench.run --report            # BENCHMARKS.md again from the last full run's saved figures
    python -m bench.run --only ray          # the Ray Serve backend (needs ray: requirements-ray.txt), printed only

The first run builds real-size random-weight checkpoints into bench/.cache/ (bench/real_size.py). Every figure
is a median of several runs with min and max, and every result is a ratio against a baseline measured in this
run. Not a test: nothing here asserts a time.
"""

import argparse
import importlib.util
import os
import pickle
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("APP_ENGINE", "torch")  # the torch rows; the engines section switches to CTranslate2 itself

import torch  # noqa: E402

from backend import models  # noqa: E402
from backend.speech import whisper  # noqa: E402
from bench import allocator, calls, engines, fresh_process, images, real_size, serving, streaming, system, vision_http  # noqa: E402
from bench import int8 as int8_bench  # noqa: E402
from bench.timing import Figure, interleaved, timed  # noqa: E402

RUNS = 3  # timed runs per figure
NAIVE_RUNS = 2  # the naive app loads the model in every call: fewer runs
# Bark small: reported, no target.
SPEECH_AND_TEXT_IDS = ["facebook/m2m100_418M", "FacebookAI/xlm-roberta-base", "openai/whisper-base",
                       "openai/whisper-small", "facebook/wav2vec2-base-960h", "facebook/mms-1b-all",
                       "facebook/wav2vec2-xls-r-300m-21-to-en", "facebook/mms-tts-eng"]
TARGETS = {"vision": 1.10, "speech": 1.20, "documents": 1.20}
RESULTS_FILE = real_size.CACHE / "results.pickle"  # the last full run's figures, for --report


# Why a target row missed, by the start of its name: written from what the runs of 2026-11-24 showed.
WHY_MISSED = {
    "cycling six tasks": (
        "Reloading is cheap while the files sit in the page cache: transformers 5 maps safetensors weights "
        "instead of reading them, so the one-model cache pays well under a second per reload, while the six "
        "model calls, which both caches pay, take most of the cycle. This machine's 24 GB page cache holds every "
        "checkpoint. Nothing in our cache can make the baseline's reloads dearer; the ratio grows where a reload "
        "really reads the disk (a cold load costs about one read of the files, see Loading) or copies weights to "
        "a GPU."),
    f"{serving.CLIENTS} concurrent HTTP clients / sequential, throughput, not batched": (
        "Requests to this task run one at a time by design, so the best possible ratio is 1.0; the HTTP, queue "
        "and file work of four clients shares the same 2 cores as the model. The first full run of 2026-12-01 "
        "gave 1.05 for the same measurement, so the miss is within this machine's run-to-run spread. What would close "
        "it: batching this task too, or a machine with cores to spare for the web server."),
    "API call - the backend's work in it": (
        "Each request's wall time minus the backend's own seconds inside it (bench/serving.py). The streaming "
        "endpoint the page uses still encodes its stream chunk and computes gradio's diff between a streaming "
        "handler's outputs for every caller; programs should call /synthesize_speech_wav, as the OpenAI route does. "
        "gradio_client asks for a job's result every 50 ms and uploads/downloads in separate steps, so it adds "
        "50-100 ms to whatever the server does; the REST rows show the server's part. Until 2026-12-07 every audio "
        "output also cost about 100 ms for gradio's ffprobe run on the file, now skipped for the app's own WAV files "
        "(demos/wav_audio.py). What would close the gradio_client rows: a client that waits on the event stream "
        "instead of polling (the JavaScript client does)."),
    "warm backend call / forward-only, vision": (
        "Two rows miss in the full run of 2026-12-01 18:07. GLPN (1.20) is this machine's noise: its forward "
        "runs took 1.405, 1.412 and 1.744 s and its backend calls 1.384, 1.693 and 1.721 s, the same two speeds "
        "on both sides, and a rerun of the row alone (`--only warm --models vinvino02/glpn-nyu`) gave 1.402 s "
        "against 1.407 s = 1.00; it was 1.02 in the runs before. SegFormer-B0 (1.19) is "
        "systematic: it is a 3.8M-parameter model whose forward pass takes about 0.3 s here, so 10 % is 30 ms, and "
        "its processor alone (resize to 512x512, normalize) takes 13 ms. The rest is the exact label map at the "
        "input resolution: with random weights the 150 class scores are nearly flat (the best two a median 0.008 "
        "apart), so about half of the logit cells lie on a class boundary and are interpolated per pixel (33 ms "
        "here). A trained model's scores are several logits apart and its boundary cells are a few per cent of the "
        "grid. Through HTTP, where the target allows 0.1 s more, the same model meets its limit (Vision through "
        "HTTP). What would close it: measuring on trained weights (no network here), or a label map computed on "
        "the GPU."),
    "vision app call over HTTP": (
        "DETR-ResNet-50 (800x1066 input) has now and then an app call about 0.5 s slower than the others (one in "
        "three in some runs, none in others; a rerun of this section alone gave 1.935 s against 1.967 s "
        "forward-only). Its median follows whenever two of the turns are slow. What would close it: finding "
        "where those calls wait (allocation of DETR's large activations in a gradio worker thread is the guess, "
        "not yet confirmed)."),
    "Whisper small, 30 s": (
        "All of the CTranslate2 call is the model. oneDNN's own log (ONEDNN_VERBOSE=1) shows where: its int8 "
        "matrix products already use this AMD EPYC's AVX-512 VNNI instructions (CTranslate2's AVX2 choice is for "
        "its own element-wise kernels), and the encoder's fp32 attention products, 1500x1500 per head, take more "
        "than half of the encoder. Page faults on buffers glibc had handed back cost another 0.8 s per call until "
        "backend/allocator.py (Memory allocator). Intel MKL (CT2_USE_MKL=1) was five times slower on this CPU. "
        "What would close a miss: CTranslate2 attention that does not write the whole score matrix (flash "
        "attention is CUDA-only in CTranslate2 4.8)."),
    "resident memory above": (
        "The cache's own accounting stays under the budget (the most model bytes held at once is under Memory), "
        "but resident memory also holds each call's activations and the free memory the allocator keeps for the "
        "next call (backend/allocator.py turns glibc's automatic trimming off and trims when a model is "
        "unloaded); which of these makes the peak is not measured yet. What would close it: find what stays "
        "resident after an unload (RSS before a load and after its unload), then count activations in the "
        "budget, or run models in a worker process that is restarted when it passes the budget."),
}


def target_of(model_id: str) -> float | None:
    """The warm/forward-only target of a model's row, None when the row is reported without one."""
    if model_id in calls.VISION_IDS:
        return TARGETS["vision"]
    if model_id in calls.OCR_IDS:
        return TARGETS["documents"]
    return TARGETS["speech"] if model_id in SPEECH_AND_TEXT_IDS else None


def warm_rows() -> list[dict[str, Any]]:
    """Per model: forward-only and warm backend call in turns, then the naive app."""
    rows = []
    for model_id in calls.IDS:
        floor, ours = interleaved(calls.forward_only(model_id), calls.backend_call(model_id), RUNS)
        naive = timed(calls.naive_call(model_id), NAIVE_RUNS)
        rows.append({"model": model_id, "forward": floor, "ours": ours, "naive": naive})
        if model_id in calls.OCR_IDS:  # Tesseract, apart from the model rows (see calls.OCR_IDS)
            rows[-1]["ocr"] = timed(calls.ocr_call(), RUNS)
        print(model_id, floor, ours, naive, rows[-1].get("ocr", ""), flush=True)
        models.unload(model_id)  # the next models get the memory
    return rows


def adapter_switch() -> dict[str, Figure]:
    """MMS-1b-all: French in and English back, first from the adapter files, then from the weights kept in memory."""
    if "facebook/mms-1b-all" not in calls.IDS:
        return {}
    loaded = models.get("facebook/mms-1b-all")
    first = timed(calls.adapter_switch("fra"), 1, warm_up=False)  # reads adapter.fra.safetensors (then kept)
    kept = timed(calls.adapter_switch("fra"), RUNS)
    loaded.memo.clear()  # the files again, as for a language never used before
    loaded.memo["mms_language"] = "eng"
    files = timed(lambda: [calls.adapter_switch("fra")(), loaded.memo.clear(),
                           loaded.memo.update(mms_language="eng")], RUNS)
    models.unload("facebook/mms-1b-all")
    return {"first": first, "from files": files, "kept in memory": kept}


def matmul_peak() -> float:
    """Measured matmul FLOP/s on the models' device and dtype (4096x4096, best of 3; fp32 on CPU)."""
    a, b = (torch.randn(4096, 4096, device=models.CACHE.device, dtype=models.CACHE.dtype) for _ in range(2))
    return 2 * 4096**3 / timed(lambda: torch.mm(a, b), RUNS).low


def clip_image_flops_per_second() -> float:
    """Achieved FLOP/s of CLIP-L's image encoder on one 224x224 image (median time)."""
    from torch.utils.flop_counter import FlopCounterMode

    loaded = models.get("openai/clip-vit-large-patch14")
    pixels = calls.on_device(loaded.processor.image_processor(images=calls.PHOTO, return_tensors="pt"),
                             loaded)["pixel_values"]
    with torch.inference_mode():
        counter = FlopCounterMode(display=False)
        with counter:
            loaded.model.get_image_features(pixel_values=pixels)
        seconds = timed(lambda: loaded.model.get_image_features(pixel_values=pixels), RUNS).median
    return counter.get_total_flops() / seconds


def label_cache() -> tuple[Figure, Figure]:
    """Zero-shot with the same 50 labels again: the model on image and all 50 prompts, vs ours (prompts cached)."""
    model_id = "openai/clip-vit-large-patch14"
    loaded = models.get(model_id)
    labels = [f"label number {number}" for number in range(50)]
    inputs = calls.on_device(loaded.processor(text=[f"a photo of {label}." for label in labels], images=calls.PHOTO,
                                              return_tensors="pt", padding=True), loaded)

    def full() -> object:
        with torch.inference_mode():
            return loaded.model(**inputs)

    return interleaved(full, calls.backend_call(model_id, labels=lambda: labels), RUNS)


def efficiency() -> dict[str, Any]:
    """CLIP-L FLOP/s against the matmul peak, and the label cache."""
    peak, achieved = matmul_peak(), clip_image_flops_per_second()
    full, cached = label_cache()
    models.unload_all()
    return {"peak": peak, "achieved": achieved, "full": full, "cached": cached}


def cold_loads() -> list[dict[str, Any]]:
    """Cold load vs cold read of the same files, per model."""
    rows = []
    for model_id in system.COLD_IDS:
        size, read, load = system.cold_load(model_id)
        rows.append({"model": model_id, "bytes": size, "read": read, "load": load})
        print(model_id, size, read, load, flush=True)
    return rows


def http() -> dict[str, Any]:
    """Round trip and concurrency through the launched app."""
    url = serving.launch_app()
    try:
        round_trip = serving.round_trip(url)
        translate_sequential, translate_concurrent = serving.concurrency(url, serving.translation_request)
        speech_sequential, speech_concurrent = serving.concurrency(url, serving.speech_request)
    finally:
        serving.close_app()
    models.unload_all()
    return {**round_trip, "translate": (translate_sequential, translate_concurrent),
            "speech": (speech_sequential, speech_concurrent)}


def ray_section() -> dict[str, Any]:
    """The Ray Serve figures (bench/ray_serve.py), on the real-size MMS-TTS only; its rows printed."""
    from bench import ray_serve

    models.unload_all()  # the replicas get the memory and the cores
    os.environ["MODELS_DIR"] = str(real_size.ensure_all([ray_serve.MODEL]))
    threads = torch.get_num_threads()
    try:
        figures = ray_serve.ray_serve()
    finally:
        torch.set_num_threads(threads)  # its local baseline runs on one thread, as one replica does
    for name, value in ray_serve.rows(figures):
        print(f"{name}: {value}", flush=True)
    return figures


def memory() -> dict[str, Any]:
    """RSS cycling the six tasks under a budget, in a fresh process."""
    models.unload_all()
    return fresh_process.json_of(["-m", "bench.memory"])


SECTIONS: dict[str, Callable[[], Any]] = {
    "warm": warm_rows,
    "adapter_switch": adapter_switch,
    "efficiency": efficiency,
    "cycle": system.cycle_six_tasks,
    "cold": cold_loads,
    "long_audio": system.long_audio,
    "http": http,
    "vision_http": vision_http.vision_http,
    "memory": memory,
    "engines": engines.engines,
    "int8": int8_bench.int8,
    "allocator": allocator.allocator,
    "streaming": streaming.speech_first_audio,
    "images": images.images,
}
# Ray Serve is an optional dependency (requirements-ray.txt): its section is part of the full run where installed.
OPTIONAL_SECTIONS: dict[str, Callable[[], Any]] = {"ray": ray_section}
if importlib.util.find_spec("ray") is not None:
    SECTIONS.update(OPTIONAL_SECTIONS)
# Sections that need only some of the real-size checkpoints.
SECTION_MODELS = {"streaming": [streaming.MODEL], "allocator": list(allocator.MODELS), "images": images.MODELS}


def main() -> None:
    """Run the chosen sections; with all of them, write BENCHMARKS.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS),
                        help=f"comma-separated sections of {list(SECTIONS) + list(OPTIONAL_SECTIONS)}")
    parser.add_argument("--models", default="",
                        help="comma-separated catalog ids: their warm, cold, engines, adapter_switch, vision_http, "
                             "allocator rows")
    parser.add_argument("--report", action="store_true",
                        help="rewrite BENCHMARKS.md from the results of the last full run, measuring nothing")
    arguments = parser.parse_args()
    if arguments.report:
        with RESULTS_FILE.open("rb") as file:
            (ROOT / "BENCHMARKS.md").write_text(report(pickle.load(file)))
        return
    chosen = arguments.only.split(",")
    if arguments.models:  # a partial run: only these models' rows, and nothing written
        chosen_ids = arguments.models.split(",")
        calls.IDS[:] = [model_id for model_id in calls.IDS if model_id in chosen_ids]
        system.COLD_IDS[:] = [model_id for model_id in system.COLD_IDS if model_id in chosen_ids]
        chosen = [name for name in chosen
                  if name in ("warm", "cold", "engines", "int8", "adapter_switch", "vision_http", "allocator")]
    results: dict[str, Any] = {}
    needed = calls.IDS
    if all(name in SECTION_MODELS for name in chosen):  # e.g. --only streaming: build only its checkpoint
        needed = [model_id for name in chosen for model_id in SECTION_MODELS[name]]
    if any(name in SECTIONS for name in chosen):
        os.environ["MODELS_DIR"] = str(real_size.ensure_all(needed))
        calls.write_input_files()
        calls.use_fixed_length_cache()
    for name in chosen:
        started = time.perf_counter()
        results[name] = {**SECTIONS, **OPTIONAL_SECTIONS}[name]()
        print(f"== {name}: {time.perf_counter() - started:.0f} s", results[name], flush=True)
    if chosen == list(SECTIONS):
        with RESULTS_FILE.open("wb") as file:
            pickle.dump(results, file)
        (ROOT / "BENCHMARKS.md").write_text(report(results))
        print("wrote BENCHMARKS.md")


def verdict(met: bool) -> str:
    """The last column of a target row."""
    return "met" if met else "**missed**"


def ray_serve_clients() -> int:
    """The concurrent clients of the Ray throughput row."""
    from bench import ray_serve

    return ray_serve.CLIENTS


def ray_serve_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The Ray section's rows, as bench/ray_serve.py words them."""
    from bench import ray_serve

    return ray_serve.rows(results)


def engine_table(engines: dict[str, Any]) -> str:
    """The Engines section's rows: speed, memory and first conversion, per engine-backed model."""
    lines = []
    if "translation" in engines:
        rows = engines["translation"]
        lines += [
            f"| {rows['model']}, 34 tokens, 5 beams: app call / torch forward-only | CTranslate2 int8 | "
            f"{rows['torch_forward']} | {rows['ctranslate2_app']} | "
            f"{rows['ctranslate2_app'].median / rows['torch_forward'].median:.2f} |",
            f"| {rows['model']}: weights in memory | CTranslate2 int8 | {rows['torch_bytes'] / 1e9:.2f} GB | "
            f"{rows['ctranslate2_bytes'] / 1e9:.2f} GB | {rows['ctranslate2_bytes'] / rows['torch_bytes']:.2f} |",
            f"| {rows['model']}: first conversion (first load with it) | CTranslate2 int8 | | "
            f"{rows['convert_seconds']:.1f} s ({rows['first_load_seconds']:.1f} s) | |",
        ]
    if "whisper" in engines:
        rows = engines["whisper"]
        lines += [
            f"| {rows['short_model']}, 30 s: app call / torch forward-only ({rows['ctranslate2_tokens_per_window']:.0f}"
            f" tokens decoded against {calls.NEW_TOKENS}) | CTranslate2 int8 | {rows['torch_forward']} | "
            f"{rows['ctranslate2_app']} | {rows['ctranslate2_app'].median / rows['torch_forward'].median:.2f} |",
            f"| {rows['long_model']}, 5 min, batched windows: app call on each engine | CTranslate2 int8 | "
            f"{rows['torch_long']} | {rows['ctranslate2_long']} | "
            f"{rows['ctranslate2_long'].median / rows['torch_long'].median:.2f} |",
            f"| {rows['short_model']}: resident memory once loaded | CTranslate2 int8 | "
            f"{rows['torch_rss_bytes'] / 1e6:.0f} MB | {rows['ctranslate2_rss_bytes'] / 1e6:.0f} MB | "
            f"{rows['ctranslate2_rss_bytes'] / rows['torch_rss_bytes']:.2f} |",
            f"| {rows['short_model']}: first conversion (first load with it) | CTranslate2 int8 | | "
            f"{rows['convert_seconds']:.1f} s ({rows['first_load_seconds']:.1f} s) | |",
        ]
    return "\n".join(lines) if lines else "| not measured in this run | | | | |"


def allocator_table(rows: dict[str, Any]) -> str:
    """The Memory allocator section's rows: per model, glibc's defaults against our settings."""
    lines = []
    for model_id, row in rows.items():
        default, tuned = row["default"], row["tuned"]
        lines.append(
            f"| {model_id} | {row['engine']} | {default['seconds']} | {tuned['seconds']} | "
            f"{tuned['seconds'].median / default['seconds'].median:.2f} | "
            f"{statistics.median(default['faults']):,.0f} / {statistics.median(tuned['faults']):,.0f} | "
            f"{default['rss_bytes'] / 1e6:.0f} / {tuned['rss_bytes'] / 1e6:.0f} MB |")
    return "\n".join(lines) if lines else "| not measured in this run | | | | | | |"


def report(results: dict[str, Any]) -> str:
    """BENCHMARKS.md from the results of every section."""
    from bench import memory as memory_bench

    warm = results["warm"]
    vision = [row for row in warm if row["model"] in calls.VISION_IDS]
    speech = [row for row in warm if row["model"] in SPEECH_AND_TEXT_IDS]
    worst_vision = max(vision, key=lambda row: row["ours"].median / row["forward"].median)
    worst_speech = max(speech, key=lambda row: row["ours"].median / row["forward"].median)
    one_at_a_time, ours_cycle = results["cycle"]
    cold = results["cold"]
    # The <= 2 target is the first tasks' (2026-11-24); the newer systems' cold rows are reported (see Loading).
    worst_cold = max((row for row in cold if row["model"] in system.COLD_TARGET_IDS),
                     key=lambda row: row["load"].median / row["read"].median)
    batched_windows_off, batched_windows_on = results["long_audio"]
    served = results["http"]
    memory_figures = results["memory"]
    efficiency_figures = results["efficiency"]
    first_audio = results["streaming"]
    gib = 1024**3

    def ratio(row: dict[str, Any]) -> float:
        return row["ours"].median / row["forward"].median

    def over_http(row: dict[str, Any]) -> float:
        """A vision HTTP row's app call as a fraction of its limit, 1.10 x forward-only + 0.1 s."""
        limit = vision_http.TARGET_RATIO * row["forward"].median + vision_http.TARGET_SLACK_SECONDS
        return row["app"].median / limit

    documents = [row for row in warm if row["model"] in calls.OCR_IDS]
    http_rows = results["vision_http"]
    http_groups = {"the first six tasks' models": vision_http.FIRST_SIX_TASKS_IDS,
                   "the new vision models": [row["model"] for row in http_rows
                                             if row["model"] not in vision_http.FIRST_SIX_TASKS_IDS]}
    http_worst = [(group, max((row for row in http_rows if row["model"] in ids), key=over_http))
                  for group, ids in http_groups.items() if any(row["model"] in ids for row in http_rows)]

    def throughput(task: str) -> float:
        sequential, concurrent = served[task]
        return sequential.median / concurrent.median

    def overhead(way: str) -> float:
        """Milliseconds a call costs beyond the backend's work in it (median of the turns)."""
        return served[way].median * 1000

    over_baseline = memory_figures["peak_bytes"] - memory_figures["baseline_bytes"]
    growth = memory_figures["after_last_call_bytes"] / memory_figures["after_first_two_cycles_bytes"] - 1
    summary = [
        ("warm backend call / forward-only, vision (worst: " + worst_vision["model"] + ")",
         f"{ratio(worst_vision):.2f}", "<= 1.10", ratio(worst_vision) <= 1.10),
        ("warm backend call / forward-only, speech and translation (worst: " + worst_speech["model"] + ")",
         f"{ratio(worst_speech):.2f}", "<= 1.20", ratio(worst_speech) <= 1.20),
        *[("warm backend call / forward-only, documents (" + row["model"] + ", OCR apart)",
           f"{ratio(row):.2f}", "<= 1.20", ratio(row) <= 1.20) for row in documents],
        *[(f"vision app call over HTTP / forward-only ({group}; worst: {worst['model']})",
           f"{worst['app'].median:.3f} s against {worst['forward'].median:.3f} s = {over_http(worst):.2f} of "
           "the limit", "<= 1.10 x forward + 0.1 s", over_http(worst) <= 1) for group, worst in http_worst],
        ("cycling six tasks: one-at-a-time cache / ours",
         f"{one_at_a_time} / {ours_cycle} = {one_at_a_time.median / ours_cycle.median:.2f}", ">= 1.3",
         one_at_a_time.median / ours_cycle.median >= 1.3),
        ("cold load / cold read of the same bytes, the first tasks' models (worst: " + worst_cold["model"] + ")",
         f"{worst_cold['load'].median / worst_cold['read'].median:.2f}", "<= 2",
         worst_cold["load"].median / worst_cold["read"].median <= 2),
        (f"CLIP-L image encoder: achieved / {str(models.CACHE.dtype).removeprefix('torch.')} matmul peak",
         f"{efficiency_figures['achieved'] / 1e9:.0f} / {efficiency_figures['peak'] / 1e9:.0f} GFLOP/s = "
         f"{efficiency_figures['achieved'] / efficiency_figures['peak']:.2f}", ">= 0.6",
         efficiency_figures["achieved"] / efficiency_figures["peak"] >= 0.6),
        ("zero-shot, same 50 labels again: forward-only image+text / ours",
         f"{efficiency_figures['full']} / {efficiency_figures['cached']} = "
         f"{efficiency_figures['full'].median / efficiency_figures['cached'].median:.2f}", ">= 1.3",
         efficiency_figures["full"].median / efficiency_figures["cached"].median >= 1.3),
        (f"{serving.CLIENTS} concurrent HTTP clients / sequential, throughput, not batched (MMS-TTS)",
         f"{throughput('speech'):.2f}", ">= 1.0", throughput("speech") >= 1.0),
        (f"{serving.CLIENTS} concurrent HTTP clients / sequential, throughput, batched (M2M100 translation)",
         f"{throughput('translate'):.2f}", ">= 1.2", throughput("translate") >= 1.2),
        *[(f"API call - the backend's work in it, {how} (MMS-TTS)", f"{overhead(way):.0f} ms", "<= 100 ms",
           overhead(way) <= 100) for how, way in (
               ("/synthesize_speech_wav over REST on one kept connection", "rest_wav"),
               ("/synthesize_speech (streaming) over REST on one kept connection", "rest"),
               ("/synthesize_speech_wav through gradio_client", "client_wav"),
               ("/synthesize_speech (streaming) through gradio_client", "client"))],
        (f"resident memory above the baseline, cycling six tasks, budget {memory_figures['budget_bytes'] / gib:.1f}"
         " GiB", f"peak {over_baseline / gib:.2f} GiB = {over_baseline / memory_figures['budget_bytes']:.2f} x budget",
         "<= 1.10 x budget", over_baseline <= 1.10 * memory_figures["budget_bytes"]),
        (f"resident memory growth from call {2 * len(system.CYCLE_IDS)} to call {memory_figures['calls']}",
         f"{growth * 100:+.1f} %", "< 5 %", growth < 0.05),
        ("Whisper base on 5 minutes: windows one by one / batched",
         f"{batched_windows_off} / {batched_windows_on} = "
         f"{batched_windows_off.median / batched_windows_on.median:.2f}", ">= 1.3",
         batched_windows_off.median / batched_windows_on.median >= 1.3),
        ("TTS first audio through the app, five sentences / one sentence alone (MMS-TTS)",
         f"{first_audio['five_sentences']} / {first_audio['one_sentence']} = "
         f"{first_audio['five_sentences'].median / first_audio['one_sentence'].median:.2f}", "<= 1.5",
         first_audio["five_sentences"].median / first_audio["one_sentence"].median <= 1.5),
    ]
    engines = results.get("engines", {})
    if "translation" in engines:
        rows = engines["translation"]
        speed = rows["ctranslate2_app"].median / rows["torch_forward"].median
        summary += [
            ("M2M100 418M, 34 tokens, 5 beams: CTranslate2 int8 app call / torch fp32 forward-only",
             f"{rows['ctranslate2_app']} / {rows['torch_forward']} = {speed:.2f}", "<= 0.4", speed <= 0.4),
        ]
    if "whisper" in engines:
        rows = engines["whisper"]
        short = rows["ctranslate2_app"].median / rows["torch_forward"].median
        long = rows["ctranslate2_long"].median / rows["torch_long"].median
        memory_ratio = rows["ctranslate2_rss_bytes"] / rows["torch_rss_bytes"]
        summary += [
            ("Whisper small, 30 s: CTranslate2 int8 app call / torch fp32 forward-only",
             f"{rows['ctranslate2_app']} / {rows['torch_forward']} = {short:.2f}", "<= 0.5", short <= 0.5),
            ("Whisper base, 5 min: CTranslate2 batched / torch batched",
             f"{rows['ctranslate2_long']} / {rows['torch_long']} = {long:.2f}", "<= 0.5", long <= 0.5),
            ("resident memory of a loaded Whisper small: CTranslate2 int8 / torch fp32", f"{memory_ratio:.2f}",
             "<= 0.6", memory_ratio <= 0.6),
        ]
    summary += int8_bench.target_rows(results.get("int8", []))
    ray_rows = results.get("ray")
    if ray_rows:
        throughput_ratio = ray_rows["two_replicas_rps"] / ray_rows["one_replica_rps"]
        summary.append((f"Ray Serve, {ray_serve_clients()} clients on MMS-TTS: throughput 2 replicas x 1 thread / "
                        "1 replica x 1 thread", f"{throughput_ratio:.2f} ({ray_rows['two_replicas_rps']:.2f} vs "
                        f"{ray_rows['one_replica_rps']:.2f} requests/s)", ">= 1.6", throughput_ratio >= 1.6))
    summary_lines = "\n".join(f"| {name} | {measured} | {target} | {verdict(met)} |"
                              for name, measured, target, met in summary)
    missed = [name for name, _, _, met in summary if not met]
    reasons = [f"- **{name}.** " + next((why for start, why in WHY_MISSED.items() if name.startswith(start)),
                                        "Not explained yet.") for name in missed]
    missed_lines = "\n".join(reasons) if reasons else "Every target was met in this run."
    torch_engine = f"torch {str(models.CACHE.dtype).removeprefix('torch.')}"
    warm_lines = "\n".join(
        f"| {row['model']} | {torch_engine} | {row['forward']} | {row['ours']} | {ratio(row):.2f} | "
        + (f"<= {target_of(row['model']):.2f} | {verdict(ratio(row) <= target_of(row['model']))} |"
           if target_of(row['model']) else "reported | |")
        for row in warm)
    http_lines = "\n".join(
        f"| {row['model']} | {row['forward']} | {row['app']} | {row['app'].median / row['forward'].median:.2f} | "
        f"{vision_http.TARGET_RATIO * row['forward'].median + vision_http.TARGET_SLACK_SECONDS:.3f} s | "
        f"{verdict(over_http(row) <= 1)} | {row['client']} |" for row in http_rows)
    engine_lines = "\n".join(filter(None, [engine_table(results.get("engines", {})),
                                            int8_bench.table_rows(results.get("int8", []))]))
    allocator_lines = allocator_table(results.get("allocator", {}))
    switch = results.get("adapter_switch") or {}
    switch_line = (f"MMS-1b-all's adapter switch (French in, English back, under the device lock): first time "
                   f"{switch['first'].median:.3f} s, from the adapter files {switch['from files']}, from the weights "
                   f"kept in memory {switch['kept in memory']}." if switch else "Not measured in this run.")
    image_lines = "\n".join(images.rows(results["images"])) if "images" in results else (
        "| not measured in this run | | | | | |")
    ray_line = "\n".join(f"| {name} | {value} |" for name, value in ray_serve_rows(ray_rows)) if ray_rows else (
        "| not run: ray is not installed (requirements-ray.txt) | |")
    warm_lines += "".join(f"\n\nTesseract OCR of the example invoice (one A4 page, decoding included), which "
                          f"{row['model']}'s rows leave out: {row['ocr']}." for row in warm if "ocr" in row)
    naive_lines = "\n".join(
        f"| {row['model']} | {row['naive']} | {row['naive'].median / row['ours'].median:.2f} | "
        f"{row['naive'].median / row['forward'].median:.2f} |" for row in warm)
    cold_lines = "\n".join(
        f"| {row['model']} | {row['bytes'] / 1e9:.2f} GB | {row['read']} | "
        f"{row['bytes'] / row['read'].median / 1e9:.2f} GB/s | {row['load']} | "
        f"{row['load'].median / row['read'].median:.2f} | "
        f"{'<= 2' if row['model'] in system.COLD_TARGET_IDS else 'reported'} |" for row in cold)
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__} "
               f"with {torch.get_num_threads()} threads, device {models.CACHE.device}, dtype {models.CACHE.dtype}")
    return f"""# Benchmarks

Produced by `python -m bench.run` on {time.strftime('%Y-%m-%d')}: {machine}. Real architectures at real size with
random weights (`bench/real_size.py`), loaded through the app's own `from_pretrained` path from `bench/.cache/`.
Each figure is the median of {RUNS} runs after a warm-up, with min-max in brackets (naive: {NAIVE_RUNS} runs; other
counts are given with their section). Where two things are compared they are timed in turns (ABAB), so the slow
drift of this shared 2-core virtual machine (10-20 % between minutes) hits both alike.

Generation lengths are fixed: {calls.NEW_TOKENS} new tokens for M2M100 (5 beams) and per Whisper window,
{calls.BARK_SEMANTIC_TOKENS} semantic tokens for Bark. Inputs: a 640x480 JPEG, 30 s of 16 kHz noise in a WAV file
(backend calls decode the files; forward-only gets tensors prepared once), a 74-character sentence.

## Targets

| figure | measured | target | |
|---|---|---|---|
{summary_lines}

### Missed targets: why, and what would close the gap

{missed_lines}

Run-to-run spread on this virtual machine is large: ratios within about 10 % of 1.0 can flip between runs,
and absolute times move by 20 % within the hour, so a row within a few per cent of its target may land on
either side in the next run.

## Warm backend call vs forward-only

The backend call includes decoding and checking the input file, pre- and post-processing; forward-only is the
model's forward or generate on tensors prepared once, without autograd. CLIP-L gets the same three labels every
call, so its text embeddings come from the backend's prompt cache (the zero-shot row under Targets measures that
cache on its own); its forward-only pass encodes image and text. OWL-ViT gets three queries. VITS and Bark sample:
both sides seed the same way.

| model | engine | forward-only | warm backend call | ratio | target | |
|---|---|---|---|---|---|---|
{warm_lines}

{switch_line}

## Vision through HTTP

Every vision model through the launched app (`bench/vision_http.py`): the image (or clip) uploaded, the endpoint
called, its event stream read and every output file downloaded, on one kept HTTP connection, against the
model's forward pass alone; {vision_http.RUNS} turns. Limit: {vision_http.TARGET_RATIO:.2f} x forward-only +
{vision_http.TARGET_SLACK_SECONDS} s. gradio_client's figure is the same request through `Client.predict`, which
opens a new HTTP client for each upload and download (timed after the others, not in turns).

| model | forward-only | app over HTTP | ratio | limit | | gradio_client |
|---|---|---|---|---|---|---|
{http_lines}

## Engines

The generate-bound models on CTranslate2 (int8 on CPU, int8_float16 on CUDA; `APP_ENGINE`) against torch on the
same real-size checkpoints, timed in turns. Conversion runs once per model, weights and CTranslate2 version.

| figure | engine | baseline (torch) | ours | ratio |
|---|---|---|---|---|
{engine_lines}

## Memory allocator

glibc's malloc as the app sets it (`backend/allocator.py`: one arena, blocks under 1 GiB from the heap, no
automatic trimming) against glibc's defaults (`APP_MALLOC_TUNING=0`): the same app call on a worker thread, as
gradio runs a request, in fresh processes taken in turns ({allocator.TURNS} per side, {allocator.CALLS - 1} calls
each after a warm-up). Page faults are the minor faults of one call (median); RSS is the largest after the calls.
Every other section of this file runs with the app's settings, baselines included.

| model | engine | glibc defaults | ours | ratio | page faults per call | RSS after the calls |
|---|---|---|---|---|---|---|
{allocator_lines}

## Ray Serve

`bench/ray_serve.py` on a local Ray cluster (real-size MMS-TTS): the front end calling a Serve deployment.

| figure | measured |
|---|---|
{ray_line}

## The naive app

A transformers pipeline built inside every request (M2M100 and Bark: from_pretrained + generate, since transformers
5 has no translation pipeline and Bark's pipeline cannot fix the semantic length), on the same files, warm file
cache. The issue's target for this row: naive / warm backend at least naive / forward-only divided by 1.10
(vision) or 1.20 (speech and translation), which holds exactly when the ratio row above meets its target.

| model | naive | naive / warm backend | naive / forward-only |
|---|---|---|---|
{naive_lines}

## Loading

Cycling: one request to each of the six tasks ({', '.join(system.CYCLE_IDS)}; Whisper base and MMS-TTS stand in
for the defaults Whisper large-v3 turbo and Bark small), median of {system.CYCLE_RUNS} cycles after a warm-up
cycle. One-at-a-time is our cache with a budget no model fits, so it keeps only the last used model and loads
on every request; ours keeps all six under the default budget.

Cold load: the model folder's pages are dropped from the page cache (`posix_fadvise(DONTNEED)`), the files are
read once from start to end (the disk's bandwidth for these bytes), dropped again, and loaded by a fresh cache;
{system.COLD_RUNS} turns, with no other model loaded. `from_pretrained` may leave weights mapped from the
safetensors file, to be read during the first request, so a load is timed until one value in every page of every
weight has been read.

| model | bytes | cold read | bandwidth | cold load | load / read | target |
|---|---|---|---|---|---|---|
{cold_lines}

## Serving over HTTP

The app launched in the benchmark's process as `python app.py` launches it. API cost: one MMS-TTS request (the
74-character sentence in, a WAV file and JSON back) through gradio_client and through plain HTTP on one kept
connection (`POST /gradio_api/call/<endpoint>`, read the event stream, download the WAV), to the streaming endpoint
the page uses (`/synthesize_speech`) and to the whole-WAV one for programs (`/synthesize_speech_wav`). Each figure
is one request's wall time minus the seconds the backend spent speaking inside that same request (timed where it
runs, `bench/serving.py` BackendClock), so the model's own run-to-run noise cancels; {serving.ROUND_TRIP_RUNS}
turns, the four ways in turn. Over the backend's work: REST {served['rest_wav']} (whole WAV) and
{served['rest']} (streaming); gradio_client {served['client_wav']} and {served['client']}. For scale, the backend
called directly from the benchmark's thread: {served['direct']}.

Concurrency: {serving.CLIENTS * serving.REQUESTS_PER_CLIENT} requests from one client one after another, vs
{serving.CLIENTS} clients sending {serving.REQUESTS_PER_CLIENT} each at once; {serving.CONCURRENCY_ROUNDS}
rounds in turns. Translation requests that wait together are translated in one batch (backend/compute.py);
speech requests run one at a time.

| task | sequential | {serving.CLIENTS} clients | throughput ratio |
|---|---|---|---|
| M2M100 translation (batched) | {served['translate'][0]} | {served['translate'][1]} | {throughput('translate'):.2f} |
| MMS-TTS speech | {served['speech'][0]} | {served['speech'][1]} | {throughput('speech'):.2f} |

## Memory

`python -m bench.memory` in a fresh process: {memory_figures['calls']} requests cycling the six tasks above
under a budget of {memory_figures['budget_bytes'] / gib:.1f} GiB (less than the six models' 4.2 GB, so every
cycle evicts and reloads). RSS sampled every {memory_bench.SAMPLE_SECONDS * 1000:.0f} ms. Baseline (imports and
inputs, no model) {memory_figures['baseline_bytes'] / gib:.2f} GiB; peak {memory_figures['peak_bytes'] / gib:.2f}
GiB; most model bytes held at once {memory_figures['most_models_bytes'] / gib:.2f} GiB; RSS after call
{2 * len(system.CYCLE_IDS)} {memory_figures['after_first_two_cycles_bytes'] / gib:.2f} GiB, after call
{memory_figures['calls']} {memory_figures['after_last_call_bytes'] / gib:.2f} GiB.

## Long audio

Whisper base on {system.LONG_AUDIO_SECONDS // 60} minutes of noise through `transcribe` (30 s windows,
{calls.NEW_TOKENS} tokens each), windows decoded one at a time vs {whisper.WHISPER_BATCH_SIZE} at a time;
{system.LONG_AUDIO_RUNS} turns: {batched_windows_off} vs {batched_windows_on}.

## Image features (round 3)

`bench/images.py` (`python -m bench.run --only images`): each feature against its baseline in
{images.RUNS} turns (ABAB) on a 640x480 picture.

| figure | baseline | ours | ratio | target | |
|---|---|---|---|---|---|
{image_lines}
"""


if __name__ == "__main__":
    main()
