"""Text to speech tab: text -> playable, downloadable speech, with Bark's voice presets."""

import io
from collections.abc import Iterator
from typing import Any

import gradio as gr
import numpy as np
import soundfile

from backend.catalog import default_model, find_model
from backend.languages import LANGUAGE_NAMES
from backend.limits import MAX_TEXT_CHARS
from backend.tasks import synthesize_speech as task
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
from demos.streamed_audio import StreamedAudio

TASK = "synthesize_speech"
DEFAULT_SPEC = default_model(TASK)
EXAMPLES = [
    [(ASSETS / "texts" / "en.txt").read_text(encoding="utf-8").strip(), "v2/en_speaker_6"],
    [(ASSETS / "texts" / "fr.txt").read_text(encoding="utf-8").strip(), "v2/fr_speaker_1"],
    ["Hello! [laughs] Bark can also laugh, sigh and hesitate... like this.", "v2/en_speaker_9"],
]


def voice_choices(model_id: str | None) -> list[tuple[str, str]]:
    """Menu entries for a model's voices, e.g. ("French, speaker 1", "v2/fr_speaker_1"); one default entry if none."""
    spec = find_model(model_id or "") or DEFAULT_SPEC
    if not spec.voices:
        return [("The model's voice", "")]
    entries = []
    for voice in spec.voices:  # "v2/fr_speaker_1"
        language, number = voice.removeprefix("v2/").split("_speaker_")
        entries.append((f"{LANGUAGE_NAMES[language]}, speaker {number}", voice))
    return entries


@model_handler
def synthesize_speech(
    text: str,
    model: str = DEFAULT_SPEC.id,
    voice: str = DEFAULT_SPEC.default_voice,
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> Iterator[tuple[Any, Any, Any]]:
    """Read text aloud: text in, speech audio (WAV) out. Bark is expressive and multilingual with voice presets;
    MMS-TTS is one fast English voice.

    Args:
        text: The text to speak, up to 5,000 characters, read sentence by sentence.
        model: Catalog id of the speech model (see the catalog://models resource); default Bark small.
        voice: Bark preset "v2/<language code>_speaker_<0-9>", e.g. "v2/fr_speaker_1"; ignored by MMS-TTS.

    Returns:
        The whole speech as WAV audio, the same speech as it was streamed, then JSON {"model", "sampling_rate",
        "duration_s", "voice"}.
    """
    show_loading(model, TASK, progress)
    parts = []
    # Each piece plays as soon as it is made (the first sentence first); the last one comes with the WAV of the
    # whole text and the JSON, so that the final outputs (what gradio_client's predict returns) hold all three.
    for part in task.stream_speech(text, model=model, voice=voice):
        parts.append(part)
        progress((part.done, part.total), desc="Speaking", unit="pieces")
        if part.done < part.total and len(part.audio):
            yield gr.skip(), wav_bytes(part.audio, part.sampling_rate), gr.skip()
    result = task.join_speech(parts)
    last = wav_bytes(parts[-1].audio, result.sampling_rate) if len(parts[-1].audio) else gr.skip()
    # Written once per content and never rewritten while another request downloads it (gradio rewrites its own
    # audio files in place).
    yield write_output(wav_bytes(result.audio, result.sampling_rate), "speech.wav"), last, result.to_json()


def wav_bytes(audio: np.ndarray, rate: int) -> bytes:
    """Samples as a 16-bit WAV file: what gradio would make of them, and what its audio stream reads directly."""
    wav = io.BytesIO()
    soundfile.write(wav, audio, rate, format="WAV", subtype="PCM_16")
    return wav.getvalue()


def follow_model(model_id: str) -> Any:
    """Offer the chosen model's voices; hide the menu for single-voice models."""
    spec = find_model(model_id) or DEFAULT_SPEC
    return gr.update(choices=voice_choices(model_id), value=spec.default_voice, visible=bool(spec.voices))


def build() -> None:
    """The tab's components and events, made in the caller's Blocks (app.py calls it under a gr.Tab).

    Nothing is made at import, so reload mode (`gradio app.py`) can rebuild the page with fresh block ids.
    """
    gr.Markdown("Type text and hear it. Bark is expressive and multilingual but slow on a CPU; MMS-TTS is fast.")
    with gr.Row():
        with gr.Column():
            text = gr.Textbox(label="Text", lines=5, max_length=MAX_TEXT_CHARS,
                              placeholder=f"Up to {MAX_TEXT_CHARS:,} characters, read sentence by sentence")
            model = model_dropdown(TASK)
            notes = gr.Markdown(model_notes(DEFAULT_SPEC.id))
            # Custom values: the menu starts with the default model's voices (none for MMS-TTS on CPU), yet API
            # callers may name another model and its voice in one request; the backend checks the pair.
            voice = gr.Dropdown(choices=voice_choices(DEFAULT_SPEC.id), value=DEFAULT_SPEC.default_voice,
                                label="Voice", filterable=True, allow_custom_value=True,
                                visible=bool(DEFAULT_SPEC.voices))
            run = gr.Button("Speak", variant="primary")
        with gr.Column():
            # Plays each sentence as it is made; the whole text arrives in the download below at the end. Streamed
            # with an in-process encoder: gradio's own needs the ffmpeg program (demos/streamed_audio.py).
            stream = StreamedAudio(label="Speech (plays as it is made)", streaming=True, autoplay=True, format="wav",
                                   interactive=False)
            speech = gr.Audio(label="Speech (whole text)", type="filepath", format="wav", interactive=False)
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[text, voice])

    run.click(
        synthesize_speech,
        inputs=[text, model, voice],
        outputs=[speech, stream, result],
        api_name="synthesize_speech",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    model.change(follow_model, inputs=model, outputs=voice, api_visibility="private", queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
