"""Text to speech tab: text -> playable, downloadable speech, with Bark's voice presets."""

from collections.abc import Iterator
from typing import Any

import gradio as gr

from backend.catalog import default_model, find_model
from backend.errors import InputError
from backend.languages import LANGUAGE_NAMES
from backend.limits import MAX_TEXT_CHARS
from backend.speech import speaking
from backend.speech.voices import VOICE_BY_LANGUAGE, VOICE_LANGUAGES
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
from demos.streamed_audio import StreamedAudio, wav_bytes
from demos.wav_audio import WavAudio

TASK = "synthesize_speech"
DEFAULT_SPEC = default_model(TASK)
EXAMPLES = [
    [(ASSETS / "texts" / "en.txt").read_text(encoding="utf-8").strip(), "v2/en_speaker_6", ""],
    [(ASSETS / "texts" / "fr.txt").read_text(encoding="utf-8").strip(), "v2/fr_speaker_1", "fr"],
    ["Hello! [laughs] Bark can also laugh, sigh and hesitate... like this.", "v2/en_speaker_9", ""],
    ["안녕하세요. 오늘 날씨가 좋네요.", "", "ko"],  # an MMS-TTS voice trained on romanized text
]
# "" speaks the model's own language; a language picks the voice that speaks it (MMS-TTS, or a Bark preset).
LANGUAGE_CHOICES = [("The model's language", ""),
                    *sorted((LANGUAGE_NAMES[code], code) for code in VOICE_LANGUAGES)]


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
    language: str = "",
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> Iterator[tuple[Any, Any, Any]]:
    """Read text aloud: text in, speech audio (WAV) out. Bark is expressive and multilingual with voice presets;
    MMS-TTS is one fast English voice.

    Args:
        text: The text to speak, up to 5,000 characters, read sentence by sentence.
        model: Catalog id of the speech model (see the catalog://models resource); default Bark small.
        voice: Bark preset "v2/<language code>_speaker_<0-9>", e.g. "v2/fr_speaker_1"; ignored by MMS-TTS.
        language: The language to speak, an English name ("Hindi") or a code ("hi"); it picks the voice (one of
            36 MMS-TTS voices, or a Bark preset of that language). Empty: the model's own language.

    Returns:
        The whole speech as WAV audio, the same speech as it was streamed, then JSON {"model", "sampling_rate",
        "duration_s", "voice", "language", "spoken_text", "unsayable_characters"}; spoken_text is the text as
        the voice read it (romanized for voices trained on romanized text).
    """
    show_loading(model, TASK, progress)
    parts = []
    # Each piece plays as soon as it is made (the first sentence first); the last one comes with the WAV of the
    # whole text and the JSON, so that the final outputs (what gradio_client's predict returns) hold all three.
    for part in task.stream_speech(text, model=model, voice=voice, language=language):
        parts.append(part)
        progress((part.done, part.total), desc="Speaking", unit="pieces")
        if part.done < part.total and len(part.audio):
            yield gr.skip(), wav_bytes(part.audio, part.sampling_rate), gr.skip()
    result = task.join_speech(parts)
    if result.unsayable:
        gr.Warning(f"This voice cannot say {' '.join(result.unsayable[:20])}: left out of the speech.")
    last = wav_bytes(parts[-1].audio, result.sampling_rate) if len(parts[-1].audio) else gr.skip()
    # Written once per content and never rewritten while another request downloads it (gradio rewrites its own
    # audio files in place).
    yield write_output(wav_bytes(result.audio, result.sampling_rate), "speech.wav"), last, result.to_json()


