"""A preallocated audio window: the open segment's samples, addressed in stream seconds."""

from __future__ import annotations

import numpy as np

from streaming.audio import SAMPLE_RATE, Pcm


class AudioWindow:
    """Holds at most `capacity_s` of the most recent audio without reallocating per chunk.

    Appending beyond capacity is refused (`room_s` says how much fits) so the session must
    finalise and trim first: audio is never dropped silently.
    """

    def __init__(self, capacity_s: float) -> None:
        self._buf = np.zeros(round(capacity_s * SAMPLE_RATE), dtype=np.float32)
        self._len = 0
        self._start = 0  # stream sample index of _buf[0]

    @property
    def start_s(self) -> float:
        return self._start / SAMPLE_RATE

    @property
    def end_s(self) -> float:
        return (self._start + self._len) / SAMPLE_RATE

    @property
    def room_s(self) -> float:
        return (self._buf.size - self._len) / SAMPLE_RATE

    def append(self, pcm: Pcm) -> None:
        if pcm.size > self._buf.size - self._len:
            raise OverflowError(f"{pcm.size} samples do not fit the {self._buf.size}-sample window")
        self._buf[self._len : self._len + pcm.size] = pcm
        self._len += pcm.size

    def since(self, from_s: float) -> Pcm:
        """A copy of the samples from `from_s` (clamped to what is held) to the end."""
        offset = min(max(0, round(from_s * SAMPLE_RATE) - self._start), self._len)
        return self._buf[offset : self._len].copy()

    def trim_before(self, at_s: float) -> None:
        """Forget samples before `at_s`."""
        cut = min(max(0, round(at_s * SAMPLE_RATE) - self._start), self._len)
        if cut:
            self._buf[: self._len - cut] = self._buf[cut : self._len]
            self._len -= cut
            self._start += cut
