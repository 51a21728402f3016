"""Subtitle files from timed segments: SubRip (SRT) and WebVTT."""

from backend.speech.transcript import Segment


def to_srt(segments: list[Segment]) -> str:
    """SubRip subtitles: numbered cues with "HH:MM:SS,mmm --> HH:MM:SS,mmm" times."""
    cues = [
        f"{number}\n{clock(segment.start, ',')} --> {clock(segment.end, ',')}\n{segment.text}\n"
        for number, segment in enumerate(segments, start=1)
    ]
    return "\n".join(cues)


def to_vtt(segments: list[Segment]) -> str:
    """WebVTT subtitles: a header, then cues with "HH:MM:SS.mmm --> HH:MM:SS.mmm" times."""
    cues = [f"{clock(segment.start, '.')} --> {clock(segment.end, '.')}\n{segment.text}\n" for segment in segments]
    return "WEBVTT\n\n" + "\n".join(cues)


def clock(seconds: float, decimal_mark: str) -> str:
    """Seconds as "HH:MM:SS<mark>mmm"."""
    milliseconds = round(seconds * 1000)
    hours, rest = divmod(milliseconds, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}{decimal_mark}{millis:03d}"
