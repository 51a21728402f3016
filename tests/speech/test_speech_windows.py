"""VAD's speech windows and their batched decoding (backend/speech/vad.py, whisper_batched.py), apart from any
model: the windows are whole stretches of speech of at most 30 s, and a window whose decoding stops early has its
rest decoded, with its text so far as the prompt, before the batch's text is given."""

import itertools
import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile
import torch

from backend.catalog import resolve_model
from backend.speech import whisper_batched
from backend.speech.transcript import Segment
from backend.speech.vad import VAD_RATE, WINDOW_S, speech_windows
from backend.speech.whisper_batched import Decoded, stream_speech_windows
from tests.speech import real_whisper


@pytest.mark.skipif(shutil.which("espeak-ng") is None and os.environ.get("CI") != "true",
                    reason="espeak-ng is not installed (apt install espeak-ng)")
def test_windows_are_whole_stretches_of_speech_of_at_most_30_s(tmp_path: Path) -> None:
    path, spans = real_whisper.long_clip(tmp_path / "long.wav")  # 28 sentences, 0.8 s pauses: one long stretch
    samples, _ = soundfile.read(path, dtype="float32")
    silence = np.zeros(10 * VAD_RATE, dtype=np.float32)
    speech, timemap, windows = speech_windows(np.concatenate([silence, samples, silence]))
    assert windows[0][0] == 0 and windows[-1][1] == len(speech)  # the windows cover the joined speech
    assert all(end == start for (_, end), (start, _) in itertools.pairwise(windows))
    assert all(0 < end - start <= WINDOW_S * VAD_RATE for start, end in windows)
    assert len(windows) == int(np.ceil(len(speech) / (WINDOW_S * VAD_RATE)))  # as few as 30 s windows allow
    # Each cut falls in a pause between two sentences (10 s of leading silence left out, then the sentences).
    for _, end in windows[:-1]:
        cut = float(timemap.get_original_time(end / VAD_RATE)) - 10.0
        assert not any(start + 0.05 < cut < stop - 0.05 for start, stop in spans), cut


def test_a_window_decoded_short_of_its_end_has_its_rest_decoded_with_its_text_as_the_prompt(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in decoder: the first piece of window 1 stops at 20 s (as Whisper does when it takes the last
    sentence for one the window cuts); the driver decodes 20-28 s of it next, with window 1's tokens as prompt."""
    calls = []  # (piece lengths in seconds, offsets, prompt)

    def decode(loaded: object, pieces: list[np.ndarray], offsets: list[float], language: str,
               candidates: object, task: str, beams: int, words: bool, prompt: list[int]) -> tuple:
        calls.append(([len(piece) / VAD_RATE for piece in pieces], offsets, prompt))
        decoded = []
        for piece, offset in zip(pieces, offsets, strict=True):
            stops_early = offset == 30.0  # window 1's first decoding
            said = 20.0 if stops_early else len(piece) / VAD_RATE
            decoded.append(Decoded(resume=int(said * VAD_RATE), tokens=[int(offset)], texts=[f" at {offset:g}"],
                                   segments=[Segment(offset, offset + said, f"at {offset:g}")]))
        return decoded, []

    monkeypatch.setattr(whisper_batched, "decode_torch", decode)
    monkeypatch.setitem(whisper_batched.BATCH_WINDOWS, "cpu", 2)
    loaded = SimpleNamespace(device=torch.device("cpu"))
    windows = [(0, 30 * VAD_RATE), (30 * VAD_RATE, 58 * VAD_RATE), (58 * VAD_RATE, 80 * VAD_RATE),
               (80 * VAD_RATE, 90 * VAD_RATE)]
    steps = list(stream_speech_windows(loaded, resolve_model("transcribe", "openai/whisper-base"), "torch",
                                       np.zeros(90 * VAD_RATE, dtype=np.float32), windows, "en", "transcribe", 1))
    assert calls == [([30.0], [0.0], []),  # the first window alone: the first text as soon as without VAD
                     ([28.0, 22.0], [30.0, 58.0], []),  # then BATCH_WINDOWS at a time
                     ([8.0], [50.0], [30]),  # window 1's rest, after its text so far
                     ([10.0], [80.0], [])]
    assert [(step.done, step.total) for step in steps] == [(30, 90), (80, 90), (90, 90)]
    final = steps[-1].result
    assert final.text == "at 0 at 30 at 50 at 58 at 80"  # in the order spoken
    assert [segment.start for segment in final.segments] == [0.0, 30.0, 50.0, 58.0, 80.0]
    assert [step.result.text for step in steps[:2]] == ["at 0", "at 0 at 30 at 50 at 58"]
