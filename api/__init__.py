"""HTTP surfaces beside the UI, on gradio's own server: the MCP server fitted for agents, the OpenAI-compatible
audio routes, and the optional API key that guards both. Every call goes through the app's gradio queue.

`app_kwargs(blocks)` is what `launch(app_kwargs=...)` takes; it works alike for `python app.py`, `gradio app.py`
and Spaces, since each of them calls `demo.launch` from app.py's `main`.
"""

import contextlib
import hmac
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import gradio as gr
from fastapi.exceptions import RequestValidationError
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from api import mcp_tools, openai_audio

# Paths the API key guards when APP_API_KEY is set; the UI and its own API (/gradio_api/queue, upload) stay open.
GUARDED_PREFIXES = ("/v1/", "/gradio_api/mcp")


class ApiKeyGuard:
    """Require `Authorization: Bearer $APP_API_KEY` on the guarded paths when the variable is set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = os.environ.get("APP_API_KEY", "")
        if scope["type"] != "http" or not key or not scope["path"].startswith(GUARDED_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"").decode("latin-1")
        if hmac.compare_digest(given.encode(), f"Bearer {key}".encode()):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": {"message": "Missing or wrong API key: send the header "
                                     "'Authorization: Bearer <APP_API_KEY>'.",
                                     "type": "invalid_request_error", "code": "invalid_api_key"}}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body})


@contextlib.asynccontextmanager
async def fit_mcp_server(app: Any) -> AsyncIterator[None]:
    """At start-up, once gradio has made its MCP server: fit it for agents (see api/mcp_tools.py)."""
    server = getattr(app.get_blocks(), "mcp_server_obj", None)
    if server is not None:
        mcp_tools.adapt(server)
    yield


def app_kwargs(blocks: gr.Blocks) -> dict[str, Any]:
    """FastAPI settings for `launch(app_kwargs=...)`: our routes, the key guard, the MCP fitting. New each launch
    (gradio wraps the lifespan in the dict it is given)."""
    return {"routes": openai_audio.router(blocks).routes, "middleware": [Middleware(ApiKeyGuard)],
            "lifespan": fit_mcp_server,
            "exception_handlers": {RequestValidationError: openai_audio.invalid_fields}}
