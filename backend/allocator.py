"""glibc's malloc, set up for the large buffers a model allocates and frees on every call.

By default glibc gives a freed block of more than 32 MB (at most) straight back to the kernel, trims the free top of
its heaps, and gives each new thread an arena of 64 MB heaps, in which any bigger block is a fresh mapping of its
own. A model's activations are such blocks, made again on every call (and gradio runs our handlers on its worker
threads, CTranslate2 on its own), so every call page-faults on memory it has just given back: a 30 s Whisper small
call on CTranslate2 took 300,000 to 490,000 page faults here (their cost: BENCHMARKS.md, "Memory allocator").

`configure()` keeps those blocks: one arena for every thread, no mapping of its own for a block under 1 GiB and no
automatic trimming. Freed memory then stays with the process and the next call reuses it; `release_free_memory()`
gives it back to the system when models are unloaded.

Only glibc (Linux) has these settings; elsewhere both functions do nothing. glibc's own MALLOC_ARENA_MAX,
MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_, set in the environment, win over ours (a process started with
them, such as a Ray Serve replica from serve_config.yaml, has them from its first allocation), and
APP_MALLOC_TUNING=0 leaves glibc's defaults alone.
"""

import ctypes
import ctypes.util
import functools
import logging
import os
import platform

logger = logging.getLogger(__name__)

# mallopt() parameters, from glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

# (mallopt parameter, value, the environment variable glibc reads for the same setting at start-up).
SETTINGS = (
    # One arena: a thread's own arena could only hold blocks under 64 MB without a mapping of their own. Set before
    # any other thread allocates (the backend is imported before the server starts its threads).
    (M_ARENA_MAX, 1, "MALLOC_ARENA_MAX"),
    (M_MMAP_THRESHOLD, 1 << 30, "MALLOC_MMAP_THRESHOLD_"),  # bytes: blocks up to 1 GiB come from the heap
    (M_TRIM_THRESHOLD, 2**31 - 1, "MALLOC_TRIM_THRESHOLD_"),  # bytes: the largest int, i.e. never trim by itself
)


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc, else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def configure() -> bool:
    """Keep model-sized blocks in the process between calls (see the module); True if anything was set."""
    libc = _glibc()
    if libc is None or os.environ.get("APP_MALLOC_TUNING", "1").strip() == "0":
        return False
    changed = False
    for parameter, value, environment_name in SETTINGS:
        if os.environ.get(environment_name):
            continue  # glibc already took the user's value at start-up
        if libc.mallopt(parameter, value) != 1:
            logger.warning("glibc refused mallopt(%d, %d); its default stays", parameter, value)
            continue
        changed = True
    return changed


def release_free_memory() -> None:
    """Give the heap's free memory back to the system (after models are unloaded: nothing trims by itself)."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
