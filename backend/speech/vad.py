"""Voice activity detection before recognition: the Silero VAD that ships inside the faster-whisper wheel
(faster_whisper/assets/silero_vad_v6.onnx, run by onnxruntime), used the same way for both Whisper engines.

The speech stretches are joined into one shorter clip that the recognizer reads; its times are mapped back to the
original audio afterwards, so silence and noise are neither decoded (no invented text there) nor paid for.
"""

import numpy as np
from faster_whisper.vad import SpeechTimestampsMap, VadOptions, get_speech_timestamps

from backend.speech.transcript import TranscriptionResult
from backend.speech.words import timed_word

VAD_RATE = 16_000  # Hz: Silero VAD's rate, and Whisper's


def speech_only(samples: np.ndarray) -> tuple[np.ndarray, SpeechTimestampsMap]:
    """The speech in 16 kHz mono `samples`, joined (silence and noise left out), and the map back to its times."""
    # faster-whisper's defaults: threshold 0.5, speech padded by 400 ms, gaps under 2 s kept.
    chunks = get_speech_timestamps(samples, VadOptions(), sampling_rate=VAD_RATE)  # [{"start", "end"}] in samples
    if not chunks:
        return np.zeros(0, dtype=samples.dtype), SpeechTimestampsMap(chunks, VAD_RATE)
    speech = np.concatenate([samples[chunk["start"]:chunk["end"]] for chunk in chunks])
    return speech, SpeechTimestampsMap(chunks, VAD_RATE, time_precision=3)


def restore_times(result: TranscriptionResult, timemap: SpeechTimestampsMap, speech_s: float) -> None:
    """Move a result read from the joined speech back onto the original audio's time line, in place."""
    if not timemap.chunk_end_sample:
        result.speech_s = round(speech_s, 3)
        return
    for segment in result.segments:
        segment.start = round(float(timemap.get_original_time(segment.start)), 3)
        segment.end = round(float(timemap.get_original_time(segment.end, is_end=True)), 3)
    moved = []
    segments = iter(result.segments)
    segment = next(segments, None)
    for word in result.words:
        chunk = timemap.get_chunk_index(word.start)  # start and end through the same stretch, as faster-whisper
        start = float(timemap.get_original_time(word.start, chunk))
        end = float(timemap.get_original_time(word.end, chunk, is_end=True))
        while segment is not None and start > segment.end:  # the words are in order, as the segments
            segment = next(segments, None)
        moved.append(timed_word(word.word, start, end, word.probability, segment) if segment else word)
    result.words = moved
    result.speech_s = round(speech_s, 3)
