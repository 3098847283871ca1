"""Where a live segment that never pauses long enough to end is cut.

A monologue, or a conversation whose pauses stay under the endpointing silence, grows past
`max_segment_s`; the session then finalises its committed words up to a cut and trims the
window there. A cut inside a word, or between two overlapping speakers, loses the words
around it ("Neither did I" vanished from a cut at Whisper's full stop 40 ms before it), and
so did cuts at every sentence end, whose punctuation mid-utterance is arbitrary. The voice
activity trace says where the speech actually paused.
"""

from __future__ import annotations

from streaming.events import Word
from streaming.vad import VoiceActivityTrace

#: Pauses this close in speech probability are equally good; the later one (a sentence end
#: first) is taken, which leaves less audio open.
PAUSE_TIE = 0.05
SENTENCE_END = (".", "?", "!")
#: A long segment is cut where it pauses most, but not before this share of `max_segment_s`:
#: a cascade of tiny finals would cost a final pass each and lose the words' context.
MIN_CUT_SHARE = 1 / 3


def pause_cut(
    committed: list[Word], tentative: list[Word], voice: VoiceActivityTrace, *, earliest_s: float
) -> tuple[int, float]:
    """How many committed words to finalise, and the stream time to cut at: the quietest
    voice-activity window between two words' middles, at or after `earliest_s`."""
    words = committed + tentative
    pauses: list[tuple[float, int, float]] = []  # (probability, words finalised, at)
    for n in range(1, len(committed) + 1):
        left = words[n - 1]
        # After the last word heard so far, undecoded speech may follow: no further.
        right_s = words[n].middle_s if n < len(words) else left.end_s
        quietest = voice.quietest(left.middle_s, right_s)
        if quietest is not None and quietest[1] >= earliest_s:
            pauses.append((quietest[0], n, quietest[1]))
    if not pauses:  # no window known there: all that is agreed, cut before the next word
        at_s = committed[-1].end_s
        if len(words) > len(committed) and words[len(committed)].start_s > at_s:
            at_s = (at_s + words[len(committed)].start_s) / 2
        return len(committed), at_s
    floor = min(p for p, _, _ in pauses)
    near = [(n, at) for p, n, at in pauses if p <= floor + PAUSE_TIE]
    ends = [(n, at) for n, at in near if words[n - 1].text.endswith(SENTENCE_END)]
    return max(ends or near)
