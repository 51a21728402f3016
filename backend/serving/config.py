"""The Serve config (serve_config.yaml) as the front end reads it: which application serves a task and a model."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from backend.catalog import CATALOG, TASKS

# The repository's config; APP_SERVE_CONFIG or `app.py --serve-config` points elsewhere.
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent.parent / "serve_config.yaml"


@dataclass(frozen=True)
class Application:
    """One Serve application: its name and what it serves."""

    name: str
    tasks: tuple[str, ...]
    models: tuple[str, ...]  # empty: every model of its tasks that no other application lists


def config_path() -> Path:
    """The config file in use: APP_SERVE_CONFIG, else the repository's serve_config.yaml."""
    return Path(os.environ.get("APP_SERVE_CONFIG", "").strip() or DEFAULT_CONFIG)


def load_config(path: Path | None = None) -> dict[str, Any]:
    """The parsed YAML config."""
    return yaml.safe_load((path or config_path()).read_text(encoding="utf-8"))


def applications(config: dict[str, Any]) -> list[Application]:
    """The applications of a config, checked: known tasks and models only."""
    found = []
    known_models = {spec.id for spec in CATALOG}
    for entry in config["applications"]:
        args = entry.get("args") or {}
        tasks, model_ids = tuple(args.get("tasks", ())), tuple(args.get("models", ()))
        unknown = [name for name in tasks if name not in TASKS] + [m for m in model_ids if m not in known_models]
        if unknown:
            raise ValueError(f"Serve application {entry['name']!r} names unknown tasks or models: {unknown}")
        found.append(Application(name=entry["name"], tasks=tasks, models=model_ids))
    return found


def routes(apps: list[Application]) -> dict[str, str]:
    """Catalog model id -> the application that serves it: the one listing the model, else its task's general one."""
    table: dict[str, str] = {}
    for spec in CATALOG:
        listed = [app.name for app in apps if spec.id in app.models]
        general = [app.name for app in apps if spec.task in app.tasks and not app.models]
        if listed or general:
            table[spec.id] = (listed or general)[0]
    return table
