"""Speech recognition tab: microphone or file -> text, language, timed segments and subtitles."""

from collections.abc import Iterator
from typing import Any

import gradio as gr

from backend import transcribe as recognition
from backend.catalog import default_model, find_model
from backend.languages import LANGUAGE_NAMES
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

TASK = "transcribe"
DEFAULT_MODEL = default_model(TASK).id
AUTO = "auto"
SEGMENT_HEADERS = ["start (s)", "end (s)", "text"]
EXAMPLES = [[str(ASSETS / "audio" / name)] for name in ("en.wav", "fr.wav", "de.wav")]


def language_choices(model_id: str | None) -> list[tuple[str, str]]:
    """"Auto-detect" then the model's languages by English name."""
    spec = find_model(model_id or "") or default_model(TASK)
    named = sorted((LANGUAGE_NAMES[code], code) for code in spec.languages)
    return [("Auto-detect", AUTO), *named]


@model_handler
def transcribe(
    audio: Any,
    model: str = DEFAULT_MODEL,
    language: str = AUTO,
    task: str = "transcribe",
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> Iterator[tuple[Any, ...]]:
    """Turn speech into text with its language and timed segments, or (Whisper, task "translate") into English
    text. Also gives SRT and WebVTT subtitle files. A local file is sent by POSTing it to <app>/gradio_api/upload
    and passing <app>/gradio_api/file=<returned path>.

    Args:
        audio: The audio (WAV, FLAC, OGG, MP3; up to 30 min) as a URL: this app's file URL, a data: URI or http(s) URL.
        model: Catalog id of the speech model (see the catalog://models resource); default Whisper large-v3 turbo.
        language: Spoken language, an English name ("French") or a code ("fr"), or "auto" to detect it (Whisper).
        task: "transcribe" (text in the spoken language) or "translate" (English text; Whisper models only).

    Returns:
        JSON {"model", "text", "language", "segments": [{"start", "end", "text"}...]}, times in seconds.
    """
    if audio is None:
        raise gr.Error("Record with the microphone, upload an audio file, or pick an example below.")
    show_loading(model, TASK, progress)
    # Long audio shows the text of each finished batch of 30 s windows; every output comes with the last step.
    for step in recognition.stream_transcription(audio, model=model, language=language, task=task):
        progress((step.done, step.total), desc="Transcribing", unit="windows")
        if step.done < step.total:
            yield step.result.text, gr.skip(), gr.skip(), gr.skip(), gr.skip()
    result = step.result
    summary = result.to_json()
    rows = [[segment.start, segment.end, segment.text] for segment in result.segments]
    files = [write_output(recognition.to_srt(result.segments), "transcript.srt"),
             write_output(recognition.to_vtt(result.segments), "transcript.vtt")]
    language_name = LANGUAGE_NAMES.get(result.language or "", "unknown")
    yield result.text, language_name, rows, files, summary


def follow_model(model_id: str) -> tuple[Any, Any]:
    """Offer the chosen model's languages; show Whisper's options only for Whisper."""
    spec = find_model(model_id) or default_model(TASK)
    whisper = spec.family == "whisper"
    return (gr.update(choices=language_choices(model_id), value=AUTO, visible=whisper),
            gr.update(value="transcribe", visible=whisper))


with gr.Blocks() as demo:
    gr.Markdown("Record or upload speech. Whisper knows 99 languages and can translate what it hears into English.")
    with gr.Row():
        with gr.Column():
            audio = gr.Audio(label="Speech", sources=["microphone", "upload"], type="filepath", format=None)
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_MODEL))
            with gr.Row():
                # Custom values let API callers pass names ("French") as well as codes; the backend checks them.
                language = gr.Dropdown(choices=language_choices(DEFAULT_MODEL), value=AUTO, label="Language",
                                       filterable=True, allow_custom_value=True)
                task_choice = gr.Radio(choices=[("Transcribe", "transcribe"), ("Translate to English", "translate")],
                                     value="transcribe", label="Task")
            run = gr.Button("Transcribe", variant="primary")
        with gr.Column():
            text = gr.Textbox(label="Text", lines=6, buttons=["copy"], interactive=False)
            detected = gr.Textbox(label="Language", interactive=False)
            segments = gr.Dataframe(headers=SEGMENT_HEADERS, label="Segments", interactive=False, wrap=True)
            subtitles = gr.File(label="Subtitles (SRT, WebVTT)", file_count="multiple")
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[audio])

    run.click(
        transcribe,
        inputs=[audio, model, language, task_choice],
        outputs=[text, detected, segments, subtitles, result],
        api_name="transcribe",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    model.change(follow_model, inputs=model, outputs=[language, task_choice], api_visibility="private", queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":
    demo.launch()
