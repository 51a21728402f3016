"""The streamed speech output encodes AAC in-process (PyAV): what it sends decodes to the audio it was given, and
text to speech streams on a machine without the ffmpeg program."""

import io
import shutil
from pathlib import Path

import anyio
import av
import gradio as gr
import httpx
import numpy as np
import pytest
import soundfile
import soxr
from gradio_client import Client

from demos.streamed_audio import AAC_FRAME_SAMPLES, ADTS_RATES, AacStream, StreamedAudio


def tone(seconds: float, rate: int, hz: float = 440.0) -> np.ndarray:
    """A sine at `hz`, (n, 1) int16 at a third of full scale."""
    time_s = np.arange(int(seconds * rate)) / rate
    return (0.3 * 32767 * np.sin(2 * np.pi * hz * time_s)).astype(np.int16)[:, None]


def wav(samples: np.ndarray, rate: int) -> bytes:
    """(n, channels) int16 as 16-bit WAV bytes, as the speech tab yields them."""
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def decode_adts(data: bytes) -> tuple[int, np.ndarray]:
    """ADTS AAC bytes decoded with PyAV: (rate, mono float32 samples)."""
    with av.open(io.BytesIO(data), format="aac") as container:
        frames = [frame.to_ndarray().mean(axis=0) for frame in container.decode(audio=0)]
        rate = container.streams.audio[0].rate
    return rate, np.concatenate(frames)


def dominant_hz(samples: np.ndarray, rate: int) -> float:
    """The frequency of the strongest bin of the spectrum."""
    spectrum = np.abs(np.fft.rfft(samples))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[spectrum.argmax()])


def encode_in(sound: np.ndarray, rate: int, parts: int) -> list[dict]:
    """The segments of one stream fed `sound` in `parts` chunks, then flushed."""
    stream = AacStream(rate, channels=1)
    segments = [stream.encode(chunk) for chunk in np.array_split(sound, parts)] + [stream.encode(None)]
    stream.close()
    return [segment for segment in segments if segment is not None]


def best_alignment_error(decoded: np.ndarray, reference: np.ndarray, max_lag: int = 3000) -> float:
    """The largest sample difference between `reference` and `decoded` at the encoder delay that fits best."""
    inner = slice(2000, len(reference) - 2000)  # away from the start-up and the end
    errors = [np.abs(decoded[lag:lag + len(reference)][inner] - reference[inner]).max()
              for lag in range(max_lag) if lag + len(reference) <= len(decoded)]
    return float(min(errors))


@pytest.mark.parametrize(("rate", "expected_rate"), [(16_000, 16_000), (24_000, 24_000), (22_050, 22_050),
                                                     (30_000, 32_000)])
def test_chunks_encode_to_adts_that_decodes_to_the_same_sound(rate: int, expected_rate: int) -> None:
    assert AacStream(rate, channels=1).output_rate == expected_rate and expected_rate in ADTS_RATES
    sound = tone(1.5, rate)
    segments = encode_in(sound, rate, parts=4)
    assert all(segment["extension"] == ".aac" for segment in segments)
    data = b"".join(segment["data"] for segment in segments)
    # One encoder per stream: four chunks give exactly the bytes of one, so chunk joins leave no gap or click.
    assert data == b"".join(segment["data"] for segment in encode_in(sound, rate, parts=1))
    decoded_rate, decoded = decode_adts(data)
    assert decoded_rate == expected_rate
    # Each segment's duration counts its frames, so the playlist adds up to what the stream decodes to: the input
    # plus the encoder's priming and the last frame's padding (under three frames).
    listed = sum(segment["duration"] for segment in segments)
    assert listed == pytest.approx(len(decoded) / decoded_rate)
    assert 0 <= listed - len(sound) / rate < 3 * AAC_FRAME_SAMPLES / expected_rate
    # The sound itself, within AAC's loss, after the encoder's delay.
    reference = sound[:, 0] / 32767
    if rate != expected_rate:
        reference = soxr.resample(reference, rate, expected_rate)
    assert best_alignment_error(decoded, reference) < 0.03  # the tone's peak is 0.3


