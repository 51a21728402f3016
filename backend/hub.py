"""Whether the Hugging Face Hub can be reached: asked once, in seconds, and remembered for a little while.

huggingface_hub retries a Hub it cannot reach with back-off: for a host name that does not resolve, a load failed
only after about 150 s here. With this probe a model that is on no disk fails in a few seconds, with a message that
says the Hub cannot be reached, for every request until it can be reached again. Models in MODELS_DIR or already in
the Hub cache still load: they are read from disk without asking the Hub.
"""

import socket
import threading
import time
from urllib.parse import urlsplit

# Longest wait for the name lookup and TCP connection to the Hub (seconds).
PROBE_TIMEOUT_SECONDS = 3.0
# How long an answer is trusted (seconds): an unreachable Hub is asked again after this, so a network that comes
# back is noticed by the next request after it.
REMEMBER_SECONDS = 30.0

_lock = threading.Lock()
_answer: tuple[float, bool] | None = None  # (time.monotonic() when asked, reachable)


def endpoint() -> str:
    """The Hub's address as huggingface_hub uses it (HF_ENDPOINT, default https://huggingface.co)."""
    from huggingface_hub import constants

    return constants.ENDPOINT


def reachable() -> bool:
    """Whether a TCP connection to the Hub opens, from the remembered answer when it is recent."""
    global _answer
    with _lock:
        if _answer is not None and time.monotonic() - _answer[0] < REMEMBER_SECONDS:
            return _answer[1]
        _answer = (time.monotonic(), _probe(endpoint()))
        return _answer[1]


def forget() -> None:
    """Drop the remembered answer: the next call asks the Hub again."""
    global _answer
    with _lock:
        _answer = None


def _probe(url: str) -> bool:
    """Open and close one TCP connection to the URL's host, within PROBE_TIMEOUT_SECONDS including the lookup."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
    result: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=PROBE_TIMEOUT_SECONDS).close()
            result.append(True)
        except OSError:
            result.append(False)

    # The name lookup ignores socket timeouts, so the probe runs in a thread that is waited for with a deadline.
    thread = threading.Thread(target=connect, daemon=True, name="hub-probe")
    thread.start()
    thread.join(PROBE_TIMEOUT_SECONDS)
    return bool(result and result[0])
