"""What a transcription session emits, in engine terms (seconds from the stream's first sample)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    start_s: float
    end_s: float
    probability: float

    @property
    def middle_s(self) -> float:
        """Where the word is: Whisper's word starts drift back into a preceding pause and its
        ends stretch forward into a following one, but the middle stays put."""
        return (self.start_s + self.end_s) / 2


@dataclass(frozen=True, slots=True)
class SegmentUpdate:
    """The current full text of one segment; a final one never changes again."""

    segment_id: str
    seq: int
    is_final: bool
    speech_final: bool
    stability: float
    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...]


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    timestamp_s: float


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    last_word_end_s: float


@dataclass(frozen=True, slots=True)
class EngineWarning:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class StreamSummary:
    audio_received_s: float
    audio_processed_s: float
    segments: int
    finals: int


SessionEvent = SegmentUpdate | SpeechStarted | UtteranceEnd | EngineWarning | StreamSummary
