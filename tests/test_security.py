"""The hardened launch, over HTTP: file routes, monitoring, CORS, upload size, error messages, safe loading."""

import http.server
import logging
import threading
import urllib.error
import urllib.request
from pathlib import Path

import gradio
import PIL
import pytest
import torch
from gradio_client import Client
from packaging.version import Version

import app
from backend import models
from demos import translate as translate_tab

ROOT = Path(__file__).resolve().parent.parent


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET, without raising on error statuses."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize("path", [
    "/gradio_api/file=/etc/passwd",
    "/gradio_api/file=../../../../etc/passwd",
    "/gradio_api/file=..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    f"/gradio_api/file={ROOT}/app.py",
    f"/gradio_api/file={ROOT}/.env",
    "/gradio_api/file=.env",
    "/gradio_api/file/../../app.py",
    "/gradio_api/proxy=http://127.0.0.1:1/",
])
def test_file_routes_refuse_paths_outside_gradio_cache(app_url: str, path: str) -> None:
    status, _, body = get(app_url.rstrip("/") + path)
    assert status in {400, 403, 404, 405}, (status, body[:200])
    assert b"root:" not in body and b"import gradio" not in body


@pytest.mark.parametrize("path", ["/monitoring", "/monitoring/summary", "/gradio_api/profiling/summary"])
def test_monitoring_is_off(app_url: str, path: str) -> None:
    status, _, _ = get(app_url.rstrip("/") + path)
    assert status in {403, 404, 405}


def test_no_cors_header_for_a_foreign_origin(app_url: str) -> None:
    status, headers, _ = get(app_url.rstrip("/") + "/gradio_api/info", headers={"Origin": "http://evil.example"})
    allowed = {key.lower(): value for key, value in headers.items()}.get("access-control-allow-origin")
    assert allowed not in {"*", "http://evil.example"}


def test_launch_configuration() -> None:
    assert app.LAUNCH_SETTINGS == {"max_file_size": 50 * 1024 * 1024, "show_error": False,
                                   "enable_monitoring": False, "mcp_server": True}
    assert "allowed_paths" not in app.LAUNCH_SETTINGS
    assert app.demo._queue.max_size == app.QUEUE_SIZE > 0


def test_the_server_refuses_uploads_over_the_size_limit(app_url: str) -> None:
    boundary = "----limit-test"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"huge.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + bytes(app.MAX_FILE_SIZE + 1024) + \
        f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(app_url.rstrip("/") + "/gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=60)
    assert raised.value.code == 413  # Payload Too Large, before anything reaches our code


def test_a_url_to_a_local_address_is_never_fetched(client: Client) -> None:
    hits = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write((ROOT / "assets" / "images" / "chelsea.jpg").read_bytes())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/cat.jpg"
        with pytest.raises(Exception):  # noqa: B017 - refused in gradio's words; what matters is no fetch
            client.predict(image={"path": url, "url": url, "meta": {"_type": "gradio.FileData"}}, labels="cat",
                           api_name="/classify_image")
    finally:
        server.shutdown()
    assert hits == []


def test_unexpected_errors_are_logged_with_an_id_and_shown_without_details(
        client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database password is hunter2 at /srv/secret/config.py")

    monkeypatch.setattr(translate_tab.task, "stream_translation", broken)  # what the tab calls
    with caplog.at_level(logging.ERROR, logger="demos.common"), pytest.raises(Exception) as raised:
        client.predict(text="Hello", source_language="en", target_language="fr", api_name="/translate")
    message = str(raised.value)
    assert "Something went wrong on our side (request " in message
    assert "hunter2" not in message and "/srv" not in message and "Traceback" not in message
    request_id = message.split("(request ")[1][:8]
    logged = [record for record in caplog.records if request_id in record.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log


def test_models_load_with_safetensors_only_and_no_remote_code(models_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    seen: list[dict] = []
    for cls in (transformers.AutoProcessor, transformers.AutoModelForTextToWaveform):
        original = cls.from_pretrained.__func__

        def spy(klass: type, *args: object, _original=original, **kwargs: object) -> object:
            seen.append(kwargs)
            return _original(klass, *args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", classmethod(spy))
    models.ModelCache(device=torch.device("cpu")).get("facebook/mms-tts-eng")
    assert len(seen) == 2
    assert all(kwargs["trust_remote_code"] is False for kwargs in seen)
    assert seen[1]["use_safetensors"] is True
    sources = [path.read_text() for path in (ROOT / "backend").glob("*.py")]
    assert not any("trust_remote_code=True" in source for source in sources)


def test_minimum_versions_of_security_relevant_packages() -> None:
    # gradio 6.25 fixes earlier file-route issues; Pillow 12.2 has the current decoder fixes; torch 2.6 makes
    # torch.load weights_only by default (we load safetensors only, but dependencies may not).
    assert Version(gradio.__version__) >= Version("6.25")
    assert Version(PIL.__version__) >= Version("12.2")
    assert Version(torch.__version__.split("+")[0]) >= Version("2.6")
