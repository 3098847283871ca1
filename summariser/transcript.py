"""A meeting's transcript as the summarisers see it: final segments, and their sentences."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_WORD = re.compile(r"[a-z0-9']+")


@dataclass(frozen=True, slots=True)
class Segment:
    """One final caption of one participant's stream (immutable once published)."""

    segment_id: str
    participant_id: str
    display_name: str
    #: Offsets from the start of the participant's stream.
    start_s: float
    end_s: float
    text: str
    #: When it was said, on a clock shared by the meeting's streams (epoch seconds); orders
    #: the participants' segments into one conversation. Defaults to `start_s`.
    spoken_at: float | None = None

    @property
    def at_s(self) -> float:
        return self.start_s if self.spoken_at is None else self.spoken_at


@dataclass(frozen=True, slots=True)
class StoredFinal:
    """A final caption as a summariser read it from the transcripts topic."""

    segment: Segment
    stream_id: str
    #: Position on the transcripts topic: every event of a meeting shares its partition.
    event_offset: int
    #: When the node emitted it (naive UTC), to tell a deleted meeting's events from later ones.
    emitted_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Sentence:
    segment: Segment
    #: Position in the segment: with the segment id, a stable key for what is said in it.
    index: int
    text: str

    @property
    def key(self) -> str:
        return f"{self.segment.segment_id}#{self.index}"

    @property
    def speaker(self) -> str:
        return self.segment.display_name or self.segment.participant_id


def sentences(segments: Iterable[Segment]) -> Iterator[Sentence]:
    """Each segment's sentences, in transcript order (Whisper punctuates its output)."""
    for segment in segments:
        parts = [p.strip() for p in _SENTENCE_END.split(segment.text) if p.strip()]
        for index, text in enumerate(parts):
            yield Sentence(segment, index, text)


def words(text: str) -> list[str]:
    """Lower-cased words, punctuation dropped: what matching and scoring compare."""
    return _WORD.findall(text.lower().replace("’", "'"))
