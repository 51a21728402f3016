"""Speech recognition on every catalog model with short and long audio, its options, and the subtitle writers."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch

from backend import models
from backend.catalog import find_model, helper_model, models_for
from backend.errors import InputError
from backend.speech.ctc import group_words, window_bounds
from backend.speech.subtitles import to_srt, to_vtt
from backend.speech.transcript import Segment
from backend.tasks.transcribe import transcribe
from tests.conftest import ids_for, speech_like

MMS = "facebook/mms-1b-all"
XLS_R = "facebook/wav2vec2-xls-r-300m-21-to-en"
ASSETS = Path(__file__).resolve().parent.parent / "assets"


def check_result(result: dict, model_id: str, duration: float) -> None:
    """The documented JSON shape; segments ordered and inside the audio."""
    json.dumps(result)
    assert set(result) == {"model", "text", "language", "segments", "language_probability", "language_candidates",
                           "engine", "precision", "words", "words_note", "speech_s"}
    assert result["speech_s"] is None or 0.0 <= result["speech_s"] <= duration + 1e-6
    assert sum(guess["probability"] for guess in result["language_candidates"]) <= 1.0
    check_words(result, duration)
    assert (result["engine"], result["precision"]) == ("torch", "float32")  # tests/conftest.py: APP_ENGINE=torch
    assert result["model"] == model_id and isinstance(result["text"], str)
    for segment in result["segments"]:
        assert 0.0 <= segment["start"] <= segment["end"] <= duration + 1e-6
        assert segment["text"] == segment["text"].strip() and segment["text"]
    starts = [segment["start"] for segment in result["segments"]]
    assert starts == sorted(starts)


def check_words(result: dict, duration: float) -> None:
    """Words in order, inside the audio and each inside a segment, with a probability 0-1 or None."""
    words = result["words"]
    for word in words:
        assert set(word) == {"word", "start", "end", "probability"} and word["word"] == word["word"].strip()
        assert 0.0 <= word["start"] <= word["end"] <= duration + 1e-6
        assert word["probability"] is None or 0.0 <= word["probability"] <= 1.0
        assert any(segment["start"] <= word["start"] and word["end"] <= segment["end"]
                   for segment in result["segments"]), (word, result["segments"])
    assert [word["start"] for word in words] == sorted(word["start"] for word in words)


@pytest.mark.parametrize("model_id", ids_for("transcribe"))
@pytest.mark.parametrize("clip", ["speech_3s", "speech_45s"])
def test_transcribes_short_and_long_audio(models_dir: Path, model_id: str, clip: str,
                                          request: pytest.FixtureRequest) -> None:
    path = request.getfixturevalue(clip)
    duration = soundfile.info(path).duration
    spec = find_model(model_id)
    task = "translate" if spec.family == "xls_r_translation" else "transcribe"
    result = transcribe(path, model=model_id, task=task).to_json()
    check_result(result, model_id, duration)
    if spec.family == "xls_r_translation":  # takes no language: says none unless told
        assert result["language"] is None and result["text"]
    else:  # detected (Whisper, MMS through MMS-LID) or the model's only language (wav2vec2)
        assert result["language"] in spec.languages


@pytest.mark.parametrize("model_id", ["openai/whisper-base", "openai/whisper-large-v3-turbo"])
def test_whisper_takes_a_language_and_can_translate(models_dir: Path, speech_3s: Path, model_id: str) -> None:
    result = transcribe(speech_3s, model=model_id, language="French", task="translate")
    assert result.language == "fr"
    check_result(result.to_json(), model_id, 3.0)


def test_long_whisper_audio_is_decoded_past_the_first_window(models_dir: Path, speech_45s: Path) -> None:
    """Every window is decoded (the streamed steps reach the end); whether a window has text is the model's business:
    the tiny model's stop clock counts decoder positions, and the previous text as a prompt moves them, so its later
    windows may end at once. tests/test_whisper_real.py checks real text to the end of real speech."""
    from backend.tasks.transcribe import stream_transcription

    # vad=False: the synthetic clip is mostly not speech to Silero VAD, and this is about the windows.
    steps = list(stream_transcription(speech_45s, model="openai/whisper-base", language="en", vad=False))
    assert len(steps) >= 2 and steps[0].done < 45 and steps[-1].done == steps[-1].total == 45
    assert steps[-1].result.segments and steps[-1].result == transcribe(speech_45s, model="openai/whisper-base",
                                                                        language="en", vad=False)


def test_whisper_resumes_where_the_last_finished_segment_ends() -> None:
    from backend.speech.whisper import next_start

    begin, end_of_text, rate = 100, 99, 10  # timestamp tokens from 100 (0.02 s each); 10 samples a second
    window = 300
    pair_ending = [1, 100, 5, 6, 150, 150, 99, 99]  # "<|0.00|> text <|1.00|><|1.00|>": the text after 1.00 s is cut
    found = [{"start": 0.0, "end": 1.0}]
    assert next_start(pair_ending, found, begin, end_of_text, window, rate) == 10  # decode again from 1.00 s
    lone_ending = [1, 100, 5, 6, 150, 99]  # "<|0.00|> text <|1.00|>": nothing after it, the window is done
    assert next_start(lone_ending, found, begin, end_of_text, window, rate) == window
    assert next_start([1, 5, 6, 99], [], begin, end_of_text, window, rate) == window  # no timestamps at all
    stuck = [1, 100, 100, 99]  # a segment ending at 0.00 s: move on rather than decode the same window again
    assert next_start(stuck, [{"start": 0.0, "end": 0.0}], begin, end_of_text, window, rate) == window


def test_audio_given_as_rate_and_samples(models_dir: Path) -> None:
    samples = (speech_like(3.0, rate=44_100) * 32767).astype(np.int16)  # what a microphone component gives
    result = transcribe((44_100, np.stack([samples, samples], axis=1)), model="facebook/wav2vec2-base-960h")
    check_result(result.to_json(), "facebook/wav2vec2-base-960h", 3.0)


@pytest.mark.parametrize(("model_id", "language", "task", "message"), [
    ("facebook/wav2vec2-base-960h", "auto", "translate", "cannot translate"),
    ("facebook/wav2vec2-base-960h", "French", "transcribe", "does not know the language"),
    ("openai/whisper-base", "Klingon", "transcribe", "does not know the language"),
    ("openai/whisper-base", "auto", "summarise", "must be 'transcribe' or 'translate'"),
    (MMS, "Klingon", "transcribe", "does not know the language"),
    (MMS, "Italian", "transcribe", r"no adapter for Italian \(ita\)"),  # in the real checkpoint, not the tiny one
    (MMS, "fra", "translate", "cannot translate"),
    (XLS_R, "auto", "transcribe", "only translates speech into English"),
    (XLS_R, "Swahili", "translate", "does not know the language"),
])
def test_bad_options_are_refused_with_a_message(models_dir: Path, speech_3s: Path, model_id: str, language: str,
                                                task: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        transcribe(speech_3s, model=model_id, language=language, task=task)


def test_mms_lid_is_a_helper_not_a_transcription_choice() -> None:
    lid = helper_model("mms_lid")
    assert lid.id == "facebook/mms-lid-126" and lid.task == "transcribe"
    assert lid.id not in [spec.id for spec in models_for("transcribe")]
    with pytest.raises(InputError, match="Unknown model"):
        transcribe(ASSETS / "audio" / "en.wav", model=lid.id)


@pytest.mark.parametrize(("language", "code"), [("fra", "fra"), ("French", "fra"), ("fr", "fra"),
                                                ("French (fra)", "fra"), ("Swahili", "swh"), ("sw", "swh"),
                                                ("Guarani (grn)", "grn")])
def test_mms_takes_names_and_codes(models_dir: Path, speech_3s: Path, language: str, code: str) -> None:
    result = transcribe(speech_3s, model=MMS, language=language)
    assert result.language == code and result.language_probability is None and result.language_candidates == []


def test_mms_adapters_switch_back_and_forth(models_dir: Path, speech_3s: Path) -> None:
    first = transcribe(speech_3s, model=MMS, language="fra")
    german = transcribe(speech_3s, model=MMS, language="deu")
    again = transcribe(speech_3s, model=MMS, language="fra")
    assert again == first  # from the weights kept in the memo, as from the adapter file
    assert german.text != first.text
    loaded = models.get(MMS)
    kept = loaded.memo["mms_adapters"]
    assert {"fra", "deu"} <= set(kept)
    # The adapters really differ: attention adapters and CTC heads (one row per character of each language).
    name = next(name for name in kept["fra"] if ".adapter_layer." in name)
    assert not torch.equal(kept["fra"][name], kept["deu"][name])
    assert kept["fra"]["lm_head.weight"].shape[0] != kept["deu"]["lm_head.weight"].shape[0]
    assert loaded.model.lm_head.out_features == len(loaded.processor.tokenizer.vocab["fra"])


def test_mms_with_kept_weights_equals_a_fresh_load_adapter(models_dir: Path, speech_3s: Path) -> None:
    from transformers import AutoModelForCTC, AutoProcessor

    ours = [transcribe(speech_3s, model=MMS, language=language).text for language in ("swh", "eng", "swh")]
    folder = str(models_dir / MMS)
    processor = AutoProcessor.from_pretrained(folder)
    model = AutoModelForCTC.from_pretrained(folder, use_safetensors=True, dtype=torch.float32)
    model.load_adapter("swh", use_safetensors=True)
    processor.tokenizer.set_target_lang("swh")
    samples, rate = soundfile.read(speech_3s, dtype="float32")
    with torch.inference_mode():
        logits = model(**processor(samples, sampling_rate=rate, return_tensors="pt")).logits
    assert ours[0] == ours[2] == processor.batch_decode(logits.argmax(-1))[0].strip()


def test_mms_auto_detects_with_mms_lid_top_5(models_dir: Path, speech_3s: Path) -> None:
    from transformers import pipeline

    result = transcribe(speech_3s, model=MMS, language="auto")
    candidates = [(guess.language, guess.probability) for guess in result.language_candidates]
    assert len(candidates) == 5
    probabilities = [probability for _, probability in candidates]
    assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0 + 1e-6
    # The chosen language is the likeliest with an adapter (the tiny MMS has none for "cmn").
    assert result.language == next(code for code, _ in candidates if code != "cmn")
    assert result.language_probability == dict(candidates)[result.language]
    # The same top 5 as transformers' audio-classification pipeline on the same model.
    loaded = models.get(helper_model("mms_lid").id)
    classify = pipeline("audio-classification", model=loaded.model, feature_extractor=loaded.processor)
    samples, rate = soundfile.read(speech_3s, dtype="float32")
    theirs = classify({"raw": samples, "sampling_rate": rate}, top_k=5)
    assert [item["label"] for item in theirs] == [code for code, _ in candidates]
    assert [item["score"] for item in theirs] == pytest.approx(probabilities, abs=1e-4)


def test_xls_r_windows_batched_equal_windows_one_by_one(models_dir: Path, speech_45s: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import backend.speech.ctc as recognition

    batched = transcribe(speech_45s, model=XLS_R, task="translate")
    assert [(segment.start, segment.end) for segment in batched.segments] == [(0.0, 15.0), (15.0, 30.0), (30.0, 45.0)]
    monkeypatch.setattr(recognition, "XLS_R_BATCH_SIZE", 1)
    assert transcribe(speech_45s, model=XLS_R, task="translate") == batched


def test_xls_r_one_window_equals_the_transformers_pipeline(models_dir: Path, speech_3s: Path) -> None:
    from transformers import pipeline

    loaded = models.get(XLS_R)
    recognizer = pipeline("automatic-speech-recognition", model=loaded.model, tokenizer=loaded.processor.tokenizer,
                          feature_extractor=loaded.processor.feature_extractor)
    samples, rate = soundfile.read(speech_3s, dtype="float32")
    # Greedy like ours (the pipeline's own default is 5 beams).
    theirs = recognizer({"raw": samples, "sampling_rate": rate},
                        generate_kwargs={"max_new_tokens": 440, "num_beams": 1})
    ours = transcribe(speech_3s, model=XLS_R, task="translate", language="French")
    assert ours.text == theirs["text"].strip() and ours.language == "fr"


def test_window_bounds() -> None:
    assert window_bounds(45, 20) == [(0, 15), (15, 30), (30, 45)]
    assert window_bounds(40, 20) == [(0, 20), (20, 40)]
    assert window_bounds(41, 20) == [(0, 14), (14, 27), (27, 41)]
    assert window_bounds(3, 20) == [(0, 3)]


def test_words_are_grouped_at_pauses_and_by_length() -> None:
    words = [Segment(0.0, 0.4, "hello"), Segment(0.5, 0.9, "there"), Segment(2.0, 2.3, "after"),
             Segment(2.4, 2.8, "pause")] + [Segment(3.0 + n * 0.5, 3.4 + n * 0.5, f"w{n}") for n in range(20)]
    segments = group_words(words)
    assert segments[0] == Segment(0.0, 0.9, "hello there")
    assert segments[1].text.startswith("after pause")
    assert all(segment.end - segment.start <= 8.0 for segment in segments)
    assert " ".join(segment.text for segment in segments).split() == [word.text for word in words]


def test_subtitle_writers() -> None:
    segments = [Segment(0.0, 1.5, "Hello."), Segment(3661.25, 3662.0, "An hour later.")]
    assert to_srt(segments) == ("1\n00:00:00,000 --> 00:00:01,500\nHello.\n\n"
                                "2\n01:01:01,250 --> 01:01:02,000\nAn hour later.\n")
    assert to_vtt(segments) == ("WEBVTT\n\n00:00:00.000 --> 00:00:01.500\nHello.\n\n"
                                "01:01:01.250 --> 01:01:02.000\nAn hour later.\n")


def test_long_whisper_audio_streams_the_text_of_finished_windows(models_dir: Path, tmp_path: Path) -> None:
    from backend.tasks.transcribe import stream_transcription

    path = tmp_path / "speech_100s.wav"
    soundfile.write(path, speech_like(100.0), 16_000)
    # vad=False: the synthetic clip is mostly not speech to Silero VAD, and this is about the windows.
    steps = list(stream_transcription(path, model="openai/whisper-base", language="en", vad=False))
    assert len(steps) >= 4  # at least one step per 30 s window
    assert [step.total for step in steps] == [100] * len(steps) and steps[-1].done == 100  # seconds of audio
    assert [step.done for step in steps] == sorted(step.done for step in steps) and steps[0].done < 100
    final = steps[-1].result
    assert all(final.text.startswith(step.result.text) for step in steps)
    assert all(step.result.segments == final.segments[: len(step.result.segments)] for step in steps)
    assert final == transcribe(path, model="openai/whisper-base", language="en", vad=False)  # as the whole call
