"""The model cache: loads each catalog model the first time a request needs it and keeps it for the next.

- Device: CUDA if present, else Apple MPS, else CPU; `APP_DEVICE=cpu|cuda|mps` forces one.
- Dtype: float32 on CPU and MPS always (bf16/fp16 run 5-10x slower on most CPUs, and transformers 5 would
  otherwise load a checkpoint in the dtype its config declares, e.g. float16 for whisper-large-v3); bfloat16 on
  CUDA when supported, else float16. `APP_DTYPE=float32|float16|bfloat16` overrides it on CUDA only.
- Memory budget: `APP_MEMORY_BUDGET` bytes (suffixes KB/MB/GB accepted). Before and after a load, least recently
  used models are unloaded until the loaded set fits; a model larger than the whole budget still loads alone.
  The loaded set is its weights plus the largest working memory (activations) one of its calls was measured to
  need (backend/working_memory.py); after a call, free memory goes back to the system if resident memory above
  the cache's start has passed the budget.
- Loading (backend/loading.py): `$MODELS_DIR/<org>/<name>/` when that folder exists, else the Hugging Face Hub;
  `trust_remote_code=False` and safetensors weights only, for every model.
"""

import gc
import logging
import os
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import torch

from backend import allocator, compute, working_memory
from backend.catalog import CATALOG, ModelSpec, find_model, set_serving_device
from backend.errors import ResourceExhaustedError
from backend.loading import (  # noqa: F401  (random_weights, local_model_folder: part of this module's API)
    checkpoint_bytes,
    is_out_of_memory,
    load_from_pretrained,
    local_model_folder,
    random_weights,
)

logger = logging.getLogger(__name__)



# Fraction of the device's memory the default budget allows for model weights; the rest is for activations,
# the Python process and (on CPU) the operating system.
DEFAULT_BUDGET_FRACTION = {"cuda": 0.8, "mps": 0.5, "cpu": 0.5}

