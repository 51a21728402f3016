"""The official clients our users run, driven against the launched app: the MCP Python SDK, and uploads."""

import asyncio
import base64
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client


def mcp_url(app_url: str) -> str:
    """The app's MCP endpoint (streamable HTTP)."""
    return app_url.rstrip("/") + "/gradio_api/mcp/"


def with_mcp(app_url: str, work: Callable[[ClientSession], Awaitable[Any]], headers: dict | None = None) -> Any:
    """Open an MCP session with the app, run `work(session)`, return its result."""

    async def run() -> Any:
        async with (create_mcp_http_client(headers=headers) as http,
                    streamable_http_client(mcp_url(app_url), http_client=http) as (read, write, _),
                    ClientSession(read, write) as session):
            await session.initialize()
            return await work(session)

    return asyncio.run(run())


def call_tool(app_url: str, tool: str, arguments: dict[str, Any], headers: dict | None = None) -> Any:
    """One MCP tool call in its own session; the CallToolResult."""
    return with_mcp(app_url, lambda session: session.call_tool(tool, arguments), headers)


def upload(app_url: str, path: Path) -> str:
    """Upload a local file to the app as `gradio upload-mcp` does; the app's own URL for it."""
    with open(path, "rb") as file:
        response = httpx.post(app_url.rstrip("/") + "/gradio_api/upload", files={"files": (path.name, file)})
    response.raise_for_status()
    return app_url.rstrip("/") + "/gradio_api/file=" + response.json()[0]


def data_uri(path: Path) -> str:
    """A local file as a data: URI."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")
