"""Speech translation tab: speech or a video in one language -> its text, the translation, the translation spoken
(the first sentence plays while the rest is made), and bilingual and translated subtitles."""

from collections.abc import Iterator
from typing import Any

import gradio as gr

from backend.catalog import default_model
from backend.languages import LANGUAGE_NAMES
from backend.speech.voices import VOICE_LANGUAGES
from backend.tasks import translate_speech as task
from demos.common import (
    ASSETS,
    MODEL_CONCURRENCY,
    MODEL_QUEUE,
    model_dropdown,
    model_handler,
    show_loading,
    write_output,
)
from demos.streamed_audio import StreamedAudio, wav_bytes
from demos.wav_audio import WavAudio

TASK = "translate_speech"
TRANSLATION = default_model("translate")
# Targets: the languages both the translation model and some voice speak (Bark adds none beyond the MMS voices).
TARGET_CHOICES = sorted((LANGUAGE_NAMES[code], code) for code in VOICE_LANGUAGES if code in TRANSLATION.languages)
SOURCE_CHOICES = [("Auto-detect", "auto"),
                  *sorted((LANGUAGE_NAMES[code], code) for code in TRANSLATION.languages)]
SEGMENT_HEADERS = ["start (s)", "end (s)", "text", "translation"]
# (input, target, source): the source is given so that the examples also run on the random tiny test models.
EXAMPLES = [[str(ASSETS / "audio" / "fr.wav"), "en", "fr"], [str(ASSETS / "audio" / "de.wav"), "es", "de"],
            [str(ASSETS / "audio" / "en.wav"), "hi", "en"]]
VIDEO_EXAMPLES = [[str(ASSETS / "video" / "speech_fr.mp4"), "en", "fr"]]


