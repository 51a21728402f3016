"""Every public task as an MCP tool, driven by the official MCP Python SDK against the launched app."""

import json
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from mcp import types

from tests.clients import call_tool, data_uri, upload, with_mcp

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PHOTO = ASSETS / "images" / "chelsea.jpg"
SPEECH = ASSETS / "audio" / "en.wav"
INVOICE = ASSETS / "documents" / "invoice.png"
CLIP = ASSETS / "video" / "juggling.mp4"
# A small call of every tool: its arguments (a Path is a file to send) and the media its result carries.
SMALL_CALLS = {
    "classify_image": ({"image": PHOTO, "labels": "cat, dog", "model": "openai/clip-vit-base-patch32"}, None),
    "detect_objects": ({"image": PHOTO}, None),
    "estimate_depth": ({"image": PHOTO}, types.ImageContent),
    "segment_image": ({"image": PHOTO}, types.ImageContent),
    "caption_image": ({"image": PHOTO, "question": "what animal is this?"}, None),
    "classify_video": ({"video": CLIP, "model": "MCG-NJU/videomae-small-finetuned-kinetics"}, types.ImageContent),
    "fill_mask": ({"text": "Paris is the <mask> of France."}, None),
    "answer_document": ({"document": INVOICE, "question": "What is the total?"}, types.ImageContent),
    "translate": ({"text": "Good morning.", "source_language": "English", "target_language": "French"}, None),
    "transcribe": ({"audio": SPEECH, "model": "facebook/wav2vec2-base-960h"}, None),
    "synthesize_speech": ({"text": "Hello.", "model": "facebook/mms-tts-eng"}, types.AudioContent),
    "synthesize_speech_wav": ({"text": "Hello.", "model": "facebook/mms-tts-eng"}, types.AudioContent),
    "compare_models": ({"task": "classify_image", "image": PHOTO, "options": '{"labels": "cat, dog"}',
                        "models": "openai/clip-vit-base-patch32, kakaobrain/align-base"}, None),
    "translate_speech": ({"audio": ASSETS / "audio" / "fr.wav", "target_language": "English",
                          "source_language": "French"}, types.AudioContent),
}
FILE_PARAMETERS = {"image", "audio", "video", "document"}


def sent(app_url: str, arguments: dict, how: str) -> dict:
    """The arguments with each file as the app's own URL after an upload, or as a data: URI."""
    return {key: (upload(app_url, value) if how == "upload" else data_uri(value)) if isinstance(value, Path)
            else value for key, value in arguments.items()}


def result_json(result: types.CallToolResult) -> dict:
    """The task's JSON result: the first content item, parsed."""
    assert not result.isError, result.content
    assert isinstance(result.content[0], types.TextContent)
    return json.loads(result.content[0].text)


def test_every_public_endpoint_is_a_tool_with_descriptions_for_an_agent(app_url: str, client: Client) -> None:
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    tools = with_mcp(app_url, lambda session: session.list_tools()).tools
    assert {tool.name for tool in tools} == {name.lstrip("/") for name in endpoints}
    assert set(SMALL_CALLS) == {tool.name for tool in tools}  # a new tab adds its small call here
    for tool in tools:
        assert len(tool.description) > 80 and "Returns:" in tool.description, tool.name
        properties = tool.inputSchema["properties"]
        parameters = [item["parameter_name"] for item in endpoints["/" + tool.name]["parameters"]]
        assert list(properties) == parameters
        for name, schema in properties.items():
            assert schema["description"], (tool.name, name)  # every parameter described from the docstring
            if name in FILE_PARAMETERS:
                assert schema["type"] == "string" and "url" in schema["format"]
            if name.endswith("language") or name == "model":  # menus: names and codes typed freely, choices as examples
                assert "enum" not in schema and schema["examples"], (tool.name, name)


# Every tool as a file uploaded to the app ("upload"), and tools that take a file also with a data: URI.
TOOL_CALLS = [(tool, how) for tool, (arguments, _) in SMALL_CALLS.items() for how in ("upload", "data_uri")
              if how == "upload" or any(isinstance(value, Path) for value in arguments.values())]


