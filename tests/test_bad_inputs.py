"""Bad inputs through the HTTP API: each gets our specific message, and the same tab then serves a valid request."""

import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
import soundfile
from gradio_client import Client, handle_file
from PIL import Image

from tests import video_clips

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PHOTO = ASSETS / "images" / "chelsea.jpg"
SPEECH = ASSETS / "audio" / "en.wav"
INVOICE = ASSETS / "documents" / "invoice.png"
CLIP = ASSETS / "video" / "juggling.mp4"
FAST_VIDEO = "MCG-NJU/videomae-small-finetuned-kinetics"
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

# Video files are made by tests/video_clips.py; each is uploaded as .mp4, whatever it holds.
BAD_VIDEOS: list[tuple[str, Callable[[], bytes], str | None]] = [
    ("corrupt (random bytes)", lambda: np.random.default_rng(0).bytes(8192), "could not be read as a video"),
    ("empty file", lambda: b"", "empty"),
    ("still image renamed .mp4", video_clips.still_png, "still image, not a video"),
    ("truncated MP4", lambda: CLIP.read_bytes()[:8000], "damaged"),
    ("0-frame MP4", video_clips.empty_clip, "holds no frames"),
    ("200 s clip (too long by its header)", lambda: video_clips.long_clip(200), "the limit is 120 s"),
    ("WebM without a duration, as webcams record", lambda: video_clips.numbered_clip(
        30, container_format="webm", codec="libvpx-vp9", seekable=False), None),
]


def blank_pdf(pages: int) -> bytes:
    """A PDF of empty US Letter pages."""
    document = pdfium.PdfDocument.new()
    for _ in range(pages):
        document.new_page(612, 792)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


