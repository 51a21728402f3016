"""OpenAI-compatible audio routes: /v1/audio/transcriptions, /v1/audio/translations, /v1/audio/speech, /v1/models.

HTTP surface only. Each request is sent to the app's own public event (/transcribe, /synthesize_speech) through
a gradio_client on the server's local address, as gradio's MCP server does: the same backend, limits, model
queue and "queue full" refusals as every other surface. Errors have OpenAI's shape,
{"error": {"message", "type", "code"}}, with status 400 (the request), 401 (the key, see api/__init__.py),
413 (too large), 429 (queue full), 500 or 503 (the server or a model).
"""

import html
import io
import logging
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

import gradio as gr
import soundfile
from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError
from starlette.concurrency import run_in_threadpool

from backend.catalog import CATALOG, default_model, find_model
from backend.languages import LANGUAGE_NAMES
from backend.limits import MAX_AUDIO_BYTES
from backend.speech.subtitles import to_srt, to_vtt
from backend.speech.transcript import Segment
from demos.common import request_id, server_error_message

# OpenAI's model names, each served by the task's default model.
TRANSCRIBE_ALIASES = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
SPEECH_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
# OpenAI's voices mapped to Bark's English presets (single-voice models ignore the voice).
OPENAI_VOICES = {
    "alloy": "v2/en_speaker_6", "ash": "v2/en_speaker_1", "ballad": "v2/en_speaker_2", "coral": "v2/en_speaker_9",
    "echo": "v2/en_speaker_3", "fable": "v2/en_speaker_5", "nova": "v2/en_speaker_4", "onyx": "v2/en_speaker_0",
    "sage": "v2/en_speaker_7", "shimmer": "v2/en_speaker_8", "verse": "v2/en_speaker_6",
}
TRANSCRIPT_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
# response_format -> (soundfile format, subtype, media type). MP3 is libsndfile's LAME encoder (soundfile >= 0.13).
SPEECH_FORMATS = {"wav": ("WAV", "PCM_16", "audio/wav"), "flac": ("FLAC", "PCM_16", "audio/flac"),
                  "mp3": ("MP3", "MPEG_LAYER_III", "audio/mpeg")}
CHUNK_BYTES = 1024 * 1024  # uploads are copied in pieces this large, counting the size as they go
# gr.Error titles set by demos.common.user_errors -> HTTP status and OpenAI error type ("Error", the caller's
# mistake, is 400; any other failure 500).
ERROR_BY_TITLE = {"Model unavailable": (503, "server_error"), "Out of memory": (503, "server_error"),
                  "Server error": (500, "server_error"), "Busy": (429, "rate_limit_error")}


# How gradio_client words a failure the app did not describe (show_error off): never shown, never a 400.
GRADIO_GENERIC_ERROR = "The upstream Gradio app"
logger = logging.getLogger(__name__)


