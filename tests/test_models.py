"""The model cache: loading once, eviction under a budget, errors, device and dtype, on fakes and tiny models."""

import logging
import shutil
import threading
import time
from pathlib import Path

import pytest
import torch

from backend import models
from backend.catalog import CATALOG, ModelSpec
from backend.errors import MissingPackageError, ModelUnavailableError
from backend.models import ModelCache, parse_bytes, pick_device, pick_dtype

IDS = [spec.id for spec in CATALOG]


class CountingLoader:
    """A fake loader: counts loads per id, can be slowed down or made to fail, gives models of a set size."""

    def __init__(self, sizes: dict[str, int] | None = None, delay: float = 0.0) -> None:
        self.sizes = sizes or {}
        self.delay = delay  # seconds each load takes
        self.loads: dict[str, int] = {}
        self.failures_left: dict[str, int] = {}
        self.lock = threading.Lock()

    def __call__(self, spec: ModelSpec, device: torch.device, dtype: torch.dtype) -> tuple[object, object]:
        with self.lock:
            self.loads[spec.id] = self.loads.get(spec.id, 0) + 1
            if self.failures_left.get(spec.id, 0) > 0:
                self.failures_left[spec.id] -= 1
                raise ModelUnavailableError(f"The model {spec.id} is not available offline.")
        time.sleep(self.delay)
        return {"id": spec.id, "bytes": self.sizes.get(spec.id, 100)}, "processor"


def fake_cache(loader: CountingLoader, budget: int = 10_000, estimate_known: bool = False) -> ModelCache:
    """A cache on CPU around a fake loader, measuring fake models by their declared size."""
    def estimate(model_id: str, dtype: torch.dtype) -> int | None:
        return loader.sizes.get(model_id, 100) if estimate_known else None

    return ModelCache(loader=loader, device=torch.device("cpu"), budget_bytes=budget, measure=lambda m: m["bytes"],
                      estimate=estimate)


def test_loads_on_first_use_and_reuses_after() -> None:
    loader = CountingLoader()
    cache = fake_cache(loader)
    first = cache.get(IDS[0])
    second = cache.get(IDS[0])
    assert first is second
    assert loader.loads == {IDS[0]: 1}
    assert second.hits == 1


def test_eight_threads_asking_for_one_unloaded_model_cause_one_load() -> None:
    loader = CountingLoader(delay=0.2)
    cache = fake_cache(loader)
    barrier = threading.Barrier(8)
    results = []

    def ask() -> None:
        barrier.wait()
        results.append(cache.get(IDS[0]))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert loader.loads == {IDS[0]: 1}
    assert len(results) == 8 and all(result is results[0] for result in results)
    assert results[0].hits == 7


