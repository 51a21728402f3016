"""What every tab shares: error handling, the safe image input, the model dropdown and the one model queue."""

import base64
import functools
import hashlib
import html
import inspect
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import gradio as gr
from gradio import processing_utils

from backend import dispatch, models, timings
from backend.catalog import default_model, find_model, models_for, serves_on_gpu
from backend.errors import (
    BusyError,
    InputError,
    MissingPackageError,
    ModelUnavailableError,
    ResourceExhaustedError,
    ServiceUnavailableError,
    missing_package_message,
)

logger = logging.getLogger(__name__)

# Example files shipped with the app.
ASSETS = Path(__file__).resolve().parent.parent / "assets"
# Model events share this concurrency group: one device, one queue, so six tabs never run six models at once.
# (The backend's device lock enforces the same; the group keeps waiting requests in gradio's queue, with their
# position shown. Translation has its own group, since the backend batches its waiting requests.)
MODEL_QUEUE = "models"
# Model calls running together in that group; 1 suits one CPU or one GPU (see bench/ for the measurements).
MODEL_CONCURRENCY = 1

Handler = TypeVar("Handler", bound=Callable[..., Any])
# gr.Error titles of our faults (a user's mistake keeps gradio's "Error").
ERROR_TITLES = {ModelUnavailableError: "Model unavailable", ResourceExhaustedError: "Out of memory",
                MissingPackageError: "Model unavailable", ServiceUnavailableError: "Model unavailable",
                BusyError: "Busy"}
OUT_OF_MEMORY_MESSAGE = ("The model ran out of memory on this input. Try a smaller image, a shorter clip or text, "
                         "or a smaller model.")

try:  # Hugging Face ZeroGPU Spaces provide `spaces`; model work must then run inside spaces.GPU
    import spaces
except ImportError:
    spaces = None
ZERO_GPU_SECONDS = 120  # the longest a request may hold a ZeroGPU device (Bark on long text is the worst case)


