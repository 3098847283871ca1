"""What a live pass hears besides the open segment: audio before it, and a text prompt.

A partial pass hears only what is still open (from the last committed words on), so it stays
short and cheap. A final pass hears the whole segment, and the part of a long segment after a
cut also hears the audio before the cut. Every pass is prompted with the stream's committed
text before its audio.

Short utterances right after other speech used to hear the conversation before them too
(for turns like "Thanks, both."). Since windows are padded with silence rather than zeros
(`batch_pass.SILENCE_BELOW_PEAK`) that no longer helps: without it, live WER on three sets
of eight scripted meetings went 12.3 -> 12.0, 17.7 -> 17.8 and 12.9 -> 12.5 %, and the
speech set 8.7 -> 8.4 %, for less decoding.
"""

from __future__ import annotations

from collections.abc import Sequence

from streaming.events import Word
from streaming.vad import PRE_ROLL_S

#: Audio before a long segment's cut that the final pass of the part after it also hears.
#: Partials go without: the extra words to decode would slow every refresh.
CONTEXT_S = 6.0
#: Whisper sees at most 30 s; the session's window leaves room for audio arriving during a pass.
WHISPER_WINDOW_S = 29.5
#: Committed words of the stream that seed the next pass's prompt.
PROMPT_WORDS = 40
#: Committed words a partial pass hears again before the open ones.
PARTIAL_ANCHOR_WORDS = 2


def pass_start_s(
    *,
    segment_start_s: float,
    voiced_end_s: float,
    continues_cut: bool,
    committed: Sequence[Word],
    final: bool,
    isolated: bool = False,
) -> float:
    """Stream time where a pass's audio starts; it ends at `voiced_end_s`.

    `continues_cut`: the segment began at a long segment's cut; `committed`: the open
    segment's committed words; `isolated`: the segment's audio alone (a final pass redone
    without context).
    """
    # A long segment's later part starts in mid-conversation, where Whisper drops the first
    # words it hears ("you know, I heard a beep" lost after a cut): it gets context.
    context_s = CONTEXT_S if final and continues_cut and not isolated else 0.0
    # Context, segment and margin must fit one 30 s Whisper window.
    from_s = max(segment_start_s - context_s, voiced_end_s - WHISPER_WINDOW_S)
    if not final and len(committed) > PARTIAL_ANCHOR_WORDS:
        # Committed words never change, so a partial pass need not hear them again: it starts
        # at the last committed words (an anchor the agreement recognises and drops) and hears
        # only what is still open.
        from_s = max(from_s, committed[-PARTIAL_ANCHOR_WORDS].start_s - PRE_ROLL_S)
    return from_s


def prompt_before(said: Sequence[Word], audio_start_s: float) -> str:
    """The prompt for audio starting at `audio_start_s`: the last committed words before it.

    Only text *before* the audio: words inside it would make Whisper skip them.
    """
    earlier = [w for w in said if w.end_s <= audio_start_s]
    return " ".join(w.text for w in earlier[-PROMPT_WORDS:])
