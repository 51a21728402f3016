"""Voice activity detection before recognition: the Silero VAD that ships inside the faster-whisper wheel
(faster_whisper/assets/silero_vad_v6.onnx, run by onnxruntime), used the same way for both Whisper engines.

The speech stretches are joined into one shorter clip, cut at the joints into windows of at most 30 s that the
recognizer reads (backend/speech/whisper_batched.py, several at once); its times are mapped back to the original
audio afterwards, so silence and noise are neither decoded (no invented text there) nor paid for.
"""

import numpy as np
from faster_whisper.vad import SpeechTimestampsMap, VadOptions, get_speech_timestamps

from backend.speech.transcript import Segment, TranscriptionResult
from backend.speech.words import timed_word

VAD_RATE = 16_000  # Hz: Silero VAD's rate, and Whisper's
WINDOW_S = 30  # Whisper's window, seconds


def speech_windows(samples: np.ndarray) -> tuple[np.ndarray, SpeechTimestampsMap, list[tuple[int, int]]]:
    """The speech in 16 kHz mono `samples`, joined (silence and noise left out); the map back to the audio's times;
    and the joined speech cut into windows of at most WINDOW_S, as (start, end) in samples of the joined speech.

    Windows end where one stretch of speech ends and the next begins: a stretch longer than a window is split by the
    VAD itself at its last pause (98 ms or more) before WINDOW_S, or at WINDOW_S when it has none (Silero's
    `max_speech_duration_s`), so words are not cut where speech pauses.
    """
    # faster-whisper's defaults (threshold 0.5, speech padded by 400 ms, gaps under 2 s kept), stretches <= 30 s.
    chunks = get_speech_timestamps(samples, VadOptions(max_speech_duration_s=WINDOW_S),
                                   sampling_rate=VAD_RATE)  # [{"start", "end"}] in samples
    if not chunks:
        return np.zeros(0, dtype=samples.dtype), SpeechTimestampsMap(chunks, VAD_RATE), []
    speech = np.concatenate([samples[chunk["start"]:chunk["end"]] for chunk in chunks])
    windows: list[tuple[int, int]] = []
    start = end = 0  # the window being filled, on the joined speech
    for chunk in chunks:
        length = chunk["end"] - chunk["start"]
        if end > start and end + length - start > WINDOW_S * VAD_RATE:
            windows.append((start, end))
            start = end
        end += length
    windows.append((start, end))
    return speech, SpeechTimestampsMap(chunks, VAD_RATE, time_precision=3), windows


def restore_times(result: TranscriptionResult, timemap: SpeechTimestampsMap, speech_s: float) -> None:
    """Put a result read from the joined speech onto the original audio's time line: new segments and words (the
    streamed steps share their Segment objects, so nothing is changed in place)."""
    result.speech_s = round(speech_s, 3)
    if not timemap.chunk_end_sample:
        return
    pairs = []  # (segment on the joined time line, the same on the original one)
    for segment in result.segments:
        pairs.append((segment, Segment(start=round(float(timemap.get_original_time(segment.start)), 3),
                                       end=round(float(timemap.get_original_time(segment.end, is_end=True)), 3),
                                       text=segment.text)))
    moved = []
    first_words: dict[int, float] = {}  # segment index -> its first word's start, seconds
    index = 0
    for word in result.words:
        while index < len(pairs) - 1 and word.start >= pairs[index][0].end:  # in order, as the segments
            index += 1
        # A word is spoken within one stretch of speech: the one its end is in (a start just before a joint would
        # otherwise land in the silence left out there).
        chunk = timemap.get_chunk_index(word.end, is_end=True)
        joined_start = timemap.chunk_end_sample[chunk - 1] / VAD_RATE if chunk else 0.0  # the stretch's start
        start = float(timemap.get_original_time(max(word.start, joined_start), chunk))
        end = max(start, float(timemap.get_original_time(word.end, chunk, is_end=True)))
        moved.append(timed_word(word.word, start, end, word.probability, pairs[index][1]) if pairs else word)
        first_words.setdefault(index, moved[-1].start)
    for index, start in first_words.items():  # a segment opening in left-out silence starts with its first word
        pairs[index][1].start = max(pairs[index][1].start, start)
    result.segments = [original for _, original in pairs]
    result.words = moved
