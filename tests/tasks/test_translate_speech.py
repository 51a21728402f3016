"""Speech to speech on tiny models: the chain's stages through the dispatch point, the streamed first audio, the
subtitles parsed back, video input, and the messages for what a stage cannot do."""

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from backend import dispatch
from backend.errors import InputError
from backend.inputs import load_audio
from backend.speech.video_audio import is_video, video_audio
from backend.tasks.translate_speech import stream_speech_translation, translate_speech

ASSETS = Path(__file__).resolve().parents[2] / "assets"
SPEECH = ASSETS / "audio" / "fr.wav"
VIDEO = ASSETS / "video" / "speech_fr.mp4"
CUE = re.compile(r"(\d+)\n(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)\n(.*?)(?:\n\n|\n?$)", re.S)


def parse_srt(text: str) -> list[tuple[float, float, list[str]]]:
    """SubRip cues as (start s, end s, lines)."""
    cues = []
    for match in CUE.finditer(text):
        h1, m1, s1, ms1, h2, m2, s2, ms2 = (int(value) for value in match.groups()[1:9])
        cues.append((h1 * 3600 + m1 * 60 + s1 + ms1 / 1000, h2 * 3600 + m2 * 60 + s2 + ms2 / 1000,
                     match.group(10).split("\n")))
    return cues


def test_speech_is_recognised_translated_and_spoken(models_dir: Path) -> None:
    result = translate_speech(SPEECH, "English", source_language="French")
    summary = result.to_json()
    json.dumps(summary)
    assert summary["models"] == {"recognition": "openai/whisper-large-v3-turbo",
                                 "translation": "facebook/m2m100_418M", "speech": "facebook/mms-tts-eng"}
    assert (summary["source_language"], summary["target_language"]) == ("fr", "en")
    assert set(summary["seconds"]) == {"recognition", "translation", "speech"}
    assert all(seconds > 0 for seconds in summary["seconds"].values())
    assert summary["segments"] and all(set(s) == {"start", "end", "text", "translation"} for s in summary["segments"])
    assert all(s["text"] and s["translation"] for s in summary["segments"])
    assert result.audio.dtype == np.float32 and len(result.audio) > 0 and result.sampling_rate == 16_000


def test_the_bilingual_subtitles_parse_back_to_the_segments(models_dir: Path) -> None:
    result = translate_speech(SPEECH, "de", source_language="fr")
    files = result.subtitles()
    assert set(files) == {"bilingual.srt", "bilingual.vtt", "translation.srt", "translation.vtt"}
    bilingual, target = parse_srt(files["bilingual.srt"]), parse_srt(files["translation.srt"])
    assert len(bilingual) == len(target) == len(result.segments)
    for (start, end, lines), (_, _, translated), segment in zip(bilingual, target, result.segments, strict=True):
        assert (start, end) == pytest.approx((segment.start, segment.end), abs=1e-3)
        assert lines == [segment.text, segment.translation]  # the original line, then its translation
        assert translated == [segment.translation]
    assert files["bilingual.vtt"].startswith("WEBVTT\n\n") and files["bilingual.vtt"].count(" --> ") == len(bilingual)


def test_the_first_audio_comes_before_the_whole(models_dir: Path) -> None:
    steps = list(stream_speech_translation(SPEECH, "Spanish", "French", speech_model="facebook/mms-tts-eng"))
    first_audio = next(index for index, step in enumerate(steps) if step.audio is not None)
    assert first_audio < len(steps) - 1 and steps[-1].audio is None
    assert steps[0].result.models["speech"] == "facebook/mms-tts-spa"  # the target's voice, not the menu default
    pieces = [step.audio for step in steps if step.audio is not None]
    assert sum(map(len, pieces)) == len(steps[-1].result.audio)  # the streamed pieces are the whole, in order


class RecordingRemote:
    """A stand-in for the Ray client: records each dispatched call, then runs the task function here."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, task: str, model_id: str, arguments: dict[str, Any]) -> Any:
        """Record the call and run the undecorated task, as a replica would."""
        self.calls.append((task, model_id, arguments))
        dispatch.use_ray(None)  # a replica runs the task in local mode
        try:
            return dispatch.TASKS[task](**arguments)
        finally:
            dispatch.use_ray(self)

    def is_loaded(self, model_id: str) -> bool:
        """Unused here."""
        return False


def test_every_stage_goes_through_the_dispatch_point(models_dir: Path) -> None:
    remote = RecordingRemote()
    dispatch.use_ray(remote)
    try:
        result = translate_speech(SPEECH, "Hindi", source_language="French",
                                  recognition_model="openai/whisper-base")
    finally:
        dispatch.use_ray(None)
    stages = {task: model for task, model, _ in remote.calls}
    assert stages == {"transcribe": "openai/whisper-base", "translate": "facebook/m2m100_418M",
                      "synthesize_speech": "facebook/mms-tts-hin"}  # each goes to its own model's deployment
    assert isinstance(remote.calls[0][2]["audio"], bytes)  # the upload travels as bytes, as to a cluster
    assert result.models == {"recognition": "openai/whisper-base", "translation": "facebook/m2m100_418M",
                             "speech": "facebook/mms-tts-hin"}
    assert len([call for call in remote.calls if call[0] == "synthesize_speech"]) == len(result.segments)


def test_a_video_is_translated_from_its_sound_track(models_dir: Path) -> None:
    assert is_video(VIDEO) and is_video(VIDEO.read_bytes()) and not is_video(SPEECH)
    track = video_audio(VIDEO, 16_000)
    original = load_audio(str(SPEECH), 16_000)
    assert abs(len(track) - len(original)) < 0.1 * 16_000  # the same length within 0.1 s (AAC pads a little)
    result = translate_speech(str(VIDEO), "en", source_language="fr")
    assert result.models["recognition"] == "openai/whisper-large-v3-turbo" and result.segments
    assert len(result.audio) > 0


@pytest.mark.parametrize(("target", "source", "message"), [
    ("Klingon", "auto", "^Translation: Unknown target language 'Klingon'"),
    ("Japanese", "auto", "^Text to speech: .*cannot speak Japanese.*Choose one of: .*French"),
    ("en", "Elvish", "^Speech recognition: .*does not know the language 'Elvish'"),
])
def test_what_a_stage_cannot_do_is_named(target: str, source: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        translate_speech(SPEECH, target, source_language=source)


def test_too_long_audio_and_video_without_sound_are_refused(tmp_path: Path) -> None:
    long_audio = tmp_path / "long.flac"
    soundfile.write(long_audio, np.zeros(31 * 60 * 8_000, dtype=np.int16), 8_000)  # 31 min of silence
    with pytest.raises(InputError, match="limit is 30 minutes"):
        translate_speech(str(long_audio), "en", source_language="fr")
    from tests.video_clips import encode, numbered_frames

    silent_video = tmp_path / "silent.mp4"
    silent_video.write_bytes(encode(numbered_frames(10)))
    with pytest.raises(InputError, match="no audio track"):
        translate_speech(str(silent_video), "en", source_language="fr")
