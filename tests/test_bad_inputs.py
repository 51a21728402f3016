"""Bad inputs through the HTTP API: each gets our specific message, and the same tab then serves a valid request."""

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile
from gradio_client import Client, handle_file
from PIL import Image

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PHOTO = ASSETS / "images" / "chelsea.jpg"
SPEECH = ASSETS / "audio" / "en.wav"
FAST_ASR = "facebook/wav2vec2-base-960h"


def png_of_zeros(width: int, height: int) -> bytes:
    """A real greyscale PNG of zeros, compressed row by row (12000x10000 is about 117 KB)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    compressor = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # filter byte + pixels
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def image_bytes(picture: Image.Image, format: str, **options: object) -> bytes:
    """An image encoded in memory."""
    buffer = io.BytesIO()
    picture.save(buffer, format=format, **options)
    return buffer.getvalue()


def audio_bytes(samples: np.ndarray, rate: int, format: str = "WAV") -> bytes:
    """Audio encoded in memory."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=format)
    return buffer.getvalue()


def flac_silence(seconds: int, rate: int = 8_000) -> bytes:
    """A FLAC file of silence, written a minute at a time (two hours is a few hundred KB)."""
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", samplerate=rate, channels=1, format="FLAC") as file:
        for _ in range(seconds // 60):
            file.write(np.zeros(rate * 60, dtype=np.float32))
    return buffer.getvalue()


def truncated_jpeg() -> bytes:
    """A real photo cut in half."""
    data = PHOTO.read_bytes()
    return data[: len(data) // 2]


def animated_gif() -> bytes:
    """Two frames, red then blue."""
    frames = [Image.new("RGB", (64, 64), color) for color in ((255, 0, 0), (0, 0, 255))]
    return image_bytes(frames[0], "GIF", save_all=True, append_images=frames[1:])


# (name, file bytes, suffix, the message we expect; None when the input must simply work)
BAD_IMAGES: list[tuple[str, Callable[[], bytes], str, str | None]] = [
    ("random bytes", lambda: np.random.default_rng(0).bytes(4096), ".png", "could not be read as an image"),
    ("empty file", lambda: b"", ".png", "empty"),
    ("truncated JPEG", truncated_jpeg, ".jpg", "damaged or incomplete"),
    ("12000x10000 PNG of zeros", lambda: png_of_zeros(12_000, 10_000), ".png", "megapixels"),
    ("SVG", lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect/></svg>', ".svg",
     "could not be read as an image"),
    ("CMYK JPEG", lambda: image_bytes(Image.new("CMYK", (64, 64), (0, 200, 200, 0)), "JPEG"), ".jpg", None),
    ("16-bit PNG", lambda: image_bytes(Image.fromarray(np.full((64, 64), 40000, np.uint16)), "PNG"), ".png", None),
    ("1x1 image", lambda: image_bytes(Image.new("RGB", (1, 1)), "PNG"), ".png", "at least 16 pixels"),
    ("1x20000 image", lambda: image_bytes(Image.new("L", (1, 20_000)), "PNG"), ".png", "at least 16 pixels"),
    ("animated GIF", animated_gif, ".gif", None),
]
BAD_AUDIO: list[tuple[str, Callable[[], bytes], str, str | None]] = [
    ("random bytes", lambda: np.random.default_rng(0).bytes(8192), ".wav", "could not be read as audio"),
    ("RIFF header only", lambda: b"RIFF\x24\x00\x00\x00WAVEfmt ", ".wav", "could not be read as audio"),
    ("0.01 s clip", lambda: audio_bytes(np.zeros(160, np.float32), 16_000), ".wav", "at least 0.1 s"),
    ("8 channels at 192 kHz", lambda: audio_bytes(np.zeros((96_000, 8), np.float32), 192_000), ".wav", None),
    ("2 hours of FLAC silence", lambda: flac_silence(2 * 3600), ".flac", "minutes long"),
]


def resident_bytes() -> int:
    """This process's resident memory (the app runs in it)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def expect(call: Callable[[], object], message: str | None) -> None:
    """The call fails with our message, or succeeds when no message is expected."""
    if message is None:
        call()
        return
    with pytest.raises(Exception) as raised:
        call()
    assert message in str(raised.value), str(raised.value)


@pytest.mark.parametrize(("name", "make", "suffix", "message"), BAD_IMAGES, ids=[case[0] for case in BAD_IMAGES])
def test_bad_images(client: Client, tmp_path: Path, name: str, make: Callable[[], bytes], suffix: str,
                    message: str | None) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(make())
    before = resident_bytes()
    expect(lambda: client.predict(image=handle_file(path), labels="cat, dog", model="openai/clip-vit-base-patch32",
                                  api_name="/classify_image"), message)
    assert resident_bytes() - before < 200 * 1024 * 1024  # no bomb is ever decoded
    *_, result = client.predict(image=handle_file(PHOTO), labels="cat, dog", model="openai/clip-vit-base-patch32",
                                api_name="/classify_image")
    assert len(result["labels"]) == 2


@pytest.mark.parametrize(("name", "make", "suffix", "message"), BAD_AUDIO, ids=[case[0] for case in BAD_AUDIO])
def test_bad_audio(client: Client, tmp_path: Path, name: str, make: Callable[[], bytes], suffix: str,
                   message: str | None) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(make())
    before = resident_bytes()
    expect(lambda: client.predict(audio=handle_file(path), model=FAST_ASR, api_name="/transcribe"), message)
    assert resident_bytes() - before < 200 * 1024 * 1024  # two hours of audio is refused from the header
    *_, result = client.predict(audio=handle_file(SPEECH), model=FAST_ASR, api_name="/transcribe")
    assert result["model"] == FAST_ASR


@pytest.mark.parametrize(("name", "text", "message"), [
    ("empty", "", "Enter some text"),
    ("whitespace", " \n\t  ", "Enter some text"),
    ("5 MB", "a" * 5_000_000, "the limit is 5,000"),
    ("emoji, RTL, zero-width and NUL", "Hello 🎉 שלום\u200b wor\x00ld", None),
])
def test_bad_text(client: Client, name: str, text: str, message: str | None) -> None:
    expect(lambda: client.predict(text=text, source_language="en", target_language="fr", api_name="/translate"),
           message)
    expect(lambda: client.predict(text=text, model="facebook/mms-tts-eng", api_name="/synthesize_speech"), message)
    translation, result = client.predict(text="Good morning.", source_language="en", target_language="fr",
                                         api_name="/translate")
    assert result["translation"] == translation


@pytest.mark.parametrize(("name", "labels", "message"), [
    ("no labels", " , , ", "at least one"),
    ("duplicate labels", "cat, cat, Cat, dog", None),
    ("500 labels", ",".join(f"label {n}" for n in range(500)), "the limit is 50"),
])
def test_bad_labels(client: Client, name: str, labels: str, message: str | None) -> None:
    expect(lambda: client.predict(image=handle_file(PHOTO), labels=labels, model="openai/clip-vit-base-patch32",
                                  api_name="/classify_image"), message)


def test_unknown_model_and_language(client: Client) -> None:
    expect(lambda: client.predict(text="Hello", model="evil/remote-code", api_name="/synthesize_speech"),
           "Unknown model 'evil/remote-code' for this task. Choose one of: suno/bark-small, suno/bark, "
           "facebook/mms-tts-eng.")
    expect(lambda: client.predict(image=handle_file(PHOTO), model="../../etc/passwd", api_name="/estimate_depth"),
           "Unknown model")
    expect(lambda: client.predict(text="Hello", source_language="Klingon", target_language="fr",
                                  api_name="/translate"), "Unknown source language")
    expect(lambda: client.predict(audio=handle_file(SPEECH), model="openai/whisper-base", language="Elvish",
                                  api_name="/transcribe"), "does not know the language")
    expect(lambda: client.predict(audio=handle_file(SPEECH), model="facebook/mms-1b-all", language="Elvish",
                                  api_name="/transcribe"), "ISO 639-3 code such as swh")
    expect(lambda: client.predict(audio=handle_file(SPEECH), model="facebook/wav2vec2-xls-r-300m-21-to-en",
                                  task="transcribe", api_name="/transcribe"), "only translates speech into English")
    # MMS-LID is a helper of MMS-1b-all, not a transcription model.
    expect(lambda: client.predict(audio=handle_file(SPEECH), model="facebook/mms-lid-126", api_name="/transcribe"),
           "Unknown model")


def test_user_text_is_not_echoed_as_html(client: Client) -> None:
    with pytest.raises(Exception) as raised:
        client.predict(text="Hello", source_language="<img src=x onerror=alert(1)>", target_language="fr",
                       api_name="/translate")
    assert "<img" not in str(raised.value) and "&lt;img" in str(raised.value)