_SIZE_SUFFIXES = {"": 1, "B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass
class LoadedModel:
    """A model in the cache with its processor and bookkeeping."""

    spec: ModelSpec
    model: Any  # a transformers PreTrainedModel, in eval mode, on `device`
    processor: Any  # what AutoProcessor gives for the checkpoint (processor, image processor or tokenizer)
    device: torch.device
    dtype: torch.dtype
    bytes: int  # parameters + buffers, as placed on the device
    load_seconds: float
    last_used: float = 0.0  # time.time() of the last `get`
    hits: int = 0  # `get` calls served without loading
    working_bytes: int = 0  # the most memory beyond its weights one call was measured to need
    # Per-model memo for task code (e.g. text embeddings of zero-shot labels); dropped with the model.
    memo: dict[str, Any] = field(default_factory=dict)




def parse_bytes(text: str) -> int:
    """Bytes from "8GB", "512 MB", "1.5e9" or "1073741824"."""
    match = re.fullmatch(r"\s*([0-9.eE+]+)\s*([KMGT]?B?)\s*", text.upper())
    if not match:
        raise ValueError(f"Cannot read {text!r} as a size; write e.g. 8GB, 512MB or a number of bytes.")
    return int(float(match.group(1)) * _SIZE_SUFFIXES[match.group(2)])


def pick_device(requested: str | None = None) -> torch.device:
    """The device for models: `requested` or `APP_DEVICE` when given, else CUDA, MPS, CPU in that order."""
    name = (requested or os.environ.get("APP_DEVICE") or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"Device {name!r} was requested but CUDA is not available here; use cpu or auto.")
    if name == "mps" and not torch.backends.mps.is_available():
        raise ValueError("Device 'mps' was requested but MPS is not available here; use cpu or auto.")
    return torch.device(name)


def pick_dtype(device: torch.device) -> torch.dtype:
    """float32 off CUDA; on CUDA `APP_DTYPE` if set, else bfloat16 where supported, else float16."""
    if device.type != "cuda":
        return torch.float32
    requested = os.environ.get("APP_DTYPE", "").strip().lower()
    if requested:
        return {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[requested]
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def default_budget_bytes(device: torch.device) -> int:
    """`APP_MEMORY_BUDGET` if set, else a fraction of the device's total memory."""
    configured = os.environ.get("APP_MEMORY_BUDGET", "").strip()
    if configured:
        return parse_bytes(configured)
    if device.type == "cuda":
        total = torch.cuda.get_device_properties(device).total_memory
    else:  # CPU and MPS share system memory
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(total * DEFAULT_BUDGET_FRACTION[device.type])










def model_bytes(model: Any) -> int:
    """Bytes held by a model's parameters and buffers (for another engine's model: the size it reports)."""
    if not isinstance(model, torch.nn.Module):
        return int(model.bytes)
    from backend.engines import int8

    tensors = list(model.parameters()) + list(model.buffers())
    return sum(tensor.numel() * tensor.element_size() for tensor in tensors) + int8.packed_bytes(model)
















def engine_of(loaded: "LoadedModel") -> tuple[str, str]:
    """Which engine runs a loaded model and at what precision, e.g. ("ctranslate2", "int8") or ("torch", "float32")."""
    from backend.engines import int8
    from backend.engines.ctranslate2_models import CTranslate2Model

    if isinstance(loaded.model, CTranslate2Model):
        return "ctranslate2", loaded.model.compute_type
    if int8.is_quantized(loaded.model):
        return "torch", "int8"
    return "torch", str(loaded.dtype).removeprefix("torch.")








def free_device_memory(device: torch.device) -> None:
    """Return freed memory to the system or driver after models are dropped."""
    gc.collect()
    allocator.release_free_memory()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    elif device.type == "mps":
        torch.mps.empty_cache()


Loader = Callable[[ModelSpec, torch.device, torch.dtype], tuple[Any, Any]]


class ModelCache:
    """Loaded models by Hub id, least recently used first, kept under a byte budget."""

    def __init__(self, loader: Loader = load_from_pretrained, device: torch.device | None = None,
                 budget_bytes: int | None = None, measure: Callable[[Any], int] = model_bytes,
                 estimate: Callable[[str, torch.dtype], int | None] = checkpoint_bytes) -> None:
        self.loader = loader
        self.measure = measure  # bytes of a loaded model
        self.estimate = estimate  # bytes a model will take once loaded, before loading it; None if unknown
        self.device = device or pick_device()
        set_serving_device(self.device.type)  # defaults follow the device (MMS-TTS on CPU, Bark small on GPU)
        self.dtype = pick_dtype(self.device)
        self.budget_bytes = budget_bytes if budget_bytes is not None else default_budget_bytes(self.device)
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()  # guards _models and _load_locks
        self._load_locks: dict[str, threading.Lock] = {}  # one per model id: concurrent first requests load once
        self._working_seen: dict[str, int] = {}  # working bytes by model id, kept across unloads for reloads
        self.start_resident_bytes = working_memory.resident_bytes()  # resident memory before any model loads
        working_memory.on_measured(_weak_listener(self))

    def get(self, model_id: str) -> LoadedModel:
        """The loaded model for a catalog id, loading it first if needed."""
        spec = self._spec(model_id)
        working_memory.note_model(model_id)  # this thread's next computation uses this model
        loaded = self._hit(model_id)
        if loaded:
            return loaded
        with self._load_lock(model_id):
            loaded = self._hit(model_id)  # another thread may have loaded it while we waited
            if loaded:
                return loaded
            return self._load(spec)

    def is_loaded(self, model_id: str) -> bool:
        """Whether a model is in the cache now."""
        with self._lock:
            return model_id in self._models

    def preload(self, model_ids: Iterable[str]) -> list[LoadedModel]:
        """Load several models now (e.g. at start-up), in order; later ones may evict earlier ones."""
        return [self.get(model_id) for model_id in model_ids]

    def unload(self, model_id: str) -> bool:
        """Drop one model and free its memory; False if it was not loaded."""
        with self._lock:
            loaded = self._models.pop(model_id, None)
        if loaded is None:
            return False
        del loaded
        free_device_memory(self.device)
        logger.info("Unloaded %s", model_id)
        return True

    def unload_all(self) -> None:
        """Drop every model and free their memory."""
        with self._lock:
            self._models.clear()
        free_device_memory(self.device)

    def status(self) -> dict[str, Any]:
        """The cache's state as JSON-able data: device, dtype, budget, and each loaded model."""
        with self._lock:
            models = [
                {
                    "id": loaded.spec.id,
                    "task": loaded.spec.task,
                    "label": loaded.spec.label,
                    "device": str(loaded.device),
                    "dtype": engine_of(loaded)[1],
                    "engine": engine_of(loaded)[0],
                    "bytes": loaded.bytes,
                    "load_seconds": round(loaded.load_seconds, 3),
                    "last_used": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(loaded.last_used)),
                    "hits": loaded.hits,
                    "working_bytes": loaded.working_bytes,
                }
                for loaded in reversed(self._models.values())  # most recently used first
            ]
        resident = working_memory.resident_bytes()
        return {
            "device": str(self.device),
            "device_name": _device_name(self.device),
            "dtype": str(self.dtype).removeprefix("torch."),
            "budget_bytes": self.budget_bytes,
            "used_bytes": sum(model["bytes"] for model in models),
            "working_bytes": max((model["working_bytes"] for model in models), default=0),
            # Resident memory of this process above what it held when the cache was made (None off Linux).
            "resident_bytes": None if resident is None or self.start_resident_bytes is None
            else resident - self.start_resident_bytes,
            "models": models,
        }

    def _spec(self, model_id: str) -> ModelSpec:
        """The catalog entry of a model id; unknown ids are a ValueError naming the choices."""
        spec = find_model(model_id)
        if spec is None:
            raise ValueError(f"Unknown model {model_id!r}. Choose one of: {', '.join(s.id for s in CATALOG)}.")
        return spec

    def _hit(self, model_id: str) -> LoadedModel | None:
        """The loaded model, marked as just used, or None."""
        with self._lock:
            loaded = self._models.get(model_id)
            if loaded is not None:
                self._models.move_to_end(model_id)
                loaded.hits += 1
                loaded.last_used = time.time()
            return loaded

    def _load_lock(self, model_id: str) -> threading.Lock:
        """The lock that serialises loads of one model id."""
        with self._lock:
            return self._load_locks.setdefault(model_id, threading.Lock())

    def _load(self, spec: ModelSpec) -> LoadedModel:
        """Load a model, making room first when its size can be estimated, and insert it."""
        estimate = self.estimate(spec.id, self.dtype)
        working = self._working_seen.get(spec.id, 0)
        if estimate is not None:
            self._evict_until_fits(estimate, working)
        logger.info("Loading %s on %s (%s)", spec.id, self.device, self.dtype)
        started = time.perf_counter()
        try:
            model, processor = self.loader(spec, self.device, self.dtype)
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            self.unload_all()  # whatever was partly allocated, and every other model, goes
            raise ResourceExhaustedError(f"There is not enough memory to load {spec.id}; the other models were "
                                         "unloaded to make room. Try again, or choose a smaller model.") from error
        seconds = time.perf_counter() - started
        size = self.measure(model)
        if size > self.budget_bytes:
            logger.warning("%s needs %.2f GB, more than the whole budget of %.2f GB; it is loaded alone.",
                           spec.id, size / 1e9, self.budget_bytes / 1e9)
        working_memory.note_loaded(size)
        self._evict_until_fits(size, working)
        loaded = LoadedModel(spec=spec, model=model, processor=processor, device=self.device, dtype=self.dtype,
                             bytes=size, load_seconds=seconds, last_used=time.time(), working_bytes=working)
        with self._lock:
            self._models[spec.id] = loaded
        logger.info("Loaded %s in %.1f s (%.0f MB)", spec.id, seconds, size / 1e6)
        return loaded

    def accounted_bytes(self, incoming_bytes: int = 0, incoming_working: int = 0) -> int:
        """What the loaded models (and one incoming) count against the budget: weights plus the largest working
        memory of any of them (calls run one at a time). The caller holds self._lock."""
        working = max([incoming_working, *(m.working_bytes for m in self._models.values())])
        return sum(m.bytes for m in self._models.values()) + incoming_bytes + working

    def _evict_until_fits(self, incoming_bytes: int, incoming_working: int = 0, keep: int = 0) -> None:
        """Unload least recently used models until `incoming_bytes` more (needing `incoming_working` to run) fit in
        the budget, keeping at least the `keep` most recently used models."""
        evicted = []
        with self._lock:
            while len(self._models) > keep and self.accounted_bytes(incoming_bytes,
                                                                    incoming_working) > self.budget_bytes:
                model_id, _ = self._models.popitem(last=False)
                evicted.append(model_id)
        if evicted:
            logger.info("Unloaded %s to stay within the memory budget", ", ".join(evicted))
            free_device_memory(self.device)

    def note_working(self, model_id: str, working_bytes: int) -> None:
        """After a call: remember the model's largest working memory, unload others if the set no longer fits, and
        give free memory back when resident memory above the cache's start has passed the budget."""
        with self._lock:
            loaded = self._models.get(model_id)
            grew = loaded is not None and working_bytes > loaded.working_bytes
            if grew:
                loaded.working_bytes = working_bytes
                self._working_seen[model_id] = working_bytes
        if grew:
            self._evict_until_fits(0, keep=1)  # the model just used is the most recent: it stays
        resident = working_memory.resident_bytes()
        if (self.device.type == "cpu" and resident is not None and self.start_resident_bytes is not None
                and resident - self.start_resident_bytes > self.budget_bytes):
            allocator.release_free_memory()


def _weak_listener(cache: ModelCache) -> Callable[[str, int], bool]:
    """cache.note_working, without keeping a discarded cache alive (False once it is gone)."""
    reference = weakref.ref(cache)

    def listener(model_id: str, working_bytes: int) -> bool:
        target = reference()
        if target is not None:
            target.note_working(model_id, working_bytes)
        return target is not None

    return listener


def _device_name(device: torch.device) -> str:
    """A human name for the device, e.g. the GPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads)"


# Threads and glibc's malloc are set once, here, before the first model loads and before the server starts its
# threads (see backend/compute.py and backend/allocator.py).
compute.set_torch_threads()
allocator.configure()
# The app's one cache; task modules get their models from here.
CACHE = ModelCache()


def configure(device: str | None = None) -> ModelCache:
    """Replace the app's cache with a new one on `device` (None: APP_DEVICE or automatic), unloading all models."""
    global CACHE
    CACHE.unload_all()
    CACHE = ModelCache(device=pick_device(device))
    return CACHE


def get(model_id: str) -> LoadedModel:
    """The loaded model for a catalog id, from the app's cache."""
    return CACHE.get(model_id)


def unload(model_id: str) -> bool:
    """Unload one model from the app's cache."""
    return CACHE.unload(model_id)


def unload_all() -> None:
    """Unload every model from the app's cache."""
    CACHE.unload_all()


def preload(model_ids: Iterable[str]) -> list[LoadedModel]:
    """Load models into the app's cache now."""
    return CACHE.preload(model_ids)


def status() -> dict[str, Any]:
    """The app's cache state."""
    return CACHE.status()
