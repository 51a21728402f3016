"""The interactive transcript's data (demos/transcript_view.py): words -> spans with times, marks and tooltips; the
language candidates -> the chart's value. The page's script is driven in tests/test_browser.py."""

import gradio as gr

from demos.transcript_view import TEMPLATE, language_chart, transcript_data

WORDS = [
    {"word": " Hello", "start": 0.0, "end": 0.42, "probability": 0.91},
    {"word": " world", "start": 0.42, "end": 0.9, "probability": 0.31},
    {"word": " ", "start": 0.9, "end": 0.9, "probability": 0.5},  # an empty token: nothing to show or click
    {"word": "<b>x</b>", "start": 1.2345, "end": 1.5, "probability": None},  # a model that gives no probability
]


def test_words_keep_their_times_and_are_marked_under_the_threshold() -> None:
    data = transcript_data(WORDS, threshold=0.5)
    assert [(w["word"], w["start"], w["end"]) for w in data["words"]] == [
        ("Hello", 0.0, 0.42), ("world", 0.42, 0.9), ("<b>x</b>", 1.234, 1.5)]
    assert [w["kind"] for w in data["words"]] == ["w", "w low", "w"]  # no probability: not marked
    assert data["words"][1]["title"] == "0.42-0.90 s, 31% sure"
    assert data["count"] == 3
    assert "3 words; 1 under 50% confidence" in data["note"]


def test_the_threshold_moves_the_marks() -> None:
    assert [w["kind"] for w in transcript_data(WORDS, threshold=0.95)["words"]] == ["w low", "w low", "w"]
    assert [w["kind"] for w in transcript_data(WORDS, threshold=0.0)["words"]] == ["w", "w", "w"]


def test_no_words_shows_the_note_it_was_given() -> None:
    data = transcript_data([], note="Word timestamps are off.")
    assert data == {"words": [], "count": 0, "note": "Word timestamps are off."}


def test_the_template_escapes_the_words() -> None:
    """Words are model output: the template uses Handlebars' escaping {{...}}, never raw ${...} or {{{...}}}."""
    assert "{{this.word}}" in TEMPLATE and "{{{" not in TEMPLATE and "${" not in TEMPLATE
    gr.HTML(transcript_data(WORDS), html_template=TEMPLATE)  # gradio accepts the template (no <script>)


def test_language_candidates_become_named_probabilities() -> None:
    names = {"fr": "French", "de": "German"}
    chart = language_chart([{"language": "fr", "probability": 0.8}, {"language": "de", "probability": 0.15}],
                           names.get)
    assert chart == {"French (fr)": 0.8, "German (de)": 0.15}
    assert language_chart([], names.get) is None


def test_the_tab_shows_the_words_and_says_when_word_timestamps_are_off(client) -> None:
    """Through the app: the transcript shows the result's words, or why there are none."""
    from gradio_client import handle_file

    from demos.common import ASSETS

    shown = client.predict(audio=handle_file(ASSETS / "audio" / "en.wav"), model="openai/whisper-base",
                           api_name="/transcribe")
    words, result = shown[4], shown[-1]
    assert result["words"] and [w["start"] for w in words["words"]] == [w["start"] for w in result["words"]]
    shown = client.predict(audio=handle_file(ASSETS / "audio" / "en.wav"), model="openai/whisper-base",
                           word_timestamps=False, api_name="/transcribe")
    assert shown[-1]["words"] == [] and shown[4]["note"] == "Word timestamps are off."


def test_the_tab_streams_the_text_then_gives_the_words(client, speech_45s) -> None:
    """Long audio: the text of each finished window first (the other outputs wait), then everything with the words."""
    from gradio_client import handle_file

    job = client.submit(audio=handle_file(speech_45s), model="openai/whisper-base", language="en", vad=False,
                        api_name="/transcribe")
    final = job.result()
    steps = job.outputs()
    assert len(steps) >= 2  # two 30 s windows: at least one partial text before the end
    assert all(final[0].startswith(step[0]) for step in steps)
    words = final[-1]["words"]
    assert words and final[4]["count"] == len([w for w in words if w["word"].strip()])
    assert all(0 <= w["start"] <= w["end"] <= 45.0 for w in words)
