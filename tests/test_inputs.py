"""Safe decoding of images, audio and text: what is accepted, what is refused and with which message."""

import io
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from backend import inputs, limits
from backend.errors import InputError
from backend.inputs import clean_text, load_audio, load_image, split_items


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and header claiming width x height, with one row of pixel data (~100 bytes)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * (width + 1)))
            + chunk(b"IEND", b""))


def encoded(picture: Image.Image, format: str, **options: object) -> bytes:
    """An image saved to bytes."""
    buffer = io.BytesIO()
    picture.save(buffer, format=format, **options)
    return buffer.getvalue()


def gradient(width: int = 64, height: int = 48) -> Image.Image:
    """A small RGB test picture."""
    columns = np.tile(np.linspace(0, 255, width, dtype=np.uint8), (height, 1))
    return Image.fromarray(np.stack([columns, columns[::-1], np.full_like(columns, 128)], axis=-1))


# --- images: accepted -------------------------------------------------------------------------------------------


def test_exif_rotation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    picture = load_image(encoded(gradient(64, 48), "JPEG", exif=exif))
    assert picture.size == (48, 64) and picture.mode == "RGB"


@pytest.mark.parametrize(("picture", "format"), [
    (Image.new("RGBA", (40, 30), (255, 0, 0, 0)), "PNG"),  # fully transparent: composited on white
    (Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG"),
    (Image.new("P", (40, 30)), "GIF"),
    (gradient().convert("L"), "BMP"),
    (gradient(), "WEBP"),
    (gradient(), "TIFF"),
])
def test_common_formats_and_modes_become_rgb(picture: Image.Image, format: str) -> None:
    loaded = load_image(encoded(picture, format))
    assert loaded.mode == "RGB" and loaded.size == picture.size


def test_transparent_pixels_become_white() -> None:
    loaded = load_image(encoded(Image.new("RGBA", (40, 30), (255, 0, 0, 0)), "PNG"))
    assert loaded.getpixel((0, 0)) == (255, 255, 255)


def test_sixteen_bit_grey_keeps_its_brightness() -> None:
    mid_grey = Image.fromarray(np.full((32, 32), 32768, dtype=np.uint16))
    loaded = load_image(encoded(mid_grey, "PNG"))
    assert abs(loaded.getpixel((0, 0))[0] - 128) <= 1


def test_animated_gif_gives_its_first_frame() -> None:
    frames = [Image.new("RGB", (32, 32), color) for color in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:])
    red, green, blue = load_image(data).getpixel((5, 5))
    assert red > 200 and blue < 50


def test_paths_pil_images_and_arrays_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "photo.png"
    gradient().save(path)
    assert load_image(path).size == (64, 48)
    assert load_image(str(path)).size == (64, 48)
    assert load_image(gradient()).size == (64, 48)
    assert load_image(np.zeros((48, 64, 3), dtype=np.uint8)).size == (64, 48)
    assert load_image(np.ones((48, 64), dtype=np.float32)).getpixel((0, 0)) == (255, 255, 255)


