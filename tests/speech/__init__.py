"""Tests of the speech helpers (backend/speech/) on real Whisper weights."""
