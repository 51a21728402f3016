"""Helpers of the speech tasks: what a recognizer returns, Whisper on both engines, the wav2vec2 family (CTC, MMS
adapters and language identification, XLS-R), subtitle files, and the MMS languages."""