def test_different_models_load_in_parallel() -> None:
    loader = CountingLoader()
    together = threading.Barrier(4, timeout=10)  # passes only if all four loads are in progress at once
    cache = fake_cache(loader)
    real_load = cache.loader
    cache.loader = lambda spec, device, dtype: (together.wait(), real_load(spec, device, dtype))[1]
    threads = [threading.Thread(target=cache.get, args=(model_id,)) for model_id in IDS[:4]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not together.broken  # one lock per model: no load waited for another
    assert loader.loads == {model_id: 1 for model_id in IDS[:4]}


def test_least_recently_used_model_is_evicted_first() -> None:
    a, b, c = IDS[:3]
    cache = fake_cache(CountingLoader(), budget=250)  # two 100-byte models fit, three do not
    cache.get(a)
    cache.get(b)
    cache.get(a)  # a is now more recent than b
    cache.get(c)
    assert cache.is_loaded(a) and cache.is_loaded(c)
    assert not cache.is_loaded(b)
    assert cache.status()["used_bytes"] == 200


def test_room_is_made_before_loading_when_the_size_is_known() -> None:
    a, b, c = IDS[:3]
    loader = CountingLoader()
    cache = fake_cache(loader, budget=250, estimate_known=True)
    cache.get(a)
    cache.get(b)
    seen_while_loading = []
    original = loader.__call__

    def loading_c(spec: ModelSpec, device: torch.device, dtype: torch.dtype) -> tuple[object, object]:
        seen_while_loading.append(cache.status()["used_bytes"])
        return original(spec, device, dtype)

    cache.loader = loading_c
    cache.get(c)
    assert seen_while_loading == [100]  # a was unloaded before c's weights were read, never 300 bytes at once
    assert not cache.is_loaded(a) and cache.is_loaded(b) and cache.is_loaded(c)


def test_a_model_larger_than_the_budget_loads_alone_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    a, big = IDS[:2]
    cache = fake_cache(CountingLoader(sizes={big: 1000}), budget=500)
    cache.get(a)
    with caplog.at_level(logging.WARNING, logger="backend.models"):
        cache.get(big)
    assert [model["id"] for model in cache.status()["models"]] == [big]
    assert any("more than the whole budget" in record.message for record in caplog.records)


def test_a_failed_load_is_not_remembered_and_a_later_call_retries() -> None:
    loader = CountingLoader()
    loader.failures_left[IDS[0]] = 1
    cache = fake_cache(loader)
    with pytest.raises(ModelUnavailableError, match=IDS[0]):
        cache.get(IDS[0])
    assert not cache.is_loaded(IDS[0])
    assert cache.get(IDS[0]).spec.id == IDS[0]
    assert loader.loads[IDS[0]] == 2


def test_unload_and_unload_all_and_preload() -> None:
    loader = CountingLoader()
    cache = fake_cache(loader)
    cache.preload(IDS[:3])
    assert all(cache.is_loaded(model_id) for model_id in IDS[:3])
    assert cache.unload(IDS[0]) is True
    assert cache.unload(IDS[0]) is False
    cache.unload_all()
    assert cache.status()["models"] == []


def test_status_reports_every_loaded_model() -> None:
    cache = fake_cache(CountingLoader(sizes={IDS[0]: 123}), budget=4096)
    cache.get(IDS[0])
    cache.get(IDS[0])
    status = cache.status()
    assert status["device"] == "cpu" and status["dtype"] == "float32" and status["budget_bytes"] == 4096
    assert status["used_bytes"] == 123
    (model,) = status["models"]
    assert model["id"] == IDS[0] and model["task"] == "classify_image"
    assert model["device"] == "cpu" and model["dtype"] == "float32" and model["bytes"] == 123
    assert model["hits"] == 1 and model["load_seconds"] >= 0 and model["last_used"].startswith("20")


def test_unknown_model_id_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="Unknown model"):
        fake_cache(CountingLoader()).get("someone/else")


def test_cpu_always_gets_float32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DTYPE", "float16")  # only honoured on CUDA
    assert pick_dtype(torch.device("cpu")) == torch.float32
    assert pick_dtype(torch.device("mps")) == torch.float32


def test_device_can_be_forced_and_unavailable_devices_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


@pytest.mark.parametrize(("text", "expected"), [("1024", 1024), ("8GB", 8 * 1024**3), ("512 mb", 512 * 1024**2),
                                                ("1.5e3", 1500)])
def test_budget_sizes_parse(text: str, expected: int) -> None:
    assert parse_bytes(text) == expected


def test_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_MEMORY_BUDGET", "3GB")
    assert ModelCache(loader=CountingLoader(), device=torch.device("cpu")).budget_bytes == 3 * 1024**3


# --- the real loading path, on the tiny checkpoints -------------------------------------------------------


def copy_model(models_dir: Path, model_id: str, target_dir: Path) -> Path:
    """A copy of one tiny checkpoint under another MODELS_DIR."""
    target = target_dir / model_id
    shutil.copytree(models_dir / model_id, target)
    return target


def test_checkpoint_stored_in_float16_loads_as_float32_on_cpu(models_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = "openai/whisper-base"
    real = ModelCache(device=torch.device("cpu")).get(model_id)  # from the session's MODELS_DIR
    real.model.to(torch.float16).save_pretrained(tmp_path / model_id)  # config.json now declares float16
    real.processor.save_pretrained(tmp_path / model_id)
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))
    loaded = ModelCache(device=torch.device("cpu")).get(model_id)
    assert '"float16"' in (tmp_path / model_id / "config.json").read_text()
    assert {parameter.dtype for parameter in loaded.model.parameters()} == {torch.float32}
    assert loaded.dtype == torch.float32


