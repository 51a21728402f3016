"""Helpers of the document task: reading the words on a page and their boxes (OCR)."""
