"""A model's working memory (what its calls allocate beyond its weights) is measured and counted in the budget."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from backend import allocator, compute, working_memory
from backend.models import ModelCache

FIRST, SECOND = "google/vit-base-patch16-224", "facebook/detr-resnet-50"
MB = 1024**2
WEIGHTS = 4 * MB  # each fake model: a 1024x1024 float32 Linear

pytestmark = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc")


def small_model(spec: Any, device: torch.device, dtype: torch.dtype) -> tuple[Any, Any]:
    """A 4 MB model in place of the catalog's."""
    return torch.nn.Linear(1024, 1024, bias=False), None


def cache_with(budget: int) -> ModelCache:
    """A CPU cache of small models, no size estimate before loading; the heap's free memory given back first, so
    a call's activations show as new resident memory."""
    allocator.release_free_memory()
    return ModelCache(loader=small_model, device=torch.device("cpu"), budget_bytes=budget,
                      estimate=lambda model_id, dtype: None)


def call_using(cache: ModelCache, model_id: str, scratch_bytes: int) -> None:
    """A request: take the model, then compute with `scratch_bytes` of activations (written, so resident)."""
    cache.get(model_id)
    with compute.model_work():
        activations = np.ones(scratch_bytes // 8)  # float64
        activations.sum()


def test_a_calls_working_memory_is_measured_and_kept_as_the_largest(models_dir: Path) -> None:
    cache = cache_with(budget=1024 * MB)
    call_using(cache, FIRST, 120 * MB)
    measured = cache.status()["models"][0]["working_bytes"]
    assert 100 * MB <= measured <= 400 * MB
    call_using(cache, FIRST, 8 * MB)  # a smaller call does not lower it
    assert cache.status()["models"][0]["working_bytes"] == measured
    assert cache.status()["working_bytes"] == measured


def test_working_memory_counts_in_the_budget_and_evicts_earlier(models_dir: Path) -> None:
    # Both models' weights fit (8 MB of 150 MB); one call's 200 MB of activations does not fit beside them.
    cache = cache_with(budget=150 * MB)
    call_using(cache, FIRST, 2 * MB)
    call_using(cache, SECOND, 200 * MB)
    assert not cache.is_loaded(FIRST) and cache.is_loaded(SECOND)  # the model in use stays, alone
    # Reloaded later, the first model is counted with the second's working memory: it cannot join it.
    cache.unload(SECOND)
    call_using(cache, SECOND, 2 * MB)
    assert cache.status()["models"][0]["working_bytes"] >= 150 * MB  # remembered across the unload
    cache.get(FIRST)
    assert cache.is_loaded(FIRST) and not cache.is_loaded(SECOND)


def test_without_a_large_call_both_stay(models_dir: Path) -> None:
    cache = cache_with(budget=150 * MB)
    call_using(cache, FIRST, 2 * MB)
    call_using(cache, SECOND, 2 * MB)
    assert cache.is_loaded(FIRST) and cache.is_loaded(SECOND)


def test_status_shows_resident_memory_above_the_caches_start(models_dir: Path) -> None:
    cache = cache_with(budget=1024 * MB)
    cache.get(FIRST)
    status = cache.status()
    assert isinstance(status["resident_bytes"], int)
    assert status["resident_bytes"] == pytest.approx(working_memory.resident_bytes() - cache.start_resident_bytes,
                                                     abs=16 * MB)


def test_nested_model_work_is_measured_once_at_the_outer_level(models_dir: Path) -> None:
    seen: list[tuple[str, int]] = []
    working_memory.on_measured(lambda model_id, size: seen.append((model_id, size)))  # None: dropped after one
    working_memory.note_model(FIRST)
    with compute.model_work(), compute.model_work():
        np.ones(MB).sum()
    assert [model_id for model_id, _ in seen] == [FIRST]
