"""Which pass refreshes an open segment's captions now, if any.

While someone speaks, a partial pass runs every `partial_interval_s` of new audio (stretched
under load by the scheduler). In a pause that may end the utterance, one pass shows the last
words at once, however busy the node: otherwise they would wait for the final, after the
endpointing silence. In a segment of up to a few seconds that pass is the segment's final pass
itself (`EarlyFinal`); in a longer one it is a partial pass, once, since the final pass is
likely next and another partial pass in flight would delay it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from streaming.events import Word

#: Whisper guesses wildly on a fraction of a word; the first partial waits for this much audio.
MIN_PARTIAL_AUDIO_S = 0.5
#: A pause in a segment no longer than this share of `max_segment_s` gets the segment's final
#: pass at once (`EarlyFinal`). Longer ones rarely end there: on overlapping speakers they
#: paused every few seconds, and each early pass over 10 s of audio and its context was wasted.
EARLY_FINAL_MAX_SHARE = 0.5


class Refresh(Enum):
    """The pass that refreshes an open segment's partial."""

    PARTIAL = "partial"
    #: In a pause that may end a short segment: its final pass (`EarlyFinal`).
    EARLY_FINAL = "early_final"


@dataclass(frozen=True, slots=True)
class EarlyFinal:
    """A final pass run in a pause that may end the utterance, before the endpointer says so.

    If the utterance does end there, with no voiced audio since, its words are the final at
    once: the final arrives a pass earlier, and its corrections of the partials with it.
    """

    segment_start_s: float
    last_voiced_s: float
    words: list[Word]

    def covers(self, segment_start_s: float, speech_end_s: float) -> bool:
        """It heard all of the segment starting at `segment_start_s`: nobody spoke after
        it, up to `speech_end_s`."""
        return self.segment_start_s == segment_start_s and self.last_voiced_s >= speech_end_s


@dataclass(frozen=True, slots=True)
class OpenSegment:
    """The open segment as the last audio chunk left it (stream time, seconds)."""

    start_s: float
    #: The end of the audio heard so far.
    end_s: float
    in_speech: bool
    trailing_silence_s: float
    last_voiced_s: float
    #: The end of the audio the last pass heard, and the speech heard since that pass.
    last_pass_end_s: float
    since_pass_s: float

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


def refresh_due(
    segment: OpenSegment,
    early: EarlyFinal | None,
    *,
    silence_ms: int,
    max_segment_s: float,
    partial_interval_s: Callable[[], float],
) -> Refresh | None:
    """The pass that refreshes `segment` now; `early` is the final pass run in an earlier
    pause, if any. `partial_interval_s` reads the node's load, so it is asked only when a
    partial pass may be due (this runs for every chunk of every stream)."""
    if not (segment.in_speech and segment.length_s >= MIN_PARTIAL_AUDIO_S):
        return None
    # Silent for half the endpointing silence: the utterance may be ending.
    if segment.trailing_silence_s * 1000 >= silence_ms / 2:
        if segment.length_s <= max_segment_s * EARLY_FINAL_MAX_SHARE:
            current = early is not None and early.covers(segment.start_s, segment.last_voiced_s)
            return None if current else Refresh.EARLY_FINAL
        shown_up_to_pause = segment.last_pass_end_s >= segment.end_s - segment.trailing_silence_s
        return None if shown_up_to_pause else Refresh.PARTIAL
    return Refresh.PARTIAL if segment.since_pass_s >= partial_interval_s() else None
