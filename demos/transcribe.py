"""Speech recognition tab: microphone or file -> text, language, timed segments and subtitles."""

from collections.abc import Iterator
from typing import Any

import gradio as gr

from backend.catalog import default_model, find_model
from backend.languages import LANGUAGE_NAMES
from backend.speech.mms_languages import mms_name
from backend.speech.subtitles import to_srt, to_vtt
from backend.tasks import transcribe as recognition
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    model_dropdown,
    model_handler,
    model_notes,
    show_loading,
    write_output,
)
from demos.transcript_view import (
    AUDIO_ID,
    DEFAULT_THRESHOLD,
    VIDEO_ID,
    language_chart,
    transcript_data,
    transcript_view,
)

TASK = "transcribe"
DEFAULT_MODEL = default_model(TASK).id
AUTO = "auto"
SEGMENT_HEADERS = ["start (s)", "end (s)", "text"]
EXAMPLES = [[str(ASSETS / "audio" / name)] for name in ("en.wav", "fr.wav", "de.wav", "sw.wav", "gn.wav")]
# Which options each kind of model takes: (shows the language menu, shows the task choice, the task it runs).
OPTIONS_BY_FAMILY = {
    "whisper": (True, True, "transcribe"),
    "mms": (True, False, "transcribe"),  # 1,100+ languages; auto-detect asks MMS-LID
    "xls_r_translation": (False, False, "translate"),  # speech -> English; it takes no language
    "wav2vec2": (False, False, "transcribe"),  # English only
}


def language_choices(model_id: str | None) -> list[tuple[str, str]]:
    """"Auto-detect" then the model's languages by English name (MMS: "Swahili (swh)", to search by either)."""
    spec = find_model(model_id or "") or default_model(TASK)
    if spec.family == "mms":
        named = sorted((f"{mms_name(code)} ({code})", code) for code in spec.languages)
        return [("Auto-detect (MMS-LID, 126 languages)", AUTO), *named]
    named = sorted((LANGUAGE_NAMES[code], code) for code in spec.languages)
    return [("Auto-detect", AUTO), *named]


def describe_language(result: recognition.TranscriptionResult) -> str:
    """The language line: its name, and its probability when the model gives one."""
    name = recognition.language_name(result.language)
    if result.language_probability is None:
        return name
    others = ", ".join(f"{recognition.language_name(guess.language)} {guess.probability:.0%}"
                       for guess in result.language_candidates)
    if not others:
        return f"{name} ({result.language_probability:.0%})"
    return f"{name} ({result.language_probability:.0%}; heard: {others})"


