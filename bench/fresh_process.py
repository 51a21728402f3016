"""Run a benchmark module in a fresh Python process and take the JSON it prints last: for figures that depend on
process-wide state (resident memory, glibc's malloc settings)."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def json_of(arguments: list[str], environment: dict[str, str] | None = None) -> Any:
    """The last line `python <arguments>` prints, as JSON; `environment` is added to this process's."""
    finished = subprocess.run([sys.executable, *arguments], cwd=ROOT, env={**os.environ, **(environment or {})},
                              capture_output=True, text=True, check=True)
    return json.loads(finished.stdout.strip().splitlines()[-1])