def user_errors(handler: Handler) -> Handler:
    """Show our errors' messages to users as they are; log anything else and show a short generic message."""
    if inspect.isgeneratorfunction(handler):  # a streaming handler: its errors arise while it is iterated

        @functools.wraps(handler)  # keeps the signature: gradio derives the API's parameter names from it
        def streamed(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from handler(*args, **kwargs)
            except gr.Error:
                raise
            except Exception as error:
                raise user_error(error, handler.__name__) from error

        return streamed  # type: ignore[return-value]

    @functools.wraps(handler)  # keeps the signature: gradio derives the API's parameter names from it
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            raise user_error(error, handler.__name__) from error

    return wrapped  # type: ignore[return-value]


def user_error(error: Exception, name: str) -> gr.Error:
    """The gr.Error a user sees for an exception raised in handler `name` (logged unless it is the user's mistake)."""
    if isinstance(error, (InputError, ModelUnavailableError, ResourceExhaustedError, MissingPackageError,
                          ServiceUnavailableError)):
        # gr.Error renders HTML: escape, since messages may quote a little of what the user typed. The title
        # tells API surfaces (api/openai_audio.py) a model or server fault from a user mistake ("Error").
        return gr.Error(html.escape(str(error), quote=False), title=ERROR_TITLES.get(type(error), "Error"),
                        print_exception=False)
    if isinstance(error, ImportError):  # model code reached a package this server lacks, after loading
        logger.error("Request failed in %s: a package is missing", name, exc_info=error)
        return gr.Error(html.escape(missing_package_message(error), quote=False), title="Model unavailable",
                        print_exception=False)
    if models.is_out_of_memory(error):  # during a forward pass: free what can be freed, keep serving
        models.free_device_memory(models.CACHE.device)
        return gr.Error(OUT_OF_MEMORY_MESSAGE, title="Out of memory", print_exception=False)
    request = request_id()
    logger.error("Request %s failed in %s", request, name, exc_info=error)
    return gr.Error(server_error_message(request), title="Server error", print_exception=False)


def request_id() -> str:
    """A short id that ties a message a user sees to its entry in the log."""
    return uuid.uuid4().hex[:8]


def server_error_message(request: str) -> str:
    """Our message for a fault on our side, naming the request id that is in the log."""
    return (f"Something went wrong on our side (request {request}). Please try again; if it keeps happening, "
            "report this request id.")


def unreadable_input(error: Exception, name: str) -> gr.Error:
    """The gr.Error for a request gradio could not turn into the handler's inputs (logged with a request id)."""
    request = request_id()
    logger.warning("Request %s to %s had an input that could not be read", request, name, exc_info=error)
    return gr.Error(f"One of the inputs could not be read (request {request}). Send each value in the type the "
                    "API lists, and each file as an upload to this app or a public URL.", print_exception=False)


def event_name(blocks: gr.Blocks, block_fn: Any) -> str:
    """An event's API name (or its handler's name), for the log."""
    block_fn = blocks.fns[block_fn] if isinstance(block_fn, int) else block_fn
    return str(block_fn.api_name or block_fn.name)


def guard_events(blocks: gr.Blocks) -> None:
    """Make every failure of an event our message with a request id, wherever it happens.

    `user_errors` covers the handlers. gradio's own work around them (reading inputs into the handler's types,
    turning outputs into files and JSON, streaming audio) raises outside any handler, and with show_error off its
    clients then see gradio's generic sentence ("The upstream Gradio app has raised an exception ..."), which
    /v1 took for a client mistake. An input gradio cannot read (a wrong type, a path it was not given) is the
    caller's mistake ("Error", 400 on /v1); any other failure is ours ("Server error", 500 on /v1).
    """
    preprocess, process = blocks.preprocess_data, blocks.process_api

    async def preprocess_data(block_fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await preprocess(block_fn, *args, **kwargs)
        except gr.Error:
            raise
        except (ValueError, TypeError) as error:  # a malformed or unknown value (pydantic, gradio's path checks)
            if isinstance(error.__cause__, InputError):  # our own check, in a component's preprocess
                raise user_error(error.__cause__, event_name(blocks, block_fn)) from error
            raise unreadable_input(error, event_name(blocks, block_fn)) from error

    async def process_api(block_fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await process(block_fn, *args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:
            raise user_error(error, event_name(blocks, block_fn)) from error

    # Instance attributes: gradio calls both through `self`, from its queue, its HTTP routes and its MCP server.
    blocks.preprocess_data = preprocess_data  # type: ignore[method-assign]
    blocks.process_api = process_api  # type: ignore[method-assign]


def model_handler(handler: Handler) -> Handler:
    """A tab's model event: our error messages, its duration learned for the menus, on ZeroGPU a GPU for the call."""
    if spaces is not None:
        handler = spaces.GPU(duration=ZERO_GPU_SECONDS)(handler)
    return user_errors(timed_by_model(handler))


def timed_by_model(handler: Handler) -> Handler:
    """Record how long each successful call took, under the model its JSON result names (backend/timings.py)."""
    if inspect.isgeneratorfunction(handler):  # a streaming handler: its last outputs carry the JSON result

        @functools.wraps(handler)  # keeps the name, signature and docstring gradio builds the API and MCP tools from
        def streamed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            outputs = None
            for outputs in handler(*args, **kwargs):
                yield outputs
            record_timing(outputs, time.perf_counter() - started, args, kwargs)

        return streamed  # type: ignore[return-value]

    @functools.wraps(handler)  # keeps the name, signature and docstring gradio builds the API and MCP tools from
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        outputs = handler(*args, **kwargs)
        record_timing(outputs, time.perf_counter() - started, args, kwargs)
        return outputs

    return wrapped  # type: ignore[return-value]


def record_timing(outputs: Any, seconds: float, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Record a call's duration under the model its JSON result (the last output) names, by its input's size."""
    result = outputs[-1] if isinstance(outputs, tuple) and outputs else outputs
    if isinstance(result, dict) and isinstance(result.get("model"), str):
        first_input = args[0] if args else next(iter(kwargs.values()), None)
        timings.record(result["model"], seconds, size_class(first_input))


def size_class(value: Any) -> str:
    """A coarse size class of a request's main input, so timings of small and large inputs are kept apart."""
    if isinstance(value, str) and value and len(value) < 4096 and os.path.isfile(value):
        megabytes = os.path.getsize(value) / 1e6
        return "file < 1 MB" if megabytes < 1 else "file 1-10 MB" if megabytes < 10 else "file > 10 MB"
    if isinstance(value, str):
        return "text < 200 chars" if len(value) < 200 else "text < 2000 chars" if len(value) < 2000 else "long text"
    return ""


def show_loading(model_id: str | None, task: str, progress: gr.Progress) -> None:
    """Tell the user a model is being loaded when this request is its first use (download bars follow)."""
    spec = find_model(model_id or "") or default_model(task)
    if not dispatch.is_loaded(spec.id):
        progress(0, desc=f"Loading {spec.label} (first use)...")


def model_choices(task: str) -> list[tuple[str, str]]:
    """(label, id) per model of a task: size, "slow on CPU" where it applies, and how long it usually takes here."""
    choices = []
    for spec in models_for(task):
        label = spec.label + (" (slow on CPU)" if spec.slow_on_cpu and not serves_on_gpu() else "")
        typical = timings.describe(spec.id)
        choices.append((f"{label}: {typical}" if typical else label, spec.id))
    return choices


def model_dropdown(task: str) -> gr.Dropdown:
    """The model menu of a tab, the default on this device selected; opening it refreshes the usual durations."""
    # Custom values reach the backend, whose message for an unknown id lists the task's models.
    menu = gr.Dropdown(choices=model_choices(task), value=default_model(task).id, label="Model",
                       allow_custom_value=True)
    menu.focus(lambda: gr.Dropdown(choices=model_choices(task)), outputs=menu, api_visibility="private",
               queue=False, show_progress="hidden")
    return menu


def model_notes(model_id: str | None) -> str:
    """One line on what the chosen model is good at, for the Markdown under the menu."""
    spec = find_model(model_id or "")
    return f"*{spec.notes}*" if spec else ""


class ImageUpload(gr.Image):
    """An image input that hands our backend the uploaded file untouched.

    gr.Image opens (and for some settings decodes) uploads itself, so a corrupt file or a decompression bomb
    fails inside gradio with a generic message before our checks run. This component passes the file path on
    and `backend.inputs.load_image` does the checking, with messages that say what to change.
    """

    def preprocess(self, payload: Any) -> str | bytes | None:
        """The uploaded file's path on the server (or its bytes, for an inline data URL), or None."""
        if payload is None:
            return None
        if payload.path:
            return str(payload.path)
        if payload.url and payload.url.startswith("data:") and "," in payload.url:
            return base64.b64decode(payload.url.split(",", 1)[1], validate=False)
        raise gr.Error("The image did not arrive; upload it again.", print_exception=False)

    def get_block_name(self) -> str:
        """Render with gradio's own image component in the browser."""
        return "image"


# Files we hand to gradio for download (subtitles, depth maps). gradio copies them into its own cache, which
# app.py cleans with `delete_cache`; ours are swept here once they are older than an hour.
OUTPUT_DIR = Path(tempfile.mkdtemp(prefix="app-outputs-"))
OUTPUT_MAX_AGE_SECONDS = 3600


def write_output(data: bytes | str, name: str) -> str:
    """Write a download under OUTPUT_DIR, in a folder named by its content (so repeats reuse it); return its path."""
    sweep_outputs()
    content = data.encode("utf-8") if isinstance(data, str) else data
    folder = OUTPUT_DIR / hashlib.sha256(content).hexdigest()[:20]
    folder.mkdir(exist_ok=True)
    path = folder / name
    if not path.exists():
        write_atomically(path, content)
    return str(path)


def write_atomically(path: Path, content: bytes) -> None:
    """Write a file under a temporary name and rename it into place: a reader sees all of it or nothing."""
    descriptor, staging = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise


def save_pil_to_cache_once(image: Any, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """gradio's `save_pil_to_cache`, but never rewriting a file that exists (see `keep_cached_images_whole`)."""
    content = processing_utils.encode_pil_to_bytes(image, format)
    folder = Path(cache_dir) / processing_utils.hash_bytes(content)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    if not path.exists():
        write_atomically(path, content)
    return str(path)


def keep_cached_images_whole() -> None:
    """Stop gradio 6.31 from rewriting an image another request is downloading.

    gradio names cached images by their content and rewrites the file in place each time. When two requests
    give the same image at once (several people clicking the same example; the same box overlay in two
    detections) one client's download was cut short ("Too much data for declared Content-Length" in the
    benchmark's 4 concurrent clients). Its `save_file_to_cache` already writes once and atomically; this makes
    the image path do the same. Audio is handed to gradio as a file (see the speech tab), so it takes that path.
    """
    processing_utils.save_pil_to_cache = save_pil_to_cache_once


keep_cached_images_whole()


def sweep_outputs() -> None:
    """Delete downloads older than OUTPUT_MAX_AGE_SECONDS."""
    cutoff = time.time() - OUTPUT_MAX_AGE_SECONDS
    for folder in OUTPUT_DIR.iterdir():
        if folder.stat().st_mtime < cutoff:
            for file in folder.iterdir():
                file.unlink(missing_ok=True)
            os.rmdir(folder)
