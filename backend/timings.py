"""How long each model's requests take in this process: recent durations, for the model menus' "usually ~2.1 s".

Learned only from this process's own calls (nothing is shown before a model's first call), so the figure is this
machine's, with its device, engine and load. Kept per model and per input-size class, since a 5 s clip and a
5 minute one differ by far more than any two models.
"""

import statistics
import threading
from collections import deque

RECENT_CALLS = 20  # durations kept per (model, size class); the median of them is shown
_lock = threading.Lock()
_recent: dict[tuple[str, str], deque[float]] = {}


def record(model_id: str, seconds: float, size: str = "") -> None:
    """Remember that a request with `model_id` on an input of size class `size` took `seconds`."""
    with _lock:
        _recent.setdefault((model_id, size), deque(maxlen=RECENT_CALLS)).append(seconds)


def typical_seconds(model_id: str) -> dict[str, float]:
    """The median recent duration of a model's requests per size class ({} before its first call)."""
    with _lock:
        return {size: statistics.median(times) for (model, size), times in _recent.items() if model == model_id}


def describe(model_id: str) -> str:
    """E.g. "usually 2.1 s here" or "usually 0.8 s here (short) · 6.3 s (long)"; "" before the first call."""
    by_size = typical_seconds(model_id)
    if not by_size:
        return ""
    parts = [f"{seconds:.1f} s" + (f" ({size})" if size else "") for size, seconds in sorted(by_size.items())]
    return "usually " + " · ".join(parts) + " here"
