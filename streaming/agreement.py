"""LocalAgreement-2: commit the words two consecutive hypotheses agree on.

Macháček et al., "Turning Whisper into Real-Time Transcription System" (whisper_streaming).
Each pass re-recognises the open audio; a word becomes committed (stable, never revised) once
the next pass produces the same word at the same place. The rest is shown as tentative.
"""

from __future__ import annotations

from collections.abc import Sequence

from streaming.events import Word

#: Longest overlap with the committed tail that a new hypothesis may repeat.
MAX_OVERLAP_WORDS = 5


def normalise(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


class LocalAgreement:
    """Committed and tentative words of the open segment."""

    def __init__(self) -> None:
        self.committed: list[Word] = []
        self._previous: list[Word] = []
        self._last_end_s = 0.0
        # Last words of the segment finalised just before this one (long-speech splits), to
        # catch a repeat at the cut.
        self._boundary: list[Word] = []

    def _new_part(self, hypothesis: Sequence[Word], after_s: float, tail: list[Word]) -> list[Word]:
        """The words of `hypothesis` after `after_s`, minus a repeat of `tail`.

        A word belongs after `after_s` when its middle does (`Word.middle_s`).
        """
        fresh = [w for w in hypothesis if w.middle_s > after_s]
        tail = tail[-MAX_OVERLAP_WORDS:]
        # The hypothesis may repeat the last committed words with shifted timestamps.
        for n in range(min(len(tail), len(fresh)), 0, -1):
            if [normalise(w.text) for w in tail[-n:]] == [normalise(w.text) for w in fresh[:n]]:
                return fresh[n:]
        return fresh

    def insert(self, hypothesis: Sequence[Word]) -> list[Word]:
        """Add a pass's words; return the newly committed ones."""
        current = self._new_part(hypothesis, self._last_end_s, self._boundary + self.committed)
        agreed: list[Word] = []
        for new, old in zip(current, self._previous, strict=False):
            if normalise(new.text) != normalise(old.text):
                break
            agreed.append(new)
        self._commit(agreed)
        self._previous = current[len(agreed) :]
        return agreed

    def _commit(self, words: list[Word]) -> None:
        if words:
            self.committed.extend(words)
            self._last_end_s = words[-1].end_s

    @property
    def tentative(self) -> list[Word]:
        return list(self._previous)

    @property
    def shown(self) -> list[Word]:
        """The open segment's words as its partials show them."""
        return self.committed + self._previous

    def final_words(self, hypothesis: Sequence[Word], segment_start_s: float) -> list[Word]:
        """The final text of the segment from a pass over all of its audio.

        A final pass sees the whole utterance, so it is more accurate than the committed
        prefix; only a repeat of the previous segment's last words is removed.
        """
        return self._new_part(hypothesis, segment_start_s, self._boundary)

    def split_at(self, index: int, finalised: Sequence[Word]) -> None:
        """Remove the first `index` committed words: `finalised` (the final pass's text of
        their audio) became a final segment, and a repeat of its tail is dropped hereafter."""
        self.committed = self.committed[index:]
        self._boundary = list(finalised[-MAX_OVERLAP_WORDS:])

    def reset(self, at_s: float) -> None:
        """Start a new segment whose audio begins at `at_s`."""
        self.committed.clear()
        self._previous = []
        self._boundary = []
        self._last_end_s = at_s
