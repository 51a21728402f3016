"""glibc's malloc settings (backend/allocator.py) against glibc's defaults: the same app calls in fresh processes.

    python -m bench.allocator child MODEL_ID   # in this process: one JSON line of per-call seconds and page faults

The settings are process-wide and must precede the process's threads, so each side runs in its own fresh process
(APP_MALLOC_TUNING=0 for glibc's defaults), in turns: default, ours, default, ours... Each process loads the model
and makes CALLS app calls on a worker thread, as gradio runs a request; the first is a warm-up and not counted.
"""

import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import calls, fresh_process  # noqa: E402  (imports the backend, which sets malloc up: before any thread)
from bench.memory import rss_bytes  # noqa: E402
from bench.timing import figure  # noqa: E402

TURNS = 3  # processes per side
CALLS = 4  # app calls per process, the first a warm-up
# The engine's call the Whisper row is about, and the torch model with the largest activations per call.
MODELS = {"openai/whisper-small": "ctranslate2", "Intel/dpt-large": "torch"}


def child(model_id: str) -> None:
    """Load the model and print the seconds and page faults of each app call after the first, and the RSS after."""
    from bench import engines

    call = engines.with_cache(engines.fresh_process_cache(MODELS[model_id]), calls.backend_call(model_id))
    measured: list[tuple[float, int]] = []

    def requests() -> None:  # on a worker thread, as gradio runs a handler
        for _ in range(CALLS):
            faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            started = time.perf_counter()
            call()
            seconds = time.perf_counter() - started
            measured.append((seconds, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults))

    worker = threading.Thread(target=requests)
    worker.start()
    worker.join()
    print(json.dumps({"seconds": [s for s, _ in measured[1:]], "faults": [f for _, f in measured[1:]],
                      "rss_bytes": rss_bytes()}))


def run_child(model_id: str, tuned: bool, cache_folder: str) -> dict[str, Any]:
    """One fresh process's figures, with our settings or glibc's defaults."""
    return fresh_process.json_of(["-m", "bench.allocator", "child", model_id],
                                 {"APP_MALLOC_TUNING": "1" if tuned else "0", "APP_CTRANSLATE2_CACHE": cache_folder})


def allocator() -> dict[str, Any]:
    """Per model: the app call's seconds and page faults, glibc's defaults against ours, processes in turns."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ct2-bench-") as folder:
        for model_id, engine in MODELS.items():
            if model_id not in calls.IDS:
                continue
            runs: dict[str, list[dict[str, Any]]] = {"default": [], "tuned": []}
            for _ in range(TURNS):
                for side in runs:
                    runs[side].append(run_child(model_id, side == "tuned", folder))
            results[model_id] = {"engine": engine, **{
                side: {"seconds": figure([s for run in side_runs for s in run["seconds"]]),
                       "faults": sorted(f for run in side_runs for f in run["faults"]),
                       "rss_bytes": max(run["rss_bytes"] for run in side_runs)}
                for side, side_runs in runs.items()}}
    return results


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        child(sys.argv[2])
