"""The sound track of a video as mono float32 samples, decoded with PyAV (FFmpeg's libraries, no ffmpeg program).

Speech tasks take a video where they take audio: `is_video` tells the two apart from the file's first bytes, and
`video_audio` decodes the first audio stream, resampled to the rate the caller needs, bounded like any audio.
"""

import io
import os

import av
import numpy as np

from backend.errors import InputError
from backend.inputs import check_duration, read_limited
from backend.limits import MAX_AUDIO_SECONDS, MAX_VIDEO_BYTES
from backend.video import VIDEO_FORMATS, sniff_demuxer

# Containers that hold video (Ogg is left to the audio decoder: it is far more often a sound file).
VIDEO_DEMUXERS = ("mov", "matroska", "avi")


def is_video(source: str | os.PathLike | bytes | object) -> bool:
    """Whether a file (path or bytes) is an MP4/MOV, WebM/MKV or AVI container, by its first bytes."""
    if isinstance(source, bytes | bytearray):
        head = bytes(source[:16])
    elif isinstance(source, str | os.PathLike) and os.path.isfile(source):
        with open(source, "rb") as file:
            head = file.read(16)
    else:
        return False
    try:
        return sniff_demuxer(head) in VIDEO_DEMUXERS
    except InputError:
        return False


def video_audio(source: str | os.PathLike | bytes, sampling_rate: int) -> np.ndarray:
    """The video's first audio stream as mono float32 at `sampling_rate` Hz; an InputError if it has none."""
    data = read_limited(source, MAX_VIDEO_BYTES, "video")
    demuxer = sniff_demuxer(data[:16])
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sampling_rate)
    limit = int((MAX_AUDIO_SECONDS + 1) * sampling_rate)  # decoding stops past the audio limit
    pieces: list[np.ndarray] = []
    kept = 0
    try:
        with av.open(io.BytesIO(data), format=demuxer) as container:
            if not container.streams.audio:
                raise InputError("The video has no audio track (no sound), so there is no speech in it; upload a video "
                                 "with speech, or an audio file.")
            if container.duration:  # microseconds, from the header: a long video is refused before decoding
                check_duration(container.duration / 1_000_000)
            for frame in container.decode(audio=0):
                for resampled in resampler.resample(frame):
                    pieces.append(resampled.to_ndarray().reshape(-1))
                    kept += pieces[-1].size
                if kept > limit:
                    break
            for resampled in resampler.resample(None):  # flush what the resampler holds
                pieces.append(resampled.to_ndarray().reshape(-1))
    except av.error.FFmpegError as error:
        raise InputError(f"The video's sound could not be decoded; upload an {VIDEO_FORMATS} clip.") from error
    samples = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, dtype=np.float32)
    check_duration(len(samples) / sampling_rate)
    if not np.any(samples):
        raise InputError("The video's sound track is silent; upload a video with speech.")
    return samples
