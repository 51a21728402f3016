"""Timing helpers: medians with min and max, and interleaved (ABAB) timing of two alternatives."""

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Figure:
    """Seconds of several timed runs."""

    median: float
    low: float
    high: float

    def __str__(self) -> str:
        """"1.234 s (1.200-1.300)"."""
        return f"{self.median:.3f} s ({self.low:.3f}-{self.high:.3f})"


def figure(seconds: list[float]) -> Figure:
    """The median, min and max of measured seconds."""
    return Figure(statistics.median(seconds), min(seconds), max(seconds))


def seconds_of(function: Callable[[], object]) -> float:
    """Wall-clock seconds of one call, including GPU work it queued (CUDA runs kernels asynchronously)."""
    synchronize()
    started = time.perf_counter()
    function()
    synchronize()
    return time.perf_counter() - started


def synchronize() -> None:
    """Wait for queued CUDA work, when there is a GPU."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(function: Callable[[], object], runs: int, warm_up: bool = True) -> Figure:
    """`runs` timed calls, after one untimed warm-up call unless warm_up is False."""
    if warm_up:
        function()
    return figure([seconds_of(function) for _ in range(runs)])


def interleaved(first: Callable[[], object], second: Callable[[], object], runs: int) -> tuple[Figure, Figure]:
    """Both alternatives timed in turns (ABAB...) after a warm-up of each, so slow drift of this shared machine
    affects both alike; the figures of each."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        times[0].append(seconds_of(first))
        times[1].append(seconds_of(second))
    return figure(times[0]), figure(times[1])