@model_handler
def transcribe(
    audio: Any,
    model: str = DEFAULT_MODEL,
    language: str = AUTO,
    task: str = "transcribe",
    beam_size: int = 0,
    word_timestamps: bool = True,
    candidate_languages: str | None = None,
    vad: bool = True,
    video: Any = None,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> Iterator[tuple[Any, ...]]:
    """Transcribe speech into text, or translate it into English text, with timed segments and subtitles.

    Whisper models know 99 languages and can translate; MMS-1b-all knows 1,100+ languages (give the language, or
    "auto" to let MMS-LID identify it); XLS-R 21-to-en only translates (21 languages into English). A local file
    is sent by POSTing it to <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        audio: The speech (WAV, FLAC, OGG, MP3; up to 30 min) as a URL: this app's file URL, a data: URI or http(s) URL.
        model: A catalog model id (see the catalog://models resource), e.g. openai/whisper-large-v3-turbo,
            facebook/mms-1b-all or facebook/wav2vec2-xls-r-300m-21-to-en.
        language: The spoken language: "auto" to detect it, an English name ("French") or a code ("fr"; ISO 639-3
            such as "fra" or "swh" for MMS-1b-all).
        task: "transcribe" (text in the spoken language) or "translate" (English text; Whisper and XLS-R only).
        beam_size: Whisper's beams, 1 (greedy, fastest) to 5 (most accurate); 0 for the default of its engine.
        word_timestamps: Add "words" with each word's start, end (seconds) and probability (0-1).
        candidate_languages: Restrict language detection to these languages, comma-separated names or codes
            ("French, de, es"); empty for all.
        vad: Skip silence and noise before recognition (voice activity detection); "speech_s" says how much was kept.
        video: A video file (MP4, WebM, MOV, MKV) whose audio track is transcribed instead of `audio`; the page plays
            it with the subtitles on it. API callers may as well pass the video as `audio`.

    Returns:
        JSON {"model", "text", "language", "segments": [{"start", "end", "text"}...], "language_probability",
        "language_candidates": [{"language", "probability"}...], "engine", "precision", "words": [{"word", "start",
        "end", "probability"}...], "words_note", "speech_s"}, times in seconds; probabilities are 0-1.
    """
    source = video or audio  # a video's sound is transcribed and the video is played with its subtitles
    if source is None:
        raise gr.Error("Record with the microphone, upload an audio or video file, or pick an example below.")
    show_loading(model, TASK, progress)
    # Long audio shows the text after each decoded 30 s window; every output comes with the last step.
    beams = None if beam_size in (0, None, "") else beam_size  # 0: the engine's default (backend/speech/whisper.py)
    steps = recognition.stream_transcription(source, model=model, language=language, task=task, beam_size=beams,
                                             word_timestamps=bool(word_timestamps),
                                             candidate_languages=candidate_languages or None, vad=bool(vad))
    for step in steps:
        progress((step.done, step.total), desc="Transcribing", unit="seconds")
        if step.done < step.total:
            yield step.result.text, *[gr.skip()] * 8
    result = step.result
    summary = result.to_json()
    rows = [[segment.start, segment.end, segment.text] for segment in result.segments]
    vtt = write_output(to_vtt(result.segments), "transcript.vtt")
    files = [write_output(to_srt(result.segments), "transcript.srt"), vtt]
    note = ("Word timestamps are off." if not word_timestamps else result.words_note or "")
    words = transcript_data(summary["words"], DEFAULT_THRESHOLD, note=note)  # the page's threshold: mark_words
    chart = language_chart(summary["language_candidates"], recognition.language_name)
    # gr.Video(value=, subtitles=) and a WebVTT file: gradio 6.31's SRT conversion and tuple form are broken.
    player = (gr.Video(value=video, subtitles=vtt, visible=True) if video else gr.Video(value=None, visible=False))
    yield (result.text, describe_language(result), rows, files, words, summary["words"],
           gr.Label(value=chart, visible=chart is not None), player, summary)


def mark_words(words: list[dict[str, Any]], threshold: float) -> Any:
    """The transcript again with the words under the page's threshold marked (no words: left as it is)."""
    return transcript_data(words, threshold) if words else gr.skip()


def clear_transcript() -> tuple[dict[str, Any], list]:
    """An empty transcript when new speech arrives: the old words would seek the new player to wrong times."""
    return transcript_data([], note="Transcribe to see the words here."), []


def follow_model(model_id: str) -> tuple[Any, Any]:
    """Offer the chosen model's languages and tasks; hide the options it does not take."""
    spec = find_model(model_id) or default_model(TASK)
    languages, tasks, task = OPTIONS_BY_FAMILY.get(spec.family, (False, False, "transcribe"))
    return (gr.update(choices=language_choices(model_id), value=AUTO, visible=languages),
            gr.update(value=task, visible=tasks))


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Record or upload speech. Whisper knows 99 languages and can translate what it hears into English; "
                "MMS-1b-all knows 1,100+ languages (search the language menu by name or code); XLS-R 21-to-en "
                "translates 21 languages into English.")
    with gr.Row():
        with gr.Column():
            # The native player (no waveform) is a page <audio> that the transcript's script can seek and follow.
            audio = gr.Audio(label="Speech", sources=["microphone", "upload"], type="filepath", format=None,
                             elem_id=AUDIO_ID, waveform_options=gr.WaveformOptions(show_recording_waveform=False))
            with gr.Accordion("Or a video (MP4, WebM, MOV, MKV): transcribed instead, played with subtitles",
                              open=False):
                video = gr.Video(label="Video", sources=["upload"], elem_id="asr-video-in")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            with gr.Row():
                # Custom values let API callers pass names ("French") as well as codes; the backend checks them.
                language = gr.Dropdown(choices=language_choices(DEFAULT_MODEL), value=AUTO, label="Language",
                                       filterable=True, allow_custom_value=True)
                task_choice = gr.Radio(choices=[("Transcribe", "transcribe"), ("Translate to English", "translate")],
                                     value="transcribe", label="Task")
                # Custom values reach the backend, which refuses anything but 1-5 with its own message.
                beam_choice = gr.Dropdown(choices=[("Default", 0), ("1 (greedy, fastest)", 1), ("2", 2), ("3", 3),
                                                   ("4", 4), ("5 (most accurate)", 5)], value=0, label="Beams",
                                          allow_custom_value=True)
            with gr.Row():
                word_choice = gr.Checkbox(value=True, label="Word timestamps", info="each word's time and confidence")
                vad_choice = gr.Checkbox(value=True, label="Skip silence (VAD)",
                                         info="voice activity detection before recognition")
            candidates = gr.Textbox(label="Candidate languages", placeholder="e.g. French, de, es (empty: all)",
                                    info="Auto-detect chooses among these only.")
            threshold = gr.Slider(0, 1, value=DEFAULT_THRESHOLD, step=0.05, label="Mark words under this confidence",
                                  elem_id="asr-threshold")
            run = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Text", lines=6, buttons=["copy"], interactive=False)
            player = gr.Video(label="Video with subtitles", elem_id=VIDEO_ID, interactive=False, visible=False)
            transcript = transcript_view()
            words = gr.State([])  # the result's words, to mark them again when the threshold moves
            detected = gr.Textbox(label="Language", interactive=False)
            chart = gr.Label(label="Language candidates", num_top_classes=5, visible=False, elem_id="asr-languages")
            segments = gr.Dataframe(headers=SEGMENT_HEADERS, label="Segments", interactive=False, wrap=True)
            subtitles = gr.File(label="Subtitles (SRT, WebVTT)", file_count="multiple")
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[audio])

    run.click(
        transcribe,
        inputs=[audio, model, language, task_choice, beam_choice, word_choice, candidates, vad_choice, video],
        outputs=[text, detected, segments, subtitles, transcript, words, chart, player, result],
        api_name="transcribe",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    ).then(mark_words, inputs=[words, threshold], outputs=transcript, api_visibility="private", queue=False)
    for source in (audio, video):
        source.change(clear_transcript, outputs=[transcript, words], api_visibility="private", queue=False)
    model.change(follow_model, inputs=model, outputs=[language, task_choice], api_visibility="private", queue=False)
    threshold.change(mark_words, inputs=[words, threshold], outputs=transcript, api_visibility="private",
                     queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
