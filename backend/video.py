"""Safe video decoding with PyAV (FFmpeg's libraries, no ffmpeg program): header checks, then sampled frames.

Two steps, so that a bad clip is refused before any model is loaded:
- `probe_video` checks the file's size, its container signature, the frame size and duration in the header, and
  counts the frames by reading packets (no decoding); a header without a duration (browser webcam recordings)
  is bounded while counting.
- `read_frames` decodes once from the start and keeps only the frames asked for, as RGB arrays.

The container format is chosen from the file's first bytes and forced, so FFmpeg never probes its way into other
demuxers: image sequences, or playlists (HLS, concat) that would open further files or URLs.
"""

import io
import os
from dataclasses import dataclass

import av
import numpy as np

from backend.errors import InputError
from backend.inputs import read_limited
from backend.limits import MAX_VIDEO_BYTES, MAX_VIDEO_FRAMES, MAX_VIDEO_PIXELS, MAX_VIDEO_SECONDS

VIDEO_FORMATS = "MP4, MOV, WebM, MKV, AVI or OGG"
_VIDEO_HINT = f"upload an {VIDEO_FORMATS} clip"
# Frames are kept with at most this many pixels on the long side: the models see 224 px, and 16 frames of 4K
# would hold 400 MB.
KEPT_FRAME_SIDE = 640
# Smaller files cannot hold a container header, let alone a frame (an MP4 without any frame is 262 bytes).
MIN_VIDEO_FILE_BYTES = 64
# First bytes of still-image files, to say "this is a picture" rather than "not a video".
_IMAGE_SIGNATURES = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM")

VideoInput = str | os.PathLike | bytes


@dataclass
class VideoInfo:
    """What the header and the packets say about a clip, before anything is decoded."""

    data: bytes  # the file's bytes (at most MAX_VIDEO_BYTES)
    demuxer: str  # the PyAV format name that reads it
    frames: int  # video frames in the clip (packets of its video stream)
    duration_s: float  # seconds, from the packets' timestamps (else the header, else frames / frame rate)
    width: int  # frame size in pixels, from the header
    height: int


@dataclass
class Frames:
    """Decoded frames of a clip: RGB uint8 arrays (height, width, 3), long side at most KEPT_FRAME_SIDE."""

    images: list[np.ndarray]
    indices: list[int]  # each frame's index in the clip, in presentation order


def sniff_demuxer(head: bytes) -> str:
    """The PyAV demuxer for a file's first bytes; an InputError for anything that is not a supported video."""
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):  # ISO base media: MP4, MOV, 3GP
        return "mov"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska and WebM
        return "matroska"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:4] == b"OggS":
        return "ogg"
    if head.startswith(_IMAGE_SIGNATURES) or head[8:12] == b"WEBP":
        raise InputError(f"The file is a still image, not a video; {_VIDEO_HINT} (the Images tabs take pictures).")
    raise InputError(f"The file could not be read as a video; {_VIDEO_HINT}.")


def probe_video(source: VideoInput | None) -> VideoInfo:
    """A clip's facts after the size, format, frame size and duration checks; frames counted, none decoded."""
    if source is None:
        raise InputError("Upload a video or record one with the webcam first.")
    data = read_limited(source, MAX_VIDEO_BYTES, "video")
    if not data:
        raise InputError(f"The video file is empty; {_VIDEO_HINT}.")
    if len(data) < MIN_VIDEO_FILE_BYTES:  # e.g. a webcam recording stopped before the recorder wrote anything
        raise InputError(f"The video file is only {len(data)} B, too small for a clip; record for a few seconds "
                         "longer or upload it again.")
    demuxer = sniff_demuxer(data[:16])
    try:
        with av.open(io.BytesIO(data), format=demuxer) as container:
            if not container.streams:  # an MP4 written without a single frame has no track at all
                raise InputError(f"The video holds no frames; {_VIDEO_HINT}.")
            if not container.streams.video:
                raise InputError(f"The file holds sound but no video track; {_VIDEO_HINT}.")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            check_frame_size(width, height)
            check_video_seconds(header_seconds(container, stream))  # None when the header has no duration
            frames, duration_s = count_frames(container, stream)
    except av.error.FFmpegError as error:
        raise InputError(f"The video is damaged or incomplete; {_VIDEO_HINT}.") from error
    if frames == 0:
        raise InputError(f"The video holds no frames; {_VIDEO_HINT}.")
    return VideoInfo(data=data, demuxer=demuxer, frames=frames, duration_s=duration_s, width=width, height=height)