# --- images: refused --------------------------------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    """A real JPEG cut in half, like an interrupted upload."""
    data = encoded(gradient(256, 256), "JPEG")
    return data[: len(data) // 2]


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (bytes(range(256)) * 40, "could not be read as an image"),
    (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>', "could not be read as an image"),
    (b"%PDF-1.4\n", "could not be read as an image"),
    (truncated_jpeg(), "damaged or incomplete"),
    (png_header_only(1, 1), "at least 16 pixels"),
    (png_header_only(1, 20000), "at least 16 pixels"),
    (png_header_only(100, 3000), "too long and thin"),
])
def test_bad_images_are_refused_with_a_message(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_image(data)


@pytest.mark.parametrize(("width", "height"), [(20000, 20000), (12000, 10000)])
def test_decompression_bombs_are_refused_from_the_header(width: int, height: int) -> None:
    data = png_header_only(width, height)
    assert len(data) < 1000
    tracemalloc.start()
    with pytest.raises(InputError, match="megapixels"):
        load_image(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 5_000_000  # bytes; decoding would have needed hundreds of MB


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_IMAGE_BYTES", 1000)
    path = tmp_path / "big.png"
    noise = np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)
    path.write_bytes(encoded(Image.fromarray(noise), "PNG"))  # about 120 KB
    with pytest.raises(InputError, match="the limit is 0.0 MB"):
        load_image(path)


def test_no_image_is_refused() -> None:
    with pytest.raises(InputError, match="Upload an image"):
        load_image(None)


# --- audio --------------------------------------------------------------------------------------------------------


def wav_bytes(samples: np.ndarray, rate: int, format: str = "WAV") -> bytes:
    """Samples written as an audio file in memory."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=format)
    return buffer.getvalue()


def test_stereo_44k_is_mixed_to_mono_and_resampled_keeping_its_pitch(tmp_path: Path) -> None:
    rate, seconds, pitch = 44_100, 2.0, 440.0
    tone = np.sin(2 * np.pi * pitch * np.arange(int(rate * seconds)) / rate).astype(np.float32) * 0.5
    path = tmp_path / "stereo.wav"
    soundfile.write(path, np.stack([tone, tone], axis=1), rate)
    samples = load_audio(path, sampling_rate=16_000)
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) - 32_000) <= 16
    spectrum = np.abs(np.fft.rfft(samples))
    assert abs(np.argmax(spectrum) * 16_000 / len(samples) - pitch) < 2  # Hz


def test_eight_channels_at_192k_are_mixed_and_resampled() -> None:
    rate = 192_000
    samples = np.random.default_rng(0).uniform(-0.1, 0.1, (rate // 2, 8)).astype(np.float32)
    result = load_audio(wav_bytes(samples, rate), sampling_rate=16_000)
    assert result.ndim == 1 and abs(len(result) - 8_000) <= 16


@pytest.mark.parametrize(("samples", "rate"), [
    ((np.sin(np.arange(16_000) / 10) * 20_000).astype(np.int16), 16_000),
    (np.zeros((48_000, 2), dtype=np.int32), 48_000),
    (np.zeros(8_000, dtype=np.float64), 8_000),
])
def test_rate_and_array_pairs_are_accepted(samples: np.ndarray, rate: int) -> None:
    result = load_audio((rate, samples), sampling_rate=16_000)
    assert result.dtype == np.float32 and result.ndim == 1 and np.abs(result).max() <= 1.0
    assert abs(len(result) - len(samples) * 16_000 / rate) <= 16


def flac_silence(seconds: float, rate: int = 8_000) -> bytes:
    """A FLAC file of silence: compresses to almost nothing, however long."""
    buffer = io.BytesIO()
    with soundfile.SoundFile(buffer, "w", samplerate=rate, channels=1, format="FLAC") as file:
        block = np.zeros(rate * 60, dtype=np.float32)
        for _ in range(int(seconds // 60)):
            file.write(block)
    return buffer.getvalue()


@pytest.mark.parametrize(("data", "message"), [
    (b"", "empty"),
    (b"\x00\x01" * 5000, "could not be read as audio"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "could not be read as audio"),
    (wav_bytes(np.zeros(160, dtype=np.float32), 16_000), "at least 0.1 s"),  # 0.01 s
    (encoded(gradient(), "PNG"), "could not be read as audio"),
])
def test_bad_audio_is_refused_with_a_message(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_audio(data, sampling_rate=16_000)


def test_a_wav_header_without_samples_is_refused() -> None:
    header = wav_bytes(np.zeros(16_000, dtype=np.int16), 16_000)[:44]  # header promising 1 s, no data
    with pytest.raises(InputError, match="s long|less than"):
        load_audio(header, sampling_rate=16_000)


def test_long_audio_is_refused_from_its_header_before_decoding() -> None:
    data = flac_silence(2 * 3600)  # two hours
    assert len(data) < 2_000_000
    tracemalloc.start()
    with pytest.raises(InputError, match="minutes long; the limit is 30 minutes"):
        load_audio(data, sampling_rate=16_000)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 20_000_000  # bytes: the file is read, never its 57.6 million samples


def test_array_audio_over_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "MAX_AUDIO_SECONDS", 5.0)
    with pytest.raises(InputError, match="minutes long"):
        load_audio((16_000, np.zeros(16_000 * 6, dtype=np.int16)), sampling_rate=16_000)


def test_nan_samples_are_refused() -> None:
    with pytest.raises(InputError, match="invalid samples"):
        load_audio((16_000, np.full(16_000, np.nan, dtype=np.float32)), sampling_rate=16_000)


# --- text ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("  hello \n", "hello"),
    ("a\x00b\x07c", "abc"),
    ("emoji 🎉 and עברית and 中文", "emoji 🎉 and עברית and 中文"),
    ("line one\nline two\tend", "line one\nline two\tend"),
    ("cafe\u0301", "café"),  # NFC
])
def test_text_is_cleaned(text: str, expected: str) -> None:
    assert clean_text(text, max_chars=100) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("", "Enter some text"), ("  \n\t ", "Enter some text"), (None, "Enter some text"),
    ("\x00\x00", "Enter some text"), ("x" * 101, "101 characters long; the limit is 100"),
])
def test_bad_text_is_refused(text: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        clean_text(text, max_chars=100)


def test_five_megabytes_of_text_is_refused_quickly() -> None:
    with pytest.raises(InputError, match="the limit is 5,000"):
        clean_text("a" * 5_000_000, max_chars=limits.MAX_TEXT_CHARS)


@pytest.mark.parametrize(("items", "expected"), [
    ("cat, dog\nbird", ["cat", "dog", "bird"]),
    (["cat", " Cat ", "dog", "cat"], ["cat", "dog"]),
    ("a  red   car,, ,", ["a red car"]),
])
def test_items_are_split_cleaned_and_deduplicated(items: str | list[str], expected: list[str]) -> None:
    assert split_items(items) == expected


@pytest.mark.parametrize(("items", "message"), [
    ("", "at least one"), (" , \n ", "at least one"), (None, "at least one"),
    (",".join(f"label {n}" for n in range(500)), "500 labels; the limit is 50"),
    ("x" * 101, "at most 100 characters"),
])
def test_bad_items_are_refused(items: str | None, message: str) -> None:
    with pytest.raises(InputError, match=message):
        split_items(items)
