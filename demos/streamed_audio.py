"""A streamed audio output that encodes its chunks in this process with PyAV, so no `ffmpeg` program is needed.

gradio 6's `gr.Audio(streaming=True)` turns each chunk into the AAC segments of an HLS stream by piping it through
an `ffmpeg` process, and fails on a machine without that program (gradio's `require_ffmpeg`). This component keeps
gradio's audio player and its stream routes and implements the same StreamingOutput protocol (`stream_output`,
`flush_stream_output`, `end_stream_output`) with PyAV's AAC encoder, whose wheel (locked as `av`) carries FFmpeg's
libraries. The browser gets the same thing as from gradio: ADTS frames, one encoder per stream so that chunk
boundaries leave no gap, and each segment's duration counted from its frames.
"""

import io
import threading
from typing import Any

import anyio
import av
import gradio as gr
import numpy as np
import soundfile
import soxr

AAC_FRAME_SAMPLES = 1024  # samples per AAC frame, at the encoder's rate
# The rates an ADTS header can declare (ISO 14496-3); other rates are resampled to the nearest of them.
ADTS_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
SEGMENT_EXTENSION = ".aac"  # gradio serves .aac segments as audio/aac and names them so in its playlist


class AacStream:
    """One stream's AAC encoder: 16-bit PCM chunks in, the ADTS frames they complete out."""

    def __init__(self, rate: int, channels: int) -> None:
        self.rate = rate  # Hz of the chunks fed in
        self.channels = channels
        self.output_rate = min(ADTS_RATES, key=lambda candidate: abs(candidate - rate))
        self.buffer = io.BytesIO()
        # flush_packets: each frame reaches the buffer as soon as it is muxed, not when the I/O buffer fills.
        self.container = av.open(self.buffer, mode="w", format="adts", container_options={"flush_packets": "1"})
        self.stream = self.container.add_stream("aac", rate=self.output_rate, layout=layout_name(channels))
        self.sent = 0  # bytes of the buffer already handed out
        self.closed = False
        # A stream's chunks come one at a time, but a cancel may end the stream while a chunk is being encoded.
        self.lock = threading.Lock()

    def encode(self, samples: np.ndarray | None) -> dict[str, Any] | None:
        """The segment of frames that `samples` ((n, channels) int16) complete; None (no samples) flushes the rest."""
        frame = None
        if samples is not None:
            # Packed 16-bit PCM is one plane of interleaved samples: shape (1, n * channels).
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples).reshape(1, -1), format="s16",
                                               layout=layout_name(self.channels))
            frame.sample_rate = self.rate
        with self.lock:
            if self.closed:
                return None
            packets = self.stream.encode(frame)  # PyAV resamples to the encoder's rate, in 1024-sample frames
            for packet in packets:
                self.container.mux(packet)
            with self.buffer.getbuffer() as written:  # a view, released before the muxer writes again
                data = bytes(written[self.sent:])
            self.sent += len(data)
        if not packets:
            return None
        return {"data": data, "duration": len(packets) * AAC_FRAME_SAMPLES / self.output_rate,
                "extension": SEGMENT_EXTENSION}

    def close(self) -> None:
        """Release the encoder; safe to call twice."""
        with self.lock:
            if not self.closed:
                self.closed = True
                self.container.close()


def layout_name(channels: int) -> str:
    """PyAV's channel layout for a channel count: mono or stereo (more are mixed down by `read_chunk`)."""
    return "mono" if channels == 1 else "stereo"


def read_chunk(data: bytes) -> tuple[int, np.ndarray]:
    """A chunk (any format libsndfile reads: WAV, FLAC, OGG) as (rate, (n, channels) int16), at most 2 channels."""
    samples, rate = soundfile.read(io.BytesIO(data), dtype="int16", always_2d=True)
    if samples.shape[1] > 2:
        samples = samples.mean(axis=1, keepdims=True).astype(np.int16)
    return rate, samples


def fit_chunk(samples: np.ndarray, rate: int, stream: AacStream) -> np.ndarray:
    """A later chunk at the stream's rate and channel count (the first chunk set them)."""
    if samples.shape[1] != stream.channels:
        mono = samples.mean(axis=1, keepdims=True)
        samples = np.repeat(mono, stream.channels, axis=1).astype(np.int16)
    if rate != stream.rate:
        resampled = soxr.resample(samples.astype(np.float32) / 32768, rate, stream.rate)
        samples = (np.clip(resampled.reshape(-1, stream.channels), -1, 1) * 32767).astype(np.int16)
    return samples


class StreamedAudio(gr.Audio):
    """gr.Audio(streaming=True) with an in-process AAC encoder; shown and described (API: "Audio") as gr.Audio.

    No __init__ of its own: gradio sends the browser the props named in the class's __init__ signature, which must
    stay gr.Audio's. Pass streaming=True as to gr.Audio.
    """

    is_template = True  # gradio renders and names a template by its parent class, as it does gr.Microphone
    _encoders_lock = threading.Lock()  # guards every component's table of encoders; held only for dict operations

    @property
    def encoders(self) -> dict[str, AacStream | None]:
        """This component's open streams: stream id -> its encoder (None until its first chunk with audio)."""
        return self.__dict__.setdefault("_stream_encoders", {})  # setdefault is atomic: one table per component

    async def stream_output(self, value: Any, output_id: str, first_chunk: bool) -> tuple[dict | None, dict]:
        """One chunk (WAV bytes, or a file) as an HLS segment, and the stream's file entry."""
        output_file = {"path": output_id, "is_stream": True, "orig_name": "audio-stream.mp3",
                       "meta": {"_type": "gradio.FileData"}}
        if first_chunk:
            self.end_stream_output(output_id)  # a stream id is never live twice: anything here was left behind
            with self._encoders_lock:
                self.encoders[output_id] = None  # open: a chunk still in flight after the stream ends is dropped
        if value is None:
            return None, output_file
        if isinstance(value, bytes):
            data = value
        else:
            output_file["orig_name"] = value["orig_name"]
            with open(value["path"], "rb") as file:
                data = file.read()
        segment = await anyio.to_thread.run_sync(self.encode_chunk, output_id, data)
        return segment, output_file

    def encode_chunk(self, output_id: str, data: bytes) -> dict[str, Any] | None:
        """Encode one chunk into its stream's encoder, made on the stream's first chunk with audio; None once the
        stream has ended (cancelled or disconnected while this chunk was on its way)."""
        rate, samples = read_chunk(data)
        with self._encoders_lock:
            if output_id not in self.encoders:
                return None
            stream = self.encoders[output_id]
            if stream is None:
                stream = self.encoders[output_id] = AacStream(rate, samples.shape[1])
        return stream.encode(fit_chunk(samples, rate, stream))

    async def flush_stream_output(self, output_id: str) -> dict[str, Any] | None:
        """The frames the encoder still holds once the stream has ended; the encoder is released."""
        with self._encoders_lock:
            stream = self.encoders.pop(output_id, None)
        if stream is None:
            return None

        def flush() -> dict[str, Any] | None:
            try:
                return stream.encode(None)
            finally:
                stream.close()

        return await anyio.to_thread.run_sync(flush)

    def end_stream_output(self, output_id: str) -> None:
        """Drop a stream's encoder (the run ended, was cancelled or disconnected)."""
        with self._encoders_lock:
            stream = self.encoders.pop(output_id, None)
        if stream is not None:
            stream.close()


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """Samples as a 16-bit WAV file: what gradio would make of them, and what its audio stream reads directly."""
    wav = io.BytesIO()
    soundfile.write(wav, audio, rate, format="WAV", subtype="PCM_16")
    return wav.getvalue()