def header_seconds(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    """The duration the header declares (the video stream's, else the container's), or None."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base  # microseconds
    return None


def count_frames(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> tuple[int, float]:
    """The video stream's packets (one per frame) and the seconds their timestamps span, refusing long clips."""
    frames, start, end = 0, None, None
    for packet in container.demux(stream):
        if packet.size == 0:  # the demuxer's end-of-stream marker
            continue
        frames += 1
        if frames > MAX_VIDEO_FRAMES:
            raise InputError(f"The video has more than {MAX_VIDEO_FRAMES:,} frames; cut it to a shorter clip.")
        if packet.pts is not None and packet.time_base is not None:
            begin = float(packet.pts * packet.time_base)
            finish = begin + float((packet.duration or 0) * packet.time_base)
            start = begin if start is None else min(start, begin)
            end = finish if end is None else max(end, finish)
            check_video_seconds(end - start)  # for headers without a duration
    if start is not None and end is not None and end > start:
        return frames, end - start
    declared = header_seconds(container, stream)
    if declared:
        return frames, declared
    rate = float(stream.average_rate or 0)
    return frames, frames / rate if rate > 0 else 0.0


def check_frame_size(width: int, height: int) -> None:
    """Refuse frames of zero size or more than MAX_VIDEO_PIXELS."""
    if width <= 0 or height <= 0:
        raise InputError(f"The video's frame size is missing from its header; {_VIDEO_HINT}.")
    if width * height > MAX_VIDEO_PIXELS:
        raise InputError(f"The video's frames are {width}x{height} pixels; the limit is "
                         f"{MAX_VIDEO_PIXELS / 1e6:.3g} megapixels. Export it at 1080p or smaller.")


def check_video_seconds(seconds: float | None) -> None:
    """Refuse clips longer than MAX_VIDEO_SECONDS (None: unknown, nothing to check yet)."""
    if seconds is not None and seconds > MAX_VIDEO_SECONDS:
        raise InputError(f"The video is {seconds:.0f} s long; the limit is {MAX_VIDEO_SECONDS:g} s. "
                         "Cut it to a shorter clip.")


def even_indices(total: int, count: int) -> list[int]:
    """`count` frame indices spread evenly over `total` frames, the first frame first; repeats when total < count.

    The same indices as transformers' `default_sample_indices_fn` (its video processors' uniform sampling).
    """
    return [int(index) for index in np.arange(count) * total // count]


def read_frames(info: VideoInfo, indices: list[int]) -> Frames:
    """Decode the clip from the start and keep the frames at `indices` (any order, repeats allowed) as RGB arrays."""
    wanted, last_wanted = set(indices), max(indices)
    kept: dict[int, np.ndarray] = {}
    last_index, last_image = -1, None
    try:
        with av.open(io.BytesIO(info.data), format=info.demuxer) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"  # frame and slice threads in the decoder
            for index, frame in enumerate(container.decode(stream)):
                if index in wanted:
                    kept[index] = to_rgb_array(frame)
                    last_index, last_image = index, kept[index]
                if index >= last_wanted:
                    break
    except av.error.FFmpegError as error:
        raise InputError(f"The video is damaged and could not be decoded; {_VIDEO_HINT}.") from error
    if last_image is None:
        raise InputError(f"No frame of the video could be decoded; {_VIDEO_HINT}.")
    # Fewer frames decoded than packets counted (a damaged tail): missing ones repeat the last frame kept.
    chosen = [index if index in kept else last_index for index in indices]
    return Frames(images=[kept[index] for index in chosen], indices=chosen)


def to_rgb_array(frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as (height, width, 3) uint8 RGB, scaled down to KEPT_FRAME_SIDE on the long side."""
    scale = min(1.0, KEPT_FRAME_SIDE / max(frame.width, frame.height))
    width, height = max(1, round(frame.width * scale)), max(1, round(frame.height * scale))
    return frame.to_ndarray(format="rgb24", width=width, height=height)


def sample_video(source: VideoInput | None, count: int) -> tuple[VideoInfo, Frames]:
    """Probe a clip and decode `count` frames spread evenly over it."""
    info = probe_video(source)
    return info, read_frames(info, even_indices(info.frames, count))

