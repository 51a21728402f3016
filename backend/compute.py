"""How model work uses the machine: torch threads, one computation at a time, and batching of waiting requests.

- Threads: torch uses one intra-op thread per core available to this process (`APP_TORCH_THREADS` overrides),
  set once when the backend is imported.
- One computation at a time: every task runs its model inside `model_work()`, which holds DEVICE_LOCK. Two
  forward passes side by side on CPU would share the same cores (and oversubscribe their threads), so running
  them one after the other gives the first answer sooner without losing throughput.
- Batching: `RequestBatcher` lets requests that wait for the device together run as one batch, when the model
  takes batches cheaply (4 clients translating through the app got 1.67x the throughput of one, BENCHMARKS.md).
  It batches in the backend, not with gradio's `batch=True`, so that each request keeps its own result and its
  own error: one user's bad input never fails another user's request.
"""

import contextlib
import os
import threading
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import torch

from backend import working_memory

# Held while a model computes; reentrant so a task may call a helper that also takes it.
DEVICE_LOCK = threading.RLock()


def torch_threads() -> int:
    """Intra-op threads for torch: APP_TORCH_THREADS, else the cores this process may run on."""
    configured = os.environ.get("APP_TORCH_THREADS", "").strip()
    if configured:
        return max(1, int(configured))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def set_torch_threads() -> None:
    """Give torch one thread per core; no inter-op pool beyond one thread, since we run one model at a time."""
    torch.set_num_threads(torch_threads())
    with contextlib.suppress(RuntimeError):  # settable only before torch's first parallel work; keep its value then
        torch.set_num_interop_threads(1)


@contextlib.contextmanager
def model_work() -> Iterator[None]:
    """Run the enclosed model computation alone on the device, without autograd bookkeeping."""
    with DEVICE_LOCK, working_memory.measured(), torch.inference_mode():  # the call's peak memory, for the budget
        yield


Item = TypeVar("Item")
Result = TypeVar("Result")


@dataclass(eq=False)  # compared by identity: two requests with equal items are still two requests
class _Waiting(Generic[Item, Result]):
    """A submitted request until its batch has run."""

    key: Hashable
    item: Item
    done: bool = False
    result: Result | None = None
    error: BaseException | None = None


@dataclass
class RequestBatcher(Generic[Item, Result]):
    """Runs requests with the same key that are waiting for the device together, in arrival order.

    `run(key, items)` computes a batch and returns one result per item, in order. A request waits for
    DEVICE_LOCK; whichever waiting request gets it runs up to `max_items` waiting requests of its key at once,
    so batches form exactly when requests queue behind each other, and a lone request never waits for company.
    """

    run: Callable[[Hashable, list[Item]], list[Result]]
    max_items: int
    batch_sizes: Counter[int] = field(default_factory=Counter)  # how many batches ran with each size
    _waiting: list[_Waiting[Item, Result]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def submit(self, key: Hashable, item: Item) -> Result:
        """The result for one item, computed alone or with others of the same key that wait at the same time."""
        request: _Waiting[Item, Result] = _Waiting(key=key, item=item)
        with self._lock:
            self._waiting.append(request)
        with DEVICE_LOCK:
            while not request.done:  # a batch run by an earlier request may already have taken ours
                self._run_batch(self._take(key))
        if request.error is not None:
            raise request.error
        return request.result  # type: ignore[return-value]

    def waiting(self) -> int:
        """Requests submitted and not yet taken into a batch."""
        with self._lock:
            return len(self._waiting)

    def _take(self, key: Hashable) -> list[_Waiting[Item, Result]]:
        """Up to max_items waiting requests of `key`, oldest first, removed from the wait list."""
        with self._lock:
            batch = [request for request in self._waiting if request.key == key][: self.max_items]
            self._waiting = [request for request in self._waiting if request not in batch]
        return batch

    def _run_batch(self, batch: list[_Waiting[Item, Result]]) -> None:
        """Compute a batch; if it fails, compute its requests one by one so an error stays with its request."""
        self.batch_sizes[len(batch)] += 1
        try:
            results = self.run(batch[0].key, [request.item for request in batch])
        except Exception as error:
            if len(batch) == 1:
                batch[0].error = error
                batch[0].done = True
            else:
                for request in batch:
                    self._run_batch([request])
            return
        for request, result in zip(batch, results, strict=True):
            request.result = result
            request.done = True
