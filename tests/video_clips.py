"""Synthetic video files for tests, encoded in memory with PyAV: every frame's brightness is its index times STEP."""

import io
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

STEP = 4  # brightness per frame index: frame i is grey 4*i (up to 63 frames)


class NonSeekable(io.RawIOBase):
    """A write-only stream that cannot seek back, as a browser's MediaRecorder writes: no duration in the header."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        """Writes are accepted."""
        return True

    def seekable(self) -> bool:
        """No seeking, so muxers cannot go back to fill in the duration."""
        return False

    def write(self, data: bytes) -> int:
        """Append the bytes."""
        self.buffer += data
        return len(data)


def numbered_frames(count: int, width: int = 64, height: int = 48) -> list[np.ndarray]:
    """`count` grey RGB frames, frame i of brightness STEP * i (modulo 256)."""
    return [np.full((height, width, 3), STEP * index % 256, dtype=np.uint8) for index in range(count)]


def encode(frames: list[np.ndarray], container_format: str = "mp4", codec: str = "libx264", fps: float = 25,
           seekable: bool = True) -> bytes:
    """The frames as a video file; libx264 at quantiser 0 keeps grey levels exact."""
    output: io.BytesIO | NonSeekable = io.BytesIO() if seekable else NonSeekable()
    options = {"qp": "0"} if codec == "libx264" else {"crf": "4", "b": "0"}
    with av.open(output, "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=Fraction(fps).limit_denominator(1000), options=options)
        height, width = frames[0].shape[:2] if frames else (48, 64)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        container.start_encoding()  # writes the header even when no frame follows
        for image in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return bytes(output.getvalue() if isinstance(output, io.BytesIO) else output.buffer)


def numbered_clip(count: int, **options: object) -> bytes:
    """An MP4 (or other format) of `count` numbered frames."""
    return encode(numbered_frames(count), **options)


def empty_clip() -> bytes:
    """An MP4 with a video track and no frames."""
    return encode([])


def long_clip(seconds: int) -> bytes:
    """A `seconds`-long MP4 of small frames at 1 fps (a few KB)."""
    return encode(numbered_frames(seconds, 32, 32), fps=1)


def audio_only() -> bytes:
    """An MP4 with one second of AAC audio and no video track."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=16_000)
        samples = np.zeros((1, 1024), dtype=np.float32)
        for index in range(16):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16_000, index * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def still_png() -> bytes:
    """A PNG photo's bytes (meant to be saved as .mp4)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(numbered_frames(1, 64, 64)[0]).save(buffer, format="PNG")
    return buffer.getvalue()


# Codecs per container, all inside PyAV's wheel (no ffmpeg program): (video, audio).
CODECS_BY_SUFFIX = {".mp4": ("mpeg4", "aac"), ".mov": ("mpeg4", "aac"), ".webm": ("libvpx", "libopus"),
                    ".mkv": ("libvpx", "libopus")}


def video_with_sound(path: Path, wav: Path | None, seconds: float = 3.0) -> Path:
    """A small clip (a brightening grey picture, 10 frames a second) in the container its suffix names, with the
    WAV as its sound track (the clip lasts as long as the sound), or without sound for `seconds` when wav is None."""
    video_codec, audio_codec = CODECS_BY_SUFFIX[path.suffix]
    container_format = {".mkv": "matroska", ".mov": "mov"}.get(path.suffix, path.suffix[1:])
    with av.open(str(path), "w", format=container_format) as container:
        picture = container.add_stream(video_codec, rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        if wav is not None:
            sound = container.add_stream(audio_codec, rate=48000)
            resampler = av.AudioResampler(format="fltp" if audio_codec == "aac" else "s16", layout="mono", rate=48000)
            seconds = 0.0
            with av.open(str(wav)) as source:
                for frame in [*source.decode(audio=0), None]:  # None flushes the resampler
                    if frame is not None:
                        seconds += frame.samples / frame.sample_rate
                    for resampled in resampler.resample(frame):
                        container.mux(sound.encode(resampled))
            container.mux(sound.encode(None))
        for index in range(max(1, int(seconds * 10))):
            grey = np.full((48, 64, 3), 40 + index % 200, dtype=np.uint8)
            container.mux(picture.encode(av.VideoFrame.from_ndarray(grey, format="rgb24")))
        container.mux(picture.encode(None))
    return path
