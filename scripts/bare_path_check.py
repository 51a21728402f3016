"""First contact on a machine with only Python: launch the app with a PATH that has no ffmpeg, no tesseract and no node,
and run the first example of every tab through the public API (gradio_client). Exits non-zero on any failure.

    python scripts/bare_path_check.py [--keep-log app.log]

The app runs on the tiny random-weight checkpoints (tests/tiny_models, built once into TINY_MODELS_CACHE or a
temporary folder), as `python app.py` in a child process whose PATH is a folder of links to this virtualenv's
programs and a few basic system ones. .ci/run runs it as its "bare PATH" stage.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The programs a user's machine may lack; none of them may be on the app's PATH.
ABSENT = ("ffmpeg", "ffprobe", "tesseract", "node", "nodejs", "npm")
# Basic programs a bare machine has (python's own modules call some of them, e.g. ctypes' find_library).
BASIC = ("sh", "uname", "ldconfig", "env")
START_TIMEOUT_S = 120
CALL_TIMEOUT_S = 120
# Endpoints with no tab of their own -> the tab module whose inputs and examples they share.
API_ONLY_ENDPOINTS = {"/synthesize_speech_wav": "synthesize_speech"}


def bare_path(folder: Path) -> str:
    """A PATH of one folder: links to this virtualenv's programs and BASIC ones, none of ABSENT."""
    folder.mkdir(parents=True, exist_ok=True)
    for source in sorted(Path(sys.executable).parent.iterdir()):
        if source.name not in ABSENT and not (folder / source.name).exists():
            (folder / source.name).symlink_to(source.absolute())
    for name in BASIC:
        found = shutil.which(name) or shutil.which(name, path="/sbin:/usr/sbin")
        if found and not (folder / name).exists():
            (folder / name).symlink_to(found)
    path = str(folder)
    present = [name for name in ABSENT if shutil.which(name, path=path)]
    if present:
        raise SystemExit(f"bare_path_check: {', '.join(present)} still on the bare PATH")
    return path


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: Path) -> None:
    """Wait until the app answers at `url`; exit with its log if it dies or takes too long."""
    import httpx

    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bare_path_check: the app exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"bare_path_check: the app did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-4000:]}")


def first_examples(url: str, client: Any) -> dict[str, dict[str, Any]]:
    """api_name -> the keyword arguments of its tab's first example (demos/<api_name>.py's EXAMPLES[0]).

    The page's config says which inputs an example fills (its dataset's components, in the examples' column order)
    and gradio_client which parameter each input is.
    """
    import importlib

    import httpx
    from gradio_client import handle_file

    config = httpx.get(f"{url}/config", timeout=10).json()
    datasets = [component["props"]["component_ids"] for component in config["components"]
                if component["type"] == "dataset"]
    endpoints = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    calls = {}
    for dependency in config["dependencies"]:
        api_name = f"/{dependency.get('api_name')}"
        if api_name not in endpoints:
            continue
        inputs = dependency["inputs"]
        names = [parameter["parameter_name"] for parameter in endpoints[api_name]["parameters"]]
        filled = next(ids for ids in datasets if set(ids) <= set(inputs))
        tab = API_ONLY_ENDPOINTS.get(api_name, api_name[1:])
        example = importlib.import_module(f"demos.{tab}").EXAMPLES[0]
        arguments = {}
        for component_id, value in zip(filled, example, strict=True):
            if isinstance(value, str) and value.startswith(str(ROOT)) and Path(value).is_file():
                value = handle_file(value)  # an example file: uploaded, as a user's would be
            arguments[names[inputs.index(component_id)]] = value
        calls[api_name] = arguments
    return calls


def check_stream(stream: dict[str, Any]) -> str:
    """The streamed speech's playlist is complete and each AAC segment is served; a line saying so."""
    import httpx

    playlist = httpx.get(stream["url"], timeout=10).text.splitlines()
    segments = [line for line in playlist if line.endswith(".aac")]
    base = stream["url"].rsplit("/", 1)[0]
    sizes = [len(httpx.get(f"{base}/{line}", timeout=10).raise_for_status().content) for line in segments]
    if playlist[-1] != "#EXT-X-ENDLIST" or not segments or not all(sizes):
        raise AssertionError(f"the speech stream is incomplete: {playlist}")
    return f"{len(segments)} AAC segments, {sum(sizes)} bytes"


