"""A live stream's settings: what a client may choose per stream, within the node's limits."""

from __future__ import annotations

from dataclasses import dataclass

#: Audio a stream keeps: one Whisper window (30 s) at most is decoded, the rest of the capacity
#: holds what arrives during a pass.
WINDOW_CAPACITY_S = 30.0


@dataclass(frozen=True, slots=True)
class SessionOptions:
    stream_id: str
    language: str = "en"
    interim_results: bool = True
    silence_ms: int = 600
    vad_threshold: float = 0.5
    #: New audio between partial refreshes at most; a busy node stretches it (the scheduler).
    partial_interval_s: float = 0.5
    #: Most audio taken from the inbox between two refreshes.
    max_drain_s: float = 4.0
    max_segment_s: float = 12.0
    max_pending_chunks: int = 64

    def __post_init__(self) -> None:
        if self.max_segment_s * 2 > WINDOW_CAPACITY_S - self.max_drain_s:
            raise ValueError("max_segment_s too large for the audio window")