@pytest.mark.parametrize(("tool", "how"), TOOL_CALLS)
def test_every_tool_answers_json_with_its_media(app_url: str, tool: str, how: str) -> None:
    arguments, media = SMALL_CALLS[tool]
    result = call_tool(app_url, tool, sent(app_url, arguments, how))
    answer = result_json(result)
    if tool == "compare_models":
        assert all(entry["result"]["model"] for entry in answer["results"])
    else:
        assert answer.get("model") or answer["models"]  # a chained task names each stage's model
    kinds = [type(item) for item in result.content[1:]]
    if media is not None:
        assert media in kinds
        item = next(item for item in result.content if isinstance(item, media))
        assert item.data and item.mimeType.split("/")[0] in ("image", "audio")


def test_a_tool_gives_the_same_json_as_the_http_api(app_url: str, client: Client) -> None:
    arguments = SMALL_CALLS["classify_image"][0]
    through_mcp = result_json(call_tool(app_url, "classify_image", sent(app_url, arguments, "upload")))
    *_, through_api = client.predict(image=handle_file(PHOTO), labels="cat, dog",
                                     model="openai/clip-vit-base-patch32", api_name="/classify_image")
    assert through_mcp == through_api


def test_a_language_name_reaches_the_app(app_url: str) -> None:
    result = result_json(call_tool(app_url, "translate", {"text": "Bonjour.", "source_language": "French",
                                                           "target_language": "de"}))
    assert (result["source_language"], result["target_language"]) == ("fr", "de")


def test_depth_links_its_files(app_url: str) -> None:
    result = call_tool(app_url, "estimate_depth", {"image": data_uri(PHOTO)})
    links = [item for item in result.content if isinstance(item, types.ResourceLink)]
    names = {item.name for item in links}
    assert {"depth_16bit.png", "depth.npy", "depth_points.ply"} <= names
    npy = next(item for item in links if item.name == "depth.npy")
    assert httpx.get(str(npy.uri)).content.startswith(b"\x93NUMPY")  # the link downloads the file


def test_bad_input_is_a_tool_error_with_our_message(app_url: str) -> None:
    result = call_tool(app_url, "translate", {"text": "Hello", "source_language": "Klingon",
                                              "target_language": "fr"})
    assert result.isError and "Unknown source language 'Klingon'" in result.content[0].text


def test_a_corrupt_upload_is_our_message(app_url: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image" * 20)
    result = call_tool(app_url, "classify_image", {"image": upload(app_url, bad), "labels": "cat"})
    assert result.isError and "image" in result.content[0].text.lower()
    assert "upstream" not in result.content[0].text  # ours, not gradio's generic error


@pytest.mark.parametrize("url", ["/etc/passwd", "file:///etc/passwd"])
def test_a_file_argument_must_be_a_url(app_url: str, url: str) -> None:
    result = call_tool(app_url, "classify_image", {"image": url, "labels": "cat"})
    assert result.isError and "as a URL" in result.content[0].text


def test_our_file_route_serves_only_uploads(app_url: str) -> None:
    outside = app_url + "gradio_api/file=" + str(PHOTO)  # a real file, but not one uploaded to the app
    result = call_tool(app_url, "classify_image", {"image": outside, "labels": "cat"})
    assert result.isError and "names no file uploaded" in result.content[0].text


def test_other_hosts_keep_gradios_ssrf_guard(app_url: str) -> None:
    # A link-local address (cloud metadata): refused by gradio's guard before any connection is made.
    result = call_tool(app_url, "classify_image", {"image": "http://169.254.169.254/latest/x.jpg", "labels": "cat"})
    assert result.isError and "names no file" not in result.content[0].text  # refused by gradio, not by us


def test_the_catalog_is_a_resource(app_url: str) -> None:
    async def read(session: object) -> tuple:
        listed = await session.list_resources()
        return listed, await session.read_resource("catalog://models")

    listed, read_back = with_mcp(app_url, read)
    assert "catalog://models" in [str(resource.uri) for resource in listed.resources]
    catalog = json.loads(read_back.contents[0].text)
    from backend.catalog import CATALOG

    assert [entry["id"] for entry in catalog] == [spec.id for spec in CATALOG]
    assert all(isinstance(entry["loaded"], bool) for entry in catalog)


def test_an_api_key_guards_mcp_but_not_the_ui_api(app_url: str, client: Client,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_API_KEY", "sesame")
    refused = httpx.post(app_url + "gradio_api/mcp/", json={})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    arguments = {"text": "Hi.", "source_language": "en", "target_language": "fr"}
    result = call_tool(app_url, "translate", arguments, headers={"Authorization": "Bearer sesame"})
    assert result_json(result)["target_language"] == "fr"
    assert client.predict(**arguments, api_name="/translate")[1]["target_language"] == "fr"  # UI API open