class OpenAIError(Exception):
    """An error to send in OpenAI's shape."""

    def __init__(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.code, self.param = status, message, kind, code, param

    def response(self) -> JSONResponse:
        """The JSON error response."""
        return JSONResponse({"error": {"message": self.message, "type": self.kind, "param": self.param,
                                       "code": self.code}}, status_code=self.status)


class Loopback:
    """One gradio_client for the app's own local address, made on first use (the server is up by then)."""

    def __init__(self, blocks: gr.Blocks) -> None:
        self.blocks = blocks
        self.client: Client | None = None
        self.lock = threading.Lock()

    def call(self, api_name: str, **arguments: Any) -> tuple[Any, ...]:
        """Call one public event through the queue; our messages and refusals as OpenAIErrors."""
        with self.lock:
            if self.client is None:
                self.client = Client(self.blocks.local_url, verbose=False, download_files=False,
                                     headers={"x-gradio-user": "openai-api"})
        try:
            return self.client.predict(**arguments, api_name=api_name)
        except QueueError as error:
            raise OpenAIError(429, "The server is busy: its queue is full. Try again in a moment.",
                              "rate_limit_error", "rate_limit_exceeded") from error
        except AppError as error:
            raise from_app_error(error, api_name) from error


def from_app_error(error: AppError, api_name: str) -> "OpenAIError":
    """The OpenAIError for an event's failure: the caller's mistake only when our message says so ("Error")."""
    if error.title in ERROR_BY_TITLE:
        status, kind = ERROR_BY_TITLE[error.title]
        return OpenAIError(status, unescape(error.message), kind)
    if error.title == "Error" and error.message and not error.message.startswith(GRADIO_GENERIC_ERROR):
        return OpenAIError(400, unescape(error.message))
    # Not one of our messages (a fault outside any handler): ours instead, with an id in the log.
    request = request_id()
    logger.error("Request %s to %s failed: %s: %s", request, api_name, error.title, error.message)
    return OpenAIError(500, server_error_message(request), "server_error")


def unescape(message: str) -> str:
    """A gr.Error message (HTML-escaped for the UI) as plain text."""
    return html.unescape(message)


def router(blocks: gr.Blocks) -> APIRouter:
    """The /v1 routes, calling the app's events on `blocks` once it is launched."""
    loopback = Loopback(blocks)
    routes = APIRouter(prefix="/v1")

    @routes.post("/audio/transcriptions")
    def transcriptions(
        request: Request, file: Annotated[UploadFile | None, File()] = None, model: Annotated[str, Form()] = "",
        language: Annotated[str, Form()] = "", prompt: Annotated[str, Form()] = "",
        response_format: Annotated[str, Form()] = "json", temperature: Annotated[float, Form()] = 0.0,
        timestamp_granularities: Annotated[list[str] | None, Form(alias="timestamp_granularities[]")] = None,
    ) -> Response:
        """Speech to text in its own language (OpenAI's transcriptions)."""
        return guarded(lambda: speech_to_text(loopback, request, "transcribe", file, model, language, prompt,
                                              response_format, temperature, timestamp_granularities or []))

    @routes.post("/audio/translations")
    def translations(
        request: Request, file: Annotated[UploadFile | None, File()] = None, model: Annotated[str, Form()] = "",
        prompt: Annotated[str, Form()] = "", response_format: Annotated[str, Form()] = "json",
        temperature: Annotated[float, Form()] = 0.0,
    ) -> Response:
        """Speech in any language to English text (OpenAI's translations; Whisper models)."""
        return guarded(lambda: speech_to_text(loopback, request, "translate", file, model, "", prompt,
                                              response_format, temperature, []))

    @routes.post("/audio/speech")
    async def speech(request: Request) -> Response:
        """Text to speech (OpenAI's speech): a JSON body in, an audio file out."""
        try:
            body = await request.json()
        except ValueError:
            return OpenAIError(400, "Send a JSON body: {\"model\", \"input\", \"voice\"}.").response()
        return await run_in_threadpool(guarded, lambda: text_to_speech(loopback, body))

    @routes.get("/models")
    def list_models() -> JSONResponse:
        """The catalog, then OpenAI's aliases of the speech defaults."""
        entries = [{"id": spec.id, "object": "model", "created": 0, "owned_by": spec.id.split("/")[0],
                    "task": spec.task} for spec in CATALOG]
        entries += [{"id": alias, "object": "model", "created": 0, "owned_by": "alias",
                     "task": task, "alias_of": default_model(task).id}
                    for task, aliases in (("transcribe", TRANSCRIBE_ALIASES), ("synthesize_speech", SPEECH_ALIASES))
                    for alias in aliases]
        return JSONResponse({"object": "list", "data": entries})

    return routes


async def invalid_fields(request: Request, error: RequestValidationError) -> Response:
    """A /v1 request whose fields do not parse: OpenAI's 400 in our words (FastAPI's own 422 for other routes)."""
    if not request.url.path.startswith("/v1/"):
        return await request_validation_exception_handler(request, error)
    fields = sorted({str(item["loc"][-1]) for item in error.errors() if item.get("loc")})
    return OpenAIError(400, f"These fields are missing or not of the right type: {', '.join(fields) or 'the body'}. "
                            "Send the form fields OpenAI's audio API documents.",
                       param=fields[0] if fields else None).response()


def guarded(work: Any) -> Response:
    """Run a route's work; OpenAIErrors become their JSON responses, anything else our 500 with a logged id."""
    try:
        return work()
    except OpenAIError as error:
        return error.response()
    except Exception as error:
        request = request_id()
        logger.error("Request %s to an OpenAI route failed", request, exc_info=error)
        return OpenAIError(500, server_error_message(request), "server_error").response()


def catalog_id(task: str, model: str, aliases: tuple[str, ...]) -> str:
    """The catalog id a request's `model` names: an id of the task, or an alias of its default."""
    if not model or model in aliases:
        return default_model(task).id
    spec = find_model(model)
    if spec is None or spec.task != task:
        choices = ", ".join([*aliases, *(s.id for s in CATALOG if s.task == task)])
        raise OpenAIError(400, f"The model {model[:100]!r} does not exist here; use one of: {choices}.",
                          code="model_not_found", param="model")
    return spec.id


def speech_to_text(loopback: Loopback, request: Request, task: str, file: UploadFile | None, model: str,
                   language: str, prompt: str, response_format: str, temperature: float,
                   granularities: list[str]) -> Response:
    """A transcription or translation request through the app's /transcribe event."""
    if response_format not in TRANSCRIPT_FORMATS:
        raise OpenAIError(400, f"response_format must be one of {', '.join(TRANSCRIPT_FORMATS)}.",
                          param="response_format")
    if any(level not in ("segment", "word") for level in granularities):
        raise OpenAIError(400, "timestamp_granularities may hold 'segment' and 'word'.",
                          param="timestamp_granularities")
    if granularities and response_format != "verbose_json":
        raise OpenAIError(400, "timestamp_granularities needs response_format 'verbose_json'.",
                          param="timestamp_granularities")
    if file is None:
        raise OpenAIError(400, "Send the audio as the multipart field 'file'.", param="file")
    declared = int(request.headers.get("content-length") or 0)
    if declared > MAX_AUDIO_BYTES + CHUNK_BYTES:  # the whole form, so allow for its other fields
        raise too_large()
    model_id = catalog_id("transcribe", model, TRANSCRIBE_ALIASES)
    if task == "translate" and find_model(model_id).family != "whisper":
        raise OpenAIError(400, "Translation to English needs a Whisper model.", param="model")
    notes = [f"{name} is ignored by this server." for name, given in (("prompt", prompt),
                                                                      ("temperature", temperature)) if given]
    with tempfile.TemporaryDirectory(prefix="openai-audio-") as folder:
        path = save_upload(file, Path(folder))
        # Word timestamps only when asked for: they cost a second decoder pass (about 1.2x), and the event's own
        # default is the tab's (on).
        result = loopback.call("/transcribe", audio=handle_file(str(path)), model=model_id,
                               language=language or "auto", task=task,
                               word_timestamps="word" in granularities)[-1]  # the JSON: the last output
        duration = audio_duration(path, result)
    headers = {"x-app-notes": " ".join(notes)} if notes else {}
    return transcript_response(result, response_format, task, duration, notes, headers, granularities)


def too_large() -> OpenAIError:
    """The error for an upload over the audio size limit."""
    return OpenAIError(413, f"The audio file is larger than {MAX_AUDIO_BYTES // (1024 * 1024)} MB; send a shorter "
                            "or more compressed file.", code="file_too_large", param="file")


def save_upload(file: UploadFile, folder: Path) -> Path:
    """Copy an upload into `folder` under a safe name, refusing it past MAX_AUDIO_BYTES."""
    suffix = Path(file.filename or "").suffix.lower()
    path = folder / f"audio{suffix if suffix.isascii() and len(suffix) <= 6 else ''}"
    size = 0
    with open(path, "wb") as target:
        while chunk := file.file.read(CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_AUDIO_BYTES:
                raise too_large()
            target.write(chunk)
    return path


def audio_duration(path: Path, result: dict[str, Any]) -> float:
    """The audio's length in seconds from its header, else the end of its last segment."""
    try:
        return round(soundfile.info(str(path)).duration, 3)
    except (RuntimeError, soundfile.LibsndfileError):
        return max((segment["end"] for segment in result["segments"]), default=0.0)


def transcript_response(result: dict[str, Any], response_format: str, task: str, duration: float,
                        notes: list[str], headers: dict[str, str], granularities: list[str] | None = None) -> Response:
    """A /transcribe result in the response_format asked for; verbose_json holds "segments" (asked for, or no
    granularity given) and "words" (asked for) as OpenAI writes them."""
    segments = [Segment(**segment) for segment in result["segments"]]
    if response_format == "text":
        return PlainTextResponse(result["text"] + "\n", headers=headers)
    if response_format == "srt":
        return PlainTextResponse(to_srt(segments), headers=headers)
    if response_format == "vtt":
        return PlainTextResponse(to_vtt(segments), media_type="text/vtt", headers=headers)
    body: dict[str, Any] = {"text": result["text"]}
    if response_format == "verbose_json":
        language = "english" if task == "translate" else LANGUAGE_NAMES.get(result["language"] or "", "").lower()
        body = {"task": task, "language": language, "duration": duration, "text": result["text"]}
        if not granularities or "segment" in granularities:
            body["segments"] = [{"id": number, "seek": 0, "start": segment.start, "end": segment.end,
                                 "text": segment.text, "tokens": [], "temperature": 0.0}
                                for number, segment in enumerate(segments)]
        if granularities and "word" in granularities:  # OpenAI's shape: word, start, end (seconds)
            body["words"] = [{"word": word["word"], "start": word["start"], "end": word["end"]}
                             for word in result.get("words", [])]
    body["model"] = result["model"]
    if notes:
        body["notes"] = notes
    return JSONResponse(body, headers=headers)


def text_to_speech(loopback: Loopback, body: Any) -> Response:
    """A speech request through the app's /synthesize_speech_wav event (the whole WAV, nothing streamed), encoded as
    asked."""
    if not isinstance(body, dict) or not isinstance(body.get("input"), str):
        raise OpenAIError(400, "Send a JSON object with the text to speak as 'input'.", param="input")
    response_format = body.get("response_format") or "mp3"  # OpenAI's default
    if response_format not in SPEECH_FORMATS:
        raise OpenAIError(400, f"response_format must be one of {', '.join(SPEECH_FORMATS)} here.",
                          param="response_format")
    try:
        speed = float(body.get("speed") or 1.0)
    except (TypeError, ValueError):
        speed = None
    if speed != 1.0:
        raise OpenAIError(400, "This server speaks at one speed: leave 'speed' at 1.0.", param="speed")
    model_id = catalog_id("synthesize_speech", str(body.get("model") or ""), SPEECH_ALIASES)
    voice = str(body.get("voice") or "")
    voice = OPENAI_VOICES.get(voice.lower(), voice)
    # A single-voice model ignores the voice: the event's default is sent, since "" is not among its presets.
    voices = {"voice": voice or find_model(model_id).default_voice} if find_model(model_id).voices else {}
    audio, result = loopback.call("/synthesize_speech_wav", text=body["input"], model=model_id, **voices)
    samples, rate = soundfile.read(audio["path"], dtype="float32")  # the app's WAV, in gradio's cache
    container, subtype, media_type = SPEECH_FORMATS[response_format]
    encoded = io.BytesIO()
    soundfile.write(encoded, samples, rate, format=container, subtype=subtype)
    notes = "instructions are ignored by this server." if body.get("instructions") else ""
    headers = {"x-app-model": result["model"], "x-app-voice": result["voice"], **({"x-app-notes": notes}
                                                                                 if notes else {})}
    return Response(encoded.getvalue(), media_type=media_type, headers=headers)

