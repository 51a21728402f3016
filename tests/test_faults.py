"""Faults through the API surfaces: a missing model offline, corrupt weights, out of memory, a failure anywhere in an
event (our message with a request id on gradio_client, MCP and /v1); the app keeps serving."""

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

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


# Our message for a fault on our side; its request id is also in the log.
SERVER_ERROR = re.compile(r"Something went wrong on our side \(request ([0-9a-f]{8})\)")
SPEECH_MODEL = "facebook/mms-tts-eng"
TWO_SENTENCES = "Hello there. This is the second sentence."  # the first is streamed before the whole text is done


def speech_event() -> Any:
    """The /synthesize_speech event of the running app."""
    import app

    return next(fn for fn in app.demo.fns.values() if fn.api_name == "synthesize_speech")


def fail_on_purpose(where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every /synthesize_speech request fail `where`: in the task, in a streamed output, in the last output."""

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("deliberate fault /internal/path")

    if where == "inside the task":
        from demos import synthesize_speech as tab

        monkeypatch.setattr(tab.task, "stream_speech", broken)
        return
    # gradio's own processing of what the task returned (as a missing ffmpeg failed in the streamed audio).
    outputs = speech_event().outputs
    if where == "in a streamed output":
        streamed = next(component for component in outputs if getattr(component, "streaming", False))
        monkeypatch.setattr(streamed, "postprocess", broken)
    else:
        # The JSON result comes last. Its class is patched: after a gr.skip() gradio postprocesses a fresh copy of
        # the component kept in the session, not the page's own. (No other event runs during these tests.)
        monkeypatch.setattr(type(outputs[-1]), "postprocess", broken)


def assert_ours(text: str, caplog: pytest.LogCaptureFixture) -> None:
    """`text` is our server-error message, its request id is in the log, and nothing of the fault leaks."""
    match = SERVER_ERROR.search(text)
    assert match, text
    assert match.group(1) in caplog.text  # the id a user reports finds the traceback
    assert "upstream Gradio app" not in text and "/internal/path" not in text


@pytest.mark.parametrize("where", ["inside the task", "in a streamed output", "in the last output"])
def test_a_fault_anywhere_is_our_message_on_every_surface(where: str, client: Client, app_url: str,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from tests.clients import call_tool

    fail_on_purpose(where, monkeypatch)
    # gradio_client (the HTTP API)
    with pytest.raises(AppError) as raised:
        client.predict(text=TWO_SENTENCES, model=SPEECH_MODEL, api_name="/synthesize_speech")
    assert raised.value.title == "Server error"
    assert_ours(raised.value.message, caplog)
    # MCP
    result = call_tool(app_url, "synthesize_speech", {"text": TWO_SENTENCES, "model": SPEECH_MODEL})
    assert result.isError
    assert_ours(" ".join(item.text for item in result.content if hasattr(item, "text")), caplog)
    # OpenAI-compatible /v1: a server fault is a 500 server_error, never the caller's 400
    response = httpx.post(app_url + "v1/audio/speech", json={"model": SPEECH_MODEL, "input": TWO_SENTENCES,
                                                              "response_format": "wav"}, timeout=120)
    if where == "in a streamed output":  # the route asks /synthesize_speech_wav for the whole WAV: nothing streamed
        assert response.status_code == 200 and response.content.startswith(b"RIFF")
    else:
        assert response.status_code == 500, response.text
        assert response.json()["error"]["type"] == "server_error"
        assert_ours(response.json()["error"]["message"], caplog)
    monkeypatch.undo()
    other_tab_works(client)  # the same event works again once the fault is gone


def test_an_input_gradio_cannot_read_is_the_callers_mistake(app_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # A file path the app was never given, sent over gradio's plain HTTP API: gradio refuses it before the task runs.
    data = [{"path": "/etc/hostname", "meta": {"_type": "gradio.FileData"}}, "cat"]
    posted = httpx.post(app_url + "gradio_api/call/classify_image", json={"data": data}, timeout=30)
    posted.raise_for_status()
    events = httpx.get(app_url + f"gradio_api/call/classify_image/{posted.json()['event_id']}", timeout=60).text
    assert "event: error" in events, events
    match = re.search(r"One of the inputs could not be read \(request ([0-9a-f]{8})\)", events)
    assert match, events
    assert match.group(1) in caplog.text
    assert "/etc/hostname" not in events and "upstream Gradio app" not in events


def test_a_model_that_cannot_be_had_is_a_503_on_v1(app_url: str, models_dir: Path) -> None:
    whisper = "openai/whisper-base"
    models.CACHE.unload(whisper)
    folder = models_dir / whisper
    hidden = folder.with_name(folder.name + ".hidden")
    folder.rename(hidden)  # offline and not in MODELS_DIR
    try:
        with open(ASSETS / "audio" / "en.wav", "rb") as audio:
            response = httpx.post(app_url + "v1/audio/transcriptions", files={"file": audio},
                                  data={"model": whisper}, timeout=60)
    finally:
        hidden.rename(folder)
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["type"] == "server_error" and "not available offline" in error["message"]