BAD_DOCUMENTS: list[tuple[str, Callable[[], bytes], str, str | None]] = [
    ("10,000-page PDF", lambda: blank_pdf(10_000), ".pdf", "The PDF has 10,000 pages"),
    ("truncated PDF", lambda: INVOICE.with_suffix(".pdf").read_bytes()[:2000], ".pdf", "could not be opened"),
    ("random bytes", lambda: np.random.default_rng(0).bytes(4096), ".pdf", "neither a PDF nor an image"),
    ("12000x10000 PNG of zeros", lambda: png_of_zeros(12_000, 10_000), ".png", "megapixels"),
    ("a page without text", lambda: image_bytes(Image.new("RGB", (600, 800), "white"), "PNG"), ".png", None),
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


SEGMENTATION_CASES = [case for case in BAD_IMAGES if case[0] in ("random bytes", "truncated JPEG",
                                                                 "12000x10000 PNG of zeros", "1x1 image", "16-bit PNG")]


@pytest.mark.parametrize(("name", "make", "suffix", "message"), SEGMENTATION_CASES,
                         ids=[case[0] for case in SEGMENTATION_CASES])
def test_bad_images_for_segmentation(client: Client, tmp_path: Path, name: str, make: Callable[[], bytes],
                                     suffix: str, message: str | None) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(make())
    expect(lambda: client.predict(image=handle_file(path), api_name="/segment_image"), message)
    expect(lambda: client.predict(image=handle_file(PHOTO), model="nvidia/mit-b0", api_name="/segment_image"),
           "Unknown model 'nvidia/mit-b0'")
    *_, result = client.predict(image=handle_file(PHOTO), api_name="/segment_image")
    assert result["classes"]


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


@pytest.mark.parametrize(("name", "make", "suffix", "message"), BAD_DOCUMENTS,
                         ids=[case[0] for case in BAD_DOCUMENTS])
def test_bad_documents(client: Client, tmp_path: Path, name: str, make: Callable[[], bytes], suffix: str,
                       message: str | None) -> None:
    path = tmp_path / f"upload{suffix}"
    path.write_bytes(make())
    before = resident_bytes()
    if message is None:  # a page without text is not an error: the answer says so
        *_, result = client.predict(document=handle_file(path), question="What is the total?",
                                    api_name="/answer_document")
        assert result["answer"] == "" and result["note"].startswith("No text found")
    else:
        expect(lambda: client.predict(document=handle_file(path), question="What is the total?",
                                      api_name="/answer_document"), message)
    assert resident_bytes() - before < 200 * 1024 * 1024  # nothing is rendered or decoded past the limits
    *_, result = client.predict(document=handle_file(INVOICE), question="What is the total?",
                                api_name="/answer_document")
    assert result["answer"]


@pytest.mark.parametrize(("name", "make", "message"), BAD_VIDEOS, ids=[case[0] for case in BAD_VIDEOS])
def test_bad_videos(client: Client, tmp_path: Path, name: str, make: Callable[[], bytes],
                    message: str | None) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(make())
    expect(lambda: client.predict(video=handle_file(path), model=FAST_VIDEO, api_name="/classify_video"), message)
    *_, result = client.predict(video=handle_file(CLIP), model=FAST_VIDEO, api_name="/classify_video")
    assert result["model"] == FAST_VIDEO and len(result["labels"]) == 5


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
    expect(lambda: client.predict(text=text, model="facebook/mms-tts-eng", api_name="/synthesize_speech_wav"), message)
    translation, result = client.predict(text="Good morning.", source_language="en", target_language="fr",
                                         api_name="/translate")
    assert result["translation"] == translation


@pytest.mark.parametrize(("name", "text", "model", "language", "message"), [
    ("no mask", "Paris is the capital of France.", "FacebookAI/xlm-roberta-base", "auto",
     "(or [MASK]) where the missing word goes"),  # gr.Error shows HTML: the API gets &lt;mask&gt;
    ("two masks", "The <mask> sat on the [MASK].", "FacebookAI/xlm-roberta-base", "auto", "has 2 masks"),
    ("5 MB", "a" * 5_000_000 + " <mask>", "FacebookAI/xlm-roberta-base", "auto", "the limit is 5,000"),
    ("600 words", "word " * 600 + "<mask>.", "FacebookAI/xlm-roberta-large", "auto", "reads at most 512"),
    ("unknown language for XLM", "Der Hund ist <mask>.", "FacebookAI/xlm-mlm-enfr-1024", "German",
     "It knows: English (en), French (fr)"),
    ("language for XLM-R", "Der Hund ist <mask>.", "FacebookAI/xlm-roberta-base", "Klingon", None),  # ignored
])
def test_bad_masked_text(client: Client, name: str, text: str, model: str, language: str,
                         message: str | None) -> None:
    expect(lambda: client.predict(text=text, model=model, language=language, api_name="/fill_mask"), message)
    _, result = client.predict(text="Paris is the <mask> of France.", api_name="/fill_mask")
    assert len(result["predictions"]) == 5


@pytest.mark.parametrize(("name", "labels", "message"), [
    ("no labels", " , , ", "at least one"),
    ("duplicate labels", "cat, cat, Cat, dog", None),
    ("500 labels", ",".join(f"label {n}" for n in range(500)), "the limit is 50"),
    ("empty labels", "", None),  # not a mistake: the ImageNet classifier's classes
])
def test_bad_labels(client: Client, name: str, labels: str, message: str | None) -> None:
    expect(lambda: client.predict(image=handle_file(PHOTO), labels=labels, model="openai/clip-vit-base-patch32",
                                  api_name="/classify_image"), message)


def test_labels_for_the_imagenet_classifier_are_refused(client: Client) -> None:
    expect(lambda: client.predict(image=handle_file(PHOTO), labels="cat, dog", model="google/vit-base-patch16-224",
                                  api_name="/classify_image"), "takes no labels")


@pytest.mark.parametrize(("name", "question", "model", "message"), [
    ("a question to a captioning model", "what is this?", "microsoft/git-base-coco", "does not answer questions"),
    ("no question to the question model", " ", "microsoft/git-base-vqav2", "answers questions about the image"),
    ("a 2,000-character question", "why " * 500, "", "the limit is 300"),
    ("an unknown model", "", "microsoft/git-base-textvqa", "Unknown model"),
    ("NUL, zero-width and RTL in the question", "what\x00 is\u200b this שלום?", "", None),
])
def test_bad_caption_requests(client: Client, name: str, question: str, model: str, message: str | None) -> None:
    expect(lambda: client.predict(image=handle_file(PHOTO), question=question, model=model,
                                  api_name="/caption_image"), message)
    text, result = client.predict(image=handle_file(PHOTO), api_name="/caption_image")
    assert result["text"] == text and result["model"] == "microsoft/git-base-coco"


def test_bad_image_to_captioning(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "upload.png"
    path.write_bytes(png_of_zeros(12_000, 10_000))
    expect(lambda: client.predict(image=handle_file(path), api_name="/caption_image"), "megapixels")


def test_unknown_model_and_language(client: Client) -> None:
    expect(lambda: client.predict(text="Hello", model="evil/remote-code", api_name="/synthesize_speech"),
           "Unknown model 'evil/remote-code' for this task. Choose one of: suno/bark-small, suno/bark, "
           "facebook/mms-tts-eng, facebook/mms-tts-spa, ")  # ... and the other MMS-TTS voices
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
