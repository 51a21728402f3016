"""The audio track of a video file (MP4, MOV, WebM, MKV), decoded with PyAV, for speech recognition."""

import io
import os
from typing import Any

import av
import numpy as np

from backend.errors import InputError
from backend.inputs import check_duration, read_limited
from backend.limits import MAX_AUDIO_SECONDS, MAX_VIDEO_BYTES

VIDEO_FORMATS = "MP4, MOV, WebM or MKV"
MATROSKA_MAGIC = b"\x1a\x45\xdf\xa3"  # WebM and MKV (EBML header)


def is_video(audio: Any) -> bool:
    """Whether `audio` is a path or bytes holding an MP4/MOV (an "ftyp" box) or WebM/MKV container."""
    if isinstance(audio, bytes):
        head = audio[:12]
    elif isinstance(audio, str | os.PathLike) and os.path.isfile(audio):
        with open(audio, "rb") as file:
            head = file.read(12)
    else:
        return False
    return head[4:8] == b"ftyp" or head[:4] == MATROSKA_MAGIC


def audio_of_video(source: str | os.PathLike | bytes, rate: int) -> tuple[int, np.ndarray]:
    """(rate, mono float32 samples) of a video's first audio track, resampled to `rate` Hz."""
    data = read_limited(source, MAX_VIDEO_BYTES, "video")
    try:
        with av.open(io.BytesIO(data)) as container:
            if not container.streams.audio:
                raise InputError("The video has no audio track, so there is no speech to transcribe; upload a video "
                                 "with sound, or the audio itself.")
            stream = container.streams.audio[0]
            if container.duration:  # microseconds, from the header: refuse before decoding
                check_duration(container.duration / 1_000_000)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            pieces: list[np.ndarray] = []
            count = 0  # samples so far, to stop a header that understates the length
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1))
                    count += pieces[-1].size
                if count > MAX_AUDIO_SECONDS * rate:
                    check_duration(count / rate)
            pieces += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]  # flush
    except av.FFmpegError as error:
        raise InputError(f"The video file could not be decoded (damaged or not a {VIDEO_FORMATS} file); upload it "
                         "again or convert it.") from error
    samples = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
    check_duration(samples.size / rate)
    return rate, samples
