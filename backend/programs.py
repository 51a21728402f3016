"""System programs the app uses where a machine has them, and what a user gets without each.

Every task works with what `pip install -r requirements.txt` brings; a program here only makes a task better.
(ffmpeg is not among them: text to speech encodes its stream in-process, demos/streamed_audio.py, and audio and
video are decoded with soundfile and PyAV.)
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from backend.documents import tesseract

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OptionalProgram:
    """A program that improves a task when installed."""

    name: str  # what it is called, e.g. "Tesseract OCR"
    package: str  # the Debian package (apt-get install ...; on Spaces, a line of packages.txt)
    find: Callable[[], str | None]  # its path on this machine, or None
    used_for: str  # what it does here
    without: str  # what the app does without it, and what that costs the user


OPTIONAL_PROGRAMS = [
    OptionalProgram(
        name="Tesseract OCR", package="tesseract-ocr", find=tesseract.program,
        used_for="reads the page's words for LayoutLM (Document questions)",
        without="LayoutLM reads pages with RapidOCR instead (installed with the app), which takes about twice as long "
                "per page on a CPU"),
]


def missing() -> list[OptionalProgram]:
    """The optional programs this machine lacks."""
    return [program for program in OPTIONAL_PROGRAMS if program.find() is None]


def log_missing() -> None:
    """Name each missing optional program once in the log, with what the app does instead."""
    for program in missing():
        logger.info("%s is not installed (%s): %s. Install %s for it.", program.name, program.used_for,
                    program.without, program.package)


def status_markdown() -> str:
    """One Markdown line per optional program: installed where, or what the app does without it."""
    lines = []
    for program in OPTIONAL_PROGRAMS:
        path = program.find()
        if path:
            lines.append(f"**{program.name}** installed ({path}): {program.used_for}.")
        else:
            lines.append(f"**{program.name}** not installed: {program.without}. For {program.name}, install the "
                         f"`{program.package}` package.")
    return "\n\n".join(lines)
