"""The official JavaScript client (@gradio/client, npm) under Node, against the launched app.

The package (version pinned in tests/js/package.json) is installed into a temporary folder: by .ci/run, which
passes the folder as APP_JS_CLIENT_DIR, or else here with npm. Skipped only on a developer machine without Node
or npm; in CI (CI set) a missing Node fails instead.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

HERE = Path(__file__).resolve().parent / "js"
ASSETS = Path(__file__).resolve().parent.parent / "assets"
NODE = shutil.which("node")
NPM = shutil.which("npm")

pytestmark = pytest.mark.skipif((NODE is None or NPM is None) and not os.environ.get("CI"),
                                reason="no node/npm (apt-get install nodejs npm; .ci/run has them)")


@pytest.fixture(scope="module")
def js_client_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose node_modules holds @gradio/client, with our script beside it."""
    given = os.environ.get("APP_JS_CLIENT_DIR")
    folder = Path(given) if given else tmp_path_factory.mktemp("js-client")
    shutil.copy(HERE / "call_app.mjs", folder / "call_app.mjs")
    if not (folder / "node_modules" / "@gradio" / "client").is_dir():
        shutil.copy(HERE / "package.json", folder / "package.json")
        installed = subprocess.run([NPM or "npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=folder,
                                   capture_output=True, text=True, timeout=600)
        if installed.returncode != 0 and not os.environ.get("CI"):
            pytest.skip(f"npm could not install @gradio/client: {installed.stderr[-300:]}")
        assert installed.returncode == 0, installed.stderr
    return folder


def test_the_js_client_calls_translate_and_classify_image(js_client_dir: Path, app_url: str,
                                                          client: Client) -> None:
    photo = ASSETS / "images" / "chelsea.jpg"
    ran = subprocess.run([NODE or "node", "call_app.mjs", app_url, str(photo)], cwd=js_client_dir,
                         capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    results = json.loads(ran.stdout.strip().splitlines()[-1])
    assert (results["translate"]["source_language"], results["translate"]["target_language"]) == ("en", "fr")
    *_, expected = client.predict(image=handle_file(photo), labels="cat, dog", model="openai/clip-vit-base-patch32",
                                  api_name="/classify_image")
    assert results["classify_image"] == expected  # the same JSON as through the Python client
    assert "Unknown source language" in results["refused"]
