"""Click through every tab with no network: build the tiny test checkpoints, then start the app on them.

    python scripts/offline_demo.py [app.py flags, e.g. --port 7861]

The checkpoints (random weights, so every output is random, and the page says so) are built once into
models/tiny/ (not in git) and rebuilt when their builders change. Needs only requirements.txt.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is downloaded
TINY_MODELS = ROOT / "models" / "tiny"
os.environ.setdefault("TINY_MODELS_CACHE", str(TINY_MODELS))  # one sub-folder per version of the builders

from tests.tiny_models import build_all  # noqa: E402

if __name__ == "__main__":
    print("Building the tiny random-weight checkpoints (once; about a minute)...", flush=True)
    folder = build_all(TINY_MODELS)
    import app

    app.main(["--models-dir", str(folder), *sys.argv[1:]])