@model_handler
def synthesize_speech_wav(
    text: str,
    model: str = DEFAULT_SPEC.id,
    voice: str = DEFAULT_SPEC.default_voice,
    language: str = "",
    progress: gr.Progress = gr.Progress(track_tqdm=True),  # noqa: B008 - gradio's documented idiom
) -> tuple[Any, Any]:
    """Read text aloud, for API clients: the speech of /synthesize_speech as one WAV file, with nothing streamed.

    Args:
        text: The text to speak, up to 5,000 characters, read sentence by sentence.
        model: Catalog id of the speech model (see the catalog://models resource); default Bark small.
        voice: Bark preset "v2/<language code>_speaker_<0-9>", e.g. "v2/fr_speaker_1"; ignored by MMS-TTS.
        language: The language to speak, an English name ("Hindi") or a code ("hi"); it picks the voice (one of
            36 MMS-TTS voices, or a Bark preset of that language). Empty: the model's own language.

    Returns:
        The whole speech as WAV audio, then JSON {"model", "sampling_rate", "duration_s", "voice", "language",
        "spoken_text", "unsayable_characters"}, as /synthesize_speech gives them.
    """
    show_loading(model, TASK, progress)
    result = task.synthesize_speech(text, model=model, voice=voice, language=language)
    if result.unsayable:
        gr.Warning(f"This voice cannot say {' '.join(result.unsayable[:20])}: left out of the speech.")
    return write_output(wav_bytes(result.audio, result.sampling_rate), "speech.wav"), result.to_json()


def what_will_be_spoken(text: str, model_id: str, language: str) -> Any:
    """The text as the chosen voice will read it, shown when it differs (romanized), hidden otherwise."""
    try:
        spoken = speaking.preview(text or "", model_id, language)
    except InputError:
        return gr.update(visible=False)
    return gr.update(value=spoken, visible=bool(text) and spoken != text)


def follow_language(model_id: str, language: str) -> Any:
    """Switch an MMS-TTS model to the voice of the language chosen (Bark keeps itself and changes preset)."""
    spec = find_model(model_id) or DEFAULT_SPEC
    voice = VOICE_BY_LANGUAGE.get(language)
    if spec.family != "vits" or voice is None:
        return gr.skip()
    return gr.update(value=voice.model_id)


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
            language = gr.Dropdown(choices=LANGUAGE_CHOICES, value="", label="Language", filterable=True,
                                   allow_custom_value=True)
            spoken = gr.Textbox(label="What will be spoken (romanized for this voice)", interactive=False,
                                visible=False, lines=2)
            run = gr.Button("Speak", variant="primary")
        with gr.Column():
            # Plays each sentence as it is made; the whole text arrives in the download below at the end. Streamed
            # with an in-process encoder: gradio's own needs the ffmpeg program (demos/streamed_audio.py).
            stream = StreamedAudio(label="Speech (plays as it is made)", streaming=True, autoplay=True, format="wav",
                                   interactive=False)
            speech = WavAudio(label="Speech (whole text)", type="filepath", format="wav", interactive=False)
            result = gr.JSON(label="Result (JSON)", open=False)
    gr.Examples(examples=EXAMPLES, inputs=[text, voice, language])

    run.click(
        synthesize_speech,
        inputs=[text, model, voice, language],
        outputs=[speech, stream, result],
        api_name="synthesize_speech",
        concurrency_id=MODEL_QUEUE,
        concurrency_limit=MODEL_CONCURRENCY,
    )
    # The same speech for API clients, with nothing streamed: no hidden outputs of the page are computed for them.
    api_speech = WavAudio(type="filepath", format="wav", visible=False)
    api_result = gr.JSON(visible=False)
    gr.on([], synthesize_speech_wav, inputs=[text, model, voice, language], outputs=[api_speech, api_result],
          api_name="synthesize_speech_wav", concurrency_id=MODEL_QUEUE, concurrency_limit=MODEL_CONCURRENCY)
    model.change(follow_model, inputs=model, outputs=voice, api_visibility="private", queue=False)
    model.change(model_notes, inputs=model, outputs=notes, api_visibility="private", queue=False)
    language.input(follow_language, inputs=[model, language], outputs=model, api_visibility="private", queue=False)
    # The preview may build the romanizer on first use (seconds): queued, hidden progress, never on the model queue.
    gr.on([text.change, model.change, language.change], what_will_be_spoken, inputs=[text, model, language],
          outputs=spoken, api_visibility="private", show_progress="hidden", trigger_mode="always_last")

if __name__ == "__main__":  # this tab alone
    with gr.Blocks() as demo:
        build()
    demo.launch()
