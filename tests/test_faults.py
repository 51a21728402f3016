"""Model faults through the HTTP API: a missing model offline, corrupt weights, out of memory; the app keeps serving."""

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from gradio_client import Client, handle_file

from backend import models

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MODEL = "facebook/m2m100_1.2B"  # the non-default translation model, loaded only by these tests


def translate(client: Client) -> dict:
    """One translation with MODEL; its JSON result."""
    *_, result = client.predict(text="Good morning.", source_language="en", target_language="fr", model=MODEL,
                                api_name="/translate")
    return result


def other_tab_works(client: Client) -> None:
    """A request on another tab succeeds."""
    *_, result = client.predict(text="Hello.", model="facebook/mms-tts-eng", api_name="/synthesize_speech")
    assert result["duration_s"] > 0


@pytest.fixture
def unloaded(models_dir: Path) -> Iterator[Path]:
    """MODEL not in the app's cache; its folder, restored after the test whatever the test did to it."""
    models.CACHE.unload(MODEL)
    folder = models_dir / MODEL
    backup = folder.with_name(folder.name + ".backup")
    shutil.copytree(folder, backup)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)
    backup.rename(folder)
    models.CACHE.unload(MODEL)


def test_a_missing_model_offline_is_reported_fast_and_works_once_it_appears(client: Client, unloaded: Path) -> None:
    hidden = unloaded.with_name(unloaded.name + ".hidden")
    unloaded.rename(hidden)  # offline (HF_HUB_OFFLINE=1) and not in MODELS_DIR
    started = time.perf_counter()
    with pytest.raises(Exception, match="not available offline"):
        translate(client)
    assert time.perf_counter() - started < 2.0  # seconds
    other_tab_works(client)
    hidden.rename(unloaded)  # the model appears
    assert translate(client)["model"] == MODEL


def test_corrupt_weights_are_reported_and_nothing_stays_half_loaded(client: Client, unloaded: Path) -> None:
    weights = unloaded / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(Exception, match="corrupt or incomplete"):
        translate(client)
    assert not models.CACHE.is_loaded(MODEL)
    other_tab_works(client)


def test_out_of_memory_in_a_forward_pass(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = models.get(MODEL)

    def exhausted(**kwargs: object) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(loaded.model, "generate", exhausted)
    with pytest.raises(Exception, match="ran out of memory on this input. Try a smaller"):
        translate(client)
    monkeypatch.undo()
    assert translate(client)["model"] == MODEL  # the next request succeeds


def test_out_of_memory_while_loading(client: Client, unloaded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_loader = models.CACHE.loader

    def exhausted(*args: object) -> None:
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    monkeypatch.setattr(models.CACHE, "loader", exhausted)
    with pytest.raises(Exception, match="not enough memory to load"):
        translate(client)
    assert models.CACHE.status()["models"] == []  # everything was unloaded to make room
    monkeypatch.setattr(models.CACHE, "loader", real_loader)
    assert translate(client)["model"] == MODEL


def test_a_package_missing_at_call_time_is_named_to_the_user(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from transformers.utils import import_utils

    # OWLv2's image processor asks for scipy when it runs (transformers 5.24); make scipy look absent.
    monkeypatch.setitem(import_utils.BACKENDS_MAPPING, "scipy", (lambda: False, import_utils.SCIPY_IMPORT_ERROR))
    with pytest.raises(Exception, match=r"needs the Python package 'scipy', which is not installed on this server"):
        client.predict(image=handle_file(ASSETS / "images" / "astronaut.jpg"), queries="a flag",
                       model="google/owlv2-base-patch16-ensemble", api_name="/detect_objects")
    monkeypatch.undo()
    other_tab_works(client)
