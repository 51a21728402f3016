"""The memory a model needs beyond its weights while it computes, measured per call, for the cache's budget.

A model's weights are only part of what it keeps resident: every call also allocates activations (a 30 s MMS-1b-all
call, a DETR pass at 800x1333, M2M100's five beams), and since glibc's malloc keeps freed blocks for the next call
(backend/allocator.py), that memory stays with the process after the call. The cache therefore budgets each model
as its weights plus, once, the largest working memory of any model it holds (calls run one at a time under
compute.DEVICE_LOCK, so their working memory is never needed twice at once).

Measured on Linux from the kernel's peak-RSS counter: `/proc/self/clear_refs` ("5") resets VmHWM when the outermost
`compute.model_work()` begins, and the call's working memory is VmHWM at its end minus VmRSS at its start, less
the bytes of any model loaded meanwhile by another thread. It is attributed to the model this thread last took from
the cache (`note_model`). Elsewhere, or where /proc cannot be written, nothing is measured and the budget counts
weights alone, as before.
"""

import contextlib
import threading
from collections.abc import Callable, Iterator

_current = threading.local()  # .model_id: the model this thread last took from the cache; .depth: nesting
_loaded_bytes = [0]  # bytes of models loaded so far by any thread (subtracted from a call's growth)
# Told (model id, working bytes) after each measured call; one that returns False is dropped (its cache is gone).
_listeners: list[Callable[[str, int], bool]] = []


def _status_kib(field: str) -> int | None:
    """One `VmXXX:` field of /proc/self/status in KiB, or None off Linux."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def resident_bytes() -> int | None:
    """This process's resident set size in bytes (None where /proc is not available)."""
    kib = _status_kib("VmRSS")
    return None if kib is None else kib * 1024


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS; False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def note_model(model_id: str) -> None:
    """Record that this thread is about to compute with `model_id` (the cache calls it on every `get`)."""
    _current.model_id = model_id


def note_loaded(size: int) -> None:
    """Record that a model of `size` bytes was just loaded (its weights are not a running call's working memory)."""
    _loaded_bytes[0] += size


def on_measured(listener: Callable[[str, int], bool]) -> None:
    """Call `listener(model_id, working_bytes)` after every measured call, until it returns False."""
    _listeners.append(listener)


@contextlib.contextmanager
def measured() -> Iterator[None]:
    """Measure the enclosed computation's working memory (outermost level of this thread only)."""
    depth = getattr(_current, "depth", 0)
    _current.depth = depth + 1
    start = resident_bytes() if depth == 0 and _reset_peak() else None
    loaded_before = _loaded_bytes[0]
    try:
        yield
    finally:
        _current.depth = depth
        model_id = getattr(_current, "model_id", None)
        peak_kib = _status_kib("VmHWM") if start is not None else None
        if peak_kib is not None and model_id is not None:
            working = max(0, peak_kib * 1024 - start - (_loaded_bytes[0] - loaded_before))
            for listener in list(_listeners):
                if not listener(model_id, working):
                    _listeners.remove(listener)
