"""The app's MCP server (gradio's, on at /gradio_api/mcp/) fitted for agents, for every public endpoint at once.

gradio 6.31 builds one tool per public event from the handler's name, docstring and type hints. Four things are
adjusted here, none per task, so a tab added later gets them by having a public event:

- Free-text menus: a `gr.Dropdown(allow_custom_value=True)` is published as a plain string with its choices as
  `examples`, not an `enum` that the SDK and the server reject before the app sees "French" (`free_text_menus`).
- File inputs: the app's own file URLs (`<app>/gradio_api/file=<path>` as returned by `/gradio_api/upload`) are
  read from the upload folder instead of being fetched through gradio's SSRF guard, which refuses loopback hosts;
  `data:` URIs are decoded; any other http(s) URL still goes through the guard (`to_file_inputs`).
- Results: the text content is the task's JSON result (the event's last output), then the image or audio the task
  made, then links to its files; gradio would send the Python repr of every output (`agent_content`).
- The model catalog is the resource `catalog://models`; a full queue reads "busy" (`add_catalog_and_messages`).
- Failures: the task's own messages pass as they are; anything else that fails in these steps, or a job that
  failed without one of our messages, reads "Something went wrong on our side (request <id>)" with the id in the
  log (`our_failures`, `server_fault`).
"""

import base64
import contextvars
import functools
import html
import ipaddress
import json
import logging
import mimetypes
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlparse

import gradio as gr
from anyio.to_thread import run_sync
from gradio import processing_utils
from gradio.utils import get_upload_folder, is_in_or_equal
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError, is_file_obj_with_meta
from mcp import types

from backend import models
from backend.catalog import CATALOG
from demos.common import request_id, server_error_message

logger = logging.getLogger(__name__)

CATALOG_URI = "catalog://models"
FILE_ROUTE = "/gradio_api/file="
BUSY_MESSAGE = "The server is busy: its queue is full. Try again in a moment."
# How gradio_client words a failure the app did not describe: replaced by our message, never shown.
GRADIO_GENERIC_ERROR = "The upstream Gradio app"
# The event whose tool is being called, set when gradio prepares the call and read when it formats the result
# (both run in the one asyncio task of the call).
CURRENT_EVENT: contextvars.ContextVar[Any] = contextvars.ContextVar("mcp_event", default=None)


def free_text_menus(blocks: gr.Blocks) -> None:
    """Publish every dropdown that accepts typed values as a string with example values, not an enum."""
    for block in blocks.blocks.values():
        if isinstance(block, gr.Dropdown) and block.allow_custom_value and not block.multiselect:
            choices = [value for _, value in block.choices]
            block.api_info = lambda choices=choices: {"type": "string", "examples": choices}  # type: ignore


def adapt(server: Any) -> None:
    """Fit a started `gradio.mcp.GradioMCPServer` for agents (see the module docstring)."""
    prepare = server._prepare_tool_call_args

    def remember_event(name: str, arguments: dict[str, Any]) -> Any:
        """gradio's preparation of a call, remembering which event it calls."""
        if name not in server.tool_to_endpoint:
            raise CallerMistake(f"There is no tool named {name[:100]!r} here; list the tools for their names.")
        prepared = our_failures(prepare, name)(name, arguments)
        CURRENT_EVENT.set(prepared[3])  # (endpoint, args, headers, block_fn)
        return prepared

    gradio_content = server.postprocess_output_data

    def content(data: Any, root_url: str) -> list[Any]:
        """Our content for a tool's outputs; gradio's for anything else."""
        event = CURRENT_EVENT.get()
        if event is None:
            return our_failures(gradio_content, "an MCP result")(data, root_url)
        return our_failures(agent_content, f"the result of {event.api_name}")(event, data, root_url)

    async def all_outputs(job: Any) -> list[Any]:
        """The job's outputs as a list (gradio 6.31 wraps a multi-output tuple in a list of one)."""
        try:
            result = await run_sync(job.result)
        except AppError as error:
            if error.message and not error.message.startswith(GRADIO_GENERIC_ERROR):
                raise  # our message (demos/common.py): its text is what the agent reads
            raise server_fault(error, "an MCP tool call") from error
        except QueueError:
            raise  # worded as BUSY_MESSAGE below
        except Exception as error:
            raise server_fault(error, "an MCP tool call") from error
        return list(result) if isinstance(result, tuple) else [result]

    def without_state(components: list[Any], data: list[Any]) -> list[Any]:
        """The outputs without State values, which gradio_client has already left out of a job's result."""
        if len(data) != len(components):
            return data
        return [value for component, value in zip(components, data, strict=True) if not isinstance(component, gr.State)]

    server._prepare_tool_call_args = remember_event
    server._execute_tool_without_progress = all_outputs
    server.pop_returned_state = without_state
    server.convert_strings_to_filedata = our_failures(
        lambda value, positions: to_file_inputs(server, value, positions), "an MCP tool's file inputs")
    server.postprocess_output_data = content
    add_catalog_and_messages(server.mcp_server)


