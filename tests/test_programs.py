"""Optional system programs: named once in the start-up log and in the Models tab when missing, never as an error."""

import logging
from pathlib import Path

import pytesseract
import pytest

from backend import programs


def test_a_missing_tesseract_is_named_with_what_replaces_it(monkeypatch: pytest.MonkeyPatch,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    assert [program.name for program in programs.missing()] == ["Tesseract OCR"]
    with caplog.at_level(logging.INFO, logger="backend.programs"):
        programs.log_missing()
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.INFO
    assert "Tesseract OCR is not installed" in caplog.text and "RapidOCR" in caplog.text
    assert "tesseract-ocr" in caplog.text
    from demos.models import summary

    tab = summary()
    assert "**Tesseract OCR** not installed: LayoutLM reads pages with RapidOCR instead" in tab
    assert "error" not in tab.lower()


def test_an_installed_tesseract_is_shown_with_its_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    program = tmp_path / "tesseract"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", str(program))
    assert programs.missing() == []
    with caplog.at_level(logging.INFO, logger="backend.programs"):
        programs.log_missing()
    assert caplog.records == []
    assert f"**Tesseract OCR** installed ({program})" in programs.status_markdown()
