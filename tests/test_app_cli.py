"""`python app.py` as a user runs it: flags, a served page, and every tab in its config."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import app

ROOT = Path(__file__).resolve().parent.parent
# Every tab in page order: each group, then its tabs.
TAB_NAMES = ["Images", "Image classification", "Object detection", "Segmentation", "Depth", "Captioning", "Video",
             "Video classification", "Text", "Translation", "Masked words", "Documents", "Document questions",
             "Speech", "Speech recognition", "Text to speech", "Speech translation", "Audio input", "Video input",
             "Compare", "Compare models", "Models"]  # Audio/Video input: the two inputs of Speech translation


def free_port() -> int:
    """A localhost port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_flags_parse() -> None:
    args = app.parse_args(["--host", "0.0.0.0", "--port", "8000", "--share", "--models-dir", "m",
                           "--preload", "defaults", "--device", "cpu"])
    assert (args.host, args.port, args.share, args.models_dir, args.preload, args.device) == (
        "0.0.0.0", 8000, True, "m", "defaults", "cpu")
    defaults = app.parse_args([])
    assert (defaults.host, defaults.share, defaults.preload, defaults.no_mcp) == ("127.0.0.1", False, "none", False)
    assert app.parse_args(["--no-mcp"]).no_mcp is True


def test_backend_flags_parse() -> None:
    args = app.parse_args(["--backend", "ray", "--ray-address", "10.0.0.5:6379", "--serve-config", "c.yaml"])
    assert (args.backend, args.ray_address, args.serve_config) == ("ray", "10.0.0.5:6379", "c.yaml")
    assert app.parse_args([]).backend == "local"


def test_local_mode_imports_no_ray() -> None:
    """The default app, its tabs and every task module load without importing Ray."""
    check = ("import sys, app; from backend import dispatch; "
             "assert dispatch.backend_name() == 'local'; "
             "assert not [name for name in sys.modules if name == 'ray' or name.startswith('ray.')]")
    subprocess.run([sys.executable, "-c", check], cwd=ROOT, check=True, timeout=120)


def test_launch_settings_are_hardened() -> None:
    assert app.LAUNCH_SETTINGS["show_error"] is False
    assert app.LAUNCH_SETTINGS["enable_monitoring"] is False
    assert app.LAUNCH_SETTINGS["max_file_size"] == 50 * 1024 * 1024


def test_python_app_py_serves_every_tab(models_dir: Path) -> None:
    port = free_port()
    # Output to /dev/null: a pipe nobody reads would stall the server once it is full.
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--models-dir", str(models_dir),
                               "--preload", "defaults", "--device", "cpu"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        config = None
        for _ in range(360):  # up to 3 minutes for start-up on a busy machine
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2) as response:
                    config = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert config is not None, "the server did not answer"
        labels = [component["props"].get("label") for component in config["components"]
                  if component["type"] == "tabitem"]
        assert labels == TAB_NAMES
        # The MCP tools and the OpenAI routes are served by `python app.py` too.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/gradio_api/mcp/schema", timeout=10) as response:
            assert {tool["name"] for tool in json.load(response)} >= {"translate", "transcribe"}
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=10) as response:
            assert any(model["id"] == "whisper-1" for model in json.load(response)["data"])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_no_mcp_turns_the_mcp_server_off(models_dir: Path) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--models-dir", str(models_dir),
                               "--no-mcp"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(360):  # up to 3 minutes
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/config", timeout=2) as response:
                    assert json.load(response)["mcp_server"] is False
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError("the server did not answer")
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_log(log: Path, first: str, then: str, seconds: float = 180) -> str:
    """The log once `then` appears after the last `first` in it (fails after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace")
        if first in content and then in content.rsplit(first, 1)[1]:
            return content
        time.sleep(0.5)
    raise AssertionError(f"{then!r} did not follow {first!r} in the log:\n{log.read_text(errors='replace')}")


def test_reload_mode_starts_and_reloads_an_edited_tab(models_dir: Path, tmp_path: Path) -> None:
    """`gradio app.py` (reload mode, as the README offers) starts, reloads when a demos/ file changes, and answers."""
    from gradio_client import Client

    port = free_port()
    log = tmp_path / "reload.log"
    gradio_cli = [sys.executable, "-c", "import sys; from gradio.cli import cli; sys.argv[0] = 'gradio'; cli()"]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "MODELS_DIR": str(models_dir), "APP_MCP": "0"}
    with open(log, "wb") as output:
        # Its own process group: the reloader runs app.py in a child process, stopped with it below.
        server = subprocess.Popen([*gradio_cli, "app.py"], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(360):  # up to 3 minutes for start-up on a busy machine
            try:
                urllib.request.urlopen(url + "config", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        else:
            raise AssertionError(f"the server did not answer:\n{log.read_text(errors='replace')}")
        tab_file = ROOT / "demos" / "fill_mask.py"
        # Touch the tab's file until the watcher sees it (its first scan, which records the times, may come later).
        deadline = time.monotonic() + 120
        while "Changes detected in" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            os.utime(tab_file)
            time.sleep(1)
        content = wait_for_log(log, "Changes detected in", "app: Starting on")  # app.py ran again, new modules
        assert f"Changes detected in: {tab_file}" in content
        assert "DuplicateBlockError" not in content and "Reloading app failed" not in content, content
        client = Client(url, verbose=False)
        _, result = client.predict(text="Paris is the <mask> of France.", api_name="/fill_mask")
        assert result["model"] == "FacebookAI/xlm-roberta-base"
        assert "Traceback" not in log.read_text(errors="replace")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