def server_fault(error: BaseException, where: str) -> RuntimeError:
    """Our message for a failure outside the task (logged with a request id), for the agent to read."""
    request = request_id()
    logger.error("Request %s failed in %s", request, where, exc_info=error)
    return RuntimeError(server_error_message(request))


def our_failures(step: Callable[..., Any], where: str) -> Callable[..., Any]:
    """`step` with any unexpected failure turned into our message (ValueErrors of ours pass: they are the
    caller's mistakes, worded in this module)."""

    @functools.wraps(step)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return step(*args, **kwargs)
        except CallerMistake:
            raise
        except Exception as error:
            raise server_fault(error, where) from error

    return guarded


class CallerMistake(ValueError):
    """A tool call this module refuses, with a message that says what to change."""


def to_file_inputs(server: Any, arguments: dict[str, Any], positions: list[list[str | int]]) -> dict[str, Any]:
    """The tool's arguments with each file URL (at gradio's file positions) turned into a file for the app."""
    request = server.mcp_server.request_context.request
    own_host = request.headers.get("host", "") if request is not None else ""
    converted = dict(arguments)
    for position in positions:
        if len(position) == 1 and isinstance(converted.get(position[0]), str):
            converted[position[0]] = to_file_input(converted[position[0]], own_host)
    return converted


def to_file_input(url: str, own_host: str) -> Any:
    """One file argument: our own file URL or a data: URI as a local file, another http(s) URL as it is."""
    if url.startswith("data:"):
        return handle_file(processing_utils.save_base64_to_cache(url, get_upload_folder()))
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        raise CallerMistake("Give a file as a URL: this app's own file URL (upload it with POST /gradio_api/upload, "
                         "then use <app>/gradio_api/file=<returned path>), a data: URI, or a public http(s) URL.")
    path = unquote(parsed.path)
    if FILE_ROUTE in path and is_own_host(parsed, own_host):
        local = os.path.realpath(path.split(FILE_ROUTE, 1)[1])
        if not is_in_or_equal(local, get_upload_folder()) or not os.path.isfile(local):
            raise CallerMistake("That file URL names no file uploaded to this app; upload it again with "
                             "POST /gradio_api/upload.")
        return handle_file(local)
    return handle_file(url)  # someone else's server: gradio downloads it through its SSRF guard


def is_own_host(parsed: Any, own_host: str) -> bool:
    """Whether a parsed URL names this server as the client reached it, or a loopback address."""
    if own_host and parsed.netloc.lower() == own_host.lower():
        return True
    host = parsed.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# Output components whose value is (or, once unpacked above, holds) one picture for the agent.
IMAGE_OUTPUTS = (gr.Image, gr.ImageSlider, gr.AnnotatedImage)


