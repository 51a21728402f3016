"""How model work uses the machine: torch threads, one computation at a time, batching of waiting requests."""

import threading
from collections.abc import Callable, Hashable
from pathlib import Path

import pytest
import torch

from backend import compute, models
from backend.compute import DEVICE_LOCK, RequestBatcher
from backend.tasks import translate

WAIT_SECONDS = 30  # generous bound for threads to reach the batcher; a stuck test fails instead of hanging


def test_torch_uses_one_thread_per_available_core() -> None:
    import os

    assert "APP_TORCH_THREADS" not in os.environ
    assert torch.get_num_threads() == compute.torch_threads() == len(os.sched_getaffinity(0))
    assert torch.get_num_interop_threads() == 1


def test_thread_count_can_be_set_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_TORCH_THREADS", "3")
    assert compute.torch_threads() == 3


def test_model_work_holds_the_device_lock_without_autograd() -> None:
    with compute.model_work():
        assert torch.is_inference_mode_enabled()
        holder = threading.Thread(target=lambda: results.append(DEVICE_LOCK.acquire(timeout=0.01)))
        results: list[bool] = []
        holder.start()
        holder.join()
        assert results == [False]  # another thread cannot start model work meanwhile
    assert not torch.is_inference_mode_enabled()


def run_while_busy(batcher: RequestBatcher, calls: list[Callable[[], object]]) -> list[object]:
    """Start each call in a thread while the device is busy, so that all wait together; results (or errors)."""
    results: list[object] = [None] * len(calls)

    def call(index: int) -> None:
        try:
            results[index] = calls[index]()
        except Exception as error:  # the test inspects it
            results[index] = error

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(calls))]
    with DEVICE_LOCK:  # the device is busy: every request queues
        for thread in threads:
            thread.start()
        pause = threading.Event()
        for _ in range(WAIT_SECONDS * 100):
            if batcher.waiting() == len(calls):
                break
            pause.wait(0.01)
        assert batcher.waiting() == len(calls)
    for thread in threads:
        thread.join(WAIT_SECONDS)
    return results


def submit_together(batcher: RequestBatcher, requests: list[tuple[Hashable, object]]) -> list[object]:
    """Submit (key, item) requests that all wait together; their results in order."""
    return run_while_busy(batcher, [lambda key=key, item=item: batcher.submit(key, item) for key, item in requests])


def recording_batcher(max_items: int = 8, fail_on: object = None) -> tuple[RequestBatcher, list[list[object]]]:
    """A batcher whose batches square numbers and are recorded; an item equal to fail_on raises."""
    batches: list[list[object]] = []

    def run(key: Hashable, items: list[object]) -> list[object]:
        batches.append(list(items))
        if fail_on in items:
            raise ValueError(f"bad item {fail_on}")
        return [(key, item * item) for item in items]  # type: ignore[operator]

    return RequestBatcher(run, max_items), batches


def test_a_lone_request_runs_at_once_alone() -> None:
    batcher, batches = recording_batcher()
    assert batcher.submit("k", 3) == ("k", 9)
    assert batches == [[3]] and batcher.batch_sizes == {1: 1}


def test_requests_waiting_together_run_as_one_batch_in_order() -> None:
    batcher, batches = recording_batcher()
    results = submit_together(batcher, [("k", number) for number in range(5)])
    assert results == [("k", number * number) for number in range(5)]
    assert len(batches) == 1 and sorted(batches[0]) == [0, 1, 2, 3, 4]
    assert batcher.waiting() == 0


def test_batches_hold_one_key_and_at_most_max_items() -> None:
    batcher, batches = recording_batcher(max_items=2)
    results = submit_together(batcher, [("a", 1), ("b", 2), ("a", 3), ("a", 4), ("b", 5)])
    assert results == [("a", 1), ("b", 4), ("a", 9), ("a", 16), ("b", 25)]
    assert all(len(batch) <= 2 for batch in batches) and sorted(map(len, batches)) == [1, 2, 2]
    assert {frozenset(batch) for batch in batches} >= {frozenset({2, 5})}  # b's two requests together


def test_a_failing_request_fails_alone_and_the_others_get_their_results() -> None:
    batcher, batches = recording_batcher(fail_on=2)
    results = submit_together(batcher, [("k", 1), ("k", 2), ("k", 3)])
    assert results[0] == ("k", 1) and results[2] == ("k", 9)
    assert isinstance(results[1], ValueError) and str(results[1]) == "bad item 2"
    assert len(batches[0]) == 3 and sorted(map(len, batches[1:])) == [1, 1, 1]  # the batch, then one by one


def translate_alone(texts: list[str], model_id: str) -> list[str]:
    """Each text translated English -> French in its own request, one after the other."""
    return [translate.translate(text, "en", "fr", model=model_id).translation for text in texts]


TEXTS = ["The museum opens at nine.", "Children enter for free on weekdays.", "Guided tours leave every hour.",
         "The café on the top floor serves lunch until three."]


def test_translations_batched_together_equal_translations_alone(models_dir: Path) -> None:
    model_id = "facebook/m2m100_418M"
    alone = translate_alone(TEXTS, model_id)
    before = translate.BATCHER.batch_sizes.copy()
    together = run_while_busy(translate.BATCHER, [
        lambda text=text: translate.translate(text, "English", "fr", model=model_id).translation for text in TEXTS])
    assert translate.BATCHER.batch_sizes - before == {len(TEXTS): 1}  # one batch held all four requests
    assert together == alone


def test_translations_for_other_language_pairs_are_not_mixed(models_dir: Path) -> None:
    model_id = "facebook/m2m100_418M"
    french, german = (translate.translate(TEXTS[0], "en", target).translation for target in ("fr", "de"))
    before = translate.BATCHER.batch_sizes.copy()
    together = submit_together(translate.BATCHER, [((model_id, "en", "fr"), TEXTS[:1]),
                                                   ((model_id, "en", "de"), TEXTS[:1])])
    assert together == [[french], [german]]
    assert translate.BATCHER.batch_sizes - before == {1: 2}


def test_processors_and_pipelines_are_kept_with_their_model(models_dir: Path, speech_3s: Path) -> None:
    from backend.tasks import transcribe

    # wav2vec2 runs in the transformers ASR pipeline (Whisper calls generate itself since its long-form decoding).
    first = models.get("facebook/wav2vec2-base-960h")
    transcribe.transcribe(str(speech_3s), model="facebook/wav2vec2-base-960h")
    pipeline = first.memo["asr_pipeline"]
    transcribe.transcribe(str(speech_3s), model="facebook/wav2vec2-base-960h")
    second = models.get("facebook/wav2vec2-base-960h")
    assert second is first and second.processor is first.processor and second.memo["asr_pipeline"] is pipeline