@model_handler
def translate_speech(
    audio: Any,
    target_language: str = "en",
    source_language: str = "auto",
    recognition_model: str = default_model("transcribe").id,
    translation_model: str = TRANSLATION.id,
    speech_model: str = default_model("synthesize_speech").id,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> Iterator[tuple[Any, ...]]:
    """Translate speech into another language and speak it: recognise the speech (Whisper or MMS), translate each
    segment (M2M100), speak the translation (MMS-TTS voices for 36 languages, or Bark), with subtitles.

    A video goes in the same argument (its sound track is used). A local file is sent by POSTing it to
    <app>/gradio_api/upload and passing <app>/gradio_api/file=<returned path>.

    Args:
        audio: The speech (WAV, FLAC, OGG, MP3) or a video (MP4, WebM, MKV, MOV, AVI), up to 30 min, as a URL:
            this app's file URL, a data: URI or http(s) URL.
        target_language: The language to translate into and speak, an English name ("Spanish") or a code ("es").
        source_language: The spoken language, "auto" to detect it, or a name or code ("French", "fr").
        recognition_model: Catalog id of the speech recognition model (see the catalog://models resource).
        translation_model: Catalog id of the translation model.
        speech_model: Catalog id of the text-to-speech model; a target language it cannot speak picks the MMS-TTS
            voice of that language.

    Returns:
        The spoken translation (WAV), the same as it was streamed, the recognised text, the translation, the
        segments, the subtitle files (bilingual.srt/.vtt: each cue the original line then its translation;
        translation.srt/.vtt), then JSON {"source_language", "target_language", "segments": [{"start", "end",
        "text", "translation"}...], "models": {"recognition", "translation", "speech"}, "seconds": {"recognition",
        "translation", "speech"}, "duration_s"}, times in seconds.
    """
    if audio is None:
        raise gr.Error("Record or upload speech (or a video with speech), or pick an example below.")
    show_loading(recognition_model, "transcribe", progress)
    progress(0, desc="Recognising speech")
    for step in task.stream_speech_translation(audio, target_language, source_language, recognition_model,
                                               translation_model, speech_model):
        result = step.result
        if step.audio is not None:
            progress((step.done, step.total), desc="Translating and speaking", unit="segments")
            # Each segment plays as soon as it is spoken; the other outputs come with the last step.
            yield (gr.skip(), wav_bytes(step.audio, result.sampling_rate), *text_outputs(result), gr.skip(),
                   gr.skip())
    files = [write_output(text, name) for name, text in result.subtitles().items()]
    whole = write_output(wav_bytes(result.audio, result.sampling_rate), "translation.wav")
    yield whole, gr.skip(), *text_outputs(result), files, result.to_json()


def text_outputs(result: task.SpeechTranslationResult) -> tuple[str, str, list[list[Any]]]:
    """The recognised text, the translation (a line per segment) and the segment rows so far."""
    rows = [[s.start, s.end, s.text, s.translation] for s in result.segments]
    return ("\n".join(s.text for s in result.segments), "\n".join(s.translation for s in result.segments), rows)


def translate_video(video: Any, target_language: str, source_language: str, recognition_model: str,
                    translation_model: str, speech_model: str) -> Iterator[tuple[Any, ...]]:
    """The video's speech translated, as for audio, and the video shown with the translated subtitles."""
    if video is None:
        raise gr.Error("Upload a video with speech first, or pick the video example below.")
    outputs: tuple[Any, ...] = ()
    for outputs in translate_speech(video, target_language, source_language, recognition_model,
                                    translation_model, speech_model):
        yield (*outputs, gr.skip())
    subtitles = next(path for path in outputs[5] if path.endswith("translation.vtt"))
    yield (*(gr.skip() for _ in outputs), gr.Video(value=video, subtitles=subtitles))



def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Speak (or upload speech or a video) in one language and hear it in another: Whisper hears it, "
                "M2M100 translates each segment, an MMS-TTS voice (36 languages) or Bark speaks the translation. "
                "The first sentence plays while the rest is made. The spoken translation does not keep the "
                "original timing; the subtitles do.")
    with gr.Row():
        with gr.Column():
            with gr.Tab("Audio input"):
                audio = gr.Audio(label="Speech", sources=["microphone", "upload"], type="filepath", format=None)
                run = gr.Button("Translate speech", variant="primary")
            with gr.Tab("Video input"):
                video = gr.Video(label="Video with speech", sources=["upload"])
                run_video = gr.Button("Translate video", variant="primary")
            with gr.Row():
                # Custom values: API callers type names ("French") or codes; the backend checks them per stage.
                source = gr.Dropdown(choices=SOURCE_CHOICES, value="auto", label="From", filterable=True,
                                     allow_custom_value=True)
                target = gr.Dropdown(choices=TARGET_CHOICES, value="en", label="To", filterable=True,
                                     allow_custom_value=True)
            with gr.Accordion("Models", open=False):
                recognition_model = model_dropdown("transcribe")
                recognition_model.label = "Recognition model"
                translation_model = model_dropdown("translate")
                translation_model.label = "Translation model"
                speech_model = model_dropdown("synthesize_speech")
                speech_model.label = "Speech model"
        with gr.Column():
            # Streamed with an in-process encoder: gradio's own needs the ffmpeg program (demos/streamed_audio.py).
            stream = StreamedAudio(label="Translation, spoken (plays as it is made)", streaming=True, autoplay=True,
                                   format="wav", interactive=False, elem_id="speech-translation-stream")
            speech = WavAudio(label="Translation, spoken (whole)", type="filepath", format="wav", interactive=False)
            subtitled = gr.Video(label="Video with the translated subtitles", interactive=False)
            text = gr.Textbox(label="Recognised text", lines=4, buttons=["copy"], interactive=False)
            translation = gr.Textbox(label="Translation", lines=4, buttons=["copy"], interactive=False)
            segments = gr.Dataframe(headers=SEGMENT_HEADERS, label="Segments", interactive=False, wrap=True)
            subtitles = gr.File(label="Subtitles (bilingual and translated; SRT, WebVTT)", file_count="multiple")
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[audio, target, source], label="Speech examples")
    gr.Examples(examples=VIDEO_EXAMPLES, inputs=[video, target, source], label="Video example")

    outputs = [speech, stream, text, translation, segments, subtitles, result]
    models = [recognition_model, translation_model, speech_model]
    run.click(
        translate_speech,
        inputs=[audio, target, source, *models],
        outputs=outputs,
        api_name="translate_speech",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    # The same task for the Video tab (the public endpoint takes videos in `audio`), plus the subtitled video.
    run_video.click(
        translate_video,
        inputs=[video, target, source, *models],
        outputs=[*outputs, subtitled],
        api_visibility="private",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )


if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