def models_named(result: Any) -> str:
    """The model(s) a JSON result names: its "model", a chain's "models" per stage, a comparison's per column."""
    if not isinstance(result, dict):
        return ""
    if "results" in result:  # /compare_models: every column answered with its model's result
        columns = result["results"]
        if not columns or any("result" not in entry for entry in columns):
            return ""
        return ", ".join(str(entry["result"].get("model") or "") for entry in columns)
    if isinstance(result.get("models"), dict):  # /translate_speech: one model per stage
        return ", ".join(str(model) for model in result["models"].values() if model)
    return str(result.get("model") or "")


def run_checks(url: str, log: Path) -> list[str]:
    """Every tab's first example, the /v1 speech route and the start-up log; the failures."""
    import httpx
    from gradio_client import Client

    client = Client(url, verbose=False, download_files=False)
    failures = []
    for api_name, arguments in first_examples(url, client).items():
        started = time.monotonic()
        try:
            outputs = client.submit(**arguments, api_name=api_name).result(timeout=CALL_TIMEOUT_S)
            result = outputs[-1] if isinstance(outputs, tuple | list) else outputs
            named = models_named(result)
            if not named:
                raise AssertionError(f"no JSON result naming the model: {str(outputs)[:300]}")
            detail = f"model {named}"
            if api_name == "/synthesize_speech":
                detail += "; " + check_stream(outputs[1])
            if api_name == "/answer_document":
                detail += f"; OCR {result['ocr']}"
                if result["ocr"] != "rapidocr":
                    raise AssertionError(f"LayoutLM's words were read by {result['ocr']}, not RapidOCR")
            print(f"ok   {api_name} ({time.monotonic() - started:.1f} s): {detail}", flush=True)
        except Exception as error:  # every failure is reported, then the run fails
            failures.append(f"{api_name}: {type(error).__name__}: {error}")
            print(f"FAIL {api_name}: {type(error).__name__}: {error}", flush=True)
    response = httpx.post(f"{url}/v1/audio/speech", json={"model": "tts-1", "input": "Hello there.",
                                                           "response_format": "wav"}, timeout=CALL_TIMEOUT_S)
    if response.status_code == 200 and response.content[:4] == b"RIFF":
        print(f"ok   POST /v1/audio/speech: {len(response.content)} bytes of WAV", flush=True)
    else:
        failures.append(f"POST /v1/audio/speech: {response.status_code} {response.text[:300]}")
        print(f"FAIL POST /v1/audio/speech: {response.status_code} {response.text[:300]}", flush=True)
    text = log.read_text()
    if text.count("Tesseract OCR is not installed") != 1:
        failures.append("the start-up log does not name the missing Tesseract once")
    if "upstream Gradio app" in text or "could not find ffmpeg" in text:
        failures.append("the log shows gradio's generic error or an ffmpeg requirement")
    return failures


def main() -> None:
    """Build the tiny models, start the app on a bare PATH, run every check, stop the app."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep-log", type=Path, help="copy the app's log here")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from tests.tiny_models import build_all

    with tempfile.TemporaryDirectory(prefix="bare-path-") as work:
        work_dir = Path(work)
        models = build_all(work_dir / "models")
        port = free_port()
        log = work_dir / "app.log"
        env = {**os.environ, "PATH": bare_path(work_dir / "bin"), "HF_HUB_OFFLINE": "1",
               "HF_HOME": str(work_dir / "hf"), "GRADIO_TEMP_DIR": str(work_dir / "gradio"), "PYTHONUNBUFFERED": "1"}
        env.pop("APP_OCR", None)
        started = time.monotonic()
        with open(log, "w") as output:
            process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--models-dir", str(models), "--port",
                                        str(port)], env=env, stdout=output, stderr=subprocess.STDOUT, cwd=ROOT)
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(url, process, log)
            print(f"The app answers on a PATH without {', '.join(ABSENT)} ({time.monotonic() - started:.0f} s)")
            failures = run_checks(url, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
            if args.keep_log:
                shutil.copy(log, args.keep_log)
    print(f"bare PATH check: {len(failures)} failures in {time.monotonic() - started:.0f} s")
    if failures:
        print("\n".join(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
