"""The caption messages of one stream: segment ids, sequence numbers, and which to send.

A segment's partials and its final share one id (`<stream id>-<n>`, numbered in order); every
message takes the stream's next sequence number. A partial whose text did not change is not
sent again. A segment that showed a partial always gets its final, even an empty one, so the
client can clear it; one that showed nothing and heard nothing sends no message at all.
"""

from __future__ import annotations

from collections.abc import Sequence

from streaming.events import SegmentUpdate, Word


class CaptionSequence:
    def __init__(self, stream_id: str) -> None:
        self._stream_id = stream_id
        self._segment_id: str | None = None
        self._shown_text: str | None = None  # last text sent for the open segment
        self.segments = 0
        self.finals = 0
        self._seq = 0

    @property
    def showing(self) -> bool:
        """The open segment has shown a partial."""
        return self._shown_text is not None

    def partial(self, committed: Sequence[Word], tentative: Sequence[Word]) -> SegmentUpdate | None:
        """The open segment's partial, or None if it would show nothing new."""
        words = [*committed, *tentative]
        text = " ".join(w.text for w in words)
        if not words or text == self._shown_text:
            return None
        self._shown_text = text
        stability = len(committed) / len(words)
        return self._update(words, is_final=False, speech_final=False, stability=stability)

    def final(
        self, words: Sequence[Word], *, speech_final: bool, span: tuple[float, float]
    ) -> SegmentUpdate | None:
        """The open segment's final (None if it needs none); the next words open a new one.

        `span`: the segment's start and end in stream time, for a final without words."""
        update = None
        if words or self.showing:
            update = self._update(
                words, is_final=True, speech_final=speech_final, stability=1.0, span=span
            )
            self.finals += 1
        self._segment_id = None
        self._shown_text = None
        return update

    def _update(
        self,
        words: Sequence[Word],
        *,
        is_final: bool,
        speech_final: bool,
        stability: float,
        span: tuple[float, float] = (0.0, 0.0),
    ) -> SegmentUpdate:
        if self._segment_id is None:
            self.segments += 1
            self._segment_id = f"{self._stream_id}-{self.segments}"
        self._seq += 1
        start = words[0].start_s if words else span[0]
        end = words[-1].end_s if words else span[1]
        return SegmentUpdate(
            segment_id=self._segment_id,
            seq=self._seq,
            is_final=is_final,
            speech_final=speech_final,
            stability=round(stability, 3),
            text=" ".join(w.text for w in words),
            start_s=round(start, 3),
            end_s=round(end, 3),
            words=tuple(words),
        )
