"""The one dispatch point between every surface (tabs, HTTP API, MCP) and the task functions.

Each public task function carries `@dispatch.task(...)`. In local mode (the default: APP_BACKEND unset or
"local") the call goes straight to the function, and Ray is never imported. In Ray mode (`app.py --backend ray`,
APP_BACKEND=ray) the front end checks what it can without the cluster (the model id, the size of uploaded
files), turns file paths into bytes (uploads exist only on the front end), and sends the call to the task's Ray
Serve deployment (backend/serving/), which runs the same undecorated function, kept as `function.local`.

The mode is chosen at call time, not import time, because app.py parses `--backend` after the task modules are
imported; in local mode that costs one attribute check per call.
"""

import functools
import inspect
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

from backend.catalog import ModelSpec, resolve_model
from backend.inputs import read_limited
from backend.limits import MAX_AUDIO_BYTES, MAX_DOCUMENT_BYTES, MAX_IMAGE_BYTES, MAX_VIDEO_BYTES

Function = TypeVar("Function", bound=Callable[..., Any])
# The byte limit and the name used in messages for each kind of file argument.
FILE_LIMITS: dict[str, tuple[int, str]] = {"image": (MAX_IMAGE_BYTES, "image"), "audio": (MAX_AUDIO_BYTES, "audio"),
                                           "video": (MAX_VIDEO_BYTES, "video"),
                                           "document": (MAX_DOCUMENT_BYTES, "document")}
BACKENDS = ("local", "ray")


class Remote(Protocol):
    """What Ray mode plugs in here (backend/serving/client.py): runs a task call on the cluster."""

    def call(self, task: str, model_id: str, arguments: dict[str, Any]) -> Any:
        """The task's result, computed by a replica that serves `model_id`."""

    def is_loaded(self, model_id: str) -> bool:
        """Whether some replica has the model loaded."""

    def status(self) -> list[dict[str, Any]]:
        """Every replica's model cache state."""

    def load(self, model_id: str) -> str:
        """Load a model on a replica now."""

    def unload(self, model_id: str) -> bool:
        """Unload a model from the replica its requests go to."""


# The task functions by name, undecorated; backend/serving runs these on the cluster.
TASKS: dict[str, Callable[..., Any]] = {}
# None: local mode. Set by `use_ray` (front end in Ray mode).
_remote: Remote | None = None


def is_remote() -> bool:
    """Whether task calls go to a Ray Serve cluster (Ray mode) rather than run in this process."""
    return _remote is not None


def default_pick(task_name: str) -> Callable[[Mapping[str, Any]], ModelSpec]:
    """The model of a call: its `model` argument resolved in the catalog (None: the task's default)."""
    return lambda arguments: resolve_model(task_name, arguments.get("model"))


def task(pick: Callable[[Mapping[str, Any]], ModelSpec] | None = None,
         files: Mapping[str, str] | None = None) -> Callable[[Function], Function]:
    """Register a task function; `pick` maps its arguments to the model, `files` names its file arguments' kinds."""
    files = dict(files or {})

    def register(function: Function) -> Function:
        name = function.__name__
        signature = inspect.signature(function)
        choose = pick or default_pick(name)
        TASKS[name] = function

        @functools.wraps(function)
        def dispatched(*args: Any, **kwargs: Any) -> Any:
            if _remote is None:
                return function(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            spec = choose(arguments)  # an unknown id fails here, before any network hop
            for argument, kind in files.items():
                arguments[argument] = file_bytes(arguments[argument], kind)
            return _remote.call(name, spec.id, arguments)

        dispatched.local = function  # type: ignore[attr-defined]
        return dispatched  # type: ignore[return-value]

    return register


def file_bytes(value: Any, kind: str) -> Any:
    """A file path's contents as bytes, refused over its limit; anything else (bytes, arrays, images) unchanged."""
    if isinstance(value, str | os.PathLike):
        limit, what = FILE_LIMITS[kind]
        return read_limited(Path(value), limit, what)
    if isinstance(value, bytes | bytearray):
        limit, what = FILE_LIMITS[kind]
        return read_limited(bytes(value), limit, what)
    return value


def backend_name() -> str:
    """"ray" when calls go to a cluster, else "local"."""
    return "local" if _remote is None else "ray"


def use_ray(remote: Remote | None) -> None:
    """Send every task call to `remote` from now on; None returns to local mode."""
    global _remote
    _remote = remote


def is_loaded(model_id: str) -> bool:
    """Whether a model is loaded where calls run: this process in local mode, any replica in Ray mode."""
    if _remote is None:
        from backend import models

        return models.CACHE.is_loaded(model_id)
    return _remote.is_loaded(model_id)


def replica_status() -> list[dict[str, Any]] | None:
    """Every replica's cache state in Ray mode; None in local mode."""
    return None if _remote is None else _remote.status()


def load_model(model_id: str) -> None:
    """Load a model where calls run, now (the Models tab's Load button)."""
    if _remote is None:
        from backend import models

        models.CACHE.get(model_id)
    else:
        _remote.load(model_id)


def unload_model(model_id: str) -> bool:
    """Unload a model where calls run; False if it was not loaded."""
    if _remote is None:
        from backend import models

        return models.CACHE.unload(model_id)
    return _remote.unload(model_id)
