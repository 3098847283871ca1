"""A stored transcript as people and players read it: plain text, WebVTT, SRT, JSON."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from summariser.transcript import Segment

FORMATS = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
    "srt": "application/x-subrip; charset=utf-8",
}


def _clock(seconds: float, decimal: str) -> str:
    ms = round(seconds * 1000)
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{decimal}{ms:03d}"


def _spoken(segments: Sequence[Segment]) -> list[Segment]:
    # Empty finals only tell a live client to clear a partial.
    return [s for s in segments if s.text.strip()]


def as_text(segments: Sequence[Segment]) -> str:
    return "".join(
        f"[{_clock(s.start_s, '.')[:8]}] {s.display_name}: {s.text}\n" for s in _spoken(segments)
    )


def as_webvtt(segments: Sequence[Segment]) -> str:
    cues = [
        f"{_clock(s.start_s, '.')} --> {_clock(s.end_s, '.')}\n<v {s.display_name}>{s.text}\n"
        for s in _spoken(segments)
    ]
    return "WEBVTT\n\n" + "\n".join(cues)


def as_srt(segments: Sequence[Segment]) -> str:
    cues = [
        f"{i}\n{_clock(s.start_s, ',')} --> {_clock(s.end_s, ',')}\n{s.display_name}: {s.text}\n"
        for i, s in enumerate(_spoken(segments), start=1)
    ]
    return "\n".join(cues)


def as_json(meeting_id: str, segments: Sequence[Segment]) -> dict[str, Any]:
    return {
        "meeting_id": meeting_id,
        "segments": [
            {
                "segment_id": s.segment_id,
                "participant_id": s.participant_id,
                "display_name": s.display_name,
                "start": s.start_s,
                "end": s.end_s,
                "text": s.text,
            }
            for s in _spoken(segments)
        ],
    }