def agent_content(event: Any, data: list[Any], root_url: str) -> list[Any]:
    """The JSON result as text, then the task's image or audio, then links to the files it made."""
    outputs = [component for component in event.outputs if not isinstance(component, gr.State)]
    data = processing_utils.add_root_url(data, root_url, None)
    content: list[Any] = [types.TextContent(type="text", text=json.dumps(data[-1], ensure_ascii=False))]
    for component, value in zip(outputs[:-1], data[:-1], strict=True):
        if isinstance(component, gr.ImageSlider) and isinstance(value, (list, tuple)):
            value = value[-1]  # (input, result): the result is what the task made
        if isinstance(component, gr.AnnotatedImage) and isinstance(value, dict):
            value = value.get("image")  # the boxes are drawn by the browser and listed in the JSON: send the picture
        if isinstance(component, IMAGE_OUTPUTS) and is_file_obj_with_meta(value):
            content += [media(value, types.ImageContent, "image"), link(value)]
        elif isinstance(component, gr.Audio) and not component.streaming and is_file_obj_with_meta(value):
            # (a streamed copy of the audio, as the speech tab plays it, would only repeat the whole file)
            content += [media(value, types.AudioContent, "audio"), link(value)]
        elif isinstance(component, (gr.File, gr.Model3D)):  # downloads, and 3D files (depth's point cloud)
            files = value if isinstance(value, list) else [value]
            content += [link(item) for item in files if is_file_obj_with_meta(item)]
    return content


def media(file: dict[str, Any], kind: Any, type_name: str) -> Any:
    """An image or audio content item holding a served file's bytes."""
    with open(file["path"], "rb") as handle:
        data = base64.b64encode(handle.read()).decode("ascii")
    mime = file.get("mime_type") or mimetypes.guess_type(file["path"])[0] or f"{type_name}/octet-stream"
    return kind(type=type_name, data=data, mimeType=mime)


def link(file: dict[str, Any]) -> types.ResourceLink:
    """A link to a served file, for the agent to download."""
    name = file.get("orig_name") or os.path.basename(file["path"])
    return types.ResourceLink(type="resource_link", uri=file["url"], name=name,
                              mimeType=file.get("mime_type") or mimetypes.guess_type(name)[0])


def catalog_json() -> str:
    """Every catalog model with what it offers and whether it is loaded now."""
    loaded = {entry["id"] for entry in models.CACHE.status()["models"]}
    return json.dumps([
        {"id": spec.id, "task": spec.task, "label": spec.label, "default": spec.default, "notes": spec.notes,
         "languages": list(spec.languages), "voices": list(spec.voices), "loaded": spec.id in loaded}
        for spec in CATALOG
    ])


def add_catalog_and_messages(server: Any) -> None:
    """Serve the catalog resource beside gradio's resources, and word tool errors for an agent."""
    list_resources = server.request_handlers[types.ListResourcesRequest]
    read_resource = server.request_handlers[types.ReadResourceRequest]
    call_tool = server.request_handlers[types.CallToolRequest]

    async def list_with_catalog(request: types.ListResourcesRequest) -> types.ServerResult:
        result = await list_resources(request)
        result.root.resources.append(types.Resource(
            uri=CATALOG_URI, name="catalog", mimeType="application/json",
            description="Every model this app serves: id, task, label, default, notes, languages, voices, and "
                        "whether it is loaded now. Pass an id as a tool's `model` argument."))
        return result

    async def read_with_catalog(request: types.ReadResourceRequest) -> types.ServerResult:
        if str(request.params.uri) != CATALOG_URI:
            return await read_resource(request)
        return types.ServerResult(types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=CATALOG_URI, mimeType="application/json", text=catalog_json())]))

    async def call_with_messages(request: types.CallToolRequest) -> types.ServerResult:
        result = await call_tool(request)
        if result.root.isError:
            for item in result.root.content:
                if isinstance(item, types.TextContent):
                    # Our messages reach gradio as gr.Error, which renders HTML: agents get the plain text.
                    item.text = BUSY_MESSAGE if "Queue is full" in item.text else html.unescape(item.text)
        return result

    server.request_handlers[types.ListResourcesRequest] = list_with_catalog
    server.request_handlers[types.ReadResourceRequest] = read_with_catalog
    server.request_handlers[types.CallToolRequest] = call_with_messages
