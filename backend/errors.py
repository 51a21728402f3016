"""The few exception types the UI turns into messages for users.

Each message is one or two plain sentences that say what went wrong and what to change. Messages never
contain file system paths, tracebacks or secrets: they are shown to anyone using a public link.
"""


class InputError(ValueError):
    """The user's input cannot be used as given; the message says what to change."""


class ModelUnavailableError(RuntimeError):
    """A model could not be loaded (offline, missing folder, corrupt weights); the message names it and the fix."""


class ResourceExhaustedError(RuntimeError):
    """The device ran out of memory for this request; a smaller input or a smaller model may work."""
