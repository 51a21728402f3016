"""The few exception types the UI turns into messages for users.

Each message is one or two plain sentences that say what went wrong and what to change. Messages never
contain file system paths, tracebacks or secrets: they are shown to anyone using a public link.
"""

import re


class InputError(ValueError):
    """The user's input cannot be used as given; the message says what to change."""


class ModelUnavailableError(RuntimeError):
    """A model could not be loaded (offline, missing folder, corrupt weights); the message names it and the fix."""


class ResourceExhaustedError(RuntimeError):
    """The device ran out of memory for this request; a smaller input or a smaller model may work."""


class BusyError(ResourceExhaustedError):
    """Every model server that could take this request is full (Ray mode); trying again later may work."""


class ServiceUnavailableError(RuntimeError):
    """The model servers could not answer (Ray mode: timed out, stopped, or unreachable); the message says which."""


class MissingPackageError(RuntimeError):
    """A model's code needs a Python package or program this server lacks; the message names it for the admin."""


def missing_package(error: ImportError) -> str:
    """The package an ImportError asks for: from `pip install <name>` in transformers' message, else the module."""
    match = re.search(r"pip install ([A-Za-z0-9_.\-\[\]]+)", str(error))
    if match:
        return match.group(1).strip("`'\".")
    if error.name:
        return error.name.split(".")[0]
    match = re.search(r"requires the ([A-Za-z0-9_.\-]+) library", str(error))
    return match.group(1) if match else "an optional package"


def missing_package_message(error: ImportError, what: str = "This model") -> str:
    """The user-facing sentence for an ImportError: which package is missing and who must install it."""
    package = missing_package(error)
    return (f"{what} needs the Python package '{package}', which is not installed on this server. "
            f"Whoever runs the app must install it (pip install {package}) and restart it.")
