"""Session fixtures: every catalog model as a tiny random checkpoint under a temporary MODELS_DIR, fully offline."""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from gradio_client import Client


def pytest_configure(config: pytest.Config) -> None:
    """Before test modules import huggingface_hub: offline with an empty Hub cache, unless -m real_models."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # gradio's upload and output cache in a folder of this run's own, so leak checks count only our files.
    os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="gradio-cache-"))
    # The torch path everywhere, unless a test asks for CTranslate2 (tests/test_engines.py).
    os.environ.setdefault("APP_ENGINE", "torch")
    if "real_models" in (config.option.markexpr or "") and "not real_models" not in config.option.markexpr:
        return  # `-m real_models` downloads real checkpoints into the user's normal cache
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="hf-home-")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A MODELS_DIR holding a tiny random model in the standard layout for every catalog id, set in the environment."""
    from tests.tiny_models import build_all

    folder = build_all(tmp_path_factory.mktemp("models"))
    previous = os.environ.get("MODELS_DIR")
    os.environ["MODELS_DIR"] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop("MODELS_DIR", None)
    else:
        os.environ["MODELS_DIR"] = previous


@pytest.fixture(scope="session")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A photo-sized (1600x1200) JPEG with a smooth background and a few solid shapes."""
    import numpy as np
    from PIL import Image, ImageDraw

    height, width = 1200, 1600
    rows, cols = np.mgrid[0:height, 0:width]
    pixels = np.stack([cols * 255 // width, rows * 255 // height, np.full_like(rows, 96)], axis=-1).astype(np.uint8)
    picture = Image.fromarray(pixels)
    draw = ImageDraw.Draw(picture)
    draw.ellipse((200, 300, 700, 900), fill=(220, 180, 40))
    draw.rectangle((900, 200, 1400, 1000), fill=(30, 60, 200))
    path = tmp_path_factory.mktemp("images") / "photo.jpg"
    picture.save(path, quality=90)
    return path


def speech_like(seconds: float, rate: int = 16_000) -> np.ndarray:
    """Voiced-sounding audio: a 120-240 Hz gliding pitch with harmonics, in 0.3 s syllables, float32 in [-1, 1]."""
    time_s = np.arange(int(seconds * rate)) / rate
    pitch = 180 + 60 * np.sin(2 * np.pi * 0.5 * time_s)  # Hz
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 6))
    syllables = 0.5 * (1 + np.sin(2 * np.pi * time_s / 0.3)) ** 2 / 4
    return (0.3 * voiced * syllables).astype(np.float32)


@pytest.fixture(scope="session")
def speech_3s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 s of speech-like audio, a 16 kHz mono WAV."""
    import soundfile

    path = tmp_path_factory.mktemp("audio") / "speech_3s.wav"
    soundfile.write(path, speech_like(3.0), 16_000)
    return path


@pytest.fixture(scope="session")
def speech_45s(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """45 s of speech-like audio, a 16 kHz mono WAV: longer than one 30 s Whisper window."""
    import soundfile

    path = tmp_path_factory.mktemp("audio") / "speech_45s.wav"
    soundfile.write(path, speech_like(45.0), 16_000)
    return path


def ids_for(task: str) -> list[str]:
    """Catalog ids of one task, for parametrize."""
    from backend.catalog import models_for

    return [spec.id for spec in models_for(task)]


@pytest.fixture(scope="session")
def app_url(models_dir: Path) -> Iterator[str]:
    """The app, launched as `python app.py` would, on a free localhost port; its URL."""
    import app

    app.demo.launch(server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True,
                    **app.launch_settings())
    yield app.demo.local_url
    app.demo.close()


@pytest.fixture(scope="session")
def client(app_url: str, tmp_path_factory: pytest.TempPathFactory) -> Client:
    """A gradio_client for the app, downloading result files into a temporary folder."""
    return Client(app_url, verbose=False, download_files=str(tmp_path_factory.mktemp("downloads")))
