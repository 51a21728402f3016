"""The versions a bug report needs: Python, torch, transformers, gradio and the libraries around them."""

import importlib.metadata
import platform

# Distributions whose versions are reported, in this order; one that is not installed is left out.
PACKAGES = ("torch", "transformers", "gradio", "huggingface_hub", "tokenizers", "ctranslate2", "ray")


def versions() -> dict[str, str]:
    """{"python": "3.11.7", "torch": "2.13.0+cpu", ...} for what is installed."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def versions_line() -> str:
    """The versions as one line, e.g. "python 3.11.7 · torch 2.13.0+cpu · transformers 5.24.0"."""
    return " · ".join(f"{name} {version}" for name, version in versions().items())
