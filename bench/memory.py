"""Resident memory while cycling the six tasks under a model budget; run in a fresh process by bench/run.py.

    python -m bench.memory      # prints one JSON object
    python -m bench.memory trace  # the same, with RSS before, during (peak) and after every call

RSS is sampled every 20 ms by a thread (Linux: /proc/self/statm). The baseline is the process after importing
torch, transformers and the backend and preparing the inputs, before any model loads; the budget bounds the
models' bytes, so the figure compared with it is RSS minus that baseline.
"""

import json
import os
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench import calls, real_size, system  # noqa: E402

BUDGET_BYTES = 3 * 1024**3  # less than the six models (4.2 GB): every cycle evicts and reloads some
CALLS = int(os.environ.get("BENCH_MEMORY_CALLS", "100"))  # fewer for a quick look on a loaded machine
SAMPLE_SECONDS = 0.02
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    """This process's resident set size."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_BYTES


class PeakSampler:
    """The highest RSS seen by a background thread, since the last reset."""

    def __init__(self) -> None:
        self.peak = rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, rss_bytes())

    def stop(self) -> None:
        """Stop sampling."""
        self._stop.set()
        self._thread.join()


def main() -> None:
    """Cycle the six tasks CALLS times under BUDGET_BYTES; print RSS figures as JSON."""
    os.environ["MODELS_DIR"] = str(real_size.CACHE)
    cache = calls.use_fixed_length_cache(budget_bytes=BUDGET_BYTES)
    requests = [calls.backend_call(model_id) for model_id in system.CYCLE_IDS]
    baseline = rss_bytes()
    sampler = PeakSampler()
    after_each: list[int] = []
    trace: list[dict[str, object]] = []
    most_models_bytes = most_accounted_bytes = peak = 0
    for number in range(CALLS):
        before = rss_bytes()
        sampler.peak = before  # this call's own peak from here (the run's peak is kept in `peak`)
        requests[number % len(requests)]()
        after_each.append(rss_bytes())
        peak = max(peak, sampler.peak)
        status = cache.status()
        most_models_bytes = max(most_models_bytes, status["used_bytes"])
        most_accounted_bytes = max(most_accounted_bytes, status["used_bytes"] + status["working_bytes"])
        trace.append({"model": system.CYCLE_IDS[number % len(requests)], "before": before - baseline,
                      "peak": sampler.peak - baseline, "after": after_each[-1] - baseline,
                      "weights": status["used_bytes"], "working": status["working_bytes"],
                      "loaded": [model["id"].split("/")[-1] for model in status["models"]]})
    sampler.stop()
    peak = max(peak, sampler.peak)
    print(json.dumps({**({"trace": trace} if sys.argv[1:2] == ["trace"] else {}),
        "budget_bytes": BUDGET_BYTES,
        "baseline_bytes": baseline,
        "peak_bytes": peak,
        "most_models_bytes": most_models_bytes,
        "most_accounted_bytes": most_accounted_bytes,  # weights + the largest working memory, as the cache counts
        "after_first_two_cycles_bytes": after_each[2 * len(requests) - 1],
        "after_last_call_bytes": after_each[-1],
        "calls": CALLS,
    }))


if __name__ == "__main__":
    main()
