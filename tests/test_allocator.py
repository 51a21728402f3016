"""glibc's malloc settings (backend/allocator.py): big blocks freed on a worker thread are reused without page faults,
and release_free_memory() gives them back. Each case runs in a fresh process, as the settings are process-wide."""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCK_PAGES = 65536  # a 256 MiB block, in 4 KiB pages

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the settings exist only in glibc")

# Allocates, fills and frees a 256 MiB block on a worker thread (as gradio runs our handlers): how much of it stays
# resident, and the page faults of doing it again; then frees a block on the main thread and measures the resident
# size around release_free_memory().
SCRIPT = f"""
import ctypes, json, resource, threading
from backend import allocator

configured = allocator.configure()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
SIZE = {BLOCK_PAGES} * 4096

def filled_and_freed():  # as a C++ library does with its buffers (numpy would ask for huge pages)
    block = libc.malloc(SIZE)
    ctypes.memset(block, 1, SIZE)
    libc.free(block)

def a_block_on_a_worker_thread():
    before = resident_pages()
    filled_and_freed()
    result["kept_pages"] = resident_pages() - before  # still resident after the free
    faults = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    filled_and_freed()
    result["faults"] = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - faults

def resident_pages():
    return int(open("/proc/self/statm").read().split()[1])

result = {{"configured": configured}}
worker = threading.Thread(target=a_block_on_a_worker_thread)
worker.start()
worker.join()
filled_and_freed()
result["resident_after_free"] = resident_pages()
allocator.release_free_memory()
result["resident_after_release"] = resident_pages()
print(json.dumps(result))
"""


def run_script(**environment: str) -> dict:
    """SCRIPT's result in a fresh interpreter with `environment` added."""
    completed = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env={**os.environ, **environment},
                               capture_output=True, text=True, check=True, timeout=120)
    return json.loads(completed.stdout)


def test_a_big_block_freed_on_a_worker_thread_is_reused_without_page_faults() -> None:
    tuned = run_script()
    default = run_script(APP_MALLOC_TUNING="0")
    assert tuned["configured"] is True and default["configured"] is False
    # glibc's defaults hand the block back at once (and map it afresh next time: a fault per page, or per huge
    # page where the kernel gives them unasked). Ours keep it and reuse its pages.
    assert default["kept_pages"] < BLOCK_PAGES // 20
    assert tuned["kept_pages"] > BLOCK_PAGES // 2
    assert tuned["faults"] < BLOCK_PAGES // 20


def test_release_free_memory_gives_freed_blocks_back() -> None:
    tuned = run_script()
    # Freed, the block stays resident (nothing trims by itself); released, it is gone.
    assert tuned["resident_after_free"] - tuned["resident_after_release"] > BLOCK_PAGES // 2


def test_glibc_variables_in_the_environment_win() -> None:
    # The user's MALLOC_ARENA_MAX etc. are glibc's from start-up: configure() leaves all three alone.
    chosen = run_script(MALLOC_ARENA_MAX="4", MALLOC_MMAP_THRESHOLD_="131072", MALLOC_TRIM_THRESHOLD_="131072")
    assert chosen["configured"] is False
    assert chosen["kept_pages"] < BLOCK_PAGES // 20
