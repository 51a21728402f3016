"""Model menus learn how long each model usually takes here, per input-size class, from this process's calls."""

from pathlib import Path

from backend import timings
from demos import common


def test_nothing_is_shown_before_a_model_has_run() -> None:
    assert timings.describe("nobody/never-ran") == ""


def test_the_median_of_recent_calls_is_kept_per_size_class() -> None:
    for seconds in (1.0, 9.0, 2.0):
        timings.record("test/model-a", seconds, "text < 200 chars")
    timings.record("test/model-a", 30.0, "long text")
    assert timings.typical_seconds("test/model-a") == {"text < 200 chars": 2.0, "long text": 30.0}
    assert timings.describe("test/model-a") == "usually 30.0 s (long text) · 2.0 s (text < 200 chars) here"


def test_a_handler_call_is_timed_under_the_model_its_result_names(tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"0" * 1000)

    @common.timed_by_model
    def transcribe(audio: str, model: str = "") -> tuple[str, dict]:
        return "text", {"model": "test/model-b", "text": "text"}

    assert transcribe(str(clip)) == ("text", {"model": "test/model-b", "text": "text"})
    assert list(timings.typical_seconds("test/model-b")) == ["file < 1 MB"]
    assert transcribe.__name__ == "transcribe"  # gradio names API endpoints and MCP tools after it


def test_the_menu_shows_what_was_learned(monkeypatch) -> None:
    monkeypatch.setattr(timings, "_recent", {})  # forget what other tests' calls taught
    timings.record("openai/whisper-base", 1.5, "file < 1 MB")
    labels = dict((model_id, label) for label, model_id in common.model_choices("transcribe"))
    assert labels["openai/whisper-base"] == "Whisper base (74M): usually 1.5 s (file < 1 MB) here"
