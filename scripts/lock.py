"""Resolve the dependency locks from the human-edited ranges, with uv's resolver.

    python scripts/lock.py            # re-resolve, keeping locked versions where the ranges still allow them
    python scripts/lock.py --upgrade  # re-resolve with the newest versions the ranges allow

Writes `requirements.txt` (from requirements.in: what the app and a Hugging Face Space install),
`requirements-test.txt` (from requirements-test.in: `-r requirements.txt` plus what only the tests need) and
`requirements-ray.txt` (from requirements-ray.in, when it exists: the scale-out extras). Each lock is resolved
for CPython 3.11 on x86_64 Linux, the platform of CI and of Spaces.

torch's CUDA runtime (nvidia-*, cuda-*, triton) is left out of the locks: it is what PyPI's Linux torch wheel
depends on, CI's CPU build of the same torch version does not need it, and a GPU machine gets the versions its
torch wheel names when pip installs `torch==<locked version>`.
"""

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON_VERSION = "3.11"
PLATFORM = "x86_64-manylinux_2_28"
# Distributions that only torch's CUDA wheel needs (see the module docstring).
CUDA_RUNTIME = re.compile(r"^(nvidia-|cuda-|triton==)")
# lock file -> (input file, lock it builds on: lines already pinned there are replaced by an `-r` include)
LOCKS = {
    "requirements.txt": ("requirements.in", None),
    "requirements-test.txt": ("requirements-test.in", "requirements.txt"),
    "requirements-ray.txt": ("requirements-ray.in", "requirements.txt"),
}


def uv_command() -> list[str]:
    """How to run uv: the `uv` program on PATH, else `python -m uv`."""
    if shutil.which("uv"):
        return ["uv"]
    try:
        import uv  # noqa: F401
    except ImportError:
        sys.exit("uv is not installed: python -m pip install uv (it is in requirements-test.txt)")
    return [sys.executable, "-m", "uv"]


def resolve(lock: str, source: str, base: str | None, upgrade: bool) -> list[str]:
    """Exact `name==version` lines for everything `source` needs, resolved together with `base`'s pins."""
    command = uv_command() + ["pip", "compile", source, "--python-version", PYTHON_VERSION,
                              "--python-platform", PLATFORM, "--no-annotate", "--no-header", "--quiet"]
    if base:
        command += ["--constraint", base]
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "lock.txt"
        if upgrade:
            command.append("--upgrade")
        elif (ROOT / lock).is_file():  # uv keeps the versions already in its output file where it can
            pins = [line for line in (ROOT / lock).read_text().splitlines() if "==" in line]
            output.write_text("\n".join(pins) + "\n")
        subprocess.run(command + ["--output-file", str(output)], cwd=ROOT, check=True, capture_output=True)
        printed = output.read_text()
    pins = [line.strip() for line in printed.splitlines() if line.strip() and not line.startswith("#")]
    return [pin for pin in pins if not CUDA_RUNTIME.match(pin)]



def header(source: str) -> str:
    """The comment at the top of a lock: where it comes from and how to regenerate it."""
    return (f"# Locked from {source} by scripts/lock.py (uv pip compile, CPython {PYTHON_VERSION}, x86_64 Linux).\n"
            "# Do not edit: change the ranges in the .in file, then run `python scripts/lock.py` "
            "(or `--upgrade` for newer versions).\n"
            "# torch's CUDA runtime packages are not listed: a GPU machine gets them with its torch wheel.\n")


def main() -> None:
    """Write every lock whose input file exists."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upgrade", action="store_true", help="take the newest versions the ranges allow")
    args = parser.parse_args()
    for lock, (source, base) in LOCKS.items():
        if not (ROOT / source).is_file():
            continue
        pins = resolve(lock, source, base, args.upgrade)
        lines = pins
        if base:
            already = set((ROOT / base).read_text().splitlines())
            lines = [f"-r {base}"] + [pin for pin in pins if pin not in already]
        (ROOT / lock).write_text(header(source) + "\n".join(lines) + "\n")
        print(f"{lock}: {len(lines)} lines")


if __name__ == "__main__":
    main()