def test_missing_model_offline_names_it_and_the_fix(models_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))  # empty: no model folder, and HF_HUB_OFFLINE=1
    cache = ModelCache(device=torch.device("cpu"))
    with pytest.raises(ModelUnavailableError) as raised:
        cache.get("openai/whisper-base")
    message = str(raised.value)
    assert "openai/whisper-base" in message and "offline" in message and "MODELS_DIR" in message
    assert str(tmp_path) not in message  # no server paths in user-facing messages
    copy_model(models_dir, "openai/whisper-base", tmp_path)  # the model appears: the same call now works
    assert cache.get("openai/whisper-base").spec.id == "openai/whisper-base"


def test_corrupt_weights_give_a_clear_error_and_nothing_half_loaded(models_dir: Path, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = "facebook/mms-tts-eng"
    folder = copy_model(models_dir, model_id, tmp_path)
    weights = folder / "model.safetensors"
    intact = weights.read_bytes()
    weights.write_bytes(intact[: len(intact) // 2])  # truncated download
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))
    cache = ModelCache(device=torch.device("cpu"))
    with pytest.raises(ModelUnavailableError, match=f"weights of {model_id} are corrupt or incomplete"):
        cache.get(model_id)
    assert cache.status()["models"] == []
    weights.write_bytes(intact)
    assert cache.get(model_id).spec.id == model_id


def test_pickle_weights_are_refused(models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model_id = "facebook/mms-tts-eng"
    folder = copy_model(models_dir, model_id, tmp_path)
    real = ModelCache(device=torch.device("cpu")).get(model_id)
    (folder / "model.safetensors").unlink()
    torch.save(real.model.state_dict(), folder / "pytorch_model.bin")  # a pickle checkpoint, as old repos have
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelUnavailableError, match="only safetensors"):
        ModelCache(device=torch.device("cpu")).get(model_id)


def test_real_load_reports_bytes_and_device(models_dir: Path) -> None:
    cache = ModelCache(device=torch.device("cpu"))
    loaded = cache.get("facebook/mms-tts-eng")
    expected = sum(p.numel() * p.element_size() for p in [*loaded.model.parameters(), *loaded.model.buffers()])
    assert loaded.bytes == expected > 0
    assert next(loaded.model.parameters()).device == torch.device("cpu")
    assert not loaded.model.training


def test_real_loads_of_different_models_in_parallel_threads_all_succeed(models_dir: Path) -> None:
    # transformers' from_pretrained is not thread-safe; without the loader's lock this failed with
    # "Cannot copy out of meta tensor" in most runs.
    cache = ModelCache(device=torch.device("cpu"))
    ids = ["facebook/m2m100_418M", "openai/clip-vit-base-patch32", "facebook/detr-resnet-50",
           "facebook/wav2vec2-base-960h", "facebook/mms-tts-eng", "vinvino02/glpn-nyu"]
    start = threading.Barrier(len(ids))
    errors: list[BaseException] = []

    def load(model_id: str) -> None:
        start.wait()
        try:
            cache.get(model_id)
        except Exception as error:  # collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=load, args=(model_id,)) for model_id in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(parameter.device.type == "cpu" for model_id in ids
               for parameter in cache.get(model_id).model.parameters())


def test_the_app_cache_is_module_level() -> None:
    assert isinstance(models.CACHE, ModelCache)


def test_a_processor_that_needs_a_missing_package_names_it(models_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    import transformers
    from transformers.utils import import_utils

    # A processor whose loading asks transformers for scipy, with scipy made to look absent.
    monkeypatch.setitem(import_utils.BACKENDS_MAPPING, "scipy", (lambda: False, import_utils.SCIPY_IMPORT_ERROR))
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained",
                        lambda *args, **kwargs: import_utils.requires_backends(transformers.AutoProcessor, "scipy"))
    with caplog.at_level(logging.ERROR), pytest.raises(MissingPackageError) as raised:
        ModelCache(device=torch.device("cpu")).get("google/owlv2-base-patch16-ensemble")
    message = str(raised.value)
    assert "google/owlv2-base-patch16-ensemble" in message and "'scipy'" in message
    assert "not installed on this server" in message and "pip install scipy" in message
    assert "Traceback" not in message and "Traceback" in caplog.text  # the log keeps the traceback