def test_a_stereo_chunk_and_a_chunk_at_another_rate_join_the_stream() -> None:
    stream = AacStream(16_000, channels=1)
    first = stream.encode(tone(0.5, 16_000))
    stereo_at_8k = np.repeat(tone(0.5, 8_000), 2, axis=1)
    component = StreamedAudio(streaming=True)
    component.encoders["s"] = stream
    second = component.encode_chunk("s", wav(stereo_at_8k, 8_000))
    last = stream.encode(None)
    stream.close()
    data = b"".join(segment["data"] for segment in (first, second, last) if segment)
    rate, decoded = decode_adts(data)
    assert rate == 16_000 and len(decoded) / rate == pytest.approx(1.0, abs=0.2)


def test_an_ended_stream_drops_its_encoder_and_ignores_late_chunks() -> None:
    component = StreamedAudio(streaming=True)
    chunk = wav(tone(0.3, 16_000), 16_000)
    anyio.run(component.stream_output, chunk, "run", True)  # the stream's first chunk opens it
    stream = component.encoders["run"]
    component.end_stream_output("run")
    assert "run" not in component.encoders and stream.closed
    assert stream.encode(tone(0.3, 16_000)) is None  # a chunk that was being encoded when the stream was cancelled
    assert component.encode_chunk("run", chunk) is None and "run" not in component.encoders  # one still on its way
    component.end_stream_output("run")  # twice is harmless


def test_the_component_is_described_as_gradio_audio() -> None:
    component = StreamedAudio(label="Speech", streaming=True)
    assert component.streaming and component.get_block_name() == "audio" and component.get_block_class() == "audio"
    # The browser gets gr.Audio's props (gradio reads them from the class's __init__ signature).
    props = component.get_config()
    reference = gr.Audio(label="Speech", streaming=True).get_config()
    assert {key: props[key] for key in reference if key != "_selectable"} == {
        key: value for key, value in reference.items() if key != "_selectable"}


def test_text_to_speech_streams_without_the_ffmpeg_program(app_url: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The app's server runs in this process: with a PATH of an empty folder it has no ffmpeg (nor ffprobe)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    assert shutil.which("ffmpeg") is None and shutil.which("ffprobe") is None
    client = Client(app_url, verbose=False, download_files=False)
    text = "The first sentence comes alone. Then the rest of the text follows it."
    whole, stream, result = client.predict(text=text, model="facebook/mms-tts-eng", api_name="/synthesize_speech")
    samples, rate = soundfile.read(io.BytesIO(httpx.get(whole["url"]).content), dtype="float32")
    assert rate == result["sampling_rate"] and len(samples) / rate == pytest.approx(result["duration_s"], abs=1e-3)
    # What the page plays: the HLS playlist of the stream's AAC segments, fetched and decoded as the player would.
    assert stream["is_stream"] and stream["url"].endswith("playlist.m3u8")
    playlist = httpx.get(stream["url"]).text.splitlines()
    assert playlist[-1] == "#EXT-X-ENDLIST"
    listed = sum(float(line.removeprefix("#EXTINF:").rstrip(",")) for line in playlist if line.startswith("#EXTINF:"))
    base = stream["url"].rsplit("/", 1)[0]
    segments = [httpx.get(f"{base}/{line}") for line in playlist if line.endswith(".aac")]
    assert len(segments) >= 2 and all(segment.headers["content-type"] == "audio/aac" for segment in segments)
    streamed_rate, streamed = decode_adts(b"".join(segment.content for segment in segments))
    assert streamed_rate == rate and len(streamed) / rate == pytest.approx(listed, abs=1e-3)
    assert 0 <= listed - result["duration_s"] < 3 * AAC_FRAME_SAMPLES / rate  # the whole speech, plus priming
