"""An unreachable Hub is reported in seconds, once probed, while models on disk keep loading."""

import socket
from pathlib import Path

import pytest
import torch
import transformers

from backend import hub
from backend.errors import ModelUnavailableError
from backend.models import ModelCache


def closed_port() -> int:
    """A loopback port nobody listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def unreachable_hub(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Hub at a closed loopback port, HF_HUB_OFFLINE unset; returns the list of probed URLs."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    probed: list[str] = []
    real_probe = hub._probe
    monkeypatch.setattr(hub, "_probe", lambda url: probed.append(url) or real_probe(url))
    hub.forget()
    yield probed
    hub.forget()


def test_an_unreachable_hub_fails_at_once_without_asking_transformers(
        unreachable_hub: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELS_DIR", str(tmp_path))  # empty: the model must come from the Hub
    asked = []
    monkeypatch.setattr(transformers.AutoProcessor, "from_pretrained", lambda *a, **k: asked.append(a))
    cache = ModelCache(device=torch.device("cpu"))
    for _ in range(2):  # the second request reuses the remembered answer
        with pytest.raises(ModelUnavailableError) as raised:
            cache.get("openai/whisper-base")
        message = str(raised.value)
        assert "cannot be reached" in message and "openai/whisper-base" in message and "MODELS_DIR" in message
    assert asked == []  # huggingface_hub's minutes of retries never start
    assert len(unreachable_hub) == 1


def test_models_in_models_dir_still_load_while_the_hub_is_unreachable(
        unreachable_hub: list[str], models_dir: Path) -> None:
    loaded = ModelCache(device=torch.device("cpu")).get("facebook/mms-tts-eng")
    assert loaded.spec.id == "facebook/mms-tts-eng"
    assert unreachable_hub == []  # a local folder never needs the Hub


def test_a_reachable_hub_is_asked_and_the_answer_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
        hub.forget()
        assert hub.reachable()
    assert hub.reachable()  # remembered: the closed server is not asked again within REMEMBER_SECONDS
    hub.forget()
    assert not hub.reachable()
    hub.forget()
